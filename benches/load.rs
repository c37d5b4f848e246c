//! Many users in one process: TASKS concurrent tasks (default 1,000) on the lab's share, for
//! several principals whose clients share one `Connections` (one connection, a session per
//! principal), each task writing a small file whole and reading it back, over and over for
//! SECONDS. Prints operations per second, p50/p99 latency, peak RSS and errors. Run by
//! `benches/load-compare` (at 0 and 20 ms RTT); `AZKRB_LOAD_ADDR` and `AZKRB_LOAD_KRB5_CONF`
//! point it at the delayed lab; `POOL=0` gives each principal connections of its own.

use std::time::{Duration, Instant};

use azkrb::{AzureFiles, Tgt};
use zeroize::Zeroizing;

fn main() {
    // `cargo test --all-targets` runs this too, without `--bench`: the load is for
    // `cargo bench` (and needs the lab).
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/load: run by cargo bench (benches/load-compare), not by cargo test");
        return;
    }
    let env = azkrb_test_support::lab();
    let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let tasks: usize = var("TASKS", "1000").parse().expect("TASKS");
    let seconds: u64 = var("SECONDS", "10").parse().expect("SECONDS");
    let addr = var(
        "AZKRB_LOAD_ADDR",
        &format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"]),
    );
    let conf = var("AZKRB_LOAD_KRB5_CONF", &env["AZKRB_LAB_KRB5_CONF"]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let realm = env["AZKRB_LAB_REALM"].clone();
        let password = |p: &str, pw: &str| Tgt::Password {
            principal: p.to_string(),
            realm: Some(realm.clone()),
            password: Zeroizing::new(pw.to_string()),
        };
        let first = AzureFiles::builder()
            .krb5_conf(&conf)
            .ca_file(&env["AZKRB_LAB_CA"])
            .connect_to(addr.clone())
            .tgt(password(&env["AZKRB_LAB_USER"], &env["AZKRB_LAB_PASSWORD"]))
            .build()
            .expect("client");
        let upn = password(&env["AZKRB_LAB_UPN"], &env["AZKRB_LAB_UPN_PASSWORD"]);
        // POOL=0: each principal's client with connections of its own (the comparison).
        let second = if var("POOL", "1") == "0" {
            AzureFiles::builder()
                .krb5_conf(&conf)
                .ca_file(&env["AZKRB_LAB_CA"])
                .connect_to(addr.clone())
                .tgt(upn)
                .build()
                .expect("client")
        } else {
            first.for_user(upn)
        };
        let users = [first.clone(), second];
        let unc = format!("//{}/{}", env["AZKRB_LAB_HOST"], env["AZKRB_LAB_RAM_SHARE"]);
        let mut shares = Vec::new();
        for u in &users {
            shares.push(u.open(&unc).await.expect("open"));
        }
        let dir = format!("load-{}", std::process::id());
        shares[0]
            .run(|t| {
                let dir = &dir;
                async move { t.mkdir(dir).await }
            })
            .await
            .expect("mkdir");
        let data = vec![0x5a_u8; 4096];
        let start = Instant::now();
        let until = start + Duration::from_secs(seconds);
        let mut set = tokio::task::JoinSet::new();
        for i in 0..tasks {
            let share = shares[i % shares.len()].clone();
            let path = format!("{dir}/f{i}");
            let data = data.clone();
            set.spawn(async move {
                let (mut lat, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < until {
                    let t = Instant::now();
                    let w = share
                        .run(|tr| {
                            let (path, data) = (&path, &data);
                            async move { tr.write_whole(path, data).await }
                        })
                        .await;
                    lat.push(t.elapsed());
                    let t = Instant::now();
                    let r = share
                        .run(|tr| {
                            let path = &path;
                            async move { tr.read_start(path, 8192).await }
                        })
                        .await;
                    lat.push(t.elapsed());
                    match (w, r) {
                        (Ok(()), Ok(s)) if s.data == data => {}
                        (w, r) => {
                            errors += 1;
                            if errors == 1 {
                                eprintln!("{path}: {:?} {:?}", w.err(), r.err().map(|e| e.to_string()));
                            }
                        }
                    }
                }
                (lat, errors)
            });
        }
        let (mut lat, mut errors) = (Vec::new(), 0u64);
        while let Some(done) = set.join_next().await {
            let (l, e) = done.expect("task");
            lat.extend(l);
            errors += e;
        }
        let took = start.elapsed().as_secs_f64();
        lat.sort();
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
            })
            .unwrap_or_default();
        let conns: std::collections::HashSet<_> =
            shares.iter().map(|s| s.connection().client_guid()).collect();
        println!(
            "| {addr} | {tasks} tasks, {} principals, {} connection(s) | {:.0} ops/s | p50 {:.1} ms | p99 {:.1} ms | peak RSS {rss} | {errors} errors |",
            shares.len(),
            conns.len(),
            lat.len() as f64 / took,
            pct(0.50).as_secs_f64() * 1000.0,
            pct(0.99).as_secs_f64() * 1000.0,
        );
        let _ = std::fs::remove_dir_all(
            std::path::Path::new(&env["AZKRB_LAB_RAM_DIR"]).join(&dir),
        );
        for s in shares {
            let _ = s.close().await;
        }
    });
}
