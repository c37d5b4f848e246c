//! [`Connections`]: the SMB connections and sessions that the shares of a process use, held
//! once: one connection per server (address and settings), one session per client (and its
//! principal) on it, a tree per opened share. A service acting for many users holds a connection per server,
//! not one per user and share; a second share on a server costs one TREE_CONNECT.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use azkrb_smb3::{Connection, Session};

/// The connections shared by every [`crate::AzureFiles`] built with the same `Connections`
/// (see [`crate::Builder::connections`] and [`crate::AzureFiles::for_user`]), and each
/// client's sessions on them (a session is never shared between clients: each proves its
/// own credentials); each `AzureFiles` has its own otherwise. Cloning is cheap (the same
/// pool).
///
/// ```no_run
/// # async fn demo() -> Result<(), azkrb::Error> {
/// use azkrb::{AzureFiles, Tgt};
/// let files = AzureFiles::builder().build()?;
/// // Another user's shares on the same servers go over the same connections.
/// let bob = files.for_user(Tgt::Ccache(Some("FILE:/run/user/1001/krb5cc".into())));
/// let a = files.open("//acct.file.core.windows.net/data").await?;
/// let b = bob.open("//acct.file.core.windows.net/data").await?;
/// assert_eq!(a.connection().client_guid(), b.connection().client_guid());
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Connections {
    slots: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.slots.lock().map_or(0, |s| s.len());
        f.debug_struct("Connections").field("servers", &n).finish()
    }
}

/// One server's connection, its sessions by principal, and how many open shares use each.
#[derive(Default)]
pub(crate) struct Slot {
    pub(crate) conn: Option<Connection>,
    /// Sessions by client and principal (see `AzureFiles::session_key`).
    pub(crate) sessions: HashMap<String, Session>,
    users: HashMap<String, usize>,
    /// The ChannelSequence of the connection: one up each time it is replaced.
    pub(crate) channel_sequence: u16,
}

impl Slot {
    /// The connection, while it works.
    pub(crate) fn live(&self) -> Option<&Connection> {
        self.conn.as_ref().filter(|c| c.failure().is_none())
    }

    /// A share opened on session `key` of this connection.
    pub(crate) fn acquire(&mut self, key: &str) {
        *self.users.entry(key.to_string()).or_default() += 1;
    }

    /// A share of session `key` closed: whether it was the last of that session here (it
    /// may end), and whether it was the last of all (the connection may end).
    pub(crate) fn release(&mut self, key: &str) -> (bool, bool) {
        let last_of_principal = match self.users.get_mut(key) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            _ => {
                self.users.remove(key);
                self.sessions.remove(key);
                true
            }
        };
        let last = self.users.is_empty();
        if last {
            self.conn = None;
        }
        (last_of_principal, last)
    }
}

impl Connections {
    /// A new, empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// The slot of server `key` (made when first asked for).
    pub(crate) fn slot(&self, key: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(slots.entry(key.to_string()).or_default())
    }
}
