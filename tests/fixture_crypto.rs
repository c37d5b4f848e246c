//! azkrb-crypto and azkrb-asn1 together on real captured bytes (tests/fixtures/mit, keys in
//! keys.json): string-to-key with the KDC's salt, PA-ENC-TIMESTAMP, AS-REP and ticket
//! decryption, the TGS-REQ authenticator's req-body checksum, the TGS-REP under the subkey;
//! and the RFC 4121 MIC / Wrap vectors of PROTOCOL-NOTES §2.12.

use azkrb::crypto::{EncryptionType, Key, KeyUsage};
use azkrb_asn1::gss::{MicToken, WrapToken, token_flags};
use azkrb_asn1::krb::{Authenticator, EncTicketPart, EncryptedData, PaEncTsEnc};
use azkrb_asn1::{KerberosMessage, PaDataType, decode, decode_enc_kdc_rep_part, encode};
use azkrb_test_support::fixtures::mit as fixture;
use hex_literal::hex;
use serde_json::Value;

fn keys() -> Value {
    serde_json::from_slice(&fixture("keys.json")).unwrap()
}

fn key(v: &Value) -> Key {
    let etype = EncryptionType::try_from(v["etype"].as_i64().unwrap() as i32).unwrap();
    Key::new(etype, &hex::decode(v["key"].as_str().unwrap()).unwrap()).unwrap()
}

fn exchange(request: &str) -> Value {
    keys()["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"] == request)
        .unwrap()
        .clone()
}

#[test]
fn string_to_key_with_the_kdc_salt_matches_mit() {
    let k = keys();
    let entries = k["long_term_keys"].as_array().unwrap();
    assert!(entries.len() >= 5);
    for e in entries {
        let etype = EncryptionType::try_from(e["etype"].as_i64().unwrap() as i32).unwrap();
        let ours = Key::from_password(
            etype,
            e["password"].as_str().unwrap().as_bytes(),
            e["salt"].as_str().unwrap().as_bytes(),
            None,
        )
        .unwrap();
        assert_eq!(
            hex::encode(ours.as_bytes()),
            e["key"].as_str().unwrap(),
            "{e}"
        );
    }
}

#[test]
fn pa_enc_timestamp_and_as_rep_decrypt() {
    for (req, rep, dec) in [
        ("as-req.der", "as-rep.der", "as-rep.enc-part.der"),
        (
            "as-req-enterprise.der",
            "as-rep-enterprise.der",
            "as-rep-enterprise.enc-part.der",
        ),
        (
            "as-req-utf8.der",
            "as-rep-utf8.der",
            "as-rep-utf8.enc-part.der",
        ),
        (
            "as-req-sha2.der",
            "as-rep-sha2.der",
            "as-rep-sha2.enc-part.der",
        ),
    ] {
        let ex = exchange(req);
        let user = key(&ex["user_key"]);
        let KerberosMessage::AsReq(r) = KerberosMessage::from_der(&fixture(req)).unwrap() else {
            panic!()
        };
        let pa =
            r.0.padata
                .unwrap()
                .into_iter()
                .find(|p| p.padata_type == PaDataType::EncTimestamp)
                .unwrap();
        let enc: EncryptedData = decode("PA-ENC-TIMESTAMP", &pa.padata_value).unwrap();
        let ts = user
            .decrypt(KeyUsage::AS_REQ_PA_ENC_TIMESTAMP, &enc.cipher)
            .unwrap();
        let stem = req.trim_end_matches(".der");
        assert_eq!(
            &ts[..],
            &fixture(&format!("decrypted/{stem}.pa-enc-timestamp.der"))[..]
        );
        let ts: PaEncTsEnc = decode("PA-ENC-TS-ENC", &ts).unwrap();
        assert!(ts.patimestamp.unix() > 1_700_000_000);

        let KerberosMessage::AsRep(a) = KerberosMessage::from_der(&fixture(rep)).unwrap() else {
            panic!()
        };
        let plain = user
            .decrypt(KeyUsage::AS_REP_ENC_PART, &a.0.enc_part.cipher)
            .unwrap();
        assert_eq!(
            &plain[..],
            &fixture(&format!("decrypted/{dec}"))[..],
            "{rep}"
        );
        let (part, _) = decode_enc_kdc_rep_part(&plain).unwrap();
        let session = key(&ex["as_rep_session_key"]);
        assert_eq!(&part.key.keyvalue[..], session.as_bytes());
        assert_eq!(part.nonce, r.0.req_body.nonce);
        // The other usage, or another key, is an integrity error.
        assert!(
            user.decrypt(KeyUsage::TGS_REP_ENC_PART_SESSION_KEY, &a.0.enc_part.cipher)
                .is_err()
        );
    }
    // The wrong password's timestamp does not decrypt under the right key.
    let right = key(&exchange("as-req.der")["user_key"]);
    let KerberosMessage::AsReq(r) =
        KerberosMessage::from_der(&fixture("as-req-wrongpw.der")).unwrap()
    else {
        panic!()
    };
    let pa =
        r.0.padata
            .unwrap()
            .into_iter()
            .find(|p| p.padata_type == PaDataType::EncTimestamp)
            .unwrap();
    let enc: EncryptedData = decode("PA-ENC-TIMESTAMP", &pa.padata_value).unwrap();
    assert!(
        right
            .decrypt(KeyUsage::AS_REQ_PA_ENC_TIMESTAMP, &enc.cipher)
            .is_err()
    );
}

#[test]
fn tgt_decrypts_with_the_krbtgt_key() {
    let k = keys();
    let krbtgt = k["keytab_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["principal"] == "krbtgt/KERBEROS.MICROSOFTONLINE.COM@KERBEROS.MICROSOFTONLINE.COM"
        })
        .unwrap();
    let KerberosMessage::AsRep(a) = KerberosMessage::from_der(&fixture("as-rep.der")).unwrap()
    else {
        panic!()
    };
    let plain = key(krbtgt)
        .decrypt(KeyUsage::KDC_REP_TICKET, &a.0.ticket.enc_part.cipher)
        .unwrap();
    assert_eq!(
        &plain[..],
        &fixture("decrypted/as-rep.ticket.EncTicketPart.der")[..]
    );
    let etp: EncTicketPart = decode("EncTicketPart", &plain).unwrap();
    assert_eq!(etp.cname.to_text(), "alice");
}

#[test]
fn plain_tgs_exchange_checksums_and_decrypts() {
    for req in ["tgs-req-plain.der", "tgs-req-plain-sha2.der"] {
        let ex = exchange(req);
        let tgt_session = key(&ex["tgt_session_key"]);
        let subkey = key(&ex["subkey"]);
        let KerberosMessage::TgsReq(r) = KerberosMessage::from_der(&fixture(req)).unwrap() else {
            panic!()
        };
        let pa =
            r.0.padata
                .as_ref()
                .unwrap()
                .iter()
                .find(|p| p.padata_type == PaDataType::TgsReq)
                .unwrap();
        let KerberosMessage::ApReq(ap) = KerberosMessage::from_der(&pa.padata_value).unwrap()
        else {
            panic!()
        };
        let auth = tgt_session
            .decrypt(KeyUsage::TGS_REQ_PA_AUTHENTICATOR, &ap.authenticator.cipher)
            .unwrap();
        let auth: Authenticator = decode("Authenticator", &auth).unwrap();
        assert_eq!(
            &auth.subkey.as_ref().unwrap().keyvalue[..],
            subkey.as_bytes()
        );
        // The checksum covers the DER of KDC-REQ-BODY without the [4] tag.
        let body = encode("KDC-REQ-BODY", &r.0.req_body).unwrap();
        let ck = auth.cksum.unwrap();
        tgt_session
            .verify_checksum(
                KeyUsage::TGS_REQ_PA_AUTHENTICATOR_CKSUM,
                ck.cksumtype.value(),
                &body,
                &ck.checksum,
            )
            .unwrap();
        let mut tampered = body.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(
            tgt_session
                .verify_checksum(
                    KeyUsage::TGS_REQ_PA_AUTHENTICATOR_CKSUM,
                    ck.cksumtype.value(),
                    &tampered,
                    &ck.checksum
                )
                .is_err()
        );

        let rep = req.replace("req", "rep");
        let KerberosMessage::TgsRep(t) = KerberosMessage::from_der(&fixture(&rep)).unwrap() else {
            panic!()
        };
        let plain = subkey
            .decrypt(KeyUsage::TGS_REP_ENC_PART_SUBKEY, &t.0.enc_part.cipher)
            .unwrap();
        let (part, _) = decode_enc_kdc_rep_part(&plain).unwrap();
        assert_eq!(
            &part.key.keyvalue[..],
            key(&ex["service_session_key"]).as_bytes()
        );
        assert_eq!(part.nonce, r.0.req_body.nonce);
        assert_eq!(part.sname.to_text(), "cifs/acct.file.core.windows.net");
    }
}

const RFC4121_KEY: [u8; 16] = hex!("14f9bde6b50ec508201a97f74c4e5bd3");

#[test]
fn rfc4121_mic_tokens() {
    let key = Key::new(EncryptionType::Aes128CtsHmacSha196, &RFC4121_KEY).unwrap();
    for (usage, expect) in [
        (
            KeyUsage::GSS_ACCEPTOR_SIGN,
            hex!("040401ffffffffff00000000575e85d6c34d12ba3e5b1b1310cd9cb3"),
        ),
        (
            KeyUsage::GSS_INITIATOR_SIGN,
            hex!("040400ffffffffff00000000000000009649ca09d2f1bc51ff6e5ca3"),
        ),
    ] {
        let token = MicToken::decode(&expect).unwrap();
        let header = token.header();
        let sum = key
            .checksum_parts(usage, &[&hex!("deadbeef"), &header])
            .unwrap();
        assert_eq!(sum, token.checksum);
        let built = MicToken {
            checksum: sum,
            ..token.clone()
        };
        assert_eq!(built.encode(), expect);
        let acceptor = token.flags & token_flags::SENT_BY_ACCEPTOR != 0;
        assert_eq!(acceptor, usage == KeyUsage::GSS_ACCEPTOR_SIGN);
        key.verify_checksum_parts(usage, 15, &[&hex!("deadbeef"), &header], &token.checksum)
            .unwrap();
        assert!(
            key.verify_checksum_parts(usage, 15, &[&hex!("deadbeee"), &header], &token.checksum)
                .is_err()
        );
    }
}

#[test]
fn rfc4121_integrity_only_wrap_tokens() {
    let key = Key::new(EncryptionType::Aes128CtsHmacSha196, &RFC4121_KEY).unwrap();
    for (usage, expect) in [
        (
            KeyUsage::GSS_ACCEPTOR_SEAL,
            hex!("050401ff000c000000000000575e85d601010000853b728d5268525a1386c19f"),
        ),
        (
            KeyUsage::GSS_INITIATOR_SEAL,
            hex!("050400ff000c000000000000000000000101000079a033510b6f127212242b97"),
        ),
    ] {
        let token = WrapToken::decode(&expect).unwrap();
        assert_eq!(token.ec, 12, "EC is the checksum length");
        let (payload, checksum) = token.data.split_at(token.data.len() - 12);
        // Wrap tokens use the SEAL usages even without confidentiality, and EC and RRC are
        // zero in the checksum input.
        let header = WrapToken {
            ec: 0,
            rrc: 0,
            ..token.clone()
        }
        .header();
        let sum = key.checksum_parts(usage, &[payload, &header]).unwrap();
        assert_eq!(sum, checksum);
        assert_eq!(payload, hex!("01010000"));
    }
}
