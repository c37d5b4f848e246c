//! The TOML configuration file: settings below flags and environment variables, above the
//! krb5.conf.
//!
//! ```toml
//! # ~/.config/azkrb/config.toml (or --config FILE, or AZKRB_CONFIG)
//! tenant = "00000000-1111-2222-3333-444444444444"
//! ca_file = "corp-ca.pem"            # relative paths are relative to this file
//! cipher = ["aes-256-gcm"]
//!
//! [realms."CONTOSO.LOCAL"]
//! kdc = ["dc1.contoso.local", "https://kdcproxy.contoso.com/KdcProxy"]
//!
//! [domain_realm]
//! "acctad.file.core.windows.net" = "CONTOSO.LOCAL"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a config file may say; unknown keys are errors (a typo should not be ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Entra tenant id.
    pub tenant: Option<String>,
    /// KDC proxy URL of the Entra realm.
    pub kdc_proxy: Option<String>,
    /// Extra CA certificates (PEM).
    pub ca_file: Option<String>,
    /// krb5.conf to read.
    pub krb5_conf: Option<String>,
    /// Credential cache.
    pub ccache: Option<String>,
    /// SMB port.
    pub port: Option<u16>,
    /// host:port to connect to.
    pub address: Option<String>,
    /// Ciphers in preference order.
    pub cipher: Option<Vec<String>>,
    /// KDCs per realm.
    #[serde(default)]
    pub realms: BTreeMap<String, RealmEntry>,
    /// Hosts or `.domain` suffixes mapped to realms.
    #[serde(default)]
    pub domain_realm: BTreeMap<String, String>,
}

/// One realm's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealmEntry {
    /// `host[:port]`, `tcp/host:port` or `https://` KDC proxy URLs, in order.
    pub kdc: Vec<String>,
}

/// The file used when none is named: `$XDG_CONFIG_HOME/azkrb/config.toml`, else
/// `~/.config/azkrb/config.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("azkrb").join("config.toml"))
}

/// Reads and checks a config file; errors are one line, with the line number for syntax
/// errors.
pub fn load(path: &Path) -> Result<FileConfig, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| format!("config file {shown}: {e}"))?;
    let mut config: FileConfig = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let what = e.message().replace('\n', " ");
        match line {
            Some(n) => format!("config file {shown} line {n}: {}", what.trim()),
            None => format!("config file {shown}: {}", what.trim()),
        }
    })?;
    // Relative file names are relative to the config file.
    let dir = path.parent().unwrap_or(Path::new("."));
    for p in [&mut config.ca_file, &mut config.krb5_conf]
        .into_iter()
        .flatten()
    {
        if Path::new(p.as_str()).is_relative() {
            *p = dir.join(p.as_str()).display().to_string();
        }
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("azkrb-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn settings_realms_and_relative_paths() {
        let p = write(
            "ok.toml",
            "tenant = \"t1\"\nca_file = \"ca.pem\"\nkrb5_conf = \"/etc/krb5.conf\"\nport = 4445\n\
             cipher = [\"aes-256-gcm\"]\n[realms.\"CONTOSO.LOCAL\"]\nkdc = [\"dc1:88\"]\n\
             [domain_realm]\n\".contoso.local\" = \"CONTOSO.LOCAL\"\n",
        );
        let c = load(&p).unwrap();
        assert_eq!(c.tenant.as_deref(), Some("t1"));
        assert_eq!(
            c.ca_file.as_deref(),
            Some(p.parent().unwrap().join("ca.pem").to_str().unwrap())
        );
        assert_eq!(c.krb5_conf.as_deref(), Some("/etc/krb5.conf"));
        assert_eq!(c.port, Some(4445));
        assert_eq!(c.realms["CONTOSO.LOCAL"].kdc, ["dc1:88"]);
        assert_eq!(c.domain_realm[".contoso.local"], "CONTOSO.LOCAL");
    }

    #[test]
    fn mistakes_are_one_line_errors_with_the_line() {
        let p = write("typo.toml", "tenant = \"t\"\n\ntennant = \"x\"\n");
        let e = load(&p).unwrap_err();
        assert!(e.contains("line 3") && e.contains("tennant"), "{e}");
        assert_eq!(e.lines().count(), 1);
        let p = write("syntax.toml", "port = 4445\nport = [\n");
        let e = load(&p).unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        assert_eq!(e.lines().count(), 1);
        let p = write("type.toml", "port = \"445\"\n");
        assert!(load(&p).unwrap_err().contains("line 1"));
        let missing = std::env::temp_dir().join("azkrb-no-such-config.toml");
        assert!(
            load(&missing)
                .unwrap_err()
                .contains("azkrb-no-such-config.toml")
        );
    }
}
