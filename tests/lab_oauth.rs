//! SMB OAuth against the lab's stand-ins (lab/oauth_app.py): an IMDS, Entra's token
//! endpoint for a workload identity, and a storage account's kerbticket endpoint that checks
//! the token as Azure does and mints a real ticket from the lab KDC. Each token source gets
//! a ticket that opens an encrypted SMB session on the lab's smbd and moves a file; each
//! refusal says why.

mod common;

use std::process::Command;

use azkrb_cloudtgt::oauth::{IdentityId, Token, TokenSource};
use azkrb_cloudtgt::{Credential, Error};
use azkrb_smb3::Cipher;
use azkrb_test_support::{Env, kerberos_client, lab};

/// A JWT signed with the lab's token-issuer key (HS256), with these claims.
fn jwt(env: &Env, claims: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import base64,hashlib,hmac,json,sys\n\
             b=lambda x: base64.urlsafe_b64encode(x).rstrip(b'=').decode()\n\
             k=open(sys.argv[1],'rb').read()\n\
             h=b(b'{\"alg\":\"HS256\",\"typ\":\"JWT\"}'); p=b(sys.argv[2].encode())\n\
             s=b(hmac.new(k,(h+'.'+p).encode(),hashlib.sha256).digest())\n\
             print(h+'.'+p+'.'+s)",
        ])
        .arg(&env["AZKRB_LAB_OAUTH_ISSUER_KEY"])
        .arg(claims)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn in_an_hour() -> i64 {
    azkrb_asn1::KerberosTime::now().unix() + 3600
}

/// The kerbticket endpoint of the lab's stand-in for `host`.
fn endpoint(env: &Env, host: &str) -> String {
    format!("{}/{host}", env["AZKRB_LAB_OAUTH_URL"])
}

/// An encrypted SMB session with `ticket`, a file written and read back.
async fn use_ticket(env: &Env, ticket: Credential) {
    let (_conn, _session, tree) = common::connect_with(
        env,
        &env["AZKRB_LAB_SMB_PORT"],
        vec![Cipher::Aes256Gcm],
        ticket,
    )
    .await
    .unwrap();
    let name = format!("oauth-{}.bin", std::process::id());
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    tree.write_whole(&name, &data).await.unwrap();
    assert_eq!(tree.read_start(&name, 1 << 20).await.unwrap().data, data);
    tree.remove(&name, false).await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn every_token_source_gets_a_ticket_that_opens_the_share() {
    let env = lab();
    let c = kerberos_client(&env);
    let host = &env["AZKRB_LAB_HOST"];
    let dir = std::env::temp_dir().join(format!("azkrb-oauth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let federated = dir.join("federated.jwt");
    std::fs::write(
        &federated,
        jwt(
            &env,
            &format!(
                r#"{{"aud":"api://AzureADTokenExchange","exp":{}}}"#,
                in_an_hour()
            ),
        ),
    )
    .unwrap();
    let token_file = dir.join("token");
    std::fs::write(
        &token_file,
        format!(
            "{}\n",
            jwt(
                &env,
                &format!(
                    r#"{{"aud":"https://storage.azure.com","oid":"file","exp":{}}}"#,
                    in_an_hour()
                )
            )
        ),
    )
    .unwrap();
    let sources = [
        TokenSource::ManagedIdentity { endpoint: env["AZKRB_LAB_IMDS_URL"].clone(), id: None },
        TokenSource::ManagedIdentity {
            endpoint: env["AZKRB_LAB_IMDS_URL"].clone(),
            id: Some(IdentityId::ClientId("11111111-2222".into())),
        },
        TokenSource::ManagedIdentity {
            endpoint: env["AZKRB_LAB_IMDS_URL"].clone(),
            id: Some(IdentityId::ResourceId("/subscriptions/s/resourcegroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u".into())),
        },
        TokenSource::WorkloadIdentity {
            authority: env["AZKRB_LAB_OAUTH_URL"].clone(),
            tenant: env["AZKRB_LAB_TENANT"].clone(),
            client_id: "33333333-4444".into(),
            token_file: federated.display().to_string(),
        },
        TokenSource::File(token_file.display().to_string()),
    ];
    for source in &sources {
        let token = c.smb_oauth_token(source).await.unwrap();
        assert!(!format!("{token:?}").contains(token.secret()));
        let ticket = c
            .smb_oauth_ticket(&endpoint(&env, host), host, &token)
            .await
            .unwrap();
        // Names as Azure's: its own client and realm, whatever krb5.conf says.
        assert_eq!(
            ticket.server.to_string(),
            format!("cifs/{host}@FILES.AZURE.STORAGE.MICROSOFT.COM")
        );
        assert_eq!(
            ticket.client.to_string(),
            "AzureFileClient@FILES.AZURE.STORAGE.MICROSOFT.COM"
        );
        use_ticket(&env, ticket).await;
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn each_refusal_names_its_cause() {
    let env = lab();
    let c = kerberos_client(&env);
    let host = &env["AZKRB_LAB_HOST"];
    let token = |claims: &str| Token::new(&jwt(&env, claims), None).unwrap();
    let exp = in_an_hour();
    let good = token(&format!(
        r#"{{"aud":"https://storage.azure.com","oid":"x","exp":{exp}}}"#
    ));
    let refused = |status: u16, says: &'static str| {
        move |r: azkrb_cloudtgt::Result<Credential>| match &r {
            Err(Error::SmbOAuth {
                status: s, code, ..
            }) if *s == status => {
                let e = r.as_ref().unwrap_err().to_string();
                assert!(e.contains(says) && code.is_some(), "{e}");
            }
            other => panic!("expected HTTP {status}: {other:?}"),
        }
    };
    // The audience with a trailing slash, as the docs warn; an expired token; a forged one.
    let slash = token(&format!(
        r#"{{"aud":"https://storage.azure.com/","oid":"x","exp":{exp}}}"#
    ));
    refused(401, "no trailing slash")(
        c.smb_oauth_ticket(&endpoint(&env, host), host, &slash)
            .await,
    );
    let old = token(r#"{"aud":"https://storage.azure.com","oid":"x","exp":1}"#);
    refused(401, "unexpired")(c.smb_oauth_ticket(&endpoint(&env, host), host, &old).await);
    let forged = Token::new(&format!("{}x", good.secret()), None).unwrap();
    refused(401, "not accepted")(
        c.smb_oauth_ticket(&endpoint(&env, host), host, &forged)
            .await,
    );
    // No SMB MI Admin role; SMB OAuth off; no such account.
    let norole = token(&format!(
        r#"{{"aud":"https://storage.azure.com","oid":"norole","exp":{exp}}}"#
    ));
    refused(403, "SMB MI Admin")(
        c.smb_oauth_ticket(&endpoint(&env, host), host, &norole)
            .await,
    );
    let off = "acctnooauth.file.core.windows.net";
    refused(409, "--enable-smb-oauth")(c.smb_oauth_ticket(&endpoint(&env, off), off, &good).await);
    let none = "nosuch.file.core.windows.net";
    refused(404, "account name")(c.smb_oauth_ticket(&endpoint(&env, none), none, &good).await);
    // A workload identity whose federated token is not accepted; no IMDS there.
    let bad_assertion =
        std::env::temp_dir().join(format!("azkrb-oauth-bad-{}", std::process::id()));
    std::fs::write(&bad_assertion, "not-a-jwt").unwrap();
    let e = c
        .smb_oauth_token(&TokenSource::WorkloadIdentity {
            authority: env["AZKRB_LAB_OAUTH_URL"].clone(),
            tenant: env["AZKRB_LAB_TENANT"].clone(),
            client_id: "c".into(),
            token_file: bad_assertion.display().to_string(),
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("invalid_client") && e.contains("AADSTS700024"),
        "{e}"
    );
    std::fs::remove_file(&bad_assertion).unwrap();
    let e = c
        .smb_oauth_token(&TokenSource::ManagedIdentity {
            endpoint: "http://127.0.0.1:9".into(),
            id: None,
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("managed identity"), "{e}");
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_share_opened_with_a_managed_identity_works_and_re_authenticates() {
    let env = lab();
    let files = azkrb::AzureFiles::builder()
        .krb5_conf(&env["AZKRB_LAB_KRB5_CONF"])
        .ca_file(&env["AZKRB_LAB_CA"])
        .connect_to(format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"]))
        .oauth(TokenSource::ManagedIdentity {
            endpoint: env["AZKRB_LAB_IMDS_URL"].clone(),
            id: Some(IdentityId::ClientId("55555555-6666".into())),
        })
        .oauth_endpoint(format!("{}/{{host}}", env["AZKRB_LAB_OAUTH_URL"]))
        .build()
        .unwrap();
    let unc = format!("//{}/{}", env["AZKRB_LAB_HOST"], env["AZKRB_LAB_SHARE"]);
    let share = files.open(&unc).await.unwrap();
    assert!(share.session().encrypted);
    assert!(
        share.principal().contains("client id 55555555-6666"),
        "{}",
        share.principal()
    );
    let name = format!("oauth-share-{}.txt", std::process::id());
    let run = |data: &'static [u8]| {
        let name = name.clone();
        let share = share.clone();
        async move {
            share
                .run(|t| {
                    let name = name.clone();
                    async move { t.write_whole(&name, data).await }
                })
                .await
                .unwrap();
            share
                .run(|t| {
                    let name = name.clone();
                    async move { t.read_start(&name, 1 << 16).await }
                })
                .await
                .unwrap()
                .data
        }
    };
    assert_eq!(run(b"first").await, b"first");
    // Re-authentication asks the storage account again; the session and its tree live on.
    share.reauthenticate().await.unwrap();
    assert_eq!(run(b"second").await, b"second");
    share
        .run(|t| {
            let name = name.clone();
            async move { t.remove(&name, false).await }
        })
        .await
        .unwrap();
    // A client whose identity has no role is refused with the cause, not a panic.
    let norole = azkrb::AzureFiles::builder()
        .krb5_conf(&env["AZKRB_LAB_KRB5_CONF"])
        .ca_file(&env["AZKRB_LAB_CA"])
        .connect_to(format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"]))
        .oauth(TokenSource::ManagedIdentity {
            endpoint: env["AZKRB_LAB_IMDS_URL"].clone(),
            id: Some(IdentityId::ClientId("norole".into())),
        })
        .oauth_endpoint(format!("{}/{{host}}", env["AZKRB_LAB_OAUTH_URL"]))
        .build()
        .unwrap();
    let e = norole.open(&unc).await.unwrap_err().to_string();
    assert!(e.contains("SMB MI Admin") && e.contains("403"), "{e}");
}
