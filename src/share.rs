//! The one-call API: configure Kerberos once, then open `//host/share` and get a share.
//!
//! ```no_run
//! # async fn demo() -> Result<(), azkrb::Error> {
//! use azkrb::{AzureFiles, Tgt};
//! let files = AzureFiles::builder()
//!     .entra_tenant("00000000-1111-2222-3333-444444444444")
//!     .tgt(Tgt::Ccache(None)) // KRB5CCNAME, as written by `mount-share login` or kinit
//!     .build()?;
//! let share = files.open("//myaccount.file.core.windows.net/data").await?;
//! for entry in share.tree().list("reports").await? {
//!     println!("{}", entry.name);
//! }
//! # Ok(()) }
//! ```

use std::time::Duration;

use azkrb_cloudtgt::ccache::{self, Ccache};
use azkrb_cloudtgt::{Client, Credential, RealmConfig, TransportOptions};
use azkrb_smb3::msg::NegotiateOptions;
use azkrb_smb3::{Cipher, Connection, Security, Session, Tree};
use zeroize::Zeroizing;

use crate::KerberosAuth;

/// What went wrong, by layer.
#[derive(Debug)]
pub enum Error {
    /// A setting or argument is unusable (the message says which and why).
    Usage(String),
    /// Getting a ticket failed (KDC, KDC proxy, credential cache, keytab).
    Kerberos(azkrb_cloudtgt::Error),
    /// The SMB connection, session or an operation on the share failed.
    Smb(azkrb_smb3::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) => f.write_str(m),
            Error::Kerberos(e) => write!(f, "Kerberos: {e}"),
            Error::Smb(e) => write!(f, "SMB: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Usage(_) => None,
            Error::Kerberos(e) => Some(e),
            Error::Smb(e) => Some(e),
        }
    }
}

impl From<azkrb_cloudtgt::Error> for Error {
    fn from(e: azkrb_cloudtgt::Error) -> Self {
        Error::Kerberos(e)
    }
}

impl From<azkrb_smb3::Error> for Error {
    fn from(e: azkrb_smb3::Error) -> Self {
        Error::Smb(e)
    }
}

/// `//host/share/path` or `\\host\share\path`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncPath {
    /// The server's DNS name (the `cifs/` service principal's host), lower-cased.
    pub host: String,
    /// The share name.
    pub share: String,
    /// The path inside the share, `/`-separated, without leading or trailing separators
    /// (empty for the share's root).
    pub path: String,
}

impl UncPath {
    /// Parses a UNC path in either slash style (mixed separators are accepted).
    ///
    /// ```
    /// let p = azkrb::UncPath::parse(r"\\acct.file.core.windows.net\data\a\b.txt").unwrap();
    /// assert_eq!((p.host.as_str(), p.share.as_str(), p.path.as_str()),
    ///            ("acct.file.core.windows.net", "data", "a/b.txt"));
    /// ```
    pub fn parse(unc: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Usage(format!("{unc:?} is not //host/share[/path]: {why}"));
        let normal = unc.replace('\\', "/");
        let rest = normal
            .strip_prefix("//")
            .ok_or_else(|| bad("it must start with // or \\\\"))?;
        let mut parts = rest.splitn(3, '/');
        let host = parts.next().unwrap_or_default();
        let share = parts.next().unwrap_or_default();
        let path = parts.next().unwrap_or_default();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if host.contains(|c: char| c.is_whitespace() || c == ':' || c == '@') {
            return Err(bad("the host must be a plain DNS name"));
        }
        if share.is_empty() {
            return Err(bad("no share"));
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.iter().any(|s| *s == "." || *s == "..") {
            return Err(bad("'.' and '..' are not allowed in the path"));
        }
        Ok(Self {
            host: host.to_ascii_lowercase(),
            share: share.to_string(),
            path: segments.join("/"),
        })
    }
}

/// Where the ticket-granting ticket comes from.
pub enum Tgt {
    /// An MIT-format credential cache: `None` is `KRB5CCNAME` (or MIT's default), `Some`
    /// a `FILE:` name or path. Its TGT is used as it is.
    Ccache(Option<String>),
    /// Log in with a password (AS exchange with pre-authentication).
    Password {
        /// `user@REALM`, or a UPN such as `alice@contoso.com` (an enterprise name: in `realm`
        /// when set, else in the Entra realm when configured).
        principal: String,
        /// The realm, when `principal` carries none or is a UPN.
        realm: Option<String>,
        /// The password (zeroized when dropped).
        password: Zeroizing<String>,
    },
    /// An existing TGT (for example from `azkrb_cloudtgt::cloud::tgt_cloud`).
    Credential(Box<Credential>),
}

impl std::fmt::Debug for Tgt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tgt::Ccache(name) => f.debug_tuple("Ccache").field(name).finish(),
            Tgt::Password {
                principal, realm, ..
            } => f
                .debug_struct("Password")
                .field("principal", principal)
                .field("realm", realm)
                .field("password", &"<redacted>")
                .finish_non_exhaustive(),
            Tgt::Credential(c) => f.debug_tuple("Credential").field(&c.client).finish(),
        }
    }
}

/// Settings for [`AzureFiles`]; every one has a default.
#[derive(Debug)]
pub struct Builder {
    krb5_conf: Option<String>,
    realm_kdcs: Vec<(String, Vec<String>)>,
    domain_realms: Vec<(String, String)>,
    tenant: Option<String>,
    kdc_proxy: Option<String>,
    ca_file: Option<String>,
    kdc_timeout: Duration,
    tgt: Tgt,
    smb_port: u16,
    connect_to: Option<String>,
    ciphers: Vec<Cipher>,
    smb_timeout: Duration,
    require_encryption: bool,
    smb30: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            krb5_conf: None,
            realm_kdcs: Vec::new(),
            domain_realms: Vec::new(),
            tenant: None,
            kdc_proxy: None,
            ca_file: None,
            kdc_timeout: TransportOptions::default().timeout,
            tgt: Tgt::Ccache(None),
            smb_port: 445,
            connect_to: None,
            ciphers: NegotiateOptions::default().ciphers,
            smb_timeout: Duration::from_secs(60),
            require_encryption: true,
            smb30: false,
        }
    }
}

impl Builder {
    /// A krb5.conf (`[realms]`, `[domain_realm]`); default: `KRB5_CONFIG`, then
    /// `/etc/krb5.conf` if it exists, else none (Entra defaults only).
    pub fn krb5_conf(mut self, path: impl Into<String>) -> Self {
        self.krb5_conf = Some(path.into());
        self
    }

    /// The KDCs of `realm` (`host[:port]`, `tcp/host:port` or an `https://` KDC proxy URL),
    /// replacing the krb5.conf's.
    pub fn realm_kdcs(mut self, realm: impl Into<String>, kdcs: Vec<String>) -> Self {
        self.realm_kdcs.push((realm.into(), kdcs));
        self
    }

    /// Maps a host, or a `.domain` suffix, to `realm`, replacing the krb5.conf's entry for
    /// the same name.
    pub fn domain_realm(mut self, domain: impl Into<String>, realm: impl Into<String>) -> Self {
        self.domain_realms.push((domain.into(), realm.into()));
        self
    }

    /// Adds the Entra Kerberos defaults for a tenant: the realm
    /// `KERBEROS.MICROSOFTONLINE.COM` through `https://login.microsoftonline.com/<tenant>/kerberos`,
    /// and `.file.core.windows.net` mapped to it (entries of the krb5.conf win).
    pub fn entra_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// The KDC proxy (`https://…`) for the Entra realm `KERBEROS.MICROSOFTONLINE.COM`,
    /// replacing any configured one; `.file.core.windows.net` is mapped to that realm unless
    /// already mapped.
    pub fn kdc_proxy(mut self, url: impl Into<String>) -> Self {
        self.kdc_proxy = Some(url.into());
        self
    }

    /// Extra CA certificates (PEM) trusted for KDC proxies, besides the system roots. A realm
    /// with `http_anchors` in the krb5.conf trusts only those anchors for its proxies, as
    /// MIT krb5 does.
    pub fn ca_file(mut self, path: impl Into<String>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Time allowed per KDC (default 10 s).
    pub fn kdc_timeout(mut self, timeout: Duration) -> Self {
        self.kdc_timeout = timeout;
        self
    }

    /// Where the TGT comes from (default: the ccache `KRB5CCNAME` names).
    pub fn tgt(mut self, tgt: Tgt) -> Self {
        self.tgt = tgt;
        self
    }

    /// The SMB port (default 445).
    pub fn smb_port(mut self, port: u16) -> Self {
        self.smb_port = port;
        self
    }

    /// Connects to this address instead of resolving the share's host (the ticket is still
    /// for `cifs/<host>`): for tests, tunnels and private endpoints.
    pub fn connect_to(mut self, addr: impl Into<String>) -> Self {
        self.connect_to = Some(addr.into());
        self
    }

    /// The ciphers offered, in preference order (default: AES-256-GCM, AES-128-GCM,
    /// AES-256-CCM, AES-128-CCM).
    pub fn ciphers(mut self, ciphers: Vec<Cipher>) -> Self {
        self.ciphers = ciphers;
        self
    }

    /// Time allowed for each SMB request (default 60 s).
    pub fn smb_timeout(mut self, timeout: Duration) -> Self {
        self.smb_timeout = timeout;
        self
    }

    /// Also offer SMB 3.0.2 and 3.0, for servers without 3.1.1 (default: false, 3.1.1 only,
    /// whose preauth integrity protects the negotiation). When one of them is chosen, the
    /// choice is validated after TREE_CONNECT (FSCTL_VALIDATE_NEGOTIATE_INFO): a downgrade
    /// on the path fails there.
    pub fn smb30(mut self, yes: bool) -> Self {
        self.smb30 = yes;
        self
    }

    /// Refuse sessions the server does not encrypt (default: true, as Azure Files requires).
    pub fn require_encryption(mut self, yes: bool) -> Self {
        self.require_encryption = yes;
        self
    }

    /// Checks the settings and builds the client (no network traffic yet).
    pub fn build(self) -> Result<AzureFiles, Error> {
        let path = self
            .krb5_conf
            .clone()
            .or_else(|| std::env::var("KRB5_CONFIG").ok().filter(|v| !v.is_empty()))
            .or_else(|| {
                std::path::Path::new("/etc/krb5.conf")
                    .exists()
                    .then(|| "/etc/krb5.conf".to_string())
            });
        let mut config = match &path {
            Some(p) => RealmConfig::load(p)?,
            None => RealmConfig::parse("")?,
        };
        for (realm, kdcs) in &self.realm_kdcs {
            let parsed = kdcs
                .iter()
                .map(|k| azkrb_cloudtgt::config::KdcAddress::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Usage(format!("realm {realm}: {e}")))?;
            if parsed.is_empty() {
                return Err(Error::Usage(format!("realm {realm}: no KDC given")));
            }
            config.kdcs.insert(realm.clone(), parsed);
        }
        for (domain, realm) in &self.domain_realms {
            let domain = domain.to_ascii_lowercase();
            config.domain_realm.retain(|(d, _)| *d != domain);
            config.domain_realm.push((domain, realm.clone()));
        }
        if let Some(t) = &self.tenant {
            config = config
                .with_entra_tenant(t)
                .map_err(|e| Error::Usage(e.to_string()))?;
        }
        if let Some(url) = &self.kdc_proxy {
            use azkrb_cloudtgt::config::{AZURE_FILES_SUFFIX, ENTRA_REALM, KdcAddress};
            if !url.starts_with("https://") {
                return Err(Error::Usage(format!(
                    "KDC proxy {url:?}: expected an https:// URL"
                )));
            }
            config
                .kdcs
                .insert(ENTRA_REALM.to_string(), vec![KdcAddress::parse(url)?]);
            if !config
                .domain_realm
                .iter()
                .any(|(d, _)| d == AZURE_FILES_SUFFIX)
            {
                config
                    .domain_realm
                    .push((AZURE_FILES_SUFFIX.to_string(), ENTRA_REALM.to_string()));
            }
        }
        if self.ciphers.is_empty() && self.require_encryption {
            return Err(Error::Usage(
                "no ciphers offered, but encryption is required".into(),
            ));
        }
        let kerberos = Client::new(
            config,
            &TransportOptions {
                ca_file: self.ca_file.clone(),
                timeout: self.kdc_timeout,
            },
        )?;
        Ok(AzureFiles {
            kerberos,
            tgt: tokio::sync::Mutex::new(None),
            settings: self,
        })
    }
}

/// A configured client: Kerberos settings, the TGT's source, SMB settings. Open shares with
/// [`AzureFiles::open`]; service tickets are cached across opens.
#[derive(Debug)]
pub struct AzureFiles {
    kerberos: Client,
    tgt: tokio::sync::Mutex<Option<Credential>>,
    settings: Builder,
}

/// An open share: the connection, the session and the tree, kept together.
#[derive(Debug, Clone)]
pub struct Share {
    conn: Connection,
    session: Session,
    tree: Tree,
    unc: UncPath,
    /// Whom the session authenticated (re-authentication must be the same principal).
    client: String,
}

impl Share {
    /// The share's file operations (read, write, list, stat, …).
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The authenticated session (for opening further shares on the same server).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// What was negotiated: dialect, cipher, limits.
    pub fn negotiated(&self) -> &azkrb_smb3::msg::NegotiateResponse {
        &self.conn.negotiated
    }

    /// The UNC path opened (its `path` part is what [`AzureFiles::open`] was given).
    pub fn unc(&self) -> &UncPath {
        &self.unc
    }

    /// Disconnects the tree and logs the session off.
    pub async fn close(self) -> Result<(), Error> {
        let tree = self.tree.disconnect().await;
        let session = self.session.logoff().await;
        // A session whose ticket ended is over anyway (LOGOFF is allowed; the rest is not).
        let expired = |r: &Result<(), azkrb_smb3::Error>| {
            matches!(
                r,
                Err(azkrb_smb3::Error::Status {
                    status: azkrb_smb3::NtStatus::NETWORK_SESSION_EXPIRED,
                    ..
                })
            )
        };
        if !expired(&tree) {
            tree?;
        }
        session?;
        Ok(())
    }
}

impl AzureFiles {
    /// Starts the settings.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The Kerberos client (realm routing, ticket cache, transport).
    pub fn kerberos(&self) -> &Client {
        &self.kerberos
    }

    /// The TGT, from its source on first use and then kept (a ccache is read once).
    pub async fn tgt(&self) -> Result<Credential, Error> {
        let mut held = self.tgt.lock().await;
        if let Some(t) = held.as_ref() {
            return Ok(t.clone());
        }
        let tgt = match &self.settings.tgt {
            Tgt::Ccache(name) => {
                let path = match name {
                    Some(n) => ccache::path_of(n)?,
                    None => ccache::default_path()?,
                };
                Ccache::load(&path)?.tgt().ok_or_else(|| {
                    Error::Usage(format!(
                        "{path}: no ticket-granting ticket in this credential cache \
                         (log in first, e.g. `mount-share login`)"
                    ))
                })?
            }
            Tgt::Password {
                principal,
                realm,
                password,
            } => {
                let p = self
                    .kerberos
                    .config()
                    .login_principal(principal, realm.as_deref())?;
                self.kerberos.login_password(&p, password).await?
            }
            Tgt::Credential(c) => (**c).clone(),
        };
        *held = Some(tgt.clone());
        Ok(tgt)
    }

    /// A service ticket for `cifs/<host>`, from the cache or the KDC (through the realm
    /// `[domain_realm]` routes the host to).
    pub async fn cifs_ticket(&self, host: &str) -> Result<Credential, Error> {
        let tgt = self.tgt().await?;
        Ok(self.kerberos.cifs_ticket(&tgt, host).await?)
    }

    /// Re-authenticates `share`'s session with a fresh `cifs/<host>` ticket, before the old
    /// one ends or after the server answered STATUS_NETWORK_SESSION_EXPIRED; open handles and
    /// the tree stay valid. A TGT from a credential cache that has expired is read again from
    /// the cache (after `mount-share login`, say).
    pub async fn reauthenticate(&self, share: &Share) -> Result<(), Error> {
        {
            let mut held = self.tgt.lock().await;
            let now = azkrb_asn1::KerberosTime::now();
            // Near its end (clocks differ by seconds): read the source again.
            if held
                .as_ref()
                .is_some_and(|t| t.remaining(now) <= azkrb_cloudtgt::client::REFRESH_MARGIN_SECONDS)
            {
                *held = None;
            }
        }
        // Another principal would make the server drop the session and its open files.
        let tgt = self.tgt().await?;
        if tgt.client.to_string() != share.client {
            return Err(Error::Usage(format!(
                "the credential cache now holds {}'s TGT, but //{}/{} was opened as {}: log \
                 in as {} to keep it",
                tgt.client, share.unc.host, share.unc.share, share.client, share.client
            )));
        }
        let ticket = self.cifs_ticket(&share.unc.host).await?;
        let mut auth = KerberosAuth::new(ticket)?;
        Ok(share.session.reauthenticate(&mut auth).await?)
    }

    /// Connects to `//host/share` (any path part is kept in [`Share::unc`]): service ticket,
    /// NEGOTIATE, Kerberos SESSION_SETUP, TREE_CONNECT.
    pub async fn open(&self, unc: &str) -> Result<Share, Error> {
        let host = UncPath::parse(unc)?.host;
        let addr = self
            .settings
            .connect_to
            .clone()
            .unwrap_or_else(|| format!("{host}:{}", self.settings.smb_port));
        self.open_at(unc, &addr).await
    }

    /// [`open`](Self::open), connecting to `addr` (`host:port`) whatever the settings say;
    /// the ticket is still for `cifs/<host of unc>` (e.g. an address found by the caller's
    /// own name resolution).
    pub async fn open_at(&self, unc: &str, addr: &str) -> Result<Share, Error> {
        let unc = UncPath::parse(unc)?;
        let ticket = self.cifs_ticket(&unc.host).await?;
        let client = ticket.client.to_string();
        let mut opts = NegotiateOptions {
            ciphers: self.settings.ciphers.clone(),
            server_name: unc.host.clone(),
            ..Default::default()
        };
        if self.settings.smb30 {
            opts.dialects
                .extend([azkrb_smb3::Dialect::Smb302, azkrb_smb3::Dialect::Smb30]);
        }
        let conn = Connection::connect(addr, &opts, self.settings.smb_timeout).await?;
        let mut auth = KerberosAuth::new(ticket)?;
        let session = Session::setup(
            &conn,
            &mut auth,
            Security {
                require_encryption: self.settings.require_encryption,
                always_encrypt: false,
            },
        )
        .await?;
        let tree = session.tree_connect(&unc.host, &unc.share).await?;
        Ok(Share {
            conn,
            session,
            tree,
            unc,
            client,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_paths_in_both_styles() {
        for s in [
            "//Acct.file.core.windows.net/data/a/b.txt",
            r"\\acct.file.core.windows.net\data\a\b.txt",
            r"\\acct.file.core.windows.net/data\a//b.txt/",
        ] {
            let p = UncPath::parse(s).unwrap();
            assert_eq!(p.host, "acct.file.core.windows.net");
            assert_eq!(p.share, "data");
            assert_eq!(p.path, "a/b.txt");
        }
        let root = UncPath::parse("//h/s").unwrap();
        assert_eq!(root.path, "");
    }

    #[test]
    fn bad_unc_paths_are_usage_errors() {
        for s in [
            "",
            "h/s",
            "//",
            "///s",
            "//h",
            "//h/",
            "//h:445/s",
            "//user@h/s",
            "//h/s/../x",
            "//h/s/./x",
        ] {
            match UncPath::parse(s) {
                Err(Error::Usage(m)) => assert!(m.contains("//host/share"), "{m}"),
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn passwords_are_not_in_debug_output() {
        let t = Tgt::Password {
            principal: "alice@EXAMPLE".into(),
            realm: None,
            password: Zeroizing::new("hunter2".into()),
        };
        let s = format!("{t:?}");
        assert!(!s.contains("hunter2") && s.contains("redacted"), "{s}");
    }

    #[test]
    fn no_cipher_with_encryption_required_is_refused() {
        let e = AzureFiles::builder()
            .krb5_conf("/dev/null")
            .ciphers(Vec::new())
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e}");
    }

    #[test]
    fn programmatic_realms_and_domains_win_over_krb5_conf_and_tenant() {
        let dir = std::env::temp_dir().join(format!("azkrb-builder-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("krb5.conf");
        std::fs::write(
            &conf,
            "[realms]\nKERBEROS.MICROSOFTONLINE.COM = {\n kdc = https://old.example/kerberos\n}\n\
             [domain_realm]\nacct.file.core.windows.net = OLD.REALM\n",
        )
        .unwrap();
        let files = AzureFiles::builder()
            .krb5_conf(conf.to_str().unwrap())
            .realm_kdcs(
                "KERBEROS.MICROSOFTONLINE.COM",
                vec!["https://new.example/t/kerberos".into()],
            )
            .realm_kdcs("CONTOSO.LOCAL", vec!["dc1.contoso.local:88".into()])
            .domain_realm("ACCT.file.core.windows.net", "CONTOSO.LOCAL")
            .entra_tenant("tenant-1")
            .build()
            .unwrap();
        let c = files.kerberos().config();
        assert_eq!(
            c.kdcs_for("KERBEROS.MICROSOFTONLINE.COM").unwrap()[0],
            azkrb_cloudtgt::config::KdcAddress::parse("https://new.example/t/kerberos").unwrap()
        );
        assert_eq!(c.kdcs_for("CONTOSO.LOCAL").unwrap().len(), 1);
        assert_eq!(
            c.realm_for_host("acct.file.core.windows.net"),
            Some("CONTOSO.LOCAL")
        );
        assert_eq!(
            c.realm_for_host("other.file.core.windows.net"),
            Some("KERBEROS.MICROSOFTONLINE.COM")
        );
        let e = AzureFiles::builder()
            .krb5_conf(conf.to_str().unwrap())
            .realm_kdcs("EMPTY.REALM", vec![])
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("EMPTY.REALM"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn kdc_proxy_must_be_https() {
        let e = AzureFiles::builder()
            .krb5_conf("/dev/null")
            .kdc_proxy("http://example/kerberos")
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e}");
        let ok = AzureFiles::builder()
            .krb5_conf("/dev/null")
            .kdc_proxy("https://proxy.example/t/kerberos")
            .build()
            .unwrap();
        let c = ok.kerberos().config();
        assert_eq!(
            c.realm_for_host("acct.file.core.windows.net"),
            Some("KERBEROS.MICROSOFTONLINE.COM")
        );
        assert_eq!(
            c.kdcs_for("KERBEROS.MICROSOFTONLINE.COM").unwrap(),
            &[azkrb_cloudtgt::config::KdcAddress::Https(
                "https://proxy.example/t/kerberos".into()
            )]
        );
    }

    #[test]
    fn missing_krb5_conf_is_a_kerberos_error() {
        let e = AzureFiles::builder()
            .krb5_conf("/nonexistent/krb5.conf")
            .build()
            .unwrap_err();
        assert!(matches!(e, Error::Kerberos(_)), "{e}");
    }
}
