//! MS-PAC, read-only: the PACTYPE and its buffers, enough to show who a ticket is for and
//! which SIDs it carries (hybrid users carry their on-prem SID; cloud-only users do not).
//!
//! Every count and offset read from the PAC is checked against the bytes actually present
//! before anything is allocated: a PAC claiming 2^32 SIDs is an error, not an allocation.

use core::fmt;

use crate::error::{Error, Result};
use crate::gss::Reader;

/// PAC buffer types (MS-PAC §2.4).
pub mod buffer_type {
    /// KERB_VALIDATION_INFO (logon information).
    pub const LOGON_INFO: u32 = 1;
    /// PAC_CREDENTIAL_INFO.
    pub const CREDENTIALS: u32 = 2;
    /// Server checksum.
    pub const SERVER_CHECKSUM: u32 = 6;
    /// KDC (privilege server) checksum.
    pub const KDC_CHECKSUM: u32 = 7;
    /// PAC_CLIENT_INFO.
    pub const CLIENT_INFO: u32 = 10;
    /// S4U_DELEGATION_INFO.
    pub const DELEGATION_INFO: u32 = 11;
    /// UPN_DNS_INFO.
    pub const UPN_DNS_INFO: u32 = 12;
    /// PAC_CLIENT_CLAIMS_INFO.
    pub const CLIENT_CLAIMS: u32 = 13;
    /// PAC_DEVICE_INFO.
    pub const DEVICE_INFO: u32 = 14;
    /// PAC_DEVICE_CLAIMS_INFO.
    pub const DEVICE_CLAIMS: u32 = 15;
    /// Ticket checksum.
    pub const TICKET_CHECKSUM: u32 = 16;
    /// PAC_ATTRIBUTES_INFO.
    pub const ATTRIBUTES: u32 = 17;
    /// PAC_REQUESTOR (the requestor's SID).
    pub const REQUESTOR: u32 = 18;
    /// Extended KDC (full PAC) checksum.
    pub const FULL_CHECKSUM: u32 = 19;
}

/// At most this many buffers in a PAC (real ones have under 20).
const MAX_BUFFERS: u32 = 1024;

/// A security identifier.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sid {
    /// Revision (1).
    pub revision: u8,
    /// The 48-bit identifier authority.
    pub authority: u64,
    /// Sub-authorities (the last is the RID for account SIDs).
    pub sub_authorities: Vec<u32>,
}

impl Sid {
    /// This SID with one more sub-authority (a domain SID plus a RID).
    pub fn with_rid(&self, rid: u32) -> Sid {
        let mut s = self.clone();
        s.sub_authorities.push(rid);
        s
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-{}-{}", self.revision, self.authority)?;
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// A group membership: a RID (relative to a domain SID) and attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GroupMembership {
    /// Relative identifier.
    pub rid: u32,
    /// SE_GROUP_* attributes.
    pub attributes: u32,
}

/// A full SID with attributes (extra SIDs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SidAndAttributes {
    /// The SID: a group or other SID outside the account's domain.
    pub sid: Sid,
    /// SE_GROUP_* attributes.
    pub attributes: u32,
}

/// The parts of KERB_VALIDATION_INFO (MS-PAC §2.5) a client wants to show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationInfo {
    /// LogonTime (FILETIME).
    pub logon_time: u64,
    /// The account name (sAMAccountName).
    pub effective_name: String,
    /// The display name.
    pub full_name: String,
    /// The user's RID.
    pub user_id: u32,
    /// The primary group's RID.
    pub primary_group_id: u32,
    /// Global group memberships, relative to `logon_domain_id`.
    pub group_ids: Vec<GroupMembership>,
    /// UserFlags (e.g. 0x20 = extra SIDs present).
    pub user_flags: u32,
    /// The DC that logged the user on.
    pub logon_server: String,
    /// The NetBIOS domain name.
    pub logon_domain_name: String,
    /// The domain SID.
    pub logon_domain_id: Option<Sid>,
    /// UserAccountControl.
    pub user_account_control: u32,
    /// Extra SIDs (universal groups, other domains, cloud SIDs).
    pub extra_sids: Vec<SidAndAttributes>,
    /// The resource group domain SID.
    pub resource_group_domain_sid: Option<Sid>,
    /// Resource group RIDs.
    pub resource_group_ids: Vec<GroupMembership>,
}

impl ValidationInfo {
    /// The user's full SID (domain SID + RID).
    pub fn user_sid(&self) -> Option<Sid> {
        self.logon_domain_id
            .as_ref()
            .map(|d| d.with_rid(self.user_id))
    }

    /// Every group SID the PAC carries: primary group, groups, extra SIDs, resource groups.
    pub fn group_sids(&self) -> Vec<Sid> {
        let mut out = Vec::new();
        if let Some(domain) = &self.logon_domain_id {
            out.push(domain.with_rid(self.primary_group_id));
            out.extend(self.group_ids.iter().map(|g| domain.with_rid(g.rid)));
        }
        out.extend(self.extra_sids.iter().map(|s| s.sid.clone()));
        if let Some(domain) = &self.resource_group_domain_sid {
            out.extend(
                self.resource_group_ids
                    .iter()
                    .map(|g| domain.with_rid(g.rid)),
            );
        }
        out
    }
}

/// UPN_DNS_INFO (MS-PAC §2.10).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UpnDnsInfo {
    /// The user principal name.
    pub upn: String,
    /// The DNS domain name.
    pub dns_domain_name: String,
    /// Flags: 1 = UPN constructed (no explicit UPN), 2 = SAM name and SID present.
    pub flags: u32,
    /// The sAMAccountName (when flag 2 is set).
    pub sam_name: Option<String>,
    /// The user's SID (when flag 2 is set).
    pub sid: Option<Sid>,
}

/// PAC_CLIENT_INFO (MS-PAC §2.7).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientInfo {
    /// The ticket's authtime as a FILETIME.
    pub client_id: u64,
    /// The client's name.
    pub name: String,
}

/// PAC_SIGNATURE_DATA (MS-PAC §2.8).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    /// The checksum type (16 = hmac-sha1-96-aes256, -138 = hmac-md5, ...).
    pub signature_type: i32,
    /// The signature bytes.
    pub signature: Vec<u8>,
    /// The RODC identifier, if present.
    pub rodc_identifier: Option<u16>,
}

/// One PAC_INFO_BUFFER and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacBuffer {
    /// The buffer type (see [`buffer_type`]).
    pub ty: u32,
    /// Offset of the data in the PAC.
    pub offset: u64,
    /// The buffer's bytes, as found at `offset`.
    pub data: Vec<u8>,
}

/// A parsed PAC: all buffers, with the ones azkrb understands decoded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pac {
    /// PACTYPE version (0).
    pub version: u32,
    /// Every buffer, in order.
    pub buffers: Vec<PacBuffer>,
    /// LOGON_INFO, decoded.
    pub logon_info: Option<ValidationInfo>,
    /// UPN_DNS_INFO, decoded.
    pub upn_dns_info: Option<UpnDnsInfo>,
    /// PAC_CLIENT_INFO, decoded.
    pub client_info: Option<ClientInfo>,
    /// The server signature.
    pub server_signature: Option<Signature>,
    /// The KDC signature.
    pub kdc_signature: Option<Signature>,
    /// The requestor SID (PAC_REQUESTOR).
    pub requestor: Option<Sid>,
}

impl Pac {
    /// Parses a PAC (the ad-data of an AD-WIN2K-PAC element).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        const WHAT: &str = "PAC";
        let mut r = Reader::new(WHAT, bytes);
        let count = r.u32_le("cBuffers")?;
        let version = r.u32_le("Version")?;
        if count > MAX_BUFFERS || (count as usize).saturating_mul(16) > r.remaining() {
            return Err(Error::malformed(
                WHAT,
                "cBuffers",
                0,
                format!("{count} buffers do not fit in {} bytes", bytes.len()),
            ));
        }
        let mut pac = Pac {
            version,
            ..Pac::default()
        };
        // Buffers do not overlap in a real PAC; bounding their total size by the input keeps
        // a hostile PAC from making 1,024 copies of itself.
        let mut total = 0usize;
        for _ in 0..count {
            let at = r.pos();
            let ty = r.u32_le("ulType")?;
            let size = r.u32_le("cbBufferSize")?;
            let offset = r.u64_le("Offset")?;
            let data = usize::try_from(offset)
                .ok()
                .and_then(|start| start.checked_add(size as usize).map(|end| (start, end)))
                .and_then(|(start, end)| bytes.get(start..end))
                .ok_or_else(|| {
                    Error::malformed(
                        WHAT,
                        "PAC_INFO_BUFFER",
                        at,
                        format!(
                            "buffer type {ty} at offset {offset} size {size} lies outside the {} bytes",
                            bytes.len()
                        ),
                    )
                })?;
            total = total.saturating_add(data.len());
            if total > bytes.len() {
                return Err(Error::malformed(
                    WHAT,
                    "PAC_INFO_BUFFER",
                    at,
                    "buffers overlap: their sizes add up to more than the PAC",
                ));
            }
            match ty {
                buffer_type::LOGON_INFO => pac.logon_info = Some(decode_validation_info(data)?),
                buffer_type::UPN_DNS_INFO => pac.upn_dns_info = Some(decode_upn_dns_info(data)?),
                buffer_type::CLIENT_INFO => pac.client_info = Some(decode_client_info(data)?),
                buffer_type::SERVER_CHECKSUM => {
                    pac.server_signature = Some(decode_signature(data)?)
                }
                buffer_type::KDC_CHECKSUM => pac.kdc_signature = Some(decode_signature(data)?),
                buffer_type::REQUESTOR => {
                    let mut rr = Reader::new("PAC_REQUESTOR", data);
                    pac.requestor = Some(read_sid_body(&mut rr, None)?);
                }
                _ => {}
            }
            pac.buffers.push(PacBuffer {
                ty,
                offset,
                data: data.to_vec(),
            });
        }
        Ok(pac)
    }
}

fn utf16(r: &Reader<'_>, field: &'static str, bytes: &[u8]) -> Result<String> {
    if !bytes.len().is_multiple_of(2) {
        return Err(r.err(field, "odd number of bytes in a UTF-16 string"));
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| {
            u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    String::from_utf16(&units).map_err(|_| r.err(field, "invalid UTF-16"))
}

fn decode_signature(data: &[u8]) -> Result<Signature> {
    let mut r = Reader::new("PAC_SIGNATURE_DATA", data);
    let signature_type = r.u32_le("SignatureType")? as i32;
    let len = match signature_type {
        -138 => 16,    // hmac-md5
        15 | 16 => 12, // hmac-sha1-96-aes
        19 => 16,      // hmac-sha256-128-aes128
        20 => 24,      // hmac-sha384-192-aes256
        _ => r.remaining(),
    };
    let signature = r.take("Signature", len)?.to_vec();
    let rodc_identifier = if r.remaining() >= 2 {
        Some(r.u16_le("RODCIdentifier")?)
    } else {
        None
    };
    Ok(Signature {
        signature_type,
        signature,
        rodc_identifier,
    })
}

fn decode_client_info(data: &[u8]) -> Result<ClientInfo> {
    let mut r = Reader::new("PAC_CLIENT_INFO", data);
    let client_id = r.u64_le("ClientId")?;
    let len = r.u16_le("NameLength")?;
    let name_bytes = r.take("Name", usize::from(len))?;
    Ok(ClientInfo {
        client_id,
        name: utf16(&r, "Name", name_bytes)?,
    })
}

fn decode_upn_dns_info(data: &[u8]) -> Result<UpnDnsInfo> {
    let mut r = Reader::new("UPN_DNS_INFO", data);
    let upn_len = r.u16_le("UpnLength")?;
    let upn_off = r.u16_le("UpnOffset")?;
    let dns_len = r.u16_le("DnsDomainNameLength")?;
    let dns_off = r.u16_le("DnsDomainNameOffset")?;
    let flags = r.u32_le("Flags")?;
    let slice = |r: &Reader<'_>, field: &'static str, off: u16, len: u16| -> Result<&[u8]> {
        data.get(usize::from(off)..usize::from(off) + usize::from(len))
            .ok_or_else(|| {
                r.err(
                    field,
                    format!("offset {off} length {len} outside {} bytes", data.len()),
                )
            })
    };
    let upn = utf16(&r, "Upn", slice(&r, "UpnOffset", upn_off, upn_len)?)?;
    let dns_domain_name = utf16(
        &r,
        "DnsDomainName",
        slice(&r, "DnsDomainNameOffset", dns_off, dns_len)?,
    )?;
    let mut info = UpnDnsInfo {
        upn,
        dns_domain_name,
        flags,
        sam_name: None,
        sid: None,
    };
    if flags & 2 != 0 {
        let sam_len = r.u16_le("SamNameLength")?;
        let sam_off = r.u16_le("SamNameOffset")?;
        let sid_len = r.u16_le("SidLength")?;
        let sid_off = r.u16_le("SidOffset")?;
        info.sam_name = Some(utf16(
            &r,
            "SamName",
            slice(&r, "SamNameOffset", sam_off, sam_len)?,
        )?);
        let sid_bytes = slice(&r, "SidOffset", sid_off, sid_len)?;
        let mut sr = Reader::new("UPN_DNS_INFO Sid", sid_bytes);
        info.sid = Some(read_sid_body(&mut sr, None)?);
    }
    Ok(info)
}

/// An NDR reader: the bounded reader plus 4-byte alignment relative to the stream start.
struct Ndr<'a> {
    r: Reader<'a>,
}

impl<'a> Ndr<'a> {
    fn align4(&mut self) -> Result<()> {
        let pad = (4 - self.r.pos() % 4) % 4;
        self.r.take("alignment", pad).map(drop)
    }
    fn u16(&mut self, field: &'static str) -> Result<u16> {
        self.r.u16_le(field)
    }
    fn u32(&mut self, field: &'static str) -> Result<u32> {
        self.align4()?;
        self.r.u32_le(field)
    }
    fn filetime(&mut self, field: &'static str) -> Result<u64> {
        self.align4()?;
        self.r.u64_le(field)
    }
    /// RPC_UNICODE_STRING header: (Length, MaximumLength, pointer).
    fn unicode_header(&mut self, field: &'static str) -> Result<(u16, u32)> {
        self.align4()?;
        let len = self.r.u16_le(field)?;
        let _max = self.r.u16_le(field)?;
        let ptr = self.r.u32_le(field)?;
        Ok((len, ptr))
    }
    /// The deferred conformant varying WCHAR array of an RPC_UNICODE_STRING.
    fn unicode_body(&mut self, field: &'static str, header: (u16, u32)) -> Result<String> {
        if header.1 == 0 {
            return Ok(String::new());
        }
        let max = self.u32(field)?;
        let offset = self.u32(field)?;
        let actual = self.u32(field)?;
        if offset != 0 || actual > max || actual as usize * 2 > self.r.remaining() {
            return Err(self.r.err(
                field,
                format!("bad string counts (max {max}, offset {offset}, actual {actual})"),
            ));
        }
        if usize::from(header.0) != actual as usize * 2 {
            return Err(self.r.err(
                field,
                format!("length {} does not match {actual} characters", header.0),
            ));
        }
        let bytes = self.r.take(field, actual as usize * 2)?;
        utf16(&self.r, field, bytes)
    }
    /// A conformant array of GROUP_MEMBERSHIP.
    fn groups(&mut self, field: &'static str, count: u32) -> Result<Vec<GroupMembership>> {
        let max = self.u32(field)?;
        if max != count || (count as usize).saturating_mul(8) > self.r.remaining() {
            return Err(self.r.err(
                field,
                format!(
                    "{count} groups (array says {max}) do not fit in {} bytes",
                    self.r.remaining()
                ),
            ));
        }
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let rid = self.u32(field)?;
            let attributes = self.u32(field)?;
            out.push(GroupMembership { rid, attributes });
        }
        Ok(out)
    }
    /// A deferred RPC_SID (conformant: sub-authority count first).
    fn sid(&mut self, field: &'static str) -> Result<Sid> {
        let count = self.u32(field)?;
        read_sid_body(&mut self.r, Some(count))
    }
}

/// Reads Revision, SubAuthorityCount, IdentifierAuthority and the sub-authorities.
fn read_sid_body(r: &mut Reader<'_>, conformant_count: Option<u32>) -> Result<Sid> {
    let revision = r.u8("Sid.Revision")?;
    let count = r.u8("Sid.SubAuthorityCount")?;
    if count > 15 || conformant_count.is_some_and(|c| c != u32::from(count)) {
        return Err(r.err(
            "Sid.SubAuthorityCount",
            format!("{count} sub-authorities (at most 15, and as announced)"),
        ));
    }
    let auth = r.array::<6>("Sid.IdentifierAuthority")?;
    let authority = auth.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let mut sub_authorities = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        sub_authorities.push(r.u32_le("Sid.SubAuthority")?);
    }
    Ok(Sid {
        revision,
        authority,
        sub_authorities,
    })
}

fn decode_validation_info(data: &[u8]) -> Result<ValidationInfo> {
    let mut n = Ndr {
        r: Reader::new("KERB_VALIDATION_INFO", data),
    };
    // Common type header (MS-RPCE 2.2.6.1) and private header.
    let version = n.r.u8("CommonHeader.Version")?;
    let endian = n.r.u8("CommonHeader.Endianness")?;
    let header_len = n.r.u16_le("CommonHeader.Length")?;
    if version != 1 || endian != 0x10 || header_len != 8 {
        return Err(n.r.err(
            "CommonHeader",
            format!("version {version}, endianness 0x{endian:02x}, length {header_len}: expected 1, 0x10 (little-endian), 8"),
        ));
    }
    n.r.take("CommonHeader.Filler", 4)?;
    let object_len = n.r.u32_le("PrivateHeader.ObjectBufferLength")?;
    if object_len as usize > n.r.remaining().saturating_sub(4) {
        return Err(n.r.err(
            "PrivateHeader.ObjectBufferLength",
            format!("{object_len} bytes announced, {} present", n.r.remaining()),
        ));
    }
    n.r.take("PrivateHeader.Filler", 4)?;
    let _referent = n.u32("top-level pointer")?;

    let mut v = ValidationInfo {
        logon_time: n.filetime("LogonTime")?,
        ..ValidationInfo::default()
    };
    for field in [
        "LogoffTime",
        "KickOffTime",
        "PasswordLastSet",
        "PasswordCanChange",
        "PasswordMustChange",
    ] {
        let _ = field;
        n.filetime("FILETIME")?;
    }
    let effective = n.unicode_header("EffectiveName")?;
    let full = n.unicode_header("FullName")?;
    let script = n.unicode_header("LogonScript")?;
    let profile = n.unicode_header("ProfilePath")?;
    let home = n.unicode_header("HomeDirectory")?;
    let drive = n.unicode_header("HomeDirectoryDrive")?;
    n.u16("LogonCount")?;
    n.u16("BadPasswordCount")?;
    v.user_id = n.u32("UserId")?;
    v.primary_group_id = n.u32("PrimaryGroupId")?;
    let group_count = n.u32("GroupCount")?;
    let group_ptr = n.u32("GroupIds")?;
    v.user_flags = n.u32("UserFlags")?;
    n.r.take("UserSessionKey", 16)?;
    let server = n.unicode_header("LogonServer")?;
    let domain = n.unicode_header("LogonDomainName")?;
    let domain_id_ptr = n.u32("LogonDomainId")?;
    n.u32("Reserved1")?;
    n.u32("Reserved1")?;
    v.user_account_control = n.u32("UserAccountControl")?;
    n.u32("SubAuthStatus")?;
    n.filetime("LastSuccessfulILogon")?;
    n.filetime("LastFailedILogon")?;
    n.u32("FailedILogonCount")?;
    n.u32("Reserved3")?;
    let sid_count = n.u32("SidCount")?;
    let extra_ptr = n.u32("ExtraSids")?;
    let resource_domain_ptr = n.u32("ResourceGroupDomainSid")?;
    let resource_count = n.u32("ResourceGroupCount")?;
    let resource_ptr = n.u32("ResourceGroupIds")?;

    // Deferred pointers, in the order of the fields that refer to them.
    v.effective_name = n.unicode_body("EffectiveName", effective)?;
    v.full_name = n.unicode_body("FullName", full)?;
    for (field, h) in [
        ("LogonScript", script),
        ("ProfilePath", profile),
        ("HomeDirectory", home),
        ("HomeDirectoryDrive", drive),
    ] {
        n.unicode_body(field, h)?;
    }
    if group_ptr != 0 {
        v.group_ids = n.groups("GroupIds", group_count)?;
    }
    v.logon_server = n.unicode_body("LogonServer", server)?;
    v.logon_domain_name = n.unicode_body("LogonDomainName", domain)?;
    if domain_id_ptr != 0 {
        v.logon_domain_id = Some(n.sid("LogonDomainId")?);
    }
    if extra_ptr != 0 {
        let max = n.u32("ExtraSids")?;
        if max != sid_count || (sid_count as usize).saturating_mul(8) > n.r.remaining() {
            return Err(n.r.err(
                "ExtraSids",
                format!(
                    "{sid_count} SIDs (array says {max}) do not fit in {} bytes",
                    n.r.remaining()
                ),
            ));
        }
        let mut heads = Vec::with_capacity(sid_count as usize);
        for _ in 0..sid_count {
            let ptr = n.u32("ExtraSids.Sid")?;
            let attributes = n.u32("ExtraSids.Attributes")?;
            heads.push((ptr, attributes));
        }
        for (ptr, attributes) in heads {
            if ptr != 0 {
                let sid = n.sid("ExtraSids.Sid")?;
                v.extra_sids.push(SidAndAttributes { sid, attributes });
            }
        }
    }
    if resource_domain_ptr != 0 {
        v.resource_group_domain_sid = Some(n.sid("ResourceGroupDomainSid")?);
    }
    if resource_ptr != 0 {
        v.resource_group_ids = n.groups("ResourceGroupIds", resource_count)?;
    }
    Ok(v)
}
