//! The SMB 2/3 client of azkrb: negotiate, Kerberos session setup, signing, encryption and
//! file I/O.
//!
//! This crate is being built; it stands on `azkrb-asn1` and `azkrb-crypto`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
