//! The AEAD primitives of the SMB bulk path, per core, on 1 MiB messages: what
//! azkrb-smb3 uses (ring's AES-GCM, RustCrypto's AES-CCM) against RustCrypto's AES-GCM.

use std::hint::black_box;

use aes_gcm::aead::{AeadInOut, KeyInit};
use azkrb_smb3::Cipher;
use azkrb_smb3::crypto::{AeadKey, TRANSFORM_LEN, encrypt_in_place};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const SIZE: usize = 1 << 20;

fn aead(c: &mut Criterion) {
    let mut g = c.benchmark_group("smb-aead-seal-1MiB");
    g.throughput(Throughput::Bytes(SIZE as u64));
    let mut buf = vec![0x5au8; TRANSFORM_LEN + SIZE];
    for cipher in [
        Cipher::Aes256Gcm,
        Cipher::Aes128Gcm,
        Cipher::Aes128Ccm,
        Cipher::Aes256Ccm,
    ] {
        let key = AeadKey::new(cipher, &vec![7u8; cipher.key_len()]).unwrap();
        let mut n = 0u64;
        g.bench_function(BenchmarkId::new("azkrb", cipher.name()), |b| {
            b.iter(|| {
                n += 1;
                let mut nonce = [0u8; 16];
                nonce[..8].copy_from_slice(&n.to_le_bytes());
                encrypt_in_place(&key, 1, &nonce, black_box(&mut buf)).unwrap();
            })
        });
    }
    let rc256 = aes_gcm::Aes256Gcm::new_from_slice(&[7u8; 32]).unwrap();
    let rc128 = aes_gcm::Aes128Gcm::new_from_slice(&[7u8; 16]).unwrap();
    let mut body = vec![0x5au8; SIZE];
    g.bench_function(BenchmarkId::new("rustcrypto-aes-gcm", "AES-256-GCM"), |b| {
        b.iter(|| {
            rc256
                .encrypt_inout_detached(
                    &[1u8; 12].into(),
                    &[0u8; 32],
                    black_box(&mut body[..]).into(),
                )
                .unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("rustcrypto-aes-gcm", "AES-128-GCM"), |b| {
        b.iter(|| {
            rc128
                .encrypt_inout_detached(
                    &[1u8; 12].into(),
                    &[0u8; 32],
                    black_box(&mut body[..]).into(),
                )
                .unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(300)).measurement_time(std::time::Duration::from_secs(2));
    targets = aead
}
criterion_main!(benches);
