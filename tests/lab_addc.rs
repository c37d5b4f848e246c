//! Against the lab's Samba AD DC, a Microsoft-like KDC (Heimdal's, as Samba runs it): it
//! refuses what MIT's KDC lets pass (a TGS-REQ asking for a renewable ticket with a TGT that
//! is not renewable was refused with KDC_ERR_BADOPTION before the options followed the TGT's
//! flags). A password login, an enterprise-name login (canonicalized), and a service ticket
//! whose PAC names the user, all through the library.

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
