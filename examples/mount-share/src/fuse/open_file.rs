//! An open file: its SMB handle, writes gathered and in flight, blocks read and read ahead;
//! and the tasks that send a range of writes or fetch a range of reads.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use azkrb::Share;
use azkrb::smb3::msg::FileInfo;
use azkrb::smb3::{Error as SmbError, Handle, ReadData};
use fuser::Errno;
use tokio::task::JoinHandle;

use azkrb::Error;

use super::convert::lock;
use super::{BLOCK, SmbFs};

/// Gathered writes sent and not yet answered, per open file.
pub(super) const WRITES_IN_FLIGHT: usize = 4;

/// An open file, by inode.
pub(super) struct Open {
    pub(super) ino: u64,
    /// Opened for writing (FLUSH needs that).
    pub(super) writable: bool,
    pub(super) state: Mutex<OpenFile>,
}

/// An open file's SMB handle, the writes gathered but not yet sent, the writes sent and not
/// yet answered, the last block read and the next one being read ahead, and an error from
/// sending writes not yet reported to the writer.
pub(super) struct OpenFile {
    /// The SMB handle; none for a small file opened to read, read whole at the open (its
    /// bytes are `cached`, the server's handle already closed).
    pub(super) handle: Option<Handle>,
    /// The file's attributes as this handle last learnt them (at the open, or with the
    /// last write) and when, while nothing was written through it since. A file read
    /// whole at the open answers fstat with these whatever their age (what it reads is as
    /// old); an open handle, while they are fresh (see `listing::ATTR_CACHE`).
    pub(super) attrs: Option<(FileInfo, Instant)>,
    /// Read whole at the open, and written here since: read from the server again.
    pub(super) reopen: bool,
    pub(super) pending: Option<(u64, Vec<u8>)>,
    pub(super) inflight: VecDeque<InFlight>,
    pub(super) cached: Option<Block>,
    pub(super) ahead: Option<(u64, JoinHandle<Result<Block, Error>>)>,
    /// Reads ahead whose bytes are stale but which may still be running: waited for before
    /// the handle is closed (never aborted: a request cut off half-sent would break the
    /// connection).
    pub(super) stale: Vec<JoinHandle<Result<Block, Error>>>,
    pub(super) failed: Option<Errno>,
}

/// A write on its way: the byte range, and the task sending it.
pub(super) struct InFlight {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) task: JoinHandle<Result<(), Error>>,
}

impl OpenFile {
    /// Cached and read-ahead bytes, and the attributes kept, are stale (a write, a
    /// truncate). A file read whole at the open reads from the server from now on.
    pub(super) fn forget_reads(&mut self) {
        if self.handle.is_none() {
            // Read whole at the open: the next read opens the file again (and keeps these
            // bytes if it is gone meanwhile).
            self.reopen = true;
            return;
        }
        self.cached = None;
        self.attrs = None;
        if let Some((_, task)) = self.ahead.take() {
            self.stale.retain(|t| !t.is_finished());
            self.stale.push(task);
        }
    }
}

/// Bytes read from `at`; `eof` when the server had no more.
pub(super) struct Block {
    pub(super) at: u64,
    pub(super) data: Bytes,
    pub(super) eof: bool,
}

/// A block's bytes: as one READ response brought them (no copy; the message buffer goes
/// back to the connection when the block is dropped), or gathered from several.
pub(super) enum Bytes {
    Read(ReadData),
    Owned(Vec<u8>),
    /// A kept file's (see `leased`).
    Shared(std::sync::Arc<Vec<u8>>),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Read(r) => r,
            Bytes::Owned(v) => v,
            Bytes::Shared(v) => v,
        }
    }
}

impl Block {
    /// `want` bytes at `offset`, if this block holds them (or all there is, at end of file).
    pub(super) fn serve(&self, offset: u64, want: usize) -> Option<&[u8]> {
        let start = usize::try_from(offset.checked_sub(self.at)?).ok()?;
        if start > self.data.len() {
            return None;
        }
        let end = start.saturating_add(want);
        if end <= self.data.len() {
            Some(&self.data[start..end])
        } else if self.eof {
            Some(&self.data[start..])
        } else {
            None
        }
    }
}

impl SmbFs {
    /// Starts sending the writes gathered for one open file (up to WRITES_IN_FLIGHT at once;
    /// an overlapping one waits for those before it, so writes land in order). A failure of
    /// an earlier write that had to be waited for is returned, and kept for the writer.
    pub(super) fn send_pending(&self, f: &mut OpenFile) -> Result<(), Errno> {
        let Some((offset, data)) = f.pending.take() else {
            return Ok(());
        };
        // Only a handle opened to write gathers writes.
        let Some(handle) = f.handle else {
            return Err(Errno::EBADF);
        };
        let end = offset + data.len() as u64;
        let overlaps = f.inflight.iter().any(|w| w.start < end && offset < w.end);
        let result = self.wait_writes(f, if overlaps { 0 } else { WRITES_IN_FLIGHT - 1 });
        // Sent even after an earlier write failed: these bytes were accepted already.
        let task = self.rt.spawn(write_range(
            self.share.clone(),
            handle,
            offset,
            data,
            BLOCK.min(self.max_io(true)),
        ));
        f.inflight.push_back(InFlight {
            start: offset,
            end,
            task,
        });
        result
    }

    /// Waits until at most `keep` writes are in flight; the first failure is kept for the
    /// writer and returned.
    pub(super) fn wait_writes(&self, f: &mut OpenFile, keep: usize) -> Result<(), Errno> {
        let mut result = Ok(());
        while f.inflight.len() > keep {
            let Some(w) = f.inflight.pop_front() else {
                break;
            };
            let outcome = match self.rt.block_on(w.task) {
                Ok(r) => r,
                Err(e) => Err(Error::Smb(SmbError::Protocol(format!("write task: {e}")))),
            };
            if let Err(e) = outcome {
                let n = self.fail("write", "", &e);
                f.failed.get_or_insert(n);
                if result.is_ok() {
                    result = Err(n);
                }
            }
        }
        result
    }

    /// Sends everything gathered and waits for every write of this open file.
    pub(super) fn drain(&self, f: &mut OpenFile) -> Result<(), Errno> {
        let sent = self.send_pending(f);
        sent.and(self.wait_writes(f, 0))
    }

    /// The writer's unreported error, if any (reported once).
    pub(super) fn take_failure(f: &mut OpenFile) -> Result<(), Errno> {
        match f.failed.take() {
            Some(n) => Err(n),
            None => Ok(()),
        }
    }

    /// Sends the writes gathered for `f` and waits for them; when the last one fits in one
    /// WRITE and nothing else is on its way, it goes with a QUERY_INFO in one round trip,
    /// and the attributes after it are returned (and kept in `f`). A failure is kept for
    /// the writer, as [`drain`](Self::drain) does.
    pub(super) fn finish_writes(&self, f: &mut OpenFile) -> Option<FileInfo> {
        let one_write = f.inflight.is_empty()
            && f.failed.is_none()
            && f.pending
                .as_ref()
                .is_some_and(|(_, d)| d.len() <= self.max_io(true));
        let (Some(h), true) = (f.handle, one_write) else {
            let _ = self.drain(f);
            return None;
        };
        let (offset, data) = f.pending.take()?;
        let sent = self.rt.block_on(self.share.run(|t| {
            let data = &data;
            async move { t.write_and_stat(h, offset, data).await }
        }));
        match sent {
            Ok((n, info)) if n as usize == data.len() => {
                f.attrs = Some((info, Instant::now()));
                Some(info)
            }
            Ok((n, _)) => {
                // A short write: the rest as any gathered write.
                let n = n as usize;
                f.pending = Some((offset + n as u64, data[n..].to_vec()));
                let _ = self.drain(f);
                None
            }
            Err(e) => {
                let n = self.fail("write", "", &e);
                f.failed.get_or_insert(n);
                None
            }
        }
    }

    /// Closes `handle` without making the kernel wait for the answer (its release has
    /// nobody to report to): the file's writes were sent and answered at its flush. What
    /// must come after the CLOSE on the server (opening, truncating, removing or renaming
    /// the file) waits for it first ([`settle`](Self::settle)).
    pub(super) fn close_later(&self, ino: u64, handle: Handle) {
        let share = self.share.clone();
        let task = self.rt.spawn(async move {
            if let Err(e) = share.run(|t| async move { t.close(handle).await }).await {
                tracing::warn!("close: {e}");
            }
        });
        let mut closing = lock(&self.closing);
        closing.retain(|_, tasks| {
            tasks.retain(|t| !t.is_finished());
            !tasks.is_empty()
        });
        closing.entry(ino).or_default().push(task);
    }

    /// Waits for the CLOSEs on their way of inode `ino` (of every inode: `None`).
    pub(super) fn settle(&self, ino: Option<u64>) {
        let tasks: Vec<_> = {
            let mut closing = lock(&self.closing);
            match ino {
                // (Kept files closed while the kernel knew no inode of them are under 0.)
                Some(ino) => [ino, 0]
                    .iter()
                    .flat_map(|i| closing.remove(i).unwrap_or_default())
                    .collect(),
                None => closing.drain().flat_map(|(_, t)| t).collect(),
            }
        };
        for t in tasks {
            let _ = self.rt.block_on(t);
        }
    }

    /// Reads `len` bytes at `offset`; fewer only at the end of the file.
    pub(super) fn read_all(&self, h: Handle, offset: u64, len: usize) -> Result<Block, Error> {
        self.rt.block_on(read_range(
            self.share.clone(),
            h,
            offset,
            len,
            self.max_io(false),
        ))
    }

    /// After a whole block was read sequentially, starts reading the next one.
    pub(super) fn read_ahead(&self, f: &mut OpenFile) {
        let Some(handle) = f.handle else {
            return;
        };
        let next = match &f.cached {
            Some(b) if b.data.len() == BLOCK && !b.eof => b.at + BLOCK as u64,
            _ => return,
        };
        if f.ahead.as_ref().is_some_and(|(at, _)| *at == next) {
            return;
        }
        let task = self.rt.spawn(read_range(
            self.share.clone(),
            handle,
            next,
            BLOCK,
            self.max_io(false),
        ));
        f.ahead = Some((next, task));
    }
}

/// Writes `data` at `offset` in requests of up to `chunk` bytes.
async fn write_range(
    share: Share,
    h: Handle,
    offset: u64,
    data: Vec<u8>,
    chunk: usize,
) -> Result<(), Error> {
    let mut done = 0usize;
    while done < data.len() {
        let end = (done + chunk).min(data.len());
        let at = offset + done as u64;
        let part = &data[done..end];
        let n = share
            .run(|t| async move { t.write_at(h, at, part).await })
            .await? as usize;
        if n == 0 {
            return Err(Error::Smb(SmbError::Protocol(
                "the server wrote 0 bytes".into(),
            )));
        }
        done += n.min(end - done);
    }
    Ok(())
}

/// Reads `len` bytes at `offset` in requests of up to `chunk` bytes; fewer only at the end
/// of the file (then `eof`).
async fn read_range(
    share: Share,
    h: Handle,
    offset: u64,
    len: usize,
    chunk: usize,
) -> Result<Block, Error> {
    let mut data = Vec::new();
    let mut eof = false;
    while data.len() < len {
        let ask = (len - data.len()).min(chunk);
        let at = offset + data.len() as u64;
        let got = share
            .run(|t| async move { t.read_chunk(h, at, ask as u32).await })
            .await?;
        let short = got.len() < ask;
        if data.is_empty() && (short || ask == len) {
            // One response holds the whole block: keep it as it arrived.
            return Ok(Block {
                at: offset,
                data: Bytes::Read(got),
                eof: short,
            });
        }
        data.reserve_exact(len.saturating_sub(data.len()));
        data.extend_from_slice(&got);
        if short {
            eof = true;
            break;
        }
    }
    Ok(Block {
        at: offset,
        data: Bytes::Owned(data),
        eof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_serve_what_they_hold_and_short_only_at_end_of_file() {
        let b = Block {
            at: 100,
            data: Bytes::Owned(vec![7; 50]),
            eof: false,
        };
        assert_eq!(b.serve(100, 50).map(<[u8]>::len), Some(50));
        assert_eq!(b.serve(120, 10).map(<[u8]>::len), Some(10));
        assert!(b.serve(140, 20).is_none(), "not the end of the file: fetch");
        assert!(b.serve(99, 1).is_none());
        assert!(b.serve(151, 1).is_none());
        let end = Block { eof: true, ..b };
        assert_eq!(end.serve(140, 20).map(<[u8]>::len), Some(10));
        assert_eq!(end.serve(150, 20).map(<[u8]>::len), Some(0));
        assert!(end.serve(u64::MAX, usize::MAX).is_none());
    }
}
