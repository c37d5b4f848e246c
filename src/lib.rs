//! azkrb: reach Azure Files (and any SMB3 server) with Kerberos tickets from Microsoft Entra
//! ID or on-prem AD DS, in Rust.
//!
//! [`AzureFiles`] is the one-call API: configure Kerberos once, then open
//! `//account.file.core.windows.net/share` and get a [`Share`]. The facade only wires the
//! layers together; each concept lives in its own module:
//!
//! - [`builder`]: the settings ([`Builder`]) and where the TGT comes from ([`Tgt`]);
//! - [`client`]: [`AzureFiles`], from a UNC path to an open share;
//! - [`share`]: [`Share`], which re-authenticates itself when its ticket ends;
//! - [`unc`]: [`UncPath`]; [`error`]: [`Error`], by layer;
//! - [`gss_spnego`]: [`KerberosAuth`], Kerberos in SPNEGO for SMB SESSION_SETUP.
//!
//! The workspace crates are re-exported ([`asn1`], [`crypto`], [`cloudtgt`], [`smb3`]) for
//! everything below the facade.
//!
//! ```no_run
//! # async fn demo() -> Result<(), azkrb::Error> {
//! use azkrb::{AzureFiles, Tgt};
//! let files = AzureFiles::builder()
//!     .entra_tenant("00000000-1111-2222-3333-444444444444")
//!     .tgt(Tgt::Ccache(None)) // KRB5CCNAME, as written by `mount-share login` or kinit
//!     .build()?;
//! let share = files.open("//myaccount.file.core.windows.net/data").await?;
//! // Re-authenticates or reconnects (and tries again) when the session or connection ends.
//! let listing = share.run(|tree| async move { tree.list("reports").await }).await?;
//! for entry in listing {
//!     println!("{}", entry.name);
//! }
//! share.close().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod builder;
pub mod client;
pub mod error;
pub mod gss_spnego;
mod oauth;
pub mod pool;
mod refresh;
pub mod share;
pub mod unc;

pub use azkrb_acl as acl;
pub use azkrb_asn1 as asn1;
pub use azkrb_cloudtgt as cloudtgt;
pub use azkrb_crypto as crypto;
pub use azkrb_smb3 as smb3;
pub use builder::{Builder, Tgt};
pub use client::AzureFiles;
pub use error::Error;
pub use gss_spnego::KerberosAuth;
pub use pool::Connections;
pub use share::{Recovery, Share};
pub use unc::UncPath;

/// The README's Rust examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExamples;
