//! Principals: a name and its realm, parsed and shown the way MIT krb5 does.

use azkrb_asn1::{NameType, PrincipalName};

use crate::error::{Error, Result};

/// A principal: name components, name type and realm.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Principal {
    /// The name: its type and components.
    pub name: PrincipalName,
    /// The realm (`KERBEROS.MICROSOFTONLINE.COM`, `CONTOSO.LOCAL`).
    pub realm: String,
}

impl Principal {
    /// A principal from its parts.
    pub fn new(name: PrincipalName, realm: impl Into<String>) -> Self {
        Self {
            name,
            realm: realm.into(),
        }
    }

    /// Parses `name[/instance...][@REALM]` with MIT's backslash escapes; without a realm,
    /// `default_realm` is used. A name of one component is NT-PRINCIPAL, of two NT-SRV-INST
    /// (NT-SRV-HST for `host/` and `cifs/`).
    pub fn parse(text: &str, default_realm: &str) -> Result<Self> {
        let mut parts = vec![String::new()];
        let mut realm: Option<String> = None;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            let c = match c {
                '\\' => chars.next().ok_or_else(|| {
                    Error::Config(format!("principal {text:?} ends with a backslash"))
                })?,
                '/' if realm.is_none() => {
                    parts.push(String::new());
                    continue;
                }
                '@' if realm.is_none() => {
                    realm = Some(String::new());
                    continue;
                }
                c => c,
            };
            match realm.as_mut() {
                Some(r) => r.push(c),
                None => {
                    if let Some(last) = parts.last_mut() {
                        last.push(c);
                    }
                }
            }
        }
        if parts.iter().any(String::is_empty) {
            return Err(Error::Config(format!(
                "principal {text:?} has an empty component"
            )));
        }
        let realm = match realm {
            Some(r) if r.is_empty() => {
                return Err(Error::Config(format!(
                    "principal {text:?} has an empty realm"
                )));
            }
            Some(r) => r,
            None => default_realm.to_string(),
        };
        let name_type = match parts.first().map(String::as_str) {
            _ if parts.len() == 1 => NameType::Principal,
            Some("krbtgt") => NameType::SrvInst,
            Some("host" | "cifs" | "HTTP" | "http") if parts.len() == 2 => NameType::SrvHst,
            _ => NameType::SrvInst,
        };
        Ok(Self::new(PrincipalName::new(name_type, parts), realm))
    }

    /// An enterprise (UPN) principal: `alice@contoso.com` as one NT-ENTERPRISE component in
    /// `realm` (MIT's `kinit -E`).
    pub fn enterprise(upn: &str, realm: &str) -> Self {
        Self::new(PrincipalName::new(NameType::Enterprise, [upn]), realm)
    }

    /// The `cifs/<host>` service principal: host lower-cased, no DNS canonicalization.
    pub fn cifs(host: &str, realm: &str) -> Self {
        Self::new(
            PrincipalName::new(NameType::SrvHst, ["cifs", &host.to_ascii_lowercase()]),
            realm,
        )
    }

    /// `krbtgt/<service_realm>@<realm>`: the TGS of `service_realm` as known in `realm`.
    pub fn krbtgt(service_realm: &str, realm: &str) -> Self {
        Self::new(
            PrincipalName::new(NameType::SrvInst, ["krbtgt", service_realm]),
            realm,
        )
    }

    /// If this is `krbtgt/X@Y`, X.
    pub fn tgs_realm(&self) -> Option<&str> {
        match self.name.name_string.as_slice() {
            [first, second] if first.as_bytes() == b"krbtgt" => second.as_str(),
            _ => None,
        }
    }

    /// The same name and realm, ignoring the name type and ASCII case of the realm.
    pub fn same_as(&self, other: &Principal) -> bool {
        self.realm.eq_ignore_ascii_case(&other.realm)
            && self.name.name_string == other.name.name_string
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@", self.name.to_text())?;
        for c in self.realm.chars() {
            if matches!(c, '@' | '\\') {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_show() {
        let p = Principal::parse("alice", "R.COM").unwrap();
        assert_eq!(p.to_string(), "alice@R.COM");
        assert_eq!(p.name.name_type, NameType::Principal);
        let p = Principal::parse(
            "cifs/acct.file.core.windows.net@KERBEROS.MICROSOFTONLINE.COM",
            "X",
        )
        .unwrap();
        assert_eq!(p.name.name_type, NameType::SrvHst);
        assert_eq!(p.realm, "KERBEROS.MICROSOFTONLINE.COM");
        let p = Principal::parse("alice\\@contoso.com@KERBEROS.MICROSOFTONLINE.COM", "X").unwrap();
        assert_eq!(p.name.name_string.len(), 1);
        assert_eq!(p.name.name_string[0].as_str(), Some("alice@contoso.com"));
        assert_eq!(
            p.to_string(),
            "alice\\@contoso.com@KERBEROS.MICROSOFTONLINE.COM"
        );
        assert_eq!(Principal::krbtgt("B", "A").tgs_realm(), Some("B"));
        assert!(Principal::parse("a//b", "R").is_err());
        assert!(Principal::parse("a@", "R").is_err());
        assert!(Principal::parse("a\\", "R").is_err());
        assert_eq!(
            Principal::cifs("ACCT.File.Core.Windows.NET", "R")
                .name
                .to_text(),
            "cifs/acct.file.core.windows.net"
        );
    }
}
