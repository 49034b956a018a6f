//! The node's writer of the Defender API audit trail. A synchronous store write on every call
//! would put the store's single writer lock on every request's path (SQLite serialises writers,
//! and 32 concurrent readers then queue behind it), so calls hand their record to a bounded queue
//! and one task writes whatever has queued up in a single transaction. Under load batches grow by
//! themselves; idle, a record is written as soon as it arrives. A full queue makes callers wait
//! (back-pressure) instead of dropping records, and readers flush first, so a call whose response
//! has been received is in the trail the moment anyone looks.

use std::sync::Arc;

use palisade_defender::audit::{AuditRecord, AuditStore};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// Records queued beyond this make callers wait for the writer.
const QUEUE: usize = 8192;
/// Records written per transaction at most.
const BATCH: usize = 1024;

enum Msg {
    Record(AuditRecord),
    Flush(oneshot::Sender<()>),
}

/// Cheap to clone; every clone feeds the same writer task.
#[derive(Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<Msg>,
    store: Arc<dyn AuditStore>,
}

impl AuditLog {
    /// Starts the writer task on the current runtime.
    pub fn spawn(store: Arc<dyn AuditStore>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(store.clone(), rx));
        Self { tx, store }
    }

    /// Queues one record; waits only when the queue is full.
    pub async fn record(&self, rec: AuditRecord) {
        if let Err(mpsc::error::SendError(Msg::Record(rec))) = self.tx.send(Msg::Record(rec)).await {
            // The writer is gone (runtime shutting down): write directly rather than lose it.
            if let Err(e) = self.store.record_batch(std::slice::from_ref(&rec)).await {
                tracing::warn!(error = %e, "audit record failed");
            }
        }
    }

    /// Returns once every record queued before the call is stored (or its write has failed and
    /// been logged).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// The trail, newest first, after a flush.
    pub async fn audit(
        &self,
        tenant: Option<Uuid>,
        since: Option<OffsetDateTime>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, String> {
        self.flush().await;
        self.store.audit(tenant, since, limit).await
    }
}

async fn write_loop(store: Arc<dyn AuditStore>, mut rx: mpsc::Receiver<Msg>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut waiters = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Record(r) => batch.push(r),
                Msg::Flush(done) => waiters.push(done),
            }
            if batch.len() < BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            if let Err(e) = store.record_batch(&batch).await {
                tracing::warn!(error = %e, records = batch.len(), "audit batch write failed");
            }
            batch.clear();
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;

    /// Counts batches so the test can see records were grouped, and stores them in memory.
    #[derive(Default)]
    struct Memory {
        rows: Mutex<Vec<AuditRecord>>,
        batches: Mutex<usize>,
    }

    #[async_trait]
    impl AuditStore for Memory {
        async fn record_batch(&self, recs: &[AuditRecord]) -> Result<(), String> {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.rows.lock().unwrap().extend_from_slice(recs);
            *self.batches.lock().unwrap() += 1;
            Ok(())
        }
        async fn audit(&self, _: Option<Uuid>, _: Option<OffsetDateTime>, _: u32) -> Result<Vec<AuditRecord>, String> {
            Ok(self.rows.lock().unwrap().clone())
        }
    }

    fn rec(i: u16) -> AuditRecord {
        AuditRecord {
            time: OffsetDateTime::now_utc(),
            tenant_id: None,
            app_id: None,
            user_id: None,
            method: "GET".into(),
            path: format!("/api/{i}"),
            status: i,
            latency_ms: 0.0,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_record_is_stored_in_order_in_few_batches_and_visible_after_flush() {
        let mem = Arc::new(Memory::default());
        let log = AuditLog::spawn(mem.clone());
        for i in 0..3000 {
            log.record(rec(i)).await;
        }
        let rows = log.audit(None, None, 10_000).await.unwrap();
        assert_eq!(rows.len(), 3000, "a flush makes every queued record visible");
        assert!(rows.iter().enumerate().all(|(i, r)| r.status as usize == i), "order kept");
        let batches = *mem.batches.lock().unwrap();
        assert!((3..3000).contains(&batches), "records are grouped into batches of at most {BATCH}: {batches}");
    }
}
