//! Translation of a checked filter (and `$orderby`) to SQLite.
//!
//! Every generated boolean is two-valued (0/1, never NULL), so `NOT`, `AND` and `OR` behave exactly
//! like the in-memory evaluator's Rust booleans; null handling is spelled out per operator:
//! `eq` → `IS ?`, `ne` → `IS NOT ?`, ordering and text operators → `… AND x IS NOT NULL`.

use crate::check::{Case, Node, Operand, Scalar, Source, TextFn};
use crate::{CompareOp, Direction, Expr, Filter, LambdaKind, ODataError, Schema};

/// A bound parameter for the generated SQL. Literals are never interpolated into SQL text.
///
/// Kept independent of any SQLite crate so this crate has no database dependency; converting to
/// `rusqlite::types::Value` is a three-arm `match`.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQLite INTEGER (also booleans as 0/1 and datetimes as unix milliseconds).
    Integer(i64),
    /// SQLite REAL.
    Real(f64),
    /// SQLite TEXT.
    Text(String),
}

/// Alias of the `json_each` table inside lambda subqueries; unusual enough not to collide with the
/// caller's table aliases.
const ELEM: &str = "odata_elem";

/// Translates `expr` into a SQLite boolean expression for a `WHERE` clause plus its parameters, in
/// order, for anonymous `?` placeholders.
///
/// Property references become the schema's `column` expressions; see [`crate::Kind`] for the storage
/// each kind expects. Equivalent to `Filter::new(expr, schema)?.to_sql()`.
pub fn to_sql(expr: &Expr, schema: &Schema) -> Result<(String, Vec<SqlValue>), ODataError> {
    Ok(Filter::new(expr, schema)?.to_sql())
}

impl Filter {
    /// The SQLite `WHERE` expression (without the keyword) and its parameters, for anonymous `?`
    /// placeholders in order. The expression is parenthesised, so it can be `AND`-ed with the
    /// caller's own conditions.
    pub fn to_sql(&self) -> (String, Vec<SqlValue>) {
        let mut params = Vec::new();
        let sql = node_sql(&self.node, &mut params);
        (sql, params)
    }
}

fn scalar(v: &Scalar) -> SqlValue {
    match v {
        Scalar::Text(s) => SqlValue::Text(s.clone()),
        Scalar::Int(n) => SqlValue::Integer(*n),
        Scalar::Float(x) => SqlValue::Real(*x),
        Scalar::Bool(b) => SqlValue::Integer(i64::from(*b)),
    }
}

fn operand_sql(o: &Operand) -> String {
    let mut s = match o.source {
        Source::Column(p) => format!("({})", p.column),
        Source::Element(_) => format!("{ELEM}.value"),
    };
    for c in &o.cases {
        s = match c {
            Case::Lower => format!("lower({s})"),
            Case::Upper => format!("upper({s})"),
        };
    }
    s
}

fn collate(o: &Operand) -> &'static str {
    if o.nocase { " COLLATE NOCASE" } else { "" }
}

fn node_sql(n: &Node, params: &mut Vec<SqlValue>) -> String {
    match n {
        Node::Const(b) => (if *b { "1" } else { "0" }).to_string(),
        Node::Cmp(o, op, v) => {
            let x = operand_sql(o);
            let c = collate(o);
            params.push(scalar(v));
            match op {
                CompareOp::Eq => format!("({x}{c} IS ?)"),
                CompareOp::Ne => format!("({x}{c} IS NOT ?)"),
                _ => {
                    let sym = match op {
                        CompareOp::Gt => ">",
                        CompareOp::Ge => ">=",
                        CompareOp::Lt => "<",
                        _ => "<=",
                    };
                    format!("({x}{c} {sym} ? AND {x} IS NOT NULL)")
                }
            }
        }
        Node::IsNull(o, negated) => {
            let x = operand_sql(o);
            if *negated { format!("({x} IS NOT NULL)") } else { format!("({x} IS NULL)") }
        }
        Node::In(o, values) => {
            let x = operand_sql(o);
            let marks = vec!["?"; values.len()].join(", ");
            params.extend(values.iter().map(scalar));
            format!("({x} IS NOT NULL AND {x}{} IN ({marks}))", collate(o))
        }
        Node::Text(f, o, needle) => {
            let x = operand_sql(o);
            let c = collate(o);
            if needle.is_empty() {
                return format!("({x} IS NOT NULL)");
            }
            // substr() and length() count characters, so the prefix/suffix length is in characters.
            let n = needle.chars().count() as i64;
            match f {
                TextFn::StartsWith => {
                    params.push(SqlValue::Integer(n));
                    params.push(SqlValue::Text(needle.clone()));
                    format!("({x} IS NOT NULL AND substr({x}, 1, ?){c} = ?)")
                }
                TextFn::EndsWith => {
                    params.push(SqlValue::Integer(-n));
                    params.push(SqlValue::Text(needle.clone()));
                    format!("({x} IS NOT NULL AND substr({x}, ?){c} = ?)")
                }
                TextFn::Contains if o.nocase => {
                    // lower() and NOCASE both fold ASCII only, like the evaluator.
                    params.push(SqlValue::Text(needle.to_ascii_lowercase()));
                    format!("({x} IS NOT NULL AND instr(lower({x}), ?) > 0)")
                }
                TextFn::Contains => {
                    params.push(SqlValue::Text(needle.clone()));
                    format!("({x} IS NOT NULL AND instr({x}, ?) > 0)")
                }
            }
        }
        Node::Not(inner) => format!("(NOT {})", node_sql(inner, params)),
        Node::And(a, b) => {
            let a = node_sql(a, params);
            format!("({a} AND {})", node_sql(b, params))
        }
        Node::Or(a, b) => {
            let a = node_sql(a, params);
            format!("({a} OR {})", node_sql(b, params))
        }
        Node::Lambda(kind, p, body) => {
            let from = format!("json_each(({})) AS {ELEM}", p.column);
            match (kind, body) {
                (_, None) => format!("(EXISTS (SELECT 1 FROM {from}))"),
                (LambdaKind::Any, Some(b)) => format!("(EXISTS (SELECT 1 FROM {from} WHERE {}))", node_sql(b, params)),
                (LambdaKind::All, Some(b)) => {
                    format!("(NOT EXISTS (SELECT 1 FROM {from} WHERE NOT {}))", node_sql(b, params))
                }
            }
        }
    }
}

/// Translates `$orderby` into the body of a SQLite `ORDER BY` clause (without the keywords), or
/// `None` when there is nothing to sort by.
///
/// Case-insensitive properties sort with `COLLATE NOCASE`; NULLs sort first ascending (SQLite's
/// default, which is also OData's). Append a unique key yourself if paging must be stable.
pub fn order_by_sql(orderby: &[(String, Direction)], schema: &Schema) -> Result<Option<String>, ODataError> {
    if orderby.is_empty() {
        return Ok(None);
    }
    let mut parts = Vec::with_capacity(orderby.len());
    for (name, dir) in orderby {
        let p = crate::query::sortable_property(schema, name)?;
        let c = if p.folds_case() { " COLLATE NOCASE" } else { "" };
        let d = match dir {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        };
        parts.push(format!("({}){c} {d}", p.column));
    }
    Ok(Some(parts.join(", ")))
}
