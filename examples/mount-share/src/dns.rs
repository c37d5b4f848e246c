//! Just enough DNS for `diagnose`: one query over UDP to see the CNAME chain of a storage
//! account's name (`<account>.file.core.windows.net` → `<account>.privatelink.file.core…`
//! when a private endpoint is set up) and the addresses it ends at. The system resolver
//! hides the chain, and the chain is what tells a private endpoint from the public one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Record types.
const A: u16 = 1;
const CNAME: u16 = 5;
const AAAA: u16 = 28;

/// What a DNS server says about a name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The CNAME chain, in order, without the queried name.
    pub cnames: Vec<String>,
    /// The addresses of the chain's last name.
    pub addrs: Vec<IpAddr>,
}

/// The first `nameserver` of /etc/resolv.conf (port 53).
pub fn system_server() -> Option<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .find_map(|rest| rest.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
}

/// Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address (port 53 by default).
pub fn parse_server(s: &str) -> Option<SocketAddr> {
    s.parse::<SocketAddr>()
        .ok()
        .or_else(|| s.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53)))
}

/// True for addresses a private endpoint (or a local test) uses: RFC 1918, CGNAT, loopback,
/// link-local, IPv6 unique-local.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Asks `server` for the A (then, if none, AAAA) records of `name`, following the CNAME
/// chain in the answer.
pub async fn resolve(server: SocketAddr, name: &str, wait: Duration) -> Result<Answer, String> {
    let mut answer = Answer::default();
    for qtype in [A, AAAA] {
        answer = ask(server, name, qtype, wait).await?;
        if !answer.addrs.is_empty() {
            break;
        }
    }
    Ok(answer)
}

async fn ask(server: SocketAddr, name: &str, qtype: u16, wait: Duration) -> Result<Answer, String> {
    use std::hash::{BuildHasher, Hasher};
    let id = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish() as u16;
    let query = encode_query(id, name, qtype)?;
    let bind = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let socket = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| format!("DNS socket: {e}"))?;
    socket
        .connect(server)
        .await
        .map_err(|e| format!("DNS server {server}: {e}"))?;
    socket
        .send(&query)
        .await
        .map_err(|e| format!("DNS server {server}: {e}"))?;
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let n = tokio::time::timeout_at(deadline, socket.recv(&mut buf))
            .await
            .map_err(|_| format!("DNS server {server}: no answer in {}s", wait.as_secs()))?
            .map_err(|e| format!("DNS server {server}: {e}"))?;
        // Answers to other queries (or spoofed ones) do not carry our id: wait on.
        match parse_response(&buf[..n], id, name) {
            Err(Mismatch::OtherId) => continue,
            Err(Mismatch::Bad(e)) => return Err(format!("DNS server {server}: {e}")),
            Ok(a) => return Ok(a),
        }
    }
}

/// A standard query with recursion desired.
pub fn encode_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>, String> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    let name = name.trim_end_matches('.');
    if name.is_empty() || name.len() > 253 {
        return Err(format!("{name:?} is not a DNS name"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("{name:?} is not a DNS name"));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    Ok(q)
}

/// Why a datagram is not the answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// Another query's answer.
    OtherId,
    /// Not a usable answer, with the reason.
    Bad(String),
}

fn bad(s: impl Into<String>) -> Mismatch {
    Mismatch::Bad(s.into())
}

fn u16_at(m: &[u8], at: usize) -> Result<u16, Mismatch> {
    m.get(at..at + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| bad("truncated message"))
}

/// Reads a (possibly compressed) name at `at`; returns it and the offset after it.
fn read_name(m: &[u8], mut at: usize) -> Result<(String, usize), Mismatch> {
    let mut name = String::new();
    let mut after = None;
    let mut jumps = 0;
    loop {
        let len = *m.get(at).ok_or_else(|| bad("truncated name"))? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => {
                return Ok((name, after.unwrap_or(at + 1)));
            }
            0x00 => {
                let label = m
                    .get(at + 1..at + 1 + len)
                    .ok_or_else(|| bad("truncated label"))?;
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
                if name.len() > 255 {
                    return Err(bad("name too long"));
                }
                at += 1 + len;
            }
            0xc0 => {
                let ptr = (u16_at(m, at)? & 0x3fff) as usize;
                after.get_or_insert(at + 2);
                jumps += 1;
                if jumps > 64 || ptr >= m.len() {
                    return Err(bad("bad compression pointer"));
                }
                at = ptr;
            }
            _ => return Err(bad("unknown label type")),
        }
    }
}

/// Decodes the response to query `id` for `name`: the CNAME chain and final addresses.
pub fn parse_response(m: &[u8], id: u16, name: &str) -> Result<Answer, Mismatch> {
    if u16_at(m, 0)? != id {
        return Err(Mismatch::OtherId);
    }
    let flags = u16_at(m, 2)?;
    if flags & 0x8000 == 0 {
        return Err(bad("not a response"));
    }
    match flags & 0x000f {
        0 => {}
        3 => return Err(bad(format!("{name} does not exist (NXDOMAIN)"))),
        2 => return Err(bad("server failure (SERVFAIL)")),
        5 => return Err(bad("query refused")),
        rc => return Err(bad(format!("error code {rc}"))),
    }
    let (qd, an) = (u16_at(m, 4)?, u16_at(m, 6)?);
    let mut at = 12;
    for _ in 0..qd {
        at = read_name(m, at)?.1 + 4;
    }
    let mut records = Vec::new();
    for _ in 0..an {
        let (owner, next) = read_name(m, at)?;
        let rtype = u16_at(m, next)?;
        let rdlen = u16_at(m, next + 8)? as usize;
        let start = next + 10;
        let rdata = m
            .get(start..start + rdlen)
            .ok_or_else(|| bad("truncated record"))?;
        let value = match rtype {
            A if rdlen == 4 => Some(Rdata::Addr(IpAddr::V4(Ipv4Addr::new(
                rdata[0], rdata[1], rdata[2], rdata[3],
            )))),
            AAAA if rdlen == 16 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(rdata);
                Some(Rdata::Addr(IpAddr::V6(Ipv6Addr::from(o))))
            }
            CNAME => Some(Rdata::Cname(read_name(m, start)?.0)),
            _ => None,
        };
        if let Some(v) = value {
            records.push((owner, v));
        }
        at = start + rdlen;
    }
    let mut answer = Answer::default();
    let mut current = name.trim_end_matches('.').to_ascii_lowercase();
    // Follow the chain (bounded: a loop of CNAMEs must not spin).
    for _ in 0..16 {
        let next = records.iter().find_map(|(o, v)| match v {
            Rdata::Cname(t) if *o == current => Some(t.clone()),
            _ => None,
        });
        match next {
            Some(t) => {
                answer.cnames.push(t.clone());
                current = t;
            }
            None => break,
        }
    }
    answer.addrs = records
        .iter()
        .filter_map(|(o, v)| match v {
            Rdata::Addr(ip) if *o == current => Some(*ip),
            _ => None,
        })
        .collect();
    Ok(answer)
}

enum Rdata {
    Addr(IpAddr),
    Cname(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response as a server would build it: the question, then a CNAME (compressed
    /// against the question) and an A record.
    fn response(id: u16) -> Vec<u8> {
        let mut m = encode_query(id, "acct.file.core.windows.net", A).unwrap();
        m[2] = 0x81;
        m[3] = 0x80;
        m[7] = 2; // two answers
        // acct.file.core.windows.net (pointer to 12) CNAME acct.privatelink.<ptr to "file…">
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60]);
        let target = [&[4u8][..], b"acct", &[11], b"privatelink", &[0xc0, 17]].concat();
        m.extend_from_slice(&(target.len() as u16).to_be_bytes());
        let target_at = m.len();
        m.extend_from_slice(&target);
        m.extend_from_slice(&[0xc0, target_at as u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        m.extend_from_slice(&[10, 1, 2, 3]);
        m
    }

    #[test]
    fn the_chain_and_its_addresses() {
        let a = parse_response(&response(7), 7, "acct.file.core.windows.net").unwrap();
        assert_eq!(a.cnames, ["acct.privatelink.file.core.windows.net"]);
        assert_eq!(a.addrs, [IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))]);
        assert!(is_private(a.addrs[0]));
        assert!(!is_private("20.60.1.2".parse().unwrap()));
        assert!(is_private("100.100.0.1".parse().unwrap()));
        assert!(is_private("fd00::1".parse().unwrap()));
    }

    #[test]
    fn other_ids_errors_and_every_truncation_are_refused_without_panic() {
        let m = response(7);
        assert_eq!(
            parse_response(&m, 8, "acct.file.core.windows.net"),
            Err(Mismatch::OtherId)
        );
        for n in 0..m.len() {
            assert!(parse_response(&m[..n], 7, "acct.file.core.windows.net").is_err());
        }
        let mut nx = m.clone();
        nx[3] = 0x83;
        assert!(matches!(
            parse_response(&nx, 7, "x"),
            Err(Mismatch::Bad(e)) if e.contains("NXDOMAIN")
        ));
        // A pointer loop.
        let mut looped = m.clone();
        let at = looped.len() - 16;
        looped[at] = 0xc0;
        looped[at + 1] = at as u8;
        assert!(parse_response(&looped, 7, "acct.file.core.windows.net").is_err());
        // Arbitrary bytes.
        let mut x = 0x1234_5678u32;
        for len in 0..300 {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = parse_response(&junk, 0, "a");
        }
        assert!(encode_query(1, "", A).is_err());
        assert!(encode_query(1, &"a".repeat(64), A).is_err());
    }
}
