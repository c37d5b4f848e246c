//! Small files kept open under a lease after the kernel releases them.
//!
//! A small file opened to read is opened and read whole in one round trip (CREATE + READ)
//! under a read and handle lease. While the lease holds READ no other client can change the
//! file's bytes, so the open is kept after the kernel releases the file, and a later open
//! of it is answered from the bytes it brought, without a round trip, as long as the
//! attributes the mount knows of the name now (fresh: from a listing or a stat, see
//! `listing`) are still those the bytes came with. Names and attributes themselves rest
//! on the short timeout: a name can be bound to another file by a rename of a directory
//! above it, which only a directory lease would tell (Samba grants none).
//!
//! When another client writes the file (or wants to delete or rename it), the server breaks
//! the lease. Here the kept open is let go of and closed (the acknowledgment waits for that,
//! so a delete or rename goes through), and the kernel is told to forget the file's
//! attributes, name and pages at once. A file changed here lets go of its kept open first.
//! At most [`KEPT_MAX`] files are kept, each for [`KEEP_IDLE`] after its last use. Where
//! the server grants no read and handle lease, nothing is kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use azkrb::Share;
use azkrb::smb3::msg::{FileInfo, lease};
use azkrb::smb3::{Handle, OpenOptions};
use fuser::{INodeNo, Notifier};
use tokio::sync::broadcast::error::RecvError;

use super::convert::lock;
use super::inodes::Inodes;
use super::listing::AttrCache;
use super::open_file::{Block, Bytes};
use super::{SmbFs, WHOLE_AT_OPEN};

/// Files kept open at most (each holds at most `WHOLE_AT_OPEN` bytes here).
pub(super) const KEPT_MAX: usize = 256;
/// A kept file unused this long is closed.
pub(super) const KEEP_IDLE: Duration = Duration::from_secs(30);
/// The lease a file is kept under: READ (its bytes stay true) and HANDLE (the server asks
/// before another client deletes or renames it).
const KEEPING: u32 = lease::READ | lease::HANDLE;
/// FILE_SHARE_READ | FILE_SHARE_WRITE: how a kept file is opened.
const SHARE_READ_WRITE: u32 = 1 | 2;
/// How often kept files are checked for idleness.
const SWEEP: Duration = Duration::from_secs(5);

/// A file kept open under a lease: its handle, attributes and bytes.
struct KeptFile {
    handle: Handle,
    key: [u8; 16],
    info: FileInfo,
    data: Arc<Vec<u8>>,
    used: Instant,
}

/// `a` and `b` are the attributes of one version of a file: the same size and the same
/// times of creation, last write and last change.
fn same_version(a: &FileInfo, b: &FileInfo) -> bool {
    (a.size, a.created, a.written, a.changed) == (b.size, b.created, b.written, b.changed)
}

/// What a kept file answers an open with.
pub(super) struct Reuse {
    pub(super) info: FileInfo,
    pub(super) data: Arc<Vec<u8>>,
}

/// CLOSEs on their way, by inode (see `SmbFs::close_later`).
pub(super) type Closing = Mutex<HashMap<u64, Vec<tokio::task::JoinHandle<()>>>>;

/// The files kept open, by path, and what letting go of one needs.
pub(super) struct Kept {
    rt: tokio::runtime::Handle,
    share: Share,
    files: Mutex<HashMap<String, KeptFile>>,
    inodes: Arc<Mutex<Inodes>>,
    attrs: Arc<Mutex<AttrCache>>,
    closing: Arc<Closing>,
    /// Set once the FUSE session exists (the kernel is told of breaks through it).
    pub(super) notifier: Arc<OnceLock<Notifier>>,
}

impl Kept {
    pub(super) fn new(
        rt: tokio::runtime::Handle,
        share: Share,
        inodes: Arc<Mutex<Inodes>>,
        attrs: Arc<Mutex<AttrCache>>,
        closing: Arc<Closing>,
        notifier: Arc<OnceLock<Notifier>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            rt,
            share,
            files: Mutex::default(),
            inodes,
            attrs,
            closing,
            notifier,
        })
    }

    /// The lease bits `h` still holds under `key` (none once the connection is lost: the
    /// server may have broken it without being heard).
    fn held(&self, h: Handle, key: [u8; 16]) -> u32 {
        if self.share.connection_lost() {
            return 0;
        }
        self.share
            .tree()
            .lease(h)
            .filter(|l| l.key == key)
            .map_or(0, |l| l.state)
    }

    /// Keeps `h` (just opened, and read whole: `info` and `data`) open for `path` if it
    /// holds a read lease; else it is the caller's to close (returned).
    pub(super) fn keep(
        &self,
        path: &str,
        h: Handle,
        info: FileInfo,
        data: Arc<Vec<u8>>,
    ) -> Option<Handle> {
        let tree = self.share.tree();
        let key = match tree.lease(h) {
            Some(l) if l.state & KEEPING == KEEPING => l.key,
            _ => return Some(h),
        };
        // Closed here when HANDLE goes, before the break is acknowledged.
        tree.close_on_break(h);
        let mut files = lock(&self.files);
        let mut gone = Vec::new();
        if files.len() >= KEPT_MAX {
            // The least recently used goes.
            if let Some(oldest) = files
                .iter()
                .min_by_key(|(_, f)| f.used)
                .map(|(p, _)| p.clone())
            {
                gone.extend(files.remove(&oldest).map(|f| (oldest, f)));
            }
        }
        let old = files.insert(
            path.to_string(),
            KeptFile {
                handle: h,
                key,
                info,
                data,
                used: Instant::now(),
            },
        );
        drop(files);
        gone.extend(old.map(|f| (path.to_string(), f)));
        for (p, f) in gone {
            self.close(&p, f.handle);
        }
        None
    }

    /// The kept file at `path`, if its lease still holds READ and HANDLE and `now` (the
    /// attributes known of the name, fresh) are those its bytes came with; else it is let
    /// go of.
    pub(super) fn reuse(&self, path: &str, now: Option<FileInfo>) -> Option<Reuse> {
        let mut files = lock(&self.files);
        let f = files.get_mut(path)?;
        let same = now.is_some_and(|n| same_version(&n, &f.info));
        if self.held(f.handle, f.key) & KEEPING != KEEPING || !same {
            let f = files.remove(path)?;
            drop(files);
            self.close(path, f.handle);
            return None;
        }
        f.used = Instant::now();
        Some(Reuse {
            info: f.info,
            data: Arc::clone(&f.data),
        })
    }

    /// Lets go of the kept open of `path`, if any: closed before this returns (what comes
    /// next may change the file, and must find it closed).
    pub(super) fn let_go(&self, path: &str) {
        let Some(f) = lock(&self.files).remove(path) else {
            return;
        };
        let share = self.share.clone();
        let h = f.handle;
        if let Err(e) = self
            .rt
            .block_on(share.run(|t| async move { t.close(h).await }))
        {
            tracing::debug!("close {path}: {e}");
        }
    }

    /// Lets go of every kept open (paths move, or the mount ends); closed before this
    /// returns.
    pub(super) fn let_go_all(&self) {
        let all: Vec<_> = lock(&self.files).drain().collect();
        for (path, f) in all {
            self.close(&path, f.handle);
        }
        let tasks: Vec<_> = lock(&self.closing)
            .values_mut()
            .flat_map(std::mem::take)
            .collect();
        for t in tasks {
            let _ = self.rt.block_on(t);
        }
    }

    /// Closes `h` (of `path`) without waiting; what must come after it waits for it (see
    /// `SmbFs::settle`).
    fn close(&self, path: &str, h: Handle) {
        let share = self.share.clone();
        let task = self.rt.spawn(async move {
            if let Err(e) = share.run(|t| async move { t.close(h).await }).await {
                tracing::debug!("close of a kept file: {e}");
            }
        });
        let ino = lock(&self.inodes).by_path.get(path).copied().unwrap_or(0);
        lock(&self.closing).entry(ino).or_default().push(task);
    }

    /// Lets go of the kept opens whose lease is `key` (or of all) and tells the kernel to
    /// forget what it keeps of their files.
    fn broken(&self, key: Option<[u8; 16]>) {
        let gone = self.take_where(|f| key.is_none_or(|k| k == f.key));
        for (path, f) in gone {
            tracing::debug!("lease of {path} broken: let go");
            // Whatever else was kept of it is older still.
            lock(&self.attrs).changed(&path);
            self.close(&path, f.handle);
            self.forget_in_kernel(&path);
        }
    }

    /// Tells the kernel to forget the attributes, pages and name of `path` (in a blocking
    /// task: the kernel may wait for a request of this mount meanwhile).
    fn forget_in_kernel(&self, path: &str) {
        let Some(notifier) = self.notifier.get().cloned() else {
            return;
        };
        let (ino, parent) = {
            let inodes = lock(&self.inodes);
            let (dir, _) = path.rsplit_once('/').unwrap_or(("", path));
            (
                inodes.by_path.get(path).copied(),
                inodes.by_path.get(dir).copied(),
            )
        };
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        self.rt.spawn_blocking(move || {
            // ENOENT: the kernel had forgotten it already.
            if let Some(ino) = ino {
                let _ = notifier.inval_inode(INodeNo(ino), 0, 0);
            }
            if let Some(parent) = parent {
                let _ = notifier.inval_entry(INodeNo(parent), name.as_ref());
            }
        });
    }

    /// Takes the kept files `which` picks out of the table.
    fn take_where(&self, which: impl Fn(&KeptFile) -> bool) -> Vec<(String, KeptFile)> {
        let mut files = lock(&self.files);
        let paths: Vec<String> = files
            .iter()
            .filter(|(_, f)| which(f))
            .map(|(p, _)| p.clone())
            .collect();
        paths
            .into_iter()
            .filter_map(|p| files.remove(&p).map(|f| (p, f)))
            .collect()
    }

    /// Closes kept files unused for [`KEEP_IDLE`].
    fn sweep(&self) {
        let idle = self.take_where(|f| f.used.elapsed() >= KEEP_IDLE);
        for (path, f) in idle {
            self.close(&path, f.handle);
        }
    }

    /// Follows the share's lease breaks (and closes idle kept files) until the mount ends:
    /// a break that takes READ or HANDLE away lets go of the file.
    pub(super) fn watch(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let kept = Arc::clone(self);
        let mut breaks = self.share.tree().lease_breaks();
        self.rt.spawn(async move {
            // Its own clock: breaks, however frequent, never hold the sweep off.
            let mut sweep = tokio::time::interval(SWEEP);
            loop {
                tokio::select! {
                    b = breaks.recv() => match b {
                        Ok(b) if b.state & KEEPING != KEEPING => kept.broken(Some(b.key)),
                        Ok(_) => {}
                        // Breaks were missed: any lease may be broken.
                        Err(RecvError::Lagged(_)) => kept.broken(None),
                        Err(RecvError::Closed) => return,
                    },
                    _ = sweep.tick() => kept.sweep(),
                }
            }
        })
    }
}

impl SmbFs {
    /// Opens `path` (inode `ino`) to read with its first bytes, in one round trip or none:
    /// a kept file from what it holds (the kernel may keep its pages), else CREATE + READ.
    /// A small file is then read whole, kept open under its lease if one was granted (else
    /// closed without waiting), and the open holds no handle; a larger one's handle reads
    /// the rest, its first bytes serving the first reads. `None`: open it the ordinary
    /// way (its first bytes cannot be read now, a byte-range lock say; or it was opened to
    /// be kept and turned out too large).
    pub(super) fn open_to_read(
        &self,
        ino: u64,
        path: &str,
    ) -> Option<Result<(fuser::FileHandle, fuser::FopenFlags), fuser::Errno>> {
        // Kept only while nothing here writes the file (a write breaks the lease; the
        // kept bytes must not be trusted until the break arrives).
        let writer = lock(&self.files)
            .values()
            .any(|f| f.ino == ino && f.writable);
        let now = lock(&self.attrs).get(path).map(|(info, _)| info);
        if let Some(r) = self.kept.reuse(path, now).filter(|_| !writer) {
            let block = Block {
                at: 0,
                data: Bytes::Shared(r.data),
                eof: true,
            };
            let fh = self.open_file(ino, None, r.info, false, Some(block));
            return Some(Ok((fh, fuser::FopenFlags::empty())));
        }
        // A file small enough to be kept is opened without sharing delete: another
        // client's delete or rename then makes the server break the handle lease (and
        // wait while it is let go of), where a shared delete would leave it pending until
        // the kept open is closed. A larger one, read on through this open, shares it.
        let small = lock(&self.attrs)
            .get(path)
            .is_none_or(|(info, _)| info.size <= u64::from(WHOLE_AT_OPEN));
        let options = if small {
            OpenOptions::read().share(SHARE_READ_WRITE)
        } else {
            OpenOptions::read()
        };
        let opened =
            self.run(|t| async move { t.open_and_read(path, options, WHOLE_AT_OPEN).await });
        let (h, start) = match opened {
            Ok(o) => o,
            Err(azkrb::Error::Smb(azkrb::smb3::Error::Status {
                command: "READ", ..
            })) => return None,
            Err(e) => return Some(Err(self.fail("open", path, &e))),
        };
        let info = start.info;
        if start.is_whole() {
            lock(&self.attrs).put(path, &info);
            let data = Arc::new(start.data);
            let unkept = if writer || !small {
                Some(h)
            } else {
                self.kept.keep(path, h, info, Arc::clone(&data))
            };
            if let Some(h) = unkept {
                self.close_later(ino, h);
            }
            let block = Block {
                at: 0,
                data: Bytes::Shared(data),
                eof: true,
            };
            let fh = self.open_file(ino, None, info, false, Some(block));
            return Some(Ok((fh, fuser::FopenFlags::empty())));
        }
        if small {
            // Larger than it was: not to be read on through an open that holds deletes
            // up. Opened again the ordinary way.
            self.close_later(ino, h);
            return None;
        }
        let block = (!start.data.is_empty()).then(|| Block {
            at: 0,
            data: Bytes::Owned(start.data),
            eof: false,
        });
        let fh = self.open_file(ino, Some(h), info, false, block);
        Some(Ok((fh, fuser::FopenFlags::empty())))
    }
}
