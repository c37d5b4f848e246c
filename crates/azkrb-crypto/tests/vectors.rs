//! Every known-answer vector of PROTOCOL-NOTES Part B §2.8–§2.11: RFC 3962 Appendix B,
//! RFC 3961 n-fold and MIT's DK / decrypt / checksum answers, and RFC 8009 Appendix A.

use azkrb_crypto::{EncryptionType as E, Error, Key, KeyUsage, nfold, raw};
use hex_literal::hex;

const A128: E = E::Aes128CtsHmacSha196;
const A256: E = E::Aes256CtsHmacSha196;
const S256: E = E::Aes128CtsHmacSha256128;
const S384: E = E::Aes256CtsHmacSha384192;

#[test]
fn rfc3962_pbkdf2() {
    let mut out = [0u8; 32];
    raw::pbkdf2_sha1(b"password", b"ATHENA.MIT.EDUraeburn", 1, &mut out);
    assert_eq!(
        out,
        hex!("cdedb5281bb2f801565a1122b25635150ad1f7a04bb9f3a333ecc0e2e1f70837")
    );
}

#[test]
fn rfc3962_string_to_key_all_rows() {
    let g_clef = hex!("f09d849e");
    /// (iterations, passphrase, salt, aes128 key, aes256 key)
    type Row<'a> = (u32, &'a [u8], &'a [u8], [u8; 16], [u8; 32]);
    let rows: [Row; 7] = [
        (
            1,
            b"password",
            b"ATHENA.MIT.EDUraeburn",
            hex!("42263c6e89f4fc28b8df68ee09799f15"),
            hex!("fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161"),
        ),
        (
            2,
            b"password",
            b"ATHENA.MIT.EDUraeburn",
            hex!("c651bf29e2300ac27fa469d693bdda13"),
            hex!("a2e16d16b36069c135d5e9d2e25f896102685618b95914b467c67622225824ff"),
        ),
        (
            1200,
            b"password",
            b"ATHENA.MIT.EDUraeburn",
            hex!("4c01cd46d632d01e6dbe230a01ed642a"),
            hex!("55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a"),
        ),
        (
            5,
            b"password",
            &hex!("1234567878563412"),
            hex!("e9b23d52273747dd5c35cb55be619d8e"),
            hex!("97a4e786be20d81a382d5ebc96d5909cabcdadc87ca48f574504159f16c36e31"),
        ),
        (
            1200,
            &[b'X'; 64],
            b"pass phrase equals block size",
            hex!("59d1bb789a828b1aa54ef9c2883f69ed"),
            hex!("89adee3608db8bc71f1bfbfe459486b05618b70cbae22092534e56c553ba4b34"),
        ),
        (
            1200,
            &[b'X'; 65],
            b"pass phrase exceeds block size",
            hex!("cb8005dc5f90179a7f02104c0018751d"),
            hex!("d78c5c9cb872a8c9dad4697f0bb5b2d21496c82beb2caeda2112fceea057401b"),
        ),
        (
            50,
            &g_clef,
            b"EXAMPLE.COMpianist",
            hex!("f149c1f2e154a73452d43e7fe62a56e5"),
            hex!("4b6d9839f84406df1f09cc166db4b83c571848b784a3d6bdc346589a3e393f9e"),
        ),
    ];
    for (iter, pass, salt, k128, k256) in rows {
        let k = Key::from_password_iterations(A128, pass, salt, iter).unwrap();
        assert_eq!(k.as_bytes(), k128, "aes128 iter {iter}");
        let k = Key::from_password_iterations(A256, pass, salt, iter).unwrap();
        assert_eq!(k.as_bytes(), k256, "aes256 iter {iter}");
        // The same through s2kparams, where a KDC may not ask for fewer than MIN_ITERATIONS.
        let via_kdc = Key::from_password(A256, pass, salt, Some(&iter.to_be_bytes()));
        if iter >= azkrb_crypto::MIN_ITERATIONS {
            assert_eq!(via_kdc.unwrap().as_bytes(), k256);
        } else {
            assert_eq!(
                via_kdc.unwrap_err(),
                Error::IterationCountTooSmall {
                    count: iter,
                    min: azkrb_crypto::MIN_ITERATIONS
                }
            );
        }
    }
}

#[test]
fn rfc3962_cts_vectors_through_public_api() {
    let key = hex!("636869636b656e207465726979616b69");
    let pt = hex!(
        "4920776f756c64206c696b65207468652047656e6572616c20476175277320"
        "436869636b656e2c20706c656173652c20616e6420776f6e746f6e20736f75702e"
    );
    let ct = hex!(
        "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a8"
        "4807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8"
    );
    let mut buf = pt.to_vec();
    raw::cts_encrypt(&key, &mut buf).unwrap();
    assert_eq!(buf, ct);
    raw::cts_decrypt(&key, &mut buf).unwrap();
    assert_eq!(buf, pt);
}

#[test]
fn rfc3961_nfold() {
    let cases: [(&[u8], usize, &[u8]); 8] = [
        (b"012345", 64, &hex!("be072631276b1955")),
        (b"password", 56, &hex!("78a07b6caf85fa")),
        (
            b"Rough Consensus, and Running Code",
            64,
            &hex!("bb6ed30870b7f0e0"),
        ),
        (
            b"password",
            168,
            &hex!("59e4a8ca7c0385c3c37b3f6d2000247cb6e6bd5b3e"),
        ),
        (
            b"MASSACHVSETTS INSTITVTE OF TECHNOLOGY",
            192,
            &hex!("db3b0d8f0b061e603282b308a50841229ad798fab9540c1b"),
        ),
        (
            b"Q",
            168,
            &hex!("518a54a215a8452a518a54a215a8452a518a54a215"),
        ),
        (
            b"ba",
            168,
            &hex!("fb25d531ae8974499f52fd92ea9857c4ba24cf297e"),
        ),
        (b"kerberos", 128, &hex!("6b65726265726f737b9b5b2b93132b93")),
    ];
    for (input, bits, expect) in cases {
        assert_eq!(nfold(input, bits / 8), expect, "{bits}-fold {input:?}");
    }
}

fn assert_derived(etype: E, base: &[u8], usage: u32, kc: &[u8], ke: &[u8], ki: &[u8]) {
    let key = Key::new(etype, base).unwrap();
    let (c, e, i) = raw::derived_keys(&key, KeyUsage(usage)).unwrap();
    assert_eq!(c, kc, "{etype} Kc");
    assert_eq!(e, ke, "{etype} Ke");
    assert_eq!(i, ki, "{etype} Ki");
}

#[test]
fn mit_dk_usage_2() {
    assert_derived(
        A128,
        &hex!("42263C6E89F4FC28B8DF68EE09799F15"),
        2,
        &hex!("34280A382BC92769B2DA2F9EF066854B"),
        &hex!("5B14FC4E250E14DDF9DCCF1AF6674F53"),
        &hex!("4ED31063621684F09AE8D89991AF3E8F"),
    );
    assert_derived(
        A256,
        &hex!("FE697B52BC0D3CE14432BA036A92E65BBB52280990A2FA27883998D72AF30161"),
        2,
        &hex!("BFAB388BDCB238E9F9C98D6A878304F04D30C82556375AC507A7A852790F4674"),
        &hex!("C7CFD9CD75FE793A586A542D87E0D1396F1134A104BB1A9190B8C90ADA3DDF37"),
        &hex!("97151B4C76945063E2EB0529DC067D97D7BBA90776D8126D91F34F3101AEA8BA"),
    );
}

#[test]
fn mit_decrypt_answers() {
    let key = Key::new(A128, &hex!("9062430C8CDA3388922E6D6A509F5B7A")).unwrap();
    let ct = hex!("68FB9679601F45C78857B2BF820FD6E53ECA8D42FD4B1D7024A09205ABB7CD2EC26C355D2F");
    assert_eq!(&key.decrypt(KeyUsage(2), &ct).unwrap()[..], b"9 bytesss");

    let key = Key::new(
        A256,
        &hex!("F1C795E9248A09338D82C3F8D5B567040B0110736845041347235B1404231398"),
    )
    .unwrap();
    let ct = hex!(
        "D1137A4D634CFECE924DBC3BF6790648BD5CFF7DE0E7B99460211D0DAEF3D79A"
        "295C688858F3B34B9CBD6EEBAE81DAF6B734D4D498B6714F1C1D"
    );
    assert_eq!(
        &key.decrypt(KeyUsage(4), &ct).unwrap()[..],
        b"30 bytes bytes bytes bytes byt"
    );
}

#[test]
fn mit_checksum_answers() {
    let key = Key::new(A128, &hex!("9062430C8CDA3388922E6D6A509F5B7A")).unwrap();
    let msg = b"eight nine ten eleven twelve thirteen";
    let sum = key.checksum(KeyUsage(3), msg).unwrap();
    assert_eq!(sum, hex!("01A4B088D45628F6946614E3"));
    key.verify_checksum(KeyUsage(3), 15, msg, &sum).unwrap();

    let key = Key::new(
        A256,
        &hex!("B1AE4CD8462AFF1677053CC9279AAC30B796FB81CE21474DD3DDBCFEA4EC76D7"),
    )
    .unwrap();
    let sum = key.checksum(KeyUsage(4), b"fourteen").unwrap();
    assert_eq!(sum, hex!("E08739E3279E2903EC8E3836"));
    key.verify_checksum(KeyUsage(4), 16, b"fourteen", &sum)
        .unwrap();
    assert_eq!(
        key.verify_checksum(KeyUsage(4), 16, b"fifteen", &sum),
        Err(Error::ChecksumMismatch {
            ctype: 16,
            usage: 4
        })
    );
    assert!(matches!(
        key.verify_checksum(KeyUsage(4), 15, b"fourteen", &sum),
        Err(Error::ChecksumTypeMismatch { .. })
    ));
}

/// RFC 8009 Appendix A: the "random 16 bytes" salt prefix.
const SALT8009: [u8; 37] =
    hex!("10DF9DD783E5BC8ACEA1730E74355F61 415448454e412e4d49542e4544557261656275726e");

#[test]
fn rfc8009_string_to_key() {
    let k = Key::from_password(S256, b"password", &SALT8009, None).unwrap();
    assert_eq!(k.as_bytes(), hex!("089bca48b105ea6ea77ca5d2f39dc5e7"));
    let k = Key::from_password(S384, b"password", &SALT8009, Some(&hex!("00008000"))).unwrap();
    assert_eq!(
        k.as_bytes(),
        hex!("45bd806dbf6a833a9cffc1c94589a222367a79bc21c413718906e9f578a78467")
    );
}

#[test]
fn rfc8009_key_derivation() {
    assert_derived(
        S256,
        &hex!("3705d96080c17728a0e800eab6e0d23c"),
        2,
        &hex!("b31a018a48f54776f403e9a396325dc3"),
        &hex!("9b197dd1e8c5609d6e67c3e37c62c72e"),
        &hex!("9fda0e56ab2d85e1569a688696c26a6c"),
    );
    assert_derived(
        S384,
        &hex!("6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52"),
        2,
        &hex!("ef5718be86cc84963d8bbb5031e9f5c4ba41f28faf69e73d"),
        &hex!("56ab22bee63d82d7bc5227f6773f8ea7a5eb1c825160c38312980c442e5c7e49"),
        &hex!("69b16514e3cd8e56b82010d5c73012b622c4d00ffc23ed1f"),
    );
}

#[test]
fn rfc8009_checksums() {
    let msg = hex!("000102030405060708090a0b0c0d0e0f1011121314");
    let k = Key::new(S256, &hex!("3705d96080c17728a0e800eab6e0d23c")).unwrap();
    let sum = k.checksum(KeyUsage(2), &msg).unwrap();
    assert_eq!(sum, hex!("d78367186643d67b411cba9139fc1dee"));
    k.verify_checksum(KeyUsage(2), 19, &msg, &sum).unwrap();
    let k = Key::new(
        S384,
        &hex!("6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52"),
    )
    .unwrap();
    let sum = k.checksum(KeyUsage(2), &msg).unwrap();
    assert_eq!(
        sum,
        hex!("45ee791567eefca37f4ac1e0222de80d43c3bfa06699672a")
    );
    k.verify_checksum(KeyUsage(2), 20, &msg, &sum).unwrap();
}

fn check_8009_encryption(etype: E, base: &[u8], cases: &[(&[u8], [u8; 16], &[u8])]) {
    let key = Key::new(etype, base).unwrap();
    for (plain, confounder, cipher) in cases {
        let ct = key
            .encrypt_with_confounder(KeyUsage(2), confounder, plain)
            .unwrap();
        assert_eq!(&ct, cipher, "{etype} encrypt of {} bytes", plain.len());
        assert_eq!(&key.decrypt(KeyUsage(2), cipher).unwrap()[..], *plain);
    }
}

#[test]
fn rfc8009_encryption_aes128_sha256() {
    check_8009_encryption(
        S256,
        &hex!("3705d96080c17728a0e800eab6e0d23c"),
        &[
            (
                &[],
                hex!("7e5895eaf2672435bad817f545a37148"),
                &hex!("ef85fb890bb8472f4dab20394dca781dad877eda39d50c870c0d5a0a8e48c718"),
            ),
            (
                &hex!("000102030405"),
                hex!("7bca285e2fd4130fb55b1a5c83bc5b24"),
                &hex!(
                    "84d7f30754ed987bab0bf3506beb09cfb55402cef7e6877ce99e247e52d16ed4421dfdf8976c"
                ),
            ),
            (
                &hex!("000102030405060708090a0b0c0d0e0f"),
                hex!("56ab21713ff62c0a1457200f6fa9948f"),
                &hex!(
                    "3517d640f50ddc8ad3628722b3569d2ae07493fa8263254080ea65c1008e8fc2"
                    "95fb4852e7d83e1e7c48c37eebe6b0d3"
                ),
            ),
            (
                &hex!("000102030405060708090a0b0c0d0e0f1011121314"),
                hex!("a7a4e29a4728ce10664fb64e49ad3fac"),
                &hex!(
                    "720f73b18d9859cd6ccb4346115cd336c70f58edc0c4437c5573544c31c813bc"
                    "e1e6d072c186b39a413c2f92ca9b8334a287ffcbfc"
                ),
            ),
        ],
    );
}

#[test]
fn rfc8009_encryption_aes256_sha384() {
    check_8009_encryption(
        S384,
        &hex!("6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52"),
        &[
            (
                &[],
                hex!("f764e9fa15c276478b2c7d0c4e5f58e4"),
                &hex!(
                    "41f53fa5bfe7026d91faf9be959195a058707273a96a40f0a01960621ac612748b9bbfbe7eb4ce3c"
                ),
            ),
            (
                &hex!("000102030405"),
                hex!("b80d3251c1f6471494256ffe712d0b9a"),
                &hex!(
                    "4ed7b37c2bcac8f74f23c1cf07e62bc7b75fb3f637b9f559c7f664f69eab7b60"
                    "92237526ea0d1f61cb20d69d10f2"
                ),
            ),
            (
                &hex!("000102030405060708090a0b0c0d0e0f"),
                hex!("53bf8a0d105265d4e276428624ce5e63"),
                &hex!(
                    "bc47ffec7998eb91e8115cf8d19dac4bbbe2e163e87dd37f49beca92027764f6"
                    "8cf51f14d798c2273f35df574d1f932e40c4ff255b36a266"
                ),
            ),
            (
                &hex!("000102030405060708090a0b0c0d0e0f1011121314"),
                hex!("763e65367e864f02f55153c7e3b58af1"),
                &hex!(
                    "40013e2df58e8751957d2878bcd2d6fe101ccfd556cb1eae79db3c3ee86429f2"
                    "b2a602ac86fef6ecb647d6295fae077a1feb517508d2c16b4192e01f62"
                ),
            ),
        ],
    );
}

#[test]
fn unsupported_and_malformed_inputs_are_clear_errors() {
    for n in [1, 3, 16, 23, 24, 25, 26, -128, 0, 99] {
        let err = E::try_from(n).unwrap_err();
        assert_eq!(err, Error::UnsupportedEtype(n));
        assert!(err.to_string().contains("not supported"), "{err}");
    }
    assert!(
        Error::UnsupportedEtype(23)
            .to_string()
            .contains("rc4-hmac (23)")
    );
    assert!(Key::from_wire(23, &[0; 16]).is_err());
    assert!(matches!(
        Key::new(A256, &[0; 16]),
        Err(Error::InvalidKeyLength {
            expected: 32,
            got: 16,
            ..
        })
    ));
    // s2kparams: wrong length, absurd counts, and the all-zero "2^32" value.
    assert_eq!(
        Key::from_password(A256, b"p", b"s", Some(&[0, 1])).unwrap_err(),
        Error::InvalidS2kParams(2)
    );
    for params in [hex!("00000000"), hex!("ffffffff"), hex!("01000001")] {
        assert!(matches!(
            Key::from_password(A256, b"p", b"s", Some(&params)),
            Err(Error::IterationCountTooLarge { .. })
        ));
    }
    let key = Key::random(A256).unwrap();
    for len in 0..28 {
        assert!(matches!(
            key.decrypt(KeyUsage(1), &vec![0u8; len]),
            Err(Error::CiphertextTooShort { min: 28, .. })
        ));
    }
}

#[test]
fn debug_never_prints_key_bytes() {
    let key = Key::new(A256, &[0xAB; 32]).unwrap();
    let shown = format!("{key:?}");
    assert!(!shown.to_lowercase().contains("ab, ") && !shown.contains("171"));
    assert!(shown.contains("redacted"));
}
