//! AADSTS errors: the codes, `error` values, HTTP statuses and message texts of Entra's token
//! and authorize endpoints (`identity-protocol.md` §6). Where Entra's text leaves the user guessing,
//! a `hint` says what to do next; it is appended to `error_description`, so the format stays the
//! real one.

use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

/// An error a client can cause, as Entra reports it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("AADSTS{code}: {message}")]
pub struct AadError {
    pub code: u32,
    /// OAuth `error` value.
    pub error: &'static str,
    pub status: u16,
    pub message: String,
    pub suberror: Option<&'static str>,
    /// Palisade's addition: the next step, appended to the description.
    pub hint: Option<String>,
}

impl AadError {
    pub fn new(code: u32, error: &'static str, status: u16, message: impl Into<String>) -> Self {
        Self { code, error, status, message: message.into(), suberror: None, hint: None }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn with_suberror(mut self, s: &'static str) -> Self {
        self.suberror = Some(s);
        self
    }

    /// `error_description` without the trace trailer.
    pub fn description(&self) -> String {
        match &self.hint {
            Some(h) => format!("AADSTS{}: {} {}", self.code, self.message, h),
            None => format!("AADSTS{}: {}", self.code, self.message),
        }
    }

    /// The JSON body Entra returns, with the `Trace ID / Correlation ID / Timestamp` trailer.
    pub fn body(&self, trace_id: Uuid, correlation_id: &str, now: OffsetDateTime) -> Value {
        let stamp = timestamp(now);
        let mut v = json!({
            "error": self.error,
            "error_description": format!("{}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {stamp}", self.description()),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id.to_string(),
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        if let Some(s) = self.suberror {
            v["suberror"] = json!(s);
        }
        v
    }
}

/// `YYYY-MM-DD HH:MM:SSZ`, Entra's error timestamp format.
pub fn timestamp(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

const INVALID_CLIENT: &str = "invalid_client";
const INVALID_REQUEST: &str = "invalid_request";
const INVALID_GRANT: &str = "invalid_grant";
const INVALID_SCOPE: &str = "invalid_scope";

pub fn tenant_not_found(t: &str) -> AadError {
    AadError::new(90002, "invalid_tenant", 400, format!(
        "Tenant '{t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
    ))
    .with_hint("List tenants with `palisade tenant list`.")
}

pub fn tenant_malformed(t: &str) -> AadError {
    AadError::new(
        900023,
        INVALID_REQUEST,
        400,
        format!("Specified tenant identifier '{t}' is neither a valid DNS name, nor a valid external domain."),
    )
}

pub fn app_not_found(app_id: &str, tenant: &str) -> AadError {
    AadError::new(
        700016,
        "unauthorized_client",
        400,
        format!(
            "Application with identifier '{app_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    )
}

pub fn missing_parameter(name: &str) -> AadError {
    AadError::new(
        900144,
        INVALID_REQUEST,
        400,
        format!("The request body must contain the following parameter: '{name}'."),
    )
}

pub fn invalid_secret(app_id: &str) -> AadError {
    AadError::new(7000215, INVALID_CLIENT, 401, format!(
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app_id}'."
    ))
    .with_hint("Secret values are shown once, by `palisade app secret add`; create a new one if it was lost.")
}

pub fn secret_expired(app_id: &str) -> AadError {
    AadError::new(7000222, INVALID_CLIENT, 401, format!(
        "The provided client secret keys for app '{app_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
    ))
    .with_hint(format!("Run `palisade app secret add --app {app_id}`."))
}

pub fn credentials_required() -> AadError {
    AadError::new(7000218, INVALID_CLIENT, 401, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        .with_hint("For a public client (ROPC, device code) set isFallbackPublicClient: `palisade app update --public-client true`.")
}

pub fn public_client_with_secret() -> AadError {
    AadError::new(
        700025,
        INVALID_CLIENT,
        401,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
    )
}

pub fn bad_assertion(detail: &str) -> AadError {
    AadError::new(700027, INVALID_CLIENT, 401, format!("Client assertion failed signature validation. {detail}"))
}

pub fn assertion_not_valid_now(detail: &str) -> AadError {
    AadError::new(700024, INVALID_CLIENT, 401, format!("Client assertion is not within its valid time range. {detail}"))
}

pub fn resource_not_found(name: &str, tenant: &str) -> AadError {
    AadError::new(
        500011,
        "invalid_resource",
        400,
        format!(
            "The resource principal named {name} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
        ),
    )
}

pub fn consent_required(app_id: &str, app_name: &str, detail: &str) -> AadError {
    AadError::new(65001, INVALID_GRANT, 400, format!(
        "The user or administrator has not consented to use the application with ID '{app_id}' named '{app_name}'. Send an interactive authorization request for this user and resource."
    ))
    .with_suberror("consent_required")
    .with_hint(detail.to_string())
}

pub fn bad_user_credentials() -> AadError {
    AadError::new(50126, INVALID_GRANT, 400, "Error validating credentials due to invalid username or password.")
}

pub fn user_not_found(tenant: &str) -> AadError {
    AadError::new(
        50034,
        INVALID_GRANT,
        400,
        format!(
            "The user account {{EUII Hidden}} does not exist in the {tenant} directory. To sign into this application, the account must be added to the directory."
        ),
    )
}

pub fn user_locked() -> AadError {
    AadError::new(
        50053,
        INVALID_GRANT,
        400,
        "Your account is locked because you've tried to sign in too many times with an incorrect user ID or password.",
    )
    .with_hint("Smart lockout releases the account after the lockout period (`identity.lockout_seconds`).")
}

pub fn user_disabled() -> AadError {
    AadError::new(50057, INVALID_GRANT, 400, "The user account is disabled.")
}

pub fn invalid_scope(scope: &str) -> AadError {
    AadError::new(
        70011,
        INVALID_SCOPE,
        400,
        format!(
            "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
        ),
    )
}

pub fn default_scope_required(scope: &str) -> AadError {
    let mut e = AadError::new(
        1002012,
        INVALID_SCOPE,
        400,
        format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        ),
    );
    if let Some(stripped) = scope.strip_suffix(".default").filter(|s| !s.ends_with('/')) {
        e = e.with_hint(format!("Did you mean '{stripped}/.default'?"));
    }
    e
}

pub fn scopes_span_resources() -> AadError {
    AadError::new(
        700022,
        INVALID_SCOPE,
        400,
        "The provided value for the input parameter scope is not valid because it contains more than one resource. Scope must only request permissions for one resource.",
    )
}

pub fn unsupported_grant_type(g: &str) -> AadError {
    AadError::new(70003, "unsupported_grant_type", 400, format!("The app requested an unsupported grant type '{g}'."))
}

pub fn grant_not_on_common() -> AadError {
    AadError::new(
        9001023,
        INVALID_REQUEST,
        400,
        "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
    )
}

pub fn invalid_grant_code() -> AadError {
    AadError::new(
        70000,
        INVALID_GRANT,
        400,
        "The provided authorization code or refresh token is invalid or was issued to a different client.",
    )
}

pub fn code_expired() -> AadError {
    AadError::new(
        70008,
        INVALID_GRANT,
        400,
        "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
    )
}

pub fn code_redeemed() -> AadError {
    AadError::new(
        54005,
        INVALID_GRANT,
        400,
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
    )
}

pub fn pkce_mismatch() -> AadError {
    AadError::new(
        501481,
        INVALID_GRANT,
        400,
        "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
    )
}

pub fn redirect_mismatch(uri: &str, app_id: &str) -> AadError {
    AadError::new(50011, INVALID_REQUEST, 400, format!(
        "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the application '{app_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this."
    ))
    .with_hint(format!("Register it with `palisade app update --app {app_id} --redirect-uri web:{uri}`."))
}

pub fn no_reply_address(app_id: &str) -> AadError {
    AadError::new(
        500113,
        INVALID_REQUEST,
        400,
        format!("No reply address is registered for the application. (Application '{app_id}')"),
    )
}

pub fn single_tenant_on_common(app_id: &str) -> AadError {
    AadError::new(
        50194,
        INVALID_REQUEST,
        400,
        format!(
            "Application '{app_id}' is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant."
        ),
    )
}

pub fn device_pending() -> AadError {
    AadError::new(
        70016,
        "authorization_pending",
        400,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    )
}
pub fn device_declined() -> AadError {
    AadError::new(70020, "authorization_declined", 400, "The end user denied the authorization request.")
}
pub fn device_bad_code() -> AadError {
    AadError::new(
        70018,
        "bad_verification_code",
        400,
        "The provided value for the input parameter 'device_code' is not valid.",
    )
}
pub fn device_expired() -> AadError {
    AadError::new(70019, "expired_token", 400, "Verification code expired.")
}

pub fn admin_consent_required() -> AadError {
    AadError::new(90094, "access_denied", 400, "The grant requires admin permission.")
        .with_hint("Sign in with a Global Administrator (or Privileged Role Administrator) of the tenant to consent to application permissions.")
}

pub fn consent_declined() -> AadError {
    AadError::new(65004, "access_denied", 400, "User declined to consent to access the app.")
}

pub fn server_error(detail: impl std::fmt::Display) -> AadError {
    AadError::new(
        90033,
        "temporarily_unavailable",
        503,
        format!("A transient error has occurred. Please try again. ({detail})"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_real_shape() {
        let e = invalid_secret("11111111-1111-1111-1111-111111111111");
        let t = OffsetDateTime::from_unix_timestamp(1_452_304_932).unwrap();
        let b = e.body(Uuid::nil(), "corr", t);
        assert_eq!(b["error"], "invalid_client");
        assert_eq!(b["error_codes"][0], 7000215);
        assert_eq!(b["timestamp"], "2016-01-09 02:02:12Z");
        let d = b["error_description"].as_str().unwrap();
        assert!(d.starts_with("AADSTS7000215: Invalid client secret provided."));
        assert!(d.ends_with("\r\nTrace ID: 00000000-0000-0000-0000-000000000000\r\nCorrelation ID: corr\r\nTimestamp: 2016-01-09 02:02:12Z"));
        assert_eq!(e.status, 401);
    }

    #[test]
    fn default_scope_hint_catches_missing_slash() {
        let e = default_scope_required("https://api.security.microsoft.com.default");
        assert!(e.description().contains("Did you mean 'https://api.security.microsoft.com/.default'?"));
    }
}
