//! `mount`: the share as a FUSE file system until a signal unmounts it.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use azkrb::UncPath;

use crate::cli::{Global, from_ccache};
use crate::failure::{Failure, local_io, usage};
use crate::fuse;

pub(crate) async fn mount(
    g: &Global,
    target: &str,
    mountpoint: &str,
    allow_other: bool,
    read_only: bool,
) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt;
    use tokio::signal::unix::{SignalKind, signal};

    let unc = UncPath::parse(target)?;
    if !unc.path.is_empty() {
        return Err(usage(format!(
            "{target}: mount takes //host/share, without a path"
        )));
    }
    match std::fs::metadata(mountpoint) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(usage(format!("{mountpoint}: not a directory"))),
        Err(e) => return Err(usage(format!("{mountpoint}: {e}"))),
    }
    let canonical = std::fs::canonicalize(mountpoint)
        .map_err(|e| usage(format!("{mountpoint}: {e}")))?
        .to_string_lossy()
        .into_owned();
    // Files appear owned by whoever runs this (/proc/self belongs to our effective ids).
    let me = std::fs::metadata("/proc/self").map_err(|e| local_io("/proc/self", e))?;
    let files = from_ccache(g)?;
    // Sessions end with their ticket (Entra: about 10 hours): the share re-authenticates
    // itself with a fresh one (after `mount-share login`, when the TGT itself has run out).
    let share = files.open(target).await?;
    // Said once, early: when the TGT runs out, the mount needs a new login to go on.
    if let Ok(tgt) = files.tgt_for_host(&unc.host).await
        && !tgt.flags.contains(azkrb::asn1::TicketFlags::RENEWABLE)
    {
        let left = (tgt.endtime.unix() - azkrb::asn1::KerberosTime::now().unix()).max(0);
        eprintln!(
            "mount-share: the TGT of {} is not renewable{}: it ends at {} (in {} h {} min); \
             log in again before then for the mount to re-authenticate past it",
            tgt.client,
            if tgt.client.realm == "KERBEROS.MICROSOFTONLINE.COM" {
                " (an Entra cloud TGT never is)"
            } else {
                " (mount-share login -r asks for one that is)"
            },
            tgt.endtime,
            left / 3600,
            left % 3600 / 60
        );
    }
    // The kernel is told of lease breaks through the session made with the file system.
    let notifier = Arc::new(OnceLock::new());
    let fs = fuse::SmbFs::new(
        tokio::runtime::Handle::current(),
        share.clone(),
        me.uid(),
        me.gid(),
        Arc::clone(&notifier),
    );
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        fuser::MountOption::FSName(format!("//{}/{}", unc.host, unc.share)),
        fuser::MountOption::Subtype("azkrb".into()),
        fuser::MountOption::NoDev,
        fuser::MountOption::NoSuid,
        if read_only {
            fuser::MountOption::RO
        } else {
            fuser::MountOption::RW
        },
    ];
    if allow_other {
        config.acl = fuser::SessionACL::All;
        // The kernel checks the modes shown, or every local user would act as us.
        config
            .mount_options
            .push(fuser::MountOption::DefaultPermissions);
    }
    // Signals are ours from before the mount on: none may kill us while mounted.
    let signals = (|| {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        ))
    })()
    .map_err(|e| local_io("signal handlers", e))?;
    let (mut int, mut term, mut hup) = signals;
    let mp = mountpoint.to_string();
    let session = tokio::task::spawn_blocking(move || fuser::Session::new(fs, &mp, &config))
        .await
        .map_err(|e| usage(format!("mount task: {e}")))?
        .map_err(|e| Failure {
            code: 4,
            message: format!(
                "mounting on {mountpoint}: {e} (FUSE needs /dev/fuse, and fusermount3 from \
                 the fuse3 package when not root)"
            ),
        })?;
    let mut session = session;
    let _ = notifier.set(session.notifier());
    let mut unmounter = session.unmount_callable();
    // From mountinfo: a stat of the mount point would wait for the file system we serve.
    let connection = fuse_connection(&canonical);
    let mut served = tokio::task::spawn_blocking(move || session.run());
    eprintln!("mount-share: {target} mounted on {mountpoint}; Ctrl-C or SIGTERM unmounts");
    let ended = tokio::select! {
        r = &mut served => Some(r),
        _ = int.recv() => None,
        _ = term.recv() => None,
        _ = hup.recv() => None,
    };
    let by_signal = ended.is_none();
    let result = match ended {
        Some(r) => r,
        None => {
            let busy = || {
                eprintln!(
                    "mount-share: {mountpoint} is busy; detached it (gone from the \
                     namespace, open files are served until closed); Ctrl-C again stops at \
                     once"
                )
            };
            let mut told = false;
            match unmounter.unmount() {
                Ok(()) => {}
                // EBUSY: something still has a file or its working directory there.
                Err(e) if e.raw_os_error() == Some(16) => {
                    detach(mountpoint);
                    busy();
                    told = true;
                }
                Err(e) => eprintln!("mount-share: unmounting {mountpoint}: {e}"),
            }
            // (fusermount3, for users, detaches a busy mount without saying so.)
            match tokio::time::timeout(Duration::from_secs(2), &mut served).await {
                Ok(r) => r,
                Err(_) => {
                    if !told {
                        busy();
                    }
                    tokio::select! {
                        r = &mut served => r,
                        _ = int.recv() => stop_now(mountpoint, connection, served).await,
                        _ = term.recv() => stop_now(mountpoint, connection, served).await,
                        _ = hup.recv() => stop_now(mountpoint, connection, served).await,
                    }
                }
            }
        }
    };
    let closed = share.close().await;
    match result {
        Ok(Ok(())) => {}
        // The kernel ended the connection after our unmount (ENODEV, or ECONNABORTED once
        // the last user of a detached mount left).
        Ok(Err(e)) if by_signal && matches!(e.raw_os_error(), Some(19 | 103)) => {}
        Ok(Err(e)) => return Err(local_io(&format!("serving {mountpoint}"), e)),
        Err(e) => return Err(usage(format!("FUSE task: {e}"))),
    }
    let r = share.recovery();
    if r.reconnects > 0 {
        eprintln!(
            "mount-share: the connection dropped and was made again {} time(s); open files: \
             {} reclaimed (durable), {} reopened, {} lost; {} operation(s) replayed",
            r.reconnects, r.reclaimed, r.reopened, r.lost, r.replayed
        );
    }
    eprintln!("mount-share: {mountpoint} unmounted");
    Ok(closed?)
}

/// The FUSE connection number of the mount at `mountpoint` (its device number as the kernel
/// counts it, from /proc/self/mountinfo; the last mount there wins).
pub(crate) fn fuse_connection(mountpoint: &str) -> Option<u64> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let escaped = mountpoint
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011")
        .replace('\n', "\\012");
    info.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let dev = fields.nth(2)?;
            let at = fields.nth(1)?;
            (at == escaped).then_some(dev)
        })
        .next_back()
        .and_then(|dev| {
            let (major, minor) = dev.split_once(':')?;
            Some((major.parse::<u64>().ok()? << 20) | minor.parse::<u64>().ok()?)
        })
}

/// Lazy unmount: the mount leaves the namespace now and ends when its last user does.
pub(crate) fn detach(mountpoint: &str) {
    let quiet = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !quiet("fusermount3", &["-u", "-z", "--", mountpoint])
        && !quiet("umount", &["-l", "--", mountpoint])
    {
        eprintln!("mount-share: could not detach {mountpoint}");
    }
}

/// Ends the FUSE connection at once (processes using it get ENOTCONN) and waits a little
/// for the serving thread; if it does not end, exits anyway (the mount is detached).
pub(crate) async fn stop_now(
    mountpoint: &str,
    connection: Option<u64>,
    mut served: tokio::task::JoinHandle<std::io::Result<()>>,
) -> Result<std::io::Result<()>, tokio::task::JoinError> {
    let dir = "/sys/fs/fuse/connections";
    if let Some(id) = connection {
        let abort = format!("{dir}/{id}/abort");
        if !std::path::Path::new(&abort).exists() {
            // The fusectl file system may not be mounted yet (root only).
            let _ = std::process::Command::new("mount")
                .args(["-t", "fusectl", "fusectl", dir])
                .stderr(std::process::Stdio::null())
                .status();
        }
        if let Err(e) = std::fs::write(&abort, "1") {
            eprintln!("mount-share: aborting the FUSE connection ({abort}): {e}");
        }
    }
    match tokio::time::timeout(Duration::from_secs(3), &mut served).await {
        Ok(r) => r,
        Err(_) => {
            detach(mountpoint);
            eprintln!("mount-share: {mountpoint} detached; files still open there fail now");
            std::process::exit(1);
        }
    }
}
