//! Store traits. Anything two Palisade nodes must agree on lives behind these, so identity and API
//! nodes keep no state of their own: the directory, signing keys, codes, refresh tokens, device
//! codes, browser sessions and lockout counters.

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (duplicate domain, UPN, appId…). The message names it.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The backend failed (I/O, corruption, pool exhausted). Not the caller's fault.
    #[error("storage backend error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Tenants, users, applications, service principals and grants.
///
/// Every method that reads or writes tenant-owned objects takes `tenant` and must only ever see
/// that tenant's rows. Applications are owned by their home tenant; the global reads
/// (`application_by_app_id`, `applications_answering_to`) exist because Entra resolves a client or
/// resource by its `appId` across tenants when it checks consent.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    // Tenants.
    async fn create_tenant(&self, tenant: &Tenant) -> StoreResult<()>;
    async fn tenant(&self, id: Uuid) -> StoreResult<Option<Tenant>>;
    async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<Tenant>>;
    async fn tenants(&self) -> StoreResult<Vec<Tenant>>;

    // Users.
    async fn create_user(&self, tenant: Uuid, user: &User) -> StoreResult<()>;
    async fn user(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<User>>;
    async fn user_by_upn(&self, tenant: Uuid, upn: &str) -> StoreResult<Option<User>>;
    async fn users(&self, tenant: Uuid) -> StoreResult<Vec<User>>;
    async fn update_user(&self, tenant: Uuid, user: &User) -> StoreResult<()>;
    /// Which tenant holds this UPN (used by `/common` sign-in). Global, like Entra's home realm
    /// discovery.
    async fn tenant_of_upn(&self, upn: &str) -> StoreResult<Option<Uuid>>;

    // Security groups. Display names are unique per tenant (case-insensitively).
    /// Creates or replaces the group (members included).
    async fn put_group(&self, tenant: Uuid, group: &Group) -> StoreResult<()>;
    async fn group(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<Group>>;
    async fn groups(&self, tenant: Uuid) -> StoreResult<Vec<Group>>;
    async fn delete_group(&self, tenant: Uuid, id: Uuid) -> StoreResult<()>;

    // Applications (home-tenant objects).
    async fn create_application(&self, tenant: Uuid, app: &Application) -> StoreResult<()>;
    async fn application(&self, tenant: Uuid, object_id: Uuid) -> StoreResult<Option<Application>>;
    async fn application_in_tenant_by_app_id(&self, tenant: Uuid, app_id: Uuid) -> StoreResult<Option<Application>>;
    async fn applications(&self, tenant: Uuid) -> StoreResult<Vec<Application>>;
    /// Replaces the registration (credentials included). The caller loaded it from `tenant`.
    async fn update_application(&self, tenant: Uuid, app: &Application) -> StoreResult<()>;
    async fn delete_application(&self, tenant: Uuid, object_id: Uuid) -> StoreResult<()>;
    /// Global read by client id.
    async fn application_by_app_id(&self, app_id: Uuid) -> StoreResult<Option<Application>>;

    // Service principals.
    async fn create_service_principal(&self, tenant: Uuid, sp: &ServicePrincipal) -> StoreResult<()>;
    async fn service_principal(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<ServicePrincipal>>;
    async fn service_principal_by_app_id(&self, tenant: Uuid, app_id: Uuid) -> StoreResult<Option<ServicePrincipal>>;
    async fn service_principals(&self, tenant: Uuid) -> StoreResult<Vec<ServicePrincipal>>;
    async fn delete_service_principal(&self, tenant: Uuid, id: Uuid) -> StoreResult<()>;

    // Application permissions.
    async fn add_app_role_assignment(&self, tenant: Uuid, a: &AppRoleAssignment) -> StoreResult<()>;
    async fn app_role_assignments_of(&self, tenant: Uuid, principal_id: Uuid) -> StoreResult<Vec<AppRoleAssignment>>;
    async fn app_role_assignments_to(&self, tenant: Uuid, resource_id: Uuid) -> StoreResult<Vec<AppRoleAssignment>>;
    async fn delete_app_role_assignment(&self, tenant: Uuid, id: Uuid) -> StoreResult<()>;

    // Delegated permissions.
    /// Inserts or, when a grant for the same (client, consent type, principal, resource) exists,
    /// replaces its scope string.
    async fn upsert_oauth2_grant(&self, tenant: Uuid, g: &OAuth2PermissionGrant) -> StoreResult<OAuth2PermissionGrant>;
    async fn oauth2_grants(&self, tenant: Uuid) -> StoreResult<Vec<OAuth2PermissionGrant>>;
    async fn oauth2_grants_of_client(
        &self,
        tenant: Uuid,
        client_sp_id: Uuid,
    ) -> StoreResult<Vec<OAuth2PermissionGrant>>;
    async fn delete_oauth2_grant(&self, tenant: Uuid, id: Uuid) -> StoreResult<()>;

    /// Everything client-credentials issuance reads, in one round trip: it is the hot path, and
    /// a backend should answer it with one hop (SQLite: one blocking call; PostgreSQL: one query).
    /// The default composes the calls above.
    async fn client_credentials_context(
        &self,
        tenant: &TenantRef,
        client_app_id: Uuid,
        resource_app_id: Uuid,
    ) -> StoreResult<ClientCredentialsContext> {
        let tenant = match tenant {
            TenantRef::Id(id) => self.tenant(*id).await?,
            TenantRef::Domain(d) => self.tenant_by_domain(d).await?,
        };
        let Some(t) = tenant.clone() else { return Ok(ClientCredentialsContext::default()) };
        let client = self.application_by_app_id(client_app_id).await?;
        let client_sp = self.service_principal_by_app_id(t.id, client_app_id).await?;
        let resource_sp = self.service_principal_by_app_id(t.id, resource_app_id).await?;
        let client_role_assignments = match &client_sp {
            Some(sp) => self.app_role_assignments_of(t.id, sp.id).await?,
            None => vec![],
        };
        Ok(ClientCredentialsContext { tenant, client, client_sp, resource_sp, client_role_assignments })
    }
}

/// A tenant named by id or verified domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantRef {
    Id(Uuid),
    Domain(String),
}

/// What [`DirectoryStore::client_credentials_context`] returns; `None`s are for the caller to
/// turn into the right AADSTS error.
#[derive(Debug, Clone, Default)]
pub struct ClientCredentialsContext {
    pub tenant: Option<Tenant>,
    pub client: Option<Application>,
    pub client_sp: Option<ServicePrincipal>,
    pub resource_sp: Option<ServicePrincipal>,
    /// All app-role assignments held by the client's service principal in the tenant.
    pub client_role_assignments: Vec<AppRoleAssignment>,
}

/// Short-lived protocol state shared by every identity node.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Stores an authorization code under the hash of its value.
    async fn put_code(&self, code_hash: &str, grant: &UserGrant, expires_at: OffsetDateTime) -> StoreResult<()>;
    /// Atomically redeems a code: returns it once, then `Redeemed` forever after (until expiry).
    async fn redeem_code(&self, code_hash: &str, now: OffsetDateTime) -> StoreResult<CodeRedemption>;

    async fn put_refresh_token(&self, hash: &str, grant: &UserGrant, expires_at: OffsetDateTime) -> StoreResult<()>;
    async fn refresh_token(&self, hash: &str, now: OffsetDateTime) -> StoreResult<Option<UserGrant>>;

    async fn put_device_code(&self, device_code_hash: &str, rec: &DeviceCodeRecord) -> StoreResult<()>;
    async fn device_code(&self, device_code_hash: &str) -> StoreResult<Option<DeviceCodeRecord>>;
    async fn device_code_by_user_code(&self, user_code: &str) -> StoreResult<Option<(String, DeviceCodeRecord)>>;
    async fn update_device_code(&self, device_code_hash: &str, rec: &DeviceCodeRecord) -> StoreResult<()>;
    async fn delete_device_code(&self, device_code_hash: &str) -> StoreResult<()>;

    async fn put_session(&self, id_hash: &str, s: &BrowserSession) -> StoreResult<()>;
    async fn session(&self, id_hash: &str, now: OffsetDateTime) -> StoreResult<Option<BrowserSession>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;

    /// Records a failed password attempt; locks the account for `lock_for` once `threshold`
    /// consecutive failures are reached. Returns the new state.
    async fn record_login_failure(
        &self,
        tenant: Uuid,
        user: Uuid,
        threshold: u32,
        lock_for: time::Duration,
        now: OffsetDateTime,
    ) -> StoreResult<LockoutState>;
    async fn lockout(&self, tenant: Uuid, user: Uuid) -> StoreResult<LockoutState>;
    async fn clear_login_failures(&self, tenant: Uuid, user: Uuid) -> StoreResult<()>;

    /// Deletes expired codes, tokens, device codes and sessions.
    async fn purge_expired(&self, now: OffsetDateTime) -> StoreResult<u64>;
}

#[derive(Debug, Clone, PartialEq)]
pub enum CodeRedemption {
    Redeemed(Box<UserGrant>),
    AlreadyRedeemed,
    Expired,
    Unknown,
}

/// Token-signing keys.
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>>;
    async fn add_signing_key(&self, key: &SigningKeyRecord) -> StoreResult<()>;
    /// Marks every other published key to retire at `retire_at` (after the newest becomes active).
    async fn retire_signing_keys_except(&self, kid: &str, retire_at: OffsetDateTime) -> StoreResult<()>;
}

/// The three stores, as one handle to pass around.
#[derive(Clone)]
pub struct Stores {
    pub directory: Arc<dyn DirectoryStore>,
    pub grants: Arc<dyn GrantStore>,
    pub keys: Arc<dyn KeyStore>,
}

impl Stores {
    /// One backend object that implements all three traits.
    pub fn from_backend<B: DirectoryStore + GrantStore + KeyStore + 'static>(backend: Arc<B>) -> Self {
        Self { directory: backend.clone(), grants: backend.clone(), keys: backend }
    }
}
