//! [`Share`]: an open share (connection, session, tree) that re-authenticates and
//! reconnects itself.
//!
//! An SMB session ends with its ticket (Entra: about 10 hours); the server then answers
//! STATUS_NETWORK_SESSION_EXPIRED. A connection drops (a failover, a load balancer's idle
//! timeout, a laptop changing networks, a keepalive that went unanswered). [`Share::run`]
//! turns the first into one re-authentication with a fresh ticket, the second into a
//! reconnect (backoff with jitter, NEGOTIATE with the same ClientGuid, SESSION_SETUP, TREE_CONNECT,
//! every durable open reclaimed), then tries the operation again, marked as a replay.
//! Either is coordinated across every task using the share: one at a time, none while
//! another request is on its way, and requests that failed before it do not start
//! another.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use azkrb_cloudtgt::backoff::Backoff;
use azkrb_smb3::{Connection, NtStatus, Session, Tree};

use crate::{AzureFiles, Error, KerberosAuth, UncPath};

impl Opened {
    /// The share no longer uses its session and connection (counted in the pool, which
    /// holds them for every share of the server).
    async fn release(&self) -> (bool, bool) {
        let slot = self.files.slot(&self.unc, &self.addr);
        let mut held = slot.lock().await;
        held.release(&self.files.session_key(&self.client))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // A share dropped without close: its use of the session and connection ends too.
        if self.released.swap(true, Ordering::SeqCst) {
            return;
        }
        crate::refresh::stop(&self.refresher);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let o = Opened {
                files: self.opened.files.clone(),
                live: self.opened.live.clone(),
                unc: self.opened.unc.clone(),
                addr: self.opened.addr.clone(),
                client: self.opened.client.clone(),
            };
            rt.spawn(async move {
                o.release().await;
            });
        }
    }
}

/// What [`AzureFiles::open_at`] put together.
pub(crate) struct Opened {
    pub(crate) files: AzureFiles,
    /// The tree (with its session and connection) in use now.
    pub(crate) live: Tree,
    pub(crate) unc: UncPath,
    /// Where the connection goes (`host:port`).
    pub(crate) addr: String,
    /// Whom the session authenticated (re-authentication must be the same principal).
    pub(crate) client: String,
}

/// An open share: the connection, the session and the tree, kept together with the client
/// that opened them, so that the share can re-authenticate and reconnect itself. Cloning
/// is cheap (every clone is the same share).
///
/// ```no_run
/// # async fn demo(files: azkrb::AzureFiles) -> Result<(), azkrb::Error> {
/// let share = files.open("//myaccount.file.core.windows.net/data").await?;
/// // Re-authenticates, or reconnects, and tries again when the session's ticket has run
/// // out or the connection dropped meanwhile.
/// let listing = share.run(|tree| async move { tree.list("reports").await }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Share {
    inner: Arc<Inner>,
}

struct Inner {
    opened: Opened,
    live: RwLock<Tree>,
    /// Every request through [`Share::run`] holds this for reading; re-authenticating and
    /// reconnecting hold it for writing and count a generation.
    gate: tokio::sync::RwLock<u64>,
    /// How long a reconnect keeps trying.
    reconnect_for: Duration,
    reconnects: AtomicU64,
    replayed: AtomicU64,
    /// When the last reconnect failed, and why (cleared by a successful one).
    failed: std::sync::Mutex<Option<(Instant, String)>>,
    /// Closed or disconnected: no longer a user of its session and connection.
    released: std::sync::atomic::AtomicBool,
    /// The task that re-authenticates the session before its ticket ends.
    refresher: std::sync::Mutex<Option<tokio::task::AbortHandle>>,
}

/// A hold on a share that does not keep it open (the refresher's).
pub(crate) struct WeakShare(std::sync::Weak<Inner>);

impl WeakShare {
    /// The share, while it is open somewhere.
    pub(crate) fn upgrade(&self) -> Option<Share> {
        self.0
            .upgrade()
            .map(|inner| Share { inner })
            .filter(|s| !s.inner.released.load(Ordering::SeqCst))
    }
}

/// What [`Share::refresh_session`] did.
pub(crate) enum Refreshed {
    /// Re-authenticated: the session lasts until then (Unix seconds).
    Until(i64),
    /// Another share of the session re-authenticated it meanwhile.
    Already,
    /// The freshest ticket to be had ends when the session does (with the TGT that makes
    /// it, which cannot be renewed): nothing gained.
    NoLonger,
}

/// What the share has lived through: reconnects, opens reclaimed and lost, operations
/// replayed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Reconnects done.
    pub reconnects: u64,
    /// Open files reclaimed with their durable handles.
    pub reclaimed: u64,
    /// Open files the server kept no durable state of, opened again by path.
    pub reopened: u64,
    /// Open files that could not be reclaimed.
    pub lost: u64,
    /// Operations sent again after a reconnect or a re-authentication.
    pub replayed: u64,
}

impl std::fmt::Debug for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let o = &self.inner.opened;
        f.debug_struct("Share")
            .field("unc", &o.unc)
            .field("client", &o.client)
            .field("tree", &self.tree())
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

/// What a failed operation calls for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mend {
    Reauthenticate,
    Reconnect,
}

/// A reconnect waits this long after its first failure, doubling up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// An operation is tried at most this many times across reconnects.
const TRIES: usize = 4;
/// After a reconnect failed, operations fail at once for this long (then one of them tries
/// again).
const FAIL_FAST: Duration = Duration::from_secs(5);

/// The connection answers an ECHO within a few seconds.
async fn answers(conn: &Connection) -> bool {
    let echo = conn.echo(conn.keepalive_session());
    matches!(
        tokio::time::timeout(Duration::from_secs(5), echo).await,
        Ok(Ok(()))
    )
}

impl Share {
    pub(crate) fn new(opened: Opened) -> Self {
        let share = Self {
            inner: Arc::new(Inner {
                live: RwLock::new(opened.live.clone()),
                reconnect_for: opened.files.reconnect_for(),
                opened,
                gate: tokio::sync::RwLock::new(0),
                reconnects: AtomicU64::new(0),
                replayed: AtomicU64::new(0),
                failed: std::sync::Mutex::new(None),
                released: std::sync::atomic::AtomicBool::new(false),
                refresher: std::sync::Mutex::new(None),
            }),
        };
        let task = crate::refresh::start(share.weak(), share.inner.opened.files.refresh_margin());
        *share
            .inner
            .refresher
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = task;
        share
    }

    /// A hold on the share that does not keep it open.
    pub(crate) fn weak(&self) -> WeakShare {
        WeakShare(Arc::downgrade(&self.inner))
    }

    /// The share's file operations (read, write, list, stat, …) on the connection in use
    /// now. Calls made on it directly fail once the session's ticket ends or the connection
    /// drops; [`run`](Self::run) them to have the share mend either.
    pub fn tree(&self) -> Tree {
        self.inner
            .live
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The authenticated session now (for opening further shares on the same server).
    pub fn session(&self) -> Session {
        self.tree().session().clone()
    }

    /// The connection now.
    pub fn connection(&self) -> Connection {
        self.tree().session().connection().clone()
    }

    /// What was negotiated: dialect, cipher, limits.
    pub fn negotiated(&self) -> Arc<azkrb_smb3::msg::NegotiateResponse> {
        Arc::clone(&self.connection().negotiated)
    }

    /// The UNC path opened (its `path` part is what [`AzureFiles::open`] was given).
    pub fn unc(&self) -> &UncPath {
        &self.inner.opened.unc
    }

    /// The principal the session authenticated as (`user@REALM`).
    pub fn principal(&self) -> &str {
        &self.inner.opened.client
    }

    /// The connection in use has failed (closed, reset, found dead by the keepalive): the
    /// next [`run`](Self::run) reconnects (or call [`reconnect`](Self::reconnect)).
    pub fn connection_lost(&self) -> bool {
        self.connection().failure().is_some()
    }

    /// Reconnects, reclaimed and lost opens, replayed operations so far.
    pub fn recovery(&self) -> Recovery {
        let c = self.tree().open_counts();
        Recovery {
            reconnects: self.inner.reconnects.load(Ordering::Relaxed),
            reclaimed: c.reclaimed,
            reopened: c.reopened,
            lost: c.lost,
            replayed: self.inner.replayed.load(Ordering::Relaxed),
        }
    }

    /// Runs an SMB operation on this share (`op` gets the tree in use). If the server says
    /// the session expired (its ticket ended), the share re-authenticates; if the
    /// connection dropped, it reconnects and reclaims its open files (see
    /// [`reconnect`](Self::reconnect)); either once, however many operations saw it, and
    /// then runs the operation again, marked as a replay. An operation refused as expired
    /// did not take effect; one cut off by a drop may have (a rename or a delete then
    /// finds its work done, and says so).
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: Fn(Tree) -> Fut,
        Fut: Future<Output = Result<T, azkrb_smb3::Error>>,
    {
        // Every try's CREATEs carry the first try's CreateGuids (a replayed CREATE is then
        // the same open to a server that made it before the drop).
        azkrb_smb3::conn::operation(self.run_tries(op)).await
    }

    async fn run_tries<T, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: Fn(Tree) -> Fut,
        Fut: Future<Output = Result<T, azkrb_smb3::Error>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            let (result, seen, tree) = {
                let generation = self.inner.gate.read().await;
                let tree = self.tree();
                let r = if tries == 1 {
                    op(tree.clone()).await
                } else {
                    self.inner.replayed.fetch_add(1, Ordering::Relaxed);
                    azkrb_smb3::conn::replaying(op(tree.clone())).await
                };
                (r, *generation, tree)
            };
            let conn = tree.session().connection().clone();
            let mend = match &result {
                Ok(_) => return Ok(result?),
                _ if expired(&result) => Mend::Reauthenticate,
                // Closed, reset, silent past the keepalive, or a protocol violation: the
                // connection is over (an old one, too, once a reconnect replaced it).
                Err(_) if conn.failure().is_some() => Mend::Reconnect,
                // No answer in time: a connection that does not answer an ECHO either is
                // dead (the keepalive might not have said so yet).
                Err(azkrb_smb3::Error::Timeout { .. }) if !answers(&conn).await => {
                    conn.close_socket("no answer to a request, nor to an ECHO")
                        .await;
                    Mend::Reconnect
                }
                Err(_) => return Ok(result?),
            };
            if tries >= TRIES {
                return Ok(result?);
            }
            let mut generation = self.inner.gate.write().await;
            if *generation == seen {
                if mend == Mend::Reconnect
                    && let Some(e) = self.failed_lately()
                {
                    // Those queued behind a reconnect that just failed fail with it, not
                    // with a reconnect of their own each.
                    return Err(e);
                }
                match mend {
                    Mend::Reauthenticate => {
                        tracing::info!(
                            "the SMB session on //{}/{} expired: re-authenticating",
                            self.unc().host,
                            self.unc().share
                        );
                        self.reauthenticate_now().await?;
                    }
                    Mend::Reconnect => {
                        if let Err(e) = self.reconnect_now(&tree).await {
                            *self.inner.failed.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some((Instant::now(), e.to_string()));
                            return Err(e);
                        }
                    }
                }
                *generation += 1;
            }
        }
    }

    /// Reconnects now (whether or not the connection still works): a new connection with
    /// the same ClientGuid, a session with a valid ticket (cached, or fetched again with
    /// the TGT read again from its source), TREE_CONNECT, and every durable open file
    /// reclaimed (SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2); those that cannot be are marked
    /// lost and fail with [`azkrb_smb3::Error::HandleLost`]. Attempts back off with jitter
    /// up to the builder's reconnect time, then fail with the last error.
    pub async fn reconnect(&self) -> Result<(), Error> {
        let mut generation = self.inner.gate.write().await;
        let tree = self.tree();
        self.reconnect_now(&tree).await?;
        *generation += 1;
        Ok(())
    }

    /// Reconnects if the connection in use has failed, as [`reconnect`](Self::reconnect)
    /// does; one that works (another task has mended it meanwhile) is kept. For tasks that
    /// saw their connection fail outside [`run`](Self::run): however many ask, the share
    /// reconnects once.
    pub async fn mend(&self) -> Result<(), Error> {
        let mut generation = self.inner.gate.write().await;
        let tree = self.tree();
        if tree.session().connection().failure().is_none() {
            return Ok(());
        }
        self.reconnect_now(&tree).await?;
        *generation += 1;
        Ok(())
    }

    async fn reconnect_now(&self, old: &Tree) -> Result<(), Error> {
        let o = &self.inner.opened;
        self.still_open()?;
        let why = old
            .session()
            .connection()
            .failure()
            .unwrap_or_else(|| "asked to".into());
        tracing::warn!("//{}/{}: reconnecting ({why})", o.unc.host, o.unc.share);
        // The old connection stops here: nothing more goes out on it, and its socket is
        // closed (a server whose end still stands keeps the opens busy).
        old.session()
            .connection()
            .close_socket("replaced by a reconnect")
            .await;
        let started = Instant::now();
        let guid = Some(old.session().connection().client_guid());
        let mut backoff = Backoff::new(BACKOFF_FIRST, BACKOFF_MAX);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let tried = o
                .files
                .connect(&o.unc, &o.addr, guid, Some(&o.client))
                .await;
            match tried {
                Ok((mut tree, _)) => {
                    let done = match tree.reclaim(old).await {
                        Ok(done) => done,
                        // The new connection failed too: another attempt.
                        Err(e) => {
                            self.back_off(started, attempts, &mut backoff, e.into())
                                .await?;
                            continue;
                        }
                    };
                    *self.inner.live.write().unwrap_or_else(|p| p.into_inner()) = tree;
                    *self.inner.failed.lock().unwrap_or_else(|p| p.into_inner()) = None;
                    self.inner.reconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        "//{}/{}: reconnected after {attempts} attempt(s) in {} ms; open \
                         files: {} reclaimed, {} reopened, {} lost",
                        o.unc.host,
                        o.unc.share,
                        started.elapsed().as_millis(),
                        done.reclaimed,
                        done.reopened,
                        done.lost.len()
                    );
                    return Ok(());
                }
                // A KDC out of reach in the same outage may come back; a refused ticket
                // or a setting does not mend by waiting.
                Err(Error::Kerberos(ref k))
                    if matches!(
                        k,
                        azkrb_cloudtgt::Error::Unreachable { .. }
                            | azkrb_cloudtgt::Error::Timeout { .. }
                            | azkrb_cloudtgt::Error::NoKdcAnswered { .. }
                            | azkrb_cloudtgt::Error::Http {
                                status: 500..=599,
                                ..
                            }
                    ) =>
                {
                    let Err(e) = tried else { continue };
                    self.back_off(started, attempts, &mut backoff, e).await?;
                }
                Err(e @ (Error::Kerberos(_) | Error::Usage(_))) => return Err(e),
                Err(e) => self.back_off(started, attempts, &mut backoff, e).await?,
            }
        }
    }

    /// After a failed reconnect attempt: the error naming every attempt once the reconnect
    /// time has passed, else a wait (doubling, with jitter).
    async fn back_off(
        &self,
        started: Instant,
        attempts: u32,
        backoff: &mut Backoff,
        e: Error,
    ) -> Result<(), Error> {
        let o = &self.inner.opened;
        let waited = started.elapsed();
        if waited >= self.inner.reconnect_for {
            return Err(Error::Reconnect {
                target: format!("//{}/{} at {}", o.unc.host, o.unc.share, o.addr),
                attempts,
                seconds: waited.as_secs(),
                last: Box::new(e),
            });
        }
        tracing::info!(attempt = attempts, error = %e, "reconnect failed");
        backoff.wait().await;
        Ok(())
    }

    /// The error of a reconnect that failed less than [`FAIL_FAST`] ago.
    fn failed_lately(&self) -> Option<Error> {
        let failed = self.inner.failed.lock().unwrap_or_else(|p| p.into_inner());
        let (at, why) = failed.as_ref()?;
        (at.elapsed() < FAIL_FAST).then(|| {
            let o = &self.inner.opened;
            Error::Reconnect {
                target: format!("//{}/{} at {}", o.unc.host, o.unc.share, o.addr),
                attempts: 0,
                seconds: at.elapsed().as_secs(),
                last: Box::new(Error::Usage(format!("the last reconnect failed: {why}"))),
            }
        })
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
        self.still_open()?;
        // The session may serve other shares: one re-authentication of it at a time.
        let slot = o.files.slot(&o.unc, &o.addr);
        let _one = slot.lock().await;
        let tgt = self.own_source().await?;
        let ticket = o.files.ticket_with(&tgt, &o.unc.host).await?;
        let mut auth = KerberosAuth::new(ticket)?;
        Ok(self.session().reauthenticate(&mut auth).await?)
    }

    /// What the share's tickets come from now, if it is still the principal the share was
    /// opened as.
    async fn own_source(&self) -> Result<crate::client::Source, Error> {
        let o = &self.inner.opened;
        let tgt = o.files.source_for_host(&o.unc.host).await?;
        if tgt.principal() != o.client {
            // Not kept: the next try reads the source again (the right principal may log in).
            o.files.forget_tgt();
            return Err(Error::Usage(format!(
                "the credential cache now holds {}'s TGT, but //{}/{} was opened as {}: log \
                 in as {} to keep it",
                tgt.principal(),
                o.unc.host,
                o.unc.share,
                o.client,
                o.client
            )));
        }
        Ok(tgt)
    }

    /// Re-authenticates the session, which ends at `ends` (Unix seconds), with a ticket
    /// that outlives it, while requests go on: the refresher's work (see
    /// [`Builder::refresh_margin`](crate::Builder::refresh_margin)). One at a time per
    /// session, and not again when another share of it has done it meanwhile.
    pub(crate) async fn refresh_session(&self, ends: i64) -> Result<Refreshed, Error> {
        let o = &self.inner.opened;
        self.still_open()?;
        if self.session().valid_until().is_some_and(|e| e > ends) {
            return Ok(Refreshed::Already);
        }
        // The ticket first (a TGS exchange, or SMB OAuth's token and exchange), with no
        // lock held: opens and closes of the server's shares go on meanwhile.
        let source = self.own_source().await?;
        let source = o.files.source_outliving(&o.unc.host, source, ends).await?;
        let ticket = o
            .files
            .ticket_outliving(&source, &o.unc.host, Some(ends))
            .await?;
        let new_end = ticket.endtime.unix();
        if new_end <= ends {
            return Ok(Refreshed::NoLonger);
        }
        // One re-authentication of the session at a time.
        let slot = o.files.slot(&o.unc, &o.addr);
        let _one = slot.lock().await;
        let session = self.session();
        if session.valid_until().is_some_and(|e| e > ends) {
            return Ok(Refreshed::Already);
        }
        let mut auth = KerberosAuth::new(ticket)?;
        session.reauthenticate(&mut auth).await?;
        Ok(Refreshed::Until(session.valid_until().unwrap_or(new_end)))
    }

    /// Ends the share without a round trip: closes the connection, and the server ends the
    /// tree and the session with it (as it does for any client that goes away). For a
    /// process done with the share: files must be closed first (an open durable handle
    /// would be kept by the server for a reconnect that never comes, until it times out).
    /// Other clones of the share fail from then on. [`close`](Self::close) says goodbye.
    pub async fn disconnect(&self) {
        // No reconnect or re-authentication is under way, and none starts after.
        let _gate = self.inner.gate.write().await;
        let (last_of_principal, last) = self.release().await;
        if last {
            self.connection()
                .close_socket("the share was disconnected")
                .await;
            return;
        }
        // Other shares use the connection: this tree (and the session, if no other share
        // of this principal uses it) ends on it.
        let live = self.tree();
        let _ = live.disconnect().await;
        if last_of_principal {
            let _ = live.session().logoff().await;
        }
    }

    /// Disconnects the tree and logs the session off (two round trips) unless another share
    /// of the same principal uses the session. Other clones of the share fail from then on.
    pub async fn close(&self) -> Result<(), Error> {
        let _gate = self.inner.gate.write().await;
        let (last_of_principal, _) = self.release().await;
        let live = self.tree();
        let tree = live.disconnect().await;
        let session = if last_of_principal {
            live.session().logoff().await
        } else {
            Ok(())
        };
        // A session whose ticket ended is over anyway (LOGOFF is allowed; the rest is not).
        if !expired(&tree) {
            tree?;
        }
        session?;
        Ok(())
    }

    /// This share no longer uses its session and connection: whether it was the last of its
    /// principal on them, and whether the last of all.
    async fn release(&self) -> (bool, bool) {
        if self.inner.released.swap(true, Ordering::SeqCst) {
            return (false, false);
        }
        crate::refresh::stop(&self.inner.refresher);
        self.inner.opened.release().await
    }

    /// An error once the share is closed (it neither reconnects nor re-authenticates).
    fn still_open(&self) -> Result<(), Error> {
        if self.inner.released.load(Ordering::SeqCst) {
            let o = &self.inner.opened;
            return Err(Error::Usage(format!(
                "//{}/{} was closed",
                o.unc.host, o.unc.share
            )));
        }
        Ok(())
    }
}
