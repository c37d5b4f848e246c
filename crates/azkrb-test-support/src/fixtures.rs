//! The captured wire bytes the tests read: `tests/fixtures/mit` (MIT krb5 1.20 and kdcproxy,
//! recaptured by `lab/capture/mit/recapture.sh`) and `tests/fixtures/ad` (a Samba AD DC's
//! tickets and PACs, recaptured by `lab/capture/ad/recapture.sh`).

use std::path::PathBuf;

/// `tests/fixtures/mit`.
pub fn mit_dir() -> PathBuf {
    crate::workspace_root().join("tests/fixtures/mit")
}

/// `tests/fixtures/ad`.
pub fn ad_dir() -> PathBuf {
    crate::workspace_root().join("tests/fixtures/ad")
}

/// The path of `tests/fixtures/mit/<name>`, for what takes a file name.
pub fn mit_path(name: &str) -> String {
    mit_dir().join(name).display().to_string()
}

/// The bytes of `tests/fixtures/mit/<name>` (`name` may lead into a subdirectory).
pub fn mit(name: &str) -> Vec<u8> {
    read(mit_dir().join(name))
}

/// The bytes of `tests/fixtures/ad/<name>`.
pub fn ad(name: &str) -> Vec<u8> {
    read(ad_dir().join(name))
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
