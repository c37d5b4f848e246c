//! The one error type of this crate.

use crate::status::NtStatus;

/// Everything that can go wrong in azkrb-smb3.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error status.
    #[error("{command} failed: {status}")]
    Status {
        /// The command that failed (`"CREATE"`, `"READ"`, ...).
        command: &'static str,
        /// The NTSTATUS.
        status: NtStatus,
    },
    /// A signature or an encryption tag did not verify.
    #[error("a message from the server failed its integrity check (bad signature or tag)")]
    BadSignature,
    /// Bytes that are not a valid SMB2 message.
    #[error("malformed SMB2 message: {0}")]
    Malformed(String),
    /// A well-formed message that breaks the protocol.
    #[error("SMB protocol violation: {0}")]
    Protocol(String),
    /// The server cannot meet our requirements (dialect, encryption, signing).
    #[error("{0}")]
    Unsupported(String),
    /// Authentication (the GSS/Kerberos layer) failed.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// The connection failed.
    #[error("connection to {target}: {detail}")]
    Io {
        /// The server's address.
        target: String,
        /// What went wrong.
        detail: String,
    },
    /// The caller asked for something impossible (e.g. resuming past the end of a file).
    #[error("{0}")]
    InvalidArgument(String),
    /// An open file could not be reclaimed after a reconnect (deleted or taken by another
    /// client during the outage, or not durable): its data written since the last
    /// successful write may not have reached the server.
    #[error("{path}: the open file was lost when the connection dropped ({reason})")]
    HandleLost {
        /// The file's path in the share.
        path: String,
        /// Why it could not be reclaimed.
        reason: String,
    },
    /// No answer in time.
    #[error("{what} timed out after {seconds}s")]
    Timeout {
        /// What timed out (the request, or the connection attempt).
        what: String,
        /// The timeout that passed, in seconds.
        seconds: u64,
    },
}

/// This crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
