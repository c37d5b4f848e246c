//! `KCM:` credential caches: held by a KCM daemon (sssd-kcm on Fedora and RHEL, Heimdal's
//! kcm) and reached over its Unix socket with the protocol MIT's and Heimdal's libraries
//! speak: a request is the protocol version (2.0), a 16-bit operation and its arguments,
//! framed by a 32-bit length; a reply, a 32-bit status and its results, framed by a 32-bit
//! length and a 32-bit transport status. Principals and
//! credentials travel as in a FILE cache of format 4. The messages are built and read here
//! without I/O ([`request`], [`reply`]); [`Kcm`] is the thin driver.

use std::io::{Read, Write};
use std::time::Duration;

use super::{Ccache, Entry, entry_len, read_entry, read_principal, write_entry, write_principal};
use crate::error::{Error, Result};
use crate::files::Reader;

/// The operations used (MIT's `kcm.h`, Heimdal's `kcm_protocol.h`).
mod op {
    pub const GEN_NEW: u16 = 3;
    pub const INITIALIZE: u16 = 4;
    pub const STORE: u16 = 6;
    pub const GET_PRINCIPAL: u16 = 8;
    pub const GET_CRED_UUID_LIST: u16 = 9;
    pub const GET_CRED_BY_UUID: u16 = 10;
    pub const GET_CACHE_UUID_LIST: u16 = 18;
    pub const GET_CACHE_BY_UUID: u16 = 19;
    pub const GET_DEFAULT_CACHE: u16 = 20;
    pub const SET_DEFAULT_CACHE: u16 = 21;
}

/// Caches of one user's collection listed at most.
const MAX_CACHES: usize = 1_000;

/// The largest reply read (MIT's limit too).
const MAX_REPLY: usize = 10 << 20;
/// How long one exchange with the daemon may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Credentials read from one cache at most, their bytes in all, and the time a load may
/// take: a daemon (broken or hostile) cannot make a load endless or unbounded.
const MAX_CREDS: usize = 10_000;
const MAX_LOAD_BYTES: usize = 64 << 20;
const LOAD_TIME: Duration = Duration::from_secs(30);

/// A request: protocol version 2.0, `operation`, its arguments; framed by its length.
pub fn request(operation: u16, args: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    let len = (4 + args.len()) as u32;
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(8 + args.len()));
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[2, 0]);
    out.extend_from_slice(&operation.to_be_bytes());
    out.extend_from_slice(args);
    out
}

/// The results of a reply (its bytes after the length), or the daemon's error status.
pub fn reply<'a>(what: &str, bytes: &'a [u8]) -> Result<&'a [u8]> {
    let (status, rest) = bytes.split_at_checked(4).ok_or_else(|| Error::File {
        file: "KCM".into(),
        detail: format!("{what}: a reply shorter than its status"),
    })?;
    let status = i32::from_be_bytes([status[0], status[1], status[2], status[3]]);
    if status != 0 {
        return Err(status_error(what, status));
    }
    Ok(rest)
}

fn status_error(what: &str, status: i32) -> Error {
    Error::File {
        file: "KCM".into(),
        detail: format!(
            "{what}: the KCM daemon answered with error {status}{}",
            hint(status)
        ),
    }
}

/// KRB5_CC_NOTFOUND, KRB5_FCC_NOFILE.
const NOT_FOUND: [i32; 2] = [-1765328189, -1765328243];

/// What a KCM status means, for the errors a user meets.
fn hint(status: i32) -> &'static str {
    match status {
        s if NOT_FOUND.contains(&s) => " (no such credential cache: log in first)",
        // KRB5_CC_NOSUPP
        -1765328137 => " (not supported by this daemon)",
        _ => "",
    }
}

/// A cache name as an argument: its bytes and a NUL.
fn name_arg(name: &str) -> Vec<u8> {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    v
}

/// A KCM daemon, by the path of its socket.
#[derive(Debug, Clone)]
pub struct Kcm {
    socket: String,
}

impl Kcm {
    /// The daemon listening on `socket` (MIT's default: `/var/run/.heim_org.h5l.kcm-socket`;
    /// krb5.conf's `kcm_socket` names another).
    pub fn new(socket: impl Into<String>) -> Self {
        Self {
            socket: socket.into(),
        }
    }

    fn io(&self, e: std::io::Error) -> Error {
        Error::File {
            file: self.socket.clone(),
            detail: format!("the KCM daemon: {e} (is sssd-kcm or kcm running?)"),
        }
    }

    /// One exchange: `operation` with `args`; the results, or the daemon's error status.
    fn call_status(
        &self,
        what: &str,
        operation: u16,
        args: &[u8],
    ) -> Result<std::result::Result<zeroize::Zeroizing<Vec<u8>>, i32>> {
        let bytes = self.exchange(what, operation, args)?;
        match bytes.get(..4) {
            Some(s) if s != [0, 0, 0, 0] => Ok(Err(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))),
            _ => Ok(Ok(zeroize::Zeroizing::new(reply(what, &bytes)?.to_vec()))),
        }
    }

    /// One exchange: `operation` with `args`; the results.
    fn call(&self, what: &str, operation: u16, args: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let bytes = self.exchange(what, operation, args)?;
        Ok(zeroize::Zeroizing::new(reply(what, &bytes)?.to_vec()))
    }

    /// One exchange: the reply's bytes after its framing (status first).
    fn exchange(
        &self,
        what: &str,
        operation: u16,
        args: &[u8],
    ) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let mut s =
            std::os::unix::net::UnixStream::connect(&self.socket).map_err(|e| self.io(e))?;
        s.set_read_timeout(Some(TIMEOUT)).map_err(|e| self.io(e))?;
        s.set_write_timeout(Some(TIMEOUT)).map_err(|e| self.io(e))?;
        s.write_all(&request(operation, args))
            .map_err(|e| self.io(e))?;
        // The reply's length, the transport's own status, then the reply.
        let mut head = [0u8; 8];
        s.read_exact(&mut head).map_err(|e| self.io(e))?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        // The operation's status, as MIT reads it: a failed operation (sssd-kcm's way)
        // carries its code here and no reply.
        let code = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if code != 0 {
            return Ok(zeroize::Zeroizing::new(code.to_be_bytes().to_vec()));
        }
        if len > MAX_REPLY {
            return Err(Error::File {
                file: self.socket.clone(),
                detail: format!("{what}: a KCM reply of {len} bytes"),
            });
        }
        let mut bytes = zeroize::Zeroizing::new(vec![0u8; len]);
        s.read_exact(&mut bytes).map_err(|e| self.io(e))?;
        Ok(bytes)
    }

    /// The name of this user's default cache.
    pub fn default_cache(&self) -> Result<String> {
        let r = self.call("the default cache", op::GET_DEFAULT_CACHE, &[])?;
        self.name_in("the default cache", &r)
    }

    /// A cache name in a reply (NUL-terminated).
    fn name_in(&self, what: &str, r: &[u8]) -> Result<String> {
        let end = r.iter().position(|b| *b == 0).unwrap_or(r.len());
        String::from_utf8(r[..end].to_vec()).map_err(|_| Error::File {
            file: self.socket.clone(),
            detail: format!("{what}: a cache name that is not UTF-8"),
        })
    }

    /// The names of this user's caches, the default first.
    pub fn caches(&self) -> Result<Vec<String>> {
        let default = self.default_cache()?;
        // sssd-kcm answers "no such cache" for a user who has none.
        let uuids = match self.call_status("the cache list", op::GET_CACHE_UUID_LIST, &[])? {
            Ok(u) => u,
            Err(status) if NOT_FOUND.contains(&status) => zeroize::Zeroizing::new(Vec::new()),
            Err(status) => return Err(status_error("the cache list", status)),
        };
        if uuids.len() % 16 != 0 {
            return Err(Error::File {
                file: self.socket.clone(),
                detail: "the KCM daemon's cache list is not a list of 16-byte ids".into(),
            });
        }
        let mut names = vec![default.clone()];
        let started = std::time::Instant::now();
        for uuid in uuids.chunks_exact(16).take(MAX_CACHES) {
            if started.elapsed() > LOAD_TIME {
                break;
            }
            // A cache removed meanwhile, or named in other than UTF-8, is passed over.
            let Ok(r) = self.call("a cache by its id", op::GET_CACHE_BY_UUID, uuid) else {
                continue;
            };
            let Ok(name) = self.name_in("a cache by its id", &r) else {
                continue;
            };
            if name != default {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// The principal of cache `name`, if it has been initialized.
    fn principal_of(&self, name: &str) -> Option<crate::principal::Principal> {
        let label = format!("KCM:{name}");
        let p = self.call(&label, op::GET_PRINCIPAL, &name_arg(name)).ok()?;
        (!p.is_empty())
            .then(|| read_principal(&mut Reader::new(&label, &p)).ok())
            .flatten()
    }

    /// The cache of the collection that holds `principal`'s credentials (the default when
    /// none does).
    pub fn holding(&self, principal: &crate::principal::Principal) -> Result<String> {
        let caches = self.caches()?;
        Ok(caches
            .iter()
            .find(|n| self.principal_of(n).is_some_and(|p| p.same_as(principal)))
            .unwrap_or(&caches[0])
            .clone())
    }

    /// Makes `name` the default cache (after a login stored it, as kinit switches).
    pub fn set_default(&self, name: &str) -> Result<()> {
        if self.default_cache().is_ok_and(|d| d == name) {
            return Ok(());
        }
        self.call(
            &format!("KCM:{name}"),
            op::SET_DEFAULT_CACHE,
            &name_arg(name),
        )
        .map(drop)
    }

    /// The cache to keep `principal`'s TGT in, as kinit chooses one in a collection: the
    /// cache that holds that principal, else the default when it holds nothing yet, else a
    /// new one the daemon names. Once stored, [`set_default`](Self::set_default) makes it
    /// the default.
    pub fn for_principal(&self, principal: &crate::principal::Principal) -> Result<String> {
        let caches = self.caches()?;
        let name = match caches
            .iter()
            .find(|n| self.principal_of(n).is_some_and(|p| p.same_as(principal)))
        {
            Some(n) => n.clone(),
            None if self.principal_of(&caches[0]).is_none() => caches[0].clone(),
            None => {
                let r = self.call("a new cache", op::GEN_NEW, &[])?;
                self.name_in("a new cache", &r)?
            }
        };
        Ok(name)
    }

    /// Whether the named cache (the default one with `None`) exists and holds a principal.
    pub fn exists(&self, name: Option<&str>) -> Result<bool> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.default_cache()?,
        };
        let label = format!("KCM:{name}");
        match self.call_status(&label, op::GET_PRINCIPAL, &name_arg(&name))? {
            Ok(p) => Ok(!p.is_empty()),
            Err(s) if NOT_FOUND.contains(&s) => Ok(false),
            Err(s) => Err(status_error(&label, s)),
        }
    }

    /// The cache `name` (the default when `None`).
    pub fn load(&self, name: Option<&str>) -> Result<Ccache> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.default_cache()?,
        };
        let label = format!("KCM:{name}");
        let arg = name_arg(&name);
        let p = self.call(&label, op::GET_PRINCIPAL, &arg)?;
        if p.is_empty() {
            return Err(Error::File {
                file: label,
                detail: "the cache holds no principal (log in first)".into(),
            });
        }
        let principal = read_principal(&mut Reader::new(&label, &p))?;
        let uuids = self.call(&label, op::GET_CRED_UUID_LIST, &arg)?;
        let mut entries = Vec::new();
        let (started, mut bytes) = (std::time::Instant::now(), 0usize);
        for uuid in uuids.chunks_exact(16).take(MAX_CREDS) {
            if started.elapsed() > LOAD_TIME || bytes > MAX_LOAD_BYTES {
                return Err(Error::File {
                    file: label,
                    detail: format!(
                        "the KCM daemon's cache took over {} s or {} MiB to read",
                        LOAD_TIME.as_secs(),
                        MAX_LOAD_BYTES >> 20
                    ),
                });
            }
            let mut args = arg.clone();
            args.extend_from_slice(uuid);
            // A credential removed meanwhile is passed over.
            let Ok(c) = self.call(&label, op::GET_CRED_BY_UUID, &args) else {
                continue;
            };
            bytes += c.len();
            entries.push(read_entry(&mut Reader::new(&label, &c), 4)?);
        }
        Ok(Ccache {
            principal,
            kdc_offset: None,
            entries,
        })
    }

    /// Adds `entry` to the cache `name` (the default when `None`), as MIT's library stores a
    /// ticket: one STORE, nothing else of the cache touched.
    pub fn add(&self, name: Option<&str>, entry: &Entry) -> Result<()> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.default_cache()?,
        };
        self.call(&format!("KCM:{name}"), op::STORE, &store_args(&name, entry))
            .map(drop)
    }

    /// Replaces the cache `name` (the default when `None`) with `cache`: initialized for its
    /// principal, then each credential stored (as a new login does).
    pub fn save(&self, name: Option<&str>, cache: &Ccache) -> Result<()> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.default_cache()?,
        };
        let label = format!("KCM:{name}");
        let mut args = name_arg(&name);
        write_principal(&mut args, &cache.principal);
        self.call(&label, op::INITIALIZE, &args)?;
        for e in &cache.entries {
            self.call(&label, op::STORE, &store_args(&name, e))?;
        }
        Ok(())
    }
}

/// The arguments of STORE: the cache's name and the credential.
fn store_args(name: &str, e: &Entry) -> zeroize::Zeroizing<Vec<u8>> {
    // Room for all of it first: a buffer that grew after the key was written would leave
    // a copy of the key behind, unzeroized.
    let room = name.len() + 1 + entry_len(e);
    let mut args = zeroize::Zeroizing::new(Vec::with_capacity(room));
    args.extend_from_slice(&name_arg(name));
    write_entry(&mut args, e);
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_are_framed_as_the_daemons_expect() {
        let r = request(op::GET_PRINCIPAL, b"0\0");
        assert_eq!(*r, [0, 0, 0, 6, 2, 0, 0, 8, b'0', 0]);
        assert_eq!(reply("x", &[0, 0, 0, 0, 7, 7]).unwrap(), [7, 7]);
        let e = reply("x", &(-1765328189i32).to_be_bytes()).unwrap_err();
        assert!(e.to_string().contains("log in first"), "{e}");
        assert!(reply("x", &[0, 0]).is_err());
    }
}
