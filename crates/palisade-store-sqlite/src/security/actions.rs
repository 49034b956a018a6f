//! [`ActionStore`]: response actions. Admission, cancellation and agent transitions each run in one
//! immediate transaction, so SQLite's single writer makes the check-then-write atomic across API
//! nodes sharing the database.

use async_trait::async_trait;
use palisade_defender::actions::admit;
use palisade_defender::errors::DefenderError;
use palisade_defender::model::{DeviceState, MachineAction};
use palisade_defender::rbac::DeviceScope;
use palisade_defender::schemas::MACHINE_ACTIONS;
use palisade_defender::store::{ActionStore, SecResult, SecurityStoreError};
use palisade_odata::QueryOptions;
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};
use time::OffsetDateTime;
use uuid::Uuid;

use super::machines::{load_machine, write_state};
use super::{Sql, be, docs, from_json, ms, to_json};
use crate::SqliteStore;

fn insert_action(tx: &Transaction, tenant: &str, a: &MachineAction, group: i64) -> SecResult<()> {
    tx.prepare_cached(
        "INSERT INTO machine_actions (tenant_id, id, type, requestor, status, machine_id, computer_dns_name, creation_ms,
             last_update_ms, rbac_group_id, doc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .map_err(be)?
    .execute(params![
        tenant,
        a.id,
        a.kind,
        a.requestor,
        a.status,
        a.machine_id,
        a.computer_dns_name,
        ms(a.creation_date_time_utc),
        ms(a.last_update_date_time_utc),
        group,
        to_json(a)?,
    ])
    .map_err(be)?;
    Ok(())
}

/// Rewrites the mutable part of a stored action; `from` (when given) is the status it must still
/// have. Returns whether a row changed.
fn update_action(tx: &Transaction, tenant: &str, a: &MachineAction, from: Option<&str>) -> SecResult<bool> {
    let n = tx
        .prepare_cached(
            "UPDATE machine_actions SET status = ?1, last_update_ms = ?2, doc = ?3
             WHERE tenant_id = ?4 AND id = ?5 AND (?6 IS NULL OR status = ?6)",
        )
        .map_err(be)?
        .execute(params![a.status, ms(a.last_update_date_time_utc), to_json(a)?, tenant, a.id, from])
        .map_err(be)?;
    Ok(n > 0)
}

fn stored_action(tx: &Transaction, tenant: &str, id: &str) -> SecResult<MachineAction> {
    let doc: Option<String> = tx
        .prepare_cached("SELECT doc FROM machine_actions WHERE tenant_id = ?1 AND id = ?2")
        .map_err(be)?
        .query_row(params![tenant, id], |r| r.get(0))
        .optional()
        .map_err(be)?;
    match doc {
        Some(d) => from_json(&d),
        None => Err(SecurityStoreError::NotFound(format!("Action {id}"))),
    }
}

#[async_trait]
impl ActionStore for SqliteStore {
    async fn create_action(&self, tenant: Uuid, action: &MachineAction) -> SecResult<MachineAction> {
        let action = action.clone();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            let Some(rec) = load_machine(&tx, &t, &action.machine_id)? else {
                return Err(SecurityStoreError::NotFound(format!("Machine {}", action.machine_id)));
            };
            let open: Vec<MachineAction> = docs(
                &tx,
                "SELECT doc FROM machine_actions WHERE tenant_id = ? AND machine_id = ? AND status IN ('Pending', 'InProgress')
                 ORDER BY creation_ms, id",
                vec![t.clone().into(), rec.machine.id.clone().into()],
            )?;
            admit(&action, &rec.machine, &rec.state, &open)?;
            let mut a = action;
            a.status = "Pending".into();
            a.machine_id = rec.machine.id.clone();
            if a.computer_dns_name.is_none() {
                a.computer_dns_name = Some(rec.machine.computer_dns_name.clone());
            }
            insert_action(&tx, &t, &a, rec.machine.rbac_group_id)?;
            tx.commit().map_err(be)?;
            Ok(a)
        })
        .await
    }

    async fn action(&self, tenant: Uuid, id: &str) -> SecResult<Option<MachineAction>> {
        let sql = Sql::new(
            "SELECT doc FROM machine_actions WHERE tenant_id = ? AND id = ?",
            vec![tenant.to_string().into(), id.to_string().into()],
        );
        self.run_point(move |c| Ok(sql.docs(c)?.pop())).await
    }

    async fn actions(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<Vec<MachineAction>> {
        let mut sql = Sql::new("SELECT doc FROM machine_actions WHERE tenant_id = ?", vec![tenant.to_string().into()]);
        sql.scope(scope, "rbac_group_id").filter(q, &MACHINE_ACTIONS)?.page(q, &MACHINE_ACTIONS, None, "id")?;
        self.run_with(move |c| sql.docs(c)).await
    }

    async fn count_actions(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<u64> {
        let mut sql =
            Sql::new("SELECT COUNT(*) FROM machine_actions WHERE tenant_id = ?", vec![tenant.to_string().into()]);
        sql.scope(scope, "rbac_group_id").filter(q, &MACHINE_ACTIONS)?;
        self.run_with(move |c| sql.count(c)).await
    }

    async fn cancel_action(
        &self,
        tenant: Uuid,
        id: &str,
        requestor: &str,
        comment: &str,
        now: OffsetDateTime,
    ) -> SecResult<MachineAction> {
        let (id, requestor, comment) = (id.to_string(), requestor.to_string(), comment.to_string());
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            let mut a = stored_action(&tx, &t, &id)?;
            if a.is_final() {
                return Err(DefenderError::bad_request(format!(
                    "Action {} is already {} and cannot be cancelled.",
                    a.id, a.status
                ))
                .into());
            }
            a.status = "Cancelled".into();
            a.cancellation_requestor = Some(requestor);
            a.cancellation_comment = Some(comment);
            a.cancellation_date_time_utc = Some(now);
            a.last_update_date_time_utc = now;
            update_action(&tx, &t, &a, None)?;
            tx.commit().map_err(be)?;
            Ok(a)
        })
        .await
    }

    async fn open_actions(&self, limit: u32) -> SecResult<Vec<(Uuid, MachineAction)>> {
        self.run_with(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT tenant_id, doc FROM machine_actions WHERE status IN ('Pending', 'InProgress')
                     ORDER BY creation_ms, tenant_id, id LIMIT ?1",
                )
                .map_err(be)?;
            let rows = stmt
                .query_map(params![limit as i64], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(be)?;
            let mut out = Vec::new();
            for row in rows {
                let (t, doc) = row.map_err(be)?;
                out.push((Uuid::parse_str(&t).map_err(be)?, from_json(&doc)?));
            }
            Ok(out)
        })
        .await
    }

    async fn transition_action(
        &self,
        tenant: Uuid,
        action: &MachineAction,
        from: &str,
        device: Option<&DeviceState>,
    ) -> SecResult<bool> {
        let (action, from, device) = (action.clone(), from.to_string(), device.cloned());
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(be)?;
            let t = tenant.to_string();
            // The device is the stored action's, whatever the caller's copy says.
            let machine_id = stored_action(&tx, &t, &action.id)?.machine_id;
            if !update_action(&tx, &t, &action, Some(&from))? {
                return Ok(false);
            }
            if let Some(state) = &device {
                write_state(&tx, &t, &machine_id, state)?;
            }
            tx.commit().map_err(be)?;
            Ok(true)
        })
        .await
    }
}
