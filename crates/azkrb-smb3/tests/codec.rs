//! Codec checks on hand-built input: response decoders (fields in place, short input refused)
//! and the WRITE request layout.

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

#[test]
fn write_request_is_its_fixed_part_then_the_data() {
    use azkrb_smb3::msg::{FileId, WRITE_FIXED_LEN, write_request, write_request_fixed};
    let id = FileId([7; 16]);
    let fixed = write_request_fixed(id, 0x0102_0304_0506_0708, 5).unwrap();
    assert_eq!(fixed.len(), WRITE_FIXED_LEN);
    assert_eq!(&fixed[..2], &49u16.to_le_bytes(), "StructureSize");
    assert_eq!(&fixed[2..4], &(64u16 + 48).to_le_bytes(), "DataOffset");
    assert_eq!(&fixed[4..8], &5u32.to_le_bytes(), "Length");
    assert_eq!(&fixed[8..16], &0x0102_0304_0506_0708u64.to_le_bytes());
    assert_eq!(&fixed[16..32], &[7; 16]);
    let whole = write_request(id, 0x0102_0304_0506_0708, b"hello").unwrap();
    assert_eq!(&whole[..WRITE_FIXED_LEN], &fixed[..]);
    assert_eq!(&whole[WRITE_FIXED_LEN..], b"hello");
}
