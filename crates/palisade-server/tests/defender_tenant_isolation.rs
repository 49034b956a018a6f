//! Tenant isolation over every Defender API route: an application of tenant B holding every
//! permission, pointed at tenant A's machine, alert, action, incident, file, IP, domain and user,
//! neither reads nor changes any of it — and tenant A's data is unchanged afterwards.

mod common;

use std::time::Duration;

use common::TestServer;
use palisade_defender::fixtures::{FleetOptions, generate, load};
use palisade_directory::*;
use reqwest::{Method as M, StatusCode};
use serde_json::json;

async fn all_permissions_token(s: &TestServer, tenant: &Tenant) -> (String, String) {
    let app = s.app(tenant, "Everything", SignInAudience::AzureADMyOrg, &[], false).await;
    let mde = palisade_directory::catalog::windows_defender_atp();
    let mtp = palisade_directory::catalog::microsoft_threat_protection();
    for (api, res) in [("WindowsDefenderATP", &mde), ("Microsoft Threat Protection", &mtp)] {
        for r in res.app_roles.iter().filter(|r| r.allowed_member_types.iter().any(|m| m == "Application")) {
            s.permission(tenant, &app, api, &r.value, PermissionKind::Role).await;
        }
    }
    s.consent(tenant, &app).await;
    let secret = s.secret(tenant, &app).await;
    let mut out = Vec::new();
    for scope in ["https://api.securitycenter.microsoft.com/.default", "https://api.security.microsoft.com/.default"] {
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
        out.push(b["access_token"].as_str().unwrap().to_string());
    }
    (out[0].clone(), out[1].clone())
}

#[tokio::test]
async fn tenant_b_can_neither_read_nor_change_tenant_a() {
    let s = TestServer::start_with(|c| {
        c.agent.pickup_delay = Duration::from_millis(20);
        c.agent.run_delay = Duration::from_millis(20);
        c.throttling = palisade_defender::quota::Throttling::Off;
    })
    .await;
    let a = s.contoso.clone();
    let b = s.tenant("Fabrikam").await;
    let now = time::OffsetDateTime::now_utc();
    let opts = |seed, domain: &str| FleetOptions {
        machines: 10,
        alerts: 40,
        seed,
        now,
        days: 3,
        tenant_domain: domain.into(),
    };
    let cfg = palisade_defender::rbac::RbacConfig::default();
    let fa = generate(a.id, &opts(1, &a.default_domain), &cfg);
    load(s.security.as_ref(), a.id, &fa).await.unwrap();
    let fb = generate(b.id, &opts(2, &b.default_domain), &cfg);
    load(s.security.as_ref(), b.id, &fb).await.unwrap();

    // Tenant A's identifiers, and an action of A.
    let (a_mde, _) = all_permissions_token(&s, &a).await;
    let machine = fa.machines[0].machine.clone();
    let (st, act) = s
        .call(
            M::POST,
            &format!("/api/machines/{}/runAntiVirusScan", machine.id),
            Some(&a_mde),
            Some(json!({"Comment": "A", "ScanType": "Quick"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{act}");
    let action = act["id"].as_str().unwrap().to_string();
    let alert =
        fa.alerts.iter().find(|x| x.evidence.iter().any(|e| e.ip_address.is_some())).unwrap_or(&fa.alerts[0]).clone();
    let sha1 = alert.evidence.iter().find_map(|e| e.sha1.clone()).unwrap();
    let ip = fa
        .alerts
        .iter()
        .flat_map(|x| &x.evidence)
        .find_map(|e| e.ip_address.clone())
        .unwrap_or_else(|| "10.0.0.1".into());
    let domain = fa
        .alerts
        .iter()
        .flat_map(|x| &x.evidence)
        .find_map(|e| e.url.as_deref().and_then(palisade_defender::views::url_host))
        .unwrap_or_else(|| "contoso.com".into());
    let user = fa.logons.iter().find(|l| l.machine_id == machine.id).unwrap().account_name.clone();
    let incident = fa.incidents[0].incident_id;
    let dns = machine.computer_dns_name.clone();
    // What must never appear in B's answers. (The file hash, IP and domain are the caller's own
    // input and may legitimately exist in B too.)
    let a_secrets = [machine.id.clone(), dns.clone(), alert.id.clone(), action.clone()];
    // B may hold the same file on its own (common binaries are sighted in every fleet): then its
    // own prevalence is legitimately non-zero.
    let b_has_file = fb.alerts.iter().flat_map(|x| &x.evidence).any(|e| e.sha1.as_deref() == Some(sha1.as_str()))
        || fb.observations.iter().any(|o| o.key.value().eq_ignore_ascii_case(&sha1));

    let (b_mde, b_mtp) = all_permissions_token(&s, &b).await;
    let m = &machine.id;
    let body = json!({"Comment": "from B", "IsolationType": "Full", "ScanType": "Quick", "Sha1": sha1,
                      "Commands": [{"type": "RunScript", "params": [{"key": "ScriptName", "value": "x.ps1"}]}],
                      "Value": "pwned", "Action": "Add", "MachineIds": [m], "DeviceValue": "High", "machineTags": ["pwned"],
                      "status": "Resolved", "alertIds": [alert.id], "tags": ["pwned"]});
    // Every route, with A's identifiers. Reads must be 404 or answer without A's data; writes 404.
    let routes: Vec<(M, String)> = vec![
        (M::GET, "/api/alerts".into()),
        (M::GET, "/api/alerts/$count".into()),
        (M::GET, format!("/api/alerts/{}", alert.id)),
        (M::PATCH, format!("/api/alerts/{}", alert.id)),
        (M::POST, "/api/alerts/batchUpdate".into()),
        (M::GET, format!("/api/alerts/{}/files", alert.id)),
        (M::GET, format!("/api/alerts/{}/ips", alert.id)),
        (M::GET, format!("/api/alerts/{}/domains", alert.id)),
        (M::GET, format!("/api/alerts/{}/machine", alert.id)),
        (M::GET, format!("/api/alerts/{}/user", alert.id)),
        (M::GET, "/api/machines".into()),
        (M::GET, "/api/machines/$count".into()),
        (M::GET, format!("/api/machines/{m}")),
        (M::GET, format!("/api/machines/{dns}")),
        (M::PATCH, format!("/api/machines/{m}")),
        (
            M::GET,
            format!(
                "/api/machines/findbyip(ip='{}',timestamp={})",
                machine.last_ip_address.clone().unwrap_or_default(),
                palisade_defender::wire_time::format(machine.last_seen)
            ),
        ),
        (
            M::GET,
            format!(
                "/api/machines/findbytag?tag={}",
                machine.machine_tags.first().cloned().unwrap_or_else(|| "VIP".into())
            ),
        ),
        (M::POST, "/api/machines/AddOrRemoveTagForMultipleMachines".into()),
        (M::GET, format!("/api/machines/{m}/logonusers")),
        (M::GET, format!("/api/machines/{m}/alerts")),
        (M::GET, format!("/api/machines/{m}/alerts/$count")),
        (M::POST, format!("/api/machines/{m}/tags")),
        (M::POST, format!("/api/machines/{m}/setDeviceValue")),
        (M::POST, format!("/api/machines/{m}/isolate")),
        (M::POST, format!("/api/machines/{m}/unisolate")),
        (M::POST, format!("/api/machines/{m}/restrictCodeExecution")),
        (M::POST, format!("/api/machines/{m}/unrestrictCodeExecution")),
        (M::POST, format!("/api/machines/{m}/runAntiVirusScan")),
        (M::POST, format!("/api/machines/{m}/collectInvestigationPackage")),
        (M::POST, format!("/api/machines/{m}/offboard")),
        (M::POST, format!("/api/machines/{m}/StopAndQuarantineFile")),
        (M::POST, format!("/api/machines/{m}/runliveresponse")),
        (M::GET, "/api/machineactions".into()),
        (M::GET, "/api/machineactions/$count".into()),
        (M::GET, format!("/api/machineactions/{action}")),
        (M::POST, format!("/api/machineactions/{action}/cancel")),
        (M::GET, format!("/api/machineactions/{action}/getPackageUri")),
        (M::GET, format!("/api/machineactions/{action}/GetLiveResponseResultDownloadLink(index=0)")),
        (M::GET, format!("/api/files/{sha1}")),
        (M::GET, format!("/api/files/{sha1}/stats")),
        (M::GET, format!("/api/files/{sha1}/alerts")),
        (M::GET, format!("/api/files/{sha1}/machines")),
        (M::GET, format!("/api/ips/{ip}/stats")),
        (M::GET, format!("/api/ips/{ip}/alerts")),
        (M::GET, format!("/api/domains/{domain}/stats")),
        (M::GET, format!("/api/domains/{domain}/alerts")),
        (M::GET, format!("/api/domains/{domain}/machines")),
        (M::GET, format!("/api/users/{user}/alerts")),
        (M::GET, format!("/api/users/{user}/machines")),
        (M::GET, "/api/indicators".into()),
        (M::GET, "/api/incidents".into()),
        (M::GET, format!("/api/incidents/{incident}")),
        (M::PATCH, format!("/api/incidents/{incident}")),
    ];
    for (method, path) in &routes {
        for prefix in ["", "/v1.0"] {
            let path = path.replacen("/api", &format!("/api{prefix}"), 1);
            let token = if path.contains("/incidents") { &b_mtp } else { &b_mde };
            let send = matches!(*method, M::POST | M::PATCH).then(|| body.clone());
            let (st, resp) = s.call(method.clone(), &path, Some(token), send).await;
            let text = resp.to_string();
            assert!(
                st != StatusCode::FORBIDDEN && st != StatusCode::UNAUTHORIZED,
                "{method} {path}: B is allowed to call it: {st} {text}"
            );
            assert!(!st.is_server_error(), "{method} {path}: {st} {text}");
            if matches!(*method, M::POST | M::PATCH) {
                assert_eq!(st, StatusCode::NOT_FOUND, "{method} {path} must not find A's object: {text}");
            } else if st == StatusCode::OK {
                if path.contains("/files/") && path.ends_with("/stats") && !b_has_file {
                    assert_eq!(resp["organizationPrevalence"], 0, "{path}: {text}");
                }
                for secret in &a_secrets {
                    assert!(!text.contains(secret.as_str()), "{method} {path} leaked {secret}: {text}");
                }
            } else {
                assert!(st == StatusCode::NOT_FOUND || st == StatusCode::BAD_REQUEST, "{method} {path}: {st} {text}");
            }
        }
    }
    // Tenant A's data is untouched.
    let (_, after) = s.call(M::GET, &format!("/api/machines/{m}"), Some(&a_mde), None).await;
    assert_eq!(after["machineTags"], json!(machine.machine_tags), "{after}");
    assert_eq!(after["deviceValue"].as_str(), machine.device_value.as_deref());
    let (_, al) = s.call(M::GET, &format!("/api/alerts/{}", alert.id), Some(&a_mde), None).await;
    assert_eq!(al["status"], alert.status.as_str());
    assert!(al["comments"].as_array().unwrap().iter().all(|c| c["comment"] != "from B"));
    assert_eq!(al["comments"].as_array().unwrap().len(), alert.comments.len());
    let (_, acts) = s.call(M::GET, "/api/machineactions", Some(&a_mde), None).await;
    assert_eq!(acts["value"].as_array().unwrap().len(), 1, "only A's own scan: {acts}");
    let st = s.security.incident(a.id, incident).await.unwrap().unwrap();
    assert!(!st.tags.contains(&"pwned".to_string()));
    s.stop().await;
}
