//! Moves a file of N MiB to or from the lab's SMB server with azkrb and prints wall time,
//! CPU time and peak RSS as one JSON line. Used by `benches/smb-compare`.
//!
//! usage: smb_transfer <put|get> <cipher> <MiB> [share]

use std::time::Instant;

use azkrb::{AzureFiles, Tgt};
use azkrb_smb3::Cipher;

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

type Fallible<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Fallible<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: smb_transfer <put|get> <cipher> <MiB> [share]";
    let (Some(mode), Some(cipher), Some(mib)) = (args.get(1), args.get(2), args.get(3)) else {
        return Err(usage.into());
    };
    let cipher = Cipher::from_name(cipher).ok_or(format!("unknown cipher {cipher}"))?;
    let mib: u64 = mib.parse().map_err(|e| format!("MiB {mib:?}: {e}"))?;
    let share = args.get(4).cloned().unwrap_or_else(|| "ram".into());
    let env = azkrb_test_support::try_lab().ok_or("the lab is not up: run lab/up")?;
    let var = |k: &str| env.get(k).cloned().ok_or(format!("lab.env lacks {k}"));
    let host = var("AZKRB_LAB_HOST")?;
    let files = AzureFiles::builder()
        .krb5_conf(var("AZKRB_LAB_KRB5_CONF")?)
        .ca_file(var("AZKRB_LAB_CA")?)
        .tgt(Tgt::Password {
            principal: var("AZKRB_LAB_USER")?,
            realm: Some(var("AZKRB_LAB_REALM")?),
            password: var("AZKRB_LAB_PASSWORD")?.into(),
        })
        .connect_to(format!("127.0.0.1:{}", var("AZKRB_LAB_SMB_PORT")?))
        .ciphers(vec![cipher])
        .build()?;
    // The service ticket is fetched before the clock starts (open reuses it).
    files.cifs_ticket(&host).await?;
    let start = Instant::now();
    let cpu0 = cpu_seconds();
    let opened = files.open(&format!("//{host}/{share}")).await?;
    let tree = opened.tree();
    let size = mib << 20;
    // Writes hold their payload until acknowledged: 8 in flight keeps RSS low; reads stream.
    let default_window = if mode == "put" { 8 } else { 16 };
    let window: usize = std::env::var("AZKRB_WINDOW")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(default_window);
    let n = match mode.as_str() {
        "put" => {
            tree.upload("azkrb-bench.bin", &mut Pattern(size), window)
                .await?
        }
        "get" => {
            tree.download("azkrb-bench.bin", &mut tokio::io::sink(), window)
                .await?
        }
        other => return Err(format!("mode {other}: {usage}").into()),
    };
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu0;
    if n != size {
        return Err(format!("moved {n} bytes, not {size}").into());
    }
    println!(
        "{{\"mode\":\"{mode}\",\"cipher\":\"{cipher}\",\"bytes\":{n},\"seconds\":{secs:.4},\"cpu_seconds\":{cpu:.3},\"max_rss_kib\":{}}}",
        proc_status("VmHWM:")
    );
    Ok(())
}
