//! Storage interfaces of the security entities. Every method is keyed by tenant — isolation lives
//! here, not in handlers — and collection reads take the caller's [`DeviceScope`] so device-group
//! filtering runs in the store's query, with the OData filter, on indexed columns. The SQLite store
//! implements them; a PostgreSQL one will, so API nodes keep no state of their own.

use async_trait::async_trait;
use palisade_odata::{ODataError, QueryOptions};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::errors::DefenderError;
use crate::model::*;
use crate::rbac::{DeviceScope, RbacConfig};

#[derive(Debug, thiserror::Error)]
pub enum SecurityStoreError {
    #[error("storage failure: {0}")]
    Backend(String),
    #[error(transparent)]
    OData(#[from] ODataError),
    /// A domain rule refused the change (e.g. "Action is already in progress").
    #[error(transparent)]
    Rejected(#[from] DefenderError),
    #[error("{0} was not found")]
    NotFound(String),
}

impl From<String> for SecurityStoreError {
    fn from(s: String) -> Self {
        Self::Backend(s)
    }
}

impl From<SecurityStoreError> for DefenderError {
    fn from(e: SecurityStoreError) -> Self {
        match e {
            SecurityStoreError::Backend(m) => DefenderError::new(500, "InternalServerError", m),
            SecurityStoreError::OData(o) => DefenderError::new(400, "ODataError", o.to_string()),
            SecurityStoreError::Rejected(d) => d,
            SecurityStoreError::NotFound(what) => DefenderError::not_found(what),
        }
    }
}

pub type SecResult<T> = Result<T, SecurityStoreError>;

/// Devices.
#[async_trait]
pub trait MachineStore: Send + Sync {
    /// Inserts or replaces devices (fleet generators, ingestion of `DeviceInfo`). Their current
    /// `ipAddresses` are recorded with `lastSeen` so `findbyip` can match them later. Alerts and
    /// actions of a device whose group changed follow it.
    async fn upsert_machines(&self, tenant: Uuid, machines: &[MachineRecord]) -> SecResult<()>;
    /// By machine id, or by computer DNS name (case-insensitive) as the API allows.
    async fn machine(&self, tenant: Uuid, id_or_name: &str) -> SecResult<Option<MachineRecord>>;
    async fn machines_by_ids(&self, tenant: Uuid, ids: &[String]) -> SecResult<Vec<MachineRecord>>;
    /// One page: filter, order (then id), `$skip`, and `page_size + 1` rows at most so the caller
    /// can tell whether a next page exists.
    async fn machines(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<Vec<Machine>>;
    async fn count_machines(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<u64>;
    /// Devices that had `ip` as an internal address at some time in `[from, to]`.
    async fn find_machines_by_ip(
        &self,
        tenant: Uuid,
        ip: &str,
        from: OffsetDateTime,
        to: OffsetDateTime,
        scope: &DeviceScope,
    ) -> SecResult<Vec<Machine>>;
    /// Devices with the tag (exact, case-insensitive) or, with `prefix`, a tag starting with it.
    async fn find_machines_by_tag(
        &self,
        tenant: Uuid,
        tag: &str,
        prefix: bool,
        scope: &DeviceScope,
    ) -> SecResult<Vec<Machine>>;
    /// Devices that observed the entity (files, IPs, domains) or where the user logged on.
    async fn machines_by_entity(
        &self,
        tenant: Uuid,
        key: &EntityKey,
        scope: &DeviceScope,
        limit: u32,
    ) -> SecResult<Vec<Machine>>;
    /// Reassigns every device to its group under `config` (after device groups change); returns
    /// how many moved. Alerts and actions follow their device.
    async fn regroup_machines(&self, tenant: Uuid, config: &RbacConfig) -> SecResult<u64>;
}

/// Alerts with their evidence.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Inserts new alerts (with evidence). Evidence files, IPs, URLs' hosts and users are indexed
    /// for the related-alert endpoints and recorded as [`Observation`]s. The device group is the
    /// alert's device's.
    async fn insert_alerts(&self, tenant: Uuid, alerts: &[Alert]) -> SecResult<()>;
    /// With evidence.
    async fn alert(&self, tenant: Uuid, id: &str) -> SecResult<Option<Alert>>;
    /// One page (see [`MachineStore::machines`]); evidence only when `with_evidence`.
    async fn alerts(
        &self,
        tenant: Uuid,
        q: &QueryOptions,
        scope: &DeviceScope,
        with_evidence: bool,
    ) -> SecResult<Vec<Alert>>;
    async fn count_alerts(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<u64>;
    /// Writes changed alerts (status, assignment, classification, comments…) in one transaction.
    /// Unknown ids fail with `NotFound` and nothing is written.
    async fn update_alerts(&self, tenant: Uuid, alerts: &[Alert]) -> SecResult<()>;
    /// Alerts whose evidence names the entity (or, for users, the related user), newest first.
    async fn alerts_by_entity(&self, tenant: Uuid, key: &EntityKey, scope: &DeviceScope) -> SecResult<Vec<Alert>>;
    /// Alerts of a device, as a page of `q` (`/machines/{id}/alerts` supports OData and `$count`).
    async fn alerts_of_machine(
        &self,
        tenant: Uuid,
        machine_id: &str,
        q: &QueryOptions,
        count_only: bool,
    ) -> SecResult<(Vec<Alert>, u64)>;
    /// Alerts (with evidence) of these incidents.
    async fn alerts_of_incidents(&self, tenant: Uuid, incident_ids: &[i64]) -> SecResult<Vec<Alert>>;
}

/// Files, sightings and logons: what the file, IP, domain and user endpoints read.
#[async_trait]
pub trait EntityStore: Send + Sync {
    async fn upsert_files(&self, tenant: Uuid, files: &[FileInfo]) -> SecResult<()>;
    /// By SHA-1 or SHA-256 (case-insensitive).
    async fn file(&self, tenant: Uuid, hash: &str) -> SecResult<Option<FileInfo>>;
    async fn record_observations(&self, tenant: Uuid, observations: &[Observation]) -> SecResult<()>;
    /// Prevalence of a file, IP or domain since `since`.
    async fn prevalence(&self, tenant: Uuid, key: &EntityKey, since: OffsetDateTime) -> SecResult<Prevalence>;
    async fn record_logons(&self, tenant: Uuid, logons: &[Logon]) -> SecResult<()>;
    async fn logons_on_machine(&self, tenant: Uuid, machine_id: &str) -> SecResult<Vec<Logon>>;
    /// Logons of an account name (any domain, case-insensitive).
    async fn logons_of_user(&self, tenant: Uuid, account_name: &str) -> SecResult<Vec<Logon>>;
}

/// Response actions and their lifecycle.
#[async_trait]
pub trait ActionStore: Send + Sync {
    /// Records a new `Pending` action if [`crate::actions::admit`] allows it against the device's
    /// open actions and state — checked and written in one transaction, so two concurrent
    /// isolations cannot both pass. `Rejected` carries the service's 400.
    async fn create_action(&self, tenant: Uuid, action: &MachineAction) -> SecResult<MachineAction>;
    async fn action(&self, tenant: Uuid, id: &str) -> SecResult<Option<MachineAction>>;
    /// One page (see [`MachineStore::machines`]); the scope applies to the action's device.
    async fn actions(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<Vec<MachineAction>>;
    async fn count_actions(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<u64>;
    /// Cancels a `Pending` or `InProgress` action (`Rejected` 400 if it already ended).
    async fn cancel_action(
        &self,
        tenant: Uuid,
        id: &str,
        requestor: &str,
        comment: &str,
        now: OffsetDateTime,
    ) -> SecResult<MachineAction>;
    /// For the device agent: open actions of every tenant, oldest first.
    async fn open_actions(&self, limit: u32) -> SecResult<Vec<(Uuid, MachineAction)>>;
    /// For the device agent: stores `action` if its stored status is still `from` (a compare and
    /// set: a cancel or another node wins otherwise, and `false` is returned), together with the
    /// device's new state when the action changed it.
    async fn transition_action(
        &self,
        tenant: Uuid,
        action: &MachineAction,
        from: &str,
        device: Option<&DeviceState>,
    ) -> SecResult<bool>;
}

/// Microsoft 365 Defender incidents. Alerts point at their incident (`incidentId`).
#[async_trait]
pub trait IncidentStore: Send + Sync {
    async fn upsert_incidents(&self, tenant: Uuid, incidents: &[Incident]) -> SecResult<()>;
    async fn incident(&self, tenant: Uuid, id: i64) -> SecResult<Option<Incident>>;
    /// One page, newest first unless `$orderby` says otherwise; a scoped caller sees incidents with
    /// at least one alert on a device in scope.
    async fn incidents(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<Vec<Incident>>;
    async fn count_incidents(&self, tenant: Uuid, q: &QueryOptions, scope: &DeviceScope) -> SecResult<u64>;
    /// Device groups of the incident's alerts' devices (for single-incident scope checks).
    async fn incident_groups(&self, tenant: Uuid, id: i64) -> SecResult<Vec<i64>>;
}

/// Portal access configuration (RBAC roles, device groups).
#[async_trait]
pub trait RbacStore: Send + Sync {
    /// The default (RBAC off, no groups) when never written.
    async fn rbac_config(&self, tenant: Uuid) -> SecResult<RbacConfig>;
    async fn put_rbac_config(&self, tenant: Uuid, config: &RbacConfig) -> SecResult<()>;
}

/// Everything the security API stores, as one object for wiring.
pub trait SecurityStore: MachineStore + AlertStore + EntityStore + ActionStore + IncidentStore + RbacStore {}

impl<T: MachineStore + AlertStore + EntityStore + ActionStore + IncidentStore + RbacStore> SecurityStore for T {}
