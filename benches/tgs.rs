//! Service-ticket latency through the lab's KDC proxy, side by side with MIT krb5 in the
//! same run (run `benches/tgs-compare`, which starts the lab):
//!
//! - 20 sequential TGS exchanges with azkrb-cloudtgt, each a real exchange (no cache);
//! - the same with MIT's library (`benches/mit_tgs.c`, `krb5_get_credentials` from a fresh
//!   memory ccache each time) and with the `kvno` command (a process per request);
//! - criterion: a hit in the shared credential cache.

use std::time::{Duration, Instant};

use azkrb_asn1::KerberosTime;
use azkrb_cloudtgt::{Principal, TgsExchange, TgsStep};
use criterion::{Criterion, criterion_group};

use azkrb_test_support::{kerberos_client, lab_user, try_lab as lab};

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn latency_table(env: &std::collections::HashMap<String, String>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = kerberos_client(env);
    let user = lab_user(env);
    let tgt = rt
        .block_on(client.login_password(&user, &env["AZKRB_LAB_PASSWORD"]))
        .unwrap();
    let service = Principal::cifs(&env["AZKRB_LAB_HOST"], &env["AZKRB_LAB_REALM"]);
    let kdcs = client
        .config()
        .kdcs_for(&env["AZKRB_LAB_REALM"])
        .unwrap()
        .to_vec();
    let n = 20;

    // azkrb: each request a fresh exchange (plain, then FAST-armored as MIT's library always
    // armors); the first one warms the HTTPS connection pool.
    let run = |armoring: azkrb_cloudtgt::Armoring| {
        let mut times = Vec::new();
        for i in 0..=n {
            let start = Instant::now();
            let now = KerberosTime::now();
            let mut x = TgsExchange::new(tgt.clone(), service.clone(), now)
                .unwrap()
                .with_armoring(armoring.clone(), now)
                .unwrap();
            loop {
                let reply = rt
                    .block_on(client.transport().send(&kdcs, x.realm(), x.request()))
                    .unwrap();
                match x.handle_reply(&reply, KerberosTime::now()).unwrap() {
                    TgsStep::Continue => continue,
                    TgsStep::Done(_) => break,
                }
            }
            if i > 0 {
                times.push(start.elapsed());
            }
        }
        times
    };
    let ours = run(azkrb_cloudtgt::Armoring::default());
    let armored = run(azkrb_cloudtgt::Armoring::required());

    // MIT: the same TGT in a ccache.
    let dir = std::env::temp_dir().join(format!("azkrb-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tgt_cc = dir.join("tgt.ccache").to_string_lossy().into_owned();
    let mut cc = azkrb_cloudtgt::ccache::Ccache::new(tgt.client.clone());
    cc.store(&tgt).unwrap();
    cc.save(&tgt_cc).unwrap();
    let spn = format!("cifs/{}@{}", env["AZKRB_LAB_HOST"], env["AZKRB_LAB_REALM"]);
    let mit_lib =
        std::process::Command::new(format!("{}/target/mit_tgs", env!("CARGO_MANIFEST_DIR")))
            .args([format!("FILE:{tgt_cc}"), spn.clone(), n.to_string()])
            .env("KRB5_CONFIG", &env["AZKRB_LAB_KRB5_CONF"])
            .output();
    let mit_lib = match mit_lib {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout).to_string();
            let v: Vec<u64> = text
                .split_whitespace()
                .filter_map(|x| x.parse::<f64>().ok())
                .map(|x| x as u64)
                .collect();
            (v.len() == 3).then(|| {
                (
                    Duration::from_nanos(v[0]),
                    Duration::from_nanos(v[1]),
                    Duration::from_nanos(v[2]),
                )
            })
        }
        _ => None,
    };
    let mut kvno = Vec::new();
    for _ in 0..n {
        let fresh = dir.join("kvno.ccache");
        std::fs::copy(&tgt_cc, &fresh).unwrap();
        let start = Instant::now();
        let ok = std::process::Command::new("kvno")
            .arg(&spn)
            .env("KRB5_CONFIG", &env["AZKRB_LAB_KRB5_CONF"])
            .env("KRB5CCNAME", format!("FILE:{}", fresh.display()))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kvno failed");
        kvno.push(start.elapsed());
    }
    let _ = std::fs::remove_dir_all(&dir);

    let (om, omin, omax) = median(ours);
    let (km, kmin, kmax) = median(kvno);
    println!(
        "\n{n} sequential service-ticket requests through the lab KDC proxy (median, min–max):\n"
    );
    println!("| client | median | min | max | azkrb ÷ this |");
    println!("|---|---|---|---|---|");
    println!(
        "| azkrb-cloudtgt (TgsExchange + KKDCP transport, in process) | {} | {} | {} | 1.00× |",
        ms(om),
        ms(omin),
        ms(omax)
    );
    let (fm, fmin, fmax) = median(armored);
    println!(
        "| azkrb-cloudtgt, FAST-armored (as MIT's library always sends it) | {} | {} | {} | {:.2}× |",
        ms(fm),
        ms(fmin),
        ms(fmax),
        om.as_secs_f64() / fm.as_secs_f64()
    );
    if let Some((lm, lmin, lmax)) = mit_lib {
        println!(
            "| MIT krb5 library (`krb5_get_credentials`, in process) | {} | {} | {} | {:.2}× |",
            ms(lm),
            ms(lmin),
            ms(lmax),
            om.as_secs_f64() / lm.as_secs_f64()
        );
    } else {
        println!(
            "| MIT krb5 library | not measured (build target/mit_tgs with benches/tgs-compare) | | | |"
        );
    }
    println!(
        "| MIT `kvno` (one process per request) | {} | {} | {} | {:.2}× |",
        ms(km),
        ms(kmin),
        ms(kmax),
        om.as_secs_f64() / km.as_secs_f64()
    );
}

fn cache_hit(c: &mut Criterion) {
    let Some(env) = lab() else {
        eprintln!("tgs bench: the lab is not up (lab/up): skipping");
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = kerberos_client(&env);
    let user = lab_user(&env);
    let tgt = rt
        .block_on(client.login_password(&user, &env["AZKRB_LAB_PASSWORD"]))
        .unwrap();
    let host = env["AZKRB_LAB_HOST"].clone();
    rt.block_on(client.cifs_ticket(&tgt, &host)).unwrap();
    c.bench_function("tgs/cache-hit", |b| {
        b.iter(|| rt.block_on(client.cifs_ticket(&tgt, &host)).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(2));
    targets = cache_hit
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    if bench_mode && let Some(env) = lab() {
        latency_table(&env);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
