//! mount-share's transfers against the lab: recursive put and get, progress bars on a
//! terminal only, resumed transfers and refused mismatches.

mod common;

use std::process::Command;

use common::Lab;

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

/// Many small files go 32 at a time on one session, each in one round trip, both ways, every
/// byte in place; a failure stops the copy with the server's word for it, and leaves no
/// file half-written (each is written whole or not at all).
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn recursive_transfers_of_many_files_at_once_and_their_first_failure() {
    let l = Lab::new("many");
    l.login();
    let src = l.dir.join("many");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    let content = |i: u32| -> Vec<u8> { (0..(i * 37 % 5000)).map(|j| (i ^ j) as u8).collect() };
    for i in 0..300u32 {
        let dir = if i % 3 == 0 {
            src.join("sub")
        } else {
            src.clone()
        };
        std::fs::write(dir.join(format!("f{i:03}")), content(i)).unwrap();
    }
    // One larger than one WRITE, among them: streamed as before.
    let big: Vec<u8> = (0..3_000_001u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(src.join("big.bin"), &big).unwrap();
    let remote = format!("many-{}", std::process::id());
    let on_server = std::path::PathBuf::from(&l.env["AZKRB_LAB_SHARE_DIR"]).join(&remote);
    l.ok(&["put", "-r", src.to_str().unwrap(), &l.unc(&remote)], b"");
    let back = l.dir.join("back");
    l.ok(&["get", "-r", &l.unc(&remote), back.to_str().unwrap()], b"");
    for i in 0..300u32 {
        let rel = if i % 3 == 0 {
            format!("sub/f{i:03}")
        } else {
            format!("f{i:03}")
        };
        assert_eq!(
            std::fs::read(on_server.join(&rel)).unwrap(),
            content(i),
            "{rel}"
        );
        assert_eq!(std::fs::read(back.join(&rel)).unwrap(), content(i), "{rel}");
    }
    assert!(std::fs::read(back.join("big.bin")).unwrap() == big);
    assert!(std::fs::read(on_server.join("big.bin")).unwrap() == big);

    // On the server, `sub` is now a file: the files for it cannot be written. The copy
    // fails, naming the cause; every file on the server is whole (old or new), none cut.
    let again = format!("{remote}-again");
    let on_server_again = on_server.with_file_name(&again);
    l.ok(&["mkdir", &l.unc(&again)], b"");
    l.ok(
        &["put", "-", &l.unc(&format!("{again}/sub"))],
        b"a file, not a directory",
    );
    let out = l.run(&["put", "-r", src.to_str().unwrap(), &l.unc(&again)], b"");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sub"), "{err}");
    for entry in std::fs::read_dir(&on_server_again).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if let Some(i) = name.strip_prefix('f').and_then(|n| n.parse::<u32>().ok()) {
            assert_eq!(std::fs::read(entry.path()).unwrap(), content(i), "{name}");
        }
    }
    std::fs::remove_dir_all(&on_server).unwrap();
    std::fs::remove_dir_all(&on_server_again).unwrap();
}

/// What `cmd` writes on a terminal (script(1) gives it a pty), once it has succeeded.
fn on_a_terminal(l: &Lab, cmd: &str) -> String {
    let tty = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
        .env("AZKRB_CA_FILE", &l.env["AZKRB_LAB_CA"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&tty.stdout).into_owned();
    assert!(tty.status.success(), "{text}");
    text
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
    // On a terminal: the bar with rate and ETA.
    let cmd = format!(
        "{} --ccache {} --address 127.0.0.1:{} get {remote} {}",
        env!("CARGO_BIN_EXE_mount-share"),
        l.ccache(),
        l.env["AZKRB_LAB_SMB_PORT"],
        l.dir.join("back.bin").display()
    );
    let text = on_a_terminal(&l, &cmd);
    assert!(text.contains("ETA") && text.contains("/s"), "{text}");
    assert_eq!(
        std::fs::read(l.dir.join("back.bin")).unwrap().len(),
        20 << 20
    );
    l.ok(&["rm", &remote], b"");
    // A tree: one bar counting its files.
    let tree = l.dir.join("tree");
    std::fs::create_dir(&tree).unwrap();
    for i in 0..200 {
        std::fs::write(tree.join(format!("f{i}")), [b'x'; 100]).unwrap();
    }
    let remote = format!("progress-tree-{}", std::process::id());
    l.ok(&["put", "-r", tree.to_str().unwrap(), &l.unc(&remote)], b"");
    let cmd = format!(
        "{} --ccache {} --address 127.0.0.1:{} get -r {} {}",
        env!("CARGO_BIN_EXE_mount-share"),
        l.ccache(),
        l.env["AZKRB_LAB_SMB_PORT"],
        l.unc(&remote),
        l.dir.join("back-tree").display()
    );
    let text = on_a_terminal(&l, &cmd);
    assert!(text.contains(" files"), "{text}");
    assert_eq!(
        std::fs::read_dir(l.dir.join("back-tree")).unwrap().count(),
        200
    );
    std::fs::remove_dir_all(std::path::Path::new(&l.env["AZKRB_LAB_SHARE_DIR"]).join(&remote))
        .unwrap();
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
