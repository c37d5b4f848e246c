//! The n-fold operation of RFC 3961 §5.1.

/// Stretches or shrinks `input` to `out_len` bytes as RFC 3961 §5.1 defines.
///
/// The input is repeated, each copy rotated 13 bits further to the right, until the total
/// length is the least common multiple of the input and output lengths; the pieces of
/// `out_len` bytes are then added with one's-complement (end-around carry) addition.
/// An empty input or `out_len == 0` gives `out_len` zero bytes.
///
/// ```
/// // RFC 3961 A.1: 64-fold("012345")
/// assert_eq!(azkrb_crypto::nfold(b"012345", 8), [0xbe, 0x07, 0x26, 0x31, 0x27, 0x6b, 0x19, 0x55]);
/// ```
pub fn nfold(input: &[u8], out_len: usize) -> Vec<u8> {
    let mut out = vec![0u8; out_len];
    if input.is_empty() || out_len == 0 {
        return out;
    }
    let in_bits = input.len() * 8;
    let total = lcm(input.len(), out_len);
    let bit = |idx: usize| -> u8 {
        // Bit `idx` (0 = most significant bit of the first byte) of the input.
        (input[idx / 8] >> (7 - idx % 8)) & 1
    };
    // One's-complement sum of the `out_len`-byte pieces, least significant byte first.
    let mut carry: u32 = 0;
    let mut sums = vec![0u32; out_len];
    for piece in 0..total / out_len {
        for (j, sum) in sums.iter_mut().enumerate() {
            let pos = piece * out_len + j; // byte position in the expanded string
            let copy = pos / input.len(); // which rotated copy it lies in
            let shift = (13 * copy) % in_bits;
            let mut byte = 0u8;
            for b in 0..8 {
                let within = ((pos % input.len()) * 8 + b + in_bits - shift) % in_bits;
                byte = (byte << 1) | bit(within);
            }
            *sum += u32::from(byte);
        }
    }
    for (o, sum) in out.iter_mut().zip(sums.iter()).rev() {
        carry += *sum;
        *o = carry as u8;
        carry >>= 8;
    }
    while carry != 0 {
        for o in out.iter_mut().rev() {
            carry += u32::from(*o);
            *o = carry as u8;
            carry >>= 8;
        }
    }
    out
}

fn lcm(a: usize, b: usize) -> usize {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a / x * b
}
