//! The 64-byte SMB2 header, commands and flags, and the bounded reader every decoder uses.

use crate::error::{Error, Result};
use crate::status::NtStatus;

/// SMB2 commands: the `Command` field of the header (MS-SMB2 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Command {
    /// NEGOTIATE (0): agree on the dialect, capabilities, and for 3.1.1 the cipher, signing
    /// algorithm and pre-authentication hash (§2.2.3).
    Negotiate = 0,
    /// SESSION_SETUP (1): carry the SPNEGO tokens that authenticate a session (§2.2.5).
    SessionSetup = 1,
    /// LOGOFF (2): end a session (§2.2.7).
    Logoff = 2,
    /// TREE_CONNECT (3): connect a session to a share, `\\server\share` (§2.2.9).
    TreeConnect = 3,
    /// TREE_DISCONNECT (4): leave a share (§2.2.11).
    TreeDisconnect = 4,
    /// CREATE (5): open or create a file or directory, returning its FileId (§2.2.13).
    Create = 5,
    /// CLOSE (6): close a FileId (§2.2.15).
    Close = 6,
    /// FLUSH (7): ask the server to write cached data of a file to stable storage (§2.2.17).
    Flush = 7,
    /// READ (8): read bytes of a file (§2.2.19).
    Read = 8,
    /// WRITE (9): write bytes to a file (§2.2.21).
    Write = 9,
    /// LOCK (10): lock or unlock byte ranges of a file (§2.2.26).
    Lock = 10,
    /// IOCTL (11): a file system or named pipe control code, such as
    /// FSCTL_VALIDATE_NEGOTIATE_INFO (§2.2.31).
    Ioctl = 11,
    /// CANCEL (12): cancel an outstanding request; it gets no response of its own (§2.2.30).
    Cancel = 12,
    /// ECHO (13): a keepalive the server answers at once (§2.2.28).
    Echo = 13,
    /// QUERY_DIRECTORY (14): list a directory's entries (§2.2.33).
    QueryDirectory = 14,
    /// CHANGE_NOTIFY (15): wait for changes under a directory (§2.2.35).
    ChangeNotify = 15,
    /// QUERY_INFO (16): read file, file system or security information (§2.2.37).
    QueryInfo = 16,
    /// SET_INFO (17): change file information: size, times, rename, delete on close
    /// (§2.2.39).
    SetInfo = 17,
    /// OPLOCK_BREAK (18): an oplock or lease break notification from the server, or its
    /// acknowledgment (§2.2.23, §2.2.24).
    OplockBreak = 18,
}

impl Command {
    /// The command of a number.
    pub fn from_u16(v: u16) -> Option<Self> {
        use Command::*;
        Some(match v {
            0 => Negotiate,
            1 => SessionSetup,
            2 => Logoff,
            3 => TreeConnect,
            4 => TreeDisconnect,
            5 => Create,
            6 => Close,
            7 => Flush,
            8 => Read,
            9 => Write,
            10 => Lock,
            11 => Ioctl,
            12 => Cancel,
            13 => Echo,
            14 => QueryDirectory,
            15 => ChangeNotify,
            16 => QueryInfo,
            17 => SetInfo,
            18 => OplockBreak,
            _ => return None,
        })
    }

    /// The name, for messages.
    pub fn name(self) -> &'static str {
        use Command::*;
        match self {
            Negotiate => "NEGOTIATE",
            SessionSetup => "SESSION_SETUP",
            Logoff => "LOGOFF",
            TreeConnect => "TREE_CONNECT",
            TreeDisconnect => "TREE_DISCONNECT",
            Create => "CREATE",
            Close => "CLOSE",
            Flush => "FLUSH",
            Read => "READ",
            Write => "WRITE",
            Lock => "LOCK",
            Ioctl => "IOCTL",
            Cancel => "CANCEL",
            Echo => "ECHO",
            QueryDirectory => "QUERY_DIRECTORY",
            ChangeNotify => "CHANGE_NOTIFY",
            QueryInfo => "QUERY_INFO",
            SetInfo => "SET_INFO",
            OplockBreak => "OPLOCK_BREAK",
        }
    }
}

/// Header flags.
pub mod flags {
    /// SERVER_TO_REDIR: a response.
    pub const SERVER_TO_REDIR: u32 = 0x1;
    /// ASYNC_COMMAND.
    pub const ASYNC: u32 = 0x2;
    /// RELATED_OPERATIONS (compounding).
    pub const RELATED: u32 = 0x4;
    /// SIGNED.
    pub const SIGNED: u32 = 0x8;
    /// REPLAY_OPERATION (SMB 3.x): the request is sent again after a reconnect.
    pub const REPLAY_OPERATION: u32 = 0x2000_0000;
}

/// The 64-byte SMB2 header.
pub const HEADER_LEN: usize = 64;

/// A bounded little-endian reader.
pub(crate) struct R<'a> {
    what: &'static str,
    b: &'a [u8],
}

impl<'a> R<'a> {
    pub(crate) fn new(what: &'static str, b: &'a [u8]) -> Self {
        Self { what, b }
    }
    fn bytes(&self, at: usize, n: usize) -> Result<&'a [u8]> {
        at.checked_add(n)
            .and_then(|e| self.b.get(at..e))
            .ok_or_else(|| {
                Error::Malformed(format!(
                    "{}: {n} bytes at offset {at} run past the end ({} bytes)",
                    self.what,
                    self.b.len()
                ))
            })
    }
    pub(crate) fn u8(&self, at: usize) -> Result<u8> {
        Ok(self.bytes(at, 1)?[0])
    }
    pub(crate) fn u16(&self, at: usize) -> Result<u16> {
        let b = self.bytes(at, 2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(crate) fn u32(&self, at: usize) -> Result<u32> {
        let b = self.bytes(at, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(crate) fn u64(&self, at: usize) -> Result<u64> {
        let b = self.bytes(at, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    pub(crate) fn slice(&self, at: usize, n: usize) -> Result<&'a [u8]> {
        self.bytes(at, n)
    }
}

/// A decoded SMB2 header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// CreditCharge.
    pub credit_charge: u16,
    /// Status (responses).
    pub status: NtStatus,
    /// The command number (see [`Command::from_u16`]).
    pub command: u16,
    /// CreditRequest / CreditResponse.
    pub credits: u16,
    /// Flags (see [`flags`]).
    pub flags: u32,
    /// NextCommand (compounding).
    pub next_command: u32,
    /// MessageId.
    pub message_id: u64,
    /// AsyncId (async responses) or TreeId in the low 32 bits.
    pub async_or_tree: u64,
    /// SessionId.
    pub session_id: u64,
    /// The signature (zero unless the SIGNED flag is set).
    pub signature: [u8; 16],
}

impl Header {
    /// A request header.
    pub fn request(command: Command, session_id: u64, tree_id: u32) -> Self {
        Self {
            credit_charge: 1,
            status: NtStatus::SUCCESS,
            command: command as u16,
            credits: 1,
            flags: 0,
            next_command: 0,
            message_id: 0,
            async_or_tree: u64::from(tree_id),
            session_id,
            signature: [0; 16],
        }
    }

    /// The TreeId (synchronous messages).
    pub fn tree_id(&self) -> u32 {
        self.async_or_tree as u32
    }

    /// Encodes into 64 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[0xfe, b'S', b'M', b'B']);
        out.extend_from_slice(&64u16.to_le_bytes());
        out.extend_from_slice(&self.credit_charge.to_le_bytes());
        out.extend_from_slice(&self.status.0.to_le_bytes());
        out.extend_from_slice(&self.command.to_le_bytes());
        out.extend_from_slice(&self.credits.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.next_command.to_le_bytes());
        out.extend_from_slice(&self.message_id.to_le_bytes());
        if self.flags & flags::ASYNC != 0 {
            out.extend_from_slice(&self.async_or_tree.to_le_bytes());
        } else {
            out.extend_from_slice(&0u32.to_le_bytes());
            out.extend_from_slice(&(self.async_or_tree as u32).to_le_bytes());
        }
        out.extend_from_slice(&self.session_id.to_le_bytes());
        out.extend_from_slice(&self.signature);
    }

    /// Decodes the header at the start of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let r = R::new("SMB2 header", b);
        if r.slice(0, 4)? != [0xfe, b'S', b'M', b'B'] {
            return Err(Error::Malformed("not an SMB2 message (protocol id)".into()));
        }
        if r.u16(4)? != 64 {
            return Err(Error::Malformed(
                "SMB2 header StructureSize is not 64".into(),
            ));
        }
        let flags = r.u32(16)?;
        let mut signature = [0u8; 16];
        signature.copy_from_slice(r.slice(48, 16)?);
        Ok(Self {
            credit_charge: r.u16(6)?,
            status: NtStatus(r.u32(8)?),
            command: r.u16(12)?,
            credits: r.u16(14)?,
            flags,
            next_command: r.u32(20)?,
            message_id: r.u64(24)?,
            async_or_tree: if flags & flags::ASYNC != 0 {
                r.u64(32)?
            } else {
                u64::from(r.u32(36)?)
            },
            session_id: r.u64(40)?,
            signature,
        })
    }
}
