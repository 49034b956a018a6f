//! [`AlertStore`]: alerts, with the entities their evidence names indexed for the related-alert
//! and related-machine endpoints.

use std::collections::HashMap;

use async_trait::async_trait;
use palisade_defender::model::{Alert, EntityKey, Evidence};
use palisade_defender::rbac::{DeviceScope, UNGROUPED_ID};
use palisade_defender::schemas::ALERTS;
use palisade_defender::store::{AlertStore, SecResult, SecurityStoreError};
use palisade_odata::QueryOptions;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params, params_from_iter};
use time::OffsetDateTime;
use uuid::Uuid;

use super::entities::write_observation;
use super::{Sql, be, entity_value, from_json, marks, ms, to_json, url_host};
use crate::SqliteStore;

/// One entity an alert names: `(kind, value, file name)`.
type Named = (&'static str, String, Option<String>);

/// The entities of one piece of evidence, as `EntityKey` spells them (lowercase).
fn evidence_entities(e: &Evidence) -> Vec<Named> {
    let mut out = Vec::new();
    // Files are keyed by SHA-1 (`EntityKey::File`); SHA-256 only stands in when there is none, as
    // a second row per file would double the largest index for lookups nobody makes.
    if let Some(hash) = e.sha1.as_ref().or(e.sha256.as_ref()) {
        out.push(("file", entity_value(hash), e.file_name.clone()));
    }
    if let Some(ip) = &e.ip_address {
        out.push(("ip", entity_value(ip), None));
    }
    if let Some(host) = e.url.as_deref().and_then(url_host) {
        out.push(("domain", host, None));
    }
    if let Some(user) = &e.account_name {
        out.push(("user", entity_value(user), None));
    }
    out.retain(|(_, v, _)| !v.is_empty());
    out
}

/// When the alert happened, for newest-first ordering and as the time of evidence without one.
fn alert_time(a: &Alert) -> OffsetDateTime {
    a.alert_creation_time.or(a.first_event_time).or(a.last_update_time).unwrap_or_else(OffsetDateTime::now_utc)
}

/// Parses `(doc, evidence)` rows; `evidence` is NULL when not asked for.
fn read_alerts(c: &Connection, sql: Sql) -> SecResult<Vec<Alert>> {
    let mut stmt = c.prepare_cached(&sql.text).map_err(be)?;
    let rows = stmt
        .query_map(params_from_iter(sql.args), |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)))
        .map_err(be)?;
    let mut out = Vec::new();
    for row in rows {
        let (doc, evidence) = row.map_err(be)?;
        let mut a: Alert = from_json(&doc)?;
        if let Some(ev) = evidence {
            a.evidence = from_json(&ev)?;
        }
        out.push(a);
    }
    Ok(out)
}

/// The statement of one page of `/api/alerts` (also what the query-plan test inspects).
pub(super) fn alerts_page_sql(
    tenant: Uuid,
    q: &QueryOptions,
    scope: &DeviceScope,
    with_evidence: bool,
) -> SecResult<Sql> {
    let evidence = if with_evidence { "evidence" } else { "NULL" };
    let mut sql =
        Sql::new(&format!("SELECT doc, {evidence} FROM alerts WHERE tenant_id = ?"), vec![tenant.to_string().into()]);
    sql.scope(scope, "rbac_group_id").filter(q, &ALERTS)?.page(q, &ALERTS, None, "id")?;
    Ok(sql)
}

/// The indexed columns of an alert, in the order of [`ALERT_COLUMNS`].
fn alert_values(a: &Alert) -> Vec<Value> {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    let int = |v: Option<i64>| v.map_or(Value::Null, Value::Integer);
    vec![
        int(a.incident_id),
        int(a.investigation_id),
        text(&a.assigned_to),
        a.severity.clone().into(),
        a.status.clone().into(),
        text(&a.classification),
        text(&a.determination),
        a.detection_source.clone().into(),
        a.category.clone().into(),
        a.title.clone().into(),
        int(a.alert_creation_time.map(ms)),
        int(a.first_event_time.map(ms)),
        int(a.last_event_time.map(ms)),
        int(a.last_update_time.map(ms)),
        int(a.resolved_time.map(ms)),
        text(&a.computer_dns_name),
    ]
}

const ALERT_COLUMNS: [&str; 16] = [
    "incident_id",
    "investigation_id",
    "assigned_to",
    "severity",
    "status",
    "classification",
    "determination",
    "detection_source",
    "category",
    "title",
    "alert_creation_ms",
    "first_event_ms",
    "last_event_ms",
    "last_update_ms",
    "resolved_ms",
    "computer_dns_name",
];

/// The stored document: the alert without its evidence (kept in its own column).
fn split_evidence(a: &Alert) -> SecResult<(String, String)> {
    let mut doc = a.clone();
    let evidence = to_json(&std::mem::take(&mut doc.evidence))?;
    Ok((to_json(&doc)?, evidence))
}

fn insert_alert(tx: &Transaction, tenant: &str, a: &Alert, group: i64) -> SecResult<()> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "INSERT INTO alerts (tenant_id, id, machine_id, rbac_group_id, doc, evidence, {}) VALUES ({})",
            ALERT_COLUMNS.join(", "),
            marks(6 + ALERT_COLUMNS.len())
        )
    });
    let (doc, evidence) = split_evidence(a)?;
    let mut args: Vec<Value> = vec![
        tenant.to_string().into(),
        a.id.clone().into(),
        a.machine_id.clone().into(),
        group.into(),
        doc.into(),
        evidence.into(),
    ];
    args.extend(alert_values(a));
    tx.prepare_cached(&SQL).map_err(be)?.execute(params_from_iter(args)).map_err(be)?;
    Ok(())
}

/// Rewrites what an update may change; evidence, device and group stay as inserted.
fn update_alert(tx: &Transaction, tenant: &str, a: &Alert) -> SecResult<()> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let sets: Vec<String> = ALERT_COLUMNS.iter().map(|c| format!("{c} = ?")).collect();
        format!("UPDATE alerts SET doc = ?, {} WHERE tenant_id = ? AND id = ?", sets.join(", "))
    });
    let (doc, _) = split_evidence(a)?;
    let mut args: Vec<Value> = vec![doc.into()];
    args.extend(alert_values(a));
    args.extend([tenant.to_string().into(), a.id.clone().into()]);
    tx.prepare_cached(&SQL).map_err(be)?.execute(params_from_iter(args)).map_err(be)?;
    Ok(())
}

fn index_entities(tx: &Transaction, tenant: &str, a: &Alert) -> SecResult<()> {
    let when = alert_time(a);
    let mut named: Vec<(Named, OffsetDateTime)> = Vec::new();
    for e in &a.evidence {
        let t = e.evidence_creation_time.unwrap_or(when);
        named.extend(evidence_entities(e).into_iter().map(|n| (n, t)));
    }
    if let Some(u) = &a.related_user {
        named.push((("user", entity_value(&u.user_name), None), when));
    }
    let mut row = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO alert_entities (tenant_id, kind, value, alert_id, machine_id, time_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(be)?;
    for ((kind, value, file_name), t) in named {
        if value.is_empty() {
            continue;
        }
        row.execute(params![tenant, kind, value, a.id, a.machine_id, ms(when)]).map_err(be)?;
        // Users are linked to devices by logons, not sightings.
        if kind != "user" {
            write_observation(tx, tenant, kind, &value, &a.machine_id, t, file_name.as_deref())?;
        }
    }
    Ok(())
}

#[async_trait]
impl AlertStore for SqliteStore {
    async fn insert_alerts(&self, tenant: Uuid, alerts: &[Alert]) -> SecResult<()> {
        let alerts = alerts.to_vec();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            let mut groups: HashMap<String, (i64, Option<String>)> = HashMap::new();
            for a in alerts {
                let key = a.machine_id.to_ascii_lowercase();
                if !groups.contains_key(&key) {
                    let g = tx
                        .prepare_cached(
                            "SELECT rbac_group_id, rbac_group_name FROM machines WHERE tenant_id = ?1 AND id = ?2",
                        )
                        .map_err(be)?
                        .query_row(params![t, a.machine_id], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                        .map_err(be)?;
                    // An alert of a device not (yet) known is ungrouped until the device arrives.
                    groups.insert(key.clone(), g.unwrap_or((UNGROUPED_ID, None)));
                }
                let (gid, gname) = groups[&key].clone();
                let mut a = a;
                a.rbac_group_name = gname;
                insert_alert(&tx, &t, &a, gid)?;
                index_entities(&tx, &t, &a)?;
            }
            tx.commit().map_err(be)
        })
        .await
    }

    async fn alert(&self, tenant: Uuid, id: &str) -> SecResult<Option<Alert>> {
        let sql = Sql::new(
            "SELECT doc, evidence FROM alerts WHERE tenant_id = ? AND id = ?",
            vec![tenant.to_string().into(), id.to_string().into()],
        );
        self.run_point(move |c| Ok(read_alerts(c, sql)?.pop())).await
    }

    async fn alerts(
        &self,
        tenant: Uuid,
        q: &QueryOptions,
        scope: &DeviceScope,
        with_evidence: bool,
    ) -> SecResult<Vec<Alert>> {
        let sql = alerts_page_sql(tenant, q, scope, with_evidence)?;
        self.run_with(move |c| read_alerts(c, sql)).await
    }

    async fn count_alerts(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<u64> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM alerts WHERE tenant_id = ?", vec![tenant.to_string().into()]);
        sql.scope(scope, "rbac_group_id").filter(q, &ALERTS)?;
        self.run_with(move |c| sql.count(c)).await
    }

    async fn update_alerts(&self, tenant: Uuid, alerts: &[Alert]) -> SecResult<()> {
        let alerts = alerts.to_vec();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            for a in alerts {
                let stored: Option<String> = tx
                    .prepare_cached("SELECT doc FROM alerts WHERE tenant_id = ?1 AND id = ?2")
                    .map_err(be)?
                    .query_row(params![t, a.id], |r| r.get(0))
                    .optional()
                    .map_err(be)?;
                // Dropping the transaction rolls back whatever this call already wrote.
                let Some(doc) = stored else {
                    return Err(SecurityStoreError::NotFound(format!("Alert {}", a.id)));
                };
                let old: Alert = from_json(&doc)?;
                let mut a = a;
                a.machine_id = old.machine_id;
                a.rbac_group_name = old.rbac_group_name;
                update_alert(&tx, &t, &a)?;
            }
            tx.commit().map_err(be)
        })
        .await
    }

    async fn alerts_by_entity(&self, tenant: Uuid, key: &EntityKey, scope: &DeviceScope) -> SecResult<Vec<Alert>> {
        let mut sql = Sql::new(
            "SELECT a.doc, NULL FROM alert_entities e JOIN alerts a ON a.tenant_id = e.tenant_id AND a.id = e.alert_id
             WHERE e.tenant_id = ? AND e.kind = ? AND e.value = ?",
            vec![tenant.to_string().into(), key.kind().to_string().into(), entity_value(key.value()).into()],
        );
        sql.scope(scope, "a.rbac_group_id").push(" ORDER BY e.time_ms DESC, e.alert_id DESC");
        self.run_with(move |c| read_alerts(c, sql)).await
    }

    async fn alerts_of_machine(
        &self,
        tenant: Uuid,
        machine_id: &str,
        q: &QueryOptions,
        count_only: bool,
    ) -> SecResult<(Vec<Alert>, u64)> {
        let args: Vec<Value> = vec![tenant.to_string().into(), machine_id.to_string().into()];
        let mut count = Sql::new("SELECT COUNT(*) FROM alerts WHERE tenant_id = ? AND machine_id = ?", args.clone());
        count.filter(q, &ALERTS)?;
        let mut page = Sql::new("SELECT doc, NULL FROM alerts WHERE tenant_id = ? AND machine_id = ?", args);
        page.filter(q, &ALERTS)?.page(q, &ALERTS, None, "id")?;
        self.run_with(move |c| {
            let n = count.count(c)?;
            if count_only {
                return Ok((vec![], n));
            }
            Ok((read_alerts(c, page)?, n))
        })
        .await
    }

    async fn alerts_of_incidents(&self, tenant: Uuid, incident_ids: &[i64]) -> SecResult<Vec<Alert>> {
        let ids = incident_ids.to_vec();
        self.run_with(move |c| {
            let mut out = Vec::new();
            for chunk in ids.chunks(500) {
                let mut args: Vec<Value> = vec![tenant.to_string().into()];
                args.extend(chunk.iter().map(|i| Value::Integer(*i)));
                let sql = Sql::new(
                    &format!(
                        "SELECT doc, evidence FROM alerts WHERE tenant_id = ? AND incident_id IN ({})
                         ORDER BY incident_id, alert_creation_ms, id",
                        marks(chunk.len())
                    ),
                    args,
                );
                out.extend(read_alerts(c, sql)?);
            }
            Ok(out)
        })
        .await
    }
}
