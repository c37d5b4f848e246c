//! `mount-share mount`: an SMB share as a FUSE file system (fuser, no libfuse).
//!
//! Paths are the identity: inode numbers are handed out per path as the kernel looks names
//! up, and dropped when the kernel forgets them (an unlinked or replaced inode is orphaned:
//! only its open handles still reach it). Every open file is an SMB handle. Writes are
//! gathered per handle into runs of up to 1 MiB (one WRITE each) and sent, for every handle
//! of the file, before anything that needs them on the server (lookup, getattr, read,
//! truncate, fsync, flush/close); a failed send is reported by the writer's next write,
//! flush or fsync. Sequential reads fetch 1 MiB at a time. Errors from the server become
//! errno values (ENOENT, EACCES, EEXIST, ENOTEMPTY, …); anything else is EIO, logged with its
//! cause.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsStr;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::task::JoinHandle;

use azkrb_smb3::msg::FileInfo;
use azkrb_smb3::{
    Access, Disposition, Error as SmbError, Handle, Kind, NtStatus, OpenOptions, Tree,
};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    KernelConfig, LockOwner, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request,
    TimeOrNow, WriteFlags,
};

/// How long the kernel may cache names and attributes.
const TTL: Duration = Duration::from_secs(1);
/// Writes are gathered up to this size; sequential reads fetch this much (and the next
/// block ahead).
const BLOCK: usize = 1 << 20;
/// Gathered writes sent and not yet answered, per open file.
const WRITES_IN_FLIGHT: usize = 4;
/// FILETIME of the Unix epoch (100 ns units since 1601).
const UNIX_EPOCH_FILETIME: u64 = 116_444_736_000_000_000;
/// FILE_ATTRIBUTE_READONLY.
const READONLY: u32 = 0x1;
/// Directory entries the kernel has not looked up get d_ino values from here up (a hash of
/// the path): real inode numbers count up from 2 and never get near.
const UNLISTED_INO: u64 = 1 << 63;

/// What re-authenticates the share's session (with a fresh ticket).
pub type ReauthFn =
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), SmbError>> + Send>> + Send + Sync;

/// Re-authentication, coordinated: one at a time, and no other request on its way meanwhile
/// (a server re-authenticating a session refuses other requests on it). Every request holds
/// the gate for reading; re-authenticating holds it for writing and counts a generation, so
/// requests that failed before it do not re-authenticate again.
#[derive(Clone)]
pub struct Reauth {
    run: Arc<ReauthFn>,
    gate: Arc<tokio::sync::RwLock<u64>>,
}

impl Reauth {
    /// Coordinates `run`.
    pub fn new(run: Arc<ReauthFn>) -> Self {
        Self {
            run,
            gate: Arc::new(tokio::sync::RwLock::new(0)),
        }
    }
}

/// Runs an SMB operation; if the server says the session expired (the ticket ended), the
/// session is re-authenticated (once, however many requests saw it) and the operation tried
/// once more. Operations refused as expired did not take effect, so trying again is safe.
async fn retrying<T, F, Fut>(reauth: Option<&Reauth>, op: F) -> Result<T, SmbError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, SmbError>>,
{
    let Some(r) = reauth else {
        return op().await;
    };
    let (result, seen) = {
        let generation = r.gate.read().await;
        (op().await, *generation)
    };
    match result {
        Err(SmbError::Status {
            status: NtStatus::NETWORK_SESSION_EXPIRED,
            ..
        }) => {
            {
                let mut generation = r.gate.write().await;
                if *generation == seen {
                    tracing::info!("the SMB session expired: re-authenticating");
                    (r.run)().await?;
                    *generation += 1;
                }
            }
            let _generation = r.gate.read().await;
            op().await
        }
        other => other,
    }
}

/// The share as a FUSE file system.
pub struct SmbFs {
    rt: tokio::runtime::Handle,
    tree: Tree,
    reauth: Option<Reauth>,
    uid: u32,
    gid: u32,
    inodes: Mutex<Inodes>,
    files: Mutex<HashMap<u64, Arc<Open>>>,
    dirs: Mutex<HashMap<u64, Vec<Listed>>>,
    next_fh: AtomicU64,
}

/// A directory entry as readdir hands it out: inode, kind, name.
type Listed = (u64, FileType, String);

struct Node {
    path: String,
    lookups: u64,
    /// Unlinked or replaced: the path no longer names this inode.
    orphan: bool,
}

/// Inode numbers by path and back. The root is inode 1 with the empty path.
struct Inodes {
    by_ino: HashMap<u64, Node>,
    by_path: HashMap<String, u64>,
    next: u64,
}

impl Inodes {
    fn new() -> Self {
        let mut by_ino = HashMap::new();
        by_ino.insert(
            INodeNo::ROOT.0,
            Node {
                path: String::new(),
                lookups: 1,
                orphan: false,
            },
        );
        let mut by_path = HashMap::new();
        by_path.insert(String::new(), INodeNo::ROOT.0);
        Self {
            by_ino,
            by_path,
            next: INodeNo::ROOT.0 + 1,
        }
    }

    /// The path of a live inode.
    fn path(&self, ino: INodeNo) -> Result<String, Errno> {
        match self.by_ino.get(&ino.0) {
            Some(n) if !n.orphan => Ok(n.path.clone()),
            _ => Err(Errno::ENOENT),
        }
    }

    /// The path of `name` in the directory `parent`.
    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<String, Errno> {
        let dir = self.path(parent)?;
        let name = name.to_str().ok_or(Errno::EINVAL)?;
        if name.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        // These are separators or wildcards on the server, not valid in SMB names.
        if name.is_empty() || name.contains(['\\', '/', ':', '*', '?', '"', '<', '>', '|']) {
            return Err(Errno::EINVAL);
        }
        Ok(if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        })
    }

    /// The inode for `path`, with one more reference held by the kernel.
    fn remember(&mut self, path: &str) -> u64 {
        if let Some(&ino) = self.by_path.get(path)
            && let Some(n) = self.by_ino.get_mut(&ino)
        {
            n.lookups += 1;
            return ino;
        }
        let ino = self.next;
        self.next += 1;
        self.by_ino.insert(
            ino,
            Node {
                path: path.to_string(),
                lookups: 1,
                orphan: false,
            },
        );
        self.by_path.insert(path.to_string(), ino);
        ino
    }

    /// The d_ino for a listed name: its inode if the kernel knows it, else a stable number
    /// from the path (nothing is stored for names never looked up).
    fn listed(&self, path: &str) -> u64 {
        use std::hash::{DefaultHasher, Hash, Hasher};
        if let Some(&ino) = self.by_path.get(path) {
            return ino;
        }
        let mut h = DefaultHasher::new();
        path.hash(&mut h);
        h.finish() | UNLISTED_INO
    }

    fn forget(&mut self, ino: u64, n: u64) {
        if ino == INodeNo::ROOT.0 {
            return;
        }
        let gone = match self.by_ino.get_mut(&ino) {
            Some(node) => {
                node.lookups = node.lookups.saturating_sub(n);
                node.lookups == 0
            }
            None => false,
        };
        if gone
            && let Some(node) = self.by_ino.remove(&ino)
            && self.by_path.get(&node.path) == Some(&ino)
        {
            self.by_path.remove(&node.path);
        }
    }

    /// `path` no longer exists: its inode is orphaned and the name free for a new one.
    fn removed(&mut self, path: &str) {
        if let Some(ino) = self.by_path.remove(path)
            && let Some(n) = self.by_ino.get_mut(&ino)
        {
            n.orphan = true;
        }
    }

    /// `from` (and everything below it) is now `to`; what `to` named before is orphaned.
    fn renamed(&mut self, from: &str, to: &str) {
        self.removed(to);
        let below = format!("{from}/");
        let moved: Vec<(String, u64)> = self
            .by_path
            .iter()
            .filter(|(p, _)| p.as_str() == from || p.starts_with(&below))
            .map(|(p, &i)| (p.clone(), i))
            .collect();
        for (old, ino) in moved {
            self.by_path.remove(&old);
            let new = format!("{to}{}", &old[from.len()..]);
            if let Some(n) = self.by_ino.get_mut(&ino) {
                n.path.clone_from(&new);
            }
            self.by_path.insert(new, ino);
        }
    }
}

/// An open file, by inode.
struct Open {
    ino: u64,
    /// Opened for writing (FLUSH needs that).
    writable: bool,
    state: Mutex<OpenFile>,
}

/// An open file's SMB handle, the writes gathered but not yet sent, the writes sent and not
/// yet answered, the last block read and the next one being read ahead, and an error from
/// sending writes not yet reported to the writer.
struct OpenFile {
    handle: Handle,
    pending: Option<(u64, Vec<u8>)>,
    inflight: VecDeque<InFlight>,
    cached: Option<Block>,
    ahead: Option<(u64, JoinHandle<Result<Block, SmbError>>)>,
    /// Reads ahead whose bytes are stale but which may still be running: waited for before
    /// the handle is closed (never aborted: a request cut off half-sent would break the
    /// connection).
    stale: Vec<JoinHandle<Result<Block, SmbError>>>,
    failed: Option<Errno>,
}

/// A write on its way: the byte range, and the task sending it.
struct InFlight {
    start: u64,
    end: u64,
    task: JoinHandle<Result<(), SmbError>>,
}

impl OpenFile {
    /// Cached and read-ahead bytes are stale (a write, a truncate).
    fn forget_reads(&mut self) {
        self.cached = None;
        if let Some((_, task)) = self.ahead.take() {
            self.stale.retain(|t| !t.is_finished());
            self.stale.push(task);
        }
    }
}

/// Bytes read from `at`; `eof` when the server had no more.
struct Block {
    at: u64,
    data: Bytes,
    eof: bool,
}

/// A block's bytes: as one READ response brought them (no copy; the message buffer goes
/// back to the connection when the block is dropped), or gathered from several.
enum Bytes {
    Read(azkrb::smb3::ReadData),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Read(r) => r,
            Bytes::Owned(v) => v,
        }
    }
}

impl Block {
    /// `want` bytes at `offset`, if this block holds them (or all there is, at end of file).
    fn serve(&self, offset: u64, want: usize) -> Option<&[u8]> {
        let start = usize::try_from(offset.checked_sub(self.at)?).ok()?;
        if start > self.data.len() {
            return None;
        }
        let end = start.saturating_add(want);
        if end <= self.data.len() {
            Some(&self.data[start..end])
        } else if self.eof {
            Some(&self.data[start..])
        } else {
            None
        }
    }
}

/// The errno for an SMB error.
fn errno(e: &SmbError) -> Errno {
    match e {
        SmbError::Status { status, .. } => match *status {
            NtStatus::OBJECT_NAME_NOT_FOUND
            | NtStatus::OBJECT_PATH_NOT_FOUND
            | NtStatus::NO_SUCH_FILE
            | NtStatus::DELETE_PENDING => Errno::ENOENT,
            NtStatus::ACCESS_DENIED | NtStatus::CANNOT_DELETE => Errno::EACCES,
            NtStatus::OBJECT_NAME_COLLISION => Errno::EEXIST,
            NtStatus::DIRECTORY_NOT_EMPTY => Errno::ENOTEMPTY,
            NtStatus::NOT_A_DIRECTORY => Errno::ENOTDIR,
            NtStatus::FILE_IS_A_DIRECTORY => Errno::EISDIR,
            NtStatus::SHARING_VIOLATION => Errno::EBUSY,
            NtStatus::FILE_LOCK_CONFLICT | NtStatus::LOCK_NOT_GRANTED => Errno::EAGAIN,
            NtStatus::OBJECT_NAME_INVALID | NtStatus::INVALID_PARAMETER => Errno::EINVAL,
            NtStatus::NAME_TOO_LONG => Errno::ENAMETOOLONG,
            NtStatus::DISK_FULL => Errno::ENOSPC,
            NtStatus::QUOTA_EXCEEDED => Errno::EDQUOT,
            // Not ENOSYS: the kernel would stop sending that operation for good.
            NtStatus::NOT_SUPPORTED => Errno::EOPNOTSUPP,
            _ => Errno::EIO,
        },
        _ => Errno::EIO,
    }
}

fn time(filetime: u64) -> SystemTime {
    if filetime >= UNIX_EPOCH_FILETIME {
        UNIX_EPOCH + Duration::from_nanos((filetime - UNIX_EPOCH_FILETIME).saturating_mul(100))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_nanos(
                (UNIX_EPOCH_FILETIME - filetime).saturating_mul(100),
            ))
            .unwrap_or(UNIX_EPOCH)
    }
}

/// A time as a FILETIME (0, "leave unchanged", never comes out of a real time).
fn filetime(t: SystemTime) -> u64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH_FILETIME.saturating_add((d.as_nanos() / 100) as u64),
        Err(e) => UNIX_EPOCH_FILETIME
            .saturating_sub((e.duration().as_nanos() / 100) as u64)
            .max(1),
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The SMB access for open(2) flags; attributes are always readable (fstat on the handle).
fn desired_access(flags: i32) -> Access {
    Access::READ_ATTRIBUTES
        | match flags & libc::O_ACCMODE {
            libc::O_WRONLY => Access::GENERIC_WRITE,
            libc::O_RDWR => Access::GENERIC_READ | Access::GENERIC_WRITE,
            _ => Access::GENERIC_READ,
        }
}

impl SmbFs {
    /// A file system over `tree`, run on `rt`; files appear owned by `uid`:`gid`. With
    /// `reauth`, an expired session is re-authenticated and the operation retried.
    pub fn new(
        rt: tokio::runtime::Handle,
        tree: Tree,
        reauth: Option<Reauth>,
        uid: u32,
        gid: u32,
    ) -> Self {
        Self {
            rt,
            tree,
            reauth,
            uid,
            gid,
            inodes: Mutex::new(Inodes::new()),
            files: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
        }
    }

    /// Runs an SMB operation to completion (re-authenticating once if the session expired).
    fn run<T, F, Fut>(&self, op: F) -> Result<T, SmbError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SmbError>>,
    {
        self.rt.block_on(retrying(self.reauth.as_ref(), op))
    }

    /// Logs an SMB error (not the everyday "no such file") and turns it into an errno.
    fn fail(&self, op: &str, path: &str, e: &SmbError) -> Errno {
        let n = errno(e);
        if n == Errno::EIO {
            tracing::warn!("{op} {path}: {e}");
        } else {
            tracing::debug!("{op} {path}: {e}");
        }
        n
    }

    fn attr(&self, ino: u64, info: &FileInfo) -> FileAttr {
        let dir = info.is_dir();
        FileAttr {
            ino: INodeNo(ino),
            size: info.size,
            blocks: info.allocation.div_ceil(512),
            atime: time(info.accessed),
            mtime: time(info.written),
            ctime: time(info.changed),
            crtime: time(info.created),
            kind: if dir {
                FileType::Directory
            } else {
                FileType::RegularFile
            },
            perm: match (dir, info.attributes & READONLY != 0) {
                (true, _) => 0o755,
                (false, true) => 0o444,
                (false, false) => 0o644,
            },
            nlink: if dir { 2 } else { 1 },
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: BLOCK as u32,
            flags: 0,
        }
    }

    /// Answers a lookup of `path` (whose attributes are `info`) with a new reference to its
    /// inode.
    fn reply_entry(&self, path: &str, info: &FileInfo, reply: ReplyEntry) {
        let ino = lock(&self.inodes).remember(path);
        reply.entry(&TTL, &self.attr(ino, info), Generation(0));
    }

    fn file(&self, fh: FileHandle) -> Result<Arc<Open>, Errno> {
        lock(&self.files).get(&fh.0).cloned().ok_or(Errno::EBADF)
    }

    /// Starts sending the writes gathered for one open file (up to WRITES_IN_FLIGHT at once;
    /// an overlapping one waits for those before it, so writes land in order). A failure of
    /// an earlier write that had to be waited for is returned, and kept for the writer.
    fn send_pending(&self, f: &mut OpenFile) -> Result<(), Errno> {
        let Some((offset, data)) = f.pending.take() else {
            return Ok(());
        };
        let end = offset + data.len() as u64;
        let overlaps = f.inflight.iter().any(|w| w.start < end && offset < w.end);
        let result = self.wait_writes(f, if overlaps { 0 } else { WRITES_IN_FLIGHT - 1 });
        // Sent even after an earlier write failed: these bytes were accepted already.
        let task = self.rt.spawn(write_range(
            self.tree.clone(),
            self.reauth.clone(),
            f.handle,
            offset,
            data,
            BLOCK.min(self.max_io(true)),
        ));
        f.inflight.push_back(InFlight {
            start: offset,
            end,
            task,
        });
        result
    }

    /// Waits until at most `keep` writes are in flight; the first failure is kept for the
    /// writer and returned.
    fn wait_writes(&self, f: &mut OpenFile, keep: usize) -> Result<(), Errno> {
        let mut result = Ok(());
        while f.inflight.len() > keep {
            let Some(w) = f.inflight.pop_front() else {
                break;
            };
            let outcome = match self.rt.block_on(w.task) {
                Ok(r) => r,
                Err(e) => Err(SmbError::Protocol(format!("write task: {e}"))),
            };
            if let Err(e) = outcome {
                let n = self.fail("write", "", &e);
                f.failed.get_or_insert(n);
                if result.is_ok() {
                    result = Err(n);
                }
            }
        }
        result
    }

    /// Sends everything gathered and waits for every write of this open file.
    fn drain(&self, f: &mut OpenFile) -> Result<(), Errno> {
        let sent = self.send_pending(f);
        sent.and(self.wait_writes(f, 0))
    }

    /// The writer's unreported error, if any (reported once).
    fn take_failure(f: &mut OpenFile) -> Result<(), Errno> {
        match f.failed.take() {
            Some(n) => Err(n),
            None => Ok(()),
        }
    }

    /// Reads `len` bytes at `offset`; fewer only at the end of the file.
    fn read_all(&self, h: Handle, offset: u64, len: usize) -> Result<Block, SmbError> {
        self.rt.block_on(read_range(
            self.tree.clone(),
            self.reauth.clone(),
            h,
            offset,
            len,
            self.max_io(false),
        ))
    }

    /// After a whole block was read sequentially, starts reading the next one.
    fn read_ahead(&self, f: &mut OpenFile) {
        let next = match &f.cached {
            Some(b) if b.data.len() == BLOCK && !b.eof => b.at + BLOCK as u64,
            _ => return,
        };
        if f.ahead.as_ref().is_some_and(|(at, _)| *at == next) {
            return;
        }
        let task = self.rt.spawn(read_range(
            self.tree.clone(),
            self.reauth.clone(),
            f.handle,
            next,
            BLOCK,
            self.max_io(false),
        ));
        f.ahead = Some((next, task));
    }

    /// The largest READ or WRITE the server takes (never more than a block).
    fn max_io(&self, write: bool) -> usize {
        let neg = &self.tree.session().connection().negotiated;
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

    /// Attributes: from an open handle when there is one (it reaches unlinked files too),
    /// else by path.
    fn stat(&self, ino: u64, fh: Option<FileHandle>) -> Result<FileInfo, Errno> {
        self.sync_ino(ino);
        // The given handle, else any open handle of the inode (fstat of an unlinked file
        // arrives without one).
        let open = fh
            .and_then(|fh| self.file(fh).ok())
            .or_else(|| lock(&self.files).values().find(|f| f.ino == ino).cloned());
        if let Some(file) = open {
            let h = lock(&file.state).handle;
            return self
                .run(|| self.tree.stat_handle(h))
                .map_err(|e| self.fail("stat", "", &e));
        }
        let path = lock(&self.inodes).path(INodeNo(ino))?;
        self.run(|| self.tree.stat(&path))
            .map_err(|e| self.fail("stat", &path, &e))
    }

    fn open_handle(&self, ino: u64, handle: Handle, writable: bool) -> FileHandle {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        lock(&self.files).insert(
            fh,
            Arc::new(Open {
                ino,
                writable,
                state: Mutex::new(OpenFile {
                    handle,
                    pending: None,
                    inflight: VecDeque::new(),
                    cached: None,
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
        self.sync_ino(ino);
        let handle = fh
            .and_then(|fh| self.file(fh).ok())
            .map(|f| lock(&f.state).handle);
        let path = lock(&self.inodes).path(INodeNo(ino));
        let fail = |e: SmbError| self.fail("setattr", path.as_deref().unwrap_or(""), &e);
        if let Some(size) = size {
            match handle {
                Some(h) if h.info.attributes & 0x10 == 0 => self
                    .run(|| self.tree.set_end_of_file(h, size))
                    .map_err(fail)?,
                _ => {
                    let p = path.as_deref().map_err(|e| *e)?;
                    self.run(|| self.tree.truncate(p, size)).map_err(fail)?
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
                    .run(|| self.tree.set_times_handle(h, 0, a, m, 0))
                    .is_ok(),
                None => false,
            };
            if !by_handle {
                let p = path.as_deref().map_err(|e| *e)?;
                self.run(|| self.tree.set_times(p, 0, a, m, 0))
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
        match self.run(|| self.tree.remove(&path, dir)) {
            Ok(()) => {
                lock(&self.inodes).removed(&path);
                reply.ok();
            }
            Err(e) => reply.error(self.fail(if dir { "rmdir" } else { "rm" }, &path, &e)),
        }
    }

    /// POSIX rename onto an existing name: a file replaces a file, an empty directory
    /// replaces an empty directory; other combinations are the errors POSIX names.
    fn rename_over(&self, from: &str, to: &str) -> Result<(), Errno> {
        let first = self.run(|| self.tree.rename(from, to, true));
        let Err(e) = first else { return Ok(()) };
        let retry = matches!(
            &e,
            SmbError::Status {
                status: NtStatus::ACCESS_DENIED | NtStatus::OBJECT_NAME_COLLISION,
                ..
            }
        );
        if !retry {
            return Err(self.fail("rename", from, &e));
        }
        let (Ok(src), Ok(dst)) = (
            self.run(|| self.tree.stat(from)),
            self.run(|| self.tree.stat(to)),
        ) else {
            return Err(self.fail("rename", from, &e));
        };
        match (src.is_dir(), dst.is_dir()) {
            (false, true) => Err(Errno::EISDIR),
            (true, false) => Err(Errno::ENOTDIR),
            (false, false) => Err(self.fail("rename", from, &e)),
            (true, true) => {
                let empty = self
                    .run(|| self.tree.list(to))
                    .map_err(|e| self.fail("list", to, &e))?
                    .is_empty();
                if !empty {
                    return Err(Errno::ENOTEMPTY);
                }
                self.run(|| self.tree.remove(to, true))
                    .map_err(|e| self.fail("rmdir", to, &e))?;
                self.run(|| self.tree.rename(from, to, false))
                    .map_err(|e| self.fail("rename", from, &e))
            }
        }
    }
}

impl Filesystem for SmbFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Up to 1 MiB per kernel write (the kernel caps this at its own page limit).
        let _ = config.set_max_write(BLOCK as u32);
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let path = lock(&self.inodes).child(parent, name);
        let path = match path {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        // Writes still gathered here would make the server's size too small.
        if let Some(ino) = self.known(&path) {
            self.sync_ino(ino);
        }
        match self.run(|| self.tree.stat(&path)) {
            Ok(info) => self.reply_entry(&path, &info, reply),
            Err(e) => reply.error(self.fail("stat", &path, &e)),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        lock(&self.inodes).forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
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
        // One CREATE: its response carries the attributes (no second request to fail).
        let made = self.run(|| async {
            let h = self
                .tree
                .open(
                    &path,
                    OpenOptions::new(Access::READ_ATTRIBUTES)
                        .disposition(Disposition::Create)
                        .kind(Kind::Directory),
                )
                .await?;
            let _ = self.tree.close(h).await;
            Ok::<_, SmbError>(h.info)
        });
        match made {
            Ok(info) => self.reply_entry(&path, &info, reply),
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
        let (from, to) = {
            let inodes = lock(&self.inodes);
            match (inodes.child(parent, name), inodes.child(newparent, newname)) {
                (Ok(f), Ok(t)) => (f, t),
                (Err(e), _) | (_, Err(e)) => return reply.error(e),
            }
        };
        let result = if flags.contains(RenameFlags::RENAME_NOREPLACE) {
            self.run(|| self.tree.rename(&from, &to, false))
                .map_err(|e| self.fail("rename", &from, &e))
        } else {
            self.rename_over(&from, &to)
        };
        match result {
            Ok(()) => {
                lock(&self.inodes).renamed(&from, &to);
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
        let access = desired_access(match flags.acc_mode() {
            OpenAccMode::O_RDONLY => libc::O_RDONLY,
            OpenAccMode::O_WRONLY => libc::O_WRONLY,
            OpenAccMode::O_RDWR => libc::O_RDWR,
        });
        match self.run(|| {
            self.tree
                .open(&path, OpenOptions::new(access).kind(Kind::File))
        }) {
            Ok(h) => reply.opened(
                self.open_handle(ino.0, h, access.contains(Access::GENERIC_WRITE)),
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
        match self.run(|| {
            self.tree.open(
                &path,
                OpenOptions::new(access).disposition(disp).kind(Kind::File),
            )
        }) {
            Ok(h) => {
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
        match self.read_all(f.handle, offset, len) {
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
        let _ = self.drain(&mut f);
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
            .map(|f| lock(&f.state).handle)
            .collect();
        for h in writers {
            if let Err(e) = self.run(|| self.tree.flush(h)) {
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
        let closed = self
            .run(|| self.tree.close(f.handle))
            .map_err(|e| self.fail("close", "", &e));
        match sent.and(closed) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        // The whole listing is taken at opendir, so readdir offsets stay stable.
        match self.run(|| self.tree.list(&path)) {
            Ok(list) => {
                let inodes = lock(&self.inodes);
                let parent = match path.rfind('/') {
                    Some(i) => inodes.listed(&path[..i]),
                    None => INodeNo::ROOT.0,
                };
                let mut entries = vec![
                    (ino.0, FileType::Directory, ".".to_string()),
                    (parent, FileType::Directory, "..".to_string()),
                ];
                for e in list {
                    let child = if path.is_empty() {
                        e.name.clone()
                    } else {
                        format!("{path}/{}", e.name)
                    };
                    let kind = if e.is_dir() {
                        FileType::Directory
                    } else {
                        FileType::RegularFile
                    };
                    entries.push((inodes.listed(&child), kind, e.name));
                }
                drop(inodes);
                let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
                lock(&self.dirs).insert(fh, entries);
                reply.opened(FileHandle(fh), FopenFlags::empty());
            }
            Err(e) => reply.error(self.fail("list", &path, &e)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let dirs = lock(&self.dirs);
        let Some(entries) = dirs.get(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(start) {
            if reply.add(INodeNo(*ino), (i + 1) as u64, *kind, name) {
                break;
            }
        }
        reply.ok();
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

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match self.run(|| self.tree.fs_size()) {
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

/// Writes `data` at `offset` in requests of up to `chunk` bytes.
async fn write_range(
    tree: Tree,
    reauth: Option<Reauth>,
    h: Handle,
    offset: u64,
    data: Vec<u8>,
    chunk: usize,
) -> Result<(), SmbError> {
    let mut done = 0usize;
    while done < data.len() {
        let end = (done + chunk).min(data.len());
        let at = offset + done as u64;
        let part = &data[done..end];
        let n = retrying(reauth.as_ref(), || tree.write_at(h, at, part)).await? as usize;
        if n == 0 {
            return Err(SmbError::Protocol("the server wrote 0 bytes".into()));
        }
        done += n.min(end - done);
    }
    Ok(())
}

/// Reads `len` bytes at `offset` in requests of up to `chunk` bytes; fewer only at the end
/// of the file (then `eof`).
async fn read_range(
    tree: Tree,
    reauth: Option<Reauth>,
    h: Handle,
    offset: u64,
    len: usize,
    chunk: usize,
) -> Result<Block, SmbError> {
    let mut data = Vec::new();
    let mut eof = false;
    while data.len() < len {
        let ask = (len - data.len()).min(chunk);
        let at = offset + data.len() as u64;
        let got = retrying(reauth.as_ref(), || tree.read_chunk(h, at, ask as u32)).await?;
        let short = got.len() < ask;
        if data.is_empty() && (short || ask == len) {
            // One response holds the whole block: keep it as it arrived.
            return Ok(Block {
                at: offset,
                data: Bytes::Read(got),
                eof: short,
            });
        }
        data.reserve_exact(len.saturating_sub(data.len()));
        data.extend_from_slice(&got);
        if short {
            eof = true;
            break;
        }
    }
    Ok(Block {
        at: offset,
        data: Bytes::Owned(data),
        eof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetimes_round_trip_and_the_epoch_maps_to_1970() {
        assert_eq!(time(UNIX_EPOCH_FILETIME), UNIX_EPOCH);
        let t = UNIX_EPOCH + Duration::from_secs(1_000_000_000) + Duration::from_micros(7);
        assert_eq!(time(filetime(t)), t);
        assert_eq!(time(0), UNIX_EPOCH - Duration::from_secs(11_644_473_600));
        assert!(filetime(UNIX_EPOCH - Duration::from_secs(20_000_000_000)) >= 1);
    }

    #[test]
    fn inodes_follow_renames_forgets_and_removals() {
        let mut i = Inodes::new();
        let d = i.remember("d");
        let f = i.remember("d/f");
        i.remember("d/f");
        assert_eq!(i.remember("d"), d);
        assert_eq!(i.child(INodeNo(d), OsStr::new("x")).unwrap(), "d/x");
        assert_eq!(i.child(INodeNo::ROOT, OsStr::new("x")).unwrap(), "x");
        assert_eq!(i.child(INodeNo(d), OsStr::new("a\\b")), Err(Errno::EINVAL));
        assert_eq!(
            i.child(INodeNo(d), OsStr::new(&"n".repeat(256))),
            Err(Errno::ENAMETOOLONG)
        );
        // Listed names are not stored; known ones keep their number.
        assert_eq!(i.listed("d"), d);
        assert!(i.listed("d/never-looked-up") >= UNLISTED_INO);
        assert!(!i.by_path.contains_key("d/never-looked-up"));
        i.renamed("d", "e");
        assert_eq!(i.path(INodeNo(f)).unwrap(), "e/f");
        assert_eq!(i.by_path.get("e"), Some(&d));
        assert!(!i.by_path.contains_key("d/f"));
        i.forget(f, 1);
        assert_eq!(i.path(INodeNo(f)).unwrap(), "e/f");
        i.forget(f, 1);
        assert_eq!(i.path(INodeNo(f)), Err(Errno::ENOENT));
        assert!(!i.by_path.contains_key("e/f"));
        i.forget(INodeNo::ROOT.0, 10);
        assert_eq!(i.path(INodeNo::ROOT).unwrap(), "");
        // Removed: orphaned (no path), and the name gets a new inode.
        i.removed("e");
        assert_eq!(i.path(INodeNo(d)), Err(Errno::ENOENT));
        assert_ne!(i.remember("e"), d);
        // A rename over an existing name orphans what was there.
        let a = i.remember("a");
        let b = i.remember("b");
        i.renamed("a", "b");
        assert_eq!(i.path(INodeNo(a)).unwrap(), "b");
        assert_eq!(i.path(INodeNo(b)), Err(Errno::ENOENT));
    }

    #[test]
    fn blocks_serve_what_they_hold_and_short_only_at_end_of_file() {
        let b = Block {
            at: 100,
            data: Bytes::Owned(vec![7; 50]),
            eof: false,
        };
        assert_eq!(b.serve(100, 50).map(<[u8]>::len), Some(50));
        assert_eq!(b.serve(120, 10).map(<[u8]>::len), Some(10));
        assert!(b.serve(140, 20).is_none(), "not the end of the file: fetch");
        assert!(b.serve(99, 1).is_none());
        assert!(b.serve(151, 1).is_none());
        let end = Block { eof: true, ..b };
        assert_eq!(end.serve(140, 20).map(<[u8]>::len), Some(10));
        assert_eq!(end.serve(150, 20).map(<[u8]>::len), Some(0));
        assert!(end.serve(u64::MAX, usize::MAX).is_none());
    }

    #[test]
    fn server_statuses_become_errno_values() {
        let s = |status| SmbError::Status {
            command: "CREATE",
            status,
        };
        assert_eq!(errno(&s(NtStatus::OBJECT_NAME_NOT_FOUND)), Errno::ENOENT);
        assert_eq!(errno(&s(NtStatus::ACCESS_DENIED)), Errno::EACCES);
        assert_eq!(errno(&s(NtStatus::CANNOT_DELETE)), Errno::EACCES);
        assert_eq!(errno(&s(NtStatus::OBJECT_NAME_COLLISION)), Errno::EEXIST);
        assert_eq!(errno(&s(NtStatus::DIRECTORY_NOT_EMPTY)), Errno::ENOTEMPTY);
        assert_eq!(errno(&s(NtStatus::NOT_SUPPORTED)), Errno::EOPNOTSUPP);
        assert_eq!(errno(&s(NtStatus::QUOTA_EXCEEDED)), Errno::EDQUOT);
        assert_eq!(errno(&s(NtStatus(0xC000_9999))), Errno::EIO);
        assert_eq!(errno(&SmbError::BadSignature), Errno::EIO);
    }
}
