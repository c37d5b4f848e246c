//! Kerberos (RFC 4120), MS-KKDCP, SPNEGO / GSS-API framing and MS-PAC wire types: DER
//! encoding and decoding with no I/O and no cryptography.
//!
//! This crate is being built; its types arrive with the wire-format work.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
