//! Sans-I/O AS and TGS exchanges: values that produce request bytes and consume reply
//! bytes, with the current time passed in. No sockets here; see [`crate::transport`].

use azkrb_asn1::krb::{
    ApReq, AsReq, Authenticator, Checksum, EncryptedData, EtypeInfo2Entry, KdcReq, KdcReqBody,
    KrbError, PaData, PaEncTsEnc, PaPacRequest, TgsReq,
};
use azkrb_asn1::{
    ApOptions, CksumType, ErrorCode, KdcOptions, KerberosMessage, KerberosTime, MessageType,
    NameType, PaDataType, decode_enc_kdc_rep_part, encode,
};
use azkrb_crypto::{EncryptionType, Key, KeyUsage};
use zeroize::Zeroizing;

use crate::credential::Credential;
use crate::error::{Error, KdcError, Result};
use crate::principal::Principal;

/// Encryption types requested, in order of preference: AES only.
pub const DEFAULT_ETYPES: [EncryptionType; 4] = EncryptionType::ALL;

/// How long a requested ticket should last (the KDC caps it): 10 hours.
const LIFETIME: i64 = 10 * 3600;

fn random_u32() -> Result<u32> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Protocol(format!("system random generator: {e}")))?;
    // Kept below 2^31: some KDCs mishandle nonces with the top bit set.
    Ok(u32::from_be_bytes(b) & 0x7fff_ffff)
}

pub(crate) fn kdc_error(
    e: &KrbError,
    client: &Principal,
    server: &Principal,
    now: KerberosTime,
) -> Error {
    KdcError {
        code: e.error_code,
        realm: e.realm.to_string_lossy(),
        client: client.to_string(),
        server: server.to_string(),
        text: e
            .e_text
            .as_ref()
            .map(|t| t.to_string_lossy())
            .filter(|t| !t.is_empty()),
        skew_seconds: e.stime.unix() - now.unix(),
    }
    .into()
}

fn pa(padata_type: PaDataType, value: Vec<u8>) -> PaData {
    PaData {
        padata_type,
        padata_value: value.into(),
    }
}

/// The secret an AS exchange proves knowledge of.
pub enum AsSecret {
    /// A password: the key is derived with the salt and s2kparams the KDC sends.
    Password(Zeroizing<String>),
    /// Long-term keys (e.g. from a keytab); the one matching the KDC's etype is used.
    Keys(Vec<Key>),
}

impl std::fmt::Debug for AsSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(<redacted>)"),
            Self::Keys(k) => write!(f, "Keys({} keys)", k.len()),
        }
    }
}

/// What to do after an AS reply.
#[derive(Debug)]
pub enum AsStep {
    /// Send [`AsExchange::request`] again (now with pre-authentication).
    Continue,
    /// The TGT.
    Done(Box<Credential>),
}

/// The AS exchange (RFC 4120 §3.1) with encrypted-timestamp pre-authentication.
///
/// The first request carries no pre-authentication; a KDC that requires it (AD, Entra, the
/// lab) answers PREAUTH_REQUIRED with the salt and s2kparams in PA-ETYPE-INFO2, from which
/// the second request's PA-ENC-TIMESTAMP is made. The salt is always the KDC's, never
/// computed.
#[derive(Debug)]
pub struct AsExchange {
    client: Principal,
    server: Principal,
    secret: AsSecret,
    etypes: Vec<EncryptionType>,
    nonce: u32,
    preauth: Option<(EncryptionType, Key)>,
    request: Vec<u8>,
    rounds: u8,
}

impl AsExchange {
    /// Starts an exchange for `client` (a user or an enterprise name) in `client.realm`.
    pub fn new(client: Principal, secret: AsSecret, now: KerberosTime) -> Result<Self> {
        let server = Principal::krbtgt(&client.realm, &client.realm);
        let mut x = Self {
            client,
            server,
            secret,
            etypes: DEFAULT_ETYPES.to_vec(),
            nonce: random_u32()?,
            preauth: None,
            request: Vec::new(),
            rounds: 0,
        };
        x.request = x.build(now, None)?;
        Ok(x)
    }

    /// The request to send now (DER AS-REQ).
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// The realm whose KDC must receive the request.
    pub fn realm(&self) -> &str {
        &self.client.realm
    }

    fn build(&self, now: KerberosTime, enc_ts: Option<EncryptedData>) -> Result<Vec<u8>> {
        let mut padata = Vec::new();
        if let Some(ts) = enc_ts {
            padata.push(pa(
                PaDataType::EncTimestamp,
                encode("PA-ENC-TIMESTAMP", &ts)?,
            ));
        }
        padata.push(pa(
            PaDataType::PacRequest,
            encode("PA-PAC-REQUEST", &PaPacRequest { include_pac: true })?,
        ));
        let mut options = KdcOptions::FORWARDABLE | KdcOptions::RENEWABLE_OK;
        if self.client.name.name_type == NameType::Enterprise {
            options |= KdcOptions::CANONICALIZE;
        }
        let req = AsReq(KdcReq {
            pvno: 5,
            msg_type: MessageType::AsReq,
            padata: Some(padata),
            req_body: KdcReqBody {
                kdc_options: options,
                cname: Some(self.client.name.clone()),
                realm: self.client.realm.as_str().into(),
                sname: Some(self.server.name.clone()),
                from: None,
                till: KerberosTime::from_unix(now.unix() + LIFETIME),
                rtime: None,
                nonce: self.nonce,
                etype: self.etypes.iter().map(|e| e.number()).collect(),
                addresses: None,
                enc_authorization_data: None,
                additional_tickets: None,
            },
        });
        Ok(encode("AS-REQ", &req)?)
    }

    /// The client key for the KDC's ETYPE-INFO2 entry.
    fn key_for(&self, entry: &EtypeInfo2Entry) -> Result<(EncryptionType, Key)> {
        let etype = EncryptionType::try_from(entry.etype)?;
        match &self.secret {
            AsSecret::Password(pw) => {
                let salt = entry.salt.as_ref().ok_or_else(|| {
                    Error::Protocol(format!(
                        "the KDC sent no salt for {etype} in PA-ETYPE-INFO2"
                    ))
                })?;
                let key = Key::from_password(
                    etype,
                    pw.as_bytes(),
                    salt.as_bytes(),
                    entry.s2kparams.as_deref(),
                )?;
                Ok((etype, key))
            }
            AsSecret::Keys(keys) => keys
                .iter()
                .find(|k| k.etype() == etype)
                .map(|k| (etype, k.clone()))
                .ok_or_else(|| {
                    Error::Protocol(format!("no key of type {etype} for {}", self.client))
                }),
        }
    }

    fn choose(&self, info: &[EtypeInfo2Entry]) -> Result<(EncryptionType, Key)> {
        // The KDC lists entries in its order of preference; take the first we can use.
        let mut last_err = None;
        for entry in info {
            if EncryptionType::try_from(entry.etype).is_err() {
                continue;
            }
            match self.key_for(entry) {
                Ok(k) => return Ok(k),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| {
            let offered: Vec<String> = info.iter().map(|e| e.etype.to_string()).collect();
            Error::Protocol(format!(
                "the KDC offers no AES encryption type (offered: {}): AES-256 must be enabled for the account",
                offered.join(", ")
            ))
        }))
    }

    /// Consumes a reply.
    pub fn handle_reply(&mut self, reply: &[u8], now: KerberosTime) -> Result<AsStep> {
        self.rounds += 1;
        match KerberosMessage::from_der(reply)? {
            KerberosMessage::KrbError(e) => {
                if e.error_code == ErrorCode::PreauthRequired
                    && self.preauth.is_none()
                    && self.rounds < 3
                {
                    let info = e.etype_info2();
                    let (etype, key) = self.choose(&info)?;
                    let ts = PaEncTsEnc {
                        patimestamp: now,
                        pausec: Some(0),
                    };
                    let sealed = key.encrypt(
                        KeyUsage::AS_REQ_PA_ENC_TIMESTAMP,
                        &encode("PA-ENC-TS-ENC", &ts)?,
                    )?;
                    let enc = EncryptedData {
                        etype: etype.number(),
                        kvno: None,
                        cipher: sealed.into(),
                    };
                    self.nonce = random_u32()?;
                    self.preauth = Some((etype, key));
                    self.request = self.build(now, Some(enc))?;
                    Ok(AsStep::Continue)
                } else {
                    Err(kdc_error(&e, &self.client, &self.server, now))
                }
            }
            KerberosMessage::AsRep(rep) => {
                let rep = rep.0;
                let etype = EncryptionType::try_from(rep.enc_part.etype)?;
                if !self.etypes.contains(&etype) {
                    return Err(Error::Protocol(format!(
                        "the reply uses {etype}, which was not requested"
                    )));
                }
                let key = match &self.preauth {
                    Some((e, k)) if *e == etype => k.clone(),
                    _ => {
                        // No pre-authentication round: the salt must come with the reply.
                        let info =
                            azkrb_asn1::find_etype_info2(rep.padata.as_deref().unwrap_or_default());
                        let entry =
                            info.iter()
                                .find(|i| i.etype == etype.number())
                                .ok_or_else(|| {
                                    Error::Protocol(
                                        "the AS-REP carries no PA-ETYPE-INFO2 for its etype".into(),
                                    )
                                })?;
                        self.key_for(entry)?.1
                    }
                };
                let plain = key.decrypt(KeyUsage::AS_REP_ENC_PART, &rep.enc_part.cipher)?;
                let (part, _) = decode_enc_kdc_rep_part(&plain)?;
                if part.nonce != self.nonce {
                    return Err(Error::Protocol(
                        "the AS-REP nonce does not match the request".into(),
                    ));
                }
                let client = Principal::new(rep.cname.clone(), rep.crealm.to_string_lossy());
                let canonicalized = self.client.name.name_type == NameType::Enterprise;
                if !canonicalized && !client.same_as(&self.client) {
                    return Err(Error::Protocol(format!(
                        "the AS-REP is for {client}, not {}",
                        self.client
                    )));
                }
                let server = Principal::new(part.sname.clone(), part.srealm.to_string_lossy());
                if server.tgs_realm().is_none() {
                    return Err(Error::Protocol(format!(
                        "the AS-REP ticket is for {server}, not a krbtgt"
                    )));
                }
                EncryptionType::try_from(part.key.keytype)?;
                Ok(AsStep::Done(Box::new(Credential::from_reply(
                    client, rep.ticket, &part,
                )?)))
            }
            other => Err(Error::Protocol(format!(
                "expected AS-REP or KRB-ERROR, got {}",
                other.message_type()
            ))),
        }
    }
}

/// What to do after a TGS reply.
#[derive(Debug)]
pub enum TgsStep {
    /// Send [`TgsExchange::request`] to [`TgsExchange::realm`] (a referral was followed).
    Continue,
    /// The service ticket.
    Done(Box<Credential>),
}

/// How many realms a TGS exchange may cross.
pub const MAX_REFERRALS: usize = 5;

/// The TGS exchange (RFC 4120 §3.3) for a service, following cross-realm referrals.
///
/// The PA-TGS-REQ authenticator carries a fresh subkey and the checksum of the DER
/// KDC-REQ-BODY (key usage 6): MIT rejects a request without it. When the service's realm
/// differs from the TGT's, the cross-realm TGT `krbtgt/<service realm>@<TGT realm>` is asked
/// for first, as MIT does with direct `[capaths]`; a KDC that answers a service request with
/// a `krbtgt/` ticket for another realm (a referral) is followed too, at most
/// [`MAX_REFERRALS`] times.
#[derive(Debug)]
pub struct TgsExchange {
    tgt: Credential,
    service: Principal,
    /// What we are asking for right now: the service, or a cross-realm TGT on the way.
    target: Principal,
    nonce: u32,
    subkey: Key,
    request: Vec<u8>,
    hops: usize,
    realms_seen: Vec<String>,
}

impl TgsExchange {
    /// Starts an exchange for `service` with `tgt`.
    pub fn new(tgt: Credential, service: Principal, now: KerberosTime) -> Result<Self> {
        let tgt_realm = tgt
            .server
            .tgs_realm()
            .unwrap_or(&tgt.server.realm)
            .to_string();
        if tgt.endtime.unix() <= now.unix() {
            return Err(Error::Expired {
                what: "TGT",
                principal: tgt.client.to_string(),
                at: tgt.endtime,
                fix: "get a new TGT (an Entra cloud TGT cannot be renewed: fetch a new one)",
            });
        }
        let target = if service.realm.eq_ignore_ascii_case(&tgt_realm) {
            service.clone()
        } else {
            Principal::krbtgt(&service.realm, &tgt_realm)
        };
        let subkey = Key::random(tgt.session_key.etype())?;
        let mut x = Self {
            realms_seen: vec![tgt_realm],
            tgt,
            service,
            target,
            nonce: random_u32()?,
            subkey,
            request: Vec::new(),
            hops: 0,
        };
        x.request = x.build(now)?;
        Ok(x)
    }

    /// The request to send now (DER TGS-REQ).
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// The realm whose KDC must receive the request (that of the current TGT).
    pub fn realm(&self) -> &str {
        self.tgt
            .server
            .tgs_realm()
            .unwrap_or(&self.tgt.server.realm)
    }

    fn build(&self, now: KerberosTime) -> Result<Vec<u8>> {
        let realm = self.realm().to_string();
        let options = if self.target.tgs_realm().is_some() {
            KdcOptions::FORWARDABLE | KdcOptions::RENEWABLE
        } else {
            KdcOptions::FORWARDABLE | KdcOptions::RENEWABLE | KdcOptions::CANONICALIZE
        };
        let body = KdcReqBody {
            kdc_options: options,
            cname: None,
            realm: realm.as_str().into(),
            sname: Some(self.target.name.clone()),
            from: None,
            till: KerberosTime::from_unix(now.unix() + LIFETIME),
            rtime: None,
            nonce: self.nonce,
            etype: DEFAULT_ETYPES.iter().map(|e| e.number()).collect(),
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        };
        // The checksum covers the DER of KDC-REQ-BODY itself, without the [4] tag around it.
        let body_der = encode("KDC-REQ-BODY", &body)?;
        let cksum = self
            .tgt
            .session_key
            .checksum(KeyUsage::TGS_REQ_PA_AUTHENTICATOR_CKSUM, &body_der)?;
        let auth = Authenticator {
            authenticator_vno: 5,
            crealm: self.tgt.client.realm.as_str().into(),
            cname: self.tgt.client.name.clone(),
            cksum: Some(Checksum {
                cksumtype: CksumType::from(self.tgt.session_key.etype().checksum_type().number()),
                checksum: cksum.into(),
            }),
            cusec: 0,
            ctime: now,
            subkey: Some(azkrb_asn1::krb::EncryptionKey {
                keytype: self.subkey.etype().number(),
                keyvalue: azkrb_asn1::krb::KeyValue::new(self.subkey.as_bytes().to_vec()),
            }),
            seq_number: None,
            authorization_data: None,
        };
        let sealed = self.tgt.session_key.encrypt(
            KeyUsage::TGS_REQ_PA_AUTHENTICATOR,
            &encode("Authenticator", &auth)?,
        )?;
        let ap = ApReq {
            pvno: 5,
            msg_type: MessageType::ApReq,
            ap_options: ApOptions::empty(),
            ticket: self.tgt.ticket.clone(),
            authenticator: EncryptedData {
                etype: self.tgt.session_key.etype().number(),
                kvno: None,
                cipher: sealed.into(),
            },
        };
        let req = TgsReq(KdcReq {
            pvno: 5,
            msg_type: MessageType::TgsReq,
            padata: Some(vec![pa(PaDataType::TgsReq, encode("AP-REQ", &ap)?)]),
            req_body: body,
        });
        Ok(encode("TGS-REQ", &req)?)
    }

    /// Consumes a reply.
    pub fn handle_reply(&mut self, reply: &[u8], now: KerberosTime) -> Result<TgsStep> {
        let rep = match KerberosMessage::from_der(reply)? {
            KerberosMessage::TgsRep(r) => r.0,
            KerberosMessage::KrbError(e) => {
                return Err(kdc_error(&e, &self.tgt.client, &self.target, now));
            }
            other => {
                return Err(Error::Protocol(format!(
                    "expected TGS-REP or KRB-ERROR, got {}",
                    other.message_type()
                )));
            }
        };
        let plain = match self
            .subkey
            .decrypt(KeyUsage::TGS_REP_ENC_PART_SUBKEY, &rep.enc_part.cipher)
        {
            Ok(p) => p,
            Err(_) => self
                .tgt
                .session_key
                .decrypt(KeyUsage::TGS_REP_ENC_PART_SESSION_KEY, &rep.enc_part.cipher)?,
        };
        let (part, _) = decode_enc_kdc_rep_part(&plain)?;
        if part.nonce != self.nonce {
            return Err(Error::Protocol(
                "the TGS-REP nonce does not match the request".into(),
            ));
        }
        let client = Principal::new(rep.cname.clone(), rep.crealm.to_string_lossy());
        if !client.same_as(&self.tgt.client) {
            return Err(Error::Protocol(format!(
                "the TGS-REP is for {client}, not {}",
                self.tgt.client
            )));
        }
        let cred = Credential::from_reply(self.tgt.client.clone(), rep.ticket, &part)?;
        let got = cred.server.clone();
        // The service itself (its realm may be canonicalized by the KDC).
        if got.name.name_string == self.service.name.name_string
            && self.target.tgs_realm().is_none()
        {
            return Ok(TgsStep::Done(Box::new(cred)));
        }
        // A TGT for another realm: the one we asked for, or a referral.
        match got.tgs_realm().map(str::to_string) {
            Some(next) if !got.same_as(&self.tgt.server) => {
                self.hops += 1;
                if self.hops > MAX_REFERRALS
                    || self
                        .realms_seen
                        .iter()
                        .any(|r| r.eq_ignore_ascii_case(&next))
                {
                    return Err(Error::ReferralLoop(self.realms_seen.len()));
                }
                self.realms_seen.push(next.clone());
                self.target = if self.service.realm.eq_ignore_ascii_case(&next)
                    || self.target.tgs_realm().is_none()
                {
                    Principal::new(self.service.name.clone(), next.clone())
                } else {
                    Principal::krbtgt(&self.service.realm, &next)
                };
                self.tgt = cred;
                self.nonce = random_u32()?;
                self.subkey = Key::random(self.tgt.session_key.etype())?;
                self.request = self.build(now)?;
                Ok(TgsStep::Continue)
            }
            _ => Err(Error::Protocol(format!(
                "asked for {}, the KDC issued a ticket for {got}",
                self.target
            ))),
        }
    }
}
