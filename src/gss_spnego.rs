//! The bridge between the Kerberos client and the SMB client: azkrb-smb3's
//! [`Authenticator`](azkrb_smb3::Authenticator), implemented by azkrb-cloudtgt's sans-IO
//! [`SpnegoInitiator`] (SPNEGO around the GSS krb5 initiator).

use azkrb_asn1::KerberosTime;
use azkrb_cloudtgt::Credential;
use azkrb_cloudtgt::spnego::SpnegoInitiator;
use azkrb_smb3::{Error, Result};
use zeroize::Zeroizing;

fn auth_err(e: azkrb_cloudtgt::Error) -> Error {
    Error::Auth(e.to_string())
}

/// SPNEGO-wrapped Kerberos for SMB SESSION_SETUP, from a `cifs/` service ticket.
///
/// Mutual authentication is required (the AP-REP is verified), the session key is the
/// acceptor's subkey (all 32 bytes for AES-256), a mechListMIC from the server is verified,
/// and none is sent unless the server asks for one.
pub struct KerberosAuth {
    spnego: SpnegoInitiator,
    /// The ticket's end (Unix seconds).
    ends: i64,
}

impl KerberosAuth {
    /// An authenticator presenting `cred` (a ticket for `cifs/<host>`).
    pub fn new(cred: Credential) -> Result<Self> {
        Ok(Self {
            ends: cred.endtime.unix(),
            spnego: SpnegoInitiator::new(cred),
        })
    }
}

impl azkrb_smb3::Authenticator for KerberosAuth {
    fn initial_token(&mut self, negotiate_blob: &[u8]) -> Result<Vec<u8>> {
        self.spnego
            .initial_token(negotiate_blob, KerberosTime::now())
            .map_err(auth_err)
    }

    fn next_token(&mut self, server_token: &[u8], complete: bool) -> Result<Option<Vec<u8>>> {
        self.spnego.step(server_token, complete).map_err(auth_err)
    }

    fn session_key(&self) -> Option<Zeroizing<Vec<u8>>> {
        let key = self.spnego.session_key()?;
        Some(Zeroizing::new(key.as_bytes().to_vec()))
    }

    fn valid_until(&self) -> Option<i64> {
        Some(self.ends)
    }
}
