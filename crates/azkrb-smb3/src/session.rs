//! Sessions: SESSION_SETUP through an [`Authenticator`] (the state machine is
//! [`crate::proto::SessionSetup`]; this is its driver), re-authentication, TREE_CONNECT (with
//! VALIDATE_NEGOTIATE_INFO where the dialect needs it) and LOGOFF.

use crate::conn::{Connection, Response};
use crate::error::{Error, Result};
use crate::msg::{self, Command, share_flags};
use crate::proto::{SessionSetup, Step};
use crate::tree::Tree;

use zeroize::Zeroizing;

/// What SMB needs from an authentication mechanism (SPNEGO with Kerberos, in azkrb). smb3
/// defines it so that it does not depend on any Kerberos crate.
pub trait Authenticator: Send {
    /// The first token for SESSION_SETUP, given the server's NEGOTIATE security blob.
    fn initial_token(&mut self, negotiate_blob: &[u8]) -> Result<Vec<u8>>;
    /// Consumes the server's token (`complete` when the server said SUCCESS); returns the
    /// next token to send, if the exchange continues.
    fn next_token(&mut self, server_token: &[u8], complete: bool) -> Result<Option<Vec<u8>>>;
    /// The full session key (all of the GSS key) once authentication completed.
    fn session_key(&self) -> Option<Zeroizing<Vec<u8>>>;
    /// When the credential authenticated with ends (Unix seconds), if it does: the server
    /// ends the session then (STATUS_NETWORK_SESSION_EXPIRED) unless it is re-authenticated
    /// before ([`Session::valid_until`]).
    fn valid_until(&self) -> Option<i64> {
        None
    }
}

/// Client-side security requirements.
#[derive(Debug, Clone, Copy, Default)]
pub struct Security {
    /// Refuse a session the server does not encrypt (Azure's maximum-security profile does).
    pub require_encryption: bool,
    /// Encrypt even if the server does not ask for it (needs a negotiated cipher).
    pub always_encrypt: bool,
}

/// An authenticated session.
#[derive(Debug, Clone)]
pub struct Session {
    conn: Connection,
    id: u64,
    /// True if the session's messages are encrypted.
    pub encrypted: bool,
    /// When the last authentication's credential ends (Unix seconds; `i64::MAX`: unknown),
    /// shared by the session's clones.
    valid_until: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

/// An authentication's end, as [`Session::valid_until`] keeps it.
fn end_of(auth: &dyn Authenticator) -> i64 {
    auth.valid_until().unwrap_or(i64::MAX)
}

impl Session {
    /// Authenticates on `conn` with `auth`.
    pub async fn setup(
        conn: &Connection,
        auth: &mut dyn Authenticator,
        security: Security,
    ) -> Result<Self> {
        let mut setup = SessionSetup::first(conn.negotiation(), security);
        let mut token = auth.initial_token(&conn.negotiated.security_blob)?;
        loop {
            let resp = conn
                .request(
                    Command::SessionSetup,
                    setup.session_id(),
                    0,
                    setup.request(&token)?,
                    1,
                )
                .await?;
            match setup.handle_response(&resp.sent, &resp.header, resp.bytes(), auth)? {
                Step::Continue(next) => token = next,
                Step::Established(keys) => {
                    let encrypted = keys.encrypts();
                    let id = setup.session_id();
                    conn.add_session(id, keys)?;
                    return Ok(Self {
                        conn: conn.clone(),
                        id,
                        encrypted,
                        valid_until: std::sync::Arc::new(end_of(auth).into()),
                    });
                }
                Step::Reauthenticated => {
                    return Err(Error::Protocol(
                        "a first authentication ended as a re-authentication".into(),
                    ));
                }
            }
        }
    }

    /// Re-authenticates this session with a fresh ticket (MS-SMB2 3.2.4.2.3): SESSION_SETUP
    /// on the session's id, protected like any of its requests (the core accepts only
    /// answers that are), so that the server extends (or, after
    /// STATUS_NETWORK_SESSION_EXPIRED, revives) the session. Keys, trees and open handles
    /// stay as they are; the server must see the same user.
    pub async fn reauthenticate(&self, auth: &mut dyn Authenticator) -> Result<()> {
        let mut setup = SessionSetup::reauth(self.id);
        let mut token = auth.initial_token(&self.conn.negotiated.security_blob)?;
        loop {
            let resp = self
                .req(Command::SessionSetup, setup.request(&token)?)
                .await?;
            match setup.handle_response(&resp.sent, &resp.header, resp.bytes(), auth)? {
                Step::Continue(next) => token = next,
                Step::Reauthenticated => {
                    self.valid_until
                        .store(end_of(auth), std::sync::atomic::Ordering::SeqCst);
                    return Ok(());
                }
                Step::Established(_) => {
                    return Err(Error::Protocol(
                        "a re-authentication ended as a new session".into(),
                    ));
                }
            }
        }
    }

    /// When the credential of the session's last (re-)authentication ends, as its
    /// [`Authenticator`] said (Unix seconds; `None`: not said). Re-authenticate before then
    /// to keep the session.
    pub fn valid_until(&self) -> Option<i64> {
        Some(self.valid_until.load(std::sync::atomic::Ordering::SeqCst)).filter(|&t| t != i64::MAX)
    }

    /// The session id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The connection the session runs on.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A one-credit request of this session, outside any tree.
    async fn req(&self, command: Command, body: Vec<u8>) -> Result<Response> {
        self.conn.request(command, self.id, 0, body, 1).await
    }

    /// Connects to `\\server\share`. On SMB 3.0 and 3.0.2, where no preauth hash protects
    /// the negotiation, the first request on the tree is FSCTL_VALIDATE_NEGOTIATE_INFO,
    /// signed: a negotiation tampered with on the path fails here.
    pub async fn tree_connect(&self, server: &str, share: &str) -> Result<Tree> {
        let path = format!("\\\\{server}\\{share}");
        let resp = self
            .req(Command::TreeConnect, msg::tree_connect_request(&path)?)
            .await?;
        resp.ok("TREE_CONNECT")?;
        let (_, flags, _) = msg::tree_connect_response(resp.bytes())?;
        if flags & share_flags::ENCRYPT_DATA != 0 && !self.encrypted {
            return Err(Error::Unsupported(format!(
                "share {share} requires encryption, which this session does not use"
            )));
        }
        let tree_id = resp.header.tree_id();
        let negotiation = self.conn.negotiation();
        if negotiation.needs_validation() {
            let validated = async {
                let r = self
                    .conn
                    .request(
                        Command::Ioctl,
                        self.id,
                        tree_id,
                        negotiation.validate_request()?,
                        1,
                    )
                    .await?;
                r.ok("IOCTL (VALIDATE_NEGOTIATE_INFO)")?;
                negotiation.check_validation(r.bytes())
            }
            .await;
            // MS-SMB2 3.2.5.14.12: a negotiation the server does not confirm ends the
            // connection.
            if let Err(e) = validated {
                let why = format!(
                    "the server did not confirm the {} negotiation (VALIDATE_NEGOTIATE_INFO:                      {e}): it may have been downgraded on the path",
                    negotiation.response.dialect
                );
                self.conn.fail(&why);
                return Err(Error::Protocol(why));
            }
        }
        let caps = msg::tree_connect_capabilities(resp.bytes())?;
        Ok(Tree::new(
            self.clone(),
            tree_id,
            share.to_string(),
            caps & msg::SHARE_CAP_CONTINUOUS_AVAILABILITY != 0,
        ))
    }

    /// Ends the session; nothing more is sent or accepted in it.
    pub async fn logoff(&self) -> Result<()> {
        let r = self.req(Command::Logoff, msg::small_request()).await;
        self.conn.remove_session(self.id);
        r?.ok("LOGOFF")
    }
}
