//! Throughput of the simulator: generates a run and stores it in a Parquet store, printing one
//! line `rows=… seconds=… events_per_s=…`.
//!
//! `cargo run --release -p palisade-simulator --example throughput -- <devices> <days> <rate> <data_dir> [--generate-only]`
//!
//! `--generate-only` builds every batch (on the same worker count) without storing it, which
//! separates generation from Parquet encoding and disk. The data directory should start empty.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use palisade_simulator::run::{generate_unit, units, write_telemetry};
use palisade_simulator::{SimOptions, plan};
use palisade_telemetry::parquet_store::ParquetStore;
use time::macros::datetime;
use uuid::Uuid;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: throughput <devices> <days> <events_per_device_hour> <data_dir> [--generate-only]";
    let [devices, days, rate, dir] = [0, 1, 2, 3].map(|i| args.get(i).cloned());
    let (Some(devices), Some(days), Some(rate), Some(dir)) = (devices, days, rate, dir) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let generate_only = args.iter().any(|a| a == "--generate-only");
    let mut opts = SimOptions::new(devices.parse()?, datetime!(2026-03-02 00:00 UTC), days.parse()?);
    opts.events_per_device_hour = rate.parse()?;
    let tenant = Uuid::from_u128(0x7470_7574);
    let p = plan(tenant, &opts);

    let started = Instant::now();
    let rows = if generate_only {
        let work = units(&p);
        let next = AtomicUsize::new(0);
        let rows = AtomicUsize::new(0);
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(unit) = work.get(i) else { return };
                        let n: usize = generate_unit(&p, unit).iter().map(|(_, b)| b.num_rows()).sum();
                        rows.fetch_add(n, Ordering::Relaxed);
                    }
                });
            }
        });
        rows.into_inner() as u64
    } else {
        let store = ParquetStore::open(&PathBuf::from(dir))?;
        write_telemetry(&p, &store, |_| {}).await?.total_rows
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "rows={rows} seconds={seconds:.2} events_per_s={:.0} mode={}",
        rows as f64 / seconds,
        if generate_only { "generate" } else { "store" }
    );
    Ok(())
}
