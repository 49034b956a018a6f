//! `palisade-loadgen`: POSTs a form to a URL over N keep-alive HTTPS connections.
//!
//! Closed loop (default): every connection sends its next request as soon as the previous one
//! answers — measures maximum throughput. Open loop (`--rate`): requests are scheduled at a fixed
//! rate and latency is measured from the *scheduled* send time, so a stalled server cannot hide
//! its queueing delay (no coordinated omission).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;

#[derive(Parser)]
#[command(about = "HTTPS keep-alive load generator for Palisade benchmarks")]
struct Args {
    #[arg(long)]
    url: String,
    /// PEM CA certificate to trust.
    #[arg(long)]
    ca: String,
    /// URL-encoded form body: the request is a POST. Without it, a GET.
    #[arg(long)]
    form: Option<String>,
    /// Bearer token sent with every request.
    #[arg(long)]
    bearer: Option<String>,
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured seconds (after warm-up).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Requests per second across all connections (open loop). Omit for closed loop.
    #[arg(long)]
    rate: Option<f64>,
}

struct Stats {
    latencies_us: Vec<u64>,
    errors: u64,
}

async fn worker(
    args: Arc<Args>,
    client: reqwest::Client,
    index: usize,
    start: Instant,
    measure_from: Instant,
    end: Instant,
) -> Stats {
    let mut st = Stats { latencies_us: Vec::with_capacity(65536), errors: 0 };
    let interval = args.rate.map(|r| Duration::from_secs_f64(args.connections as f64 / r));
    // Spread the open-loop schedules of the connections evenly.
    let mut next = interval.map(|i| start + i.mul_f64(index as f64 / args.connections as f64));
    loop {
        let scheduled = match (next, interval) {
            (Some(n), Some(i)) => {
                let now = Instant::now();
                if n > now {
                    tokio::time::sleep_until(n.into()).await;
                }
                next = Some(n + i);
                n
            }
            _ => Instant::now(),
        };
        if scheduled >= end {
            break;
        }
        let mut req = match &args.form {
            Some(form) => {
                client.post(&args.url).header("content-type", "application/x-www-form-urlencoded").body(form.clone())
            }
            None => client.get(&args.url),
        };
        if let Some(t) = &args.bearer {
            req = req.bearer_auth(t);
        }
        let r = req.send().await;
        let ok = match r {
            Ok(resp) => {
                let status = resp.status();
                let body = resp.bytes().await;
                status.is_success() && body.is_ok()
            }
            Err(_) => false,
        };
        let done = Instant::now();
        if scheduled >= measure_from {
            if ok {
                st.latencies_us.push(done.duration_since(scheduled).as_micros() as u64);
            } else {
                st.errors += 1;
            }
        }
    }
    st
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Arc::new(Args::parse());
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&args.ca).context("reading --ca")?)?;
    let mut clients = Vec::new();
    for _ in 0..args.connections {
        clients.push(
            reqwest::Client::builder()
                .tls_built_in_root_certs(false)
                .add_root_certificate(ca.clone())
                .http1_only()
                .pool_max_idle_per_host(1)
                .build()?,
        );
    }
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let end = measure_from + Duration::from_secs_f64(args.duration);
    let mut tasks = Vec::new();
    for (i, c) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(worker(args.clone(), c, i, start, measure_from, end)));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let s = t.await?;
        all.extend(s.latencies_us);
        errors += s.errors;
    }
    all.sort_unstable();
    let out = json!({
        "mode": if args.rate.is_some() { "open" } else { "closed" },
        "connections": args.connections,
        "target_rate": args.rate,
        "seconds": args.duration,
        "ok": all.len(),
        "errors": errors,
        "throughput": all.len() as f64 / args.duration,
        "latency_ms": {"p50": pct(&all, 0.50), "p90": pct(&all, 0.90), "p99": pct(&all, 0.99), "max": pct(&all, 1.0)},
    });
    println!("{out}");
    Ok(())
}
