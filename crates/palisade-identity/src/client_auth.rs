//! Client authentication at the token endpoint: secret (form or HTTP Basic), certificate assertion,
//! or none for public clients.

use palisade_crypto::hashing;
use palisade_directory::Application;
use time::OffsetDateTime;

use crate::assertion::{self, JWT_BEARER};
use crate::claims::ClientAuthMethod;
use crate::errors::{self, AadError};

/// What the request presented.
#[derive(Debug, Default, Clone)]
pub struct PresentedCredentials {
    pub secret: Option<String>,
    pub assertion_type: Option<String>,
    pub assertion: Option<String>,
}

impl PresentedCredentials {
    pub fn any(&self) -> bool {
        self.secret.is_some() || self.assertion.is_some()
    }
}

/// Authenticates the client. `confidential_required`: the grant (client credentials, OBO) is not
/// open to public clients.
pub fn authenticate(
    app: &Application,
    creds: &PresentedCredentials,
    confidential_required: bool,
    accepted_audiences: &[String],
    now: OffsetDateTime,
) -> Result<ClientAuthMethod, AadError> {
    if let Some(t) = &creds.assertion_type {
        if t != JWT_BEARER {
            return Err(AadError::new(
                700023,
                "invalid_client",
                401,
                format!("The client_assertion_type '{t}' is not supported. Use '{JWT_BEARER}'."),
            ));
        }
        if creds.assertion.is_none() {
            return Err(errors::missing_parameter("client_assertion"));
        }
    }
    if let Some(a) = &creds.assertion {
        if creds.assertion_type.is_none() {
            return Err(errors::missing_parameter("client_assertion_type"));
        }
        if app.key_credentials.is_empty() && app.is_public_client() {
            return Err(errors::public_client_with_secret());
        }
        assertion::verify(app, a, accepted_audiences, now)?;
        return Ok(ClientAuthMethod::Certificate);
    }
    if let Some(secret) = &creds.secret {
        if app.password_credentials.is_empty() && app.is_public_client() {
            return Err(errors::public_client_with_secret());
        }
        let matching: Vec<_> =
            app.password_credentials.iter().filter(|c| hashing::verify_client_secret(secret, &c.secret_hash)).collect();
        if matching.is_empty() {
            return Err(errors::invalid_secret(&app.app_id.to_string()));
        }
        if matching.iter().all(|c| c.end_date_time <= now) {
            return Err(errors::secret_expired(&app.app_id.to_string()));
        }
        return Ok(ClientAuthMethod::Secret);
    }
    if confidential_required || !app.is_public_client() {
        return Err(errors::credentials_required());
    }
    Ok(ClientAuthMethod::None)
}
