//! SMB 3.x cryptography (MS-SMB2 §3.1.4): the SP800-108 KDF and the session keys, message
//! signing (AES-CMAC, AES-GMAC, HMAC-SHA256), the TRANSFORM_HEADER encryption (AES-128/256
//! CCM/GCM) and the 3.1.1 pre-authentication integrity hash.

use aes::{Aes128, Aes256};
use aes_gcm::aead::{AeadInOut, KeyInit};
use ccm::consts::{U11, U16};
use cmac::Cmac;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub use crate::dialect::{Cipher, Dialect, SigningAlgorithm};

/// SP800-108 counter-mode KDF with HMAC-SHA256 (r = 32): the first `bits` bits of
/// HMAC(key, \[1\]_4 ‖ label ‖ 0x00 ‖ context ‖ \[bits\]_4) (and further blocks if needed).
pub fn kdf(key: &[u8], label: &[u8], context: &[u8], bits: u32) -> Zeroizing<Vec<u8>> {
    let len = (bits / 8) as usize;
    let mut out = Zeroizing::new(Vec::with_capacity(len + 32));
    let mut i = 1u32;
    while out.len() < len {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
        mac.update(&i.to_be_bytes());
        mac.update(label);
        mac.update(&[0]);
        mac.update(context);
        mac.update(&bits.to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// The keys of an SMB 3.x session.
pub struct SessionKeys {
    /// Signing key (16 bytes).
    pub signing: Zeroizing<Vec<u8>>,
    /// Client-to-server encryption key.
    pub encryption: Zeroizing<Vec<u8>>,
    /// Server-to-client decryption key.
    pub decryption: Zeroizing<Vec<u8>>,
    /// Application key (16 bytes).
    pub application: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

/// The 16-byte SessionKey: the first 16 bytes of the GSS key, zero-padded.
pub fn session_key_16(full: &[u8]) -> [u8; 16] {
    let mut k = [0u8; 16];
    for (d, s) in k.iter_mut().zip(full) {
        *d = *s;
    }
    k
}

/// Derives the session keys (MS-SMB2 §3.2.5.3.1, §3.3.5.5.3).
///
/// Signing and application keys always come from the 16-byte SessionKey. For 3.1.1 with
/// AES-256-CCM/GCM the cipher keys come from the FULL session key with L = 256 (the whole
/// 32-byte Kerberos key): using the truncated key there is the classic interop bug.
/// `preauth` is the 3.1.1 pre-authentication integrity hash of the session.
pub fn derive_keys(
    dialect: Dialect,
    cipher: Option<Cipher>,
    full_session_key: &[u8],
    preauth: Option<&[u8; 64]>,
) -> Result<SessionKeys> {
    let sk = session_key_16(full_session_key);
    match dialect {
        Dialect::Smb311 => {
            let ctx = preauth
                .ok_or_else(|| Error::Protocol("SMB 3.1.1 keys need the preauth hash".into()))?;
            let (enc_key, bits): (&[u8], u32) = match cipher {
                Some(Cipher::Aes256Ccm | Cipher::Aes256Gcm) => (full_session_key, 256),
                _ => (&sk, 128),
            };
            Ok(SessionKeys {
                signing: kdf(&sk, b"SMBSigningKey\0", ctx, 128),
                encryption: kdf(enc_key, b"SMBC2SCipherKey\0", ctx, bits),
                decryption: kdf(enc_key, b"SMBS2CCipherKey\0", ctx, bits),
                application: kdf(&sk, b"SMBAppKey\0", ctx, 128),
            })
        }
        Dialect::Smb30 | Dialect::Smb302 => Ok(SessionKeys {
            signing: kdf(&sk, b"SMB2AESCMAC\0", b"SmbSign\0", 128),
            encryption: kdf(&sk, b"SMB2AESCCM\0", b"ServerIn \0", 128),
            decryption: kdf(&sk, b"SMB2AESCCM\0", b"ServerOut\0", 128),
            application: kdf(&sk, b"SMB2APP\0", b"SmbRpc\0", 128),
        }),
        Dialect::Smb202 | Dialect::Smb21 => Ok(SessionKeys {
            signing: Zeroizing::new(sk.to_vec()),
            encryption: Zeroizing::new(Vec::new()),
            decryption: Zeroizing::new(Vec::new()),
            application: Zeroizing::new(sk.to_vec()),
        }),
    }
}

/// The SMB2 header flag marking a signed message.
pub const FLAG_SIGNED: u32 = 0x0000_0008;
const SIG_OFFSET: usize = 48;

/// Computes the signature of `message` (a whole SMB2 message, header first), with the
/// signature field treated as zero and the SIGNED flag as set.
pub fn signature(
    algorithm: SigningAlgorithm,
    key: &[u8],
    message: &[u8],
    from_server: bool,
) -> Result<[u8; 16]> {
    if message.len() < 64 {
        return Err(Error::Protocol(format!(
            "cannot sign a {}-byte message",
            message.len()
        )));
    }
    let mut m = message.to_vec();
    if let Some(flags) = m.get_mut(16..20) {
        let v = u32::from_le_bytes([flags[0], flags[1], flags[2], flags[3]]) | FLAG_SIGNED;
        flags.copy_from_slice(&v.to_le_bytes());
    }
    if let Some(sig) = m.get_mut(SIG_OFFSET..SIG_OFFSET + 16) {
        sig.fill(0);
    }
    let mut out = [0u8; 16];
    match algorithm {
        SigningAlgorithm::AesCmac => {
            let mut mac = <Cmac<Aes128> as KeyInit>::new_from_slice(key)
                .map_err(|_| Error::Protocol("bad signing key length".into()))?;
            Mac::update(&mut mac, &m);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        SigningAlgorithm::HmacSha256 => {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
                .map_err(|_| Error::Protocol("bad signing key".into()))?;
            mac.update(&m);
            out.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        }
        SigningAlgorithm::AesGmac => {
            let message_id = m.get(24..32).map_or(0, |b| {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                u64::from_le_bytes(a)
            });
            let command = m
                .get(12..14)
                .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&message_id.to_le_bytes());
            let mut role = u32::from(from_server);
            if command == 0x000c {
                role |= 2; // CANCEL
            }
            nonce[8..].copy_from_slice(&role.to_le_bytes());
            let gcm = aes_gcm::Aes128Gcm::new_from_slice(key)
                .map_err(|_| Error::Protocol("bad signing key length".into()))?;
            let tag = gcm
                .encrypt_inout_detached(&nonce.into(), &m, (&mut [][..]).into())
                .map_err(|_| Error::Protocol("GMAC failed".into()))?;
            out.copy_from_slice(&tag);
        }
    }
    Ok(out)
}

/// Verifies the signature carried in `message` (constant-time).
pub fn verify(
    algorithm: SigningAlgorithm,
    key: &[u8],
    message: &[u8],
    from_server: bool,
) -> Result<()> {
    let expect = signature(algorithm, key, message, from_server)?;
    let got = message.get(SIG_OFFSET..SIG_OFFSET + 16).unwrap_or_default();
    if bool::from(expect.ct_eq(got)) {
        Ok(())
    } else {
        Err(Error::BadSignature)
    }
}

/// Signs `message` in place: sets the SIGNED flag and writes the signature.
pub fn sign(
    algorithm: SigningAlgorithm,
    key: &[u8],
    message: &mut [u8],
    from_server: bool,
) -> Result<()> {
    let sig = signature(algorithm, key, message, from_server)?;
    if let Some(flags) = message.get_mut(16..20) {
        let v = u32::from_le_bytes([flags[0], flags[1], flags[2], flags[3]]) | FLAG_SIGNED;
        flags.copy_from_slice(&v.to_le_bytes());
    }
    if let Some(s) = message.get_mut(SIG_OFFSET..SIG_OFFSET + 16) {
        s.copy_from_slice(&sig);
    }
    Ok(())
}

/// The TRANSFORM_HEADER protocol id.
pub const TRANSFORM_ID: [u8; 4] = [0xfd, b'S', b'M', b'B'];
/// TRANSFORM_HEADER length.
pub const TRANSFORM_LEN: usize = 52;

/// An AEAD key for one direction of one session.
pub enum AeadKey {
    /// AES-128-CCM.
    Ccm128(Box<ccm::Ccm<Aes128, U16, U11>>),
    /// AES-256-CCM.
    Ccm256(Box<ccm::Ccm<Aes256, U16, U11>>),
    /// AES-128-GCM or AES-256-GCM (ring's assembly implementation: the bulk data path).
    Gcm(Box<ring::aead::LessSafeKey>),
}

impl std::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeadKey(<redacted>)")
    }
}

impl AeadKey {
    /// The key for `cipher`.
    pub fn new(cipher: Cipher, key: &[u8]) -> Result<Self> {
        let bad = || {
            Error::Protocol(format!(
                "a {cipher} key is {} bytes, got {}",
                cipher.key_len(),
                key.len()
            ))
        };
        Ok(match cipher {
            Cipher::Aes128Ccm => {
                Self::Ccm128(Box::new(ccm::Ccm::new_from_slice(key).map_err(|_| bad())?))
            }
            Cipher::Aes256Ccm => {
                Self::Ccm256(Box::new(ccm::Ccm::new_from_slice(key).map_err(|_| bad())?))
            }
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => {
                let alg = if cipher == Cipher::Aes128Gcm {
                    &ring::aead::AES_128_GCM
                } else {
                    &ring::aead::AES_256_GCM
                };
                let unbound = ring::aead::UnboundKey::new(alg, key).map_err(|_| bad())?;
                Self::Gcm(Box::new(ring::aead::LessSafeKey::new(unbound)))
            }
        })
    }

    fn seal(&self, nonce: &[u8; 16], aad: &[u8], buf: &mut [u8]) -> Result<[u8; 16]> {
        let fail = || Error::Protocol("encryption failed".into());
        let mut n11 = [0u8; 11];
        n11.copy_from_slice(&nonce[..11]);
        let tag: [u8; 16] = match self {
            Self::Ccm128(c) => c
                .encrypt_inout_detached(&n11.into(), aad, buf.into())
                .map_err(|_| fail())?
                .into(),
            Self::Ccm256(c) => c
                .encrypt_inout_detached(&n11.into(), aad, buf.into())
                .map_err(|_| fail())?
                .into(),
            Self::Gcm(k) => {
                let mut n = [0u8; 12];
                n.copy_from_slice(&nonce[..12]);
                let tag = k
                    .seal_in_place_separate_tag(
                        ring::aead::Nonce::assume_unique_for_key(n),
                        ring::aead::Aad::from(aad),
                        buf,
                    )
                    .map_err(|_| fail())?;
                let mut t = [0u8; 16];
                t.copy_from_slice(tag.as_ref());
                t
            }
        };
        Ok(tag)
    }

    fn open(&self, nonce: &[u8; 16], aad: &[u8], buf: &mut [u8], tag: &[u8; 16]) -> Result<()> {
        let mut n11 = [0u8; 11];
        n11.copy_from_slice(&nonce[..11]);
        match self {
            Self::Ccm128(c) => c
                .decrypt_inout_detached(&n11.into(), aad, buf.into(), tag.into())
                .map_err(|_| Error::BadSignature),
            Self::Ccm256(c) => c
                .decrypt_inout_detached(&n11.into(), aad, buf.into(), tag.into())
                .map_err(|_| Error::BadSignature),
            Self::Gcm(k) => {
                let mut n = [0u8; 12];
                n.copy_from_slice(&nonce[..12]);
                k.open_in_place_separate_tag(
                    ring::aead::Nonce::assume_unique_for_key(n),
                    ring::aead::Aad::from(aad),
                    ring::aead::Tag::from(*tag),
                    buf,
                    0..,
                )
                .map(drop)
                .map_err(|_| Error::BadSignature)
            }
        }
    }
}

/// Wraps `message` in a TRANSFORM_HEADER, encrypted under `key`. `nonce` must never repeat
/// for the key: callers use a counter (only its first 11 or 12 bytes are used; the rest
/// must be zero).
pub fn encrypt(
    key: &AeadKey,
    session_id: u64,
    nonce: &[u8; 16],
    message: &[u8],
) -> Result<Vec<u8>> {
    let size =
        u32::try_from(message.len()).map_err(|_| Error::Protocol("message too large".into()))?;
    let mut out = Vec::with_capacity(TRANSFORM_LEN + message.len());
    out.extend_from_slice(&TRANSFORM_ID);
    out.extend_from_slice(&[0u8; 16]);
    out.extend_from_slice(nonce);
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // Flags: Encrypted
    out.extend_from_slice(&session_id.to_le_bytes());
    out.extend_from_slice(message);
    let (header, body) = out.split_at_mut(TRANSFORM_LEN);
    let tag = key.seal(nonce, &header[20..TRANSFORM_LEN], body)?;
    header[4..20].copy_from_slice(&tag);
    Ok(out)
}

/// Encrypts in place: `buf` holds [`TRANSFORM_LEN`] reserved bytes followed by the message;
/// afterwards it is the whole TRANSFORM_HEADER message (no copy of the payload is made).
pub fn encrypt_in_place(
    key: &AeadKey,
    session_id: u64,
    nonce: &[u8; 16],
    buf: &mut [u8],
) -> Result<()> {
    let size = buf
        .len()
        .checked_sub(TRANSFORM_LEN)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| Error::Protocol("bad message size".into()))?;
    let (header, body) = buf.split_at_mut(TRANSFORM_LEN);
    header[..4].copy_from_slice(&TRANSFORM_ID);
    header[4..20].fill(0);
    header[20..36].copy_from_slice(nonce);
    header[36..40].copy_from_slice(&size.to_le_bytes());
    header[40..42].copy_from_slice(&0u16.to_le_bytes());
    header[42..44].copy_from_slice(&1u16.to_le_bytes());
    header[44..52].copy_from_slice(&session_id.to_le_bytes());
    let tag = key.seal(nonce, &header[20..TRANSFORM_LEN], body)?;
    header[4..20].copy_from_slice(&tag);
    Ok(())
}

/// The fields of a received TRANSFORM_HEADER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformHeader {
    /// The nonce field, all 16 bytes as received.
    pub nonce: [u8; 16],
    /// OriginalMessageSize.
    pub original_size: u32,
    /// SessionId.
    pub session_id: u64,
}

/// Parses a TRANSFORM_HEADER (without decrypting).
pub fn parse_transform(data: &[u8]) -> Result<TransformHeader> {
    let h = data.get(..TRANSFORM_LEN).ok_or_else(|| {
        Error::Malformed(format!(
            "TRANSFORM_HEADER needs 52 bytes, got {}",
            data.len()
        ))
    })?;
    if h[..4] != TRANSFORM_ID {
        return Err(Error::Malformed(
            "not a TRANSFORM_HEADER (protocol id)".into(),
        ));
    }
    let mut nonce = [0u8; 16];
    nonce.copy_from_slice(&h[20..36]);
    let original_size = u32::from_le_bytes([h[36], h[37], h[38], h[39]]);
    let mut sid = [0u8; 8];
    sid.copy_from_slice(&h[44..52]);
    Ok(TransformHeader {
        nonce,
        original_size,
        session_id: u64::from_le_bytes(sid),
    })
}

/// Decrypts a TRANSFORM_HEADER message in place and returns the plaintext. The AAD is the
/// header's bytes 20..52 exactly as received (the nonce tail included).
pub fn decrypt(key: &AeadKey, data: &mut [u8]) -> Result<TransformHeader> {
    let th = parse_transform(data)?;
    if th.original_size as usize != data.len() - TRANSFORM_LEN {
        return Err(Error::Malformed(format!(
            "TRANSFORM_HEADER says {} bytes, {} follow",
            th.original_size,
            data.len() - TRANSFORM_LEN
        )));
    }
    let (header, body) = data.split_at_mut(TRANSFORM_LEN);
    let mut tag = [0u8; 16];
    tag.copy_from_slice(&header[4..20]);
    key.open(&th.nonce, &header[20..TRANSFORM_LEN], body, &tag)?;
    Ok(th)
}

/// The 3.1.1 pre-authentication integrity hash: H' = SHA-512(H ‖ message).
#[derive(Clone)]
pub struct PreauthHash(pub [u8; 64]);

impl std::fmt::Debug for PreauthHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not a secret, but the input of key derivation: printed short.
        write!(f, "PreauthHash({:02x}{:02x}..)", self.0[0], self.0[1])
    }
}

impl Default for PreauthHash {
    fn default() -> Self {
        Self([0; 64])
    }
}

impl PreauthHash {
    /// Absorbs one message (its exact bytes, without the transport's length prefix).
    pub fn update(&mut self, message: &[u8]) {
        let mut h = Sha512::new();
        h.update(self.0);
        h.update(message);
        self.0.copy_from_slice(&h.finalize());
    }
}
