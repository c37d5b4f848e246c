//! The one-round-trip operations of azkrb-smb3 against the lab's Samba: a small file read
//! (CREATE + READ + CLOSE) and written (CREATE + WRITE + CLOSE) whole, the start of a large
//! one, a write with the attributes after it, and directory listings in one compound (with
//! a directory too large for one answer listed again in rounds); every kind of refusal
//! surfaces as the server's status.

mod common;

use std::sync::Arc;

use azkrb_smb3::{Cipher, Error, NtStatus, OpenOptions, Tree};
use azkrb_test_support::lab;
use common::{Env, connect};

async fn tree(env: &Env) -> Tree {
    connect(env, &env["AZKRB_LAB_SMB_PORT"], vec![Cipher::Aes256Gcm])
        .await
        .unwrap()
        .2
}

fn status(r: Result<impl std::fmt::Debug, Error>) -> NtStatus {
    match r {
        Err(Error::Status { status, .. }) => status,
        other => panic!("expected a status from the server, got {other:?}"),
    }
}

/// A directory of the share made afresh (through the server's own file system).
fn fresh_dir(env: &Env, name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(&env["AZKRB_LAB_SHARE_DIR"]).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    dir
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn small_files_are_read_and_written_whole_in_one_compound() {
    let env = lab();
    let t = tree(&env).await;
    // Made over SMB: the share's user writes in it.
    let disk = fresh_dir(&env, "azkrb-compound-files");
    std::fs::remove_dir(&disk).unwrap();
    t.mkdir("azkrb-compound-files").await.unwrap();
    let p = |n: &str| format!("azkrb-compound-files/{n}");

    // Written whole, read whole: the bytes, the size and the times come back together.
    let data: Vec<u8> = (0..4096u32).map(|i| (i * 13 % 251) as u8).collect();
    t.write_whole(&p("small.bin"), &data).await.unwrap();
    assert_eq!(std::fs::read(disk.join("small.bin")).unwrap(), data);
    let start = t.read_start(&p("small.bin"), 1 << 20).await.unwrap();
    assert!(start.is_whole());
    assert_eq!(start.data, data);
    assert_eq!(start.info.size, 4096);
    assert!(start.info.written > 0);

    // Written again, shorter: the file is exactly the new bytes.
    t.write_whole(&p("small.bin"), b"ten bytes!").await.unwrap();
    let start = t.read_start(&p("small.bin"), 1 << 20).await.unwrap();
    assert_eq!(
        (start.data.as_slice(), start.info.size),
        (&b"ten bytes!"[..], 10)
    );

    // Empty: no WRITE in the compound; read whole as nothing (END_OF_FILE is no error).
    t.write_whole(&p("empty.bin"), b"").await.unwrap();
    let start = t.read_start(&p("empty.bin"), 1 << 20).await.unwrap();
    assert!(start.is_whole() && start.data.is_empty() && start.info.size == 0);

    // A large file: its first bytes, and its size to read the rest by.
    let big = Arc::new(
        (0..3_000_000u32)
            .map(|i| (i % 256) as u8)
            .collect::<Vec<u8>>(),
    );
    t.write_file(&p("big.bin"), Arc::clone(&big), 4)
        .await
        .unwrap();
    let start = t.read_start(&p("big.bin"), 65536).await.unwrap();
    assert!(!start.is_whole());
    assert_eq!(start.data, big[..65536]);
    assert_eq!(start.info.size, 3_000_000);

    // A write through a handle, and the attributes after it, in one round trip.
    let h = t.open(&p("big.bin"), OpenOptions::write()).await.unwrap();
    let (n, info) = t.write_and_stat(h, 3_000_000, b"appended").await.unwrap();
    assert_eq!((n, info.size), (8, 3_000_008));
    t.close(h).await.unwrap();

    // Refusals are the server's, named; what does not fit in one WRITE is refused here.
    assert_eq!(
        status(t.read_start(&p("missing.bin"), 4096).await),
        NtStatus::OBJECT_NAME_NOT_FOUND
    );
    assert_eq!(
        status(t.read_start("azkrb-compound-files", 4096).await),
        NtStatus::FILE_IS_A_DIRECTORY
    );
    let too_big = vec![0u8; (1 << 20) + 1];
    assert!(matches!(
        t.write_whole(&p("too-big.bin"), &too_big).await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(!disk.join("too-big.bin").exists());
    std::fs::remove_dir_all(&disk).unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn directories_are_listed_in_one_compound_and_large_ones_in_rounds() {
    let env = lab();
    let t = tree(&env).await;
    // Every entry with its attributes, "." and ".." left out.
    let disk = fresh_dir(&env, "azkrb-compound-list");
    for i in 0..10 {
        std::fs::write(disk.join(format!("f{i}.txt")), vec![b'x'; i * 100]).unwrap();
    }
    std::fs::create_dir(disk.join("sub")).unwrap();
    let mut list = t.list("azkrb-compound-list").await.unwrap();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names.len(), 11);
    assert_eq!(names[0], "f0.txt");
    assert_eq!(names[10], "sub");
    for (i, e) in list[..10].iter().enumerate() {
        assert_eq!((e.size, e.info.size), ((i * 100) as u64, (i * 100) as u64));
        assert!(e.info.written > 0 && e.info.created > 0 && !e.is_dir());
    }
    assert!(list[10].is_dir());
    // Empty: nothing. A file is no directory.
    std::fs::create_dir(disk.join("sub/empty")).unwrap();
    assert!(
        t.list("azkrb-compound-list/sub/empty")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        status(t.list("azkrb-compound-list/f1.txt").await),
        NtStatus::NOT_A_DIRECTORY
    );
    std::fs::remove_dir_all(&disk).unwrap();

    // More names than two answers hold: listed again over as many rounds as it takes.
    let disk = fresh_dir(&env, "azkrb-compound-many");
    for i in 0..12_000 {
        std::fs::File::create(disk.join(format!("name-{i:05}.txt"))).unwrap();
    }
    let list = t.list("azkrb-compound-many").await.unwrap();
    let mut names: Vec<String> = list.into_iter().map(|e| e.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 12_000);
    assert_eq!(names[11_999], "name-11999.txt");
    std::fs::remove_dir_all(&disk).unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_file_opened_with_its_first_bytes_keeps_a_lease_until_another_client_writes() {
    let env = lab();
    let (t, other) = (tree(&env).await, tree(&env).await);
    // Made over SMB: the share's user writes in it.
    let disk = fresh_dir(&env, "azkrb-compound-lease");
    std::fs::remove_dir(&disk).unwrap();
    t.mkdir("azkrb-compound-lease").await.unwrap();
    let path = "azkrb-compound-lease/leased.txt";
    t.write_whole(path, b"first version").await.unwrap();

    // One round trip: the open, its lease and the bytes.
    let mut breaks = t.lease_breaks();
    let (h, start) = t
        .open_and_read(path, OpenOptions::read(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(start.data, b"first version");
    assert!(start.is_whole());
    let read = azkrb_smb3::msg::lease::READ;
    let lease = t.lease(h).expect("Samba grants a lease on a file read");
    assert_ne!(lease.state & read, 0, "{lease:?}");

    // Another client's open to read leaves it; its write breaks the read caching, and
    // the holder hears of it.
    let (o, _) = other
        .open_and_read(path, OpenOptions::read(), 16)
        .await
        .unwrap();
    other.close(o).await.unwrap();
    assert!(t.lease(h).is_some_and(|l| l.state & read != 0));
    other.write_whole(path, b"second").await.unwrap();
    let broken = tokio::time::timeout(std::time::Duration::from_secs(5), breaks.recv())
        .await
        .expect("a break within 5 s")
        .unwrap();
    assert_eq!(broken.key, lease.key);
    assert_eq!(broken.state & read, 0, "{broken:?}");
    assert_eq!(t.lease(h).map(|l| l.state & read), Some(0));

    // What the handle reads now is the new file; closed, it holds no lease.
    assert_eq!(t.read_at(h, 0, 100).await.unwrap(), b"second");
    t.close(h).await.unwrap();
    assert!(t.lease(h).is_none());

    // Kept without sharing delete: another client's delete waits while the server breaks
    // the handle caching; the holder closes, and the delete goes through.
    let keep = OpenOptions::read().share(1 | 2);
    let (h, _) = t.open_and_read(path, keep, 1 << 20).await.unwrap();
    // As the mount keeps such a file: the break's acknowledgment waits for the close (else
    // a busy server may retry the delete between the two and refuse it).
    t.close_on_break(h);
    let handle = azkrb_smb3::msg::lease::HANDLE;
    assert!(t.lease(h).is_some_and(|l| l.state & handle != 0));
    let remove = tokio::spawn(async move { other.remove(path, false).await });
    let broken = loop {
        let b = tokio::time::timeout(std::time::Duration::from_secs(5), breaks.recv())
            .await
            .expect("a break within 5 s")
            .unwrap();
        if b.key == t.lease(h).unwrap().key {
            break b;
        }
    };
    assert_eq!(broken.state & handle, 0, "{broken:?}");
    assert!(
        !remove.is_finished(),
        "the delete did not wait for the holder"
    );
    t.close(h).await.unwrap();
    remove.await.unwrap().unwrap();
    assert!(matches!(
        t.stat(path).await,
        Err(Error::Status {
            status: NtStatus::OBJECT_NAME_NOT_FOUND,
            ..
        })
    ));
}
