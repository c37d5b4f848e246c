//! The client's TGT and where it comes from (`TgtSource`), and the krb5.conf assembly the
//! facade builds on (`RealmConfig::discover`, `set_kdcs`, `map_domain`, `with_kdc_proxy`).
//! Offline: the TGTs are MIT kinit's (tests/fixtures/mit), read as they are.

use azkrb_asn1::KerberosTime;
use azkrb_cloudtgt::ccache::Ccache;
use azkrb_cloudtgt::config::{ENTRA_REALM, KdcAddress};
use azkrb_cloudtgt::{Client, Error, RealmConfig, TgtSource, TransportOptions};
use azkrb_test_support::fixtures::mit_path;

fn client(source: Option<TgtSource>) -> Client {
    let c = Client::new(RealmConfig::default(), &TransportOptions::default()).unwrap();
    match source {
        Some(s) => c.with_tgt_source(s),
        None => c,
    }
}

/// A private copy of a fixture ccache, with the TGT's end moved to `now + secs` (as the
/// cache tells it: the client decides on that).
fn ccache_ending_in(dir: &std::path::Path, name: &str, secs: i64) -> String {
    let mut tgt = Ccache::load(&mit_path("alice.ccache"))
        .unwrap()
        .tgt()
        .unwrap();
    tgt.endtime = KerberosTime(KerberosTime::now().0 + secs);
    let mut cache = Ccache::new(tgt.client.clone());
    cache.store(&tgt).unwrap();
    let path = dir.join(name).to_string_lossy().into_owned();
    cache.save(&path).unwrap();
    path
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("azkrb-tgt-source-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[tokio::test]
async fn a_ccache_tgt_is_held_until_near_its_end_then_read_again() {
    let dir = temp_dir("held");
    let path = ccache_ending_in(&dir, "cc", 3600);
    let c = client(Some(TgtSource::Ccache(Some(path.clone()))));
    let first = c.tgt().await.unwrap();
    assert_eq!(c.cache().tgt().unwrap().endtime, first.endtime);
    // The file changes (a new login with an hour left): the TGT held is still used.
    ccache_ending_in(&dir, "cc", 7200);
    assert_eq!(c.tgt().await.unwrap().endtime, first.endtime);
    // Near the end of the TGT held, the cache is read again.
    ccache_ending_in(&dir, "cc", 60);
    c.forget_tgt();
    let near = c.tgt().await.unwrap();
    assert!(near.remaining(KerberosTime::now()) <= 60);
    ccache_ending_in(&dir, "cc", 7200);
    let renewed = c.tgt().await.unwrap();
    assert!(renewed.remaining(KerberosTime::now()) > 7000);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_ccache_without_a_tgt_or_no_source_is_a_clear_error() {
    let dir = temp_dir("empty");
    let empty = dir.join("empty").to_string_lossy().into_owned();
    let principal = Ccache::load(&mit_path("alice.ccache")).unwrap().principal;
    Ccache::new(principal).save(&empty).unwrap();
    let e = client(Some(TgtSource::Ccache(Some(empty.clone()))))
        .tgt()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::File { file, detail } if *file == empty
            && detail.contains("no ticket-granting ticket")),
        "{e}"
    );
    let e = client(None).tgt().await.unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("no TGT")),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_given_credential_is_used_as_it_is_even_near_its_end() {
    let mut tgt = Ccache::load(&mit_path("alice.ccache"))
        .unwrap()
        .tgt()
        .unwrap();
    tgt.endtime = KerberosTime(KerberosTime::now().0 + 10);
    let c = client(Some(TgtSource::Credential(Box::new(tgt.clone()))));
    assert_eq!(c.tgt().await.unwrap().endtime, tgt.endtime);
    assert_eq!(c.tgt().await.unwrap().endtime, tgt.endtime);
}

#[test]
fn realm_settings_assemble_over_a_krb5_conf() {
    let dir = temp_dir("conf");
    let conf = dir.join("krb5.conf");
    std::fs::write(
        &conf,
        "[realms]\nCONTOSO.LOCAL = {\n kdc = dc0.contoso.local\n}\n\
         [domain_realm]\nacct.file.core.windows.net = OLD.REALM\n",
    )
    .unwrap();
    let mut c = RealmConfig::discover(Some(conf.to_str().unwrap())).unwrap();
    c.set_kdcs(
        "CONTOSO.LOCAL",
        &["dc1.contoso.local:88".into(), "tcp/dc2:88".into()],
    )
    .unwrap();
    assert_eq!(c.kdcs_for("CONTOSO.LOCAL").unwrap().len(), 2);
    assert!(matches!(
        c.set_kdcs("EMPTY.REALM", &[]),
        Err(Error::Config(m)) if m.contains("EMPTY.REALM")
    ));
    c.map_domain("ACCT.file.core.windows.net", "CONTOSO.LOCAL");
    assert_eq!(
        c.realm_for_host("acct.file.core.windows.net"),
        Some("CONTOSO.LOCAL")
    );
    assert!(c.clone().with_kdc_proxy("http://proxy/kerberos").is_err());
    let c = c
        .with_kdc_proxy("https://proxy.example/t/kerberos")
        .unwrap();
    assert_eq!(
        c.kdcs_for(ENTRA_REALM).unwrap(),
        &[KdcAddress::Https("https://proxy.example/t/kerberos".into())]
    );
    // The host's own mapping stays; other Azure Files hosts go to the Entra realm.
    assert_eq!(
        c.realm_for_host("acct.file.core.windows.net"),
        Some("CONTOSO.LOCAL")
    );
    assert_eq!(
        c.realm_for_host("other.file.core.windows.net"),
        Some(ENTRA_REALM)
    );
    // A named file that is missing is an error, not an empty configuration.
    assert!(RealmConfig::discover(Some("/nonexistent/krb5.conf")).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_memory_cache_is_a_tgt_source_of_this_process() {
    use azkrb_cloudtgt::ccache::locate;
    let config = RealmConfig::default();
    let mut tgt = Ccache::load(&mit_path("alice.ccache"))
        .unwrap()
        .tgt()
        .unwrap();
    tgt.endtime = KerberosTime(KerberosTime::now().0 + 3600);
    let mut cache = Ccache::new(tgt.client.clone());
    cache.store(&tgt).unwrap();
    let name = format!("MEMORY:tgt-source-{}", std::process::id());
    let place = locate(&name, &config).unwrap();
    assert_eq!(place.to_string(), name);
    // Nothing there yet: a clear error.
    let e = client(Some(TgtSource::Ccache(Some(name.clone()))))
        .tgt()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no such credential cache"), "{e}");
    place.save(&cache).unwrap();
    let c = client(Some(TgtSource::Ccache(Some(name.clone()))));
    assert_eq!(c.tgt().await.unwrap().endtime, tgt.endtime);
    // Another name is another cache; no file was written for either.
    assert!(locate("MEMORY:other", &config).unwrap().load().is_err());
}
