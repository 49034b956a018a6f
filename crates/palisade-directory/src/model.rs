//! Directory objects, shaped after their Microsoft Graph counterparts so the management API can
//! serialise them directly (camelCase field names as Graph has them).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::roles::DirectoryRole;

/// A directory (Entra tenant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    pub id: Uuid,
    pub display_name: String,
    /// The initial `*.onmicrosoft.com` domain; always verified.
    pub default_domain: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
    /// The tenant that holds Palisade's own first-party application objects. Never signed into.
    #[serde(skip)]
    pub is_system: bool,
}

/// A member user of a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub user_principal_name: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub account_enabled: bool,
    #[serde(skip)]
    pub directory_roles: Vec<DirectoryRole>,
    /// PHC string (argon2id). Never serialised.
    #[serde(skip)]
    pub password_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
}

impl User {
    pub fn has_role(&self, role: DirectoryRole) -> bool {
        self.directory_roles.contains(&role)
    }
    pub fn can_consent_app_roles(&self) -> bool {
        self.directory_roles.iter().any(|r| r.can_consent_app_roles())
    }
    pub fn can_consent_delegated_for_tenant(&self) -> bool {
        self.directory_roles.iter().any(|r| r.can_consent_delegated_for_tenant())
    }
}

/// `signInAudience` of an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInAudience {
    AzureADMyOrg,
    AzureADMultipleOrgs,
    AzureADandPersonalMicrosoftAccount,
    PersonalMicrosoftAccount,
}

impl SignInAudience {
    pub fn is_multi_tenant(self) -> bool {
        !matches!(self, Self::AzureADMyOrg)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AzureADMyOrg => "AzureADMyOrg",
            Self::AzureADMultipleOrgs => "AzureADMultipleOrgs",
            Self::AzureADandPersonalMicrosoftAccount => "AzureADandPersonalMicrosoftAccount",
            Self::PersonalMicrosoftAccount => "PersonalMicrosoftAccount",
        }
    }
    /// Accepts the Graph value or the portal's wording ("single", "multi", "personal").
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "azureadmyorg" | "single" | "single-tenant" | "myorg" => Some(Self::AzureADMyOrg),
            "azureadmultipleorgs" | "multi" | "multi-tenant" | "multipleorgs" => Some(Self::AzureADMultipleOrgs),
            "azureadandpersonalmicrosoftaccount" | "personal" | "multi-and-personal" => {
                Some(Self::AzureADandPersonalMicrosoftAccount)
            }
            "personalmicrosoftaccount" => Some(Self::PersonalMicrosoftAccount),
            _ => None,
        }
    }
}

/// `requiredResourceAccess[].resourceAccess[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PermissionKind {
    /// A delegated permission (OAuth2 scope) → `scp`.
    Scope,
    /// An application permission (app role) → `roles`.
    Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceAccess {
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: PermissionKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: Uuid,
    pub resource_access: Vec<ResourceAccess>,
}

/// An application permission or an assignable role the application defines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub id: Uuid,
    pub value: String,
    pub display_name: String,
    pub description: String,
    pub allowed_member_types: Vec<String>,
    pub is_enabled: bool,
}

/// A delegated permission the application exposes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionScope {
    pub id: Uuid,
    pub value: String,
    /// `User` (users may consent) or `Admin` (admin consent required).
    #[serde(rename = "type")]
    pub kind: String,
    pub admin_consent_display_name: String,
    pub admin_consent_description: String,
    pub user_consent_display_name: Option<String>,
    pub user_consent_description: Option<String>,
    pub is_enabled: bool,
}

impl PermissionScope {
    pub fn admin_only(&self) -> bool {
        self.kind.eq_ignore_ascii_case("Admin")
    }
}

/// A client secret. Only a salted hash of the value is kept; the value exists once, in the
/// response that created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    pub key_id: Uuid,
    pub display_name: Option<String>,
    /// First three characters of the secret, as Graph shows it.
    pub hint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub start_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_date_time: OffsetDateTime,
    /// `salt || SHA-256(salt || secret)`, hex. Never serialised.
    #[serde(skip)]
    pub secret_hash: String,
}

/// An uploaded certificate (public part only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    pub key_id: Uuid,
    pub display_name: Option<String>,
    /// Base64 SHA-1 thumbprint, as Graph's `customKeyIdentifier`.
    pub custom_key_identifier: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub usage: String,
    #[serde(with = "time::serde::rfc3339")]
    pub start_date_time: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end_date_time: OffsetDateTime,
    /// DER of the X.509 certificate.
    #[serde(skip)]
    pub cert_der: Vec<u8>,
    /// Hex SHA-1 of the DER (the portal's "Thumbprint").
    pub thumbprint_sha1: String,
    /// Hex SHA-256 of the DER.
    pub thumbprint_sha256: String,
}

/// An application registration (the object in its home tenant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// Object id.
    pub id: Uuid,
    /// Client id used in every protocol message.
    pub app_id: Uuid,
    /// Home tenant (`appOwnerOrganizationId` on its service principals).
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub display_name: String,
    pub sign_in_audience: SignInAudience,
    pub identifier_uris: Vec<String>,
    pub web_redirect_uris: Vec<String>,
    pub public_client_redirect_uris: Vec<String>,
    pub spa_redirect_uris: Vec<String>,
    pub is_fallback_public_client: bool,
    pub required_resource_access: Vec<RequiredResourceAccess>,
    pub app_roles: Vec<AppRole>,
    pub oauth2_permission_scopes: Vec<PermissionScope>,
    /// `api.requestedAccessTokenVersion`: `None`/1 → v1 access tokens, 2 → v2.
    pub requested_access_token_version: Option<u8>,
    pub password_credentials: Vec<PasswordCredential>,
    pub key_credentials: Vec<KeyCredential>,
    pub publisher_domain: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
}

impl Application {
    /// Whether a redirect URI is registered on any platform, compared exactly as Entra does
    /// (case-sensitive path; `http://localhost` may use any port for public clients).
    pub fn redirect_uri_registered(&self, uri: &str) -> bool {
        self.all_redirect_uris().any(|r| r == uri || localhost_any_port(r, uri))
    }

    pub fn all_redirect_uris(&self) -> impl Iterator<Item = &str> {
        self.web_redirect_uris
            .iter()
            .chain(&self.public_client_redirect_uris)
            .chain(&self.spa_redirect_uris)
            .map(String::as_str)
    }

    /// Public clients may not authenticate and must not send a secret. Entra infers it from the
    /// `isFallbackPublicClient` flag, or from an app that only has public-client redirect URIs.
    pub fn is_public_client(&self) -> bool {
        self.is_fallback_public_client
            || (!self.public_client_redirect_uris.is_empty()
                && self.web_redirect_uris.is_empty()
                && self.password_credentials.is_empty()
                && self.key_credentials.is_empty())
    }

    /// Does this resource's token use the v2 format?
    pub fn issues_v2_tokens(&self) -> bool {
        self.requested_access_token_version == Some(2)
    }

    pub fn app_role(&self, id: Uuid) -> Option<&AppRole> {
        self.app_roles.iter().find(|r| r.id == id)
    }
    pub fn app_role_by_value(&self, value: &str) -> Option<&AppRole> {
        self.app_roles.iter().find(|r| r.value.eq_ignore_ascii_case(value))
    }
    pub fn scope(&self, id: Uuid) -> Option<&PermissionScope> {
        self.oauth2_permission_scopes.iter().find(|s| s.id == id)
    }
    pub fn scope_by_value(&self, value: &str) -> Option<&PermissionScope> {
        self.oauth2_permission_scopes.iter().find(|s| s.value.eq_ignore_ascii_case(value))
    }

    /// Does `identifier` (a v1 `resource`, or the resource part of a v2 scope) name this
    /// application? Entra treats `X`, `X/` and the appId GUID alike.
    pub fn answers_to(&self, identifier: &str) -> bool {
        let id = identifier.trim_end_matches('/');
        if id.eq_ignore_ascii_case(&self.app_id.to_string()) {
            return true;
        }
        self.identifier_uris.iter().any(|u| u.trim_end_matches('/').eq_ignore_ascii_case(id))
    }
}

fn localhost_any_port(registered: &str, given: &str) -> bool {
    fn split(u: &str) -> Option<(&str, &str)> {
        let rest = u.strip_prefix("http://localhost").or_else(|| u.strip_prefix("http://127.0.0.1"))?;
        let (port_part, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if !(port_part.is_empty() || port_part.starts_with(':')) {
            return None;
        }
        Some((&u[..u.len() - rest.len()], path))
    }
    matches!((split(registered), split(given)), (Some((h1, p1)), Some((h2, p2))) if h1 == h2 && p1 == p2)
}

/// The local instance of an application in one tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub app_id: Uuid,
    pub display_name: String,
    pub app_owner_organization_id: Uuid,
    pub account_enabled: bool,
    pub app_role_assignment_required: bool,
    pub service_principal_type: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalType {
    ServicePrincipal,
    User,
    Group,
}

/// An application permission granted to a service principal, or an app role assigned to a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub principal_id: Uuid,
    pub principal_type: PrincipalType,
    pub principal_display_name: String,
    pub resource_id: Uuid,
    pub resource_display_name: String,
    pub app_role_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentType {
    /// Admin consent on behalf of the whole tenant.
    AllPrincipals,
    /// One user's own consent.
    Principal,
}

/// Delegated permissions granted to a client for a resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2PermissionGrant {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    /// Service principal id of the client.
    pub client_id: Uuid,
    pub consent_type: ConsentType,
    pub principal_id: Option<Uuid>,
    /// Service principal id of the resource.
    pub resource_id: Uuid,
    /// Space-separated scope values.
    pub scope: String,
}

impl OAuth2PermissionGrant {
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_whitespace()
    }
}

/// A signing key of the token service.
#[derive(Debug, Clone, PartialEq)]
pub struct SigningKeyRecord {
    /// `kid` = `x5t` = base64url SHA-1 of the certificate.
    pub kid: String,
    /// PKCS#8 DER of the RSA private key.
    pub private_key_pkcs8: Vec<u8>,
    /// Self-signed certificate DER published as `x5c`.
    pub cert_der: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// The newest key that is not retired signs new tokens.
    pub retire_at: Option<OffsetDateTime>,
}

impl SigningKeyRecord {
    pub fn is_published(&self, now: OffsetDateTime) -> bool {
        self.retire_at.is_none_or(|r| r > now)
    }
}

/// What an issued authorization code, refresh token or device code stands for. Stored as JSON
/// under a hash of the opaque token, so the token itself is never at rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserGrant {
    pub tenant_id: Uuid,
    pub client_app_id: Uuid,
    pub user_id: Uuid,
    /// Space-separated scopes as requested (may span the OIDC scopes and one resource).
    pub scope: String,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    /// v1 `resource` parameter when the grant came from a v1 endpoint.
    pub resource: Option<String>,
    /// `pwd`, `mfa`… as in the `amr` claim.
    pub auth_methods: Vec<String>,
    #[serde(with = "time::serde::timestamp")]
    pub auth_time: OffsetDateTime,
}

/// State of a device-code authorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceCodeState {
    Pending,
    Approved,
    Declined,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceCodeRecord {
    pub user_code: String,
    /// The tenant segment the flow was started on (`organizations`, a GUID…).
    pub tenant_segment: String,
    pub client_app_id: Uuid,
    pub scope: String,
    pub resource: Option<String>,
    pub state: DeviceCodeState,
    /// Filled in when the user approves.
    pub grant: Option<UserGrant>,
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::timestamp::option")]
    pub last_poll: Option<OffsetDateTime>,
}

/// A browser sign-in session at the authorize / consent pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowserSession {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    /// Anti-forgery token the pages embed in their forms.
    pub csrf: String,
    #[serde(with = "time::serde::timestamp")]
    pub auth_time: OffsetDateTime,
    #[serde(with = "time::serde::timestamp")]
    pub expires_at: OffsetDateTime,
}

/// Smart-lockout state of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockoutState {
    pub failures: u32,
    pub locked_until: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_redirects_match_on_any_port_but_same_path() {
        assert!(localhost_any_port("http://localhost", "http://localhost:53211"));
        assert!(localhost_any_port("http://localhost:8400/cb", "http://localhost:1234/cb"));
        assert!(!localhost_any_port("http://localhost/cb", "http://localhost:1234/other"));
        assert!(!localhost_any_port("https://portal.azure.com", "https://portal.azure.com:444"));
    }
}

/// An Entra security group. Defender RBAC roles and device groups are granted to groups, never to
/// users directly (`defender-api.md` §8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: Uuid,
    #[serde(skip)]
    pub tenant_id: Uuid,
    pub display_name: String,
    pub description: Option<String>,
    pub security_enabled: bool,
    /// User object ids.
    pub members: Vec<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_date_time: OffsetDateTime,
}
