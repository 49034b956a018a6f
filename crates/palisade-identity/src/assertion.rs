//! Client assertions (`private_key_jwt`): a JWT the client signs with a certificate registered on
//! its application. Verified by hand rather than with a JOSE library because real clients send
//! what strict libraries refuse: padded base64url segments and thumbprints (azure-identity's
//! AadClient, MSAL), float NumericDates (MSAL), no `nbf` (MSAL) — `identity-protocol.md` §1.2.

use palisade_crypto::b64;
use palisade_crypto::cert::{self, AssertionAlg};
use palisade_directory::{Application, KeyCredential};
use serde_json::Value;
use time::OffsetDateTime;

use crate::errors::{self, AadError};

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Allowed clock skew on `exp`/`nbf`.
const SKEW_SECS: f64 = 300.0;

fn claim_time(v: &Value) -> Option<f64> {
    v.as_f64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn norm_url(s: &str) -> String {
    s.trim_end_matches('/').to_ascii_lowercase()
}

/// Verifies `assertion` for `app`. `accepted_audiences` are the token-endpoint URLs this request
/// could legitimately have been addressed to.
pub fn verify(
    app: &Application,
    assertion: &str,
    accepted_audiences: &[String],
    now: OffsetDateTime,
) -> Result<KeyCredential, AadError> {
    let parts: Vec<&str> = assertion.trim().split('.').collect();
    if parts.len() != 3 {
        return Err(errors::bad_assertion("The assertion is not a JWS in compact form (three dot-separated parts)."));
    }
    let header: Value = b64::url_decode_lenient(parts[0])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| errors::bad_assertion("The assertion header is not base64url-encoded JSON."))?;
    let alg = match header["alg"].as_str() {
        Some("RS256") => AssertionAlg::Rs256,
        Some("PS256") => AssertionAlg::Ps256,
        other => {
            return Err(AadError::new(
                700027,
                "invalid_client",
                401,
                format!(
                    "Invalid JWT token. Unsupported asymmetric signing algorithm '{}'. Use RS256 or PS256 with an RSA certificate.",
                    other.unwrap_or("(none)")
                ),
            ));
        }
    };
    let strip = |v: &Value| v.as_str().map(|s| s.trim_end_matches('=').to_string());
    let x5t = strip(&header["x5t"]);
    let x5t_s256 = strip(&header["x5t#S256"]);
    let cred = app
        .key_credentials
        .iter()
        .find(|k| {
            x5t.as_deref().is_some_and(|t| t == cert::x5t(&k.cert_der))
                || x5t_s256.as_deref().is_some_and(|t| t == cert::x5t_s256(&k.cert_der))
        })
        .ok_or_else(|| {
            let used = x5t.clone().or(x5t_s256.clone()).unwrap_or_else(|| "(no x5t or x5t#S256 header)".into());
            errors::bad_assertion(&format!(
                "[Reason - The key was not found., Thumbprint of key used by client: '{used}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]",
                app.app_id
            ))
        })?;
    let signature =
        b64::url_decode_lenient(parts[2]).ok_or_else(|| errors::bad_assertion("The signature is not base64url."))?;
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    if !cert::verify_with_certificate(&cred.cert_der, alg, signing_input.as_bytes(), &signature) {
        return Err(errors::bad_assertion(&format!(
            "[Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{}']",
            cred.thumbprint_sha1
        )));
    }
    let claims: Value = b64::url_decode_lenient(parts[1])
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| errors::bad_assertion("The assertion payload is not base64url-encoded JSON."))?;
    let app_id = app.app_id.to_string();
    for c in ["iss", "sub"] {
        if !claims[c].as_str().is_some_and(|v| v.eq_ignore_ascii_case(&app_id)) {
            return Err(AadError::new(
                700021,
                "invalid_client",
                401,
                format!(
                    "Client assertion application identifier doesn't match 'client_id' parameter. The '{c}' claim must be the client id '{app_id}'."
                ),
            ));
        }
    }
    let aud_ok = match &claims["aud"] {
        Value::String(a) => accepted_audiences.iter().any(|x| norm_url(x) == norm_url(a)),
        Value::Array(list) => {
            list.iter().filter_map(Value::as_str).any(|a| accepted_audiences.iter().any(|x| norm_url(x) == norm_url(a)))
        }
        _ => false,
    };
    if !aud_ok {
        return Err(errors::bad_assertion(&format!(
            "The audience claim '{}' does not match this token endpoint; expected '{}'.",
            claims["aud"],
            accepted_audiences.first().map(String::as_str).unwrap_or("")
        )));
    }
    let now_f = now.unix_timestamp() as f64;
    let exp =
        claim_time(&claims["exp"]).ok_or_else(|| errors::assertion_not_valid_now("The 'exp' claim is missing."))?;
    if exp + SKEW_SECS < now_f {
        return Err(errors::assertion_not_valid_now(&format!(
            "Current time: {}, assertion expiry: {}.",
            now_f as i64, exp as i64
        )));
    }
    if let Some(nbf) = claim_time(&claims["nbf"])
        && nbf - SKEW_SECS > now_f
    {
        return Err(errors::assertion_not_valid_now(&format!(
            "Current time: {}, assertion valid from: {}.",
            now_f as i64, nbf as i64
        )));
    }
    if cred.end_date_time < now || cred.start_date_time > now + time::Duration::minutes(5) {
        return Err(AadError::new(
            700027,
            "invalid_client",
            401,
            format!(
                "Client assertion failed signature validation. [Reason - The certificate with thumbprint '{}' is not within its validity period.]",
                cred.thumbprint_sha1
            ),
        ));
    }
    Ok(cred.clone())
}
