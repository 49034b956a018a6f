//! Defender for Endpoint / Microsoft 365 Defender API adapters. Authentication here, decisions in
//! `palisade-defender`: a bearer token is validated strictly (signature, issuer of its own tenant,
//! the audience allow-list, expiry), then judged against the operation's permissions.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use palisade_defender::indicators::{self, IndicatorSubmission, MAX_BATCH};
use palisade_defender::quota::{self, ChargeError};
use palisade_defender::rbac::DeviceScope;
use palisade_defender::{Caller, DefenderError, Operation, accepted_audiences, authorize};
use palisade_identity::validate::TokenInvalid;
use palisade_odata::QueryOptions;
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::ctx::Ctx;
use crate::AppState;

/// The static path segments of the Defender routes. Requests under `/api` are matched
/// case-insensitively, as the service does: [`canonical_api_path`] rewrites these to this spelling
/// before routing.
pub const API_SEGMENTS: &[&str] = &[
    "api",
    "v1.0",
    "$count",
    "indicators",
    "BatchDelete",
    "import",
    "alerts",
    "batchUpdate",
    "domains",
    "files",
    "ips",
    "machine",
    "user",
    "users",
    "machines",
    "logonusers",
    "findbytag",
    "tags",
    "AddOrRemoveTagForMultipleMachines",
    "setDeviceValue",
    "isolate",
    "unisolate",
    "restrictCodeExecution",
    "unrestrictCodeExecution",
    "runAntiVirusScan",
    "collectInvestigationPackage",
    "offboard",
    "StopAndQuarantineFile",
    "runliveresponse",
    "machineactions",
    "getPackageUri",
    "cancel",
    "stats",
    "incidents",
    "openapi.json",
    "palisade",
    "ingest",
];

/// Rewrites `/api/...` paths to the canonical casing of [`API_SEGMENTS`].
pub fn canonical_api_path<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    let path = req.uri().path();
    let under_api =
        path.len() >= 4 && path[..4].eq_ignore_ascii_case("/api") && (path.len() == 4 || path.as_bytes()[4] == b'/');
    if !under_api {
        return req;
    }
    let canonical: Vec<&str> = path
        .split('/')
        .map(|seg| API_SEGMENTS.iter().find(|k| k.eq_ignore_ascii_case(seg)).copied().unwrap_or(seg))
        .collect();
    let canonical = canonical.join("/");
    if canonical != path {
        let pq = match req.uri().query() {
            Some(q) => format!("{canonical}?{q}"),
            None => canonical,
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(p) = pq.parse() {
            parts.path_and_query = Some(p);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}

/// A Defender error as a response (with `Retry-After` for 429).
pub struct ApiError(pub DefenderError, pub Option<u32>);

impl From<DefenderError> for ApiError {
    fn from(e: DefenderError) -> Self {
        Self(e, None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = (status, Json(self.0.body(Uuid::new_v4()))).into_response();
        if let Some(secs) = self.1 {
            r.headers_mut().insert(http::header::RETRY_AFTER, secs.into());
        }
        r
    }
}

pub(crate) type ApiResult = Result<Response, ApiError>;

/// The authenticated caller of the Defender API, with the host it called.
pub struct ApiCaller {
    pub caller: Caller,
    /// `app_displayname` of the token, for `createdBySource` and friends.
    pub display_name: String,
    /// Who the service names as the actor (`requestor`, comment authors): the user's UPN for
    /// delegated calls, the application's display name for application calls.
    pub actor: String,
    pub base_url: String,
    /// Path and query the client called (before routing stripped any prefix), for
    /// `@odata.nextLink`.
    pub path_and_query: String,
}

/// Who called: tenant, application, user (delegated calls).
type Who = (Uuid, String, Option<Uuid>);

/// Filled by [`ApiCaller`] so [`audit_api`] knows who called.
#[derive(Clone, Default)]
pub struct AuditSlot(std::sync::Arc<std::sync::Mutex<Option<Who>>>);

/// Records every `/api` call — refused ones included — in the audit trail.
pub async fn audit_api(
    State(state): State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !req.uri().path().starts_with("/api") {
        return next.run(req).await;
    }
    let slot = AuditSlot::default();
    req.extensions_mut().insert(slot.clone());
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    let who = slot.0.lock().ok().and_then(|mut g| g.take());
    let rec = palisade_defender::audit::AuditRecord {
        time: now(),
        tenant_id: who.as_ref().map(|w| w.0),
        app_id: who.as_ref().map(|w| w.1.clone()),
        user_id: who.and_then(|w| w.2),
        method,
        path,
        status: resp.status().as_u16(),
        latency_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    state.audit.record(rec).await;
    resp
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Ctx(ctx) = Ctx::from_request_parts(parts, state).await.expect("infallible");
        let token = super::ctx::bearer_token(parts)
            .ok_or_else(|| DefenderError::unauthorized("No bearer token was sent (Authorization: Bearer <token>)."))?;
        let audiences: Vec<&str> = accepted_audiences().iter().map(String::as_str).collect();
        // The node's validator: its own key ring, or on an API node the trusted IdP's JWKS.
        let validated = state.api_tokens.validate(&token, &audiences, &ctx.base_url).await.map_err(|e| match e {
            // A valid token for another resource is refused as forbidden, as the service does.
            TokenInvalid::Audience(aud) => DefenderError::forbidden(format!(
                "The token's audience '{aud}' is not accepted here. Request a token for https://api.securitycenter.microsoft.com (or https://api.security.microsoft.com)."
            )),
            // Not the client's fault, and a new token would not help: a retryable server error.
            TokenInvalid::KeysUnavailable(why) => {
                tracing::warn!(error = %why, "bearer token not checked: no signing keys");
                DefenderError::new(
                    500,
                    "InternalServerError",
                    "The identity provider's signing keys are unavailable; retry later.",
                )
            }
            other => DefenderError::unauthorized(format!("{other}.")),
        })?;
        let caller = Caller::from_claims(&validated.claims)?;
        if let Some(slot) = parts.extensions.get::<AuditSlot>()
            && let Ok(mut g) = slot.0.lock()
        {
            let user = match &caller {
                Caller::User { user_id, .. } => Some(*user_id),
                Caller::App { .. } => None,
            };
            *g = Some((caller.tenant_id(), caller.app_id().to_string(), user));
        }
        let display_name = validated.claims["app_displayname"]
            .as_str()
            .or(validated.claims["upn"].as_str())
            .unwrap_or(caller.app_id())
            .to_string();
        let actor = match &caller {
            Caller::User { .. } => validated.claims["upn"]
                .as_str()
                .or(validated.claims["preferred_username"].as_str())
                .unwrap_or(&display_name)
                .to_string(),
            Caller::App { .. } => display_name.clone(),
        };
        // The original URI: nested routers strip `/api`, and HTTP/2 requests carry the authority.
        let uri = parts.extensions.get::<axum::extract::OriginalUri>().map_or(&parts.uri, |o| &o.0);
        let path_and_query = uri.path_and_query().map_or_else(|| uri.path().to_string(), |pq| pq.to_string());
        Ok(ApiCaller { caller, display_name, actor, base_url: ctx.base_url, path_and_query })
    }
}

impl ApiCaller {
    /// Admits a call of `op`: the token must carry an accepted permission (and a delegated
    /// caller's user the portal permission), then the tenant's quota for the API is charged.
    /// Returns which devices the caller sees.
    pub(crate) async fn admit(&self, state: &AppState, op: Operation) -> Result<DeviceScope, ApiError> {
        // Injected faults first: an "expired token" is refused whatever it grants.
        match state.faults.faults(self.caller.tenant_id(), self.caller.app_id()).await {
            Ok(Some(plan)) => {
                if plan.latency_ms > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(plan.latency_ms.into())).await;
                }
                let roll = u64::from_le_bytes(palisade_crypto::random::bytes::<8>()) as f64 / (u64::MAX as f64 + 1.0);
                if let Some((e, retry_after)) = plan.decide(roll) {
                    tracing::info!(tenant = %self.caller.tenant_id(), status = e.status, "fault injected");
                    return Err(ApiError(e, retry_after));
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "fault plan lookup failed; none applied"),
        }
        authorize(&self.caller, op)?;
        // Delegated calls also need the signed-in user's portal permission, and see only the
        // devices of their device groups once RBAC is on.
        let scope = match &self.caller {
            Caller::App { .. } => DeviceScope::All,
            Caller::User { tenant_id, user_id, .. } => {
                let internal = |e: String| DefenderError::new(500, "InternalServerError", e);
                let directory = &state.identity.stores.directory;
                let user = directory
                    .user(*tenant_id, *user_id)
                    .await
                    .map_err(|e| internal(e.to_string()))?
                    .filter(|u| u.account_enabled)
                    .ok_or_else(|| DefenderError::forbidden("The signed-in user no longer exists or is disabled."))?;
                let config = state.security.rbac_config(*tenant_id).await.map_err(DefenderError::from)?;
                if config.enabled {
                    let member_of: Vec<Uuid> = directory
                        .groups(*tenant_id)
                        .await
                        .map_err(|e| internal(e.to_string()))?
                        .into_iter()
                        .filter(|g| g.members.contains(user_id))
                        .map(|g| g.id)
                        .collect();
                    let access = config.access(&user.directory_roles, &member_of);
                    palisade_defender::rbac::check_access(&access.permissions, &user.user_principal_name, op)?;
                    access.devices
                } else {
                    palisade_defender::rbac::check(&user.directory_roles, &user.user_principal_name, op)?;
                    DeviceScope::All
                }
            }
        };
        match quota::charge(state.quotas.as_ref(), state.throttling, self.caller.tenant_id(), op, now()).await {
            Ok(()) => Ok(scope),
            Err(ChargeError::Throttled(e, retry_after)) => {
                tracing::info!(tenant = %self.caller.tenant_id(), operation = op.name(), retry_after, "throttled");
                Err(ApiError(e, Some(retry_after)))
            }
            Err(ChargeError::Store(e)) => {
                tracing::warn!(error = %e, "quota store failed; admitting the call");
                Ok(scope)
            }
        }
    }

    /// The absolute URL the client called.
    pub(crate) fn request_url(&self) -> String {
        format!("{}{}", self.base_url, self.path_and_query)
    }

    pub(crate) fn context(&self, fragment: &str) -> String {
        format!("{}/api/$metadata#{fragment}", self.base_url)
    }
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `GET /api/indicators`: active indicators, OData in the store.
pub async fn list_indicators(State(s): State<AppState>, c: ApiCaller, uri: Uri) -> ApiResult {
    c.admit(&s, Operation::ListIndicators).await?;
    let raw = uri.query().unwrap_or("");
    let q = QueryOptions::parse_for(raw, &indicators::SCHEMA)
        .map_err(|e| DefenderError::new(400, "ODataError", e.to_string()))?;
    let creator = indicators::visible_creator(&c.caller);
    let items = s
        .indicators
        .indicators(c.caller.tenant_id(), &q, creator.as_deref(), now())
        .await
        .map_err(DefenderError::from)?;
    let page = q.page_size(&indicators::SCHEMA);
    let mut body = json!({"@odata.context": c.context("Indicators")});
    let url = c.request_url();
    if let Some(next) = palisade_odata::next_link(&url, q.skip.unwrap_or(0), page, items.len()) {
        body["@odata.nextLink"] = json!(next);
    }
    body["value"] = json!(items);
    Ok(Json(body).into_response())
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.is_empty() {
        return Err(DefenderError::invalid_body("The request body is empty.").into());
    }
    serde_json::from_slice(body).map_err(|e| DefenderError::invalid_body(format!("{e}.")).into())
}

/// `POST /api/indicators`: submit or update (same type and value) an indicator.
pub async fn submit_indicator(State(s): State<AppState>, c: ApiCaller, body: Bytes) -> ApiResult {
    c.admit(&s, Operation::SubmitIndicator).await?;
    let sub: IndicatorSubmission = json_body(&body)?;
    let t = now();
    let ind = sub.into_indicator(&c.caller, &c.display_name, t)?;
    let (stored, created) =
        s.indicators.upsert_indicator(c.caller.tenant_id(), &ind, t).await.map_err(DefenderError::from)?;
    tracing::info!(tenant = %c.caller.tenant_id(), id = %stored.id, created, "indicator submitted");
    let mut v =
        serde_json::to_value(&stored).map_err(|e| DefenderError::new(500, "InternalServerError", e.to_string()))?;
    if let Value::Object(o) = &mut v {
        o.insert("@odata.context".into(), json!(c.context("Indicators/$entity")));
    }
    Ok(Json(v).into_response())
}

/// `DELETE /api/indicators/{id}`.
pub async fn delete_indicator(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    c.admit(&s, Operation::DeleteIndicator).await?;
    let creator = indicators::visible_creator(&c.caller);
    let missing = s
        .indicators
        .delete_indicators(c.caller.tenant_id(), std::slice::from_ref(&id), creator.as_deref())
        .await
        .map_err(DefenderError::from)?;
    if !missing.is_empty() {
        return Err(DefenderError::not_found(format!("Indicator {id}")).into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(serde::Deserialize)]
struct ImportBody {
    #[serde(rename = "Indicators")]
    indicators: Option<Vec<Value>>,
}

/// `POST /api/indicators/import` with `{"Indicators": [...]}` (≤ 500): each item is validated and
/// stored on its own; the answer lists per item whether it failed and why.
pub async fn import_indicators(State(s): State<AppState>, c: ApiCaller, body: Bytes) -> ApiResult {
    c.admit(&s, Operation::ImportIndicators).await?;
    let b: ImportBody = json_body(&body)?;
    let items = b.indicators.ok_or_else(|| DefenderError::missing_parameter("Indicators"))?;
    if items.is_empty() {
        return Err(DefenderError::new(400, "InvalidInput", "Invalid input Indicators: the list is empty.").into());
    }
    if items.len() > MAX_BATCH {
        return Err(DefenderError::new(
            400,
            "MaximumBatchSizeExceeded",
            format!("Maximum batch size exceeded. Received: {}, allowed: {MAX_BATCH}.", items.len()),
        )
        .into());
    }
    let t = now();
    let mut results = Vec::with_capacity(items.len());
    for item in items {
        let value = item["indicatorValue"].as_str().unwrap_or_default().to_string();
        let outcome = match serde_json::from_value::<IndicatorSubmission>(item) {
            Err(e) => Err(format!("Invalid request body. {e}.")),
            Ok(sub) => match sub.into_indicator(&c.caller, &c.display_name, t) {
                Err(e) => Err(e.message),
                Ok(ind) => s
                    .indicators
                    .upsert_indicator(c.caller.tenant_id(), &ind, t)
                    .await
                    .map(|(stored, _)| stored.id)
                    .map_err(|e| DefenderError::from(e).message),
            },
        };
        results.push(match outcome {
            Ok(id) => json!({"id": id, "indicator": value, "isFailed": false, "failureReason": null}),
            Err(reason) => json!({"id": null, "indicator": value, "isFailed": true, "failureReason": reason}),
        });
    }
    Ok(Json(json!({"@odata.context": c.context("Collection(microsoft.windowsDefenderATP.api.ImportIndicatorResult)"), "value": results})).into_response())
}

#[derive(serde::Deserialize)]
struct BatchDeleteBody {
    #[serde(rename = "IndicatorIds")]
    indicator_ids: Option<Vec<Value>>,
}

/// `POST /api/indicators/BatchDelete` with `{"IndicatorIds": [...]}` (≤ 500): all or nothing.
pub async fn batch_delete_indicators(State(s): State<AppState>, c: ApiCaller, body: Bytes) -> ApiResult {
    c.admit(&s, Operation::BatchDeleteIndicators).await?;
    let b: BatchDeleteBody = json_body(&body)?;
    let ids: Vec<String> = b
        .indicator_ids
        .ok_or_else(|| DefenderError::missing_parameter("IndicatorIds"))?
        .into_iter()
        .map(|v| match v {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(DefenderError::new(400, "InvalidInput", format!("Invalid input IndicatorIds: {other}"))),
        })
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err(DefenderError::new(400, "InvalidInput", "Invalid input IndicatorIds: the list is empty.").into());
    }
    if ids.len() > MAX_BATCH {
        return Err(DefenderError::new(
            400,
            "MaximumBatchSizeExceeded",
            format!("Maximum batch size exceeded. Received: {}, allowed: {MAX_BATCH}.", ids.len()),
        )
        .into());
    }
    let creator = indicators::visible_creator(&c.caller);
    let missing = s
        .indicators
        .delete_indicators(c.caller.tenant_id(), &ids, creator.as_deref())
        .await
        .map_err(DefenderError::from)?;
    if !missing.is_empty() {
        return Err(DefenderError::not_found(format!("Indicators {}", missing.join(", "))).into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> String {
        let req = axum::http::Request::builder().uri(p).body(()).unwrap();
        canonical_api_path(req).uri().to_string()
    }

    #[test]
    fn api_paths_are_case_insensitive_and_nothing_else_changes() {
        assert_eq!(path("/API/V1.0/Indicators?$top=1"), "/api/v1.0/indicators?$top=1");
        assert_eq!(path("/api/indicators/batchdelete"), "/api/indicators/BatchDelete");
        assert_eq!(path("/api/indicators/123"), "/api/indicators/123");
        assert_eq!(path("/Common/oauth2/token"), "/Common/oauth2/token");
        assert_eq!(path("/apiary/Indicators"), "/apiary/Indicators");
    }
}
