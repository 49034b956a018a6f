//! Ingestion throughput over HTTP: simulated telemetry, encoded as Arrow IPC streams before the
//! clock starts, posted to `POST /api/palisade/ingest/{table}` on several connections. Prints one
//! line `rows=… seconds=… rows_per_s=… requests=…`.
//!
//! `cargo run --release -p palisade-simulator --example ingest_http -- <base_url> <token> <ca.pem> <rows> [connections]`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use arrow::ipc::writer::StreamWriter;
use palisade_simulator::run::{generate_unit, units};
use palisade_simulator::{SimOptions, plan};
use time::OffsetDateTime;
use uuid::Uuid;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: ingest_http <base_url> <token> <ca.pem> <rows> [connections]");
        std::process::exit(2);
    }
    let (base, token, ca, want): (&str, &str, &str, usize) = (&args[0], &args[1], &args[2], args[3].parse()?);
    let connections: usize = args.get(4).map_or(Ok(4), |c| c.parse())?;

    // Recent data (inside the server's retention), enough device-days for `want` rows.
    let per_device_day = 60 * 24;
    let devices = (want / per_device_day / 2).clamp(10, 5_000);
    let days = (want / (devices * per_device_day)).clamp(1, 20) as u32 + 1;
    let start = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days) + 1);
    let mut opts = SimOptions::new(devices, start, days);
    opts.attacks = false;
    let p = plan(Uuid::from_u128(0x1e6e57), &opts);
    let mut bodies: Vec<(String, Vec<u8>, usize)> = vec![];
    let mut rows = 0;
    'outer: for unit in units(&p) {
        for (table, batch) in generate_unit(&p, &unit) {
            let mut buf = vec![];
            let mut w = StreamWriter::try_new(&mut buf, &batch.schema())?;
            w.write(&batch)?;
            w.finish()?;
            drop(w);
            rows += batch.num_rows();
            bodies.push((table.name().to_string(), buf, batch.num_rows()));
            if rows >= want {
                break 'outer;
            }
        }
    }
    let bytes: usize = bodies.iter().map(|b| b.1.len()).sum();
    eprintln!("{} requests, {rows} rows, {} MiB of Arrow IPC", bodies.len(), bytes >> 20);

    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca)?)?)
        .build()?;
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = vec![];
    for _ in 0..connections {
        let (client, bodies, next) = (client.clone(), bodies.clone(), next.clone());
        let (base, token) = (base.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((table, body, n)) = bodies.get(i) else { return Ok::<_, String>(()) };
                let r = client
                    .post(format!("{base}/api/palisade/ingest/{table}"))
                    .bearer_auth(&token)
                    .header("content-type", "application/vnd.apache.arrow.stream")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = r.status();
                let v: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
                if !status.is_success() || v["rowsStored"].as_u64() != Some(*n as u64) {
                    return Err(format!("{table}: {status} {v}"));
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rows={rows} seconds={secs:.2} rows_per_s={:.0} requests={} connections={connections}",
        rows as f64 / secs,
        bodies.len()
    );
    Ok(())
}
