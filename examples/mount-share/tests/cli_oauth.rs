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
