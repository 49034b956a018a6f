//! [`AuditStore`] on SQLite: an append-only table indexed by tenant and time.

use async_trait::async_trait;
use palisade_defender::audit::{AuditRecord, AuditStore};
use rusqlite::{params, params_from_iter};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqliteStore;

fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn record_batch(&self, recs: &[AuditRecord]) -> Result<(), String> {
        let recs = recs.to_vec();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| e.to_string())?;
            {
                let mut s = tx.prepare_cached("INSERT INTO audit_log (time_ms, tenant_id, app_id, user_id, method, path, status, latency_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)").map_err(|e| e.to_string())?;
                for r in recs {
                    s.execute(params![ms(r.time), r.tenant_id.map(|t| t.to_string()), r.app_id, r.user_id.map(|u| u.to_string()), r.method, r.path, r.status, r.latency_ms])
                        .map_err(|e| e.to_string())?;
                }
            }
            tx.commit().map_err(|e| e.to_string())
        })
        .await
    }

    async fn audit(
        &self,
        tenant: Option<Uuid>,
        since: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, String> {
        self.run_with(move |c| {
            let mut sql = String::from("SELECT time_ms, tenant_id, app_id, user_id, method, path, status, latency_ms FROM audit_log WHERE 1 = 1");
            let mut args: Vec<rusqlite::types::Value> = vec![];
            if let Some(t) = tenant {
                sql.push_str(" AND tenant_id = ?");
                args.push(t.to_string().into());
            }
            if let Some(s) = since {
                sql.push_str(" AND time_ms >= ?");
                args.push(ms(s).into());
            }
            sql.push_str(" ORDER BY seq DESC LIMIT ?");
            args.push((limit as i64).into());
            let mut stmt = c.prepare(&sql).map_err(|e| e.to_string())?;
            let rows = stmt
                .query_map(params_from_iter(args), |r| {
                    let time_ms: i64 = r.get(0)?;
                    let uuid = |s: Option<String>| s.and_then(|s| Uuid::parse_str(&s).ok());
                    Ok(AuditRecord {
                        time: OffsetDateTime::from_unix_timestamp_nanos(time_ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH),
                        tenant_id: uuid(r.get(1)?),
                        app_id: r.get(2)?,
                        user_id: uuid(r.get(3)?),
                        method: r.get(4)?,
                        path: r.get(5)?,
                        status: r.get(6)?,
                        latency_ms: r.get(7)?,
                    })
                })
                .map_err(|e| e.to_string())?;
            rows.collect::<Result<Vec<_>, _>>().map_err(|e| e.to_string())
        })
        .await
    }
}
