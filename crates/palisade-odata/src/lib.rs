//! OData v4 query options for the Defender for Endpoint API, as plain Rust with no HTTP.
//!
//! The Defender collection endpoints (`/api/alerts`, `/api/machines`, …) accept `$filter`, `$top`,
//! `$skip`, `$select`, `$orderby`, `$expand` and `$count` (spec §5). This crate turns the raw query
//! string into [`QueryOptions`], checks it against a per-collection [`Schema`], and then either
//! translates the filter into a parameterised SQLite `WHERE` clause ([`to_sql`]) or evaluates it
//! against entities in their API JSON shape ([`eval`]). Both are driven by the same type-checked
//! [`Filter`], so a store and an in-memory fallback return the same rows. Every failure is an
//! [`ODataError`] whose text is the API's `ODataError` message (spec §7).
//!
//! Semantics shared by SQL and evaluation:
//! - Null follows the OData "lifted operators" rules (MS-ODATA 2.2.3.6.1.1.5): `eq` treats two nulls
//!   as equal and null as unequal to any value (so `riskScore ne 'High'` matches a null
//!   `riskScore`); `gt ge lt le`, `in` and the text functions are false on null; `and`/`or`/`not`
//!   are ordinary two-valued logic.
//! - Case-insensitive properties (and GUIDs) fold ASCII only, like SQLite's `NOCASE` and `lower()`;
//!   other strings compare byte-wise.
//! - Datetimes compare at millisecond precision (sub-millisecond digits are truncated).
//! - Comparisons are between one property operand (optionally under `tolower`/`toupper`) and a
//!   literal; property-to-property comparisons are rejected.
//!
//! ```
//! use palisade_odata::{Kind, Property, QueryOptions, Schema};
//!
//! static MACHINE_PROPS: &[Property] = &[
//!     Property::new("id", Kind::String, "m.id"),
//!     Property::new("computerDnsName", Kind::String, "m.dns_name").nocase(),
//!     Property::new("riskScore", Kind::Enum, "m.risk_score").nocase(),
//!     Property::new("lastSeen", Kind::DateTime, "m.last_seen_ms"),
//!     Property::new("machineTags", Kind::StringCollection, "m.tags_json"),
//! ];
//! static MACHINES: Schema = Schema { entity_set: "Machines", max_top: 10_000, properties: MACHINE_PROPS };
//!
//! let q = QueryOptions::parse_for("$filter=riskScore+eq+'High'+and+lastSeen+gt+2018-08-01Z&$top=50", &MACHINES)?;
//! let (sql, params) = palisade_odata::to_sql(q.filter.as_ref().unwrap(), &MACHINES)?;
//! assert_eq!(sql, "(((m.risk_score) COLLATE NOCASE IS ?) AND ((m.last_seen_ms) > ? AND (m.last_seen_ms) IS NOT NULL))");
//! assert_eq!(params.len(), 2);
//! # Ok::<(), palisade_odata::ODataError>(())
//! ```

#![warn(missing_docs)]

mod ast;
mod check;
mod error;
mod eval;
mod lexer;
mod parser;
mod query;
mod schema;
mod sql;

pub use ast::{CompareOp, Expr, Function, LambdaKind, Literal};
pub use check::Filter;
pub use error::ODataError;
pub use eval::{compare_entities, datetime_to_millis, eval};
pub use parser::{MAX_LOGICAL_OPERATORS, MAX_NESTING, parse_filter};
pub use query::{Direction, QueryOptions, next_link, project};
pub use schema::{Kind, Property, Schema};
pub use sql::{SqlValue, order_by_sql, to_sql};
