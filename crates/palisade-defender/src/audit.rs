//! The audit trail of the Defender APIs: one record per call (who, which tenant, what, outcome,
//! latency), kept behind [`AuditStore`] so every API node writes to the same log.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// Unknown for calls refused before a token was read.
    pub tenant_id: Option<Uuid>,
    pub app_id: Option<String>,
    pub user_id: Option<Uuid>,
    pub method: String,
    /// Path only: query strings can carry data that does not belong in an audit log.
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends records in one write: API nodes batch them so a call's path holds no write lock.
    async fn record_batch(&self, recs: &[AuditRecord]) -> Result<(), String>;
    /// Newest first; `tenant` restricts to one tenant.
    async fn audit(
        &self,
        tenant: Option<Uuid>,
        since: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, String>;
}
