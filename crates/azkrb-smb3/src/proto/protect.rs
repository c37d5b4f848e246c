//! Protection: the one outgoing path that signs or encrypts a request (or a compound), and
//! the one incoming path that decrypts a frame. Signatures of incoming messages are checked
//! where each message is bound to its request (`Core::accept`).

use std::ops::Range;

use zeroize::Zeroizing;

use crate::crypto::{self, AeadKey, TRANSFORM_LEN};
use crate::dialect::{Cipher, SigningAlgorithm};
use crate::error::{Error, Result};
use crate::msg::HEADER_LEN;

/// How an established session protects its messages: its signing key and, when it
/// encrypts, the two AEAD keys. Never printed.
pub struct SessionProtection {
    pub(crate) signing: SigningAlgorithm,
    pub(crate) signing_key: Zeroizing<Vec<u8>>,
    pub(crate) cipher: Option<(AeadKey, AeadKey)>,
}

impl std::fmt::Debug for SessionProtection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionProtection")
            .field("signing", &self.signing)
            .field("encrypts", &self.encrypts())
            .finish_non_exhaustive()
    }
}

impl SessionProtection {
    /// Keys for a session: `cipher` (with its client-to-server and server-to-client keys)
    /// when the session encrypts.
    pub fn new(
        signing: SigningAlgorithm,
        signing_key: Zeroizing<Vec<u8>>,
        cipher: Option<(Cipher, &[u8], &[u8])>,
    ) -> Result<Self> {
        let cipher = match cipher {
            Some((c, enc, dec)) => Some((AeadKey::new(c, enc)?, AeadKey::new(c, dec)?)),
            None => None,
        };
        Ok(Self {
            signing,
            signing_key,
            cipher,
        })
    }

    /// True if every message of the session is encrypted.
    pub fn encrypts(&self) -> bool {
        self.cipher.is_some()
    }

    /// Verifies the signature a server message carries.
    pub(crate) fn verify(&self, message: &[u8]) -> Result<()> {
        crypto::verify(self.signing, &self.signing_key, message, true)
    }

    /// Decrypts a TRANSFORM_HEADER frame in place; returns its SessionId.
    pub(crate) fn open(&self, frame: &mut [u8]) -> Result<u64> {
        let (_, dec) = self.cipher.as_ref().ok_or_else(|| {
            Error::Protocol("an encrypted message for a session that does not encrypt".into())
        })?;
        Ok(crypto::decrypt(dec, frame)?.session_id)
    }
}

/// The TRANSFORM_HEADER nonces of one connection: a counter that never repeats, then the
/// connection's random prefix, up to the cipher's nonce length (11 bytes for CCM, 12 for
/// GCM); the rest zero.
#[derive(Debug)]
pub(crate) struct Nonces {
    next: u64,
    prefix: [u8; 4],
}

impl Nonces {
    pub(crate) fn new(prefix: [u8; 4]) -> Self {
        Self { next: 1, prefix }
    }

    pub(crate) fn next(&mut self, key: &AeadKey) -> Result<[u8; 16]> {
        let n = self.next;
        self.next = n
            .checked_add(1)
            .ok_or_else(|| Error::Protocol("the connection ran out of nonces".into()))?;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&n.to_le_bytes());
        let len = if matches!(key, AeadKey::Ccm128(_) | AeadKey::Ccm256(_)) {
            11
        } else {
            12
        };
        nonce[8..len].copy_from_slice(&self.prefix[..len - 8]);
        Ok(nonce)
    }
}

/// Signs each message (`spans` of `buf`) or encrypts them all as one TRANSFORM message.
/// `buf` starts with [`TRANSFORM_LEN`] bytes of room. Returns where the wire bytes start.
pub(crate) fn seal(
    p: Option<&SessionProtection>,
    session_id: u64,
    nonce: Option<[u8; 16]>,
    buf: &mut [u8],
    spans: &[Range<usize>],
) -> Result<usize> {
    match (p, nonce) {
        (
            Some(SessionProtection {
                cipher: Some((enc, _)),
                ..
            }),
            Some(nonce),
        ) => {
            crypto::encrypt_in_place(enc, session_id, &nonce, buf)?;
            Ok(0)
        }
        (
            Some(SessionProtection {
                cipher: Some(_), ..
            }),
            None,
        ) => Err(Error::Protocol(
            "an encrypted message without a nonce".into(),
        )),
        (Some(s), _) => {
            for span in spans {
                let m = buf
                    .get_mut(span.clone())
                    .filter(|m| m.len() >= HEADER_LEN)
                    .ok_or_else(|| Error::Protocol("a message outside its buffer".into()))?;
                crypto::sign(s.signing, &s.signing_key, m, false)?;
            }
            Ok(TRANSFORM_LEN)
        }
        (None, _) => Ok(TRANSFORM_LEN),
    }
}
