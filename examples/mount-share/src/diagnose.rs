//! `diagnose //host/share`: the client-side checks of Azure's Debug-AzStorageAccountAuth,
//! each PASS / WARN / FAIL (or SKIP when it does not apply) with the cause and the fix.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::dns;

use azkrb::asn1::KerberosTime;
use azkrb::cloudtgt::Credential;
use azkrb::cloudtgt::config::KdcAddress;
use azkrb::smb3::{Cipher, Dialect};
use azkrb::{AzureFiles, Error, UncPath};

/// A check's verdict.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        }
    }
}

/// One check's outcome.
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        fix: None,
    }
}

fn with_fix(mut c: Check, fix: impl Into<String>) -> Check {
    c.fix = Some(fix.into());
    c
}

/// The TGT lifetime Entra Kerberos issues (about 10 hours); under an hour left is a warning.
const NEAR_EXPIRY_SECONDS: i64 = 3600;

/// The checks, in order: each is one method of [`Probe`], and may stop the run when what
/// comes after cannot be checked.
const CHECKS: &[Step] = &[
    Step::NameResolution,
    Step::SmbPort,
    Step::RealmRouting,
    Step::Tgt,
    Step::KdcProxyAndServiceTicket,
    Step::ClockSkew,
    Step::TicketEncryption,
    Step::SmbSession,
];

#[derive(Clone, Copy)]
enum Step {
    NameResolution,
    SmbPort,
    RealmRouting,
    Tgt,
    KdcProxyAndServiceTicket,
    ClockSkew,
    TicketEncryption,
    SmbSession,
}

/// Whether the checks after this one can run.
#[derive(PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// What the checks learn, for the checks after them.
struct Probe<'a> {
    files: &'a AzureFiles,
    unc: &'a UncPath,
    address: Option<&'a str>,
    port: u16,
    dns_server: Option<SocketAddr>,
    out: Vec<Check>,
    /// Where to connect (`host:port`), once known.
    target: Option<String>,
    /// The realm `[domain_realm]` routes the host to.
    routed: Option<String>,
    tgt: Option<Credential>,
    /// When the service ticket was asked for, and the ticket.
    ticket: Option<(KerberosTime, Credential)>,
}

/// Runs every check; `address` is the --address override, `port` the SMB port,
/// `dns_server` a DNS server to ask instead of the system's.
pub async fn run(
    files: &AzureFiles,
    unc: &UncPath,
    address: Option<&str>,
    port: u16,
    dns_server: Option<SocketAddr>,
) -> Vec<Check> {
    let mut p = Probe {
        files,
        unc,
        address,
        port,
        dns_server,
        out: Vec::new(),
        target: None,
        routed: None,
        tgt: None,
        ticket: None,
    };
    for step in CHECKS {
        let flow = match step {
            Step::NameResolution => p.name_resolution().await,
            Step::SmbPort => p.smb_port().await,
            Step::RealmRouting => p.realm_routing(),
            Step::Tgt => p.tgt().await,
            Step::KdcProxyAndServiceTicket => p.kdc_proxy_and_service_ticket().await,
            Step::ClockSkew => p.clock_skew(),
            Step::TicketEncryption => p.ticket_encryption(),
            Step::SmbSession => p.smb_session().await,
        };
        if flow == Flow::Stop {
            break;
        }
    }
    p.out
}

impl Probe<'_> {
    fn host(&self) -> &str {
        &self.unc.host
    }

    /// The share's host name resolves (skipped with --address alone).
    async fn name_resolution(&mut self) -> Flow {
        let host = self.host().to_string();
        self.target = match (self.address, self.dns_server) {
            (Some(a), None) => {
                self.out.push(check(
                    "name resolution",
                    Status::Skip,
                    format!("connecting to --address {a}; {host} is not looked up"),
                ));
                Some(a.to_string())
            }
            _ => {
                let (c, resolved) = name_resolution(&host, self.dns_server).await;
                self.out.push(c);
                match self.address {
                    Some(a) => Some(a.to_string()),
                    None => resolved.map(|ip| SocketAddr::new(ip, self.port).to_string()),
                }
            }
        };
        Flow::Go
    }

    /// TCP to the SMB port connects within 5 s.
    async fn smb_port(&mut self) -> Flow {
        let Some(t) = self.target.clone() else {
            self.out.push(check(
                "SMB port reachable",
                Status::Skip,
                "the name did not resolve",
            ));
            return Flow::Go;
        };
        let r =
            tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(&t)).await;
        self.out.push(match r {
            Ok(Ok(_)) => check(
                "SMB port reachable",
                Status::Pass,
                format!("TCP {t} accepts connections"),
            ),
            Ok(Err(e)) => with_fix(
                check("SMB port reachable", Status::Fail, format!("TCP {t}: {e}")),
                "port 445 outbound is blocked by many ISPs and firewalls: use a VPN, \
                 ExpressRoute or a private endpoint",
            ),
            Err(_) => with_fix(
                check(
                    "SMB port reachable",
                    Status::Fail,
                    format!("TCP {t}: no answer in 5 s"),
                ),
                "a firewall drops the traffic: open TCP 445 outbound",
            ),
        });
        Flow::Go
    }

    /// `[domain_realm]` routes the host to one realm, without conflicting entries.
    fn realm_routing(&mut self) -> Flow {
        let host = self.host().to_string();
        let config = self.files.kerberos().config();
        let entries = config.matching_entries(&host);
        let mut realms: Vec<&str> = entries.iter().map(|(_, r)| *r).collect();
        realms.sort_unstable();
        realms.dedup();
        let routed = config.realm_for_host(&host).map(str::to_string);
        let c = match (&routed, realms.len()) {
            (Some(r), n) if n > 1 => with_fix(
                check(
                    "realm routing",
                    Status::Warn,
                    format!(
                        "{host} → {r} (the most specific of {} [domain_realm] entries: {})",
                        entries.len(),
                        entries
                            .iter()
                            .map(|(k, v)| format!("{k} = {v}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
                "conflicting mappings: keep one entry per storage account (AD DS accounts by full host name)",
            ),
            (Some(r), _) => check("realm routing", Status::Pass, format!("{host} → {r}")),
            (None, _) => with_fix(
                check(
                    "realm routing",
                    Status::Warn,
                    format!("no [domain_realm] entry for {host}: the TGT's realm is used"),
                ),
                "pass --tenant <id> (Entra) or add the host to [domain_realm] (AD DS)",
            ),
        };
        self.out.push(c);
        self.routed = routed;
        Flow::Go
    }

    /// A TGT is at hand, with more than an hour left.
    async fn tgt(&mut self) -> Flow {
        let tgt = match self.files.tgt().await {
            Ok(t) => t,
            Err(e) => {
                self.out.push(with_fix(
                    check("TGT", Status::Fail, e.to_string()),
                    "log in: mount-share login user@REALM",
                ));
                return Flow::Stop;
            }
        };
        let left = tgt.remaining(KerberosTime::now());
        self.out.push(if left <= 0 {
            with_fix(
                check(
                    "TGT",
                    Status::Fail,
                    format!("{} expired at {}", tgt.client, tgt.endtime),
                ),
                "log in again: mount-share login",
            )
        } else if left < NEAR_EXPIRY_SECONDS {
            with_fix(
                check(
                    "TGT",
                    Status::Warn,
                    format!("{} valid for only {} more minutes", tgt.client, left / 60),
                ),
                "log in again soon (Entra cloud TGTs last about 10 hours)",
            )
        } else {
            check(
                "TGT",
                Status::Pass,
                format!(
                    "{} valid until {} ({} h {} min left)",
                    tgt.client,
                    tgt.endtime,
                    left / 3600,
                    left % 3600 / 60
                ),
            )
        });
        self.tgt = Some(tgt);
        Flow::Go
    }

    /// The KDC proxy and the service ticket, from one fresh TGS exchange.
    async fn kdc_proxy_and_service_ticket(&mut self) -> Flow {
        let Some(tgt) = &self.tgt else {
            return Flow::Stop;
        };
        let host = self.host().to_string();
        let realm = self
            .routed
            .clone()
            .unwrap_or_else(|| tgt.client.realm.clone());
        let proxies: Vec<String> = self
            .files
            .kerberos()
            .config()
            .kdcs_for(&realm)
            .map(|k| {
                k.iter()
                    .filter_map(|a| match a {
                        KdcAddress::Https(u) => Some(u.clone()),
                        KdcAddress::Tcp(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let asked = KerberosTime::now();
        let ticket = self.files.cifs_ticket(&host).await;
        let transport_failure = matches!(
            &ticket,
            Err(Error::Kerberos(
                azkrb::cloudtgt::Error::Tls { .. }
                    | azkrb::cloudtgt::Error::Http { .. }
                    | azkrb::cloudtgt::Error::Redirect { .. }
                    | azkrb::cloudtgt::Error::Unreachable { .. }
                    | azkrb::cloudtgt::Error::Timeout { .. }
            ))
        );
        self.out.push(match (&ticket, proxies.is_empty()) {
            (_, true) => check(
                "KDC proxy",
                Status::Skip,
                format!("{realm} is reached over TCP, not a KDC proxy"),
            ),
            (Err(e), false) if transport_failure => with_fix(
                check("KDC proxy", Status::Fail, e.to_string()),
                "check HTTPS access to the proxy URL (HTTPS_PROXY if a proxy is needed) and its CA",
            ),
            (_, false) => check(
                "KDC proxy",
                Status::Pass,
                format!(
                    "{} answered over TLS with a trusted certificate",
                    proxies.join(", ")
                ),
            ),
        });
        match ticket {
            Ok(t) => {
                let spn = t.server.to_string();
                let note = if host.contains(".privatelink.") && spn.contains(".privatelink.") {
                    " (the private endpoint's own SPN: the canonical one is not registered)"
                } else if host.contains(".privatelink.") {
                    " (the canonical SPN, as for the public name)"
                } else {
                    ""
                };
                self.out.push(check(
                    "service ticket",
                    Status::Pass,
                    format!("{spn} from {realm}{note}"),
                ));
                self.ticket = Some((asked, t));
                Flow::Go
            }
            Err(e) => {
                if !transport_failure {
                    self.out
                        .push(check("service ticket", Status::Fail, e.to_string()));
                }
                Flow::Stop
            }
        }
    }

    /// This machine's clock against the KDC's, from the fresh ticket.
    fn clock_skew(&mut self) -> Flow {
        let Some((asked, ticket)) = &self.ticket else {
            return Flow::Stop;
        };
        // A fresh, non-postdated ticket starts at the KDC's "now"; an absent starttime means
        // authtime (RFC 4120 §5.3), which MIT omits when the two are equal.
        let kdc_now = ticket.starttime.unwrap_or(ticket.authtime);
        let skew = asked.0 - kdc_now.0;
        self.out.push(if skew.abs() > 300 {
            with_fix(
                check(
                    "clock skew",
                    Status::Fail,
                    format!("this machine is {skew} s off the KDC's clock"),
                ),
                "synchronise the clock (chrony/ntpd/w32time); Kerberos allows 5 minutes",
            )
        } else if skew.abs() > 60 {
            with_fix(
                check(
                    "clock skew",
                    Status::Warn,
                    format!("this machine is {skew} s off the KDC's clock"),
                ),
                "synchronise the clock before it drifts past Kerberos' 5 minutes",
            )
        } else {
            check(
                "clock skew",
                Status::Pass,
                format!("{skew} s against the KDC (limit 300 s)"),
            )
        });
        Flow::Go
    }

    /// The ticket and its session key are AES-256.
    fn ticket_encryption(&mut self) -> Flow {
        let Some((_, ticket)) = &self.ticket else {
            return Flow::Stop;
        };
        let tkt_etype = ticket.ticket.enc_part.etype;
        let skey = ticket.session_key.etype();
        self.out.push(if tkt_etype == 18 && skey == azkrb::crypto::EncryptionType::Aes256CtsHmacSha196 {
            check("AES-256 ticket", Status::Pass, "ticket and session key aes256-cts-hmac-sha1-96")
        } else {
            with_fix(
                check("AES-256 ticket", Status::Warn, format!("ticket etype {tkt_etype}, session key {}", skey.name())),
                "Azure Files with Entra Kerberos issues AES-256 only: check the account's supported encryption types",
            )
        });
        Flow::Go
    }

    /// SMB: the dialect, the cipher and the tree connect.
    async fn smb_session(&mut self) -> Flow {
        let host = self.host().to_string();
        let share_unc = format!("//{host}/{}", self.unc.share);
        let opened = match &self.target {
            Some(t) => self.files.open_at(&share_unc, t).await,
            None => self.files.open(&share_unc).await,
        };
        match opened {
            Ok(share) => {
                let n = share.negotiated();
                self.out.push(if n.dialect == Dialect::Smb311 {
                    check("SMB dialect", Status::Pass, "SMB 3.1.1")
                } else {
                    with_fix(check("SMB dialect", Status::Warn, format!("{:?}", n.dialect)), "Azure's maximum-security profile needs SMB 3.1.1")
                });
                self.out.push(match n.cipher {
                    Some(Cipher::Aes256Gcm) => check("SMB encryption", Status::Pass, "AES-256-GCM"),
                    Some(c) => with_fix(
                        check("SMB encryption", Status::Warn, format!("{c} negotiated")),
                        "offer AES-256-GCM only (--cipher aes-256-gcm), as Azure's maximum-security profile requires",
                    ),
                    None => with_fix(check("SMB encryption", Status::Fail, "no cipher negotiated"), "the server must support SMB 3 encryption"),
                });
                self.out.push(check("tree connect", Status::Pass, format!("//{host}/{} connected", self.unc.share)));
                let _ = share.close().await;
            }
            Err(e) => self.out.push(with_fix(
                check("SMB session and tree connect", Status::Fail, e.to_string()),
                "see the message; STATUS_ACCESS_DENIED at session setup usually means a security profile mismatch (cipher, dialect, ticket)",
            )),
        }
        Flow::Go
    }
}

/// Prints the checks; true if none failed.
pub fn report(checks: &[Check], json: bool) -> bool {
    if json {
        let rows: Vec<serde_json::Value> = checks
            .iter()
            .map(|c| serde_json::json!({"check": c.name, "status": c.status.word(), "detail": c.detail, "fix": c.fix}))
            .collect();
        println!("{}", serde_json::Value::Array(rows));
    } else {
        for c in checks {
            println!("{} {:<22} {}", c.status.word(), c.name, c.detail);
            if let Some(f) = &c.fix {
                println!("     {:<22} fix: {f}", "");
            }
        }
    }
    !checks.iter().any(|c| c.status == Status::Fail)
}

/// The name's CNAME chain and addresses: asked of `server` (or of the system's DNS server,
/// for the chain, with the system resolver giving the addresses), and judged as a private
/// endpoint should look. Returns the check and the address to connect to.
async fn name_resolution(host: &str, server: Option<SocketAddr>) -> (Check, Option<IpAddr>) {
    const NAME: &str = "name resolution";
    let explicit = server.is_some();
    let asked = server.or_else(dns::system_server);
    let answer = match asked {
        Some(s) => Some(dns::resolve(s, host, Duration::from_secs(3)).await),
        None => None,
    };
    let (chain, addrs, note) = match (answer, explicit) {
        (Some(Err(e)), true) => {
            return (
                with_fix(
                    check(NAME, Status::Fail, e),
                    "check the storage account name and the DNS server",
                ),
                None,
            );
        }
        (Some(Ok(a)), true) => (a.cnames, a.addrs, String::new()),
        // The system resolver decides the addresses (hosts file, search domains, …); the
        // system's DNS server shows the chain.
        (answer, _) => {
            let system: Vec<IpAddr> = match tokio::net::lookup_host((host, 445)).await {
                Ok(a) => a.map(|a| a.ip()).collect(),
                Err(e) => {
                    return (
                        with_fix(
                            check(NAME, Status::Fail, format!("{host}: {e}")),
                            "check the storage account name and the DNS servers (for a \
                             private endpoint, the privatelink DNS zone)",
                        ),
                        None,
                    );
                }
            };
            match answer {
                Some(Ok(a)) => (a.cnames, system, String::new()),
                Some(Err(e)) => (Vec::new(), system, format!("; CNAME chain not seen: {e}")),
                None => (
                    Vec::new(),
                    system,
                    "; CNAME chain not seen: no nameserver in /etc/resolv.conf".into(),
                ),
            }
        }
    };
    if addrs.is_empty() {
        return (
            with_fix(
                check(NAME, Status::Fail, format!("{host}: no address")),
                "check the storage account name and the DNS records",
            ),
            None,
        );
    }
    let mut path = vec![host.to_string()];
    path.extend(chain.iter().cloned());
    let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let by = asked
        .filter(|_| explicit)
        .map(|s| format!(" (asked {s})"))
        .unwrap_or_default();
    let detail = format!("{} → {}{by}{note}", path.join(" → "), list.join(", "));
    let privatelink = chain.iter().any(|c| c.contains(".privatelink."));
    let private = addrs.iter().all(|ip| dns::is_private(*ip));
    let c = match (privatelink, private) {
        (true, true) => check(NAME, Status::Pass, format!("{detail}: a private endpoint")),
        (true, false) => with_fix(
            check(
                NAME,
                Status::Warn,
                format!(
                    "{detail}: the privatelink name resolves to a public address, so \
                     traffic goes to the public endpoint"
                ),
            ),
            "if the account has a private endpoint, this DNS server must answer the \
             privatelink.file.core.windows.net zone with its address: link the private DNS \
             zone to the network, or forward that zone to Azure DNS (168.63.129.16)",
        ),
        (false, true) => check(
            NAME,
            Status::Pass,
            format!(
                "{detail}: a private address without a privatelink CNAME (hosts file or a custom zone)"
            ),
        ),
        (false, false) => {
            let mut c = check(NAME, Status::Pass, format!("{detail}: the public endpoint"));
            if host.ends_with(".file.core.windows.net") {
                c.detail.push_str(
                    " (with a private endpoint the name resolves through a privatelink \
                     CNAME to a private address; the ticket stays for \
                     cifs/<account>.file.core.windows.net)",
                );
            }
            c
        }
    };
    (c, addrs.first().copied())
}
