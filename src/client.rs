//! [`AzureFiles`]: a configured client. It holds the Kerberos client and the TGT, and
//! opens shares: one call from a UNC path to an authenticated, encrypted [`Share`].
//!
//! The call chain of [`AzureFiles::open`]: [`UncPath::parse`] → [`AzureFiles::cifs_ticket`]
//! (the TGT from its source, then a TGS exchange through the realm's KDC or KDC proxy, in
//! azkrb-cloudtgt), at the same time as `Connection::connect` (TCP and NEGOTIATE, in
//! azkrb-smb3) → `Session::setup`
//! with a [`KerberosAuth`] (SPNEGO around the AP-REQ, verified AP-REP) → `tree_connect`.

use std::sync::Arc;

use azkrb_cloudtgt::{Client, Credential};
use azkrb_smb3::msg::NegotiateOptions;
use azkrb_smb3::{Connection, Security, Session, Tree};

use crate::builder::SmbSettings;
use crate::share::Opened;
use crate::{Builder, Error, KerberosAuth, Share, UncPath};

/// A configured client: Kerberos settings, the TGT's source, SMB settings. Open shares with
/// [`AzureFiles::open`]; service tickets are cached across opens. Cloning is cheap and
/// shares the TGT and the ticket cache.
///
/// ```no_run
/// # async fn demo() -> Result<(), azkrb::Error> {
/// use azkrb::{AzureFiles, Tgt};
/// let files = AzureFiles::builder()
///     .entra_tenant("00000000-1111-2222-3333-444444444444")
///     .tgt(Tgt::Ccache(None)) // KRB5CCNAME, as written by `mount-share login` or kinit
///     .build()?;
/// let share = files.open("//myaccount.file.core.windows.net/data").await?;
/// for entry in share.tree().list("reports").await? {
///     println!("{}", entry.name);
/// }
/// share.close().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AzureFiles {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    kerberos: Client,
    smb: SmbSettings,
}

impl AzureFiles {
    pub(crate) fn new(kerberos: Client, smb: SmbSettings) -> Self {
        Self {
            inner: Arc::new(Inner { kerberos, smb }),
        }
    }

    /// Starts the settings.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The Kerberos client (realm routing, ticket cache, transport).
    pub fn kerberos(&self) -> &Client {
        &self.inner.kerberos
    }

    /// The TGT: the one held by the Kerberos client while it has more than five minutes
    /// left, else from its source (a credential cache read again, a password login again).
    pub async fn tgt(&self) -> Result<Credential, Error> {
        Ok(self.inner.kerberos.tgt().await?)
    }

    /// Forgets the TGT held (the next [`tgt`](Self::tgt) reads its source again).
    pub(crate) fn forget_tgt(&self) {
        self.inner.kerberos.forget_tgt();
    }

    /// A service ticket for `cifs/<host>`, from the cache or the KDC (through the realm
    /// `[domain_realm]` routes the host to).
    pub async fn cifs_ticket(&self, host: &str) -> Result<Credential, Error> {
        let tgt = self.tgt().await?;
        Ok(self.inner.kerberos.cifs_ticket(&tgt, host).await?)
    }

    /// How long a share keeps trying to reconnect.
    pub(crate) fn reconnect_for(&self) -> std::time::Duration {
        self.inner.smb.reconnect_for
    }

    /// Connects to `//host/share` (any path part is kept in [`Share::unc`]): service ticket,
    /// NEGOTIATE, Kerberos SESSION_SETUP, TREE_CONNECT.
    pub async fn open(&self, unc: &str) -> Result<Share, Error> {
        let host = UncPath::parse(unc)?.host;
        let s = &self.inner.smb;
        let addr = s
            .connect_to
            .clone()
            .unwrap_or_else(|| format!("{host}:{}", s.port));
        self.open_at(unc, &addr).await
    }

    /// [`open`](Self::open), connecting to `addr` (`host:port`) whatever the settings say;
    /// the ticket is still for `cifs/<host of unc>` (e.g. an address found by the caller's
    /// own name resolution).
    pub async fn open_at(&self, unc: &str, addr: &str) -> Result<Share, Error> {
        let unc = UncPath::parse(unc)?;
        let (live, client) = self.connect(&unc, addr, None).await?;
        Ok(Share::new(Opened {
            files: self.clone(),
            live,
            unc,
            addr: addr.to_string(),
            client,
        }))
    }

    /// Service ticket, NEGOTIATE (with `client_guid` when reconnecting: the server keys
    /// durable opens by it), Kerberos SESSION_SETUP, TREE_CONNECT. Returns the tree and
    /// whom the session authenticated.
    pub(crate) async fn connect(
        &self,
        unc: &UncPath,
        addr: &str,
        client_guid: Option<[u8; 16]>,
    ) -> Result<(Tree, String), Error> {
        let s = &self.inner.smb;
        let mut opts = NegotiateOptions {
            ciphers: s.ciphers.clone(),
            server_name: unc.host.clone(),
            client_guid,
            ..Default::default()
        };
        if s.smb30 {
            opts.dialects
                .extend([azkrb_smb3::Dialect::Smb302, azkrb_smb3::Dialect::Smb30]);
        }
        // The service ticket (a TGS exchange through a KDC proxy: TCP, TLS, a request) and
        // the SMB connection (TCP, NEGOTIATE) need nothing of each other: both at once.
        let (ticket, conn) = tokio::try_join!(self.cifs_ticket(&unc.host), async {
            Ok::<_, Error>(Connection::connect(addr, &opts, s.timeout).await?)
        })?;
        let client = ticket.client.to_string();
        conn.set_keepalive(s.keepalive.0, s.keepalive.1)?;
        let mut auth = KerberosAuth::new(ticket)?;
        let session = Session::setup(
            &conn,
            &mut auth,
            Security {
                require_encryption: s.require_encryption,
                always_encrypt: false,
            },
        )
        .await?;
        let tree = session.tree_connect(&unc.host, &unc.share).await?;
        Ok((tree, client))
    }
}
