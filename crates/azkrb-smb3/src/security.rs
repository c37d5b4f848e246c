//! A file's or directory's security descriptor by path (QUERY_INFO and SET_INFO of InfoType
//! SECURITY, MS-SMB2 §2.2.37, §2.2.39), each one round trip: CREATE with the access the
//! operation needs, the query or the set, and CLOSE, as one compound. The descriptor's
//! bytes are the caller's to read (the `azkrb-acl` crate does).

use crate::error::{Error, Result};
use crate::msg::{self, Command, HEADER_LEN};
use crate::open::{Access, OpenOptions};
use crate::status::NtStatus;
use crate::tree::Tree;

/// OWNER, GROUP, DACL, SACL: which parts of a descriptor (AdditionalInformation).
pub mod parts {
    /// The owner.
    pub const OWNER: u32 = 0x1;
    /// The primary group.
    pub const GROUP: u32 = 0x2;
    /// The discretionary ACL.
    pub const DACL: u32 = 0x4;
    /// The system ACL (needs the right to it: SeSecurityPrivilege on Windows).
    pub const SACL: u32 = 0x8;
}

/// The first output buffer asked for; a server that needs more says how much.
const FIRST_OUTPUT: u32 = 64 * 1024;
/// The largest descriptor taken.
const MAX_OUTPUT: u32 = 1 << 20;

/// The access a CREATE needs to read (or, `write`, to write) `parts`.
fn access_for(parts: u32, write: bool) -> Access {
    // Only the rights the operation needs (as icacls opens): an owner locked out by an
    // empty DACL still holds READ_CONTROL and WRITE_DAC, and can mend it.
    let mut access = Access::NONE;
    if parts & parts::SACL != 0 {
        access = access | Access::ACCESS_SYSTEM_SECURITY;
    }
    if write {
        if parts & parts::DACL != 0 {
            access = access | Access::WRITE_DAC;
        }
        if parts & (parts::OWNER | parts::GROUP) != 0 {
            access = access | Access::WRITE_OWNER;
        }
    } else if parts & (parts::OWNER | parts::GROUP | parts::DACL) != 0 {
        access = access | Access::READ_CONTROL;
    }
    access
}

/// The size a STATUS_BUFFER_TOO_SMALL answer says it needs (its 4-byte ErrorData).
fn needed(resp: &[u8]) -> Option<u32> {
    let count = resp.get(HEADER_LEN + 4..HEADER_LEN + 8)?;
    if u32::from_le_bytes([count[0], count[1], count[2], count[3]]) < 4 {
        return None;
    }
    let d = resp.get(HEADER_LEN + 8..HEADER_LEN + 12)?;
    Some(u32::from_le_bytes([d[0], d[1], d[2], d[3]]))
}

impl Tree {
    /// The self-relative security descriptor of `path` (the share's root for ""), with the
    /// `parts` asked for ([`parts`]).
    pub async fn security(&self, path: &str, parts: u32) -> Result<Vec<u8>> {
        let options = OpenOptions::new(access_for(parts, false));
        let mut output = FIRST_OUTPUT;
        for _ in 0..2 {
            let query = msg::query_security_request(msg::RELATED_FILE_ID, parts, output);
            let done = self
                .by_path(path, &options, vec![(Command::QueryInfo, query, 1)])
                .await?;
            let [query] = done.middle.as_slice() else {
                return Err(Error::Protocol("no QUERY_INFO response".into()));
            };
            if query.header.status == NtStatus::BUFFER_TOO_SMALL {
                output = needed(query.bytes())
                    .filter(|n| (output + 1..=MAX_OUTPUT).contains(n))
                    .ok_or_else(|| {
                        Error::Protocol(format!(
                            "a security descriptor larger than {output} bytes, and no usable \
                             size (at most {MAX_OUTPUT}) said"
                        ))
                    })?;
                continue;
            }
            query.ok("QUERY_INFO (security)")?;
            done.close.ok("CLOSE")?;
            return msg::query_info_response(query.bytes(), output);
        }
        Err(Error::Protocol(
            "the server asked for a larger buffer twice".into(),
        ))
    }

    /// Sets the `parts` of `path`'s security descriptor from `descriptor` (self-relative).
    pub async fn set_security(&self, path: &str, parts: u32, descriptor: &[u8]) -> Result<()> {
        let options = OpenOptions::new(access_for(parts, true));
        let set = msg::set_security_request(msg::RELATED_FILE_ID, parts, descriptor)?;
        let done = self
            .by_path(path, &options, vec![(Command::SetInfo, set, 1)])
            .await?;
        for r in &done.middle {
            r.ok("SET_INFO (security)")?;
        }
        done.close.ok("CLOSE")
    }
}
