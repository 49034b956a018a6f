//! Response actions (`defender-api.md` §3.3, §4.4): the kinds, and the state rules that decide
//! whether a new action may be queued on a device. The asynchronous execution lives in
//! [`crate::agent`].

use serde_json::Value;
use time::OffsetDateTime;

use crate::errors::DefenderError;
use crate::model::{
    DeviceState, KeyValue, LiveResponseCommand, LiveResponseCommandSpec, Machine, MachineAction, RelatedFileInfo,
};
use crate::values::{body_prop, hash, one_of};

pub const ISOLATE: &str = "Isolate";
pub const UNISOLATE: &str = "Unisolate";
pub const RESTRICT: &str = "RestrictCodeExecution";
pub const UNRESTRICT: &str = "UnrestrictCodeExecution";
pub const SCAN: &str = "RunAntiVirusScan";
pub const COLLECT: &str = "CollectInvestigationPackage";
pub const OFFBOARD: &str = "Offboard";
pub const QUARANTINE: &str = "StopAndQuarantineFile";
pub const LIVE_RESPONSE: &str = "LiveResponse";

pub const KINDS: &[&str] =
    &[ISOLATE, UNISOLATE, RESTRICT, UNRESTRICT, SCAN, COLLECT, OFFBOARD, QUARANTINE, LIVE_RESPONSE];

/// The values request bodies accept (the validators and the OpenAPI document both read these).
pub const ISOLATION_TYPES: &[&str] = &["Full", "Selective", "UnManagedDevice"];
pub const SCAN_TYPES: &[&str] = &["Quick", "Full"];
pub const LIVE_RESPONSE_COMMANDS: &[&str] = &["PutFile", "RunScript", "GetFile"];
/// `setDeviceValue` / machine PATCH `DeviceValue`.
pub const DEVICE_VALUES: &[&str] = &["Normal", "Low", "High"];

/// Actions that exclude each other while one of them is open: isolating and releasing a device at
/// once makes no sense, neither does restricting and unrestricting.
fn family(kind: &str) -> &str {
    match kind {
        ISOLATE | UNISOLATE => "isolation",
        RESTRICT | UNRESTRICT => "restriction",
        other => other,
    }
}

fn in_progress() -> DefenderError {
    DefenderError::bad_request("Action is already in progress")
}

/// Whether `new` may be queued on `machine` given the device's `state` and its `open` (pending or
/// in-progress) actions. Errors are the service's 400s, with what to do next.
pub fn admit(
    new: &MachineAction,
    machine: &Machine,
    state: &DeviceState,
    open: &[MachineAction],
) -> Result<(), DefenderError> {
    let id = &machine.id;
    if state.offboarded {
        return Err(DefenderError::bad_request(format!("Machine {id} is offboarded and no longer accepts actions.")));
    }
    if open.iter().any(|a| family(&a.kind) == family(&new.kind)) {
        return Err(match new.kind.as_str() {
            LIVE_RESPONSE => DefenderError::new(
                400,
                "ActiveRequestAlreadyExists",
                format!("A live response session is already running on machine {id}; wait for it to end or cancel it."),
            ),
            _ => in_progress(),
        });
    }
    let platform = machine.os_platform.as_str();
    let windows = platform.starts_with("Windows");
    match new.kind.as_str() {
        ISOLATE if state.isolation.is_some() => Err(DefenderError::bad_request(format!(
            "Machine {id} is already isolated. Release it first (POST /api/machines/{id}/unisolate)."
        ))),
        UNISOLATE if state.isolation.is_none() => {
            Err(DefenderError::bad_request(format!("Machine {id} is not isolated, so it cannot be released.")))
        }
        RESTRICT if state.code_execution_restricted => {
            Err(DefenderError::bad_request(format!("Code execution is already restricted on machine {id}.")))
        }
        UNRESTRICT if !state.code_execution_restricted => {
            Err(DefenderError::bad_request(format!("Code execution is not restricted on machine {id}.")))
        }
        OFFBOARD | RESTRICT | UNRESTRICT | QUARANTINE if !windows => Err(DefenderError::new(
            400,
            "OsPlatformNotSupported",
            format!("OS Platform {platform} isn't supported for this action."),
        )),
        ISOLATE if new.scope.as_deref() == Some("Selective") && !windows => Err(DefenderError::new(
            400,
            "OsPlatformNotSupported",
            format!("OS Platform {platform} isn't supported for this action (selective isolation is Windows-only)."),
        )),
        _ => Ok(()),
    }
}

fn prop_str(body: &Value, name: &str) -> Result<Option<String>, DefenderError> {
    match body_prop(body, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(DefenderError::invalid_body(format!("{name} must be a string, not {other}."))),
    }
}

fn required(body: &Value, name: &str) -> Result<String, DefenderError> {
    prop_str(body, name)?.filter(|s| !s.trim().is_empty()).ok_or_else(|| DefenderError::missing_parameter(name))
}

/// Builds the `Pending` action a request body asks for (`kind` from the route), validating the
/// body as the service does: `Comment` is required everywhere, plus `ScanType` for scans, `Sha1`
/// for quarantine and `Commands` for live response.
pub fn request(
    kind: &'static str,
    body: &Value,
    machine: &Machine,
    requestor: &str,
    now: OffsetDateTime,
) -> Result<MachineAction, DefenderError> {
    if !body.is_object() {
        return Err(DefenderError::invalid_body("The body must be a JSON object."));
    }
    let comment = required(body, "Comment")?;
    let external_id = prop_str(body, "ExternalId")?;
    let mut scope = None;
    let mut related_file_info = None;
    let mut commands = Vec::new();
    match kind {
        ISOLATE => {
            let t = prop_str(body, "IsolationType")?.unwrap_or_else(|| "Full".into());
            scope = Some(one_of("IsolationType", &t, ISOLATION_TYPES)?);
        }
        SCAN => scope = Some(one_of("ScanType", &required(body, "ScanType")?, SCAN_TYPES)?),
        QUARANTINE => {
            let sha1 = hash(&required(body, "Sha1")?, &[40])?;
            related_file_info = Some(RelatedFileInfo { file_identifier: sha1, file_identifier_type: "Sha1".into() });
        }
        LIVE_RESPONSE => commands = live_response_commands(body)?,
        _ => {}
    }
    Ok(MachineAction {
        id: uuid::Uuid::new_v4().to_string(),
        kind: kind.to_string(),
        title: None,
        requestor: requestor.to_string(),
        requestor_comment: Some(comment),
        status: "Pending".into(),
        machine_id: machine.id.clone(),
        computer_dns_name: Some(machine.computer_dns_name.clone()),
        creation_date_time_utc: now,
        last_update_date_time_utc: now,
        cancellation_requestor: None,
        cancellation_comment: None,
        cancellation_date_time_utc: None,
        error_h_result: 0,
        scope,
        external_id,
        request_source: "PublicApi".into(),
        related_file_info,
        commands,
        troubleshoot_info: None,
    })
}

/// `Commands`: `[{type, params:[{key, value}]}]` with types PutFile (FileName), RunScript
/// (ScriptName, Args) and GetFile (Path).
fn live_response_commands(body: &Value) -> Result<Vec<LiveResponseCommand>, DefenderError> {
    let Some(Value::Array(list)) = body_prop(body, "Commands") else {
        return Err(DefenderError::missing_parameter("Commands"));
    };
    if list.is_empty() {
        return Err(DefenderError::new(400, "InvalidInput", "Invalid input Commands: the list is empty."));
    }
    let mut out = Vec::with_capacity(list.len());
    for (index, c) in list.iter().enumerate() {
        let kind = one_of("Commands.type", &required(c, "type")?, LIVE_RESPONSE_COMMANDS)?;
        let params: Vec<KeyValue> = match body_prop(c, "params") {
            Some(Value::Array(ps)) => ps
                .iter()
                .map(|p| Ok(KeyValue { key: required(p, "key")?, value: prop_str(p, "value")?.unwrap_or_default() }))
                .collect::<Result<_, DefenderError>>()?,
            None => vec![],
            Some(other) => return Err(DefenderError::invalid_body(format!("params must be a list, not {other}."))),
        };
        let needed = match kind.as_str() {
            "PutFile" => "FileName",
            "RunScript" => "ScriptName",
            _ => "Path",
        };
        if !params.iter().any(|p| p.key.eq_ignore_ascii_case(needed) && !p.value.is_empty()) {
            return Err(DefenderError::missing_parameter(&format!("Commands[{index}].params.{needed}")));
        }
        out.push(LiveResponseCommand {
            index: index as i64,
            start_time: None,
            end_time: None,
            command_status: "Created".into(),
            errors: vec![],
            command: LiveResponseCommandSpec { kind, params },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine(platform: &str) -> Machine {
        serde_json::from_value(serde_json::json!({
            "id": "a".repeat(40), "mergedIntoMachineId": null, "isPotentialDuplication": false, "isExcluded": false,
            "exclusionReason": null, "computerDnsName": "pc1.contoso.com", "firstSeen": "2026-01-01T00:00:00Z",
            "lastSeen": "2026-01-02T00:00:00Z", "osPlatform": platform, "osVersion": null, "osProcessor": "x64",
            "version": "22H2", "lastIpAddress": "10.0.0.5", "lastExternalIpAddress": null, "agentVersion": null,
            "osBuild": 19045, "healthStatus": "Active", "deviceValue": "Normal", "rbacGroupId": 0, "rbacGroupName": null,
            "riskScore": "None", "exposureLevel": "Low", "isAadJoined": true, "aadDeviceId": null, "machineTags": [],
            "defenderAvStatus": null, "onboardingStatus": "Onboarded", "osArchitecture": "64-bit", "managedBy": null,
            "managedByStatus": null, "ipAddresses": [], "vmMetadata": null
        }))
        .unwrap()
    }

    fn action(kind: &str, scope: Option<&str>) -> MachineAction {
        serde_json::from_value(serde_json::json!({
            "id": "x", "type": kind, "title": null, "requestor": "r", "requestorComment": "c", "status": "Pending",
            "machineId": "a".repeat(40), "computerDnsName": null, "creationDateTimeUtc": "2026-01-01T00:00:00Z",
            "lastUpdateDateTimeUtc": "2026-01-01T00:00:00Z", "cancellationRequestor": null, "cancellationComment": null,
            "cancellationDateTimeUtc": null, "errorHResult": 0, "scope": scope, "externalId": null,
            "requestSource": "PublicApi", "relatedFileInfo": null, "commands": [], "troubleshootInfo": null
        }))
        .unwrap()
    }

    #[test]
    fn state_rules() {
        let win = machine("Windows11");
        let free = DeviceState::default();
        let isolated = DeviceState { isolation: Some("Full".into()), ..Default::default() };
        assert!(admit(&action(ISOLATE, Some("Full")), &win, &free, &[]).is_ok());
        // No second isolation while one is pending, nor while the device is isolated.
        let e = admit(&action(ISOLATE, Some("Full")), &win, &free, &[action(ISOLATE, Some("Full"))]).unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (400, "Action is already in progress"));
        assert!(admit(&action(UNISOLATE, None), &win, &free, &[action(ISOLATE, Some("Full"))]).is_err());
        assert!(
            admit(&action(ISOLATE, Some("Full")), &win, &isolated, &[])
                .unwrap_err()
                .message
                .contains("already isolated")
        );
        // Unisolate only when isolated.
        assert!(admit(&action(UNISOLATE, None), &win, &free, &[]).is_err());
        assert!(admit(&action(UNISOLATE, None), &win, &isolated, &[]).is_ok());
        // Different families do not block each other.
        assert!(admit(&action(SCAN, Some("Quick")), &win, &free, &[action(ISOLATE, Some("Full"))]).is_ok());
        let lr = admit(&action(LIVE_RESPONSE, None), &win, &free, &[action(LIVE_RESPONSE, None)]).unwrap_err();
        assert_eq!(lr.code, "ActiveRequestAlreadyExists");
        let linux = machine("Linux");
        assert_eq!(admit(&action(OFFBOARD, None), &linux, &free, &[]).unwrap_err().code, "OsPlatformNotSupported");
        assert!(admit(&action(ISOLATE, Some("Full")), &linux, &free, &[]).is_ok());
        let gone = DeviceState { offboarded: true, ..Default::default() };
        assert!(admit(&action(SCAN, Some("Quick")), &win, &gone, &[]).is_err());
    }

    #[test]
    fn request_bodies() {
        let m = machine("Windows11");
        let now = OffsetDateTime::now_utc();
        let body = |v: serde_json::Value| v;
        let a =
            request(ISOLATE, &body(serde_json::json!({"Comment": "c", "IsolationType": "selective"})), &m, "me", now)
                .unwrap();
        assert_eq!((a.kind.as_str(), a.scope.as_deref(), a.status.as_str()), ("Isolate", Some("Selective"), "Pending"));
        assert_eq!(
            request(ISOLATE, &body(serde_json::json!({"comment": "c"})), &m, "me", now).unwrap().scope.as_deref(),
            Some("Full")
        );
        let e = request(OFFBOARD, &body(serde_json::json!({})), &m, "me", now).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("MissingRequiredParameter", "Parameter Comment is missing."));
        assert_eq!(
            request(SCAN, &body(serde_json::json!({"Comment": "c"})), &m, "me", now).unwrap_err().message,
            "Parameter ScanType is missing."
        );
        assert_eq!(
            request(QUARANTINE, &body(serde_json::json!({"Comment": "c", "Sha1": "xyz"})), &m, "me", now)
                .unwrap_err()
                .code,
            "InvalidHashValue"
        );
        let lr = request(
            LIVE_RESPONSE,
            &body(serde_json::json!({"Comment": "c", "Commands": [{"type": "RunScript", "params": [{"key": "ScriptName", "value": "a.ps1"}]}, {"type": "GetFile", "params": [{"key": "Path", "value": "C:\\x.txt"}]}]})),
            &m,
            "me",
            now,
        )
        .unwrap();
        assert_eq!(lr.commands.len(), 2);
        assert_eq!(lr.commands[1].command.kind, "GetFile");
    }
}
