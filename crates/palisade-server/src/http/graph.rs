//! The management API, shaped like Microsoft Graph v1.0 (applications, servicePrincipals,
//! addPassword, appRoleAssignments, oauth2PermissionGrants, users) and protected by Palisade's own
//! tokens with Graph's permission names. The tenant is the token's `tid`. Two additions are marked
//! as Palisade's: `addApiPermission` and `grantAdminConsent` actions (what the portal's buttons
//! do), and the operator endpoints under `/palisade/v1` (tenants, key rotation).

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use palisade_directory::catalog::{self, PALISADE_OPERATOR_APP_ID};
use palisade_directory::*;
use palisade_identity::admin::{GraphError, NewApplication, NewUser};
use palisade_identity::validate::ValidatedToken;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ctx::Ctx;
use super::errors::GraphResponse;
use crate::AppState;

type GResult<T = Response> = Result<T, GraphResponse>;

const GRAPH_AUDIENCES: &[&str] =
    &["https://graph.microsoft.com", "https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000"];

/// A Graph permission requirement: application permissions (any one) or, for delegated tokens,
/// scopes (any one) held by an administrator.
pub struct Needs {
    roles: &'static [&'static str],
    scopes: &'static [&'static str],
}

const READ_ORG: Needs = Needs {
    roles: &[
        "Directory.Read.All",
        "Directory.ReadWrite.All",
        "Application.Read.All",
        "Application.ReadWrite.All",
        "User.Read.All",
        "User.ReadWrite.All",
    ],
    scopes: &["User.Read"],
};
const READ_USERS: Needs = Needs {
    roles: &["User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
    scopes: &["User.Read.All", "User.ReadWrite.All"],
};
const WRITE_USERS: Needs =
    Needs { roles: &["User.ReadWrite.All", "Directory.ReadWrite.All"], scopes: &["User.ReadWrite.All"] };
const WRITE_ROLES: Needs = Needs { roles: &["Directory.ReadWrite.All"], scopes: &["Directory.AccessAsUser.All"] };
const READ_APPS: Needs = Needs {
    roles: &["Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
    scopes: &["Application.Read.All", "Application.ReadWrite.All"],
};
const WRITE_APPS: Needs =
    Needs { roles: &["Application.ReadWrite.All", "Directory.ReadWrite.All"], scopes: &["Application.ReadWrite.All"] };
const CONSENT: Needs = Needs {
    roles: &["AppRoleAssignment.ReadWrite.All", "Directory.ReadWrite.All"],
    scopes: &["Directory.AccessAsUser.All"],
};
const READ_ASSIGNMENTS: Needs = Needs {
    roles: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "AppRoleAssignment.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    scopes: &["Application.Read.All"],
};
const WRITE_ASSIGNMENTS: Needs =
    Needs { roles: &["AppRoleAssignment.ReadWrite.All"], scopes: &["AppRoleAssignment.ReadWrite.All"] };
const READ_GRANTS: Needs = Needs {
    roles: &["DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"],
    scopes: &["DelegatedPermissionGrant.ReadWrite.All"],
};
const WRITE_GRANTS: Needs =
    Needs { roles: &["DelegatedPermissionGrant.ReadWrite.All"], scopes: &["DelegatedPermissionGrant.ReadWrite.All"] };

/// The authenticated caller of the management API.
pub struct Caller {
    pub tenant: Tenant,
    pub token: ValidatedToken,
    pub user: Option<User>,
}

impl Caller {
    /// Application tokens need one of `roles`; delegated tokens need one of `scopes` and an
    /// administrator role.
    fn require(&self, needs: Needs) -> Result<(), GraphError> {
        let Needs { roles, scopes } = needs;
        let ok = match &self.user {
            None => self.token.roles().iter().any(|r| roles.iter().any(|x| x.eq_ignore_ascii_case(r))),
            Some(u) => {
                let scp = self.token.scopes();
                scp.iter().any(|s| {
                    scopes.iter().chain(["Directory.AccessAsUser.All"].iter()).any(|x| x.eq_ignore_ascii_case(s))
                }) && (u.has_role(DirectoryRole::GlobalAdministrator) || u.can_consent_delegated_for_tenant())
            }
        };
        if ok {
            Ok(())
        } else {
            Err(GraphError::forbidden(format!(
                "Insufficient privileges to complete the operation. Requires one of the application permissions [{}] (or delegated [{}] for an administrator) on Microsoft Graph.",
                roles.join(", "),
                scopes.join(", ")
            )))
        }
    }

    fn is_operator(&self) -> bool {
        self.token.app_id().is_some_and(|a| a.eq_ignore_ascii_case(&PALISADE_OPERATOR_APP_ID.to_string()))
            && self.token.claims["appidacr"] == "2"
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = GraphResponse;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauth = |m: &str| {
            GraphResponse(GraphError { status: 401, code: "InvalidAuthenticationToken", message: m.to_string() })
        };
        let Some(token) = super::ctx::bearer_token(parts) else {
            return Err(unauth("Access token is empty."));
        };
        let Ctx(ctx) = Ctx::from_request_parts(parts, state).await.expect("infallible");
        let v = state
            .identity
            .validate_access_token(&token, GRAPH_AUDIENCES, &[ctx.base_url.as_str()])
            .await
            .map_err(|e| unauth(&format!("Access token validation failure: {e}.")))?;
        let tenant = state
            .identity
            .stores
            .directory
            .tenant(v.tenant_id)
            .await
            .map_err(|e| GraphResponse(e.into()))?
            .ok_or_else(|| unauth("The token's tenant does not exist."))?;
        let user = if v.is_app_only() {
            None
        } else {
            let oid = v.object_id().ok_or_else(|| unauth("The token has no oid."))?;
            Some(
                state
                    .identity
                    .stores
                    .directory
                    .user(tenant.id, oid)
                    .await
                    .map_err(|e| GraphResponse(e.into()))?
                    .ok_or_else(|| unauth("The signed-in user no longer exists."))?,
            )
        };
        Ok(Caller { tenant, token: v, user })
    }
}

fn ctx_url(entity: &str) -> String {
    format!("https://graph.microsoft.com/v1.0/$metadata#{entity}")
}

fn collection(entity: &str, items: Vec<Value>) -> Response {
    Json(json!({"@odata.context": ctx_url(entity), "value": items})).into_response()
}

fn entity(entity: &str, mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("@odata.context".into(), json!(ctx_url(&format!("{entity}/$entity"))));
    }
    v
}

fn created(v: Value) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Serialisation in Graph's shapes

pub fn application_json(a: &Application) -> Value {
    json!({
        "id": a.id,
        "appId": a.app_id,
        "displayName": a.display_name,
        "signInAudience": a.sign_in_audience,
        "identifierUris": a.identifier_uris,
        "publisherDomain": a.publisher_domain,
        "createdDateTime": rfc3339(a.created_date_time),
        "isFallbackPublicClient": a.is_fallback_public_client,
        "web": {"redirectUris": a.web_redirect_uris, "implicitGrantSettings": {"enableIdTokenIssuance": false, "enableAccessTokenIssuance": false}},
        "publicClient": {"redirectUris": a.public_client_redirect_uris},
        "spa": {"redirectUris": a.spa_redirect_uris},
        "requiredResourceAccess": a.required_resource_access,
        "appRoles": a.app_roles,
        "api": {"requestedAccessTokenVersion": a.requested_access_token_version, "oauth2PermissionScopes": a.oauth2_permission_scopes},
        "passwordCredentials": a.password_credentials.iter().map(|c| json!({
            "customKeyIdentifier": null, "displayName": c.display_name, "endDateTime": rfc3339(c.end_date_time),
            "hint": c.hint, "keyId": c.key_id, "secretText": null, "startDateTime": rfc3339(c.start_date_time)
        })).collect::<Vec<_>>(),
        "keyCredentials": a.key_credentials.iter().map(|k| json!({
            "customKeyIdentifier": k.custom_key_identifier, "displayName": k.display_name, "endDateTime": rfc3339(k.end_date_time),
            "key": null, "keyId": k.key_id, "startDateTime": rfc3339(k.start_date_time), "type": k.kind, "usage": k.usage,
            "thumbprint": k.thumbprint_sha1, "thumbprintSha256": k.thumbprint_sha256
        })).collect::<Vec<_>>(),
    })
}

async fn service_principal_json(state: &AppState, sp: &ServicePrincipal) -> Value {
    let app = state.identity.stores.directory.application_by_app_id(sp.app_id).await.ok().flatten();
    let (roles, scopes, names) = match &app {
        Some(a) => {
            let mut n = vec![a.app_id.to_string()];
            n.extend(a.identifier_uris.iter().cloned());
            (json!(a.app_roles), json!(a.oauth2_permission_scopes), n)
        }
        None => (json!([]), json!([]), vec![sp.app_id.to_string()]),
    };
    json!({
        "id": sp.id, "appId": sp.app_id, "displayName": sp.display_name, "appDisplayName": sp.display_name,
        "appOwnerOrganizationId": sp.app_owner_organization_id, "accountEnabled": sp.account_enabled,
        "appRoleAssignmentRequired": sp.app_role_assignment_required, "servicePrincipalType": sp.service_principal_type,
        "servicePrincipalNames": names, "appRoles": roles, "oauth2PermissionScopes": scopes,
        "createdDateTime": rfc3339(sp.created_date_time),
    })
}

fn user_json(u: &User) -> Value {
    json!({
        "id": u.id, "userPrincipalName": u.user_principal_name, "displayName": u.display_name, "givenName": u.given_name,
        "surname": u.surname, "mail": u.user_principal_name, "accountEnabled": u.account_enabled,
        "createdDateTime": rfc3339(u.created_date_time),
        // Palisade addition: directory roles inline (Graph needs a second call for them).
        "palisadeDirectoryRoles": u.directory_roles.iter().map(|r| r.display_name()).collect::<Vec<_>>(),
    })
}

fn grant_json(g: &OAuth2PermissionGrant) -> Value {
    json!({"id": g.id, "clientId": g.client_id, "consentType": g.consent_type, "principalId": g.principal_id, "resourceId": g.resource_id, "scope": g.scope})
}

fn tenant_json(t: &Tenant) -> Value {
    json!({"id": t.id, "displayName": t.display_name, "createdDateTime": rfc3339(t.created_date_time),
        "verifiedDomains": [{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": true, "isInitial": true, "name": t.default_domain, "type": "Managed"}]})
}

// ---------------------------------------------------------------------------------------------
// Organization and users

pub async fn organization(c: Caller) -> GResult {
    c.require(READ_ORG)?;
    Ok(collection("organization", vec![tenant_json(&c.tenant)]))
}

/// `GET /me`: the signed-in user of a delegated token (any Graph scope, as `User.Read` is).
pub async fn me(c: Caller) -> GResult {
    match &c.user {
        Some(u) => Ok(Json(entity("users", user_json(u))).into_response()),
        None => Err(GraphError {
            status: 400,
            code: "BadRequest",
            message: "/me request is only valid with delegated authentication flow.".into(),
        }
        .into()),
    }
}

pub async fn list_users(State(s): State<AppState>, c: Caller) -> GResult {
    c.require(READ_USERS)?;
    let users = s.identity.stores.directory.users(c.tenant.id).await.map_err(GraphError::from)?;
    Ok(collection("users", users.iter().map(user_json).collect()))
}

async fn find_user(s: &AppState, t: &Tenant, id: &str) -> Result<User, GraphError> {
    let dir = &s.identity.stores.directory;
    let found = match Uuid::parse_str(id) {
        Ok(u) => dir.user(t.id, u).await?,
        Err(_) => dir.user_by_upn(t.id, id).await?,
    };
    found.ok_or_else(|| GraphError::not_found(id))
}

pub async fn get_user(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> GResult {
    c.require(READ_USERS)?;
    Ok(Json(entity("users", user_json(&find_user(&s, &c.tenant, &id).await?))).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateUserBody {
    user_principal_name: String,
    display_name: Option<String>,
    given_name: Option<String>,
    surname: Option<String>,
    account_enabled: Option<bool>,
    password_profile: Option<PasswordProfile>,
    /// Palisade addition: directory roles by name, assigned at creation.
    #[serde(default)]
    palisade_directory_roles: Vec<String>,
}

#[derive(Deserialize)]
pub struct PasswordProfile {
    password: Option<String>,
}

fn parse_roles(names: &[String]) -> Result<Vec<DirectoryRole>, GraphError> {
    names
        .iter()
        .map(|n| {
            DirectoryRole::parse(n).ok_or_else(|| {
                GraphError::bad_request(format!(
                    "Unknown directory role '{n}'. Known: {}.",
                    DirectoryRole::ALL.iter().map(|r| r.display_name()).collect::<Vec<_>>().join(", ")
                ))
            })
        })
        .collect()
}

pub async fn create_user(State(s): State<AppState>, c: Caller, Json(b): Json<CreateUserBody>) -> GResult {
    c.require(WRITE_USERS)?;
    let roles = parse_roles(&b.palisade_directory_roles)?;
    let (user, generated) = s
        .identity
        .create_user(
            &c.tenant,
            NewUser {
                user_principal_name: b.user_principal_name,
                display_name: b.display_name,
                given_name: b.given_name,
                surname: b.surname,
                password: b.password_profile.and_then(|p| p.password),
                roles,
                account_enabled: b.account_enabled.unwrap_or(true),
            },
        )
        .await?;
    let mut v = entity("users", user_json(&user));
    if let Some(p) = generated {
        // Shown once, like the portal's "Auto-generate password".
        v["passwordProfile"] = json!({"password": p, "forceChangePasswordNextSignIn": false});
    }
    Ok(created(v))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchUserBody {
    account_enabled: Option<bool>,
    display_name: Option<String>,
    password_profile: Option<PasswordProfile>,
    /// Palisade addition: ask Palisade to generate the new password (returned once).
    #[serde(default)]
    palisade_generate_password: bool,
    /// Palisade addition: directory roles to add.
    #[serde(default)]
    palisade_directory_roles: Vec<String>,
}

/// `PATCH /users/{id}`. Graph answers 204; when Palisade generated a password it answers 200
/// with the user and the password, once.
pub async fn patch_user(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Json(b): Json<PatchUserBody>,
) -> GResult {
    c.require(WRITE_USERS)?;
    let user = find_user(&s, &c.tenant, &id).await?;
    let password = match (b.password_profile.and_then(|p| p.password), b.palisade_generate_password) {
        (Some(p), _) => palisade_identity::admin::PasswordChange::Set(p),
        (None, true) => palisade_identity::admin::PasswordChange::Generate,
        (None, false) => palisade_identity::admin::PasswordChange::Keep,
    };
    let change = palisade_identity::admin::UserChange {
        account_enabled: b.account_enabled,
        display_name: b.display_name,
        password,
        add_roles: parse_roles(&b.palisade_directory_roles)?,
    };
    let (user, generated) = s.identity.update_user(&c.tenant, user, change).await?;
    Ok(match generated {
        Some(p) => {
            let mut v = entity("users", user_json(&user));
            v["passwordProfile"] = json!({"password": p, "forceChangePasswordNextSignIn": false});
            Json(v).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignmentBody {
    principal_id: Uuid,
    role_definition_id: String,
}

/// `POST /roleManagement/directory/roleAssignments` with a role template id (or name).
pub async fn assign_directory_role(State(s): State<AppState>, c: Caller, Json(b): Json<RoleAssignmentBody>) -> GResult {
    c.require(WRITE_ROLES)?;
    let role = parse_roles(std::slice::from_ref(&b.role_definition_id))?[0];
    let dir = &s.identity.stores.directory;
    let mut user = dir
        .user(c.tenant.id, b.principal_id)
        .await
        .map_err(GraphError::from)?
        .ok_or_else(|| GraphError::not_found(b.principal_id))?;
    if !user.directory_roles.contains(&role) {
        user.directory_roles.push(role);
        dir.update_user(c.tenant.id, &user).await.map_err(GraphError::from)?;
    }
    Ok(created(json!({
        "@odata.context": ctx_url("roleManagement/directory/roleAssignments/$entity"),
        "id": Uuid::new_v4(), "principalId": user.id, "roleDefinitionId": role.template_id(), "directoryScopeId": "/"
    })))
}

// ---------------------------------------------------------------------------------------------
// Applications

pub async fn list_applications(State(s): State<AppState>, c: Caller) -> GResult {
    c.require(READ_APPS)?;
    let apps = s.identity.stores.directory.applications(c.tenant.id).await.map_err(GraphError::from)?;
    Ok(collection("applications", apps.iter().map(application_json).collect()))
}

/// `{id}` or Graph's alternate key `(appId='{appId}')`.
fn app_key(raw: &str) -> &str {
    raw.strip_prefix("(appId='")
        .and_then(|r| r.strip_suffix("')"))
        .or_else(|| raw.strip_prefix("applications(appId='").and_then(|r| r.strip_suffix("')")))
        .unwrap_or(raw)
}

pub async fn get_application(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> GResult {
    c.require(READ_APPS)?;
    let app = s.identity.find_application(&c.tenant, app_key(&id)).await?;
    Ok(Json(entity("applications", application_json(&app))).into_response())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RedirectUris {
    #[serde(default)]
    redirect_uris: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApiBody {
    requested_access_token_version: Option<u8>,
    oauth2_permission_scopes: Option<Vec<PermissionScope>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredentialBody {
    key_id: Option<Uuid>,
    key: Option<String>,
    display_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationBody {
    display_name: Option<String>,
    sign_in_audience: Option<SignInAudience>,
    web: Option<RedirectUris>,
    public_client: Option<RedirectUris>,
    spa: Option<RedirectUris>,
    is_fallback_public_client: Option<bool>,
    identifier_uris: Option<Vec<String>>,
    required_resource_access: Option<Vec<RequiredResourceAccess>>,
    app_roles: Option<Vec<AppRole>>,
    api: Option<ApiBody>,
    key_credentials: Option<Vec<KeyCredentialBody>>,
    /// Palisade addition: create the home-tenant service principal too, as the portal does.
    #[serde(default)]
    palisade_create_service_principal: bool,
}

pub async fn create_application(State(s): State<AppState>, c: Caller, Json(b): Json<ApplicationBody>) -> GResult {
    c.require(WRITE_APPS)?;
    let app = s
        .identity
        .register_application(
            &c.tenant,
            NewApplication {
                display_name: b.display_name.clone().unwrap_or_default(),
                sign_in_audience: b.sign_in_audience.unwrap_or(SignInAudience::AzureADMyOrg),
                web_redirect_uris: b.web.as_ref().map(|w| w.redirect_uris.clone()).unwrap_or_default(),
                public_client_redirect_uris: b
                    .public_client
                    .as_ref()
                    .map(|w| w.redirect_uris.clone())
                    .unwrap_or_default(),
                spa_redirect_uris: b.spa.as_ref().map(|w| w.redirect_uris.clone()).unwrap_or_default(),
                is_fallback_public_client: b.is_fallback_public_client.unwrap_or(false),
                identifier_uris: b.identifier_uris.clone().unwrap_or_default(),
                create_service_principal: b.palisade_create_service_principal,
            },
        )
        .await?;
    // The rest of the body (permissions, roles, api) is applied like a PATCH.
    let app = apply_patch(
        &s,
        &c.tenant,
        app,
        ApplicationBody {
            display_name: None,
            sign_in_audience: None,
            web: None,
            public_client: None,
            spa: None,
            is_fallback_public_client: None,
            identifier_uris: None,
            ..b
        },
    )
    .await?;
    Ok(created(entity("applications", application_json(&app))))
}

async fn apply_patch(
    s: &AppState,
    tenant: &Tenant,
    mut app: Application,
    b: ApplicationBody,
) -> Result<Application, GraphError> {
    if let Some(v) = b.display_name {
        app.display_name = v;
    }
    if let Some(v) = b.sign_in_audience {
        app.sign_in_audience = v;
    }
    if let Some(v) = b.web {
        app.web_redirect_uris = v.redirect_uris;
    }
    if let Some(v) = b.public_client {
        app.public_client_redirect_uris = v.redirect_uris;
    }
    if let Some(v) = b.spa {
        app.spa_redirect_uris = v.redirect_uris;
    }
    if let Some(v) = b.is_fallback_public_client {
        app.is_fallback_public_client = v;
    }
    if let Some(v) = b.identifier_uris {
        app.identifier_uris = v;
    }
    if let Some(v) = b.required_resource_access {
        app.required_resource_access = v;
    }
    if let Some(v) = b.app_roles {
        app.app_roles = v;
    }
    if let Some(api) = b.api {
        if api.requested_access_token_version.is_some() {
            app.requested_access_token_version = api.requested_access_token_version;
        }
        if let Some(scopes) = api.oauth2_permission_scopes {
            app.oauth2_permission_scopes = scopes;
        }
    }
    if let Some(keys) = b.key_credentials {
        // Graph replaces the collection: entries with `key` are new certificates, entries with
        // only a `keyId` keep an existing one.
        let mut next = Vec::new();
        for k in keys {
            match (k.key, k.key_id) {
                (Some(key), _) => {
                    let der = palisade_crypto::b64::std_decode_lenient(&key)
                        .ok_or_else(|| GraphError::bad_request("keyCredentials.key must be base64 (DER or PEM)."))?;
                    let parsed = palisade_crypto::cert::parse_certificate(&der)
                        .map_err(|e| GraphError::bad_request(e.to_string()))?;
                    next.push(palisade_identity::admin::key_credential(&parsed, k.display_name));
                }
                (None, Some(id)) => next.push(
                    app.key_credentials
                        .iter()
                        .find(|x| x.key_id == id)
                        .cloned()
                        .ok_or_else(|| GraphError::not_found(id))?,
                ),
                (None, None) => {
                    return Err(GraphError::bad_request("Each keyCredential needs a key or an existing keyId."));
                }
            }
        }
        app.key_credentials = next;
    }
    s.identity.stores.directory.update_application(tenant.id, &app).await?;
    Ok(app)
}

pub async fn patch_application(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Json(b): Json<ApplicationBody>,
) -> GResult {
    c.require(WRITE_APPS)?;
    let app = s.identity.find_application(&c.tenant, app_key(&id)).await?;
    apply_patch(&s, &c.tenant, app, b).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn delete_application(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> GResult {
    c.require(WRITE_APPS)?;
    let app = s.identity.find_application(&c.tenant, app_key(&id)).await?;
    let dir = &s.identity.stores.directory;
    if let Some(sp) = dir.service_principal_by_app_id(c.tenant.id, app.app_id).await.map_err(GraphError::from)? {
        dir.delete_service_principal(c.tenant.id, sp.id).await.map_err(GraphError::from)?;
    }
    dir.delete_application(c.tenant.id, app.id).await.map_err(GraphError::from)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AddPasswordBody {
    #[serde(default)]
    password_credential: AddPasswordInner,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AddPasswordInner {
    display_name: Option<String>,
    end_date_time: Option<String>,
}

pub async fn add_password(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    body: Option<Json<AddPasswordBody>>,
) -> GResult {
    c.require(WRITE_APPS)?;
    let app = s.identity.find_application(&c.tenant, app_key(&id)).await?;
    let b = body.map(|Json(b)| b.password_credential).unwrap_or_default();
    let end = match b.end_date_time {
        Some(t) => Some(
            OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339)
                .map_err(|_| GraphError::bad_request(format!("endDateTime '{t}' is not an ISO 8601 date-time.")))?,
        ),
        None => None,
    };
    let (cred, secret) = s.identity.add_password(&c.tenant, &app, b.display_name, end).await?;
    Ok(Json(json!({
        "@odata.context": ctx_url("microsoft.graph.passwordCredential"),
        "customKeyIdentifier": null, "displayName": cred.display_name, "endDateTime": rfc3339(cred.end_date_time),
        "hint": cred.hint, "keyId": cred.key_id, "secretText": secret, "startDateTime": rfc3339(cred.start_date_time)
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovePasswordBody {
    key_id: Uuid,
}

pub async fn remove_password(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Json(b): Json<RemovePasswordBody>,
) -> GResult {
    c.require(WRITE_APPS)?;
    let app = s.identity.find_application(&c.tenant, app_key(&id)).await?;
    s.identity.remove_password(&c.tenant, &app, b.key_id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddApiPermissionBody {
    api: String,
    permission: String,
    /// `Role`/`application` or `Scope`/`delegated`; optional when unambiguous.
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Palisade action: "API permissions > Add a permission" by API and permission name.
pub async fn add_api_permission(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Json(b): Json<AddApiPermissionBody>,
) -> GResult {
    c.require(WRITE_APPS)?;
    let kind = match b.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => None,
        Some("role" | "application" | "app") => Some(PermissionKind::Role),
        Some("scope" | "delegated") => Some(PermissionKind::Scope),
        Some(other) => {
            return Err(
                GraphError::bad_request(format!("type '{other}' is neither 'application' nor 'delegated'.")).into()
            );
        }
    };
    let app = s.identity.find_application(&c.tenant, app_key(&id)).await?;
    let app = s.identity.add_api_permission(&c.tenant, &app, &b.api, &b.permission, kind).await?;
    Ok(Json(entity("applications", application_json(&app))).into_response())
}

/// Palisade action: the portal's "Grant admin consent for {tenant}".
pub async fn grant_admin_consent(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> GResult {
    c.require(CONSENT)?;
    if let Some(u) = &c.user
        && !u.can_consent_app_roles()
    {
        return Err(GraphError::forbidden(
            "Only a Global Administrator or Privileged Role Administrator can grant tenant-wide consent.",
        )
        .into());
    }
    // An app registered in this tenant, or a multi-tenant app from elsewhere (what a customer's
    // admin consents to).
    let app = match s.identity.find_application(&c.tenant, app_key(&id)).await {
        Ok(a) => a,
        Err(e) => match s.identity.client_app(app_key(&id), &c.tenant.id.to_string()).await {
            Ok(a) if a.sign_in_audience.is_multi_tenant() => a,
            _ => return Err(e.into()),
        },
    };
    let perms = s.identity.requested_permissions(&c.tenant, &app, None).await.map_err(GraphError::from)?;
    let out =
        s.identity.grant_admin_consent(&c.tenant, &app, &perms, c.user.as_ref()).await.map_err(GraphError::from)?;
    Ok(Json(json!({
        "tenantId": out.tenant_id, "servicePrincipalId": out.service_principal_id,
        "createdServicePrincipal": out.created_service_principal,
        "appRolesGranted": out.app_roles_granted, "scopesGranted": out.scopes_granted,
    }))
    .into_response())
}

// ---------------------------------------------------------------------------------------------
// Service principals and grants

pub async fn list_service_principals(
    State(s): State<AppState>,
    c: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> GResult {
    c.require(READ_APPS)?;
    let sps = s.identity.stores.directory.service_principals(c.tenant.id).await.map_err(GraphError::from)?;
    // The two filters integrations actually use.
    let filter = q.get("$filter").map(|f| f.trim().to_string());
    let wanted = |sp: &ServicePrincipal| -> Result<bool, GraphError> {
        let Some(f) = &filter else { return Ok(true) };
        let (field, value) = f.split_once(" eq ").ok_or_else(|| {
            GraphError::bad_request(format!("Unsupported $filter '{f}': use appId eq '...' or displayName eq '...'."))
        })?;
        let value = value.trim().trim_matches('\'');
        match field.trim() {
            "appId" => Ok(sp.app_id.to_string().eq_ignore_ascii_case(value)),
            "displayName" => Ok(sp.display_name == value),
            other => Err(GraphError::bad_request(format!("Unsupported $filter property '{other}'."))),
        }
    };
    let mut out = Vec::new();
    for sp in &sps {
        if wanted(sp)? {
            out.push(service_principal_json(&s, sp).await);
        }
    }
    Ok(collection("servicePrincipals", out))
}

async fn find_sp(s: &AppState, t: &Tenant, id: &str) -> Result<ServicePrincipal, GraphError> {
    let raw = id.strip_prefix("(appId='").and_then(|r| r.strip_suffix("')"));
    let dir = &s.identity.stores.directory;
    let found = match raw {
        Some(app_id) => {
            dir.service_principal_by_app_id(t.id, Uuid::parse_str(app_id).map_err(|_| GraphError::not_found(id))?)
                .await?
        }
        None => dir.service_principal(t.id, Uuid::parse_str(id).map_err(|_| GraphError::not_found(id))?).await?,
    };
    found.ok_or_else(|| GraphError::not_found(id))
}

pub async fn get_service_principal(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> GResult {
    c.require(READ_APPS)?;
    let sp = find_sp(&s, &c.tenant, &id).await?;
    Ok(Json(entity("servicePrincipals", service_principal_json(&s, &sp).await)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSpBody {
    app_id: Uuid,
}

pub async fn create_service_principal(State(s): State<AppState>, c: Caller, Json(b): Json<CreateSpBody>) -> GResult {
    c.require(WRITE_APPS)?;
    let app = s
        .identity
        .client_app(&b.app_id.to_string(), &c.tenant.id.to_string())
        .await
        .map_err(|_| GraphError::not_found(b.app_id))?;
    if app.tenant_id != c.tenant.id && !app.sign_in_audience.is_multi_tenant() {
        return Err(GraphError::bad_request(format!(
            "The application {} is single-tenant in another directory.",
            app.app_id
        ))
        .into());
    }
    let sp = palisade_identity::consent::new_service_principal(c.tenant.id, &app);
    s.identity.stores.directory.create_service_principal(c.tenant.id, &sp).await.map_err(GraphError::from)?;
    Ok(created(entity("servicePrincipals", service_principal_json(&s, &sp).await)))
}

pub async fn delete_service_principal(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> GResult {
    c.require(WRITE_APPS)?;
    let sp = find_sp(&s, &c.tenant, &id).await?;
    if catalog::first_party_applications().iter().any(|a| a.app_id == sp.app_id) {
        return Err(GraphError::bad_request("First-party service principals cannot be deleted.").into());
    }
    s.identity.stores.directory.delete_service_principal(c.tenant.id, sp.id).await.map_err(GraphError::from)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn assignment_json(a: &AppRoleAssignment) -> Value {
    json!({"id": a.id, "appRoleId": a.app_role_id, "createdDateTime": rfc3339(a.created_date_time), "principalDisplayName": a.principal_display_name,
        "principalId": a.principal_id, "principalType": a.principal_type, "resourceDisplayName": a.resource_display_name, "resourceId": a.resource_id})
}

pub async fn list_app_role_assignments(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> GResult {
    c.require(READ_ASSIGNMENTS)?;
    let sp = find_sp(&s, &c.tenant, &id).await?;
    let list =
        s.identity.stores.directory.app_role_assignments_of(c.tenant.id, sp.id).await.map_err(GraphError::from)?;
    Ok(collection("appRoleAssignments", list.iter().map(assignment_json).collect()))
}

pub async fn list_app_role_assigned_to(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> GResult {
    c.require(READ_ASSIGNMENTS)?;
    let sp = find_sp(&s, &c.tenant, &id).await?;
    let list =
        s.identity.stores.directory.app_role_assignments_to(c.tenant.id, sp.id).await.map_err(GraphError::from)?;
    Ok(collection("appRoleAssignments", list.iter().map(assignment_json).collect()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentBody {
    principal_id: Uuid,
    resource_id: Uuid,
    app_role_id: Uuid,
}

pub async fn create_app_role_assignment(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Json(b): Json<AssignmentBody>,
) -> GResult {
    c.require(WRITE_ASSIGNMENTS)?;
    let sp = find_sp(&s, &c.tenant, &id).await?;
    if b.principal_id != sp.id {
        return Err(GraphError::bad_request("principalId must be the service principal in the URL.").into());
    }
    let res = find_sp(&s, &c.tenant, &b.resource_id.to_string()).await?;
    let res_app = s
        .identity
        .stores
        .directory
        .application_by_app_id(res.app_id)
        .await
        .map_err(GraphError::from)?
        .ok_or_else(|| GraphError::not_found(res.app_id))?;
    if res_app.app_role(b.app_role_id).is_none() {
        return Err(GraphError::bad_request(format!(
            "Permission (scope or role) {} does not exist on {}.",
            b.app_role_id, res_app.display_name
        ))
        .into());
    }
    let a = AppRoleAssignment {
        id: Uuid::new_v4(),
        tenant_id: c.tenant.id,
        principal_id: sp.id,
        principal_type: PrincipalType::ServicePrincipal,
        principal_display_name: sp.display_name.clone(),
        resource_id: res.id,
        resource_display_name: res.display_name.clone(),
        app_role_id: b.app_role_id,
        created_date_time: OffsetDateTime::now_utc(),
    };
    s.identity.stores.directory.add_app_role_assignment(c.tenant.id, &a).await.map_err(GraphError::from)?;
    Ok(created(entity("appRoleAssignments", assignment_json(&a))))
}

pub async fn delete_app_role_assignment(
    State(s): State<AppState>,
    c: Caller,
    Path((id, aid)): Path<(String, Uuid)>,
) -> GResult {
    c.require(WRITE_ASSIGNMENTS)?;
    let sp = find_sp(&s, &c.tenant, &id).await?;
    let list =
        s.identity.stores.directory.app_role_assignments_of(c.tenant.id, sp.id).await.map_err(GraphError::from)?;
    if !list.iter().any(|a| a.id == aid) {
        return Err(GraphError::not_found(aid).into());
    }
    s.identity.stores.directory.delete_app_role_assignment(c.tenant.id, aid).await.map_err(GraphError::from)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn list_grants(State(s): State<AppState>, c: Caller) -> GResult {
    c.require(READ_GRANTS)?;
    let list = s.identity.stores.directory.oauth2_grants(c.tenant.id).await.map_err(GraphError::from)?;
    Ok(collection("oauth2PermissionGrants", list.iter().map(grant_json).collect()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrantBody {
    client_id: Uuid,
    consent_type: ConsentType,
    principal_id: Option<Uuid>,
    resource_id: Uuid,
    scope: String,
}

pub async fn create_grant(State(s): State<AppState>, c: Caller, Json(b): Json<GrantBody>) -> GResult {
    c.require(WRITE_GRANTS)?;
    find_sp(&s, &c.tenant, &b.client_id.to_string()).await?;
    let res = find_sp(&s, &c.tenant, &b.resource_id.to_string()).await?;
    let res_app = s
        .identity
        .stores
        .directory
        .application_by_app_id(res.app_id)
        .await
        .map_err(GraphError::from)?
        .ok_or_else(|| GraphError::not_found(res.app_id))?;
    for v in b.scope.split_whitespace() {
        if res_app.scope_by_value(v).is_none() {
            return Err(
                GraphError::bad_request(format!("Scope '{v}' does not exist on {}.", res_app.display_name)).into()
            );
        }
    }
    if (b.consent_type == ConsentType::Principal) != b.principal_id.is_some() {
        return Err(GraphError::bad_request(
            "principalId is required for consentType Principal and must be absent for AllPrincipals.",
        )
        .into());
    }
    let g = OAuth2PermissionGrant {
        id: Uuid::new_v4(),
        tenant_id: c.tenant.id,
        client_id: b.client_id,
        consent_type: b.consent_type,
        principal_id: b.principal_id,
        resource_id: b.resource_id,
        scope: b.scope,
    };
    let stored = s.identity.stores.directory.upsert_oauth2_grant(c.tenant.id, &g).await.map_err(GraphError::from)?;
    Ok(created(entity("oauth2PermissionGrants", grant_json(&stored))))
}

pub async fn delete_grant(State(s): State<AppState>, c: Caller, Path(id): Path<Uuid>) -> GResult {
    c.require(WRITE_GRANTS)?;
    s.identity.stores.directory.delete_oauth2_grant(c.tenant.id, id).await.map_err(GraphError::from)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// Operator endpoints (Palisade's own): only the operator client's certificate-backed tokens.

pub(crate) fn operator(c: &Caller) -> Result<(), GraphError> {
    if c.is_operator() {
        Ok(())
    } else {
        Err(GraphError::forbidden(
            "Operator endpoints accept only the Palisade operator client (certificate credential in the data directory's tls/operator-key.pem).",
        ))
    }
}

pub async fn list_tenants(State(s): State<AppState>, c: Caller) -> GResult {
    operator(&c)?;
    let ts = s.identity.stores.directory.tenants().await.map_err(GraphError::from)?;
    Ok(Json(json!({"value": ts.iter().filter(|t| !t.is_system).map(tenant_json).collect::<Vec<_>>()})).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantBody {
    display_name: String,
    domain: Option<String>,
}

pub async fn create_tenant(State(s): State<AppState>, c: Caller, Json(b): Json<TenantBody>) -> GResult {
    operator(&c)?;
    let t = s.identity.create_tenant(&b.display_name, b.domain.as_deref()).await?;
    Ok(created(tenant_json(&t)))
}

pub async fn list_keys(State(s): State<AppState>, c: Caller) -> GResult {
    operator(&c)?;
    let keys = s.identity.stores.keys.signing_keys().await.map_err(GraphError::from)?;
    let now = OffsetDateTime::now_utc();
    let active = s.identity.keys.active().await.map_err(GraphError::from)?.kid().to_string();
    Ok(Json(json!({"value": keys.iter().map(|k| json!({
        "kid": k.kid, "createdDateTime": rfc3339(k.created_at), "retireDateTime": k.retire_at.map(rfc3339),
        "published": k.is_published(now), "active": k.kid == active
    })).collect::<Vec<_>>()}))
    .into_response())
}

pub async fn rotate_keys(State(s): State<AppState>, c: Caller) -> GResult {
    operator(&c)?;
    let lifetime = s.identity.config.access_token_lifetime;
    let kid = s.identity.keys.rotate(lifetime).await.map_err(GraphError::from)?;
    tracing::info!(kid = %kid, "signing key rotated");
    Ok(created(json!({"kid": kid})))
}

// ---------------------------------------------------------------------------------------------
// Graph's alternate-key addressing: `/applications(appId='…')`, `/servicePrincipals(appId='…')`.

fn alternate_key(segment: &str) -> Result<(&str, String), GraphError> {
    for entity in ["applications", "servicePrincipals"] {
        if let Some(rest) = segment.strip_prefix(entity)
            && rest.starts_with("(appId='")
            && rest.ends_with("')")
        {
            return Ok((entity, rest.to_string()));
        }
    }
    Err(GraphError::bad_request(format!("Resource not found for the segment '{segment}'.")))
}

pub async fn alt_get(State(s): State<AppState>, c: Caller, Path(segment): Path<String>) -> GResult {
    match alternate_key(&segment)? {
        ("applications", key) => get_application(State(s), c, Path(key)).await,
        (_, key) => get_service_principal(State(s), c, Path(key)).await,
    }
}

pub async fn alt_patch(
    State(s): State<AppState>,
    c: Caller,
    Path(segment): Path<String>,
    body: Json<ApplicationBody>,
) -> GResult {
    match alternate_key(&segment)? {
        ("applications", key) => patch_application(State(s), c, Path(key), body).await,
        _ => Err(GraphError::bad_request("PATCH of service principals is not supported.").into()),
    }
}

pub async fn alt_delete(State(s): State<AppState>, c: Caller, Path(segment): Path<String>) -> GResult {
    match alternate_key(&segment)? {
        ("applications", key) => delete_application(State(s), c, Path(key)).await,
        (_, key) => delete_service_principal(State(s), c, Path(key)).await,
    }
}

/// `GET /palisade/v1/audit?tenantId=…&sinceMinutes=…&top=…`: the Defender API audit trail, newest first.
pub async fn audit(State(s): State<AppState>, c: Caller, Query(q): Query<HashMap<String, String>>) -> GResult {
    operator(&c)?;
    let tenant = match q.get("tenantId") {
        Some(t) => {
            Some(Uuid::parse_str(t).map_err(|_| GraphError::bad_request(format!("tenantId '{t}' is not a GUID.")))?)
        }
        None => None,
    };
    let since = match q.get("sinceMinutes") {
        Some(m) => Some(
            OffsetDateTime::now_utc()
                - time::Duration::minutes(
                    m.parse().map_err(|_| GraphError::bad_request("sinceMinutes must be a number."))?,
                ),
        ),
        None => None,
    };
    let top: u32 = q.get("top").and_then(|t| t.parse().ok()).unwrap_or(100).min(10_000);
    let recs = s.audit.audit(tenant, since, top).await.map_err(GraphError::internal)?;
    Ok(Json(json!({"value": recs})).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultsBody {
    tenant_id: Uuid,
    app_id: Option<String>,
    /// `null` clears the plan.
    plan: Option<palisade_defender::faults::FaultPlan>,
}

/// `POST /palisade/v1/faults`: set or clear a fault-injection plan for a tenant or one of its apps.
pub async fn set_faults(State(s): State<AppState>, c: Caller, Json(b): Json<FaultsBody>) -> GResult {
    operator(&c)?;
    if let Some(p) = &b.plan {
        p.validate().map_err(GraphError::bad_request)?;
    }
    s.identity
        .stores
        .directory
        .tenant(b.tenant_id)
        .await
        .map_err(GraphError::from)?
        .ok_or_else(|| GraphError::not_found(b.tenant_id))?;
    s.faults.set_faults(b.tenant_id, b.app_id.as_deref(), b.plan.as_ref()).await.map_err(GraphError::internal)?;
    tracing::info!(tenant = %b.tenant_id, app = ?b.app_id, plan = ?b.plan, "fault plan set");
    Ok(Json(json!({"tenantId": b.tenant_id, "appId": b.app_id, "plan": b.plan})).into_response())
}
