//! RSA-2048 token-signing keys. Each key has a self-signed certificate (published as `x5c`, as
//! Entra does) and `kid` = `x5t` = base64url SHA-1 of that certificate.
//!
//! Signing uses a parsed aws-lc-rs key pair kept in memory: re-parsing the private key per token
//! (what `jsonwebtoken::encode` does) costs a measurable share of issuance time.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::cert::{rsa_public_components, thumbprint_sha1};
use crate::{CryptoError, Result, b64};

/// A freshly generated signing key, ready to be stored.
pub struct GeneratedKey {
    pub kid: String,
    pub private_key_pkcs8: Vec<u8>,
    pub cert_der: Vec<u8>,
}

/// Generates an RSA-2048 key with a 5-year self-signed certificate, like Entra's
/// `CN=accounts.accesscontrol.windows.net` keys.
pub fn generate_signing_key(now: OffsetDateTime) -> Result<GeneratedKey> {
    let kp = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|e| CryptoError::KeyGen(e.to_string()))?;
    let pkcs8 = kp.as_der().map_err(|e| CryptoError::KeyGen(e.to_string()))?.as_ref().to_vec();
    let rc_key = KeyPair::try_from(pkcs8.as_slice()).map_err(|e| CryptoError::KeyGen(e.to_string()))?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| CryptoError::KeyGen(e.to_string()))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "accounts.accesscontrol.windows.net");
    params.distinguished_name = dn;
    params.not_before = now - Duration::days(1);
    params.not_after = now + Duration::days(5 * 365);
    let cert = params.self_signed(&rc_key).map_err(|e| CryptoError::KeyGen(e.to_string()))?;
    let cert_der = cert.der().to_vec();
    Ok(GeneratedKey { kid: b64::url_encode(thumbprint_sha1(&cert_der)), private_key_pkcs8: pkcs8, cert_der })
}

/// A loaded signing key.
pub struct SigningKey {
    kid: String,
    key_pair: RsaKeyPair,
    jwk: Jwk,
    rng: SystemRandom,
}

/// A JSON Web Key as Entra publishes it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub kid: String,
    pub x5t: String,
    pub n: String,
    pub e: String,
    pub x5c: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

impl SigningKey {
    pub fn load(kid: &str, private_key_pkcs8: &[u8], cert_der: &[u8]) -> Result<Self> {
        let key_pair = RsaKeyPair::from_pkcs8(private_key_pkcs8).map_err(|e| CryptoError::InvalidKey(e.to_string()))?;
        let (n, e) = rsa_public_components(cert_der)?;
        let jwk = Jwk {
            kty: "RSA".into(),
            use_: "sig".into(),
            kid: kid.to_string(),
            x5t: kid.to_string(),
            n: b64::url_encode(&n),
            e: b64::url_encode(&e),
            x5c: vec![b64::std_encode(cert_der)],
            issuer: None,
        };
        Ok(Self { kid: kid.to_string(), key_pair, jwk, rng: SystemRandom::new() })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Produces a compact JWS (RS256) over `header` and `claims`.
    pub fn sign_jwt<H: Serialize, C: Serialize>(&self, header: &H, claims: &C) -> Result<String> {
        let h = serde_json::to_vec(header).map_err(|_| CryptoError::Sign)?;
        let c = serde_json::to_vec(claims).map_err(|_| CryptoError::Sign)?;
        let mut out = String::with_capacity((h.len() + c.len()) * 4 / 3 + 360);
        out.push_str(&b64::url_encode(h));
        out.push('.');
        out.push_str(&b64::url_encode(c));
        let mut sig = vec![0u8; self.key_pair.public_modulus_len()];
        self.key_pair.sign(&RSA_PKCS1_SHA256, &self.rng, out.as_bytes(), &mut sig).map_err(|_| CryptoError::Sign)?;
        out.push('.');
        out.push_str(&b64::url_encode(sig));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn generated_key_signs_verifiable_rs256() {
        let g = generate_signing_key(OffsetDateTime::now_utc()).unwrap();
        assert_eq!(g.kid.len(), 27);
        let k = SigningKey::load(&g.kid, &g.private_key_pkcs8, &g.cert_der).unwrap();
        let jwt = k
            .sign_jwt(&serde_json::json!({"alg":"RS256","typ":"JWT","kid":g.kid}), &serde_json::json!({"a":1}))
            .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let n = b64::url_decode_lenient(&k.jwk().n).unwrap();
        let e = b64::url_decode_lenient(&k.jwk().e).unwrap();
        let pk = aws_lc_rs::signature::RsaPublicKeyComponents { n: &n, e: &e };
        let sig = b64::url_decode_lenient(parts[2]).unwrap();
        pk.verify(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &sig,
        )
        .expect("signature verifies against the published JWK");
        assert_eq!(n.len(), 256);
    }
}
