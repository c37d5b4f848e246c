//! Typed CREATE options: what to open, how, and with which access (in place of raw
//! access masks, dispositions and create options).
//!
//! ```
//! use azkrb_smb3::{Access, Disposition, OpenOptions};
//!
//! // Open an existing file to read it.
//! let read = OpenOptions::read();
//! // Create or truncate a file to write it.
//! let write = OpenOptions::write().disposition(Disposition::OverwriteIf);
//! assert!(write.access.contains(Access::WRITE_DATA));
//! // A directory to list.
//! let dir = OpenOptions::list();
//! assert_ne!(read, dir);
//! ```

use std::ops::BitOr;

/// An access mask (MS-SMB2 §2.2.13.1): the rights a handle is opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Access(u32);

impl Access {
    /// No access right.
    pub const NONE: Self = Self(0);
    /// FILE_READ_DATA.
    pub const READ_DATA: Self = Self(0x1);
    /// FILE_WRITE_DATA.
    pub const WRITE_DATA: Self = Self(0x2);
    /// FILE_APPEND_DATA.
    pub const APPEND_DATA: Self = Self(0x4);
    /// FILE_LIST_DIRECTORY (the same bit as READ_DATA, on a directory).
    pub const LIST_DIRECTORY: Self = Self(0x1);
    /// FILE_READ_ATTRIBUTES.
    pub const READ_ATTRIBUTES: Self = Self(0x80);
    /// FILE_WRITE_ATTRIBUTES.
    pub const WRITE_ATTRIBUTES: Self = Self(0x100);
    /// DELETE.
    pub const DELETE: Self = Self(0x0001_0000);
    /// READ_CONTROL (read the security descriptor).
    pub const READ_CONTROL: Self = Self(0x0002_0000);
    /// SYNCHRONIZE.
    pub const SYNCHRONIZE: Self = Self(0x0010_0000);
    /// FILE_GENERIC_READ: data, attributes, extended attributes, security, synchronize.
    pub const GENERIC_READ: Self = Self(0x0012_0089);
    /// FILE_GENERIC_WRITE: data, append, attributes, extended attributes, synchronize.
    pub const GENERIC_WRITE: Self = Self(0x0012_0116);
    /// WRITE_DAC (write the DACL).
    pub const WRITE_DAC: Self = Self(0x0004_0000);
    /// WRITE_OWNER (write the owner and group).
    pub const WRITE_OWNER: Self = Self(0x0008_0000);
    /// ACCESS_SYSTEM_SECURITY (read or write the SACL).
    pub const ACCESS_SYSTEM_SECURITY: Self = Self(0x0100_0000);

    /// The mask on the wire.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// True if every right of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Access {
    type Output = Self;
    fn bitor(self, o: Self) -> Self {
        Self(self.0 | o.0)
    }
}

/// What CREATE does when the file exists or not (MS-SMB2 §2.2.13 CreateDisposition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// Open it; fail if it does not exist.
    Open,
    /// Create it; fail if it exists.
    Create,
    /// Open it, or create it.
    OpenIf,
    /// Open and truncate it; fail if it does not exist.
    Overwrite,
    /// Open and truncate it, or create it.
    OverwriteIf,
    /// Replace it, or create it.
    Supersede,
}

impl Disposition {
    /// The value on the wire.
    pub const fn value(self) -> u32 {
        match self {
            Self::Supersede => 0,
            Self::Open => 1,
            Self::Create => 2,
            Self::OpenIf => 3,
            Self::Overwrite => 4,
            Self::OverwriteIf => 5,
        }
    }
}

/// What kind of object may be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A file or a directory.
    Any,
    /// A file only (FILE_NON_DIRECTORY_FILE).
    File,
    /// A directory only (FILE_DIRECTORY_FILE).
    Directory,
}

/// How to open a file or directory with [`crate::Tree::open`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenOptions {
    /// The access asked for.
    pub access: Access,
    /// What to do when it exists or not.
    pub disposition: Disposition,
    /// File, directory, or either.
    pub kind: Kind,
    /// Ask for a durable handle (and the lease it needs): the open survives a reconnect
    /// (see [`crate::Tree::reclaim`]). Set for the files [`read`](Self::read) and
    /// [`write`](Self::write) open; short-lived opens (a rename, a delete) do without.
    pub durable: bool,
    /// What other opens may do meanwhile: FILE_SHARE_READ (1), _WRITE (2), _DELETE (4);
    /// all of them unless set otherwise. An open that does not share delete makes another
    /// client's delete or rename of the file wait for it: a server breaks its handle lease
    /// first, and the holder closes it.
    pub share: u32,
}

impl OpenOptions {
    /// `access` to an existing file or directory.
    pub const fn new(access: Access) -> Self {
        Self {
            access,
            disposition: Disposition::Open,
            kind: Kind::Any,
            durable: false,
            share: crate::msg::SHARE_ALL,
        }
    }

    /// An existing file, to read.
    pub const fn read() -> Self {
        Self::new(Access::GENERIC_READ)
            .kind(Kind::File)
            .durable(true)
    }

    /// A file, to write and read (existing unless another disposition is set).
    pub const fn write() -> Self {
        Self::new(Access(Access::GENERIC_READ.0 | Access::GENERIC_WRITE.0))
            .kind(Kind::File)
            .durable(true)
    }

    /// An existing directory, to list.
    pub const fn list() -> Self {
        Self::new(Access(
            Access::LIST_DIRECTORY.0 | Access::READ_ATTRIBUTES.0 | Access::SYNCHRONIZE.0,
        ))
        .kind(Kind::Directory)
    }

    /// With this disposition.
    pub const fn disposition(mut self, d: Disposition) -> Self {
        self.disposition = d;
        self
    }

    /// Durable or not (see [`OpenOptions::durable`]).
    pub const fn durable(mut self, durable: bool) -> Self {
        self.durable = durable;
        self
    }

    /// Shared for this (see [`OpenOptions::share`]).
    pub const fn share(mut self, share: u32) -> Self {
        self.share = share;
        self
    }

    /// Of this kind.
    pub const fn kind(mut self, k: Kind) -> Self {
        self.kind = k;
        self
    }

    /// The CreateOptions on the wire.
    pub const fn create_options(&self) -> u32 {
        match self.kind {
            Kind::Any => 0,
            Kind::File => 0x40,
            Kind::Directory => 0x1,
        }
    }
}
