//! Operations on a file or directory by its path in one round trip: CREATE, the operation
//! and CLOSE as one compound (MS-SMB2 §3.2.4.1.4). Across a real network a round trip costs
//! more than the bytes of a small file or of a directory listing: reading a small file or
//! listing a directory is then one round trip instead of three or more.

use crate::error::{Error, Result};
use crate::msg::{self, Command, DirEntry};
use crate::open::{Disposition, OpenOptions};
use crate::status::NtStatus;
use crate::tree::{Tree, create_body};

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

/// The credits a compound of `singles` one-credit requests leaves for its larger ones,
/// converted to bytes (64 KiB a credit), never less than 64 KiB.
fn affordable(credits: u32, singles: u32) -> u32 {
    credits.saturating_sub(singles).clamp(1, 16) * 65536
}

impl Tree {
    /// The output buffer of a QUERY_DIRECTORY and its credit charge, `n` of them in flight
    /// at once: as large as the credits held allow (beside two one-credit requests), the
    /// negotiated maximum and 1 MiB all in all.
    pub(crate) fn list_output(&self, n: u32) -> (u32, u16) {
        let conn = self.conn();
        let out_len = (affordable(conn.credits(), 2) / n.max(1))
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
        let conn = self.conn();
        let len = len
            .min(self.chunk(false) as u32)
            .min(affordable(conn.credits(), 2));
        let requests = vec![
            (Command::Create, create_body(path, &OpenOptions::read())?, 1),
            (
                Command::Read,
                msg::read_request(msg::RELATED_FILE_ID, 0, len),
                conn.charge_for(len as usize),
            ),
            (Command::Close, msg::close_request(msg::RELATED_FILE_ID), 1),
        ];
        let replies = conn
            .compound_charged(self.session().id(), self.id(), requests)
            .await?;
        let [create, read, close] = replies.as_slice() else {
            return Err(Error::Protocol(
                "the compound did not return three responses".into(),
            ));
        };
        create.ok("CREATE")?;
        let opened = msg::create_response(create.bytes())?;
        let data = if read.header.status == NtStatus::END_OF_FILE {
            Vec::new()
        } else {
            read.ok("READ")?;
            let range = msg::read_response(read.bytes(), len)?;
            read.bytes()
                .get(range)
                .ok_or_else(|| Error::Protocol("READ data outside its message".into()))?
                .to_vec()
        };
        close.ok("CLOSE")?;
        Ok(FileStart {
            info: opened.info,
            data,
        })
    }

    /// Lists a directory ("." and ".." left out). A directory whose entries fit in one
    /// answer (some thousands of names) takes one round trip: CREATE, two QUERY_DIRECTORY
    /// (the second says there is no more) and CLOSE as a compound. A larger one is then
    /// listed again over as many rounds as it takes ([`Tree::LIST_MAX_ROUNDS`] at most).
    pub async fn list(&self, path: &str) -> Result<Vec<DirEntry>> {
        let conn = self.conn();
        let (out_len, charge) = self.list_output(2);
        let query = |restart| {
            msg::query_directory_request(msg::RELATED_FILE_ID, "*", restart, out_len)
                .map(|b| (Command::QueryDirectory, b, charge))
        };
        let requests = vec![
            (Command::Create, create_body(path, &OpenOptions::list())?, 1),
            query(true)?,
            query(false)?,
            (Command::Close, msg::close_request(msg::RELATED_FILE_ID), 1),
        ];
        let replies = conn
            .compound_charged(self.session().id(), self.id(), requests)
            .await?;
        let [create, first, second, close] = replies.as_slice() else {
            return Err(Error::Protocol(
                "the compound did not return four responses".into(),
            ));
        };
        create.ok("CREATE")?;
        let mut entries = Vec::new();
        let mut done = false;
        for r in [first, second] {
            if r.header.status == NtStatus::NO_MORE_FILES {
                done = true;
                break;
            }
            r.ok("QUERY_DIRECTORY")?;
            entries.extend(
                msg::query_directory_response(r.bytes(), out_len)?
                    .into_iter()
                    .filter(|e| e.name != "." && e.name != ".."),
            );
        }
        close.ok("CLOSE")?;
        if done {
            Ok(entries)
        } else {
            self.list_rounds(path).await
        }
    }
}

impl Tree {
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
        let conn = self.conn();
        let create = OpenOptions::write().disposition(Disposition::OverwriteIf);
        let mut requests = vec![(Command::Create, create_body(path, &create)?, 1)];
        if !data.is_empty() {
            requests.push((
                Command::Write,
                msg::write_request(msg::RELATED_FILE_ID, 0, data)?,
                conn.charge_for(data.len()),
            ));
        }
        requests.push((Command::Close, msg::close_request(msg::RELATED_FILE_ID), 1));
        let replies = conn
            .compound_charged(self.session().id(), self.id(), requests)
            .await?;
        let (create, rest) = replies
            .split_first()
            .ok_or_else(|| Error::Protocol("the compound returned no response".into()))?;
        create.ok("CREATE")?;
        let close = match (data.is_empty(), rest) {
            (true, [close]) => close,
            (false, [write, close]) => {
                write.ok("WRITE")?;
                let n = msg::write_response(write.bytes())?;
                if n as usize != data.len() {
                    return Err(Error::Protocol(format!(
                        "the server wrote {n} of {} bytes",
                        data.len()
                    )));
                }
                close
            }
            _ => {
                return Err(Error::Protocol(
                    "the compound returned another number of responses".into(),
                ));
            }
        };
        close.ok("CLOSE")
    }
}

impl Tree {
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
    use super::affordable;

    #[test]
    fn large_requests_take_only_the_credits_left_beside_the_single_ones() {
        assert_eq!(affordable(0, 2), 65536);
        assert_eq!(affordable(3, 2), 65536);
        assert_eq!(affordable(10, 2), 8 * 65536);
        assert_eq!(affordable(500, 2), 16 * 65536);
    }
}
