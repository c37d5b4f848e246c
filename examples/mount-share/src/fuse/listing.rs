//! Attributes: directory listings and the attributes they bring, stats, and what the
//! mount keeps of both. A listing is a stat of every entry
//! (FileIdBothDirectoryInformation carries each one's times, sizes and attributes), so a
//! directory is read in one round trip and `ls -l` of it needs no other: READDIRPLUS
//! hands the kernel every entry with its attributes, and lookups that follow are answered
//! from what the listing (or a stat) brought, while it is fresh.
//!
//! The names a listing brought answer lookups of names not in it (a file about to be
//! created, say) without asking the server either.
//!
//! Freshness is a time, [`ATTR_CACHE`] (the kernel keeps names and attributes as long):
//! a file another client makes, changes or removes is seen by the mount at most that
//! late. The bytes of a small file read here are kept longer, under the lease they were
//! read with (see `leased`). Anything this mount changes updates or drops what it kept of the paths involved
//! at once, and a file with an open handle here is always asked of the server (its writes
//! may still be on their way).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use azkrb::smb3::msg::{DirEntry, FileInfo};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, FopenFlags, Generation, INodeNo, ReplyDirectory,
    ReplyDirectoryPlus, ReplyEntry, ReplyOpen,
};

use super::convert::{lock, time};
use super::inodes::usable_name;
use super::{BLOCK, READONLY, SmbFs, TTL};

/// How long attributes from a listing or a stat answer lookups.
pub(super) const ATTR_CACHE: Duration = TTL;
/// A lookup in a directory listed before, whose listing has gone stale, lists it again
/// (one round trip that answers the lookups of every name in it for a while) when it held
/// at most this many names; in a larger one it asks about the one name.
const RELIST_MAX: usize = 4096;

/// Entries a READDIRPLUS call considers at most (more than its reply can hold).
const PLUS_WINDOW: usize = 1024;

/// One entry of an open directory's listing.
pub(super) struct Slot {
    /// The inode of "." and ".."; 0 for the entries (numbered as they are handed out).
    ino: u64,
    kind: FileType,
    name: String,
    /// The entry's path and attributes (not for "." and "..").
    entry: Option<(String, FileInfo)>,
}

/// Attributes by path, and the names in listed directories, with the time they were
/// learnt.
#[derive(Default)]
pub(super) struct AttrCache {
    by_path: HashMap<String, (FileInfo, Instant)>,
    names: HashMap<String, (HashSet<String>, Instant)>,
}

/// How much longer something learnt at `at` stays fresh (zero once stale).
fn left(at: Instant) -> Duration {
    ATTR_CACHE.saturating_sub(at.elapsed())
}

/// A name as the server compares names (case-insensitively), for the listed-names sets.
fn folded(name: &str) -> String {
    name.to_lowercase()
}

impl AttrCache {
    /// The attributes of `path` and how much longer they are fresh, if they still are.
    pub(super) fn get(&self, path: &str) -> Option<(FileInfo, Duration)> {
        let (info, at) = self.by_path.get(path)?;
        let left = left(*at);
        (!left.is_zero()).then_some((*info, left))
    }

    /// Keeps `info` as `path`'s attributes, learnt now.
    pub(super) fn put(&mut self, path: &str, info: &FileInfo) {
        self.put_at(path, info, Instant::now());
    }

    /// Keeps `info` as `path`'s attributes, learnt at `at`.
    pub(super) fn put_at(&mut self, path: &str, info: &FileInfo, at: Instant) {
        if self.by_path.len() > 100_000 {
            self.by_path.retain(|_, (_, at)| at.elapsed() < ATTR_CACHE);
        }
        self.by_path.insert(path.to_string(), (*info, at));
    }

    /// `path` changed here: what was kept of it and of its directory's attributes is
    /// stale.
    pub(super) fn changed(&mut self, path: &str) {
        self.by_path.remove(path);
        self.by_path.remove(parent_of(path).0);
    }

    /// The names in directory `dir`, as listed now (a directory made here: none).
    pub(super) fn listed<'a>(&mut self, dir: &str, names: impl Iterator<Item = &'a str>) {
        if self.names.len() > 10_000 {
            self.names.retain(|_, (_, at)| at.elapsed() < ATTR_CACHE);
        }
        let names = names.map(folded).collect();
        self.names.insert(dir.to_string(), (names, Instant::now()));
    }

    /// `path` was made here (its directory's listing gains the name).
    pub(super) fn added(&mut self, path: &str) {
        let (dir, name) = parent_of(path);
        if let Some((names, _)) = self.names.get_mut(dir) {
            names.insert(folded(name));
        }
    }

    /// `path` was removed here.
    pub(super) fn gone(&mut self, path: &str) {
        self.by_path.remove(path);
        self.names.remove(path);
        let (dir, name) = parent_of(path);
        if let Some((names, _)) = self.names.get_mut(dir) {
            names.remove(&folded(name));
        }
    }

    /// `path` is not in its directory's fresh listing (no need to ask the server): for
    /// how much longer that holds. Names compare as the server compares them, without
    /// regard to case.
    pub(super) fn absent(&self, path: &str) -> Option<Duration> {
        let (dir, name) = parent_of(path);
        let (names, at) = self.names.get(dir)?;
        let left = left(*at);
        (!left.is_zero() && !names.contains(&folded(name))).then_some(left)
    }

    /// `dir` was listed here once and held few enough names to list again rather than
    /// ask the server about one name (its listing has gone stale).
    pub(super) fn relist_worthy(&self, dir: &str) -> bool {
        self.names
            .get(dir)
            .is_some_and(|(names, _)| names.len() <= RELIST_MAX)
    }

    /// Paths moved (a rename): nothing kept is trusted.
    pub(super) fn clear(&mut self) {
        self.by_path.clear();
        self.names.clear();
    }
}

/// What a lookup found: the attributes, or that there is no such name; and for how long
/// the kernel may keep the answer.
pub(super) enum Found {
    Entry(FileInfo, Duration),
    Absent(Duration),
}

/// The directory of `path` and the name in it ("" is the share's root).
fn parent_of(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

/// The path of `name` in directory `dir`.
fn child_of(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn kind_of(e: &DirEntry) -> FileType {
    if e.is_dir() {
        FileType::Directory
    } else {
        FileType::RegularFile
    }
}

impl SmbFs {
    pub(super) fn attr(&self, ino: u64, info: &FileInfo) -> FileAttr {
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
    pub(super) fn reply_entry(
        &self,
        path: &str,
        info: &FileInfo,
        ttl: Duration,
        reply: ReplyEntry,
    ) {
        let ino = lock(&self.inodes).remember(path);
        reply.entry(&ttl, &self.attr(ino, info), Generation(0));
    }

    /// Attributes: from an open handle when there is one (it reaches unlinked files too),
    /// else by path.
    pub(super) fn stat(&self, ino: u64, fh: Option<FileHandle>) -> Result<FileInfo, Errno> {
        self.sync_ino(ino);
        // The given handle, else any open handle of the inode (fstat of an unlinked file
        // arrives without one).
        let open = fh.and_then(|fh| self.file(fh).ok()).or_else(|| {
            let files = lock(&self.files);
            let mine = files.values().filter(|f| f.ino == ino);
            let mut handles = mine.clone().filter(|f| lock(&f.state).handle.is_some());
            handles.next().or_else(|| mine.clone().next()).cloned()
        });
        if let Some(file) = open {
            let (handle, known) = {
                let f = lock(&file.state);
                (f.handle, f.attrs.filter(|_| !f.reopen))
            };
            let path = lock(&self.inodes).path(INodeNo(ino));
            match (handle, known) {
                (_, Some((info, at))) if at.elapsed() < ATTR_CACHE => return Ok(info),
                (Some(h), _) => {
                    return self
                        .run(|t| async move { t.stat_handle(h).await })
                        .map_err(|e| self.fail("stat", "", &e));
                }
                // Read whole at the open and unlinked since: as it was then (no path
                // reaches it any more).
                (None, Some((info, _))) if path.is_err() => return Ok(info),
                // Read whole at the open a while ago: by path.
                (None, _) => {}
            }
        }
        let path = lock(&self.inodes).path(INodeNo(ino))?;
        if let Some((info, _)) = self.cached_attrs(&path) {
            return Ok(info);
        }
        self.stat_path(&path)
    }

    /// Attributes of `path` from the server (kept for the lookups that follow).
    pub(super) fn stat_path(&self, path: &str) -> Result<FileInfo, Errno> {
        let info = self
            .run(|t| async move { t.stat(path).await })
            .map_err(|e| self.fail("stat", path, &e))?;
        lock(&self.attrs).put(path, &info);
        Ok(info)
    }

    /// `path` changes here (created, written, removed, truncated): attributes kept of it
    /// and of its directory are stale.
    pub(super) fn changed(&self, path: &str) {
        self.kept.let_go(path);
        lock(&self.attrs).changed(path);
    }

    /// The inode of `path`, if a handle of it is open here (its writes may be on their
    /// way: what was kept of it does not count).
    fn open_here(&self, path: &str) -> Option<u64> {
        let ino = self.known(path)?;
        lock(&self.files)
            .values()
            .any(|f| f.ino == ino)
            .then_some(ino)
    }

    /// Attributes of `path` kept from a listing or a stat, and how much longer they are
    /// fresh, unless a handle of it is open here.
    pub(super) fn cached_attrs(&self, path: &str) -> Option<(FileInfo, Duration)> {
        if self.open_here(path).is_some() {
            return None;
        }
        lock(&self.attrs).get(path)
    }

    /// Keeps what a listing of `dir` says: its names, and each entry's attributes.
    fn learn(&self, dir: &str, list: &[DirEntry]) {
        let mut attrs = lock(&self.attrs);
        attrs.listed(dir, list.iter().map(|e| e.name.as_str()));
        for e in list {
            attrs.put(&child_of(dir, &e.name), &e.info);
        }
    }

    /// What the mount knows of `path` while it is fresh.
    fn known_now(&self, path: &str) -> Option<Found> {
        if let Some((info, left)) = self.cached_attrs(path) {
            return Some(Found::Entry(info, left));
        }
        let absent = lock(&self.attrs).absent(path);
        absent.map(Found::Absent)
    }

    /// LOOKUP: the attributes of `path`, or that it does not exist, and for how long the
    /// kernel may keep the answer. From what the mount keeps while fresh; else from a new
    /// listing of its directory (one listed before and small, for a file not open here);
    /// else from the server.
    pub(super) fn look_up(&self, path: &str) -> Result<Found, Errno> {
        if let Some(found) = self.known_now(path) {
            return Ok(found);
        }
        let open = self.open_here(path);
        let dir = parent_of(path).0;
        if open.is_none()
            && lock(&self.attrs).relist_worthy(dir)
            && let Ok(list) = self.run(|t| async move { t.list(dir).await })
        {
            self.learn(dir, &list);
            if let Some(found) = self.known_now(path) {
                return Ok(found);
            }
        }
        // Writes still gathered here would make the server's size too small.
        if let Some(ino) = open {
            self.sync_ino(ino);
        }
        match self.stat_path(path) {
            Ok(info) => Ok(Found::Entry(info, TTL)),
            Err(Errno::ENOENT) => Ok(Found::Absent(TTL)),
            Err(e) => Err(e),
        }
    }

    /// OPENDIR: the whole listing, taken now (readdir offsets stay stable), in one round
    /// trip; every entry's attributes are kept for the lookups that follow.
    pub(super) fn open_listing(&self, ino: INodeNo, reply: ReplyOpen) {
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let list = match self.run(|t| {
            let path = &path;
            async move { t.list(path).await }
        }) {
            Ok(list) => list,
            Err(e) => return reply.error(self.fail("list", &path, &e)),
        };
        let parent = match path.rfind('/') {
            Some(i) => lock(&self.inodes).listed(&path[..i]),
            None => INodeNo::ROOT.0,
        };
        let mut slots = vec![
            Slot {
                ino: ino.0,
                kind: FileType::Directory,
                name: ".".into(),
                entry: None,
            },
            Slot {
                ino: parent,
                kind: FileType::Directory,
                name: "..".into(),
                entry: None,
            },
        ];
        let list: Vec<DirEntry> = list
            .into_iter()
            .filter(|e| {
                let usable = usable_name(&e.name);
                if !usable {
                    tracing::warn!("{path}: left out a name the server listed: {:?}", e.name);
                }
                usable
            })
            .collect();
        self.learn(&path, &list);
        for e in list {
            let child = child_of(&path, &e.name);
            slots.push(Slot {
                ino: 0,
                kind: kind_of(&e),
                name: e.name,
                entry: Some((child, e.info)),
            });
        }
        let fh = self.next_fh();
        lock(&self.dirs).insert(fh, (Instant::now(), slots));
        reply.opened(FileHandle(fh), FopenFlags::empty());
    }

    /// READDIR: names, kinds and inode numbers (of names the kernel has not looked up: a
    /// stable number from the path).
    pub(super) fn fill_dir(&self, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let dirs = lock(&self.dirs);
        let Some((_, slots)) = dirs.get(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let inodes = lock(&self.inodes);
        for (i, s) in slots.iter().enumerate().skip(start) {
            let ino = match &s.entry {
                Some((path, _)) => inodes.listed(path),
                None => s.ino,
            };
            if reply.add(INodeNo(ino), (i + 1) as u64, s.kind, &s.name) {
                break;
            }
        }
        reply.ok();
    }

    /// READDIRPLUS: each entry with its attributes, as a lookup would answer (the kernel
    /// then holds a reference to each entry's inode, as after a lookup), for what is left
    /// of the listing's freshness. A file open here is asked of the server afresh (the
    /// kernel takes the size given: one short of writes still gathered would cut the
    /// file); a name removed here since the listing is left out.
    pub(super) fn fill_dir_plus(&self, fh: FileHandle, offset: u64, mut reply: ReplyDirectoryPlus) {
        let mut start = usize::try_from(offset).unwrap_or(usize::MAX);
        type Entries = Vec<(usize, Option<(String, FileInfo)>)>;
        let mut answers = Vec::new();
        // A reply holds some dozens of entries: no more than a window of them is looked
        // at per call (the kernel asks again from where this one ends), so a directory of
        // a million names is handed out in linear time. A window whose names were all
        // removed here is passed over (an empty reply would end the listing).
        loop {
            let (listed_at, entries, total): (Instant, Entries, usize) = {
                let dirs = lock(&self.dirs);
                let Some((at, slots)) = dirs.get(&fh.0) else {
                    return reply.error(Errno::EBADF);
                };
                let entries = slots
                    .iter()
                    .enumerate()
                    .skip(start)
                    .take(PLUS_WINDOW)
                    .map(|(i, s)| (i, s.entry.clone()))
                    .collect();
                (*at, entries, slots.len())
            };
            let ttl = left(listed_at);
            for (i, entry) in entries {
                let entry = match entry {
                    Some((path, info)) => {
                        if self.open_here(&path).is_some() {
                            match self.look_up(&path) {
                                Ok(Found::Entry(info, ttl)) => Some((path, info, ttl)),
                                _ => continue,
                            }
                        } else if lock(&self.attrs).absent(&path).is_some() {
                            continue;
                        } else {
                            Some((path, info, ttl))
                        }
                    }
                    None => None,
                };
                answers.push((i, entry));
            }
            start = start.saturating_add(PLUS_WINDOW);
            if !answers.is_empty() || start >= total {
                break;
            }
        }
        let dirs = lock(&self.dirs);
        let Some((_, slots)) = dirs.get(&fh.0) else {
            return reply.error(Errno::EBADF);
        };
        let mut inodes = lock(&self.inodes);
        for (i, entry) in answers {
            let Some(s) = slots.get(i) else { break };
            let next = (i + 1) as u64;
            let full = match entry {
                Some((path, info, ttl)) => {
                    let ino = inodes.remember(&path);
                    let full = reply.add(
                        INodeNo(ino),
                        next,
                        &s.name,
                        &ttl,
                        &self.attr(ino, &info),
                        Generation(0),
                    );
                    if full {
                        // Not handed out: no reference taken.
                        inodes.forget(ino, 1);
                    }
                    full
                }
                // "." and "..": the kernel takes neither attributes nor a reference.
                None => reply.add(
                    INodeNo(s.ino),
                    next,
                    &s.name,
                    &Duration::ZERO,
                    &self.attr(
                        s.ino,
                        &FileInfo {
                            attributes: 0x10,
                            ..FileInfo::default()
                        },
                    ),
                    Generation(0),
                ),
            };
            if full {
                break;
            }
        }
        reply.ok();
    }
}
