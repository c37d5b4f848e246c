//! Any bytes as every SMB2 response decoder and as an encrypted message for the
//! TRANSFORM_HEADER decrypt path: an error, never a panic.
#![no_main]

use azkrb_smb3::Cipher;
use azkrb_smb3::crypto::{self, AeadKey};
use azkrb_smb3::msg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = msg::Header::decode(data);
    let _ = msg::NegotiateResponse::decode(data);
    let _ = msg::session_setup_response(data);
    let _ = msg::tree_connect_response(data);
    let _ = msg::create_response(data);
    let _ = msg::break_notice(data);
    let _ = msg::tree_connect_capabilities(data);
    // The length asked for bounds the answer: the largest, and a small one.
    for asked in [u32::MAX, 100] {
        let _ = msg::read_response(data, asked);
        let _ = msg::query_directory_response(data, asked);
        let _ = msg::query_info_response(data, asked);
        let _ = msg::ioctl_response(data, asked);
    }
    let _ = msg::write_response(data);
    let _ = msg::FileInfo::decode(data);
    let _ = msg::FsSize::decode(data);
    let _ = crypto::parse_transform(data);
    for cipher in [
        Cipher::Aes128Ccm,
        Cipher::Aes128Gcm,
        Cipher::Aes256Ccm,
        Cipher::Aes256Gcm,
    ] {
        let key = AeadKey::new(cipher, &vec![7u8; cipher.key_len()]).expect("key");
        let mut buf = data.to_vec();
        let _ = crypto::decrypt(&key, &mut buf);
    }
    let _ = crypto::verify(crypto::SigningAlgorithm::AesCmac, &[1; 16], data, true);
    let _ = crypto::verify(crypto::SigningAlgorithm::AesGmac, &[1; 16], data, true);
});
