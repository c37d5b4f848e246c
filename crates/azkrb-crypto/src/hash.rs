//! HMAC and PBKDF2 built directly on the SHA compression functions.
//!
//! Kerberos needs HMAC with a fixed key many times over (PBKDF2 runs 4,096 to 32,768
//! iterations; every encrypt and checksum is one HMAC under a cached derived key). Keeping the
//! keyed inner and outer states and calling the compression function directly makes one
//! PBKDF2 iteration exactly two compressions, the cost floor, and makes a cached HMAC key a
//! plain copy of two small states.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A Merkle–Damgård hash given by its compression function.
pub(crate) trait RawHash {
    /// Block size in bytes (64 or 128).
    const BLOCK: usize;
    /// Digest size in bytes.
    const OUT: usize;
    /// Size of the big-endian message-length field in the final block (8 or 16 bytes).
    const LEN_FIELD: usize;
    /// The chaining state.
    type State: Copy + Zeroize;
    /// The standard initial state.
    const INIT: Self::State;
    /// Compresses whole blocks; `blocks.len()` is a multiple of `BLOCK`.
    fn compress(state: &mut Self::State, blocks: &[u8]);
    /// Writes the first `OUT` bytes of the state, big-endian, into `out[..OUT]`.
    fn write_out(state: &Self::State, out: &mut [u8]);
}

pub(crate) struct Sha1;
pub(crate) struct Sha256;
pub(crate) struct Sha384;

impl RawHash for Sha1 {
    const BLOCK: usize = 64;
    const OUT: usize = 20;
    const LEN_FIELD: usize = 8;
    type State = [u32; 5];
    const INIT: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    #[inline]
    fn compress(state: &mut [u32; 5], blocks: &[u8]) {
        let (blocks, _) = blocks.as_chunks::<64>();
        sha1::block_api::compress(state, blocks);
    }
    fn write_out(state: &[u32; 5], out: &mut [u8]) {
        for (chunk, w) in out.chunks_exact_mut(4).zip(state.iter()) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
    }
}

impl RawHash for Sha256 {
    const BLOCK: usize = 64;
    const OUT: usize = 32;
    const LEN_FIELD: usize = 8;
    type State = [u32; 8];
    const INIT: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    #[inline]
    fn compress(state: &mut [u32; 8], blocks: &[u8]) {
        let (blocks, _) = blocks.as_chunks::<64>();
        sha2::block_api::compress256(state, blocks);
    }
    fn write_out(state: &[u32; 8], out: &mut [u8]) {
        for (chunk, w) in out.chunks_exact_mut(4).zip(state.iter()) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
    }
}

impl RawHash for Sha384 {
    const BLOCK: usize = 128;
    const OUT: usize = 48;
    const LEN_FIELD: usize = 16;
    type State = [u64; 8];
    const INIT: [u64; 8] = [
        0xcbbb_9d5d_c105_9ed8,
        0x629a_292a_367c_d507,
        0x9159_015a_3070_dd17,
        0x152f_ecd8_f70e_5939,
        0x6733_2667_ffc0_0b31,
        0x8eb4_4a87_6858_1511,
        0xdb0c_2e0d_64f9_8fa7,
        0x47b5_481d_befa_4fa4,
    ];
    #[inline]
    fn compress(state: &mut [u64; 8], blocks: &[u8]) {
        let (blocks, _) = blocks.as_chunks::<128>();
        sha2::block_api::compress512(state, blocks);
    }
    fn write_out(state: &[u64; 8], out: &mut [u8]) {
        for (chunk, w) in out.chunks_exact_mut(8).zip(state.iter().take(6)) {
            chunk.copy_from_slice(&w.to_be_bytes());
        }
    }
}

/// Largest block size of the hashes above.
const MAX_BLOCK: usize = 128;
/// Largest digest size of the hashes above.
pub(crate) const MAX_OUT: usize = 48;

/// An incremental hash over a [`RawHash`], starting from any state.
pub(crate) struct Stream<H: RawHash> {
    state: H::State,
    buf: [u8; MAX_BLOCK],
    buf_len: usize,
    /// Bytes already absorbed, including those in the starting state.
    total: u128,
}

impl<H: RawHash> Stream<H> {
    fn from_state(state: H::State, absorbed: u128) -> Self {
        Self {
            state,
            buf: [0; MAX_BLOCK],
            buf_len: 0,
            total: absorbed,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u128;
        if self.buf_len > 0 {
            let take = (H::BLOCK - self.buf_len).min(data.len());
            let (head, rest) = data.split_at(take);
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(head);
            self.buf_len += take;
            data = rest;
            if self.buf_len < H::BLOCK {
                return;
            }
            H::compress(&mut self.state, &self.buf[..H::BLOCK]);
            self.buf_len = 0;
        }
        let full = data.len() - data.len() % H::BLOCK;
        let (blocks, rest) = data.split_at(full);
        if !blocks.is_empty() {
            H::compress(&mut self.state, blocks);
        }
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// Pads, compresses and writes the `H::OUT`-byte digest into `out`.
    fn finish(mut self, out: &mut [u8]) {
        let bits = self.total.wrapping_mul(8);
        let mut block = [0u8; 2 * MAX_BLOCK];
        block[..self.buf_len].copy_from_slice(&self.buf[..self.buf_len]);
        block[self.buf_len] = 0x80;
        let n = if self.buf_len + 1 + H::LEN_FIELD <= H::BLOCK {
            H::BLOCK
        } else {
            2 * H::BLOCK
        };
        let len_bytes = bits.to_be_bytes();
        block[n - H::LEN_FIELD..n].copy_from_slice(&len_bytes[16 - H::LEN_FIELD..]);
        H::compress(&mut self.state, &block[..n]);
        H::write_out(&self.state, out);
        block.zeroize();
    }
}

impl<H: RawHash> Drop for Stream<H> {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf.zeroize();
    }
}

/// Plain digest of `data`, written into `out[..H::OUT]`.
pub(crate) fn digest<H: RawHash>(data: &[u8], out: &mut [u8]) {
    let mut s = Stream::<H>::from_state(H::INIT, 0);
    s.update(data);
    s.finish(out);
}

/// An HMAC key: the inner and outer states after absorbing the padded key.
pub(crate) struct HmacKey<H: RawHash> {
    inner: H::State,
    outer: H::State,
}

impl<H: RawHash> Clone for HmacKey<H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner,
            outer: self.outer,
        }
    }
}

impl<H: RawHash> Drop for HmacKey<H> {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl<H: RawHash> ZeroizeOnDrop for HmacKey<H> {}

impl<H: RawHash> HmacKey<H> {
    pub(crate) fn new(key: &[u8]) -> Self {
        let mut k = [0u8; MAX_BLOCK];
        if key.len() > H::BLOCK {
            digest::<H>(key, &mut k);
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let mut pad = [0u8; MAX_BLOCK];
        for (p, b) in pad.iter_mut().zip(k.iter()).take(H::BLOCK) {
            *p = b ^ 0x36;
        }
        let mut inner = H::INIT;
        H::compress(&mut inner, &pad[..H::BLOCK]);
        for (p, b) in pad.iter_mut().zip(k.iter()).take(H::BLOCK) {
            *p = b ^ 0x5c;
        }
        let mut outer = H::INIT;
        H::compress(&mut outer, &pad[..H::BLOCK]);
        k.zeroize();
        pad.zeroize();
        Self { inner, outer }
    }

    /// HMAC over the concatenation of `parts`; the full `H::OUT`-byte tag goes to `out`.
    pub(crate) fn mac_parts(&self, parts: &[&[u8]], out: &mut [u8]) {
        let mut s = Stream::<H>::from_state(self.inner, H::BLOCK as u128);
        for p in parts {
            s.update(p);
        }
        let mut ih = [0u8; MAX_OUT];
        s.finish(&mut ih);
        let mut o = Stream::<H>::from_state(self.outer, H::BLOCK as u128);
        o.update(&ih[..H::OUT]);
        o.finish(out);
        ih.zeroize();
    }
}

/// PBKDF2 (RFC 8018) with HMAC-`H`, filling `out` completely.
///
/// After the first HMAC of each output block, every iteration is exactly two compression
/// calls on pre-padded blocks. Output blocks are computed two at a time, interleaved, so
/// the processor overlaps two independent dependency chains (aes256 with SHA-1 needs two).
pub(crate) fn pbkdf2<H: RawHash>(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    const LANES: usize = 2;
    let key = HmacKey::<H>::new(password);
    // Pre-padded single blocks for "HMAC of a digest-sized message": the message (a
    // previous digest) goes in front, then 0x80, zeros and the bit length of block + digest.
    let mut template = [0u8; MAX_BLOCK];
    template[H::OUT] = 0x80;
    let bits = ((H::BLOCK + H::OUT) as u128 * 8).to_be_bytes();
    template[H::BLOCK - H::LEN_FIELD..H::BLOCK].copy_from_slice(&bits[16 - H::LEN_FIELD..]);

    let mut inner = [template; LANES];
    let mut outer = [template; LANES];
    let mut t = [[0u8; MAX_OUT]; LANES];
    let mut first_block = 1u32;
    for group in out.chunks_mut(LANES * H::OUT) {
        let lanes = group.len().div_ceil(H::OUT);
        for (lane, block) in inner.iter_mut().enumerate().take(lanes) {
            let index = first_block.wrapping_add(lane as u32).to_be_bytes();
            key.mac_parts(&[salt, &index], block);
            t[lane][..H::OUT].copy_from_slice(&block[..H::OUT]);
        }
        for _ in 1..iterations {
            let mut st = [key.inner; LANES];
            for lane in 0..lanes {
                H::compress(&mut st[lane], &inner[lane][..H::BLOCK]);
            }
            for lane in 0..lanes {
                H::write_out(&st[lane], &mut outer[lane]);
                st[lane] = key.outer;
            }
            for lane in 0..lanes {
                H::compress(&mut st[lane], &outer[lane][..H::BLOCK]);
            }
            for lane in 0..lanes {
                H::write_out(&st[lane], &mut inner[lane]);
                for (a, b) in t[lane].iter_mut().zip(inner[lane].iter()).take(H::OUT) {
                    *a ^= b;
                }
            }
            st.zeroize();
        }
        for (chunk, tl) in group.chunks_mut(H::OUT).zip(t.iter()) {
            chunk.copy_from_slice(&tl[..chunk.len()]);
        }
        first_block = first_block.wrapping_add(LANES as u32);
    }
    t.zeroize();
    inner.zeroize();
    outer.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn digests_match_fips_180() {
        let mut out = [0u8; MAX_OUT];
        digest::<Sha1>(b"abc", &mut out);
        assert_eq!(out[..20], hex!("a9993e364706816aba3e25717850c26c9cd0d89d"));
        digest::<Sha256>(b"abc", &mut out);
        assert_eq!(
            out[..32],
            hex!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        digest::<Sha384>(b"abc", &mut out);
        assert_eq!(
            out[..48],
            hex!(
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                "8086072ba1e7cc2358baeca134c825a7"
            )
        );
        // Two-block padding boundary (56 and 112 bytes of message).
        digest::<Sha1>(&[b'a'; 56], &mut out);
        let mut reference = [0u8; 20];
        {
            use sha1::Digest;
            reference.copy_from_slice(&sha1::Sha1::digest([b'a'; 56]));
        }
        assert_eq!(out[..20], reference);
    }

    #[test]
    fn hmac_matches_rfc4231_case2() {
        let key = HmacKey::<Sha256>::new(b"Jefe");
        let mut out = [0u8; MAX_OUT];
        key.mac_parts(&[b"what do ya want ", b"for nothing?"], &mut out);
        assert_eq!(
            out[..32],
            hex!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        let key = HmacKey::<Sha384>::new(b"Jefe");
        key.mac_parts(&[b"what do ya want for nothing?"], &mut out);
        assert_eq!(
            out[..48],
            hex!(
                "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                "8e2240ca5e69e2c78b3239ecfab21649"
            )
        );
    }

    #[test]
    fn stream_matches_reference_for_every_split() {
        use sha1::Digest;
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        for len in [0, 1, 55, 56, 63, 64, 65, 119, 128, 300] {
            let mut out = [0u8; MAX_OUT];
            let key = HmacKey::<Sha1>::new(b"k");
            let (a, b) = data[..len].split_at(len / 3);
            key.mac_parts(&[a, b], &mut out);
            let mut mac = <hmac::Hmac<sha1::Sha1> as hmac::KeyInit>::new_from_slice(b"k").unwrap();
            hmac::Mac::update(&mut mac, &data[..len]);
            let r = hmac::Mac::finalize(mac).into_bytes();
            assert_eq!(out[..20], r[..], "len {len}");
            let _ = sha1::Sha1::digest(b"");
        }
    }
}
