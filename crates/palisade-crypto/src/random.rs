//! Random values from the OS CSPRNG.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

pub fn bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new().fill(&mut b).expect("OS random source failed");
    b
}

/// An opaque bearer value (code, refresh token, session id): 256 bits, base64url.
pub fn opaque_token() -> String {
    crate::b64::url_encode(bytes::<32>())
}

/// A random string over `alphabet`, without modulo bias.
pub fn string_from(alphabet: &[u8], len: usize) -> String {
    assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in bytes::<64>() {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// A random UUIDv4 built from the CSPRNG.
pub fn uuid_v4_bytes() -> [u8; 16] {
    let mut b = bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    b
}
