//! krb5.conf `http_anchors`: a realm's KDC proxies are trusted through its own anchors
//! (MIT semantics: those alone), against a local TLS "proxy" whose certificate is issued by
//! the test CA of tests/fixtures/tls (make.sh there regenerates it).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use azkrb_cloudtgt::{Client, Error, Principal, RealmConfig, TransportOptions};

fn tls_fixture(name: &str) -> String {
    format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A TLS server on 127.0.0.1 presenting the test CA's server certificate; it answers every
/// request it can read with HTTP 404 (so a 404 proves the TLS handshake was trusted).
fn tls_proxy() -> String {
    let pem = |name: &str| std::fs::read(tls_fixture(name)).unwrap();
    let certs = rustls_pemfile::certs(&mut pem("server.pem").as_slice())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls_pemfile::private_key(&mut pem("server.key").as_slice())
        .unwrap()
        .unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/kerberos", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
                // Headers, then the body (a handshake the client refused ends here).
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    match tls.read_line(&mut line) {
                        Ok(n) if n > 0 => {}
                        _ => return,
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut body = vec![0u8; len];
                if tls.read_exact(&mut body).is_err() {
                    return;
                }
                let tls = tls.get_mut();
                let _ = tls.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    url
}

fn options(ca_file: Option<String>) -> TransportOptions {
    TransportOptions {
        ca_file,
        timeout: Duration::from_secs(5),
        ..TransportOptions::default()
    }
}

/// What logging in to `realm` through its configured proxy gives.
async fn login(client: &Client, realm: &str) -> Error {
    let alice = Principal::parse("alice", realm).unwrap();
    client.login_password(&alice, "pw").await.unwrap_err()
}

#[tokio::test]
async fn http_anchors_file_is_the_trust_anchor_of_its_realm() {
    let url = tls_proxy();
    let conf = format!(
        "[realms]\n ANCHORED.TEST = {{\n  kdc = {url}\n  http_anchors = FILE:{}\n }}\n \
         PLAIN.TEST = {{\n  kdc = {url}\n }}\n",
        tls_fixture("ca.pem")
    );
    let client = Client::new(RealmConfig::parse(&conf).unwrap(), &options(None)).unwrap();
    // The realm with the anchor trusts the proxy: the request reaches it (HTTP 404).
    let e = login(&client, "ANCHORED.TEST").await;
    assert!(matches!(e, Error::Http { status: 404, .. }), "{e}");
    // The same proxy for a realm without anchors: the system roots do not know the CA.
    let e = login(&client, "PLAIN.TEST").await;
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    assert_eq!(
        client.transport().anchored_realms().collect::<Vec<_>>(),
        ["ANCHORED.TEST"]
    );
}

#[tokio::test]
async fn http_anchors_dir_holds_the_anchors() {
    let url = tls_proxy();
    let dir = std::env::temp_dir().join(format!("azkrb-anchors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(tls_fixture("ca.pem"), dir.join("5f0a1b2c.0")).unwrap();
    std::fs::write(dir.join("README"), "not a certificate\n").unwrap();
    std::fs::create_dir_all(dir.join("subdir")).unwrap();
    let conf = format!(
        "[realms]\n ANCHORED.TEST = {{\n  kdc = {url}\n  http_anchors = DIR:{}\n }}\n",
        dir.display()
    );
    let client = Client::new(RealmConfig::parse(&conf).unwrap(), &options(None));
    let _ = std::fs::remove_dir_all(&dir);
    let e = login(&client.unwrap(), "ANCHORED.TEST").await;
    assert!(matches!(e, Error::Http { status: 404, .. }), "{e}");
}

#[tokio::test]
async fn http_anchors_replace_the_system_roots_and_the_ca_file() {
    let url = tls_proxy();
    // ca_file trusts the proxy's CA, but ANCHORED.TEST names another CA as its anchor: as
    // in MIT krb5, the realm's anchors alone decide.
    let conf = format!(
        "[realms]\n ANCHORED.TEST = {{\n  kdc = {url}\n  http_anchors = FILE:{}\n }}\n \
         PLAIN.TEST = {{\n  kdc = {url}\n }}\n",
        tls_fixture("other-ca.pem")
    );
    let client = Client::new(
        RealmConfig::parse(&conf).unwrap(),
        &options(Some(tls_fixture("ca.pem"))),
    )
    .unwrap();
    let e = login(&client, "ANCHORED.TEST").await;
    assert!(matches!(e, Error::Tls { .. }), "{e}");
    // Realms without anchors still use the CA file.
    let e = login(&client, "PLAIN.TEST").await;
    assert!(matches!(e, Error::Http { status: 404, .. }), "{e}");
    // Several anchors for one realm: any of them will do.
    let conf = format!(
        "[realms]\n ANCHORED.TEST = {{\n  kdc = {url}\n  http_anchors = FILE:{}\n  \
         http_anchors = FILE:{}\n }}\n",
        tls_fixture("other-ca.pem"),
        tls_fixture("ca.pem")
    );
    let client = Client::new(RealmConfig::parse(&conf).unwrap(), &options(None)).unwrap();
    let e = login(&client, "ANCHORED.TEST").await;
    assert!(matches!(e, Error::Http { status: 404, .. }), "{e}");
}

#[tokio::test]
async fn unusable_http_anchors_refuse_their_realm_only() {
    let url = tls_proxy();
    let conf = |anchor: &str| {
        format!(
            "[realms]\n R = {{\n  kdc = {url}\n  http_anchors = {anchor}\n }}\n \
             PLAIN.TEST = {{\n  kdc = {url}\n }}\n"
        )
    };
    let make = |anchor: &str| {
        Client::new(
            RealmConfig::parse(&conf(anchor)).unwrap(),
            &options(Some(tls_fixture("ca.pem"))),
        )
        .unwrap()
    };
    // Unsupported forms: the error says what to write.
    for bad in ["ENV:KRB5_ANCHOR", "/etc/ssl/ca.pem", "PKCS11:x", "FILE:"] {
        let client = make(bad);
        let e = login(&client, "R").await.to_string();
        assert!(
            e.contains("realm R") && e.contains("not supported") && e.contains("FILE:/path"),
            "{bad}: {e}"
        );
        // Other realms are not affected (and R does not fall back to the CA file).
        let e = login(&client, "PLAIN.TEST").await;
        assert!(matches!(e, Error::Http { status: 404, .. }), "{bad}: {e}");
    }
    // A missing file, a file without certificates, a missing directory.
    let missing = tls_fixture("missing.pem");
    let empty = tls_fixture("make.sh");
    for (anchor, want) in [
        (format!("FILE:{missing}"), missing.as_str()),
        (format!("FILE:{empty}"), "no PEM certificate"),
        ("DIR:/nonexistent-azkrb".to_string(), "/nonexistent-azkrb"),
    ] {
        let client = make(&anchor);
        let e = login(&client, "R").await;
        assert!(matches!(e, Error::File { .. }), "{anchor}: {e}");
        let e = e.to_string();
        assert!(
            e.contains(want) && e.contains("http_anchors of realm R"),
            "{anchor}: {e}"
        );
        let e = login(&client, "PLAIN.TEST").await;
        assert!(
            matches!(e, Error::Http { status: 404, .. }),
            "{anchor}: {e}"
        );
    }
}
