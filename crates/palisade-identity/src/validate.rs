//! Validating access tokens, strictly: RS256 only (no `none`, no HMAC — so no RS/HS confusion), a
//! known `kid`, exact audience from an allow-list, the issuer that belongs to the token's own
//! `tid`, and `exp`/`nbf` with 5 minutes of skew. The keys come from a [`KeySource`]: the local
//! [`KeyRing`](crate::KeyRing) when this node issues the tokens, or a
//! [`RemoteJwks`](crate::remote_jwks::RemoteJwks) when an API node trusts an identity provider by
//! its JWKS URL. Also the lenient inspection behind `palisade token decode` and the `/jwt` page.

use std::sync::Arc;

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use uuid::Uuid;

use crate::Identity;
use crate::claims::{v1_issuer, v2_issuer};

/// Allowed clock skew for `exp` and `nbf`, as Entra's own validators allow.
pub const CLOCK_SKEW_SECS: u64 = 300;

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
    /// Not the token's fault: the keys to check it against could not be read (store failure, or
    /// the identity provider's JWKS has never been fetched successfully).
    #[error("the signing keys are unavailable: {0}")]
    KeysUnavailable(String),
}

/// Why a [`KeySource`] could not answer.
#[derive(Debug, thiserror::Error)]
pub enum KeySourceError {
    #[error("the key store failed: {0}")]
    Store(#[from] crate::IdentityError),
    #[error(transparent)]
    Remote(#[from] crate::remote_jwks::JwksError),
}

/// Where the keys that verify access tokens come from. `Send + Sync` so one source serves every
/// request of a node behind an `Arc<dyn KeySource>`.
#[async_trait]
pub trait KeySource: Send + Sync {
    /// The RS256 verification key published under `kid`. An unknown `kid` may make the source
    /// re-read its keys (someone rotated); `Ok(None)` means it is still unknown.
    async fn verification_key(&self, kid: &str) -> Result<Option<DecodingKey>, KeySourceError>;
}

/// Which v2 issuers (`{base}/{tid}/v2.0`) are trusted. The v1 issuer
/// (`https://sts.windows.net/{tid}/`) always is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V2Issuers {
    /// The base the request came in on: this node issued the token to a client that called it by
    /// the same host name, so the v2 issuer names that host.
    RequestBase,
    /// Fixed bases (no trailing slash): the tokens come from an identity provider elsewhere, and
    /// the host this node was called by says nothing about who issued them.
    Bases(Vec<String>),
}

/// Strict access-token validation over any [`KeySource`]. Cheap to clone; clones share the cache
/// of verified tokens.
#[derive(Clone)]
pub struct AccessTokenValidator {
    keys: Arc<dyn KeySource>,
    v2_issuers: V2Issuers,
    verified: Arc<VerifiedCache>,
}

/// Tokens that passed every check, so a client repeating the same bearer token (every client
/// does, for up to an hour) costs a hash and a lookup instead of an RSA verification and two JSON
/// parses. Keyed by SHA-256 of the exact token bytes *and* the audiences and issuers it was judged
/// against, so only a byte-identical token judged by the same rules hits. Time claims are
/// re-checked on every hit; an entry also lapses after [`VERIFIED_TTL_SECS`], so a key withdrawn
/// from the key source stops being honoured within that time.
#[derive(Default)]
struct VerifiedCache {
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], Verified>>,
}

/// How long a verification is reused at most.
pub const VERIFIED_TTL_SECS: i64 = 60;
/// Entries kept at most; past this the cache starts over (each entry is one live token).
const VERIFIED_MAX: usize = 20_000;

struct Verified {
    token: ValidatedToken,
    exp: i64,
    nbf: i64,
    verified_at: i64,
}

impl VerifiedCache {
    fn key(token: &str, audiences: &[&str], v2_bases: &[&str]) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(token.as_bytes());
        // Separators that cannot occur in a token, an audience or a base keep the parts apart.
        for (tag, parts) in [(1u8, audiences), (2u8, v2_bases)] {
            for part in parts {
                h.update([tag]);
                h.update(part.as_bytes());
            }
        }
        h.finalize().into()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<[u8; 32], Verified>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached verification, with `exp`/`nbf` judged at `now` exactly as a full validation would.
    fn get(&self, key: &[u8; 32], now: i64) -> Option<Result<ValidatedToken, TokenInvalid>> {
        let mut entries = self.lock();
        let e = entries.get(key)?;
        if now - e.verified_at >= VERIFIED_TTL_SECS {
            entries.remove(key);
            return None;
        }
        let skew = CLOCK_SKEW_SECS as i64;
        if e.exp < now - skew {
            entries.remove(key);
            return Some(Err(TokenInvalid::Expired));
        }
        if e.nbf > now + skew {
            return Some(Err(TokenInvalid::NotYetValid));
        }
        Some(Ok(e.token.clone()))
    }

    fn put(&self, key: [u8; 32], token: &ValidatedToken, now: i64) {
        let (Some(exp), Some(nbf)) = (token.claims["exp"].as_i64(), token.claims["nbf"].as_i64()) else {
            return;
        };
        let mut entries = self.lock();
        if entries.len() >= VERIFIED_MAX {
            entries.clear();
        }
        entries.insert(key, Verified { token: token.clone(), exp, nbf, verified_at: now });
    }
}

impl AccessTokenValidator {
    pub fn new(keys: Arc<dyn KeySource>, v2_issuers: V2Issuers) -> Self {
        let v2_issuers = match v2_issuers {
            V2Issuers::Bases(b) => {
                V2Issuers::Bases(b.into_iter().map(|s| s.trim_end_matches('/').to_string()).collect())
            }
            other => other,
        };
        Self { keys, v2_issuers, verified: Arc::default() }
    }

    /// Validation against this node's own key ring, trusting the v2 issuer of the request's host.
    pub fn local(keys: Arc<crate::KeyRing>) -> Self {
        Self::new(keys, V2Issuers::RequestBase)
    }

    pub fn v2_issuers(&self) -> &V2Issuers {
        &self.v2_issuers
    }

    /// Validates `token` for a resource that accepts `audiences`, called at `request_base`
    /// (`https://host[:port]`), under this validator's issuer rules.
    pub async fn validate(
        &self,
        token: &str,
        audiences: &[&str],
        request_base: &str,
    ) -> Result<ValidatedToken, TokenInvalid> {
        match &self.v2_issuers {
            V2Issuers::RequestBase => self.validate_with_bases(token, audiences, &[request_base]).await,
            V2Issuers::Bases(bases) => {
                let bases: Vec<&str> = bases.iter().map(String::as_str).collect();
                self.validate_with_bases(token, audiences, &bases).await
            }
        }
    }

    /// Validates `token` trusting exactly the v2 issuers of `v2_bases` (and the v1 issuer).
    pub async fn validate_with_bases(
        &self,
        token: &str,
        audiences: &[&str],
        v2_bases: &[&str],
    ) -> Result<ValidatedToken, TokenInvalid> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let cache_key = VerifiedCache::key(token, audiences, v2_bases);
        if let Some(hit) = self.verified.get(&cache_key, now) {
            return hit;
        }
        let validated = self.verify(token, audiences, v2_bases).await?;
        self.verified.put(cache_key, &validated, now);
        Ok(validated)
    }

    async fn verify(&self, token: &str, audiences: &[&str], v2_bases: &[&str]) -> Result<ValidatedToken, TokenInvalid> {
        let header = decode_header(token).map_err(|e| TokenInvalid::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenInvalid::Algorithm(format!("{:?}", header.alg)));
        }
        let kid = header.kid.ok_or_else(|| TokenInvalid::Malformed("no kid header".into()))?;
        let key = self.key(&kid).await?;
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
        v.leeway = CLOCK_SKEW_SECS;
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

    async fn key(&self, kid: &str) -> Result<DecodingKey, TokenInvalid> {
        match self.keys.verification_key(kid).await {
            Ok(Some(key)) => Ok(key),
            Ok(None) => Err(TokenInvalid::UnknownKey(kid.to_string())),
            Err(e) => Err(TokenInvalid::KeysUnavailable(e.to_string())),
        }
    }
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
    /// Validates an access token for a resource that accepts `audiences`, against this node's own
    /// key ring. `v2_bases` are the `https://host[:port]` bases whose v2 issuers are trusted.
    pub async fn validate_access_token(
        &self,
        token: &str,
        audiences: &[&str],
        v2_bases: &[&str],
    ) -> Result<ValidatedToken, TokenInvalid> {
        self.tokens.validate_with_bases(token, audiences, v2_bases).await
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
            (Some("RS256"), Some(kid)) => match self.keys.verification_key(kid).await {
                Ok(Some(key)) => {
                    let mut v = Validation::new(Algorithm::RS256);
                    v.validate_exp = false;
                    v.validate_aud = false;
                    v.required_spec_claims.clear();
                    Some(decode::<Value>(token, &key, &v).is_ok())
                }
                Ok(None) | Err(_) => None,
            },
            _ => Some(false),
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let expired = claims["exp"].as_i64().is_some_and(|e| e < now);
        Ok(Inspection { header, claims, signature_valid, expired })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use palisade_crypto::signing::{SigningKey, generate_signing_key};
    use serde_json::json;

    use super::*;

    /// One key, counting how often validation needed it (i.e. verified a signature).
    struct OneKey(SigningKey, AtomicUsize);

    #[async_trait]
    impl KeySource for OneKey {
        async fn verification_key(&self, kid: &str) -> Result<Option<DecodingKey>, KeySourceError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            let jwk = self.0.jwk();
            Ok((kid == jwk.kid).then(|| DecodingKey::from_rsa_components(&jwk.n, &jwk.e).unwrap()))
        }
    }

    fn key() -> SigningKey {
        let g = generate_signing_key(time::OffsetDateTime::now_utc()).unwrap();
        SigningKey::load(&g.kid, &g.private_key_pkcs8, &g.cert_der).unwrap()
    }

    const AUD: &str = "https://api.securitycenter.microsoft.com";

    fn token(k: &SigningKey, tid: Uuid, nbf: i64, exp: i64) -> String {
        let claims = json!({"aud": AUD, "iss": format!("https://sts.windows.net/{tid}/"), "tid": tid.to_string(),
                            "iat": nbf, "nbf": nbf, "exp": exp, "roles": ["Alert.Read.All"]});
        k.sign_jwt(&json!({"typ": "JWT", "alg": "RS256", "kid": k.kid()}), &claims).unwrap()
    }

    #[tokio::test]
    async fn a_repeated_token_is_verified_once_and_only_the_identical_token_under_the_same_rules_hits() {
        let keys = Arc::new(OneKey(key(), AtomicUsize::new(0)));
        let v = AccessTokenValidator::new(keys.clone(), V2Issuers::RequestBase);
        let tid = Uuid::new_v4();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let t = token(&keys.0, tid, now, now + 3600);
        for _ in 0..5 {
            assert_eq!(v.validate(&t, &[AUD], "https://h").await.unwrap().tenant_id, tid);
        }
        assert_eq!(keys.1.load(Ordering::SeqCst), 1, "one signature verification for five calls");
        // A clone (another handler) shares the cache.
        v.clone().validate(&t, &[AUD], "https://h").await.unwrap();
        assert_eq!(keys.1.load(Ordering::SeqCst), 1);

        // The same token judged by other rules is judged afresh.
        assert!(matches!(
            v.validate(&t, &["https://graph.microsoft.com"], "https://h").await,
            Err(TokenInvalid::Audience(_))
        ));
        // A token with one signature byte changed never matches the cached one.
        let mut forged = t.clone().into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert!(matches!(v.validate(&forged, &[AUD], "https://h").await, Err(TokenInvalid::BadSignature)));
    }

    #[test]
    fn cached_verifications_rejudge_time_and_lapse() {
        let cache = VerifiedCache::default();
        let now = 1_000_000;
        let tok = ValidatedToken { claims: json!({"nbf": now, "exp": now + 600}), tenant_id: Uuid::nil() };
        let key = VerifiedCache::key("t", &[AUD], &[]);
        cache.put(key, &tok, now);
        assert!(matches!(cache.get(&key, now + 10), Some(Ok(_))));
        assert!(cache.get(&VerifiedCache::key("t", &[AUD], &["https://h"]), now).is_none(), "other issuers: a miss");
        assert!(cache.get(&key, now + VERIFIED_TTL_SECS).is_none(), "lapses after the TTL");
        // Expiry is judged on a hit with the same skew as a full validation.
        let skew = CLOCK_SKEW_SECS as i64;
        cache.put(key, &tok, now + 600 + skew);
        assert!(matches!(cache.get(&key, now + 600 + skew), Some(Ok(_))));
        assert!(matches!(cache.get(&key, now + 601 + skew), Some(Err(TokenInvalid::Expired))));
        assert!(cache.get(&key, now + 601 + skew).is_none(), "an expired entry is dropped");
        let early = ValidatedToken { claims: json!({"nbf": now + 1000, "exp": now + 2000}), tenant_id: Uuid::nil() };
        cache.put(key, &early, now);
        assert!(matches!(cache.get(&key, now), Some(Err(TokenInvalid::NotYetValid))));
    }
}
