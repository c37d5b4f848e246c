//! Sans-I/O AS and TGS exchanges: values that produce request bytes and consume reply
//! bytes, with the current time passed in. No sockets here; see [`crate::transport`].

use azkrb_asn1::krb::{
    ApReq, AsReq, Authenticator, Checksum, EncKdcRepPart, EncryptedData, EtypeInfo2Entry, KdcReq,
    KdcReqBody, KrbError, PaData, PaEncTsEnc, PaPacRequest, TgsReq, Ticket,
};
use azkrb_asn1::{
    ApOptions, CksumType, ErrorCode, KdcOptions, KerberosMessage, KerberosTime, MessageType,
    NameType, PaDataType, TicketFlags, decode, decode_enc_kdc_rep_part, encode,
};
use azkrb_crypto::{EncryptionType, Key, KeyUsage};
use zeroize::Zeroizing;

use crate::credential::Credential;
use crate::error::{Error, KdcError, Result};
use crate::fast::{Armoring, TgsArmor, advertises_fast, reply_key};
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

/// The server a ticket names in its clear-text header (`realm`, `sname`).
fn ticket_server(ticket: &Ticket) -> Principal {
    Principal::new(ticket.sname.clone(), ticket.realm.to_string_lossy())
}

/// The ticket's clear-text server and the encrypted part's `sname`/`srealm` must be the same
/// principal (as MIT checks; realm case aside): the ticket's header is not integrity
/// protected for the client, the encrypted part is.
pub(crate) fn check_ticket_matches_part(
    what: &'static str,
    ticket: &Ticket,
    part_server: &Principal,
) -> Result<()> {
    let got = ticket_server(ticket);
    if got.same_as(part_server) {
        Ok(())
    } else {
        Err(Error::WrongServer {
            what,
            expected: part_server.to_string(),
            got: got.to_string(),
        })
    }
}

/// `krbtgt/<realm>@<realm>`, the realm compared without regard to ASCII case.
fn is_tgs_of(p: &Principal, realm: &str) -> bool {
    p.realm.eq_ignore_ascii_case(realm)
        && p.tgs_realm().is_some_and(|r| r.eq_ignore_ascii_case(realm))
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
    /// Done: the TGT, with its session key.
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
    /// Ask for a TGT renewable this many seconds from now.
    renew: Option<i64>,
    /// The KDC said it supports FAST.
    fast_advertised: bool,
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
            renew: None,
            fast_advertised: false,
        };
        x.request = x.build(now, None)?;
        Ok(x)
    }

    /// Asks for a TGT renewable for `secs` from `now` (RENEWABLE with an rtime, as kinit
    /// `-r` and krb5.conf's `renew_lifetime` do); the KDC may grant less, or none.
    pub fn renewable(mut self, secs: i64, now: KerberosTime) -> Result<Self> {
        self.renew = (secs > 0).then_some(secs);
        self.request = self.build(now, None)?;
        Ok(self)
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
        // RFC 6806 §11: the KDC is asked to vouch, inside the encrypted reply, for the
        // request it answered, and so to say there (authenticated) whether it has FAST.
        padata.push(pa(PaDataType::ReqEncPaRep, Vec::new()));
        let mut options = KdcOptions::FORWARDABLE | KdcOptions::RENEWABLE_OK;
        if self.client.name.name_type == NameType::Enterprise {
            options |= KdcOptions::CANONICALIZE;
        }
        let rtime = self.renew.map(|secs| {
            options |= KdcOptions::RENEWABLE;
            KerberosTime::from_unix(now.unix().saturating_add(secs))
        });
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
                rtime,
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

    /// The realm's KDC said, where no one on the way could change it, that it supports
    /// FAST: PA-FX-FAST in the AS-REP's encrypted PA-DATA, beside a checksum of our request
    /// that proves the reply answers it (RFC 6806 §11). TGS requests to it are then armored
    /// (see [`crate::fast`]). The PA-FX-FAST hint of a PREAUTH_REQUIRED error is not taken:
    /// anyone on the path can add or remove it.
    pub fn fast_advertised(&self) -> bool {
        self.fast_advertised
    }

    /// RFC 6806 §11: when the reply's flags say enc-pa-rep, its encrypted PA-DATA must carry
    /// a checksum (usage 56, in the reply key) of the very AS-REQ we sent last (a request
    /// altered on the way, pre-authentication hints stripped, say, would not match). True
    /// when it does and PA-FX-FAST is there too.
    fn check_enc_pa_rep(&self, part: &EncKdcRepPart, key: &Key) -> Result<bool> {
        if !part.flags.contains(TicketFlags::ENC_PA_REP) {
            return Ok(false);
        }
        let padata = part.encrypted_pa_data.as_deref().unwrap_or_default();
        let sum = padata
            .iter()
            .find(|p| p.padata_type == PaDataType::ReqEncPaRep)
            .ok_or_else(|| {
                Error::Protocol(
                    "the AS-REP says enc-pa-rep but carries no checksum of the request".into(),
                )
            })?;
        let sum: Checksum = decode("Checksum", &sum.padata_value)?;
        key.verify_checksum(
            KeyUsage::AS_REQ,
            sum.cksumtype.value(),
            &self.request,
            &sum.checksum,
        )
        .map_err(|_| {
            Error::Protocol(
                "the AS-REP's checksum of the request does not match what was sent (the \
                 request or the reply was altered on the way)"
                    .into(),
            )
        })?;
        Ok(advertises_fast(padata))
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
                // The TGT must be the krbtgt/REALM@REALM asked for, in the encrypted part
                // and in the ticket's clear-text header alike.
                let server = Principal::new(part.sname.clone(), part.srealm.to_string_lossy());
                let realm = &self.client.realm;
                if !is_tgs_of(&server, realm) {
                    return Err(Error::WrongServer {
                        what: "AS-REP encrypted part",
                        expected: self.server.to_string(),
                        got: server.to_string(),
                    });
                }
                let in_ticket = ticket_server(&rep.ticket);
                if !is_tgs_of(&in_ticket, realm) {
                    return Err(Error::WrongServer {
                        what: "AS-REP ticket",
                        expected: self.server.to_string(),
                        got: in_ticket.to_string(),
                    });
                }
                check_ticket_matches_part("AS-REP ticket", &rep.ticket, &server)?;
                EncryptionType::try_from(part.key.keytype)?;
                self.fast_advertised = self.check_enc_pa_rep(&part, &key)?;
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
    /// Renewing the TGT itself (KDC option RENEW), not asking for a service.
    renewing: bool,
    /// Where to armor requests with FAST.
    armoring: Armoring,
    /// The armor of the request in flight, when it is armored.
    armor: Option<TgsArmor>,
    /// User-to-user to the TGT's own client: the ticket comes back sealed in the TGT's
    /// session key (see [`TgsExchange::user_to_self`]).
    to_self: bool,
}

impl TgsExchange {
    /// Starts the renewal of `tgt` (a TGS-REQ for its own server with the RENEW option, as
    /// kinit `-R` sends): the KDC answers with the same ticket valid from now, up to its
    /// renewal limit. A TGT that is not renewable, or whose renewal limit has passed, is an
    /// error that says so (an Entra cloud TGT is never renewable).
    pub fn renew(tgt: Credential, now: KerberosTime) -> Result<Self> {
        let why = if tgt.endtime.unix() <= now.unix() {
            Some(format!(
                "it expired at {} (a TGT is renewed before it expires; log in again)",
                tgt.endtime
            ))
        } else if !tgt.flags.contains(TicketFlags::RENEWABLE) {
            Some(
                "it is not renewable (log in again; `login -r 7d` asks for a renewable TGT)"
                    .to_string(),
            )
        } else {
            match tgt.renew_till {
                Some(t) if t.unix() <= tgt.endtime.unix() && t.unix() > now.unix() => {
                    Some(format!(
                        "its renewal limit ({t}) is not past its end ({}): renewing would not \
                         extend it",
                        tgt.endtime
                    ))
                }
                Some(t) if t.unix() > now.unix() => None,
                Some(t) => Some(format!("its renewal limit passed at {t} (log in again)")),
                None => Some("it carries no renewal limit (log in again)".to_string()),
            }
        };
        if let Some(why) = why {
            return Err(Error::NotRenewable {
                principal: tgt.client.to_string(),
                why,
            });
        }
        let target = tgt.server.clone();
        let subkey = Key::random(tgt.session_key.etype())?;
        let mut x = Self {
            realms_seen: vec![tgt.server.realm.clone()],
            service: target.clone(),
            target,
            tgt,
            nonce: random_u32()?,
            subkey,
            request: Vec::new(),
            hops: 0,
            renewing: true,
            armoring: Armoring::default(),
            armor: None,
            to_self: false,
        };
        x.build(now)?;
        Ok(x)
    }

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
            renewing: false,
            armoring: Armoring::default(),
            armor: None,
            to_self: false,
        };
        x.build(now)?;
        Ok(x)
    }

    /// A user-to-user ticket (RFC 4120 §2.9.2, ENC-TKT-IN-SKEY) for the TGT's own client,
    /// with the TGT as the additional ticket: the KDC seals it in the TGT's session key, so
    /// the client can open it and read what the KDC says of it (an AD KDC's PAC: the user's
    /// and groups' SIDs), which no service ticket shows its client.
    ///
    /// With `enterprise`, the client is named as an enterprise name (`user@REALM` in one
    /// component), as Samba's AD DC finds a user account as a server (it looks up a plain
    /// name among services only).
    pub fn user_to_self(tgt: Credential, enterprise: bool, now: KerberosTime) -> Result<Self> {
        let me = if enterprise {
            Principal::new(
                azkrb_asn1::PrincipalName {
                    name_type: NameType::Enterprise,
                    name_string: vec![tgt.client.to_string().into()],
                },
                tgt.client.realm.clone(),
            )
        } else {
            Principal::new(
                azkrb_asn1::PrincipalName {
                    name_type: NameType::Principal,
                    name_string: tgt.client.name.name_string.clone(),
                },
                tgt.client.realm.clone(),
            )
        };
        let mut x = Self::new(tgt, me, now)?;
        x.to_self = true;
        x.build(now)?;
        Ok(x)
    }

    /// Armors the requests with FAST where `armoring` says (see [`crate::fast`]): the
    /// request is made again.
    ///
    /// ```no_run
    /// # fn demo(tgt: azkrb_cloudtgt::Credential, service: azkrb_cloudtgt::Principal)
    /// # -> azkrb_cloudtgt::Result<()> {
    /// use azkrb_cloudtgt::{Armoring, TgsExchange};
    /// let now = azkrb_asn1::KerberosTime::now();
    /// let x = TgsExchange::new(tgt, service, now)?.with_armoring(Armoring::required(), now)?;
    /// assert!(x.armored());
    /// # Ok(()) }
    /// ```
    pub fn with_armoring(mut self, armoring: Armoring, now: KerberosTime) -> Result<Self> {
        self.armoring = armoring;
        self.build(now)?;
        Ok(self)
    }

    /// The request in flight is armored with FAST.
    pub fn armored(&self) -> bool {
        self.armor.is_some()
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

    /// Makes the request to send now (and its armor, where FAST is used).
    fn build(&mut self, now: KerberosTime) -> Result<()> {
        let realm = self.realm().to_string();
        let (options, rtime, till) = if self.renewing {
            // RENEW with the TGT's own renewable and forwardable flags and renewal limit
            // (as MIT's library sends it): a KDC issues a renewed ticket with no more than
            // the request asks, so without RENEWABLE it would renew it only once. The KDC
            // keeps the ticket's own lifetime, up to that limit.
            let (o, r) = tgs_options(&self.tgt, false);
            let till = self
                .tgt
                .renew_till
                .unwrap_or_else(|| KerberosTime::from_unix(now.unix() + LIFETIME));
            (o | KdcOptions::RENEW, r, till)
        } else if self.to_self {
            let (o, r) = tgs_options(&self.tgt, false);
            (
                o | KdcOptions::ENC_TKT_IN_SKEY,
                r,
                KerberosTime::from_unix(now.unix() + LIFETIME),
            )
        } else {
            let (o, r) = tgs_options(&self.tgt, self.target.tgs_realm().is_none());
            (o, r, KerberosTime::from_unix(now.unix() + LIFETIME))
        };
        let body = KdcReqBody {
            kdc_options: options,
            cname: None,
            realm: realm.as_str().into(),
            sname: Some(self.target.name.clone()),
            from: None,
            till,
            rtime,
            nonce: self.nonce,
            etype: DEFAULT_ETYPES.iter().map(|e| e.number()).collect(),
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: self.to_self.then(|| vec![self.tgt.ticket.clone()]),
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
        // The authenticator carries the subkey (and so the armor key's half): wiped after.
        let auth = Zeroizing::new(encode("Authenticator", &auth)?);
        let sealed = self
            .tgt
            .session_key
            .encrypt(KeyUsage::TGS_REQ_PA_AUTHENTICATOR, &auth)?;
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
        let ap = encode("AP-REQ", &ap)?;
        // With FAST, the KDC acts on the sealed copy of the body; the outer one is the same
        // (the authenticator's checksum covers it, and a KDC without FAST reads it).
        self.armor = if self.armoring.armors(&realm) {
            Some(TgsArmor::new(
                &self.subkey,
                &self.tgt.session_key,
                self.nonce,
            )?)
        } else {
            None
        };
        let mut padata = vec![pa(PaDataType::TgsReq, ap.clone())];
        if let Some(armor) = &self.armor {
            padata.push(armor.request(&body, Vec::new(), &ap)?);
        }
        let req = TgsReq(KdcReq {
            pvno: 5,
            msg_type: MessageType::TgsReq,
            padata: Some(padata),
            req_body: body,
        });
        self.request = encode("TGS-REQ", &req)?;
        Ok(())
    }

    /// Consumes a reply.
    pub fn handle_reply(&mut self, reply: &[u8], now: KerberosTime) -> Result<TgsStep> {
        let rep = match KerberosMessage::from_der(reply)? {
            KerberosMessage::TgsRep(r) => r.0,
            KerberosMessage::KrbError(e) => {
                // Under FAST the KDC's own error is sealed inside; the outer one is a
                // generic stand-in.
                let e = match &self.armor {
                    Some(armor) => match armor.inner_error(&e) {
                        Some(inner) => inner,
                        // Not from inside the armor: anyone on the way could have sent it,
                        // so its text is not shown as the KDC's.
                        None => KrbError { e_text: None, ..e },
                    },
                    None => e,
                };
                return Err(kdc_error(&e, &self.tgt.client, &self.target, now));
            }
            other => {
                return Err(Error::Protocol(format!(
                    "expected TGS-REP or KRB-ERROR, got {}",
                    other.message_type()
                )));
            }
        };
        let (strengthen, fast_client) = match &self.armor {
            Some(armor) => {
                let checked = armor.check_reply(&rep)?;
                (checked.strengthen_key, Some(checked.client))
            }
            None => (None, None),
        };
        let subkey = reply_key(strengthen.as_ref(), &self.subkey)?;
        let plain = match subkey.decrypt(KeyUsage::TGS_REP_ENC_PART_SUBKEY, &rep.enc_part.cipher) {
            Ok(p) => p,
            Err(_) => reply_key(strengthen.as_ref(), &self.tgt.session_key)?
                .decrypt(KeyUsage::TGS_REP_ENC_PART_SESSION_KEY, &rep.enc_part.cipher)?,
        };
        let (part, _) = decode_enc_kdc_rep_part(&plain)?;
        if part.nonce != self.nonce {
            return Err(Error::Protocol(
                "the TGS-REP nonce does not match the request".into(),
            ));
        }
        // Under FAST the KDC's KrbFastFinished names the client, not the outer reply.
        let client = fast_client
            .unwrap_or_else(|| Principal::new(rep.cname.clone(), rep.crealm.to_string_lossy()));
        if !client.same_as(&self.tgt.client) {
            return Err(Error::Protocol(format!(
                "the TGS-REP is for {client}, not {}",
                self.tgt.client
            )));
        }
        let cred = Credential::from_reply(self.tgt.client.clone(), rep.ticket, &part)?;
        let got = cred.server.clone();
        check_ticket_matches_part("TGS-REP ticket", &cred.ticket, &got)?;
        if self.renewing {
            // The same TGT, renewed; anything else is not what was asked for.
            return if got.same_as(&self.tgt.server) {
                Ok(TgsStep::Done(Box::new(cred)))
            } else {
                Err(Error::Protocol(format!(
                    "asked to renew {}, the KDC issued a ticket for {got}",
                    self.tgt.server
                )))
            };
        }
        // A user-to-user ticket to oneself, however the KDC names the client.
        if self.to_self
            && (got.same_as(&self.tgt.client)
                || got.name.name_string == self.service.name.name_string)
        {
            return Ok(TgsStep::Done(Box::new(cred)));
        }
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
                self.build(now)?;
                Ok(TgsStep::Continue)
            }
            _ => Err(Error::Protocol(format!(
                "asked for {}, the KDC issued a ticket for {got}",
                self.target
            ))),
        }
    }
}

/// The KDC options of a TGS-REQ made with `tgt`, and the renewal time it asks for: only
/// what the TGT can give (RFC 4120 §3.3.3: a KDC may refuse FORWARDABLE or RENEWABLE from a
/// TGT without that flag, and Heimdal and Samba's AD DC do, with KDC_ERR_BADOPTION; MIT's
/// KDC lets it pass). Canonicalization for a service ticket, not for a cross-realm TGT.
pub(crate) fn tgs_options(tgt: &Credential, service: bool) -> (KdcOptions, Option<KerberosTime>) {
    let mut options = KdcOptions::default();
    if tgt.flags.contains(TicketFlags::FORWARDABLE) {
        options |= KdcOptions::FORWARDABLE;
    }
    let mut rtime = None;
    if tgt.flags.contains(TicketFlags::RENEWABLE) {
        options |= KdcOptions::RENEWABLE;
        // Up to the TGT's own renewal limit (a KDC caps it there anyway).
        rtime = tgt.renew_till;
    }
    if service {
        options |= KdcOptions::CANONICALIZE;
    }
    (options, rtime)
}

#[cfg(test)]
mod tests {
    use azkrb_asn1::krb::{
        AsRep, EncAsRepPart, EncKdcRepPart, EncTgsRepPart, EncryptionKey, KdcRep, KeyValue, TgsRep,
    };

    use super::*;

    const REALM: &str = "EXAMPLE.TEST";

    fn user_key() -> Key {
        Key::new(EncryptionType::Aes256CtsHmacSha196, &[0x11; 32]).unwrap()
    }

    fn p(text: &str) -> Principal {
        Principal::parse(text, REALM).unwrap()
    }

    fn ticket(server: &Principal) -> Ticket {
        Ticket {
            tkt_vno: 5,
            realm: server.realm.as_str().into(),
            sname: server.name.clone(),
            enc_part: EncryptedData {
                etype: 18,
                kvno: Some(1),
                cipher: vec![0u8; 64].into(),
            },
        }
    }

    fn part(server: &Principal, nonce: u32, now: KerberosTime) -> EncKdcRepPart {
        EncKdcRepPart {
            key: EncryptionKey {
                keytype: 18,
                keyvalue: KeyValue::new(vec![0x22; 32]),
            },
            last_req: Vec::new(),
            nonce,
            key_expiration: None,
            flags: TicketFlags(0),
            authtime: now,
            starttime: None,
            endtime: KerberosTime::from_unix(now.unix() + 3600),
            renew_till: None,
            srealm: server.realm.as_str().into(),
            sname: server.name.clone(),
            caddr: None,
            encrypted_pa_data: None,
        }
    }

    /// An AS-REP answering `x`, sealed in the user's key, whose ticket header names
    /// `ticket_server` and whose encrypted part names `part_server`.
    fn as_rep(
        x: &AsExchange,
        ticket_server: &Principal,
        part_server: &Principal,
        now: KerberosTime,
    ) -> Vec<u8> {
        as_rep_with(x, ticket_server, part_server, now, |_| {})
    }

    /// [`as_rep`] with its encrypted part changed by `edit`.
    fn as_rep_with(
        x: &AsExchange,
        ticket_server: &Principal,
        part_server: &Principal,
        now: KerberosTime,
        edit: impl FnOnce(&mut EncKdcRepPart),
    ) -> Vec<u8> {
        let mut enc = part(part_server, x.nonce, now);
        edit(&mut enc);
        let plain = encode("EncASRepPart", &EncAsRepPart(enc)).unwrap();
        let sealed = user_key()
            .encrypt(KeyUsage::AS_REP_ENC_PART, &plain)
            .unwrap();
        let info = vec![EtypeInfo2Entry {
            etype: 18,
            salt: Some("EXAMPLE.TESTalice".into()),
            s2kparams: None,
        }];
        let rep = AsRep(KdcRep {
            pvno: 5,
            msg_type: MessageType::AsRep,
            padata: Some(vec![pa(
                PaDataType::EtypeInfo2,
                encode("ETYPE-INFO2", &info).unwrap(),
            )]),
            crealm: x.client.realm.as_str().into(),
            cname: x.client.name.clone(),
            ticket: ticket(ticket_server),
            enc_part: EncryptedData {
                etype: 18,
                kvno: None,
                cipher: sealed.into(),
            },
        });
        encode("AS-REP", &rep).unwrap()
    }

    fn as_exchange(client: &str) -> (AsExchange, KerberosTime) {
        let now = KerberosTime::now();
        let x = AsExchange::new(p(client), AsSecret::Keys(vec![user_key()]), now).unwrap();
        (x, now)
    }

    fn wrong_server(r: Result<AsStep>) -> (&'static str, String) {
        match r {
            Err(Error::WrongServer { what, got, .. }) => (what, got),
            Err(e) => panic!("expected WrongServer, got {e}"),
            Ok(_) => panic!("the forged AS-REP was accepted"),
        }
    }

    #[test]
    fn fast_support_is_learned_only_from_an_as_rep_that_vouches_for_the_request() {
        let tgt = p("krbtgt/EXAMPLE.TEST");
        // What the KDC puts in the encrypted part: a checksum of `request`, and PA-FX-FAST.
        let vouch = |request: &[u8], fast: bool| {
            let sum = Checksum {
                cksumtype: CksumType::HmacSha196Aes256,
                checksum: user_key()
                    .checksum(KeyUsage::AS_REQ, request)
                    .unwrap()
                    .into(),
            };
            let mut padata = vec![pa(
                PaDataType::ReqEncPaRep,
                encode("Checksum", &sum).unwrap(),
            )];
            if fast {
                padata.push(pa(PaDataType::FxFast, Vec::new()));
            }
            padata
        };
        // The request asks for it.
        let (x, _) = as_exchange("alice");
        let req: AsReq = decode("AS-REQ", x.request()).unwrap();
        assert!(
            req.0
                .padata
                .unwrap()
                .iter()
                .any(|p| p.padata_type == PaDataType::ReqEncPaRep)
        );

        let (mut x, now) = as_exchange("alice");
        let padata = vouch(x.request(), true);
        let rep = as_rep_with(&x, &tgt, &tgt, now, |e| {
            e.flags = TicketFlags::ENC_PA_REP;
            e.encrypted_pa_data = Some(padata);
        });
        assert!(matches!(x.handle_reply(&rep, now), Ok(AsStep::Done(_))));
        assert!(x.fast_advertised());

        // Vouched for, without FAST.
        let (mut x, now) = as_exchange("alice");
        let padata = vouch(x.request(), false);
        let rep = as_rep_with(&x, &tgt, &tgt, now, |e| {
            e.flags = TicketFlags::ENC_PA_REP;
            e.encrypted_pa_data = Some(padata);
        });
        assert!(matches!(x.handle_reply(&rep, now), Ok(AsStep::Done(_))));
        assert!(!x.fast_advertised());

        // A checksum of another request (this one altered on the way), or none: refused.
        let (mut x, now) = as_exchange("alice");
        let padata = vouch(b"another request", true);
        let rep = as_rep_with(&x, &tgt, &tgt, now, |e| {
            e.flags = TicketFlags::ENC_PA_REP;
            e.encrypted_pa_data = Some(padata);
        });
        let err = x.handle_reply(&rep, now).unwrap_err().to_string();
        assert!(err.contains("does not match what was sent"), "{err}");
        let (mut x, now) = as_exchange("alice");
        let rep = as_rep_with(&x, &tgt, &tgt, now, |e| e.flags = TicketFlags::ENC_PA_REP);
        assert!(x.handle_reply(&rep, now).is_err());

        // PA-FX-FAST without the flag, where no checksum binds it: not taken.
        let (mut x, now) = as_exchange("alice");
        let rep = as_rep_with(&x, &tgt, &tgt, now, |e| {
            e.encrypted_pa_data = Some(vec![pa(PaDataType::FxFast, Vec::new())]);
        });
        assert!(matches!(x.handle_reply(&rep, now), Ok(AsStep::Done(_))));
        assert!(!x.fast_advertised());
    }

    #[test]
    fn as_rep_for_the_requested_krbtgt_is_accepted() {
        let (mut x, now) = as_exchange("alice");
        let tgt = p("krbtgt/EXAMPLE.TEST");
        match x.handle_reply(&as_rep(&x, &tgt, &tgt, now), now).unwrap() {
            AsStep::Done(cred) => {
                assert!(cred.server.same_as(&tgt));
                assert!(cred.client.same_as(&p("alice")));
            }
            AsStep::Continue => panic!("no TGT"),
        }
        // A realm asked for in another case, answered in the canonical one.
        let (mut x, now) = as_exchange("alice@example.test");
        assert!(matches!(
            x.handle_reply(&as_rep(&x, &tgt, &tgt, now), now),
            Ok(AsStep::Done(_))
        ));
    }

    #[test]
    fn as_rep_whose_ticket_names_another_server_is_refused() {
        let tgt = p("krbtgt/EXAMPLE.TEST");
        for forged in [
            Principal::krbtgt("EVIL.TEST", "EVIL.TEST"),
            Principal::krbtgt("EVIL.TEST", REALM),
            p("cifs/acct.file.core.windows.net"),
        ] {
            let (mut x, now) = as_exchange("alice");
            let (what, got) = wrong_server(x.handle_reply(&as_rep(&x, &forged, &tgt, now), now));
            assert_eq!(what, "AS-REP ticket");
            assert_eq!(got, forged.to_string());
        }
    }

    #[test]
    fn as_rep_whose_encrypted_part_names_another_krbtgt_is_refused() {
        for forged in [
            Principal::krbtgt("OTHER.TEST", "OTHER.TEST"),
            Principal::krbtgt("OTHER.TEST", REALM),
        ] {
            // The ticket header agrees with the encrypted part: both name the wrong TGS.
            let (mut x, now) = as_exchange("alice");
            let (what, got) = wrong_server(x.handle_reply(&as_rep(&x, &forged, &forged, now), now));
            assert_eq!(what, "AS-REP encrypted part");
            assert_eq!(got, forged.to_string());
        }
    }

    fn tgs_exchange(service: &Principal) -> (TgsExchange, KerberosTime) {
        tgs_exchange_from(service, TicketFlags(0), None)
    }

    /// The KDC options a TGS-REQ of `x` asks for, and its rtime.
    fn asked(x: &TgsExchange) -> (KdcOptions, Option<KerberosTime>) {
        let KerberosMessage::TgsReq(TgsReq(req)) = KerberosMessage::from_der(x.request()).unwrap()
        else {
            panic!("not a TGS-REQ")
        };
        (req.req_body.kdc_options, req.req_body.rtime)
    }

    #[test]
    fn a_tgs_req_asks_only_for_what_the_tgt_can_give() {
        let cifs = p("cifs/acct.example.test");
        // A TGT neither forwardable nor renewable (an AS-REQ that never asked, as Heimdal
        // then refuses a renewable TGS-REQ with BADOPTION).
        let (x, _) = tgs_exchange(&cifs);
        let (options, rtime) = asked(&x);
        assert!(!options.contains(KdcOptions::RENEWABLE), "{options:?}");
        assert!(!options.contains(KdcOptions::FORWARDABLE), "{options:?}");
        assert!(options.contains(KdcOptions::CANONICALIZE));
        assert_eq!(rtime, None);
        // Forwardable and renewable until a time: both asked for, up to that time.
        let until = KerberosTime::from_unix(KerberosTime::now().unix() + 86_400);
        let flags = TicketFlags(0) | TicketFlags::FORWARDABLE | TicketFlags::RENEWABLE;
        let (x, _) = tgs_exchange_from(&cifs, flags, Some(until));
        let (options, rtime) = asked(&x);
        assert!(options.contains(KdcOptions::RENEWABLE | KdcOptions::FORWARDABLE));
        assert_eq!(rtime, Some(until));
        // A cross-realm TGT is not canonicalized.
        let (x, _) = tgs_exchange_from(&p("cifs/acct@OTHER.TEST"), flags, Some(until));
        assert!(!asked(&x).0.contains(KdcOptions::CANONICALIZE));
    }

    #[test]
    fn renewals_ask_for_what_the_tgt_holds_and_take_back_only_the_same_tgt() {
        let now = KerberosTime::now();
        let tgs = p("krbtgt/EXAMPLE.TEST");
        let until = KerberosTime::from_unix(now.unix() + 86_400);
        let tgt = |flags, endtime, renew_till| test_tgt(flags, now, endtime, renew_till);
        let renewable = TicketFlags(0) | TicketFlags::RENEWABLE;
        let mut x = TgsExchange::renew(tgt(renewable, now.unix() + 600, Some(until)), now).unwrap();
        let KerberosMessage::TgsReq(TgsReq(req)) = KerberosMessage::from_der(x.request()).unwrap()
        else {
            panic!("not a TGS-REQ")
        };
        let o = req.req_body.kdc_options;
        assert!(
            o.contains(KdcOptions::RENEW | KdcOptions::RENEWABLE),
            "{o:?}"
        );
        assert!(!o.contains(KdcOptions::CANONICALIZE) && !o.contains(KdcOptions::FORWARDABLE));
        assert_eq!(req.req_body.rtime, Some(until));
        assert_eq!(req.req_body.till, until);
        assert_eq!(req.req_body.sname.as_ref(), Some(&tgs.name));
        // The same TGT back is the renewal; a ticket for anything else is not.
        assert!(matches!(
            x.handle_reply(&tgs_rep(&x, &tgs, &tgs, now), now),
            Ok(TgsStep::Done(_))
        ));
        let mut x = TgsExchange::renew(tgt(renewable, now.unix() + 600, Some(until)), now).unwrap();
        let cifs = p("cifs/acct.example.test");
        assert!(
            x.handle_reply(&tgs_rep(&x, &cifs, &cifs, now), now)
                .is_err()
        );

        // Not renewable, past its limit, expired, no limit: refused before any request.
        for (flags, end, limit) in [
            (TicketFlags(0), now.unix() + 600, Some(until)),
            (
                renewable,
                now.unix() + 600,
                Some(KerberosTime::from_unix(now.unix() - 1)),
            ),
            (renewable, now.unix() - 1, Some(until)),
            (renewable, now.unix() + 600, None),
            // A limit before the end: renewing would shorten it.
            (
                renewable,
                now.unix() + 600,
                Some(KerberosTime::from_unix(now.unix() + 300)),
            ),
        ] {
            match TgsExchange::renew(tgt(flags, end, limit), now) {
                Err(Error::NotRenewable { .. }) => {}
                other => panic!("{flags:?} {end} {limit:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn an_as_req_asks_renewable_only_when_told_to() {
        let now = KerberosTime::now();
        let secret = || AsSecret::Password(Zeroizing::new("pw".into()));
        let asked = |x: &AsExchange| {
            let KerberosMessage::AsReq(AsReq(req)) =
                KerberosMessage::from_der(x.request()).unwrap()
            else {
                panic!("not an AS-REQ")
            };
            (req.req_body.kdc_options, req.req_body.rtime)
        };
        let x = AsExchange::new(p("alice"), secret(), now).unwrap();
        let (o, rtime) = asked(&x);
        assert!(!o.contains(KdcOptions::RENEWABLE) && rtime.is_none());
        let x = x.renewable(7 * 86400, now).unwrap();
        let (o, rtime) = asked(&x);
        assert!(o.contains(KdcOptions::RENEWABLE));
        assert_eq!(rtime.map(|t| t.unix()), Some(now.unix() + 7 * 86400));
    }

    fn tgs_exchange_from(
        service: &Principal,
        flags: TicketFlags,
        renew_till: Option<KerberosTime>,
    ) -> (TgsExchange, KerberosTime) {
        let now = KerberosTime::now();
        let tgt = test_tgt(flags, now, now.unix() + 3600, renew_till);
        (TgsExchange::new(tgt, service.clone(), now).unwrap(), now)
    }

    /// alice's TGT in EXAMPLE.TEST with `flags`, issued `now`, ending at `endtime`.
    fn test_tgt(
        flags: TicketFlags,
        now: KerberosTime,
        endtime: i64,
        renew_till: Option<KerberosTime>,
    ) -> Credential {
        let tgs = p("krbtgt/EXAMPLE.TEST");
        Credential {
            client: p("alice"),
            server: tgs.clone(),
            session_key: Key::new(EncryptionType::Aes256CtsHmacSha196, &[0x33; 32]).unwrap(),
            ticket: ticket(&tgs),
            flags,
            authtime: now,
            starttime: None,
            endtime: KerberosTime::from_unix(endtime),
            renew_till,
        }
    }

    fn tgs_rep(
        x: &TgsExchange,
        ticket_server: &Principal,
        part_server: &Principal,
        now: KerberosTime,
    ) -> Vec<u8> {
        let plain = encode(
            "EncTGSRepPart",
            &EncTgsRepPart(part(part_server, x.nonce, now)),
        )
        .unwrap();
        let sealed = x
            .subkey
            .encrypt(KeyUsage::TGS_REP_ENC_PART_SUBKEY, &plain)
            .unwrap();
        let rep = TgsRep(KdcRep {
            pvno: 5,
            msg_type: MessageType::TgsRep,
            padata: None,
            crealm: REALM.into(),
            cname: p("alice").name,
            ticket: ticket(ticket_server),
            enc_part: EncryptedData {
                etype: 18,
                kvno: None,
                cipher: sealed.into(),
            },
        });
        encode("TGS-REP", &rep).unwrap()
    }

    #[test]
    fn tgs_rep_whose_ticket_differs_from_its_encrypted_part_is_refused() {
        let cifs = p("cifs/acct.file.core.windows.net");
        let (mut x, now) = tgs_exchange(&cifs);
        assert!(matches!(
            x.handle_reply(&tgs_rep(&x, &cifs, &cifs, now), now),
            Ok(TgsStep::Done(_))
        ));
        let (mut x, now) = tgs_exchange(&cifs);
        let evil = p("cifs/evil.example");
        match x.handle_reply(&tgs_rep(&x, &evil, &cifs, now), now) {
            Err(Error::WrongServer { what, got, .. }) => {
                assert_eq!(what, "TGS-REP ticket");
                assert_eq!(got, evil.to_string());
            }
            other => panic!("expected WrongServer, got {other:?}"),
        }
    }
}
