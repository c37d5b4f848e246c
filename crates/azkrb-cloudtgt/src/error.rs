//! The one error type of this crate. Every variant's message names the likely cause and the
//! fix, as Azure documents them for Entra Kerberos and AD DS.

use azkrb_asn1::ErrorCode;

/// A KRB-ERROR from a KDC, with what it means for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KdcError {
    /// The error code.
    pub code: ErrorCode,
    /// The realm of the KDC that answered.
    pub realm: String,
    /// The client principal of the request.
    pub client: String,
    /// The server principal of the request.
    pub server: String,
    /// The KDC's e-text, if any.
    pub text: Option<String>,
    /// The KDC's clock minus ours, in seconds (from the error's stime).
    pub skew_seconds: i64,
}

impl KdcError {
    /// What the error most likely means, and what to do about it.
    pub fn advice(&self) -> String {
        match self.code {
            ErrorCode::PreauthFailed | ErrorCode::BadIntegrity => format!(
                "pre-authentication failed for {}: wrong password (or a stale keytab key); check the password",
                self.client
            ),
            ErrorCode::CPrincipalUnknown => format!(
                "the KDC of {} does not know the client {}: check the user name and realm (for a UPN such as user@contoso.com use the enterprise form)",
                self.realm, self.client
            ),
            ErrorCode::SPrincipalUnknown => format!(
                "the KDC of {} does not know the service {}: the SPN is not registered. For Azure Files, register cifs/<account>.file.core.windows.net on the storage account's application; with a private endpoint, the <account>.privatelink.file.core.windows.net names must be registered too",
                self.realm, self.server
            ),
            ErrorCode::Skew => format!(
                "clock skew too great: this machine's clock is {}s off the KDC's; synchronise it (NTP)",
                -self.skew_seconds
            ),
            ErrorCode::Policy => format!(
                "the KDC's policy refused the request for {}: for Azure Files with Entra Kerberos, exclude the storage account's application from multi-factor Conditional Access policies (Windows reports this as system error 1327)",
                self.server
            ),
            ErrorCode::EtypeNosupp => format!(
                "no common encryption type with the KDC of {}: AES-256 (aes256-cts-hmac-sha1-96) must be enabled for the account and the storage account",
                self.realm
            ),
            ErrorCode::TktExpired => "the ticket has expired: get a new TGT (Entra cloud TGTs last about 10 hours and cannot be renewed; fetch a new one)".to_string(),
            ErrorCode::KeyExpired => format!("the password of {} has expired: change it", self.client),
            ErrorCode::ClientRevoked => format!("the account {} is disabled, locked or expired", self.client),
            ErrorCode::WrongRealm => format!("{} belongs to another realm than {}: check the realm routing", self.client, self.realm),
            ErrorCode::BadOption => format!("the KDC of {} cannot grant the requested ticket options for {}", self.realm, self.server),
            _ => format!("the KDC of {} refused the request for {}", self.realm, self.server),
        }
    }
}

impl std::fmt::Display for KdcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}", self.advice(), self.code)?;
        if let Some(t) = &self.text {
            write!(f, ": {t}")?;
        }
        write!(f, "]")
    }
}

/// Everything that can go wrong in azkrb-cloudtgt.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The KDC answered with a KRB-ERROR.
    #[error("{0}")]
    Kdc(Box<KdcError>),
    /// A reply that does not answer our request (nonce, names, etype) or breaks the protocol.
    #[error("invalid reply from the KDC: {0}")]
    Protocol(String),
    /// Malformed bytes.
    #[error(transparent)]
    Asn1(#[from] azkrb_asn1::Error),
    /// A cryptographic failure (wrong key, unsupported etype, tampering).
    #[error(transparent)]
    Crypto(#[from] azkrb_crypto::Error),
    /// A ticket that is no longer valid.
    #[error("the {what} for {principal} expired at {at}: {fix}")]
    Expired {
        /// "TGT" or "service ticket".
        what: &'static str,
        /// Its principal.
        principal: String,
        /// When it expired.
        at: azkrb_asn1::KerberosTime,
        /// What to do.
        fix: &'static str,
    },
    /// A TGT that cannot be renewed.
    #[error("the TGT of {principal} cannot be renewed: {why}")]
    NotRenewable {
        /// Its principal.
        principal: String,
        /// Why, and what to do.
        why: String,
    },
    /// A KDC reply whose ticket is for another server than the one asked for, or whose
    /// ticket and encrypted part name different servers.
    #[error(
        "invalid reply from the KDC: the {what} names {got}, not {expected} (a forged or spliced reply, or a misconfigured KDC)"
    )]
    WrongServer {
        /// Which part of the reply: "AS-REP ticket", "AS-REP encrypted part", ...
        what: &'static str,
        /// The server that was expected there.
        expected: String,
        /// The server the reply names.
        got: String,
    },
    /// The storage account refused to exchange a bearer token for a ticket (SMB OAuth).
    #[error(
        "the storage account refused the token exchange: HTTP {status}{}: {cause}",
        code.as_deref().map(|c| format!(" (x-ms-error-code {c})")).unwrap_or_default()
    )]
    SmbOAuth {
        /// The HTTP status.
        status: u16,
        /// The `x-ms-error-code` header, if any.
        code: Option<String>,
        /// What it most likely means, and the fix.
        cause: String,
    },
    /// The KDC knows none of the service principal names tried for a share's host.
    #[error(
        "the KDC of {realm} knows none of {}: register cifs/<account>.file.core.windows.net \
         on the storage account's application (for a private endpoint, \
         cifs/<account>.privatelink.file.core.windows.net too), or name the registered one \
         with --spn-host",
        tried.join(", ")
    )]
    NoSpn {
        /// The realm asked.
        realm: String,
        /// The SPNs tried, in order.
        tried: Vec<String>,
    },
    /// The KDC proxy answered with an HTTP error status.
    #[error("the KDC proxy {url} answered HTTP {status}{}", hint_for_status(*.status))]
    Http {
        /// The KDC proxy URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The KDC proxy answered with an HTTP redirect, which is not followed.
    #[error(
        "the KDC proxy {url} answered HTTP {status}, redirecting to {location}: redirects are not followed; configure the KDC proxy's final URL (kdc = https://... in krb5.conf, or the KDC proxy setting)"
    )]
    Redirect {
        /// The KDC proxy URL.
        url: String,
        /// The status code (3xx).
        status: u16,
        /// The Location the proxy named (at most 300 characters).
        location: String,
    },
    /// TLS failed (untrusted or mismatched certificate, handshake failure).
    #[error(
        "TLS to {url} failed: {detail} (is the KDC proxy's CA trusted? use a CA file, or the realm's http_anchors in krb5.conf, for a private CA)"
    )]
    Tls {
        /// The KDC proxy URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The KDC or KDC proxy could not be reached.
    #[error("cannot reach {target}: {detail}")]
    Unreachable {
        /// The URL or address.
        target: String,
        /// What went wrong.
        detail: String,
    },
    /// The KDC or proxy did not answer in time.
    #[error("{target} did not answer within {seconds}s")]
    Timeout {
        /// The URL or address.
        target: String,
        /// The timeout that passed, in seconds.
        seconds: u64,
    },
    /// Every KDC (or KDC proxy) of a realm failed, each after its retries.
    #[error("no KDC of {realm} answered: {}", .tried.join("; "))]
    NoKdcAnswered {
        /// The realm.
        realm: String,
        /// Each KDC tried, with its last failure and how many attempts it had.
        tried: Vec<String>,
    },
    /// A configuration problem (krb5.conf, realm routing, ...).
    #[error("configuration: {0}")]
    Config(String),
    /// A credential cache, keytab or KRB-CRED file problem.
    #[error("{file}: {detail}")]
    File {
        /// The file's path.
        file: String,
        /// What went wrong.
        detail: String,
    },
    /// The Entra `tgt_cloud` object could not be used.
    #[error("cloud TGT: {0}")]
    CloudTgt(String),
    /// Referrals went round in circles or too far.
    #[error("referral loop: gave up after {0} realms")]
    ReferralLoop(usize),
    /// Mutual authentication with the service failed.
    #[error("mutual authentication failed: {0}")]
    MutualAuth(String),
}

fn hint_for_status(status: u16) -> &'static str {
    match status {
        404 => {
            " (wrong URL: for Entra it is https://login.microsoftonline.com/<tenant-id>/kerberos)"
        }
        400 => " (the proxy could not parse the request)",
        401 | 403 => " (the proxy refused the request)",
        500..=599 => " (the proxy or the KDC behind it failed)",
        _ => "",
    }
}

impl From<KdcError> for Error {
    fn from(e: KdcError) -> Self {
        Self::Kdc(Box::new(e))
    }
}

impl Error {
    /// The KRB-ERROR code, if this is a KDC error.
    pub fn kdc_code(&self) -> Option<ErrorCode> {
        match self {
            Self::Kdc(e) => Some(e.code),
            _ => None,
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;
