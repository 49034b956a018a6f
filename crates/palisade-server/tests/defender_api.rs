//! The Defender API the way integrations use it, over HTTPS against a running server with tokens
//! from Palisade's identity provider: a SOAR connector's flow (filter machines, isolate, poll,
//! refuse a second isolation, release, collect and download a package, triage an alert, submit an
//! indicator), paging 25,000 alerts, application vs delegated permissions, device-group scoping
//! under RBAC, and throttling.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::TestServer;
use palisade_defender::fixtures::{FleetOptions, generate, load};
use palisade_defender::rbac::RbacConfig;
use palisade_directory::*;
use reqwest::{Method as M, StatusCode};
use serde_json::{Value, json};

const MDE: &str = "https://api.securitycenter.microsoft.com/.default";

fn fast_agent(c: &mut palisade_server::Config) {
    c.agent.pickup_delay = Duration::from_millis(50);
    c.agent.run_delay = Duration::from_millis(50);
    c.throttling = palisade_defender::quota::Throttling::Off;
}

async fn seed(
    s: &TestServer,
    tenant: &Tenant,
    machines: usize,
    alerts: usize,
    seed: u64,
) -> palisade_defender::fixtures::Fleet {
    let config = s.security.rbac_config(tenant.id).await.unwrap();
    let opts = FleetOptions {
        machines,
        alerts,
        seed,
        now: time::OffsetDateTime::now_utc(),
        days: 7,
        tenant_domain: tenant.default_domain.clone(),
    };
    let fleet = generate(tenant.id, &opts, &config);
    load(s.security.as_ref(), tenant.id, &fleet).await.unwrap();
    fleet
}

async fn app_token(s: &TestServer, tenant: &Tenant, name: &str, roles: &[(&str, &str)]) -> String {
    let app = s.app(tenant, name, SignInAudience::AzureADMyOrg, &[], false).await;
    for (api, r) in roles {
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
                (
                    "scope",
                    if roles.iter().any(|(a, _)| *a == "Microsoft Threat Protection") {
                        "https://api.security.microsoft.com/.default"
                    } else {
                        MDE
                    },
                ),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["access_token"].as_str().unwrap().to_string()
}

/// A public client with delegated Defender scopes, consented, and a ROPC token for `upn`.
async fn user_token(s: &TestServer, tenant: &Tenant, upn: &str, password: &str, scopes: &[&str]) -> String {
    let app = s.app(tenant, &format!("Console {upn}"), SignInAudience::AzureADMyOrg, &[], true).await;
    for sc in scopes {
        s.permission(tenant, &app, "WindowsDefenderATP", sc, PermissionKind::Scope).await;
    }
    s.consent(tenant, &app).await;
    let (st, b) = s
        .token_v1(
            &tenant.id.to_string(),
            &[
                ("grant_type", "password"),
                ("client_id", &app.app_id.to_string()),
                ("username", upn),
                ("password", password),
                ("resource", "https://api.securitycenter.microsoft.com"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["access_token"].as_str().unwrap().to_string()
}

async fn poll_action(s: &TestServer, token: &str, id: &str, want: &str) -> Value {
    for _ in 0..200 {
        let (st, a) = s.call(M::GET, &format!("/api/machineactions/{id}"), Some(token), None).await;
        assert_eq!(st, StatusCode::OK, "{a}");
        if a["status"] == want {
            return a;
        }
        assert!(!["Failed", "TimeOut", "Cancelled"].contains(&a["status"].as_str().unwrap()), "{a}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("action {id} never reached {want}");
}

#[tokio::test]
async fn soar_connector_scenario() {
    let s = TestServer::start_with(fast_agent).await;
    let t = s.contoso.clone();
    let fleet = seed(&s, &t, 60, 300, 7).await;
    let token = app_token(
        &s,
        &t,
        "SOAR",
        &[
            ("WindowsDefenderATP", "Machine.Read.All"),
            ("WindowsDefenderATP", "Machine.Isolate"),
            ("WindowsDefenderATP", "Machine.CollectForensics"),
            ("WindowsDefenderATP", "Alert.ReadWrite.All"),
            ("WindowsDefenderATP", "Ti.ReadWrite.All"),
        ],
    )
    .await;

    // 1. Machines by filter (Pascal-cased names as in the OData samples).
    let (st, b) = s
        .call(
            M::GET,
            "/api/machines?$filter=HealthStatus eq 'Active' and startswith(osPlatform,'Windows')&$top=5",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["@odata.context"], format!("{}/api/$metadata#Machines", s.base));
    let ms = b["value"].as_array().unwrap();
    assert!(!ms.is_empty() && ms.len() <= 5);
    assert!(
        ms.iter().all(|m| m["healthStatus"] == "Active" && m["osPlatform"].as_str().unwrap().starts_with("Windows"))
    );
    let keys: Vec<&str> = ms[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(&keys[..4], ["id", "mergedIntoMachineId", "isPotentialDuplication", "isExcluded"], "wire order");
    let id = ms[0]["id"].as_str().unwrap().to_string();

    // 2. Isolate, poll to Succeeded.
    let (st, a) = s
        .call(
            M::POST,
            &format!("/api/machines/{id}/isolate"),
            Some(&token),
            Some(json!({"Comment": "SOAR playbook 42", "IsolationType": "Full"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(
        (a["type"].as_str(), a["status"].as_str(), a["scope"].as_str()),
        (Some("Isolate"), Some("Pending"), Some("Full"))
    );
    assert_eq!(a["requestSource"], "PublicApi");
    assert_eq!(a["@odata.context"], format!("{}/api/$metadata#MachineActions/$entity", s.base));
    let done = poll_action(&s, &token, a["id"].as_str().unwrap(), "Succeeded").await;
    assert_eq!(done["requestor"], "SOAR");

    // 3. A second isolation is refused.
    let (st, e) = s
        .call(
            M::POST,
            &format!("/API/Machines/{id}/Isolate"),
            Some(&token),
            Some(json!({"Comment": "again", "IsolationType": "Full"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("already isolated"), "{e}");

    // 4. Release.
    let (st, u) = s
        .call(M::POST, &format!("/api/machines/{id}/unisolate"), Some(&token), Some(json!({"Comment": "clean"})))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{u}");
    poll_action(&s, &token, u["id"].as_str().unwrap(), "Succeeded").await;
    let (st, _) = s
        .call(M::POST, &format!("/api/machines/{id}/unisolate"), Some(&token), Some(json!({"Comment": "twice"})))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "unisolate only when isolated");

    // 5. Collect a package; the link is 404 until the collection succeeded, then a real zip.
    let (st, c) = s
        .call(
            M::POST,
            &format!("/api/machines/{id}/collectInvestigationPackage"),
            Some(&token),
            Some(json!({"Comment": "forensics"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{c}");
    let cid = c["id"].as_str().unwrap().to_string();
    let (st, b) = s.call(M::GET, &format!("/api/machineactions/{cid}/GetPackageUri"), Some(&token), None).await;
    if st == StatusCode::OK {
        // Only if the agent was already done.
        assert!(b["value"].is_string());
    } else {
        assert_eq!(st, StatusCode::NOT_FOUND, "{b}");
    }
    poll_action(&s, &token, &cid, "Succeeded").await;
    let (st, b) = s.call(M::GET, &format!("/api/machineactions/{cid}/getPackageUri"), Some(&token), None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["@odata.context"], format!("{}/api/$metadata#Edm.String", s.base));
    let url = b["value"].as_str().unwrap();
    let resp = s.http.get(url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let zip = resp.bytes().await.unwrap();
    assert_eq!(&zip[..4], b"PK\x03\x04", "a zip");
    let text = String::from_utf8_lossy(&zip);
    assert!(text.contains("System Information/"), "package sections");
    // A tampered link is refused.
    let resp = s.http.get(format!("{url}x")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    // 6. Triage an alert.
    let alert_id = fleet.alerts.iter().find(|a| a.status != "Resolved").unwrap().id.clone();
    let (st, a) = s
        .call(
            M::PATCH,
            &format!("/api/alerts/{alert_id}"),
            Some(&token),
            Some(json!({"status": "Resolved", "classification": "TruePositive", "determination": "Malware", "comment": "contained by SOAR"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!((a["status"].as_str(), a["determination"].as_str()), (Some("Resolved"), Some("Malware")));
    assert!(a["resolvedTime"].is_string());
    assert_eq!(a["comments"].as_array().unwrap().last().unwrap()["comment"], "contained by SOAR");
    let (_, again) = s.call(M::GET, &format!("/api/alerts/{alert_id}?$expand=evidence"), Some(&token), None).await;
    assert_eq!(again["status"], "Resolved");
    assert!(!again["evidence"].as_array().unwrap().is_empty());
    let (st, e) =
        s.call(M::PATCH, &format!("/api/alerts/{alert_id}"), Some(&token), Some(json!({"status": "Closed"}))).await;
    assert_eq!((st, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidInput")));

    // 7. Submit an indicator for a file of that alert.
    let sha1 =
        fleet.alerts.iter().find(|a| a.id == alert_id).unwrap().evidence.iter().find_map(|e| e.sha1.clone()).unwrap();
    let (st, i) = s
        .call(
            M::POST,
            "/api/indicators",
            Some(&token),
            Some(json!({"indicatorValue": sha1, "indicatorType": "FileSha1", "action": "BlockAndRemediate", "title": "from alert", "description": "SOAR"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{i}");

    // The related-entity views agree with the alert.
    let (st, files) = s.call(M::GET, &format!("/api/alerts/{alert_id}/files"), Some(&token), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "File.Read.All is not granted: {files}");
    let (st, l) = s.call(M::GET, &format!("/api/machineactions?$filter=machineId eq '{id}'"), Some(&token), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(l["value"].as_array().unwrap().len(), 3);
    s.stop().await;
}

#[tokio::test]
async fn paging_25000_alerts_returns_each_exactly_once() {
    let s = TestServer::start_with(fast_agent).await;
    let t = s.contoso.clone();
    seed(&s, &t, 200, 25_000, 3).await;
    let token = app_token(&s, &t, "Pager", &[("WindowsDefenderATP", "Alert.Read.All")]).await;
    let mut seen = HashSet::new();
    let mut url = format!("{}/api/alerts?$top=4000", s.base);
    let mut pages = 0;
    loop {
        let resp = s.http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let b: Value = resp.json().await.unwrap();
        for a in b["value"].as_array().unwrap() {
            assert!(seen.insert(a["id"].as_str().unwrap().to_string()), "duplicate {}", a["id"]);
            assert_eq!(a["evidence"], json!([]), "evidence only with $expand");
        }
        pages += 1;
        match b["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (25_000, 7));
    // $count agrees, with and without a filter.
    let (_, n) = s.call(M::GET, "/api/alerts/$count", Some(&token), None).await;
    assert_eq!(n, json!(25_000));
    let (_, b) = s.call(M::GET, "/api/alerts?$filter=severity eq 'High'&$count=true&$top=1", Some(&token), None).await;
    let high = b["@odata.count"].as_u64().unwrap();
    assert!(high > 0 && high < 25_000);
    let (_, n) = s.call(M::GET, "/api/alerts/$count?$filter=severity eq 'High'", Some(&token), None).await;
    assert_eq!(n, json!(high));
    // Unsupported OData is a 400 ODataError that says what was not understood.
    let (st, e) = s.call(M::GET, "/api/alerts?$filter=description eq 'x'", Some(&token), None).await;
    assert_eq!((st, e["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("ODataError")));
    assert!(e["error"]["message"].as_str().unwrap().contains("description"), "{e}");
    s.stop().await;
}

#[tokio::test]
async fn application_and_delegated_permissions() {
    let s = TestServer::start_with(fast_agent).await;
    let t = s.contoso.clone();
    let fleet = seed(&s, &t, 20, 50, 11).await;
    let machine = fleet.machines[0].machine.id.clone();

    // An app with Alert.Read.All lists alerts in the OData envelope, and gets the real 403 on isolate.
    let reader_app = app_token(&s, &t, "Alerts reader", &[("WindowsDefenderATP", "Alert.Read.All")]).await;
    let (st, b) = s.call(M::GET, "/api/alerts?$top=10", Some(&reader_app), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(b["@odata.context"], format!("{}/api/$metadata#Alerts", s.base));
    assert_eq!(b["value"].as_array().unwrap().len(), 10);
    let (st, e) = s
        .call(M::POST, &format!("/api/machines/{machine}/isolate"), Some(&reader_app), Some(json!({"Comment": "x"})))
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(e["error"]["message"].as_str().unwrap().starts_with(
        "The application does not have any of the required application permissions (Machine.Isolate) to access the resource."
    ));

    // A delegated Security Reader reads, but cannot isolate even with the scope.
    s.user(&t, "reader", vec![DirectoryRole::SecurityReader], "Reader-Pass-1").await;
    let upn = format!("reader@{}", t.default_domain);
    let tok = user_token(&s, &t, &upn, "Reader-Pass-1", &["Alert.Read", "Machine.Read", "Machine.Isolate"]).await;
    let (st, b) = s.call(M::GET, "/api/alerts?$top=5", Some(&tok), None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, b) = s.call(M::GET, &format!("/api/machines/{machine}"), Some(&tok), None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let (st, e) =
        s.call(M::POST, &format!("/api/machines/{machine}/isolate"), Some(&tok), Some(json!({"Comment": "x"}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("'Active remediation actions'"), "{e}");
    // The M365D incidents need the Microsoft Threat Protection permission.
    let (st, _) = s.call(M::GET, "/api/incidents", Some(&reader_app), None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let inc = app_token(&s, &t, "Incidents", &[("Microsoft Threat Protection", "Incident.ReadWrite.All")]).await;
    let (st, b) = s.call(M::GET, "/api/incidents?$top=3", Some(&inc), None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let first = &b["value"][0];
    assert!(first["incidentId"].is_i64() && !first["alerts"].as_array().unwrap().is_empty(), "{first}");
    let iid = first["incidentId"].as_i64().unwrap();
    let (st, p) = s
        .call(
            M::PATCH,
            &format!("/api/incidents/{iid}"),
            Some(&inc),
            Some(json!({"status": "Resolved", "tags": ["soar"], "comment": "done"})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{p}");
    assert_eq!((p["status"].as_str(), p["tags"].clone()), (Some("Resolved"), json!(["soar"])));
    s.stop().await;
}

#[tokio::test]
async fn device_groups_scope_what_a_delegated_user_sees() {
    let s = TestServer::start_with(fast_agent).await;
    let t = s.contoso.clone();
    let fleet = seed(&s, &t, 30, 150, 5).await;
    let dir = &s.identity.stores.directory;
    let analyst = s.user(&t, "analyst", vec![], "Analyst-Pass-1").await;
    let mk = |name: &str, members: Vec<uuid::Uuid>| Group {
        id: uuid::Uuid::new_v4(),
        tenant_id: t.id,
        display_name: name.into(),
        description: None,
        security_enabled: true,
        members,
        created_date_time: time::OffsetDateTime::now_utc(),
    };
    let tier1 = mk("Tier1", vec![analyst.id]);
    let others = mk("Others", vec![]);
    dir.put_group(t.id, &tier1).await.unwrap();
    dir.put_group(t.id, &others).await.unwrap();
    // The first five machines get a tag that puts them in "London", visible to Tier1 only.
    let mut london = Vec::new();
    for rec in fleet.machines.iter().take(5) {
        let mut r = rec.clone();
        r.machine.machine_tags.push("Pilot-7".into());
        london.push(r);
    }
    s.security.upsert_machines(t.id, &london).await.unwrap();
    let config: RbacConfig = serde_json::from_value(json!({
        "enabled": true,
        "roles": [{"id": 1, "name": "Analyst", "description": null, "permissions": ["ViewData", "ActiveRemediationActions"], "assignedGroups": [tier1.id]}],
        "deviceGroups": [{"id": 7, "name": "London", "description": null, "remediationLevel": "FullRemediation", "rank": 1,
                          "rules": {"namePrefixes": [], "domains": [], "tags": ["Pilot-7"], "osPlatforms": []}, "userGroups": [tier1.id]}],
        "ungroupedUserGroups": [others.id]
    }))
    .unwrap();
    s.security.put_rbac_config(t.id, &config).await.unwrap();
    assert_eq!(s.security.regroup_machines(t.id, &config).await.unwrap(), 5);

    let tok = user_token(
        &s,
        &t,
        &analyst.user_principal_name,
        "Analyst-Pass-1",
        &["Alert.Read", "Machine.Read", "Machine.Isolate"],
    )
    .await;
    let (st, b) = s.call(M::GET, "/api/machines", Some(&tok), None).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let ids: HashSet<&str> = b["value"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    let london_ids: HashSet<&str> = london.iter().map(|r| r.machine.id.as_str()).collect();
    assert_eq!(ids, london_ids, "only London's machines");
    assert!(b["value"].as_array().unwrap().iter().all(|m| m["rbacGroupId"] == 7 && m["rbacGroupName"] == "London"));
    let (_, b) = s.call(M::GET, "/api/alerts", Some(&tok), None).await;
    let alerts = b["value"].as_array().unwrap();
    assert!(alerts.iter().all(|a| london_ids.contains(a["machineId"].as_str().unwrap())));
    let expected = fleet.alerts.iter().filter(|a| london_ids.contains(a.machine_id.as_str())).count();
    assert_eq!(alerts.len(), expected);
    // Another group's device: invisible to reads, refused to actions.
    let other = &fleet.machines[10].machine.id;
    let (st, _) = s.call(M::GET, &format!("/api/machines/{other}"), Some(&tok), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, e) =
        s.call(M::POST, &format!("/api/machines/{other}/isolate"), Some(&tok), Some(json!({"Comment": "x"}))).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
    let mine = london[0].machine.id.clone();
    let (st, a) =
        s.call(M::POST, &format!("/api/machines/{mine}/isolate"), Some(&tok), Some(json!({"Comment": "ok"}))).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["requestor"], analyst.user_principal_name.as_str());
    // An application is not scoped by device groups.
    let app = app_token(&s, &t, "Fleet", &[("WindowsDefenderATP", "Machine.Read.All")]).await;
    let (_, b) = s.call(M::GET, "/api/machines/$count", Some(&app), None).await;
    assert_eq!(b, json!(30));
    s.stop().await;
}

#[tokio::test]
async fn throttling_and_faults_are_observable() {
    let s = TestServer::start_with(|c| {
        c.throttling = palisade_defender::quota::Throttling::Custom { per_minute: 3, per_hour: 100 };
    })
    .await;
    let t = s.contoso.clone();
    seed(&s, &t, 5, 5, 1).await;
    let token = app_token(&s, &t, "Busy", &[("WindowsDefenderATP", "Machine.Read.All")]).await;
    for _ in 0..3 {
        let (st, _) = s.call(M::GET, "/api/machines", Some(&token), None).await;
        assert_eq!(st, StatusCode::OK);
    }
    let resp = s.http.get(format!("{}/api/machines", s.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["error"]["message"], "API calls quota exceeded! maximum allowed 3 per 00:01:00");
    // Another API has its own budget.
    let (st, _) = s.call(M::GET, "/api/machineactions", Some(&token), None).await;
    assert_eq!(st, StatusCode::OK);
    // A forced-429 fault plan applies to any API at once.
    let plan: palisade_defender::faults::FaultPlan = serde_json::from_value(json!({"throttle": true})).unwrap();
    s.faults.set_faults(t.id, None, Some(&plan)).await.unwrap();
    let (st, _) = s.call(M::GET, "/api/alerts", Some(&token), None).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    s.stop().await;
}
