//! API-only nodes: a full Palisade acts as the identity provider, and a second server — its own
//! data directory, `[api_node]` pointing at the first one's JWKS URL and CA — serves the Defender
//! API. Tokens from the provider are accepted; hand-made tokens (a foreign key, `alg: none`,
//! HS256 keyed with the public key, an expired one, a foreign issuer) are refused with 401, a
//! foreign audience with 403; a key rotation at the provider reaches the node without a restart;
//! the node serves no identity, page or management routes.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::TestServer;
use palisade_crypto::b64;
use palisade_crypto::signing::{SigningKey, generate_signing_key};
use palisade_defender::fixtures::{FleetOptions, generate, load};
use palisade_defender::store::SecurityStore;
use palisade_directory::*;
use palisade_server::config::ApiNodeSettings;
use palisade_server::{Config, Running};
use reqwest::{Method as M, StatusCode};
use serde_json::{Value, json};

const MDE: &str = "https://api.securitycenter.microsoft.com";

/// A server in API-only mode.
struct ApiNode {
    base: String,
    dir: PathBuf,
    http: reqwest::Client,
    security: Arc<dyn SecurityStore>,
    running: Option<Running>,
}

fn node_config(idp: &TestServer, tweak: impl FnOnce(&mut ApiNodeSettings)) -> Config {
    let mut node = ApiNodeSettings::new(format!("{}/common/discovery/v2.0/keys", idp.base));
    node.ca_file = Some(idp.dir.join("tls").join("ca.pem"));
    // Short enough for the rotation step below; the default (30 s) is covered by unit tests.
    node.min_refresh_secs = 1;
    tweak(&mut node);
    Config {
        data_dir: std::env::temp_dir().join(format!("palisade-api-node-{}", uuid::Uuid::new_v4())),
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        throttling: palisade_defender::quota::Throttling::Off,
        api_node: Some(node),
        ..Config::default()
    }
}

impl ApiNode {
    async fn start(idp: &TestServer, tweak: impl FnOnce(&mut ApiNodeSettings)) -> Self {
        let cfg = node_config(idp, tweak);
        let prepared = palisade_server::prepare(&cfg).await.expect("prepare API node");
        assert!(prepared.first_run.is_none(), "an API node creates no directory");
        let running = palisade_server::start(&prepared, &cfg).await.expect("start API node");
        let ca_pem = std::fs::read(&prepared.tls.ca_cert).unwrap();
        Self {
            base: format!("https://127.0.0.1:{}", running.addrs[0].port()),
            dir: cfg.data_dir.clone(),
            http: common::client(&ca_pem, false),
            security: prepared.state.security.clone(),
            running: Some(running),
        }
    }

    async fn call(&self, method: M, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown(Duration::from_secs(5)).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A confidential app in `tenant` with `roles` of `api` consented, and its secret.
async fn app(idp: &TestServer, tenant: &Tenant, name: &str, api: &str, roles: &[&str]) -> (Application, String) {
    let app = idp.app(tenant, name, SignInAudience::AzureADMyOrg, &[], false).await;
    for r in roles {
        idp.permission(tenant, &app, api, r, PermissionKind::Role).await;
    }
    idp.consent(tenant, &app).await;
    let secret = idp.secret(tenant, &app).await;
    (idp.reload(&app).await, secret)
}

/// A v2 client-credentials token from the identity provider.
async fn token(idp: &TestServer, tenant: &Tenant, app: &Application, secret: &str, scope: &str) -> String {
    let (st, b) = idp
        .token_v2(
            &tenant.id.to_string(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &app.app_id.to_string()),
                ("client_secret", secret),
                ("scope", scope),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{b}");
    b["access_token"].as_str().unwrap().to_string()
}

fn part(jwt: &str, i: usize) -> Value {
    serde_json::from_slice(&b64::url_decode_lenient(jwt.split('.').nth(i).unwrap()).unwrap()).unwrap()
}

fn sign(key: &SigningKey, kid: &str, claims: &Value) -> String {
    key.sign_jwt(&json!({"typ": "JWT", "alg": "RS256", "kid": kid}), claims).unwrap()
}

fn foreign_key() -> SigningKey {
    let g = generate_signing_key(time::OffsetDateTime::now_utc()).unwrap();
    SigningKey::load(&g.kid, &g.private_key_pkcs8, &g.cert_der).unwrap()
}

async fn seed(node: &ApiNode, tenant: &Tenant, machines: usize) {
    let config = node.security.rbac_config(tenant.id).await.unwrap();
    let opts = FleetOptions {
        machines,
        alerts: 20,
        seed: 3,
        now: time::OffsetDateTime::now_utc(),
        days: 7,
        tenant_domain: tenant.default_domain.clone(),
    };
    load(node.security.as_ref(), tenant.id, &generate(tenant.id, &opts, &config)).await.unwrap();
}

fn assert_unauthorized(st: StatusCode, b: &Value, contains: &str) {
    assert_eq!((st, b["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("Unauthorized")), "{b}");
    let msg = b["error"]["message"].as_str().unwrap();
    assert!(msg.starts_with("Authorization has been denied for this request."), "{b}");
    assert!(msg.contains(contains), "expected '{contains}' in {b}");
    assert!(b["error"]["target"].is_string(), "{b}");
}

#[tokio::test]
async fn api_node_trusts_the_identity_provider_by_its_jwks() {
    let idp = TestServer::start().await;
    let node = ApiNode::start(&idp, |_| {}).await;
    let contoso = idp.contoso.clone();
    seed(&node, &contoso, 12).await;

    // 1. A token from the provider is accepted. (WindowsDefenderATP takes v1 tokens, so even the
    // v2 endpoint issues them under https://sts.windows.net/{tid}/, as Entra does.)
    let (reader, secret) = app(&idp, &contoso, "Reader", "WindowsDefenderATP", &["Machine.Read.All"]).await;
    let good = token(&idp, &contoso, &reader, &secret, &format!("{MDE}/.default")).await;
    assert_eq!(part(&good, 1)["iss"], format!("https://sts.windows.net/{}/", contoso.id));
    let (st, b) = node.call(M::GET, "/api/machines", Some(&good)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    assert_eq!(b["value"].as_array().unwrap().len(), 12);
    assert_eq!(b["@odata.context"], format!("{}/api/$metadata#Machines", node.base), "URLs name the node");
    let (st, _) = node.call(M::GET, "/API/V1.0/Machines?$top=1", Some(&good)).await;
    assert_eq!(st, StatusCode::OK);
    // A v1 token (issuer https://sts.windows.net/{tid}/) too.
    let (st, v1) = idp
        .token_v1(
            &contoso.id.to_string(),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &reader.app_id.to_string()),
                ("client_secret", &secret),
                ("resource", MDE),
            ],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v1}");
    let (st, b) = node.call(M::GET, "/api/machines/$count", v1["access_token"].as_str()).await;
    assert_eq!((st, b.as_u64()), (StatusCode::OK, Some(12)), "{b}");
    // Another tenant of the same provider is accepted, and sees only its own (empty) data.
    let fabrikam = idp.tenant("Fabrikam").await;
    let (f_app, f_secret) = app(&idp, &fabrikam, "Reader", "WindowsDefenderATP", &["Machine.Read.All"]).await;
    let f_token = token(&idp, &fabrikam, &f_app, &f_secret, &format!("{MDE}/.default")).await;
    let (st, b) = node.call(M::GET, "/api/machines", Some(&f_token)).await;
    assert_eq!((st, b["value"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{b}");

    // 2. Refusals, in the service's format.
    let (st, b) = node.call(M::GET, "/api/machines", None).await;
    assert_unauthorized(st, &b, "No bearer token");
    let (st, b) = node.call(M::GET, "/api/machines", Some(&common::tamper_signature(&good))).await;
    assert_unauthorized(st, &b, "signature is invalid");
    let header = part(&good, 0);
    let idp_kid = header["kid"].as_str().unwrap().to_string();
    let claims = part(&good, 1);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    // The right claims under a foreign key: with its own kid (unknown), and with the provider's kid.
    let foreign = foreign_key();
    let (st, b) = node.call(M::GET, "/api/machines", Some(&sign(&foreign, foreign.kid(), &claims))).await;
    assert_unauthorized(st, &b, "no published signing key has kid");
    let (st, b) = node.call(M::GET, "/api/machines", Some(&sign(&foreign, &idp_kid, &claims))).await;
    assert_unauthorized(st, &b, "signature is invalid");
    // alg none, and HS256 keyed with the provider's public modulus (RS/HS confusion).
    let none = format!(
        "{}.{}.",
        b64::url_encode(json!({"typ": "JWT", "alg": "none"}).to_string()),
        b64::url_encode(claims.to_string())
    );
    let (st, b) = node.call(M::GET, "/api/machines", Some(&none)).await;
    assert_unauthorized(st, &b, "not a well-formed JWT");
    let (_, jwks) = idp.get_json("/common/discovery/v2.0/keys").await;
    let n = b64::url_decode_lenient(jwks["keys"][0]["n"].as_str().unwrap()).unwrap();
    let mut hs_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(idp_kid.clone());
    let hs = jsonwebtoken::encode(&hs_header, &claims, &jsonwebtoken::EncodingKey::from_secret(&n)).unwrap();
    let (st, b) = node.call(M::GET, "/api/machines", Some(&hs)).await;
    assert_unauthorized(st, &b, "only RS256 is accepted");
    // Signed with the provider's real key, but expired / of another tenant / issued by the node's host.
    let idp_key = idp.identity.keys.active().await.unwrap();
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims.clone();
        f(&mut c);
        sign(&idp_key, idp_key.kid(), &c)
    };
    let (st, b) = node.call(M::GET, "/api/machines", Some(&with(&|_| {}))).await;
    assert_eq!(st, StatusCode::OK, "the hand-made control token is fine: {b}");
    // The v2 issuer under the provider's host (the JWKS URL's origin, by default) is trusted.
    let v2 = with(&|c| c["iss"] = json!(format!("{}/{}/v2.0", idp.base, contoso.id)));
    let (st, b) = node.call(M::GET, "/api/machines", Some(&v2)).await;
    assert_eq!(st, StatusCode::OK, "v2 issuer of the provider: {b}");
    let expired = with(&|c| {
        c["nbf"] = json!(now - 7200);
        c["iat"] = json!(now - 7200);
        c["exp"] = json!(now - 600);
    });
    let (st, b) = node.call(M::GET, "/api/machines", Some(&expired)).await;
    assert_unauthorized(st, &b, "expired");
    let skewed = with(&|c| c["exp"] = json!(now - 60));
    let (st, b) = node.call(M::GET, "/api/machines", Some(&skewed)).await;
    assert_eq!(st, StatusCode::OK, "within the 5 minutes of clock skew: {b}");
    let other_tenant = with(&|c| c["iss"] = json!(format!("https://sts.windows.net/{}/", uuid::Uuid::new_v4())));
    let (st, b) = node.call(M::GET, "/api/machines", Some(&other_tenant)).await;
    assert_unauthorized(st, &b, "does not match the token's tenant");
    let node_issuer = with(&|c| c["iss"] = json!(format!("{}/{}/v2.0", node.base, contoso.id)));
    let (st, b) = node.call(M::GET, "/api/machines", Some(&node_issuer)).await;
    assert_unauthorized(st, &b, "does not match the token's tenant");
    // A valid token for another resource: 403, as the service answers.
    let (grapher, g_secret) = app(&idp, &contoso, "Grapher", "Microsoft Graph", &["Application.Read.All"]).await;
    let graph = token(&idp, &contoso, &grapher, &g_secret, "https://graph.microsoft.com/.default").await;
    let (st, b) = node.call(M::GET, "/api/machines", Some(&graph)).await;
    assert_eq!((st, b["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("Forbidden")), "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("audience"), "{b}");

    // 3. The provider rotates its signing key: the node picks the new kid up without a restart.
    let new_kid = idp.identity.keys.rotate(time::Duration::hours(1)).await.unwrap();
    let fresh = token(&idp, &contoso, &reader, &secret, &format!("{MDE}/.default")).await;
    assert_eq!(part(&fresh, 0)["kid"], new_kid.as_str());
    // Past the node's minimum interval between fetches (1 s here, 30 s by default).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (st, b) = node.call(M::GET, "/api/machines", Some(&fresh)).await;
    assert_eq!(st, StatusCode::OK, "new kid after rotation: {b}");
    let (st, _) = node.call(M::GET, "/api/machines", Some(&good)).await;
    assert_eq!(st, StatusCode::OK, "the previous key stays published until its tokens expire");

    // 4. Only the API: no protocol, discovery, page, Graph or operator routes.
    let (st, _) = node.call(M::GET, "/healthz", None).await;
    assert_eq!(st, StatusCode::OK);
    for (method, path) in [
        (M::POST, format!("/{}/oauth2/v2.0/token", contoso.id)),
        (M::POST, format!("/{}/oauth2/token", contoso.id)),
        (M::GET, "/common/discovery/v2.0/keys".to_string()),
        (M::GET, "/common/v2.0/.well-known/openid-configuration".to_string()),
        (M::GET, format!("/{}/oauth2/v2.0/authorize", contoso.id)),
        (M::GET, "/devicelogin".to_string()),
        (M::GET, "/jwt".to_string()),
        (M::GET, "/v1.0/users".to_string()),
        (M::GET, "/palisade/v1/tenants".to_string()),
        (M::GET, "/metadata/endpoints".to_string()),
    ] {
        let (st, _) = node.call(method.clone(), &path, Some(&good)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{method} {path} on an API node");
    }
    // Download links are served (this one is not valid, so refused rather than missing).
    let r = node.http.get(format!("{}/palisade/downloads/not-a-link", node.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    node.stop().await;
    idp.stop().await;
}

#[tokio::test]
async fn api_node_starts_before_its_identity_provider_and_rejects_bad_settings() {
    let idp = TestServer::start().await;
    let contoso = idp.contoso.clone();
    let (reader, secret) = app(&idp, &contoso, "Reader", "WindowsDefenderATP", &["Machine.Read.All"]).await;
    let good = token(&idp, &contoso, &reader, &secret, &format!("{MDE}/.default")).await;

    // Nothing listens on port 1: the node starts anyway and answers a retryable 500, never 200.
    let node = ApiNode::start(&idp, |n| n.jwks_url = "https://127.0.0.1:1/common/discovery/v2.0/keys".into()).await;
    let (st, b) = node.call(M::GET, "/api/machines", Some(&good)).await;
    assert_eq!(
        (st, b["error"]["code"].as_str()),
        (StatusCode::INTERNAL_SERVER_ERROR, Some("InternalServerError")),
        "{b}"
    );
    node.stop().await;

    // Configuration mistakes stop the start with the reason.
    type Tweak = Box<dyn FnOnce(&mut ApiNodeSettings)>;
    let cases: Vec<(Tweak, &str)> = vec![
        (Box::new(|n: &mut ApiNodeSettings| n.jwks_url = "http://idp.example/keys".into()), "https"),
        (Box::new(|n: &mut ApiNodeSettings| n.ca_file = None), "ca-certificates.crt"),
        (Box::new(|n: &mut ApiNodeSettings| n.ca_file = Some("/nonexistent/ca.pem".into())), "/nonexistent/ca.pem"),
        (Box::new(|n: &mut ApiNodeSettings| n.issuer_bases = vec!["https://idp.example/x/v2.0".into()]), "issuer base"),
    ];
    for (tweak, reason) in cases {
        let cfg = node_config(&idp, tweak);
        let err = match palisade_server::prepare(&cfg).await {
            Ok(_) => panic!("accepted a bad [api_node] ({reason})"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(reason), "{err}");
        let _ = std::fs::remove_dir_all(&cfg.data_dir);
    }

    // Explicit issuer bases replace the default (the JWKS URL's origin) for v2 issuers; the v1
    // issuer stays trusted.
    let node = ApiNode::start(&idp, |n| n.issuer_bases = vec!["https://login.microsoftonline.com/".into()]).await;
    let (st, b) = node.call(M::GET, "/api/machines", Some(&good)).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let idp_key = idp.identity.keys.active().await.unwrap();
    let mut claims = part(&good, 1);
    claims["iss"] = json!(format!("{}/{}/v2.0", idp.base, contoso.id));
    let (st, b) = node.call(M::GET, "/api/machines", Some(&sign(&idp_key, idp_key.kid(), &claims))).await;
    assert_unauthorized(st, &b, "does not match the token's tenant");
    claims["iss"] = json!(format!("https://login.microsoftonline.com/{}/v2.0", contoso.id));
    let (st, b) = node.call(M::GET, "/api/machines", Some(&sign(&idp_key, idp_key.kid(), &claims))).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    node.stop().await;
    idp.stop().await;
}
