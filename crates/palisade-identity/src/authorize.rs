//! The interactive side: validating `/authorize` and `/adminconsent` requests, issuing
//! authorization codes, approving device codes. The HTML around it lives in the server.

use std::collections::HashMap;

use palisade_crypto::{hashing, random};
use palisade_directory::*;
use time::OffsetDateTime;

use crate::claims::EndpointVersion;
use crate::errors::{self, AadError};
use crate::tenancy::TenantSegment;
use crate::{Identity, scopes};

/// An `/authorize` (or `/adminconsent`) request as received.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub version: EndpointVersion,
    pub tenant: String,
    pub params: HashMap<String, String>,
}

impl AuthorizeRequest {
    pub fn param(&self, k: &str) -> Option<&str> {
        self.params.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
    pub fn prompt(&self) -> Option<&str> {
        self.param("prompt")
    }
}

/// A request whose client and redirect URI checked out: from here on, errors go back to the
/// client by redirect.
#[derive(Debug, Clone)]
pub struct ValidAuthorize {
    pub segment: TenantSegment,
    /// The tenant named in the path, if specific.
    pub tenant: Option<Tenant>,
    pub client: Application,
    pub redirect_uri: String,
    /// Whether `redirect_uri` was sent (then the token request must repeat it).
    pub redirect_uri_sent: bool,
}

impl Identity {
    /// Checks what must hold before Entra will redirect anywhere: tenant, client, redirect URI.
    /// Failures are shown as an error page.
    pub async fn validate_authorize(&self, req: &AuthorizeRequest) -> Result<ValidAuthorize, AadError> {
        let segment = TenantSegment::parse(&req.tenant)?;
        let tenant = segment.resolve(&self.stores).await?;
        let client_id = req.param("client_id").ok_or_else(|| errors::missing_parameter("client_id"))?;
        let label = tenant.as_ref().map(|t| t.id.to_string()).unwrap_or_else(|| segment.as_path());
        let client = self.client_app(client_id, &label).await?;
        if segment.is_alias() && !client.sign_in_audience.is_multi_tenant() {
            return Err(errors::single_tenant_on_common(&client.app_id.to_string()));
        }
        let (redirect_uri, sent) = match req.param("redirect_uri") {
            Some(r) if client.redirect_uri_registered(r) => (r.to_string(), true),
            Some(r) => return Err(errors::redirect_mismatch(r, &client.app_id.to_string())),
            None => match client.all_redirect_uris().next() {
                Some(r) => (r.to_string(), false),
                None => return Err(errors::no_reply_address(&client.app_id.to_string())),
            },
        };
        if let Some(scope) = req.param("scope")
            && req.version == EndpointVersion::V2
        {
            scopes::parse_v2(scope)?;
        }
        Ok(ValidAuthorize { segment, tenant, client, redirect_uri, redirect_uri_sent: sent })
    }

    /// Issues an authorization code for a signed-in user who has consented.
    pub async fn issue_code(
        &self,
        req: &AuthorizeRequest,
        v: &ValidAuthorize,
        tenant: &Tenant,
        user: &User,
        auth_time: OffsetDateTime,
    ) -> Result<String, AadError> {
        if let Some(m) = req.param("code_challenge_method")
            && !m.eq_ignore_ascii_case("S256")
            && !m.eq_ignore_ascii_case("plain")
        {
            return Err(AadError::new(
                50137,
                "invalid_request",
                400,
                format!("The code_challenge_method '{m}' is not supported; use S256 or plain."),
            ));
        }
        let code = format!("1.A{}", random::opaque_token());
        let grant = UserGrant {
            tenant_id: tenant.id,
            client_app_id: v.client.app_id,
            user_id: user.id,
            scope: match req.version {
                EndpointVersion::V2 => req.param("scope").unwrap_or("openid profile").to_string(),
                EndpointVersion::V1 => String::new(),
            },
            redirect_uri: v.redirect_uri_sent.then(|| v.redirect_uri.clone()),
            code_challenge: req.param("code_challenge").map(str::to_string),
            code_challenge_method: req
                .param("code_challenge")
                .map(|_| req.param("code_challenge_method").unwrap_or("plain").to_string()),
            nonce: req.param("nonce").map(str::to_string),
            resource: match req.version {
                EndpointVersion::V1 => req.param("resource").map(str::to_string),
                EndpointVersion::V2 => None,
            },
            auth_methods: vec!["pwd".into()],
            auth_time,
        };
        self.stores
            .grants
            .put_code(&hashing::lookup_hash(&code), &grant, OffsetDateTime::now_utc() + self.config.code_lifetime)
            .await?;
        Ok(code)
    }

    /// The device-code record a user typed in, if it is still pending.
    pub async fn pending_device_code(&self, user_code: &str) -> Result<Option<(String, DeviceCodeRecord)>, AadError> {
        let code: String =
            user_code.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
        let found = self.stores.grants.device_code_by_user_code(&code).await?;
        Ok(found.filter(|(_, r)| r.state == DeviceCodeState::Pending && r.expires_at > OffsetDateTime::now_utc()))
    }

    /// Approves or declines a device code for `user`.
    pub async fn decide_device_code(
        &self,
        hash: &str,
        mut rec: DeviceCodeRecord,
        tenant: &Tenant,
        user: &User,
        approve: bool,
        auth_time: OffsetDateTime,
    ) -> Result<(), AadError> {
        if approve {
            rec.state = DeviceCodeState::Approved;
            rec.grant = Some(UserGrant {
                tenant_id: tenant.id,
                client_app_id: rec.client_app_id,
                user_id: user.id,
                scope: rec.scope.clone(),
                redirect_uri: None,
                code_challenge: None,
                code_challenge_method: None,
                nonce: None,
                resource: rec.resource.clone(),
                auth_methods: vec!["pwd".into()],
                auth_time,
            });
        } else {
            rec.state = DeviceCodeState::Declined;
        }
        self.stores.grants.update_device_code(hash, &rec).await?;
        Ok(())
    }
}
