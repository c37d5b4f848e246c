//! The SMB 2/3 client of azkrb: negotiate (3.1.1 with pre-authentication integrity),
//! Kerberos session setup over SPNEGO, key derivation, signing, encryption, and file I/O.
//!
//! Layers: [`msg`] (the codec), [`crypto`] (keys, signing, TRANSFORM_HEADER), [`proto`]
//! (the sans-I/O protocol core: negotiation, session setup, protection, credits and the
//! table of outstanding requests), [`conn`] (the thin tokio driver around it), [`session`]
//! (session setup through an [`Authenticator`]), [`tree`] and [`open`] (file operations
//! with typed open options), [`status`] (NTSTATUS).
//!
//! In the azkrb stack this crate depends on no other azkrb crate: it defines the small
//! [`Authenticator`] trait it needs for SESSION_SETUP, and the `azkrb` facade implements it
//! with the Kerberos initiator of `azkrb-cloudtgt`. Any other GSS mechanism that yields
//! SPNEGO tokens and a session key can be plugged in the same way.
//!
//! # Example
//!
//! The codec and the signing without a server: an ECHO request (MS-SMB2 §2.2.28) is
//! encoded, signed with the SMB 3.0 signing key derived from a session key (the known answer
//! of MS-SMB2's examples), decoded again, and verified; any change breaks the signature.
//!
//! ```
//! use azkrb_smb3::crypto::{self, SigningAlgorithm};
//! use azkrb_smb3::msg::{Command, HEADER_LEN, Header, flags};
//! use azkrb_smb3::{Dialect, NtStatus};
//!
//! let mut header = Header::request(Command::Echo, 0x0000_4000_0000_0001, 0);
//! header.message_id = 7;
//! let mut message = Vec::new();
//! header.encode(&mut message);
//! message.extend_from_slice(&[4, 0, 0, 0]); // ECHO: StructureSize 4, Reserved
//! assert_eq!(message.len(), HEADER_LEN + 4);
//! assert_eq!(&message[..4], b"\xfeSMB");
//!
//! let session_key = hex::decode("7CD451825D0450D235424E44BA6E78CC").unwrap();
//! let keys = crypto::derive_keys(Dialect::Smb30, None, &session_key, None)?;
//! assert_eq!(hex::encode_upper(&keys.signing[..]), "0B7E9C5CAC36C0F6EA9AB275298CEDCE");
//! crypto::sign(SigningAlgorithm::AesCmac, &keys.signing, &mut message, false)?;
//!
//! let decoded = Header::decode(&message)?;
//! assert_eq!(Command::from_u16(decoded.command), Some(Command::Echo));
//! assert_eq!(decoded.message_id, 7);
//! assert_eq!(decoded.status, NtStatus::SUCCESS);
//! assert_ne!(decoded.flags & flags::SIGNED, 0);
//! crypto::verify(SigningAlgorithm::AesCmac, &keys.signing, &message, false)?;
//!
//! message[HEADER_LEN + 2] ^= 1;
//! assert!(crypto::verify(SigningAlgorithm::AesCmac, &keys.signing, &message, false).is_err());
//! # Ok::<(), azkrb_smb3::Error>(())
//! ```
// One audited `unsafe` block: a setsockopt call in `sockopt` (its comment proves it sound).
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod buffers;
pub mod conn;
pub mod crypto;
mod dialect;
mod error;
mod frame;
pub mod msg;
pub mod open;
pub mod proto;
mod reclaim;
mod replay;
pub mod security;
pub mod session;
mod sockopt;
pub mod status;
mod transfer;
pub mod tree;
mod whole;

pub use conn::Connection;
pub use dialect::{Cipher, Dialect, SigningAlgorithm};
pub use error::{Error, Result};
pub use open::{Access, Disposition, Kind, OpenOptions};
pub use reclaim::{LeaseBroken, OpenCounts, Reclaimed};
pub use session::{Authenticator, Security, Session};
pub use status::NtStatus;
pub use tree::{Handle, ReadData, Tree, smb_path};
pub use whole::FileStart;

// The README's examples run as doc tests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
