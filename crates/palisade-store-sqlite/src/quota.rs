//! [`QuotaStore`] on SQLite: fixed-window counters updated in one immediate transaction.

use async_trait::async_trait;
use palisade_defender::quota::{QuotaDecision, QuotaStore};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::SqliteStore;

#[async_trait]
impl QuotaStore for SqliteStore {
    async fn charge(&self, key: &str, budgets: &[(u32, u32)], now: OffsetDateTime) -> Result<QuotaDecision, String> {
        let (key, budgets) = (key.to_string(), budgets.to_vec());
        let now = now.unix_timestamp();
        self.run_with(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(|e| e.to_string())?;
            let mut counts = Vec::new();
            for (window, limit) in &budgets {
                let start = now - now.rem_euclid(*window as i64);
                let row: Option<(i64, i64)> = tx
                    .query_row("SELECT window_start, count FROM quota_counters WHERE key = ?1 AND window_secs = ?2", params![key, window], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(|e| e.to_string())?;
                let count = match row {
                    Some((s, n)) if s == start => n,
                    _ => 0,
                };
                if count >= *limit as i64 {
                    return Ok(QuotaDecision::Exceeded { limit: *limit, window_secs: *window, retry_after_secs: (start + *window as i64 - now) as u32 });
                }
                counts.push((*window, start, count + 1));
            }
            for (window, start, count) in counts {
                tx.execute(
                    "INSERT INTO quota_counters (key, window_secs, window_start, count) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (key, window_secs) DO UPDATE SET window_start = excluded.window_start, count = excluded.count",
                    params![key, window, start, count],
                )
                .map_err(|e| e.to_string())?;
            }
            tx.commit().map_err(|e| e.to_string())?;
            Ok(QuotaDecision::Allowed)
        })
        .await
    }
}
