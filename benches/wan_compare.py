"""The body of benches/wan-compare (run by it, with the lab's environment set)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.getcwd()
RUNS = int(os.environ.get("RUNS", "3"))
# 0 first: the same paths through the proxy with no delay give each row's local time
# (process start, crypto, the server's work), subtracted for the "net" figures.
ONE_WAY = [0] + [int(x) for x in os.environ.get("ONE_WAY", "1 10").split() if x != "0"]
ONLY = set(os.environ.get("ONLY", "cat ticket ls get put fuse").split())
MS = os.environ.get("MOUNT_SHARE") or os.path.join(ROOT, "target/release/mount-share")
LAB = {}
with open(os.path.join(ROOT, "lab/state/lab.env")) as f:
    for line in f:
        if "=" in line and not line.startswith("#"):
            k, v = line.rstrip("\n").split("=", 1)
            LAB[k] = v
HOST, RAM = LAB["AZKRB_LAB_HOST"], LAB["AZKRB_LAB_RAM_DIR"]
SHARE = f"//{HOST}/ram"
WORK = tempfile.mkdtemp(prefix="azkrb-wan-")
SMALL = 4096  # bytes in each small file


def wan(one_way):
    subprocess.run([os.path.join(ROOT, "lab/wan"), "start", str(one_way)], check=True,
                   stderr=subprocess.DEVNULL)
    env = {}
    with open(os.path.join(ROOT, "lab/state/wan.env")) as f:
        for line in f:
            k, v = line.rstrip("\n").split("=", 1)
            env[k] = v
    return env


def run(argv, env, stdin=None, check=True):
    p = subprocess.run(argv, env=env, stdin=stdin, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    if check and p.returncode != 0:
        sys.exit(f"{argv[0]} {' '.join(argv[1:4])} … failed: {p.stderr.decode()[-2000:]}")


def best(prepare, argv_of, env, long_after=5.0):
    """Best time of RUNS (one run when it takes longer than long_after seconds)."""
    times = []
    for i in range(RUNS):
        argv, cwd_env = prepare(i), env
        t = time.monotonic()
        run(argv_of(argv), cwd_env)
        times.append(time.monotonic() - t)
        if times[-1] > long_after:
            break
    return min(times)


def base_env(w, cc):
    return dict(os.environ, KRB5_CONFIG=w["AZKRB_WAN_KRB5_CONF"], KRB5CCNAME="FILE:" + cc,
                AZKRB_CA_FILE=LAB["AZKRB_LAB_CA"])


def ms(w, *args):
    return [MS, "--address", f"127.0.0.1:{w['AZKRB_WAN_SMB_PORT']}", *args]


def smbclient(w, cmd):
    return ["smbclient", SHARE, "-I", "127.0.0.1", "-p", w["AZKRB_WAN_SMB_PORT"], "-N",
            "--use-kerberos=required", "--option=client smb encrypt=required", "-c", cmd]


def fill(d, n, prefix="f"):
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        with open(os.path.join(d, f"{prefix}{i:04}.txt"), "wb") as f:
            f.write(os.urandom(SMALL))


def main():
    # Server-side data, written straight into the tmpfs share.
    shutil.rmtree(os.path.join(RAM, "wan-ls"), ignore_errors=True)
    fill(os.path.join(RAM, "wan-ls"), 1000)
    shutil.rmtree(os.path.join(RAM, "wan-cat"), ignore_errors=True)
    fill(os.path.join(RAM, "wan-cat"), 111)
    with open(os.path.join(RAM, "small.txt"), "wb") as f:
        f.write(os.urandom(SMALL))
    local_src = os.path.join(WORK, "src")
    fill(local_src, 1000)
    cp_src = os.path.join(WORK, "cpsrc")
    fill(cp_src, 100)
    rows = []  # (rtt_ms, what, azkrb_s, reference_name, reference_s, floor, target)
    for one_way in ONE_WAY:
        w = wan(one_way)
        rtt = 2 * one_way
        tgt = os.path.join(WORK, "tgt.cc")
        env = base_env(w, tgt)
        pw = subprocess.run([MS, "login", "--password-stdin", LAB["AZKRB_LAB_USER"], "--realm",
                             LAB["AZKRB_LAB_REALM"]], env=env,
                            input=(LAB["AZKRB_LAB_PASSWORD"] + "\n").encode(), capture_output=True)
        if pw.returncode:
            sys.exit("login failed: " + pw.stderr.decode())
        cached = os.path.join(WORK, "cached.cc")
        shutil.copy(tgt, cached)
        run(["kvno", f"cifs/{HOST}"], base_env(w, cached))
        cc = os.path.join(WORK, "run.cc")
        env_run = base_env(w, cc)

        def from_cc(src):
            def prepare(_i):
                shutil.copy(src, cc)
                return None
            return prepare

        if "cat" in ONLY:
            a = best(from_cc(tgt), lambda _: ms(w, "cat", f"{SHARE}/small.txt"), env_run)
            rows.append((rtt, "`cat` a small file, TGT only in the ccache", a, "", None, 6, 6))
            a = best(from_cc(cached), lambda _: ms(w, "cat", f"{SHARE}/small.txt"), env_run)
            r = best(from_cc(cached), lambda _: smbclient(w, "get small.txt /dev/null"), env_run)
            rows.append((rtt, "`cat` a small file, cifs ticket cached", a, "smbclient `get`", r, 5, 5))
        if "ticket" in ONLY:
            a = best(from_cc(tgt), lambda _: ms(w, "ticket", SHARE), env_run)
            r = best(from_cc(tgt), lambda _: ["kvno", f"cifs/{HOST}"], env_run)
            rows.append((rtt, "service ticket through the KDC proxy", a, "MIT `kvno`", r, 3, None))
        if "ls" in ONLY:
            a = best(from_cc(cached), lambda _: ms(w, "ls", f"{SHARE}/wan-ls"), env_run)
            r = best(from_cc(cached), lambda _: smbclient(w, "ls wan-ls/*"), env_run)
            rows.append((rtt, "`ls` of a 1,000-entry directory", a, "smbclient `ls`", r, 6, 6))
        if "get" in ONLY:
            out = os.path.join(WORK, "out")

            def fresh_out(_i):
                shutil.copy(cached, cc)
                shutil.rmtree(out, ignore_errors=True)
                os.makedirs(out)
                return None
            a = best(fresh_out, lambda _: ms(w, "get", "-r", f"{SHARE}/wan-ls", os.path.join(out, "wan-ls")), env_run)
            if len(os.listdir(os.path.join(out, "wan-ls"))) != 1000:
                sys.exit("get -r did not write 1000 files")
            r = best(fresh_out, lambda _: smbclient(w, f"prompt off; recurse on; lcd {out}; cd wan-ls; mget *"), env_run)
            if len(os.listdir(out)) != 1000:
                sys.exit("smbclient mget did not write 1000 files")
            rows.append((rtt, "`get -r` of 1,000 small files", a, "smbclient `mget`", r, None, 200))
        if "put" in ONLY:
            def fresh_dest(d):
                def prepare(_i):
                    shutil.copy(cached, cc)
                    shutil.rmtree(os.path.join(RAM, d), ignore_errors=True)
                return prepare
            a = best(fresh_dest("wan-put-ms"), lambda _: ms(w, "put", "-r", local_src, f"{SHARE}/wan-put-ms"), env_run)
            r = best(fresh_dest("wan-put-smbclient"), lambda _: smbclient(w, f"prompt off; recurse on; lcd {local_src}; mkdir wan-put-smbclient; cd wan-put-smbclient; mput *"), env_run)
            for d in ("wan-put-ms", "wan-put-smbclient"):
                if len(os.listdir(os.path.join(RAM, d))) != 1000:
                    sys.exit(f"{d}: the put did not write 1000 files")
            rows.append((rtt, "`put -r` of 1,000 small files", a, "smbclient `mput`", r, None, 200))
        if "fuse" in ONLY:
            shutil.copy(cached, cc)
            # (what, untimed set-up on the mount, timed command, floor, target)
            for what, before, cmd, floor, target in (
                ("FUSE `ls -l` of the 1,000-entry directory", "", "ls -l {m}/wan-ls", 2, 8),
                ("FUSE `cat` of 111 small files", "", "cat {m}/wan-cat/* ", 111, 140),
                # Past the 1 s cache time: what the leases kept is all that answers.
                ("FUSE `cat` of the 111 files again, 2 s later", "cat {m}/wan-cat/* >/dev/null; sleep 2",
                 "cat {m}/wan-cat/* ", 2, None),
                ("FUSE `cp` of 100 small files into the mount", "", "mkdir {m}/wan-cp-$$ && cp {src}/* {m}/wan-cp-$$/", 200, 250),
            ):
                times = []
                for _ in range(RUNS):
                    times.append(fuse_time(w, env_run, cmd.format(m="{m}", src=cp_src), before))
                    if times[-1] > 5:
                        break
                rows.append((rtt, what, min(times), "", None, floor, target))
            for d in os.listdir(RAM):
                if d.startswith("wan-cp-"):
                    shutil.rmtree(os.path.join(RAM, d), ignore_errors=True)
    subprocess.run([os.path.join(ROOT, "lab/wan"), "stop"])
    local = {what: (a, r) for rtt, what, a, _, r, _, _ in rows if rtt == 0}

    def cell(t, t0, rtt):
        net = f", net {(t - t0) / (rtt / 1000):.1f}" if t0 is not None else ""
        return f"{t / (rtt / 1000):.1f}{net} ({t * 1000:.0f} ms)"
    print("| RTT | what | azkrb | reference, same path | floor | target |")
    print("|---|---|---|---|---|---|")
    for rtt, what, a, rname, r, floor, target in rows:
        if rtt == 0:
            continue
        a0, r0 = local.get(what, (None, None))
        ref = f"{rname}: {cell(r, r0, rtt)}" if r is not None else "—"
        print(f"| {rtt} ms | {what} | {cell(a, a0, rtt)} | {ref} | "
              f"{floor if floor is not None else ''} | {f'≤ {target}' if target else ''} |")
    print("time ÷ RTT; net: (time − the same at 0 ms) ÷ RTT; the time in brackets. At 0 ms:")
    for what, (a0, r0) in local.items():
        print(f"  {what}: azkrb {a0 * 1000:.0f} ms" + (f", reference {r0 * 1000:.0f} ms" if r0 else ""))


def fuse_time(w, env, cmd, before=""):
    """Seconds `cmd` takes on a mount made for it (the mount's own setup, and `before` run
    on it first, not counted)."""
    mnt = os.path.join(WORK, "mnt")
    os.makedirs(mnt, exist_ok=True)
    m = subprocess.Popen(ms(w, "mount", SHARE, mnt), env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            with open("/proc/self/mountinfo") as f:
                if f" {mnt} " in f.read():
                    break
            time.sleep(0.05)
        else:
            sys.exit("the FUSE mount did not come up")
        if before:
            p = subprocess.run(["bash", "-c", before.format(m=mnt)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            if p.returncode:
                sys.exit(f"{before}: {p.stderr.decode()}")
        t = time.monotonic()
        p = subprocess.run(["bash", "-c", cmd.format(m=mnt)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        took = time.monotonic() - t
        if p.returncode:
            sys.exit(f"{cmd}: {p.stderr.decode()}")
        return took
    finally:
        m.terminate()
        m.wait()


try:
    main()
finally:
    shutil.rmtree(WORK, ignore_errors=True)
    for d in ("wan-ls", "wan-cat", "wan-put-ms", "wan-put-smbclient"):
        shutil.rmtree(os.path.join(RAM, d), ignore_errors=True)
