//! mount-share's file commands against the lab's Samba (SMB 3.1.1, encryption required):
//! put, get, cat, ls, stat, mv, rm, mkdir, rmdir interoperating with smbclient, and errors as
//! one line with the documented exit codes.

mod common;

use std::process::{Command, Output};

use common::Lab;

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
    // Unreachable KDC proxy while fetching a ticket: Kerberos (3). (Logged in again: the
    // service ticket the commands above stored in the ccache would spare the KDC.)
    l.login();
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
