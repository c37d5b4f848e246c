//! No key bytes in any `Debug` output: a KRB-CRED with an unencrypted enc-part (etype 0)
//! carries session keys in clear, and so may the delegation field of a GSS checksum.

use azkrb_asn1::gss::{GssChecksum, context_flags};
use azkrb_asn1::krb::{
    EncKrbCredPart, EncryptedData, EncryptionKey, KeyValue, KrbCred, KrbCredInfo,
};
use azkrb_asn1::{KerberosMessage, MessageType, encode};

/// A key whose bytes are easy to spot: c0 c1 c2 ... df.
fn key() -> Vec<u8> {
    (0xc0..=0xdf).collect()
}

/// `debug` shows no 4-byte run of `key` as hex (either case, packed or as a `{:x?}` list),
/// as a decimal list (`Vec<u8>`'s `Debug`) or as escaped bytes (`Bytes`' `Debug`).
fn assert_redacted(what: &str, debug: &str, key: &[u8]) {
    for w in key.windows(4) {
        let forms = [
            w.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            w.iter().map(|b| format!("{b:02X}")).collect::<String>(),
            format!("{w:x?}").trim_matches(['[', ']']).to_string(),
            format!("{w:?}").trim_matches(['[', ']']).to_string(),
            w.iter().map(|b| format!("\\x{b:02x}")).collect::<String>(),
        ];
        for form in forms {
            assert!(
                !debug.contains(&form),
                "{what}: Debug shows key bytes ({form}): {debug}"
            );
        }
    }
}

fn krb_cred(etype: i32) -> KrbCred {
    let part = EncKrbCredPart {
        ticket_info: vec![KrbCredInfo {
            key: EncryptionKey {
                keytype: 18,
                keyvalue: KeyValue::new(key()),
            },
            prealm: Some("EXAMPLE.TEST".into()),
            pname: None,
            flags: None,
            authtime: None,
            starttime: None,
            endtime: None,
            renew_till: None,
            srealm: None,
            sname: None,
            caddr: None,
        }],
        nonce: None,
        timestamp: None,
        usec: None,
        s_address: None,
        r_address: None,
    };
    KrbCred {
        pvno: 5,
        msg_type: MessageType::KrbCred,
        tickets: Vec::new(),
        enc_part: EncryptedData {
            etype,
            kvno: None,
            cipher: encode("EncKrbCredPart", &part).unwrap().into(),
        },
    }
}

#[test]
fn unencrypted_krb_cred_does_not_show_its_keys() {
    let cred = krb_cred(0);
    let der = encode("KRB-CRED", &cred).unwrap();
    let debug = format!("{cred:?}");
    assert_redacted("KrbCred", &debug, &key());
    assert!(
        debug.contains("etype: 0") && debug.contains("redacted"),
        "{debug}"
    );
    let msg = KerberosMessage::from_der(&der).unwrap();
    assert_redacted("KerberosMessage::KrbCred", &format!("{msg:?}"), &key());
    // The decoded enc-part itself redacts its key.
    let part: EncKrbCredPart = azkrb_asn1::decode("EncKrbCredPart", &cred.enc_part.cipher).unwrap();
    assert_redacted("EncKrbCredPart", &format!("{part:?}"), &key());
    // An encrypted one shows its length, not its bytes.
    assert!(format!("{:?}", krb_cred(18)).contains("encrypted"));
}

#[test]
fn gss_checksum_does_not_show_a_delegated_krb_cred() {
    let der = encode("KRB-CRED", &krb_cred(0)).unwrap();
    let mut c = GssChecksum::new(context_flags::DELEG | context_flags::MUTUAL);
    c.delegation = Some((1, der.clone()));
    let debug = format!("{c:?}");
    assert_redacted("GssChecksum", &debug, &key());
    assert!(
        debug.contains(&format!("{} bytes redacted", der.len())),
        "{debug}"
    );
    // Round trip unaffected.
    assert_eq!(GssChecksum::decode(&c.encode().unwrap()).unwrap(), c);
}

#[test]
fn encryption_keys_do_not_show_their_bytes() {
    let k = EncryptionKey {
        keytype: 18,
        keyvalue: KeyValue::new(key()),
    };
    assert_redacted("EncryptionKey", &format!("{k:?}"), &key());
    assert_redacted("EncryptionKey {:#?}", &format!("{k:#?}"), &key());
}
