//! A ticket with its session key and times: what an AS or TGS exchange produces, what a
//! ccache holds, and what an AP-REQ is built from.

use azkrb_asn1::krb::{EncKdcRepPart, KrbCredInfo, Ticket};
use azkrb_asn1::{KerberosTime, TicketFlags, encode};
use azkrb_crypto::Key;

use crate::error::Result;
use crate::principal::Principal;

/// Credentials for one service: the ticket, its session key and what the KDC said about it.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The client the ticket was issued to.
    pub client: Principal,
    /// The service the ticket is for (a `krbtgt/...` for a TGT).
    pub server: Principal,
    /// The session key (zeroized on drop, never printed).
    pub session_key: Key,
    /// The ticket, opaque to the client (encrypted in the service's key).
    pub ticket: Ticket,
    /// Ticket flags.
    pub flags: TicketFlags,
    /// Time of initial authentication.
    pub authtime: KerberosTime,
    /// Start of validity (authtime if absent).
    pub starttime: Option<KerberosTime>,
    /// End of validity.
    pub endtime: KerberosTime,
    /// Renewal limit.
    pub renew_till: Option<KerberosTime>,
}

impl Credential {
    /// Builds a credential from a decrypted KDC reply body.
    pub fn from_reply(client: Principal, ticket: Ticket, part: &EncKdcRepPart) -> Result<Self> {
        Ok(Self {
            client,
            server: Principal::new(part.sname.clone(), part.srealm.to_string_lossy()),
            session_key: Key::from_wire(part.key.keytype, &part.key.keyvalue)?,
            ticket,
            flags: part.flags,
            authtime: part.authtime,
            starttime: part.starttime,
            endtime: part.endtime,
            renew_till: part.renew_till,
        })
    }

    /// The DER of the ticket.
    pub fn ticket_der(&self) -> Result<Vec<u8>> {
        Ok(encode("Ticket", &self.ticket)?)
    }

    /// True if this is a TGT (`krbtgt/...`).
    pub fn is_tgt(&self) -> bool {
        self.server.tgs_realm().is_some()
    }

    /// Seconds of validity left at `now` (negative once expired).
    pub fn remaining(&self, now: KerberosTime) -> i64 {
        self.endtime.unix() - now.unix()
    }

    /// The KrbCredInfo describing this credential (for KRB-CRED export).
    pub fn cred_info(&self) -> KrbCredInfo {
        KrbCredInfo {
            key: azkrb_asn1::krb::EncryptionKey {
                keytype: self.session_key.etype().number(),
                keyvalue: azkrb_asn1::krb::KeyValue::new(self.session_key.as_bytes().to_vec()),
            },
            prealm: Some(self.client.realm.as_str().into()),
            pname: Some(self.client.name.clone()),
            flags: Some(self.flags),
            authtime: Some(self.authtime),
            starttime: self.starttime,
            endtime: Some(self.endtime),
            renew_till: self.renew_till,
            srealm: Some(self.server.realm.as_str().into()),
            sname: Some(self.server.name.clone()),
            caddr: None,
        }
    }
}
