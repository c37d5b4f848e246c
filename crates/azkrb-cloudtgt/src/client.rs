//! The async client: realm routing, transports, the exchanges and a shared in-memory
//! credential cache, in one value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use azkrb_asn1::{KerberosTime, TicketFlags};
use zeroize::Zeroizing;

use crate::ccache::{self, Ccache};
use crate::config::RealmConfig;
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::exchange::{AsExchange, AsSecret, AsStep, MAX_REFERRALS, TgsExchange, TgsStep};
use crate::principal::Principal;
use crate::transport::{Transport, TransportOptions};

/// Tickets with less validity left than this are fetched again.
pub const REFRESH_MARGIN_SECONDS: i64 = 300;

/// `tgt` is within [`REFRESH_MARGIN_SECONDS`] of its end, still valid, renewable, and the
/// renewed one would have more than that margin left (a KDC renews a ticket for its own
/// lifetime, up to its renewal limit: a TGT that would come back as short is not renewed on
/// every use).
fn renewal_due(tgt: &Credential, now: KerberosTime) -> bool {
    renewal_due_within(tgt, now, REFRESH_MARGIN_SECONDS)
}

/// [`renewal_due`] with another margin: within `margin` seconds of its end, and the
/// renewed one would outlast it.
fn renewal_due_within(tgt: &Credential, now: KerberosTime, margin: i64) -> bool {
    let left = tgt.remaining(now);
    let Some(limit) = tgt.renew_till.map(|r| r.unix()) else {
        return false;
    };
    let lifetime = tgt.endtime.unix() - tgt.starttime.unwrap_or(tgt.authtime).unix();
    let renewed_end = limit.min(now.unix().saturating_add(lifetime));
    left > 0
        && left <= margin
        && tgt.flags.contains(TicketFlags::RENEWABLE)
        && renewed_end.saturating_sub(now.unix()) > margin
}

/// `cache` holds a credential for `cred`'s server that lasts longer (a new login made
/// meanwhile): it is not replaced.
fn newer_there(cache: &Ccache, cred: &Credential) -> bool {
    cache
        .find(&cred.server)
        .is_some_and(|c| c.endtime.unix() > cred.endtime.unix())
}

/// After a renewal failed, the next try waits this long (the TGT serves meanwhile).
const RENEW_RETRY_SECONDS: u64 = 60;

/// Where a [`Client`]'s TGT comes from.
pub enum TgtSource {
    /// An MIT-format credential cache: `None` is `KRB5CCNAME` (or MIT's default), `Some`
    /// a `FILE:` name or path. Its TGT is used as it is, and read again near its end.
    Ccache(Option<String>),
    /// Log in with a password (AS exchange with pre-authentication), again near the TGT's
    /// end.
    Password {
        /// `user@REALM`, or a UPN such as `alice@contoso.com` (an enterprise name: in `realm`
        /// when set, else in the Entra realm when configured).
        principal: String,
        /// The realm, when `principal` carries none or is a UPN.
        realm: Option<String>,
        /// The password (zeroized when dropped).
        password: Zeroizing<String>,
    },
    /// An existing TGT (for example an Entra `tgt_cloud`, through
    /// [`CloudTgt::credential`](crate::cloud::CloudTgt::credential)).
    Credential(Box<Credential>),
}

impl std::fmt::Debug for TgtSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TgtSource::Ccache(name) => f.debug_tuple("Ccache").field(name).finish(),
            TgtSource::Password {
                principal, realm, ..
            } => f
                .debug_struct("Password")
                .field("principal", principal)
                .field("realm", realm)
                .field("password", &"<redacted>")
                .finish_non_exhaustive(),
            TgtSource::Credential(c) => f.debug_tuple("Credential").field(&c.client).finish(),
        }
    }
}

/// An in-memory credential cache shared by tasks: the client's TGT, and tickets reused
/// until they near expiry.
#[derive(Debug, Clone, Default)]
pub struct CredentialCache {
    inner: Arc<Mutex<HashMap<(String, String), Credential>>>,
    tgt: Arc<Mutex<Option<Credential>>>,
}

impl CredentialCache {
    /// The TGT held, if any (whatever its time left).
    pub fn tgt(&self) -> Option<Credential> {
        self.tgt.lock().ok()?.clone()
    }

    /// Holds `tgt` as the client's TGT (`None`: forget it).
    pub fn set_tgt(&self, tgt: Option<&Credential>) {
        if let Ok(mut held) = self.tgt.lock() {
            *held = tgt.cloned();
        }
    }

    /// A usable cached credential of `client` for `server` at `now`.
    pub fn get(
        &self,
        client: &Principal,
        server: &Principal,
        now: KerberosTime,
    ) -> Option<Credential> {
        let key = (client.to_string(), server.to_string().to_ascii_lowercase());
        let map = self.inner.lock().ok()?;
        map.get(&key)
            .filter(|c| c.remaining(now) > REFRESH_MARGIN_SECONDS)
            .cloned()
    }

    /// Stores a credential.
    pub fn put(&self, cred: &Credential) {
        if let Ok(mut map) = self.inner.lock() {
            map.insert(
                (
                    cred.client.to_string(),
                    cred.server.to_string().to_ascii_lowercase(),
                ),
                cred.clone(),
            );
        }
    }
}

/// The Kerberos client.
#[derive(Debug, Clone)]
pub struct Client {
    config: RealmConfig,
    transport: Transport,
    cache: CredentialCache,
    tgt_source: Option<Arc<TgtSource>>,
    /// One TGT fetch at a time.
    fetching: Arc<tokio::sync::Mutex<()>>,
    /// When a renewal last failed (see [`RENEW_RETRY_SECONDS`]).
    renew_failed: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    /// Realms whose KDCs said they support FAST (upper case).
    fast_realms: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    /// The host of every share's SPN, when one is named (see [`crate::spn`]).
    spn_host: Option<String>,
}

impl Client {
    /// A client for this realm configuration. The KDC proxies of a realm with
    /// `http_anchors` are trusted only through those anchors (see
    /// [`Transport::with_anchors`]).
    pub fn new(config: RealmConfig, options: &TransportOptions) -> Result<Self> {
        Ok(Self {
            transport: Transport::with_anchors(options, &config.http_anchors)?,
            config,
            cache: CredentialCache::default(),
            tgt_source: None,
            fetching: Arc::default(),
            renew_failed: Arc::default(),
            fast_realms: Arc::default(),
            spn_host: None,
        })
    }

    /// A client for another user: the same realms and transport (its pooled KDC proxy
    /// connections), its own TGT from `source` and its own ticket cache.
    pub fn for_source(&self, source: TgtSource) -> Self {
        Self {
            config: self.config.clone(),
            transport: self.transport.clone(),
            cache: CredentialCache::default(),
            tgt_source: Some(Arc::new(source)),
            fetching: Arc::default(),
            renew_failed: Arc::default(),
            fast_realms: Arc::clone(&self.fast_realms),
            spn_host: self.spn_host.clone(),
        }
    }

    /// Asks for every share's ticket as `cifs/<host>` (a custom DNS name's registered SPN);
    /// `None`: as [`crate::spn::spn_hosts`] chooses.
    pub fn with_spn_host(mut self, host: Option<String>) -> Self {
        self.spn_host = host;
        self
    }

    /// Where [`tgt`](Self::tgt) gets the TGT from.
    pub fn with_tgt_source(mut self, source: TgtSource) -> Self {
        self.tgt_source = Some(Arc::new(source));
        self
    }

    /// The TGT: the one held while it has more than [`REFRESH_MARGIN_SECONDS`] left, else
    /// fetched from the [`TgtSource`] (a credential cache read again, a password login
    /// again; a given credential as it is) and held. One fetch at a time.
    pub async fn tgt(&self) -> Result<Credential> {
        let _one = self.fetching.lock().await;
        let now = KerberosTime::now();
        let held = self.cache.tgt();
        if let Some(t) = &held
            && (t.remaining(now) > REFRESH_MARGIN_SECONDS
                || (matches!(self.tgt_source.as_deref(), Some(TgtSource::Credential(_)))
                    && !renewal_due(t, now)))
        {
            return Ok(t.clone());
        }
        let tgt = match self.tgt_source.as_deref() {
            None => {
                return held.ok_or_else(|| {
                    Error::Config("no TGT: log in first, or give the client a TGT source".into())
                });
            }
            Some(TgtSource::Ccache(name)) => {
                let name = match name {
                    Some(n) => n.clone(),
                    None => ccache::default_name_in(&self.config)?,
                };
                let place = ccache::locate(&name, &self.config)?;
                let cache = place.load()?;
                let tgt = cache.tgt().ok_or_else(|| Error::File {
                    file: place.label(),
                    detail: "no ticket-granting ticket in this credential cache (log in \
                             first, e.g. `mount-share login`)"
                        .into(),
                })?;
                self.note_fast_in(&cache, &tgt);
                // The service tickets stored beside it (by kinit's and our own earlier
                // exchanges) save a TGS exchange each while they last.
                for cred in cache.credentials() {
                    if cred.client.same_as(&tgt.client) && !cred.server.same_as(&tgt.server) {
                        self.cache.put(&cred);
                    }
                }
                tgt
            }
            Some(TgtSource::Password {
                principal,
                realm,
                password,
            }) => {
                let p = self.config.login_principal(principal, realm.as_deref())?;
                self.login_password(&p, password).await?
            }
            Some(TgtSource::Credential(c)) => held
                .filter(|h| h.endtime.unix() > c.endtime.unix())
                .unwrap_or_else(|| (**c).clone()),
        };
        let tgt = self.renew_if_due(tgt).await;
        self.cache.set_tgt(Some(&tgt));
        Ok(tgt)
    }

    /// The TGT for `host`: the realm that serves it (`[domain_realm]`) may be another
    /// than the default TGT's, as an AD DS account's host is for a hybrid user whose default
    /// TGT is Entra's. Then a TGT of that realm kept beside it in the credential cache
    /// collection (`DIR:`, as `kinit` and `login` into one keep them) is used, as Windows
    /// keeps both; without one, the default TGT (and referrals across a trust, where one
    /// exists).
    pub async fn tgt_for_host(&self, host: &str) -> Result<Credential> {
        let default = self.tgt().await?;
        let Some(realm) = self.config.realm_for_host(host) else {
            return Ok(default);
        };
        let default_realm = default.server.tgs_realm().unwrap_or(&default.server.realm);
        if default_realm.eq_ignore_ascii_case(realm) {
            return Ok(default);
        }
        match self.collection_tgt(realm)? {
            Some(t) => Ok(self.renew_if_due(t).await),
            None => Ok(default),
        }
    }

    /// A valid TGT of `realm` in another cache of the credential cache collection the TGT
    /// source names (its service tickets are taken too).
    fn collection_tgt(&self, realm: &str) -> Result<Option<Credential>> {
        // A collection that cannot be listed leaves the default TGT (and referrals).
        match self.collection_tgt_listed(realm) {
            Ok(t) => Ok(t),
            Err(e) => {
                tracing::warn!("could not look for a TGT of {realm} in the cache collection: {e}");
                Ok(None)
            }
        }
    }

    fn collection_tgt_listed(&self, realm: &str) -> Result<Option<Credential>> {
        let Some(TgtSource::Ccache(name)) = self.tgt_source.as_deref() else {
            return Ok(None);
        };
        let name = match name {
            Some(n) => n.clone(),
            None => ccache::default_name_in(&self.config)?,
        };
        if name.starts_with("MEMORY:") {
            return Ok(None);
        }
        let now = KerberosTime::now();
        let others: Vec<ccache::Location> = if let Some(rest) = name.strip_prefix("KEYRING:") {
            ccache::Keyring::parse(rest)?
                .caches()?
                .into_iter()
                .skip(1)
                .map(ccache::Location::Keyring)
                .collect()
        } else if name == "KCM:" {
            let ccache::Location::Kcm(kcm, _) = ccache::locate(&name, &self.config)? else {
                return Ok(None);
            };
            kcm.caches()?
                .into_iter()
                .skip(1)
                .map(|n| ccache::Location::Kcm(kcm.clone(), Some(n)))
                .collect()
        } else if name.starts_with("KCM:") {
            // One named cache of the daemon.
            return Ok(None);
        } else {
            ccache::collection(&name)?
                .into_iter()
                .skip(1)
                .map(ccache::Location::File)
                .collect()
        };
        for place in others {
            let Ok(cache) = place.load() else {
                continue;
            };
            let Some(tgt) = cache.tgt() else { continue };
            if !tgt.server.realm.eq_ignore_ascii_case(realm) || tgt.remaining(now) <= 0 {
                continue;
            }
            self.note_fast_in(&cache, &tgt);
            for cred in cache.credentials() {
                if cred.client.same_as(&tgt.client) && !cred.server.same_as(&tgt.server) {
                    self.cache.put(&cred);
                }
            }
            return Ok(Some(tgt));
        }
        Ok(None)
    }

    /// `tgt` renewed when it is about to expire and can be renewed (and stored in the
    /// credential cache it came from); else as it is. A failed renewal is a warning: the
    /// TGT serves until it expires.
    async fn renew_if_due(&self, tgt: Credential) -> Credential {
        self.renew_within(tgt, REFRESH_MARGIN_SECONDS).await
    }

    /// `tgt` renewed now if it ends at or before `end` (Unix seconds; what the caller keeps
    /// lasts longer, as a session refreshed before its ticket ends) and a renewal would
    /// outlast `end`; else as it is (a failed renewal is a warning, as on any use).
    pub async fn renew_before(&self, tgt: Credential, end: i64) -> Credential {
        let now = KerberosTime::now().unix();
        // Due when it ends by `end`, if the renewal outlasts `end`.
        let margin = end.saturating_sub(now).max(0);
        let default = self
            .cache
            .tgt()
            .is_some_and(|held| held.server.same_as(&tgt.server));
        let renewed = self.renew_within(tgt, margin).await;
        if default {
            self.cache.set_tgt(Some(&renewed));
        }
        renewed
    }

    async fn renew_within(&self, tgt: Credential, margin: i64) -> Credential {
        if !renewal_due_within(&tgt, KerberosTime::now(), margin) {
            return tgt;
        }
        let failed_at = || *self.renew_failed.lock().unwrap_or_else(|p| p.into_inner());
        if failed_at().is_some_and(|at| at.elapsed().as_secs() < RENEW_RETRY_SECONDS) {
            return tgt;
        }
        match self.renew(&tgt).await {
            Ok(renewed) => {
                tracing::info!(
                    "renewed the TGT of {} (now valid until {})",
                    renewed.client,
                    renewed.endtime
                );
                self.store_in_ccache(&renewed);
                renewed
            }
            Err(e) => {
                tracing::warn!("could not renew the TGT of {}: {e}", tgt.client);
                *self.renew_failed.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(std::time::Instant::now());
                tgt
            }
        }
    }

    /// Adds a service ticket to the credential cache the TGT came from (as MIT's tools do),
    /// for the next process, in the background (the ticket is in use already): read again
    /// just before it is replaced, and only while it still holds the same principal's TGT,
    /// is this user's own file and no symbolic link (it is replaced by a new file, which
    /// must not change its owner or turn a link into a file). A cache that cannot be
    /// written is worth a warning only.
    fn store_in_ccache(&self, cred: &Credential) {
        let Some(TgtSource::Ccache(name)) = self.tgt_source.as_deref() else {
            return;
        };
        let name = match name {
            Some(n) => Ok(n.clone()),
            None => ccache::default_name_in(&self.config),
        };
        let cred = cred.clone();
        let config = self.config.clone();
        let store = move || {
            let stored = (|| {
                use std::os::unix::fs::MetadataExt;
                let name = name?;
                if ["KCM:", "MEMORY:", "KEYRING:"]
                    .iter()
                    .any(|t| name.starts_with(t))
                {
                    // The daemon and the kernel keep each user's caches apart; a process's
                    // memory is its own.
                    let place = ccache::locate_holding(&name, &cred.client, &config)?;
                    let cache = place.load()?;
                    if !cache.principal.same_as(&cred.client) || newer_there(&cache, &cred) {
                        return Ok(());
                    }
                    return place.add(&cred);
                }
                // The cache of the collection that holds this principal's TGT.
                let path = ccache::holding(&name, &cred.client)?;
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    return Ok(());
                };
                // This process's effective uid owns /proc/self; without /proc, nothing is
                // written.
                let me = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
                if meta.file_type().is_symlink() || Some(meta.uid()) != me {
                    return Ok(());
                }
                let mut cache = Ccache::load(&path)?;
                if !cache.principal.same_as(&cred.client) || newer_there(&cache, &cred) {
                    return Ok(());
                }
                cache.store(&cred)?;
                cache.save(&path)
            })();
            if let Err(e) = stored {
                tracing::warn!("could not add {} to the credential cache: {e}", cred.server);
            }
        };
        // A runtime waits for its blocking tasks when it shuts down: a process that ends
        // right after still writes the cache.
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(store)),
            Err(_) => store(),
        }
    }

    /// Notes that `realm`'s KDC supports FAST: TGS requests to it are armored unless the
    /// realm's `fast` policy is `never` (see [`crate::fast`]).
    pub fn note_fast(&self, realm: &str) {
        self.fast_realms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(realm.to_ascii_uppercase());
    }

    /// `realm`'s KDC is known to support FAST (it said so in an AS exchange, or a credential
    /// cache's `fast_avail` entry says so).
    pub fn fast_advertised(&self, realm: &str) -> bool {
        self.fast_realms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&realm.to_ascii_uppercase())
    }

    /// Notes what MIT's `fast_avail` entry for `tgt` in `cache` says (kinit writes it, as
    /// `login` does here, only when the KDC said so in an AS reply that vouched for the
    /// request: see [`AsExchange::fast_advertised`]).
    pub fn note_fast_in(&self, cache: &Ccache, tgt: &Credential) {
        if cache.config("fast_avail", Some(&tgt.server)).is_some() {
            self.note_fast(&tgt.server.realm);
        }
    }

    /// Where this client's TGS requests are armored with FAST: the configuration's
    /// policies over the realms known to support it.
    pub fn armoring(&self) -> crate::fast::Armoring {
        let advertised = self
            .fast_realms
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        self.config.armoring(advertised)
    }

    /// Forgets the TGT held: the next [`tgt`](Self::tgt) fetches it from the source.
    pub fn forget_tgt(&self) {
        self.cache.set_tgt(None);
    }

    /// The realm configuration.
    pub fn config(&self) -> &RealmConfig {
        &self.config
    }

    /// The shared credential cache.
    pub fn cache(&self) -> &CredentialCache {
        &self.cache
    }

    /// The transport the client sends its KDC requests through.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    pub(crate) async fn send(&self, realm: &str, request: &[u8]) -> Result<Vec<u8>> {
        self.transport
            .send(self.config.kdcs_for(realm)?, realm, request)
            .await
    }

    /// Obtains a TGT for `client` with a password (AS exchange with encrypted timestamp).
    pub async fn login_password(&self, client: &Principal, password: &str) -> Result<Credential> {
        self.login(
            client,
            AsSecret::Password(Zeroizing::new(password.to_string())),
        )
        .await
    }

    /// Obtains a TGT for `client` with an AS secret, renewable for krb5.conf's
    /// `renew_lifetime` when it sets one.
    pub async fn login(&self, client: &Principal, secret: AsSecret) -> Result<Credential> {
        self.login_renewable(client, secret, self.config.renew_lifetime)
            .await
    }

    /// Obtains a TGT for `client` with an AS secret, asking for one renewable for
    /// `renew_secs` when given (the KDC may grant less, or none).
    pub async fn login_renewable(
        &self,
        client: &Principal,
        secret: AsSecret,
        renew_secs: Option<i64>,
    ) -> Result<Credential> {
        let now = KerberosTime::now();
        let mut x = AsExchange::new(client.clone(), secret, now)?;
        if let Some(secs) = renew_secs {
            x = x.renewable(secs, now)?;
        }
        loop {
            let reply = self.send(x.realm(), x.request()).await?;
            match x.handle_reply(&reply, KerberosTime::now())? {
                AsStep::Continue => continue,
                AsStep::Done(cred) => {
                    if x.fast_advertised() {
                        self.note_fast(x.realm());
                    }
                    self.cache.put(&cred);
                    return Ok(*cred);
                }
            }
        }
    }

    /// Renews `tgt` (see [`TgsExchange::renew`]): the same TGT, valid from now for its own
    /// lifetime, up to its renewal limit.
    ///
    /// ```no_run
    /// # async fn demo(c: azkrb_cloudtgt::Client, tgt: azkrb_cloudtgt::Credential)
    /// # -> azkrb_cloudtgt::Result<()> {
    /// let renewed = c.renew(&tgt).await?;
    /// assert!(renewed.endtime.unix() >= tgt.endtime.unix());
    /// # Ok(()) }
    /// ```
    pub async fn renew(&self, tgt: &Credential) -> Result<Credential> {
        let now = KerberosTime::now();
        let mut x = TgsExchange::renew(tgt.clone(), now)?.with_armoring(self.armoring(), now)?;
        if x.armored() {
            tracing::debug!("renewing the TGT of {} armored with FAST", tgt.client);
        }
        loop {
            let reply = self.send(x.realm(), x.request()).await?;
            match x.handle_reply(&reply, KerberosTime::now())? {
                TgsStep::Continue => continue,
                TgsStep::Done(cred) => return Ok(*cred),
            }
        }
    }

    /// The realm that serves `host`: the `[domain_realm]` mapping, else the TGT's realm.
    pub fn realm_for_host(&self, host: &str, tgt: &Credential) -> String {
        self.config
            .realm_for_host(host)
            .map(str::to_string)
            .unwrap_or_else(|| tgt.client.realm.clone())
    }

    /// A ticket for `cifs/<host>` that the TGT source's credential cache holds, for use
    /// with no TGT behind it (a storage account's SMB OAuth ticket that `mount-share login`
    /// stored; one `kvno` fetched): valid now, of the cache's principal, under any realm's
    /// name; the one that ends last. `None` when the source is no cache, or it holds none.
    pub fn stored_cifs_ticket(&self, host: &str) -> Result<Option<Credential>> {
        let Some(TgtSource::Ccache(name)) = self.tgt_source.as_deref() else {
            return Ok(None);
        };
        let name = match name {
            Some(n) => n.clone(),
            None => ccache::default_name_in(&self.config)?,
        };
        let cache = ccache::locate(&name, &self.config)?.load()?;
        let hosts = crate::spn::spn_hosts(host, self.spn_host.as_deref());
        let now = KerberosTime::now().unix();
        let for_host = |c: &Credential| match c.server.name.name_string.as_slice() {
            [service, h] => {
                service.to_string_lossy().eq_ignore_ascii_case("cifs")
                    && hosts
                        .iter()
                        .any(|x| h.to_string_lossy().eq_ignore_ascii_case(x))
            }
            _ => false,
        };
        Ok(cache
            .credentials()
            .into_iter()
            .filter(|c| c.endtime.unix() > now && c.client.same_as(&cache.principal))
            .filter(for_host)
            // Of equals, the entry under the ticket's own name (not another realm's).
            .max_by_key(|c| {
                let own = c
                    .ticket
                    .realm
                    .to_string_lossy()
                    .eq_ignore_ascii_case(&c.server.realm);
                (c.endtime.unix(), own)
            }))
    }

    /// A ticket for `cifs/<host>` (host lower-cased, no DNS canonicalization), from the
    /// cache or from the KDCs with `tgt`. A private endpoint's host asks for the canonical
    /// SPN first and its own after ([`crate::spn`]); when the KDC knows none of them, the
    /// error lists what was tried.
    pub async fn cifs_ticket(&self, tgt: &Credential, host: &str) -> Result<Credential> {
        self.cifs_ticket_outliving(tgt, host, None).await
    }

    /// [`cifs_ticket`](Self::cifs_ticket), passing over a cached ticket that ends at or
    /// before `end` (Unix seconds): the ticket that re-authenticates a session before its
    /// ticket ends. The KDC may still give one that ends no later (it ends with the TGT).
    pub async fn cifs_ticket_outliving(
        &self,
        tgt: &Credential,
        host: &str,
        end: Option<i64>,
    ) -> Result<Credential> {
        let hosts = crate::spn::spn_hosts(host, self.spn_host.as_deref());
        // The realm of a named SPN host when krb5.conf maps it (a custom DNS name may not be).
        let realm = match &self.spn_host {
            Some(h) if self.config.realm_for_host(h).is_some() => self.realm_for_host(h, tgt),
            _ => self.realm_for_host(host, tgt),
        };
        let mut tried = Vec::new();
        for h in &hosts {
            let service = Principal::cifs(h, &realm);
            match self.service_ticket_outliving(tgt, &service, end).await {
                // One SPN tried: the KDC's own error, as it is.
                Err(Error::Kdc(k))
                    if k.code == azkrb_asn1::ErrorCode::SPrincipalUnknown && hosts.len() > 1 =>
                {
                    tracing::debug!("the KDC of {realm} does not know {service}");
                    tried.push(service.to_string());
                }
                other => return other,
            }
        }
        Err(Error::NoSpn { realm, tried })
    }

    /// A ticket for `service`, from the cache or through TGS exchanges (following
    /// referrals across realms).
    pub async fn service_ticket(
        &self,
        tgt: &Credential,
        service: &Principal,
    ) -> Result<Credential> {
        self.service_ticket_outliving(tgt, service, None).await
    }

    /// [`service_ticket`](Self::service_ticket), passing over a cached ticket that ends at
    /// or before `end`.
    async fn service_ticket_outliving(
        &self,
        tgt: &Credential,
        service: &Principal,
        end: Option<i64>,
    ) -> Result<Credential> {
        let now = KerberosTime::now();
        if let Some(c) = self.cache.get(&tgt.client, service, now)
            && end.is_none_or(|e| c.endtime.unix() > e)
        {
            return Ok(c);
        }
        let mut x = TgsExchange::new(tgt.clone(), service.clone(), now)?
            .with_armoring(self.armoring(), now)?;
        if x.armored() {
            tracing::debug!("TGS request for {service} armored with FAST");
        }
        for _ in 0..=MAX_REFERRALS + 1 {
            let reply = self.send(x.realm(), x.request()).await?;
            match x.handle_reply(&reply, KerberosTime::now())? {
                TgsStep::Continue => continue,
                TgsStep::Done(cred) => {
                    self.cache.put(&cred);
                    self.store_in_ccache(&cred);
                    return Ok(*cred);
                }
            }
        }
        Err(Error::ReferralLoop(MAX_REFERRALS))
    }
}

#[cfg(test)]
mod renewal_tests {
    use super::*;
    use crate::Principal;

    fn tgt(lifetime: i64, left: i64, limit: Option<i64>, now: i64) -> Credential {
        let tgs = Principal::krbtgt("R.TEST", "R.TEST");
        Credential {
            client: Principal::parse("alice", "R.TEST").unwrap(),
            server: tgs.clone(),
            session_key: azkrb_crypto::Key::new(
                azkrb_crypto::EncryptionType::Aes256CtsHmacSha196,
                &[1; 32],
            )
            .unwrap(),
            ticket: azkrb_asn1::krb::Ticket {
                tkt_vno: 5,
                realm: "R.TEST".into(),
                sname: tgs.name.clone(),
                enc_part: azkrb_asn1::krb::EncryptedData {
                    etype: 18,
                    kvno: None,
                    cipher: vec![0; 16].into(),
                },
            },
            flags: TicketFlags(0) | TicketFlags::RENEWABLE,
            authtime: KerberosTime::from_unix(now + left - lifetime),
            starttime: None,
            endtime: KerberosTime::from_unix(now + left),
            renew_till: limit.map(|l| KerberosTime::from_unix(now + l)),
        }
    }

    #[test]
    fn a_tgt_is_renewed_near_its_end_only_when_the_renewal_outlives_the_margin() {
        let now = KerberosTime::now();
        let n = now.unix();
        // Ten hours, four minutes left, renewable for a day: due.
        assert!(renewal_due(&tgt(36_000, 240, Some(86_400), n), now));
        // Not yet near its end.
        assert!(!renewal_due(&tgt(36_000, 3_600, Some(86_400), n), now));
        // Expired: too late.
        assert!(!renewal_due(&tgt(36_000, -1, Some(86_400), n), now));
        // A four-minute ticket would come back as short: not renewed on every use.
        assert!(!renewal_due(&tgt(240, 200, Some(86_400), n), now));
        // Its limit is a minute away: the renewal would be as short.
        assert!(!renewal_due(&tgt(36_000, 240, Some(60), n), now));
        // A wider margin (a session refreshed ten minutes before its end): due earlier, if
        // the renewal outlasts it.
        assert!(renewal_due_within(
            &tgt(36_000, 500, Some(86_400), n),
            now,
            600
        ));
        assert!(!renewal_due_within(
            &tgt(36_000, 500, Some(550), n),
            now,
            600
        ));
        // No limit, or not renewable.
        assert!(!renewal_due(&tgt(36_000, 240, None, n), now));
        let mut plain = tgt(36_000, 240, Some(86_400), n);
        plain.flags = TicketFlags(0);
        assert!(!renewal_due(&plain, now));
    }
}
