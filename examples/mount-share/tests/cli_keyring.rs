//! `KEYRING:` credential caches, kept in the kernel's keyrings as MIT's library keeps them
//! (RHEL 7's default was `KEYRING:persistent:%{uid}`): what mount-share stores, MIT's
//! `klist` lists and `kvno` uses; what `kinit` stores, mount-share uses; a collection holds
//! a hybrid user's two TGTs, each used for its own shares.

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};

use common::Lab;

fn mit(l: &Lab, tool: &str, ccache: &str) -> Command {
    let mut c = Command::new(tool);
    c.env("KRB5CCNAME", ccache)
        .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"]);
    c
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// mount-share on `ccache`, reaching the SMB server at `address`.
fn run(l: &Lab, ccache: &str, address: &str, args: &[&str], stdin: &[u8]) -> Output {
    common::fed(l.command_with(address, Some(ccache)).args(args), stdin)
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn keyring_caches_are_shared_with_mit_tools() {
    let l = Lab::new("keyring");
    let pid = std::process::id();
    let uid = std::fs::metadata("/proc/self").unwrap().uid();
    let smb = format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]);
    let realm = &l.env["AZKRB_LAB_REALM"];
    let user = format!("alice@{realm}");
    let password = format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]);
    let host = &l.env["AZKRB_LAB_HOST"];
    let share = format!("//{host}/{}/", l.env["AZKRB_LAB_SHARE"]);
    // The persistent keyring is the user's own: a cache of its collection named here, so
    // its primary is left alone.
    for name in [
        format!("KEYRING:persistent:{uid}:azkrb_test_{pid}"),
        format!("KEYRING:user:azkrb_test_{pid}"),
        format!("KEYRING:session:azkrb_test_{pid}"),
    ] {
        ok(
            run(
                &l,
                &name,
                &smb,
                &["login", "--password-stdin", &user],
                password.as_bytes(),
            ),
            "login",
        );
        let listed = ok(mit(&l, "klist", &name).output().unwrap(), "klist");
        assert!(
            listed.contains(&format!("Default principal: {user}"))
                && listed.contains(&format!("krbtgt/{realm}@{realm}")),
            "{name}: {listed}"
        );
        // Our service ticket goes beside it; MIT's kvno uses our TGT and adds its own.
        ok(run(&l, &name, &smb, &["ticket", &share], b""), "ticket");
        let listed = ok(mit(&l, "klist", &name).output().unwrap(), "klist");
        assert!(
            listed.contains(&format!("cifs/{host}@{realm}")),
            "{name}: {listed}"
        );
        let short = format!("cifs/{}@{realm}", l.env["AZKRB_LAB_SHORT_HOST"]);
        ok(mit(&l, "kvno", &name).arg(&short).output().unwrap(), "kvno");
        let ours = ok(run(&l, &name, &smb, &["klist"], b""), "mount-share klist");
        assert!(ours.contains(&short), "{name}: {ours}");

        // kinit replaces it; mount-share reads files with that TGT.
        ok(
            common::fed(mit(&l, "kinit", &name).arg(&user), password.as_bytes()),
            "kinit",
        );
        ok(run(&l, &name, &smb, &["ls", &share], b""), "ls");
        ok(mit(&l, "kdestroy", &name).output().unwrap(), "kdestroy");
    }

    // krb5.conf's default_ccache_name naming a keyring, with %{uid}, as RHEL's does.
    let conf = l.dir.join("krb5.conf");
    let lab_conf = std::fs::read_to_string(&l.env["AZKRB_LAB_KRB5_CONF"]).unwrap();
    std::fs::write(
        &conf,
        lab_conf.replacen(
            "[libdefaults]",
            &format!(
                "[libdefaults]\n default_ccache_name = KEYRING:session:azkrb_default_{pid}_%{{uid}}"
            ),
            1,
        ),
    )
    .unwrap();
    let mut login = l.command_with(&smb, None);
    login
        .env("KRB5_CONFIG", &conf)
        .args(["login", "--password-stdin", &user]);
    ok(
        common::fed(&mut login, password.as_bytes()),
        "login (default)",
    );
    let name = format!("KEYRING:session:azkrb_default_{pid}_{uid}");
    let listed = ok(mit(&l, "klist", &name).output().unwrap(), "klist");
    assert!(
        listed.contains(&format!("Default principal: {user}")),
        "{listed}"
    );
    ok(mit(&l, "kdestroy", &name).output().unwrap(), "kdestroy");
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn a_keyring_collection_holds_a_hybrid_user_s_two_tgts() {
    let l = Lab::new("keyring-hybrid");
    let name = format!("KEYRING:user:azkrb_hybrid_{}", std::process::id());
    let smb = format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]);
    let dc_smb = l.env["AZKRB_LAB_ADDC_SMB"].clone();
    let entra = format!("alice@{}", l.env["AZKRB_LAB_REALM"]);
    let ad = format!("alice@{}", l.env["AZKRB_LAB_ADDC_REALM"]);
    for (user, password) in [
        (&entra, &l.env["AZKRB_LAB_PASSWORD"]),
        (&ad, &l.env["AZKRB_LAB_ADDC_PASSWORD"]),
    ] {
        ok(
            run(
                &l,
                &name,
                &smb,
                &["login", "--password-stdin", user],
                format!("{password}\n").as_bytes(),
            ),
            "login",
        );
    }
    // Two caches in the collection, the last login's the primary, as kinit leaves them.
    let listed = ok(
        mit(&l, "klist", &name).arg("-A").output().unwrap(),
        "klist -A",
    );
    assert!(
        listed.contains(&format!("Default principal: {entra}"))
            && listed.contains(&format!("Default principal: {ad}")),
        "{listed}"
    );
    let primary = ok(mit(&l, "klist", &name).output().unwrap(), "klist");
    assert!(
        primary.contains(&format!("Default principal: {ad}")),
        "{primary}"
    );
    // Logging in again as the first finds its cache: still two, that one the primary.
    ok(
        run(
            &l,
            &name,
            &smb,
            &["login", "--password-stdin", &entra],
            format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]).as_bytes(),
        ),
        "login again",
    );
    let listed = ok(
        mit(&l, "klist", &name).arg("-A").output().unwrap(),
        "klist -A",
    );
    assert_eq!(listed.matches("Default principal:").count(), 2, "{listed}");
    let primary = ok(mit(&l, "klist", &name).output().unwrap(), "klist");
    assert!(
        primary.contains(&format!("Default principal: {entra}")),
        "{primary}"
    );
    // Each share with the TGT of its realm.
    let entra_share = format!(
        "//{}/{}/",
        l.env["AZKRB_LAB_HOST"], l.env["AZKRB_LAB_SHARE"]
    );
    let dc_share = format!("//{}/share/", l.env["AZKRB_LAB_ADDC_HOST"]);
    ok(
        run(&l, &name, &smb, &["ls", &entra_share], b""),
        "ls (Entra)",
    );
    ok(
        run(&l, &name, &dc_smb, &["ls", &dc_share], b""),
        "ls (AD DC)",
    );
    ok(
        mit(&l, "kdestroy", &name).arg("-A").output().unwrap(),
        "kdestroy -A",
    );
}
