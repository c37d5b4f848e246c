//! QUERY_INFO and its information classes, CHANGE_NOTIFY and IOCTL.

use super::{FileId, HEADER_LEN, R};
use crate::error::{Error, Result};

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

/// QUERY_INFO of InfoType SECURITY for the descriptor's `parts` (AdditionalInformation:
/// OWNER 1, GROUP 2, DACL 4, SACL 8).
pub fn query_security_request(id: FileId, parts: u32, output_len: u32) -> Vec<u8> {
    let mut b = query_info_request_of(3, id, 0, output_len);
    // AdditionalInformation, after StructureSize, the two types, OutputBufferLength,
    // InputBufferOffset, Reserved and InputBufferLength.
    b[16..20].copy_from_slice(&parts.to_le_bytes());
    b
}

/// SET_INFO of InfoType SECURITY: `descriptor` (self-relative) for its `parts`.
pub fn set_security_request(id: FileId, parts: u32, descriptor: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(descriptor.len())
        .map_err(|_| Error::Protocol("a security descriptor over 4 GiB".into()))?;
    let mut b = Vec::with_capacity(32 + descriptor.len());
    b.extend_from_slice(&33u16.to_le_bytes());
    b.push(3); // InfoType: SECURITY
    b.push(0);
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&((HEADER_LEN + 32) as u16).to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&parts.to_le_bytes());
    b.extend_from_slice(&id.0);
    b.extend_from_slice(descriptor);
    Ok(b)
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
