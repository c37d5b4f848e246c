//! `mount-share mount`: an SMB share as a FUSE file system (fuser, no libfuse).
//!
//! Paths are the identity: inode numbers are handed out per path as the kernel looks names
//! up, and dropped when the kernel forgets them. Every open file is an SMB handle. Writes are
//! gathered into runs of up to 1 MiB (one WRITE each) and sent before anything that needs
//! them on the server (flush/close, fsync, getattr, read, truncate, rename); sequential reads
//! fetch 1 MiB at a time. Errors from the server become errno values (ENOENT, EACCES,
//! EEXIST, ENOTEMPTY, …); anything else is EIO, logged with its cause.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azkrb_smb3::msg::{FileInfo, access, disposition};
use azkrb_smb3::{Error as SmbError, Handle, NtStatus, Tree};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    KernelConfig, LockOwner, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate,
    ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request,
    TimeOrNow, WriteFlags,
};

/// How long the kernel may cache names and attributes.
const TTL: Duration = Duration::from_secs(1);
/// Writes are gathered up to this size; sequential reads fetch this much.
const BLOCK: usize = 1 << 20;
/// FILETIME of the Unix epoch (100 ns units since 1601).
const UNIX_EPOCH_FILETIME: u64 = 116_444_736_000_000_000;
/// FILE_ATTRIBUTE_READONLY.
const READONLY: u32 = 0x1;

/// The share as a FUSE file system.
pub struct SmbFs {
    rt: tokio::runtime::Handle,
    tree: Tree,
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

    fn path(&self, ino: INodeNo) -> Result<String, Errno> {
        self.by_ino
            .get(&ino.0)
            .map(|n| n.path.clone())
            .ok_or(Errno::ENOENT)
    }

    /// The path of `name` in the directory `parent`.
    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<String, Errno> {
        let dir = self.path(parent)?;
        let name = name.to_str().ok_or(Errno::EINVAL)?;
        // A backslash would be a separator on the server; these are not valid in SMB names.
        if name.is_empty() || name.contains(['\\', '/', ':', '*', '?', '"', '<', '>', '|']) {
            return Err(Errno::EINVAL);
        }
        Ok(if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        })
    }

    /// The inode for `path`, with `lookups` more references held by the kernel.
    fn remember(&mut self, path: &str, lookups: u64) -> u64 {
        if let Some(&ino) = self.by_path.get(path) {
            if let Some(n) = self.by_ino.get_mut(&ino) {
                n.lookups += lookups;
            }
            return ino;
        }
        let ino = self.next;
        self.next += 1;
        self.by_ino.insert(
            ino,
            Node {
                path: path.to_string(),
                lookups,
            },
        );
        self.by_path.insert(path.to_string(), ino);
        ino
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

    /// `path` no longer exists: its name is free for a new inode.
    fn removed(&mut self, path: &str) {
        self.by_path.remove(path);
    }

    /// `from` (and everything below it) is now `to`.
    fn renamed(&mut self, from: &str, to: &str) {
        self.by_path.remove(to);
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
    state: Mutex<OpenFile>,
}

/// An open file's SMB handle, the writes gathered but not yet sent, and the last block read.
struct OpenFile {
    handle: Handle,
    pending: Option<(u64, Vec<u8>)>,
    cached: Option<(u64, Vec<u8>)>,
}

/// The errno for an SMB error.
fn errno(e: &SmbError) -> Errno {
    match e {
        SmbError::Status { status, .. } => match *status {
            NtStatus::OBJECT_NAME_NOT_FOUND
            | NtStatus::OBJECT_PATH_NOT_FOUND
            | NtStatus::NO_SUCH_FILE
            | NtStatus::DELETE_PENDING => Errno::ENOENT,
            NtStatus::ACCESS_DENIED => Errno::EACCES,
            NtStatus::OBJECT_NAME_COLLISION => Errno::EEXIST,
            NtStatus::DIRECTORY_NOT_EMPTY => Errno::ENOTEMPTY,
            NtStatus::NOT_A_DIRECTORY => Errno::ENOTDIR,
            NtStatus::FILE_IS_A_DIRECTORY => Errno::EISDIR,
            NtStatus::SHARING_VIOLATION => Errno::EBUSY,
            NtStatus::OBJECT_NAME_INVALID | NtStatus::INVALID_PARAMETER => Errno::EINVAL,
            NtStatus::DISK_FULL => Errno::ENOSPC,
            NtStatus::NOT_SUPPORTED => Errno::ENOSYS,
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

impl SmbFs {
    /// A file system over `tree`, run on `rt`; files appear owned by `uid`:`gid`.
    pub fn new(rt: tokio::runtime::Handle, tree: Tree, uid: u32, gid: u32) -> Self {
        Self {
            rt,
            tree,
            uid,
            gid,
            inodes: Mutex::new(Inodes::new()),
            files: Mutex::new(HashMap::new()),
            dirs: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
        }
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

    /// Stats `path` and answers with a new reference to its inode.
    fn entry(&self, path: &str, reply: ReplyEntry) {
        match self.rt.block_on(self.tree.stat(path)) {
            Ok(info) => {
                let ino = lock(&self.inodes).remember(path, 1);
                reply.entry(&TTL, &self.attr(ino, &info), Generation(0));
            }
            Err(e) => reply.error(self.fail("stat", path, &e)),
        }
    }

    fn file(&self, fh: FileHandle) -> Result<Arc<Open>, Errno> {
        lock(&self.files).get(&fh.0).cloned().ok_or(Errno::EBADF)
    }

    /// Sends the writes gathered for one open file.
    fn send_pending(&self, f: &mut OpenFile) -> Result<(), SmbError> {
        let Some((offset, data)) = f.pending.take() else {
            return Ok(());
        };
        self.write_all(f.handle, offset, &data)
    }

    fn write_all(&self, h: Handle, offset: u64, data: &[u8]) -> Result<(), SmbError> {
        let chunk = BLOCK.min(self.tree_max_write());
        let mut done = 0usize;
        while done < data.len() {
            let end = (done + chunk).min(data.len());
            let n = self.rt.block_on(self.tree.write_at(
                h,
                offset + done as u64,
                &data[done..end],
            ))? as usize;
            if n == 0 {
                return Err(SmbError::Protocol("the server wrote 0 bytes".into()));
            }
            done += n.min(end - done);
        }
        Ok(())
    }

    fn tree_max_write(&self) -> usize {
        (self.tree.session().connection().negotiated.max_write as usize).max(1)
    }

    /// Sends every open file's gathered writes to `ino` and drops its cached reads, so the
    /// server's view (size, contents) is current.
    fn sync_ino(&self, ino: u64) -> Result<(), SmbError> {
        let open: Vec<_> = lock(&self.files)
            .values()
            .filter(|f| f.ino == ino)
            .cloned()
            .collect();
        for f in open {
            let mut f = lock(&f.state);
            f.cached = None;
            self.send_pending(&mut f)?;
        }
        Ok(())
    }

    fn open_handle(&self, ino: u64, handle: Handle) -> FileHandle {
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        lock(&self.files).insert(
            fh,
            Arc::new(Open {
                ino,
                state: Mutex::new(OpenFile {
                    handle,
                    pending: None,
                    cached: None,
                }),
            }),
        );
        FileHandle(fh)
    }
}

fn desired_access(flags: OpenFlags) -> u32 {
    match flags.acc_mode() {
        OpenAccMode::O_RDONLY => access::READ,
        OpenAccMode::O_WRONLY => access::WRITE,
        OpenAccMode::O_RDWR => access::READ | access::WRITE,
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
        match path {
            Ok(path) => self.entry(&path, reply),
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        lock(&self.inodes).forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        if let Err(e) = self.sync_ino(ino.0) {
            return reply.error(self.fail("write", &path, &e));
        }
        match self.rt.block_on(self.tree.stat(&path)) {
            Ok(info) => reply.attr(&TTL, &self.attr(ino.0, &info)),
            Err(e) => reply.error(self.fail("stat", &path, &e)),
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
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // Modes and owners are not SMB's to change here; the server's ACLs decide access.
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let result = (|| {
            self.sync_ino(ino.0)?;
            if let Some(size) = size {
                self.rt.block_on(self.tree.truncate(&path, size))?;
            }
            if atime.is_some() || mtime.is_some() {
                let ft = |t: Option<TimeOrNow>| match t {
                    None => 0,
                    Some(TimeOrNow::Now) => filetime(SystemTime::now()),
                    Some(TimeOrNow::SpecificTime(t)) => filetime(t),
                };
                self.rt
                    .block_on(self.tree.set_times(&path, 0, ft(atime), ft(mtime), 0))?;
            }
            self.rt.block_on(self.tree.stat(&path))
        })();
        match result {
            Ok(info) => reply.attr(&TTL, &self.attr(ino.0, &info)),
            Err(e) => reply.error(self.fail("setattr", &path, &e)),
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
        match self.rt.block_on(self.tree.mkdir(&path)) {
            Ok(()) => self.entry(&path, reply),
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
        let replace = !flags.contains(RenameFlags::RENAME_NOREPLACE);
        let mut result = self.rt.block_on(self.tree.rename(&from, &to, replace));
        // POSIX rename replaces an empty directory too; SMB's replace covers files only.
        if replace
            && let Err(SmbError::Status {
                status: NtStatus::ACCESS_DENIED | NtStatus::OBJECT_NAME_COLLISION,
                ..
            }) = &result
            && let Ok(target) = self.rt.block_on(self.tree.stat(&to))
            && target.is_dir()
            && self.rt.block_on(self.tree.remove(&to, true)).is_ok()
        {
            result = self.rt.block_on(self.tree.rename(&from, &to, false));
        }
        match result {
            Ok(()) => {
                lock(&self.inodes).renamed(&from, &to);
                reply.ok();
            }
            Err(e) => reply.error(self.fail("rename", &from, &e)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        match self.rt.block_on(self.tree.create(
            &path,
            desired_access(flags),
            disposition::OPEN,
            access::NON_DIRECTORY_FILE,
        )) {
            Ok(h) => reply.opened(self.open_handle(ino.0, h), FopenFlags::empty()),
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
        let disp = if flags & libc_flags::O_EXCL != 0 {
            disposition::CREATE
        } else if flags & libc_flags::O_TRUNC != 0 {
            disposition::OVERWRITE_IF
        } else {
            disposition::OPEN_IF
        };
        // Read access too: the kernel may read pages back to fill partial writes.
        let result = self.rt.block_on(async {
            let h = self
                .tree
                .create(
                    &path,
                    access::READ | access::WRITE,
                    disp,
                    access::NON_DIRECTORY_FILE,
                )
                .await?;
            match self.tree.stat(&path).await {
                Ok(info) => Ok((h, info)),
                Err(e) => {
                    let _ = self.tree.close(h).await;
                    Err(e)
                }
            }
        });
        match result {
            Ok((h, info)) => {
                let ino = lock(&self.inodes).remember(&path, 1);
                let fh = self.open_handle(ino, h);
                reply.created(
                    &TTL,
                    &self.attr(ino, &info),
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
        _ino: INodeNo,
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
        let mut f = lock(&file.state);
        if let Err(e) = self.send_pending(&mut f) {
            return reply.error(self.fail("write", "", &e));
        }
        let want = size as usize;
        if let Some((at, data)) = &f.cached
            && offset >= *at
        {
            let start = (offset - at) as usize;
            // Served from the block when it holds all of it, or all there is (end of file).
            if start <= data.len() && (start + want <= data.len() || data.len() < BLOCK) {
                let end = (start + want).min(data.len());
                return reply.data(&data[start..end]);
            }
        }
        // Sequential: fetch a whole block; otherwise just what was asked.
        let sequential = matches!(&f.cached, Some((at, data)) if *at + data.len() as u64 == offset);
        let len = if sequential || offset == 0 {
            want.max(BLOCK)
        } else {
            want
        };
        let len = len.min(self.tree_read_max());
        match self
            .rt
            .block_on(self.tree.read_at(f.handle, offset, len as u32))
        {
            Ok(data) => {
                reply.data(&data[..want.min(data.len())]);
                f.cached = Some((offset, data));
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
        // Other handles' cached reads of this file are stale now.
        let others: Vec<_> = lock(&self.files)
            .values()
            .filter(|o| o.ino == ino.0 && !Arc::ptr_eq(o, &file))
            .cloned()
            .collect();
        for other in others {
            lock(&other.state).cached = None;
        }
        let mut f = lock(&file.state);
        f.cached = None;
        let appends = matches!(&f.pending, Some((at, buf))
            if *at + buf.len() as u64 == offset && buf.len() + data.len() <= BLOCK);
        if appends {
            if let Some((_, buf)) = &mut f.pending {
                buf.extend_from_slice(data);
            }
            return reply.written(len);
        }
        if let Err(e) = self.send_pending(&mut f) {
            return reply.error(self.fail("write", "", &e));
        }
        if data.len() >= BLOCK {
            return match self.write_all(f.handle, offset, data) {
                Ok(()) => reply.written(len),
                Err(e) => reply.error(self.fail("write", "", &e)),
            };
        }
        let mut buf = Vec::with_capacity(BLOCK);
        buf.extend_from_slice(data);
        f.pending = Some((offset, buf));
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
        match self.send_pending(&mut f) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(self.fail("write", "", &e)),
        }
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let file = match self.file(fh) {
            Ok(f) => f,
            Err(e) => return reply.error(e),
        };
        let mut f = lock(&file.state);
        let result = self
            .send_pending(&mut f)
            .and_then(|()| self.rt.block_on(self.tree.flush(f.handle)));
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(self.fail("fsync", "", &e)),
        }
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
        let sent = self.send_pending(&mut f);
        let closed = self.rt.block_on(self.tree.close(f.handle));
        match sent.and(closed) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(self.fail("close", "", &e)),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        // The whole listing is taken at opendir, so readdir offsets stay stable.
        match self.rt.block_on(self.tree.list(&path)) {
            Ok(list) => {
                let parent = match path.rfind('/') {
                    Some(i) => lock(&self.inodes).remember(&path[..i], 0),
                    None => INodeNo::ROOT.0,
                };
                let mut entries = vec![
                    (ino.0, FileType::Directory, ".".to_string()),
                    (parent, FileType::Directory, "..".to_string()),
                ];
                let mut inodes = lock(&self.inodes);
                for e in list {
                    let child = if path.is_empty() {
                        e.name.clone()
                    } else {
                        format!("{path}/{}", e.name)
                    };
                    // The number a later lookup of this name will return.
                    let child_ino = inodes.remember(&child, 0);
                    let kind = if e.is_dir() {
                        FileType::Directory
                    } else {
                        FileType::RegularFile
                    };
                    entries.push((child_ino, kind, e.name));
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
        match self.rt.block_on(self.tree.fs_size()) {
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

impl SmbFs {
    fn tree_read_max(&self) -> usize {
        (self.tree.session().connection().negotiated.max_read as usize).clamp(1, BLOCK)
    }

    fn remove(&self, parent: INodeNo, name: &OsStr, dir: bool, reply: ReplyEmpty) {
        let path = match lock(&self.inodes).child(parent, name) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        match self.rt.block_on(self.tree.remove(&path, dir)) {
            Ok(()) => {
                lock(&self.inodes).removed(&path);
                reply.ok();
            }
            Err(e) => reply.error(self.fail(if dir { "rmdir" } else { "rm" }, &path, &e)),
        }
    }
}

/// open(2) flags as Linux defines them (the kernel passes them through unchanged).
mod libc_flags {
    pub const O_EXCL: i32 = 0o200;
    pub const O_TRUNC: i32 = 0o1000;
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
    fn inodes_follow_renames_and_forgets() {
        let mut i = Inodes::new();
        let d = i.remember("d", 1);
        let f = i.remember("d/f", 2);
        assert_eq!(i.remember("d", 1), d);
        assert_eq!(i.child(INodeNo(d), OsStr::new("x")).unwrap(), "d/x");
        assert_eq!(i.child(INodeNo::ROOT, OsStr::new("x")).unwrap(), "x");
        assert_eq!(i.child(INodeNo(d), OsStr::new("a\\b")), Err(Errno::EINVAL));
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
        i.removed("e");
        assert_ne!(i.remember("e", 1), d);
    }

    #[test]
    fn server_statuses_become_errno_values() {
        let s = |status| SmbError::Status {
            command: "CREATE",
            status,
        };
        assert_eq!(errno(&s(NtStatus::OBJECT_NAME_NOT_FOUND)), Errno::ENOENT);
        assert_eq!(errno(&s(NtStatus::ACCESS_DENIED)), Errno::EACCES);
        assert_eq!(errno(&s(NtStatus::OBJECT_NAME_COLLISION)), Errno::EEXIST);
        assert_eq!(errno(&s(NtStatus::DIRECTORY_NOT_EMPTY)), Errno::ENOTEMPTY);
        assert_eq!(errno(&s(NtStatus(0xC000_9999))), Errno::EIO);
        assert_eq!(errno(&SmbError::BadSignature), Errno::EIO);
    }
}
