//! Directory administration: what the portal's App registrations / Users blades and Microsoft
//! Graph do. The management API and the CLI (through that API) both land here.

use palisade_crypto::{cert, hashing};
use palisade_directory::catalog::{self, PALISADE_OPERATOR_APP_ID};
use palisade_directory::*;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::consent::new_service_principal;
use crate::{Identity, IdentityError};

/// An error in Microsoft Graph's shape (`{"error":{"code","message"}}`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct GraphError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl GraphError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self { status: 400, code: "Request_BadRequest", message: message.into() }
    }
    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self {
            status: 404,
            code: "Request_ResourceNotFound",
            message: format!(
                "Resource '{what}' does not exist or one of its queried reference-property objects are not present."
            ),
        }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self { status: 409, code: "Request_MultipleObjectsWithSameKeyValue", message: message.into() }
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self { status: 403, code: "Authorization_RequestDenied", message: message.into() }
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self { status: 500, code: "Service_InternalServerError", message: e.to_string() }
    }
}

impl From<StoreError> for GraphError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => Self::conflict(m),
            StoreError::NotFound(m) => Self::not_found(m),
            StoreError::Backend(m) => Self::internal(m),
        }
    }
}

impl From<IdentityError> for GraphError {
    fn from(e: IdentityError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::AadError> for GraphError {
    fn from(e: crate::AadError) -> Self {
        Self { status: e.status.max(400), code: "Request_BadRequest", message: e.description() }
    }
}

pub type GraphResult<T> = Result<T, GraphError>;

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub user_principal_name: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    /// `None` generates one (returned once).
    pub password: Option<String>,
    pub roles: Vec<DirectoryRole>,
    pub account_enabled: bool,
}

#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub account_enabled: Option<bool>,
    pub display_name: Option<String>,
    pub password: PasswordChange,
    pub add_roles: Vec<DirectoryRole>,
}

#[derive(Debug, Clone, Default)]
pub enum PasswordChange {
    #[default]
    Keep,
    Set(String),
    /// Generate one and return it once.
    Generate,
}

#[derive(Debug, Clone)]
pub struct NewApplication {
    pub display_name: String,
    pub sign_in_audience: SignInAudience,
    pub web_redirect_uris: Vec<String>,
    pub public_client_redirect_uris: Vec<String>,
    pub spa_redirect_uris: Vec<String>,
    pub is_fallback_public_client: bool,
    pub identifier_uris: Vec<String>,
    /// The portal creates the home-tenant service principal; Graph's POST /applications does not.
    pub create_service_principal: bool,
}

/// Lifetime of a secret created through Graph's `addPassword` without `endDateTime` (2 years).
pub const DEFAULT_SECRET_LIFETIME: Duration = Duration::days(730);
/// The lifetime the portal recommends, which the CLI uses when none is given.
pub const RECOMMENDED_SECRET_LIFETIME_DAYS: i64 = 180;
/// Entra's cap on client-secret lifetime.
pub const MAX_SECRET_LIFETIME: Duration = Duration::days(730);

fn slug(name: &str) -> String {
    let s: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
    if s.is_empty() { "tenant".into() } else { s }
}

fn validate_redirect(uri: &str) -> GraphResult<()> {
    let ok = uri.starts_with("https://")
        || uri.starts_with("http://localhost")
        || uri.starts_with("http://127.0.0.1")
        || (uri.contains("://") && !uri.starts_with("http://"));
    if !ok || uri.len() > 256 {
        return Err(GraphError::bad_request(format!(
            "Invalid value specified for property 'redirectUris' of resource 'Application': '{uri}'. Redirect URIs must use https (or http://localhost), or a custom scheme for public clients."
        )));
    }
    Ok(())
}

impl Identity {
    /// Creates a tenant and gives it service principals for every first-party resource and the
    /// operator client.
    pub async fn create_tenant(&self, display_name: &str, domain: Option<&str>) -> GraphResult<Tenant> {
        let display_name = display_name.trim();
        if display_name.is_empty() {
            return Err(GraphError::bad_request("displayName is required."));
        }
        let domain = match domain {
            Some(d) => d.trim().to_ascii_lowercase(),
            None => format!("{}.onmicrosoft.com", slug(display_name)),
        };
        if crate::tenancy::TenantSegment::parse(&domain)
            .map(|s| !matches!(s, crate::tenancy::TenantSegment::Domain(_)))
            .unwrap_or(true)
        {
            return Err(GraphError::bad_request(format!("'{domain}' is not a valid domain name.")));
        }
        let t = Tenant {
            id: Uuid::new_v4(),
            display_name: display_name.to_string(),
            default_domain: domain.clone(),
            created_date_time: OffsetDateTime::now_utc(),
            is_system: false,
        };
        self.stores.directory.create_tenant(&t).await.map_err(|e| match e {
            StoreError::Conflict(_) => {
                GraphError::conflict(format!("The domain '{domain}' is already used by another tenant."))
            }
            other => other.into(),
        })?;
        self.provision_tenant(&t).await?;
        tracing::info!(tenant = %t.id, domain = %t.default_domain, "tenant created");
        Ok(t)
    }

    /// Idempotently gives `tenant` the first-party service principals and the operator's Graph
    /// permissions.
    pub async fn provision_tenant(&self, tenant: &Tenant) -> GraphResult<()> {
        let graph = catalog::microsoft_graph();
        let mut graph_sp = None;
        for app in catalog::first_party_applications() {
            let sp = match self.stores.directory.service_principal_by_app_id(tenant.id, app.app_id).await? {
                Some(sp) => sp,
                None => {
                    let sp = new_service_principal(tenant.id, &app);
                    self.stores.directory.create_service_principal(tenant.id, &sp).await?;
                    sp
                }
            };
            if app.app_id == catalog::MICROSOFT_GRAPH_APP_ID {
                graph_sp = Some(sp);
            }
        }
        let graph_sp = graph_sp.expect("graph is first-party");
        let operator_sp = self
            .stores
            .directory
            .service_principal_by_app_id(tenant.id, PALISADE_OPERATOR_APP_ID)
            .await?
            .expect("just created");
        let have = self.stores.directory.app_role_assignments_of(tenant.id, operator_sp.id).await?;
        for value in catalog::OPERATOR_GRAPH_ROLES {
            let role = graph.app_role_by_value(value).expect("catalogued");
            if have.iter().any(|a| a.app_role_id == role.id) {
                continue;
            }
            self.stores
                .directory
                .add_app_role_assignment(
                    tenant.id,
                    &AppRoleAssignment {
                        id: Uuid::new_v4(),
                        tenant_id: tenant.id,
                        principal_id: operator_sp.id,
                        principal_type: PrincipalType::ServicePrincipal,
                        principal_display_name: operator_sp.display_name.clone(),
                        resource_id: graph_sp.id,
                        resource_display_name: graph_sp.display_name.clone(),
                        app_role_id: role.id,
                        created_date_time: OffsetDateTime::now_utc(),
                    },
                )
                .await?;
        }
        Ok(())
    }

    /// Creates a user; returns the generated password when none was given (shown once).
    pub async fn create_user(&self, tenant: &Tenant, new: NewUser) -> GraphResult<(User, Option<String>)> {
        let upn = new.user_principal_name.trim().to_string();
        let Some((local, domain)) = upn.split_once('@') else {
            return Err(GraphError::bad_request(format!(
                "Invalid value specified for property 'userPrincipalName' of resource 'User': '{upn}'."
            )));
        };
        if local.is_empty() || !domain.eq_ignore_ascii_case(&tenant.default_domain) {
            return Err(GraphError::bad_request(format!(
                "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization ({}).",
                tenant.default_domain
            )));
        }
        let (password, generated) = match new.password {
            Some(p) if p.len() >= 8 => (p, None),
            Some(_) => {
                return Err(GraphError::bad_request(
                    "The specified password does not comply with password complexity requirements. Please provide a different password (at least 8 characters).",
                ));
            }
            None => {
                let p = hashing::generate_password();
                (p.clone(), Some(p))
            }
        };
        let hash = tokio::task::spawn_blocking(move || hashing::hash_password(&password))
            .await
            .map_err(GraphError::internal)?
            .map_err(GraphError::internal)?;
        let user = User {
            id: Uuid::new_v4(),
            tenant_id: tenant.id,
            user_principal_name: upn.clone(),
            display_name: new.display_name.unwrap_or_else(|| local.to_string()),
            given_name: new.given_name,
            surname: new.surname,
            account_enabled: new.account_enabled,
            directory_roles: new.roles,
            password_hash: hash,
            created_date_time: OffsetDateTime::now_utc(),
        };
        self.stores.directory.create_user(tenant.id, &user).await?;
        tracing::info!(tenant = %tenant.id, user = %user.id, "user created");
        Ok((user, generated))
    }

    /// Graph's PATCH /users/{id}: enable/disable, rename, reset the password, add directory roles.
    /// A reset password is returned when Palisade generated it.
    pub async fn update_user(
        &self,
        tenant: &Tenant,
        mut user: User,
        change: UserChange,
    ) -> GraphResult<(User, Option<String>)> {
        if let Some(e) = change.account_enabled {
            user.account_enabled = e;
        }
        if let Some(n) = change.display_name {
            user.display_name = n;
        }
        for r in change.add_roles {
            if !user.directory_roles.contains(&r) {
                user.directory_roles.push(r);
            }
        }
        let mut generated = None;
        let new_password = match change.password {
            PasswordChange::Keep => None,
            PasswordChange::Set(p) if p.len() >= 8 => Some(p),
            PasswordChange::Set(_) => {
                return Err(GraphError::bad_request(
                    "The specified password does not comply with password complexity requirements. Please provide a different password (at least 8 characters).",
                ));
            }
            PasswordChange::Generate => {
                let p = hashing::generate_password();
                generated = Some(p.clone());
                Some(p)
            }
        };
        if let Some(p) = new_password {
            user.password_hash = tokio::task::spawn_blocking(move || hashing::hash_password(&p))
                .await
                .map_err(GraphError::internal)?
                .map_err(GraphError::internal)?;
            // A reset also lifts smart lockout.
            self.stores.grants.clear_login_failures(tenant.id, user.id).await?;
        }
        self.stores.directory.update_user(tenant.id, &user).await?;
        tracing::info!(tenant = %tenant.id, user = %user.id, "user updated");
        Ok((user, generated))
    }

    /// Registers an application in its home tenant.
    pub async fn register_application(&self, tenant: &Tenant, new: NewApplication) -> GraphResult<Application> {
        if new.display_name.trim().is_empty() {
            return Err(GraphError::bad_request("Property 'displayName' is required."));
        }
        for u in new.web_redirect_uris.iter().chain(&new.spa_redirect_uris) {
            validate_redirect(u)?;
        }
        let app_id = Uuid::new_v4();
        let app = Application {
            id: Uuid::new_v4(),
            app_id,
            tenant_id: tenant.id,
            display_name: new.display_name.trim().to_string(),
            sign_in_audience: new.sign_in_audience,
            identifier_uris: new.identifier_uris,
            web_redirect_uris: new.web_redirect_uris,
            public_client_redirect_uris: new.public_client_redirect_uris,
            spa_redirect_uris: new.spa_redirect_uris,
            is_fallback_public_client: new.is_fallback_public_client,
            required_resource_access: vec![],
            app_roles: vec![],
            oauth2_permission_scopes: vec![],
            requested_access_token_version: None,
            password_credentials: vec![],
            key_credentials: vec![],
            publisher_domain: Some(tenant.default_domain.clone()),
            created_date_time: OffsetDateTime::now_utc(),
        };
        self.stores.directory.create_application(tenant.id, &app).await?;
        if new.create_service_principal {
            self.stores.directory.create_service_principal(tenant.id, &new_service_principal(tenant.id, &app)).await?;
        }
        tracing::info!(tenant = %tenant.id, app = %app.app_id, "application registered");
        Ok(app)
    }

    /// Finds an application of `tenant` by object id or application (client) id.
    pub async fn find_application(&self, tenant: &Tenant, id: &str) -> GraphResult<Application> {
        let uuid = Uuid::parse_str(id.trim()).map_err(|_| GraphError::not_found(id))?;
        if let Some(a) = self.stores.directory.application(tenant.id, uuid).await? {
            return Ok(a);
        }
        self.stores
            .directory
            .application_in_tenant_by_app_id(tenant.id, uuid)
            .await?
            .ok_or_else(|| GraphError::not_found(id))
    }

    /// Finds an API an application can request permissions on, by display name, appId or App ID
    /// URI: the first-party APIs, then this tenant's own applications.
    pub async fn find_api(&self, tenant: &Tenant, api: &str) -> GraphResult<Application> {
        let api = api.trim();
        let matches = |a: &Application| a.display_name.eq_ignore_ascii_case(api) || a.answers_to(api);
        if let Some(a) = catalog::resource_catalogue().iter().find(|a| matches(a)) {
            return Ok(a.clone());
        }
        if let Some(a) = self.stores.directory.applications(tenant.id).await?.into_iter().find(|a| matches(a)) {
            return Ok(a);
        }
        Err(GraphError::not_found(format!(
            "{api} (no API with that name, appId or App ID URI; the built-in ones are WindowsDefenderATP, Microsoft Threat Protection and Microsoft Graph)"
        )))
    }

    /// Adds a permission to `requiredResourceAccess` ("API permissions > Add a permission").
    /// Grants nothing: consent does.
    pub async fn add_api_permission(
        &self,
        tenant: &Tenant,
        app: &Application,
        api: &str,
        permission: &str,
        kind: Option<PermissionKind>,
    ) -> GraphResult<Application> {
        let res = self.find_api(tenant, api).await?;
        // Microsoft's own pages spell some permissions wrongly; accept those spellings.
        let permission = match permission.to_ascii_lowercase().as_str() {
            "incidents.read.all" => "Incident.Read.All",
            "incidents.readwrite.all" => "Incident.ReadWrite.All",
            _ => permission,
        };
        let role =
            res.app_role_by_value(permission).filter(|r| r.allowed_member_types.iter().any(|m| m == "Application"));
        let scope = res.scope_by_value(permission);
        let (id, kind) = match (kind, role, scope) {
            (Some(PermissionKind::Role), Some(r), _) => (r.id, PermissionKind::Role),
            (Some(PermissionKind::Scope), _, Some(s)) => (s.id, PermissionKind::Scope),
            (None, Some(r), None) => (r.id, PermissionKind::Role),
            (None, None, Some(s)) => (s.id, PermissionKind::Scope),
            (None, Some(_), Some(_)) => {
                return Err(GraphError::bad_request(format!(
                    "'{permission}' exists on {} both as an application permission and as a delegated permission; say which (--type application or --type delegated).",
                    res.display_name
                )));
            }
            (k, _, _) => {
                let mut known: Vec<String> = match k {
                    Some(PermissionKind::Scope) => {
                        res.oauth2_permission_scopes.iter().map(|s| s.value.clone()).collect()
                    }
                    _ => res
                        .app_roles
                        .iter()
                        .filter(|r| r.allowed_member_types.iter().any(|m| m == "Application"))
                        .map(|r| r.value.clone())
                        .collect(),
                };
                known.sort();
                let kind_name = match k {
                    Some(PermissionKind::Scope) => "delegated permission",
                    Some(PermissionKind::Role) => "application permission",
                    None => "permission",
                };
                return Err(GraphError::bad_request(format!(
                    "{} has no {kind_name} named '{permission}'. Known: {}.",
                    res.display_name,
                    known.join(", ")
                )));
            }
        };
        let mut app = app.clone();
        match app.required_resource_access.iter_mut().find(|r| r.resource_app_id == res.app_id) {
            Some(rra) => {
                if !rra.resource_access.iter().any(|ra| ra.id == id && ra.kind == kind) {
                    rra.resource_access.push(ResourceAccess { id, kind });
                }
            }
            None => app.required_resource_access.push(RequiredResourceAccess {
                resource_app_id: res.app_id,
                resource_access: vec![ResourceAccess { id, kind }],
            }),
        }
        self.stores.directory.update_application(tenant.id, &app).await?;
        Ok(app)
    }

    /// `addPassword`: a new client secret. The value is returned here and nowhere else.
    pub async fn add_password(
        &self,
        tenant: &Tenant,
        app: &Application,
        display_name: Option<String>,
        end: Option<OffsetDateTime>,
    ) -> GraphResult<(PasswordCredential, String)> {
        let now = OffsetDateTime::now_utc();
        let end = end.unwrap_or(now + DEFAULT_SECRET_LIFETIME);
        if end <= now {
            return Err(GraphError::bad_request("endDateTime must be in the future."));
        }
        if end > now + MAX_SECRET_LIFETIME + Duration::days(1) {
            return Err(GraphError::bad_request(
                "Client secret lifetime is limited to 24 months (endDateTime at most 2 years from now).",
            ));
        }
        let secret = hashing::generate_client_secret();
        let cred = PasswordCredential {
            key_id: Uuid::new_v4(),
            display_name,
            hint: secret[..3].to_string(),
            start_date_time: now,
            end_date_time: end,
            secret_hash: hashing::hash_client_secret(&secret),
        };
        let mut app = app.clone();
        app.password_credentials.push(cred.clone());
        self.stores.directory.update_application(tenant.id, &app).await?;
        tracing::info!(tenant = %tenant.id, app = %app.app_id, key_id = %cred.key_id, "client secret added");
        Ok((cred, secret))
    }

    pub async fn remove_password(&self, tenant: &Tenant, app: &Application, key_id: Uuid) -> GraphResult<()> {
        let mut app = app.clone();
        let before = app.password_credentials.len();
        app.password_credentials.retain(|c| c.key_id != key_id);
        if app.password_credentials.len() == before {
            return Err(GraphError::not_found(key_id));
        }
        self.stores.directory.update_application(tenant.id, &app).await?;
        Ok(())
    }

    /// Uploads a certificate (public part) as a credential.
    pub async fn add_certificate(
        &self,
        tenant: &Tenant,
        app: &Application,
        cert_bytes: &[u8],
        display_name: Option<String>,
    ) -> GraphResult<KeyCredential> {
        let parsed = cert::parse_certificate(cert_bytes).map_err(|e| GraphError::bad_request(e.to_string()))?;
        if app.key_credentials.iter().any(|k| k.thumbprint_sha1 == parsed.sha1_hex) {
            return Err(GraphError::conflict(format!(
                "A certificate with thumbprint {} is already registered.",
                parsed.sha1_hex
            )));
        }
        let cred = key_credential(&parsed, display_name);
        let mut app = app.clone();
        app.key_credentials.push(cred.clone());
        self.stores.directory.update_application(tenant.id, &app).await?;
        Ok(cred)
    }
}

/// A `keyCredential` for a parsed certificate.
pub fn key_credential(parsed: &cert::ParsedCertificate, display_name: Option<String>) -> KeyCredential {
    KeyCredential {
        key_id: Uuid::new_v4(),
        display_name: display_name.or_else(|| Some(parsed.subject.clone())),
        custom_key_identifier: palisade_crypto::b64::std_encode(cert::thumbprint_sha1(&parsed.der)),
        kind: "AsymmetricX509Cert".into(),
        usage: "Verify".into(),
        start_date_time: parsed.not_before,
        end_date_time: parsed.not_after,
        cert_der: parsed.der.clone(),
        thumbprint_sha1: parsed.sha1_hex.clone(),
        thumbprint_sha256: parsed.sha256_hex.clone(),
    }
}
