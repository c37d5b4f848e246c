//! The lab's environment file (`lab/up` writes it) and what the tests read from it.

use std::collections::HashMap;

/// The variables of the lab's environment file, by name.
pub type Env = HashMap<String, String>;

fn env_path() -> String {
    std::env::var("AZKRB_LAB_ENV")
        .unwrap_or_else(|_| format!("{}/lab/state/lab.env", crate::workspace_root().display()))
}

/// The variables lab/up wrote (AZKRB_LAB_ENV, or lab/state/lab.env), if the lab is up.
pub fn try_lab() -> Option<Env> {
    let text = std::fs::read_to_string(env_path()).ok()?;
    Some(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The lab's variables; panics with the fix when the lab is not up.
pub fn lab() -> Env {
    try_lab().unwrap_or_else(|| {
        panic!(
            "{}: missing: start the lab with lab/up (scripts/test does)",
            env_path()
        )
    })
}

/// Lines appended to the proxy log since `start` lines.
pub fn proxy_log_since(env: &Env, start: usize) -> Vec<String> {
    std::fs::read_to_string(&env["AZKRB_LAB_PROXY_LOG"])
        .unwrap()
        .lines()
        .skip(start)
        .map(str::to_string)
        .collect()
}

/// Number of lines in the proxy log now.
pub fn proxy_log_len(env: &Env) -> usize {
    std::fs::read_to_string(&env["AZKRB_LAB_PROXY_LOG"])
        .unwrap()
        .lines()
        .count()
}

/// A Kerberos client for the lab: its krb5.conf (the Entra realm through the KDC proxy) and
/// its CA.
#[cfg(feature = "kerberos")]
pub fn kerberos_client(env: &Env) -> azkrb_cloudtgt::Client {
    azkrb_cloudtgt::Client::new(
        azkrb_cloudtgt::RealmConfig::load(&env["AZKRB_LAB_KRB5_CONF"]).unwrap(),
        &azkrb_cloudtgt::TransportOptions {
            ca_file: Some(env["AZKRB_LAB_CA"].clone()),
            ..Default::default()
        },
    )
    .unwrap()
}

/// The lab user's principal (alice in the Entra realm).
#[cfg(feature = "kerberos")]
pub fn lab_user(env: &Env) -> azkrb_cloudtgt::Principal {
    azkrb_cloudtgt::Principal::parse(&env["AZKRB_LAB_USER"], &env["AZKRB_LAB_REALM"]).unwrap()
}
