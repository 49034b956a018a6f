use std::sync::Arc;

use arrow::array::{Int64Array, StringArray, TimestampNanosecondArray};

use super::*;

fn dir() -> PathBuf {
    std::env::temp_dir().join(format!("palisade-telemetry-{}", Uuid::new_v4()))
}

const T0: i64 = 1_763_700_000_000_000_000; // 2025-11-21T04:40:00Z in ns

/// `n` process events on `device`, one second apart from `start_ns`, ProcessId = i.
fn events(device: &str, start_ns: i64, n: usize) -> RecordBatch {
    let ts: Vec<i64> = (0..n as i64).map(|i| start_ns + i * 1_000_000_000).collect();
    batch_with(
        Table::DeviceProcessEvents,
        n,
        vec![
            ("Timestamp", Arc::new(TimestampNanosecondArray::from(ts)) as ArrayRef),
            ("DeviceId", Arc::new(StringArray::from(vec![device; n]))),
            ("ProcessId", Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>()))),
        ],
    )
    .unwrap()
}

fn rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

fn at(ns: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ns as i128).unwrap()
}

#[tokio::test]
async fn append_scan_with_time_device_and_projection_and_tenant_isolation() {
    let d = dir();
    let s = ParquetStore::open(&d).unwrap();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    s.append(a, Table::DeviceProcessEvents, events("dev-1", T0, 100)).await.unwrap();
    s.append(a, Table::DeviceProcessEvents, events("dev-2", T0, 50)).await.unwrap();
    // A day later: another partition.
    s.append(a, Table::DeviceProcessEvents, events("dev-1", T0 + 86_400 * 1_000_000_000, 10)).await.unwrap();
    s.append(b, Table::DeviceProcessEvents, events("dev-9", T0, 7)).await.unwrap();

    let all = s.scan(a, Table::DeviceProcessEvents, &ScanRequest::default()).await.unwrap();
    assert_eq!(rows(&all), 160);
    assert_eq!(all[0].schema(), Table::DeviceProcessEvents.arrow_schema());
    assert_eq!(
        rows(&s.scan(b, Table::DeviceProcessEvents, &ScanRequest::default()).await.unwrap()),
        7,
        "tenant B sees only its rows"
    );
    assert!(s.scan(b, Table::DeviceFileEvents, &ScanRequest::default()).await.unwrap().is_empty());

    // [T0+10s, T0+20s): 10 rows of each device on the first day.
    let window =
        ScanRequest { from: Some(at(T0 + 10_000_000_000)), to: Some(at(T0 + 20_000_000_000)), ..Default::default() };
    assert_eq!(rows(&s.scan(a, Table::DeviceProcessEvents, &window).await.unwrap()), 20);

    // Device scope and projection (ProcessId, DeviceId) in that order.
    let (pid, _) = Table::DeviceProcessEvents.column("ProcessId").unwrap();
    let (dev, _) = Table::DeviceProcessEvents.column("DeviceId").unwrap();
    let req =
        ScanRequest { devices: Some(["dev-2".to_string()].into()), projection: Some(vec![pid, dev]), ..window.clone() };
    let got = s.scan(a, Table::DeviceProcessEvents, &req).await.unwrap();
    assert_eq!(rows(&got), 10);
    assert_eq!(got[0].num_columns(), 2);
    assert_eq!(got[0].schema().field(0).name(), "ProcessId");
    let devs = got[0].column(1).as_any().downcast_ref::<StringArray>().unwrap();
    assert!(devs.iter().all(|d| d == Some("dev-2")));

    let stats = s.stats(a).await.unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!((stats[0].rows, stats[0].files, stats[0].partitions), (160, 3, 2));
    let _ = fs::remove_dir_all(d);
}

#[tokio::test]
async fn bad_batches_are_refused_and_nothing_stored_is_lost() {
    let d = dir();
    let s = ParquetStore::open(&d).unwrap();
    let t = Uuid::new_v4();
    s.append(t, Table::DeviceProcessEvents, events("dev-1", T0, 5)).await.unwrap();
    // Another table's schema.
    let wrong = events("dev-1", T0, 5);
    let err = s.append(t, Table::DeviceFileEvents, wrong).await.unwrap_err();
    assert!(matches!(err, TelemetryError::Schema { .. }), "{err}");
    // A null Timestamp.
    let nulls = batch_with(
        Table::DeviceProcessEvents,
        2,
        vec![("Timestamp", Arc::new(TimestampNanosecondArray::from(vec![Some(T0), None])) as ArrayRef)],
    )
    .unwrap();
    let err = s.append(t, Table::DeviceProcessEvents, nulls).await.unwrap_err().to_string();
    assert!(err.contains("Timestamp is null"), "{err}");
    assert_eq!(rows(&s.scan(t, Table::DeviceProcessEvents, &ScanRequest::default()).await.unwrap()), 5);
    let _ = fs::remove_dir_all(d);
}

#[tokio::test]
async fn compaction_merges_small_files_and_a_crash_in_between_never_duplicates_rows() {
    let d = dir();
    let s = ParquetStore::open(&d).unwrap();
    let t = Uuid::new_v4();
    for i in 0..12 {
        s.append(t, Table::DeviceProcessEvents, events("dev-1", T0 + i * 1_000_000_000_000, 10)).await.unwrap();
    }
    let day = s.0.table_dir(t, Table::DeviceProcessEvents).join(day_of_ms(T0 / 1_000_000));
    let before = list_files(&day).unwrap();
    assert_eq!(before.len(), 12);
    // Simulate a compaction that wrote its merged file and crashed before deleting the inputs.
    let old: Vec<RecordBatch> = before
        .iter()
        .flat_map(|f| ParquetRecordBatchReaderBuilder::try_new(File::open(&f.path).unwrap()).unwrap().build().unwrap())
        .map(|b| b.unwrap())
        .collect();
    let merged = concat_batches(&Table::DeviceProcessEvents.arrow_schema(), &old).unwrap();
    s.0.write_file(&day, &merged, Some((before[0].lo, before[11].hi))).unwrap();
    assert_eq!(
        rows(&s.scan(t, Table::DeviceProcessEvents, &ScanRequest::default()).await.unwrap()),
        120,
        "no row twice"
    );
    assert_eq!(list_files(&day).unwrap().len(), 1, "covered files are not listed");
    assert_eq!(all_files(&day).unwrap().len(), 13, "but stay on disk for scans that listed them before");
    assert_eq!(Inner::remove_covered(&day).unwrap(), 0, "within the grace period");
    let merged_file = &list_files(&day).unwrap()[0].path;
    let long_ago = std::time::SystemTime::now() - COVERED_GRACE - std::time::Duration::from_secs(1);
    fs::File::options().write(true).open(merged_file).unwrap().set_modified(long_ago).unwrap();
    assert_eq!(Inner::remove_covered(&day).unwrap(), 12, "after it");
    assert_eq!(all_files(&day).unwrap().len(), 1);

    // New appends after that get later sequence numbers, and a real compaction merges them.
    for i in 0..8 {
        s.append(t, Table::DeviceProcessEvents, events("dev-2", T0 + i * 1_000_000_000, 3)).await.unwrap();
    }
    assert_eq!(s.compact().await.unwrap(), 9, "the merged file is small too: all nine merge");
    assert_eq!(list_files(&day).unwrap().len(), 1);
    assert_eq!(rows(&s.scan(t, Table::DeviceProcessEvents, &ScanRequest::default()).await.unwrap()), 144);
    // Reopening (as after a restart) continues the sequence past the merged range.
    let s2 = ParquetStore::open(&d).unwrap();
    s2.append(t, Table::DeviceProcessEvents, events("dev-3", T0, 1)).await.unwrap();
    assert_eq!(rows(&s2.scan(t, Table::DeviceProcessEvents, &ScanRequest::default()).await.unwrap()), 145);
    let _ = fs::remove_dir_all(d);
}

#[tokio::test]
async fn retention_drops_old_files_and_temporaries_are_cleaned_on_open() {
    let d = dir();
    let s = ParquetStore::open(&d).unwrap();
    let t = Uuid::new_v4();
    let day = 86_400 * 1_000_000_000;
    for i in 0..5 {
        s.append(t, Table::DeviceProcessEvents, events("dev-1", T0 + i * day, 10)).await.unwrap();
    }
    // A half-written file of a killed process.
    let tmp = s.0.table_dir(t, Table::DeviceProcessEvents).join(day_of_ms(T0 / 1_000_000)).join(".tmp-x.parquet");
    fs::write(&tmp, b"PAR1 partial").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    fs::File::options().write(true).open(&tmp).unwrap().set_modified(two_hours_ago).unwrap();
    // One being written right now by another process sharing the directory.
    let young = tmp.with_file_name(".tmp-y.parquet");
    fs::write(&young, b"PAR1 in progress").unwrap();
    assert_eq!(
        rows(&s.scan(t, Table::DeviceProcessEvents, &ScanRequest::default()).await.unwrap()),
        50,
        "temporaries are never read"
    );
    drop(s);
    let s = ParquetStore::open(&d).unwrap();
    assert!(!tmp.exists(), "a restart removes what a killed writer left");
    assert!(young.exists(), "a young temporary may be another writer's");
    fs::remove_file(&young).unwrap();
    assert_eq!(s.retain(at(T0 + 2 * day)).await.unwrap(), 2);
    assert_eq!(rows(&s.scan(t, Table::DeviceProcessEvents, &ScanRequest::default()).await.unwrap()), 30);
    assert_eq!(s.stats(t).await.unwrap()[0].partitions, 3, "emptied day directories are removed");
    let _ = fs::remove_dir_all(d);
}

#[test]
fn file_names_round_trip_including_negative_times() {
    for (lo, hi, min, max) in [(0, 0, 5, 9), (3, 17, -1000, -5), (1, 1, -5, 10)] {
        let p = PathBuf::from(DataFile::name(lo, hi, min, max));
        let f = DataFile::parse(p.clone()).unwrap();
        assert_eq!((f.lo, f.hi, f.min_ms, f.max_ms), (lo, hi, min, max));
    }
    assert!(DataFile::parse(PathBuf::from(".tmp-abc.parquet")).is_none());
}

#[tokio::test]
async fn two_stores_sharing_a_directory_never_overwrite_each_others_files() {
    // Two nodes on one volume: each has its own cached sequence numbers.
    let d = dir();
    let (a, b) = (ParquetStore::open(&d).unwrap(), ParquetStore::open(&d).unwrap());
    let t = Uuid::new_v4();
    for i in 0..10 {
        let store = if i % 2 == 0 { &a } else { &b };
        store.append(t, Table::DeviceProcessEvents, events("dev-1", T0, 10)).await.unwrap();
    }
    assert_eq!(rows(&a.scan(t, Table::DeviceProcessEvents, &ScanRequest::default()).await.unwrap()), 100);
    assert_eq!(a.stats(t).await.unwrap()[0].files, 10);
    let _ = fs::remove_dir_all(d);
}
