//! mount-share's settings against the lab: the config file under environment variables
//! and flags, --kdc-proxy without a krb5.conf, --tenant's route to Entra, a Fedora/RHEL
//! krb5.conf that includes the lab's realms, and the remaining options (--ca-file, a kept
//! TGT, mv --force, -vv without secrets).

mod common;

use std::process::Command;

use common::{Lab, fed};

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
fn a_fedora_krb5_conf_that_includes_the_realms_logs_in_and_reaches_the_share() {
    let l = Lab::new("fedora-conf");
    // Fedora 40's /etc/krb5.conf (RHEL 9's is the same but for comments), its includedir
    // holding what Fedora puts there and a file with the lab's realms.
    let d = l.dir.join("krb5.conf.d");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("crypto-policies"),
        "[libdefaults]\npermitted_enctypes = aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96\n",
    )
    .unwrap();
    std::fs::write(
        d.join("kcm_default_ccache"),
        "[libdefaults]\n    default_ccache_name = KCM:\n",
    )
    .unwrap();
    std::fs::copy(&l.env["AZKRB_LAB_KRB5_CONF"], d.join("lab.conf")).unwrap();
    let conf = l.dir.join("krb5.conf");
    std::fs::write(
        &conf,
        format!(
            "# To opt out of the system crypto-policies configuration of krb5, remove the\n\
             # symlink at /etc/krb5.conf.d/crypto-policies which will not be recreated.\n\
             includedir {}/\n\n\
             [logging]\n    default = FILE:/var/log/krb5libs.log\n\n\
             [libdefaults]\n    dns_lookup_realm = false\n    ticket_lifetime = 24h\n    \
             renew_lifetime = 7d\n    forwardable = true\n    rdns = false\n    \
             pkinit_anchors = FILE:/etc/pki/tls/certs/ca-bundle.crt\n    \
             spake_preauth_groups = edwards25519\n    dns_canonicalize_hostname = fallback\n    \
             qualify_shortname = \"\"\n    default_ccache_name = KEYRING:persistent:%{{uid}}\n\
             # default_realm = EXAMPLE.COM\n\n[realms]\n# EXAMPLE.COM = {{\n# }}\n\n\
             [domain_realm]\n# .example.com = EXAMPLE.COM\n",
            d.display()
        ),
    )
    .unwrap();
    // The lab's settings, but this krb5.conf.
    let ok = |args: &[&str], stdin: &[u8]| {
        let out = fed(l.command().env("KRB5_CONFIG", &conf).args(args), stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let pw = format!("{}\n", l.env["AZKRB_LAB_PASSWORD"]);
    let realm = &l.env["AZKRB_LAB_REALM"];
    ok(
        &["login", "--password-stdin", "alice", "--realm", realm],
        pw.as_bytes(),
    );
    ok(&["ls", &l.unc("")], b"");
}
