//! The async client: realm routing, transports, the exchanges and a shared in-memory
//! credential cache, in one value.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use azkrb_asn1::KerberosTime;
use zeroize::Zeroizing;

use crate::config::RealmConfig;
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::exchange::{AsExchange, AsSecret, AsStep, MAX_REFERRALS, TgsExchange, TgsStep};
use crate::principal::Principal;
use crate::transport::{Transport, TransportOptions};

/// Tickets with less validity left than this are fetched again.
pub const REFRESH_MARGIN_SECONDS: i64 = 300;

/// An in-memory credential cache shared by tasks: tickets are reused until they near expiry.
#[derive(Debug, Clone, Default)]
pub struct CredentialCache {
    inner: Arc<Mutex<HashMap<(String, String), Credential>>>,
}

impl CredentialCache {
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
        })
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

    async fn send(&self, realm: &str, request: &[u8]) -> Result<Vec<u8>> {
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

    /// Obtains a TGT for `client` with an AS secret.
    pub async fn login(&self, client: &Principal, secret: AsSecret) -> Result<Credential> {
        let mut x = AsExchange::new(client.clone(), secret, KerberosTime::now())?;
        loop {
            let reply = self.send(x.realm(), x.request()).await?;
            match x.handle_reply(&reply, KerberosTime::now())? {
                AsStep::Continue => continue,
                AsStep::Done(cred) => {
                    self.cache.put(&cred);
                    return Ok(*cred);
                }
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

    /// A ticket for `cifs/<host>` (host lower-cased, no DNS canonicalization), from the
    /// cache or from the KDCs with `tgt`.
    pub async fn cifs_ticket(&self, tgt: &Credential, host: &str) -> Result<Credential> {
        let service = Principal::cifs(host, &self.realm_for_host(host, tgt));
        self.service_ticket(tgt, &service).await
    }

    /// A ticket for `service`, from the cache or through TGS exchanges (following
    /// referrals across realms).
    pub async fn service_ticket(
        &self,
        tgt: &Credential,
        service: &Principal,
    ) -> Result<Credential> {
        let now = KerberosTime::now();
        if let Some(c) = self.cache.get(&tgt.client, service, now) {
            return Ok(c);
        }
        let mut x = TgsExchange::new(tgt.clone(), service.clone(), now)?;
        for _ in 0..=MAX_REFERRALS + 1 {
            let reply = self.send(x.realm(), x.request()).await?;
            match x.handle_reply(&reply, KerberosTime::now())? {
                TgsStep::Continue => continue,
                TgsStep::Done(cred) => {
                    self.cache.put(&cred);
                    return Ok(*cred);
                }
            }
        }
        Err(Error::ReferralLoop(MAX_REFERRALS))
    }
}
