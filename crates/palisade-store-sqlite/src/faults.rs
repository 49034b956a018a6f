//! [`FaultStore`] on SQLite.

use async_trait::async_trait;
use palisade_defender::faults::{FaultPlan, FaultStore};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use crate::SqliteStore;

#[async_trait]
impl FaultStore for SqliteStore {
    async fn set_faults(&self, tenant: Uuid, app_id: Option<&str>, plan: Option<&FaultPlan>) -> Result<(), String> {
        let app = app_id.unwrap_or("").to_ascii_lowercase();
        let doc = plan.map(serde_json::to_string).transpose().map_err(|e| e.to_string())?;
        self.run_with(move |c| {
            match doc {
                Some(d) => c.execute(
                    "INSERT INTO fault_plans (tenant_id, app_id, doc) VALUES (?1, ?2, ?3) ON CONFLICT (tenant_id, app_id) DO UPDATE SET doc = excluded.doc",
                    params![tenant.to_string(), app, d],
                ),
                None => c.execute("DELETE FROM fault_plans WHERE tenant_id = ?1 AND app_id = ?2", params![tenant.to_string(), app]),
            }
            .map(|_| ())
            .map_err(|e| e.to_string())
        })
        .await
    }

    async fn faults(&self, tenant: Uuid, app_id: &str) -> Result<Option<FaultPlan>, String> {
        let app = app_id.to_ascii_lowercase();
        self.run_with(move |c| {
            // The application's own plan wins over the tenant-wide one ('' sorts last under DESC).
            let doc: Option<String> = c
                .prepare_cached("SELECT doc FROM fault_plans WHERE tenant_id = ?1 AND app_id IN (?2, '') ORDER BY app_id DESC LIMIT 1")
                .and_then(|mut s| s.query_row(params![tenant.to_string(), app], |r| r.get(0)).optional())
                .map_err(|e| e.to_string())?;
            doc.map(|d| serde_json::from_str(&d).map_err(|e| e.to_string())).transpose()
        })
        .await
    }
}
