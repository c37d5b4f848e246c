//! The AES Kerberos encryption types, exact and fast.
//!
//! This crate implements the RFC 3961 framework for the four AES encryption types a modern
//! Kerberos client meets:
//!
//! | etype | name | spec |
//! |---|---|---|
//! | 17 | aes128-cts-hmac-sha1-96 | RFC 3962 |
//! | 18 | aes256-cts-hmac-sha1-96 (Entra ID, Azure Files) | RFC 3962 |
//! | 19 | aes128-cts-hmac-sha256-128 | RFC 8009 |
//! | 20 | aes256-cts-hmac-sha384-192 | RFC 8009 |
//!
//! Everything else (DES, RC4, ...) is refused with [`Error::UnsupportedEtype`].
//!
//! What it offers: string-to-key with the KDC's salt and s2kparams ([`Key::from_password`]),
//! random keys, n-fold ([`nfold`]), key derivation (DK and KDF-HMAC-SHA2, cached per key
//! usage inside each [`Key`]), encryption with a random confounder, decryption that verifies
//! integrity in constant time before releasing any plaintext, and keyed checksums. Key bytes
//! are zeroized on drop and never printed.
//!
//! No I/O and no `unsafe`. In the azkrb stack this crate sits beside `azkrb-asn1` at the
//! bottom: `azkrb-cloudtgt` uses it to derive the user's key, open KDC replies and seal
//! authenticators; it depends on no other azkrb crate and can be used on its own.
//!
//! # Examples
//!
//! Encrypt and decrypt under a random key; the key usage is bound into the integrity check:
//!
//! ```
//! use azkrb_crypto::{EncryptionType, Key, KeyUsage};
//!
//! let key = Key::random(EncryptionType::Aes256CtsHmacSha196)?;
//! let ct = key.encrypt(KeyUsage::AP_REQ_AUTHENTICATOR, b"authenticator")?;
//! assert_eq!(ct.len(), b"authenticator".len() + EncryptionType::Aes256CtsHmacSha196.overhead());
//! assert_eq!(&key.decrypt(KeyUsage::AP_REQ_AUTHENTICATOR, &ct)?[..], b"authenticator");
//! // The wrong usage fails the integrity check.
//! assert!(key.decrypt(KeyUsage::AP_REP_ENC_PART, &ct).is_err());
//! # Ok::<(), azkrb_crypto::Error>(())
//! ```
//!
//! string-to-key with the salt and s2kparams a KDC sends in PA-ETYPE-INFO2, checked against
//! the test vector of RFC 3962 Appendix B (1200 iterations); an iteration count far below
//! the defaults is refused as a downgrade:
//!
//! ```
//! use azkrb_crypto::{EncryptionType, Error, Key};
//!
//! let s2kparams = 1200u32.to_be_bytes();
//! let key = Key::from_password(
//!     EncryptionType::Aes256CtsHmacSha196,
//!     b"password",
//!     b"ATHENA.MIT.EDUraeburn",
//!     Some(&s2kparams),
//! )?;
//! assert_eq!(
//!     hex::encode(key.as_bytes()),
//!     "55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a"
//! );
//!
//! let weak = Key::from_password(
//!     EncryptionType::Aes256CtsHmacSha196,
//!     b"password",
//!     b"ATHENA.MIT.EDUraeburn",
//!     Some(&1u32.to_be_bytes()),
//! );
//! assert!(matches!(weak, Err(Error::IterationCountTooSmall { count: 1, .. })));
//! # Ok::<(), azkrb_crypto::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cts;
mod error;
mod hash;
mod key;
mod nfold;
mod prf;
mod rng;
mod types;

pub use error::{Error, Result};
pub use key::{
    Key, MAX_ITERATIONS, MIN_ITERATIONS, Plaintext, parse_s2kparams, random_to_key, string_to_key,
};
pub use nfold::nfold;
pub use prf::fx_cf2;
pub use types::{ChecksumType, EncryptionType, KeyUsage};

/// Raw AES-CTS as Kerberos uses it (zero IV), exposed for tests, fuzzing and benchmarks.
#[doc(hidden)]
pub mod raw {
    use crate::error::{Error, Result};

    /// Encrypts `buf` in place with Kerberos AES-CTS under a 16- or 32-byte key.
    pub fn cts_encrypt(key: &[u8], buf: &mut [u8]) -> Result<()> {
        let aes = crate::cts::Aes::new(key).ok_or(Error::InvalidAesKeyLength(key.len()))?;
        crate::cts::encrypt(&aes, buf)
    }

    /// Decrypts `buf` in place with Kerberos AES-CTS under a 16- or 32-byte key.
    pub fn cts_decrypt(key: &[u8], buf: &mut [u8]) -> Result<()> {
        let aes = crate::cts::Aes::new(key).ok_or(Error::InvalidAesKeyLength(key.len()))?;
        crate::cts::decrypt(&aes, buf)
    }

    /// The derived keys (Kc, Ke, Ki) of `key` for `usage`, for known-answer tests.
    pub fn derived_keys(
        key: &crate::Key,
        usage: crate::KeyUsage,
    ) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        key.derived_keys_for_test(usage)
    }

    /// PBKDF2-HMAC-SHA1 as used by RFC 3962 string-to-key.
    pub fn pbkdf2_sha1(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
        crate::hash::pbkdf2::<crate::hash::Sha1>(password, salt, iterations, out)
    }
}

// The README's examples run as doc tests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
