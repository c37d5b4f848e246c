//! The Kerberos client of azkrb: from a cloud TGT (or a password, keytab or ccache) to a
//! `cifs/` service ticket, through a KDC proxy (MS-KKDCP) or a KDC over TCP, and the GSS
//! krb5 initiator that presents it to an SMB server.
//!
//! In the azkrb stack this crate sits above `azkrb-asn1` (the messages) and `azkrb-crypto`
//! (the encryption types), and beside `azkrb-smb3`, which it never depends on: the `azkrb`
//! facade plugs this crate's GSS initiator into the SMB session setup. It works with any
//! RFC 4120 KDC: Entra ID's `KERBEROS.MICROSOFTONLINE.COM`, AD DS, MIT, Heimdal, Samba.
//!
//! - [`exchange`]: sans-I/O AS and TGS exchanges (bytes in, bytes out, time passed in);
//! - [`gss`]: the GSS-API krb5 initiator (AP-REQ with the 0x8003 checksum, AP-REP, MIC);
//! - [`ccache`], [`keytab`]: MIT credential cache and keytab files;
//! - [`cloud`]: the Entra `tgt_cloud` object of a PRT response;
//! - [`krbcred`]: KRB-CRED import and export;
//! - [`credential`], [`principal`]: the values they exchange;
//! - [`config`]: krb5.conf-style realm routing and the Entra defaults;
//! - [`transport`]: MS-KKDCP over HTTPS and TCP, with failover;
//! - [`client`]: all of it together, async, with a shared credential cache.
//!
//! # Examples
//!
//! Realm routing from a krb5.conf, with the Entra defaults for a tenant added: Azure Files
//! hosts go to Entra's KDC proxy unless mapped to an AD DS realm.
//!
//! ```
//! use azkrb_cloudtgt::{KdcAddress, RealmConfig};
//!
//! let conf = RealmConfig::parse(
//!     r#"
//! [libdefaults]
//!     default_realm = CONTOSO.LOCAL
//! [realms]
//!     CONTOSO.LOCAL = {
//!         kdc = dc1.contoso.local
//!         kdc = https://kdcproxy.contoso.local/KdcProxy
//!     }
//! [domain_realm]
//!     .contoso.local = CONTOSO.LOCAL
//!     onprem.file.core.windows.net = CONTOSO.LOCAL
//! "#,
//! )?
//! .with_entra_tenant("contoso.onmicrosoft.com")?;
//!
//! assert_eq!(
//!     conf.realm_for_host("acct.file.core.windows.net"),
//!     Some("KERBEROS.MICROSOFTONLINE.COM")
//! );
//! assert_eq!(conf.realm_for_host("onprem.file.core.windows.net"), Some("CONTOSO.LOCAL"));
//! assert_eq!(
//!     conf.kdcs_for("CONTOSO.LOCAL")?.to_vec(),
//!     vec![
//!         KdcAddress::Tcp("dc1.contoso.local:88".into()),
//!         KdcAddress::Https("https://kdcproxy.contoso.local/KdcProxy".into()),
//!     ]
//! );
//! assert_eq!(
//!     conf.kdcs_for("KERBEROS.MICROSOFTONLINE.COM")?.to_vec(),
//!     vec![KdcAddress::Https(
//!         "https://login.microsoftonline.com/contoso.onmicrosoft.com/kerberos".into()
//!     )]
//! );
//! // A UPN whose domain is not a configured realm becomes an enterprise name (RFC 6806) in
//! // the Entra realm.
//! let user = conf.login_principal("alice@contoso.com", None)?;
//! assert_eq!(user.to_string(), r"alice\@contoso.com@KERBEROS.MICROSOFTONLINE.COM");
//! # Ok::<(), azkrb_cloudtgt::Error>(())
//! ```
//!
//! The AS exchange without the network: the first AS-REQ carries no pre-authentication; the
//! KDC's `KDC_ERR_PREAUTH_REQUIRED` brings the salt, and the second AS-REQ carries a
//! PA-ENC-TIMESTAMP sealed with the key derived from the password and that salt.
//!
//! ```
//! use azkrb_asn1::krb::{EncryptedData, EtypeInfo2Entry, KdcReq, KrbError, PaData, PaEncTsEnc};
//! use azkrb_asn1::{
//!     ErrorCode, KerberosMessage, KerberosTime, MessageType, NameType, PaDataType,
//!     PrincipalName, decode, encode,
//! };
//! use azkrb_cloudtgt::{AsExchange, AsSecret, AsStep, Principal};
//! use azkrb_crypto::{EncryptionType, Key, KeyUsage};
//! use zeroize::Zeroizing;
//!
//! fn as_req(der: &[u8]) -> KdcReq {
//!     match KerberosMessage::from_der(der) {
//!         Ok(KerberosMessage::AsReq(req)) => req.0,
//!         other => panic!("not an AS-REQ: {other:?}"),
//!     }
//! }
//! fn enc_timestamp(req: &KdcReq) -> Option<&PaData> {
//!     req.padata.iter().flatten().find(|pa| pa.padata_type == PaDataType::EncTimestamp)
//! }
//!
//! let realm = "KERBEROS.MICROSOFTONLINE.COM";
//! let now = KerberosTime::from_unix(1_700_000_000);
//! let password = "correct horse battery staple";
//! let alice = Principal::enterprise("alice@contoso.com", realm);
//! let mut exchange =
//!     AsExchange::new(alice, AsSecret::Password(Zeroizing::new(password.into())), now)?;
//! assert_eq!(exchange.realm(), realm);
//!
//! let first = as_req(exchange.request());
//! assert_eq!(first.req_body.sname.as_ref().map(|s| s.to_text()).as_deref(),
//!            Some("krbtgt/KERBEROS.MICROSOFTONLINE.COM"));
//! assert!(enc_timestamp(&first).is_none());
//!
//! // What the KDC answers (see the azkrb-asn1 crate for this message).
//! let salt = "KERBEROS.MICROSOFTONLINE.COMalice@contoso.com";
//! let etype_info2 = vec![EtypeInfo2Entry { etype: 18, salt: Some(salt.into()), s2kparams: None }];
//! let method_data = vec![PaData {
//!     padata_type: PaDataType::EtypeInfo2,
//!     padata_value: encode("ETYPE-INFO2", &etype_info2)?.into(),
//! }];
//! let reply = KerberosMessage::KrbError(KrbError {
//!     pvno: 5,
//!     msg_type: MessageType::KrbError,
//!     ctime: None,
//!     cusec: None,
//!     stime: now,
//!     susec: 0,
//!     error_code: ErrorCode::PreauthRequired,
//!     crealm: None,
//!     cname: None,
//!     realm: realm.into(),
//!     sname: PrincipalName::new(NameType::SrvInst, ["krbtgt", realm]),
//!     e_text: None,
//!     e_data: Some(encode("METHOD-DATA", &method_data)?.into()),
//! })
//! .to_der()?;
//! assert!(matches!(exchange.handle_reply(&reply, now)?, AsStep::Continue));
//!
//! let second = as_req(exchange.request());
//! let pa = enc_timestamp(&second).expect("PA-ENC-TIMESTAMP");
//! let sealed: EncryptedData = decode("PA-ENC-TIMESTAMP", &pa.padata_value)?;
//! assert_eq!(sealed.etype, 18);
//! let key = Key::from_password(
//!     EncryptionType::Aes256CtsHmacSha196,
//!     password.as_bytes(),
//!     salt.as_bytes(),
//!     None,
//! )?;
//! let plain = key.decrypt(KeyUsage::AS_REQ_PA_ENC_TIMESTAMP, &sealed.cipher)?;
//! let ts: PaEncTsEnc = decode("PA-ENC-TS-ENC", &plain)?;
//! assert_eq!(ts.patimestamp, now);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
// One audited module of `unsafe`: the kernel keyring calls in `ccache::keyctl` (its comments
// say why each is sound).
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod backoff;
pub mod ccache;
pub mod client;
pub mod cloud;
pub mod config;
pub mod credential;
mod error;
pub mod exchange;
pub mod fast;
mod files;
pub mod gss;
pub mod keytab;
pub mod krbcred;
pub mod oauth;
pub mod principal;
pub mod spn;
pub mod spnego;
pub mod transport;
pub mod whoami;

pub use client::{Client, CredentialCache, TgtSource};
pub use config::{HttpAnchor, KdcAddress, RealmConfig};
pub use credential::Credential;
pub use error::{Error, KdcError, Result};
pub use exchange::{AsExchange, AsSecret, AsStep, TgsExchange, TgsStep};
pub use fast::{Armoring, FastPolicy};
pub use principal::Principal;
pub use transport::{Transport, TransportOptions};

// The README's examples run as doc tests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
