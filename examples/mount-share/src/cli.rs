//! The command line: global settings (flags, environment, config file) and the commands.

use std::io::{BufRead, IsTerminal, Write};

use azkrb::cloudtgt::ccache::{self};
use azkrb::smb3::Cipher;
use azkrb::{AzureFiles, Tgt};
use zeroize::Zeroizing;

use crate::failure::{Failure, local_io, usage};
use clap::{Args, Parser, Subcommand};

use crate::config;

pub(crate) const EXIT_CODES: &str = "Exit codes: 0 success; 1 the server refused the operation \
(no such file, access denied, …); 2 usage; 3 Kerberos (login, ticket, credential cache); \
4 network or protocol.";

#[derive(Parser)]
#[command(name = "mount-share", version, about, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Cmd,
}

#[derive(Args)]
pub(crate) struct Global {
    /// Config file (TOML; default ~/.config/azkrb/config.toml when it exists). Flags and
    /// environment variables override it; it overrides the krb5.conf.
    #[arg(long, global = true, env = "AZKRB_CONFIG")]
    pub(crate) config: Option<String>,
    /// krb5.conf with [realms] and [domain_realm] (default: KRB5_CONFIG, then /etc/krb5.conf).
    #[arg(long, global = true, env = "KRB5_CONFIG")]
    pub(crate) krb5_conf: Option<String>,
    /// Entra tenant ID: routes *.file.core.windows.net to KERBEROS.MICROSOFTONLINE.COM through
    /// https://login.microsoftonline.com/<tenant>/kerberos.
    #[arg(long, global = true, env = "AZKRB_TENANT")]
    pub(crate) tenant: Option<String>,
    /// The KDC proxy URL for KERBEROS.MICROSOFTONLINE.COM, replacing the configured one.
    #[arg(long, global = true, env = "AZKRB_KDC_PROXY")]
    pub(crate) kdc_proxy: Option<String>,
    /// Extra CA certificates (PEM) to trust for the KDC proxy.
    #[arg(long, global = true, env = "AZKRB_CA_FILE")]
    pub(crate) ca_file: Option<String>,
    /// Credential cache: FILE:path, a path, or DIR:dir (a collection) [default: krb5.conf's
    /// default_ccache_name, else /tmp/krb5cc_<uid>].
    #[arg(long, global = true, env = "KRB5CCNAME")]
    pub(crate) ccache: Option<String>,
    /// SMB port [default: 445].
    #[arg(long, global = true)]
    pub(crate) port: Option<u16>,
    /// Connect to this address (host:port) instead of resolving the share's host; the ticket
    /// is still for cifs/<host>.
    #[arg(long, global = true)]
    pub(crate) address: Option<String>,
    /// Allowed ciphers in preference order (aes-256-gcm, aes-128-gcm, aes-256-ccm,
    /// aes-128-ccm); default all, AES-256-GCM first.
    #[arg(long, global = true, value_delimiter = ',')]
    pub(crate) cipher: Vec<String>,
    /// SMB OAuth: open shares with the VM's managed identity (a token from IMDS, exchanged by
    /// the storage account for the share's ticket) instead of a TGT.
    #[arg(long, global = true)]
    pub(crate) managed_identity: bool,
    /// With --managed-identity: a user-assigned identity by its client id.
    #[arg(long, global = true, requires = "managed_identity")]
    pub(crate) client_id: Option<String>,
    /// With --managed-identity: a user-assigned identity by its object id.
    #[arg(long, global = true, requires = "managed_identity")]
    pub(crate) object_id: Option<String>,
    /// With --managed-identity: a user-assigned identity by its resource id.
    #[arg(long, global = true, requires = "managed_identity")]
    pub(crate) resource_id: Option<String>,
    /// SMB OAuth with the environment's workload identity (AZURE_FEDERATED_TOKEN_FILE,
    /// AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST).
    #[arg(long, global = true, conflicts_with = "managed_identity")]
    pub(crate) workload_identity: bool,
    /// SMB OAuth with the bearer token in FILE (`-`: standard input).
    #[arg(long, global = true, conflicts_with_all = ["managed_identity", "workload_identity"])]
    pub(crate) token_file: Option<String>,
    /// Ask for the share's ticket as cifs/<SPN_HOST> (the SPN registered for a custom DNS
    /// name); without it a privatelink name tries the canonical SPN, then its own.
    #[arg(long, global = true)]
    pub(crate) spn_host: Option<String>,
    /// More logging (-v, -vv; -vvv: every SMB request); secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Realms' KDCs from the config file.
    #[arg(skip)]
    pub(crate) realms: Vec<(String, Vec<String>)>,
    /// `[domain_realm]` entries from the config file.
    #[arg(skip)]
    pub(crate) domain_realm: Vec<(String, String)>,
    /// Where each setting came from, for `mount-share config`.
    #[arg(skip)]
    pub(crate) sources: std::collections::BTreeMap<&'static str, String>,
}

impl Global {
    pub(crate) fn port(&self) -> u16 {
        self.port.unwrap_or(445)
    }

    /// Fills what flags and environment left unset from the config file, and records where
    /// every setting came from.
    pub(crate) fn apply_config_file(&mut self, matches: &clap::ArgMatches) -> Result<(), Failure> {
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
pub(crate) enum AclCmd {
    /// Show the owner, group and DACL (icacls-style; --sddl; --json).
    Get {
        /// //host/share[/path]
        path: String,
        /// As SDDL (O:…G:…D:…).
        #[arg(long, conflicts_with = "json")]
        sddl: bool,
        /// As JSON.
        #[arg(long)]
        json: bool,
        /// The SACL (auditing) too: the server asks for the right to it
        /// (SeSecurityPrivilege on Windows).
        #[arg(long)]
        sacl: bool,
    },
    /// Edit the DACL as icacls does: --grant 'TRUSTEE:(OI)(CI)(M)', --deny 'TRUSTEE:(W)',
    /// --remove TRUSTEE, --inheritance e|d|r, --sddl 'O:…G:…D:…' (replace); a trustee is a
    /// SID or a well-known name (Everyone, BUILTIN\Administrators …).
    Set {
        /// //host/share[/path]
        path: String,
        /// Allow: TRUSTEE:(flags)(rights), as Everyone:(OI)(CI)(RX), added to the trustee's
        /// grant of the same inheritance.
        #[arg(long)]
        grant: Vec<String>,
        /// Allow, replacing the trustee's other explicit grants (icacls /grant:r).
        #[arg(long)]
        grant_replace: Vec<String>,
        /// Deny: TRUSTEE:(flags)(rights), added to the trustee's deny and taken out of its
        /// grants.
        #[arg(long)]
        deny: Vec<String>,
        /// Remove every explicit entry of TRUSTEE.
        #[arg(long)]
        remove: Vec<String>,
        /// Inheritance: e (enable), d (disable, keeping copies), r (disable, removing).
        #[arg(long, value_name = "e|d|r")]
        inheritance: Option<String>,
        /// Replace the descriptor's parts this SDDL gives.
        #[arg(long)]
        sddl: Option<String>,
        /// Reset to what the parent passes down (icacls /reset): explicit entries removed,
        /// inheritance on.
        #[arg(long)]
        reset: bool,
        /// Then make the inherited entries of everything below a directory again.
        #[arg(short = 'r', long)]
        recursive: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
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
        /// Ask for a TGT renewable this long (7d, 24h, 3600), as kinit -r; without it,
        /// krb5.conf's renew_lifetime decides.
        #[arg(
            short = 'r',
            long = "renewable",
            value_name = "DURATION",
            conflicts_with = "tgt_cloud"
        )]
        renewable: Option<String>,
    },
    /// Renew the credential cache's TGT (as kinit -R): valid from now for its lifetime, up
    /// to its renewal limit.
    Renew,
    /// The user's SID and groups as the KDC sees them (its PAC), for the TGT that serves
    /// TARGET's host (//host), else the default TGT.
    Whoami {
        /// //host[/share]
        target: Option<String>,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the credential cache like MIT klist (SMB OAuth tickets with their token's
    /// source).
    Klist,
    /// Keep the credential cache's cifs/ tickets current for kernel CIFS mounts
    /// (mount -t cifs -o sec=krb5): each fetched again before it ends, from the SMB OAuth
    /// source login noted beside it, else with the cache's TGT (renewed when it can be);
    /// one line per renewal. Runs in the foreground (a systemd service: see the README).
    Refresh {
        /// Fetch a ticket again when it has this long left (10m, 1h, 600).
        #[arg(long, default_value = "10m", value_name = "DURATION")]
        before: String,
        /// Look at the cache this often (with a little jitter).
        #[arg(long, default_value = "60s", value_name = "DURATION")]
        every: String,
        /// One look, then exit (status 3 if a ticket could not be renewed).
        #[arg(long)]
        once: bool,
    },
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
    /// A file's or directory's Windows ACL (NTFS permissions), as icacls shows and edits it.
    Acl {
        #[command(subcommand)]
        op: AclCmd,
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

/// Where the credential cache is (a file, or a KCM daemon's cache).
pub(crate) fn ccache_place(g: &Global) -> Result<ccache::Location, Failure> {
    let config = azkrb::cloudtgt::RealmConfig::discover(g.krb5_conf.as_deref())?;
    Ok(ccache::locate(&ccache_name(g)?, &config)?)
}

/// The credential cache's name (a `DIR:` collection names several files).
pub(crate) fn ccache_name(g: &Global) -> Result<String, Failure> {
    Ok(match &g.ccache {
        Some(name) => name.clone(),
        // krb5.conf's default_ccache_name: the krb5.conf this command reads.
        None => ccache::default_name_in(&azkrb::cloudtgt::RealmConfig::discover(
            g.krb5_conf.as_deref(),
        )?)?,
    })
}

pub(crate) fn ciphers(g: &Global) -> Result<Option<Vec<Cipher>>, Failure> {
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

pub(crate) fn client(g: &Global, tgt: Tgt) -> Result<AzureFiles, Failure> {
    let source = oauth_source(g)?;
    build(g, tgt, source)
}

/// A client whose shares' tickets come from SMB OAuth with `source`, whatever the flags
/// say.
pub(crate) fn client_with_oauth(
    g: &Global,
    source: azkrb::cloudtgt::oauth::TokenSource,
) -> Result<AzureFiles, Failure> {
    build(g, Tgt::Ccache(None), Some(source))
}

fn build(
    g: &Global,
    tgt: Tgt,
    oauth: Option<azkrb::cloudtgt::oauth::TokenSource>,
) -> Result<AzureFiles, Failure> {
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
    if let Some(h) = &g.spn_host {
        b = b.spn_host(h);
    }
    if let Some(source) = oauth {
        b = b.oauth(source);
        // The storage account's kerbticket endpoint ({host}: the share's host), and IMDS,
        // elsewhere than Azure's (a test's stand-ins, say).
        if let Ok(e) = std::env::var("AZKRB_KERBTICKET_ENDPOINT") {
            b = b.oauth_endpoint(e);
        }
    }
    if let Some(c) = ciphers(g)? {
        b = b.ciphers(c);
    }
    Ok(b.build()?)
}

/// IMDS: Azure's, or a stand-in's (`AZKRB_IMDS_ENDPOINT`).
pub(crate) fn imds_endpoint() -> String {
    std::env::var("AZKRB_IMDS_ENDPOINT")
        .unwrap_or_else(|_| azkrb::cloudtgt::oauth::IMDS_ENDPOINT.into())
}

/// The SMB OAuth token source the flags name, if any.
pub(crate) fn oauth_source(
    g: &Global,
) -> Result<Option<azkrb::cloudtgt::oauth::TokenSource>, Failure> {
    use azkrb::cloudtgt::oauth::{IdentityId, Token, TokenSource};
    if g.managed_identity {
        let id = match (&g.client_id, &g.object_id, &g.resource_id) {
            (Some(c), None, None) => Some(IdentityId::ClientId(c.clone())),
            (None, Some(o), None) => Some(IdentityId::ObjectId(o.clone())),
            (None, None, Some(r)) => Some(IdentityId::ResourceId(r.clone())),
            (None, None, None) => None,
            _ => {
                return Err(usage(
                    "one of --client-id, --object-id and --resource-id, not several",
                ));
            }
        };
        return Ok(Some(TokenSource::ManagedIdentity {
            endpoint: imds_endpoint(),
            id,
        }));
    }
    if g.workload_identity {
        return Ok(Some(TokenSource::workload_from_env()?));
    }
    match g.token_file.as_deref() {
        Some("-") => {
            let mut text = zeroize::Zeroizing::new(String::new());
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|e| usage(format!("reading the token from standard input: {e}")))?;
            Ok(Some(TokenSource::Given(Token::new(&text, None)?)))
        }
        // Absolute: `refresh` reads it again from wherever it runs.
        Some(f) => Ok(Some(TokenSource::File(
            std::path::absolute(f)
                .map_err(|e| usage(format!("--token-file {f}: {e}")))?
                .to_string_lossy()
                .into_owned(),
        ))),
        None => Ok(None),
    }
}

/// A client whose TGT is the credential cache's.
pub(crate) fn from_ccache(g: &Global) -> Result<AzureFiles, Failure> {
    // By name: a DIR: collection's other caches (a hybrid user's second TGT) count too.
    client(g, Tgt::Ccache(Some(ccache_name(g)?)))
}

pub(crate) fn read_password(
    from_stdin: bool,
    principal: &str,
) -> Result<Zeroizing<String>, Failure> {
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
