//! Operations tried again after a reconnect: the task-local marks that make a try's
//! requests replays (SMB2_FLAGS_REPLAY_OPERATION) and give its CREATEs the CreateGuids and
//! lease keys of the first try.

tokio::task_local! {
    static REPLAY: bool;
    static CREATES: std::cell::RefCell<Creates>;
}

/// The CreateGuids and lease keys one operation's CREATEs used, in order: its replays use
/// them again, so a server that did the CREATE before the drop answers with that open
/// instead of making a second one.
#[derive(Default)]
struct Creates {
    ids: Vec<([u8; 16], [u8; 16])>,
    next: usize,
}

/// Runs `op`, one operation that may be tried again after a reconnect (each try inside
/// [`replaying`] but the first): its CREATEs take the same CreateGuids and lease keys on
/// every try.
pub async fn operation<F: std::future::Future>(op: F) -> F::Output {
    CREATES
        .scope(std::cell::RefCell::new(Creates::default()), op)
        .await
}

/// The CreateGuid and lease key of the operation's next CREATE: those of the same CREATE
/// in an earlier try, else `fresh` ones (recorded for the tries to come).
pub(crate) fn create_ids(fresh: ([u8; 16], [u8; 16])) -> ([u8; 16], [u8; 16]) {
    CREATES
        .try_with(|c| {
            let mut c = c.borrow_mut();
            let at = c.next;
            c.next += 1;
            match c.ids.get(at) {
                Some(ids) => *ids,
                None => {
                    c.ids.push(fresh);
                    fresh
                }
            }
        })
        .unwrap_or(fresh)
}

/// Runs `op` with every request it sends (in this task) marked as a replay: sent again
/// after a reconnect, with SMB2_FLAGS_REPLAY_OPERATION (SMB 3.x), so the server does not
/// apply it twice where it can tell.
///
/// ```no_run
/// # async fn demo(tree: azkrb_smb3::Tree, h: azkrb_smb3::Handle) -> azkrb_smb3::Result<()> {
/// azkrb_smb3::conn::replaying(tree.write_at(h, 0, b"again")).await?;
/// # Ok(()) }
/// ```
pub async fn replaying<F: std::future::Future>(op: F) -> F::Output {
    // A try starts from the operation's first CREATE again.
    let _ = CREATES.try_with(|c| c.borrow_mut().next = 0);
    REPLAY.scope(true, op).await
}

pub(crate) fn replay() -> bool {
    REPLAY.try_with(|r| *r).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_try_of_an_operation_creates_with_the_first_tries_ids() {
        let (a, b) = (([1; 16], [2; 16]), ([3; 16], [4; 16]));
        let fresh = ([9; 16], [9; 16]);
        operation(async {
            assert_eq!(create_ids(a), a);
            assert_eq!(create_ids(b), b);
            replaying(async {
                assert!(replay());
                assert_eq!(create_ids(fresh), a);
                assert_eq!(create_ids(fresh), b);
                // A third CREATE (the try went further): fresh ids, kept from now on.
                assert_eq!(create_ids(([5; 16], [6; 16])), ([5; 16], [6; 16]));
            })
            .await;
            replaying(async { assert_eq!(create_ids(fresh), a) }).await;
        })
        .await;
        // Outside an operation: always fresh.
        assert_eq!(create_ids(fresh), fresh);
        assert!(!replay());
    }
}
