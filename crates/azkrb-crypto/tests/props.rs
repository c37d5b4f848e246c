//! Property tests: decrypt ∘ encrypt = id on every etype and every length 0..4096, and any
//! tampering (a flipped bit, truncation, extension) is an integrity error, never a panic.

use azkrb_crypto::{EncryptionType, Error, Key, KeyUsage};
use proptest::prelude::*;

fn etype() -> impl Strategy<Value = EncryptionType> {
    prop::sample::select(EncryptionType::ALL.to_vec())
}

#[test]
fn round_trip_every_length_on_every_etype() {
    for etype in EncryptionType::ALL {
        let key = Key::random(etype).unwrap();
        let msg: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(31) >> 3) as u8)
            .collect();
        for len in 0..4096 {
            let ct = key.encrypt(KeyUsage(len as u32 % 30), &msg[..len]).unwrap();
            assert_eq!(ct.len(), len + etype.overhead());
            let pt = key.decrypt(KeyUsage(len as u32 % 30), &ct).unwrap();
            assert_eq!(&pt[..], &msg[..len], "{etype} length {len}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn encrypt_then_decrypt_is_identity(
        etype in etype(),
        usage in 0u32..1024,
        msg in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let key = Key::random(etype).unwrap();
        let ct = key.encrypt(KeyUsage(usage), &msg).unwrap();
        prop_assert_eq!(&key.decrypt(KeyUsage(usage), &ct).unwrap()[..], &msg[..]);
    }

    #[test]
    fn any_flipped_bit_fails_integrity(
        etype in etype(),
        msg in prop::collection::vec(any::<u8>(), 0..600),
        bit in any::<prop::sample::Index>(),
    ) {
        let key = Key::random(etype).unwrap();
        let mut ct = key.encrypt(KeyUsage(7), &msg).unwrap();
        let i = bit.index(ct.len() * 8);
        ct[i / 8] ^= 1 << (i % 8);
        let is_integrity_error = matches!(
            key.decrypt(KeyUsage(7), &ct),
            Err(Error::IntegrityCheckFailed { .. })
        );
        prop_assert!(is_integrity_error);
    }

    #[test]
    fn truncation_or_extension_fails(
        etype in etype(),
        msg in prop::collection::vec(any::<u8>(), 0..600),
        cut in any::<prop::sample::Index>(),
        extra in prop::collection::vec(any::<u8>(), 1..40),
    ) {
        let key = Key::random(etype).unwrap();
        let ct = key.encrypt(KeyUsage(11), &msg).unwrap();
        let n = cut.index(ct.len());
        let r = key.decrypt(KeyUsage(11), &ct[..n]);
        let truncated_rejected = matches!(
            r,
            Err(Error::IntegrityCheckFailed { .. } | Error::CiphertextTooShort { .. })
        );
        prop_assert!(truncated_rejected);
        let mut longer = ct.clone();
        longer.extend_from_slice(&extra);
        let extended_rejected = matches!(
            key.decrypt(KeyUsage(11), &longer),
            Err(Error::IntegrityCheckFailed { .. })
        );
        prop_assert!(extended_rejected);
    }

    #[test]
    fn wrong_key_or_usage_fails(
        etype in etype(),
        msg in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let key = Key::random(etype).unwrap();
        let other = Key::random(etype).unwrap();
        let ct = key.encrypt(KeyUsage(3), &msg).unwrap();
        prop_assert!(other.decrypt(KeyUsage(3), &ct).is_err());
        prop_assert!(key.decrypt(KeyUsage(4), &ct).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        etype in etype(),
        data in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let key = Key::random(etype).unwrap();
        let _ = key.decrypt(KeyUsage(1), &data);
        let _ = key.verify_checksum(KeyUsage(1), etype.checksum_type().number(), &data, &data);
    }

    #[test]
    fn checksum_verifies_and_detects_change(
        etype in etype(),
        msg in prop::collection::vec(any::<u8>(), 1..500),
        bit in any::<prop::sample::Index>(),
    ) {
        let key = Key::random(etype).unwrap();
        let ct = etype.checksum_type().number();
        let sum = key.checksum(KeyUsage(6), &msg).unwrap();
        prop_assert_eq!(sum.len(), etype.mac_len());
        prop_assert!(key.verify_checksum(KeyUsage(6), ct, &msg, &sum).is_ok());
        let mut changed = msg.clone();
        let i = bit.index(changed.len() * 8);
        changed[i / 8] ^= 1 << (i % 8);
        prop_assert!(key.verify_checksum(KeyUsage(6), ct, &changed, &sum).is_err());
    }

    #[test]
    fn fast_pbkdf2_matches_reference_crate(
        password in prop::collection::vec(any::<u8>(), 0..150),
        salt in prop::collection::vec(any::<u8>(), 0..80),
        iterations in 1u32..40,
        len in 1usize..70,
    ) {
        let mut ours = vec![0u8; len];
        azkrb_crypto::raw::pbkdf2_sha1(&password, &salt, iterations, &mut ours);
        let mut theirs = vec![0u8; len];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(&password, &salt, iterations, &mut theirs);
        prop_assert_eq!(ours, theirs);
    }
}
