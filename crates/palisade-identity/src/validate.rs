//! Validating Palisade-issued access tokens, strictly: RS256 only (no `none`, no HMAC — so no
//! RS/HS confusion), a known `kid`, exact audience from an allow-list, the issuer that belongs to
//! the token's own `tid`, and `exp`/`nbf` with 5 minutes of skew. Also the lenient inspection
//! behind `palisade token decode` and the `/jwt` page.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use uuid::Uuid;

use crate::Identity;
use crate::claims::{v1_issuer, v2_issuer};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TokenInvalid {
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("the token is signed with '{0}'; only RS256 is accepted")]
    Algorithm(String),
    #[error("no published signing key has kid '{0}'")]
    UnknownKey(String),
    #[error("the signature is invalid")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the audience '{0}' is not accepted here")]
    Audience(String),
    #[error("the issuer '{0}' does not match the token's tenant")]
    Issuer(String),
}

/// A token that passed validation.
#[derive(Debug, Clone)]
pub struct ValidatedToken {
    pub claims: Value,
    pub tenant_id: Uuid,
}

impl ValidatedToken {
    pub fn roles(&self) -> Vec<String> {
        self.claims["roles"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
    pub fn scopes(&self) -> Vec<String> {
        self.claims["scp"].as_str().map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
    }
    pub fn app_id(&self) -> Option<&str> {
        self.claims["appid"].as_str().or(self.claims["azp"].as_str())
    }
    pub fn is_app_only(&self) -> bool {
        self.claims.get("scp").is_none() && self.claims["idtyp"].as_str() != Some("user")
    }
    pub fn object_id(&self) -> Option<Uuid> {
        self.claims["oid"].as_str().and_then(|s| Uuid::parse_str(s).ok())
    }
}

/// What `inspect` found, for people reading a token.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub header: Value,
    pub claims: Value,
    /// `Some(true)` verified against a published key; `Some(false)` a known key rejected the
    /// signature; `None` no published key has this `kid`.
    pub signature_valid: Option<bool>,
    pub expired: bool,
}

impl Identity {
    async fn decoding_key(&self, kid: &str) -> Result<DecodingKey, TokenInvalid> {
        let mut jwks = self.keys.jwks().await.map_err(|e| TokenInvalid::Malformed(e.to_string()))?;
        if !jwks.iter().any(|k| k.kid == kid) {
            // Another node may have rotated: re-read once.
            let _ = self.keys.reload().await;
            jwks = self.keys.jwks().await.map_err(|e| TokenInvalid::Malformed(e.to_string()))?;
        }
        let jwk = jwks.into_iter().find(|k| k.kid == kid).ok_or_else(|| TokenInvalid::UnknownKey(kid.to_string()))?;
        DecodingKey::from_rsa_components(&jwk.n, &jwk.e).map_err(|e| TokenInvalid::Malformed(e.to_string()))
    }

    /// Validates an access token for a resource that accepts `audiences`. `v2_bases` are the
    /// `https://host[:port]` bases whose v2 issuers are trusted.
    pub async fn validate_access_token(
        &self,
        token: &str,
        audiences: &[&str],
        v2_bases: &[&str],
    ) -> Result<ValidatedToken, TokenInvalid> {
        let header = decode_header(token).map_err(|e| TokenInvalid::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenInvalid::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| TokenInvalid::Malformed("no kid header".into()))?;
        let key = self.decoding_key(&kid).await?;
        let unverified: Value = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
            .map_err(|e| TokenInvalid::Malformed(e.to_string()))?
            .claims;
        let tid = unverified["tid"]
            .as_str()
            .and_then(|t| Uuid::parse_str(t).ok())
            .ok_or_else(|| TokenInvalid::Malformed("no tid claim".into()))?;
        let mut issuers = vec![v1_issuer(tid)];
        issuers.extend(v2_bases.iter().map(|b| v2_issuer(b, tid)));
        let mut v = Validation::new(Algorithm::RS256);
        v.leeway = 300;
        v.validate_nbf = true;
        v.set_audience(audiences);
        v.set_issuer(&issuers);
        v.set_required_spec_claims(&["exp", "aud", "iss", "nbf"]);
        let data = decode::<Value>(token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::InvalidSignature => TokenInvalid::BadSignature,
                K::ExpiredSignature => TokenInvalid::Expired,
                K::ImmatureSignature => TokenInvalid::NotYetValid,
                K::InvalidAudience => TokenInvalid::Audience(unverified["aud"].as_str().unwrap_or("").to_string()),
                K::InvalidIssuer => TokenInvalid::Issuer(unverified["iss"].as_str().unwrap_or("").to_string()),
                _ => TokenInvalid::Malformed(e.to_string()),
            }
        })?;
        Ok(ValidatedToken { claims: data.claims, tenant_id: tid })
    }

    /// Decodes any JWT and checks its signature against the published keys, without judging
    /// audience or issuer.
    pub async fn inspect(&self, token: &str) -> Result<Inspection, TokenInvalid> {
        let token = token.trim();
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(TokenInvalid::Malformed("a JWT has three dot-separated parts".into()));
        }
        let dec = |s: &str| -> Result<Value, TokenInvalid> {
            palisade_crypto::b64::url_decode_lenient(s)
                .and_then(|b| serde_json::from_slice(&b).ok())
                .ok_or_else(|| TokenInvalid::Malformed("a segment is not base64url JSON".into()))
        };
        let header = dec(parts[0])?;
        let claims = dec(parts[1])?;
        let signature_valid = match (header["alg"].as_str(), header["kid"].as_str()) {
            (Some("RS256"), Some(kid)) => match self.decoding_key(kid).await {
                Ok(key) => {
                    let mut v = Validation::new(Algorithm::RS256);
                    v.validate_exp = false;
                    v.validate_aud = false;
                    v.required_spec_claims.clear();
                    Some(decode::<Value>(token, &key, &v).is_ok())
                }
                Err(_) => None,
            },
            _ => Some(false),
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let expired = claims["exp"].as_i64().is_some_and(|e| e < now);
        Ok(Inspection { header, claims, signature_valid, expired })
    }
}
