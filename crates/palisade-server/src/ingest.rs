//! Telemetry ingestion, shared by the bearer-token API (`POST /api/palisade/ingest/{table}`) and
//! the operator route the CLI uses: parse and check every row first, store the whole request as
//! one durable append, then onboard or update the machines that `DeviceInfo` rows describe.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use palisade_defender::store::SecurityStore;
use palisade_telemetry::device_info::{self, DeviceReport};
use palisade_telemetry::ingest::{self, IngestError};
use palisade_telemetry::{Table, TelemetryError, TelemetryStore};
use serde::Serialize;
use uuid::Uuid;

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (`application/x-ndjson`, also accepted as `application/json`).
    Ndjson,
    /// An Arrow IPC stream (`application/vnd.apache.arrow.stream`).
    ArrowStream,
}

impl Format {
    pub const ARROW_MEDIA_TYPE: &'static str = "application/vnd.apache.arrow.stream";
    pub const NDJSON_MEDIA_TYPE: &'static str = "application/x-ndjson";

    /// From a `Content-Type` (parameters ignored); `None` for media types this API does not read.
    /// A missing type is NDJSON, what curl `--data-binary` users send.
    pub fn from_content_type(ct: Option<&str>) -> Option<Format> {
        let Some(ct) = ct else { return Some(Format::Ndjson) };
        let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match media.as_str() {
            ""
            | "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/json"
            | "application/jsonlines"
            | "application/x-jsonlines"
            | "text/plain" => Some(Format::Ndjson),
            Format::ARROW_MEDIA_TYPE | "application/vnd.apache.arrow.file" => Some(Format::ArrowStream),
            _ => None,
        }
    }
}

/// What an accepted request stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingested {
    pub table: &'static str,
    pub rows_stored: u64,
    /// Machines onboarded or updated from `DeviceInfo` rows.
    pub machines_updated: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestFailure {
    /// The request is refused as a whole; nothing of it was stored.
    #[error(transparent)]
    Invalid(#[from] IngestError),
    #[error(transparent)]
    Storage(#[from] TelemetryError),
    #[error("machines: {0}")]
    Machines(String),
}

/// Parses, checks and stores one request's rows for `tenant`.
pub async fn ingest(
    telemetry: &Arc<dyn TelemetryStore>,
    security: &Arc<dyn SecurityStore>,
    tenant: Uuid,
    table: Table,
    format: Format,
    body: axum::body::Bytes,
) -> Result<Ingested, IngestFailure> {
    // Parsing a large body is CPU work: keep it off the async workers.
    let parsed =
        tokio::task::spawn_blocking(move || -> Result<(Option<RecordBatch>, Vec<DeviceReport>), IngestError> {
            let batch = match format {
                Format::Ndjson => Some(ingest::ndjson(table, &body)?),
                Format::ArrowStream => {
                    let batches = ingest::arrow_ipc(table, &body)?;
                    match batches.len() {
                        0 => None,
                        1 => batches.into_iter().next(),
                        // One append per request: a crash can then never leave half a request stored.
                        _ => Some(
                            arrow::compute::concat_batches(&table.arrow_schema(), &batches)
                                .map_err(|e| IngestError::Body(e.to_string()))?,
                        ),
                    }
                }
            };
            let reports = match (&batch, table) {
                (Some(b), Table::DeviceInfo) => device_info::reports(b)?,
                _ => vec![],
            };
            Ok((batch.filter(|b| b.num_rows() > 0), reports))
        })
        .await
        .map_err(|e| IngestFailure::Machines(format!("parser task: {e}")))?;
    let (batch, reports) = parsed?;
    let rows_stored = match batch {
        Some(b) => telemetry.append(tenant, table, b).await?,
        None => 0,
    };
    let machines_updated = onboard(security.as_ref(), tenant, &reports).await?;
    Ok(Ingested { table: table.name(), rows_stored, machines_updated })
}

/// Applies `DeviceInfo` reports to the API's machines; new ones land in the device group the
/// tenant's rules pick.
async fn onboard(security: &dyn SecurityStore, tenant: Uuid, reports: &[DeviceReport]) -> Result<usize, IngestFailure> {
    if reports.is_empty() {
        return Ok(0);
    }
    let err = |e: palisade_defender::store::SecurityStoreError| IngestFailure::Machines(e.to_string());
    let ids: Vec<String> = reports.iter().map(|r| r.id.clone()).collect();
    let mut existing: std::collections::HashMap<String, _> = security
        .machines_by_ids(tenant, &ids)
        .await
        .map_err(err)?
        .into_iter()
        .map(|m| (m.machine.id.clone(), m))
        .collect();
    let groups = security.rbac_config(tenant).await.map_err(err)?;
    let mut records = Vec::with_capacity(reports.len());
    for r in reports {
        let mut rec = r.apply(existing.remove(&r.id));
        let (gid, gname) = groups.assign(&rec.machine);
        rec.machine.rbac_group_id = gid;
        rec.machine.rbac_group_name = gname;
        records.push(rec);
    }
    for chunk in records.chunks(palisade_defender::fixtures::LOAD_BATCH) {
        security.upsert_machines(tenant, chunk).await.map_err(err)?;
    }
    Ok(records.len())
}

/// A table by name, case-insensitively (URL paths are matched that way under `/api`).
pub fn table_named(name: &str) -> Option<Table> {
    Table::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(name))
}

/// Every table's name, for messages listing what exists.
pub fn table_names() -> Vec<&'static str> {
    Table::ALL.iter().map(|t| t.name()).collect()
}
