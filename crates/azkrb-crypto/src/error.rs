//! The one error type of this crate.

use crate::EncryptionType;

/// Everything that can go wrong in a cryptographic operation.
///
/// No variant carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The peer asked for an encryption type azkrb does not implement (DES, RC4, ...).
    #[error(
        "encryption type {} is not supported: azkrb speaks only the AES types \
         (17, 18, 19, 20); the account or KDC must allow AES-256 (aes256-cts-hmac-sha1-96)",
        etype_label(*.0)
    )]
    UnsupportedEtype(i32),
    /// A checksum type that is not one of the four AES checksum types.
    #[error(
        "checksum type {0} is not supported: azkrb verifies only the AES checksum types 15, 16, 19 and 20"
    )]
    UnsupportedChecksumType(i32),
    /// A checksum type that does not belong to the key's encryption type.
    #[error("checksum type {checksum} cannot be computed with a {etype} key")]
    ChecksumTypeMismatch {
        /// The key's encryption type.
        etype: EncryptionType,
        /// The checksum type that was asked for.
        checksum: i32,
    },
    /// Raw key bytes of the wrong length for the encryption type.
    #[error("a {etype} key is {expected} bytes long, but {got} bytes were given")]
    InvalidKeyLength {
        /// The encryption type.
        etype: EncryptionType,
        /// The length that type needs.
        expected: usize,
        /// The length that was given.
        got: usize,
    },
    /// string-to-key parameters (s2kparams) that are not 4 bytes.
    #[error("string-to-key parameters must be 4 bytes (an iteration count), got {0} bytes")]
    InvalidS2kParams(usize),
    /// An iteration count beyond what any sane KDC sends; a hostile KDC could use it to
    /// make the client spin for hours.
    #[error(
        "the KDC asked for {count} PBKDF2 iterations, more than the {max} azkrb accepts; \
         this KDC reply is not trustworthy"
    )]
    IterationCountTooLarge {
        /// The count the parameters carried (2^32 for an all-zero parameter).
        count: u64,
        /// The largest count accepted.
        max: u64,
    },
    /// The KDC asked for fewer PBKDF2 iterations than any real KDC uses: a downgrade that
    /// would make an intercepted encrypted timestamp cheap to brute-force.
    #[error(
        "the KDC asked for only {count} PBKDF2 iterations (at least {min} are required); \
         refusing a string-to-key downgrade"
    )]
    IterationCountTooSmall {
        /// The count the parameters carried.
        count: u32,
        /// The smallest count accepted from a KDC.
        min: u32,
    },
    /// An AES key that is neither 16 nor 32 bytes.
    #[error("an AES key is 16 or 32 bytes, got {0}")]
    InvalidAesKeyLength(usize),
    /// Ciphertext shorter than a confounder plus an integrity tag.
    #[error("ciphertext of {len} bytes is too short for {etype} (at least {min} bytes)")]
    CiphertextTooShort {
        /// The encryption type.
        etype: EncryptionType,
        /// The length received.
        len: usize,
        /// The shortest valid length.
        min: usize,
    },
    /// The ciphertext's integrity tag did not verify: wrong key, wrong key usage, or the
    /// data was changed in transit.
    #[error(
        "integrity check failed while decrypting ({etype}, key usage {usage}): wrong key \
         (for a password login: wrong password or salt), wrong key usage, or tampered data"
    )]
    IntegrityCheckFailed {
        /// The encryption type.
        etype: EncryptionType,
        /// The key usage number.
        usage: u32,
    },
    /// A checksum did not verify.
    #[error("checksum mismatch (checksum type {ctype}, key usage {usage})")]
    ChecksumMismatch {
        /// The checksum type.
        ctype: i32,
        /// The key usage number.
        usage: u32,
    },
    /// Input to the ciphertext-stealing mode shorter than one block.
    #[error("AES-CTS needs at least 16 bytes of input, got {0}")]
    CtsInputTooShort(usize),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed: {0}")]
    Random(String),
    /// A length the function cannot produce or take.
    #[error("{what}: {len} bytes is more than this function can produce")]
    InvalidLength {
        /// What was asked for.
        what: &'static str,
        /// The length asked for.
        len: usize,
    },
}

/// A readable label for any etype number, for error messages.
pub(crate) fn etype_label(n: i32) -> String {
    let name = match n {
        1 => "des-cbc-crc",
        2 => "des-cbc-md4",
        3 => "des-cbc-md5",
        5 => "des3-cbc-md5",
        7 => "des3-cbc-sha1",
        16 => "des3-cbc-sha1-kd",
        17 => "aes128-cts-hmac-sha1-96",
        18 => "aes256-cts-hmac-sha1-96",
        19 => "aes128-cts-hmac-sha256-128",
        20 => "aes256-cts-hmac-sha384-192",
        23 => "rc4-hmac",
        24 => "rc4-hmac-exp",
        25 => "camellia128-cts-cmac",
        26 => "camellia256-cts-cmac",
        -128 => "rc4-hmac-old-exp",
        _ => return format!("{n} (unknown)"),
    };
    format!("{name} ({n})")
}

/// This crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
