//! mount-share's transfers ride through a dropped connection: the smbd child serving the
//! transfer is killed with SIGKILL in the middle of it, and the transfer still ends with
//! exit 0 and identical data, with no user action (no --resume).

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use azkrb_test_support::smbd;
use common::Lab;

const GIB: u64 = 1 << 30;

/// A file of `len` bytes of a cheap pseudo-random pattern.
fn write_pattern(path: &std::path::Path, len: u64, seed: u64) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut x = seed | 1;
    let mut block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for c in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}

/// Both files hold the same bytes.
fn same(a: &std::path::Path, b: &std::path::Path) -> bool {
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    if fa.metadata().unwrap().len() != fb.metadata().unwrap().len() {
        return false;
    }
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = fa.read(&mut ba).unwrap();
        if n == 0 {
            return true;
        }
        fb.read_exact(&mut bb[..n]).unwrap();
        if ba[..n] != bb[..n] {
            return false;
        }
    }
}

fn size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// Runs mount-share with `args`; when `ready` says so, kills the smbd child serving its
/// connection. Returns its exit code, its standard error and whether a kill happened.
fn run_killing(l: &Lab, args: &[&str], ready: impl Fn() -> bool) -> (Option<i32>, String) {
    let port: u16 = l.env["AZKRB_LAB_SMB_PORT"].parse().unwrap();
    let mut child = l
        .command()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut killed = None;
    while killed.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the moment to kill never came"
        );
        if child.try_wait().unwrap().is_some() {
            panic!("{args:?} ended before the kill");
        }
        if ready() {
            for c in smbd::connections_of(child.id(), port) {
                killed = killed.or(smbd::kill_child_serving(&l.env["AZKRB_LAB_DIR"], "enc", c));
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    eprintln!("killed smbd child {killed:?}; {args:?} said:\n{err}");
    (status.code(), err)
}

fn ram_unc(l: &Lab, path: &str) -> String {
    format!(
        "//{}/{}/{path}",
        l.env["AZKRB_LAB_HOST"], l.env["AZKRB_LAB_RAM_SHARE"]
    )
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn get_and_put_of_a_gib_survive_a_killed_server_process() {
    let l = Lab::new("reconnect-1g");
    l.login();
    let name = format!("reconnect-{}.bin", std::process::id());
    let on_server = std::path::Path::new(&l.env["AZKRB_LAB_RAM_DIR"]).join(&name);
    let local = l.dir.join("local.bin");
    write_pattern(&local, GIB, 7);

    // put: killed once a quarter has reached the server.
    let (code, err) = run_killing(
        &l,
        &["put", local.to_str().unwrap(), &ram_unc(&l, &name)],
        || size(&on_server) >= GIB / 4,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("reconnecting to resume"), "{err}");
    assert!(same(&local, &on_server), "the uploaded file differs");

    // get: killed once a quarter has arrived.
    let back = l.dir.join("back.bin");
    let part = l.dir.join("back.bin.part");
    let (code, err) = run_killing(
        &l,
        &["get", &ram_unc(&l, &name), back.to_str().unwrap()],
        || size(&part) >= GIB / 4,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("reconnecting to resume"), "{err}");
    assert!(same(&local, &back), "the downloaded file differs");
    std::fs::remove_file(&on_server).unwrap();
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn recursive_get_and_put_survive_a_killed_server_process() {
    let l = Lab::new("reconnect-tree");
    l.login();
    let src = l.dir.join("tree");
    std::fs::create_dir_all(src.join("a/b")).unwrap();
    let files = ["one.bin", "a/two.bin", "a/b/three.bin", "a/b/four.bin"];
    for (i, f) in files.iter().enumerate() {
        write_pattern(&src.join(f), 48 << 20, i as u64 + 1);
    }
    let remote = format!("reconnect-tree-{}", std::process::id());
    let on_server = std::path::Path::new(&l.env["AZKRB_LAB_RAM_DIR"]).join(&remote);
    let reached = |root: &std::path::Path| {
        let root = root.to_path_buf();
        move || files.iter().map(|f| size(&root.join(f))).sum::<u64>() >= 80 << 20
    };
    let (code, err) = run_killing(
        &l,
        &["put", "-r", src.to_str().unwrap(), &ram_unc(&l, &remote)],
        reached(&on_server),
    );
    assert_eq!(code, Some(0), "{err}");
    let back = l.dir.join("back");
    // The .part files count too (a file being downloaded is one).
    let back_parts = back.clone();
    let (code, err) = run_killing(
        &l,
        &["get", "-r", &ram_unc(&l, &remote), back.to_str().unwrap()],
        move || {
            files
                .iter()
                .map(|f| size(&back_parts.join(f)) + size(&back_parts.join(format!("{f}.part"))))
                .sum::<u64>()
                >= 80 << 20
        },
    );
    assert_eq!(code, Some(0), "{err}");
    for f in files {
        assert!(same(&src.join(f), &on_server.join(f)), "{f} on the server");
        assert!(same(&src.join(f), &back.join(f)), "{f} back here");
    }
    std::fs::remove_dir_all(&on_server).unwrap();
}

/// Kills the smbd children serving process `pid`; how many.
fn kill_servers_of(l: &Lab, pid: u32) -> usize {
    let port: u16 = l.env["AZKRB_LAB_SMB_PORT"].parse().unwrap();
    smbd::connections_of(pid, port)
        .into_iter()
        .filter_map(|c| smbd::kill_child_serving(&l.env["AZKRB_LAB_DIR"], "enc", c))
        .count()
}

/// Runs `cmd`; once `ready` says so, kills the smbd children serving `pid` (the mount).
/// Returns whether `cmd` succeeded.
fn run_killing_mount(l: &Lab, pid: u32, cmd: &mut Command, ready: impl Fn() -> bool) -> bool {
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let mut killed = 0;
    while killed == 0 {
        assert!(started.elapsed() < Duration::from_secs(120), "never ready");
        if let Some(s) = child.try_wait().unwrap() {
            panic!("{cmd:?} ended ({s}) before the kill");
        }
        if ready() {
            killed = kill_servers_of(l, pid);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.wait().unwrap().success()
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn a_mount_rides_through_killed_server_processes() {
    let l = Lab::new("reconnect-fuse");
    l.login();
    let mnt = l.dir.join("mnt");
    let m =
        common::mount::start_mount_of(&l, ram_unc(&l, "").trim_end_matches('/'), &mnt, &[], &[]);
    let dir = format!("reconnect-fuse-{}", std::process::id());
    let on_server = std::path::Path::new(&l.env["AZKRB_LAB_RAM_DIR"]).join(&dir);
    std::fs::create_dir(mnt.join(&dir)).unwrap();

    // Idle: the connection under the mount is killed; the mount answers ls and takes files.
    assert_eq!(kill_servers_of(&l, m.id()), 1);
    std::thread::sleep(Duration::from_millis(100));
    assert!(std::fs::read_dir(mnt.join(&dir)).unwrap().next().is_none());
    std::fs::write(mnt.join(&dir).join("after-idle.txt"), b"after an idle kill").unwrap();
    assert_eq!(
        std::fs::read(on_server.join("after-idle.txt")).unwrap(),
        b"after an idle kill"
    );

    // cp of 64 MiB into the mount, killed once 16 MiB reached the server.
    let src = l.dir.join("src.bin");
    write_pattern(&src, 64 << 20, 11);
    let into = mnt.join(&dir).join("copied.bin");
    let server_copy = on_server.join("copied.bin");
    let ok = run_killing_mount(&l, m.id(), Command::new("cp").arg(&src).arg(&into), || {
        size(&server_copy) >= 16 << 20
    });
    assert!(ok, "cp into the mount failed");
    assert!(same(&src, &server_copy), "the copy on the server differs");

    // cp of it out of the mount, killed once 16 MiB arrived.
    let out = l.dir.join("out.bin");
    let ok = run_killing_mount(&l, m.id(), Command::new("cp").arg(&into).arg(&out), || {
        size(&out) >= 16 << 20
    });
    assert!(ok, "cp out of the mount failed");
    assert!(same(&src, &out), "the copy read through the mount differs");

    // Still alive: it lists and takes new files.
    let names: Vec<String> = std::fs::read_dir(mnt.join(&dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    std::fs::write(mnt.join(&dir).join("last.txt"), b"last").unwrap();
    assert_eq!(std::fs::read(on_server.join("last.txt")).unwrap(), b"last");
    let mut m = m;
    common::mount::sigterm(&m);
    let (status, err) = common::mount::wait_exit(m.take());
    eprintln!("{err}");
    assert!(status.success(), "{err}");
    assert!(err.contains("made again 3 time(s)"), "{err}");
    std::fs::remove_dir_all(&on_server).unwrap();
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn a_write_that_cannot_be_replayed_fails_close_and_spares_other_files() {
    use std::io::{BufRead, Write};
    let l = Lab::new("reconnect-lost");
    l.login();
    let mnt = l.dir.join("mnt");
    let m =
        common::mount::start_mount_of(&l, ram_unc(&l, "").trim_end_matches('/'), &mnt, &[], &[]);
    let name = format!("reconnect-lost-{}", std::process::id());
    let on_server = std::path::Path::new(&l.env["AZKRB_LAB_RAM_DIR"]);
    // A writer whose bytes wait in the mount's write-behind until close(2).
    let script = r#"
import os, sys
fds = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC) for p in sys.argv[1:]]
for fd in fds:
    os.write(fd, b"x" * 100000)
print("written", flush=True)
sys.stdin.readline()
for fd in fds:
    try:
        os.close(fd)
        print("closed", flush=True)
    except OSError as e:
        print("close failed", e.errno, flush=True)
"#;
    let gone = mnt.join(format!("{name}-gone"));
    let kept = mnt.join(format!("{name}-kept"));
    let mut writer = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&gone)
        .arg(&kept)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(writer.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "written");
    // The connection drops, and meanwhile another hand deletes one of the files.
    assert_eq!(kill_servers_of(&l, m.id()), 1);
    std::fs::remove_file(on_server.join(format!("{name}-gone"))).unwrap();
    writeln!(writer.stdin.take().unwrap()).unwrap();
    let mut said = String::new();
    out.read_to_string(&mut said).unwrap();
    assert!(writer.wait().unwrap().success());
    // close(2) of the deleted file says EIO; the other file's close succeeds, its bytes
    // all on the server.
    assert_eq!(said, "close failed 5\nclosed\n", "{said}");
    assert_eq!(
        std::fs::read(on_server.join(format!("{name}-kept"))).unwrap(),
        vec![b'x'; 100000]
    );
    assert!(std::fs::read_dir(&mnt).is_ok(), "the mount lives on");
    drop(m);
    std::fs::remove_file(on_server.join(format!("{name}-kept"))).unwrap();
}
