//! Durability of telemetry ingestion with a real crash: a `palisade serve` process is SIGKILLed
//! while a client streams batches into it. After a restart on the same data directory, every
//! batch the server acknowledged is stored whole, no batch is stored in part, and ingestion works
//! again. Also `palisade ingest` from a file, with its line-numbered error.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use palisade_telemetry::{ScanRequest, Table, TelemetryStore};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_palisade");
const ROWS_PER_BATCH: usize = 2_000;

struct Server {
    child: Child,
    dir: PathBuf,
    base: String,
    banner: Value,
}

impl Server {
    fn start(dir: &Path, log: &Path) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--data-dir", dir.to_str().unwrap(), "--listen", "127.0.0.1:0", "--output", "json"])
            .env_remove("PALISADE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut buf = String::new();
        let banner: Value = loop {
            let mut line = String::new();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "server exited early: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            buf.push_str(&line);
            if let Ok(v) = serde_json::from_str(&buf) {
                break v;
            }
        };
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = reader.read_to_string(&mut sink);
        });
        let base = banner["urls"][0].as_str().unwrap().to_string();
        Server { child, dir: dir.to_path_buf(), base, banner }
    }

    fn cli(&self, args: &[&str]) -> Result<Value, String> {
        let out = Command::new(BIN)
            .args(args)
            .args(["--data-dir", self.dir.to_str().unwrap(), "--server", &self.base, "--output", "json"])
            .env_remove("PALISADE_TENANT")
            .output()
            .unwrap();
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).to_string());
        }
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    }

    fn http(&self) -> reqwest::blocking::Client {
        let ca = std::fs::read(self.dir.join("tls/ca.pem")).unwrap();
        reqwest::blocking::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }
}

/// One batch: every row carries the batch number in `ReportId`. Dated within the last hours:
/// older rows would fall to the restarted server's 30-day retention.
fn batch(n: usize) -> String {
    let base = time::OffsetDateTime::now_utc() - time::Duration::hours(2);
    (0..ROWS_PER_BATCH)
        .map(|i| {
            let at = (base + time::Duration::milliseconds((n * ROWS_PER_BATCH + i) as i64))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            format!(
                "{{\"Timestamp\":\"{at}\",\"DeviceId\":\"4a1e5bc9d7e413ddd7902c2932e418702b84d0cc\",\"DeviceName\":\"pc1\",\"ActionType\":\"ProcessCreated\",\"FileName\":\"cmd.exe\",\"ProcessCommandLine\":\"cmd.exe /c batch {n} row {i}\",\"ReportId\":{n}}}\n"
            )
        })
        .collect()
}

fn rows_per_batch(dir: &Path, tenant: uuid::Uuid) -> BTreeMap<i64, usize> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let store = palisade_telemetry::parquet_store::ParquetStore::open(dir).unwrap();
    let col = Table::DeviceProcessEvents.column("ReportId").unwrap().0;
    let batches = rt.block_on(store.scan(tenant, Table::DeviceProcessEvents, &ScanRequest::default())).unwrap();
    let mut out = BTreeMap::new();
    for b in batches {
        let ids = b.column(col).as_primitive::<Int64Type>();
        for i in 0..ids.len() {
            *out.entry(ids.value(i)).or_default() += 1;
        }
    }
    out
}

#[test]
fn a_killed_server_loses_no_acknowledged_batch() {
    let root = std::env::temp_dir().join(format!("palisade-kill-{}", uuid::Uuid::new_v4()));
    let (dir, log) = (root.join("data"), root.join("server.log"));
    std::fs::create_dir_all(&root).unwrap();
    let s = Server::start(&dir, &log);
    let tenant: uuid::Uuid = s.banner["firstRun"]["tenantId"].as_str().unwrap().parse().unwrap();

    // An app with the ingestion permission, as a pipeline would have.
    let app = s.cli(&["app", "register", "--name", "Pipeline"]).unwrap();
    let app_id = app["application"]["appId"].as_str().unwrap().to_string();
    s.cli(&[
        "app",
        "permission",
        "add",
        "--app",
        &app_id,
        "--api",
        "WindowsDefenderATP",
        "--permission",
        "Palisade.Ingest.All",
        "--type",
        "application",
    ])
    .unwrap();
    s.cli(&["app", "consent", "--app", &app_id]).unwrap();
    let secret = s.cli(&["app", "secret", "add", "--app", &app_id]).unwrap()["passwordCredential"]["secretText"]
        .as_str()
        .unwrap()
        .to_string();
    let http = s.http();
    let tok: Value = http
        .post(format!("{}/{tenant}/oauth2/v2.0/token", s.base))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &app_id),
            ("client_secret", &secret),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = tok["access_token"].as_str().unwrap().to_string();

    // Two writers stream batches; the server is killed while they are mid-flight.
    let acked = Arc::new(Mutex::new(Vec::<usize>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let url = format!("{}/api/palisade/ingest/DeviceProcessEvents", s.base);
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (http, url, token, acked, stop) =
                (http.clone(), url.clone(), token.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = w;
                while !stop.load(Ordering::Relaxed) {
                    let r = http
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/x-ndjson")
                        .body(batch(n))
                        .send();
                    match r {
                        Ok(r) if r.status() == 200 => acked.lock().unwrap().push(n),
                        Ok(r) => panic!("batch {n}: {} {}", r.status(), r.text().unwrap_or_default()),
                        Err(_) => break, // the server is gone
                    }
                    n += 2;
                }
            })
        })
        .collect();
    let started = Instant::now();
    while acked.lock().unwrap().len() < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no progress: {}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut s = s;
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();

    // Restart on the same directory: acknowledged batches whole, none in part.
    let s = Server::start(&dir, &log);
    let stored = rows_per_batch(&dir, tenant);
    for n in &acked {
        assert_eq!(stored.get(&(*n as i64)), Some(&ROWS_PER_BATCH), "acknowledged batch {n} lost or torn");
    }
    for (n, rows) in &stored {
        assert_eq!(*rows, ROWS_PER_BATCH, "batch {n} stored in part");
    }
    assert!(stored.len() >= acked.len());
    eprintln!("{} batches acknowledged before the kill, {} stored", acked.len(), stored.len());

    // The restarted server ingests again, and `palisade ingest` loads a file, naming a bad line.
    let file = root.join("more.ndjson");
    std::fs::write(&file, batch(100_001)).unwrap();
    let r =
        s.cli(&["ingest", "--table", "DeviceProcessEvents", file.to_str().unwrap(), "--batch-rows", "500"]).unwrap();
    assert_eq!(r["rowsStored"], ROWS_PER_BATCH as u64);
    let mut bad = batch(100_002);
    bad.push_str("{\"Timestamp\":\"yesterday\"}\n");
    std::fs::write(&file, bad).unwrap();
    let e = s
        .cli(&["ingest", "--table", "DeviceProcessEvents", file.to_str().unwrap(), "--batch-rows", "500"])
        .unwrap_err();
    assert!(e.contains(&format!("line {}, column 'Timestamp'", ROWS_PER_BATCH + 1)), "{e}");
    assert!(e.contains(&format!("{ROWS_PER_BATCH} rows before line {} were stored", ROWS_PER_BATCH + 1)), "{e}");
    let stored = rows_per_batch(&dir, tenant);
    assert_eq!(stored.get(&100_001), Some(&ROWS_PER_BATCH));
    assert_eq!(stored.get(&100_002), Some(&ROWS_PER_BATCH), "the good requests before the bad line stay stored");
    let mut s = s;
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn palisade_simulate_runs_on_the_server_and_refuses_the_same_run_twice() {
    let root = std::env::temp_dir().join(format!("palisade-sim-{}", uuid::Uuid::new_v4()));
    let (dir, log) = (root.join("data"), root.join("server.log"));
    std::fs::create_dir_all(&root).unwrap();
    let mut s = Server::start(&dir, &log);
    let start = (time::OffsetDateTime::now_utc() - time::Duration::days(2)).date().midnight().assume_utc();
    let start = start.format(&time::format_description::well_known::Rfc3339).unwrap();
    let args = ["simulate", "--devices", "10", "--days", "1", "--seed", "3", "--start", &start];
    let r = s.cli(&args).unwrap();
    assert_eq!(r["phase"], "done", "{r}");
    assert_eq!(r["machines"], 10);
    assert!(r["rowsWritten"].as_u64().unwrap() > 5_000, "{r}");
    assert!(r["alerts"].as_u64().unwrap() > 0, "{r}");
    let e = s.cli(&args).unwrap_err();
    assert!(e.contains("already holds this simulation"), "{e}");
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}
