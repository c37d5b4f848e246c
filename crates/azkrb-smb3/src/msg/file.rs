//! File operations: CREATE, CLOSE, READ, WRITE, QUERY_DIRECTORY, SET_INFO, FLUSH.

use super::durable::{CreateContexts, Granted, OPLOCK_LEVEL_LEASE, encode_contexts, parse_granted};
use super::{FileInfo, HEADER_LEN, Header, R, from_utf16, len16, len32, pad8, utf16};
use crate::error::{Error, Result};
use crate::status::NtStatus;

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
    create_request_with(
        path,
        desired_access,
        disposition,
        options,
        &CreateContexts::default(),
    )
}

/// The CREATE request body with create contexts (a lease, a durable handle request or
/// reconnect), sharing the file for read, write and delete.
pub fn create_request_with(
    path: &str,
    desired_access: u32,
    disposition: u32,
    options: u32,
    contexts: &CreateContexts,
) -> Result<Vec<u8>> {
    create_request_shared(
        path,
        desired_access,
        SHARE_ALL,
        disposition,
        options,
        contexts,
    )
}

/// FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE.
pub const SHARE_ALL: u32 = 7;

/// The CREATE request body with `share_access` (FILE_SHARE_READ 1, _WRITE 2, _DELETE 4)
/// and create contexts.
pub fn create_request_shared(
    path: &str,
    desired_access: u32,
    share_access: u32,
    disposition: u32,
    options: u32,
    contexts: &CreateContexts,
) -> Result<Vec<u8>> {
    let name = utf16(path);
    let name_len = len16("the path", name.len())?;
    let chain = encode_contexts(contexts)?;
    let oplock = if contexts.lease.is_some() {
        OPLOCK_LEVEL_LEASE
    } else {
        0
    };
    let mut b = Vec::new();
    b.extend_from_slice(&57u16.to_le_bytes());
    b.push(0); // SecurityFlags
    b.push(oplock); // RequestedOplockLevel
    b.extend_from_slice(&2u32.to_le_bytes()); // Impersonation
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&0u64.to_le_bytes());
    b.extend_from_slice(&desired_access.to_le_bytes());
    b.extend_from_slice(&0x80u32.to_le_bytes()); // FILE_ATTRIBUTE_NORMAL
    b.extend_from_slice(&share_access.to_le_bytes());
    b.extend_from_slice(&disposition.to_le_bytes());
    b.extend_from_slice(&options.to_le_bytes());
    b.extend_from_slice(&((HEADER_LEN + 56) as u16).to_le_bytes());
    b.extend_from_slice(&name_len.to_le_bytes());
    // CreateContextsOffset and Length, set below when there are contexts.
    let ctx_field = b.len();
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    if name.is_empty() {
        b.push(0);
    } else {
        b.extend_from_slice(&name);
    }
    if !chain.is_empty() {
        // The name starts at an 8-aligned offset (120); the chain follows it 8-aligned.
        pad8(&mut b);
        let at = len32("a CREATE request", HEADER_LEN + b.len())?;
        b[ctx_field..ctx_field + 4].copy_from_slice(&at.to_le_bytes());
        let n = len32("the create contexts", chain.len())?;
        b[ctx_field + 4..ctx_field + 8].copy_from_slice(&n.to_le_bytes());
        b.extend_from_slice(&chain);
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
    /// The lease and durability granted.
    pub granted: Granted,
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
        // The open is made whatever its contexts say: malformed ones grant nothing (the
        // open is then neither leased nor durable), they do not fail it.
        granted: {
            let level = r.slice(b + 2, 1)?[0];
            parse_granted(msg, level).unwrap_or(Granted {
                oplock_level: level,
                ..Granted::default()
            })
        },
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
    /// The entry's file name, without its directory.
    pub name: String,
    /// EndOfFile.
    pub size: u64,
    /// FileAttributes (0x10 = directory).
    pub attributes: u32,
    /// LastWriteTime (FILETIME).
    pub last_write: u64,
    /// Every time, the sizes and the attributes, as a stat of the entry would give them:
    /// a listing is a stat of each entry.
    pub info: super::FileInfo,
    /// The server's FileId of the entry (0 when it has none to give).
    pub file_id: u64,
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
        let info = super::FileInfo {
            created: buf.u64(at + 8)?,
            accessed: buf.u64(at + 16)?,
            written: buf.u64(at + 24)?,
            changed: buf.u64(at + 32)?,
            size: buf.u64(at + 40)?,
            allocation: buf.u64(at + 48)?,
            attributes: buf.u32(at + 56)?,
        };
        out.push(DirEntry {
            name,
            size: info.size,
            attributes: info.attributes,
            last_write: info.written,
            info,
            file_id: buf.u64(at + 96)?,
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
