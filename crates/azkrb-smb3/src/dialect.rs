//! The negotiated algorithms: SMB dialects, encryption ciphers and signing algorithms (typed
//! wire values, shared by the codec and the cryptography without either importing the other).

/// SMB dialects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dialect {
    /// 2.0.2.
    Smb202,
    /// 2.1.
    Smb21,
    /// 3.0.
    Smb30,
    /// 3.0.2.
    Smb302,
    /// 3.1.1.
    Smb311,
}

impl Dialect {
    /// The dialect revision number on the wire.
    pub const fn value(self) -> u16 {
        match self {
            Self::Smb202 => 0x0202,
            Self::Smb21 => 0x0210,
            Self::Smb30 => 0x0300,
            Self::Smb302 => 0x0302,
            Self::Smb311 => 0x0311,
        }
    }

    /// The dialect of a revision number.
    pub fn from_value(v: u16) -> Option<Self> {
        Some(match v {
            0x0202 => Self::Smb202,
            0x0210 => Self::Smb21,
            0x0300 => Self::Smb30,
            0x0302 => Self::Smb302,
            0x0311 => Self::Smb311,
            _ => return None,
        })
    }

    /// True for the SMB 3 family (AES signing and encryption).
    pub const fn is_smb3(self) -> bool {
        matches!(self, Self::Smb30 | Self::Smb302 | Self::Smb311)
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = self.value();
        write!(f, "SMB {}.{}.{}", v >> 8, (v >> 4) & 0xf, v & 0xf)
    }
}

/// Encryption ciphers (MS-SMB2 §2.2.3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// AES-128-CCM (1).
    Aes128Ccm,
    /// AES-128-GCM (2).
    Aes128Gcm,
    /// AES-256-CCM (3).
    Aes256Ccm,
    /// AES-256-GCM (4).
    Aes256Gcm,
}

impl Cipher {
    /// The cipher id on the wire.
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes128Ccm => 1,
            Self::Aes128Gcm => 2,
            Self::Aes256Ccm => 3,
            Self::Aes256Gcm => 4,
        }
    }

    /// The cipher of an id.
    pub fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            1 => Self::Aes128Ccm,
            2 => Self::Aes128Gcm,
            3 => Self::Aes256Ccm,
            4 => Self::Aes256Gcm,
            _ => return None,
        })
    }

    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128Ccm | Self::Aes128Gcm => 16,
            Self::Aes256Ccm | Self::Aes256Gcm => 32,
        }
    }

    /// Nonce bytes used from the 16-byte nonce field.
    pub const fn nonce_len(self) -> usize {
        match self {
            Self::Aes128Ccm | Self::Aes256Ccm => 11,
            Self::Aes128Gcm | Self::Aes256Gcm => 12,
        }
    }

    /// The name Windows and Samba use.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Aes128Ccm => "AES-128-CCM",
            Self::Aes128Gcm => "AES-128-GCM",
            Self::Aes256Ccm => "AES-256-CCM",
            Self::Aes256Gcm => "AES-256-GCM",
        }
    }

    /// Parses a name such as `AES-256-GCM` (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Aes256Gcm,
            Self::Aes128Gcm,
            Self::Aes256Ccm,
            Self::Aes128Ccm,
        ]
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

impl std::fmt::Display for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Signing algorithms (MS-SMB2 §2.2.3.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 (0), dialects 2.x.
    HmacSha256,
    /// AES-CMAC (1), 3.x.
    AesCmac,
    /// AES-GMAC (2), 3.1.1 when negotiated.
    AesGmac,
}

impl SigningAlgorithm {
    /// The id on the wire.
    pub const fn id(self) -> u16 {
        match self {
            Self::HmacSha256 => 0,
            Self::AesCmac => 1,
            Self::AesGmac => 2,
        }
    }

    /// The algorithm of an id.
    pub fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            0 => Self::HmacSha256,
            1 => Self::AesCmac,
            2 => Self::AesGmac,
            _ => return None,
        })
    }
}
