//! azkrb-cloudtgt against the lab (all through the KKDCP proxy unless said): password →
//! TGT → cifs ticket with the proxy log as witness; interop with MIT's ccache, `klist` and
//! `smbclient` both ways; cross-realm, UPN and RFC 8009; every error case provoked for real;
//! the service ticket decrypts with the keytab's key. `scripts/test` runs these.

use std::process::Command;

use azkrb::crypto::{EncryptionType, KeyUsage};
use azkrb_asn1::{ErrorCode, KerberosTime};
use azkrb_cloudtgt::ccache::Ccache;
use azkrb_cloudtgt::keytab::Keytab;
use azkrb_cloudtgt::{
    AsExchange, AsSecret, AsStep, Client, Error, KdcAddress, Principal, TransportOptions,
};
use azkrb_test_support::{lab, proxy_log_len, proxy_log_since, tgt_cloud};

fn client(env: &std::collections::HashMap<String, String>) -> Client {
    azkrb_test_support::kerberos_client(env)
}

fn alice(env: &std::collections::HashMap<String, String>) -> Principal {
    azkrb_test_support::lab_user(env)
}

fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("azkrb-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn password_to_cifs_ticket_through_the_proxy() {
    let env = lab();
    let c = client(&env);
    let start = proxy_log_len(&env);
    let tgt = c
        .login_password(&alice(&env), &env["AZKRB_LAB_PASSWORD"])
        .await
        .unwrap();
    assert!(tgt.is_tgt());
    assert_eq!(tgt.session_key.etype(), EncryptionType::Aes256CtsHmacSha196);
    let ticket = c.cifs_ticket(&tgt, &env["AZKRB_LAB_HOST"]).await.unwrap();
    assert_eq!(
        ticket.server.to_string(),
        format!("cifs/{}@{}", env["AZKRB_LAB_HOST"], env["AZKRB_LAB_REALM"])
    );
    let log = proxy_log_since(&env, start);
    let realm = &env["AZKRB_LAB_REALM"];
    for want in [
        format!("realm={realm} req=AS-REQ rep=KRB-ERROR(25)"),
        format!("realm={realm} req=AS-REQ rep=AS-REP"),
        format!("realm={realm} req=TGS-REQ rep=TGS-REP"),
    ] {
        assert!(
            log.iter().any(|l| l.contains(&want)),
            "proxy log lacks {want:?}: {log:#?}"
        );
    }
    // Proof 6: the ticket really is for that SPN: the keytab's key decrypts it.
    let kt = Keytab::load(&env["AZKRB_LAB_KEYTAB"]).unwrap();
    let key = kt
        .key_for(
            &ticket.server,
            Some(EncryptionType::Aes256CtsHmacSha196),
            None,
        )
        .unwrap();
    let plain = key
        .decrypt(KeyUsage::KDC_REP_TICKET, &ticket.ticket.enc_part.cipher)
        .unwrap();
    let etp: azkrb_asn1::krb::EncTicketPart = azkrb_asn1::decode("EncTicketPart", &plain).unwrap();
    assert_eq!(&etp.key.keyvalue[..], ticket.session_key.as_bytes());
    assert_eq!(etp.cname.to_text(), "alice");
    // A second request is a cache hit: no new proxy traffic.
    let before = proxy_log_len(&env);
    let again = c.cifs_ticket(&tgt, &env["AZKRB_LAB_HOST"]).await.unwrap();
    assert_eq!(again.session_key, ticket.session_key);
    assert_eq!(proxy_log_len(&env), before);
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn mit_ccache_in_our_ccache_out_klist_and_smbclient_use_it() {
    let env = lab();
    let c = client(&env);
    // kinit writes the TGT (through the proxy).
    let mit_cc = tmp("mit.ccache");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "echo '{}' | kinit alice >/dev/null",
            env["AZKRB_LAB_PASSWORD"]
        ))
        .env("KRB5_CONFIG", &env["AZKRB_LAB_KRB5_CONF"])
        .env("KRB5CCNAME", format!("FILE:{mit_cc}"))
        .status()
        .unwrap();
    assert!(status.success());
    let mut cache = Ccache::load(&mit_cc).unwrap();
    let tgt = cache.tgt().unwrap();
    let ticket = c.cifs_ticket(&tgt, &env["AZKRB_LAB_HOST"]).await.unwrap();
    cache.store(&ticket).unwrap();
    let ours = tmp("ours.ccache");
    cache.save(&ours).unwrap();
    // MIT klist reads what we wrote.
    let out = Command::new("klist")
        .arg("-e")
        .arg(format!("FILE:{ours}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("cifs/{}@", env["AZKRB_LAB_HOST"])),
        "{text}"
    );
    assert!(text.contains("aes256-cts-hmac-sha1-96"), "{text}");
    // smbclient cannot fetch a ticket through an https:// KDC itself, so its success proves
    // it used the ticket we stored.
    let out = Command::new("smbclient")
        .args([
            &format!("//{}/share", env["AZKRB_LAB_HOST"]),
            "-I",
            "127.0.0.1",
            "-p",
            &env["AZKRB_LAB_SMB_PORT"],
            "-N",
            "--use-kerberos=required",
            "-c",
            "ls",
        ])
        .env("KRB5_CONFIG", &env["AZKRB_LAB_KRB5_CONF"])
        .env("KRB5CCNAME", format!("FILE:{ours}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "smbclient: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Without our ticket it fails: the proof above is not vacuous.
    let bare = tmp("bare.ccache");
    std::fs::copy(&mit_cc, &bare).unwrap();
    let out = Command::new("smbclient")
        .args([
            &format!("//{}/share", env["AZKRB_LAB_HOST"]),
            "-I",
            "127.0.0.1",
            "-p",
            &env["AZKRB_LAB_SMB_PORT"],
            "-N",
            "--use-kerberos=required",
            "-c",
            "ls",
        ])
        .env("KRB5_CONFIG", &env["AZKRB_LAB_KRB5_CONF"])
        .env("KRB5CCNAME", format!("FILE:{bare}"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn cross_realm_upn_and_rfc8009() {
    let env = lab();
    let c = client(&env);
    let tgt = c
        .login_password(&alice(&env), &env["AZKRB_LAB_PASSWORD"])
        .await
        .unwrap();
    // Routing sends the acctad host to CONTOSO.LOCAL, which Entra's KDC has no trust
    // with (as the real one has none): the Entra TGT cannot get there.
    let host = &env["AZKRB_LAB_ADDS_HOST"];
    assert_eq!(c.realm_for_host(host, &tgt), env["AZKRB_LAB_ADDS_REALM"]);
    assert!(c.cifs_ticket(&tgt, host).await.is_err());
    // An AD DS user gets to an Entra host across the cloud trust (AD DS -> Entra).
    let bob = Principal::parse("bob", &env["AZKRB_LAB_ADDS_REALM"]).unwrap();
    let tgt_bob = c
        .login_password(&bob, &env["AZKRB_LAB_ADDS_PASSWORD"])
        .await
        .unwrap();
    let t = c
        .cifs_ticket(&tgt_bob, &env["AZKRB_LAB_HOST"])
        .await
        .unwrap();
    assert_eq!(t.server.realm, env["AZKRB_LAB_REALM"]);
    assert_eq!(t.client.realm, env["AZKRB_LAB_ADDS_REALM"]);
    // An enterprise (UPN) principal.
    let upn = Principal::enterprise(&env["AZKRB_LAB_UPN"], &env["AZKRB_LAB_REALM"]);
    let tgt_upn = c
        .login_password(&upn, &env["AZKRB_LAB_UPN_PASSWORD"])
        .await
        .unwrap();
    c.cifs_ticket(&tgt_upn, &env["AZKRB_LAB_HOST"])
        .await
        .unwrap();
    // The RFC 8009 realm.
    let sha2 = Principal::parse("alice", &env["AZKRB_LAB_SHA2_REALM"]).unwrap();
    let tgt2 = c
        .login_password(&sha2, &env["AZKRB_LAB_SHA2_PASSWORD"])
        .await
        .unwrap();
    assert_eq!(
        tgt2.session_key.etype(),
        EncryptionType::Aes256CtsHmacSha384192
    );
    let svc = Principal::cifs(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_SHA2_REALM"]);
    let t2 = c.service_ticket(&tgt2, &svc).await.unwrap();
    assert_eq!(
        t2.session_key.etype(),
        EncryptionType::Aes256CtsHmacSha384192
    );
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn every_error_is_provoked_for_real() {
    let env = lab();
    let c = client(&env);
    let alice = alice(&env);
    // Wrong password.
    let e = c.login_password(&alice, "wrong").await.unwrap_err();
    assert_eq!(e.kdc_code(), Some(ErrorCode::PreauthFailed), "{e}");
    assert!(e.to_string().contains("wrong password"), "{e}");
    // Unknown SPN.
    let tgt = c
        .login_password(&alice, &env["AZKRB_LAB_PASSWORD"])
        .await
        .unwrap();
    let e = c
        .cifs_ticket(&tgt, "nosuch.file.core.windows.net")
        .await
        .unwrap_err();
    assert_eq!(e.kdc_code(), Some(ErrorCode::SPrincipalUnknown), "{e}");
    assert!(e.to_string().contains("privatelink"), "{e}");
    // Clock offset: our clock an hour ahead, as the KDC sees it.
    let skewed = KerberosTime::from_unix(KerberosTime::now().unix() + 3600);
    let mut x = AsExchange::new(
        alice.clone(),
        AsSecret::Password(env["AZKRB_LAB_PASSWORD"].clone().into()),
        skewed,
    )
    .unwrap();
    let kdcs = c.config().kdcs_for(x.realm()).unwrap().to_vec();
    let err = loop {
        let reply = c
            .transport()
            .send(&kdcs, x.realm(), x.request())
            .await
            .unwrap();
        match x.handle_reply(&reply, skewed) {
            Ok(AsStep::Continue) => continue,
            Ok(AsStep::Done(_)) => panic!("a skewed clock was accepted"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kdc_code(), Some(ErrorCode::Skew), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("clock")
            && (text.contains("3600s") || text.contains("3599s") || text.contains("3601s")),
        "{text}"
    );
    // Expired TGT.
    let mut old = tgt.clone();
    old.endtime = KerberosTime::from_unix(KerberosTime::now().unix() - 60);
    let e = c
        .cifs_ticket(&old, &env["AZKRB_LAB_HOST"])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Expired { .. }), "{e}");
    assert!(e.to_string().contains("fetch a new one"), "{e}");

    let url = env["AZKRB_LAB_PROXY_URL"].clone();
    let realm = env["AZKRB_LAB_REALM"].clone();
    let req = AsExchange::new(
        alice.clone(),
        AsSecret::Password("x".to_string().into()),
        KerberosTime::now(),
    )
    .unwrap();
    let opts = TransportOptions {
        ca_file: Some(env["AZKRB_LAB_CA"].clone()),
        ..TransportOptions::default()
    };
    let t = azkrb_cloudtgt::Transport::new(&opts).unwrap();
    // Proxy down (a port nothing listens on).
    let e = t
        .kkdcp("https://127.0.0.1:9/x/kerberos", &realm, req.request())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    // Untrusted CA: the system roots alone do not trust the lab's CA.
    let plain = azkrb_cloudtgt::Transport::new(&TransportOptions::default()).unwrap();
    let e = plain.kkdcp(&url, &realm, req.request()).await.unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    assert!(e.to_string().contains("CA"), "{e}");
    // HTTP 404 on a wrong path.
    let e = t
        .kkdcp(&format!("{url}/wrong"), &realm, req.request())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { status: 404, .. }), "{e}");
    assert!(
        e.to_string()
            .contains("login.microsoftonline.com/<tenant-id>/kerberos"),
        "{e}"
    );
    // A garbage body is answered 400 by the proxy.
    let e = t.kkdcp(&url, &realm, b"garbage").await;
    // (kkdcp wraps the bytes in a valid KDC-PROXY-MESSAGE; the proxy rejects the inner
    // non-Kerberos message.)
    assert!(matches!(e, Err(Error::Http { status: 400, .. })), "{e:?}");
    // A "KDC" that answers garbage (smbd on the plain SMB port) is an error, not a panic.
    let smb = KdcAddress::Tcp(format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PLAIN_PORT"]));
    let r = t.send(&[smb], &realm, req.request()).await;
    match r {
        Err(_) => {}
        Ok(bytes) => assert!(azkrb_asn1::KerberosMessage::from_der(&bytes).is_err()),
    }
    // Failover: a dead KDC first, then the proxy.
    let tgt_ok = {
        let mut cfg = c.config().clone();
        cfg.kdcs.insert(
            realm.clone(),
            vec![
                KdcAddress::Tcp("127.0.0.1:9".into()),
                KdcAddress::Https(url.clone()),
            ],
        );
        let c2 = Client::new(cfg, &opts).unwrap();
        c2.login_password(&alice, &env["AZKRB_LAB_PASSWORD"]).await
    };
    tgt_ok.unwrap();
}

/// krb5.conf's `http_anchors` alone make the lab's KDC proxy trusted (no CA file given), as
/// MIT's libkrb5 reads them; without them the same proxy is refused.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn http_anchors_alone_trust_the_proxy() {
    let env = lab();
    let realm = &env["AZKRB_LAB_REALM"];
    let conf = format!(
        "[realms]\n {realm} = {{\n  kdc = {}\n  http_anchors = FILE:{}\n }}\n\
         [domain_realm]\n .file.core.windows.net = {realm}\n",
        env["AZKRB_LAB_PROXY_URL"], env["AZKRB_LAB_CA"]
    );
    let config = azkrb_cloudtgt::RealmConfig::parse(&conf).unwrap();
    let start = proxy_log_len(&env);
    let c = Client::new(config.clone(), &TransportOptions::default()).unwrap();
    let tgt = c
        .login_password(&alice(&env), &env["AZKRB_LAB_PASSWORD"])
        .await
        .unwrap();
    assert!(tgt.is_tgt());
    assert_eq!(
        c.transport().anchored_realms().collect::<Vec<_>>(),
        [realm.as_str()]
    );
    let ticket = c.cifs_ticket(&tgt, &env["AZKRB_LAB_HOST"]).await.unwrap();
    assert_eq!(
        ticket.server.to_string(),
        format!("cifs/{}@{realm}", env["AZKRB_LAB_HOST"])
    );
    let log = proxy_log_since(&env, start);
    assert!(
        log.iter()
            .any(|l| l.contains(&format!("realm={realm} req=TGS-REQ rep=TGS-REP"))),
        "{log:?}"
    );
    // The same configuration without the anchors: the system roots do not know the lab CA.
    let mut bare = config;
    bare.http_anchors.clear();
    let c = Client::new(bare, &TransportOptions::default()).unwrap();
    let e = c
        .login_password(&alice(&env), &env["AZKRB_LAB_PASSWORD"])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e}");
}

/// Proof 3: a `tgt_cloud` object built from a real lab AS-REP, in the raw and JWE forms,
/// yields a TGT that gets a service ticket through the proxy.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn tgt_cloud_from_a_real_as_rep() {
    let env = lab();
    let alice = alice(&env);
    let cifs = Principal::cifs(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_REALM"]);
    // Raw form.
    let raw =
        azkrb_cloudtgt::cloud::CloudTgt::from_json(&tgt_cloud::lab_tgt_cloud(&env, None).await)
            .unwrap();
    let tgt = raw.credential(None).unwrap();
    let t = client(&env).service_ticket(&tgt, &cifs).await.unwrap();
    assert_eq!(t.client.to_string(), alice.to_string());
    // JWE form under a PRT session key: needs that key, and only that key.
    let prt_key = [0x5au8; 32];
    let from_jwe = azkrb_cloudtgt::cloud::CloudTgt::from_json(
        &tgt_cloud::lab_tgt_cloud(&env, Some(&prt_key)).await,
    )
    .unwrap();
    assert!(from_jwe.credential(None).is_err());
    assert!(from_jwe.credential(Some(&[0x5b; 32])).is_err());
    let tgt2 = from_jwe.credential(Some(&prt_key)).unwrap();
    client(&env) // a fresh client: no cached ticket
        .service_ticket(&tgt2, &cifs)
        .await
        .unwrap();
}

/// A keytab login: the service's own keys from the lab keytab get it a TGT.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn keytab_login() {
    let env = lab();
    let c = client(&env);
    let kt = Keytab::load(&env["AZKRB_LAB_KEYTAB"]).unwrap();
    let me = Principal::cifs(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_REALM"]);
    let keys = kt.keys_for(&me);
    assert!(!keys.is_empty());
    let tgt = c.login(&me, AsSecret::Keys(keys)).await.unwrap();
    assert!(tgt.is_tgt());
    // No key of the KDC's type: a clear error, not a guess.
    let e = c.login(&me, AsSecret::Keys(vec![])).await.unwrap_err();
    assert!(e.to_string().contains("no key"), "{e}");
}

/// A KDC referral: asked for the Entra host's SPN in the AD DS realm (canonicalize on), the
/// AD DS KDC answers with a cross-realm TGT for the Entra realm (the cloud trust), which is
/// followed.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn kdc_referral_is_followed() {
    let env = lab();
    let c = client(&env);
    let tgt = c
        .login_password(
            &Principal::parse("bob", &env["AZKRB_LAB_ADDS_REALM"]).unwrap(),
            &env["AZKRB_LAB_ADDS_PASSWORD"],
        )
        .await
        .unwrap();
    let start = proxy_log_len(&env);
    // Asked of the AD DS KDC in its own realm, the Entra host's ticket comes by a referral
    // across the cloud trust.
    let asked = Principal::cifs(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_ADDS_REALM"]);
    let t = c.service_ticket(&tgt, &asked).await.unwrap();
    assert_eq!(
        t.server.realm, env["AZKRB_LAB_REALM"],
        "the ticket comes from the referred realm"
    );
    let log = proxy_log_since(&env, start);
    for realm in [&env["AZKRB_LAB_ADDS_REALM"], &env["AZKRB_LAB_REALM"]] {
        assert!(
            log.iter()
                .any(|l| l.contains(&format!("realm={realm} req=TGS-REQ rep=TGS-REP"))),
            "{log:#?}"
        );
    }
}

/// `HTTPS_PROXY` is honoured: through the lab's HTTP CONNECT proxy (tinyproxy), whose log
/// shows the tunnel. Runs the client in a child process so the variable is set only there.
#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn https_proxy_is_honoured() {
    let env = lab();
    if std::env::var("AZKRB_PROXY_CHILD").is_ok() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let c = client(&env);
        let tgt = rt
            .block_on(c.login_password(&alice(&env), &env["AZKRB_LAB_PASSWORD"]))
            .unwrap();
        rt.block_on(c.cifs_ticket(&tgt, &env["AZKRB_LAB_HOST"]))
            .unwrap();
        return;
    }
    let log = &env["AZKRB_LAB_HTTP_PROXY_LOG"];
    let before = std::fs::read_to_string(log)
        .unwrap()
        .matches("CONNECT 127.0.0.1:")
        .count();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "https_proxy_is_honoured",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("AZKRB_PROXY_CHILD", "1")
        .env("HTTPS_PROXY", &env["AZKRB_LAB_HTTP_PROXY"])
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let after = std::fs::read_to_string(log)
        .unwrap()
        .matches("CONNECT 127.0.0.1:")
        .count();
    assert!(after > before, "the HTTP proxy saw no CONNECT");
    // And with a dead proxy configured, the request fails instead of going direct.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["https_proxy_is_honoured", "--exact", "--ignored"])
        .env("AZKRB_PROXY_CHILD", "1")
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "a dead HTTPS_PROXY must not be bypassed"
    );
}
