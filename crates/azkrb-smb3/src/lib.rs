//! The SMB 2/3 client of azkrb: negotiate (3.1.1 with pre-authentication integrity),
//! Kerberos session setup over SPNEGO, key derivation, signing, encryption, and file I/O.
//!
//! Built up in layers: [`crypto`] (keys, signing, TRANSFORM_HEADER), [`status`] (NTSTATUS).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod crypto;
mod error;
pub mod status;

pub use crypto::{Cipher, Dialect, SigningAlgorithm};
pub use error::{Error, Result};
pub use status::NtStatus;
