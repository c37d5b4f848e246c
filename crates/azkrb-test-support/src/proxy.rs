//! A TCP proxy a test puts between a client and a lab server to break the network the way
//! networks break: [`Proxy::cut`] resets every connection through it (a load balancer
//! dropping a flow, a laptop changing networks), [`Proxy::stall`] stops forwarding while
//! keeping the connections open (a silent peer), [`Proxy::resume`] forwards again.
//! [`Proxy::start_delayed`] makes a distant network of it: every byte arrives a fixed time
//! after it was sent, each way, and a new connection costs a round trip before its first
//! byte, as TCP's handshake does (the `wan-proxy` binary runs it for the lab's benchmarks).
//! Loopback only; order is kept.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

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
        Self::start_delayed(listen, target, Duration::ZERO).await
    }

    /// Listens on `listen` and forwards each connection to `target`, `one_way` late each
    /// way: a request and its answer cost `2 × one_way` more than on loopback. The server
    /// sees a new connection's first byte a round trip plus `one_way` after the client's
    /// connect, as if the client had waited out TCP's handshake across the distance.
    pub async fn start_delayed(
        listen: SocketAddr,
        target: SocketAddr,
        one_way: Duration,
    ) -> std::io::Result<Self> {
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
                let accepted_at = tokio::time::Instant::now();
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                tokio::spawn(relay(
                    client,
                    server,
                    cuts.clone(),
                    Arc::clone(&s),
                    Arc::clone(&r),
                    Delay {
                        one_way,
                        first_byte: accepted_at + one_way * 3,
                    },
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

/// How late bytes arrive: `one_way` after they were read, and the client's not before
/// `first_byte`.
#[derive(Clone, Copy)]
struct Delay {
    one_way: Duration,
    first_byte: tokio::time::Instant,
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    mut cuts: watch::Receiver<u64>,
    stalled: Arc<AtomicBool>,
    replies_stalled: Arc<AtomicBool>,
    delay: Delay,
) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let start = *cuts.borrow_and_update();
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let never = AtomicBool::new(false);
    let no_wait = Delay {
        first_byte: tokio::time::Instant::now(),
        ..delay
    };
    let up = pump(&mut cr, &mut sw, &stalled, &never, delay);
    let down = pump(&mut sr, &mut cw, &stalled, &replies_stalled, no_wait);
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
    delay: Delay,
) {
    // Bytes read wait in order in the queue until they are due; the reader never waits
    // for the writer, so the delay holds whatever the pace.
    let (queue, mut due) =
        tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let read = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            while stalled.load(Ordering::SeqCst) || this_way.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let at = (tokio::time::Instant::now() + delay.one_way).max(delay.first_byte);
            if queue.send((at, buf[..n].to_vec())).is_err() {
                break;
            }
        }
        // Dropping the queue's sender lets the writer finish what is due, then shut down.
    };
    let write = async move {
        while let Some((at, bytes)) = due.recv().await {
            wait_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}

/// Waits until `at`, to well under a millisecond: tokio's timer rounds every sleep up to
/// its next millisecond tick, which would add up to a millisecond to each delayed hop (and
/// to a "zero" delay). The timer takes it to within a millisecond, yielding the rest.
async fn wait_until(at: tokio::time::Instant) {
    let tick = Duration::from_millis(1);
    if at.saturating_duration_since(tokio::time::Instant::now()) > tick {
        tokio::time::sleep_until(at - tick).await;
    }
    while tokio::time::Instant::now() < at {
        tokio::task::yield_now().await;
    }
}
