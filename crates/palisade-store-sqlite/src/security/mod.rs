//! The security store traits of `palisade_defender::store` on SQLite. Every statement is keyed by
//! tenant; OData filters and device-group scopes become parameterised SQL on indexed columns, so a
//! page of a large tenant costs an index range, not a scan.

use palisade_defender::rbac::DeviceScope;
use palisade_defender::store::{SecResult, SecurityStoreError};
use palisade_odata::{QueryOptions, Schema, SqlValue, order_by_sql};
use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

mod actions;
mod alerts;
mod entities;
mod incidents;
mod machines;
mod rbac;

#[cfg(test)]
mod tests;

fn be(e: impl std::fmt::Display) -> SecurityStoreError {
    SecurityStoreError::Backend(e.to_string())
}

fn to_json<T: Serialize>(v: &T) -> SecResult<String> {
    serde_json::to_string(v).map_err(be)
}

fn from_json<T: DeserializeOwned>(s: &str) -> SecResult<T> {
    serde_json::from_str(s).map_err(|e| be(format!("corrupt stored document: {e}")))
}

fn ms(t: OffsetDateTime) -> i64 {
    palisade_defender::wire_time::millis(t)
}

fn from_ms(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(v as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `?, ?, …` for `n` bound values.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Rows of one column, decoded from JSON.
fn docs<T: DeserializeOwned>(c: &Connection, sql: &str, args: Vec<Value>) -> SecResult<Vec<T>> {
    let mut stmt = c.prepare_cached(sql).map_err(be)?;
    let rows = stmt.query_map(params_from_iter(args), |r| r.get::<_, String>(0)).map_err(be)?;
    rows.map(|r| from_json(&r.map_err(be)?)).collect()
}

/// A statement under construction with its positional (`?`) parameters.
#[derive(Debug, Default)]
struct Sql {
    text: String,
    args: Vec<Value>,
}

impl Sql {
    fn new(text: &str, args: Vec<Value>) -> Self {
        Self { text: text.to_string(), args }
    }

    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn arg(&mut self, v: impl Into<Value>) -> &mut Self {
        self.args.push(v.into());
        self
    }

    /// `AND <col> IN (…)` for a group-scoped caller; a scope of no groups sees nothing.
    fn scope(&mut self, scope: &DeviceScope, col: &str) -> &mut Self {
        if let DeviceScope::Groups(ids) = scope {
            if ids.is_empty() {
                self.push(" AND 0");
            } else {
                self.text.push_str(&format!(" AND {col} IN ({})", marks(ids.len())));
                self.args.extend(ids.iter().map(|i| Value::Integer(*i)));
            }
        }
        self
    }

    /// `AND <filter>` for the request's `$filter`.
    fn filter(&mut self, q: &QueryOptions, schema: &Schema) -> SecResult<&mut Self> {
        if let Some(f) = q.compiled_filter(schema)? {
            let (where_sql, params) = f.to_sql();
            self.push(" AND ").push(&where_sql);
            self.args.extend(params.into_iter().map(sql_value));
        }
        Ok(self)
    }

    /// `ORDER BY` the request's `$orderby` (or `default`), then the unique `key` so pages are
    /// stable; then `page_size + 1` rows so the caller can tell whether a next page exists.
    fn page(&mut self, q: &QueryOptions, schema: &Schema, default: Option<&str>, key: &str) -> SecResult<&mut Self> {
        self.push(" ORDER BY ");
        // A repeated key (`ORDER BY id, id`) would keep SQLite from reading a filter index such as
        // (tenant_id, status, id) in order, as it cannot tell the second term is already satisfied.
        let has_key = q.orderby.iter().any(|(name, _)| schema.property(name).is_some_and(|p| p.column == key));
        match order_by_sql(&q.orderby, schema)? {
            Some(o) if has_key => {
                self.push(&o);
            }
            Some(o) => {
                self.push(&o).push(", ").push(key);
            }
            None => {
                self.push(default.unwrap_or(key));
            }
        }
        self.push(" LIMIT ? OFFSET ?");
        self.arg(q.page_size(schema) as i64 + 1).arg(q.skip.unwrap_or(0) as i64);
        Ok(self)
    }

    fn docs<T: DeserializeOwned>(self, c: &Connection) -> SecResult<Vec<T>> {
        docs(c, &self.text, self.args)
    }

    fn count(self, c: &Connection) -> SecResult<u64> {
        let mut stmt = c.prepare_cached(&self.text).map_err(be)?;
        let n: i64 = stmt.query_row(params_from_iter(self.args), |r| r.get(0)).map_err(be)?;
        Ok(n as u64)
    }
}

fn sql_value(v: SqlValue) -> Value {
    match v {
        SqlValue::Integer(i) => Value::Integer(i),
        SqlValue::Real(f) => Value::Real(f),
        SqlValue::Text(s) => Value::Text(s),
    }
}

/// How lookups and index rows spell an entity value: hashes, hosts and account names are
/// case-insensitive, so they are stored and looked up lowercase.
fn entity_value(v: &str) -> String {
    v.trim().trim_end_matches('.').to_lowercase()
}

/// The host of a URL (`http://Evil.example.com:8080/x` → `evil.example.com`); also accepts a bare
/// `host/path`. `None` when there is no host.
fn url_host(url: &str) -> Option<String> {
    let rest = url.trim();
    let rest = rest.split_once("://").map_or(rest, |(_, r)| r);
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    let host = entity_value(host);
    (!host.is_empty()).then_some(host)
}
