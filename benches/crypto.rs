//! azkrb-crypto against the cost floor of its raw primitives.
//!
//! Run with `benches/crypto-compare` to get these figures side by side with MIT krb5's own
//! library measured in the same run (see BENCHMARKS.md).

use std::hint::black_box;

use aes::Aes256;
use azkrb_crypto::{EncryptionType, Key, KeyUsage};
use cbc::cipher::{Array, BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

const SIZES: [usize; 4] = [64, 1024, 64 * 1024, 1024 * 1024];
const SALT: &[u8] = b"KERBEROS.MICROSOFTONLINE.COMalice";

fn string_to_key(c: &mut Criterion) {
    let mut g = c.benchmark_group("s2k");
    g.sample_size(30);
    g.bench_function("azkrb/aes256-sha1-4096", |b| {
        b.iter(|| {
            Key::from_password_iterations(
                EncryptionType::Aes256CtsHmacSha196,
                black_box(b"correct horse battery staple"),
                SALT,
                4096,
            )
        })
    });
    g.bench_function("azkrb/aes256-sha384-32768", |b| {
        b.iter(|| {
            Key::from_password_iterations(
                EncryptionType::Aes256CtsHmacSha384192,
                black_box(b"correct horse battery staple"),
                SALT,
                32768,
            )
        })
    });
    // Floor: PBKDF2-HMAC-SHA1 with 4096 iterations for a 32-byte key is two 20-byte blocks,
    // each iteration two compressions: 16,384 SHA-1 compressions.
    g.bench_function("floor/sha1-16384-compressions", |b| {
        let block = [[0x5au8; 64]];
        b.iter(|| {
            let mut state = [
                0x6745_2301u32,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ];
            for _ in 0..16_384 {
                sha1::block_api::compress(&mut state, black_box(&block));
            }
            state
        })
    });
    // Floor for RFC 8009 aes256: one 48-byte SHA-384 block covers the key, 32,768
    // iterations of two compressions: 65,536 SHA-512 compressions.
    g.bench_function("floor/sha512-65536-compressions", |b| {
        let block = [[0x5au8; 128]];
        b.iter(|| {
            let mut state = [0u64; 8];
            for _ in 0..65_536 {
                sha2::block_api::compress512(&mut state, black_box(&block));
            }
            state
        })
    });
    g.finish();
}

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 131 % 251) as u8).collect()
}

fn encrypt_decrypt(c: &mut Criterion) {
    for etype in [
        EncryptionType::Aes256CtsHmacSha196,
        EncryptionType::Aes256CtsHmacSha384192,
    ] {
        let key = Key::new(etype, &[0x42; 32]).unwrap();
        let usage = KeyUsage::AP_REQ_AUTHENTICATOR;
        let mut g = c.benchmark_group(format!("encrypt/{}", etype.name()));
        for size in SIZES {
            let msg = message(size);
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(BenchmarkId::new("azkrb", size), &msg, |b, m| {
                b.iter(|| key.encrypt(usage, black_box(m)).unwrap())
            });
        }
        g.finish();
        let mut g = c.benchmark_group(format!("decrypt/{}", etype.name()));
        for size in SIZES {
            let ct = key.encrypt(usage, &message(size)).unwrap();
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(BenchmarkId::new("azkrb", size), &ct, |b, ct| {
                b.iter(|| key.decrypt(usage, black_box(ct)).unwrap())
            });
        }
        g.finish();
    }
}

/// The floor for etype 18: AES-256-CBC plus HMAC-SHA1 over the same confounder‖message
/// bytes, keys already expanded, RustCrypto's primitives called directly.
fn floor(c: &mut Criterion) {
    let aes_key = Array::from([0x11u8; 32]);
    let iv = Array::from([0u8; 16]);
    let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&[0x22; 32]).unwrap();
    for (name, decrypt) in [("floor-encrypt", false), ("floor-decrypt", true)] {
        let mut g = c.benchmark_group(format!("{name}/aes256-cbc+hmac-sha1"));
        for size in SIZES {
            // Whole blocks covering confounder + message.
            let mut buf = vec![0x33u8; (16 + size).div_ceil(16) * 16];
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_function(BenchmarkId::new("raw", size), |b| {
                b.iter(|| {
                    let mut m = mac.clone();
                    m.update(&buf);
                    let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
                    if decrypt {
                        cbc::Decryptor::<Aes256>::new(&aes_key, &iv).decrypt_blocks(blocks);
                    } else {
                        cbc::Encryptor::<Aes256>::new(&aes_key, &iv).encrypt_blocks(blocks);
                    }
                    m.finalize()
                })
            });
        }
        g.finish();
    }
}

fn checksum(c: &mut Criterion) {
    let mut g = c.benchmark_group("checksum");
    let msg = message(1024);
    g.throughput(Throughput::Bytes(1024));
    for etype in [
        EncryptionType::Aes256CtsHmacSha196,
        EncryptionType::Aes256CtsHmacSha384192,
    ] {
        let key = Key::new(etype, &[0x42; 32]).unwrap();
        g.bench_function(
            BenchmarkId::new(format!("azkrb/{}", etype.name()), 1024),
            |b| b.iter(|| key.checksum(KeyUsage(6), black_box(&msg)).unwrap()),
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = string_to_key, encrypt_decrypt, floor, checksum
}
criterion_main!(benches);
