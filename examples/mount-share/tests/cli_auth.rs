//! mount-share's login, klist and ticket against the lab (MIT KDC behind the kdcproxy KKDCP
//! service, Samba requiring SMB 3.1.1 encryption): password, UPN and `tgt_cloud` logins, the
//! ccache read by MIT's klist and smbclient, service tickets kept in it and used from it, and
//! Kerberos errors from a moved clock.

mod common;

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

use azkrb_test_support::tgt_cloud;
use common::Lab;

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
    let cc = azkrb::cloudtgt::ccache::Ccache::load(&l.ccache()).unwrap();
    let cifs = cc.credentials().into_iter().find(|c| !c.is_tgt()).unwrap();
    let mut only = azkrb::cloudtgt::ccache::Ccache::new(cifs.client.clone());
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
    // The offset is measured in whole seconds on both sides: 600 s, give or take one.
    let ten_minutes = |said: &str| {
        let offset = said
            .split("clock is ")
            .nth(1)
            .and_then(|rest| rest.split('s').next())
            .and_then(|n| n.parse::<i64>().ok());
        said.contains("clock skew") && offset.is_some_and(|o| (599..=601).contains(&o.abs()))
    };
    let (code, said) = faked("+10 minutes", &["ls", &share], b"");
    assert_eq!(code, Some(3), "{said}");
    assert!(ten_minutes(&said), "{said}");
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
    assert!(ten_minutes(&said), "{said}");
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

/// A service ticket fetched by one command is stored in the credential cache beside the TGT
/// (as MIT's tools do), and the next command uses it: no KDC exchange, so it reaches the
/// share with the KDC proxy gone. A bare name logs in in the default realm, as kinit does.
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn service_tickets_are_kept_in_the_ccache_and_used_from_it() {
    let l = Lab::new("ccache-tickets");
    let pw = format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]);
    l.ok(
        &["login", "--password-stdin", &l.env["AZKRB_LAB_USER"]],
        pw.as_bytes(),
    );
    let klist = || {
        let out = Command::new("klist")
            .args(["-c", &format!("FILE:{}", l.ccache())])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let service = format!(
        "cifs/{}@{}",
        l.env["AZKRB_LAB_HOST"], l.env["AZKRB_LAB_REALM"]
    );
    assert!(!klist().contains(&service));
    l.ok(&["ls", &l.unc("")], b"");
    assert!(klist().contains(&service), "{}", klist());
    // Nothing listens on port 9: a KDC exchange would fail.
    let out = l
        .command()
        .args([
            "--kdc-proxy",
            "https://127.0.0.1:9/kerberos",
            "ls",
            &l.unc(""),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Against the lab's Samba AD DC (a strict, Microsoft-like KDC): a password login, an
/// enterprise-name login, and a service ticket stored where MIT's tools take it, which the
/// service's own key opens.
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn login_and_ticket_against_an_ad_dc() {
    let l = Lab::new("addc");
    let realm = &l.env["AZKRB_LAB_ADDC_REALM"];
    let host = &l.env["AZKRB_LAB_ADDC_HOST"];
    let password = format!("{}\n", l.env["AZKRB_LAB_ADDC_PASSWORD"]);
    let said = |args: &[&str]| {
        let out = l.run(args, password.as_bytes());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        text
    };
    let out = said(&[
        "login",
        "--password-stdin",
        &l.env["AZKRB_LAB_ADDC_UPN"],
        "--realm",
        realm,
    ]);
    assert!(out.contains(&format!("alice@{realm}")), "{out}");
    let out = said(&["login", "--password-stdin", &format!("alice@{realm}")]);
    assert!(out.contains(&format!("alice@{realm}")), "{out}");
    let out = said(&["ticket", &format!("//{host}/share")]);
    assert!(out.contains(&format!("cifs/{host}@{realm}")), "{out}");
    // MIT kvno finds it in the cache (no KDC asked) and checks it with the service key.
    let kvno = Command::new("kvno")
        .args([
            "-k",
            &l.env["AZKRB_LAB_ADDC_KEYTAB"],
            &format!("cifs/{host}@{realm}"),
        ])
        .env("KRB5CCNAME", format!("FILE:{}", l.ccache()))
        .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF_DIRECT"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&kvno.stdout);
    assert!(
        kvno.status.success() && said.contains("keytab entry valid"),
        "{said}{}",
        String::from_utf8_lossy(&kvno.stderr)
    );
}

/// krb5.conf's `default_ccache_name` (as Fedora and RHEL set one) names the cache when
/// neither `--ccache` nor `KRB5CCNAME` does, with `%{uid}` expanded; a `DIR:` collection is
/// read and written as MIT's tools keep it: `klist` sees mount-share's login, mount-share
/// uses what `kinit` put there.
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn default_ccache_name_and_dir_collections_as_mit_keeps_them() {
    let l = Lab::new("dircc");
    let conf = l.dir.join("krb5.conf");
    let lab_conf = std::fs::read_to_string(&l.env["AZKRB_LAB_KRB5_CONF"]).unwrap();
    let collection = l.dir.join("cc-%{uid}");
    std::fs::write(
        &conf,
        lab_conf.replacen(
            "[libdefaults]\n",
            &format!(
                "[libdefaults]\n default_ccache_name = DIR:{}\n",
                collection.display()
            ),
            1,
        ),
    )
    .unwrap();
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    let expanded = l.dir.join(format!("cc-{uid}"));
    let address = format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]);
    let bare = || {
        let mut c = l.command_with(&address, None);
        c.env("KRB5_CONFIG", &conf);
        c
    };
    let mit = |tool: &str| {
        let mut c = Command::new(tool);
        c.env("KRB5_CONFIG", &conf).env_remove("KRB5CCNAME");
        c
    };
    let user = format!("alice@{}", l.env["AZKRB_LAB_REALM"]);
    let out = common::fed(
        bare().args(["login", "--password-stdin", &user]),
        format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]).as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(expanded.join("primary")).unwrap(),
        "tkt\n"
    );
    let klist = mit("klist").output().unwrap();
    let listed = String::from_utf8_lossy(&klist.stdout);
    assert!(
        listed.contains(&format!("DIR::{}/tkt", expanded.display()))
            && listed.contains(&format!("Default principal: {user}")),
        "{listed}"
    );

    // MIT kinit replaces the primary cache; mount-share reads it from there.
    let kinit = common::fed(
        mit("kinit").arg(&user),
        format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]).as_bytes(),
    );
    assert!(
        kinit.status.success(),
        "{}",
        String::from_utf8_lossy(&kinit.stderr)
    );
    let unc = l.unc("");
    let out = bare()
        .args(["ticket", unc.trim_end_matches('/')])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let klist = mit("klist").output().unwrap();
    assert!(
        String::from_utf8_lossy(&klist.stdout)
            .contains(&format!("cifs/{}", l.env["AZKRB_LAB_HOST"])),
        "the service ticket was not stored in the collection's primary cache"
    );
}

/// `login -r` asks for a renewable TGT and `renew` renews it in the cache (still renewable,
/// as often as its limit allows), at MIT's KDC and the AD DC; MIT's `kinit -R` renews what
/// mount-share wrote, and mount-share what kinit renewed; a TGT not asked renewable is
/// refused with the reason and exit code 3.
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn login_renewable_and_renew_interoperate_with_kinit() {
    let l = Lab::new("renew");
    for (user, password) in [
        (
            format!("alice@{}", l.env["AZKRB_LAB_REALM"]),
            &l.env["AZKRB_LAB_PASSWORD"],
        ),
        (
            format!("alice@{}", l.env["AZKRB_LAB_ADDC_REALM"]),
            &l.env["AZKRB_LAB_ADDC_PASSWORD"],
        ),
    ] {
        let out = l.run(
            &["login", "-r", "2d", "--password-stdin", &user],
            format!("{password}\n").as_bytes(),
        );
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.contains("renewable until"),
            "{said}"
        );
        for _ in 0..2 {
            let out = l.run(&["renew"], b"");
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && said.contains("renewable until"),
                "{said}"
            );
        }
        let kinit = Command::new("kinit")
            .arg("-R")
            .env("KRB5CCNAME", format!("FILE:{}", l.ccache()))
            .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF_DIRECT"])
            .output()
            .unwrap();
        assert!(
            kinit.status.success(),
            "{user}: {}",
            String::from_utf8_lossy(&kinit.stderr)
        );
        let out = l.run(&["renew"], b"");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    l.login();
    let out = l.run(&["renew"], b"");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{said}");
    assert!(
        said.contains("cannot be renewed") && said.contains("login -r"),
        "{said}"
    );
}

/// A hybrid user's two logins into one `DIR:` collection keep a cache each (as kinit
/// does; MIT's klist -A lists both), and every command takes, for each host, the TGT of the
/// realm that serves it: the Entra share and the AD DS share, with no trust between them.
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn a_hybrid_user_logs_in_twice_and_reaches_both_kinds_of_share() {
    let l = Lab::new("hybrid");
    let collection = format!("DIR:{}", l.dir.join("cc").display());
    let address = format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]);
    let run = |args: &[&str], stdin: &[u8]| {
        common::fed(
            l.command_with(&address, Some(&collection)).args(args),
            stdin,
        )
    };
    for (realm, password) in [
        (&l.env["AZKRB_LAB_REALM"], &l.env["AZKRB_LAB_PASSWORD"]),
        (
            &l.env["AZKRB_LAB_ADDS_REALM"],
            &l.env["AZKRB_LAB_ADDS_ALICE_PASSWORD"],
        ),
    ] {
        let out = run(
            &["login", "--password-stdin", &format!("alice@{realm}")],
            format!("{password}\n").as_bytes(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let klist = Command::new("klist")
        .args(["-A"])
        .env("KRB5CCNAME", &collection)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&klist.stdout);
    for realm in [&l.env["AZKRB_LAB_REALM"], &l.env["AZKRB_LAB_ADDS_REALM"]] {
        assert!(
            listed.contains(&format!("Default principal: alice@{realm}")),
            "{listed}"
        );
    }
    for host in [&l.env["AZKRB_LAB_HOST"], &l.env["AZKRB_LAB_ADDS_HOST"]] {
        let share = format!("//{host}/{}", l.env["AZKRB_LAB_SHARE"]);
        let out = run(&["ls", &format!("{share}/")], b"");
        assert!(
            out.status.success(),
            "{host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = run(&["ticket", &share], b"");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Each ticket was made with its own realm's TGT (no referral: there is no trust from
    // Entra to AD DS, and the AD DS TGT, the primary, would have reached the Entra host
    // across the cloud trust), and is kept in that TGT's cache.
    let klist = Command::new("klist")
        .args(["-A"])
        .env("KRB5CCNAME", &collection)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&klist.stdout).into_owned();
    let caches: Vec<&str> = listed.split("Ticket cache:").skip(1).collect();
    for (realm, host) in [
        (&l.env["AZKRB_LAB_REALM"], &l.env["AZKRB_LAB_HOST"]),
        (
            &l.env["AZKRB_LAB_ADDS_REALM"],
            &l.env["AZKRB_LAB_ADDS_HOST"],
        ),
    ] {
        let cache = caches
            .iter()
            .find(|c| c.contains(&format!("Default principal: alice@{realm}")))
            .expect("a cache per principal");
        assert!(cache.contains(&format!("cifs/{host}@{realm}")), "{listed}");
    }
}
