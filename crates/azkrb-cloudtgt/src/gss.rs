//! The GSS-API krb5 initiator (RFC 4121) an SMB client needs: the AP-REQ token with a
//! fresh subkey, a sequence number and the 0x8003 checksum, mutual authentication through
//! the AP-REP, the session key, and MIC tokens (for SPNEGO's mechListMIC).

use azkrb_asn1::gss::{GssChecksum, Krb5Token, Krb5TokenId, MicToken, context_flags, token_flags};
use azkrb_asn1::krb::{
    ApReq, Authenticator, Checksum, EncApRepPart, EncryptedData, EncryptionKey, KeyValue, SeqNumber,
};
use azkrb_asn1::{
    ApOptions, CksumType, KerberosMessage, KerberosTime, MessageType, decode, encode,
};
use azkrb_crypto::{Key, KeyUsage};

use crate::credential::Credential;
use crate::error::{Error, Result};

/// The context flags an SMB client asks for: mutual authentication, integrity,
/// confidentiality and sequencing.
pub const SMB_FLAGS: u32 =
    context_flags::MUTUAL | context_flags::INTEG | context_flags::CONF | context_flags::SEQUENCE;

/// A GSS krb5 security context being established, or established, by the initiator.
#[derive(Debug)]
pub struct Initiator {
    session_key: Key,
    subkey: Key,
    acceptor_subkey: Option<Key>,
    ctime: KerberosTime,
    cusec: u32,
    send_seq: u64,
    recv_seq: Option<u64>,
    established: bool,
    mutual: bool,
}

impl Initiator {
    /// Builds the initial token (InitialContextToken with the krb5 OID, token ID `01 00` and
    /// an AP-REQ) for the service ticket `cred`, with context `flags` (see [`SMB_FLAGS`]).
    pub fn new(cred: &Credential, flags: u32, now: KerberosTime) -> Result<(Self, Vec<u8>)> {
        let subkey = Key::random(cred.session_key.etype())?;
        let mut seq = [0u8; 4];
        getrandom::fill(&mut seq)
            .map_err(|e| Error::Protocol(format!("system random generator: {e}")))?;
        let seq = u32::from_be_bytes(seq) & 0x3fff_ffff;
        let mut us = [0u8; 4];
        getrandom::fill(&mut us)
            .map_err(|e| Error::Protocol(format!("system random generator: {e}")))?;
        let cusec = u32::from_be_bytes(us) % 1_000_000;
        let checksum = GssChecksum::new(flags).encode()?;
        let auth = Authenticator {
            authenticator_vno: 5,
            crealm: cred.client.realm.as_str().into(),
            cname: cred.client.name.clone(),
            cksum: Some(Checksum {
                cksumtype: CksumType::Gssapi,
                checksum: checksum.into(),
            }),
            cusec,
            ctime: now,
            subkey: Some(EncryptionKey {
                keytype: subkey.etype().number(),
                keyvalue: KeyValue::new(subkey.as_bytes().to_vec()),
            }),
            seq_number: Some(SeqNumber(seq)),
            authorization_data: None,
        };
        let sealed = cred.session_key.encrypt(
            KeyUsage::AP_REQ_AUTHENTICATOR,
            &encode("Authenticator", &auth)?,
        )?;
        let mutual = flags & context_flags::MUTUAL != 0;
        let ap = ApReq {
            pvno: 5,
            msg_type: MessageType::ApReq,
            ap_options: if mutual {
                ApOptions::MUTUAL_REQUIRED
            } else {
                ApOptions::empty()
            },
            ticket: cred.ticket.clone(),
            authenticator: EncryptedData {
                etype: cred.session_key.etype().number(),
                kvno: None,
                cipher: sealed.into(),
            },
        };
        let token = Krb5Token {
            id: Krb5TokenId::ApReq,
            message: encode("AP-REQ", &ap)?,
        }
        .encode_framed();
        Ok((
            Self {
                session_key: cred.session_key.clone(),
                subkey,
                acceptor_subkey: None,
                ctime: now,
                cusec,
                send_seq: u64::from(seq),
                recv_seq: None,
                established: !mutual,
                mutual,
            },
            token,
        ))
    }

    /// Consumes the acceptor's token: an AP-REP (verified: its ctime and cusec must be ours)
    /// or a KRB-ERROR, framed or bare.
    pub fn handle_token(&mut self, token: &[u8]) -> Result<()> {
        let t = Krb5Token::decode(token)?;
        match (t.id, KerberosMessage::from_der(&t.message)?) {
            (Krb5TokenId::ApRep, KerberosMessage::ApRep(rep)) => {
                let plain = self
                    .session_key
                    .decrypt(KeyUsage::AP_REP_ENC_PART, &rep.enc_part.cipher)
                    .map_err(|e| {
                        Error::MutualAuth(format!(
                            "the AP-REP does not decrypt with the session key: {e}"
                        ))
                    })?;
                let part: EncApRepPart = decode("EncAPRepPart", &plain)?;
                if part.ctime != self.ctime || part.cusec != self.cusec {
                    return Err(Error::MutualAuth(
                        "the AP-REP does not echo our authenticator's time".into(),
                    ));
                }
                if let Some(k) = part.subkey {
                    self.acceptor_subkey = Some(Key::from_wire(k.keytype, &k.keyvalue)?);
                }
                self.recv_seq = part.seq_number.map(|s| u64::from(s.0));
                self.established = true;
                Ok(())
            }
            (_, KerberosMessage::KrbError(e)) => Err(Error::MutualAuth(format!(
                "the service answered {}{}",
                e.error_code,
                e.e_text.map(|t| format!(": {t}")).unwrap_or_default()
            ))),
            (id, other) => Err(Error::MutualAuth(format!(
                "unexpected {:?} token carrying {}",
                id,
                other.message_type()
            ))),
        }
    }

    /// True once mutual authentication completed (or was not asked for).
    pub fn is_established(&self) -> bool {
        self.established
    }

    /// True if mutual authentication was requested.
    pub fn mutual(&self) -> bool {
        self.mutual
    }

    /// The context's key: the acceptor's subkey when the AP-REP carried one, else our
    /// subkey (MIT's rule). For SMB this is the session key, all of it (32 bytes for
    /// AES-256).
    pub fn session_key(&self) -> Option<&Key> {
        if !self.established {
            return None;
        }
        Some(self.acceptor_subkey.as_ref().unwrap_or(&self.subkey))
    }

    /// A MIC token over `message` (usage 25, initiator; AcceptorSubkey flag when keyed by
    /// the acceptor's subkey). Consumes one sequence number.
    pub fn get_mic(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let key = self
            .session_key()
            .ok_or_else(|| Error::Protocol("the context is not established".into()))?;
        let flags = if self.acceptor_subkey.is_some() {
            token_flags::ACCEPTOR_SUBKEY
        } else {
            0
        };
        let mut token = MicToken {
            flags,
            snd_seq: self.send_seq,
            checksum: Vec::new(),
        };
        token.checksum =
            key.checksum_parts(KeyUsage::GSS_INITIATOR_SIGN, &[message, &token.header()])?;
        self.send_seq = self.send_seq.wrapping_add(1);
        Ok(token.encode())
    }

    /// Verifies the acceptor's MIC token over `message` (usage 23).
    pub fn verify_mic(&self, message: &[u8], token: &[u8]) -> Result<()> {
        let key = self
            .session_key()
            .ok_or_else(|| Error::Protocol("the context is not established".into()))?;
        let mic = MicToken::decode(token)?;
        if mic.flags & token_flags::SENT_BY_ACCEPTOR == 0 {
            return Err(Error::MutualAuth(
                "the MIC token was not sent by the acceptor".into(),
            ));
        }
        let ctype = key.etype().checksum_type().number();
        key.verify_checksum_parts(
            KeyUsage::GSS_ACCEPTOR_SIGN,
            ctype,
            &[message, &mic.header()],
            &mic.checksum,
        )
        .map_err(|_| Error::MutualAuth("the acceptor's MIC does not verify".into()))
    }
}
