//! [`Share`]: an open share (connection, session, tree) that re-authenticates itself.
//!
//! An SMB session ends with its ticket (Entra: about 10 hours); the server then answers
//! STATUS_NETWORK_SESSION_EXPIRED. [`Share::run`] turns that into one re-authentication with
//! a fresh ticket and one more try, coordinated across every task using the share: one
//! re-authentication at a time, none while another request is on its way (a server
//! re-authenticating a session refuses other requests on it), and requests that failed
//! before it do not start another.

use std::future::Future;
use std::sync::Arc;

use azkrb_smb3::{Connection, NtStatus, Session, Tree};

use crate::{AzureFiles, Error, KerberosAuth, UncPath};

/// What [`AzureFiles::open_at`] put together.
pub(crate) struct Opened {
    pub(crate) files: AzureFiles,
    pub(crate) conn: Connection,
    pub(crate) session: Session,
    pub(crate) tree: Tree,
    pub(crate) unc: UncPath,
    /// Whom the session authenticated (re-authentication must be the same principal).
    pub(crate) client: String,
}

/// An open share: the connection, the session and the tree, kept together with the client
/// that opened them, so that the share can re-authenticate itself. Cloning is cheap (every
/// clone is the same share).
///
/// ```no_run
/// # async fn demo(files: azkrb::AzureFiles) -> Result<(), azkrb::Error> {
/// let share = files.open("//myaccount.file.core.windows.net/data").await?;
/// // Re-authenticates and tries again if the session's ticket has run out meanwhile.
/// let tree = share.tree();
/// let listing = share.run(|| tree.list("reports")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Share {
    inner: Arc<Inner>,
}

struct Inner {
    opened: Opened,
    /// Every request through [`Share::run`] holds this for reading; re-authenticating holds
    /// it for writing and counts a generation.
    gate: tokio::sync::RwLock<u64>,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let o = &self.inner.opened;
        f.debug_struct("Share")
            .field("unc", &o.unc)
            .field("client", &o.client)
            .field("session", &o.session)
            .field("tree", &o.tree)
            .finish_non_exhaustive()
    }
}

fn expired<T>(r: &Result<T, azkrb_smb3::Error>) -> bool {
    matches!(
        r,
        Err(azkrb_smb3::Error::Status {
            status: NtStatus::NETWORK_SESSION_EXPIRED,
            ..
        })
    )
}

impl Share {
    pub(crate) fn new(opened: Opened) -> Self {
        Self {
            inner: Arc::new(Inner {
                opened,
                gate: tokio::sync::RwLock::new(0),
            }),
        }
    }

    /// The share's file operations (read, write, list, stat, …). Calls made on it directly
    /// fail with STATUS_NETWORK_SESSION_EXPIRED once the session's ticket ends; wrap them in
    /// [`run`](Self::run) to have the share re-authenticate.
    pub fn tree(&self) -> &Tree {
        &self.inner.opened.tree
    }

    /// The authenticated session (for opening further shares on the same server).
    pub fn session(&self) -> &Session {
        &self.inner.opened.session
    }

    /// What was negotiated: dialect, cipher, limits.
    pub fn negotiated(&self) -> &azkrb_smb3::msg::NegotiateResponse {
        &self.inner.opened.conn.negotiated
    }

    /// The UNC path opened (its `path` part is what [`AzureFiles::open`] was given).
    pub fn unc(&self) -> &UncPath {
        &self.inner.opened.unc
    }

    /// The principal the session authenticated as (`user@REALM`).
    pub fn principal(&self) -> &str {
        &self.inner.opened.client
    }

    /// Runs an SMB operation on this share. If the server says the session expired (its
    /// ticket ended), the share re-authenticates (once, however many operations saw it) and
    /// runs the operation once more. An operation refused as expired did not take effect, so
    /// running it again is safe.
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, azkrb_smb3::Error>>,
    {
        let (result, seen) = {
            let generation = self.inner.gate.read().await;
            (op().await, *generation)
        };
        if !expired(&result) {
            return Ok(result?);
        }
        {
            let mut generation = self.inner.gate.write().await;
            if *generation == seen {
                tracing::info!(
                    "the SMB session on //{}/{} expired: re-authenticating",
                    self.unc().host,
                    self.unc().share
                );
                self.reauthenticate_now().await?;
                *generation += 1;
            }
        }
        let _generation = self.inner.gate.read().await;
        Ok(op().await?)
    }

    /// Re-authenticates the session with a fresh `cifs/<host>` ticket, before the old one
    /// ends or after the server answered STATUS_NETWORK_SESSION_EXPIRED; open handles and
    /// the tree stay valid. It waits for operations under [`run`](Self::run) to finish, and
    /// they wait for it. A TGT from a credential cache that has expired is read again from
    /// the cache (after `mount-share login`, say); a cache that now holds another
    /// principal's TGT is refused before anything reaches the server (which would drop the
    /// session and its open files).
    pub async fn reauthenticate(&self) -> Result<(), Error> {
        let mut generation = self.inner.gate.write().await;
        self.reauthenticate_now().await?;
        *generation += 1;
        Ok(())
    }

    async fn reauthenticate_now(&self) -> Result<(), Error> {
        let o = &self.inner.opened;
        let tgt = o.files.tgt().await?;
        if tgt.client.to_string() != o.client {
            // Not kept: the next try reads the source again (the right principal may log in).
            o.files.forget_tgt();
            return Err(Error::Usage(format!(
                "the credential cache now holds {}'s TGT, but //{}/{} was opened as {}: log \
                 in as {} to keep it",
                tgt.client, o.unc.host, o.unc.share, o.client, o.client
            )));
        }
        let ticket = o.files.cifs_ticket(&o.unc.host).await?;
        let mut auth = KerberosAuth::new(ticket)?;
        Ok(o.session.reauthenticate(&mut auth).await?)
    }

    /// Disconnects the tree and logs the session off. Other clones of the share fail from
    /// then on.
    pub async fn close(&self) -> Result<(), Error> {
        let o = &self.inner.opened;
        let tree = o.tree.disconnect().await;
        let session = o.session.logoff().await;
        // A session whose ticket ended is over anyway (LOGOFF is allowed; the rest is not).
        if !expired(&tree) {
            tree?;
        }
        session?;
        Ok(())
    }
}
