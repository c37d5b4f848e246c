//! KRB-CRED (RFC 4120 §5.8): credentials in transit, as `.kirbi` files and delegation carry
//! them. Exported with an unencrypted enc-part (etype 0), the usual form for files; imported
//! from that form or from one encrypted under a key (usage 14).

use azkrb_asn1::krb::{EncKrbCredPart, EncryptedData, KrbCred};
use azkrb_asn1::{KerberosMessage, KerberosTime, MessageType, TicketFlags, decode, encode};
use azkrb_crypto::{Key, KeyUsage};

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::principal::Principal;

/// Encodes credentials as a KRB-CRED with an unencrypted (etype 0) enc-part.
pub fn export(creds: &[Credential]) -> Result<Vec<u8>> {
    let part = EncKrbCredPart {
        ticket_info: creds.iter().map(Credential::cred_info).collect(),
        nonce: None,
        timestamp: None,
        usec: None,
        s_address: None,
        r_address: None,
    };
    let cred = KrbCred {
        pvno: 5,
        msg_type: MessageType::KrbCred,
        tickets: creds.iter().map(|c| c.ticket.clone()).collect(),
        enc_part: EncryptedData {
            etype: 0,
            kvno: None,
            cipher: encode("EncKrbCredPart", &part)?.into(),
        },
    };
    Ok(encode("KRB-CRED", &cred)?)
}

/// Decodes a KRB-CRED into credentials. An encrypted enc-part needs `key`.
pub fn import(bytes: &[u8], key: Option<&Key>) -> Result<Vec<Credential>> {
    let cred = match KerberosMessage::from_der(bytes)? {
        KerberosMessage::KrbCred(c) => c,
        other => {
            return Err(Error::Protocol(format!(
                "expected KRB-CRED, got {}",
                other.message_type()
            )));
        }
    };
    // The plain EncKrbCredPart holds the session keys: zeroized when dropped.
    let part_der = zeroize::Zeroizing::new(if cred.enc_part.etype == 0 {
        cred.enc_part.cipher.to_vec()
    } else {
        let key = key
            .ok_or_else(|| Error::Protocol("the KRB-CRED is encrypted: a key is needed".into()))?;
        key.decrypt(KeyUsage::KRB_CRED_ENC_PART, &cred.enc_part.cipher)?
            .to_vec()
    });
    let part: EncKrbCredPart = decode("EncKrbCredPart", &part_der)?;
    if part.ticket_info.len() != cred.tickets.len() {
        return Err(Error::Protocol(format!(
            "KRB-CRED has {} tickets but {} ticket infos",
            cred.tickets.len(),
            part.ticket_info.len()
        )));
    }
    cred.tickets
        .into_iter()
        .zip(part.ticket_info)
        .map(|(ticket, info)| {
            let missing =
                |what: &str| Error::Protocol(format!("KRB-CRED ticket info lacks {what}"));
            let client = Principal::new(
                info.pname.ok_or_else(|| missing("pname"))?,
                info.prealm
                    .ok_or_else(|| missing("prealm"))?
                    .to_string_lossy(),
            );
            let server = Principal::new(
                info.sname.ok_or_else(|| missing("sname"))?,
                info.srealm
                    .ok_or_else(|| missing("srealm"))?
                    .to_string_lossy(),
            );
            Ok(Credential {
                client,
                server,
                session_key: Key::from_wire(info.key.keytype, &info.key.keyvalue)?,
                ticket,
                flags: info.flags.unwrap_or(TicketFlags::empty()),
                authtime: info
                    .authtime
                    .or(info.starttime)
                    .unwrap_or(KerberosTime::from_unix(0)),
                starttime: info.starttime,
                endtime: info.endtime.ok_or_else(|| missing("endtime"))?,
                renew_till: info.renew_till,
            })
        })
        .collect()
}
