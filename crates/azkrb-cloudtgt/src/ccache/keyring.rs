//! `KEYRING:` credential caches, kept in the Linux kernel's keyrings as MIT's library keeps
//! them (RHEL 7 and others default to `KEYRING:persistent:%{uid}`), so that `klist`, `kinit`,
//! `kvno` and the kernel's `cifs.upcall` see what azkrb stores, and azkrb what they store.
//!
//! A name is `KEYRING:anchor:collection[:subsidiary]` (or `KEYRING:collection`, the legacy
//! form). The anchor says where the collection keyring lives: `persistent` (the user's
//! persistent keyring, which outlives sessions; the collection is then a uid), `user`,
//! `session`, `process`, `thread` or `legacy` (the session keyring). A collection is a
//! keyring named `_krb_<collection>` (`_krb` in the persistent keyring) holding one keyring
//! per cache and a `krb_ccache:primary` key naming the primary cache (version 1, then the
//! length-prefixed name). A cache keyring holds `__krb5_princ__` (its default principal),
//! optionally `__krb5_time_offsets__`, and one key per credential named by its server
//! principal, each in the FILE format's version 4 marshalling.

use azkrb_asn1::KerberosTime;
use zeroize::Zeroizing;

use super::keyctl::{self, Serial};
use super::{Ccache, Entry, entry_len, read_entry, read_principal, write_entry, write_principal};
use crate::error::{Error, Result};
use crate::files::Reader;
use crate::principal::Principal;

const KEYRING: &std::ffi::CStr = c"keyring";
const USER: &std::ffi::CStr = c"user";
const BIG_KEY: &std::ffi::CStr = c"big_key";
const PRINCIPAL_KEY: &str = "__krb5_princ__";
const TIME_OFFSETS_KEY: &str = "__krb5_time_offsets__";
const PRIMARY_KEY: &str = "krb_ccache:primary";
const COLLECTION_PREFIX: &str = "_krb_";
const PERSISTENT_COLLECTION: &str = "_krb";
const UNIQUE_PREFIX: &str = "krb_ccache_";

/// Where a collection keyring is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The user's persistent keyring (the collection names a uid).
    Persistent,
    /// The user keyring.
    User,
    /// The session keyring.
    Session,
    /// The process keyring.
    Process,
    /// The thread keyring.
    Thread,
    /// The session keyring, the initial cache linked there too (`KEYRING:name`).
    Legacy,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Persistent => "persistent",
            Anchor::User => "user",
            Anchor::Session => "session",
            Anchor::Process => "process",
            Anchor::Thread => "thread",
            Anchor::Legacy => "legacy",
        }
    }
}

/// A `KEYRING:` cache or collection name.
///
/// ```
/// use azkrb_cloudtgt::ccache::Keyring;
/// let k = Keyring::parse("persistent:1000").unwrap();
/// assert_eq!(k.to_string(), "KEYRING:persistent:1000");
/// let one = Keyring::parse("user:mine:krb_ccache_AbCd1234").unwrap();
/// assert_eq!(one.subsidiary(), Some("krb_ccache_AbCd1234"));
/// assert!(Keyring::parse("nowhere:x").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyring {
    anchor: Anchor,
    collection: String,
    subsidiary: Option<String>,
}

fn io_err(what: &str, name: &Keyring, e: std::io::Error) -> Error {
    Error::File {
        file: name.to_string(),
        detail: format!("{what}: {e}"),
    }
}

impl std::fmt::Display for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KEYRING:{}:{}", self.anchor.name(), self.collection)?;
        if let Some(s) = &self.subsidiary {
            write!(f, ":{s}")?;
        }
        Ok(())
    }
}

impl Keyring {
    /// Parses what follows `KEYRING:`.
    pub fn parse(residual: &str) -> Result<Self> {
        let (anchor, rest) = match residual.split_once(':') {
            None => (Anchor::Legacy, residual),
            Some((a, rest)) => {
                let anchor = match a {
                    "persistent" => Anchor::Persistent,
                    "user" => Anchor::User,
                    "session" => Anchor::Session,
                    "process" => Anchor::Process,
                    "thread" => {
                        return Err(Error::Config(format!(
                            "KEYRING:{residual}: a thread keyring belongs to one OS thread, and \
                             azkrb's work moves between threads: use a process, session or \
                             user keyring"
                        )));
                    }
                    "legacy" => Anchor::Legacy,
                    other => {
                        return Err(Error::Config(format!(
                            "KEYRING:{residual}: no keyring anchor {other:?} (persistent, \
                             user, session, process, thread or legacy)"
                        )));
                    }
                };
                (anchor, rest)
            }
        };
        let (collection, subsidiary) = match rest.split_once(':') {
            Some((c, s)) => (c.to_string(), Some(s.to_string())),
            None => (rest.to_string(), None),
        };
        if anchor == Anchor::Persistent
            && !collection.is_empty()
            && collection.parse::<u32>().is_err()
        {
            return Err(Error::Config(format!(
                "KEYRING:{residual}: a persistent collection is named by a uid"
            )));
        }
        if subsidiary.as_deref() == Some("") {
            return Err(Error::Config(format!("KEYRING:{residual}: an empty name")));
        }
        Ok(Self {
            anchor,
            collection,
            subsidiary,
        })
    }

    /// The cache's own name within its collection, when the name gives one.
    pub fn subsidiary(&self) -> Option<&str> {
        self.subsidiary.as_deref()
    }

    fn with_subsidiary(&self, subsidiary: &str) -> Self {
        Self {
            subsidiary: Some(subsidiary.to_string()),
            ..self.clone()
        }
    }

    /// The keyring the session's keys are written to (MIT's choice: the user session
    /// keyring when the session keyring is that one).
    fn session_anchor() -> Serial {
        match (
            keyctl::keyring_id(keyctl::SESSION_KEYRING),
            keyctl::keyring_id(keyctl::USER_SESSION_KEYRING),
        ) {
            (Ok(s), Ok(u)) if s == u => keyctl::USER_SESSION_KEYRING,
            _ => keyctl::SESSION_KEYRING,
        }
    }

    /// The keyring `name` in `parent`, made when missing; with `possess`, linked there too
    /// (a keyring reached only through the user keyring confers no possession, so the
    /// process keyring holds a link to it, as MIT's library keeps one).
    fn find_or_create(
        &self,
        parent: Serial,
        possess: Option<Serial>,
        name: &str,
    ) -> Result<Serial> {
        let err = |e| io_err("the kernel keyring", self, e);
        if let Some(k) = keyctl::search(parent, KEYRING, name.as_bytes()).map_err(err)? {
            if let Some(p) = possess {
                keyctl::link(k, p).map_err(err)?;
            }
            return Ok(k);
        }
        match possess {
            Some(p) => {
                let k = keyctl::add_key(KEYRING, name.as_bytes(), &[], p).map_err(err)?;
                keyctl::link(k, parent).map_err(err)?;
                Ok(k)
            }
            None => keyctl::add_key(KEYRING, name.as_bytes(), &[], parent).map_err(err),
        }
    }

    /// The collection keyring (made when missing).
    fn collection_id(&self) -> Result<Serial> {
        let anchor = match self.anchor {
            Anchor::Persistent => {
                let uid = if self.collection.is_empty() {
                    effective_uid()
                } else {
                    self.collection.parse().map_err(|_| {
                        Error::Config(format!("{self}: a persistent collection is named by a uid"))
                    })?
                };
                let persistent = match keyctl::get_persistent(uid, keyctl::PROCESS_KEYRING) {
                    Ok(k) => k,
                    // No persistent keyrings in this kernel: the user keyring, for oneself.
                    Err(e)
                        if e.raw_os_error() == Some(libc::EOPNOTSUPP) && uid == effective_uid() =>
                    {
                        keyctl::USER_KEYRING
                    }
                    Err(e) => return Err(io_err("the persistent keyring", self, e)),
                };
                return self.find_or_create(
                    persistent,
                    Some(keyctl::PROCESS_KEYRING),
                    PERSISTENT_COLLECTION,
                );
            }
            Anchor::Process => keyctl::PROCESS_KEYRING,
            Anchor::Thread => keyctl::THREAD_KEYRING,
            Anchor::Session | Anchor::Legacy => Self::session_anchor(),
            Anchor::User => {
                return self.find_or_create(
                    keyctl::USER_KEYRING,
                    Some(keyctl::PROCESS_KEYRING),
                    &format!("{COLLECTION_PREFIX}{}", self.collection),
                );
            }
        };
        self.find_or_create(
            anchor,
            None,
            &format!("{COLLECTION_PREFIX}{}", self.collection),
        )
    }

    /// The collection's primary cache name (set to the collection's own name, `tkt` for an
    /// empty one, when the collection has none yet, as MIT does).
    fn primary(&self, collection: Serial) -> Result<String> {
        let err = |e| io_err("the collection's primary key", self, e);
        match keyctl::search(collection, USER, PRIMARY_KEY.as_bytes()).map_err(err)? {
            Some(k) => {
                let payload = keyctl::read(k).map_err(err)?;
                parse_primary(&payload).ok_or_else(|| Error::File {
                    file: self.to_string(),
                    detail: "its krb_ccache:primary key is not one MIT's library wrote (version 1, a name)"
                        .into(),
                })
            }
            None => {
                let name = if self.collection.is_empty() {
                    "tkt".to_string()
                } else {
                    self.collection.clone()
                };
                self.set_primary(collection, &name)?;
                if self.anchor == Anchor::Legacy
                    && let Ok(Some(old)) =
                        keyctl::search(keyctl::SESSION_KEYRING, KEYRING, name.as_bytes())
                {
                    // A cache an older library left in the session keyring joins it.
                    keyctl::link(old, collection).map_err(err)?;
                }
                Ok(name)
            }
        }
    }

    fn set_primary(&self, collection: Serial, subsidiary: &str) -> Result<()> {
        let mut payload = 1u32.to_be_bytes().to_vec();
        payload.extend_from_slice(&(subsidiary.len() as u32).to_be_bytes());
        payload.extend_from_slice(subsidiary.as_bytes());
        keyctl::add_key(USER, PRIMARY_KEY.as_bytes(), &payload, collection)
            .map(drop)
            .map_err(|e| io_err("setting the primary cache", self, e))
    }

    /// The collection keyring, the cache's name in it, and its keyring if it exists.
    fn resolve(&self) -> Result<(Serial, String, Option<Serial>)> {
        let collection = self.collection_id()?;
        let subsidiary = match &self.subsidiary {
            Some(s) => s.clone(),
            None => self.primary(collection)?,
        };
        let cache = keyctl::search(collection, KEYRING, subsidiary.as_bytes())
            .map_err(|e| io_err("the cache keyring", self, e))?;
        Ok((collection, subsidiary, cache))
    }

    /// The principal of the cache (its `__krb5_princ__` key alone); `None` when the cache
    /// or that key does not exist (not initialized).
    pub fn principal(&self) -> Result<Option<Principal>> {
        let (_, subsidiary, cache) = self.resolve()?;
        let me = self.with_subsidiary(&subsidiary);
        let Some(cache) = cache else { return Ok(None) };
        let err = |e| io_err("the cache's principal", &me, e);
        let Some(key) = keyctl::search(cache, USER, PRINCIPAL_KEY.as_bytes()).map_err(err)? else {
            return Ok(None);
        };
        let payload = keyctl::read(key).map_err(err)?;
        Ok(Some(read_principal(&mut Reader::new(
            &me.to_string(),
            &payload,
        ))?))
    }

    /// Makes this cache its collection's primary (after a login stored it, as kinit
    /// switches).
    pub fn switch_to(&self) -> Result<()> {
        let (collection, subsidiary, _) = self.resolve()?;
        if self.subsidiary.is_some() && self.primary(collection)? != subsidiary {
            self.set_primary(collection, &subsidiary)?;
        }
        Ok(())
    }

    /// This name with its cache named: the primary when it names a collection.
    pub fn resolved(&self) -> Result<Keyring> {
        let (_, subsidiary, _) = self.resolve()?;
        Ok(self.with_subsidiary(&subsidiary))
    }

    /// Whether the cache exists with a principal (one made but never initialized does
    /// not, as for KCM).
    pub fn exists(&self) -> Result<bool> {
        Ok(self.principal()?.is_some())
    }

    /// Reads the cache.
    pub fn load(&self) -> Result<Ccache> {
        let (_, subsidiary, cache) = self.resolve()?;
        let me = self.with_subsidiary(&subsidiary);
        let cache = cache.ok_or_else(|| Error::File {
            file: me.to_string(),
            detail: "no such credential cache (log in first)".into(),
        })?;
        me.read(cache)
    }

    fn read(&self, cache: Serial) -> Result<Ccache> {
        let label = self.to_string();
        let err = |e| io_err("reading the cache keyring", self, e);
        // The principal and time-offset keys by their serials, as MIT finds them: a
        // credential whose name looks like theirs is still a credential.
        let princ = keyctl::search(cache, USER, PRINCIPAL_KEY.as_bytes()).map_err(err)?;
        let offsets = keyctl::search(cache, USER, TIME_OFFSETS_KEY.as_bytes()).map_err(err)?;
        let principal = match princ {
            Some(k) => read_principal(&mut Reader::new(&label, &keyctl::read(k).map_err(err)?))?,
            None => {
                return Err(Error::File {
                    file: label,
                    detail: "the cache keyring holds no default principal (not initialized)".into(),
                });
            }
        };
        // A short offsets key is passed over, as MIT does.
        let kdc_offset = offsets
            .and_then(|k| keyctl::read(k).ok())
            .filter(|p| p.len() >= 8)
            .map(|p| {
                let mut r = Reader::new(&label, &p);
                (
                    r.i32("time offset").unwrap_or(0),
                    r.i32("usec offset").unwrap_or(0),
                )
            });
        let mut entries = Vec::new();
        for key in keyctl::links(cache).map_err(err)? {
            if Some(key) == princ || Some(key) == offsets {
                continue;
            }
            // A key removed or expired meanwhile is passed over.
            let Ok((kind, _)) = keyctl::describe(key) else {
                continue;
            };
            if kind == "keyring" {
                continue;
            }
            let payload = match keyctl::read(key) {
                Ok(p) => p,
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOKEY | libc::EKEYEXPIRED | libc::EKEYREVOKED | libc::EACCES)
                    ) =>
                {
                    continue;
                }
                Err(e) => return Err(err(e)),
            };
            entries.push(read_entry(&mut Reader::new(&label, &payload), 4)?);
        }
        Ok(Ccache {
            principal,
            kdc_offset,
            entries,
        })
    }

    /// Replaces the cache with `cache` (its keyring is made when missing). Everything is
    /// made ready (and checked) before the old contents are cleared.
    pub fn save(&self, cache: &Ccache) -> Result<()> {
        let (collection, subsidiary, existing) = self.resolve()?;
        let me = self.with_subsidiary(&subsidiary);
        let err = |e| io_err("writing the cache keyring", &me, e);
        let keys = cache
            .entries
            .iter()
            .map(|e| me.entry_key(e))
            .collect::<Result<Vec<_>>>()?;
        let mut princ = Zeroizing::new(Vec::new());
        write_principal(&mut princ, &cache.principal);
        let id = match existing {
            Some(id) => {
                keyctl::clear(id).map_err(err)?;
                id
            }
            None => {
                keyctl::add_key(KEYRING, subsidiary.as_bytes(), &[], collection).map_err(err)?
            }
        };
        let legacy_cache = self.anchor == Anchor::Legacy && subsidiary == self.collection;
        if legacy_cache {
            // Where older libraries look for it.
            let _ = keyctl::link(id, Self::session_anchor());
        }
        keyctl::add_key(USER, PRINCIPAL_KEY.as_bytes(), &princ, id).map_err(err)?;
        if let Some((s, us)) = cache.kdc_offset
            && !legacy_cache
        {
            let mut offsets = s.to_be_bytes().to_vec();
            offsets.extend_from_slice(&us.to_be_bytes());
            keyctl::add_key(USER, TIME_OFFSETS_KEY.as_bytes(), &offsets, id).map_err(err)?;
        }
        for (e, (name, payload)) in cache.entries.iter().zip(&keys) {
            me.add_key(id, e, name, payload)?;
        }
        me.set_expiry(id, cache.entries.iter().map(|e| e.times[2]).max());
        Ok(())
    }

    /// Adds one credential to the cache (replacing the one for the same server).
    pub fn add(&self, entry: &Entry) -> Result<()> {
        let (_, subsidiary, cache) = self.resolve()?;
        let me = self.with_subsidiary(&subsidiary);
        let id = cache.ok_or_else(|| Error::File {
            file: me.to_string(),
            detail: "no such credential cache (log in first)".into(),
        })?;
        let (name, payload) = me.entry_key(entry)?;
        me.add_key(id, entry, &name, &payload)?;
        let latest = me
            .read(id)
            .ok()
            .and_then(|c| c.entries.iter().map(|e| e.times[2]).max());
        me.set_expiry(id, latest);
        Ok(())
    }

    /// A credential's key name (its server principal, as MIT unparses it) and payload.
    fn entry_key(&self, e: &Entry) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>)> {
        let name = unparse(&e.server);
        if name.contains(&0) {
            return Err(Error::File {
                file: self.to_string(),
                detail: format!("{}: a server name with a NUL cannot name a key", e.server),
            });
        }
        // Room first: a buffer that grew after the key was written would leave a copy.
        let mut payload = Zeroizing::new(Vec::with_capacity(entry_len(e)));
        write_entry(&mut payload, e);
        Ok((name, payload))
    }

    /// Adds a credential's key: a `big_key` where the kernel has them (MIT's choice for all
    /// but legacy caches), else a `user` key; it expires with the credential.
    fn add_key(&self, cache: Serial, e: &Entry, name: &[u8], payload: &[u8]) -> Result<()> {
        let err = |e| io_err("adding a credential", self, e);
        let key = if self.anchor == Anchor::Legacy {
            keyctl::add_key(USER, name, payload, cache).map_err(err)?
        } else {
            match keyctl::add_key(BIG_KEY, name, payload, cache) {
                Ok(k) => k,
                Err(x) if matches!(x.raw_os_error(), Some(libc::EINVAL | libc::ENODEV)) => {
                    keyctl::add_key(USER, name, payload, cache).map_err(err)?
                }
                Err(x) => return Err(err(x)),
            }
        };
        if !e.is_config() {
            let left = i64::from(e.times[2]) - KerberosTime::now().unix();
            if left > 0 {
                let _ = keyctl::set_timeout(key, u32::try_from(left).unwrap_or(u32::MAX));
            }
        }
        Ok(())
    }

    /// The cache keyring expires with its last credential (a second from now when all have
    /// expired: zero would mean never).
    fn set_expiry(&self, cache: Serial, latest_end: Option<u32>) {
        let Some(end) = latest_end.filter(|e| *e != 0) else {
            return;
        };
        let left = i64::from(end) - KerberosTime::now().unix();
        let _ = keyctl::set_timeout(cache, u32::try_from(left.max(1)).unwrap_or(u32::MAX));
    }

    /// Every cache of the collection, the primary first (a name with a subsidiary: itself).
    pub fn caches(&self) -> Result<Vec<Keyring>> {
        if self.subsidiary.is_some() {
            return Ok(vec![self.clone()]);
        }
        let collection = self.collection_id()?;
        let primary = self.primary(collection)?;
        let mut names = vec![primary.clone()];
        for key in keyctl::links(collection).map_err(|e| io_err("the collection", self, e))? {
            if let Ok((kind, name)) = keyctl::describe(key)
                && kind == "keyring"
                && name != primary
            {
                names.push(name);
            }
        }
        names[1..].sort();
        Ok(names.iter().map(|n| self.with_subsidiary(n)).collect())
    }

    /// The cache of the collection that holds `principal`'s credentials (the primary when
    /// none does; a name with a subsidiary: itself).
    pub fn holding(&self, principal: &Principal) -> Result<Keyring> {
        let caches = self.caches()?;
        for k in &caches {
            if k.principal()?.is_some_and(|p| p.same_as(principal)) {
                return Ok(k.clone());
            }
        }
        Ok(caches[0].clone())
    }

    /// The cache to keep `principal`'s TGT in: in a collection, the cache that holds that
    /// principal, else the primary when it holds none yet, else a new one (`krb_ccache_` and
    /// 8 random characters). A named cache holding another principal is refused (as kinit
    /// refuses it). Once stored, [`switch_to`](Self::switch_to) makes it the primary.
    pub fn for_principal(&self, principal: &Principal) -> Result<Keyring> {
        if self.subsidiary.is_some() {
            return match self.principal()? {
                Some(p) if !p.same_as(principal) => Err(Error::File {
                    file: self.to_string(),
                    detail: format!(
                        "this cache holds {p}'s credentials; name its collection \
                         (KEYRING:anchor:collection) to keep {principal}'s beside them"
                    ),
                }),
                _ => Ok(self.clone()),
            };
        }
        let caches = self.caches()?;
        for k in &caches {
            if k.principal()?.is_some_and(|p| p.same_as(principal)) {
                return Ok(k.clone());
            }
        }
        if caches[0].principal()?.is_none() {
            return Ok(caches[0].clone());
        }
        Ok(self.with_subsidiary(&format!("{UNIQUE_PREFIX}{}", random_name()?)))
    }
}

/// A principal as MIT's krb5_unparse_name writes it (its key names): components joined by
/// '/', the realm after '@', with '/', '@' and '\\' escaped and NUL, tab, newline and
/// backspace as \\0, \\t, \\n, \\b; other bytes as they are.
fn unparse(p: &Principal) -> Vec<u8> {
    fn quote(out: &mut Vec<u8>, bytes: &[u8], realm: bool) {
        for &b in bytes {
            match b {
                b'/' if !realm => out.extend_from_slice(b"\\/"),
                b'@' | b'\\' => {
                    out.push(b'\\');
                    out.push(b);
                }
                0 => out.extend_from_slice(b"\\0"),
                b'\t' => out.extend_from_slice(b"\\t"),
                b'\n' => out.extend_from_slice(b"\\n"),
                8 => out.extend_from_slice(b"\\b"),
                _ => out.push(b),
            }
        }
    }
    let mut out = Vec::new();
    for (i, c) in p.name.name_string.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        quote(&mut out, c.as_bytes(), false);
    }
    out.push(b'@');
    quote(&mut out, p.realm.as_bytes(), true);
    out
}

/// The primary key's payload: version 1, a 32-bit length, the name.
fn parse_primary(payload: &[u8]) -> Option<String> {
    let version = u32::from_be_bytes(payload.get(..4)?.try_into().ok()?);
    let len = u32::from_be_bytes(payload.get(4..8)?.try_into().ok()?) as usize;
    let name = payload.get(8..8usize.checked_add(len)?)?;
    (version == 1 && !name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned())
}

fn random_name() -> Result<String> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| Error::Config(format!("system random generator: {e}")))?;
    Ok(b.iter()
        .map(|x| ALNUM[*x as usize % ALNUM.len()] as char)
        .collect())
}

/// This process's effective uid (the second field of `/proc/self/status`'s Uid line, as
/// geteuid(2) says; `u32::MAX` when it cannot be read, which owns nothing).
pub fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).and_then(|e| e.parse().ok()))
        })
        .unwrap_or(u32::MAX)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_as_mit_reads_them() {
        let k = Keyring::parse("persistent:1000:krb_ccache_x").unwrap();
        assert_eq!(k.anchor, Anchor::Persistent);
        assert_eq!(k.collection, "1000");
        assert_eq!(k.subsidiary(), Some("krb_ccache_x"));
        assert_eq!(k.to_string(), "KEYRING:persistent:1000:krb_ccache_x");
        // The legacy form: a session-keyring collection of that name.
        let legacy = Keyring::parse("mycache").unwrap();
        assert_eq!(legacy.to_string(), "KEYRING:legacy:mycache");
        assert_eq!(Keyring::parse("persistent:").unwrap().collection, "");
        for bad in ["persistent:alice", "cloud:x", "user:x:"] {
            assert!(Keyring::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_primary_key_is_read_within_its_bounds() {
        let mut p = 1u32.to_be_bytes().to_vec();
        p.extend_from_slice(&3u32.to_be_bytes());
        p.extend_from_slice(b"tkt");
        assert_eq!(parse_primary(&p).as_deref(), Some("tkt"));
        assert_eq!(parse_primary(&p[..9]), None, "shorter than its length");
        let mut v2 = p.clone();
        v2[3] = 2;
        assert_eq!(parse_primary(&v2), None, "another version");
        let mut huge = p.clone();
        huge[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(parse_primary(&huge), None);
        assert_eq!(parse_primary(&[]), None);
    }
}
