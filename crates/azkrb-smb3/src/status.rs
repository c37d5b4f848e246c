//! NTSTATUS values, typed, with messages for the common ones.

/// An NTSTATUS code.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NtStatus(pub u32);

macro_rules! statuses {
    ($( $name:ident = $value:literal => $text:literal, )*) => {
        impl NtStatus {
            $( #[doc = $text] pub const $name: Self = Self($value); )*

            /// The symbolic name, if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// What the status means, if known.
            pub fn message(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($text), )*
                    _ => None,
                }
            }
        }
    };
}

statuses! {
    SUCCESS = 0x0000_0000 => "success",
    PENDING = 0x0000_0103 => "the operation is pending",
    NOTIFY_ENUM_DIR = 0x0000_010C => "too many changes to report",
    BUFFER_OVERFLOW = 0x8000_0005 => "the data was too large for the buffer",
    NO_MORE_FILES = 0x8000_0006 => "no more files",
    MORE_PROCESSING_REQUIRED = 0xC000_0016 => "more processing required",
    INVALID_PARAMETER = 0xC000_000D => "invalid parameter",
    NO_SUCH_FILE = 0xC000_000F => "no such file",
    END_OF_FILE = 0xC000_0011 => "end of file",
    ACCESS_DENIED = 0xC000_0022 => "access denied",
    BUFFER_TOO_SMALL = 0xC000_0023 => "the buffer was too small",
    PRIVILEGE_NOT_HELD = 0xC000_0061 => "a required privilege is not held (SeSecurityPrivilege for a SACL, SeRestorePrivilege for another owner)",
    INVALID_SECURITY_DESCR = 0xC000_0079 => "the security descriptor is not valid",
    INVALID_OWNER = 0xC000_005A => "this user may not be made the owner",
    OBJECT_NAME_INVALID = 0xC000_0033 => "the name is not valid",
    OBJECT_NAME_NOT_FOUND = 0xC000_0034 => "no such file or directory",
    OBJECT_NAME_COLLISION = 0xC000_0035 => "the file already exists",
    OBJECT_PATH_NOT_FOUND = 0xC000_003A => "no such directory in the path",
    SHARING_VIOLATION = 0xC000_0043 => "the file is in use (sharing violation)",
    DELETE_PENDING = 0xC000_0056 => "the file is being deleted",
    LOGON_FAILURE = 0xC000_006D => "logon failure: the server refused the credentials",
    ACCOUNT_RESTRICTION = 0xC000_006E => "account restriction (for Entra Kerberos: an MFA Conditional Access policy applies to the storage app)",
    INSUFFICIENT_RESOURCES = 0xC000_009A => "the server is out of resources",
    FILE_IS_A_DIRECTORY = 0xC000_00BA => "the file is a directory",
    NOT_SUPPORTED = 0xC000_00BB => "not supported by the server",
    NETWORK_NAME_DELETED = 0xC000_00C9 => "the network name was deleted",
    BAD_NETWORK_NAME = 0xC000_00CC => "no such share",
    DIRECTORY_NOT_EMPTY = 0xC000_0101 => "the directory is not empty",
    NOT_A_DIRECTORY = 0xC000_0103 => "not a directory",
    CANCELLED = 0xC000_0120 => "the request was cancelled",
    FILE_CLOSED = 0xC000_0128 => "the file handle is closed",
    INVALID_DEVICE_REQUEST = 0xC000_0010 => "invalid device request",
    USER_SESSION_DELETED = 0xC000_0203 => "the session was deleted",
    NETWORK_SESSION_EXPIRED = 0xC000_035C => "the session expired: re-authenticate",
    BAD_TOKEN_TYPE = 0xC000_00A8 => "bad token type (the server refused the ticket, e.g. an unexpected PAC)",
    INVALID_NETWORK_RESPONSE = 0xC000_00C3 => "invalid network response",
    DISK_FULL = 0xC000_007F => "the disk is full",
    STOPPED_ON_SYMLINK = 0x8000_002D => "stopped on a symbolic link",
    REQUEST_NOT_ACCEPTED = 0xC000_00D0 => "the server accepts no more connections",
    ENCRYPTION_REQUIRED = 0xC000_A200 => "the server requires encryption",
    CANNOT_DELETE = 0xC000_0121 => "the file cannot be deleted (read-only attribute?)",
    FILE_LOCK_CONFLICT = 0xC000_0054 => "a lock conflicts with the request",
    LOCK_NOT_GRANTED = 0xC000_0055 => "the lock was not granted",
    QUOTA_EXCEEDED = 0xC000_0044 => "the quota is exceeded",
    NAME_TOO_LONG = 0xC000_0106 => "the name is too long",
}

impl std::fmt::Display for NtStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.name(), self.message()) {
            (Some(n), Some(m)) => write!(f, "{m} (STATUS_{n}, 0x{:08x})", self.0),
            _ => write!(f, "NTSTATUS 0x{:08x}", self.0),
        }
    }
}

impl std::fmt::Debug for NtStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => write!(f, "STATUS_{n}"),
            None => write!(f, "NtStatus(0x{:08x})", self.0),
        }
    }
}

impl NtStatus {
    /// True for the error severity (0xC...).
    pub const fn is_error(self) -> bool {
        self.0 >> 30 == 3
    }
}
