//! azkrb-smb3 against the lab's Samba with Kerberos tickets from azkrb-cloudtgt: negotiate,
//! SPNEGO/Kerberos session setup (mutual authentication, signed final response), encryption
//! with each cipher, file operations, interop with smbclient, and clear errors.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use azkrb::KerberosAuth;
use azkrb_smb3::msg::NegotiateOptions;
use azkrb_smb3::{
    Cipher, Connection, Dialect, Disposition, Error, NtStatus, OpenOptions, Security, Session, Tree,
};
use azkrb_test_support::{lab, lab_user};
use common::{connect, ticket};

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(u32::from(seed)) as u8
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn encrypted_session_with_each_cipher_and_file_sizes() {
    let env = lab();
    for (cipher, sizes) in [
        (
            Cipher::Aes256Gcm,
            vec![0usize, 1, 65535, 65536, 65537, 8 * 1024 * 1024 + 3],
        ),
        (Cipher::Aes128Gcm, vec![65537]),
        (Cipher::Aes128Ccm, vec![65537]),
    ] {
        let (conn, session, tree) = connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![cipher])
            .await
            .unwrap();
        assert_eq!(conn.negotiated.dialect, Dialect::Smb311);
        assert_eq!(conn.negotiated.cipher, Some(cipher));
        assert!(session.encrypted, "the maximum-security instance encrypts");
        for len in sizes {
            let data = Arc::new(pattern(len, 3));
            let name = format!("azkrb-{}-{len}.bin", cipher.name());
            tree.write_file(&name, Arc::clone(&data), 8).await.unwrap();
            let back = tree.read_file(&name, 8).await.unwrap();
            assert!(back == *data, "{cipher} {len} bytes differ");
            assert_eq!(tree.stat(&name).await.unwrap().size, len as u64);
            tree.remove(&name, false).await.unwrap();
        }
        tree.disconnect().await.unwrap();
        session.logoff().await.unwrap();
    }
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn directory_operations_and_smbclient_interop() {
    let env = lab();
    let (_c, _s, tree) = connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![Cipher::Aes256Gcm])
        .await
        .unwrap();
    let dir = "azkrb-dir";
    // Leftovers of an interrupted earlier run go (through the server's own file system).
    let _ = std::fs::remove_dir_all(format!("{}/{dir}", env["AZKRB_LAB_SHARE_DIR"]));
    tree.mkdir(dir).await.unwrap();
    tree.write_file(
        &format!("{dir}/a.txt"),
        Arc::new(b"hello from azkrb".to_vec()),
        1,
    )
    .await
    .unwrap();
    tree.rename(&format!("{dir}/a.txt"), &format!("{dir}/b.txt"), false)
        .await
        .unwrap();
    let names: Vec<String> = tree
        .list(dir)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, vec!["b.txt".to_string()]);
    // What azkrb wrote, smbclient reads identically (and Samba stored it on disk as alice).
    let on_disk = std::fs::read(format!("{}/{dir}/b.txt", env["AZKRB_LAB_SHARE_DIR"])).unwrap();
    assert_eq!(on_disk, b"hello from azkrb");
    let out_file = std::env::temp_dir().join(format!("azkrb-smbclient-{}", std::process::id()));
    let cc = std::env::temp_dir().join(format!("azkrb-cc-{}", std::process::id()));
    let mut cache = azkrb_cloudtgt::ccache::Ccache::new(lab_user(&env));
    cache.store(&ticket(&env).await).unwrap();
    cache.save(cc.to_str().unwrap()).unwrap();
    let smbclient = |cmd: &str| {
        Command::new("smbclient")
            .args([
                &format!("//{}/share", env["AZKRB_LAB_HOST"]),
                "-I",
                "127.0.0.1",
                "-p",
                &env["AZKRB_LAB_SMB_PORT"],
                "-N",
                "--use-kerberos=required",
                "-c",
                cmd,
            ])
            .env("KRB5_CONFIG", &env["AZKRB_LAB_KRB5_CONF"])
            .env("KRB5CCNAME", format!("FILE:{}", cc.display()))
            .output()
            .unwrap()
    };
    let out = smbclient(&format!("get {dir}/b.txt {}", out_file.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&out_file).unwrap(), b"hello from azkrb");
    // And the reverse: what smbclient writes, azkrb reads identically.
    let src = std::env::temp_dir().join(format!("azkrb-src-{}", std::process::id()));
    std::fs::write(&src, pattern(100_000, 5)).unwrap();
    let out = smbclient(&format!("put {} {dir}/c.bin", src.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        tree.read_file(&format!("{dir}/c.bin"), 4).await.unwrap(),
        pattern(100_000, 5)
    );
    // rmdir refuses a non-empty directory with a typed error.
    let e = tree.remove(dir, true).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Status {
                status: NtStatus::DIRECTORY_NOT_EMPTY,
                ..
            }
        ),
        "{e}"
    );
    for f in ["b.txt", "c.bin"] {
        tree.remove(&format!("{dir}/{f}"), false).await.unwrap();
    }
    tree.remove(dir, true).await.unwrap();
    for p in [out_file, src, cc] {
        let _ = std::fs::remove_file(p);
    }
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn unencrypted_instance_is_signed_and_errors_are_typed() {
    let env = lab();
    let (_c, session, tree) = connect(
        &env,
        &env["AZKRB_LAB_SMB_PLAIN_PORT"],
        vec![Cipher::Aes256Gcm],
    )
    .await
    .unwrap();
    assert!(!session.encrypted, "the plain instance does not encrypt");
    tree.write_file("azkrb-plain.bin", Arc::new(pattern(70_000, 1)), 4)
        .await
        .unwrap();
    assert_eq!(
        tree.read_file("azkrb-plain.bin", 4).await.unwrap(),
        pattern(70_000, 1)
    );
    // A compound on a signed (unencrypted) session: each message signed on its own.
    assert_eq!(tree.stat("azkrb-plain.bin").await.unwrap().size, 70_000);
    tree.remove("azkrb-plain.bin", false).await.unwrap();
    // No such file.
    let e = tree.read_file("no/such/file", 1).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Status {
                status: NtStatus::OBJECT_PATH_NOT_FOUND | NtStatus::OBJECT_NAME_NOT_FOUND,
                ..
            }
        ),
        "{e}"
    );
    // Bad share name.
    let e = session
        .tree_connect(&env["AZKRB_LAB_HOST"], "nosuchshare")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Status {
                status: NtStatus::BAD_NETWORK_NAME,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("no such share"), "{e}");
    // Requiring encryption against a server that does not encrypt.
    let opts = NegotiateOptions {
        server_name: env["AZKRB_LAB_HOST"].clone(),
        ..Default::default()
    };
    let conn = Connection::connect(
        &format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PLAIN_PORT"]),
        &opts,
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    let mut auth = KerberosAuth::new(ticket(&env).await).unwrap();
    let e = Session::setup(
        &conn,
        &mut auth,
        Security {
            require_encryption: true,
            always_encrypt: false,
        },
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("encryption is required"), "{e}");
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn server_requiring_encryption_when_client_offers_no_usable_cipher() {
    let env = lab();
    // Offer only SMB 3.0.2 (no 3.1.1 contexts): the 3.1.1-only server refuses to negotiate.
    let opts = NegotiateOptions {
        dialects: vec![Dialect::Smb302],
        server_name: env["AZKRB_LAB_HOST"].clone(),
        ..Default::default()
    };
    let r = Connection::connect(
        &format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"]),
        &opts,
        Duration::from_secs(20),
    )
    .await;
    assert!(r.is_err(), "a 3.1.1-only server must refuse 3.0.2");
}

/// Bytes of a deterministic pattern, produced on demand (no gigabyte buffer).
struct PatternReader {
    left: u64,
    pos: u64,
    hash: sha2::Sha256,
}

impl tokio::io::AsyncRead for PatternReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use sha2::Digest;
        let n = (buf.remaining() as u64).min(self.left) as usize;
        let start = self.pos;
        let chunk: Vec<u8> = (0..n as u64)
            .map(|i| ((start + i).wrapping_mul(0x9E37_79B9) >> 7) as u8)
            .collect();
        self.hash.update(&chunk);
        buf.put_slice(&chunk);
        self.left -= n as u64;
        self.pos += n as u64;
        std::task::Poll::Ready(Ok(()))
    }
}

/// A sink that only hashes.
struct HashWriter(sha2::Sha256, u64);

impl tokio::io::AsyncWrite for HashWriter {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use sha2::Digest;
        self.0.update(buf);
        self.1 += buf.len() as u64;
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn one_gib_round_trip_is_hash_identical() {
    use sha2::Digest;
    let env = lab();
    let (_c, session, _) = connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![Cipher::Aes256Gcm])
        .await
        .unwrap();
    let ram = session
        .tree_connect(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_RAM_SHARE"])
        .await
        .unwrap();
    const SIZE: u64 = 1 << 30;
    let mut src = PatternReader {
        left: SIZE,
        pos: 0,
        hash: sha2::Sha256::new(),
    };
    assert_eq!(
        ram.upload("azkrb-1gib.bin", &mut src, 16).await.unwrap(),
        SIZE
    );
    let sent = src.hash.finalize();
    assert_eq!(
        std::fs::metadata(format!("{}/azkrb-1gib.bin", env["AZKRB_LAB_RAM_DIR"]))
            .unwrap()
            .len(),
        SIZE
    );
    let mut sink = HashWriter(sha2::Sha256::new(), 0);
    assert_eq!(
        ram.download("azkrb-1gib.bin", &mut sink, 16).await.unwrap(),
        SIZE
    );
    assert_eq!(sink.1, SIZE);
    assert_eq!(sink.0.finalize(), sent, "1 GiB came back different");
    ram.remove("azkrb-1gib.bin", false).await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_ten_thousand_entry_directory_is_listed_completely() {
    let env = lab();
    let dir = format!("{}/azkrb-10k", env["AZKRB_LAB_RAM_DIR"]);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    for i in 0..10_000 {
        std::fs::write(format!("{dir}/entry-{i:05}.txt"), []).unwrap();
    }
    // The server's user must be able to read it.
    Command::new("chmod")
        .args(["-R", "a+rwX", &dir])
        .status()
        .unwrap();
    let (_c, session, _) = connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![Cipher::Aes256Gcm])
        .await
        .unwrap();
    let ram = session
        .tree_connect(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_RAM_SHARE"])
        .await
        .unwrap();
    let mut names: Vec<String> = ram
        .list("azkrb-10k")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    assert_eq!(names.len(), 10_000);
    assert_eq!(names[0], "entry-00000.txt");
    assert_eq!(names[9_999], "entry-09999.txt");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn smb302_fallback_is_signed_with_cmac() {
    let env = lab();
    let opts = NegotiateOptions {
        dialects: vec![Dialect::Smb302, Dialect::Smb30],
        server_name: env["AZKRB_LAB_HOST"].clone(),
        ..Default::default()
    };
    let conn = Connection::connect(
        &format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PLAIN_PORT"]),
        &opts,
        Duration::from_secs(20),
    )
    .await
    .unwrap();
    assert_eq!(conn.negotiated.dialect, Dialect::Smb302);
    let mut auth = KerberosAuth::new(ticket(&env).await).unwrap();
    let session = Session::setup(&conn, &mut auth, Security::default())
        .await
        .unwrap();
    let tree = session
        .tree_connect(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_SHARE"])
        .await
        .unwrap();
    tree.write_file("azkrb-302.bin", Arc::new(pattern(200_000, 9)), 4)
        .await
        .unwrap();
    assert_eq!(
        tree.read_file("azkrb-302.bin", 4).await.unwrap(),
        pattern(200_000, 9)
    );
    tree.remove("azkrb-302.bin", false).await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn encryption_required_by_the_server_but_disabled_client_side() {
    let env = lab();
    // No cipher offered: the maximum-security server requires encryption.
    let r = connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![]).await;
    let e = r.expect_err("a server requiring encryption must not be usable without it");
    assert!(matches!(e, Error::Unsupported(_)), "{e}");
    assert!(e.to_string().contains("requires encryption"), "{e}");
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn compound_stat_truncate_times_flush_and_echo() {
    let env = lab();
    let (conn, session, tree) = connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![Cipher::Aes256Gcm])
        .await
        .unwrap();
    conn.echo(session.id()).await.unwrap();
    let name = "azkrb-meta.bin";
    tree.write_file(name, Arc::new(pattern(100_000, 2)), 2)
        .await
        .unwrap();
    // stat is one compound CREATE + QUERY_INFO + CLOSE, encrypted as one message.
    let info = tree.stat(name).await.unwrap();
    assert_eq!(info.size, 100_000);
    assert!(!info.is_dir());
    assert!(tree.stat("").await.unwrap().is_dir());
    // The volume's size, as df sees the share's directory (within 1 %: smbd rounds to its
    // allocation unit).
    let fs = tree.fs_size().await.unwrap();
    let df = std::process::Command::new("df")
        .args(["-B1", "--output=size,avail", &env["AZKRB_LAB_SHARE_DIR"]])
        .output()
        .unwrap();
    let df = String::from_utf8(df.stdout).unwrap();
    let nums: Vec<u64> = df
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let total = fs.total_units * fs.unit_bytes();
    assert!(fs.unit_bytes() > 0, "{fs:?}");
    assert!(
        total.abs_diff(nums[0]) <= nums[0] / 100,
        "{fs:?} vs df {df}"
    );
    assert!(fs.caller_available_units <= fs.total_units, "{fs:?}");
    let e = tree.stat("no-such-file").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Status {
                status: NtStatus::OBJECT_NAME_NOT_FOUND,
                ..
            }
        ),
        "{e}"
    );
    // Truncate, extend.
    tree.truncate(name, 1234).await.unwrap();
    assert_eq!(tree.stat(name).await.unwrap().size, 1234);
    assert_eq!(
        tree.read_file(name, 2).await.unwrap(),
        pattern(100_000, 2)[..1234]
    );
    tree.truncate(name, 5000).await.unwrap();
    assert_eq!(
        std::fs::metadata(format!("{}/{name}", env["AZKRB_LAB_SHARE_DIR"]))
            .unwrap()
            .len(),
        5000
    );
    // Set the last-write time to 2001-09-09T01:46:40Z (Unix 1e9) and see it on disk.
    let filetime = (1_000_000_000u64 + 11_644_473_600) * 10_000_000;
    tree.set_times(name, 0, 0, filetime, 0).await.unwrap();
    assert_eq!(tree.stat(name).await.unwrap().written, filetime);
    let mtime = std::fs::metadata(format!("{}/{name}", env["AZKRB_LAB_SHARE_DIR"]))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        mtime
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
        1_000_000_000
    );
    // Flush.
    let h = tree
        .open(
            name,
            azkrb_smb3::OpenOptions::new(azkrb_smb3::Access::GENERIC_WRITE),
        )
        .await
        .unwrap();
    tree.write_at(h, 0, b"flushed").await.unwrap();
    tree.flush(h).await.unwrap();
    tree.close(h).await.unwrap();
    tree.remove(name, false).await.unwrap();
}

/// An interim STATUS_PENDING response, then CANCEL: CHANGE_NOTIFY on a quiet directory goes
/// pending; cancelling it ends it with STATUS_CANCELLED. A change while waiting completes it.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn pending_change_notify_and_cancel() {
    let env = lab();
    let (_c, _s, tree) = connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![Cipher::Aes256Gcm])
        .await
        .unwrap();
    let dir = "azkrb-watch";
    let _ = std::fs::remove_dir_all(format!("{}/{dir}", env["AZKRB_LAB_SHARE_DIR"]));
    tree.mkdir(dir).await.unwrap();
    let start = std::time::Instant::now();
    assert!(
        !tree
            .wait_for_change(dir, Duration::from_millis(500))
            .await
            .unwrap(),
        "nothing changed: cancelled"
    );
    assert!(start.elapsed() >= Duration::from_millis(500));
    // With a change during the wait, the notification completes.
    let t2 = tree.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        t2.write_file("azkrb-watch/new.txt", Arc::new(b"x".to_vec()), 1)
            .await
            .unwrap();
    });
    assert!(
        tree.wait_for_change(dir, Duration::from_secs(10))
            .await
            .unwrap(),
        "the change was reported"
    );
    writer.await.unwrap();
    tree.remove("azkrb-watch/new.txt", false).await.unwrap();
    tree.remove(dir, true).await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn downloads_and_uploads_resume_at_an_offset() {
    let env = lab();
    let (_conn, _session, tree) =
        connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![Cipher::Aes256Gcm])
            .await
            .unwrap();
    let name = "azkrb-resume.bin";
    let data = pattern(3_000_005, 9);
    // Upload the first part, then resume with the rest: the file is whole.
    tree.write_file(name, Arc::new(data[..1_234_567].to_vec()), 2)
        .await
        .unwrap();
    let mut rest = &data[1_234_567..];
    let n = tree
        .upload_from(name, 1_234_567, &mut rest, 4)
        .await
        .unwrap();
    assert_eq!(n, (data.len() - 1_234_567) as u64);
    let disk = format!("{}/{name}", env["AZKRB_LAB_SHARE_DIR"]);
    assert!(std::fs::read(&disk).unwrap() == data);
    // Download from an offset: exactly the tail.
    let mut tail = Vec::new();
    let n = tree
        .download_from(name, 2_000_000, &mut tail, 4)
        .await
        .unwrap();
    assert_eq!(n, 1_000_005);
    assert!(tail == data[2_000_000..]);
    let mut none = Vec::new();
    assert_eq!(
        tree.download_from(name, data.len() as u64, &mut none, 4)
            .await
            .unwrap(),
        0
    );
    // A resumed upload whose input ends early cuts the longer remote file there.
    let mut short = &data[100..200];
    tree.upload_from(name, 100, &mut short, 2).await.unwrap();
    assert!(std::fs::read(&disk).unwrap() == data[..200]);
    // Offsets past the end are refused, not padded.
    let e = tree
        .download_from(name, 201, &mut none, 2)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    let mut empty: &[u8] = &[];
    let e = tree
        .upload_from(name, 500, &mut empty, 2)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert_eq!(std::fs::metadata(&disk).unwrap().len(), 200);
    tree.remove(name, false).await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn reused_message_buffers_never_show_earlier_bytes() {
    let env = lab();
    let (_conn, _session, tree) =
        connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![Cipher::Aes256Gcm])
            .await
            .unwrap();
    let (big, small, up) = (
        "azkrb-pool-big.bin",
        "azkrb-pool-small.bin",
        "azkrb-pool-up.bin",
    );
    let a = pattern(3 << 20, 1);
    let b = pattern(65_537, 2);
    tree.write_file(big, Arc::new(a.clone()), 4).await.unwrap();
    tree.write_file(small, Arc::new(b.clone()), 4)
        .await
        .unwrap();
    // Fill the connection's pool with frames that held the large file.
    assert!(tree.read_file(big, 4).await.unwrap() == a);
    let hs = tree.open(small, OpenOptions::read()).await.unwrap();
    let hb = tree.open(big, OpenOptions::read()).await.unwrap();
    // Short reads into reused buffers hold exactly the bytes read, several alive at once.
    let whole = tree.read_chunk(hs, 0, 1 << 20).await.unwrap();
    let tail = tree.read_chunk(hs, 65_000, 1 << 20).await.unwrap();
    let other = tree.read_chunk(hb, 1 << 20, 1 << 20).await.unwrap();
    assert!(*whole == b[..]);
    assert!(*tail == b[65_000..]);
    assert!(*other == a[1 << 20..2 << 20]);
    drop((whole, tail, other));
    assert!(tree.read_chunk(hs, 65_537, 4096).await.unwrap().is_empty());
    assert!(tree.read_at(hs, 10, 20).await.unwrap() == b[10..30]);
    tree.close(hs).await.unwrap();
    tree.close(hb).await.unwrap();
    // Uploads fill reused buffers too: the file holds only what was sent.
    let c = pattern((2 << 20) + 12_345, 5);
    let mut input = &c[..];
    tree.upload(up, &mut input, 4).await.unwrap();
    let disk = format!("{}/{up}", env["AZKRB_LAB_SHARE_DIR"]);
    assert!(std::fs::read(&disk).unwrap() == c);
    for name in [big, small, up] {
        tree.remove(name, false).await.unwrap();
    }
}

/// A tree on an AES-256-GCM session to the encrypted instance, and `name` created empty on
/// it, open for reading and writing.
async fn encrypted_tree_with_new_file(name: &str) -> (Tree, azkrb_smb3::Handle) {
    let env = lab();
    let (_conn, _session, tree) =
        connect(&env, &env["AZKRB_LAB_SMB_PORT"], vec![Cipher::Aes256Gcm])
            .await
            .unwrap();
    let h = tree
        .open(
            name,
            OpenOptions::write().disposition(Disposition::OverwriteIf),
        )
        .await
        .unwrap();
    (tree, h)
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_message_too_large_for_a_frame_is_refused_and_the_connection_goes_on() {
    let name = "azkrb-oversized.bin";
    let (tree, h) = encrypted_tree_with_new_file(name).await;
    // 16 MiB of data cannot fit the 24-bit frame length: refused at once, before anything
    // is sent.
    let e = tokio::time::timeout(
        Duration::from_secs(5),
        tree.write_at(h, 0, &vec![1; 16 << 20]),
    )
    .await
    .expect("refused at once")
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    // The connection goes on.
    assert_eq!(tree.write_at(h, 0, b"after").await.unwrap(), 5);
    assert!(tree.read_at(h, 0, 100).await.unwrap() == b"after");
    tree.close(h).await.unwrap();
    tree.remove(name, false).await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn requests_dropped_while_being_sent_leave_the_connection_whole() {
    let name = "azkrb-dropped-sends.bin";
    let (tree, h) = encrypted_tree_with_new_file(name).await;
    // Many 1 MiB writes at once, each dropped right after its first poll (polled once by
    // hand: a zero timeout is not enough, the timer fires only at the runtime's next tick,
    // and on a busy machine the writes finished before it): the one that holds the socket
    // is then still sending (the socket takes a megabyte in several steps), the others wait
    // for it.
    let data = Arc::new(vec![7u8; 1 << 20]);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..16u64 {
        let (t, d) = (tree.clone(), Arc::clone(&data));
        set.spawn(async move {
            let mut write = Box::pin(async move { t.write_at(h, i << 20, &d).await });
            let first =
                std::future::poll_fn(|cx| std::task::Poll::Ready(write.as_mut().poll(cx))).await;
            drop(write);
            first.is_pending()
        });
    }
    let mut dropped = 0;
    while let Some(r) = set.join_next().await {
        dropped += usize::from(r.unwrap());
    }
    assert!(dropped > 0, "no write was dropped: the test proves nothing");
    // Every message went out whole, so the server still understands the connection.
    assert_eq!(tree.write_at(h, 0, b"whole").await.unwrap(), 5);
    assert!(tree.read_at(h, 0, 5).await.unwrap() == b"whole");
    tree.close(h).await.unwrap();
    tree.remove(name, false).await.unwrap();
}
