//! Server configuration. The binary merges a TOML file, `PALISADE_*` environment variables and
//! flags (in that order of precedence) into this struct.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Addresses to serve HTTPS on. Add `127.0.0.1:443` for MSAL's port-less user-realm lookup.
    pub listen: Vec<SocketAddr>,
    /// Drop-in mode: a plain-HTTP port answering CONNECT for the Microsoft host names (use it as
    /// `HTTPS_PROXY`), so clients with hard-coded Microsoft URLs reach Palisade unchanged.
    pub drop_in_listen: Option<SocketAddr>,
    /// Where the embedded store, TLS material and keys live.
    pub data_dir: PathBuf,
    /// Extra DNS names or IPs for the server certificate.
    pub tls_extra_names: Vec<String>,
    /// Create the Contoso demo tenant on an empty directory.
    pub demo: bool,
    pub identity: IdentitySettings,
    /// Defender API quotas: `real` (the documented per-tenant, per-API limits) or `off`.
    pub throttling: palisade_defender::quota::Throttling,
    /// The in-process device agent that runs response actions (delays, failure rate, time-outs).
    pub agent: palisade_defender::agent::AgentConfig,
    pub log: LogSettings,
    /// The advanced hunting tables: retention and compaction of the Parquet files.
    pub telemetry: TelemetrySettings,
    /// API-only node: serve the Defender API (and download links) and trust an identity provider
    /// elsewhere by its JWKS URL, so API nodes scale apart from token issuance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_node: Option<ApiNodeSettings>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySettings {
    pub access_token_lifetime_secs: i64,
    pub refresh_token_lifetime_days: i64,
    pub lockout_threshold: u32,
    pub lockout_seconds: i64,
    /// How often a node re-reads signing keys (picks up rotations made elsewhere).
    pub key_refresh_secs: u64,
}

/// `[telemetry]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// Rows older than this many days are dropped (the hunting API queries 30 days).
    pub retention_days: u32,
    /// How often retention and compaction of small files run.
    pub maintenance_secs: u64,
    /// Largest ingestion request body, in MiB.
    pub max_request_mib: usize,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self { retention_days: 30, maintenance_secs: 3600, max_request_mib: 256 }
    }
}

/// `[api_node]`: where the trusted identity provider publishes its keys, and how often to fetch
/// them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiNodeSettings {
    /// The identity provider's JWKS, e.g. `https://idp.example:8443/common/discovery/v2.0/keys`
    /// (Entra: `https://login.microsoftonline.com/common/discovery/v2.0/keys`). https, or plain
    /// http to a loopback host.
    pub jwks_url: String,
    /// PEM certificate(s) the JWKS host's certificate chains to: a Palisade IdP's
    /// `<data_dir>/tls/ca.pem`, or for a public IdP the system bundle. Required for https — the
    /// build carries no root store of its own.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Bases whose v2 issuer `{base}/{tid}/v2.0` is trusted; empty means the JWKS URL's origin.
    /// The v1 issuer `https://sts.windows.net/{tid}/` is always trusted.
    #[serde(default)]
    pub issuer_bases: Vec<String>,
    /// Keys older than this are fetched again.
    #[serde(default = "ApiNodeSettings::default_refresh_secs")]
    pub refresh_secs: u64,
    /// At most one fetch per this many seconds, however many unknown `kid`s arrive.
    #[serde(default = "ApiNodeSettings::default_min_refresh_secs")]
    pub min_refresh_secs: u64,
}

impl ApiNodeSettings {
    pub fn new(jwks_url: impl Into<String>) -> Self {
        Self {
            jwks_url: jwks_url.into(),
            ca_file: None,
            issuer_bases: vec![],
            refresh_secs: Self::default_refresh_secs(),
            min_refresh_secs: Self::default_min_refresh_secs(),
        }
    }

    fn default_refresh_secs() -> u64 {
        3600
    }

    fn default_min_refresh_secs() -> u64 {
        30
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `text` or `json`.
    pub format: String,
    /// tracing filter, e.g. `info,palisade_identity=debug`.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: vec!["127.0.0.1:8443".parse().expect("valid")],
            drop_in_listen: None,
            data_dir: PathBuf::from(".palisade"),
            tls_extra_names: vec![],
            demo: true,
            identity: IdentitySettings::default(),
            throttling: Default::default(),
            agent: Default::default(),
            log: LogSettings::default(),
            telemetry: TelemetrySettings::default(),
            api_node: None,
        }
    }
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            access_token_lifetime_secs: 3600,
            refresh_token_lifetime_days: 90,
            lockout_threshold: 10,
            lockout_seconds: 60,
            key_refresh_secs: 30,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: "text".into(), filter: "info".into() }
    }
}

impl IdentitySettings {
    pub fn to_identity_config(&self) -> palisade_identity::IdentityConfig {
        palisade_identity::IdentityConfig {
            access_token_lifetime: time::Duration::seconds(self.access_token_lifetime_secs.clamp(300, 86_400)),
            refresh_token_lifetime: time::Duration::days(self.refresh_token_lifetime_days.max(1)),
            lockout_threshold: self.lockout_threshold.max(1),
            lockout_duration: time::Duration::seconds(self.lockout_seconds.max(1)),
            ..Default::default()
        }
    }
}
