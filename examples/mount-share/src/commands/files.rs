//! `ls`, `stat`: looking at the share.

use std::io::Write;

use azkrb::UncPath;

use crate::cli::{Global, from_ccache};
use crate::failure::{Failure, local_io, usage};

/// Opens the share of `unc`; the path inside it must be non-empty when `need_path`.
pub(crate) async fn open(
    g: &Global,
    unc: &str,
    need_path: bool,
) -> Result<(azkrb::Share, String), Failure> {
    let parsed = UncPath::parse(unc)?;
    if need_path && parsed.path.is_empty() {
        return Err(usage(format!("{unc}: needs a path inside the share")));
    }
    let files = from_ccache(g)?;
    let share = files.open(unc).await?;
    Ok((share, parsed.path))
}

pub(crate) fn filetime(ft: u64) -> String {
    let unix = (ft / 10_000_000) as i64 - 11_644_473_600;
    azkrb::asn1::KerberosTime(unix).to_string()
}

pub(crate) async fn ls(g: &Global, unc: &str, json: bool) -> Result<(), Failure> {
    let (share, p) = open(g, unc, false).await?;
    let mut entries = share
        .run(|t| {
            let p = &p;
            async move { t.list(p).await }
        })
        .await?;
    entries.retain(|e| e.name != "." && e.name != "..");
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = std::io::stdout().lock();
    for e in &entries {
        let line = if json {
            serde_json::json!({
                "name": e.name,
                "size": e.size,
                "directory": e.is_dir(),
                "attributes": e.attributes,
                "modified": filetime(e.last_write),
            })
            .to_string()
        } else {
            format!(
                "{} {:>14} {} {}",
                if e.is_dir() { "d" } else { "-" },
                e.size,
                filetime(e.last_write),
                e.name
            )
        };
        writeln!(out, "{line}").map_err(|e| local_io("standard output", e))?;
    }
    share.disconnect().await;
    Ok(())
}

pub(crate) async fn stat(g: &Global, unc: &str, json: bool) -> Result<(), Failure> {
    let (share, p) = open(g, unc, false).await?;
    let i = share
        .run(|t| {
            let p = &p;
            async move { t.stat(p).await }
        })
        .await?;
    let directory = i.attributes & 0x10 != 0;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "path": unc,
                "size": i.size,
                "allocation": i.allocation,
                "directory": directory,
                "attributes": i.attributes,
                "created": filetime(i.created),
                "accessed": filetime(i.accessed),
                "modified": filetime(i.written),
                "changed": filetime(i.changed),
            })
        );
    } else {
        println!("  Path: {unc}");
        println!(
            "  Size: {}  Allocated: {}  {}",
            i.size,
            i.allocation,
            if directory { "directory" } else { "file" }
        );
        println!("  Attributes: 0x{:08x}", i.attributes);
        println!("  Created:  {}", filetime(i.created));
        println!("  Accessed: {}", filetime(i.accessed));
        println!("  Modified: {}", filetime(i.written));
        println!("  Changed:  {}", filetime(i.changed));
    }
    share.disconnect().await;
    Ok(())
}
