//! Inheritance as Windows computes it (MS-DTYP §2.5.3.4): what a file or directory gets from
//! its parent's DACL, and the edits icacls makes (grant, deny, remove, inheritance on and
//! off).

use crate::acl::{ACCESS_ALLOWED, Ace, AceBody, Acl, flags};
use crate::descriptor::{SecurityDescriptor, control};
use crate::icacls::rights;
use crate::sid::Sid;

/// The entries a child gets from `parent` (its parent's DACL), `container` for a directory;
/// CREATOR OWNER and CREATOR GROUP become `owner` and `group` in the entries that apply to
/// the child itself, and generic rights become the file rights they stand for there.
///
/// For each of the parent's entries: a file gets the (OI) ones; a directory the (CI) ones
/// as its own, and every (OI) or (CI) one, unless (NP), to pass on (inherit-only when it
/// does not apply to the directory itself, or when applying it changed it). All come with
/// (I).
pub fn inherited(
    parent: &Acl,
    container: bool,
    owner: Option<&Sid>,
    group: Option<&Sid>,
) -> Vec<Ace> {
    let mut out = Vec::new();
    for ace in &parent.aces {
        let AceBody::Sid { mask, sid, extra } = &ace.body else {
            continue;
        };
        let f = ace.flags;
        let oi = f & flags::OBJECT_INHERIT != 0;
        let ci = f & flags::CONTAINER_INHERIT != 0;
        let np = f & flags::NO_PROPAGATE_INHERIT != 0;
        let audit = f & (flags::SUCCESSFUL_ACCESS | flags::FAILED_ACCESS);
        let applies = if container { ci } else { oi };
        let passes_on = container && !np && (oi || ci);
        if !applies && !passes_on {
            continue;
        }
        // The entry as it applies to the child itself.
        let mut own_sid = sid.clone();
        if *sid == Sid::creator_owner() {
            if let Some(o) = owner {
                own_sid = o.clone();
            }
        } else if *sid == Sid::creator_group()
            && let Some(g) = group
        {
            own_sid = g.clone();
        }
        let own_mask = rights::map_generic(*mask);
        // As Windows (and Samba's create_descriptor) split them: an entry naming CREATOR
        // OWNER or GROUP, or carrying generic rights, applies changed and passes on as it
        // was, whatever the substitution made of it here.
        let changed = *sid == Sid::creator_owner()
            || *sid == Sid::creator_group()
            || own_mask != *mask
            || own_sid != *sid;
        let entry = |flags: u8, mask: u32, sid: Sid| Ace {
            ace_type: ace.ace_type,
            flags,
            body: AceBody::Sid {
                mask,
                sid,
                extra: extra.clone(),
            },
        };
        if applies && passes_on && !changed {
            // One entry does both.
            out.push(entry(
                (f & (flags::OBJECT_INHERIT | flags::CONTAINER_INHERIT)) | flags::INHERITED | audit,
                *mask,
                sid.clone(),
            ));
            continue;
        }
        if applies {
            out.push(entry(flags::INHERITED | audit, own_mask, own_sid));
        }
        if passes_on {
            out.push(entry(
                (f & (flags::OBJECT_INHERIT | flags::CONTAINER_INHERIT))
                    | flags::INHERIT_ONLY
                    | flags::INHERITED
                    | audit,
                *mask,
                sid.clone(),
            ));
        }
    }
    out
}

/// `child`'s descriptor after its parent's DACL became `parent`: its own (explicit) entries
/// kept, its inherited ones made again from `parent`, in canonical order; a protected DACL
/// inherits nothing and is left as it is.
pub fn reinherit(child: &SecurityDescriptor, parent: &Acl, container: bool) -> SecurityDescriptor {
    let mut sd = child.clone();
    if sd.dacl_protected() {
        return sd;
    }
    let mut aces: Vec<Ace> = child
        .dacl
        .as_ref()
        .map(|d| {
            d.aces
                .iter()
                .filter(|a| !a.is_inherited())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    aces.extend(inherited(
        parent,
        container,
        child.owner.as_ref(),
        child.group.as_ref(),
    ));
    let mut acl = Acl {
        revision: child.dacl.as_ref().map_or(2, |d| d.revision),
        aces,
    };
    acl.canonicalize();
    sd.dacl = Some(acl);
    sd.control |= control::DACL_AUTO_INHERITED;
    sd
}

/// An edit icacls makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// `/grant`: the rights added to the trustee's explicit allow entry of the same
    /// inheritance (made when there is none).
    Grant(Ace),
    /// `/grant:r`: the trustee's explicit allow entries, whatever their inheritance,
    /// replaced by this one.
    GrantReplace(Ace),
    /// `/deny`: the rights added to the trustee's explicit deny entry of the same
    /// inheritance (made when there is none), and taken out of its explicit allow entries
    /// (an allow left with none is removed).
    Deny(Ace),
    /// `/remove`: every explicit entry of the trustee taken out.
    Remove(Sid),
    /// `/inheritance:e`: the DACL inherits again.
    InheritanceEnable,
    /// `/inheritance:d`: inheritance off, the inherited entries kept as explicit copies.
    InheritanceDisable,
    /// `/inheritance:r`: inheritance off, the inherited entries removed.
    InheritanceRemove,
}

/// Applies `edit` to `sd`'s DACL (made when absent), keeping canonical order.
pub fn apply(sd: &mut SecurityDescriptor, edit: &Edit) {
    // A NULL DACL (everyone, everything) stays one for edits that take away or change
    // inheritance only: made into an empty DACL it would lock everyone out.
    let adds = matches!(edit, Edit::Grant(_) | Edit::GrantReplace(_) | Edit::Deny(_));
    if sd.dacl.is_none() && !adds {
        if matches!(edit, Edit::InheritanceDisable | Edit::InheritanceRemove) {
            sd.control |= control::DACL_PROTECTED;
        } else if matches!(edit, Edit::InheritanceEnable) {
            sd.control &= !control::DACL_PROTECTED;
        }
        return;
    }
    let acl = sd.dacl.get_or_insert_with(Acl::default);
    let explicit_of = |a: &Ace, ace_type: u8, sid: Option<&Sid>| {
        !a.is_inherited() && a.ace_type == ace_type && a.sid() == sid
    };
    let same_inheritance =
        |a: &Ace, b: &Ace| a.flags & flags::INHERITANCE == b.flags & flags::INHERITANCE;
    match edit {
        Edit::Grant(ace) | Edit::Deny(ace) => {
            let add = ace.mask().unwrap_or(0);
            if let Edit::Deny(_) = edit {
                // The denied rights leave the trustee's explicit grants.
                for a in acl.aces.iter_mut() {
                    if explicit_of(a, ACCESS_ALLOWED, ace.sid())
                        && let AceBody::Sid { mask, .. } = &mut a.body
                    {
                        *mask &= !add;
                    }
                }
                acl.aces.retain(|a| {
                    !(explicit_of(a, ACCESS_ALLOWED, ace.sid()) && a.mask() == Some(0))
                });
            }
            let existing = acl
                .aces
                .iter_mut()
                .find(|a| explicit_of(a, ace.ace_type, ace.sid()) && same_inheritance(a, ace));
            match existing.map(|a| &mut a.body) {
                Some(AceBody::Sid { mask, .. }) => *mask |= add,
                _ => acl.aces.push(ace.clone()),
            }
        }
        Edit::GrantReplace(ace) => {
            acl.aces
                .retain(|a| !explicit_of(a, ACCESS_ALLOWED, ace.sid()));
            acl.aces.push(ace.clone());
        }
        Edit::Remove(sid) => acl
            .aces
            .retain(|a| a.is_inherited() || a.sid() != Some(sid)),
        Edit::InheritanceEnable => sd.control &= !control::DACL_PROTECTED,
        Edit::InheritanceDisable => {
            for a in &mut acl.aces {
                a.flags &= !flags::INHERITED;
            }
            sd.control |= control::DACL_PROTECTED;
        }
        Edit::InheritanceRemove => {
            acl.aces.retain(|a| !a.is_inherited());
            sd.control |= control::DACL_PROTECTED;
        }
    }
    if let Some(acl) = sd.dacl.as_mut() {
        acl.canonicalize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acl::flags::*;

    fn sid(s: &str) -> Sid {
        s.parse().unwrap()
    }

    #[test]
    fn children_inherit_as_windows_computes_it() {
        let alice = sid("S-1-5-21-1-2-3-1000");
        let parent = Acl::new(vec![
            Ace::allow(
                sid("S-1-5-18"),
                rights::FULL,
                OBJECT_INHERIT | CONTAINER_INHERIT,
            ),
            Ace::allow(
                Sid::creator_owner(),
                rights::GENERIC_ALL,
                OBJECT_INHERIT | CONTAINER_INHERIT | INHERIT_ONLY,
            ),
            Ace::allow(
                sid("S-1-5-32-545"),
                rights::READ_EXECUTE,
                CONTAINER_INHERIT | NO_PROPAGATE_INHERIT,
            ),
            Ace::allow(sid("S-1-5-11"), rights::MODIFY, OBJECT_INHERIT),
            Ace::allow(sid("S-1-5-32-544"), rights::FULL, 0),
        ]);
        // A file: the (OI) entries, applied.
        let file = inherited(&parent, false, Some(&alice), None);
        assert_eq!(
            file,
            vec![
                Ace::allow(sid("S-1-5-18"), rights::FULL, INHERITED),
                Ace::allow(alice.clone(), rights::FULL, INHERITED),
                Ace::allow(sid("S-1-5-11"), rights::MODIFY, INHERITED),
            ]
        );
        // A directory: SYSTEM as it is; CREATOR OWNER passed on (inherit-only) and applied
        // as alice; Users (NP) applied only; Authenticated Users (OI) passed on to files.
        let dir = inherited(&parent, true, Some(&alice), None);
        assert_eq!(
            dir,
            vec![
                Ace::allow(
                    sid("S-1-5-18"),
                    rights::FULL,
                    OBJECT_INHERIT | CONTAINER_INHERIT | INHERITED
                ),
                Ace::allow(alice.clone(), rights::FULL, INHERITED),
                Ace::allow(
                    Sid::creator_owner(),
                    rights::GENERIC_ALL,
                    OBJECT_INHERIT | CONTAINER_INHERIT | INHERIT_ONLY | INHERITED
                ),
                Ace::allow(sid("S-1-5-32-545"), rights::READ_EXECUTE, INHERITED),
                Ace::allow(
                    sid("S-1-5-11"),
                    rights::MODIFY,
                    OBJECT_INHERIT | INHERIT_ONLY | INHERITED
                ),
            ]
        );
    }

    #[test]
    fn edits_as_icacls_makes_them() {
        let everyone = Sid::from_name("Everyone").unwrap();
        let mut sd = SecurityDescriptor {
            dacl: Some(Acl::new(vec![
                Ace::allow(sid("S-1-5-18"), rights::FULL, INHERITED),
                Ace::allow(everyone.clone(), rights::READ, 0),
            ])),
            ..Default::default()
        };
        apply(
            &mut sd,
            &Edit::Grant(Ace::allow(everyone.clone(), rights::MODIFY, 0)),
        );
        apply(
            &mut sd,
            &Edit::Deny(Ace::deny(sid("S-1-5-21-1-2-3-1105"), rights::WRITE, 0)),
        );
        let d = sd.dacl.clone().unwrap();
        assert_eq!(d.aces.len(), 3, "the grant replaced Everyone's read");
        assert!(d.aces[0].is_deny() && d.is_canonical());
        assert_eq!(d.aces[1].mask(), Some(rights::MODIFY));
        // icacls /deny adds to the trustee's deny and takes the rights out of its grants;
        // /grant adds; /grant:r replaces.
        let bob = sid("S-1-5-21-1-2-3-1105");
        let mut e = SecurityDescriptor {
            dacl: Some(Acl::new(vec![Ace::allow(bob.clone(), rights::MODIFY, 0)])),
            ..Default::default()
        };
        apply(
            &mut e,
            &Edit::Deny(Ace::deny(bob.clone(), rights::WRITE_DATA, 0)),
        );
        apply(
            &mut e,
            &Edit::Deny(Ace::deny(bob.clone(), rights::READ_DATA, 0)),
        );
        let d = &e.dacl.as_ref().unwrap().aces;
        assert_eq!(d[0].mask(), Some(rights::WRITE_DATA | rights::READ_DATA));
        assert_eq!(
            d[1].mask(),
            Some(rights::MODIFY & !(rights::WRITE_DATA | rights::READ_DATA))
        );
        apply(
            &mut e,
            &Edit::Grant(Ace::allow(bob.clone(), rights::WRITE_DAC, 0)),
        );
        assert_eq!(
            e.dacl.as_ref().unwrap().aces[1].mask(),
            Some((rights::MODIFY & !(rights::WRITE_DATA | rights::READ_DATA)) | rights::WRITE_DAC)
        );
        apply(
            &mut e,
            &Edit::GrantReplace(Ace::allow(bob.clone(), rights::READ, OBJECT_INHERIT)),
        );
        let allows: Vec<_> = e
            .dacl
            .as_ref()
            .unwrap()
            .aces
            .iter()
            .filter(|a| !a.is_deny())
            .collect();
        assert_eq!(allows.len(), 1);
        assert_eq!(allows[0].mask(), Some(rights::READ));
        // A deny that takes every right of a grant removes it.
        apply(
            &mut e,
            &Edit::Deny(Ace::deny(bob.clone(), rights::READ, OBJECT_INHERIT)),
        );
        assert!(e.dacl.as_ref().unwrap().aces.iter().all(|a| a.is_deny()));
        // A NULL DACL stays one for edits that take away.
        let mut null = SecurityDescriptor::default();
        apply(&mut null, &Edit::Remove(bob.clone()));
        apply(&mut null, &Edit::InheritanceRemove);
        assert!(null.dacl.is_none() && null.dacl_protected());
        apply(&mut sd, &Edit::Remove(everyone));
        assert_eq!(sd.dacl.as_ref().unwrap().aces.len(), 2);
        apply(&mut sd, &Edit::InheritanceDisable);
        assert!(
            sd.dacl_protected()
                && sd
                    .dacl
                    .as_ref()
                    .unwrap()
                    .aces
                    .iter()
                    .all(|a| !a.is_inherited())
        );
        apply(&mut sd, &Edit::InheritanceEnable);
        assert!(!sd.dacl_protected());
        let mut r = SecurityDescriptor {
            dacl: Some(Acl::new(vec![Ace::allow(
                sid("S-1-5-18"),
                rights::FULL,
                INHERITED,
            )])),
            ..Default::default()
        };
        apply(&mut r, &Edit::InheritanceRemove);
        assert!(r.dacl.as_ref().unwrap().aces.is_empty() && r.dacl_protected());
        // A child's own entries stay; its inherited ones follow the new parent.
        let child = SecurityDescriptor {
            dacl: Some(Acl::new(vec![
                Ace::allow(sid("S-1-5-18"), rights::FULL, INHERITED),
                Ace::deny(sid("S-1-5-21-1-2-3-1105"), rights::WRITE, 0),
            ])),
            ..Default::default()
        };
        let parent = Acl::new(vec![Ace::allow(
            sid("S-1-5-11"),
            rights::MODIFY,
            OBJECT_INHERIT | CONTAINER_INHERIT,
        )]);
        let again = reinherit(&child, &parent, false);
        let aces = &again.dacl.as_ref().unwrap().aces;
        assert_eq!(aces.len(), 2);
        assert!(aces[0].is_deny());
        assert_eq!(
            aces[1],
            Ace::allow(sid("S-1-5-11"), rights::MODIFY, INHERITED)
        );
    }
}
