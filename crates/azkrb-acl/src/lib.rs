//! Windows security descriptors, as SMB carries them (MS-DTYP §2.4): SIDs, ACEs, ACLs and
//! the self-relative SECURITY_DESCRIPTOR, read and written; text both ways as `icacls` and
//! SDDL write it; inheritance and the edits `icacls` makes, computed as Windows computes
//! them. No I/O: `azkrb-smb3` reads and writes descriptors over QUERY_INFO and SET_INFO.
//!
//! Every count and offset read is checked against the bytes it points into; nothing here
//! panics on any input (a fuzz target feeds it).
//!
//! ```
//! use azkrb_acl::{SecurityDescriptor, inherit::{apply, Edit}, icacls, sddl, acl::ACCESS_ALLOWED};
//! let mut sd = sddl::parse("O:BAG:SYD:AI(A;OICIID;FA;;;SY)").unwrap();
//! let grant = icacls::parse_ace("Everyone:(OI)(CI)(M)", ACCESS_ALLOWED, &|_| None).unwrap();
//! apply(&mut sd, &Edit::Grant(grant));
//! assert_eq!(sddl::to_string(&sd).unwrap(), "O:BAG:SYD:AI(A;OICI;0x1301bf;;;WD)(A;OICIID;FA;;;SY)");
//! let bytes = sd.to_bytes().unwrap();
//! assert_eq!(SecurityDescriptor::from_bytes(&bytes).unwrap(), sd);
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod acl;
pub mod descriptor;
mod error;
pub mod icacls;
pub mod inherit;
pub mod sddl;
pub mod sid;

pub use acl::{Ace, AceBody, Acl};
pub use descriptor::SecurityDescriptor;
pub use error::{Error, Result};
pub use icacls::rights;
pub use sid::Sid;

#[cfg(test)]
mod properties;

// The README's examples run as doc tests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
