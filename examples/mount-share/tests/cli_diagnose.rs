//! mount-share diagnose against the lab: every check passing, what is wrong named with the
//! fix, and the CNAME chain of a private endpoint from the lab's DNS.

mod common;

use std::process::Command;

use common::Lab;

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
