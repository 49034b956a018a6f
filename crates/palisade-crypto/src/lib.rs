//! Key material and hashing, with no knowledge of OAuth: random tokens, client-secret and password
//! hashing, RSA token-signing keys and their JWKs, the local certificate authority, certificate
//! parsing and thumbprints. All randomness comes from the OS CSPRNG via aws-lc-rs.

pub mod b64;
pub mod cert;
pub mod hashing;
pub mod random;
pub mod signing;
pub mod tls;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("key generation failed: {0}")]
    KeyGen(String),
    #[error("invalid key: {0}")]
    InvalidKey(String),
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    #[error("signing failed")]
    Sign,
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
    #[error("I/O error on {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, CryptoError>;
