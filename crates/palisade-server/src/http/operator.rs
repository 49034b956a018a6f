//! Operator endpoints for the security side of a tenant: Entra security groups, the Defender RBAC
//! configuration (roles, device groups, turning RBAC on) and loading a sample fleet. Only the
//! operator client (certificate credential in the data directory) may call them; the CLI is
//! their main user.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use palisade_defender::rbac::RbacConfig;
use palisade_directory::Group;
use palisade_identity::admin::GraphError;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::errors::GraphResponse;
use super::graph::{Caller, operator};
use crate::AppState;

type GResult<T = Response> = Result<T, GraphResponse>;

/// The tenant named by the path, or Graph's 404.
pub(crate) async fn tenant_of(s: &AppState, tenant: Uuid) -> Result<palisade_directory::Tenant, GraphError> {
    s.identity
        .stores
        .directory
        .tenant(tenant)
        .await
        .map_err(GraphError::from)?
        .ok_or_else(|| GraphError::not_found(tenant))
}

async fn tenant_exists(s: &AppState, tenant: Uuid) -> Result<(), GraphError> {
    tenant_of(s, tenant).await.map(|_| ())
}

/// `GET /palisade/v1/tenants/{tid}/groups`.
pub async fn list_groups(State(s): State<AppState>, c: Caller, Path(tenant): Path<Uuid>) -> GResult {
    operator(&c)?;
    tenant_exists(&s, tenant).await?;
    let groups = s.identity.stores.directory.groups(tenant).await.map_err(GraphError::from)?;
    Ok(Json(json!({"value": groups})).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    display_name: String,
    description: Option<String>,
}

/// `POST /palisade/v1/tenants/{tid}/groups`: a security group.
pub async fn create_group(
    State(s): State<AppState>,
    c: Caller,
    Path(tenant): Path<Uuid>,
    Json(b): Json<NewGroup>,
) -> GResult {
    operator(&c)?;
    tenant_exists(&s, tenant).await?;
    let name = b.display_name.trim();
    if name.is_empty() || name.len() > 256 {
        return Err(GraphError::bad_request("displayName must be 1 to 256 characters.").into());
    }
    let g = Group {
        id: Uuid::new_v4(),
        tenant_id: tenant,
        display_name: name.to_string(),
        description: b.description,
        security_enabled: true,
        members: vec![],
        created_date_time: OffsetDateTime::now_utc(),
    };
    s.identity.stores.directory.put_group(tenant, &g).await.map_err(|e| match e {
        palisade_directory::StoreError::Conflict(_) => {
            GraphError::conflict(format!("A group named '{name}' already exists."))
        }
        other => GraphError::from(other),
    })?;
    tracing::info!(tenant = %tenant, group = %g.id, "group created");
    Ok((axum::http::StatusCode::CREATED, Json(g)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberChange {
    /// User object id or UPN.
    user: String,
    #[serde(default)]
    remove: bool,
}

/// `POST /palisade/v1/tenants/{tid}/groups/{gid}/members`: add (or remove) a user.
pub async fn change_member(
    State(s): State<AppState>,
    c: Caller,
    Path((tenant, gid)): Path<(Uuid, Uuid)>,
    Json(b): Json<MemberChange>,
) -> GResult {
    operator(&c)?;
    let dir = &s.identity.stores.directory;
    let mut g = dir.group(tenant, gid).await.map_err(GraphError::from)?.ok_or_else(|| GraphError::not_found(gid))?;
    let user = match Uuid::parse_str(&b.user) {
        Ok(id) => dir.user(tenant, id).await,
        Err(_) => dir.user_by_upn(tenant, &b.user).await,
    }
    .map_err(GraphError::from)?
    .ok_or_else(|| GraphError::not_found(&b.user))?;
    if b.remove {
        g.members.retain(|m| *m != user.id);
    } else if !g.members.contains(&user.id) {
        g.members.push(user.id);
    }
    dir.put_group(tenant, &g).await.map_err(GraphError::from)?;
    Ok(Json(g).into_response())
}

/// `GET /palisade/v1/tenants/{tid}/rbac`.
pub async fn get_rbac(State(s): State<AppState>, c: Caller, Path(tenant): Path<Uuid>) -> GResult {
    operator(&c)?;
    tenant_exists(&s, tenant).await?;
    let cfg = s.security.rbac_config(tenant).await.map_err(GraphError::internal)?;
    Ok(Json(cfg).into_response())
}

/// `PUT /palisade/v1/tenants/{tid}/rbac`: replaces the configuration, then moves every device to
/// the group its rules now pick (its alerts and actions follow).
pub async fn put_rbac(
    State(s): State<AppState>,
    c: Caller,
    Path(tenant): Path<Uuid>,
    Json(cfg): Json<RbacConfig>,
) -> GResult {
    operator(&c)?;
    tenant_exists(&s, tenant).await?;
    let current = s.security.rbac_config(tenant).await.map_err(GraphError::internal)?;
    let known: Vec<Uuid> =
        s.identity.stores.directory.groups(tenant).await.map_err(GraphError::from)?.into_iter().map(|g| g.id).collect();
    cfg.validate(&current, &known).map_err(GraphError::bad_request)?;
    s.security.put_rbac_config(tenant, &cfg).await.map_err(GraphError::internal)?;
    let moved = s.security.regroup_machines(tenant, &cfg).await.map_err(GraphError::internal)?;
    tracing::info!(tenant = %tenant, enabled = cfg.enabled, groups = cfg.device_groups.len(), roles = cfg.roles.len(), moved, "RBAC configuration replaced");
    Ok(Json(json!({"config": cfg, "machinesMoved": moved})).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureRequest {
    machines: usize,
    alerts: usize,
    #[serde(default)]
    seed: u64,
    #[serde(default = "default_days")]
    days: u32,
}

fn default_days() -> u32 {
    7
}

/// `POST /palisade/v1/tenants/{tid}/fixtures`: generates and stores a deterministic sample fleet
/// (machines, alerts with evidence, incidents, files, logons).
pub async fn load_fixtures(
    State(s): State<AppState>,
    c: Caller,
    Path(tenant): Path<Uuid>,
    Json(b): Json<FixtureRequest>,
) -> GResult {
    operator(&c)?;
    let t = tenant_of(&s, tenant).await?;
    if b.machines == 0 || b.machines > 200_000 || b.alerts > 2_000_000 {
        return Err(GraphError::bad_request("machines must be 1 to 200,000 and alerts at most 2,000,000.").into());
    }
    let groups = s.security.rbac_config(tenant).await.map_err(GraphError::internal)?;
    let opts = palisade_defender::fixtures::FleetOptions {
        machines: b.machines,
        alerts: b.alerts,
        seed: b.seed,
        now: OffsetDateTime::now_utc(),
        days: b.days.clamp(1, 30),
        tenant_domain: t.default_domain.clone(),
    };
    let started = std::time::Instant::now();
    // Generated on a blocking thread in chunks and stored as they come, so a benchmark-sized fleet
    // (100,000 machines, 1,000,000 alerts) never sits in memory whole.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<palisade_defender::fixtures::Fleet>(2);
    let generator = tokio::task::spawn_blocking(move || {
        palisade_defender::fixtures::generate_chunks(tenant, &opts, &groups, 20_000, |chunk| {
            let _ = tx.blocking_send(chunk);
        });
    });
    let mut n = [0usize; 5];
    while let Some(chunk) = rx.recv().await {
        n[0] += chunk.machines.len();
        n[1] += chunk.alerts.len();
        n[2] += chunk.incidents.len();
        n[3] += chunk.files.len();
        n[4] += chunk.logons.len();
        palisade_defender::fixtures::load(s.security.as_ref(), tenant, &chunk).await.map_err(GraphError::internal)?;
    }
    generator.await.map_err(GraphError::internal)?;
    let counts = json!({"machines": n[0], "alerts": n[1], "incidents": n[2], "files": n[3], "logons": n[4]});
    tracing::info!(tenant = %tenant, ?counts, elapsed_ms = started.elapsed().as_millis() as u64, "fixture fleet loaded");
    Ok(Json(counts).into_response())
}

/// `POST /palisade/v1/tenants/{tid}/simulation`: starts a simulated fleet with telemetry and
/// attacks (202); follow it with `GET`.
pub async fn start_simulation(
    State(s): State<AppState>,
    c: Caller,
    Path(tenant): Path<Uuid>,
    Json(req): Json<crate::simulation::SimulationRequest>,
) -> GResult {
    use crate::simulation::{SimulationError, start};
    operator(&c)?;
    let t = tenant_of(&s, tenant).await?;
    match start(&s.simulations, s.simulation_target(), tenant, &t.default_domain, req) {
        Ok(()) => Ok((axum::http::StatusCode::ACCEPTED, Json(s.simulations.status(tenant))).into_response()),
        Err(SimulationError::Busy) => Err(GraphError::conflict(SimulationError::Busy.to_string()).into()),
        Err(e) => Err(GraphError::bad_request(e.to_string()).into()),
    }
}

/// `GET /palisade/v1/tenants/{tid}/simulation`: the run's progress on this node.
pub async fn simulation_status(State(s): State<AppState>, c: Caller, Path(tenant): Path<Uuid>) -> GResult {
    operator(&c)?;
    tenant_exists(&s, tenant).await?;
    let status =
        s.simulations.status(tenant).ok_or_else(|| GraphError::not_found(format!("simulation of {tenant}")))?;
    Ok(Json(status).into_response())
}
