//! Windows ACLs over SMB: what mount-share sets, Samba's smbcacls reads back the same, and
//! what smbcacls sets, mount-share reads the same (at the AD DC's smbd); a deny entry
//! really denies another user, and a recursive grant reaches every file and directory below
//! with inherited (ID) entries as Windows computes them (at the lab's smbd, whose share
//! keeps NT ACLs with acl_xattr).

mod common;

use std::process::{Command, Output};

use azkrb::acl::{Acl, sddl};
use common::Lab;

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn login(l: &Lab, ccache: &str, address: &str, user: &str, password: &str) {
    let mut cmd = l.command_with(address, Some(ccache));
    cmd.args(["login", "--password-stdin", user]);
    ok(
        common::fed(&mut cmd, format!("{password}\n").as_bytes()),
        "login",
    );
}

fn run(l: &Lab, ccache: &str, address: &str, args: &[&str]) -> Output {
    l.command_with(address, Some(ccache))
        .args(args)
        .output()
        .unwrap()
}

/// smbcacls on the AD DC's share: it takes no address or port, so it runs in a mount
/// namespace of its own whose /etc/hosts names the DC's address.
fn smbcacls(l: &Lab, ccache: &str, path: &str, extra: &[&str]) -> Output {
    let hosts = l.dir.join("hosts");
    let mut text = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let addr = l.env["AZKRB_LAB_ADDC_SMB"]
        .rsplit_once(':')
        .unwrap()
        .0
        .to_string();
    text.push_str(&format!("\n{addr} {}\n", l.env["AZKRB_LAB_ADDC_HOST"]));
    std::fs::write(&hosts, text).unwrap();
    let mut args = vec![
        format!("//{}/share", l.env["AZKRB_LAB_ADDC_HOST"]),
        path.to_string(),
        "-N".into(),
        "--use-kerberos=required".into(),
        "--client-protection=encrypt".into(),
    ];
    if !extra.contains(&"--numeric") {
        args.push("--sddl".into());
        // A domain SID no real one matches: every SID is written out, none abbreviated.
        args.push("--domain-sid=S-1-5-21-1-2-3".into());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount --bind '{}' /etc/hosts && exec smbcacls {}",
            hosts.display(),
            quoted.join(" ")
        ))
        .env("KRB5CCNAME", format!("FILE:{ccache}"))
        .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
        .output()
        .unwrap()
}

/// The DACL in SDDL text (smbcacls prints `path: SDDL` or the SDDL alone).
fn dacl_of(text: &str) -> (Acl, bool) {
    let line = text.lines().rev().find(|l| l.contains("D:")).unwrap_or("");
    let sd = &line[line.find("O:").or_else(|| line.find("D:")).unwrap()..];
    let sd = sddl::parse(sd.trim()).unwrap_or_else(|e| panic!("{sd}: {e}"));
    (sd.dacl.clone().unwrap(), sd.dacl_protected())
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn acls_round_trip_with_samba_smbcacls() {
    let l = Lab::new("acl-smbcacls");
    let cc = l.ccache();
    let dc = l.env["AZKRB_LAB_ADDC_SMB"].clone();
    let realm = &l.env["AZKRB_LAB_ADDC_REALM"];
    login(
        &l,
        &cc,
        &dc,
        &format!("alice@{realm}"),
        &l.env["AZKRB_LAB_ADDC_PASSWORD"],
    );
    let kinit = common::fed(
        Command::new("kinit")
            .args(["-c", &format!("FILE:{}-mit", cc), &format!("alice@{realm}")])
            .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"]),
        format!("{}\n", l.env["AZKRB_LAB_ADDC_PASSWORD"]).as_bytes(),
    );
    ok(kinit, "kinit");
    let mit_cc = format!("{cc}-mit");
    let dir = format!("acl-{}", std::process::id());
    let unc = |p: &str| format!("//{}/share/{dir}{p}", l.env["AZKRB_LAB_ADDC_HOST"]);
    ok(run(&l, &cc, &dc, &["mkdir", &unc("")]), "mkdir");
    let local = l.dir.join("f.txt");
    std::fs::write(&local, b"acl\n").unwrap();
    ok(
        run(
            &l,
            &cc,
            &dc,
            &["put", local.to_str().unwrap(), &unc("/f.txt")],
        ),
        "put",
    );
    let owner = {
        let json = ok(
            run(&l, &cc, &dc, &["acl", "get", "--json", &unc("/f.txt")]),
            "acl get",
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["owner"].as_str().unwrap().to_string()
    };

    // What mount-share sets, smbcacls reads back the same.
    let ours = format!(
        "D:P(D;;0x116;;;S-1-5-21-1-2-3-1105)(A;;FA;;;{owner})(A;;0x1301bf;;;AU)(A;;0x1200a9;;;WD)"
    );
    ok(
        run(
            &l,
            &cc,
            &dc,
            &["acl", "set", "--sddl", &ours, &unc("/f.txt")],
        ),
        "acl set --sddl",
    );
    let theirs = ok(
        smbcacls(&l, &mit_cc, &format!("{dir}/f.txt"), &[]),
        "smbcacls",
    );
    let (acl, protected) = dacl_of(&theirs);
    let (want, _) = dacl_of(&ours);
    assert_eq!(acl, want, "{theirs}");
    assert!(protected, "{theirs}");
    // And an icacls-style grant on top: Everyone's entry replaced, canonical order kept.
    ok(
        run(
            &l,
            &cc,
            &dc,
            &["acl", "set", "--grant", "Everyone:(R)", &unc("/f.txt")],
        ),
        "acl set --grant",
    );
    let theirs = ok(
        smbcacls(&l, &mit_cc, &format!("{dir}/f.txt"), &[]),
        "smbcacls",
    );
    let (acl, _) = dacl_of(&theirs);
    let everyone: Vec<_> = acl
        .aces
        .iter()
        .filter(|a| a.sid().is_some_and(|s| s.to_string() == "S-1-1-0"))
        .collect();
    assert_eq!(everyone.len(), 1, "{theirs}");
    // icacls /grant adds: R within Everyone's RX leaves RX.
    assert_eq!(everyone[0].mask(), Some(azkrb::acl::rights::READ_EXECUTE));
    assert!(acl.is_canonical() && acl.aces[0].is_deny(), "{theirs}");
    // /grant:r replaces.
    ok(
        run(
            &l,
            &cc,
            &dc,
            &[
                "acl",
                "set",
                "--grant-replace",
                "Everyone:R",
                &unc("/f.txt"),
            ],
        ),
        "acl set --grant-replace",
    );
    // Checked against smbcacls's own numbers (no SDDL on either side): every entry the same
    // type, flags, mask and SID as mount-share's JSON says.
    let numeric = ok(
        smbcacls(&l, &mit_cc, &format!("{dir}/f.txt"), &["--numeric"]),
        "smbcacls --numeric",
    );
    let theirs: Vec<(String, u64, u64, u64)> = numeric
        .lines()
        .filter_map(|l| l.strip_prefix("ACL:"))
        .map(|l| {
            let (sid, rest) = l.rsplit_once(':').unwrap();
            let v: Vec<u64> = rest
                .split('/')
                .map(|x| {
                    u64::from_str_radix(
                        x.trim_start_matches("0x"),
                        if x.starts_with("0x") { 16 } else { 10 },
                    )
                    .unwrap()
                })
                .collect();
            (sid.to_string(), v[0], v[1], v[2])
        })
        .collect();
    let json = ok(
        run(&l, &cc, &dc, &["acl", "get", "--json", &unc("/f.txt")]),
        "acl get --json",
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let ours: Vec<(String, u64, u64, u64)> = v["dacl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let t = if a["type"] == "deny" { 1 } else { 0 };
            (
                a["sid"].as_str().unwrap().to_string(),
                t,
                a["flags"].as_u64().unwrap(),
                a["mask"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ours, theirs, "{numeric}");
    assert!(
        ours.contains(&("S-1-1-0".into(), 0, 0, u64::from(azkrb::acl::rights::READ)))
            && ours.contains(&(
                "S-1-5-11".into(),
                0,
                0,
                u64::from(azkrb::acl::rights::MODIFY)
            )),
        "{numeric}"
    );

    // What smbcacls sets, mount-share reads the same as smbcacls reads it back (Samba puts
    // the entries in canonical order; its SDDL takes FA for 0x1ff, so masks are numbers).
    let set = format!(
        "D:(A;OICI;0x1f01ff;;;{owner})(A;OICI;0x1200a9;;;S-1-5-32-545)(D;OICIIO;0x10000;;;WD)"
    );
    ok(smbcacls(&l, &mit_cc, &dir, &["-S", &set]), "smbcacls -S");
    let theirs = ok(smbcacls(&l, &mit_cc, &dir, &[]), "smbcacls");
    let ours = ok(
        run(&l, &cc, &dc, &["acl", "get", "--sddl", &unc("")]),
        "acl get --sddl",
    );
    assert_eq!(dacl_of(&ours), dacl_of(&theirs), "{ours}\n{theirs}");
    // The entries given, in the order Samba keeps them (deny first).
    let (got, given) = (dacl_of(&ours).0, dacl_of(&set).0);
    assert!(
        got.aces[0].is_deny() && got.aces.len() == given.aces.len(),
        "{ours}"
    );
    assert!(given.aces.iter().all(|a| got.aces.contains(a)), "{ours}");
    let text = ok(run(&l, &cc, &dc, &["acl", "get", &unc("")]), "acl get");
    assert!(text.contains(r"BUILTIN\Users:(OI)(CI)(RX)"), "{text}");
    assert!(text.contains("Everyone:(OI)(CI)(IO)(DENY)(D)"), "{text}");

    ok(run(&l, &cc, &dc, &["rm", &unc("/f.txt")]), "rm");
    ok(run(&l, &cc, &dc, &["rmdir", &unc("")]), "rmdir");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn a_deny_entry_denies_and_a_recursive_grant_reaches_every_child() {
    let l = Lab::new("acl-deny");
    let smb = format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]);
    let alice = l.ccache();
    let bob = format!("{alice}-bob");
    login(
        &l,
        &alice,
        &smb,
        &format!("alice@{}", l.env["AZKRB_LAB_REALM"]),
        &l.env["AZKRB_LAB_PASSWORD"],
    );
    login(
        &l,
        &bob,
        &smb,
        &format!("bob@{}", l.env["AZKRB_LAB_ADDS_REALM"]),
        &l.env["AZKRB_LAB_ADDS_PASSWORD"],
    );
    let dir = format!("acl-{}", std::process::id());
    let unc = |p: &str| l.unc(&format!("{dir}{p}"));
    let local = l.dir.join("f.txt");
    std::fs::write(&local, b"secret\n").unwrap();
    // bob's SID: the owner of a file he makes.
    ok(
        run(
            &l,
            &bob,
            &smb,
            &[
                "put",
                local.to_str().unwrap(),
                &l.unc(&format!("{dir}-bob.txt")),
            ],
        ),
        "put (bob)",
    );
    let json = ok(
        run(
            &l,
            &bob,
            &smb,
            &["acl", "get", "--json", &l.unc(&format!("{dir}-bob.txt"))],
        ),
        "acl get",
    );
    let bob_sid = serde_json::from_str::<serde_json::Value>(&json).unwrap()["owner"]
        .as_str()
        .unwrap()
        .to_string();

    ok(run(&l, &alice, &smb, &["mkdir", &unc("")]), "mkdir");
    ok(run(&l, &alice, &smb, &["mkdir", &unc("/sub")]), "mkdir sub");
    for f in ["/a.txt", "/sub/b.txt"] {
        ok(
            run(&l, &alice, &smb, &["put", local.to_str().unwrap(), &unc(f)]),
            "put",
        );
    }
    // bob reads a.txt; after a deny entry for him, he cannot.
    ok(run(&l, &bob, &smb, &["cat", &unc("/a.txt")]), "cat before");
    ok(
        run(
            &l,
            &alice,
            &smb,
            &[
                "acl",
                "set",
                "--deny",
                &format!("{bob_sid}:(R)"),
                &unc("/a.txt"),
            ],
        ),
        "acl set --deny",
    );
    let denied = run(&l, &bob, &smb, &["cat", &unc("/a.txt")]);
    assert!(!denied.status.success());
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("access denied"),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );

    // -r on a file is refused before anything is written.
    let file_r = run(
        &l,
        &alice,
        &smb,
        &["acl", "set", "-r", "--grant", "Everyone:R", &unc("/a.txt")],
    );
    assert_eq!(file_r.status.code(), Some(2));
    // A recursive grant: every child gets an inherited copy as Windows makes it.
    let out = ok(
        run(
            &l,
            &alice,
            &smb,
            &[
                "acl",
                "set",
                "-r",
                "--grant",
                &format!("{bob_sid}:(OI)(CI)(M)"),
                &unc(""),
            ],
        ),
        "acl set -r",
    );
    drop(out);
    let bob_entries = |p: &str| -> Vec<(u8, Option<u32>, bool)> {
        let json = ok(
            run(&l, &alice, &smb, &["acl", "get", "--json", &unc(p)]),
            "acl get",
        );
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["dacl"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["sid"] == bob_sid.as_str())
            .map(|a| {
                (
                    a["flags"].as_u64().unwrap() as u8,
                    a["mask"].as_u64().map(|m| m as u32),
                    a["type"] == "deny",
                )
            })
            .collect()
    };
    let m = Some(azkrb::acl::rights::MODIFY);
    use azkrb::acl::acl::flags::{CONTAINER_INHERIT as CI, INHERITED as ID, OBJECT_INHERIT as OI};
    assert_eq!(bob_entries(""), vec![(OI | CI, m, false)]);
    assert_eq!(bob_entries("/sub"), vec![(OI | CI | ID, m, false)]);
    assert_eq!(bob_entries("/sub/b.txt"), vec![(ID, m, false)]);
    // a.txt keeps its own deny, first, and gains the inherited grant.
    assert_eq!(
        bob_entries("/a.txt"),
        vec![(0, Some(azkrb::acl::rights::READ), true), (ID, m, false)]
    );
    let denied = run(&l, &bob, &smb, &["cat", &unc("/a.txt")]);
    assert!(!denied.status.success(), "the explicit deny comes first");
    ok(
        run(&l, &bob, &smb, &["cat", &unc("/sub/b.txt")]),
        "cat b.txt (granted)",
    );
    // icacls /reset: a.txt keeps only what d passes down; bob reads it again.
    ok(
        run(&l, &alice, &smb, &["acl", "set", "--reset", &unc("/a.txt")]),
        "acl set --reset",
    );
    assert_eq!(bob_entries("/a.txt"), vec![(ID, m, false)]);
    ok(
        run(&l, &bob, &smb, &["cat", &unc("/a.txt")]),
        "cat after reset",
    );
    // The SACL is asked for only with --sacl, and a user without the right to it is told.
    let sacl = run(&l, &alice, &smb, &["acl", "get", "--sacl", &unc("/a.txt")]);
    assert_eq!(sacl.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&sacl.stderr).contains("privilege"));

    for f in ["/sub/b.txt", "/a.txt"] {
        ok(run(&l, &alice, &smb, &["rm", &unc(f)]), "rm");
    }
    ok(run(&l, &alice, &smb, &["rmdir", &unc("/sub")]), "rmdir");
    ok(run(&l, &alice, &smb, &["rmdir", &unc("")]), "rmdir");
    ok(
        run(&l, &bob, &smb, &["rm", &l.unc(&format!("{dir}-bob.txt"))]),
        "rm (bob)",
    );
}

/// `acl get --sddl` of `name` on the lab's share, with this test's cache.
fn sddl_of(l: &Lab, smb: &str, name: &str) -> String {
    ok(
        run(l, &l.ccache(), smb, &["acl", "get", "--sddl", &l.unc(name)]),
        "acl get",
    )
}

/// `system.cifs_acl` of `path` through Python's os.getxattr (the kernel's call, on the mount).
fn getxattr(path: &std::path::Path) -> Output {
    Command::new("python3")
        .args([
            "-c",
            "import os, sys; sys.stdout.buffer.write(os.getxattr(sys.argv[1], 'system.cifs_acl')); \
             print(os.listxattr(sys.argv[1]), file=sys.stderr)",
        ])
        .arg(path)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn the_fuse_mount_shows_and_takes_the_descriptor_as_system_cifs_acl() {
    use common::mount::{sigterm, start_mount, wait_exit};
    let l = Lab::new("acl-xattr");
    l.login();
    let smb = format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]);
    let name = format!("xattr-{}.txt", std::process::id());
    l.ok(&["put", "-", &l.unc(&name)], b"acl");
    let mp = l.dir.join("mnt");
    let mut m = start_mount(&l, &mp);
    let file = mp.join(&name);

    // What the mount shows is the server's descriptor, as mount-share reads it.
    let out = getxattr(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("system.cifs_acl"));
    let shown = azkrb::acl::SecurityDescriptor::from_bytes(&out.stdout).unwrap();
    let text = sddl_of(&l, &smb, &name);
    assert_eq!(shown, sddl::parse(text.trim()).unwrap());

    // A descriptor written there is the server's.
    // (Owner and group kept in it, as setcifsacl writes a whole descriptor back: the name
    // system.cifs_acl writes the DACL alone.)
    let mut new = shown.clone();
    azkrb::acl::inherit::apply(
        &mut new,
        &azkrb::acl::inherit::Edit::Deny(azkrb::acl::Ace::deny(
            "S-1-5-21-1-2-3-1105".parse().unwrap(),
            azkrb::acl::rights::WRITE,
            0,
        )),
    );
    let bytes = new.to_bytes().unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let set = Command::new("python3")
        .args([
            "-c",
            "import os, sys; os.setxattr(sys.argv[1], 'system.cifs_acl', bytes.fromhex(sys.argv[2]))",
        ])
        .arg(&file)
        .arg(&hex)
        .output()
        .unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let text = sddl_of(&l, &smb, &name);
    let after = sddl::parse(text.trim()).unwrap();
    assert_eq!(after.dacl, new.dacl, "{text}");
    assert_eq!(
        (after.owner, after.group),
        (shown.owner.clone(), shown.group.clone())
    );
    // Bytes that are no descriptor are refused before they reach the server.
    let bad = Command::new("python3")
        .args([
            "-c",
            "import os, sys; os.setxattr(sys.argv[1], 'system.cifs_acl', b'nonsense')",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&bad.stderr).contains("Invalid argument"));

    sigterm(&m);
    let (status, stderr) = wait_exit(m.take());
    assert!(status.success(), "{stderr}");
    l.ok(&["rm", &l.unc(&name)], b"");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn whoami_reads_what_the_kdc_says_through_a_user_to_user_ticket() {
    let l = Lab::new("whoami");
    l.login();
    // MIT's KDC issues the user-to-user ticket (opened with the TGT's session key); its PAC
    // carries no logon information: said so.
    let out = l.ok(&["whoami"], b"");
    assert!(
        out.contains(&format!("Principal: alice@{}", l.env["AZKRB_LAB_REALM"]))
            && out.contains("holds no logon information"),
        "{out}"
    );
    let json = l.ok(&["whoami", "--json"], b"");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["logon_info"], false);
    assert_eq!(
        v["principal"],
        format!("alice@{}", l.env["AZKRB_LAB_REALM"])
    );
    // Samba 4.17's AD DC gives no user-to-user ticket to a user: a clear error, no panic.
    let cc = format!("{}-dc", l.ccache());
    let dc = l.env["AZKRB_LAB_ADDC_SMB"].clone();
    login(
        &l,
        &cc,
        &dc,
        &format!("alice@{}", l.env["AZKRB_LAB_ADDC_REALM"]),
        &l.env["AZKRB_LAB_ADDC_PASSWORD"],
    );
    let out = run(&l, &cc, &dc, &["whoami"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user-to-user ticket"));
}
