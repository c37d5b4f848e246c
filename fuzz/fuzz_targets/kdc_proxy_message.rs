//! Any bytes as an MS-KKDCP KDC-PROXY-MESSAGE, then its length-prefixed payload as a
//! Kerberos message.
#![no_main]

use azkrb_asn1::{KdcProxyMessage, KerberosMessage};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = KdcProxyMessage::from_der(data) {
        let der = m.to_der().expect("a decoded message encodes");
        assert_eq!(KdcProxyMessage::from_der(&der).expect("re-decodes"), m);
        if let Ok(inner) = m.message() {
            let _ = KerberosMessage::from_der(inner);
        }
    }
});
