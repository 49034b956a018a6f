//! The embedded telemetry backend: Parquet files under `<data_dir>/telemetry/<tenant>/<Table>/
//! <day>/`. Each append is one file, written to a temporary name, fsynced, then renamed, so a batch
//! is either wholly visible or not at all and is durable once acknowledged. File names carry what
//! scans and retention need without opening the file:
//!
//! `{lo:016}-{hi:016}-{min_ms}-{max_ms}.parquet`
//!
//! `lo..=hi` is the range of the directory's sequence numbers the file holds (an appended file has
//! `lo == hi`; a compacted one covers the files it merged), and `min_ms`/`max_ms` bound its
//! `Timestamp`s. The day directory is the day of `min_ms`. Compaction writes the merged file first
//! and deletes the merged ones after; a file whose range lies inside another's is ignored (and
//! removed), so a crash in between never shows a row twice.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, BooleanArray, StringArray, TimestampNanosecondArray};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::Table;
use crate::store::{ScanRequest, TableStats, TelemetryError, TelemetryStore};

/// Files in a day directory below this size are merged by [`TelemetryStore::compact`].
const SMALL_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// A directory is compacted once it holds at least this many small files.
const COMPACT_MIN_FILES: usize = 8;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Cheap to clone; clones share one store.
#[derive(Clone)]
pub struct ParquetStore(Arc<Inner>);

struct Inner {
    root: PathBuf,
    /// Next sequence number per day directory, allocated under this lock.
    seq: Mutex<HashMap<PathBuf, u64>>,
    /// One compaction at a time.
    compacting: tokio::sync::Mutex<()>,
}

/// A data file, parsed from its name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DataFile {
    path: PathBuf,
    lo: u64,
    hi: u64,
    min_ms: i64,
    max_ms: i64,
}

impl DataFile {
    fn parse(path: PathBuf) -> Option<DataFile> {
        let name = path.file_name()?.to_str()?.strip_suffix(".parquet")?;
        let mut parts = name.splitn(3, '-');
        let lo = parts.next()?.parse().ok()?;
        let hi = parts.next()?.parse().ok()?;
        // min/max may be negative (before 1970), so they are split apart by `split_pair`.
        let (min, max) = split_pair(parts.next()?)?;
        Some(DataFile { path, lo, hi, min_ms: min, max_ms: max })
    }

    fn name(lo: u64, hi: u64, min_ms: i64, max_ms: i64) -> String {
        format!("{lo:016}-{hi:016}-{min_ms}-{max_ms}.parquet")
    }
}

/// `"<a>-<b>"` where either may itself start with `-`.
fn split_pair(s: &str) -> Option<(i64, i64)> {
    let bytes = s.as_bytes();
    // The separator is the first '-' that is not at position 0.
    let sep = (1..bytes.len()).find(|&i| bytes[i] == b'-')?;
    Some((s[..sep].parse().ok()?, s[sep + 1..].parse().ok()?))
}

fn day_of_ms(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), t.month() as u8, t.day())
}

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

impl ParquetStore {
    /// Opens (creating) the store under `<data_dir>/telemetry`, removing temporary files a crash
    /// left behind.
    pub fn open(data_dir: &Path) -> Result<Self, TelemetryError> {
        let root = data_dir.join("telemetry");
        fs::create_dir_all(&root)?;
        let inner = Inner { root, seq: Mutex::new(HashMap::new()), compacting: tokio::sync::Mutex::new(()) };
        inner.remove_temporaries()?;
        Ok(Self(Arc::new(inner)))
    }

    /// Where the files are (for operators and tests).
    pub fn root(&self) -> &Path {
        &self.0.root
    }
}

/// How long the inputs of a merge stay on disk after it: longer than any scan runs.
const COVERED_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// A temporary file older than this belongs to no live writer.
const TEMPORARY_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(3600);

impl Inner {
    fn table_dir(&self, tenant: Uuid, table: Table) -> PathBuf {
        self.root.join(tenant.to_string()).join(table.name())
    }

    /// Removes temporaries a crash left behind. Only old ones: another process sharing the
    /// directory may be writing a young one right now.
    fn remove_temporaries(&self) -> Result<(), TelemetryError> {
        let stale = std::time::SystemTime::now() - TEMPORARY_MAX_AGE;
        for day in self.all_day_dirs()? {
            let Ok(entries) = fs::read_dir(&day) else { continue };
            for entry in entries.flatten() {
                let p = entry.path();
                let is_tmp = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(".tmp-"));
                let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < stale);
                if is_tmp && old {
                    let _ = fs::remove_file(&p);
                }
            }
        }
        Ok(())
    }

    fn all_day_dirs(&self) -> Result<Vec<PathBuf>, TelemetryError> {
        let mut out = vec![];
        for tenant in read_dirs(&self.root)? {
            for table in read_dirs(&tenant)? {
                out.extend(read_dirs(&table)?);
            }
        }
        Ok(out)
    }

    /// The next file sequence number of `dir`: cached, or (`fresh`) read from the directory.
    fn next_seq(&self, dir: &Path, fresh: bool) -> Result<u64, TelemetryError> {
        let mut seq = self.seq.lock().unwrap_or_else(|p| p.into_inner());
        let next = match seq.get(dir) {
            Some(n) if !fresh => *n,
            _ => list_files(dir)?.iter().map(|f| f.hi + 1).max().unwrap_or(0),
        };
        seq.insert(dir.to_path_buf(), next + 1);
        Ok(next)
    }

    fn write_file(&self, dir: &Path, batch: &RecordBatch, lo: Option<(u64, u64)>) -> Result<PathBuf, TelemetryError> {
        let ts = timestamps(batch)?;
        let (min, max) = min_max(ts).ok_or_else(|| TelemetryError::Format("an empty batch".into()))?;
        let (min_ms, max_ms) = (min.div_euclid(1_000_000), max.div_euclid(1_000_000));
        fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".tmp-{}.parquet", Uuid::new_v4()));
        let file = File::create(&tmp)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by("palisade".into())
            .build();
        let mut writer = ArrowWriter::try_new(file.try_clone()?, batch.schema(), Some(props))?;
        writer.write(batch)?;
        writer.close()?;
        file.sync_all()?;
        // Published with link(2), which never replaces an existing name: several processes may
        // share the directory (nodes on one volume), and a name taken by another one means our
        // cached sequence is stale — re-read it from the directory and take the next.
        let mut fresh = false;
        let path = loop {
            let (first, last) = match lo {
                Some(r) => r,
                None => {
                    let s = self.next_seq(dir, fresh)?;
                    (s, s)
                }
            };
            let path = dir.join(DataFile::name(first, last, min_ms, max_ms));
            match fs::hard_link(&tmp, &path) {
                Ok(()) => break path,
                // A compaction elsewhere already wrote this very range (the same rows).
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && lo.is_some() => break path,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && !fresh => fresh = true,
                Err(e) => {
                    let _ = fs::remove_file(&tmp);
                    return Err(e.into());
                }
            }
        };
        fs::remove_file(&tmp)?;
        sync_dir(dir)?;
        Ok(path)
    }

    /// The live files of `table` that may hold rows in `[from, to)`.
    fn live_files(
        &self,
        tenant: Uuid,
        table: Table,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
    ) -> Result<Vec<DataFile>, TelemetryError> {
        let mut out = vec![];
        let to_day = to_ms.map(day_of_ms);
        for day in read_dirs(&self.table_dir(tenant, table))? {
            // Directories are named by their files' earliest row: later days cannot hold earlier rows.
            let name = day.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
            if to_day.as_ref().is_some_and(|d| name > *d) {
                continue;
            }
            out.extend(
                list_files(&day)?
                    .into_iter()
                    .filter(|f| from_ms.is_none_or(|from| f.max_ms >= from) && to_ms.is_none_or(|to| f.min_ms < to)),
            );
        }
        Ok(out)
    }

    fn scan_blocking(&self, tenant: Uuid, table: Table, req: &ScanRequest) -> Result<Vec<RecordBatch>, TelemetryError> {
        let schema = table.arrow_schema();
        let from_ns = req.from.map(|t| t.unix_timestamp_nanos() as i64);
        let to_ns = req.to.map(|t| t.unix_timestamp_nanos() as i64);
        let device_col = table.column("DeviceId").map(|(i, _)| i).filter(|_| req.devices.is_some());
        let wanted: Vec<usize> = req.projection.clone().unwrap_or_else(|| (0..schema.fields().len()).collect());
        // Read what the caller wants plus what the row filters need.
        let mut read: Vec<usize> = wanted.clone();
        read.push(0);
        read.extend(device_col);
        read.sort_unstable();
        read.dedup();
        // A compaction may remove a listed file between listing and reading: list again.
        'attempt: for attempt in 0..3 {
            let files = self.live_files(
                tenant,
                table,
                from_ns.map(|n| n.div_euclid(1_000_000)),
                to_ns.map(|n| (n + 999_999).div_euclid(1_000_000)),
            )?;
            let mut out = vec![];
            for f in files {
                let file = match File::open(&f.path) {
                    Ok(file) => file,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempt < 2 => continue 'attempt,
                    Err(e) => return Err(e.into()),
                };
                let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
                let mask = ProjectionMask::roots(builder.parquet_schema(), read.iter().copied());
                for batch in builder.with_projection(mask).with_batch_size(8192).build()? {
                    let batch = batch?;
                    let pos = |col: usize| read.binary_search(&col).expect("read includes it");
                    let keep = row_filter(&batch, pos(0), from_ns, to_ns, device_col.map(pos), req.devices.as_ref())?;
                    let batch = match keep {
                        Some(mask) => filter_record_batch(&batch, &mask)?,
                        None => batch,
                    };
                    if batch.num_rows() == 0 {
                        continue;
                    }
                    let indices: Vec<usize> = wanted.iter().map(|c| pos(*c)).collect();
                    out.push(batch.project(&indices)?);
                }
            }
            return Ok(out);
        }
        Err(TelemetryError::Io("files kept changing during the scan".into()))
    }

    fn compact_dir(&self, dir: &Path, schema: &SchemaRef) -> Result<usize, TelemetryError> {
        let all = list_files(dir)?;
        let mut small: Vec<DataFile> = all
            .iter()
            .filter(|f| fs::metadata(&f.path).map(|m| m.len() < SMALL_FILE_BYTES).unwrap_or(false))
            .cloned()
            .collect();
        // Merge a contiguous sequence range only, so the merged file's range covers exactly them:
        // the small files up to the first large one (`list_files` sorts by sequence).
        if let Some(first) = small.first().map(|f| f.lo)
            && let Some(stop) = all.iter().filter(|f| !small.contains(f) && f.lo > first).map(|f| f.lo).min()
        {
            small.retain(|f| f.hi < stop);
        }
        if small.len() < COMPACT_MIN_FILES {
            return Ok(0);
        }
        let (lo, hi) = (small[0].lo, small.last().expect("non-empty").hi);
        let mut batches = vec![];
        for f in &small {
            let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&f.path)?)?;
            for b in builder.build()? {
                batches.push(b?);
            }
        }
        let merged = concat_batches(schema, &batches)?;
        if merged.num_rows() > 0 {
            self.write_file(dir, &merged, Some((lo, hi)))?;
        } else {
            // Nothing to cover them with: they hold no rows, so nothing is lost.
            for f in &small {
                let _ = fs::remove_file(&f.path);
            }
        }
        // The inputs are now covered, hence invisible to new scans; a later pass deletes them,
        // once scans that listed them before the merge are done.
        Ok(small.len())
    }

    /// Deletes files covered by a merged file older than [`COVERED_GRACE`].
    fn remove_covered(dir: &Path) -> Result<usize, TelemetryError> {
        let files = all_files(dir)?;
        let cutoff = std::time::SystemTime::now() - COVERED_GRACE;
        let mut removed = 0;
        for f in &files {
            let cover = files.iter().find(|g| covers(g, f));
            let settled =
                cover.is_some_and(|g| fs::metadata(&g.path).and_then(|m| m.modified()).is_ok_and(|t| t <= cutoff));
            if settled && fs::remove_file(&f.path).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn read_dirs(dir: &Path) -> Result<Vec<PathBuf>, TelemetryError> {
    match fs::read_dir(dir) {
        Ok(rd) => {
            let mut v = vec![];
            for e in rd {
                let e = e?;
                if e.file_type()?.is_dir() {
                    v.push(e.path());
                }
            }
            v.sort();
            Ok(v)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(e.into()),
    }
}

/// Every data file of a directory, covered or not.
fn all_files(dir: &Path) -> Result<Vec<DataFile>, TelemetryError> {
    let mut files = vec![];
    match fs::read_dir(dir) {
        Ok(rd) => {
            for e in rd {
                if let Some(f) = DataFile::parse(e?.path()) {
                    files.push(f);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e.into()),
    }
    Ok(files)
}

/// `g` holds every row of `f`: its sequence range is a strictly wider one around `f`'s.
fn covers(g: &DataFile, f: &DataFile) -> bool {
    g.path != f.path && g.lo <= f.lo && f.hi <= g.hi && (g.hi - g.lo) > (f.hi - f.lo)
}

/// Live data files of a directory, by sequence: files whose range lies inside another file's
/// (the inputs of a merge) are skipped, never deleted here — a scan that listed them before the
/// merge may still be reading them ([`Inner::remove_covered`] deletes them later).
fn list_files(dir: &Path) -> Result<Vec<DataFile>, TelemetryError> {
    let files = all_files(dir)?;
    let covered: HashSet<PathBuf> =
        files.iter().filter(|f| files.iter().any(|g| covers(g, f))).map(|f| f.path.clone()).collect();
    let mut live: Vec<DataFile> = files.into_iter().filter(|f| !covered.contains(&f.path)).collect();
    live.sort_by_key(|f| f.lo);
    Ok(live)
}

fn sync_dir(dir: &Path) -> Result<(), TelemetryError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn timestamps(batch: &RecordBatch) -> Result<&TimestampNanosecondArray, TelemetryError> {
    batch
        .column(0)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .ok_or_else(|| TelemetryError::Format("column 0 is not a nanosecond Timestamp".into()))
}

fn min_max(ts: &TimestampNanosecondArray) -> Option<(i64, i64)> {
    Some((arrow::compute::min(ts)?, arrow::compute::max(ts)?))
}

/// Rows of `batch` inside the time bounds and device set; `None` keeps all.
fn row_filter(
    batch: &RecordBatch,
    ts_col: usize,
    from: Option<i64>,
    to: Option<i64>,
    device_col: Option<usize>,
    devices: Option<&HashSet<String>>,
) -> Result<Option<BooleanArray>, TelemetryError> {
    if from.is_none() && to.is_none() && device_col.is_none() {
        return Ok(None);
    }
    let ts = batch
        .column(ts_col)
        .as_any()
        .downcast_ref::<TimestampNanosecondArray>()
        .ok_or_else(|| TelemetryError::Format("Timestamp column has another type".into()))?;
    let dev: Option<&StringArray> = device_col.and_then(|c| batch.column(c).as_any().downcast_ref::<StringArray>());
    let keep: BooleanArray = (0..batch.num_rows())
        .map(|i| {
            let t = (!ts.is_null(i)).then(|| ts.value(i));
            let in_time = t.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e));
            let in_scope = match (dev, devices) {
                (Some(d), Some(set)) => !d.is_null(i) && set.contains(d.value(i)),
                _ => true,
            };
            Some(in_time && in_scope)
        })
        .collect();
    Ok(Some(keep))
}

/// The batch must have exactly the table's columns (names and types, in order).
pub fn check_schema(table: Table, batch: &RecordBatch) -> Result<(), TelemetryError> {
    let want = table.arrow_schema();
    let got = batch.schema();
    let err = |detail: String| TelemetryError::Schema { table, detail };
    if got.fields().len() != want.fields().len() {
        return Err(err(format!("{} columns, expected {}", got.fields().len(), want.fields().len())));
    }
    for (g, w) in got.fields().iter().zip(want.fields()) {
        if g.name() != w.name() || g.data_type() != w.data_type() {
            return Err(err(format!(
                "column '{}' ({}) where '{}' ({}) was expected",
                g.name(),
                g.data_type(),
                w.name(),
                w.data_type()
            )));
        }
    }
    let ts = timestamps(batch)?;
    if ts.null_count() > 0 {
        return Err(err("Timestamp is null in some rows; every row needs one".into()));
    }
    Ok(())
}

#[async_trait]
impl TelemetryStore for ParquetStore {
    async fn append(&self, tenant: Uuid, table: Table, batch: RecordBatch) -> Result<u64, TelemetryError> {
        check_schema(table, &batch)?;
        let rows = batch.num_rows() as u64;
        if rows == 0 {
            return Ok(0);
        }
        // Align the batch's schema with the table's (nullability, metadata) so every file of a
        // table has one Parquet schema.
        let batch = RecordBatch::try_new(table.arrow_schema(), batch.columns().to_vec())?;
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let ts = timestamps(&batch)?;
            if ts.null_count() > 0 {
                return Err(TelemetryError::Schema { table, detail: "every row needs a Timestamp".into() });
            }
            let min = min_max(ts).expect("non-empty, no nulls").0;
            let dir = store.table_dir(tenant, table).join(day_of_ms(min.div_euclid(1_000_000)));
            store.write_file(&dir, &batch, None).map(|_| rows)
        })
        .await
        .map_err(|e| TelemetryError::Io(e.to_string()))?
    }

    async fn scan(&self, tenant: Uuid, table: Table, req: &ScanRequest) -> Result<Vec<RecordBatch>, TelemetryError> {
        let (store, req) = (self.0.clone(), req.clone());
        tokio::task::spawn_blocking(move || store.scan_blocking(tenant, table, &req))
            .await
            .map_err(|e| TelemetryError::Io(e.to_string()))?
    }

    async fn stats(&self, tenant: Uuid) -> Result<Vec<TableStats>, TelemetryError> {
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = vec![];
            for table in Table::ALL {
                let days = read_dirs(&store.table_dir(tenant, table))?;
                let mut s = TableStats {
                    table: table.name().into(),
                    rows: 0,
                    bytes: 0,
                    files: 0,
                    partitions: days.len() as u64,
                };
                for day in days {
                    for f in list_files(&day)? {
                        let file = File::open(&f.path)?;
                        s.bytes += file.metadata()?.len();
                        s.rows += ParquetRecordBatchReaderBuilder::try_new(file)?.metadata().file_metadata().num_rows()
                            as u64;
                        s.files += 1;
                    }
                }
                if s.files > 0 {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
        .map_err(|e| TelemetryError::Io(e.to_string()))?
    }

    async fn retain(&self, keep_from: OffsetDateTime) -> Result<usize, TelemetryError> {
        let store = self.0.clone();
        let keep_ms = ms(keep_from);
        tokio::task::spawn_blocking(move || {
            let mut dropped = 0;
            for day in store.all_day_dirs()? {
                for f in list_files(&day)? {
                    if f.max_ms < keep_ms {
                        fs::remove_file(&f.path)?;
                        dropped += 1;
                    }
                }
                if fs::read_dir(&day)?.next().is_none() {
                    let _ = fs::remove_dir(&day);
                }
            }
            Ok(dropped)
        })
        .await
        .map_err(|e| TelemetryError::Io(e.to_string()))?
    }

    async fn compact(&self) -> Result<usize, TelemetryError> {
        let _one = self.0.compacting.lock().await;
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || {
            let mut merged = 0;
            for tenant in read_dirs(&store.root)? {
                for table_dir in read_dirs(&tenant)? {
                    let Some(table) = table_dir.file_name().and_then(|n| n.to_str()).and_then(Table::from_name) else {
                        continue;
                    };
                    for day in read_dirs(&table_dir)? {
                        Inner::remove_covered(&day)?;
                        merged += store.compact_dir(&day, &table.arrow_schema())?;
                    }
                }
            }
            Ok(merged)
        })
        .await
        .map_err(|e| TelemetryError::Io(e.to_string()))?
    }
}

/// Builds an all-null column of `len` rows for every column of `table` except those given — the
/// simulator and tests fill a few columns of wide tables.
pub fn batch_with(table: Table, len: usize, given: Vec<(&str, ArrayRef)>) -> Result<RecordBatch, TelemetryError> {
    let schema = table.arrow_schema();
    let mut given: HashMap<&str, ArrayRef> = given.into_iter().collect();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| given.remove(f.name().as_str()).unwrap_or_else(|| arrow::array::new_null_array(f.data_type(), len)))
        .collect();
    if let Some(extra) = given.keys().next() {
        return Err(TelemetryError::Schema { table, detail: format!("no column '{extra}'") });
    }
    Ok(RecordBatch::try_new(schema, columns)?)
}

#[cfg(test)]
mod tests;
