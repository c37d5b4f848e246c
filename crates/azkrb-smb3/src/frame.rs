//! Reading one NetBIOS-framed message from the socket, woken once a large message is
//! whole (the receive low-water mark, see [`crate::sockopt`]).

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;

use crate::buffers::BufferPool;

pub(crate) async fn read_frame(
    r: &mut OwnedReadHalf,
    pool: &BufferPool,
    low: &mut LowWater,
    received: &AtomicU64,
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
        let n = (&mut *r).take(rest as u64).read_buf(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        received.fetch_add(n as u64, Ordering::Relaxed);
    }
    low.reset(r)?;
    Ok(buf)
}

/// The receive low-water mark of a connection's socket while large messages arrive (see
/// [`crate::sockopt`]).
pub(crate) struct LowWater {
    /// False where the kernel is too old, or once setting the mark has failed.
    on: bool,
    /// The mark last set.
    mark: usize,
}

impl LowWater {
    /// Messages from this size on are awaited whole.
    const FROM: usize = 64 * 1024;

    pub(crate) fn new() -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
            let got = tokio::time::timeout(
                Duration::from_secs(10),
                read_frame(&mut r, &pool, &mut low, &AtomicU64::new(0)),
            )
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
}
