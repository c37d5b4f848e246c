//! Failures and their exit codes: 1 the server refused, 2 usage, 3 Kerberos, 4 network or
//! protocol.

use azkrb::Error;

/// A failure with its exit code.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
}

impl Failure {
    /// The failure, said of `what` (a file among many).
    pub(crate) fn about(self, what: &str) -> Self {
        if self.message.starts_with(what) {
            return self;
        }
        Failure {
            code: self.code,
            message: format!("{what}: {}", self.message),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Usage(_) => 2,
            Error::Kerberos(_) => 3,
            Error::Smb(azkrb::smb3::Error::Status { .. }) => 1,
            Error::Smb(azkrb::smb3::Error::Auth(_)) => 3,
            Error::Smb(azkrb::smb3::Error::InvalidArgument(_)) => 2,
            Error::Smb(_) | Error::Reconnect { .. } => 4,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

impl From<azkrb::cloudtgt::Error> for Failure {
    fn from(e: azkrb::cloudtgt::Error) -> Self {
        Error::Kerberos(e).into()
    }
}

impl From<azkrb::smb3::Error> for Failure {
    fn from(e: azkrb::smb3::Error) -> Self {
        Error::Smb(e).into()
    }
}

pub(crate) fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

pub(crate) fn local_io(what: &str, e: std::io::Error) -> Failure {
    Failure {
        code: 4,
        message: format!("{what}: {e}"),
    }
}
