//! The one error type of this crate.

/// A message that could not be decoded or encoded. The text says which message, which
/// field and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// DER that does not decode as the expected ASN.1 type. `detail` names the field path.
    #[error("malformed {what}: {detail}")]
    Der {
        /// The message or type being decoded.
        what: &'static str,
        /// What the decoder found wrong, and where.
        detail: String,
    },
    /// A binary (non-ASN.1) structure with a bad field: PAC/NDR, GSS token framing, the
    /// KKDCP length prefix, the GSS 0x8003 checksum.
    #[error("malformed {what}: field {field} at offset {offset}: {detail}")]
    Malformed {
        /// The structure being decoded.
        what: &'static str,
        /// The field that was wrong.
        field: &'static str,
        /// Byte offset of that field in the input.
        offset: usize,
        /// What was wrong with it.
        detail: String,
    },
    /// A well-formed message of another kind than expected.
    #[error("expected {expected}, got {got}")]
    UnexpectedMessage {
        /// What the caller asked for.
        expected: &'static str,
        /// What the bytes were.
        got: String,
    },
    /// A value that cannot be encoded.
    #[error("cannot encode {what}: {detail}")]
    Encode {
        /// The type being encoded.
        what: &'static str,
        /// Why the encoder refused the value.
        detail: String,
    },
}

impl Error {
    pub(crate) fn malformed(
        what: &'static str,
        field: &'static str,
        offset: usize,
        detail: impl Into<String>,
    ) -> Self {
        Self::Malformed {
            what,
            field,
            offset,
            detail: detail.into(),
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
