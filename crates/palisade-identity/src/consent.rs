//! Consent: turning an application's requested permissions into service principals and grants in
//! a tenant (`identity-protocol.md` §5). Admin consent grants everything the registration asks for
//! (app roles and delegated scopes, tenant-wide); user consent grants delegated scopes for one user.
//! Changing `requiredResourceAccess` grants nothing by itself — tokens change only after consent.

use palisade_directory::*;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::errors::{self, AadError};
use crate::{Identity, scopes};

/// One permission an application asks for, resolved for display and granting.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestedPermission {
    pub resource_app_id: Uuid,
    pub resource_name: String,
    pub kind: PermissionKind,
    pub id: Uuid,
    pub value: String,
    pub display_name: String,
    /// Only an administrator can consent to it (every app role; `Admin`-type scopes).
    pub admin_only: bool,
}

/// What a consent did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConsentOutcome {
    pub tenant_id: Uuid,
    pub service_principal_id: Uuid,
    pub created_service_principal: bool,
    pub app_roles_granted: Vec<String>,
    pub scopes_granted: Vec<String>,
}

impl Identity {
    /// Everything `client.requiredResourceAccess` names, plus `extra_scope` (a v2 `scope` from a
    /// dynamic-consent authorize request, its resource resolved as the token endpoint will in
    /// `tenant`).
    pub async fn requested_permissions(
        &self,
        tenant: &Tenant,
        client: &Application,
        extra_scope: Option<&str>,
    ) -> Result<Vec<RequestedPermission>, AadError> {
        let mut out: Vec<RequestedPermission> = Vec::new();
        for rra in &client.required_resource_access {
            let Some(res) = self.stores.directory.application_by_app_id(rra.resource_app_id).await? else { continue };
            for ra in &rra.resource_access {
                let p = match ra.kind {
                    PermissionKind::Role => {
                        res.app_role(ra.id).map(|r| (r.value.clone(), r.display_name.clone(), true))
                    }
                    PermissionKind::Scope => res
                        .scope(ra.id)
                        .map(|s| (s.value.clone(), s.admin_consent_display_name.clone(), s.admin_only())),
                };
                if let Some((value, display_name, admin_only)) = p {
                    out.push(RequestedPermission {
                        resource_app_id: res.app_id,
                        resource_name: res.display_name.clone(),
                        kind: ra.kind,
                        id: ra.id,
                        value,
                        display_name,
                        admin_only,
                    });
                }
            }
        }
        if let Some(scope) = extra_scope.filter(|s| !s.trim().is_empty()) {
            let req = scopes::parse_v2(scope)?;
            if let Some(resource) = &req.resource {
                let res = self.resource_app(tenant, resource).await?;
                if let Some(res) = res {
                    for v in &req.values {
                        let Some(s) = res.scope_by_value(v) else {
                            return Err(errors::invalid_scope(&format!("{resource}/{v}")));
                        };
                        if !out.iter().any(|p| p.id == s.id) {
                            out.push(RequestedPermission {
                                resource_app_id: res.app_id,
                                resource_name: res.display_name.clone(),
                                kind: PermissionKind::Scope,
                                id: s.id,
                                value: s.value.clone(),
                                display_name: s.admin_consent_display_name.clone(),
                                admin_only: s.admin_only(),
                            });
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The client's service principal in `tenant`, created if the application may be used there.
    pub async fn ensure_client_sp(
        &self,
        tenant: &Tenant,
        client: &Application,
    ) -> Result<(ServicePrincipal, bool), AadError> {
        if let Some(sp) = self.stores.directory.service_principal_by_app_id(tenant.id, client.app_id).await? {
            return Ok((sp, false));
        }
        if client.tenant_id != tenant.id && !client.sign_in_audience.is_multi_tenant() {
            return Err(errors::app_not_found(&client.app_id.to_string(), &tenant.id.to_string())
                .with_hint("The application is single-tenant (AzureADMyOrg); set signInAudience to AzureADMultipleOrgs to use it in other tenants."));
        }
        let sp = new_service_principal(tenant.id, client);
        self.stores.directory.create_service_principal(tenant.id, &sp).await?;
        Ok((sp, true))
    }

    /// Tenant-wide consent by an administrator (the portal's "Grant admin consent", the partner
    /// consent link, `/adminconsent`). `granted_by` is checked for the right directory role when
    /// present; the CLI (operator) passes `None`.
    pub async fn grant_admin_consent(
        &self,
        tenant: &Tenant,
        client: &Application,
        permissions: &[RequestedPermission],
        granted_by: Option<&User>,
    ) -> Result<ConsentOutcome, AadError> {
        if let Some(u) = granted_by {
            let needs_role_admin = permissions.iter().any(|p| p.kind == PermissionKind::Role);
            let ok = if needs_role_admin { u.can_consent_app_roles() } else { u.can_consent_delegated_for_tenant() };
            if !ok {
                return Err(errors::admin_consent_required());
            }
        }
        let (sp, created) = self.ensure_client_sp(tenant, client).await?;
        let mut outcome = ConsentOutcome {
            tenant_id: tenant.id,
            service_principal_id: sp.id,
            created_service_principal: created,
            ..Default::default()
        };
        let existing = self.stores.directory.app_role_assignments_of(tenant.id, sp.id).await?;
        let resource_ids = distinct_resources(permissions);
        for res_app_id in resource_ids {
            let res_sp = self.resource_sp_for_consent(tenant, res_app_id).await?;
            for p in permissions.iter().filter(|p| p.resource_app_id == res_app_id && p.kind == PermissionKind::Role) {
                if existing.iter().any(|a| a.resource_id == res_sp.id && a.app_role_id == p.id) {
                    outcome.app_roles_granted.push(p.value.clone());
                    continue;
                }
                let a = AppRoleAssignment {
                    id: Uuid::new_v4(),
                    tenant_id: tenant.id,
                    principal_id: sp.id,
                    principal_type: PrincipalType::ServicePrincipal,
                    principal_display_name: sp.display_name.clone(),
                    resource_id: res_sp.id,
                    resource_display_name: res_sp.display_name.clone(),
                    app_role_id: p.id,
                    created_date_time: OffsetDateTime::now_utc(),
                };
                self.stores.directory.add_app_role_assignment(tenant.id, &a).await?;
                outcome.app_roles_granted.push(p.value.clone());
            }
            let scopes: Vec<&str> = permissions
                .iter()
                .filter(|p| p.resource_app_id == res_app_id && p.kind == PermissionKind::Scope)
                .map(|p| p.value.as_str())
                .collect();
            if !scopes.is_empty() {
                let merged =
                    self.merge_grant(tenant.id, sp.id, res_sp.id, ConsentType::AllPrincipals, None, &scopes).await?;
                outcome.scopes_granted.extend(merged);
            }
        }
        tracing::info!(tenant = %tenant.id, client = %client.app_id, roles = ?outcome.app_roles_granted, scopes = ?outcome.scopes_granted, "admin consent granted");
        Ok(outcome)
    }

    /// A user's own consent to delegated permissions that do not need an administrator.
    pub async fn grant_user_consent(
        &self,
        tenant: &Tenant,
        client: &Application,
        user: &User,
        permissions: &[RequestedPermission],
    ) -> Result<ConsentOutcome, AadError> {
        if permissions.iter().any(|p| p.admin_only) {
            return Err(errors::admin_consent_required());
        }
        let (sp, created) = self.ensure_client_sp(tenant, client).await?;
        let mut outcome = ConsentOutcome {
            tenant_id: tenant.id,
            service_principal_id: sp.id,
            created_service_principal: created,
            ..Default::default()
        };
        let resource_ids = distinct_resources(permissions);
        for res_app_id in resource_ids {
            let res_sp = self.resource_sp_for_consent(tenant, res_app_id).await?;
            let scopes: Vec<&str> =
                permissions.iter().filter(|p| p.resource_app_id == res_app_id).map(|p| p.value.as_str()).collect();
            outcome.scopes_granted.extend(
                self.merge_grant(tenant.id, sp.id, res_sp.id, ConsentType::Principal, Some(user.id), &scopes).await?,
            );
        }
        Ok(outcome)
    }

    /// The requested permissions not yet granted for `user` (tenant-wide grants count).
    pub async fn missing_consent(
        &self,
        tenant: &Tenant,
        client: &Application,
        user: &User,
        permissions: &[RequestedPermission],
    ) -> Result<Vec<RequestedPermission>, AadError> {
        let Some(sp) = self.stores.directory.service_principal_by_app_id(tenant.id, client.app_id).await? else {
            return Ok(permissions.to_vec());
        };
        let assignments = self.stores.directory.app_role_assignments_of(tenant.id, sp.id).await?;
        let mut missing = Vec::new();
        for p in permissions {
            let Some(res_sp) = self.stores.directory.service_principal_by_app_id(tenant.id, p.resource_app_id).await?
            else {
                missing.push(p.clone());
                continue;
            };
            let granted = match p.kind {
                PermissionKind::Role => assignments.iter().any(|a| a.resource_id == res_sp.id && a.app_role_id == p.id),
                PermissionKind::Scope => self
                    .granted_scopes(tenant.id, sp.id, res_sp.id, user.id)
                    .await?
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(&p.value)),
            };
            if !granted {
                missing.push(p.clone());
            }
        }
        Ok(missing)
    }

    async fn resource_sp_for_consent(&self, tenant: &Tenant, res_app_id: Uuid) -> Result<ServicePrincipal, AadError> {
        if let Some(sp) = self.stores.directory.service_principal_by_app_id(tenant.id, res_app_id).await? {
            return Ok(sp);
        }
        Err(AadError::new(650052, "invalid_client", 400, format!(
            "The app needs access to a service ('{res_app_id}') that your organization '{}' has not subscribed to or enabled. Contact your IT Admin to review the configuration of your service subscriptions.",
            tenant.id
        ))
        .with_hint("Create the resource's service principal in this tenant first (POST /v1.0/servicePrincipals with its appId)."))
    }

    async fn merge_grant(
        &self,
        tenant: Uuid,
        client_sp: Uuid,
        resource_sp: Uuid,
        ct: ConsentType,
        principal: Option<Uuid>,
        scopes: &[&str],
    ) -> Result<Vec<String>, AadError> {
        let mut all: Vec<String> = self
            .stores
            .directory
            .oauth2_grants_of_client(tenant, client_sp)
            .await?
            .into_iter()
            .filter(|g| g.resource_id == resource_sp && g.consent_type == ct && g.principal_id == principal)
            .flat_map(|g| g.scopes().map(str::to_string).collect::<Vec<_>>())
            .collect();
        for s in scopes {
            if !all.iter().any(|a| a.eq_ignore_ascii_case(s)) {
                all.push(s.to_string());
            }
        }
        let g = OAuth2PermissionGrant {
            id: Uuid::new_v4(),
            tenant_id: tenant,
            client_id: client_sp,
            consent_type: ct,
            principal_id: principal,
            resource_id: resource_sp,
            scope: all.join(" "),
        };
        self.stores.directory.upsert_oauth2_grant(tenant, &g).await?;
        Ok(all)
    }
}

/// Each resource once, in first-seen order (permissions of one resource need not be adjacent: a
/// dynamic v2 scope is appended after the static ones).
fn distinct_resources(permissions: &[RequestedPermission]) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = Vec::new();
    for p in permissions {
        if !out.contains(&p.resource_app_id) {
            out.push(p.resource_app_id);
        }
    }
    out
}

/// A service principal for `app` in `tenant`, shaped like the ones Entra creates.
pub fn new_service_principal(tenant: Uuid, app: &Application) -> ServicePrincipal {
    ServicePrincipal {
        id: Uuid::new_v4(),
        tenant_id: tenant,
        app_id: app.app_id,
        display_name: app.display_name.clone(),
        app_owner_organization_id: app.tenant_id,
        account_enabled: true,
        app_role_assignment_required: false,
        service_principal_type: "Application".into(),
        created_date_time: OffsetDateTime::now_utc(),
    }
}
