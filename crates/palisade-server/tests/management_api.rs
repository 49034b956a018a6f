//! The Graph-shaped management API: authentication with Palisade's own tokens, Graph permission
//! checks, tenant isolation, and the calls integrations and the CLI make.

mod common;

use common::TestServer;
use palisade_directory::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const GRAPH: &str = "https://graph.microsoft.com/.default";

/// An app in `tenant` holding the given Graph application permissions, and a token for Graph.
async fn graph_token(s: &TestServer, tenant: &Tenant, roles: &[&str]) -> String {
    let app = s.app(tenant, "Automation", SignInAudience::AzureADMyOrg, &[], false).await;
    for r in roles {
        s.permission(tenant, &app, "Microsoft Graph", r, PermissionKind::Role).await;
    }
    s.consent(tenant, &app).await;
    let secret = s.secret(tenant, &app).await;
    let (st, b) = s
        .token_v2(
            &tenant.id.to_string(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.app_id.to_string()),
                ("client_secret", &secret),
                ("scope", GRAPH),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn graph_api_permissions_and_isolation() {
    use reqwest::Method as M;
    let s = TestServer::start().await;
    let a = s.contoso.clone();
    let admin_token = graph_token(
        &s,
        &a,
        &[
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
            "User.ReadWrite.All",
            "DelegatedPermissionGrant.ReadWrite.All",
        ],
    )
    .await;

    // No token, a token for another audience, a tampered token: 401 in Graph's format.
    let (st, b) = s.call(M::GET, "/v1.0/applications", None, None).await;
    assert_eq!((st, b["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("InvalidAuthenticationToken")));
    let (app, secret) = s.daemon_app().await;
    let (_, mde) = s
        .token_v2(
            &a.id.to_string(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.app_id.to_string()),
                ("client_secret", &secret),
                ("scope", "https://api.securitycenter.microsoft.com/.default"),
            ],
        )
        .await;
    let (st, b) = s.call(M::GET, "/v1.0/applications", mde["access_token"].as_str(), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(b["error"]["message"].as_str().unwrap().contains("audience"), "{b}");
    let tampered = common::tamper_signature(&admin_token);
    assert_eq!(s.call(M::GET, "/v1.0/applications", Some(&tampered), None).await.0, StatusCode::UNAUTHORIZED);

    // A valid Graph token without the permission: 403 naming what is missing.
    let weak = graph_token(&s, &a, &["User.Read.All"]).await;
    let (st, b) = s.call(M::POST, "/v1.0/applications", Some(&weak), Some(json!({"displayName": "x"}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(b["error"]["code"], "Authorization_RequestDenied");
    assert!(b["error"]["message"].as_str().unwrap().contains("Application.ReadWrite.All"));

    // Create an application the Graph way, add a secret, find the WindowsDefenderATP service principal, assign a role.
    let (st, created) = s.call(M::POST, "/v1.0/applications", Some(&admin_token), Some(json!({
        "displayName": "Graph-made", "signInAudience": "AzureADMyOrg", "web": {"redirectUris": ["https://example.com/cb"]}
    }))).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let obj = created["id"].as_str().unwrap().to_string();
    let app_id = created["appId"].as_str().unwrap().to_string();
    assert_eq!(created["web"]["redirectUris"][0], "https://example.com/cb");
    let (st, pw) = s
        .call(
            M::POST,
            &format!("/v1.0/applications/{obj}/addPassword"),
            Some(&admin_token),
            Some(json!({"passwordCredential": {"displayName": "ci"}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let secret_text = pw["secretText"].as_str().unwrap().to_string();
    assert_eq!(pw["hint"], &secret_text[..3]);
    // Graph's addPassword without endDateTime: two years.
    let end = time::OffsetDateTime::parse(
        pw["endDateTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((end - time::OffsetDateTime::now_utc()).whole_days(), 729);
    let (_, got) = s.call(M::GET, &format!("/v1.0/applications(appId='{app_id}')"), Some(&admin_token), None).await;
    assert_eq!(got["passwordCredentials"][0]["secretText"], Value::Null, "the value is never shown again");
    assert_eq!(got["passwordCredentials"][0]["keyId"], pw["keyId"]);

    // Graph creates no service principal for a new application: the app must create one.
    let (st, sp) = s.call(M::POST, "/v1.0/servicePrincipals", Some(&admin_token), Some(json!({"appId": app_id}))).await;
    assert_eq!(st, StatusCode::CREATED, "{sp}");
    let (_, mde_sp) = s
        .call(
            M::GET,
            "/v1.0/servicePrincipals?$filter=appId eq 'fc780465-2017-40d4-a0c5-307022471b92'",
            Some(&admin_token),
            None,
        )
        .await;
    let mde_sp = &mde_sp["value"][0];
    assert_eq!(mde_sp["displayName"], "WindowsDefenderATP");
    let role =
        mde_sp["appRoles"].as_array().unwrap().iter().find(|r| r["value"] == "Machine.Isolate").unwrap()["id"].clone();
    let (st, asg) = s
        .call(
            M::POST,
            &format!("/v1.0/servicePrincipals/{}/appRoleAssignments", sp["id"].as_str().unwrap()),
            Some(&admin_token),
            Some(json!({
                "principalId": sp["id"], "resourceId": mde_sp["id"], "appRoleId": role
            })),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{asg}");
    let (st, tok) = s
        .token_v1(
            &a.id.to_string(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app_id),
                ("client_secret", &secret_text),
                ("resource", "https://api.securitycenter.microsoft.com"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let claims = s
        .verify(
            tok["access_token"].as_str().unwrap(),
            "https://api.securitycenter.microsoft.com",
            &format!("https://sts.windows.net/{}/", a.id),
        )
        .await;
    assert_eq!(claims["roles"], json!(["Machine.Isolate"]));
    let (st, _) = s
        .call(
            M::POST,
            &format!("/v1.0/servicePrincipals/{}/appRoleAssignments", sp["id"].as_str().unwrap()),
            Some(&admin_token),
            Some(json!({
                "principalId": sp["id"], "resourceId": mde_sp["id"], "appRoleId": role
            })),
        )
        .await;
    assert_eq!(st, StatusCode::CONFLICT, "duplicate assignment");

    // Palisade's portal-button actions.
    let (st, b) = s
        .call(
            M::POST,
            &format!("/v1.0/applications/{obj}/addApiPermission"),
            Some(&admin_token),
            Some(json!({"api": "WindowsDefenderATP", "permission": "Machine.Isolate"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "ambiguous: exists as role and scope");
    assert!(b["error"]["message"].as_str().unwrap().contains("--type"));
    let (st, _) = s
        .call(
            M::POST,
            &format!("/v1.0/applications/{obj}/addApiPermission"),
            Some(&admin_token),
            Some(json!({"api": "WindowsDefenderATP", "permission": "Alert.Read.All", "type": "application"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    // The M365D page's spelling "Incidents.Read.All" is tolerated.
    let (st, b) = s.call(M::POST,
        &format!("/v1.0/applications/{obj}/addApiPermission"),
        Some(&admin_token),
        Some(json!({"api": "Microsoft Threat Protection", "permission": "Incidents.Read.All", "type": "application"})),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, out) =
        s.call(M::POST, &format!("/v1.0/applications/{obj}/grantAdminConsent"), Some(&admin_token), None).await;
    assert_eq!(st, StatusCode::OK, "{out}");
    let mut granted: Vec<&str> =
        out["appRolesGranted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    granted.sort();
    assert_eq!(granted, vec!["Alert.Read.All", "Incident.Read.All"]);

    // Users: a generated password is returned once.
    let (st, u) = s.call(M::POST, "/v1.0/users", Some(&admin_token), Some(json!({"userPrincipalName": format!("bob@{}", a.default_domain), "displayName": "Bob", "palisadeDirectoryRoles": ["Security Reader"]}))).await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    assert!(u["passwordProfile"]["password"].as_str().unwrap().len() >= 16);
    let (st, b) = s
        .call(M::POST, "/v1.0/users", Some(&admin_token), Some(json!({"userPrincipalName": "bob@other.example.com"})))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "UPN domain must be verified in the tenant: {b}");

    // Tenant isolation: tenant B's admin app sees only tenant B.
    let b_tenant = s.tenant("Isolated").await;
    let b_token = graph_token(&s, &b_tenant, &["Application.ReadWrite.All"]).await;
    let (_, list) = s.call(M::GET, "/v1.0/applications", Some(&b_token), None).await;
    let names: Vec<&str> =
        list["value"].as_array().unwrap().iter().map(|a| a["displayName"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Automation"], "only B's own registration");
    let (st, _) = s.call(M::GET, &format!("/v1.0/applications/{obj}"), Some(&b_token), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "A's application is invisible from B");
    let (st, _) = s.call(M::DELETE, &format!("/v1.0/applications/{obj}"), Some(&b_token), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Operator endpoints refuse ordinary applications.
    let (st, _) = s.call(M::GET, "/palisade/v1/tenants", Some(&admin_token), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    s.stop().await;
}
