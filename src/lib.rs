//! azkrb: reach Azure Files (and any SMB3 server) with Kerberos tickets from Microsoft Entra
//! ID or on-prem AD DS, in pure Rust.
//!
//! This facade re-exports the workspace crates; the one-call API arrives with
//! `azkrb-cloudtgt` and `azkrb-smb3`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod gss_spnego;

pub use azkrb_asn1 as asn1;
pub use azkrb_cloudtgt as cloudtgt;
pub use azkrb_crypto as crypto;
pub use azkrb_smb3 as smb3;
pub use gss_spnego::KerberosAuth;
