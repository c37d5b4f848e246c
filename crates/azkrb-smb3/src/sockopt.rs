//! The receive low-water mark (`SO_RCVLOWAT`) of the connection's socket.
//!
//! While the reader waits for the rest of a large message, the kernel is told how many bytes
//! that is: it then wakes the reader once, when they are all there, instead of at every
//! arriving segment. That saves the reader's wake-ups and system calls, and the window
//! updates the server has to process on its side (a 1 GiB read: 0.59 s → 0.51 s median on
//! the lab, see BENCHMARKS.md). Linux only; elsewhere the calls do nothing.

use tokio::net::TcpStream;

/// Sets the socket's receive low-water mark to `bytes` (at least 1). The kernel caps it at
/// half its largest receive buffer and still wakes the reader early under memory pressure,
/// so a large value cannot stall a reader; a value left above the size of the next message
/// would, so callers set it back to 1 before waiting for anything smaller.
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
