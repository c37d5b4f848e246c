//! Trees (connected shares) and the file operations on them.

use crate::conn::{Connection, Response};
use crate::error::{Error, Result};
use crate::msg::{self, Command, DirEntry, FileId};
use crate::open::{Access, Kind, OpenOptions};
use crate::reclaim::Opens;
use crate::session::Session;
use crate::status::NtStatus;
use std::sync::Arc;

/// A connected share.
#[derive(Debug, Clone)]
pub struct Tree {
    session: Session,
    id: u32,
    share: String,
    /// The share is continuously available (its opens may be persistent).
    continuous: bool,
    /// The opens of this share, shared with the trees of later connections.
    opens: Arc<Opens>,
}

/// Bytes read from a file, in the message buffer they arrived in (see
/// [`Tree::read_chunk`]); dereferences to the bytes.
pub struct ReadData {
    frame: Vec<u8>,
    range: std::ops::Range<usize>,
    conn: Connection,
}

impl std::ops::Deref for ReadData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.frame.get(self.range.clone()).unwrap_or_default()
    }
}

impl std::fmt::Debug for ReadData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadData")
            .field("len", &self.len())
            .finish()
    }
}

impl Drop for ReadData {
    fn drop(&mut self) {
        self.conn.recycle(std::mem::take(&mut self.frame));
    }
}

/// An open file or directory.
#[derive(Debug, Clone, Copy)]
pub struct Handle {
    /// The file id it was opened with (after a reconnect the open may have another: the
    /// tree knows which; see [`Tree::reclaim`]).
    pub id: FileId,
    /// The share's own number for a durable open, unique in the process (a server may give
    /// a new open the FileId an open of a lost connection had); 0 for others.
    pub(crate) key: u64,
    /// The connection a non-durable open was made on (it is valid there only).
    pub(crate) conn: u64,
    /// Size when opened.
    pub size: u64,
    /// Attributes when opened.
    pub attributes: u32,
    /// Times, sizes and attributes when opened.
    pub info: msg::FileInfo,
}

impl Handle {
    /// The handle of the open recorded under `key` (for the share's own bookkeeping).
    pub(crate) fn keyed(key: u64, id: FileId) -> Self {
        Self {
            id,
            key,
            conn: 0,
            size: 0,
            attributes: 0,
            info: msg::FileInfo::default(),
        }
    }
}

/// Windows paths use backslashes and no leading separator.
pub fn smb_path(path: &str) -> String {
    path.trim_matches(|c| c == '/' || c == '\\')
        .replace('/', "\\")
}

impl Tree {
    pub(crate) fn new(session: Session, id: u32, share: String, continuous: bool) -> Self {
        Self {
            session,
            id,
            share,
            continuous,
            opens: Arc::default(),
        }
    }

    pub(crate) fn opens(&self) -> &Opens {
        &self.opens
    }

    /// The opens of this share, for the connection to tell of lease breaks.
    pub(crate) fn opens_weak(&self) -> std::sync::Weak<Opens> {
        Arc::downgrade(&self.opens)
    }

    /// Takes the open table of `old` (the same share on a lost connection).
    pub(crate) fn share_opens(&mut self, old: &Tree) {
        self.opens = Arc::clone(&old.opens);
    }

    /// The share is continuously available (SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY): its
    /// opens are asked to be persistent.
    pub fn continuously_available(&self) -> bool {
        self.continuous
    }

    /// The share name.
    pub fn share(&self) -> &str {
        &self.share
    }

    /// The session the tree belongs to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The tree id.
    pub fn id(&self) -> u32 {
        self.id
    }

    pub(crate) fn conn(&self) -> &Connection {
        self.session.connection()
    }

    async fn req(&self, command: Command, body: Vec<u8>, charge: u16) -> Result<Response> {
        self.conn()
            .request(command, self.session.id(), self.id, body, charge)
            .await
    }

    /// Opens (or creates, as `options` say) `path`.
    /// Files are opened durable, under a read and handle lease (unless `options` say
    /// otherwise): they survive a reconnect (see [`Tree::reclaim`]).
    pub async fn open(&self, path: &str, options: OpenOptions) -> Result<Handle> {
        let ctx = self.open_contexts(&options)?;
        let body = create_body_with(path, &options, &ctx)?;
        self.expect_lease(&ctx);
        let c = async {
            let resp = self.req(Command::Create, body, 1).await?;
            resp.ok("CREATE")?;
            msg::create_response(resp.bytes())
        }
        .await
        .inspect_err(|_| self.unexpect_lease(&ctx))?;
        Ok(self.opened(path, options, &ctx, &c))
    }

    /// The handle of an open of `path` with `options` and `ctx`, answered with `c`;
    /// durable opens are recorded, to be reclaimed after a reconnect (the others are valid
    /// on this connection only).
    pub(crate) fn opened(
        &self,
        path: &str,
        options: OpenOptions,
        ctx: &msg::CreateContexts,
        c: &msg::CreateResponse,
    ) -> Handle {
        let key = match ctx.durable {
            Some(_) => self.record_open(path, options, ctx, c),
            None => 0,
        };
        Handle {
            id: c.file_id,
            key,
            conn: self.conn().id(),
            size: c.size,
            attributes: c.attributes,
            info: c.info,
        }
    }

    /// Closes a handle. A handle closed already (a CLOSE sent again after a reconnect) is
    /// no error; one lost at a reconnect is (its writes may not have reached the file). A
    /// CLOSE cut off by a dropped connection is sent again by the reconnect.
    pub async fn close(&self, h: Handle) -> Result<()> {
        let id = match self.file_id(h) {
            Ok(id) => id,
            Err(e @ Error::HandleLost { .. }) => {
                self.forget_open(h);
                return Err(e);
            }
            Err(_) => return Ok(()),
        };
        self.closing_open(h);
        let r = self.send_close(id).await;
        if r.is_ok() || self.conn().failure().is_none() {
            self.forget_open(h);
        }
        r
    }

    /// CLOSE of a FileId.
    pub(crate) async fn send_close(&self, id: FileId) -> Result<()> {
        self.req(Command::Close, msg::close_request(id), 1)
            .await?
            .ok("CLOSE")
    }

    /// The largest single read or write, from NEGOTIATE (never more than 1 MiB per request).
    pub(crate) fn chunk(&self, write: bool) -> usize {
        let neg = &self.conn().negotiated;
        let max = if write { neg.max_write } else { neg.max_read } as usize;
        max.min(1 << 20)
    }

    /// Reads `len` bytes at `offset` (fewer at end of file).
    pub async fn read_at(&self, h: Handle, offset: u64, len: u32) -> Result<Vec<u8>> {
        Ok(self.read_chunk(h, offset, len).await?.to_vec())
    }

    /// Reads up to `len` bytes at `offset` (fewer at end of file, none past it), leaving
    /// them in the buffer they arrived in: no copy is made, and the buffer goes back to the
    /// connection for the next message when the [`ReadData`] is dropped. An answer longer
    /// than `len` is a protocol violation.
    pub async fn read_chunk(&self, h: Handle, offset: u64, len: u32) -> Result<ReadData> {
        let (frame, range) = self.read_in_frame(h, offset, len).await?;
        Ok(ReadData {
            frame,
            range,
            conn: self.conn().clone(),
        })
    }

    /// READ, leaving the data where it arrived: the frame and the data's range in it
    /// (empty at end of file). The streaming paths write from here without a copy.
    pub(crate) async fn read_in_frame(
        &self,
        h: Handle,
        offset: u64,
        len: u32,
    ) -> Result<(Vec<u8>, std::ops::Range<usize>)> {
        let charge = self.conn().charge_for(len as usize);
        let resp = self
            .req(
                Command::Read,
                msg::read_request(self.file_id(h)?, offset, len),
                charge,
            )
            .await?;
        if resp.header.status == NtStatus::END_OF_FILE {
            return Ok((Vec::new(), 0..0));
        }
        resp.ok("READ")?;
        let range = msg::read_response(resp.bytes(), len)?;
        let (frame, at) = resp.into_frame();
        Ok((frame, at.start + range.start..at.start + range.end))
    }

    /// Writes `data` at `offset`.
    pub async fn write_at(&self, h: Handle, offset: u64, data: &[u8]) -> Result<u32> {
        // The payload goes straight into the (then encrypted in place) message: one copy.
        let mut m = self.conn().payload_buffer(msg::WRITE_FIXED_LEN, data.len());
        m.payload().extend_from_slice(data);
        self.write_payload_after(h, offset, m).await
    }

    /// WRITE of the payload in `m`, a buffer from [`Connection::payload_buffer`] (the
    /// payload is not copied again). A server that says it wrote more than it was given
    /// breaks the protocol.
    pub(crate) async fn write_payload_after(
        &self,
        h: Handle,
        offset: u64,
        mut m: crate::proto::Outgoing,
    ) -> Result<u32> {
        let len = m.payload_len();
        m.fill_fixed(&msg::write_request_fixed(self.file_id(h)?, offset, len)?)?;
        let charge = self.conn().charge_for(len);
        let resp = self
            .conn()
            .request_out(Command::Write, self.session.id(), self.id, m, charge)
            .await?;
        resp.ok("WRITE")?;
        let n = msg::write_response(resp.bytes())?;
        if n as usize > len {
            return Err(Error::Protocol(format!(
                "a WRITE of {len} bytes answered with {n} written"
            )));
        }
        Ok(n)
    }

    /// Lists a directory over as many QUERY_DIRECTORY rounds as it takes, an open first and
    /// a CLOSE last (see [`Tree::list`] for one round trip). Each answer is at most
    /// [`Tree::LIST_OUTPUT`] bytes (or as many times that as the credits held allow, up to
    /// 1 MiB), and a listing at most [`Tree::LIST_MAX_ROUNDS`] rounds: a server that never
    /// says NO_MORE_FILES cannot grow it without bound.
    pub async fn list_rounds(&self, path: &str) -> Result<Vec<DirEntry>> {
        let h = self.open(path, OpenOptions::list()).await?;
        let (output, charge) = self.list_output(1);
        let mut out = Vec::new();
        let result = async {
            for round in 0..Self::LIST_MAX_ROUNDS {
                let resp = self
                    .req(
                        Command::QueryDirectory,
                        msg::query_directory_request(self.file_id(h)?, "*", round == 0, output)?,
                        charge,
                    )
                    .await?;
                if resp.header.status == NtStatus::NO_MORE_FILES {
                    return Ok(());
                }
                resp.ok("QUERY_DIRECTORY")?;
                let entries = msg::query_directory_response(resp.bytes(), output)?;
                out.extend(
                    entries
                        .into_iter()
                        .filter(|e| e.name != "." && e.name != ".."),
                );
            }
            Err(Error::Protocol(format!(
                "the listing of {path} did not end after {} rounds",
                Self::LIST_MAX_ROUNDS
            )))
        }
        .await;
        let closed = self.close(h).await;
        result?;
        closed?;
        Ok(out)
    }

    /// The output buffer size of one QUERY_DIRECTORY with one credit.
    pub const LIST_OUTPUT: u32 = 65536;
    /// The most QUERY_DIRECTORY rounds of one listing: 4096 rounds of 64 KiB, 256 MiB of
    /// entries (millions of names); a server that goes on past that is refused.
    pub const LIST_MAX_ROUNDS: usize = 4096;

    /// Size, times and attributes of `path`, in one round trip: CREATE + QUERY_INFO + CLOSE
    /// as a compound.
    pub async fn stat(&self, path: &str) -> Result<msg::FileInfo> {
        let info = self
            .query_by_path(path, Kind::Any, 1, msg::FILE_NETWORK_OPEN_INFORMATION, 56)
            .await?;
        msg::FileInfo::decode(&info)
    }

    /// The size and free space of the share's volume (QUERY_INFO FileFsFullSizeInformation
    /// on the share's root, as one CREATE + QUERY_INFO + CLOSE compound).
    pub async fn fs_size(&self) -> Result<msg::FsSize> {
        let info = self
            .query_by_path(
                "",
                Kind::Directory,
                2,
                msg::FILE_FS_FULL_SIZE_INFORMATION,
                32,
            )
            .await?;
        msg::FsSize::decode(&info)
    }

    /// Sets the size of `path` (truncates or extends).
    pub async fn truncate(&self, path: &str, size: u64) -> Result<()> {
        self.set_info(
            path,
            Access::GENERIC_WRITE,
            20,
            &msg::end_of_file_info(size),
        )
        .await
    }

    /// Sets the times of `path` (FILETIMEs; 0 leaves one unchanged).
    pub async fn set_times(
        &self,
        path: &str,
        created: u64,
        accessed: u64,
        written: u64,
        changed: u64,
    ) -> Result<()> {
        let data = msg::basic_info(created, accessed, written, changed);
        self.set_info(
            path,
            Access::WRITE_ATTRIBUTES | Access::READ_ATTRIBUTES,
            4,
            &data,
        )
        .await
    }

    /// Size, times and attributes of an open file (QUERY_INFO on its handle).
    pub async fn stat_handle(&self, h: Handle) -> Result<msg::FileInfo> {
        let resp = self
            .req(
                Command::QueryInfo,
                msg::query_info_request(self.file_id(h)?, msg::FILE_NETWORK_OPEN_INFORMATION, 56),
                1,
            )
            .await?;
        resp.ok("QUERY_INFO")?;
        msg::FileInfo::decode(&msg::query_info_response(resp.bytes(), 56)?)
    }

    /// Sets the times of an open file (FILETIMEs; 0 leaves one unchanged).
    pub async fn set_times_handle(
        &self,
        h: Handle,
        created: u64,
        accessed: u64,
        written: u64,
        changed: u64,
    ) -> Result<()> {
        let data = msg::basic_info(created, accessed, written, changed);
        self.set_info_handle(h, 4, &data, "SET_INFO (times)").await
    }

    /// Sets the size of an open file (truncates or extends).
    pub async fn set_end_of_file(&self, h: Handle, size: u64) -> Result<()> {
        self.set_info_handle(
            h,
            20,
            &msg::end_of_file_info(size),
            "SET_INFO (end of file)",
        )
        .await
    }

    /// SET_INFO (FILE `class`) on an open handle.
    async fn set_info_handle(
        &self,
        h: Handle,
        class: u8,
        data: &[u8],
        what: &'static str,
    ) -> Result<()> {
        self.req(
            Command::SetInfo,
            msg::set_info_request(self.file_id(h)?, class, data)?,
            1,
        )
        .await?
        .ok(what)
    }

    async fn set_info(&self, path: &str, access: Access, class: u8, data: &[u8]) -> Result<()> {
        let h = self.open(path, OpenOptions::new(access)).await?;
        let resp = match msg::set_info_request(self.file_id(h)?, class, data) {
            Ok(body) => self.req(Command::SetInfo, body, 1).await,
            Err(e) => Err(e),
        };
        let closed = self.close(h).await;
        resp?.ok("SET_INFO")?;
        closed
    }

    /// Waits up to `wait` for a change in the directory `path` (CHANGE_NOTIFY). Returns true
    /// if something changed; on time-out the request is cancelled (CANCEL), and false is
    /// returned once the server confirms with STATUS_CANCELLED.
    pub async fn wait_for_change(&self, path: &str, wait: std::time::Duration) -> Result<bool> {
        let h = self.open(path, OpenOptions::list()).await?;
        let resp = self
            .conn()
            .request_cancellable(
                Command::ChangeNotify,
                self.session.id(),
                self.id,
                msg::change_notify_request(self.file_id(h)?, 4096),
                wait,
            )
            .await;
        let closed = self.close(h).await;
        let resp = resp?;
        closed?;
        match resp.header.status {
            NtStatus::SUCCESS | NtStatus::NOTIFY_ENUM_DIR => Ok(true),
            NtStatus::CANCELLED => Ok(false),
            status => Err(Error::Status {
                command: "CHANGE_NOTIFY",
                status,
            }),
        }
    }

    /// Flushes a file's data to stable storage on the server.
    pub async fn flush(&self, h: Handle) -> Result<()> {
        self.req(Command::Flush, msg::flush_request(self.file_id(h)?), 1)
            .await?
            .ok("FLUSH")
    }

    /// Disconnects the tree.
    pub async fn disconnect(&self) -> Result<()> {
        self.req(Command::TreeDisconnect, msg::small_request(), 1)
            .await?
            .ok("TREE_DISCONNECT")
    }
}

/// The CREATE request body for `path` opened as `o` says.
pub(crate) fn create_body(path: &str, o: &OpenOptions) -> Result<Vec<u8>> {
    create_body_with(path, o, &msg::CreateContexts::default())
}

/// The CREATE request body for `path` opened as `o` says, with create contexts `ctx`.
pub(crate) fn create_body_with(
    path: &str,
    o: &OpenOptions,
    ctx: &msg::CreateContexts,
) -> Result<Vec<u8>> {
    msg::create_request_shared(
        &smb_path(path),
        o.access.bits(),
        o.share,
        o.disposition.value(),
        o.create_options(),
        ctx,
    )
}
