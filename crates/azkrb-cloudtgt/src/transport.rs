//! Getting request bytes to a KDC and reply bytes back: MS-KKDCP over HTTPS (rustls, no
//! OpenSSL; system roots plus an optional CA file; `HTTPS_PROXY` honoured; connections
//! reused) and RFC 4120 TCP, with failover across a realm's KDCs.

use std::sync::Arc;
use std::time::Duration;

use azkrb_asn1::KdcProxyMessage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::KdcAddress;
use crate::error::{Error, Result};

/// The largest KDC reply accepted (real ones are a few KiB; a PAC-heavy one tens of KiB).
const MAX_REPLY: usize = 1 << 20;

/// Transport settings.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// Extra CA certificates (PEM file) trusted for KDC proxies, besides the system roots.
    pub ca_file: Option<String>,
    /// Time allowed for one KDC (connect + request + reply) before trying the next.
    pub timeout: Duration,
}

impl Default for TransportOptions {
    fn default() -> Self {
        Self {
            ca_file: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Sends Kerberos messages to KDCs. Cheap to clone; clones share connections.
#[derive(Clone, Debug)]
pub struct Transport {
    http: reqwest::Client,
    timeout: Duration,
}

fn tls_config(ca_file: Option<&str>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
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
        if added == 0 {
            return Err(Error::File {
                file: path.to_string(),
                detail: "no PEM certificate in the CA file".into(),
            });
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
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
    /// A transport with these options.
    pub fn new(options: &TransportOptions) -> Result<Self> {
        let tls = tls_config(options.ca_file.as_deref())?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(options.timeout)
            .timeout(options.timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("azkrb/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            timeout: options.timeout,
        })
    }

    /// Sends `request` (a DER Kerberos message) for `realm` to the first of `kdcs` that
    /// answers, and returns the reply's DER. A KRB-ERROR is a reply, not a failure; only
    /// transport failures move on to the next KDC. The last failure is returned if none
    /// answers.
    pub async fn send(&self, kdcs: &[KdcAddress], realm: &str, request: &[u8]) -> Result<Vec<u8>> {
        let mut last = Error::Config(format!("no KDC configured for realm {realm}"));
        for kdc in kdcs {
            let result = match kdc {
                KdcAddress::Https(url) => self.kkdcp(url, realm, request).await,
                KdcAddress::Tcp(addr) => self.tcp(addr, request).await,
            };
            match result {
                Ok(reply) => return Ok(reply),
                Err(e @ Error::Http { .. }) => return Err(e),
                Err(e) => {
                    tracing::warn!(kdc = %kdc, error = %e, "KDC failed, trying the next one");
                    last = e;
                }
            }
        }
        Err(last)
    }

    /// One MS-KKDCP exchange: POST `application/kerberos` with a KDC-PROXY-MESSAGE whose
    /// target-domain is `realm`.
    pub async fn kkdcp(&self, url: &str, realm: &str, request: &[u8]) -> Result<Vec<u8>> {
        let body = KdcProxyMessage::new(request, Some(realm)).to_der()?;
        let resp = self
            .http
            .post(url)
            .header("Content-Type", "application/kerberos")
            .header("Cache-Control", "no-cache")
            .body(body)
            .send()
            .await
            .map_err(|e| classify(url, self.timeout, e))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(Error::Http {
                url: url.to_string(),
                status,
            });
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| classify(url, self.timeout, e))?;
        if bytes.len() > MAX_REPLY {
            return Err(Error::Protocol(format!(
                "{url} sent a {} byte reply",
                bytes.len()
            )));
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
