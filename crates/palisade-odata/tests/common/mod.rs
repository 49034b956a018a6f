//! Schemas and SQLite helpers shared by the integration tests.
#![allow(dead_code)]

use palisade_odata::{Kind, Property, Schema, SqlValue};
use rusqlite::Connection;
use serde_json::Value;

/// A machines-like schema covering every kind, with columns that differ from property names.
pub static THING_PROPS: &[Property] = &[
    Property::new("id", Kind::String, "t.id"),
    Property::new("name", Kind::String, "t.name").nocase(),
    Property::new("code", Kind::String, "t.code"),
    Property::new("status", Kind::Enum, "t.status").nocase(),
    Property::new("seen", Kind::DateTime, "t.seen_ms"),
    Property::new("score", Kind::Int, "t.score"),
    Property::new("ratio", Kind::Float, "t.ratio"),
    Property::new("active", Kind::Bool, "t.active"),
    Property::new("tags", Kind::StringCollection, "t.tags"),
    Property::new("labels", Kind::StringCollection, "t.labels").nocase(),
    Property::new("groupId", Kind::Guid, "t.group_id"),
    Property::new("notes", Kind::String, "t.notes").not_filterable().not_sortable(),
];

pub static THINGS: Schema = Schema { entity_set: "Things", max_top: 100, properties: THING_PROPS };

pub const CREATE_THINGS: &str = "CREATE TABLE things (
    id TEXT PRIMARY KEY, name TEXT, code TEXT, status TEXT, seen_ms INTEGER, score INTEGER,
    ratio REAL, active INTEGER, tags TEXT, labels TEXT, group_id TEXT, notes TEXT)";

/// The machine properties filterable per DD get-machines.md (spec §5), plus a non-filterable one.
pub static MACHINE_PROPS: &[Property] = &[
    Property::new("id", Kind::String, "m.id"),
    Property::new("computerDnsName", Kind::String, "m.computer_dns_name").nocase(),
    Property::new("version", Kind::String, "m.version"),
    Property::new("deviceValue", Kind::Enum, "m.device_value").nocase(),
    Property::new("aadDeviceId", Kind::Guid, "m.aad_device_id"),
    Property::new("machineTags", Kind::StringCollection, "m.machine_tags"),
    Property::new("lastSeen", Kind::DateTime, "m.last_seen"),
    Property::new("exposureLevel", Kind::Enum, "m.exposure_level").nocase(),
    Property::new("onboardingStatus", Kind::Enum, "m.onboarding_status").nocase(),
    Property::new("lastIpAddress", Kind::String, "m.last_ip_address"),
    Property::new("healthStatus", Kind::Enum, "m.health_status").nocase(),
    Property::new("osPlatform", Kind::String, "m.os_platform").nocase(),
    Property::new("riskScore", Kind::Enum, "m.risk_score").nocase(),
    Property::new("rbacGroupId", Kind::Int, "m.rbac_group_id"),
    Property::new("isAadJoined", Kind::Bool, "m.is_aad_joined").not_filterable(),
];

pub static MACHINES: Schema = Schema { entity_set: "Machines", max_top: 10_000, properties: MACHINE_PROPS };

/// The alert properties filterable per DD get-alerts.md (spec §5).
pub static ALERT_PROPS: &[Property] = &[
    Property::new("id", Kind::String, "a.id"),
    Property::new("alertCreationTime", Kind::DateTime, "a.alert_creation_time"),
    Property::new("lastUpdateTime", Kind::DateTime, "a.last_update_time"),
    Property::new("lastEventTime", Kind::DateTime, "a.last_event_time"),
    Property::new("incidentId", Kind::Int, "a.incident_id"),
    Property::new("investigationId", Kind::Int, "a.investigation_id"),
    Property::new("assignedTo", Kind::String, "a.assigned_to").nocase(),
    Property::new("detectionSource", Kind::String, "a.detection_source").nocase(),
    Property::new("status", Kind::Enum, "a.status").nocase(),
    Property::new("severity", Kind::Enum, "a.severity").nocase(),
    Property::new("category", Kind::String, "a.category").nocase(),
    Property::new("title", Kind::String, "a.title").not_filterable(),
];

pub static ALERTS: Schema = Schema { entity_set: "Alerts", max_top: 10_000, properties: ALERT_PROPS };

pub fn to_rusqlite(v: &SqlValue) -> rusqlite::types::Value {
    match v {
        SqlValue::Integer(i) => rusqlite::types::Value::Integer(*i),
        SqlValue::Real(x) => rusqlite::types::Value::Real(*x),
        SqlValue::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

/// Ids of the `things` rows matching a generated WHERE clause, sorted.
pub fn query_ids(conn: &Connection, sql: &str, params: &[SqlValue], order: Option<&str>) -> Vec<String> {
    let order = order.map_or_else(|| "t.id".to_string(), str::to_string);
    let q = format!("SELECT t.id FROM things AS t WHERE {sql} ORDER BY {order}");
    let mut stmt = conn.prepare(&q).unwrap_or_else(|e| panic!("prepare {q}: {e}"));
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params.iter().map(to_rusqlite)), |r| r.get::<_, String>(0))
        .unwrap_or_else(|e| panic!("query {q}: {e}"));
    rows.map(|r| r.unwrap()).collect()
}

/// Inserts one row given as API JSON into `things`, converting to the storage conventions the
/// schema documents (millis, 0/1, JSON text).
pub fn insert_thing(conn: &Connection, e: &Value) {
    use rusqlite::types::Value as V;
    let text = |k: &str| e.get(k).and_then(Value::as_str).map_or(V::Null, |s| V::Text(s.to_string()));
    let seen = e
        .get("seen")
        .and_then(Value::as_str)
        .map_or(V::Null, |s| V::Integer(palisade_odata::datetime_to_millis(s).expect("valid timestamp")));
    let score = e.get("score").and_then(Value::as_i64).map_or(V::Null, V::Integer);
    let ratio = e.get("ratio").and_then(Value::as_f64).map_or(V::Null, V::Real);
    let active = e.get("active").and_then(Value::as_bool).map_or(V::Null, |b| V::Integer(b.into()));
    let json = |k: &str| match e.get(k) {
        Some(v @ Value::Array(_)) => V::Text(v.to_string()),
        _ => V::Null,
    };
    conn.execute(
        "INSERT INTO things VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rusqlite::params_from_iter([
            text("id"),
            text("name"),
            text("code"),
            text("status"),
            seen,
            score,
            ratio,
            active,
            json("tags"),
            json("labels"),
            text("groupId"),
            text("notes"),
        ]),
    )
    .unwrap();
}
