//! The facade's error: which layer failed, each layer's own typed error inside.

/// What went wrong, by layer.
#[derive(Debug)]
pub enum Error {
    /// A setting or argument is unusable (the message says which and why).
    Usage(String),
    /// Getting a ticket failed (KDC, KDC proxy, credential cache, keytab).
    Kerberos(azkrb_cloudtgt::Error),
    /// The SMB connection, session or an operation on the share failed.
    Smb(azkrb_smb3::Error),
    /// The connection dropped and every reconnect attempt failed.
    Reconnect {
        /// The share and the address tried.
        target: String,
        /// Attempts made.
        attempts: u32,
        /// How long they took.
        seconds: u64,
        /// The last attempt's error.
        last: Box<Error>,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) => f.write_str(m),
            Error::Kerberos(e) => write!(f, "Kerberos: {e}"),
            Error::Smb(e) => write!(f, "SMB: {e}"),
            Error::Reconnect {
                target,
                attempts,
                seconds,
                last,
            } => write!(
                f,
                "the connection to {target} dropped and {attempts} reconnect attempt(s) over \
                 {seconds} s failed; the last: {last}"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Usage(_) => None,
            Error::Kerberos(e) => Some(e),
            Error::Smb(e) => Some(e),
            Error::Reconnect { last, .. } => Some(last.as_ref()),
        }
    }
}

impl From<azkrb_cloudtgt::Error> for Error {
    fn from(e: azkrb_cloudtgt::Error) -> Self {
        Error::Kerberos(e)
    }
}

impl From<azkrb_smb3::Error> for Error {
    fn from(e: azkrb_smb3::Error) -> Self {
        Error::Smb(e)
    }
}
