//! Any bytes as a self-relative security descriptor (what a server's QUERY_INFO SECURITY
//! answer carries), and any text as SDDL and as an icacls entry: an error or a value, never
//! a panic. What decodes re-encodes to bytes that decode to the same value, and its text
//! forms read back to it.
#![no_main]

use azkrb_acl::{SecurityDescriptor, acl::ACCESS_ALLOWED, icacls, inherit, sddl};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(sd) = SecurityDescriptor::from_bytes(data) {
        let bytes = sd.to_bytes().expect("a decoded descriptor encodes");
        assert_eq!(
            SecurityDescriptor::from_bytes(&bytes).expect("re-decodes"),
            sd
        );
        if let Ok(text) = sddl::to_string(&sd) {
            assert_eq!(
                sddl::parse(&text).expect("its SDDL reads back"),
                sddl::expressible(&sd),
                "{text}"
            );
        }
        if let Some(dacl) = &sd.dacl {
            for ace in &dacl.aces {
                let _ = icacls::ace_text(ace, &|_| None);
            }
            let _ = inherit::inherited(dacl, true, sd.owner.as_ref(), sd.group.as_ref());
            let _ = inherit::reinherit(&sd, dacl, false);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = sddl::parse(text);
        let _ = icacls::parse_ace(text, ACCESS_ALLOWED, &|_| None);
    }
});
