//! Importing the cloud TGT Entra ID hands out in a PRT response (`tgt_cloud`): a JSON
//! object whose `messageBuffer` is a DER AS-REP and whose `clientKey` is the AS-REP's reply
//! key, either as raw base64 or as a compact JWE under the PRT session key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use zeroize::Zeroizing;

use azkrb_asn1::{KerberosMessage, decode_enc_kdc_rep_part};
use azkrb_crypto::{EncryptionType, Key, KeyUsage};

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::principal::Principal;

/// The label of Entra's SP800-108 key derivation for the PRT session key.
pub const KDF_LABEL: &[u8] = b"AzureAD-SecureConversation";

/// The `tgt_cloud` (or `tgt_ad`) object of a PRT response. `Debug` shows neither the
/// `clientKey` nor the message buffer, only their lengths.
#[derive(Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct CloudTgt {
    /// The AS-REP reply key: raw base64, or a compact JWE under the PRT session key.
    pub client_key: String,
    /// The key's encryption type: must be 18 (aes256-cts-hmac-sha1-96).
    pub key_type: u32,
    /// Base64 DER AS-REP.
    pub message_buffer: String,
    /// Present (instead of a ticket) when Entra could not issue one.
    pub error: String,
    /// The realm of the TGT (`KERBEROS.MICROSOFTONLINE.COM` for `tgt_cloud`).
    pub realm: String,
    /// Service name.
    pub sn: String,
    /// Client name.
    pub cn: String,
    /// Session key type.
    pub session_key_type: u32,
    /// Account type.
    pub account_type: u32,
}

impl std::fmt::Debug for CloudTgt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let form = if self.client_key.contains('.') {
            "JWE"
        } else {
            "base64 key"
        };
        f.debug_struct("CloudTgt")
            .field(
                "client_key",
                &format_args!("<redacted {form}, {} chars>", self.client_key.len()),
            )
            .field("key_type", &self.key_type)
            .field(
                "message_buffer",
                &format_args!("<{} base64 chars>", self.message_buffer.len()),
            )
            .field("error", &self.error)
            .field("realm", &self.realm)
            .field("sn", &self.sn)
            .field("cn", &self.cn)
            .field("session_key_type", &self.session_key_type)
            .field("account_type", &self.account_type)
            .finish()
    }
}

impl CloudTgt {
    /// Parses the JSON object (also accepts it serialized as a JSON string, as PRT
    /// responses carry it).
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::CloudTgt(format!("not JSON: {e}")))?;
        let value = match value {
            serde_json::Value::String(inner) => serde_json::from_str(&inner)
                .map_err(|e| Error::CloudTgt(format!("not JSON: {e}")))?,
            v => v,
        };
        // A whole PRT response: take its tgt_cloud member.
        let value = match value.get("tgt_cloud") {
            Some(serde_json::Value::String(s)) => serde_json::from_str(s)
                .map_err(|e| Error::CloudTgt(format!("tgt_cloud is not JSON: {e}")))?,
            Some(v) => v.clone(),
            None => value,
        };
        serde_json::from_value(value)
            .map_err(|e| Error::CloudTgt(format!("unexpected tgt_cloud object: {e}")))
    }

    /// The reply key. A JWE `clientKey` needs the PRT session key.
    pub fn client_key(&self, prt_session_key: Option<&[u8]>) -> Result<Key> {
        if self.key_type != 18 {
            return Err(Error::CloudTgt(format!(
                "keyType {} is not 18 (aes256-cts-hmac-sha1-96): Entra's cloud TGT keys are AES-256",
                self.key_type
            )));
        }
        let bytes = if self.client_key.contains('.') {
            let session = prt_session_key.ok_or_else(|| {
                Error::CloudTgt(
                    "clientKey is a JWE: the PRT session key is needed to decrypt it".into(),
                )
            })?;
            let plain = decrypt_jwe(&self.client_key, session)?;
            if plain.len() == 32 {
                plain
            } else {
                let text = String::from_utf8_lossy(&plain)
                    .trim()
                    .trim_matches('"')
                    .to_string();
                Zeroizing::new(STANDARD.decode(text).map_err(|_| {
                    Error::CloudTgt("the decrypted clientKey is neither 32 bytes nor base64".into())
                })?)
            }
        } else {
            Zeroizing::new(
                STANDARD
                    .decode(self.client_key.trim())
                    .map_err(|e| Error::CloudTgt(format!("clientKey is not base64: {e}")))?,
            )
        };
        Key::new(EncryptionType::Aes256CtsHmacSha196, &bytes)
            .map_err(|_| Error::CloudTgt(format!("clientKey is {} bytes, not 32", bytes.len())))
    }

    /// The TGT: the AS-REP decrypted with the client key (key usage 3).
    pub fn credential(&self, prt_session_key: Option<&[u8]>) -> Result<Credential> {
        if !self.error.is_empty() {
            return Err(Error::CloudTgt(format!(
                "Entra issued no cloud TGT: {} (the device must be Entra joined with cloud Kerberos ticket retrieval enabled, and the user a synced hybrid identity)",
                self.error
            )));
        }
        let der = STANDARD
            .decode(self.message_buffer.trim())
            .map_err(|e| Error::CloudTgt(format!("messageBuffer is not base64: {e}")))?;
        let rep = match KerberosMessage::from_der(&der)? {
            KerberosMessage::AsRep(r) => r.0,
            other => {
                return Err(Error::CloudTgt(format!(
                    "messageBuffer holds a {}, not an AS-REP",
                    other.message_type()
                )));
            }
        };
        let key = self.client_key(prt_session_key)?;
        let plain = key
            .decrypt(KeyUsage::AS_REP_ENC_PART, &rep.enc_part.cipher)
            .map_err(|_| Error::CloudTgt("clientKey does not decrypt the AS-REP".into()))?;
        let (part, _) = decode_enc_kdc_rep_part(&plain)?;
        let client = Principal::new(rep.cname.clone(), rep.crealm.to_string_lossy());
        let server = Principal::new(part.sname.clone(), part.srealm.to_string_lossy());
        if server.tgs_realm().is_none() {
            return Err(Error::WrongServer {
                what: "cloud TGT's AS-REP encrypted part",
                expected: format!("a krbtgt/ principal of {}", client.realm),
                got: server.to_string(),
            });
        }
        crate::exchange::check_ticket_matches_part("cloud TGT's ticket", &rep.ticket, &server)?;
        Credential::from_reply(client, rep.ticket, &part)
    }
}

/// SP800-108 counter-mode KDF with HMAC-SHA256: `[1]_4 ‖ label ‖ 0x00 ‖ context ‖ [256]_4`.
pub fn derive_session_key(prt_session_key: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(prt_session_key)
        .map_err(|_| Error::CloudTgt("unusable PRT session key".into()))?;
    mac.update(&1u32.to_be_bytes());
    mac.update(KDF_LABEL);
    mac.update(&[0]);
    mac.update(context);
    mac.update(&256u32.to_be_bytes());
    Ok(Zeroizing::new(mac.finalize().into_bytes().to_vec()))
}

#[derive(Deserialize)]
struct JweHeader {
    #[serde(default)]
    ctx: String,
    #[serde(default)]
    enc: String,
}

/// Decrypts a compact JWE (`header.key.iv.ciphertext.tag`, `alg: dir`) under the key derived
/// from the PRT session key and the header's `ctx`: AES-256-GCM when the IV is 12 bytes
/// (the protected header is the AAD), else AES-256-CBC with PKCS#7 padding.
pub fn decrypt_jwe(jwe: &str, prt_session_key: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let parts: Vec<&str> = jwe.trim().split('.').collect();
    let [header_b64, _key, iv_b64, ct_b64, tag_b64] = parts.as_slice() else {
        return Err(Error::CloudTgt(format!(
            "a compact JWE has 5 parts, this has {}",
            parts.len()
        )));
    };
    let b64 = |what: &str, s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| Error::CloudTgt(format!("JWE {what} is not base64url: {e}")))
    };
    let header: JweHeader = serde_json::from_slice(&b64("header", header_b64)?)
        .map_err(|e| Error::CloudTgt(format!("JWE header is not JSON: {e}")))?;
    let ctx = STANDARD
        .decode(&header.ctx)
        .map_err(|_| Error::CloudTgt("JWE header has no usable ctx".into()))?;
    let key = derive_session_key(prt_session_key, &ctx)?;
    let iv = b64("iv", iv_b64)?;
    let ct = b64("ciphertext", ct_b64)?;
    let tag = b64("tag", tag_b64)?;
    if iv.len() == 12 {
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key)
            .map_err(|_| Error::CloudTgt("bad derived key".into()))?;
        let mut msg = ct;
        msg.extend_from_slice(&tag);
        let nonce = aes_gcm::Nonce::try_from(iv.as_slice())
            .map_err(|_| Error::CloudTgt("bad JWE IV".into()))?;
        cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &msg,
                    aad: header_b64.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| {
                Error::CloudTgt(format!(
                    "the JWE ({}) does not decrypt: wrong PRT session key?",
                    header.enc
                ))
            })
    } else if iv.len() == 16 {
        use cbc::cipher::{BlockModeDecrypt, KeyIvInit, block_padding::Pkcs7};
        let dec = cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .map_err(|_| Error::CloudTgt("bad JWE key or IV".into()))?;
        dec.decrypt_padded_vec::<Pkcs7>(&ct)
            .map(Zeroizing::new)
            .map_err(|_| {
                Error::CloudTgt("the JWE (CBC) does not decrypt: wrong PRT session key?".into())
            })
    } else {
        Err(Error::CloudTgt(format!("JWE IV of {} bytes", iv.len())))
    }
}
