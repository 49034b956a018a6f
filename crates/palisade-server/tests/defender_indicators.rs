//! The first Defender API collection end to end: tokens from Palisade's identity provider,
//! Defender's 401/403 bodies, Ti.ReadWrite (own indicators) vs Ti.ReadWrite.All, validation codes,
//! upsert, OData in the store, paging, BatchDelete, tenant isolation.

mod common;

use common::TestServer;
use palisade_directory::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const MDE: &str = "https://api.securitycenter.microsoft.com/.default";

async fn app_token(s: &TestServer, tenant: &Tenant, name: &str, roles: &[&str], scope: &str) -> (Application, String) {
    let app = s.app(tenant, name, SignInAudience::AzureADMyOrg, &[], false).await;
    for r in roles {
        let api = if r.starts_with("Application.") { "Microsoft Graph" } else { "WindowsDefenderATP" };
        s.permission(tenant, &app, api, r, PermissionKind::Role).await;
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
                ("scope", scope),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    (app, b["access_token"].as_str().unwrap().to_string())
}

fn sha1_indicator(value: &str, title: &str) -> Value {
    json!({"indicatorValue": value, "indicatorType": "FileSha1", "title": title, "application": "demo-test",
           "action": "AlertAndBlock", "severity": "Informational", "description": "test",
           "recommendedActions": "nothing", "rbacGroupNames": ["group1", "group2"]})
}

#[tokio::test]
async fn indicators_end_to_end() {
    use reqwest::Method as M;
    let s = TestServer::start().await;
    let t = s.contoso.clone();
    let (own_app, own) = app_token(&s, &t, "Own", &["Ti.ReadWrite"], MDE).await;
    let (_, all) = app_token(&s, &t, "All", &["Ti.ReadWrite.All"], MDE).await;
    let (_, alerts_only) = app_token(&s, &t, "Alerts", &["Alert.Read.All"], MDE).await;
    let (_, graph) =
        app_token(&s, &t, "Graph", &["Application.Read.All"], "https://graph.microsoft.com/.default").await;

    // Authentication and authorization failures in Defender's format.
    let (st, b) = s.call(M::GET, "/api/indicators", None, None).await;
    assert_eq!((st, b["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("Unauthorized")));
    assert!(b["error"]["target"].is_string());
    let (st, b) = s.call(M::GET, "/api/indicators", Some(&common::tamper_signature(&own)), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{b}");
    let (st, b) = s.call(M::GET, "/api/indicators", Some(&graph), None).await;
    assert_eq!((st, b["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("Forbidden")), "foreign audience: {b}");
    let (st, b) = s.call(M::GET, "/api/indicators", Some(&alerts_only), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(b["error"]["message"].as_str().unwrap().starts_with("The application does not have any of the required application permissions (Ti.ReadWrite, Ti.ReadWrite.All, Ti.Read.All) to access the resource."), "{b}");

    // Submit (the doc example), then the same type+value again: updated, same id.
    let sha = "220e7d15b011d7fac48f2bd61114db1022197f7f";
    let (st, first) = s.call(M::POST, "/api/indicators", Some(&own), Some(sha1_indicator(sha, "first"))).await;
    assert_eq!(st, StatusCode::OK, "{first}");
    assert_eq!(first["id"], "1");
    assert_eq!(first["createdBy"], own_app.app_id.to_string());
    assert_eq!(first["createdBySource"], "Own");
    assert_eq!(first["@odata.context"], format!("{}/api/$metadata#Indicators/$entity", s.base));
    let (_, again) =
        s.call(M::POST, "/api/indicators", Some(&own), Some(sha1_indicator(&sha.to_uppercase(), "second"))).await;
    assert_eq!((again["id"].as_str(), again["title"].as_str()), (Some("1"), Some("second")), "upsert on type+value");
    assert_eq!(again["creationTimeDateTimeUtc"], first["creationTimeDateTimeUtc"]);

    // Paths under /api match case-insensitively, as the service's do.
    let (st, b) = s.call(M::GET, "/API/V1.0/Indicators?$filter=indicatorType eq 'FileSha1'", Some(&own), None).await;
    assert_eq!((st, b["value"].as_array().map(|a| a.len())), (StatusCode::OK, Some(1)), "{b}");

    // Validation, with the service's codes.
    let (st, b) = s.call(M::POST, "/api/indicators", Some(&own), Some(json!({"indicatorValue": "nothex", "indicatorType": "FileSha1", "action": "Block", "title": "t", "description": "d"}))).await;
    assert_eq!((st, b["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidHashValue")));
    let (_, b) = s.call(M::POST,
        "/api/indicators",
        Some(&own),
        Some(json!({"indicatorValue": "1.2.3.4", "indicatorType": "IpAddress", "action": "Block", "description": "d"})),
    )
    .await;
    assert_eq!(b["error"]["code"], "MissingRequiredParameter");
    let r = s.http.post(format!("{}/api/indicators", s.base)).bearer_auth(&own).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "InvalidRequestBody");

    // A second app with Ti.ReadWrite.All.
    let (st, ip) = s.call(M::POST, "/api/v1.0/indicators", Some(&all), Some(json!({"indicatorValue": "203.0.113.7", "indicatorType": "IpAddress", "action": "Block", "title": "c2", "description": "beacon", "severity": "High"}))).await;
    assert_eq!((st, ip["id"].as_str()), (StatusCode::OK, Some("2")), "{ip}");

    // Visibility: Ti.ReadWrite sees its own, Ti.ReadWrite.All sees everything.
    let (_, mine) = s.call(M::GET, "/api/indicators", Some(&own), None).await;
    assert_eq!(mine["value"].as_array().unwrap().len(), 1);
    assert_eq!(mine["@odata.context"], format!("{}/api/$metadata#Indicators", s.base));
    let (_, every) = s.call(M::GET, "/api/indicators", Some(&all), None).await;
    assert_eq!(every["value"].as_array().unwrap().len(), 2);

    // OData runs in the store: filter, order, paging, errors.
    let (_, f) = s
        .call(M::GET, "/api/indicators?$filter=indicatorType+eq+'IpAddress'+and+severity+eq+'High'", Some(&all), None)
        .await;
    assert_eq!(f["value"].as_array().unwrap().len(), 1);
    assert_eq!(f["value"][0]["indicatorValue"], "203.0.113.7");
    let (_, f) = s.call(M::GET, "/api/indicators?$filter=rbacGroupNames/any(g: g eq 'group2')", Some(&all), None).await;
    assert_eq!(f["value"][0]["id"], "1");
    let (_, p) = s.call(M::GET, "/api/indicators?$top=1&$orderby=id desc", Some(&all), None).await;
    assert_eq!(p["value"].as_array().unwrap().len(), 1);
    assert_eq!(p["value"][0]["id"], "2");
    let next = p["@odata.nextLink"].as_str().expect("nextLink when the page is full");
    assert!(next.contains("$skip=1"), "{next}");
    let (st, b) = s.call(M::GET, "/api/indicators?$filter=colour eq 'red'", Some(&all), None).await;
    assert_eq!((st, b["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("ODataError")));
    assert!(b["error"]["message"].as_str().unwrap().starts_with("Invalid OData URI query"));

    // Import: each item on its own, failures reported per item.
    let (st, imp) = s
        .call(M::POST, "/api/indicators/Import", Some(&all), Some(json!({"Indicators": [
            {"indicatorValue": "evil.example.com", "indicatorType": "DomainName", "action": "Block", "title": "t", "description": "d"},
            {"indicatorValue": "not a domain", "indicatorType": "DomainName", "action": "Block", "title": "t", "description": "d"},
        ]})))
        .await;
    assert_eq!(st, StatusCode::OK, "{imp}");
    assert_eq!(imp["value"][0]["isFailed"], false);
    assert_eq!(imp["value"][0]["id"], "3");
    assert_eq!(imp["value"][1]["isFailed"], true);
    assert_eq!(imp["value"][1]["failureReason"], "Domain name not a domain is invalid.");
    let (_, b) = s.call(M::POST, "/api/indicators/import", Some(&all), Some(json!({"Indicators": []}))).await;
    assert_eq!(b["error"]["code"], "InvalidInput");
    assert_eq!(s.call(M::DELETE, "/api/indicators/3", Some(&all), None).await.0, StatusCode::NO_CONTENT);

    // Tenant isolation: another tenant's application sees none of these and cannot delete them.
    let other = s.tenant("Tailspin").await;
    let (_, other_all) = app_token(&s, &other, "Other", &["Ti.ReadWrite.All"], MDE).await;
    let (_, none) = s.call(M::GET, "/api/indicators", Some(&other_all), None).await;
    assert_eq!(none["value"], json!([]));
    assert_eq!(s.call(M::DELETE, "/api/indicators/1", Some(&other_all), None).await.0, StatusCode::NOT_FOUND);

    // Deleting: an own-only app cannot delete another app's indicator; BatchDelete is all or nothing.
    assert_eq!(s.call(M::DELETE, "/api/indicators/2", Some(&own), None).await.0, StatusCode::NOT_FOUND);
    let (st, b) = s.call(M::POST, "/api/indicators/batchDelete", Some(&all), Some(json!({"IndicatorIds": []}))).await;
    assert_eq!((st, b["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidInput")));
    let many: Vec<String> = (0..501).map(|i| i.to_string()).collect();
    let (_, b) = s.call(M::POST, "/api/indicators/BatchDelete", Some(&all), Some(json!({"IndicatorIds": many}))).await;
    assert_eq!(b["error"]["code"], "MaximumBatchSizeExceeded");
    let (st, _) =
        s.call(M::POST, "/api/indicators/BatchDelete", Some(&all), Some(json!({"IndicatorIds": ["1", "999"]}))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(
        s.call(M::GET, "/api/indicators", Some(&all), None).await.1["value"].as_array().unwrap().len(),
        2,
        "nothing deleted"
    );
    let r = s
        .http
        .post(format!("{}/api/indicators/BatchDelete", s.base))
        .bearer_auth(&all)
        .json(&json!({"IndicatorIds": ["1", "2"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.call(M::GET, "/api/indicators", Some(&all), None).await.1["value"], json!([]));

    // Every call is in the audit trail: who, what, outcome — refused ones too.
    let trail = s.audit.audit(Some(t.id), None, 1000).await.unwrap();
    let last = &trail[0];
    assert_eq!((last.method.as_str(), last.path.as_str(), last.status), ("GET", "/api/indicators", 200));
    assert!(last.app_id.is_some() && last.user_id.is_none() && last.latency_ms > 0.0);
    assert!(trail.iter().any(|r| r.status == 403 && r.path == "/api/indicators"), "forbidden calls are recorded");
    assert!(
        trail.iter().any(|r| r.path == "/api/v1.0/indicators" && r.method == "POST"),
        "canonical paths are recorded"
    );
    let anonymous = s.audit.audit(None, None, 10_000).await.unwrap();
    assert!(anonymous.iter().any(|r| r.status == 401 && r.tenant_id.is_none()));
    assert!(s.audit.audit(Some(other.id), None, 1000).await.unwrap().iter().all(|r| r.tenant_id == Some(other.id)));
    s.stop().await;
}

/// The documented quota (100 calls a minute per tenant and API) answers 429 with Retry-After and
/// the service's body; `throttling = "off"` lifts it.
#[tokio::test]
async fn throttling_real_and_off() {
    use reqwest::Method as M;
    let s = TestServer::start().await;
    let t = s.contoso.clone();
    let (_, tok) = app_token(&s, &t, "Busy", &["Ti.ReadWrite.All"], MDE).await;
    let mut ok = 0;
    let mut throttled = None;
    // A minute boundary may fall inside the loop, so allow up to two windows' worth.
    for _ in 0..201 {
        let r = s.http.get(format!("{}/api/indicators", s.base)).bearer_auth(&tok).send().await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(r);
            break;
        }
        assert_eq!(r.status(), StatusCode::OK);
        ok += 1;
    }
    let r = throttled.expect("429 within two windows");
    assert!(ok >= 100, "at least the documented 100 calls pass: {ok}");
    let retry: u32 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["error"]["message"], "API calls quota exceeded! maximum allowed 100 per 00:01:00");
    // Another API has its own budget.
    let (st, _) = s
        .call(
            M::POST,
            "/api/indicators",
            Some(&tok),
            Some(sha1_indicator("220e7d15b011d7fac48f2bd61114db1022197f7f", "t")),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;

    let s = TestServer::start_with(|c| c.throttling = palisade_defender::quota::Throttling::Off).await;
    let t = s.contoso.clone();
    let (_, tok) = app_token(&s, &t, "Busy", &["Ti.ReadWrite.All"], MDE).await;
    for _ in 0..130 {
        assert_eq!(s.call(M::GET, "/api/indicators", Some(&tok), None).await.0, StatusCode::OK);
    }
    s.stop().await;
}

/// Fault injection: tenant-wide and per-application plans, each kind of fault, and clearing.
#[tokio::test]
async fn fault_injection_per_tenant_and_app() {
    use palisade_defender::faults::FaultPlan;
    use reqwest::Method as M;
    let s = TestServer::start().await;
    let t = s.contoso.clone();
    let (x_app, x) = app_token(&s, &t, "X", &["Ti.ReadWrite.All"], MDE).await;
    let (_, y) = app_token(&s, &t, "Y", &["Ti.ReadWrite.All"], MDE).await;
    let get = |tok: String| {
        let s = &s;
        async move { s.call(M::GET, "/api/indicators", Some(&tok), None).await }
    };
    s.faults.set_faults(t.id, None, Some(&FaultPlan { error_rate: 1.0, ..Default::default() })).await.unwrap();
    let xid = x_app.app_id.to_string();
    s.faults.set_faults(t.id, Some(&xid), Some(&FaultPlan { throttle: true, ..Default::default() })).await.unwrap();
    let (st, b) = get(y.clone()).await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("InternalServerError")),
        "tenant-wide plan"
    );
    let r = s.http.get(format!("{}/api/indicators", s.base)).bearer_auth(&x).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS, "the app's own plan wins");
    assert_eq!(r.headers()["retry-after"], "10");
    s.faults
        .set_faults(t.id, Some(&xid), Some(&FaultPlan { expire_tokens: true, ..Default::default() }))
        .await
        .unwrap();
    assert_eq!(get(x.clone()).await.0, StatusCode::UNAUTHORIZED);
    s.faults.set_faults(t.id, None, None).await.unwrap();
    assert_eq!(get(y.clone()).await.0, StatusCode::OK, "tenant plan cleared");
    s.faults.set_faults(t.id, Some(&xid), Some(&FaultPlan { latency_ms: 300, ..Default::default() })).await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(get(x.clone()).await.0, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    s.faults.set_faults(t.id, Some(&xid), None).await.unwrap();
    // Another tenant is never affected.
    let other = s.tenant("Unaffected").await;
    s.faults.set_faults(t.id, None, Some(&FaultPlan { error_rate: 1.0, ..Default::default() })).await.unwrap();
    let (_, z) = app_token(&s, &other, "Z", &["Ti.ReadWrite.All"], MDE).await;
    assert_eq!(get(z).await.0, StatusCode::OK);
    s.stop().await;
}

/// Delegated callers need the scope and the user's portal permission (pre-RBAC model: Security
/// Reader reads, Global/Security Administrator also changes settings, no security role no access).
#[tokio::test]
async fn delegated_callers_need_portal_permissions() {
    use reqwest::Method as M;
    let s = TestServer::start().await;
    let t = s.contoso.clone();
    let native = s.app(&t, "Analyst tool", SignInAudience::AzureADMyOrg, &[], true).await;
    s.permission(&t, &native, "WindowsDefenderATP", "Ti.ReadWrite", PermissionKind::Scope).await;
    s.consent(&t, &native).await;
    let user_token = |local: &'static str, roles: Vec<DirectoryRole>| {
        let (s, t, cid) = (&s, t.clone(), native.app_id.to_string());
        async move {
            let u = s.user(&t, local, roles, "User-Pass-123").await;
            let (st, b) = s
                .token_v1(
                    &t.id.to_string(),
                    &[
                        ("grant_type", "password"),
                        ("client_id", &cid),
                        ("username", &u.user_principal_name),
                        ("password", "User-Pass-123"),
                        ("resource", "https://api.securitycenter.microsoft.com"),
                    ],
                )
                .await;
            assert_eq!(st, StatusCode::OK, "{b}");
            b["access_token"].as_str().unwrap().to_string()
        }
    };
    let reader = user_token("reader", vec![DirectoryRole::SecurityReader]).await;
    let admin = user_token("secadmin", vec![DirectoryRole::SecurityAdministrator]).await;
    let nobody = user_token("nobody", vec![]).await;
    let body = json!({"indicatorValue": "198.51.100.9", "indicatorType": "IpAddress", "action": "Block", "title": "t", "description": "d"});

    assert_eq!(s.call(M::GET, "/api/indicators", Some(&reader), None).await.0, StatusCode::OK);
    let (st, b) = s.call(M::POST, "/api/indicators", Some(&reader), Some(body.clone())).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(b["error"]["message"].as_str().unwrap().contains("'Manage security settings'"), "{b}");
    let (st, created) = s.call(M::POST, "/api/indicators", Some(&admin), Some(body)).await;
    assert_eq!(st, StatusCode::OK, "{created}");
    assert_eq!(created["sourceType"], "User");
    let (st, b) = s.call(M::GET, "/api/indicators", Some(&nobody), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(b["error"]["message"].as_str().unwrap().contains("'View data'"));
    // A delegated token without the scope fails on the scope first.
    let (_, graph_only) = s
        .token_v2(
            &t.id.to_string(),
            &[
                ("grant_type", "password"),
                ("client_id", &native.app_id.to_string()),
                ("username", &format!("secadmin@{}", t.default_domain)),
                ("password", "User-Pass-123"),
                ("scope", "openid profile"),
            ],
        )
        .await;
    let (st, _) = s.call(M::GET, "/api/indicators", graph_only["access_token"].as_str(), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "a Graph token is refused on audience");
    s.stop().await;
}
