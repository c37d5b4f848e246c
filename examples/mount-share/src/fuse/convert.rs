//! Between SMB and the kernel: NTSTATUS to errno, FILETIME to SystemTime, open flags to
//! access rights.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use azkrb::Error;
use azkrb::smb3::{Access, Error as SmbError, NtStatus};
use fuser::Errno;

/// FILETIME of the Unix epoch (100 ns units since 1601).
pub(super) const UNIX_EPOCH_FILETIME: u64 = 116_444_736_000_000_000;

/// The errno for an error of the share: the server's status, or EKEYEXPIRED when the
/// session expired and could not be re-authenticated (the TGT has run out, or the credential
/// cache now holds another principal's: log in again).
pub(super) fn errno(e: &Error) -> Errno {
    match e {
        Error::Smb(e) => smb_errno(e),
        Error::Kerberos(_) | Error::Usage(_) => Errno::from_i32(libc::EKEYEXPIRED),
        // The server stayed out of reach: the mount carries on, this operation fails.
        Error::Reconnect { .. } => Errno::EIO,
    }
}

/// The errno for an SMB error.
fn smb_errno(e: &SmbError) -> Errno {
    match e {
        SmbError::Status { status, .. } => match *status {
            NtStatus::OBJECT_NAME_NOT_FOUND
            | NtStatus::OBJECT_PATH_NOT_FOUND
            | NtStatus::NO_SUCH_FILE
            | NtStatus::DELETE_PENDING => Errno::ENOENT,
            NtStatus::ACCESS_DENIED | NtStatus::CANNOT_DELETE => Errno::EACCES,
            NtStatus::OBJECT_NAME_COLLISION => Errno::EEXIST,
            NtStatus::DIRECTORY_NOT_EMPTY => Errno::ENOTEMPTY,
            NtStatus::NOT_A_DIRECTORY => Errno::ENOTDIR,
            NtStatus::FILE_IS_A_DIRECTORY => Errno::EISDIR,
            NtStatus::SHARING_VIOLATION => Errno::EBUSY,
            NtStatus::FILE_LOCK_CONFLICT | NtStatus::LOCK_NOT_GRANTED => Errno::EAGAIN,
            NtStatus::OBJECT_NAME_INVALID | NtStatus::INVALID_PARAMETER => Errno::EINVAL,
            NtStatus::NAME_TOO_LONG => Errno::ENAMETOOLONG,
            NtStatus::DISK_FULL => Errno::ENOSPC,
            NtStatus::QUOTA_EXCEEDED => Errno::EDQUOT,
            // Not ENOSYS: the kernel would stop sending that operation for good.
            NtStatus::NOT_SUPPORTED => Errno::EOPNOTSUPP,
            _ => Errno::EIO,
        },
        _ => Errno::EIO,
    }
}

pub(super) fn time(filetime: u64) -> SystemTime {
    if filetime >= UNIX_EPOCH_FILETIME {
        UNIX_EPOCH + Duration::from_nanos((filetime - UNIX_EPOCH_FILETIME).saturating_mul(100))
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_nanos(
                (UNIX_EPOCH_FILETIME - filetime).saturating_mul(100),
            ))
            .unwrap_or(UNIX_EPOCH)
    }
}

/// A time as a FILETIME (0, "leave unchanged", never comes out of a real time).
pub(super) fn filetime(t: SystemTime) -> u64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH_FILETIME.saturating_add((d.as_nanos() / 100) as u64),
        Err(e) => UNIX_EPOCH_FILETIME
            .saturating_sub((e.duration().as_nanos() / 100) as u64)
            .max(1),
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The SMB access for open(2) flags; attributes are always readable (fstat on the handle).
pub(super) fn desired_access(flags: i32) -> Access {
    Access::READ_ATTRIBUTES
        | match flags & libc::O_ACCMODE {
            libc::O_WRONLY => Access::GENERIC_WRITE,
            libc::O_RDWR => Access::GENERIC_READ | Access::GENERIC_WRITE,
            _ => Access::GENERIC_READ,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetimes_round_trip_and_the_epoch_maps_to_1970() {
        assert_eq!(time(UNIX_EPOCH_FILETIME), UNIX_EPOCH);
        let t = UNIX_EPOCH + Duration::from_secs(1_000_000_000) + Duration::from_micros(7);
        assert_eq!(time(filetime(t)), t);
        assert_eq!(time(0), UNIX_EPOCH - Duration::from_secs(11_644_473_600));
        assert!(filetime(UNIX_EPOCH - Duration::from_secs(20_000_000_000)) >= 1);
    }

    #[test]
    fn server_statuses_become_errno_values() {
        let s = |status| SmbError::Status {
            command: "CREATE",
            status,
        };
        assert_eq!(
            smb_errno(&s(NtStatus::OBJECT_NAME_NOT_FOUND)),
            Errno::ENOENT
        );
        assert_eq!(smb_errno(&s(NtStatus::ACCESS_DENIED)), Errno::EACCES);
        assert_eq!(smb_errno(&s(NtStatus::CANNOT_DELETE)), Errno::EACCES);
        assert_eq!(
            smb_errno(&s(NtStatus::OBJECT_NAME_COLLISION)),
            Errno::EEXIST
        );
        assert_eq!(
            smb_errno(&s(NtStatus::DIRECTORY_NOT_EMPTY)),
            Errno::ENOTEMPTY
        );
        assert_eq!(smb_errno(&s(NtStatus::NOT_SUPPORTED)), Errno::EOPNOTSUPP);
        assert_eq!(smb_errno(&s(NtStatus::QUOTA_EXCEEDED)), Errno::EDQUOT);
        assert_eq!(smb_errno(&s(NtStatus(0xC000_9999))), Errno::EIO);
        assert_eq!(smb_errno(&SmbError::BadSignature), Errno::EIO);
    }
}
