//! NEGOTIATE, SESSION_SETUP and TREE_CONNECT.

use super::{HEADER_LEN, R, len16, utf16};
use crate::dialect::{Cipher, Dialect, SigningAlgorithm};
use crate::error::{Error, Result};

/// Client capabilities sent in NEGOTIATE.
pub mod caps {
    /// SMB2_GLOBAL_CAP_DFS: the client supports DFS.
    pub const DFS: u32 = 0x1;
    /// SMB2_GLOBAL_CAP_LEASING: the client supports leases.
    pub const LEASING: u32 = 0x2;
    /// Multi-credit (large MTU) requests.
    pub const LARGE_MTU: u32 = 0x4;
    /// SMB2_GLOBAL_CAP_PERSISTENT_HANDLES: the client supports persistent handles (a server
    /// grants them on continuously available shares only to clients that say so).
    pub const PERSISTENT_HANDLES: u32 = 0x10;
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
    /// The ClientGuid to send (None: a random one). A reconnect sends the GUID of the
    /// connection it replaces: servers key leases, and so durable reconnects, by it.
    pub client_guid: Option<[u8; 16]>,
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
            client_guid: None,
        }
    }
}

/// The SecurityMode azkrb sends: signing enabled.
pub const CLIENT_SECURITY_MODE: u16 = 1;

/// The Capabilities azkrb sends in NEGOTIATE for this offer.
pub fn client_capabilities(o: &NegotiateOptions) -> u32 {
    let base = caps::LARGE_MTU | caps::LEASING | caps::PERSISTENT_HANDLES;
    if o.ciphers.is_empty() {
        base
    } else {
        base | caps::ENCRYPTION
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

/// SMB2_SHARE_CAP_CONTINUOUS_AVAILABILITY: the share's opens may be persistent.
pub const SHARE_CAP_CONTINUOUS_AVAILABILITY: u32 = 0x10;

/// The Capabilities of a TREE_CONNECT response.
pub fn tree_connect_capabilities(msg: &[u8]) -> Result<u32> {
    R::new("TREE_CONNECT response", msg).u32(HEADER_LEN + 8)
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
