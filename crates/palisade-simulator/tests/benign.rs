//! Benign activity: determinism, coverage of every table, time bounds, consistent process trees,
//! isolation, agreement between live (hourly) and history (daily) generation, agreement with the
//! API's file profiles, and a whole run written to and read back from the Parquet store.

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type, TimestampNanosecondType};
use palisade_simulator::benign::{self, HOUR};
use palisade_simulator::fleet::OsFamily;
use palisade_simulator::run::{self, generate_day_batches, write_telemetry};
use palisade_simulator::{Plan, SimOptions, Sink, nanos, plan};
use palisade_telemetry::parquet_store::ParquetStore;
use palisade_telemetry::{ScanRequest, Table, TelemetryStore};
use time::macros::datetime;
use uuid::Uuid;

const TENANT: Uuid = Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0001);

fn options(devices: usize, days: u32, seed: u64) -> SimOptions {
    // Monday: two working days.
    let mut o = SimOptions::new(devices, datetime!(2026-03-02 00:00 UTC), days);
    o.seed = seed;
    o.attacks = false;
    o
}

fn days(plan: &Plan) -> Vec<Vec<(Table, RecordBatch)>> {
    (0..plan.opts.days).map(|d| generate_day_batches(plan, d)).collect()
}

fn col<'a>(batch: &'a RecordBatch, table: Table, name: &str) -> &'a dyn Array {
    batch.column(table.column(name).unwrap_or_else(|| panic!("{table} has {name}")).0).as_ref()
}

fn strings(batch: &RecordBatch, table: Table, name: &str) -> Vec<Option<String>> {
    let c = col(batch, table, name).as_string::<i32>();
    (0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i).to_string())).collect()
}

fn longs(batch: &RecordBatch, table: Table, name: &str) -> Vec<Option<i64>> {
    let c = col(batch, table, name).as_primitive::<Int64Type>();
    (0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i))).collect()
}

fn times(batch: &RecordBatch, table: Table, name: &str) -> Vec<Option<i64>> {
    let c = col(batch, table, name).as_primitive::<TimestampNanosecondType>();
    (0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i))).collect()
}

const EVENT_TABLES: [Table; 7] = [
    Table::DeviceProcessEvents,
    Table::DeviceNetworkEvents,
    Table::DeviceFileEvents,
    Table::DeviceRegistryEvents,
    Table::DeviceLogonEvents,
    Table::DeviceImageLoadEvents,
    Table::DeviceEvents,
];

#[test]
fn the_same_tenant_and_options_give_identical_batches_and_another_seed_does_not() {
    let a = days(&plan(TENANT, &options(20, 2, 1)));
    let b = days(&plan(TENANT, &options(20, 2, 1)));
    assert_eq!(a, b);
    let c = days(&plan(TENANT, &options(20, 2, 2)));
    assert_ne!(a, c);
    let other_tenant = days(&plan(Uuid::from_u128(9), &options(20, 2, 1)));
    assert_ne!(a, other_tenant);
}

#[test]
fn every_table_gets_rows_inside_its_day_with_the_requested_volume_and_mix() {
    let p = plan(TENANT, &options(30, 2, 3));
    let mut per_table: BTreeMap<Table, usize> = BTreeMap::new();
    for d in 0..2 {
        let (lo, hi) = (nanos(p.opts.day_start(d)), nanos(p.opts.day_start(d + 1)));
        for (table, batch) in generate_day_batches(&p, d) {
            *per_table.entry(table).or_default() += batch.num_rows();
            for t in times(&batch, table, "Timestamp") {
                let t = t.expect("every row has a Timestamp");
                assert!(t >= lo && t < hi, "{table}: {t} outside day {d}");
            }
        }
    }
    for table in EVENT_TABLES.iter().chain(&[Table::DeviceInfo, Table::DeviceNetworkInfo]) {
        assert!(per_table.get(table).copied().unwrap_or(0) > 0, "{table} is empty: {per_table:?}");
    }
    let events: usize = EVENT_TABLES.iter().map(|t| per_table.get(t).copied().unwrap_or(0)).sum();
    let nominal = 30 * 48 * 60;
    assert!(events > nominal * 6 / 10 && events < nominal * 13 / 10, "{events} events for {nominal} nominal");
    let share = |t: Table| per_table.get(&t).copied().unwrap_or(0) as f64 / events as f64;
    assert!((0.25..0.45).contains(&share(Table::DeviceNetworkEvents)), "{per_table:?}");
    assert!((0.12..0.28).contains(&share(Table::DeviceProcessEvents)), "{per_table:?}");
    assert!((0.08..0.22).contains(&share(Table::DeviceFileEvents)), "{per_table:?}");
    assert!((0.01..0.06).contains(&share(Table::DeviceLogonEvents)), "{per_table:?}");
}

#[test]
fn report_ids_are_unique_per_device() {
    let p = plan(TENANT, &options(20, 2, 4));
    let mut seen: HashSet<(String, i64)> = HashSet::new();
    for day in days(&p) {
        for (table, batch) in day {
            let Some(_) = table.column("ReportId") else { continue };
            let ids = strings(&batch, table, "DeviceId");
            for (dev, id) in ids.into_iter().zip(longs(&batch, table, "ReportId")) {
                let key = (dev.expect("DeviceId"), id.expect("ReportId"));
                assert!(seen.insert(key.clone()), "{table}: ReportId {key:?} repeats");
            }
        }
    }
}

/// Processes that start before the sensor reports anything (boot, before `init`).
const ROOTS: [&str; 5] = ["wininit.exe", "winlogon.exe", "launchd", "systemd", "smss.exe"];

#[test]
fn every_initiating_process_was_created_in_view_or_is_a_root() {
    let p = plan(TENANT, &options(25, 2, 5));
    let all: Vec<(Table, RecordBatch)> = days(&p).into_iter().flatten().collect();
    // (device, pid, created) of every ProcessCreated row, and each device's first row.
    let mut created: HashSet<(String, i64, i64)> = HashSet::new();
    let mut first_row: HashMap<String, i64> = HashMap::new();
    for (table, batch) in &all {
        let devices = strings(batch, *table, "DeviceId");
        for (d, t) in devices.iter().zip(times(batch, *table, "Timestamp")) {
            let e = first_row.entry(d.clone().expect("DeviceId")).or_insert(i64::MAX);
            *e = (*e).min(t.expect("Timestamp"));
        }
        if *table == Table::DeviceProcessEvents {
            let pids = longs(batch, *table, "ProcessId");
            let ctimes = times(batch, *table, "ProcessCreationTime");
            for ((d, pid), c) in devices.into_iter().zip(pids).zip(ctimes) {
                created.insert((d.expect("DeviceId"), pid.expect("ProcessId"), c.expect("ProcessCreationTime")));
            }
        }
    }
    let mut checked = 0;
    for (table, batch) in &all {
        if !EVENT_TABLES.contains(table) {
            continue;
        }
        let devices = strings(batch, *table, "DeviceId");
        let names = strings(batch, *table, "InitiatingProcessFileName");
        let pids = longs(batch, *table, "InitiatingProcessId");
        let ctimes = times(batch, *table, "InitiatingProcessCreationTime");
        let stamps = times(batch, *table, "Timestamp");
        for i in 0..batch.num_rows() {
            let (Some(pid), Some(c)) = (pids[i], ctimes[i]) else { continue };
            let dev = devices[i].clone().expect("DeviceId");
            let name = names[i].clone().unwrap_or_default();
            assert!(c <= stamps[i].expect("Timestamp"), "{table}: {name} acts before it exists");
            let known = created.contains(&(dev.clone(), pid, c));
            let root = ROOTS.contains(&name.as_str());
            let before_sensor = c < first_row[&dev];
            assert!(
                known || root || before_sensor,
                "{table}: initiator {name} ({pid}, {c}) on {dev} was never created"
            );
            checked += 1;
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn a_device_hour_equals_that_hour_of_the_day() {
    let p = plan(TENANT, &options(12, 1, 6));
    let start = nanos(p.opts.start);
    for device in &p.fleet.devices {
        let mut daily = Sink::new();
        benign::devices_day(&p, 0, device.index..device.index + 1, &mut daily);
        let mut hourly = Sink::new();
        for h in 0..24 {
            benign::device_hour(&p, device, start + h * HOUR + 1_234, false, &mut hourly);
        }
        assert_eq!(daily.finish(), hourly.finish(), "{}", device.host.name);
    }
}

#[test]
fn an_isolated_device_only_talks_to_the_service() {
    let p = plan(TENANT, &options(40, 1, 7));
    let start = nanos(p.opts.start);
    let mut normal_other = 0;
    let mut isolated_rows = 0;
    for device in p.fleet.devices.iter().filter(|d| d.family == OsFamily::WindowsClient) {
        for h in [9, 12, 15] {
            // Local work hours wherever the device is.
            let at = start + (h - i64::from(device.tz_hours)).rem_euclid(24) * HOUR;
            for isolated in [false, true] {
                let mut sink = Sink::new();
                benign::device_hour(&p, device, at, isolated, &mut sink);
                for (table, batch) in sink.finish() {
                    match table {
                        Table::DeviceNetworkEvents => {
                            let actions = strings(&batch, table, "ActionType");
                            let urls = strings(&batch, table, "RemoteUrl");
                            let ips = strings(&batch, table, "RemoteIP");
                            for i in 0..batch.num_rows() {
                                let action = actions[i].as_deref().unwrap_or_default();
                                if action == "ListeningConnectionCreated" {
                                    continue;
                                }
                                let service = urls[i].as_deref().is_some_and(benign::is_service_destination)
                                    && ips[i].as_deref().is_some_and(benign::is_service_destination);
                                if isolated {
                                    assert!(
                                        service,
                                        "isolated {}: {action} to {:?} {:?}",
                                        device.host.name, urls[i], ips[i]
                                    );
                                    assert_ne!(action, "InboundConnectionAccepted");
                                    isolated_rows += 1;
                                } else if !service {
                                    normal_other += 1;
                                }
                            }
                        }
                        Table::DeviceEvents if isolated => {
                            let actions = strings(&batch, table, "ActionType");
                            let urls = strings(&batch, table, "RemoteUrl");
                            for (a, u) in actions.iter().zip(&urls) {
                                if a.as_deref() == Some("DnsQueryResponse") {
                                    assert!(u.as_deref().is_some_and(benign::is_service_destination), "{u:?}");
                                }
                            }
                        }
                        Table::DeviceLogonEvents if isolated => {
                            for t in strings(&batch, table, "LogonType") {
                                assert!(!matches!(t.as_deref(), Some("Network" | "RemoteInteractive")), "{t:?}");
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    assert!(normal_other > 100, "not isolated, devices talk to everything: {normal_other}");
    assert!(isolated_rows > 0, "isolated devices still reach the service");
}

#[test]
fn inactive_devices_go_quiet_after_they_were_last_seen() {
    let p = plan(TENANT, &options(120, 2, 8));
    let quiet: HashMap<String, i64> = p
        .fleet
        .devices
        .iter()
        .filter(|d| d.record.machine.health_status == "Inactive" || d.record.state.offline)
        .map(|d| (d.host.id.to_string(), nanos(d.record.machine.last_seen)))
        .collect();
    assert!(!quiet.is_empty(), "the fleet has inactive devices");
    let mut rows = 0;
    for (table, batch) in days(&p).into_iter().flatten() {
        let devices = strings(&batch, table, "DeviceId");
        for (d, t) in devices.iter().zip(times(&batch, table, "Timestamp")) {
            if let Some(last) = d.as_ref().and_then(|d| quiet.get(d)) {
                assert!(t.expect("Timestamp") < *last, "{table}: a row after last seen");
                rows += 1;
            }
        }
    }
    assert!(rows > 0, "inactive devices reported before they went quiet");
}

#[test]
fn binaries_have_the_hashes_the_api_profiles() {
    use palisade_defender::fixtures::{FleetOptions, generate};
    use palisade_defender::rbac::RbacConfig;

    let opts = options(30, 1, 9);
    let p = plan(TENANT, &opts);
    let fo = FleetOptions {
        machines: opts.devices,
        alerts: 0,
        seed: opts.seed,
        now: opts.end(),
        days: opts.days,
        tenant_domain: opts.tenant_domain.clone(),
    };
    let profiles: HashMap<String, Option<i64>> =
        generate(TENANT, &fo, &RbacConfig::default()).files.into_iter().map(|f| (f.sha1, f.size)).collect();
    let mut matched = 0;
    for (table, batch) in generate_day_batches(&p, 0) {
        if table != Table::DeviceProcessEvents {
            continue;
        }
        let names = strings(&batch, table, "FileName");
        let hashes = strings(&batch, table, "SHA1");
        let sizes = longs(&batch, table, "FileSize");
        for i in 0..batch.num_rows() {
            if matches!(names[i].as_deref(), Some("svchost.exe" | "explorer.exe" | "chrome.exe" | "powershell.exe")) {
                let sha1 = hashes[i].clone().expect("SHA1");
                assert_eq!(profiles.get(&sha1), Some(&sizes[i]), "{:?} {sha1}", names[i]);
                matched += 1;
            }
        }
    }
    assert!(matched > 50, "{matched}");
}

#[test]
fn snapshots_describe_the_machines_of_the_api() {
    let p = plan(TENANT, &options(20, 1, 10));
    let by_id: HashMap<&str, _> = p.fleet.devices.iter().map(|d| (&*d.host.id, d)).collect();
    let batches = generate_day_batches(&p, 0);
    let (_, info) = batches.iter().find(|(t, _)| *t == Table::DeviceInfo).expect("DeviceInfo rows");
    let t = Table::DeviceInfo;
    let ids = strings(info, t, "DeviceId");
    let platforms = strings(info, t, "OSPlatform");
    let versions = strings(info, t, "ClientVersion");
    let users = strings(info, t, "LoggedOnUsers");
    let tags = strings(info, t, "DeviceManualTags");
    let types = strings(info, t, "DeviceType");
    for i in 0..info.num_rows() {
        let d = by_id[ids[i].as_deref().expect("DeviceId")];
        let m = &d.record.machine;
        assert_eq!(platforms[i].as_deref(), Some(m.os_platform.as_str()));
        assert_eq!(versions[i], m.agent_version);
        let logged: serde_json::Value =
            serde_json::from_str(users[i].as_deref().expect("LoggedOnUsers")).expect("JSON");
        assert!(logged.as_array().is_some_and(|a| a.iter().all(|u| u["UserName"].is_string())), "{logged}");
        let manual: Vec<String> = serde_json::from_str(tags[i].as_deref().expect("tags")).expect("JSON");
        assert_eq!(manual, m.machine_tags);
        let server = matches!(d.family, OsFamily::WindowsServer | OsFamily::Linux);
        assert_eq!(types[i].as_deref(), Some(if server { "Server" } else { "Workstation" }));
    }
    let (_, net) = batches.iter().find(|(t, _)| *t == Table::DeviceNetworkInfo).expect("DeviceNetworkInfo rows");
    for ips in strings(net, Table::DeviceNetworkInfo, "IPAddresses") {
        let v: serde_json::Value = serde_json::from_str(ips.as_deref().expect("IPAddresses")).expect("JSON");
        assert!(v.as_array().is_some_and(|a| !a.is_empty() && a.iter().all(|x| x["SubnetPrefix"].is_number())), "{v}");
    }
}

#[tokio::test]
async fn a_run_written_to_the_parquet_store_reads_back_whole() {
    let dir = std::env::temp_dir().join(format!("palisade-sim-run-{}-{}", std::process::id(), Uuid::new_v4()));
    let store = ParquetStore::open(&dir).expect("store");
    let p = plan(TENANT, &options(40, 2, 11));
    let progress = std::sync::Mutex::new(vec![]);
    let stats = write_telemetry(&p, &store, |pr| progress.lock().unwrap().push(pr)).await.expect("run");
    let progress = progress.into_inner().unwrap();
    assert_eq!(progress.len(), run::units(&p).len());
    assert_eq!(progress.last().map(|p| p.rows_written), Some(stats.total_rows));

    let expected: usize = days(&p).iter().flatten().map(|(_, b)| b.num_rows()).sum();
    assert_eq!(stats.total_rows as usize, expected);
    let mut read = 0;
    for table in Table::ALL {
        let batches = store.scan(TENANT, table, &ScanRequest::default()).await.expect("scan");
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows as u64, stats.rows_per_table.get(&table).copied().unwrap_or(0), "{table}");
        read += rows;
        if table == Table::DeviceNetworkEvents {
            let ports: usize = batches.iter().map(|b| b.column(5).as_primitive::<Int32Type>().len()).sum();
            assert_eq!(ports, rows);
        }
    }
    assert_eq!(read as u64, stats.total_rows);
    let _ = std::fs::remove_dir_all(&dir);
}
