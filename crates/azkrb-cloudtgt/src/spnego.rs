//! SPNEGO (RFC 4178, MS-SPNG) around the GSS krb5 [`Initiator`], as SMB's SESSION_SETUP
//! carries it: sans-IO, tokens in and tokens out.
//!
//! The server's NEGOTIATE hint must offer Kerberos (krb5 or Microsoft's krb5 OID); the
//! NegTokenInit carries the AP-REQ; the server's NegTokenResp must carry the AP-REP (mutual
//! authentication is required) unless it rejects; a mechListMIC from the server is verified,
//! and one is sent only when the server asks for it (`request-mic`).

use azkrb_asn1::KerberosTime;
use azkrb_asn1::gss::{KRB5_OID, MS_KRB5_OID};
use azkrb_asn1::spnego::{
    MechTypeList, NegState, NegTokenInit, NegTokenResp, NegotiationToken, mech, mech_type_list_der,
};
use azkrb_crypto::Key;

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::gss::{Initiator, SMB_FLAGS};

fn spnego_err(e: impl std::fmt::Display) -> Error {
    Error::Protocol(format!("SPNEGO: {e}"))
}

/// The mechanisms offered: krb5 alone (the mechListMIC covers this list).
fn offered() -> Result<MechTypeList> {
    Ok(vec![mech(KRB5_OID).map_err(spnego_err)?])
}

/// A SPNEGO initiator offering Kerberos with a service ticket.
///
/// ```no_run
/// # fn demo(ticket: azkrb_cloudtgt::Credential, hint: &[u8], reply: &[u8])
/// #     -> azkrb_cloudtgt::Result<()> {
/// use azkrb_cloudtgt::spnego::SpnegoInitiator;
/// let mut spnego = SpnegoInitiator::new(ticket);
/// let first = spnego.initial_token(hint, azkrb_asn1::KerberosTime::now())?;
/// // ... SESSION_SETUP with `first`; the server answers `reply` ...
/// let last = spnego.step(reply, true)?; // Some(mechListMIC) if the server asked for it
/// let key = spnego.session_key().expect("established");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SpnegoInitiator {
    cred: Credential,
    ctx: Option<Initiator>,
}

impl SpnegoInitiator {
    /// An initiator presenting `cred` (a ticket for the service, e.g. `cifs/<host>`).
    pub fn new(cred: Credential) -> Self {
        Self { cred, ctx: None }
    }

    /// The NegTokenInit carrying the AP-REQ. `negotiate_hint` is the server's NEGOTIATE
    /// security blob (may be empty); when it lists mechanisms, Kerberos must be among them.
    pub fn initial_token(&mut self, negotiate_hint: &[u8], now: KerberosTime) -> Result<Vec<u8>> {
        let krb5 = mech(KRB5_OID).map_err(spnego_err)?;
        if !negotiate_hint.is_empty() {
            let offered = NegotiationToken::decode(negotiate_hint).map_err(spnego_err)?;
            if let Some(list) = offered.mech_types() {
                let ms_krb5 = mech(MS_KRB5_OID).map_err(spnego_err)?;
                if !list.iter().any(|m| *m == krb5 || *m == ms_krb5) {
                    return Err(spnego_err(
                        "the server does not offer Kerberos (only NTLM?)",
                    ));
                }
            }
        }
        let (ctx, token) = Initiator::new(&self.cred, SMB_FLAGS, now)?;
        self.ctx = Some(ctx);
        NegotiationToken::Init(NegTokenInit {
            mech_types: offered()?,
            req_flags: None,
            mech_token: Some(token.into()),
            mech_list_mic: None,
        })
        .encode()
        .map_err(spnego_err)
    }

    /// Takes the server's answer (`complete`: the server said the exchange is over). Returns
    /// the token to send next, if any (a mechListMIC the server asked for).
    pub fn step(&mut self, server_token: &[u8], complete: bool) -> Result<Option<Vec<u8>>> {
        let Some(ctx) = self.ctx.as_mut() else {
            return Err(Error::MutualAuth("no context: initial_token first".into()));
        };
        if server_token.is_empty() {
            return if ctx.is_established() {
                Ok(None)
            } else {
                Err(Error::MutualAuth(
                    "the server sent no AP-REP: mutual authentication failed".into(),
                ))
            };
        }
        let NegotiationToken::Resp(resp) =
            NegotiationToken::decode(server_token).map_err(spnego_err)?
        else {
            return Err(spnego_err("expected a NegTokenResp"));
        };
        if resp.neg_state == Some(NegState::Reject) {
            return Err(Error::MutualAuth(
                "the server rejected the Kerberos ticket".into(),
            ));
        }
        if let Some(t) = &resp.response_token {
            ctx.handle_token(t)?;
        }
        if !ctx.is_established() {
            return Err(Error::MutualAuth(
                "mutual authentication did not complete".into(),
            ));
        }
        let list = mech_type_list_der(&offered()?).map_err(spnego_err)?;
        if let Some(mic) = &resp.mech_list_mic {
            // Legacy servers echo the response token as "MIC"; MIT and pyspnego ignore that.
            if resp.response_token.as_deref() != Some(&mic[..]) {
                ctx.verify_mic(&list, mic)?;
            }
        }
        if resp.neg_state == Some(NegState::RequestMic) && !complete {
            let mic = ctx.get_mic(&list)?;
            let token = NegotiationToken::Resp(NegTokenResp {
                neg_state: None,
                supported_mech: None,
                response_token: None,
                mech_list_mic: Some(mic.into()),
            });
            return token.encode().map(Some).map_err(spnego_err);
        }
        Ok(None)
    }

    /// The session key once established: the acceptor's subkey (all 32 bytes for
    /// AES-256), else the initiator's.
    pub fn session_key(&self) -> Option<&Key> {
        self.ctx.as_ref()?.session_key()
    }
}
