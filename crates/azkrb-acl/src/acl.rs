//! Access control entries and lists (MS-DTYP §2.4.4, §2.4.5).

use crate::error::{Error, Result};
use crate::sid::Sid;

/// ACCESS_ALLOWED_ACE_TYPE.
pub const ACCESS_ALLOWED: u8 = 0x00;
/// ACCESS_DENIED_ACE_TYPE.
pub const ACCESS_DENIED: u8 = 0x01;
/// SYSTEM_AUDIT_ACE_TYPE.
pub const SYSTEM_AUDIT: u8 = 0x02;
/// SYSTEM_ALARM_ACE_TYPE.
pub const SYSTEM_ALARM: u8 = 0x03;
/// ACCESS_ALLOWED_CALLBACK_ACE_TYPE.
pub const ACCESS_ALLOWED_CALLBACK: u8 = 0x09;
/// ACCESS_DENIED_CALLBACK_ACE_TYPE.
pub const ACCESS_DENIED_CALLBACK: u8 = 0x0A;
/// SYSTEM_AUDIT_CALLBACK_ACE_TYPE.
pub const SYSTEM_AUDIT_CALLBACK: u8 = 0x0D;
/// SYSTEM_MANDATORY_LABEL_ACE_TYPE.
pub const SYSTEM_MANDATORY_LABEL: u8 = 0x11;
/// SYSTEM_RESOURCE_ATTRIBUTE_ACE_TYPE.
pub const SYSTEM_RESOURCE_ATTRIBUTE: u8 = 0x12;
/// SYSTEM_SCOPED_POLICY_ID_ACE_TYPE.
pub const SYSTEM_SCOPED_POLICY_ID: u8 = 0x13;

/// ACE flags (MS-DTYP §2.4.4.1).
pub mod flags {
    /// OI: object inherit (files get it).
    pub const OBJECT_INHERIT: u8 = 0x01;
    /// CI: container inherit (directories get it).
    pub const CONTAINER_INHERIT: u8 = 0x02;
    /// NP: no propagate (children get it, not theirs).
    pub const NO_PROPAGATE_INHERIT: u8 = 0x04;
    /// IO: inherit only (not for this object itself).
    pub const INHERIT_ONLY: u8 = 0x08;
    /// ID: inherited.
    pub const INHERITED: u8 = 0x10;
    /// SA: audit successes.
    pub const SUCCESSFUL_ACCESS: u8 = 0x40;
    /// FA: audit failures.
    pub const FAILED_ACCESS: u8 = 0x80;
    /// The inheritance flags.
    pub const INHERITANCE: u8 =
        OBJECT_INHERIT | CONTAINER_INHERIT | NO_PROPAGATE_INHERIT | INHERIT_ONLY;
}

/// What follows an ACE's header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AceBody {
    /// An access mask and a SID (allowed, denied, audit, alarm, the callback forms, mandatory
    /// label, resource attribute, scoped policy): `extra` keeps what follows the SID byte
    /// for byte (a callback's application data, a resource attribute, padding).
    Sid {
        /// The access mask.
        mask: u32,
        /// The trustee.
        sid: Sid,
        /// The bytes after the SID, as they were.
        extra: Vec<u8>,
    },
    /// An ACE kept as it was (the object ACEs, types unknown here).
    Raw(Vec<u8>),
}

/// An access control entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ace {
    /// The ACE type.
    pub ace_type: u8,
    /// The ACE flags ([`flags`]).
    pub flags: u8,
    /// Its body.
    pub body: AceBody,
}

/// Types whose body is a mask and a SID, then maybe more.
fn has_sid_body(t: u8) -> bool {
    matches!(
        t,
        ACCESS_ALLOWED
            | ACCESS_DENIED
            | SYSTEM_AUDIT
            | SYSTEM_ALARM
            | ACCESS_ALLOWED_CALLBACK
            | ACCESS_DENIED_CALLBACK
            | SYSTEM_AUDIT_CALLBACK
            | SYSTEM_MANDATORY_LABEL
            | SYSTEM_RESOURCE_ATTRIBUTE
            | SYSTEM_SCOPED_POLICY_ID
    )
}

impl Ace {
    /// An ACCESS_ALLOWED ACE.
    pub fn allow(sid: Sid, mask: u32, flags: u8) -> Self {
        Self {
            ace_type: ACCESS_ALLOWED,
            flags,
            body: AceBody::Sid {
                mask,
                sid,
                extra: Vec::new(),
            },
        }
    }

    /// An ACCESS_DENIED ACE.
    pub fn deny(sid: Sid, mask: u32, flags: u8) -> Self {
        Self {
            ace_type: ACCESS_DENIED,
            ..Self::allow(sid, mask, flags)
        }
    }

    /// The trustee, for the ACE types that name one plainly.
    pub fn sid(&self) -> Option<&Sid> {
        match &self.body {
            AceBody::Sid { sid, .. } => Some(sid),
            AceBody::Raw(_) => None,
        }
    }

    /// The access mask, for the same types.
    pub fn mask(&self) -> Option<u32> {
        match &self.body {
            AceBody::Sid { mask, .. } => Some(*mask),
            AceBody::Raw(_) => None,
        }
    }

    /// Inherited (ID).
    pub fn is_inherited(&self) -> bool {
        self.flags & flags::INHERITED != 0
    }

    /// Denies access (plain, callback, object or callback object).
    pub fn is_deny(&self) -> bool {
        matches!(
            self.ace_type,
            ACCESS_DENIED | ACCESS_DENIED_CALLBACK | 0x06 | 0x0C
        )
    }

    /// The encoded length (header included).
    pub fn len(&self) -> usize {
        4 + match &self.body {
            AceBody::Sid { sid, extra, .. } => 4 + sid.len() + extra.len(),
            AceBody::Raw(b) => b.len(),
        }
    }

    /// Never: an ACE has at least its header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Decodes one ACE from the start of `bytes`; its length.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Self, usize)> {
        let head = bytes
            .get(..4)
            .ok_or_else(|| Error::Malformed("an ACE shorter than its header".into()))?;
        let (ace_type, flags) = (head[0], head[1]);
        let size = usize::from(u16::from_le_bytes([head[2], head[3]]));
        if size < 4 {
            return Err(Error::Malformed(format!("an ACE of {size} bytes")));
        }
        let body = bytes
            .get(4..size)
            .ok_or_else(|| Error::Malformed("an ACE longer than its ACL".into()))?;
        let body = if has_sid_body(ace_type) {
            let mask = body
                .get(..4)
                .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]))
                .ok_or_else(|| Error::Malformed("an ACE without its access mask".into()))?;
            let (sid, used) = Sid::from_bytes(&body[4..])?;
            AceBody::Sid {
                mask,
                sid,
                extra: body[4 + used..].to_vec(),
            }
        } else {
            AceBody::Raw(body.to_vec())
        };
        Ok((
            Self {
                ace_type,
                flags,
                body,
            },
            size,
        ))
    }

    /// Appends the encoded ACE.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        let size =
            u16::try_from(self.len()).map_err(|_| Error::TooLarge("an ACE over 64 KiB".into()))?;
        out.push(self.ace_type);
        out.push(self.flags);
        out.extend_from_slice(&size.to_le_bytes());
        match &self.body {
            AceBody::Sid { mask, sid, extra } => {
                out.extend_from_slice(&mask.to_le_bytes());
                sid.write(out)?;
                out.extend_from_slice(extra);
            }
            AceBody::Raw(b) => out.extend_from_slice(b),
        }
        Ok(())
    }
}

/// An access control list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acl {
    /// ACL_REVISION (2) or ACL_REVISION_DS (4, for object ACEs).
    pub revision: u8,
    /// The entries, in order.
    pub aces: Vec<Ace>,
}

impl Default for Acl {
    fn default() -> Self {
        Self {
            revision: 2,
            aces: Vec::new(),
        }
    }
}

impl Acl {
    /// An ACL of revision 2 with `aces`.
    pub fn new(aces: Vec<Ace>) -> Self {
        Self { revision: 2, aces }
    }

    /// The encoded length.
    pub fn len(&self) -> usize {
        8 + self.aces.iter().map(Ace::len).sum::<usize>()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.aces.is_empty()
    }

    /// Decodes an ACL at the start of `bytes` (its AclSize bounds its entries).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let head = bytes
            .get(..8)
            .ok_or_else(|| Error::Malformed("an ACL shorter than its header".into()))?;
        let revision = head[0];
        if !matches!(revision, 2 | 4) {
            return Err(Error::Malformed(format!(
                "ACL revision {revision} (2 and 4 exist)"
            )));
        }
        let size = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let count = usize::from(u16::from_le_bytes([head[4], head[5]]));
        let body = bytes
            .get(8..size.max(8))
            .ok_or_else(|| Error::Malformed(format!("an ACL of {size} bytes past its end")))?;
        // Each ACE takes at least 4 bytes: a count the size cannot hold is refused at once.
        if count > body.len() / 4 {
            return Err(Error::Malformed(format!(
                "an ACL of {size} bytes cannot hold {count} entries"
            )));
        }
        let mut aces = Vec::with_capacity(count);
        let mut at = 0;
        for _ in 0..count {
            let (ace, used) = Ace::from_bytes(&body[at..])?;
            aces.push(ace);
            at += used;
        }
        Ok(Self { revision, aces })
    }

    /// Appends the encoded ACL.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        let size =
            u16::try_from(self.len()).map_err(|_| Error::TooLarge("an ACL over 64 KiB".into()))?;
        let count = u16::try_from(self.aces.len())
            .map_err(|_| Error::TooLarge("an ACL of over 65,535 entries".into()))?;
        out.push(self.revision);
        out.push(0);
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        for ace in &self.aces {
            ace.write(out)?;
        }
        Ok(())
    }

    /// Puts the entries in Windows' canonical order: explicit denies, explicit allows (and
    /// other explicit entries), then the inherited ones in the order they came.
    pub fn canonicalize(&mut self) {
        let rank = |a: &Ace| match (a.is_inherited(), a.is_deny()) {
            (false, true) => 0,
            (false, false) => 1,
            (true, _) => 2,
        };
        // A stable sort keeps the order within each group.
        self.aces.sort_by_key(rank);
    }

    /// In canonical order already.
    pub fn is_canonical(&self) -> bool {
        let mut c = self.clone();
        c.canonicalize();
        c == *self
    }
}
