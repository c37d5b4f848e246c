//! Who the KDC says the user is: a user-to-user ticket to oneself
//! ([`TgsExchange::user_to_self`]) is sealed in the TGT's session key, so the client can
//! open it and read its PAC (an AD KDC's: the user's SID and name, the groups' SIDs), which
//! a service ticket, sealed for the service, never shows its client.

use azkrb_asn1::krb::{AuthorizationData, EncTicketPart};
use azkrb_asn1::pac::Pac;
use azkrb_asn1::{AdType, KerberosTime, decode};
use azkrb_crypto::KeyUsage;

use crate::client::Client;
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::exchange::{MAX_REFERRALS, TgsExchange, TgsStep};
use crate::principal::Principal;

/// What the KDC says of the user.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The principal, as the KDC names it.
    pub principal: Principal,
    /// The PAC, when the KDC put one in (AD and Entra do; MIT's KDC without a PAC plugin
    /// does not).
    pub pac: Option<Pac>,
}

/// The PAC in an opened ticket's authorization data (inside AD-IF-RELEVANT).
pub fn pac_of(part: &EncTicketPart) -> Result<Option<Pac>> {
    let Some(ad) = &part.authorization_data else {
        return Ok(None);
    };
    for relevant in ad.iter().filter(|a| a.ad_type == AdType::IfRelevant) {
        let inner: AuthorizationData = decode("AD-IF-RELEVANT", &relevant.ad_data)?;
        if let Some(p) = inner.iter().find(|a| a.ad_type == AdType::Win2kPac) {
            return Ok(Some(Pac::decode(&p.ad_data)?));
        }
    }
    Ok(None)
}

impl Client {
    async fn user_to_self(&self, tgt: &Credential, enterprise: bool) -> Result<Credential> {
        let now = KerberosTime::now();
        let mut x = TgsExchange::user_to_self(tgt.clone(), enterprise, now)?
            .with_armoring(self.armoring(), now)?;
        for _ in 0..=MAX_REFERRALS + 1 {
            let reply = self.send(x.realm(), x.request()).await?;
            if let TgsStep::Done(c) = x.handle_reply(&reply, KerberosTime::now())? {
                return Ok(*c);
            }
        }
        Err(Error::ReferralLoop(MAX_REFERRALS))
    }

    /// Who the KDC of `tgt`'s realm says its client is (see the module's documentation). The
    /// ticket is kept like any other, so asking again costs no round trip while it lasts.
    pub async fn identity(&self, tgt: &Credential) -> Result<Identity> {
        let now = KerberosTime::now();
        let me = Principal::new(
            azkrb_asn1::PrincipalName {
                name_type: azkrb_asn1::NameType::Principal,
                name_string: tgt.client.name.name_string.clone(),
            },
            tgt.client.realm.clone(),
        );
        let ticket = match self.cache().get(&tgt.client, &me, now) {
            Some(t) => t,
            None => {
                // The plain name first (MIT); Samba's AD DC finds a user as a server by its
                // enterprise name only.
                let unknown = |e: &Error| matches!(e, Error::Kdc(k) if k.code == azkrb_asn1::ErrorCode::SPrincipalUnknown);
                let t = match self.user_to_self(tgt, false).await {
                    Err(e) if unknown(&e) => match self.user_to_self(tgt, true).await {
                        Err(e) if unknown(&e) => {
                            return Err(Error::Protocol(format!(
                                "the KDC of {} gives {} no user-to-user ticket to itself (Samba \
                                 4.17's AD DC finds no user account as a server; Windows' KDC \
                                 does): the PAC cannot be read this way",
                                tgt.client.realm, tgt.client
                            )));
                        }
                        other => other?,
                    },
                    other => other?,
                };
                self.cache().put(&t);
                t
            }
        };
        let plain = tgt
            .session_key
            .decrypt(KeyUsage::KDC_REP_TICKET, &ticket.ticket.enc_part.cipher)
            .map_err(|e| {
                Error::Protocol(format!(
                    "the user-to-user ticket does not open with the TGT's session key: {e}"
                ))
            })?;
        let part: EncTicketPart = decode("EncTicketPart", &plain)?;
        Ok(Identity {
            principal: Principal::new(part.cname.clone(), part.crealm.to_string_lossy()),
            pac: pac_of(&part)?,
        })
    }
}
