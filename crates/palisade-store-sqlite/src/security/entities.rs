//! [`EntityStore`]: file profiles, sightings (what prevalence counts) and logons.

use async_trait::async_trait;
use palisade_defender::model::{EntityKey, FileInfo, Logon, Observation, Prevalence};
use palisade_defender::store::{EntityStore, SecResult};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{be, entity_value, from_json, from_ms, ms, to_json};
use crate::SqliteStore;

/// Records one sighting; `value` is already in its lookup spelling.
pub(super) fn write_observation(
    tx: &Transaction,
    tenant: &str,
    kind: &str,
    value: &str,
    machine_id: &str,
    time: OffsetDateTime,
    file_name: Option<&str>,
) -> SecResult<()> {
    tx.prepare_cached(
        "INSERT INTO observations (tenant_id, kind, value, machine_id, time_ms, file_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .map_err(be)?
    .execute(params![tenant, kind, value, machine_id, ms(time), file_name])
    .map_err(be)?;
    Ok(())
}

/// Logon times come back at millisecond precision, like every stored time.
fn read_logons(c: &Connection, sql: &str, tenant: &str, key: &str) -> SecResult<Vec<Logon>> {
    let mut stmt = c.prepare_cached(sql).map_err(be)?;
    let rows = stmt
        .query_map(params![tenant, key], |r| {
            Ok(Logon {
                machine_id: r.get(0)?,
                account_domain: r.get(1)?,
                account_name: r.get(2)?,
                account_sid: r.get(3)?,
                logon_type: r.get(4)?,
                is_domain_admin: r.get::<_, i64>(5)? != 0,
                time: from_ms(r.get(6)?),
            })
        })
        .map_err(be)?;
    rows.collect::<Result<_, _>>().map_err(be)
}

const LOGON_COLS: &str = "machine_id, account_domain, account_name, account_sid, logon_type, is_domain_admin, time_ms";

#[async_trait]
impl EntityStore for SqliteStore {
    async fn upsert_files(&self, tenant: Uuid, files: &[FileInfo]) -> SecResult<()> {
        let files = files.to_vec();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            {
                let mut stmt = tx
                    .prepare_cached(
                        "INSERT INTO files (tenant_id, sha1, sha256, doc) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (tenant_id, sha1) DO UPDATE SET sha256 = excluded.sha256, doc = excluded.doc",
                    )
                    .map_err(be)?;
                for f in &files {
                    let sha256 = f.sha256.as_deref().map(entity_value);
                    stmt.execute(params![t, entity_value(&f.sha1), sha256, to_json(f)?]).map_err(be)?;
                }
            }
            tx.commit().map_err(be)
        })
        .await
    }

    async fn file(&self, tenant: Uuid, hash: &str) -> SecResult<Option<FileInfo>> {
        let hash = entity_value(hash);
        self.run_with(move |c| {
            let doc: Option<String> = c
                .prepare_cached("SELECT doc FROM files WHERE tenant_id = ?1 AND (sha1 = ?2 OR sha256 = ?2) LIMIT 1")
                .map_err(be)?
                .query_row(params![tenant.to_string(), hash], |r| r.get(0))
                .optional()
                .map_err(be)?;
            doc.map(|d| from_json(&d)).transpose()
        })
        .await
    }

    async fn record_observations(&self, tenant: Uuid, observations: &[Observation]) -> SecResult<()> {
        let observations = observations.to_vec();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            for o in &observations {
                let value = entity_value(o.key.value());
                write_observation(&tx, &t, o.key.kind(), &value, &o.machine_id, o.time, o.file_name.as_deref())?;
            }
            tx.commit().map_err(be)
        })
        .await
    }

    async fn prevalence(&self, tenant: Uuid, key: &EntityKey, since: OffsetDateTime) -> SecResult<Prevalence> {
        let (kind, value, is_file) = (key.kind(), entity_value(key.value()), matches!(key, EntityKey::File(_)));
        self.run_with(move |c| {
            let t = tenant.to_string();
            let (devices, first, last): (i64, Option<i64>, Option<i64>) = c
                .prepare_cached(
                    "SELECT COUNT(DISTINCT machine_id), MIN(time_ms), MAX(time_ms) FROM observations
                     WHERE tenant_id = ?1 AND kind = ?2 AND value = ?3 AND time_ms >= ?4",
                )
                .map_err(be)?
                .query_row(params![t, kind, value, ms(since)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(be)?;
            let top_file_names = if is_file {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT file_name FROM observations
                         WHERE tenant_id = ?1 AND kind = ?2 AND value = ?3 AND time_ms >= ?4 AND file_name IS NOT NULL
                         GROUP BY file_name ORDER BY COUNT(*) DESC, file_name LIMIT 5",
                    )
                    .map_err(be)?;
                let rows = stmt.query_map(params![t, kind, value, ms(since)], |r| r.get(0)).map_err(be)?;
                rows.collect::<Result<_, _>>().map_err(be)?
            } else {
                vec![]
            };
            Ok(Prevalence { devices, first_seen: first.map(from_ms), last_seen: last.map(from_ms), top_file_names })
        })
        .await
    }

    async fn record_logons(&self, tenant: Uuid, logons: &[Logon]) -> SecResult<()> {
        let logons = logons.to_vec();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "INSERT INTO logons (tenant_id, {LOGON_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ))
                    .map_err(be)?;
                for l in &logons {
                    stmt.execute(params![
                        t,
                        l.machine_id,
                        l.account_domain,
                        l.account_name,
                        l.account_sid,
                        l.logon_type,
                        l.is_domain_admin as i64,
                        ms(l.time)
                    ])
                    .map_err(be)?;
                }
            }
            tx.commit().map_err(be)
        })
        .await
    }

    async fn logons_on_machine(&self, tenant: Uuid, machine_id: &str) -> SecResult<Vec<Logon>> {
        let id = machine_id.to_string();
        self.run_with(move |c| {
            let sql = format!(
                "SELECT {LOGON_COLS} FROM logons WHERE tenant_id = ?1 AND machine_id = ?2 ORDER BY time_ms, rowid"
            );
            read_logons(c, &sql, &tenant.to_string(), &id)
        })
        .await
    }

    async fn logons_of_user(&self, tenant: Uuid, account_name: &str) -> SecResult<Vec<Logon>> {
        let name = account_name.trim().to_string();
        self.run_with(move |c| {
            let sql = format!(
                "SELECT {LOGON_COLS} FROM logons WHERE tenant_id = ?1 AND account_name = ?2 ORDER BY time_ms, rowid"
            );
            read_logons(c, &sql, &tenant.to_string(), &name)
        })
        .await
    }
}
