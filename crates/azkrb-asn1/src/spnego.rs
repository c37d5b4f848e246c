//! SPNEGO (RFC 4178) and Microsoft's NegTokenInit2 (MS-SPNG §2.2.1).

use rasn::prelude::*;

use crate::error::{Error, Result};
use crate::gss::{InitialContextToken, SPNEGO_OID};
use crate::krb::KerberosString;

/// `MechType ::= OBJECT IDENTIFIER`.
pub type MechType = ObjectIdentifier;
/// `MechTypeList ::= SEQUENCE OF MechType`.
pub type MechTypeList = SequenceOf<MechType>;

/// An OID from its arcs (the arcs of the constants in [`crate::gss`]).
pub fn mech(arcs: &[u32]) -> Result<MechType> {
    ObjectIdentifier::new(arcs.to_vec()).ok_or_else(|| Error::Encode {
        what: "OBJECT IDENTIFIER",
        detail: format!("{arcs:?} is not a valid OID"),
    })
}

/// The exact DER of a MechTypeList: what a mechListMIC covers (`30 len 06 ...`).
pub fn mech_type_list_der(list: &MechTypeList) -> Result<Vec<u8>> {
    crate::encode("MechTypeList", list)
}

/// `NegTokenInit ::= SEQUENCE { mechTypes [0], reqFlags [1] OPTIONAL, mechToken [2]
/// OPTIONAL, mechListMIC [3] OPTIONAL }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, Hash)]
pub struct NegTokenInit {
    /// The mechanisms, most preferred first.
    #[rasn(tag(explicit(0)))]
    pub mech_types: MechTypeList,
    /// Context flags (deprecated; rarely sent).
    #[rasn(tag(explicit(1)))]
    pub req_flags: Option<BitString>,
    /// The optimistic token of the first mechanism (the krb5 AP-REQ).
    #[rasn(tag(explicit(2)))]
    pub mech_token: Option<OctetString>,
    /// MIC over the MechTypeList.
    #[rasn(tag(explicit(3)))]
    pub mech_list_mic: Option<OctetString>,
}

/// `NegHints ::= SEQUENCE { hintName [0] GeneralString OPTIONAL, hintAddress [1] OCTET
/// STRING OPTIONAL }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, Hash)]
pub struct NegHints {
    /// Typically "not_defined_in_RFC4178@please_ignore".
    #[rasn(tag(explicit(0)))]
    pub hint_name: Option<KerberosString>,
    /// `hintAddress`: never used (MS-SPNG §2.2.1).
    #[rasn(tag(explicit(1)))]
    pub hint_address: Option<OctetString>,
}

/// `NegTokenInit2` (MS-SPNG): what SMB servers put in the NEGOTIATE response.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, Hash)]
pub struct NegTokenInit2 {
    /// The mechanisms the server offers.
    #[rasn(tag(explicit(0)))]
    pub mech_types: MechTypeList,
    /// Context flags.
    #[rasn(tag(explicit(1)))]
    pub req_flags: Option<BitString>,
    /// A mechanism token.
    #[rasn(tag(explicit(2)))]
    pub mech_token: Option<OctetString>,
    /// `negHints`: a server name hint that clients ignore (MS-SPNG §2.2.1).
    #[rasn(tag(explicit(3)))]
    pub neg_hints: Option<NegHints>,
    /// MIC over the MechTypeList.
    #[rasn(tag(explicit(4)))]
    pub mech_list_mic: Option<OctetString>,
}

/// `negState` of NegTokenResp.
#[derive(AsnType, Clone, Copy, Debug, Decode, Encode, PartialEq, Eq, Hash)]
#[rasn(enumerated)]
pub enum NegState {
    /// accept-completed (0).
    AcceptCompleted = 0,
    /// accept-incomplete (1).
    AcceptIncomplete = 1,
    /// reject (2).
    Reject = 2,
    /// request-mic (3).
    RequestMic = 3,
}

/// `NegTokenResp ::= SEQUENCE { negState [0] OPTIONAL, supportedMech [1] OPTIONAL,
/// responseToken [2] OPTIONAL, mechListMIC [3] OPTIONAL }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq, Hash)]
pub struct NegTokenResp {
    /// The negotiation state.
    #[rasn(tag(explicit(0)))]
    pub neg_state: Option<NegState>,
    /// The mechanism the acceptor chose.
    #[rasn(tag(explicit(1)))]
    pub supported_mech: Option<MechType>,
    /// The mechanism's token (the krb5 AP-REP).
    #[rasn(tag(explicit(2)))]
    pub response_token: Option<OctetString>,
    /// MIC over the initiator's MechTypeList.
    #[rasn(tag(explicit(3)))]
    pub mech_list_mic: Option<OctetString>,
}

/// `NegotiationToken ::= CHOICE { negTokenInit [0], negTokenResp [1] }`, with NegTokenInit2
/// recognised in the `[0]` arm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NegotiationToken {
    /// RFC 4178 NegTokenInit.
    Init(NegTokenInit),
    /// MS-SPNG NegTokenInit2 (has negHints).
    Init2(NegTokenInit2),
    /// NegTokenResp.
    Resp(NegTokenResp),
}

#[derive(AsnType, Decode, Encode)]
#[rasn(tag(explicit(context, 0)), delegate)]
struct InitArm(NegTokenInit);
#[derive(AsnType, Decode, Encode)]
#[rasn(tag(explicit(context, 0)), delegate)]
struct Init2Arm(NegTokenInit2);
#[derive(AsnType, Decode, Encode)]
#[rasn(tag(explicit(context, 1)), delegate)]
struct RespArm(NegTokenResp);

impl NegotiationToken {
    /// Decodes a SPNEGO token: either the initial one (framed in an InitialContextToken
    /// with the SPNEGO OID) or a bare `[0]`/`[1]` NegotiationToken.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let inner;
        let body = if bytes.first() == Some(&0x60) {
            let t = InitialContextToken::decode(bytes)?;
            if !t.is_mech(SPNEGO_OID) {
                return Err(Error::malformed(
                    "SPNEGO token",
                    "thisMech",
                    2,
                    "not the SPNEGO OID 1.3.6.1.5.5.2",
                ));
            }
            inner = t.inner;
            &inner[..]
        } else {
            bytes
        };
        match body.first() {
            Some(0xa0) => {
                // NegTokenInit and NegTokenInit2 differ from field [3] on; try the plain
                // form first, then Microsoft's.
                match crate::decode::<InitArm>("NegTokenInit", body) {
                    Ok(t) => Ok(Self::Init(t.0)),
                    Err(first) => crate::decode::<Init2Arm>("NegTokenInit2", body)
                        .map(|t| Self::Init2(t.0))
                        .map_err(|_| first),
                }
            }
            Some(0xa1) => crate::decode::<RespArm>("NegTokenResp", body).map(|t| Self::Resp(t.0)),
            Some(b) => Err(Error::malformed(
                "SPNEGO token",
                "NegotiationToken",
                0,
                format!("tag 0x{b:02x}, expected [0] negTokenInit or [1] negTokenResp"),
            )),
            None => Err(Error::malformed(
                "SPNEGO token",
                "NegotiationToken",
                0,
                "empty input",
            )),
        }
    }

    /// Encodes: an `Init`/`Init2` token inside an InitialContextToken with the SPNEGO OID (as
    /// sent first), a `Resp` token bare (as sent afterwards).
    pub fn encode(&self) -> Result<Vec<u8>> {
        match self {
            Self::Init(t) => Ok(InitialContextToken::new(
                SPNEGO_OID,
                crate::encode("NegTokenInit", &InitArm(t.clone()))?,
            )
            .encode()),
            Self::Init2(t) => Ok(InitialContextToken::new(
                SPNEGO_OID,
                crate::encode("NegTokenInit2", &Init2Arm(t.clone()))?,
            )
            .encode()),
            Self::Resp(t) => crate::encode("NegTokenResp", &RespArm(t.clone())),
        }
    }

    /// The mechanism list of an initial token.
    pub fn mech_types(&self) -> Option<&MechTypeList> {
        match self {
            Self::Init(t) => Some(&t.mech_types),
            Self::Init2(t) => Some(&t.mech_types),
            Self::Resp(_) => None,
        }
    }
}
