//! Wire types for azkrb: every Kerberos (RFC 4120), MS-KKDCP, SPNEGO (RFC 4178), GSS-API
//! krb5 (RFC 4121) and MS-PAC message a Kerberos client meets, with DER encoding and
//! decoding. No I/O and no cryptography.
//!
//! This is the bottom of the azkrb stack: `azkrb-crypto` seals and opens the encrypted parts
//! these types carry, `azkrb-cloudtgt` drives the AS, TGS and AP exchanges with them, and
//! `azkrb-smb3` carries the SPNEGO tokens in SMB2 SESSION_SETUP. It can be used on its own to
//! read or write any of these messages.
//!
//! - [`krb`]: RFC 4120 messages built with `rasn` derives (leaf types from `rasn-kerberos`),
//!   on a [`KerberosString`] that keeps any octets, so UTF-8 names round-trip;
//! - [`constants`]: message, PA-DATA, name, error, checksum, address and
//!   authorization-data types as enums with an `Unknown(n)` arm; KDC, ticket and AP options
//!   as flag types;
//! - [`kkdcp`]: `KDC-PROXY-MESSAGE` and the RFC 4120 length prefix;
//! - [`gss`]: the GSS-API initial context token, krb5 token IDs, RFC 4121 MIC and Wrap
//!   headers and the 0x8003 authenticator checksum;
//! - [`spnego`]: NegTokenInit (and NegTokenInit2), NegTokenResp, MechTypeList;
//! - [`pac`]: the MS-PAC, read-only.
//!
//! Every decoder returns a [`Result`] whose error names the message, the field and what was
//! wrong; none panics on any input (each has a fuzz target), and lengths read from the wire
//! are checked against the input before anything is allocated.
//!
//! # Example
//!
//! The answer of a KDC that requires pre-authentication to a first AS-REQ: a KRB-ERROR
//! `KDC_ERR_PREAUTH_REQUIRED` whose e-data is METHOD-DATA carrying PA-ETYPE-INFO2, the salt
//! the client must use for string-to-key. Built, encoded, decoded, and read back:
//!
//! ```
//! use azkrb_asn1::krb::{EtypeInfo2Entry, KrbError, PaData};
//! use azkrb_asn1::{
//!     ErrorCode, KerberosMessage, KerberosTime, MessageType, NameType, PaDataType,
//!     PrincipalName, encode,
//! };
//!
//! let realm = "KERBEROS.MICROSOFTONLINE.COM";
//! let etype_info2 = vec![EtypeInfo2Entry {
//!     etype: 18, // aes256-cts-hmac-sha1-96
//!     salt: Some("KERBEROS.MICROSOFTONLINE.COMalice".into()),
//!     s2kparams: None,
//! }];
//! let method_data = vec![PaData {
//!     padata_type: PaDataType::EtypeInfo2,
//!     padata_value: encode("ETYPE-INFO2", &etype_info2)?.into(),
//! }];
//! let error = KrbError {
//!     pvno: 5,
//!     msg_type: MessageType::KrbError,
//!     ctime: None,
//!     cusec: None,
//!     stime: KerberosTime::from_unix(1_700_000_000),
//!     susec: 0,
//!     error_code: ErrorCode::PreauthRequired,
//!     crealm: None,
//!     cname: None,
//!     realm: realm.into(),
//!     sname: PrincipalName::new(NameType::SrvInst, ["krbtgt", realm]),
//!     e_text: None,
//!     e_data: Some(encode("METHOD-DATA", &method_data)?.into()),
//! };
//!
//! let der = KerberosMessage::KrbError(error).to_der()?;
//! assert_eq!(der[0], 0x7e); // [APPLICATION 30]
//!
//! let KerberosMessage::KrbError(got) = KerberosMessage::from_der(&der)? else {
//!     panic!("not a KRB-ERROR");
//! };
//! assert_eq!(got.error_code, ErrorCode::PreauthRequired);
//! assert_eq!(got.sname.to_text(), "krbtgt/KERBEROS.MICROSOFTONLINE.COM");
//! let entries = got.etype_info2();
//! assert_eq!(entries[0].etype, 18);
//! assert_eq!(
//!     entries[0].salt.as_ref().and_then(|s| s.as_str()),
//!     Some("KERBEROS.MICROSOFTONLINE.COMalice")
//! );
//! # Ok::<(), azkrb_asn1::Error>(())
//! ```
//!
//! Malformed input is an error that says where it went wrong, never a panic:
//!
//! ```
//! use azkrb_asn1::KerberosMessage;
//! let bytes = [0x7e, 0x03, 0x30, 0x01, 0x00];
//! let err = KerberosMessage::from_der(&bytes).unwrap_err();
//! assert!(err.to_string().starts_with("malformed KRB-ERROR"));
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod constants;
mod error;
pub mod fast;
pub mod gss;
pub mod kkdcp;
pub mod krb;
pub mod pac;
pub mod spnego;

pub use constants::{
    AdType, AddressType, ApOptions, CksumType, ErrorCode, FastOptions, KdcOptions, MessageType,
    NameType, PaDataType, TicketFlags,
};
pub use error::{Error, Result};
pub use kkdcp::KdcProxyMessage;
pub use krb::KerberosTime;
pub use krb::{KerberosString, PrincipalName};
/// The ASN.1 codec this crate is built on (for `Encode`/`Decode` bounds downstream).
pub use rasn;

use krb::{
    ApRep, ApReq, AsRep, AsReq, EncKdcRepPart, EtypeInfo2, KrbCred, KrbError, MethodData, TgsRep,
    TgsReq, TypedData,
};

/// Decodes one DER value of type `T`, naming it `what` in errors. Trailing bytes are an
/// error.
pub fn decode<T: rasn::Decode>(what: &'static str, bytes: &[u8]) -> Result<T> {
    rasn::der::decode(bytes).map_err(|e| Error::Der {
        what,
        detail: e.to_string(),
    })
}

/// Encodes one value as DER.
pub fn encode<T: rasn::Encode>(what: &'static str, value: &T) -> Result<Vec<u8>> {
    rasn::der::encode(value).map_err(|e| Error::Encode {
        what,
        detail: e.to_string(),
    })
}

/// Any top-level Kerberos message, told apart by its APPLICATION tag.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum KerberosMessage {
    /// AS-REQ.
    AsReq(AsReq),
    /// AS-REP.
    AsRep(AsRep),
    /// TGS-REQ.
    TgsReq(TgsReq),
    /// TGS-REP.
    TgsRep(TgsRep),
    /// AP-REQ.
    ApReq(ApReq),
    /// AP-REP.
    ApRep(ApRep),
    /// KRB-CRED.
    KrbCred(KrbCred),
    /// KRB-ERROR.
    KrbError(KrbError),
}

impl KerberosMessage {
    /// Decodes whichever message the first byte announces.
    pub fn from_der(bytes: &[u8]) -> Result<Self> {
        let first = bytes
            .first()
            .copied()
            .ok_or_else(|| Error::malformed("Kerberos message", "tag", 0, "empty input"))?;
        Ok(match first {
            0x6a => Self::AsReq(decode("AS-REQ", bytes)?),
            0x6b => Self::AsRep(decode("AS-REP", bytes)?),
            0x6c => Self::TgsReq(decode("TGS-REQ", bytes)?),
            0x6d => Self::TgsRep(decode("TGS-REP", bytes)?),
            0x6e => Self::ApReq(decode("AP-REQ", bytes)?),
            0x6f => Self::ApRep(decode("AP-REP", bytes)?),
            0x76 => Self::KrbCred(decode("KRB-CRED", bytes)?),
            0x7e => Self::KrbError(decode("KRB-ERROR", bytes)?),
            other => {
                return Err(Error::malformed(
                    "Kerberos message",
                    "tag",
                    0,
                    format!("0x{other:02x} is not the tag of a Kerberos message"),
                ));
            }
        })
    }

    /// Encodes as DER.
    pub fn to_der(&self) -> Result<Vec<u8>> {
        match self {
            Self::AsReq(m) => encode("AS-REQ", m),
            Self::AsRep(m) => encode("AS-REP", m),
            Self::TgsReq(m) => encode("TGS-REQ", m),
            Self::TgsRep(m) => encode("TGS-REP", m),
            Self::ApReq(m) => encode("AP-REQ", m),
            Self::ApRep(m) => encode("AP-REP", m),
            Self::KrbCred(m) => encode("KRB-CRED", m),
            Self::KrbError(m) => encode("KRB-ERROR", m),
        }
    }

    /// The message type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Self::AsReq(_) => MessageType::AsReq,
            Self::AsRep(_) => MessageType::AsRep,
            Self::TgsReq(_) => MessageType::TgsReq,
            Self::TgsRep(_) => MessageType::TgsRep,
            Self::ApReq(_) => MessageType::ApReq,
            Self::ApRep(_) => MessageType::ApRep,
            Self::KrbCred(_) => MessageType::KrbCred,
            Self::KrbError(_) => MessageType::KrbError,
        }
    }
}

/// Which tag the decrypted body of a KDC reply carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncPartTag {
    /// `[APPLICATION 25]` EncASRepPart.
    AsRep,
    /// `[APPLICATION 26]` EncTGSRepPart (also what MIT puts in AS replies).
    TgsRep,
}

/// Decodes a decrypted AS-REP or TGS-REP enc-part. Both `[APPLICATION 25]` and
/// `[APPLICATION 26]` are accepted whatever the reply was: MIT encodes AS replies with 26,
/// which RFC 4120 §5.4.2 allows implementations to accept.
pub fn decode_enc_kdc_rep_part(bytes: &[u8]) -> Result<(EncKdcRepPart, EncPartTag)> {
    match bytes.first() {
        Some(0x79) => {
            decode::<krb::EncAsRepPart>("EncASRepPart", bytes).map(|p| (p.0, EncPartTag::AsRep))
        }
        Some(0x7a) => {
            decode::<krb::EncTgsRepPart>("EncTGSRepPart", bytes).map(|p| (p.0, EncPartTag::TgsRep))
        }
        other => Err(Error::malformed(
            "EncKDCRepPart",
            "tag",
            0,
            match other {
                Some(b) => format!("0x{b:02x}, expected [APPLICATION 25] or [APPLICATION 26]"),
                None => "empty input".into(),
            },
        )),
    }
}

impl KrbError {
    /// The e-data as METHOD-DATA (what KDC_ERR_PREAUTH_REQUIRED carries), if it is one.
    pub fn method_data(&self) -> Option<MethodData> {
        let data = self.e_data.as_ref()?;
        decode::<MethodData>("METHOD-DATA", data).ok()
    }

    /// The e-data as TYPED-DATA, if it is one.
    pub fn typed_data(&self) -> Option<TypedData> {
        let data = self.e_data.as_ref()?;
        decode::<TypedData>("TYPED-DATA", data).ok()
    }

    /// The PA-ETYPE-INFO2 entries of the e-data's METHOD-DATA (empty if none).
    pub fn etype_info2(&self) -> Vec<krb::EtypeInfo2Entry> {
        self.method_data()
            .map(|md| find_etype_info2(&md))
            .unwrap_or_default()
    }
}

/// The PA-ETYPE-INFO2 entries in a PA-DATA list (from a KRB-ERROR or an AS-REP).
pub fn find_etype_info2(padata: &[krb::PaData]) -> Vec<krb::EtypeInfo2Entry> {
    padata
        .iter()
        .filter(|pa| pa.padata_type == PaDataType::EtypeInfo2)
        .filter_map(|pa| decode::<EtypeInfo2>("PA-ETYPE-INFO2", &pa.padata_value).ok())
        .flatten()
        .collect()
}

// The README's examples run as doc tests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
