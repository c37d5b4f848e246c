//! `mount-share mount`: an SMB share as a FUSE file system (fuser, no libfuse).
//!
//! Paths are the identity: inode numbers are handed out per path as the kernel looks names
//! up, and dropped when the kernel forgets them (an unlinked or replaced inode is orphaned:
//! only its open handles still reach it).
//!
//! Every open file is an SMB handle, except a small file opened to read: that one is read
//! whole at the open, in one round trip (see `WHOLE_AT_OPEN`), and its reads and fstat are
//! answered from what the open brought; its SMB open is kept under its lease after release
//! and answers later opens of the same version without a round trip (see `leased`). A CLOSE is sent at release
//! without the kernel waiting for it. Directory listings bring every entry's attributes, handed to the kernel
//! with the names (READDIRPLUS) and kept briefly for lookups (see `listing`).
//!
//! Writes are gathered per handle into runs of up to 1 MiB (one WRITE each) and sent, for
//! every handle of the file, before anything that needs them on the server (lookup,
//! getattr, read, truncate, fsync, flush/close); a failed send is reported by the writer's
//! next write, flush or fsync. Sequential reads fetch 1 MiB at a time. Errors from the
//! server become errno values (ENOENT, EACCES, EEXIST, ENOTEMPTY, …); anything else is EIO,
//! logged with its cause.

mod convert;
mod inodes;
mod leased;
mod listing;
mod open_file;
mod xattr;

use std::collections::{HashMap, VecDeque};
use std::ffi::OsStr;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use azkrb::smb3::msg::FileInfo;
use azkrb::smb3::{Access, Disposition, Error as SmbError, Handle, Kind, NtStatus, OpenOptions};
use azkrb::{Error, Share};
use fuser::{
    Errno, FileHandle, Filesystem, FopenFlags, Generation, INodeNo, InitFlags, KernelConfig,
    LockOwner, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite,
    ReplyXattr, Request, TimeOrNow, WriteFlags,
};

use convert::{desired_access, errno, filetime, lock};
use inodes::Inodes;
use leased::{Closing, Kept};
use listing::{AttrCache, Found, Slot};
use open_file::{Open, OpenFile, WRITES_IN_FLIGHT};

/// How long the kernel may cache names and attributes.
const TTL: Duration = Duration::from_secs(1);
/// Writes are gathered up to this size; sequential reads fetch this much (and the next
/// block ahead).
pub(super) const BLOCK: usize = 1 << 20;
/// A file opened to read is read up to this far at the open (one round trip): one no
/// larger is then read whole, and holds no handle on the server while open.
const WHOLE_AT_OPEN: u32 = 128 * 1024;
/// FILE_ATTRIBUTE_READONLY.
const READONLY: u32 = 0x1;

/// The share as a FUSE file system.
pub struct SmbFs {
    pub(super) rt: tokio::runtime::Handle,
    pub(super) share: Share,
    uid: u32,
    gid: u32,
    inodes: Arc<Mutex<Inodes>>,
    files: Mutex<HashMap<u64, Arc<Open>>>,
    /// Open directories: when listed, and the listing.
    dirs: Mutex<HashMap<u64, (std::time::Instant, Vec<Slot>)>>,
    attrs: Arc<Mutex<AttrCache>>,
    /// CLOSEs on their way, by inode (see `close_later`).
    closing: Arc<Closing>,
    /// Small files kept open under a lease (see `leased`), and the task that follows the
    /// share's lease breaks for them.
    kept: Arc<Kept>,
    watcher: tokio::task::JoinHandle<()>,
    next_fh: AtomicU64,
}

impl SmbFs {
    /// A file system over `share`, run on `rt`; files appear owned by `uid`:`gid`. An
    /// expired session is re-authenticated (by the share) and the operation retried. The
    /// kernel is told of lease breaks through `notifier`, once set (by the session made
    /// with this file system); until then it keeps nothing longer than the short timeout.
    pub fn new(
        rt: tokio::runtime::Handle,
        share: Share,
        uid: u32,
        gid: u32,
        notifier: Arc<OnceLock<fuser::Notifier>>,
    ) -> Self {
        let inodes = Arc::new(Mutex::new(Inodes::new()));
        let closing = Arc::new(Closing::default());
        let attrs = Arc::new(Mutex::new(AttrCache::default()));
        let kept = Kept::new(
            rt.clone(),
            share.clone(),
            Arc::clone(&inodes),
            Arc::clone(&attrs),
            Arc::clone(&closing),
            notifier,
        );
        let watcher = kept.watch();
        Self {
            rt,
            share,
            uid,
            gid,
            inodes,
            files: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            attrs,
            closing,
            kept,
            watcher,
            next_fh: AtomicU64::new(1),
        }
    }

    /// Runs an SMB operation to completion (re-authenticating once if the session expired).
    fn run<T, F, Fut>(&self, op: F) -> Result<T, Error>
    where
        F: Fn(azkrb::smb3::Tree) -> Fut,
        Fut: Future<Output = Result<T, SmbError>>,
    {
        self.rt.block_on(self.share.run(op))
    }

    /// Logs an SMB error (not the everyday "no such file") and turns it into an errno.
    fn fail(&self, op: &str, path: &str, e: &Error) -> Errno {
        let n = errno(e);
        if n == Errno::EIO {
            tracing::warn!("{op} {path}: {e}");
        } else {
            tracing::debug!("{op} {path}: {e}");
        }
        n
    }

    fn file(&self, fh: FileHandle) -> Result<Arc<Open>, Errno> {
        lock(&self.files).get(&fh.0).cloned().ok_or(Errno::EBADF)
    }

    /// The largest READ or WRITE the server takes (never more than a block).
    pub(super) fn max_io(&self, write: bool) -> usize {
        let neg = self.share.negotiated();
        let max = if write { neg.max_write } else { neg.max_read };
        (max as usize).clamp(1, BLOCK)
    }

    /// Sends every handle's gathered writes to `ino`, so the server's size and contents are
    /// current; cached reads of it are dropped if anything was sent. Send failures stay with
    /// the handles that wrote (their writers hear of them), not with this caller.
    fn sync_ino(&self, ino: u64) {
        let open: Vec<_> = lock(&self.files)
            .values()
            .filter(|f| f.ino == ino)
            .cloned()
            .collect();
        let mut sent = false;
        for f in &open {
            let mut f = lock(&f.state);
            sent |= f.pending.is_some() || !f.inflight.is_empty();
            let _ = self.drain(&mut f);
        }
        if sent {
            for f in &open {
                lock(&f.state).forget_reads();
            }
        }
    }

    /// The inode now named by `path`, if the kernel knows it.
    fn known(&self, path: &str) -> Option<u64> {
        lock(&self.inodes).by_path.get(path).copied()
    }

    /// A read handle for an open file that had none (read whole at the open, then
    /// changed here).
    fn open_late(&self, ino: u64) -> Result<Handle, Errno> {
        let path = lock(&self.inodes).path(INodeNo(ino))?;
        self.run(|t| {
            let path = &path;
            async move {
                t.open(path, OpenOptions::read().kind(Kind::File).durable(true))
                    .await
            }
        })
        .map_err(|e| self.fail("open", &path, &e))
    }

    fn next_fh(&self) -> u64 {
        self.next_fh.fetch_add(1, Ordering::Relaxed)
    }

    fn open_handle(&self, ino: u64, handle: Handle, writable: bool) -> FileHandle {
        self.open_file(ino, Some(handle), handle.info, writable, None)
    }

    /// A new open file: its handle (none for a file read whole at the open), attributes
    /// when opened, and the bytes read already.
    fn open_file(
        &self,
        ino: u64,
        handle: Option<Handle>,
        opened: FileInfo,
        writable: bool,
        cached: Option<open_file::Block>,
    ) -> FileHandle {
        let fh = self.next_fh();
        lock(&self.files).insert(
            fh,
            Arc::new(Open {
                ino,
                writable,
                state: Mutex::new(OpenFile {
                    handle,
                    attrs: Some((opened, std::time::Instant::now())),
                    reopen: false,
                    pending: None,
                    inflight: VecDeque::new(),
                    cached,
                    ahead: None,
                    stale: Vec::new(),
                    failed: None,
                }),
            }),
        );
        FileHandle(fh)
    }

    fn setattr_inner(
        &self,
        ino: u64,
        fh: Option<FileHandle>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
    ) -> Result<FileInfo, Errno> {
        self.settle(Some(ino));
        self.sync_ino(ino);
        let handle = fh
            .and_then(|fh| self.file(fh).ok())
            .and_then(|f| lock(&f.state).handle);
        let path = lock(&self.inodes).path(INodeNo(ino));
        if let Ok(p) = &path {
            self.changed(p);
        }
        // What the open handles know of the file's attributes is stale from here.
        for f in lock(&self.files).values().filter(|f| f.ino == ino) {
            lock(&f.state).attrs = None;
        }
        let fail = |e: Error| self.fail("setattr", path.as_deref().unwrap_or(""), &e);
        if let Some(size) = size {
            match handle {
                Some(h) if h.info.attributes & 0x10 == 0 => self
                    .run(|t| async move { t.set_end_of_file(h, size).await })
                    .map_err(fail)?,
                _ => {
                    let p = path.as_deref().map_err(|e| *e)?;
                    self.run(|t| async move { t.truncate(p, size).await })
                        .map_err(fail)?
                }
            }
            // Cached reads of this file are stale.
            let open: Vec<_> = lock(&self.files)
                .values()
                .filter(|f| f.ino == ino)
                .cloned()
                .collect();
            for f in open {
                lock(&f.state).forget_reads();
            }
        }
        if atime.is_some() || mtime.is_some() {
            let ft = |t: Option<TimeOrNow>| match t {
                None => 0,
                Some(TimeOrNow::Now) => filetime(SystemTime::now()),
                Some(TimeOrNow::SpecificTime(t)) => filetime(t),
            };
            let (a, m) = (ft(atime), ft(mtime));
            let by_handle = match handle {
                Some(h) => self
                    .run(|t| async move { t.set_times_handle(h, 0, a, m, 0).await })
                    .is_ok(),
                None => false,
            };
            if !by_handle {
                let p = path.as_deref().map_err(|e| *e)?;
                self.run(|t| async move { t.set_times(p, 0, a, m, 0).await })
                    .map_err(fail)?;
            }
        }
        self.stat(ino, fh)
    }

    fn remove(&self, parent: INodeNo, name: &OsStr, dir: bool, reply: ReplyEmpty) {
        let path = match lock(&self.inodes).child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        // A directory may hold files whose CLOSE is on its way.
        match (dir, self.known(&path)) {
            (true, _) => self.settle(None),
            (false, Some(ino)) => self.settle(Some(ino)),
            (false, None) => {}
        }
        self.changed(&path);
        match self.run(|t| {
            let path = &path;
            async move { t.remove(path, dir).await }
        }) {
            Ok(()) => {
                lock(&self.inodes).removed(&path);
                lock(&self.attrs).gone(&path);
                reply.ok();
            }
            Err(e) => reply.error(self.fail(if dir { "rmdir" } else { "rm" }, &path, &e)),
        }
    }

    /// POSIX rename onto an existing name: a file replaces a file, an empty directory
    /// replaces an empty directory; other combinations are the errors POSIX names.
    fn rename_over(&self, from: &str, to: &str) -> Result<(), Errno> {
        let first = self.run(|t| async move { t.rename(from, to, true).await });
        let Err(e) = first else { return Ok(()) };
        let retry = matches!(
            &e,
            Error::Smb(SmbError::Status {
                status: NtStatus::ACCESS_DENIED | NtStatus::OBJECT_NAME_COLLISION,
                ..
            })
        );
        if !retry {
            return Err(self.fail("rename", from, &e));
        }
        let (Ok(src), Ok(dst)) = (
            self.run(|t| async move { t.stat(from).await }),
            self.run(|t| async move { t.stat(to).await }),
        ) else {
            return Err(self.fail("rename", from, &e));
        };
        match (src.is_dir(), dst.is_dir()) {
            (false, true) => Err(Errno::EISDIR),
            (true, false) => Err(Errno::ENOTDIR),
            (false, false) => Err(self.fail("rename", from, &e)),
            (true, true) => {
                let empty = self
                    .run(|t| async move { t.list(to).await })
                    .map_err(|e| self.fail("list", to, &e))?
                    .is_empty();
                if !empty {
                    return Err(Errno::ENOTEMPTY);
                }
                self.run(|t| async move { t.remove(to, true).await })
                    .map_err(|e| self.fail("rmdir", to, &e))?;
                self.run(|t| async move { t.rename(from, to, false).await })
                    .map_err(|e| self.fail("rename", from, &e))
            }
        }
    }
}

impl Drop for SmbFs {
    fn drop(&mut self) {
        // Also when the session never ran (`destroy` was not called).
        self.watcher.abort();
    }
}

impl Filesystem for SmbFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Up to 1 MiB per kernel write (the kernel caps this at its own page limit).
        let _ = config.set_max_write(BLOCK as u32);
        // Listings hand out attributes with the names (see `listing`); a kernel without
        // READDIRPLUS reads directories with READDIR and looks names up.
        let _ = config.add_capabilities(InitFlags::FUSE_DO_READDIRPLUS);
        Ok(())
    }

    fn destroy(&mut self) {
        self.watcher.abort();
        self.kept.let_go_all();
        self.settle(None);
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let path = lock(&self.inodes).child(parent, name);
        let path = match path {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        tracing::trace!("lookup {path}");
        match self.look_up(&path) {
            Ok(Found::Entry(info, ttl)) => self.reply_entry(&path, &info, ttl, reply),
            // A negative entry: the kernel keeps "no such file" as long as a name.
            Ok(Found::Absent(ttl)) => {
                reply.entry(&ttl, &self.attr(0, &FileInfo::default()), Generation(0))
            }
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        lock(&self.inodes).forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        tracing::trace!(ino = ino.0, fh = ?fh, "getattr");
        match self.stat(ino.0, fh) {
            Ok(info) => reply.attr(&TTL, &self.attr(ino.0, &info)),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // Modes and owners are not SMB's to change here; the server's ACLs decide access.
        match self.setattr_inner(ino.0, fh, size, atime, mtime) {
            Ok(info) => reply.attr(&TTL, &self.attr(ino.0, &info)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let path = match lock(&self.inodes).child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.changed(&path);
        // One round trip (CREATE + CLOSE): the CREATE response carries the attributes.
        let made = self.run(|t| {
            let path = &path;
            async move { t.mkdir(path).await }
        });
        match made {
            Ok(info) => {
                let mut attrs = lock(&self.attrs);
                attrs.added(&path);
                attrs.listed(&path, std::iter::empty());
                drop(attrs);
                self.reply_entry(&path, &info, TTL, reply)
            }
            Err(e) => reply.error(self.fail("mkdir", &path, &e)),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.remove(parent, name, false, reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.remove(parent, name, true, reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if flags.contains(RenameFlags::RENAME_EXCHANGE)
            || flags.contains(RenameFlags::RENAME_WHITEOUT)
        {
            return reply.error(Errno::EINVAL);
        }
        // Paths move: no kept open may stand in the way or outlive its name.
        self.kept.let_go_all();
        self.settle(None);
        let (from, to) = {
            let inodes = lock(&self.inodes);
            match (inodes.child(parent, name), inodes.child(newparent, newname)) {
                (Ok(f), Ok(t)) => (f, t),
                (Err(e), _) | (_, Err(e)) => return reply.error(e),
            }
        };
        let result = if flags.contains(RenameFlags::RENAME_NOREPLACE) {
            self.run(|t| {
                let from = &from;
                let to = &to;
                async move { t.rename(from, to, false).await }
            })
            .map_err(|e| self.fail("rename", &from, &e))
        } else {
            self.rename_over(&from, &to)
        };
        match result {
            Ok(()) => {
                lock(&self.inodes).renamed(&from, &to);
                lock(&self.attrs).clear();
                reply.ok();
            }
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.settle(Some(ino.0));
        let access = desired_access(match flags.acc_mode() {
            OpenAccMode::O_RDONLY => libc::O_RDONLY,
            OpenAccMode::O_WRONLY => libc::O_WRONLY,
            OpenAccMode::O_RDWR => libc::O_RDWR,
        });
        let writable = access.contains(Access::GENERIC_WRITE);
        if writable {
            // A kept open of it would be stale after these writes.
            self.kept.let_go(&path);
        } else {
            if let Some(ino) = self.known(&path) {
                self.sync_ino(ino);
            }
            match self.open_to_read(ino.0, &path) {
                Some(Ok((fh, flags))) => return reply.opened(fh, flags),
                Some(Err(e)) => return reply.error(e),
                None => {}
            }
        }
        // Durable: the open survives a dropped connection (reclaimed on the reconnect).
        match self.run(|t| {
            let path = &path;
            async move {
                t.open(
                    path,
                    OpenOptions::new(access).kind(Kind::File).durable(true),
                )
                .await
            }
        }) {
            Ok(h) => reply.opened(
                self.open_file(ino.0, Some(h), h.info, writable, None),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(self.fail("open", &path, &e)),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let path = match lock(&self.inodes).child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        self.changed(&path);
        if let Some(ino) = self.known(&path) {
            self.settle(Some(ino));
        }
        let disp = if flags & libc::O_EXCL != 0 {
            Disposition::Create
        } else if flags & libc::O_TRUNC != 0 {
            Disposition::OverwriteIf
        } else {
            Disposition::OpenIf
        };
        // The CREATE response carries the attributes: no second request that could fail
        // after the file exists.
        let access = desired_access(flags);
        match self.run(|t| {
            let path = &path;
            async move {
                let o = OpenOptions::new(access).disposition(disp).kind(Kind::File);
                t.open(path, o.durable(true)).await
            }
        }) {
            Ok(h) => {
                lock(&self.attrs).added(&path);
                let ino = lock(&self.inodes).remember(&path);
                let fh = self.open_handle(ino, h, access.contains(Access::GENERIC_WRITE));
                reply.created(
                    &TTL,
                    &self.attr(ino, &h.info),
                    Generation(0),
                    fh,
                    FopenFlags::empty(),
                );
            }
            Err(e) => reply.error(self.fail("create", &path, &e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let file = match self.file(fh) {
            Ok(f) => f,
            Err(e) => return reply.error(e),
        };
        // Writes gathered on any handle of this file come first.
        self.sync_ino(ino.0);
        let mut f = lock(&file.state);
        // Read whole at the open and written here since: opened again now (a file unlinked
        // meanwhile is read as it was).
        if f.handle.is_none() && f.reopen {
            f.reopen = false;
            if let Ok(h) = self.open_late(ino.0) {
                f.handle = Some(h);
                f.cached = None;
                f.attrs = None;
            }
        }
        let want = size as usize;
        if let Some(bytes) = f.cached.as_ref().and_then(|b| b.serve(offset, want)) {
            return reply.data(bytes);
        }
        // The block read ahead, if this read starts in it.
        if f.ahead
            .as_ref()
            .is_some_and(|(at, _)| offset >= *at && offset < *at + BLOCK as u64)
            && let Some((_, task)) = f.ahead.take()
            && let Ok(Ok(block)) = self.rt.block_on(task)
        {
            f.cached = Some(block);
            if let Some(bytes) = f.cached.as_ref().and_then(|b| b.serve(offset, want)) {
                reply.data(bytes);
                return self.read_ahead(&mut f);
            }
        }
        // Sequential: fetch a whole block; otherwise just what was asked.
        let sequential = matches!(&f.cached, Some(b) if b.at + b.data.len() as u64 == offset);
        let len = if sequential || offset == 0 {
            want.max(BLOCK)
        } else {
            want
        };
        // Read whole at the open: nothing past its end.
        let Some(handle) = f.handle else {
            return reply.data(&[]);
        };
        match self.read_all(handle, offset, len) {
            Ok(block) => {
                reply.data(&block.data[..want.min(block.data.len())]);
                f.cached = Some(block);
                self.read_ahead(&mut f);
            }
            Err(e) => reply.error(self.fail("read", "", &e)),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let Ok(len) = u32::try_from(data.len()) else {
            return reply.error(Errno::EINVAL);
        };
        let file = match self.file(fh) {
            Ok(f) => f,
            Err(e) => return reply.error(e),
        };
        // Other handles of this file: their gathered writes go first (writes land in the
        // order they were made) and their cached reads are stale now.
        let others: Vec<_> = lock(&self.files)
            .values()
            .filter(|o| o.ino == ino.0 && !Arc::ptr_eq(o, &file))
            .cloned()
            .collect();
        for other in others {
            let mut o = lock(&other.state);
            let _ = self.drain(&mut o);
            o.forget_reads();
        }
        let mut f = lock(&file.state);
        if let Err(e) = Self::take_failure(&mut f) {
            return reply.error(e);
        }
        f.forget_reads();
        let appends = matches!(&f.pending, Some((at, buf))
            if *at + buf.len() as u64 == offset && buf.len() + data.len() <= BLOCK);
        if appends {
            if let Some((_, buf)) = &mut f.pending {
                buf.extend_from_slice(data);
            }
            return reply.written(len);
        }
        if let Err(e) = self.send_pending(&mut f) {
            f.failed = None;
            return reply.error(e);
        }
        if data.len() >= BLOCK {
            // Room first: an error then means these bytes were not taken.
            let room = self.wait_writes(&mut f, WRITES_IN_FLIGHT - 1);
            if let Err(e) = room.and(Self::take_failure(&mut f)) {
                f.failed = None;
                return reply.error(e);
            }
        }
        let mut buf = Vec::with_capacity(BLOCK.max(data.len()));
        buf.extend_from_slice(data);
        f.pending = Some((offset, buf));
        if data.len() >= BLOCK {
            // With room made, this waits only if it overlaps a write in flight (and reports
            // that write's failure).
            if let Err(e) = self.send_pending(&mut f) {
                f.failed = None;
                return reply.error(e);
            }
        }
        reply.written(len)
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close(2) reports what the server said about the gathered writes.
        let file = match self.file(fh) {
            Ok(f) => f,
            Err(e) => return reply.error(e),
        };
        let mut f = lock(&file.state);
        // The attributes after the last write come with it: the kernel asks for them next.
        if let Some(info) = self.finish_writes(&mut f)
            && let Ok(path) = lock(&self.inodes).path(INodeNo(file.ino))
        {
            let mut attrs = lock(&self.attrs);
            attrs.changed(&path);
            attrs.put(&path, &info);
        }
        match Self::take_failure(&mut f) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let file = match self.file(fh) {
            Ok(f) => f,
            Err(e) => return reply.error(e),
        };
        // Every handle's gathered writes, then FLUSH through every handle that can write:
        // `sync FILE` opens a new, read-only descriptor to fsync.
        self.sync_ino(ino.0);
        if let Err(e) = Self::take_failure(&mut lock(&file.state)) {
            return reply.error(e);
        }
        // A failure of another descriptor's writes is this file's too (as Linux reports
        // writeback errors on every descriptor): it stays for its writer as well.
        let others_failed = lock(&self.files)
            .values()
            .filter(|o| o.ino == ino.0 && !Arc::ptr_eq(o, &file))
            .find_map(|o| lock(&o.state).failed);
        if let Some(e) = others_failed {
            return reply.error(e);
        }
        let writers: Vec<Handle> = lock(&self.files)
            .values()
            .filter(|f| f.ino == ino.0 && f.writable)
            .filter_map(|f| lock(&f.state).handle)
            .collect();
        for h in writers {
            if let Err(e) = self.run(|t| async move { t.flush(h).await }) {
                return reply.error(self.fail("fsync", "", &e));
            }
        }
        reply.ok()
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let Some(file) = lock(&self.files).remove(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let mut f = lock(&file.state);
        let drained = self.drain(&mut f);
        // No READ may follow the CLOSE on this file id.
        let mut reads: Vec<_> = f.stale.drain(..).collect();
        reads.extend(f.ahead.take().map(|(_, t)| t));
        for t in reads {
            let _ = self.rt.block_on(t);
        }
        let sent = drained.and(Self::take_failure(&mut f));
        if let Err(e) = &sent {
            // Nobody hears of this one (the kernel ignores release errors): say it here.
            tracing::error!("writes to an open file were lost: {e:?}");
        }
        if let Some(handle) = f.handle {
            self.close_later(file.ino, handle);
        }
        if file.writable
            && let Ok(path) = lock(&self.inodes).path(INodeNo(file.ino))
        {
            self.changed(&path);
            // What the last write brought back is still the file's (nothing written since).
            if let Some((info, at)) = f.attrs {
                lock(&self.attrs).put_at(&path, &info, at);
            }
        }
        match sent {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        self.open_listing(ino, reply);
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectory,
    ) {
        self.fill_dir(fh, offset, reply);
    }

    fn readdirplus(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        reply: ReplyDirectoryPlus,
    ) {
        self.fill_dir_plus(fh, offset, reply);
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        lock(&self.dirs).remove(&fh.0);
        reply.ok();
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        self.get_acl_xattr(ino, name, size, reply);
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, size: u32, reply: ReplyXattr) {
        self.list_acl_xattr(size, reply);
    }

    fn setxattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        _flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        self.set_acl_xattr(ino, name, value, reply);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match self.run(|t| async move { t.fs_size().await }) {
            Ok(fs) => {
                let unit = u32::try_from(fs.unit_bytes()).unwrap_or(0);
                if unit == 0 {
                    return reply.error(Errno::EIO);
                }
                reply.statfs(
                    fs.total_units,
                    fs.actual_available_units,
                    fs.caller_available_units,
                    0,
                    0,
                    unit,
                    255,
                    unit,
                );
            }
            Err(e) => reply.error(self.fail("statfs", "", &e)),
        }
    }
}
