//! FAST (RFC 6113) for the TGS exchange: the TGT is the armor (§5.4.1.1), so no armor
//! ticket is needed. The request body and PA-DATA travel sealed in an armor key made from
//! the authenticator's subkey and the TGT's session key; the reply carries a checksum of its
//! ticket in that key (a reply forged or altered on the way is refused), may strengthen the
//! reply key, and errors come sealed too.
//!
//! Whether to armor is decided per realm ([`FastPolicy`], [`Armoring`]): always where the
//! realm is configured to require it; where it is `auto` (the default), when that realm's
//! KDC has said it supports FAST where no one on the way could change it: PA-FX-FAST in an
//! AS reply's encrypted PA-DATA beside its checksum of our request (RFC 6806 §11), or MIT's
//! `fast_avail` entry in a credential cache, which kinit (and `login` here) writes only then.
//! The unauthenticated PA-FX-FAST hint of a PREAUTH_REQUIRED error is not taken. Once a
//! request is armored, a reply that is not is refused: that is a downgrade (a realm whose
//! KDCs do not all have FAST wants `fast = never`).

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

#[cfg(test)]
mod tests {
    use azkrb_asn1::fast::{KrbFastArmoredRep, KrbFastFinished};
    use azkrb_asn1::krb::{
        ApReq, Authenticator, EncKdcRepPart, EncTgsRepPart, EncryptionKey, KdcRep, KeyValue,
        TgsRep, TgsReq,
    };
    use azkrb_asn1::{ErrorCode, KerberosTime, MessageType, TicketFlags};
    use azkrb_crypto::EncryptionType;

    use super::*;
    use crate::credential::Credential;
    use crate::exchange::{TgsExchange, TgsStep};

    const REALM: &str = "EXAMPLE.TEST";

    fn p(text: &str) -> Principal {
        Principal::parse(text, REALM).unwrap()
    }

    fn ticket(server: &Principal, fill: u8) -> Ticket {
        Ticket {
            tkt_vno: 5,
            realm: server.realm.as_str().into(),
            sname: server.name.clone(),
            enc_part: EncryptedData {
                etype: 18,
                kvno: Some(1),
                cipher: vec![fill; 64].into(),
            },
        }
    }

    fn tgt(now: KerberosTime) -> Credential {
        let tgs = p("krbtgt/EXAMPLE.TEST");
        Credential {
            client: p("alice"),
            server: tgs.clone(),
            session_key: Key::new(EncryptionType::Aes256CtsHmacSha196, &[0x33; 32]).unwrap(),
            ticket: ticket(&tgs, 1),
            flags: TicketFlags(0),
            authtime: now,
            starttime: None,
            endtime: KerberosTime::from_unix(now.unix() + 3600),
            renew_till: None,
        }
    }

    /// What the KDC reads from an armored TGS-REQ, as RFC 6113 §5.4.1.1 has it read.
    struct Opened {
        body: KdcReqBody,
        subkey: Key,
        session: Key,
        armor: Key,
    }

    fn kdc_open(request: &[u8], session: &Key) -> Opened {
        let req: TgsReq = decode("TGS-REQ", request).unwrap();
        let padata = req.0.padata.unwrap();
        assert_eq!(padata[0].padata_type, PaDataType::TgsReq);
        assert_eq!(padata[1].padata_type, PaDataType::FxFast);
        let ap: ApReq = decode("AP-REQ", &padata[0].padata_value).unwrap();
        let auth = session
            .decrypt(KeyUsage::TGS_REQ_PA_AUTHENTICATOR, &ap.authenticator.cipher)
            .unwrap();
        let auth: Authenticator = decode("Authenticator", &auth).unwrap();
        let sk = auth.subkey.unwrap();
        let subkey = Key::from_wire(sk.keytype, &sk.keyvalue).unwrap();
        let armor = fx_cf2(&subkey, b"subkeyarmor", session, b"ticketarmor").unwrap();
        let PaFxFastRequest::ArmoredData(armored) =
            decode("PA-FX-FAST-REQUEST", &padata[1].padata_value).unwrap();
        assert!(armored.armor.is_none(), "the TGT is the armor");
        armor
            .verify_checksum(
                KeyUsage::FAST_REQ_CHECKSUM,
                armored.req_checksum.cksumtype.value(),
                &padata[0].padata_value,
                &armored.req_checksum.checksum,
            )
            .unwrap();
        let inner = armor
            .decrypt(KeyUsage::FAST_ENC, &armored.enc_fast_req.cipher)
            .unwrap();
        let inner: KrbFastReq = decode("KrbFastReq", &inner).unwrap();
        assert_eq!(
            inner.req_body, req.0.req_body,
            "the outer body is the inner one"
        );
        Opened {
            body: inner.req_body,
            subkey,
            session: session.clone(),
            armor,
        }
    }

    /// How the simulated KDC answers.
    #[derive(Clone, Copy, PartialEq)]
    enum Answer {
        Honest,
        /// No strengthen-key.
        Unstrengthened,
        /// The reply's ticket replaced on the way.
        OtherTicket,
        /// PA-FX-FAST removed on the way.
        Stripped,
        /// The FAST response sealed in another key.
        WrongArmor,
        /// Another request's nonce in the FAST response.
        OtherNonce,
        /// No KrbFastFinished.
        Unfinished,
        /// The outer reply names another client (the KrbFastFinished's name counts).
        OuterNamesAnother,
        /// The KrbFastFinished names another client than the TGT's.
        FinishedNamesAnother,
        /// The encrypted part sealed in the TGT session key (usage 8), strengthened.
        SessionKey,
    }

    fn kdc_reply(o: &Opened, answer: Answer, now: KerberosTime) -> Vec<u8> {
        let service = Principal::new(o.body.sname.clone().unwrap(), REALM);
        let strengthen = Key::new(EncryptionType::Aes256CtsHmacSha196, &[0x44; 32]).unwrap();
        let strengthened = answer != Answer::Unstrengthened;
        let (base, usage) = if answer == Answer::SessionKey {
            (&o.session, KeyUsage::TGS_REP_ENC_PART_SESSION_KEY)
        } else {
            (&o.subkey, KeyUsage::TGS_REP_ENC_PART_SUBKEY)
        };
        let reply_key = reply_key(strengthened.then_some(&strengthen), base).unwrap();
        let part = EncKdcRepPart {
            key: EncryptionKey {
                keytype: 18,
                keyvalue: KeyValue::new(vec![0x22; 32]),
            },
            last_req: Vec::new(),
            nonce: o.body.nonce,
            key_expiration: None,
            flags: TicketFlags(0),
            authtime: now,
            starttime: None,
            endtime: KerberosTime::from_unix(now.unix() + 3600),
            renew_till: None,
            srealm: REALM.into(),
            sname: service.name.clone(),
            caddr: None,
            encrypted_pa_data: None,
        };
        let sealed = reply_key
            .encrypt(
                usage,
                &encode("EncTGSRepPart", &EncTgsRepPart(part)).unwrap(),
            )
            .unwrap();
        let issued = ticket(&service, 2);
        let checksum = o
            .armor
            .checksum(KeyUsage::FAST_FINISHED, &encode("Ticket", &issued).unwrap())
            .unwrap();
        let response = KrbFastResponse {
            padata: Vec::new(),
            strengthen_key: strengthened.then(|| EncryptionKey {
                keytype: 18,
                keyvalue: KeyValue::new(strengthen.as_bytes().to_vec()),
            }),
            finished: (answer != Answer::Unfinished).then(|| KrbFastFinished {
                timestamp: now,
                usec: 0,
                crealm: REALM.into(),
                cname: if answer == Answer::FinishedNamesAnother {
                    p("mallory").name
                } else {
                    p("alice").name
                },
                ticket_checksum: Checksum {
                    cksumtype: CksumType::HmacSha196Aes256,
                    checksum: checksum.into(),
                },
            }),
            nonce: if answer == Answer::OtherNonce {
                o.body.nonce ^ 1
            } else {
                o.body.nonce
            },
        };
        let seal_in = if answer == Answer::WrongArmor {
            &o.subkey
        } else {
            &o.armor
        };
        let fast = PaFxFastReply::ArmoredData(KrbFastArmoredRep {
            enc_fast_rep: EncryptedData {
                etype: 18,
                kvno: None,
                cipher: seal_in
                    .encrypt(
                        KeyUsage::FAST_REP,
                        &encode("KrbFastResponse", &response).unwrap(),
                    )
                    .unwrap()
                    .into(),
            },
        });
        let rep = TgsRep(KdcRep {
            pvno: 5,
            msg_type: MessageType::TgsRep,
            padata: (answer != Answer::Stripped).then(|| {
                vec![PaData {
                    padata_type: PaDataType::FxFast,
                    padata_value: encode("PA-FX-FAST-REPLY", &fast).unwrap().into(),
                }]
            }),
            crealm: REALM.into(),
            cname: if answer == Answer::OuterNamesAnother {
                p("mallory").name
            } else {
                p("alice").name
            },
            ticket: if answer == Answer::OtherTicket {
                ticket(&service, 3)
            } else {
                issued
            },
            enc_part: EncryptedData {
                etype: 18,
                kvno: None,
                cipher: sealed.into(),
            },
        });
        encode("TGS-REP", &rep).unwrap()
    }

    fn exchange(armoring: Armoring) -> (TgsExchange, KerberosTime) {
        let now = KerberosTime::now();
        let x = TgsExchange::new(tgt(now), p("cifs/acct.file.core.windows.net"), now)
            .unwrap()
            .with_armoring(armoring, now)
            .unwrap();
        (x, now)
    }

    #[test]
    fn an_armored_tgs_exchange_takes_the_kdc_s_fast_reply() {
        for answer in [
            Answer::Honest,
            Answer::Unstrengthened,
            Answer::OuterNamesAnother,
            Answer::SessionKey,
        ] {
            let (mut x, now) = exchange(Armoring::required());
            assert!(x.armored());
            let opened = kdc_open(x.request(), &tgt(now).session_key);
            match x.handle_reply(&kdc_reply(&opened, answer, now), now) {
                Ok(TgsStep::Done(c)) => {
                    assert_eq!(
                        c.server.to_string(),
                        format!("cifs/acct.file.core.windows.net@{REALM}")
                    );
                    assert_eq!(c.ticket, ticket(&c.server, 2));
                    assert_eq!(c.client.to_string(), format!("alice@{REALM}"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn an_altered_or_downgraded_fast_reply_is_refused() {
        for (answer, says) in [
            (Answer::OtherTicket, "not the one its FAST checksum covers"),
            (Answer::Stripped, "without FAST"),
            (Answer::WrongArmor, "does not open with the armor key"),
            (Answer::OtherNonce, "another request's nonce"),
            (Answer::Unfinished, "no KrbFastFinished"),
            (Answer::FinishedNamesAnother, "is for mallory"),
        ] {
            let (mut x, now) = exchange(Armoring::required());
            let opened = kdc_open(x.request(), &tgt(now).session_key);
            let err = x
                .handle_reply(&kdc_reply(&opened, answer, now), now)
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{err}");
        }
    }

    #[test]
    fn the_kdc_s_own_error_is_taken_from_inside_an_armored_one() {
        let (mut x, now) = exchange(Armoring::required());
        let opened = kdc_open(x.request(), &tgt(now).session_key);
        let error = |code: ErrorCode, e_data: Option<Vec<u8>>| KrbError {
            pvno: 5,
            msg_type: MessageType::KrbError,
            ctime: None,
            cusec: None,
            stime: now,
            susec: 0,
            error_code: code,
            crealm: None,
            cname: None,
            realm: REALM.into(),
            sname: p("krbtgt/EXAMPLE.TEST").name,
            e_text: None,
            e_data: e_data.map(Into::into),
        };
        let inner = error(ErrorCode::SPrincipalUnknown, None);
        let response = KrbFastResponse {
            padata: vec![PaData {
                padata_type: PaDataType::FxError,
                padata_value: encode("KRB-ERROR", &inner).unwrap().into(),
            }],
            strengthen_key: None,
            finished: None,
            nonce: opened.body.nonce,
        };
        let mut stale = response.clone();
        stale.nonce ^= 1;
        let outer = |response: &KrbFastResponse| {
            let fast = PaFxFastReply::ArmoredData(KrbFastArmoredRep {
                enc_fast_rep: EncryptedData {
                    etype: 18,
                    kvno: None,
                    cipher: opened
                        .armor
                        .encrypt(
                            KeyUsage::FAST_REP,
                            &encode("KrbFastResponse", response).unwrap(),
                        )
                        .unwrap()
                        .into(),
                },
            });
            let method_data = vec![PaData {
                padata_type: PaDataType::FxFast,
                padata_value: encode("PA-FX-FAST-REPLY", &fast).unwrap().into(),
            }];
            let mut e = error(
                ErrorCode::Generic,
                Some(encode("METHOD-DATA", &method_data).unwrap()),
            );
            e.e_text = Some("forged words".into());
            encode("KRB-ERROR", &e).unwrap()
        };
        match x.handle_reply(&outer(&response), now).unwrap_err() {
            Error::Kdc(k) => assert_eq!(k.code, ErrorCode::SPrincipalUnknown),
            other => panic!("{other}"),
        }
        // Another request's FAST response: only the outer error is left, its text not shown
        // as the KDC's.
        match x.handle_reply(&outer(&stale), now).unwrap_err() {
            Error::Kdc(k) => {
                assert_eq!(k.code, ErrorCode::Generic);
                assert_eq!(k.text, None);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn armoring_follows_each_realm_s_policy_and_what_its_kdc_said() {
        let a = Armoring {
            default: FastPolicy::Auto,
            realms: vec![
                ("STRICT.TEST".into(), FastPolicy::Required),
                ("OLD.TEST".into(), FastPolicy::Never),
            ],
            advertised: vec!["AD.TEST".into(), "OLD.TEST".into()],
        };
        assert!(a.armors("strict.test"));
        assert!(a.armors("AD.TEST"));
        assert!(!a.armors("OLD.TEST"), "never, even where advertised");
        assert!(!a.armors("OTHER.TEST"), "auto, and not advertised");
        assert!(!Armoring::default().armors("AD.TEST"));
        assert!(Armoring::required().armors("ANY.TEST"));
        let (x, _) = exchange(Armoring::default());
        assert!(!x.armored());
        let req: TgsReq = decode("TGS-REQ", x.request()).unwrap();
        assert_eq!(req.0.padata.unwrap().len(), 1, "PA-TGS-REQ alone");
        assert_eq!(FastPolicy::parse("Required"), Some(FastPolicy::Required));
        assert_eq!(FastPolicy::parse("sometimes"), None);
    }
}
