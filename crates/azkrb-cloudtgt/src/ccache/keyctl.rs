//! The Linux key management calls a `KEYRING:` credential cache needs (`add_key(2)` and
//! `keyctl(2)`), made directly, as libkeyutils makes them: no C library is linked.
//!
//! This is the crate's only `unsafe` code: each call below hands the kernel pointers to a
//! NUL-terminated string or a byte buffer, with its length, that live across the call. See
//! [`syscall`] for why that is sound.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;

use zeroize::Zeroizing;

/// A key's or keyring's serial number.
pub(crate) type Serial = i32;

/// The calling thread's keyring.
pub(crate) const THREAD_KEYRING: Serial = -1;
/// The calling process's keyring.
pub(crate) const PROCESS_KEYRING: Serial = -2;
/// The session keyring.
pub(crate) const SESSION_KEYRING: Serial = -3;
/// The user's keyring.
pub(crate) const USER_KEYRING: Serial = -4;
/// The user's default session keyring.
pub(crate) const USER_SESSION_KEYRING: Serial = -5;

const KEYCTL_GET_KEYRING_ID: libc::c_ulong = 0;
const KEYCTL_DESCRIBE: libc::c_ulong = 6;
const KEYCTL_CLEAR: libc::c_ulong = 7;
const KEYCTL_LINK: libc::c_ulong = 8;
const KEYCTL_SEARCH: libc::c_ulong = 10;
const KEYCTL_READ: libc::c_ulong = 11;
const KEYCTL_SET_TIMEOUT: libc::c_ulong = 15;
const KEYCTL_GET_PERSISTENT: libc::c_ulong = 22;

/// The most a key's payload may be read as (a `big_key` holds up to 1 MiB).
const MAX_READ: usize = 4 << 20;

/// Makes the system call `number` (`add_key` or `keyctl`) with five integer arguments.
///
/// # Safety
/// Every argument the call reads as a pointer must point to a NUL-terminated string, or to
/// memory of the length passed beside it (writable, and initialized, where the kernel
/// writes), valid for the whole call. The kernel copies what it reads, writes at most the
/// length it is given, and keeps no pointer after it returns; so with such arguments the
/// call touches only memory the caller lent it. A failing call returns -1 and sets
/// `errno`, which is read at once. Every caller below passes pointers from a live `CStr`,
/// or from a `Vec` it owns with that `Vec`'s own length, and 0 for unused arguments.
unsafe fn syscall(number: libc::c_long, args: [libc::c_ulong; 5]) -> io::Result<libc::c_long> {
    // SAFETY: the caller's contract above.
    let rc = unsafe { libc::syscall(number, args[0], args[1], args[2], args[3], args[4]) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// `keyctl(op, a, b, c)`.
///
/// # Safety
/// As for [`syscall`].
unsafe fn keyctl(
    op: libc::c_ulong,
    a: libc::c_ulong,
    b: libc::c_ulong,
    c: libc::c_ulong,
) -> io::Result<libc::c_long> {
    // SAFETY: the caller's contract.
    unsafe { syscall(libc::SYS_keyctl, [op, a, b, c, 0]) }
}

/// `keyctl` for the operations whose arguments are all integers (link, clear,
/// set_timeout, get_persistent, get_keyring_ID): no memory is lent to the kernel.
fn keyctl_ints(
    op: libc::c_ulong,
    a: libc::c_ulong,
    b: libc::c_ulong,
    c: libc::c_ulong,
) -> io::Result<libc::c_long> {
    let integers_only = [
        KEYCTL_GET_KEYRING_ID,
        KEYCTL_CLEAR,
        KEYCTL_LINK,
        KEYCTL_SET_TIMEOUT,
        KEYCTL_GET_PERSISTENT,
    ];
    if !integers_only.contains(&op) {
        return Err(io::Error::other(
            "keyctl_ints takes integer-only operations",
        ));
    }
    // SAFETY: these operations read no argument as a pointer.
    unsafe { keyctl(op, a, b, c) }
}

fn cstring(text: &[u8]) -> io::Result<CString> {
    CString::new(text)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a key name"))
}

fn serial(rc: libc::c_long) -> io::Result<Serial> {
    Serial::try_from(rc).map_err(|_| io::Error::other("the kernel returned no key serial"))
}

/// A ring as the kernel takes it (special ids are negative).
fn ring(id: Serial) -> libc::c_ulong {
    id as libc::c_long as libc::c_ulong
}

/// Adds a key of type `kind` (`user`, `big_key`, `keyring`) named `description` with
/// `payload` to `keyring`, replacing one of the same type and name there.
pub(crate) fn add_key(
    kind: &CStr,
    description: &[u8],
    payload: &[u8],
    keyring: Serial,
) -> io::Result<Serial> {
    let description = cstring(description)?;
    let data = if payload.is_empty() {
        0
    } else {
        payload.as_ptr() as libc::c_ulong
    };
    // SAFETY: `kind` and `description` are live C strings; `payload` is a live slice of the
    // length passed (or null with length 0).
    let rc = unsafe {
        syscall(
            libc::SYS_add_key,
            [
                kind.as_ptr() as libc::c_ulong,
                description.as_ptr() as libc::c_ulong,
                data,
                payload.len() as libc::c_ulong,
                ring(keyring),
            ],
        )
    }?;
    serial(rc)
}

/// Finds a key of type `kind` named `description` in `keyring` or the keyrings it holds;
/// `None` when there is none.
pub(crate) fn search(
    keyring: Serial,
    kind: &CStr,
    description: &[u8],
) -> io::Result<Option<Serial>> {
    let description = cstring(description)?;
    // SAFETY: `kind` and `description` are live C strings; no destination keyring.
    let found = unsafe {
        keyctl(
            KEYCTL_SEARCH,
            ring(keyring),
            kind.as_ptr() as libc::c_ulong,
            description.as_ptr() as libc::c_ulong,
        )
    };
    match found {
        Ok(rc) => serial(rc).map(Some),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOKEY | libc::EKEYEXPIRED | libc::EKEYREVOKED)
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// What `op` (READ or DESCRIBE) writes of `key`, whole: the buffer starts at `first` bytes
/// and is made as large as the kernel says it needs (up to `max`), zeroized when dropped.
fn fetch(
    op: libc::c_ulong,
    key: Serial,
    first: usize,
    max: usize,
) -> io::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(vec![0u8; first]);
    loop {
        // SAFETY: `buf` is ours, initialized, and its length is passed; READ and DESCRIBE
        // write at most that many bytes into it.
        let n = unsafe {
            keyctl(
                op,
                ring(key),
                buf.as_mut_ptr() as libc::c_ulong,
                buf.len() as libc::c_ulong,
            )
        }?;
        let n = usize::try_from(n).map_err(|_| io::Error::other("a negative key size"))?;
        if n <= buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        if n > max {
            return Err(io::Error::other(format!(
                "a key of {n} bytes (at most {max} are read)"
            )));
        }
        // It grew, or was larger than the first guess: read it again whole.
        buf = Zeroizing::new(vec![0u8; n]);
    }
}

/// A key's payload (a keyring's: the serials it holds, 4 bytes each), zeroized when
/// dropped.
pub(crate) fn read(key: Serial) -> io::Result<Zeroizing<Vec<u8>>> {
    fetch(KEYCTL_READ, key, 4096, MAX_READ)
}

/// The serials a keyring holds.
pub(crate) fn links(keyring: Serial) -> io::Result<Vec<Serial>> {
    Ok(read(keyring)?
        .chunks_exact(4)
        .map(|c| Serial::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// A key's type and name: the first and last fields of `type;uid;gid;perm;description`.
pub(crate) fn describe(key: Serial) -> io::Result<(String, String)> {
    let mut buf = fetch(KEYCTL_DESCRIBE, key, 512, 65536)?;
    // NUL-terminated.
    if buf.last() == Some(&0) {
        buf.pop();
    }
    // type;uid;gid;perm;description (the description may hold ';' itself).
    let text = String::from_utf8_lossy(&buf);
    let mut fields = text.splitn(5, ';');
    let kind = fields.next().unwrap_or_default().to_string();
    let name = fields.nth(3).unwrap_or_default().to_string();
    Ok((kind, name))
}

/// Links `key` into `keyring`.
pub(crate) fn link(key: Serial, keyring: Serial) -> io::Result<()> {
    keyctl_ints(KEYCTL_LINK, ring(key), ring(keyring), 0).map(drop)
}

/// Empties `keyring`.
pub(crate) fn clear(keyring: Serial) -> io::Result<()> {
    keyctl_ints(KEYCTL_CLEAR, ring(keyring), 0, 0).map(drop)
}

/// Lets `key` expire in `seconds` (0: never).
pub(crate) fn set_timeout(key: Serial, seconds: u32) -> io::Result<()> {
    keyctl_ints(
        KEYCTL_SET_TIMEOUT,
        ring(key),
        libc::c_ulong::from(seconds),
        0,
    )
    .map(drop)
}

/// The persistent keyring of `uid`, linked into `link_to`.
pub(crate) fn get_persistent(uid: u32, link_to: Serial) -> io::Result<Serial> {
    serial(keyctl_ints(
        KEYCTL_GET_PERSISTENT,
        libc::c_ulong::from(uid),
        ring(link_to),
        0,
    )?)
}

/// The serial of a special keyring (without making it).
pub(crate) fn keyring_id(special: Serial) -> io::Result<Serial> {
    serial(keyctl_ints(KEYCTL_GET_KEYRING_ID, ring(special), 0, 0)?)
}
