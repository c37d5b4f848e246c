//! Malformed input gives a typed error that says which message, which field and what was
//! wrong.

use azkrb_asn1::gss::{GssChecksum, InitialContextToken, MicToken};
use azkrb_asn1::kkdcp::{add_length_prefix, strip_length_prefix};
use azkrb_asn1::spnego::NegotiationToken;
use azkrb_asn1::{Error, KdcProxyMessage, KerberosMessage, decode_enc_kdc_rep_part};
use azkrb_test_support::fixtures::mit as fixture;

#[test]
fn der_errors_name_the_message_and_field() {
    let mut bytes = fixture("as-req.der");
    // Corrupt the nonce's INTEGER tag deep inside req-body.
    let nonce_tag = bytes
        .windows(3)
        .position(|w| w[0] == 0xa7 && w[2] == 0x02)
        .unwrap();
    bytes[nonce_tag + 2] = 0x04;
    let err = KerberosMessage::from_der(&bytes).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Der { what: "AS-REQ", .. }), "{err:?}");
    assert!(
        text.contains("nonce"),
        "error should name the field: {text}"
    );

    let err = KerberosMessage::from_der(&fixture("tgs-rep.der")[..100]).unwrap_err();
    assert!(err.to_string().starts_with("malformed TGS-REP"), "{err}");

    let err = KerberosMessage::from_der(&[0x42, 0x00]).unwrap_err();
    assert!(
        err.to_string()
            .contains("0x42 is not the tag of a Kerberos message"),
        "{err}"
    );
    assert!(KerberosMessage::from_der(&[]).is_err());

    let err = decode_enc_kdc_rep_part(&[0x7b, 0x00]).unwrap_err();
    assert!(
        err.to_string()
            .contains("[APPLICATION 25] or [APPLICATION 26]"),
        "{err}"
    );
}

#[test]
fn length_prefix_is_validated() {
    assert_eq!(
        strip_length_prefix(&add_length_prefix(b"abc")).unwrap(),
        b"abc"
    );
    let err = strip_length_prefix(&[0, 0, 0, 5, 1, 2])
        .unwrap_err()
        .to_string();
    assert!(err.contains("prefix says 5 bytes, 2 follow"), "{err}");
    let err = strip_length_prefix(&[0x80, 0, 0, 0])
        .unwrap_err()
        .to_string();
    assert!(err.contains("reserved high bit"), "{err}");
    let err = strip_length_prefix(&[0, 0]).unwrap_err().to_string();
    assert!(err.contains("field length"), "{err}");

    let mut m = KdcProxyMessage::from_der(&fixture("kkdcp-rep-3.der")).unwrap();
    m.kerb_message = m.kerb_message[..m.kerb_message.len() - 1].to_vec().into();
    assert!(m.message().is_err());
    let err = KdcProxyMessage::from_der(&fixture("kkdcp-rep-3.der")[..50]).unwrap_err();
    assert!(
        err.to_string().starts_with("malformed KDC-PROXY-MESSAGE"),
        "{err}"
    );
}

#[test]
fn gss_and_spnego_errors() {
    let err = InitialContextToken::decode(&[0x61, 0x00])
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected 0x60"), "{err}");
    let err = InitialContextToken::decode(&[0x60, 0x10, 0x06])
        .unwrap_err()
        .to_string();
    assert!(err.contains("field length"), "{err}");
    let err = MicToken::decode(&[0x04, 0x04, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00])
        .unwrap_err()
        .to_string();
    assert!(err.contains("Filler"), "{err}");
    let err = GssChecksum::decode(&[8, 0, 0, 0]).unwrap_err().to_string();
    assert!(err.contains("Lgth"), "{err}");
    // Delegation flag set but the credential runs past the end.
    let mut ck = vec![16, 0, 0, 0];
    ck.extend([0; 16]);
    ck.extend(1u32.to_le_bytes());
    ck.extend([1, 0, 0xff, 0x00]);
    let err = GssChecksum::decode(&ck).unwrap_err().to_string();
    assert!(err.contains("Deleg"), "{err}");
    let err = NegotiationToken::decode(&[0xa2, 0x00])
        .unwrap_err()
        .to_string();
    assert!(err.contains("negTokenInit or [1] negTokenResp"), "{err}");
    // A SPNEGO wrapper around another mechanism.
    let krb = fixture("gss-initial-token.der");
    let err = NegotiationToken::decode(&krb).unwrap_err().to_string();
    assert!(err.contains("SPNEGO OID"), "{err}");
}
