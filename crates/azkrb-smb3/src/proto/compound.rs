//! Message buffers for one request or a compound of several (MS-SMB2 §3.2.4.1.4), and the
//! splitting of a received frame into its messages.

use std::ops::Range;

use crate::crypto::TRANSFORM_LEN;
use crate::error::{Error, Result};
use crate::msg::{HEADER_LEN, Header};

/// The largest message either side may send (the NetBIOS length field's 24 bits).
pub const MAX_FRAME: usize = 0x00ff_ffff;

/// The bytes of a request (or compound) on their way out: room for the TRANSFORM_HEADER,
/// then each message (header room, then body); a single message's payload may be appended
/// after its fixed body part without a copy.
#[derive(Debug)]
pub struct Outgoing {
    pub(crate) buf: Vec<u8>,
    /// Where each message lies in `buf`; the last one runs to the end of `buf`.
    pub(crate) starts: Vec<usize>,
    /// A single message's fixed body part, still to be filled in (`fill_fixed`).
    fixed_len: usize,
}

impl Outgoing {
    /// One message whose body is `fixed_len` bytes (filled by [`Outgoing::fill_fixed`])
    /// followed by whatever the caller appends to [`Outgoing::payload`]. `buf` is any
    /// buffer to reuse (cleared first).
    pub fn single(mut buf: Vec<u8>, fixed_len: usize) -> Self {
        buf.clear();
        buf.resize(TRANSFORM_LEN + HEADER_LEN + fixed_len, 0);
        Self {
            buf,
            starts: vec![TRANSFORM_LEN],
            fixed_len,
        }
    }

    /// One message with this body.
    pub fn message(body: &[u8]) -> Self {
        let mut o = Self::single(
            Vec::with_capacity(TRANSFORM_LEN + HEADER_LEN + body.len()),
            0,
        );
        o.buf.extend_from_slice(body);
        o
    }

    /// A compound of these bodies; each message but the last is padded to 8 bytes.
    pub fn chain<'a>(bodies: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut buf = vec![0u8; TRANSFORM_LEN];
        let mut starts = Vec::new();
        for body in bodies {
            while !(buf.len() - TRANSFORM_LEN).is_multiple_of(8) {
                buf.push(0);
            }
            starts.push(buf.len());
            buf.resize(buf.len() + HEADER_LEN, 0);
            buf.extend_from_slice(body);
        }
        Self {
            buf,
            starts,
            fixed_len: 0,
        }
    }

    /// The whole buffer: after [`crate::proto::Ticket::seal`], the wire bytes start at the
    /// offset it returned.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The buffer to append a single message's payload to.
    pub fn payload(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// How many payload bytes follow the fixed part (single messages).
    pub fn payload_len(&self) -> usize {
        self.buf
            .len()
            .saturating_sub(TRANSFORM_LEN + HEADER_LEN + self.fixed_len)
    }

    /// Writes a single message's fixed body part into the room left for it.
    pub fn fill_fixed(&mut self, fixed: &[u8]) -> Result<()> {
        let at = TRANSFORM_LEN + HEADER_LEN;
        match self.buf.get_mut(at..at + self.fixed_len) {
            Some(room) if self.starts.len() == 1 && fixed.len() == self.fixed_len => {
                room.copy_from_slice(fixed);
                Ok(())
            }
            _ => Err(Error::InvalidArgument(
                "a message buffer made for another request".into(),
            )),
        }
    }

    /// The number of messages.
    pub fn count(&self) -> usize {
        self.starts.len()
    }

    /// Where each message lies in the buffer.
    pub(crate) fn spans(&self) -> Vec<Range<usize>> {
        let ends = self.starts.iter().skip(1).copied().chain([self.buf.len()]);
        self.starts
            .iter()
            .copied()
            .zip(ends)
            .map(|(s, e)| s..e)
            .collect()
    }

    /// The message's length on the wire (with a TRANSFORM_HEADER when `encrypted`).
    pub(crate) fn wire_len(&self, encrypted: bool) -> usize {
        self.buf.len() - if encrypted { 0 } else { TRANSFORM_LEN }
    }

    /// Writes each message's header (NextCommand set for all but the last).
    pub(crate) fn write_headers(&mut self, headers: &[Header]) -> Result<()> {
        let spans = self.spans();
        let last = spans
            .len()
            .checked_sub(1)
            .filter(|_| spans.len() == headers.len())
            .ok_or_else(|| Error::Protocol("a header for each message".into()))?;
        for (i, (span, h)) in spans.iter().zip(headers).enumerate() {
            let mut h = h.clone();
            h.next_command = if i == last {
                0
            } else {
                u32::try_from(span.len())
                    .map_err(|_| Error::Protocol("a compound message too large".into()))?
            };
            let mut head = Vec::with_capacity(HEADER_LEN);
            h.encode(&mut head);
            self.buf
                .get_mut(span.start..span.start + HEADER_LEN)
                .ok_or_else(|| Error::Protocol("a message shorter than its header".into()))?
                .copy_from_slice(&head);
        }
        Ok(())
    }
}

/// Splits a (decrypted) frame into its messages: each with its header and its range in
/// `frame`. NextCommand must point 8-byte aligned past a whole header, inside the frame.
pub(crate) fn split(frame: &[u8], start: usize) -> Result<Vec<(Header, Range<usize>)>> {
    let mut out = Vec::new();
    let mut at = start;
    loop {
        let rest = frame
            .get(at..)
            .ok_or_else(|| Error::Malformed("compound offset past the end".into()))?;
        let header = Header::decode(rest)?;
        let next = header.next_command as usize;
        if next == 0 {
            out.push((header, at..frame.len()));
            return Ok(out);
        }
        if next < HEADER_LEN || !next.is_multiple_of(8) || next >= rest.len() {
            return Err(Error::Malformed(format!(
                "NextCommand {next} in a {}-byte message chain",
                rest.len()
            )));
        }
        out.push((header, at..at + next));
        at += next;
    }
}
