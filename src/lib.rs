//! azkrb: reach Azure Files (and any SMB3 server) with Kerberos tickets from Microsoft Entra
//! ID or on-prem AD DS, in Rust.
//!
//! [`AzureFiles`] is the one-call API: configure Kerberos once, then open
//! `//account.file.core.windows.net/share` and get a [`Share`]. The workspace crates are
//! re-exported for everything below it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod gss_spnego;
pub mod share;

pub use azkrb_asn1 as asn1;
pub use azkrb_cloudtgt as cloudtgt;
pub use azkrb_crypto as crypto;
pub use azkrb_smb3 as smb3;
pub use gss_spnego::KerberosAuth;
pub use share::{AzureFiles, Builder, Error, Share, Tgt, UncPath};

/// The README's Rust examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;
