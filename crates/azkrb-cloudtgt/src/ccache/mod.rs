//! MIT FILE credential caches (format version 4 written, 3 and 4 read): what `kinit`
//! writes and `klist`, `smbclient` and the kernel's `cifs.upcall` read; `DIR:` collections
//! of them, and `KCM:` caches held by a KCM daemon (sssd-kcm, Heimdal's kcm), as MIT's
//! library names them (see [`locate`]).

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

/// The server principal of a configuration entry, as MIT names it.
fn config_principal(key: &str, principal: Option<&Principal>) -> Principal {
    let mut parts = vec!["krb5_ccache_conf_data".to_string(), key.to_string()];
    if let Some(p) = principal {
        parts.push(p.to_string());
    }
    Principal::new(PrincipalName::new(NameType::Principal, parts), CONFIG_REALM)
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

mod kcm;
mod keyctl;
mod keyring;
mod names;

pub use kcm::Kcm;
pub use keyring::{Anchor, Keyring, effective_uid};
pub use names::{
    Location, collection, default_name, default_name_in, default_path, expand, for_principal,
    holding, locate, locate_for_principal, locate_holding, path_of,
};

/// One credential as MIT marshals it (format `version`: 3 repeats the key type); also
/// the form the KCM protocol carries.
fn read_entry(r: &mut Reader<'_>, version: u8) -> Result<Entry> {
    let client = read_principal(r)?;
    let server = read_principal(r)?;
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
    let addresses = read_list(r, "addresses")?;
    let authdata = read_list(r, "authdata")?;
    let ticket = r.data32("ticket")?.to_vec();
    let second_ticket = r.data32("second ticket")?.to_vec();
    Ok(Entry {
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
    })
}

/// The length of [`write_entry`]'s output (or a little more): a buffer made this large first
/// never grows while the key is written into it, so no copy of the key is left behind.
fn entry_len(e: &Entry) -> usize {
    let lists: usize = [&e.addresses, &e.authdata]
        .iter()
        .flat_map(|l| l.iter())
        .map(|(_, d)| d.len() + 8)
        .sum();
    let principals: usize = [&e.client, &e.server]
        .iter()
        .map(|p| {
            16 + p.realm.len()
                + p.name
                    .name_string
                    .iter()
                    .map(|c| c.as_bytes().len() + 4)
                    .sum::<usize>()
        })
        .sum();
    principals + lists + e.key.len() + e.ticket.len() + e.second_ticket.len() + 64
}

/// One credential as MIT marshals it (format version 4).
fn write_entry(out: &mut Vec<u8>, e: &Entry) {
    write_principal(out, &e.client);
    write_principal(out, &e.server);
    out.extend_from_slice(&(e.keytype as u16).to_be_bytes());
    write_data(out, &e.key);
    for t in e.times {
        out.extend_from_slice(&t.to_be_bytes());
    }
    out.push(u8::from(e.is_skey));
    out.extend_from_slice(&e.flags.to_be_bytes());
    for list in [&e.addresses, &e.authdata] {
        out.extend_from_slice(&(list.len() as u32).to_be_bytes());
        for (ty, d) in list {
            out.extend_from_slice(&ty.to_be_bytes());
            write_data(out, d);
        }
    }
    write_data(out, &e.ticket);
    write_data(out, &e.second_ticket);
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
            entries.push(read_entry(&mut r, version)?);
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
            write_entry(&mut out, e);
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

    /// A configuration entry's value, as MIT's `krb5_cc_get_config` reads it: the entry
    /// for `krb5_ccache_conf_data/<key>[/<principal>]@X-CACHECONF:` (kinit keeps
    /// `fast_avail` for the TGT there, when the KDC supports FAST).
    pub fn config(&self, key: &str, principal: Option<&Principal>) -> Option<&[u8]> {
        let server = config_principal(key, principal);
        self.entries
            .iter()
            .find(|e| e.is_config() && e.server.same_as(&server))
            .map(|e| e.ticket.as_slice())
    }

    /// Sets a configuration entry (see [`config`](Self::config)), replacing any with the
    /// same key and principal.
    ///
    /// ```
    /// use azkrb_cloudtgt::{Principal, ccache::Ccache};
    /// let alice = Principal::parse("alice@R.TEST", "R.TEST").unwrap();
    /// let tgs = Principal::krbtgt("R.TEST", "R.TEST");
    /// let mut cache = Ccache::new(alice);
    /// cache.set_config("fast_avail", Some(&tgs), b"yes");
    /// assert_eq!(cache.config("fast_avail", Some(&tgs)), Some(&b"yes"[..]));
    /// assert!(cache.credentials().is_empty());
    /// ```
    pub fn set_config(&mut self, key: &str, principal: Option<&Principal>, value: &[u8]) {
        let server = config_principal(key, principal);
        self.entries
            .retain(|e| !(e.is_config() && e.server.same_as(&server)));
        self.entries.push(Entry {
            client: self.principal.clone(),
            server,
            keytype: 0,
            key: zeroize::Zeroizing::new(Vec::new()),
            times: [0; 4],
            is_skey: false,
            flags: 0,
            addresses: Vec::new(),
            authdata: Vec::new(),
            ticket: value.to_vec(),
            second_ticket: Vec::new(),
        });
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
