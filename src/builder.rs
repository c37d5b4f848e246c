//! [`Builder`]: the settings of an [`AzureFiles`] client, each with a default, checked once
//! by [`Builder::build`]; and [`Tgt`], where the ticket-granting ticket comes from.

use std::time::Duration;

use azkrb_cloudtgt::{Client, RealmConfig, TransportOptions};
use azkrb_smb3::Cipher;
use azkrb_smb3::msg::NegotiateOptions;

use crate::{AzureFiles, Error};

/// Where the ticket-granting ticket comes from: a credential cache, a password, or a TGT
/// in hand (azkrb-cloudtgt's [`TgtSource`](azkrb_cloudtgt::TgtSource); its client holds the
/// TGT and fetches it again near its end).
pub use azkrb_cloudtgt::TgtSource as Tgt;

/// Settings for [`AzureFiles`]; every one has a default.
#[derive(Debug)]
pub struct Builder {
    pub(crate) krb5_conf: Option<String>,
    pub(crate) realm_kdcs: Vec<(String, Vec<String>)>,
    pub(crate) domain_realms: Vec<(String, String)>,
    pub(crate) tenant: Option<String>,
    pub(crate) kdc_proxy: Option<String>,
    pub(crate) ca_file: Option<String>,
    pub(crate) kdc_timeout: Duration,
    pub(crate) spn_host: Option<String>,
    pub(crate) oauth: Option<azkrb_cloudtgt::oauth::TokenSource>,
    pub(crate) oauth_endpoint: Option<String>,
    pub(crate) tgt: Tgt,
    pub(crate) connections: Option<crate::Connections>,
    pub(crate) smb: SmbSettings,
}

/// What [`AzureFiles`] keeps of the settings: how it reaches and secures SMB sessions (the
/// Kerberos settings live in its Kerberos client).
#[derive(Debug, Clone)]
pub(crate) struct SmbSettings {
    pub(crate) port: u16,
    pub(crate) connect_to: Option<String>,
    pub(crate) ciphers: Vec<Cipher>,
    pub(crate) timeout: Duration,
    pub(crate) require_encryption: bool,
    pub(crate) smb30: bool,
    /// How long a dropped connection is tried again.
    pub(crate) reconnect_for: Duration,
    /// ECHO after this much silence; dead when unanswered `.1` later.
    pub(crate) keepalive: (Duration, Duration),
    /// A session is re-authenticated this long before its ticket ends (zero: not before).
    pub(crate) refresh_margin: Duration,
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
            spn_host: None,
            oauth: None,
            oauth_endpoint: None,
            tgt: Tgt::Ccache(None),
            connections: None,
            smb: SmbSettings {
                port: 445,
                connect_to: None,
                ciphers: NegotiateOptions::default().ciphers,
                timeout: Duration::from_secs(60),
                require_encryption: true,
                smb30: false,
                reconnect_for: Duration::from_secs(60),
                keepalive: (Duration::from_secs(30), Duration::from_secs(30)),
                refresh_margin: Duration::from_secs(300),
            },
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

    /// Ask for every share's ticket as `cifs/<host>` (the SPN registered for a custom DNS
    /// name). Without it, a private endpoint's name asks for the canonical
    /// `cifs/<account>.file.core.windows.net` first, its own SPN after
    /// ([`azkrb_cloudtgt::spn`]).
    pub fn spn_host(mut self, host: impl Into<String>) -> Self {
        self.spn_host = Some(host.into());
        self
    }

    /// Open shares with SMB OAuth: a bearer token for Azure Storage from `source`, which the
    /// storage account exchanges for the share's ticket (no TGT, no KDC).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), azkrb::Error> {
    /// let files = azkrb::AzureFiles::builder().managed_identity(None).build()?;
    /// let share = files.open("//acct.file.core.windows.net/data").await?;
    /// # Ok(()) }
    /// ```
    pub fn oauth(mut self, source: azkrb_cloudtgt::oauth::TokenSource) -> Self {
        self.oauth = Some(source);
        self
    }

    /// SMB OAuth with the VM's managed identity (a user-assigned one by `id`; the
    /// system-assigned one with `None`), from IMDS.
    pub fn managed_identity(self, id: Option<azkrb_cloudtgt::oauth::IdentityId>) -> Self {
        self.oauth(azkrb_cloudtgt::oauth::TokenSource::ManagedIdentity {
            endpoint: azkrb_cloudtgt::oauth::IMDS_ENDPOINT.into(),
            id,
        })
    }

    /// SMB OAuth with the workload identity the environment describes
    /// (`AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID`,
    /// `AZURE_AUTHORITY_HOST`).
    pub fn workload_identity(self) -> Result<Self, Error> {
        Ok(self.oauth(azkrb_cloudtgt::oauth::TokenSource::workload_from_env()?))
    }

    /// SMB OAuth with a token given (for `https://storage.azure.com`).
    pub fn bearer_token(self, token: &str) -> Result<Self, Error> {
        Ok(self.oauth(azkrb_cloudtgt::oauth::TokenSource::Given(
            azkrb_cloudtgt::oauth::Token::new(token, None)?,
        )))
    }

    /// The kerbticket endpoint, `{host}` standing for the share's host (default
    /// `https://{host}`, the storage account itself; another for tests or a proxy).
    pub fn oauth_endpoint(mut self, template: impl Into<String>) -> Self {
        self.oauth_endpoint = Some(template.into());
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
        self.smb.port = port;
        self
    }

    /// Connects to this address instead of resolving the share's host (the ticket is still
    /// for `cifs/<host>`): for tests, tunnels and private endpoints.
    pub fn connect_to(mut self, addr: impl Into<String>) -> Self {
        self.smb.connect_to = Some(addr.into());
        self
    }

    /// The ciphers offered, in preference order (default: AES-256-GCM, AES-128-GCM,
    /// AES-256-CCM, AES-128-CCM).
    pub fn ciphers(mut self, ciphers: Vec<Cipher>) -> Self {
        self.smb.ciphers = ciphers;
        self
    }

    /// How long a share keeps trying to reconnect after its connection dropped, backing
    /// off with jitter (default 60 s: how long servers keep a durable open by default).
    pub fn reconnect_for(mut self, time: Duration) -> Self {
        self.smb.reconnect_for = time;
        self
    }

    /// How long before its ticket ends an open share's session is re-authenticated with a
    /// fresh ticket, in the background, while transfers go on (default 5 minutes; at most a
    /// third of the ticket's life; a random part of a fifth of it earlier still, so that
    /// many clients do not all ask at once). The fresh ticket comes from a TGT renewed or
    /// read again from its cache, or from SMB OAuth. `Duration::ZERO` turns it off: the
    /// session is then re-authenticated only after the server said it expired.
    ///
    /// ```
    /// let files = azkrb::AzureFiles::builder()
    ///     .refresh_margin(std::time::Duration::from_secs(600))
    ///     .build();
    /// ```
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.smb.refresh_margin = margin;
        self
    }

    /// An ECHO after `every` without a word from the server; the connection is taken for
    /// dead (and a share reconnects) when it goes unanswered `dead_after` (default 30 s
    /// and 30 s).
    pub fn smb_keepalive(mut self, every: Duration, dead_after: Duration) -> Self {
        self.smb.keepalive = (every, dead_after);
        self
    }

    /// Time allowed for each SMB request (default 60 s).
    pub fn smb_timeout(mut self, timeout: Duration) -> Self {
        self.smb.timeout = timeout;
        self
    }

    /// Also offer SMB 3.0.2 and 3.0, for servers without 3.1.1 (default: false, 3.1.1 only,
    /// whose preauth integrity protects the negotiation). When one of them is chosen, the
    /// choice is validated after TREE_CONNECT (FSCTL_VALIDATE_NEGOTIATE_INFO): a downgrade
    /// on the path fails there.
    pub fn smb30(mut self, yes: bool) -> Self {
        self.smb.smb30 = yes;
        self
    }

    /// Refuse sessions the server does not encrypt (default: true, as Azure Files requires).
    pub fn require_encryption(mut self, yes: bool) -> Self {
        self.smb.require_encryption = yes;
        self
    }

    /// Shares SMB connections and sessions with other clients built with the same
    /// [`crate::Connections`] (one connection per server, a session per client on it);
    /// by default a client has its own. [`AzureFiles::for_user`] shares them too.
    pub fn connections(mut self, connections: crate::Connections) -> Self {
        self.connections = Some(connections);
        self
    }

    /// Checks the settings and builds the client (no network traffic yet).
    pub fn build(self) -> Result<AzureFiles, Error> {
        let usage = |e: azkrb_cloudtgt::Error| Error::Usage(e.to_string());
        let mut config = RealmConfig::discover(self.krb5_conf.as_deref())?;
        for (realm, kdcs) in &self.realm_kdcs {
            config.set_kdcs(realm, kdcs).map_err(usage)?;
        }
        for (domain, realm) in &self.domain_realms {
            config.map_domain(domain, realm);
        }
        if let Some(t) = &self.tenant {
            config = config.with_entra_tenant(t).map_err(usage)?;
        }
        if let Some(url) = &self.kdc_proxy {
            config = config.with_kdc_proxy(url).map_err(usage)?;
        }
        if self.smb.ciphers.is_empty() && self.smb.require_encryption {
            return Err(Error::Usage(
                "no ciphers offered, but encryption is required".into(),
            ));
        }
        let kerberos = Client::new(
            config,
            &TransportOptions {
                ca_file: self.ca_file.clone(),
                timeout: self.kdc_timeout,
                ..TransportOptions::default()
            },
        )?
        .with_tgt_source(self.tgt)
        .with_spn_host(self.spn_host);
        Ok(AzureFiles::with_oauth(
            kerberos,
            self.smb,
            self.connections.unwrap_or_default(),
            self.oauth
                .map(|source| crate::oauth::OAuth::new(source, self.oauth_endpoint)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use zeroize::Zeroizing;

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
