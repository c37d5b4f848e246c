//! The receive low-water mark (`SO_RCVLOWAT`) of the connection's socket.
//!
//! While the reader waits for the rest of a large message, the kernel is told how many bytes
//! that is: it then wakes the reader once, when they are all there, instead of at every
//! arriving segment. That saves the reader's wake-ups and system calls, and the window
//! updates the server has to process on its side (a 1 GiB read: 0.59 s → 0.51 s median on
//! the lab, see BENCHMARKS.md). Linux only; elsewhere the calls do nothing.

use tokio::net::TcpStream;

/// True if this kernel handles the mark safely: Linux 5.10 and later carry both fixes for
/// readers that were never woken with a mark set ("tcp: fix SO_RCVLOWAT possible hangs
/// under high mem pressure", "tcp: fix SO_RCVLOWAT hangs with fat skbs"). Elsewhere, or if
/// the version cannot be read, the mark is not used.
pub(crate) fn low_water_is_safe() -> bool {
    static SAFE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SAFE.get_or_init(|| {
        cfg!(target_os = "linux")
            && std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .and_then(|r| kernel_version(&r))
                .is_some_and(|v| v >= (5, 10))
    })
}

/// "6.12.48-cloud-amd64" → (6, 12).
fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Sets the socket's receive low-water mark to `bytes` (at least 1). A mark left above the
/// size of the next message would never wake the reader, so callers set it back to 1
/// before waiting for anything whose size they do not know, and keep it within a quarter
/// of the receive buffer.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) fn set_recv_low_water(sock: &TcpStream, bytes: usize) -> std::io::Result<()> {
    use std::os::fd::{AsFd, AsRawFd};
    let value = libc::c_int::try_from(bytes.max(1)).unwrap_or(libc::c_int::MAX);
    let fd = sock.as_fd();
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is borrowed from `sock`, an open socket that outlives this call, so the
    // descriptor is valid for its duration. The option value points to `value`, a live
    // `c_int` on this stack frame, and `len` is exactly its size, so the kernel reads only
    // memory we own; setsockopt copies the value during the call and keeps no pointer to it,
    // and it writes no memory of this process.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&raw const value).cast::<libc::c_void>(),
            len,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Does nothing off Linux.
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_recv_low_water(_sock: &TcpStream, _bytes: usize) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::kernel_version;

    #[test]
    fn kernel_releases_parse_to_major_and_minor() {
        assert_eq!(kernel_version("6.12.48-cloud-amd64\n"), Some((6, 12)));
        assert_eq!(kernel_version("5.10.0"), Some((5, 10)));
        assert_eq!(kernel_version("4.19-rc1"), Some((4, 19)));
        assert!(kernel_version("5.4.0") < Some((5, 10)));
        assert_eq!(kernel_version("linux"), None);
        assert_eq!(kernel_version(""), None);
        assert_eq!(kernel_version("6"), None);
    }
}
