//! Inode numbers by path and back: handed out as the kernel looks names up, dropped when it
//! forgets them; an unlinked or replaced inode is orphaned (only its open handles reach it).

use std::collections::HashMap;
use std::ffi::OsStr;

use fuser::{Errno, INodeNo};

/// Directory entries the kernel has not looked up get d_ino values from here up (a hash of
/// the path): real inode numbers count up from 2 and never get near.
const UNLISTED_INO: u64 = 1 << 63;

struct Node {
    path: String,
    lookups: u64,
    /// Unlinked or replaced: the path no longer names this inode.
    orphan: bool,
}

/// Inode numbers by path and back. The root is inode 1 with the empty path.
pub(super) struct Inodes {
    by_ino: HashMap<u64, Node>,
    pub(super) by_path: HashMap<String, u64>,
    next: u64,
}

/// A name the mount hands out and takes: not empty, at most 255 bytes, and none of the
/// characters that are separators or wildcards on the server (or end a name for the
/// kernel). A name a server lists otherwise is left out of listings.
pub(super) fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.contains(['\\', '/', ':', '*', '?', '"', '<', '>', '|', '\0'])
}

impl Inodes {
    pub(super) fn new() -> Self {
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
    pub(super) fn path(&self, ino: INodeNo) -> Result<String, Errno> {
        match self.by_ino.get(&ino.0) {
            Some(n) if !n.orphan => Ok(n.path.clone()),
            _ => Err(Errno::ENOENT),
        }
    }

    /// The path of `name` in the directory `parent`.
    pub(super) fn child(&self, parent: INodeNo, name: &OsStr) -> Result<String, Errno> {
        let dir = self.path(parent)?;
        let name = name.to_str().ok_or(Errno::EINVAL)?;
        if name.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        if !usable_name(name) {
            return Err(Errno::EINVAL);
        }
        Ok(if dir.is_empty() {
            name.to_string()
        } else {
            format!("{dir}/{name}")
        })
    }

    /// The inode for `path`, with one more reference held by the kernel.
    pub(super) fn remember(&mut self, path: &str) -> u64 {
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
    pub(super) fn listed(&self, path: &str) -> u64 {
        use std::hash::{DefaultHasher, Hash, Hasher};
        if let Some(&ino) = self.by_path.get(path) {
            return ino;
        }
        let mut h = DefaultHasher::new();
        path.hash(&mut h);
        h.finish() | UNLISTED_INO
    }

    pub(super) fn forget(&mut self, ino: u64, n: u64) {
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
    pub(super) fn removed(&mut self, path: &str) {
        if let Some(ino) = self.by_path.remove(path)
            && let Some(n) = self.by_ino.get_mut(&ino)
        {
            n.orphan = true;
        }
    }

    /// `from` (and everything below it) is now `to`; what `to` named before is orphaned.
    pub(super) fn renamed(&mut self, from: &str, to: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
