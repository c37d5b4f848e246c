//! MIT FILE credential caches (format version 4 written, 3 and 4 read): what `kinit`
//! writes and `klist`, `smbclient` and the kernel's `cifs.upcall` read.

use std::io::Write;

use azkrb_asn1::krb::Ticket;
use azkrb_asn1::{KerberosString, KerberosTime, NameType, PrincipalName, TicketFlags, decode};
use azkrb_crypto::{EncryptionType, Key};

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::files::Reader;
use crate::principal::Principal;

/// The realm of configuration entries (`X-CACHECONF:`).
pub const CONFIG_REALM: &str = "X-CACHECONF:";

/// One entry of a ccache, as stored. `Debug` shows the key's length only.
#[derive(Clone)]
pub struct Entry {
    /// Client principal.
    pub client: Principal,
    /// Server principal (`krb5_ccache_conf_data/...@X-CACHECONF:` for configuration entries).
    pub server: Principal,
    /// Session key type.
    pub keytype: i32,
    /// Session key bytes.
    pub key: zeroize::Zeroizing<Vec<u8>>,
    /// authtime, starttime, endtime, renew_till (Unix seconds, 0 = none).
    pub times: [u32; 4],
    /// Ticket encrypted in a session key (user-to-user).
    pub is_skey: bool,
    /// Ticket flags.
    pub flags: u32,
    /// Addresses (type, bytes).
    pub addresses: Vec<(u16, Vec<u8>)>,
    /// Authorization data (type, bytes).
    pub authdata: Vec<(u16, Vec<u8>)>,
    /// The ticket's DER (or a configuration value).
    pub ticket: Vec<u8>,
    /// The second ticket.
    pub second_ticket: Vec<u8>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("client", &self.client)
            .field("server", &self.server)
            .field("keytype", &self.keytype)
            .field("key", &format_args!("<redacted {} bytes>", self.key.len()))
            .field("times", &self.times)
            .field("is_skey", &self.is_skey)
            .field("flags", &format_args!("{:#010x}", self.flags))
            .field("addresses", &self.addresses)
            .field("authdata", &self.authdata)
            .field("ticket", &format_args!("<{} bytes>", self.ticket.len()))
            .field(
                "second_ticket",
                &format_args!("<{} bytes>", self.second_ticket.len()),
            )
            .finish()
    }
}

impl Entry {
    /// True for a configuration entry (not a credential).
    pub fn is_config(&self) -> bool {
        self.server.realm == CONFIG_REALM
    }

    /// The credential, if this is a usable entry with a supported session key type.
    pub fn credential(&self) -> Result<Credential> {
        let ticket: Ticket = decode("Ticket", &self.ticket)?;
        let time = |t: u32| (t != 0).then(|| KerberosTime::from_unix(i64::from(t)));
        Ok(Credential {
            client: self.client.clone(),
            server: self.server.clone(),
            session_key: Key::new(EncryptionType::try_from(self.keytype)?, &self.key)?,
            ticket,
            flags: TicketFlags(self.flags),
            authtime: KerberosTime::from_unix(i64::from(self.times[0])),
            starttime: time(self.times[1]),
            endtime: KerberosTime::from_unix(i64::from(self.times[2])),
            renew_till: time(self.times[3]),
        })
    }

    /// The stored form of a credential.
    pub fn from_credential(cred: &Credential) -> Result<Self> {
        let secs = |t: KerberosTime| u32::try_from(t.unix()).unwrap_or(0);
        Ok(Self {
            client: cred.client.clone(),
            server: cred.server.clone(),
            keytype: cred.session_key.etype().number(),
            key: zeroize::Zeroizing::new(cred.session_key.as_bytes().to_vec()),
            times: [
                secs(cred.authtime),
                cred.starttime.map_or(0, secs),
                secs(cred.endtime),
                cred.renew_till.map_or(0, secs),
            ],
            is_skey: false,
            flags: cred.flags.0,
            addresses: Vec::new(),
            authdata: Vec::new(),
            ticket: cred.ticket_der()?,
            second_ticket: Vec::new(),
        })
    }
}

/// A credential cache.
#[derive(Debug, Clone)]
pub struct Ccache {
    /// The default principal.
    pub principal: Principal,
    /// The KDC time offset header (seconds, microseconds), if present.
    pub kdc_offset: Option<(i32, i32)>,
    /// The entries in file order (configuration entries included).
    pub entries: Vec<Entry>,
}

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
/// else `FILE:/tmp/krb5cc_<uid>`. A configured type azkrb cannot use yet (`KCM:`, as
/// Fedora and RHEL set; `KEYRING:`) falls back to that file, with a warning: MIT's tools
/// will not see the same cache unless `KRB5CCNAME` names it.
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
    let usable = name.starts_with("FILE:") || name.starts_with("DIR:") || name.starts_with('/');
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
        .filter(|n| n.starts_with("tkt"))
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
/// a collection. Other types (KEYRING:, KCM:, MEMORY:, API:) are errors.
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

fn read_principal(r: &mut Reader<'_>) -> Result<Principal> {
    let name_type = NameType::from(r.i32("principal name type")?);
    let count = r.u32("principal component count")? as usize;
    let realm = String::from_utf8_lossy(r.data32("realm")?).into_owned();
    if count > r.remaining() / 4 {
        return Err(r.err("principal component count larger than the file"));
    }
    let mut parts = Vec::with_capacity(count);
    for _ in 0..count {
        parts.push(KerberosString::from_bytes(r.data32("principal component")?));
    }
    Ok(Principal::new(
        PrincipalName {
            name_type,
            name_string: parts,
        },
        realm,
    ))
}

fn read_list(r: &mut Reader<'_>, what: &str) -> Result<Vec<(u16, Vec<u8>)>> {
    let n = r.u32(what)? as usize;
    if n > r.remaining() / 6 {
        return Err(r.err(&format!("{what} count larger than the file")));
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let ty = r.u16(what)?;
        out.push((ty, r.data32(what)?.to_vec()));
    }
    Ok(out)
}

fn write_data(out: &mut Vec<u8>, d: &[u8]) {
    out.extend_from_slice(&(d.len() as u32).to_be_bytes());
    out.extend_from_slice(d);
}

fn write_principal(out: &mut Vec<u8>, p: &Principal) {
    out.extend_from_slice(&p.name.name_type.value().to_be_bytes());
    out.extend_from_slice(&(p.name.name_string.len() as u32).to_be_bytes());
    write_data(out, p.realm.as_bytes());
    for c in &p.name.name_string {
        write_data(out, c.as_bytes());
    }
}

/// The directory and file name of a ccache path (`cc` is in `.`).
fn split_path(path: &std::path::Path) -> std::io::Result<(&std::path::Path, &std::ffi::OsStr)> {
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a credential cache path must name a file",
        )
    })?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    Ok((dir, name))
}

/// 128 random bits, in hex: the part of a temporary file name nobody can guess.
fn random_suffix() -> std::io::Result<String> {
    let mut r = [0u8; 16];
    getrandom::fill(&mut r)
        .map_err(|e| std::io::Error::other(format!("system random generator: {e}")))?;
    Ok(r.iter().map(|b| format!("{b:02x}")).collect())
}

/// How many names [`create_temp`] tries before giving up.
const TEMP_ATTEMPTS: usize = 8;

/// Creates `<dir>/<name>.azkrb-<suffix>`, mode 0600, with `O_CREAT | O_EXCL | O_NOFOLLOW`:
/// an existing file or symbolic link of that name is never opened, and another name is
/// tried (at most [`TEMP_ATTEMPTS`]).
fn create_temp(
    dir: &std::path::Path,
    name: &std::ffi::OsStr,
    mut suffix: impl FnMut() -> std::io::Result<String>,
) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    for _ in 0..TEMP_ATTEMPTS {
        let mut file = name.to_os_string();
        file.push(format!(".azkrb-{}", suffix()?));
        let tmp = dir.join(file);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
        {
            Ok(f) => {
                // The umask may have taken bits away; it cannot have added any. Make it
                // exactly 0600 (the file is ours: it was created just now).
                if let Err(e) = f.set_permissions(std::fs::Permissions::from_mode(0o600)) {
                    drop(f);
                    let _ = std::fs::remove_file(&tmp);
                    return Err(e);
                }
                return Ok((tmp, f));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!(
            "could not create a temporary file in {} ({TEMP_ATTEMPTS} names taken)",
            dir.display()
        ),
    ))
}

/// Writes `bytes` to the temporary file, flushes it to disk and renames it to `target`.
fn write_and_rename(
    mut f: std::fs::File,
    bytes: &[u8],
    tmp: &std::path::Path,
    target: &std::path::Path,
) -> std::io::Result<()> {
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(tmp, target)
}

impl Ccache {
    /// A new cache for `principal`.
    pub fn new(principal: Principal) -> Self {
        Self {
            principal,
            kdc_offset: None,
            entries: Vec::new(),
        }
    }

    /// Reads a FILE ccache.
    pub fn load(path: &str) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::File {
            file: path.to_string(),
            detail: format!("{e} (no credential cache: log in first)"),
        })?;
        Self::parse(path, &bytes)
    }

    /// Parses ccache bytes (`name` is used in error messages).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(name, bytes);
        if r.u8("file format")? != 5 {
            return Err(r.err("not a credential cache (first byte is not 5)"));
        }
        let version = r.u8("file format version")?;
        if version != 3 && version != 4 {
            return Err(r.err(&format!(
                "unsupported ccache version {version} (3 and 4 are)"
            )));
        }
        let mut kdc_offset = None;
        if version == 4 {
            let header = r.data16("header")?;
            let mut h = Reader::new(name, header);
            while h.remaining() >= 4 {
                let tag = h.u16("header tag")?;
                let value = h.data16("header field")?;
                if tag == 1 && value.len() == 8 {
                    let mut v = Reader::new(name, value);
                    kdc_offset = Some((v.i32("time offset")?, v.i32("usec offset")?));
                }
            }
        }
        let principal = read_principal(&mut r)?;
        let mut entries = Vec::new();
        while r.remaining() > 0 {
            let client = read_principal(&mut r)?;
            let server = read_principal(&mut r)?;
            let keytype = i32::from(r.u16("key type")?);
            if version == 3 {
                r.u16("key type (repeated)")?;
            }
            let key = zeroize::Zeroizing::new(r.data32("key")?.to_vec());
            let times = [
                r.u32("authtime")?,
                r.u32("starttime")?,
                r.u32("endtime")?,
                r.u32("renew_till")?,
            ];
            let is_skey = r.u8("is_skey")? != 0;
            let flags = r.u32("ticket flags")?;
            let addresses = read_list(&mut r, "addresses")?;
            let authdata = read_list(&mut r, "authdata")?;
            let ticket = r.data32("ticket")?.to_vec();
            let second_ticket = r.data32("second ticket")?.to_vec();
            entries.push(Entry {
                client,
                server,
                keytype,
                key,
                times,
                is_skey,
                flags,
                addresses,
                authdata,
                ticket,
                second_ticket,
            });
        }
        Ok(Self {
            principal,
            kdc_offset,
            entries,
        })
    }

    /// Serialises as format version 4.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![5, 4];
        match self.kdc_offset {
            Some((s, us)) => {
                out.extend_from_slice(&12u16.to_be_bytes());
                out.extend_from_slice(&1u16.to_be_bytes());
                out.extend_from_slice(&8u16.to_be_bytes());
                out.extend_from_slice(&s.to_be_bytes());
                out.extend_from_slice(&us.to_be_bytes());
            }
            None => out.extend_from_slice(&0u16.to_be_bytes()),
        }
        write_principal(&mut out, &self.principal);
        for e in &self.entries {
            write_principal(&mut out, &e.client);
            write_principal(&mut out, &e.server);
            out.extend_from_slice(&(e.keytype as u16).to_be_bytes());
            write_data(&mut out, &e.key);
            for t in e.times {
                out.extend_from_slice(&t.to_be_bytes());
            }
            out.push(u8::from(e.is_skey));
            out.extend_from_slice(&e.flags.to_be_bytes());
            for list in [&e.addresses, &e.authdata] {
                out.extend_from_slice(&(list.len() as u32).to_be_bytes());
                for (ty, d) in list {
                    out.extend_from_slice(&ty.to_be_bytes());
                    write_data(&mut out, d);
                }
            }
            write_data(&mut out, &e.ticket);
            write_data(&mut out, &e.second_ticket);
        }
        out
    }

    /// Writes the cache to `path` atomically, mode 0600: the bytes go to a new file with an
    /// unpredictable name in the same directory (created exclusively, never through a
    /// symbolic link, so another user of a shared directory such as `/tmp` can neither
    /// pre-create it nor redirect it), which is then renamed over `path`. On any failure the
    /// temporary file is removed.
    pub fn save(&self, path: &str) -> Result<()> {
        let err = |e: std::io::Error| Error::File {
            file: path.to_string(),
            detail: e.to_string(),
        };
        let target = std::path::Path::new(path);
        let (dir, name) = split_path(target).map_err(err)?;
        let bytes = zeroize::Zeroizing::new(self.to_bytes());
        let (tmp, f) = create_temp(dir, name, random_suffix).map_err(err)?;
        let written = write_and_rename(f, &bytes, &tmp, target);
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map_err(err)
    }

    /// Adds a credential, replacing any entry for the same client and server.
    pub fn store(&mut self, cred: &Credential) -> Result<()> {
        let entry = Entry::from_credential(cred)?;
        self.entries
            .retain(|e| !(e.client.same_as(&entry.client) && e.server.same_as(&entry.server)));
        self.entries.push(entry);
        Ok(())
    }

    /// The credentials (configuration entries and unsupported key types skipped).
    pub fn credentials(&self) -> Vec<Credential> {
        self.entries
            .iter()
            .filter(|e| !e.is_config())
            .filter_map(|e| e.credential().ok())
            .collect()
    }

    /// The credential for `server`, if present.
    pub fn find(&self, server: &Principal) -> Option<Credential> {
        self.credentials()
            .into_iter()
            .find(|c| c.server.same_as(server))
    }

    /// The TGT of the default principal's realm (`krbtgt/REALM@REALM`).
    pub fn tgt(&self) -> Option<Credential> {
        let realm = &self.principal.realm;
        self.find(&Principal::krbtgt(realm, realm))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
    use std::path::{Path, PathBuf};

    use super::*;

    /// A fresh directory for one test, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(test: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "azkrb-ccache-{test}-{}-{}",
                std::process::id(),
                random_suffix().unwrap()
            ));
            std::fs::create_dir(&dir).unwrap();
            Self(dir)
        }
        fn path(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
        fn names(&self) -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn cache() -> Ccache {
        let alice = Principal::parse("alice@EXAMPLE.TEST", "EXAMPLE.TEST").unwrap();
        let mut c = Ccache::new(alice.clone());
        c.entries.push(Entry {
            client: alice,
            server: Principal::krbtgt("EXAMPLE.TEST", "EXAMPLE.TEST"),
            keytype: 18,
            key: zeroize::Zeroizing::new(vec![0xd7; 32]),
            times: [1, 0, 2, 0],
            is_skey: false,
            flags: 0,
            addresses: Vec::new(),
            authdata: Vec::new(),
            ticket: b"ticket".to_vec(),
            second_ticket: Vec::new(),
        });
        c
    }

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o777
    }

    /// The name the old code used for its temporary file.
    fn old_temp_name(path: &Path) -> PathBuf {
        PathBuf::from(format!("{}.azkrb-{}", path.display(), std::process::id()))
    }

    #[test]
    fn save_never_writes_through_a_symlink_at_the_old_predictable_name() {
        let dir = TempDir::new("symlink");
        let path = dir.path("cc");
        // Another local user pre-creates a world-readable file and points the predictable
        // temporary name at it.
        let stolen = dir.path("stolen");
        std::fs::write(&stolen, b"").unwrap();
        std::fs::set_permissions(&stolen, std::fs::Permissions::from_mode(0o644)).unwrap();
        let trap = old_temp_name(&path);
        symlink(&stolen, &trap).unwrap();

        let c = cache();
        c.save(path.to_str().unwrap()).unwrap();

        assert_eq!(
            std::fs::read(&stolen).unwrap(),
            b"",
            "the TGT was written through the symlink"
        );
        assert!(
            std::fs::symlink_metadata(&trap)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the pre-created link was touched"
        );
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(
            meta.file_type().is_file(),
            "the cache is not a regular file"
        );
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), c.to_bytes());
        // Only the cache, the trap and the attacker's file: no temporary file left.
        assert_eq!(dir.names().len(), 3, "{:?}", dir.names());
    }

    #[test]
    fn save_never_reuses_a_file_at_the_old_predictable_name() {
        let dir = TempDir::new("precreated");
        let path = dir.path("cc");
        let trap = old_temp_name(&path);
        std::fs::write(&trap, b"attacker").unwrap();
        std::fs::set_permissions(&trap, std::fs::Permissions::from_mode(0o666)).unwrap();

        cache().save(path.to_str().unwrap()).unwrap();

        assert_eq!(std::fs::read(&trap).unwrap(), b"attacker");
        assert_eq!(mode(&trap), 0o666);
        assert_eq!(mode(&path), 0o600);
        assert_eq!(
            Ccache::load(path.to_str().unwrap()).unwrap().entries.len(),
            1
        );
    }

    #[test]
    fn temporary_names_that_exist_are_skipped_and_never_followed() {
        let dir = TempDir::new("names");
        let victim = dir.path("victim");
        std::fs::write(&victim, b"").unwrap();
        std::fs::write(dir.path("cc.azkrb-taken"), b"x").unwrap();
        symlink(&victim, dir.path("cc.azkrb-link")).unwrap();
        symlink(dir.path("nowhere"), dir.path("cc.azkrb-dangling")).unwrap();
        let mut names = ["taken", "link", "dangling", "fresh"].into_iter();
        let (tmp, mut f) = create_temp(&dir.0, std::ffi::OsStr::new("cc"), || {
            Ok(names.next().unwrap().to_string())
        })
        .unwrap();
        assert_eq!(tmp, dir.path("cc.azkrb-fresh"));
        f.write_all(b"secret").unwrap();
        drop(f);
        assert_eq!(mode(&tmp), 0o600);
        assert_eq!(std::fs::read(&victim).unwrap(), b"");
        assert!(
            !dir.path("nowhere").exists(),
            "a dangling link was followed"
        );
        assert_eq!(std::fs::read(dir.path("cc.azkrb-taken")).unwrap(), b"x");

        // Every name taken: an error, after a bounded number of tries.
        let mut tries = 0;
        let e = create_temp(&dir.0, std::ffi::OsStr::new("cc"), || {
            tries += 1;
            Ok("taken".to_string())
        })
        .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(tries, TEMP_ATTEMPTS);
    }

    #[test]
    fn random_temporary_names_differ() {
        let a = random_suffix().unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a, random_suffix().unwrap());
    }

    #[test]
    fn failed_save_leaves_no_temporary_file() {
        let dir = TempDir::new("fail");
        // The target is a non-empty directory: the final rename fails.
        let target = dir.path("cc");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), b"").unwrap();
        let e = cache().save(target.to_str().unwrap()).unwrap_err();
        assert!(e.to_string().contains("cc"), "{e}");
        assert_eq!(dir.names(), ["cc"]);
        // A path that names no file is an error, not a panic.
        assert!(cache().save("/").is_err());
    }
}

#[cfg(test)]
mod naming_tests {
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
