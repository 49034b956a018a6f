//! The security entities in their wire shape (`defender-api.md` §4): property names, order and
//! casing exactly as the service emits them, nulls present rather than omitted, enums as their
//! names, times in the .NET round-trip form of [`crate::wire_time`].
//!
//! A few facts the API never shows (isolation state, which device a logon came from…) live beside
//! the entity in `*Record` types; stores persist both, handlers emit only the entity.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::wire_time;

/// One network interface address of a machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpAddress {
    pub ip_address: String,
    /// 12 hex digits without separators; null for loopback.
    pub mac_address: Option<String>,
    /// .NET `NetworkInterfaceType` name (`Ethernet`, `Wireless80211`, `SoftwareLoopback`…).
    #[serde(rename = "type")]
    pub kind: String,
    /// .NET `OperationalStatus` name (`Up`, `Down`…).
    pub operational_status: String,
}

/// A device (§4.3), with the extra properties real responses carry, in wire order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// 40 lowercase hex digits.
    pub id: String,
    pub merged_into_machine_id: Option<String>,
    pub is_potential_duplication: bool,
    pub is_excluded: bool,
    pub exclusion_reason: Option<String>,
    pub computer_dns_name: String,
    #[serde(with = "wire_time")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "wire_time")]
    pub last_seen: OffsetDateTime,
    /// `Windows10`, `Windows11`, `WindowsServer2019`, `WindowsServer2022`, `Linux`, `macOS`…
    pub os_platform: String,
    pub os_version: Option<String>,
    pub os_processor: String,
    pub version: Option<String>,
    pub last_ip_address: Option<String>,
    pub last_external_ip_address: Option<String>,
    pub agent_version: Option<String>,
    pub os_build: Option<i64>,
    /// `Active`, `Inactive`, `ImpairedCommunication`, `NoSensorData`, …
    pub health_status: String,
    /// `Normal`, `Low`, `High`.
    pub device_value: Option<String>,
    /// Device group id; 0 for "Ungrouped devices (default)" (an integer on the wire).
    pub rbac_group_id: i64,
    /// Null when ungrouped, as on the wire.
    pub rbac_group_name: Option<String>,
    /// `None`, `Informational`, `Low`, `Medium`, `High`.
    pub risk_score: Option<String>,
    /// `None`, `Low`, `Medium`, `High`.
    pub exposure_level: Option<String>,
    pub is_aad_joined: bool,
    pub aad_device_id: Option<String>,
    pub machine_tags: Vec<String>,
    pub defender_av_status: Option<String>,
    pub onboarding_status: String,
    /// `32-bit` or `64-bit`.
    pub os_architecture: Option<String>,
    pub managed_by: Option<String>,
    pub managed_by_status: Option<String>,
    pub ip_addresses: Vec<IpAddress>,
    pub vm_metadata: Option<Value>,
}

impl Machine {
    /// The DNS domain part of `computerDnsName` (what device-group "domain" rules match).
    pub fn domain(&self) -> Option<&str> {
        self.computer_dns_name.split_once('.').map(|(_, d)| d)
    }
}

/// The state of a device that response actions change. Not part of the API's machine JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceState {
    /// `Full` or `Selective` while isolated.
    pub isolation: Option<String>,
    pub code_execution_restricted: bool,
    pub offboarded: bool,
    /// An offline device does not pick actions up; they end in `TimeOut`.
    pub offline: bool,
}

/// A machine with its device state, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineRecord {
    pub machine: Machine,
    pub state: DeviceState,
}

/// `relatedUser` of an alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedUser {
    pub user_name: String,
    pub domain_name: String,
}

/// A comment on an alert or incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Comment {
    pub comment: String,
    pub created_by: Option<String>,
    #[serde(with = "wire_time")]
    pub created_time: OffsetDateTime,
}

/// One piece of alert evidence (§4.2): every key present, null where it does not apply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// `User`, `Process`, `File`, `Ip`, `Url`, `Registry`.
    pub entity_type: String,
    #[serde(with = "wire_time::option")]
    pub evidence_creation_time: Option<OffsetDateTime>,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub file_name: Option<String>,
    pub file_path: Option<String>,
    pub process_id: Option<i64>,
    pub process_command_line: Option<String>,
    #[serde(with = "wire_time::option")]
    pub process_creation_time: Option<OffsetDateTime>,
    pub parent_process_id: Option<i64>,
    #[serde(with = "wire_time::option")]
    pub parent_process_creation_time: Option<OffsetDateTime>,
    pub parent_process_file_name: Option<String>,
    pub parent_process_file_path: Option<String>,
    pub ip_address: Option<String>,
    pub url: Option<String>,
    pub registry_key: Option<String>,
    pub registry_hive: Option<String>,
    pub registry_value_type: Option<String>,
    pub registry_value: Option<String>,
    pub account_name: Option<String>,
    pub domain_name: Option<String>,
    pub user_sid: Option<String>,
    pub aad_user_id: Option<String>,
    pub user_principal_name: Option<String>,
    /// `Detected`, `Prevented`, `Blocked`; null for users.
    pub detection_status: Option<String>,
}

/// An alert (§4.1), properties in the order of the documentation's examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `da` + creation ticks + `_` + a signed 32-bit number; opaque to clients.
    pub id: String,
    pub incident_id: Option<i64>,
    pub investigation_id: Option<i64>,
    pub assigned_to: Option<String>,
    /// `UnSpecified`, `Informational`, `Low`, `Medium`, `High`.
    pub severity: String,
    /// `Unknown`, `New`, `InProgress`, `Resolved`.
    pub status: String,
    pub classification: Option<String>,
    pub determination: Option<String>,
    pub investigation_state: Option<String>,
    pub detection_source: String,
    pub detector_id: Option<String>,
    pub category: String,
    pub threat_family_name: Option<String>,
    pub title: String,
    pub description: String,
    #[serde(with = "wire_time::option")]
    pub alert_creation_time: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub first_event_time: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub last_event_time: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub last_update_time: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub resolved_time: Option<OffsetDateTime>,
    pub machine_id: String,
    pub computer_dns_name: Option<String>,
    pub rbac_group_name: Option<String>,
    pub aad_tenant_id: String,
    pub threat_name: Option<String>,
    pub mitre_techniques: Vec<String>,
    pub related_user: Option<RelatedUser>,
    pub comments: Vec<Comment>,
    /// Empty unless the request asks `$expand=evidence`.
    pub evidence: Vec<Evidence>,
}

/// A response action (§4.4), in wire order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineAction {
    pub id: String,
    /// `Isolate`, `Unisolate`, `RestrictCodeExecution`, `UnrestrictCodeExecution`,
    /// `RunAntiVirusScan`, `CollectInvestigationPackage`, `Offboard`, `StopAndQuarantineFile`,
    /// `LiveResponse`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: Option<String>,
    pub requestor: String,
    pub requestor_comment: Option<String>,
    /// `Pending`, `InProgress`, `Succeeded`, `Failed`, `TimeOut`, `Cancelled`.
    pub status: String,
    pub machine_id: String,
    pub computer_dns_name: Option<String>,
    #[serde(with = "wire_time")]
    pub creation_date_time_utc: OffsetDateTime,
    #[serde(with = "wire_time")]
    pub last_update_date_time_utc: OffsetDateTime,
    pub cancellation_requestor: Option<String>,
    pub cancellation_comment: Option<String>,
    #[serde(with = "wire_time::option")]
    pub cancellation_date_time_utc: Option<OffsetDateTime>,
    pub error_h_result: i64,
    /// `Full`/`Selective` for isolation, `Quick`/`Full` for scans, else null.
    pub scope: Option<String>,
    pub external_id: Option<String>,
    /// `PublicApi` for actions created through the API.
    pub request_source: String,
    pub related_file_info: Option<RelatedFileInfo>,
    pub commands: Vec<LiveResponseCommand>,
    pub troubleshoot_info: Option<Value>,
}

impl MachineAction {
    /// Whether the action reached a final state.
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "Succeeded" | "Failed" | "TimeOut" | "Cancelled")
    }
}

/// `relatedFileInfo` of a StopAndQuarantineFile action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelatedFileInfo {
    pub file_identifier: String,
    /// `Sha1`, `Sha256`, `Md5`.
    pub file_identifier_type: String,
}

/// One command of a live response action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveResponseCommand {
    pub index: i64,
    #[serde(with = "wire_time::option")]
    pub start_time: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub end_time: Option<OffsetDateTime>,
    /// `Created`, `Completed`, `Failed`.
    pub command_status: String,
    pub errors: Vec<String>,
    pub command: LiveResponseCommandSpec,
}

/// What a live response command does: `{type, params:[{key,value}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveResponseCommandSpec {
    #[serde(rename = "type")]
    pub kind: String,
    pub params: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

/// A Microsoft 365 Defender incident as stored; [`IncidentView`] is what the API returns, built
/// from it and its alerts at read time so alert changes show through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Incident {
    pub incident_id: i64,
    pub redirect_incident_id: Option<i64>,
    pub incident_name: String,
    #[serde(with = "wire_time")]
    pub created_time: OffsetDateTime,
    #[serde(with = "wire_time")]
    pub last_update_time: OffsetDateTime,
    pub assigned_to: Option<String>,
    /// `Unknown`, `TruePositive`, `InformationalExpectedActivity`, `FalsePositive`.
    pub classification: String,
    pub determination: String,
    /// `Active`, `InProgress`, `Resolved`, `Redirected`.
    pub status: String,
    pub severity: String,
    pub tags: Vec<String>,
    pub comments: Vec<Comment>,
}

/// An incident with its alerts, in the documented order (§4.7).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    pub alerts: Vec<IncidentAlert>,
}

/// An alert inside an incident (M365D shape, unlike the MDE alert).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentAlert {
    pub alert_id: String,
    pub incident_id: Option<i64>,
    pub service_source: String,
    #[serde(with = "wire_time::option")]
    pub creation_time: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub last_updated_time: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub resolved_time: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub first_activity: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub last_activity: Option<OffsetDateTime>,
    pub title: String,
    pub description: String,
    pub category: String,
    pub status: String,
    pub severity: String,
    pub investigation_id: Option<i64>,
    pub investigation_state: Option<String>,
    pub classification: Option<String>,
    pub determination: Option<String>,
    pub detection_source: String,
    pub assigned_to: Option<String>,
    pub actor_name: Option<String>,
    pub threat_family_name: Option<String>,
    pub mitre_techniques: Vec<String>,
    pub devices: Vec<IncidentDevice>,
    pub entities: Vec<IncidentEntity>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentDevice {
    pub mdatp_device_id: String,
    pub aad_device_id: Option<String>,
    pub device_dns_name: String,
    pub os_platform: String,
    pub version: Option<String>,
    pub os_processor: String,
    pub os_build: Option<i64>,
    pub health_status: String,
    pub risk_score: Option<String>,
    pub rbac_group_name: Option<String>,
    pub rbac_group_id: i64,
    #[serde(with = "wire_time")]
    pub first_seen: OffsetDateTime,
}

/// An entity of an incident alert: every key present, null where it does not apply.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentEntity {
    pub entity_type: String,
    pub sha1: Option<String>,
    pub sha256: Option<String>,
    pub file_name: Option<String>,
    pub file_path: Option<String>,
    pub process_id: Option<i64>,
    pub process_command_line: Option<String>,
    #[serde(with = "wire_time::option")]
    pub process_creation_time: Option<OffsetDateTime>,
    pub parent_process_id: Option<i64>,
    #[serde(with = "wire_time::option")]
    pub parent_process_creation_time: Option<OffsetDateTime>,
    pub ip_address: Option<String>,
    pub url: Option<String>,
    pub account_name: Option<String>,
    pub domain_name: Option<String>,
    pub user_sid: Option<String>,
    pub aad_user_id: Option<String>,
    pub user_principal_name: Option<String>,
    pub mailbox_display_name: Option<String>,
    pub mailbox_address: Option<String>,
    pub cluster_by: Option<String>,
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub subject: Option<String>,
    pub delivery_action: Option<String>,
    pub security_group_id: Option<String>,
    pub security_group_name: Option<String>,
    pub registry_hive: Option<String>,
    pub registry_key: Option<String>,
    pub registry_value_type: Option<String>,
    pub registry_value: Option<String>,
    pub device_id: Option<String>,
}

/// A file profile (§4.6).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    pub sha1: String,
    pub sha256: Option<String>,
    pub md5: Option<String>,
    pub global_prevalence: Option<i64>,
    #[serde(with = "wire_time::option")]
    pub global_first_observed: Option<OffsetDateTime>,
    #[serde(with = "wire_time::option")]
    pub global_last_observed: Option<OffsetDateTime>,
    pub size: Option<i64>,
    pub file_type: Option<String>,
    pub is_pe_file: bool,
    pub file_publisher: Option<String>,
    pub file_product_name: Option<String>,
    pub signer: Option<String>,
    pub issuer: Option<String>,
    pub signer_hash: Option<String>,
    pub is_valid_certificate: bool,
    pub determination_type: Option<String>,
    pub determination_value: Option<String>,
}

/// A logon of an account on a device; the source of the User entity and of user↔machine links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logon {
    pub machine_id: String,
    pub account_domain: String,
    pub account_name: String,
    pub account_sid: Option<String>,
    /// `Interactive`, `Network`, `RemoteInteractive`…
    pub logon_type: String,
    pub is_domain_admin: bool,
    pub time: OffsetDateTime,
}

/// A user profile (§4.6), aggregated from [`Logon`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    /// `domain\user`.
    pub id: String,
    pub account_name: String,
    pub account_domain: String,
    pub account_sid: Option<String>,
    #[serde(with = "wire_time")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "wire_time")]
    pub last_seen: OffsetDateTime,
    pub most_prevalent_machine_id: Option<String>,
    pub least_prevalent_machine_id: Option<String>,
    /// Comma-separated distinct logon types, e.g. `Interactive, Network`.
    pub logon_types: String,
    pub log_on_machines_count: i64,
    pub is_domain_admin: bool,
    pub is_only_network_user: bool,
}

/// What an observation is about: the keys of the file, IP, domain and user APIs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityKey {
    /// Lowercase SHA-1.
    File(String),
    Ip(String),
    /// Lowercase host name.
    Domain(String),
    /// The account name without domain (the API's `{id}` for users).
    User(String),
}

impl EntityKey {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::File(_) => "file",
            Self::Ip(_) => "ip",
            Self::Domain(_) => "domain",
            Self::User(_) => "user",
        }
    }
    pub fn value(&self) -> &str {
        match self {
            Self::File(v) | Self::Ip(v) | Self::Domain(v) | Self::User(v) => v,
        }
    }
}

/// One sighting of a file, IP or domain on a device — what the stats endpoints count and the
/// related-machines endpoints list. Alert evidence records them; telemetry will too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub key: EntityKey,
    pub machine_id: String,
    pub time: OffsetDateTime,
    /// File name for file sightings (feeds `topFileNames`).
    pub file_name: Option<String>,
}

/// Organisation prevalence of an entity over a look-back window.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Prevalence {
    /// Distinct devices that saw it.
    pub devices: i64,
    pub first_seen: Option<OffsetDateTime>,
    pub last_seen: Option<OffsetDateTime>,
    /// Most frequent file names, most frequent first (files only).
    pub top_file_names: Vec<String>,
}
