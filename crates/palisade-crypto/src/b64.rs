//! Base64 helpers. JOSE uses unpadded base64url, but real clients (azure-identity's AadClient, MSAL
//! thumbprints) send padded base64url, so decoding accepts both.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

pub fn url_encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url with or without `=` padding.
pub fn url_decode_lenient(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}

pub fn std_encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard base64, ignoring embedded whitespace and line breaks (MSAL's `x5c` has `\n`).
pub fn std_decode_lenient(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(compact.trim_end_matches('='))
        .ok()
        .or_else(|| STANDARD.decode(&compact).ok())
        .or_else(|| base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.trim_end_matches('=')).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_decoding_accepts_padding() {
        let raw = [0xfbu8, 0xff, 0x01, 0x02];
        let padded = base64::engine::general_purpose::URL_SAFE.encode(raw);
        assert!(padded.ends_with('='));
        assert_eq!(url_decode_lenient(&padded).unwrap(), raw);
        assert_eq!(url_decode_lenient(&url_encode(raw)).unwrap(), raw);
        assert_eq!(std_decode_lenient("+/8B\nAg==").unwrap(), raw);
        assert!(url_decode_lenient("***").is_none());
    }
}
