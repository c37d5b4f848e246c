//! mount-share end to end against the lab: MIT KDC behind the kdcproxy KKDCP service, Samba
//! requiring SMB 3.1.1 encryption, smbclient and klist as the reference tools.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use azkrb_test_support::{lab, tgt_cloud};

type Env = std::collections::HashMap<String, String>;

struct Lab {
    env: Env,
    dir: std::path::PathBuf,
}

/// Runs `cmd` with `stdin` fed to it and its output captured.
fn fed(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

impl Lab {
    fn new(name: &str) -> Self {
        let env = lab();
        let dir = std::env::temp_dir().join(format!("azkrb-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Lab { env, dir }
    }

    fn ccache(&self) -> String {
        self.dir.join("ccache").display().to_string()
    }

    fn unc(&self, path: &str) -> String {
        format!(
            "//{}/{}/{path}",
            self.env["AZKRB_LAB_HOST"], self.env["AZKRB_LAB_SHARE"]
        )
    }

    /// Runs mount-share with the lab's settings, `stdin` fed to it.
    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        fed(
            Command::new(env!("CARGO_BIN_EXE_mount-share"))
                .args([
                    "--ccache",
                    &self.ccache(),
                    "--address",
                    &format!("127.0.0.1:{}", self.env["AZKRB_LAB_SMB_PORT"]),
                ])
                .args(args)
                .env("KRB5_CONFIG", &self.env["AZKRB_LAB_KRB5_CONF"])
                .env("AZKRB_CA_FILE", &self.env["AZKRB_LAB_CA"])
                .env_remove("KRB5CCNAME"),
            stdin,
        )
    }

    /// smbclient on the lab's share with Kerberos from `ccache` and `krb5_conf`.
    fn smbclient_with(&self, ccache: &str, krb5_conf: &str, command: &str) -> Output {
        Command::new("smbclient")
            .args([
                &format!(
                    "//{}/{}",
                    self.env["AZKRB_LAB_HOST"], self.env["AZKRB_LAB_SHARE"]
                ),
                "-I",
                "127.0.0.1",
                "-p",
                &self.env["AZKRB_LAB_SMB_PORT"],
                "--use-kerberos=required",
                "-c",
                command,
            ])
            .env("KRB5CCNAME", format!("FILE:{ccache}"))
            .env("KRB5_CONFIG", krb5_conf)
            .output()
            .unwrap()
    }

    /// smbclient with this test's credential cache.
    fn smbclient(&self, command: &str) -> Output {
        self.smbclient_with(&self.ccache(), &self.env["AZKRB_LAB_KRB5_CONF"], command)
    }

    fn ok(&self, args: &[&str], stdin: &[u8]) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn login(&self) {
        let pw = format!("{}\n", self.env["AZKRB_LAB_PASSWORD"]);
        self.ok(
            &[
                "login",
                "--password-stdin",
                "alice",
                "--realm",
                &self.env["AZKRB_LAB_REALM"],
            ],
            pw.as_bytes(),
        );
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn login_klist_and_ticket_then_smbclient_uses_the_ccache_alone() {
    let l = Lab::new("ticket");
    l.login();
    // MIT klist reads the ccache mount-share wrote; our klist shows the same TGT.
    let mit = Command::new("klist")
        .arg(format!("FILE:{}", l.ccache()))
        .output()
        .unwrap();
    assert!(mit.status.success());
    assert!(String::from_utf8_lossy(&mit.stdout).contains("krbtgt/KERBEROS.MICROSOFTONLINE.COM"));
    let ours = l.ok(&["klist"], b"");
    assert!(
        ours.contains("Default principal: alice@KERBEROS.MICROSOFTONLINE.COM"),
        "{ours}"
    );
    assert!(ours.contains("aes256-cts-hmac-sha1-96"), "{ours}");
    let host = l.env["AZKRB_LAB_HOST"].clone();
    let printed = l.ok(
        &[
            "--port",
            &l.env["AZKRB_LAB_SMB_PORT"],
            "ticket",
            &format!("//{host}/share"),
        ],
        b"",
    );
    assert!(printed.contains("mount -t cifs"), "{printed}");
    assert!(printed.contains("sec=krb5"), "{printed}");
    assert!(l.ok(&["klist"], b"").contains(&format!("cifs/{host}@")));
    // smbclient authenticates with the service ticket alone: the TGT is removed first (kvno
    // would be needed otherwise), and the KDC is made unreachable.
    let stripped = l.dir.join("only-cifs").display().to_string();
    let cc = azkrb_cloudtgt::ccache::Ccache::load(&l.ccache()).unwrap();
    let cifs = cc.credentials().into_iter().find(|c| !c.is_tgt()).unwrap();
    let mut only = azkrb_cloudtgt::ccache::Ccache::new(cifs.client.clone());
    only.store(&cifs).unwrap();
    only.save(&stripped).unwrap();
    // The lab's krb5.conf (realm routing) with its KDC proxy replaced by a dead address.
    let krb5 = l.dir.join("krb5-nokdc.conf");
    let conf = std::fs::read_to_string(&l.env["AZKRB_LAB_KRB5_CONF"]).unwrap();
    let dead = conf.replace(
        &l.env["AZKRB_LAB_PROXY_URL"],
        "https://127.0.0.1:1/x/kerberos",
    );
    assert_ne!(conf, dead);
    std::fs::write(&krb5, dead).unwrap();
    let smb = l.smbclient_with(&stripped, krb5.to_str().unwrap(), "ls");
    assert!(
        smb.status.success(),
        "{}{}",
        String::from_utf8_lossy(&smb.stdout),
        String::from_utf8_lossy(&smb.stderr)
    );
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn file_commands_round_trip_and_interoperate_with_smbclient() {
    let l = Lab::new("files");
    l.login();
    let dir = format!("cli-{}", std::process::id());
    l.ok(&["mkdir", &l.unc(&dir)], b"");
    let data: Vec<u8> = (0..2_500_000u32).map(|i| (i % 251) as u8).collect();
    let src = l.dir.join("src.bin");
    std::fs::write(&src, &data).unwrap();
    l.ok(
        &[
            "put",
            src.to_str().unwrap(),
            &l.unc(&format!("{dir}/a.bin")),
        ],
        b"",
    );
    // On the server's disk, byte for byte.
    let on_disk = std::fs::read(format!("{}/{dir}/a.bin", l.env["AZKRB_LAB_SHARE_DIR"])).unwrap();
    assert!(on_disk == data);
    // get into a file, and cat to standard output.
    let back = l.dir.join("back.bin");
    l.ok(
        &[
            "get",
            &l.unc(&format!("{dir}/a.bin")),
            back.to_str().unwrap(),
        ],
        b"",
    );
    assert!(std::fs::read(&back).unwrap() == data);
    let out = l.run(&["cat", &l.unc(&format!("{dir}/a.bin"))], b"");
    assert!(out.status.success() && out.stdout == data);
    // put from standard input; backslash paths.
    let unc_bs = format!(
        r"\\{}\{}\{dir}\stdin.txt",
        l.env["AZKRB_LAB_HOST"], l.env["AZKRB_LAB_SHARE"]
    );
    l.ok(&["put", "-", &unc_bs], b"from stdin\n");
    // ls (text and JSON), stat.
    let listing = l.ok(&["ls", &l.unc(&dir)], b"");
    assert!(
        listing.contains("a.bin") && listing.contains("stdin.txt"),
        "{listing}"
    );
    let json = l.ok(&["ls", "--json", &l.unc(&dir)], b"");
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    let a = rows.iter().find(|r| r["name"] == "a.bin").unwrap();
    assert_eq!(a["size"], data.len() as u64);
    assert_eq!(a["directory"], false);
    let st: serde_json::Value =
        serde_json::from_str(&l.ok(&["stat", "--json", &l.unc(&format!("{dir}/a.bin"))], b""))
            .unwrap();
    assert_eq!(st["size"], data.len() as u64);
    // smbclient reads what mount-share wrote (with the service ticket `ticket` stored).
    l.ok(&["ticket", &l.unc("")], b"");
    let smb_out = l.dir.join("smbclient.txt");
    let smb = l.smbclient(&format!("get {dir}/stdin.txt {}", smb_out.display()));
    assert!(
        smb.status.success(),
        "{}",
        String::from_utf8_lossy(&smb.stderr)
    );
    assert_eq!(std::fs::read(&smb_out).unwrap(), b"from stdin\n");
    // mv, rm, rmdir.
    l.ok(
        &[
            "mv",
            &l.unc(&format!("{dir}/a.bin")),
            &format!("{dir}/b.bin"),
        ],
        b"",
    );
    assert!(l.ok(&["ls", &l.unc(&dir)], b"").contains("b.bin"));
    l.ok(&["rm", &l.unc(&format!("{dir}/b.bin"))], b"");
    l.ok(&["rm", &l.unc(&format!("{dir}/stdin.txt"))], b"");
    l.ok(&["rmdir", &l.unc(&dir)], b"");
    assert!(!std::path::Path::new(&format!("{}/{dir}", l.env["AZKRB_LAB_SHARE_DIR"])).exists());
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn errors_are_one_line_with_documented_exit_codes() {
    let l = Lab::new("errors");
    let code = |out: &Output| out.status.code().unwrap();
    let one_line = |out: &Output| {
        let e = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(e.trim_end().lines().count(), 1, "{e}");
        e
    };
    // Wrong password: Kerberos (3), and no ccache written.
    let out = l.run(
        &[
            "login",
            "--password-stdin",
            "alice",
            "--realm",
            &l.env["AZKRB_LAB_REALM"],
        ],
        b"wrong\n",
    );
    assert_eq!(code(&out), 3, "{}", one_line(&out));
    assert!(!std::path::Path::new(&l.ccache()).exists());
    // No ccache yet: Kerberos (3).
    let out = l.run(&["ls", &l.unc("")], b"");
    assert_eq!(code(&out), 3, "{}", one_line(&out));
    l.login();
    // No such file: the server refused (1); no partial local file left behind.
    let dest = l.dir.join("missing.bin");
    let out = l.run(
        &["get", &l.unc("no-such-file"), dest.to_str().unwrap()],
        b"",
    );
    assert_eq!(code(&out), 1, "{}", one_line(&out));
    assert!(!dest.exists() && !l.dir.join("missing.bin.part").exists());
    // Unknown share (1).
    let out = l.run(
        &[
            "ls",
            &format!("//{}/no-such-share", l.env["AZKRB_LAB_HOST"]),
        ],
        b"",
    );
    assert_eq!(code(&out), 1, "{}", one_line(&out));
    // Usage (2): a bad UNC path, a bad cipher, a missing local file.
    for args in [
        vec!["ls".to_string(), "not-a-unc".to_string()],
        vec!["--cipher".into(), "rot13".into(), "ls".into(), l.unc("")],
    ] {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = l.run(&refs, b"");
        assert_eq!(code(&out), 2, "{args:?}: {}", one_line(&out));
    }
    let out = l.run(&["put", "/nonexistent/file", &l.unc("x")], b"");
    assert_eq!(code(&out), 4, "{}", one_line(&out));
    // Nothing listening: network (4).
    let out = Command::new(env!("CARGO_BIN_EXE_mount-share"))
        .args([
            "--ccache",
            &l.ccache(),
            "--address",
            "127.0.0.1:1",
            "ls",
            &l.unc(""),
        ])
        .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
        .env("AZKRB_CA_FILE", &l.env["AZKRB_LAB_CA"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 4, "{}", one_line(&out));
    // Unreachable KDC proxy while fetching a ticket: Kerberos (3).
    let conf = std::fs::read_to_string(&l.env["AZKRB_LAB_KRB5_CONF"]).unwrap();
    let dead = l.dir.join("krb5-dead-proxy.conf");
    std::fs::write(
        &dead,
        conf.replace(
            &l.env["AZKRB_LAB_PROXY_URL"],
            "https://127.0.0.1:1/x/kerberos",
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mount-share"))
        .args([
            "--ccache",
            &l.ccache(),
            "ticket",
            &format!("//{}", l.env["AZKRB_LAB_HOST"]),
        ])
        .env("KRB5_CONFIG", &dead)
        .env("AZKRB_CA_FILE", &l.env["AZKRB_LAB_CA"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 3, "{}", one_line(&out));
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn diagnose_passes_against_the_lab_and_names_what_is_wrong() {
    let l = Lab::new("diagnose");
    // Before login: the TGT check fails, with the fix, and the exit code says so.
    let out = l.run(&["diagnose", &l.unc("")], b"");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("FAIL TGT") && text.contains("mount-share login"),
        "{text}"
    );
    l.login();
    // Everything passes with AES-256-GCM (the lab's name is not resolved: --address).
    let json = l.ok(
        &["--cipher", "aes-256-gcm", "diagnose", "--json", &l.unc("")],
        b"",
    );
    let checks: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    let status = |name: &str| {
        checks
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {json}"))["status"]
            .clone()
    };
    for name in [
        "SMB port reachable",
        "realm routing",
        "TGT",
        "KDC proxy",
        "service ticket",
        "clock skew",
        "AES-256 ticket",
        "SMB dialect",
        "SMB encryption",
        "tree connect",
    ] {
        assert_eq!(status(name), "PASS", "{name}: {json}");
    }
    assert_eq!(status("name resolution"), "SKIP");
    assert!(
        !checks
            .iter()
            .any(|c| c["status"] == "FAIL" || c["status"] == "WARN"),
        "{json}"
    );
    // Samba prefers AES-128-GCM when offered: a warning naming the fix.
    let text = l.ok(
        &[
            "--cipher",
            "aes-128-gcm,aes-256-gcm",
            "diagnose",
            &l.unc(""),
        ],
        b"",
    );
    assert!(
        text.contains("WARN SMB encryption") && text.contains("--cipher aes-256-gcm"),
        "{text}"
    );
    // A host the KDC does not know: the service ticket fails with the SPN in the message.
    let out = l.run(&["diagnose", "//unknown.example/share"], b"");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        text.contains("FAIL service ticket") && text.contains("cifs/unknown.example"),
        "{text}"
    );
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn recursive_put_and_get_copy_a_tree() {
    let l = Lab::new("recursive");
    l.login();
    let src = l.dir.join("tree");
    std::fs::create_dir_all(src.join("a/b/c")).unwrap();
    std::fs::create_dir_all(src.join("empty")).unwrap();
    let files = [
        ("top.txt", vec![b'x'; 10]),
        (
            "a/one.bin",
            (0..70_000u32).map(|i| i as u8).collect::<Vec<u8>>(),
        ),
        ("a/b/c/deep.txt", b"deep".to_vec()),
        ("a/b/zero", Vec::new()),
    ];
    for (name, data) in &files {
        std::fs::write(src.join(name), data).unwrap();
    }
    let remote = format!("rtree-{}", std::process::id());
    l.ok(&["put", "-r", src.to_str().unwrap(), &l.unc(&remote)], b"");
    let on_server = format!("{}/{remote}", l.env["AZKRB_LAB_SHARE_DIR"]);
    for (name, data) in &files {
        assert_eq!(
            &std::fs::read(format!("{on_server}/{name}")).unwrap(),
            data,
            "{name}"
        );
    }
    assert!(std::path::Path::new(&format!("{on_server}/empty")).is_dir());
    // Again over the existing tree: directories already there are fine.
    l.ok(&["put", "-r", src.to_str().unwrap(), &l.unc(&remote)], b"");
    let back = l.dir.join("back");
    l.ok(&["get", "-r", &l.unc(&remote), back.to_str().unwrap()], b"");
    for (name, data) in &files {
        assert_eq!(&std::fs::read(back.join(name)).unwrap(), data, "{name}");
    }
    assert!(back.join("empty").is_dir());
    // put -r of a file is a usage error.
    let out = l.run(
        &[
            "put",
            "-r",
            src.join("top.txt").to_str().unwrap(),
            &l.unc(&remote),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&on_server).unwrap();
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn progress_bars_on_a_terminal_only() {
    let l = Lab::new("progress");
    l.login();
    let src = l.dir.join("p.bin");
    std::fs::write(&src, vec![0u8; 20 << 20]).unwrap();
    let remote = l.unc(&format!("progress-{}.bin", std::process::id()));
    // Not a terminal: nothing on standard error.
    let out = l.run(&["put", src.to_str().unwrap(), &remote], b"");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // On a terminal (script(1) gives it a pty): the bar with rate and ETA.
    let cmd = format!(
        "{} --ccache {} --address 127.0.0.1:{} get {remote} {}",
        env!("CARGO_BIN_EXE_mount-share"),
        l.ccache(),
        l.env["AZKRB_LAB_SMB_PORT"],
        l.dir.join("back.bin").display()
    );
    let tty = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
        .env("AZKRB_CA_FILE", &l.env["AZKRB_LAB_CA"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{text}");
    assert!(text.contains("ETA") && text.contains("/s"), "{text}");
    assert_eq!(
        std::fs::read(l.dir.join("back.bin")).unwrap().len(),
        20 << 20
    );
    l.ok(&["rm", &remote], b"");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn kdc_proxy_flag_needs_no_krb5_conf() {
    let l = Lab::new("kdcproxy");
    let run = |args: &[&str], stdin: &[u8]| {
        fed(
            Command::new(env!("CARGO_BIN_EXE_mount-share"))
                .args([
                    "--ccache",
                    &l.ccache(),
                    "--kdc-proxy",
                    &l.env["AZKRB_LAB_PROXY_URL"],
                ])
                .args([
                    "--address",
                    &format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]),
                ])
                .args(args)
                .env("KRB5_CONFIG", "/dev/null")
                .env("AZKRB_CA_FILE", &l.env["AZKRB_LAB_CA"]),
            stdin,
        )
    };
    let pw = format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]);
    let out = run(
        &[
            "login",
            "--password-stdin",
            &format!("alice@{}", l.env["AZKRB_LAB_REALM"]),
        ],
        pw.as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["ls", &l.unc("")], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &["--kdc-proxy", "http://plain/kerberos", "ls", &l.unc("")],
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
}

/// True while `mountpoint` is in this process's mount table.
fn mounted(mountpoint: &std::path::Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let want = mountpoint.display().to_string();
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

/// A running `mount-share mount`, stopped (and the mount gone) when dropped, also when a
/// test fails half-way: declared after the `Lab`, it is dropped before the Lab removes its
/// directory, so that removal never reaches through the mount into the share.
struct Mounted {
    child: Option<std::process::Child>,
    mountpoint: std::path::PathBuf,
}

impl Mounted {
    /// The process, for a test that stops it itself.
    fn take(&mut self) -> std::process::Child {
        self.child.take().unwrap()
    }

    fn id(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            for _ in 0..100 {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if mounted(&self.mountpoint) {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(&self.mountpoint)
                .status();
        }
    }
}

/// Starts `mount-share mount` and waits until the kernel lists the mount.
fn start_mount(l: &Lab, mountpoint: &std::path::Path) -> Mounted {
    start_mount_with(l, mountpoint, &[])
}

/// The mount's options as /proc/self/mountinfo lists them (per mount and per superblock).
fn mount_options(mountpoint: &std::path::Path) -> String {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let want = mountpoint.display().to_string();
    info.lines()
        .find(|l| l.split(' ').nth(4) == Some(want.as_str()))
        .unwrap_or_default()
        .to_string()
}

/// [`start_mount`] with extra `mount` options.
fn start_mount_with(l: &Lab, mountpoint: &std::path::Path, extra: &[&str]) -> Mounted {
    start_mount_of(l, l.unc("").trim_end_matches('/'), mountpoint, &[], extra)
}

/// Mounts `target`, with `global` options before the command and `extra` after it.
fn start_mount_of(
    l: &Lab,
    target: &str,
    mountpoint: &std::path::Path,
    global: &[&str],
    extra: &[&str],
) -> Mounted {
    assert!(
        std::path::Path::new("/dev/fuse").exists(),
        "FUSE needs /dev/fuse (and the fuse3 package)"
    );
    std::fs::create_dir_all(mountpoint).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mount-share"))
        .args(global)
        .args([
            "--ccache",
            &l.ccache(),
            "--address",
            &format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]),
            "mount",
            target,
            mountpoint.to_str().unwrap(),
        ])
        .args(extra)
        .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
        .env("AZKRB_CA_FILE", &l.env["AZKRB_LAB_CA"])
        .env("NO_COLOR", "1")
        .env_remove("KRB5CCNAME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if mounted(mountpoint) {
            return Mounted {
                child: Some(child),
                mountpoint: mountpoint.to_path_buf(),
            };
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "mount-share mount exited ({status}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the mount did not appear within 10 s");
}

fn sigterm(m: &Mounted) {
    let ok = Command::new("kill")
        .args(["-TERM", &m.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits up to 10 s for the mount process to end; its stderr.
fn wait_exit(child: std::process::Child) -> (std::process::ExitStatus, String) {
    let mut child = child;
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (
                out.status,
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("mount-share mount did not exit within 10 s");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn fuse_mount_writes_reads_and_unmounts_on_sigterm() {
    use std::io::{Read, Seek, SeekFrom};
    let l = Lab::new("fuse");
    l.login();
    let mp = l.dir.join("mnt");
    let mut child = start_mount(&l, &mp);
    let dir = format!("fuse-{}", std::process::id());
    let server = std::path::PathBuf::from(&l.env["AZKRB_LAB_SHARE_DIR"]).join(&dir);
    let m = mp.join(&dir);

    // Write through the mount: a directory, a 3 MB + 17 file in odd-sized writes, an append.
    std::fs::create_dir(&m).unwrap();
    let data: Vec<u8> = (0..3_000_017u32).map(|i| (i * 7 % 253) as u8).collect();
    {
        let mut f = std::fs::File::create(m.join("a.bin")).unwrap();
        for chunk in data.chunks(70_001) {
            f.write_all(chunk).unwrap();
        }
        f.sync_all().unwrap();
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(m.join("a.bin"))
        .unwrap()
        .write_all(b"tail")
        .unwrap();
    let mut want = data.clone();
    want.extend_from_slice(b"tail");
    assert_eq!(
        std::fs::metadata(m.join("a.bin")).unwrap().len(),
        want.len() as u64
    );
    // Read back: through the mount (whole and at an offset), on the server's disk, over
    // SMB with mount-share get, and with smbclient.
    assert!(std::fs::read(m.join("a.bin")).unwrap() == want);
    let mut f = std::fs::File::open(m.join("a.bin")).unwrap();
    f.seek(SeekFrom::Start(2_999_990)).unwrap();
    let mut part = Vec::new();
    f.read_to_end(&mut part).unwrap();
    assert!(part == want[2_999_990..]);
    drop(f);
    assert!(std::fs::read(server.join("a.bin")).unwrap() == want);
    let back = l.dir.join("back.bin");
    l.ok(
        &[
            "get",
            &l.unc(&format!("{dir}/a.bin")),
            back.to_str().unwrap(),
        ],
        b"",
    );
    assert!(std::fs::read(&back).unwrap() == want);
    l.ok(&["ticket", &l.unc("")], b"");
    let smb_copy = l.dir.join("smbclient.bin");
    let smb = l.smbclient(&format!("get {dir}/a.bin {}", smb_copy.display()));
    assert!(
        smb.status.success(),
        "{}",
        String::from_utf8_lossy(&smb.stderr)
    );
    assert!(std::fs::read(&smb_copy).unwrap() == want);

    // What arrives over SMB shows up in the mount.
    l.ok(
        &["put", "-", &l.unc(&format!("{dir}/via-smb.txt"))],
        b"over SMB\n",
    );
    assert_eq!(std::fs::read(m.join("via-smb.txt")).unwrap(), b"over SMB\n");

    // Listing, rename, truncate, times, statfs.
    let mut names: Vec<String> = std::fs::read_dir(&m)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a.bin", "via-smb.txt"]);
    std::fs::rename(m.join("a.bin"), m.join("b.bin")).unwrap();
    assert!(!server.join("a.bin").exists() && server.join("b.bin").exists());
    std::fs::OpenOptions::new()
        .write(true)
        .open(m.join("b.bin"))
        .unwrap()
        .set_len(1000)
        .unwrap();
    assert_eq!(std::fs::metadata(server.join("b.bin")).unwrap().len(), 1000);
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(m.join("b.bin"))
        .unwrap()
        .set_modified(when)
        .unwrap();
    assert_eq!(
        std::fs::metadata(server.join("b.bin"))
            .unwrap()
            .modified()
            .unwrap(),
        when
    );
    assert_eq!(
        std::fs::metadata(m.join("b.bin"))
            .unwrap()
            .modified()
            .unwrap(),
        when
    );
    let df = |p: &std::path::Path| {
        let out = Command::new("df")
            .args(["-B1", "--output=size"])
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    let (ours, theirs) = (df(&mp), df(&server));
    assert!(
        ours.abs_diff(theirs) <= theirs / 100,
        "df {ours} vs {theirs}"
    );

    // Errors come back as the errno a program expects.
    let kind = |r: std::io::Result<()>| r.unwrap_err().kind();
    assert_eq!(
        kind(std::fs::File::open(m.join("missing")).map(drop)),
        std::io::ErrorKind::NotFound
    );
    assert_eq!(
        kind(std::fs::File::create_new(m.join("b.bin")).map(drop)),
        std::io::ErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(std::fs::remove_dir(&m)),
        std::io::ErrorKind::DirectoryNotEmpty
    );

    // Delete through the mount.
    std::fs::remove_file(m.join("b.bin")).unwrap();
    std::fs::remove_file(m.join("via-smb.txt")).unwrap();
    std::fs::create_dir(m.join("sub")).unwrap();
    std::fs::remove_dir(m.join("sub")).unwrap();
    std::fs::remove_dir(&m).unwrap();
    assert!(!server.exists());

    // SIGTERM unmounts and exits 0.
    sigterm(&child);
    let (status, stderr) = wait_exit(child.take());
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("unmounted"), "{stderr}");
    assert!(!mounted(&mp));
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn fuse_mount_busy_at_sigterm_is_detached_and_served_until_closed() {
    use std::io::Read;
    let l = Lab::new("fusebusy");
    l.login();
    let name = format!("fuse-busy-{}.txt", std::process::id());
    l.ok(&["put", "-", &l.unc(&name)], b"still readable");
    let mp = l.dir.join("mnt");
    let mut child = start_mount(&l, &mp);
    let mut open = std::fs::File::open(mp.join(&name)).unwrap();
    sigterm(&child);
    // Detached at once: gone from the mount table, but the open file still works.
    for _ in 0..100 {
        if !mounted(&mp) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!mounted(&mp));
    let mut text = String::new();
    open.read_to_string(&mut text).unwrap();
    assert_eq!(text, "still readable");
    drop(open);
    let (status, stderr) = wait_exit(child.take());
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("busy; detached"), "{stderr}");
    l.ok(&["rm", &l.unc(&name)], b"");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn get_and_put_resume_interrupted_transfers_and_refuse_mismatches() {
    let l = Lab::new("resume");
    l.login();
    let data: Vec<u8> = (0..4_000_003u32).map(|i| (i * 13 % 241) as u8).collect();
    let name = format!("resume-{}.bin", std::process::id());
    let remote = l.unc(&name);
    let server = std::path::PathBuf::from(&l.env["AZKRB_LAB_SHARE_DIR"]).join(&name);
    let src = l.dir.join("src.bin");
    std::fs::write(&src, &data).unwrap();

    // An upload that stopped after 1.5 MB (the remote file holds the start), resumed.
    l.ok(&["put", "-", &remote], &data[..1_500_000]);
    let out = l.run(&["put", "--resume", src.to_str().unwrap(), &remote], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("resuming at byte 1500000 of 4000003"),
        "{said}"
    );
    assert!(std::fs::read(&server).unwrap() == data);
    // Again: nothing left to send.
    let out = l.run(&["put", "-c", src.to_str().unwrap(), &remote], b"");
    assert!(String::from_utf8_lossy(&out.stderr).contains("already complete"));

    // A download that stopped after 1 MB (NAME.part holds the start), resumed.
    let local = l.dir.join("got.bin");
    let part = l.dir.join("got.bin.part");
    std::fs::write(&part, &data[..1_000_000]).unwrap();
    let out = l.run(&["get", "--resume", &remote, local.to_str().unwrap()], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("resuming at byte 1000000"));
    assert!(std::fs::read(&local).unwrap() == data);
    assert!(!part.exists());
    let out = l.run(&["get", "-c", &remote, local.to_str().unwrap()], b"");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already complete"));

    // A partial copy of something else is refused (exit 1), and kept for inspection.
    let mut other = data[..1_000_000].to_vec();
    other[999_999] ^= 1;
    std::fs::write(&part, &other).unwrap();
    std::fs::remove_file(&local).unwrap();
    let out = l.run(&["get", "--resume", &remote, local.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("does not match") && said.lines().count() == 1,
        "{said}"
    );
    assert!(part.exists() && !local.exists());
    l.ok(&["put", "-", &remote], &other);
    let out = l.run(&["put", "--resume", src.to_str().unwrap(), &remote], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match"));
    assert!(std::fs::read(&server).unwrap() == other);
    // Standard input/output cannot be resumed.
    let out = l.run(&["get", "--resume", &remote, "-"], b"");
    assert_eq!(out.status.code(), Some(2));

    // Trees: complete files are skipped, a partial one is finished.
    let tree = l.dir.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("one.bin"), &data[..300_000]).unwrap();
    std::fs::write(tree.join("sub/two.bin"), &data).unwrap();
    let rdir = format!("resume-tree-{}", std::process::id());
    l.ok(&["put", "-r", tree.to_str().unwrap(), &l.unc(&rdir)], b"");
    let rserver = std::path::PathBuf::from(&l.env["AZKRB_LAB_SHARE_DIR"]).join(&rdir);
    l.ok(
        &["put", "-", &l.unc(&format!("{rdir}/sub/two.bin"))],
        &data[..10],
    );
    let out = l.run(
        &[
            "put",
            "-r",
            "--resume",
            tree.to_str().unwrap(),
            &l.unc(&rdir),
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("one.bin: already complete"), "{said}");
    assert!(said.contains("two.bin: resuming at byte 10"), "{said}");
    assert!(std::fs::read(rserver.join("sub/two.bin")).unwrap() == data);
    for f in [
        format!("{rdir}/sub/two.bin"),
        format!("{rdir}/one.bin"),
        name.clone(),
    ] {
        l.ok(&["rm", &l.unc(&f)], b"");
    }
    l.ok(&["rmdir", &l.unc(&format!("{rdir}/sub"))], b"");
    l.ok(&["rmdir", &l.unc(&rdir)], b"");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn config_file_settings_with_environment_and_flags_above_it() {
    let l = Lab::new("config");
    let realm = &l.env["AZKRB_LAB_REALM"];
    let file = l.dir.join("config.toml");
    std::fs::write(
        &file,
        format!(
            "ccache = \"{cc}\"\nca_file = \"{ca}\"\naddress = \"127.0.0.1:{port}\"\n\
             cipher = [\"aes-256-gcm\"]\n\n[realms.\"{realm}\"]\nkdc = [\"{proxy}\"]\n\n\
             [domain_realm]\n\".file.core.windows.net\" = \"{realm}\"\n",
            cc = l.ccache(),
            ca = l.env["AZKRB_LAB_CA"],
            port = l.env["AZKRB_LAB_SMB_PORT"],
            proxy = l.env["AZKRB_LAB_PROXY_URL"],
        ),
    )
    .unwrap();
    // Only the config file: no krb5.conf of the lab's, no lab flags or variables.
    let run = |args: &[&str], env: &[(&str, &str)], stdin: &[u8]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mount-share"));
        cmd.arg("--config").arg(&file).args(args);
        for v in [
            "KRB5_CONFIG",
            "KRB5CCNAME",
            "AZKRB_TENANT",
            "AZKRB_KDC_PROXY",
            "AZKRB_CA_FILE",
            "AZKRB_CONFIG",
        ] {
            cmd.env_remove(v);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        fed(&mut cmd, stdin)
    };
    // The lab's realm is in no krb5.conf this process sees: its routing can only come from
    // the config file (an empty KRB5_CONFIG counts as unset).
    let pw = format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]);
    let login = ["login", "--password-stdin", "alice", "--realm", realm];
    let out = run(&login, &[("KRB5_CONFIG", "")], pw.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let share = format!("//{}/{}", l.env["AZKRB_LAB_HOST"], l.env["AZKRB_LAB_SHARE"]);
    let out = run(&["ls", &share], &[("KRB5_CONFIG", "")], b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The environment overrides the file: a dead KDC proxy fails the login (exit 3)...
    let dead = "https://127.0.0.1:9/x/kerberos";
    let out = run(&login, &[("AZKRB_KDC_PROXY", dead)], pw.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ... and a flag overrides the environment.
    let mut with_flag = vec!["--kdc-proxy", &l.env["AZKRB_LAB_PROXY_URL"]];
    with_flag.extend_from_slice(&login);
    let out = run(&with_flag, &[("AZKRB_KDC_PROXY", dead)], pw.as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `config` says where each setting came from.
    let out = run(
        &["--port", "4999", "config"],
        &[("AZKRB_KDC_PROXY", dead)],
        b"",
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("port       4999  (--port)"), "{shown}");
    assert!(
        shown.contains(&format!("kdc_proxy  {dead}  (environment AZKRB_KDC_PROXY)")),
        "{shown}"
    );
    assert!(
        shown.contains("cipher     aes-256-gcm  (config file"),
        "{shown}"
    );
    assert!(shown.contains(&format!("realm      {realm} = ")), "{shown}");
    // A mistake in the file: exit 2, one line, with the line number.
    std::fs::write(&file, "port = 4445\ncyphers = [\"aes-256-gcm\"]\n").unwrap();
    let out = run(&["klist"], &[], b"");
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("line 2") && said.contains("cyphers"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "{said}");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn expired_ticket_and_skewed_clock_are_one_line_kerberos_errors() {
    let l = Lab::new("clock");
    l.login();
    // The same commands with this machine's clock moved (libfaketime, the real KDC and
    // server unchanged).
    let faked = |offset: &str, args: &[&str], stdin: &[u8]| {
        let mut child = Command::new("faketime")
            .arg(offset)
            .arg(env!("CARGO_BIN_EXE_mount-share"))
            .args([
                "--ccache",
                &l.ccache(),
                "--address",
                &format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]),
            ])
            .args(args)
            .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
            .env("AZKRB_CA_FILE", &l.env["AZKRB_LAB_CA"])
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env_remove("KRB5CCNAME")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("faketime (Debian package faketime, installed by lab/up)");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let share = l.unc("");
    // A day later the 10-hour TGT has expired.
    let (code, said) = faked("+1 day", &["ls", &share], b"");
    assert_eq!(code, Some(3), "{said}");
    assert!(
        said.contains("expired") && said.contains("new TGT"),
        "{said}"
    );
    assert_eq!(said.lines().count(), 1, "{said}");
    let (code, said) = faked("+1 day", &["diagnose", &share], b"");
    assert_eq!(code, Some(1), "{said}");
    // Ten minutes fast: the KDC refuses both the TGS exchange and a new login, and the
    // message gives the measured offset and the fix.
    let (code, said) = faked("+10 minutes", &["ls", &share], b"");
    assert_eq!(code, Some(3), "{said}");
    assert!(
        said.contains("clock skew") && said.contains("600s"),
        "{said}"
    );
    assert!(said.contains("NTP"), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
    let pw = format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]);
    let (code, said) = faked(
        "-10 minutes",
        &[
            "login",
            "--password-stdin",
            "alice",
            "--realm",
            &l.env["AZKRB_LAB_REALM"],
        ],
        pw.as_bytes(),
    );
    assert_eq!(code, Some(3), "{said}");
    assert!(
        said.contains("clock skew") && said.contains("600s"),
        "{said}"
    );
    // With the clock right again, everything works with the same ccache.
    l.ok(&["ls", &share], b"");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn login_imports_a_tgt_cloud_in_both_forms() {
    use base64::Engine;
    let l = Lab::new("tgtcloud");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let prt_key = [0x3cu8; 32];
    let raw = rt.block_on(tgt_cloud::lab_tgt_cloud(&l.env, None));
    let jwe = rt.block_on(tgt_cloud::lab_tgt_cloud(&l.env, Some(&prt_key)));
    let (raw_file, jwe_file) = (l.dir.join("raw.json"), l.dir.join("jwe.json"));
    std::fs::write(&raw_file, raw).unwrap();
    std::fs::write(&jwe_file, jwe).unwrap();
    // Raw clientKey: the ccache holds alice's TGT, which gets a service ticket and a listing.
    l.ok(&["login", "--tgt-cloud", raw_file.to_str().unwrap()], b"");
    let said = l.ok(&["klist"], b"");
    assert!(
        said.contains("alice@KERBEROS.MICROSOFTONLINE.COM"),
        "{said}"
    );
    l.ok(&["ls", &l.unc("")], b"");
    // JWE clientKey: needs the PRT session key, given as base64, hex or raw bytes.
    std::fs::remove_file(l.ccache()).unwrap();
    let jwe_arg = jwe_file.to_str().unwrap();
    let out = l.run(&["login", "--tgt-cloud", jwe_arg], b"");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PRT session key"));
    let key_b64 = l.dir.join("prt.b64");
    std::fs::write(
        &key_b64,
        base64::engine::general_purpose::STANDARD.encode(prt_key),
    )
    .unwrap();
    let key_hex = l.dir.join("prt.hex");
    std::fs::write(&key_hex, format!("{}\n", hex::encode(prt_key))).unwrap();
    for key in [key_b64.to_str().unwrap(), key_hex.to_str().unwrap()] {
        l.ok(
            &["login", "--tgt-cloud", jwe_arg, "--prt-session-key", key],
            b"",
        );
        l.ok(&["ls", &l.unc("")], b"");
    }
    l.ok(
        &["login", "--tgt-cloud", jwe_arg, "--prt-session-key", "-"],
        &prt_key,
    );
    // The wrong key is a Kerberos error; something that is no key at all, a usage error.
    let wrong = l.dir.join("wrong.hex");
    std::fs::write(&wrong, hex::encode([0x3du8; 32])).unwrap();
    let out = l.run(
        &[
            "login",
            "--tgt-cloud",
            jwe_arg,
            "--prt-session-key",
            wrong.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = l.run(
        &["login", "--tgt-cloud", jwe_arg, "--prt-session-key", "-"],
        b"not a key",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn fuse_mount_keeps_handles_coherent_and_reads_at_any_offset() {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::FileExt;
    let l = Lab::new("fusecoherent");
    l.login();
    let mp = l.dir.join("mnt");
    let mut child = start_mount(&l, &mp);
    let name = format!("fuse-coherent-{}.bin", std::process::id());
    let path = mp.join(&name);
    let data: Vec<u8> = (0..5_000_000u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();

    // Reads that do not start at 0 or do not go straight through (dd skip=, pread).
    let mut f = std::fs::File::open(&path).unwrap();
    f.seek(SeekFrom::Start(1 << 20)).unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0; 128 * 1024];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == data[1 << 20..], "{} bytes from 1 MiB on", got.len());
    for at in [4_999_999u64, 17, 3_333_333, 0, 2_097_152] {
        let mut one = vec![0; 70_000];
        let n = f.read_at(&mut one, at).unwrap();
        let end = (at as usize + 70_000).min(data.len());
        assert_eq!(&one[..n], &data[at as usize..end], "pread at {at}");
    }
    drop(f);

    // A writer keeps its descriptor open; others see what it wrote (size and bytes), and
    // `stat` does not shrink the file under an appender.
    let mut writer = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    writer.write_all(b"first line\n").unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        data.len() as u64 + 11
    );
    let mut tail = vec![0; 11];
    std::fs::File::open(&path)
        .unwrap()
        .read_exact_at(&mut tail, data.len() as u64)
        .unwrap();
    assert_eq!(tail, b"first line\n");
    std::thread::sleep(std::time::Duration::from_millis(1100)); // past the attribute TTL
    let _ = std::fs::metadata(&path).unwrap();
    writer.write_all(b"second line\n").unwrap();
    // fsync on another descriptor (what `sync FILE` does) sends the writer's data.
    std::fs::File::open(&path).unwrap().sync_all().unwrap();
    let server = std::path::PathBuf::from(&l.env["AZKRB_LAB_SHARE_DIR"]).join(&name);
    let on_disk = std::fs::read(&server).unwrap();
    assert!(on_disk[..data.len()] == data[..]);
    assert_eq!(&on_disk[data.len()..], b"first line\nsecond line\n");
    drop(writer);

    // Overlapping writes while earlier ones are still on their way land in order.
    let over = mp.join(format!("{name}.over"));
    {
        let f = std::fs::File::create(&over).unwrap();
        let big = vec![b'A'; 3 << 20];
        f.write_all_at(&big, 0).unwrap();
        f.write_all_at(b"0123456789", (1 << 20) - 5).unwrap();
        f.write_all_at(&vec![b'B'; 1 << 20], 1 << 20).unwrap();
        f.write_all_at(b"xy", 7).unwrap();
    }
    let mut want = vec![b'A'; 3 << 20];
    want[(1 << 20) - 5..(1 << 20) + 5].copy_from_slice(b"0123456789");
    want[1 << 20..2 << 20].fill(b'B');
    want[7..9].copy_from_slice(b"xy");
    let server_over =
        std::path::PathBuf::from(&l.env["AZKRB_LAB_SHARE_DIR"]).join(format!("{name}.over"));
    assert!(std::fs::read(&server_over).unwrap() == want);
    assert!(std::fs::read(&over).unwrap() == want);
    std::fs::remove_file(&over).unwrap();

    // Unlinked while open: the descriptor still reads and stats.
    let mut open = std::fs::File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(!path.exists());
    assert_eq!(open.metadata().unwrap().len(), data.len() as u64 + 23);
    let mut head = vec![0; 10];
    open.read_exact(&mut head).unwrap();
    assert_eq!(head, data[..10]);
    drop(open);

    // POSIX rename errors: a file over a directory, a directory over a file.
    std::fs::create_dir(mp.join(format!("{name}.d"))).unwrap();
    std::fs::write(mp.join(format!("{name}.f")), b"x").unwrap();
    let e = std::fs::rename(mp.join(format!("{name}.f")), mp.join(format!("{name}.d")));
    assert_eq!(e.unwrap_err().kind(), std::io::ErrorKind::IsADirectory);
    let e = std::fs::rename(mp.join(format!("{name}.d")), mp.join(format!("{name}.f")));
    assert_eq!(e.unwrap_err().kind(), std::io::ErrorKind::NotADirectory);
    std::fs::remove_dir(mp.join(format!("{name}.d"))).unwrap();
    std::fs::remove_file(mp.join(format!("{name}.f"))).unwrap();

    sigterm(&child);
    let (status, stderr) = wait_exit(child.take());
    assert!(status.success(), "{stderr}");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn diagnose_reads_the_cname_chain_of_a_private_endpoint() {
    let l = Lab::new("dns");
    l.login();
    // Without --address: the lab DNS says acct.file.core.windows.net is a privatelink CNAME
    // to 127.0.0.1, and diagnose connects there — every check passes.
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mount-share"))
            .args([
                "--ccache",
                &l.ccache(),
                "--port",
                &l.env["AZKRB_LAB_SMB_PORT"],
            ])
            .args(args)
            .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
            .env("AZKRB_CA_FILE", &l.env["AZKRB_LAB_CA"])
            .output()
            .unwrap()
    };
    let share = format!("//{}/{}", l.env["AZKRB_LAB_HOST"], l.env["AZKRB_LAB_SHARE"]);
    let dns = l.env["AZKRB_LAB_DNS"].as_str();
    let out = run(&[
        "--cipher",
        "aes-256-gcm",
        "diagnose",
        "--dns-server",
        dns,
        &share,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(
            "PASS name resolution        acct.file.core.windows.net → \
             acct.privatelink.file.core.windows.net → 127.0.0.1"
        ) && text.contains("a private endpoint"),
        "{text}"
    );
    assert!(!text.contains("FAIL") && !text.contains("WARN"), "{text}");
    // A DNS server that does not serve the privatelink zone: the public address is a
    // warning with the fix.
    let public = format!(
        "//{}/{}",
        l.env["AZKRB_LAB_PUBLIC_HOST"], l.env["AZKRB_LAB_SHARE"]
    );
    let out = run(&["diagnose", "--json", "--dns-server", dns, &public]);
    let checks: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let name = checks
        .iter()
        .find(|c| c["check"] == "name resolution")
        .unwrap();
    assert_eq!(name["status"], "WARN", "{name}");
    assert!(name["detail"].as_str().unwrap().contains("198.51.100.7"));
    assert!(
        name["fix"]
            .as_str()
            .unwrap()
            .contains("privatelink.file.core.windows.net")
    );
    // A DNS server that does not answer: FAIL, and the run says so.
    let out = run(&["diagnose", "--dns-server", "127.0.0.1:9", &share]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL name resolution"), "{text}");
    // Not an address at all: a usage error.
    let out = run(&["diagnose", "--dns-server", "dns.example", &share]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn fuse_mount_read_only_and_allow_other() {
    let l = Lab::new("fuseopts");
    l.login();
    let name = format!("fuse-ro-{}.txt", std::process::id());
    l.ok(&["put", "-", &l.unc(&name)], b"read me");
    let mp = l.dir.join("mnt");
    let mut m = start_mount_with(&l, &mp, &["--read-only", "--allow-other"]);
    let opts = mount_options(&mp);
    assert!(opts.contains(" ro,") || opts.contains(" ro "), "{opts}");
    assert!(
        opts.contains("allow_other") && opts.contains("default_permissions"),
        "{opts}"
    );
    assert_eq!(std::fs::read(mp.join(&name)).unwrap(), b"read me");
    let e = std::fs::write(mp.join("new.txt"), b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(30), "{e}"); // EROFS
    let e = std::fs::remove_file(mp.join(&name)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(30), "{e}");
    sigterm(&m);
    let (status, stderr) = wait_exit(m.take());
    assert!(status.success(), "{stderr}");
    l.ok(&["rm", &l.unc(&name)], b"");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn tenant_flag_routes_the_share_to_entra_through_login_microsoftonline_com() {
    let l = Lab::new("tenant");
    l.login();
    let empty = l.dir.join("empty-krb5.conf");
    std::fs::write(&empty, "").unwrap();
    // No krb5.conf routing: --tenant alone sends *.file.core.windows.net to the Entra realm
    // through https://login.microsoftonline.com/<tenant>/kerberos. That host is not reachable
    // here (the HTTPS proxy below is dead), so the proxy check fails, naming that URL.
    let out = Command::new(env!("CARGO_BIN_EXE_mount-share"))
        .args([
            "--ccache",
            &l.ccache(),
            "--krb5-conf",
            empty.to_str().unwrap(),
            "--tenant",
            "11111111-2222-3333-4444-555555555555",
            "--address",
            &format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]),
            "diagnose",
            "--json",
            &l.unc(""),
        ])
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env_remove("KRB5_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let checks: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let find = |n: &str| checks.iter().find(|c| c["check"] == n).unwrap().clone();
    let routing = find("realm routing");
    assert_eq!(routing["status"], "PASS", "{routing}");
    assert!(
        routing["detail"]
            .as_str()
            .unwrap()
            .contains("KERBEROS.MICROSOFTONLINE.COM")
    );
    let proxy = find("KDC proxy");
    assert_eq!(proxy["status"], "FAIL", "{proxy}");
    assert!(
        proxy["detail"].as_str().unwrap().contains(
            "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/kerberos"
        ),
        "{proxy}"
    );
    // A tenant that is not an id or a domain is a usage error.
    let out = l.run(&["--tenant", "bad tenant!", "ls", &l.unc("")], b"");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn login_with_a_upn_as_entra_users_do() {
    let l = Lab::new("upn");
    let pw = format!("{}\n", l.env["AZKRB_LAB_UPN_PASSWORD"]);
    let upn = l.env["AZKRB_LAB_UPN"].as_str();
    // The Entra realm comes from the lab's krb5.conf: the UPN becomes an enterprise name in
    // it, the KDC canonicalizes it, and the ticket works for the share.
    l.ok(&["login", "--password-stdin", upn], pw.as_bytes());
    let listed = l.ok(&["klist"], b"");
    // An enterprise name, as MIT's klist writes it too (the @ of the UPN escaped).
    let want = format!(
        "Default principal: {}@{}",
        upn.replace('@', "\\@"),
        l.env["AZKRB_LAB_REALM"]
    );
    assert!(listed.contains(&want), "{listed}");
    l.ok(&["ls", &l.unc("")], b"");
    // The same with the realm given.
    std::fs::remove_file(l.ccache()).unwrap();
    l.ok(
        &[
            "login",
            "--password-stdin",
            upn,
            "--realm",
            &l.env["AZKRB_LAB_REALM"],
        ],
        pw.as_bytes(),
    );
    l.ok(&["ls", &l.unc("")], b"");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn remaining_options_keep_ccache_force_ca_file_stat_and_verbose_without_secrets() {
    let l = Lab::new("options");
    // login without a principal keeps a valid TGT, and says what is missing otherwise.
    let out = l.run(&["login"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a principal"));
    // -vv logs the exchanges, never the password or keys.
    let password = l.env["AZKRB_LAB_PASSWORD"].clone();
    let out = l.run(
        &[
            "-vv",
            "login",
            "--password-stdin",
            "alice",
            "--realm",
            &l.env["AZKRB_LAB_REALM"],
        ],
        format!("{password}\n").as_bytes(),
    );
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("DEBUG"), "{log}");
    assert!(!log.contains(&password), "the password was logged");
    let out = l.run(&["login"], b"");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Keeping the TGT of alice@"));
    // --ca-file as a flag (the other tests use AZKRB_CA_FILE): without it, and without the
    // krb5.conf's http_anchors (which name the lab CA for MIT's tools, and which azkrb
    // honours too), the proxy's certificate is not trusted.
    let unanchored = l.dir.join("krb5-unanchored.conf");
    let conf = std::fs::read_to_string(&l.env["AZKRB_LAB_KRB5_CONF"]).unwrap();
    let stripped: String = conf
        .lines()
        .filter(|line| !line.trim_start().starts_with("http_anchors"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(
        conf.len(),
        stripped.len(),
        "the lab's krb5.conf names http_anchors"
    );
    std::fs::write(&unanchored, stripped).unwrap();
    let ticket = |ca: Option<&str>, krb5: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mount-share"));
        cmd.args(["--ccache", &l.ccache()]);
        if let Some(ca) = ca {
            cmd.args(["--ca-file", ca]);
        }
        cmd.args(["ticket", &format!("//{}", l.env["AZKRB_LAB_HOST"])])
            .env("KRB5_CONFIG", krb5)
            .env_remove("AZKRB_CA_FILE")
            .output()
            .unwrap()
    };
    let unanchored = unanchored.to_str().unwrap();
    let out = ticket(None, unanchored);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CA"));
    assert!(
        ticket(Some(&l.env["AZKRB_LAB_CA"]), unanchored)
            .status
            .success()
    );
    // The krb5.conf's http_anchors alone are enough.
    assert!(ticket(None, &l.env["AZKRB_LAB_KRB5_CONF"]).status.success());
    // stat's text form; mv refuses to replace without --force.
    let dir = format!("opts-{}", std::process::id());
    l.ok(&["mkdir", &l.unc(&dir)], b"");
    l.ok(&["put", "-", &l.unc(&format!("{dir}/a"))], b"aaa");
    l.ok(&["put", "-", &l.unc(&format!("{dir}/b"))], b"bb");
    let st = l.ok(&["stat", &l.unc(&format!("{dir}/a"))], b"");
    assert!(st.contains("Size: 3") || st.contains("3 bytes"), "{st}");
    let out = l.run(
        &["mv", &l.unc(&format!("{dir}/a")), &format!("{dir}/b")],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    l.ok(
        &[
            "mv",
            "--force",
            &l.unc(&format!("{dir}/a")),
            &format!("{dir}/b"),
        ],
        b"",
    );
    let out = l.run(&["cat", &l.unc(&format!("{dir}/b"))], b"");
    assert_eq!(out.stdout, b"aaa");
    l.ok(&["rm", &l.unc(&format!("{dir}/b"))], b"");
    l.ok(&["rmdir", &l.unc(&dir)], b"");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn fuse_mount_outlives_its_ticket() {
    use std::io::Read;
    let l = Lab::new("fuseexpiry");
    l.login();
    // cifs/acctshort tickets live 45 s in the lab, and Samba ends the session with them: the
    // mount re-authenticates and carries on, open files included.
    let mp = l.dir.join("mnt");
    let target = format!(
        "//{}/{}",
        l.env["AZKRB_LAB_SHORT_HOST"], l.env["AZKRB_LAB_SHARE"]
    );
    let mut m = start_mount_of(&l, &target, &mp, &["-v"], &[]);
    let name = format!("fuse-expiry-{}.txt", std::process::id());
    std::fs::write(mp.join(&name), b"written before").unwrap();
    let mut open = std::fs::File::open(mp.join(&name)).unwrap();
    std::thread::sleep(std::time::Duration::from_secs(48));
    // After the ticket's end: a listing, a read on the descriptor opened before, a write.
    assert!(
        std::fs::read_dir(&mp)
            .unwrap()
            .any(|e| e.unwrap().file_name().to_str() == Some(name.as_str()))
    );
    let mut text = String::new();
    open.read_to_string(&mut text).unwrap();
    assert_eq!(text, "written before");
    drop(open);
    std::fs::write(mp.join(&name), b"written after").unwrap();
    assert_eq!(std::fs::read(mp.join(&name)).unwrap(), b"written after");
    std::fs::remove_file(mp.join(&name)).unwrap();
    sigterm(&m);
    let (status, stderr) = wait_exit(m.take());
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("re-authenticating"), "{stderr}");
}
