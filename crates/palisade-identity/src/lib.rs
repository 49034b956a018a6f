//! The identity provider's domain logic, free of HTTP: resolving tenants, authenticating clients,
//! issuing access/ID/refresh tokens in the v1 and v2 formats, consent, the first-run directory,
//! administrative operations, discovery documents and token validation (against the local key ring
//! or, on an API-only node, an identity provider's JWKS URL).
//!
//! HTTP adapters (in `palisade-server`) turn requests into calls on [`Identity`] and its results
//! into responses; every rule about what Entra would answer lives here.

pub mod admin;
pub mod assertion;
pub mod authorize;
pub mod bootstrap;
pub mod claims;
pub mod client_auth;
pub mod consent;
pub mod discovery;
pub mod errors;
pub mod keys;
pub mod links;
pub mod remote_jwks;
pub mod scopes;
pub mod tenancy;
pub mod token;
pub mod validate;

use std::sync::Arc;

use palisade_directory::{StoreError, Stores};
use time::Duration;

pub use errors::AadError;
pub use keys::KeyRing;
pub use remote_jwks::{RemoteJwks, RemoteJwksConfig};
pub use validate::{AccessTokenValidator, KeySource, V2Issuers};

/// Internal failures (not the client's fault).
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] palisade_crypto::CryptoError),
    #[error("no signing key is published")]
    NoSigningKey,
}

impl From<IdentityError> for AadError {
    fn from(e: IdentityError) -> Self {
        errors::server_error(e)
    }
}

impl From<StoreError> for AadError {
    fn from(e: StoreError) -> Self {
        errors::server_error(e)
    }
}

/// Tunables of the token service. Defaults are Entra's.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Access-token lifetime; responses report `expires_in` = lifetime − 1 s (3599).
    pub access_token_lifetime: Duration,
    pub refresh_token_lifetime: Duration,
    pub code_lifetime: Duration,
    pub device_code_lifetime: Duration,
    pub device_code_interval: u32,
    /// Consecutive bad passwords before smart lockout (Entra: 10).
    pub lockout_threshold: u32,
    pub lockout_duration: Duration,
    pub session_lifetime: Duration,
    /// `iat`/`nbf` are back-dated by this much, as Entra does (5 minutes).
    pub backdate: Duration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            access_token_lifetime: Duration::seconds(3600),
            refresh_token_lifetime: Duration::days(90),
            code_lifetime: Duration::minutes(10),
            device_code_lifetime: Duration::minutes(15),
            device_code_interval: 5,
            lockout_threshold: 10,
            lockout_duration: Duration::seconds(60),
            session_lifetime: Duration::hours(12),
            backdate: Duration::minutes(5),
        }
    }
}

/// Where a request came in, so documents and tokens name the host the client used.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// `https://host[:port]`, no trailing slash.
    pub base_url: String,
    /// The client's `client-request-id`, echoed as `correlation_id`.
    pub correlation_id: Option<String>,
    pub client_ip: Option<String>,
}

/// The identity service: stores, keys and configuration.
#[derive(Clone)]
pub struct Identity {
    pub stores: Stores,
    pub keys: Arc<KeyRing>,
    pub config: Arc<IdentityConfig>,
    /// Validation of the tokens this node issued; one per node, so every caller (Graph, the
    /// Defender API, download links) shares its cache of verified tokens.
    pub tokens: AccessTokenValidator,
}

impl Identity {
    pub fn new(stores: Stores, keys: Arc<KeyRing>, config: IdentityConfig) -> Self {
        let tokens = AccessTokenValidator::local(keys.clone());
        Self { stores, keys, config: Arc::new(config), tokens }
    }
}
