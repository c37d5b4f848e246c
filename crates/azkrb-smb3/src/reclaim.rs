//! Opens that outlive their connection. Every file a [`Tree`] opens is asked to be durable
//! (SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2, persistent on a continuously available share)
//! under a read and handle lease, and recorded in a table the trees of later connections
//! share. A [`Handle`] keeps the FileId it was first given; the table maps it to the FileId
//! of the open now (a reclaimed open gets a new one), or says it was lost.
//!
//! [`Tree::reclaim`] reclaims every open of the table on a new tree (after a reconnect)
//! with SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2. Where the server kept no state (the
//! process that held it died: Samba keeps durable opens across a dropped connection, not
//! across a killed smbd), the file is opened again by its path, never created or
//! truncated. What cannot be had either way (deleted by another client meanwhile) is marked
//! lost, so its next use fails with [`Error::HandleLost`] and every other open carries on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::msg::{self, Command, CreateContexts, Durable, FileId, Lease, lease};
use crate::open::{Disposition, Kind, OpenOptions};
use crate::tree::{Handle, Tree, smb_path};

/// One open as the table knows it.
#[derive(Debug, Clone)]
struct Open {
    path: String,
    options: OpenOptions,
    create_guid: [u8; 16],
    lease: Option<Lease>,
    durable: bool,
    persistent: bool,
    /// The FileId on the current connection.
    now: FileId,
    /// Why it could not be reclaimed.
    lost: Option<String>,
}

/// The opens of a share, across its connections (shared by the trees of one share).
#[derive(Debug, Default)]
pub(crate) struct Opens {
    /// By [`Handle`]'s key (never a FileId: a server may reuse one on a new connection).
    table: Mutex<HashMap<u64, Open>>,
    next_key: AtomicU64,
    reclaimed: AtomicU64,
    reopened: AtomicU64,
    lost: AtomicU64,
}

/// A reclaimed or reopened open: its FileId, lease, and (reopened) new CreateGuid and
/// durability.
type Reopened = (FileId, Option<Lease>, Option<([u8; 16], bool)>);

/// What [`Tree::reclaim`] did.
#[derive(Debug, Default)]
pub struct Reclaimed {
    /// Opens reclaimed with their durable handle.
    pub reclaimed: usize,
    /// Opens the server kept no state of, opened again by path.
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
}

fn random16() -> Result<[u8; 16]> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Protocol(format!("system random generator: {e}")))?;
    Ok(b)
}

impl Tree {
    /// The FileId to send for `h` now; an error if its open was lost at a reconnect.
    pub(crate) fn file_id(&self, h: Handle) -> Result<FileId> {
        match self.opens().table().get(&h.key) {
            // Closed already: its FileId may name another open by now.
            None => Err(Error::InvalidArgument(format!(
                "a handle used after it was closed (FileId {:02x?})",
                &h.id.0[..8]
            ))),
            Some(o) => match &o.lost {
                None => Ok(o.now),
                Some(why) => Err(Error::HandleLost {
                    path: o.path.clone(),
                    reason: why.clone(),
                }),
            },
        }
    }

    /// The contexts of a new open: durable and leased for files (see the module docs).
    pub(crate) fn open_contexts(&self, options: &OpenOptions) -> Result<CreateContexts> {
        if !options.durable || options.kind == Kind::Directory {
            return Ok(CreateContexts::default());
        }
        Ok(CreateContexts {
            lease: Some(Lease::new(random16()?, lease::READ | lease::HANDLE)),
            durable: Some(Durable::Request {
                create_guid: random16()?,
                timeout_ms: 0,
                persistent: self.continuously_available(),
            }),
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
        let create_guid = match ctx.durable {
            Some(Durable::Request { create_guid, .. }) => create_guid,
            _ => [0; 16],
        };
        let lease = c.granted.lease;
        if let Some(l) = lease {
            self.conn()
                .hold_lease(l.key, self.session().id(), self.id());
        }
        let key = self.opens().next_key.fetch_add(1, Ordering::Relaxed);
        self.opens().table().insert(
            key,
            Open {
                path: path.to_string(),
                options,
                create_guid,
                lease,
                durable: c.granted.durable_timeout_ms.is_some() || c.granted.persistent,
                persistent: c.granted.persistent,
                now: c.file_id,
                lost: None,
            },
        );
        key
    }

    /// Forgets a closed open.
    pub(crate) fn forget_open(&self, h: Handle) {
        if let Some(o) = self.opens().table().remove(&h.key)
            && let Some(l) = o.lease
        {
            self.conn().release_lease(&l.key);
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

    /// The handle was opened durable (it can be reclaimed after a reconnect).
    pub fn is_durable(&self, h: Handle) -> bool {
        self.opens().table().get(&h.key).is_some_and(|o| o.durable)
    }

    /// Takes over the opens of `old` (the tree of a lost connection to the same share) and
    /// reclaims each durable one on this tree with SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2;
    /// the others are marked lost. Handles of `old` keep working through this tree.
    pub async fn reclaim(&mut self, old: &Tree) -> Reclaimed {
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
            if outcome.is_err() {
                // The server kept no state to reclaim (the process holding it died, as a
                // killed Samba child's does, or the open was not durable): open the same
                // file again by its path, as the kernel's CIFS client does. Never created
                // or truncated: a file deleted meanwhile stays lost.
                match self.open_again(&o).await {
                    Ok(again) => {
                        tracing::info!(path = %o.path, "reopened by path (no durable state)");
                        self.opens().reopened.fetch_add(1, Ordering::Relaxed);
                        done.reopened += 1;
                        outcome = Ok(again);
                    }
                    Err(e) => {
                        if let Err(first) = &outcome {
                            tracing::debug!(path = %o.path, error = %first, "durable reconnect");
                        }
                        outcome = Err(e);
                    }
                }
            } else {
                done.reclaimed += 1;
                self.opens().reclaimed.fetch_add(1, Ordering::Relaxed);
            }
            let mut table = self.opens().table();
            let Some(entry) = table.get_mut(&key) else {
                continue;
            };
            match outcome {
                Ok((now, lease, durable)) => {
                    entry.now = now;
                    entry.lease = lease;
                    if let Some(d) = durable {
                        // A reopened file is a new open: its own CreateGuid.
                        entry.create_guid = d.0;
                        entry.durable = d.1;
                    }
                }
                Err(e) => {
                    let why = format!("not reclaimed after a reconnect: {e}");
                    tracing::warn!(path = %o.path, "{why}");
                    entry.lost = Some(why.clone());
                    done.lost.push((o.path.clone(), why));
                    self.opens().lost.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        done
    }

    /// Opens the file of `o` again by its path (an existing file only), durable again.
    async fn open_again(&self, o: &Open) -> Result<Reopened> {
        let options = o.options.disposition(Disposition::Open);
        let ctx = self.open_contexts(&options)?;
        let body = msg::create_request_with(
            &smb_path(&o.path),
            options.access.bits(),
            options.disposition.value(),
            options.create_options(),
            &ctx,
        )?;
        let resp = self
            .conn()
            .request(Command::Create, self.session().id(), self.id(), body, 1)
            .await?;
        resp.ok("CREATE (open again)")?;
        let c = msg::create_response(resp.bytes())?;
        let lease = c.granted.lease;
        if let Some(l) = lease {
            self.conn()
                .hold_lease(l.key, self.session().id(), self.id());
        }
        let guid = match ctx.durable {
            Some(Durable::Request { create_guid, .. }) => create_guid,
            _ => [0; 16],
        };
        let durable = c.granted.durable_timeout_ms.is_some() || c.granted.persistent;
        Ok((c.file_id, lease, Some((guid, durable))))
    }

    async fn reopen(&self, o: &Open) -> Result<Reopened> {
        let ctx = CreateContexts {
            lease: o.lease,
            durable: Some(Durable::Reconnect {
                file_id: o.now,
                create_guid: o.create_guid,
                persistent: o.persistent,
            }),
        };
        let options = o.options.disposition(Disposition::Open);
        let body = msg::create_request_with(
            &smb_path(&o.path),
            options.access.bits(),
            options.disposition.value(),
            options.create_options(),
            &ctx,
        )?;
        let resp = self
            .conn()
            .request(Command::Create, self.session().id(), self.id(), body, 1)
            .await?;
        resp.ok("CREATE (durable reconnect)")?;
        let c = msg::create_response(resp.bytes())?;
        let lease = c.granted.lease;
        if let Some(l) = lease {
            self.conn()
                .hold_lease(l.key, self.session().id(), self.id());
        }
        Ok((c.file_id, lease, None))
    }
}
