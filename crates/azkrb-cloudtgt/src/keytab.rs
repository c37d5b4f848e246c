//! MIT keytab files (format version 2; version 1, in native byte order, is refused with a
//! clear error): long-term service and client keys.

use azkrb_asn1::{NameType, PrincipalName};
use azkrb_crypto::{EncryptionType, Key};

use crate::error::{Error, Result};
use crate::files::Reader;
use crate::principal::Principal;

/// One keytab entry.
#[derive(Debug, Clone)]
pub struct KeytabEntry {
    /// The principal the key belongs to.
    pub principal: Principal,
    /// When the key was written (Unix seconds).
    pub timestamp: u32,
    /// Key version number (the 32-bit extension when present, else the 8-bit field).
    pub kvno: u32,
    /// The encryption type number.
    pub etype: i32,
    /// The key, if its type is one azkrb supports.
    pub key: Option<Key>,
}

/// A keytab: the long-term keys of principals, in MIT's file format (version 2).
#[derive(Debug, Clone, Default)]
pub struct Keytab {
    /// The entries, in file order.
    pub entries: Vec<KeytabEntry>,
}

impl Keytab {
    /// Reads a keytab file.
    pub fn load(path: &str) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::File {
            file: path.to_string(),
            detail: e.to_string(),
        })?;
        Self::parse(path, &bytes)
    }

    /// Parses keytab bytes (`name` is used in error messages).
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(name, bytes);
        if r.u8("file format")? != 5 {
            return Err(r.err("not a keytab (first byte is not 5)"));
        }
        let version = r.u8("file format version")?;
        if version != 2 && version != 1 {
            return Err(r.err(&format!("unsupported keytab version {version}")));
        }
        if version == 1 {
            return Err(r.err("keytab version 1 (native byte order) is not supported"));
        }
        let mut entries = Vec::new();
        while r.remaining() >= 4 {
            let len = r.i32("record length")?;
            if len == 0 {
                break;
            }
            let size = len.unsigned_abs() as usize;
            let record = r.take(size, "record")?;
            if len < 0 {
                continue; // a hole
            }
            let mut e = Reader::new(name, record);
            let count = usize::from(e.u16("component count")?);
            let realm = String::from_utf8_lossy(e.data16("realm")?).into_owned();
            if count > e.remaining() / 2 {
                return Err(e.err("component count larger than the record"));
            }
            let mut parts = Vec::with_capacity(count);
            for _ in 0..count {
                parts.push(azkrb_asn1::KerberosString::from_bytes(
                    e.data16("component")?,
                ));
            }
            let name_type = NameType::from(e.i32("name type")?);
            let timestamp = e.u32("timestamp")?;
            let kvno8 = e.u8("kvno")?;
            let etype = i32::from(e.u16("enctype")?);
            let key_bytes = e.data16("key")?;
            let kvno = if e.remaining() >= 4 {
                match e.u32("kvno32")? {
                    0 => u32::from(kvno8),
                    v => v,
                }
            } else {
                u32::from(kvno8)
            };
            let key = EncryptionType::try_from(etype)
                .ok()
                .and_then(|t| Key::new(t, key_bytes).ok());
            entries.push(KeytabEntry {
                principal: Principal::new(
                    PrincipalName {
                        name_type,
                        name_string: parts,
                    },
                    realm,
                ),
                timestamp,
                kvno,
                etype,
                key,
            });
        }
        Ok(Self { entries })
    }

    /// The newest key for `principal` (name and realm) of type `etype`, or of any supported
    /// type when `etype` is `None`; `kvno` picks a specific version.
    pub fn key_for(
        &self,
        principal: &Principal,
        etype: Option<EncryptionType>,
        kvno: Option<u32>,
    ) -> Option<&Key> {
        self.entries
            .iter()
            .filter(|e| e.principal.same_as(principal))
            .filter(|e| kvno.is_none_or(|v| e.kvno == v))
            .filter_map(|e| e.key.as_ref().map(|k| (e.kvno, k)))
            .filter(|(_, k)| etype.is_none_or(|t| k.etype() == t))
            .max_by_key(|(v, _)| *v)
            .map(|(_, k)| k)
    }

    /// Every supported key of `principal` (newest version first), for an AS exchange.
    pub fn keys_for(&self, principal: &Principal) -> Vec<Key> {
        let mut found: Vec<(u32, Key)> = self
            .entries
            .iter()
            .filter(|e| e.principal.same_as(principal))
            .filter_map(|e| e.key.clone().map(|k| (e.kvno, k)))
            .collect();
        found.sort_by_key(|e| std::cmp::Reverse(e.0));
        found.into_iter().map(|(_, k)| k).collect()
    }
}
