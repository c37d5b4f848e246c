//! Opens that outlive their connection. Every file a [`Tree`] opens durable is asked to be
//! so (SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2, persistent on a continuously available share)
//! under a read and handle lease, with its on-disk identity (QFid), and recorded in a table
//! the trees of later connections share. A [`Handle`] keeps the FileId it was first given
//! and a key of its own; the table maps the key to the FileId of the open now (a reclaimed
//! open gets a new one), or says it was lost.
//!
//! [`Tree::reclaim`] reclaims every open of the table on a new tree (after a reconnect)
//! with SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2. Where the server kept no state (the
//! process that held it died: Samba keeps durable opens across a dropped connection, not
//! across a killed smbd), the file is opened again by its path, never created or
//! truncated, and kept only if its on-disk identity is the one recorded: another file
//! saved under that name meanwhile is not written into. What cannot be had either way is
//! marked lost, so its next use fails with [`Error::HandleLost`] and every other open
//! carries on. An open whose CLOSE the drop cut off is reclaimed and closed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::msg::{self, Command, CreateContexts, Durable, FileId, Lease, lease};
use crate::open::{Disposition, Kind, OpenOptions};
use crate::tree::{Handle, Tree, create_body_with, smb_path};

/// The durable timeout asked for: long enough for the keepalive to find a dead peer and
/// the reconnect to succeed (servers cap it; Samba at 300 s).
const DURABLE_TIMEOUT_MS: u32 = 180_000;

/// Keys of opens, unique in the process (a handle of one share is never taken for an open
/// of another).
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// One open as the table knows it.
#[derive(Debug, Clone)]
struct Open {
    path: String,
    options: OpenOptions,
    create_guid: [u8; 16],
    lease: Option<Lease>,
    durable: bool,
    persistent: bool,
    /// The file's on-disk identity (QFid), when the server gave it.
    disk_id: Option<[u8; 32]>,
    /// The FileId it was opened with (the handle's).
    first: FileId,
    /// The FileId on the current connection.
    now: FileId,
    /// Why it could not be reclaimed.
    lost: Option<String>,
    /// Its CLOSE was cut off by a drop: reclaimed only to be closed.
    closing: bool,
    /// Its holder closes it when its lease loses HANDLE (see [`Tree::close_on_break`]).
    close_on_break: bool,
}

/// The opens of a share, across its connections (shared by the trees of one share).
#[derive(Debug)]
pub(crate) struct Opens {
    /// By [`Handle`]'s key (never a FileId: a server may reuse one on a new connection).
    table: Mutex<HashMap<u64, Open>>,
    reclaimed: AtomicU64,
    reopened: AtomicU64,
    lost: AtomicU64,
    /// The leases of these opens that the server broke (see [`Tree::lease_breaks`]).
    breaks: tokio::sync::broadcast::Sender<LeaseBroken>,
    /// Breaks of leases asked for whose open is not recorded yet (the break can come right
    /// behind the CREATE response): applied when it is.
    early: Mutex<HashMap<[u8; 16], u32>>,
    /// Woken when an open is forgotten (closed).
    closed: tokio::sync::Notify,
}

impl Default for Opens {
    fn default() -> Self {
        Self {
            table: Mutex::default(),
            reclaimed: AtomicU64::default(),
            reopened: AtomicU64::default(),
            lost: AtomicU64::default(),
            breaks: tokio::sync::broadcast::channel(BREAKS_KEPT).0,
            early: Mutex::default(),
            closed: tokio::sync::Notify::new(),
        }
    }
}

/// Lease breaks kept for a listener that is behind; one further behind is told it missed
/// some ([`tokio::sync::broadcast::error::RecvError::Lagged`]).
const BREAKS_KEPT: usize = 1024;

/// A lease of an open of this share was broken: what the client may still cache of the
/// file ([`lease`] bits; what is gone must be read from the server again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseBroken {
    /// The lease's key (see [`Tree::lease`]).
    pub key: [u8; 16],
    /// The state left.
    pub state: u32,
}

/// A reclaimed or reopened open: its FileId, lease, and (reopened) new CreateGuid and
/// durability.
type Reopened = (FileId, Option<Lease>, Option<([u8; 16], bool)>);

/// What [`Tree::reclaim`] did.
#[derive(Debug, Default)]
pub struct Reclaimed {
    /// Opens reclaimed with their durable handle.
    pub reclaimed: usize,
    /// Opens the server kept no state of, opened again by path (the same file).
    pub reopened: usize,
    /// Opens lost: their path and why.
    pub lost: Vec<(String, String)>,
}

/// Counts across a share's life.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OpenCounts {
    /// Opens held now.
    pub open: usize,
    /// Opens reclaimed after reconnects.
    pub reclaimed: u64,
    /// Opens reopened by path after reconnects (the server kept no durable state).
    pub reopened: u64,
    /// Opens lost at reconnects.
    pub lost: u64,
}

impl Opens {
    fn table(&self) -> MutexGuard<'_, HashMap<u64, Open>> {
        // A panic elsewhere while holding it leaves the map consistent (single inserts and
        // removes): keep using it.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The server broke lease `key` to `state`: the opens under it keep only what both the
    /// lease held and the break leaves (a break never grants more, whatever it says), and
    /// the share's listeners are told.
    pub(crate) fn broken(&self, key: [u8; 16], state: u32) {
        let mut left = None;
        for o in self.table().values_mut() {
            if let Some(l) = o.lease.as_mut().filter(|l| l.key == key) {
                l.state &= state;
                left = Some(l.state);
            }
        }
        if left.is_none() {
            // Asked for (the connection knew the key) and not recorded yet.
            let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
            if early.len() >= BREAKS_KEPT {
                early.clear();
            }
            *early.entry(key).or_insert(u32::MAX) &= state;
        }
        // Nobody listening is no error.
        let _ = self.breaks.send(LeaseBroken {
            key,
            state: left.unwrap_or(state),
        });
    }

    /// What a break that came before the open under `key` was recorded left of its lease.
    fn early_break(&self, key: &[u8; 16]) -> Option<u32> {
        let mut early = self.early.lock().unwrap_or_else(|p| p.into_inner());
        early.remove(key)
    }

    /// The acknowledgment of a break of `key` to `state` is to wait for the opens under it
    /// to be closed: one of them is closed by its holder when HANDLE goes.
    pub(crate) fn closes_on_break(&self, key: [u8; 16], state: u32) -> bool {
        state & lease::HANDLE == 0
            && self
                .table()
                .values()
                .any(|o| o.close_on_break && o.lease.is_some_and(|l| l.key == key))
    }

    /// Waits up to `limit` for every open under lease `key` to be closed; whether they are.
    pub(crate) async fn all_closed(&self, key: [u8; 16], limit: std::time::Duration) -> bool {
        let until = tokio::time::Instant::now() + limit;
        loop {
            let closed = self.closed.notified();
            let open = self
                .table()
                .values()
                .any(|o| o.lease.is_some_and(|l| l.key == key));
            if !open {
                return true;
            }
            if tokio::time::timeout_at(until, closed).await.is_err() {
                return false;
            }
        }
    }
}

fn random16() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Protocol(format!("system random generator: {e}")))?;
    Ok(b)
}

/// The CreateGuid a CREATE with `ctx` asked durability under (none: zero).
fn create_guid(ctx: &CreateContexts) -> [u8; 16] {
    match ctx.durable {
        Some(Durable::Request { create_guid, .. }) => create_guid,
        _ => [0; 16],
    }
}

/// `path` with its prefix `from` replaced by `to` (the path itself, or one under it).
fn renamed(path: &str, from: &str, to: &str) -> Option<String> {
    let (p, f) = (smb_path(path), smb_path(from));
    if p.eq_ignore_ascii_case(&f) {
        return Some(to.to_string());
    }
    let rest = p
        .get(..f.len())
        .filter(|head| head.eq_ignore_ascii_case(&f))
        .and_then(|_| p.get(f.len()..))
        .filter(|r| r.starts_with('\\'))?;
    Some(format!("{}{}", smb_path(to), rest))
}

impl Tree {
    /// The FileId to send for `h` now; an error if its open was lost at a reconnect, was
    /// closed, or is not of this share.
    pub(crate) fn file_id(&self, h: Handle) -> Result<FileId> {
        if h.key == 0 {
            return if h.conn == self.conn().id() {
                Ok(h.id)
            } else {
                Err(Error::HandleLost {
                    path: format!("FileId {:02x?}", &h.id.0[..8]),
                    reason: "opened without a durable handle, on a connection that is gone".into(),
                })
            };
        }
        match self.opens().table().get(&h.key) {
            Some(o) if o.first == h.id && !o.closing => match &o.lost {
                None => Ok(o.now),
                Some(why) => Err(Error::HandleLost {
                    path: o.path.clone(),
                    reason: why.clone(),
                }),
            },
            // Closed already, or another share's: its FileId may name another open here.
            _ => Err(Error::InvalidArgument(format!(
                "a handle closed already, or of another share (FileId {:02x?})",
                &h.id.0[..8]
            ))),
        }
    }

    /// The contexts of a new open: durable, leased and identified for files opened durable
    /// (see the module docs).
    pub(crate) fn open_contexts(&self, options: &OpenOptions) -> Result<CreateContexts> {
        // The same on every try of one operation (see `conn::operation`).
        self.contexts_with(options, crate::replay::create_ids)
    }

    /// [`open_contexts`](Self::open_contexts) with ids from `ids` (given fresh ones).
    fn contexts_with(
        &self,
        options: &OpenOptions,
        ids: impl FnOnce(([u8; 16], [u8; 16])) -> ([u8; 16], [u8; 16]),
    ) -> Result<CreateContexts> {
        if !options.durable || options.kind == Kind::Directory {
            return Ok(CreateContexts::default());
        }
        let (create_guid, lease_key) = ids((random16()?, random16()?));
        Ok(CreateContexts {
            lease: Some(Lease::new(lease_key, lease::READ | lease::HANDLE)),
            durable: Some(Durable::Request {
                create_guid,
                timeout_ms: DURABLE_TIMEOUT_MS,
                persistent: self.continuously_available(),
            }),
            query_id: true,
        })
    }

    /// Records an open made with `ctx` and answered with `c`; its key.
    pub(crate) fn record_open(
        &self,
        path: &str,
        options: OpenOptions,
        ctx: &CreateContexts,
        c: &msg::CreateResponse,
    ) -> u64 {
        let lease = self.hold_granted_lease(ctx, c);
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        self.opens().table().insert(
            key,
            Open {
                path: path.to_string(),
                options,
                create_guid: create_guid(ctx),
                lease,
                durable: c.granted.durable(),
                persistent: c.granted.persistent,
                disk_id: c.granted.disk_id,
                first: c.file_id,
                now: c.file_id,
                lost: None,
                closing: false,
                close_on_break: false,
            },
        );
        key
    }

    /// Forgets a closed open.
    pub(crate) fn forget_open(&self, h: Handle) {
        let gone = self.opens().table().remove(&h.key);
        if let Some(l) = gone.and_then(|o| o.lease) {
            self.conn().release_lease(&l.key);
        }
        self.opens().closed.notify_waiters();
    }

    /// `h`'s holder closes it when its lease loses HANDLE (a file kept open only to cache
    /// it): the acknowledgment of such a break then waits for the close (a second at most),
    /// so that a server that checks sharing again after the acknowledgment finds the open
    /// gone and lets another client's delete or rename through.
    pub fn close_on_break(&self, h: Handle) {
        if let Some(o) = self.opens().table().get_mut(&h.key) {
            o.close_on_break = true;
        }
    }

    /// Before a CREATE with `ctx` is sent: its lease's breaks are expected (one can come
    /// right behind the response).
    pub(crate) fn expect_lease(&self, ctx: &CreateContexts) {
        if let Some(l) = ctx.lease {
            self.conn()
                .hold_lease(l.key, self.session().id(), self.id(), self.opens_weak());
        }
    }

    /// A CREATE with `ctx` failed: its lease is not held.
    pub(crate) fn unexpect_lease(&self, ctx: &CreateContexts) {
        if let Some(l) = ctx.lease {
            self.conn().release_lease(&l.key);
            self.opens().early_break(&l.key);
        }
    }

    /// A CLOSE of `h` is on its way: if the connection drops meanwhile, the next reclaim
    /// closes it on the new one.
    pub(crate) fn closing_open(&self, h: Handle) {
        if let Some(o) = self.opens().table().get_mut(&h.key) {
            o.closing = true;
        }
    }

    /// Open files under `from` are now under `to` (a rename): a reopen after a reconnect
    /// looks for them there.
    pub(crate) fn renamed_opens(&self, from: &str, to: &str) {
        for o in self.opens().table().values_mut() {
            if let Some(p) = renamed(&o.path, from, to) {
                o.path = p;
            }
        }
    }

    /// Opens held, reclaimed and lost so far (across reconnects).
    pub fn open_counts(&self) -> OpenCounts {
        let o = self.opens();
        OpenCounts {
            open: o.table().len(),
            reclaimed: o.reclaimed.load(Ordering::Relaxed),
            reopened: o.reopened.load(Ordering::Relaxed),
            lost: o.lost.load(Ordering::Relaxed),
        }
    }

    /// The lease `h`'s open holds now (its key and state, after any breaks), if it holds
    /// one: while it holds [`lease::READ`], no other client can change the file, so what
    /// was read of it and its attributes stay true; with [`lease::HANDLE`], no other
    /// client can delete or rename it without the server asking first.
    pub fn lease(&self, h: Handle) -> Option<Lease> {
        let table = self.opens().table();
        table
            .get(&h.key)
            .filter(|o| o.first == h.id && o.lost.is_none() && !o.closing)
            .and_then(|o| o.lease)
    }

    /// The lease breaks of this share's opens from now on, across reconnects. A listener
    /// that falls more than a thousand behind is told it missed some (then every lease may
    /// have been broken).
    pub fn lease_breaks(&self) -> tokio::sync::broadcast::Receiver<LeaseBroken> {
        self.opens().breaks.subscribe()
    }

    /// The handle was opened durable (it can be reclaimed after a reconnect).
    pub fn is_durable(&self, h: Handle) -> bool {
        self.opens().table().get(&h.key).is_some_and(|o| o.durable)
    }

    /// Takes over the opens of `old` (the tree of a lost connection to the same share) and
    /// reclaims each on this tree: with SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2, else by
    /// path when the file is provably the same; the others are marked lost. Handles of
    /// `old` keep working through this tree. If this connection fails too, it stops with
    /// the error and marks nothing: the next connection tries again.
    pub async fn reclaim(&mut self, old: &Tree) -> Result<Reclaimed> {
        self.share_opens(old);
        let opens: Vec<(u64, Open)> = self
            .opens()
            .table()
            .iter()
            .filter(|(_, o)| o.lost.is_none())
            .map(|(k, o)| (*k, o.clone()))
            .collect();
        let mut done = Reclaimed::default();
        for (key, o) in opens {
            let mut outcome = if o.durable {
                self.reopen(&o).await
            } else {
                Err(Error::Unsupported(
                    "the server did not make the open durable".into(),
                ))
            };
            if outcome.is_err() && !o.closing && self.conn().failure().is_none() {
                // The server kept no state to reclaim (the process holding it died, as a
                // killed Samba child's does, or the open was not durable): open the same
                // file again by its path, as the kernel's CIFS client does.
                outcome = self.open_again(&o).await;
            }
            if let Some(why) = self.conn().failure() {
                // This connection is gone too: nothing is decided on it.
                return Err(Error::Io {
                    target: self.conn().target().to_string(),
                    detail: format!("while reclaiming open files: {why}"),
                });
            }
            if o.closing {
                // Reclaimed only to be closed (or gone with its state: closed anyway).
                if let Ok((now, _, _)) = outcome {
                    let _ = self.send_close(now).await;
                }
                self.forget_open(Handle::keyed(key, o.first));
                continue;
            }
            let mut table = self.opens().table();
            let Some(entry) = table.get_mut(&key) else {
                continue;
            };
            match outcome {
                Ok((now, lease, again)) => {
                    entry.now = now;
                    self.lease_replaced(entry.lease, lease);
                    entry.lease = lease;
                    if let Some((guid, durable)) = again {
                        // A reopened file is a new open: its own CreateGuid.
                        entry.create_guid = guid;
                        entry.durable = durable;
                        done.reopened += 1;
                        self.opens().reopened.fetch_add(1, Ordering::Relaxed);
                    } else {
                        done.reclaimed += 1;
                        self.opens().reclaimed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    self.lease_replaced(entry.lease, None);
                    let why = format!("not reclaimed after a reconnect: {e}");
                    tracing::warn!(path = %o.path, "{why}");
                    entry.lost = Some(why.clone());
                    done.lost.push((o.path.clone(), why));
                    self.opens().lost.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(done)
    }

    /// A reconnect gave an open lease `now` where it held `was`: its listeners hear of
    /// what was lost of `was` (all of it under another key, or with none).
    fn lease_replaced(&self, was: Option<Lease>, now: Option<Lease>) {
        let Some(was) = was else { return };
        let state = now.filter(|n| n.key == was.key).map_or(0, |n| n.state) & was.state;
        if state != was.state {
            let _ = self.opens().breaks.send(LeaseBroken {
                key: was.key,
                state,
            });
        }
    }

    /// The lease a CREATE with `ctx` was granted, held for its breaks: only under the key
    /// asked for (a lease under another is not ours to keep).
    fn hold_granted_lease(&self, ctx: &CreateContexts, c: &msg::CreateResponse) -> Option<Lease> {
        let mut lease = c
            .granted
            .lease
            .filter(|l| ctx.lease.is_some_and(|asked| asked.key == l.key));
        match lease.as_mut() {
            Some(l) => {
                self.conn()
                    .hold_lease(l.key, self.session().id(), self.id(), self.opens_weak());
                // A break that came first (see `expect_lease`).
                if let Some(left) = self.opens().early_break(&l.key) {
                    l.state &= left;
                }
            }
            None => self.unexpect_lease(ctx),
        }
        lease
    }

    /// CREATE of `o`'s file with `ctx`; the response and the lease held.
    async fn create_again(
        &self,
        o: &Open,
        ctx: &CreateContexts,
        what: &'static str,
    ) -> Result<(msg::CreateResponse, Option<Lease>)> {
        let options = o.options.disposition(Disposition::Open);
        let body = create_body_with(&o.path, &options, ctx)?;
        self.expect_lease(ctx);
        let c = async {
            let resp = self
                .conn()
                .request(Command::Create, self.session().id(), self.id(), body, 1)
                .await?;
            resp.ok(what)?;
            msg::create_response(resp.bytes())
        }
        .await
        .inspect_err(|_| self.unexpect_lease(ctx))?;
        let lease = self.hold_granted_lease(ctx, &c);
        Ok((c, lease))
    }

    /// Opens the file of `o` again by its path (an existing file only), durable again,
    /// and keeps it only if it is the same file (its on-disk identity).
    async fn open_again(&self, o: &Open) -> Result<Reopened> {
        let Some(was) = o.disk_id else {
            return Err(Error::Unsupported(
                "the server kept no state of the open and gave no file identity to find \
                 the same file again by"
                    .into(),
            ));
        };
        let options = o.options.disposition(Disposition::Open);
        // Its own ids, never those of the operation whose reconnect this is.
        let ctx = self.contexts_with(&options, |fresh| fresh)?;
        let (c, lease) = self.create_again(o, &ctx, "CREATE (open again)").await?;
        if c.granted.disk_id != Some(was) {
            let _ = self.send_close(c.file_id).await;
            if let Some(l) = lease {
                self.conn().release_lease(&l.key);
            }
            return Err(Error::Unsupported(format!(
                "{} is another file now (replaced during the outage)",
                o.path
            )));
        }
        tracing::info!(path = %o.path, "reopened by path (no durable state)");
        Ok((
            c.file_id,
            lease,
            Some((create_guid(&ctx), c.granted.durable())),
        ))
    }

    /// Reclaims the durable open `o` (DH2C with its CreateGuid and lease key).
    async fn reopen(&self, o: &Open) -> Result<Reopened> {
        let ctx = CreateContexts {
            lease: o.lease,
            durable: Some(Durable::Reconnect {
                file_id: o.now,
                create_guid: o.create_guid,
                persistent: o.persistent,
            }),
            query_id: false,
        };
        let (c, lease) = self
            .create_again(o, &ctx, "CREATE (durable reconnect)")
            .await?;
        Ok((c.file_id, lease, None))
    }
}

#[cfg(test)]
mod tests {
    use super::renamed;

    #[test]
    fn renames_move_opens_under_them() {
        assert_eq!(
            renamed("a/b.txt", "a/b.txt", "c.txt").as_deref(),
            Some("c.txt")
        );
        assert_eq!(
            renamed("dir/sub/f", "DIR", "new").as_deref(),
            Some("new\\sub\\f")
        );
        assert_eq!(renamed("dirx/f", "dir", "new"), None);
        assert_eq!(renamed("d", "dir", "new"), None);
    }
}
