//! Human-readable or JSON output for every command. Text goes to stdout; errors to stderr.

use std::net::SocketAddr;
use std::path::Path;

use clap::ValueEnum;
use palisade_crypto::tls::TlsPaths;
use serde_json::{Value, json};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

pub struct Out {
    pub format: Output,
}

impl Out {
    pub fn new(format: Output) -> Self {
        Self { format }
    }

    pub fn is_json(&self) -> bool {
        self.format == Output::Json
    }

    /// Prints `json` in JSON mode, `text` otherwise.
    pub fn emit(&self, json: &Value, text: impl FnOnce() -> String) {
        match self.format {
            Output::Json => println!("{}", serde_json::to_string_pretty(json).expect("json")),
            Output::Text => println!("{}", text()),
        }
    }

    pub fn error(&self, e: &anyhow::Error) {
        match self.format {
            Output::Json => eprintln!("{}", json!({"error": format!("{e:#}")})),
            Output::Text => eprintln!("error: {e:#}"),
        }
    }

    pub fn banner(
        &self,
        addrs: &[SocketAddr],
        drop_in: Option<SocketAddr>,
        data_dir: &Path,
        tls: &TlsPaths,
        first: Option<&palisade_server::FirstRun>,
        api_node_jwks: Option<&str>,
    ) {
        let urls: Vec<String> = addrs
            .iter()
            .map(|a| {
                let host = if a.ip().is_unspecified() {
                    "127.0.0.1".to_string()
                } else if a.is_ipv6() {
                    format!("[{}]", a.ip())
                } else {
                    a.ip().to_string()
                };
                if a.port() == 443 { format!("https://{host}") } else { format!("https://{host}:{}", a.port()) }
            })
            .collect();
        let ca = std::fs::canonicalize(&tls.ca_cert).unwrap_or(tls.ca_cert.clone());
        let first_json = first.map(|f| {
            json!({
                "tenantId": f.tenant.id, "tenantDomain": f.tenant.default_domain, "tenantName": f.tenant.display_name,
                "adminUserPrincipalName": f.admin.user_principal_name, "adminObjectId": f.admin.id, "adminPassword": f.admin_password,
            })
        });
        let proxy = drop_in.map(|a| format!("http://{a}"));
        let api_node = api_node_jwks.map(|u| json!({"jwksUrl": u}));
        let j = json!({"event": "started", "urls": urls, "dropInProxy": proxy, "dataDir": data_dir, "caCertificate": ca, "firstRun": first_json, "apiNode": api_node});
        self.emit(&j, || {
            let mut s = String::new();
            s.push_str("Palisade is running.\n");
            for u in &urls {
                s.push_str(&format!("  Listening:       {u}\n"));
            }
            if let Some(p) = &proxy {
                s.push_str(&format!("  Drop-in proxy:   {p}  (HTTPS_PROXY={p} answers for login.microsoftonline.com, api.securitycenter.microsoft.com, …)\n"));
            }
            s.push_str(&format!("  Data directory:  {} (embedded SQLite store, signing keys, TLS)\n", data_dir.display()));
            s.push_str(&format!("  CA certificate:  {}\n", ca.display()));
            s.push_str(&format!("    Trust it:      eval \"$(palisade ca --data-dir {})\"  (sets REQUESTS_CA_BUNDLE / SSL_CERT_FILE)\n", data_dir.display()));
            if let Some(f) = first {
                s.push_str("\nFirst run: created the demo directory.\n");
                s.push_str(&format!("  Tenant:               {} ({})\n", f.tenant.display_name, f.tenant.default_domain));
                s.push_str(&format!("  Directory (tenant) ID: {}\n", f.tenant.id));
                s.push_str(&format!("  Global Administrator: {}\n", f.admin.user_principal_name));
                s.push_str(&format!("  Password:             {}   <- shown once; it is stored only as a hash\n", f.admin_password));
            }
            let base = urls.first().cloned().unwrap_or_default();
            if let Some(jwks) = api_node_jwks {
                s.push_str("\nAPI-only node: serves /healthz, the Defender API and download links; no sign-in or token endpoints.\n");
                s.push_str(&format!("  Trusts tokens signed with the keys at {jwks}\n"));
                s.push_str(&format!("  Get a token from that identity provider, then: curl --cacert {} -H \"Authorization: Bearer <TOKEN>\" {base}/api/machines\n", ca.display()));
                return s;
            }
            s.push_str("\nNext steps (in another shell):\n");
            s.push_str("  palisade app register --name \"My integration\" --audience multi --redirect-uri web:https://portal.azure.com\n");
            s.push_str("  palisade app permission add --app <APP_ID> --api WindowsDefenderATP --permission Alert.Read.All --type application\n");
            s.push_str("  palisade app consent --app <APP_ID>\n");
            s.push_str("  palisade app secret add --app <APP_ID>\n");
            s.push_str(&format!("  curl --cacert {} -d grant_type=client_credentials -d client_id=<APP_ID> -d client_secret=<SECRET> \\\n", ca.display()));
            s.push_str(&format!("       -d scope=https://api.securitycenter.microsoft.com/.default {base}/<TENANT_ID>/oauth2/v2.0/token\n"));
            s.push_str(&format!("  Decode tokens at {base}/jwt or with `palisade token decode <JWT>`.\n"));
            s
        });
    }

    pub fn ca(&self, ca: &Path, bundle: &Path) {
        let j = json!({"caCertificate": ca, "bundle": bundle, "env": {"REQUESTS_CA_BUNDLE": bundle, "SSL_CERT_FILE": bundle, "CURL_CA_BUNDLE": bundle}});
        self.emit(&j, || {
            format!(
                "# Palisade CA certificate: {}\n# Bundle (system roots + Palisade CA): {}\nexport REQUESTS_CA_BUNDLE={}\nexport SSL_CERT_FILE={}\nexport CURL_CA_BUNDLE={}",
                ca.display(),
                bundle.display(),
                bundle.display(),
                bundle.display(),
                bundle.display()
            )
        });
    }
}
