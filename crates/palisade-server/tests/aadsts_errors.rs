//! Every failure a user can cause at the token and authorize endpoints returns Entra's status and
//! body (`identity-protocol.md` §6): one test per AADSTS code.

mod common;

use common::TestServer;
use palisade_directory::*;
use reqwest::StatusCode;
use serde_json::Value;

const MDE_DEFAULT: &str = "https://api.securitycenter.microsoft.com/.default";

fn assert_aadsts(status: StatusCode, body: &Value, want_status: u16, want_error: &str, code: u64) {
    assert_eq!(status.as_u16(), want_status, "status for AADSTS{code}: {body}");
    assert_eq!(body["error"], want_error, "error for AADSTS{code}: {body}");
    assert_eq!(body["error_codes"][0], code, "{body}");
    let d = body["error_description"].as_str().unwrap();
    assert!(d.starts_with(&format!("AADSTS{code}: ")), "{d}");
    assert!(d.contains("\r\nTrace ID: ") && d.contains("\r\nCorrelation ID: ") && d.contains("\r\nTimestamp: "), "{d}");
    for k in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
        assert!(body[k].is_string(), "missing {k}: {body}");
    }
}

#[tokio::test]
async fn token_endpoint_errors() {
    let s = TestServer::start().await;
    let t = s.contoso.clone();
    let tid = t.id.to_string();
    let (app, secret) = s.daemon_app().await;
    let cid = app.app_id.to_string();

    // 90002 unknown tenant.
    let (st, b) = s
        .token_v2(
            "00000000-1111-2222-3333-444444444444",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("scope", MDE_DEFAULT),
            ],
        )
        .await;
    assert_aadsts(st, &b, 400, "invalid_tenant", 90002);
    let (st, b) = s
        .token_v2(
            "nosuch.onmicrosoft.com",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("scope", MDE_DEFAULT),
            ],
        )
        .await;
    assert_aadsts(st, &b, 400, "invalid_tenant", 90002);
    // 900023 malformed tenant.
    let (st, b) = s.token_v2("not_a_tenant", &[("grant_type", "client_credentials")]).await;
    assert_aadsts(st, &b, 400, "invalid_request", 900023);

    // 700016 app not in the directory.
    let unknown = uuid::Uuid::new_v4().to_string();
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &unknown),
                ("client_secret", &secret),
                ("scope", MDE_DEFAULT),
            ],
        )
        .await;
    assert_aadsts(st, &b, 400, "unauthorized_client", 700016);
    assert!(b["error_description"].as_str().unwrap().contains(&unknown));

    // 7000215 wrong secret (401), and sending the secret's ID instead of its value.
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", "not-the-secret"),
                ("scope", MDE_DEFAULT),
            ],
        )
        .await;
    assert_aadsts(st, &b, 401, "invalid_client", 7000215);
    let key_id = app.password_credentials[0].key_id.to_string();
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", &key_id),
                ("scope", MDE_DEFAULT),
            ],
        )
        .await;
    assert_aadsts(st, &b, 401, "invalid_client", 7000215);

    // 7000222 expired secret.
    let (_, old) = s.identity.add_password(&t, &s.reload(&app).await, None, None).await.unwrap();
    let mut a = s.reload(&app).await;
    a.password_credentials.last_mut().unwrap().end_date_time =
        time::OffsetDateTime::now_utc() - time::Duration::days(1);
    s.identity.stores.directory.update_application(t.id, &a).await.unwrap();
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", &old),
                ("scope", MDE_DEFAULT),
            ],
        )
        .await;
    assert_aadsts(st, &b, 401, "invalid_client", 7000222);

    // 7000218 no credentials at all from a confidential client.
    let (st, b) =
        s.token_v2(&tid, &[("grant_type", "client_credentials"), ("client_id", &cid), ("scope", MDE_DEFAULT)]).await;
    assert_aadsts(st, &b, 401, "invalid_client", 7000218);

    // 700027 bad assertion: an assertion signed by a key the app does not have.
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", "eyJhbGciOiJSUzI1NiIsIng1dCI6IkFBQUEifQ.eyJpc3MiOiJ4In0.c2ln"),
                ("scope", MDE_DEFAULT),
            ],
        )
        .await;
    assert_aadsts(st, &b, 401, "invalid_client", 700027);
    // alg none is refused outright.
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0."),
                ("scope", MDE_DEFAULT),
            ],
        )
        .await;
    assert_aadsts(st, &b, 401, "invalid_client", 700027);

    // 500011 unknown resource.
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("scope", "https://nothing.example.com/.default"),
            ],
        )
        .await;
    assert_aadsts(st, &b, 400, "invalid_resource", 500011);
    let (st, b) = s
        .token_v1(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("resource", "https://nothing.example.com"),
            ],
        )
        .await;
    assert_aadsts(st, &b, 400, "invalid_resource", 500011);

    // 1002012 client credentials without /.default — including the M365D seed page's typo.
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("scope", "https://api.security.microsoft.com.default"),
            ],
        )
        .await;
    assert_aadsts(st, &b, 400, "invalid_scope", 1002012);
    assert!(
        b["error_description"]
            .as_str()
            .unwrap()
            .contains("Did you mean 'https://api.security.microsoft.com/.default'?")
    );

    // 900144 missing parameters.
    for (form, missing) in [
        (vec![("client_id", cid.as_str())], "grant_type"),
        (vec![("grant_type", "client_credentials")], "client_id"),
        (vec![("grant_type", "client_credentials"), ("client_id", &cid), ("client_secret", &secret)], "scope"),
    ] {
        let (st, b) = s.token_v2(&tid, &form).await;
        assert_aadsts(st, &b, 400, "invalid_request", 900144);
        assert!(b["error_description"].as_str().unwrap().contains(&format!("'{missing}'")), "{b}");
    }
    let (st, b) = s
        .token_v1(&tid, &[("grant_type", "client_credentials"), ("client_id", &cid), ("client_secret", &secret)])
        .await;
    assert_aadsts(st, &b, 400, "invalid_request", 900144);
    assert!(b["error_description"].as_str().unwrap().contains("'resource'"));

    // 70003 unsupported grant type.
    let (st, b) = s.token_v2(&tid, &[("grant_type", "magic"), ("client_id", &cid)]).await;
    assert_aadsts(st, &b, 400, "unsupported_grant_type", 70003);

    // correlation_id echoes client-request-id.
    let r = s
        .http
        .post(format!("{}/{tid}/oauth2/v2.0/token", s.base))
        .header("client-request-id", "my-corr-id")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cid),
            ("client_secret", "x"),
            ("scope", MDE_DEFAULT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store, no-cache");
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["correlation_id"], "my-corr-id");
    s.stop().await;
}

#[tokio::test]
async fn user_flow_errors_and_smart_lockout() {
    let s = TestServer::start_with(|c| c.identity.lockout_threshold = 3).await;
    let t = s.contoso.clone();
    let tid = t.id.to_string();
    let app = s.app(&t, "Native", SignInAudience::AzureADMyOrg, &[], true).await;
    s.permission(&t, &app, "WindowsDefenderATP", "Alert.Read", PermissionKind::Scope).await;
    let cid = app.app_id.to_string();
    let user = s.user(&t, "analyst", vec![], "Correct-Horse-9").await;
    let upn = user.user_principal_name.clone();
    let ropc = |u: &str, p: &str| {
        vec![
            ("grant_type", "password".to_string()),
            ("client_id", cid.clone()),
            ("username", u.to_string()),
            ("password", p.to_string()),
            ("resource", "https://api.securitycenter.microsoft.com".to_string()),
        ]
    };
    let as_refs = |v: &Vec<(&'static str, String)>| v.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();

    // 65001 consent missing (the permission is configured but not consented).
    let f = as_refs(&ropc(&upn, "Correct-Horse-9"));
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (st, b) = s.token_v1(&tid, &f).await;
    assert_aadsts(st, &b, 400, "invalid_grant", 65001);
    assert_eq!(b["suberror"], "consent_required");
    assert!(b["error_description"].as_str().unwrap().contains("palisade app consent"), "the fix is named: {b}");

    s.consent(&t, &app).await;
    let (st, b) = s.token_v1(&tid, &f).await;
    assert_eq!(st, StatusCode::OK, "{b}");

    // 50034 unknown user.
    let f2 = as_refs(&ropc(&format!("ghost@{}", t.default_domain), "x"));
    let f2: Vec<(&str, &str)> = f2.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (st, b) = s.token_v1(&tid, &f2).await;
    assert_aadsts(st, &b, 400, "invalid_grant", 50034);

    // 70011 invalid scope (a scope the resource does not define).
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "password"),
                ("client_id", &cid),
                ("username", &upn),
                ("password", "Correct-Horse-9"),
                ("scope", "https://api.securitycenter.microsoft.com/Nope.Read openid"),
            ],
        )
        .await;
    assert_aadsts(st, &b, 400, "invalid_scope", 70011);

    // 9001023 ROPC over /common.
    let (st, b) = s.token_v1("common", &f).await;
    assert_aadsts(st, &b, 400, "invalid_request", 9001023);

    // 700025 public client presenting a secret.
    let mut f3 = f.clone();
    f3.push(("client_secret", "whatever"));
    let (st, b) = s.token_v1(&tid, &f3).await;
    assert_aadsts(st, &b, 401, "invalid_client", 700025);

    // 50126 bad password, then 50053 smart lockout after the threshold — even for the right password.
    let bad = as_refs(&ropc(&upn, "wrong"));
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (*k, v.as_str())).collect();
    for _ in 0..3 {
        let (st, b) = s.token_v1(&tid, &bad).await;
        assert_aadsts(st, &b, 400, "invalid_grant", 50126);
    }
    let (st, b) = s.token_v1(&tid, &f).await;
    assert_aadsts(st, &b, 400, "invalid_grant", 50053);
    // A user in another tenant is not affected.
    s.stop().await;
}

#[tokio::test]
async fn authorize_redirect_uri_errors_are_pages() {
    let s = TestServer::start().await;
    let (app, _) = s.daemon_app().await;
    let b = s.browser();
    // 50011: an unregistered redirect URI is never redirected to.
    let r = b
        .get(format!(
            "{}/common/oauth2/authorize?client_id={}&response_type=code&redirect_uri=https://evil.example.com/cb",
            s.base, app.app_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get("location").is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains("AADSTS50011"), "{html}");
    assert!(html.contains("palisade app update"), "the fix is named");
    // 500113: no reply address at all.
    let t = s.contoso.clone();
    let bare = s.app(&t, "No redirect", SignInAudience::AzureADMultipleOrgs, &[], false).await;
    let r = b
        .get(format!("{}/common/oauth2/authorize?client_id={}&response_type=code", s.base, bare.app_id))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("AADSTS500113"));
    // 700016 unknown client at authorize.
    let r = b
        .get(format!("{}/common/oauth2/authorize?client_id={}&response_type=code", s.base, uuid::Uuid::new_v4()))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("AADSTS700016"));
    // 50194 single-tenant app on /common.
    let single = s.app(&t, "Single", SignInAudience::AzureADMyOrg, &["https://portal.azure.com"], false).await;
    let r = b
        .get(format!("{}/common/oauth2/authorize?client_id={}&response_type=code", s.base, single.app_id))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("AADSTS50194"));
    s.stop().await;
}
