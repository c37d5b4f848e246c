//! Kerberos as strict KDCs take it, against the lab's Samba AD DC (a Microsoft-like KDC,
//! Heimdal's as Samba runs it) and MIT: it refuses what MIT's KDC lets pass (a TGS-REQ
//! asking for a renewable ticket with a TGT that is not renewable was refused with
//! KDC_ERR_BADOPTION before the options followed the TGT's flags). Password and
//! enterprise-name logins, a service ticket whose PAC names the user, renewable TGTs and
//! their renewal (by hand, and by the library before one expires).

use azkrb_asn1::krb::{AuthorizationData, EncTicketPart};
use azkrb_asn1::pac::Pac;
use azkrb_asn1::{AdType, decode};
use azkrb_cloudtgt::Principal;
use azkrb_cloudtgt::keytab::Keytab;
use azkrb_crypto::{EncryptionType, KeyUsage};
use azkrb_test_support::{kerberos_client, lab};

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_samba_ad_dc_issues_a_service_ticket_whose_pac_names_the_user() {
    let env = lab();
    let c = kerberos_client(&env);
    let realm = &env["AZKRB_LAB_ADDC_REALM"];
    let alice = Principal::parse(&env["AZKRB_LAB_ADDC_USER"], realm).unwrap();
    let tgt = c
        .login_password(&alice, &env["AZKRB_LAB_ADDC_PASSWORD"])
        .await
        .unwrap();
    assert_eq!(tgt.client.to_string(), format!("alice@{realm}"));

    // The TGS exchange a strict KDC accepts.
    let t = c
        .cifs_ticket(&tgt, &env["AZKRB_LAB_ADDC_HOST"])
        .await
        .unwrap();
    assert_eq!(
        t.server.to_string(),
        format!("cifs/{}@{realm}", env["AZKRB_LAB_ADDC_HOST"])
    );

    // The service's own key opens it, and the PAC inside names alice.
    let keytab = Keytab::load(&env["AZKRB_LAB_ADDC_KEYTAB"]).unwrap();
    let etype = EncryptionType::try_from(t.ticket.enc_part.etype).unwrap();
    let key = keytab
        .key_for(&t.server, Some(etype), t.ticket.enc_part.kvno)
        .expect("the service key of the ticket's kind and version");
    let plain = key
        .decrypt(KeyUsage::KDC_REP_TICKET, &t.ticket.enc_part.cipher)
        .unwrap();
    let part: EncTicketPart = decode("EncTicketPart", &plain).unwrap();
    assert_eq!(part.cname.to_text(), "alice");
    let ad = part.authorization_data.expect("authorization data");
    let relevant = ad
        .iter()
        .find(|a| a.ad_type == AdType::IfRelevant)
        .expect("AD-IF-RELEVANT");
    let inner: AuthorizationData = decode("AD-IF-RELEVANT", &relevant.ad_data).unwrap();
    let pac = inner
        .iter()
        .find(|a| a.ad_type == AdType::Win2kPac)
        .expect("a PAC");
    let pac = Pac::decode(&pac.ad_data).unwrap();
    let logon = pac.logon_info.expect("PAC logon information");
    assert_eq!(logon.effective_name, "alice");
    assert_eq!(
        pac.upn_dns_info.expect("PAC UPN and DNS information").upn,
        env["AZKRB_LAB_ADDC_UPN"]
    );
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn an_enterprise_name_is_canonicalized_by_the_ad_dc() {
    let env = lab();
    let c = kerberos_client(&env);
    let realm = &env["AZKRB_LAB_ADDC_REALM"];
    let upn = Principal::enterprise(&env["AZKRB_LAB_ADDC_UPN"], realm);
    let tgt = c
        .login_password(&upn, &env["AZKRB_LAB_ADDC_PASSWORD"])
        .await
        .unwrap();
    // The name the KDC gave back (RFC 6806), not the one asked for.
    assert_eq!(tgt.client.to_string(), format!("alice@{realm}"));
    let t = c
        .cifs_ticket(&tgt, &env["AZKRB_LAB_ADDC_HOST"])
        .await
        .unwrap();
    assert_eq!(t.client.to_string(), format!("alice@{realm}"));
}

/// Renewal, as a strict KDC takes it: a TGT asked renewable comes renewable, renews (RENEW
/// with the TGT's own flags and limit, so it stays renewable) as many times as its limit
/// allows, and serves TGS exchanges afterwards; one not asked renewable is refused clearly
/// before any request.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_renewable_tgt_renews_and_stays_renewable_at_the_ad_dc_and_mit() {
    use azkrb_asn1::TicketFlags;
    use azkrb_cloudtgt::exchange::AsSecret;
    let env = lab();
    let c = kerberos_client(&env);
    for (realm, password) in [
        (
            &env["AZKRB_LAB_ADDC_REALM"],
            &env["AZKRB_LAB_ADDC_PASSWORD"],
        ),
        (&env["AZKRB_LAB_REALM"], &env["AZKRB_LAB_PASSWORD"]),
    ] {
        let alice = Principal::parse("alice", realm).unwrap();
        let secret = || AsSecret::Password(zeroize::Zeroizing::new(password.to_string()));
        let tgt = c
            .login_renewable(&alice, secret(), Some(2 * 86400))
            .await
            .unwrap();
        assert!(tgt.flags.contains(TicketFlags::RENEWABLE), "{realm}");
        let limit = tgt.renew_till.expect("a renewal limit").unix();
        assert!(limit > tgt.endtime.unix(), "{realm}");
        let mut current = tgt.clone();
        for _ in 0..2 {
            let renewed = c.renew(&current).await.unwrap();
            assert!(renewed.flags.contains(TicketFlags::RENEWABLE), "{realm}");
            assert_eq!(renewed.renew_till.map(|r| r.unix()), Some(limit));
            assert_eq!(renewed.authtime.unix(), tgt.authtime.unix(), "{realm}");
            assert!(renewed.session_key.as_bytes() != current.session_key.as_bytes());
            current = renewed;
        }
        let host = if realm == &env["AZKRB_LAB_REALM"] {
            &env["AZKRB_LAB_HOST"]
        } else {
            &env["AZKRB_LAB_ADDC_HOST"]
        };
        let service = Principal::cifs(host, realm);
        c.service_ticket(&current, &service).await.unwrap();

        let plain = c.login_renewable(&alice, secret(), None).await.unwrap();
        match c.renew(&plain).await {
            Err(azkrb_cloudtgt::Error::NotRenewable { why, .. }) => {
                assert!(why.contains("not renewable"), "{why}")
            }
            other => panic!("{realm}: a TGT not asked renewable renewed: {other:?}"),
        }
    }
}

/// A TGT about to expire (under 5 minutes left) is renewed by the library before it is
/// used, when it can be, and the renewed one replaces it in the credential cache it came
/// from (MIT's kinit made the cache; MIT's klist reads the result).
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_tgt_about_to_expire_is_renewed_in_its_credential_cache() {
    use azkrb_cloudtgt::TgtSource;
    use azkrb_cloudtgt::ccache::Ccache;
    let env = lab();
    let dir = std::env::temp_dir().join(format!("azkrb-autorenew-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = dir.join("cc").display().to_string();
    let realm = &env["AZKRB_LAB_REALM"];
    let mut kinit = std::process::Command::new("kinit")
        .args(["-l", "302s", "-r", "1h", &format!("alice@{realm}")])
        .env("KRB5CCNAME", format!("FILE:{cc}"))
        .env("KRB5_CONFIG", &env["AZKRB_LAB_KRB5_CONF_DIRECT"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    writeln!(kinit.stdin.take().unwrap(), "{}", env["AZKRB_LAB_PASSWORD"]).unwrap();
    assert!(kinit.wait().unwrap().success());
    let before = Ccache::load(&cc).unwrap().tgt().unwrap();
    // Under five minutes left (and a renewal would bring it back above): due.
    while before.remaining(azkrb_asn1::KerberosTime::now()) > 299 {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let c = kerberos_client(&env).with_tgt_source(TgtSource::Ccache(Some(format!("FILE:{cc}"))));
    let tgt = c.tgt().await.unwrap();
    assert!(tgt.endtime.unix() > before.endtime.unix(), "not renewed");
    assert_eq!(tgt.authtime.unix(), before.authtime.unix());
    // Written back in the background: the cache holds it shortly.
    let mut stored = Ccache::load(&cc).unwrap().tgt().unwrap();
    for _ in 0..50 {
        if stored.endtime.unix() == tgt.endtime.unix() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        stored = Ccache::load(&cc).unwrap().tgt().unwrap();
    }
    assert_eq!(stored.endtime.unix(), tgt.endtime.unix());
    // Renewed once: with more than the margin left again, the next use does not renew it.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(c.tgt().await.unwrap().endtime.unix(), tgt.endtime.unix());
    let klist = std::process::Command::new("klist")
        .env("KRB5CCNAME", format!("FILE:{cc}"))
        .output()
        .unwrap();
    assert!(klist.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}
