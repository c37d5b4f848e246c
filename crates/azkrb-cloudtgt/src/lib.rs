//! The Kerberos client of azkrb: from a cloud TGT (or a password, keytab or ccache) to a
//! `cifs/` service ticket, through a KDC proxy (MS-KKDCP) or a KDC over TCP, and the GSS
//! krb5 initiator that presents it to an SMB server.
//!
//! - [`exchange`]: sans-I/O AS and TGS exchanges (bytes in, bytes out, time passed in);
//! - [`gss`]: the GSS-API krb5 initiator (AP-REQ with the 0x8003 checksum, AP-REP, MIC);
//! - [`ccache`], [`keytab`]: MIT credential cache and keytab files;
//! - [`cloud`]: the Entra `tgt_cloud` object of a PRT response;
//! - [`krbcred`]: KRB-CRED import and export;
//! - [`credential`], [`principal`]: the values they exchange;
//! - [`config`]: krb5.conf-style realm routing and the Entra defaults;
//! - [`transport`]: MS-KKDCP over HTTPS and TCP, with failover;
//! - [`client`]: all of it together, async, with a shared credential cache.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod ccache;
pub mod client;
pub mod cloud;
pub mod config;
pub mod credential;
mod error;
pub mod exchange;
mod files;
pub mod gss;
pub mod keytab;
pub mod krbcred;
pub mod principal;
pub mod transport;

pub use client::{Client, CredentialCache};
pub use config::{HttpAnchor, KdcAddress, RealmConfig};
pub use credential::Credential;
pub use error::{Error, KdcError, Result};
pub use exchange::{AsExchange, AsSecret, AsStep, TgsExchange, TgsStep};
pub use principal::Principal;
pub use transport::{Transport, TransportOptions};
