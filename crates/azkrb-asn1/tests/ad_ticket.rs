//! A real ticket issued by a Samba AD DC KDC: the Ticket and its decrypted EncTicketPart
//! decode, re-encode byte-identically, and the PAC inside the authorization data is the one
//! the capture tools extracted.

use azkrb_asn1::krb::{AuthorizationData, EncTicketPart, Ticket};
use azkrb_asn1::pac::Pac;
use azkrb_asn1::{AdType, NameType, TicketFlags, decode, encode};
use azkrb_test_support::fixtures::ad as fixture;

#[test]
fn ticket_round_trips() {
    for name in ["ticket-service.der", "ticket-tgt.der"] {
        let bytes = fixture(name);
        let t: Ticket = decode("Ticket", &bytes).unwrap();
        assert_eq!(t.tkt_vno, 5);
        assert_eq!(t.realm.as_str(), Some("CONTOSO.LOCAL"));
        assert_eq!(t.enc_part.etype, 18);
        assert_eq!(encode("Ticket", &t).unwrap(), bytes, "{name}");
    }
    let t: Ticket = decode("Ticket", &fixture("ticket-service.der")).unwrap();
    assert_eq!(t.sname.to_text(), "cifs/acctad.file.core.windows.net");
}

#[test]
fn enc_ticket_part_carries_the_pac() {
    for (part, pac_file) in [
        ("enc-ticket-part-service.der", "pac-service-ticket.bin"),
        ("enc-ticket-part-tgt.der", "pac-tgt.bin"),
    ] {
        let bytes = fixture(part);
        let etp: EncTicketPart = decode("EncTicketPart", &bytes).unwrap();
        assert_eq!(encode("EncTicketPart", &etp).unwrap(), bytes, "{part}");
        assert_eq!(etp.cname.to_text(), "alice");
        assert_eq!(etp.cname.name_type, NameType::Principal);
        assert_eq!(etp.key.keytype, 18);
        assert!(etp.flags.contains(TicketFlags::PRE_AUTHENT));
        let ad = etp.authorization_data.as_ref().unwrap();
        let if_relevant = ad.iter().find(|a| a.ad_type == AdType::IfRelevant).unwrap();
        let inner: AuthorizationData = decode("AD-IF-RELEVANT", &if_relevant.ad_data).unwrap();
        let pac = inner
            .iter()
            .find(|a| a.ad_type == AdType::Win2kPac)
            .unwrap();
        assert_eq!(&pac.ad_data[..], &fixture(pac_file)[..]);
        let parsed = Pac::decode(&pac.ad_data).unwrap();
        assert_eq!(parsed.upn_dns_info.unwrap().upn, "alice@contoso.com");
    }
}
