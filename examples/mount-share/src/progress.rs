//! Progress bars with rate and ETA for transfers, on standard error and only when it is a
//! terminal (scripts and pipes see nothing).

use std::io::IsTerminal;
use std::pin::Pin;
use std::task::{Context, Poll};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A bar for `len` bytes labelled `name` (hidden when standard error is not a terminal).
pub fn bar(len: u64, name: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(name.to_string());
    bar
}

/// A bar counting files (its length grows as files are started), labelled `name`
/// (hidden when standard error is not a terminal).
pub fn files_bar(name: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    if let Ok(style) = ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} files") {
        bar.set_style(style);
    }
    bar.set_message(name.to_string());
    bar
}

/// [`bar`] when `show` (a transfer among many shows none).
pub fn bar_if(show: bool, len: u64, name: &str) -> ProgressBar {
    if show {
        bar(len, name)
    } else {
        ProgressBar::hidden()
    }
}

/// Counts the bytes passing through a reader or writer onto a bar.
pub struct Counted<T> {
    inner: T,
    bar: ProgressBar,
    count: u64,
}

impl<T> Counted<T> {
    /// Wraps `inner`.
    pub fn new(inner: T, bar: ProgressBar) -> Self {
        Self {
            inner,
            bar,
            count: 0,
        }
    }

    /// The wrapped reader or writer.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// The bytes that passed through so far.
    pub fn count(&self) -> u64 {
        self.count
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Counted<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.bar.inc(*n as u64);
            self.count += *n as u64;
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Counted<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let n = (buf.filled().len() - before) as u64;
            self.bar.inc(n);
            self.count += n;
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn counts_what_passes_through() {
        let bar = ProgressBar::hidden();
        let mut w = Counted::new(Vec::new(), bar.clone());
        w.write_all(&[1u8; 1000]).await.unwrap();
        assert_eq!(bar.position(), 1000);
        let data = vec![7u8; 333];
        let bar = ProgressBar::hidden();
        let mut r = Counted::new(&data[..], bar.clone());
        let mut out = Vec::new();
        r.read_to_end(&mut out).await.unwrap();
        assert_eq!((bar.position(), out), (333, data));
    }
}
