//! Whole-file transfers: streaming downloads and uploads with several READs or WRITEs in
//! flight, resumable, every answer's length checked (a short READ mid-file is read again,
//! never taken for the end of the file).

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::msg;
use crate::open::{Disposition, OpenOptions};
use crate::tree::Tree;

impl Tree {
    /// Reads a whole file into memory, with up to `window` reads in flight.
    pub async fn read_file(&self, path: &str, window: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.download(path, &mut out, window).await?;
        Ok(out)
    }

    /// Writes a whole file (created or truncated), with up to `window` writes in flight.
    pub async fn write_file(&self, path: &str, data: Arc<Vec<u8>>, window: usize) -> Result<()> {
        let h = self
            .open(
                path,
                OpenOptions::write().disposition(Disposition::OverwriteIf),
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
        let h = self.open(path, OpenOptions::read()).await?;
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
            // Each answer by its offset, with the end its READ asked for.
            type Ready = (Vec<u8>, std::ops::Range<usize>, u64);
            let mut ready: std::collections::BTreeMap<u64, Ready> =
                std::collections::BTreeMap::new();
            let write = |e: std::io::Error| Error::Io {
                target: "local output".into(),
                detail: e.to_string(),
            };
            while done < size {
                while next < size && set.len() + ready.len() < window.max(1) {
                    let t = self.clone();
                    let off = next;
                    let len = chunk.min(size - off) as u32;
                    set.spawn(
                        async move { t.read_in_frame(h, off, len).await.map(|d| (off, len, d)) },
                    );
                    next += u64::from(len);
                }
                let Some(joined) = set.join_next().await else {
                    break;
                };
                let (off, len, (frame, range)) =
                    joined.map_err(|e| Error::Protocol(format!("read task: {e}")))??;
                ready.insert(off, (frame, range, off + u64::from(len)));
                while let Some((mut frame, mut range, end)) = ready.remove(&done) {
                    // A short answer mid-file: the rest of its range is read again, until
                    // it is all there or the server says the file ended.
                    loop {
                        let data = frame.get(range.clone()).unwrap_or_default();
                        if data.is_empty() {
                            return Err(Error::Protocol(format!(
                                "the file ended at {done} bytes, not {size}"
                            )));
                        }
                        out.write_all(data).await.map_err(write)?;
                        done += data.len() as u64;
                        self.conn().recycle(frame);
                        if done >= end {
                            break;
                        }
                        (frame, range) = self.read_in_frame(h, done, (end - done) as u32).await?;
                    }
                }
            }
            if done != size {
                return Err(Error::Protocol(format!(
                    "the download of {path} stopped at {done} bytes, not {size}"
                )));
            }
            out.flush().await.map_err(write)?;
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
        self.upload_at(path, None, input, window, None).await
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
        self.upload_at(path, Some(offset), input, window, None)
            .await
    }

    /// [`upload_from`](Self::upload_from) (or [`upload`](Self::upload) when `offset` is
    /// None) that keeps `acked` at the end of the prefix of the file the server has
    /// acknowledged: when the connection drops mid-way, the upload can resume there (the
    /// writes in flight beyond it may or may not have landed; resuming writes them again).
    pub async fn upload_tracked<R: tokio::io::AsyncRead + Unpin>(
        &self,
        path: &str,
        offset: Option<u64>,
        input: &mut R,
        window: usize,
        acked: &std::sync::atomic::AtomicU64,
    ) -> Result<u64> {
        self.upload_at(path, offset, input, window, Some(acked))
            .await
    }

    async fn upload_at<R: tokio::io::AsyncRead + Unpin>(
        &self,
        path: &str,
        resume: Option<u64>,
        input: &mut R,
        window: usize,
        acked: Option<&std::sync::atomic::AtomicU64>,
    ) -> Result<u64> {
        use std::sync::atomic::Ordering;
        use tokio::io::AsyncReadExt;
        let disposition = if resume.is_some() {
            Disposition::Open
        } else {
            Disposition::OverwriteIf
        };
        let h = self
            .open(path, OpenOptions::write().disposition(disposition))
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
            // Writes acknowledged past the acknowledged prefix: their start → end.
            let mut landed = std::collections::BTreeMap::new();
            let mut prefix = start;
            if let Some(a) = acked {
                a.store(prefix, Ordering::Relaxed);
            }
            while !eof || !set.is_empty() {
                while !eof && set.len() < window.max(1) {
                    // Filled from the input without zeroing first, straight into the
                    // message that will carry it.
                    let mut buf = self.conn().payload_buffer(msg::WRITE_FIXED_LEN, chunk);
                    let mut filled = 0;
                    while filled < chunk {
                        let n = (&mut *input)
                            .take((chunk - filled) as u64)
                            .read_buf(buf.payload())
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
                        Ok((off, off + filled as u64))
                    });
                }
                match set.join_next().await {
                    Some(r) => {
                        let (from, to) =
                            r.map_err(|e| Error::Protocol(format!("write task: {e}")))??;
                        landed.insert(from, to);
                        while let Some(end) = landed.remove(&prefix) {
                            prefix = end;
                        }
                        if let Some(a) = acked {
                            a.store(prefix, Ordering::Relaxed);
                        }
                    }
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
}
