//! Simulated tenants: `palisade simulate`, `palisade demo` and the operator API run a
//! [`palisade_simulator`] plan here — its machines, alerts, incidents and file profiles go to the
//! security store, its telemetry to the hunting tables — and, in live mode, keep the fleet
//! reporting in real time. Isolated devices then reach only the service; offline ones are silent.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_defender::store::SecurityStore;
use palisade_simulator::{Plan, SimOptions};
use palisade_telemetry::TelemetryStore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

/// What to simulate (the operator API's body; every field optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SimulationRequest {
    pub devices: usize,
    pub days: u32,
    pub seed: u64,
    /// First simulated instant (RFC 3339). Default: `days` days before now, on the hour, so the
    /// history ends now and the hunting API's 30-day window sees it.
    pub start: Option<String>,
    pub events_per_device_hour: u32,
    pub attacks: bool,
    /// Keep generating in real time after the history (resumed when the server restarts).
    pub live: bool,
}

impl Default for SimulationRequest {
    fn default() -> Self {
        Self { devices: 50, days: 7, seed: 1, start: None, events_per_device_hour: 60, attacks: true, live: false }
    }
}

pub const MAX_DEVICES: usize = 100_000;
pub const MAX_DAYS: u32 = 30;
pub const MAX_RATE: u32 = 10_000;

impl SimulationRequest {
    /// The simulator's options, or what is wrong with the request.
    pub fn options(&self, tenant_domain: &str, now: OffsetDateTime) -> Result<SimOptions, String> {
        if self.devices == 0 || self.devices > MAX_DEVICES {
            return Err(format!("devices must be 1 to {MAX_DEVICES}."));
        }
        if self.days == 0 || self.days > MAX_DAYS {
            return Err(format!("days must be 1 to {MAX_DAYS}."));
        }
        if self.events_per_device_hour == 0 || self.events_per_device_hour > MAX_RATE {
            return Err(format!("eventsPerDeviceHour must be 1 to {MAX_RATE}."));
        }
        let start = match &self.start {
            Some(s) => OffsetDateTime::parse(s, &Rfc3339)
                .map_err(|_| format!("start '{s}' is not an RFC 3339 datetime, e.g. 2026-03-01T00:00:00Z."))?,
            None => {
                let hour =
                    now.replace_minute(0).and_then(|t| t.replace_second(0)).and_then(|t| t.replace_nanosecond(0));
                hour.expect("valid time") - time::Duration::days(i64::from(self.days))
            }
        };
        let mut o = SimOptions::new(self.devices, start, self.days);
        o.seed = self.seed;
        o.events_per_device_hour = self.events_per_device_hour;
        o.attacks = self.attacks;
        o.tenant_domain = tenant_domain.to_string();
        Ok(o)
    }
}

/// Where a run is, for `GET …/simulation`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// `planning`, `loading`, `telemetry`, `done`, `failed`.
    pub phase: &'static str,
    pub units_done: usize,
    pub units_total: usize,
    pub rows_written: u64,
    pub machines: usize,
    pub alerts: usize,
    pub incidents: usize,
    pub seconds: f64,
    pub live: bool,
    pub error: Option<String>,
}

impl Status {
    fn new(live: bool) -> Status {
        Status {
            phase: "planning",
            units_done: 0,
            units_total: 0,
            rows_written: 0,
            machines: 0,
            alerts: 0,
            incidents: 0,
            seconds: 0.0,
            live,
            error: None,
        }
    }
}

/// Runs of this node, by tenant.
#[derive(Clone, Default)]
pub struct Simulations(Arc<Mutex<HashMap<Uuid, Status>>>);

impl Simulations {
    pub fn status(&self, tenant: Uuid) -> Option<Status> {
        self.0.lock().expect("lock").get(&tenant).cloned()
    }

    fn update(&self, tenant: Uuid, f: impl FnOnce(&mut Status)) {
        if let Some(s) = self.0.lock().expect("lock").get_mut(&tenant) {
            f(s);
        }
    }

    /// Registers a run unless one is in progress for the tenant.
    fn begin(&self, tenant: Uuid, live: bool) -> bool {
        let mut map = self.0.lock().expect("lock");
        if map.get(&tenant).is_some_and(|s| !matches!(s.phase, "done" | "failed")) {
            return false;
        }
        map.insert(tenant, Status::new(live));
        true
    }
}

/// The stores a simulation writes to.
#[derive(Clone)]
pub struct Target {
    pub security: Arc<dyn SecurityStore>,
    pub telemetry: Arc<dyn TelemetryStore>,
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum SimulationError {
    #[error("{0}")]
    Invalid(String),
    #[error("a simulation is already running for this tenant; wait for it (GET …/simulation)")]
    Busy,
    #[error("storing the simulation: {0}")]
    Store(String),
}

/// Starts a run in the background; follow it with [`Simulations::status`].
pub fn start(
    sims: &Simulations,
    target: Target,
    tenant: Uuid,
    tenant_domain: &str,
    req: SimulationRequest,
) -> Result<(), SimulationError> {
    let opts = req.options(tenant_domain, OffsetDateTime::now_utc()).map_err(SimulationError::Invalid)?;
    let record = RunRecord::of(&opts);
    if runs(&target.data_dir, tenant).contains(&record) {
        return Err(SimulationError::Invalid(format!(
            "this tenant already holds this simulation (seed {}, start {}): the same run again would store its \
             telemetry twice. Change --seed or --start.",
            record.seed, record.start
        )));
    }
    if !sims.begin(tenant, req.live) {
        return Err(SimulationError::Busy);
    }
    let sims = sims.clone();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        match run(&sims, &target, tenant, &opts).await {
            Ok(plan) => {
                if let Err(e) = remember_run(&target.data_dir, tenant, record) {
                    tracing::warn!(error = %e, "the finished simulation was not recorded");
                }
                sims.update(tenant, |s| {
                    s.phase = "done";
                    s.seconds = started.elapsed().as_secs_f64();
                });
                if req.live {
                    let file = LiveFile {
                        request: req.clone(),
                        start: opts.start.format(&Rfc3339).expect("formattable"),
                        tenant_domain: opts.tenant_domain.clone(),
                        written_until: opts.end().format(&Rfc3339).expect("formattable"),
                    };
                    // Saved before the first step, so a stop right after "done" still resumes.
                    if let Err(e) = remember_live(&target.data_dir, tenant, &file) {
                        tracing::warn!(error = %e, "live simulation will not resume after a restart");
                    }
                    spawn_live(target, Arc::new(plan), file);
                }
            }
            Err(e) => {
                tracing::error!(%tenant, error = %e, "simulation failed");
                sims.update(tenant, |s| {
                    s.phase = "failed";
                    s.error = Some(e.to_string());
                });
            }
        }
    });
    Ok(())
}

/// Plans and stores a whole run: API data first (so alerts can be opened while telemetry loads),
/// then the hunting tables.
pub async fn run(
    sims: &Simulations,
    target: &Target,
    tenant: Uuid,
    opts: &SimOptions,
) -> Result<Plan, SimulationError> {
    let o = opts.clone();
    let plan = tokio::task::spawn_blocking(move || palisade_simulator::plan(tenant, &o))
        .await
        .map_err(|e| SimulationError::Store(e.to_string()))?;
    sims.update(tenant, |s| s.phase = "loading");
    let (machines, alerts, incidents) = load_api_data(target.security.as_ref(), tenant, &plan).await?;
    sims.update(tenant, |s| {
        s.phase = "telemetry";
        (s.machines, s.alerts, s.incidents) = (machines, alerts, incidents);
    });
    let progress_sims = sims.clone();
    palisade_simulator::run::write_telemetry(&plan, target.telemetry.as_ref(), move |p| {
        progress_sims.update(tenant, |s| {
            s.units_done = p.units_done;
            s.units_total = p.units_total;
            s.rows_written = p.rows_written;
        })
    })
    .await
    .map_err(|e| SimulationError::Store(e.to_string()))?;
    Ok(plan)
}

/// Machines (with the risk and exposure the attacks gave them, in the tenant's device groups),
/// logons, file profiles, incidents and alerts.
pub async fn load_api_data(
    security: &dyn SecurityStore,
    tenant: Uuid,
    plan: &Plan,
) -> Result<(usize, usize, usize), SimulationError> {
    let err = |e: palisade_defender::store::SecurityStoreError| SimulationError::Store(e.to_string());
    let groups = security.rbac_config(tenant).await.map_err(err)?;
    let updates: HashMap<String, (String, String)> =
        plan.attacks.machine_updates().into_iter().map(|(id, risk, exposure)| (id, (risk, exposure))).collect();
    let machines: Vec<_> = plan
        .fleet
        .devices
        .iter()
        .map(|d| {
            let mut rec = d.record.clone();
            if let Some((risk, exposure)) = updates.get(&rec.machine.id) {
                rec.machine.risk_score = Some(risk.clone());
                rec.machine.exposure_level = Some(exposure.clone());
            }
            let (gid, gname) = groups.assign(&rec.machine);
            rec.machine.rbac_group_id = gid;
            rec.machine.rbac_group_name = gname;
            rec
        })
        .collect();
    const BATCH: usize = palisade_defender::fixtures::LOAD_BATCH;
    for c in machines.chunks(BATCH) {
        security.upsert_machines(tenant, c).await.map_err(err)?;
    }
    for c in plan.fleet.logons.chunks(BATCH) {
        security.record_logons(tenant, c).await.map_err(err)?;
    }
    for c in plan.attacks.files.chunks(BATCH) {
        security.upsert_files(tenant, c).await.map_err(err)?;
    }
    for c in plan.attacks.incidents.chunks(BATCH) {
        security.upsert_incidents(tenant, c).await.map_err(err)?;
    }
    let mut alerts = plan.attacks.alerts.clone();
    for a in &mut alerts {
        if let Some(m) = machines.iter().find(|m| m.machine.id == a.machine_id) {
            a.rbac_group_name.clone_from(&m.machine.rbac_group_name);
        }
    }
    for c in alerts.chunks(BATCH) {
        security.insert_alerts(tenant, c).await.map_err(err)?;
    }
    Ok((machines.len(), alerts.len(), plan.attacks.incidents.len()))
}

/// How often live mode writes the activity since its last write.
pub const LIVE_TICK: Duration = Duration::from_secs(30);

/// Writes the fleet's activity of `[from, to)`: devices isolated in the API reach only the
/// service, offboarded or offline ones report nothing. Returns the rows written.
pub async fn live_step(target: &Target, plan: &Plan, from: OffsetDateTime, to: OffsetDateTime) -> Result<u64, String> {
    let ids: Vec<String> = plan.fleet.devices.iter().map(|d| d.record.machine.id.clone()).collect();
    let states: HashMap<String, palisade_defender::model::DeviceState> = target
        .security
        .machines_by_ids(plan.tenant, &ids)
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|r| (r.machine.id, r.state))
        .collect();
    let (f, t) = (palisade_simulator::nanos(from), palisade_simulator::nanos(to));
    let batches = palisade_simulator::live::window(
        plan,
        f,
        t,
        |d| states.get(&d.record.machine.id).is_some_and(|s| !s.offline && !s.offboarded),
        |d| states.get(&d.record.machine.id).is_some_and(|s| s.isolation.is_some()),
    );
    let mut rows = 0;
    for (table, batch) in batches {
        rows += target.telemetry.append(plan.tenant, table, batch).await.map_err(|e| e.to_string())?;
    }
    Ok(rows)
}

fn spawn_live(target: Target, plan: Arc<Plan>, mut file: LiveFile) {
    tokio::spawn(async move {
        let tenant = plan.tenant;
        let mut last = OffsetDateTime::parse(&file.written_until, &Rfc3339).unwrap_or_else(|_| plan.opts.end());
        let mut tick = tokio::time::interval(LIVE_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = OffsetDateTime::now_utc();
            match live_step(&target, &plan, last, now).await {
                Ok(rows) => {
                    tracing::debug!(%tenant, rows, "live simulation step");
                    last = now;
                    // Where it stopped, so a restart neither repeats nor (beyond a tick) skips.
                    file.written_until = now.format(&Rfc3339).expect("formattable");
                    if let Err(e) = remember_live(&target.data_dir, tenant, &file) {
                        tracing::warn!(error = %e, "live simulation state not saved");
                    }
                }
                Err(e) => tracing::warn!(%tenant, error = %e, "live simulation step failed; retrying"),
            }
        }
    });
}

/// A finished run, to refuse storing the very same one twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    pub seed: u64,
    pub devices: usize,
    pub days: u32,
    pub start: String,
    pub events_per_device_hour: u32,
    pub attacks: bool,
}

impl RunRecord {
    fn of(o: &SimOptions) -> RunRecord {
        RunRecord {
            seed: o.seed,
            devices: o.devices,
            days: o.days,
            start: o.start.format(&Rfc3339).expect("formattable"),
            events_per_device_hour: o.events_per_device_hour,
            attacks: o.attacks,
        }
    }
}

fn runs_file(data_dir: &Path, tenant: Uuid) -> PathBuf {
    live_dir(data_dir).join(format!("{tenant}.runs.json"))
}

/// The simulations stored in `tenant` from this data directory.
pub fn runs(data_dir: &Path, tenant: Uuid) -> Vec<RunRecord> {
    std::fs::read(runs_file(data_dir, tenant)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

fn remember_run(data_dir: &Path, tenant: Uuid, record: RunRecord) -> std::io::Result<()> {
    let mut all = runs(data_dir, tenant);
    all.push(record);
    std::fs::create_dir_all(live_dir(data_dir))?;
    let tmp = live_dir(data_dir).join(format!(".{tenant}.runs.json"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&all).expect("serializable"))?;
    std::fs::rename(tmp, runs_file(data_dir, tenant))
}

/// What a live simulation needs to resume: its options and where it stopped.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiveFile {
    request: SimulationRequest,
    start: String,
    tenant_domain: String,
    written_until: String,
}

fn live_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("simulations")
}

fn remember_live(data_dir: &Path, tenant: Uuid, file: &LiveFile) -> std::io::Result<()> {
    let dir = live_dir(data_dir);
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".{tenant}.json"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(file).expect("serializable"))?;
    std::fs::rename(tmp, dir.join(format!("{tenant}.json")))
}

/// Resumes the live simulations of this data directory (at server start), from where each one
/// stopped.
pub async fn resume_live(target: Target) {
    let Ok(entries) = std::fs::read_dir(live_dir(&target.data_dir)) else { return };
    for e in entries.flatten() {
        let path = e.path();
        // `<tenant>.json` only (not `<tenant>.runs.json` or temporaries).
        let Some(tenant) = path
            .file_name()
            .and_then(|s| s.to_str())
            .and_then(|s| s.strip_suffix(".json"))
            .and_then(|s| s.parse::<Uuid>().ok())
        else {
            continue;
        };
        let file = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<LiveFile>(&b).map_err(|e| e.to_string()))
        {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "unreadable live simulation file; skipped");
                continue;
            }
        };
        let mut req = file.request.clone();
        req.start = Some(file.start.clone());
        let Ok(opts) = req.options(&file.tenant_domain, OffsetDateTime::now_utc()) else { continue };
        let Ok(plan) = tokio::task::spawn_blocking(move || palisade_simulator::plan(tenant, &opts)).await else {
            continue;
        };
        tracing::info!(%tenant, since = %file.written_until, "live simulation resumed");
        spawn_live(target.clone(), Arc::new(plan), file);
    }
}
