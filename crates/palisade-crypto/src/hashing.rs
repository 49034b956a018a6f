//! Hashes for credentials at rest.
//!
//! Client secrets are 220+ bits of randomness, so a salted SHA-256 is enough and keeps the token
//! endpoint fast. User passwords are chosen by people, so they get argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{CryptoError, Result, random};

const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~";

/// A new client secret in Entra's shape: 40 characters, `8Q~` after the first three (so tools that
/// recognise Entra secrets, e.g. secret scanners, recognise ours too).
pub fn generate_client_secret() -> String {
    let head = random::string_from(&SECRET_ALPHABET[..62], 3);
    let tail = random::string_from(SECRET_ALPHABET, 34);
    format!("{head}8Q~{tail}")
}

/// `hex(salt) ":" hex(SHA-256(salt || secret))`.
pub fn hash_client_secret(secret: &str) -> String {
    let salt = random::bytes::<16>();
    format!("{}:{}", hex::encode(salt), hex::encode(salted_sha256(&salt, secret)))
}

/// Constant-time check of a presented secret against a stored hash.
pub fn verify_client_secret(secret: &str, stored: &str) -> bool {
    let Some((salt_hex, hash_hex)) = stored.split_once(':') else { return false };
    let (Ok(salt), Ok(expected)) = (hex::decode(salt_hex), hex::decode(hash_hex)) else { return false };
    salted_sha256(&salt, secret).ct_eq(&expected).into()
}

fn salted_sha256(salt: &[u8], secret: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(secret.as_bytes());
    h.finalize().into()
}

/// Unsalted SHA-256 for looking up high-entropy bearer values (codes, refresh tokens, sessions):
/// the stored key reveals nothing usable.
pub fn lookup_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn argon2() -> Argon2<'static> {
    // OWASP's recommended argon2id profile (19 MiB, 2 passes).
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid params"))
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random::bytes::<16>()).map_err(|e| CryptoError::PasswordHash(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::PasswordHash(e.to_string()))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
}

/// A generated initial password: 20 characters with every class Entra's policy asks for.
pub fn generate_password() -> String {
    loop {
        let p = random::string_from(b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+=?", 20);
        let classes = [
            p.bytes().any(|b| b.is_ascii_uppercase()),
            p.bytes().any(|b| b.is_ascii_lowercase()),
            p.bytes().any(|b| b.is_ascii_digit()),
            p.bytes().any(|b| !b.is_ascii_alphanumeric()),
        ];
        if classes.iter().all(|c| *c) {
            return p;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secret_round_trip_and_shape() {
        let s = generate_client_secret();
        assert_eq!(s.len(), 40);
        assert_eq!(&s[3..6], "8Q~");
        let h = hash_client_secret(&s);
        assert!(!h.contains(&s));
        assert!(verify_client_secret(&s, &h));
        assert!(!verify_client_secret(&format!("{s}x"), &h));
        assert!(!verify_client_secret(&s, "garbage"));
        // Salted: same secret, different hash.
        assert_ne!(h, hash_client_secret(&s));
    }

    #[test]
    fn password_round_trip() {
        let p = generate_password();
        let h = hash_password(&p).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&p, &h));
        assert!(!verify_password("wrong", &h));
    }
}
