//! Telemetry: the advanced hunting tables of Defender for Endpoint. [`schema`] names every table and
//! column exactly as the service does; [`store`] is the interface the hunting engine, the simulator
//! and ingestion use (tenant-keyed, time-partitioned, Arrow batches); [`parquet_store`] is the
//! embedded backend, Parquet files per tenant, table and day under the data directory.

pub mod device_info;
pub mod ingest;
pub mod parquet_store;
pub mod schema;
pub mod store;

pub use schema::{Column, KqlType, Table};
pub use store::{ScanRequest, TelemetryError, TelemetryStore};
