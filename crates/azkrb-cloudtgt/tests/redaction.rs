//! No key bytes, passwords or client keys in any `Debug` output of this crate's types.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use azkrb_asn1::krb::{EncryptedData, Ticket};
use azkrb_asn1::{KerberosTime, TicketFlags};
use azkrb_cloudtgt::ccache::{Ccache, Entry};
use azkrb_cloudtgt::cloud::CloudTgt;
use azkrb_cloudtgt::gss::{Initiator, SMB_FLAGS};
use azkrb_cloudtgt::keytab::{Keytab, KeytabEntry};
use azkrb_cloudtgt::{
    AsExchange, AsSecret, Client, Credential, CredentialCache, Principal, RealmConfig, TgsExchange,
    TransportOptions,
};
use azkrb_crypto::{EncryptionType, Key};

/// A key whose bytes are easy to spot: c0 c1 c2 ... df.
fn key_bytes() -> Vec<u8> {
    (0xc0..=0xdf).collect()
}

fn key() -> Key {
    Key::new(EncryptionType::Aes256CtsHmacSha196, &key_bytes()).unwrap()
}

/// `debug` shows no 4-byte run of `key` as hex (either case, packed or as a `{:x?}` list),
/// as a decimal list (`Vec<u8>`'s `Debug`), as escaped bytes (`Bytes`' `Debug`), nor the
/// key in base64.
fn assert_redacted(what: &str, debug: &str, key: &[u8]) {
    for w in key.windows(4) {
        let forms = [
            w.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            w.iter().map(|b| format!("{b:02X}")).collect::<String>(),
            format!("{w:x?}").trim_matches(['[', ']']).to_string(),
            format!("{w:?}").trim_matches(['[', ']']).to_string(),
            w.iter().map(|b| format!("\\x{b:02x}")).collect::<String>(),
        ];
        for form in forms {
            assert!(
                !debug.contains(&form),
                "{what}: Debug shows key bytes ({form}): {debug}"
            );
        }
    }
    let b64 = STANDARD.encode(key);
    assert!(
        !debug.contains(&b64[..16]),
        "{what}: Debug shows the key in base64: {debug}"
    );
}

fn alice() -> Principal {
    Principal::parse("alice@EXAMPLE.TEST", "EXAMPLE.TEST").unwrap()
}

fn credential() -> Credential {
    let tgs = Principal::krbtgt("EXAMPLE.TEST", "EXAMPLE.TEST");
    let now = KerberosTime::now();
    Credential {
        client: alice(),
        server: tgs.clone(),
        session_key: key(),
        ticket: Ticket {
            tkt_vno: 5,
            realm: "EXAMPLE.TEST".into(),
            sname: tgs.name,
            enc_part: EncryptedData {
                etype: 18,
                kvno: Some(1),
                cipher: vec![0u8; 48].into(),
            },
        },
        flags: TicketFlags(0),
        authtime: now,
        starttime: None,
        endtime: KerberosTime::from_unix(now.unix() + 3600),
        renew_till: None,
    }
}

#[test]
fn ccache_entries_do_not_show_their_keys() {
    let entry = Entry::from_credential(&credential()).unwrap();
    let debug = format!("{entry:?}");
    assert_redacted("ccache::Entry", &debug, &key_bytes());
    assert!(debug.contains("redacted 32 bytes"), "{debug}");
    assert!(debug.contains("alice"), "{debug}");
    let mut cache = Ccache::new(alice());
    cache.store(&credential()).unwrap();
    assert_redacted("Ccache", &format!("{cache:?}"), &key_bytes());
    assert_redacted("Ccache {:#?}", &format!("{cache:#?}"), &key_bytes());
}

#[test]
fn cloud_tgt_does_not_show_its_client_key() {
    let raw = STANDARD.encode(key_bytes());
    let jwe = format!("eyJhbGciOiJkaXIifQ..{raw}.{raw}.tag");
    for client_key in [raw.clone(), jwe.clone()] {
        let t = CloudTgt::from_json(
            &serde_json::json!({
                "clientKey": client_key,
                "keyType": 18,
                "messageBuffer": "bWVzc2FnZQ==",
                "realm": "KERBEROS.MICROSOFTONLINE.COM",
                "cn": "alice",
            })
            .to_string(),
        )
        .unwrap();
        let debug = format!("{t:?}");
        assert_redacted("CloudTgt", &debug, &key_bytes());
        assert!(!debug.contains(&client_key), "{debug}");
        assert!(
            debug.contains("KERBEROS.MICROSOFTONLINE.COM") && debug.contains("key_type: 18"),
            "{debug}"
        );
    }
}

#[test]
fn credentials_keytabs_and_exchanges_do_not_show_keys() {
    let cred = credential();
    assert_redacted("Credential", &format!("{cred:?}"), &key_bytes());
    let entry = KeytabEntry {
        principal: alice(),
        timestamp: 0,
        kvno: 1,
        etype: 18,
        key: Some(key()),
    };
    let keytab = Keytab {
        entries: vec![entry],
    };
    assert_redacted("Keytab", &format!("{keytab:?}"), &key_bytes());
    let now = KerberosTime::now();
    let x = AsExchange::new(alice(), AsSecret::Keys(vec![key()]), now).unwrap();
    assert_redacted("AsExchange", &format!("{x:?}"), &key_bytes());
    let password = "correct horse battery staple";
    let x = AsExchange::new(
        alice(),
        AsSecret::Password(password.to_string().into()),
        now,
    )
    .unwrap();
    assert!(!format!("{x:?}").contains(password));
    let x = TgsExchange::new(
        cred.clone(),
        Principal::cifs("acct.example.test", "EXAMPLE.TEST"),
        now,
    )
    .unwrap();
    assert_redacted("TgsExchange", &format!("{x:?}"), &key_bytes());
    let (ctx, _token) = Initiator::new(&cred, SMB_FLAGS, now).unwrap();
    assert_redacted("Initiator", &format!("{ctx:?}"), &key_bytes());
    let cache = CredentialCache::default();
    cache.put(&cred);
    assert_redacted("CredentialCache", &format!("{cache:?}"), &key_bytes());
    let client = Client::new(RealmConfig::default(), &TransportOptions::default()).unwrap();
    client.cache().put(&cred);
    assert_redacted("Client", &format!("{client:?}"), &key_bytes());
    let kirbi = azkrb_cloudtgt::krbcred::export(std::slice::from_ref(&cred)).unwrap();
    let msg = azkrb_asn1::KerberosMessage::from_der(&kirbi).unwrap();
    assert_redacted("exported KRB-CRED", &format!("{msg:?}"), &key_bytes());
}
