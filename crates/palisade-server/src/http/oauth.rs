//! Protocol endpoints: token, device code, discovery, JWKS, instance discovery, user realm, ARM
//! metadata. Thin: parse, call [`Identity`], render.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use palisade_identity::claims::EndpointVersion;
use palisade_identity::discovery;
use palisade_identity::token::TokenRequest;
use serde_json::{Value, json};

use super::ctx::Ctx;
use super::errors::{AadResponse, no_store};
use crate::AppState;

/// Parses an `application/x-www-form-urlencoded` body whatever the Content-Type says (msticpy
/// sends none). The first occurrence of a key wins.
pub fn parse_form(body: &[u8]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        out.entry(k.into_owned()).or_insert_with(|| v.into_owned());
    }
    out
}

/// `Authorization: Basic base64(urlencode(client_id):urlencode(secret))`.
fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    let dec = |x: &str| form_urlencoded::parse(format!("v={x}").as_bytes()).next().map(|(_, v)| v.into_owned());
    Some((dec(id)?, dec(secret)?))
}

fn json_no_store(v: Value) -> Response {
    let mut r = (StatusCode::OK, Json(v)).into_response();
    no_store(&mut r);
    r
}

/// Discovery documents are cacheable and CORS-open, as Entra serves them.
fn json_discovery(v: Value) -> Response {
    let mut r = (StatusCode::OK, Json(v)).into_response();
    r.headers_mut().insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
    r.headers_mut().insert("cache-control", HeaderValue::from_static("max-age=86400, private"));
    r.headers_mut().insert("access-control-allow-origin", HeaderValue::from_static("*"));
    r
}

async fn token(
    state: &AppState,
    ctx: Ctx,
    version: EndpointVersion,
    tenant: String,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = TokenRequest { version, tenant, form: parse_form(&body), basic: basic_auth(&headers) };
    match state.identity.token(&ctx.0, &req).await {
        Ok(resp) => json_no_store(resp.to_json()),
        Err(e) => AadResponse::new(e, &ctx.0).into_response(),
    }
}

pub async fn token_v1(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(&state, ctx, EndpointVersion::V1, tenant, headers, body).await
}

pub async fn token_v2(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(&state, ctx, EndpointVersion::V2, tenant, headers, body).await
}

async fn devicecode(state: &AppState, ctx: Ctx, version: EndpointVersion, tenant: String, body: Bytes) -> Response {
    match state.identity.start_device_flow(&ctx.0, version, &tenant, &parse_form(&body)).await {
        Ok(v) => json_no_store(v),
        Err(e) => AadResponse::new(e, &ctx.0).into_response(),
    }
}

pub async fn devicecode_v1(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    devicecode(&state, ctx, EndpointVersion::V1, tenant, body).await
}

pub async fn devicecode_v2(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    devicecode(&state, ctx, EndpointVersion::V2, tenant, body).await
}

pub async fn openid_v1(State(state): State<AppState>, ctx: Ctx, Path(tenant): Path<String>) -> Response {
    match state.identity.openid_configuration_v1(&ctx.0, &tenant).await {
        Ok(v) => json_discovery(v),
        Err(e) => AadResponse::new(e, &ctx.0).into_response(),
    }
}

pub async fn openid_v2(State(state): State<AppState>, ctx: Ctx, Path(tenant): Path<String>) -> Response {
    match state.identity.openid_configuration_v2(&ctx.0, &tenant).await {
        Ok(v) => json_discovery(v),
        Err(e) => AadResponse::new(e, &ctx.0).into_response(),
    }
}

pub async fn jwks_v1(State(state): State<AppState>, ctx: Ctx, Path(tenant): Path<String>) -> Response {
    if let Err(e) = palisade_identity::tenancy::TenantSegment::parse(&tenant) {
        return AadResponse::new(e, &ctx.0).into_response();
    }
    match state.identity.jwks(&ctx.0, None).await {
        Ok(v) => json_discovery(v),
        Err(e) => AadResponse::new(e, &ctx.0).into_response(),
    }
}

pub async fn jwks_v2(State(state): State<AppState>, ctx: Ctx, Path(tenant): Path<String>) -> Response {
    match state.identity.jwks(&ctx.0, Some(&tenant)).await {
        Ok(v) => json_discovery(v),
        Err(e) => AadResponse::new(e, &ctx.0).into_response(),
    }
}

pub async fn instance(ctx: Ctx, Path(tenant): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !tenant.eq_ignore_ascii_case("common") {
        return StatusCode::NOT_FOUND.into_response();
    }
    // MSAL sends the authority it wants validated; anything we serve is valid here.
    json_discovery(discovery::instance_discovery(&ctx.0, q.get("api-version").map(String::as_str).unwrap_or("1.1")))
}

pub async fn userrealm(Path((tenant, upn)): Path<(String, String)>) -> Response {
    if !tenant.eq_ignore_ascii_case("common") {
        return StatusCode::NOT_FOUND.into_response();
    }
    json_discovery(discovery::user_realm(&upn))
}

pub async fn arm_metadata(ctx: Ctx) -> Response {
    json_discovery(discovery::arm_metadata(&ctx.0))
}

pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.identity.stores.directory.tenant(palisade_directory::catalog::SYSTEM_TENANT_ID).await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "detail": e.to_string()})))
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_url_decoded() {
        let mut h = HeaderMap::new();
        let raw = base64::engine::general_purpose::STANDARD.encode("my%20id:a%2Bb~c");
        h.insert(http::header::AUTHORIZATION, format!("Basic {raw}").parse().unwrap());
        assert_eq!(basic_auth(&h), Some(("my id".into(), "a+b~c".into())));
    }

    #[test]
    fn form_first_value_wins() {
        let f = parse_form(b"a=1&a=2&scope=x%20y");
        assert_eq!(f["a"], "1");
        assert_eq!(f["scope"], "x y");
    }
}
