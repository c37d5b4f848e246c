//! The bridge between the Kerberos client and the SMB client: azkrb-smb3's
//! [`Authenticator`](azkrb_smb3::Authenticator) implemented with SPNEGO around the GSS krb5
//! initiator of azkrb-cloudtgt.

use azkrb_asn1::KerberosTime;
use azkrb_asn1::gss::{KRB5_OID, MS_KRB5_OID};
use azkrb_asn1::spnego::{
    MechTypeList, NegState, NegTokenInit, NegotiationToken, mech, mech_type_list_der,
};
use azkrb_cloudtgt::Credential;
use azkrb_cloudtgt::gss::{Initiator, SMB_FLAGS};
use azkrb_smb3::{Error, Result};
use zeroize::Zeroizing;

fn auth_err(e: impl std::fmt::Display) -> Error {
    Error::Auth(e.to_string())
}

/// SPNEGO-wrapped Kerberos for SMB SESSION_SETUP, from a `cifs/` service ticket.
///
/// Mutual authentication is required (the AP-REP is verified), the session key is the
/// acceptor's subkey (all 32 bytes for AES-256), a mechListMIC from the server is verified,
/// and none is sent unless the server asks for one.
pub struct KerberosAuth {
    cred: Credential,
    ctx: Option<Initiator>,
    mech_list: MechTypeList,
}

impl KerberosAuth {
    /// An authenticator presenting `cred` (a ticket for `cifs/<host>`).
    pub fn new(cred: Credential) -> Result<Self> {
        Ok(Self {
            cred,
            ctx: None,
            mech_list: vec![mech(KRB5_OID).map_err(auth_err)?],
        })
    }
}

impl azkrb_smb3::Authenticator for KerberosAuth {
    fn initial_token(&mut self, negotiate_blob: &[u8]) -> Result<Vec<u8>> {
        if !negotiate_blob.is_empty() {
            let offered = NegotiationToken::decode(negotiate_blob).map_err(auth_err)?;
            if let Some(list) = offered.mech_types() {
                let krb5 = [
                    mech(KRB5_OID).map_err(auth_err)?,
                    mech(MS_KRB5_OID).map_err(auth_err)?,
                ];
                if !list.iter().any(|m| krb5.contains(m)) {
                    return Err(Error::Auth(
                        "the server does not offer Kerberos (only NTLM?)".into(),
                    ));
                }
            }
        }
        let (ctx, token) =
            Initiator::new(&self.cred, SMB_FLAGS, KerberosTime::now()).map_err(auth_err)?;
        self.ctx = Some(ctx);
        NegotiationToken::Init(NegTokenInit {
            mech_types: self.mech_list.clone(),
            req_flags: None,
            mech_token: Some(token.into()),
            mech_list_mic: None,
        })
        .encode()
        .map_err(auth_err)
    }

    fn next_token(&mut self, server_token: &[u8], complete: bool) -> Result<Option<Vec<u8>>> {
        let ctx = self
            .ctx
            .as_mut()
            .ok_or_else(|| Error::Auth("no context".into()))?;
        if server_token.is_empty() {
            return if ctx.is_established() {
                Ok(None)
            } else {
                Err(Error::Auth(
                    "the server sent no AP-REP: mutual authentication failed".into(),
                ))
            };
        }
        let NegotiationToken::Resp(resp) =
            NegotiationToken::decode(server_token).map_err(auth_err)?
        else {
            return Err(Error::Auth("expected a SPNEGO NegTokenResp".into()));
        };
        if resp.neg_state == Some(NegState::Reject) {
            return Err(Error::Auth(
                "the server rejected the Kerberos ticket".into(),
            ));
        }
        if let Some(t) = &resp.response_token {
            ctx.handle_token(t).map_err(auth_err)?;
        }
        if !ctx.is_established() {
            return Err(Error::Auth("mutual authentication did not complete".into()));
        }
        let list = mech_type_list_der(&self.mech_list).map_err(auth_err)?;
        if let Some(mic) = &resp.mech_list_mic {
            // Legacy servers echo the response token as "MIC"; MIT and pyspnego ignore that.
            if resp.response_token.as_deref() != Some(&mic[..]) {
                ctx.verify_mic(&list, mic).map_err(auth_err)?;
            }
        }
        if resp.neg_state == Some(NegState::RequestMic) && !complete {
            let mic = ctx.get_mic(&list).map_err(auth_err)?;
            let token = NegotiationToken::Resp(azkrb_asn1::spnego::NegTokenResp {
                neg_state: None,
                supported_mech: None,
                response_token: None,
                mech_list_mic: Some(mic.into()),
            });
            return token.encode().map(Some).map_err(auth_err);
        }
        Ok(None)
    }

    fn session_key(&self) -> Option<Zeroizing<Vec<u8>>> {
        let key = self.ctx.as_ref()?.session_key()?;
        Some(Zeroizing::new(key.as_bytes().to_vec()))
    }
}
