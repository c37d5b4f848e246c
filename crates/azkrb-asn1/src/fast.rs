//! FAST, the Flexible Authentication Secure Tunneling of RFC 6113 §5.4: a KDC request and its
//! reply (or error) sealed in an armor key, carried in PA-FX-FAST (136). The module's types
//! use EXPLICIT tags, as RFC 6113's module does.

use rasn::prelude::*;

use crate::constants::FastOptions;
use crate::krb::{
    Checksum, EncryptedData, EncryptionKey, KdcReqBody, KerberosTime, PaData, PrincipalName, Realm,
};

/// `KrbFastArmor ::= SEQUENCE { armor-type [0] Int32, armor-value [1] OCTET STRING }`: an
/// explicit armor (type 1, an AP-REQ). A TGS request armored with its own TGT carries none.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastArmor {
    /// The armor type (1: FX_FAST_ARMOR_AP_REQUEST).
    #[rasn(tag(explicit(0)))]
    pub armor_type: i32,
    /// Its value.
    #[rasn(tag(explicit(1)))]
    pub armor_value: OctetString,
}

/// `KrbFastArmoredReq ::= SEQUENCE { armor [0] KrbFastArmor OPTIONAL, req-checksum [1]
/// Checksum, enc-fast-req [2] EncryptedData }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastArmoredReq {
    /// Explicit armor (absent in a TGS request: the PA-TGS-REQ's TGT is the armor).
    #[rasn(tag(explicit(0)))]
    pub armor: Option<KrbFastArmor>,
    /// A checksum in the armor key (usage 50) over the outer request: for a TGS request,
    /// the PA-TGS-REQ's AP-REQ.
    #[rasn(tag(explicit(1)))]
    pub req_checksum: Checksum,
    /// [`KrbFastReq`] encrypted in the armor key (usage 51).
    #[rasn(tag(explicit(2)))]
    pub enc_fast_req: EncryptedData,
}

/// `PA-FX-FAST-REQUEST ::= CHOICE { armored-data [0] KrbFastArmoredReq, ... }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum PaFxFastRequest {
    /// The armored request.
    #[rasn(tag(explicit(0)))]
    ArmoredData(KrbFastArmoredReq),
}

/// `KrbFastReq ::= SEQUENCE { fast-options [0] FastOptions, padata [1] SEQUENCE OF PA-DATA,
/// req-body [2] KDC-REQ-BODY }`: the request the KDC acts on.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastReq {
    /// FAST options.
    #[rasn(tag(explicit(0)))]
    pub fast_options: FastOptions,
    /// The inner PA-DATA (the PA-TGS-REQ stays outside).
    #[rasn(tag(explicit(1)))]
    pub padata: SequenceOf<PaData>,
    /// The request body.
    #[rasn(tag(explicit(2)))]
    pub req_body: KdcReqBody,
}

/// `KrbFastArmoredRep ::= SEQUENCE { enc-fast-rep [0] EncryptedData }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastArmoredRep {
    /// [`KrbFastResponse`] encrypted in the armor key (usage 52).
    #[rasn(tag(explicit(0)))]
    pub enc_fast_rep: EncryptedData,
}

/// `PA-FX-FAST-REPLY ::= CHOICE { armored-data [0] KrbFastArmoredRep, ... }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum PaFxFastReply {
    /// The armored reply.
    #[rasn(tag(explicit(0)))]
    ArmoredData(KrbFastArmoredRep),
}

/// `KrbFastFinished ::= SEQUENCE { timestamp [0] KerberosTime, usec [1] Microseconds,
/// crealm [2] Realm, cname [3] PrincipalName, ticket-checksum [4] Checksum }`: binds the
/// reply's ticket and client name to the armor key.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastFinished {
    /// The KDC's time.
    #[rasn(tag(explicit(0)))]
    pub timestamp: KerberosTime,
    /// Its microseconds.
    #[rasn(tag(explicit(1)))]
    pub usec: i32,
    /// The client's realm (authoritative over the outer reply's).
    #[rasn(tag(explicit(2)))]
    pub crealm: Realm,
    /// The client's name (authoritative over the outer reply's).
    #[rasn(tag(explicit(3)))]
    pub cname: PrincipalName,
    /// A checksum in the armor key (usage 53) over the reply's DER Ticket.
    #[rasn(tag(explicit(4)))]
    pub ticket_checksum: Checksum,
}

/// `KrbFastResponse ::= SEQUENCE { padata [0] SEQUENCE OF PA-DATA, strengthen-key [1]
/// EncryptionKey OPTIONAL, finished [2] KrbFastFinished OPTIONAL, nonce [3] UInt32 }`.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KrbFastResponse {
    /// The reply's PA-DATA (in an error: PA-FX-ERROR, the KRB-ERROR itself).
    #[rasn(tag(explicit(0)))]
    pub padata: SequenceOf<PaData>,
    /// When present, the reply key is KRB-FX-CF2(strengthen-key, "strengthenkey",
    /// reply key, "replykey").
    #[rasn(tag(explicit(1)))]
    pub strengthen_key: Option<EncryptionKey>,
    /// Present in a successful reply.
    #[rasn(tag(explicit(2)))]
    pub finished: Option<KrbFastFinished>,
    /// The request's nonce.
    #[rasn(tag(explicit(3)))]
    pub nonce: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CksumType, KdcOptions, NameType, PaDataType, decode, encode};

    fn body() -> KdcReqBody {
        KdcReqBody {
            kdc_options: KdcOptions::CANONICALIZE,
            cname: None,
            realm: "R.TEST".into(),
            sname: Some(PrincipalName::new(NameType::SrvInst, ["cifs", "h"])),
            from: None,
            till: KerberosTime::from_unix(2_000_000_000),
            rtime: None,
            nonce: 7,
            etype: vec![18],
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        }
    }

    fn cksum() -> Checksum {
        Checksum {
            cksumtype: CksumType::HmacSha196Aes256,
            checksum: OctetString::from(vec![1; 12]),
        }
    }

    fn sealed(n: u8) -> EncryptedData {
        EncryptedData {
            etype: 18,
            kvno: None,
            cipher: OctetString::from(vec![n; 40]),
        }
    }

    #[test]
    fn fast_messages_round_trip() {
        let req = PaFxFastRequest::ArmoredData(KrbFastArmoredReq {
            armor: None,
            req_checksum: cksum(),
            enc_fast_req: sealed(2),
        });
        let der = encode("PA-FX-FAST-REQUEST", &req).unwrap();
        // [0] { SEQUENCE { [1] ..., [2] ... } }: no armor field at all.
        assert_eq!(&der[..1], &[0xa0]);
        assert_eq!(decode::<PaFxFastRequest>("x", &der).unwrap(), req);

        let inner = KrbFastReq {
            fast_options: FastOptions::empty(),
            padata: vec![],
            req_body: body(),
        };
        let der = encode("KrbFastReq", &inner).unwrap();
        assert_eq!(decode::<KrbFastReq>("x", &der).unwrap(), inner);

        let rep = KrbFastResponse {
            padata: vec![PaData {
                padata_type: PaDataType::FxError,
                padata_value: OctetString::from(vec![0x30, 0]),
            }],
            strengthen_key: None,
            finished: Some(KrbFastFinished {
                timestamp: KerberosTime::from_unix(1_900_000_000),
                usec: 5,
                crealm: "R.TEST".into(),
                cname: PrincipalName::new(NameType::Principal, ["alice"]),
                ticket_checksum: cksum(),
            }),
            nonce: 0x7fff_fff0,
        };
        let der = encode("KrbFastResponse", &rep).unwrap();
        assert_eq!(decode::<KrbFastResponse>("x", &der).unwrap(), rep);

        let reply = PaFxFastReply::ArmoredData(KrbFastArmoredRep {
            enc_fast_rep: sealed(3),
        });
        let der = encode("PA-FX-FAST-REPLY", &reply).unwrap();
        assert_eq!(decode::<PaFxFastReply>("x", &der).unwrap(), reply);
        // Truncations fail cleanly.
        for n in 0..der.len() {
            assert!(decode::<PaFxFastReply>("x", &der[..n]).is_err());
        }
    }
}
