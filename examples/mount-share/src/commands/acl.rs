//! `acl get` and `acl set`: a file's or directory's Windows ACL (its security descriptor),
//! shown and edited as icacls does; `-r` passes a directory's inheritable entries down to
//! everything below it, as Windows computes them.

use azkrb::acl::acl::{ACCESS_ALLOWED, ACCESS_DENIED};
use azkrb::acl::descriptor::control;
use azkrb::acl::inherit::{Edit, apply, reinherit};
use azkrb::acl::{Acl, SecurityDescriptor, icacls, sddl};
use azkrb::smb3::security;

use super::files::open;
use crate::failure::{Failure, usage};

/// What `acl set` was asked to do.
pub(crate) struct AclSet {
    pub(crate) grant: Vec<String>,
    pub(crate) grant_replace: Vec<String>,
    pub(crate) deny: Vec<String>,
    pub(crate) remove: Vec<String>,
    pub(crate) inheritance: Option<String>,
    pub(crate) sddl: Option<String>,
    pub(crate) reset: bool,
    pub(crate) recursive: bool,
}

/// Names for SIDs: none beyond the well-known ones (see `azkrb::acl::Sid::name`).
fn no_name(_: &azkrb::acl::Sid) -> Option<String> {
    None
}

fn no_sid(_: &str) -> Option<azkrb::acl::Sid> {
    None
}

fn bad(e: azkrb::acl::Error) -> Failure {
    usage(e.to_string())
}

async fn read(share: &azkrb::Share, path: &str) -> Result<SecurityDescriptor, Failure> {
    read_parts(
        share,
        path,
        security::parts::OWNER | security::parts::GROUP | security::parts::DACL,
    )
    .await
}

async fn read_parts(
    share: &azkrb::Share,
    path: &str,
    which: u32,
) -> Result<SecurityDescriptor, Failure> {
    let bytes = share
        .run(|t| async move { t.security(path, which).await })
        .await?;
    SecurityDescriptor::from_bytes(&bytes).map_err(|e| {
        Failure::from(azkrb::smb3::Error::Malformed(format!(
            "{path}: the server's security descriptor: {e}"
        )))
    })
}

/// Writes the `which` parts of `sd` (security::parts), and nothing else.
async fn write(
    share: &azkrb::Share,
    path: &str,
    sd: &SecurityDescriptor,
    which: u32,
) -> Result<(), Failure> {
    let mut out = sd.clone();
    if which & security::parts::OWNER == 0 {
        out.owner = None;
    }
    if which & security::parts::GROUP == 0 {
        out.group = None;
    }
    out.sacl = None;
    let bytes = out.to_bytes().map_err(bad)?;
    share
        .run(|t| {
            let bytes = &bytes;
            async move { t.set_security(path, which, bytes).await }
        })
        .await?;
    Ok(())
}

fn control_words(c: u16) -> Vec<&'static str> {
    [
        (control::DACL_PROTECTED, "DACL protected"),
        (control::DACL_AUTO_INHERITED, "DACL auto-inherited"),
        (
            control::DACL_AUTO_INHERIT_REQ,
            "DACL auto-inherit requested",
        ),
    ]
    .iter()
    .filter(|(b, _)| c & b != 0)
    .map(|(_, n)| *n)
    .collect()
}

/// `acl get`: the descriptor as icacls shows it, or its SDDL, or JSON.
pub(crate) async fn get(
    g: &crate::cli::Global,
    unc: &str,
    as_sddl: bool,
    json: bool,
    sacl: bool,
) -> Result<(), Failure> {
    let (share, p) = open(g, unc, false).await?;
    let mut which = security::parts::OWNER | security::parts::GROUP | security::parts::DACL;
    if sacl {
        which |= security::parts::SACL;
    }
    let sd = read_parts(&share, &p, which).await?;
    if as_sddl {
        println!("{}", sddl::to_string(&sd).map_err(bad)?);
        return Ok(());
    }
    let trustee = |s: &Option<azkrb::acl::Sid>| {
        s.as_ref()
            .map(|s| icacls::trustee_text(s, &no_name))
            .unwrap_or_else(|| "(none)".into())
    };
    if json {
        let aces: Vec<serde_json::Value> = sd
            .dacl
            .iter()
            .flat_map(|d| d.aces.iter())
            .map(|a| {
                serde_json::json!({
                    "type": match a.ace_type {
                        ACCESS_ALLOWED => "allow".to_string(),
                        ACCESS_DENIED => "deny".to_string(),
                        azkrb::acl::acl::SYSTEM_AUDIT => "audit".to_string(),
                        t => format!("0x{t:02x}"),
                    },
                    "flags": a.flags,
                    "inherited": a.is_inherited(),
                    "mask": a.mask(),
                    "rights": a.mask().map(icacls::mask_text),
                    "sid": a.sid().map(|s| s.to_string()),
                    "name": a.sid().and_then(|s| s.name()),
                    "text": icacls::ace_text(a, &no_name),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "path": unc,
                "owner": sd.owner.as_ref().map(|s| s.to_string()),
                "group": sd.group.as_ref().map(|s| s.to_string()),
                "control": control_words(sd.control),
                "dacl": sd.dacl.as_ref().map(|_| aces),
                "sacl": sd.sacl.as_ref().map(|s| s.aces.iter().map(|a| icacls::ace_text(a, &no_name)).collect::<Vec<_>>()),
                "sddl": sddl::to_string(&sd).ok(),
            })
        );
        return Ok(());
    }
    let pad = " ".repeat(unc.chars().count() + 1);
    println!("{unc} Owner: {}", trustee(&sd.owner));
    println!("{pad}Group: {}", trustee(&sd.group));
    let words = control_words(sd.control);
    if !words.is_empty() {
        println!("{pad}{}", words.join(", "));
    }
    if let Some(sacl) = &sd.sacl {
        for a in &sacl.aces {
            println!("{pad}SACL {}", icacls::ace_text(a, &no_name));
        }
    }
    match &sd.dacl {
        None => println!("{pad}(no DACL: everyone has every right)"),
        Some(d) if d.aces.is_empty() => println!("{pad}(an empty DACL: no one has any right)"),
        Some(d) => {
            for a in &d.aces {
                println!("{pad}{}", icacls::ace_text(a, &no_name));
            }
        }
    }
    Ok(())
}

/// The parent of a path inside the share ("" for a top-level name).
fn parent_of(path: &str) -> &str {
    path.rsplit_once(['/', '\\']).map_or("", |(p, _)| p)
}

/// `acl set`: the edits applied in icacls's order (a whole descriptor first, then
/// inheritance, removals, grants and denies), then, with `-r`, the inherited entries of
/// everything below made again from the new ones.
pub(crate) async fn set(g: &crate::cli::Global, unc: &str, how: AclSet) -> Result<(), Failure> {
    let mut edits = Vec::new();
    if let Some(i) = &how.inheritance {
        edits.push(match i.as_str() {
            "e" => Edit::InheritanceEnable,
            "d" => Edit::InheritanceDisable,
            "r" => Edit::InheritanceRemove,
            other => return Err(usage(format!("--inheritance {other}: e, d or r"))),
        });
    }
    for r in &how.remove {
        edits.push(Edit::Remove(
            icacls::parse_trustee(r, &no_sid).map_err(bad)?,
        ));
    }
    for a in &how.grant {
        edits.push(Edit::Grant(
            icacls::parse_ace(a, ACCESS_ALLOWED, &no_sid).map_err(bad)?,
        ));
    }
    for a in &how.grant_replace {
        edits.push(Edit::GrantReplace(
            icacls::parse_ace(a, ACCESS_ALLOWED, &no_sid).map_err(bad)?,
        ));
    }
    for a in &how.deny {
        edits.push(Edit::Deny(
            icacls::parse_ace(a, ACCESS_DENIED, &no_sid).map_err(bad)?,
        ));
    }
    let replacement = how
        .sddl
        .as_deref()
        .map(sddl::parse)
        .transpose()
        .map_err(bad)?;
    if edits.is_empty() && replacement.is_none() && !how.reset {
        return Err(usage(
            "nothing to set: give --grant, --grant-replace, --deny, --remove, --inheritance, \
             --sddl or --reset",
        ));
    }
    if replacement
        .as_ref()
        .is_some_and(|r| r.sacl.is_some() || r.control & control::SACL_PRESENT != 0)
    {
        return Err(usage(
            "--sddl: a SACL (S:) is not written here; give O:, G: and D: parts",
        ));
    }
    let (share, p) = open(g, unc, false).await?;
    let is_dir = {
        let p = &p;
        let info = share.run(|t| async move { t.stat(p).await }).await?;
        info.attributes & 0x10 != 0
    };
    if how.recursive && !is_dir {
        return Err(usage(format!(
            "{unc}: -r passes entries down a directory; this is a file"
        )));
    }
    let mut sd = read(&share, &p).await?;
    // Only the parts asked for are written: the DACL for an edit; what --sddl names.
    let mut which = if edits.is_empty() && !how.reset {
        0
    } else {
        security::parts::DACL
    };
    if let Some(r) = replacement {
        if r.owner.is_some() {
            sd.owner = r.owner;
            which |= security::parts::OWNER;
        }
        if r.group.is_some() {
            sd.group = r.group;
            which |= security::parts::GROUP;
        }
        if r.dacl.is_some() || r.control & control::DACL_PRESENT != 0 {
            sd.dacl = r.dacl;
            sd.control = r.control;
            which |= security::parts::DACL;
        }
    }
    if which == 0 {
        return Err(usage("--sddl: no O:, G: or D: part to write"));
    }
    if how.reset {
        // icacls /reset: only what the parent passes down, inheritance on.
        if p.is_empty() {
            return Err(usage(
                "--reset: the share's root has no parent to inherit from",
            ));
        }
        if let Some(d) = sd.dacl.as_mut() {
            d.aces.retain(|a| a.is_inherited());
        }
        sd.control &= !control::DACL_PROTECTED;
        edits.push(Edit::InheritanceEnable);
    }
    let enabling = edits.contains(&Edit::InheritanceEnable);
    for e in &edits {
        apply(&mut sd, e);
    }
    if enabling && !p.is_empty() {
        // Inheriting again: the parent's inheritable entries come back, as Windows adds them.
        let parent = read(&share, parent_of(&p)).await?;
        sd = reinherit(&sd, &parent.dacl.unwrap_or_default(), is_dir);
    }
    write(&share, &p, &sd, which).await?;
    if how.recursive {
        let (n, failed) = propagate(&share, &p, &sd.dacl.clone().unwrap_or_default()).await?;
        eprintln!(
            "{unc}: inherited entries made again below it ({n} files and directories written)"
        );
        if !failed.is_empty() {
            for (path, e) in &failed {
                eprintln!("  {path}: {}", e.message);
            }
            return Err(Failure {
                code: failed[0].1.code,
                message: format!(
                    "{} of the files and directories below {unc} could not be done (listed above)",
                    failed.len()
                ),
            });
        }
    }
    Ok(())
}

/// Makes the inherited entries of everything below directory `dir` again from its DACL
/// `acl`, depth first, carrying on past a file or directory that cannot be done (as icacls
/// `/C`): returns how many were written, and what failed. Reparse points (links, junctions)
/// are not followed, a directory is walked once (by its FileId), and a protected DACL's
/// subtree inherits nothing from here.
async fn propagate(
    share: &azkrb::Share,
    dir: &str,
    acl: &Acl,
) -> Result<(usize, Vec<(String, Failure)>), Failure> {
    const REPARSE_POINT: u32 = 0x400;
    let mut written = 0;
    let mut failed = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // (directory, its DACL) still to walk.
    let mut todo = vec![(dir.to_string(), acl.clone())];
    while let Some((d, parent)) = todo.pop() {
        let listed = share
            .run(|t| {
                let d = &d;
                async move { t.list(d).await }
            })
            .await;
        let entries = match listed {
            Ok(e) => e,
            Err(e) => {
                failed.push((d.clone(), Failure::from(e)));
                continue;
            }
        };
        for e in entries {
            if e.name == "." || e.name == ".." || e.attributes & REPARSE_POINT != 0 {
                continue;
            }
            let child = if d.is_empty() {
                e.name.clone()
            } else {
                format!("{d}/{}", e.name)
            };
            let is_dir = e.attributes & 0x10 != 0;
            if is_dir && e.file_id != 0 && !seen.insert(e.file_id) {
                continue;
            }
            let done = async {
                let sd = read(share, &child).await?;
                let again = reinherit(&sd, &parent, is_dir);
                let changed = again != sd;
                if changed {
                    write(share, &child, &again, security::parts::DACL).await?;
                }
                Ok::<_, Failure>((again, changed))
            }
            .await;
            match done {
                Ok((again, changed)) => {
                    written += usize::from(changed);
                    if is_dir && !again.dacl_protected() {
                        todo.push((child, again.dacl.unwrap_or_default()));
                    }
                }
                Err(f) => failed.push((child, f)),
            }
        }
    }
    Ok((written, failed))
}
