//! The embedded default store: SQLite in WAL mode in the data directory.
//!
//! Directory objects are stored as JSON documents beside the indexed columns that queries and
//! uniqueness rules need; credential hashes and key material live in their own columns so they
//! never pass through a serialised document. Calls run on tokio's blocking pool over an r2d2
//! connection pool (readers run concurrently under WAL; SQLite serialises writers).

use std::path::Path;

use async_trait::async_trait;
use palisade_directory::model::*;
use palisade_directory::store::*;
use r2d2::Pool;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use uuid::Uuid;

mod audit;
mod faults;
mod indicators;
mod quota;
mod security;

const SCHEMA: &str = include_str!("schema.sql");
const SCHEMA_VERSION: i64 = 3;

/// SQLite-backed implementation of every store trait.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn map_sql(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e
        && f.code == rusqlite::ErrorCode::ConstraintViolation
    {
        return StoreError::Conflict(msg.clone().unwrap_or_else(|| "uniqueness constraint".into()));
    }
    backend(e)
}

fn to_json<T: Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(backend)
}

fn from_json<T: DeserializeOwned>(s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Backend(format!("corrupt stored document: {e}")))
}

fn ts(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_ts(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(v).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Stored user document (everything but the password hash and the indexed columns).
#[derive(Serialize, serde::Deserialize)]
struct UserDoc {
    display_name: String,
    given_name: Option<String>,
    surname: Option<String>,
    account_enabled: bool,
    directory_roles: Vec<palisade_directory::DirectoryRole>,
    #[serde(with = "time::serde::timestamp")]
    created: OffsetDateTime,
}

impl SqliteStore {
    /// Opens (creating if needed) `palisade.db` in `dir`.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("palisade.db");
        // The database holds signing keys: owner-only, whatever the umask says.
        restrict_permissions(dir, 0o700)?;
        for f in ["palisade.db", "palisade.db-wal", "palisade.db-shm"] {
            let p = dir.join(f);
            if !p.exists() {
                std::fs::File::create(&p).map_err(|e| backend(format!("cannot create {}: {e}", p.display())))?;
            }
            restrict_permissions(&p, 0o600)?;
        }
        let manager = SqliteConnectionManager::file(&path).with_init(|c| {
            c.execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
            )
        });
        // No validity probe on every checkout: a connection to a local file does not go stale, and
        // the probe is a statement per store call.
        let pool = Pool::builder().max_size(8).test_on_check_out(false).build(manager).map_err(backend)?;
        let store = Self { pool };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> StoreResult<()> {
        let conn = self.pool.get().map_err(backend)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Backend(format!(
                "the data directory was written by a newer Palisade (schema {version}, this build knows {SCHEMA_VERSION}); upgrade Palisade"
            )));
        }
        conn.execute_batch(SCHEMA).map_err(backend)?;
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}")).map_err(backend)?;
        Ok(())
    }

    /// Like [`Self::run`] for callers with their own error type.
    pub(crate) async fn run_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<String> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(|e| E::from(e.to_string()))?;
            f(&mut conn)
        })
        .await
        .map_err(|e| E::from(e.to_string()))?
    }

    /// For point reads by key (a few B-tree pages, microseconds): run on the calling thread when a
    /// connection is free, since handing a 20 µs read to the blocking pool and waking the caller
    /// afterwards costs more than the read. Anything that scans, sorts or writes uses
    /// [`Self::run_with`]; with every connection busy this falls back to it too, so a caller never
    /// waits for a connection on an async worker.
    pub(crate) async fn run_point<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<String> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        match self.pool.try_get() {
            Some(mut conn) => f(&mut conn),
            None => self.run_with(f).await,
        }
    }

    async fn run<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(backend)?;
            f(&mut conn)
        })
        .await
        .map_err(backend)?
    }
}

#[cfg(unix)]
fn restrict_permissions(path: &Path, mode: u32) -> StoreResult<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| backend(format!("cannot restrict permissions of {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path, _mode: u32) -> StoreResult<()> {
    Ok(())
}

fn read_tenant(r: &rusqlite::Row) -> rusqlite::Result<Tenant> {
    let id: String = r.get(0)?;
    Ok(Tenant {
        id: Uuid::parse_str(&id).unwrap_or_default(),
        display_name: r.get(1)?,
        default_domain: r.get(2)?,
        created_date_time: from_ts(r.get(3)?),
        is_system: r.get::<_, i64>(4)? != 0,
    })
}

const TENANT_COLS: &str = "id, display_name, default_domain, created_at, is_system";

fn read_user(tenant: Uuid, id: &str, upn: String, doc: &str, hash: String) -> StoreResult<User> {
    let d: UserDoc = from_json(doc)?;
    Ok(User {
        id: Uuid::parse_str(id).map_err(backend)?,
        tenant_id: tenant,
        user_principal_name: upn,
        display_name: d.display_name,
        given_name: d.given_name,
        surname: d.surname,
        account_enabled: d.account_enabled,
        directory_roles: d.directory_roles,
        password_hash: hash,
        created_date_time: d.created,
    })
}

fn user_doc(u: &User) -> UserDoc {
    UserDoc {
        display_name: u.display_name.clone(),
        given_name: u.given_name.clone(),
        surname: u.surname.clone(),
        account_enabled: u.account_enabled,
        directory_roles: u.directory_roles.clone(),
        created: u.created_date_time,
    }
}

fn query_users(conn: &Connection, tenant: Uuid, filter: &str, arg: &str) -> StoreResult<Vec<User>> {
    let sql = format!("SELECT id, upn, doc, password_hash FROM users WHERE tenant_id = ?1 {filter} ORDER BY upn");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    type Row = (String, String, String, String);
    let map = |r: &rusqlite::Row| -> rusqlite::Result<Row> { Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)) };
    let t = tenant.to_string();
    let rows: Vec<Row> = if filter.is_empty() {
        stmt.query_map(params![t], map).map_err(backend)?.collect::<Result<_, _>>()
    } else {
        stmt.query_map(params![t, arg], map).map_err(backend)?.collect::<Result<_, _>>()
    }
    .map_err(backend)?;
    let mut out = Vec::new();
    for (id, upn, doc, hash) in rows {
        out.push(read_user(tenant, &id, upn, &doc, hash)?);
    }
    Ok(out)
}

/// Loads applications matching `filter` with their credentials.
fn query_apps(conn: &Connection, filter: &str, args: &[&dyn rusqlite::ToSql]) -> StoreResult<Vec<Application>> {
    let sql = format!("SELECT tenant_id, id, doc FROM applications WHERE {filter} ORDER BY rowid");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt
        .query_map(args, |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
        .map_err(backend)?;
    let mut apps = Vec::new();
    for row in rows {
        let (tenant, id, doc) = row.map_err(backend)?;
        let mut app: Application = from_json(&doc)?;
        app.tenant_id = Uuid::parse_str(&tenant).map_err(backend)?;
        let mut pc = conn
            .prepare_cached("SELECT doc, secret_hash FROM password_credentials WHERE tenant_id = ?1 AND app_object_id = ?2 ORDER BY rowid")
            .map_err(backend)?;
        app.password_credentials = pc
            .query_map(params![tenant, id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(backend)?
            .map(|row| {
                let (doc, hash) = row.map_err(backend)?;
                let mut c: PasswordCredential = from_json(&doc)?;
                c.secret_hash = hash;
                Ok(c)
            })
            .collect::<StoreResult<_>>()?;
        let mut kc = conn
            .prepare_cached(
                "SELECT doc, cert_der FROM key_credentials WHERE tenant_id = ?1 AND app_object_id = ?2 ORDER BY rowid",
            )
            .map_err(backend)?;
        app.key_credentials = kc
            .query_map(params![tenant, id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(backend)?
            .map(|row| {
                let (doc, der) = row.map_err(backend)?;
                let mut c: KeyCredential = from_json(&doc)?;
                c.cert_der = der;
                Ok(c)
            })
            .collect::<StoreResult<_>>()?;
        apps.push(app);
    }
    Ok(apps)
}

fn write_app_credentials(tx: &rusqlite::Transaction, tenant: &str, app: &Application) -> StoreResult<()> {
    let id = app.id.to_string();
    tx.execute("DELETE FROM password_credentials WHERE tenant_id = ?1 AND app_object_id = ?2", params![tenant, id])
        .map_err(map_sql)?;
    tx.execute("DELETE FROM key_credentials WHERE tenant_id = ?1 AND app_object_id = ?2", params![tenant, id])
        .map_err(map_sql)?;
    for c in &app.password_credentials {
        tx.execute(
            "INSERT INTO password_credentials (tenant_id, app_object_id, key_id, doc, secret_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![tenant, id, c.key_id.to_string(), to_json(c)?, c.secret_hash],
        )
        .map_err(map_sql)?;
    }
    for c in &app.key_credentials {
        tx.execute(
            "INSERT INTO key_credentials (tenant_id, app_object_id, key_id, doc, cert_der) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![tenant, id, c.key_id.to_string(), to_json(c)?, c.cert_der],
        )
        .map_err(map_sql)?;
    }
    Ok(())
}

fn app_doc(app: &Application) -> StoreResult<String> {
    let mut bare = app.clone();
    bare.password_credentials.clear();
    bare.key_credentials.clear();
    to_json(&bare)
}

fn docs<T: DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
    tenant: Uuid,
    set_tenant: fn(&mut T, Uuid),
) -> StoreResult<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let rows = stmt.query_map(args, |r| r.get::<_, String>(0)).map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let mut v: T = from_json(&row.map_err(backend)?)?;
        set_tenant(&mut v, tenant);
        out.push(v);
    }
    Ok(out)
}

fn set_sp_tenant(v: &mut ServicePrincipal, t: Uuid) {
    v.tenant_id = t;
}
fn set_ara_tenant(v: &mut AppRoleAssignment, t: Uuid) {
    v.tenant_id = t;
}
fn set_grant_tenant(v: &mut OAuth2PermissionGrant, t: Uuid) {
    v.tenant_id = t;
}

fn consent_type_str(c: ConsentType) -> &'static str {
    match c {
        ConsentType::AllPrincipals => "AllPrincipals",
        ConsentType::Principal => "Principal",
    }
}

fn one_sp(c: &Connection, tenant: Uuid, app_id: Uuid) -> StoreResult<Option<ServicePrincipal>> {
    Ok(docs(
        c,
        "SELECT doc FROM service_principals WHERE tenant_id = ?1 AND app_id = ?2",
        &[&tenant.to_string(), &app_id.to_string()],
        tenant,
        set_sp_tenant,
    )?
    .pop())
}

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn client_credentials_context(
        &self,
        tenant: &TenantRef,
        client_app_id: Uuid,
        resource_app_id: Uuid,
    ) -> StoreResult<ClientCredentialsContext> {
        let tenant = tenant.clone();
        self.run(move |c| {
            let (sql, key) = match &tenant {
                TenantRef::Id(id) => (format!("SELECT {TENANT_COLS} FROM tenants WHERE id = ?1"), id.to_string()),
                TenantRef::Domain(d) => {
                    (format!("SELECT {TENANT_COLS} FROM tenants WHERE default_domain = ?1"), d.clone())
                }
            };
            let t = c
                .prepare_cached(&sql)
                .map_err(backend)?
                .query_row(params![key], read_tenant)
                .optional()
                .map_err(backend)?;
            let Some(t) = t else { return Ok(ClientCredentialsContext::default()) };
            let client = query_apps(c, "app_id = ?1", &[&client_app_id.to_string()])?.pop();
            let client_sp = one_sp(c, t.id, client_app_id)?;
            let resource_sp = one_sp(c, t.id, resource_app_id)?;
            let client_role_assignments = match &client_sp {
                Some(sp) => docs(
                    c,
                    "SELECT doc FROM app_role_assignments WHERE tenant_id = ?1 AND principal_id = ?2 ORDER BY rowid",
                    &[&t.id.to_string(), &sp.id.to_string()],
                    t.id,
                    set_ara_tenant,
                )?,
                None => vec![],
            };
            Ok(ClientCredentialsContext { tenant: Some(t), client, client_sp, resource_sp, client_role_assignments })
        })
        .await
    }

    async fn create_tenant(&self, t: &Tenant) -> StoreResult<()> {
        let t = t.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO tenants (id, display_name, default_domain, created_at, is_system) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![t.id.to_string(), t.display_name, t.default_domain, ts(t.created_date_time), t.is_system as i64],
            )
            .map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn tenant(&self, id: Uuid) -> StoreResult<Option<Tenant>> {
        self.run(move |c| {
            c.prepare_cached(&format!("SELECT {TENANT_COLS} FROM tenants WHERE id = ?1"))
                .map_err(backend)?
                .query_row(params![id.to_string()], read_tenant)
                .optional()
                .map_err(backend)
        })
        .await
    }

    async fn tenant_by_domain(&self, domain: &str) -> StoreResult<Option<Tenant>> {
        let domain = domain.to_string();
        self.run(move |c| {
            c.prepare_cached(&format!("SELECT {TENANT_COLS} FROM tenants WHERE default_domain = ?1"))
                .map_err(backend)?
                .query_row(params![domain], read_tenant)
                .optional()
                .map_err(backend)
        })
        .await
    }

    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached(&format!("SELECT {TENANT_COLS} FROM tenants ORDER BY created_at, rowid"))
                .map_err(backend)?;
            let rows = stmt.query_map([], read_tenant).map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })
        .await
    }

    async fn create_user(&self, tenant: Uuid, u: &User) -> StoreResult<()> {
        let u = u.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO users (tenant_id, id, upn, doc, password_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    tenant.to_string(),
                    u.id.to_string(),
                    u.user_principal_name,
                    to_json(&user_doc(&u))?,
                    u.password_hash
                ],
            )
            .map_err(|e| match map_sql(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("a user with UPN {} already exists", u.user_principal_name))
                }
                other => other,
            })?;
            Ok(())
        })
        .await
    }

    async fn user(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<User>> {
        self.run(move |c| Ok(query_users(c, tenant, "AND id = ?2", &id.to_string())?.pop())).await
    }

    async fn user_by_upn(&self, tenant: Uuid, upn: &str) -> StoreResult<Option<User>> {
        let upn = upn.to_string();
        self.run(move |c| Ok(query_users(c, tenant, "AND upn = ?2", &upn)?.pop())).await
    }

    async fn users(&self, tenant: Uuid) -> StoreResult<Vec<User>> {
        self.run(move |c| query_users(c, tenant, "", "")).await
    }

    async fn update_user(&self, tenant: Uuid, u: &User) -> StoreResult<()> {
        let u = u.clone();
        self.run(move |c| {
            let n = c
                .execute(
                    "UPDATE users SET upn = ?3, doc = ?4, password_hash = ?5 WHERE tenant_id = ?1 AND id = ?2",
                    params![
                        tenant.to_string(),
                        u.id.to_string(),
                        u.user_principal_name,
                        to_json(&user_doc(&u))?,
                        u.password_hash
                    ],
                )
                .map_err(map_sql)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("user {}", u.id)));
            }
            Ok(())
        })
        .await
    }

    async fn put_group(&self, tenant: Uuid, group: &Group) -> StoreResult<()> {
        let (t, id, name, doc) =
            (tenant.to_string(), group.id.to_string(), group.display_name.clone(), to_json(group)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO groups (tenant_id, id, display_name, doc) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant_id, id) DO UPDATE SET display_name = excluded.display_name, doc = excluded.doc",
                params![t, id, name, doc],
            )
            .map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn group(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<Group>> {
        let (t, id) = (tenant.to_string(), id.to_string());
        self.run(move |c| {
            let doc: Option<String> = c
                .query_row("SELECT doc FROM groups WHERE tenant_id = ?1 AND id = ?2", params![t, id], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            doc.map(|d| from_json::<Group>(&d).map(|g| Group { tenant_id: tenant, ..g })).transpose()
        })
        .await
    }

    async fn groups(&self, tenant: Uuid) -> StoreResult<Vec<Group>> {
        let t = tenant.to_string();
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached("SELECT doc FROM groups WHERE tenant_id = ?1 ORDER BY display_name")
                .map_err(backend)?;
            let rows = stmt.query_map(params![t], |r| r.get::<_, String>(0)).map_err(backend)?;
            rows.map(|r| from_json::<Group>(&r.map_err(backend)?).map(|g| Group { tenant_id: tenant, ..g })).collect()
        })
        .await
    }

    async fn delete_group(&self, tenant: Uuid, id: Uuid) -> StoreResult<()> {
        let (t, id) = (tenant.to_string(), id.to_string());
        self.run(move |c| {
            c.execute("DELETE FROM groups WHERE tenant_id = ?1 AND id = ?2", params![t, id]).map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn tenant_of_upn(&self, upn: &str) -> StoreResult<Option<Uuid>> {
        let upn = upn.to_string();
        self.run(move |c| {
            let t: Option<String> = c
                .prepare_cached("SELECT tenant_id FROM users WHERE upn = ?1")
                .map_err(backend)?
                .query_row(params![upn], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            Ok(t.and_then(|t| Uuid::parse_str(&t).ok()))
        })
        .await
    }

    async fn create_application(&self, tenant: Uuid, app: &Application) -> StoreResult<()> {
        let app = app.clone();
        self.run(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let t = tenant.to_string();
            tx.execute(
                "INSERT INTO applications (tenant_id, id, app_id, doc) VALUES (?1, ?2, ?3, ?4)",
                params![t, app.id.to_string(), app.app_id.to_string(), app_doc(&app)?],
            )
            .map_err(map_sql)?;
            write_app_credentials(&tx, &t, &app)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn application(&self, tenant: Uuid, object_id: Uuid) -> StoreResult<Option<Application>> {
        self.run(move |c| {
            Ok(query_apps(c, "tenant_id = ?1 AND id = ?2", &[&tenant.to_string(), &object_id.to_string()])?.pop())
        })
        .await
    }

    async fn application_in_tenant_by_app_id(&self, tenant: Uuid, app_id: Uuid) -> StoreResult<Option<Application>> {
        self.run(move |c| {
            Ok(query_apps(c, "tenant_id = ?1 AND app_id = ?2", &[&tenant.to_string(), &app_id.to_string()])?.pop())
        })
        .await
    }

    async fn applications(&self, tenant: Uuid) -> StoreResult<Vec<Application>> {
        self.run(move |c| query_apps(c, "tenant_id = ?1", &[&tenant.to_string()])).await
    }

    async fn update_application(&self, tenant: Uuid, app: &Application) -> StoreResult<()> {
        let app = app.clone();
        self.run(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let t = tenant.to_string();
            let n = tx
                .execute(
                    "UPDATE applications SET doc = ?3 WHERE tenant_id = ?1 AND id = ?2",
                    params![t, app.id.to_string(), app_doc(&app)?],
                )
                .map_err(map_sql)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("application {}", app.id)));
            }
            write_app_credentials(&tx, &t, &app)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn delete_application(&self, tenant: Uuid, object_id: Uuid) -> StoreResult<()> {
        self.run(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let (t, id) = (tenant.to_string(), object_id.to_string());
            let n = tx
                .execute("DELETE FROM applications WHERE tenant_id = ?1 AND id = ?2", params![t, id])
                .map_err(map_sql)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("application {object_id}")));
            }
            tx.execute("DELETE FROM password_credentials WHERE tenant_id = ?1 AND app_object_id = ?2", params![t, id])
                .map_err(map_sql)?;
            tx.execute("DELETE FROM key_credentials WHERE tenant_id = ?1 AND app_object_id = ?2", params![t, id])
                .map_err(map_sql)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn application_by_app_id(&self, app_id: Uuid) -> StoreResult<Option<Application>> {
        self.run(move |c| Ok(query_apps(c, "app_id = ?1", &[&app_id.to_string()])?.pop())).await
    }

    async fn create_service_principal(&self, tenant: Uuid, sp: &ServicePrincipal) -> StoreResult<()> {
        let sp = sp.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO service_principals (tenant_id, id, app_id, doc) VALUES (?1, ?2, ?3, ?4)",
                params![tenant.to_string(), sp.id.to_string(), sp.app_id.to_string(), to_json(&sp)?],
            )
            .map_err(|e| match map_sql(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("a service principal for appId {} already exists", sp.app_id))
                }
                other => other,
            })?;
            Ok(())
        })
        .await
    }

    async fn service_principal(&self, tenant: Uuid, id: Uuid) -> StoreResult<Option<ServicePrincipal>> {
        self.run(move |c| {
            Ok(docs(
                c,
                "SELECT doc FROM service_principals WHERE tenant_id = ?1 AND id = ?2",
                &[&tenant.to_string(), &id.to_string()],
                tenant,
                set_sp_tenant,
            )?
            .pop())
        })
        .await
    }

    async fn service_principal_by_app_id(&self, tenant: Uuid, app_id: Uuid) -> StoreResult<Option<ServicePrincipal>> {
        self.run(move |c| {
            Ok(docs(
                c,
                "SELECT doc FROM service_principals WHERE tenant_id = ?1 AND app_id = ?2",
                &[&tenant.to_string(), &app_id.to_string()],
                tenant,
                set_sp_tenant,
            )?
            .pop())
        })
        .await
    }

    async fn service_principals(&self, tenant: Uuid) -> StoreResult<Vec<ServicePrincipal>> {
        self.run(move |c| {
            docs(
                c,
                "SELECT doc FROM service_principals WHERE tenant_id = ?1 ORDER BY rowid",
                &[&tenant.to_string()],
                tenant,
                set_sp_tenant,
            )
        })
        .await
    }

    async fn delete_service_principal(&self, tenant: Uuid, id: Uuid) -> StoreResult<()> {
        self.run(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let (t, i) = (tenant.to_string(), id.to_string());
            let n = tx
                .execute("DELETE FROM service_principals WHERE tenant_id = ?1 AND id = ?2", params![t, i])
                .map_err(map_sql)?;
            if n == 0 {
                return Err(StoreError::NotFound(format!("service principal {id}")));
            }
            // Grants die with either end, as in Entra.
            tx.execute(
                "DELETE FROM app_role_assignments WHERE tenant_id = ?1 AND (principal_id = ?2 OR resource_id = ?2)",
                params![t, i],
            )
            .map_err(map_sql)?;
            tx.execute(
                "DELETE FROM oauth2_grants WHERE tenant_id = ?1 AND (client_id = ?2 OR resource_id = ?2)",
                params![t, i],
            )
            .map_err(map_sql)?;
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn add_app_role_assignment(&self, tenant: Uuid, a: &AppRoleAssignment) -> StoreResult<()> {
        let a = a.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO app_role_assignments (tenant_id, id, principal_id, resource_id, app_role_id, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![tenant.to_string(), a.id.to_string(), a.principal_id.to_string(), a.resource_id.to_string(), a.app_role_id.to_string(), to_json(&a)?],
            )
            .map_err(|e| match map_sql(e) {
                StoreError::Conflict(_) => StoreError::Conflict("Permission being assigned already exists on the object".into()),
                other => other,
            })?;
            Ok(())
        })
        .await
    }

    async fn app_role_assignments_of(&self, tenant: Uuid, principal_id: Uuid) -> StoreResult<Vec<AppRoleAssignment>> {
        self.run(move |c| {
            docs(
                c,
                "SELECT doc FROM app_role_assignments WHERE tenant_id = ?1 AND principal_id = ?2 ORDER BY rowid",
                &[&tenant.to_string(), &principal_id.to_string()],
                tenant,
                set_ara_tenant,
            )
        })
        .await
    }

    async fn app_role_assignments_to(&self, tenant: Uuid, resource_id: Uuid) -> StoreResult<Vec<AppRoleAssignment>> {
        self.run(move |c| {
            docs(
                c,
                "SELECT doc FROM app_role_assignments WHERE tenant_id = ?1 AND resource_id = ?2 ORDER BY rowid",
                &[&tenant.to_string(), &resource_id.to_string()],
                tenant,
                set_ara_tenant,
            )
        })
        .await
    }

    async fn delete_app_role_assignment(&self, tenant: Uuid, id: Uuid) -> StoreResult<()> {
        self.run(move |c| {
            let n = c
                .execute(
                    "DELETE FROM app_role_assignments WHERE tenant_id = ?1 AND id = ?2",
                    params![tenant.to_string(), id.to_string()],
                )
                .map_err(map_sql)?;
            if n == 0 { Err(StoreError::NotFound(format!("appRoleAssignment {id}"))) } else { Ok(()) }
        })
        .await
    }

    async fn upsert_oauth2_grant(&self, tenant: Uuid, g: &OAuth2PermissionGrant) -> StoreResult<OAuth2PermissionGrant> {
        let g = g.clone();
        self.run(move |c| {
            let tx = c.transaction().map_err(backend)?;
            let t = tenant.to_string();
            let principal = g.principal_id.map(|p| p.to_string()).unwrap_or_default();
            let existing: Option<String> = tx
                .query_row(
                    "SELECT doc FROM oauth2_grants WHERE tenant_id = ?1 AND client_id = ?2 AND consent_type = ?3 AND principal_id = ?4 AND resource_id = ?5",
                    params![t, g.client_id.to_string(), consent_type_str(g.consent_type), principal, g.resource_id.to_string()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let stored = match existing {
                Some(doc) => {
                    let mut old: OAuth2PermissionGrant = from_json(&doc)?;
                    old.scope = g.scope.clone();
                    tx.execute("UPDATE oauth2_grants SET doc = ?3 WHERE tenant_id = ?1 AND id = ?2", params![t, old.id.to_string(), to_json(&old)?])
                        .map_err(map_sql)?;
                    old
                }
                None => {
                    tx.execute(
                        "INSERT INTO oauth2_grants (tenant_id, id, client_id, consent_type, principal_id, resource_id, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![t, g.id.to_string(), g.client_id.to_string(), consent_type_str(g.consent_type), principal, g.resource_id.to_string(), to_json(&g)?],
                    )
                    .map_err(map_sql)?;
                    g
                }
            };
            tx.commit().map_err(backend)?;
            let mut stored = stored;
            stored.tenant_id = tenant;
            Ok(stored)
        })
        .await
    }

    async fn oauth2_grants(&self, tenant: Uuid) -> StoreResult<Vec<OAuth2PermissionGrant>> {
        self.run(move |c| {
            docs(
                c,
                "SELECT doc FROM oauth2_grants WHERE tenant_id = ?1 ORDER BY rowid",
                &[&tenant.to_string()],
                tenant,
                set_grant_tenant,
            )
        })
        .await
    }

    async fn oauth2_grants_of_client(
        &self,
        tenant: Uuid,
        client_sp_id: Uuid,
    ) -> StoreResult<Vec<OAuth2PermissionGrant>> {
        self.run(move |c| {
            docs(
                c,
                "SELECT doc FROM oauth2_grants WHERE tenant_id = ?1 AND client_id = ?2 ORDER BY rowid",
                &[&tenant.to_string(), &client_sp_id.to_string()],
                tenant,
                set_grant_tenant,
            )
        })
        .await
    }

    async fn delete_oauth2_grant(&self, tenant: Uuid, id: Uuid) -> StoreResult<()> {
        self.run(move |c| {
            let n = c
                .execute(
                    "DELETE FROM oauth2_grants WHERE tenant_id = ?1 AND id = ?2",
                    params![tenant.to_string(), id.to_string()],
                )
                .map_err(map_sql)?;
            if n == 0 { Err(StoreError::NotFound(format!("oAuth2PermissionGrant {id}"))) } else { Ok(()) }
        })
        .await
    }
}

#[async_trait]
impl GrantStore for SqliteStore {
    async fn put_code(&self, code_hash: &str, grant: &UserGrant, expires_at: OffsetDateTime) -> StoreResult<()> {
        let (h, doc) = (code_hash.to_string(), to_json(grant)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO auth_codes (hash, doc, expires_at) VALUES (?1, ?2, ?3)",
                params![h, doc, ts(expires_at)],
            )
            .map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn redeem_code(&self, code_hash: &str, now: OffsetDateTime) -> StoreResult<CodeRedemption> {
        let h = code_hash.to_string();
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
            let row: Option<(String, i64, i64)> = tx
                .query_row("SELECT doc, expires_at, redeemed FROM auth_codes WHERE hash = ?1", params![h], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()
                .map_err(backend)?;
            let out = match row {
                None => CodeRedemption::Unknown,
                Some((_, _, redeemed)) if redeemed != 0 => CodeRedemption::AlreadyRedeemed,
                Some((_, exp, _)) if exp <= ts(now) => CodeRedemption::Expired,
                Some((doc, _, _)) => {
                    tx.execute("UPDATE auth_codes SET redeemed = 1 WHERE hash = ?1", params![h]).map_err(map_sql)?;
                    CodeRedemption::Redeemed(Box::new(from_json(&doc)?))
                }
            };
            tx.commit().map_err(backend)?;
            Ok(out)
        })
        .await
    }

    async fn put_refresh_token(&self, hash: &str, grant: &UserGrant, expires_at: OffsetDateTime) -> StoreResult<()> {
        let (h, doc) = (hash.to_string(), to_json(grant)?);
        self.run(move |c| {
            c.execute(
                "INSERT INTO refresh_tokens (hash, doc, expires_at) VALUES (?1, ?2, ?3)",
                params![h, doc, ts(expires_at)],
            )
            .map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn refresh_token(&self, hash: &str, now: OffsetDateTime) -> StoreResult<Option<UserGrant>> {
        let h = hash.to_string();
        self.run(move |c| {
            let doc: Option<String> = c
                .query_row(
                    "SELECT doc FROM refresh_tokens WHERE hash = ?1 AND expires_at > ?2",
                    params![h, ts(now)],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            doc.map(|d| from_json(&d)).transpose()
        })
        .await
    }

    async fn put_device_code(&self, hash: &str, rec: &DeviceCodeRecord) -> StoreResult<()> {
        let (h, doc, uc, exp) = (hash.to_string(), to_json(rec)?, rec.user_code.clone(), ts(rec.expires_at));
        self.run(move |c| {
            c.execute(
                "INSERT INTO device_codes (hash, user_code, doc, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![h, uc, doc, exp],
            )
            .map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn device_code(&self, hash: &str) -> StoreResult<Option<DeviceCodeRecord>> {
        let h = hash.to_string();
        self.run(move |c| {
            let doc: Option<String> = c
                .query_row("SELECT doc FROM device_codes WHERE hash = ?1", params![h], |r| r.get(0))
                .optional()
                .map_err(backend)?;
            doc.map(|d| from_json(&d)).transpose()
        })
        .await
    }

    async fn device_code_by_user_code(&self, user_code: &str) -> StoreResult<Option<(String, DeviceCodeRecord)>> {
        let uc = user_code.to_string();
        self.run(move |c| {
            let row: Option<(String, String)> = c
                .query_row("SELECT hash, doc FROM device_codes WHERE user_code = ?1", params![uc], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(backend)?;
            row.map(|(h, d)| Ok((h, from_json(&d)?))).transpose()
        })
        .await
    }

    async fn update_device_code(&self, hash: &str, rec: &DeviceCodeRecord) -> StoreResult<()> {
        let (h, doc) = (hash.to_string(), to_json(rec)?);
        self.run(move |c| {
            let n = c.execute("UPDATE device_codes SET doc = ?2 WHERE hash = ?1", params![h, doc]).map_err(map_sql)?;
            if n == 0 { Err(StoreError::NotFound("device code".into())) } else { Ok(()) }
        })
        .await
    }

    async fn delete_device_code(&self, hash: &str) -> StoreResult<()> {
        let h = hash.to_string();
        self.run(move |c| {
            c.execute("DELETE FROM device_codes WHERE hash = ?1", params![h]).map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn put_session(&self, hash: &str, s: &BrowserSession) -> StoreResult<()> {
        let (h, doc, exp) = (hash.to_string(), to_json(s)?, ts(s.expires_at));
        self.run(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO sessions (hash, doc, expires_at) VALUES (?1, ?2, ?3)",
                params![h, doc, exp],
            )
            .map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn session(&self, hash: &str, now: OffsetDateTime) -> StoreResult<Option<BrowserSession>> {
        let h = hash.to_string();
        self.run(move |c| {
            let doc: Option<String> = c
                .query_row("SELECT doc FROM sessions WHERE hash = ?1 AND expires_at > ?2", params![h, ts(now)], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?;
            doc.map(|d| from_json(&d)).transpose()
        })
        .await
    }

    async fn delete_session(&self, hash: &str) -> StoreResult<()> {
        let h = hash.to_string();
        self.run(move |c| {
            c.execute("DELETE FROM sessions WHERE hash = ?1", params![h]).map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn record_login_failure(
        &self,
        tenant: Uuid,
        user: Uuid,
        threshold: u32,
        lock_for: time::Duration,
        now: OffsetDateTime,
    ) -> StoreResult<LockoutState> {
        self.run(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
            let (t, u) = (tenant.to_string(), user.to_string());
            let prev: Option<(i64, Option<i64>)> = tx
                .query_row("SELECT failures, locked_until FROM login_failures WHERE tenant_id = ?1 AND user_id = ?2", params![t, u], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(backend)?;
            // A lock that has run out starts a fresh count.
            let mut failures = match prev {
                Some((_, Some(until))) if until <= ts(now) => 0,
                Some((f, _)) => f as u32,
                None => 0,
            };
            failures += 1;
            let locked_until = match prev {
                Some((_, Some(until))) if until > ts(now) => Some(from_ts(until)),
                _ if failures >= threshold => Some(from_ts(ts(now + lock_for))),
                _ => None,
            };
            tx.execute(
                "INSERT INTO login_failures (tenant_id, user_id, failures, locked_until) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant_id, user_id) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
                params![t, u, failures as i64, locked_until.map(ts)],
            )
            .map_err(map_sql)?;
            tx.commit().map_err(backend)?;
            Ok(LockoutState { failures, locked_until })
        })
        .await
    }

    async fn lockout(&self, tenant: Uuid, user: Uuid) -> StoreResult<LockoutState> {
        self.run(move |c| {
            let row: Option<(i64, Option<i64>)> = c
                .query_row(
                    "SELECT failures, locked_until FROM login_failures WHERE tenant_id = ?1 AND user_id = ?2",
                    params![tenant.to_string(), user.to_string()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            Ok(row.map(|(f, l)| LockoutState { failures: f as u32, locked_until: l.map(from_ts) }).unwrap_or_default())
        })
        .await
    }

    async fn clear_login_failures(&self, tenant: Uuid, user: Uuid) -> StoreResult<()> {
        self.run(move |c| {
            c.execute(
                "DELETE FROM login_failures WHERE tenant_id = ?1 AND user_id = ?2",
                params![tenant.to_string(), user.to_string()],
            )
            .map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> StoreResult<u64> {
        self.run(move |c| {
            let mut n = 0;
            for table in ["auth_codes", "refresh_tokens", "device_codes", "sessions"] {
                n += c
                    .execute(&format!("DELETE FROM {table} WHERE expires_at <= ?1"), params![ts(now)])
                    .map_err(map_sql)? as u64;
            }
            Ok(n)
        })
        .await
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRecord>> {
        self.run(move |c| {
            let mut stmt = c.prepare_cached("SELECT kid, private_key, cert_der, created_at, retire_at FROM signing_keys ORDER BY created_at, rowid").map_err(backend)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(SigningKeyRecord {
                        kid: r.get(0)?,
                        private_key_pkcs8: r.get(1)?,
                        cert_der: r.get(2)?,
                        created_at: from_ts(r.get(3)?),
                        retire_at: r.get::<_, Option<i64>>(4)?.map(from_ts),
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(backend)
        })
        .await
    }

    async fn add_signing_key(&self, k: &SigningKeyRecord) -> StoreResult<()> {
        let k = k.clone();
        self.run(move |c| {
            c.execute(
                "INSERT INTO signing_keys (kid, private_key, cert_der, created_at, retire_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![k.kid, k.private_key_pkcs8, k.cert_der, ts(k.created_at), k.retire_at.map(ts)],
            )
            .map_err(map_sql)?;
            Ok(())
        })
        .await
    }

    async fn retire_signing_keys_except(&self, kid: &str, retire_at: OffsetDateTime) -> StoreResult<()> {
        let kid = kid.to_string();
        self.run(move |c| {
            c.execute(
                "UPDATE signing_keys SET retire_at = ?2 WHERE kid != ?1 AND retire_at IS NULL",
                params![kid, ts(retire_at)],
            )
            .map_err(map_sql)?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests;
