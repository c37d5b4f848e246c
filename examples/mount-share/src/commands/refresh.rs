//! `refresh`: a credential cache's `cifs/` tickets kept current for kernel CIFS mounts
//! (`mount -t cifs -o sec=krb5,cruid=…`, whose upcall reads the cache and never asks for a
//! ticket itself when the storage account's is SMB OAuth's). Each ticket is fetched again
//! before it ends: from the SMB OAuth source `login` noted beside it, else with the cache's
//! TGT (renewed when it can be). One line per renewal on standard output; failures on
//! standard error, each said once until it changes.

use std::collections::HashMap;
use std::time::Duration;

use azkrb::cloudtgt::Credential;
use azkrb::cloudtgt::ccache::Location;
use azkrb::cloudtgt::oauth::TokenSource;

use crate::cli::{Global, ccache_place, client_with_oauth, from_ccache, imds_endpoint};
use crate::commands::auth::{
    GIVEN, OAUTH_SOURCE, is_alias, load_own, oauth_source_label, store_oauth_ticket,
};
use crate::failure::{Failure, usage};

/// What was last said of a ticket that could not be renewed (its kind) and when.
type Said = HashMap<String, (String, std::time::Instant)>;

/// What `refresh` was asked for.
pub(crate) struct Refresh {
    /// A ticket is fetched again when it has this long left (seconds).
    pub(crate) before: i64,
    /// The cache is looked at this often (seconds).
    pub(crate) every: u64,
    /// One pass, then exit.
    pub(crate) once: bool,
}

impl Refresh {
    pub(crate) fn parse(before: &str, every: &str, once: bool) -> Result<Self, Failure> {
        let secs = |flag: &str, text: &str| {
            azkrb::cloudtgt::config::parse_duration(text)
                .ok_or_else(|| usage(format!("{flag} {text}: expected a duration (10m, 1h, 600)")))
        };
        Ok(Self {
            before: secs("--before", before)?,
            every: secs("--every", every)?.max(1).unsigned_abs(),
            once,
        })
    }
}

fn now() -> i64 {
    azkrb::asn1::KerberosTime::now().unix()
}

/// The host of a `cifs/<host>` ticket.
fn cifs_host(c: &Credential) -> Option<String> {
    match c.server.name.name_string.as_slice() {
        [service, host] if service.to_string_lossy().eq_ignore_ascii_case("cifs") => {
            Some(host.to_string_lossy().to_string())
        }
        _ => None,
    }
}

pub(crate) async fn refresh(g: &Global, how: Refresh) -> Result<(), Failure> {
    let place = ccache_place(g)?;
    eprintln!(
        "Keeping the cifs tickets in {place} current: each fetched again {} s before it ends, \
         the cache looked at every {} s",
        how.before, how.every
    );
    // What was last said of each ticket that could not be renewed.
    let mut said: Said = HashMap::new();
    loop {
        let failed = pass(g, &place, how.before, &mut said).await;
        if how.once {
            return match failed {
                Ok(0) => Ok(()),
                Ok(n) => Err(Failure {
                    code: 3,
                    message: format!("{n} ticket(s) in {place} could not be renewed"),
                }),
                Err(e) => Err(e),
            };
        }
        if let Err(e) = failed {
            let again = said
                .get("")
                .is_none_or(|(m, at)| *m != e.message || at.elapsed() >= Duration::from_secs(3600));
            if again {
                eprintln!("refresh: {}", e.message);
                said.insert(String::new(), (e.message, std::time::Instant::now()));
            }
        }
        let every = Duration::from_secs(how.every);
        tokio::time::sleep(every + azkrb::cloudtgt::backoff::jitter(every / 10)).await;
    }
}

/// A Kerberos ticket the library stores beside its TGT, in the background: found in the
/// cache within two seconds, else stored here.
async fn stored_by_the_library(place: &Location, t: &Credential) -> Result<(), Failure> {
    for _ in 0..20 {
        let there = place
            .load()?
            .find(&t.server)
            .is_some_and(|c| c.endtime.unix() >= t.endtime.unix());
        if there {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(place.add(t)?)
}

/// One look at the cache: every `cifs/` ticket with `before` seconds or less left fetched
/// again and stored. Returns how many could not be.
async fn pass(
    g: &Global,
    place: &Location,
    before: i64,
    said: &mut Said,
) -> Result<usize, Failure> {
    let cache = load_own(place)?
        .ok_or_else(|| usage(format!("{place}: no credential cache there (log in first)")))?;
    let due: Vec<(Credential, String, Option<String>)> = cache
        .credentials()
        .into_iter()
        // Not one that ended over a day ago (nothing has used it since).
        .filter(|c| {
            let left = c.endtime.unix() - now();
            left <= before && left > -86_400 && !is_alias(c)
        })
        .filter_map(|c| {
            let host = cifs_host(&c)?;
            let spec = cache
                .config(OAUTH_SOURCE, Some(&c.server))
                .map(|s| String::from_utf8_lossy(s).into_owned());
            Some((c, host, spec))
        })
        .collect();
    let mut failed = 0;
    for (old, host, spec) in due {
        let how = match &spec {
            Some(s) => format!("SMB OAuth: {}", oauth_source_label(s.as_bytes())),
            None => format!("with the TGT of {}", cache.principal),
        };
        let fresh = match spec.as_deref() {
            Some(GIVEN) => Err(usage(
                "its token was given once (login --token-file -): log in again with a token \
                 file, --managed-identity or --workload-identity to have it renewed",
            )),
            Some(s) => match TokenSource::from_spec(
                s,
                &imds_endpoint(),
                std::env::var("AZURE_AUTHORITY_HOST").ok().as_deref(),
            ) {
                Ok(source) => match client_with_oauth(g, source) {
                    Ok(files) => files
                        .cifs_ticket_outliving(&host, old.endtime.unix())
                        .await
                        .map_err(Failure::from),
                    Err(e) => Err(e),
                },
                Err(e) => Err(e.into()),
            },
            None => match from_ccache(g) {
                Ok(files) => files
                    .cifs_ticket_outliving(&host, old.endtime.unix())
                    .await
                    .map_err(Failure::from),
                Err(e) => Err(e),
            },
        };
        let key = old.server.to_string();
        let problem = match fresh {
            Ok(t) if t.endtime.unix() > old.endtime.unix() => {
                // SMB OAuth's: stored here, in the cache read again (others may have
                // written meanwhile), if it is still the storage account's. A Kerberos
                // ticket the library has stored already, beside its TGT.
                if spec.is_some() {
                    let mut now_cache = place.load()?;
                    if !now_cache.principal.same_as(&t.client) {
                        failed += 1;
                        eprintln!(
                            "{place} now holds {}'s credentials: {} not stored",
                            now_cache.principal, t.server
                        );
                        continue;
                    }
                    store_oauth_ticket(g, &mut now_cache, &t)?;
                    place.save(&now_cache)?;
                } else {
                    stored_by_the_library(place, &t).await?;
                }
                said.remove(&key);
                println!(
                    "{} renewed {} ({how}): valid until {}",
                    azkrb::asn1::KerberosTime::now(),
                    t.server,
                    t.endtime
                );
                continue;
            }
            Ok(t) if spec.is_some() => format!(
                "the storage account's freshest ticket ends at {} too (tried again at the \
                 next look)",
                t.endtime
            ),
            Ok(t) => format!(
                "the freshest ticket ends at {} too: what makes it (a TGT that cannot be \
                 renewed) ends then; log in again",
                t.endtime
            ),
            Err(e) => e.message,
        };
        failed += 1;
        // Said again when its kind changes, or an hour on (a message may carry a trace id
        // that changes every time).
        let kind = problem.split(": ").next().unwrap_or_default().to_string();
        let again = said
            .get(&key)
            .is_none_or(|(k, at)| *k != kind || at.elapsed() >= Duration::from_secs(3600));
        if again {
            eprintln!(
                "could not renew {key} ({how}), valid until {}: {problem}",
                old.endtime
            );
            said.insert(key, (kind, std::time::Instant::now()));
        }
    }
    Ok(failed)
}
