//! X.509 certificates uploaded as application credentials: parsing, thumbprints, and checking a
//! signature made with the matching private key.

use ::time::OffsetDateTime;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

use crate::{CryptoError, Result, b64};

pub fn thumbprint_sha1(der: &[u8]) -> [u8; 20] {
    Sha1::digest(der).into()
}

pub fn thumbprint_sha256(der: &[u8]) -> [u8; 32] {
    Sha256::digest(der).into()
}

/// What Palisade keeps of an uploaded certificate.
#[derive(Debug, Clone)]
pub struct ParsedCertificate {
    pub der: Vec<u8>,
    pub subject: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    pub sha1_hex: String,
    pub sha256_hex: String,
}

/// Accepts a PEM file (the first CERTIFICATE block; a private key next to it is ignored, never
/// kept) or raw DER.
pub fn parse_certificate(input: &[u8]) -> Result<ParsedCertificate> {
    let der = if input.starts_with(b"-----") || input.windows(11).any(|w| w == b"-----BEGIN ") {
        let mut found = None;
        for pem in Pem::iter_from_buffer(input) {
            let pem = pem.map_err(|e| CryptoError::InvalidCertificate(format!("bad PEM: {e}")))?;
            if pem.label == "CERTIFICATE" {
                found = Some(pem.contents);
                break;
            }
        }
        found.ok_or_else(|| CryptoError::InvalidCertificate("no CERTIFICATE block in the PEM input".into()))?
    } else {
        input.to_vec()
    };
    let (_, cert) = X509Certificate::from_der(&der)
        .map_err(|e| CryptoError::InvalidCertificate(format!("not an X.509 certificate: {e}")))?;
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(_)) => {}
        _ => {
            return Err(CryptoError::InvalidCertificate(
                "only RSA certificates are accepted (Entra rejects other key types)".into(),
            ));
        }
    }
    let subject = cert.subject().to_string();
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    Ok(ParsedCertificate {
        sha1_hex: hex::encode_upper(thumbprint_sha1(&der)),
        sha256_hex: hex::encode_upper(thumbprint_sha256(&der)),
        der,
        subject,
        not_before,
        not_after,
    })
}

/// `(n, e)` big-endian, without leading zeros, of an RSA certificate.
pub fn rsa_public_components(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| CryptoError::InvalidCertificate(e.to_string()))?;
    match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let strip = |b: &[u8]| b[b.iter().position(|x| *x != 0).unwrap_or(b.len())..].to_vec();
            Ok((strip(rsa.modulus), strip(rsa.exponent)))
        }
        _ => Err(CryptoError::InvalidCertificate("not an RSA certificate".into())),
    }
}

/// JWS algorithms accepted in client assertions. Entra takes RSA only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionAlg {
    Rs256,
    Ps256,
}

/// Verifies `signature` over `message` with the certificate's RSA key.
pub fn verify_with_certificate(cert_der: &[u8], alg: AssertionAlg, message: &[u8], signature: &[u8]) -> bool {
    let Ok((n, e)) = rsa_public_components(cert_der) else { return false };
    let params = match alg {
        AssertionAlg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        AssertionAlg::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
    };
    RsaPublicKeyComponents { n: &n, e: &e }.verify(params, message, signature).is_ok()
}

/// base64url SHA-1 thumbprint without padding (the `x5t` form).
pub fn x5t(der: &[u8]) -> String {
    b64::url_encode(thumbprint_sha1(der))
}

/// base64url SHA-256 thumbprint without padding (the `x5t#S256` form).
pub fn x5t_s256(der: &[u8]) -> String {
    b64::url_encode(thumbprint_sha256(der))
}
