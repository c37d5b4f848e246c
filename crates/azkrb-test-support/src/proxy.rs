//! A TCP proxy a test puts between a client and a lab server to break the network the way
//! networks break: [`Proxy::cut`] resets every connection through it (a load balancer
//! dropping a flow, a laptop changing networks), [`Proxy::stall`] stops forwarding while
//! keeping the connections open (a silent peer), [`Proxy::resume`] forwards again.
//! Loopback only; order is kept.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy (stops when dropped).
pub struct Proxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    cut: watch::Sender<u64>,
    stalled: Arc<AtomicBool>,
    replies_stalled: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Listens on an ephemeral loopback port and forwards each connection to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        Self::start_on(
            "127.0.0.1:0".parse().map_err(std::io::Error::other)?,
            target,
        )
        .await
    }

    /// Listens on `listen` (a lab port a server's configuration names) and forwards each
    /// connection to `target`.
    pub async fn start_on(listen: SocketAddr, target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (cut, cuts) = watch::channel(0u64);
        let stalled = Arc::new(AtomicBool::new(false));
        let replies_stalled = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let (s, r, a) = (
            Arc::clone(&stalled),
            Arc::clone(&replies_stalled),
            Arc::clone(&accepted),
        );
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::Relaxed);
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                tokio::spawn(relay(
                    client,
                    server,
                    cuts.clone(),
                    Arc::clone(&s),
                    Arc::clone(&r),
                ));
            }
        });
        Ok(Self {
            addr,
            cut,
            stalled,
            replies_stalled,
            accepted,
            task,
        })
    }

    /// Resets every connection through the proxy now (new ones are accepted).
    pub fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Stops forwarding: bytes are held, connections stay open and silent.
    pub fn stall(&self) {
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// Stops forwarding the server's side only: requests reach the server, its answers
    /// are held (the server did the work; the client never hears of it).
    pub fn stall_replies(&self) {
        self.replies_stalled.store(true, Ordering::SeqCst);
    }

    /// Forwards again, both ways.
    pub fn resume(&self) {
        self.stalled.store(false, Ordering::SeqCst);
        self.replies_stalled.store(false, Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    mut cuts: watch::Receiver<u64>,
    stalled: Arc<AtomicBool>,
    replies_stalled: Arc<AtomicBool>,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let start = *cuts.borrow_and_update();
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let never = AtomicBool::new(false);
    let up = pump(&mut cr, &mut sw, &stalled, &never);
    let down = pump(&mut sr, &mut cw, &stalled, &replies_stalled);
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = cuts.wait_for(|n| *n != start) => {}
    }
    // Dropping the halves closes both sockets (a reset where data was pending).
}

async fn pump(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    stalled: &AtomicBool,
    this_way: &AtomicBool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while stalled.load(Ordering::SeqCst) || this_way.load(Ordering::SeqCst) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
