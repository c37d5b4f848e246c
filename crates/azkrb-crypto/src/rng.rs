//! Confounders from the operating system's generator, fetched in batches.
//!
//! A `getrandom` system call costs about as much as encrypting a 64-byte message, so
//! confounders are taken from a per-thread pool refilled 1 KiB at a time; every byte handed
//! out is wiped from the pool. Keys ([`crate::Key::random`]) always come straight from the
//! operating system. A child process created by `fork` inherits the parent's unused pool,
//! so the two may reuse a confounder: that reveals only whether two messages under the same
//! key share their first block, never key or plaintext bytes.

use std::cell::RefCell;

use zeroize::Zeroize;

use crate::error::{Error, Result};

const POOL: usize = 1024;

struct Pool {
    buf: [u8; POOL],
    pos: usize,
}

thread_local! {
    static CONFOUNDERS: RefCell<Pool> = const { RefCell::new(Pool { buf: [0; POOL], pos: POOL }) };
}

fn os_random(out: &mut [u8]) -> Result<()> {
    getrandom::fill(out).map_err(|e| Error::Random(e.to_string()))
}

/// Fills `out` with fresh random bytes for a confounder.
pub(crate) fn confounder(out: &mut [u8; 16]) -> Result<()> {
    CONFOUNDERS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut pool) => {
            if pool.pos + out.len() > POOL {
                os_random(&mut pool.buf)?;
                pool.pos = 0;
            }
            let start = pool.pos;
            let taken = &mut pool.buf[start..start + 16];
            out.copy_from_slice(taken);
            taken.zeroize();
            pool.pos += 16;
            Ok(())
        }
        Err(_) => os_random(out),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn confounders_differ_across_refills() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..500 {
            let mut c = [0u8; 16];
            super::confounder(&mut c).unwrap();
            assert!(seen.insert(c), "repeated confounder");
        }
    }
}
