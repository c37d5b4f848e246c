//! Realm routing like krb5.conf: which realm serves a host (`[domain_realm]`, most specific
//! match wins) and where that realm's KDCs are (`[realms] kdc = ...`), plus the Entra
//! defaults for a tenant.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::fast::FastPolicy;

/// Entra ID's Kerberos realm.
pub const ENTRA_REALM: &str = "KERBEROS.MICROSOFTONLINE.COM";
/// The DNS suffix of Azure Files endpoints.
pub const AZURE_FILES_SUFFIX: &str = ".file.core.windows.net";

/// Where a KDC is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KdcAddress {
    /// An MS-KKDCP proxy URL (`https://...`).
    Https(String),
    /// A KDC over TCP (`host:port`, port 88 by default).
    Tcp(String),
}

impl KdcAddress {
    /// Parses a krb5.conf `kdc` value: `https://host[:port]/path`, `host`, `host:port`,
    /// `tcp/host:port`, `[v6]:port`.
    pub fn parse(value: &str) -> Result<Self> {
        let v = value.trim();
        if v.starts_with("https://") {
            return Ok(Self::Https(v.to_string()));
        }
        if v.starts_with("http://") {
            return Err(Error::Config(format!(
                "KDC proxy {v}: only https:// is allowed"
            )));
        }
        let v = v.strip_prefix("tcp/").unwrap_or(v);
        if v.is_empty() || v.contains('/') {
            return Err(Error::Config(format!("cannot parse KDC address {value:?}")));
        }
        let has_port = if v.starts_with('[') {
            v.contains("]:")
        } else {
            v.contains(':')
        };
        Ok(Self::Tcp(if has_port {
            v.to_string()
        } else {
            format!("{v}:88")
        }))
    }
}

impl std::fmt::Display for KdcAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Https(u) => f.write_str(u),
            Self::Tcp(a) => write!(f, "tcp/{a}"),
        }
    }
}

/// A trust anchor for a realm's KDC proxies: a krb5.conf `http_anchors` value, in MIT's
/// syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpAnchor {
    /// `FILE:/path/ca.pem`: the PEM certificates in that file.
    File(String),
    /// `DIR:/path`: the PEM certificates in that directory's files (as OpenSSL's hashed
    /// certificate directories hold them).
    Dir(String),
    /// A form azkrb does not support (MIT's `ENV:`, a path without a prefix, ...), as
    /// written. The realm's KDC proxies are then refused, with an error that says what to
    /// write instead, when they are contacted (as MIT fails only then too).
    Unsupported(String),
}

impl HttpAnchor {
    /// Parses an `http_anchors` value: `FILE:path`, `DIR:path`, else [`Self::Unsupported`].
    pub fn parse(value: &str) -> Self {
        let v = value.trim();
        match (v.strip_prefix("FILE:"), v.strip_prefix("DIR:")) {
            (Some(p), _) if !p.is_empty() => Self::File(p.to_string()),
            (_, Some(p)) if !p.is_empty() => Self::Dir(p.to_string()),
            _ => Self::Unsupported(v.to_string()),
        }
    }
}

impl std::fmt::Display for HttpAnchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "FILE:{p}"),
            Self::Dir(p) => write!(f, "DIR:{p}"),
            Self::Unsupported(v) => f.write_str(v),
        }
    }
}

/// How deep `include`s may nest (a file including itself is an error, not a hang).
const MAX_INCLUDE_DEPTH: usize = 8;

/// The files of `dir` MIT's `includedir` reads: names of letters, digits, `-` and `_`,
/// optionally ending in `.conf`; in name order.
fn included_files(dir: &str) -> std::result::Result<Vec<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("includedir {dir}: {e}"))?;
    let mut files: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let stem = name.strip_suffix(".conf").unwrap_or(&name);
            !stem.is_empty()
                && stem
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && e.path().is_file()
        })
        .map(|e| e.path().display().to_string())
        .collect();
    files.sort();
    Ok(files)
}

/// Realm configuration.
#[derive(Debug, Clone, Default)]
pub struct RealmConfig {
    /// `[libdefaults] default_realm`.
    pub default_realm: Option<String>,
    /// KDCs per realm, in order of preference.
    pub kdcs: BTreeMap<String, Vec<KdcAddress>>,
    /// `[domain_realm]` entries: a host name, or a `.domain` suffix, mapped to a realm.
    pub domain_realm: Vec<(String, String)>,
    /// Trust anchors per realm (`http_anchors = FILE:...` or `DIR:...`, one or more) for its
    /// KDC proxies. A realm listed here trusts only these for its proxies: not the system
    /// roots, nor the transport's CA file (MIT krb5's semantics); if they cannot be used
    /// (a missing file, an unsupported form), its proxies are refused.
    pub http_anchors: BTreeMap<String, Vec<HttpAnchor>>,
    /// `[libdefaults] default_ccache_name`, as written (see [`crate::ccache::expand`]).
    pub default_ccache_name: Option<String>,
    /// `[libdefaults] renew_lifetime` in seconds: a login asks for a TGT renewable this long
    /// (none when absent or zero, as with MIT's kinit).
    pub renew_lifetime: Option<i64>,
    /// A `renew_lifetime` was read (a later one is passed over, even if the first was 0).
    renew_seen: bool,
    /// `[libdefaults] kcm_socket`: the KCM daemon's socket (MIT's default when absent).
    pub kcm_socket: Option<String>,
    /// `[libdefaults] fast = auto | required | never`: when TGS requests are armored with
    /// FAST (see [`crate::fast`]); `auto` when absent.
    pub fast: Option<FastPolicy>,
    /// `fast = …` in a realm's `[realms]` entry, over `[libdefaults]`.
    pub fast_realms: BTreeMap<String, FastPolicy>,
}

fn parse_fast(value: &str) -> std::result::Result<FastPolicy, String> {
    FastPolicy::parse(value)
        .ok_or_else(|| format!("fast = {value}: expected auto, required or never"))
}

/// A krb5.conf duration in seconds, as MIT writes them: `7d`, `24h`, `10h 30m`, `1d2h3m4s`,
/// `3600` (seconds), or `h:m[:s]`.
///
/// ```
/// use azkrb_cloudtgt::config::parse_duration;
/// assert_eq!(parse_duration("7d"), Some(7 * 86400));
/// assert_eq!(parse_duration("10h 0m 0s"), Some(36000));
/// assert_eq!(parse_duration("1:30"), Some(5400));
/// assert_eq!(parse_duration("soon"), None);
/// assert_eq!(parse_duration("9223372036854775807"), None);
/// ```
pub fn parse_duration(text: &str) -> Option<i64> {
    bounded(parse_unbounded(text))
}

fn parse_unbounded(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(secs) = t.parse::<i64>() {
        return (secs >= 0).then_some(secs);
    }
    if t.contains(':') {
        let parts: Vec<i64> = t
            .split(':')
            .map(|p| p.parse::<i64>().ok().filter(|v| *v >= 0))
            .collect::<Option<_>>()?;
        return match parts.as_slice() {
            [h, m] => Some(h.checked_mul(3600)?.checked_add(m.checked_mul(60)?)?),
            [h, m, s] => Some(
                h.checked_mul(3600)?
                    .checked_add(m.checked_mul(60)?)?
                    .checked_add(*s)?,
            ),
            _ => None,
        };
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in t.chars() {
        match c {
            '0'..='9' => number.push(c),
            ' ' | '\t' if number.is_empty() => {}
            'd' | 'h' | 'm' | 's' if !number.is_empty() => {
                let unit = match c {
                    'd' => 86400,
                    'h' => 3600,
                    'm' => 60,
                    _ => 1,
                };
                total = total.checked_add(number.parse::<i64>().ok()?.checked_mul(unit)?)?;
                number.clear();
                any = true;
            }
            _ => return None,
        }
    }
    (any && number.is_empty()).then_some(total)
}

/// [`parse_duration`] within what a krb5.conf duration may be (MIT's: a 32-bit count of
/// seconds).
fn bounded(secs: Option<i64>) -> Option<i64> {
    secs.filter(|s| *s <= i64::from(i32::MAX))
}

impl RealmConfig {
    /// Reads a krb5.conf file (and the files it includes).
    pub fn load(path: &str) -> Result<Self> {
        let mut cfg = Self::default();
        cfg.parse_file(path, 0)?;
        Ok(cfg)
    }

    /// Parses the parts of krb5.conf azkrb uses; everything else is passed over (MIT's
    /// `module` directive, `[logging]`, `[plugins]`, `[appdefaults]`, unknown sections).
    /// `include FILE` and `includedir DIR` read further files as MIT's library does (absolute
    /// paths; in a directory, the files whose names are letters, digits, `-` and `_`,
    /// optionally ending in `.conf`, in name order).
    ///
    /// ```
    /// # fn main() -> azkrb_cloudtgt::Result<()> {
    /// use azkrb_cloudtgt::RealmConfig;
    /// let c = RealmConfig::parse(
    ///     "module /usr/lib/plugin.so:residual\n\
    ///      [libdefaults]\n default_realm = EXAMPLE.TEST\n\
    ///      [realms]\n EXAMPLE.TEST = {\n  kdc = kdc.example.test\n }\n",
    /// )?;
    /// assert_eq!(c.default_realm.as_deref(), Some("EXAMPLE.TEST"));
    /// # Ok(()) }
    /// ```
    pub fn parse(text: &str) -> Result<Self> {
        let mut cfg = Self::default();
        cfg.parse_text(text, "krb5.conf", 0)?;
        Ok(cfg)
    }

    fn parse_file(&mut self, path: &str, depth: usize) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::File {
            file: path.to_string(),
            detail: e.to_string(),
        })?;
        self.parse_text(&text, path, depth)
    }

    fn parse_text(&mut self, text: &str, name: &str, depth: usize) -> Result<()> {
        let mut section = String::new();
        let mut realm: Option<String> = None;
        let at = |n: usize, what: String| Error::Config(format!("{name}:{}: {what}", n + 1));
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split(['#', ';']).next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            // Directives: at the start of a line, outside any relation.
            if let Some((directive, arg)) = line.split_once(char::is_whitespace)
                && !line.contains('=')
            {
                let arg = arg.trim();
                match directive {
                    "module" => continue,
                    "include" | "includedir" if depth >= MAX_INCLUDE_DEPTH => {
                        return Err(at(n, format!("{directive} nested too deep (a loop?)")));
                    }
                    "include" | "includedir" if !arg.starts_with('/') => {
                        return Err(at(n, format!("{directive} needs an absolute path")));
                    }
                    "include" => {
                        self.parse_file(arg, depth + 1)?;
                        continue;
                    }
                    "includedir" => {
                        for file in included_files(arg).map_err(|e| at(n, e))? {
                            self.parse_file(&file, depth + 1)?;
                        }
                        continue;
                    }
                    _ => {}
                }
            }
            if line.starts_with('[') {
                section = line
                    .trim_matches(|c| c == '[' || c == ']')
                    .trim()
                    .to_string();
                realm = None;
                continue;
            }
            if line == "}" {
                realm = None;
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(at(n, "expected key = value".into()));
            };
            let (key, value) = (key.trim(), value.trim());
            match section.as_str() {
                // The first value read wins, as in MIT's profile library (an includedir at
                // the top of Fedora's krb5.conf overrides what the file itself says).
                "libdefaults" if key == "default_realm" => {
                    self.default_realm.get_or_insert_with(|| value.to_string());
                }
                "libdefaults" if key == "default_ccache_name" => {
                    self.default_ccache_name
                        .get_or_insert_with(|| value.to_string());
                }
                "libdefaults" if key == "kcm_socket" => {
                    self.kcm_socket.get_or_insert_with(|| value.to_string());
                }
                "libdefaults" if key == "fast" => {
                    let policy = parse_fast(value).map_err(|e| at(n, e))?;
                    self.fast.get_or_insert(policy);
                }
                "libdefaults" if key == "renew_lifetime" && self.renew_seen => {}
                "libdefaults" if key == "renew_lifetime" => {
                    let secs = parse_duration(value).ok_or_else(|| {
                        at(
                            n,
                            format!("renew_lifetime = {value}: not a duration (7d, 24h, 3600)"),
                        )
                    })?;
                    if !self.renew_seen {
                        self.renew_seen = true;
                        self.renew_lifetime = (secs > 0).then_some(secs);
                    }
                }
                "realms" if value == "{" => realm = Some(key.to_string()),
                "realms" => {
                    let Some(r) = &realm else { continue };
                    match key {
                        "kdc" => self
                            .kdcs
                            .entry(r.clone())
                            .or_default()
                            .push(KdcAddress::parse(value).map_err(|e| at(n, e.to_string()))?),
                        "http_anchors" => self
                            .http_anchors
                            .entry(r.clone())
                            .or_default()
                            .push(HttpAnchor::parse(value)),
                        "fast" => {
                            let policy = parse_fast(value).map_err(|e| at(n, e))?;
                            self.fast_realms.entry(r.clone()).or_insert(policy);
                        }
                        _ => {}
                    }
                }
                "domain_realm" => self
                    .domain_realm
                    .push((key.to_ascii_lowercase(), value.to_string())),
                _ => {}
            }
        }
        Ok(())
    }

    /// Where the krb5.conf is: `explicit` when given, else `KRB5_CONFIG` (when set and not
    /// empty), else `/etc/krb5.conf` when it exists; `None` when there is none. The one place
    /// that reads `KRB5_CONFIG`.
    pub fn locate(explicit: Option<&str>) -> Option<String> {
        explicit
            .map(str::to_string)
            .or_else(|| std::env::var("KRB5_CONFIG").ok().filter(|v| !v.is_empty()))
            .or_else(|| {
                std::path::Path::new("/etc/krb5.conf")
                    .exists()
                    .then(|| "/etc/krb5.conf".to_string())
            })
    }

    /// Reads the krb5.conf [`locate`](Self::locate) finds; without one, an empty
    /// configuration (add realms, or [`with_entra_tenant`](Self::with_entra_tenant)).
    ///
    /// ```
    /// # fn main() -> azkrb_cloudtgt::Result<()> {
    /// use azkrb_cloudtgt::RealmConfig;
    /// let c = RealmConfig::discover(Some("/dev/null"))?.with_entra_tenant("contoso.com")?;
    /// assert_eq!(c.realm_for_host("acct.file.core.windows.net"),
    ///            Some("KERBEROS.MICROSOFTONLINE.COM"));
    /// # Ok(()) }
    /// ```
    pub fn discover(explicit: Option<&str>) -> Result<Self> {
        match Self::locate(explicit) {
            Some(path) => Self::load(&path),
            None => Self::parse(""),
        }
    }

    /// Replaces the KDCs of `realm` (each `host[:port]`, `tcp/host:port` or an `https://`
    /// KDC proxy URL); at least one is needed.
    pub fn set_kdcs(&mut self, realm: &str, kdcs: &[String]) -> Result<()> {
        let parsed = kdcs
            .iter()
            .map(|k| KdcAddress::parse(k))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| Error::Config(format!("realm {realm}: {e}")))?;
        if parsed.is_empty() {
            return Err(Error::Config(format!("realm {realm}: no KDC given")));
        }
        self.kdcs.insert(realm.to_string(), parsed);
        Ok(())
    }

    /// Maps a host, or a `.domain` suffix, to `realm`, replacing an entry for the same
    /// name.
    pub fn map_domain(&mut self, domain: &str, realm: &str) {
        let domain = domain.to_ascii_lowercase();
        self.domain_realm.retain(|(d, _)| *d != domain);
        self.domain_realm.push((domain, realm.to_string()));
    }

    /// The Entra realm through the KDC proxy `url` (`https://` only), replacing its
    /// configured KDCs; `.file.core.windows.net` is mapped to the Entra realm unless
    /// mapped already.
    pub fn with_kdc_proxy(mut self, url: &str) -> Result<Self> {
        if !url.starts_with("https://") {
            return Err(Error::Config(format!(
                "KDC proxy {url:?}: expected an https:// URL"
            )));
        }
        self.kdcs
            .insert(ENTRA_REALM.to_string(), vec![KdcAddress::parse(url)?]);
        self.map_azure_files_to_entra();
        Ok(self)
    }

    /// Maps `.file.core.windows.net` to the Entra realm, unless it is mapped already.
    fn map_azure_files_to_entra(&mut self) {
        if !self
            .domain_realm
            .iter()
            .any(|(d, _)| d == AZURE_FILES_SUFFIX)
        {
            self.domain_realm
                .push((AZURE_FILES_SUFFIX.to_string(), ENTRA_REALM.to_string()));
        }
    }

    /// Adds the Entra defaults for `tenant`: the KDC proxy
    /// `https://login.microsoftonline.com/<tenant>/kerberos` for `KERBEROS.MICROSOFTONLINE.COM`
    /// (unless KDCs are configured for it) and `.file.core.windows.net` mapped to it (unless
    /// mapped already). Hosts mapped to another realm (AD DS accounts) keep their mapping.
    pub fn with_entra_tenant(mut self, tenant: &str) -> Result<Self> {
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(Error::Config(format!(
                "tenant {tenant:?} is not a tenant id or domain"
            )));
        }
        self.kdcs.entry(ENTRA_REALM.to_string()).or_insert_with(|| {
            vec![KdcAddress::Https(format!(
                "https://login.microsoftonline.com/{tenant}/kerberos"
            ))]
        });
        self.map_azure_files_to_entra();
        Ok(self)
    }

    /// True if a `[domain_realm]` tag covers `host` (lower-cased): the host itself, or a
    /// `.domain` / bare `domain` suffix.
    fn covers(tag: &str, host: &str) -> bool {
        tag == host || host.ends_with(&format!(".{}", tag.trim_start_matches('.')))
    }

    /// Where TGS requests are armored with FAST: `[libdefaults]`'s and each realm's `fast`
    /// policy, with `advertised` the realms whose KDCs are known to support it.
    pub fn armoring(&self, advertised: Vec<String>) -> crate::fast::Armoring {
        crate::fast::Armoring {
            default: self.fast.unwrap_or_default(),
            realms: self
                .fast_realms
                .iter()
                .map(|(r, p)| (r.clone(), *p))
                .collect(),
            advertised,
        }
    }

    /// The realm of `host`: an exact `[domain_realm]` entry first, then the longest
    /// matching `.domain` suffix (a bare `domain` entry also covers its subdomains).
    pub fn realm_for_host(&self, host: &str) -> Option<&str> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some((_, r)) = self.domain_realm.iter().find(|(d, _)| *d == host) {
            return Some(r);
        }
        // The longest matching domain; of equals, the first read (as MIT's profile gives the
        // first value of a relation).
        let len = |d: &str| d.trim_start_matches('.').len();
        self.domain_realm
            .iter()
            .filter(|(d, _)| Self::covers(d, &host))
            .fold(None::<&(String, String)>, |best, e| match best {
                Some(b) if len(&b.0) >= len(&e.0) => Some(b),
                _ => Some(e),
            })
            .map(|(_, r)| r.as_str())
    }

    /// Every `[domain_realm]` entry that matches `host`, with its realm (for diagnostics of
    /// conflicting mappings).
    pub fn matching_entries(&self, host: &str) -> Vec<(&str, &str)> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.domain_realm
            .iter()
            .filter(|(d, _)| Self::covers(d, &host))
            .map(|(d, r)| (d.as_str(), r.as_str()))
            .collect()
    }

    /// The principal a user means by `name` when logging in: `user@REALM` as written; a UPN
    /// (`user@domain`, the domain not a configured realm) becomes an enterprise name
    /// (RFC 6806), in `realm` when given, else in the Entra realm when that is configured.
    pub fn login_principal(&self, name: &str, realm: Option<&str>) -> Result<crate::Principal> {
        if let Some((_, domain)) = name.rsplit_once('@') {
            let known = self.kdcs.contains_key(domain);
            if let Some(r) = realm
                && !(known && domain == r)
            {
                return Ok(crate::Principal::enterprise(name, r));
            }
            if !known && realm.is_none() && self.kdcs.contains_key(ENTRA_REALM) {
                return Ok(crate::Principal::enterprise(name, ENTRA_REALM));
            }
        }
        let realm = realm.or(self.default_realm.as_deref()).unwrap_or_default();
        if realm.is_empty() && !name.contains('@') {
            return Err(Error::Config(format!(
                "{name}: no realm: write {name}@REALM, give the realm, or set \
                 [libdefaults] default_realm in krb5.conf"
            )));
        }
        crate::Principal::parse(name, realm)
    }

    /// The KDCs of `realm`.
    pub fn kdcs_for(&self, realm: &str) -> Result<&[KdcAddress]> {
        self.kdcs
            .get(realm)
            .filter(|k| !k.is_empty())
            .map(Vec::as_slice)
            .ok_or_else(|| {
                Error::Config(format!(
                    "no KDC configured for realm {realm}: add it to [realms] in krb5.conf (for Entra, give the tenant id)"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "
[libdefaults]
 default_realm = KERBEROS.MICROSOFTONLINE.COM   # comment
[realms]
 KERBEROS.MICROSOFTONLINE.COM = {
  kdc = https://127.0.0.1:18443/t/kerberos
  http_anchors = FILE:/tmp/ca.pem
 }
 CONTOSO.LOCAL = {
  kdc = dc1.contoso.local
  kdc = 10.0.0.2:8888
 }
[domain_realm]
 .file.core.windows.net = KERBEROS.MICROSOFTONLINE.COM
 acctad.file.core.windows.net = CONTOSO.LOCAL
 .core.windows.net = OTHER.REALM
";

    #[test]
    fn parses_and_routes_most_specific_first() {
        let c = RealmConfig::parse(CONF).unwrap();
        assert_eq!(c.default_realm.as_deref(), Some(ENTRA_REALM));
        assert_eq!(
            c.kdcs_for("CONTOSO.LOCAL").unwrap(),
            &[
                KdcAddress::Tcp("dc1.contoso.local:88".into()),
                KdcAddress::Tcp("10.0.0.2:8888".into())
            ]
        );
        assert_eq!(
            c.http_anchors.get(ENTRA_REALM).map(Vec::as_slice),
            Some(&[HttpAnchor::File("/tmp/ca.pem".into())][..])
        );
        assert!(!c.http_anchors.contains_key("CONTOSO.LOCAL"));
        assert_eq!(
            HttpAnchor::parse(" DIR:/etc/ssl/certs "),
            HttpAnchor::Dir("/etc/ssl/certs".into())
        );
        for other in ["ENV:X", "/tmp/ca.pem", "FILE:", "DIR:"] {
            assert_eq!(
                HttpAnchor::parse(other),
                HttpAnchor::Unsupported(other.into())
            );
            assert_eq!(HttpAnchor::parse(other).to_string(), other);
        }
        assert_eq!(
            c.realm_for_host("acct.file.core.windows.net"),
            Some(ENTRA_REALM)
        );
        assert_eq!(
            c.realm_for_host("ACCTAD.file.core.windows.net"),
            Some("CONTOSO.LOCAL")
        );
        assert_eq!(
            c.realm_for_host("x.blob.core.windows.net"),
            Some("OTHER.REALM")
        );
        assert_eq!(c.realm_for_host("example.org"), None);
        assert_eq!(c.matching_entries("acctad.file.core.windows.net").len(), 3);
        assert!(c.kdcs_for("NOPE").is_err());
    }

    #[test]
    fn entra_defaults_keep_ad_ds_mappings() {
        let c =
            RealmConfig::parse("[domain_realm]\n acctad.file.core.windows.net = CONTOSO.LOCAL\n")
                .unwrap()
                .with_entra_tenant("00000000-1111-2222-3333-444444444444")
                .unwrap();
        assert_eq!(
            c.realm_for_host("acct.file.core.windows.net"),
            Some(ENTRA_REALM)
        );
        assert_eq!(
            c.realm_for_host("acctad.file.core.windows.net"),
            Some("CONTOSO.LOCAL")
        );
        assert_eq!(
            c.kdcs_for(ENTRA_REALM).unwrap(),
            &[KdcAddress::Https(
                "https://login.microsoftonline.com/00000000-1111-2222-3333-444444444444/kerberos"
                    .into()
            )]
        );
        assert!(
            RealmConfig::default()
                .with_entra_tenant("bad/tenant")
                .is_err()
        );
        assert!(KdcAddress::parse("http://x/kerberos").is_err());
    }

    #[test]
    fn upns_become_enterprise_names_and_realms_stay_realms() {
        use azkrb_asn1::NameType;
        let config = RealmConfig::parse(
            "[realms]\nKERBEROS.MICROSOFTONLINE.COM = {\n kdc = https://p.example/t/kerberos\n}\n\
             CONTOSO.LOCAL = {\n kdc = dc1\n}\n",
        )
        .unwrap();
        let p = |name: &str, realm: Option<&str>| config.login_principal(name, realm).unwrap();
        let upn = p("alice@contoso.com", None);
        assert_eq!(upn.realm, "KERBEROS.MICROSOFTONLINE.COM");
        assert_eq!(upn.name.name_type, NameType::Enterprise);
        let upn = p("alice@contoso.com", Some("CONTOSO.LOCAL"));
        assert_eq!(upn.realm, "CONTOSO.LOCAL");
        assert_eq!(upn.name.name_type, NameType::Enterprise);
        let plain = p("bob@CONTOSO.LOCAL", None);
        assert_eq!(plain.realm, "CONTOSO.LOCAL");
        assert_ne!(plain.name.name_type, NameType::Enterprise);
        assert_eq!(
            p("bob@CONTOSO.LOCAL", Some("CONTOSO.LOCAL")).realm,
            "CONTOSO.LOCAL"
        );
        assert_eq!(p("bob", Some("CONTOSO.LOCAL")).realm, "CONTOSO.LOCAL");
        // A bare name is in the default realm, as kinit takes it; without one, it is an error.
        let with_default = RealmConfig::parse(
            "[libdefaults]\n default_realm = CONTOSO.LOCAL\n[realms]\nCONTOSO.LOCAL = {\n kdc = dc1\n}\n",
        )
        .unwrap();
        assert_eq!(
            with_default
                .login_principal("bob", None)
                .unwrap()
                .to_string(),
            "bob@CONTOSO.LOCAL"
        );
        assert!(config.login_principal("bob", None).is_err());
        // Without an Entra realm configured, a UPN without a realm is taken as written.
        let bare = RealmConfig::parse("").unwrap();
        assert_eq!(
            bare.login_principal("alice@contoso.com", None)
                .unwrap()
                .realm,
            "contoso.com"
        );
    }

    /// Fedora 40's /etc/krb5.conf as shipped (RHEL 9's differs in comments only), its
    /// `includedir` pointed at a test directory.
    const FEDORA_40: &str =
        "# To opt out of the system crypto-policies configuration of krb5, remove the
# symlink at /etc/krb5.conf.d/crypto-policies which will not be recreated.
includedir DIR

[logging]
    default = FILE:/var/log/krb5libs.log
    kdc = FILE:/var/log/krb5kdc.log
    admin_server = FILE:/var/log/kadmind.log

[libdefaults]
    dns_lookup_realm = false
    ticket_lifetime = 24h
    renew_lifetime = 7d
    forwardable = true
    rdns = false
    pkinit_anchors = FILE:/etc/pki/tls/certs/ca-bundle.crt
    spake_preauth_groups = edwards25519
    dns_canonicalize_hostname = fallback
    qualify_shortname = \"\"
    default_ccache_name = KEYRING:persistent:%{uid}
# default_realm = EXAMPLE.COM

[realms]
# EXAMPLE.COM = {
#     kdc = kerberos.example.com
#     admin_server = kerberos.example.com
# }

[domain_realm]
# .example.com = EXAMPLE.COM
# example.com = EXAMPLE.COM
";

    #[test]
    fn the_first_of_equal_domain_realm_entries_wins_as_in_mit() {
        let c = RealmConfig::parse(
            "[domain_realm]\n .example.test = FIRST.TEST\n .example.test = SECOND.TEST\n \
             host.example.test = H1.TEST\n host.example.test = H2.TEST\n",
        )
        .unwrap();
        assert_eq!(c.realm_for_host("a.example.test"), Some("FIRST.TEST"));
        assert_eq!(c.realm_for_host("host.example.test"), Some("H1.TEST"));
    }

    #[test]
    fn fedora_and_rhel_configs_with_their_included_files_are_read() {
        let dir = std::env::temp_dir().join(format!("azkrb-krb5-d-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let w = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        w(
            "crypto-policies",
            "[libdefaults]\npermitted_enctypes = aes256-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192\n",
        );
        w(
            "kcm_default_ccache",
            "[libdefaults]\n    default_ccache_name = KCM:\n",
        );
        w(
            "lab.conf",
            "module /usr/lib64/krb5/plugins/preauth/spake.so:x\n[libdefaults]\n default_realm = LAB.TEST\n[realms]\n LAB.TEST = {\n  kdc = 127.0.0.1:18088\n }\n[domain_realm]\n .lab.test = LAB.TEST\n",
        );
        // Not read, by MIT's rule: a dot in the name other than .conf, a leading dot.
        w("lab.conf.rpmsave", "this is not krb5.conf syntax\n");
        w(".hidden", "neither is this\n");
        let main = FEDORA_40.replace("DIR", &dir.display().to_string());
        let c = RealmConfig::parse(&main).unwrap();
        assert_eq!(c.default_realm.as_deref(), Some("LAB.TEST"));
        assert_eq!(c.renew_lifetime, Some(7 * 86400));
        // The included file is read first (its includedir is the first line), and its value
        // wins, as in MIT: Fedora's KCM default.
        assert_eq!(c.default_ccache_name.as_deref(), Some("KCM:"));
        assert_eq!(c.kdcs["LAB.TEST"].len(), 1);
        assert_eq!(c.realm_for_host("acct.lab.test"), Some("LAB.TEST"));

        // include of one file, from a file on disk; errors name the file and line.
        let top = dir.join("top");
        std::fs::write(
            &top,
            format!(
                "include {}\n[realms]\nbroken line\n",
                dir.join("lab.conf").display()
            ),
        )
        .unwrap();
        let e = RealmConfig::load(&top.display().to_string()).unwrap_err();
        assert!(
            e.to_string().contains(&format!("{}:3:", top.display())),
            "{e}"
        );
        // Relative paths and loops are errors, not guesses or hangs.
        assert!(RealmConfig::parse("include lab.conf\n").is_err());
        std::fs::write(&top, format!("include {}\n", top.display())).unwrap();
        let e = RealmConfig::load(&top.display().to_string()).unwrap_err();
        assert!(e.to_string().contains("too deep"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
