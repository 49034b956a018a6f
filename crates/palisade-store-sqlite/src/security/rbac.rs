//! [`RbacStore`]: one document per tenant, read by every API node.

use async_trait::async_trait;
use palisade_defender::rbac::RbacConfig;
use palisade_defender::store::{RbacStore, SecResult};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

use super::{be, from_json, to_json};
use crate::SqliteStore;

#[async_trait]
impl RbacStore for SqliteStore {
    async fn rbac_config(&self, tenant: Uuid) -> SecResult<RbacConfig> {
        self.run_point(move |c| {
            let doc: Option<String> = c
                .prepare_cached("SELECT doc FROM rbac_configs WHERE tenant_id = ?1")
                .map_err(be)?
                .query_row(params![tenant.to_string()], |r| r.get(0))
                .optional()
                .map_err(be)?;
            doc.map_or_else(|| Ok(RbacConfig::default()), |d| from_json(&d))
        })
        .await
    }

    async fn put_rbac_config(&self, tenant: Uuid, config: &RbacConfig) -> SecResult<()> {
        let doc = to_json(config)?;
        self.run_with(move |c| {
            c.prepare_cached(
                "INSERT INTO rbac_configs (tenant_id, doc) VALUES (?1, ?2)
                 ON CONFLICT (tenant_id) DO UPDATE SET doc = excluded.doc",
            )
            .map_err(be)?
            .execute(params![tenant.to_string(), doc])
            .map_err(be)?;
            Ok(())
        })
        .await
    }
}
