//! API quotas (`defender-api.md` §7): per tenant and per API, a per-minute and a per-hour budget
//! in fixed windows. Counters live behind [`QuotaStore`] so every API node charges the same ones.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::errors::DefenderError;
use crate::operations::Operation;

/// The outcome of charging one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaDecision {
    Allowed,
    /// Over budget: retry after this many seconds (the end of the exhausted window).
    Exceeded {
        limit: u32,
        window_secs: u32,
        retry_after_secs: u32,
    },
}

/// Shared call counters.
#[async_trait]
pub trait QuotaStore: Send + Sync {
    /// Counts one call against every `(window_secs, limit)` budget of `key`, atomically, and says
    /// whether it fits. A refused call is not counted.
    async fn charge(&self, key: &str, budgets: &[(u32, u32)], now: OffsetDateTime) -> Result<QuotaDecision, String>;
}

/// Throttling mode, from configuration: `throttling = "real"`, `"off"`, or
/// `throttling = { custom = { per_minute = 10, per_hour = 200 } }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Throttling {
    /// The documented quotas.
    #[default]
    Real,
    /// The same budget for every API (to exercise a client's back-off quickly, or to give a
    /// load test room without turning limits off).
    Custom { per_minute: u32, per_hour: u32 },
    /// No limits (load tests, CI).
    Off,
}

/// The key and budgets of one call under the documented quotas.
pub fn budgets(tenant: Uuid, op: Operation) -> (String, [(u32, u32); 2]) {
    let r = op.requirement();
    (format!("{tenant}:{}", op.name()), [(60, r.per_minute), (3600, r.per_hour)])
}

/// Why a call was not admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeError {
    /// The 429 the service answers, and the `Retry-After` seconds.
    Throttled(DefenderError, u32),
    /// The counter store failed; callers log it and let the call through (a broken counter must
    /// not take the API down).
    Store(String),
}

/// Charges one call of `op` for `tenant`.
pub async fn charge(
    store: &dyn QuotaStore,
    mode: Throttling,
    tenant: Uuid,
    op: Operation,
    now: OffsetDateTime,
) -> Result<(), ChargeError> {
    let (key, b) = match mode {
        Throttling::Off => return Ok(()),
        Throttling::Real => budgets(tenant, op),
        Throttling::Custom { per_minute, per_hour } => {
            (budgets(tenant, op).0, [(60, per_minute.max(1)), (3600, per_hour.max(1))])
        }
    };
    match store.charge(&key, &b, now).await.map_err(ChargeError::Store)? {
        QuotaDecision::Allowed => Ok(()),
        QuotaDecision::Exceeded { limit, window_secs, retry_after_secs } => {
            let period = format!("{:02}:{:02}:{:02}", window_secs / 3600, (window_secs % 3600) / 60, window_secs % 60);
            // The body the service sends (its code is the status number).
            Err(ChargeError::Throttled(
                DefenderError::new(
                    429,
                    "429",
                    format!("API calls quota exceeded! maximum allowed {limit} per {period}"),
                ),
                retry_after_secs.max(1),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_budgets() {
        let (key, b) = budgets(Uuid::nil(), Operation::ListIndicators);
        assert!(key.ends_with(":ListIndicators"));
        assert_eq!(b, [(60, 100), (3600, 1500)]);
        assert_eq!(budgets(Uuid::nil(), Operation::BatchUpdateAlerts).1, [(60, 10), (3600, 500)]);
        assert_eq!(budgets(Uuid::nil(), Operation::GetPackageUri).1, [(60, 2), (3600, 120)]);
    }
}
