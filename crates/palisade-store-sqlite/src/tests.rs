use super::*;
use palisade_directory::catalog;

fn tmp() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("palisade-store-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn tenant(name: &str) -> Tenant {
    Tenant {
        id: Uuid::new_v4(),
        display_name: name.into(),
        default_domain: format!("{}.onmicrosoft.com", name.to_lowercase()),
        created_date_time: OffsetDateTime::now_utc(),
        is_system: false,
    }
}

fn user(t: &Tenant, name: &str) -> User {
    User {
        id: Uuid::new_v4(),
        tenant_id: t.id,
        user_principal_name: format!("{name}@{}", t.default_domain),
        display_name: name.into(),
        given_name: None,
        surname: None,
        account_enabled: true,
        directory_roles: vec![palisade_directory::DirectoryRole::GlobalAdministrator],
        password_hash: "$argon2id$fake".into(),
        created_date_time: OffsetDateTime::now_utc(),
    }
}

#[tokio::test]
async fn tenant_scoped_reads_never_cross_tenants() {
    let dir = tmp();
    let s = SqliteStore::open(&dir).unwrap();
    let (a, b) = (tenant("Alpha"), tenant("Beta"));
    s.create_tenant(&a).await.unwrap();
    s.create_tenant(&b).await.unwrap();
    let ua = user(&a, "ann");
    s.create_user(a.id, &ua).await.unwrap();
    assert!(s.user(a.id, ua.id).await.unwrap().is_some());
    assert!(s.user(b.id, ua.id).await.unwrap().is_none(), "user visible from the wrong tenant");
    assert!(s.user_by_upn(b.id, &ua.user_principal_name).await.unwrap().is_none());
    assert_eq!(s.tenant_of_upn(&ua.user_principal_name.to_uppercase()).await.unwrap(), Some(a.id));

    let mut app = catalog::windows_defender_atp();
    app.id = Uuid::new_v4();
    app.app_id = Uuid::new_v4();
    app.tenant_id = a.id;
    app.password_credentials.push(PasswordCredential {
        key_id: Uuid::new_v4(),
        display_name: Some("ci".into()),
        hint: "abc".into(),
        start_date_time: OffsetDateTime::now_utc(),
        end_date_time: OffsetDateTime::now_utc() + time::Duration::days(1),
        secret_hash: "00:11".into(),
    });
    s.create_application(a.id, &app).await.unwrap();
    assert!(s.application(b.id, app.id).await.unwrap().is_none());
    let loaded = s.application(a.id, app.id).await.unwrap().unwrap();
    assert_eq!(loaded.password_credentials[0].secret_hash, "00:11", "hash column round-trips");
    assert_eq!(loaded, app);
    // The global read exists for consent, and returns the home tenant.
    assert_eq!(s.application_by_app_id(app.app_id).await.unwrap().unwrap().tenant_id, a.id);

    // Deleting in the wrong tenant must not touch the row.
    assert!(matches!(s.delete_application(b.id, app.id).await, Err(StoreError::NotFound(_))));
    assert!(s.application(a.id, app.id).await.unwrap().is_some());
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn database_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmp();
    let _s = SqliteStore::open(&dir).unwrap();
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    for f in ["palisade.db", "palisade.db-wal", "palisade.db-shm"] {
        assert_eq!(std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777, 0o600, "{f}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn duplicate_domain_and_upn_are_conflicts() {
    let dir = tmp();
    let s = SqliteStore::open(&dir).unwrap();
    let a = tenant("Gamma");
    s.create_tenant(&a).await.unwrap();
    let mut dup = tenant("Gamma");
    dup.default_domain = dup.default_domain.to_uppercase();
    assert!(matches!(s.create_tenant(&dup).await, Err(StoreError::Conflict(_))));
    let u = user(&a, "bob");
    s.create_user(a.id, &u).await.unwrap();
    let mut u2 = user(&a, "bob");
    u2.id = Uuid::new_v4();
    assert!(matches!(s.create_user(a.id, &u2).await, Err(StoreError::Conflict(_))));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn codes_redeem_exactly_once() {
    let dir = tmp();
    let s = SqliteStore::open(&dir).unwrap();
    // Stored times have second precision.
    let now = from_ts(ts(OffsetDateTime::now_utc()));
    let g = UserGrant {
        tenant_id: Uuid::new_v4(),
        client_app_id: Uuid::new_v4(),
        user_id: Uuid::new_v4(),
        scope: "openid".into(),
        redirect_uri: None,
        code_challenge: None,
        code_challenge_method: None,
        nonce: Some("n".into()),
        resource: None,
        auth_methods: vec!["pwd".into()],
        auth_time: now,
    };
    s.put_code("h1", &g, now + time::Duration::minutes(10)).await.unwrap();
    assert_eq!(s.redeem_code("h1", now).await.unwrap(), CodeRedemption::Redeemed(Box::new(g.clone())));
    assert_eq!(s.redeem_code("h1", now).await.unwrap(), CodeRedemption::AlreadyRedeemed);
    assert_eq!(s.redeem_code("nope", now).await.unwrap(), CodeRedemption::Unknown);
    s.put_code("h2", &g, now - time::Duration::seconds(1)).await.unwrap();
    assert_eq!(s.redeem_code("h2", now).await.unwrap(), CodeRedemption::Expired);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn lockout_after_threshold_and_expiry() {
    let dir = tmp();
    let s = SqliteStore::open(&dir).unwrap();
    let (t, u) = (Uuid::new_v4(), Uuid::new_v4());
    let now = OffsetDateTime::now_utc();
    let lock = time::Duration::seconds(60);
    for i in 1..3 {
        let st = s.record_login_failure(t, u, 3, lock, now).await.unwrap();
        assert_eq!(st.failures, i);
        assert!(st.locked_until.is_none());
    }
    let st = s.record_login_failure(t, u, 3, lock, now).await.unwrap();
    assert_eq!(st.locked_until, Some(from_ts(ts(now + lock))));
    // After the lock runs out the count restarts.
    let later = now + time::Duration::seconds(61);
    let st = s.record_login_failure(t, u, 3, lock, later).await.unwrap();
    assert_eq!(st.failures, 1);
    assert!(st.locked_until.is_none());
    s.clear_login_failures(t, u).await.unwrap();
    assert_eq!(s.lockout(t, u).await.unwrap(), LockoutState::default());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn oauth2_grant_upsert_replaces_scope() {
    let dir = tmp();
    let s = SqliteStore::open(&dir).unwrap();
    let t = tenant("Delta");
    s.create_tenant(&t).await.unwrap();
    let g = OAuth2PermissionGrant {
        id: Uuid::new_v4(),
        tenant_id: t.id,
        client_id: Uuid::new_v4(),
        consent_type: ConsentType::AllPrincipals,
        principal_id: None,
        resource_id: Uuid::new_v4(),
        scope: "Alert.Read".into(),
    };
    let first = s.upsert_oauth2_grant(t.id, &g).await.unwrap();
    let mut g2 = g.clone();
    g2.id = Uuid::new_v4();
    g2.scope = "Alert.Read Machine.Read".into();
    let second = s.upsert_oauth2_grant(t.id, &g2).await.unwrap();
    assert_eq!(first.id, second.id, "same grant updated, not duplicated");
    let all = s.oauth2_grants(t.id).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].scope, "Alert.Read Machine.Read");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn client_credentials_context_is_tenant_scoped() {
    let dir = tmp();
    let s = SqliteStore::open(&dir).unwrap();
    let (a, b) = (tenant("Epsilon"), tenant("Zeta"));
    s.create_tenant(&a).await.unwrap();
    s.create_tenant(&b).await.unwrap();
    let mut app = catalog::windows_defender_atp();
    app.id = Uuid::new_v4();
    app.app_id = Uuid::new_v4();
    app.tenant_id = a.id;
    s.create_application(a.id, &app).await.unwrap();
    let sp = |t: &Tenant, app_id: Uuid| ServicePrincipal {
        id: Uuid::new_v4(),
        tenant_id: t.id,
        app_id,
        display_name: "sp".into(),
        app_owner_organization_id: a.id,
        account_enabled: true,
        app_role_assignment_required: false,
        service_principal_type: "Application".into(),
        created_date_time: OffsetDateTime::now_utc(),
    };
    let (client_sp, res_sp) = (sp(&a, app.app_id), sp(&a, catalog::WINDOWS_DEFENDER_ATP_APP_ID));
    s.create_service_principal(a.id, &client_sp).await.unwrap();
    s.create_service_principal(a.id, &res_sp).await.unwrap();
    let asg = AppRoleAssignment {
        id: Uuid::new_v4(),
        tenant_id: a.id,
        principal_id: client_sp.id,
        principal_type: PrincipalType::ServicePrincipal,
        principal_display_name: "c".into(),
        resource_id: res_sp.id,
        resource_display_name: "r".into(),
        app_role_id: Uuid::new_v4(),
        created_date_time: OffsetDateTime::now_utc(),
    };
    s.add_app_role_assignment(a.id, &asg).await.unwrap();

    let c = s
        .client_credentials_context(
            &TenantRef::Domain(a.default_domain.clone()),
            app.app_id,
            catalog::WINDOWS_DEFENDER_ATP_APP_ID,
        )
        .await
        .unwrap();
    assert_eq!(c.tenant.unwrap().id, a.id);
    assert_eq!(c.client.unwrap().app_id, app.app_id);
    assert_eq!(c.client_sp.unwrap().id, client_sp.id);
    assert_eq!(c.resource_sp.unwrap().id, res_sp.id);
    assert_eq!(c.client_role_assignments.len(), 1);
    // From tenant B the application exists (global by appId) but nothing tenant-owned does.
    let c = s
        .client_credentials_context(&TenantRef::Id(b.id), app.app_id, catalog::WINDOWS_DEFENDER_ATP_APP_ID)
        .await
        .unwrap();
    assert_eq!(c.tenant.unwrap().id, b.id);
    assert!(c.client.is_some());
    assert!(c.client_sp.is_none() && c.resource_sp.is_none() && c.client_role_assignments.is_empty());
    assert!(
        s.client_credentials_context(&TenantRef::Id(Uuid::new_v4()), app.app_id, app.app_id)
            .await
            .unwrap()
            .tenant
            .is_none()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn quota_windows_refuse_then_reset() {
    use palisade_defender::quota::{QuotaDecision, QuotaStore};
    let dir = tmp();
    let s = SqliteStore::open(&dir).unwrap();
    let t0 = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(); // on a minute boundary
    let budgets = [(60, 3), (3600, 5)];
    for _ in 0..3 {
        assert_eq!(s.charge("k", &budgets, t0).await.unwrap(), QuotaDecision::Allowed);
    }
    assert_eq!(
        s.charge("k", &budgets, t0 + time::Duration::seconds(10)).await.unwrap(),
        QuotaDecision::Exceeded { limit: 3, window_secs: 60, retry_after_secs: 50 }
    );
    assert_eq!(s.charge("other", &budgets, t0).await.unwrap(), QuotaDecision::Allowed, "keys are independent");
    // Next minute: the minute budget resets, the hour budget (5) still counts the first 3.
    let t1 = t0 + time::Duration::seconds(60);
    assert_eq!(s.charge("k", &budgets, t1).await.unwrap(), QuotaDecision::Allowed);
    assert_eq!(s.charge("k", &budgets, t1).await.unwrap(), QuotaDecision::Allowed);
    assert!(matches!(
        s.charge("k", &budgets, t1).await.unwrap(),
        QuotaDecision::Exceeded { limit: 5, window_secs: 3600, .. }
    ));
    std::fs::remove_dir_all(dir).unwrap();
}
