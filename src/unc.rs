//! UNC paths: `//host/share/path` and `\\host\share\path`, parsed once.

use crate::Error;

/// `//host/share/path` or `\\host\share\path`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UncPath {
    /// The server's DNS name (the `cifs/` service principal's host), lower-cased.
    pub host: String,
    /// The share name.
    pub share: String,
    /// The path inside the share, `/`-separated, without leading or trailing separators
    /// (empty for the share's root).
    pub path: String,
}

impl UncPath {
    /// Parses a UNC path in either slash style (mixed separators are accepted).
    ///
    /// ```
    /// let p = azkrb::UncPath::parse(r"\\acct.file.core.windows.net\data\a\b.txt").unwrap();
    /// assert_eq!((p.host.as_str(), p.share.as_str(), p.path.as_str()),
    ///            ("acct.file.core.windows.net", "data", "a/b.txt"));
    /// ```
    pub fn parse(unc: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Usage(format!("{unc:?} is not //host/share[/path]: {why}"));
        let normal = unc.replace('\\', "/");
        let rest = normal
            .strip_prefix("//")
            .ok_or_else(|| bad("it must start with // or \\\\"))?;
        let mut parts = rest.splitn(3, '/');
        let host = parts.next().unwrap_or_default();
        let share = parts.next().unwrap_or_default();
        let path = parts.next().unwrap_or_default();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if host.contains(|c: char| c.is_whitespace() || c == ':' || c == '@') {
            return Err(bad("the host must be a plain DNS name"));
        }
        if share.is_empty() {
            return Err(bad("no share"));
        }
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.iter().any(|s| *s == "." || *s == "..") {
            return Err(bad("'.' and '..' are not allowed in the path"));
        }
        Ok(Self {
            host: host.to_ascii_lowercase(),
            share: share.to_string(),
            path: segments.join("/"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_paths_in_both_styles() {
        for s in [
            "//Acct.file.core.windows.net/data/a/b.txt",
            r"\\acct.file.core.windows.net\data\a\b.txt",
            r"\\acct.file.core.windows.net/data\a//b.txt/",
        ] {
            let p = UncPath::parse(s).unwrap();
            assert_eq!(p.host, "acct.file.core.windows.net");
            assert_eq!(p.share, "data");
            assert_eq!(p.path, "a/b.txt");
        }
        let root = UncPath::parse("//h/s").unwrap();
        assert_eq!(root.path, "");
    }

    #[test]
    fn bad_unc_paths_are_usage_errors() {
        for s in [
            "",
            "h/s",
            "//",
            "///s",
            "//h",
            "//h/",
            "//h:445/s",
            "//user@h/s",
            "//h/s/../x",
            "//h/s/./x",
        ] {
            match UncPath::parse(s) {
                Err(Error::Usage(m)) => assert!(m.contains("//host/share"), "{m}"),
                other => panic!("{s:?}: {other:?}"),
            }
        }
    }
}
