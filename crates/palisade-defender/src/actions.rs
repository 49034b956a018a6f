//! Response actions (`defender-api.md` §3.3, §4.4): the kinds, and the state rules that decide
//! whether a new action may be queued on a device. The asynchronous execution lives in
//! [`crate::agent`].

use crate::errors::DefenderError;
use crate::model::{DeviceState, Machine, MachineAction};

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
}
