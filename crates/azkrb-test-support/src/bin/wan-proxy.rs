//! `wan-proxy ONE_WAY_MS LISTEN=TARGET...`: the lab's distant network. Forwards each
//! loopback `LISTEN` address to its `TARGET`, every byte `ONE_WAY_MS` late each way (see
//! `azkrb_test_support::proxy::Proxy::start_delayed`). Runs until killed.
//!
//! ```text
//! wan-proxy 10 127.0.0.1:5445=127.0.0.1:4445 127.0.0.1:18543=127.0.0.1:18443
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use azkrb_test_support::proxy::Proxy;

fn usage(why: &str) -> ! {
    eprintln!("wan-proxy: {why}\nusage: wan-proxy ONE_WAY_MS LISTEN=TARGET...");
    std::process::exit(2)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let one_way = args
        .next()
        .and_then(|ms| ms.parse::<u64>().ok())
        .map(Duration::from_millis)
        .unwrap_or_else(|| usage("ONE_WAY_MS must be a whole number of milliseconds"));
    let pairs: Vec<(SocketAddr, SocketAddr)> = args
        .map(|pair| {
            let (l, t) = pair
                .split_once('=')
                .unwrap_or_else(|| usage(&format!("{pair}: not LISTEN=TARGET")));
            match (l.parse(), t.parse()) {
                (Ok(l), Ok(t)) => (l, t),
                _ => usage(&format!("{pair}: addresses are IP:PORT")),
            }
        })
        .collect();
    if pairs.is_empty() {
        usage("nothing to forward");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| usage(&format!("no runtime: {e}")));
    rt.block_on(async {
        let mut running = Vec::new();
        for (listen, target) in pairs {
            match Proxy::start_delayed(listen, target, one_way).await {
                Ok(p) => running.push(p),
                Err(e) => usage(&format!("listening on {listen}: {e}")),
            }
        }
        std::future::pending::<()>().await
    })
}
