//! FAST (RFC 6113) for the TGS exchange: the TGT is the armor (§5.4.1.1), so no armor
//! ticket is needed. The request body and PA-DATA travel sealed in an armor key made from
//! the authenticator's subkey and the TGT's session key; the reply carries a checksum of its
//! ticket in that key (a reply forged or altered on the way is refused), may strengthen the
//! reply key, and errors come sealed too.
//!
//! Whether to armor is decided per realm ([`FastPolicy`], [`Armoring`]): always where the
//! realm is configured to require it; where it is `auto` (the default), when that realm's
//! KDC has said it supports FAST (PA-FX-FAST in its pre-authentication hints or in an AS
//! reply's encrypted PA-DATA, or MIT's `fast_avail` entry in a credential cache). Once a
//! request is armored, a reply that is not is refused: that is a downgrade.

use azkrb_asn1::fast::{
    KrbFastArmoredReq, KrbFastReq, KrbFastResponse, PaFxFastReply, PaFxFastRequest,
};
use azkrb_asn1::krb::{Checksum, EncryptedData, KdcRep, KdcReqBody, KrbError, PaData, Ticket};
use azkrb_asn1::{CksumType, FastOptions, PaDataType, decode, encode};
use azkrb_crypto::{Key, KeyUsage, fx_cf2};

use crate::error::{Error, Result};
use crate::principal::Principal;

/// Whether a realm's TGS requests are armored with FAST (krb5.conf: `fast = auto`,
/// `required` or `never`, in `[libdefaults]` or a realm's `[realms]` entry).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FastPolicy {
    /// When the realm's KDC has said it supports FAST (the default).
    #[default]
    Auto,
    /// Always; a KDC that does not answer with FAST is refused.
    Required,
    /// Never.
    Never,
}

impl FastPolicy {
    /// Parses `auto`, `required` (or `yes`, `true`) and `never` (or `no`, `false`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "required" | "require" | "yes" | "true" => Some(Self::Required),
            "never" | "no" | "false" => Some(Self::Never),
            _ => None,
        }
    }
}

/// What a TGS exchange needs to decide, at each realm it sends to, whether to armor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Armoring {
    /// The policy of a realm not listed in `realms`.
    pub default: FastPolicy,
    /// Per-realm policies.
    pub realms: Vec<(String, FastPolicy)>,
    /// Realms whose KDCs are known to support FAST.
    pub advertised: Vec<String>,
}

impl Armoring {
    /// Armoring at every KDC, as [`FastPolicy::Required`].
    pub fn required() -> Self {
        Self {
            default: FastPolicy::Required,
            ..Self::default()
        }
    }

    /// Whether a request to `realm`'s KDC is armored.
    pub fn armors(&self, realm: &str) -> bool {
        let policy = self
            .realms
            .iter()
            .find(|(r, _)| r.eq_ignore_ascii_case(realm))
            .map_or(self.default, |(_, p)| *p);
        match policy {
            FastPolicy::Required => true,
            FastPolicy::Never => false,
            FastPolicy::Auto => self
                .advertised
                .iter()
                .any(|r| r.eq_ignore_ascii_case(realm)),
        }
    }
}

/// PA-FX-FAST is among `padata`: the KDC that sent it supports FAST.
pub fn advertises_fast(padata: &[PaData]) -> bool {
    padata.iter().any(|p| p.padata_type == PaDataType::FxFast)
}

/// The armor of one TGS request.
#[derive(Debug)]
pub(crate) struct TgsArmor {
    key: Key,
    nonce: u32,
}

/// What an armored TGS-REP's FAST response says.
pub(crate) struct FastReply {
    /// The key the KDC strengthened the reply key with, if it did.
    pub strengthen_key: Option<Key>,
    /// The client, as the KDC's KrbFastFinished names it.
    pub client: Principal,
}

impl TgsArmor {
    /// The armor key KRB-FX-CF2(subkey, "subkeyarmor", TGT session key, "ticketarmor").
    pub(crate) fn new(subkey: &Key, session_key: &Key, nonce: u32) -> Result<Self> {
        Ok(Self {
            key: fx_cf2(subkey, b"subkeyarmor", session_key, b"ticketarmor")?,
            nonce,
        })
    }

    /// The PA-FX-FAST of a TGS-REQ: `body` and `inner` PA-DATA sealed in the armor key, with
    /// a checksum over the PA-TGS-REQ's AP-REQ (`ap_req`, DER).
    pub(crate) fn request(
        &self,
        body: &KdcReqBody,
        inner: Vec<PaData>,
        ap_req: &[u8],
    ) -> Result<PaData> {
        let fast_req = KrbFastReq {
            fast_options: FastOptions::empty(),
            padata: inner,
            req_body: body.clone(),
        };
        let sealed = self
            .key
            .encrypt(KeyUsage::FAST_ENC, &encode("KrbFastReq", &fast_req)?)?;
        let armored = PaFxFastRequest::ArmoredData(KrbFastArmoredReq {
            armor: None,
            req_checksum: Checksum {
                cksumtype: CksumType::from(self.key.etype().checksum_type().number()),
                checksum: self
                    .key
                    .checksum(KeyUsage::FAST_REQ_CHECKSUM, ap_req)?
                    .into(),
            },
            enc_fast_req: EncryptedData {
                etype: self.key.etype().number(),
                kvno: None,
                cipher: sealed.into(),
            },
        });
        Ok(PaData {
            padata_type: PaDataType::FxFast,
            padata_value: encode("PA-FX-FAST-REQUEST", &armored)?.into(),
        })
    }

    /// The FAST response in `padata`'s PA-FX-FAST, opened and its nonce checked; `None` when
    /// there is no PA-FX-FAST.
    fn open(&self, padata: &[PaData]) -> Result<Option<KrbFastResponse>> {
        let Some(pa) = padata.iter().find(|p| p.padata_type == PaDataType::FxFast) else {
            return Ok(None);
        };
        let PaFxFastReply::ArmoredData(rep) = decode("PA-FX-FAST-REPLY", &pa.padata_value)?;
        if rep.enc_fast_rep.etype != self.key.etype().number() {
            return Err(Error::Protocol(format!(
                "the KDC's FAST reply is sealed with etype {}, the armor key is {}",
                rep.enc_fast_rep.etype,
                self.key.etype()
            )));
        }
        let plain = self
            .key
            .decrypt(KeyUsage::FAST_REP, &rep.enc_fast_rep.cipher)
            .map_err(|e| {
                Error::Protocol(format!(
                    "the KDC's FAST reply does not open with the armor key ({e}): it was \
                     altered on the way, or is not an answer to this request"
                ))
            })?;
        let response: KrbFastResponse = decode("KrbFastResponse", &plain)?;
        if response.nonce != self.nonce {
            return Err(Error::Protocol(
                "the KDC's FAST reply carries another request's nonce".into(),
            ));
        }
        Ok(Some(response))
    }

    /// Checks an armored TGS-REP: its FAST response opens, names the nonce, and its
    /// KrbFastFinished's checksum covers the reply's very ticket. A reply without FAST to an
    /// armored request is refused.
    pub(crate) fn check_reply(&self, rep: &KdcRep) -> Result<FastReply> {
        let response = self
            .open(rep.padata.as_deref().unwrap_or_default())?
            .ok_or_else(|| {
                Error::Protocol(
                    "the KDC answered a FAST-armored request without FAST (refused: a reply \
                     that is not armored could have been forged or downgraded on the way; \
                     set `fast = never` for a realm whose KDC has no FAST)"
                        .into(),
                )
            })?;
        let finished = response
            .finished
            .ok_or_else(|| Error::Protocol("the KDC's FAST reply has no KrbFastFinished".into()))?;
        let ticket = encode::<Ticket>("Ticket", &rep.ticket)?;
        self.key
            .verify_checksum(
                KeyUsage::FAST_FINISHED,
                finished.ticket_checksum.cksumtype.value(),
                &ticket,
                &finished.ticket_checksum.checksum,
            )
            .map_err(|_| {
                Error::Protocol(
                    "the ticket in the KDC's reply is not the one its FAST checksum covers \
                     (altered on the way)"
                        .into(),
                )
            })?;
        let strengthen_key = response
            .strengthen_key
            .map(|k| Key::from_wire(k.keytype, &k.keyvalue))
            .transpose()?;
        Ok(FastReply {
            strengthen_key,
            client: Principal::new(finished.cname, finished.crealm.to_string_lossy()),
        })
    }

    /// The KDC's own error inside an armored KRB-ERROR (PA-FX-ERROR in its FAST response);
    /// `None` when the error is not armored or does not open (it is then all there is).
    pub(crate) fn inner_error(&self, e: &KrbError) -> Option<KrbError> {
        let padata = e.method_data()?;
        let response = self.open(&padata).ok()??;
        let pa = response
            .padata
            .iter()
            .find(|p| p.padata_type == PaDataType::FxError)?;
        decode::<KrbError>("KRB-ERROR", &pa.padata_value).ok()
    }
}

/// A reply key strengthened as FAST says: KRB-FX-CF2(strengthen-key, "strengthenkey",
/// reply key, "replykey"); the reply key itself without one.
pub(crate) fn reply_key(strengthen: Option<&Key>, key: &Key) -> Result<Key> {
    match strengthen {
        Some(s) => Ok(fx_cf2(s, b"strengthenkey", key, b"replykey")?),
        None => Ok(key.clone()),
    }
}
