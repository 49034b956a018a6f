//! The seed pages' partner flow, end to end over HTTPS and the HTML forms: tenant A registers a
//! multi-tenant app; tenant B's Global Administrator follows the consent link, signs in and
//! accepts; A's app then gets tokens for B — and a permission added later appears only after
//! consent is granted again.

mod common;

use common::{TestServer, hidden, location_params};
use palisade_directory::*;
use reqwest::StatusCode;

const MDE: &str = "https://api.securitycenter.microsoft.com";

async fn token_roles(
    s: &TestServer,
    tenant: &Tenant,
    app: &Application,
    secret: &str,
) -> Result<Vec<String>, serde_json::Value> {
    let (st, b) = s
        .token_v1(
            &tenant.id.to_string(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.app_id.to_string()),
                ("client_secret", secret),
                ("resource", MDE),
            ],
        )
        .await;
    if st != StatusCode::OK {
        return Err(b);
    }
    let claims =
        s.verify(b["access_token"].as_str().unwrap(), MDE, &format!("https://sts.windows.net/{}/", tenant.id)).await;
    assert_eq!(claims["tid"], tenant.id.to_string(), "token is for the customer tenant");
    Ok(claims["roles"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default())
}

/// Follows the consent link as a browser: sign-in page → consent page. Returns the consent page.
async fn open_consent_link(
    s: &TestServer,
    browser: &reqwest::Client,
    app: &Application,
    upn: &str,
    password: &str,
) -> String {
    let link = format!(
        "{}/common/oauth2/authorize?prompt=consent&client_id={}&response_type=code&sso_reload=true",
        s.base, app.app_id
    );
    let r = browser.get(&link).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    if !html.contains("name=\"passwd\"") {
        return html; // already signed in
    }
    assert!(html.contains("action=\"/common/login\""), "sign-in form posts to /common/login");
    let ctx = hidden(&html, "ctx");
    let r = browser
        .post(format!("{}/common/login", s.base))
        .form(&[("login", upn), ("passwd", password), ("ctx", &ctx)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().contains("HttpOnly; Secure")));
    r.text().await.unwrap()
}

async fn decide(s: &TestServer, browser: &reqwest::Client, consent_page: &str, decision: &str) -> reqwest::Response {
    let ctx = hidden(consent_page, "ctx");
    let csrf = hidden(consent_page, "csrf");
    browser
        .post(format!("{}/common/consent", s.base))
        .form(&[("ctx", ctx.as_str()), ("csrf", csrf.as_str()), ("decision", decision)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn multi_tenant_partner_consent_end_to_end() {
    let s = TestServer::start().await;
    let a = s.contoso.clone();
    // Tenant A: the partner registers its multi-tenant app with Alert.Read.All and a secret.
    let app = s.app(&a, "Partner SOC", SignInAudience::AzureADMultipleOrgs, &["https://portal.azure.com"], false).await;
    s.permission(&a, &app, "WindowsDefenderATP", "Alert.Read.All", PermissionKind::Role).await;
    s.consent(&a, &app).await;
    let secret = s.secret(&a, &app).await;
    assert_eq!(token_roles(&s, &a, &app, &secret).await.unwrap(), vec!["Alert.Read.All"]);

    // Tenant B: the customer, with its own Global Administrator and a regular user.
    let b = s.tenant("Fabrikam").await;
    let admin = s.user(&b, "admin", vec![DirectoryRole::GlobalAdministrator], "Fabrikam-Admin-1").await;
    let reader = s.user(&b, "reader", vec![DirectoryRole::SecurityReader], "Fabrikam-Reader-1").await;

    // Before consent: the real AADSTS error.
    let err = token_roles(&s, &b, &app, &secret).await.unwrap_err();
    assert_eq!(err["error_codes"][0], 700016);
    assert!(
        err["error_description"].as_str().unwrap().contains("/common/oauth2/authorize?prompt=consent"),
        "the fix is named: {err}"
    );

    // A non-admin cannot consent to application permissions: error redirect.
    let rb = s.browser();
    let page = open_consent_link(&s, &rb, &app, &reader.user_principal_name, "Fabrikam-Reader-1").await;
    assert!(page.contains("Need admin approval"), "{page}");
    let r = decide(&s, &rb, &page, "accept").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let (uri, q) = location_params(&r);
    assert_eq!(uri, "https://portal.azure.com/");
    assert_eq!(q["error"], "access_denied");
    assert!(q["error_description"].starts_with("AADSTS90094"), "{q:?}");
    assert!(token_roles(&s, &b, &app, &secret).await.is_err());

    // The admin refuses first: the real error redirect.
    let ab = s.browser();
    let page = open_consent_link(&s, &ab, &app, &admin.user_principal_name, "Fabrikam-Admin-1").await;
    assert!(
        page.contains("Read all alerts") && page.contains("Alert.Read.All"),
        "permissions listed by display name: {page}"
    );
    let r = decide(&s, &ab, &page, "cancel").await;
    let (_, q) = location_params(&r);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["error_subcode"], "cancel");
    assert!(q["error_description"].starts_with("AADSTS65004"));
    assert!(token_roles(&s, &b, &app, &secret).await.is_err());

    // Then accepts: code redirect to the app's reply URL, SP and grant created in B.
    let page = open_consent_link(&s, &ab, &app, &admin.user_principal_name, "Fabrikam-Admin-1").await;
    let r = decide(&s, &ab, &page, "accept").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let (uri, q) = location_params(&r);
    assert_eq!(uri, "https://portal.azure.com/");
    assert!(q["code"].len() > 20 && q.contains_key("session_state"), "{q:?}");
    assert!(s.identity.stores.directory.service_principal_by_app_id(b.id, app.app_id).await.unwrap().is_some());

    // Afterwards A's app gets a token whose tid is B and roles are exactly Alert.Read.All.
    assert_eq!(token_roles(&s, &b, &app, &secret).await.unwrap(), vec!["Alert.Read.All"]);

    // A permission added later is not in B's tokens until B consents again…
    s.permission(&a, &app, "WindowsDefenderATP", "Machine.Isolate", PermissionKind::Role).await;
    s.consent(&a, &app).await; // home tenant consents
    assert_eq!(token_roles(&s, &a, &app, &secret).await.unwrap(), vec!["Alert.Read.All", "Machine.Isolate"]);
    assert_eq!(token_roles(&s, &b, &app, &secret).await.unwrap(), vec!["Alert.Read.All"]);
    // …then it is (the admin's session is still valid: straight to the consent page).
    let page = open_consent_link(&s, &ab, &app, &admin.user_principal_name, "Fabrikam-Admin-1").await;
    assert!(page.contains("Isolate machine"));
    decide(&s, &ab, &page, "accept").await;
    let mut roles = token_roles(&s, &b, &app, &secret).await.unwrap();
    roles.sort();
    assert_eq!(roles, vec!["Alert.Read.All", "Machine.Isolate"]);

    // Sign-out redirects only to a URI registered on the application, and ends the session.
    let r = ab
        .get(format!("{}/common/oauth2/logout?post_logout_redirect_uri=https://evil.example.com/", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "no open redirect");
    let page = open_consent_link(&s, &ab, &app, &admin.user_principal_name, "Fabrikam-Admin-1").await;
    assert!(page.contains("Isolate machine"), "signed in again after logout");
    let r = ab
        .get(format!(
            "{}/common/oauth2/logout?client_id={}&post_logout_redirect_uri=https://portal.azure.com",
            s.base, app.app_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "https://portal.azure.com");
    let html = ab
        .get(format!("{}/common/oauth2/authorize?prompt=consent&client_id={}&response_type=code", s.base, app.app_id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"passwd\""), "the session is gone");

    // A forged consent POST (wrong anti-forgery token) is refused.
    let page = open_consent_link(&s, &ab, &app, &admin.user_principal_name, "Fabrikam-Admin-1").await;
    let ctx = hidden(&page, "ctx");
    let r = ab
        .post(format!("{}/common/consent", s.base))
        .form(&[("ctx", ctx.as_str()), ("csrf", "forged"), ("decision", "accept")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    s.stop().await;
}

#[tokio::test]
async fn adminconsent_endpoint_v1_and_v2() {
    let s = TestServer::start().await;
    let a = s.contoso.clone();
    let app =
        s.app(&a, "Partner MTP", SignInAudience::AzureADMultipleOrgs, &["https://partner.example.com/cb"], false).await;
    s.permission(&a, &app, "Microsoft Threat Protection", "Incident.Read.All", PermissionKind::Role).await;
    let secret = s.secret(&a, &app).await;
    let b = s.tenant("Northwind").await;
    let admin = s.user(&b, "admin", vec![DirectoryRole::GlobalAdministrator], "Northwind-Admin-1").await;

    let browser = s.browser();
    let url = format!(
        "{}/{}/v2.0/adminconsent?client_id={}&scope=https://api.security.microsoft.com/.default&redirect_uri=https://partner.example.com/cb&state=xyz",
        s.base, b.default_domain, app.app_id
    );
    let html = browser.get(&url).send().await.unwrap().text().await.unwrap();
    let ctx = hidden(&html, "ctx");
    let page = browser
        .post(format!("{}/{}/login", s.base, b.default_domain))
        .form(&[("login", admin.user_principal_name.as_str()), ("passwd", "Northwind-Admin-1"), ("ctx", &ctx)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Read all incidents"));
    let r = browser
        .post(format!("{}/{}/consent", s.base, b.default_domain))
        .form(&[
            ("ctx", hidden(&page, "ctx").as_str()),
            ("csrf", hidden(&page, "csrf").as_str()),
            ("decision", "accept"),
        ])
        .send()
        .await
        .unwrap();
    let (uri, q) = location_params(&r);
    assert_eq!(uri, "https://partner.example.com/cb");
    assert_eq!(q["admin_consent"], "True");
    assert_eq!(q["tenant"], b.id.to_string());
    assert_eq!(q["state"], "xyz");
    assert_eq!(q["scope"], "https://api.security.microsoft.com/.default");

    let (st, body) = s
        .token_v2(
            &b.id.to_string(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.app_id.to_string()),
                ("client_secret", &secret),
                ("scope", "https://api.security.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{body}");
    let claims = s
        .verify(
            body["access_token"].as_str().unwrap(),
            "https://api.security.microsoft.com",
            &format!("https://sts.windows.net/{}/", b.id),
        )
        .await;
    assert_eq!(claims["roles"], serde_json::json!(["Incident.Read.All"]));

    // v1 authorize with prompt=admin_consent: the admin consents for the organization and the
    // code redirect says so.
    let app2 =
        s.app(&a, "Partner v1", SignInAudience::AzureADMultipleOrgs, &["https://partner.example.com/v1"], false).await;
    s.permission(&a, &app2, "WindowsDefenderATP", "Machine.Read.All", PermissionKind::Role).await;
    let url = format!(
        "{}/common/oauth2/authorize?client_id={}&response_type=code&prompt=admin_consent&resource=https://api.securitycenter.microsoft.com&state=v1s",
        s.base, app2.app_id
    );
    let page = browser.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Accept for your organization"), "{page}");
    let r = browser
        .post(format!("{}/common/consent", s.base))
        .form(&[
            ("ctx", hidden(&page, "ctx").as_str()),
            ("csrf", hidden(&page, "csrf").as_str()),
            ("decision", "accept"),
        ])
        .send()
        .await
        .unwrap();
    let (uri, q) = location_params(&r);
    assert_eq!(uri, "https://partner.example.com/v1");
    assert_eq!(q["admin_consent"], "True");
    assert_eq!(q["state"], "v1s");
    assert!(q.contains_key("code"));
    let sp2 = s
        .identity
        .stores
        .directory
        .service_principal_by_app_id(b.id, app2.app_id)
        .await
        .unwrap()
        .expect("SP created in the admin's tenant");
    assert_eq!(s.identity.stores.directory.app_role_assignments_of(b.id, sp2.id).await.unwrap().len(), 1);

    // v1 cancel uses the documented permission_denied error.
    let url = format!(
        "{}/{}/adminconsent?client_id={}&redirect_uri=https://partner.example.com/cb&state=s1",
        s.base, b.id, app.app_id
    );
    let page = browser.get(&url).send().await.unwrap().text().await.unwrap();
    let r = browser
        .post(format!("{}/{}/consent", s.base, b.id))
        .form(&[
            ("ctx", hidden(&page, "ctx").as_str()),
            ("csrf", hidden(&page, "csrf").as_str()),
            ("decision", "cancel"),
        ])
        .send()
        .await
        .unwrap();
    let (_, q) = location_params(&r);
    assert_eq!(q["error"], "permission_denied");
    assert_eq!(q["state"], "s1");
    s.stop().await;
}

/// Static permissions on two resources plus a dynamic v2 scope on the first: the first resource's
/// permissions are not adjacent, and consent must still grant each exactly once.
#[tokio::test]
async fn dynamic_v2_scope_after_static_permissions_consents_once() {
    let s = TestServer::start().await;
    let a = s.contoso.clone();
    let app = s.app(&a, "Mixed", SignInAudience::AzureADMultipleOrgs, &["https://mixed.example.com/cb"], false).await;
    s.permission(&a, &app, "WindowsDefenderATP", "Alert.Read.All", PermissionKind::Role).await;
    s.permission(&a, &app, "Microsoft Graph", "User.Read", PermissionKind::Scope).await;
    let b = s.tenant("Litware").await;
    let admin = s.user(&b, "admin", vec![DirectoryRole::GlobalAdministrator], "Litware-Admin-1").await;
    let browser = s.browser();
    let scope = "https://api.securitycenter.microsoft.com/Alert.Read openid";
    let url = format!(
        "{}/organizations/oauth2/v2.0/authorize?client_id={}&response_type=code&redirect_uri=https://mixed.example.com/cb&scope={}&state=m",
        s.base,
        app.app_id,
        form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>()
    );
    let html = browser.get(&url).send().await.unwrap().text().await.unwrap();
    let page = browser
        .post(format!("{}/organizations/login", s.base))
        .form(&[
            ("login", admin.user_principal_name.as_str()),
            ("passwd", "Litware-Admin-1"),
            ("ctx", &hidden(&html, "ctx")),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Read all alerts")
            && page.contains("Read alerts")
            && page.contains("Sign in and read user profile"),
        "{page}"
    );
    let r = browser
        .post(format!("{}/organizations/consent", s.base))
        .form(&[
            ("ctx", hidden(&page, "ctx").as_str()),
            ("csrf", hidden(&page, "csrf").as_str()),
            ("decision", "accept"),
        ])
        .send()
        .await
        .unwrap();
    let (uri, q) = location_params(&r);
    assert_eq!(uri, "https://mixed.example.com/cb");
    assert!(q.contains_key("code"), "consent succeeded: {q:?}");
    let sp = s.identity.stores.directory.service_principal_by_app_id(b.id, app.app_id).await.unwrap().unwrap();
    assert_eq!(s.identity.stores.directory.app_role_assignments_of(b.id, sp.id).await.unwrap().len(), 1);
    let grants = s.identity.stores.directory.oauth2_grants_of_client(b.id, sp.id).await.unwrap();
    let mut scopes: Vec<String> =
        grants.iter().flat_map(|g| g.scopes().map(str::to_string).collect::<Vec<_>>()).collect();
    scopes.sort();
    assert_eq!(scopes, vec!["Alert.Read", "User.Read"]);
    s.stop().await;
}

/// A v2 dynamic scope on the tenant's own API, named by its App ID URI, is consented and then
/// issued: consent resolves the resource the way the token endpoint does.
#[tokio::test]
async fn dynamic_scope_on_a_custom_api_by_app_id_uri() {
    let s = TestServer::start().await;
    let t = s.contoso.clone();
    let mut api = s.app(&t, "Contoso API", SignInAudience::AzureADMyOrg, &[], false).await;
    api.identifier_uris = vec![format!("api://{}", api.app_id)];
    api.oauth2_permission_scopes = vec![PermissionScope {
        id: uuid::Uuid::new_v4(),
        value: "Data.Read".into(),
        kind: "User".into(),
        admin_consent_display_name: "Read Contoso data".into(),
        admin_consent_description: "Read data".into(),
        user_consent_display_name: None,
        user_consent_description: None,
        is_enabled: true,
    }];
    s.identity.stores.directory.update_application(t.id, &api).await.unwrap();
    let mut client = s.app(&t, "SPA-ish", SignInAudience::AzureADMyOrg, &[], true).await;
    client.public_client_redirect_uris = vec!["http://localhost".into()];
    s.identity.stores.directory.update_application(t.id, &client).await.unwrap();
    let user = s.user(&t, "dev", vec![], "Dev-Pass-123").await;

    let browser = s.browser();
    let scope = format!("api://{}/Data.Read openid offline_access", api.app_id);
    let url = format!(
        "{}/{}/oauth2/v2.0/authorize?client_id={}&response_type=code&redirect_uri=http://localhost:4000&scope={}",
        s.base,
        t.id,
        client.app_id,
        form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>()
    );
    let html = browser.get(&url).send().await.unwrap().text().await.unwrap();
    let page = browser
        .post(format!("{}/{}/login", s.base, t.id))
        .form(&[
            ("login", user.user_principal_name.as_str()),
            ("passwd", "Dev-Pass-123"),
            ("ctx", &hidden(&html, "ctx")),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Read Contoso data"), "the custom scope is on the consent page: {page}");
    let r = browser
        .post(format!("{}/{}/consent", s.base, t.id))
        .form(&[
            ("ctx", hidden(&page, "ctx").as_str()),
            ("csrf", hidden(&page, "csrf").as_str()),
            ("decision", "accept"),
        ])
        .send()
        .await
        .unwrap();
    let (_, q) = location_params(&r);
    let (st, b) = s
        .token_v2(
            &t.id.to_string(),
            &[
                ("grant_type", "authorization_code"),
                ("client_id", &client.app_id.to_string()),
                ("code", &q["code"]),
                ("redirect_uri", "http://localhost:4000"),
                ("scope", &scope),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let aud = format!("api://{}", api.app_id);
    let c = s.verify(b["access_token"].as_str().unwrap(), &aud, &format!("https://sts.windows.net/{}/", t.id)).await;
    assert_eq!(c["scp"], "Data.Read");
    s.stop().await;
}
