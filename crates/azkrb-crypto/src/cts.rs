//! AES in CBC mode with ciphertext stealing, exactly as Kerberos defines it (RFC 3962 §5,
//! RFC 8009 §5): CBC-CS3 with a zero IV, where the last two blocks are always swapped, and a
//! single-block message is plain CBC (one AES encryption), not CS3's double encryption.

use aes::{Aes128, Aes256};
use cipher::consts::U16;
use cipher::{
    Array, BlockCipherDecrypt, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt,
    BlockSizeUser,
};

use crate::error::{Error, Result};

const B: usize = 16;

/// An expanded AES key of either size.
// The size difference is a few hundred bytes in a value cached once per key usage; boxing
// would add an indirection to every block operation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Aes {
    A128(Aes128),
    A256(Aes256),
}

impl Aes {
    /// Expands a 16- or 32-byte key; other lengths are caught earlier by `Key`.
    pub(crate) fn new(key: &[u8]) -> Option<Self> {
        use cipher::KeyInit;
        match key.len() {
            16 => Aes128::new_from_slice(key).ok().map(Self::A128),
            32 => Aes256::new_from_slice(key).ok().map(Self::A256),
            _ => None,
        }
    }

    pub(crate) fn encrypt_block(&self, block: &mut [u8; B]) {
        let b: &mut Array<u8, U16> = block.into();
        match self {
            Self::A128(c) => c.encrypt_block(b),
            Self::A256(c) => c.encrypt_block(b),
        }
    }

    fn decrypt_block(&self, block: &mut [u8; B]) {
        let b: &mut Array<u8, U16> = block.into();
        match self {
            Self::A128(c) => c.decrypt_block(b),
            Self::A256(c) => c.decrypt_block(b),
        }
    }

    /// ECB-decrypts whole blocks from `input` into `out` (the AES backend pipelines
    /// several blocks at once). Both hold the same number of whole blocks.
    fn decrypt_blocks_b2b(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        let (inb, _) = Array::slice_as_chunks(input);
        let (outb, _) = Array::slice_as_chunks_mut(out);
        let r = match self {
            Self::A128(c) => c.decrypt_blocks_b2b(inb, outb),
            Self::A256(c) => c.decrypt_blocks_b2b(inb, outb),
        };
        r.map_err(|_| Error::CtsInputTooShort(input.len()))
    }

    /// CBC-encrypts whole blocks in place from `iv`; returns the last ciphertext block.
    /// (CBC encryption is serial by nature: one block at a time, on the AES backend chosen
    /// once for the whole run.)
    fn cbc_encrypt(&self, iv: [u8; B], data: &mut [u8]) -> [u8; B] {
        let (blocks, _) = data.as_chunks_mut::<B>();
        let mut run = CbcEncrypt { chain: iv, blocks };
        match self {
            Self::A128(c) => c.encrypt_with_backend(&mut run),
            Self::A256(c) => c.encrypt_with_backend(&mut run),
        }
        run.chain
    }

    /// CBC-decrypts whole blocks from `input` into `out` with a zero IV.
    fn cbc_decrypt_b2b(&self, input: &[u8], out: &mut [u8]) -> Result<()> {
        self.decrypt_blocks_b2b(input, out)?;
        let (outb, _) = out.as_chunks_mut::<B>();
        let (inb, _) = input.as_chunks::<B>();
        for (block, prev) in outb.iter_mut().skip(1).zip(inb) {
            xor(block, prev);
        }
        Ok(())
    }
}

/// One CBC encryption pass, run inside the cipher's backend.
struct CbcEncrypt<'a> {
    chain: [u8; B],
    blocks: &'a mut [[u8; B]],
}

impl BlockSizeUser for &mut CbcEncrypt<'_> {
    type BlockSize = U16;
}

impl BlockCipherEncClosure for &mut CbcEncrypt<'_> {
    fn call<Be: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &Be) {
        // The chaining value stays in a register for the whole run.
        let mut chain = Array::<u8, U16>::from(self.chain);
        for block in self.blocks.iter_mut() {
            let input = u128::from_ne_bytes(*block) ^ u128::from_ne_bytes(chain.0);
            chain = Array::from(input.to_ne_bytes());
            backend.encrypt_block_inplace(&mut chain);
            *block = chain.0;
        }
        self.chain = chain.0;
    }
}

fn xor(a: &mut [u8; B], b: &[u8; B]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

/// Splits `buf` (len > 16) into the prefix of whole blocks before the last two, the
/// second-to-last block, and the final 1..=16 bytes.
fn split_tail(buf: &mut [u8]) -> Result<(&mut [u8], &mut [u8; B], &mut [u8])> {
    let len = buf.len();
    let r = len.saturating_sub(1) % B + 1; // bytes in the last (possibly partial) block
    let prefix_len = len.checked_sub(r + B).ok_or(Error::CtsInputTooShort(len))?;
    let (prefix, rest) = buf.split_at_mut(prefix_len);
    let (penult, last) = rest
        .split_first_chunk_mut::<B>()
        .ok_or(Error::CtsInputTooShort(len))?;
    Ok((prefix, penult, last))
}

/// Encrypts `buf` in place with AES-CTS and a zero IV. `buf` must be at least 16 bytes.
pub(crate) fn encrypt(aes: &Aes, buf: &mut [u8]) -> Result<()> {
    match buf.len() {
        n if n < B => Err(Error::CtsInputTooShort(n)),
        B => {
            let block: &mut [u8; B] = buf.try_into().map_err(|_| Error::CtsInputTooShort(B))?;
            aes.encrypt_block(block);
            Ok(())
        }
        _ => {
            let (prefix, penult, last) = split_tail(buf)?;
            let chain = aes.cbc_encrypt([0; B], prefix);
            // E(n-1) = AES(P(n-1) ^ C(n-2))
            let mut e_penult = *penult;
            xor(&mut e_penult, &chain);
            aes.encrypt_block(&mut e_penult);
            // E(n) = AES(zero-padded P(n) ^ E(n-1))
            let mut e_last = [0u8; B];
            e_last[..last.len()].copy_from_slice(last);
            xor(&mut e_last, &e_penult);
            aes.encrypt_block(&mut e_last);
            // Output order: ..., E(n), E(n-1) truncated to the final block's length.
            *penult = e_last;
            let r = last.len();
            last.copy_from_slice(&e_penult[..r]);
            Ok(())
        }
    }
}

/// Decrypts `input` into `out` (of the same length) with AES-CTS and a zero IV. The
/// input must be at least 16 bytes.
pub(crate) fn decrypt_b2b(aes: &Aes, input: &[u8], out: &mut [u8]) -> Result<()> {
    let len = input.len();
    if len < B || out.len() != len {
        return Err(Error::CtsInputTooShort(len.min(out.len())));
    }
    let r = (len - 1) % B + 1; // bytes in the last (possibly partial) block
    if len == B {
        let mut block = [0u8; B];
        block.copy_from_slice(input);
        aes.decrypt_block(&mut block);
        out.copy_from_slice(&block);
        return Ok(());
    }
    let prefix_len = len - r - B;
    let (in_prefix, in_rest) = input.split_at(prefix_len);
    let (e_last, tail) = in_rest
        .split_first_chunk::<B>()
        .ok_or(Error::CtsInputTooShort(len))?;
    let (out_prefix, out_rest) = out.split_at_mut(prefix_len);
    let (p_penult_out, p_last_out) = out_rest
        .split_first_chunk_mut::<B>()
        .ok_or(Error::CtsInputTooShort(len))?;
    // The chaining value for the second-to-last plaintext block.
    let chain = in_prefix.last_chunk::<B>().copied().unwrap_or([0; B]);
    // in_rest holds E(n) then E(n-1)[..r].
    let mut d = *e_last;
    aes.decrypt_block(&mut d); // = zero-padded P(n) ^ E(n-1)
    let mut e_penult = d;
    e_penult[..r].copy_from_slice(tail);
    for (p, (x, c)) in p_last_out.iter_mut().zip(d.iter().zip(tail)) {
        *p = x ^ c;
    }
    let mut p_penult = e_penult;
    aes.decrypt_block(&mut p_penult);
    xor(&mut p_penult, &chain);
    *p_penult_out = p_penult;
    aes.cbc_decrypt_b2b(in_prefix, out_prefix)
}

/// Decrypts `buf` in place with AES-CTS and a zero IV. `buf` must be at least 16 bytes.
pub(crate) fn decrypt(aes: &Aes, buf: &mut [u8]) -> Result<()> {
    let input = buf.to_vec();
    decrypt_b2b(aes, &input, buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// RFC 3962 Appendix B: AES-128 CTS with key "chicken teriyaki" and a zero IV.
    #[test]
    fn rfc3962_cts_vectors() {
        let aes = Aes::new(&hex!("636869636b656e207465726979616b69")).unwrap();
        let cases: [(&[u8], &[u8]); 6] = [
            (
                &hex!("4920776f756c64206c696b652074686520"),
                &hex!("c6353568f2bf8cb4d8a580362da7ff7f97"),
            ),
            (
                &hex!("4920776f756c64206c696b65207468652047656e6572616c20476175277320"),
                &hex!("fc00783e0efdb2c1d445d4c8eff7ed2297687268d6ecccc0c07b25e25ecfe5"),
            ),
            (
                &hex!("4920776f756c64206c696b65207468652047656e6572616c2047617527732043"),
                &hex!("39312523a78662d5be7fcbcc98ebf5a897687268d6ecccc0c07b25e25ecfe584"),
            ),
            (
                &hex!(
                    "4920776f756c64206c696b65207468652047656e6572616c20476175277320"
                    "436869636b656e2c20706c656173652c"
                ),
                &hex!(
                    "97687268d6ecccc0c07b25e25ecfe584b3fffd940c16a18c1b5549d2f838029e"
                    "39312523a78662d5be7fcbcc98ebf5"
                ),
            ),
            (
                &hex!(
                    "4920776f756c64206c696b65207468652047656e6572616c20476175277320"
                    "436869636b656e2c20706c656173652c20"
                ),
                &hex!(
                    "97687268d6ecccc0c07b25e25ecfe5849dad8bbb96c4cdc03bc103e1a194bbd8"
                    "39312523a78662d5be7fcbcc98ebf5a8"
                ),
            ),
            (
                &hex!(
                    "4920776f756c64206c696b65207468652047656e6572616c20476175277320"
                    "436869636b656e2c20706c656173652c20616e6420776f6e746f6e20736f75702e"
                ),
                &hex!(
                    "97687268d6ecccc0c07b25e25ecfe58439312523a78662d5be7fcbcc98ebf5a8"
                    "4807efe836ee89a526730dbc2f7bc8409dad8bbb96c4cdc03bc103e1a194bbd8"
                ),
            ),
        ];
        for (pt, ct) in cases {
            let mut buf = pt.to_vec();
            encrypt(&aes, &mut buf).unwrap();
            assert_eq!(buf, ct, "encrypt {} bytes", pt.len());
            decrypt(&aes, &mut buf).unwrap();
            assert_eq!(buf, pt, "decrypt {} bytes", pt.len());
        }
    }

    #[test]
    fn one_block_is_plain_aes_and_short_input_is_an_error() {
        let aes = Aes::new(&[7u8; 32]).unwrap();
        let mut one = [0x42u8; 16];
        let mut expect = one;
        aes.encrypt_block(&mut expect);
        encrypt(&aes, &mut one).unwrap();
        assert_eq!(one, expect);
        decrypt(&aes, &mut one).unwrap();
        assert_eq!(one, [0x42u8; 16]);
        for n in 0..16 {
            let mut short = vec![0u8; n];
            assert_eq!(encrypt(&aes, &mut short), Err(Error::CtsInputTooShort(n)));
            assert_eq!(decrypt(&aes, &mut short), Err(Error::CtsInputTooShort(n)));
        }
    }

    #[test]
    fn round_trips_every_length() {
        let aes = Aes::new(&[9u8; 16]).unwrap();
        for n in 16..200 {
            let pt: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let mut buf = pt.clone();
            encrypt(&aes, &mut buf).unwrap();
            assert_ne!(buf, pt);
            decrypt(&aes, &mut buf).unwrap();
            assert_eq!(buf, pt, "length {n}");
        }
    }
}
