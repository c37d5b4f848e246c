//! The Entra `tgt_cloud` import on a real AS-REP (MIT fixture, key from keys.json), in the
//! raw-key and JWE forms. The JWEs here are built independently of the code under test:
//! SP800-108 with `hmac` directly, AES-256-GCM / AES-256-CBC with RustCrypto.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use azkrb_cloudtgt::cloud::CloudTgt;
use azkrb_test_support::fixtures::mit as fixture;

fn keys() -> serde_json::Value {
    serde_json::from_slice(&fixture("keys.json")).unwrap()
}

fn user_key() -> Vec<u8> {
    let k = keys();
    let e = k["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"] == "as-req.der")
        .unwrap()
        .clone();
    hex::decode(e["user_key"]["key"].as_str().unwrap()).unwrap()
}

fn session_key() -> Vec<u8> {
    let k = keys();
    let e = k["exchanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["request"] == "as-req.der")
        .unwrap()
        .clone();
    hex::decode(e["as_rep_session_key"]["key"].as_str().unwrap()).unwrap()
}

fn json(client_key: &str) -> String {
    serde_json::json!({
        "clientKey": client_key,
        "keyType": 18,
        "messageBuffer": STANDARD.encode(fixture("as-rep.der")),
        "realm": "KERBEROS.MICROSOFTONLINE.COM",
        "sn": "krbtgt/KERBEROS.MICROSOFTONLINE.COM",
        "cn": "alice",
        "sessionKeyType": 18,
        "accountType": 1
    })
    .to_string()
}

/// SP800-108 counter mode, HMAC-SHA256, label "AzureAD-SecureConversation", 256 bits.
fn kdf(prt_key: &[u8], ctx: &[u8]) -> Vec<u8> {
    let mut input = 1u32.to_be_bytes().to_vec();
    input.extend_from_slice(b"AzureAD-SecureConversation");
    input.push(0);
    input.extend_from_slice(ctx);
    input.extend_from_slice(&256u32.to_be_bytes());
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(prt_key).unwrap();
    mac.update(&input);
    mac.finalize().into_bytes().to_vec()
}

fn jwe_gcm(plain: &[u8], prt_key: &[u8]) -> String {
    let ctx = [7u8; 24];
    let header = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"dir","enc":"A256GCM","ctx":"{}"}}"#,
        STANDARD.encode(ctx)
    ));
    let key = kdf(prt_key, &ctx);
    let iv = [9u8; 12];
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
    let out = cipher
        .encrypt(
            &aes_gcm::Nonce::try_from(&iv[..]).unwrap(),
            Payload {
                msg: plain,
                aad: header.as_bytes(),
            },
        )
        .unwrap();
    let (ct, tag) = out.split_at(out.len() - 16);
    format!(
        "{header}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ct),
        URL_SAFE_NO_PAD.encode(tag)
    )
}

fn jwe_cbc(plain: &[u8], prt_key: &[u8]) -> String {
    use cbc::cipher::{BlockModeEncrypt, KeyIvInit, block_padding::Pkcs7};
    let ctx = [3u8; 24];
    let header = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"dir","enc":"A256CBC","ctx":"{}"}}"#,
        STANDARD.encode(ctx)
    ));
    let key = kdf(prt_key, &ctx);
    let iv = [5u8; 16];
    let ct = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &iv)
        .unwrap()
        .encrypt_padded_vec::<Pkcs7>(plain);
    format!(
        "{header}..{}.{}.",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ct)
    )
}

#[test]
fn raw_client_key_imports_the_real_as_rep() {
    let t = CloudTgt::from_json(&json(&STANDARD.encode(user_key()))).unwrap();
    let cred = t.credential(None).unwrap();
    assert_eq!(
        cred.client.to_string(),
        "alice@KERBEROS.MICROSOFTONLINE.COM"
    );
    assert!(cred.is_tgt());
    assert_eq!(cred.session_key.as_bytes(), session_key().as_slice());
    // The object may arrive serialized as a string, or inside a whole PRT response.
    let as_string = serde_json::Value::String(json(&STANDARD.encode(user_key()))).to_string();
    assert!(
        CloudTgt::from_json(&as_string)
            .unwrap()
            .credential(None)
            .is_ok()
    );
    let prt =
        serde_json::json!({"token_type": "pop", "tgt_cloud": json(&STANDARD.encode(user_key()))})
            .to_string();
    assert!(CloudTgt::from_json(&prt).unwrap().credential(None).is_ok());
}

#[test]
fn jwe_client_keys_gcm_and_cbc() {
    let prt_key = [0x42u8; 32];
    for form in [
        jwe_gcm(&user_key(), &prt_key),
        jwe_cbc(&user_key(), &prt_key),
        jwe_gcm(STANDARD.encode(user_key()).as_bytes(), &prt_key),
    ] {
        let t = CloudTgt::from_json(&json(&form)).unwrap();
        let cred = t.credential(Some(&prt_key)).unwrap();
        assert_eq!(cred.session_key.as_bytes(), session_key().as_slice());
        // Without, or with the wrong, PRT session key: clear errors.
        assert!(
            t.credential(None)
                .unwrap_err()
                .to_string()
                .contains("PRT session key")
        );
        assert!(t.credential(Some(&[1u8; 32])).is_err());
    }
}

#[test]
fn unusable_objects_are_clear_errors() {
    let e = CloudTgt::from_json(r#"{"error":"AADSTS50105 user not assigned","keyType":0}"#)
        .unwrap()
        .credential(None)
        .unwrap_err();
    assert!(
        e.to_string().contains("no cloud TGT") && e.to_string().contains("AADSTS50105"),
        "{e}"
    );
    let mut v: serde_json::Value =
        serde_json::from_str(&json(&STANDARD.encode(user_key()))).unwrap();
    v["keyType"] = 23.into();
    let e = CloudTgt::from_json(&v.to_string())
        .unwrap()
        .credential(None)
        .unwrap_err();
    assert!(e.to_string().contains("not 18"), "{e}");
    let e = CloudTgt::from_json(&json("not base64!"))
        .unwrap()
        .credential(None)
        .unwrap_err();
    assert!(e.to_string().contains("base64"), "{e}");
    let e = CloudTgt::from_json(&json(&STANDARD.encode([0u8; 32])))
        .unwrap()
        .credential(None)
        .unwrap_err();
    assert!(e.to_string().contains("does not decrypt"), "{e}");
    assert!(CloudTgt::from_json("{").is_err());
    let mut v: serde_json::Value =
        serde_json::from_str(&json(&STANDARD.encode(user_key()))).unwrap();
    v["messageBuffer"] = STANDARD.encode(fixture("tgs-rep.der")).into();
    let e = CloudTgt::from_json(&v.to_string())
        .unwrap()
        .credential(None)
        .unwrap_err();
    assert!(e.to_string().contains("not an AS-REP"), "{e}");
    let e = CloudTgt::from_json(&json("a.b.c"))
        .unwrap()
        .credential(Some(&[0; 32]))
        .unwrap_err();
    assert!(e.to_string().contains("5 parts"), "{e}");
}

#[test]
fn a_cloud_tgt_whose_ticket_names_another_server_is_refused() {
    use azkrb_asn1::{KerberosMessage, NameType, PrincipalName};
    let Ok(KerberosMessage::AsRep(mut rep)) = KerberosMessage::from_der(&fixture("as-rep.der"))
    else {
        panic!("as-rep.der is not an AS-REP");
    };
    // The encrypted part still names krbtgt/KERBEROS.MICROSOFTONLINE.COM; the ticket's clear
    // header is rewritten to another realm's TGS.
    rep.0.ticket.sname = PrincipalName::new(NameType::SrvInst, ["krbtgt", "EVIL.TEST"]);
    rep.0.ticket.realm = "EVIL.TEST".into();
    let mut v: serde_json::Value =
        serde_json::from_str(&json(&STANDARD.encode(user_key()))).unwrap();
    v["messageBuffer"] = STANDARD
        .encode(azkrb_asn1::encode("AS-REP", &rep).unwrap())
        .into();
    let e = CloudTgt::from_json(&v.to_string())
        .unwrap()
        .credential(None)
        .unwrap_err();
    assert!(
        matches!(&e, azkrb_cloudtgt::Error::WrongServer { got, .. } if got == "krbtgt/EVIL.TEST@EVIL.TEST"),
        "{e}"
    );
}
