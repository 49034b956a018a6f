//! The token service's signing keys: loaded from the [`KeyStore`](palisade_directory::KeyStore),
//! cached in memory, refreshed periodically so that every node picks up a rotation made by any
//! other node.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use palisade_crypto::signing::{self, Jwk, SigningKey};
use palisade_directory::{SigningKeyRecord, Stores};
use time::{Duration, OffsetDateTime};
use tokio::sync::RwLock;

use crate::IdentityError;

struct Loaded {
    /// Published keys, newest first; the first one signs.
    keys: Vec<Arc<SigningKey>>,
    loaded_at: Instant,
}

/// Shared handle to the current key set.
pub struct KeyRing {
    stores: Stores,
    refresh_every: StdDuration,
    state: RwLock<Loaded>,
}

impl KeyRing {
    /// Loads the key set, generating the first key if the store has none.
    pub async fn open(stores: Stores, refresh_every: StdDuration) -> Result<Self, IdentityError> {
        let mut records = stores.keys.signing_keys().await?;
        if records.is_empty() {
            let rec = new_record(OffsetDateTime::now_utc())?;
            stores.keys.add_signing_key(&rec).await?;
            records = stores.keys.signing_keys().await?;
        }
        let keys = load(&records)?;
        Ok(Self { stores, refresh_every, state: RwLock::new(Loaded { keys, loaded_at: Instant::now() }) })
    }

    /// The key that signs new tokens.
    pub async fn active(&self) -> Result<Arc<SigningKey>, IdentityError> {
        self.maybe_refresh().await?;
        let st = self.state.read().await;
        st.keys.first().cloned().ok_or(IdentityError::NoSigningKey)
    }

    /// Published JWKs (active first).
    pub async fn jwks(&self) -> Result<Vec<Jwk>, IdentityError> {
        self.maybe_refresh().await?;
        Ok(self.state.read().await.keys.iter().map(|k| k.jwk().clone()).collect())
    }

    /// Adds a new key that signs from now on. Older keys stay published until every token they
    /// signed has expired (`max_token_lifetime` plus a margin for clock skew).
    pub async fn rotate(&self, max_token_lifetime: Duration) -> Result<String, IdentityError> {
        let now = OffsetDateTime::now_utc();
        let rec = new_record(now)?;
        self.stores.keys.add_signing_key(&rec).await?;
        self.stores.keys.retire_signing_keys_except(&rec.kid, now + max_token_lifetime + Duration::minutes(5)).await?;
        self.reload().await?;
        Ok(rec.kid)
    }

    pub async fn reload(&self) -> Result<(), IdentityError> {
        let records = self.stores.keys.signing_keys().await?;
        let keys = load(&records)?;
        *self.state.write().await = Loaded { keys, loaded_at: Instant::now() };
        Ok(())
    }

    async fn maybe_refresh(&self) -> Result<(), IdentityError> {
        let stale = self.state.read().await.loaded_at.elapsed() > self.refresh_every;
        if stale { self.reload().await } else { Ok(()) }
    }
}

/// Verification from the shared key store: an unknown `kid` re-reads the store once, since another
/// node may have rotated moments ago (a local read, so no rate limit is needed).
#[async_trait::async_trait]
impl crate::validate::KeySource for KeyRing {
    async fn verification_key(
        &self,
        kid: &str,
    ) -> Result<Option<jsonwebtoken::DecodingKey>, crate::validate::KeySourceError> {
        let mut jwks = self.jwks().await?;
        if !jwks.iter().any(|k| k.kid == kid) {
            let _ = self.reload().await;
            jwks = self.jwks().await?;
        }
        match jwks.into_iter().find(|k| k.kid == kid) {
            Some(jwk) => jsonwebtoken::DecodingKey::from_rsa_components(&jwk.n, &jwk.e)
                .map(Some)
                .map_err(|e| IdentityError::from(palisade_crypto::CryptoError::InvalidKey(e.to_string())).into()),
            None => Ok(None),
        }
    }
}

fn new_record(now: OffsetDateTime) -> Result<SigningKeyRecord, IdentityError> {
    let g = signing::generate_signing_key(now)?;
    Ok(SigningKeyRecord {
        kid: g.kid,
        private_key_pkcs8: g.private_key_pkcs8,
        cert_der: g.cert_der,
        created_at: now,
        retire_at: None,
    })
}

fn load(records: &[SigningKeyRecord]) -> Result<Vec<Arc<SigningKey>>, IdentityError> {
    let now = OffsetDateTime::now_utc();
    let mut published: Vec<&SigningKeyRecord> = records.iter().filter(|r| r.is_published(now)).collect();
    // Newest unretired key signs; retired-but-published keys follow.
    published.sort_by_key(|r| (r.retire_at.is_some(), std::cmp::Reverse(r.created_at)));
    published
        .into_iter()
        .map(|r| SigningKey::load(&r.kid, &r.private_key_pkcs8, &r.cert_der).map(Arc::new).map_err(IdentityError::from))
        .collect()
}
