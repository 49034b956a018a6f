//! Fault injection, so integrators can test their retry and re-authentication logic against the
//! failures the real service produces: added latency, a rate of 500s, forced 429s, and valid tokens
//! refused as expired. Plans are per tenant, optionally narrowed to one application, and live
//! behind [`FaultStore`] so every API node applies the same ones.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::errors::DefenderError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultPlan {
    /// Added before the call is handled.
    pub latency_ms: u32,
    /// Share of calls answered 500 (0.0–1.0).
    pub error_rate: f64,
    /// Every call answered 429 with `Retry-After`.
    pub throttle: bool,
    /// Every token refused with 401 as if expired.
    pub expire_tokens: bool,
}

impl FaultPlan {
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(format!("errorRate must be between 0 and 1, not {}", self.error_rate));
        }
        if self.latency_ms > 120_000 {
            return Err("latencyMs must be at most 120000".into());
        }
        Ok(())
    }

    /// What to do with one call, given a uniform random number in [0, 1).
    pub fn decide(&self, roll: f64) -> Option<(DefenderError, Option<u32>)> {
        if self.expire_tokens {
            return Some((DefenderError::unauthorized("The token has expired (Palisade fault injection)."), None));
        }
        if self.throttle {
            return Some((
                DefenderError::new(429, "429", "API calls quota exceeded! (Palisade fault injection)"),
                Some(10),
            ));
        }
        if roll < self.error_rate {
            return Some((
                DefenderError::new(
                    500,
                    "InternalServerError",
                    "An internal error occurred (Palisade fault injection).",
                ),
                None,
            ));
        }
        None
    }
}

/// Shared fault plans.
#[async_trait]
pub trait FaultStore: Send + Sync {
    /// Sets (or with `None` clears) the plan for a tenant, or for one application in it.
    async fn set_faults(&self, tenant: Uuid, app_id: Option<&str>, plan: Option<&FaultPlan>) -> Result<(), String>;
    /// The plan that applies: the application's if set, else the tenant's.
    async fn faults(&self, tenant: Uuid, app_id: &str) -> Result<Option<FaultPlan>, String>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        assert!(FaultPlan::default().decide(0.0).is_none());
        let p = FaultPlan { error_rate: 0.25, ..Default::default() };
        assert_eq!(p.decide(0.1).unwrap().0.status, 500);
        assert!(p.decide(0.3).is_none());
        let t = FaultPlan { throttle: true, ..Default::default() };
        assert_eq!(t.decide(0.9).unwrap().1, Some(10));
        assert_eq!(
            FaultPlan { expire_tokens: true, throttle: true, ..Default::default() }.decide(0.9).unwrap().0.status,
            401
        );
        assert!(FaultPlan { error_rate: 1.5, ..Default::default() }.validate().is_err());
    }
}
