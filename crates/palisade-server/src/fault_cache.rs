//! Fault plans read through a short-lived cache. Every API call asks whether a fault plan applies;
//! almost always none does, and a store read per call (a pooled connection and a blocking-thread
//! hop) costs more than the rest of admission. Plans set through this node take effect at once;
//! plans set on another node within [`TTL`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use palisade_defender::faults::{FaultPlan, FaultStore};
use uuid::Uuid;

/// How stale a plan set on another node may be here.
pub const TTL: Duration = Duration::from_secs(1);
/// Entries kept at most; the map is cleared when it grows past this (one entry per calling app).
const MAX_ENTRIES: usize = 10_000;

type Entries = HashMap<(Uuid, String), (Instant, Option<FaultPlan>)>;

pub struct CachedFaults {
    inner: Arc<dyn FaultStore>,
    entries: Mutex<Entries>,
}

impl CachedFaults {
    pub fn new(inner: Arc<dyn FaultStore>) -> Self {
        Self { inner, entries: Mutex::new(HashMap::new()) }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl FaultStore for CachedFaults {
    async fn set_faults(&self, tenant: Uuid, app_id: Option<&str>, plan: Option<&FaultPlan>) -> Result<(), String> {
        let result = self.inner.set_faults(tenant, app_id, plan).await;
        // A tenant-wide plan changes what every app of the tenant gets.
        self.entries().retain(|(t, _), _| *t != tenant);
        result
    }

    async fn faults(&self, tenant: Uuid, app_id: &str) -> Result<Option<FaultPlan>, String> {
        let key = (tenant, app_id.to_ascii_lowercase());
        if let Some((at, plan)) = self.entries().get(&key)
            && at.elapsed() < TTL
        {
            return Ok(plan.clone());
        }
        let plan = self.inner.faults(tenant, app_id).await?;
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), plan.clone()));
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// A store shared by two "nodes", counting reads.
    #[derive(Default)]
    struct Shared {
        plans: Mutex<HashMap<(Uuid, String), FaultPlan>>,
        reads: AtomicUsize,
    }

    #[async_trait]
    impl FaultStore for Shared {
        async fn set_faults(&self, t: Uuid, app: Option<&str>, plan: Option<&FaultPlan>) -> Result<(), String> {
            let key = (t, app.unwrap_or("").to_ascii_lowercase());
            let mut m = self.plans.lock().unwrap();
            match plan {
                Some(p) => m.insert(key, p.clone()),
                None => m.remove(&key),
            };
            Ok(())
        }
        async fn faults(&self, t: Uuid, app: &str) -> Result<Option<FaultPlan>, String> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            let m = self.plans.lock().unwrap();
            Ok(m.get(&(t, app.to_ascii_lowercase())).or_else(|| m.get(&(t, String::new()))).cloned())
        }
    }

    #[tokio::test]
    async fn cached_reads_local_writes_at_once_remote_writes_within_ttl() {
        let shared = Arc::new(Shared::default());
        let (a, b) = (CachedFaults::new(shared.clone()), CachedFaults::new(shared.clone()));
        let t = Uuid::new_v4();
        for _ in 0..100 {
            assert_eq!(a.faults(t, "App").await.unwrap(), None);
        }
        assert_eq!(shared.reads.load(Ordering::SeqCst), 1, "one store read for 100 calls");
        assert_eq!(b.faults(t, "app").await.unwrap(), None);

        let plan = FaultPlan { throttle: true, ..Default::default() };
        a.set_faults(t, None, Some(&plan)).await.unwrap();
        assert_eq!(a.faults(t, "app").await.unwrap(), Some(plan.clone()), "the node that set it sees it at once");
        assert_eq!(b.faults(t, "app").await.unwrap(), None, "another node may serve its cached answer");
        tokio::time::sleep(TTL + Duration::from_millis(50)).await;
        assert_eq!(b.faults(t, "app").await.unwrap(), Some(plan), "and sees the plan after the TTL");
    }
}
