//! `login`, `klist`, `ticket`, `config`: the Kerberos side.

use azkrb::cloudtgt::Credential;
use azkrb::cloudtgt::ccache::{self, Ccache};
use azkrb::cloudtgt::exchange::AsSecret;
use azkrb::{Tgt, UncPath};
use zeroize::Zeroizing;

use crate::cli::{Global, ccache_name, ccache_place, client, from_ccache, read_password};
use crate::failure::{Failure, local_io, usage};

/// What `login` was asked for.
pub(crate) struct Login {
    pub(crate) principal: Option<String>,
    pub(crate) realm: Option<String>,
    pub(crate) password_stdin: bool,
    pub(crate) keytab: Option<String>,
    /// A `tgt_cloud` file and the PRT session key's file.
    pub(crate) tgt_cloud: Option<(String, Option<String>)>,
    /// `-r DURATION`.
    pub(crate) renewable: Option<String>,
}

pub(crate) async fn login(g: &Global, how: Login) -> Result<(), Failure> {
    let Login {
        principal,
        realm,
        password_stdin,
        keytab,
        tgt_cloud,
        renewable,
    } = how;
    let renew_secs = renewable
        .map(|d| {
            azkrb::cloudtgt::config::parse_duration(&d)
                .ok_or_else(|| usage(format!("-r {d}: not a duration (7d, 24h, 10h30m, 3600)")))
        })
        .transpose()?;
    if g.managed_identity || g.workload_identity || g.token_file.is_some() {
        return login_oauth(g, principal.as_deref()).await;
    }
    let place = ccache_place(g)?;
    // The TGT, and whether its KDC said it supports FAST.
    let (tgt, fast): (Credential, bool) = if let Some((file, session_key)) = tgt_cloud {
        let text = std::fs::read_to_string(&file).map_err(|e| local_io(&file, e))?;
        let session_key = session_key.map(|f| read_prt_session_key(&f)).transpose()?;
        let tgt = azkrb::cloudtgt::cloud::CloudTgt::from_json(&text)?
            .credential(session_key.as_deref().map(|k| &k[..]))?;
        (tgt, false)
    } else {
        let Some(name) = principal else {
            return keep_ccache(&place);
        };
        let files = client(g, Tgt::Ccache(None))?;
        let kerberos = files.kerberos();
        let p = kerberos.config().login_principal(&name, realm.as_deref())?;
        let renew_secs = renew_secs.or(kerberos.config().renew_lifetime);
        let tgt = if let Some(kt) = keytab {
            let keys = azkrb::cloudtgt::keytab::Keytab::load(&kt)?.keys_for(&p);
            if keys.is_empty() {
                return Err(usage(format!("{kt}: no keys for {p}")));
            }
            kerberos
                .login_renewable(&p, AsSecret::Keys(keys), renew_secs)
                .await?
        } else {
            let password = read_password(password_stdin, &name)?;
            kerberos
                .login_renewable(&p, AsSecret::Password(password), renew_secs)
                .await?
        };
        let fast = kerberos.fast_advertised(&tgt.server.realm);
        (tgt, fast)
    };
    // In a DIR: collection, each principal has a cache of its own (a hybrid user's Entra
    // and AD DS TGTs side by side), and the last login's is the primary, as with kinit.
    let name = ccache_name(g)?;
    let config = azkrb::cloudtgt::RealmConfig::discover(g.krb5_conf.as_deref())?;
    let path = ccache::locate_for_principal(&name, &tgt.client, &config)?;
    let mut cache = Ccache::new(tgt.client.clone());
    cache.store(&tgt)?;
    if fast {
        // As kinit does: the next process armors its TGS requests at once.
        cache.set_config("fast_avail", Some(&tgt.server), b"yes");
    }
    path.save(&cache)?;
    path.switch_to()?;
    let renewable = match tgt.renew_till {
        Some(r) if tgt.flags.contains(azkrb::asn1::TicketFlags::RENEWABLE) => {
            format!(", renewable until {r}")
        }
        _ => String::new(),
    };
    eprintln!(
        "Logged in as {} (TGT valid until {}{renewable}); credential cache {path}",
        tgt.client, tgt.endtime
    );
    Ok(())
}

/// `login --managed-identity | --workload-identity | --token-file F //host/share`: the
/// share's ticket from the storage account (SMB OAuth), stored in the credential cache as
/// its own (for `mount -t cifs -o sec=krb5` and smbclient; a cache of its own, as its
/// client is the storage account's, not a user).
async fn login_oauth(g: &Global, target: Option<&str>) -> Result<(), Failure> {
    let target = target.ok_or_else(|| {
        usage("with SMB OAuth, login takes the share: login --managed-identity //host/share")
    })?;
    let unc = UncPath::parse(target)?;
    // A token from standard input is read once, by this client.
    let source = crate::cli::oauth_source(g)?
        .ok_or_else(|| usage("login with SMB OAuth needs a token source"))?;
    let spec = source.spec();
    let files = crate::cli::client_with_oauth(g, source)?;
    let t = files.cifs_ticket(&unc.host).await?;
    let place = ccache_place(g)?;
    // The cache's other SMB OAuth tickets are kept (one per storage account); a cache of
    // another principal (a user's TGT) is never overwritten, nor one that cannot be read,
    // nor one that is not our own.
    let mut cache = match load_own(&place)? {
        Some(c) if c.principal.same_as(&t.client) => c,
        // Any entry counts (credentials() passes over kinds it cannot use: RC4 …).
        Some(c) if c.entries.iter().any(|e| !e.is_config()) => {
            return Err(usage(format!(
                "{place} holds {}'s credentials; the storage account's tickets are \
                 {}'s: keep them in a cache of their own (-c FILE:/path, or KRB5CCNAME)",
                c.principal, t.client
            )));
        }
        _ => Ccache::new(t.client.clone()),
    };
    store_oauth_ticket(g, &mut cache, &t)?;
    // How `refresh` gets the next one (a token given once cannot be fetched again).
    cache.set_config(
        OAUTH_SOURCE,
        Some(&t.server),
        spec.as_deref().unwrap_or(GIVEN).as_bytes(),
    );
    place.save(&cache)?;
    eprintln!(
        "{} from the storage account (SMB OAuth: {}) stored in {place} (valid until {})",
        t.server, t.client, t.endtime
    );
    Ok(())
}

/// The cache, if there is one, read only if it is our own: what its configuration entries
/// say (where a token comes from) is acted on, so a FILE cache another user made in advance
/// (`/tmp/krb5cc_0` before root's first login, say) is refused. A FILE cache is opened
/// without following a symbolic link, and the file opened is the one checked (a regular
/// file of the effective uid) and read: nothing can be swapped in between. KCM and keyring
/// caches are not checked: their daemon and the kernel give each user their own, and only
/// root reaches another's. A cache that cannot be read is an error, and is left as it is.
pub(crate) fn load_own(place: &ccache::Location) -> Result<Option<Ccache>, Failure> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let unreadable = |e: &dyn std::fmt::Display| {
        usage(format!(
            "{place} cannot be read ({e}); it is left as it is: remove it, or give another \
             cache (-c FILE:/path)"
        ))
    };
    let ccache::Location::File(path) = place else {
        return place.load_existing().map_err(|e| unreadable(&e));
    };
    let refuse = |what: String| {
        usage(format!(
            "{path} is {what}: refusing to use what it says (another user may have made it); \
             remove it, or give a cache of your own (-c FILE:/path)"
        ))
    };
    let opened = std::fs::OpenOptions::new()
        .read(true)
        // No FIFO holds the open up.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path);
    let mut file = match opened {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refuse("a symbolic link".into()));
        }
        Err(e) => return Err(local_io(path, e)),
    };
    let meta = file.metadata().map_err(|e| local_io(path, e))?;
    let me = ccache::effective_uid();
    if !meta.is_file() {
        return Err(refuse("not a regular file".into()));
    }
    if meta.uid() != me {
        return Err(refuse(format!("owned by uid {}, not {me}", meta.uid())));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.read_to_end(&mut bytes)
        .map_err(|e| local_io(path, e))?;
    Ccache::parse(path, &bytes)
        .map(Some)
        .map_err(|e| unreadable(&e))
}

/// Stores an SMB OAuth ticket in `cache`, also under the names other tools look it up by:
/// the ticket is for `cifs/<host>@FILES.AZURE.STORAGE.MICROSOFT.COM`, but MIT's GSS library
/// (smbclient) and the kernel's upcall ask the cache for `cifs/<host>` in the realm
/// krb5.conf maps the host to, or in none (the referral realm) when it maps it to none, as
/// MIT keeps a ticket a referral brought.
pub(crate) fn store_oauth_ticket(
    g: &Global,
    cache: &mut Ccache,
    t: &Credential,
) -> Result<(), Failure> {
    cache.store(t)?;
    let config = azkrb::cloudtgt::RealmConfig::discover(g.krb5_conf.as_deref())?;
    let host = match t.server.name.name_string.as_slice() {
        [_, host] => host.to_string_lossy().to_string(),
        _ => return Ok(()),
    };
    let mapped = config.realm_for_host(&host).unwrap_or("").to_string();
    let mut alias = t.clone();
    alias.server.realm = mapped;
    if !alias.server.same_as(&t.server) {
        cache.store(&alias)?;
    }
    Ok(())
}

/// Whether `c` is a ticket listed under another realm's name than its own (see
/// [`store_oauth_ticket`]).
pub(crate) fn is_alias(c: &Credential) -> bool {
    !c.ticket
        .realm
        .to_string_lossy()
        .eq_ignore_ascii_case(&c.server.realm)
}

/// The credential cache's configuration entry, beside an SMB OAuth ticket, that says where
/// its token came from (see `TokenSource::spec`).
pub(crate) const OAUTH_SOURCE: &str = "azkrb_smb_oauth";
/// Its value for a token given once.
pub(crate) const GIVEN: &str = "source=given";

/// How an SMB OAuth ticket's token came, for people.
pub(crate) fn oauth_source_label(spec: &[u8]) -> String {
    let spec = String::from_utf8_lossy(spec);
    if spec == GIVEN {
        return "a token given once".into();
    }
    let authority = std::env::var("AZURE_AUTHORITY_HOST").ok();
    match azkrb::cloudtgt::oauth::TokenSource::from_spec(&spec, "", authority.as_deref()) {
        Ok(s) => s.describe(),
        Err(e) => format!("unreadable ({e})"),
    }
}

/// `renew`: the credential cache's TGT renewed in place (its service tickets kept).
pub(crate) async fn renew(g: &Global) -> Result<(), Failure> {
    let path = ccache_place(g)?;
    let mut cache = path.load()?;
    let tgt = cache.tgt().ok_or_else(|| {
        usage(format!(
            "{path} holds no TGT to renew (mount-share login -r 7d user@REALM)"
        ))
    })?;
    let files = client(g, Tgt::Ccache(None))?;
    // The cache says whether the realm's KDC has FAST (the renewal is armored then).
    files.kerberos().note_fast_in(&cache, &tgt);
    let renewed = files.kerberos().renew(&tgt).await?;
    cache.store(&renewed)?;
    path.save(&cache)?;
    eprintln!(
        "Renewed the TGT of {} in {path}: valid until {}{}",
        renewed.client,
        renewed.endtime,
        renewed
            .renew_till
            .map(|r| format!(", renewable until {r}"))
            .unwrap_or_default()
    );
    Ok(())
}

/// `login` without a principal: keep the credential cache's TGT if it is still valid.
pub(crate) fn keep_ccache(path: &ccache::Location) -> Result<(), Failure> {
    let no_tgt = || {
        usage(format!(
            "login needs a principal (user@REALM or a UPN); {path} holds no TGT to keep"
        ))
    };
    let cache = path.load().map_err(|_| no_tgt())?;
    let tgt = cache.tgt().ok_or_else(no_tgt)?;
    if tgt.endtime.0 <= azkrb::asn1::KerberosTime::now().0 {
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

pub(crate) fn klist(g: &Global) -> Result<(), Failure> {
    let place = ccache_place(g)?;
    let cache = place.load()?;
    let creds = cache.credentials();
    println!("Ticket cache: {place}");
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
        let tkt = azkrb::crypto::EncryptionType::try_from(c.ticket.enc_part.etype)
            .map(|e| e.name().to_string())
            .unwrap_or_else(|_| format!("etype {}", c.ticket.enc_part.etype));
        println!(
            "\tFlags: {}, Etype (skey, tkt): {}, {tkt}",
            c.flags.names().join(" "),
            c.session_key.etype().name()
        );
        if let Some(spec) = cache.config(OAUTH_SOURCE, Some(&c.server)) {
            println!("\tSMB OAuth: {}", oauth_source_label(spec));
        }
        if is_alias(c) {
            println!(
                "\t(the ticket of {}, listed under the name local tools look it up by)",
                c.ticket.realm.to_string_lossy()
            );
        }
    }
    Ok(())
}

pub(crate) async fn ticket(g: &Global, target: &str) -> Result<(), Failure> {
    let unc = if target.trim_matches(['/', '\\']).contains(['/', '\\']) {
        UncPath::parse(target)?
    } else {
        UncPath::parse(&format!("{}/IPC$", target.trim_end_matches(['/', '\\'])))?
    };
    let files = from_ccache(g)?;
    let t = files.cifs_ticket(&unc.host).await?;
    // Beside the TGT it was made with (another cache of a DIR: collection, maybe).
    let config = azkrb::cloudtgt::RealmConfig::discover(g.krb5_conf.as_deref())?;
    let path = ccache::locate_holding(&ccache_name(g)?, &t.client, &config)?;
    // Never into a cache of another principal (a collection whose caches hold neither).
    let holder = path.load()?.principal;
    if !holder.same_as(&t.client) {
        return Err(usage(format!(
            "{path} holds {holder}'s credentials, not {}'s: the ticket is not stored",
            t.client
        )));
    }
    path.add(&t)?;
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

pub(crate) fn show_config(g: &Global) {
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
pub(crate) fn read_prt_session_key(file: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
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

/// `whoami`: the user's SID and groups as the KDC puts them in a PAC (read from a
/// user-to-user ticket to oneself), for the TGT that serves `target`'s host (the default
/// TGT without one).
pub(crate) async fn whoami(g: &Global, target: Option<&str>, json: bool) -> Result<(), Failure> {
    let files = from_ccache(g)?;
    let kerberos = files.kerberos();
    let tgt = match target {
        Some(t) => {
            let unc = UncPath::parse(&format!("{}/IPC$", t.trim_end_matches(['/', '\\'])))
                .or_else(|_| UncPath::parse(t))?;
            kerberos.tgt_for_host(&unc.host).await?
        }
        None => kerberos.tgt().await?,
    };
    let id = kerberos.identity(&tgt).await?;
    let info = id.pac.as_ref().and_then(|p| p.logon_info.as_ref());
    let user_sid = info.and_then(|i| i.user_sid()).map(|s| s.to_string());
    let groups: Vec<String> = info
        .map(|i| i.group_sids().iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    let upn = id.pac.as_ref().and_then(|p| p.upn_dns_info.as_ref());
    let name_of = |sid: &str| {
        azkrb::acl::Sid::parse(sid)
            .ok()
            .and_then(|s| s.name())
            .unwrap_or("")
    };
    if json {
        println!(
            "{}",
            serde_json::json!({
                "principal": id.principal.to_string(),
                "pac": id.pac.is_some(),
                "logon_info": info.is_some(),
                "user_sid": user_sid,
                "name": info.map(|i| format!("{}\\{}", i.logon_domain_name, i.effective_name)),
                "upn": upn.map(|u| u.upn.clone()),
                "groups": groups.iter().map(|g| serde_json::json!({"sid": g, "name": name_of(g)})).collect::<Vec<_>>(),
            })
        );
        return Ok(());
    }
    println!("Principal: {}", id.principal);
    let Some(info) = info else {
        if id.pac.is_some() {
            println!(
                "The PAC holds no logon information (MIT's KDC puts only its signatures and \
                 the client's name there): no SIDs to show"
            );
        } else {
            println!(
                "No PAC: the KDC of {} puts none in its tickets: no SIDs to show",
                tgt.client.realm
            );
        }
        return Ok(());
    };
    println!("Name: {}\\{}", info.logon_domain_name, info.effective_name);
    if let Some(u) = upn {
        println!("UPN: {}", u.upn);
    }
    if let Some(s) = &user_sid {
        println!("SID: {s}");
    }
    println!("Groups:");
    for g in &groups {
        match name_of(g) {
            "" => println!("  {g}"),
            n => println!("  {g}  {n}"),
        }
    }
    Ok(())
}
