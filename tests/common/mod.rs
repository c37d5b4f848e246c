//! Shared helpers of the lab-backed tests: the lab's environment file.

use std::collections::HashMap;

/// The variables lab/up wrote (AZKRB_LAB_ENV, or lab/state/lab.env).
pub fn lab() -> HashMap<String, String> {
    let path = std::env::var("AZKRB_LAB_ENV")
        .unwrap_or_else(|_| format!("{}/lab/state/lab.env", env!("CARGO_MANIFEST_DIR")));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}: start the lab with lab/up (scripts/test does)"));
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Lines appended to the proxy log since `start` lines.
#[allow(dead_code)]
pub fn proxy_log_since(env: &HashMap<String, String>, start: usize) -> Vec<String> {
    std::fs::read_to_string(&env["AZKRB_LAB_PROXY_LOG"])
        .unwrap()
        .lines()
        .skip(start)
        .map(str::to_string)
        .collect()
}

/// Number of lines in the proxy log now.
#[allow(dead_code)]
pub fn proxy_log_len(env: &HashMap<String, String>) -> usize {
    std::fs::read_to_string(&env["AZKRB_LAB_PROXY_LOG"])
        .unwrap()
        .lines()
        .count()
}
