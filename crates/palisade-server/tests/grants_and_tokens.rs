//! Grant types, response shapes and token contents, against `identity-protocol.md` §1–2: what
//! MSAL, azure-identity, msticpy and curl parse and what resource servers validate.

mod common;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair};
use base64::Engine;
use common::{TestServer, hidden, location_params};
use palisade_directory::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Digest;

const MDE: &str = "https://api.securitycenter.microsoft.com";

fn b64url_padded(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(b)
}
fn b64url(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[tokio::test]
async fn client_credentials_v1_and_v2_shapes_and_claims() {
    let s = TestServer::start().await;
    let (app, secret) = s.daemon_app().await;
    let tid = s.contoso.id.to_string();
    let cid = app.app_id.to_string();

    // v2: integers, ext_expires_in, no refresh token.
    let r = s
        .http
        .post(format!("{}/{tid}/oauth2/v2.0/token", s.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &cid),
            ("client_secret", &secret),
            ("scope", "https://securitycenter.onmicrosoft.com/windowsatpservice/.default"),
            ("client_info", "1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store, no-cache");
    assert_eq!(r.headers()["pragma"], "no-cache");
    assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
    let v2: Value = r.json().await.unwrap();
    assert_eq!(v2["token_type"], "Bearer");
    assert_eq!(v2["expires_in"], 3599);
    assert_eq!(v2["ext_expires_in"], 3599);
    assert!(v2.get("refresh_token").is_none() && v2.get("resource").is_none() && v2.get("expires_on").is_none());
    let c = s
        .verify(
            v2["access_token"].as_str().unwrap(),
            "https://securitycenter.onmicrosoft.com/windowsatpservice",
            &format!("https://sts.windows.net/{tid}/"),
        )
        .await;
    let sp = s.identity.stores.directory.service_principal_by_app_id(s.contoso.id, app.app_id).await.unwrap().unwrap();
    assert_eq!(c["ver"], "1.0", "Defender resources take v1 tokens even from the v2 endpoint");
    assert_eq!(c["roles"], json!(["Alert.Read.All"]));
    assert_eq!(c["appid"], cid);
    assert_eq!(c["appidacr"], "1");
    assert_eq!(c["oid"], sp.id.to_string());
    assert_eq!(c["sub"], c["oid"]);
    assert_eq!(c["idp"], format!("https://sts.windows.net/{tid}/"));
    assert!(c.get("scp").is_none());
    for k in ["aio", "rh", "uti"] {
        assert!(c[k].as_str().is_some_and(|v| !v.is_empty()), "{k}");
    }
    assert_eq!(c["iat"], c["nbf"]);
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3900,
        "iat back-dated 5 minutes, lifetime 1 hour"
    );
    let header = jsonwebtoken::decode_header(v2["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.x5t, header.kid, "v1 tokens carry x5t = kid");

    // v1 (the PowerShell snippet): every number a string, plus expires_on/not_before/resource.
    let (st, v1) = s
        .token_v1(
            &s.contoso.default_domain.clone(),
            &[("resource", MDE), ("client_id", &cid), ("client_secret", &secret), ("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v1}");
    assert_eq!(v1["expires_in"], "3599");
    assert_eq!(v1["ext_expires_in"], "3599");
    assert_eq!(v1["resource"], MDE);
    let c1 = s.verify(v1["access_token"].as_str().unwrap(), MDE, &format!("https://sts.windows.net/{tid}/")).await;
    assert_eq!(v1["expires_on"], c1["exp"].as_i64().unwrap().to_string());
    assert_eq!(v1["not_before"], c1["nbf"].as_i64().unwrap().to_string());

    // HTTP Basic client authentication.
    let r = s
        .http
        .post(format!("{}/{tid}/oauth2/v2.0/token", s.base))
        .basic_auth(&cid, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("scope", "https://api.securitycenter.microsoft.com/.default")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // No Content-Type at all (msticpy posts raw bytes).
    let body = format!(
        "grant_type=client_credentials&client_id={cid}&client_secret={}&scope=https%3A%2F%2Fapi.securitycenter.microsoft.com%2F.default",
        urlencode(&secret)
    );
    let r = s.http.post(format!("{}/{tid}/oauth2/v2.0/token", s.base)).body(body).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // Microsoft 365 Defender audience: a role-less app-only token (consented nothing there): roles absent, not [].
    let (st, m) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &cid),
                ("client_secret", &secret),
                ("scope", "https://api.security.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let cm = s
        .verify(
            m["access_token"].as_str().unwrap(),
            "https://api.security.microsoft.com",
            &format!("https://sts.windows.net/{tid}/"),
        )
        .await;
    assert!(cm.get("roles").is_none());
    s.stop().await;
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

struct TestCert {
    key: RsaKeyPair,
    der: Vec<u8>,
    pem: String,
}

fn test_cert() -> TestCert {
    let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["client.example".to_string()]).unwrap();
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(30);
    let cert = params.self_signed(&kp).unwrap();
    let key = RsaKeyPair::from_pkcs8(&kp.serialize_der()).unwrap();
    TestCert { key, der: cert.der().to_vec(), pem: cert.pem() }
}

/// Builds an assertion the way a given client does.
fn assertion(cert: &TestCert, alg: &str, padded: bool, claims: Value) -> String {
    let enc = |b: &[u8]| if padded { b64url_padded(b) } else { b64url(b) };
    let header = if alg == "RS256" {
        json!({"alg": "RS256", "typ": "JWT", "x5t": b64url_padded(&sha1::Sha1::digest(&cert.der))})
    } else {
        json!({"alg": "PS256", "typ": "JWT", "x5t#S256": b64url_padded(&sha2::Sha256::digest(&cert.der)), "x5c": [base64::engine::general_purpose::STANDARD.encode(&cert.der)]})
    };
    let input = format!("{}.{}", enc(header.to_string().as_bytes()), enc(claims.to_string().as_bytes()));
    let mut sig = vec![0u8; cert.key.public_modulus_len()];
    let alg =
        if alg == "RS256" { &RSA_PKCS1_SHA256 as &dyn aws_lc_rs::signature::RsaEncoding } else { &RSA_PSS_SHA256 };
    cert.key.sign(alg, &SystemRandom::new(), input.as_bytes(), &mut sig).unwrap();
    format!("{input}.{}", enc(&sig))
}

#[tokio::test]
async fn certificate_assertions_as_real_clients_send_them() {
    let s = TestServer::start().await;
    let (app, _) = s.daemon_app().await;
    let t = s.contoso.clone();
    let cert = test_cert();
    s.identity.add_certificate(&t, &s.reload(&app).await, cert.pem.as_bytes(), None).await.unwrap();
    let tid = t.id.to_string();
    let cid = app.app_id.to_string();
    let url = format!("{}/{tid}/oauth2/v2.0/token", s.base);
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64 + 0.25;
    let post = |a: String| {
        let s = &s;
        let cid = cid.clone();
        async move {
            s.token_v2(
                &tid_of(s),
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", &cid),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", &a),
                    ("scope", "https://api.securitycenter.microsoft.com/.default"),
                ],
            )
            .await
        }
    };
    // MSAL: RS256 + padded x5t, float iat/exp, no nbf.
    let msal = json!({"aud": url, "iss": cid, "sub": cid, "jti": uuid::Uuid::new_v4(), "iat": now, "exp": now + 600.0});
    let (st, b) = post(assertion(&cert, "RS256", false, msal.clone())).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let c = s.verify(b["access_token"].as_str().unwrap(), MDE, &format!("https://sts.windows.net/{tid}/")).await;
    assert_eq!(c["appidacr"], "2", "certificate credential");
    // azure-identity AadClient: PS256 + x5t#S256, every segment padded, nbf int, no iat.
    let aad = json!({"aud": url, "iss": cid, "sub": cid, "jti": uuid::Uuid::new_v4(), "nbf": now as i64, "exp": now as i64 + 1800});
    let (st, b) = post(assertion(&cert, "PS256", true, aad)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    // The v1 token URL is an accepted audience too.
    let v1aud = json!({"aud": format!("{}/{tid}/oauth2/token", s.base), "iss": cid, "sub": cid, "exp": now + 600.0});
    assert_eq!(post(assertion(&cert, "RS256", false, v1aud)).await.0, StatusCode::OK);

    // Wrong audience, wrong issuer, expired, tampered signature.
    let cases = [
        (json!({"aud": "https://elsewhere.example.com/token", "iss": cid, "sub": cid, "exp": now + 600.0}), 700027),
        (json!({"aud": url, "iss": uuid::Uuid::new_v4(), "sub": cid, "exp": now + 600.0}), 700021),
        (json!({"aud": url, "iss": cid, "sub": cid, "exp": now - 3600.0}), 700024),
    ];
    for (claims, code) in cases {
        let (st, b) = post(assertion(&cert, "RS256", false, claims)).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{b}");
        assert_eq!(b["error_codes"][0], code, "{b}");
    }
    let forged = common::tamper_signature(&assertion(&cert, "RS256", false, msal));
    let (st, b) = post(forged).await;
    assert_eq!((st, b["error_codes"][0].as_u64()), (StatusCode::UNAUTHORIZED, Some(700027)));
    s.stop().await;
}

fn tid_of(s: &TestServer) -> String {
    s.contoso.id.to_string()
}

/// A public client with the delegated Alert.Read permission consented, and a user.
async fn native_setup(s: &TestServer) -> (Application, User) {
    let t = s.contoso.clone();
    let mut app = s.app(&t, "Native", SignInAudience::AzureADMyOrg, &[], true).await;
    app.public_client_redirect_uris = vec!["http://localhost".into()];
    s.identity.stores.directory.update_application(t.id, &app).await.unwrap();
    s.permission(&t, &app, "WindowsDefenderATP", "Alert.Read", PermissionKind::Scope).await;
    s.consent(&t, &app).await;
    let user = s.user(&t, "analyst", vec![DirectoryRole::SecurityReader], "Analyst-Pass-1").await;
    (s.reload(&app).await, user)
}

#[tokio::test]
async fn ropc_v1_v2_refresh_and_id_tokens() {
    let s = TestServer::start().await;
    let (app, user) = native_setup(&s).await;
    let tid = s.contoso.id.to_string();
    let cid = app.app_id.to_string();

    // The seed page's C# sample: v1, resource=, no secret.
    let (st, v1) = s
        .token_v1(
            &tid,
            &[
                ("resource", MDE),
                ("client_id", &cid),
                ("grant_type", "password"),
                ("username", &user.user_principal_name),
                ("password", "Analyst-Pass-1"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v1}");
    assert_eq!(v1["scope"], "Alert.Read");
    assert_eq!(v1["expires_in"], "3599");
    assert!(v1["refresh_token"].is_string() && v1["id_token"].is_string());
    let c = s.verify(v1["access_token"].as_str().unwrap(), MDE, &format!("https://sts.windows.net/{tid}/")).await;
    assert_eq!(c["scp"], "Alert.Read");
    assert_eq!(c["upn"], user.user_principal_name);
    assert_eq!(c["unique_name"], user.user_principal_name);
    assert_eq!(c["oid"], user.id.to_string());
    assert_eq!(c["appidacr"], "0");
    assert_ne!(c["sub"], c["oid"], "pairwise sub for users");
    assert!(c["wids"].as_array().unwrap().contains(&json!(DirectoryRole::SecurityReader.template_id().to_string())));

    // MSAL's ROPC: v2, scope with offline_access openid profile, client_info=1.
    let (st, v2) = s
        .token_v2(
            &tid,
            &[
                ("client_id", &cid),
                ("grant_type", "password"),
                ("client_info", "1"),
                ("username", &user.user_principal_name),
                ("password", "Analyst-Pass-1"),
                ("scope", "https://api.securitycenter.microsoft.com/Alert.Read offline_access openid profile"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v2}");
    assert_eq!(v2["expires_in"], 3599);
    let scope: Vec<&str> = v2["scope"].as_str().unwrap().split(' ').collect();
    assert!(
        scope.contains(&"https://api.securitycenter.microsoft.com/Alert.Read") && scope.contains(&"openid"),
        "{scope:?}"
    );
    let info: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v2["client_info"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(info, json!({"uid": user.id.to_string(), "utid": tid}));
    let id = s.verify(v2["id_token"].as_str().unwrap(), &cid, &format!("{}/{tid}/v2.0", s.base)).await;
    assert_eq!(id["preferred_username"], user.user_principal_name);
    assert_eq!(id["ver"], "2.0");

    // Refresh: a new access token (and a new refresh token); the old one keeps working.
    let rt = v2["refresh_token"].as_str().unwrap();
    let (st, r) = s
        .token_v2(
            &tid,
            &[
                ("client_id", &cid),
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
                ("scope", "https://api.securitycenter.microsoft.com/Alert.Read offline_access openid"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert!(r["refresh_token"].is_string());
    let c = s.verify(r["access_token"].as_str().unwrap(), MDE, &format!("https://sts.windows.net/{tid}/")).await;
    assert_eq!(c["scp"], "Alert.Read");
    // A refresh token of one client is useless to another.
    let (st, b) = s
        .token_v2(
            &tid,
            &[("client_id", &uuid::Uuid::new_v4().to_string()), ("grant_type", "refresh_token"), ("refresh_token", rt)],
        )
        .await;
    assert_eq!((st, b["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    // A delegated Graph token reads /me.
    let (st, g) = s
        .token_v2(
            &tid,
            &[
                ("client_id", &cid),
                ("grant_type", "password"),
                ("username", &user.user_principal_name),
                ("password", "Analyst-Pass-1"),
                ("scope", "openid profile"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{g}");
    let me: Value = s
        .http
        .get(format!("{}/v1.0/me", s.base))
        .bearer_auth(g["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["userPrincipalName"], user.user_principal_name);
    let gc = s
        .verify(
            g["access_token"].as_str().unwrap(),
            "https://graph.microsoft.com",
            &format!("https://sts.windows.net/{tid}/"),
        )
        .await;
    assert_eq!(gc["scp"], "openid profile", "OIDC scopes appear in a Graph token's scp");
    // `organizations` resolves the user's tenant.
    let (st, _) = s
        .token_v2(
            "organizations",
            &[
                ("client_id", &cid),
                ("grant_type", "password"),
                ("username", &user.user_principal_name),
                ("password", "Analyst-Pass-1"),
                ("scope", "https://api.securitycenter.microsoft.com/.default"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn authorization_code_with_pkce_and_nonce() {
    let s = TestServer::start().await;
    let (app, user) = native_setup(&s).await;
    let tid = s.contoso.id.to_string();
    let cid = app.app_id.to_string();
    let verifier = "M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag";
    let challenge = b64url(&sha2::Sha256::digest(verifier.as_bytes()));
    let browser = s.browser();
    let url = format!(
        "{}/{tid}/oauth2/v2.0/authorize?client_id={cid}&response_type=code&redirect_uri=http://localhost:53111&scope={}&state=st8&nonce=n0nce&code_challenge={challenge}&code_challenge_method=S256",
        s.base,
        urlencode("https://api.securitycenter.microsoft.com/Alert.Read openid profile offline_access")
    );
    let html = browser.get(&url).send().await.unwrap().text().await.unwrap();
    let r = browser
        .post(format!("{}/{tid}/login", s.base))
        .form(&[
            ("login", user.user_principal_name.as_str()),
            ("passwd", "Analyst-Pass-1"),
            ("ctx", &hidden(&html, "ctx")),
        ])
        .send()
        .await
        .unwrap();
    // Already consented tenant-wide: straight back to the app.
    assert_eq!(r.status(), StatusCode::FOUND);
    let (uri, q) = location_params(&r);
    assert_eq!(uri, "http://localhost:53111/");
    assert_eq!(q["state"], "st8");
    let code = q["code"].clone();
    let form = |code: &str, verifier: &str| {
        vec![
            ("client_id", cid.clone()),
            ("grant_type", "authorization_code".into()),
            ("code", code.to_string()),
            ("redirect_uri", "http://localhost:53111".into()),
            ("code_verifier", verifier.to_string()),
            ("scope", "https://api.securitycenter.microsoft.com/Alert.Read openid offline_access".into()),
        ]
    };
    let f: Vec<(&str, String)> = form(&code, "wrong-verifier-wrong-verifier-wrong-verifier");
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (st, b) = s.token_v2(&tid, &f).await;
    assert_eq!((st, b["error_codes"][0].as_u64()), (StatusCode::BAD_REQUEST, Some(501481)), "{b}");
    // The failed attempt consumed the code (single use), so start over.
    let html = browser.get(&url).send().await.unwrap();
    let (_, q) = location_params(&html);
    let code = q["code"].clone();
    let f: Vec<(&str, String)> = form(&code, verifier);
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (st, b) = s.token_v2(&tid, &f).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let id = s.verify(b["id_token"].as_str().unwrap(), &cid, &format!("{}/{tid}/v2.0", s.base)).await;
    assert_eq!(id["nonce"], "n0nce", "MSAL checks the nonce it sent");
    let (st, b) = s.token_v2(&tid, &f).await;
    assert_eq!((st, b["error_codes"][0].as_u64()), (StatusCode::BAD_REQUEST, Some(54005)), "code reuse: {b}");
    s.stop().await;
}

#[tokio::test]
async fn device_code_flow() {
    let s = TestServer::start().await;
    let (app, user) = native_setup(&s).await;
    let cid = app.app_id.to_string();
    let (st, d) = s
        .post_form(
            "/organizations/oauth2/v2.0/devicecode",
            &[
                ("client_id", &cid),
                ("scope", "https://api.securitycenter.microsoft.com/Alert.Read offline_access openid"),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{d}");
    assert_eq!(d["verification_uri"], format!("{}/devicelogin", s.base));
    assert_eq!(d["interval"], 5);
    assert_eq!(d["expires_in"], 900);
    let device_code = d["device_code"].as_str().unwrap();
    let poll = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", cid.as_str()),
        ("device_code", device_code),
        ("code", device_code),
    ];
    let (st, b) = s.token_v2("organizations", &poll).await;
    assert_eq!(
        (st, b["error"].as_str(), b["error_codes"][0].as_u64()),
        (StatusCode::BAD_REQUEST, Some("authorization_pending"), Some(70016))
    );

    let browser = s.browser();
    let html = browser
        .post(format!("{}/devicelogin", s.base))
        .form(&[("otc", d["user_code"].as_str().unwrap())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let done = browser
        .post(format!("{}/organizations/login", s.base))
        .form(&[
            ("login", user.user_principal_name.as_str()),
            ("passwd", "Analyst-Pass-1"),
            ("ctx", &hidden(&html, "ctx")),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(done.contains("You have signed in"), "{done}");
    let (st, b) = s.token_v2("organizations", &poll).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let c =
        s.verify(b["access_token"].as_str().unwrap(), MDE, &format!("https://sts.windows.net/{}/", s.contoso.id)).await;
    assert_eq!(c["scp"], "Alert.Read");
    // Redeemed once.
    let (st, b) = s.token_v2("organizations", &poll).await;
    assert_eq!((st, b["error"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_verification_code")));
    s.stop().await;
}

#[tokio::test]
async fn discovery_documents_name_the_called_host() {
    let s = TestServer::start().await;
    let tid = s.contoso.id.to_string();
    let domain = s.contoso.default_domain.clone();
    let (st, v2) = s.get_json(&format!("/{domain}/v2.0/.well-known/openid-configuration")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v2["token_endpoint"], format!("{}/{tid}/oauth2/v2.0/token", s.base), "domain resolved to the GUID");
    assert_eq!(v2["issuer"], format!("{}/{tid}/v2.0", s.base));
    assert_eq!(v2["jwks_uri"], format!("{}/{tid}/discovery/v2.0/keys", s.base));
    let (_, v1) = s.get_json(&format!("/{tid}/.well-known/openid-configuration")).await;
    assert_eq!(v1["issuer"], format!("https://sts.windows.net/{tid}/"));
    assert_eq!(v1["jwks_uri"], format!("{}/common/discovery/keys", s.base));
    let (_, common) = s.get_json("/common/v2.0/.well-known/openid-configuration").await;
    assert_eq!(common["issuer"], format!("{}/{{tenantid}}/v2.0", s.base));
    assert_eq!(common["token_endpoint"], format!("{}/common/oauth2/v2.0/token", s.base));
    let (st, b) = s.get_json("/nosuch.onmicrosoft.com/v2.0/.well-known/openid-configuration").await;
    assert_eq!((st, b["error_codes"][0].as_u64()), (StatusCode::BAD_REQUEST, Some(90002)));

    let (_, jwks) = s.get_json(&format!("/{tid}/discovery/v2.0/keys")).await;
    let k = &jwks["keys"][0];
    assert_eq!(k["kty"], "RSA");
    assert_eq!(k["use"], "sig");
    assert_eq!(k["kid"], k["x5t"]);
    assert_eq!(k["issuer"], format!("{}/{tid}/v2.0", s.base));
    let der = base64::engine::general_purpose::STANDARD.decode(k["x5c"][0].as_str().unwrap()).unwrap();
    assert_eq!(k["x5t"], b64url(&sha1::Sha1::digest(&der)), "kid is the SHA-1 thumbprint of x5c");

    let (_, inst) = s.get_json("/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/authorize").await;
    assert!(inst["metadata"][0]["aliases"].as_array().unwrap().iter().any(|a| a == "login.microsoftonline.com"));
    assert!(inst["tenant_discovery_endpoint"].as_str().unwrap().starts_with(&s.base));
    let (_, realm) = s.get_json("/common/userrealm/someone@contoso.onmicrosoft.com?api-version=1.0").await;
    assert_eq!(realm["account_type"], "Managed");
    let (_, arm) = s.get_json("/metadata/endpoints?api-version=latest").await;
    assert_eq!(arm["authentication"]["loginEndpoint"], format!("{}/", s.base));
    let (_, h) = s.get_json("/healthz").await;
    assert_eq!(h["status"], "ok");
    s.stop().await;
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_verifiable() {
    let s = TestServer::start().await;
    let (app, secret) = s.daemon_app().await;
    let tid = s.contoso.id.to_string();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", &app.app_id.to_string() as &str),
        ("client_secret", &secret),
        ("resource", MDE),
    ];
    let (_, before) = s.token_v1(&tid, &form).await;
    let old_kid = jsonwebtoken::decode_header(before["access_token"].as_str().unwrap()).unwrap().kid.unwrap();
    let new_kid = s.identity.keys.rotate(s.identity.config.access_token_lifetime).await.unwrap();
    assert_ne!(old_kid, new_kid);
    let (_, after) = s.token_v1(&tid, &form).await;
    assert_eq!(
        jsonwebtoken::decode_header(after["access_token"].as_str().unwrap()).unwrap().kid.unwrap(),
        new_kid,
        "the new key signs"
    );
    let (_, jwks) = s.get_json("/common/discovery/keys").await;
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, vec![new_kid.as_str(), old_kid.as_str()], "both published, active first");
    s.verify(before["access_token"].as_str().unwrap(), MDE, &format!("https://sts.windows.net/{tid}/")).await;
    s.verify(after["access_token"].as_str().unwrap(), MDE, &format!("https://sts.windows.net/{tid}/")).await;
    s.stop().await;
}

#[tokio::test]
async fn v2_resource_gets_v2_tokens_and_jwt_page_decodes() {
    let s = TestServer::start().await;
    let t = s.contoso.clone();
    let tid = t.id.to_string();
    // A custom API that asks for v2 tokens, with an app role.
    let mut api = s.app(&t, "Contoso API", SignInAudience::AzureADMyOrg, &[], false).await;
    api.identifier_uris = vec![format!("api://{}", api.app_id)];
    api.requested_access_token_version = Some(2);
    api.app_roles = vec![AppRole {
        id: uuid::Uuid::new_v4(),
        value: "Data.Read".into(),
        display_name: "Read data".into(),
        description: "Read data".into(),
        allowed_member_types: vec!["Application".into()],
        is_enabled: true,
    }];
    s.identity.stores.directory.update_application(t.id, &api).await.unwrap();
    let client = s.app(&t, "Caller", SignInAudience::AzureADMyOrg, &[], false).await;
    s.permission(&t, &client, &api.app_id.to_string(), "Data.Read", PermissionKind::Role).await;
    s.consent(&t, &client).await;
    let secret = s.secret(&t, &client).await;
    let (st, b) = s
        .token_v2(
            &tid,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &client.app_id.to_string()),
                ("client_secret", &secret),
                ("scope", &format!("api://{}/.default", api.app_id)),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let token = b["access_token"].as_str().unwrap();
    let c = s.verify(token, &api.app_id.to_string(), &format!("{}/{tid}/v2.0", s.base)).await;
    assert_eq!(c["ver"], "2.0");
    assert_eq!(c["azp"], client.app_id.to_string());
    assert_eq!(c["azpacr"], "1");
    assert_eq!(c["roles"], json!(["Data.Read"]));
    assert!(jsonwebtoken::decode_header(token).unwrap().x5t.is_none(), "v2 tokens carry kid only");

    let html =
        s.http.post(format!("{}/jwt", s.base)).form(&[("token", token)]).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Verified against Palisade"), "{html}");
    assert!(html.contains("Data.Read") && html.contains(&tid));
    let html = s
        .http
        .post(format!("{}/jwt", s.base))
        .form(&[("token", &common::tamper_signature(token))])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("INVALID"));
    s.stop().await;
}
