//! mount-share: Azure Files (and any SMB 3 server) over Kerberos from the command line.
//!
//! Exit codes: 0 success; 1 the operation failed on the server (no such file, access denied,
//! …); 2 usage (bad arguments or settings); 3 Kerberos (login, ticket, credential cache);
//! 4 network or protocol (unreachable, timeout, refused session).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod config;
mod diagnose;
mod dns;
mod fuse;
mod progress;

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use azkrb::{AzureFiles, Error, Tgt, UncPath};
use azkrb_cloudtgt::Credential;
use azkrb_cloudtgt::ccache::{self, Ccache};
use azkrb_cloudtgt::exchange::AsSecret;
use azkrb_smb3::Cipher;
use clap::{Args, Parser, Subcommand};
use zeroize::Zeroizing;

const EXIT_CODES: &str = "Exit codes: 0 success; 1 the server refused the operation \
(no such file, access denied, …); 2 usage; 3 Kerberos (login, ticket, credential cache); \
4 network or protocol.";

#[derive(Parser)]
#[command(name = "mount-share", version, about, after_help = EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args)]
struct Global {
    /// Config file (TOML; default ~/.config/azkrb/config.toml when it exists). Flags and
    /// environment variables override it; it overrides the krb5.conf.
    #[arg(long, global = true, env = "AZKRB_CONFIG")]
    config: Option<String>,
    /// krb5.conf with [realms] and [domain_realm] (default: KRB5_CONFIG, then /etc/krb5.conf).
    #[arg(long, global = true, env = "KRB5_CONFIG")]
    krb5_conf: Option<String>,
    /// Entra tenant ID: routes *.file.core.windows.net to KERBEROS.MICROSOFTONLINE.COM through
    /// https://login.microsoftonline.com/<tenant>/kerberos.
    #[arg(long, global = true, env = "AZKRB_TENANT")]
    tenant: Option<String>,
    /// The KDC proxy URL for KERBEROS.MICROSOFTONLINE.COM, replacing the configured one.
    #[arg(long, global = true, env = "AZKRB_KDC_PROXY")]
    kdc_proxy: Option<String>,
    /// Extra CA certificates (PEM) to trust for the KDC proxy.
    #[arg(long, global = true, env = "AZKRB_CA_FILE")]
    ca_file: Option<String>,
    /// Credential cache, FILE:path or a path (default /tmp/krb5cc_<uid>).
    #[arg(long, global = true, env = "KRB5CCNAME")]
    ccache: Option<String>,
    /// SMB port [default: 445].
    #[arg(long, global = true)]
    port: Option<u16>,
    /// Connect to this address (host:port) instead of resolving the share's host; the ticket
    /// is still for cifs/<host>.
    #[arg(long, global = true)]
    address: Option<String>,
    /// Allowed ciphers in preference order (aes-256-gcm, aes-128-gcm, aes-256-ccm,
    /// aes-128-ccm); default all, AES-256-GCM first.
    #[arg(long, global = true, value_delimiter = ',')]
    cipher: Vec<String>,
    /// More logging (-v, -vv); secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Realms' KDCs from the config file.
    #[arg(skip)]
    realms: Vec<(String, Vec<String>)>,
    /// `[domain_realm]` entries from the config file.
    #[arg(skip)]
    domain_realm: Vec<(String, String)>,
    /// Where each setting came from, for `mount-share config`.
    #[arg(skip)]
    sources: std::collections::BTreeMap<&'static str, String>,
}

impl Global {
    fn port(&self) -> u16 {
        self.port.unwrap_or(445)
    }

    /// Fills what flags and environment left unset from the config file, and records where
    /// every setting came from.
    fn apply_config_file(&mut self, matches: &clap::ArgMatches) -> Result<(), Failure> {
        use clap::parser::ValueSource;
        // An empty variable or flag counts as unset.
        for v in [
            &mut self.config,
            &mut self.krb5_conf,
            &mut self.tenant,
            &mut self.kdc_proxy,
            &mut self.ca_file,
            &mut self.ccache,
            &mut self.address,
        ] {
            if v.as_deref() == Some("") {
                *v = None;
            }
        }
        let (path, named) = match &self.config {
            Some(p) => (Some(std::path::PathBuf::from(p)), true),
            None => (config::default_path(), false),
        };
        let file = match &path {
            Some(p) if named || p.exists() => {
                let c = config::load(p).map_err(usage)?;
                self.sources
                    .insert("config", format!("{} (read)", p.display()));
                Some((c, p.display().to_string()))
            }
            Some(p) => {
                self.sources
                    .insert("config", format!("{} (not present)", p.display()));
                None
            }
            None => None,
        };
        let from = |id: &str, env: &str, set: bool| match matches.value_source(id) {
            Some(ValueSource::CommandLine) if set => Some(format!("--{}", id.replace('_', "-"))),
            Some(ValueSource::EnvVariable) if set => Some(format!("environment {env}")),
            _ => None,
        };
        macro_rules! setting {
            ($field:ident, $env:literal) => {
                let source = from(stringify!($field), $env, self.$field.is_some());
                match (source, &file) {
                    (Some(s), _) => {
                        self.sources.insert(stringify!($field), s);
                    }
                    (None, Some((f, p))) if f.$field.is_some() => {
                        self.$field = f.$field.clone();
                        self.sources
                            .insert(stringify!($field), format!("config file {p}"));
                    }
                    _ => {}
                }
            };
        }
        setting!(krb5_conf, "KRB5_CONFIG");
        setting!(tenant, "AZKRB_TENANT");
        setting!(kdc_proxy, "AZKRB_KDC_PROXY");
        setting!(ca_file, "AZKRB_CA_FILE");
        setting!(ccache, "KRB5CCNAME");
        setting!(port, "");
        setting!(address, "");
        match (from("cipher", "", !self.cipher.is_empty()), &file) {
            (Some(s), _) => {
                self.sources.insert("cipher", s);
            }
            (None, Some((f, p))) if f.cipher.is_some() => {
                self.cipher = f.cipher.clone().unwrap_or_default();
                self.sources.insert("cipher", format!("config file {p}"));
            }
            _ => {}
        }
        if let Some((f, _)) = file {
            self.realms = f.realms.into_iter().map(|(r, e)| (r, e.kdc)).collect();
            self.domain_realm = f.domain_realm.into_iter().collect();
        }
        Ok(())
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Obtain a TGT and write it to the credential cache (without a principal: keep the
    /// cache's TGT if it is still valid).
    Login {
        /// user@REALM, or a UPN (user@contoso.com: an enterprise name, in --realm, else in
        /// the Entra realm when it is configured).
        principal: Option<String>,
        /// Realm for a principal without one, or for a UPN.
        #[arg(long)]
        realm: Option<String>,
        /// Read the password from standard input (first line) instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// Log in with the principal's keys from this keytab.
        #[arg(long, conflicts_with = "password_stdin")]
        keytab: Option<String>,
        /// Import an Entra `tgt_cloud` JSON (from a PRT response) instead of logging in.
        #[arg(long, conflicts_with_all = ["password_stdin", "keytab"])]
        tgt_cloud: Option<String>,
        /// The PRT session key (32 bytes: raw, base64 or hex) in this file (`-`: standard
        /// input), for a `tgt_cloud` whose clientKey is a JWE.
        #[arg(long, requires = "tgt_cloud")]
        prt_session_key: Option<String>,
    },
    /// List the credential cache like MIT klist.
    Klist,
    /// Fetch cifs/<host> into the credential cache (for mount -t cifs -o sec=krb5) and print
    /// the mount command.
    Ticket {
        /// //host[/share]
        target: String,
    },
    /// List a directory.
    Ls {
        /// //host/share[/path]
        path: String,
        /// One JSON object per entry.
        #[arg(long)]
        json: bool,
    },
    /// Show a file's or directory's metadata.
    Stat {
        /// //host/share/path
        path: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Download a file.
    Get {
        /// Copy a directory and everything below it.
        #[arg(short, long)]
        recursive: bool,
        /// Continue an interrupted download from its NAME.part (files already complete are
        /// checked and skipped).
        #[arg(short = 'c', long)]
        resume: bool,
        /// //host/share/path
        remote: String,
        /// Local file (default: the remote file's name; `-` for standard output).
        local: Option<String>,
    },
    /// Upload a file.
    Put {
        /// Copy a directory and everything below it.
        #[arg(short, long)]
        recursive: bool,
        /// Continue an interrupted upload: keep what the remote file already holds (checked
        /// against the local file) and send the rest.
        #[arg(short = 'c', long)]
        resume: bool,
        /// Local file (`-` for standard input).
        local: String,
        /// //host/share/path
        remote: String,
    },
    /// Write a file to standard output.
    Cat {
        /// //host/share/path
        path: String,
    },
    /// Delete a file.
    Rm {
        /// //host/share/path
        path: String,
    },
    /// Create a directory.
    Mkdir {
        /// //host/share/path
        path: String,
    },
    /// Delete an empty directory.
    Rmdir {
        /// //host/share/path
        path: String,
    },
    /// Check everything between this machine and the share, each PASS / WARN / FAIL with
    /// the cause and the fix (exit code 1 if any check fails).
    Diagnose {
        /// //host/share
        target: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
        /// Ask this DNS server (ip[:port]) about the host instead of the system's: compare
        /// what a corporate and a public resolver say about a private endpoint.
        #[arg(long)]
        dns_server: Option<String>,
    },
    /// Mount a share with FUSE and serve it until Ctrl-C or SIGTERM (or `umount MOUNTPOINT`),
    /// then unmount.
    Mount {
        /// //host/share
        target: String,
        /// An existing directory.
        mountpoint: String,
        /// Let other users (and root) use the mount; non-root users need user_allow_other in
        /// /etc/fuse.conf.
        #[arg(long)]
        allow_other: bool,
        /// Mount read-only.
        #[arg(long)]
        read_only: bool,
    },
    /// Show the settings in effect and where each came from (flag, environment, config
    /// file).
    Config,
    /// Rename or move within a share.
    Mv {
        /// //host/share/path
        from: String,
        /// The new path: //host/share/path, or a path inside the same share.
        to: String,
        /// Replace an existing target.
        #[arg(long)]
        force: bool,
    },
}

/// A failure with its exit code.
struct Failure {
    code: u8,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Usage(_) => 2,
            Error::Kerberos(_) => 3,
            Error::Smb(azkrb_smb3::Error::Status { .. }) => 1,
            Error::Smb(azkrb_smb3::Error::Auth(_)) => 3,
            Error::Smb(azkrb_smb3::Error::InvalidArgument(_)) => 2,
            Error::Smb(_) => 4,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

impl From<azkrb_cloudtgt::Error> for Failure {
    fn from(e: azkrb_cloudtgt::Error) -> Self {
        Error::Kerberos(e).into()
    }
}

impl From<azkrb_smb3::Error> for Failure {
    fn from(e: azkrb_smb3::Error) -> Self {
        Error::Smb(e).into()
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

fn local_io(what: &str, e: std::io::Error) -> Failure {
    Failure {
        code: 4,
        message: format!("{what}: {e}"),
    }
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().get_matches();
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let sub = matches.subcommand().map(|(_, m)| m).unwrap_or(&matches);
    if let Err(f) = cli.global.apply_config_file(sub) {
        eprintln!("mount-share: {}", f.message);
        return ExitCode::from(f.code);
    }
    let level = match cli.global.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AZKRB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mount-share: cannot start the runtime: {e}");
            return ExitCode::from(4);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("mount-share: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn ccache_path(g: &Global) -> Result<String, Failure> {
    Ok(match &g.ccache {
        Some(name) => ccache::path_of(name)?,
        None => ccache::default_path()?,
    })
}

fn ciphers(g: &Global) -> Result<Option<Vec<Cipher>>, Failure> {
    if g.cipher.is_empty() {
        return Ok(None);
    }
    g.cipher
        .iter()
        .map(|c| match c.to_ascii_lowercase().as_str() {
            "aes-256-gcm" => Ok(Cipher::Aes256Gcm),
            "aes-128-gcm" => Ok(Cipher::Aes128Gcm),
            "aes-256-ccm" => Ok(Cipher::Aes256Ccm),
            "aes-128-ccm" => Ok(Cipher::Aes128Ccm),
            other => Err(usage(format!(
                "--cipher {other}: expected aes-256-gcm, aes-128-gcm, aes-256-ccm or aes-128-ccm"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn client(g: &Global, tgt: Tgt) -> Result<AzureFiles, Failure> {
    let mut b = AzureFiles::builder().tgt(tgt).smb_port(g.port());
    for (realm, kdcs) in &g.realms {
        b = b.realm_kdcs(realm, kdcs.clone());
    }
    for (domain, realm) in &g.domain_realm {
        b = b.domain_realm(domain, realm);
    }
    if let Some(p) = &g.krb5_conf {
        b = b.krb5_conf(p);
    }
    if let Some(t) = &g.tenant {
        b = b.entra_tenant(t);
    }
    if let Some(u) = &g.kdc_proxy {
        b = b.kdc_proxy(u);
    }
    if let Some(c) = &g.ca_file {
        b = b.ca_file(c);
    }
    if let Some(a) = &g.address {
        b = b.connect_to(a);
    }
    if let Some(c) = ciphers(g)? {
        b = b.ciphers(c);
    }
    Ok(b.build()?)
}

/// A client whose TGT is the credential cache's.
fn from_ccache(g: &Global) -> Result<AzureFiles, Failure> {
    client(g, Tgt::Ccache(Some(ccache_path(g)?)))
}

fn read_password(from_stdin: bool, principal: &str) -> Result<Zeroizing<String>, Failure> {
    let stdin = std::io::stdin();
    let prompt = !from_stdin && stdin.is_terminal();
    if prompt {
        eprint!("Password for {principal}: ");
        let _ = std::io::stderr().flush();
        // Echo off through stty (restored afterwards, also on error).
        let _ = std::process::Command::new("stty").arg("-echo").status();
    }
    let mut line = Zeroizing::new(String::new());
    let read = stdin.lock().read_line(&mut line);
    if prompt {
        let _ = std::process::Command::new("stty").arg("echo").status();
        eprintln!();
    }
    read.map_err(|e| local_io("reading the password", e))?;
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_string());
    if trimmed.is_empty() {
        return Err(usage("no password given"));
    }
    Ok(trimmed)
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let g = &cli.global;
    match cli.command {
        Cmd::Login {
            principal,
            realm,
            password_stdin,
            keytab,
            tgt_cloud,
            prt_session_key,
        } => {
            let cloud = tgt_cloud.map(|file| (file, prt_session_key));
            login(g, principal, realm, password_stdin, keytab, cloud).await
        }
        Cmd::Klist => klist(g),
        Cmd::Config => {
            show_config(g);
            Ok(())
        }
        Cmd::Ticket { target } => ticket(g, &target).await,
        Cmd::Ls { path, json } => ls(g, &path, json).await,
        Cmd::Stat { path, json } => stat(g, &path, json).await,
        Cmd::Get {
            remote,
            local,
            recursive: false,
            resume,
        } => get(g, &remote, local, resume).await,
        Cmd::Get {
            remote,
            local,
            recursive: true,
            resume,
        } => get_tree(g, &remote, local, resume).await,
        Cmd::Put {
            local,
            remote,
            recursive: false,
            resume,
        } => put(g, &local, &remote, resume).await,
        Cmd::Put {
            local,
            remote,
            recursive: true,
            resume,
        } => put_tree(g, &local, &remote, resume).await,
        Cmd::Cat { path } => get(g, &path, Some("-".into()), false).await,
        Cmd::Rm { path } => {
            let (share, p) = open(g, &path, true).await?;
            share.tree().remove(&p, false).await?;
            Ok(share.close().await?)
        }
        Cmd::Mkdir { path } => {
            let (share, p) = open(g, &path, true).await?;
            share.tree().mkdir(&p).await?;
            Ok(share.close().await?)
        }
        Cmd::Rmdir { path } => {
            let (share, p) = open(g, &path, true).await?;
            share.tree().remove(&p, true).await?;
            Ok(share.close().await?)
        }
        Cmd::Diagnose {
            target,
            json,
            dns_server,
        } => {
            let unc = UncPath::parse(&target)?;
            let dns_server = dns_server
                .map(|s| {
                    dns::parse_server(&s)
                        .ok_or_else(|| usage(format!("--dns-server {s}: expected ip[:port]")))
                })
                .transpose()?;
            let files = from_ccache(g)?;
            let checks =
                diagnose::run(&files, &unc, g.address.as_deref(), g.port(), dns_server).await;
            if diagnose::report(&checks, json) {
                Ok(())
            } else {
                Err(Failure {
                    code: 1,
                    message: "diagnose: some checks failed (see above)".into(),
                })
            }
        }
        Cmd::Mount {
            target,
            mountpoint,
            allow_other,
            read_only,
        } => mount(g, &target, &mountpoint, allow_other, read_only).await,
        Cmd::Mv { from, to, force } => {
            let (share, p) = open(g, &from, true).await?;
            let target = if to.starts_with("//") || to.starts_with("\\\\") {
                let t = UncPath::parse(&to)?;
                if t.host != share.unc().host || t.share != share.unc().share {
                    return Err(usage("mv works within one share"));
                }
                t.path
            } else {
                to.trim_matches(['/', '\\']).replace('\\', "/")
            };
            if target.is_empty() {
                return Err(usage("mv needs a target path inside the share"));
            }
            share.tree().rename(&p, &target, force).await?;
            Ok(share.close().await?)
        }
    }
}

async fn login(
    g: &Global,
    principal: Option<String>,
    realm: Option<String>,
    password_stdin: bool,
    keytab: Option<String>,
    tgt_cloud: Option<(String, Option<String>)>,
) -> Result<(), Failure> {
    let path = ccache_path(g)?;
    let tgt: Credential = if let Some((file, session_key)) = tgt_cloud {
        let text = std::fs::read_to_string(&file).map_err(|e| local_io(&file, e))?;
        let session_key = session_key.map(|f| read_prt_session_key(&f)).transpose()?;
        azkrb_cloudtgt::cloud::CloudTgt::from_json(&text)?
            .credential(session_key.as_deref().map(|k| &k[..]))?
    } else {
        let Some(name) = principal else {
            return keep_ccache(&path);
        };
        let files = client(g, Tgt::Ccache(None))?;
        let p = files
            .kerberos()
            .config()
            .login_principal(&name, realm.as_deref())?;
        if let Some(kt) = keytab {
            let keys = azkrb_cloudtgt::keytab::Keytab::load(&kt)?.keys_for(&p);
            if keys.is_empty() {
                return Err(usage(format!("{kt}: no keys for {p}")));
            }
            files.kerberos().login(&p, AsSecret::Keys(keys)).await?
        } else {
            let password = read_password(password_stdin, &name)?;
            files
                .kerberos()
                .login(&p, AsSecret::Password(password))
                .await?
        }
    };
    let mut cache = Ccache::new(tgt.client.clone());
    cache.store(&tgt)?;
    cache.save(&path)?;
    eprintln!(
        "Logged in as {} (TGT valid until {}); credential cache {path}",
        tgt.client, tgt.endtime
    );
    Ok(())
}

/// `login` without a principal: keep the credential cache's TGT if it is still valid.
fn keep_ccache(path: &str) -> Result<(), Failure> {
    let no_tgt = || {
        usage(format!(
            "login needs a principal (user@REALM or a UPN); {path} holds no TGT to keep"
        ))
    };
    let cache = Ccache::load(path).map_err(|_| no_tgt())?;
    let tgt = cache.tgt().ok_or_else(no_tgt)?;
    if tgt.endtime.0 <= azkrb_asn1::KerberosTime::now().0 {
        return Err(Failure {
            code: 3,
            message: format!(
                "the TGT in {path} for {} expired at {}: log in again (mount-share login \
                 user@REALM)",
                tgt.client, tgt.endtime
            ),
        });
    }
    eprintln!(
        "Keeping the TGT of {} in {path} (valid until {})",
        tgt.client, tgt.endtime
    );
    Ok(())
}

fn klist(g: &Global) -> Result<(), Failure> {
    let path = ccache_path(g)?;
    let cache = Ccache::load(&path)?;
    let creds = cache.credentials();
    println!("Ticket cache: FILE:{path}");
    if let Some(first) = creds.first() {
        println!("Default principal: {}", first.client);
    }
    println!();
    println!("Valid starting       Expires              Service principal");
    for c in &creds {
        let start = c.starttime.unwrap_or(c.authtime);
        println!("{start}  {}  {}", c.endtime, c.server);
        if let Some(r) = c.renew_till {
            println!("\trenew until {r}");
        }
        let tkt = azkrb_crypto::EncryptionType::try_from(c.ticket.enc_part.etype)
            .map(|e| e.name().to_string())
            .unwrap_or_else(|_| format!("etype {}", c.ticket.enc_part.etype));
        println!(
            "\tFlags: {}, Etype (skey, tkt): {}, {tkt}",
            c.flags.names().join(" "),
            c.session_key.etype().name()
        );
    }
    Ok(())
}

async fn ticket(g: &Global, target: &str) -> Result<(), Failure> {
    let unc = if target.trim_matches(['/', '\\']).contains(['/', '\\']) {
        UncPath::parse(target)?
    } else {
        UncPath::parse(&format!("{}/IPC$", target.trim_end_matches(['/', '\\'])))?
    };
    let path = ccache_path(g)?;
    let files = from_ccache(g)?;
    let t = files.cifs_ticket(&unc.host).await?;
    let mut cache = Ccache::load(&path)?;
    cache.store(&t)?;
    cache.save(&path)?;
    println!("{} stored in {path} (valid until {})", t.server, t.endtime);
    let share = if unc.share == "IPC$" {
        "<share>"
    } else {
        &unc.share
    };
    let port = if g.port() == 445 {
        String::new()
    } else {
        format!(",port={}", g.port())
    };
    println!(
        "sudo mount -t cifs //{}/{share} /mnt/{share} -o sec=krb5,cruid=$(id -u),vers=3.1.1,seal{port}",
        unc.host
    );
    Ok(())
}

/// Opens the share of `unc`; the path inside it must be non-empty when `need_path`.
async fn open(g: &Global, unc: &str, need_path: bool) -> Result<(azkrb::Share, String), Failure> {
    let parsed = UncPath::parse(unc)?;
    if need_path && parsed.path.is_empty() {
        return Err(usage(format!("{unc}: needs a path inside the share")));
    }
    let files = from_ccache(g)?;
    let share = files.open(unc).await?;
    Ok((share, parsed.path))
}

fn filetime(ft: u64) -> String {
    let unix = (ft / 10_000_000) as i64 - 11_644_473_600;
    azkrb_asn1::KerberosTime(unix).to_string()
}

async fn ls(g: &Global, unc: &str, json: bool) -> Result<(), Failure> {
    let (share, p) = open(g, unc, false).await?;
    let mut entries = share.tree().list(&p).await?;
    entries.retain(|e| e.name != "." && e.name != "..");
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = std::io::stdout().lock();
    for e in &entries {
        let line = if json {
            serde_json::json!({
                "name": e.name,
                "size": e.size,
                "directory": e.is_dir(),
                "attributes": e.attributes,
                "modified": filetime(e.last_write),
            })
            .to_string()
        } else {
            format!(
                "{} {:>14} {} {}",
                if e.is_dir() { "d" } else { "-" },
                e.size,
                filetime(e.last_write),
                e.name
            )
        };
        writeln!(out, "{line}").map_err(|e| local_io("standard output", e))?;
    }
    Ok(share.close().await?)
}

async fn stat(g: &Global, unc: &str, json: bool) -> Result<(), Failure> {
    let (share, p) = open(g, unc, false).await?;
    let i = share.tree().stat(&p).await?;
    let directory = i.attributes & 0x10 != 0;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "path": unc,
                "size": i.size,
                "allocation": i.allocation,
                "directory": directory,
                "attributes": i.attributes,
                "created": filetime(i.created),
                "accessed": filetime(i.accessed),
                "modified": filetime(i.written),
                "changed": filetime(i.changed),
            })
        );
    } else {
        println!("  Path: {unc}");
        println!(
            "  Size: {}  Allocated: {}  {}",
            i.size,
            i.allocation,
            if directory { "directory" } else { "file" }
        );
        println!("  Attributes: 0x{:08x}", i.attributes);
        println!("  Created:  {}", filetime(i.created));
        println!("  Accessed: {}", filetime(i.accessed));
        println!("  Modified: {}", filetime(i.written));
        println!("  Changed:  {}", filetime(i.changed));
    }
    Ok(share.close().await?)
}

async fn get(g: &Global, remote: &str, local: Option<String>, resume: bool) -> Result<(), Failure> {
    let (share, p) = open(g, remote, true).await?;
    let local = local.unwrap_or_else(|| p.rsplit('/').next().unwrap_or(&p).to_string());
    if resume && local == "-" {
        return Err(usage("--resume needs a local file, not standard output"));
    }
    download_one(&share, &p, &local, None, resume).await?;
    Ok(share.close().await?)
}

/// How much of a transfer to check again when resuming: the last bytes both sides hold
/// must agree, or the partial copy is of another version of the file.
const RESUME_CHECK: u64 = 64 * 1024;

/// Whether the first `len` bytes of `local` end like the first `len` bytes of the remote
/// file `p` (the last [`RESUME_CHECK`] bytes are compared).
async fn same_prefix(
    share: &azkrb::Share,
    p: &str,
    local: &str,
    len: u64,
) -> Result<bool, Failure> {
    use std::io::{Read, Seek, SeekFrom};
    if len == 0 {
        return Ok(true);
    }
    let from = len.saturating_sub(RESUME_CHECK);
    let want = (len - from) as usize;
    let mut mine = vec![0; want];
    let mut f = std::fs::File::open(local).map_err(|e| local_io(local, e))?;
    f.seek(SeekFrom::Start(from))
        .and_then(|_| f.read_exact(&mut mine))
        .map_err(|e| local_io(local, e))?;
    let tree = share.tree();
    let h = tree.open(p, azkrb_smb3::OpenOptions::read()).await?;
    let theirs = tree.read_at(h, from, want as u32).await;
    tree.close(h).await?;
    Ok(theirs? == mine)
}

/// Downloads one file to `local` (`-`: standard output) through `local.part`, with a
/// progress bar on a terminal; with `resume`, continues an existing `local.part` (and skips
/// a complete `local`) after checking it against the remote file.
/// `size` is the listing's when known (no extra round trip), else asked for.
async fn download_one(
    share: &azkrb::Share,
    p: &str,
    local: &str,
    size: Option<u64>,
    resume: bool,
) -> Result<(), Failure> {
    let size = match size {
        Some(s) => s,
        None => share.tree().stat(p).await?.size,
    };
    let part = format!("{local}.part");
    let mut offset = 0;
    if resume {
        if !std::path::Path::new(&part).exists()
            && let Ok(m) = std::fs::metadata(local)
            && m.is_file()
            && m.len() == size
        {
            if same_prefix(share, p, local, size).await? {
                eprintln!("{local}: already complete");
                return Ok(());
            }
            return Err(Failure {
                code: 1,
                message: format!(
                    "{local} exists with the remote file's size but other contents; \
                     remove it to download again"
                ),
            });
        }
        if let Ok(m) = std::fs::metadata(&part) {
            let have = m.len();
            if have > size || !same_prefix(share, p, &part, have).await? {
                return Err(Failure {
                    code: 1,
                    message: format!(
                        "{part} does not match {p} on the server (the file changed?); \
                         remove it to start over"
                    ),
                });
            }
            offset = have;
            eprintln!("{local}: resuming at byte {have} of {size}");
        }
    }
    let bar = progress::bar(size, p.rsplit('/').next().unwrap_or(p));
    bar.set_position(offset);
    let result = if local == "-" {
        let mut out = progress::Counted::new(tokio::io::stdout(), bar.clone());
        share.tree().download(p, &mut out, 16).await.map(|_| ())
    } else {
        // Written to a temporary name and renamed into place: a failed transfer never
        // leaves a truncated file under the final name (and --resume can continue it).
        let file = if offset > 0 {
            tokio::fs::OpenOptions::new().append(true).open(&part).await
        } else {
            tokio::fs::File::create(&part).await
        }
        .map_err(|e| local_io(&part, e))?;
        let mut out = progress::Counted::new(file, bar.clone());
        let r = share.tree().download_from(p, offset, &mut out, 16).await;
        drop(out);
        match r {
            Ok(_) => std::fs::rename(&part, local).map_err(|e| local_io(local, e))?,
            Err(_) if resume => {
                // Kept for the next --resume.
            }
            Err(_) => {
                let _ = std::fs::remove_file(&part);
            }
        }
        r.map(|_| ())
    };
    bar.finish_and_clear();
    Ok(result?)
}

/// `get -r`: the remote directory's tree, recreated under `local` (default: its name).
async fn get_tree(
    g: &Global,
    remote: &str,
    local: Option<String>,
    resume: bool,
) -> Result<(), Failure> {
    let (share, root) = open(g, remote, false).await?;
    let local = local.unwrap_or_else(|| {
        root.rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
            .unwrap_or(&share.unc().share)
            .to_string()
    });
    let mut stack = vec![(root.clone(), std::path::PathBuf::from(&local))];
    while let Some((dir, into)) = stack.pop() {
        std::fs::create_dir_all(&into).map_err(|e| local_io(&into.display().to_string(), e))?;
        for e in share.tree().list(&dir).await? {
            if e.name == "." || e.name == ".." {
                continue;
            }
            if e.name.contains(['/', '\\']) {
                return Err(Failure {
                    code: 4,
                    message: format!("the server listed an unusable name {:?}", e.name),
                });
            }
            let remote_path = if dir.is_empty() {
                e.name.clone()
            } else {
                format!("{dir}/{}", e.name)
            };
            let local_path = into.join(&e.name);
            if e.is_dir() {
                stack.push((remote_path, local_path));
            } else {
                download_one(
                    &share,
                    &remote_path,
                    &local_path.display().to_string(),
                    Some(e.size),
                    resume,
                )
                .await?;
            }
        }
    }
    Ok(share.close().await?)
}

/// `put -r`: the local directory's tree, recreated under the remote path.
async fn put_tree(g: &Global, local: &str, remote: &str, resume: bool) -> Result<(), Failure> {
    let meta = std::fs::metadata(local).map_err(|e| local_io(local, e))?;
    if !meta.is_dir() {
        return Err(usage(format!("{local}: put -r needs a directory")));
    }
    let (share, root) = open(g, remote, true).await?;
    let mut stack = vec![(std::path::PathBuf::from(local), root)];
    while let Some((dir, into)) = stack.pop() {
        match share.tree().mkdir(&into).await {
            Ok(()) => {}
            Err(azkrb_smb3::Error::Status {
                status: azkrb_smb3::NtStatus::OBJECT_NAME_COLLISION,
                ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
        let entries =
            std::fs::read_dir(&dir).map_err(|e| local_io(&dir.display().to_string(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| local_io(&dir.display().to_string(), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let target = format!("{into}/{name}");
            let kind = entry
                .file_type()
                .map_err(|e| local_io(&path.display().to_string(), e))?;
            if kind.is_dir() {
                stack.push((path, target));
            } else if kind.is_file() {
                upload_one(&share, &path.display().to_string(), &target, resume).await?;
            } else {
                tracing::warn!(path = %path.display(), "skipped: not a regular file or directory");
            }
        }
    }
    Ok(share.close().await?)
}

async fn put(g: &Global, local: &str, remote: &str, resume: bool) -> Result<(), Failure> {
    if local == "-" {
        if resume {
            return Err(usage("--resume needs a local file, not standard input"));
        }
        let (share, p) = open(g, remote, true).await?;
        let bar = progress::bar(0, local);
        let mut input = progress::Counted::new(tokio::io::stdin(), bar.clone());
        let r = share.tree().upload(&p, &mut input, 8).await;
        bar.finish_and_clear();
        r?;
        return Ok(share.close().await?);
    }
    // Open the local side first: a missing file fails before any network traffic.
    std::fs::File::open(local).map_err(|e| local_io(local, e))?;
    let (share, p) = open(g, remote, true).await?;
    upload_one(&share, local, &p, resume).await?;
    Ok(share.close().await?)
}

/// Uploads one local file to `p`, with a progress bar on a terminal; with `resume`, keeps
/// what the remote file already holds (checked against the local file) and sends the rest.
async fn upload_one(
    share: &azkrb::Share,
    local: &str,
    p: &str,
    resume: bool,
) -> Result<(), Failure> {
    use tokio::io::AsyncSeekExt;
    let mut file = tokio::fs::File::open(local)
        .await
        .map_err(|e| local_io(local, e))?;
    let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let mut offset = None;
    if resume {
        match share.tree().stat(p).await {
            Ok(info) => {
                let have = info.size;
                if have > size || !same_prefix(share, p, local, have).await? {
                    return Err(Failure {
                        code: 1,
                        message: format!(
                            "{p} on the server does not match the start of {local} (another \
                             file?); remove it or put without --resume"
                        ),
                    });
                }
                if have == size {
                    eprintln!("{p}: already complete");
                    return Ok(());
                }
                eprintln!("{p}: resuming at byte {have} of {size}");
                file.seek(std::io::SeekFrom::Start(have))
                    .await
                    .map_err(|e| local_io(local, e))?;
                offset = Some(have);
            }
            Err(azkrb_smb3::Error::Status {
                status:
                    azkrb_smb3::NtStatus::OBJECT_NAME_NOT_FOUND | azkrb_smb3::NtStatus::NO_SUCH_FILE,
                ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let bar = progress::bar(size, local);
    bar.set_position(offset.unwrap_or(0));
    let mut input = progress::Counted::new(file, bar.clone());
    let r = match offset {
        Some(at) => share.tree().upload_from(p, at, &mut input, 8).await,
        None => share.tree().upload(p, &mut input, 8).await,
    };
    bar.finish_and_clear();
    r?;
    Ok(())
}

async fn mount(
    g: &Global,
    target: &str,
    mountpoint: &str,
    allow_other: bool,
    read_only: bool,
) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt;
    use tokio::signal::unix::{SignalKind, signal};

    let unc = UncPath::parse(target)?;
    if !unc.path.is_empty() {
        return Err(usage(format!(
            "{target}: mount takes //host/share, without a path"
        )));
    }
    match std::fs::metadata(mountpoint) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(usage(format!("{mountpoint}: not a directory"))),
        Err(e) => return Err(usage(format!("{mountpoint}: {e}"))),
    }
    let canonical = std::fs::canonicalize(mountpoint)
        .map_err(|e| usage(format!("{mountpoint}: {e}")))?
        .to_string_lossy()
        .into_owned();
    // Files appear owned by whoever runs this (/proc/self belongs to our effective ids).
    let me = std::fs::metadata("/proc/self").map_err(|e| local_io("/proc/self", e))?;
    let files = std::sync::Arc::new(from_ccache(g)?);
    let share = std::sync::Arc::new(files.open(target).await?);
    // Sessions end with their ticket (Entra: about 10 hours): the mount re-authenticates
    // with a fresh one (after `mount-share login`, when the TGT itself has run out), one
    // re-authentication at a time.
    let reauth = {
        // Weak: the tasks that may still hold this must not keep the share open at exit.
        let (files, share) = (files.clone(), std::sync::Arc::downgrade(&share));
        fuse::Reauth::new(std::sync::Arc::new(move || {
            let (files, share) = (files.clone(), share.clone());
            Box::pin(async move {
                let share = share
                    .upgrade()
                    .ok_or_else(|| azkrb_smb3::Error::Auth("the share is closed".into()))?;
                files
                    .reauthenticate(&share)
                    .await
                    .map_err(|e| azkrb_smb3::Error::Auth(e.to_string()))
            })
        }))
    };
    let fs = fuse::SmbFs::new(
        tokio::runtime::Handle::current(),
        share.tree().clone(),
        Some(reauth),
        me.uid(),
        me.gid(),
    );
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        fuser::MountOption::FSName(format!("//{}/{}", unc.host, unc.share)),
        fuser::MountOption::Subtype("azkrb".into()),
        fuser::MountOption::NoDev,
        fuser::MountOption::NoSuid,
        if read_only {
            fuser::MountOption::RO
        } else {
            fuser::MountOption::RW
        },
    ];
    if allow_other {
        config.acl = fuser::SessionACL::All;
        // The kernel checks the modes shown, or every local user would act as us.
        config
            .mount_options
            .push(fuser::MountOption::DefaultPermissions);
    }
    // Signals are ours from before the mount on: none may kill us while mounted.
    let signals = (|| {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        ))
    })()
    .map_err(|e| local_io("signal handlers", e))?;
    let (mut int, mut term, mut hup) = signals;
    let mp = mountpoint.to_string();
    let session = tokio::task::spawn_blocking(move || fuser::Session::new(fs, &mp, &config))
        .await
        .map_err(|e| usage(format!("mount task: {e}")))?
        .map_err(|e| Failure {
            code: 4,
            message: format!(
                "mounting on {mountpoint}: {e} (FUSE needs /dev/fuse, and fusermount3 from \
                 the fuse3 package when not root)"
            ),
        })?;
    let mut session = session;
    let mut unmounter = session.unmount_callable();
    // From mountinfo: a stat of the mount point would wait for the file system we serve.
    let connection = fuse_connection(&canonical);
    let mut served = tokio::task::spawn_blocking(move || session.run());
    eprintln!("mount-share: {target} mounted on {mountpoint}; Ctrl-C or SIGTERM unmounts");
    let ended = tokio::select! {
        r = &mut served => Some(r),
        _ = int.recv() => None,
        _ = term.recv() => None,
        _ = hup.recv() => None,
    };
    let by_signal = ended.is_none();
    let result = match ended {
        Some(r) => r,
        None => {
            let busy = || {
                eprintln!(
                    "mount-share: {mountpoint} is busy; detached it (gone from the \
                     namespace, open files are served until closed); Ctrl-C again stops at \
                     once"
                )
            };
            let mut told = false;
            match unmounter.unmount() {
                Ok(()) => {}
                // EBUSY: something still has a file or its working directory there.
                Err(e) if e.raw_os_error() == Some(16) => {
                    detach(mountpoint);
                    busy();
                    told = true;
                }
                Err(e) => eprintln!("mount-share: unmounting {mountpoint}: {e}"),
            }
            // (fusermount3, for users, detaches a busy mount without saying so.)
            match tokio::time::timeout(Duration::from_secs(2), &mut served).await {
                Ok(r) => r,
                Err(_) => {
                    if !told {
                        busy();
                    }
                    tokio::select! {
                        r = &mut served => r,
                        _ = int.recv() => stop_now(mountpoint, connection, served).await,
                        _ = term.recv() => stop_now(mountpoint, connection, served).await,
                        _ = hup.recv() => stop_now(mountpoint, connection, served).await,
                    }
                }
            }
        }
    };
    let closed = match std::sync::Arc::try_unwrap(share) {
        Ok(share) => share.close().await,
        // A re-authentication still running holds it: the connection ends with the process.
        Err(_) => {
            tracing::warn!("the share was still in use at exit: not logged off");
            Ok(())
        }
    };
    match result {
        Ok(Ok(())) => {}
        // The kernel ended the connection after our unmount (ENODEV, or ECONNABORTED once
        // the last user of a detached mount left).
        Ok(Err(e)) if by_signal && matches!(e.raw_os_error(), Some(19 | 103)) => {}
        Ok(Err(e)) => return Err(local_io(&format!("serving {mountpoint}"), e)),
        Err(e) => return Err(usage(format!("FUSE task: {e}"))),
    }
    eprintln!("mount-share: {mountpoint} unmounted");
    Ok(closed?)
}

/// The FUSE connection number of the mount at `mountpoint` (its device number as the kernel
/// counts it, from /proc/self/mountinfo; the last mount there wins).
fn fuse_connection(mountpoint: &str) -> Option<u64> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let escaped = mountpoint
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('\t', "\\011")
        .replace('\n', "\\012");
    info.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let dev = fields.nth(2)?;
            let at = fields.nth(1)?;
            (at == escaped).then_some(dev)
        })
        .next_back()
        .and_then(|dev| {
            let (major, minor) = dev.split_once(':')?;
            Some((major.parse::<u64>().ok()? << 20) | minor.parse::<u64>().ok()?)
        })
}

/// Lazy unmount: the mount leaves the namespace now and ends when its last user does.
fn detach(mountpoint: &str) {
    let quiet = |cmd: &str, args: &[&str]| {
        std::process::Command::new(cmd)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !quiet("fusermount3", &["-u", "-z", "--", mountpoint])
        && !quiet("umount", &["-l", "--", mountpoint])
    {
        eprintln!("mount-share: could not detach {mountpoint}");
    }
}

/// Ends the FUSE connection at once (processes using it get ENOTCONN) and waits a little
/// for the serving thread; if it does not end, exits anyway (the mount is detached).
async fn stop_now(
    mountpoint: &str,
    connection: Option<u64>,
    mut served: tokio::task::JoinHandle<std::io::Result<()>>,
) -> Result<std::io::Result<()>, tokio::task::JoinError> {
    let dir = "/sys/fs/fuse/connections";
    if let Some(id) = connection {
        let abort = format!("{dir}/{id}/abort");
        if !std::path::Path::new(&abort).exists() {
            // The fusectl file system may not be mounted yet (root only).
            let _ = std::process::Command::new("mount")
                .args(["-t", "fusectl", "fusectl", dir])
                .stderr(std::process::Stdio::null())
                .status();
        }
        if let Err(e) = std::fs::write(&abort, "1") {
            eprintln!("mount-share: aborting the FUSE connection ({abort}): {e}");
        }
    }
    match tokio::time::timeout(Duration::from_secs(3), &mut served).await {
        Ok(r) => r,
        Err(_) => {
            detach(mountpoint);
            eprintln!("mount-share: {mountpoint} detached; files still open there fail now");
            std::process::exit(1);
        }
    }
}

fn show_config(g: &Global) {
    let source = |k: &str| {
        g.sources
            .get(k)
            .map(|s| format!("  ({s})"))
            .unwrap_or_default()
    };
    let show = |k: &str, v: Option<String>, unset: &str| {
        println!(
            "{k:<10} {}{}",
            v.unwrap_or_else(|| unset.to_string()),
            source(k)
        );
    };
    println!(
        "config     {}",
        g.sources
            .get("config")
            .cloned()
            .unwrap_or_else(|| "none".into())
    );
    show(
        "krb5_conf",
        g.krb5_conf.clone(),
        "/etc/krb5.conf if present",
    );
    show("tenant", g.tenant.clone(), "-");
    show(
        "kdc_proxy",
        g.kdc_proxy.clone(),
        "- (from krb5.conf or tenant)",
    );
    show("ca_file", g.ca_file.clone(), "- (system roots)");
    show(
        "ccache",
        g.ccache.clone(),
        "KRB5CCNAME, else /tmp/krb5cc_<uid>",
    );
    show("port", g.port.map(|p| p.to_string()), "445");
    show("address", g.address.clone(), "- (the share's host)");
    show(
        "cipher",
        (!g.cipher.is_empty()).then(|| g.cipher.join(",")),
        "aes-256-gcm,aes-128-gcm,aes-256-ccm,aes-128-ccm",
    );
    for (realm, kdcs) in &g.realms {
        println!("realm      {realm} = {}  (config file)", kdcs.join(", "));
    }
    for (domain, realm) in &g.domain_realm {
        println!("domain     {domain} -> {realm}  (config file)");
    }
}

/// Reads a PRT session key: 32 bytes raw, or as base64 (standard or URL-safe) or hex text.
fn read_prt_session_key(file: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    use base64::Engine;
    use std::io::Read;
    let mut raw = Zeroizing::new(Vec::new());
    if file == "-" {
        std::io::stdin()
            .read_to_end(&mut raw)
            .map_err(|e| local_io("standard input", e))?;
    } else {
        *raw = std::fs::read(file).map_err(|e| local_io(file, e))?;
    }
    if raw.len() == 32 {
        return Ok(raw);
    }
    let text = String::from_utf8_lossy(&raw).trim().to_string();
    let text = Zeroizing::new(text);
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let decoded = engines
        .iter()
        .find_map(|e| e.decode(text.as_bytes()).ok().filter(|k| k.len() == 32))
        .or_else(|| hex::decode(text.as_bytes()).ok().filter(|k| k.len() == 32));
    match decoded {
        Some(k) => Ok(Zeroizing::new(k)),
        None => Err(usage(format!(
            "{file}: not a PRT session key (expected 32 bytes, raw, base64 or hex)"
        ))),
    }
}
