//! A file's Windows security descriptor as extended attributes, under the names and with the
//! meanings the Linux kernel's CIFS client gives them, so `getfattr -e hex` and cifs-utils'
//! `getcifsacl`/`setcifsacl` work on the mount as on a `mount.cifs` one. Each reads the
//! self-relative descriptor; writing sets only its parts:
//! - `system.cifs_acl`: reads owner, group and DACL; writes the DACL;
//! - `system.cifs_ntsd`: reads and writes owner, group and DACL;
//! - `system.cifs_ntsd_full`: the SACL too (the server asks for the right to it).

use std::ffi::OsStr;

use azkrb::acl::SecurityDescriptor;
use azkrb::smb3::security::parts;
use fuser::{Errno, INodeNo, ReplyEmpty, ReplyXattr};

use super::SmbFs;
use super::convert::lock;

/// The attribute listed.
pub(super) const NAME: &str = "system.cifs_acl";

/// The parts an attribute reads and those it writes.
fn parts_of(name: &OsStr) -> Option<(u32, u32)> {
    let ogd = parts::OWNER | parts::GROUP | parts::DACL;
    match name.to_str()? {
        "system.cifs_acl" => Some((ogd, parts::DACL)),
        "system.cifs_ntsd" => Some((ogd, ogd)),
        "system.cifs_ntsd_full" => Some((ogd | parts::SACL, ogd | parts::SACL)),
        _ => None,
    }
}

/// `listxattr`'s answer: the one name, NUL-terminated.
fn names() -> Vec<u8> {
    let mut v = NAME.as_bytes().to_vec();
    v.push(0);
    v
}

/// Answers with `value` as a getxattr/listxattr of `size` wants it.
fn reply_value(value: &[u8], size: u32, reply: ReplyXattr) {
    let Ok(len) = u32::try_from(value.len()) else {
        return reply.error(Errno::E2BIG);
    };
    if size == 0 {
        reply.size(len);
    } else if size < len {
        reply.error(Errno::ERANGE);
    } else {
        reply.data(value);
    }
}

impl SmbFs {
    pub(super) fn get_acl_xattr(&self, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        let Some((reads, _)) = parts_of(name) else {
            return reply.error(Errno::ENODATA);
        };
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let got = self.run(|t| {
            let path = &path;
            async move { t.security(path, reads).await }
        });
        match got {
            Ok(bytes) => reply_value(&bytes, size, reply),
            Err(e) => reply.error(self.fail("getxattr", &path, &e)),
        }
    }

    pub(super) fn list_acl_xattr(&self, size: u32, reply: ReplyXattr) {
        reply_value(&names(), size, reply);
    }

    pub(super) fn set_acl_xattr(
        &self,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        reply: ReplyEmpty,
    ) {
        let Some((_, writes)) = parts_of(name) else {
            return reply.error(Errno::ENOTSUP);
        };
        // Only a well-formed descriptor goes to the server, with the parts this name writes
        // that it carries (the rest is left out of what is sent).
        let Ok(mut sd) = SecurityDescriptor::from_bytes(value) else {
            return reply.error(Errno::EINVAL);
        };
        let which = sd.parts() & writes;
        if which == 0 {
            return reply.error(Errno::EINVAL);
        }
        if which & parts::OWNER == 0 {
            sd.owner = None;
        }
        if which & parts::GROUP == 0 {
            sd.group = None;
        }
        if which & parts::SACL == 0 {
            sd.sacl = None;
        }
        let Ok(value) = sd.to_bytes() else {
            return reply.error(Errno::EINVAL);
        };
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let set = self.run(|t| {
            let path = &path;
            let value = &value;
            async move { t.set_security(path, which, value).await }
        });
        match set {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(self.fail("setxattr", &path, &e)),
        }
    }
}
