-- Palisade embedded store, schema version 3 (2: Defender indicators; 3: Defender security entities).
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

-- Defender security entities (schema 3). Columns named in palisade_defender::schemas are what OData
-- filters compile to (times unix ms, collections JSON arrays); `.nocase()` properties are declared
-- COLLATE NOCASE so the generated `COLLATE NOCASE` comparisons and sorts can use the indexes. Filter
-- indexes end in the paging key (a filter plus `ORDER BY id` reads the index in order) and, where
-- delegated (scoped) callers filter, rbac_group_id: their skipped rows are rejected from the index,
-- not the table (each such index costs a device-group move one more index update per alert).
-- `doc` is the API document; rbac_group_id is the device's group, copied onto alerts and actions.
CREATE TABLE IF NOT EXISTS machines (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL COLLATE NOCASE,
    computer_dns_name TEXT NOT NULL COLLATE NOCASE,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    os_platform TEXT NOT NULL COLLATE NOCASE,
    version TEXT COLLATE NOCASE,
    last_ip_address TEXT,
    health_status TEXT NOT NULL COLLATE NOCASE,
    device_value TEXT COLLATE NOCASE,
    rbac_group_id INTEGER NOT NULL,
    rbac_group_name TEXT,
    risk_score TEXT COLLATE NOCASE,
    exposure_level TEXT COLLATE NOCASE,
    aad_device_id TEXT COLLATE NOCASE,
    machine_tags TEXT NOT NULL,
    onboarding_status TEXT NOT NULL COLLATE NOCASE,
    doc TEXT NOT NULL,
    -- DeviceState (isolation, restriction…): never part of the API document.
    state TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS machines_dns ON machines (tenant_id, computer_dns_name, id, rbac_group_id);
CREATE INDEX IF NOT EXISTS machines_last_seen ON machines (tenant_id, last_seen_ms, rbac_group_id);
CREATE INDEX IF NOT EXISTS machines_group ON machines (tenant_id, rbac_group_id, id);
CREATE INDEX IF NOT EXISTS machines_health ON machines (tenant_id, health_status, id, rbac_group_id);
CREATE INDEX IF NOT EXISTS machines_os ON machines (tenant_id, os_platform, id, rbac_group_id);
CREATE INDEX IF NOT EXISTS machines_risk ON machines (tenant_id, risk_score, id, rbac_group_id);
CREATE INDEX IF NOT EXISTS machines_last_ip ON machines (tenant_id, last_ip_address);
-- Every internal address a device reported, with the span of lastSeen it was reported over
-- (findbyip asks about the past, not only the current address).
CREATE TABLE IF NOT EXISTS machine_ips (
    tenant_id TEXT NOT NULL,
    machine_id TEXT NOT NULL COLLATE NOCASE,
    ip TEXT NOT NULL COLLATE NOCASE,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, ip, machine_id)
) WITHOUT ROWID;
-- Tags of each device, so findbytag (exact or prefix, case-insensitive) is an index range.
CREATE TABLE IF NOT EXISTS machine_tag_index (
    tenant_id TEXT NOT NULL,
    tag TEXT NOT NULL COLLATE NOCASE,
    machine_id TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (tenant_id, tag, machine_id)
) WITHOUT ROWID;

-- Alerts: `doc` without evidence (list pages rarely expand it), `evidence` as a JSON array.
CREATE TABLE IF NOT EXISTS alerts (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    incident_id INTEGER,
    investigation_id INTEGER,
    assigned_to TEXT COLLATE NOCASE,
    severity TEXT NOT NULL COLLATE NOCASE,
    status TEXT NOT NULL COLLATE NOCASE,
    classification TEXT COLLATE NOCASE,
    determination TEXT COLLATE NOCASE,
    detection_source TEXT NOT NULL COLLATE NOCASE,
    category TEXT NOT NULL COLLATE NOCASE,
    title TEXT NOT NULL,
    alert_creation_ms INTEGER,
    first_event_ms INTEGER,
    last_event_ms INTEGER,
    last_update_ms INTEGER,
    resolved_ms INTEGER,
    machine_id TEXT NOT NULL COLLATE NOCASE,
    computer_dns_name TEXT COLLATE NOCASE,
    rbac_group_id INTEGER NOT NULL,
    doc TEXT NOT NULL,
    evidence TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS alerts_machine ON alerts (tenant_id, machine_id, id);
-- Also answers "incidents with an alert in these device groups" from the index alone.
CREATE INDEX IF NOT EXISTS alerts_incident ON alerts (tenant_id, incident_id, rbac_group_id);
CREATE INDEX IF NOT EXISTS alerts_updated ON alerts (tenant_id, last_update_ms);
CREATE INDEX IF NOT EXISTS alerts_created ON alerts (tenant_id, alert_creation_ms);
CREATE INDEX IF NOT EXISTS alerts_status ON alerts (tenant_id, status, id, rbac_group_id);
CREATE INDEX IF NOT EXISTS alerts_severity ON alerts (tenant_id, severity, id, rbac_group_id);
CREATE INDEX IF NOT EXISTS alerts_group ON alerts (tenant_id, rbac_group_id, id);
-- Entities named by alert evidence (and relatedUser): kind file|ip|domain|user, value lowercase.
CREATE TABLE IF NOT EXISTS alert_entities (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    machine_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, value, alert_id)
) WITHOUT ROWID;
-- Sightings of files, IPs and domains on devices (one row each: prevalence needs exact times).
CREATE TABLE IF NOT EXISTS observations (
    tenant_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    machine_id TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    file_name TEXT
);
CREATE INDEX IF NOT EXISTS observations_key ON observations (tenant_id, kind, value, time_ms);
CREATE TABLE IF NOT EXISTS logons (
    tenant_id TEXT NOT NULL,
    machine_id TEXT NOT NULL COLLATE NOCASE,
    account_domain TEXT NOT NULL,
    account_name TEXT NOT NULL COLLATE NOCASE,
    account_sid TEXT,
    logon_type TEXT NOT NULL,
    is_domain_admin INTEGER NOT NULL,
    time_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS logons_machine ON logons (tenant_id, machine_id, time_ms);
CREATE INDEX IF NOT EXISTS logons_account ON logons (tenant_id, account_name, time_ms);
CREATE TABLE IF NOT EXISTS files (
    tenant_id TEXT NOT NULL,
    sha1 TEXT NOT NULL COLLATE NOCASE,
    sha256 TEXT COLLATE NOCASE,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, sha1)
);
CREATE INDEX IF NOT EXISTS files_sha256 ON files (tenant_id, sha256);

CREATE TABLE IF NOT EXISTS machine_actions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL COLLATE NOCASE,
    type TEXT NOT NULL COLLATE NOCASE,
    requestor TEXT NOT NULL COLLATE NOCASE,
    status TEXT NOT NULL COLLATE NOCASE,
    machine_id TEXT NOT NULL COLLATE NOCASE,
    computer_dns_name TEXT COLLATE NOCASE,
    creation_ms INTEGER NOT NULL,
    last_update_ms INTEGER NOT NULL,
    rbac_group_id INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX IF NOT EXISTS actions_machine ON machine_actions (tenant_id, machine_id, status);
CREATE INDEX IF NOT EXISTS actions_created ON machine_actions (tenant_id, creation_ms);
CREATE INDEX IF NOT EXISTS actions_group ON machine_actions (tenant_id, rbac_group_id, id);
-- The device agent polls open actions of every tenant.
CREATE INDEX IF NOT EXISTS actions_open ON machine_actions (status, creation_ms);

CREATE TABLE IF NOT EXISTS incidents (
    tenant_id TEXT NOT NULL,
    incident_id INTEGER NOT NULL,
    incident_name TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    last_update_ms INTEGER NOT NULL,
    assigned_to TEXT COLLATE NOCASE,
    classification TEXT NOT NULL COLLATE NOCASE,
    determination TEXT NOT NULL COLLATE NOCASE,
    status TEXT NOT NULL COLLATE NOCASE,
    severity TEXT NOT NULL COLLATE NOCASE,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant_id, incident_id)
);
CREATE INDEX IF NOT EXISTS incidents_created ON incidents (tenant_id, created_ms, incident_id);
CREATE INDEX IF NOT EXISTS incidents_updated ON incidents (tenant_id, last_update_ms);
CREATE INDEX IF NOT EXISTS incidents_status ON incidents (tenant_id, status, incident_id);

-- Portal access configuration (RBAC roles, device groups): one small document per tenant.
CREATE TABLE IF NOT EXISTS rbac_configs (
    tenant_id TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
