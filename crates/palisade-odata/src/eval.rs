//! In-memory evaluation of a checked filter against an entity in its API JSON shape, with exactly
//! the semantics of the SQL translation (ASCII-only case folding, byte-wise string order, exact
//! integer/float comparison, datetimes truncated to milliseconds).

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::Value;

use crate::check::{Case, Node, Operand, Scalar, Source, TextFn, ValKind};
use crate::lexer::{parse_datetime, to_millis};
use crate::{CompareOp, Direction, Expr, Filter, Kind, LambdaKind, Schema};

/// Whether `entity` (API JSON, keyed by property name) satisfies `expr`.
///
/// Same semantics as [`crate::to_sql`]. An expression that does not type-check against `schema`
/// matches nothing; validate requests first (e.g. with [`crate::QueryOptions::validate`]) to report
/// the error instead. For many entities, build a [`Filter`] once and call [`Filter::matches`].
pub fn eval(expr: &Expr, schema: &Schema, entity: &Value) -> bool {
    Filter::new(expr, schema).is_ok_and(|f| f.matches(entity))
}

impl Filter {
    /// Whether `entity` (API JSON, keyed by property name) satisfies the filter.
    ///
    /// Values are read by exact property name (falling back to a case-insensitive key match) and
    /// must have their API types: strings, numbers, booleans, ISO-8601 strings (or unix millisecond
    /// numbers) for datetimes, arrays of strings for collections. Missing keys are null.
    pub fn matches(&self, entity: &Value) -> bool {
        eval_node(&self.node, entity, None)
    }
}

/// A runtime value, comparable with the same rules SQLite uses for the stored value.
#[derive(Debug, Clone, PartialEq)]
enum Rt<'v> {
    Null,
    Text(Cow<'v, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
}

fn lookup<'v>(entity: &'v Value, name: &str) -> &'v Value {
    static NULL: Value = Value::Null;
    let Some(obj) = entity.as_object() else { return &NULL };
    if let Some(v) = obj.get(name) {
        return v;
    }
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map_or(&NULL, |(_, v)| v)
}

fn extract(v: &Value, kind: ValKind) -> Rt<'_> {
    match (kind, v) {
        (ValKind::Text, Value::String(s)) => Rt::Text(Cow::Borrowed(s)),
        (ValKind::Int | ValKind::Float, Value::Number(n)) => match n.as_i64() {
            Some(i) => Rt::Int(i),
            None => n.as_f64().map_or(Rt::Null, Rt::Float),
        },
        (ValKind::Bool, Value::Bool(b)) => Rt::Bool(*b),
        (ValKind::DateTime, Value::String(s)) => parse_datetime(s).map_or(Rt::Null, |d| Rt::Int(to_millis(d))),
        (ValKind::DateTime, Value::Number(n)) => n.as_i64().map_or(Rt::Null, Rt::Int),
        _ => Rt::Null,
    }
}

fn kind_of(kind: Kind) -> ValKind {
    match kind {
        Kind::String | Kind::Enum | Kind::Guid | Kind::StringCollection => ValKind::Text,
        Kind::Int => ValKind::Int,
        Kind::Float => ValKind::Float,
        Kind::Bool => ValKind::Bool,
        Kind::DateTime => ValKind::DateTime,
    }
}

fn operand_value<'v>(o: &Operand, entity: &'v Value, elem: Option<&'v Value>) -> Rt<'v> {
    let raw = match o.source {
        Source::Column(p) => lookup(entity, p.name),
        Source::Element(_) => elem.unwrap_or(&Value::Null),
    };
    let mut v = extract(raw, o.kind);
    for c in &o.cases {
        if let Rt::Text(s) = v {
            v = Rt::Text(Cow::Owned(match c {
                Case::Lower => s.to_ascii_lowercase(),
                Case::Upper => s.to_ascii_uppercase(),
            }));
        }
    }
    v
}

fn scalar_rt(s: &Scalar) -> Rt<'_> {
    match s {
        Scalar::Text(t) => Rt::Text(Cow::Borrowed(t)),
        Scalar::Int(i) => Rt::Int(*i),
        Scalar::Float(x) => Rt::Float(*x),
        Scalar::Bool(b) => Rt::Bool(*b),
    }
}

/// Exact comparison of an integer with a float, as SQLite does it (no rounding through f64).
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Greater;
    }
    if f >= i64::MAX as f64 {
        return Ordering::Less;
    }
    if f < i64::MIN as f64 {
        return Ordering::Greater;
    }
    let fl = f.floor();
    match i.cmp(&(fl as i64)) {
        Ordering::Equal if f > fl => Ordering::Less,
        o => o,
    }
}

/// SQLite comparison of two non-null values of the same class; `None` if either is null or the
/// classes differ (which a type-checked filter over well-typed data never produces).
fn compare(a: &Rt, b: &Rt, nocase: bool) -> Option<Ordering> {
    Some(match (a, b) {
        (Rt::Text(x), Rt::Text(y)) => {
            if nocase {
                x.bytes().map(|c| c.to_ascii_lowercase()).cmp(y.bytes().map(|c| c.to_ascii_lowercase()))
            } else {
                x.as_bytes().cmp(y.as_bytes())
            }
        }
        (Rt::Int(x), Rt::Int(y)) => x.cmp(y),
        (Rt::Int(x), Rt::Float(y)) => cmp_int_float(*x, *y),
        (Rt::Float(x), Rt::Int(y)) => cmp_int_float(*y, *x).reverse(),
        (Rt::Float(x), Rt::Float(y)) => x.partial_cmp(y)?,
        (Rt::Bool(x), Rt::Bool(y)) => x.cmp(y),
        _ => return None,
    })
}

fn eval_node(n: &Node, entity: &Value, elem: Option<&Value>) -> bool {
    match n {
        Node::Const(b) => *b,
        Node::Cmp(o, op, v) => {
            let ord = compare(&operand_value(o, entity, elem), &scalar_rt(v), o.nocase);
            match op {
                CompareOp::Eq => ord == Some(Ordering::Equal),
                CompareOp::Ne => ord != Some(Ordering::Equal),
                CompareOp::Gt => ord == Some(Ordering::Greater),
                CompareOp::Ge => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
                CompareOp::Lt => ord == Some(Ordering::Less),
                CompareOp::Le => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
            }
        }
        Node::IsNull(o, negated) => (operand_value(o, entity, elem) == Rt::Null) != *negated,
        Node::In(o, values) => {
            let x = operand_value(o, entity, elem);
            values.iter().any(|v| compare(&x, &scalar_rt(v), o.nocase) == Some(Ordering::Equal))
        }
        Node::Text(f, o, needle) => {
            let Rt::Text(s) = operand_value(o, entity, elem) else { return false };
            let (s, needle): (Cow<str>, Cow<str>) = if o.nocase {
                (Cow::Owned(s.to_ascii_lowercase()), Cow::Owned(needle.to_ascii_lowercase()))
            } else {
                (s, Cow::Borrowed(needle))
            };
            match f {
                TextFn::StartsWith => s.starts_with(needle.as_ref()),
                TextFn::EndsWith => s.ends_with(needle.as_ref()),
                TextFn::Contains => s.contains(needle.as_ref()),
            }
        }
        Node::Not(inner) => !eval_node(inner, entity, elem),
        Node::And(a, b) => eval_node(a, entity, elem) && eval_node(b, entity, elem),
        Node::Or(a, b) => eval_node(a, entity, elem) || eval_node(b, entity, elem),
        Node::Lambda(kind, p, body) => {
            let items: &[Value] = lookup(entity, p.name).as_array().map_or(&[], Vec::as_slice);
            match (kind, body) {
                (_, None) => !items.is_empty(),
                (LambdaKind::Any, Some(b)) => items.iter().any(|it| eval_node(b, entity, Some(it))),
                (LambdaKind::All, Some(b)) => items.iter().all(|it| eval_node(b, entity, Some(it))),
            }
        }
    }
}

/// Orders two entities by `$orderby`, the same way [`crate::order_by_sql`] makes SQLite order rows
/// (nulls first ascending, `COLLATE NOCASE` for case-insensitive properties). Use with
/// `sort_by` for in-memory collections.
///
/// Unknown or unsortable names are ignored here; validate the options first to reject them.
pub fn compare_entities(orderby: &[(String, Direction)], schema: &Schema, a: &Value, b: &Value) -> Ordering {
    for (name, dir) in orderby {
        let Some(p) = schema.property(name).filter(|p| p.sortable && p.kind != Kind::StringCollection) else {
            continue;
        };
        let k = kind_of(p.kind);
        let (x, y) = (extract(lookup(a, p.name), k), extract(lookup(b, p.name), k));
        let ord = match (&x, &y) {
            (Rt::Null, Rt::Null) => Ordering::Equal,
            (Rt::Null, _) => Ordering::Less,
            (_, Rt::Null) => Ordering::Greater,
            _ => compare(&x, &y, p.folds_case()).unwrap_or(Ordering::Equal),
        };
        let ord = if *dir == Direction::Desc { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Converts an ISO-8601 timestamp (as in entity JSON, or any form `$filter` accepts) to the unix
/// milliseconds that [`crate::Kind::DateTime`] columns must hold.
///
/// Stores should use this when writing rows so that stored values are truncated exactly like
/// filter literals (sub-millisecond digits dropped).
pub fn datetime_to_millis(s: &str) -> Option<i64> {
    parse_datetime(s).map(to_millis)
}
