//! A KDC proxy that fails the way busy services do (the lab's second, real kdcproxy answers
//! 503: its KDC cannot be found): asked again with backoff, then failed over, and when
//! every one fails the error names each URL tried.

use std::time::{Duration, Instant};

use azkrb_asn1::KerberosTime;
use azkrb_cloudtgt::{AsExchange, AsSecret, Error, KdcAddress, Transport, TransportOptions};

/// Lines in the proxy's log (one per exchange).
fn lines(log: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .count()
}
use azkrb_test_support::{lab, lab_user};

fn transport(env: &std::collections::HashMap<String, String>, attempts: u32) -> Transport {
    Transport::new(&TransportOptions {
        ca_file: Some(env["AZKRB_LAB_CA"].clone()),
        attempts,
        backoff: Duration::from_millis(300),
        ..TransportOptions::default()
    })
    .unwrap()
}

#[tokio::test]
#[ignore = "needs the lab: scripts/test starts it"]
async fn a_kdc_proxy_answering_503_is_asked_again_then_failed_over_and_named() {
    let env = lab();
    let realm = env["AZKRB_LAB_REALM"].clone();
    let alice = lab_user(&env);
    // An AS-REQ without pre-authentication: any KDC answers it (PREAUTH_REQUIRED).
    let req = AsExchange::new(
        alice,
        AsSecret::Password("x".to_string().into()),
        KerberosTime::now(),
    )
    .unwrap();
    let flaky = env["AZKRB_LAB_FLAKY_PROXY_URL"].clone();
    let good = env["AZKRB_LAB_PROXY_URL"].clone();
    let dead = "https://127.0.0.1:9/x/kerberos".to_string();

    // The real kdcproxy, its KDC out of reach: 503.
    let e = transport(&env, 1)
        .kkdcp(&flaky, &realm, req.request())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { status: 503, .. }), "{e}");

    // Asked again, with backoff, up to its attempts (each one is in the proxy's log).
    let log = &env["AZKRB_LAB_FLAKY_PROXY_LOG"];
    let before = lines(log);
    let started = Instant::now();
    let e = transport(&env, 3)
        .send(&[KdcAddress::Https(flaky.clone())], &realm, req.request())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { status: 503, .. }), "{e}");
    assert_eq!(lines(log) - before, 3, "three attempts reached the proxy");
    // Waits of 300 ms and 600 ms (plus jitter) came between them.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    // Still failing after its attempts: the next proxy answers.
    let started = Instant::now();
    transport(&env, 2)
        .send(
            &[KdcAddress::Https(flaky.clone()), KdcAddress::Https(good)],
            &realm,
            req.request(),
        )
        .await
        .unwrap();
    eprintln!("failed over after {} ms", started.elapsed().as_millis());

    // None answers: each URL is named, with its failure and attempts.
    let e = transport(&env, 2)
        .send(
            &[
                KdcAddress::Https(flaky.clone()),
                KdcAddress::Https(dead.clone()),
            ],
            &realm,
            req.request(),
        )
        .await
        .unwrap_err();
    let text = e.to_string();
    eprintln!("{text}");
    assert!(matches!(e, Error::NoKdcAnswered { .. }), "{e}");
    assert!(text.contains(&flaky) && text.contains("503"), "{text}");
    assert!(
        text.contains(&dead) && text.contains("2 attempt(s)"),
        "{text}"
    );

    // A failure that does not pass by waiting (404: a wrong URL) is not asked again.
    let started = Instant::now();
    let e = transport(&env, 4)
        .send(
            &[KdcAddress::Https(format!("{flaky}/wrong"))],
            &realm,
            req.request(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Http { status: 404, .. }), "{e}");
    assert!(started.elapsed() < Duration::from_millis(300));
}
