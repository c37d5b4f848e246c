//! Decrypt and checksum-verify arbitrary bytes under arbitrary keys and usages, on all four
//! AES etypes: every outcome must be a value or an error, never a panic. Whatever does
//! decrypt must re-encrypt and decrypt back to the same plaintext.
#![no_main]

use azkrb_crypto::{EncryptionType, Key, KeyUsage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let etype = EncryptionType::ALL[usize::from(selector) % EncryptionType::ALL.len()];
    let Some((usage, rest)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let usage = KeyUsage(u32::from_be_bytes(*usage));
    if rest.len() < etype.key_len() {
        // Short key material must be a clean error too.
        assert!(Key::new(etype, rest).is_err());
        return;
    }
    let (key_bytes, ciphertext) = rest.split_at(etype.key_len());
    let Ok(key) = Key::new(etype, key_bytes) else {
        return;
    };
    if let Ok(plain) = key.decrypt(usage, ciphertext) {
        let again = key.encrypt(usage, &plain).expect("encrypt");
        assert_eq!(
            &key.decrypt(usage, &again).expect("decrypt")[..],
            &plain[..]
        );
    }
    let _ = key.verify_checksum(
        usage,
        etype.checksum_type().number(),
        ciphertext,
        ciphertext,
    );
    let _ = key.verify_checksum(usage, i32::from(selector), ciphertext, ciphertext);
});
