//! The token endpoint: every grant type, v1 and v2 (`identity-protocol.md` §1).

use std::collections::HashMap;

use palisade_crypto::{hashing, random};
use palisade_directory::catalog;
use palisade_directory::store::CodeRedemption;
use palisade_directory::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::claims::{self, AccessTokenSpec, ClientAuthMethod, EndpointVersion, IdTokenSpec, Subject};
use crate::client_auth::{self, PresentedCredentials};
use crate::errors::{self, AadError};
use crate::scopes::{self, ScopeRequest};
use crate::tenancy::TenantSegment;
use crate::{Identity, RequestContext};

pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// First-party application objects are not clients, except Palisade's operator.
fn usable_client(a: &Application) -> bool {
    a.tenant_id != catalog::SYSTEM_TENANT_ID || a.app_id == catalog::PALISADE_OPERATOR_APP_ID
}

/// The client's service principal in the token's tenant must exist and be enabled.
fn check_client_sp(
    sp: Option<ServicePrincipal>,
    app: &Application,
    tenant: &Tenant,
) -> Result<ServicePrincipal, AadError> {
    match sp {
        Some(sp) if sp.account_enabled => Ok(sp),
        Some(_) => Err(AadError::new(
            7000112,
            "unauthorized_client",
            400,
            format!("Application '{}'({}) is disabled.", app.app_id, app.display_name),
        )),
        None => {
            let mut e = errors::app_not_found(&app.app_id.to_string(), &tenant.id.to_string());
            if app.sign_in_audience.is_multi_tenant() {
                e = e.with_hint(format!(
                    "An administrator of '{}' must consent first: open /common/oauth2/authorize?prompt=consent&client_id={}&response_type=code&sso_reload=true and sign in as that tenant's Global Administrator.",
                    tenant.default_domain, app.app_id
                ));
            } else if app.tenant_id != tenant.id {
                e = e.with_hint(
                    "The application is single-tenant (AzureADMyOrg); make it multi-tenant to use it in other tenants.",
                );
            }
            Err(e)
        }
    }
}

/// A parsed token request.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub version: EndpointVersion,
    /// The `{tenant}` path segment as sent.
    pub tenant: String,
    pub form: HashMap<String, String>,
    /// HTTP Basic `(client_id, secret)`, already URL-decoded.
    pub basic: Option<(String, String)>,
}

impl TokenRequest {
    fn param(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
    fn require(&self, name: &str) -> Result<&str, AadError> {
        self.param(name).ok_or_else(|| errors::missing_parameter(name))
    }
    fn credentials(&self) -> PresentedCredentials {
        PresentedCredentials {
            secret: self
                .param("client_secret")
                .map(str::to_string)
                .or_else(|| self.basic.as_ref().map(|b| b.1.clone())),
            assertion_type: self.param("client_assertion_type").map(str::to_string),
            assertion: self.param("client_assertion").map(str::to_string),
        }
    }
    fn client_id(&self) -> Result<&str, AadError> {
        self.param("client_id")
            .or(self.basic.as_ref().map(|b| b.0.as_str()))
            .ok_or_else(|| errors::missing_parameter("client_id"))
    }
}

/// A successful token response; serialised per endpoint version.
#[derive(Debug, Clone)]
pub struct TokenResponse {
    pub version: EndpointVersion,
    pub access_token: String,
    pub expires_in: i64,
    pub expires_on: i64,
    pub not_before: i64,
    pub resource: Option<String>,
    pub scope: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub client_info: Option<String>,
}

impl TokenResponse {
    /// v1: every number is a string, plus `expires_on`/`not_before`/`resource`. v2: integers.
    pub fn to_json(&self) -> Value {
        let mut v = match self.version {
            EndpointVersion::V1 => json!({
                "token_type": "Bearer",
                "scope": self.scope,
                "expires_in": self.expires_in.to_string(),
                "ext_expires_in": self.expires_in.to_string(),
                "expires_on": self.expires_on.to_string(),
                "not_before": self.not_before.to_string(),
                "resource": self.resource,
                "access_token": self.access_token,
            }),
            EndpointVersion::V2 => json!({
                "token_type": "Bearer",
                "scope": self.scope,
                "expires_in": self.expires_in,
                "ext_expires_in": self.expires_in,
                "access_token": self.access_token,
            }),
        };
        let obj = v.as_object_mut().expect("object");
        obj.retain(|_, val| !val.is_null());
        for (k, val) in
            [("refresh_token", &self.refresh_token), ("id_token", &self.id_token), ("client_info", &self.client_info)]
        {
            if let Some(s) = val {
                obj.insert(k.into(), json!(s));
            }
        }
        v
    }
}

/// What the client asked the token to be for.
enum ResourceAsk<'a> {
    V1 { resource: &'a str },
    V2 { scopes: ScopeRequest },
}

struct UserIssue<'a> {
    version: EndpointVersion,
    tenant: &'a Tenant,
    client: &'a Application,
    client_sp: &'a ServicePrincipal,
    client_auth: ClientAuthMethod,
    user: &'a User,
    ask: ResourceAsk<'a>,
    /// The scope string to remember in the refresh token (v2) — or the v1 resource.
    remembered_scope: String,
    nonce: Option<String>,
    amr: Vec<String>,
    auth_time: OffsetDateTime,
    want_client_info: bool,
}

impl Identity {
    /// Handles `POST /{tenant}/oauth2[/v2.0]/token`.
    pub async fn token(&self, ctx: &RequestContext, req: &TokenRequest) -> Result<TokenResponse, AadError> {
        let grant_type = req.require("grant_type")?;
        let segment = TenantSegment::parse(&req.tenant)?;
        if grant_type == "client_credentials" {
            return self.client_credentials(ctx, req, &segment).await;
        }
        let tenant = segment.resolve(&self.stores).await?;
        match grant_type {
            "password" => self.password(ctx, req, &segment, tenant).await,
            "authorization_code" => self.authorization_code(ctx, req, tenant).await,
            "refresh_token" => self.refresh(ctx, req, tenant).await,
            GRANT_DEVICE_CODE | "device_code" => self.device_code_poll(ctx, req, tenant).await,
            other => Err(errors::unsupported_grant_type(other)),
        }
    }

    /// Looks the client up by `client_id` (globally, as Entra does).
    pub async fn client_app(&self, client_id: &str, tenant_label: &str) -> Result<Application, AadError> {
        let id = Uuid::parse_str(client_id).map_err(|_| errors::app_not_found(client_id, tenant_label))?;
        let app = self.stores.directory.application_by_app_id(id).await?;
        match app {
            Some(a) if a.tenant_id != catalog::SYSTEM_TENANT_ID || a.app_id == catalog::PALISADE_OPERATOR_APP_ID => {
                Ok(a)
            }
            _ => Err(errors::app_not_found(client_id, tenant_label)),
        }
    }

    async fn client_sp(&self, app: &Application, tenant: &Tenant) -> Result<ServicePrincipal, AadError> {
        check_client_sp(self.stores.directory.service_principal_by_app_id(tenant.id, app.app_id).await?, app, tenant)
    }

    /// Token-endpoint URLs a client assertion may name as `aud`.
    fn assertion_audiences(&self, ctx: &RequestContext, segment: &str, tenant: Option<&Tenant>) -> Vec<String> {
        let mut tenants = vec![segment.to_string()];
        if let Some(t) = tenant {
            tenants.push(t.id.to_string());
            tenants.push(t.default_domain.clone());
        }
        let mut out = Vec::new();
        for base in [ctx.base_url.as_str(), "https://login.microsoftonline.com"] {
            for t in &tenants {
                for path in ["oauth2/v2.0/token", "oauth2/token"] {
                    out.push(format!("{base}/{t}/{path}"));
                }
            }
        }
        out
    }

    /// The resource application a `resource` / scope prefix names: a first-party API, an appId, or
    /// an App ID URI of an API with a service principal in `tenant`.
    pub async fn resource_app(&self, tenant: &Tenant, identifier: &str) -> Result<Option<Application>, AadError> {
        if let Some(a) = catalog::resource_catalogue().iter().find(|a| a.answers_to(identifier)) {
            return Ok(Some(a.clone()));
        }
        if let Ok(id) = Uuid::parse_str(identifier.trim_end_matches('/')) {
            return Ok(self.stores.directory.application_by_app_id(id).await?);
        }
        for sp in self.stores.directory.service_principals(tenant.id).await? {
            if catalog::resource_catalogue().iter().any(|a| a.app_id == sp.app_id) {
                continue;
            }
            if let Some(a) = self.stores.directory.application_by_app_id(sp.app_id).await?
                && a.answers_to(identifier)
            {
                return Ok(Some(a));
            }
        }
        Ok(None)
    }

    /// Finds the resource application a `resource` / scope prefix names, and its service principal
    /// in `tenant`.
    pub async fn resolve_resource(
        &self,
        tenant: &Tenant,
        identifier: &str,
    ) -> Result<(Application, ServicePrincipal), AadError> {
        let not_found = || errors::resource_not_found(identifier, &tenant.id.to_string());
        let app = self.resource_app(tenant, identifier).await?.ok_or_else(not_found)?;
        let sp =
            self.stores.directory.service_principal_by_app_id(tenant.id, app.app_id).await?.ok_or_else(not_found)?;
        Ok((app, sp))
    }

    async fn client_credentials(
        &self,
        ctx: &RequestContext,
        req: &TokenRequest,
        segment: &TenantSegment,
    ) -> Result<TokenResponse, AadError> {
        let client_id = req.client_id()?;
        // The resource parameter is checked for form before anything is looked up.
        let identifier = match req.version {
            EndpointVersion::V1 => req.require("resource")?.to_string(),
            EndpointVersion::V2 => {
                let scope = req.require("scope")?.trim();
                if scope.split_whitespace().count() > 1 {
                    return Err(errors::invalid_scope(scope));
                }
                scope.strip_suffix("/.default").ok_or_else(|| errors::default_scope_required(scope))?.to_string()
            }
        };
        let client_uuid =
            Uuid::parse_str(client_id).map_err(|_| errors::app_not_found(client_id, &segment.as_path()))?;
        let tenant_ref = match segment {
            TenantSegment::Id(id) => Some(TenantRef::Id(*id)),
            TenantSegment::Domain(d) => Some(TenantRef::Domain(d.clone())),
            _ => None,
        };
        let catalog_resource = catalog::resource_catalogue().iter().find(|a| a.answers_to(&identifier));
        // Hot path: a named tenant and a first-party resource need one store round trip.
        let (tenant, client, client_sp, resource, resource_sp, assignments) = match (tenant_ref, catalog_resource) {
            (Some(tr), Some(res)) => {
                let c = self.stores.directory.client_credentials_context(&tr, client_uuid, res.app_id).await?;
                let tenant =
                    c.tenant.filter(|t| !t.is_system).ok_or_else(|| errors::tenant_not_found(&segment.as_path()))?;
                let client = c
                    .client
                    .filter(usable_client)
                    .ok_or_else(|| errors::app_not_found(client_id, &segment.as_path()))?;
                let client_sp = check_client_sp(c.client_sp, &client, &tenant)?;
                (tenant, client, client_sp, res.clone(), c.resource_sp, c.client_role_assignments)
            }
            _ => {
                let tenant = segment.resolve(&self.stores).await?;
                let client = self.client_app(client_id, &segment.as_path()).await?;
                let tenant = match tenant {
                    Some(t) => t,
                    None if *segment == TenantSegment::Consumers => return Err(errors::grant_not_on_common()),
                    // Entra issues for "an unspecified tenant" on the aliases; the home tenant is the honest choice.
                    None => self
                        .stores
                        .directory
                        .tenant(client.tenant_id)
                        .await?
                        .ok_or_else(|| errors::tenant_not_found(&segment.as_path()))?,
                };
                let client_sp = self.client_sp(&client, &tenant).await?;
                let resolved = self.resolve_resource(&tenant, &identifier).await;
                let (resource, resource_sp) = match resolved {
                    Ok((r, sp)) => (r, Some(sp)),
                    Err(e) => {
                        // Authenticate first: an unauthenticated caller learns nothing about resources.
                        let auds = self.assertion_audiences(ctx, &req.tenant, Some(&tenant));
                        client_auth::authenticate(&client, &req.credentials(), true, &auds, OffsetDateTime::now_utc())?;
                        return Err(e);
                    }
                };
                let assignments = self.stores.directory.app_role_assignments_of(tenant.id, client_sp.id).await?;
                (tenant, client, client_sp, resource, resource_sp, assignments)
            }
        };
        let now = OffsetDateTime::now_utc();
        let auds = self.assertion_audiences(ctx, &req.tenant, Some(&tenant));
        let auth = client_auth::authenticate(&client, &req.credentials(), true, &auds, now)?;
        let resource_sp = resource_sp.ok_or_else(|| errors::resource_not_found(&identifier, &tenant.id.to_string()))?;
        let roles: Vec<String> = assignments
            .into_iter()
            .filter(|a| a.resource_id == resource_sp.id)
            .filter_map(|a| resource.app_role(a.app_role_id).filter(|r| r.is_enabled).map(|r| r.value.clone()))
            .collect();
        let key = self.keys.active().await?;
        let minted = claims::mint_access_token(
            &key,
            &AccessTokenSpec {
                tenant_id: tenant.id,
                resource: &resource,
                requested_audience: &identifier,
                client: &client,
                client_auth: auth,
                subject: Subject::App { client_sp_id: client_sp.id },
                roles,
                scp: None,
                base_url: &ctx.base_url,
                client_ip: ctx.client_ip.as_deref(),
            },
            now,
            self.config.access_token_lifetime,
            self.config.backdate,
        )?;
        tracing::info!(tenant = %tenant.id, client = %client.app_id, resource = %resource.app_id, grant = "client_credentials", "token issued");
        Ok(TokenResponse {
            version: req.version,
            access_token: minted.jwt,
            expires_in: self.config.access_token_lifetime.whole_seconds() - 1,
            expires_on: minted.expires_at.unix_timestamp(),
            not_before: minted.issued_at.unix_timestamp(),
            resource: (req.version == EndpointVersion::V1).then_some(identifier),
            scope: None,
            refresh_token: None,
            id_token: None,
            client_info: None,
        })
    }

    /// The client of a user flow in `tenant`: registered there, and authenticated if it is
    /// confidential (public clients present nothing).
    async fn user_flow_client(
        &self,
        ctx: &RequestContext,
        req: &TokenRequest,
        tenant: &Tenant,
        client_id: &str,
    ) -> Result<(Application, ServicePrincipal, ClientAuthMethod), AadError> {
        let client = self.client_app(client_id, &tenant.id.to_string()).await?;
        let client_sp = self.client_sp(&client, tenant).await?;
        let auds = self.assertion_audiences(ctx, &req.tenant, Some(tenant));
        let auth = client_auth::authenticate(&client, &req.credentials(), false, &auds, OffsetDateTime::now_utc())?;
        Ok((client, client_sp, auth))
    }

    /// Checks a user's password with smart lockout. Shared by ROPC and the sign-in page.
    pub async fn check_password(&self, tenant: &Tenant, username: &str, password: &str) -> Result<User, AadError> {
        let user = self
            .stores
            .directory
            .user_by_upn(tenant.id, username)
            .await?
            .ok_or_else(|| errors::user_not_found(&tenant.id.to_string()))?;
        let now = OffsetDateTime::now_utc();
        let lock = self.stores.grants.lockout(tenant.id, user.id).await?;
        if lock.locked_until.is_some_and(|t| t > now) {
            return Err(errors::user_locked());
        }
        let (pw, hash) = (password.to_string(), user.password_hash.clone());
        let ok = tokio::task::spawn_blocking(move || hashing::verify_password(&pw, &hash))
            .await
            .map_err(errors::server_error)?;
        if !ok {
            self.stores
                .grants
                .record_login_failure(
                    tenant.id,
                    user.id,
                    self.config.lockout_threshold,
                    self.config.lockout_duration,
                    now,
                )
                .await?;
            tracing::warn!(tenant = %tenant.id, user = %user.id, "sign-in failed: bad password");
            return Err(errors::bad_user_credentials());
        }
        if lock.failures > 0 {
            self.stores.grants.clear_login_failures(tenant.id, user.id).await?;
        }
        if !user.account_enabled {
            return Err(errors::user_disabled());
        }
        Ok(user)
    }

    /// Resolves the tenant for a user sign-in on `/organizations` from the UPN's home tenant.
    pub async fn tenant_for_user(
        &self,
        segment: &TenantSegment,
        tenant: Option<Tenant>,
        username: &str,
    ) -> Result<Tenant, AadError> {
        if let Some(t) = tenant {
            return Ok(t);
        }
        let tid = self
            .stores
            .directory
            .tenant_of_upn(username)
            .await?
            .ok_or_else(|| errors::user_not_found(&segment.as_path()))?;
        self.stores.directory.tenant(tid).await?.ok_or_else(|| errors::user_not_found(&segment.as_path()))
    }

    async fn password(
        &self,
        ctx: &RequestContext,
        req: &TokenRequest,
        segment: &TenantSegment,
        tenant: Option<Tenant>,
    ) -> Result<TokenResponse, AadError> {
        if matches!(segment, TenantSegment::Common | TenantSegment::Consumers) {
            return Err(errors::grant_not_on_common());
        }
        let client_id = req.client_id()?;
        let username = req.require("username")?;
        let password = req.require("password")?;
        let ask = match req.version {
            EndpointVersion::V1 => ResourceAsk::V1 { resource: req.require("resource")? },
            EndpointVersion::V2 => ResourceAsk::V2 { scopes: scopes::parse_v2(req.require("scope")?)? },
        };
        let tenant = self.tenant_for_user(segment, tenant, username).await?;
        let (client, client_sp, auth) = self.user_flow_client(ctx, req, &tenant, client_id).await?;
        let user = self.check_password(&tenant, username, password).await?;
        let remembered = match &ask {
            ResourceAsk::V1 { resource } => resource.to_string(),
            ResourceAsk::V2 { .. } => req.param("scope").unwrap_or_default().to_string(),
        };
        self.issue_user_tokens(
            ctx,
            UserIssue {
                version: req.version,
                tenant: &tenant,
                client: &client,
                client_sp: &client_sp,
                client_auth: auth,
                user: &user,
                ask,
                remembered_scope: remembered,
                nonce: None,
                amr: vec!["pwd".into()],
                auth_time: OffsetDateTime::now_utc(),
                want_client_info: req.param("client_info") == Some("1"),
            },
        )
        .await
    }

    /// Delegated scopes `client_sp` holds on `resource_sp` for `user` (tenant-wide and personal).
    pub async fn granted_scopes(
        &self,
        tenant: Uuid,
        client_sp: Uuid,
        resource_sp: Uuid,
        user: Uuid,
    ) -> Result<Vec<String>, AadError> {
        let mut out: Vec<String> = Vec::new();
        for g in self.stores.directory.oauth2_grants_of_client(tenant, client_sp).await? {
            let applies = g.resource_id == resource_sp
                && (g.consent_type == ConsentType::AllPrincipals || g.principal_id == Some(user));
            if applies {
                for s in g.scopes() {
                    if !out.iter().any(|o| o.eq_ignore_ascii_case(s)) {
                        out.push(s.to_string());
                    }
                }
            }
        }
        Ok(out)
    }

    async fn issue_user_tokens(&self, ctx: &RequestContext, u: UserIssue<'_>) -> Result<TokenResponse, AadError> {
        let tenant = u.tenant;
        let (identifier, requested, default, oidc) = match &u.ask {
            ResourceAsk::V1 { resource } => (resource.to_string(), vec![], true, vec!["openid".to_string()]),
            ResourceAsk::V2 { scopes } => (
                scopes.resource_or_graph().to_string(),
                scopes.values.clone(),
                scopes.default || scopes.resource.is_none(),
                scopes.oidc.clone(),
            ),
        };
        let (resource, resource_sp) = self.resolve_resource(tenant, &identifier).await?;
        let granted = self.granted_scopes(tenant.id, u.client_sp.id, resource_sp.id, u.user.id).await?;
        let only_oidc = matches!(&u.ask, ResourceAsk::V2 { scopes } if scopes.resource.is_none());
        let scp: Vec<String> = if default {
            if granted.is_empty() && !only_oidc {
                return Err(errors::consent_required(
                    &u.client.app_id.to_string(),
                    &u.client.display_name,
                    &format!(
                        "No delegated permission on '{}' has been granted to this application. Grant consent: `palisade app consent --tenant {} --app {}`.",
                        resource.display_name, tenant.id, u.client.app_id
                    ),
                ));
            }
            granted.clone()
        } else {
            let mut out = Vec::new();
            for v in &requested {
                let Some(s) = resource.scope_by_value(v).filter(|s| s.is_enabled) else {
                    return Err(errors::invalid_scope(&format!("{identifier}/{v}")));
                };
                if !granted.iter().any(|g| g.eq_ignore_ascii_case(&s.value)) {
                    return Err(errors::consent_required(
                        &u.client.app_id.to_string(),
                        &u.client.display_name,
                        &format!(
                            "The delegated permission '{}' on '{}' has not been granted. Add it and grant consent: `palisade app permission add --app {} --api \"{}\" --permission {} --type delegated` then `palisade app consent`.",
                            s.value, resource.display_name, u.client.app_id, resource.display_name, s.value
                        ),
                    ));
                }
                out.push(s.value.clone());
            }
            out
        };
        // Graph tokens carry the OIDC scopes that were asked for in `scp` too, as Entra's do.
        let mut scp = scp;
        if resource.app_id == catalog::MICROSOFT_GRAPH_APP_ID {
            for o in oidc.iter().filter(|o| *o != "offline_access") {
                if !scp.iter().any(|s| s == o) {
                    scp.push(o.clone());
                }
            }
        }
        let roles: Vec<String> = self
            .stores
            .directory
            .app_role_assignments_of(tenant.id, u.user.id)
            .await?
            .into_iter()
            .filter(|a| a.resource_id == resource_sp.id)
            .filter_map(|a| resource.app_role(a.app_role_id).map(|r| r.value.clone()))
            .collect();
        let now = OffsetDateTime::now_utc();
        let key = self.keys.active().await?;
        let audience = match &u.ask {
            ResourceAsk::V1 { resource } => resource.to_string(),
            ResourceAsk::V2 { .. } => identifier.trim_end_matches('/').to_string(),
        };
        let minted = claims::mint_access_token(
            &key,
            &AccessTokenSpec {
                tenant_id: tenant.id,
                resource: &resource,
                requested_audience: &audience,
                client: u.client,
                client_auth: u.client_auth,
                subject: Subject::User { user: u.user, amr: &u.amr },
                roles,
                scp: Some(scp.join(" ")),
                base_url: &ctx.base_url,
                client_ip: ctx.client_ip.as_deref(),
            },
            now,
            self.config.access_token_lifetime,
            self.config.backdate,
        )?;
        let wants_id_token = u.version == EndpointVersion::V1 || oidc.iter().any(|s| s == "openid");
        let id_token = if wants_id_token {
            Some(claims::mint_id_token(
                &key,
                &IdTokenSpec {
                    version: u.version,
                    tenant_id: tenant.id,
                    client: u.client,
                    user: u.user,
                    nonce: u.nonce.as_deref(),
                    amr: &u.amr,
                    include_email: oidc.iter().any(|s| s == "email"),
                    base_url: &ctx.base_url,
                },
                now,
                self.config.access_token_lifetime,
                self.config.backdate,
            )?)
        } else {
            None
        };
        let wants_refresh = u.version == EndpointVersion::V1 || oidc.iter().any(|s| s == "offline_access");
        let refresh_token = if wants_refresh {
            let rt = format!("1.A{}", random::opaque_token());
            let grant = UserGrant {
                tenant_id: tenant.id,
                client_app_id: u.client.app_id,
                user_id: u.user.id,
                scope: u.remembered_scope.clone(),
                redirect_uri: None,
                code_challenge: None,
                code_challenge_method: None,
                nonce: None,
                resource: (u.version == EndpointVersion::V1).then(|| identifier.clone()),
                auth_methods: u.amr.clone(),
                auth_time: u.auth_time,
            };
            self.stores
                .grants
                .put_refresh_token(&hashing::lookup_hash(&rt), &grant, now + self.config.refresh_token_lifetime)
                .await?;
            Some(rt)
        } else {
            None
        };
        let scope_field = match u.version {
            EndpointVersion::V1 => scp.join(" "),
            EndpointVersion::V2 => {
                let graph = resource.app_id == catalog::MICROSOFT_GRAPH_APP_ID;
                let mut parts: Vec<String> = scp
                    .iter()
                    .map(|s| if graph { s.clone() } else { format!("{}/{s}", identifier.trim_end_matches('/')) })
                    .collect();
                for o in oidc.iter().filter(|s| *s != "offline_access" || refresh_token.is_some()) {
                    if !parts.contains(o) {
                        parts.push(o.clone());
                    }
                }
                parts.join(" ")
            }
        };
        tracing::info!(tenant = %tenant.id, client = %u.client.app_id, user = %u.user.id, resource = %resource.app_id, "delegated token issued");
        Ok(TokenResponse {
            version: u.version,
            access_token: minted.jwt,
            expires_in: self.config.access_token_lifetime.whole_seconds() - 1,
            expires_on: minted.expires_at.unix_timestamp(),
            not_before: minted.issued_at.unix_timestamp(),
            resource: (u.version == EndpointVersion::V1).then_some(identifier),
            scope: Some(scope_field),
            refresh_token,
            id_token,
            client_info: u.want_client_info.then(|| claims::client_info(u.user.id, tenant.id)),
        })
    }

    async fn grant_tenant(&self, req_tenant: Option<Tenant>, grant_tenant: Uuid) -> Result<Tenant, AadError> {
        match req_tenant {
            Some(t) if t.id != grant_tenant => Err(errors::invalid_grant_code()),
            Some(t) => Ok(t),
            None => self.stores.directory.tenant(grant_tenant).await?.ok_or_else(errors::invalid_grant_code),
        }
    }

    async fn authorization_code(
        &self,
        ctx: &RequestContext,
        req: &TokenRequest,
        tenant: Option<Tenant>,
    ) -> Result<TokenResponse, AadError> {
        let client_id = req.client_id()?;
        let code = req.require("code")?;
        let grant = match self.stores.grants.redeem_code(&hashing::lookup_hash(code), OffsetDateTime::now_utc()).await?
        {
            CodeRedemption::Redeemed(g) => *g,
            CodeRedemption::AlreadyRedeemed => return Err(errors::code_redeemed()),
            CodeRedemption::Expired => return Err(errors::code_expired()),
            CodeRedemption::Unknown => return Err(errors::invalid_grant_code()),
        };
        if !grant.client_app_id.to_string().eq_ignore_ascii_case(client_id) {
            return Err(errors::invalid_grant_code());
        }
        let tenant = self.grant_tenant(tenant, grant.tenant_id).await?;
        let (client, client_sp, auth) = self.user_flow_client(ctx, req, &tenant, client_id).await?;
        if let Some(expected) = &grant.redirect_uri
            && req.param("redirect_uri") != Some(expected.as_str())
        {
            return Err(AadError::new(
                500112,
                "invalid_grant",
                400,
                format!(
                    "The reply url '{}' does not match the reply url '{expected}' provided when requesting Authorization code.",
                    req.param("redirect_uri").unwrap_or("")
                ),
            ));
        }
        if let Some(challenge) = &grant.code_challenge {
            let verifier = req.param("code_verifier").ok_or_else(errors::pkce_mismatch)?;
            let computed = match grant.code_challenge_method.as_deref().unwrap_or("plain") {
                m if m.eq_ignore_ascii_case("S256") => {
                    palisade_crypto::b64::url_encode(Sha256::digest(verifier.as_bytes()))
                }
                _ => verifier.to_string(),
            };
            if computed != *challenge {
                return Err(errors::pkce_mismatch());
            }
        }
        let user =
            self.stores.directory.user(tenant.id, grant.user_id).await?.ok_or_else(errors::invalid_grant_code)?;
        let ask = match (grant.resource.as_deref().or(req.param("resource")), req.version) {
            (Some(r), EndpointVersion::V1) => ResourceAsk::V1 { resource: r },
            (None, EndpointVersion::V1) => return Err(errors::missing_parameter("resource")),
            (_, EndpointVersion::V2) => {
                let mut s = scopes::parse_v2(&grant.scope)?;
                if let Some(extra) = req.param("scope") {
                    // The v2 extension: a resource for this redemption.
                    s = scopes::parse_v2(&format!("{} {}", extra, s.oidc.join(" ")))?;
                }
                ResourceAsk::V2 { scopes: s }
            }
        };
        self.issue_user_tokens(
            ctx,
            UserIssue {
                version: req.version,
                tenant: &tenant,
                client: &client,
                client_sp: &client_sp,
                client_auth: auth,
                user: &user,
                ask,
                remembered_scope: grant.scope.clone(),
                nonce: grant.nonce.clone(),
                amr: grant.auth_methods.clone(),
                auth_time: grant.auth_time,
                want_client_info: req.param("client_info") == Some("1"),
            },
        )
        .await
    }

    async fn refresh(
        &self,
        ctx: &RequestContext,
        req: &TokenRequest,
        tenant: Option<Tenant>,
    ) -> Result<TokenResponse, AadError> {
        let client_id = req.client_id()?;
        let rt = req.require("refresh_token")?;
        let grant = self
            .stores
            .grants
            .refresh_token(&hashing::lookup_hash(rt), OffsetDateTime::now_utc())
            .await?
            .ok_or_else(errors::invalid_grant_code)?;
        if !grant.client_app_id.to_string().eq_ignore_ascii_case(client_id) {
            return Err(errors::invalid_grant_code());
        }
        let tenant = self.grant_tenant(tenant, grant.tenant_id).await?;
        let (client, client_sp, auth) = self.user_flow_client(ctx, req, &tenant, client_id).await?;
        let user =
            self.stores.directory.user(tenant.id, grant.user_id).await?.ok_or_else(errors::invalid_grant_code)?;
        if !user.account_enabled {
            return Err(errors::user_disabled());
        }
        let (ask, remembered) = match req.version {
            EndpointVersion::V1 => {
                let r = req
                    .param("resource")
                    .or(grant.resource.as_deref())
                    .ok_or_else(|| errors::missing_parameter("resource"))?;
                (ResourceAsk::V1 { resource: r }, r.to_string())
            }
            EndpointVersion::V2 => {
                let s = req.param("scope").unwrap_or(&grant.scope);
                let mut parsed = scopes::parse_v2(if s.is_empty() { "openid" } else { s })?;
                if !parsed.has("offline_access") {
                    parsed.oidc.push("offline_access".into());
                }
                (ResourceAsk::V2 { scopes: parsed }, s.to_string())
            }
        };
        self.issue_user_tokens(
            ctx,
            UserIssue {
                version: req.version,
                tenant: &tenant,
                client: &client,
                client_sp: &client_sp,
                client_auth: auth,
                user: &user,
                ask,
                remembered_scope: remembered,
                nonce: None,
                amr: grant.auth_methods.clone(),
                auth_time: grant.auth_time,
                want_client_info: req.param("client_info") == Some("1"),
            },
        )
        .await
    }

    /// `POST /{tenant}/oauth2[/v2.0]/devicecode`.
    pub async fn start_device_flow(
        &self,
        ctx: &RequestContext,
        version: EndpointVersion,
        tenant_seg: &str,
        form: &HashMap<String, String>,
    ) -> Result<Value, AadError> {
        let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let segment = TenantSegment::parse(tenant_seg)?;
        let tenant = segment.resolve(&self.stores).await?;
        let client_id = get("client_id").ok_or_else(|| errors::missing_parameter("client_id"))?;
        let label = tenant.as_ref().map(|t| t.id.to_string()).unwrap_or_else(|| segment.as_path());
        let client = self.client_app(client_id, &label).await?;
        let (scope, resource) = match version {
            EndpointVersion::V1 => {
                (String::new(), Some(get("resource").ok_or_else(|| errors::missing_parameter("resource"))?.to_string()))
            }
            EndpointVersion::V2 => {
                let s = get("scope").ok_or_else(|| errors::missing_parameter("scope"))?;
                scopes::parse_v2(s)?;
                (s.to_string(), None)
            }
        };
        let device_code = format!("DAQABAAEAAA{}", random::opaque_token());
        let user_code = random::string_from(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 9);
        let now = OffsetDateTime::now_utc();
        let rec = DeviceCodeRecord {
            user_code: user_code.clone(),
            tenant_segment: tenant.as_ref().map(|t| t.id.to_string()).unwrap_or_else(|| segment.as_path()),
            client_app_id: client.app_id,
            scope,
            resource,
            state: DeviceCodeState::Pending,
            grant: None,
            expires_at: now + self.config.device_code_lifetime,
            last_poll: None,
        };
        self.stores.grants.put_device_code(&hashing::lookup_hash(&device_code), &rec).await?;
        let uri = format!("{}/devicelogin", ctx.base_url);
        let message = format!(
            "To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."
        );
        let expires = self.config.device_code_lifetime.whole_seconds();
        let interval = self.config.device_code_interval;
        Ok(match version {
            EndpointVersion::V2 => {
                json!({"user_code": user_code, "device_code": device_code, "verification_uri": uri, "expires_in": expires, "interval": interval, "message": message})
            }
            EndpointVersion::V1 => {
                json!({"user_code": user_code, "device_code": device_code, "verification_url": uri, "expires_in": expires.to_string(), "interval": interval.to_string(), "message": message})
            }
        })
    }

    async fn device_code_poll(
        &self,
        ctx: &RequestContext,
        req: &TokenRequest,
        _tenant: Option<Tenant>,
    ) -> Result<TokenResponse, AadError> {
        let client_id = req.client_id()?;
        let code =
            req.param("device_code").or(req.param("code")).ok_or_else(|| errors::missing_parameter("device_code"))?;
        let hash = hashing::lookup_hash(code);
        let rec = self.stores.grants.device_code(&hash).await?.ok_or_else(errors::device_bad_code)?;
        if !rec.client_app_id.to_string().eq_ignore_ascii_case(client_id) {
            return Err(errors::device_bad_code());
        }
        let now = OffsetDateTime::now_utc();
        if rec.expires_at <= now {
            self.stores.grants.delete_device_code(&hash).await?;
            return Err(errors::device_expired());
        }
        let grant = match rec.state {
            DeviceCodeState::Pending => return Err(errors::device_pending()),
            DeviceCodeState::Declined => {
                self.stores.grants.delete_device_code(&hash).await?;
                return Err(errors::device_declined());
            }
            DeviceCodeState::Approved => rec.grant.clone().ok_or_else(errors::device_bad_code)?,
        };
        self.stores.grants.delete_device_code(&hash).await?;
        let tenant = self.stores.directory.tenant(grant.tenant_id).await?.ok_or_else(errors::device_bad_code)?;
        let (client, client_sp, auth) = self.user_flow_client(ctx, req, &tenant, client_id).await?;
        let user = self.stores.directory.user(tenant.id, grant.user_id).await?.ok_or_else(errors::device_bad_code)?;
        let ask = match &rec.resource {
            Some(r) => ResourceAsk::V1 { resource: r },
            None => ResourceAsk::V2 { scopes: scopes::parse_v2(&rec.scope)? },
        };
        self.issue_user_tokens(
            ctx,
            UserIssue {
                version: if rec.resource.is_some() { EndpointVersion::V1 } else { EndpointVersion::V2 },
                tenant: &tenant,
                client: &client,
                client_sp: &client_sp,
                client_auth: auth,
                user: &user,
                ask,
                remembered_scope: rec.resource.clone().unwrap_or(rec.scope.clone()),
                nonce: None,
                amr: grant.auth_methods.clone(),
                auth_time: grant.auth_time,
                want_client_info: req.param("client_info") == Some("1"),
            },
        )
        .await
    }
}
