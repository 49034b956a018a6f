//! First start: the system tenant with the first-party applications, the operator client's
//! certificate, and — on an empty directory — the "Contoso" demo tenant with a Global
//! Administrator whose password is shown once.

use palisade_crypto::cert;
use palisade_directory::catalog::{self, SYSTEM_TENANT_DOMAIN, SYSTEM_TENANT_ID};
use palisade_directory::*;
use time::OffsetDateTime;

use crate::Identity;
use crate::admin::{GraphResult, NewUser, key_credential};

/// What the demo bootstrap created; the password exists only here.
#[derive(Debug, Clone)]
pub struct FirstRun {
    pub tenant: Tenant,
    pub admin: User,
    pub admin_password: String,
}

pub const DEMO_TENANT_NAME: &str = "Contoso";
pub const DEMO_TENANT_DOMAIN: &str = "contoso.onmicrosoft.com";

impl Identity {
    /// Creates or refreshes the system tenant and first-party applications (catalogue changes in a
    /// new release apply on start), registers `operator_cert_pem` on the operator client, and
    /// re-provisions every tenant.
    pub async fn ensure_system(&self, operator_cert_pem: &[u8]) -> GraphResult<()> {
        let dir = &self.stores.directory;
        if dir.tenant(SYSTEM_TENANT_ID).await?.is_none() {
            dir.create_tenant(&Tenant {
                id: SYSTEM_TENANT_ID,
                display_name: "Microsoft Services".into(),
                default_domain: SYSTEM_TENANT_DOMAIN.into(),
                created_date_time: OffsetDateTime::now_utc(),
                is_system: true,
            })
            .await?;
        }
        let op_cert = cert::parse_certificate(operator_cert_pem)
            .map_err(|e| crate::admin::GraphError::internal(format!("operator certificate: {e}")))?;
        for mut app in catalog::first_party_applications() {
            let existing = dir.application_in_tenant_by_app_id(SYSTEM_TENANT_ID, app.app_id).await?;
            if app.app_id == catalog::PALISADE_OPERATOR_APP_ID {
                let keep = existing
                    .as_ref()
                    .and_then(|e| e.key_credentials.iter().find(|k| k.thumbprint_sha1 == op_cert.sha1_hex).cloned());
                app.key_credentials =
                    vec![keep.unwrap_or_else(|| key_credential(&op_cert, Some("Palisade operator".into())))];
            }
            match existing {
                Some(e) => {
                    app.id = e.id;
                    app.created_date_time = e.created_date_time;
                    if e != app {
                        dir.update_application(SYSTEM_TENANT_ID, &app).await?;
                    }
                }
                None => dir.create_application(SYSTEM_TENANT_ID, &app).await?,
            }
        }
        // The system tenant too: operator tokens for tenant-independent calls are issued there.
        for t in dir.tenants().await? {
            self.provision_tenant(&t).await?;
        }
        Ok(())
    }

    /// On a directory with no customer tenant, creates Contoso and its Global Administrator.
    pub async fn ensure_demo(&self) -> GraphResult<Option<FirstRun>> {
        if self.stores.directory.tenants().await?.iter().any(|t| !t.is_system) {
            return Ok(None);
        }
        let tenant = self.create_tenant(DEMO_TENANT_NAME, Some(DEMO_TENANT_DOMAIN)).await?;
        let (admin, password) = self
            .create_user(
                &tenant,
                NewUser {
                    user_principal_name: format!("admin@{DEMO_TENANT_DOMAIN}"),
                    display_name: Some("Contoso Administrator".into()),
                    given_name: Some("Contoso".into()),
                    surname: Some("Administrator".into()),
                    password: None,
                    roles: vec![DirectoryRole::GlobalAdministrator],
                    account_enabled: true,
                },
            )
            .await?;
        Ok(Some(FirstRun { tenant, admin, admin_password: password.expect("generated") }))
    }
}
