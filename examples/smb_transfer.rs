//! Moves a file of N MiB to or from the lab's SMB server with azkrb and prints wall time,
//! CPU time and peak RSS as one JSON line. Used by `benches/smb-compare`.
//!
//! usage: smb_transfer <put|get> <cipher> <MiB> [share]

use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

use azkrb::KerberosAuth;
use azkrb_cloudtgt::{Client, Principal, RealmConfig, TransportOptions};
use azkrb_smb3::msg::NegotiateOptions;
use azkrb_smb3::{Cipher, Connection, Security, Session};

struct Pattern(u64);

impl tokio::io::AsyncRead for Pattern {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.0) as usize;
        // One pass over the memory, like a read from the page cache.
        buf.initialize_unfilled_to(n).fill(0x5a);
        buf.advance(n);
        self.0 -= n as u64;
        std::task::Poll::Ready(Ok(()))
    }
}

fn proc_status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0 // USER_HZ
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, cipher, mib) = (
        args[1].clone(),
        Cipher::from_name(&args[2]).expect("cipher"),
        args[3].parse::<u64>().expect("MiB"),
    );
    let share = args.get(4).cloned().unwrap_or_else(|| "ram".into());
    let env = common::lab();
    let config = RealmConfig::load(&env["AZKRB_LAB_KRB5_CONF"]).unwrap();
    let c = Client::new(
        config,
        &TransportOptions {
            ca_file: Some(env["AZKRB_LAB_CA"].clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let user = Principal::parse(&env["AZKRB_LAB_USER"], &env["AZKRB_LAB_REALM"]).unwrap();
    let tgt = c
        .login_password(&user, &env["AZKRB_LAB_PASSWORD"])
        .await
        .unwrap();
    let ticket = c.cifs_ticket(&tgt, &env["AZKRB_LAB_HOST"]).await.unwrap();
    let opts = NegotiateOptions {
        ciphers: vec![cipher],
        server_name: env["AZKRB_LAB_HOST"].clone(),
        ..Default::default()
    };
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let conn = Connection::connect(
        &format!("127.0.0.1:{}", env["AZKRB_LAB_SMB_PORT"]),
        &opts,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let mut auth = KerberosAuth::new(ticket).unwrap();
    let session = Session::setup(
        &conn,
        &mut auth,
        Security {
            require_encryption: true,
            always_encrypt: false,
        },
    )
    .await
    .unwrap();
    let tree = session
        .tree_connect(&env["AZKRB_LAB_HOST"], &share)
        .await
        .unwrap();
    let size = mib << 20;
    // Writes hold their payload until acknowledged: 8 in flight keeps RSS low; reads stream.
    let default_window = if mode == "put" { 8 } else { 16 };
    let window: usize = std::env::var("AZKRB_WINDOW")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(default_window);
    let n = match mode.as_str() {
        "put" => tree
            .upload("azkrb-bench.bin", &mut Pattern(size), window)
            .await
            .unwrap(),
        "get" => tree
            .download("azkrb-bench.bin", &mut tokio::io::sink(), window)
            .await
            .unwrap(),
        other => panic!("mode {other}"),
    };
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    assert_eq!(n, size);
    println!(
        "{{\"mode\":\"{mode}\",\"cipher\":\"{cipher}\",\"bytes\":{n},\"seconds\":{secs:.4},\"cpu_seconds\":{cpu:.3},\"max_rss_kib\":{}}}",
        proc_status("VmHWM:")
    );
}
