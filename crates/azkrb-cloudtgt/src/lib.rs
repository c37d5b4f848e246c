//! The Kerberos client of azkrb: from a cloud TGT (or a password, keytab or ccache) to a
//! `cifs/` service ticket through a KDC proxy (MS-KKDCP) or a KDC over TCP.
//!
//! This crate is being built; it stands on `azkrb-asn1` and `azkrb-crypto`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
