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
use crate::pool::{Connections, Slot};
use crate::share::Opened;
use crate::{Builder, Error, KerberosAuth, Share, Tgt, UncPath};

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
    /// SMB OAuth, when shares are opened with a bearer token's tickets instead of a TGT's.
    oauth: Option<crate::oauth::OAuth>,
    smb: SmbSettings,
    /// The connections and sessions the shares use (shared with other users' clients).
    pool: Connections,
    /// This client's number, unique in the process (its sessions' name in the pool).
    id: u64,
}

/// What a share's tickets are made from.
pub(crate) enum Source {
    /// A TGT (from a credential cache, a login, a cloud TGT).
    Tgt(Box<Credential>),
    /// SMB OAuth, as the client's label names it.
    OAuth(String),
    /// A service ticket the credential cache holds with no TGT behind it (SMB OAuth's, as
    /// `mount-share login` stores it), read again from the cache for each session (another
    /// process, `mount-share refresh`, keeps it current).
    Ticket(Box<Credential>),
}

impl Source {
    /// Whose the share's session is.
    pub(crate) fn principal(&self) -> String {
        match self {
            Source::Tgt(t) => t.client.to_string(),
            Source::OAuth(label) => label.clone(),
            Source::Ticket(t) => t.client.to_string(),
        }
    }
}

/// Numbers of clients, unique in the process.
static NEXT_CLIENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl AzureFiles {
    pub(crate) fn new(kerberos: Client, smb: SmbSettings, pool: Connections) -> Self {
        Self::with_oauth(kerberos, smb, pool, None)
    }

    pub(crate) fn with_oauth(
        kerberos: Client,
        smb: SmbSettings,
        pool: Connections,
        oauth: Option<crate::oauth::OAuth>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                oauth,
                kerberos,
                smb,
                pool,
                id: NEXT_CLIENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            }),
        }
    }

    /// A client for another user: the same settings, realms and KDC proxy connections, the
    /// same SMB connections ([`Connections`]: one per server, a session per client on
    /// it), the TGT from `tgt`.
    pub fn for_user(&self, tgt: Tgt) -> AzureFiles {
        AzureFiles::new(
            self.inner.kerberos.for_source(tgt),
            self.inner.smb.clone(),
            self.inner.pool.clone(),
        )
    }

    /// The connections and sessions this client's shares use.
    pub fn connections(&self) -> &Connections {
        &self.inner.pool
    }

    /// The pool slot of the server `unc` is reached at through `addr` (with these
    /// settings: a client with others gets a connection of its own).
    pub(crate) fn slot(&self, unc: &UncPath, addr: &str) -> Arc<tokio::sync::Mutex<Slot>> {
        let s = &self.inner.smb;
        let key = format!(
            "{:?}",
            (
                addr,
                unc.host.to_ascii_lowercase(),
                &s.ciphers,
                s.smb30,
                s.require_encryption,
                s.keepalive,
                s.timeout,
            )
        );
        self.inner.pool.slot(&key)
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

    /// The TGT that serves `host`: the default one, or a TGT of the host's realm kept beside
    /// it in the credential cache collection (a hybrid user's AD DS TGT beside the Entra
    /// one; see [`Client::tgt_for_host`]).
    pub async fn tgt_for_host(&self, host: &str) -> Result<Credential, Error> {
        Ok(self.inner.kerberos.tgt_for_host(host).await?)
    }

    /// A service ticket for `cifs/<host>`, from the cache or the KDC (through the realm
    /// `[domain_realm]` routes the host to), with the TGT that serves the host; with SMB
    /// OAuth, from the storage account for the client's token.
    pub async fn cifs_ticket(&self, host: &str) -> Result<Credential, Error> {
        let source = self.source_for_host(host).await?;
        self.ticket_with(&source, host).await
    }

    /// [`cifs_ticket`](Self::cifs_ticket), passing over a cached ticket that ends at or
    /// before `end` (Unix seconds): a fresh ticket to replace one that is about to end (a
    /// credential cache's, for kernel mounts). The KDC gives none that outlives the TGT:
    /// check the result's `endtime`.
    pub async fn cifs_ticket_outliving(&self, host: &str, end: i64) -> Result<Credential, Error> {
        let source = self.source_for_host(host).await?;
        let source = self.source_outliving(host, source, end).await?;
        self.ticket_outliving(&source, host, Some(end)).await
    }

    /// `source` made to outlast `end` where it can: a TGT that ends by then renewed, else
    /// (a TGT that cannot be renewed) read again from its source, which may hold a newer
    /// one by now (a login since; a password logs in again). Else as it is.
    pub(crate) async fn source_outliving(
        &self,
        host: &str,
        source: Source,
        end: i64,
    ) -> Result<Source, Error> {
        let Source::Tgt(t) = source else {
            return Ok(source);
        };
        if t.endtime.unix() > end {
            return Ok(Source::Tgt(t));
        }
        let renewed = self.inner.kerberos.renew_before(*t, end).await;
        if renewed.endtime.unix() > end {
            return Ok(Source::Tgt(Box::new(renewed)));
        }
        self.forget_tgt();
        match self.source_for_host(host).await {
            // Only the same principal's (a share stays whose it was), and only a better one.
            Ok(Source::Tgt(again))
                if again.client.same_as(&renewed.client)
                    && again.endtime.unix() > renewed.endtime.unix() =>
            {
                Ok(Source::Tgt(again))
            }
            // Else the TGT held before, held again (a source that gives nothing better, or
            // fails, must not leave an older one held).
            _ => {
                self.inner.kerberos.cache().set_tgt(Some(&renewed));
                Ok(Source::Tgt(Box::new(renewed)))
            }
        }
    }

    /// What `host`'s tickets come from: the TGT that serves it, or SMB OAuth.
    pub(crate) async fn source_for_host(&self, host: &str) -> Result<Source, Error> {
        Ok(match &self.inner.oauth {
            Some(o) => Source::OAuth(o.label()),
            None => match self.tgt_for_host(host).await {
                Ok(tgt) => Source::Tgt(Box::new(tgt)),
                // No TGT (or none that serves): a ticket for the host stored alone will do.
                Err(e) => match self.inner.kerberos.stored_cifs_ticket(host) {
                    Ok(Some(t)) => Source::Ticket(Box::new(t)),
                    _ => return Err(e),
                },
            },
        })
    }

    /// A service ticket for `cifs/<host>` from `source` (a TGT checked to be the expected
    /// principal's, or SMB OAuth).
    pub(crate) async fn ticket_with(
        &self,
        source: &Source,
        host: &str,
    ) -> Result<Credential, Error> {
        self.ticket_outliving(source, host, None).await
    }

    /// [`ticket_with`](Self::ticket_with), passing over a cached ticket that ends at or
    /// before `end` (SMB OAuth's are never cached).
    pub(crate) async fn ticket_outliving(
        &self,
        source: &Source,
        host: &str,
        end: Option<i64>,
    ) -> Result<Credential, Error> {
        match (source, &self.inner.oauth) {
            (Source::Tgt(tgt), _) => Ok(self
                .inner
                .kerberos
                .cifs_ticket_outliving(tgt, host, end)
                .await?),
            (Source::OAuth(_), Some(o)) => match end {
                Some(end) => self.oauth_ticket_outliving(o, host, end).await,
                None => self.oauth_ticket(o, host).await,
            },
            // The cache's freshest (it may have been renewed since), else the one found.
            (Source::Ticket(t), _) => Ok(self
                .inner
                .kerberos
                .stored_cifs_ticket(host)?
                .filter(|n| n.client.same_as(&t.client))
                .unwrap_or_else(|| (**t).clone())),
            (Source::OAuth(_), None) => Err(Error::Usage(
                "an SMB OAuth source on a client without SMB OAuth".into(),
            )),
        }
    }

    /// How long a share keeps trying to reconnect.
    pub(crate) fn reconnect_for(&self) -> std::time::Duration {
        self.inner.smb.reconnect_for
    }

    /// How long before its ticket ends a session is re-authenticated.
    pub(crate) fn refresh_margin(&self) -> std::time::Duration {
        self.inner.smb.refresh_margin
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
        let (live, client) = self.connect(&unc, addr, None, None).await?;
        // A user of its session from now on (until closed, disconnected or dropped).
        self.slot(&unc, addr)
            .lock()
            .await
            .acquire(&self.session_key(&client));
        Ok(Share::new(Opened {
            files: self.clone(),
            live,
            unc,
            addr: addr.to_string(),
            client,
        }))
    }

    /// The tree of `unc` on a session of this client's principal on a connection to
    /// `addr`: the connection and the session from the pool while they work, else made
    /// (service ticket, NEGOTIATE with `client_guid` when reconnecting (the server keys
    /// durable opens by it), Kerberos SESSION_SETUP), then TREE_CONNECT. `acquire`: a
    /// share is opened (not reconnected), and counts as a user of the session. Returns the
    /// tree and whom the session authenticated.
    pub(crate) async fn connect(
        &self,
        unc: &UncPath,
        addr: &str,
        client_guid: Option<[u8; 16]>,
        expect: Option<&str>,
    ) -> Result<(Tree, String), Error> {
        // Whose TGT this is, before anything reaches the network: a share reconnecting must
        // stay its principal's.
        // The very TGT checked makes the tickets below (a cache read again later might hold
        // another principal's by then).
        let tgt = self.source_for_host(&unc.host).await?;
        let client = tgt.principal();
        if let Some(want) = expect
            && want != client
        {
            self.forget_tgt();
            return Err(Error::Usage(format!(
                "reconnecting //{}/{}: the credential cache now holds {client}'s TGT, but the \
                 share was opened as {want}: log in as {want} to keep it",
                unc.host, unc.share
            )));
        }
        let key = self.session_key(&client);
        let slot = self.slot(unc, addr);
        let mut held = slot.lock().await;
        let session = match held.live().cloned() {
            Some(conn) => match held.sessions.get(&key).cloned() {
                Some(session) => session,
                None => {
                    let ticket = self.ticket_with(&tgt, &unc.host).await?;
                    self.session_on(&conn, ticket).await?
                }
            },
            None => {
                let replaced = held.conn.as_ref().map(Connection::client_guid);
                let (conn, session, _) = self
                    .connect_new(unc, addr, client_guid.or(replaced), &tgt)
                    .await?;
                if replaced.is_some() {
                    // Requests on the new connection carry a ChannelSequence one up from
                    // the old one's (modulo 2^16): the server's opens tell replays so.
                    held.channel_sequence = held.channel_sequence.wrapping_add(1);
                }
                conn.set_channel_sequence(held.channel_sequence);
                held.conn = Some(conn);
                held.sessions.clear();
                session
            }
        };
        held.sessions.insert(key.clone(), session.clone());
        let tree = match session.tree_connect(&unc.host, &unc.share).await {
            // A session kept in the pool whose ticket has ended: renewed, then again.
            Err(azkrb_smb3::Error::Status {
                status: azkrb_smb3::NtStatus::NETWORK_SESSION_EXPIRED,
                ..
            }) => {
                let mut auth = KerberosAuth::new(self.ticket_with(&tgt, &unc.host).await?)?;
                session.reauthenticate(&mut auth).await?;
                session.tree_connect(&unc.host, &unc.share).await
            }
            t => t,
        };
        Ok((tree?, client))
    }

    /// The pool's name for this client's session of `principal`: sessions are shared by the
    /// clones of one client, never with another client (another user's credentials must
    /// make their own session, whatever principal their cache names).
    pub(crate) fn session_key(&self, principal: &str) -> String {
        format!("{principal}#{}", self.inner.id)
    }

    /// A new connection and this client's session on it: the service ticket while TCP
    /// connects and NEGOTIATE runs.
    async fn connect_new(
        &self,
        unc: &UncPath,
        addr: &str,
        client_guid: Option<[u8; 16]>,
        tgt: &Source,
    ) -> Result<(Connection, Session, String), Error> {
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
        let (ticket, conn) = tokio::try_join!(self.ticket_with(tgt, &unc.host), async {
            Ok::<_, Error>(Connection::connect(addr, &opts, s.timeout).await?)
        })?;
        conn.set_keepalive(s.keepalive.0, s.keepalive.1)?;
        let client = tgt.principal();
        let session = self.session_on(&conn, ticket).await?;
        Ok((conn, session, client))
    }

    /// Kerberos SESSION_SETUP on `conn` with `ticket`.
    async fn session_on(
        &self,
        conn: &Connection,
        ticket: azkrb_cloudtgt::Credential,
    ) -> Result<Session, Error> {
        let s = &self.inner.smb;
        let mut auth = KerberosAuth::new(ticket)?;
        Ok(Session::setup(
            conn,
            &mut auth,
            Security {
                require_encryption: s.require_encryption,
                always_encrypt: false,
            },
        )
        .await?)
    }
}
