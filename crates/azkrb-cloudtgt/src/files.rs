//! A bounded big-endian reader for the binary file formats (ccache, keytab).

pub(crate) struct Reader<'a> {
    file: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(file: &'a str, bytes: &'a [u8]) -> Self {
        Self {
            file,
            bytes,
            pos: 0,
        }
    }
    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }
    pub(crate) fn err(&self, what: &str) -> crate::Error {
        crate::Error::File {
            file: self.file.to_string(),
            detail: format!("{what} at offset {}", self.pos),
        }
    }
    pub(crate) fn take(&mut self, n: usize, what: &str) -> crate::Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end.and_then(|e| self.bytes.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err(&format!(
                "truncated {what} (needs {n} bytes, {} left)",
                self.remaining()
            ))),
        }
    }
    pub(crate) fn u8(&mut self, what: &str) -> crate::Result<u8> {
        Ok(self.take(1, what)?.first().copied().unwrap_or(0))
    }
    pub(crate) fn u16(&mut self, what: &str) -> crate::Result<u16> {
        let b = self.take(2, what)?;
        let mut a = [0u8; 2];
        a.copy_from_slice(b);
        Ok(u16::from_be_bytes(a))
    }
    pub(crate) fn u32(&mut self, what: &str) -> crate::Result<u32> {
        let b = self.take(4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_be_bytes(a))
    }
    pub(crate) fn i32(&mut self, what: &str) -> crate::Result<i32> {
        Ok(self.u32(what)? as i32)
    }
    /// A u32-length-prefixed byte string, bounded by the bytes present.
    pub(crate) fn data32(&mut self, what: &str) -> crate::Result<&'a [u8]> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }
    /// A u16-length-prefixed byte string.
    pub(crate) fn data16(&mut self, what: &str) -> crate::Result<&'a [u8]> {
        let n = usize::from(self.u16(what)?);
        self.take(n, what)
    }
}
