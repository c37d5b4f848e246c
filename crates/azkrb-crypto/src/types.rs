//! Typed protocol numbers: encryption types, checksum types and key usages.

use core::fmt;

use crate::error::{Error, Result};

/// An AES Kerberos encryption type (RFC 3962, RFC 8009).
///
/// Only the four AES types exist as values; every other number (DES, RC4, Camellia, ...)
/// is refused by [`EncryptionType::try_from`] with [`Error::UnsupportedEtype`].
///
/// ```
/// use azkrb_crypto::{EncryptionType, Error};
/// assert_eq!(EncryptionType::try_from(18), Ok(EncryptionType::Aes256CtsHmacSha196));
/// assert_eq!(EncryptionType::try_from(23), Err(Error::UnsupportedEtype(23)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EncryptionType {
    /// aes128-cts-hmac-sha1-96 (17).
    Aes128CtsHmacSha196,
    /// aes256-cts-hmac-sha1-96 (18): what Entra and Azure Files use.
    Aes256CtsHmacSha196,
    /// aes128-cts-hmac-sha256-128 (19).
    Aes128CtsHmacSha256128,
    /// aes256-cts-hmac-sha384-192 (20).
    Aes256CtsHmacSha384192,
}

/// The hash family an encryption type is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha1,
    Sha256,
    Sha384,
}

impl EncryptionType {
    /// All supported types, strongest first (a sensible request order).
    pub const ALL: [EncryptionType; 4] = [
        EncryptionType::Aes256CtsHmacSha196,
        EncryptionType::Aes256CtsHmacSha384192,
        EncryptionType::Aes128CtsHmacSha256128,
        EncryptionType::Aes128CtsHmacSha196,
    ];

    /// The IANA number.
    pub const fn number(self) -> i32 {
        match self {
            Self::Aes128CtsHmacSha196 => 17,
            Self::Aes256CtsHmacSha196 => 18,
            Self::Aes128CtsHmacSha256128 => 19,
            Self::Aes256CtsHmacSha384192 => 20,
        }
    }

    /// The name MIT krb5 uses (`klist -e`, krb5.conf).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes128CtsHmacSha196 => "aes128-cts-hmac-sha1-96",
            Self::Aes256CtsHmacSha196 => "aes256-cts-hmac-sha1-96",
            Self::Aes128CtsHmacSha256128 => "aes128-cts-hmac-sha256-128",
            Self::Aes256CtsHmacSha384192 => "aes256-cts-hmac-sha384-192",
        }
    }

    /// Looks a type up by its MIT name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(name))
    }

    /// Key length in bytes (the AES key size).
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128CtsHmacSha196 | Self::Aes128CtsHmacSha256128 => 16,
            Self::Aes256CtsHmacSha196 | Self::Aes256CtsHmacSha384192 => 32,
        }
    }

    /// Length of the integrity tag appended to ciphertext, in bytes.
    pub const fn mac_len(self) -> usize {
        match self {
            Self::Aes128CtsHmacSha196 | Self::Aes256CtsHmacSha196 => 12,
            Self::Aes128CtsHmacSha256128 => 16,
            Self::Aes256CtsHmacSha384192 => 24,
        }
    }

    /// Length of the random confounder (one AES block).
    pub const fn confounder_len(self) -> usize {
        16
    }

    /// How many bytes encryption adds to a plaintext.
    pub const fn overhead(self) -> usize {
        self.confounder_len() + self.mac_len()
    }

    /// The default PBKDF2 iteration count when the KDC sends no s2kparams.
    pub const fn default_iterations(self) -> u32 {
        match self {
            Self::Aes128CtsHmacSha196 | Self::Aes256CtsHmacSha196 => 4096,
            Self::Aes128CtsHmacSha256128 | Self::Aes256CtsHmacSha384192 => 32768,
        }
    }

    /// The checksum type keyed by this encryption type (its "mandatory" checksum).
    pub const fn checksum_type(self) -> ChecksumType {
        match self {
            Self::Aes128CtsHmacSha196 => ChecksumType::HmacSha196Aes128,
            Self::Aes256CtsHmacSha196 => ChecksumType::HmacSha196Aes256,
            Self::Aes128CtsHmacSha256128 => ChecksumType::HmacSha256128Aes128,
            Self::Aes256CtsHmacSha384192 => ChecksumType::HmacSha384192Aes256,
        }
    }

    pub(crate) const fn hash(self) -> Hash {
        match self {
            Self::Aes128CtsHmacSha196 | Self::Aes256CtsHmacSha196 => Hash::Sha1,
            Self::Aes128CtsHmacSha256128 => Hash::Sha256,
            Self::Aes256CtsHmacSha384192 => Hash::Sha384,
        }
    }

    /// True for the RFC 8009 (SHA-2) types.
    pub const fn is_rfc8009(self) -> bool {
        matches!(
            self,
            Self::Aes128CtsHmacSha256128 | Self::Aes256CtsHmacSha384192
        )
    }
}

impl TryFrom<i32> for EncryptionType {
    type Error = Error;
    fn try_from(n: i32) -> Result<Self> {
        match n {
            17 => Ok(Self::Aes128CtsHmacSha196),
            18 => Ok(Self::Aes256CtsHmacSha196),
            19 => Ok(Self::Aes128CtsHmacSha256128),
            20 => Ok(Self::Aes256CtsHmacSha384192),
            other => Err(Error::UnsupportedEtype(other)),
        }
    }
}

impl From<EncryptionType> for i32 {
    fn from(e: EncryptionType) -> i32 {
        e.number()
    }
}

impl fmt::Display for EncryptionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A keyed AES checksum type (RFC 3962 §7, RFC 8009 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChecksumType {
    /// hmac-sha1-96-aes128 (15).
    HmacSha196Aes128,
    /// hmac-sha1-96-aes256 (16).
    HmacSha196Aes256,
    /// hmac-sha256-128-aes128 (19).
    HmacSha256128Aes128,
    /// hmac-sha384-192-aes256 (20).
    HmacSha384192Aes256,
}

impl ChecksumType {
    /// The IANA number.
    pub const fn number(self) -> i32 {
        match self {
            Self::HmacSha196Aes128 => 15,
            Self::HmacSha196Aes256 => 16,
            Self::HmacSha256128Aes128 => 19,
            Self::HmacSha384192Aes256 => 20,
        }
    }

    /// The encryption type whose keys compute this checksum.
    pub const fn etype(self) -> EncryptionType {
        match self {
            Self::HmacSha196Aes128 => EncryptionType::Aes128CtsHmacSha196,
            Self::HmacSha196Aes256 => EncryptionType::Aes256CtsHmacSha196,
            Self::HmacSha256128Aes128 => EncryptionType::Aes128CtsHmacSha256128,
            Self::HmacSha384192Aes256 => EncryptionType::Aes256CtsHmacSha384192,
        }
    }

    /// Checksum length in bytes.
    pub const fn len(self) -> usize {
        self.etype().mac_len()
    }

    /// Always false: no checksum type is empty. (Present because `len` is.)
    pub const fn is_empty(self) -> bool {
        false
    }
}

impl TryFrom<i32> for ChecksumType {
    type Error = Error;
    fn try_from(n: i32) -> Result<Self> {
        match n {
            15 => Ok(Self::HmacSha196Aes128),
            16 => Ok(Self::HmacSha196Aes256),
            19 => Ok(Self::HmacSha256128Aes128),
            20 => Ok(Self::HmacSha384192Aes256),
            other => Err(Error::UnsupportedChecksumType(other)),
        }
    }
}

impl fmt::Display for ChecksumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::HmacSha196Aes128 => "hmac-sha1-96-aes128",
            Self::HmacSha196Aes256 => "hmac-sha1-96-aes256",
            Self::HmacSha256128Aes128 => "hmac-sha256-128-aes128",
            Self::HmacSha384192Aes256 => "hmac-sha384-192-aes256",
        };
        write!(f, "{name} ({})", self.number())
    }
}

/// A Kerberos key usage number (RFC 4120 §7.5.1, RFC 4121 §2).
///
/// Any `u32` is a valid usage; the constants name the ones a client meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyUsage(pub u32);

impl KeyUsage {
    /// AS-REQ PA-ENC-TIMESTAMP, encrypted with the client key.
    pub const AS_REQ_PA_ENC_TIMESTAMP: Self = Self(1);
    /// Ticket enc-part, encrypted with the service key.
    pub const KDC_REP_TICKET: Self = Self(2);
    /// AS-REP enc-part, encrypted with the client key.
    pub const AS_REP_ENC_PART: Self = Self(3);
    /// TGS-REQ authorization data, encrypted with the TGS session key.
    pub const TGS_REQ_AUTH_DATA_SESSION_KEY: Self = Self(4);
    /// TGS-REQ authorization data, encrypted with the authenticator subkey.
    pub const TGS_REQ_AUTH_DATA_SUBKEY: Self = Self(5);
    /// Checksum of the TGS-REQ body inside the PA-TGS-REQ authenticator.
    pub const TGS_REQ_PA_AUTHENTICATOR_CKSUM: Self = Self(6);
    /// PA-TGS-REQ authenticator, encrypted with the TGS session key.
    pub const TGS_REQ_PA_AUTHENTICATOR: Self = Self(7);
    /// TGS-REP enc-part, encrypted with the TGS session key.
    pub const TGS_REP_ENC_PART_SESSION_KEY: Self = Self(8);
    /// TGS-REP enc-part, encrypted with the authenticator subkey.
    pub const TGS_REP_ENC_PART_SUBKEY: Self = Self(9);
    /// AP-REQ authenticator checksum.
    pub const AP_REQ_AUTHENTICATOR_CKSUM: Self = Self(10);
    /// AP-REQ authenticator, encrypted with the ticket session key.
    pub const AP_REQ_AUTHENTICATOR: Self = Self(11);
    /// AP-REP enc-part, encrypted with the ticket session key.
    pub const AP_REP_ENC_PART: Self = Self(12);
    /// KRB-PRIV enc-part.
    pub const KRB_PRIV_ENC_PART: Self = Self(13);
    /// KRB-CRED enc-part.
    pub const KRB_CRED_ENC_PART: Self = Self(14);
    /// KRB-SAFE checksum.
    pub const KRB_SAFE_CKSUM: Self = Self(15);
    /// KERB-NON-KERB-CKSUM-SALT, used by the MS-PAC server and KDC signatures.
    pub const KERB_NON_KERB_CKSUM_SALT: Self = Self(17);
    /// GSS (RFC 4121) acceptor seal (Wrap with confidentiality).
    pub const GSS_ACCEPTOR_SEAL: Self = Self(22);
    /// GSS (RFC 4121) acceptor sign (MIC and integrity-only Wrap).
    pub const GSS_ACCEPTOR_SIGN: Self = Self(23);
    /// GSS (RFC 4121) initiator seal.
    pub const GSS_INITIATOR_SEAL: Self = Self(24);
    /// GSS (RFC 4121) initiator sign.
    pub const GSS_INITIATOR_SIGN: Self = Self(25);
    /// RFC 6806 §11: the KDC's checksum over the AS-REQ, in the reply key (PA-REQ-ENC-PA-REP).
    pub const AS_REQ: Self = Self(56);
    /// FAST (RFC 6113): the checksum over the outer request, in the armor key.
    pub const FAST_REQ_CHECKSUM: Self = Self(50);
    /// FAST: KrbFastReq encrypted in the armor key.
    pub const FAST_ENC: Self = Self(51);
    /// FAST: KrbFastResponse encrypted in the armor key.
    pub const FAST_REP: Self = Self(52);
    /// FAST: the KrbFastFinished checksum over the ticket, in the armor key.
    pub const FAST_FINISHED: Self = Self(53);
}

impl From<u32> for KeyUsage {
    fn from(n: u32) -> Self {
        Self(n)
    }
}

impl fmt::Display for KeyUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
