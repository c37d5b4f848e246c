//! The SMB 2/3 client of azkrb: negotiate (3.1.1 with pre-authentication integrity),
//! Kerberos session setup over SPNEGO, key derivation, signing, encryption, and file I/O.
//!
//! Layers: [`msg`] (the codec), [`crypto`] (keys, signing, TRANSFORM_HEADER), [`proto`]
//! (the sans-I/O protocol core: negotiation, session setup, protection, credits and the
//! table of outstanding requests), [`conn`] (the thin tokio driver around it), [`session`]
//! (session setup through an [`Authenticator`]), [`tree`] and [`open`] (file operations
//! with typed open options), [`status`] (NTSTATUS).
// One audited `unsafe` block: a setsockopt call in `sockopt` (its comment proves it sound).
#![deny(unsafe_code)]
#![warn(missing_docs)]
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
pub mod session;
mod sockopt;
pub mod status;
mod transfer;
pub mod tree;

pub use conn::Connection;
pub use dialect::{Cipher, Dialect, SigningAlgorithm};
pub use error::{Error, Result};
pub use open::{Access, Disposition, Kind, OpenOptions};
pub use session::{Authenticator, Security, Session};
pub use status::NtStatus;
pub use tree::{Handle, ReadData, Tree, smb_path};
