//! API-only nodes: the same binary serving just the Defender API, trusting an identity provider
//! elsewhere (another Palisade, or Entra) by its JWKS URL, so API nodes scale apart from token
//! issuance. Bearer tokens are checked against the provider's keys (cached, re-fetched on an
//! unknown `kid` at most once per interval), the v1 issuer of the token's own tenant or the v2
//! issuer under a configured base, the audience allow-list, and `exp`/`nbf` with 5 minutes of
//! skew. The node still opens its store (`data_dir`) for security data, quotas, faults and the
//! audit trail.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use palisade_identity::remote_jwks::JwksError;
use palisade_identity::{AccessTokenValidator, RemoteJwks, RemoteJwksConfig, V2Issuers};

use crate::config::ApiNodeSettings;
use crate::{App, AppState, HyperRequest, http};

#[derive(Debug, thiserror::Error)]
pub enum ApiNodeError {
    #[error(transparent)]
    Jwks(#[from] JwksError),
    #[error("cannot read the JWKS CA file {path}: {source}")]
    CaFile { path: PathBuf, source: std::io::Error },
    #[error("issuer base '{0}' is not an origin (scheme://host[:port]) such as https://login.microsoftonline.com")]
    IssuerBase(String),
}

/// The validator of an API node: the provider's JWKS and the issuers it is trusted for. Fetches
/// the keys once now; if the provider is not reachable yet the node still starts (tokens are
/// answered 500 until the first fetch succeeds), so start order does not matter.
pub async fn validator(settings: &ApiNodeSettings) -> Result<AccessTokenValidator, ApiNodeError> {
    let ca_pem = match &settings.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| ApiNodeError::CaFile { path: path.clone(), source })?),
        None => None,
    };
    let jwks = RemoteJwks::new(RemoteJwksConfig {
        ca_pem,
        refresh_every: Duration::from_secs(settings.refresh_secs.max(1)),
        min_refresh_interval: Duration::from_secs(settings.min_refresh_secs),
        ..RemoteJwksConfig::new(&settings.jwks_url)
    })?;
    let bases = if settings.issuer_bases.is_empty() {
        vec![jwks.origin()]
    } else {
        settings.issuer_bases.iter().map(|b| issuer_base(b)).collect::<Result<_, _>>()?
    };
    match jwks.refresh().await {
        Ok(n) => {
            tracing::info!(jwks = %jwks.url(), keys = n, issuer_bases = ?bases, "API node: trusting the identity provider's keys")
        }
        Err(e) => {
            tracing::warn!(error = %e, "API node: the identity provider's keys are not available yet; tokens are refused until they are")
        }
    }
    Ok(AccessTokenValidator::new(Arc::new(jwks), V2Issuers::Bases(bases)))
}

/// `scheme://host[:port]`, as it appears in the issuer; a path or query is a configuration error.
fn issuer_base(raw: &str) -> Result<String, ApiNodeError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let bad = || ApiNodeError::IssuerBase(raw.to_string());
    let url = url::Url::parse(trimmed).map_err(|_| bad())?;
    let is_origin = matches!(url.scheme(), "https" | "http")
        && url.host_str().is_some()
        && url.path() == "/"
        && url.query().is_none()
        && url.username().is_empty();
    if !is_origin {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

/// What an API node serves: `/healthz`, the Defender routes under `/api` and `/api/v1.0`, and the
/// signed download links those routes hand out. No protocol, page, Graph or operator routes.
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/healthz", get(http::oauth::healthz))
        .nest("/api", crate::api_routes())
        .nest("/api/v1.0", crate::api_routes())
        .route("/palisade/downloads/{token}", get(http::security::download));
    crate::layered(routes, state)
}

/// [`router`] with `/api` paths matched case-insensitively, like [`crate::app`].
pub fn app(state: AppState) -> App {
    tower::util::MapRequest::new(
        router(state),
        http::defender::canonical_api_path::<hyper::body::Incoming> as fn(HyperRequest) -> HyperRequest,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_bases_are_origins() {
        assert_eq!(issuer_base("https://login.microsoftonline.com/").unwrap(), "https://login.microsoftonline.com");
        assert_eq!(issuer_base("https://idp.example:8443").unwrap(), "https://idp.example:8443");
        assert_eq!(issuer_base("https://idp.example:443").unwrap(), "https://idp.example");
        assert!(issuer_base("https://idp.example/tenant/v2.0").is_err());
        assert!(issuer_base("idp.example").is_err());
        assert!(issuer_base("ftp://idp.example").is_err());
    }
}
