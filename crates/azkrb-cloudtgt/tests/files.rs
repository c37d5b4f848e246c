//! ccache and keytab files written by MIT tools (tests/fixtures/mit): read, used, and
//! written back so that MIT's own format is reproduced.

use azkrb_cloudtgt::ccache::{Ccache, path_of};
use azkrb_cloudtgt::keytab::Keytab;
use azkrb_cloudtgt::{Principal, TgsExchange};
use azkrb_crypto::{EncryptionType, KeyUsage};
use azkrb_test_support::fixtures::mit_path as fixture;

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

#[test]
fn krb_cred_round_trip_and_errors() {
    use azkrb_cloudtgt::krbcred;
    let c = Ccache::load(&fixture("alice-with-cifs.ccache")).unwrap();
    let creds = c.credentials();
    assert_eq!(creds.len(), 2);
    let bytes = krbcred::export(&creds).unwrap();
    let back = krbcred::import(&bytes, None).unwrap();
    assert_eq!(back.len(), 2);
    for (a, b) in creds.iter().zip(&back) {
        assert_eq!(a.server, b.server);
        assert_eq!(a.client, b.client);
        assert_eq!(a.session_key, b.session_key);
        assert_eq!(a.endtime, b.endtime);
        assert_eq!(a.flags, b.flags);
        assert_eq!(a.ticket, b.ticket);
    }
    // Into a ccache and back out: what MIT writes survives the trip.
    let mut cc = Ccache::new(back[0].client.clone());
    for cred in &back {
        cc.store(cred).unwrap();
    }
    assert_eq!(
        Ccache::parse("x", &cc.to_bytes())
            .unwrap()
            .credentials()
            .len(),
        2
    );
    assert!(krbcred::import(&std::fs::read(fixture("as-rep.der")).unwrap(), None).is_err());
    for n in 0..bytes.len() {
        assert!(krbcred::import(&bytes[..n], None).is_err());
    }
}

#[test]
fn gss_initiator_builds_a_verifiable_ap_req_and_checks_the_ap_rep() {
    use azkrb_asn1::gss::{GssChecksum, Krb5Token, Krb5TokenId};
    use azkrb_asn1::krb::{
        ApRep, Authenticator, EncApRepPart, EncTicketPart, EncryptedData, EncryptionKey, KeyValue,
    };
    use azkrb_asn1::{ApOptions, KerberosMessage, KerberosTime, MessageType, decode, encode};
    use azkrb_cloudtgt::gss::{Initiator, SMB_FLAGS};
    use azkrb_crypto::Key;

    let c = Ccache::load(&fixture("alice-with-cifs.ccache")).unwrap();
    let kt = Keytab::load(&fixture("cifs.keytab")).unwrap();
    let spn = Principal::cifs("acct.file.core.windows.net", "KERBEROS.MICROSOFTONLINE.COM");
    let cred = c.find(&spn).unwrap();
    let now = KerberosTime::now();
    let (mut ctx, token) = Initiator::new(&cred, SMB_FLAGS, now).unwrap();
    assert!(!ctx.is_established() && ctx.session_key().is_none());

    // Play the acceptor with the service key, independently of the initiator's code.
    let t = Krb5Token::decode(&token).unwrap();
    assert_eq!(t.id, Krb5TokenId::ApReq);
    let KerberosMessage::ApReq(ap) = KerberosMessage::from_der(&t.message).unwrap() else {
        panic!()
    };
    assert!(ap.ap_options.contains(ApOptions::MUTUAL_REQUIRED));
    let service_key = kt.key_for(&spn, None, None).unwrap();
    let etp: EncTicketPart = decode(
        "EncTicketPart",
        &service_key
            .decrypt(KeyUsage::KDC_REP_TICKET, &ap.ticket.enc_part.cipher)
            .unwrap(),
    )
    .unwrap();
    let session = Key::from_wire(etp.key.keytype, &etp.key.keyvalue).unwrap();
    let auth: Authenticator = decode(
        "Authenticator",
        &session
            .decrypt(KeyUsage::AP_REQ_AUTHENTICATOR, &ap.authenticator.cipher)
            .unwrap(),
    )
    .unwrap();
    let gss = GssChecksum::decode(&auth.cksum.unwrap().checksum).unwrap();
    assert_eq!(gss.flags, SMB_FLAGS);
    assert!(auth.subkey.is_some() && auth.seq_number.is_some());

    // A wrong echo is refused...
    let acceptor_subkey = Key::random(EncryptionType::Aes256CtsHmacSha196).unwrap();
    let rep = |ctime: KerberosTime| {
        let part = EncApRepPart {
            ctime,
            cusec: auth.cusec,
            subkey: Some(EncryptionKey {
                keytype: 18,
                keyvalue: KeyValue::new(acceptor_subkey.as_bytes().to_vec()),
            }),
            seq_number: None,
        };
        let enc = session
            .encrypt(
                KeyUsage::AP_REP_ENC_PART,
                &encode("EncAPRepPart", &part).unwrap(),
            )
            .unwrap();
        let ap_rep = ApRep {
            pvno: 5,
            msg_type: MessageType::ApRep,
            enc_part: EncryptedData {
                etype: 18,
                kvno: None,
                cipher: enc.into(),
            },
        };
        Krb5Token {
            id: Krb5TokenId::ApRep,
            message: encode("AP-REP", &ap_rep).unwrap(),
        }
        .encode_framed()
    };
    let err = ctx
        .handle_token(&rep(KerberosTime::from_unix(now.unix() - 1)))
        .unwrap_err();
    assert!(err.to_string().contains("echo"), "{err}");
    // ...the right one establishes the context with the acceptor's subkey as session key.
    ctx.handle_token(&rep(auth.ctime)).unwrap();
    assert!(ctx.is_established());
    assert_eq!(ctx.session_key().unwrap(), &acceptor_subkey);
    assert_eq!(ctx.session_key().unwrap().as_bytes().len(), 32);
    // MICs: ours verifies under the initiator usage; an acceptor MIC must be the acceptor's.
    let mic = ctx.get_mic(b"mechListMIC").unwrap();
    let parsed = azkrb_asn1::gss::MicToken::decode(&mic).unwrap();
    acceptor_subkey
        .verify_checksum_parts(
            KeyUsage::GSS_INITIATOR_SIGN,
            16,
            &[b"mechListMIC", &parsed.header()],
            &parsed.checksum,
        )
        .unwrap();
    assert!(
        ctx.verify_mic(b"mechListMIC", &mic).is_err(),
        "an initiator token is not an acceptor MIC"
    );
    let mut acc = azkrb_asn1::gss::MicToken {
        flags: 0x05,
        snd_seq: 7,
        checksum: vec![],
    };
    acc.checksum = acceptor_subkey
        .checksum_parts(KeyUsage::GSS_ACCEPTOR_SIGN, &[b"list", &acc.header()])
        .unwrap();
    ctx.verify_mic(b"list", &acc.encode()).unwrap();
    assert!(ctx.verify_mic(b"lisT", &acc.encode()).is_err());
}

/// Version 3 differs from 4 by having no header and the key type written twice.
fn to_v3(v4: &Ccache) -> Vec<u8> {
    let mut out = vec![5u8, 3];
    let principal = |out: &mut Vec<u8>, p: &Principal| {
        out.extend_from_slice(&p.name.name_type.value().to_be_bytes());
        out.extend_from_slice(&(p.name.name_string.len() as u32).to_be_bytes());
        out.extend_from_slice(&(p.realm.len() as u32).to_be_bytes());
        out.extend_from_slice(p.realm.as_bytes());
        for c in &p.name.name_string {
            out.extend_from_slice(&(c.as_bytes().len() as u32).to_be_bytes());
            out.extend_from_slice(c.as_bytes());
        }
    };
    principal(&mut out, &v4.principal);
    for e in &v4.entries {
        principal(&mut out, &e.client);
        principal(&mut out, &e.server);
        out.extend_from_slice(&(e.keytype as u16).to_be_bytes());
        out.extend_from_slice(&(e.keytype as u16).to_be_bytes());
        out.extend_from_slice(&(e.key.len() as u32).to_be_bytes());
        out.extend_from_slice(&e.key);
        for t in e.times {
            out.extend_from_slice(&t.to_be_bytes());
        }
        out.push(u8::from(e.is_skey));
        out.extend_from_slice(&e.flags.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&(e.ticket.len() as u32).to_be_bytes());
        out.extend_from_slice(&e.ticket);
        out.extend_from_slice(&0u32.to_be_bytes());
    }
    out
}

#[test]
fn version_3_caches_are_read() {
    let v4 = Ccache::load(&fixture("alice-with-cifs.ccache")).unwrap();
    let v3 = Ccache::parse("v3", &to_v3(&v4)).unwrap();
    assert_eq!(v3.principal, v4.principal);
    assert_eq!(v3.credentials().len(), v4.credentials().len());
    assert_eq!(v3.tgt().unwrap().session_key, v4.tgt().unwrap().session_key);
    assert!(v3.kdc_offset.is_none());
}

#[test]
fn krb5ccname_is_honoured() {
    // Setting the variable in this process would race with other tests (and needs
    // `unsafe`), so the check runs in a child process of this test binary.
    let exe = std::env::current_exe().unwrap();
    if std::env::var("AZKRB_CCNAME_CHILD").is_ok() {
        let p = azkrb_cloudtgt::ccache::default_path().unwrap();
        assert_eq!(p, "/tmp/from-env.ccache");
        return;
    }
    let out = std::process::Command::new(exe)
        .args(["krb5ccname_is_honoured", "--exact", "--nocapture"])
        .env("AZKRB_CCNAME_CHILD", "1")
        .env("KRB5CCNAME", "FILE:/tmp/from-env.ccache")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["krb5ccname_is_honoured", "--exact"])
        .env("AZKRB_CCNAME_CHILD", "1")
        .env("KRB5CCNAME", "KCM:")
        .output()
        .unwrap();
    assert!(!out.status.success(), "a KCM: cache is refused");
}
