//! Any bytes as an MS-PAC: every count and offset is bounded before allocation.
#![no_main]

use azkrb_asn1::pac::Pac;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pac) = Pac::decode(data)
        && let Some(info) = pac.logon_info
    {
        let _ = info.group_sids();
        let _ = info.user_sid();
    }
});
