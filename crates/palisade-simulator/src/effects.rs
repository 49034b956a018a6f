//! What response actions leave in the hunting tables: the device agent of the API finishes an
//! action, and the sensor reports it like a real device would (a scan writes its `DeviceEvents`
//! row). Isolation's effect is on what a device sends at all, in the live generator.

use std::sync::Arc;

use palisade_defender::actions::SCAN;
use palisade_defender::model::{Machine, MachineAction};

use crate::event::{Account, Event, Host, Image, Kind, OtherEvent, Process};
use crate::nanos;

/// Report ids of agent-written events: apart from benign and storyline ranges.
const EFFECT_REPORT_BASE: i64 = 1 << 50;

/// The sensor events an action that just reached `action.status` produces on its device.
pub fn action_events(machine: &Machine, action: &MachineAction) -> Vec<Event> {
    if action.kind != SCAN {
        return vec![];
    }
    let verb = match action.status.as_str() {
        "Succeeded" => "AntivirusScanCompleted",
        "Failed" => "AntivirusScanFailed",
        "Cancelled" => "AntivirusScanCancelled",
        _ => return vec![],
    };
    let at = nanos(action.last_update_date_time_utc);
    let windows = machine.os_platform.starts_with("Windows");
    let (name, path) = if windows {
        ("MsMpEng.exe", "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25070.5-0\\MsMpEng.exe")
    } else if machine.os_platform == "macOS" {
        (
            "wdavdaemon",
            "/Library/Application Support/Microsoft/Defender/wdavdaemon_enterprise.app/Contents/MacOS/wdavdaemon_enterprise",
        )
    } else {
        ("wdavdaemon", "/opt/microsoft/mdatp/sbin/wdavdaemon")
    };
    let scan_type = action.scope.as_deref().unwrap_or("Quick");
    let system = Arc::new(Account {
        domain: if windows { "nt authority" } else { "" }.into(),
        name: if windows { "system" } else { "root" }.into(),
        sid: if windows { "S-1-5-18" } else { "0" }.into(),
        upn: None,
        object_id: None,
    });
    let engine = Process {
        image: Arc::new(Image {
            file_name: name.into(),
            folder_path: path.into(),
            sha1: "f35a1d8ff4ce7c1a2b9d3c6e8f0a4b5c6d7e8f90".into(),
            sha256: "0b4e3c2a1d9f8e7c6b5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a".into(),
            md5: "6a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d".into(),
            size: 133_120,
            version: None,
            signer_type: Some("OsVendor"),
            signature_status: Some("Valid"),
        }),
        pid: 4_120,
        command_line: name.into(),
        created: at - 86_400_000_000_000,
        account: system,
        logon_id: 999,
        integrity: "System",
        elevation: "Default",
        parent: None,
    };
    let index = if scan_type == "Full" { 2 } else { 1 };
    vec![Event {
        at,
        host: Arc::new(Host { id: machine.id.as_str().into(), name: machine.computer_dns_name.as_str().into() }),
        report_id: EFFECT_REPORT_BASE + (at / 1_000_000_000) % (1 << 30),
        kind: Kind::Other(OtherEvent {
            action: verb,
            initiator: Some(engine),
            additional_fields: Some(
                serde_json::json!({"ScanTypeIndex": index, "ScanType": scan_type, "Source": "ResponseAction", "MachineActionId": action.id})
                    .to_string(),
            ),
            ..OtherEvent::default()
        }),
    }]
}
