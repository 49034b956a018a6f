//! The in-process device agent: it plays the part of the sensors on the fleet's devices and moves
//! response actions through their asynchronous lifecycle (`defender-api.md` §3.3, §4.4):
//! `Pending` → `InProgress` → `Succeeded` | `Failed` | `TimeOut`. `Cancelled` is set by the API;
//! the agent only ever loses to it, through the store's compare-and-set.
//!
//! [`step`] is the whole policy as a pure function of the action, the device and the clock, so it is
//! tested without a store; [`run_once`] is one polling pass that applies it to every open action.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::actions::{ISOLATE, LIVE_RESPONSE, OFFBOARD, QUARANTINE, RESTRICT, UNISOLATE, UNRESTRICT};
use crate::model::{DeviceState, LiveResponseCommand, Machine, MachineAction, MachineRecord};
use crate::store::{SecurityStore, SecurityStoreError};

/// `0x80070002` ERROR_FILE_NOT_FOUND: what a quarantine or `GetFile` of a missing file reports.
pub const HRESULT_FILE_NOT_FOUND: i64 = -2147024894;
/// `0x80070005` E_ACCESSDENIED: a `PutFile` the device refused to write.
pub const HRESULT_ACCESS_DENIED: i64 = -2147024891;
/// `0x80004005` E_FAIL: the generic failure of the other actions and of scripts.
pub const HRESULT_FAIL: i64 = -2147467259;
/// `0x800705B4` ERROR_TIMEOUT: an action the device never picked up.
pub const HRESULT_TIMEOUT: i64 = -2147023436;
/// `0x80070490` ERROR_NOT_FOUND: the device disappeared (deleted from the inventory) meanwhile.
pub const HRESULT_NOT_FOUND: i64 = -2147023728;

/// How the simulated devices behave.
///
/// In configuration files every duration is a number of seconds (fractions allowed, so tests can
/// use `0.01`): `pickup_delay_secs`, `run_delay_secs`, `timeout_secs`,
/// `live_response_timeout_secs`, plus `failure_rate` in `[0, 1]`. Omitted keys take the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "AgentConfigFile", into = "AgentConfigFile")]
pub struct AgentConfig {
    /// How long a `Pending` action waits before an online device picks it up (→ `InProgress`).
    pub pickup_delay: Duration,
    /// How long an action (or each live response command) runs on the device.
    pub run_delay: Duration,
    /// Probability that an action (or each live response command) fails; 0 makes runs deterministic.
    pub failure_rate: f64,
    /// How long a `Pending` action waits for an offline device before it ends in `TimeOut`.
    pub timeout: Duration,
    /// The same for live response sessions, which the service queues longer than other actions.
    pub live_response_timeout: Duration,
}

impl Default for AgentConfig {
    /// Demo-scale values: each state is visible to a client polling every second or two, and an
    /// offline device times out within minutes rather than the service's days.
    fn default() -> Self {
        Self {
            // Long enough that a client sees `Pending` once, short like a real push-notified pickup.
            pickup_delay: Duration::from_secs(2),
            // Isolation or a quick scan takes seconds on a real device; 3 s keeps `InProgress` visible.
            run_delay: Duration::from_secs(3),
            // Failures are opt-in chaos; by default scripted clients get reproducible outcomes.
            failure_rate: 0.0,
            // A device marked offline and back online within a minute still picks its actions up.
            timeout: Duration::from_secs(60),
            // The service queues live response 3 days (vs. shorter for other actions): 3 minutes here,
            // keeping "live response waits longer" without making a test wait days.
            live_response_timeout: Duration::from_secs(180),
        }
    }
}

/// The configuration-file form of [`AgentConfig`]: durations in seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AgentConfigFile {
    pickup_delay_secs: f64,
    run_delay_secs: f64,
    failure_rate: f64,
    timeout_secs: f64,
    live_response_timeout_secs: f64,
}

impl Default for AgentConfigFile {
    fn default() -> Self {
        AgentConfig::default().into()
    }
}

impl From<AgentConfig> for AgentConfigFile {
    fn from(c: AgentConfig) -> Self {
        Self {
            pickup_delay_secs: c.pickup_delay.as_secs_f64(),
            run_delay_secs: c.run_delay.as_secs_f64(),
            failure_rate: c.failure_rate,
            timeout_secs: c.timeout.as_secs_f64(),
            live_response_timeout_secs: c.live_response_timeout.as_secs_f64(),
        }
    }
}

impl TryFrom<AgentConfigFile> for AgentConfig {
    type Error = String;
    fn try_from(f: AgentConfigFile) -> Result<Self, String> {
        let secs = |name: &str, v: f64| {
            Duration::try_from_secs_f64(v).map_err(|_| format!("agent.{name} must be a non-negative number of seconds"))
        };
        if !(0.0..=1.0).contains(&f.failure_rate) {
            return Err("agent.failure_rate must be between 0 and 1".into());
        }
        Ok(Self {
            pickup_delay: secs("pickup_delay_secs", f.pickup_delay_secs)?,
            run_delay: secs("run_delay_secs", f.run_delay_secs)?,
            failure_rate: f.failure_rate,
            timeout: secs("timeout_secs", f.timeout_secs)?,
            live_response_timeout: secs("live_response_timeout_secs", f.live_response_timeout_secs)?,
        })
    }
}

/// One transition decided by [`step`], to be written with
/// [`crate::store::ActionStore::transition_action`].
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The action in its new state.
    pub action: MachineAction,
    /// The status the action must still have for the write to happen (compare and set).
    pub from: String,
    /// The device's new state, when the action changes it.
    pub device: Option<DeviceState>,
}

fn waited(since: OffsetDateTime, now: OffsetDateTime, d: Duration) -> bool {
    now - since >= d
}

/// What the device does next with `action`, if anything. `roll` is a uniform draw in `[0, 1)`;
/// the step fails when `roll < cfg.failure_rate`.
///
/// - `Pending`, device offline (or offboarded: it no longer reports) for longer than the timeout →
///   `TimeOut`.
/// - `Pending`, device online, after `pickup_delay` → `InProgress`; a live response starts its
///   first command.
/// - `InProgress`, `run_delay` after the last update → `Succeeded` with its device effect, or
///   `Failed`. A live response runs one command per step — each with its own start and end time and
///   its own chance to fail, as on a device — and a failed command fails the session and leaves the
///   later commands unrun. An action already running finishes even if the device goes offline.
/// - Final actions (including `Cancelled`) → `None`.
///
/// The machine is not consulted today (platform rules run when the action is admitted); it is part
/// of the signature so device-dependent behaviour can come without changing callers.
pub fn step(
    action: &MachineAction,
    _machine: &Machine,
    state: &DeviceState,
    now: OffsetDateTime,
    cfg: &AgentConfig,
    roll: f64,
) -> Option<Step> {
    let live = action.kind == LIVE_RESPONSE;
    let mut next = action.clone();
    next.last_update_date_time_utc = now;
    let device = match action.status.as_str() {
        "Pending" if state.offline || state.offboarded => {
            let limit = if live { cfg.live_response_timeout } else { cfg.timeout };
            if !waited(action.creation_date_time_utc, now, limit) {
                return None;
            }
            next.status = "TimeOut".into();
            next.error_h_result = HRESULT_TIMEOUT;
            None
        }
        "Pending" => {
            if !waited(action.creation_date_time_utc, now, cfg.pickup_delay) {
                return None;
            }
            next.status = "InProgress".into();
            if let Some(first) = next.commands.iter_mut().find(|c| c.command_status == "Created") {
                first.start_time = Some(now);
            }
            None
        }
        "InProgress" => {
            if !waited(action.last_update_date_time_utc, now, cfg.run_delay) {
                return None;
            }
            let fails = roll < cfg.failure_rate;
            if live {
                run_command(&mut next, now, fails);
                None
            } else if fails {
                next.status = "Failed".into();
                next.error_h_result = failure_hresult(&action.kind);
                None
            } else {
                next.status = "Succeeded".into();
                effect(action, state)
            }
        }
        _ => return None,
    };
    Some(Step { action: next, from: action.status.clone(), device })
}

/// Finishes the running command of a live response and starts the next one, or ends the session.
fn run_command(action: &mut MachineAction, now: OffsetDateTime, fails: bool) {
    let Some(i) = action.commands.iter().position(|c| c.command_status == "Created") else {
        action.status = "Succeeded".into();
        return;
    };
    let cmd = &mut action.commands[i];
    cmd.start_time.get_or_insert(now);
    cmd.end_time = Some(now);
    if fails {
        let (hresult, error) = command_failure(cmd);
        cmd.command_status = "Failed".into();
        cmd.errors.push(error);
        action.status = "Failed".into();
        action.error_h_result = hresult;
        return;
    }
    cmd.command_status = "Completed".into();
    match action.commands.get_mut(i + 1) {
        Some(next) => next.start_time = Some(now),
        None => action.status = "Succeeded".into(),
    }
}

fn param<'a>(cmd: &'a LiveResponseCommand, key: &str) -> &'a str {
    cmd.command.params.iter().find(|p| p.key.eq_ignore_ascii_case(key)).map_or("", |p| p.value.as_str())
}

/// The HRESULT and error text of a failed live response command (plausible wording; the service's
/// exact strings are not documented).
fn command_failure(cmd: &LiveResponseCommand) -> (i64, String) {
    match cmd.command.kind.as_str() {
        "GetFile" => (HRESULT_FILE_NOT_FOUND, format!("File not found: {}", param(cmd, "Path"))),
        "PutFile" => (
            HRESULT_ACCESS_DENIED,
            format!("Failed to put file {} on the device: access is denied", param(cmd, "FileName")),
        ),
        _ => (HRESULT_FAIL, format!("Script {} failed with exit code 1", param(cmd, "ScriptName"))),
    }
}

fn failure_hresult(kind: &str) -> i64 {
    if kind == QUARANTINE { HRESULT_FILE_NOT_FOUND } else { HRESULT_FAIL }
}

/// The device state after `action` succeeded, for the actions that change it.
fn effect(action: &MachineAction, state: &DeviceState) -> Option<DeviceState> {
    let mut s = state.clone();
    match action.kind.as_str() {
        ISOLATE => s.isolation = Some(action.scope.clone().unwrap_or_else(|| "Full".into())),
        UNISOLATE => s.isolation = None,
        RESTRICT => s.code_execution_restricted = true,
        UNRESTRICT => s.code_execution_restricted = false,
        OFFBOARD => s.offboarded = true,
        _ => return None,
    }
    Some(s)
}

/// The action failed because its device no longer exists.
fn vanished(action: &MachineAction, now: OffsetDateTime) -> Step {
    let mut next = action.clone();
    next.status = "Failed".into();
    next.last_update_date_time_utc = now;
    next.error_h_result = HRESULT_NOT_FOUND;
    if let Some(cmd) = next.commands.iter_mut().find(|c| c.command_status == "Created") {
        cmd.command_status = "Failed".into();
        cmd.start_time.get_or_insert(now);
        cmd.end_time = Some(now);
        cmd.errors.push("The device is no longer available".into());
    }
    Step { action: next, from: action.status.clone(), device: None }
}

/// One pass of the agent over the open actions of every tenant (up to 500, oldest first). Returns
/// the transitions written, as (tenant, action in its new state), so the caller can let the device
/// show their effect (a finished scan reports a sensor event); a lost compare-and-set (a cancel
/// won) is not among them and is not an error. Call it on a timer; `rng` yields uniform draws in
/// `[0, 1)`.
pub async fn run_once(
    store: &dyn SecurityStore,
    cfg: &AgentConfig,
    now: OffsetDateTime,
    rng: &mut impl FnMut() -> f64,
) -> Result<Vec<(Uuid, MachineAction)>, SecurityStoreError> {
    // Devices are cached for the pass and updated after each write, so two actions finishing on
    // one device in the same pass (say, isolate and restrict) both keep their effect.
    let mut devices: HashMap<(Uuid, String), Option<MachineRecord>> = HashMap::new();
    let mut written = vec![];
    for (tenant, action) in store.open_actions(500).await? {
        let key = (tenant, action.machine_id.clone());
        if !devices.contains_key(&key) {
            let record = store.machine(tenant, &action.machine_id).await?;
            devices.insert(key.clone(), record);
        }
        let record = devices.get_mut(&key).expect("cached above");
        let next = match record {
            Some(r) => step(&action, &r.machine, &r.state, now, cfg, rng()),
            None => Some(vanished(&action, now)),
        };
        let Some(next) = next else { continue };
        if store.transition_action(tenant, &next.action, &next.from, next.device.as_ref()).await? {
            if let (Some(r), Some(d)) = (record.as_mut(), next.device) {
                r.state = d;
            }
            written.push((tenant, next.action));
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{COLLECT, SCAN};
    use crate::model::{KeyValue, LiveResponseCommandSpec};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);

    fn cfg() -> AgentConfig {
        AgentConfig {
            pickup_delay: Duration::from_secs(2),
            run_delay: Duration::from_secs(3),
            failure_rate: 0.0,
            timeout: Duration::from_secs(60),
            live_response_timeout: Duration::from_secs(180),
        }
    }

    fn machine() -> Machine {
        serde_json::from_value(serde_json::json!({
            "id": "a".repeat(40), "mergedIntoMachineId": null, "isPotentialDuplication": false, "isExcluded": false,
            "exclusionReason": null, "computerDnsName": "pc1.contoso.com", "firstSeen": "2026-01-01T00:00:00Z",
            "lastSeen": "2026-01-02T00:00:00Z", "osPlatform": "Windows11", "osVersion": null, "osProcessor": "x64",
            "version": "22H2", "lastIpAddress": "10.0.0.5", "lastExternalIpAddress": null, "agentVersion": null,
            "osBuild": 22631, "healthStatus": "Active", "deviceValue": "Normal", "rbacGroupId": 0, "rbacGroupName": null,
            "riskScore": "None", "exposureLevel": "Low", "isAadJoined": true, "aadDeviceId": null, "machineTags": [],
            "defenderAvStatus": null, "onboardingStatus": "Onboarded", "osArchitecture": "64-bit", "managedBy": null,
            "managedByStatus": null, "ipAddresses": [], "vmMetadata": null
        }))
        .unwrap()
    }

    fn action(kind: &str, scope: Option<&str>, status: &str) -> MachineAction {
        let mut a: MachineAction = serde_json::from_value(serde_json::json!({
            "id": "x", "type": kind, "title": null, "requestor": "r", "requestorComment": "c", "status": status,
            "machineId": "a".repeat(40), "computerDnsName": "pc1.contoso.com",
            "creationDateTimeUtc": "2026-01-01T00:00:00Z", "lastUpdateDateTimeUtc": "2026-01-01T00:00:00Z",
            "cancellationRequestor": null, "cancellationComment": null, "cancellationDateTimeUtc": null,
            "errorHResult": 0, "scope": scope, "externalId": null, "requestSource": "PublicApi",
            "relatedFileInfo": null, "commands": [], "troubleshootInfo": null
        }))
        .unwrap();
        a.creation_date_time_utc = T0;
        a.last_update_date_time_utc = T0;
        a
    }

    fn live(status: &str) -> MachineAction {
        let mut a = action(LIVE_RESPONSE, None, status);
        let cmd = |index: i64, kind: &str, key: &str, value: &str| LiveResponseCommand {
            index,
            start_time: None,
            end_time: None,
            command_status: "Created".into(),
            errors: vec![],
            command: LiveResponseCommandSpec {
                kind: kind.into(),
                params: vec![KeyValue { key: key.into(), value: value.into() }],
            },
        };
        a.commands = vec![
            cmd(0, "PutFile", "FileName", "collect.ps1"),
            cmd(1, "RunScript", "ScriptName", "collect.ps1"),
            cmd(2, "GetFile", "Path", r"C:\Windows\Temp\out.txt"),
        ];
        a
    }

    fn at(secs: i64) -> OffsetDateTime {
        T0 + time::Duration::seconds(secs)
    }

    /// Runs `step` with a succeeding roll and a free, online device.
    fn run(a: &MachineAction, secs: i64) -> Option<Step> {
        step(a, &machine(), &DeviceState::default(), at(secs), &cfg(), 0.5)
    }

    #[test]
    fn pending_is_picked_up_after_the_delay() {
        let a = action(SCAN, Some("Quick"), "Pending");
        assert_eq!(run(&a, 1), None);
        let s = run(&a, 2).unwrap();
        assert_eq!((s.from.as_str(), s.action.status.as_str()), ("Pending", "InProgress"));
        assert_eq!(s.action.last_update_date_time_utc, at(2));
        assert_eq!(s.action.creation_date_time_utc, T0);
        assert_eq!(s.device, None);
    }

    #[test]
    fn in_progress_finishes_after_the_run_delay_since_last_update() {
        let mut a = action(SCAN, Some("Full"), "InProgress");
        a.last_update_date_time_utc = at(2);
        assert_eq!(run(&a, 4), None);
        let s = run(&a, 5).unwrap();
        assert_eq!((s.from.as_str(), s.action.status.as_str()), ("InProgress", "Succeeded"));
        assert_eq!((s.action.error_h_result, s.device), (0, None));
        assert_eq!(s.action.last_update_date_time_utc, at(5));
    }

    #[test]
    fn device_effects_of_succeeded_actions() {
        let isolated = DeviceState { isolation: Some("Full".into()), ..Default::default() };
        let restricted = DeviceState { code_execution_restricted: true, ..Default::default() };
        let cases: [(MachineAction, DeviceState, Option<DeviceState>); 8] = [
            (action(ISOLATE, Some("Full"), "InProgress"), DeviceState::default(), Some(isolated.clone())),
            (
                action(ISOLATE, Some("Selective"), "InProgress"),
                DeviceState::default(),
                Some(DeviceState { isolation: Some("Selective".into()), ..Default::default() }),
            ),
            (action(UNISOLATE, None, "InProgress"), isolated.clone(), Some(DeviceState::default())),
            (action(RESTRICT, None, "InProgress"), DeviceState::default(), Some(restricted.clone())),
            (action(UNRESTRICT, None, "InProgress"), restricted.clone(), Some(DeviceState::default())),
            (
                action(OFFBOARD, None, "InProgress"),
                isolated.clone(),
                Some(DeviceState { offboarded: true, ..isolated.clone() }),
            ),
            (action(COLLECT, None, "InProgress"), isolated.clone(), None),
            (action(QUARANTINE, None, "InProgress"), restricted.clone(), None),
        ];
        for (a, before, after) in cases {
            let s = step(&a, &machine(), &before, at(3), &cfg(), 0.5).unwrap();
            assert_eq!(s.action.status, "Succeeded", "{}", a.kind);
            assert_eq!(s.device, after, "{} {:?}", a.kind, a.scope);
        }
    }

    #[test]
    fn failure_rate_one_fails_without_device_effect() {
        let c = AgentConfig { failure_rate: 1.0, ..cfg() };
        for (kind, hresult) in [(ISOLATE, HRESULT_FAIL), (QUARANTINE, HRESULT_FILE_NOT_FOUND)] {
            let a = action(kind, Some("Full"), "InProgress");
            // Even the highest draw fails at rate 1.0.
            let s = step(&a, &machine(), &DeviceState::default(), at(3), &c, 0.999_999).unwrap();
            assert_eq!(s.action.status, "Failed");
            assert_eq!(s.action.error_h_result, hresult);
            assert_ne!(s.action.error_h_result, 0);
            assert_eq!(s.device, None);
        }
        // The roll decides at intermediate rates; pickup never fails.
        let half = AgentConfig { failure_rate: 0.5, ..cfg() };
        let a = action(SCAN, Some("Quick"), "InProgress");
        let dev = DeviceState::default();
        assert_eq!(step(&a, &machine(), &dev, at(3), &half, 0.49).unwrap().action.status, "Failed");
        assert_eq!(step(&a, &machine(), &dev, at(3), &half, 0.5).unwrap().action.status, "Succeeded");
        let p = action(SCAN, Some("Quick"), "Pending");
        assert_eq!(step(&p, &machine(), &dev, at(3), &c, 0.0).unwrap().action.status, "InProgress");
    }

    #[test]
    fn offline_device_times_out_pending_actions() {
        let offline = DeviceState { offline: true, ..Default::default() };
        let a = action(ISOLATE, Some("Full"), "Pending");
        // Not picked up while offline, however long it waits...
        assert_eq!(step(&a, &machine(), &offline, at(59), &cfg(), 0.5), None);
        // ...and ends in TimeOut once the timeout passed.
        let s = step(&a, &machine(), &offline, at(60), &cfg(), 0.5).unwrap();
        assert_eq!((s.from.as_str(), s.action.status.as_str()), ("Pending", "TimeOut"));
        assert_eq!((s.action.error_h_result, s.device), (HRESULT_TIMEOUT, None));
        // Live response waits for its own, longer timeout.
        let lr = live("Pending");
        assert_eq!(step(&lr, &machine(), &offline, at(179), &cfg(), 0.5), None);
        let s = step(&lr, &machine(), &offline, at(180), &cfg(), 0.5).unwrap();
        assert_eq!(s.action.status, "TimeOut");
        assert!(s.action.commands.iter().all(|c| c.command_status == "Created" && c.start_time.is_none()));
        // An offboarded device no longer reports either.
        let gone = DeviceState { offboarded: true, ..Default::default() };
        assert_eq!(step(&a, &machine(), &gone, at(60), &cfg(), 0.5).unwrap().action.status, "TimeOut");
        // A running action finishes even if the device dropped off.
        let mut running = action(ISOLATE, Some("Full"), "InProgress");
        running.last_update_date_time_utc = at(10);
        assert_eq!(step(&running, &machine(), &offline, at(13), &cfg(), 0.5).unwrap().action.status, "Succeeded");
    }

    #[test]
    fn final_and_cancelled_actions_are_left_alone() {
        for status in ["Succeeded", "Failed", "TimeOut", "Cancelled"] {
            let mut a = action(ISOLATE, Some("Full"), status);
            a.cancellation_requestor = (status == "Cancelled").then(|| "admin@contoso.com".into());
            assert_eq!(run(&a, 3600), None, "{status}");
            let offline = DeviceState { offline: true, ..Default::default() };
            assert_eq!(step(&a, &machine(), &offline, at(3600), &cfg(), 0.0), None, "{status}");
        }
        assert_eq!(run(&live("Cancelled"), 3600), None);
    }

    #[test]
    fn live_response_runs_commands_one_by_one() {
        let a = live("Pending");
        let s = run(&a, 2).unwrap();
        assert_eq!(s.action.status, "InProgress");
        let starts: Vec<_> = s.action.commands.iter().map(|c| c.start_time).collect();
        assert_eq!(starts, vec![Some(at(2)), None, None]);
        // Each step completes the running command and starts the next.
        let s = run(&s.action, 5).unwrap();
        assert_eq!((s.from.as_str(), s.action.status.as_str()), ("InProgress", "InProgress"));
        let c = &s.action.commands;
        assert_eq!(
            (c[0].command_status.as_str(), c[0].start_time, c[0].end_time),
            ("Completed", Some(at(2)), Some(at(5)))
        );
        assert_eq!((c[1].command_status.as_str(), c[1].start_time, c[1].end_time), ("Created", Some(at(5)), None));
        assert_eq!(c[2].start_time, None);
        assert_eq!(run(&s.action, 7), None, "the command runs for run_delay");
        let s = run(&s.action, 8).unwrap();
        assert_eq!(s.action.status, "InProgress");
        let s = run(&s.action, 11).unwrap();
        assert_eq!((s.action.status.as_str(), s.action.error_h_result, s.device), ("Succeeded", 0, None));
        for (i, c) in s.action.commands.iter().enumerate() {
            let i = i as i64;
            assert_eq!(c.command_status, "Completed");
            assert_eq!((c.start_time, c.end_time), (Some(at(2 + 3 * i)), Some(at(5 + 3 * i))));
            assert!(c.errors.is_empty());
        }
        assert_eq!(run(&s.action, 100), None);
    }

    #[test]
    fn failed_live_response_command_stops_the_session() {
        let fail = AgentConfig { failure_rate: 1.0, ..cfg() };
        let dev = DeviceState::default();
        let started = run(&live("Pending"), 2).unwrap().action;
        let second = run(&started, 5).unwrap().action;
        let s = step(&second, &machine(), &dev, at(8), &fail, 0.3).unwrap();
        assert_eq!((s.action.status.as_str(), s.action.error_h_result), ("Failed", HRESULT_FAIL));
        let c = &s.action.commands;
        assert_eq!(c[0].command_status, "Completed");
        assert_eq!((c[1].command_status.as_str(), c[1].end_time), ("Failed", Some(at(8))));
        assert_eq!(c[1].errors, vec!["Script collect.ps1 failed with exit code 1".to_string()]);
        assert_eq!((c[2].command_status.as_str(), c[2].start_time), ("Created", None), "later commands do not run");
        // A PutFile is refused, a GetFile reports the missing file.
        let s = step(&started, &machine(), &dev, at(5), &fail, 0.0).unwrap();
        assert_eq!(s.action.error_h_result, HRESULT_ACCESS_DENIED);
        let mut only_get = live("InProgress");
        only_get.commands.drain(..2);
        let s = step(&only_get, &machine(), &dev, at(3), &fail, 0.0).unwrap();
        assert_eq!(s.action.error_h_result, HRESULT_FILE_NOT_FOUND);
        assert_eq!(s.action.commands[0].errors, vec![r"File not found: C:\Windows\Temp\out.txt".to_string()]);
    }

    #[test]
    fn vanished_device_fails_the_action() {
        let s = vanished(&live("InProgress"), at(9));
        assert_eq!((s.from.as_str(), s.action.status.as_str()), ("InProgress", "Failed"));
        assert_eq!(s.action.error_h_result, HRESULT_NOT_FOUND);
        assert_eq!(s.action.commands[0].command_status, "Failed");
        assert_eq!(s.action.commands[1].command_status, "Created");
    }

    /// Servers spawn the agent loop on a multi-threaded runtime, so a pass must be `Send`.
    #[allow(dead_code)]
    fn run_once_is_send(store: &dyn SecurityStore) {
        fn is_send<T: Send>(_: &T) {}
        let cfg = AgentConfig::default();
        let mut rng = || 0.5;
        is_send(&run_once(store, &cfg, T0, &mut rng));
    }

    #[test]
    fn config_reads_seconds_and_defaults() {
        let c: AgentConfig = serde_json::from_value(serde_json::json!({
            "pickup_delay_secs": 0.01, "run_delay_secs": 0.02, "failure_rate": 0.25
        }))
        .unwrap();
        assert_eq!(c.pickup_delay, Duration::from_millis(10));
        assert_eq!(c.run_delay, Duration::from_millis(20));
        assert_eq!(c.failure_rate, 0.25);
        assert_eq!((c.timeout, c.live_response_timeout), (Duration::from_secs(60), Duration::from_secs(180)));
        let d: AgentConfig = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(d, AgentConfig::default());
        assert!(serde_json::from_value::<AgentConfig>(serde_json::json!({"failure_rate": 1.5})).is_err());
        assert!(serde_json::from_value::<AgentConfig>(serde_json::json!({"timeout_secs": -1})).is_err());
        assert!(serde_json::from_value::<AgentConfig>(serde_json::json!({"pickup_delay_ms": 5})).is_err());
        let round: AgentConfig = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(round, c);
    }
}
