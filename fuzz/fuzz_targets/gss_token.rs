//! Any bytes as the GSS-API krb5 framings: initial context token, krb5 token, MIC and Wrap
//! tokens and the 0x8003 authenticator checksum.
#![no_main]

use azkrb_asn1::gss::{GssChecksum, InitialContextToken, Krb5Token, MicToken, WrapToken};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = InitialContextToken::decode(data) {
        assert_eq!(
            InitialContextToken::decode(&t.encode()).expect("re-decodes"),
            t
        );
    }
    let _ = Krb5Token::decode(data);
    if let Ok(t) = MicToken::decode(data) {
        assert_eq!(t.encode(), data);
    }
    if let Ok(t) = WrapToken::decode(data) {
        assert_eq!(t.encode(), data);
    }
    if let Ok(c) = GssChecksum::decode(data) {
        assert_eq!(c.encode().expect("encodes"), data);
    }
});
