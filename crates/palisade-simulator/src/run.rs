//! Writing a whole run into a telemetry store.
//!
//! The run is cut into *units* — a day, or a slice of a day's devices sized to about
//! [`UNIT_ROWS`] rows — generated on a few OS threads and appended strictly in unit order, so the
//! store ends up with the same files whatever the thread count. A unit's tables are appended
//! concurrently (each table has its own directories, so their sequence numbers stay
//! deterministic), which lets Parquet encoding use every core while the next units generate. At
//! most a small window of units is in memory at once.

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use palisade_telemetry::{Table, TelemetryError, TelemetryStore};
use uuid::Uuid;

use crate::{Plan, Sink, benign};

/// About how many rows one unit of work holds: big enough that files are not tiny, small enough
/// that a few units in flight stay within a few hundred MB.
pub const UNIT_ROWS: u64 = 200_000;

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub units_done: usize,
    pub units_total: usize,
    /// The simulated day of the unit just written.
    pub day: u32,
    pub rows_written: u64,
}

/// What a run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    pub rows_per_table: BTreeMap<Table, u64>,
    pub total_rows: u64,
    /// Appends made (each is one file in the Parquet store).
    pub appends: u64,
    pub elapsed: Duration,
}

/// One piece of work: devices `devices` on day `day`; the last piece of a day also carries the
/// storyline rows of that day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub day: u32,
    pub devices: Range<usize>,
    pub storylines: bool,
}

/// The units of a run, in the order they are written.
pub fn units(plan: &Plan) -> Vec<Unit> {
    let n = plan.fleet.devices.len();
    let per_device_day = 24 * u64::from(plan.opts.events_per_device_hour.max(1));
    let slice = usize::try_from(UNIT_ROWS / per_device_day).unwrap_or(usize::MAX).clamp(1, n.max(1));
    let mut out = vec![];
    for day in 0..plan.opts.days {
        let mut start = 0;
        loop {
            let end = (start + slice).min(n);
            out.push(Unit { day, devices: start..end, storylines: end == n });
            if end == n {
                break;
            }
            start = end;
        }
    }
    out
}

/// The rows of one unit, one batch per non-empty table.
pub fn generate_unit(plan: &Plan, unit: &Unit) -> Vec<(Table, RecordBatch)> {
    // One sink per thread, reused: its builders keep the size of the previous unit, which saves
    // regrowing (and page-faulting) every column's buffers for each unit.
    thread_local! {
        static SINK: std::cell::RefCell<Sink> = std::cell::RefCell::new(Sink::new());
    }
    SINK.with_borrow_mut(|sink| {
        benign::devices_day(plan, unit.day, unit.devices.clone(), sink);
        if unit.storylines {
            plan.attacks.day(&plan.opts, unit.day, sink);
        }
        sink.finish()
    })
}

/// The rows of simulated day `d` (benign activity, snapshots, storylines), one batch per
/// non-empty table.
pub fn generate_day_batches(plan: &Plan, d: u32) -> Vec<(Table, RecordBatch)> {
    let mut sink = Sink::new();
    crate::day(plan, d, &mut sink);
    sink.finish()
}

/// Lets generator threads run at most a window of units ahead of the writer, and stops them when
/// the writer gives up (an error, or its future dropped).
struct Gate {
    written: Mutex<usize>,
    moved: Condvar,
    stop: AtomicBool,
}

struct StopOnDrop(Arc<Gate>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop.store(true, Ordering::SeqCst);
        let _guard = self.0.written.lock().unwrap_or_else(|p| p.into_inner());
        self.0.moved.notify_all();
    }
}

type Generated = (usize, Result<Vec<(Table, RecordBatch)>, String>);

/// Generates the whole run and appends it to `store`, day by day in unit order; `progress` is
/// called after every unit. Output is deterministic: the same plan writes the same rows in the
/// same order into the same partitions.
pub async fn write_telemetry(
    plan: &Plan,
    store: &dyn TelemetryStore,
    progress: impl Fn(Progress) + Send + Sync,
) -> Result<RunStats, TelemetryError> {
    let started = Instant::now();
    let units = Arc::new(units(plan));
    let total = units.len();
    // Threads outlive this borrow if the future is dropped, so they get their own copy.
    let shared = Arc::new(plan.clone());
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, total.max(1));
    let window = 2 * workers;
    let gate = Arc::new(Gate { written: Mutex::new(0), moved: Condvar::new(), stop: AtomicBool::new(false) });
    let _stop = StopOnDrop(gate.clone());
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Generated>();
    for w in 0..workers {
        let (units, plan, gate, next, tx) = (units.clone(), shared.clone(), gate.clone(), next.clone(), tx.clone());
        std::thread::Builder::new()
            .name(format!("palisade-sim-{w}"))
            .spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= units.len() {
                        return;
                    }
                    {
                        let mut written = gate.written.lock().unwrap_or_else(|p| p.into_inner());
                        while i >= *written + window && !gate.stop.load(Ordering::SeqCst) {
                            written = gate.moved.wait(written).unwrap_or_else(|p| p.into_inner());
                        }
                    }
                    if gate.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let result =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| generate_unit(&plan, &units[i])))
                            .map_err(|p| {
                                p.downcast_ref::<&str>()
                                    .map(|s| s.to_string())
                                    .or_else(|| p.downcast_ref::<String>().cloned())
                                    .unwrap_or_else(|| "a panic".into())
                            });
                    if tx.send((i, result)).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| TelemetryError::Io(format!("starting a generator thread: {e}")))?;
    }
    drop(tx);

    let mut stats = RunStats::default();
    let mut pending: BTreeMap<usize, Vec<(Table, RecordBatch)>> = BTreeMap::new();
    let mut next_write = 0;
    while next_write < total {
        let Some((i, result)) = rx.recv().await else {
            return Err(TelemetryError::Io("the simulator's generator threads stopped early".into()));
        };
        let batches = result.map_err(|e| TelemetryError::Io(format!("generating unit {i}: {e}")))?;
        pending.insert(i, batches);
        while let Some(batches) = pending.remove(&next_write) {
            append_all(store, plan.tenant, batches, &mut stats).await?;
            let day = units[next_write].day;
            next_write += 1;
            {
                let mut written = gate.written.lock().unwrap_or_else(|p| p.into_inner());
                *written = next_write;
                gate.moved.notify_all();
            }
            progress(Progress { units_done: next_write, units_total: total, day, rows_written: stats.total_rows });
        }
    }
    stats.elapsed = started.elapsed();
    Ok(stats)
}

type Append<'a> = Pin<Box<dyn Future<Output = Result<u64, TelemetryError>> + Send + 'a>>;

/// Appends one unit's batches, all tables at once.
async fn append_all(
    store: &dyn TelemetryStore,
    tenant: Uuid,
    batches: Vec<(Table, RecordBatch)>,
    stats: &mut RunStats,
) -> Result<(), TelemetryError> {
    let mut appends: Vec<(Table, Append<'_>)> =
        batches.into_iter().filter(|(_, b)| b.num_rows() > 0).map(|(t, b)| (t, store.append(tenant, t, b))).collect();
    let mut results: Vec<Option<Result<u64, TelemetryError>>> = appends.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut waiting = false;
        for ((_, f), r) in appends.iter_mut().zip(results.iter_mut()) {
            if r.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *r = Some(v),
                    Poll::Pending => waiting = true,
                }
            }
        }
        if waiting { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    for ((table, _), r) in appends.iter().zip(results) {
        let rows = r.expect("every append finished")?;
        *stats.rows_per_table.entry(*table).or_default() += rows;
        stats.total_rows += rows;
        stats.appends += 1;
    }
    Ok(())
}
