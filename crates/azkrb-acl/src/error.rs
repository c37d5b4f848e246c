//! Errors.

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not a well-formed descriptor, ACL, ACE or SID.
    #[error("malformed security descriptor: {0}")]
    Malformed(String),
    /// A SID in text that is not one.
    #[error("not a SID: {0}")]
    Sid(String),
    /// SDDL or icacls text that cannot be read (or a descriptor it cannot express).
    #[error("{0}")]
    Text(String),
    /// Something larger than its length field can say.
    #[error("too large: {0}")]
    TooLarge(String),
}

/// This crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
