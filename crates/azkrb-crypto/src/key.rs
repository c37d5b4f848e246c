//! Keys, key derivation, encryption, decryption and checksums.

use std::sync::{Arc, OnceLock, RwLock};

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::cts::{self, Aes};
use crate::error::{Error, Result};
use crate::hash::{HmacKey, MAX_OUT, Sha1, Sha256, Sha384};
use crate::nfold::nfold;
use crate::types::{ChecksumType, EncryptionType, Hash, KeyUsage};

/// The smallest PBKDF2 iteration count accepted in s2kparams from a KDC. Real KDCs send the
/// defaults (4,096 or 32,768) or more; far fewer is a downgrade attempt.
pub const MIN_ITERATIONS: u32 = 1000;

/// The largest PBKDF2 iteration count accepted from a KDC (2^24, the same bound MIT krb5
/// applies). At about 1 ms per 4,096 iterations that is roughly four seconds of work.
pub const MAX_ITERATIONS: u32 = 1 << 24;

/// A Kerberos key: an encryption type and its key bytes.
///
/// The bytes live in a zeroizing buffer and are wiped when the key is dropped; `Debug`
/// prints only the type. Keys derived for each key usage (Kc, Ke, Ki) are computed once and
/// cached inside the key, so repeated operations with one usage pay no derivation cost. A
/// `Key` is `Send + Sync` and can be shared between tasks.
///
/// ```
/// use azkrb_crypto::{EncryptionType, Key, KeyUsage};
///
/// let key = Key::from_password(
///     EncryptionType::Aes256CtsHmacSha196,
///     b"password",
///     b"KERBEROS.MICROSOFTONLINE.COMalice",
///     None,
/// )?;
/// let sealed = key.encrypt(KeyUsage::AS_REQ_PA_ENC_TIMESTAMP, b"timestamp")?;
/// let opened = key.decrypt(KeyUsage::AS_REQ_PA_ENC_TIMESTAMP, &sealed)?;
/// assert_eq!(&opened[..], b"timestamp");
/// # Ok::<(), azkrb_crypto::Error>(())
/// ```
pub struct Key {
    etype: EncryptionType,
    bytes: Zeroizing<Vec<u8>>,
    cache: RwLock<Vec<(u32, Arc<UsageKeys>)>>,
}

/// At most this many usages are cached per key; a client uses a handful.
const CACHE_LIMIT: usize = 32;

impl Clone for Key {
    fn clone(&self) -> Self {
        Self {
            etype: self.etype,
            bytes: self.bytes.clone(),
            cache: RwLock::new(Vec::new()),
        }
    }
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Key")
            .field("etype", &self.etype)
            .field("bytes", &"<redacted>")
            .finish()
    }
}

impl PartialEq for Key {
    /// Constant-time comparison of type and bytes.
    fn eq(&self, other: &Self) -> bool {
        self.etype == other.etype && bool::from(self.bytes.ct_eq(&other.bytes))
    }
}
impl Eq for Key {}

/// An HMAC key for whichever hash the encryption type uses.
#[derive(Clone)]
enum Mac {
    Sha1(HmacKey<Sha1>),
    Sha256(HmacKey<Sha256>),
    Sha384(HmacKey<Sha384>),
}

impl Mac {
    fn new(hash: Hash, key: &[u8]) -> Self {
        match hash {
            Hash::Sha1 => Self::Sha1(HmacKey::new(key)),
            Hash::Sha256 => Self::Sha256(HmacKey::new(key)),
            Hash::Sha384 => Self::Sha384(HmacKey::new(key)),
        }
    }

    /// The full-length HMAC of the concatenated parts (truncate as the etype says).
    fn mac(&self, parts: &[&[u8]]) -> [u8; MAX_OUT] {
        let mut out = [0u8; MAX_OUT];
        match self {
            Self::Sha1(k) => k.mac_parts(parts, &mut out),
            Self::Sha256(k) => k.mac_parts(parts, &mut out),
            Self::Sha384(k) => k.mac_parts(parts, &mut out),
        }
        out
    }
}

/// The keys derived from a base key for one usage.
struct UsageKeys {
    /// Ke as an expanded AES key, and Ki as an HMAC key.
    enc: OnceLock<(Aes, Mac)>,
    /// Kc as an HMAC key.
    cksum: OnceLock<Mac>,
}

impl Key {
    /// Wraps raw key bytes of the right length for `etype`.
    pub fn new(etype: EncryptionType, bytes: &[u8]) -> Result<Self> {
        if bytes.len() != etype.key_len() {
            return Err(Error::InvalidKeyLength {
                etype,
                expected: etype.key_len(),
                got: bytes.len(),
            });
        }
        Ok(Self {
            etype,
            bytes: Zeroizing::new(bytes.to_vec()),
            cache: RwLock::new(Vec::new()),
        })
    }

    /// Wraps raw key bytes given with an IANA etype number, as a Kerberos `EncryptionKey`
    /// carries them.
    pub fn from_wire(etype: i32, bytes: &[u8]) -> Result<Self> {
        Self::new(EncryptionType::try_from(etype)?, bytes)
    }

    /// A fresh random key from the operating system's generator (random-to-key of random
    /// bytes), e.g. an AP-REQ subkey.
    pub fn random(etype: EncryptionType) -> Result<Self> {
        let mut bytes = Zeroizing::new(vec![0u8; etype.key_len()]);
        getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
        Self::new(etype, &bytes)
    }

    /// string-to-key (RFC 3962 §4, RFC 8009 §4).
    ///
    /// `salt` must be the salt the KDC announced in PA-ETYPE-INFO2 (never a computed one);
    /// `s2kparams` is its optional 4-byte big-endian iteration count. Without parameters the
    /// type's default applies (4,096 or 32,768). Counts above [`MAX_ITERATIONS`], including
    /// the all-zero value that means 2^32, are refused.
    pub fn from_password(
        etype: EncryptionType,
        password: &[u8],
        salt: &[u8],
        s2kparams: Option<&[u8]>,
    ) -> Result<Self> {
        let iterations = match s2kparams {
            None => etype.default_iterations(),
            Some(p) => parse_s2kparams(p)?,
        };
        Self::from_password_iterations(etype, password, salt, iterations)
    }

    /// string-to-key with an explicit iteration count (1 ..= [`MAX_ITERATIONS`]).
    pub fn from_password_iterations(
        etype: EncryptionType,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<Self> {
        if iterations == 0 || iterations > MAX_ITERATIONS {
            return Err(Error::IterationCountTooLarge {
                count: if iterations == 0 {
                    1 << 32
                } else {
                    u64::from(iterations)
                },
                max: u64::from(MAX_ITERATIONS),
            });
        }
        let len = etype.key_len();
        let mut tkey = Zeroizing::new(vec![0u8; len]);
        match etype.hash() {
            Hash::Sha1 => {
                crate::hash::pbkdf2::<Sha1>(password, salt, iterations, &mut tkey);
                let tkey = Key::new(etype, &tkey)?;
                let derived = tkey.dk(b"kerberos")?;
                Key::new(etype, &derived)
            }
            hash => {
                let mut saltp = Vec::with_capacity(etype.name().len() + 1 + salt.len());
                saltp.extend_from_slice(etype.name().as_bytes());
                saltp.push(0);
                saltp.extend_from_slice(salt);
                match hash {
                    Hash::Sha256 => {
                        crate::hash::pbkdf2::<Sha256>(password, &saltp, iterations, &mut tkey)
                    }
                    _ => crate::hash::pbkdf2::<Sha384>(password, &saltp, iterations, &mut tkey),
                }
                let derived = kdf_hmac_sha2(etype, &tkey, b"kerberos", &[], len);
                Key::new(etype, &derived)
            }
        }
    }

    /// The encryption type.
    pub fn etype(&self) -> EncryptionType {
        self.etype
    }

    /// The raw key bytes. Handle with care: they are the secret.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Derives the protocol key for `constant` with the type's derivation function:
    /// DK (RFC 3961 §5.1) for the SHA-1 types, KDF-HMAC-SHA2 (RFC 8009 §3) for the others,
    /// with the output length of Kc/Ki (`integrity == true`) or Ke/base keys.
    pub(crate) fn derive(&self, constant: &[u8], integrity: bool) -> Result<Zeroizing<Vec<u8>>> {
        if self.etype.is_rfc8009() {
            let len = if integrity {
                self.etype.mac_len()
            } else {
                self.etype.key_len()
            };
            Ok(kdf_hmac_sha2(self.etype, &self.bytes, constant, &[], len))
        } else {
            self.dk(constant)
        }
    }

    /// DK(base, constant) of RFC 3961 §5.1 for AES (random-to-key is the identity).
    fn dk(&self, constant: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let aes = self.aes()?;
        let len = self.etype.key_len();
        let folded = nfold(constant, 16);
        let mut block = [0u8; 16];
        block.copy_from_slice(&folded);
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        while out.len() < len {
            aes.encrypt_block(&mut block);
            let take = (len - out.len()).min(16);
            out.extend_from_slice(&block[..take]);
        }
        block.zeroize();
        Ok(out)
    }

    pub(crate) fn derived_keys_for_test(
        &self,
        usage: KeyUsage,
    ) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        Ok((
            self.derive(&Self::constant(usage, 0x99), true)?.to_vec(),
            self.derive(&Self::constant(usage, 0xAA), false)?.to_vec(),
            self.derive(&Self::constant(usage, 0x55), true)?.to_vec(),
        ))
    }

    pub(crate) fn aes(&self) -> Result<Aes> {
        Aes::new(&self.bytes).ok_or(Error::InvalidKeyLength {
            etype: self.etype,
            expected: self.etype.key_len(),
            got: self.bytes.len(),
        })
    }

    fn usage_keys(&self, usage: KeyUsage) -> Arc<UsageKeys> {
        if let Ok(cache) = self.cache.read()
            && let Some((_, k)) = cache.iter().find(|(u, _)| *u == usage.0)
        {
            return Arc::clone(k);
        }
        let fresh = Arc::new(UsageKeys {
            enc: OnceLock::new(),
            cksum: OnceLock::new(),
        });
        if let Ok(mut cache) = self.cache.write() {
            if let Some((_, k)) = cache.iter().find(|(u, _)| *u == usage.0) {
                return Arc::clone(k);
            }
            if cache.len() >= CACHE_LIMIT {
                cache.remove(0);
            }
            cache.push((usage.0, Arc::clone(&fresh)));
        }
        fresh
    }

    fn constant(usage: KeyUsage, kind: u8) -> [u8; 5] {
        let u = usage.0.to_be_bytes();
        [u[0], u[1], u[2], u[3], kind]
    }

    fn with_enc_keys<T>(&self, usage: KeyUsage, f: impl FnOnce(&Aes, &Mac) -> T) -> Result<T> {
        let keys = self.usage_keys(usage);
        if let Some((aes, mac)) = keys.enc.get() {
            return Ok(f(aes, mac));
        }
        let ke = self.derive(&Self::constant(usage, 0xAA), false)?;
        let ki = self.derive(&Self::constant(usage, 0x55), true)?;
        let aes = Aes::new(&ke).ok_or(Error::InvalidKeyLength {
            etype: self.etype,
            expected: self.etype.key_len(),
            got: ke.len(),
        })?;
        let pair = keys
            .enc
            .get_or_init(|| (aes, Mac::new(self.etype.hash(), &ki)));
        Ok(f(&pair.0, &pair.1))
    }

    fn with_cksum_key<T>(&self, usage: KeyUsage, f: impl FnOnce(&Mac) -> T) -> Result<T> {
        let keys = self.usage_keys(usage);
        if let Some(mac) = keys.cksum.get() {
            return Ok(f(mac));
        }
        let kc = self.derive(&Self::constant(usage, 0x99), true)?;
        let mac = keys.cksum.get_or_init(|| Mac::new(self.etype.hash(), &kc));
        Ok(f(mac))
    }

    /// Encrypts `plaintext` for `usage` with a fresh random confounder.
    ///
    /// The result is the `EncryptedData.cipher` octets: the CTS ciphertext of
    /// confounder‖plaintext followed by the truncated HMAC (RFC 3961 §5.3, RFC 8009 §5).
    pub fn encrypt(&self, usage: KeyUsage, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut confounder = [0u8; 16];
        crate::rng::confounder(&mut confounder)?;
        let out = self.encrypt_with_confounder(usage, &confounder, plaintext);
        confounder.zeroize();
        out
    }

    /// Encrypts with a caller-chosen confounder. This exists for known-answer tests only: a
    /// confounder must be random and never reused, which [`Key::encrypt`] guarantees.
    #[doc(hidden)]
    pub fn encrypt_with_confounder(
        &self,
        usage: KeyUsage,
        confounder: &[u8; 16],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let etype = self.etype;
        let mac_len = etype.mac_len();
        let mut out = Vec::with_capacity(16 + plaintext.len() + mac_len);
        out.extend_from_slice(confounder);
        out.extend_from_slice(plaintext);
        self.with_enc_keys(usage, |aes, mac| {
            if etype.is_rfc8009() {
                // Encrypt-then-MAC over IV (zero) ‖ ciphertext.
                cts::encrypt(aes, &mut out)?;
                let tag = mac.mac(&[&[0u8; 16], &out]);
                out.extend_from_slice(&tag[..mac_len]);
            } else {
                // MAC-then-encrypt: HMAC over confounder ‖ plaintext.
                let tag = mac.mac(&[&out]);
                cts::encrypt(aes, &mut out)?;
                out.extend_from_slice(&tag[..mac_len]);
            }
            Ok(out)
        })?
    }

    /// Decrypts `EncryptedData.cipher` octets for `usage`.
    ///
    /// The integrity tag is checked in constant time; on any mismatch the whole result is
    /// an [`Error::IntegrityCheckFailed`] and no plaintext leaves this function.
    pub fn decrypt(&self, usage: KeyUsage, ciphertext: &[u8]) -> Result<Plaintext> {
        let etype = self.etype;
        let mac_len = etype.mac_len();
        let min = 16 + mac_len;
        if ciphertext.len() < min {
            return Err(Error::CiphertextTooShort {
                etype,
                len: ciphertext.len(),
                min,
            });
        }
        let (body, tag) = ciphertext.split_at(ciphertext.len() - mac_len);
        let fail = Error::IntegrityCheckFailed {
            etype,
            usage: usage.0,
        };
        self.with_enc_keys(usage, |aes, mac| {
            if etype.is_rfc8009() {
                let expect = mac.mac(&[&[0u8; 16], body]);
                if !bool::from(expect[..mac_len].ct_eq(tag)) {
                    return Err(fail);
                }
                let mut buf = Zeroizing::new(vec![0u8; body.len()]);
                cts::decrypt_b2b(aes, body, &mut buf)?;
                Ok(Plaintext { buf, start: 16 })
            } else {
                let mut buf = Zeroizing::new(vec![0u8; body.len()]);
                cts::decrypt_b2b(aes, body, &mut buf)?;
                let expect = mac.mac(&[&buf]);
                if !bool::from(expect[..mac_len].ct_eq(tag)) {
                    return Err(fail);
                }
                Ok(Plaintext { buf, start: 16 })
            }
        })?
    }

    /// The keyed checksum of `data` for `usage`, of this key's checksum type
    /// ([`EncryptionType::checksum_type`]).
    pub fn checksum(&self, usage: KeyUsage, data: &[u8]) -> Result<Vec<u8>> {
        self.checksum_parts(usage, &[data])
    }

    /// The keyed checksum of the concatenation of `parts` (avoids building a buffer, e.g.
    /// for RFC 4121 tokens, whose checksum covers payload ‖ header).
    pub fn checksum_parts(&self, usage: KeyUsage, parts: &[&[u8]]) -> Result<Vec<u8>> {
        let len = self.etype.mac_len();
        self.with_cksum_key(usage, |mac| mac.mac(parts)[..len].to_vec())
    }

    /// Verifies a checksum of type `ctype` (an IANA number, as carried in a `Checksum`)
    /// over `data`, in constant time.
    pub fn verify_checksum(
        &self,
        usage: KeyUsage,
        ctype: i32,
        data: &[u8],
        checksum: &[u8],
    ) -> Result<()> {
        self.verify_checksum_parts(usage, ctype, &[data], checksum)
    }

    /// [`Key::verify_checksum`] over the concatenation of `parts`.
    pub fn verify_checksum_parts(
        &self,
        usage: KeyUsage,
        ctype: i32,
        parts: &[&[u8]],
        checksum: &[u8],
    ) -> Result<()> {
        let ct = ChecksumType::try_from(ctype)?;
        if ct.etype() != self.etype {
            return Err(Error::ChecksumTypeMismatch {
                etype: self.etype,
                checksum: ctype,
            });
        }
        let expect = self.checksum_parts(usage, parts)?;
        if bool::from(expect.ct_eq(checksum)) {
            Ok(())
        } else {
            Err(Error::ChecksumMismatch {
                ctype,
                usage: usage.0,
            })
        }
    }
}

/// Decrypted bytes (the confounder already stripped), wiped from memory when dropped.
///
/// Derefs to `[u8]`; `Debug` shows only the length.
pub struct Plaintext {
    buf: Zeroizing<Vec<u8>>,
    start: usize,
}

impl Plaintext {
    /// The plaintext as an owned, zeroizing vector (moves the bytes once).
    pub fn into_vec(mut self) -> Zeroizing<Vec<u8>> {
        let start = self.start.min(self.buf.len());
        self.buf.drain(..start);
        core::mem::take(&mut self.buf)
    }
}

impl core::ops::Deref for Plaintext {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }
}

impl AsRef<[u8]> for Plaintext {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl core::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Plaintext({} bytes)", self.len())
    }
}

/// Parses 4-byte big-endian s2kparams into an iteration count, refusing absurd counts (above
/// [`MAX_ITERATIONS`]) and downgrades (below [`MIN_ITERATIONS`]).
pub fn parse_s2kparams(params: &[u8]) -> Result<u32> {
    let bytes: [u8; 4] = params
        .try_into()
        .map_err(|_| Error::InvalidS2kParams(params.len()))?;
    let n = u32::from_be_bytes(bytes);
    let count = if n == 0 { 1u64 << 32 } else { u64::from(n) };
    if count > u64::from(MAX_ITERATIONS) {
        return Err(Error::IterationCountTooLarge {
            count,
            max: u64::from(MAX_ITERATIONS),
        });
    }
    if n < MIN_ITERATIONS {
        return Err(Error::IterationCountTooSmall {
            count: n,
            min: MIN_ITERATIONS,
        });
    }
    Ok(n)
}

/// KDF-HMAC-SHA2(key, label, context, k) of RFC 8009 §3: the first `len` bytes of
/// HMAC(key, 0x00000001 ‖ label ‖ 0x00 ‖ context ‖ k-in-bits), with SHA-256 or SHA-384 by
/// etype.
pub(crate) fn kdf_hmac_sha2(
    etype: EncryptionType,
    key: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Zeroizing<Vec<u8>> {
    let bits = ((len * 8) as u32).to_be_bytes();
    let parts: [&[u8]; 5] = [&[0, 0, 0, 1], label, &[0], context, &bits];
    let mut full = Mac::new(etype.hash(), key).mac(&parts);
    let out = Zeroizing::new(full[..len.min(MAX_OUT)].to_vec());
    full.zeroize();
    out
}

/// random-to-key for the AES types: the identity on `etype.key_len()` random bytes.
pub fn random_to_key(etype: EncryptionType, random: &[u8]) -> Result<Key> {
    Key::new(etype, random)
}

/// string-to-key (free-function form of [`Key::from_password`]).
pub fn string_to_key(
    etype: EncryptionType,
    password: &[u8],
    salt: &[u8],
    s2kparams: Option<&[u8]>,
) -> Result<Key> {
    Key::from_password(etype, password, salt, s2kparams)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_into_vec_and_debug() {
        let key = Key::random(EncryptionType::Aes128CtsHmacSha196).unwrap();
        let ct = key.encrypt(KeyUsage(9), b"secret").unwrap();
        let pt = key.decrypt(KeyUsage(9), &ct).unwrap();
        assert_eq!(format!("{pt:?}"), "Plaintext(6 bytes)");
        assert_eq!(pt.as_ref(), b"secret");
        assert_eq!(&pt.into_vec()[..], b"secret");
    }

    #[test]
    fn cache_is_shared_and_bounded() {
        let key = Key::random(EncryptionType::Aes256CtsHmacSha196).unwrap();
        for u in 0..(CACHE_LIMIT as u32 + 10) {
            let ct = key.encrypt(KeyUsage(u), b"x").unwrap();
            assert_eq!(&key.decrypt(KeyUsage(u), &ct).unwrap()[..], b"x");
        }
        assert!(key.cache.read().unwrap().len() <= CACHE_LIMIT);
        // A clone computes the same results without sharing the cache.
        let copy = key.clone();
        assert_eq!(copy, key);
        let sum = key.checksum(KeyUsage(1), b"m").unwrap();
        assert_eq!(copy.checksum(KeyUsage(1), b"m").unwrap(), sum);
    }

    #[test]
    fn shared_between_threads() {
        let key = std::sync::Arc::new(Key::random(EncryptionType::Aes256CtsHmacSha384192).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let key = key.clone();
                std::thread::spawn(move || {
                    for i in 0..200u32 {
                        let msg = [t as u8; 40];
                        let ct = key.encrypt(KeyUsage(i % 5), &msg).unwrap();
                        assert_eq!(&key.decrypt(KeyUsage(i % 5), &ct).unwrap()[..], &msg);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
