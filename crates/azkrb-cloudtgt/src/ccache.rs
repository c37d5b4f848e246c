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

/// One entry of a ccache, as stored.
#[derive(Debug, Clone)]
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

/// The FILE ccache path named by `KRB5CCNAME` (`FILE:/path` or a plain path), else MIT's
/// default `/tmp/krb5cc_<uid>`. Other cache types (KEYRING:, KCM:, DIR:, MEMORY:) are errors.
pub fn default_path() -> Result<String> {
    match std::env::var("KRB5CCNAME") {
        Ok(v) if !v.is_empty() => path_of(&v),
        _ => {
            use std::os::unix::fs::MetadataExt;
            let uid = std::fs::metadata("/proc/self")
                .map(|m| m.uid())
                .unwrap_or(0);
            Ok(format!("/tmp/krb5cc_{uid}"))
        }
    }
}

/// The file path of a ccache name.
pub fn path_of(name: &str) -> Result<String> {
    if let Some(p) = name.strip_prefix("FILE:") {
        return Ok(p.to_string());
    }
    match name.split_once(':') {
        Some((ty, _)) if !name.starts_with('/') => Err(Error::Config(format!(
            "credential cache type {ty}: is not supported; use a FILE: cache (KRB5CCNAME=FILE:/path)"
        ))),
        _ => Ok(name.to_string()),
    }
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

    /// Writes the cache to `path` atomically (a temporary file renamed over it), mode 0600.
    pub fn save(&self, path: &str) -> Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let err = |e: std::io::Error| Error::File {
            file: path.to_string(),
            detail: e.to_string(),
        };
        let tmp = format!("{path}.azkrb-{}", std::process::id());
        let mut bytes = zeroize::Zeroizing::new(self.to_bytes());
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        f.write_all(&bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        zeroize::Zeroize::zeroize(&mut *bytes);
        std::fs::rename(&tmp, path).map_err(err)
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
