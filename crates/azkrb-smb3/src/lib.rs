//! The SMB 2/3 client of azkrb: negotiate (3.1.1 with pre-authentication integrity),
//! Kerberos session setup over SPNEGO, key derivation, signing, encryption, and file I/O.
//!
//! Layers: [`crypto`] (keys, signing, TRANSFORM_HEADER), [`msg`] (the sans-I/O codec),
//! [`conn`] (the tokio driver), [`session`] (session setup through an [`Authenticator`],
//! trees and file operations), [`status`] (NTSTATUS).
// One audited `unsafe` block: a setsockopt call in `sockopt` (its comment proves it sound).
#![deny(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod conn;
pub mod crypto;
mod error;
pub mod msg;
pub mod session;
mod sockopt;
pub mod status;

pub use conn::Connection;
pub use crypto::{Cipher, Dialect, SigningAlgorithm};
pub use error::{Error, Result};
pub use session::{Authenticator, Handle, ReadData, Security, Session, Tree};
pub use status::NtStatus;
