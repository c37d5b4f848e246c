//! GSS-API framing for the Kerberos mechanism: the initial context token (RFC 2743 §3.1),
//! krb5 token IDs (RFC 4121 §4.1), the MIC and Wrap token headers (RFC 4121 §4.2.6) and the
//! authenticator checksum of type 0x8003 (RFC 4121 §4.1.1).

use crate::error::{Error, Result};

/// OID 1.2.840.113554.1.2.2, the Kerberos V5 GSS mechanism.
pub const KRB5_OID: &[u32] = &[1, 2, 840, 113_554, 1, 2, 2];
/// OID 1.2.840.48018.1.2.2, the Kerberos OID Microsoft's early SPNEGO used (still sent).
pub const MS_KRB5_OID: &[u32] = &[1, 2, 840, 48_018, 1, 2, 2];
/// OID 1.3.6.1.5.5.2, SPNEGO.
pub const SPNEGO_OID: &[u32] = &[1, 3, 6, 1, 5, 5, 2];
/// OID 1.3.6.1.4.1.311.2.2.10, NTLMSSP.
pub const NTLMSSP_OID: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 2, 10];
/// OID 1.3.6.1.4.1.311.2.2.30, NEGOEX.
pub const NEGOEX_OID: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 2, 30];

/// Encodes an OID's arcs as DER content octets (without tag and length).
pub fn oid_content(arcs: &[u32]) -> Vec<u8> {
    fn push(out: &mut Vec<u8>, v: u64) {
        let mut groups = vec![(v & 0x7f) as u8];
        let mut rest = v >> 7;
        while rest != 0 {
            groups.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    let mut out = Vec::new();
    match arcs {
        [a, b, rest @ ..] => {
            push(&mut out, u64::from(*a) * 40 + u64::from(*b));
            for arc in rest {
                push(&mut out, u64::from(*arc));
            }
        }
        [a] => push(&mut out, u64::from(*a) * 40),
        [] => {}
    }
    out
}

/// A bounded reader over untrusted bytes that names the structure in its errors.
pub(crate) struct Reader<'a> {
    what: &'static str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(what: &'static str, bytes: &'a [u8]) -> Self {
        Self {
            what,
            bytes,
            pos: 0,
        }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }
    pub(crate) fn err(&self, field: &'static str, detail: impl Into<String>) -> Error {
        Error::malformed(self.what, field, self.pos, detail)
    }
    pub(crate) fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end.and_then(|e| self.bytes.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err(field, format!("needs {n} bytes, {} left", self.remaining()))),
        }
    }
    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let s = self.take(field, N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }
    pub(crate) fn u16_be(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn u16_le(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    pub(crate) fn u32_le(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    pub(crate) fn u64_be(&mut self, field: &'static str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn u64_le(&mut self, field: &'static str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let r = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        r
    }
    /// A DER length (definite form only).
    fn der_length(&mut self, field: &'static str) -> Result<usize> {
        let first = self.u8(field)?;
        if first & 0x80 == 0 {
            return Ok(usize::from(first));
        }
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(self.err(field, format!("unsupported length form 0x{first:02x}")));
        }
        let mut len = 0usize;
        for b in self.take(field, n)? {
            len = (len << 8) | usize::from(*b);
        }
        Ok(len)
    }
}

fn der_length_bytes(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let mut out = vec![0x80 | (4 - skip) as u8];
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
        out
    }
}

/// `InitialContextToken ::= [APPLICATION 0] IMPLICIT SEQUENCE { thisMech MechType,
/// innerContextToken ANY }`: the first token a GSS initiator sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialContextToken {
    /// DER content octets of the mechanism OID (compare with [`oid_content`]).
    pub mech_oid: Vec<u8>,
    /// The mechanism's token (for krb5: token ID then AP-REQ).
    pub inner: Vec<u8>,
}

impl InitialContextToken {
    /// A token for the mechanism with these OID arcs.
    pub fn new(mech: &[u32], inner: Vec<u8>) -> Self {
        Self {
            mech_oid: oid_content(mech),
            inner,
        }
    }

    /// True if the mechanism is `arcs`.
    pub fn is_mech(&self, arcs: &[u32]) -> bool {
        self.mech_oid == oid_content(arcs)
    }

    /// Parses `0x60 len 0x06 len oid inner`.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("GSS InitialContextToken", bytes);
        let tag = r.u8("tag")?;
        if tag != 0x60 {
            return Err(Error::malformed(
                "GSS InitialContextToken",
                "tag",
                0,
                format!("0x{tag:02x}, expected 0x60 ([APPLICATION 0])"),
            ));
        }
        let len = r.der_length("length")?;
        if len != r.remaining() {
            return Err(r.err(
                "length",
                format!("says {len} bytes, {} follow", r.remaining()),
            ));
        }
        let oid_tag = r.u8("thisMech")?;
        if oid_tag != 0x06 {
            return Err(r.err(
                "thisMech",
                format!("tag 0x{oid_tag:02x}, expected OID (0x06)"),
            ));
        }
        let oid_len = r.der_length("thisMech")?;
        let mech_oid = r.take("thisMech", oid_len)?.to_vec();
        let inner = r.rest().to_vec();
        Ok(Self { mech_oid, inner })
    }

    /// Encodes the token.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = vec![0x06];
        body.extend(der_length_bytes(self.mech_oid.len()));
        body.extend_from_slice(&self.mech_oid);
        body.extend_from_slice(&self.inner);
        let mut out = vec![0x60];
        out.extend(der_length_bytes(body.len()));
        out.extend(body);
        out
    }
}

/// The two-byte token ID in front of every krb5 GSS token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Krb5TokenId {
    /// `01 00`: AP-REQ.
    ApReq,
    /// `02 00`: AP-REP.
    ApRep,
    /// `03 00`: KRB-ERROR.
    KrbError,
    /// `04 04`: MIC token (RFC 4121).
    Mic,
    /// `05 04`: Wrap token (RFC 4121).
    Wrap,
    /// Anything else.
    Unknown(u16),
}

impl Krb5TokenId {
    /// The two bytes as a big-endian number.
    pub const fn value(self) -> u16 {
        match self {
            Self::ApReq => 0x0100,
            Self::ApRep => 0x0200,
            Self::KrbError => 0x0300,
            Self::Mic => 0x0404,
            Self::Wrap => 0x0504,
            Self::Unknown(v) => v,
        }
    }
}

impl From<u16> for Krb5TokenId {
    fn from(v: u16) -> Self {
        match v {
            0x0100 => Self::ApReq,
            0x0200 => Self::ApRep,
            0x0300 => Self::KrbError,
            0x0404 => Self::Mic,
            0x0504 => Self::Wrap,
            other => Self::Unknown(other),
        }
    }
}

/// A krb5 mechanism token: token ID then the Kerberos message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Krb5Token {
    /// What follows.
    pub id: Krb5TokenId,
    /// The DER Kerberos message.
    pub message: Vec<u8>,
}

impl Krb5Token {
    /// Parses a krb5 token, with or without the InitialContextToken framing (an AP-REP or
    /// KRB-ERROR from the acceptor may come either way). With framing, the mechanism must be
    /// one of the two Kerberos OIDs.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let inner;
        let body = if bytes.first() == Some(&0x60) {
            let t = InitialContextToken::decode(bytes)?;
            if !t.is_mech(KRB5_OID) && !t.is_mech(MS_KRB5_OID) {
                return Err(Error::malformed(
                    "krb5 GSS token",
                    "thisMech",
                    2,
                    "not a Kerberos mechanism OID",
                ));
            }
            inner = t.inner;
            &inner[..]
        } else {
            bytes
        };
        let mut r = Reader::new("krb5 GSS token", body);
        let id = Krb5TokenId::from(r.u16_be("TOK_ID")?);
        Ok(Self {
            id,
            message: r.rest().to_vec(),
        })
    }

    /// Encodes with the InitialContextToken framing and the krb5 OID (what an initiator
    /// sends).
    pub fn encode_framed(&self) -> Vec<u8> {
        InitialContextToken::new(KRB5_OID, self.encode_bare()).encode()
    }

    /// Encodes as token ID + message, without framing.
    pub fn encode_bare(&self) -> Vec<u8> {
        let mut out = self.id.value().to_be_bytes().to_vec();
        out.extend_from_slice(&self.message);
        out
    }
}

/// Flags of RFC 4121 MIC and Wrap tokens.
pub mod token_flags {
    /// The token was sent by the context acceptor.
    pub const SENT_BY_ACCEPTOR: u8 = 0x01;
    /// Confidentiality (Wrap only).
    pub const SEALED: u8 = 0x02;
    /// The acceptor's subkey protects the token.
    pub const ACCEPTOR_SUBKEY: u8 = 0x04;
}

/// An RFC 4121 MIC token: `04 04 | flags | FF×5 | SND_SEQ (8, BE) | checksum`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicToken {
    /// See [`token_flags`].
    pub flags: u8,
    /// The sender's sequence number.
    pub snd_seq: u64,
    /// The checksum over message ‖ header.
    pub checksum: Vec<u8>,
}

impl MicToken {
    /// The 16-byte header the checksum covers (after the message).
    pub fn header(&self) -> [u8; 16] {
        let mut h = [0xffu8; 16];
        h[0] = 0x04;
        h[1] = 0x04;
        h[2] = self.flags;
        h[8..].copy_from_slice(&self.snd_seq.to_be_bytes());
        h
    }

    /// Parses a MIC token.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("GSS MIC token", bytes);
        let id = r.u16_be("TOK_ID")?;
        if id != 0x0404 {
            return Err(Error::malformed(
                "GSS MIC token",
                "TOK_ID",
                0,
                format!("0x{id:04x}, expected 0x0404"),
            ));
        }
        let flags = r.u8("Flags")?;
        if r.array::<5>("Filler")? != [0xff; 5] {
            return Err(Error::malformed(
                "GSS MIC token",
                "Filler",
                3,
                "must be FF FF FF FF FF",
            ));
        }
        let snd_seq = r.u64_be("SND_SEQ")?;
        Ok(Self {
            flags,
            snd_seq,
            checksum: r.rest().to_vec(),
        })
    }

    /// Encodes the token.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.header().to_vec();
        out.extend_from_slice(&self.checksum);
        out
    }
}

/// An RFC 4121 Wrap token: `05 04 | flags | FF | EC (2) | RRC (2) | SND_SEQ (8) | data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapToken {
    /// See [`token_flags`].
    pub flags: u8,
    /// Extra count: filler bytes (sealed) or checksum length (integrity only).
    pub ec: u16,
    /// Right rotation count.
    pub rrc: u16,
    /// The sender's sequence number.
    pub snd_seq: u64,
    /// Everything after the header.
    pub data: Vec<u8>,
}

impl WrapToken {
    /// The 16-byte header as sent.
    pub fn header(&self) -> [u8; 16] {
        let mut h = [0u8; 16];
        h[0] = 0x05;
        h[1] = 0x04;
        h[2] = self.flags;
        h[3] = 0xff;
        h[4..6].copy_from_slice(&self.ec.to_be_bytes());
        h[6..8].copy_from_slice(&self.rrc.to_be_bytes());
        h[8..].copy_from_slice(&self.snd_seq.to_be_bytes());
        h
    }

    /// Parses a Wrap token.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("GSS Wrap token", bytes);
        let id = r.u16_be("TOK_ID")?;
        if id != 0x0504 {
            return Err(Error::malformed(
                "GSS Wrap token",
                "TOK_ID",
                0,
                format!("0x{id:04x}, expected 0x0504"),
            ));
        }
        let flags = r.u8("Flags")?;
        if r.u8("Filler")? != 0xff {
            return Err(Error::malformed(
                "GSS Wrap token",
                "Filler",
                3,
                "must be FF",
            ));
        }
        let ec = r.u16_be("EC")?;
        let rrc = r.u16_be("RRC")?;
        let snd_seq = r.u64_be("SND_SEQ")?;
        Ok(Self {
            flags,
            ec,
            rrc,
            snd_seq,
            data: r.rest().to_vec(),
        })
    }

    /// Encodes the token.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.header().to_vec();
        out.extend_from_slice(&self.data);
        out
    }
}

/// GSS context flags as carried in the 0x8003 checksum (RFC 4121 §4.1.1.1, RFC 2744).
pub mod context_flags {
    /// GSS_C_DELEG_FLAG.
    pub const DELEG: u32 = 1;
    /// GSS_C_MUTUAL_FLAG.
    pub const MUTUAL: u32 = 2;
    /// GSS_C_REPLAY_FLAG.
    pub const REPLAY: u32 = 4;
    /// GSS_C_SEQUENCE_FLAG.
    pub const SEQUENCE: u32 = 8;
    /// GSS_C_CONF_FLAG.
    pub const CONF: u32 = 16;
    /// GSS_C_INTEG_FLAG.
    pub const INTEG: u32 = 32;
    /// GSS_C_DCE_STYLE (MS-KILE).
    pub const DCE_STYLE: u32 = 0x1000;
    /// GSS_C_IDENTIFY_FLAG (MS-KILE).
    pub const IDENTIFY: u32 = 0x2000;
    /// GSS_C_EXTENDED_ERROR_FLAG (MS-KILE).
    pub const EXTENDED_ERROR: u32 = 0x4000;
}

/// The authenticator checksum of type 0x8003 (RFC 4121 §4.1.1): Lgth (always 16), Bnd
/// (channel-binding hash), Flags, and optionally a delegated KRB-CRED and extensions.
/// `Debug` shows the delegated KRB-CRED's length only (it may carry session keys in clear).
#[derive(Clone, PartialEq, Eq)]
pub struct GssChecksum {
    /// MD5 of the channel bindings, or zeros.
    pub bnd: [u8; 16],
    /// See [`context_flags`].
    pub flags: u32,
    /// `(DlgOpt, KRB-CRED)` when [`context_flags::DELEG`] is set.
    pub delegation: Option<(u16, Vec<u8>)>,
    /// Any bytes after that (extensions), kept as they are.
    pub extensions: Vec<u8>,
}

impl core::fmt::Debug for GssChecksum {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut d = f.debug_struct("GssChecksum");
        d.field("bnd", &self.bnd)
            .field("flags", &format_args!("{:#x}", self.flags));
        match &self.delegation {
            Some((opt, cred)) => d.field(
                "delegation",
                &format_args!("Some(({opt}, <KRB-CRED, {} bytes redacted>))", cred.len()),
            ),
            None => d.field("delegation", &None::<()>),
        };
        d.field("extensions", &self.extensions).finish()
    }
}

impl GssChecksum {
    /// A checksum with no channel bindings and no delegation.
    pub fn new(flags: u32) -> Self {
        Self {
            bnd: [0; 16],
            flags,
            delegation: None,
            extensions: Vec::new(),
        }
    }

    /// Parses the checksum value.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new("GSS 0x8003 checksum", bytes);
        let lgth = r.u32_le("Lgth")?;
        if lgth != 16 {
            return Err(Error::malformed(
                "GSS 0x8003 checksum",
                "Lgth",
                0,
                format!("{lgth}, expected 16"),
            ));
        }
        let bnd = r.array::<16>("Bnd")?;
        let flags = r.u32_le("Flags")?;
        let mut delegation = None;
        if flags & context_flags::DELEG != 0 && r.remaining() > 0 {
            let opt = r.u16_le("DlgOpt")?;
            let len = r.u16_le("Dlgth")?;
            let cred = r.take("Deleg", usize::from(len))?.to_vec();
            delegation = Some((opt, cred));
        }
        Ok(Self {
            bnd,
            flags,
            delegation,
            extensions: r.rest().to_vec(),
        })
    }

    /// Encodes the checksum value. Fails if a delegated credential exceeds 65,535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&self.bnd);
        out.extend_from_slice(&self.flags.to_le_bytes());
        if let Some((opt, cred)) = &self.delegation {
            let len = u16::try_from(cred.len()).map_err(|_| Error::Encode {
                what: "GSS 0x8003 checksum",
                detail: format!("delegated credential of {} bytes exceeds 65535", cred.len()),
            })?;
            out.extend_from_slice(&opt.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(cred);
        }
        out.extend_from_slice(&self.extensions);
        Ok(out)
    }
}
