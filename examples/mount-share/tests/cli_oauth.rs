//! mount-share with SMB OAuth, against the lab's stand-ins (IMDS, Entra's token endpoint,
//! the storage account's kerbticket endpoint): every file command on a managed identity, a
//! workload identity or a token from standard input; `login` storing the share's ticket in a
//! credential cache that MIT's klist lists and smbclient uses, as the kernel's mount would;
//! a refusal said as it is.

mod common;

use std::process::Command;

use common::Lab;

/// mount-share with the lab's stand-ins for Azure's endpoints.
fn oauth(l: &Lab) -> Command {
    let mut c = l.command();
    c.env("AZKRB_IMDS_ENDPOINT", &l.env["AZKRB_LAB_IMDS_URL"])
        .env(
            "AZKRB_KERBTICKET_ENDPOINT",
            format!("{}/{{host}}", l.env["AZKRB_LAB_OAUTH_URL"]),
        );
    c
}

/// A JWT signed with the lab's token-issuer key.
fn jwt(l: &Lab, claims: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import base64,hashlib,hmac,sys\n\
             b=lambda x: base64.urlsafe_b64encode(x).rstrip(b'=').decode()\n\
             k=open(sys.argv[1],'rb').read()\n\
             h=b(b'{\"alg\":\"HS256\",\"typ\":\"JWT\"}'); p=b(sys.argv[2].encode())\n\
             print(h+'.'+p+'.'+b(hmac.new(k,(h+'.'+p).encode(),hashlib.sha256).digest()))",
        ])
        .arg(&l.env["AZKRB_LAB_OAUTH_ISSUER_KEY"])
        .arg(claims)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn file_commands_and_login_with_smb_oauth() {
    let l = Lab::new("oauth");
    let name = format!("oauth-{}.txt", std::process::id());
    let local = l.dir.join("in.txt");
    std::fs::write(&local, b"over SMB OAuth\n").unwrap();

    // A user-assigned managed identity: put, ls, cat, rm; no credential cache at all.
    let mi = ["--managed-identity", "--client-id", "77777777-8888"];
    let run = |extra: &[&str]| oauth(&l).args(mi).args(extra).output().unwrap();
    ok(run(&["put", local.to_str().unwrap(), &l.unc(&name)]), "put");
    assert!(ok(run(&["ls", &l.unc("")]), "ls").contains(&name));
    assert_eq!(ok(run(&["cat", &l.unc(&name)]), "cat"), "over SMB OAuth\n");

    // A token from standard input.
    let exp = azkrb::asn1::KerberosTime::now().unix() + 3600;
    let token = jwt(
        &l,
        &format!(r#"{{"aud":"https://storage.azure.com","oid":"t","exp":{exp}}}"#),
    );
    let out = common::fed(
        oauth(&l).args(["--token-file", "-", "cat", &l.unc(&name)]),
        token.as_bytes(),
    );
    assert_eq!(ok(out, "cat (token)"), "over SMB OAuth\n");

    // A workload identity, from the environment as AKS's webhook sets it.
    let federated = l.dir.join("federated");
    std::fs::write(
        &federated,
        jwt(
            &l,
            &format!(r#"{{"aud":"api://AzureADTokenExchange","exp":{exp}}}"#),
        ),
    )
    .unwrap();
    let out = oauth(&l)
        .args(["--workload-identity", "cat", &l.unc(&name)])
        .env("AZURE_FEDERATED_TOKEN_FILE", &federated)
        .env("AZURE_CLIENT_ID", "99999999-0000")
        .env("AZURE_TENANT_ID", &l.env["AZKRB_LAB_TENANT"])
        .env("AZURE_AUTHORITY_HOST", &l.env["AZKRB_LAB_OAUTH_URL"])
        .output()
        .unwrap();
    assert_eq!(ok(out, "cat (workload)"), "over SMB OAuth\n");

    // login stores the share's ticket: MIT's klist lists it, smbclient uses it alone.
    let share = l.unc("");
    let share = share.trim_end_matches('/');
    let out = oauth(&l).args(mi).args(["login", share]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success() && said.contains("SMB OAuth"), "{said}");
    let listed = ok(
        Command::new("klist")
            .args(["-c", &l.ccache()])
            .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
            .output()
            .unwrap(),
        "klist",
    );
    assert!(
        listed.contains(&format!("cifs/{}", l.env["AZKRB_LAB_HOST"])),
        "{listed}"
    );
    let out = l.smbclient(&format!("get {name} {}", l.dir.join("back.txt").display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(l.dir.join("back.txt")).unwrap(),
        b"over SMB OAuth\n"
    );
    // Every file command uses the stored ticket alone (no TGT, no token source given), as
    // `ticket` does.
    assert!(l.ok(&["ls", &l.unc("")], b"").contains(&name));
    assert_eq!(l.ok(&["cat", &l.unc(&name)], b""), "over SMB OAuth\n");
    let copy = format!("copy-{name}");
    l.ok(&["put", local.to_str().unwrap(), &l.unc(&copy)], b"");
    l.ok(&["rm", &l.unc(&copy)], b"");
    l.ok(&["ticket", &l.unc("")], b"");

    // No role: exit 3 and the cause.
    let out = oauth(&l)
        .args([
            "--managed-identity",
            "--client-id",
            "norole",
            "ls",
            &l.unc(""),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SMB MI Admin"));
    ok(run(&["rm", &l.unc(&name)]), "rm");
}

/// smbclient on the short-ticket host with `ccache` alone (as the kernel's upcall would use
/// it): `command` must work.
fn smbclient_short(l: &Lab, ccache: &str, command: &str) {
    let out = l.smbclient_on(
        &l.env["AZKRB_LAB_SHORT_HOST"],
        ccache,
        &l.env["AZKRB_LAB_KRB5_CONF"],
        command,
    );
    assert!(
        out.status.success(),
        "smbclient {command}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `cifs/` line of MIT klist's listing of `ccache` and the line after it (its times).
fn mit_klist(l: &Lab, ccache: &str) -> String {
    ok(
        Command::new("klist")
            .args(["-c", ccache])
            .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
            .output()
            .unwrap(),
        "klist",
    )
}

/// `refresh` keeps a cache's tickets for kernel mounts current, both kinds: an SMB OAuth
/// ticket from the source `login` noted beside it (shown by `klist`), a Kerberos one with
/// the cache's TGT. The lab's short host's tickets live 45 s. MIT's klist lists the fresh
/// tickets and smbclient uses them; a token given once cannot be renewed and says so.
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn refresh_keeps_a_caches_tickets_current() {
    let l = Lab::new("oauth-refresh");
    let short = format!(
        "//{}/{}",
        l.env["AZKRB_LAB_SHORT_HOST"], l.env["AZKRB_LAB_SHARE"]
    );
    let mi = ["--managed-identity", "--client-id", "77777777-8888"];
    ok(
        oauth(&l).args(mi).args(["login", &short]).output().unwrap(),
        "login",
    );
    let listed = ok(oauth(&l).arg("klist").output().unwrap(), "klist");
    assert!(
        listed.contains("SMB OAuth: the managed identity client id 77777777-8888"),
        "{listed}"
    );
    let before = mit_klist(&l, &l.ccache());
    std::thread::sleep(std::time::Duration::from_secs(2));
    // One look: the ticket has under a minute left, so it is fetched again.
    let out = oauth(&l)
        .args(["refresh", "--once", "--before", "60s"])
        .output()
        .unwrap();
    let said = ok(out, "refresh --once");
    assert!(
        said.contains(&format!("renewed cifs/{}", l.env["AZKRB_LAB_SHORT_HOST"]))
            && said.contains("SMB OAuth: the managed identity client id 77777777-8888"),
        "{said}"
    );
    let after = mit_klist(&l, &l.ccache());
    assert_ne!(before, after, "MIT klist shows the same ticket");
    smbclient_short(&l, &l.ccache(), "ls");

    // As a daemon: a line per renewal, every ticket kept alive (here: every few seconds).
    let mut daemon = oauth(&l)
        .args(["refresh", "--before", "40s", "--every", "2s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(14));
    daemon.kill().unwrap();
    let out = daemon.wait_with_output().unwrap();
    let lines = String::from_utf8_lossy(&out.stdout);
    assert!(lines.matches("renewed cifs/").count() >= 2, "{lines}");
    smbclient_short(&l, &l.ccache(), "ls");

    // A Kerberos ticket, with the cache's TGT.
    let k = Lab::new("oauth-refresh-tgt");
    k.login();
    k.ok(&["ticket", &short], b"");
    std::thread::sleep(std::time::Duration::from_secs(2));
    let said = k.ok(&["refresh", "--once", "--before", "60s"], b"");
    assert!(
        said.contains(&format!("renewed cifs/{}", k.env["AZKRB_LAB_SHORT_HOST"]))
            && said.contains("with the TGT of alice@"),
        "{said}"
    );
    smbclient_short(&k, &k.ccache(), "ls");

    // A token given once: not renewable, and said so (exit 3).
    let g = Lab::new("oauth-refresh-given");
    let exp = azkrb::asn1::KerberosTime::now().unix() + 3600;
    let token = jwt(
        &g,
        &format!(r#"{{"aud":"https://storage.azure.com","oid":"t","exp":{exp}}}"#),
    );
    ok(
        common::fed(
            oauth(&g).args(["--token-file", "-", "login", &short]),
            token.as_bytes(),
        ),
        "login (token)",
    );
    let out = oauth(&g)
        .args(["refresh", "--once", "--before", "60s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("given once"), "{said}");
    // A user's cache is never overwritten by the storage account's ticket.
    let out = oauth(&k).args(mi).args(["login", &short]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("a cache of their own"), "{said}");
    // Nor one whose TGT is of a kind azkrb does not use (RC4, as AD DS may give): it is
    // still the user's.
    let mut cache = azkrb::cloudtgt::ccache::Ccache::load(&k.ccache()).unwrap();
    for e in cache.entries.iter_mut() {
        e.keytype = 23;
    }
    cache.save(&k.ccache()).unwrap();
    let before = std::fs::read(k.ccache()).unwrap();
    let out = oauth(&k).args(mi).args(["login", &short]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(k.ccache()).unwrap(),
        before,
        "the user's cache was replaced"
    );

    // A cache another user made (or a link to one) is not acted on, by refresh or login.
    let f = Lab::new("oauth-refresh-foreign");
    std::fs::copy(l.ccache(), f.ccache()).unwrap();
    std::os::unix::fs::chown(f.ccache(), Some(65534), Some(65534)).unwrap();
    for args in [&["refresh", "--once"][..], &["login", &short][..]] {
        let out = oauth(&f).args(mi).args(args).output().unwrap();
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        assert!(said.contains("owned by uid 65534"), "{args:?}: {said}");
    }
    std::fs::remove_file(f.ccache()).unwrap();
    std::os::unix::fs::symlink(l.ccache(), f.ccache()).unwrap();
    let out = oauth(&f).args(["refresh", "--once"]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("a symbolic link"), "{said}");
}

/// A FUSE mount on a managed identity's tickets outlives them without noticing: the short
/// host's SMB OAuth tickets live 45 s, and the mount re-authenticates with a fresh one from
/// the storage account before each ends (see `common::mount::outlives_its_tickets`).
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn fuse_mount_on_a_managed_identity_outlives_its_tickets() {
    let l = Lab::new("oauth-fuse");
    let target = format!(
        "//{}/{}",
        l.env["AZKRB_LAB_SHORT_HOST"], l.env["AZKRB_LAB_SHARE"]
    );
    let mut cmd = oauth(&l);
    cmd.args(["--managed-identity", "--client-id", "77777777-8888"]);
    common::mount::outlives_its_tickets(&l, cmd, &target);
}

/// The storage account is reached through `HTTPS_PROXY` (the lab's CONNECT proxy, whose log
/// shows the tunnel), as the KDC proxy is; IMDS, the VM's own link-local service, never goes
/// through a proxy: with `HTTP_PROXY` naming a dead one, the token still comes.
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn the_exchange_goes_through_https_proxy_and_imds_never_does() {
    let l = Lab::new("oauth-proxy");
    let log = &l.env["AZKRB_LAB_HTTP_PROXY_LOG"];
    let oauth_port = l.env["AZKRB_LAB_OAUTH_URL"]
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    let seen = |port: &str| {
        std::fs::read_to_string(log)
            .unwrap()
            .matches(&format!("127.0.0.1:{port}"))
            .count()
    };
    let exchange = seen(&oauth_port);
    let out = oauth(&l)
        .args(["--managed-identity", "ls", &l.unc("")])
        .env("HTTPS_PROXY", &l.env["AZKRB_LAB_HTTP_PROXY"])
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("http_proxy", "http://127.0.0.1:9")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    ok(out, "ls through the proxy");
    assert!(
        seen(&oauth_port) > exchange,
        "the proxy saw no CONNECT to the storage account"
    );
    // A dead proxy is not bypassed: the exchange fails.
    let out = oauth(&l)
        .args(["--managed-identity", "ls", &l.unc("")])
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a dead HTTPS_PROXY was bypassed");
}

/// A storage account's ticket stored by `login` in a kernel keyring, a `DIR:` collection
/// and a KCM daemon's cache (as RHEL and Fedora keep them), with its source noted beside it:
/// MIT's klist lists it there, every file command uses it alone, and `refresh` renews it
/// in place.
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn login_stores_the_ticket_in_every_cache_type() {
    let l = Lab::new("oauth-caches");
    let pid = std::process::id();
    let dir = l.dir.join("collection");
    std::fs::create_dir_all(&dir).unwrap();
    let host = &l.env["AZKRB_LAB_HOST"];
    let mi = ["--managed-identity", "--client-id", "77777777-8888"];
    for cache in [
        format!("KEYRING:user:azkrb_oauth_{pid}"),
        format!("DIR:{}", dir.display()),
        format!("KCM:azkrb_oauth_{pid}"),
    ] {
        // KCM: the daemon the lab's krb5.conf names (Heimdal's kcm).
        let run = |args: &[&str]| {
            let mut c = Command::new(env!("CARGO_BIN_EXE_mount-share"));
            c.args(["--ccache", &cache])
                .args([
                    "--address",
                    &format!("127.0.0.1:{}", l.env["AZKRB_LAB_SMB_PORT"]),
                ])
                .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
                .env("AZKRB_CA_FILE", &l.env["AZKRB_LAB_CA"])
                .env("AZKRB_IMDS_ENDPOINT", &l.env["AZKRB_LAB_IMDS_URL"])
                .env(
                    "AZKRB_KERBTICKET_ENDPOINT",
                    format!("{}/{{host}}", l.env["AZKRB_LAB_OAUTH_URL"]),
                )
                .env_remove("KRB5CCNAME")
                .args(args);
            ok(c.output().unwrap(), &format!("{cache}: {args:?}"))
        };
        run(&[&mi[..], &["login", &format!("//{host}/share")]].concat());
        let listed = ok(
            Command::new("klist")
                .env("KRB5CCNAME", &cache)
                .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
                .output()
                .unwrap(),
            &format!("{cache}: MIT klist"),
        );
        assert!(
            listed.contains("AzureFileClient@FILES.AZURE.STORAGE.MICROSOFT.COM")
                && listed.contains(&format!("cifs/{host}@FILES.AZURE.STORAGE.MICROSOFT.COM")),
            "{cache}: {listed}"
        );
        assert!(
            run(&["klist"]).contains("SMB OAuth: the managed identity client id 77777777-8888"),
            "{cache}"
        );
        run(&["ls", &l.unc("")]);
        // The lab's tickets live ten hours: "within eleven" renews it now (a second on, so
        // that the new one ends later).
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let said = run(&["refresh", "--once", "--before", "11h"]);
        assert!(
            said.contains(&format!("renewed cifs/{host}")),
            "{cache}: {said}"
        );
        run(&["ls", &l.unc("")]);
        let _ = Command::new("kdestroy")
            .env("KRB5CCNAME", &cache)
            .env("KRB5_CONFIG", &l.env["AZKRB_LAB_KRB5_CONF"])
            .status();
    }
}
