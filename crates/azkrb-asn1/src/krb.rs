//! RFC 4120 messages and the PA-DATA a client meets.
//!
//! Leaf types without strings come from `rasn-kerberos`. Everything that carries a name or a
//! realm is defined here on [`KerberosString`], which accepts any octets: `rasn-kerberos`'s
//! `GeneralString` refuses the bytes 0x80–0xA0, and so UTF-8 names such as "ß" or "名" that
//! Active Directory issues.

use rasn::prelude::*;

pub use rasn_kerberos::{EncryptedData, EtypeInfoEntry, TransitedEncoding, TypedDataItem};

use crate::constants::{
    AdType, AddressType, ApOptions, CksumType, ErrorCode, KdcOptions, MessageType, NameType,
    PaDataType, TicketFlags,
};

/// `KerberosString ::= GeneralString (IA5String)`, holding whatever octets the peer sent.
///
/// RFC 4120 says IA5, but Active Directory and MIT put UTF-8 in names; the octets are kept
/// exactly, so re-encoding is byte-identical. [`KerberosString::as_str`] views them as UTF-8.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KerberosString(Vec<u8>);

impl KerberosString {
    /// Wraps raw octets.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }
    /// The raw octets.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    /// The octets as UTF-8, if they are valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.0).ok()
    }
    /// The octets as UTF-8, with invalid sequences replaced (for display).
    pub fn to_string_lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }
}

impl From<&str> for KerberosString {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

impl From<String> for KerberosString {
    fn from(s: String) -> Self {
        Self(s.into_bytes())
    }
}

impl core::fmt::Debug for KerberosString {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:?}", self.to_string_lossy())
    }
}

impl core::fmt::Display for KerberosString {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl AsnType for KerberosString {
    const TAG: Tag = Tag::GENERAL_STRING;
    const IDENTIFIER: Identifier = Identifier::GENERAL_STRING;
}

impl Decode for KerberosString {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        tag: Tag,
        constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        decoder
            .decode_octet_string::<Vec<u8>>(tag, constraints)
            .map(Self)
    }
}

impl Encode for KerberosString {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        tag: Tag,
        constraints: &Constraints,
        identifier: Identifier,
    ) -> Result<(), E::Error> {
        encoder
            .encode_octet_string(tag, constraints, &self.0, identifier)
            .map(drop)
    }
}

/// `KerberosTime ::= GeneralizedTime -- with no fractional seconds`, as whole Unix seconds.
///
/// Encoding always produces the 15-character `YYYYMMDDHHMMSSZ` form RFC 4120 §5.2.3 requires
/// (a fraction of a second cannot even be represented); a time outside years 0–9999 is an
/// encoding error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KerberosTime(pub i64);

impl KerberosTime {
    /// A time from Unix seconds.
    pub const fn from_unix(seconds: i64) -> Self {
        Self(seconds)
    }
    /// The Unix seconds.
    pub const fn unix(self) -> i64 {
        self.0
    }
    /// The current time of the system clock.
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

impl core::fmt::Display for KerberosTime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match chrono::DateTime::from_timestamp(self.0, 0) {
            Some(t) => write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%SZ")),
            None => write!(f, "@{}", self.0),
        }
    }
}

impl AsnType for KerberosTime {
    const TAG: Tag = Tag::GENERALIZED_TIME;
    const IDENTIFIER: Identifier = Identifier::GENERALIZED_TIME;
}

impl Decode for KerberosTime {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        tag: Tag,
        _: &Constraints,
    ) -> Result<Self, D::Error> {
        decoder
            .decode_generalized_time(tag)
            .map(|t| Self(t.timestamp()))
    }
}

impl Encode for KerberosTime {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        tag: Tag,
        _: &Constraints,
        identifier: Identifier,
    ) -> Result<(), E::Error> {
        let t = chrono::DateTime::from_timestamp(self.0, 0)
            .filter(|t| (0..=9999).contains(&chrono::Datelike::year(t)))
            .ok_or_else(|| {
                rasn::error::EncodeError::from_kind(
                    rasn::error::EncodeErrorKind::Custom {
                        msg: format!("KerberosTime {} is outside years 0-9999", self.0),
                    },
                    encoder.codec(),
                )
            })?;
        encoder
            .encode_generalized_time(tag, &t.fixed_offset(), identifier)
            .map(drop)
    }
}

/// Key bytes: an OCTET STRING that is wiped from memory when dropped and never printed.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyValue(Vec<u8>);

impl KeyValue {
    /// Wraps key bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }
}

impl Drop for KeyValue {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl core::ops::Deref for KeyValue {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl core::fmt::Debug for KeyValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "<{} key bytes redacted>", self.0.len())
    }
}

impl AsnType for KeyValue {
    const TAG: Tag = Tag::OCTET_STRING;
    const IDENTIFIER: Identifier = Identifier::OCTET_STRING;
}

impl Decode for KeyValue {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        tag: Tag,
        constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        decoder
            .decode_octet_string::<Vec<u8>>(tag, constraints)
            .map(Self)
    }
}

impl Encode for KeyValue {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        tag: Tag,
        constraints: &Constraints,
        identifier: Identifier,
    ) -> Result<(), E::Error> {
        encoder
            .encode_octet_string(tag, constraints, &self.0, identifier)
            .map(drop)
    }
}

/// `EncryptionKey ::= SEQUENCE { keytype [0] Int32, keyvalue [1] OCTET STRING }`; the value is
/// zeroized on drop and redacted from `Debug`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EncryptionKey {
    /// The encryption type.
    #[rasn(tag(explicit(0)))]
    pub keytype: i32,
    /// The key bytes (wiped when dropped, never printed).
    #[rasn(tag(explicit(1)))]
    pub keyvalue: KeyValue,
}

/// A sequence number (UInt32). Decoding also accepts the negative INTEGERs some older
/// implementations send for values of 2^31 and above (as MIT does); encoding is unsigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeqNumber(pub u32);

impl AsnType for SeqNumber {
    const TAG: Tag = Tag::INTEGER;
    const IDENTIFIER: Identifier = Identifier::INTEGER;
}

impl Decode for SeqNumber {
    fn decode_with_tag_and_constraints<D: Decoder>(
        decoder: &mut D,
        tag: Tag,
        constraints: &Constraints,
    ) -> Result<Self, D::Error> {
        let v = i64::decode_with_tag_and_constraints(decoder, tag, constraints)?;
        match u32::try_from(v).or_else(|_| i32::try_from(v).map(|n| n as u32)) {
            Ok(n) => Ok(Self(n)),
            Err(_) => Err(rasn::de::Error::custom(
                format!("sequence number {v} is outside the 32-bit range"),
                decoder.codec(),
            )),
        }
    }
}

impl Encode for SeqNumber {
    fn encode_with_tag_and_constraints<'b, E: Encoder<'b>>(
        &self,
        encoder: &mut E,
        tag: Tag,
        constraints: &Constraints,
        identifier: Identifier,
    ) -> Result<(), E::Error> {
        self.0
            .encode_with_tag_and_constraints(encoder, tag, constraints, identifier)
    }
}

/// `Checksum ::= SEQUENCE { cksumtype [0] Int32, checksum [1] OCTET STRING }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Checksum {
    /// The checksum type.
    #[rasn(tag(explicit(0)))]
    pub cksumtype: CksumType,
    /// The checksum value, computed as `cksumtype` says.
    #[rasn(tag(explicit(1)))]
    pub checksum: OctetString,
}

/// `PA-DATA ::= SEQUENCE { padata-type [1] Int32, padata-value [2] OCTET STRING }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PaData {
    /// The PA-DATA type.
    #[rasn(tag(explicit(1)))]
    pub padata_type: PaDataType,
    /// Its DER value.
    #[rasn(tag(explicit(2)))]
    pub padata_value: OctetString,
}

/// One element of `AuthorizationData`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthorizationDataValue {
    /// The type (AD-IF-RELEVANT, AD-WIN2K-PAC, ...).
    #[rasn(tag(explicit(0)))]
    pub ad_type: AdType,
    /// The element's value, as `ad_type` defines it (DER, or the NDR of a PAC).
    #[rasn(tag(explicit(1)))]
    pub ad_data: OctetString,
}

/// `HostAddress ::= SEQUENCE { addr-type [0] Int32, address [1] OCTET STRING }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostAddress {
    /// The address type.
    #[rasn(tag(explicit(0)))]
    pub addr_type: AddressType,
    /// The address octets (4 for IPv4; 16 for IPv6 and for a NetBIOS name).
    #[rasn(tag(explicit(1)))]
    pub address: OctetString,
}

/// One element of `LastReq`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LastReqValue {
    /// `lr-type` (RFC 4120 §5.4.2): which event `lr_value` is the time of (6: password
    /// expiry, 7: account expiry, ...); negative when only the answering KDC knows it.
    #[rasn(tag(explicit(0)))]
    pub lr_type: i32,
    /// `lr-value`: the time of that event.
    #[rasn(tag(explicit(1)))]
    pub lr_value: KerberosTime,
}

/// `PA-ENC-TS-ENC ::= SEQUENCE { patimestamp [0] KerberosTime, pausec [1] Microseconds OPTIONAL }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PaEncTsEnc {
    /// The client's time.
    #[rasn(tag(explicit(0)))]
    pub patimestamp: KerberosTime,
    /// The microseconds of `patimestamp`.
    #[rasn(tag(explicit(1)))]
    pub pausec: Option<u32>,
}

/// `Realm ::= KerberosString`.
pub type Realm = KerberosString;
/// `AuthorizationData ::= SEQUENCE OF { ad-type, ad-data }`.
pub type AuthorizationData = SequenceOf<AuthorizationDataValue>;
/// `METHOD-DATA ::= SEQUENCE OF PA-DATA` (the e-data of KDC_ERR_PREAUTH_REQUIRED).
pub type MethodData = SequenceOf<PaData>;
/// `TYPED-DATA ::= SEQUENCE SIZE (1..MAX) OF { data-type, data-value }`.
pub type TypedData = SequenceOf<TypedDataItem>;
/// `ETYPE-INFO2 ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY`.
pub type EtypeInfo2 = SequenceOf<EtypeInfo2Entry>;
/// `HostAddresses ::= SEQUENCE OF HostAddress`.
pub type HostAddresses = SequenceOf<HostAddress>;
/// `LastReq ::= SEQUENCE OF { lr-type, lr-value }`.
pub type LastReq = SequenceOf<LastReqValue>;

/// `PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PrincipalName {
    /// The name type.
    #[rasn(tag(explicit(0)))]
    pub name_type: NameType,
    /// The components: `["cifs", "acct.file.core.windows.net"]` for
    /// `cifs/acct.file.core.windows.net`.
    #[rasn(tag(explicit(1)))]
    pub name_string: SequenceOf<KerberosString>,
}

impl PrincipalName {
    /// A name of the given type from its components.
    pub fn new<S: Into<KerberosString>>(
        name_type: NameType,
        parts: impl IntoIterator<Item = S>,
    ) -> Self {
        Self {
            name_type,
            name_string: parts.into_iter().map(Into::into).collect(),
        }
    }

    /// The components joined by `/`, with `/`, `@` and `\` in components escaped by a
    /// backslash as MIT does (`cifs/acct.file.core.windows.net`, `alice\@contoso.com`).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (i, part) in self.name_string.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            for c in part.to_string_lossy().chars() {
                if matches!(c, '/' | '@' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        out
    }
}

impl core::fmt::Display for PrincipalName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// `Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2], enc-part [3] }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 1)))]
pub struct Ticket {
    /// Always 5.
    #[rasn(tag(explicit(0)))]
    pub tkt_vno: i32,
    /// The service's realm.
    #[rasn(tag(explicit(1)))]
    pub realm: Realm,
    /// The service's name.
    #[rasn(tag(explicit(2)))]
    pub sname: PrincipalName,
    /// [`EncTicketPart`] under the service key (key usage 2).
    #[rasn(tag(explicit(3)))]
    pub enc_part: EncryptedData,
}

/// `EncTicketPart ::= [APPLICATION 3] SEQUENCE { ... }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 3)))]
pub struct EncTicketPart {
    /// Ticket flags.
    #[rasn(tag(explicit(0)))]
    pub flags: TicketFlags,
    /// The session key.
    #[rasn(tag(explicit(1)))]
    pub key: EncryptionKey,
    /// The client's realm.
    #[rasn(tag(explicit(2)))]
    pub crealm: Realm,
    /// The client's name.
    #[rasn(tag(explicit(3)))]
    pub cname: PrincipalName,
    /// Transited realms.
    #[rasn(tag(explicit(4)))]
    pub transited: TransitedEncoding,
    /// Time of initial authentication.
    #[rasn(tag(explicit(5)))]
    pub authtime: KerberosTime,
    /// Start of validity.
    #[rasn(tag(explicit(6)))]
    pub starttime: Option<KerberosTime>,
    /// End of validity.
    #[rasn(tag(explicit(7)))]
    pub endtime: KerberosTime,
    /// Renewal limit.
    #[rasn(tag(explicit(8)))]
    pub renew_till: Option<KerberosTime>,
    /// Client addresses.
    #[rasn(tag(explicit(9)))]
    pub caddr: Option<HostAddresses>,
    /// Authorization data (the PAC lives here, inside AD-IF-RELEVANT).
    #[rasn(tag(explicit(10)))]
    pub authorization_data: Option<AuthorizationData>,
}

/// `KDC-REQ-BODY` (RFC 4120 §5.4.1): what an AS-REQ or TGS-REQ asks for. A TGS-REQ's
/// authenticator carries a checksum of its DER.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KdcReqBody {
    /// KDC options.
    #[rasn(tag(explicit(0)))]
    pub kdc_options: KdcOptions,
    /// Client name (AS-REQ only).
    #[rasn(tag(explicit(1)))]
    pub cname: Option<PrincipalName>,
    /// The server's realm (and the client's, in an AS-REQ).
    #[rasn(tag(explicit(2)))]
    pub realm: Realm,
    /// The server name.
    #[rasn(tag(explicit(3)))]
    pub sname: Option<PrincipalName>,
    /// Requested start time.
    #[rasn(tag(explicit(4)))]
    pub from: Option<KerberosTime>,
    /// Requested end time.
    #[rasn(tag(explicit(5)))]
    pub till: KerberosTime,
    /// Requested renewal limit.
    #[rasn(tag(explicit(6)))]
    pub rtime: Option<KerberosTime>,
    /// A random number the reply must echo.
    #[rasn(tag(explicit(7)))]
    pub nonce: u32,
    /// Acceptable encryption types, preferred first.
    #[rasn(tag(explicit(8)))]
    pub etype: SequenceOf<i32>,
    /// Client addresses.
    #[rasn(tag(explicit(9)))]
    pub addresses: Option<HostAddresses>,
    /// Encrypted authorization data.
    #[rasn(tag(explicit(10)))]
    pub enc_authorization_data: Option<EncryptedData>,
    /// Additional tickets (user-to-user, S4U).
    #[rasn(tag(explicit(11)))]
    pub additional_tickets: Option<SequenceOf<Ticket>>,
}

/// `KDC-REQ ::= SEQUENCE { pvno [1], msg-type [2], padata [3], req-body [4] }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KdcReq {
    /// Always 5.
    #[rasn(tag(explicit(1)))]
    pub pvno: i32,
    /// AS-REQ or TGS-REQ.
    #[rasn(tag(explicit(2)))]
    pub msg_type: MessageType,
    /// Pre-authentication data.
    #[rasn(tag(explicit(3)))]
    pub padata: Option<SequenceOf<PaData>>,
    /// The request body (what the TGS-REQ authenticator checksum covers).
    #[rasn(tag(explicit(4)))]
    pub req_body: KdcReqBody,
}

/// `AS-REQ ::= [APPLICATION 10] KDC-REQ`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 10)), delegate)]
pub struct AsReq(pub KdcReq);

/// `TGS-REQ ::= [APPLICATION 12] KDC-REQ`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 12)), delegate)]
pub struct TgsReq(pub KdcReq);

/// `KDC-REP ::= SEQUENCE { pvno [0], msg-type [1], padata [2], crealm [3], cname [4],
/// ticket [5], enc-part [6] }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KdcRep {
    /// Always 5.
    #[rasn(tag(explicit(0)))]
    pub pvno: i32,
    /// AS-REP or TGS-REP.
    #[rasn(tag(explicit(1)))]
    pub msg_type: MessageType,
    /// PA-DATA (e.g. ETYPE-INFO2 in an AS-REP).
    #[rasn(tag(explicit(2)))]
    pub padata: Option<SequenceOf<PaData>>,
    /// The client's realm.
    #[rasn(tag(explicit(3)))]
    pub crealm: Realm,
    /// The client's name.
    #[rasn(tag(explicit(4)))]
    pub cname: PrincipalName,
    /// The ticket issued, opaque to the client (encrypted in the service's key).
    #[rasn(tag(explicit(5)))]
    pub ticket: Ticket,
    /// [`EncKdcRepPart`] (usage 3 for AS, 8 or 9 for TGS).
    #[rasn(tag(explicit(6)))]
    pub enc_part: EncryptedData,
}

/// `AS-REP ::= [APPLICATION 11] KDC-REP`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 11)), delegate)]
pub struct AsRep(pub KdcRep);

/// `TGS-REP ::= [APPLICATION 13] KDC-REP`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 13)), delegate)]
pub struct TgsRep(pub KdcRep);

/// `EncKDCRepPart`, the decrypted body of an AS-REP or TGS-REP.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EncKdcRepPart {
    /// The session key.
    #[rasn(tag(explicit(0)))]
    pub key: EncryptionKey,
    /// Last-request information.
    #[rasn(tag(explicit(1)))]
    pub last_req: LastReq,
    /// The request's nonce, echoed.
    #[rasn(tag(explicit(2)))]
    pub nonce: u32,
    /// When the client's key expires.
    #[rasn(tag(explicit(3)))]
    pub key_expiration: Option<KerberosTime>,
    /// Ticket flags.
    #[rasn(tag(explicit(4)))]
    pub flags: TicketFlags,
    /// Time of initial authentication.
    #[rasn(tag(explicit(5)))]
    pub authtime: KerberosTime,
    /// Start of validity.
    #[rasn(tag(explicit(6)))]
    pub starttime: Option<KerberosTime>,
    /// End of validity.
    #[rasn(tag(explicit(7)))]
    pub endtime: KerberosTime,
    /// Renewal limit.
    #[rasn(tag(explicit(8)))]
    pub renew_till: Option<KerberosTime>,
    /// The service's realm.
    #[rasn(tag(explicit(9)))]
    pub srealm: Realm,
    /// The service's name.
    #[rasn(tag(explicit(10)))]
    pub sname: PrincipalName,
    /// Client addresses.
    #[rasn(tag(explicit(11)))]
    pub caddr: Option<HostAddresses>,
    /// Encrypted PA-DATA (RFC 6806, FAST); kept opaque.
    #[rasn(tag(explicit(12)))]
    pub encrypted_pa_data: Option<SequenceOf<PaData>>,
}

/// `EncASRepPart ::= [APPLICATION 25] EncKDCRepPart`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 25)), delegate)]
pub struct EncAsRepPart(pub EncKdcRepPart);

/// `EncTGSRepPart ::= [APPLICATION 26] EncKDCRepPart`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 26)), delegate)]
pub struct EncTgsRepPart(pub EncKdcRepPart);

/// `AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0], msg-type [1], ap-options [2],
/// ticket [3], authenticator [4] }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 14)))]
pub struct ApReq {
    /// Always 5.
    #[rasn(tag(explicit(0)))]
    pub pvno: i32,
    /// Always 14 (AP-REQ).
    #[rasn(tag(explicit(1)))]
    pub msg_type: MessageType,
    /// AP options.
    #[rasn(tag(explicit(2)))]
    pub ap_options: ApOptions,
    /// The ticket for the service, which the authenticator goes with.
    #[rasn(tag(explicit(3)))]
    pub ticket: Ticket,
    /// [`Authenticator`] under the ticket session key (usage 7 in PA-TGS-REQ, 11 otherwise).
    #[rasn(tag(explicit(4)))]
    pub authenticator: EncryptedData,
}

/// `Authenticator ::= [APPLICATION 2] SEQUENCE { ... }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 2)))]
pub struct Authenticator {
    /// Always 5.
    #[rasn(tag(explicit(0)))]
    pub authenticator_vno: i32,
    /// The client's realm.
    #[rasn(tag(explicit(1)))]
    pub crealm: Realm,
    /// The client's name.
    #[rasn(tag(explicit(2)))]
    pub cname: PrincipalName,
    /// A checksum (the req-body checksum in PA-TGS-REQ, the GSS 0x8003 checksum for GSS).
    #[rasn(tag(explicit(3)))]
    pub cksum: Option<Checksum>,
    /// Microseconds of `ctime`.
    #[rasn(tag(explicit(4)))]
    pub cusec: u32,
    /// The client's time.
    #[rasn(tag(explicit(5)))]
    pub ctime: KerberosTime,
    /// A sub-session key.
    #[rasn(tag(explicit(6)))]
    pub subkey: Option<EncryptionKey>,
    /// The initial sequence number.
    #[rasn(tag(explicit(7)))]
    pub seq_number: Option<SeqNumber>,
    /// Authorization data.
    #[rasn(tag(explicit(8)))]
    pub authorization_data: Option<AuthorizationData>,
}

/// `AP-REP ::= [APPLICATION 15] SEQUENCE { pvno [0], msg-type [1], enc-part [2] }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 15)))]
pub struct ApRep {
    /// Always 5.
    #[rasn(tag(explicit(0)))]
    pub pvno: i32,
    /// Always 15 (AP-REP).
    #[rasn(tag(explicit(1)))]
    pub msg_type: MessageType,
    /// [`EncApRepPart`] under the ticket session key (usage 12).
    #[rasn(tag(explicit(2)))]
    pub enc_part: EncryptedData,
}

/// `EncAPRepPart ::= [APPLICATION 27] SEQUENCE { ctime [0], cusec [1], subkey [2],
/// seq-number [3] }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 27)))]
pub struct EncApRepPart {
    /// The authenticator's ctime, echoed.
    #[rasn(tag(explicit(0)))]
    pub ctime: KerberosTime,
    /// The authenticator's cusec, echoed.
    #[rasn(tag(explicit(1)))]
    pub cusec: u32,
    /// The acceptor's subkey (the SMB session key under mutual authentication).
    #[rasn(tag(explicit(2)))]
    pub subkey: Option<EncryptionKey>,
    /// The acceptor's initial sequence number.
    #[rasn(tag(explicit(3)))]
    pub seq_number: Option<SeqNumber>,
}

/// `KRB-ERROR ::= [APPLICATION 30] SEQUENCE { ... }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 30)))]
pub struct KrbError {
    /// Always 5.
    #[rasn(tag(explicit(0)))]
    pub pvno: i32,
    /// Always 30 (KRB-ERROR).
    #[rasn(tag(explicit(1)))]
    pub msg_type: MessageType,
    /// The client's time, echoed.
    #[rasn(tag(explicit(2)))]
    pub ctime: Option<KerberosTime>,
    /// Microseconds of `ctime`.
    #[rasn(tag(explicit(3)))]
    pub cusec: Option<u32>,
    /// The KDC's time (for measuring clock skew).
    #[rasn(tag(explicit(4)))]
    pub stime: KerberosTime,
    /// Microseconds of `stime`.
    #[rasn(tag(explicit(5)))]
    pub susec: u32,
    /// The error code.
    #[rasn(tag(explicit(6)))]
    pub error_code: ErrorCode,
    /// The client's realm.
    #[rasn(tag(explicit(7)))]
    pub crealm: Option<Realm>,
    /// The client's name.
    #[rasn(tag(explicit(8)))]
    pub cname: Option<PrincipalName>,
    /// The realm of the server that answered.
    #[rasn(tag(explicit(9)))]
    pub realm: Realm,
    /// The name of the server that answered.
    #[rasn(tag(explicit(10)))]
    pub sname: PrincipalName,
    /// Human-readable text.
    #[rasn(tag(explicit(11)))]
    pub e_text: Option<KerberosString>,
    /// METHOD-DATA or TYPED-DATA, depending on the error.
    #[rasn(tag(explicit(12)))]
    pub e_data: Option<OctetString>,
}

/// `KRB-CRED ::= [APPLICATION 22] SEQUENCE { pvno [0], msg-type [1], tickets [2],
/// enc-part [3] }`. `Debug` shows the enc-part's length only: with etype 0 it is the clear
/// [`EncKrbCredPart`], session keys included.
#[derive(AsnType, Clone, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 22)))]
pub struct KrbCred {
    /// Always 5.
    #[rasn(tag(explicit(0)))]
    pub pvno: i32,
    /// Always 22 (KRB-CRED).
    #[rasn(tag(explicit(1)))]
    pub msg_type: MessageType,
    /// The tickets forwarded; their session keys are in `enc_part`.
    #[rasn(tag(explicit(2)))]
    pub tickets: SequenceOf<Ticket>,
    /// [`EncKrbCredPart`] (usage 14; often etype 0, unencrypted, for local transfer).
    #[rasn(tag(explicit(3)))]
    pub enc_part: EncryptedData,
}

impl core::fmt::Debug for KrbCred {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let e = &self.enc_part;
        let what = if e.etype == 0 {
            "unencrypted, redacted"
        } else {
            "encrypted"
        };
        f.debug_struct("KrbCred")
            .field("pvno", &self.pvno)
            .field("msg_type", &self.msg_type)
            .field("tickets", &self.tickets)
            .field(
                "enc_part",
                &format_args!(
                    "EncryptedData {{ etype: {}, kvno: {:?}, cipher: <{} bytes, {what}> }}",
                    e.etype,
                    e.kvno,
                    e.cipher.len()
                ),
            )
            .finish()
    }
}

/// `EncKrbCredPart ::= [APPLICATION 29] SEQUENCE { ... }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[rasn(tag(explicit(application, 29)))]
pub struct EncKrbCredPart {
    /// One entry per ticket.
    #[rasn(tag(explicit(0)))]
    pub ticket_info: SequenceOf<KrbCredInfo>,
    /// A nonce the recipient may check against one it chose (RFC 4120 §5.8.1).
    #[rasn(tag(explicit(1)))]
    pub nonce: Option<u32>,
    /// The sender's time, for replay detection.
    #[rasn(tag(explicit(2)))]
    pub timestamp: Option<KerberosTime>,
    /// The microseconds of `timestamp`.
    #[rasn(tag(explicit(3)))]
    pub usec: Option<u32>,
    /// Sender address.
    #[rasn(tag(explicit(4)))]
    pub s_address: Option<HostAddress>,
    /// Recipient address.
    #[rasn(tag(explicit(5)))]
    pub r_address: Option<HostAddress>,
}

/// `KrbCredInfo`: the session key and names for one ticket of a KRB-CRED.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KrbCredInfo {
    /// The ticket's session key.
    #[rasn(tag(explicit(0)))]
    pub key: EncryptionKey,
    /// The client's realm.
    #[rasn(tag(explicit(1)))]
    pub prealm: Option<Realm>,
    /// The client's name.
    #[rasn(tag(explicit(2)))]
    pub pname: Option<PrincipalName>,
    /// Ticket flags.
    #[rasn(tag(explicit(3)))]
    pub flags: Option<TicketFlags>,
    /// Time of initial authentication.
    #[rasn(tag(explicit(4)))]
    pub authtime: Option<KerberosTime>,
    /// Start of validity.
    #[rasn(tag(explicit(5)))]
    pub starttime: Option<KerberosTime>,
    /// End of validity.
    #[rasn(tag(explicit(6)))]
    pub endtime: Option<KerberosTime>,
    /// Renewal limit.
    #[rasn(tag(explicit(7)))]
    pub renew_till: Option<KerberosTime>,
    /// The service's realm.
    #[rasn(tag(explicit(8)))]
    pub srealm: Option<Realm>,
    /// The service's name.
    #[rasn(tag(explicit(9)))]
    pub sname: Option<PrincipalName>,
    /// Client addresses.
    #[rasn(tag(explicit(10)))]
    pub caddr: Option<HostAddresses>,
}

/// `ETYPE-INFO2-ENTRY ::= SEQUENCE { etype [0], salt [1] KerberosString OPTIONAL,
/// s2kparams [2] OCTET STRING OPTIONAL }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EtypeInfo2Entry {
    /// The encryption type.
    #[rasn(tag(explicit(0)))]
    pub etype: i32,
    /// The salt for string-to-key: always use it, never compute one.
    #[rasn(tag(explicit(1)))]
    pub salt: Option<KerberosString>,
    /// string-to-key parameters (the iteration count for AES).
    #[rasn(tag(explicit(2)))]
    pub s2kparams: Option<OctetString>,
}

/// `KERB-PA-PAC-REQUEST ::= SEQUENCE { include-pac [0] BOOLEAN }` (MS-KILE 2.2.3).
#[derive(AsnType, Clone, Copy, Debug, Decode, Encode, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PaPacRequest {
    /// Whether the KDC should put a PAC in the ticket.
    #[rasn(tag(explicit(0)))]
    pub include_pac: bool,
}

/// `PA-ENC-TIMESTAMP ::= EncryptedData -- PA-ENC-TS-ENC` (usage 1).
pub type PaEncTimestamp = EncryptedData;
