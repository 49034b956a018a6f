//! Telemetry ingestion over HTTP: `POST /api/palisade/ingest/{table}` for pipelines holding a
//! token with `Palisade.Ingest.All`, and the operator route behind `palisade ingest`. Both read
//! the body with the configured limit and hand it to [`crate::ingest`].

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use palisade_defender::{DefenderError, Operation};
use palisade_identity::admin::GraphError;
use palisade_telemetry::Table;
use uuid::Uuid;

use super::defender::{ApiCaller, ApiResult};
use super::errors::GraphResponse;
use super::graph::{Caller, operator};
use crate::AppState;
use crate::ingest::{Format, IngestFailure, ingest as store_rows, table_named};

/// Why a request was refused, before the format of the answer is chosen.
struct Refusal {
    status: u16,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Refusal { status, code, message: message.into() }
    }
}

fn table_list() -> String {
    Table::ALL.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ")
}

/// Table, format and body of a request, or why not.
async fn read(s: &AppState, table: &str, headers: &HeaderMap, body: Body) -> Result<(Table, Format, Bytes), Refusal> {
    let table = table_named(table).ok_or_else(|| {
        Refusal::new(404, "ResourceNotFound", format!("Table '{table}' wasn't found. Tables: {}.", table_list()))
    })?;
    let ct = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let format = Format::from_content_type(ct).ok_or_else(|| {
        Refusal::new(
            415,
            "UnsupportedMediaType",
            format!(
                "Content-Type '{}' is not supported: send {} (one JSON object per line) or {}.",
                ct.unwrap_or_default(),
                Format::NDJSON_MEDIA_TYPE,
                Format::ARROW_MEDIA_TYPE
            ),
        )
    })?;
    let limit = s.max_ingest_bytes;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Refusal::new(
            413,
            "RequestEntityTooLarge",
            format!("The request body is larger than {} MiB: split it into several requests.", limit >> 20),
        )
    })?;
    Ok((table, format, body))
}

async fn run(s: &AppState, tenant: Uuid, table: &str, headers: &HeaderMap, body: Body) -> Result<Response, Refusal> {
    let (table, format, body) = read(s, table, headers, body).await?;
    match store_rows(&s.telemetry, &s.security, tenant, table, format, body).await {
        Ok(done) => {
            tracing::info!(%tenant, table = done.table, rows = done.rows_stored, machines = done.machines_updated, "telemetry ingested");
            Ok(Json(done).into_response())
        }
        Err(IngestFailure::Invalid(e)) => Err(Refusal::new(
            400,
            "InvalidRequestBody",
            format!("Invalid request body. {e}. Nothing of this request was stored."),
        )),
        Err(e) => {
            tracing::error!(%tenant, error = %e, "telemetry ingestion failed");
            Err(Refusal::new(500, "InternalServerError", format!("Ingestion failed: {e}. Retry the request.")))
        }
    }
}

/// `POST /api/palisade/ingest/{table}`: rows for the caller's tenant; application permission
/// `Palisade.Ingest.All`.
pub async fn ingest(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(table): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    c.admit(&s, Operation::IngestTelemetry).await?;
    run(&s, c.caller.tenant_id(), &table, &headers, body)
        .await
        .map_err(|r| DefenderError { status: r.status, code: r.code, message: r.message }.into())
}

/// `POST /palisade/v1/tenants/{tid}/telemetry/{table}`: the same for the operator (the CLI).
pub async fn operator_ingest(
    State(s): State<AppState>,
    c: Caller,
    Path((tenant, table)): Path<(Uuid, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GraphResponse> {
    operator(&c)?;
    super::operator::tenant_of(&s, tenant).await?;
    run(&s, tenant, &table, &headers, body).await.map_err(|r| {
        let code = match r.status {
            400 | 413 | 415 => "Request_BadRequest",
            404 => "Request_ResourceNotFound",
            _ => "Service_InternalServerError",
        };
        GraphResponse(GraphError { status: r.status, code, message: r.message })
    })
}
