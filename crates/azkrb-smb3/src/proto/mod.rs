//! The runtime-free protocol core of one SMB connection: frames in, frames out, time as an
//! argument (no tokio, no sockets; [`crate::conn`] is the thin driver around it).
//!
//! [`Core`] owns the credit and MessageId window, the sessions' keys and the table of
//! outstanding requests. Every request records what may answer it (MessageId, command,
//! SessionId, TreeId, the protection required); a response is delivered only if all of it
//! matches, SERVER_TO_REDIR is set, and an encrypted frame's inner SessionIds equal its
//! TRANSFORM_HEADER's. In a signed or encrypted session nothing unprotected is accepted
//! (interim responses of a signed session excepted, as the protocol allows). Anything else
//! is a protocol violation: the core fails, and with it the connection.
//!
//! ```
//! use std::time::Instant;
//! use azkrb_smb3::msg::Command;
//! use azkrb_smb3::proto::{Core, Outgoing, Request, Start};
//!
//! let mut core = Core::new([7; 4], Instant::now());
//! let mut out = Outgoing::message(&azkrb_smb3::msg::small_request());
//! let req = [Request::new(Command::Echo, 0, 0)];
//! let Start::Ready(ticket) = core.start(&req, &out).unwrap() else { unreachable!() };
//! let (ids, wire_start) = ticket.seal(&mut out).unwrap();
//! assert_eq!(ids, vec![0]);
//! // `out.as_bytes()[wire_start..]` goes to the server. A forged answer fails the connection:
//! let mut forged = out.as_bytes()[wire_start..].to_vec();
//! forged[16] = 1; // SERVER_TO_REDIR, but the command differs:
//! forged[12] = 8;
//! assert!(core.handle_frame(&mut forged, Instant::now()).is_err());
//! assert!(core.failed().is_some());
//! ```

mod breaks;
mod compound;
mod negotiate;
mod protect;
mod setup;
#[cfg(test)]
mod tests;
mod window;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use breaks::BreakAck;
pub use compound::{MAX_FRAME, Outgoing};
pub use negotiate::{FSCTL_VALIDATE_NEGOTIATE_INFO, Negotiated, Negotiation};
pub use protect::SessionProtection;
pub use setup::{SessionSetup, Step};
pub use window::{Expect, Required};

use crate::crypto::{self, TRANSFORM_ID};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::msg::{Command, HEADER_LEN, Header, flags};
use crate::status::NtStatus;
use protect::Nonces;
use window::Window;

/// One message of a request (or of a compound) to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// The SMB2 command of the request.
    pub command: Command,
    /// The session it belongs to (0: none, or the first SESSION_SETUP leg).
    pub session_id: u64,
    /// The tree it acts in (0: none).
    pub tree_id: u32,
    /// Its credit charge (at least 1; see [`Core::charge_for`]).
    pub charge: u16,
    /// It is sent again after a reconnect (SMB2_FLAGS_REPLAY_OPERATION, SMB 3.x): the
    /// server must not apply it twice.
    pub replay: bool,
}

impl Request {
    /// A one-credit request.
    pub fn new(command: Command, session_id: u64, tree_id: u32) -> Self {
        Self {
            command,
            session_id,
            tree_id,
            charge: 1,
            replay: false,
        }
    }
}

/// What [`Core::start`] decided.
#[derive(Debug)]
pub enum Start {
    /// Credits and MessageIds are taken: seal and send it.
    Ready(Ticket),
    /// This many credits are needed and fewer are held: wait for responses, then retry.
    NeedCredits(u32),
}

/// A request with its credits and MessageIds taken, to be sealed with [`Ticket::seal`].
#[derive(Debug)]
pub struct Ticket {
    headers: Vec<Header>,
    protection: Option<Arc<SessionProtection>>,
    nonce: Option<[u8; 16]>,
    session_id: u64,
}

impl Ticket {
    /// The MessageIds taken, one per message.
    pub fn message_ids(&self) -> Vec<u64> {
        self.headers.iter().map(|h| h.message_id).collect()
    }

    /// Writes the headers of the started request into `out` and signs or encrypts it. Needs
    /// no state of the core (a driver runs it outside its lock: a large message takes
    /// time); returns the MessageIds and where the wire bytes start in `out.buf`.
    pub fn seal(self, out: &mut Outgoing) -> Result<(Vec<u64>, usize)> {
        out.write_headers(&self.headers)?;
        let spans = out.spans();
        let at = protect::seal(
            self.protection.as_deref(),
            self.session_id,
            self.nonce,
            &mut out.buf,
            &spans,
        )?;
        Ok((self.message_ids(), at))
    }
}

/// What a received frame brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The final response to the request with this MessageId: `range` of the frame.
    Response {
        /// Its header.
        header: Header,
        /// Where the message lies in the (decrypted) frame.
        range: Range<usize>,
        /// True if it arrived encrypted.
        encrypted: bool,
    },
    /// An interim (STATUS_PENDING) response: the request goes on, with this AsyncId.
    Interim {
        /// The request's MessageId.
        message_id: u64,
        /// The AsyncId, for CANCEL.
        async_id: u64,
    },
    /// The server breaks a lease (or an oplock): acknowledge with `ack` when there is one.
    Break {
        /// What is broken.
        notice: crate::msg::BreakNotice,
        /// The LEASE_BREAK_ACK to send, when the server waits for one.
        ack: Option<BreakAck>,
    },
}

/// What the keepalive wants done now (see [`Core::poll_keepalive`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keepalive {
    /// Nothing to do yet.
    Idle,
    /// The peer has been silent for a while: send an ECHO.
    SendEcho,
    /// No answer to the ECHO in time: the peer is dead (the core has failed).
    Dead(String),
}

/// The protocol state of one connection.
#[derive(Debug)]
pub struct Core {
    window: Window,
    sessions: HashMap<u64, Arc<SessionProtection>>,
    nonces: Nonces,
    large_mtu: bool,
    dialect: Option<Dialect>,
    failed: Option<Failure>,
    last_heard: Instant,
    echo_since: Option<Instant>,
    keepalive_every: Duration,
    dead_after: Duration,
    /// The leases held by opens on this connection: key → (session, tree).
    leases: HashMap<[u8; 16], (u64, u32)>,
    /// The ChannelSequence every request carries (SMB 3.x): raised on each reconnect, so a
    /// server refuses what a lost connection still delivers after the replay.
    channel_sequence: u16,
}

impl Core {
    /// A new connection's core; `nonce_prefix` comes from the system's random generator.
    pub fn new(nonce_prefix: [u8; 4], now: Instant) -> Self {
        Self {
            window: Window::new(),
            sessions: HashMap::new(),
            nonces: Nonces::new(nonce_prefix),
            large_mtu: false,
            dialect: None,
            failed: None,
            last_heard: now,
            echo_since: None,
            keepalive_every: Duration::from_secs(30),
            dead_after: Duration::from_secs(30),
            leases: HashMap::new(),
            channel_sequence: 0,
        }
    }

    /// After `every` without a word from the server an ECHO is sent; with no answer
    /// `dead_after` later the connection is declared dead.
    pub fn set_keepalive(&mut self, every: Duration, dead_after: Duration) {
        self.keepalive_every = every;
        self.dead_after = dead_after;
    }

    /// The ChannelSequence requests carry from now on (a reconnected connection's: the
    /// number of reconnects, modulo 2^16).
    pub fn set_channel_sequence(&mut self, sequence: u16) {
        self.channel_sequence = sequence;
    }

    /// Why the connection failed, once it has.
    pub fn failed(&self) -> Option<&str> {
        self.failed.as_ref().map(|f| f.reason.as_str())
    }

    /// The error every later request of a failed connection gets: a protocol violation
    /// for what the peer sent, an I/O error for the transport (None while it is open).
    pub fn failure(&self, target: &str) -> Option<Error> {
        let f = self.failed.as_ref()?;
        Some(if f.violation {
            Error::Protocol(f.reason.clone())
        } else {
            Error::Io {
                target: target.to_string(),
                detail: f.reason.clone(),
            }
        })
    }

    /// Fails the connection for a transport reason (the first reason stays).
    pub fn fail(&mut self, reason: &str) {
        if self.failed.is_none() {
            self.failed = Some(Failure {
                reason: reason.to_string(),
                violation: false,
            });
        }
    }

    /// Fails the connection for a protocol violation `e` (a frame that failed its
    /// decryption outside the core, say); returns it as the error to report.
    pub fn refuse(&mut self, e: Error) -> Error {
        let what = match e {
            Error::Protocol(m) => m,
            e => e.to_string(),
        };
        self.violation(what)
    }

    fn check_open(&self) -> Result<()> {
        match self.failure("the server") {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Credits held now.
    pub fn credits(&self) -> u32 {
        self.window.credits()
    }

    /// Records what NEGOTIATE settled.
    pub fn negotiated(&mut self, n: &Negotiated) {
        self.large_mtu = n.response.capabilities & crate::msg::caps::LARGE_MTU != 0;
        self.dialect = Some(n.response.dialect);
    }

    /// Installs an established session's keys. A SessionId already in use is refused: a
    /// server may not move a new authentication onto another session's keys.
    pub fn add_session(&mut self, id: u64, p: SessionProtection) -> Result<()> {
        if id == 0 || self.sessions.contains_key(&id) {
            return Err(self.violation(format!(
                "a new session with SessionId {id:#x}, which is not free"
            )));
        }
        self.sessions.insert(id, Arc::new(p));
        Ok(())
    }

    /// Forgets a session that has logged off: nothing more is sent or accepted in it.
    pub fn remove_session(&mut self, id: u64) {
        self.sessions.remove(&id);
    }

    /// Bytes arrived from the server (part of a frame): it is alive.
    pub fn heard(&mut self, now: Instant) {
        self.last_heard = self.last_heard.max(now);
        self.echo_since = None;
    }

    /// True if session `id` encrypts its messages.
    pub fn encrypts(&self, id: u64) -> bool {
        self.sessions.get(&id).is_some_and(|s| s.encrypts())
    }

    /// The credit charge of a request or response of `bytes` bytes (MS-SMB2 §3.1.5.2).
    pub fn charge_for(&self, bytes: usize) -> u16 {
        if self.large_mtu && bytes > 0 {
            u16::try_from((bytes - 1) / 65536 + 1).unwrap_or(u16::MAX)
        } else {
            1
        }
    }

    /// The protection a request of `session_id` gets, and its answer must carry.
    fn protection(
        &self,
        command: Command,
        session_id: u64,
    ) -> Result<(Option<Arc<SessionProtection>>, Required)> {
        if session_id == 0 {
            return Ok((None, Required::None));
        }
        match self.sessions.get(&session_id) {
            Some(s) if s.encrypts() => Ok((Some(Arc::clone(s)), Required::Encrypted)),
            Some(s) => Ok((Some(Arc::clone(s)), Required::Signed)),
            // The legs of a first authentication, before the session has keys.
            None if command == Command::SessionSetup => Ok((None, Required::None)),
            None => Err(Error::InvalidArgument(format!(
                "no session {session_id:#x} on this connection"
            ))),
        }
    }

    /// Takes credits and MessageIds for `requests` (one message, or a compound in one
    /// session and tree) held in `out`, and records what may answer each. Every check of the
    /// message's shape comes first: a MessageId is never taken for a message that cannot
    /// be sent (an unsent one would stall the server's window).
    pub fn start(&mut self, requests: &[Request], out: &Outgoing) -> Result<Start> {
        self.check_open()?;
        let first = requests
            .first()
            .ok_or_else(|| Error::InvalidArgument("no request".into()))?;
        if out.count() != requests.len() {
            return Err(Error::InvalidArgument(
                "a message buffer for another number of requests".into(),
            ));
        }
        if requests
            .iter()
            .any(|r| r.session_id != first.session_id || r.tree_id != first.tree_id)
        {
            return Err(Error::InvalidArgument(
                "a compound spans one session and tree".into(),
            ));
        }
        let (protection, required) = self.protection(first.command, first.session_id)?;
        let encrypted = protection.as_ref().is_some_and(|p| p.encrypts());
        let wire_len = out.wire_len(encrypted);
        if wire_len > MAX_FRAME {
            return Err(Error::InvalidArgument(format!(
                "a {wire_len}-byte message does not fit in a frame"
            )));
        }
        let charges: Vec<u16> = requests.iter().map(|r| r.charge.max(1)).collect();
        let Some(ids) = self.window.reserve(&charges) else {
            let need: u32 = charges.iter().map(|c| u32::from(*c)).sum();
            if self.window.is_idle() {
                // Nothing outstanding can bring more: waiting would only time out.
                return Err(Error::Protocol(format!(
                    "a request needs {need} credits, the server granted {} and no answer \
                     that could grant more is due",
                    self.window.credits()
                )));
            }
            return Ok(Start::NeedCredits(need));
        };
        let nonce = match protection.as_ref().and_then(|p| p.cipher.as_ref()) {
            Some((enc, _)) => Some(self.nonces.next(enc)?),
            None => None,
        };
        let smb202 = self.dialect == Some(Dialect::Smb202);
        let mut headers = Vec::with_capacity(requests.len());
        for (i, (r, id)) in requests.iter().zip(ids).enumerate() {
            let mut h = Header::request(r.command, r.session_id, r.tree_id);
            h.message_id = id;
            h.credit_charge = if smb202 { 0 } else { r.charge.max(1) };
            h.credits = 256;
            if i > 0 {
                h.flags |= flags::RELATED;
            }
            if self.dialect.is_some_and(Dialect::is_smb3) {
                // ChannelSequence, then Reserved: the request's Status field.
                h.status = NtStatus(u32::from(self.channel_sequence));
                if r.replay {
                    h.flags |= flags::REPLAY_OPERATION;
                }
            }
            self.window.record(
                id,
                Expect {
                    command: r.command,
                    session_id: r.session_id,
                    tree_id: r.command.in_tree().then_some(r.tree_id),
                    required,
                    async_id: None,
                    abandoned: false,
                },
            );
            headers.push(h);
        }
        Ok(Start::Ready(Ticket {
            headers,
            protection,
            nonce,
            session_id: first.session_id,
        }))
    }

    /// A CANCEL for the outstanding request `message_id` (with the AsyncId its interim
    /// response gave, if one came): no credit, no MessageId of its own, no answer; signed
    /// or encrypted like its session. Returns the wire bytes.
    pub fn cancel(&mut self, message_id: u64) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        let Some(e) = self.window.get(message_id).cloned() else {
            return Ok(None);
        };
        let (protection, _) = self.protection(e.command, e.session_id)?;
        let mut h = Header::request(Command::Cancel, e.session_id, 0);
        h.message_id = message_id;
        h.credit_charge = 0;
        h.credits = 0;
        if let Some(a) = e.async_id {
            h.flags |= flags::ASYNC;
            h.async_or_tree = a;
        }
        let mut out = Outgoing::message(&crate::msg::small_request());
        out.write_headers(&[h])?;
        let nonce = match protection.as_ref().and_then(|p| p.cipher.as_ref()) {
            Some((enc, _)) => Some(self.nonces.next(enc)?),
            None => None,
        };
        let spans = out.spans();
        let at = protect::seal(
            protection.as_deref(),
            e.session_id,
            nonce,
            &mut out.buf,
            &spans,
        )?;
        Ok(Some(out.buf.split_off(at)))
    }

    /// The caller gave up on `message_id` (it timed out): its answer, when it comes, is
    /// still checked and its credits taken, but delivered to nobody. Too many requests
    /// given up on fail the connection.
    pub fn abandon(&mut self, message_id: u64) -> Result<()> {
        if self.window.abandon(message_id) {
            Ok(())
        } else {
            Err(self.violation(format!(
                "more than {} requests went unanswered",
                Window::MAX_ABANDONED
            )))
        }
    }

    fn violation(&mut self, what: String) -> Error {
        if self.failed.is_none() {
            self.failed = Some(Failure {
                reason: what.clone(),
                violation: true,
            });
        }
        Error::Protocol(what)
    }

    /// The keys a received frame must be decrypted with (None: a plaintext frame).
    pub fn frame_key(&mut self, frame: &[u8]) -> Result<Option<Arc<SessionProtection>>> {
        self.check_open()?;
        if !frame.starts_with(&TRANSFORM_ID) {
            return Ok(None);
        }
        let th = crypto::parse_transform(frame).map_err(|e| self.refuse(e))?;
        match self.sessions.get(&th.session_id) {
            Some(s) if s.encrypts() => Ok(Some(Arc::clone(s))),
            _ => Err(self.violation(format!(
                "an encrypted message for session {:#x}, which does not encrypt here",
                th.session_id
            ))),
        }
    }

    /// Decrypts, splits and binds a received frame (the three steps a driver may run apart:
    /// [`Core::frame_key`], [`open_frame`], [`Core::accept`]). Any failure fails the core.
    pub fn handle_frame(&mut self, frame: &mut [u8], now: Instant) -> Result<Vec<Event>> {
        let key = self.frame_key(frame)?;
        let by = match key {
            Some(k) => Some(open_frame(&k, frame).map_err(|e| self.refuse(e))?),
            None => None,
        };
        self.accept(frame, by, now)
    }

    /// Binds every message of a received frame to the request it answers
    /// (`encrypted_by`: the SessionId of the TRANSFORM_HEADER it was decrypted under).
    pub fn accept(
        &mut self,
        frame: &[u8],
        encrypted_by: Option<u64>,
        now: Instant,
    ) -> Result<Vec<Event>> {
        self.check_open()?;
        match self.accept_inner(frame, encrypted_by) {
            Ok(events) => {
                // An unprotected break notification proves nothing (anyone on the path can
                // send one): it does not keep a dead connection looking alive.
                let proven = encrypted_by.is_some()
                    || events.iter().any(|e| !matches!(e, Event::Break { .. }));
                if proven {
                    self.last_heard = now;
                    self.echo_since = None;
                }
                Ok(events)
            }
            Err(e) => Err(self.refuse(e)),
        }
    }

    fn accept_inner(&mut self, frame: &[u8], encrypted_by: Option<u64>) -> Result<Vec<Event>> {
        let start = if encrypted_by.is_some() {
            crypto::TRANSFORM_LEN
        } else {
            0
        };
        let parts = compound::split(frame, start)?;
        let mut events = Vec::with_capacity(parts.len());
        for (h, range) in parts {
            let msg = frame.get(range.clone()).unwrap_or_default();
            if h.message_id == breaks::UNSOLICITED {
                let (notice, ack) = self.notification(&h, msg, encrypted_by)?;
                events.push(Event::Break { notice, ack });
                continue;
            }
            if let Some(e) = self.bind(&h, msg, encrypted_by)? {
                events.push(match e {
                    Bound::Final => Event::Response {
                        header: h,
                        range,
                        encrypted: encrypted_by.is_some(),
                    },
                    Bound::Interim(async_id) => Event::Interim {
                        message_id: h.message_id,
                        async_id,
                    },
                });
            }
        }
        if self.window.credits() == 0 && self.window.is_idle() {
            return Err(Error::Protocol(
                "the server left the client without credits: no request could follow".into(),
            ));
        }
        Ok(events)
    }

    /// Checks one message against the request it answers; None for the answer of a
    /// request given up on.
    fn bind(&mut self, h: &Header, msg: &[u8], encrypted_by: Option<u64>) -> Result<Option<Bound>> {
        let id = h.message_id;
        let name = Command::from_u16(h.command).map_or("an unknown command", Command::name);
        let e = self.window.get(id).cloned().ok_or_else(|| {
            Error::Protocol(format!(
                "a {name} response to MessageId {id}, which no request awaits (forged, \
                 replayed or misrouted)"
            ))
        })?;
        if h.flags & flags::SERVER_TO_REDIR == 0 {
            return Err(Error::Protocol(format!(
                "MessageId {id}: a message without SERVER_TO_REDIR where a response was due"
            )));
        }
        if h.command != e.command as u16 {
            return Err(Error::Protocol(format!(
                "MessageId {id}: a {name} response to a {} request",
                e.command.name()
            )));
        }
        if let Some(by) = encrypted_by
            && h.session_id != by
        {
            return Err(Error::Protocol(format!(
                "MessageId {id}: SessionId {:#x} inside a message encrypted for {by:#x}",
                h.session_id
            )));
        }
        let first_leg = e.command == Command::SessionSetup && e.session_id == 0;
        if first_leg && (encrypted_by.is_some() || self.sessions.contains_key(&h.session_id)) {
            return Err(Error::Protocol(format!(
                "MessageId {id}: a first SESSION_SETUP answer for session {:#x}, which is in \
                 use",
                h.session_id
            )));
        }
        if h.session_id != e.session_id && !first_leg {
            return Err(Error::Protocol(format!(
                "MessageId {id}: a response for session {:#x} to a request of session {:#x}",
                h.session_id, e.session_id
            )));
        }
        let is_async = h.flags & flags::ASYNC != 0;
        if let Some(tree) = e.tree_id
            && !is_async
            && h.tree_id() != tree
        {
            return Err(Error::Protocol(format!(
                "MessageId {id}: a response for tree {:#x} to a request in tree {tree:#x}",
                h.tree_id()
            )));
        }
        let interim = is_async && h.status == NtStatus::PENDING;
        if interim && e.async_id.is_some() {
            return Err(Error::Protocol(format!(
                "MessageId {id}: a second interim response"
            )));
        }
        // Errors servers send unprotected when they cannot protect them (the session is gone
        // or expired, or the message could not be decrypted): an error to the one request,
        // its body never read. A path attacker could send them too, as it could drop frames.
        let unprotected_error = encrypted_by.is_none()
            && h.flags & flags::SIGNED == 0
            && !interim
            && matches!(
                h.status,
                NtStatus::USER_SESSION_DELETED
                    | NtStatus::NETWORK_SESSION_EXPIRED
                    | NtStatus::INVALID_PARAMETER
            );
        match e.required {
            Required::None => {}
            _ if unprotected_error => {}
            Required::Encrypted => {
                if encrypted_by != Some(e.session_id) {
                    return Err(Error::Protocol(format!(
                        "MessageId {id}: an unprotected {name} response ({}) in an encrypted \
                         session",
                        h.status
                    )));
                }
            }
            Required::Signed if encrypted_by.is_some() => {}
            Required::Signed => {
                let signed = h.flags & flags::SIGNED != 0;
                if signed {
                    let key = self.sessions.get(&e.session_id).ok_or_else(|| {
                        Error::Protocol(format!("MessageId {id}: its session is gone"))
                    })?;
                    key.verify(msg).map_err(|_| {
                        Error::Protocol(format!(
                            "MessageId {id}: a {name} response with a bad signature"
                        ))
                    })?;
                } else if !interim {
                    return Err(Error::Protocol(format!(
                        "MessageId {id}: an unprotected {name} response ({}) in a signed \
                         session",
                        h.status
                    )));
                }
            }
        }
        if is_async
            && let Some(a) = e.async_id
            && h.async_or_tree != a
        {
            return Err(Error::Protocol(format!(
                "MessageId {id}: AsyncId {:#x}, where the interim response gave {a:#x}",
                h.async_or_tree
            )));
        }
        self.window.grant(h.credits);
        if interim {
            if let Some(x) = self.window.get_mut(id) {
                x.async_id = Some(h.async_or_tree);
            }
            return Ok((!e.abandoned).then_some(Bound::Interim(h.async_or_tree)));
        }
        if msg.len() < HEADER_LEN + 2 {
            return Err(Error::Malformed(format!(
                "MessageId {id}: a {}-byte response",
                msg.len()
            )));
        }
        self.window.take(id);
        Ok((!e.abandoned).then_some(Bound::Final))
    }

    /// What the keepalive wants at `now`: an ECHO after `every` of silence, and the peer
    /// declared dead (the core failed) when the ECHO has gone unanswered `dead_after`.
    pub fn poll_keepalive(&mut self, now: Instant) -> Keepalive {
        if self.failed.is_some() {
            return Keepalive::Idle;
        }
        if let Some(since) = self.echo_since {
            if now.saturating_duration_since(since) >= self.dead_after {
                let why = format!(
                    "the server has not answered for {} s (no reply to ECHO): the connection \
                     is dead",
                    now.saturating_duration_since(self.last_heard).as_secs()
                );
                self.fail(&why);
                return Keepalive::Dead(why);
            }
            return Keepalive::Idle;
        }
        if now.saturating_duration_since(self.last_heard) >= self.keepalive_every {
            self.echo_since = Some(now);
            return Keepalive::SendEcho;
        }
        Keepalive::Idle
    }

    /// When [`Core::poll_keepalive`] next has something to do.
    pub fn keepalive_deadline(&self) -> Instant {
        match self.echo_since {
            Some(since) => since + self.dead_after,
            None => self.last_heard + self.keepalive_every,
        }
    }

    /// The session an ECHO for the keepalive goes in (protected like it), or 0.
    pub fn keepalive_session(&self) -> u64 {
        self.sessions.keys().copied().max().unwrap_or(0)
    }
}

/// Why a connection failed.
#[derive(Debug)]
struct Failure {
    reason: String,
    /// The peer broke the protocol (not the transport).
    violation: bool,
}

enum Bound {
    Final,
    Interim(u64),
}

/// Decrypts a TRANSFORM_HEADER frame in place with the keys [`Core::frame_key`] named
/// (no core state needed: a driver runs it outside its lock). Returns the SessionId.
pub fn open_frame(p: &SessionProtection, frame: &mut [u8]) -> Result<u64> {
    p.open(frame)
}
