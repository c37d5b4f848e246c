//! ccache and keytab files written by MIT tools (tests/fixtures/mit): read, used, and
//! written back so that MIT's own format is reproduced.

use azkrb_cloudtgt::ccache::{Ccache, path_of};
use azkrb_cloudtgt::keytab::Keytab;
use azkrb_cloudtgt::{Principal, TgsExchange};
use azkrb_crypto::{EncryptionType, KeyUsage};

fn fixture(name: &str) -> String {
    format!(
        "{}/../../tests/fixtures/mit/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn kinit_ccache_reads_and_round_trips() {
    let c = Ccache::load(&fixture("alice-with-cifs.ccache")).unwrap();
    assert_eq!(
        c.principal.to_string(),
        "alice@KERBEROS.MICROSOFTONLINE.COM"
    );
    assert!(
        c.entries.iter().any(|e| e.is_config()),
        "kinit stores config entries"
    );
    let tgt = c.tgt().unwrap();
    assert_eq!(
        tgt.server.to_string(),
        "krbtgt/KERBEROS.MICROSOFTONLINE.COM@KERBEROS.MICROSOFTONLINE.COM"
    );
    assert_eq!(tgt.session_key.etype(), EncryptionType::Aes256CtsHmacSha196);
    let cifs = c
        .find(&Principal::cifs(
            "acct.file.core.windows.net",
            "KERBEROS.MICROSOFTONLINE.COM",
        ))
        .unwrap();
    assert!(cifs.endtime > cifs.authtime);
    // MIT writes version 4 with the KDC time-offset header; re-serialising gives the same bytes.
    let bytes = std::fs::read(fixture("alice-with-cifs.ccache")).unwrap();
    assert_eq!(c.to_bytes(), bytes);
}

#[test]
fn ccache_tgt_and_keytab_decrypt_each_other() {
    // The cifs ticket in the cache decrypts with the keytab's key: it is for that SPN.
    let c = Ccache::load(&fixture("alice-with-cifs.ccache")).unwrap();
    let kt = Keytab::load(&fixture("cifs.keytab")).unwrap();
    let spn = Principal::cifs("acct.file.core.windows.net", "KERBEROS.MICROSOFTONLINE.COM");
    let cred = c.find(&spn).unwrap();
    let key = kt
        .key_for(
            &spn,
            Some(EncryptionType::Aes256CtsHmacSha196),
            cred.ticket.enc_part.kvno,
        )
        .unwrap();
    let plain = key
        .decrypt(KeyUsage::KDC_REP_TICKET, &cred.ticket.enc_part.cipher)
        .unwrap();
    let etp: azkrb_asn1::krb::EncTicketPart = azkrb_asn1::decode("EncTicketPart", &plain).unwrap();
    assert_eq!(&etp.key.keyvalue[..], cred.session_key.as_bytes());
    assert_eq!(kt.entries.len(), 3);
}

#[test]
fn malformed_files_are_errors() {
    let bytes = std::fs::read(fixture("alice.ccache")).unwrap();
    for n in 0..bytes.len() {
        let r = Ccache::parse("alice.ccache", &bytes[..n]);
        if n > 2 {
            // Any truncation inside the principal or an entry is reported; a cut exactly at
            // an entry boundary is a valid, shorter cache.
            if let Err(e) = r {
                assert!(e.to_string().contains("alice.ccache"), "{e}");
            }
        }
    }
    assert!(Ccache::parse("x", b"\x05\x09").is_err());
    assert!(Keytab::parse("x", b"\x05\x02\x00\x00\x10\x00").is_err());
    let kt = std::fs::read(fixture("cifs.keytab")).unwrap();
    for n in 0..kt.len() {
        let _ = Keytab::parse("cifs.keytab", &kt[..n]);
    }
    assert!(path_of("KEYRING:persistent:0").is_err());
    assert_eq!(path_of("FILE:/tmp/x").unwrap(), "/tmp/x");
}

#[test]
fn expired_tgt_is_a_clear_error() {
    let c = Ccache::load(&fixture("alice.ccache")).unwrap();
    let tgt = c.tgt().unwrap();
    let later = azkrb_asn1::KerberosTime::from_unix(tgt.endtime.unix() + 1);
    let err = TgsExchange::new(
        tgt,
        Principal::cifs("acct.file.core.windows.net", "KERBEROS.MICROSOFTONLINE.COM"),
        later,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("expired") && err.contains("fetch a new one"),
        "{err}"
    );
}
