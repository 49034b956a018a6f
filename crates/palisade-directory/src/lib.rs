//! The directory: what Entra ID knows about tenants, users, applications, service principals and
//! the grants between them, plus the store traits that every backend (embedded SQLite today,
//! PostgreSQL next) implements.
//!
//! Nothing here speaks HTTP or OAuth. Tenant isolation is part of the API: every tenant-scoped
//! method takes the tenant id, and backends must filter every statement by it. The only
//! cross-tenant reads are the ones the real service also does globally (an application by its
//! `appId`, a tenant by id or domain).

pub mod catalog;
pub mod model;
pub mod roles;
pub mod store;

pub use model::*;
pub use roles::DirectoryRole;
pub use store::{
    ClientCredentialsContext, DirectoryStore, GrantStore, KeyStore, StoreError, StoreResult, Stores, TenantRef,
};
