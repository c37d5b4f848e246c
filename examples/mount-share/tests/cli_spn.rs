//! A private endpoint's name: `<account>.privatelink.file.core.windows.net` asks for the
//! canonical `cifs/<account>.file.core.windows.net` first and for its own SPN when the KDC
//! knows only that one; `--spn-host` names the SPN outright; when none is known, the error
//! lists what was tried; `diagnose` says which one worked.

mod common;

use common::Lab;

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn a_private_endpoint_name_finds_its_spn_both_ways() {
    let l = Lab::new("spn");
    l.login();
    let realm = &l.env["AZKRB_LAB_REALM"];
    let klist = || l.ok(&["klist"], b"");

    // The account registered the canonical SPN only (the lab's acct): that one is used.
    l.ok(
        &["ls", "//acct.privatelink.file.core.windows.net/share/"],
        b"",
    );
    let listed = klist();
    assert!(
        listed.contains(&format!("cifs/acct.file.core.windows.net@{realm}")),
        "{listed}"
    );
    assert!(!listed.contains("cifs/acct.privatelink"), "{listed}");

    // Another registered the privatelink SPN only: the canonical one is asked first, unknown,
    // then its own.
    let pe = &l.env["AZKRB_LAB_PE_HOST"];
    let kdc_log = format!("{}/log/kdc.log", l.env["AZKRB_LAB_DIR"]);
    let before = std::fs::read_to_string(&kdc_log).unwrap().len();
    l.ok(&["ls", &format!("//{pe}/share/")], b"");
    assert!(klist().contains(&format!("cifs/{pe}@{realm}")));
    let log = std::fs::read_to_string(&kdc_log).unwrap();
    let canonical = pe.replace(".privatelink", "");
    assert!(
        log[before..].contains(&format!("cifs/{canonical}@{realm}, Server not found")),
        "{}",
        &log[before..]
    );
    let d = l.ok(&["diagnose", &format!("//{pe}/share")], b"");
    assert!(d.contains("the private endpoint's own SPN"), "{d}");

    // Neither known: both are named, and what to register.
    let out = l.run(
        &["ls", "//nope.privatelink.file.core.windows.net/share/"],
        b"",
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cifs/nope.file.core.windows.net")
            && err.contains("cifs/nope.privatelink.file.core.windows.net")
            && err.contains("register"),
        "{err}"
    );

    // A custom DNS name with --spn-host.
    let out = l.run(
        &[
            "--spn-host",
            "acct.file.core.windows.net",
            "ls",
            "//files.contoso.test/share/",
        ],
        b"",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
