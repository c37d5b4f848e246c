//! azkrb-smb3 against a hostile network: a man-in-the-middle between the client and the
//! lab's real smbd (SMB 3.1.1, AES-256-GCM required) injects what no honest server sends.
//! Nothing forged may reach the caller as data: the connection fails, loudly.

use std::sync::Arc;
use std::time::Duration;

use azkrb::KerberosAuth;
use azkrb_smb3::msg::NegotiateOptions;
use azkrb_smb3::{Cipher, Connection, Dialect, Error, OpenOptions, Security, Session, Tree};
use azkrb_test_support::{kerberos_client, lab, lab_user};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Env = std::collections::HashMap<String, String>;

const FORGED: &[u8] = b"FORGED BY THE PATH: this is not what the server holds";

/// What the man in the middle injects towards the client.
#[derive(Clone, Copy)]
enum Forgery {
    /// Plaintext READ responses with this SessionId, for MessageIds 2..65, sent just before
    /// an encrypted request of READ size is forwarded.
    PlainRead { session_id: u64 },
    /// The client's NEGOTIATE offer loses 3.1.1 (rewritten to 3.0) on its way, so the
    /// server picks 3.0.2: a downgrade no preauth hash can see.
    Downgrade,
}

/// A plaintext SMB2 READ response carrying `data`.
fn forged_read(message_id: u64, session_id: u64, data: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&[0xfe, b'S', b'M', b'B']);
    m.extend_from_slice(&64u16.to_le_bytes());
    m.extend_from_slice(&1u16.to_le_bytes()); // CreditCharge
    m.extend_from_slice(&0u32.to_le_bytes()); // STATUS_SUCCESS
    m.extend_from_slice(&8u16.to_le_bytes()); // READ
    m.extend_from_slice(&1u16.to_le_bytes()); // credits
    m.extend_from_slice(&1u32.to_le_bytes()); // SERVER_TO_REDIR
    m.extend_from_slice(&0u32.to_le_bytes()); // NextCommand
    m.extend_from_slice(&message_id.to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes()); // TreeId
    m.extend_from_slice(&session_id.to_le_bytes());
    m.extend_from_slice(&[0u8; 16]);
    m.extend_from_slice(&17u16.to_le_bytes());
    m.push(80); // DataOffset
    m.push(0);
    m.extend_from_slice(&(data.len() as u32).to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes());
    m.extend_from_slice(&0u32.to_le_bytes());
    m.extend_from_slice(data);
    let mut f = (m.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(&m);
    f
}

/// Reads one NetBIOS-framed message (prefix included).
async fn frame(r: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    let n = u32::from_be_bytes(len) as usize;
    let mut f = len.to_vec();
    f.resize(4 + n, 0);
    r.read_exact(&mut f[4..]).await?;
    Ok(f)
}

/// A proxy on 127.0.0.1 in front of `upstream` that injects `forgery`; returns its address.
async fn man_in_the_middle(upstream: String, forgery: Forgery) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let server = TcpStream::connect(&upstream).await.unwrap();
        let (mut cr, cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let cw = Arc::new(tokio::sync::Mutex::new(cw));
        let down = Arc::clone(&cw);
        tokio::spawn(async move {
            while let Ok(f) = frame(&mut sr).await {
                if down.lock().await.write_all(&f).await.is_err() {
                    return;
                }
            }
        });
        let mut injected = false;
        while let Ok(mut f) = frame(&mut cr).await {
            if let Forgery::Downgrade = forgery
                && f.get(4 + 12..4 + 14) == Some(&[0, 0][..])
                && f.get(4..8) == Some(&[0xfe, b'S', b'M', b'B'][..])
            {
                // NEGOTIATE: DialectCount at body offset 2, the dialects from offset 36.
                let count = u16::from_le_bytes([f[4 + 66], f[4 + 67]]) as usize;
                for i in 0..count {
                    let at = 4 + 64 + 36 + 2 * i;
                    if f[at..at + 2] == 0x0311u16.to_le_bytes() {
                        f[at..at + 2].copy_from_slice(&0x0300u16.to_le_bytes());
                    }
                }
            }
            // An encrypted READ request: TRANSFORM_HEADER + SMB2 header + 49-byte body.
            let encrypted = f.get(4..8) == Some(&[0xfd, b'S', b'M', b'B'][..]);
            if let Forgery::PlainRead { session_id } = forgery
                && encrypted
                && f.len() == 4 + 52 + 64 + 49
                && !injected
            {
                injected = true;
                let mut w = cw.lock().await;
                for id in 2..66 {
                    let _ = w.write_all(&forged_read(id, session_id, FORGED)).await;
                }
                // Let the forgeries arrive before the server's answer can.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if sw.write_all(&f).await.is_err() {
                return;
            }
        }
    });
    addr
}

async fn encrypted_tree(env: &Env, addr: &str) -> Tree {
    let opts = NegotiateOptions {
        ciphers: vec![Cipher::Aes256Gcm],
        server_name: env["AZKRB_LAB_HOST"].clone(),
        ..Default::default()
    };
    let conn = Connection::connect(addr, &opts, Duration::from_secs(20))
        .await
        .unwrap();
    let c = kerberos_client(env);
    let tgt = c
        .login_password(&lab_user(env), &env["AZKRB_LAB_PASSWORD"])
        .await
        .unwrap();
    let ticket = c.cifs_ticket(&tgt, &env["AZKRB_LAB_HOST"]).await.unwrap();
    let mut auth = KerberosAuth::new(ticket).unwrap();
    let security = Security {
        require_encryption: true,
        ..Default::default()
    };
    let session = Session::setup(&conn, &mut auth, security).await.unwrap();
    assert!(session.encrypted);
    session
        .tree_connect(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_SHARE"])
        .await
        .unwrap()
}

/// Forged plaintext READ responses (SessionId 0, then a SessionId the client never had)
/// injected into an AES-256-GCM session with the real smbd: the read fails with a protocol
/// violation and the forged bytes never reach the caller.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn forged_plaintext_read_responses_in_an_encrypted_session_fail_the_connection() {
    let env = lab();
    let real = b"the real bytes, encrypted by smbd".to_vec();
    let name = "azkrb-mitm-read.bin";
    let direct = format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"]);
    encrypted_tree(&env, &direct)
        .await
        .write_file(name, Arc::new(real.clone()), 1)
        .await
        .unwrap();
    for session_id in [0u64, 0x7a7a_0000_dead_beef] {
        let addr = man_in_the_middle(direct.clone(), Forgery::PlainRead { session_id }).await;
        let tree = encrypted_tree(&env, &addr).await;
        let h = tree.open(name, OpenOptions::read()).await.unwrap();
        let got = tree.read_at(h, 0, 4096).await;
        match got {
            Ok(data) => {
                assert_ne!(
                    data, FORGED,
                    "forged bytes (SessionId {session_id:#x}) were read"
                );
                panic!("the forgery went unnoticed (SessionId {session_id:#x})");
            }
            Err(Error::Protocol(m)) => {
                assert!(m.contains("MessageId") || m.contains("unprotected"), "{m}")
            }
            Err(e) => panic!("not reported as a protocol violation: {e}"),
        }
        // The connection is failed for good: nothing more goes through it.
        assert!(tree.read_at(h, 0, 4096).await.is_err());
    }
}

/// A path that strips 3.1.1 from the client's offer makes the lab's smbd (which speaks
/// 3.1.1 and 3.0.2) pick 3.0.2. A client that offers 3.0.x must then validate the
/// negotiation (FSCTL_VALIDATE_NEGOTIATE_INFO, signed): the tree connect fails, nothing is
/// done on the downgraded session.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_dialect_downgrade_on_the_path_is_caught_before_the_share_is_used() {
    let env = lab();
    let upstream = format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PLAIN_PORT"]);
    let addr = man_in_the_middle(upstream, Forgery::Downgrade).await;
    let opts = NegotiateOptions {
        dialects: vec![Dialect::Smb311, Dialect::Smb302],
        server_name: env["AZKRB_LAB_HOST"].clone(),
        ..Default::default()
    };
    let conn = Connection::connect(&addr, &opts, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(
        conn.negotiated.dialect,
        Dialect::Smb302,
        "the path downgraded it"
    );
    let c = kerberos_client(&env);
    let tgt = c
        .login_password(&lab_user(&env), &env["AZKRB_LAB_PASSWORD"])
        .await
        .unwrap();
    let ticket = c.cifs_ticket(&tgt, &env["AZKRB_LAB_HOST"]).await.unwrap();
    let mut auth = KerberosAuth::new(ticket).unwrap();
    let session = Session::setup(&conn, &mut auth, Security::default())
        .await
        .unwrap();
    let tree = session
        .tree_connect(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_SHARE"])
        .await;
    let e = tree.expect_err("the downgraded session reached the share");
    assert!(e.to_string().contains("VALIDATE_NEGOTIATE_INFO"), "{e}");
    // The connection is failed: nothing more goes through it.
    assert!(session.logoff().await.is_err());
}

/// The same downgrade through the facade: offering 3.1.1 only (the default), the path's
/// rewrite leaves the server nothing the client offered; with `smb30(true)` the server picks
/// 3.0.2 and the validation after TREE_CONNECT refuses it. Either way no share is opened.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn the_facade_refuses_a_downgraded_dialect_with_or_without_smb30() {
    let env = lab();
    let upstream = format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PLAIN_PORT"]);
    for smb30 in [false, true] {
        let addr = man_in_the_middle(upstream.clone(), Forgery::Downgrade).await;
        let files = azkrb::AzureFiles::builder()
            .krb5_conf(&env["AZKRB_LAB_KRB5_CONF"])
            .ca_file(&env["AZKRB_LAB_CA"])
            .connect_to(addr)
            .require_encryption(false)
            .smb30(smb30)
            // smbd does not answer a validation that differs: the timeout ends it.
            .smb_timeout(Duration::from_secs(5))
            .tgt(azkrb::Tgt::Password {
                principal: env["AZKRB_LAB_USER"].clone(),
                realm: Some(env["AZKRB_LAB_REALM"].clone()),
                password: zeroize::Zeroizing::new(env["AZKRB_LAB_PASSWORD"].clone()),
            })
            .build()
            .unwrap();
        let unc = format!("//{}/{}", env["AZKRB_LAB_HOST"], env["AZKRB_LAB_SHARE"]);
        let e = files.open(&unc).await.map(drop).unwrap_err().to_string();
        let expected = if smb30 {
            "VALIDATE_NEGOTIATE_INFO"
        } else {
            "not offered"
        };
        assert!(e.contains(expected), "smb30 {smb30}: {e}");
    }
}
