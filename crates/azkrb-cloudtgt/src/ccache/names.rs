//! Credential cache names as MIT's library reads them: `KRB5CCNAME`, krb5.conf's
//! `default_ccache_name` with its `%{…}` tokens, `FILE:` paths, `DIR:` collections, `KCM:`
//! and `KEYRING:` caches.

use crate::error::{Error, Result};
use crate::principal::Principal;

use super::{Ccache, Kcm, Keyring};

/// The ccache file named by `KRB5CCNAME`, else by krb5.conf's `default_ccache_name` (the
/// krb5.conf [`RealmConfig::locate`](crate::RealmConfig::locate) finds), else MIT's default
/// `FILE:/tmp/krb5cc_%{uid}`; see [`path_of`] for the names taken.
pub fn default_path() -> Result<String> {
    path_of(&default_name()?)
}

/// The ccache name `KRB5CCNAME` gives, else the `default_ccache_name` of the krb5.conf
/// [`RealmConfig::locate`](crate::RealmConfig::locate) finds (see [`default_name_in`]).
pub fn default_name() -> Result<String> {
    match std::env::var("KRB5CCNAME") {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => {
            let config = match crate::RealmConfig::locate(None) {
                Some(p) => crate::RealmConfig::load(&p)?,
                None => crate::RealmConfig::default(),
            };
            default_name_in(&config)
        }
    }
}

/// The ccache name `KRB5CCNAME` gives, else `config`'s `default_ccache_name` (expanded),
/// else `FILE:/tmp/krb5cc_<uid>`. A configured type azkrb cannot use (`API:`, say) falls
/// back to that file, with a warning: MIT's tools will not see the same cache unless
/// `KRB5CCNAME` names it.
pub fn default_name_in(config: &crate::RealmConfig) -> Result<String> {
    if let Ok(v) = std::env::var("KRB5CCNAME")
        && !v.is_empty()
    {
        return Ok(v);
    }
    let fallback = format!("FILE:/tmp/krb5cc_{}", own_uid());
    let Some(configured) = &config.default_ccache_name else {
        return Ok(fallback);
    };
    let name = expand(configured)?;
    let usable = ["FILE:", "DIR:", "KCM:", "KEYRING:", "MEMORY:", "/"]
        .iter()
        .any(|t| name.starts_with(t));
    if usable {
        return Ok(name);
    }
    tracing::warn!(
        "krb5.conf's default_ccache_name {name} is a cache type azkrb does not read yet: \
         using {fallback} (set KRB5CCNAME=FILE:... to share a cache with MIT's tools)"
    );
    Ok(fallback)
}

/// The cache files of a ccache name: every cache of a `DIR:` collection (its primary
/// first, then the other `tkt…` files of the directory that are regular files, by name);
/// the one file of any other name.
pub fn collection(name: &str) -> Result<Vec<String>> {
    let Some(dir) = name.strip_prefix("DIR:").filter(|d| !d.starts_with(':')) else {
        return Ok(vec![path_of(name)?]);
    };
    let primary = dir_primary(dir)?;
    let mut others: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::Config(format!("{dir}: {e}")))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        // (Not a temporary file a save left behind.)
        .filter(|n| n.starts_with("tkt") && !n.contains(".azkrb-"))
        .map(|n| format!("{dir}/{n}"))
        .filter(|p| *p != primary)
        .collect();
    others.sort();
    let mut all = vec![primary];
    all.extend(others);
    Ok(all)
}

/// The cache of collection `name` that holds `principal`'s credentials (the primary for
/// any other name, or when none does).
pub fn holding(name: &str, principal: &Principal) -> Result<String> {
    let caches = collection(name)?;
    Ok(caches
        .iter()
        .find(|p| Ccache::load(p).is_ok_and(|c| c.principal.same_as(principal)))
        .unwrap_or(&caches[0])
        .clone())
}

/// The file to keep `principal`'s TGT in, under ccache name `name`: in a `DIR:` collection,
/// the cache that holds that principal already, else a new one; either is made the
/// collection's primary (as MIT's kinit does). Any other name: its one file.
pub fn for_principal(name: &str, principal: &Principal) -> Result<String> {
    let Some(dir) = name.strip_prefix("DIR:").filter(|d| !d.starts_with(':')) else {
        return path_of(name);
    };
    let caches = collection(name)?;
    let holding = caches
        .iter()
        .find(|p| Ccache::load(p).is_ok_and(|c| c.principal.same_as(principal)));
    let file = match holding {
        Some(p) => p.clone(),
        // The primary when it holds no cache yet (an empty collection).
        None if std::fs::metadata(&caches[0]).is_err() => caches[0].clone(),
        None => {
            let mut b = [0u8; 6];
            getrandom::fill(&mut b)
                .map_err(|e| Error::Config(format!("system random generator: {e}")))?;
            const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            let tail: String = b
                .iter()
                .map(|x| ALNUM[*x as usize % ALNUM.len()] as char)
                .collect();
            format!("{dir}/tkt{tail}")
        }
    };
    set_primary(dir, file.rsplit('/').next().unwrap_or("tkt"))?;
    Ok(file)
}

/// This process's real user id (MIT's `%{uid}`), from `/proc/self/status`; the owner of
/// `/proc/self` where that cannot be read.
fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next()?.parse().ok())
        })
        .or_else(|| std::fs::metadata("/proc/self").ok().map(|m| m.uid()))
        .unwrap_or(u32::MAX)
}

/// A ccache name with MIT's `%{…}` tokens expanded, as `default_ccache_name` is: `%{uid}`,
/// `%{euid}` and `%{USERID}` (this process's user id), `%{username}`, `%{TEMP}` (`TMPDIR`,
/// else `/tmp`) and `%{null}`. Another token is an error that names it.
///
/// ```
/// # fn main() -> azkrb_cloudtgt::Result<()> {
/// use azkrb_cloudtgt::ccache::expand;
/// let name = expand("DIR:/run/user/%{uid}/krb5cc")?;
/// assert!(name.starts_with("DIR:/run/user/") && !name.contains('%'));
/// assert!(expand("FILE:%{LIBDIR}/x").is_err());
/// # Ok(()) }
/// ```
pub fn expand(name: &str) -> Result<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("%{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find('}').ok_or_else(|| {
            Error::Config(format!("credential cache name {name:?}: an unclosed %{{"))
        })?;
        match &after[..end] {
            "uid" | "euid" | "USERID" => out.push_str(&own_uid().to_string()),
            "username" => out.push_str(&user_name(own_uid())?),
            "TEMP" => out.push_str(
                &std::env::var("TMPDIR")
                    .ok()
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "/tmp".into()),
            ),
            "null" => {}
            other => {
                return Err(Error::Config(format!(
                    "credential cache name {name:?}: %{{{other}}} is not expanded here \
                     (uid, euid, USERID, username, TEMP and null are)"
                )));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The name of user `uid` in /etc/passwd.
fn user_name(uid: u32) -> Result<String> {
    let passwd = std::fs::read_to_string("/etc/passwd")
        .map_err(|e| Error::Config(format!("/etc/passwd: {e}")))?;
    passwd
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id = f.nth(1)?.parse::<u32>().ok()?;
            (id == uid).then(|| name.to_string())
        })
        .next()
        .ok_or_else(|| Error::Config(format!("no user with uid {uid} in /etc/passwd")))
}

/// The file of a ccache name: `FILE:/path` or a plain path; `DIR:/dir`, a collection as MIT
/// keeps one (its primary cache: the file its `primary` file names, `tkt` when it names
/// none; the directory is made, mode 0700, when missing); `DIR::/dir/tktNAME`, one cache of
/// a collection. `KCM:` and `MEMORY:` name no file (see [`locate`]); other types
/// (KEYRING:, API:) are errors.
pub fn path_of(name: &str) -> Result<String> {
    if let Some(p) = name.strip_prefix("FILE:") {
        return Ok(p.to_string());
    }
    if let Some(p) = name.strip_prefix("DIR::") {
        return Ok(p.to_string());
    }
    if let Some(dir) = name.strip_prefix("DIR:") {
        return dir_primary(dir);
    }
    match name.split_once(':') {
        Some((ty, _)) if !name.starts_with('/') => Err(Error::Config(format!(
            "credential cache type {ty}: is not supported; use a FILE: or DIR: cache \
             (KRB5CCNAME=FILE:/path)"
        ))),
        _ => Ok(name.to_string()),
    }
}

/// The primary cache file of the DIR collection `dir` (made when missing, with its
/// `primary` file). The directory must be this user's own and writable by no one else (as
/// MIT makes it: 0700), and no symbolic link: another user could otherwise choose, or
/// plant, the cache this user's tickets are read from and written to.
fn dir_primary(dir: &str) -> Result<String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let io = |what: &str, e: std::io::Error| Error::Config(format!("{dir}: {what}: {e}"));
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io("making the cache directory", e))?;
            std::fs::symlink_metadata(dir).map_err(|e| io("the cache directory", e))?
        }
        Err(e) => return Err(io("the cache directory", e)),
    };
    if !meta.file_type().is_dir() || meta.uid() != own_uid() || meta.mode() & 0o022 != 0 {
        return Err(Error::Config(format!(
            "{dir}: a credential cache collection must be a directory of this user's own, \
             writable by no one else (mkdir -m 700), and no symbolic link"
        )));
    }
    let primary = std::path::Path::new(dir).join("primary");
    let named = match std::fs::read_to_string(&primary) {
        Ok(text) => text.lines().next().unwrap_or("").trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            set_primary(dir, "tkt")?;
            "tkt".to_string()
        }
        Err(e) => return Err(io("reading primary", e)),
    };
    // MIT's rule: a file of the directory named tkt…, nothing else.
    if !named.starts_with("tkt") || named.contains('/') {
        return Err(Error::Config(format!(
            "{dir}/primary names {named:?}, not a cache of the collection (tkt…)"
        )));
    }
    Ok(format!("{dir}/{named}"))
}

/// Makes `file` the primary cache of collection `dir`: a new `primary` file renamed over
/// the old one (the directory is this user's alone: see [`dir_primary`]).
fn set_primary(dir: &str, file: &str) -> Result<()> {
    let tmp = format!("{dir}/.primary.{}", std::process::id());
    let done = std::fs::write(&tmp, format!("{file}\n"))
        .and_then(|()| std::fs::rename(&tmp, format!("{dir}/primary")));
    done.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::Config(format!("{dir}/primary: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_expand_and_resolve_as_mit_reads_them() {
        let uid = own_uid().to_string();
        assert_eq!(
            expand("FILE:/tmp/krb5cc_%{uid}").unwrap(),
            format!("FILE:/tmp/krb5cc_{uid}")
        );
        assert_eq!(expand("%{null}x%{euid}").unwrap(), format!("x{uid}"));
        assert!(expand("KEYRING:persistent:%{uid}").unwrap().ends_with(&uid));
        assert!(expand("FILE:%{LIBDIR}/x").is_err());
        assert!(expand("FILE:%{uid").is_err());
        assert_eq!(path_of("FILE:/a/b").unwrap(), "/a/b");
        assert_eq!(path_of("/a/b").unwrap(), "/a/b");
        assert_eq!(path_of("DIR::/a/tktX").unwrap(), "/a/tktX");
        for other in ["KCM:", "KEYRING:persistent:1000", "MEMORY:x"] {
            assert!(path_of(other).is_err(), "{other}");
        }

        // A collection: made with its primary file; a primary naming another cache of it
        // is followed; one naming anything else is refused.
        let dir = std::env::temp_dir().join(format!("azkrb-dircc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let d = dir.display().to_string();
        assert_eq!(path_of(&format!("DIR:{d}")).unwrap(), format!("{d}/tkt"));
        assert_eq!(
            std::fs::read_to_string(dir.join("primary")).unwrap(),
            "tkt\n"
        );
        std::fs::write(dir.join("primary"), "tktAbC\n").unwrap();
        assert_eq!(path_of(&format!("DIR:{d}")).unwrap(), format!("{d}/tktAbC"));
        for bad in ["../etc/passwd", "tkt/../../etc/passwd"] {
            std::fs::write(dir.join("primary"), format!("{bad}\n")).unwrap();
            assert!(path_of(&format!("DIR:{d}")).is_err(), "{bad}");
        }
        // A directory others may write in, or a link to one, is no collection of ours.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(path_of(&format!("DIR:{d}")).is_err());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = format!("{d}-link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(path_of(&format!("DIR:{link}")).is_err());
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Where a credential cache is: a file (of `FILE:`, a path, or a `DIR:` collection), or a
/// cache held by a KCM daemon.
#[derive(Debug, Clone)]
pub enum Location {
    /// A FILE cache at this path.
    File(String),
    /// A cache of the KCM daemon: its name, or the user's default cache (`KCM:`).
    Kcm(Kcm, Option<String>),
    /// A `MEMORY:` cache of this process, by name: for library users who keep credentials
    /// out of files (gone with the process, shared by everything in it that names it).
    Memory(String),
    /// A `KEYRING:` cache in the kernel's keyrings, its name resolved (a collection's
    /// primary).
    Keyring(Keyring),
}

/// This process's `MEMORY:` caches.
static MEMORY: std::sync::Mutex<std::collections::BTreeMap<String, Ccache>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn memory() -> std::sync::MutexGuard<'static, std::collections::BTreeMap<String, Ccache>> {
    // Single inserts and reads: consistent even after a panic elsewhere.
    MEMORY.lock().unwrap_or_else(|p| p.into_inner())
}

/// MIT's default socket of the KCM daemon.
pub const KCM_SOCKET: &str = "/var/run/.heim_org.h5l.kcm-socket";

/// Where the cache `name` is, with `config`'s `kcm_socket` for `KCM:` names.
///
/// ```
/// # fn main() -> azkrb_cloudtgt::Result<()> {
/// use azkrb_cloudtgt::ccache::{Location, locate};
/// let config = azkrb_cloudtgt::RealmConfig::default();
/// assert!(matches!(locate("FILE:/tmp/cc", &config)?, Location::File(p) if p == "/tmp/cc"));
/// // In this process only.
/// let mem = locate("MEMORY:app", &config)?;
/// mem.save(&azkrb_cloudtgt::ccache::Ccache::new(
///     azkrb_cloudtgt::Principal::parse("alice", "EXAMPLE.TEST")?,
/// ))?;
/// assert_eq!(mem.load()?.principal.to_string(), "alice@EXAMPLE.TEST");
/// # Ok(()) }
/// ```
pub fn locate(name: &str, config: &crate::RealmConfig) -> Result<Location> {
    if let Some(rest) = name.strip_prefix("MEMORY:") {
        return Ok(Location::Memory(rest.to_string()));
    }
    if let Some(rest) = name.strip_prefix("KEYRING:") {
        // The primary's name, read once (as for KCM: what is read and written is one cache).
        return Ok(Location::Keyring(Keyring::parse(rest)?.resolved()?));
    }
    if let Some(rest) = name.strip_prefix("KCM:") {
        let socket = config.kcm_socket.as_deref().unwrap_or(KCM_SOCKET);
        let kcm = Kcm::new(socket);
        // The default cache's name, asked once: what is read and what is written are one
        // cache even if the default changes meanwhile (kswitch, another login).
        let cache = if rest.is_empty() {
            kcm.default_cache()?
        } else {
            rest.to_string()
        };
        return Ok(Location::Kcm(kcm, Some(cache)));
    }
    Ok(Location::File(path_of(name)?))
}

/// Where `principal`'s credentials are under ccache name `name`: in a `DIR:`, `KEYRING:` or
/// `KCM:` collection, the cache that holds that principal (the primary when none does); under any
/// other name, its one cache.
pub fn locate_holding(
    name: &str,
    principal: &Principal,
    config: &crate::RealmConfig,
) -> Result<Location> {
    if let Some(rest) = name.strip_prefix("KEYRING:") {
        return Ok(Location::Keyring(Keyring::parse(rest)?.holding(principal)?));
    }
    match locate(name, config)? {
        Location::File(_) => Ok(Location::File(holding(name, principal)?)),
        // `KCM:` is the user's collection there.
        Location::Kcm(kcm, _) if name == "KCM:" => {
            let cache = kcm.holding(principal)?;
            Ok(Location::Kcm(kcm, Some(cache)))
        }
        other => Ok(other),
    }
}

/// Where to keep `principal`'s new TGT under ccache name `name`: in a `DIR:`, `KEYRING:` or
/// `KCM:` collection, the cache that holds that principal already, else a new one, to be
/// made the collection's primary once the TGT is stored ([`Location::switch_to`]), as kinit
/// does; under any other name, its one cache.
pub fn locate_for_principal(
    name: &str,
    principal: &Principal,
    config: &crate::RealmConfig,
) -> Result<Location> {
    if let Some(rest) = name.strip_prefix("KEYRING:") {
        return Ok(Location::Keyring(
            Keyring::parse(rest)?.for_principal(principal)?,
        ));
    }
    match locate(name, config)? {
        Location::File(_) => Ok(Location::File(for_principal(name, principal)?)),
        Location::Kcm(kcm, _) if name == "KCM:" => {
            let cache = kcm.for_principal(principal)?;
            Ok(Location::Kcm(kcm, Some(cache)))
        }
        other => Ok(other),
    }
}

impl Location {
    /// The cache as errors name it: a file's path, or `KCM:name`.
    pub fn label(&self) -> String {
        match self {
            Location::File(p) => p.clone(),
            other => other.to_string(),
        }
    }

    /// Reads the cache if it exists (`None`: there is none to read, nothing is wrong).
    pub fn load_existing(&self) -> Result<Option<Ccache>> {
        let exists = match self {
            Location::File(p) => std::path::Path::new(p).exists(),
            Location::Kcm(k, name) => k.exists(name.as_deref())?,
            Location::Memory(name) => memory().contains_key(name),
            Location::Keyring(k) => k.exists()?,
        };
        if exists {
            self.load().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads the cache.
    pub fn load(&self) -> Result<Ccache> {
        match self {
            Location::File(p) => Ccache::load(p),
            Location::Kcm(k, name) => k.load(name.as_deref()),
            Location::Memory(name) => memory().get(name).cloned().ok_or_else(|| Error::File {
                file: format!("MEMORY:{name}"),
                detail: "no such credential cache in this process (store one first)".into(),
            }),
            Location::Keyring(k) => k.load(),
        }
    }

    /// Adds `cred` to the cache (its principal's): for a KCM cache one STORE, as MIT's
    /// library adds a ticket, so nothing else of it is ever missing meanwhile.
    pub fn add(&self, cred: &crate::Credential) -> Result<()> {
        match self {
            Location::Kcm(k, name) => k.add(name.as_deref(), &super::Entry::from_credential(cred)?),
            Location::Keyring(k) => k.add(&super::Entry::from_credential(cred)?),
            other => {
                let mut cache = other.load()?;
                cache.store(cred)?;
                other.save(&cache)
            }
        }
    }

    /// Makes this cache its collection's default, as kinit does after a login stored its
    /// TGT there (a `KEYRING:` collection's primary, the KCM daemon's default; a `DIR:`
    /// collection's primary was set when [`locate_for_principal`] chose it).
    pub fn switch_to(&self) -> Result<()> {
        match self {
            Location::Keyring(k) => k.switch_to(),
            Location::Kcm(kcm, Some(name)) => kcm.set_default(name),
            _ => Ok(()),
        }
    }

    /// Replaces the cache with `cache`.
    pub fn save(&self, cache: &Ccache) -> Result<()> {
        match self {
            Location::File(p) => cache.save(p),
            Location::Kcm(k, name) => k.save(name.as_deref(), cache),
            Location::Memory(name) => {
                memory().insert(name.clone(), cache.clone());
                Ok(())
            }
            Location::Keyring(k) => k.save(cache),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(p) => write!(f, "FILE:{p}"),
            Location::Kcm(_, Some(n)) if !n.is_empty() => write!(f, "KCM:{n}"),
            Location::Kcm(..) => write!(f, "KCM:"),
            Location::Memory(n) => write!(f, "MEMORY:{n}"),
            Location::Keyring(k) => write!(f, "{k}"),
        }
    }
}
