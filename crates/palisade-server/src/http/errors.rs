//! Error responses in the real services' formats: AADSTS JSON for the identity endpoints, Graph's
//! `{"error":{...}}` for the management API.

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use palisade_identity::RequestContext;
use palisade_identity::admin::GraphError;
use palisade_identity::errors::AadError;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

/// An AADSTS error bound to the request it answers.
pub struct AadResponse {
    pub error: AadError,
    pub correlation_id: Option<String>,
}

impl AadResponse {
    pub fn new(error: AadError, ctx: &RequestContext) -> Self {
        Self { error, correlation_id: ctx.correlation_id.clone() }
    }
}

pub fn no_store(resp: &mut Response) {
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json; charset=utf-8"));
    h.insert("cache-control", HeaderValue::from_static("no-store, no-cache"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert("expires", HeaderValue::from_static("-1"));
}

impl IntoResponse for AadResponse {
    fn into_response(self) -> Response {
        let trace = Uuid::new_v4();
        let corr = self.correlation_id.unwrap_or_else(|| Uuid::new_v4().to_string());
        let status = StatusCode::from_u16(self.error.status).unwrap_or(StatusCode::BAD_REQUEST);
        tracing::info!(
            code = self.error.code,
            error = self.error.error,
            status = status.as_u16(),
            "AADSTS error returned"
        );
        let mut resp = (status, Json(self.error.body(trace, &corr, OffsetDateTime::now_utc()))).into_response();
        no_store(&mut resp);
        resp.headers_mut().insert("x-ms-request-id", HeaderValue::from_str(&trace.to_string()).expect("uuid"));
        if let Ok(v) = HeaderValue::from_str(&format!("1_1_{}", self.error.code)) {
            resp.headers_mut().insert("x-ms-clitelem", v);
        }
        resp
    }
}

/// A Graph-format error.
pub struct GraphResponse(pub GraphError);

impl From<GraphError> for GraphResponse {
    fn from(e: GraphError) -> Self {
        Self(e)
    }
}

impl IntoResponse for GraphResponse {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let now = OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let id = Uuid::new_v4().to_string();
        (status, Json(json!({"error": {"code": self.0.code, "message": self.0.message, "innerError": {"date": now, "request-id": id, "client-request-id": id}}}))).into_response()
    }
}
