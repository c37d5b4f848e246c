//! A hybrid user holds two TGTs, as Windows does: Entra's cloud TGT and the AD DS one, side
//! by side in a credential cache collection (`DIR:`, made here by MIT's kinit). For each
//! host the TGT of the realm that serves it is used; the lab has no trust from Entra to AD
//! DS (Entra has none), so the AD DS share is reachable only with the AD DS TGT.

use azkrb::{AzureFiles, Tgt};
use azkrb_test_support::lab;

type Env = std::collections::HashMap<String, String>;

/// MIT kinit of `principal` into the collection `name`.
fn kinit(env: &Env, name: &str, principal: &str, password: &str) {
    use std::io::Write;
    let mut k = std::process::Command::new("kinit")
        .arg(principal)
        .env("KRB5CCNAME", name)
        .env("KRB5_CONFIG", &env["AZKRB_LAB_KRB5_CONF_DIRECT"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    writeln!(k.stdin.take().unwrap(), "{password}").unwrap();
    assert!(k.wait().unwrap().success(), "kinit {principal}");
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn one_process_reaches_entra_and_ad_ds_shares_with_a_tgt_each() {
    let env = lab();
    let dir = std::env::temp_dir().join(format!("azkrb-hybrid-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("DIR:{}", dir.display());
    let (entra, adds) = (&env["AZKRB_LAB_REALM"], &env["AZKRB_LAB_ADDS_REALM"]);
    kinit(
        &env,
        &name,
        &format!("alice@{entra}"),
        &env["AZKRB_LAB_PASSWORD"],
    );
    // The AD DS login comes last: its cache is the collection's primary (kinit switches).
    kinit(
        &env,
        &name,
        &format!("alice@{adds}"),
        &env["AZKRB_LAB_ADDS_ALICE_PASSWORD"],
    );

    let files = AzureFiles::builder()
        .krb5_conf(&env["AZKRB_LAB_KRB5_CONF"])
        .ca_file(&env["AZKRB_LAB_CA"])
        .connect_to(format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"]))
        .tgt(Tgt::Ccache(Some(name.clone())))
        .build()
        .unwrap();
    let share = &env["AZKRB_LAB_SHARE"];
    for (host, realm) in [
        (&env["AZKRB_LAB_HOST"], entra),
        (&env["AZKRB_LAB_ADDS_HOST"], adds),
    ] {
        let t = files.cifs_ticket(host).await.unwrap();
        assert_eq!(t.client.to_string(), format!("alice@{realm}"), "{host}");
        assert_eq!(t.server.realm, *realm, "{host}");
        let s = files.open(&format!("//{host}/{share}")).await.unwrap();
        assert_eq!(s.principal(), format!("alice@{realm}"));
        let path = format!("hybrid-{}-{}.txt", realm.to_lowercase(), std::process::id());
        s.run(|t| {
            let path = &path;
            async move { t.write_whole(path, realm.as_bytes()).await }
        })
        .await
        .unwrap();
        s.run(|t| {
            let path = &path;
            async move { t.remove(path, false).await }
        })
        .await
        .unwrap();
        s.close().await.unwrap();
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
