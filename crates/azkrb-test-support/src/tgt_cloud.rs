//! An Entra-style `tgt_cloud` object made from a real lab AS-REP: the AS exchange is run by
//! hand to keep the AS-REP bytes and the reply key; `clientKey` is the raw key, or a compact
//! JWE (`dir` + A256GCM, Entra's KDF context in the header) under a given PRT session key,
//! sealed here with aes-gcm independently of the code under test.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use azkrb_asn1::{KerberosMessage, KerberosTime};
use azkrb_cloudtgt::{AsExchange, AsSecret, AsStep};
use azkrb_crypto::{EncryptionType, Key};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// The JSON of a `tgt_cloud` for the lab's user (alice), with a JWE `clientKey` when
/// `prt_session_key` is given.
pub async fn lab_tgt_cloud(env: &crate::Env, prt_session_key: Option<&[u8]>) -> String {
    let client = crate::kerberos_client(env);
    let alice = crate::lab_user(env);
    let password = env["AZKRB_LAB_PASSWORD"].clone();
    let now = KerberosTime::now();
    let mut x = AsExchange::new(alice, AsSecret::Password(password.clone().into()), now).unwrap();
    let kdcs = client.config().kdcs_for(x.realm()).unwrap().to_vec();
    let first = client
        .transport()
        .send(&kdcs, x.realm(), x.request())
        .await
        .unwrap();
    let KerberosMessage::KrbError(err) = KerberosMessage::from_der(&first).unwrap() else {
        panic!("expected PREAUTH_REQUIRED");
    };
    let salt = err.etype_info2()[0].salt.clone().unwrap();
    let key = Key::from_password(
        EncryptionType::Aes256CtsHmacSha196,
        password.as_bytes(),
        salt.as_bytes(),
        None,
    )
    .unwrap();
    assert!(matches!(
        x.handle_reply(&first, now).unwrap(),
        AsStep::Continue
    ));
    let as_rep = client
        .transport()
        .send(&kdcs, x.realm(), x.request())
        .await
        .unwrap();
    assert!(matches!(
        x.handle_reply(&as_rep, KerberosTime::now()).unwrap(),
        AsStep::Done(_)
    ));
    let client_key = match prt_session_key {
        None => STANDARD.encode(key.as_bytes()),
        Some(prt) => jwe_a256gcm(key.as_bytes(), prt, &[0x11; 24]),
    };
    serde_json::json!({
        "clientKey": client_key,
        "keyType": 18,
        "messageBuffer": STANDARD.encode(&as_rep),
        "realm": env["AZKRB_LAB_REALM"],
    })
    .to_string()
}

/// A compact JWE of `plain` under the key Entra derives from the PRT session key and `ctx`.
pub fn jwe_a256gcm(plain: &[u8], prt_session_key: &[u8], ctx: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"alg":"dir","enc":"A256GCM","ctx":"{}"}}"#,
        STANDARD.encode(ctx)
    ));
    let derived = azkrb_cloudtgt::cloud::derive_session_key(prt_session_key, ctx).unwrap();
    let iv = [0x22u8; 12];
    let sealed = aes_gcm::Aes256Gcm::new_from_slice(&derived)
        .unwrap()
        .encrypt(
            &aes_gcm::Nonce::try_from(&iv[..]).unwrap(),
            Payload {
                msg: plain,
                aad: header.as_bytes(),
            },
        )
        .unwrap();
    let (ct, tag) = sealed.split_at(sealed.len() - 16);
    format!(
        "{header}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ct),
        URL_SAFE_NO_PAD.encode(tag)
    )
}
