//! Getting request bytes to a KDC and reply bytes back: MS-KKDCP over HTTPS (rustls, no
//! OpenSSL; system roots plus an optional CA file, or a realm's own `http_anchors`;
//! `HTTPS_PROXY` honoured; connections reused; redirects refused; replies bounded while
//! they are read) and RFC 4120 TCP, with failover across a realm's KDCs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use azkrb_asn1::KdcProxyMessage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backoff::Backoff;
use crate::config::{HttpAnchor, KdcAddress};
use crate::error::{Error, Result};

/// The largest KDC reply accepted (real ones are a few KiB; a PAC-heavy one tens of KiB).
const MAX_REPLY: usize = 1 << 20;

/// Transport settings.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Extra CA certificates (PEM file) trusted for KDC proxies, besides the system roots
    /// (not for a realm with its own `http_anchors`: see [`Transport::with_anchors`]).
    pub ca_file: Option<String>,
    /// Time allowed for one attempt at one KDC (connect + request + reply).
    pub timeout: Duration,
    /// Attempts per KDC while it fails in a way that may pass (unreachable, timed out, HTTP
    /// 5xx, 408 or 429), before the next KDC is tried.
    pub attempts: u32,
    /// The wait before a KDC's second attempt; doubled for each further one, with jitter.
    pub backoff: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            ca_file: None,
            timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

/// The longest wait between two attempts at one KDC.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// A failure that may pass if the same KDC is asked again a little later.
fn transient(e: &Error) -> bool {
    match e {
        Error::Unreachable { .. } | Error::Timeout { .. } => true,
        Error::Http { status, .. } => matches!(status, 408 | 429 | 500..=599),
        _ => false,
    }
}

/// Sends Kerberos messages to KDCs. Cheap to clone; clones share connections.
#[derive(Clone, Debug)]
pub struct Transport {
    /// For KDC proxies of realms without `http_anchors`: system roots plus the CA file.
    http: reqwest::Client,
    /// For KDC proxies of realms with `http_anchors`: only those anchors are trusted. When
    /// they cannot be used, why (reported when the realm's proxies are contacted).
    anchored: BTreeMap<String, std::result::Result<reqwest::Client, AnchorFailure>>,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
}

/// Why a realm's `http_anchors` cannot be used: kept to fail that realm's KDC proxy
/// exchanges with, so that a broken anchor of one realm does not stop the others.
#[derive(Clone, Debug)]
struct AnchorFailure {
    file: Option<String>,
    detail: String,
}

impl AnchorFailure {
    fn new(realm: &str, e: Error) -> Self {
        let context = format!("(the http_anchors of realm {realm})");
        match e {
            Error::File { file, detail } => Self {
                file: Some(file),
                detail: format!("{detail} {context}"),
            },
            Error::Config(detail) => Self { file: None, detail },
            other => Self {
                file: None,
                detail: format!("{other} {context}"),
            },
        }
    }

    fn error(&self) -> Error {
        match &self.file {
            Some(file) => Error::File {
                file: file.clone(),
                detail: self.detail.clone(),
            },
            None => Error::Config(self.detail.clone()),
        }
    }
}

/// Adds every PEM certificate of `path` to `roots`; returns how many.
fn add_pem_file(roots: &mut rustls::RootCertStore, path: &str) -> Result<usize> {
    let pem = std::fs::read(path).map_err(|e| Error::File {
        file: path.to_string(),
        detail: e.to_string(),
    })?;
    let mut added = 0;
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|e| Error::File {
            file: path.to_string(),
            detail: format!("not a PEM certificate file: {e}"),
        })?;
        roots.add(cert).map_err(|e| Error::File {
            file: path.to_string(),
            detail: format!("unusable CA certificate: {e}"),
        })?;
        added += 1;
    }
    Ok(added)
}

/// The system roots, plus the certificates of `ca_file`.
fn system_roots(ca_file: Option<&str>) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file
        && add_pem_file(&mut roots, path)? == 0
    {
        return Err(Error::File {
            file: path.to_string(),
            detail: "no PEM certificate in the CA file".into(),
        });
    }
    Ok(roots)
}

/// The trust anchors of `realm`'s KDC proxies (MIT's `http_anchors`): these alone, not
/// the system roots.
fn anchor_roots(realm: &str, anchors: &[HttpAnchor]) -> Result<rustls::RootCertStore> {
    let mut roots = rustls::RootCertStore::empty();
    for anchor in anchors {
        match anchor {
            HttpAnchor::File(path) => {
                if add_pem_file(&mut roots, path)? == 0 {
                    return Err(Error::File {
                        file: path.clone(),
                        detail: "no PEM certificate in the file".into(),
                    });
                }
            }
            HttpAnchor::Unsupported(v) => {
                return Err(Error::Config(format!(
                    "realm {realm}: http_anchors = {v} is not supported; write FILE:/path/ca.pem (a PEM file) or DIR:/path (a directory of PEM files)"
                )));
            }
            HttpAnchor::Dir(dir) => {
                let entries = std::fs::read_dir(dir).map_err(|e| Error::File {
                    file: dir.clone(),
                    detail: e.to_string(),
                })?;
                let mut added = 0;
                for entry in entries.flatten() {
                    let path = entry.path();
                    // Files only (OpenSSL's hashed names are often links to them); files
                    // that hold no certificate are skipped, as OpenSSL does.
                    if !path.is_file() {
                        continue;
                    }
                    if let Some(p) = path.to_str() {
                        added += add_pem_file(&mut roots, p).unwrap_or(0);
                    }
                }
                if added == 0 {
                    return Err(Error::File {
                        file: dir.clone(),
                        detail: "no PEM certificate in the directory's files".into(),
                    });
                }
            }
        }
    }
    if roots.is_empty() {
        return Err(Error::Config(format!(
            "realm {realm}: http_anchors names no certificate"
        )));
    }
    Ok(roots)
}

fn tls_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// An HTTP client trusting `roots`. Redirects are never followed: a KDC proxy that
/// redirects is misconfigured, and following one would send Kerberos messages where
/// nobody configured them to go.
pub(crate) fn http_client(
    roots: rustls::RootCertStore,
    timeout: Duration,
    use_proxy: bool,
) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config(roots)?)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(90))
        .user_agent(concat!("azkrb/", env!("CARGO_PKG_VERSION")));
    if !use_proxy {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))
}

/// Classifies a reqwest error: TLS, timeout, or unreachable.
fn classify(url: &str, timeout: Duration, err: reqwest::Error) -> Error {
    if err.is_timeout() {
        return Error::Timeout {
            target: url.to_string(),
            seconds: timeout.as_secs(),
        };
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    while let Some(e) = source {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Error::Tls {
                url: url.to_string(),
                detail: tls.to_string(),
            };
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Error::Tls {
                url: url.to_string(),
                detail: tls.to_string(),
            };
        }
        source = e.source();
    }
    let mut detail = err.to_string();
    let mut s = std::error::Error::source(&err);
    while let Some(e) = s {
        detail = format!("{detail}: {e}");
        s = e.source();
    }
    // rustls errors that reach us boxed in a type we cannot name (hyper's connector error)
    // still say what they are.
    let lower = detail.to_ascii_lowercase();
    if lower.contains("certificate")
        || lower.contains("tls handshake")
        || lower.contains("invalid peer")
    {
        let short = detail.rsplit(": ").next().unwrap_or(&detail).to_string();
        return Error::Tls {
            url: url.to_string(),
            detail: short,
        };
    }
    Error::Unreachable {
        target: url.to_string(),
        detail,
    }
}

impl Transport {
    /// The HTTP client of realms without `http_anchors` (system roots plus the CA file, the
    /// environment's proxy, no redirects): what SMB OAuth's token and ticket requests use.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A transport with these options (every realm's KDC proxies checked against the
    /// system roots and `options.ca_file`).
    pub fn new(options: &TransportOptions) -> Result<Self> {
        Self::with_anchors(options, &BTreeMap::new())
    }

    /// A transport with these options, where the KDC proxies of each realm in `anchors`
    /// (krb5.conf's `http_anchors`, see [`crate::RealmConfig::http_anchors`]) are trusted
    /// only if their certificate chains to that realm's anchors, as MIT krb5 does: for such
    /// a realm neither the system roots nor `options.ca_file` count. Anchors that cannot be
    /// used (a missing or empty file, an unsupported form) fail that realm's KDC proxy
    /// exchanges with an error saying why, and only those; an unusable `options.ca_file`
    /// is an error here.
    pub fn with_anchors(
        options: &TransportOptions,
        anchors: &BTreeMap<String, Vec<HttpAnchor>>,
    ) -> Result<Self> {
        Self::build(options, anchors, true)
    }

    fn build(
        options: &TransportOptions,
        anchors: &BTreeMap<String, Vec<HttpAnchor>>,
        use_proxy: bool,
    ) -> Result<Self> {
        let http = http_client(
            system_roots(options.ca_file.as_deref())?,
            options.timeout,
            use_proxy,
        )?;
        let mut anchored = BTreeMap::new();
        for (realm, list) in anchors {
            let client = anchor_roots(realm, list)
                .and_then(|roots| http_client(roots, options.timeout, use_proxy))
                .map_err(|e| AnchorFailure::new(realm, e));
            if let Err(f) = &client {
                tracing::warn!(
                    realm = %realm,
                    error = %f.error(),
                    "unusable http_anchors: the realm's KDC proxies will be refused"
                );
            }
            anchored.insert(realm.clone(), client);
        }
        Ok(Self {
            http,
            anchored,
            timeout: options.timeout,
            attempts: options.attempts.max(1),
            backoff: options.backoff,
        })
    }

    /// The realms whose KDC proxies are checked against their own `http_anchors`.
    pub fn anchored_realms(&self) -> impl Iterator<Item = &str> {
        self.anchored.keys().map(String::as_str)
    }

    /// The HTTP client for `realm`'s KDC proxies.
    fn http_for(&self, realm: &str) -> Result<&reqwest::Client> {
        match self.anchored.get(realm) {
            Some(Ok(client)) => Ok(client),
            Some(Err(failure)) => Err(failure.error()),
            None => Ok(&self.http),
        }
    }

    /// Sends `request` (a DER Kerberos message) for `realm` to the first of `kdcs` that
    /// answers, and returns the reply's DER. A KRB-ERROR is a reply, not a failure. A KDC
    /// that fails in a way that may pass (unreachable, timed out, HTTP 5xx, 408, 429) is
    /// asked again, up to the configured attempts with backoff and jitter, then the next KDC
    /// is; TLS failures and malformed replies move on to the next KDC at once; an HTTP 4xx
    /// or a redirect (a proxy set up wrong) ends the search. When every KDC failed, the
    /// error names each with its last failure.
    pub async fn send(&self, kdcs: &[KdcAddress], realm: &str, request: &[u8]) -> Result<Vec<u8>> {
        let mut tried: Vec<(String, Error, u32)> = Vec::new();
        for kdc in kdcs {
            let mut backoff = Backoff::new(self.backoff, MAX_BACKOFF);
            let mut attempt = 0;
            let last = loop {
                attempt += 1;
                let result = match kdc {
                    KdcAddress::Https(url) => self.kkdcp(url, realm, request).await,
                    KdcAddress::Tcp(addr) => self.tcp(addr, request).await,
                };
                match result {
                    Ok(reply) => return Ok(reply),
                    // A proxy that refuses the request (HTTP 4xx) or sends it elsewhere is
                    // set up wrong: no other answer is sought.
                    Err(e @ (Error::Http { .. } | Error::Redirect { .. })) if !transient(&e) => {
                        return Err(e);
                    }
                    // TLS refused, a malformed reply: this KDC will not do, the next may.
                    Err(e) if !transient(&e) => break e,
                    Err(e) if attempt >= self.attempts => break e,
                    Err(e) => {
                        tracing::info!(kdc = %kdc, attempt, error = %e, "KDC failed, asking again");
                        backoff.wait().await;
                    }
                }
            };
            tracing::warn!(kdc = %kdc, error = %last, "KDC failed, trying the next one");
            tried.push((kdc.to_string(), last, attempt));
        }
        match tried.len() {
            0 => Err(Error::Config(format!(
                "no KDC configured for realm {realm}"
            ))),
            // One KDC: its own error names it.
            1 => Err(tried.remove(0).1),
            _ => Err(Error::NoKdcAnswered {
                realm: realm.to_string(),
                tried: tried
                    .into_iter()
                    // Each error names its KDC.
                    .map(|(_, e, n)| format!("{e} ({n} attempt(s))"))
                    .collect(),
            }),
        }
    }

    /// One MS-KKDCP exchange: POST `application/kerberos` with a KDC-PROXY-MESSAGE whose
    /// target-domain is `realm`, to a proxy trusted as `realm`'s (its `http_anchors`, if
    /// any). A redirect is an error (it is not followed); a reply longer than 1 MiB is
    /// refused as soon as it is known to be: from its Content-Length, or while it is read.
    pub async fn kkdcp(&self, url: &str, realm: &str, request: &[u8]) -> Result<Vec<u8>> {
        let body = KdcProxyMessage::new(request, Some(realm)).to_der()?;
        let mut resp = self
            .http_for(realm)?
            .post(url)
            .header("Content-Type", "application/kerberos")
            .header("Cache-Control", "no-cache")
            .body(body)
            .send()
            .await
            .map_err(|e| classify(url, self.timeout, e))?;
        let status = resp.status();
        if status.is_redirection() {
            let location = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|l| {
                    // Shown to the user: bounded, and without control characters.
                    let text = String::from_utf8_lossy(l.as_bytes());
                    text.chars()
                        .filter(|c| !c.is_control())
                        .take(300)
                        .collect::<String>()
                })
                .unwrap_or_else(|| "(no Location header)".to_string());
            return Err(Error::Redirect {
                url: url.to_string(),
                status: status.as_u16(),
                location,
            });
        }
        if status.as_u16() != 200 {
            return Err(Error::Http {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        if let Some(len) = resp.content_length()
            && len > MAX_REPLY as u64
        {
            return Err(Error::Protocol(format!(
                "{url} announced a {len} byte reply (at most {MAX_REPLY} are accepted)"
            )));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| classify(url, self.timeout, e))?
        {
            if chunk.len() > MAX_REPLY - bytes.len() {
                return Err(Error::Protocol(format!(
                    "{url} sent a reply longer than {MAX_REPLY} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let reply = KdcProxyMessage::from_der(&bytes)?;
        Ok(reply.message()?.to_vec())
    }

    /// One exchange with a KDC over TCP (4-byte length prefix, RFC 4120 §7.2.2).
    pub async fn tcp(&self, addr: &str, request: &[u8]) -> Result<Vec<u8>> {
        let timeout = self.timeout;
        let work = async {
            let mut s =
                tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(|e| Error::Unreachable {
                        target: addr.to_string(),
                        detail: e.to_string(),
                    })?;
            let io = |e: std::io::Error| Error::Unreachable {
                target: addr.to_string(),
                detail: e.to_string(),
            };
            s.write_all(&azkrb_asn1::kkdcp::add_length_prefix(request))
                .await
                .map_err(io)?;
            let mut len = [0u8; 4];
            s.read_exact(&mut len).await.map_err(io)?;
            let len = u32::from_be_bytes(len) as usize;
            if len > MAX_REPLY {
                return Err(Error::Protocol(format!(
                    "{addr} announced a {len} byte reply"
                )));
            }
            let mut reply = vec![0u8; len];
            s.read_exact(&mut reply).await.map_err(io)?;
            Ok(reply)
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| Error::Timeout {
                target: addr.to_string(),
                seconds: timeout.as_secs(),
            })?
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::Instant;

    use super::*;

    /// A transport that ignores any proxy settings of the environment (the test servers
    /// are local and speak plain HTTP; `kkdcp` takes whatever URL it is given).
    fn direct(timeout: Duration) -> Transport {
        let options = TransportOptions {
            ca_file: None,
            timeout,
            attempts: 1,
            ..TransportOptions::default()
        };
        Transport::build(&options, &BTreeMap::new(), false).unwrap()
    }

    /// Reads one HTTP/1.1 request (headers, then a Content-Length body).
    fn read_request(s: &mut TcpStream) {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            if s.read(&mut byte).unwrap() == 0 {
                return;
            }
            buf.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).unwrap();
    }

    /// Waits (bounded) until the client closes the connection.
    fn wait_for_close(s: &mut TcpStream) {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut sink = [0u8; 4096];
        while matches!(s.read(&mut sink), Ok(n) if n > 0) {}
    }

    #[tokio::test]
    async fn a_streamed_reply_is_refused_as_soon_as_it_passes_the_limit() {
        const TOTAL: usize = 64 << 20;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // A proxy that streams 64 MiB in chunks, with no Content-Length.
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
            read_request(&mut s);
            s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/kerberos\r\n\
                  Transfer-Encoding: chunked\r\n\r\n",
            )
            .unwrap();
            let chunk = vec![0x30u8; 64 << 10];
            let head = format!("{:x}\r\n", chunk.len());
            let mut sent = 0;
            while sent < TOTAL {
                let wrote = s
                    .write_all(head.as_bytes())
                    .and_then(|()| s.write_all(&chunk))
                    .and_then(|()| s.write_all(b"\r\n"));
                if wrote.is_err() {
                    break;
                }
                sent += chunk.len();
            }
            let _ = s.write_all(b"0\r\n\r\n");
            sent
        });
        let t = direct(Duration::from_secs(30));
        let start = Instant::now();
        let e = t
            .kkdcp(&format!("http://{addr}/kerberos"), "EXAMPLE.TEST", b"req")
            .await
            .unwrap_err();
        let elapsed = start.elapsed();
        drop(t);
        let sent = tokio::task::spawn_blocking(move || server.join().unwrap())
            .await
            .unwrap();
        assert!(
            matches!(&e, Error::Protocol(m) if m.contains(&format!("longer than {MAX_REPLY} bytes"))),
            "{e}"
        );
        assert!(
            sent < TOTAL,
            "the client read the whole {TOTAL} byte reply before refusing it"
        );
        assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    }

    #[tokio::test]
    async fn a_reply_announced_too_long_is_refused_before_its_body() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Announces 2 MiB, sends none of it, and waits for the client to give up.
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            read_request(&mut s);
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2097152\r\n\r\n")
                .unwrap();
            wait_for_close(&mut s);
        });
        let t = direct(Duration::from_secs(8));
        let start = Instant::now();
        let e = t
            .kkdcp(&format!("http://{addr}/kerberos"), "EXAMPLE.TEST", b"req")
            .await
            .unwrap_err();
        let elapsed = start.elapsed();
        drop(t);
        tokio::task::spawn_blocking(move || server.join().unwrap())
            .await
            .unwrap();
        assert!(
            matches!(&e, Error::Protocol(m) if m.contains("announced a 2097152 byte reply")),
            "{e}"
        );
        assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    }

    #[tokio::test]
    async fn redirects_are_refused_and_never_followed() {
        for status in [
            "302 Found",
            "307 Temporary Redirect",
            "308 Permanent Redirect",
        ] {
            // Where the redirect points: it must never hear from the client.
            let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
            elsewhere.set_nonblocking(true).unwrap();
            let target = format!("http://{}/kerberos", elsewhere.local_addr().unwrap());
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let location = target.clone();
            let server = std::thread::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                read_request(&mut s);
                s.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .unwrap();
                wait_for_close(&mut s);
            });
            let t = direct(Duration::from_secs(3));
            let url = format!("http://{addr}/kerberos");
            // Through send(): a redirect is final, not a reason to try the next KDC.
            let next = TcpListener::bind("127.0.0.1:0").unwrap();
            next.set_nonblocking(true).unwrap();
            let kdcs = [
                KdcAddress::Https(url.clone()),
                KdcAddress::Tcp(next.local_addr().unwrap().to_string()),
            ];
            let e = t.send(&kdcs, "EXAMPLE.TEST", b"req").await.unwrap_err();
            drop(t);
            tokio::task::spawn_blocking(move || server.join().unwrap())
                .await
                .unwrap();
            assert!(
                matches!(elsewhere.accept(), Err(ref x) if x.kind() == std::io::ErrorKind::WouldBlock),
                "{status}: the redirect was followed ({e})"
            );
            match &e {
                Error::Redirect {
                    url: u,
                    status: code,
                    location: l,
                } => {
                    assert_eq!(u, &url);
                    assert_eq!(code.to_string(), status[..3]);
                    assert_eq!(l, &target);
                }
                other => panic!("{status}: expected a redirect error, got {other}"),
            }
            assert!(e.to_string().contains(&target), "{e}");
            assert!(
                matches!(next.accept(), Err(ref x) if x.kind() == std::io::ErrorKind::WouldBlock),
                "{status}: the next KDC was tried after a redirect"
            );
        }
    }

    #[tokio::test]
    async fn a_reply_within_the_limit_is_read_whole() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = vec![0x6bu8; 300_000];
        let body = KdcProxyMessage::new(&inner, None).to_der().unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            read_request(&mut s);
            // Chunked, in pieces, no Content-Length.
            s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap();
            for piece in body.chunks(7000) {
                s.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                    .unwrap();
                s.write_all(piece).unwrap();
                s.write_all(b"\r\n").unwrap();
            }
            s.write_all(b"0\r\n\r\n").unwrap();
            wait_for_close(&mut s);
        });
        let t = direct(Duration::from_secs(10));
        let reply = t
            .kkdcp(&format!("http://{addr}/kerberos"), "EXAMPLE.TEST", b"req")
            .await
            .unwrap();
        drop(t);
        tokio::task::spawn_blocking(move || server.join().unwrap())
            .await
            .unwrap();
        assert_eq!(reply, inner);
    }

    #[tokio::test]
    async fn a_proxy_that_answers_503_is_asked_again_until_it_answers() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let inner = vec![0x6bu8; 100];
        let body = KdcProxyMessage::new(&inner, None).to_der().unwrap();
        // Busy twice (a fresh connection each time: the client may not reuse one), then an
        // answer.
        let server = std::thread::spawn(move || {
            for _ in 0..2 {
                let (mut s, _) = listener.accept().unwrap();
                read_request(&mut s);
                s.write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .unwrap();
            }
            let (mut s, _) = listener.accept().unwrap();
            read_request(&mut s);
            s.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .unwrap();
            s.write_all(&body).unwrap();
            wait_for_close(&mut s);
        });
        let options = TransportOptions {
            attempts: 3,
            backoff: Duration::from_millis(50),
            ..TransportOptions::default()
        };
        let t = Transport::build(&options, &BTreeMap::new(), false).unwrap();
        let url = format!("http://{addr}/kerberos");
        let started = Instant::now();
        let reply = t
            .send(&[KdcAddress::Https(url)], "EXAMPLE.TEST", b"req")
            .await
            .unwrap();
        // 50 ms, then 100 ms (each plus up to as much jitter).
        assert!(started.elapsed() >= Duration::from_millis(150));
        drop(t);
        tokio::task::spawn_blocking(move || server.join().unwrap())
            .await
            .unwrap();
        assert_eq!(reply, inner);
    }
}
