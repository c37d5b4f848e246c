//! The credit and MessageId window, and the table of outstanding requests: what each one
//! may be answered by.

use std::collections::HashMap;

use crate::msg::Command;

/// The protection a response must carry to be accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// None: NEGOTIATE, the first authentication's SESSION_SETUP legs (before keys exist),
    /// and requests outside any session.
    None,
    /// Signed with the session's signing key (or encrypted under the session).
    Signed,
    /// Encrypted under the session.
    Encrypted,
}

/// What may answer one outstanding request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The request's command: the response must carry the same.
    pub command: Command,
    /// The request's SessionId; 0 on the first SESSION_SETUP leg, which learns its id from
    /// the response.
    pub session_id: u64,
    /// The request's TreeId, for commands that act in a tree.
    pub tree_id: Option<u32>,
    /// The protection the response must carry.
    pub required: Required,
    /// The AsyncId an interim response gave it.
    pub async_id: Option<u64>,
    /// Given up by its caller (timed out): its answer is still checked, and its credits
    /// taken, but nobody is told.
    pub abandoned: bool,
}

impl Command {
    /// True for commands that act within a tree, whose responses carry its TreeId.
    pub(crate) fn in_tree(self) -> bool {
        !matches!(
            self,
            Command::Negotiate
                | Command::SessionSetup
                | Command::Logoff
                | Command::TreeConnect
                | Command::Echo
                | Command::Cancel
        )
    }
}

/// Credits, MessageIds and the outstanding requests of one connection.
#[derive(Debug)]
pub(crate) struct Window {
    credits: u32,
    next_id: u64,
    outstanding: HashMap<u64, Expect>,
    abandoned: usize,
}

impl Window {
    /// More credits than this are never held (a hostile grant cannot grow the count
    /// without bound).
    pub(crate) const MAX_CREDITS: u32 = 8192;
    /// Requests given up on but not yet answered; past this the peer is not answering.
    pub(crate) const MAX_ABANDONED: usize = 1024;

    pub(crate) fn new() -> Self {
        Self {
            credits: 1,
            next_id: 0,
            outstanding: HashMap::new(),
            abandoned: 0,
        }
    }

    pub(crate) fn credits(&self) -> u32 {
        self.credits
    }

    /// Takes the credits for messages of these charges and gives each its first
    /// MessageId, or None (nothing taken) while the credits are not there.
    pub(crate) fn reserve(&mut self, charges: &[u16]) -> Option<Vec<u64>> {
        let total: u32 = charges.iter().map(|c| u32::from((*c).max(1))).sum();
        if total > self.credits {
            return None;
        }
        self.credits -= total;
        let mut ids = Vec::with_capacity(charges.len());
        for c in charges {
            ids.push(self.next_id);
            self.next_id = self.next_id.saturating_add(u64::from((*c).max(1)));
        }
        Some(ids)
    }

    /// Credits granted by an accepted response.
    pub(crate) fn grant(&mut self, n: u16) {
        self.credits = self
            .credits
            .saturating_add(u32::from(n))
            .min(Self::MAX_CREDITS);
    }

    pub(crate) fn record(&mut self, id: u64, e: Expect) {
        self.outstanding.insert(id, e);
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Expect> {
        self.outstanding.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut Expect> {
        self.outstanding.get_mut(&id)
    }

    /// Removes an answered request.
    pub(crate) fn take(&mut self, id: u64) -> Option<Expect> {
        let e = self.outstanding.remove(&id)?;
        if e.abandoned {
            self.abandoned -= 1;
        }
        Some(e)
    }

    /// Marks a request given up by its caller; false once too many are.
    pub(crate) fn abandon(&mut self, id: u64) -> bool {
        if let Some(e) = self.outstanding.get_mut(&id)
            && !e.abandoned
        {
            e.abandoned = true;
            self.abandoned += 1;
        }
        self.abandoned <= Self::MAX_ABANDONED
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.outstanding.is_empty()
    }
}
