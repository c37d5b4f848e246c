//! `get`, `put`: files and trees between here and the share, resumable.

use crate::cli::Global;
use crate::failure::{Failure, local_io, usage};
use crate::progress;

use super::files::open;

pub(crate) async fn get(
    g: &Global,
    remote: &str,
    local: Option<String>,
    resume: bool,
) -> Result<(), Failure> {
    let (share, p) = open(g, remote, true).await?;
    let local = local.unwrap_or_else(|| p.rsplit('/').next().unwrap_or(&p).to_string());
    if resume && local == "-" {
        return Err(usage("--resume needs a local file, not standard output"));
    }
    download_one(&share, &p, &local, None, resume, true).await?;
    share.disconnect().await;
    Ok(())
}

/// How much of a transfer to check again when resuming: the last bytes both sides hold
/// must agree, or the partial copy is of another version of the file.
pub(crate) const RESUME_CHECK: u64 = 64 * 1024;

/// Whether the first `len` bytes of `local` end like the first `len` bytes of the remote
/// file `p` (the last [`RESUME_CHECK`] bytes are compared).
pub(crate) async fn same_prefix(
    share: &azkrb::Share,
    p: &str,
    local: &str,
    len: u64,
) -> Result<bool, Failure> {
    use std::io::{Read, Seek, SeekFrom};
    if len == 0 {
        return Ok(true);
    }
    let from = len.saturating_sub(RESUME_CHECK);
    let want = (len - from) as usize;
    let mut mine = vec![0; want];
    let mut f = std::fs::File::open(local).map_err(|e| local_io(local, e))?;
    f.seek(SeekFrom::Start(from))
        .and_then(|_| f.read_exact(&mut mine))
        .map_err(|e| local_io(local, e))?;
    let tree = share.tree();
    let h = tree.open(p, azkrb::smb3::OpenOptions::read()).await?;
    let theirs = tree.read_at(h, from, want as u32).await;
    tree.close(h).await?;
    Ok(theirs? == mine)
}

/// A file up to this size is read in one round trip (CREATE + READ + CLOSE), as are the
/// first bytes of a larger one; a file known to be larger is streamed at once.
const FIRST_READ: u32 = 1 << 20;
/// A file up to this size is written in one round trip (CREATE + WRITE + CLOSE).
const WHOLE_WRITE: u64 = 1 << 20;
/// How many files `get -r` and `put -r` keep in flight on the one session.
const FILES_IN_FLIGHT: usize = 32;

/// Downloads one file to `local` (`-`: standard output) through `local.part`, with a
/// progress bar on a terminal when `bar`; with `resume`, continues an existing
/// `local.part` (and skips a complete `local`) after checking it against the remote file.
/// `size` is the listing's when known. A small file takes one round trip, a larger one
/// starts with one (its first MiB) and streams the rest.
pub(crate) async fn download_one(
    share: &azkrb::Share,
    p: &str,
    local: &str,
    size: Option<u64>,
    resume: bool,
    show_bar: bool,
) -> Result<(), Failure> {
    let part = format!("{local}.part");
    let continuing = resume
        && local != "-"
        && (std::path::Path::new(&part).exists() || std::path::Path::new(local).exists());
    let mut offset = 0;
    let (size, start) = if continuing {
        let size = match size {
            Some(s) => s,
            None => share.run(|t| async move { t.stat(p).await }).await?.size,
        };
        if !std::path::Path::new(&part).exists()
            && let Ok(m) = std::fs::metadata(local)
            && m.is_file()
            && m.len() == size
        {
            if same_prefix(share, p, local, size).await? {
                eprintln!("{local}: already complete");
                return Ok(());
            }
            return Err(Failure {
                code: 1,
                message: format!(
                    "{local} exists with the remote file's size but other contents; \
                     remove it to download again"
                ),
            });
        }
        if let Ok(m) = std::fs::metadata(&part) {
            let have = m.len();
            if have > size || !same_prefix(share, p, &part, have).await? {
                return Err(Failure {
                    code: 1,
                    message: format!(
                        "{part} does not match {p} on the server (the file changed?); \
                         remove it to start over"
                    ),
                });
            }
            offset = have;
            eprintln!("{local}: resuming at byte {have} of {size}");
        }
        (size, None)
    } else {
        match size {
            Some(s) if s > u64::from(FIRST_READ) => (s, None),
            // Asked for one byte more than listed: a file grown since is not mistaken
            // for whole.
            _ => {
                let want = size.map_or(FIRST_READ, |s| (s as u32).saturating_add(1));
                let start = share
                    .run(|t| async move { t.read_start(p, want).await })
                    .await?;
                (start.info.size, Some(start))
            }
        }
    };
    let bar = progress::bar_if(show_bar, size, p.rsplit('/').next().unwrap_or(p));
    bar.set_position(offset);
    let result = if local == "-" {
        let mut out = progress::Counted::new(tokio::io::stdout(), bar.clone());
        download_resuming(share, p, offset, size, None, start, &mut out).await
    } else {
        // Written to a temporary name and renamed into place: a failed transfer never
        // leaves a truncated file under the final name (and --resume can continue it).
        let file = if offset > 0 {
            tokio::fs::OpenOptions::new().append(true).open(&part).await
        } else {
            tokio::fs::File::create(&part).await
        }
        .map_err(|e| local_io(&part, e))?;
        let mut out = progress::Counted::new(file, bar.clone());
        let r = download_resuming(share, p, offset, size, Some(&part), start, &mut out).await;
        drop(out);
        match r {
            Ok(()) => std::fs::rename(&part, local).map_err(|e| local_io(local, e))?,
            Err(_) if resume => {
                // Kept for the next --resume.
            }
            Err(_) => {
                let _ = std::fs::remove_file(&part);
            }
        }
        r
    };
    bar.finish_and_clear();
    result
}

/// The transfers of a recursive get or put, [`FILES_IN_FLIGHT`] at a time on the one
/// session. The first failure stops new ones; those running finish, and it is returned.
/// A terminal shows one bar for the files of the tree, done of started (each file has none).
struct InFlight {
    set: tokio::task::JoinSet<Result<(), Failure>>,
    failed: Option<Failure>,
    files: indicatif::ProgressBar,
}

impl InFlight {
    fn new(name: &str) -> Self {
        Self {
            set: tokio::task::JoinSet::new(),
            failed: None,
            files: progress::files_bar(name),
        }
    }

    /// Starts `transfer` once there is room (nothing more starts after a failure).
    async fn start(
        &mut self,
        transfer: impl std::future::Future<Output = Result<(), Failure>> + Send + 'static,
    ) {
        while self.set.len() >= FILES_IN_FLIGHT && self.failed.is_none() {
            self.reap().await;
        }
        if self.failed.is_none() {
            self.files.inc_length(1);
            self.set.spawn(transfer);
        }
    }

    async fn reap(&mut self) {
        let failure = match self.set.join_next().await {
            None => return,
            Some(Ok(Ok(()))) => {
                self.files.inc(1);
                return;
            }
            Some(Ok(Err(f))) => f,
            Some(Err(e)) => Failure {
                code: 1,
                message: format!("a transfer stopped: {e}"),
            },
        };
        self.failed.get_or_insert(failure);
    }

    /// Whether a transfer has failed (stop walking the tree).
    fn stopped(&self) -> bool {
        self.failed.is_some()
    }

    /// After the walk of a tree: waits for the transfers under way (never cut off
    /// half-written), then reports the walk's failure, else theirs; the share ends.
    async fn conclude(
        self,
        walked: Result<(), Failure>,
        share: &azkrb::Share,
    ) -> Result<(), Failure> {
        let finished = self.finish().await;
        walked?;
        finished?;
        share.disconnect().await;
        Ok(())
    }

    /// Waits for every transfer; the first failure, if any.
    async fn finish(mut self) -> Result<(), Failure> {
        while !self.set.is_empty() {
            self.reap().await;
        }
        self.files.finish_and_clear();
        self.failed.map_or(Ok(()), Err)
    }
}

/// The connection `tree` was used on has failed (it may have been replaced since).
fn lost(tree: &azkrb::smb3::Tree) -> bool {
    tree.session().connection().failure().is_some()
}

/// How many times one file's transfer reconnects and resumes before it gives up.
const RESUMES: u32 = 8;

/// Streams `p` from `offset` into `out`, after the first bytes when they were read already
/// (`start`); when the connection drops, the share reconnects and the download resumes
/// after the last byte written (the download writes in order).
async fn download_resuming<W: tokio::io::AsyncWrite + Unpin>(
    share: &azkrb::Share,
    p: &str,
    offset: u64,
    size: u64,
    check: Option<&str>,
    start: Option<azkrb::smb3::FileStart>,
    out: &mut progress::Counted<W>,
) -> Result<(), Failure> {
    use tokio::io::AsyncWriteExt;
    let written = |e| local_io(check.unwrap_or("standard output"), e);
    if let Some(start) = start {
        out.write_all(&start.data).await.map_err(written)?;
        if start.is_whole() {
            return out.flush().await.map_err(written);
        }
        // The rest comes through another open: of the same version of the file only.
        let now = share.run(|t| async move { t.stat(p).await }).await?;
        if (now.size, now.written) != (start.info.size, start.info.written) {
            return Err(Failure {
                code: 1,
                message: format!(
                    "{p} changed on the server while it was being read; download it again"
                ),
            });
        }
    }
    let mut resumes = 0;
    loop {
        let at = offset + out.count();
        let tree = share.tree();
        let r = tree.download_from(p, at, out, 16).await;
        match r {
            Ok(_) => return Ok(()),
            Err(e) if lost(&tree) && resumes < RESUMES => {
                resumes += 1;
                out.flush().await.map_err(|e| local_io(p, e))?;
                let at = offset + out.count();
                eprintln!("{p}: the connection dropped ({e}); reconnecting to resume at byte {at}");
                share.mend().await?;
                // The file must not have changed meanwhile: the same size, and the bytes
                // before `at` the same on both sides (a local file only).
                let now = share.run(|t| async move { t.stat(p).await }).await?;
                let same = now.size == size
                    && match check {
                        Some(local) => same_prefix(share, p, local, at).await?,
                        None => true,
                    };
                if !same {
                    return Err(Failure {
                        code: 1,
                        message: format!(
                            "{p} changed on the server while the connection was down; \
                             download it again"
                        ),
                    });
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// `get -r`: the remote directory's tree, recreated under `local` (default: its name).
pub(crate) async fn get_tree(
    g: &Global,
    remote: &str,
    local: Option<String>,
    resume: bool,
) -> Result<(), Failure> {
    let (share, root) = open(g, remote, false).await?;
    let local = local.unwrap_or_else(|| {
        root.rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or(&share.unc().share)
            .to_string()
    });
    let mut stack = vec![(root.clone(), std::path::PathBuf::from(&local))];
    let mut running = InFlight::new(&local);
    // An error here lets the transfers under way finish (never cut off half-written).
    let walked = async {
        while let Some((dir, into)) = stack.pop() {
            if running.stopped() {
                break;
            }
            std::fs::create_dir_all(&into).map_err(|e| local_io(&into.display().to_string(), e))?;
            let listing = share
                .run(|t| {
                    let dir = &dir;
                    async move { t.list(dir).await }
                })
                .await?;
            for e in listing {
                if e.name == "." || e.name == ".." {
                    continue;
                }
                if e.name.contains(['/', '\\']) {
                    return Err(Failure {
                        code: 4,
                        message: format!("the server listed an unusable name {:?}", e.name),
                    });
                }
                let remote_path = if dir.is_empty() {
                    e.name.clone()
                } else {
                    format!("{dir}/{}", e.name)
                };
                let local_path = into.join(&e.name);
                if e.is_dir() {
                    stack.push((remote_path, local_path));
                } else {
                    let share = share.clone();
                    let local_path = local_path.display().to_string();
                    running
                        .start(async move {
                            download_one(
                                &share,
                                &remote_path,
                                &local_path,
                                Some(e.size),
                                resume,
                                false,
                            )
                            .await
                            .map_err(|f| f.about(&remote_path))
                        })
                        .await;
                }
            }
        }
        Ok::<(), Failure>(())
    }
    .await;
    running.conclude(walked, &share).await
}

/// `put -r`: the local directory's tree, recreated under the remote path.
pub(crate) async fn put_tree(
    g: &Global,
    local: &str,
    remote: &str,
    resume: bool,
) -> Result<(), Failure> {
    let meta = std::fs::metadata(local).map_err(|e| local_io(local, e))?;
    if !meta.is_dir() {
        return Err(usage(format!("{local}: put -r needs a directory")));
    }
    let (share, root) = open(g, remote, true).await?;
    let mut stack = vec![(std::path::PathBuf::from(local), root)];
    let mut running = InFlight::new(local);
    // An error here lets the transfers under way finish (never cut off half-written).
    let walked = async {
        while let Some((dir, into)) = stack.pop() {
            if running.stopped() {
                break;
            }
            // Made already (by an earlier run, or by this one before a reconnect): fine.
            let made = share
                .run(|t| {
                    let into = &into;
                    async move {
                        match t.mkdir(into).await {
                            Err(azkrb::smb3::Error::Status {
                                status: azkrb::smb3::NtStatus::OBJECT_NAME_COLLISION,
                                ..
                            }) => Ok(()),
                            r => r.map(drop),
                        }
                    }
                })
                .await;
            made?;
            let entries =
                std::fs::read_dir(&dir).map_err(|e| local_io(&dir.display().to_string(), e))?;
            for entry in entries {
                let entry = entry.map_err(|e| local_io(&dir.display().to_string(), e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = entry.path();
                let target = format!("{into}/{name}");
                let kind = entry
                    .file_type()
                    .map_err(|e| local_io(&path.display().to_string(), e))?;
                if kind.is_dir() {
                    stack.push((path, target));
                } else if kind.is_file() {
                    let share = share.clone();
                    let path = path.display().to_string();
                    running
                        .start(async move {
                            upload_one(&share, &path, &target, resume, false)
                                .await
                                .map_err(|f| f.about(&target))
                        })
                        .await;
                } else {
                    let path = path.display();
                    tracing::warn!(%path, "skipped: not a regular file or directory");
                }
            }
        }
        Ok::<(), Failure>(())
    }
    .await;
    running.conclude(walked, &share).await
}

pub(crate) async fn put(
    g: &Global,
    local: &str,
    remote: &str,
    resume: bool,
) -> Result<(), Failure> {
    if local == "-" {
        if resume {
            return Err(usage("--resume needs a local file, not standard input"));
        }
        let (share, p) = open(g, remote, true).await?;
        let bar = progress::bar(0, local);
        let mut input = progress::Counted::new(tokio::io::stdin(), bar.clone());
        let r = share.tree().upload(&p, &mut input, 8).await;
        bar.finish_and_clear();
        r?;
        share.disconnect().await;
        return Ok(());
    }
    // Open the local side first: a missing file fails before any network traffic.
    std::fs::File::open(local).map_err(|e| local_io(local, e))?;
    let (share, p) = open(g, remote, true).await?;
    upload_one(&share, local, &p, resume, true).await?;
    share.disconnect().await;
    Ok(())
}

/// Uploads one local file to `p`, with a progress bar on a terminal when `show_bar`; with
/// `resume`, keeps what the remote file already holds (checked against the local file) and
/// sends the rest. A small file takes one round trip.
pub(crate) async fn upload_one(
    share: &azkrb::Share,
    local: &str,
    p: &str,
    resume: bool,
    show_bar: bool,
) -> Result<(), Failure> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::open(local)
        .await
        .map_err(|e| local_io(local, e))?;
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    // What one WRITE carries here (the server may take less than 1 MiB in one).
    let whole = WHOLE_WRITE.min(u64::from(share.negotiated().max_write));
    if !resume && size <= whole {
        let mut data = Vec::with_capacity(size as usize);
        (&mut file)
            .take(whole + 1)
            .read_to_end(&mut data)
            .await
            .map_err(|e| local_io(local, e))?;
        // A file that grew past one WRITE since its size was read streams as a large one.
        if data.len() as u64 <= whole {
            let data = &data;
            share
                .run(|t| async move { t.write_whole(p, data).await })
                .await?;
            return Ok(());
        }
        file.seek(std::io::SeekFrom::Start(0))
            .await
            .map_err(|e| local_io(local, e))?;
    }
    let mut offset = None;
    if resume {
        match share.run(|t| async move { t.stat(p).await }).await {
            Ok(info) => {
                let have = info.size;
                if have > size || !same_prefix(share, p, local, have).await? {
                    return Err(Failure {
                        code: 1,
                        message: format!(
                            "{p} on the server does not match the start of {local} (another \
                             file?); remove it or put without --resume"
                        ),
                    });
                }
                if have == size {
                    eprintln!("{p}: already complete");
                    return Ok(());
                }
                eprintln!("{p}: resuming at byte {have} of {size}");
                file.seek(std::io::SeekFrom::Start(have))
                    .await
                    .map_err(|e| local_io(local, e))?;
                offset = Some(have);
            }
            Err(azkrb::Error::Smb(azkrb::smb3::Error::Status {
                status:
                    azkrb::smb3::NtStatus::OBJECT_NAME_NOT_FOUND | azkrb::smb3::NtStatus::NO_SUCH_FILE,
                ..
            })) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let bar = progress::bar_if(show_bar, size, local);
    bar.set_position(offset.unwrap_or(0));
    let mut input = progress::Counted::new(file, bar.clone());
    let acked = std::sync::atomic::AtomicU64::new(offset.unwrap_or(0));
    let mut resumes = 0;
    let r = loop {
        let tree = share.tree();
        let r = tree.upload_tracked(p, offset, &mut input, 8, &acked).await;
        match r {
            // This transfer's connection failed (other transfers may have mended the
            // share already: it reconnects once).
            Err(e) if lost(&tree) && resumes < RESUMES => {
                // What the server acknowledged is in place; the rest is sent again from
                // there (writes in flight at the drop may or may not have landed).
                resumes += 1;
                let at = acked.load(std::sync::atomic::Ordering::Relaxed);
                eprintln!("{p}: the connection dropped ({e}); reconnecting to resume at byte {at}");
                share.mend().await?;
                input
                    .get_mut()
                    .seek(std::io::SeekFrom::Start(at))
                    .await
                    .map_err(|e| local_io(local, e))?;
                bar.set_position(at);
                // Nothing acknowledged: the file is created (or truncated) again.
                offset = (at > 0).then_some(at);
            }
            r => break r,
        }
    };
    bar.finish_and_clear();
    r?;
    Ok(())
}
