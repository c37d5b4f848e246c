//! Operations on a file or directory by its path in one round trip: CREATE, the operation
//! and CLOSE as one compound (MS-SMB2 §3.2.4.1.4). Across a real network a round trip costs
//! more than the bytes of a small file or of a directory listing: reading a small file or
//! listing a directory is then one round trip instead of three or more.

use crate::conn::Response;
use crate::error::{Error, Result};
use crate::msg::{self, Command, DirEntry};
use crate::open::{Access, Disposition, Kind, OpenOptions};
use crate::status::NtStatus;
use crate::tree::{Tree, create_body, create_body_with, smb_path};

/// What a CREATE + … + CLOSE compound brought back ([`Tree::by_path`]).
pub(crate) struct ByPath {
    pub(crate) opened: msg::CreateResponse,
    /// The answers to the requests between the CREATE and the CLOSE, in order.
    pub(crate) middle: Vec<Response>,
    pub(crate) close: Response,
}

/// The beginning of a file, read by path in one round trip ([`Tree::read_start`]).
#[derive(Debug, Clone)]
pub struct FileStart {
    /// The file's size, times and attributes when it was opened.
    pub info: msg::FileInfo,
    /// Its first bytes (all of them when [`is_whole`](Self::is_whole)).
    pub data: Vec<u8>,
}

impl FileStart {
    /// The data is the whole file.
    pub fn is_whole(&self) -> bool {
        self.data.len() as u64 >= self.info.size
    }
}

/// The bytes a READ answer of at most `len` bytes carries (none at end of file).
fn read_bytes(read: &Response, len: u32) -> Result<Vec<u8>> {
    if read.header.status == NtStatus::END_OF_FILE {
        return Ok(Vec::new());
    }
    read.ok("READ")?;
    let range = msg::read_response(read.bytes(), len)?;
    Ok(read
        .bytes()
        .get(range)
        .ok_or_else(|| Error::Protocol("READ data outside its message".into()))?
        .to_vec())
}

/// The credits each of `n` larger requests of a compound may be charged, beside `singles`
/// one-credit requests, out of `credits` held: at least 1, at most 16 (1 MiB).
fn per_request(credits: u32, singles: u32, n: u32) -> u32 {
    (credits.saturating_sub(singles) / n.max(1)).clamp(1, 16)
}

impl Tree {
    /// CREATE (with `options`) + `middle` (requests on the file just opened:
    /// [`msg::RELATED_FILE_ID`]) + CLOSE, as one compound, with each request's credit
    /// charge. A refused CREATE is the error (the server fails the rest with it); the
    /// middle answers, then the CLOSE's, are the caller's to check, in that order.
    pub(crate) async fn by_path(
        &self,
        path: &str,
        options: &OpenOptions,
        middle: Vec<(Command, Vec<u8>, u16)>,
    ) -> Result<ByPath> {
        let n = middle.len();
        let mut requests = Vec::with_capacity(n + 2);
        requests.push((Command::Create, create_body(path, options)?, 1));
        requests.extend(middle);
        requests.push((Command::Close, msg::close_request(msg::RELATED_FILE_ID), 1));
        let mut replies = self
            .conn()
            .compound_charged(self.session().id(), self.id(), requests)
            .await?;
        if replies.len() != n + 2 {
            return Err(Error::Protocol(format!(
                "a compound of {} requests brought {} responses",
                n + 2,
                replies.len()
            )));
        }
        let close = replies
            .pop()
            .ok_or_else(|| Error::Protocol("no CLOSE response".into()))?;
        let mut rest = replies.into_iter();
        let create = rest
            .next()
            .ok_or_else(|| Error::Protocol("no CREATE response".into()))?;
        create.ok("CREATE")?;
        Ok(ByPath {
            opened: msg::create_response(create.bytes())?,
            middle: rest.collect(),
            close,
        })
    }

    /// Creates a directory (CREATE + CLOSE as one compound); returns its attributes.
    pub async fn mkdir(&self, path: &str) -> Result<msg::FileInfo> {
        let options = OpenOptions::list().disposition(Disposition::Create);
        let done = self.by_path(path, &options, Vec::new()).await?;
        done.close.ok("CLOSE")?;
        Ok(done.opened.info)
    }

    /// Deletes a file (or, with `dir`, an empty directory): CREATE + SET_INFO
    /// (FileDispositionInformation) + CLOSE as one compound. A refusal (a non-empty
    /// directory, a file in use) is reported, where delete-on-close would fail silently at
    /// CLOSE.
    pub async fn remove(&self, path: &str, dir: bool) -> Result<()> {
        let kind = if dir { Kind::Directory } else { Kind::File };
        let options = OpenOptions::new(Access::DELETE | Access::READ_ATTRIBUTES).kind(kind);
        let set = msg::set_info_request(msg::RELATED_FILE_ID, 13, &[1])?;
        let done = self
            .by_path(path, &options, vec![(Command::SetInfo, set, 1)])
            .await?;
        for r in &done.middle {
            r.ok("SET_INFO (delete)")?;
        }
        done.close.ok("CLOSE")
    }

    /// Renames `from` to `to` (paths within the share): CREATE + SET_INFO
    /// (FileRenameInformation) + CLOSE as one compound.
    pub async fn rename(&self, from: &str, to: &str, replace: bool) -> Result<()> {
        let info = msg::rename_info(&smb_path(to), replace)?;
        let set = msg::set_info_request(msg::RELATED_FILE_ID, 10, &info)?;
        let options = OpenOptions::new(Access::DELETE | Access::READ_ATTRIBUTES);
        let done = self
            .by_path(from, &options, vec![(Command::SetInfo, set, 1)])
            .await?;
        for r in &done.middle {
            r.ok("SET_INFO (rename)")?;
        }
        self.renamed_opens(from, to);
        done.close.ok("CLOSE")
    }

    /// QUERY_INFO (`info_type`, `class`) of `path` without keeping it open: CREATE (of
    /// `kind`) + QUERY_INFO + CLOSE as one compound.
    pub(crate) async fn query_by_path(
        &self,
        path: &str,
        kind: Kind,
        info_type: u8,
        class: u8,
        output_len: u32,
    ) -> Result<Vec<u8>> {
        let options = OpenOptions::new(Access::READ_ATTRIBUTES).kind(kind);
        let query = msg::query_info_request_of(info_type, msg::RELATED_FILE_ID, class, output_len);
        let done = self
            .by_path(path, &options, vec![(Command::QueryInfo, query, 1)])
            .await?;
        let [query] = done.middle.as_slice() else {
            return Err(Error::Protocol("no QUERY_INFO response".into()));
        };
        query.ok("QUERY_INFO")?;
        done.close.ok("CLOSE")?;
        msg::query_info_response(query.bytes(), output_len)
    }

    /// The output buffer of a QUERY_DIRECTORY and its credit charge, `n` of them in flight
    /// at once: as large as the credits held allow (beside two one-credit requests), the
    /// negotiated maximum and 1 MiB all in all.
    pub(crate) fn list_output(&self, n: u32) -> (u32, u16) {
        let conn = self.conn();
        let out_len = (per_request(conn.credits(), 2, n) * 65536)
            .min(conn.negotiated.max_transact)
            .max(4096);
        (out_len, conn.charge_for(out_len as usize))
    }

    /// The first `len` bytes of `path` (fewer if the file is shorter, and never more than a
    /// READ may carry) with its size and times, in one round trip: CREATE + READ + CLOSE as
    /// a compound. When [`FileStart::is_whole`] says so, nothing is left to read; else the
    /// rest is read through an open (which may see a file changed since: compare sizes).
    ///
    /// ```no_run
    /// # async fn demo(tree: azkrb_smb3::Tree) -> azkrb_smb3::Result<()> {
    /// let start = tree.read_start("notes/todo.txt", 1 << 20).await?;
    /// if start.is_whole() {
    ///     println!("{}", String::from_utf8_lossy(&start.data));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn read_start(&self, path: &str, len: u32) -> Result<FileStart> {
        let len = self.start_len(len);
        let read = msg::read_request(msg::RELATED_FILE_ID, 0, len);
        let done = self
            .by_path(
                path,
                &OpenOptions::read(),
                vec![(Command::Read, read, self.conn().charge_for(len as usize))],
            )
            .await?;
        let [read] = done.middle.as_slice() else {
            return Err(Error::Protocol("no READ response".into()));
        };
        let data = read_bytes(read, len)?;
        done.close.ok("CLOSE")?;
        Ok(FileStart {
            info: done.opened.info,
            data,
        })
    }

    /// Opens `path` as `options` say, as [`Tree::open`] does (a durable open of a file is
    /// asked for a read and handle lease), and reads its first `len` bytes in the same
    /// round trip: CREATE + READ as a compound. The handle stays open, and with it the
    /// lease: while [`Tree::lease`] says it holds [`msg::lease::READ`], what was read stays
    /// true (no other client can change the file), so it can be used again without asking
    /// the server. An open that keeps a file this way should not share delete
    /// ([`OpenOptions::share`]): another client's delete then makes the server break the
    /// handle lease, and the holder closes it, where a shared delete would leave the file
    /// pending deletion until the holder happens to close it. Close the handle when done.
    ///
    /// ```no_run
    /// # async fn demo(tree: azkrb_smb3::Tree) -> azkrb_smb3::Result<()> {
    /// use azkrb_smb3::OpenOptions;
    /// let keep = OpenOptions::read().share(1 | 2); // read and write, not delete
    /// let (h, start) = tree.open_and_read("notes/todo.txt", keep, 64 * 1024).await?;
    /// let cached = tree
    ///     .lease(h)
    ///     .is_some_and(|l| l.state & azkrb_smb3::msg::lease::READ != 0);
    /// println!("{} bytes, cacheable: {cached}", start.data.len());
    /// tree.close(h).await?;
    /// # Ok(()) }
    /// ```
    pub async fn open_and_read(
        &self,
        path: &str,
        options: OpenOptions,
        len: u32,
    ) -> Result<(crate::Handle, FileStart)> {
        let len = self.start_len(len);
        let ctx = self.open_contexts(&options)?;
        let create = create_body_with(path, &options, &ctx)?;
        let read = msg::read_request(msg::RELATED_FILE_ID, 0, len);
        let conn = self.conn();
        let requests = vec![
            (Command::Create, create, 1),
            (Command::Read, read, conn.charge_for(len as usize)),
        ];
        self.expect_lease(&ctx);
        let answered = async {
            let replies = conn
                .compound_charged(self.session().id(), self.id(), requests)
                .await?;
            let [create, read] = <[Response; 2]>::try_from(replies).map_err(|_| {
                Error::Protocol("a CREATE + READ compound did not bring two responses".into())
            })?;
            create.ok("CREATE")?;
            Ok((msg::create_response(create.bytes())?, read))
        }
        .await;
        let (c, read) = answered.inspect_err(|_| self.unexpect_lease(&ctx))?;
        let read = &read;
        let h = self.opened(path, options, &ctx, &c);
        match read_bytes(read, len) {
            Ok(data) => Ok((h, FileStart { info: c.info, data })),
            Err(e) => {
                // Not left open behind an error.
                let _ = self.close(h).await;
                Err(e)
            }
        }
    }

    /// How much of a file's start to read with its open: as asked, but no more than one
    /// READ carries nor than the credits held beside the open's and close's allow.
    fn start_len(&self, len: u32) -> u32 {
        len.min(self.chunk(false) as u32)
            .min(per_request(self.conn().credits(), 2, 1) * 65536)
    }

    /// Lists a directory ("." and ".." left out). A directory whose entries fit in one
    /// answer (some thousands of names) takes one round trip: CREATE, two QUERY_DIRECTORY
    /// (the second says there is no more) and CLOSE as a compound. A larger one is then
    /// listed again over as many rounds as it takes ([`Tree::LIST_MAX_ROUNDS`] at most).
    pub async fn list(&self, path: &str) -> Result<Vec<DirEntry>> {
        let (out_len, charge) = self.list_output(2);
        let query = |restart| {
            msg::query_directory_request(msg::RELATED_FILE_ID, "*", restart, out_len)
                .map(|b| (Command::QueryDirectory, b, charge))
        };
        let done = self
            .by_path(
                path,
                &OpenOptions::list(),
                vec![query(true)?, query(false)?],
            )
            .await?;
        let mut entries = Vec::new();
        let mut complete = false;
        for r in &done.middle {
            if r.header.status == NtStatus::NO_MORE_FILES {
                complete = true;
                break;
            }
            r.ok("QUERY_DIRECTORY")?;
            entries.extend(
                msg::query_directory_response(r.bytes(), out_len)?
                    .into_iter()
                    .filter(|e| e.name != "." && e.name != ".."),
            );
        }
        done.close.ok("CLOSE")?;
        if complete {
            Ok(entries)
        } else {
            self.list_rounds(path).await
        }
    }

    /// Makes `path` hold exactly `data` (created, or truncated and written) in one round
    /// trip: CREATE + WRITE + CLOSE as a compound. For what fits in one WRITE (the
    /// negotiated maximum, at most 1 MiB); larger data is refused (use [`Tree::upload`]).
    /// Safe to send again after a reconnect: the result is the same file.
    pub async fn write_whole(&self, path: &str, data: &[u8]) -> Result<()> {
        if data.len() > self.chunk(true) {
            return Err(Error::InvalidArgument(format!(
                "{} bytes do not fit in one WRITE of at most {}",
                data.len(),
                self.chunk(true)
            )));
        }
        let mut middle = Vec::new();
        if !data.is_empty() {
            middle.push((
                Command::Write,
                msg::write_request(msg::RELATED_FILE_ID, 0, data)?,
                self.conn().charge_for(data.len()),
            ));
        }
        let options = OpenOptions::write().disposition(Disposition::OverwriteIf);
        let done = self.by_path(path, &options, middle).await?;
        for write in &done.middle {
            write.ok("WRITE")?;
            let n = msg::write_response(write.bytes())?;
            if n as usize != data.len() {
                return Err(Error::Protocol(format!(
                    "the server wrote {n} of {} bytes",
                    data.len()
                )));
            }
        }
        done.close.ok("CLOSE")
    }

    /// Writes `data` at `offset` through an open handle and returns the file's attributes
    /// after the write, in one round trip: WRITE + QUERY_INFO (FileNetworkOpenInformation)
    /// as a compound. Returns how many bytes the server wrote (fewer than given: write the
    /// rest, and the attributes are those after the part written).
    pub async fn write_and_stat(
        &self,
        h: crate::Handle,
        offset: u64,
        data: &[u8],
    ) -> Result<(u32, msg::FileInfo)> {
        if data.len() > self.chunk(true) {
            return Err(Error::InvalidArgument(format!(
                "{} bytes do not fit in one WRITE of at most {}",
                data.len(),
                self.chunk(true)
            )));
        }
        let conn = self.conn();
        let requests = vec![
            (
                Command::Write,
                msg::write_request(self.file_id(h)?, offset, data)?,
                conn.charge_for(data.len()),
            ),
            (
                Command::QueryInfo,
                msg::query_info_request(
                    msg::RELATED_FILE_ID,
                    msg::FILE_NETWORK_OPEN_INFORMATION,
                    56,
                ),
                1,
            ),
        ];
        let replies = conn
            .compound_charged(self.session().id(), self.id(), requests)
            .await?;
        let [write, query] = replies.as_slice() else {
            return Err(Error::Protocol(
                "the compound did not return two responses".into(),
            ));
        };
        write.ok("WRITE")?;
        let n = msg::write_response(write.bytes())?;
        if n as usize > data.len() {
            return Err(Error::Protocol(format!(
                "the server says it wrote {n} of {} bytes",
                data.len()
            )));
        }
        query.ok("QUERY_INFO")?;
        let info = msg::FileInfo::decode(&msg::query_info_response(query.bytes(), 56)?)?;
        Ok((n, info))
    }
}

#[cfg(test)]
mod tests {
    use super::per_request;

    #[test]
    fn large_requests_take_only_the_credits_left_beside_the_single_ones() {
        assert_eq!(per_request(0, 2, 1), 1);
        assert_eq!(per_request(3, 2, 1), 1);
        assert_eq!(per_request(10, 2, 1), 8);
        assert_eq!(per_request(500, 2, 1), 16);
        // Two of them: never more in all than is held (an odd count rounds down).
        for credits in 4..40 {
            let each = per_request(credits, 2, 2);
            assert!(2 + 2 * each <= credits, "{credits} credits, {each} each");
        }
    }
}
