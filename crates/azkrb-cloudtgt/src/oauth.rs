//! SMB OAuth, sans I/O: a bearer token for Azure Storage that the storage account itself
//! exchanges for a ready Kerberos service ticket, with no KDC (how managed identities and
//! workload identities reach an Azure Files share). These are the messages: the token
//! requests (IMDS, Entra's token endpoint for a workload identity's federated credential),
//! the token replies, and the `kerbticket` request and its reply, a KRB-CRED whose service
//! ticket and session key an SMB session setup uses as they are.

use azkrb_asn1::KerberosMessage;
use zeroize::Zeroizing;

use crate::credential::Credential;
use crate::error::{Error, Result};

/// The audience a token for Azure Files must have: no trailing slash (a token for
/// `https://storage.azure.com/` is refused).
pub const STORAGE_AUDIENCE: &str = "https://storage.azure.com";
/// The storage REST API version the exchange is asked with.
pub const API_VERSION: &str = "2024-05-04";
/// The Azure instance metadata service (a VM's managed identity).
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254";
/// Entra ID's public-cloud authority (a sovereign cloud's is another: AZURE_AUTHORITY_HOST).
pub const ENTRA_AUTHORITY: &str = "https://login.microsoftonline.com";
/// Entra's authorities: the public cloud's, the US Government's, China's (21Vianet).
pub const ENTRA_AUTHORITIES: [&str; 4] = [
    ENTRA_AUTHORITY,
    "https://login.microsoftonline.us",
    "https://login.chinacloudapi.cn",
    "https://login.partner.microsoftonline.cn",
];

/// A bearer token: zeroized when dropped, never printed.
#[derive(Clone)]
pub struct Token {
    secret: Zeroizing<String>,
    /// When it expires (Unix seconds), if said.
    pub expires_on: Option<i64>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

impl Token {
    /// A token given by the caller (trailing whitespace, as a file or a pipe leaves it,
    /// taken off).
    pub fn new(secret: &str, expires_on: Option<i64>) -> Result<Self> {
        let secret = secret.trim();
        if secret.is_empty() || secret.contains(char::is_whitespace) {
            return Err(Error::Config(
                "a bearer token is one word (a JWT, as eyJ…): this is empty or has spaces".into(),
            ));
        }
        Ok(Self {
            secret: Zeroizing::new(secret.to_string()),
            expires_on,
        })
    }

    /// The token itself, for the Authorization header.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// Expired at `now` (Unix seconds), or within `margin` seconds of it.
    pub fn expires_within(&self, now: i64, margin: i64) -> bool {
        self.expires_on
            .is_some_and(|e| e.saturating_sub(now) <= margin)
    }
}

/// Which managed identity of a VM (a user-assigned one, by one of its ids; the
/// system-assigned one when none is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityId {
    /// Its client (application) id.
    ClientId(String),
    /// Its object (principal) id.
    ObjectId(String),
    /// Its Azure resource id.
    ResourceId(String),
}

/// Percent-encodes a query or form value (RFC 3986 unreserved characters kept).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The IMDS request for a storage token: `GET` this URL with the header `Metadata: true`.
///
/// ```
/// use azkrb_cloudtgt::oauth::{IdentityId, imds_url};
/// let u = imds_url("http://169.254.169.254", Some(&IdentityId::ClientId("c1".into())));
/// assert_eq!(u, "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01\
///     &resource=https%3A%2F%2Fstorage.azure.com&client_id=c1");
/// ```
pub fn imds_url(endpoint: &str, id: Option<&IdentityId>) -> String {
    let mut url = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource={}",
        endpoint.trim_end_matches('/'),
        encode(STORAGE_AUDIENCE)
    );
    match id {
        Some(IdentityId::ClientId(c)) => url.push_str(&format!("&client_id={}", encode(c))),
        Some(IdentityId::ObjectId(o)) => url.push_str(&format!("&object_id={}", encode(o))),
        Some(IdentityId::ResourceId(r)) => url.push_str(&format!("&msi_res_id={}", encode(r))),
        None => {}
    }
    url
}

/// The token request of a workload identity (a federated credential, as AKS's webhook sets
/// it up): `POST` the form to the URL.
pub fn workload_request(
    authority: &str,
    tenant: &str,
    client_id: &str,
    assertion: &str,
) -> (String, Zeroizing<String>) {
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        authority.trim_end_matches('/'),
        encode(tenant)
    );
    let form = Zeroizing::new(format!(
        "client_id={}&scope={}&grant_type=client_credentials\
         &client_assertion_type={}&client_assertion={}",
        encode(client_id),
        encode(&format!("{STORAGE_AUDIENCE}/.default")),
        encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        encode(assertion.trim())
    ));
    (url, form)
}

/// The token in an IMDS or Entra token reply (`access_token`, and `expires_on` or
/// `expires_in` from `now`); an error reply's `error` and `error_description` said.
pub fn token_from_reply(what: &str, status: u16, body: &[u8], now: i64) -> Result<Token> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::Protocol(format!("{what} answered HTTP {status} with no JSON: {e}")))?;
    if status != 200 {
        let error = v["error"].as_str().unwrap_or("");
        let description = v["error_description"].as_str().unwrap_or("");
        return Err(Error::Protocol(format!(
            "{what} refused the token request: HTTP {status} {error}: {description}"
        )));
    }
    // Moved out of the parsed reply (not copied), and zeroized when dropped.
    let mut v = v;
    let secret = match v.get_mut("access_token").map(serde_json::Value::take) {
        Some(serde_json::Value::String(s)) => Zeroizing::new(s),
        _ => {
            return Err(Error::Protocol(format!(
                "{what}'s reply has no access_token"
            )));
        }
    };
    // Numbers or strings of digits, as IMDS and Entra write them.
    let number = |k: &str| match &v[k] {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    };
    // Out-of-range values (a spoofed reply) are no expiry at all: the token is asked for
    // again at the next exchange.
    let expires_on = number("expires_on")
        .or_else(|| number("expires_in").and_then(|s| now.checked_add(s)))
        .filter(|e| (0..1 << 40).contains(e));
    Token::new(&secret, expires_on)
}

/// The `kerbticket` request: `POST` this URL, empty body, with these headers.
pub fn kerbticket_request(
    endpoint: &str,
    token: &Token,
    date: &str,
) -> (String, Vec<(&'static str, Zeroizing<String>)>) {
    let url = format!(
        "{}/?restype=service&comp=kerbticket",
        endpoint.trim_end_matches('/')
    );
    let headers = vec![
        (
            "Authorization",
            Zeroizing::new(format!("Bearer {}", token.secret())),
        ),
        ("x-ms-version", Zeroizing::new(API_VERSION.to_string())),
        ("x-ms-date", Zeroizing::new(date.to_string())),
    ];
    (url, headers)
}

/// What a refusal of the exchange most likely means, and the fix.
fn cause(status: u16) -> &'static str {
    match status {
        400 => {
            "the request was not understood (the storage API version, or the account's endpoint)"
        }
        401 => {
            "the token was not accepted: it must be for https://storage.azure.com (no trailing \
             slash), unexpired, and from the storage account's tenant"
        }
        403 => {
            "the identity may not do this: give it the Storage File Data SMB MI Admin role on \
             the storage account (or the share)"
        }
        404 => "no such storage account or endpoint: check the account name",
        409 => {
            "SMB OAuth is not on for the storage account: az storage account update \
             --enable-smb-oauth true"
        }
        _ => "an answer the exchange does not expect",
    }
}

/// The service ticket in the `kerbticket` reply (`status`, the `x-ms-error-code` header,
/// the body): a KRB-CRED, base64 in JSON's `kerberosServiceTicket`, with a null (etype 0)
/// enc-part, its first ticket for `cifs/<host>`. Anything else is an error that names the
/// cause and shows the status and error code.
pub fn kerbticket_reply(
    host: &str,
    status: u16,
    error_code: Option<&str>,
    body: &[u8],
) -> Result<Credential> {
    if status != 200 {
        return Err(Error::SmbOAuth {
            status,
            code: error_code.map(str::to_string),
            cause: cause(status).to_string(),
        });
    }
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::Protocol(format!("the kerbticket reply is not JSON: {e}")))?;
    // The KRB-CRED holds the session key in the clear: moved out of the parsed reply, and
    // zeroized when dropped.
    let mut v = v;
    let b64 = match v
        .get_mut("kerberosServiceTicket")
        .map(serde_json::Value::take)
    {
        Some(serde_json::Value::String(s)) => Zeroizing::new(s),
        _ => {
            return Err(Error::Protocol(
                "the kerbticket reply has no kerberosServiceTicket".into(),
            ));
        }
    };
    use base64::Engine;
    let der = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| Error::Protocol(format!("kerberosServiceTicket is not base64: {e}")))?,
    );
    match KerberosMessage::from_der(&der)? {
        KerberosMessage::KrbCred(c) if c.enc_part.etype != 0 => {
            return Err(Error::Protocol(format!(
                "the storage account's KRB-CRED is encrypted (etype {}): only its null \
                 (etype 0) form is taken, as no key is shared with it",
                c.enc_part.etype
            )));
        }
        KerberosMessage::KrbCred(_) => {}
        other => {
            return Err(Error::Protocol(format!(
                "kerberosServiceTicket holds a {}, not a KRB-CRED",
                other.message_type()
            )));
        }
    }
    let cred = crate::krbcred::import(&der, None)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Protocol("the storage account's KRB-CRED holds no ticket".into()))?;
    // cifs/<host>, or, for a private endpoint's name, the canonical SPN it stands for.
    let got: Vec<String> = cred
        .server
        .name
        .name_string
        .iter()
        .map(|c| c.to_string_lossy().to_ascii_lowercase())
        .collect();
    let fits = crate::spn::spn_hosts(host, None)
        .iter()
        .any(|h| got == ["cifs".to_string(), h.clone()]);
    if !fits {
        return Err(Error::Protocol(format!(
            "the storage account's ticket is for {}, not cifs/{host} (a reply spliced from \
             another account's, or the wrong endpoint)",
            cred.server
        )));
    }
    Ok(cred)
}

/// Where a bearer token for Azure Storage comes from.
#[derive(Debug, Clone)]
pub enum TokenSource {
    /// Given by the caller.
    Given(Token),
    /// Read from a file (a token written there by another tool).
    File(String),
    /// A VM's managed identity, from IMDS ([`IMDS_ENDPOINT`] in Azure).
    ManagedIdentity {
        /// The IMDS base URL.
        endpoint: String,
        /// A user-assigned identity; the system-assigned one when `None`.
        id: Option<IdentityId>,
    },
    /// A workload identity (a federated credential: AKS, GitHub …).
    WorkloadIdentity {
        /// The Entra authority (`AZURE_AUTHORITY_HOST`; a sovereign cloud's, say).
        authority: String,
        /// The tenant (`AZURE_TENANT_ID`).
        tenant: String,
        /// The application (`AZURE_CLIENT_ID`).
        client_id: String,
        /// The federated token's file (`AZURE_FEDERATED_TOKEN_FILE`), read at each request.
        token_file: String,
    },
}

impl TokenSource {
    /// The workload identity the environment describes, as the Azure SDKs read it:
    /// `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and, optionally,
    /// `AZURE_AUTHORITY_HOST`.
    pub fn workload_from_env() -> Result<Self> {
        let var = |k: &str| {
            std::env::var(k)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "{k} is not set: a workload identity needs AZURE_FEDERATED_TOKEN_FILE, \
                     AZURE_CLIENT_ID and AZURE_TENANT_ID (set by AKS's workload identity \
                     webhook)"
                    ))
                })
        };
        Ok(Self::WorkloadIdentity {
            authority: std::env::var("AZURE_AUTHORITY_HOST")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| ENTRA_AUTHORITY.to_string()),
            tenant: var("AZURE_TENANT_ID")?,
            client_id: var("AZURE_CLIENT_ID")?,
            token_file: var("AZURE_FEDERATED_TOKEN_FILE")?,
        })
    }
}

impl TokenSource {
    /// Whose tokens these are, for people (never the token itself).
    ///
    /// ```
    /// use azkrb_cloudtgt::oauth::{IdentityId, TokenSource};
    /// let mi = TokenSource::ManagedIdentity {
    ///     endpoint: "http://169.254.169.254".into(),
    ///     id: Some(IdentityId::ClientId("c0ffee".into())),
    /// };
    /// assert_eq!(mi.describe(), "the managed identity client id c0ffee");
    /// ```
    pub fn describe(&self) -> String {
        match self {
            TokenSource::Given(_) => "a given token".into(),
            TokenSource::File(f) => format!("the token in {f}"),
            TokenSource::ManagedIdentity { id: None, .. } => {
                "the system-assigned managed identity".into()
            }
            TokenSource::ManagedIdentity { id: Some(id), .. } => format!(
                "the managed identity {}",
                match id {
                    IdentityId::ClientId(c) => format!("client id {c}"),
                    IdentityId::ObjectId(o) => format!("object id {o}"),
                    IdentityId::ResourceId(r) => format!("resource id {r}"),
                }
            ),
            TokenSource::WorkloadIdentity { client_id, .. } => {
                format!("the workload identity {client_id}")
            }
        }
    }

    /// How to get a token again, as text to keep beside a ticket (a credential cache's
    /// configuration entry): one `key=value` per line, no secret in it. `None` for a token
    /// given once (it cannot be fetched again), or a value with a line break.
    ///
    /// ```
    /// use azkrb_cloudtgt::oauth::{IdentityId, TokenSource};
    /// let mi = TokenSource::ManagedIdentity {
    ///     endpoint: "http://169.254.169.254".into(),
    ///     id: Some(IdentityId::ObjectId("0b1".into())),
    /// };
    /// let spec = mi.spec().unwrap();
    /// assert_eq!(spec, "source=managed-identity\nobject-id=0b1");
    /// let again = TokenSource::from_spec(&spec, "http://169.254.169.254", None).unwrap();
    /// assert_eq!(again.spec().unwrap(), spec);
    /// ```
    pub fn spec(&self) -> Option<String> {
        let lines: Vec<(&str, &str)> = match self {
            TokenSource::Given(_) => return None,
            TokenSource::File(f) => vec![("source", "token-file"), ("path", f)],
            TokenSource::ManagedIdentity { id, .. } => {
                let mut l = vec![("source", "managed-identity")];
                match id {
                    Some(IdentityId::ClientId(c)) => l.push(("client-id", c)),
                    Some(IdentityId::ObjectId(o)) => l.push(("object-id", o)),
                    Some(IdentityId::ResourceId(r)) => l.push(("resource-id", r)),
                    None => {}
                }
                l
            }
            TokenSource::WorkloadIdentity {
                authority,
                tenant,
                client_id,
                token_file,
            } => vec![
                ("source", "workload-identity"),
                ("authority", authority),
                ("tenant", tenant),
                ("client-id", client_id),
                ("token-file", token_file),
            ],
        };
        if lines.iter().any(|(_, v)| v.contains(['\n', '\r'])) {
            return None;
        }
        Some(
            lines
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// The source a [`spec`](Self::spec) describes (a managed identity asks IMDS at
    /// `imds_endpoint`, [`IMDS_ENDPOINT`] in Azure). A spec is read from a credential cache,
    /// which others may have written: a workload identity's federated token goes only to
    /// `authority` when given (`AZURE_AUTHORITY_HOST`, as the caller reads it), else to one
    /// of Entra's own authorities ([`ENTRA_AUTHORITIES`]), over HTTPS; files are named by
    /// absolute paths only.
    pub fn from_spec(spec: &str, imds_endpoint: &str, authority: Option<&str>) -> Result<Self> {
        let bad = |why: &str| Error::Config(format!("an SMB OAuth token source: {why}"));
        let mut fields = std::collections::BTreeMap::new();
        for line in spec.lines() {
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| bad(&format!("`{line}` is not key=value")))?;
            if fields.insert(k, v).is_some() {
                return Err(bad(&format!("{k} given twice")));
            }
        }
        let mut take = |k: &str| fields.remove(k).map(str::to_string);
        let absolute = |p: String| {
            if p.starts_with('/') {
                Ok(p)
            } else {
                Err(bad(&format!("{p} is not an absolute path")))
            }
        };
        let source = match take("source").as_deref() {
            Some("token-file") => TokenSource::File(absolute(
                take("path").ok_or_else(|| bad("a token file without a path"))?,
            )?),
            Some("managed-identity") => {
                let id = match (take("client-id"), take("object-id"), take("resource-id")) {
                    (Some(c), None, None) => Some(IdentityId::ClientId(c)),
                    (None, Some(o), None) => Some(IdentityId::ObjectId(o)),
                    (None, None, Some(r)) => Some(IdentityId::ResourceId(r)),
                    (None, None, None) => None,
                    _ => return Err(bad("a managed identity named by several ids")),
                };
                TokenSource::ManagedIdentity {
                    endpoint: imds_endpoint.to_string(),
                    id,
                }
            }
            Some("workload-identity") => {
                let mut need = |k: &str| {
                    take(k).ok_or_else(|| bad(&format!("a workload identity without {k}")))
                };
                let noted = need("authority")?;
                let authority = match authority {
                    Some(a) => a.to_string(),
                    None if ENTRA_AUTHORITIES
                        .iter()
                        .any(|e| noted.trim_end_matches('/').eq_ignore_ascii_case(e)) =>
                    {
                        noted
                    }
                    None => {
                        return Err(bad(&format!(
                            "{noted} is not one of Entra's authorities (set \
                             AZURE_AUTHORITY_HOST to use it)"
                        )));
                    }
                };
                if !authority.starts_with("https://") {
                    return Err(bad(&format!("{authority} is not HTTPS")));
                }
                TokenSource::WorkloadIdentity {
                    authority,
                    tenant: need("tenant")?,
                    client_id: need("client-id")?,
                    token_file: absolute(need("token-file")?)?,
                }
            }
            Some(other) => return Err(bad(&format!("unknown source {other}"))),
            None => return Err(bad("no source")),
        };
        if let Some(k) = fields.keys().next() {
            return Err(bad(&format!("unknown field {k}")));
        }
        Ok(source)
    }
}

/// `unix` as RFC 1123 writes it (`Tue, 02 Dec 2026 10:00:00 GMT`), for `x-ms-date`.
pub fn rfc1123(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Days to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn http_error(what: &str, e: reqwest::Error) -> Error {
    Error::Protocol(format!("{what}: {e}"))
}

/// The most a token or kerbticket reply may hold (as the KDC proxy's replies).
const MAX_BODY: usize = 1 << 20;

/// A reply's body, at most [`MAX_BODY`] bytes, zeroized when dropped (it holds a token, or
/// a session key in the clear).
async fn body(what: &str, mut r: reqwest::Response) -> Result<Zeroizing<Vec<u8>>> {
    let expected = r
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(4096)
        .min(MAX_BODY);
    let mut out = Zeroizing::new(Vec::with_capacity(expected));
    while let Some(chunk) = r.chunk().await.map_err(|e| http_error(what, e))? {
        if chunk.len() > MAX_BODY - out.len() {
            return Err(Error::Protocol(format!(
                "{what} sent a reply longer than {MAX_BODY} bytes"
            )));
        }
        if out.len() + chunk.len() > out.capacity() {
            // Grown into a new buffer by hand: the old one is zeroized as it is dropped
            // (a Vec's own growth would free it as it is).
            let want = (out.len() + chunk.len())
                .max(out.capacity() * 2)
                .min(MAX_BODY);
            let mut bigger = Zeroizing::new(Vec::with_capacity(want));
            bigger.extend_from_slice(&out);
            out = bigger;
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// IMDS is reached directly, never through a proxy (its link-local address is the VM's
/// own), with a short timeout.
fn imds_client() -> Result<reqwest::Client> {
    // Plain HTTP: no certificate is ever trusted through it.
    crate::transport::http_client(
        rustls::RootCertStore::empty(),
        std::time::Duration::from_secs(10),
        false,
    )
}

/// The storage account's kerbticket endpoint for `host` from `template`: only HTTPS, and,
/// with Azure's own template, only a host in an Azure Files zone (the token opens every
/// account the identity may use: it goes to no other host).
pub fn kerbticket_endpoint(template: &str, host: &str) -> Result<String> {
    const ZONES: [&str; 3] = [
        ".file.core.windows.net",
        ".file.core.usgovcloudapi.net",
        ".file.core.chinacloudapi.cn",
    ];
    let host = host.to_ascii_lowercase();
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !plain || (template == "https://{host}" && !ZONES.iter().any(|z| host.ends_with(z))) {
        return Err(Error::Config(format!(
            "{host}: SMB OAuth sends the token only to an Azure Files account \
             (<account>.file.core.windows.net, a sovereign cloud's, or a privatelink name)"
        )));
    }
    let url = template.replace("{host}", &host);
    if !url.starts_with("https://") {
        return Err(Error::Config(format!(
            "{url}: the kerbticket endpoint must be HTTPS (the token would travel in the clear)"
        )));
    }
    Ok(url)
}

impl crate::client::Client {
    /// A bearer token for Azure Storage from `source`.
    pub async fn smb_oauth_token(&self, source: &TokenSource) -> Result<Token> {
        let now = azkrb_asn1::KerberosTime::now().unix();
        let http = self.transport().http();
        match source {
            TokenSource::Given(t) => Ok(t.clone()),
            TokenSource::File(path) => {
                let text =
                    Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::File {
                        file: path.clone(),
                        detail: format!("{e} (the token file)"),
                    })?);
                Token::new(&text, None)
            }
            TokenSource::ManagedIdentity { endpoint, id } => {
                let url = imds_url(endpoint, id.as_ref());
                let r = imds_client()?
                    .get(&url)
                    .header("Metadata", "true")
                    .send()
                    .await
                    .map_err(|e| {
                        http_error("IMDS (is this an Azure VM with a managed identity?)", e)
                    })?;
                let status = r.status().as_u16();
                let body = body("IMDS", r).await?;
                token_from_reply("IMDS", status, &body, now)
            }
            TokenSource::WorkloadIdentity {
                authority,
                tenant,
                client_id,
                token_file,
            } => {
                let assertion =
                    Zeroizing::new(std::fs::read_to_string(token_file).map_err(|e| {
                        Error::File {
                            file: token_file.clone(),
                            detail: format!("{e} (AZURE_FEDERATED_TOKEN_FILE)"),
                        }
                    })?);
                let (url, form) = workload_request(authority, tenant, client_id, &assertion);
                let r = http
                    .post(&url)
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form.as_bytes().to_vec())
                    .send()
                    .await
                    .map_err(|e| http_error("Entra's token endpoint", e))?;
                let status = r.status().as_u16();
                let body = body("Entra's token endpoint", r).await?;
                token_from_reply("Entra's token endpoint", status, &body, now)
            }
        }
    }

    /// The service ticket for `cifs/<host>` that the storage account at `endpoint`
    /// (`https://<host>` in Azure) exchanges `token` for.
    pub async fn smb_oauth_ticket(
        &self,
        endpoint: &str,
        host: &str,
        token: &Token,
    ) -> Result<Credential> {
        let date = rfc1123(azkrb_asn1::KerberosTime::now().unix());
        let (url, headers) = kerbticket_request(endpoint, token, &date);
        let mut req = self
            .transport()
            .http()
            .post(&url)
            .body(Vec::new())
            .bearer_auth(token.secret());
        for (k, v) in headers.iter().filter(|(k, _)| *k != "Authorization") {
            req = req.header(*k, v.as_str());
        }
        let r = req
            .send()
            .await
            .map_err(|e| http_error("the storage account's kerbticket endpoint", e))?;
        let status = r.status().as_u16();
        let code = r
            .headers()
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = body("the storage account's kerbticket endpoint", r).await?;
        kerbticket_reply(host, status, code.as_deref(), &body)
    }
}

#[cfg(test)]
mod tests {
    use azkrb_asn1::krb::{EncryptedData, Ticket};
    use azkrb_asn1::{KerberosTime, TicketFlags};
    use azkrb_crypto::{EncryptionType, Key};
    use base64::Engine;

    use super::*;
    use crate::principal::Principal;

    const REALM: &str = "FILES.AZURE.STORAGE.MICROSOFT.COM";

    fn cred(host: &str) -> Credential {
        let server = Principal::cifs(host, REALM);
        Credential {
            client: Principal::parse("AzureFileClient", REALM).unwrap(),
            server: server.clone(),
            session_key: Key::new(EncryptionType::Aes256CtsHmacSha196, &[7; 32]).unwrap(),
            ticket: Ticket {
                tkt_vno: 5,
                realm: REALM.into(),
                sname: server.name.clone(),
                enc_part: EncryptedData {
                    etype: 18,
                    kvno: Some(2),
                    cipher: vec![9; 80].into(),
                },
            },
            flags: TicketFlags::RENEWABLE,
            authtime: KerberosTime::from_unix(2_000_000_000),
            starttime: None,
            endtime: KerberosTime::from_unix(2_000_086_400),
            renew_till: Some(KerberosTime::from_unix(2_000_086_400)),
        }
    }

    fn reply(der: &[u8]) -> Vec<u8> {
        serde_json::json!({
            "kerberosServiceTicket": base64::engine::general_purpose::STANDARD.encode(der),
            "expirationTime": "2033-05-18T03:33:20.000Z",
            "sessionKey": "unused",
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_kerbticket_reply_becomes_a_ticket_and_its_key() {
        let host = "acct.file.core.windows.net";
        let der = crate::krbcred::export(&[cred(host)]).unwrap();
        let got = kerbticket_reply(host, 200, None, &reply(&der)).unwrap();
        assert_eq!(got.server.to_string(), format!("cifs/{host}@{REALM}"));
        assert_eq!(got.session_key.as_bytes(), &[7; 32]);
        assert_eq!(got.ticket, cred(host).ticket);
        // For another account: refused.
        let err = kerbticket_reply("other.file.core.windows.net", 200, None, &reply(&der))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cifs/other.file.core.windows.net"), "{err}");
    }

    #[test]
    fn what_the_exchange_refuses_says_why_and_how_to_mend_it() {
        let host = "acct.file.core.windows.net";
        for (status, says) in [
            (401, "https://storage.azure.com (no trailing slash)"),
            (403, "Storage File Data SMB MI Admin"),
            (404, "account name"),
            (409, "--enable-smb-oauth true"),
        ] {
            let e = kerbticket_reply(host, status, Some("AuthorizationFailure"), b"<Error/>")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(says)
                    && e.contains(&status.to_string())
                    && e.contains("AuthorizationFailure"),
                "{e}"
            );
        }
        // Bodies that are no ticket.
        for body in [
            &b"not json"[..],
            b"{}",
            br#"{"kerberosServiceTicket":"@@@"}"#,
        ] {
            assert!(kerbticket_reply(host, 200, None, body).is_err());
        }
        // An encrypted KRB-CRED: no key is shared with the account.
        let mut c: azkrb_asn1::krb::KrbCred =
            azkrb_asn1::decode("KRB-CRED", &crate::krbcred::export(&[cred(host)]).unwrap())
                .unwrap();
        c.enc_part.etype = 18;
        let der = azkrb_asn1::encode("KRB-CRED", &c).unwrap();
        let e = kerbticket_reply(host, 200, None, &reply(&der))
            .unwrap_err()
            .to_string();
        assert!(e.contains("etype 18"), "{e}");
        // Another message altogether.
        let e = kerbticket_reply(host, 200, None, &reply(&cred(host).ticket_der().unwrap()))
            .unwrap_err()
            .to_string();
        assert!(!e.is_empty());
    }

    #[test]
    fn the_token_goes_only_to_an_azure_files_account_over_https() {
        let azure = "https://{host}";
        assert_eq!(
            kerbticket_endpoint(azure, "Acct.File.Core.Windows.Net").unwrap(),
            "https://acct.file.core.windows.net"
        );
        assert!(kerbticket_endpoint(azure, "acct.privatelink.file.core.windows.net").is_ok());
        for bad in [
            "evil.example",
            "evil.com?.file.core.windows.net",
            "a b.file.core.windows.net",
            "",
        ] {
            assert!(kerbticket_endpoint(azure, bad).is_err(), "{bad}");
        }
        assert!(
            kerbticket_endpoint("http://127.0.0.1:1/{host}", "acct.file.core.windows.net").is_err()
        );
        assert!(kerbticket_endpoint("https://127.0.0.1:1/{host}", "any.test").is_ok());
        // A privatelink name takes the canonical SPN's ticket.
        let der = crate::krbcred::export(&[cred("acct.file.core.windows.net")]).unwrap();
        assert!(
            kerbticket_reply(
                "acct.privatelink.file.core.windows.net",
                200,
                None,
                &reply(&der)
            )
            .is_ok()
        );
        // Expiry values out of range are no expiry.
        let t = token_from_reply(
            "IMDS",
            200,
            br#"{"access_token":"a.b.c","expires_in":9223372036854775807}"#,
            5,
        )
        .unwrap();
        assert_eq!(t.expires_on, None);
        assert!(!t.expires_within(i64::MIN, 300));
    }

    #[test]
    fn a_spec_from_a_cache_sends_no_token_where_the_cache_says_unless_it_is_entra() {
        let wl = |authority: &str, file: &str| {
            format!(
                "source=workload-identity\nauthority={authority}\ntenant=t\nclient-id=c\n\
                 token-file={file}"
            )
        };
        let ok = TokenSource::from_spec(
            &wl("https://login.microsoftonline.us/", "/var/run/token"),
            "",
            None,
        );
        assert!(ok.is_ok());
        for (spec, authority) in [
            // Not Entra's, unless the caller's own setting says so.
            (wl("https://evil.example", "/t"), None),
            (
                wl("http://login.microsoftonline.com", "/t"),
                Some("http://x"),
            ),
            // Relative paths (whose directory?).
            (wl("https://login.microsoftonline.com", "t"), None),
            ("source=token-file\npath=tok".into(), None),
            (
                "source=managed-identity\nclient-id=a\nobject-id=b".into(),
                None,
            ),
            ("source=managed-identity\nendpoint=http://evil".into(), None),
            ("source=given".into(), None),
            ("no equals sign".into(), None),
            ("source=token-file\npath=/a\npath=/b".into(), None),
        ] {
            assert!(
                TokenSource::from_spec(&spec, "", authority).is_err(),
                "{spec}"
            );
        }
        // The caller's authority wins over the cache's.
        let TokenSource::WorkloadIdentity { authority, .. } = TokenSource::from_spec(
            &wl("https://evil.example", "/t"),
            "",
            Some("https://login.example.test"),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(authority, "https://login.example.test");
    }

    #[test]
    fn dates_as_rfc_1123_writes_them() {
        assert_eq!(rfc1123(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(rfc1123(1_796_205_600), "Wed, 02 Dec 2026 10:00:00 GMT");
        assert_eq!(rfc1123(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn token_requests_and_replies_as_imds_and_entra_write_them() {
        let now = 1_900_000_000;
        // IMDS: numbers as strings.
        let t = token_from_reply(
            "IMDS",
            200,
            br#"{"access_token":"eyJ0eXAi.x.y","expires_on":"1900003600","resource":"https://storage.azure.com"}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.secret(), "eyJ0eXAi.x.y");
        assert_eq!(t.expires_on, Some(1_900_003_600));
        assert!(!format!("{t:?}").contains("eyJ"));
        // Entra: expires_in.
        let t = token_from_reply(
            "Entra",
            200,
            br#"{"access_token":"a.b.c","expires_in":3599}"#,
            now,
        )
        .unwrap();
        assert_eq!(t.expires_on, Some(now + 3599));
        assert!(t.expires_within(now + 3500, 300) && !t.expires_within(now, 300));
        let e = token_from_reply(
            "Entra",
            400,
            br#"{"error":"invalid_client","error_description":"AADSTS700024: assertion expired"}"#,
            now,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("invalid_client") && e.contains("AADSTS700024"),
            "{e}"
        );
        assert!(token_from_reply("IMDS", 200, br#"{"expires_in":1}"#, now).is_err());
        assert!(Token::new("two words", None).is_err() && Token::new(" \n", None).is_err());
        let (url, form) =
            workload_request("https://login.microsoftonline.us/", "t-1", "c 1", "jwt\n");
        assert_eq!(
            url,
            "https://login.microsoftonline.us/t-1/oauth2/v2.0/token"
        );
        assert!(form.contains("client_id=c%201") && !form.contains("client_assertion=jwt&"));
        assert!(form.ends_with("client_assertion=jwt"));
        assert!(form.contains("scope=https%3A%2F%2Fstorage.azure.com%2F.default"));
        let (url, headers) = kerbticket_request(
            "https://acct.file.core.windows.net/",
            &Token::new("a.b.c", None).unwrap(),
            "Tue, 02 Dec 2026 10:00:00 GMT",
        );
        assert_eq!(
            url,
            "https://acct.file.core.windows.net/?restype=service&comp=kerbticket"
        );
        assert_eq!(headers[0].1.as_str(), "Bearer a.b.c");
        assert_eq!(headers[1].1.as_str(), API_VERSION);
    }
}
