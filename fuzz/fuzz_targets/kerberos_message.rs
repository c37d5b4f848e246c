//! Any bytes as a top-level Kerberos message or a decrypted KDC-REP body: a value or an
//! error, never a panic; whatever decodes re-encodes to the same value.
#![no_main]

use azkrb_asn1::{KerberosMessage, decode_enc_kdc_rep_part};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = KerberosMessage::from_der(data) {
        let der = m.to_der().expect("a decoded message encodes");
        assert_eq!(KerberosMessage::from_der(&der).expect("re-decodes"), m);
    }
    if let Ok((part, _)) = decode_enc_kdc_rep_part(data) {
        let _ = part.ticket_flags();
    }
});
