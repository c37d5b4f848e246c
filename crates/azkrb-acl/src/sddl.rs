//! SDDL, the Security Descriptor Definition Language (MS-DTYP §2.5.1), both ways:
//! `O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICIIO;GA;;;CO)`.

use crate::acl::{self, Ace, AceBody, Acl, flags};
use crate::descriptor::{SecurityDescriptor, control};
use crate::error::{Error, Result};
use crate::icacls::rights;
use crate::sid::{DOMAIN_RIDS, Sid};

const ACE_TYPES: &[(&str, u8)] = &[
    ("A", acl::ACCESS_ALLOWED),
    ("D", acl::ACCESS_DENIED),
    ("AU", acl::SYSTEM_AUDIT),
    ("AL", acl::SYSTEM_ALARM),
    ("XA", acl::ACCESS_ALLOWED_CALLBACK),
    ("XD", acl::ACCESS_DENIED_CALLBACK),
    ("XU", acl::SYSTEM_AUDIT_CALLBACK),
    ("ML", acl::SYSTEM_MANDATORY_LABEL),
    ("SP", acl::SYSTEM_SCOPED_POLICY_ID),
];

const ACE_FLAGS: &[(&str, u8)] = &[
    ("OI", flags::OBJECT_INHERIT),
    ("CI", flags::CONTAINER_INHERIT),
    ("NP", flags::NO_PROPAGATE_INHERIT),
    ("IO", flags::INHERIT_ONLY),
    ("ID", flags::INHERITED),
    ("SA", flags::SUCCESSFUL_ACCESS),
    ("FA", flags::FAILED_ACCESS),
];

/// Rights aliases that stand for a whole mask.
const WHOLE_MASKS: &[(&str, u32)] = &[
    ("FA", rights::FULL),
    ("FR", rights::READ),
    ("FW", rights::FILE_GENERIC_WRITE),
    ("FX", rights::FILE_GENERIC_EXECUTE),
];

/// Rights aliases by bit (generic, standard, and the directory-service ones SDDL shares).
const BITS: &[(&str, u32)] = &[
    ("GA", rights::GENERIC_ALL),
    ("GR", rights::GENERIC_READ),
    ("GW", rights::GENERIC_WRITE),
    ("GX", rights::GENERIC_EXECUTE),
    ("RC", rights::READ_CONTROL),
    ("SD", rights::DELETE),
    ("WD", rights::WRITE_DAC),
    ("WO", rights::WRITE_OWNER),
    ("CC", 0x1),
    ("DC", 0x2),
    ("LC", 0x4),
    ("SW", 0x8),
    ("RP", 0x10),
    ("WP", 0x20),
    ("DT", 0x40),
    ("LO", 0x80),
    ("CR", 0x100),
    ("KA", 0x000F_003F),
    ("KR", 0x0002_0019),
    ("KW", 0x0002_0006),
    ("KX", 0x0002_0019),
    ("NR", 0x1),
    ("NW", 0x2),
    ("NX", 0x4),
];

fn sid_text(sid: &Sid) -> String {
    sid.sddl_alias()
        .map(str::to_string)
        .unwrap_or_else(|| sid.to_string())
}

fn mask_text(mask: u32) -> String {
    if let Some((n, _)) = WHOLE_MASKS.iter().find(|(_, m)| *m == mask) {
        return (*n).to_string();
    }
    // Generic and standard rights alone read best as aliases; file rights as a number.
    let standard: u32 = BITS[..8].iter().map(|(_, b)| b).fold(0, |a, b| a | b);
    if mask != 0 && mask & !standard == 0 {
        return BITS[..8]
            .iter()
            .filter(|(_, b)| mask & b != 0)
            .map(|(n, _)| *n)
            .collect();
    }
    format!("0x{mask:x}")
}

fn acl_text(acl: &Acl, protected: bool, auto_inherited: bool, requested: bool) -> Result<String> {
    let mut s = String::new();
    if protected {
        s.push('P');
    }
    if requested {
        s.push_str("AR");
    }
    if auto_inherited {
        s.push_str("AI");
    }
    for ace in &acl.aces {
        let AceBody::Sid { mask, sid, extra } = &ace.body else {
            return Err(Error::Text(format!(
                "an ACE of type 0x{:02x} (an object ACE) has no SDDL form here (use JSON)",
                ace.ace_type
            )));
        };
        let kind = ACE_TYPES
            .iter()
            .find(|(_, t)| *t == ace.ace_type)
            .map(|(n, _)| *n)
            .filter(|_| extra.is_empty())
            .ok_or_else(|| {
                Error::Text(format!(
                    "an ACE of type 0x{:02x} with {} bytes after its SID has no SDDL form here \
                     (use JSON)",
                    ace.ace_type,
                    extra.len()
                ))
            })?;
        let known = ACE_FLAGS.iter().fold(0u8, |a, (_, b)| a | b);
        if ace.flags & !known != 0 {
            return Err(Error::Text(format!(
                "an ACE with flags 0x{:02x} has no SDDL form (use JSON)",
                ace.flags
            )));
        }
        let f: String = ACE_FLAGS
            .iter()
            .filter(|(_, b)| ace.flags & b != 0)
            .map(|(n, _)| *n)
            .collect();
        s.push_str(&format!(
            "({kind};{f};{};;;{})",
            mask_text(*mask),
            sid_text(sid)
        ));
    }
    Ok(s)
}

/// What SDDL can say of `sd`: the same, but for control flags it has no letters for (the
/// defaulted flags, the resource-manager bits, an ACL's flags without that ACL) and the ACL
/// revision, which [`to_string`] leaves out.
pub fn expressible(sd: &SecurityDescriptor) -> SecurityDescriptor {
    let mut keep = 0;
    let dacl_bits =
        control::DACL_PROTECTED | control::DACL_AUTO_INHERITED | control::DACL_AUTO_INHERIT_REQ;
    let sacl_bits =
        control::SACL_PROTECTED | control::SACL_AUTO_INHERITED | control::SACL_AUTO_INHERIT_REQ;
    if sd.dacl.is_some() {
        keep |= dacl_bits;
    } else {
        keep |= control::DACL_PRESENT;
    }
    if sd.sacl.is_some() {
        keep |= sacl_bits;
    } else {
        keep |= control::SACL_PRESENT;
    }
    // SDDL has no ACL revision: it reads back as 2 (4 is for object ACEs, which it has no
    // form for here).
    let revision_2 = |a: &Option<Acl>| {
        a.clone().map(|mut a| {
            a.revision = 2;
            a
        })
    };
    SecurityDescriptor {
        control: sd.control & keep,
        dacl: revision_2(&sd.dacl),
        sacl: revision_2(&sd.sacl),
        ..sd.clone()
    }
}

/// The descriptor in SDDL. ACEs SDDL cannot carry byte for byte (object ACEs, a callback's
/// data, unknown flags) are an error; control flags it has no letters for are left out (see
/// [`expressible`]).
///
/// ```
/// use azkrb_acl::{sddl, SecurityDescriptor};
/// let text = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICIIO;GA;;;CO)(D;;0x116;;;S-1-5-21-1-2-3-1105)";
/// let sd = sddl::parse(text).unwrap();
/// assert_eq!(sddl::to_string(&sd).unwrap(), text);
/// ```
pub fn to_string(sd: &SecurityDescriptor) -> Result<String> {
    let mut s = String::new();
    if let Some(o) = &sd.owner {
        s.push_str(&format!("O:{}", sid_text(o)));
    }
    if let Some(g) = &sd.group {
        s.push_str(&format!("G:{}", sid_text(g)));
    }
    let c = sd.control;
    match &sd.dacl {
        Some(d) => {
            s.push_str("D:");
            s.push_str(&acl_text(
                d,
                c & control::DACL_PROTECTED != 0,
                c & control::DACL_AUTO_INHERITED != 0,
                c & control::DACL_AUTO_INHERIT_REQ != 0,
            )?);
        }
        None if c & control::DACL_PRESENT != 0 => s.push_str("D:NO_ACCESS_CONTROL"),
        None => {}
    }
    match &sd.sacl {
        Some(a) => {
            s.push_str("S:");
            s.push_str(&acl_text(
                a,
                c & control::SACL_PROTECTED != 0,
                c & control::SACL_AUTO_INHERITED != 0,
                c & control::SACL_AUTO_INHERIT_REQ != 0,
            )?);
        }
        None if c & control::SACL_PRESENT != 0 => s.push_str("S:NO_ACCESS_CONTROL"),
        None => {}
    }
    Ok(s)
}

/// A SID in SDDL: the full `S-1-…` form, a well-known alias, or a domain-relative alias
/// (`DA`, `DU` …), which needs `domain`.
fn parse_sid(text: &str, domain: Option<&Sid>) -> Result<Sid> {
    if text.len() == 2 {
        if let Some(s) = Sid::from_sddl_alias(text) {
            return Ok(s);
        }
        if let Some((_, rid)) = DOMAIN_RIDS
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(text))
        {
            let d = domain.ok_or_else(|| {
                Error::Text(format!(
                    "{text:?}: a domain-relative alias, and no domain SID to resolve it \
                     (give the SID, or an owner or group of the domain)"
                ))
            })?;
            let mut sid = d.clone();
            sid.sub_authorities.push(*rid);
            return Ok(sid);
        }
        return Err(Error::Text(format!(
            "{text:?}: not an SDDL SID alias this client knows (give the SID)"
        )));
    }
    Sid::parse(text)
}

fn parse_mask(text: &str) -> Result<u32> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16)
            .map_err(|_| Error::Text(format!("{t:?}: not a hex mask")));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) && !t.is_empty() {
        return t
            .parse()
            .map_err(|_| Error::Text(format!("{t:?}: not a 32-bit mask")));
    }
    if !t.len().is_multiple_of(2) {
        return Err(Error::Text(format!(
            "{t:?}: rights are two-letter aliases or a number"
        )));
    }
    let mut mask = 0;
    for i in (0..t.len()).step_by(2) {
        let a = t
            .get(i..i + 2)
            .ok_or_else(|| Error::Text(format!("{t:?}: not ASCII")))?;
        mask |= WHOLE_MASKS
            .iter()
            .chain(BITS)
            .find(|(n, _)| n.eq_ignore_ascii_case(a))
            .map(|(_, b)| *b)
            .ok_or_else(|| Error::Text(format!("{a:?}: not an SDDL right")))?;
    }
    Ok(mask)
}

fn parse_ace(text: &str, domain: Option<&Sid>) -> Result<Ace> {
    let fields: Vec<&str> = text.split(';').collect();
    if fields.len() != 6 {
        return Err(Error::Text(format!(
            "({text}): an ACE has six fields (type;flags;rights;object;inherited object;SID)"
        )));
    }
    let ace_type = ACE_TYPES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(fields[0]))
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            Error::Text(format!(
                "{:?}: not an ACE type (A, D, AU, AL, XA, XD, XU, ML, SP)",
                fields[0]
            ))
        })?;
    let mut f = 0u8;
    let fl = fields[1];
    if !fl.len().is_multiple_of(2) {
        return Err(Error::Text(format!(
            "{fl:?}: ACE flags are two-letter codes"
        )));
    }
    for i in (0..fl.len()).step_by(2) {
        let code = fl
            .get(i..i + 2)
            .ok_or_else(|| Error::Text(format!("{fl:?}: not ASCII")))?;
        f |= ACE_FLAGS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(code))
            .map(|(_, b)| *b)
            .ok_or_else(|| Error::Text(format!("{code:?}: not an ACE flag")))?;
    }
    if !fields[3].is_empty() || !fields[4].is_empty() {
        return Err(Error::Text(format!(
            "({text}): object ACEs are not taken here"
        )));
    }
    Ok(Ace {
        ace_type,
        flags: f,
        body: AceBody::Sid {
            mask: parse_mask(fields[2])?,
            sid: parse_sid(fields[5].trim(), domain)?,
            extra: Vec::new(),
        },
    })
}

/// An ACL's SDDL (after `D:` or `S:`): its flags, then its ACEs; the control bits the flags
/// set.
fn parse_acl(text: &str, dacl: bool, domain: Option<&Sid>) -> Result<(Option<Acl>, u16)> {
    let (p, ai, ar, present) = if dacl {
        (
            control::DACL_PROTECTED,
            control::DACL_AUTO_INHERITED,
            control::DACL_AUTO_INHERIT_REQ,
            control::DACL_PRESENT,
        )
    } else {
        (
            control::SACL_PROTECTED,
            control::SACL_AUTO_INHERITED,
            control::SACL_AUTO_INHERIT_REQ,
            control::SACL_PRESENT,
        )
    };
    let start = text.find('(').unwrap_or(text.len());
    let (head, mut rest) = text.split_at(start);
    let mut bits = 0;
    let mut h = head.trim();
    // Flags may come before NO_ACCESS_CONTROL (D:PNO_ACCESS_CONTROL).
    let cut = h.len().checked_sub(17).filter(|i| h.is_char_boundary(*i));
    if let Some(i) = cut
        && h[i..].eq_ignore_ascii_case("NO_ACCESS_CONTROL")
    {
        if !rest.trim().is_empty() {
            return Err(Error::Text("NO_ACCESS_CONTROL takes no ACEs".into()));
        }
        let (_, flags) = parse_acl(&h[..i], dacl, domain)?;
        return Ok((None, present | flags));
    }
    while !h.is_empty() {
        if let Some(r) = h.strip_prefix('P') {
            bits |= p;
            h = r;
        } else if let Some(r) = h.strip_prefix("AI") {
            bits |= ai;
            h = r;
        } else if let Some(r) = h.strip_prefix("AR") {
            bits |= ar;
            h = r;
        } else {
            return Err(Error::Text(format!("{head:?}: ACL flags are P, AI and AR")));
        }
    }
    let mut aces = Vec::new();
    while !rest.trim().is_empty() {
        let inner = rest
            .trim_start()
            .strip_prefix('(')
            .and_then(|r| r.split_once(')'))
            .ok_or_else(|| Error::Text(format!("{rest:?}: an ACE is written (…)")))?;
        aces.push(parse_ace(inner.0, domain)?);
        rest = inner.1;
    }
    Ok((Some(Acl::new(aces)), bits))
}

/// Parses SDDL (`O:`, `G:`, `D:`, `S:` parts, each optional).
pub fn parse(text: &str) -> Result<SecurityDescriptor> {
    let mut sd = SecurityDescriptor::default();
    // Split at each part's tag: a tag is a letter and ':' outside parentheses.
    let mut parts: Vec<(char, String)> = Vec::new();
    let mut depth = 0usize;
    let chars: Vec<char> = text.trim().chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 && matches!(c, 'O' | 'G' | 'D' | 'S') && chars.get(i + 1) == Some(&':') {
            parts.push((c, String::new()));
            i += 2;
            continue;
        }
        match parts.last_mut() {
            Some((_, s)) => s.push(c),
            None => {
                return Err(Error::Text(format!(
                    "{text:?}: SDDL starts with O:, G:, D: or S:"
                )));
            }
        }
        i += 1;
    }
    // The domain of domain-relative aliases: that of the owner or group, when given in full.
    let domain = parts
        .iter()
        .filter(|(t, _)| matches!(t, 'O' | 'G'))
        .find_map(|(_, b)| Sid::parse(b.trim()).ok().and_then(|s| s.domain()));
    let domain = domain.as_ref();
    for (tag, body) in parts {
        match tag {
            'O' => sd.owner = Some(parse_sid(body.trim(), domain)?),
            'G' => sd.group = Some(parse_sid(body.trim(), domain)?),
            'D' => {
                let (acl, bits) = parse_acl(&body, true, domain)?;
                sd.dacl = acl;
                sd.control |= bits;
            }
            _ => {
                let (acl, bits) = parse_acl(&body, false, domain)?;
                sd.sacl = acl;
                sd.control |= bits;
            }
        }
    }
    Ok(sd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sddl_reads_what_windows_and_samba_write() {
        let sd = parse("O:S-1-5-21-1-2-3-1000G:S-1-22-2-0D:AI(A;OICIID;0x1f01ff;;;S-1-5-21-1-2-3-1000)(A;;FR;;;WD)").unwrap();
        assert_eq!(
            sd.owner.as_ref().unwrap().to_string(),
            "S-1-5-21-1-2-3-1000"
        );
        assert_eq!(sd.control, control::DACL_AUTO_INHERITED);
        let d = sd.dacl.as_ref().unwrap();
        assert_eq!(d.aces[0].mask(), Some(rights::FULL));
        assert!(d.aces[0].is_inherited());
        assert_eq!(
            to_string(&sd).unwrap(),
            "O:S-1-5-21-1-2-3-1000G:S-1-22-2-0D:AI(A;OICIID;FA;;;S-1-5-21-1-2-3-1000)(A;;FR;;;WD)"
        );
        assert_eq!(
            parse("D:NO_ACCESS_CONTROL").unwrap().control,
            control::DACL_PRESENT
        );
        // Domain-relative aliases, from the owner's domain; flags before NO_ACCESS_CONTROL.
        let sd = parse("O:S-1-5-21-1-2-3-1000G:DUD:(A;;FA;;;DA)").unwrap();
        assert_eq!(sd.group.unwrap().to_string(), "S-1-5-21-1-2-3-513");
        assert_eq!(
            sd.dacl.unwrap().aces[0].sid().unwrap().to_string(),
            "S-1-5-21-1-2-3-512"
        );
        assert!(parse("D:(A;;FA;;;DA)").is_err(), "no domain to resolve DA");
        let p = parse("D:PNO_ACCESS_CONTROL").unwrap();
        assert_eq!(p.control, control::DACL_PRESENT | control::DACL_PROTECTED);
        assert!(p.dacl.is_none());
        for bad in [
            "X:BA",
            "O:ZZ",
            "D:(A;;FA;;;)",
            "D:(A;;QQ;;;WD)",
            "D:(A;OX;FA;;;WD)",
            "D:(A;;FA;;;WD",
            "D:Q(A;;FA;;;WD)",
            "D:(OA;;FA;bf967a86-0de6-11d0-a285-00aa003049e2;;WD)",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
