//! Administration of a running Palisade through its management API. The CLI authenticates as the
//! Palisade Operator client with a certificate assertion signed by the operator key in the data
//! directory — the same client-credentials flow any integration uses.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use palisade_crypto::signing::SigningKey;
use palisade_crypto::tls::TlsPaths;
use palisade_crypto::{b64, cert};
use palisade_directory::catalog::PALISADE_OPERATOR_APP_ID;
use palisade_server::Config;
use serde_json::{Value, json};

use crate::output::Out;

#[derive(Args, Clone)]
pub struct Conn {
    /// Base URL of the running server (default: derived from the configured listen address).
    #[arg(long, env = "PALISADE_SERVER")]
    pub server: Option<String>,
}

#[derive(Args, Clone)]
pub struct TenantArg {
    /// Tenant id, domain or name (default: PALISADE_TENANT, else the first tenant).
    #[arg(long, env = "PALISADE_TENANT")]
    pub tenant: Option<String>,
    #[command(flatten)]
    pub conn: Conn,
}

#[derive(Subcommand)]
pub enum TenantCmd {
    /// Create a tenant with its own *.onmicrosoft.com domain.
    Create {
        #[arg(long)]
        name: String,
        /// Default: <name>.onmicrosoft.com
        #[arg(long)]
        domain: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        conn: Conn,
    },
}

#[derive(Subcommand)]
pub enum UserCmd {
    /// Create a user; a generated password is printed once.
    Create {
        #[command(flatten)]
        t: TenantArg,
        /// User principal name, e.g. analyst@contoso.onmicrosoft.com
        #[arg(long)]
        upn: String,
        #[arg(long)]
        display_name: Option<String>,
        /// Directory role (repeatable): "Global Administrator", "Security Administrator", "Security Reader"…
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Set the password instead of generating one (prefer PALISADE_USER_PASSWORD to keep it out of shell history).
        #[arg(long, env = "PALISADE_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List users.
    List {
        #[command(flatten)]
        t: TenantArg,
    },
    /// Disable or enable a user, reset the password, or add directory roles.
    Update {
        #[command(flatten)]
        t: TenantArg,
        /// User principal name or object id.
        #[arg(long)]
        upn: String,
        /// Block sign-in (AADSTS50057 from then on).
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        #[arg(long)]
        enable: bool,
        #[arg(long)]
        display_name: Option<String>,
        /// Add a directory role (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Generate a new password (printed once); also lifts smart lockout.
        #[arg(long)]
        reset_password: bool,
    },
}

#[derive(Subcommand)]
pub enum AppCmd {
    /// Register an application (portal: App registrations > New registration).
    Register {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        name: String,
        /// Supported account types: single (this directory), multi (any directory), personal (any directory + personal accounts).
        #[arg(long, default_value = "single")]
        audience: String,
        /// Redirect URI as PLATFORM:URI with PLATFORM web, public or spa (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Allow public client flows (ROPC, device code) without a secret.
        #[arg(long)]
        public_client: bool,
        /// App ID URI (repeatable), e.g. api://<appId>.
        #[arg(long = "identifier-uri")]
        identifier_uris: Vec<String>,
    },
    /// List app registrations.
    List {
        #[command(flatten)]
        t: TenantArg,
    },
    /// Show an app's Overview: application, object and tenant ids, permissions, credentials.
    Show {
        #[command(flatten)]
        t: TenantArg,
        /// Application (client) id or object id.
        #[arg(long)]
        app: String,
    },
    /// Change an app's authentication settings.
    Update {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        app: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        audience: Option<String>,
        /// Adds PLATFORM:URI redirect URIs (repeatable).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        #[arg(long)]
        public_client: Option<bool>,
    },
    /// API permissions.
    #[command(subcommand)]
    Permission(PermissionCmd),
    /// Grant admin consent for every configured permission ("Grant admin consent for <tenant>").
    Consent {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        app: String,
    },
    /// Client secrets.
    #[command(subcommand)]
    Secret(SecretCmd),
    /// Certificates.
    #[command(subcommand)]
    Cert(CertCmd),
    /// Delete an app registration (and its service principal in this tenant).
    Delete {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        app: String,
    },
    /// Print the multi-tenant consent link a customer's Global Administrator opens.
    ConsentLink {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        app: String,
    },
}

#[derive(Subcommand)]
pub enum PermissionCmd {
    /// Add a permission by API name and permission name (grants nothing until consent).
    Add {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        app: String,
        /// WindowsDefenderATP, "Microsoft Threat Protection", "Microsoft Graph", an appId or an App ID URI.
        #[arg(long)]
        api: String,
        /// e.g. Alert.Read.All
        #[arg(long)]
        permission: String,
        /// application (app role → `roles`) or delegated (scope → `scp`).
        #[arg(long = "type")]
        kind: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum SecretCmd {
    /// Remove a client secret by its Secret ID (keyId).
    Remove {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        app: String,
        #[arg(long)]
        key_id: String,
    },
    /// Add a client secret. Its value is printed once and never again.
    Add {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        app: String,
        #[arg(long)]
        description: Option<String>,
        /// Lifetime in days (default 180, at most 730).
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
}

#[derive(Subcommand)]
pub enum CertCmd {
    /// Upload a certificate (PEM or DER; only the public certificate is read).
    Add {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        app: String,
        #[arg(long)]
        cert: PathBuf,
        #[arg(long)]
        description: Option<String>,
    },
}

/// An authenticated management client.
pub struct Client {
    http: reqwest::Client,
    server: String,
    key: SigningKey,
    x5t: String,
    tokens: Mutex<HashMap<String, String>>,
}

fn default_server(cfg: &Config) -> String {
    let a = cfg.listen.first().copied().unwrap_or_else(|| "127.0.0.1:8443".parse().expect("valid"));
    let host =
        if a.ip().is_unspecified() || a.ip().is_loopback() { "localhost".to_string() } else { a.ip().to_string() };
    if a.port() == 443 { format!("https://{host}") } else { format!("https://{host}:{}", a.port()) }
}

impl Client {
    pub fn new(cfg: &Config, conn: &Conn) -> Result<Self> {
        let tls = TlsPaths::new(&cfg.data_dir);
        let hint = || {
            format!(
                "is this the data directory of a Palisade that has started? (--data-dir {})",
                cfg.data_dir.display()
            )
        };
        let ca =
            std::fs::read(&tls.ca_cert).with_context(|| format!("reading {}: {}", tls.ca_cert.display(), hint()))?;
        let op_cert_pem =
            std::fs::read(&tls.operator_cert).with_context(|| format!("reading {}", tls.operator_cert.display()))?;
        let op_key_pem = std::fs::read_to_string(&tls.operator_key)
            .with_context(|| format!("reading {}", tls.operator_key.display()))?;
        let parsed = cert::parse_certificate(&op_cert_pem)?;
        let key_der =
            pem_body(&op_key_pem).ok_or_else(|| anyhow!("{} is not a PEM private key", tls.operator_key.display()))?;
        let key = SigningKey::load("operator", &key_der, &parsed.der)?;
        let http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
            .build()?;
        let server = conn.server.clone().unwrap_or_else(|| default_server(cfg)).trim_end_matches('/').to_string();
        Ok(Self { http, server, key, x5t: cert::x5t(&parsed.der), tokens: Mutex::new(HashMap::new()) })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// An operator token for `tenant` ("organizations" = the system tenant, for operator endpoints).
    async fn token(&self, tenant: &str) -> Result<String> {
        if let Some(t) = self.tokens.lock().expect("lock").get(tenant) {
            return Ok(t.clone());
        }
        let url = format!("{}/{tenant}/oauth2/v2.0/token", self.server);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({"aud": url, "iss": PALISADE_OPERATOR_APP_ID, "sub": PALISADE_OPERATOR_APP_ID, "jti": uuid::Uuid::new_v4(), "nbf": now, "exp": now + 600});
        let assertion = self.key.sign_jwt(&json!({"alg": "RS256", "typ": "JWT", "x5t": self.x5t}), &claims)?;
        let resp = self
            .http
            .post(&url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", &PALISADE_OPERATOR_APP_ID.to_string()),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", &assertion),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .with_context(|| {
                format!(
                    "connecting to {} — is `palisade serve` running? (set --server or PALISADE_SERVER)",
                    self.server
                )
            })?;
        let body: Value = resp.json().await?;
        let token = body["access_token"]
            .as_str()
            .ok_or_else(|| anyhow!("{}", body["error_description"].as_str().unwrap_or("token request failed")))?
            .to_string();
        self.tokens.lock().expect("lock").insert(tenant.to_string(), token.clone());
        Ok(token)
    }

    pub async fn call(&self, tenant: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value> {
        let token = self.token(tenant).await?;
        let mut req = self.http.request(method, format!("{}{path}", self.server)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.with_context(|| format!("calling {path}"))?;
        Self::answer(resp).await
    }

    /// A call with a raw body (telemetry rows), answered like [`Client::call`].
    pub async fn call_bytes(&self, tenant: &str, path: &str, content_type: &str, body: Vec<u8>) -> Result<Value> {
        let token = self.token(tenant).await?;
        let req = self
            .http
            .post(format!("{}{path}", self.server))
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        let resp = req.send().await.with_context(|| format!("calling {path}"))?;
        Self::answer(resp).await
    }

    async fn answer(resp: reqwest::Response) -> Result<Value> {
        let status = resp.status();
        let text = resp.text().await?;
        let v: Value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if !status.is_success() {
            let msg = v["error"]["message"]
                .as_str()
                .or(v["error_description"].as_str())
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            bail!("{status}: {msg}");
        }
        Ok(v)
    }

    /// Resolves `--tenant` (id, domain or display name; default the first tenant).
    pub async fn tenant(&self, arg: Option<&str>) -> Result<Value> {
        let list = self.call("organizations", reqwest::Method::GET, "/palisade/v1/tenants", None).await?;
        let tenants = list["value"].as_array().cloned().unwrap_or_default();
        let found = match arg {
            None => tenants.first().cloned(),
            Some(a) => tenants
                .iter()
                .find(|t| {
                    t["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(a))
                        || t["displayName"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(a))
                        || t["verifiedDomains"][0]["name"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(a))
                })
                .cloned(),
        };
        found.ok_or_else(|| anyhow!("no tenant '{}': list them with `palisade tenant list`", arg.unwrap_or("(any)")))
    }
}

/// Percent-encodes a path segment (UPNs contain '@').
fn form_urlencoded_path(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    b64::std_decode_lenient(&body)
}

pub(crate) fn tid(t: &Value) -> String {
    t["id"].as_str().unwrap_or_default().to_string()
}

fn parse_audience(s: &str) -> Result<&'static str> {
    palisade_directory::SignInAudience::parse(s)
        .map(|a| a.as_str())
        .ok_or_else(|| anyhow!("unknown audience '{s}': use single, multi or personal"))
}

fn redirect_patch(uris: &[String], existing: Option<&Value>) -> Result<Value> {
    let mut web: Vec<String> = existing
        .and_then(|e| e["web"]["redirectUris"].as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut public: Vec<String> = existing
        .and_then(|e| e["publicClient"]["redirectUris"].as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let mut spa: Vec<String> = existing
        .and_then(|e| e["spa"]["redirectUris"].as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    for u in uris {
        let (platform, uri) = match u.split_once(':') {
            Some((p @ ("web" | "public" | "spa"), rest)) => (p, rest.to_string()),
            _ => ("web", u.clone()),
        };
        let list = match platform {
            "public" => &mut public,
            "spa" => &mut spa,
            _ => &mut web,
        };
        if !list.contains(&uri) {
            list.push(uri);
        }
    }
    Ok(json!({"web": {"redirectUris": web}, "publicClient": {"redirectUris": public}, "spa": {"redirectUris": spa}}))
}

pub async fn tenant(cfg: &Config, cmd: &TenantCmd, out: &Out) -> Result<()> {
    match cmd {
        TenantCmd::Create { name, domain, conn } => {
            let c = Client::new(cfg, conn)?;
            let t = c
                .call(
                    "organizations",
                    reqwest::Method::POST,
                    "/palisade/v1/tenants",
                    Some(json!({"displayName": name, "domain": domain})),
                )
                .await?;
            out.emit(&t, || {
                format!(
                    "Created tenant {}\n  Directory (tenant) ID: {}\n  Domain:                {}\nNext: palisade user create --tenant {} --upn admin@{} --role \"Global Administrator\"",
                    t["displayName"].as_str().unwrap_or(""),
                    tid(&t),
                    t["verifiedDomains"][0]["name"].as_str().unwrap_or(""),
                    tid(&t),
                    t["verifiedDomains"][0]["name"].as_str().unwrap_or("")
                )
            });
        }
        TenantCmd::List { conn } => {
            let c = Client::new(cfg, conn)?;
            let list = c.call("organizations", reqwest::Method::GET, "/palisade/v1/tenants", None).await?;
            out.emit(&list, || {
                list["value"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|t| {
                                format!(
                                    "{}  {}  {}",
                                    tid(t),
                                    t["verifiedDomains"][0]["name"].as_str().unwrap_or(""),
                                    t["displayName"].as_str().unwrap_or("")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default()
            });
        }
    }
    Ok(())
}

pub async fn user(cfg: &Config, cmd: &UserCmd, out: &Out) -> Result<()> {
    match cmd {
        UserCmd::Create { t, upn, display_name, roles, password } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let mut body = json!({"userPrincipalName": upn, "displayName": display_name, "accountEnabled": true, "palisadeDirectoryRoles": roles});
            if let Some(p) = password {
                body["passwordProfile"] = json!({"password": p});
            }
            let u = c.call(&tid(&tenant), reqwest::Method::POST, "/v1.0/users", Some(body)).await?;
            out.emit(&u, || {
                let mut s = format!(
                    "Created user {}\n  Object ID: {}\n  Tenant ID: {}\n",
                    upn,
                    u["id"].as_str().unwrap_or(""),
                    tid(&tenant)
                );
                if let Some(p) = u["passwordProfile"]["password"].as_str() {
                    s.push_str(&format!("  Password:  {p}   <- shown once\n"));
                }
                s.push_str(&format!(
                    "  Roles:     {}",
                    u["palisadeDirectoryRoles"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "(none)".into())
                ));
                s
            });
        }
        UserCmd::Update { t, upn, disable, enable, display_name, roles, reset_password } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let mut body = json!({"palisadeDirectoryRoles": roles, "palisadeGeneratePassword": reset_password});
            if *disable || *enable {
                body["accountEnabled"] = json!(*enable);
            }
            if let Some(n) = display_name {
                body["displayName"] = json!(n);
            }
            let path = format!("/v1.0/users/{}", form_urlencoded_path(upn));
            let r = c.call(&tid(&tenant), reqwest::Method::PATCH, &path, Some(body)).await?;
            let u = c.call(&tid(&tenant), reqwest::Method::GET, &path, None).await?;
            let password = r["passwordProfile"]["password"].as_str().map(str::to_string);
            let mut j = u.clone();
            if let Some(p) = &password {
                j["passwordProfile"] = json!({"password": p});
            }
            out.emit(&j, || {
                let mut s = format!(
                    "Updated user {}\n  Sign-in:   {}\n  Roles:     {}",
                    u["userPrincipalName"].as_str().unwrap_or(""),
                    if u["accountEnabled"] == true { "allowed" } else { "blocked" },
                    u["palisadeDirectoryRoles"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "(none)".into())
                );
                if let Some(p) = &password {
                    s.push_str(&format!("\n  Password:  {p}   <- shown once"));
                }
                s
            });
        }
        UserCmd::List { t } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let list = c.call(&tid(&tenant), reqwest::Method::GET, "/v1.0/users", None).await?;
            out.emit(&list, || {
                list["value"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|u| {
                                format!(
                                    "{}  {}  {}",
                                    u["id"].as_str().unwrap_or(""),
                                    u["userPrincipalName"].as_str().unwrap_or(""),
                                    u["palisadeDirectoryRoles"]
                                        .as_array()
                                        .map(|r| r.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                                        .unwrap_or_default()
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default()
            });
        }
    }
    Ok(())
}

fn overview(app: &Value, tenant: &Value) -> String {
    let mut s = String::new();
    s.push_str(&format!("{}\n", app["displayName"].as_str().unwrap_or("")));
    s.push_str(&format!("  Application (client) ID: {}\n", app["appId"].as_str().unwrap_or("")));
    s.push_str(&format!("  Object ID:               {}\n", app["id"].as_str().unwrap_or("")));
    s.push_str(&format!("  Directory (tenant) ID:   {}\n", tid(tenant)));
    s.push_str(&format!("  Supported account types: {}\n", app["signInAudience"].as_str().unwrap_or("")));
    for (label, key) in [("web", "web"), ("public", "publicClient"), ("spa", "spa")] {
        for u in app[key]["redirectUris"].as_array().into_iter().flatten() {
            s.push_str(&format!("  Redirect URI ({label}):      {}\n", u.as_str().unwrap_or("")));
        }
    }
    if app["isFallbackPublicClient"].as_bool() == Some(true) {
        s.push_str("  Public client flows:     allowed\n");
    }
    let secrets = app["passwordCredentials"].as_array().map(|a| a.len()).unwrap_or(0);
    let certs = app["keyCredentials"].as_array().map(|a| a.len()).unwrap_or(0);
    s.push_str(&format!("  Client credentials:      {certs} certificate(s), {secrets} secret(s)\n"));
    s.trim_end().to_string()
}

pub async fn app(cfg: &Config, cmd: &AppCmd, out: &Out) -> Result<()> {
    use reqwest::Method;
    match cmd {
        AppCmd::Register { t, name, audience, redirect_uris, public_client, identifier_uris } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let mut body = redirect_patch(redirect_uris, None)?;
            body["displayName"] = json!(name);
            body["signInAudience"] = json!(parse_audience(audience)?);
            body["isFallbackPublicClient"] = json!(*public_client);
            body["identifierUris"] = json!(identifier_uris);
            body["palisadeCreateServicePrincipal"] = json!(true);
            let app = c.call(&tid(&tenant), Method::POST, "/v1.0/applications", Some(body)).await?;
            let app_id = app["appId"].as_str().unwrap_or("").to_string();
            out.emit(&json!({"application": app, "tenantId": tid(&tenant)}), || {
                format!(
                    "Registered application.\n{}\nNext: palisade app permission add --tenant {} --app {app_id} --api WindowsDefenderATP --permission Alert.Read.All --type application",
                    overview(&app, &tenant),
                    tid(&tenant)
                )
            });
        }
        AppCmd::List { t } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let list = c.call(&tid(&tenant), Method::GET, "/v1.0/applications", None).await?;
            out.emit(&list, || {
                list["value"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| {
                                format!(
                                    "{}  {}  {}",
                                    x["appId"].as_str().unwrap_or(""),
                                    x["signInAudience"].as_str().unwrap_or(""),
                                    x["displayName"].as_str().unwrap_or("")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default()
            });
        }
        AppCmd::Show { t, app } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let a = c.call(&tid(&tenant), Method::GET, &format!("/v1.0/applications/{app}"), None).await?;
            out.emit(&json!({"application": a, "tenantId": tid(&tenant)}), || {
                let mut s = overview(&a, &tenant);
                for rra in a["requiredResourceAccess"].as_array().into_iter().flatten() {
                    for ra in rra["resourceAccess"].as_array().into_iter().flatten() {
                        s.push_str(&format!(
                            "\n  Permission: {} {} on {}",
                            ra["type"].as_str().unwrap_or(""),
                            ra["id"].as_str().unwrap_or(""),
                            rra["resourceAppId"].as_str().unwrap_or("")
                        ));
                    }
                }
                s
            });
        }
        AppCmd::Update { t, app, name, audience, redirect_uris, public_client } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let path = format!("/v1.0/applications/{app}");
            let existing = c.call(&tid(&tenant), Method::GET, &path, None).await?;
            let mut body =
                if redirect_uris.is_empty() { json!({}) } else { redirect_patch(redirect_uris, Some(&existing))? };
            if let Some(n) = name {
                body["displayName"] = json!(n);
            }
            if let Some(a) = audience {
                body["signInAudience"] = json!(parse_audience(a)?);
            }
            if let Some(p) = public_client {
                body["isFallbackPublicClient"] = json!(p);
            }
            c.call(&tid(&tenant), Method::PATCH, &path, Some(body)).await?;
            let a = c.call(&tid(&tenant), Method::GET, &path, None).await?;
            out.emit(&json!({"application": a, "tenantId": tid(&tenant)}), || {
                format!("Updated.\n{}", overview(&a, &tenant))
            });
        }
        AppCmd::Permission(PermissionCmd::Add { t, app, api, permission, kind }) => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let a = c
                .call(
                    &tid(&tenant),
                    Method::POST,
                    &format!("/v1.0/applications/{app}/addApiPermission"),
                    Some(json!({"api": api, "permission": permission, "type": kind})),
                )
                .await?;
            out.emit(&json!({"application": a, "tenantId": tid(&tenant)}), || {
                format!(
                    "Added {permission} ({}) on {api} to {}.\nNot granted yet: run `palisade app consent --tenant {} --app {}` (the portal's \"Grant admin consent\").",
                    kind.as_deref().unwrap_or("permission"),
                    a["displayName"].as_str().unwrap_or(""),
                    tid(&tenant),
                    a["appId"].as_str().unwrap_or("")
                )
            });
        }
        AppCmd::Consent { t, app } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let r = c
                .call(&tid(&tenant), Method::POST, &format!("/v1.0/applications/{app}/grantAdminConsent"), None)
                .await?;
            out.emit(&r, || {
                let list = |k: &str| r[k].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(" ")).filter(|s| !s.is_empty()).unwrap_or_else(|| "(none)".into());
                format!(
                    "Admin consent granted in {}.\n  Service principal:       {}\n  Application permissions: {}\n  Delegated permissions:   {}",
                    tid(&tenant),
                    r["servicePrincipalId"].as_str().unwrap_or(""),
                    list("appRolesGranted"),
                    list("scopesGranted")
                )
            });
        }
        AppCmd::Secret(SecretCmd::Add { t, app, description, expires_in_days }) => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let mut cred = json!({"displayName": description});
            // The portal's recommended 180 days unless told otherwise (Graph alone would give 2 years).
            let days = expires_in_days.unwrap_or(palisade_identity::admin::RECOMMENDED_SECRET_LIFETIME_DAYS);
            let end = time::OffsetDateTime::now_utc() + time::Duration::days(days);
            cred["endDateTime"] = json!(end.format(&time::format_description::well_known::Rfc3339)?);
            let a = c.call(&tid(&tenant), Method::GET, &format!("/v1.0/applications/{app}"), None).await?;
            let r = c
                .call(
                    &tid(&tenant),
                    Method::POST,
                    &format!("/v1.0/applications/{app}/addPassword"),
                    Some(json!({"passwordCredential": cred})),
                )
                .await?;
            out.emit(&json!({"passwordCredential": r, "appId": a["appId"], "tenantId": tid(&tenant)}), || {
                format!(
                    "Client secret added (copy the value now: it is never shown again).\n  Value:     {}\n  Secret ID: {}\n  Expires:   {}\n  Client ID: {}\n  Tenant ID: {}",
                    r["secretText"].as_str().unwrap_or(""),
                    r["keyId"].as_str().unwrap_or(""),
                    r["endDateTime"].as_str().unwrap_or(""),
                    a["appId"].as_str().unwrap_or(""),
                    tid(&tenant)
                )
            });
        }
        AppCmd::Cert(CertCmd::Add { t, app, cert: path, description }) => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let parsed = cert::parse_certificate(&bytes)?;
            let p = format!("/v1.0/applications/{app}");
            let existing = c.call(&tid(&tenant), Method::GET, &p, None).await?;
            let mut keys: Vec<Value> = existing["keyCredentials"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| json!({"keyId": k["keyId"]}))
                .collect();
            keys.push(json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": b64::std_encode(&parsed.der), "displayName": description}));
            c.call(&tid(&tenant), Method::PATCH, &p, Some(json!({"keyCredentials": keys}))).await?;
            let j = json!({"thumbprint": parsed.sha1_hex, "thumbprintSha256": parsed.sha256_hex, "subject": parsed.subject, "appId": existing["appId"], "tenantId": tid(&tenant)});
            out.emit(&j, || format!("Certificate added.\n  Thumbprint (SHA-1):   {}\n  Thumbprint (SHA-256): {}\n  Subject:              {}", parsed.sha1_hex, parsed.sha256_hex, parsed.subject));
        }
        AppCmd::Delete { t, app } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            c.call(&tid(&tenant), Method::DELETE, &format!("/v1.0/applications/{app}"), None).await?;
            out.emit(&json!({"deleted": app, "tenantId": tid(&tenant)}), || format!("Deleted application {app}."));
        }
        AppCmd::Secret(SecretCmd::Remove { t, app, key_id }) => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            c.call(
                &tid(&tenant),
                Method::POST,
                &format!("/v1.0/applications/{app}/removePassword"),
                Some(json!({"keyId": key_id})),
            )
            .await?;
            out.emit(&json!({"removed": key_id}), || {
                format!("Removed secret {key_id}; tokens already issued stay valid until they expire.")
            });
        }
        AppCmd::ConsentLink { t, app } => {
            let c = Client::new(cfg, &t.conn)?;
            let tenant = c.tenant(t.tenant.as_deref()).await?;
            let a = c.call(&tid(&tenant), Method::GET, &format!("/v1.0/applications/{app}"), None).await?;
            let link = format!(
                "{}/common/oauth2/authorize?prompt=consent&client_id={}&response_type=code&sso_reload=true",
                c.server(),
                a["appId"].as_str().unwrap_or("")
            );
            out.emit(&json!({"consentLink": link}), || {
                format!("Send this to the customer's Global Administrator:\n  {link}")
            });
        }
    }
    Ok(())
}

pub async fn rotate_keys(cfg: &Config, conn: &Conn, out: &Out) -> Result<()> {
    let c = Client::new(cfg, conn)?;
    let r = c.call("organizations", reqwest::Method::POST, "/palisade/v1/keys/rotate", None).await?;
    out.emit(&r, || {
        format!(
            "New signing key {} is active. Previous keys stay in the JWKS until the tokens they signed expire.",
            r["kid"].as_str().unwrap_or("")
        )
    });
    Ok(())
}

pub async fn list_keys(cfg: &Config, conn: &Conn, out: &Out) -> Result<()> {
    let c = Client::new(cfg, conn)?;
    let r = c.call("organizations", reqwest::Method::GET, "/palisade/v1/keys", None).await?;
    out.emit(&r, || {
        r["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|k| {
                        format!(
                            "{}  active={}  published={}  retire={}",
                            k["kid"].as_str().unwrap_or(""),
                            k["active"],
                            k["published"],
                            k["retireDateTime"].as_str().unwrap_or("-")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    });
    Ok(())
}

/// Decodes a token and checks its signature against the server's published keys.
pub async fn decode_token(cfg: &Config, conn: &Conn, token: &str, out: &Out) -> Result<()> {
    let token = if token == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        s
    } else {
        token.to_string()
    };
    let token = token.trim().trim_start_matches("Bearer ").to_string();
    let header = jsonwebtoken::decode_header(&token).context("not a JWT")?;
    let claims: Value = jsonwebtoken::dangerous::insecure_decode::<Value>(&token).context("not a JWT")?.claims;
    let signature = match Client::new(cfg, conn) {
        Ok(c) => match c.http.get(format!("{}/common/discovery/keys", c.server)).send().await {
            Ok(r) => {
                let jwks: Value = r.json().await.unwrap_or_default();
                let key = jwks["keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|k| Some(k["kid"].as_str().unwrap_or("")) == header.kid.as_deref());
                match key {
                    Some(k) => {
                        let dk = jsonwebtoken::DecodingKey::from_rsa_components(
                            k["n"].as_str().unwrap_or(""),
                            k["e"].as_str().unwrap_or(""),
                        )?;
                        let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
                        v.validate_exp = false;
                        v.validate_aud = false;
                        v.required_spec_claims.clear();
                        if jsonwebtoken::decode::<Value>(&token, &dk, &v).is_ok() { "verified" } else { "INVALID" }
                    }
                    None => "unknown key (not signed by this Palisade)",
                }
            }
            Err(_) => "not checked (server unreachable)",
        },
        Err(_) => "not checked (no data directory)",
    };
    let exp = claims["exp"].as_i64().unwrap_or(0);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let j = json!({"header": header, "claims": claims, "signature": signature, "expired": exp < now});
    out.emit(&j, || {
        let roles = claims["roles"].as_array().map(|a| a.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", ")).unwrap_or_else(|| "(none)".into());
        format!(
            "signature: {signature}\ntid:       {}\naud:       {}\niss:       {}\nappid:     {}\nroles:     {roles}\nscp:       {}\nexpires:   {} ({})\n\n{}",
            claims["tid"].as_str().unwrap_or("-"),
            claims["aud"].as_str().unwrap_or("-"),
            claims["iss"].as_str().unwrap_or("-"),
            claims["appid"].as_str().or(claims["azp"].as_str()).unwrap_or("-"),
            claims["scp"].as_str().unwrap_or("(none)"),
            time::OffsetDateTime::from_unix_timestamp(exp).ok().and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()).unwrap_or_default(),
            if exp < now { "EXPIRED" } else { "valid" },
            serde_json::to_string_pretty(&claims).unwrap_or_default()
        )
    });
    Ok(())
}

pub async fn audit(
    cfg: &Config,
    conn: &Conn,
    tenant: Option<&str>,
    since_minutes: Option<u32>,
    top: u32,
    out: &Out,
) -> Result<()> {
    let c = Client::new(cfg, conn)?;
    let mut path = format!("/palisade/v1/audit?top={top}");
    if let Some(t) = tenant {
        path.push_str(&format!("&tenantId={}", tid(&c.tenant(Some(t)).await?)));
    }
    if let Some(m) = since_minutes {
        path.push_str(&format!("&sinceMinutes={m}"));
    }
    let r = c.call("organizations", reqwest::Method::GET, &path, None).await?;
    out.emit(&r, || {
        r["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|x| {
                        format!(
                            "{}  {}  {} {}  {}  {:.1} ms  app={}",
                            x["time"].as_str().unwrap_or(""),
                            x["tenantId"].as_str().unwrap_or("-"),
                            x["method"].as_str().unwrap_or(""),
                            x["path"].as_str().unwrap_or(""),
                            x["status"],
                            x["latencyMs"].as_f64().unwrap_or(0.0),
                            x["appId"].as_str().unwrap_or("-")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    });
    Ok(())
}

#[derive(Subcommand)]
pub enum FaultsCmd {
    /// Set a fault plan (replaces any previous one for the same tenant/application).
    Set {
        #[command(flatten)]
        t: TenantArg,
        /// Only calls by this application (client id); default: the whole tenant.
        #[arg(long)]
        app: Option<String>,
        /// Added latency per call.
        #[arg(long, default_value_t = 0)]
        latency_ms: u32,
        /// Share of calls answered 500 (0.0–1.0).
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
        /// Answer every call 429 with Retry-After.
        #[arg(long)]
        throttle: bool,
        /// Refuse every token as expired (401).
        #[arg(long)]
        expire_tokens: bool,
    },
    /// Remove the fault plan of a tenant or application.
    Clear {
        #[command(flatten)]
        t: TenantArg,
        #[arg(long)]
        app: Option<String>,
    },
}

pub async fn faults(cfg: &Config, cmd: &FaultsCmd, out: &Out) -> Result<()> {
    let (t, app, plan) = match cmd {
        FaultsCmd::Set { t, app, latency_ms, error_rate, throttle, expire_tokens } => (
            t,
            app,
            json!({"latencyMs": latency_ms, "errorRate": error_rate, "throttle": throttle, "expireTokens": expire_tokens}),
        ),
        FaultsCmd::Clear { t, app } => (t, app, Value::Null),
    };
    let c = Client::new(cfg, &t.conn)?;
    let tenant = c.tenant(t.tenant.as_deref()).await?;
    let r = c
        .call(
            "organizations",
            reqwest::Method::POST,
            "/palisade/v1/faults",
            Some(json!({"tenantId": tid(&tenant), "appId": app, "plan": plan})),
        )
        .await?;
    out.emit(&r, || match r["plan"].is_null() {
        true => format!(
            "Fault plan cleared for {}{}.",
            tid(&tenant),
            app.as_ref().map(|a| format!(" / app {a}")).unwrap_or_default()
        ),
        false => format!(
            "Fault plan set for {}{}: {}",
            tid(&tenant),
            app.as_ref().map(|a| format!(" / app {a}")).unwrap_or_default(),
            r["plan"]
        ),
    });
    Ok(())
}
