//! Which service principal names a share's host is tried under. Azure Files registers
//! `cifs/<account>.file.core.windows.net`; a private endpoint's name,
//! `<account>.privatelink.file.core.windows.net`, has its own SPN only when it was added to
//! the storage account's application as well. So a privatelink host asks for the canonical
//! SPN first, and for its own when the KDC knows only that one; an explicit SPN host
//! (`--spn-host`, for a custom DNS name) is the only one tried.

/// The privatelink zone of Azure Files.
const PRIVATELINK: &str = ".privatelink.file.core.windows.net";
/// The public zone.
const PUBLIC: &str = ".file.core.windows.net";

/// The hosts whose `cifs/` SPNs are tried for `host`, in order: `explicit` alone when given;
/// for `<account>.privatelink.file.core.windows.net`, the canonical
/// `<account>.file.core.windows.net` and then the host itself; any other host as it is.
///
/// ```
/// use azkrb_cloudtgt::spn::spn_hosts;
/// assert_eq!(
///     spn_hosts("acct.privatelink.file.core.windows.net", None),
///     ["acct.file.core.windows.net", "acct.privatelink.file.core.windows.net"]
/// );
/// assert_eq!(spn_hosts("acct.file.core.windows.net", None), ["acct.file.core.windows.net"]);
/// assert_eq!(spn_hosts("files.contoso.com", Some("acct.file.core.windows.net")), ["acct.file.core.windows.net"]);
/// ```
pub fn spn_hosts(host: &str, explicit: Option<&str>) -> Vec<String> {
    if let Some(h) = explicit {
        return vec![h.to_ascii_lowercase()];
    }
    let host = host.to_ascii_lowercase();
    match host.strip_suffix(PRIVATELINK) {
        Some(account) if !account.is_empty() && !account.contains('.') => {
            vec![format!("{account}{PUBLIC}"), host.clone()]
        }
        _ => vec![host],
    }
}
