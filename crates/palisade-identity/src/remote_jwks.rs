//! An identity provider's signing keys, fetched from its JWKS URL: what an API-only node checks
//! tokens against when another process (another Palisade, or Entra itself) issues them.
//!
//! Keys are cached in memory and fetched again when older than the refresh period or when a token
//! names an unknown `kid` (the provider rotated) — but never more often than the minimum
//! interval, so a stream of tokens with made-up kids cannot turn this node into a load generator
//! against the provider. Concurrent misses share one fetch. When a fetch fails, the last good keys
//! stay in use: a provider outage must not take the API down with it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use jsonwebtoken::DecodingKey;
use reqwest::Url;
use serde_json::Value;

use crate::validate::{KeySource, KeySourceError};

/// Largest JWKS document accepted (Entra's is a few KB).
const MAX_DOCUMENT: usize = 1 << 20;
/// Smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("the JWKS URL '{0}' is not a valid absolute URL")]
    InvalidUrl(String),
    #[error("the JWKS URL must use https (plain http only for a loopback host): {0}")]
    Insecure(String),
    #[error("the JWKS URL must not carry credentials")]
    Credentials,
    #[error(
        "no CA certificate to check the JWKS host's TLS certificate against: this build carries no \
         public root store, so set a CA file (for a public identity provider, the system bundle, \
         e.g. /etc/ssl/certs/ca-certificates.crt)"
    )]
    NoTrustRoots,
    #[error("the CA file holds no usable PEM certificate: {0}")]
    CaFile(String),
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
    #[error("fetching {url} failed: {reason}")]
    Fetch { url: String, reason: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is not a JWKS document: {reason}")]
    Document { url: String, reason: String },
    #[error("{url} publishes no usable signing key (kty RSA, use sig, RS256, at least 2048 bits)")]
    NoUsableKeys { url: String },
    #[error("the identity provider's keys have not been fetched yet ({0})")]
    NotLoaded(String),
}

/// Where the keys are and how often to fetch them.
#[derive(Debug, Clone)]
pub struct RemoteJwksConfig {
    /// `https://…` (plain `http://` only for loopback hosts).
    pub url: String,
    /// PEM certificates (one or a bundle) that the JWKS host's certificate chains to. Required for
    /// https: the build has no built-in root store.
    pub ca_pem: Option<Vec<u8>>,
    /// Keys older than this are fetched again on the next lookup.
    pub refresh_every: Duration,
    /// At most one fetch per this interval, whatever the tokens' kids.
    pub min_refresh_interval: Duration,
    /// Per-fetch time limit.
    pub timeout: Duration,
}

impl RemoteJwksConfig {
    pub const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);
    pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ca_pem: None,
            refresh_every: Self::DEFAULT_REFRESH,
            min_refresh_interval: Self::DEFAULT_MIN_REFRESH_INTERVAL,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, DecodingKey>,
    /// Last successful fetch.
    loaded_at: Option<Instant>,
    /// Last fetch, successful or not (the rate limit counts failures too).
    attempted_at: Option<Instant>,
    /// Fetches so far; a waiter that sees it move knows someone else just fetched.
    attempts: u64,
    last_error: Option<String>,
}

/// A [`KeySource`] over an identity provider's JWKS URL.
pub struct RemoteJwks {
    url: Url,
    http: reqwest::Client,
    refresh_every: Duration,
    min_refresh_interval: Duration,
    cache: RwLock<Cache>,
    /// Held for the duration of a fetch: concurrent misses queue here and reuse its result.
    fetching: tokio::sync::Mutex<()>,
}

impl RemoteJwks {
    /// Checks the URL and trust material and builds the client; fetches nothing yet.
    pub fn new(config: RemoteJwksConfig) -> Result<Self, JwksError> {
        let url = Url::parse(config.url.trim()).map_err(|_| JwksError::InvalidUrl(config.url.clone()))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(JwksError::Credentials);
        }
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            _ => return Err(JwksError::Insecure(url.to_string())),
        }
        let mut builder = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            // The trust anchor is the configured URL; a redirect elsewhere is not followed.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")));
        match &config.ca_pem {
            Some(pem) => {
                let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| JwksError::CaFile(e.to_string()))?;
                if certs.is_empty() {
                    return Err(JwksError::CaFile("no CERTIFICATE block".into()));
                }
                for c in certs {
                    builder = builder.add_root_certificate(c);
                }
            }
            None if url.scheme() == "https" => return Err(JwksError::NoTrustRoots),
            None => {}
        }
        let http = builder.build().map_err(|e| JwksError::Client(error_chain(&e)))?;
        Ok(Self {
            url,
            http,
            refresh_every: config.refresh_every,
            min_refresh_interval: config.min_refresh_interval,
            cache: RwLock::new(Cache::default()),
            fetching: tokio::sync::Mutex::new(()),
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `scheme://host[:port]` of the JWKS URL: the default v2 issuer base, since a provider
    /// publishes its keys on the host it issues from
    /// (`https://login.microsoftonline.com/common/discovery/v2.0/keys` →
    /// `https://login.microsoftonline.com/{tid}/v2.0`).
    pub fn origin(&self) -> String {
        self.url.origin().ascii_serialization()
    }

    /// Fetches now — sharing a fetch already under way, ignoring the rate limit (startup, tests).
    /// Returns how many keys are cached.
    pub async fn refresh(&self) -> Result<usize, JwksError> {
        let seen = self.read().attempts;
        let _fetching = self.fetching.lock().await;
        if self.read().attempts != seen {
            let c = self.read();
            return match c.loaded_at {
                Some(_) => Ok(c.keys.len()),
                None => Err(JwksError::NotLoaded(c.last_error.clone().unwrap_or_default())),
            };
        }
        self.fetch_and_store().await
    }

    /// The kids currently cached (diagnostics and tests).
    pub fn kids(&self) -> Vec<String> {
        let mut k: Vec<String> = self.read().keys.keys().cloned().collect();
        k.sort();
        k
    }

    /// How many fetches have been made (diagnostics and tests).
    pub fn fetches(&self) -> u64 {
        self.read().attempts
    }

    fn read(&self) -> RwLockReadGuard<'_, Cache> {
        self.cache.read().unwrap_or_else(|e| e.into_inner())
    }

    /// One fetch, recorded in the cache. Call with `fetching` held.
    async fn fetch_and_store(&self) -> Result<usize, JwksError> {
        let result = self.fetch().await;
        let mut c = self.cache.write().unwrap_or_else(|e| e.into_inner());
        c.attempts += 1;
        c.attempted_at = Some(Instant::now());
        match result {
            Ok(keys) => {
                let n = keys.len();
                tracing::debug!(url = %self.url, keys = n, "JWKS fetched");
                c.keys = keys;
                c.loaded_at = c.attempted_at;
                c.last_error = None;
                Ok(n)
            }
            Err(e) => {
                tracing::warn!(error = %e, cached_keys = c.keys.len(), "JWKS fetch failed; the last good keys stay in use");
                c.last_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    async fn fetch(&self) -> Result<HashMap<String, DecodingKey>, JwksError> {
        let url = self.url.to_string();
        let fetch_err = |e: reqwest::Error| JwksError::Fetch { url: url.clone(), reason: error_chain(&e) };
        let mut resp = self
            .http
            .get(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(fetch_err)?;
        if !resp.status().is_success() {
            return Err(JwksError::Status { url, status: resp.status().as_u16() });
        }
        let too_large =
            || JwksError::Document { url: url.clone(), reason: format!("larger than {MAX_DOCUMENT} bytes") };
        if resp.content_length().is_some_and(|n| n > MAX_DOCUMENT as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(fetch_err)? {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|e| JwksError::Document { url: url.clone(), reason: e.to_string() })?;
        let listed = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JwksError::Document { url: url.clone(), reason: "no \"keys\" array".into() })?;
        let mut keys = HashMap::new();
        for k in listed {
            match usable_key(k) {
                Ok((kid, key)) => {
                    keys.entry(kid).or_insert(key);
                }
                Err(why) => tracing::debug!(kid = k["kid"].as_str().unwrap_or(""), why, "JWKS entry skipped"),
            }
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys { url });
        }
        Ok(keys)
    }

    /// What the cache says about `kid` now.
    fn answer(&self, kid: &str) -> Result<Option<DecodingKey>, KeySourceError> {
        let c = self.read();
        if let Some(k) = c.keys.get(kid) {
            return Ok(Some(k.clone()));
        }
        if c.loaded_at.is_none() {
            let why = c.last_error.clone().unwrap_or_else(|| "no fetch has succeeded".into());
            return Err(JwksError::NotLoaded(why).into());
        }
        Ok(None)
    }
}

#[async_trait]
impl KeySource for RemoteJwks {
    async fn verification_key(&self, kid: &str) -> Result<Option<DecodingKey>, KeySourceError> {
        let (known, fresh, may_fetch, seen) = {
            let c = self.read();
            (
                c.keys.contains_key(kid),
                c.loaded_at.is_some_and(|t| t.elapsed() < self.refresh_every),
                c.attempted_at.is_none_or(|t| t.elapsed() >= self.min_refresh_interval),
                c.attempts,
            )
        };
        if (known && fresh) || !may_fetch {
            return self.answer(kid);
        }
        let _fetching = self.fetching.lock().await;
        let fetched_meanwhile = self.read().attempts != seen;
        if !fetched_meanwhile {
            // A failure is logged and recorded; the cached keys still answer below.
            let _ = self.fetch_and_store().await;
        }
        self.answer(kid)
    }
}

/// Whether a JWKS entry can verify RS256 tokens; the kid and key if so.
fn usable_key(k: &Value) -> Result<(String, DecodingKey), &'static str> {
    if k["kty"].as_str() != Some("RSA") {
        return Err("kty is not RSA");
    }
    if !matches!(k.get("use"), None | Some(Value::Null)) && k["use"].as_str() != Some("sig") {
        return Err("use is not sig");
    }
    if let Some(alg) = k.get("alg").filter(|a| !a.is_null())
        && alg.as_str() != Some("RS256")
    {
        return Err("alg is not RS256");
    }
    let kid = k["kid"].as_str().filter(|s| !s.is_empty()).ok_or("no kid")?;
    let (n, e) = (k["n"].as_str().ok_or("no n")?, k["e"].as_str().ok_or("no e")?);
    let modulus = palisade_crypto::b64::url_decode_lenient(n).ok_or("n is not base64url")?;
    if modulus_bits(&modulus) < MIN_RSA_BITS {
        return Err("RSA modulus shorter than 2048 bits");
    }
    let key = DecodingKey::from_rsa_components(n, e).map_err(|_| "invalid RSA components")?;
    Ok((kid.to_string(), key))
}

fn modulus_bits(be: &[u8]) -> usize {
    match be.iter().position(|b| *b != 0) {
        Some(i) => (be.len() - i) * 8 - be[i].leading_zeros() as usize,
        None => 0,
    }
}

fn is_loopback(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An error with its causes (reqwest's own message omits the TLS or connect failure behind it).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use palisade_crypto::signing::{SigningKey, generate_signing_key};
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use uuid::Uuid;

    use super::*;
    use crate::validate::{AccessTokenValidator, TokenInvalid, V2Issuers};

    /// A plain-HTTP JWKS endpoint on loopback that counts its requests.
    struct FakeIdp {
        url: String,
        base: String,
        hits: Arc<AtomicUsize>,
        /// The body served; `None` answers 503.
        body: Arc<std::sync::Mutex<Option<String>>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl FakeIdp {
        async fn start(body: Value) -> Self {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let hits = Arc::new(AtomicUsize::new(0));
            let body = Arc::new(std::sync::Mutex::new(Some(body.to_string())));
            let (h, b) = (hits.clone(), body.clone());
            let task = tokio::spawn(async move {
                loop {
                    let Ok((mut sock, _)) = listener.accept().await else { return };
                    let (h, b) = (h.clone(), b.clone());
                    tokio::spawn(async move {
                        let mut req = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                            match sock.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => req.extend_from_slice(&buf[..n]),
                            }
                        }
                        h.fetch_add(1, Ordering::SeqCst);
                        // A little latency, so concurrent lookups overlap one fetch.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        let body = b.lock().unwrap().clone();
                        let resp = match body {
                            Some(body) => format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                                body.len()
                            ),
                            None => {
                                "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                                    .to_string()
                            }
                        };
                        let _ = sock.write_all(resp.as_bytes()).await;
                        let _ = sock.shutdown().await;
                    });
                }
            });
            Self { url: format!("{base}/common/discovery/v2.0/keys"), base, hits, body, task }
        }

        fn serve(&self, body: Option<Value>) {
            *self.body.lock().unwrap() = body.map(|b| b.to_string());
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    impl Drop for FakeIdp {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    fn key() -> SigningKey {
        let g = generate_signing_key(time::OffsetDateTime::now_utc()).unwrap();
        SigningKey::load(&g.kid, &g.private_key_pkcs8, &g.cert_der).unwrap()
    }

    fn jwks(keys: &[&SigningKey]) -> Value {
        json!({"keys": keys.iter().map(|k| serde_json::to_value(k.jwk()).unwrap()).collect::<Vec<_>>()})
    }

    fn remote(url: &str, min_interval: Duration, refresh: Duration) -> RemoteJwks {
        RemoteJwks::new(RemoteJwksConfig {
            min_refresh_interval: min_interval,
            refresh_every: refresh,
            ..RemoteJwksConfig::new(url)
        })
        .unwrap()
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn unknown_kids_refetch_at_most_once_per_interval() {
        let k1 = key();
        let idp = FakeIdp::start(jwks(&[&k1])).await;
        let r = remote(&idp.url, HOUR, HOUR);
        assert!(r.verification_key(k1.kid()).await.unwrap().is_some());
        assert_eq!(idp.hits(), 1);
        // Known kid: from the cache.
        for _ in 0..10 {
            assert!(r.verification_key(k1.kid()).await.unwrap().is_some());
        }
        assert_eq!(idp.hits(), 1);
        // Made-up kids within the interval: no fetch at all, just "unknown".
        for i in 0..50 {
            assert!(r.verification_key(&format!("forged-{i}")).await.unwrap().is_none());
        }
        assert_eq!(idp.hits(), 1, "random kids must not reach the identity provider");
    }

    #[tokio::test]
    async fn a_rotation_is_picked_up_on_the_first_unknown_kid_after_the_interval() {
        let (k1, k2) = (key(), key());
        let idp = FakeIdp::start(jwks(&[&k1])).await;
        let r = remote(&idp.url, Duration::from_secs(1), HOUR);
        r.refresh().await.unwrap();
        idp.serve(Some(jwks(&[&k2, &k1])));
        // Too soon after the last fetch: still unknown, no request made.
        assert!(r.verification_key(k2.kid()).await.unwrap().is_none());
        assert_eq!(idp.hits(), 1);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert!(r.verification_key(k2.kid()).await.unwrap().is_some());
        assert_eq!(idp.hits(), 2);
        assert_eq!(r.kids().len(), 2);
    }

    #[tokio::test]
    async fn concurrent_misses_share_one_fetch() {
        let (k1, k2) = (key(), key());
        let idp = FakeIdp::start(jwks(&[&k1])).await;
        let r = Arc::new(remote(&idp.url, Duration::ZERO, HOUR));
        r.refresh().await.unwrap();
        idp.serve(Some(jwks(&[&k1, &k2])));
        let lookups = (0..32).map(|_| {
            let (r, kid) = (r.clone(), k2.kid().to_string());
            tokio::spawn(async move { r.verification_key(&kid).await.unwrap().is_some() })
        });
        let found: Vec<bool> = futures_join(lookups).await;
        assert!(found.iter().all(|f| *f));
        assert_eq!(idp.hits(), 2, "one startup fetch plus one shared by 32 concurrent misses");
    }

    async fn futures_join<T: Send + 'static>(hs: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
        let mut out = Vec::new();
        for h in hs.collect::<Vec<_>>() {
            out.push(h.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn stale_keys_are_refetched_and_kept_when_the_idp_is_down() {
        let k1 = key();
        let idp = FakeIdp::start(jwks(&[&k1])).await;
        let r = remote(&idp.url, Duration::ZERO, Duration::from_millis(100));
        assert!(r.verification_key(k1.kid()).await.unwrap().is_some());
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(r.verification_key(k1.kid()).await.unwrap().is_some());
        assert_eq!(idp.hits(), 2, "older than the refresh period: fetched again");
        idp.serve(None);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(r.verification_key(k1.kid()).await.unwrap().is_some(), "the last good keys stay in use");
        assert_eq!(idp.hits(), 3);
        assert!(matches!(r.refresh().await, Err(JwksError::Status { status: 503, .. })));
    }

    #[tokio::test]
    async fn never_loaded_is_unavailable_not_unknown() {
        let idp = FakeIdp::start(json!({})).await;
        idp.serve(None);
        let r = remote(&idp.url, HOUR, HOUR);
        assert!(matches!(r.verification_key("any").await, Err(KeySourceError::Remote(JwksError::NotLoaded(_)))));
        // Rate-limited, and still not loaded.
        assert!(r.verification_key("any").await.is_err());
        assert_eq!(idp.hits(), 1);
    }

    #[tokio::test]
    async fn only_rsa_signing_keys_are_taken() {
        let good = key();
        let mut doc = jwks(&[&good]);
        let jwk = doc["keys"][0].clone();
        let variant = |f: &dyn Fn(&mut Value)| {
            let mut k = jwk.clone();
            f(&mut k);
            k
        };
        let bad = [
            variant(&|k| {
                k["kid"] = json!("enc");
                k["use"] = json!("enc");
            }),
            variant(&|k| {
                k["kid"] = json!("ec");
                k["kty"] = json!("EC");
            }),
            variant(&|k| {
                k["kid"] = json!("hs");
                k["alg"] = json!("HS256");
            }),
            variant(&|k| {
                k["kid"] = json!("short");
                k["n"] = json!(palisade_crypto::b64::url_encode([0xC5u8; 128]));
            }),
            json!({"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}),
        ];
        doc["keys"].as_array_mut().unwrap().extend(bad);
        let with_alg = variant(&|k| {
            k["kid"] = json!("alg-rs256");
            k["alg"] = json!("RS256");
        });
        doc["keys"].as_array_mut().unwrap().push(with_alg);
        let idp = FakeIdp::start(doc).await;
        let r = remote(&idp.url, HOUR, HOUR);
        assert_eq!(r.refresh().await.unwrap(), 2);
        let mut want = vec![good.kid().to_string(), "alg-rs256".to_string()];
        want.sort();
        assert_eq!(r.kids(), want);
        idp.serve(Some(json!({"keys": [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}]})));
        assert!(matches!(r.refresh().await, Err(JwksError::NoUsableKeys { .. })));
        assert_eq!(r.kids(), want, "a bad document does not empty the cache");
    }

    #[test]
    fn urls_and_trust_are_checked_up_front() {
        let err = |url: &str, ca: Option<&[u8]>| {
            RemoteJwks::new(RemoteJwksConfig { ca_pem: ca.map(<[u8]>::to_vec), ..RemoteJwksConfig::new(url) })
                .err()
                .map(|e| e.to_string())
        };
        assert!(err("http://idp.example/keys", None).unwrap().contains("https"));
        assert!(err("https://idp.example/keys", None).unwrap().contains("ca-certificates.crt"));
        assert!(err("https://user:pw@idp.example/keys", None).unwrap().contains("credentials"));
        assert!(err("not a url", None).unwrap().contains("not a valid"));
        assert!(err("https://idp.example/keys", Some(b"garbage")).unwrap().contains("CA file"));
        assert_eq!(err("http://127.0.0.1:9/keys", None), None);
        assert_eq!(err("http://[::1]:9/keys", None), None);
        assert_eq!(err("http://localhost:9/keys", None), None);
        let r = RemoteJwks::new(RemoteJwksConfig::new("http://localhost:9/common/discovery/v2.0/keys")).unwrap();
        assert_eq!(r.origin(), "http://localhost:9");
        let ms = RemoteJwks::new(RemoteJwksConfig {
            ca_pem: Some(test_ca_pem()),
            ..RemoteJwksConfig::new("https://login.microsoftonline.com/common/discovery/v2.0/keys")
        })
        .unwrap();
        assert_eq!(ms.origin(), "https://login.microsoftonline.com");
    }

    fn test_ca_pem() -> Vec<u8> {
        let g = generate_signing_key(time::OffsetDateTime::now_utc()).unwrap();
        let b64 = palisade_crypto::b64::std_encode(&g.cert_der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n")).into_bytes()
    }

    fn sign(k: &SigningKey, claims: &Value) -> String {
        k.sign_jwt(&json!({"typ": "JWT", "alg": "RS256", "kid": k.kid()}), claims).unwrap()
    }

    #[tokio::test]
    async fn validator_over_remote_keys_trusts_the_configured_issuers_only() {
        let k = key();
        let idp = FakeIdp::start(jwks(&[&k])).await;
        let r = Arc::new(remote(&idp.url, HOUR, HOUR));
        let v = AccessTokenValidator::new(r.clone(), V2Issuers::Bases(vec![format!("{}/", r.origin())]));
        let tid = Uuid::new_v4();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = |iss: String| {
            json!({"aud": "https://api.securitycenter.microsoft.com", "iss": iss, "tid": tid.to_string(),
                   "iat": now, "nbf": now, "exp": now + 600, "roles": ["Machine.Read.All"]})
        };
        let aud = ["https://api.securitycenter.microsoft.com"];
        let v2 = sign(&k, &claims(format!("{}/{tid}/v2.0", idp.base)));
        let ok = v.validate(&v2, &aud, "https://api-node.example").await.unwrap();
        assert_eq!(ok.tenant_id, tid);
        let v1 = sign(&k, &claims(format!("https://sts.windows.net/{tid}/")));
        v.validate(&v1, &aud, "https://api-node.example").await.unwrap();
        // The host the API node was called by is not an issuer in remote mode.
        let own = sign(&k, &claims(format!("https://api-node.example/{tid}/v2.0")));
        assert!(matches!(v.validate(&own, &aud, "https://api-node.example").await, Err(TokenInvalid::Issuer(_))));
        // Another tenant's issuer.
        let other = sign(&k, &claims(format!("https://sts.windows.net/{}/", Uuid::new_v4())));
        assert!(matches!(v.validate(&other, &aud, "https://x").await, Err(TokenInvalid::Issuer(_))));
        // A foreign key under a published kid, and an unpublished kid.
        let foreign = key();
        let forged = foreign
            .sign_jwt(
                &json!({"typ": "JWT", "alg": "RS256", "kid": k.kid()}),
                &claims(format!("https://sts.windows.net/{tid}/")),
            )
            .unwrap();
        assert_eq!(v.validate(&forged, &aud, "https://x").await.unwrap_err(), TokenInvalid::BadSignature);
        let unknown = sign(&foreign, &claims(format!("https://sts.windows.net/{tid}/")));
        assert!(matches!(v.validate(&unknown, &aud, "https://x").await, Err(TokenInvalid::UnknownKey(_))));
        assert_eq!(idp.hits(), 1);
    }
}
