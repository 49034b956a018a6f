//! Test harness: a real Palisade on loopback HTTPS with a fresh data directory, and helpers that
//! set up the directory through the identity domain (the same calls the management API makes).
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use palisade_directory::*;
use palisade_identity::Identity;
use palisade_identity::admin::{NewApplication, NewUser};
use palisade_server::{Config, Running};
use reqwest::StatusCode;
use serde_json::Value;

pub struct TestServer {
    pub base: String,
    pub dir: PathBuf,
    pub identity: Identity,
    pub http: reqwest::Client,
    pub ca_pem: Vec<u8>,
    pub contoso: Tenant,
    pub admin_upn: String,
    pub admin_password: String,
    /// The drop-in proxy address, when the test enabled it.
    pub drop_in: Option<std::net::SocketAddr>,
    pub audit: palisade_server::audit_log::AuditLog,
    pub faults: std::sync::Arc<dyn palisade_defender::faults::FaultStore>,
    pub security: std::sync::Arc<dyn palisade_defender::store::SecurityStore>,
    pub telemetry: std::sync::Arc<dyn palisade_telemetry::TelemetryStore>,
    running: Option<Running>,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = std::env::temp_dir().join(format!("palisade-it-{}", uuid::Uuid::new_v4()));
        let mut cfg =
            Config { data_dir: dir.clone(), listen: vec!["127.0.0.1:0".parse().unwrap()], ..Config::default() };
        tweak(&mut cfg);
        let prepared = palisade_server::prepare(&cfg).await.expect("prepare");
        let first = prepared.first_run.clone().expect("demo tenant on a fresh directory");
        let running = palisade_server::start(&prepared, &cfg).await.expect("start");
        let drop_in = running.drop_in_addr;
        let port = running.addrs[0].port();
        let ca_pem = std::fs::read(&prepared.tls.ca_cert).unwrap();
        let http = client(&ca_pem, false);
        Self {
            base: format!("https://127.0.0.1:{port}"),
            dir,
            identity: prepared.state.identity.clone(),
            http,
            ca_pem,
            contoso: first.tenant,
            admin_upn: first.admin.user_principal_name,
            admin_password: first.admin_password,
            drop_in,
            audit: prepared.state.audit.clone(),
            faults: prepared.state.faults.clone(),
            security: prepared.state.security.clone(),
            telemetry: prepared.state.telemetry.clone(),
            running: Some(running),
        }
    }

    /// A browser: keeps cookies, does not follow redirects (tests read `Location`).
    pub fn browser(&self) -> reqwest::Client {
        client(&self.ca_pem, true)
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown(Duration::from_secs(5)).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let r = self.http.post(format!("{}{path}", self.base)).form(form).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn token_v2(&self, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.post_form(&format!("/{tenant}/oauth2/v2.0/token"), form).await
    }

    pub async fn token_v1(&self, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        self.post_form(&format!("/{tenant}/oauth2/token"), form).await
    }

    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A JSON API call with an optional bearer token.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    // ---- directory setup -------------------------------------------------------------------

    pub async fn tenant(&self, name: &str) -> Tenant {
        self.identity.create_tenant(name, None).await.unwrap()
    }

    pub async fn user(&self, tenant: &Tenant, local: &str, roles: Vec<DirectoryRole>, password: &str) -> User {
        self.identity
            .create_user(
                tenant,
                NewUser {
                    user_principal_name: format!("{local}@{}", tenant.default_domain),
                    display_name: Some(local.to_string()),
                    password: Some(password.to_string()),
                    roles,
                    account_enabled: true,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .0
    }

    pub async fn app(
        &self,
        tenant: &Tenant,
        name: &str,
        audience: SignInAudience,
        web: &[&str],
        public_client: bool,
    ) -> Application {
        self.identity
            .register_application(
                tenant,
                NewApplication {
                    display_name: name.into(),
                    sign_in_audience: audience,
                    web_redirect_uris: web.iter().map(|s| s.to_string()).collect(),
                    public_client_redirect_uris: vec![],
                    spa_redirect_uris: vec![],
                    is_fallback_public_client: public_client,
                    identifier_uris: vec![],
                    create_service_principal: true,
                },
            )
            .await
            .unwrap()
    }

    pub async fn reload(&self, app: &Application) -> Application {
        self.identity.stores.directory.application(app.tenant_id, app.id).await.unwrap().unwrap()
    }

    pub async fn permission(
        &self,
        tenant: &Tenant,
        app: &Application,
        api: &str,
        perm: &str,
        kind: PermissionKind,
    ) -> Application {
        let app = self.reload(app).await;
        self.identity.add_api_permission(tenant, &app, api, perm, Some(kind)).await.unwrap()
    }

    pub async fn consent(&self, tenant: &Tenant, app: &Application) {
        let app = self.reload(app).await;
        let perms = self.identity.requested_permissions(tenant, &app, None).await.unwrap();
        self.identity.grant_admin_consent(tenant, &app, &perms, None).await.unwrap();
    }

    pub async fn secret(&self, tenant: &Tenant, app: &Application) -> String {
        let app = self.reload(app).await;
        self.identity.add_password(tenant, &app, Some("test".into()), None).await.unwrap().1
    }

    /// A client-credentials token of a new app holding `roles` (`(api, role)`), for the
    /// Microsoft 365 Defender resource when the first role is Microsoft Threat Protection's.
    pub async fn app_token(&self, tenant: &Tenant, roles: &[(&str, &str)]) -> String {
        let app =
            self.app(tenant, &format!("App {}", uuid::Uuid::new_v4()), SignInAudience::AzureADMyOrg, &[], false).await;
        for (api, r) in roles {
            self.permission(tenant, &app, api, r, PermissionKind::Role).await;
        }
        self.consent(tenant, &app).await;
        let secret = self.secret(tenant, &app).await;
        let scope = match roles.first() {
            Some(("Microsoft Threat Protection", _)) => "https://api.security.microsoft.com/.default",
            _ => "https://api.securitycenter.microsoft.com/.default",
        };
        let (st, b) = self
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
        b["access_token"].as_str().unwrap().to_string()
    }

    /// A confidential multi-tenant app in Contoso with Alert.Read.All consented and a secret.
    pub async fn daemon_app(&self) -> (Application, String) {
        let t = self.contoso.clone();
        let app =
            self.app(&t, "Daemon", SignInAudience::AzureADMultipleOrgs, &["https://portal.azure.com"], false).await;
        self.permission(&t, &app, "WindowsDefenderATP", "Alert.Read.All", PermissionKind::Role).await;
        self.consent(&t, &app).await;
        let secret = self.secret(&t, &app).await;
        (self.reload(&app).await, secret)
    }

    /// Verifies a JWT against the server's published JWKS (over HTTPS) with exact audience and
    /// issuer, returning its claims.
    pub async fn verify(&self, token: &str, audience: &str, issuer: &str) -> Value {
        let (_, jwks) = self.get_json("/common/discovery/keys").await;
        let header = jsonwebtoken::decode_header(token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        let kid = header.kid.expect("kid header");
        let jwk =
            jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("kid published in JWKS");
        let key =
            jsonwebtoken::DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap())
                .unwrap();
        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        v.set_audience(&[audience]);
        v.set_issuer(&[issuer]);
        jsonwebtoken::decode::<Value>(token, &key, &v).expect("token verifies").claims
    }
}

pub fn client(ca_pem: &[u8], browser: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
        .redirect(reqwest::redirect::Policy::none());
    if browser {
        b = b.cookie_store(true);
    }
    b.build().unwrap()
}

/// The value of a hidden form field in an HTML page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no hidden field {name} in page:\n{html}")) + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].replace("&amp;", "&").replace("&quot;", "\"")
}

/// Query parameters of a redirect `Location`.
pub fn location_params(resp: &reqwest::Response) -> (String, std::collections::HashMap<String, String>) {
    let loc = resp.headers().get("location").expect("redirect").to_str().unwrap().to_string();
    let url = url::Url::parse(&loc).unwrap();
    let params = url.query_pairs().into_owned().collect();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    (format!("{}://{}{port}{}", url.scheme(), url.host_str().unwrap_or(""), url.path()), params)
}

/// Flips one character in the middle of a JWT's signature. (Changing the last character can be a
/// no-op: it carries only two significant bits of a 256-byte signature.)
pub fn tamper_signature(jwt: &str) -> String {
    let i = jwt.rfind('.').expect("a JWS") + 20;
    let mut b = jwt.as_bytes().to_vec();
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}
