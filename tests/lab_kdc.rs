//! Against the lab's real MIT KDC (lab/up): AS exchanges built from azkrb-asn1 messages and
//! azkrb-crypto keys, sent over TCP (RFC 4120 §7.2.2 framing): PREAUTH_REQUIRED with the
//! salt in ETYPE-INFO2, PA-ENC-TIMESTAMP, the AS-REP decrypted and checked, a wrong password
//! refused, and the RFC 8009 realm. `scripts/test` starts the lab and runs these; a plain
//! `cargo test` lists them as ignored.

use azkrb_test_support::lab;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azkrb::crypto::{EncryptionType, Key, KeyUsage};
use azkrb_asn1::krb::{
    AsReq, EncryptedData, KdcReq, KdcReqBody, KerberosTime, PaData, PaEncTsEnc, PaPacRequest,
};
use azkrb_asn1::{
    EncPartTag, ErrorCode, KdcOptions, KerberosMessage, MessageType, NameType, PaDataType,
    PrincipalName, decode_enc_kdc_rep_part, encode,
};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// One request/reply over TCP with the 4-byte length prefix.
fn exchange(kdc: &str, request: &[u8]) -> KerberosMessage {
    let mut s = TcpStream::connect(kdc).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&azkrb_asn1::kkdcp::add_length_prefix(request))
        .unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let len = u32::from_be_bytes(len) as usize;
    assert!(len < 1 << 20, "reply of {len} bytes");
    let mut reply = vec![0u8; len];
    s.read_exact(&mut reply).unwrap();
    KerberosMessage::from_der(&reply).unwrap()
}

fn as_req(user: &str, realm: &str, etype: i32, nonce: u32, padata: Vec<PaData>) -> Vec<u8> {
    let mut pa = vec![PaData {
        padata_type: PaDataType::PacRequest,
        padata_value: encode("PA-PAC-REQUEST", &PaPacRequest { include_pac: true })
            .unwrap()
            .into(),
    }];
    pa.extend(padata);
    let req = AsReq(KdcReq {
        pvno: 5,
        msg_type: MessageType::AsReq,
        padata: Some(pa),
        req_body: KdcReqBody {
            kdc_options: KdcOptions::FORWARDABLE | KdcOptions::RENEWABLE_OK,
            cname: Some(PrincipalName::new(NameType::Principal, [user])),
            realm: realm.into(),
            sname: Some(PrincipalName::new(NameType::SrvInst, ["krbtgt", realm])),
            from: None,
            till: KerberosTime::from_unix(now() + 36_000),
            rtime: None,
            nonce,
            etype: vec![etype],
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        },
    });
    encode("AS-REQ", &req).unwrap()
}

fn nonce() -> u32 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap();
    u32::from_be_bytes(b) & 0x7fff_ffff
}

/// The full AS exchange with a password: Ok after checking the AS-REP, or the
/// KRB-ERROR code of the second request.
fn login(user: &str, realm: &str, etype: EncryptionType, password: &str) -> Result<(), ErrorCode> {
    let env = lab();
    let kdc = &env["AZKRB_LAB_KDC"];
    let n = nonce();
    let KerberosMessage::KrbError(err) =
        exchange(kdc, &as_req(user, realm, etype.number(), n, vec![]))
    else {
        panic!("expected PREAUTH_REQUIRED first");
    };
    assert_eq!(err.error_code, ErrorCode::PreauthRequired);
    let info = err.etype_info2();
    let entry = info
        .iter()
        .find(|e| e.etype == etype.number())
        .expect("ETYPE-INFO2 for our etype");
    let salt = entry.salt.as_ref().expect("the KDC sends the salt");
    assert_eq!(
        salt.as_str(),
        Some(format!("{realm}{user}").as_str()),
        "MIT's salt is realm + name"
    );
    let key = Key::from_password(
        etype,
        password.as_bytes(),
        salt.as_bytes(),
        entry.s2kparams.as_deref(),
    )
    .unwrap();

    let ts = PaEncTsEnc {
        patimestamp: KerberosTime::now(),
        pausec: Some(0),
    };
    let sealed = key
        .encrypt(
            KeyUsage::AS_REQ_PA_ENC_TIMESTAMP,
            &encode("PA-ENC-TS-ENC", &ts).unwrap(),
        )
        .unwrap();
    let enc_ts = EncryptedData {
        etype: etype.number(),
        kvno: None,
        cipher: sealed.into(),
    };
    let pa = PaData {
        padata_type: PaDataType::EncTimestamp,
        padata_value: encode("PA-ENC-TIMESTAMP", &enc_ts).unwrap().into(),
    };
    match exchange(kdc, &as_req(user, realm, etype.number(), n, vec![pa])) {
        KerberosMessage::AsRep(rep) => {
            assert_eq!(rep.0.crealm.as_str(), Some(realm));
            assert_eq!(rep.0.cname.to_text(), user);
            assert_eq!(rep.0.enc_part.etype, etype.number());
            let plain = key
                .decrypt(KeyUsage::AS_REP_ENC_PART, &rep.0.enc_part.cipher)
                .unwrap();
            let (part, tag) = decode_enc_kdc_rep_part(&plain).unwrap();
            assert_eq!(
                tag,
                EncPartTag::TgsRep,
                "MIT tags the AS reply part [APPLICATION 26]"
            );
            assert_eq!(part.nonce, n, "the reply echoes our nonce");
            assert_eq!(part.sname.to_text(), format!("krbtgt/{realm}"));
            assert_eq!(part.key.keytype, etype.number(), "session key etype");
            let session = Key::from_wire(part.key.keytype, &part.key.keyvalue).unwrap();
            assert_eq!(session.etype(), etype);
            assert!(part.endtime.unix() > now());
            Ok(())
        }
        KerberosMessage::KrbError(e) => Err(e.error_code),
        other => panic!("unexpected {:?}", other.message_type()),
    }
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn as_exchange_with_encrypted_timestamp() {
    let env = lab();
    login(
        &env["AZKRB_LAB_USER"],
        &env["AZKRB_LAB_REALM"],
        EncryptionType::Aes256CtsHmacSha196,
        &env["AZKRB_LAB_PASSWORD"],
    )
    .unwrap();
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn wrong_password_is_preauth_failed() {
    let env = lab();
    let r = login(
        &env["AZKRB_LAB_USER"],
        &env["AZKRB_LAB_REALM"],
        EncryptionType::Aes256CtsHmacSha196,
        "not-the-password",
    );
    assert_eq!(r, Err(ErrorCode::PreauthFailed));
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn rfc8009_realm_as_exchange() {
    let env = lab();
    login(
        &env["AZKRB_LAB_USER"],
        &env["AZKRB_LAB_SHA2_REALM"],
        EncryptionType::Aes256CtsHmacSha384192,
        &env["AZKRB_LAB_SHA2_PASSWORD"],
    )
    .unwrap();
}

#[test]
#[ignore = "needs the lab: scripts/test starts it"]
fn unknown_client_is_reported() {
    let env = lab();
    let kdc = &env["AZKRB_LAB_KDC"];
    let KerberosMessage::KrbError(err) = exchange(
        kdc,
        &as_req("nobody-here", &env["AZKRB_LAB_REALM"], 18, nonce(), vec![]),
    ) else {
        panic!("expected an error");
    };
    assert_eq!(err.error_code, ErrorCode::CPrincipalUnknown);
}
