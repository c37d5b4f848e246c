//! Security identifiers (MS-DTYP §2.4.2): `S-1-5-21-…` text and the binary form, and the
//! well-known SIDs by their names.

use crate::error::{Error, Result};

/// A SID has at most this many sub-authorities.
pub const MAX_SUB_AUTHORITIES: usize = 15;

/// A security identifier.
///
/// ```
/// use azkrb_acl::Sid;
/// let sid: Sid = "S-1-5-32-544".parse().unwrap();
/// assert_eq!(sid.to_string(), "S-1-5-32-544");
/// assert_eq!(sid.name(), Some(r"BUILTIN\Administrators"));
/// assert_eq!(Sid::from_bytes(&sid.to_bytes().unwrap()).unwrap().0, sid);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid {
    /// The identifier authority (48 bits).
    pub authority: u64,
    /// The sub-authorities (at most [`MAX_SUB_AUTHORITIES`]).
    pub sub_authorities: Vec<u32>,
}

/// Well-known SIDs: (SID, SDDL alias, name as Windows shows it).
pub(crate) const WELL_KNOWN: &[(&str, &str, &str)] = &[
    ("S-1-1-0", "WD", "Everyone"),
    ("S-1-3-0", "CO", "CREATOR OWNER"),
    ("S-1-3-1", "CG", "CREATOR GROUP"),
    ("S-1-3-4", "OW", "OWNER RIGHTS"),
    ("S-1-5-2", "NU", r"NT AUTHORITY\NETWORK"),
    ("S-1-5-4", "IU", r"NT AUTHORITY\INTERACTIVE"),
    ("S-1-5-6", "SU", r"NT AUTHORITY\SERVICE"),
    ("S-1-5-7", "AN", r"NT AUTHORITY\ANONYMOUS LOGON"),
    (
        "S-1-5-9",
        "ED",
        r"NT AUTHORITY\ENTERPRISE DOMAIN CONTROLLERS",
    ),
    ("S-1-5-10", "PS", r"NT AUTHORITY\SELF"),
    ("S-1-5-11", "AU", r"NT AUTHORITY\Authenticated Users"),
    ("S-1-5-12", "RC", r"NT AUTHORITY\RESTRICTED"),
    ("S-1-5-18", "SY", r"NT AUTHORITY\SYSTEM"),
    ("S-1-5-19", "LS", r"NT AUTHORITY\LOCAL SERVICE"),
    ("S-1-5-20", "NS", r"NT AUTHORITY\NETWORK SERVICE"),
    ("S-1-5-32-544", "BA", r"BUILTIN\Administrators"),
    ("S-1-5-32-545", "BU", r"BUILTIN\Users"),
    ("S-1-5-32-546", "BG", r"BUILTIN\Guests"),
    ("S-1-5-32-547", "PU", r"BUILTIN\Power Users"),
    ("S-1-5-32-548", "AO", r"BUILTIN\Account Operators"),
    ("S-1-5-32-549", "SO", r"BUILTIN\Server Operators"),
    ("S-1-5-32-550", "PO", r"BUILTIN\Print Operators"),
    ("S-1-5-32-551", "BO", r"BUILTIN\Backup Operators"),
    ("S-1-5-32-552", "RE", r"BUILTIN\Replicator"),
    (
        "S-1-5-32-554",
        "RU",
        r"BUILTIN\Pre-Windows 2000 Compatible Access",
    ),
    ("S-1-5-32-555", "RD", r"BUILTIN\Remote Desktop Users"),
    (
        "S-1-5-32-556",
        "NO",
        r"BUILTIN\Network Configuration Operators",
    ),
    ("S-1-5-32-558", "MU", r"BUILTIN\Performance Monitor Users"),
    ("S-1-5-32-559", "LU", r"BUILTIN\Performance Log Users"),
    ("S-1-5-32-568", "IS", r"BUILTIN\IIS_IUSRS"),
    ("S-1-5-32-569", "CY", r"BUILTIN\Cryptographic Operators"),
    ("S-1-5-32-573", "ER", r"BUILTIN\Event Log Readers"),
    (
        "S-1-5-32-574",
        "CD",
        r"BUILTIN\Certificate Service DCOM Access",
    ),
    ("S-1-5-32-575", "RA", r"BUILTIN\RDS Remote Access Servers"),
    ("S-1-5-32-576", "ES", r"BUILTIN\RDS Endpoint Servers"),
    ("S-1-5-32-577", "MS", r"BUILTIN\RDS Management Servers"),
    ("S-1-5-32-578", "HA", r"BUILTIN\Hyper-V Administrators"),
    (
        "S-1-5-32-579",
        "AA",
        r"BUILTIN\Access Control Assistance Operators",
    ),
    ("S-1-5-32-580", "RM", r"BUILTIN\Remote Management Users"),
    ("S-1-5-33", "WR", r"NT AUTHORITY\WRITE RESTRICTED"),
    (
        "S-1-5-84-0-0-0-0-0",
        "UD",
        r"NT AUTHORITY\USER MODE DRIVERS",
    ),
    (
        "S-1-15-2-1",
        "AC",
        r"APPLICATION PACKAGE AUTHORITY\ALL APPLICATION PACKAGES",
    ),
    (
        "S-1-18-1",
        "AS",
        "Authentication authority asserted identity",
    ),
    ("S-1-18-2", "SS", "Service asserted identity"),
    ("S-1-16-4096", "LW", r"Mandatory Label\Low Mandatory Level"),
    (
        "S-1-16-8192",
        "ME",
        r"Mandatory Label\Medium Mandatory Level",
    ),
    (
        "S-1-16-12288",
        "HI",
        r"Mandatory Label\High Mandatory Level",
    ),
    (
        "S-1-16-16384",
        "SI",
        r"Mandatory Label\System Mandatory Level",
    ),
];

/// SDDL aliases of a domain's accounts and groups, by RID (they need the domain's SID).
pub(crate) const DOMAIN_RIDS: &[(&str, u32)] = &[
    ("LA", 500),
    ("LG", 501),
    ("DA", 512),
    ("DU", 513),
    ("DG", 514),
    ("DC", 515),
    ("DD", 516),
    ("CA", 517),
    ("SA", 518),
    ("EA", 519),
    ("PA", 520),
    ("RO", 521),
    ("CN", 522),
    ("AP", 525),
    ("KA", 526),
    ("EK", 527),
    ("RS", 553),
];

impl Sid {
    /// The domain of an account SID (`S-1-5-21-a-b-c-<rid>` → `S-1-5-21-a-b-c`).
    pub fn domain(&self) -> Option<Sid> {
        (self.authority == 5 && self.sub_authorities.len() == 5 && self.sub_authorities[0] == 21)
            .then(|| Sid {
                authority: 5,
                sub_authorities: self.sub_authorities[..4].to_vec(),
            })
    }

    /// `S-<revision>-<authority>-<sub>…` (revision 1; the authority decimal, or hex `0x…`
    /// as MS-DTYP allows for values of 2^32 and above).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| Error::Sid(format!("{text:?}: {why}"));
        let mut parts = text.split('-');
        if !parts.next().is_some_and(|s| s.eq_ignore_ascii_case("S")) {
            return Err(bad("a SID starts with S-"));
        }
        if parts.next() != Some("1") {
            return Err(bad("only revision 1 exists"));
        }
        let auth = parts.next().ok_or_else(|| bad("no identifier authority"))?;
        let authority = match auth.strip_prefix("0x").or_else(|| auth.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => auth.parse::<u64>(),
        }
        .ok()
        .filter(|a| *a < 1 << 48)
        .ok_or_else(|| bad("the identifier authority is not a 48-bit number"))?;
        let sub_authorities = parts
            .map(|p| {
                p.parse::<u32>()
                    .map_err(|_| bad("a sub-authority is not a 32-bit number"))
            })
            .collect::<Result<Vec<_>>>()?;
        if sub_authorities.len() > MAX_SUB_AUTHORITIES {
            return Err(bad("more than 15 sub-authorities"));
        }
        Ok(Self {
            authority,
            sub_authorities,
        })
    }

    /// The binary form (MS-DTYP §2.4.2.2), and how many bytes of `bytes` it took.
    pub fn from_bytes(bytes: &[u8]) -> Result<(Self, usize)> {
        let short = || Error::Malformed("a SID shorter than its sub-authority count".into());
        let head = bytes.get(..8).ok_or_else(short)?;
        if head[0] != 1 {
            return Err(Error::Malformed(format!(
                "SID revision {} (1 exists)",
                head[0]
            )));
        }
        let count = usize::from(head[1]);
        if count > MAX_SUB_AUTHORITIES {
            return Err(Error::Malformed(format!(
                "a SID of {count} sub-authorities (at most 15)"
            )));
        }
        let authority = head[2..8]
            .iter()
            .fold(0u64, |a, b| (a << 8) | u64::from(*b));
        let len = 8 + 4 * count;
        let body = bytes.get(8..len).ok_or_else(short)?;
        let sub_authorities = body
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok((
            Self {
                authority,
                sub_authorities,
            },
            len,
        ))
    }

    /// The binary form's length.
    pub fn len(&self) -> usize {
        8 + 4 * self.sub_authorities.len()
    }

    /// Never: a SID has at least its 8-byte header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the binary form; more than 15 sub-authorities is an error.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        if self.sub_authorities.len() > MAX_SUB_AUTHORITIES || self.authority >= 1 << 48 {
            return Err(Error::TooLarge(format!(
                "{self}: more than 15 sub-authorities or a 48-bit authority"
            )));
        }
        out.push(1);
        out.push(self.sub_authorities.len() as u8);
        out.extend_from_slice(&self.authority.to_be_bytes()[2..]);
        for s in &self.sub_authorities {
            out.extend_from_slice(&s.to_le_bytes());
        }
        Ok(())
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut v = Vec::with_capacity(self.len());
        self.write(&mut v)?;
        Ok(v)
    }

    /// The name Windows shows for a well-known SID (`Everyone`, `BUILTIN\Administrators`,
    /// `NT AUTHORITY\SYSTEM` …). Other SIDs have none here: naming a domain's users and
    /// groups needs its directory (LSA lookups), which a client of a file share may not be
    /// able to reach; they are shown as SIDs.
    pub fn name(&self) -> Option<&'static str> {
        let text = self.to_string();
        WELL_KNOWN
            .iter()
            .find(|(s, _, _)| *s == text)
            .map(|(_, _, n)| *n)
    }

    /// The SDDL alias of a well-known SID (`WD`, `BA`, `SY` …).
    pub fn sddl_alias(&self) -> Option<&'static str> {
        let text = self.to_string();
        WELL_KNOWN
            .iter()
            .find(|(s, _, _)| *s == text)
            .map(|(_, a, _)| *a)
    }

    /// A SID from its SDDL alias.
    pub fn from_sddl_alias(alias: &str) -> Option<Self> {
        WELL_KNOWN
            .iter()
            .find(|(_, a, _)| a.eq_ignore_ascii_case(alias))
            .and_then(|(s, _, _)| Self::parse(s).ok())
    }

    /// A SID from a well-known name, with or without its domain (`Everyone`,
    /// `Authenticated Users`, `BUILTIN\Administrators`, `SYSTEM`), any case.
    pub fn from_name(name: &str) -> Option<Self> {
        WELL_KNOWN
            .iter()
            .find(|(_, _, n)| {
                n.eq_ignore_ascii_case(name)
                    || n.rsplit('\\')
                        .next()
                        .is_some_and(|short| short.eq_ignore_ascii_case(name))
            })
            .and_then(|(s, _, _)| Self::parse(s).ok())
    }

    /// CREATOR OWNER (S-1-3-0).
    pub fn creator_owner() -> Self {
        Self {
            authority: 3,
            sub_authorities: vec![0],
        }
    }

    /// CREATOR GROUP (S-1-3-1).
    pub fn creator_group() -> Self {
        Self {
            authority: 3,
            sub_authorities: vec![1],
        }
    }
}

impl std::str::FromStr for Sid {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl std::fmt::Display for Sid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.authority < 1 << 32 {
            write!(f, "S-1-{}", self.authority)?;
        } else {
            write!(f, "S-1-0x{:012X}", self.authority)?;
        }
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_read_and_write_as_ms_dtyp_has_them() {
        let sid = Sid::parse("S-1-5-21-1004336348-1177238915-682003330-512").unwrap();
        let bytes = sid.to_bytes().unwrap();
        assert_eq!(&bytes[..8], &[1, 5, 0, 0, 0, 0, 0, 5]);
        assert_eq!(&bytes[8..12], &21u32.to_le_bytes());
        assert_eq!(Sid::from_bytes(&bytes).unwrap(), (sid.clone(), 28));
        assert_eq!(
            sid.to_string(),
            "S-1-5-21-1004336348-1177238915-682003330-512"
        );
        assert_eq!(
            Sid::parse("S-1-0x123456789ABC-1").unwrap().to_string(),
            "S-1-0x123456789ABC-1"
        );
        for bad in [
            "S-2-5",
            "X-1-5",
            "S-1-",
            "S-1-5-x",
            "S-1-281474976710656",
            "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
        ] {
            assert!(Sid::parse(bad).is_err(), "{bad}");
        }
        // Truncated, a count past the limit, another revision.
        assert!(Sid::from_bytes(&bytes[..27]).is_err());
        assert!(Sid::from_bytes(&[1, 16, 0, 0, 0, 0, 0, 5]).is_err());
        assert!(Sid::from_bytes(&[2, 0, 0, 0, 0, 0, 0, 5]).is_err());
        assert!(Sid::from_bytes(&[]).is_err());
    }

    #[test]
    fn well_known_sids_have_names_and_aliases() {
        assert_eq!(Sid::from_name("everyone").unwrap().to_string(), "S-1-1-0");
        assert_eq!(
            Sid::from_name("Authenticated Users").unwrap().to_string(),
            "S-1-5-11"
        );
        assert_eq!(
            Sid::from_name(r"nt authority\system").unwrap().to_string(),
            "S-1-5-18"
        );
        assert_eq!(
            Sid::from_sddl_alias("BA").unwrap().name(),
            Some(r"BUILTIN\Administrators")
        );
        assert_eq!(Sid::creator_owner().sddl_alias(), Some("CO"));
        assert_eq!(Sid::parse("S-1-5-21-1-2-3-500").unwrap().name(), None);
    }
}
