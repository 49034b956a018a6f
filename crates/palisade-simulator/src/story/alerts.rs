//! From storyline drafts to Defender alerts, incidents and the `AlertInfo`/`AlertEvidence` rows.
//!
//! Ids, names and field conventions follow `palisade_defender::fixtures` (alert ids
//! `da<creation ticks>_<signed 32-bit>`, detector ids per title, incident names the portal's way),
//! so the API serves simulated alerts like the fixture ones. Evidence is built from the very
//! `Process`/`Image` values the storyline emitted as events: hashes, pids, command lines and
//! creation times cannot drift apart.

use super::StoryRng;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use palisade_defender::model::{Alert, Evidence, FileInfo, Incident, RelatedUser};
use palisade_telemetry::Table;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::images::parent_dir;
use super::{Attacks, Ctx, HOUR, Instance, MIN, Rng, SEC, Story};
use crate::event::{Account, Image, Process};
use crate::rows::indexes;
use crate::{Fleet, Nanos, Sink, datetime, nanos};

/// One kind of alert.
pub(super) struct Detection {
    /// May hold `@FAMILY@` (the threat family).
    pub title: &'static str,
    pub category: &'static str,
    pub severity: &'static str,
    /// Raised by the antivirus engine rather than EDR behaviour monitoring.
    pub av: bool,
    pub mitre: &'static [&'static str],
    pub description: &'static str,
}

/// One piece of evidence, as the storyline knows it.
pub(super) enum Ev {
    /// A process and the parent that started it.
    Process {
        process: Process,
        parent: Process,
    },
    File(Arc<Image>),
    /// An address; `inbound` when it connected to the device rather than the other way.
    Ip {
        ip: Arc<str>,
        inbound: bool,
    },
    Url(Arc<str>),
    Registry {
        hive: &'static str,
        key: &'static str,
        value_name: Arc<str>,
        value_type: &'static str,
        data: Arc<str>,
    },
}

/// An alert before ids are given out.
pub(super) struct Draft {
    pub device: usize,
    pub det: &'static Detection,
    pub first: Nanos,
    pub last: Nanos,
    pub created: Nanos,
    pub user: Arc<Account>,
    /// (family, threat name)
    pub threat: Option<(&'static str, &'static str)>,
    pub evidence: Vec<Ev>,
}

/// What an `AlertEvidence` row needs beyond the API's evidence element.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct AlertExtra {
    local_ip: Arc<str>,
    /// Parallel to the alert's evidence.
    evidence: Vec<EvidenceExtra>,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct EvidenceExtra {
    size: Option<i64>,
    value_name: Option<Arc<str>>,
    direction: Option<&'static str>,
    additional: Option<String>,
}

impl Ctx<'_> {
    /// Raises an alert on `dev` about events in `first..=last`; it is created half a minute to
    /// three minutes after the last one. User evidence for `user` is added last.
    #[allow(clippy::too_many_arguments)]
    pub fn raise(
        &mut self,
        dev: usize,
        det: &'static Detection,
        first: Nanos,
        last: Nanos,
        user: &Arc<Account>,
        threat: Option<(&'static str, &'static str)>,
        evidence: Vec<Ev>,
    ) {
        debug_assert!(first <= last);
        let created = (last + self.rng.span(30 * SEC, 3 * MIN)).min(self.end - SEC).max(last);
        self.alerts.push(Draft { device: dev, det, first, last, created, user: user.clone(), threat, evidence });
    }

    /// Records the profile of an attacker file (what `/api/files/{sha1}` answers).
    pub fn profile(&mut self, img: &Image, document: bool, verdict: Option<(&str, &str)>, seen: Nanos) {
        let first = seen - self.rng.span(MIN, 48 * HOUR);
        self.files.push(FileInfo {
            sha1: img.sha1.to_string(),
            sha256: Some(img.sha256.to_string()),
            md5: Some(img.md5.to_string()),
            global_prevalence: Some(self.rng.between(1, 40)),
            global_first_observed: Some(datetime(first)),
            global_last_observed: Some(datetime(seen)),
            size: Some(img.size),
            file_type: Some(if document { "Document" } else { "APP" }.into()),
            is_pe_file: !document,
            determination_type: Some(verdict.map_or("Unknown", |v| v.0).into()),
            determination_value: verdict.map(|v| v.1.into()),
            ..FileInfo::default()
        });
    }
}

/// .NET ticks (100 ns) at the Unix epoch: alert ids carry creation time in ticks.
const DOTNET_UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

/// Namespace of detector ids, the fixtures': the same detection has the same id everywhere.
const DETECTOR_NS: Uuid = Uuid::from_u128(0x7a1d_5e2c_4b8f_4e01_9c3d_2f6a_8b0e_1d47);

/// Stream of the id generator (storylines use streams from 1 up).
const IDS_STREAM: u64 = u64::MAX;

/// Gives out incident and alert ids in creation order and assembles the run's attacks.
pub(super) fn assemble(tenant: Uuid, fleet: &Fleet, base: u64, mut stories: Vec<Story>) -> Attacks {
    let first_created = |s: &Story| s.alerts.iter().map(|a| a.created).min().unwrap_or(Nanos::MAX);
    stories.sort_by_key(first_created);
    let mut rng = Rng::new(base, IDS_STREAM);
    let first_incident = 10_000 + rng.between(0, 40_000);
    let mut next_investigation = 1 + rng.between(0, 90_000);
    let salt = rng.next_u64() as u32;
    let tenant = tenant.to_string();

    // (created, story, position) orders alerts; ties keep the storyline's order.
    let mut order: Vec<(Nanos, usize, usize)> = Vec::new();
    let mut investigations = Vec::with_capacity(stories.len());
    for (s, story) in stories.iter().enumerate() {
        order.extend(story.alerts.iter().enumerate().map(|(p, a)| (a.created, s, p)));
        investigations.push(rng.chance(0.6).then(|| {
            next_investigation += 1;
            next_investigation
        }));
    }
    order.sort_unstable();

    let mut alerts = Vec::with_capacity(order.len());
    let mut extras = Vec::with_capacity(order.len());
    for (n, &(_, s, p)) in order.iter().enumerate() {
        let d = &stories[s].alerts[p];
        let (alert, extra) =
            build_alert(fleet, &tenant, d, first_incident + s as i64, investigations[s], n as u32 ^ salt);
        alerts.push(alert);
        extras.push(extra);
    }

    let mut by_story: Vec<Vec<&Alert>> = vec![Vec::new(); stories.len()];
    for (a, &(_, s, _)) in alerts.iter().zip(&order) {
        by_story[s].push(a);
    }
    let mut incidents = Vec::with_capacity(stories.len());
    let mut storylines = Vec::with_capacity(stories.len());
    for (s, story) in stories.iter().enumerate() {
        let id = first_incident + s as i64;
        incidents.push(incident(id, &by_story[s], story.tags));
        storylines.push(Instance {
            kind: story.kind,
            incident_id: id,
            devices: story.devices.iter().map(|&i| fleet.devices[i].record.machine.id.clone()).collect(),
            first: story.events.iter().map(|e| e.at).min().unwrap_or_default(),
            last: story.events.iter().map(|e| e.at).max().unwrap_or_default(),
        });
    }

    // Events: one time line, report ids increasing along it.
    let mut events: Vec<_> = stories.iter_mut().flat_map(|s| std::mem::take(&mut s.events)).collect();
    events.sort_by(|a, b| (a.at, &*a.host.id).cmp(&(b.at, &*b.host.id)));
    for (i, e) in events.iter_mut().enumerate() {
        e.report_id = super::REPORT_ID_BASE + i as i64;
    }

    let mut seen = BTreeSet::new();
    let files =
        stories.iter_mut().flat_map(|s| std::mem::take(&mut s.files)).filter(|f| seen.insert(f.sha1.clone())).collect();

    let mut worst: BTreeMap<&str, &str> = BTreeMap::new();
    for a in &alerts {
        let w = worst.entry(a.machine_id.as_str()).or_insert("Informational");
        if rank(&a.severity) > rank(w) {
            *w = &a.severity;
        }
    }
    let machine_updates = fleet
        .devices
        .iter()
        .filter_map(|d| {
            let m = &d.record.machine;
            let risk = *worst.get(m.id.as_str())?;
            let implied = if risk == "Informational" { "Low" } else { risk };
            let current = m.exposure_level.as_deref().unwrap_or("None");
            let exposure = if rank(implied) > rank(current) { implied } else { current };
            Some((m.id.clone(), risk.to_string(), exposure.to_string()))
        })
        .collect();

    Attacks { events, alerts, incidents, storylines, files, machine_updates, extras }
}

fn build_alert(
    fleet: &Fleet,
    tenant: &str,
    d: &Draft,
    incident: i64,
    investigation: Option<i64>,
    n: u32,
) -> (Alert, AlertExtra) {
    let dev = &fleet.devices[d.device];
    let m = &dev.record.machine;
    let created = datetime(d.created);
    // Every storyline runs to completion: nothing was prevented or blocked.
    let status = "Detected";
    let family = d.threat.map(|t| t.0);
    let mut evidence = Vec::with_capacity(d.evidence.len() + 1);
    let mut extra = Vec::with_capacity(d.evidence.len() + 1);
    for ev in &d.evidence {
        let base = Evidence {
            evidence_creation_time: Some(created),
            detection_status: Some(status.into()),
            ..Evidence::default()
        };
        let (e, x) = match ev {
            Ev::Process { process: p, parent } => (
                Evidence {
                    entity_type: "Process".into(),
                    sha1: Some(p.image.sha1.to_string()),
                    sha256: Some(p.image.sha256.to_string()),
                    file_name: Some(p.image.file_name.to_string()),
                    file_path: Some(parent_dir(&p.image.folder_path).into()),
                    process_id: Some(p.pid),
                    process_command_line: Some(p.command_line.to_string()),
                    process_creation_time: Some(datetime(p.created)),
                    parent_process_id: Some(parent.pid),
                    parent_process_creation_time: Some(datetime(parent.created)),
                    parent_process_file_name: Some(parent.image.file_name.to_string()),
                    parent_process_file_path: Some(parent_dir(&parent.image.folder_path).into()),
                    ..base
                },
                EvidenceExtra {
                    size: Some(p.image.size),
                    additional: Some(
                        serde_json::json!({
                            "ProcessId": p.pid,
                            "CreationTimeUtc": datetime(p.created).format(&Rfc3339).unwrap_or_default(),
                            "ParentProcessId": parent.pid,
                        })
                        .to_string(),
                    ),
                    ..EvidenceExtra::default()
                },
            ),
            Ev::File(img) => (
                Evidence {
                    entity_type: "File".into(),
                    sha1: Some(img.sha1.to_string()),
                    sha256: Some(img.sha256.to_string()),
                    file_name: Some(img.file_name.to_string()),
                    file_path: Some(parent_dir(&img.folder_path).into()),
                    ..base
                },
                EvidenceExtra { size: Some(img.size), ..EvidenceExtra::default() },
            ),
            Ev::Ip { ip, inbound } => (
                Evidence { entity_type: "Ip".into(), ip_address: Some(ip.to_string()), ..base },
                EvidenceExtra {
                    direction: Some(if *inbound { "Source" } else { "Destination" }),
                    ..EvidenceExtra::default()
                },
            ),
            Ev::Url(url) => (
                Evidence { entity_type: "Url".into(), url: Some(url.to_string()), ..base },
                EvidenceExtra { direction: Some("Destination"), ..EvidenceExtra::default() },
            ),
            Ev::Registry { hive, key, value_name, value_type, data } => (
                Evidence {
                    entity_type: "Registry".into(),
                    registry_key: Some((*key).into()),
                    registry_hive: Some((*hive).into()),
                    registry_value_type: Some((*value_type).into()),
                    registry_value: Some(data.to_string()),
                    ..base
                },
                EvidenceExtra { value_name: Some(value_name.clone()), ..EvidenceExtra::default() },
            ),
        };
        evidence.push(e);
        extra.push(x);
    }
    let u = &d.user;
    evidence.push(Evidence {
        entity_type: "User".into(),
        evidence_creation_time: Some(created),
        account_name: Some(u.name.to_string()),
        domain_name: Some(u.domain.to_string()),
        user_sid: (!u.sid.is_empty()).then(|| u.sid.to_string()),
        aad_user_id: u.object_id.as_deref().map(Into::into),
        user_principal_name: u.upn.as_deref().map(Into::into),
        ..Evidence::default()
    });
    extra.push(EvidenceExtra::default());

    let ticks = d.created / 100 + DOTNET_UNIX_EPOCH_TICKS;
    let alert = Alert {
        id: format!("da{ticks}_{}", mix32(n) as i32),
        incident_id: Some(incident),
        investigation_id: investigation,
        assigned_to: None,
        severity: d.det.severity.into(),
        status: "New".into(),
        classification: None,
        determination: None,
        investigation_state: Some(if investigation.is_some() { "Running" } else { "UnsupportedAlertType" }.into()),
        detection_source: if d.det.av { "WindowsDefenderAv" } else { "WindowsDefenderAtp" }.into(),
        detector_id: Some(Uuid::new_v5(&DETECTOR_NS, d.det.title.as_bytes()).to_string()),
        category: d.det.category.into(),
        threat_family_name: family.map(Into::into),
        title: d.det.title.replace("@FAMILY@", family.unwrap_or("Generic")),
        description: d.det.description.into(),
        alert_creation_time: Some(created),
        first_event_time: Some(datetime(d.first)),
        last_event_time: Some(datetime(d.last)),
        last_update_time: Some(created),
        resolved_time: None,
        machine_id: m.id.clone(),
        computer_dns_name: Some(m.computer_dns_name.clone()),
        rbac_group_name: m.rbac_group_name.clone(),
        aad_tenant_id: tenant.into(),
        threat_name: d.threat.map(|t| t.1.into()),
        mitre_techniques: d.det.mitre.iter().map(|t| (*t).into()).collect(),
        related_user: Some(RelatedUser { user_name: u.name.to_string(), domain_name: u.domain.to_string() }),
        comments: vec![],
        evidence,
    };
    (alert, AlertExtra { local_ip: dev.ip.clone(), evidence: extra })
}

/// A bijection of u32 (murmur3's finaliser): distinct alert ordinals give distinct id suffixes.
fn mix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

fn rank(severity: &str) -> u8 {
    match severity {
        "High" => 4,
        "Medium" => 3,
        "Low" => 2,
        "Informational" => 1,
        _ => 0,
    }
}

fn incident(id: i64, alerts: &[&Alert], tags: &[&str]) -> Incident {
    let created = alerts.iter().filter_map(|a| a.alert_creation_time).min().expect("an incident has alerts");
    let updated = alerts.iter().filter_map(|a| a.last_update_time).max().expect("an incident has alerts");
    let severity = alerts.iter().map(|a| a.severity.as_str()).max_by_key(|s| rank(s)).unwrap_or("Informational");
    Incident {
        incident_id: id,
        redirect_incident_id: None,
        incident_name: palisade_defender::fixtures::incident_name(
            alerts,
            alerts.iter().map(|a| a.machine_id.as_str()).collect::<BTreeSet<_>>().len(),
        ),
        created_time: created,
        last_update_time: updated,
        assigned_to: None,
        classification: "Unknown".into(),
        determination: "NotAvailable".into(),
        status: "Active".into(),
        severity: severity.into(),
        tags: tags.iter().map(|t| (*t).into()).collect(),
        comments: vec![],
    }
}

/// The MITRE ATT&CK name of a technique id, as `AlertInfo.AttackTechniques` spells it
/// (`PowerShell (T1059.001)`); `None` for ids the storylines do not use.
pub fn technique_name(id: &str) -> Option<String> {
    let name = match id {
        "T1003.001" => "LSASS Memory",
        "T1021.002" => "SMB/Windows Admin Shares",
        "T1027" => "Obfuscated Files or Information",
        "T1047" => "Windows Management Instrumentation",
        "T1059.001" => "PowerShell",
        "T1059.003" => "Windows Command Shell",
        "T1071.001" => "Web Protocols",
        "T1105" => "Ingress Tool Transfer",
        "T1112" => "Modify Registry",
        "T1140" => "Deobfuscate/Decode Files or Information",
        "T1204.002" => "Malicious File",
        "T1218.011" => "Rundll32",
        "T1486" => "Data Encrypted for Impact",
        "T1490" => "Inhibit System Recovery",
        "T1547.001" => "Registry Run Keys / Startup Folder",
        "T1566.001" => "Spearphishing Attachment",
        "T1569.002" => "Service Execution",
        "T1570" => "Lateral Tool Transfer",
        "T1573.002" => "Asymmetric Cryptography",
        _ => return None,
    };
    Some(format!("{name} ({id})"))
}

fn techniques_json(alert: &Alert) -> Option<String> {
    let names: Vec<String> = alert.mitre_techniques.iter().filter_map(|t| technique_name(t)).collect();
    (!names.is_empty()).then(|| serde_json::to_string(&names).expect("strings serialise"))
}

/// `AlertInfo.DetectionSource` wording of the API's `detectionSource`.
fn detection_source(api: &str) -> &'static str {
    match api {
        "WindowsDefenderAv" => "Antivirus",
        "WindowsDefenderSmartScreen" => "SmartScreen",
        "CustomDetection" => "Custom detection",
        _ => "EDR",
    }
}

const SERVICE_SOURCE: &str = "Microsoft Defender for Endpoint";

/// Writes one `AlertInfo` row and one `AlertEvidence` row per evidence plus the impacted
/// machine.
pub(super) fn write_rows(alert: &Alert, extra: &AlertExtra, sink: &mut Sink) {
    let Some(created) = alert.alert_creation_time.map(nanos) else { return };
    let techniques = techniques_json(alert);
    let source = detection_source(&alert.detection_source);

    static INFO: OnceLock<[usize; 8]> = OnceLock::new();
    let c = INFO.get_or_init(|| {
        indexes(
            Table::AlertInfo,
            [
                "Timestamp",
                "AlertId",
                "Title",
                "Category",
                "Severity",
                "ServiceSource",
                "DetectionSource",
                "AttackTechniques",
            ],
        )
    });
    let rows = sink.rows(Table::AlertInfo);
    rows.time(c[0], created);
    rows.str(c[1], &alert.id);
    rows.str(c[2], &alert.title);
    rows.str(c[3], &alert.category);
    rows.str(c[4], &alert.severity);
    rows.str(c[5], SERVICE_SOURCE);
    rows.str(c[6], source);
    rows.opt_str(c[7], techniques.as_deref());
    rows.end_row();

    static EV: OnceLock<[usize; 31]> = OnceLock::new();
    let c = EV.get_or_init(|| {
        indexes(
            Table::AlertEvidence,
            [
                "Timestamp",
                "AlertId",
                "Title",
                "Categories",
                "AttackTechniques",
                "ServiceSource",
                "DetectionSource",
                "EntityType",
                "EvidenceRole",
                "EvidenceDirection",
                "FileName",
                "FolderPath",
                "SHA1",
                "SHA256",
                "FileSize",
                "ThreatFamily",
                "RemoteIP",
                "RemoteUrl",
                "AccountName",
                "AccountDomain",
                "AccountSid",
                "AccountObjectId",
                "AccountUpn",
                "DeviceId",
                "DeviceName",
                "LocalIP",
                "ProcessCommandLine",
                "RegistryKey",
                "RegistryValueName",
                "RegistryValueData",
                "AdditionalFields",
            ],
        )
    });
    static SEVERITY: OnceLock<usize> = OnceLock::new();
    let severity = *SEVERITY.get_or_init(|| indexes(Table::AlertEvidence, ["Severity"])[0]);
    let categories = serde_json::to_string(&[&alert.category]).expect("strings serialise");
    let rows = sink.rows(Table::AlertEvidence);
    let head = |rows: &mut crate::Rows, entity: &str, role: &str| {
        rows.time(c[0], created);
        rows.str(c[1], &alert.id);
        rows.str(c[2], &alert.title);
        rows.str(c[3], &categories);
        rows.opt_str(c[4], techniques.as_deref());
        rows.str(c[5], SERVICE_SOURCE);
        rows.str(c[6], source);
        rows.str(c[7], entity);
        rows.str(c[8], role);
        rows.str(c[23], &alert.machine_id);
        rows.opt_str(c[24], alert.computer_dns_name.as_deref());
        rows.str(severity, &alert.severity);
    };

    head(rows, "Machine", "Impacted");
    if !extra.local_ip.is_empty() {
        rows.str(c[25], &extra.local_ip);
    }
    rows.end_row();

    let none = EvidenceExtra::default();
    for (i, e) in alert.evidence.iter().enumerate() {
        let x = extra.evidence.get(i).unwrap_or(&none);
        let (entity, role) = match e.entity_type.as_str() {
            "User" => ("User", "Impacted"),
            "Registry" => ("RegistryValue", "Related"),
            other => (other, "Related"),
        };
        head(rows, entity, role);
        rows.opt_str(c[9], x.direction);
        rows.opt_str(c[10], e.file_name.as_deref());
        if let (Some(dir), Some(name)) = (&e.file_path, &e.file_name) {
            rows.str(c[11], &format!(r"{dir}\{name}"));
        }
        rows.opt_str(c[12], e.sha1.as_deref());
        rows.opt_str(c[13], e.sha256.as_deref());
        if let Some(size) = x.size {
            rows.long(c[14], size);
        }
        if e.entity_type == "File" {
            rows.opt_str(c[15], alert.threat_family_name.as_deref());
        }
        rows.opt_str(c[16], e.ip_address.as_deref());
        rows.opt_str(c[17], e.url.as_deref());
        rows.opt_str(c[18], e.account_name.as_deref());
        rows.opt_str(c[19], e.domain_name.as_deref());
        rows.opt_str(c[20], e.user_sid.as_deref());
        rows.opt_str(c[21], e.aad_user_id.as_deref());
        rows.opt_str(c[22], e.user_principal_name.as_deref());
        rows.opt_str(c[26], e.process_command_line.as_deref());
        if let (Some(hive), Some(key)) = (&e.registry_hive, &e.registry_key) {
            rows.str(c[27], &format!(r"{hive}\{key}"));
        }
        rows.opt_str(c[28], x.value_name.as_deref());
        rows.opt_str(c[29], e.registry_value.as_deref());
        rows.opt_str(c[30], x.additional.as_deref());
        rows.end_row();
    }
}
