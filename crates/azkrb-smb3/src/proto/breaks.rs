//! Lease breaks: the one message a server sends unasked (MessageId 0xFFFFFFFFFFFFFFFF,
//! OPLOCK_BREAK). The core admits it only protected like the connection's sessions, knows
//! the leases its opens hold (and in which session and tree), and says what to acknowledge.

use super::{Core, Request};
use crate::error::{Error, Result};
use crate::msg::{self, BreakNotice, Command, Header, flags};

/// The MessageId of an unsolicited message.
pub(super) const UNSOLICITED: u64 = u64::MAX;

/// A lease break to acknowledge: send `body` as `request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreakAck {
    /// The session and tree of the open that holds the lease.
    pub request: (u64, u32),
    /// The LEASE_BREAK_ACK body.
    pub body: Vec<u8>,
}

impl BreakAck {
    /// The request to send the acknowledgment as.
    pub fn request(&self) -> Request {
        Request::new(Command::OplockBreak, self.request.0, self.request.1)
    }
}

impl Core {
    /// An open in `session`/`tree` holds lease `key` (its breaks are acknowledged there).
    pub fn hold_lease(&mut self, key: [u8; 16], session_id: u64, tree_id: u32) {
        self.leases.insert(key, (session_id, tree_id));
    }

    /// The open holding lease `key` is closed (a later break of it needs no answer).
    pub fn release_lease(&mut self, key: &[u8; 16]) {
        self.leases.remove(key);
    }

    /// Checks an unsolicited message and decides its acknowledgment. A lease break names
    /// no session (SessionId 0) and servers send it unsigned and unencrypted even on an
    /// encrypted connection (Samba does; it has no session to protect it with), so it is
    /// admitted as it comes: forged, it can only make the client give up caching and answer
    /// with an acknowledgment the server refuses. A message that names a session (an oplock
    /// break) must be protected like that session.
    pub(super) fn notification(
        &mut self,
        h: &Header,
        msg: &[u8],
        encrypted_by: Option<u64>,
    ) -> Result<(BreakNotice, Option<BreakAck>)> {
        if h.command != Command::OplockBreak as u16
            || h.flags & flags::SERVER_TO_REDIR == 0
            || h.flags & flags::ASYNC != 0
        {
            return Err(Error::Protocol(format!(
                "an unsolicited message (MessageId {UNSOLICITED:#x}) that is no break \
                 notification (command {})",
                h.command
            )));
        }
        if h.session_id != 0 {
            let s = self.sessions.get(&h.session_id).ok_or_else(|| {
                Error::Protocol(format!(
                    "a break notification for session {:#x}, which is not on this connection",
                    h.session_id
                ))
            })?;
            match encrypted_by {
                Some(by) if by == h.session_id => {}
                Some(by) => {
                    return Err(Error::Protocol(format!(
                        "a break notification for session {:#x} encrypted for {by:#x}",
                        h.session_id
                    )));
                }
                None if s.encrypts() => {
                    return Err(Error::Protocol(
                        "an unencrypted break notification of an encrypted session".into(),
                    ));
                }
                None => s.verify(msg).map_err(|_| {
                    Error::Protocol("a break notification with a bad signature".into())
                })?,
            }
        }
        let notice = msg::break_notice(msg)?;
        if h.session_id == 0 && encrypted_by.is_none() && !matches!(notice, BreakNotice::Lease(_)) {
            return Err(Error::Protocol(
                "an unprotected oplock break that names no session".into(),
            ));
        }
        let ack = match notice {
            BreakNotice::Lease(b) if b.ack_required => {
                self.leases.get(&b.key).map(|&(session, tree)| BreakAck {
                    request: (session, tree),
                    body: msg::lease_break_ack(b.key, b.new),
                })
            }
            // Nothing to answer; the key stays its open's until it closes (a forged break
            // could otherwise leave a real one unanswered).
            BreakNotice::Lease(_) => None,
            // azkrb asks for no oplocks; a server that grants one anyway gets no answer.
            BreakNotice::Oplock { .. } => None,
        };
        Ok((notice, ack))
    }
}
