//! What the workspace's tests, benches and examples share (not published):
//!
//! - [`fixtures`]: the captured wire bytes under `tests/fixtures/` (MIT krb5 + kdcproxy in
//!   `mit/`, Samba AD DC tickets and PACs in `ad/`);
//! - [`lab`], [`try_lab`] and the proxy log: the environment file `lab/up` writes;
//! - [`smbd`]: the lab smbd child serving a connection, to kill it mid-transfer;
//! - [`proxy`]: a TCP proxy to cut or stall connections through it;
//! - with the `kerberos` feature, a Kerberos client for the lab ([`kerberos_client`],
//!   [`lab_user`]) and an Entra-style `tgt_cloud` made from a real lab AS-REP
//!   ([`tgt_cloud`]).

pub mod fixtures;
mod lab_env;
pub mod proxy;
pub mod smbd;
#[cfg(feature = "kerberos")]
pub mod tgt_cloud;

pub use lab_env::{Env, lab, proxy_log_len, proxy_log_since, try_lab};
#[cfg(feature = "kerberos")]
pub use lab_env::{kerberos_client, lab_user};

use std::path::{Path, PathBuf};

/// The workspace's root directory (this crate is `crates/azkrb-test-support` in it).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|d| d.join("lab/lib.sh").exists())
        .unwrap_or(here)
        .to_path_buf()
}
