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

/// A QUERY_DIRECTORY response: header, then the 8-byte body and `entries` at offset 72.
fn directory_response(entries: &[u8]) -> Vec<u8> {
    let mut m = vec![0u8; 64];
    m[..4].copy_from_slice(&[0xfe, b'S', b'M', b'B']);
    m.extend_from_slice(&9u16.to_le_bytes());
    m.extend_from_slice(&72u16.to_le_bytes());
    m.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    m.extend_from_slice(entries);
    m
}

/// One FileIdBothDirectoryInformation entry named `name` (UTF-16), with NextEntryOffset.
fn dir_entry(next: u32, name: &str) -> Vec<u8> {
    let n: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut e = vec![0u8; 104];
    e[..4].copy_from_slice(&next.to_le_bytes());
    e[60..64].copy_from_slice(&(n.len() as u32).to_le_bytes());
    e.extend_from_slice(&n);
    e
}

#[test]
fn directory_entries_may_not_overlap_or_exceed_the_output_asked_for() {
    use azkrb_smb3::msg::query_directory_response;
    // Two honest entries.
    let mut a = dir_entry(120, "a.txt");
    a.resize(120, 0);
    a.extend_from_slice(&dir_entry(0, "b"));
    let entries = query_directory_response(&directory_response(&a), 65536).unwrap();
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a.txt", "b"]);
    // More than was asked for.
    assert!(query_directory_response(&directory_response(&a), 100).is_err());
    // The amplification: each entry 8 bytes after the last, its name running to the end
    // of the buffer (before, a 1 MiB reply decoded ~len^2/208 bytes of names).
    let len = 4096;
    let mut evil = vec![0u8; len];
    for at in (0..len - 104).step_by(8) {
        evil[at..at + 4].copy_from_slice(&8u32.to_le_bytes());
        let name_len = ((len - at - 104) & !1) as u32;
        evil[at + 60..at + 64].copy_from_slice(&name_len.to_le_bytes());
    }
    let e = query_directory_response(&directory_response(&evil), 65536).unwrap_err();
    assert!(e.to_string().contains("overlaps"), "{e}");
    // Misaligned, or pointing past the buffer.
    let mut m = dir_entry(113, "a");
    m.resize(200, 0);
    assert!(query_directory_response(&directory_response(&m), 65536).is_err());
    let m = dir_entry(4096, "a");
    assert!(query_directory_response(&directory_response(&m), 65536).is_err());
}

/// A READ response with `data` at offset 80 claiming `claimed` bytes.
fn read_resp(data: &[u8], offset: u8, claimed: u32) -> Vec<u8> {
    let mut m = vec![0u8; 64];
    m[..4].copy_from_slice(&[0xfe, b'S', b'M', b'B']);
    m.extend_from_slice(&17u16.to_le_bytes());
    m.push(offset);
    m.push(0);
    m.extend_from_slice(&claimed.to_le_bytes());
    m.extend_from_slice(&[0; 8]);
    m.extend_from_slice(data);
    m
}

#[test]
fn a_read_longer_than_asked_or_inside_the_header_is_refused() {
    use azkrb_smb3::msg::read_response;
    let m = read_resp(b"hello", 80, 5);
    assert_eq!(read_response(&m, 5).unwrap(), 80..85);
    assert_eq!(read_response(&m, 4096).unwrap(), 80..85);
    let e = read_response(&m, 4).unwrap_err();
    assert!(e.to_string().contains("4 were asked"), "{e}");
    // Data "at" offset 0: the header itself handed out as file bytes.
    assert!(read_response(&read_resp(b"hello", 0, 5), 4096).is_err());
    // Claiming more than arrived.
    assert!(read_response(&read_resp(b"hello", 80, 6), 4096).is_err());
}

#[test]
fn lengths_too_large_for_their_fields_are_refused_not_cut() {
    use azkrb_smb3::msg::{create_request, rename_info, session_setup_request};
    // 32,768 UTF-16 units: 65,536 bytes, one more than the u16 NameLength holds. Cut by a
    // cast, the server would act on a prefix (another file).
    let long = "a/".repeat(16_384);
    assert!(create_request(&long, 0, 1, 0).is_err());
    assert!(create_request(&long[1..], 0, 1, 0).is_ok());
    assert!(rename_info(&long, false).is_err());
    assert!(session_setup_request(&vec![0; 65_536]).is_err());
}
