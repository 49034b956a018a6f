//! [`MachineStore`]: devices, their address history and tags, and device-group moves that alerts
//! and actions follow.

use std::collections::HashMap;

use async_trait::async_trait;
use palisade_defender::model::{DeviceState, EntityKey, Machine, MachineRecord};
use palisade_defender::rbac::{DeviceScope, RbacConfig};
use palisade_defender::schemas::MACHINES;
use palisade_defender::store::{MachineStore, SecResult};
use palisade_odata::QueryOptions;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params, params_from_iter};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Sql, be, entity_value, from_json, marks, ms, to_json};
use crate::SqliteStore;

/// Reads a `(doc, state)` row.
fn record(doc: &str, state: &str) -> SecResult<MachineRecord> {
    Ok(MachineRecord { machine: from_json(doc)?, state: from_json(state)? })
}

fn one_record(c: &Connection, sql: &str, args: &[&dyn rusqlite::ToSql]) -> SecResult<Option<MachineRecord>> {
    let row: Option<(String, String)> =
        c.prepare_cached(sql).map_err(be)?.query_row(args, |r| Ok((r.get(0)?, r.get(1)?))).optional().map_err(be)?;
    row.map(|(d, s)| record(&d, &s)).transpose()
}

/// The machine record by id (case-insensitive), inside a transaction or not.
pub(super) fn load_machine(c: &Connection, tenant: &str, id: &str) -> SecResult<Option<MachineRecord>> {
    one_record(c, "SELECT doc, state FROM machines WHERE tenant_id = ?1 AND id = ?2", &[&tenant, &id])
}

/// `%`/`_`-escaped `LIKE` prefix pattern (escape character `\`).
fn like_prefix(prefix: &str) -> String {
    let mut p = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// Makes a device's alerts and actions carry its current group, so scoped reads of them stay a
/// column comparison.
pub(super) fn propagate_group(
    tx: &Transaction,
    tenant: &str,
    machine_id: &str,
    group_id: i64,
    group_name: Option<&str>,
) -> SecResult<()> {
    tx.prepare_cached(
        "UPDATE alerts SET rbac_group_id = ?1, doc = json_set(doc, '$.rbacGroupName', ?2)
         WHERE tenant_id = ?3 AND machine_id = ?4
           AND (rbac_group_id IS NOT ?1 OR json_extract(doc, '$.rbacGroupName') IS NOT ?2)",
    )
    .map_err(be)?
    .execute(params![group_id, group_name, tenant, machine_id])
    .map_err(be)?;
    tx.prepare_cached(
        "UPDATE machine_actions SET rbac_group_id = ?1 WHERE tenant_id = ?2 AND machine_id = ?3 AND rbac_group_id IS NOT ?1",
    )
    .map_err(be)?
    .execute(params![group_id, tenant, machine_id])
    .map_err(be)?;
    Ok(())
}

/// Loopback addresses are on every device; recording them would make findbyip match the fleet.
fn is_loopback(kind: &str, ip: &str) -> bool {
    kind == "SoftwareLoopback" || ip.starts_with("127.") || ip == "::1"
}

fn write_machine(tx: &Transaction, tenant: &str, rec: &MachineRecord) -> SecResult<()> {
    let m = &rec.machine;
    type Stored = (i64, Option<String>, String);
    let stored: Option<Stored> = tx
        .prepare_cached(
            "SELECT rbac_group_id, rbac_group_name, machine_tags FROM machines WHERE tenant_id = ?1 AND id = ?2",
        )
        .map_err(be)?
        .query_row(params![tenant, m.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(be)?;
    let tags = to_json(&m.machine_tags)?;
    tx.prepare_cached(
        "INSERT INTO machines (tenant_id, id, computer_dns_name, first_seen_ms, last_seen_ms, os_platform, version,
             last_ip_address, health_status, device_value, rbac_group_id, rbac_group_name, risk_score, exposure_level,
             aad_device_id, machine_tags, onboarding_status, doc, state)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT (tenant_id, id) DO UPDATE SET id = excluded.id, computer_dns_name = excluded.computer_dns_name,
             first_seen_ms = excluded.first_seen_ms, last_seen_ms = excluded.last_seen_ms, os_platform = excluded.os_platform,
             version = excluded.version, last_ip_address = excluded.last_ip_address, health_status = excluded.health_status,
             device_value = excluded.device_value, rbac_group_id = excluded.rbac_group_id,
             rbac_group_name = excluded.rbac_group_name, risk_score = excluded.risk_score,
             exposure_level = excluded.exposure_level, aad_device_id = excluded.aad_device_id,
             machine_tags = excluded.machine_tags, onboarding_status = excluded.onboarding_status, doc = excluded.doc,
             state = excluded.state",
    )
    .map_err(be)?
    .execute(params![
        tenant,
        m.id,
        m.computer_dns_name,
        ms(m.first_seen),
        ms(m.last_seen),
        m.os_platform,
        m.version,
        m.last_ip_address,
        m.health_status,
        m.device_value,
        m.rbac_group_id,
        m.rbac_group_name,
        m.risk_score,
        m.exposure_level,
        m.aad_device_id,
        tags,
        m.onboarding_status,
        to_json(m)?,
        to_json(&rec.state)?,
    ])
    .map_err(be)?;

    // Tags: rewrite the index rows only when the tags changed.
    let old_tags = stored.as_ref().map(|s| s.2.as_str());
    if old_tags != Some(tags.as_str()) {
        if let Some(old) = old_tags {
            let old: Vec<String> = from_json(old)?;
            let mut del = tx
                .prepare_cached("DELETE FROM machine_tag_index WHERE tenant_id = ?1 AND tag = ?2 AND machine_id = ?3")
                .map_err(be)?;
            for t in old {
                del.execute(params![tenant, t, m.id]).map_err(be)?;
            }
        }
        let mut ins = tx
            .prepare_cached("INSERT OR IGNORE INTO machine_tag_index (tenant_id, tag, machine_id) VALUES (?1, ?2, ?3)")
            .map_err(be)?;
        for t in &m.machine_tags {
            ins.execute(params![tenant, t, m.id]).map_err(be)?;
        }
    }

    // Address history, widened to this report's lastSeen.
    let seen = ms(m.last_seen);
    let mut ip_row = tx
        .prepare_cached(
            "INSERT INTO machine_ips (tenant_id, machine_id, ip, first_ms, last_ms) VALUES (?1, ?2, ?3, ?4, ?4)
             ON CONFLICT (tenant_id, ip, machine_id) DO UPDATE SET first_ms = min(first_ms, excluded.first_ms),
                 last_ms = max(last_ms, excluded.last_ms)",
        )
        .map_err(be)?;
    let ips = m.ip_addresses.iter().filter(|a| !is_loopback(&a.kind, &a.ip_address)).map(|a| a.ip_address.as_str());
    for ip in ips.chain(m.last_ip_address.as_deref()) {
        if !ip.is_empty() && !is_loopback("", ip) {
            ip_row.execute(params![tenant, m.id, entity_value(ip), seen]).map_err(be)?;
        }
    }

    // A new device may already have alerts (ingested first); a moved one takes them along.
    let group_changed = stored.is_none_or(|(id, name, _)| id != m.rbac_group_id || name != m.rbac_group_name);
    if group_changed {
        propagate_group(tx, tenant, &m.id, m.rbac_group_id, m.rbac_group_name.as_deref())?;
    }
    Ok(())
}

#[async_trait]
impl MachineStore for SqliteStore {
    async fn upsert_machines(&self, tenant: Uuid, machines: &[MachineRecord]) -> SecResult<()> {
        let machines = machines.to_vec();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            for rec in &machines {
                write_machine(&tx, &t, rec)?;
            }
            tx.commit().map_err(be)
        })
        .await
    }

    async fn machine(&self, tenant: Uuid, id_or_name: &str) -> SecResult<Option<MachineRecord>> {
        let key = id_or_name.trim().to_string();
        self.run_point(move |c| {
            let t = tenant.to_string();
            if let Some(r) = load_machine(c, &t, &key)? {
                return Ok(Some(r));
            }
            // DNS names are not unique on the wire (re-imaged devices); the latest seen wins.
            let by_dns = one_record(
                c,
                "SELECT doc, state FROM machines WHERE tenant_id = ?1 AND computer_dns_name = ?2
                 ORDER BY last_seen_ms DESC, id LIMIT 1",
                &[&t, &key],
            )?;
            if by_dns.is_some() || key.is_empty() || key.contains('.') {
                return Ok(by_dns);
            }
            // The bare computer name, when exactly one device has it.
            let mut stmt = c
                .prepare_cached(
                    "SELECT doc, state FROM machines WHERE tenant_id = ?1 AND computer_dns_name LIKE ?2 ESCAPE '\\' LIMIT 2",
                )
                .map_err(be)?;
            let rows: Vec<(String, String)> = stmt
                .query_map(params![t, like_prefix(&format!("{key}."))], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(be)?
                .collect::<Result<_, _>>()
                .map_err(be)?;
            match rows.as_slice() {
                [(d, s)] => Ok(Some(record(d, s)?)),
                _ => Ok(None),
            }
        })
        .await
    }

    async fn machines_by_ids(&self, tenant: Uuid, ids: &[String]) -> SecResult<Vec<MachineRecord>> {
        let ids = ids.to_vec();
        self.run_with(move |c| {
            let t = tenant.to_string();
            let mut found: HashMap<String, MachineRecord> = HashMap::new();
            for chunk in ids.chunks(500) {
                let sql =
                    format!("SELECT doc, state FROM machines WHERE tenant_id = ? AND id IN ({})", marks(chunk.len()));
                let mut args: Vec<Value> = vec![t.clone().into()];
                args.extend(chunk.iter().map(|i| Value::Text(i.clone())));
                let mut stmt = c.prepare_cached(&sql).map_err(be)?;
                let rows = stmt
                    .query_map(params_from_iter(args), |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                    .map_err(be)?;
                for row in rows {
                    let (d, s) = row.map_err(be)?;
                    let rec = record(&d, &s)?;
                    found.insert(rec.machine.id.to_ascii_lowercase(), rec);
                }
            }
            // In the order asked, each once.
            Ok(ids.iter().filter_map(|i| found.remove(&i.to_ascii_lowercase())).collect())
        })
        .await
    }

    async fn machines(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<Vec<Machine>> {
        let mut sql = Sql::new("SELECT doc FROM machines WHERE tenant_id = ?", vec![tenant.to_string().into()]);
        sql.scope(scope, "rbac_group_id").filter(q, &MACHINES)?.page(q, &MACHINES, None, "id")?;
        self.run_with(move |c| sql.docs(c)).await
    }

    async fn count_machines(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<u64> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM machines WHERE tenant_id = ?", vec![tenant.to_string().into()]);
        sql.scope(scope, "rbac_group_id").filter(q, &MACHINES)?;
        self.run_with(move |c| sql.count(c)).await
    }

    async fn find_machines_by_ip(
        &self,
        tenant: Uuid,
        ip: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
        scope: &DeviceScope,
    ) -> SecResult<Vec<Machine>> {
        let mut sql = Sql::new(
            "SELECT m.doc FROM machine_ips i JOIN machines m ON m.tenant_id = i.tenant_id AND m.id = i.machine_id
             WHERE i.tenant_id = ? AND i.ip = ? AND i.first_ms <= ? AND i.last_ms >= ?",
            vec![tenant.to_string().into(), entity_value(ip).into(), ms(to).into(), ms(from).into()],
        );
        sql.scope(scope, "m.rbac_group_id").push(" ORDER BY i.last_ms DESC, m.id");
        self.run_with(move |c| sql.docs(c)).await
    }

    async fn find_machines_by_tag(
        &self,
        tenant: Uuid,
        tag: &str,
        prefix: bool,
        scope: &DeviceScope,
    ) -> SecResult<Vec<Machine>> {
        let (cond, value) =
            if prefix { ("tag LIKE ? ESCAPE '\\'", like_prefix(tag)) } else { ("tag = ?", tag.to_string()) };
        let t = tenant.to_string();
        let mut sql = Sql::new(
            &format!(
                "SELECT doc FROM machines WHERE tenant_id = ?
                   AND id IN (SELECT machine_id FROM machine_tag_index WHERE tenant_id = ? AND {cond})"
            ),
            vec![t.clone().into(), t.into(), value.into()],
        );
        sql.scope(scope, "rbac_group_id").push(" ORDER BY id");
        self.run_with(move |c| sql.docs(c)).await
    }

    async fn machines_by_entity(
        &self,
        tenant: Uuid,
        key: &EntityKey,
        scope: &DeviceScope,
        limit: u32,
    ) -> SecResult<Vec<Machine>> {
        let t = tenant.to_string();
        let value = entity_value(key.value());
        // Most recent sighting (or logon) first.
        let (source, args): (&str, Vec<Value>) = match key {
            EntityKey::User(_) => (
                "SELECT machine_id, MAX(time_ms) AS t FROM logons WHERE tenant_id = ? AND account_name = ? GROUP BY machine_id",
                vec![t.clone().into(), value.into()],
            ),
            _ => (
                "SELECT machine_id, MAX(time_ms) AS t FROM observations WHERE tenant_id = ? AND kind = ? AND value = ?
                 GROUP BY machine_id",
                vec![t.clone().into(), key.kind().to_string().into(), value.into()],
            ),
        };
        let mut sql = Sql::new(
            &format!(
                "SELECT m.doc FROM ({source}) o JOIN machines m ON m.tenant_id = ? AND m.id = o.machine_id WHERE 1"
            ),
            args,
        );
        sql.arg(t).scope(scope, "m.rbac_group_id").push(" ORDER BY o.t DESC, m.id LIMIT ?").arg(limit as i64);
        self.run_with(move |c| sql.docs(c)).await
    }

    async fn regroup_machines(&self, tenant: Uuid, config: &RbacConfig) -> SecResult<u64> {
        let config = config.clone();
        self.run_with(move |c| {
            let t = tenant.to_string();
            let mut moved = 0u64;
            let mut after = String::new();
            // One transaction per batch: a device moves with its alerts and actions atomically,
            // without holding the single writer lock for the whole fleet.
            loop {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
                type Row = (String, String, i64, Option<String>);
                let batch: Vec<Row> = tx
                    .prepare_cached(
                        "SELECT id, doc, rbac_group_id, rbac_group_name FROM machines
                         WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT 1000",
                    )
                    .map_err(be)?
                    .query_map(params![t, after], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .map_err(be)?
                    .collect::<Result<_, _>>()
                    .map_err(be)?;
                let Some(last) = batch.last() else { break };
                after = last.0.clone();
                for (id, doc, old_id, old_name) in batch {
                    let mut m: Machine = from_json(&doc)?;
                    let (gid, gname) = config.assign(&m);
                    if gid == old_id && gname == old_name {
                        continue;
                    }
                    // A renamed group rewrites names but moves nobody.
                    if gid != old_id {
                        moved += 1;
                    }
                    m.rbac_group_id = gid;
                    m.rbac_group_name = gname.clone();
                    tx.prepare_cached(
                        "UPDATE machines SET rbac_group_id = ?1, rbac_group_name = ?2, doc = ?3 WHERE tenant_id = ?4 AND id = ?5",
                    )
                    .map_err(be)?
                    .execute(params![gid, gname, to_json(&m)?, t, id])
                    .map_err(be)?;
                    propagate_group(&tx, &t, &id, gid, gname.as_deref())?;
                }
                tx.commit().map_err(be)?;
            }
            Ok(moved)
        })
        .await
    }
}

/// Writes a device's state (the agent's side of an action), keeping the document as is.
pub(super) fn write_state(tx: &Transaction, tenant: &str, machine_id: &str, state: &DeviceState) -> SecResult<()> {
    tx.prepare_cached("UPDATE machines SET state = ?1 WHERE tenant_id = ?2 AND id = ?3")
        .map_err(be)?
        .execute(params![to_json(state)?, tenant, machine_id])
        .map_err(be)?;
    Ok(())
}
