//! The attack storylines against the hunting rows they write: every alert's evidence must point at
//! rows an analyst can find, incidents must hold their alerts, and runs must reproduce.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, TimestampNanosecondType};
use palisade_simulator::story::{self, Attacks, REPORT_ID_BASE, Storyline};
use palisade_simulator::{Kind, Plan, SimOptions, Sink, day, nanos, plan};
use palisade_telemetry::Table;
use time::macros::datetime;
use uuid::Uuid;

const TENANT: Uuid = Uuid::from_u128(0x0f3e_29a1_6c4d_4b7e_9a12_5d8c_3e7f_1a20);
const MIN: i64 = 60_000_000_000;

fn options(devices: usize, days: u32, seed: u64) -> SimOptions {
    let mut o = SimOptions::new(devices, datetime!(2026-03-01 00:00 UTC), days);
    o.seed = seed;
    // Storylines do not depend on benign volume; keep whatever the benign generator writes small.
    o.events_per_device_hour = 2;
    o
}

type Tables = BTreeMap<Table, RecordBatch>;

/// Every day of a plan written into one sink.
fn generate(p: &Plan) -> Tables {
    let mut sink = Sink::new();
    for d in 0..p.opts.days {
        day(p, d, &mut sink);
    }
    sink.finish().into_iter().collect()
}

/// The 50-device week most tests look at, generated once.
fn week() -> &'static (Plan, Tables) {
    static WEEK: OnceLock<(Plan, Tables)> = OnceLock::new();
    WEEK.get_or_init(|| {
        let p = plan(TENANT, &options(50, 7, 11));
        let tables = generate(&p);
        (p, tables)
    })
}

// --- reading batches -------------------------------------------------------------------------

struct Cols<'a>(&'a RecordBatch);

impl Cols<'_> {
    fn rows(&self) -> usize {
        self.0.num_rows()
    }
    fn str(&self, name: &str, i: usize) -> Option<&str> {
        let c = self.0.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).as_string::<i32>();
        (!c.is_null(i)).then(|| c.value(i))
    }
    fn long(&self, name: &str, i: usize) -> Option<i64> {
        let c = self.0.column_by_name(name).unwrap_or_else(|| panic!("no column {name}")).as_primitive::<Int64Type>();
        (!c.is_null(i)).then(|| c.value(i))
    }
    fn time(&self, name: &str, i: usize) -> Option<i64> {
        let c = self.0.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
        let c = c.as_primitive::<TimestampNanosecondType>();
        (!c.is_null(i)).then(|| c.value(i))
    }
}

fn table<'a>(tables: &'a Tables, t: Table) -> Option<Cols<'a>> {
    tables.get(&t).map(Cols)
}

fn owned(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
}

// --- the consistency checker -----------------------------------------------------------------

/// Everything wrong between the attacks and the rows, one line per problem.
fn problems(attacks: &Attacks, tables: &Tables) -> Vec<String> {
    let mut out = Vec::new();
    // (device, sha1, pid, command line) → row times of process creations.
    let mut procs: HashMap<(String, String, i64, String), Vec<i64>> = HashMap::new();
    let mut hashes: HashSet<(String, String)> = HashSet::new();
    let mut ips: HashSet<(String, String)> = HashSet::new();
    let mut urls: HashSet<(String, String)> = HashSet::new();
    let mut registry: HashSet<(String, String, String)> = HashSet::new();
    let mut accounts: HashSet<(String, String)> = HashSet::new();

    if let Some(c) = table(tables, Table::DeviceProcessEvents) {
        for i in 0..c.rows() {
            let dev = owned(c.str("DeviceId", i));
            let sha1 = owned(c.str("SHA1", i));
            let key = (
                dev.clone(),
                sha1.clone(),
                c.long("ProcessId", i).unwrap_or(-1),
                owned(c.str("ProcessCommandLine", i)),
            );
            procs.entry(key).or_default().push(c.time("Timestamp", i).unwrap_or_default());
            hashes.insert((dev.clone(), sha1));
            accounts.insert((dev.clone(), owned(c.str("AccountName", i))));
            accounts.insert((dev, owned(c.str("InitiatingProcessAccountName", i))));
        }
    }
    if let Some(c) = table(tables, Table::DeviceFileEvents) {
        for i in 0..c.rows() {
            let dev = owned(c.str("DeviceId", i));
            hashes.insert((dev.clone(), owned(c.str("SHA1", i))));
            if let Some(u) = c.str("FileOriginUrl", i) {
                urls.insert((dev, u.to_string()));
            }
        }
    }
    if let Some(c) = table(tables, Table::DeviceNetworkEvents) {
        for i in 0..c.rows() {
            let dev = owned(c.str("DeviceId", i));
            ips.insert((dev.clone(), owned(c.str("RemoteIP", i))));
            if let Some(u) = c.str("RemoteUrl", i) {
                urls.insert((dev, u.to_string()));
            }
        }
    }
    if let Some(c) = table(tables, Table::DeviceRegistryEvents) {
        for i in 0..c.rows() {
            registry.insert((
                owned(c.str("DeviceId", i)),
                owned(c.str("RegistryKey", i)),
                owned(c.str("RegistryValueData", i)),
            ));
        }
    }
    if let Some(c) = table(tables, Table::DeviceLogonEvents) {
        for i in 0..c.rows() {
            accounts.insert((owned(c.str("DeviceId", i)), owned(c.str("AccountName", i))));
        }
    }

    let incidents: HashSet<i64> = attacks.incidents.iter().map(|i| i.incident_id).collect();
    for a in &attacks.alerts {
        let dev = a.machine_id.clone();
        let Some(created) = a.alert_creation_time.map(nanos) else {
            out.push(format!("{}: no creation time", a.id));
            continue;
        };
        let (first, last) = (a.first_event_time.map(nanos), a.last_event_time.map(nanos));
        if !(first <= last && last <= Some(created)) {
            out.push(format!("{}: event times {first:?}..{last:?} do not precede creation {created}", a.id));
        }
        if !a.incident_id.is_some_and(|i| incidents.contains(&i)) {
            out.push(format!("{}: incident {:?} does not exist", a.id, a.incident_id));
        }
        for e in &a.evidence {
            let sha1 = e.sha1.clone().unwrap_or_default();
            match e.entity_type.as_str() {
                "Process" => {
                    let key = (
                        dev.clone(),
                        sha1.clone(),
                        e.process_id.unwrap_or(-2),
                        e.process_command_line.clone().unwrap_or_default(),
                    );
                    let near =
                        procs.get(&key).is_some_and(|ts| ts.iter().any(|&t| t <= created && created - t <= 10 * MIN));
                    if !near {
                        out.push(format!(
                            "{}: process evidence {} pid {:?} sha1 {sha1} has no process row within 10 minutes before creation",
                            a.id,
                            e.file_name.as_deref().unwrap_or("?"),
                            e.process_id
                        ));
                    }
                }
                "File" if !hashes.contains(&(dev.clone(), sha1.clone())) => {
                    out.push(format!("{}: file evidence sha1 {sha1} is in no file or process row of the device", a.id));
                }
                "Ip" => {
                    let ip = e.ip_address.clone().unwrap_or_default();
                    if !ips.contains(&(dev.clone(), ip.clone())) {
                        out.push(format!("{}: ip evidence {ip} is in no network row of the device", a.id));
                    }
                }
                "Url" => {
                    let url = e.url.clone().unwrap_or_default();
                    if !urls.contains(&(dev.clone(), url.clone())) {
                        out.push(format!("{}: url evidence {url} is in no network or file row of the device", a.id));
                    }
                }
                "Registry" => {
                    let key = format!(
                        r"{}\{}",
                        e.registry_hive.as_deref().unwrap_or(""),
                        e.registry_key.as_deref().unwrap_or("")
                    );
                    if !registry.contains(&(dev.clone(), key.clone(), e.registry_value.clone().unwrap_or_default())) {
                        out.push(format!("{}: registry evidence {key} is in no registry row of the device", a.id));
                    }
                }
                "User" => {
                    let name = e.account_name.clone().unwrap_or_default();
                    if !accounts.contains(&(dev.clone(), name.clone())) {
                        out.push(format!(
                            "{}: user evidence {name} appears in no process or logon row of the device",
                            a.id
                        ));
                    }
                }
                "File" => {}
                other => out.push(format!("{}: unexpected evidence type {other}", a.id)),
            }
        }
    }
    for i in &attacks.incidents {
        if !attacks.alerts.iter().any(|a| a.incident_id == Some(i.incident_id)) {
            out.push(format!("incident {} has no alert", i.incident_id));
        }
    }

    // One AlertInfo row per alert; one AlertEvidence row per evidence plus the machine.
    let mut info: HashMap<String, usize> = HashMap::new();
    if let Some(c) = table(tables, Table::AlertInfo) {
        for i in 0..c.rows() {
            *info.entry(owned(c.str("AlertId", i))).or_default() += 1;
        }
    }
    let mut evidence: HashMap<String, usize> = HashMap::new();
    if let Some(c) = table(tables, Table::AlertEvidence) {
        for i in 0..c.rows() {
            *evidence.entry(owned(c.str("AlertId", i))).or_default() += 1;
        }
    }
    if info.len() != attacks.alerts.len() {
        out.push(format!("AlertInfo names {} alerts, the plan has {}", info.len(), attacks.alerts.len()));
    }
    for a in &attacks.alerts {
        if info.get(&a.id) != Some(&1) {
            out.push(format!("{}: {:?} AlertInfo rows", a.id, info.get(&a.id)));
        }
        if evidence.get(&a.id) != Some(&(a.evidence.len() + 1)) {
            out.push(format!(
                "{}: {:?} AlertEvidence rows for {} evidence",
                a.id,
                evidence.get(&a.id),
                a.evidence.len()
            ));
        }
    }
    out
}

// --- tests -----------------------------------------------------------------------------------

#[test]
fn storyline_alerts_match_the_hunting_rows() {
    let (p, tables) = week();
    assert!(!p.attacks.alerts.is_empty());
    let found = problems(&p.attacks, tables);
    assert!(found.is_empty(), "{} problems, first: {:#?}", found.len(), &found[..found.len().min(10)]);
}

#[test]
fn the_checker_reports_evidence_that_points_nowhere() {
    let (p, tables) = week();
    let mut broken = p.attacks.clone();
    let (ai, ei) = broken
        .alerts
        .iter()
        .enumerate()
        .find_map(|(ai, a)| a.evidence.iter().position(|e| e.entity_type == "Process").map(|ei| (ai, ei)))
        .expect("some alert has process evidence");
    broken.alerts[ai].evidence[ei].sha1 = Some("0".repeat(40));
    let id = broken.alerts[ai].id.clone();
    let found = problems(&broken, tables);
    assert!(found.iter().any(|f| f.starts_with(&id) && f.contains("process evidence")), "{found:#?}");

    let mut broken = p.attacks.clone();
    let a = broken.alerts.iter_mut().find(|a| a.evidence.iter().any(|e| e.entity_type == "Ip")).expect("ip evidence");
    let e = a.evidence.iter_mut().find(|e| e.entity_type == "Ip").expect("ip evidence");
    e.ip_address = Some("198.51.100.250".into());
    assert!(problems(&broken, tables).iter().any(|f| f.contains("ip evidence 198.51.100.250")));

    let mut broken = p.attacks.clone();
    broken.alerts[0].incident_id = Some(-1);
    assert!(problems(&broken, tables).iter().any(|f| f.contains("incident Some(-1) does not exist")));
}

#[test]
fn every_storyline_kind_occurs_and_their_number_scales_with_the_fleet() {
    let (p, _) = week();
    for kind in Storyline::ALL {
        assert!(p.attacks.storylines.iter().any(|s| s.kind == kind), "no {kind:?} in a 50-device week");
    }
    // About one per 25 device-days.
    let small = p.attacks.storylines.len();
    assert!((10..=14).contains(&small), "{small} storylines for 350 device-days");
    let fleet = palisade_simulator::Fleet::build(TENANT, &options(300, 7, 11));
    let big = story::plan(&fleet, &options(300, 7, 11)).storylines.len();
    assert!(big > 3 * small, "{big} storylines for 2100 device-days");

    // Incidents: one per storyline, unique ids growing with creation time.
    let ids: Vec<i64> = p.attacks.incidents.iter().map(|i| i.incident_id).collect();
    assert_eq!(ids.len(), p.attacks.storylines.len());
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let created: Vec<_> = p.attacks.incidents.iter().map(|i| i.created_time).collect();
    assert!(created.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn plans_and_batches_are_deterministic() {
    let (p, tables) = week();
    let again = plan(TENANT, &options(50, 7, 11));
    assert!(again.attacks == p.attacks, "two plans of the same options differ");
    assert!(generate(&again) == *tables, "two runs wrote different rows");
    let other = plan(TENANT, &options(50, 7, 12));
    assert!(other.attacks.events != p.attacks.events, "another seed gave the same storylines");
}

#[test]
fn ransomware_spreads_to_several_devices_and_encrypts_dozens_of_files() {
    let (p, _) = week();
    let r = p.attacks.storylines.iter().find(|s| s.kind == Storyline::Ransomware).expect("a ransomware storyline");
    assert!(r.devices.len() >= 2, "ransomware reached {:?}", r.devices);
    let incident = p.attacks.incidents.iter().find(|i| i.incident_id == r.incident_id).expect("its incident");
    assert!(incident.incident_name.contains("on multiple endpoints"), "{}", incident.incident_name);
    assert_eq!(incident.severity, "High");
    for dev in &r.devices {
        let renamed: Vec<_> = p
            .attacks
            .events
            .iter()
            .filter(|e| &*e.host.id == dev)
            .filter_map(|e| match &e.kind {
                Kind::File(f) if f.action == "FileRenamed" => Some(f),
                _ => None,
            })
            .collect();
        assert!(renamed.len() >= 20, "{dev}: {} files renamed", renamed.len());
        for f in &renamed {
            let before = f.previous_file_name.as_deref().expect("renames name the old file");
            assert!(f.file.file_name.starts_with(before) && f.file.file_name.len() > before.len() + 1);
        }
        let notes = p.attacks.events.iter().filter(|e| &*e.host.id == dev).any(|e| {
            matches!(&e.kind, Kind::File(f) if f.action == "FileCreated" && &*f.file.file_name == "README-RESTORE.txt")
        });
        assert!(notes, "{dev}: no ransom note");
        let vss = p.attacks.events.iter().filter(|e| &*e.host.id == dev).any(|e| {
            matches!(&e.kind, Kind::ProcessCreated { process, .. } if &*process.command_line == "vssadmin.exe delete shadows /all /quiet")
        });
        assert!(vss, "{dev}: shadow copies not deleted");
    }
    // The chain on the first victim: Word → encoded PowerShell, and the LSASS dump.
    let first = &r.devices[0];
    let on_first = || p.attacks.events.iter().filter(move |e| &*e.host.id == first);
    assert!(on_first().any(|e| matches!(&e.kind, Kind::ProcessCreated { process, initiator }
        if &*process.image.file_name == "powershell.exe" && process.command_line.contains(" -enc ") && &*initiator.image.file_name == "WINWORD.EXE")));
    assert!(on_first().any(|e| matches!(&e.kind, Kind::ProcessCreated { process, .. }
        if process.command_line.contains("comsvcs.dll, MiniDump") && process.command_line.ends_with(r"C:\Windows\Temp\lsass.dmp full"))));
    assert!(on_first().any(|e| matches!(&e.kind, Kind::Other(o) if o.action == "OpenProcessApiCall"
        && o.file.as_ref().is_some_and(|f| &*f.file_name == "lsass.exe"))));
    // Lateral movement: PsExec or WMI from the first victim, a network logon on every other.
    for dev in &r.devices[1..] {
        assert!(
            p.attacks
                .events
                .iter()
                .any(|e| &*e.host.id == dev && matches!(&e.kind, Kind::Logon(l) if l.logon_type == "Network"))
        );
        assert!(p.attacks.events.iter().any(|e| &*e.host.id == dev
            && matches!(&e.kind, Kind::ProcessCreated { initiator, .. }
                if matches!(&*initiator.image.file_name, "PSEXESVC.exe" | "WmiPrvSE.exe" | "cmd.exe"))));
    }
}

#[test]
fn beacons_keep_a_regular_rhythm() {
    let (p, _) = week();
    let mut checked = 0;
    for b in p.attacks.storylines.iter().filter(|s| s.kind == Storyline::Beacon) {
        let times: Vec<i64> = p
            .attacks
            .events
            .iter()
            .filter(|e| *e.host.id == *b.devices[0])
            .filter(|e| matches!(&e.kind, Kind::Network(n) if &*n.initiator.image.file_name == "updater.exe"))
            .map(|e| e.at)
            .collect();
        assert!(times.len() >= 2, "a beacon with {} callbacks", times.len());
        let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
        assert!(mean >= 50e9, "mean interval {mean} ns");
        assert!(sd / mean < 0.1, "interval stddev {sd} against a mean of {mean}");
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn events_are_sorted_inside_the_run_with_report_ids_of_their_own() {
    let (p, _) = week();
    let ev = &p.attacks.events;
    assert!(
        ev.windows(2).all(|w| (w[0].at, &*w[0].host.id, w[0].report_id) <= (w[1].at, &*w[1].host.id, w[1].report_id))
    );
    let (start, end) = (nanos(p.opts.start), nanos(p.opts.end()));
    assert!(ev.iter().all(|e| start <= e.at && e.at < end));
    assert!(ev.iter().all(|e| e.report_id >= REPORT_ID_BASE));
    let ids: HashSet<(&str, i64)> = ev.iter().map(|e| (&*e.host.id, e.report_id)).collect();
    assert_eq!(ids.len(), ev.len(), "report ids repeat on a device");
    // Process trees are chained: a child names its initiator as its parent.
    for e in ev {
        if let Kind::ProcessCreated { process, initiator } = &e.kind {
            assert_eq!(process.parent.as_ref(), Some(&initiator.as_parent()), "{}", process.command_line);
            assert!(initiator.created <= process.created && process.created == e.at);
        }
    }
    // Every alert is created inside the run, so some day writes its rows.
    assert!(p.attacks.alerts.iter().all(|a| a.alert_creation_time.is_some_and(|t| nanos(t) < end)));
}

#[test]
fn alerts_follow_the_api_formats() {
    let (p, tables) = week();
    let tenant = TENANT.to_string();
    let fleet = &p.fleet;
    let attacks = story::plan_for(TENANT, fleet, &p.opts);
    let mut ids = HashSet::new();
    for a in &attacks.alerts {
        let (ticks, n) = a.id.strip_prefix("da").and_then(|s| s.split_once('_')).expect("da<ticks>_<n>");
        assert!(ticks.parse::<i64>().is_ok() && n.parse::<i32>().is_ok(), "{}", a.id);
        assert!(ids.insert(a.id.clone()), "alert id {} repeats", a.id);
        assert_eq!(a.aad_tenant_id, tenant);
        assert!(matches!(a.detection_source.as_str(), "WindowsDefenderAtp" | "WindowsDefenderAv"));
        assert!(matches!(a.severity.as_str(), "Low" | "Medium" | "High"));
        assert_eq!(a.status, "New");
        let m =
            &fleet.devices.iter().find(|d| d.record.machine.id == a.machine_id).expect("a fleet device").record.machine;
        assert_eq!(a.computer_dns_name.as_deref(), Some(m.computer_dns_name.as_str()));
        assert_eq!(a.rbac_group_name, m.rbac_group_name);
        assert!(a.evidence.iter().any(|e| e.entity_type == "User"));
        for t in &a.mitre_techniques {
            assert!(story::technique_name(t).is_some(), "no name for {t}");
        }
        // The alert lands inside the device's lifetime as the API shows it.
        let created = a.alert_creation_time.expect("created");
        assert!(
            m.first_seen <= created && created <= m.last_seen,
            "{} outside {}..{}",
            a.id,
            m.first_seen,
            m.last_seen
        );
    }
    // AlertInfo spells techniques as names and detection sources the hunting way.
    let c = table(tables, Table::AlertInfo).expect("AlertInfo rows");
    for i in 0..c.rows() {
        assert_eq!(c.str("ServiceSource", i), Some("Microsoft Defender for Endpoint"));
        assert!(matches!(c.str("DetectionSource", i), Some("EDR" | "Antivirus")));
        if let Some(t) = c.str("AttackTechniques", i) {
            let names: Vec<String> = serde_json::from_str(t).expect("a JSON array");
            assert!(names.iter().all(|n| n.ends_with(')') && n.contains(" (T")), "{names:?}");
        }
    }
    // Risk follows the worst alert of each device.
    let updates = p.attacks.machine_updates();
    let alerted: HashSet<&str> = p.attacks.alerts.iter().map(|a| a.machine_id.as_str()).collect();
    assert_eq!(updates.len(), alerted.len());
    for (id, risk, exposure) in &updates {
        let worst = p.attacks.alerts.iter().filter(|a| &a.machine_id == id).any(|a| &a.severity == risk);
        assert!(worst && matches!(risk.as_str(), "Low" | "Medium" | "High"), "{id}: {risk}");
        assert!(matches!(exposure.as_str(), "Low" | "Medium" | "High"), "{id}: {exposure}");
    }
    let r = p.attacks.storylines.iter().find(|s| s.kind == Storyline::Ransomware).expect("ransomware");
    assert!(updates.iter().any(|(id, risk, _)| id == &r.devices[0] && risk == "High"));
}

#[test]
fn other_seeds_sizes_and_start_times_stay_consistent() {
    let cases = [
        (30, 3, 1, datetime!(2026-03-01 13:37:11.123 UTC)),
        (120, 10, 2, datetime!(2025-12-30 22:00 UTC)),
        (8, 2, 3, datetime!(2026-06-01 00:00 UTC)),
    ];
    for (devices, days, seed, start) in cases {
        let mut opts = options(devices, days, seed);
        opts.start = start;
        let fleet = palisade_simulator::Fleet::build(TENANT, &opts);
        let attacks = story::plan_for(TENANT, &fleet, &opts);
        let mut sink = Sink::new();
        for d in 0..days {
            attacks.day(&opts, d, &mut sink);
        }
        let tables: Tables = sink.finish().into_iter().collect();
        let found = problems(&attacks, &tables);
        assert!(found.is_empty(), "{devices} devices, seed {seed}: {:#?}", &found[..found.len().min(10)]);
        let (lo, hi) = (nanos(opts.start), nanos(opts.end()));
        assert!(attacks.events.iter().all(|e| lo <= e.at && e.at < hi));
        assert_eq!(table(&tables, Table::AlertInfo).map_or(0, |c| c.rows()), attacks.alerts.len());
    }
    // Nothing to attack, or no time to do it in: no storylines, no panic.
    let opts = options(0, 7, 1);
    assert_eq!(story::plan(&palisade_simulator::Fleet::build(TENANT, &opts), &opts), Attacks::default());
    let opts = options(10, 0, 1);
    assert_eq!(story::plan(&palisade_simulator::Fleet::build(TENANT, &opts), &opts), Attacks::default());
}

#[test]
fn windows_binaries_carry_the_catalogue_hashes_of_their_device() {
    use palisade_simulator::catalog::{Bin, Fam};
    let (p, _) = week();
    let variant: HashMap<&str, u8> = p.fleet.devices.iter().map(|d| (&*d.host.id, d.variant)).collect();
    let mut checked = 0;
    for e in &p.attacks.events {
        if let Kind::ProcessCreated { process, initiator } = &e.kind {
            for img in [&process.image, &initiator.image] {
                let Some(bin) = Bin::ALL.iter().find(|b| b.family() == Fam::Win && b.file_name() == &*img.file_name)
                else {
                    continue;
                };
                assert_eq!(img.sha1, bin.image(variant[&*e.host.id]).sha1, "{} on {}", img.file_name, e.host.name);
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} catalogued images");
}
