//! Time-limited download links, the counterpart of the service's SAS URLs (investigation
//! packages, live response results). The link carries a JWT signed with the token-signing key —
//! already shared by every node through the key store — under an audience of its own, so a link
//! can never pass as an API access token, nor an access token as a link.

use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Identity;
use crate::claims::v1_issuer;
use crate::validate::TokenInvalid;

/// Audience of download-link tokens.
pub const DOWNLOAD_AUDIENCE: &str = "urn:palisade:download";

/// What a link grants: one object of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadGrant {
    pub tenant_id: Uuid,
    /// What to download, e.g. `package/<action id>` or `liveresponse/<action id>/<index>`.
    pub object: String,
}

#[derive(serde::Serialize)]
struct Header<'a> {
    typ: &'static str,
    alg: &'static str,
    kid: &'a str,
}

impl Identity {
    /// Signs a link token for `object` valid for `lifetime`.
    pub async fn sign_download(
        &self,
        tenant_id: Uuid,
        object: &str,
        lifetime: Duration,
    ) -> Result<String, crate::IdentityError> {
        let key = self.keys.active().await?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({
            "aud": DOWNLOAD_AUDIENCE,
            "iss": v1_issuer(tenant_id),
            "tid": tenant_id.to_string(),
            "sub": object,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime.whole_seconds(),
        });
        let header = Header { typ: "JWT", alg: "RS256", kid: key.kid() };
        Ok(key.sign_jwt(&header, &claims)?)
    }

    /// Checks a link token (signature, audience, issuer, expiry with the access tokens' clock-skew
    /// allowance) and says what it grants.
    pub async fn verify_download(&self, token: &str) -> Result<DownloadGrant, TokenInvalid> {
        let v = self.validate_access_token(token, &[DOWNLOAD_AUDIENCE], &[]).await?;
        let object = v.claims["sub"].as_str().map(str::to_string).unwrap_or_default();
        Ok(DownloadGrant { tenant_id: v.tenant_id, object })
    }
}
