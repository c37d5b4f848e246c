//! What makes an open outlive its connection: CREATE contexts for durable handles v2 and
//! leases (MS-SMB2 §2.2.13.2, §2.2.14.2), lease break notifications and their
//! acknowledgment (§2.2.23.2, §2.2.24.2).
//!
//! ```
//! use azkrb_smb3::msg::{self, CreateContexts, Durable, Lease, lease};
//!
//! let ctx = CreateContexts {
//!     lease: Some(Lease::new([1; 16], lease::READ | lease::HANDLE)),
//!     durable: Some(Durable::Request { create_guid: [2; 16], timeout_ms: 0, persistent: false }),
//!     query_id: true,
//! };
//! let body = msg::create_request_with("a.txt", 0x0012_0089, 1, 0x40, &ctx).unwrap();
//! assert_eq!(body[3], 0xFF); // RequestedOplockLevel: a lease
//! ```

use super::{FileId, HEADER_LEN, R, len32, pad8};
use crate::error::{Error, Result};

/// Lease states (MS-SMB2 §2.2.13.2.8): what the client may cache.
pub mod lease {
    /// SMB2_LEASE_READ_CACHING.
    pub const READ: u32 = 0x1;
    /// SMB2_LEASE_HANDLE_CACHING.
    pub const HANDLE: u32 = 0x2;
    /// SMB2_LEASE_WRITE_CACHING.
    pub const WRITE: u32 = 0x4;
}

/// RequestedOplockLevel / OplockLevel SMB2_OPLOCK_LEVEL_LEASE.
pub const OPLOCK_LEVEL_LEASE: u8 = 0xFF;

const TAG_LEASE: &[u8; 4] = b"RqLs";
const TAG_DH2Q: &[u8; 4] = b"DH2Q";
const TAG_DH2C: &[u8; 4] = b"DH2C";
const TAG_QFID: &[u8; 4] = b"QFid";
/// SMB2_DHANDLE_FLAG_PERSISTENT.
const PERSISTENT: u32 = 0x2;
/// SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED.
const ACK_REQUIRED: u32 = 0x1;

/// A lease (version 2) asked for or granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The client's key for the lease (one per file it opens).
    pub key: [u8; 16],
    /// The [`lease`] state bits.
    pub state: u32,
    /// The server's epoch (0 in a request).
    pub epoch: u16,
}

impl Lease {
    /// A request for `state` under `key`.
    pub const fn new(key: [u8; 16], state: u32) -> Self {
        Self {
            key,
            state,
            epoch: 0,
        }
    }
}

/// The durable-handle context of a CREATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durable {
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2: make the open durable (or persistent).
    Request {
        /// The client's unique id of this create (the same when the CREATE is replayed).
        create_guid: [u8; 16],
        /// How long the server keeps the open after a disconnect (0: its default).
        timeout_ms: u32,
        /// Ask for a persistent handle (continuously available shares only).
        persistent: bool,
    },
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2: reclaim an open after a reconnect.
    Reconnect {
        /// The open's FileId on the lost connection.
        file_id: FileId,
        /// The CreateGuid it was opened with.
        create_guid: [u8; 16],
        /// It was persistent.
        persistent: bool,
    },
}

/// The CREATE contexts azkrb sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CreateContexts {
    /// A lease to ask for (or to keep, on a reconnect: the same key).
    pub lease: Option<Lease>,
    /// Durability asked for, or the open to reclaim.
    pub durable: Option<Durable>,
    /// Ask for the file's on-disk identity (QFid): what proves a file opened again by
    /// path is the same file.
    pub query_id: bool,
}

/// What the server granted, from a CREATE response's contexts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Granted {
    /// The OplockLevel of the response ([`OPLOCK_LEVEL_LEASE`] when a lease came).
    pub oplock_level: u8,
    /// The lease granted.
    pub lease: Option<Lease>,
    /// The open is durable: the server keeps it this long (ms) after a disconnect.
    pub durable_timeout_ms: Option<u32>,
    /// The open is persistent.
    pub persistent: bool,
    /// The file's on-disk id and volume id (QFid), when asked for and given.
    pub disk_id: Option<[u8; 32]>,
}

impl Granted {
    /// The open outlives its connection (durable or persistent).
    pub fn durable(&self) -> bool {
        self.durable_timeout_ms.is_some() || self.persistent
    }
}

fn context(out: &mut Vec<u8>, tag: &[u8; 4], data: &[u8]) -> Result<()> {
    out.extend_from_slice(&0u32.to_le_bytes()); // Next (set when one follows)
    out.extend_from_slice(&16u16.to_le_bytes()); // NameOffset
    out.extend_from_slice(&4u16.to_le_bytes()); // NameLength
    out.extend_from_slice(&0u16.to_le_bytes()); // Reserved
    out.extend_from_slice(&24u16.to_le_bytes()); // DataOffset
    out.extend_from_slice(&len32("a create context", data.len())?.to_le_bytes());
    out.extend_from_slice(tag);
    out.extend_from_slice(&[0; 4]);
    if data.is_empty() {
        // No data: DataOffset 0, the context ends after its name.
        let at = out.len() - 24;
        out[at + 10..at + 12].copy_from_slice(&0u16.to_le_bytes());
        out.truncate(out.len() - 4);
    }
    out.extend_from_slice(data);
    Ok(())
}

/// The CREATE contexts chain, laid out to start 8-aligned (empty when there are none).
pub(crate) fn encode_contexts(c: &CreateContexts) -> Result<Vec<u8>> {
    let mut parts: Vec<(&[u8; 4], Vec<u8>)> = Vec::new();
    if let Some(d) = c.durable {
        match d {
            Durable::Request {
                create_guid,
                timeout_ms,
                persistent,
            } => {
                let mut b = Vec::with_capacity(32);
                b.extend_from_slice(&timeout_ms.to_le_bytes());
                b.extend_from_slice(&(if persistent { PERSISTENT } else { 0 }).to_le_bytes());
                b.extend_from_slice(&[0; 8]);
                b.extend_from_slice(&create_guid);
                parts.push((TAG_DH2Q, b));
            }
            Durable::Reconnect {
                file_id,
                create_guid,
                persistent,
            } => {
                let mut b = Vec::with_capacity(36);
                b.extend_from_slice(&file_id.0);
                b.extend_from_slice(&create_guid);
                b.extend_from_slice(&(if persistent { PERSISTENT } else { 0 }).to_le_bytes());
                parts.push((TAG_DH2C, b));
            }
        }
    }
    if c.query_id {
        parts.push((TAG_QFID, Vec::new()));
    }
    if let Some(l) = c.lease {
        let mut b = Vec::with_capacity(52);
        b.extend_from_slice(&l.key);
        b.extend_from_slice(&l.state.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes()); // Flags: no parent key
        b.extend_from_slice(&0u64.to_le_bytes()); // LeaseDuration
        b.extend_from_slice(&[0; 16]); // ParentLeaseKey
        b.extend_from_slice(&l.epoch.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        parts.push((TAG_LEASE, b));
    }
    let mut out = Vec::new();
    let mut last: Option<usize> = None;
    for (tag, data) in parts {
        pad8(&mut out);
        if let Some(prev) = last {
            let next = len32("a create context", out.len() - prev)?;
            out[prev..prev + 4].copy_from_slice(&next.to_le_bytes());
        }
        last = Some(out.len());
        context(&mut out, tag, &data)?;
    }
    Ok(out)
}

/// Reads the contexts of a CREATE response (`msg` from its SMB2 header): the lease and the
/// durability granted. Every offset is checked; contexts azkrb did not ask for are skipped.
pub(crate) fn parse_granted(msg: &[u8], oplock_level: u8) -> Result<Granted> {
    let r = R::new("CREATE response contexts", msg);
    let b = HEADER_LEN;
    let offset = r.u32(b + 80)? as usize;
    let length = r.u32(b + 84)? as usize;
    let mut g = Granted {
        oplock_level,
        ..Granted::default()
    };
    if length == 0 {
        return Ok(g);
    }
    let end = offset
        .checked_add(length)
        .filter(|e| *e <= msg.len() && offset >= b + 88)
        .ok_or_else(|| Error::Malformed("CREATE response contexts out of bounds".into()))?;
    let chain = R::new("a CREATE response context", &msg[..end]);
    let mut at = offset;
    loop {
        let next = chain.u32(at)? as usize;
        let name_off = chain.u16(at + 4)? as usize;
        let name_len = chain.u16(at + 6)? as usize;
        let data_off = chain.u16(at + 10)? as usize;
        let data_len = chain.u32(at + 12)? as usize;
        let name = chain.slice(at + name_off, name_len)?;
        let data = if data_len == 0 {
            &[][..]
        } else {
            chain.slice(at + data_off, data_len)?
        };
        let d = R::new("a CREATE response context", data);
        match name {
            n if n == TAG_LEASE => {
                let mut key = [0; 16];
                key.copy_from_slice(d.slice(0, 16)?);
                let state = d.u32(16)?;
                // Version 2 (52 bytes) carries an epoch; version 1 (32 bytes) none.
                let epoch = if data.len() >= 52 { d.u16(48)? } else { 0 };
                g.lease = Some(Lease { key, state, epoch });
            }
            n if n == TAG_DH2Q => {
                g.durable_timeout_ms = Some(d.u32(0)?);
                g.persistent = d.u32(4)? & PERSISTENT != 0;
            }
            n if n == TAG_QFID => {
                let mut id = [0; 32];
                id.copy_from_slice(d.slice(0, 32)?);
                g.disk_id = Some(id);
            }
            _ => {}
        }
        if next == 0 {
            break;
        }
        at = at
            .checked_add(next)
            .filter(|a| *a < end && next >= 16)
            .ok_or_else(|| Error::Malformed("a CREATE response context chain loops".into()))?;
    }
    Ok(g)
}

/// A lease break notification (MS-SMB2 §2.2.23.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseBreak {
    /// The lease's key.
    pub key: [u8; 16],
    /// The state before the break.
    pub current: u32,
    /// The state the server breaks it to.
    pub new: u32,
    /// The new epoch.
    pub epoch: u16,
    /// The server waits for a LEASE_BREAK_ACK.
    pub ack_required: bool,
}

/// What an unsolicited OPLOCK_BREAK message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakNotice {
    /// A lease is broken.
    Lease(LeaseBreak),
    /// An oplock on a handle is broken to this level.
    Oplock {
        /// The handle.
        file_id: FileId,
        /// The new oplock level.
        level: u8,
    },
}

/// Decodes an OPLOCK_BREAK notification (`msg` from its SMB2 header).
pub fn break_notice(msg: &[u8]) -> Result<BreakNotice> {
    let r = R::new("OPLOCK_BREAK notification", msg);
    let b = HEADER_LEN;
    match r.u16(b)? {
        44 => {
            let mut key = [0; 16];
            key.copy_from_slice(r.slice(b + 8, 16)?);
            Ok(BreakNotice::Lease(LeaseBreak {
                key,
                epoch: r.u16(b + 2)?,
                ack_required: r.u32(b + 4)? & ACK_REQUIRED != 0,
                current: r.u32(b + 24)?,
                new: r.u32(b + 28)?,
            }))
        }
        24 => {
            let mut id = [0; 16];
            id.copy_from_slice(r.slice(b + 8, 16)?);
            Ok(BreakNotice::Oplock {
                file_id: FileId(id),
                level: r.slice(b + 2, 1)?[0],
            })
        }
        n => Err(Error::Malformed(format!(
            "an OPLOCK_BREAK notification with StructureSize {n}"
        ))),
    }
}

/// The LEASE_BREAK_ACK request body: the client keeps `state` of lease `key`.
pub fn lease_break_ack(key: [u8; 16], state: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(36);
    b.extend_from_slice(&36u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // Flags
    b.extend_from_slice(&key);
    b.extend_from_slice(&state.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // LeaseDuration
    b
}

/// The OPLOCK_BREAK acknowledgment body: the client keeps `level` on `id`.
pub fn oplock_break_ack(id: FileId, level: u8) -> Vec<u8> {
    let mut b = Vec::with_capacity(24);
    b.extend_from_slice(&24u16.to_le_bytes());
    b.push(level);
    b.extend_from_slice(&[0; 5]);
    b.extend_from_slice(&id.0);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_chain_and_round_trip() {
        let c = CreateContexts {
            lease: Some(Lease::new([9; 16], lease::READ | lease::HANDLE)),
            durable: Some(Durable::Reconnect {
                file_id: FileId([3; 16]),
                create_guid: [4; 16],
                persistent: false,
            }),
            query_id: false,
        };
        let chain = encode_contexts(&c).unwrap();
        // DH2C: 24 + 36 = 60, padded to 64; then the lease: 24 + 52.
        assert_eq!(u32::from_le_bytes(chain[0..4].try_into().unwrap()), 64);
        assert_eq!(&chain[16..20], b"DH2C");
        assert_eq!(&chain[64 + 16..64 + 20], b"RqLs");
        assert_eq!(chain.len(), 64 + 24 + 52);

        // A response carrying the same chain (the lease part is laid out alike).
        let mut msg = vec![0u8; HEADER_LEN + 88];
        let off = msg.len();
        msg.extend_from_slice(&chain);
        msg[HEADER_LEN + 80..HEADER_LEN + 84].copy_from_slice(&(off as u32).to_le_bytes());
        msg[HEADER_LEN + 84..HEADER_LEN + 88].copy_from_slice(&(chain.len() as u32).to_le_bytes());
        let g = parse_granted(&msg, OPLOCK_LEVEL_LEASE).unwrap();
        assert_eq!(g.lease.unwrap().key, [9; 16]);
        assert_eq!(g.lease.unwrap().state, lease::READ | lease::HANDLE);
        assert_eq!(g.durable_timeout_ms, None);
    }

    #[test]
    fn persistent_handles_are_asked_for_and_recognized() {
        // A continuously available share (Azure Files premium): DH2Q with Flags PERSISTENT,
        // the server's DH2Q answer with it, and DH2C saying so again.
        let ask = CreateContexts {
            lease: None,
            durable: Some(Durable::Request {
                create_guid: [5; 16],
                timeout_ms: 120_000,
                persistent: true,
            }),
            query_id: false,
        };
        let chain = encode_contexts(&ask).unwrap();
        assert_eq!(&chain[16..20], b"DH2Q");
        assert_eq!(
            u32::from_le_bytes(chain[24..28].try_into().unwrap()),
            120_000
        );
        assert_eq!(
            u32::from_le_bytes(chain[28..32].try_into().unwrap()),
            PERSISTENT
        );
        assert_eq!(&chain[40..56], &[5; 16]);

        let mut answer = vec![0u8; 24];
        answer[4..6].copy_from_slice(&16u16.to_le_bytes());
        answer[6..8].copy_from_slice(&4u16.to_le_bytes());
        answer[10..12].copy_from_slice(&24u16.to_le_bytes());
        answer[12..16].copy_from_slice(&8u32.to_le_bytes());
        answer[16..20].copy_from_slice(b"DH2Q");
        answer.extend_from_slice(&120_000u32.to_le_bytes());
        answer.extend_from_slice(&PERSISTENT.to_le_bytes());
        let mut msg = vec![0u8; HEADER_LEN + 88];
        let off = msg.len() as u32;
        msg.extend_from_slice(&answer);
        msg[HEADER_LEN + 80..HEADER_LEN + 84].copy_from_slice(&off.to_le_bytes());
        msg[HEADER_LEN + 84..HEADER_LEN + 88].copy_from_slice(&(answer.len() as u32).to_le_bytes());
        let g = parse_granted(&msg, 0).unwrap();
        assert_eq!((g.durable_timeout_ms, g.persistent), (Some(120_000), true));

        let again = CreateContexts {
            lease: None,
            durable: Some(Durable::Reconnect {
                file_id: FileId([6; 16]),
                create_guid: [5; 16],
                persistent: true,
            }),
            query_id: false,
        };
        let chain = encode_contexts(&again).unwrap();
        assert_eq!(&chain[16..20], b"DH2C");
        assert_eq!(&chain[24..40], &[6; 16]);
        assert_eq!(
            u32::from_le_bytes(chain[56..60].try_into().unwrap()),
            PERSISTENT
        );
    }

    #[test]
    fn hostile_context_chains_are_errors() {
        let mut msg = vec![0u8; HEADER_LEN + 88 + 24];
        let off = (HEADER_LEN + 88) as u32;
        msg[HEADER_LEN + 80..HEADER_LEN + 84].copy_from_slice(&off.to_le_bytes());
        // Longer than the message.
        msg[HEADER_LEN + 84..HEADER_LEN + 88].copy_from_slice(&1000u32.to_le_bytes());
        assert!(parse_granted(&msg, 0).is_err());
        // A Next pointing at itself.
        msg[HEADER_LEN + 84..HEADER_LEN + 88].copy_from_slice(&24u32.to_le_bytes());
        let at = HEADER_LEN + 88;
        msg[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
        msg[at + 4..at + 6].copy_from_slice(&16u16.to_le_bytes());
        msg[at + 6..at + 8].copy_from_slice(&4u16.to_le_bytes());
        assert!(parse_granted(&msg, 0).is_ok());
        msg[at..at + 4].copy_from_slice(&8u32.to_le_bytes());
        assert!(parse_granted(&msg, 0).is_err());
        // A name past the end.
        msg[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
        msg[at + 4..at + 6].copy_from_slice(&60000u16.to_le_bytes());
        assert!(parse_granted(&msg, 0).is_err());
    }

    #[test]
    fn break_notices_decode() {
        let mut m = vec![0u8; HEADER_LEN];
        m.extend_from_slice(&44u16.to_le_bytes());
        m.extend_from_slice(&5u16.to_le_bytes());
        m.extend_from_slice(&1u32.to_le_bytes());
        m.extend_from_slice(&[7; 16]);
        m.extend_from_slice(&3u32.to_le_bytes());
        m.extend_from_slice(&1u32.to_le_bytes());
        m.extend_from_slice(&[0; 12]);
        assert_eq!(
            break_notice(&m).unwrap(),
            BreakNotice::Lease(LeaseBreak {
                key: [7; 16],
                current: 3,
                new: 1,
                epoch: 5,
                ack_required: true
            })
        );
        assert!(break_notice(&m[..HEADER_LEN + 20]).is_err());
        m[HEADER_LEN] = 45;
        assert!(break_notice(&m).is_err());
    }
}
