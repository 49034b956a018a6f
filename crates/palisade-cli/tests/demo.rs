//! `palisade demo` as a newcomer runs it: one command, then the printed values work against the
//! API; a second run on the same directory resumes instead of simulating again.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_palisade");

fn demo(dir: &std::path::Path) -> (Child, Value) {
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "--data-dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--output",
            "json",
            "--devices",
            "20",
            "--days",
            "2",
        ])
        .env_remove("PALISADE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(std::fs::OpenOptions::new().create(true).append(true).open(dir.with_extension("log")).unwrap())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut buf = String::new();
    let doc: Value = loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "demo exited before it was ready: {buf}\n{}",
            std::fs::read_to_string(dir.with_extension("log")).unwrap_or_default()
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
    (child, doc)
}

fn alerts(doc: &Value) -> Vec<Value> {
    // The demo's URL is localhost:<port>; the printed CA certificate names localhost.
    let ca = std::fs::read(doc["caCertificate"].as_str().unwrap()).unwrap();
    let http = reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .build()
        .unwrap();
    let base = doc["url"].as_str().unwrap();
    let tok: Value = http
        .post(format!("{base}/{}/oauth2/v2.0/token", doc["tenantId"].as_str().unwrap()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", doc["clientId"].as_str().unwrap()),
            ("client_secret", doc["clientSecret"].as_str().unwrap()),
            ("scope", "https://api.securitycenter.microsoft.com/.default"),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = tok["access_token"].as_str().unwrap_or_else(|| panic!("{tok}"));
    let r: Value = http.get(format!("{base}/api/alerts?$top=1000")).bearer_auth(token).send().unwrap().json().unwrap();
    r["value"].as_array().unwrap().clone()
}

fn stop(mut child: Child) {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn the_demo_is_ready_to_call_and_resumes_on_the_same_directory() {
    let dir = std::env::temp_dir().join(format!("palisade-demo-{}", uuid::Uuid::new_v4()));
    let (child, doc) = demo(&dir);
    assert_eq!(doc["ready"], true);
    assert_eq!(doc["simulation"]["machines"], 20);
    assert!(doc["simulation"]["rowsWritten"].as_u64().unwrap() > 10_000, "{doc}");
    assert!(doc["commands"].as_array().unwrap().len() >= 4);
    eprintln!("demo ready in {} s (debug build, 20 devices x 2 days)", doc["readySeconds"]);
    let first = alerts(&doc);
    assert!(!first.is_empty());
    stop(child);

    let (child, again) = demo(&dir);
    assert!(again["simulation"].is_null(), "the fleet is not simulated twice: {again}");
    assert_ne!(again["clientSecret"], doc["clientSecret"], "a fresh secret, shown once");
    assert_eq!(alerts(&again).len(), first.len());
    stop(child);
    let _ = std::fs::remove_dir_all(&dir);
}
