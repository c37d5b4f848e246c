//! The driver's side of lease breaks: each acknowledgment in a task of its own, a bounded
//! number at a time.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use super::{Inner, exchange_one};
use crate::msg;
use crate::proto::{self, Outgoing};
use crate::status::NtStatus;

/// How long an acknowledgment waits for the holder to close an open it closes on breaks.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Lease break acknowledgments on their way at most.
const MAX_ACKS_IN_FLIGHT: u64 = 64;

/// Counts an acknowledgment done when its task ends.
struct AckDone(Arc<Inner>);

impl Drop for AckDone {
    fn drop(&mut self) {
        self.0.acks.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Answers a lease break in a task of its own (the reader goes on reading: the answer to
/// the acknowledgment comes through it).
pub(super) fn acknowledge(
    inner: &Arc<Inner>,
    notice: msg::BreakNotice,
    ack: Option<proto::BreakAck>,
) {
    tracing::debug!(target = %inner.target, ?notice, "break notification");
    inner.breaks.fetch_add(1, Ordering::Relaxed);
    // The opens holding the lease hear of the break; if one of them is closed by its
    // holder on such a break, the acknowledgment waits for that (see `Tree::close_on_break`).
    let mut wait_for_close = None;
    if let msg::BreakNotice::Lease(b) = notice {
        let owner = inner.owners().get(&b.key).and_then(Weak::upgrade);
        if let Some(opens) = owner {
            opens.broken(b.key, b.new);
            if opens.closes_on_break(b.key, b.new) {
                wait_for_close = Some((opens, b.key));
            }
        }
    }
    let Some(ack) = ack else { return };
    // A flood of (forged) breaks gets a bounded number of answers at a time.
    if inner.acks.fetch_add(1, Ordering::Relaxed) >= MAX_ACKS_IN_FLIGHT {
        inner.acks.fetch_sub(1, Ordering::Relaxed);
        tracing::warn!(target = %inner.target, "too many lease breaks at once: one left unanswered");
        return;
    }
    let inner = Arc::clone(inner);
    tokio::spawn(async move {
        let _done = AckDone(Arc::clone(&inner));
        if let Some((opens, key)) = wait_for_close
            && opens.all_closed(key, CLOSE_WAIT).await
        {
            // Closed: that ends the break; there is nothing left to acknowledge.
            return;
        }
        let out = Outgoing::message(&ack.body);
        match exchange_one(&inner, ack.request(), out, None).await {
            Ok(r) if r.header.status == NtStatus::SUCCESS => {}
            // The open may have closed meanwhile: the server then says so, harmlessly.
            Ok(r) => tracing::debug!(status = %r.header.status, "LEASE_BREAK_ACK refused"),
            Err(e) => tracing::debug!(error = %e, "LEASE_BREAK_ACK not sent"),
        }
    });
}
