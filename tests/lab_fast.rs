//! FAST-armored TGS exchanges (RFC 6113, the TGT as armor) at the lab's MIT KDC and its
//! Samba AD DC (Heimdal's KDC, as a Microsoft-like KDC): each says at login that it supports
//! FAST, and from then on TGS requests to it are armored. The KDCs' real replies are taken,
//! and the same replies altered on the way (another ticket, PA-FX-FAST removed) are refused;
//! errors come from inside the armor. Both KDCs log what they made of the armor: the AD DC
//! that the client selected FAST (and whose TGT armored it), MIT's KDC a request whose armor
//! checksum was altered (FIND_FAST); MIT's logs no word of FAST for a request that passes.

use azkrb_asn1::fast::PaFxFastRequest;
use azkrb_asn1::krb::{KdcRep, TgsRep, TgsReq};
use azkrb_asn1::{ErrorCode, KerberosMessage, KerberosTime, PaDataType, decode, encode};
use azkrb_cloudtgt::{Client, Credential, Error, Principal, TgsExchange, TgsStep};
use azkrb_test_support::{kerberos_client, lab};

/// (realm, user, password, SMB host) of the MIT realm and of the AD DC.
fn realms(env: &azkrb_test_support::Env) -> [(String, String, String, String); 2] {
    [
        (
            env["AZKRB_LAB_REALM"].clone(),
            env["AZKRB_LAB_USER"].clone(),
            env["AZKRB_LAB_PASSWORD"].clone(),
            env["AZKRB_LAB_HOST"].clone(),
        ),
        (
            env["AZKRB_LAB_ADDC_REALM"].clone(),
            env["AZKRB_LAB_ADDC_USER"].clone(),
            env["AZKRB_LAB_ADDC_PASSWORD"].clone(),
            env["AZKRB_LAB_ADDC_HOST"].clone(),
        ),
    ]
}

async fn login(c: &Client, realm: &str, user: &str, password: &str) -> Credential {
    let p = Principal::parse(user, realm).unwrap();
    c.login_password(&p, password).await.unwrap()
}

/// An exchange for `cifs/<host>` armored as the client decides, and the KDC's raw reply.
async fn first_reply(c: &Client, tgt: &Credential, host: &str) -> (TgsExchange, Vec<u8>) {
    let now = KerberosTime::now();
    let service = Principal::cifs(host, &tgt.client.realm);
    let x = TgsExchange::new(tgt.clone(), service, now)
        .unwrap()
        .with_armoring(c.armoring(), now)
        .unwrap();
    let realm = x.realm().to_string();
    let reply = c
        .transport()
        .send(c.config().kdcs_for(&realm).unwrap(), &realm, x.request())
        .await
        .unwrap();
    (x, reply)
}

fn tgs_rep(reply: &[u8]) -> KdcRep {
    match KerberosMessage::from_der(reply).unwrap() {
        KerberosMessage::TgsRep(r) => r.0,
        other => panic!("expected a TGS-REP, got {}", other.message_type()),
    }
}

fn mit_log(env: &azkrb_test_support::Env) -> String {
    let path = format!("{}/log/kdc.log", env["AZKRB_LAB_DIR"]);
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

fn addc_log(env: &azkrb_test_support::Env) -> String {
    let path = format!("{}/addc/log/log.%m", env["AZKRB_LAB_DIR"]);
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn tgs_requests_are_fast_armored_at_mit_and_at_the_ad_dc() {
    let env = lab();
    for (realm, user, password, host) in realms(&env) {
        let c = kerberos_client(&env);
        assert!(!c.fast_advertised(&realm));
        let tgt = login(&c, &realm, &user, &password).await;
        assert!(
            c.fast_advertised(&realm),
            "{realm}'s KDC advertises FAST in its pre-authentication hints"
        );
        let log_before = addc_log(&env).len();

        // The KDC's own reply, armored and strengthened, is taken.
        let (mut x, reply) = first_reply(&c, &tgt, &host).await;
        assert!(x.armored(), "{realm}");
        let rep = tgs_rep(&reply);
        assert!(
            rep.padata
                .iter()
                .flatten()
                .any(|p| p.padata_type == PaDataType::FxFast),
            "{realm} answered with FAST"
        );
        let TgsStep::Done(cred) = x.handle_reply(&reply, KerberosTime::now()).unwrap() else {
            panic!("{realm}: no referral expected");
        };
        assert_eq!(cred.server.to_string(), format!("cifs/{host}@{realm}"));

        // The same reply with its ticket altered on the way: only FAST can tell (the ticket
        // is opaque to the client).
        let (mut x, reply) = first_reply(&c, &tgt, &host).await;
        let mut rep = tgs_rep(&reply);
        let mut cipher = rep.ticket.enc_part.cipher.to_vec();
        cipher[10] ^= 1;
        rep.ticket.enc_part.cipher = cipher.into();
        let altered = encode("TGS-REP", &TgsRep(rep)).unwrap();
        let err = x
            .handle_reply(&altered, KerberosTime::now())
            .unwrap_err()
            .to_string();
        assert!(err.contains("FAST checksum"), "{realm}: {err}");

        // PA-FX-FAST removed on the way: a downgrade, refused.
        let (mut x, reply) = first_reply(&c, &tgt, &host).await;
        let mut rep = tgs_rep(&reply);
        rep.padata = None;
        let stripped = encode("TGS-REP", &TgsRep(rep)).unwrap();
        let err = x
            .handle_reply(&stripped, KerberosTime::now())
            .unwrap_err()
            .to_string();
        assert!(err.contains("without FAST"), "{realm}: {err}");

        // The client's usual path armors too.
        c.cifs_ticket(&tgt, &host).await.unwrap();

        // An unknown service: the KDC's own error, from inside the armor.
        let now = KerberosTime::now();
        let nobody = Principal::cifs("nobody.file.core.windows.net", &realm);
        let mut x = TgsExchange::new(tgt.clone(), nobody, now)
            .unwrap()
            .with_armoring(c.armoring(), now)
            .unwrap();
        let reply = c
            .transport()
            .send(c.config().kdcs_for(&realm).unwrap(), &realm, x.request())
            .await
            .unwrap();
        let KerberosMessage::KrbError(outer) = KerberosMessage::from_der(&reply).unwrap() else {
            panic!("{realm}: expected an error");
        };
        assert!(
            outer
                .method_data()
                .is_some_and(|m| m.iter().any(|p| p.padata_type == PaDataType::FxFast)),
            "{realm}: the error is armored"
        );
        match x.handle_reply(&reply, KerberosTime::now()).unwrap_err() {
            Error::Kdc(k) => assert_eq!(k.code, ErrorCode::SPrincipalUnknown, "{realm}"),
            other => panic!("{realm}: {other}"),
        }

        // An armored request whose FAST checksum was altered on the way: the KDC checks the
        // armor (MIT's KDC says so in its log, as FIND_FAST).
        let mit_before = mit_log(&env).len();
        let (x, _) = first_reply(&c, &tgt, &host).await;
        let mut req: TgsReq = decode("TGS-REQ", x.request()).unwrap();
        for pa in req.0.padata.iter_mut().flatten() {
            if pa.padata_type == PaDataType::FxFast {
                let PaFxFastRequest::ArmoredData(mut a) =
                    decode("PA-FX-FAST-REQUEST", &pa.padata_value).unwrap();
                let mut sum = a.req_checksum.checksum.to_vec();
                sum[0] ^= 1;
                a.req_checksum.checksum = sum.into();
                let armored = PaFxFastRequest::ArmoredData(a);
                pa.padata_value = encode("PA-FX-FAST-REQUEST", &armored).unwrap().into();
            }
        }
        let forged = encode("TGS-REQ", &req).unwrap();
        let reply = c
            .transport()
            .send(c.config().kdcs_for(&realm).unwrap(), &realm, &forged)
            .await
            .unwrap();
        assert!(
            matches!(
                KerberosMessage::from_der(&reply).unwrap(),
                KerberosMessage::KrbError(_)
            ),
            "{realm} refuses an armor whose checksum is wrong"
        );
        if realm == env["AZKRB_LAB_REALM"] {
            let log = mit_log(&env);
            assert!(
                log[mit_before..].contains("FIND_FAST"),
                "{}",
                &log[mit_before..]
            );
        }

        if realm == env["AZKRB_LAB_ADDC_REALM"] {
            // Heimdal, as the AD DC runs it, logs what it saw.
            let log = addc_log(&env);
            let new = &log[log_before..];
            assert!(new.contains("Client selected FAST"), "{new}");
            assert!(new.contains("Bad checksum in FAST TGS request"), "{new}");
            assert!(
                new.contains(&format!("armor_client_name={user}@{realm}")),
                "{new}"
            );
        }
    }
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn fast_can_be_required_or_refused_per_realm() {
    let env = lab();
    let [(mit, user, password, host), _] = realms(&env);
    let conf = std::fs::read_to_string(&env["AZKRB_LAB_KRB5_CONF"]).unwrap();

    // `fast = never` for the realm: no armor, even though its KDC advertised FAST.
    let never = conf.replacen(
        &format!("{mit} = {{"),
        &format!("{mit} = {{\n fast = never"),
        1,
    );
    let c = client_with(&env, &never);
    let tgt = login(&c, &mit, &user, &password).await;
    assert!(c.fast_advertised(&mit));
    let (x, _) = first_reply(&c, &tgt, &host).await;
    assert!(!x.armored());

    // `fast = required` in [libdefaults]: armored from the first request, whatever was
    // advertised (here: a TGT from elsewhere, no login).
    let required = conf.replacen("[libdefaults]", "[libdefaults]\n fast = required", 1);
    let c = client_with(&env, &required);
    assert!(!c.fast_advertised(&mit));
    let (mut x, reply) = first_reply(&c, &tgt, &host).await;
    assert!(x.armored());
    assert!(matches!(
        x.handle_reply(&reply, KerberosTime::now()).unwrap(),
        TgsStep::Done(_)
    ));

    // A value that means nothing is an error naming the line.
    let bad = conf.replacen("[libdefaults]", "[libdefaults]\n fast = sometimes", 1);
    let err = azkrb_cloudtgt::RealmConfig::parse(&bad)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(":2:") && err.contains("fast = sometimes"),
        "{err}"
    );
}

fn client_with(env: &azkrb_test_support::Env, conf: &str) -> Client {
    Client::new(
        azkrb_cloudtgt::RealmConfig::parse(conf).unwrap(),
        &azkrb_cloudtgt::TransportOptions {
            ca_file: Some(env["AZKRB_LAB_CA"].clone()),
            ..Default::default()
        },
    )
    .unwrap()
}
