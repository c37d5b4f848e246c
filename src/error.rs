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
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) => f.write_str(m),
            Error::Kerberos(e) => write!(f, "Kerberos: {e}"),
            Error::Smb(e) => write!(f, "SMB: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Usage(_) => None,
            Error::Kerberos(e) => Some(e),
            Error::Smb(e) => Some(e),
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
