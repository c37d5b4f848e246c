//! SMB OAuth in the facade: a client whose shares are opened with tickets the storage
//! account exchanges for a bearer token (a managed identity's, a workload identity's, or one
//! given), instead of tickets a TGT gets from a KDC. Re-authentication and reconnects ask
//! again, with the token held while it lasts.

use azkrb_cloudtgt::Credential;
use azkrb_cloudtgt::oauth::{Token, TokenSource};

use crate::client::AzureFiles;
use crate::error::Error;

/// A token is fetched again when it has less than this left.
const TOKEN_MARGIN: i64 = 300;

/// What a client opens shares with when it uses SMB OAuth.
pub(crate) struct OAuth {
    pub(crate) source: TokenSource,
    /// The kerbticket endpoint, `{host}` standing for the share's host (`https://{host}` in
    /// Azure).
    pub(crate) endpoint: String,
    token: tokio::sync::Mutex<Option<Token>>,
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth")
            .field("source", &self.label())
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl OAuth {
    pub(crate) fn new(source: TokenSource, endpoint: Option<String>) -> Self {
        Self {
            source,
            endpoint: endpoint.unwrap_or_else(|| "https://{host}".into()),
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// Whose the shares' sessions are, as the pool and reconnects name them.
    pub(crate) fn label(&self) -> String {
        format!("SMB OAuth: {}", self.source.describe())
    }
}

impl AzureFiles {
    /// The ticket for `cifs/<host>` the storage account gives for this client's token (the
    /// one held while it has over five minutes left, else a fresh one).
    pub(crate) async fn oauth_ticket(
        &self,
        oauth: &OAuth,
        host: &str,
    ) -> Result<Credential, Error> {
        self.oauth_ticket_with(oauth, host, false).await
    }

    /// [`oauth_ticket`](Self::oauth_ticket) with a ticket that ends after `end` if the
    /// storage account gives one: when the held token's ticket ends no later (the account
    /// may end its tickets with the token), once more with a fresh token.
    pub(crate) async fn oauth_ticket_outliving(
        &self,
        oauth: &OAuth,
        host: &str,
        end: i64,
    ) -> Result<Credential, Error> {
        let t = self.oauth_ticket_with(oauth, host, false).await?;
        if t.endtime.unix() > end {
            return Ok(t);
        }
        self.oauth_ticket_with(oauth, host, true).await
    }

    async fn oauth_ticket_with(
        &self,
        oauth: &OAuth,
        host: &str,
        fresh_token: bool,
    ) -> Result<Credential, Error> {
        let endpoint = azkrb_cloudtgt::oauth::kerbticket_endpoint(&oauth.endpoint, host)?;
        let kerberos = self.kerberos();
        for fresh in [false, true] {
            let token = {
                let mut held = oauth.token.lock().await;
                let now = azkrb_asn1::KerberosTime::now().unix();
                match held.as_ref() {
                    // A file's token is read at each exchange (another tool rotates it); one
                    // whose expiry is not known, too.
                    Some(t)
                        if !fresh
                            && !fresh_token
                            && !matches!(oauth.source, TokenSource::File(_))
                            && t.expires_on.is_some()
                            && !t.expires_within(now, TOKEN_MARGIN) =>
                    {
                        t.clone()
                    }
                    _ => {
                        let t = kerberos.smb_oauth_token(&oauth.source).await?;
                        *held = Some(t.clone());
                        t
                    }
                }
            };
            match kerberos.smb_oauth_ticket(&endpoint, host, &token).await {
                // A token refused as expired or unknown: asked for once more.
                Err(azkrb_cloudtgt::Error::SmbOAuth { status: 401, .. }) if !fresh => continue,
                other => return Ok(other?),
            }
        }
        Err(Error::Usage(
            "the storage account refused a fresh token too".into(),
        ))
    }
}
