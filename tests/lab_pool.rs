//! Many users, one connection: shares opened by clients that share `Connections` go over one
//! connection per server, with one session per principal on it, and keep working when
//! other shares close and when the connection drops (one reconnect serves them all).

use azkrb::smb3::{Disposition, OpenOptions};
use azkrb::{AzureFiles, Tgt};
use azkrb_test_support::lab;
use azkrb_test_support::proxy::Proxy;
use zeroize::Zeroizing;

type Env = std::collections::HashMap<String, String>;

/// Alice and the lab's UPN user, sharing the connections, through a proxy that counts
/// them.
async fn two_users(env: &Env) -> (Proxy, AzureFiles, AzureFiles) {
    let smb = format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"]);
    let proxy = Proxy::start(smb.parse().unwrap()).await.unwrap();
    let alice = AzureFiles::builder()
        .krb5_conf(&env["AZKRB_LAB_KRB5_CONF"])
        .ca_file(&env["AZKRB_LAB_CA"])
        .connect_to(proxy.addr.to_string())
        .tgt(Tgt::Password {
            principal: env["AZKRB_LAB_USER"].clone(),
            realm: Some(env["AZKRB_LAB_REALM"].clone()),
            password: Zeroizing::new(env["AZKRB_LAB_PASSWORD"].clone()),
        })
        .build()
        .unwrap();
    let upn = alice.for_user(Tgt::Password {
        principal: env["AZKRB_LAB_UPN"].clone(),
        realm: Some(env["AZKRB_LAB_REALM"].clone()),
        password: Zeroizing::new(env["AZKRB_LAB_UPN_PASSWORD"].clone()),
    });
    (proxy, alice, upn)
}

fn unc(env: &Env, share: &str) -> String {
    format!("//{}/{share}", env["AZKRB_LAB_HOST"])
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn users_and_shares_share_one_connection_with_a_session_per_principal() {
    let env = lab();
    let (proxy, alice, upn) = two_users(&env).await;
    let a = alice
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    let b = alice
        .open(&unc(&env, &env["AZKRB_LAB_RAM_SHARE"]))
        .await
        .unwrap();
    let c = upn.open(&unc(&env, &env["AZKRB_LAB_SHARE"])).await.unwrap();
    assert_eq!(proxy.accepted(), 1, "one connection for all three");
    assert_eq!(
        a.session().id(),
        b.session().id(),
        "one session per principal"
    );
    assert_ne!(a.session().id(), c.session().id());
    assert_ne!(a.principal(), c.principal());
    // Another client naming the same principal has credentials of its own to prove: a
    // session of its own on the same connection, never alice's.
    let again = upn.for_user(Tgt::Password {
        principal: env["AZKRB_LAB_USER"].clone(),
        realm: Some(env["AZKRB_LAB_REALM"].clone()),
        password: Zeroizing::new(env["AZKRB_LAB_PASSWORD"].clone()),
    });
    let e = again
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    assert_eq!(e.principal(), a.principal());
    assert_ne!(e.session().id(), a.session().id());
    assert_eq!(proxy.accepted(), 1);
    e.close().await.unwrap();
    for s in [&a, &b, &c] {
        s.tree().list("").await.unwrap();
    }
    // One user's share closes: the others go on; a closed share of a principal whose
    // other share is open leaves their session alone.
    c.close().await.unwrap();
    a.tree().list("").await.unwrap();
    a.close().await.unwrap();
    b.tree().list("").await.unwrap();
    b.disconnect().await;
    assert!(b.connection_lost());
    // The pool opens a new connection for the next share.
    let d = alice
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    d.tree().list("").await.unwrap();
    assert_eq!(proxy.accepted(), 2);
    d.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_dropped_shared_connection_is_replaced_once_for_every_user() {
    let env = lab();
    let (proxy, alice, upn) = two_users(&env).await;
    let a = alice
        .open(&unc(&env, &env["AZKRB_LAB_SHARE"]))
        .await
        .unwrap();
    let c = upn.open(&unc(&env, &env["AZKRB_LAB_SHARE"])).await.unwrap();
    assert_eq!(proxy.accepted(), 1);
    // A file open for writing on each: after the drop both go on writing (the replaced
    // connection's ChannelSequence is one, whoever reconnected first).
    let write = OpenOptions::write().disposition(Disposition::OverwriteIf);
    let name = |who: &str| format!("pool-{who}-{}.bin", std::process::id());
    let ha = a.tree().open(&name("a"), write).await.unwrap();
    let hc = c.tree().open(&name("c"), write).await.unwrap();
    a.tree().write_at(ha, 0, b"before").await.unwrap();
    c.tree().write_at(hc, 0, b"before").await.unwrap();
    proxy.cut();
    let (x, y) = tokio::join!(
        a.run(|t| async move { t.write_at(ha, 6, b" after").await }),
        c.run(|t| async move { t.write_at(hc, 6, b" after").await })
    );
    x.unwrap();
    y.unwrap();
    for (s, h, who) in [(&a, ha, "a"), (&c, hc, "c")] {
        s.run(|t| async move { t.close(h).await }).await.unwrap();
        assert_eq!(
            s.tree().read_file(&name(who), 1).await.unwrap(),
            b"before after"
        );
        s.tree().remove(&name(who), false).await.unwrap();
    }
    assert_eq!(proxy.accepted(), 2, "one new connection for both users");
    assert_eq!(a.connection().client_guid(), c.connection().client_guid());
    assert_ne!(a.session().id(), c.session().id());
    a.close().await.unwrap();
    c.close().await.unwrap();
}
