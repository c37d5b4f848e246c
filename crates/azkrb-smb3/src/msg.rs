//! The sans-I/O codec: the SMB2 header and the requests and responses azkrb uses. Requests
//! encode to bytes; responses decode from bytes with every length and offset checked.

use crate::dialect::{Cipher, Dialect, SigningAlgorithm};
use crate::error::{Error, Result};
use crate::status::NtStatus;

/// SMB2 commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
#[allow(missing_docs)]
pub enum Command {
    Negotiate = 0,
    SessionSetup = 1,
    Logoff = 2,
    TreeConnect = 3,
    TreeDisconnect = 4,
    Create = 5,
    Close = 6,
    Flush = 7,
    Read = 8,
    Write = 9,
    Lock = 10,
    Ioctl = 11,
    Cancel = 12,
    Echo = 13,
    QueryDirectory = 14,
    ChangeNotify = 15,
    QueryInfo = 16,
    SetInfo = 17,
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
    /// Command.
    pub command: u16,
    /// CreditRequest / CreditResponse.
    pub credits: u16,
    /// Flags.
    pub flags: u32,
    /// NextCommand (compounding).
    pub next_command: u32,
    /// MessageId.
    pub message_id: u64,
    /// AsyncId (async responses) or TreeId in the low 32 bits.
    pub async_or_tree: u64,
    /// SessionId.
    pub session_id: u64,
    /// Signature.
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

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A length that must fit a u16 field (a name, a token): never cut short by a cast, which
/// would make the server act on a prefix (another file).
fn len16(what: &str, n: usize) -> Result<u16> {
    u16::try_from(n).map_err(|_| {
        Error::InvalidArgument(format!(
            "{what} is {n} bytes, more than a message can carry (65535)"
        ))
    })
}

/// A length that must fit a u32 field.
fn len32(what: &str, n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::InvalidArgument(format!("{what} is {n} bytes, too large")))
}

/// Decodes UTF-16LE bytes.
pub fn from_utf16(b: &[u8]) -> Result<String> {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| Error::Malformed("invalid UTF-16 name".into()))
}

fn pad8(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(8) {
        v.push(0);
    }
}

/// Client capabilities sent in NEGOTIATE.
pub mod caps {
    /// DFS.
    pub const DFS: u32 = 0x1;
    /// Leasing.
    pub const LEASING: u32 = 0x2;
    /// Multi-credit (large MTU) requests.
    pub const LARGE_MTU: u32 = 0x4;
    /// Encryption (3.0/3.0.2).
    pub const ENCRYPTION: u32 = 0x40;
}

/// What to offer in NEGOTIATE.
#[derive(Debug, Clone)]
pub struct NegotiateOptions {
    /// Dialects offered.
    pub dialects: Vec<Dialect>,
    /// Ciphers offered, in order of preference.
    pub ciphers: Vec<Cipher>,
    /// Signing algorithms offered, in order of preference.
    pub signing: Vec<SigningAlgorithm>,
    /// The server name (NETNAME context).
    pub server_name: String,
}

impl Default for NegotiateOptions {
    /// SMB 3.1.1 only (its preauth integrity protects the negotiation), AES-256-GCM first.
    /// 3.0 and 3.0.2 are offered only when a caller lists them: they are then validated
    /// with FSCTL_VALIDATE_NEGOTIATE_INFO after TREE_CONNECT.
    fn default() -> Self {
        Self {
            dialects: vec![Dialect::Smb311],
            ciphers: vec![
                Cipher::Aes256Gcm,
                Cipher::Aes128Gcm,
                Cipher::Aes256Ccm,
                Cipher::Aes128Ccm,
            ],
            signing: vec![SigningAlgorithm::AesGmac, SigningAlgorithm::AesCmac],
            server_name: String::new(),
        }
    }
}

/// The SecurityMode azkrb sends: signing enabled.
pub const CLIENT_SECURITY_MODE: u16 = 1;

/// The Capabilities azkrb sends in NEGOTIATE for this offer.
pub fn client_capabilities(o: &NegotiateOptions) -> u32 {
    if o.ciphers.is_empty() {
        caps::LARGE_MTU
    } else {
        caps::LARGE_MTU | caps::ENCRYPTION
    }
}

/// The NEGOTIATE request body (after the header).
pub fn negotiate_request(
    o: &NegotiateOptions,
    client_guid: [u8; 16],
    salt: [u8; 32],
) -> Result<Vec<u8>> {
    let mut b = Vec::new();
    b.extend_from_slice(&36u16.to_le_bytes());
    b.extend_from_slice(&len16("the dialect list", o.dialects.len())?.to_le_bytes());
    b.extend_from_slice(&CLIENT_SECURITY_MODE.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&client_capabilities(o).to_le_bytes());
    b.extend_from_slice(&client_guid);
    let ctx_offset_at = b.len();
    b.extend_from_slice(&0u32.to_le_bytes()); // NegotiateContextOffset (later)
    let smb311 = o.dialects.contains(&Dialect::Smb311);
    // No ENCRYPTION context at all when no cipher is offered (a count of 0 is invalid).
    let ctx_count: u16 = if smb311 {
        2 + u16::from(!o.ciphers.is_empty()) + u16::from(!o.server_name.is_empty())
    } else {
        0
    };
    b.extend_from_slice(&ctx_count.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    for d in &o.dialects {
        b.extend_from_slice(&d.value().to_le_bytes());
    }
    if smb311 {
        // Offsets are from the start of the SMB2 header.
        while !(HEADER_LEN + b.len()).is_multiple_of(8) {
            b.push(0);
        }
        let offset = (HEADER_LEN + b.len()) as u32;
        b[ctx_offset_at..ctx_offset_at + 4].copy_from_slice(&offset.to_le_bytes());
        let ctx = |b: &mut Vec<u8>, ty: u16, data: &[u8], last: bool| -> Result<()> {
            b.extend_from_slice(&ty.to_le_bytes());
            b.extend_from_slice(&len16("a negotiate context", data.len())?.to_le_bytes());
            b.extend_from_slice(&0u32.to_le_bytes());
            b.extend_from_slice(data);
            if !last {
                while !(HEADER_LEN + b.len()).is_multiple_of(8) {
                    b.push(0);
                }
            }
            Ok(())
        };
        let mut pre = Vec::new();
        pre.extend_from_slice(&1u16.to_le_bytes());
        pre.extend_from_slice(&32u16.to_le_bytes());
        pre.extend_from_slice(&1u16.to_le_bytes()); // SHA-512
        pre.extend_from_slice(&salt);
        ctx(&mut b, 1, &pre, false)?;
        if !o.ciphers.is_empty() {
            let mut enc = len16("the cipher list", o.ciphers.len())?
                .to_le_bytes()
                .to_vec();
            for c in &o.ciphers {
                enc.extend_from_slice(&c.id().to_le_bytes());
            }
            ctx(&mut b, 2, &enc, false)?;
        }
        let mut sig = len16("the signing list", o.signing.len())?
            .to_le_bytes()
            .to_vec();
        for s in &o.signing {
            sig.extend_from_slice(&s.id().to_le_bytes());
        }
        let has_name = !o.server_name.is_empty();
        ctx(&mut b, 8, &sig, !has_name)?;
        if has_name {
            ctx(&mut b, 5, &utf16(&o.server_name), true)?;
        }
    }
    Ok(b)
}

/// The NEGOTIATE response.
#[derive(Debug, Clone)]
pub struct NegotiateResponse {
    /// SecurityMode (1 = signing enabled, 2 = signing required).
    pub security_mode: u16,
    /// The dialect chosen.
    pub dialect: Dialect,
    /// The server's GUID.
    pub server_guid: [u8; 16],
    /// Server capabilities.
    pub capabilities: u32,
    /// MaxTransactSize.
    pub max_transact: u32,
    /// MaxReadSize.
    pub max_read: u32,
    /// MaxWriteSize.
    pub max_write: u32,
    /// The security blob (SPNEGO NegTokenInit2).
    pub security_blob: Vec<u8>,
    /// The cipher chosen (3.1.1 ENCRYPTION_CAPABILITIES), if any.
    pub cipher: Option<Cipher>,
    /// The signing algorithm chosen (3.1.1 SIGNING_CAPABILITIES), if any.
    pub signing: Option<SigningAlgorithm>,
    /// The server's preauth hash algorithm (3.1.1; must be SHA-512 = 1).
    pub preauth_hash: Option<u16>,
}

/// The smallest MaxRead/Write/TransactSize a server may announce (MS-SMB2 §3.2.5.2).
pub const MIN_MAX_SIZE: u32 = 65536;

impl NegotiateResponse {
    /// Decodes a whole NEGOTIATE response message (header included) and checks it.
    pub fn decode(msg: &[u8]) -> Result<Self> {
        let r = R::new("NEGOTIATE response", msg);
        let b = HEADER_LEN;
        if r.u16(b)? != 65 {
            return Err(Error::Malformed(
                "NEGOTIATE response StructureSize is not 65".into(),
            ));
        }
        let security_mode = r.u16(b + 2)?;
        let dialect_value = r.u16(b + 4)?;
        let dialect = Dialect::from_value(dialect_value).ok_or_else(|| {
            Error::Unsupported(format!(
                "the server chose dialect 0x{dialect_value:04x}, which was not offered"
            ))
        })?;
        let ctx_count = r.u16(b + 6)?;
        let capabilities = r.u32(b + 24)?;
        let max_transact = r.u32(b + 28)?;
        let max_read = r.u32(b + 32)?;
        let max_write = r.u32(b + 36)?;
        let sb_off = usize::from(r.u16(b + 56)?);
        let sb_len = usize::from(r.u16(b + 58)?);
        let security_blob = if sb_len == 0 {
            Vec::new()
        } else {
            r.slice(sb_off, sb_len)?.to_vec()
        };
        for (name, v) in [
            ("MaxTransactSize", max_transact),
            ("MaxReadSize", max_read),
            ("MaxWriteSize", max_write),
        ] {
            if v < MIN_MAX_SIZE {
                return Err(Error::Protocol(format!(
                    "the server's {name} is {v}, below the 65536 the protocol requires"
                )));
            }
        }
        let mut server_guid = [0u8; 16];
        server_guid.copy_from_slice(r.slice(b + 8, 16)?);
        let mut resp = Self {
            security_mode,
            dialect,
            server_guid,
            capabilities,
            max_transact,
            max_read,
            max_write,
            security_blob,
            cipher: None,
            signing: None,
            preauth_hash: None,
        };
        if dialect == Dialect::Smb311 {
            let mut off = r.u32(b + 60)? as usize;
            for i in 0..ctx_count {
                let ty = r.u16(off)?;
                let len = usize::from(r.u16(off + 2)?);
                let data = R::new("negotiate context", r.slice(off + 8, len)?);
                match ty {
                    1 => {
                        if data.u16(0)? != 1 {
                            return Err(Error::Protocol(
                                "PREAUTH_INTEGRITY context must name exactly one hash".into(),
                            ));
                        }
                        resp.preauth_hash = Some(data.u16(4)?);
                    }
                    2 => {
                        if data.u16(0)? != 1 {
                            return Err(Error::Protocol(
                                "ENCRYPTION context must name exactly one cipher".into(),
                            ));
                        }
                        let id = data.u16(2)?;
                        resp.cipher = match id {
                            0 => None,
                            id => Some(Cipher::from_id(id).ok_or_else(|| {
                                Error::Protocol(format!("the server chose unknown cipher {id}"))
                            })?),
                        };
                    }
                    8 => {
                        let id = data.u16(2)?;
                        resp.signing = Some(SigningAlgorithm::from_id(id).ok_or_else(|| {
                            Error::Protocol(format!(
                                "the server chose unknown signing algorithm {id}"
                            ))
                        })?);
                    }
                    _ => {}
                }
                off += 8 + len;
                if i + 1 < ctx_count {
                    off = (off + 7) & !7;
                }
            }
            if resp.preauth_hash != Some(1) {
                return Err(Error::Protocol(
                    "SMB 3.1.1 without SHA-512 pre-authentication integrity".into(),
                ));
            }
        }
        Ok(resp)
    }
}

/// The SESSION_SETUP request body.
pub fn session_setup_request(token: &[u8]) -> Result<Vec<u8>> {
    let token_len = len16("the security token", token.len())?;
    let mut b = Vec::with_capacity(24 + token.len());
    b.extend_from_slice(&25u16.to_le_bytes());
    b.push(0); // Flags
    b.push(1); // SecurityMode: signing enabled
    b.extend_from_slice(&0u32.to_le_bytes()); // Capabilities
    b.extend_from_slice(&0u32.to_le_bytes()); // Channel
    b.extend_from_slice(&((HEADER_LEN + 24) as u16).to_le_bytes());
    b.extend_from_slice(&token_len.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes()); // PreviousSessionId
    b.extend_from_slice(token);
    Ok(b)
}

/// Session flags.
pub mod session_flags {
    /// Guest session.
    pub const IS_GUEST: u16 = 1;
    /// Anonymous session.
    pub const IS_NULL: u16 = 2;
    /// The server encrypts everything in this session.
    pub const ENCRYPT_DATA: u16 = 4;
}

/// The SESSION_SETUP response (flags and token).
pub fn session_setup_response(msg: &[u8]) -> Result<(u16, Vec<u8>)> {
    let r = R::new("SESSION_SETUP response", msg);
    let b = HEADER_LEN;
    if r.u16(b)? != 9 {
        return Err(Error::Malformed(
            "SESSION_SETUP response StructureSize is not 9".into(),
        ));
    }
    let flags = r.u16(b + 2)?;
    let off = usize::from(r.u16(b + 4)?);
    let len = usize::from(r.u16(b + 6)?);
    let token = if len == 0 {
        Vec::new()
    } else {
        r.slice(off, len)?.to_vec()
    };
    Ok((flags, token))
}

/// The TREE_CONNECT request body for `\\server\share`.
pub fn tree_connect_request(path: &str) -> Result<Vec<u8>> {
    let p = utf16(path);
    let mut b = Vec::new();
    b.extend_from_slice(&9u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&((HEADER_LEN + 8) as u16).to_le_bytes());
    b.extend_from_slice(&len16("the share path", p.len())?.to_le_bytes());
    b.extend_from_slice(&p);
    Ok(b)
}

/// Share flags.
pub mod share_flags {
    /// The share requires encryption.
    pub const ENCRYPT_DATA: u32 = 0x8000;
}

/// The TREE_CONNECT response: (share type, share flags, maximal access).
pub fn tree_connect_response(msg: &[u8]) -> Result<(u8, u32, u32)> {
    let r = R::new("TREE_CONNECT response", msg);
    let b = HEADER_LEN;
    if r.u16(b)? != 16 {
        return Err(Error::Malformed(
            "TREE_CONNECT response StructureSize is not 16".into(),
        ));
    }
    Ok((r.u8(b + 2)?, r.u32(b + 4)?, r.u32(b + 12)?))
}

/// A 16-byte file id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId(pub [u8; 16]);

/// The CREATE request body.
pub fn create_request(
    path: &str,
    desired_access: u32,
    disposition: u32,
    options: u32,
) -> Result<Vec<u8>> {
    let name = utf16(path);
    let name_len = len16("the path", name.len())?;
    let mut b = Vec::new();
    b.extend_from_slice(&57u16.to_le_bytes());
    b.push(0); // SecurityFlags
    b.push(0); // RequestedOplockLevel: none
    b.extend_from_slice(&2u32.to_le_bytes()); // Impersonation
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&desired_access.to_le_bytes());
    b.extend_from_slice(&0x80u32.to_le_bytes()); // FILE_ATTRIBUTE_NORMAL
    b.extend_from_slice(&7u32.to_le_bytes()); // share read|write|delete
    b.extend_from_slice(&disposition.to_le_bytes());
    b.extend_from_slice(&options.to_le_bytes());
    b.extend_from_slice(&((HEADER_LEN + 56) as u16).to_le_bytes());
    b.extend_from_slice(&name_len.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    if name.is_empty() {
        b.push(0);
    } else {
        b.extend_from_slice(&name);
    }
    Ok(b)
}

/// The parts of a CREATE response azkrb uses.
#[derive(Debug, Clone, Copy)]
pub struct CreateResponse {
    /// The file id.
    pub file_id: FileId,
    /// EndofFile.
    pub size: u64,
    /// FileAttributes.
    pub attributes: u32,
    /// LastWriteTime (FILETIME).
    pub last_write: u64,
    /// Times, sizes and attributes, as FileNetworkOpenInformation would give them.
    pub info: FileInfo,
}

/// Decodes a CREATE response.
pub fn create_response(msg: &[u8]) -> Result<CreateResponse> {
    let r = R::new("CREATE response", msg);
    let b = HEADER_LEN;
    if r.u16(b)? != 89 {
        return Err(Error::Malformed(
            "CREATE response StructureSize is not 89".into(),
        ));
    }
    let mut id = [0u8; 16];
    id.copy_from_slice(r.slice(b + 64, 16)?);
    let info = FileInfo {
        created: r.u64(b + 8)?,
        accessed: r.u64(b + 16)?,
        written: r.u64(b + 24)?,
        changed: r.u64(b + 32)?,
        allocation: r.u64(b + 40)?,
        size: r.u64(b + 48)?,
        attributes: r.u32(b + 56)?,
    };
    Ok(CreateResponse {
        file_id: FileId(id),
        size: info.size,
        attributes: info.attributes,
        last_write: info.written,
        info,
    })
}

/// The CLOSE request body.
pub fn close_request(id: FileId) -> Vec<u8> {
    let mut b = Vec::with_capacity(24);
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&id.0);
    b
}

/// The READ request body.
pub fn read_request(id: FileId, offset: u64, length: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(49);
    b.extend_from_slice(&49u16.to_le_bytes());
    b.push(0x50); // Padding: data at offset 80
    b.push(0);
    b.extend_from_slice(&length.to_le_bytes());
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&id.0);
    b.extend_from_slice(&0u32.to_le_bytes()); // MinimumCount
    b.extend_from_slice(&0u32.to_le_bytes()); // Channel
    b.extend_from_slice(&0u32.to_le_bytes()); // RemainingBytes
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.push(0);
    b
}

/// The data of a READ response (a range of `msg`), which may not be longer than the
/// `requested` length.
pub fn read_response(msg: &[u8], requested: u32) -> Result<std::ops::Range<usize>> {
    let r = R::new("READ response", msg);
    let b = HEADER_LEN;
    if r.u16(b)? != 17 {
        return Err(Error::Malformed(
            "READ response StructureSize is not 17".into(),
        ));
    }
    let off = usize::from(r.u8(b + 2)?);
    let len = r.u32(b + 4)?;
    if len > requested {
        return Err(Error::Protocol(format!(
            "a READ answered with {len} bytes, {requested} were asked for"
        )));
    }
    let len = len as usize;
    if len > 0 && off < HEADER_LEN + 16 {
        return Err(Error::Malformed(format!(
            "READ data at offset {off}, inside the response's header"
        )));
    }
    r.slice(off, len)?;
    Ok(off..off + len)
}

/// The WRITE request body.
pub fn write_request(id: FileId, offset: u64, data: &[u8]) -> Result<Vec<u8>> {
    let mut b = write_request_fixed(id, offset, data.len())?;
    b.extend_from_slice(data);
    Ok(b)
}

/// The size of a WRITE request's fixed part (before the data).
pub const WRITE_FIXED_LEN: usize = 48;

/// The fixed part of a WRITE request for `len` bytes of data (which follow it).
pub fn write_request_fixed(id: FileId, offset: u64, len: usize) -> Result<Vec<u8>> {
    let len = len32("a WRITE", len)?;
    let mut b = Vec::with_capacity(WRITE_FIXED_LEN);
    b.extend_from_slice(&49u16.to_le_bytes());
    b.extend_from_slice(&((HEADER_LEN + 48) as u16).to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&id.0);
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    Ok(b)
}

/// The byte count of a WRITE response.
pub fn write_response(msg: &[u8]) -> Result<u32> {
    let r = R::new("WRITE response", msg);
    if r.u16(HEADER_LEN)? != 17 {
        return Err(Error::Malformed(
            "WRITE response StructureSize is not 17".into(),
        ));
    }
    r.u32(HEADER_LEN + 4)
}

/// The QUERY_DIRECTORY request body (FileIdBothDirectoryInformation).
pub fn query_directory_request(
    id: FileId,
    pattern: &str,
    restart: bool,
    output_len: u32,
) -> Result<Vec<u8>> {
    let p = utf16(pattern);
    let p_len = len16("the search pattern", p.len())?;
    let mut b = Vec::new();
    b.extend_from_slice(&33u16.to_le_bytes());
    b.push(0x25); // FileIdBothDirectoryInformation
    b.push(if restart { 1 } else { 0 });
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&id.0);
    b.extend_from_slice(&((HEADER_LEN + 32) as u16).to_le_bytes());
    b.extend_from_slice(&p_len.to_le_bytes());
    b.extend_from_slice(&output_len.to_le_bytes());
    b.extend_from_slice(&p);
    Ok(b)
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name.
    pub name: String,
    /// EndOfFile.
    pub size: u64,
    /// FileAttributes (0x10 = directory).
    pub attributes: u32,
    /// LastWriteTime (FILETIME).
    pub last_write: u64,
}

impl DirEntry {
    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.attributes & 0x10 != 0
    }
}

/// The fixed part of a FileIdBothDirectoryInformation entry, before its name.
const DIR_ENTRY_FIXED: usize = 104;

/// Decodes a QUERY_DIRECTORY response's entries. The output may be no larger than the
/// `output_len` asked for; entries follow each other 8-byte aligned, each past the end of
/// the one before (with its name), none overlapping: the entry count is bounded by the
/// buffer's size over the fixed part, and memory by the buffer itself.
pub fn query_directory_response(msg: &[u8], output_len: u32) -> Result<Vec<DirEntry>> {
    let r = R::new("QUERY_DIRECTORY response", msg);
    let b = HEADER_LEN;
    if r.u16(b)? != 9 {
        return Err(Error::Malformed(
            "QUERY_DIRECTORY response StructureSize is not 9".into(),
        ));
    }
    let off = usize::from(r.u16(b + 2)?);
    let len = r.u32(b + 4)?;
    if len > output_len {
        return Err(Error::Protocol(format!(
            "a QUERY_DIRECTORY answered with {len} bytes, {output_len} were asked for"
        )));
    }
    let len = len as usize;
    let buf = R::new("FileIdBothDirectoryInformation", r.slice(off, len)?);
    let mut out = Vec::new();
    let mut at = 0usize;
    loop {
        let next = buf.u32(at)? as usize;
        let name_len = buf.u32(at + 60)? as usize;
        let name = from_utf16(buf.slice(at + DIR_ENTRY_FIXED, name_len)?)?;
        out.push(DirEntry {
            name,
            size: buf.u64(at + 40)?,
            attributes: buf.u32(at + 56)?,
            last_write: buf.u64(at + 24)?,
        });
        if next == 0 {
            break;
        }
        // The next entry starts after this one's name, 8-byte aligned: entries never
        // overlap, so each byte of the buffer is decoded once.
        if next < DIR_ENTRY_FIXED + name_len || !next.is_multiple_of(8) {
            return Err(Error::Malformed(format!(
                "directory entry {}: NextEntryOffset {next} overlaps its {}-byte name",
                out.len(),
                name_len
            )));
        }
        at = at
            .checked_add(next)
            .filter(|a| *a < len)
            .ok_or_else(|| Error::Malformed("directory entry offset past the end".into()))?;
    }
    Ok(out)
}

/// The SET_INFO request body for FileDispositionInformation (delete on close) or
/// FileRenameInformation.
pub fn set_info_request(id: FileId, class: u8, data: &[u8]) -> Result<Vec<u8>> {
    let mut b = Vec::new();
    b.extend_from_slice(&33u16.to_le_bytes());
    b.push(1); // InfoType: FILE
    b.push(class);
    b.extend_from_slice(&len32("SET_INFO data", data.len())?.to_le_bytes());
    b.extend_from_slice(&((HEADER_LEN + 32) as u16).to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&id.0);
    b.extend_from_slice(data);
    Ok(b)
}

/// FileRenameInformation (type 2) data for `new_path`.
pub fn rename_info(new_path: &str, replace: bool) -> Result<Vec<u8>> {
    let name = utf16(new_path);
    // A path name is bounded like CREATE's (a u16 length).
    let name_len = len16("the new path", name.len())?;
    let mut d = Vec::new();
    d.push(u8::from(replace));
    d.extend_from_slice(&[0; 7]);
    d.extend_from_slice(&0u64.to_le_bytes()); // RootDirectory
    d.extend_from_slice(&u32::from(name_len).to_le_bytes());
    d.extend_from_slice(&name);
    pad8(&mut d);
    Ok(d)
}

/// An empty request body for commands with a 4-byte structure (LOGOFF, TREE_DISCONNECT, ECHO).
pub fn small_request() -> Vec<u8> {
    vec![4, 0, 0, 0]
}

/// The FLUSH request body.
pub fn flush_request(id: FileId) -> Vec<u8> {
    let mut b = Vec::with_capacity(24);
    b.extend_from_slice(&24u16.to_le_bytes());
    b.extend_from_slice(&[0; 6]);
    b.extend_from_slice(&id.0);
    b
}

/// An ERROR response's status check helper: the status of a response message.
pub fn status_of(msg: &[u8]) -> Result<NtStatus> {
    Ok(Header::decode(msg)?.status)
}

/// QUERY_INFO (InfoType FILE) for `class`, with the given FileId (all-FF in a related
/// compound).
pub fn query_info_request(id: FileId, class: u8, output_len: u32) -> Vec<u8> {
    query_info_request_of(1, id, class, output_len)
}

/// QUERY_INFO of any InfoType (1 FILE, 2 FILESYSTEM, 3 SECURITY, 4 QUOTA).
pub fn query_info_request_of(info_type: u8, id: FileId, class: u8, output_len: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(41);
    b.extend_from_slice(&41u16.to_le_bytes());
    b.push(info_type);
    b.push(class);
    b.extend_from_slice(&output_len.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes()); // InputBufferOffset
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // InputBufferLength
    b.extend_from_slice(&0u32.to_le_bytes()); // AdditionalInformation
    b.extend_from_slice(&0u32.to_le_bytes()); // Flags
    b.extend_from_slice(&id.0);
    b.push(0);
    b
}

/// The output buffer of a QUERY_INFO response, no larger than the `output_len` asked for.
pub fn query_info_response(msg: &[u8], output_len: u32) -> Result<Vec<u8>> {
    let r = R::new("QUERY_INFO response", msg);
    if r.u16(HEADER_LEN)? != 9 {
        return Err(Error::Malformed(
            "QUERY_INFO response StructureSize is not 9".into(),
        ));
    }
    let off = usize::from(r.u16(HEADER_LEN + 2)?);
    let len = r.u32(HEADER_LEN + 4)?;
    if len > output_len {
        return Err(Error::Protocol(format!(
            "a QUERY_INFO answered with {len} bytes, {output_len} were asked for"
        )));
    }
    Ok(r.slice(off, len as usize)?.to_vec())
}

/// FileFsFullSizeInformation (InfoType FILESYSTEM, class 7).
pub const FILE_FS_FULL_SIZE_INFORMATION: u8 = 7;

/// What FileFsFullSizeInformation says about the share's volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsSize {
    /// TotalAllocationUnits.
    pub total_units: u64,
    /// CallerAvailableAllocationUnits (what this user may still use).
    pub caller_available_units: u64,
    /// ActualAvailableAllocationUnits.
    pub actual_available_units: u64,
    /// SectorsPerAllocationUnit.
    pub sectors_per_unit: u32,
    /// BytesPerSector.
    pub bytes_per_sector: u32,
}

impl FsSize {
    /// Decodes FileFsFullSizeInformation.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let r = R::new("FileFsFullSizeInformation", b);
        Ok(Self {
            total_units: r.u64(0)?,
            caller_available_units: r.u64(8)?,
            actual_available_units: r.u64(16)?,
            sectors_per_unit: r.u32(24)?,
            bytes_per_sector: r.u32(28)?,
        })
    }

    /// Bytes per allocation unit (0 if the server's figures overflow).
    pub fn unit_bytes(&self) -> u64 {
        u64::from(self.sectors_per_unit)
            .checked_mul(u64::from(self.bytes_per_sector))
            .unwrap_or(0)
    }
}

/// FileNetworkOpenInformation (class 34).
pub const FILE_NETWORK_OPEN_INFORMATION: u8 = 34;

/// What FileNetworkOpenInformation says about a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileInfo {
    /// CreationTime (FILETIME).
    pub created: u64,
    /// LastAccessTime.
    pub accessed: u64,
    /// LastWriteTime.
    pub written: u64,
    /// ChangeTime.
    pub changed: u64,
    /// AllocationSize.
    pub allocation: u64,
    /// EndOfFile: the size.
    pub size: u64,
    /// FileAttributes (0x10 = directory).
    pub attributes: u32,
}

impl FileInfo {
    /// Decodes FileNetworkOpenInformation.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let r = R::new("FileNetworkOpenInformation", b);
        Ok(Self {
            created: r.u64(0)?,
            accessed: r.u64(8)?,
            written: r.u64(16)?,
            changed: r.u64(24)?,
            allocation: r.u64(32)?,
            size: r.u64(40)?,
            attributes: r.u32(48)?,
        })
    }

    /// True for a directory.
    pub fn is_dir(&self) -> bool {
        self.attributes & 0x10 != 0
    }
}

/// FileEndOfFileInformation (class 20) data: truncate or extend to `size`.
pub fn end_of_file_info(size: u64) -> Vec<u8> {
    size.to_le_bytes().to_vec()
}

/// FileBasicInformation (class 4) data; 0 leaves a time unchanged.
pub fn basic_info(created: u64, accessed: u64, written: u64, changed: u64) -> Vec<u8> {
    let mut d = Vec::with_capacity(40);
    for t in [created, accessed, written, changed] {
        d.extend_from_slice(&t.to_le_bytes());
    }
    d.extend_from_slice(&0u32.to_le_bytes()); // FileAttributes: unchanged
    d.extend_from_slice(&0u32.to_le_bytes());
    d
}

/// The FileId that means "the file the previous request of this compound opened".
pub const RELATED_FILE_ID: FileId = FileId([0xff; 16]);

/// CHANGE_NOTIFY for file and directory name changes and writes in the directory `id`.
pub fn change_notify_request(id: FileId, output_len: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(32);
    b.extend_from_slice(&32u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes()); // Flags: not the whole tree
    b.extend_from_slice(&output_len.to_le_bytes());
    b.extend_from_slice(&id.0);
    b.extend_from_slice(&(0x1u32 | 0x2 | 0x10).to_le_bytes()); // FILE_NAME | DIR_NAME | LAST_WRITE
    b.extend_from_slice(&0u32.to_le_bytes());
    b
}

/// SMB2_0_IOCTL_IS_FSCTL.
const IOCTL_IS_FSCTL: u32 = 1;

/// An IOCTL request body: FSCTL `ctl_code` on `id` with `input`, asking for at most
/// `max_output` bytes back.
pub fn ioctl_request(ctl_code: u32, id: FileId, input: &[u8], max_output: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(56 + input.len());
    b.extend_from_slice(&57u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&ctl_code.to_le_bytes());
    b.extend_from_slice(&id.0);
    let input_offset = if input.is_empty() { 0 } else { HEADER_LEN + 56 };
    b.extend_from_slice(&(input_offset as u32).to_le_bytes());
    b.extend_from_slice(&(input.len() as u32).to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes()); // MaxInputResponse
    b.extend_from_slice(&0u32.to_le_bytes()); // OutputOffset
    b.extend_from_slice(&0u32.to_le_bytes()); // OutputCount
    b.extend_from_slice(&max_output.to_le_bytes());
    b.extend_from_slice(&IOCTL_IS_FSCTL.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(input);
    b
}

/// The output of an IOCTL response, which must answer FSCTL `ctl_code`.
pub fn ioctl_response(msg: &[u8], ctl_code: u32) -> Result<Vec<u8>> {
    let r = R::new("IOCTL response", msg);
    let b = HEADER_LEN;
    if r.u16(b)? != 49 {
        return Err(Error::Malformed(
            "IOCTL response StructureSize is not 49".into(),
        ));
    }
    if r.u32(b + 4)? != ctl_code {
        return Err(Error::Protocol(format!(
            "an IOCTL answer for CtlCode {:#x}, {ctl_code:#x} was asked",
            r.u32(b + 4)?
        )));
    }
    let off = r.u32(b + 32)? as usize;
    let len = r.u32(b + 36)? as usize;
    Ok(r.slice(off, len)?.to_vec())
}
