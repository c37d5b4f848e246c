//! mount-share: Azure Files (and any SMB 3 server) over Kerberos from the command line.
//!
//! Exit codes: 0 success; 1 the operation failed on the server (no such file, access denied,
//! …); 2 usage (bad arguments or settings); 3 Kerberos (login, ticket, credential cache);
//! 4 network or protocol (unreachable, timeout, refused session).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod cli;
mod commands;
mod config;
mod diagnose;
mod dns;
mod failure;
mod fuse;
mod progress;

use std::process::ExitCode;

use azkrb::UncPath;

use cli::{AclCmd, Cli, Cmd, from_ccache};
use commands::{acl, auth, files, mount, refresh, transfer};
use failure::{Failure, usage};

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
        2 => "debug",
        // -vvv: every SMB request (the round trips an operation costs).
        _ => "debug,azkrb_smb3=trace,mount_share=trace",
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
            renewable,
        } => {
            let cloud = tgt_cloud.map(|file| (file, prt_session_key));
            let how = auth::Login {
                principal,
                realm,
                password_stdin,
                keytab,
                tgt_cloud: cloud,
                renewable,
            };
            auth::login(g, how).await
        }
        Cmd::Renew => auth::renew(g).await,
        Cmd::Whoami { target, json } => auth::whoami(g, target.as_deref(), json).await,
        Cmd::Klist => auth::klist(g),
        Cmd::Refresh {
            before,
            every,
            once,
        } => refresh::refresh(g, refresh::Refresh::parse(&before, &every, once)?).await,
        Cmd::Config => {
            auth::show_config(g);
            Ok(())
        }
        Cmd::Ticket { target } => auth::ticket(g, &target).await,
        Cmd::Ls { path, json } => files::ls(g, &path, json).await,
        Cmd::Stat { path, json } => files::stat(g, &path, json).await,
        Cmd::Acl { op } => match op {
            AclCmd::Get {
                path,
                sddl,
                json,
                sacl,
            } => acl::get(g, &path, sddl, json, sacl).await,
            AclCmd::Set {
                path,
                grant,
                grant_replace,
                deny,
                remove,
                inheritance,
                sddl,
                reset,
                recursive,
            } => {
                acl::set(
                    g,
                    &path,
                    acl::AclSet {
                        grant,
                        grant_replace,
                        deny,
                        remove,
                        inheritance,
                        sddl,
                        reset,
                        recursive,
                    },
                )
                .await
            }
        },
        Cmd::Get {
            remote,
            local,
            recursive: false,
            resume,
        } => transfer::get(g, &remote, local, resume).await,
        Cmd::Get {
            remote,
            local,
            recursive: true,
            resume,
        } => transfer::get_tree(g, &remote, local, resume).await,
        Cmd::Put {
            local,
            remote,
            recursive: false,
            resume,
        } => transfer::put(g, &local, &remote, resume).await,
        Cmd::Put {
            local,
            remote,
            recursive: true,
            resume,
        } => transfer::put_tree(g, &local, &remote, resume).await,
        Cmd::Cat { path } => transfer::get(g, &path, Some("-".into()), false).await,
        Cmd::Rm { path } => {
            let (share, p) = files::open(g, &path, true).await?;
            share
                .run(|t| {
                    let p = &p;
                    async move { t.remove(p, false).await }
                })
                .await?;
            share.disconnect().await;
            Ok(())
        }
        Cmd::Mkdir { path } => {
            let (share, p) = files::open(g, &path, true).await?;
            share
                .run(|t| {
                    let p = &p;
                    async move { t.mkdir(p).await }
                })
                .await?;
            share.disconnect().await;
            Ok(())
        }
        Cmd::Rmdir { path } => {
            let (share, p) = files::open(g, &path, true).await?;
            share
                .run(|t| {
                    let p = &p;
                    async move { t.remove(p, true).await }
                })
                .await?;
            share.disconnect().await;
            Ok(())
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
        } => mount::mount(g, &target, &mountpoint, allow_other, read_only).await,
        Cmd::Mv { from, to, force } => {
            let (share, p) = files::open(g, &from, true).await?;
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
            share
                .run(|t| {
                    let (p, target) = (&p, &target);
                    async move { t.rename(p, target, force).await }
                })
                .await?;
            share.disconnect().await;
            Ok(())
        }
    }
}
