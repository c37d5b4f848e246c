//! Sessions (SESSION_SETUP with a pluggable GSS authenticator), trees and file operations.

use std::sync::Arc;

use zeroize::Zeroizing;

use crate::conn::{Connection, Response, SessionCrypto};
use crate::crypto::{self, AeadKey, Dialect, SigningAlgorithm};
use crate::error::{Error, Result};
use crate::msg::{
    self, Command, DirEntry, FileId, access, disposition, session_flags, share_flags,
};
use crate::status::NtStatus;

/// What SMB needs from an authentication mechanism (SPNEGO with Kerberos, in azkrb). smb3
/// defines it so that it does not depend on any Kerberos crate.
pub trait Authenticator: Send {
    /// The first token for SESSION_SETUP, given the server's NEGOTIATE security blob.
    fn initial_token(&mut self, negotiate_blob: &[u8]) -> Result<Vec<u8>>;
    /// Consumes the server's token (`complete` when the server said SUCCESS); returns the
    /// next token to send, if the exchange continues.
    fn next_token(&mut self, server_token: &[u8], complete: bool) -> Result<Option<Vec<u8>>>;
    /// The full session key (all of the GSS key) once authentication completed.
    fn session_key(&self) -> Option<Zeroizing<Vec<u8>>>;
}

/// Client-side security requirements.
#[derive(Debug, Clone, Copy, Default)]
pub struct Security {
    /// Refuse a session the server does not encrypt (Azure's maximum-security profile does).
    pub require_encryption: bool,
    /// Encrypt even if the server does not ask for it (needs a negotiated cipher).
    pub always_encrypt: bool,
}

/// An authenticated session.
#[derive(Debug, Clone)]
pub struct Session {
    conn: Connection,
    id: u64,
    /// True if the session's messages are encrypted.
    pub encrypted: bool,
}

/// The final SESSION_SETUP response of a setup or re-authentication: a guest or anonymous
/// session is refused (`what` names it in the message), and the mechanism must accept the
/// server's last token without wanting to send more. Returns the SessionFlags.
fn finish(final_resp: &Response, auth: &mut dyn Authenticator, what: &str) -> Result<u16> {
    let (flags, server_token) = msg::session_setup_response(final_resp.bytes())?;
    if flags & (session_flags::IS_GUEST | session_flags::IS_NULL) != 0 {
        return Err(Error::Auth(format!(
            "the server made {what} session a guest or anonymous one"
        )));
    }
    if auth.next_token(&server_token, true)?.is_some() {
        return Err(Error::Auth(
            "the mechanism wants to send more after the server finished".into(),
        ));
    }
    Ok(flags)
}

fn ok(command: &'static str, resp: &Response) -> Result<()> {
    if resp.header.status == NtStatus::SUCCESS {
        Ok(())
    } else {
        Err(Error::Status {
            command,
            status: resp.header.status,
        })
    }
}

impl Session {
    /// Authenticates on `conn` with `auth`.
    pub async fn setup(
        conn: &Connection,
        auth: &mut dyn Authenticator,
        security: Security,
    ) -> Result<Self> {
        let neg = Arc::clone(&conn.negotiated);
        let mut preauth = conn.preauth.clone();
        let mut token = auth.initial_token(&neg.security_blob)?;
        let mut session_id = 0u64;
        let final_resp = loop {
            let resp = conn
                .request(
                    Command::SessionSetup,
                    session_id,
                    0,
                    msg::session_setup_request(&token),
                    1,
                )
                .await?;
            preauth.update(&resp.sent);
            session_id = resp.header.session_id;
            match resp.header.status {
                NtStatus::MORE_PROCESSING_REQUIRED => {
                    preauth.update(resp.bytes());
                    let (_, server_token) = msg::session_setup_response(resp.bytes())?;
                    token = auth.next_token(&server_token, false)?.ok_or_else(|| {
                        Error::Auth(
                            "the server wants more, the mechanism has nothing to send".into(),
                        )
                    })?;
                }
                NtStatus::SUCCESS => break resp,
                NtStatus::ACCESS_DENIED
                    if neg.cipher.is_none() && neg.dialect == Dialect::Smb311 =>
                {
                    return Err(Error::Unsupported(
                        "the server refused the session (STATUS_ACCESS_DENIED) and no cipher was negotiated: \
                         it most likely requires encryption; offer AES-256-GCM or AES-128-GCM"
                            .into(),
                    ));
                }
                status => {
                    return Err(Error::Status {
                        command: "SESSION_SETUP",
                        status,
                    });
                }
            }
        };
        let flags = finish(&final_resp, auth, "this")?;
        let key = auth
            .session_key()
            .ok_or_else(|| Error::Auth("authentication finished without a session key".into()))?;
        let dialect = neg.dialect;
        let cipher = match dialect {
            Dialect::Smb311 => neg.cipher,
            Dialect::Smb30 | Dialect::Smb302 => Some(crypto::Cipher::Aes128Ccm),
            _ => None,
        };
        let keys = crypto::derive_keys(
            dialect,
            cipher,
            &key,
            (dialect == Dialect::Smb311).then_some(&preauth.0),
        )?;
        let signing = match dialect {
            Dialect::Smb311 => neg.signing.unwrap_or(SigningAlgorithm::AesCmac),
            d if d.is_smb3() => SigningAlgorithm::AesCmac,
            _ => SigningAlgorithm::HmacSha256,
        };
        // The final 3.1.1 SESSION_SETUP response must be signed, and is verified.
        let signed = final_resp.header.flags & msg::flags::SIGNED != 0;
        if dialect == Dialect::Smb311 && !signed && !final_resp.encrypted {
            return Err(Error::Protocol(
                "the final SMB 3.1.1 SESSION_SETUP response is not signed".into(),
            ));
        }
        if signed {
            crypto::verify(signing, &keys.signing, final_resp.bytes(), true)?;
        }
        let server_encrypts = flags & session_flags::ENCRYPT_DATA != 0;
        let encrypt = (server_encrypts || security.always_encrypt) && cipher.is_some();
        if security.require_encryption && !encrypt {
            return Err(Error::Unsupported(format!(
                "encryption is required but the server negotiated {} without it",
                dialect
            )));
        }
        if server_encrypts && cipher.is_none() {
            return Err(Error::Unsupported(
                "the server requires encryption but no cipher was negotiated".into(),
            ));
        }
        let (enc, dec) = match cipher {
            Some(c) if encrypt => (
                Some(AeadKey::new(c, &keys.encryption)?),
                Some(AeadKey::new(c, &keys.decryption)?),
            ),
            _ => (None, None),
        };
        conn.add_session(
            session_id,
            SessionCrypto {
                signing,
                signing_key: keys.signing.clone(),
                encrypt,
                enc,
                dec,
            },
        );
        Ok(Self {
            conn: conn.clone(),
            id: session_id,
            encrypted: encrypt,
        })
    }

    /// Re-authenticates this session with a fresh ticket (MS-SMB2 3.2.4.2.3): SESSION_SETUP
    /// on the session's id, protected like any of its requests, so that the server extends
    /// (or, after STATUS_NETWORK_SESSION_EXPIRED, revives) the session. Keys, trees and open
    /// handles stay as they are; the server must see the same user.
    pub async fn reauthenticate(&self, auth: &mut dyn Authenticator) -> Result<()> {
        let neg = Arc::clone(&self.conn.negotiated);
        let mut token = auth.initial_token(&neg.security_blob)?;
        let final_resp = loop {
            let resp = self
                .req(Command::SessionSetup, msg::session_setup_request(&token))
                .await?;
            if resp.header.session_id != self.id {
                return Err(Error::Protocol(format!(
                    "re-authentication answered for session {:#x}, not {:#x}",
                    resp.header.session_id, self.id
                )));
            }
            // Every answer of an encrypted session comes encrypted (the connection layer
            // lets SESSION_SETUP answers through for the first authentication only).
            if self.encrypted && !resp.encrypted {
                return Err(Error::Protocol(
                    "an unencrypted re-authentication answer in an encrypted session".into(),
                ));
            }
            match resp.header.status {
                NtStatus::MORE_PROCESSING_REQUIRED => {
                    let (_, server_token) = msg::session_setup_response(resp.bytes())?;
                    token = auth.next_token(&server_token, false)?.ok_or_else(|| {
                        Error::Auth(
                            "the server wants more, the mechanism has nothing to send".into(),
                        )
                    })?;
                }
                NtStatus::SUCCESS => break resp,
                status => {
                    return Err(Error::Status {
                        command: "SESSION_SETUP (re-authentication)",
                        status,
                    });
                }
            }
        };
        // Not encrypted: then it must carry the session's signature.
        if !final_resp.encrypted {
            let s = self
                .conn
                .session(self.id)
                .ok_or_else(|| Error::Protocol("the session is gone".into()))?;
            if final_resp.header.flags & msg::flags::SIGNED == 0 {
                return Err(Error::Protocol(
                    "the re-authentication response is not signed".into(),
                ));
            }
            crypto::verify(s.signing, &s.signing_key, final_resp.bytes(), true)?;
        }
        finish(&final_resp, auth, "the re-authenticated").map(drop)
    }

    /// The session id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A one-credit request of this session, outside any tree.
    async fn req(&self, command: Command, body: Vec<u8>) -> Result<Response> {
        self.conn.request(command, self.id, 0, body, 1).await
    }

    /// Connects to `\\server\share`.
    pub async fn tree_connect(&self, server: &str, share: &str) -> Result<Tree> {
        let path = format!("\\\\{server}\\{share}");
        let resp = self
            .req(Command::TreeConnect, msg::tree_connect_request(&path))
            .await?;
        ok("TREE_CONNECT", &resp)?;
        let (_, flags, _) = msg::tree_connect_response(resp.bytes())?;
        if flags & share_flags::ENCRYPT_DATA != 0 && !self.encrypted {
            return Err(Error::Unsupported(format!(
                "share {share} requires encryption, which this session does not use"
            )));
        }
        Ok(Tree {
            session: self.clone(),
            id: resp.header.tree_id(),
            share: share.to_string(),
        })
    }

    /// Ends the session.
    pub async fn logoff(&self) -> Result<()> {
        let resp = self.req(Command::Logoff, msg::small_request()).await?;
        ok("LOGOFF", &resp)
    }
}

/// A connected share.
#[derive(Debug, Clone)]
pub struct Tree {
    session: Session,
    id: u32,
    share: String,
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
    /// The file id.
    pub id: FileId,
    /// Size when opened.
    pub size: u64,
    /// Attributes when opened.
    pub attributes: u32,
    /// Times, sizes and attributes when opened.
    pub info: msg::FileInfo,
}

/// Windows paths use backslashes and no leading separator.
pub fn smb_path(path: &str) -> String {
    path.trim_matches(|c| c == '/' || c == '\\')
        .replace('/', "\\")
}

impl Tree {
    /// The share name.
    pub fn share(&self) -> &str {
        &self.share
    }

    /// The session the tree belongs to.
    pub fn session(&self) -> &Session {
        &self.session
    }

    async fn req(&self, command: Command, body: Vec<u8>, charge: u16) -> Result<Response> {
        self.session
            .conn
            .request(command, self.session.id, self.id, body, charge)
            .await
    }

    /// Opens (or creates) `path`.
    pub async fn create(
        &self,
        path: &str,
        access: u32,
        disposition: u32,
        options: u32,
    ) -> Result<Handle> {
        let resp = self
            .req(
                Command::Create,
                msg::create_request(&smb_path(path), access, disposition, options),
                1,
            )
            .await?;
        ok("CREATE", &resp)?;
        let c = msg::create_response(resp.bytes())?;
        Ok(Handle {
            id: c.file_id,
            size: c.size,
            attributes: c.attributes,
            info: c.info,
        })
    }

    /// Closes a handle.
    pub async fn close(&self, h: Handle) -> Result<()> {
        let resp = self
            .req(Command::Close, msg::close_request(h.id), 1)
            .await?;
        ok("CLOSE", &resp)
    }

    /// The largest single read or write, from NEGOTIATE (never more than 1 MiB per request).
    fn chunk(&self, write: bool) -> usize {
        let neg = &self.session.conn.negotiated;
        let max = if write { neg.max_write } else { neg.max_read } as usize;
        max.min(1 << 20)
    }

    /// Reads `len` bytes at `offset` (fewer at end of file).
    pub async fn read_at(&self, h: Handle, offset: u64, len: u32) -> Result<Vec<u8>> {
        Ok(self.read_chunk(h, offset, len).await?.to_vec())
    }

    /// Reads up to `len` bytes at `offset` (fewer at end of file, none past it), leaving
    /// them in the buffer they arrived in: no copy is made, and the buffer goes back to the
    /// connection for the next message when the [`ReadData`] is dropped.
    pub async fn read_chunk(&self, h: Handle, offset: u64, len: u32) -> Result<ReadData> {
        let (frame, range) = self.read_in_frame(h, offset, len).await?;
        Ok(ReadData {
            frame,
            range,
            conn: self.session.conn.clone(),
        })
    }

    /// READ, leaving the data where it arrived: the frame and the data's range in it
    /// (empty at end of file). The streaming paths write from here without a copy.
    async fn read_in_frame(
        &self,
        h: Handle,
        offset: u64,
        len: u32,
    ) -> Result<(Vec<u8>, std::ops::Range<usize>)> {
        let charge = self.session.conn.charge_for(len as usize);
        let resp = self
            .req(Command::Read, msg::read_request(h.id, offset, len), charge)
            .await?;
        if resp.header.status == NtStatus::END_OF_FILE {
            return Ok((Vec::new(), 0..0));
        }
        ok("READ", &resp)?;
        let range = msg::read_response(resp.bytes())?;
        let (frame, at) = resp.into_frame();
        Ok((frame, at.start + range.start..at.start + range.end))
    }

    /// Writes `data` at `offset`.
    pub async fn write_at(&self, h: Handle, offset: u64, data: &[u8]) -> Result<u32> {
        // The payload goes straight into the (then encrypted in place) message: one copy.
        let mut m = self
            .session
            .conn
            .payload_buffer(msg::WRITE_FIXED_LEN, data.len());
        m.buf.extend_from_slice(data);
        self.write_payload_after(h, offset, m).await
    }

    /// WRITE of the payload in `m`, a buffer from [`Connection::payload_buffer`] (the
    /// payload is not copied again).
    async fn write_payload_after(
        &self,
        h: Handle,
        offset: u64,
        m: crate::conn::PayloadBuf,
    ) -> Result<u32> {
        let len = m.payload_len().unwrap_or(0);
        let charge = self.session.conn.charge_for(len);
        let resp = self
            .session
            .conn
            .request_with_payload_after(
                Command::Write,
                self.session.id,
                self.id,
                &msg::write_request_fixed(h.id, offset, len),
                m,
                charge,
            )
            .await?;
        ok("WRITE", &resp)?;
        msg::write_response(resp.bytes())
    }

    /// Reads a whole file into memory, with up to `window` reads in flight.
    pub async fn read_file(&self, path: &str, window: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.download(path, &mut out, window).await?;
        Ok(out)
    }

    /// Writes a whole file (created or truncated), with up to `window` writes in flight.
    pub async fn write_file(&self, path: &str, data: Arc<Vec<u8>>, window: usize) -> Result<()> {
        let h = self
            .create(
                path,
                access::WRITE | access::READ,
                disposition::OVERWRITE_IF,
                access::NON_DIRECTORY_FILE,
            )
            .await?;
        let chunk = self.chunk(true);
        let mut set = tokio::task::JoinSet::new();
        let mut next = 0usize;
        let mut err = None;
        while next < data.len() || !set.is_empty() {
            while next < data.len() && set.len() < window.max(1) {
                let t = self.clone();
                let d = Arc::clone(&data);
                let off = next;
                let end = (off + chunk).min(d.len());
                set.spawn(async move {
                    let n = t.write_at(h, off as u64, &d[off..end]).await?;
                    if n as usize != end - off {
                        return Err(Error::Protocol(format!(
                            "short write: {n} of {} bytes",
                            end - off
                        )));
                    }
                    Ok(())
                });
                next = end;
            }
            match set.join_next().await {
                Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => {
                    err = Some(e);
                    break;
                }
                Some(Err(e)) => {
                    err = Some(Error::Protocol(format!("write task: {e}")));
                    break;
                }
                None => break,
            }
        }
        let closed = self.close(h).await;
        if let Some(e) = err {
            return Err(e);
        }
        closed
    }

    /// Streams `path` into `out`, with up to `window` reads of up to 1 MiB in flight: memory
    /// stays near `window` chunks whatever the file size. Returns the byte count.
    pub async fn download<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        path: &str,
        out: &mut W,
        window: usize,
    ) -> Result<u64> {
        self.download_from(path, 0, out, window).await
    }

    /// [`download`](Self::download) from byte `offset` on (to resume a transfer): `out`
    /// receives the file's bytes from `offset` to its end. Returns the byte count written.
    /// An `offset` past the end of the file is an [`Error::InvalidArgument`].
    pub async fn download_from<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        path: &str,
        offset: u64,
        out: &mut W,
        window: usize,
    ) -> Result<u64> {
        use tokio::io::AsyncWriteExt;
        let h = self
            .create(
                path,
                access::READ,
                disposition::OPEN,
                access::NON_DIRECTORY_FILE,
            )
            .await?;
        let result = async {
            let size = h.size;
            if offset > size {
                return Err(Error::InvalidArgument(format!(
                    "cannot resume {path} at byte {offset}: it has {size} bytes"
                )));
            }
            let chunk = self.chunk(false) as u64;
            let mut set = tokio::task::JoinSet::new();
            let mut next = offset;
            let mut done = offset;
            let mut ready: std::collections::BTreeMap<u64, (Vec<u8>, std::ops::Range<usize>)> =
                std::collections::BTreeMap::new();
            while done < size {
                while next < size && set.len() + ready.len() < window.max(1) {
                    let t = self.clone();
                    let off = next;
                    let len = chunk.min(size - off) as u32;
                    set.spawn(async move { t.read_in_frame(h, off, len).await.map(|d| (off, d)) });
                    next += u64::from(len);
                }
                let Some(joined) = set.join_next().await else {
                    break;
                };
                let (off, data) =
                    joined.map_err(|e| Error::Protocol(format!("read task: {e}")))??;
                ready.insert(off, data);
                while let Some((frame, range)) = ready.remove(&done) {
                    let data = frame.get(range).unwrap_or_default();
                    if data.is_empty() {
                        return Err(Error::Protocol(format!(
                            "the file ended at {done} bytes, not {size}"
                        )));
                    }
                    out.write_all(data).await.map_err(|e| Error::Io {
                        target: "local output".into(),
                        detail: e.to_string(),
                    })?;
                    done += data.len() as u64;
                    self.session.conn.recycle(frame);
                }
            }
            out.flush().await.map_err(|e| Error::Io {
                target: "local output".into(),
                detail: e.to_string(),
            })?;
            Ok(done - offset)
        }
        .await;
        let closed = self.close(h).await;
        let n = result?;
        closed?;
        Ok(n)
    }

    /// Streams `input` into `path` (created or truncated), with up to `window` writes of up
    /// to 1 MiB in flight. Returns the byte count.
    pub async fn upload<R: tokio::io::AsyncRead + Unpin>(
        &self,
        path: &str,
        input: &mut R,
        window: usize,
    ) -> Result<u64> {
        self.upload_at(path, None, input, window).await
    }

    /// Resumes an upload: `input` (positioned by the caller at byte `offset` of its source)
    /// is written into the existing `path` from `offset` on, and the file is cut at the end
    /// of the input. Returns the byte count written. An `offset` past the remote file's end
    /// is an [`Error::InvalidArgument`].
    pub async fn upload_from<R: tokio::io::AsyncRead + Unpin>(
        &self,
        path: &str,
        offset: u64,
        input: &mut R,
        window: usize,
    ) -> Result<u64> {
        self.upload_at(path, Some(offset), input, window).await
    }

    async fn upload_at<R: tokio::io::AsyncRead + Unpin>(
        &self,
        path: &str,
        resume: Option<u64>,
        input: &mut R,
        window: usize,
    ) -> Result<u64> {
        use tokio::io::AsyncReadExt;
        let h = self
            .create(
                path,
                access::WRITE | access::READ,
                if resume.is_some() {
                    disposition::OPEN
                } else {
                    disposition::OVERWRITE_IF
                },
                access::NON_DIRECTORY_FILE,
            )
            .await?;
        let start = resume.unwrap_or(0);
        let chunk = self.chunk(true);
        let result = async {
            if start > h.size {
                return Err(Error::InvalidArgument(format!(
                    "cannot resume {path} at byte {start}: it has {} bytes",
                    h.size
                )));
            }
            let mut set = tokio::task::JoinSet::new();
            let mut offset = start;
            let mut eof = false;
            while !eof || !set.is_empty() {
                while !eof && set.len() < window.max(1) {
                    // Filled from the input without zeroing first, straight into the
                    // message that will carry it.
                    let mut buf = self
                        .session
                        .conn
                        .payload_buffer(msg::WRITE_FIXED_LEN, chunk);
                    let mut filled = 0;
                    while filled < chunk {
                        let n = (&mut *input)
                            .take((chunk - filled) as u64)
                            .read_buf(&mut buf.buf)
                            .await
                            .map_err(|e| Error::Io {
                                target: "local input".into(),
                                detail: e.to_string(),
                            })?;
                        if n == 0 {
                            eof = true;
                            break;
                        }
                        filled += n;
                    }
                    if filled == 0 {
                        break;
                    }
                    let t = self.clone();
                    let off = offset;
                    offset += filled as u64;
                    set.spawn(async move {
                        let n = t.write_payload_after(h, off, buf).await?;
                        if n as usize != filled {
                            return Err(Error::Protocol(format!(
                                "short write: {n} of {filled} bytes"
                            )));
                        }
                        Ok(())
                    });
                }
                match set.join_next().await {
                    Some(r) => r.map_err(|e| Error::Protocol(format!("write task: {e}")))??,
                    None => break,
                }
            }
            // A resumed file ends where the input does (it may have been longer).
            if resume.is_some() && offset < h.size {
                self.set_end_of_file(h, offset).await?;
            }
            Ok(offset - start)
        }
        .await;
        let closed = self.close(h).await;
        let n = result?;
        closed?;
        Ok(n)
    }

    /// Lists a directory (every entry, over as many QUERY_DIRECTORY rounds as it takes).
    pub async fn list(&self, path: &str) -> Result<Vec<DirEntry>> {
        let h = self
            .create(
                path,
                access::LIST,
                disposition::OPEN,
                access::DIRECTORY_FILE,
            )
            .await?;
        let mut out = Vec::new();
        let mut first = true;
        let result = loop {
            let resp = self
                .req(
                    Command::QueryDirectory,
                    msg::query_directory_request(h.id, "*", first, 65536),
                    1,
                )
                .await;
            first = false;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => break Err(e),
            };
            if resp.header.status == NtStatus::NO_MORE_FILES {
                break Ok(());
            }
            if let Err(e) = ok("QUERY_DIRECTORY", &resp) {
                break Err(e);
            }
            match msg::query_directory_response(resp.bytes()) {
                Ok(entries) => out.extend(
                    entries
                        .into_iter()
                        .filter(|e| e.name != "." && e.name != ".."),
                ),
                Err(e) => break Err(e),
            }
        };
        let closed = self.close(h).await;
        result?;
        closed?;
        Ok(out)
    }

    /// Creates a directory.
    pub async fn mkdir(&self, path: &str) -> Result<()> {
        let h = self
            .create(
                path,
                access::LIST,
                disposition::CREATE,
                access::DIRECTORY_FILE,
            )
            .await?;
        self.close(h).await
    }

    /// Deletes a file (or, with `dir`, an empty directory). Uses FileDispositionInformation
    /// so that a refusal (a non-empty directory, a file in use) is reported, where
    /// delete-on-close would fail silently at CLOSE.
    pub async fn remove(&self, path: &str, dir: bool) -> Result<()> {
        let options = if dir {
            access::DIRECTORY_FILE
        } else {
            access::NON_DIRECTORY_FILE
        };
        let h = self
            .create(
                path,
                access::DELETE | access::READ_ATTRIBUTES,
                disposition::OPEN,
                options,
            )
            .await?;
        let resp = self
            .req(Command::SetInfo, msg::set_info_request(h.id, 13, &[1]), 1)
            .await;
        let closed = self.close(h).await;
        ok("SET_INFO (delete)", &resp?)?;
        closed
    }

    /// Renames `from` to `to` (paths within the share).
    pub async fn rename(&self, from: &str, to: &str, replace: bool) -> Result<()> {
        let h = self
            .create(
                from,
                access::DELETE | access::READ_ATTRIBUTES,
                disposition::OPEN,
                0,
            )
            .await?;
        let resp = self
            .req(
                Command::SetInfo,
                msg::set_info_request(h.id, 10, &msg::rename_info(&smb_path(to), replace)),
                1,
            )
            .await;
        let closed = self.close(h).await;
        ok("SET_INFO (rename)", &resp?)?;
        closed
    }

    /// Size, times and attributes of `path`, in one round trip: CREATE + QUERY_INFO + CLOSE
    /// as a compound.
    pub async fn stat(&self, path: &str) -> Result<msg::FileInfo> {
        let info = self
            .query_by_path(path, 0, 1, msg::FILE_NETWORK_OPEN_INFORMATION, 56)
            .await?;
        msg::FileInfo::decode(&info)
    }

    /// The size and free space of the share's volume (QUERY_INFO FileFsFullSizeInformation
    /// on the share's root, as one CREATE + QUERY_INFO + CLOSE compound).
    pub async fn fs_size(&self) -> Result<msg::FsSize> {
        let info = self
            .query_by_path(
                "",
                access::DIRECTORY_FILE,
                2,
                msg::FILE_FS_FULL_SIZE_INFORMATION,
                32,
            )
            .await?;
        msg::FsSize::decode(&info)
    }

    /// QUERY_INFO (`info_type`, `class`) of `path` without keeping it open: CREATE (with
    /// `options`) + QUERY_INFO + CLOSE as one compound, signed or encrypted as one message.
    async fn query_by_path(
        &self,
        path: &str,
        options: u32,
        info_type: u8,
        class: u8,
        output_len: u32,
    ) -> Result<Vec<u8>> {
        let requests = vec![
            (
                Command::Create,
                msg::create_request(
                    &smb_path(path),
                    access::READ_ATTRIBUTES,
                    disposition::OPEN,
                    options,
                ),
            ),
            (
                Command::QueryInfo,
                msg::query_info_request_of(info_type, msg::RELATED_FILE_ID, class, output_len),
            ),
            (Command::Close, msg::close_request(msg::RELATED_FILE_ID)),
        ];
        let replies = self
            .session
            .conn
            .compound(self.session.id, self.id, requests)
            .await?;
        let [create, query, close] = replies.as_slice() else {
            return Err(Error::Protocol(
                "the compound did not return three responses".into(),
            ));
        };
        ok("CREATE", create)?;
        ok("QUERY_INFO", query)?;
        ok("CLOSE", close)?;
        msg::query_info_response(query.bytes())
    }

    /// Sets the size of `path` (truncates or extends).
    pub async fn truncate(&self, path: &str, size: u64) -> Result<()> {
        self.set_info(path, access::WRITE, 20, &msg::end_of_file_info(size))
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
        // FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES.
        self.set_info(path, 0x100 | access::READ_ATTRIBUTES, 4, &data)
            .await
    }

    /// Size, times and attributes of an open file (QUERY_INFO on its handle).
    pub async fn stat_handle(&self, h: Handle) -> Result<msg::FileInfo> {
        let resp = self
            .req(
                Command::QueryInfo,
                msg::query_info_request(h.id, msg::FILE_NETWORK_OPEN_INFORMATION, 56),
                1,
            )
            .await?;
        ok("QUERY_INFO", &resp)?;
        msg::FileInfo::decode(&msg::query_info_response(resp.bytes())?)
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
        let resp = self
            .req(Command::SetInfo, msg::set_info_request(h.id, 4, &data), 1)
            .await?;
        ok("SET_INFO (times)", &resp)
    }

    /// Sets the size of an open file (truncates or extends).
    pub async fn set_end_of_file(&self, h: Handle, size: u64) -> Result<()> {
        let resp = self
            .req(
                Command::SetInfo,
                msg::set_info_request(h.id, 20, &msg::end_of_file_info(size)),
                1,
            )
            .await?;
        ok("SET_INFO (end of file)", &resp)
    }

    async fn set_info(&self, path: &str, desired: u32, class: u8, data: &[u8]) -> Result<()> {
        let h = self.create(path, desired, disposition::OPEN, 0).await?;
        let resp = self
            .req(
                Command::SetInfo,
                msg::set_info_request(h.id, class, data),
                1,
            )
            .await;
        let closed = self.close(h).await;
        ok("SET_INFO", &resp?)?;
        closed
    }

    /// Waits up to `wait` for a change in the directory `path` (CHANGE_NOTIFY). Returns true
    /// if something changed; on time-out the request is cancelled (CANCEL), and false is
    /// returned once the server confirms with STATUS_CANCELLED.
    pub async fn wait_for_change(&self, path: &str, wait: std::time::Duration) -> Result<bool> {
        let h = self
            .create(
                path,
                access::LIST,
                disposition::OPEN,
                access::DIRECTORY_FILE,
            )
            .await?;
        let resp = self
            .session
            .conn
            .request_cancellable(
                Command::ChangeNotify,
                self.session.id,
                self.id,
                msg::change_notify_request(h.id, 4096),
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
        let resp = self
            .req(Command::Flush, msg::flush_request(h.id), 1)
            .await?;
        ok("FLUSH", &resp)
    }

    /// Disconnects the tree.
    pub async fn disconnect(&self) -> Result<()> {
        let resp = self
            .req(Command::TreeDisconnect, msg::small_request(), 1)
            .await?;
        ok("TREE_DISCONNECT", &resp)
    }
}
