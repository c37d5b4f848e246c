//! A share that survives its connection, against the lab's real Samba granting durable
//! handles under leases: the connection cut by a proxy (the server keeps the opens: they
//! are reclaimed with DH2C), the smbd child serving it killed with SIGKILL (the server's
//! state dies with it: the files are opened again by path), the connection gone silent.
//! Each test breaks only its own connection.

use azkrb::{AzureFiles, Tgt};
use azkrb_smb3::{Disposition, Error as SmbError, OpenOptions};
use std::time::{Duration, Instant};

use azkrb_test_support::proxy::Proxy;
use azkrb_test_support::{lab, smbd};
use zeroize::Zeroizing;

type Env = std::collections::HashMap<String, String>;

/// One test at a time: one restarts the whole smbd, which every connection would see.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

fn smbd_addr(env: &Env) -> String {
    format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"])
}

/// A proxy in front of the lab's encrypted smbd, and the share reached through it with
/// `tune`'s settings.
async fn through_proxy(
    env: &Env,
    tune: impl FnOnce(azkrb::Builder) -> azkrb::Builder,
) -> (Proxy, azkrb::Share) {
    let proxy = Proxy::start(smbd_addr(env).parse().unwrap()).await.unwrap();
    let share = tune(builder(env).connect_to(proxy.addr.to_string()))
        .build()
        .unwrap()
        .open(&unc(env))
        .await
        .unwrap();
    (proxy, share)
}

fn builder(env: &Env) -> azkrb::Builder {
    AzureFiles::builder()
        .krb5_conf(&env["AZKRB_LAB_KRB5_CONF"])
        .ca_file(&env["AZKRB_LAB_CA"])
        .tgt(Tgt::Password {
            principal: env["AZKRB_LAB_USER"].clone(),
            realm: Some(env["AZKRB_LAB_REALM"].clone()),
            password: Zeroizing::new(env["AZKRB_LAB_PASSWORD"].clone()),
        })
}

fn unc(env: &Env) -> String {
    format!("//{}/{}", env["AZKRB_LAB_HOST"], env["AZKRB_LAB_SHARE"])
}

async fn open(env: &Env) -> azkrb::Share {
    builder(env)
        .connect_to(smbd_addr(env))
        .build()
        .unwrap()
        .open(&unc(env))
        .await
        .unwrap()
}

/// What the share lived through, printed for the test's output.
fn recovery(share: &azkrb::Share) -> azkrb::Recovery {
    let r = share.recovery();
    eprintln!(
        "reconnects {}, handles reclaimed {} (DH2C), reopened {}, lost {}, operations \
         replayed {}",
        r.reconnects, r.reclaimed, r.reopened, r.lost, r.replayed
    );
    r
}

/// Kills the smbd child serving `share`'s connection and waits until the client has seen
/// the connection end.
async fn kill_server_of(env: &Env, share: &azkrb::Share) {
    let client = share.connection().local_addr().unwrap();
    let pid = smbd::kill_child_serving(&env["AZKRB_LAB_DIR"], "enc", client)
        .expect("the smbd child serving the connection");
    for _ in 0..100 {
        if share.connection_lost() {
            eprintln!("killed smbd child {pid}; the client saw the connection end");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the connection outlived its smbd child {pid}");
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// Two files open for writing, half written; `break_it` breaks the connection; the same
/// handles go on writing; both files end up whole. Returns what the share lived through.
async fn two_files_through<F, Fut>(share: &azkrb::Share, tag: &str, break_it: F) -> azkrb::Recovery
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let a = format!("reconnect-{tag}-a.bin");
    let b = format!("reconnect-{tag}-b.bin");
    let (a, b) = (a.as_str(), b.as_str());
    let write = OpenOptions::write().disposition(Disposition::OverwriteIf);
    let ha = share.tree().open(a, write).await.unwrap();
    let hb = share.tree().open(b, write).await.unwrap();
    assert!(
        share.tree().is_durable(ha),
        "Samba granted no durable handle"
    );
    assert!(share.tree().is_durable(hb));
    let (first, second) = (pattern(1, 1 << 20), pattern(2, 1 << 20));
    share.tree().write_at(ha, 0, &first).await.unwrap();
    share.tree().write_at(hb, 0, &second).await.unwrap();

    break_it().await;

    // The same handles go on: the share reconnects, reclaims both (DH2C), and writes.
    let n = share
        .run(|t| {
            let second = &second;
            async move { t.write_at(ha, 1 << 20, second).await }
        })
        .await
        .unwrap();
    assert_eq!(n, 1 << 20);
    share
        .run(|t| {
            let first = &first;
            async move { t.write_at(hb, 1 << 20, first).await }
        })
        .await
        .unwrap();
    let r = recovery(share);
    assert_eq!((r.reconnects, r.lost), (1, 0));
    assert!(r.replayed >= 1);
    share
        .run(|t| async move { t.close(ha).await })
        .await
        .unwrap();
    share
        .run(|t| async move { t.close(hb).await })
        .await
        .unwrap();

    let got_a = share.tree().read_file(a, 4).await.unwrap();
    let got_b = share.tree().read_file(b, 4).await.unwrap();
    assert_eq!(got_a, [first.clone(), second.clone()].concat());
    assert_eq!(got_b, [second, first].concat());
    for p in [a, b] {
        share.tree().remove(p, false).await.unwrap();
    }
    r
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn open_files_are_reclaimed_with_their_durable_handles_after_a_cut_connection() {
    let _serial = serial().await;
    let env = lab();
    let (proxy, share) = through_proxy(&env, |b| b).await;
    let r = two_files_through(&share, "cut", || async { proxy.cut() }).await;
    // The server kept both opens: both came back by DH2C, none opened afresh.
    assert_eq!((r.reclaimed, r.reopened), (2, 0));
    assert_eq!(proxy.accepted(), 2);
    share.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn open_files_outlive_a_killed_server_process() {
    let _serial = serial().await;
    let env = lab();
    let share = open(&env).await;
    let r = two_files_through(&share, "kill", || kill_server_of(&env, &share)).await;
    // Samba's durable state died with the process: the files were opened again by path.
    assert_eq!((r.reclaimed, r.reopened), (0, 2));
    share.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_silent_connection_is_found_dead_by_the_keepalive_and_replaced() {
    let _serial = serial().await;
    let env = lab();
    let (proxy, share) = through_proxy(&env, |b| {
        b.smb_keepalive(Duration::from_millis(500), Duration::from_secs(1))
            .smb_timeout(Duration::from_secs(3))
    })
    .await;
    let r = two_files_through(&share, "silent", || async {
        proxy.stall();
        let started = Instant::now();
        while !share.connection_lost() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "never found dead"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "found dead after {} ms of silence",
            started.elapsed().as_millis()
        );
        assert!(started.elapsed() >= Duration::from_millis(500));
        proxy.resume();
    })
    .await;
    assert_eq!(r.reclaimed + r.reopened, 2);
    share.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_file_deleted_during_the_outage_fails_its_writer_and_no_one_else() {
    let _serial = serial().await;
    let env = lab();
    let share = open(&env).await;
    let other = open(&env).await;
    let write = OpenOptions::write().disposition(Disposition::OverwriteIf);
    let (gone, kept) = ("reconnect-gone.bin", "reconnect-kept.bin");
    let hg = share.tree().open(gone, write).await.unwrap();
    let hk = share.tree().open(kept, write).await.unwrap();
    share.tree().write_at(hg, 0, b"before").await.unwrap();
    share.tree().write_at(hk, 0, b"before").await.unwrap();

    kill_server_of(&env, &share).await;
    // Another client deletes one file while the first is away.
    other.tree().remove(gone, false).await.unwrap();

    let e = share
        .run(|t| async move { t.write_at(hg, 6, b"after").await })
        .await
        .unwrap_err();
    assert!(
        matches!(e, azkrb::Error::Smb(SmbError::HandleLost { ref path, .. }) if path == gone),
        "{e}"
    );
    share
        .run(|t| async move { t.write_at(hk, 6, b"after").await })
        .await
        .unwrap();
    // Its close says so too; the other file closes cleanly.
    assert!(
        share
            .run(|t| async move { t.close(hg).await })
            .await
            .is_err()
    );
    share
        .run(|t| async move { t.close(hk).await })
        .await
        .unwrap();
    let r = recovery(&share);
    assert_eq!((r.reconnects, r.lost), (1, 1));
    assert_eq!(r.reclaimed + r.reopened, 1);
    assert_eq!(
        share.tree().read_file(kept, 1).await.unwrap(),
        b"beforeafter"
    );
    share.tree().remove(kept, false).await.unwrap();
    share.close().await.unwrap();
    other.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn open_files_outlive_a_restarted_server() {
    let _serial = serial().await;
    let env = lab();
    let share = open(&env).await;
    let r = two_files_through(&share, "restart", || async {
        let restart = azkrb_test_support::workspace_root().join("lab/restart-smbd");
        let lab_dir = env["AZKRB_LAB_DIR"].clone();
        let ok = tokio::task::spawn_blocking(move || {
            std::process::Command::new(restart)
                .arg("enc")
                .env("AZKRB_LAB_DIR", lab_dir)
                .status()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(ok.success());
    })
    .await;
    // Samba keeps durable opens in a volatile database a new smbd clears: they come back
    // opened again by path (a cut connection, above, proves the DH2C path).
    assert_eq!((r.reclaimed, r.reopened), (0, 2));
    share.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_server_out_of_reach_is_tried_for_the_reconnect_time_then_named() {
    let _serial = serial().await;
    let env = lab();
    let (proxy, share) = through_proxy(&env, |b| b.reconnect_for(Duration::from_secs(2))).await;
    // The proxy goes away for good: nothing listens there any more.
    let addr = proxy.addr;
    drop(proxy);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let e = share
        .run(|t| async move { t.list("").await })
        .await
        .unwrap_err();
    let waited = started.elapsed();
    eprintln!("{e}");
    let azkrb::Error::Reconnect { attempts, .. } = &e else {
        panic!("{e}")
    };
    assert!(*attempts > 1, "{e}");
    assert!(e.to_string().contains(&addr.to_string()), "{e}");
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_reopen_follows_a_rename_and_never_writes_into_another_file() {
    let _serial = serial().await;
    let env = lab();
    let share = open(&env).await;
    let other = open(&env).await;
    let write = OpenOptions::write().disposition(Disposition::OverwriteIf);
    let tag = std::process::id();
    let (moved_from, moved_to) = (format!("rn-{tag}-a"), format!("rn-{tag}-a-renamed"));
    let (replaced, saved_away) = (format!("rn-{tag}-b"), format!("rn-{tag}-b-old"));
    let hm = share.tree().open(&moved_from, write).await.unwrap();
    let hr = share.tree().open(&replaced, write).await.unwrap();
    share.tree().write_at(hm, 0, b"moved ").await.unwrap();
    share.tree().write_at(hr, 0, b"mine ").await.unwrap();
    // Renamed by us while open: the reopen looks for it under its new name.
    share
        .run(|t| {
            let (a, b) = (&moved_from, &moved_to);
            async move { t.rename(a, b, false).await }
        })
        .await
        .unwrap();

    kill_server_of(&env, &share).await;
    // Meanwhile another client moves the second file away and saves a new one under its
    // name: the same path, another file.
    other
        .tree()
        .rename(&replaced, &saved_away, false)
        .await
        .unwrap();
    other
        .tree()
        .write_file(&replaced, std::sync::Arc::new(b"theirs".to_vec()), 1)
        .await
        .unwrap();

    share
        .run(|t| async move { t.write_at(hm, 6, b"and kept").await })
        .await
        .unwrap();
    let e = share
        .run(|t| async move { t.write_at(hr, 5, b"lost").await })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("another file now"), "{e}");
    let r = share.recovery();
    assert_eq!((r.reopened, r.lost), (1, 1));
    share
        .run(|t| async move { t.close(hm).await })
        .await
        .unwrap();
    assert!(
        share
            .run(|t| async move { t.close(hr).await })
            .await
            .is_err()
    );
    let read = |p: String| {
        let t = share.tree();
        async move { t.read_file(&p, 1).await.unwrap() }
    };
    assert_eq!(read(moved_to.clone()).await, b"moved and kept");
    // Nothing of ours reached their file.
    assert_eq!(read(replaced.clone()).await, b"theirs");
    assert_eq!(read(saved_away.clone()).await, b"mine ");
    for p in [moved_to, replaced, saved_away] {
        share.tree().remove(&p, false).await.unwrap();
    }
    share.close().await.unwrap();
    other.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_request_that_times_out_on_a_dead_connection_is_replayed_on_a_new_one() {
    let _serial = serial().await;
    let env = lab();
    // A keepalive too slow to notice in time: the request's own timeout does.
    let (proxy, share) = through_proxy(&env, |b| {
        b.smb_keepalive(Duration::from_secs(60), Duration::from_secs(60))
            .smb_timeout(Duration::from_secs(1))
    })
    .await;
    let name = format!("timeout-{}", std::process::id());
    let write = OpenOptions::write().disposition(Disposition::OverwriteIf);
    let h = share.tree().open(&name, write).await.unwrap();
    proxy.stall();
    let started = Instant::now();
    let resume = {
        let proxy = &proxy;
        async move {
            tokio::time::sleep(Duration::from_secs(8)).await;
            proxy.resume();
        }
    };
    let (written, ()) = tokio::join!(
        share.run(|t| async move { t.write_at(h, 0, b"through").await }),
        resume
    );
    assert_eq!(written.unwrap(), 7);
    let waited = started.elapsed();
    eprintln!("written after {} ms", waited.as_millis());
    assert_eq!(share.recovery().reconnects, 1);
    assert!(waited >= Duration::from_secs(6), "{waited:?}");
    share
        .run(|t| async move { t.close(h).await })
        .await
        .unwrap();
    assert_eq!(share.tree().read_file(&name, 1).await.unwrap(), b"through");
    share.tree().remove(&name, false).await.unwrap();
    share.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_create_whose_answer_was_lost_is_made_again_on_the_new_connection() {
    let _serial = serial().await;
    let env = lab();
    let (proxy, share) = through_proxy(&env, |b| b).await;
    let name = format!("replayed-create-{}", std::process::id());
    // Open or create (as FUSE's create without O_EXCL, and put): made again, it is the
    // same file. (Create-only cannot be told apart on Samba 4.17: its replay cache is per
    // connection, so the replayed CREATE, same CreateGuid and REPLAY flag, collides with
    // the file the lost one made. Servers with persistent handles answer it with that
    // open.)
    let create = OpenOptions::write().disposition(Disposition::OpenIf);
    proxy.stall_replies();
    let cut = async {
        // The CREATE reaches the server, which makes the file; its answer is held, then
        // the connection is cut.
        tokio::time::sleep(Duration::from_millis(300)).await;
        proxy.cut();
        // Resumed once the cut connection is gone (its held answer with it).
        tokio::time::sleep(Duration::from_millis(100)).await;
        proxy.resume();
    };
    let (h, ()) = tokio::join!(
        share.run(|t| {
            let name = &name;
            async move { t.open(name, create).await }
        }),
        cut
    );
    let h = h.unwrap();
    let r = share.recovery();
    eprintln!(
        "reconnects {}, operations replayed {}, open files now {}",
        r.reconnects,
        r.replayed,
        share.tree().open_counts().open
    );
    assert_eq!((r.reconnects, r.replayed), (1, 1));
    assert_eq!(share.tree().open_counts().open, 1);
    share
        .run(|t| async move { t.write_at(h, 0, b"once").await })
        .await
        .unwrap();
    share
        .run(|t| async move { t.close(h).await })
        .await
        .unwrap();
    assert_eq!(share.tree().read_file(&name, 1).await.unwrap(), b"once");
    share.tree().remove(&name, false).await.unwrap();
    share.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_lease_break_from_the_server_is_admitted_and_acknowledged() {
    let _serial = serial().await;
    let env = lab();
    let share = open(&env).await;
    let other = open(&env).await;
    let tag = std::process::id();
    let (name, moved) = (format!("lease-{tag}"), format!("lease-{tag}-moved"));
    let write = OpenOptions::write().disposition(Disposition::OverwriteIf);
    let h = share.tree().open(&name, write).await.unwrap();
    share.tree().write_at(h, 0, b"held").await.unwrap();
    // Another client writes to the file: Samba breaks our read lease first (an unsigned,
    // unencrypted notification on this encrypted connection, SessionId 0).
    let started = Instant::now();
    let theirs = other
        .tree()
        .open(&name, OpenOptions::write())
        .await
        .unwrap();
    other.tree().write_at(theirs, 7, b"!").await.unwrap();
    other.tree().close(theirs).await.unwrap();
    other.tree().rename(&name, &moved, false).await.unwrap();
    let waited = started.elapsed();
    let conn = share.connection();
    eprintln!(
        "another client's write and rename took {} ms; breaks received {}",
        waited.as_millis(),
        conn.breaks_received()
    );
    assert!(conn.breaks_received() >= 1, "no break came");
    assert!(waited < Duration::from_secs(5), "the break went unanswered");
    assert!(conn.failure().is_none(), "the break failed the connection");
    // Our open carries on.
    share.tree().write_at(h, 4, b" on").await.unwrap();
    share.tree().write_at(h, 8, b"?").await.unwrap();
    share.tree().close(h).await.unwrap();
    assert_eq!(
        other.tree().read_file(&moved, 1).await.unwrap(),
        b"held on!?"
    );
    other.tree().remove(&moved, false).await.unwrap();
    share.close().await.unwrap();
    other.close().await.unwrap();
}
