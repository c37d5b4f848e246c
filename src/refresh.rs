//! Sessions kept past their tickets. The server ends an SMB session when the ticket it was
//! authenticated with ends; every open [`Share`](crate::Share) has a task that
//! re-authenticates its session with a fresh ticket before then, while requests go on, so
//! that a long transfer or a mount never meets STATUS_NETWORK_SESSION_EXPIRED. The fresh
//! ticket comes from the TGT (renewed when it can be, or read again from its credential
//! cache) or from SMB OAuth (a token fetched again when it nears its end). When no ticket
//! outlasts the session (a TGT that cannot be renewed ends then), it says so once, with the
//! time left.

use std::time::Duration;

use azkrb_cloudtgt::backoff::{Backoff, jitter};

use crate::share::{Refreshed, WeakShare};

/// After a failed try, the next waits this long, doubling up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(10);
const RETRY_MAX: Duration = Duration::from_secs(300);
/// A session whose end is not known is looked at again after this.
const UNKNOWN: Duration = Duration::from_secs(60);
/// The longest sleep before the session's end is looked at again (a monotonic clock stops
/// while the machine sleeps: a short nap notices a resume soon).
const NAP: i64 = 60;
/// A session this close to its end (or past it) is re-authenticated under the share's gate,
/// as after an expiry: requests wait for it rather than meet a session being revived.
const LATE: i64 = 5;

/// Starts the refresher of a share (none with a zero margin, or outside a Tokio runtime).
pub(crate) fn start(share: WeakShare, margin: Duration) -> Option<tokio::task::AbortHandle> {
    if margin.is_zero() {
        return None;
    }
    let rt = tokio::runtime::Handle::try_current().ok()?;
    Some(rt.spawn(run(share, margin)).abort_handle())
}

/// Stops a share's refresher.
pub(crate) fn stop(task: &std::sync::Mutex<Option<tokio::task::AbortHandle>>) {
    if let Some(t) = task.lock().unwrap_or_else(|p| p.into_inner()).take() {
        t.abort();
    }
}

fn now() -> i64 {
    azkrb_asn1::KerberosTime::now().unix()
}

/// When a session that ends at `ends`, after `life` seconds, is re-authenticated: `margin`
/// before, but at most a third of its life before, and `early` (a random part of a fifth
/// of that) earlier still.
fn due(ends: i64, life: i64, margin: Duration, early: Duration) -> (i64, Duration) {
    let lead = i64::try_from(margin.as_secs())
        .unwrap_or(i64::MAX)
        .min(life.max(0) / 3)
        .max(1);
    let spread = Duration::from_secs(u64::try_from(lead / 5).unwrap_or(0));
    let early = i64::try_from(early.min(spread).as_secs()).unwrap_or(0);
    (ends.saturating_sub(lead).saturating_sub(early), spread)
}

async fn run(share: WeakShare, margin: Duration) {
    // The end last seen, when it was first seen, and this end's random lead.
    let mut seen: Option<(i64, i64, Duration)> = None;
    let mut retry = Backoff::new(RETRY_FIRST, RETRY_MAX);
    // The end a warning was given for (once per end).
    let mut warned: Option<i64> = None;
    loop {
        let Some(s) = share.upgrade() else { return };
        let Some(ends) = s.session().valid_until() else {
            drop(s);
            tokio::time::sleep(UNKNOWN).await;
            continue;
        };
        let (_, since, early) = match seen {
            Some(x) if x.0 == ends => x,
            _ => {
                retry = Backoff::new(RETRY_FIRST, RETRY_MAX);
                let (_, spread) = due(ends, ends - now(), margin, Duration::ZERO);
                let x = (ends, now(), jitter(spread));
                seen = Some(x);
                x
            }
        };
        let (at, _) = due(ends, ends - since, margin, early);
        let wait = at - now();
        if wait > 0 {
            drop(s);
            tokio::time::sleep(Duration::from_secs(wait.min(NAP).unsigned_abs())).await;
            continue;
        }
        let unc = s.unc().clone();
        let tried = if ends - now() <= LATE {
            // Re-authenticated, but with a ticket that ends no later: nothing gained (a
            // back-off, not another try at once).
            s.reauthenticate()
                .await
                .map(|()| match s.session().valid_until() {
                    Some(t) if t > ends => Refreshed::Until(t),
                    Some(_) => Refreshed::NoLonger,
                    None => Refreshed::Already,
                })
        } else {
            s.refresh_session(ends).await
        };
        let failed = match tried {
            Ok(Refreshed::Until(t)) => {
                tracing::info!(
                    "//{}/{}: session re-authenticated before its ticket ended; now valid \
                     until {}",
                    unc.host,
                    unc.share,
                    azkrb_asn1::KerberosTime::from_unix(t)
                );
                false
            }
            Ok(Refreshed::Already) => false,
            Ok(Refreshed::NoLonger) => {
                if warned != Some(ends) {
                    warned = Some(ends);
                    tracing::warn!(
                        "//{}/{}: the session ends at {} (in {} min) with its ticket, and no \
                         fresh ticket lasts longer: what makes them (a TGT that cannot be \
                         renewed, a token) ends then. Log in again before then to keep the \
                         share.",
                        unc.host,
                        unc.share,
                        azkrb_asn1::KerberosTime::from_unix(ends),
                        (ends - now()).max(0) / 60
                    );
                }
                true
            }
            Err(e) => {
                if warned != Some(ends) {
                    warned = Some(ends);
                    tracing::warn!(
                        "//{}/{}: could not re-authenticate the session before its ticket \
                         ends at {} (trying again): {e}",
                        unc.host,
                        unc.share,
                        azkrb_asn1::KerberosTime::from_unix(ends)
                    );
                } else {
                    tracing::debug!(
                        "//{}/{}: re-authentication failed: {e}",
                        unc.host,
                        unc.share
                    );
                }
                true
            }
        };
        drop(s);
        if failed {
            // Backing off, but never past the session's end by much while it is ahead (a
            // retry then still comes in time); past it, backing off alone.
            let mut wait = retry.next_wait();
            let left = ends - now();
            if left > 0 {
                wait = wait.min(Duration::from_secs((left.unsigned_abs() / 2).max(1)));
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_refreshed_its_margin_before_its_end_at_most_a_third_of_its_life() {
        let m = Duration::from_secs(300);
        // Ten hours: five minutes before, up to a minute earlier.
        assert_eq!(
            due(36_000, 36_000, m, Duration::ZERO),
            (35_700, Duration::from_secs(60))
        );
        assert_eq!(due(36_000, 36_000, m, Duration::from_secs(59)).0, 35_641);
        // The jitter is never more than its spread.
        assert_eq!(due(36_000, 36_000, m, Duration::from_secs(900)).0, 35_640);
        // A 45 s ticket: 15 s before, up to 3 s earlier.
        assert_eq!(
            due(1_045, 45, m, Duration::ZERO),
            (1_030, Duration::from_secs(3))
        );
        // No life left to speak of: a second before.
        assert_eq!(due(1_000, 0, m, Duration::ZERO).0, 999);
        assert_eq!(due(i64::MIN, -5, Duration::MAX, Duration::MAX).0, i64::MIN);
    }
}
