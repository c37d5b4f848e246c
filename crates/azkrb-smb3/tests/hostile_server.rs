//! A scripted hostile server on 127.0.0.1: it speaks SMB 3.0.2 with a signed session (a
//! fake mechanism gives both sides the session key) and then sends what no honest server
//! sends: short and oversized READs, unsigned answers, an early end of file, a tampered
//! VALIDATE_NEGOTIATE_INFO, no credits, silence. Each is a clear error (or, for a short
//! READ mid-file, a complete download), never wrong data.

use std::time::Duration;

use azkrb_smb3::crypto::{self, SessionKeys};
use azkrb_smb3::msg::{self, Command, Header, NegotiateOptions, flags};
use azkrb_smb3::{
    Authenticator, Cipher, Connection, Dialect, Error, NtStatus, Result, Security, Session,
    SigningAlgorithm,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zeroize::Zeroizing;

const SESSION_KEY: [u8; 16] = [0x42; 16];
const SID: u64 = 0x0000_1234_5678_0001;
const TREE: u32 = 5;
const GUID: [u8; 16] = [0xab; 16];
const FILE_SIZE: u64 = 3 * 65536 + 100;

/// What the server does wrong.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Script {
    /// Nothing.
    Honest,
    /// Each READ returns half of what was asked (true bytes).
    ShortReads,
    /// A READ returns more than was asked.
    LongRead,
    /// READ answers are not signed.
    UnsignedRead,
    /// The first READ returns half of what was asked, the next says END_OF_FILE.
    EarlyEof,
    /// VALIDATE_NEGOTIATE_INFO names another dialect than NEGOTIATE did.
    TamperedValidate,
    /// NEGOTIATE grants no credits.
    NoCredits,
    /// After TREE_CONNECT, nothing more is answered.
    Silent,
    /// The final SESSION_SETUP answer is not signed (its SessionFlags unprotected).
    UnsignedSetup,
}

struct FakeMech;

impl Authenticator for FakeMech {
    fn initial_token(&mut self, _: &[u8]) -> Result<Vec<u8>> {
        Ok(b"token".to_vec())
    }
    fn next_token(&mut self, _: &[u8], _: bool) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
    fn session_key(&self) -> Option<Zeroizing<Vec<u8>>> {
        Some(Zeroizing::new(SESSION_KEY.to_vec()))
    }
}

fn file_byte(i: u64) -> u8 {
    (i.wrapping_mul(31) % 251) as u8
}

async fn frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let mut f = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut f).await.ok()?;
    Some(f)
}

/// A response to `req` with `status` and `body`, signed with `keys` if given.
fn answer(
    req: &Header,
    status: NtStatus,
    body: &[u8],
    keys: Option<&SessionKeys>,
    credits: u16,
) -> Vec<u8> {
    let mut h = req.clone();
    h.flags = flags::SERVER_TO_REDIR;
    h.status = status;
    h.credits = credits;
    h.next_command = 0;
    h.signature = [0; 16];
    let mut m = Vec::new();
    h.encode(&mut m);
    m.extend_from_slice(body);
    if let Some(k) = keys {
        crypto::sign(SigningAlgorithm::AesCmac, &k.signing, &mut m, true).unwrap();
    }
    let mut f = (m.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(&m);
    f
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

async fn serve(mut s: TcpStream, script: Script) {
    let keys =
        crypto::derive_keys(Dialect::Smb302, Some(Cipher::Aes128Ccm), &SESSION_KEY, None).unwrap();
    let mut reads = 0;
    while let Some(m) = frame(&mut s).await {
        let h = Header::decode(&m).unwrap();
        let body = &m[64..];
        let command = Command::from_u16(h.command).unwrap();
        let reply = match command {
            Command::Negotiate => {
                let mut b = vec![0u8; 64];
                b[..2].copy_from_slice(&65u16.to_le_bytes());
                b[2..4].copy_from_slice(&1u16.to_le_bytes());
                b[4..6].copy_from_slice(&0x0302u16.to_le_bytes());
                b[8..24].copy_from_slice(&GUID);
                b[24..28].copy_from_slice(&msg::caps::LARGE_MTU.to_le_bytes());
                for at in [28, 32, 36] {
                    b[at..at + 4].copy_from_slice(&(1u32 << 20).to_le_bytes());
                }
                let credits = if script == Script::NoCredits { 0 } else { 64 };
                answer(&h, NtStatus::SUCCESS, &b, None, credits)
            }
            Command::SessionSetup => {
                let mut h = h.clone();
                h.session_id = SID;
                let b = [9u8, 0, 0, 0, 72, 0, 0, 0];
                let sign = (script != Script::UnsignedSetup).then_some(&keys);
                answer(&h, NtStatus::SUCCESS, &b, sign, 64)
            }
            Command::TreeConnect => {
                let mut h = h.clone();
                h.async_or_tree = u64::from(TREE);
                let mut b = vec![0u8; 16];
                b[..2].copy_from_slice(&16u16.to_le_bytes());
                b[2] = 1;
                answer(&h, NtStatus::SUCCESS, &b, Some(&keys), 64)
            }
            _ if script == Script::Silent => continue,
            Command::Ioctl => {
                let dialect: u16 = if script == Script::TamperedValidate {
                    0x0311
                } else {
                    0x0302
                };
                let mut b = vec![0u8; 48];
                b[..2].copy_from_slice(&49u16.to_le_bytes());
                b[4..8].copy_from_slice(&le32(body, 4).to_le_bytes());
                b[32..36].copy_from_slice(&(64u32 + 48).to_le_bytes());
                b[36..40].copy_from_slice(&24u32.to_le_bytes());
                b.extend_from_slice(&msg::caps::LARGE_MTU.to_le_bytes());
                b.extend_from_slice(&GUID);
                b.extend_from_slice(&1u16.to_le_bytes());
                b.extend_from_slice(&dialect.to_le_bytes());
                answer(&h, NtStatus::SUCCESS, &b, Some(&keys), 64)
            }
            Command::Create => {
                let mut b = vec![0u8; 88];
                b[..2].copy_from_slice(&89u16.to_le_bytes());
                b[48..56].copy_from_slice(&FILE_SIZE.to_le_bytes());
                b[64..80].copy_from_slice(&[0x77; 16]);
                answer(&h, NtStatus::SUCCESS, &b, Some(&keys), 64)
            }
            Command::Close => {
                let mut b = vec![0u8; 60];
                b[..2].copy_from_slice(&60u16.to_le_bytes());
                answer(&h, NtStatus::SUCCESS, &b, Some(&keys), 64)
            }
            Command::Read => {
                reads += 1;
                let asked = le32(body, 4) as u64;
                let offset = u64::from_le_bytes(body[8..16].try_into().unwrap());
                if script == Script::EarlyEof && reads == 2 {
                    let b = [9u8, 0, 0, 0, 0, 0, 0, 0, 0];
                    answer(&h, NtStatus::END_OF_FILE, &b, Some(&keys), 64)
                } else {
                    let mut n = asked.min(FILE_SIZE.saturating_sub(offset));
                    let halve = matches!(script, Script::ShortReads | Script::EarlyEof);
                    if halve && n > 1 {
                        n /= 2;
                    }
                    if script == Script::LongRead {
                        n = asked + 10;
                    }
                    let mut b = vec![0u8; 16];
                    b[..2].copy_from_slice(&17u16.to_le_bytes());
                    b[2] = 80;
                    b[4..8].copy_from_slice(&(n as u32).to_le_bytes());
                    b.extend((offset..offset + n).map(file_byte));
                    let sign = (script != Script::UnsignedRead).then_some(&keys);
                    answer(&h, NtStatus::SUCCESS, &b, sign, 64)
                }
            }
            _ => answer(
                &h,
                NtStatus::NOT_SUPPORTED,
                &[9, 0, 0, 0, 0, 0, 0, 0, 0],
                Some(&keys),
                64,
            ),
        };
        if s.write_all(&reply).await.is_err() {
            return;
        }
    }
}

async fn hostile(script: Script) -> Result<Connection> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        serve(s, script).await;
    });
    let opts = NegotiateOptions {
        dialects: vec![Dialect::Smb302],
        ..Default::default()
    };
    Connection::connect(&addr, &opts, Duration::from_secs(5)).await
}

/// Downloads the whole file through a session with the scripted server; the error
/// expected.
async fn download_fails(script: Script) -> Error {
    match download(script).await {
        Ok(data) => panic!("{script:?}: downloaded {} bytes", data.len()),
        Err(e) => e,
    }
}

/// Downloads the whole file through a session with the scripted server.
async fn download(script: Script) -> Result<Vec<u8>> {
    let conn = hostile(script).await?;
    let session = Session::setup(&conn, &mut FakeMech, Security::default()).await?;
    assert!(!session.encrypted);
    let tree = session.tree_connect("hostile", "share").await?;
    tree.read_file("f.bin", 4).await
}

fn the_file() -> Vec<u8> {
    (0..FILE_SIZE).map(file_byte).collect()
}

#[tokio::test]
async fn an_honest_script_downloads_the_file() {
    assert!(download(Script::Honest).await.unwrap() == the_file());
}

#[tokio::test]
async fn short_reads_mid_file_are_continued_to_a_complete_file() {
    assert!(download(Script::ShortReads).await.unwrap() == the_file());
}

#[tokio::test]
async fn a_read_longer_than_asked_is_refused() {
    let e = download_fails(Script::LongRead).await;
    assert!(matches!(e, Error::Protocol(_)), "{e}");
    assert!(e.to_string().contains("were asked for"), "{e}");
}

#[tokio::test]
async fn an_unsigned_read_answer_in_a_signed_session_fails_the_connection() {
    let e = download_fails(Script::UnsignedRead).await;
    assert!(matches!(e, Error::Protocol(_)), "{e}");
    assert!(e.to_string().contains("unprotected"), "{e}");
}

#[tokio::test]
async fn an_early_end_of_file_is_an_error_not_a_short_file() {
    let e = download_fails(Script::EarlyEof).await;
    assert!(e.to_string().contains("ended at"), "{e}");
}

#[tokio::test]
async fn a_tampered_validate_negotiate_info_fails_the_tree_connect() {
    let e = download_fails(Script::TamperedValidate).await;
    assert!(e.to_string().contains("VALIDATE_NEGOTIATE_INFO"), "{e}");
}

#[tokio::test]
async fn a_server_granting_no_credits_fails_the_connection() {
    let e = hostile(Script::NoCredits).await.unwrap_err();
    assert!(e.to_string().contains("without credits"), "{e}");
}

#[tokio::test]
async fn a_silent_server_is_declared_dead_by_the_keepalive() {
    // The TREE_CONNECT's VALIDATE_NEGOTIATE_INFO goes unanswered: with a short keepalive
    // the connection is declared dead well before the 5 s request timeout.
    let conn = hostile(Script::Silent).await.unwrap();
    conn.set_keepalive(Duration::from_millis(200), Duration::from_millis(300))
        .unwrap();
    let session = Session::setup(&conn, &mut FakeMech, Security::default())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let e = session.tree_connect("hostile", "share").await.unwrap_err();
    assert!(e.to_string().contains("has not answered"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_unsigned_final_session_setup_on_smb_3_0_2_is_refused() {
    let e = download_fails(Script::UnsignedSetup).await;
    assert!(e.to_string().contains("not signed"), "{e}");
}
