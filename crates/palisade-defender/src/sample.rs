//! Deterministic sampling shared by the generators of sample data (`fixtures`, and the telemetry
//! simulator): one implementation, so a hash or a GUID derived in one is derived the same way in
//! the other.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// ChaCha8 with the few samplers the generators need, written over `next_u64` so the values never
/// depend on `rand`'s distribution algorithms (which may change between versions; `rand_chacha`
/// guarantees its stream).
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(stream);
        Rng(r)
    }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in `0..n` (multiply-shift; the bias is below 2^-40 for our ranges).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
    #[inline]
    pub fn idx(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    /// Uniform in `lo..hi`; `lo` when the range is empty.
    #[inline]
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo { lo } else { lo + self.below((hi - lo) as u64) as i64 }
    }
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    #[inline]
    pub fn pick<T: Copy>(&mut self, s: &[T]) -> T {
        s[self.idx(s.len())]
    }
    pub fn weighted<T: Copy>(&mut self, s: &[(T, u32)]) -> T {
        s[self.weighted_by(s, |x| x.1)].0
    }
    /// Index drawn with the given weights (0 if they are all zero).
    pub fn weighted_by<T>(&mut self, s: &[T], w: impl Fn(&T) -> u32) -> usize {
        let total: u64 = s.iter().map(|x| u64::from(w(x))).sum();
        let mut r = self.below(total);
        for (i, x) in s.iter().enumerate() {
            let wx = u64::from(w(x));
            if r < wx {
                return i;
            }
            r -= wx;
        }
        0
    }
    pub fn hex(&mut self, out: &mut String, bytes: usize, upper: bool) {
        let digits: &[u8; 16] = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
        let (mut word, mut left) = (0u64, 0);
        for _ in 0..bytes {
            if left == 0 {
                word = self.next_u64();
                left = 8;
            }
            let b = word as u8;
            word >>= 8;
            left -= 1;
            out.push(digits[usize::from(b >> 4)] as char);
            out.push(digits[usize::from(b & 15)] as char);
        }
    }
    pub fn hex_string(&mut self, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes * 2);
        self.hex(&mut s, bytes, false);
        s
    }
    pub fn chars(&mut self, out: &mut String, n: usize, alphabet: &[u8]) {
        for _ in 0..n {
            out.push(alphabet[self.idx(alphabet.len())] as char);
        }
    }
    pub fn guid(&mut self) -> String {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        b[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }
}

pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A bijection of u32 (murmur3's finaliser): distinct alert ordinals give distinct id suffixes.
pub fn mix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// A GUID that is a pure function of its inputs (for user object ids, which must not change
/// between the logons and the alerts that name them).
pub fn stable_guid(a: u64, b: u64) -> String {
    let hi = mix64(a ^ mix64(b));
    let lo = mix64(hi ^ b.rotate_left(17) ^ 0x5851_F42D_4C95_7F2D);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_le_bytes());
    bytes[8..].copy_from_slice(&lo.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}
