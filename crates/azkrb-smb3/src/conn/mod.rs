//! The tokio driver around the sans-I/O core ([`crate::proto::Core`]): the socket, one
//! reader task, a send task per message, the waiters of outstanding requests, and timers
//! (request and credit timeouts, the ECHO keepalive). Every protocol decision (which
//! response answers which request, what protection it must carry, credits) is the core's.

use std::collections::HashMap;
use std::ops::Range;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, oneshot};

use crate::buffers::BufferPool;
use crate::crypto::TRANSFORM_LEN;
use crate::error::{Error, Result};
use crate::frame::{LowWater, read_frame};
use crate::msg::{self, Command, Header, NegotiateOptions, NegotiateResponse};
use crate::proto::{
    self, Core, Event, Keepalive, Negotiated, Negotiation, Outgoing, Request, Start,
};
use crate::status::NtStatus;

/// A response, with the exact request bytes that produced it.
#[derive(Debug)]
pub struct Response {
    /// The response's SMB2 header.
    pub header: Header,
    /// The frame the response arrived in (decrypted in place); the message is `buf[msg]`.
    buf: Vec<u8>,
    msg: Range<usize>,
    /// The request exactly as sent, when it went unprotected (NEGOTIATE, the first
    /// SESSION_SETUP legs: the preauth hash needs it); empty otherwise.
    pub sent: Vec<u8>,
    /// True if the response arrived encrypted.
    pub encrypted: bool,
}

impl Response {
    /// The whole (decrypted) response message, header included.
    pub fn bytes(&self) -> &[u8] {
        self.buf.get(self.msg.clone()).unwrap_or_default()
    }

    /// The frame the message arrived in and where the message lies in it: lets a caller keep
    /// a part of a large response (READ data) without copying it.
    pub fn into_frame(self) -> (Vec<u8>, Range<usize>) {
        (self.buf, self.msg)
    }

    /// An error unless the status is SUCCESS.
    pub fn ok(&self, command: &'static str) -> Result<()> {
        if self.header.status == NtStatus::SUCCESS {
            Ok(())
        } else {
            Err(Error::Status {
                command,
                status: self.header.status,
            })
        }
    }
}

mod breaks;

use crate::reclaim::Opens;
use crate::replay::replay;
pub use crate::replay::{operation, replaying};
use breaks::acknowledge;

/// What the reader hands a waiting request.
struct Delivery {
    header: Header,
    frame: Vec<u8>,
    range: Range<usize>,
    encrypted: bool,
}
type Waiter = oneshot::Sender<Result<Delivery>>;

struct Inner {
    target: String,
    core: Mutex<Core>,
    /// Woken whenever responses bring credits (or the connection fails).
    credits: Notify,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Mutex<HashMap<u64, Waiter>>,
    timeout: Duration,
    /// Large message buffers kept for reuse (see [`BufferPool`]).
    pool: Arc<BufferPool>,
    /// Bytes received so far (the keepalive counts a frame still arriving as life).
    received: Arc<AtomicU64>,
    /// Woken when the keepalive's times change (its task then sleeps to the new deadline).
    keepalive_changed: Arc<Notify>,
    /// Break notifications received.
    breaks: AtomicU64,
    /// Lease break acknowledgments on their way.
    acks: AtomicU64,
    /// Whose opens hold each lease (told of its breaks).
    lease_owners: Mutex<HashMap<[u8; 16], Weak<Opens>>>,
    /// The local end of the socket.
    local: Option<std::net::SocketAddr>,
    /// A number of this connection, unique in the process.
    id: u64,
}

/// Numbers of connections, unique in the process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Inner {
    fn core(&self) -> Result<MutexGuard<'_, Core>> {
        self.core
            .lock()
            .map_err(|_| Error::Protocol("the connection state is poisoned".into()))
    }

    fn owners(&self) -> MutexGuard<'_, HashMap<[u8; 16], Weak<Opens>>> {
        // Single inserts and removes: consistent even after a panic elsewhere.
        self.lease_owners.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn closed(&self) -> bool {
        self.core().map_or(true, |c| c.failed().is_some())
    }

    fn io(&self, detail: impl Into<String>) -> Error {
        Error::Io {
            target: self.target.clone(),
            detail: detail.into(),
        }
    }

    /// Fails the connection: every waiting request gets the reason, and nothing more is
    /// sent or accepted.
    fn fail(&self, reason: &str) {
        if let Ok(mut c) = self.core.lock() {
            c.fail(reason);
        }
        let waiters: Vec<Waiter> = self
            .pending
            .lock()
            .map(|mut p| p.drain().map(|(_, w)| w).collect())
            .unwrap_or_default();
        for w in waiters {
            let _ = w.send(Err(self.failure()));
        }
        self.credits.notify_waiters();
    }

    /// The error a request of a failed connection gets.
    fn failure(&self) -> Error {
        self.core
            .lock()
            .ok()
            .and_then(|c| c.failure(&self.target))
            .unwrap_or_else(|| self.io("connection closed"))
    }
}

/// Every [`BufferPool::IDLE`], frees the pool's buffers if the connection moved no large
/// message since the last look; ends with the connection.
async fn trim_idle_pool(inner: std::sync::Weak<Inner>) {
    let mut every = tokio::time::interval(BufferPool::IDLE);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        if inner.closed() {
            return;
        }
        inner.pool.trim_if_idle();
    }
}

/// A connection to an SMB server (after NEGOTIATE).
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
    /// What NEGOTIATE settled.
    pub negotiated: Arc<NegotiateResponse>,
    negotiation: Arc<Negotiated>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("target", &self.inner.target)
            .field("dialect", &self.negotiated.dialect)
            .field("cipher", &self.negotiated.cipher)
            .finish()
    }
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Protocol(format!("system random generator: {e}")))?;
    Ok(b)
}

impl Connection {
    /// Connects to `addr` (host:port), negotiates, and starts the reader and keepalive
    /// tasks. `timeout` bounds the connect, and each request's wait for credits, for its
    /// send and for its answer.
    pub async fn connect(
        addr: &str,
        options: &NegotiateOptions,
        timeout: Duration,
    ) -> Result<Self> {
        let guid = match options.client_guid {
            Some(g) => g,
            None => random()?,
        };
        let negotiation = Negotiation::new(options.clone(), guid, random()?)?;
        let body = negotiation.request()?;
        let io = |e: std::io::Error| Error::Io {
            target: addr.to_string(),
            detail: e.to_string(),
        };
        let stream = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| Error::Timeout {
                what: format!("connecting to {addr}"),
                seconds: timeout.as_secs(),
            })?
            .map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let local = stream.local_addr().ok();
        let (reader, writer) = stream.into_split();
        let inner = Arc::new(Inner {
            target: addr.to_string(),
            core: Mutex::new(Core::new(random()?, Instant::now())),
            credits: Notify::new(),
            writer: tokio::sync::Mutex::new(writer),
            pending: Mutex::new(HashMap::new()),
            timeout,
            pool: Arc::default(),
            received: Arc::default(),
            keepalive_changed: Arc::default(),
            breaks: AtomicU64::new(0),
            acks: AtomicU64::new(0),
            lease_owners: Mutex::default(),
            local,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        });
        tokio::spawn(read_loop(
            Arc::downgrade(&inner),
            Arc::clone(&inner.pool),
            Arc::clone(&inner.received),
            reader,
        ));
        tokio::spawn(trim_idle_pool(Arc::downgrade(&inner)));
        let resp = exchange_one(
            &inner,
            Request::new(Command::Negotiate, 0, 0),
            Outgoing::message(&body),
            None,
        )
        .await?;
        resp.ok("NEGOTIATE")?;
        let negotiated = negotiation.handle_response(&resp.sent, resp.bytes())?;
        inner.core()?.negotiated(&negotiated);
        tokio::spawn(keepalive(
            Arc::downgrade(&inner),
            Arc::clone(&inner.keepalive_changed),
        ));
        Ok(Self {
            negotiated: Arc::new(negotiated.response.clone()),
            negotiation: Arc::new(negotiated),
            inner,
        })
    }

    /// Fails the connection (see [`fail`](Self::fail)) and closes its socket: the server
    /// sees the client go (and keeps its durable opens for a reconnect). Waits at most a
    /// second for a send under way.
    pub async fn close_socket(&self, reason: &str) {
        self.fail(reason);
        if let Ok(mut w) =
            tokio::time::timeout(Duration::from_secs(1), self.inner.writer.lock()).await
        {
            let _ = w.shutdown().await;
        }
    }

    /// This connection's number, unique in the process.
    pub(crate) fn id(&self) -> u64 {
        self.inner.id
    }

    /// The local address of the connection's socket.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.inner.local
    }

    /// The ClientGuid this connection negotiated with.
    pub fn client_guid(&self) -> [u8; 16] {
        self.negotiation.client_guid
    }

    /// The server address.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// What NEGOTIATE offered and settled (the preauth hash, the client GUID).
    pub fn negotiation(&self) -> &Negotiated {
        &self.negotiation
    }

    /// After `every` without a word from the server an ECHO is sent; with no answer
    /// `dead_after` later the connection fails ("the server has not answered"). Default:
    /// 30 s and 30 s.
    pub fn set_keepalive(&self, every: Duration, dead_after: Duration) -> Result<()> {
        self.inner.core()?.set_keepalive(every, dead_after);
        // The keepalive may be asleep until a deadline of the old times.
        self.inner.keepalive_changed.notify_one();
        Ok(())
    }

    /// Ends the connection: every waiting request and every later one fails with
    /// `reason` (a reconnect retires the connection it replaces so).
    pub fn fail(&self, reason: &str) {
        self.inner.fail(reason);
    }

    /// Installs an established session's keys.
    pub(crate) fn add_session(&self, id: u64, p: proto::SessionProtection) -> Result<()> {
        self.inner.core()?.add_session(id, p)
    }

    /// Forgets a session that has logged off.
    pub(crate) fn remove_session(&self, id: u64) {
        if let Ok(mut c) = self.inner.core() {
            c.remove_session(id);
        }
    }

    /// An open in `session_id`/`tree_id` holds lease `key`: its breaks are acknowledged
    /// there.
    pub(crate) fn hold_lease(
        &self,
        key: [u8; 16],
        session_id: u64,
        tree_id: u32,
        owner: Weak<Opens>,
    ) {
        if let Ok(mut c) = self.inner.core() {
            c.hold_lease(key, session_id, tree_id);
        }
        self.inner.owners().insert(key, owner);
    }

    /// The open holding lease `key` is closed.
    pub(crate) fn release_lease(&self, key: &[u8; 16]) {
        if let Ok(mut c) = self.inner.core() {
            c.release_lease(key);
        }
        self.inner.owners().remove(key);
    }

    /// The ChannelSequence requests carry from now on (see
    /// [`Core::set_channel_sequence`]).
    pub fn set_channel_sequence(&self, sequence: u16) {
        if let Ok(mut c) = self.inner.core() {
            c.set_channel_sequence(sequence);
        }
    }

    /// Break notifications received on this connection so far.
    pub fn breaks_received(&self) -> u64 {
        self.inner.breaks.load(Ordering::Relaxed)
    }

    /// Why the connection failed (closed by the server, dead, a protocol violation), or
    /// None while it works.
    pub fn failure(&self) -> Option<String> {
        self.inner
            .core()
            .ok()
            .and_then(|c| c.failed().map(str::to_string))
    }

    /// The credit charge of a request or response of `bytes` bytes (MS-SMB2 §3.1.5.2).
    pub fn charge_for(&self, bytes: usize) -> u16 {
        self.inner.core().map_or(1, |c| c.charge_for(bytes))
    }

    /// Sends one request and waits for its final response.
    pub async fn request(
        &self,
        command: Command,
        session_id: u64,
        tree_id: u32,
        body: Vec<u8>,
        charge: u16,
    ) -> Result<Response> {
        self.request_with_data(command, session_id, tree_id, &body, &[], charge)
            .await
    }

    /// Sends one request whose body is `fixed` followed by `data` (a WRITE's payload), built
    /// and encrypted in one buffer, and waits for its final response.
    pub async fn request_with_data(
        &self,
        command: Command,
        session_id: u64,
        tree_id: u32,
        fixed: &[u8],
        data: &[u8],
        charge: u16,
    ) -> Result<Response> {
        let mut out = self.payload_buffer(fixed.len(), data.len());
        out.payload().extend_from_slice(data);
        out.fill_fixed(fixed)?;
        self.request_out(command, session_id, tree_id, out, charge)
            .await
    }

    /// An empty message buffer for a request whose `fixed_len`-byte body part is followed by
    /// up to `data_len` bytes of payload: append the payload to [`Outgoing::payload`], fill
    /// the fixed part, then send it with [`Connection::request_out`]. The payload is then
    /// never copied.
    pub fn payload_buffer(&self, fixed_len: usize, data_len: usize) -> Outgoing {
        let room = TRANSFORM_LEN + msg::HEADER_LEN + fixed_len;
        Outgoing::single(self.inner.pool.take(room + data_len), fixed_len)
    }

    /// Sends one request built in `out` (see [`Connection::payload_buffer`]) and waits for
    /// its final response.
    pub async fn request_out(
        &self,
        command: Command,
        session_id: u64,
        tree_id: u32,
        out: Outgoing,
        charge: u16,
    ) -> Result<Response> {
        let mut r = Request::new(command, session_id, tree_id);
        r.charge = charge;
        r.replay = replay();
        exchange_one(&self.inner, r, out, None).await
    }

    /// Sends one request; if no final response comes within `cancel_after`, sends CANCEL
    /// for it (with the AsyncId of its interim response, when one came) and returns the
    /// final response the server then sends (normally STATUS_CANCELLED).
    pub async fn request_cancellable(
        &self,
        command: Command,
        session_id: u64,
        tree_id: u32,
        body: Vec<u8>,
        cancel_after: Duration,
    ) -> Result<Response> {
        exchange_one(
            &self.inner,
            Request::new(command, session_id, tree_id),
            Outgoing::message(&body),
            Some(cancel_after),
        )
        .await
    }

    /// Sends related requests as one compound (MS-SMB2 §3.2.4.1.4): each after the first
    /// carries RELATED_OPERATIONS and acts on the FileId the first one opened (pass
    /// [`msg::RELATED_FILE_ID`]). Returns every response, in order.
    pub async fn compound(
        &self,
        session_id: u64,
        tree_id: u32,
        requests: Vec<(Command, Vec<u8>)>,
    ) -> Result<Vec<Response>> {
        let charged = requests.into_iter().map(|(c, b)| (c, b, 1)).collect();
        self.compound_charged(session_id, tree_id, charged).await
    }

    /// [`compound`](Self::compound) with each request's credit charge (a READ or
    /// QUERY_DIRECTORY of more than 64 KiB costs more than one; see
    /// [`charge_for`](Self::charge_for)).
    pub async fn compound_charged(
        &self,
        session_id: u64,
        tree_id: u32,
        requests: Vec<(Command, Vec<u8>, u16)>,
    ) -> Result<Vec<Response>> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let replay = replay();
        let reqs: Vec<Request> = requests
            .iter()
            .map(|(c, _, charge)| {
                let mut r = Request::new(*c, session_id, tree_id);
                r.replay = replay;
                r.charge = *charge;
                r
            })
            .collect();
        let out = Outgoing::chain(requests.iter().map(|(_, b, _)| b.as_slice()));
        exchange(&self.inner, &reqs, out, None).await
    }

    /// Credits the server has granted and no request holds now.
    pub fn credits(&self) -> u32 {
        self.inner.core().map_or(0, |c| c.credits())
    }

    /// Hands a message buffer back for reuse (the frame of a READ response once its data
    /// has been used, a WRITE's payload once sent).
    pub(crate) fn recycle(&self, buf: Vec<u8>) {
        self.inner.pool.put(buf);
    }

    /// The session an ECHO proving the connection alive goes in (protected like it), or 0.
    pub fn keepalive_session(&self) -> u64 {
        self.inner.core().map_or(0, |c| c.keepalive_session())
    }

    /// ECHO: a round trip that proves the connection alive.
    pub async fn echo(&self, session_id: u64) -> Result<()> {
        echo(&self.inner, session_id).await
    }
}

async fn echo(inner: &Arc<Inner>, session_id: u64) -> Result<()> {
    exchange_one(
        inner,
        Request::new(Command::Echo, session_id, 0),
        Outgoing::message(&msg::small_request()),
        None,
    )
    .await?
    .ok("ECHO")
}

async fn exchange_one(
    inner: &Arc<Inner>,
    request: Request,
    out: Outgoing,
    cancel_after: Option<Duration>,
) -> Result<Response> {
    exchange(inner, std::slice::from_ref(&request), out, cancel_after)
        .await?
        .pop()
        .ok_or_else(|| Error::Protocol("no response".into()))
}

/// One request or compound: credits (waited for, up to the timeout), MessageIds and what
/// may answer each taken from the core, sealed outside the lock, sent, and each final
/// answer awaited. A request that times out is abandoned in the core (its late answer is
/// still checked, its credits still taken) and cancelled at the server.
async fn exchange(
    inner: &Arc<Inner>,
    requests: &[Request],
    mut out: Outgoing,
    cancel_after: Option<Duration>,
) -> Result<Vec<Response>> {
    let timeout = inner.timeout;
    let timed_out = |what: &str| Error::Timeout {
        what: what.to_string(),
        seconds: timeout.as_secs(),
    };
    let name = requests.first().map_or("request", |r| r.command.name());
    let deadline = tokio::time::Instant::now() + timeout;
    let ticket = loop {
        let mut freed = pin!(inner.credits.notified());
        freed.as_mut().enable();
        if inner.closed() {
            return Err(inner.failure());
        }
        match inner.core()?.start(requests, &out)? {
            Start::Ready(t) => break t,
            Start::NeedCredits(_) => {}
        }
        tokio::time::timeout_at(deadline, freed)
            .await
            .map_err(|_| timed_out(&format!("{name} (waiting for credits)")))?;
    };
    let ids = ticket.message_ids();
    if tracing::enabled!(tracing::Level::TRACE) {
        let commands: Vec<&str> = requests.iter().map(|r| r.command.name()).collect();
        tracing::trace!(target = %inner.target, first_id = ids.first(), "sending {}", commands.join("+"));
    }
    let mut waiters = Vec::with_capacity(ids.len());
    if let Ok(mut p) = inner.pending.lock() {
        for id in &ids {
            let (tx, rx) = oneshot::channel();
            p.insert(*id, tx);
            waiters.push((*id, rx));
        }
    }
    // If this future is dropped before its answers came (a timeout or select! around it),
    // the requests are given up on as a timeout would.
    let mut guard = GiveUpOnDrop {
        inner,
        ids: ids.clone(),
    };
    // The connection may have failed between `start` and the waiters' registration: the
    // failure then drained the table before they were in it.
    if inner.closed() {
        guard.ids.clear();
        return Err(inner.failure());
    }
    // Once MessageIds are taken the message must go out: a failure here fails the
    // connection (an unsent MessageId would stall the server's window).
    let at = match ticket.seal(&mut out) {
        Ok((_, at)) => at,
        Err(e) => {
            inner.fail(&format!("a request could not be sealed: {e}"));
            return Err(e);
        }
    };
    let sent = if at == TRANSFORM_LEN
        && matches!(
            requests.first().map(|r| r.command),
            Some(Command::Negotiate | Command::SessionSetup)
        ) {
        out.buf.get(at..).unwrap_or_default().to_vec()
    } else {
        Vec::new()
    };
    let buf = send(inner, out.buf, at).await?;
    inner.pool.put(buf);
    let mut responses = Vec::with_capacity(waiters.len());
    for (id, mut rx) in waiters {
        let mut early = None;
        if let Some(after) = cancel_after {
            match tokio::time::timeout(after, &mut rx).await {
                Ok(r) => early = Some(r),
                Err(_) => {
                    let cancel = inner.core()?.cancel(id)?;
                    if let Some(wire) = cancel {
                        send(inner, wire, 0).await?;
                    }
                }
            }
        }
        let answer = match early {
            Some(r) => Ok(r),
            None => tokio::time::timeout(timeout, rx).await,
        };
        let d = match answer {
            Ok(Ok(d)) => d?,
            Ok(Err(_)) => return Err(inner.failure()),
            Err(_) => {
                // This request and the rest of its compound.
                guard.ids.clear();
                for rest in ids.iter().filter(|i| **i >= id) {
                    give_up(inner, *rest).await;
                }
                return Err(timed_out(name));
            }
        };
        guard.ids.retain(|i| *i != id);
        responses.push(Response {
            header: d.header,
            buf: d.frame,
            msg: d.range,
            sent: sent.clone(),
            encrypted: d.encrypted,
        });
    }
    Ok(responses)
}

/// A request its caller stopped waiting for: the core keeps checking its answer (and
/// taking its credits) when it comes, and the server is asked to cancel it.
async fn give_up(inner: &Arc<Inner>, id: u64) {
    if let Some(wire) = abandon(inner, id) {
        let _ = send(inner, wire, 0).await;
    }
}

/// The synchronous part of giving up on a request: its waiter removed, the request
/// abandoned in the core; returns the CANCEL to send.
fn abandon(inner: &Inner, id: u64) -> Option<Vec<u8>> {
    if let Ok(mut p) = inner.pending.lock() {
        p.remove(&id);
    }
    let cancel = inner.core().and_then(|mut c| {
        c.abandon(id)?;
        c.cancel(id)
    });
    match cancel {
        Ok(wire) => wire,
        Err(e) => {
            inner.fail(&e.to_string());
            None
        }
    }
}

/// Gives up on the requests still in `ids` when an exchange is dropped before its answers
/// came; their CANCELs go out from a task of their own.
struct GiveUpOnDrop<'a> {
    inner: &'a Arc<Inner>,
    ids: Vec<u64>,
}

impl Drop for GiveUpOnDrop<'_> {
    fn drop(&mut self) {
        let cancels: Vec<Vec<u8>> = self
            .ids
            .drain(..)
            .filter_map(|id| abandon(self.inner, id))
            .collect();
        if cancels.is_empty() {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let inner = Arc::clone(self.inner);
            rt.spawn(async move {
                for wire in cancels {
                    let _ = send(&inner, wire, 0).await;
                }
            });
        }
    }
}

/// Writes one message, its 4-byte length then `buf[start..]`, from a task of its own: a
/// message is never cut short when the request sending it is dropped (a timeout or a
/// `select!` around it), which would leave the server reading garbage. A write that fails,
/// or during which the socket takes no byte for the whole timeout (a slow link that still
/// moves is fine, and so is waiting behind other messages), fails the connection and every
/// request waiting on it. Returns `buf` for reuse.
async fn send(inner: &Arc<Inner>, buf: Vec<u8>, start: usize) -> Result<Vec<u8>> {
    let task_inner = Arc::clone(inner);
    let task = tokio::spawn(async move {
        let inner = task_inner;
        let written = async {
            let wire = buf.get(start..).unwrap_or_default();
            let prefix = u32::try_from(wire.len())
                .map_err(|_| std::io::Error::other("a message too large for a frame"))?
                .to_be_bytes();
            let mut w = inner.writer.lock().await;
            if wire.len() < 65536 {
                let mut frame = Vec::with_capacity(4 + wire.len());
                frame.extend_from_slice(&prefix);
                frame.extend_from_slice(wire);
                write_with_progress(&mut w, &frame, inner.timeout).await
            } else {
                write_with_progress(&mut w, &prefix, inner.timeout).await?;
                write_with_progress(&mut w, wire, inner.timeout).await
            }
        }
        .await;
        let failed = written
            .err()
            .map(|e| format!("sending to the server failed ({e})"));
        // Part of a message may have gone out: nothing more can follow it.
        if let Some(reason) = &failed {
            inner.fail(reason);
        }
        (failed, buf)
    });
    match task.await {
        Ok((None, buf)) => Ok(buf),
        Ok((Some(reason), _)) => Err(inner.io(reason)),
        Err(e) => Err(Error::Protocol(format!("the send task failed: {e}"))),
    }
}

/// Writes all of `buf`, failing only when the socket takes no byte for `stall`.
async fn write_with_progress(
    w: &mut OwnedWriteHalf,
    mut buf: &[u8],
    stall: Duration,
) -> std::io::Result<()> {
    while !buf.is_empty() {
        let n = tokio::time::timeout(stall, w.write(buf))
            .await
            .map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the socket took nothing for {} s", stall.as_secs()),
                )
            })??;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        buf = buf.get(n..).unwrap_or_default();
    }
    Ok(())
}

/// Sends an ECHO when the server has been silent for a while, and fails the connection
/// when it stays silent; ends with the connection.
async fn keepalive(inner: Weak<Inner>, changed: Arc<Notify>) {
    let mut seen = 0;
    loop {
        let deadline = match inner.upgrade() {
            Some(i) => match i.core() {
                Ok(c) if c.failed().is_none() => c.keepalive_deadline(),
                _ => return,
            },
            None => return,
        };
        tokio::select! {
            _ = tokio::time::sleep_until(deadline.into()) => {}
            // New times: a new deadline.
            _ = changed.notified() => continue,
        }
        let Some(i) = inner.upgrade() else { return };
        let received = i.received.load(Ordering::Relaxed);
        let (action, session) = match i.core() {
            Ok(mut c) => {
                // A large frame still arriving is a live server too.
                if received != seen {
                    seen = received;
                    c.heard(Instant::now());
                }
                (c.poll_keepalive(Instant::now()), c.keepalive_session())
            }
            Err(_) => return,
        };
        match action {
            Keepalive::Idle => {}
            Keepalive::SendEcho => {
                let i = Arc::clone(&i);
                tokio::spawn(async move {
                    if let Err(e) = echo(&i, session).await {
                        tracing::debug!(error = %e, "keepalive ECHO failed");
                    }
                });
            }
            Keepalive::Dead(why) => {
                tracing::warn!(target = %i.target, "{why}");
                i.fail(&why);
                return;
            }
        }
    }
}

/// Reads frames until the connection ends: each is decrypted (outside the core's lock),
/// bound to its requests by the core, and handed to their waiters. A frame the core
/// refuses fails the connection, loudly.
async fn read_loop(
    weak: Weak<Inner>,
    pool: Arc<BufferPool>,
    received: Arc<AtomicU64>,
    mut reader: OwnedReadHalf,
) {
    let mut low = LowWater::new();
    loop {
        // The connection is not held alive while a frame is awaited: once every handle to
        // it is gone, it ends.
        let frame = read_frame(&mut reader, &pool, &mut low, &received).await;
        let Some(inner) = weak.upgrade() else { return };
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                inner.fail(&format!("the server closed the connection ({e})"));
                return;
            }
        };
        if let Err(e) = handle_frame(&inner, frame) {
            // The core has recorded the violation; every waiter gets it.
            tracing::warn!(target = %inner.target, error = %e, "failing the connection");
            inner.fail(&e.to_string());
            return;
        }
    }
}

fn handle_frame(inner: &Arc<Inner>, mut frame: Vec<u8>) -> Result<()> {
    let key = inner.core()?.frame_key(&frame)?;
    let by = match key {
        // Decrypted outside the lock (a 1 MiB READ takes time).
        Some(k) => Some(
            proto::open_frame(&k, &mut frame).map_err(|e| match inner.core() {
                Ok(mut c) => c.refuse(e),
                Err(poisoned) => poisoned,
            })?,
        ),
        None => None,
    };
    let start = if by.is_some() { TRANSFORM_LEN } else { 0 };
    let events = inner.core()?.accept(&frame, by, Instant::now())?;
    inner.credits.notify_waiters();
    let mut finals: Vec<(Header, Range<usize>, bool)> = events
        .into_iter()
        .filter_map(|e| match e {
            Event::Response {
                header,
                range,
                encrypted,
            } => Some((header, range, encrypted)),
            Event::Interim { .. } => None,
            Event::Break { notice, ack } => {
                acknowledge(inner, notice, ack);
                None
            }
        })
        .collect();
    // A lone message (the bulk READ case) is handed over in its frame, without a copy.
    if finals.len() == 1 && finals[0].1.start == start {
        if let Some((header, range, encrypted)) = finals.pop() {
            deliver(inner, header, frame, range, encrypted);
        }
        return Ok(());
    }
    for (header, range, encrypted) in finals {
        let one = frame.get(range).unwrap_or_default().to_vec();
        let len = one.len();
        deliver(inner, header, one, 0..len, encrypted);
    }
    inner.pool.put(frame);
    Ok(())
}

fn deliver(inner: &Inner, header: Header, frame: Vec<u8>, range: Range<usize>, encrypted: bool) {
    let tx = inner
        .pending
        .lock()
        .ok()
        .and_then(|mut p| p.remove(&header.message_id));
    if let Some(tx) = tx {
        let _ = tx.send(Ok(Delivery {
            header,
            frame,
            range,
            encrypted,
        }));
    } else {
        inner.pool.put(frame);
    }
}
