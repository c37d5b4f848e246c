//! The one-call API (`azkrb::AzureFiles`) against the lab: MIT KDC behind the kdcproxy KKDCP
//! service, Samba requiring SMB 3.1.1 encryption.

use std::process::Command;

use azkrb::{AzureFiles, Error, Tgt};
use azkrb_smb3::NtStatus;
use azkrb_test_support::lab;
use zeroize::Zeroizing;

type Env = std::collections::HashMap<String, String>;

fn builder(env: &Env) -> azkrb::Builder {
    AzureFiles::builder()
        .krb5_conf(&env["AZKRB_LAB_KRB5_CONF"])
        .ca_file(&env["AZKRB_LAB_CA"])
        .connect_to(format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"]))
}

fn password(env: &Env, password: &str) -> Tgt {
    Tgt::Password {
        principal: env["AZKRB_LAB_USER"].clone(),
        realm: Some(env["AZKRB_LAB_REALM"].clone()),
        password: Zeroizing::new(password.to_string()),
    }
}

fn unc(env: &Env, share: &str) -> String {
    format!("//{}/{share}", env["AZKRB_LAB_HOST"])
}

/// MIT's kinit of the lab's user into `ccache` with her password and `options`.
fn kinit(env: &Env, ccache: &str, options: &[&str]) {
    use std::io::Write;
    let mut kinit = Command::new("kinit")
        .args(options)
        .arg(format!(
            "{}@{}",
            env["AZKRB_LAB_USER"], env["AZKRB_LAB_REALM"]
        ))
        .env("KRB5_CONFIG", &env["AZKRB_LAB_KRB5_CONF"])
        .env("KRB5CCNAME", ccache)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    writeln!(kinit.stdin.take().unwrap(), "{}", env["AZKRB_LAB_PASSWORD"]).unwrap();
    assert!(kinit.wait().unwrap().success());
}

/// The lab's user with her password, on the encrypted instance.
fn alice(env: &Env) -> AzureFiles {
    builder(env)
        .tgt(password(env, &env["AZKRB_LAB_PASSWORD"]))
        .build()
        .unwrap()
}

/// [`alice`] and the lab's share, open.
async fn alice_on_the_share(env: &Env) -> (AzureFiles, azkrb::Share) {
    let files = alice(env);
    let share = files
        .open(&unc(env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    (files, share)
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn password_login_open_write_read_and_close() {
    let env = lab();
    // AES-256-GCM only, as Azure's maximum-security profile requires (Samba would otherwise
    // pick its own preference, AES-128-GCM).
    let files = builder(&env)
        .tgt(password(&env, &env["AZKRB_LAB_PASSWORD"]))
        .ciphers(vec![azkrb_smb3::Cipher::Aes256Gcm])
        .build()
        .unwrap();
    let share = files
        .open(&format!(
            r"\\{}\{}\ignored",
            env["AZKRB_LAB_HOST"], env["AZKRB_LAB_SHARE"]
        ))
        .await
        .unwrap();
    assert_eq!(share.unc().path, "ignored");
    assert!(share.session().encrypted);
    assert_eq!(
        share.negotiated().cipher,
        Some(azkrb_smb3::Cipher::Aes256Gcm)
    );
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    share
        .tree()
        .write_file("facade.bin", std::sync::Arc::new(data.clone()), 4)
        .await
        .unwrap();
    assert_eq!(share.tree().read_file("facade.bin", 4).await.unwrap(), data);
    let on_disk = std::fs::read(format!("{}/facade.bin", env["AZKRB_LAB_SHARE_DIR"])).unwrap();
    assert_eq!(on_disk, data);
    // A second open reuses the TGT and the cached service ticket (the same ticket, not a
    // new one from the KDC).
    let first = files.cifs_ticket(&env["AZKRB_LAB_HOST"]).await.unwrap();
    let again = files
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    assert!(
        again
            .tree()
            .list("")
            .await
            .unwrap()
            .iter()
            .any(|e| e.name == "facade.bin")
    );
    let second = files.cifs_ticket(&env["AZKRB_LAB_HOST"]).await.unwrap();
    assert!(first.ticket == second.ticket, "a new ticket was fetched");
    share.tree().remove("facade.bin", false).await.unwrap();
    share.close().await.unwrap();
    again.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn tgt_from_an_mit_kinit_ccache() {
    let env = lab();
    let dir = std::env::temp_dir().join(format!("azkrb-facade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = dir.join("kinit.ccache").display().to_string();
    kinit(&env, &format!("FILE:{cc}"), &[]);
    let files = builder(&env)
        .tgt(Tgt::Ccache(Some(format!("FILE:{cc}"))))
        .build()
        .unwrap();
    let share = files
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    share.tree().list("").await.unwrap();
    share.close().await.unwrap();
    // An empty ccache is a clear usage error.
    let empty = dir.join("empty.ccache").display().to_string();
    azkrb_cloudtgt::ccache::Ccache::new(
        azkrb_cloudtgt::Principal::parse(&env["AZKRB_LAB_USER"], &env["AZKRB_LAB_REALM"]).unwrap(),
    )
    .save(&empty)
    .unwrap();
    let e = builder(&env)
        .tgt(Tgt::Ccache(Some(empty)))
        .build()
        .unwrap()
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap_err();
    // A credential cache problem: the Kerberos layer's, naming the file.
    assert!(
        matches!(
            &e,
            Error::Kerberos(azkrb_cloudtgt::Error::File { detail, .. })
                if detail.contains("no ticket-granting ticket")
        ),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn errors_by_layer() {
    let env = lab();
    // Wrong password: a Kerberos error.
    let e = builder(&env)
        .tgt(password(&env, "not the password"))
        .build()
        .unwrap()
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Kerberos(_)), "{e}");
    // Unknown share: the server's status, typed.
    let files = alice(&env);
    let e = files.open(&unc(&env, "no-such-share")).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Smb(azkrb_smb3::Error::Status {
                status: NtStatus::BAD_NETWORK_NAME,
                ..
            })
        ),
        "{e}"
    );
    // A malformed UNC path never reaches the network.
    let e = files.open("//only-a-host").await.unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e}");
    // Nobody listening on the SMB port: an SMB (I/O) error naming the target.
    let e = builder(&env)
        .tgt(password(&env, &env["AZKRB_LAB_PASSWORD"]))
        .connect_to("127.0.0.1:1")
        .build()
        .unwrap()
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Smb(azkrb_smb3::Error::Io { .. })), "{e}");
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn reauthentication_keeps_the_session_trees_and_open_handles() {
    let env = lab();
    let (_files, share) = alice_on_the_share(&env).await;
    let tree = share.tree();
    let name = format!("azkrb-reauth-{}.bin", std::process::id());
    let h = tree
        .open(
            &name,
            azkrb_smb3::OpenOptions::write().disposition(azkrb_smb3::Disposition::OverwriteIf),
        )
        .await
        .unwrap();
    tree.write_at(h, 0, b"before").await.unwrap();
    // Twice: a second SESSION_SETUP on the session's id, encrypted like its other requests.
    for _ in 0..2 {
        share.reauthenticate().await.unwrap();
    }
    // The same session, tree and handle go on working.
    tree.write_at(h, 6, b" and after").await.unwrap();
    assert_eq!(tree.read_at(h, 0, 100).await.unwrap(), b"before and after");
    tree.close(h).await.unwrap();
    assert!(tree.list("").await.unwrap().iter().any(|e| e.name == name));
    tree.remove(&name, false).await.unwrap();
    share.close().await.unwrap();
    // On the unencrypted instance the re-authentication is signed, and its answer verified.
    let plain = AzureFiles::builder()
        .krb5_conf(&env["AZKRB_LAB_KRB5_CONF"])
        .ca_file(&env["AZKRB_LAB_CA"])
        .connect_to(format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PLAIN_PORT"]))
        .require_encryption(false)
        .tgt(password(&env, &env["AZKRB_LAB_PASSWORD"]))
        .build()
        .unwrap();
    let share = plain
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    assert!(!share.session().encrypted);
    share.reauthenticate().await.unwrap();
    share.tree().list("").await.unwrap();
    share.close().await.unwrap();
}

/// A long transfer never meets the end of its tickets: the share re-authenticates its
/// session before each ends, while writes go on (one every 250 ms for 100 s, over two of
/// the short host's 45 s tickets), called on the tree directly (no retry would hide an
/// expiry). A share that does not refresh, writing beside it, meets the expiry.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_session_is_re_authenticated_before_its_ticket_ends_while_a_transfer_goes_on() {
    use azkrb_smb3::{Disposition, OpenOptions};
    use std::time::{Duration, Instant};
    let env = lab();
    let host = &env["AZKRB_LAB_SHORT_HOST"];
    let target = format!("//{host}/{}", env["AZKRB_LAB_SHARE"]);
    let client = |margin| {
        builder(&env)
            .tgt(password(&env, &env["AZKRB_LAB_PASSWORD"]))
            .refresh_margin(margin)
            .build()
            .unwrap()
    };
    let share = client(Duration::from_secs(300))
        .open(&target)
        .await
        .unwrap();
    let lapsing = client(Duration::ZERO).open(&target).await.unwrap();
    let first_end = share.session().valid_until().unwrap();
    let now = azkrb::asn1::KerberosTime::now().unix();
    assert!(first_end - now <= 45, "{}", first_end - now);
    let name = format!("refresh-{}.bin", std::process::id());
    let tree = share.tree();
    let h = tree
        .open(
            &name,
            OpenOptions::write().disposition(Disposition::OverwriteIf),
        )
        .await
        .unwrap();
    let other = lapsing.tree();
    let mut sent = Vec::new();
    let mut ends = vec![first_end];
    let mut lapsed = None;
    let started = Instant::now();
    let mut chunk = 0u64;
    while started.elapsed() < Duration::from_secs(100) {
        let data: Vec<u8> = (0..64 * 1024u64)
            .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(chunk * 7) >> 8) as u8)
            .collect();
        let offset = sent.len() as u64;
        let n = tree
            .write_at(h, offset, &data)
            .await
            .unwrap_or_else(|e| panic!("write {chunk} at {:?}: {e}", started.elapsed()));
        assert_eq!(n as usize, data.len());
        sent.extend_from_slice(&data);
        if lapsed.is_none()
            && let Err(e) = other.stat("").await
        {
            lapsed = Some((started.elapsed(), e));
        }
        let end = share.session().valid_until().unwrap();
        if ends.last() != Some(&end) {
            ends.push(end);
        }
        chunk += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tree.close(h).await.unwrap();
    // Every byte as written, read back through the same session.
    let back = share.tree().read_file(&name, 8).await.unwrap();
    assert_eq!(back.len(), sent.len());
    assert!(back == sent, "the file differs from what was written");
    // Refreshed at least twice, each time before the session's end.
    assert!(ends.len() >= 3, "session ends seen: {ends:?}");
    // Without refreshing, the session expired within its ticket's life.
    let (when, e) = lapsed.expect("the session that is not refreshed never expired");
    assert!(
        matches!(
            e,
            azkrb_smb3::Error::Status {
                status: NtStatus::NETWORK_SESSION_EXPIRED,
                ..
            }
        ),
        "{e}"
    );
    assert!(when < Duration::from_secs(50), "{when:?}");
    share.tree().remove(&name, false).await.unwrap();
    share.close().await.unwrap();
    lapsing.close().await.unwrap();
}

/// A session whose ticket ends with its TGT (a minute long, renewable for an hour, from
/// MIT's kinit) is kept past the TGT's end: the share renews the TGT before it ends, writes
/// it back to the cache, and re-authenticates with a ticket of the renewed TGT, while
/// requests go on for 100 s.
#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_renewable_tgt_is_renewed_to_keep_a_session_past_its_end() {
    use std::time::{Duration, Instant};
    let env = lab();
    let dir = std::env::temp_dir().join(format!("azkrb-renew-session-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = format!("FILE:{}", dir.join("cc").display());
    kinit(&env, &cc, &["-l", "1m", "-r", "1h"]);
    let tgt_end = |cc: &str| {
        azkrb::cloudtgt::ccache::Ccache::load(cc.trim_start_matches("FILE:"))
            .unwrap()
            .tgt()
            .unwrap()
            .endtime
            .unix()
    };
    let first_tgt = tgt_end(&cc);
    let files = builder(&env)
        .tgt(Tgt::Ccache(Some(cc.clone())))
        .build()
        .unwrap();
    let share = files
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    let mut ends = vec![share.session().valid_until().unwrap()];
    assert!(ends[0] <= first_tgt, "the ticket ends with the TGT");
    let tree = share.tree();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(100) {
        tree.stat("")
            .await
            .unwrap_or_else(|e| panic!("at {:?}: {e}", started.elapsed()));
        let end = share.session().valid_until().unwrap();
        if ends.last() != Some(&end) {
            ends.push(end);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(ends.len() >= 3, "session ends seen: {ends:?}");
    assert!(
        tgt_end(&cc) > first_tgt + 60,
        "the cache's TGT was not renewed"
    );
    share.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn an_expired_session_is_revived_by_reauthentication() {
    let env = lab();
    // The lab's cifs/acctshort tickets live 45 s, and Samba ends the session with them
    // (the session is left to expire here: not re-authenticated before).
    let files = builder(&env)
        .tgt(password(&env, &env["AZKRB_LAB_PASSWORD"]))
        .refresh_margin(std::time::Duration::ZERO)
        .build()
        .unwrap();
    let host = &env["AZKRB_LAB_SHORT_HOST"];
    let share = files
        .open(&format!("//{host}/{}", env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    let ticket = files.cifs_ticket(host).await.unwrap();
    let life = ticket.endtime.0 - ticket.starttime.unwrap_or(ticket.authtime).0;
    assert!(life <= 45, "the lab's short ticket lives {life} s");
    share.tree().list("").await.unwrap();
    // A second session on the same host (another client's: one client's shares of a
    // server share their session), left to expire and then closed.
    let idle = files
        .for_user(password(&env, &env["AZKRB_LAB_PASSWORD"]))
        .open(&format!("//{host}/{}", env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    assert_ne!(idle.session().id(), share.session().id());
    tokio::time::sleep(std::time::Duration::from_secs(life as u64 + 3)).await;
    let e = share.tree().list("").await.unwrap_err();
    assert!(
        matches!(
            e,
            azkrb_smb3::Error::Status {
                status: NtStatus::NETWORK_SESSION_EXPIRED,
                ..
            }
        ),
        "{e}"
    );
    // A fresh ticket (the cached one has run out) revives the same session: `run` sees the
    // expiry, re-authenticates once for the two operations that saw it, and retries them.
    let (a, b) = tokio::join!(
        share.run(|t| async move { t.list("").await }),
        share.run(|t| async move { t.stat("").await })
    );
    a.unwrap();
    b.unwrap();
    share.tree().list("").await.unwrap();
    // And again, explicitly, once the new ticket has ended too.
    tokio::time::sleep(std::time::Duration::from_secs(life as u64 + 3)).await;
    assert!(share.tree().list("").await.is_err());
    share.reauthenticate().await.unwrap();
    share.tree().list("").await.unwrap();
    share.close().await.unwrap();
    // Closing an expired session is not an error: LOGOFF goes through, the rest is over.
    idle.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn reauthentication_as_another_principal_is_refused_before_it_reaches_the_server() {
    let env = lab();
    // Alice's TGT in a credential cache, near its end as the cache tells it (its last
    // 200 s): the share reads the cache again when it re-authenticates.
    let dir = std::env::temp_dir().join(format!("azkrb-other-principal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cc = dir.join("ccache").to_string_lossy().into_owned();
    let mut tgt = alice(&env).tgt().await.unwrap();
    tgt.endtime = azkrb_asn1::KerberosTime(azkrb_asn1::KerberosTime::now().0 + 200);
    let save = |cred: &azkrb_cloudtgt::Credential| {
        let mut cache = azkrb_cloudtgt::ccache::Ccache::new(cred.client.clone());
        cache.store(cred).unwrap();
        cache.save(&cc).unwrap();
    };
    save(&tgt);
    let files = builder(&env)
        .tgt(Tgt::Ccache(Some(cc.clone())))
        .build()
        .unwrap();
    let share = files
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    assert!(
        share.principal().starts_with("alice@"),
        "{}",
        share.principal()
    );
    // Meanwhile someone logged in as the lab's UPN user into the same cache: the server
    // would drop the session (and its open files) if it saw that ticket, so it never does.
    let other = builder(&env)
        .tgt(Tgt::Password {
            principal: env["AZKRB_LAB_UPN"].clone(),
            realm: Some(env["AZKRB_LAB_REALM"].clone()),
            password: Zeroizing::new(env["AZKRB_LAB_UPN_PASSWORD"].clone()),
        })
        .build()
        .unwrap();
    save(&other.tgt().await.unwrap());
    let e = share.reauthenticate().await.unwrap_err();
    assert!(matches!(e, Error::Usage(_)), "{e}");
    assert!(e.to_string().contains("was opened as alice@"), "{e}");
    share.tree().list("").await.unwrap();
    // Alice logs in again: the share goes on as her.
    save(&alice(&env).tgt().await.unwrap());
    share.reauthenticate().await.unwrap();
    share.tree().list("").await.unwrap();
    share.close().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
