//! The sans-I/O codec: the SMB2 header and the requests and responses azkrb uses, by
//! concept (the header and its reader, session-level exchanges, file operations, information
//! classes). Requests encode to bytes; responses decode from bytes with every length and
//! offset checked, and a length too large for its field is an error, never cut by a cast.

mod durable;
mod file;
mod header;
mod info;
mod session;

pub use durable::*;
pub use file::*;
pub use header::*;
pub use info::*;
pub use session::*;

use crate::error::{Error, Result};

pub(crate) fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A length that must fit a u16 field (a name, a token): never cut short by a cast, which
/// would make the server act on a prefix (another file).
pub(crate) fn len16(what: &str, n: usize) -> Result<u16> {
    u16::try_from(n).map_err(|_| {
        Error::InvalidArgument(format!(
            "{what} is {n} bytes, more than a message can carry (65535)"
        ))
    })
}

/// A length that must fit a u32 field.
pub(crate) fn len32(what: &str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::InvalidArgument(format!("{what} is {n} bytes, too large")))
}

/// Decodes UTF-16LE bytes.
pub fn from_utf16(b: &[u8]) -> Result<String> {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| Error::Malformed("invalid UTF-16 name".into()))
}

pub(crate) fn pad8(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(8) {
        v.push(0);
    }
}
