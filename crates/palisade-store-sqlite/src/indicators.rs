//! [`IndicatorStore`] on SQLite: OData filters become parameterised SQL over indexed columns.

use async_trait::async_trait;
use palisade_defender::indicators::{Indicator, IndicatorStore, IndicatorStoreError, MAX_ACTIVE_PER_TENANT, SCHEMA};
use palisade_odata::{QueryOptions, SqlValue, order_by_sql};
use rusqlite::{OptionalExtension, params, params_from_iter};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::SqliteStore;

fn be(e: impl std::fmt::Display) -> IndicatorStoreError {
    IndicatorStoreError::Backend(e.to_string())
}

fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn to_sql_value(v: SqlValue) -> rusqlite::types::Value {
    match v {
        SqlValue::Integer(i) => rusqlite::types::Value::Integer(i),
        SqlValue::Real(f) => rusqlite::types::Value::Real(f),
        SqlValue::Text(s) => rusqlite::types::Value::Text(s),
    }
}

#[async_trait]
impl IndicatorStore for SqliteStore {
    async fn upsert_indicator(
        &self,
        tenant: Uuid,
        ind: &Indicator,
        now: OffsetDateTime,
    ) -> Result<(Indicator, bool), IndicatorStoreError> {
        let ind = ind.clone();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            let existing: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, doc FROM indicators WHERE tenant_id = ?1 AND indicator_type = ?2 AND indicator_value = ?3",
                    params![t, ind.indicator_type, ind.indicator_value],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(be)?;
            let (stored, created) = match existing {
                Some((id, doc)) => {
                    // The service updates the indicator with the same type and value.
                    let old: Indicator = serde_json::from_str(&doc).map_err(be)?;
                    let mut new = ind.clone();
                    new.id = id.to_string();
                    new.creation_time_date_time_utc = old.creation_time_date_time_utc;
                    new.created_by = old.created_by;
                    new.created_by_display_name = old.created_by_display_name;
                    new.created_by_source = old.created_by_source;
                    new.application = old.application.or(new.application);
                    new.last_update_time = now;
                    (new, false)
                }
                None => {
                    let active: i64 = tx
                        .query_row(
                            "SELECT COUNT(*) FROM indicators WHERE tenant_id = ?1 AND (expiration_ms IS NULL OR expiration_ms > ?2)",
                            params![t, millis(now)],
                            |r| r.get(0),
                        )
                        .map_err(be)?;
                    if active as usize >= MAX_ACTIVE_PER_TENANT {
                        return Err(IndicatorStoreError::LimitReached(MAX_ACTIVE_PER_TENANT));
                    }
                    let next: i64 = tx.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM indicators WHERE tenant_id = ?1", params![t], |r| r.get(0)).map_err(be)?;
                    let mut new = ind.clone();
                    new.id = next.to_string();
                    (new, true)
                }
            };
            let id: i64 = stored.id.parse().map_err(be)?;
            tx.execute(
                "INSERT INTO indicators (tenant_id, id, id_text, indicator_value, indicator_type, action, application, title, severity, generate_alert,
                     created_by, created_by_display_name, creation_ms, expiration_ms, rbac_group_names, rbac_group_ids, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                 ON CONFLICT (tenant_id, id) DO UPDATE SET action = excluded.action, application = excluded.application, title = excluded.title,
                     severity = excluded.severity, generate_alert = excluded.generate_alert, expiration_ms = excluded.expiration_ms,
                     rbac_group_names = excluded.rbac_group_names, rbac_group_ids = excluded.rbac_group_ids, doc = excluded.doc",
                params![
                    t,
                    id,
                    stored.id,
                    stored.indicator_value,
                    stored.indicator_type,
                    stored.action,
                    stored.application,
                    stored.title,
                    stored.severity,
                    stored.generate_alert as i64,
                    stored.created_by,
                    stored.created_by_display_name,
                    millis(stored.creation_time_date_time_utc),
                    stored.expiration_time.map(millis),
                    serde_json::to_string(&stored.rbac_group_names).map_err(be)?,
                    serde_json::to_string(&stored.rbac_group_ids).map_err(be)?,
                    serde_json::to_string(&stored).map_err(be)?,
                ],
            )
            .map_err(be)?;
            tx.commit().map_err(be)?;
            Ok((stored, created))
        })
        .await
    }

    async fn indicators(
        &self,
        tenant: Uuid,
        query: &QueryOptions,
        created_by: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Vec<Indicator>, IndicatorStoreError> {
        let filter = query.compiled_filter(&SCHEMA)?;
        let order = order_by_sql(&query.orderby, &SCHEMA)?;
        let (top, skip) = (query.page_size(&SCHEMA), query.skip.unwrap_or(0));
        let created_by = created_by.map(str::to_string);
        self.run_with(move |c| {
            let mut sql = String::from(
                "SELECT doc FROM indicators WHERE tenant_id = ? AND (expiration_ms IS NULL OR expiration_ms > ?)",
            );
            let mut args: Vec<rusqlite::types::Value> = vec![tenant.to_string().into(), millis(now).into()];
            if let Some(cb) = created_by {
                sql.push_str(" AND created_by = ? COLLATE NOCASE");
                args.push(cb.into());
            }
            if let Some(f) = filter {
                let (where_sql, params) = f.to_sql();
                sql.push_str(" AND ");
                sql.push_str(&where_sql);
                args.extend(params.into_iter().map(to_sql_value));
            }
            // A stable order under paging: the requested one, then id.
            sql.push_str(" ORDER BY ");
            if let Some(o) = order {
                sql.push_str(&o);
                sql.push_str(", ");
            }
            sql.push_str("id LIMIT ? OFFSET ?");
            args.push((top as i64).into());
            args.push((skip as i64).into());
            let mut stmt = c.prepare(&sql).map_err(be)?;
            let rows = stmt.query_map(params_from_iter(args), |r| r.get::<_, String>(0)).map_err(be)?;
            rows.map(|r| serde_json::from_str::<Indicator>(&r.map_err(be)?).map_err(be)).collect()
        })
        .await
    }

    async fn delete_indicators(
        &self,
        tenant: Uuid,
        ids: &[String],
        created_by: Option<&str>,
    ) -> Result<Vec<String>, IndicatorStoreError> {
        let (ids, created_by) = (ids.to_vec(), created_by.map(str::to_string));
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            let mut missing = Vec::new();
            for id in &ids {
                let found: Option<String> = tx
                    .query_row(
                        "SELECT created_by FROM indicators WHERE tenant_id = ?1 AND id_text = ?2",
                        params![t, id],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(be)?;
                let visible =
                    found.is_some_and(|cb| created_by.as_deref().is_none_or(|want| want.eq_ignore_ascii_case(&cb)));
                if !visible {
                    missing.push(id.clone());
                }
            }
            if missing.is_empty() {
                for id in &ids {
                    tx.execute("DELETE FROM indicators WHERE tenant_id = ?1 AND id_text = ?2", params![t, id])
                        .map_err(be)?;
                }
                tx.commit().map_err(be)?;
            }
            Ok(missing)
        })
        .await
    }
}
