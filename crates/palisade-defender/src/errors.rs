//! Defender's error body: `{"error":{"code","message","target"}}` with `target` a per-request
//! tracking id (`defender-api.md` §7).

use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DefenderError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl DefenderError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }
    /// Missing, malformed, expired or foreign token.
    pub fn unauthorized(detail: impl std::fmt::Display) -> Self {
        Self::new(401, "Unauthorized", format!("Authorization has been denied for this request. {detail}"))
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(404, "ResourceNotFound", format!("Resource {what} wasn't found."))
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }
    pub fn invalid_body(detail: impl std::fmt::Display) -> Self {
        Self::new(400, "InvalidRequestBody", format!("Invalid request body. {detail}"))
    }
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(400, "MissingRequiredParameter", format!("Parameter {name} is missing."))
    }

    pub fn body(&self, target: Uuid) -> Value {
        json!({"error": {"code": self.code, "message": self.message, "target": target.to_string()}})
    }
}
