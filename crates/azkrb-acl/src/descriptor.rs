//! The self-relative SECURITY_DESCRIPTOR (MS-DTYP §2.4.6), as SMB's QUERY_INFO and SET_INFO
//! carry it.

use crate::acl::Acl;
use crate::error::{Error, Result};
use crate::sid::Sid;

/// SECURITY_DESCRIPTOR control flags.
pub mod control {
    /// OD: the owner was defaulted.
    pub const OWNER_DEFAULTED: u16 = 0x0001;
    /// GD: the group was defaulted.
    pub const GROUP_DEFAULTED: u16 = 0x0002;
    /// DP: a DACL is present.
    pub const DACL_PRESENT: u16 = 0x0004;
    /// DD: the DACL was defaulted.
    pub const DACL_DEFAULTED: u16 = 0x0008;
    /// SP: a SACL is present.
    pub const SACL_PRESENT: u16 = 0x0010;
    /// SD: the SACL was defaulted.
    pub const SACL_DEFAULTED: u16 = 0x0020;
    /// DI (request): the DACL's inherited entries are to be computed (AR in SDDL).
    pub const DACL_AUTO_INHERIT_REQ: u16 = 0x0100;
    /// SACL auto-inherit request.
    pub const SACL_AUTO_INHERIT_REQ: u16 = 0x0200;
    /// AI: the DACL was made by automatic inheritance.
    pub const DACL_AUTO_INHERITED: u16 = 0x0400;
    /// The SACL was made by automatic inheritance.
    pub const SACL_AUTO_INHERITED: u16 = 0x0800;
    /// P: the DACL is protected (inherits nothing).
    pub const DACL_PROTECTED: u16 = 0x1000;
    /// The SACL is protected.
    pub const SACL_PROTECTED: u16 = 0x2000;
    /// SR: self-relative.
    pub const SELF_RELATIVE: u16 = 0x8000;
}

/// Which parts of a descriptor to read or write (SMB's AdditionalInformation).
pub mod parts {
    /// OWNER_SECURITY_INFORMATION.
    pub const OWNER: u32 = 0x1;
    /// GROUP_SECURITY_INFORMATION.
    pub const GROUP: u32 = 0x2;
    /// DACL_SECURITY_INFORMATION.
    pub const DACL: u32 = 0x4;
    /// SACL_SECURITY_INFORMATION.
    pub const SACL: u32 = 0x8;
}

/// A security descriptor.
///
/// ```
/// use azkrb_acl::{Ace, Acl, SecurityDescriptor, Sid, rights};
/// let sd = SecurityDescriptor {
///     owner: Some("S-1-5-32-544".parse().unwrap()),
///     dacl: Some(Acl::new(vec![Ace::allow(Sid::from_name("Everyone").unwrap(), rights::FULL, 0)])),
///     ..Default::default()
/// };
/// let bytes = sd.to_bytes().unwrap();
/// assert_eq!(SecurityDescriptor::from_bytes(&bytes).unwrap(), sd);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityDescriptor {
    /// The control flags besides SR (always set). DP and SP follow from the ACLs present;
    /// DP (or SP) here with no DACL (SACL) is a NULL ACL: present, and granting (auditing)
    /// everything.
    pub control: u16,
    /// The owner.
    pub owner: Option<Sid>,
    /// The primary group.
    pub group: Option<Sid>,
    /// The system ACL (auditing).
    pub sacl: Option<Acl>,
    /// The discretionary ACL (access); `None` grants everyone everything.
    pub dacl: Option<Acl>,
}

impl SecurityDescriptor {
    /// The control word as encoded.
    pub fn control_word(&self) -> u16 {
        let mut c = self.control | control::SELF_RELATIVE;
        if self.dacl.is_some() {
            c |= control::DACL_PRESENT;
        }
        if self.sacl.is_some() {
            c |= control::SACL_PRESENT;
        }
        c
    }

    /// The DACL is protected from inheritance.
    pub fn dacl_protected(&self) -> bool {
        self.control & control::DACL_PROTECTED != 0
    }

    /// Decodes a self-relative descriptor: every offset and count is checked against the
    /// buffer; a descriptor that is not self-relative is refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let head = bytes.get(..20).ok_or_else(|| {
            Error::Malformed("a security descriptor shorter than 20 bytes".into())
        })?;
        if head[0] != 1 {
            return Err(Error::Malformed(format!(
                "security descriptor revision {} (1 exists)",
                head[0]
            )));
        }
        let ctl = u16::from_le_bytes([head[2], head[3]]);
        if ctl & control::SELF_RELATIVE == 0 {
            return Err(Error::Malformed(
                "a security descriptor that is not self-relative".into(),
            ));
        }
        let off = |i: usize| {
            u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]) as usize
        };
        let at = |o: usize, what: &str| -> Result<&[u8]> {
            if o < 20 {
                return Err(Error::Malformed(format!(
                    "the {what} offset {o} points into the header"
                )));
            }
            bytes
                .get(o..)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Error::Malformed(format!("the {what} offset {o} is past the end")))
        };
        let sid_at = |o: usize, what: &str| -> Result<Option<Sid>> {
            if o == 0 {
                return Ok(None);
            }
            Ok(Some(Sid::from_bytes(at(o, what)?)?.0))
        };
        let owner = sid_at(off(4), "owner")?;
        let group = sid_at(off(8), "group")?;
        let acl_at = |o: usize, present: bool, what: &str| -> Result<Option<Acl>> {
            match (present, o) {
                (false, _) => Ok(None),
                // Present and empty of offset: a NULL ACL (everyone, everything).
                (true, 0) => Ok(None),
                (true, o) => Ok(Some(Acl::from_bytes(at(o, what)?)?)),
            }
        };
        let sacl = acl_at(off(12), ctl & control::SACL_PRESENT != 0, "SACL")?;
        let dacl = acl_at(off(16), ctl & control::DACL_PRESENT != 0, "DACL")?;
        let mut control = ctl & !control::SELF_RELATIVE;
        if dacl.is_some() {
            control &= !control::DACL_PRESENT;
        }
        if sacl.is_some() {
            control &= !control::SACL_PRESENT;
        }
        Ok(Self {
            control,
            owner,
            group,
            sacl,
            dacl,
        })
    }

    /// Encodes the descriptor self-relative: the header, then the owner, group, SACL and
    /// DACL.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut out = vec![0u8; 20];
        out[0] = 1;
        out[2..4].copy_from_slice(&self.control_word().to_le_bytes());
        let place = |out: &mut Vec<u8>, slot: usize| {
            let o = out.len() as u32;
            out[slot..slot + 4].copy_from_slice(&o.to_le_bytes());
        };
        if let Some(s) = &self.owner {
            place(&mut out, 4);
            s.write(&mut out)?;
        }
        if let Some(s) = &self.group {
            place(&mut out, 8);
            s.write(&mut out)?;
        }
        if let Some(a) = &self.sacl {
            place(&mut out, 12);
            a.write(&mut out)?;
        }
        if let Some(a) = &self.dacl {
            place(&mut out, 16);
            a.write(&mut out)?;
        }
        Ok(out)
    }

    /// Which parts this descriptor carries (SMB's AdditionalInformation for SET_INFO).
    pub fn parts(&self) -> u32 {
        let mut p = 0;
        if self.owner.is_some() {
            p |= parts::OWNER;
        }
        if self.group.is_some() {
            p |= parts::GROUP;
        }
        if self.dacl.is_some() || self.control & control::DACL_PRESENT != 0 {
            p |= parts::DACL;
        }
        if self.sacl.is_some() {
            p |= parts::SACL;
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::{Ace, flags};

    #[test]
    fn a_descriptor_samba_writes_is_read() {
        // O:BAG:SYD:P(A;OICI;FA;;;WD) as Samba's ndr encodes it: owner, group, then DACL.
        let sd = SecurityDescriptor {
            control: control::DACL_PROTECTED,
            owner: Sid::from_sddl_alias("BA"),
            group: Sid::from_sddl_alias("SY"),
            sacl: None,
            dacl: Some(Acl::new(vec![Ace::allow(
                Sid::from_sddl_alias("WD").unwrap(),
                0x001f_01ff,
                flags::OBJECT_INHERIT | flags::CONTAINER_INHERIT,
            )])),
        };
        let b = sd.to_bytes().unwrap();
        assert_eq!(&b[..4], &[1, 0, 0x04, 0x90]);
        assert_eq!(SecurityDescriptor::from_bytes(&b).unwrap(), sd);
        // Every truncation fails cleanly.
        for n in 0..b.len() {
            let _ = SecurityDescriptor::from_bytes(&b[..n]);
        }
        // Offsets into the header, past the end, an absolute descriptor.
        let mut bad = b.clone();
        bad[4..8].copy_from_slice(&4u32.to_le_bytes());
        assert!(SecurityDescriptor::from_bytes(&bad).is_err());
        let mut bad = b.clone();
        bad[16..20].copy_from_slice(&9999u32.to_le_bytes());
        assert!(SecurityDescriptor::from_bytes(&bad).is_err());
        let mut bad = b.clone();
        bad[3] &= 0x7f;
        assert!(SecurityDescriptor::from_bytes(&bad).is_err());
    }
}
