//! Large message buffers kept per connection for reuse.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Large message buffers (READ responses, WRITE requests) kept for the next message, so
/// that a transfer does not allocate, page-fault and zero a fresh megabyte per message:
/// the allocator hands such sizes back to the system on free, and those faults cost more
/// CPU than the AES-GCM of the same bytes. Holds at most [`BufferPool::MAX_BYTES`], and
/// nothing once the connection has moved no large message for [`BufferPool::IDLE`].
#[derive(Default)]
pub(crate) struct BufferPool {
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
    pub(crate) const IDLE: Duration = Duration::from_secs(30);

    /// An empty buffer with room for `n` bytes: a kept one if one is large enough.
    pub(crate) fn take(&self, n: usize) -> Vec<u8> {
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
    pub(crate) fn put(&self, mut buf: Vec<u8>) {
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
    pub(crate) fn trim_if_idle(&self) {
        if !self.used.swap(false, Ordering::Relaxed)
            && let Ok(mut p) = self.kept.lock()
        {
            *p = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
