//! [`IncidentStore`]: Microsoft 365 Defender incidents. An incident has no device of its own; a
//! scoped caller sees it through its alerts' device groups.

use async_trait::async_trait;
use palisade_defender::model::Incident;
use palisade_defender::rbac::DeviceScope;
use palisade_defender::schemas::INCIDENTS;
use palisade_defender::store::{IncidentStore, SecResult};
use palisade_odata::QueryOptions;
use rusqlite::{TransactionBehavior, params};
use uuid::Uuid;

use super::{Sql, be, ms, to_json};
use crate::SqliteStore;

/// `AND EXISTS` an alert of the incident in the caller's groups (answered by `alerts_incident`).
fn incident_scope(sql: &mut Sql, scope: &DeviceScope) {
    if matches!(scope, DeviceScope::Groups(_)) {
        sql.push(
            " AND EXISTS (SELECT 1 FROM alerts a WHERE a.tenant_id = incidents.tenant_id
                 AND a.incident_id = incidents.incident_id",
        )
        .scope(scope, "a.rbac_group_id")
        .push(")");
    }
}

#[async_trait]
impl IncidentStore for SqliteStore {
    async fn upsert_incidents(&self, tenant: Uuid, incidents: &[Incident]) -> SecResult<()> {
        let incidents = incidents.to_vec();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO incidents (tenant_id, incident_id, incident_name, created_ms, last_update_ms,
                             assigned_to, classification, determination, status, severity, doc)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                         ON CONFLICT (tenant_id, incident_id) DO UPDATE SET incident_name = excluded.incident_name,
                             created_ms = excluded.created_ms, last_update_ms = excluded.last_update_ms,
                             assigned_to = excluded.assigned_to, classification = excluded.classification,
                             determination = excluded.determination, status = excluded.status,
                             severity = excluded.severity, doc = excluded.doc",
                    )
                    .map_err(be)?;
                for i in &incidents {
                    stmt.execute(params![
                        t,
                        i.incident_id,
                        i.incident_name,
                        ms(i.created_time),
                        ms(i.last_update_time),
                        i.assigned_to,
                        i.classification,
                        i.determination,
                        i.status,
                        i.severity,
                        to_json(i)?,
                    ])
                    .map_err(be)?;
                }
            }
            tx.commit().map_err(be)
        })
        .await
    }

    async fn incident(&self, tenant: Uuid, id: i64) -> SecResult<Option<Incident>> {
        let sql = Sql::new(
            "SELECT doc FROM incidents WHERE tenant_id = ? AND incident_id = ?",
            vec![tenant.to_string().into(), id.into()],
        );
        self.run_point(move |c| Ok(sql.docs(c)?.pop())).await
    }

    async fn incidents(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<Vec<Incident>> {
        let mut sql = Sql::new("SELECT doc FROM incidents WHERE tenant_id = ?", vec![tenant.to_string().into()]);
        incident_scope(&mut sql, scope);
        sql.filter(q, &INCIDENTS)?.page(q, &INCIDENTS, Some("created_ms DESC, incident_id DESC"), "incident_id")?;
        self.run_with(move |c| sql.docs(c)).await
    }

    async fn count_incidents(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<u64> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM incidents WHERE tenant_id = ?", vec![tenant.to_string().into()]);
        incident_scope(&mut sql, scope);
        sql.filter(q, &INCIDENTS)?;
        self.run_with(move |c| sql.count(c)).await
    }

    async fn incident_groups(&self, tenant: Uuid, id: i64) -> SecResult<Vec<i64>> {
        self.run_with(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT DISTINCT rbac_group_id FROM alerts WHERE tenant_id = ?1 AND incident_id = ?2 ORDER BY 1",
                )
                .map_err(be)?;
            let rows = stmt.query_map(params![tenant.to_string(), id], |r| r.get(0)).map_err(be)?;
            rows.collect::<Result<_, _>>().map_err(be)
        })
        .await
    }
}
