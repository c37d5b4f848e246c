//! Response decoders on hand-built input: fields in place, short input refused.

#[test]
fn fs_full_size_information_decodes_and_refuses_short_input() {
    let mut b = Vec::new();
    b.extend_from_slice(&1000u64.to_le_bytes());
    b.extend_from_slice(&250u64.to_le_bytes());
    b.extend_from_slice(&300u64.to_le_bytes());
    b.extend_from_slice(&8u32.to_le_bytes());
    b.extend_from_slice(&512u32.to_le_bytes());
    let fs = azkrb_smb3::msg::FsSize::decode(&b).unwrap();
    assert_eq!(fs.total_units, 1000);
    assert_eq!(fs.caller_available_units, 250);
    assert_eq!(fs.actual_available_units, 300);
    assert_eq!(fs.unit_bytes(), 4096);
    for n in 0..b.len() {
        assert!(
            azkrb_smb3::msg::FsSize::decode(&b[..n]).is_err(),
            "{n} bytes"
        );
    }
}
