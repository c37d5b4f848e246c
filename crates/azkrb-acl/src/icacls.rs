//! Access masks and ACEs as `icacls` writes them: `Everyone:(OI)(CI)(M)`,
//! `S-1-5-21-…-1105:(DENY)(W)`, `BUILTIN\Users:(I)(RX)`.

use crate::acl::{ACCESS_ALLOWED, ACCESS_DENIED, Ace, AceBody, flags};
use crate::error::{Error, Result};
use crate::sid::Sid;

/// Access rights of files and directories (MS-DTYP §2.4.3, MS-SMB2 §2.2.13.1.1).
pub mod rights {
    /// RD: read data, list a directory.
    pub const READ_DATA: u32 = 0x0000_0001;
    /// WD: write data, add a file.
    pub const WRITE_DATA: u32 = 0x0000_0002;
    /// AD: append data, add a subdirectory.
    pub const APPEND_DATA: u32 = 0x0000_0004;
    /// REA: read extended attributes.
    pub const READ_EA: u32 = 0x0000_0008;
    /// WEA: write extended attributes.
    pub const WRITE_EA: u32 = 0x0000_0010;
    /// X: execute, traverse.
    pub const EXECUTE: u32 = 0x0000_0020;
    /// DC: delete a child.
    pub const DELETE_CHILD: u32 = 0x0000_0040;
    /// RA: read attributes.
    pub const READ_ATTRIBUTES: u32 = 0x0000_0080;
    /// WA: write attributes.
    pub const WRITE_ATTRIBUTES: u32 = 0x0000_0100;
    /// DE: delete.
    pub const DELETE: u32 = 0x0001_0000;
    /// RC: read the security descriptor.
    pub const READ_CONTROL: u32 = 0x0002_0000;
    /// WDAC: write the DACL.
    pub const WRITE_DAC: u32 = 0x0004_0000;
    /// WO: write the owner.
    pub const WRITE_OWNER: u32 = 0x0008_0000;
    /// S: synchronize.
    pub const SYNCHRONIZE: u32 = 0x0010_0000;
    /// AS: access the SACL.
    pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
    /// MA: maximum allowed.
    pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
    /// GA: generic all.
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    /// GE: generic execute.
    pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
    /// GW: generic write.
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    /// GR: generic read.
    pub const GENERIC_READ: u32 = 0x8000_0000;

    /// F: full control (FILE_ALL_ACCESS).
    pub const FULL: u32 = 0x001F_01FF;
    /// M: modify.
    pub const MODIFY: u32 = 0x0013_01BF;
    /// RX: read and execute.
    pub const READ_EXECUTE: u32 = 0x0012_00A9;
    /// R: read (FILE_GENERIC_READ).
    pub const READ: u32 = 0x0012_0089;
    /// W: write (FILE_GENERIC_WRITE without READ_CONTROL, as icacls has it).
    pub const WRITE: u32 = 0x0010_0116;
    /// FILE_GENERIC_WRITE.
    pub const FILE_GENERIC_WRITE: u32 = 0x0012_0116;
    /// FILE_GENERIC_EXECUTE.
    pub const FILE_GENERIC_EXECUTE: u32 = 0x0012_00A0;

    /// The specific rights a mask's generic rights stand for, on files (MS-SMB2's mapping):
    /// what an inherited ACE carries.
    pub fn map_generic(mask: u32) -> u32 {
        let mut m = mask & !(GENERIC_ALL | GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE);
        if mask & GENERIC_ALL != 0 {
            m |= FULL;
        }
        if mask & GENERIC_READ != 0 {
            m |= READ;
        }
        if mask & GENERIC_WRITE != 0 {
            m |= FILE_GENERIC_WRITE;
        }
        if mask & GENERIC_EXECUTE != 0 {
            m |= FILE_GENERIC_EXECUTE;
        }
        m
    }
}

/// icacls's simple rights, tried in this order.
const SIMPLE: &[(&str, u32)] = &[
    ("F", rights::FULL),
    ("M", rights::MODIFY),
    ("RX", rights::READ_EXECUTE),
    ("R", rights::READ),
    ("W", rights::WRITE),
    ("D", rights::DELETE),
];

/// icacls's specific rights, by bit.
const SPECIFIC: &[(&str, u32)] = &[
    ("DE", rights::DELETE),
    ("RC", rights::READ_CONTROL),
    ("WDAC", rights::WRITE_DAC),
    ("WO", rights::WRITE_OWNER),
    ("S", rights::SYNCHRONIZE),
    ("AS", rights::ACCESS_SYSTEM_SECURITY),
    ("MA", rights::MAXIMUM_ALLOWED),
    ("GR", rights::GENERIC_READ),
    ("GW", rights::GENERIC_WRITE),
    ("GE", rights::GENERIC_EXECUTE),
    ("GA", rights::GENERIC_ALL),
    ("RD", rights::READ_DATA),
    ("WD", rights::WRITE_DATA),
    ("AD", rights::APPEND_DATA),
    ("REA", rights::READ_EA),
    ("WEA", rights::WRITE_EA),
    ("X", rights::EXECUTE),
    ("DC", rights::DELETE_CHILD),
    ("RA", rights::READ_ATTRIBUTES),
    ("WA", rights::WRITE_ATTRIBUTES),
];

/// A mask as icacls writes it: `F`, `M`, `RX`, `R`, `W`, `D` or a union of them (`RX,W`),
/// `N` for none, else its specific and generic rights (`RD,WD,RA`, `GR,GE`), else a number
/// for bits icacls has no name for.
///
/// ```
/// use azkrb_acl::{icacls::mask_text, rights};
/// assert_eq!(mask_text(rights::MODIFY), "M");
/// assert_eq!(mask_text(rights::READ_EXECUTE | rights::WRITE), "RX,W");
/// assert_eq!(mask_text(rights::READ_DATA | rights::READ_ATTRIBUTES), "RD,RA");
/// ```
pub fn mask_text(mask: u32) -> String {
    if mask == 0 {
        return "N".into();
    }
    let mut left = mask;
    let mut names = Vec::new();
    for (name, bits) in SIMPLE {
        // A right within the mask, adding something still left (R after RX adds nothing).
        if bits & !mask == 0 && bits & left != 0 {
            names.push(*name);
            left &= !bits;
        }
    }
    if left == 0 {
        return names.join(",");
    }
    let known = SPECIFIC.iter().fold(0, |a, (_, b)| a | b);
    if mask & !known != 0 {
        // Bits icacls has no name for.
        return format!("0x{mask:x}");
    }
    SPECIFIC
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// A mask from icacls's rights: simple (`F`, `M`, `RX`, `R`, `W`, `D`, `N`) or specific
/// (`RD,WA,…`), comma-separated; or a number (`0x1f01ff`).
pub fn parse_mask(text: &str) -> Result<u32> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16)
            .map_err(|_| Error::Text(format!("{t:?}: not a hex mask")));
    }
    let mut mask = 0;
    for word in text.split(',').map(str::trim) {
        let bits = SIMPLE
            .iter()
            .chain(SPECIFIC)
            .find(|(n, _)| n.eq_ignore_ascii_case(word))
            .map(|(_, b)| *b)
            .or_else(|| word.eq_ignore_ascii_case("N").then_some(0))
            .ok_or_else(|| {
                Error::Text(format!(
                    "{word:?}: not an icacls right (F, M, RX, R, W, D, N, or RD, WD, AD, REA, \
                     WEA, X, DC, RA, WA, DE, RC, WDAC, WO, S, AS, MA, GR, GW, GE, GA)"
                ))
            })?;
        mask |= bits;
    }
    Ok(mask)
}

/// A trustee as shown: its well-known name, else `names`' name for it, else the SID.
pub fn trustee_text(sid: &Sid, names: &dyn Fn(&Sid) -> Option<String>) -> String {
    sid.name()
        .map(str::to_string)
        .or_else(|| names(sid))
        .unwrap_or_else(|| sid.to_string())
}

/// A trustee from text: a SID (`S-1-…`), a well-known name (`Everyone`,
/// `BUILTIN\Administrators`), an SDDL alias (`BA`), or a name `names` knows.
pub fn parse_trustee(text: &str, names: &dyn Fn(&str) -> Option<Sid>) -> Result<Sid> {
    let text = text.trim();
    if text.len() > 2 && text.as_bytes()[..2].eq_ignore_ascii_case(b"S-") {
        return Sid::parse(text);
    }
    Sid::from_name(text)
        .or_else(|| {
            (text.len() == 2)
                .then(|| Sid::from_sddl_alias(text))
                .flatten()
        })
        .or_else(|| names(text))
        .ok_or_else(|| {
            Error::Text(format!(
                "{text:?}: not a SID or a well-known name (a domain user or group is given by \
                 its SID: names are looked up in a directory this client may not reach)"
            ))
        })
}

/// The inheritance tokens of `flags`, as icacls writes them: `(I)(OI)(CI)(IO)(NP)`.
fn flag_tokens(f: u8) -> String {
    let mut s = String::new();
    for (bit, token) in [
        (flags::INHERITED, "(I)"),
        (flags::OBJECT_INHERIT, "(OI)"),
        (flags::CONTAINER_INHERIT, "(CI)"),
        (flags::INHERIT_ONLY, "(IO)"),
        (flags::NO_PROPAGATE_INHERIT, "(NP)"),
        // An audit entry's: on success, on failure.
        (flags::SUCCESSFUL_ACCESS, "(SA)"),
        (flags::FAILED_ACCESS, "(FA)"),
    ] {
        if f & bit != 0 {
            s.push_str(token);
        }
    }
    s
}

/// An ACE as icacls writes it (`NAME:(OI)(CI)(M)`, `NAME:(DENY)(W)`); other ACE types as
/// `NAME:(type 0x..)(…)`.
pub fn ace_text(ace: &Ace, names: &dyn Fn(&Sid) -> Option<String>) -> String {
    match &ace.body {
        AceBody::Sid { mask, sid, .. } => {
            let kind = match ace.ace_type {
                ACCESS_ALLOWED => String::new(),
                ACCESS_DENIED => "(DENY)".into(),
                crate::acl::SYSTEM_AUDIT => "(AUDIT)".into(),
                t => format!("(type 0x{t:02x})"),
            };
            format!(
                "{}:{}{kind}({})",
                trustee_text(sid, names),
                flag_tokens(ace.flags),
                mask_text(*mask)
            )
        }
        AceBody::Raw(b) => format!(
            "(ACE type 0x{:02x}, {} bytes){}",
            ace.ace_type,
            b.len() + 4,
            flag_tokens(ace.flags)
        ),
    }
}

/// Parses `TRUSTEE:(OI)(CI)(M)` (a `--grant` or `--deny`): an ACE of `ace_type` (allow or
/// deny). Tokens: (OI) (CI) (IO) (NP) and one set of rights; (I) is refused (an inherited
/// entry is made by inheritance, not by hand).
pub fn parse_ace(text: &str, ace_type: u8, names: &dyn Fn(&str) -> Option<Sid>) -> Result<Ace> {
    // The trustee ends at the last ':' before the first '(' (a name has no ':').
    let head = text.find('(').map_or(text, |i| &text[..i]);
    let (trustee, rest) = head
        .rfind(':')
        .map(|i| (&text[..i], &text[i + 1..]))
        .ok_or_else(|| {
            Error::Text(format!(
                "{text:?}: expected TRUSTEE:(RIGHTS), as Everyone:(OI)(CI)(M)"
            ))
        })?;
    let sid = parse_trustee(trustee, names)?;
    let mut f = 0u8;
    let mut mask = None;
    let mut rest = rest.trim();
    while !rest.is_empty() {
        // icacls also takes the rights bare, last: Everyone:F, Everyone:(OI)(CI)M.
        if !rest.starts_with('(') {
            if mask.is_some() {
                return Err(Error::Text(format!(
                    "{text:?}: more than one set of rights"
                )));
            }
            mask = Some(parse_mask(rest)?);
            break;
        }
        let inner = rest
            .strip_prefix('(')
            .and_then(|r| r.split_once(')'))
            .ok_or_else(|| Error::Text(format!("{text:?}: expected (…) tokens after the ':'")))?;
        let (token, after) = inner;
        match token.to_ascii_uppercase().as_str() {
            "OI" => f |= flags::OBJECT_INHERIT,
            "CI" => f |= flags::CONTAINER_INHERIT,
            "IO" => f |= flags::INHERIT_ONLY,
            "NP" => f |= flags::NO_PROPAGATE_INHERIT,
            "I" => {
                return Err(Error::Text(format!(
                    "{text:?}: (I) marks an inherited entry; inheritance makes those"
                )));
            }
            "DENY" if ace_type == ACCESS_DENIED => {}
            _ if mask.is_some() => {
                return Err(Error::Text(format!(
                    "{text:?}: more than one set of rights"
                )));
            }
            _ => mask = Some(parse_mask(token)?),
        }
        rest = after.trim_start();
    }
    let mask = mask.ok_or_else(|| Error::Text(format!("{text:?}: no rights, as (M) or (RX)")))?;
    if f & flags::INHERIT_ONLY != 0 && f & (flags::OBJECT_INHERIT | flags::CONTAINER_INHERIT) == 0 {
        return Err(Error::Text(format!(
            "{text:?}: (IO) without (OI) or (CI) would apply to nothing"
        )));
    }
    Ok(Ace {
        ace_type,
        flags: f,
        body: AceBody::Sid {
            mask,
            sid,
            extra: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<Sid> {
        None
    }
    fn no_name(_: &Sid) -> Option<String> {
        None
    }

    #[test]
    fn masks_read_and_write_as_icacls_has_them() {
        assert_eq!(mask_text(rights::FULL), "F");
        assert_eq!(mask_text(rights::READ), "R");
        assert_eq!(mask_text(rights::READ_EXECUTE), "RX");
        assert_eq!(mask_text(rights::WRITE | rights::READ), "R,W");
        assert_eq!(
            mask_text(rights::GENERIC_READ | rights::GENERIC_EXECUTE),
            "GR,GE"
        );
        assert_eq!(mask_text(0), "N");
        for m in [
            rights::FULL,
            rights::MODIFY,
            rights::READ_EXECUTE | rights::WRITE,
            0x0012_0001,
            rights::GENERIC_READ,
        ] {
            assert_eq!(parse_mask(&mask_text(m)).unwrap(), m, "{m:#x}");
        }
        assert!(parse_mask("Q").is_err());
    }

    #[test]
    fn aces_read_and_write_as_icacls_has_them() {
        let a = parse_ace("Everyone:(OI)(CI)(M)", ACCESS_ALLOWED, &none).unwrap();
        assert_eq!(a.flags, flags::OBJECT_INHERIT | flags::CONTAINER_INHERIT);
        assert_eq!(a.mask(), Some(rights::MODIFY));
        assert_eq!(ace_text(&a, &no_name), "Everyone:(OI)(CI)(M)");
        let d = parse_ace("S-1-5-21-1-2-3-1105:(DENY)(W)", ACCESS_DENIED, &none).unwrap();
        assert_eq!(ace_text(&d, &no_name), "S-1-5-21-1-2-3-1105:(DENY)(W)");
        let ba = parse_ace(r"builtin\administrators:(F)", ACCESS_ALLOWED, &none).unwrap();
        assert_eq!(ba.sid().unwrap().to_string(), "S-1-5-32-544");
        // The bare forms icacls takes.
        let f = parse_ace("Everyone:F", ACCESS_ALLOWED, &none).unwrap();
        assert_eq!(f.mask(), Some(rights::FULL));
        let b = parse_ace("Everyone:(OI)(CI)M", ACCESS_ALLOWED, &none).unwrap();
        assert_eq!(
            (b.flags, b.mask()),
            (
                flags::OBJECT_INHERIT | flags::CONTAINER_INHERIT,
                Some(rights::MODIFY)
            )
        );
        for bad in [
            "Everyone",
            "Everyone:(OI)",
            "Nobody:(F)",
            "Everyone:(I)(F)",
            "Everyone:(IO)(F)",
            "Everyone:(F)(R)",
            "Everyone:(F)R",
            "Everyone:Q",
        ] {
            assert!(parse_ace(bad, ACCESS_ALLOWED, &none).is_err(), "{bad}");
        }
    }
}
