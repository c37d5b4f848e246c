//! A file's Windows security descriptor as an extended attribute, under the name the Linux
//! kernel's CIFS client gives it: `system.cifs_acl` holds the self-relative descriptor
//! (owner, group, DACL) as the server keeps it, so `getfattr -n system.cifs_acl -e hex` and
//! cifs-utils' `getcifsacl`/`setcifsacl` work on the mount as on a `mount.cifs` one. Writing
//! it sets the parts the descriptor carries.

use std::ffi::OsStr;

use azkrb::acl::SecurityDescriptor;
use azkrb::smb3::security::parts;
use fuser::{Errno, INodeNo, ReplyEmpty, ReplyXattr};

use super::SmbFs;
use super::convert::lock;

/// The attribute's name.
pub(super) const NAME: &str = "system.cifs_acl";

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
        if name != NAME {
            return reply.error(Errno::ENODATA);
        }
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let got = self.run(|t| {
            let path = &path;
            async move {
                t.security(path, parts::OWNER | parts::GROUP | parts::DACL)
                    .await
            }
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
        if name != NAME {
            return reply.error(Errno::ENOTSUP);
        }
        // Only a well-formed descriptor goes to the server, with the parts it carries.
        let Ok(sd) = SecurityDescriptor::from_bytes(value) else {
            return reply.error(Errno::EINVAL);
        };
        let which = sd.parts() & (parts::OWNER | parts::GROUP | parts::DACL | parts::SACL);
        if which == 0 {
            return reply.error(Errno::EINVAL);
        }
        let path = match lock(&self.inodes).path(ino) {
            Ok(p) => p,
            Err(e) => return reply.error(e),
        };
        let set = self.run(|t| {
            let path = &path;
            async move { t.set_security(path, which, value).await }
        });
        match set {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(self.fail("setxattr", &path, &e)),
        }
    }
}
