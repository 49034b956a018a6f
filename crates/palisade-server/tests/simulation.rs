//! A simulated tenant end to end: the same seed stores the same telemetry and serves the same API
//! JSON; every alert's evidence is in the hunting tables; incidents hold existing alerts; devices
//! react to response actions (isolation cuts them off from everything but the service, a scan
//! reports its DeviceEvents row).

mod common;

use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int64Type, TimestampNanosecondType};
use arrow::record_batch::RecordBatch;
use common::TestServer;
use palisade_directory::*;
use palisade_server::simulation::{self, SimulationRequest, Simulations};
use palisade_simulator::SimOptions;
use palisade_telemetry::{ScanRequest, Table};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

const TENANT: uuid::Uuid = uuid::uuid!("5e1a7ed0-5e1a-4e1a-8e1a-5e1a7ed05e1a");

/// A tenant with a fixed id (the simulation is seeded by it), simulated with `opts`.
async fn simulated(s: &TestServer, opts: &SimOptions) -> Tenant {
    let t = Tenant {
        id: TENANT,
        display_name: "Simulated".into(),
        default_domain: "simulated.onmicrosoft.com".into(),
        created_date_time: OffsetDateTime::now_utc(),
        is_system: false,
    };
    s.identity.stores.directory.create_tenant(&t).await.unwrap();
    s.identity.provision_tenant(&t).await.unwrap();
    let target =
        simulation::Target { security: s.security.clone(), telemetry: s.telemetry.clone(), data_dir: s.dir.clone() };
    simulation::run(&Simulations::default(), &target, t.id, opts).await.unwrap();
    t
}

fn options() -> SimOptions {
    let req = SimulationRequest { devices: 25, days: 2, seed: 7, ..SimulationRequest::default() };
    // One start for both runs of a test, on the hour, two days back (inside the retention).
    req.options("simulated.onmicrosoft.com", OffsetDateTime::now_utc()).unwrap()
}

async fn table(s: &TestServer, t: Table) -> Vec<RecordBatch> {
    s.telemetry.scan(TENANT, t, &ScanRequest::default()).await.unwrap()
}

async fn telemetry_hash(s: &TestServer) -> String {
    let mut h = Sha256::new();
    for t in Table::ALL {
        for b in table(s, t).await {
            let mut buf = vec![];
            let mut w = arrow::ipc::writer::StreamWriter::try_new(&mut buf, &b.schema()).unwrap();
            w.write(&b).unwrap();
            w.finish().unwrap();
            h.update(&buf);
        }
    }
    hex(&h.finalize())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn get(s: &TestServer, token: &str, path: &str) -> Value {
    let (st, b) = s.call(Method::GET, path, Some(token), None).await;
    assert_eq!(st, StatusCode::OK, "{path}: {b}");
    b
}

/// The API's view of the tenant, with the server's own address taken out.
async fn api_hash(s: &TestServer, tenant: &Tenant) -> String {
    let mde = s
        .app_token(tenant, &[("WindowsDefenderATP", "Alert.Read.All"), ("WindowsDefenderATP", "Machine.Read.All")])
        .await;
    let mtp = s.app_token(tenant, &[("Microsoft Threat Protection", "Incident.Read.All")]).await;
    let mut h = Sha256::new();
    for (token, path) in [
        (&mde, "/api/machines?$orderby=computerDnsName&$top=10000"),
        (&mde, "/api/alerts?$expand=evidence&$orderby=alertCreationTime&$top=10000"),
        (&mtp, "/api/incidents?$top=100"),
    ] {
        let body = get(s, token, path).await.to_string().replace(&s.base, "BASE");
        h.update(body.as_bytes());
    }
    hex(&h.finalize())
}

#[tokio::test]
async fn two_runs_with_one_seed_store_identical_data() {
    let opts = options();
    let (a, b) = (TestServer::start().await, TestServer::start().await);
    let (ta, tb) = (simulated(&a, &opts).await, simulated(&b, &opts).await);
    let rows: usize = table(&a, Table::DeviceProcessEvents).await.iter().map(RecordBatch::num_rows).sum();
    assert!(rows > 10_000, "a real amount of telemetry: {rows}");
    assert_eq!(telemetry_hash(&a).await, telemetry_hash(&b).await, "telemetry differs");
    assert_eq!(api_hash(&a, &ta).await, api_hash(&b, &tb).await, "API JSON differs");

    // Another seed is another tenant history.
    let c = TestServer::start().await;
    let mut other = opts.clone();
    other.seed = 8;
    simulated(&c, &other).await;
    assert_ne!(telemetry_hash(&a).await, telemetry_hash(&c).await);
    for s in [a, b, c] {
        s.stop().await;
    }
}

/// Rows of `table` on `device` (column → index lookups by name).
struct Rows {
    batches: Vec<RecordBatch>,
    table: Table,
}

impl Rows {
    fn col(&self, b: &RecordBatch, name: &str) -> arrow::array::ArrayRef {
        b.column(self.table.column(name).unwrap().0).clone()
    }

    /// Timestamps (ns) of rows where every `(column, value)` matches (strings and longs).
    fn find(&self, matches: &[(&str, &str)]) -> Vec<i64> {
        let mut out = vec![];
        for b in &self.batches {
            let cols: Vec<_> = matches.iter().map(|(c, _)| self.col(b, c)).collect();
            let ts = self.col(b, "Timestamp");
            let ts = ts.as_primitive::<TimestampNanosecondType>();
            'row: for i in 0..b.num_rows() {
                for (col, (_, want)) in cols.iter().zip(matches) {
                    if col.is_null(i) {
                        continue 'row;
                    }
                    let got = match col.data_type() {
                        arrow::datatypes::DataType::Int64 => col.as_primitive::<Int64Type>().value(i).to_string(),
                        _ => col.as_string::<i32>().value(i).to_string(),
                    };
                    if !got.eq_ignore_ascii_case(want) {
                        continue 'row;
                    }
                }
                out.push(ts.value(i));
            }
        }
        out
    }
}

fn ns(s: &str) -> i64 {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap().unix_timestamp_nanos() as i64
}

#[tokio::test]
async fn alert_evidence_is_in_the_hunting_tables_and_incidents_hold_real_alerts() {
    let s = TestServer::start().await;
    let t = simulated(&s, &options()).await;
    let mde = s.app_token(&t, &[("WindowsDefenderATP", "Alert.Read.All")]).await;
    let mtp = s.app_token(&t, &[("Microsoft Threat Protection", "Incident.Read.All")]).await;
    let alerts = get(&s, &mde, "/api/alerts?$expand=evidence&$top=10000").await["value"].as_array().unwrap().clone();
    assert!(alerts.len() >= 4, "every storyline raises alerts: {}", alerts.len());
    let procs = Rows { batches: table(&s, Table::DeviceProcessEvents).await, table: Table::DeviceProcessEvents };
    let files = Rows { batches: table(&s, Table::DeviceFileEvents).await, table: Table::DeviceFileEvents };
    let net = Rows { batches: table(&s, Table::DeviceNetworkEvents).await, table: Table::DeviceNetworkEvents };
    let info = Rows { batches: table(&s, Table::AlertInfo).await, table: Table::AlertInfo };
    let window = 10 * 60 * 1_000_000_000i64;
    let mut checked = 0;
    for a in &alerts {
        let device = a["machineId"].as_str().unwrap();
        let created = ns(a["alertCreationTime"].as_str().unwrap());
        let near = |hits: Vec<i64>| hits.iter().any(|t| *t <= created && created - t <= window);
        assert_eq!(info.find(&[("AlertId", a["id"].as_str().unwrap())]).len(), 1, "AlertInfo row of {}", a["id"]);
        for e in a["evidence"].as_array().unwrap() {
            let what = format!("alert {} ({}) evidence {e}", a["id"], a["title"]);
            match e["entityType"].as_str().unwrap() {
                "Process" => {
                    let hits = procs.find(&[
                        ("DeviceId", device),
                        ("SHA1", e["sha1"].as_str().unwrap()),
                        ("ProcessId", &e["processId"].to_string()),
                        ("ProcessCommandLine", e["processCommandLine"].as_str().unwrap()),
                    ]);
                    assert!(near(hits), "{what}: no process row within 10 minutes before the alert");
                    checked += 1;
                }
                "File" => {
                    let sha1 = e["sha1"].as_str().unwrap();
                    let hits = [
                        files.find(&[("DeviceId", device), ("SHA1", sha1)]),
                        procs.find(&[("DeviceId", device), ("SHA1", sha1)]),
                    ];
                    assert!(hits.iter().any(|h| !h.is_empty()), "{what}: file never seen on the device");
                    checked += 1;
                }
                "Ip" => {
                    let hits = net.find(&[("DeviceId", device), ("RemoteIP", e["ipAddress"].as_str().unwrap())]);
                    assert!(!hits.is_empty(), "{what}: no connection to it");
                    checked += 1;
                }
                _ => {}
            }
        }
    }
    assert!(checked >= alerts.len(), "evidence checked: {checked}");

    let incidents = get(&s, &mtp, "/api/incidents?$top=100").await["value"].as_array().unwrap().clone();
    assert!(!incidents.is_empty());
    let ids: std::collections::HashSet<String> = alerts.iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    for i in &incidents {
        let inner = i["alerts"].as_array().unwrap();
        assert!(!inner.is_empty(), "incident {} has no alerts", i["incidentId"]);
        for a in inner {
            assert!(ids.contains(a["alertId"].as_str().unwrap()), "incident {} names a missing alert", i["incidentId"]);
        }
    }
    for a in &alerts {
        let id = a["incidentId"].as_i64().unwrap();
        assert!(incidents.iter().any(|i| i["incidentId"] == id), "alert {} in missing incident {id}", a["id"]);
    }
    s.stop().await;
}

async fn wait_done(s: &TestServer, token: &str, action: &Value) -> Value {
    let id = action["id"].as_str().unwrap();
    for _ in 0..200 {
        let a = get(s, token, &format!("/api/machineactions/{id}")).await;
        if a["status"] != "Pending" && a["status"] != "InProgress" {
            return a;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("action {id} never finished");
}

#[tokio::test]
async fn devices_react_to_response_actions() {
    let s = TestServer::start_with(|c| {
        c.agent.pickup_delay = Duration::from_millis(20);
        c.agent.run_delay = Duration::from_millis(20);
    })
    .await;
    let opts = options();
    let t = simulated(&s, &opts).await;
    let token = s
        .app_token(
            &t,
            &[
                ("WindowsDefenderATP", "Machine.Read.All"),
                ("WindowsDefenderATP", "Machine.Isolate"),
                ("WindowsDefenderATP", "Machine.Scan"),
            ],
        )
        .await;
    let machines =
        get(&s, &token, "/api/machines?$filter=osPlatform eq 'Windows11' or osPlatform eq 'Windows10'&$top=100").await;
    let machines: Vec<Value> =
        machines["value"].as_array().unwrap().iter().filter(|m| m["healthStatus"] == "Active").cloned().collect();
    assert!(machines.len() >= 2);
    let (victim, other) = (machines[0]["id"].as_str().unwrap(), machines[1]["id"].as_str().unwrap());

    // Isolate, and the next hours of live activity show only the service for that device.
    let body = serde_json::json!({"Comment": "contain", "IsolationType": "Full"});
    let (st, a) = s.call(Method::POST, &format!("/api/machines/{victim}/isolate"), Some(&token), Some(body)).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(wait_done(&s, &token, &a).await["status"], "Succeeded");
    let target =
        simulation::Target { security: s.security.clone(), telemetry: s.telemetry.clone(), data_dir: s.dir.clone() };
    let plan = palisade_simulator::plan(TENANT, &opts);
    let from = opts.end();
    let to = from + time::Duration::hours(3);
    assert!(simulation::live_step(&target, &plan, from, to).await.unwrap() > 0);
    let net = s
        .telemetry
        .scan(TENANT, Table::DeviceNetworkEvents, &ScanRequest { from: Some(from), to: Some(to), ..Default::default() })
        .await
        .unwrap();
    let (mut victim_rows, mut other_outside) = (0, 0);
    for b in &net {
        let col = |n: &str| b.column(Table::DeviceNetworkEvents.column(n).unwrap().0).clone();
        let (dev, ip, url) = (col("DeviceId"), col("RemoteIP"), col("RemoteUrl"));
        let (dev, ip, url) = (dev.as_string::<i32>(), ip.as_string::<i32>(), url.as_string::<i32>());
        for i in 0..b.num_rows() {
            let service = palisade_simulator::benign::is_service_destination(ip.value(i))
                || (!url.is_null(i) && palisade_simulator::benign::is_service_destination(url.value(i)));
            if dev.value(i) == victim {
                victim_rows += 1;
                assert!(
                    service,
                    "isolated device reached {} {:?}",
                    ip.value(i),
                    (!url.is_null(i)).then(|| url.value(i))
                );
            } else if dev.value(i) == other && !service {
                other_outside += 1;
            }
        }
    }
    assert!(other_outside > 0, "a device that is not isolated reaches the outside (the check can fail)");
    eprintln!("isolated device: {victim_rows} service connections in 3 h; another device: {other_outside} outside");

    // A scan reports its DeviceEvents row.
    let body = serde_json::json!({"Comment": "sweep", "ScanType": "Quick"});
    let (st, a) =
        s.call(Method::POST, &format!("/api/machines/{other}/runAntiVirusScan"), Some(&token), Some(body)).await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(wait_done(&s, &token, &a).await["status"], "Succeeded");
    let mut found = false;
    for _ in 0..100 {
        let events = Rows { batches: table(&s, Table::DeviceEvents).await, table: Table::DeviceEvents };
        if !events.find(&[("DeviceId", other), ("ActionType", "AntivirusScanCompleted")]).is_empty() {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found, "the scan's DeviceEvents row");
    s.stop().await;
}
