//! Per-request context: the host the client called (every URL we emit names it), the client's
//! correlation id, and its IP.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use palisade_identity::RequestContext;
use std::convert::Infallible;
use std::net::SocketAddr;

pub struct Ctx(pub RequestContext);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| parts.uri.authority().map(|a| a.to_string()))
            .unwrap_or_else(|| "localhost".into());
        // Only characters a host[:port] may contain, so a hostile Host header cannot inject markup or paths.
        let host: String =
            host.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')).collect();
        let host = host.strip_suffix(":443").unwrap_or(&host).to_string();
        let correlation_id = parts
            .headers
            .get("client-request-id")
            .or_else(|| parts.headers.get("x-ms-client-request-id"))
            .and_then(|h| h.to_str().ok())
            .map(|s| s.chars().take(64).collect());
        let client_ip = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(Ctx(RequestContext { base_url: format!("https://{host}"), correlation_id, client_ip }))
    }
}

/// The token of an `Authorization: Bearer <token>` header (`Bearer` or `bearer`).
pub fn bearer_token(parts: &Parts) -> Option<String> {
    let v = parts.headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).map(|t| t.trim().to_string())
}
