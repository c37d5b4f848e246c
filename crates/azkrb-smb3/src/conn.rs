//! The tokio connection driver: one reader task demultiplexing responses by MessageId,
//! interim (STATUS_PENDING) responses, credits, signing and encryption of every message,
//! and a timeout on every request.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Semaphore, oneshot};

use crate::crypto::{self, AeadKey, PreauthHash, SigningAlgorithm};
use crate::error::{Error, Result};
use crate::msg::{self, Command, HEADER_LEN, Header, NegotiateOptions, NegotiateResponse, flags};
use crate::status::NtStatus;

/// The largest message accepted from the server (the NetBIOS length field's 24 bits).
const MAX_FRAME: usize = 0x00ff_ffff;

/// How a session protects its messages.
pub(crate) struct SessionCrypto {
    pub(crate) signing: SigningAlgorithm,
    pub(crate) signing_key: zeroize::Zeroizing<Vec<u8>>,
    pub(crate) encrypt: bool,
    pub(crate) enc: Option<AeadKey>,
    pub(crate) dec: Option<AeadKey>,
}

/// A response, with the exact request bytes that produced it.
#[derive(Debug)]
pub struct Response {
    /// The header.
    pub header: Header,
    /// The frame the response arrived in (decrypted in place); the message is `buf[msg]`.
    buf: Vec<u8>,
    msg: Range<usize>,
    /// The request exactly as sent (before encryption), for the preauth hash.
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
}

/// What the reader hands a waiting request: header, frame, the message's range in it,
/// and whether it arrived encrypted.
type Delivery = (Header, Vec<u8>, Range<usize>, bool);
type Waiter = oneshot::Sender<Result<Delivery>>;

struct Inner {
    target: String,
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Mutex<HashMap<u64, Waiter>>,
    next_id: Mutex<u64>,
    credits: Semaphore,
    sessions: RwLock<HashMap<u64, Arc<SessionCrypto>>>,
    /// AsyncIds from interim responses, by MessageId (for CANCEL).
    async_ids: Mutex<HashMap<u64, u64>>,
    nonce: AtomicU64,
    nonce_prefix: [u8; 4],
    timeout: Duration,
    closed: Mutex<Option<String>>,
    /// Large message buffers kept for reuse (see [`BufferPool`]).
    pool: BufferPool,
}

/// Large message buffers (READ responses, WRITE requests) kept for the next message, so
/// that a transfer does not allocate, page-fault and zero a fresh megabyte per message:
/// the allocator hands such sizes back to the system on free, and those faults cost more
/// CPU than the AES-GCM of the same bytes. Holds at most [`BufferPool::MAX_BYTES`], and
/// nothing once the connection has moved no large message for [`BufferPool::IDLE`].
#[derive(Default)]
struct BufferPool {
    kept: Mutex<Vec<Vec<u8>>>,
    /// A large buffer was asked for or given back since the last [`BufferPool::trim_if_idle`].
    used: AtomicBool,
}

impl BufferPool {
    /// Buffers smaller than this are left to the allocator.
    const MIN: usize = 64 * 1024;
    /// The most the pool holds at once.
    const MAX_BYTES: usize = 32 << 20;
    /// After this long without a large message (and at most twice this), the kept buffers
    /// are freed: an idle mount does not hold tens of megabytes.
    const IDLE: Duration = Duration::from_secs(30);

    /// An empty buffer with room for `n` bytes: a kept one if one is large enough.
    fn take(&self, n: usize) -> Vec<u8> {
        if n >= Self::MIN {
            self.used.store(true, Ordering::Relaxed);
            if let Ok(mut p) = self.kept.lock()
                && let Some(i) = p.iter().rposition(|b| b.capacity() >= n)
            {
                return p.swap_remove(i);
            }
        }
        Vec::with_capacity(n)
    }

    /// Keeps `buf` for reuse, if it is large and there is room.
    fn put(&self, mut buf: Vec<u8>) {
        if buf.capacity() < Self::MIN {
            return;
        }
        self.used.store(true, Ordering::Relaxed);
        if let Ok(mut p) = self.kept.lock() {
            let held: usize = p.iter().map(Vec::capacity).sum();
            if held + buf.capacity() <= Self::MAX_BYTES {
                buf.clear();
                p.push(buf);
            }
        }
    }

    /// Frees the kept buffers if none was used since the last call.
    fn trim_if_idle(&self) {
        if !self.used.swap(false, Ordering::Relaxed)
            && let Ok(mut p) = self.kept.lock()
        {
            *p = Vec::new();
        }
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
        if inner.closed.lock().map_or(true, |c| c.is_some()) {
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
    /// The connection's preauth hash after NEGOTIATE (3.1.1).
    pub preauth: PreauthHash,
    large_mtu: bool,
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
    /// Connects to `addr` (host:port), negotiates, and starts the reader task.
    pub async fn connect(
        addr: &str,
        options: &NegotiateOptions,
        timeout: Duration,
    ) -> Result<Self> {
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
        let (reader, writer) = stream.into_split();
        let inner = Arc::new(Inner {
            target: addr.to_string(),
            writer: tokio::sync::Mutex::new(writer),
            pending: Mutex::new(HashMap::new()),
            next_id: Mutex::new(0),
            credits: Semaphore::new(1),
            sessions: RwLock::new(HashMap::new()),
            async_ids: Mutex::new(HashMap::new()),
            nonce: AtomicU64::new(1),
            nonce_prefix: random()?,
            timeout,
            closed: Mutex::new(None),
            pool: BufferPool::default(),
        });
        tokio::spawn(read_loop(Arc::clone(&inner), reader));
        tokio::spawn(trim_idle_pool(Arc::downgrade(&inner)));
        let mut conn = Self {
            inner,
            negotiated: Arc::new(NegotiateResponse {
                security_mode: 0,
                dialect: crypto::Dialect::Smb202,
                capabilities: 0,
                max_transact: 65536,
                max_read: 65536,
                max_write: 65536,
                security_blob: Vec::new(),
                cipher: None,
                signing: None,
                preauth_hash: None,
            }),
            preauth: PreauthHash::default(),
            large_mtu: false,
        };
        let body = msg::negotiate_request(options, random()?, random()?);
        let resp = conn.request(Command::Negotiate, 0, 0, body, 1).await?;
        if resp.header.status != NtStatus::SUCCESS {
            return Err(Error::Status {
                command: "NEGOTIATE",
                status: resp.header.status,
            });
        }
        let neg = NegotiateResponse::decode(resp.bytes())?;
        if !options.dialects.contains(&neg.dialect) {
            return Err(Error::Unsupported(format!(
                "the server chose {}, which was not offered",
                neg.dialect
            )));
        }
        if neg.dialect == crypto::Dialect::Smb311 {
            conn.preauth.update(&resp.sent);
            conn.preauth.update(resp.bytes());
            if let Some(c) = neg.cipher
                && !options.ciphers.contains(&c)
            {
                return Err(Error::Unsupported(format!(
                    "the server chose {c}, which was not offered"
                )));
            }
        }
        conn.large_mtu = neg.capabilities & msg::caps::LARGE_MTU != 0;
        conn.negotiated = Arc::new(neg);
        Ok(conn)
    }

    /// The server address.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    pub(crate) fn add_session(&self, id: u64, crypto: SessionCrypto) {
        if let Ok(mut s) = self.inner.sessions.write() {
            s.insert(id, Arc::new(crypto));
        }
    }

    /// The TRANSFORM_HEADER nonce for the next encrypted message: a per-connection counter
    /// that never repeats, then the connection's random prefix, up to the cipher's nonce
    /// length (11 bytes for CCM, 12 for GCM); the rest zero.
    fn next_nonce(&self, key: &AeadKey) -> [u8; 16] {
        let mut nonce = [0u8; 16];
        let n = self.inner.nonce.fetch_add(1, Ordering::Relaxed);
        nonce[..8].copy_from_slice(&n.to_le_bytes());
        let len = if matches!(key, AeadKey::Ccm128(_) | AeadKey::Ccm256(_)) {
            11
        } else {
            12
        };
        nonce[8..len].copy_from_slice(&self.inner.nonce_prefix[..len - 8]);
        nonce
    }

    pub(crate) fn session(&self, id: u64) -> Option<Arc<SessionCrypto>> {
        self.inner.sessions.read().ok()?.get(&id).cloned()
    }

    /// The credit charge of a request or response of `bytes` bytes (MS-SMB2 §3.1.5.2).
    pub fn charge_for(&self, bytes: usize) -> u16 {
        if self.large_mtu && bytes > 0 {
            ((bytes - 1) / 65536 + 1) as u16
        } else {
            1
        }
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
        let mut p = self.payload_buffer(fixed.len(), data.len());
        p.buf.extend_from_slice(data);
        self.exchange(command, session_id, tree_id, fixed, p, charge, None)
            .await
    }

    /// An empty message buffer for a request whose `fixed_len`-byte body part is followed by
    /// up to `data_len` bytes of payload: append the payload to it, then send it with
    /// [`Connection::request_with_payload_after`]. The payload is then never copied.
    pub(crate) fn payload_buffer(&self, fixed_len: usize, data_len: usize) -> PayloadBuf {
        let mut p = PayloadBuf {
            buf: Vec::new(),
            fixed_len,
        };
        p.buf = self.inner.pool.take(p.room() + data_len);
        p.buf.resize(p.room(), 0);
        p
    }

    /// Like [`Connection::request_with_data`], with the payload already in `m` after the
    /// room that [`Connection::payload_buffer`] left for the headers and `fixed`.
    pub(crate) async fn request_with_payload_after(
        &self,
        command: Command,
        session_id: u64,
        tree_id: u32,
        fixed: &[u8],
        m: PayloadBuf,
        charge: u16,
    ) -> Result<Response> {
        self.exchange(command, session_id, tree_id, fixed, m, charge, None)
            .await
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
        let p = self.payload_buffer(body.len(), 0);
        self.exchange(
            command,
            session_id,
            tree_id,
            &body,
            p,
            1,
            Some(cancel_after),
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn exchange(
        &self,
        command: Command,
        session_id: u64,
        tree_id: u32,
        fixed: &[u8],
        payload: PayloadBuf,
        charge: u16,
        cancel_after: Option<Duration>,
    ) -> Result<Response> {
        if let Some(reason) = self.inner.closed.lock().ok().and_then(|c| c.clone()) {
            return Err(Error::Io {
                target: self.inner.target.clone(),
                detail: reason,
            });
        }
        let session = (session_id != 0)
            .then(|| self.session(session_id))
            .flatten();
        // Every check of the message's shape comes before a credit or MessageId is used
        // (a MessageId never sent would stall the server's sequence window).
        let at = crypto::TRANSFORM_LEN;
        let payload_len = payload
            .payload_len()
            .filter(|_| payload.fixed_len == fixed.len())
            .ok_or_else(|| Error::Protocol("a payload buffer made for another request".into()))?;
        let encrypt = session.as_ref().is_some_and(|s| s.encrypt);
        let wire_len = HEADER_LEN + fixed.len() + payload_len + if encrypt { at } else { 0 };
        if wire_len > MAX_FRAME {
            return Err(Error::Protocol(format!(
                "a {wire_len}-byte message does not fit in a frame"
            )));
        }
        let charge = charge.max(1);
        let permits = self
            .inner
            .credits
            .acquire_many(u32::from(charge))
            .await
            .map_err(|_| Error::Io {
                target: self.inner.target.clone(),
                detail: "connection closed".into(),
            })?;
        permits.forget();
        let message_id = {
            let mut next = self
                .inner
                .next_id
                .lock()
                .map_err(|_| Error::Protocol("poisoned".into()))?;
            let id = *next;
            *next += u64::from(charge);
            id
        };
        let mut header = Header::request(command, session_id, tree_id);
        header.message_id = message_id;
        header.credit_charge = if self.negotiated.dialect == crypto::Dialect::Smb202 {
            0
        } else {
            charge
        };
        header.credits = 256;
        // The headers and `fixed` go into the room left before the payload (checked above);
        // the TRANSFORM_HEADER's room in front lets encryption happen in place.
        let mut m = payload.buf;
        let mut head = Vec::with_capacity(HEADER_LEN + fixed.len());
        header.encode(&mut head);
        head.extend_from_slice(fixed);
        if let Some(room) = m.get_mut(at..at + head.len()) {
            room.copy_from_slice(&head);
        }
        // The exact request bytes are kept only where the preauth hash needs them.
        let keep_sent = matches!(command, Command::Negotiate | Command::SessionSetup);
        let encrypted = match &session {
            Some(s) if s.encrypt => {
                let key = s
                    .enc
                    .as_ref()
                    .ok_or_else(|| Error::Protocol("encryption without a key".into()))?;
                let nonce = self.next_nonce(key);
                let sent = if keep_sent {
                    m[crypto::TRANSFORM_LEN..].to_vec()
                } else {
                    Vec::new()
                };
                crypto::encrypt_in_place(key, session_id, &nonce, &mut m)?;
                Some(sent)
            }
            // (An established session's SESSION_SETUP is a re-authentication: signed too.)
            Some(s) => {
                crypto::sign(
                    s.signing,
                    &s.signing_key,
                    &mut m[crypto::TRANSFORM_LEN..],
                    false,
                )?;
                None
            }
            _ => None,
        };
        let (wire_start, sent) = match encrypted {
            Some(sent) => (0, sent),
            None if keep_sent => (crypto::TRANSFORM_LEN, m[crypto::TRANSFORM_LEN..].to_vec()),
            None => (crypto::TRANSFORM_LEN, Vec::new()),
        };
        let (tx, rx) = oneshot::channel();
        if let Ok(mut p) = self.inner.pending.lock() {
            p.insert(message_id, tx);
        }
        let m = self.send(m, wire_start).await?;
        self.inner.pool.put(m);
        let timeout = self.inner.timeout;
        let mut rx = rx;
        let mut early = None;
        if let Some(after) = cancel_after {
            match tokio::time::timeout(after, &mut rx).await {
                Ok(r) => early = Some(r),
                Err(_) => self.send_cancel(session_id, message_id).await?,
            }
        }
        let result = match early {
            Some(r) => Ok(r),
            None => tokio::time::timeout(timeout, rx).await,
        };
        let (header, buf, msg, encrypted) = match result {
            Ok(Ok(r)) => r?,
            Ok(Err(_)) => {
                return Err(Error::Io {
                    target: self.inner.target.clone(),
                    detail: "connection closed".into(),
                });
            }
            Err(_) => {
                if let Ok(mut p) = self.inner.pending.lock() {
                    p.remove(&message_id);
                }
                return Err(Error::Timeout {
                    what: command.name().into(),
                    seconds: timeout.as_secs(),
                });
            }
        };
        if let Ok(mut a) = self.inner.async_ids.lock() {
            a.remove(&message_id);
        }
        Ok(Response {
            header,
            buf,
            msg,
            sent,
            encrypted,
        })
    }

    /// CANCEL (MS-SMB2 §3.2.4.24): same MessageId as the request (or its AsyncId after an
    /// interim response), no credit, no response; signed or encrypted like the session.
    async fn send_cancel(&self, session_id: u64, message_id: u64) -> Result<()> {
        let mut h = Header::request(Command::Cancel, session_id, 0);
        h.message_id = message_id;
        h.credit_charge = 0;
        h.credits = 0;
        if let Some(async_id) = self
            .inner
            .async_ids
            .lock()
            .ok()
            .and_then(|a| a.get(&message_id).copied())
        {
            h.flags |= flags::ASYNC;
            h.async_or_tree = async_id;
        }
        let mut m = Vec::with_capacity(HEADER_LEN + 4);
        h.encode(&mut m);
        m.extend_from_slice(&msg::small_request());
        let wire = match (session_id != 0)
            .then(|| self.session(session_id))
            .flatten()
        {
            Some(s) if s.encrypt => {
                let key = s
                    .enc
                    .as_ref()
                    .ok_or_else(|| Error::Protocol("encryption without a key".into()))?;
                let nonce = self.next_nonce(key);
                crypto::encrypt(key, session_id, &nonce, &m)?
            }
            Some(s) => {
                crypto::sign(s.signing, &s.signing_key, &mut m, false)?;
                m
            }
            None => m,
        };
        self.send(wire, 0).await.map(drop)
    }

    /// Writes one message, its 4-byte length then `buf[start..]`, from a task of its own:
    /// a message is never cut short when the request sending it is dropped (a timeout or a
    /// `select!` around it), which would leave the server reading garbage. A failed write
    /// fails the connection and every request waiting on it. Returns `buf` for reuse.
    async fn send(&self, buf: Vec<u8>, start: usize) -> Result<Vec<u8>> {
        let inner = Arc::clone(&self.inner);
        let task = tokio::spawn(async move {
            let written = {
                let wire = buf.get(start..).unwrap_or_default();
                let prefix = (wire.len() as u32).to_be_bytes();
                let mut w = inner.writer.lock().await;
                if wire.len() < 65536 {
                    let mut frame = Vec::with_capacity(4 + wire.len());
                    frame.extend_from_slice(&prefix);
                    frame.extend_from_slice(wire);
                    w.write_all(&frame).await
                } else {
                    match w.write_all(&prefix).await {
                        Ok(()) => w.write_all(wire).await,
                        Err(e) => Err(e),
                    }
                }
            };
            let failed = written.err().map(|e| {
                // Part of a message may have gone out: nothing more can follow it.
                let reason = format!("sending to the server failed ({e})");
                fail_all(&inner, &reason);
                reason
            });
            (failed, buf)
        });
        match task.await {
            Ok((None, buf)) => Ok(buf),
            Ok((Some(reason), _)) => Err(Error::Io {
                target: self.inner.target.clone(),
                detail: reason,
            }),
            Err(e) => Err(Error::Protocol(format!("the send task failed: {e}"))),
        }
    }
}

impl Connection {
    /// Sends related requests as one compound (MS-SMB2 §3.2.4.1.4): each after the first
    /// carries RELATED_OPERATIONS and acts on the FileId the first one opened (pass
    /// [`msg::RELATED_FILE_ID`]). Returns every response, in order.
    pub async fn compound(
        &self,
        session_id: u64,
        tree_id: u32,
        requests: Vec<(Command, Vec<u8>)>,
    ) -> Result<Vec<Response>> {
        let n = requests.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let permits = self
            .inner
            .credits
            .acquire_many(n as u32)
            .await
            .map_err(|_| Error::Io {
                target: self.inner.target.clone(),
                detail: "connection closed".into(),
            })?;
        permits.forget();
        let first_id = {
            let mut next = self
                .inner
                .next_id
                .lock()
                .map_err(|_| Error::Protocol("poisoned".into()))?;
            let id = *next;
            *next += n as u64;
            id
        };
        let session = self
            .session(session_id)
            .ok_or_else(|| Error::Protocol("compound without a session".into()))?;
        let mut chain = Vec::new();
        let mut ids = Vec::with_capacity(n);
        for (i, (command, body)) in requests.into_iter().enumerate() {
            let mut h = Header::request(command, session_id, tree_id);
            h.message_id = first_id + i as u64;
            h.credits = 64;
            if i > 0 {
                h.flags |= flags::RELATED;
            }
            let mut m = Vec::with_capacity(HEADER_LEN + body.len() + 8);
            h.encode(&mut m);
            m.extend_from_slice(&body);
            if i + 1 < n {
                while !m.len().is_multiple_of(8) {
                    m.push(0);
                }
                let len = m.len() as u32;
                m[20..24].copy_from_slice(&len.to_le_bytes());
            }
            if !session.encrypt {
                crypto::sign(session.signing, &session.signing_key, &mut m, false)?;
            }
            ids.push(h.message_id);
            chain.extend_from_slice(&m);
        }
        let wire = if session.encrypt {
            let key = session
                .enc
                .as_ref()
                .ok_or_else(|| Error::Protocol("encryption without a key".into()))?;
            let nonce = self.next_nonce(key);
            crypto::encrypt(key, session_id, &nonce, &chain)?
        } else {
            chain
        };
        let mut waiters = Vec::with_capacity(n);
        if let Ok(mut p) = self.inner.pending.lock() {
            for id in &ids {
                let (tx, rx) = oneshot::channel();
                p.insert(*id, tx);
                waiters.push(rx);
            }
        }
        self.send(wire, 0).await?;
        let mut out = Vec::with_capacity(n);
        for rx in waiters {
            let (header, buf, msg, encrypted) = tokio::time::timeout(self.inner.timeout, rx)
                .await
                .map_err(|_| Error::Timeout {
                    what: "compound request".into(),
                    seconds: self.inner.timeout.as_secs(),
                })?
                .map_err(|_| Error::Io {
                    target: self.inner.target.clone(),
                    detail: "connection closed".into(),
                })??;
            out.push(Response {
                header,
                buf,
                msg,
                sent: Vec::new(),
                encrypted,
            });
        }
        Ok(out)
    }

    /// Hands a message buffer back for reuse (the frame of a READ response once its data
    /// has been used, a WRITE's payload once sent).
    pub(crate) fn recycle(&self, buf: Vec<u8>) {
        self.inner.pool.put(buf);
    }

    /// ECHO: a round trip that proves the connection alive.
    pub async fn echo(&self, session_id: u64) -> Result<()> {
        let r = self
            .request(Command::Echo, session_id, 0, msg::small_request(), 1)
            .await?;
        if r.header.status == NtStatus::SUCCESS {
            Ok(())
        } else {
            Err(Error::Status {
                command: "ECHO",
                status: r.header.status,
            })
        }
    }
}

async fn read_frame(
    r: &mut OwnedReadHalf,
    pool: &BufferPool,
    low: &mut LowWater,
) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    if len[0] != 0 {
        return Err(std::io::Error::other(format!(
            "not a session message (type 0x{:02x})",
            len[0]
        )));
    }
    let n = u32::from_be_bytes(len) as usize;
    // Filled straight from the socket, without zeroing first (1 MiB per READ).
    let mut buf = pool.take(n);
    // For a large message, the reader is woken when the rest of it has arrived (and the
    // mark is back at 1 before the next, possibly small, message is awaited).
    let room = if n >= LowWater::FROM { low.room(r) } else { 0 };
    while buf.len() < n {
        let rest = n - buf.len();
        if room > 0 {
            low.set(r, rest.min(room))?;
        }
        if (&mut *r).take(rest as u64).read_buf(&mut buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    low.reset(r)?;
    Ok(buf)
}

/// The receive low-water mark of a connection's socket while large messages arrive (see
/// [`crate::sockopt`]).
struct LowWater {
    /// False where the kernel is too old, or once setting the mark has failed.
    on: bool,
    /// The mark last set.
    mark: usize,
}

impl LowWater {
    /// Messages from this size on are awaited whole.
    const FROM: usize = 64 * 1024;

    fn new() -> Self {
        Self {
            on: crate::sockopt::low_water_is_safe(),
            mark: 1,
        }
    }

    /// The highest mark to set while a large message arrives (0: none): a quarter of the
    /// socket's receive buffer, so the kernel never grows the buffer or clamps the TCP
    /// window for it (a clamped window would slow a long-distance link).
    fn room(&self, r: &OwnedReadHalf) -> usize {
        if !self.on {
            return 0;
        }
        socket2::SockRef::from(r.as_ref())
            .recv_buffer_size()
            .unwrap_or(0)
            / 4
    }

    /// Back to 1 before a message of unknown size is awaited.
    fn reset(&mut self, r: &OwnedReadHalf) -> std::io::Result<()> {
        self.set(r, 1)
    }

    /// Asks to be woken when `mark` bytes (at least 1) can be read.
    fn set(&mut self, r: &OwnedReadHalf, mark: usize) -> std::io::Result<()> {
        let mark = mark.max(1);
        if mark == self.mark || (!self.on && mark != 1) {
            return Ok(());
        }
        match crate::sockopt::set_recv_low_water(r.as_ref(), mark) {
            Ok(()) => {
                self.mark = mark;
                Ok(())
            }
            Err(e) => {
                tracing::debug!(error = %e, "SO_RCVLOWAT not set; reading without it");
                self.on = false;
                if self.mark == 1 {
                    return Ok(());
                }
                // A mark left above the next message's size would never wake the reader.
                crate::sockopt::set_recv_low_water(r.as_ref(), 1)
                    .map_err(|e| std::io::Error::other(format!("cannot reset SO_RCVLOWAT: {e}")))?;
                self.mark = 1;
                Ok(())
            }
        }
    }
}

/// A request's message buffer (see [`Connection::payload_buffer`]): room at its start for
/// the transform header, the SMB2 header and a fixed body part of `fixed_len` bytes, then
/// the payload, appended to `buf`.
pub(crate) struct PayloadBuf {
    pub(crate) buf: Vec<u8>,
    fixed_len: usize,
}

impl PayloadBuf {
    /// The room before the payload.
    fn room(&self) -> usize {
        crypto::TRANSFORM_LEN + HEADER_LEN + self.fixed_len
    }

    /// How many payload bytes follow the room (None if the room itself was cut).
    pub(crate) fn payload_len(&self) -> Option<usize> {
        self.buf.len().checked_sub(self.room())
    }
}

fn fail_all(inner: &Inner, reason: &str) {
    if let Ok(mut c) = inner.closed.lock() {
        *c = Some(reason.to_string());
    }
    if let Ok(mut p) = inner.pending.lock() {
        for (_, tx) in p.drain() {
            let _ = tx.send(Err(Error::Io {
                target: inner.target.clone(),
                detail: reason.to_string(),
            }));
        }
    }
    inner.credits.close();
}

fn deliver(inner: &Inner, message_id: u64, result: Result<Delivery>) {
    let tx = inner
        .pending
        .lock()
        .ok()
        .and_then(|mut p| p.remove(&message_id));
    if let Some(tx) = tx {
        let _ = tx.send(result);
    }
}

async fn read_loop(inner: Arc<Inner>, mut reader: OwnedReadHalf) {
    let mut low = LowWater::new();
    loop {
        let frame = match read_frame(&mut reader, &inner.pool, &mut low).await {
            Ok(f) => f,
            Err(e) => {
                fail_all(&inner, &format!("the server closed the connection ({e})"));
                return;
            }
        };
        if let Err(e) = handle_frame(&inner, frame) {
            tracing::warn!(error = %e, "dropping an unusable message from the server");
            fail_all(&inner, &e.to_string());
            return;
        }
    }
}

fn handle_frame(inner: &Inner, mut frame: Vec<u8>) -> Result<()> {
    let encrypted = frame.starts_with(&crypto::TRANSFORM_ID);
    let (start, session) = if encrypted {
        let th = crypto::parse_transform(&frame)?;
        let s = inner
            .sessions
            .read()
            .ok()
            .and_then(|m| m.get(&th.session_id).cloned())
            .ok_or_else(|| {
                Error::Protocol(format!(
                    "an encrypted message for unknown session 0x{:x}",
                    th.session_id
                ))
            })?;
        let key = s
            .dec
            .as_ref()
            .ok_or_else(|| Error::Protocol("encrypted message without a decryption key".into()))?;
        crypto::decrypt(key, &mut frame)?;
        (crypto::TRANSFORM_LEN, Some(s))
    } else {
        (0, None)
    };
    // A (possibly compound) sequence of messages. Each is checked in place; a lone message
    // (the bulk READ case) is handed over with its frame, without a copy.
    let mut parts = Vec::new();
    let mut at = start;
    loop {
        let rest = frame
            .get(at..)
            .ok_or_else(|| Error::Malformed("compound offset past the end".into()))?;
        let header = Header::decode(rest)?;
        let len = if header.next_command == 0 {
            rest.len()
        } else {
            header.next_command as usize
        };
        let one = rest
            .get(..len)
            .ok_or_else(|| Error::Malformed("compound length past the end".into()))?;
        inner.credits.add_permits(usize::from(header.credits));
        let interim = header.status == NtStatus::PENDING && header.flags & flags::ASYNC != 0;
        if interim && let Ok(mut a) = inner.async_ids.lock() {
            a.insert(header.message_id, header.async_or_tree);
        }
        if !interim {
            let result = check_integrity(inner, &header, one, encrypted, session.as_deref());
            parts.push((header.clone(), at..at + len, result));
        }
        if header.next_command == 0 {
            break;
        }
        at += len;
    }
    if parts.len() == 1 && parts[0].1.start == start {
        if let Some((header, range, result)) = parts.pop() {
            deliver(
                inner,
                header.message_id,
                result.map(|()| (header, frame, range, encrypted)),
            );
        }
        return Ok(());
    }
    for (header, range, result) in parts {
        let one = frame.get(range).unwrap_or_default().to_vec();
        let len = one.len();
        deliver(
            inner,
            header.message_id,
            result.map(|()| (header, one, 0..len, encrypted)),
        );
    }
    inner.pool.put(frame);
    Ok(())
}

/// Signed responses are verified; a session that requires protection gets no unprotected
/// response through. SESSION_SETUP responses are checked by the session setup itself.
fn check_integrity(
    inner: &Inner,
    header: &Header,
    msg: &[u8],
    encrypted: bool,
    via: Option<&SessionCrypto>,
) -> Result<()> {
    if encrypted || header.session_id == 0 || header.command == Command::SessionSetup as u16 {
        let _ = via;
        return Ok(());
    }
    let session = inner
        .sessions
        .read()
        .ok()
        .and_then(|m| m.get(&header.session_id).cloned());
    let Some(s) = session else { return Ok(()) };
    if s.encrypt {
        return Err(Error::Protocol(
            "an unencrypted response in an encrypted session".into(),
        ));
    }
    if header.flags & flags::SIGNED != 0 {
        crypto::verify(s.signing, &s.signing_key, msg, true)
    } else if header.status == NtStatus::PENDING {
        Ok(())
    } else {
        Err(Error::Protocol(
            "an unsigned response in a signed session".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of every size arrive whole, however the bytes are spread in time: after a
    /// large message the low-water mark must be back at 1, or the small message sent after a
    /// pause would never wake the reader.
    #[tokio::test]
    async fn frames_arrive_whole_with_the_low_water_mark_between_large_and_small() {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frame = |len: usize, seed: u8| {
            let mut f = (len as u32).to_be_bytes().to_vec();
            f.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
            f
        };
        let sizes = [200 * 1024, 10, (1 << 20) + 7, 65_536, 3, 65_535, 1];
        let frames: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| frame(n, i as u8))
            .collect();
        let sent = frames.clone();
        let writer = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            for f in &sent {
                // In pieces, with pauses, so the reader waits mid-frame and between frames.
                for piece in f.chunks(f.len() / 3 + 1) {
                    s.write_all(piece).await.unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            s
        });
        let (mut r, _w) = tokio::net::TcpStream::connect(addr)
            .await
            .unwrap()
            .into_split();
        let pool = BufferPool::default();
        let mut low = LowWater::new();
        assert_eq!(low.on, crate::sockopt::low_water_is_safe());
        // Used here whatever the kernel (the lab's and CI's are recent).
        low.on = true;
        for (f, &n) in frames.iter().zip(&sizes) {
            let got =
                tokio::time::timeout(Duration::from_secs(10), read_frame(&mut r, &pool, &mut low))
                    .await
                    .expect("the reader was woken")
                    .unwrap();
            assert_eq!(low.mark, 1, "the mark is back at 1 after each frame");
            assert_eq!(got.len(), n);
            assert!(got[..] == f[4..], "a {n}-byte frame differs");
            pool.put(got);
        }
        drop(writer.await.unwrap());
    }

    #[test]
    fn the_buffer_pool_reuses_large_buffers_empty_holds_a_bounded_amount_and_frees_it_when_idle() {
        let pool = BufferPool::default();
        // Small buffers are left to the allocator.
        pool.put(Vec::with_capacity(100));
        assert!(pool.kept.lock().unwrap().is_empty());
        // A large one comes back empty, with its room, for a request that fits.
        let mut big = Vec::with_capacity(1 << 20);
        big.extend_from_slice(&[7u8; 1000]);
        let at = big.as_ptr();
        pool.put(big);
        let again = pool.take(100_000);
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at, "the kept buffer is handed out");
        // One too small for the request stays in the pool; a fresh buffer is made.
        pool.put(again);
        let larger = pool.take(2 << 20);
        assert!(larger.capacity() >= 2 << 20);
        assert_eq!(pool.kept.lock().unwrap().len(), 1);
        // Requests below the threshold never take a large buffer.
        assert!(pool.take(10).capacity() < BufferPool::MIN);
        // At most MAX_BYTES are held.
        for _ in 0..64 {
            pool.put(Vec::with_capacity(1 << 20));
        }
        let held: usize = pool.kept.lock().unwrap().iter().map(Vec::capacity).sum();
        assert!(held <= BufferPool::MAX_BYTES, "{held} bytes held");
        assert!(held > BufferPool::MAX_BYTES - (2 << 20));
        // Freed only after a whole period without use.
        pool.trim_if_idle();
        assert!(
            !pool.kept.lock().unwrap().is_empty(),
            "used since the last look"
        );
        pool.trim_if_idle();
        assert!(pool.kept.lock().unwrap().is_empty(), "idle for a period");
        // Small buffers do not count as use.
        pool.put(Vec::with_capacity(1 << 20));
        pool.trim_if_idle();
        assert!(!pool.kept.lock().unwrap().is_empty());
        drop(pool.take(100));
        pool.put(Vec::with_capacity(100));
        pool.trim_if_idle();
        assert!(pool.kept.lock().unwrap().is_empty());
    }
}
