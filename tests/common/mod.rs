//! Shared helpers of the lab-backed tests, benches and examples: the lab's environment file.
#![allow(dead_code)]

use std::collections::HashMap;

fn env_path() -> String {
    std::env::var("AZKRB_LAB_ENV").unwrap_or_else(|_| {
        // The workspace root (this module is shared by packages below it too).
        let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let root = here
            .ancestors()
            .find(|d| d.join("lab/lib.sh").exists())
            .unwrap_or(here);
        format!("{}/lab/state/lab.env", root.display())
    })
}

/// The variables lab/up wrote (AZKRB_LAB_ENV, or lab/state/lab.env), if the lab is up.
pub fn try_lab() -> Option<HashMap<String, String>> {
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
pub fn lab() -> HashMap<String, String> {
    try_lab().unwrap_or_else(|| {
        panic!(
            "{}: missing: start the lab with lab/up (scripts/test does)",
            env_path()
        )
    })
}

/// Lines appended to the proxy log since `start` lines.
pub fn proxy_log_since(env: &HashMap<String, String>, start: usize) -> Vec<String> {
    std::fs::read_to_string(&env["AZKRB_LAB_PROXY_LOG"])
        .unwrap()
        .lines()
        .skip(start)
        .map(str::to_string)
        .collect()
}

/// Number of lines in the proxy log now.
pub fn proxy_log_len(env: &HashMap<String, String>) -> usize {
    std::fs::read_to_string(&env["AZKRB_LAB_PROXY_LOG"])
        .unwrap()
        .lines()
        .count()
}

/// A Kerberos client for the lab: its krb5.conf (the Entra realm through the KDC proxy) and
/// its CA.
pub fn kerberos_client(env: &HashMap<String, String>) -> azkrb_cloudtgt::Client {
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
pub fn lab_user(env: &HashMap<String, String>) -> azkrb_cloudtgt::Principal {
    azkrb_cloudtgt::Principal::parse(&env["AZKRB_LAB_USER"], &env["AZKRB_LAB_REALM"]).unwrap()
}
