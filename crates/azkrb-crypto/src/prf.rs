//! The pseudo-random function of each encryption type (RFC 3961 §3, RFC 3962 §6,
//! RFC 8009 §5) and what RFC 6113 builds on it: PRF+ and KRB-FX-CF2, which FAST uses to
//! make its armor key and to strengthen a reply key.

use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::hash::{Sha1, digest};
use crate::key::{Key, kdf_hmac_sha2};

impl Key {
    /// The length of [`prf`](Self::prf)'s output: 16 bytes for the SHA-1 types, 32 for
    /// aes128-cts-hmac-sha256-128 and 48 for aes256-cts-hmac-sha384-192.
    pub fn prf_len(&self) -> usize {
        let etype = self.etype();
        if etype.is_rfc8009() {
            etype.mac_len() * 2
        } else {
            16
        }
    }

    /// The encryption type's pseudo-random function of `input`, [`prf_len`](Self::prf_len)
    /// bytes.
    ///
    /// For the SHA-1 types (RFC 3962 §6): the first 16 bytes of SHA-1(`input`) encrypted
    /// under DK(key, "prf"). For the SHA-2 types (RFC 8009 §5):
    /// KDF-HMAC-SHA2(key, "prf", `input`).
    pub fn prf(&self, input: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let etype = self.etype();
        if etype.is_rfc8009() {
            return Ok(kdf_hmac_sha2(
                etype,
                self.as_bytes(),
                b"prf",
                input,
                self.prf_len(),
            ));
        }
        let derived = Key::new(etype, &self.derive(b"prf", false)?)?;
        let mut hash = [0u8; 20];
        digest::<Sha1>(input, &mut hash);
        let mut block = [0u8; 16];
        block.copy_from_slice(&hash[..16]);
        // One block: CBC with a zero IV (what CTS is for a single block) is the block cipher.
        derived.aes()?.encrypt_block(&mut block);
        let out = Zeroizing::new(block.to_vec());
        block.zeroize();
        hash.zeroize();
        Ok(out)
    }

    /// PRF+ of RFC 6113 §5.1: PRF(key, 1 ‖ `input`) ‖ PRF(key, 2 ‖ `input`) ‖ …, the first
    /// `len` bytes.
    pub fn prf_plus(&self, input: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>> {
        let blocks = len.div_ceil(self.prf_len());
        if blocks > 255 {
            return Err(Error::InvalidLength {
                what: "PRF+ output",
                len,
            });
        }
        let mut counted = Zeroizing::new(Vec::with_capacity(input.len() + 1));
        counted.push(0);
        counted.extend_from_slice(input);
        let mut out = Zeroizing::new(Vec::with_capacity(blocks * self.prf_len()));
        for i in 1..=blocks {
            counted[0] = i as u8;
            out.extend_from_slice(&self.prf(&counted)?);
        }
        out.truncate(len);
        Ok(out)
    }
}

/// KRB-FX-CF2 of RFC 6113 §5.1: a key of `k1`'s type from
/// PRF+(`k1`, `pepper1`) XOR PRF+(`k2`, `pepper2`) (random-to-key is the identity for AES).
/// FAST makes its armor key with it, and strengthens a reply key.
///
/// ```
/// use azkrb_crypto::{EncryptionType, Key, fx_cf2};
/// let e = EncryptionType::Aes256CtsHmacSha196;
/// let subkey = Key::new(e, &[1; 32]).unwrap();
/// let session = Key::new(e, &[2; 32]).unwrap();
/// let armor = fx_cf2(&subkey, b"subkeyarmor", &session, b"ticketarmor").unwrap();
/// assert_eq!(armor.etype(), e);
/// assert_ne!(armor, subkey);
/// ```
pub fn fx_cf2(k1: &Key, pepper1: &[u8], k2: &Key, pepper2: &[u8]) -> Result<Key> {
    let len = k1.etype().key_len();
    let mut a = k1.prf_plus(pepper1, len)?;
    let b = k2.prf_plus(pepper2, len)?;
    for (x, y) in a.iter_mut().zip(b.iter()) {
        *x ^= y;
    }
    Key::new(k1.etype(), &a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncryptionType;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// The keys MIT's cf2 test derives: string-to-key of "key1" and "key2", each its own
    /// salt, with the type's default iteration count.
    fn keys(e: EncryptionType) -> (Key, Key) {
        let k = |s: &str| Key::from_password(e, s.as_bytes(), s.as_bytes(), None).unwrap();
        (k("key1"), k("key2"))
    }

    #[test]
    fn fx_cf2_matches_mit_known_answers() {
        // MIT krb5's src/lib/crypto/crypto_tests t_cf2 (peppers "a" and "b").
        let cases = [
            (
                EncryptionType::Aes128CtsHmacSha196,
                "97df97e4b798b29eb31ed7280287a92a",
            ),
            (
                EncryptionType::Aes256CtsHmacSha196,
                "4d6ca4e629785c1f01baf55e2e548566b9617ae3a96868c337cb93b5e72b1c7b",
            ),
            (
                EncryptionType::Aes128CtsHmacSha256128,
                "edd02a39d2dbde31611c16e610be062c",
            ),
            (
                EncryptionType::Aes256CtsHmacSha384192,
                "67f6ea530aea85a37dcbb23349ea52dcc61ca8493ff557252327fd8304341584",
            ),
        ];
        for (e, want) in cases {
            let (k1, k2) = keys(e);
            let out = fx_cf2(&k1, b"a", &k2, b"b").unwrap();
            assert_eq!(hex(out.as_bytes()), want, "{e}");
            assert_eq!(out.etype(), e);
        }
    }

    #[test]
    fn prf_plus_is_the_counted_prfs_concatenated() {
        for e in EncryptionType::ALL {
            let (k, _) = keys(e);
            let n = k.prf_len();
            let long = k.prf_plus(b"x", 2 * n + 3).unwrap();
            assert_eq!(long.len(), 2 * n + 3);
            assert_eq!(&long[..n], &k.prf(b"\x01x").unwrap()[..]);
            assert_eq!(&long[n..2 * n], &k.prf(b"\x02x").unwrap()[..]);
            assert_eq!(&long[2 * n..], &k.prf(b"\x03x").unwrap()[..3]);
            assert!(k.prf_plus(b"x", 256 * n).is_err());
        }
    }
}
