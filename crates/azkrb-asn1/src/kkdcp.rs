//! MS-KKDCP `KDC-PROXY-MESSAGE`, the body of a Kerberos request or reply sent over HTTPS.

use rasn::prelude::*;

use crate::error::{Error, Result};
use crate::krb::Realm;

/// `KDC-PROXY-MESSAGE ::= SEQUENCE { kerb-message [0] OCTET STRING, target-domain [1]
/// KERB-REALM OPTIONAL, dclocator-hint [2] INTEGER OPTIONAL }` (MS-KKDCP §2.2.2).
///
/// `kerb-message` carries the Kerberos message *with* the 4-byte big-endian length prefix
/// of RFC 4120 §7.2.2; [`KdcProxyMessage::new`] adds it and [`KdcProxyMessage::message`]
/// checks and strips it.
///
/// ```
/// use azkrb_asn1::KdcProxyMessage;
/// let m = KdcProxyMessage::new(&[0x6c, 0x00], Some("KERBEROS.MICROSOFTONLINE.COM"));
/// let der = m.to_der()?;
/// let back = KdcProxyMessage::from_der(&der)?;
/// assert_eq!(back.message()?, &[0x6c, 0x00]);
/// # Ok::<(), azkrb_asn1::Error>(())
/// ```
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, Hash)]
pub struct KdcProxyMessage {
    /// The length-prefixed Kerberos message.
    #[rasn(tag(explicit(0)))]
    pub kerb_message: OctetString,
    /// The realm of the request (required from clients, absent in replies).
    #[rasn(tag(explicit(1)))]
    pub target_domain: Option<Realm>,
    /// MS-NRPC DC locator flags (clients leave it out).
    #[rasn(tag(explicit(2)))]
    pub dclocator_hint: Option<i64>,
}

impl KdcProxyMessage {
    /// Wraps a DER Kerberos message for `target_domain` (the request's realm).
    pub fn new(kerberos_message: &[u8], target_domain: Option<&str>) -> Self {
        Self {
            kerb_message: add_length_prefix(kerberos_message).into(),
            target_domain: target_domain.map(Into::into),
            dclocator_hint: None,
        }
    }

    /// The Kerberos message inside, after checking its length prefix.
    pub fn message(&self) -> Result<&[u8]> {
        strip_length_prefix(&self.kerb_message)
    }

    /// Decodes a DER `KDC-PROXY-MESSAGE`.
    pub fn from_der(bytes: &[u8]) -> Result<Self> {
        crate::decode("KDC-PROXY-MESSAGE", bytes)
    }

    /// Encodes as DER.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        crate::encode("KDC-PROXY-MESSAGE", self)
    }
}

/// Prefixes a message with its length as 4 big-endian bytes (RFC 4120 §7.2.2).
pub fn add_length_prefix(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 4);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Checks that the first 4 bytes give the length of the rest, and returns the rest.
/// The high bit (reserved for extensions by RFC 4120) must be clear.
pub fn strip_length_prefix(bytes: &[u8]) -> Result<&[u8]> {
    const WHAT: &str = "length-prefixed Kerberos message";
    let (prefix, rest) = bytes.split_first_chunk::<4>().ok_or_else(|| {
        Error::malformed(
            WHAT,
            "length",
            0,
            format!("{} bytes, need at least 4", bytes.len()),
        )
    })?;
    let len = u32::from_be_bytes(*prefix);
    if len & 0x8000_0000 != 0 {
        return Err(Error::malformed(
            WHAT,
            "length",
            0,
            "reserved high bit set (extension not supported)",
        ));
    }
    if len as usize != rest.len() {
        return Err(Error::malformed(
            WHAT,
            "length",
            0,
            format!("prefix says {len} bytes, {} follow", rest.len()),
        ));
    }
    Ok(rest)
}
