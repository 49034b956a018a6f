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
