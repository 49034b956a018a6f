-- Palisade embedded store, schema version 2 (2: Defender indicators).
-- Every tenant-owned table carries tenant_id and every statement filters by it.
CREATE TABLE IF NOT EXISTS tenants (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    default_domain TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at INTEGER NOT NULL,
    is_system INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS users (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    upn TEXT NOT NULL UNIQUE COLLATE NOCASE,
    doc TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS applications (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    app_id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE TABLE IF NOT EXISTS password_credentials (
    tenant_id TEXT NOT NULL,
    app_object_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, app_object_id, key_id)
);
CREATE TABLE IF NOT EXISTS key_credentials (
    tenant_id TEXT NOT NULL,
    app_object_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    cert_der BLOB NOT NULL,
    PRIMARY KEY (tenant_id, app_object_id, key_id)
);
CREATE TABLE IF NOT EXISTS service_principals (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, app_id)
);
CREATE TABLE IF NOT EXISTS app_role_assignments (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    app_role_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, principal_id, resource_id, app_role_id)
);
CREATE INDEX IF NOT EXISTS ara_principal ON app_role_assignments (tenant_id, principal_id);
CREATE INDEX IF NOT EXISTS ara_resource ON app_role_assignments (tenant_id, resource_id);
CREATE TABLE IF NOT EXISTS oauth2_grants (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    consent_type TEXT NOT NULL,
    principal_id TEXT NOT NULL DEFAULT '',
    resource_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, client_id, consent_type, principal_id, resource_id)
);
CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY,
    private_key BLOB NOT NULL,
    cert_der BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    retire_at INTEGER
);
CREATE TABLE IF NOT EXISTS auth_codes (
    hash TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    redeemed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS device_codes (
    hash TEXT PRIMARY KEY,
    user_code TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    hash TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS login_failures (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked_until INTEGER,
    PRIMARY KEY (tenant_id, user_id)
);

-- Entra security groups (members inside the document).
CREATE TABLE IF NOT EXISTS groups (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS groups_name ON groups (tenant_id, display_name COLLATE NOCASE);

-- Defender for Endpoint indicators. Filterable properties are columns (OData runs here); the API
-- document is kept whole in `doc`.
CREATE TABLE IF NOT EXISTS indicators (
    tenant_id TEXT NOT NULL,
    id INTEGER NOT NULL,
    id_text TEXT NOT NULL,
    indicator_value TEXT NOT NULL,
    indicator_type TEXT NOT NULL,
    action TEXT NOT NULL,
    application TEXT,
    title TEXT NOT NULL,
    severity TEXT NOT NULL,
    generate_alert INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_by_display_name TEXT NOT NULL,
    creation_ms INTEGER NOT NULL,
    expiration_ms INTEGER,
    rbac_group_names TEXT NOT NULL,
    rbac_group_ids TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, indicator_type, indicator_value)
);
CREATE INDEX IF NOT EXISTS indicators_creator ON indicators (tenant_id, created_by);
CREATE INDEX IF NOT EXISTS indicators_created ON indicators (tenant_id, creation_ms);

-- API quota counters: one row per key and fixed window.
CREATE TABLE IF NOT EXISTS quota_counters (
    key TEXT NOT NULL,
    window_secs INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (key, window_secs)
);

-- Audit trail of API calls.
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms INTEGER NOT NULL,
    tenant_id TEXT,
    app_id TEXT,
    user_id TEXT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    latency_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_tenant_time ON audit_log (tenant_id, time_ms);

-- Fault-injection plans: per tenant (app_id '') or per application.
CREATE TABLE IF NOT EXISTS fault_plans (
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, app_id)
);
