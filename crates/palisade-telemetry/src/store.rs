//! What every telemetry backend offers. Keyed by tenant in every call, so no caller can read or
//! write another tenant's rows; batches are Arrow, so an embedded Parquet store today and a
//! distributed engine later serve the same engine.

use std::collections::HashSet;

use arrow::record_batch::RecordBatch;
use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::schema::Table;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The batch does not have the table's exact schema.
    #[error("the batch does not match the {table} schema: {detail}")]
    Schema { table: Table, detail: String },
    #[error("telemetry storage: {0}")]
    Io(String),
    #[error("telemetry format: {0}")]
    Format(String),
}

impl From<std::io::Error> for TelemetryError {
    fn from(e: std::io::Error) -> Self {
        TelemetryError::Io(e.to_string())
    }
}

impl From<arrow::error::ArrowError> for TelemetryError {
    fn from(e: arrow::error::ArrowError) -> Self {
        TelemetryError::Format(e.to_string())
    }
}

impl From<parquet::errors::ParquetError> for TelemetryError {
    fn from(e: parquet::errors::ParquetError) -> Self {
        TelemetryError::Format(e.to_string())
    }
}

/// Which rows a scan wants. Time bounds are pushed down to partitions (days) and then applied to
/// rows; the projection is pushed down to the files' column chunks.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// Inclusive lower bound on `Timestamp`.
    pub from: Option<OffsetDateTime>,
    /// Exclusive upper bound on `Timestamp`.
    pub to: Option<OffsetDateTime>,
    /// Column indexes of the table schema to return, in this order; `None` = all.
    pub projection: Option<Vec<usize>>,
    /// Only rows whose `DeviceId` is in this set (a delegated caller's device scope). Ignored for
    /// tables without `DeviceId`.
    pub devices: Option<HashSet<String>>,
}

/// Size of one table of one tenant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableStats {
    pub table: String,
    pub rows: u64,
    pub bytes: u64,
    pub files: u64,
    pub partitions: u64,
}

#[async_trait]
pub trait TelemetryStore: Send + Sync {
    /// Appends rows of `table` (schema exactly `table.arrow_schema()`). Durable once `Ok`: a crash
    /// afterwards loses none of them; a crash before leaves no partial batch visible.
    async fn append(&self, tenant: Uuid, table: Table, batch: RecordBatch) -> Result<u64, TelemetryError>;

    /// The rows of `table` matching `req`, in no particular order.
    async fn scan(&self, tenant: Uuid, table: Table, req: &ScanRequest) -> Result<Vec<RecordBatch>, TelemetryError>;

    /// Per-table sizes for one tenant.
    async fn stats(&self, tenant: Uuid) -> Result<Vec<TableStats>, TelemetryError>;

    /// Drops every partition wholly older than `keep_from`; returns how many were dropped.
    async fn retain(&self, keep_from: OffsetDateTime) -> Result<usize, TelemetryError>;

    /// Merges small files of each partition; returns how many files were merged away.
    async fn compact(&self) -> Result<usize, TelemetryError>;
}
