//! The lab's smbd processes as a test breaks them: which child serves a client's
//! connection (by the socket's inode in `/proc`), killed with SIGKILL. Only processes of
//! the lab's own smbd (its pid file) are ever touched.

use std::fs;
use std::net::SocketAddr;
use std::path::Path;

/// The pid of the lab's main smbd for `instance` (`enc` or `plain`).
pub fn main_pid(lab_dir: &str, instance: &str) -> Option<u32> {
    let p = Path::new(lab_dir).join(format!("smb/{instance}/pid/smbd.pid"));
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// The inode of the TCP socket whose remote end is `client` (the server's side of the
/// client's connection), from `/proc/net/tcp`.
fn server_socket_inode(client: SocketAddr) -> Option<u64> {
    let SocketAddr::V4(c) = client else {
        return None;
    };
    let want = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(c.ip().octets()),
        c.port()
    );
    let table = fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(2) == Some(&want.as_str()))
            .then(|| f.get(9)?.parse().ok())
            .flatten()
    })
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces; split after the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The smbd child (of the lab's smbd `instance`) that serves the connection from
/// `client`.
pub fn child_serving(lab_dir: &str, instance: &str, client: SocketAddr) -> Option<u32> {
    let main = main_pid(lab_dir, instance)?;
    let inode = server_socket_inode(client)?;
    let target = format!("socket:[{inode}]");
    fs::read_dir("/proc").ok()?.find_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        if parent_of(pid) != Some(main) {
            return None;
        }
        fs::read_dir(format!("/proc/{pid}/fd"))
            .ok()?
            .filter_map(Result::ok)
            .any(|fd| fs::read_link(fd.path()).is_ok_and(|l| l.to_str() == Some(&target)))
            .then_some(pid)
    })
}

/// Kills the smbd child serving `client` with SIGKILL; its pid, or None if none was
/// found.
pub fn kill_child_serving(lab_dir: &str, instance: &str, client: SocketAddr) -> Option<u32> {
    let pid = child_serving(lab_dir, instance, client)?;
    let ok = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(pid)
}

/// The local addresses of the TCP connections process `pid` holds to `port` on loopback
/// (a client program's connections to the lab's smbd).
pub fn connections_of(pid: u32, port: u16) -> Vec<SocketAddr> {
    let inodes: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|fd| fs::read_link(fd.path()).ok())
                .filter_map(|l| {
                    let l = l.to_str()?.to_string();
                    Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let Ok(table) = fs::read_to_string("/proc/net/tcp") else {
        return Vec::new();
    };
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (local, remote, inode) = (f.get(1)?, f.get(2)?, f.get(9)?);
            if !inodes.iter().any(|i| i == inode) {
                return None;
            }
            let (_, rport) = remote.split_once(':')?;
            if u16::from_str_radix(rport, 16).ok()? != port {
                return None;
            }
            let (ip, lport) = local.split_once(':')?;
            let ip = u32::from_str_radix(ip, 16).ok()?.to_le_bytes();
            let lport = u16::from_str_radix(lport, 16).ok()?;
            Some(SocketAddr::from((ip, lport)))
        })
        .collect()
}
