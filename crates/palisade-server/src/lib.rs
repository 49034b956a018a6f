//! Palisade's HTTPS server: the Entra-compatible protocol endpoints, the interactive pages and the
//! Graph-shaped management API over one [`Identity`], on rustls. With `[api_node]` configured the
//! same binary serves only the Defender API, trusting another identity provider ([`api_node`]).

pub mod api_node;
pub mod audit_log;
pub mod config;
pub mod dropin;
pub mod fault_cache;
pub mod http;
pub mod ingest;
pub mod simulation;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use palisade_crypto::tls::{TlsPaths, TlsSetup};
use palisade_directory::Stores;
use palisade_identity::{Identity, KeyRing};
use palisade_store_sqlite::SqliteStore;
use tower_http::trace::TraceLayer;

pub use config::Config;
pub use palisade_identity::bootstrap::FirstRun;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub identity: Identity,
    /// Checks the Defender API's bearer tokens: against `identity`'s key ring, or on an API node
    /// against the trusted identity provider's JWKS.
    pub api_tokens: palisade_identity::AccessTokenValidator,
    /// Defender indicators (the first Defender API collection served).
    pub indicators: Arc<dyn palisade_defender::indicators::IndicatorStore>,
    /// Shared API quota counters and the configured mode.
    pub quotas: Arc<dyn palisade_defender::quota::QuotaStore>,
    pub throttling: palisade_defender::quota::Throttling,
    /// Audit trail of Defender API calls, written in batches off the request path.
    pub audit: audit_log::AuditLog,
    /// Fault-injection plans.
    pub faults: Arc<dyn palisade_defender::faults::FaultStore>,
    /// Machines, alerts, actions, incidents, files, users and portal RBAC, keyed by tenant.
    pub security: Arc<dyn palisade_defender::store::SecurityStore>,
    /// The advanced hunting tables, keyed by tenant.
    pub telemetry: Arc<dyn palisade_telemetry::TelemetryStore>,
    /// Largest ingestion request body, in bytes.
    pub max_ingest_bytes: usize,
    /// Simulation runs started on this node.
    pub simulations: simulation::Simulations,
    pub data_dir: std::path::PathBuf,
}

impl AppState {
    /// Where simulations write.
    pub fn simulation_target(&self) -> simulation::Target {
        simulation::Target {
            security: self.security.clone(),
            telemetry: self.telemetry.clone(),
            data_dir: self.data_dir.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("storage: {0}")]
    Store(#[from] palisade_directory::StoreError),
    #[error("key material: {0}")]
    Crypto(#[from] palisade_crypto::CryptoError),
    #[error("identity: {0}")]
    Identity(#[from] palisade_identity::IdentityError),
    #[error("bootstrap: {0}")]
    Bootstrap(#[from] palisade_identity::admin::GraphError),
    #[error("cannot listen on {addr}: {source}. Is another process using it? Choose another with --listen.")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("telemetry store: {0}")]
    Telemetry(String),
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// Not a `#[source]`: the message already carries it, and error chains would repeat it.
    #[error("API node: {0}")]
    ApiNode(api_node::ApiNodeError),
}

impl From<api_node::ApiNodeError> for ServerError {
    fn from(e: api_node::ApiNodeError) -> Self {
        Self::ApiNode(e)
    }
}

/// The service Palisade runs: the router behind the `/api` path canonicalisation.
pub type App = tower::util::MapRequest<Router, fn(HyperRequest) -> HyperRequest>;
type HyperRequest = axum::http::Request<hyper::body::Incoming>;

/// [`router`] with `/api` paths matched case-insensitively.
pub fn app(state: AppState) -> App {
    tower::util::MapRequest::new(
        router(state),
        http::defender::canonical_api_path::<hyper::body::Incoming> as fn(HyperRequest) -> HyperRequest,
    )
}

/// Every route Palisade serves.
pub fn router(state: AppState) -> Router {
    use http::{graph, oauth, operator, pages};
    let routes = Router::new()
        .route("/healthz", get(oauth::healthz))
        .route("/metadata/endpoints", get(oauth::arm_metadata))
        .route("/devicelogin", get(pages::devicelogin_form).post(pages::devicelogin_submit))
        .route("/jwt", get(pages::jwt_form).post(pages::jwt_submit))
        // Protocol.
        .route("/{tenant}/oauth2/token", post(oauth::token_v1))
        .route("/{tenant}/oauth2/v2.0/token", post(oauth::token_v2))
        .route("/{tenant}/oauth2/devicecode", post(oauth::devicecode_v1))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(oauth::devicecode_v2))
        .route("/{tenant}/.well-known/openid-configuration", get(oauth::openid_v1))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(oauth::openid_v2))
        .route("/{tenant}/discovery/keys", get(oauth::jwks_v1))
        .route("/{tenant}/discovery/v2.0/keys", get(oauth::jwks_v2))
        .route("/{tenant}/discovery/instance", get(oauth::instance))
        .route("/{tenant}/userrealm/{upn}", get(oauth::userrealm))
        // Interactive.
        .route("/{tenant}/oauth2/authorize", get(pages::authorize_v1))
        .route("/{tenant}/oauth2/v2.0/authorize", get(pages::authorize_v2))
        .route("/{tenant}/adminconsent", get(pages::adminconsent_v1))
        .route("/{tenant}/v2.0/adminconsent", get(pages::adminconsent_v2))
        .route("/{tenant}/login", post(pages::login))
        .route("/{tenant}/consent", post(pages::consent))
        .route("/{tenant}/oauth2/logout", get(pages::logout))
        .route("/{tenant}/oauth2/v2.0/logout", get(pages::logout))
        // Management (Graph-shaped).
        .route("/v1.0/organization", get(graph::organization))
        .route("/v1.0/me", get(graph::me))
        .route("/v1.0/users", get(graph::list_users).post(graph::create_user))
        .route("/v1.0/users/{id}", get(graph::get_user).patch(graph::patch_user))
        .route("/v1.0/roleManagement/directory/roleAssignments", post(graph::assign_directory_role))
        .route("/v1.0/{alt}", get(graph::alt_get).patch(graph::alt_patch).delete(graph::alt_delete))
        .route("/v1.0/applications", get(graph::list_applications).post(graph::create_application))
        .route(
            "/v1.0/applications/{id}",
            get(graph::get_application).patch(graph::patch_application).delete(graph::delete_application),
        )
        .route("/v1.0/applications/{id}/addPassword", post(graph::add_password))
        .route("/v1.0/applications/{id}/removePassword", post(graph::remove_password))
        .route("/v1.0/applications/{id}/addApiPermission", post(graph::add_api_permission))
        .route("/v1.0/applications/{id}/grantAdminConsent", post(graph::grant_admin_consent))
        .route("/v1.0/servicePrincipals", get(graph::list_service_principals).post(graph::create_service_principal))
        .route(
            "/v1.0/servicePrincipals/{id}",
            get(graph::get_service_principal).delete(graph::delete_service_principal),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignments",
            get(graph::list_app_role_assignments).post(graph::create_app_role_assignment),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignments/{aid}",
            axum::routing::delete(graph::delete_app_role_assignment),
        )
        .route("/v1.0/servicePrincipals/{id}/appRoleAssignedTo", get(graph::list_app_role_assigned_to))
        .route("/v1.0/oauth2PermissionGrants", get(graph::list_grants).post(graph::create_grant))
        .route("/v1.0/oauth2PermissionGrants/{id}", axum::routing::delete(graph::delete_grant))
        // Defender for Endpoint and Microsoft 365 Defender APIs, latest and versioned.
        .nest("/api", api_routes())
        .nest("/api/v1.0", api_routes())
        .route("/palisade/downloads/{token}", get(http::security::download))
        .route("/palisade/bench/static", get(http::security::bench_static))
        // Operator.
        .route("/palisade/v1/tenants", get(graph::list_tenants).post(graph::create_tenant))
        .route("/palisade/v1/keys", get(graph::list_keys))
        .route("/palisade/v1/audit", get(graph::audit))
        .route("/palisade/v1/faults", post(graph::set_faults))
        .route("/palisade/v1/keys/rotate", post(graph::rotate_keys))
        .route("/palisade/v1/tenants/{tid}/groups", get(operator::list_groups).post(operator::create_group))
        .route("/palisade/v1/tenants/{tid}/groups/{gid}/members", post(operator::change_member))
        .route("/palisade/v1/tenants/{tid}/rbac", get(operator::get_rbac).put(operator::put_rbac))
        .route("/palisade/v1/tenants/{tid}/fixtures", post(operator::load_fixtures))
        .route(
            "/palisade/v1/tenants/{tid}/telemetry/{table}",
            post(http::telemetry::operator_ingest).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/palisade/v1/tenants/{tid}/simulation",
            post(operator::start_simulation).get(operator::simulation_status),
        );
    layered(routes, state)
}

/// The layers every router shares (full server and API node): the `/api` audit trail and request
/// spans.
fn layered(routes: Router<AppState>, state: AppState) -> Router {
    routes
        // Innermost, so a handler's panic is answered (and audited) as a 500, not a dropped
        // connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::defender::audit_api))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            // Path only: query strings can carry codes and hints that do not belong in logs.
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
        }))
        .with_state(state)
}

/// A handler panicked: log it and answer the service's 500 body, whose `target` is the id to find
/// the log line by.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    let target = uuid::Uuid::new_v4();
    tracing::error!(%target, panic = what, "a handler panicked");
    let e = palisade_defender::DefenderError::new(500, "InternalServerError", "An unexpected error occurred.");
    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(e.body(target))).into_response()
}

/// The routes under `/api` (served at `/api` and `/api/v1.0`). Segment casing is canonicalised
/// before routing ([`http::defender::canonical_api_path`]).
fn api_routes() -> Router<AppState> {
    use axum::routing::patch;
    use http::{defender, security as sec};
    Router::new()
        .route("/openapi.json", get(http::openapi::document))
        // Alerts.
        .route("/alerts", get(sec::list_alerts))
        .route("/alerts/$count", get(sec::count_alerts))
        .route("/alerts/batchUpdate", post(sec::batch_update_alerts))
        .route("/alerts/{id}", get(sec::get_alert).patch(sec::update_alert))
        .route("/alerts/{id}/files", get(sec::alert_files))
        .route("/alerts/{id}/ips", get(sec::alert_ips))
        .route("/alerts/{id}/domains", get(sec::alert_domains))
        .route("/alerts/{id}/machine", get(sec::alert_machine))
        .route("/alerts/{id}/user", get(sec::alert_user))
        // Machines.
        .route("/machines", get(sec::list_machines))
        .route("/machines/$count", get(sec::count_machines))
        .route("/machines/findbytag", get(sec::find_by_tag))
        .route("/machines/AddOrRemoveTagForMultipleMachines", post(sec::tag_machines))
        .route("/machines/{id}", get(sec::get_machine).patch(sec::update_machine))
        .route("/machines/{id}/logonusers", get(sec::machine_logon_users))
        .route("/machines/{id}/alerts", get(sec::machine_alerts))
        .route("/machines/{id}/alerts/$count", get(sec::machine_alerts_count))
        .route("/machines/{id}/tags", post(sec::tag_machine))
        .route("/machines/{id}/setDeviceValue", post(sec::set_device_value))
        .route("/machines/{id}/isolate", post(sec::isolate))
        .route("/machines/{id}/unisolate", post(sec::unisolate))
        .route("/machines/{id}/restrictCodeExecution", post(sec::restrict))
        .route("/machines/{id}/unrestrictCodeExecution", post(sec::unrestrict))
        .route("/machines/{id}/runAntiVirusScan", post(sec::scan))
        .route("/machines/{id}/collectInvestigationPackage", post(sec::collect))
        .route("/machines/{id}/offboard", post(sec::offboard))
        .route("/machines/{id}/StopAndQuarantineFile", post(sec::quarantine))
        .route("/machines/{id}/runliveresponse", post(sec::live_response))
        // Machine actions.
        .route("/machineactions", get(sec::list_actions))
        .route("/machineactions/$count", get(sec::count_actions))
        .route("/machineactions/{id}", get(sec::get_action))
        .route("/machineactions/{id}/cancel", post(sec::cancel_action))
        .route("/machineactions/{id}/getPackageUri", get(sec::get_package_uri))
        .route("/machineactions/{id}/{func}", get(sec::action_function))
        // Files, IPs, domains, users.
        .route("/files/{id}", get(sec::get_file))
        .route("/files/{id}/stats", get(sec::file_stats))
        .route("/files/{id}/alerts", get(sec::file_alerts))
        .route("/files/{id}/machines", get(sec::file_machines))
        .route("/ips/{ip}/stats", get(sec::ip_stats))
        .route("/ips/{ip}/alerts", get(sec::ip_alerts))
        .route("/domains/{d}/stats", get(sec::domain_stats))
        .route("/domains/{d}/alerts", get(sec::domain_alerts))
        .route("/domains/{d}/machines", get(sec::domain_machines))
        .route("/users/{id}/alerts", get(sec::user_alerts))
        .route("/users/{id}/machines", get(sec::user_machines))
        // Indicators.
        .route("/indicators", get(defender::list_indicators).post(defender::submit_indicator))
        .route("/indicators/import", post(defender::import_indicators))
        .route("/indicators/BatchDelete", post(defender::batch_delete_indicators))
        .route("/indicators/{id}", axum::routing::delete(defender::delete_indicator))
        // Microsoft 365 Defender incidents.
        .route("/incidents", get(sec::list_incidents))
        .route("/incidents/{id}", get(sec::get_incident).merge(patch(sec::update_incident)))
        // Palisade's telemetry ingestion (the size limit is the handler's, from config).
        .route(
            "/palisade/ingest/{table}",
            post(http::telemetry::ingest).layer(axum::extract::DefaultBodyLimit::disable()),
        )
}

/// Opens the embedded store and key ring, creates TLS material and the first-run directory.
pub struct Prepared {
    pub state: AppState,
    pub tls: TlsPaths,
    pub tls_setup: TlsSetup,
    pub first_run: Option<FirstRun>,
}

pub async fn prepare(config: &Config) -> Result<Prepared, ServerError> {
    let tls = TlsPaths::new(&config.data_dir);
    let tls_setup = palisade_crypto::tls::ensure(&tls, &config.tls_extra_names)?;
    let backend = Arc::new(SqliteStore::open(&config.data_dir)?);
    let telemetry = Arc::new(
        palisade_telemetry::parquet_store::ParquetStore::open(&config.data_dir)
            .map_err(|e| ServerError::Telemetry(e.to_string()))?,
    );
    let stores = Stores::from_backend(backend.clone());
    let keys =
        Arc::new(KeyRing::open(stores.clone(), Duration::from_secs(config.identity.key_refresh_secs.max(1))).await?);
    let identity = Identity::new(stores, keys, config.identity.to_identity_config());
    let (api_tokens, first_run) = match &config.api_node {
        // An API node issues nothing: no system or demo directory, and tokens are checked against
        // the trusted identity provider's keys.
        Some(node) => (api_node::validator(node).await?, None),
        None => {
            let op_cert = std::fs::read(&tls.operator_cert)
                .map_err(|e| ServerError::Tls(format!("{}: {e}", tls.operator_cert.display())))?;
            identity.ensure_system(&op_cert).await?;
            let first_run = if config.demo { identity.ensure_demo().await? } else { None };
            (identity.tokens.clone(), first_run)
        }
    };
    let state = AppState {
        identity,
        api_tokens,
        indicators: backend.clone(),
        quotas: backend.clone(),
        throttling: config.throttling,
        audit: audit_log::AuditLog::spawn(backend.clone()),
        faults: Arc::new(fault_cache::CachedFaults::new(backend.clone())),
        security: backend,
        telemetry,
        max_ingest_bytes: config.telemetry.max_request_mib.saturating_mul(1 << 20),
        simulations: simulation::Simulations::default(),
        data_dir: config.data_dir.clone(),
    };
    Ok(Prepared { state, tls, tls_setup, first_run })
}

/// A server bound to its listeners.
pub struct Running {
    pub addrs: Vec<SocketAddr>,
    /// The drop-in (CONNECT proxy) port, when enabled.
    pub drop_in_addr: Option<SocketAddr>,
    handles: Vec<Handle<SocketAddr>>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    stop_drop_in: Option<(tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>)>,
    audit: audit_log::AuditLog,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to `grace`), and waits.
    pub async fn shutdown(self, grace: Duration) {
        if let Some((stop, task)) = self.stop_drop_in {
            let _ = stop.send(true);
            let _ = task.await;
        }
        for h in &self.handles {
            h.graceful_shutdown(Some(grace));
        }
        for t in self.tasks {
            let _ = t.await;
        }
        // The calls answered while draining are in the trail before the process exits.
        self.audit.flush().await;
    }
}

fn rustls_config(tls: &TlsPaths) -> Result<rustls::ServerConfig, ServerError> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let certs = rustls::pki_types::CertificateDer::pem_file_iter(&tls.server_cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| ServerError::Tls(format!("{}: {e}", tls.server_cert.display())))?;
    use rustls::pki_types::pem::PemObject;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&tls.server_key)
        .map_err(|e| ServerError::Tls(format!("{}: {e}", tls.server_key.display())))?;
    let mut cfg = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Runs the device agent: polls open response actions and moves them along their lifecycle.
/// Every node may run it — transitions are compare-and-set in the store, so two agents never
/// both apply one.
fn spawn_agent(
    store: Arc<dyn palisade_defender::store::SecurityStore>,
    telemetry: Arc<dyn palisade_telemetry::TelemetryStore>,
    cfg: palisade_defender::agent::AgentConfig,
) {
    let period = (cfg.pickup_delay.min(cfg.run_delay) / 2).clamp(Duration::from_millis(20), Duration::from_secs(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rng = || u64::from_le_bytes(palisade_crypto::random::bytes::<8>()) as f64 / (u64::MAX as f64 + 1.0);
        loop {
            tick.tick().await;
            match palisade_defender::agent::run_once(store.as_ref(), &cfg, time::OffsetDateTime::now_utc(), &mut rng)
                .await
            {
                Ok(moved) if !moved.is_empty() => {
                    tracing::debug!(transitions = moved.len(), "device agent pass");
                    report_effects(store.as_ref(), telemetry.as_ref(), &moved).await;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "device agent pass failed"),
            }
        }
    });
}

/// The sensor events of finished actions (a scan's `DeviceEvents` row), written to the hunting
/// tables. Best effort: the action's own state is already stored, and a lost event is logged.
async fn report_effects(
    store: &dyn palisade_defender::store::SecurityStore,
    telemetry: &dyn palisade_telemetry::TelemetryStore,
    moved: &[(uuid::Uuid, palisade_defender::model::MachineAction)],
) {
    for (tenant, action) in moved {
        let machine = match store.machine(*tenant, &action.machine_id).await {
            Ok(Some(m)) => m.machine,
            _ => continue,
        };
        let events = palisade_simulator::effects::action_events(&machine, action);
        if events.is_empty() {
            continue;
        }
        let mut sink = palisade_simulator::Sink::new();
        for e in &events {
            sink.push(e);
        }
        for (table, batch) in sink.finish() {
            if let Err(e) = telemetry.append(*tenant, table, batch).await {
                tracing::warn!(error = %e, action = %action.id, "could not record the action's sensor event");
            }
        }
    }
}

/// Drops telemetry past retention and merges small files, now and then every interval. Safe on
/// every node at once: both are idempotent and crash-safe in the store.
fn spawn_telemetry_maintenance(
    store: Arc<dyn palisade_telemetry::TelemetryStore>,
    settings: config::TelemetrySettings,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(settings.maintenance_secs.max(60)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let keep_from = time::OffsetDateTime::now_utc() - time::Duration::days(i64::from(settings.retention_days));
            match store.retain(keep_from).await {
                Ok(n) if n > 0 => tracing::info!(files = n, "telemetry past retention dropped"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "telemetry retention failed"),
            }
            match store.compact().await {
                Ok(n) if n > 0 => tracing::info!(files = n, "small telemetry files compacted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "telemetry compaction failed"),
            }
        }
    });
}

/// Binds every listen address (and the drop-in port, if configured) and starts serving.
pub async fn start(prepared: &Prepared, config: &Config) -> Result<Running, ServerError> {
    let rustls = Arc::new(rustls_config(&prepared.tls)?);
    let tls = RustlsConfig::from_config(rustls.clone());
    let service = match config.api_node {
        Some(_) => api_node::app(prepared.state.clone()),
        None => app(prepared.state.clone()),
    };
    let app = axum::ServiceExt::<HyperRequest>::into_make_service_with_connect_info::<SocketAddr>(service.clone());
    let mut running = Running {
        addrs: vec![],
        drop_in_addr: None,
        handles: vec![],
        tasks: vec![],
        stop_drop_in: None,
        audit: prepared.state.audit.clone(),
    };
    if let Some(addr) = config.drop_in_listen {
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
        running.drop_in_addr = Some(listener.local_addr().map_err(|source| ServerError::Bind { addr, source })?);
        let (tx, rx) = tokio::sync::watch::channel(false);
        let hosts = dropin::ServedHosts::new(&config.tls_extra_names);
        let task = tokio::spawn(dropin::serve(listener, rustls.clone(), service, hosts, rx));
        running.stop_drop_in = Some((tx, task));
    }
    for addr in &config.listen {
        let listener = std::net::TcpListener::bind(addr).map_err(|source| ServerError::Bind { addr: *addr, source })?;
        listener.set_nonblocking(true).map_err(|source| ServerError::Bind { addr: *addr, source })?;
        let bound = listener.local_addr().map_err(|source| ServerError::Bind { addr: *addr, source })?;
        let handle = Handle::new();
        let server = axum_server::from_tcp_rustls(listener, tls.clone())
            .map_err(|source| ServerError::Bind { addr: *addr, source })?
            .handle(handle.clone());
        let app = app.clone();
        running.tasks.push(tokio::spawn(async move { server.serve(app).await }));
        running.handles.push(handle);
        running.addrs.push(bound);
    }
    spawn_agent(prepared.state.security.clone(), prepared.state.telemetry.clone(), config.agent.clone());
    spawn_telemetry_maintenance(prepared.state.telemetry.clone(), config.telemetry.clone());
    if config.api_node.is_none() {
        tokio::spawn(simulation::resume_live(prepared.state.simulation_target()));
    }
    // Expired codes, refresh tokens, device codes and sessions are purged in the background.
    let grants = prepared.state.identity.stores.grants.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            match grants.purge_expired(time::OffsetDateTime::now_utc()).await {
                Ok(n) if n > 0 => tracing::debug!(purged = n, "expired protocol state purged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purge of expired protocol state failed"),
            }
        }
    });
    Ok(running)
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_is_answered_with_the_services_500_body() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let app = axum::Router::new()
            .route("/x", get(boom))
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(super::panic_response));
        let resp = app.oneshot(axum::http::Request::get("/x").body(axum::body::Body::empty()).unwrap()).await.unwrap();
        assert_eq!(resp.status(), 500);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "InternalServerError");
        assert!(uuid::Uuid::parse_str(v["error"]["target"].as_str().unwrap()).is_ok());
    }
}
