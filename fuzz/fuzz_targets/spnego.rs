//! Any bytes as a SPNEGO token (framed NegTokenInit/NegTokenInit2 or bare NegTokenResp).
#![no_main]

use azkrb_asn1::spnego::{NegotiationToken, mech_type_list_der};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = NegotiationToken::decode(data) {
        let bytes = t.encode().expect("a decoded token encodes");
        assert_eq!(NegotiationToken::decode(&bytes).expect("re-decodes"), t);
        if let Some(list) = t.mech_types() {
            let _ = mech_type_list_der(list);
        }
    }
});
