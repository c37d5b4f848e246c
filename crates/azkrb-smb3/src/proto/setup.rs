//! SESSION_SETUP, one state machine for the first authentication and for re-authentication:
//! the preauth hash (3.1.1), the GSS tokens, key derivation, the final response's signature,
//! and the encryption the session will use.

use zeroize::Zeroizing;

use super::negotiate::Negotiated;
use super::protect::SessionProtection;
use crate::crypto::{self, PreauthHash};
use crate::dialect::{Cipher, Dialect, SigningAlgorithm};
use crate::error::{Error, Result};
use crate::msg::{self, Header, flags, session_flags};
use crate::session::{Authenticator, Security};
use crate::status::NtStatus;

/// What to do after a SESSION_SETUP response.
#[derive(Debug)]
pub enum Step {
    /// Send this token in the next leg.
    Continue(Vec<u8>),
    /// The first authentication is done: the session's keys.
    Established(SessionProtection),
    /// The re-authentication is done.
    Reauthenticated,
}

#[derive(Debug)]
enum Kind {
    First {
        preauth: PreauthHash,
        dialect: Dialect,
        cipher: Option<Cipher>,
        signing: SigningAlgorithm,
        security: Security,
    },
    Reauth,
}

/// One SESSION_SETUP exchange.
#[derive(Debug)]
pub struct SessionSetup {
    kind: Kind,
    session_id: u64,
}

impl SessionSetup {
    /// The first authentication on a connection that negotiated `neg`.
    pub fn first(neg: &Negotiated, security: Security) -> Self {
        let n = &neg.response;
        let dialect = n.dialect;
        let cipher = match dialect {
            Dialect::Smb311 => n.cipher,
            Dialect::Smb30 | Dialect::Smb302 => Some(Cipher::Aes128Ccm),
            _ => None,
        };
        let signing = match dialect {
            Dialect::Smb311 => n.signing.unwrap_or(SigningAlgorithm::AesCmac),
            d if d.is_smb3() => SigningAlgorithm::AesCmac,
            _ => SigningAlgorithm::HmacSha256,
        };
        Self {
            kind: Kind::First {
                preauth: neg.preauth.clone(),
                dialect,
                cipher,
                signing,
                security,
            },
            session_id: 0,
        }
    }

    /// Re-authentication of the established session `session_id` (MS-SMB2 §3.2.4.2.3):
    /// keys, trees and open handles stay as they are.
    pub fn reauth(session_id: u64) -> Self {
        Self {
            kind: Kind::Reauth,
            session_id,
        }
    }

    /// The SessionId the next leg is sent with (0 before the server gave one).
    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    /// The request body of a leg carrying `token`.
    pub fn request(&self, token: &[u8]) -> Result<Vec<u8>> {
        msg::session_setup_request(token)
    }

    /// Takes the server's answer to the leg `sent` (the request exactly as sent, for the
    /// preauth hash): `message` is the whole response, already bound to its request.
    pub fn handle_response(
        &mut self,
        sent: &[u8],
        header: &Header,
        message: &[u8],
        auth: &mut dyn Authenticator,
    ) -> Result<Step> {
        if self.session_id != 0 && header.session_id != self.session_id {
            return Err(Error::Protocol(format!(
                "SESSION_SETUP answered for session {:#x}, not {:#x}",
                header.session_id, self.session_id
            )));
        }
        let going_on = matches!(
            header.status,
            NtStatus::MORE_PROCESSING_REQUIRED | NtStatus::SUCCESS
        );
        if going_on && header.session_id == 0 {
            return Err(Error::Protocol(
                "SESSION_SETUP answered without a SessionId".into(),
            ));
        }
        if going_on {
            self.session_id = header.session_id;
        }
        let reauth = matches!(self.kind, Kind::Reauth);
        if let Kind::First { preauth, .. } = &mut self.kind {
            preauth.update(sent);
        }
        match header.status {
            NtStatus::MORE_PROCESSING_REQUIRED => {
                if let Kind::First { preauth, .. } = &mut self.kind {
                    preauth.update(message);
                }
                let (_, server_token) = msg::session_setup_response(message)?;
                let token = auth.next_token(&server_token, false)?.ok_or_else(|| {
                    Error::Auth("the server wants more, the mechanism has nothing to send".into())
                })?;
                Ok(Step::Continue(token))
            }
            NtStatus::SUCCESS => {
                let session_flags = finish(message, auth, reauth)?;
                match &self.kind {
                    Kind::Reauth => Ok(Step::Reauthenticated),
                    Kind::First {
                        preauth,
                        dialect,
                        cipher,
                        signing,
                        security,
                    } => {
                        let key = auth.session_key().ok_or_else(|| {
                            Error::Auth("authentication finished without a session key".into())
                        })?;
                        established(
                            &key,
                            preauth,
                            *dialect,
                            *cipher,
                            *signing,
                            *security,
                            header,
                            message,
                            session_flags,
                        )
                        .map(Step::Established)
                    }
                }
            }
            NtStatus::ACCESS_DENIED
                if matches!(
                    self.kind,
                    Kind::First {
                        dialect: Dialect::Smb311,
                        cipher: None,
                        ..
                    }
                ) =>
            {
                Err(Error::Unsupported(
                    "the server refused the session (STATUS_ACCESS_DENIED) and no cipher was \
                     negotiated: it most likely requires encryption; offer AES-256-GCM or \
                     AES-128-GCM"
                        .into(),
                ))
            }
            status => Err(Error::Status {
                command: if reauth {
                    "SESSION_SETUP (re-authentication)"
                } else {
                    "SESSION_SETUP"
                },
                status,
            }),
        }
    }
}

/// The final SESSION_SETUP response: a guest or anonymous session is refused, and the
/// mechanism must accept the server's last token without wanting to send more. Returns
/// the SessionFlags.
fn finish(message: &[u8], auth: &mut dyn Authenticator, reauth: bool) -> Result<u16> {
    let (flags, server_token) = msg::session_setup_response(message)?;
    if flags & (session_flags::IS_GUEST | session_flags::IS_NULL) != 0 {
        let what = if reauth {
            "the re-authenticated"
        } else {
            "this"
        };
        return Err(Error::Auth(format!(
            "the server made {what} session a guest or anonymous one"
        )));
    }
    if auth.next_token(&server_token, true)?.is_some() {
        return Err(Error::Auth(
            "the mechanism wants to send more after the server finished".into(),
        ));
    }
    Ok(flags)
}

/// The keys of a new session, once the final response is verified with them.
#[allow(clippy::too_many_arguments)]
fn established(
    key: &Zeroizing<Vec<u8>>,
    preauth: &PreauthHash,
    dialect: Dialect,
    cipher: Option<Cipher>,
    signing: SigningAlgorithm,
    security: Security,
    header: &Header,
    message: &[u8],
    session_flags: u16,
) -> Result<SessionProtection> {
    let keys = crypto::derive_keys(
        dialect,
        cipher,
        key,
        (dialect == Dialect::Smb311).then_some(&preauth.0),
    )?;
    // The final SMB 3 SESSION_SETUP response of a session that is neither guest nor
    // anonymous must be signed with the new keys (MS-SMB2 3.3.5.5.3): unsigned, its
    // SessionFlags (ENCRYPT_DATA) could have been rewritten on the path.
    let signed = header.flags & flags::SIGNED != 0;
    if dialect.is_smb3() && !signed {
        return Err(Error::Protocol(format!(
            "the final {dialect} SESSION_SETUP response is not signed"
        )));
    }
    if signed {
        crypto::verify(signing, &keys.signing, message, true)?;
    }
    let server_encrypts = session_flags & session_flags::ENCRYPT_DATA != 0;
    let encrypt = (server_encrypts || security.always_encrypt) && cipher.is_some();
    if security.require_encryption && !encrypt {
        return Err(Error::Unsupported(format!(
            "encryption is required but the server negotiated {dialect} without it"
        )));
    }
    if server_encrypts && cipher.is_none() {
        return Err(Error::Unsupported(
            "the server requires encryption but no cipher was negotiated".into(),
        ));
    }
    let cipher = match cipher {
        Some(c) if encrypt => Some((c, &keys.encryption[..], &keys.decryption[..])),
        _ => None,
    };
    SessionProtection::new(signing, keys.signing.clone(), cipher)
}
