//! Real bytes from MIT krb5 1.20 (`kinit`, `kvno`, `gss-client`/`gss-server`) and the
//! `kdcproxy` KKDCP service (see `tests/fixtures/mit/README.md`): every message decodes,
//! re-encodes byte-identically, and agrees field by field with `kerberos_asn1`, an
//! independent decoder.

use azkrb_asn1::gss::{GssChecksum, Krb5Token, Krb5TokenId, MicToken, WrapToken, context_flags};
use azkrb_asn1::krb::{Authenticator, EncTicketPart};
use azkrb_asn1::spnego::{NegState, NegotiationToken, mech};
use azkrb_asn1::{
    CksumType, EncPartTag, ErrorCode, KdcOptions, KdcProxyMessage, KerberosMessage, MessageType,
    NameType, PaDataType, decode, decode_enc_kdc_rep_part, find_etype_info2,
};
use azkrb_test_support::fixtures::{mit as fixture, mit_dir as dir};
use kerberos_asn1::Asn1Object;

fn message(name: &str) -> KerberosMessage {
    let bytes = fixture(name);
    let m = KerberosMessage::from_der(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        m.to_der().unwrap(),
        bytes,
        "{name} re-encodes byte-identically"
    );
    m
}

fn names(p: &azkrb_asn1::PrincipalName) -> (i32, Vec<String>) {
    (
        p.name_type.value(),
        p.name_string
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect(),
    )
}

fn theirs(p: &kerberos_asn1::PrincipalName) -> (i32, Vec<String>) {
    (p.name_type, p.name_string.clone())
}

#[test]
fn every_kerberos_message_round_trips_and_matches_kerberos_asn1() {
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".der")
            || name.starts_with("kkdcp")
            || name.starts_with("gss")
            || name.starts_with("spnego")
        {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        match message(&name) {
            KerberosMessage::AsReq(ours) => {
                let (_, t) = kerberos_asn1::AsReq::parse(&bytes).unwrap();
                let (o, b) = (&ours.0, &t.req_body);
                assert_eq!(o.msg_type.value(), t.msg_type);
                assert_eq!(o.req_body.realm.as_str().unwrap(), b.realm);
                assert_eq!(
                    names(o.req_body.cname.as_ref().unwrap()),
                    theirs(b.cname.as_ref().unwrap())
                );
                assert_eq!(
                    names(o.req_body.sname.as_ref().unwrap()),
                    theirs(b.sname.as_ref().unwrap())
                );
                assert_eq!(o.req_body.nonce, b.nonce);
                assert_eq!(o.req_body.etype, b.etypes);
                assert_eq!(o.req_body.kdc_options.0, b.kdc_options.flags);
                assert_eq!(
                    o.padata.as_ref().map(Vec::len),
                    t.padata.as_ref().map(Vec::len)
                );
            }
            KerberosMessage::TgsReq(ours) => {
                let (_, t) = kerberos_asn1::TgsReq::parse(&bytes).unwrap();
                let (o, b) = (&ours.0, &t.req_body);
                assert_eq!(o.req_body.realm.as_str().unwrap(), b.realm);
                assert_eq!(
                    names(o.req_body.sname.as_ref().unwrap()),
                    theirs(b.sname.as_ref().unwrap())
                );
                assert_eq!(o.req_body.nonce, b.nonce);
                assert_eq!(o.req_body.etype, b.etypes);
                assert_eq!(o.req_body.kdc_options.0, b.kdc_options.flags);
                // PA-TGS-REQ carries an AP-REQ.
                let pa = o.padata.as_ref().unwrap();
                let ap = pa
                    .iter()
                    .find(|p| p.padata_type == PaDataType::TgsReq)
                    .unwrap();
                assert!(matches!(
                    KerberosMessage::from_der(&ap.padata_value).unwrap(),
                    KerberosMessage::ApReq(_)
                ));
            }
            KerberosMessage::AsRep(ours) => {
                let (_, t) = kerberos_asn1::AsRep::parse(&bytes).unwrap();
                assert_eq!(ours.0.crealm.as_str().unwrap(), t.crealm);
                assert_eq!(names(&ours.0.cname), theirs(&t.cname));
                assert_eq!(names(&ours.0.ticket.sname), theirs(&t.ticket.sname));
                assert_eq!(ours.0.enc_part.etype, t.enc_part.etype);
                assert_eq!(ours.0.enc_part.kvno, t.enc_part.kvno);
                assert_eq!(
                    &ours.0.ticket.enc_part.cipher[..],
                    &t.ticket.enc_part.cipher[..]
                );
            }
            KerberosMessage::TgsRep(ours) => {
                let (_, t) = kerberos_asn1::TgsRep::parse(&bytes).unwrap();
                assert_eq!(ours.0.crealm.as_str().unwrap(), t.crealm);
                assert_eq!(names(&ours.0.cname), theirs(&t.cname));
                assert_eq!(names(&ours.0.ticket.sname), theirs(&t.ticket.sname));
                assert_eq!(ours.0.ticket.realm.as_str().unwrap(), t.ticket.realm);
                assert_eq!(&ours.0.enc_part.cipher[..], &t.enc_part.cipher[..]);
            }
            KerberosMessage::KrbError(ours) => {
                let (_, t) = kerberos_asn1::KrbError::parse(&bytes).unwrap();
                assert_eq!(ours.error_code.value(), t.error_code);
                assert_eq!(ours.realm.as_str().unwrap(), t.realm);
                assert_eq!(names(&ours.sname), theirs(&t.sname));
                assert_eq!(ours.susec, t.susec as u32);
                assert_eq!(ours.stime.unix(), t.stime.time.timestamp());
                assert_eq!(
                    ours.e_text.as_ref().map(|s| s.to_string()),
                    t.e_text.clone()
                );
            }
            other => panic!("{name}: unexpected {:?}", other.message_type()),
        }
        seen += 1;
    }
    assert!(seen >= 40, "only {seen} fixtures");
}

#[test]
fn preauth_required_carries_the_salts_the_readme_lists() {
    for (file, salt, etype) in [
        (
            "krb-error-preauth-required.der",
            "KERBEROS.MICROSOFTONLINE.COMalice",
            18,
        ),
        (
            "krb-error-preauth-required-enterprise.der",
            "KERBEROS.MICROSOFTONLINE.COMalice@contoso.com",
            18,
        ),
        (
            "krb-error-preauth-required-utf8.der",
            "KERBEROS.MICROSOFTONLINE.COMjosé",
            18,
        ),
        (
            "krb-error-preauth-required-contoso.der",
            "CONTOSO.LOCALbob",
            18,
        ),
        (
            "krb-error-preauth-required-sha2.der",
            "SHA2.KERBEROS.TESTalice",
            20,
        ),
    ] {
        let KerberosMessage::KrbError(e) = message(file) else {
            panic!("{file}")
        };
        assert_eq!(e.error_code, ErrorCode::PreauthRequired);
        assert_eq!(e.error_code.to_string(), "KDC_ERR_PREAUTH_REQUIRED (25)");
        let info = e.etype_info2();
        assert_eq!(info.len(), 1, "{file}");
        assert_eq!(info[0].etype, etype);
        assert_eq!(info[0].salt.as_ref().unwrap().as_str().unwrap(), salt);
        assert!(info[0].s2kparams.is_none());
        let md = e.method_data().unwrap();
        assert!(md.iter().any(|p| p.padata_type == PaDataType::FxFast));
    }
    let KerberosMessage::KrbError(e) = message("krb-error-preauth-failed.der") else {
        panic!()
    };
    assert_eq!(e.error_code, ErrorCode::PreauthFailed);
    let KerberosMessage::KrbError(e) = message("krb-error-s-principal-unknown.der") else {
        panic!()
    };
    assert_eq!(e.error_code, ErrorCode::SPrincipalUnknown);
}

#[test]
fn enterprise_and_utf8_names() {
    let KerberosMessage::AsReq(r) = message("as-req-enterprise.der") else {
        panic!()
    };
    let cname = r.0.req_body.cname.unwrap();
    assert_eq!(cname.name_type, NameType::Enterprise);
    assert_eq!(cname.to_text(), "alice\\@contoso.com");
    let KerberosMessage::AsReq(r) = message("as-req-utf8.der") else {
        panic!()
    };
    let cname = r.0.req_body.cname.unwrap();
    assert_eq!(cname.name_string[0].as_bytes(), "josé".as_bytes());
    let KerberosMessage::AsRep(r) = message("as-rep-utf8.der") else {
        panic!()
    };
    assert_eq!(r.0.cname.to_text(), "josé");
}

#[test]
fn mit_as_rep_enc_part_uses_application_26() {
    for file in [
        "as-rep.enc-part.der",
        "as-rep-sha2.enc-part.der",
        "as-rep-enterprise.enc-part.der",
    ] {
        let bytes = fixture(&format!("decrypted/{file}"));
        let (part, tag) = decode_enc_kdc_rep_part(&bytes).unwrap();
        assert_eq!(tag, EncPartTag::TgsRep, "{file}");
        assert!(part.srealm.as_str().is_some());
        assert_eq!(part.sname.to_text().split('/').next(), Some("krbtgt"));
    }
    let KerberosMessage::AsReq(req) = message("as-req.der") else {
        panic!()
    };
    let (part, _) = decode_enc_kdc_rep_part(&fixture("decrypted/as-rep.enc-part.der")).unwrap();
    assert_eq!(
        part.nonce, req.0.req_body.nonce,
        "the reply echoes the request's nonce"
    );
    let etp: EncTicketPart = decode(
        "EncTicketPart",
        &fixture("decrypted/as-rep.ticket.EncTicketPart.der"),
    )
    .unwrap();
    assert_eq!(
        etp.key, part.key,
        "ticket and reply carry the same session key"
    );
}

#[test]
fn kkdcp_messages_carry_length_prefixed_kerberos() {
    let expect = [
        ("kkdcp-req-1.der", MessageType::AsReq),
        ("kkdcp-rep-1.der", MessageType::KrbError),
        ("kkdcp-req-2.der", MessageType::AsReq),
        ("kkdcp-rep-2.der", MessageType::AsRep),
        ("kkdcp-req-3.der", MessageType::TgsReq),
        ("kkdcp-rep-3.der", MessageType::TgsRep),
    ];
    for (file, ty) in expect {
        let bytes = fixture(file);
        let m = KdcProxyMessage::from_der(&bytes).unwrap();
        assert_eq!(m.to_der().unwrap(), bytes, "{file}");
        let inner = KerberosMessage::from_der(m.message().unwrap()).unwrap();
        assert_eq!(inner.message_type(), ty, "{file}");
        if file.contains("req") {
            assert_eq!(
                m.target_domain.as_ref().unwrap().as_str(),
                Some("KERBEROS.MICROSOFTONLINE.COM")
            );
            assert!(m.dclocator_hint.is_none());
        } else {
            assert!(m.target_domain.is_none());
        }
    }
}

#[test]
fn gss_krb5_tokens_from_gss_client() {
    let tok = Krb5Token::decode(&fixture("gss-initial-token.der")).unwrap();
    assert_eq!(tok.id, Krb5TokenId::ApReq);
    assert_eq!(tok.encode_framed(), fixture("gss-initial-token.der"));
    let KerberosMessage::ApReq(ap) = KerberosMessage::from_der(&tok.message).unwrap() else {
        panic!()
    };
    assert!(
        ap.ap_options
            .contains(azkrb_asn1::ApOptions::MUTUAL_REQUIRED)
    );
    assert_eq!(ap.ticket.sname.to_text(), "cifs/acct.file.core.windows.net");

    let auth: Authenticator = decode(
        "Authenticator",
        &fixture("decrypted/gss-krb5.authenticator.der"),
    )
    .unwrap();
    let cksum = auth.cksum.unwrap();
    assert_eq!(cksum.cksumtype, CksumType::Gssapi);
    let g = GssChecksum::decode(&cksum.checksum).unwrap();
    assert_eq!(g.bnd, [0; 16]);
    assert_eq!(g.flags, 0x136);
    assert!(g.flags & context_flags::MUTUAL != 0 && g.flags & context_flags::CONF != 0);
    assert_eq!(g.encode().unwrap(), &cksum.checksum[..]);

    let rep = Krb5Token::decode(&fixture("gss-ap-rep-token.der")).unwrap();
    assert_eq!(rep.id, Krb5TokenId::ApRep);
    assert!(matches!(
        KerberosMessage::from_der(&rep.message).unwrap(),
        KerberosMessage::ApRep(_)
    ));

    for file in ["gss-mic-token.bin", "spnego-mic-token.bin"] {
        let bytes = fixture(file);
        let mic = MicToken::decode(&bytes).unwrap();
        assert_eq!(mic.encode(), bytes);
        assert_eq!(mic.checksum.len(), 12);
    }
    for file in ["gss-wrap-token.bin", "spnego-wrap-token.bin"] {
        let bytes = fixture(file);
        let wrap = WrapToken::decode(&bytes).unwrap();
        assert_eq!(wrap.encode(), bytes);
    }
}

#[test]
fn spnego_tokens_from_gss_client() {
    let bytes = fixture("spnego-init.der");
    let init = NegotiationToken::decode(&bytes).unwrap();
    assert_eq!(init.encode().unwrap(), bytes);
    let NegotiationToken::Init(init) = init else {
        panic!("{init:?}")
    };
    assert_eq!(
        init.mech_types,
        vec![mech(azkrb_asn1::gss::KRB5_OID).unwrap()]
    );
    let inner = Krb5Token::decode(init.mech_token.as_ref().unwrap()).unwrap();
    assert_eq!(inner.id, Krb5TokenId::ApReq);

    let bytes = fixture("spnego-resp.der");
    let resp = NegotiationToken::decode(&bytes).unwrap();
    assert_eq!(resp.encode().unwrap(), bytes);
    let NegotiationToken::Resp(resp) = resp else {
        panic!()
    };
    assert_eq!(resp.neg_state, Some(NegState::AcceptCompleted));
    assert!(resp.mech_list_mic.is_none());
    let rep = Krb5Token::decode(resp.response_token.as_ref().unwrap()).unwrap();
    assert_eq!(rep.id, Krb5TokenId::ApRep);
}

#[test]
fn as_rep_padata_and_options() {
    let KerberosMessage::AsRep(rep) = message("as-rep.der") else {
        panic!()
    };
    let info = find_etype_info2(rep.0.padata.as_deref().unwrap());
    assert_eq!(
        info[0].salt.as_ref().unwrap().as_str(),
        Some("KERBEROS.MICROSOFTONLINE.COMalice")
    );
    let KerberosMessage::TgsReq(req) = message("tgs-req.der") else {
        panic!()
    };
    let opts = req.0.req_body.kdc_options;
    assert!(opts.contains(KdcOptions::CANONICALIZE) && opts.contains(KdcOptions::RENEWABLE));
    assert_eq!(opts.to_bits().len(), 32);
}
