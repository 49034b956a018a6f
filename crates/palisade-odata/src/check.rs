//! Name resolution and type checking of a `$filter`, producing the typed form that both the SQL
//! translator and the in-memory evaluator walk. Sharing this one form is what keeps the two in
//! agreement: every decision about types, literals and null handling is made here, once.

use crate::ast::{CompareOp, Expr, Function, LambdaKind, Literal};
use crate::lexer::{parse_datetime, to_millis};
use crate::{Kind, ODataError, Property, Schema};

/// A `$filter` that has been resolved against a [`Schema`] and type-checked.
///
/// Build it once per request with [`Filter::new`], then use [`Filter::to_sql`] for the store or
/// [`Filter::matches`] for in-memory collections; both have identical semantics.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub(crate) node: Node,
}

/// How the values of an operand compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValKind {
    Text,
    Int,
    Float,
    Bool,
    /// Unix milliseconds in SQL, ISO strings in JSON.
    DateTime,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Source {
    /// The property's own value.
    Column(&'static Property),
    /// The current element of the (string collection) property inside a lambda.
    Element(&'static Property),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Lower,
    Upper,
}

/// Something whose value is compared: a property or lambda element, possibly wrapped in
/// `tolower`/`toupper` (innermost first).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Operand {
    pub source: Source,
    pub cases: Vec<Case>,
    pub kind: ValKind,
    /// Compare with ASCII case folding (`COLLATE NOCASE`).
    pub nocase: bool,
}

/// A literal after coercion to its operand's type. Datetimes are unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextFn {
    StartsWith,
    EndsWith,
    Contains,
}

/// Two-valued (never unknown) boolean expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Const(bool),
    /// `operand op value`; `value` is never null. `eq`: null operand → false; `ne`: null operand →
    /// true (OData: null is not equal to any value); ordering operators: null operand → false.
    Cmp(Operand, CompareOp, Scalar),
    /// `operand eq null` (`negated: false`) / `operand ne null` (`negated: true`).
    IsNull(Operand, bool),
    /// `operand in (…)`: null operand → false.
    In(Operand, Vec<Scalar>),
    /// Text functions: null operand → false.
    Text(TextFn, Operand, String),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// `any`/`all` over a JSON-array column; `None` body = `any()` (non-empty). A null collection
    /// is empty: `any` false, `all` true.
    Lambda(LambdaKind, &'static Property, Option<Box<Node>>),
}

impl Filter {
    /// Resolves names (case-insensitively) and type-checks `expr` against `schema`.
    ///
    /// Fails with [`ODataError`] naming the offending property (and listing the filterable ones),
    /// or describing the type mismatch.
    pub fn new(expr: &Expr, schema: &Schema) -> Result<Filter, ODataError> {
        let cx = Checker { schema, lambda: None };
        Ok(Filter { node: cx.predicate(expr)? })
    }
}

struct Checker<'a> {
    schema: &'a Schema,
    /// Collection property and variable name of the enclosing lambda.
    lambda: Option<(&'static Property, &'a str)>,
}

fn type_err(msg: impl Into<String>) -> ODataError {
    ODataError::Type(msg.into())
}

fn literal_desc(l: &Literal) -> String {
    let ty = match l {
        Literal::Null => "null",
        Literal::Bool(_) => "Edm.Boolean",
        Literal::Int(_) => "Edm.Int64",
        Literal::Float(_) => "Edm.Double",
        Literal::String(_) => "Edm.String",
        Literal::Guid(_) => "Edm.Guid",
        Literal::DateTime(_) => "Edm.DateTimeOffset",
    };
    format!("{ty} literal {l}")
}

impl<'a> Checker<'a> {
    fn property(&self, name: &str) -> Result<&'static Property, ODataError> {
        let filterable = || self.schema.filterable_names();
        match self.schema.property(name) {
            None => Err(ODataError::UnknownProperty {
                name: name.to_string(),
                entity_set: self.schema.entity_set.to_string(),
                option: "$filter",
                allowed: filterable(),
            }),
            Some(p) if !p.filterable => Err(ODataError::PropertyNotAllowed {
                name: p.name.to_string(),
                entity_set: self.schema.entity_set.to_string(),
                option: "$filter",
                allowed: filterable(),
            }),
            Some(p) => Ok(p),
        }
    }

    /// Checks an expression used as a condition.
    fn predicate(&self, e: &'a Expr) -> Result<Node, ODataError> {
        match e {
            Expr::Literal(Literal::Bool(b)) => Ok(Node::Const(*b)),
            Expr::Literal(l) => Err(type_err(format!("expected a boolean condition, found {}", literal_desc(l)))),
            Expr::Property(_) | Expr::Variable(_) | Expr::Call(Function::ToLower | Function::ToUpper, _) => {
                let op = self.operand(e)?;
                if op.kind != ValKind::Bool {
                    return Err(type_err(format!(
                        "'{e}' is not a boolean condition; compare it with a value, e.g. {e} eq …"
                    )));
                }
                Ok(Node::Cmp(op, CompareOp::Eq, Scalar::Bool(true)))
            }
            Expr::Call(func, args) => self.text_fn(*func, args),
            Expr::Compare(op, l, r) => self.compare(*op, l, r),
            Expr::In(operand, list) => {
                let op = self.operand(operand)?;
                let values: Vec<Option<Scalar>> =
                    list.iter().map(|l| self.coerce(&op, operand, CompareOp::Eq, l)).collect::<Result<_, _>>()?;
                if values.iter().any(Option::is_none) {
                    return Err(type_err("null is not allowed in an 'in' list; use 'eq null'"));
                }
                Ok(Node::In(op, values.into_iter().flatten().collect()))
            }
            Expr::Not(inner) => Ok(Node::Not(Box::new(self.predicate(inner)?))),
            Expr::And(l, r) => Ok(Node::And(Box::new(self.predicate(l)?), Box::new(self.predicate(r)?))),
            Expr::Or(l, r) => Ok(Node::Or(Box::new(self.predicate(l)?), Box::new(self.predicate(r)?))),
            Expr::Lambda { collection, kind, body } => {
                if self.lambda.is_some() {
                    return Err(type_err(format!(
                        "a lambda body may only refer to its range variable, not to '{collection}'"
                    )));
                }
                let p = self.property(collection)?;
                if p.kind != Kind::StringCollection {
                    return Err(type_err(format!(
                        "'{}' is of type {}; any()/all() apply only to collection properties",
                        p.name,
                        p.kind.type_name()
                    )));
                }
                let body = match body {
                    None => None,
                    Some((var, b)) => {
                        let inner = Checker { schema: self.schema, lambda: Some((p, var.as_str())) };
                        Some(Box::new(inner.predicate(b)?))
                    }
                };
                Ok(Node::Lambda(*kind, p, body))
            }
        }
    }

    /// Resolves something that yields a value to compare.
    fn operand(&self, e: &'a Expr) -> Result<Operand, ODataError> {
        match e {
            Expr::Property(name) => {
                if let Some((_, var)) = self.lambda {
                    // Outer properties are not reachable from inside the lambda: the SQL form runs
                    // the body against json_each(), whose own columns would shadow them.
                    return Err(type_err(format!(
                        "a lambda body may only refer to its range variable '{var}', not to '{name}'"
                    )));
                }
                let p = self.property(name)?;
                let kind = match p.kind {
                    Kind::String | Kind::Enum | Kind::Guid => ValKind::Text,
                    Kind::Int => ValKind::Int,
                    Kind::Float => ValKind::Float,
                    Kind::Bool => ValKind::Bool,
                    Kind::DateTime => ValKind::DateTime,
                    Kind::StringCollection => {
                        return Err(type_err(format!(
                            "'{0}' is a collection; use a lambda such as {0}/any(t: t eq '…')",
                            p.name
                        )));
                    }
                };
                Ok(Operand { source: Source::Column(p), cases: Vec::new(), kind, nocase: p.folds_case() })
            }
            Expr::Variable(name) => match self.lambda {
                Some((coll, _)) => Ok(Operand {
                    source: Source::Element(coll),
                    cases: Vec::new(),
                    kind: ValKind::Text,
                    nocase: coll.folds_case(),
                }),
                None => Err(type_err(format!("'{name}' is not defined here"))),
            },
            Expr::Call(func @ (Function::ToLower | Function::ToUpper), args) => {
                let mut inner = self.operand(&args[0])?;
                if inner.kind != ValKind::Text {
                    return Err(type_err(format!("{}() needs a string argument, found '{}'", func.name(), args[0])));
                }
                inner.cases.push(if *func == Function::ToLower { Case::Lower } else { Case::Upper });
                Ok(inner)
            }
            Expr::Call(func, _) => Err(type_err(format!("{}() yields a boolean, not a value to compare", func.name()))),
            other => Err(type_err(format!("expected a property, found '{other}'"))),
        }
    }

    fn text_fn(&self, func: Function, args: &'a [Expr]) -> Result<Node, ODataError> {
        let f = match func {
            Function::StartsWith => TextFn::StartsWith,
            Function::EndsWith => TextFn::EndsWith,
            Function::Contains => TextFn::Contains,
            Function::ToLower | Function::ToUpper => unreachable!("handled as operands"),
        };
        let op = self.operand(&args[0])?;
        if op.kind != ValKind::Text {
            return Err(type_err(format!("{}() needs a string property, found '{}'", func.name(), args[0])));
        }
        match &args[1] {
            Expr::Literal(Literal::String(s)) => Ok(Node::Text(f, op, s.clone())),
            other => Err(type_err(format!(
                "the second argument of {}() must be a string literal, found '{other}'",
                func.name()
            ))),
        }
    }

    fn compare(&self, op: CompareOp, l: &'a Expr, r: &'a Expr) -> Result<Node, ODataError> {
        // `startswith(x,'a') eq true` (OData v3 habit): compare a condition with a boolean literal.
        for (cond, other) in [(l, r), (r, l)] {
            if let (Expr::Call(f, _), Expr::Literal(Literal::Bool(b))) = (cond, other)
                && f.is_predicate()
                && matches!(op, CompareOp::Eq | CompareOp::Ne)
            {
                let node = self.predicate(cond)?;
                return Ok(if *b == (op == CompareOp::Eq) { node } else { Node::Not(Box::new(node)) });
            }
        }
        let (operand, op, lit) = match (l, r) {
            (_, Expr::Literal(lit)) if !matches!(l, Expr::Literal(_)) => (l, op, lit),
            (Expr::Literal(lit), _) if !matches!(r, Expr::Literal(_)) => (r, op.flipped(), lit),
            _ => {
                let hint = if matches!((l, r), (Expr::Property(_), Expr::Property(_))) {
                    " (string literals are written in single quotes, e.g. 'High')"
                } else {
                    ""
                };
                return Err(type_err(format!(
                    "comparisons must be between a property and a literal value, found '{l} {} {r}'{hint}",
                    op.keyword()
                )));
            }
        };
        let o = self.operand(operand)?;
        match self.coerce(&o, operand, op, lit)? {
            None => Ok(match op {
                CompareOp::Eq => Node::IsNull(o, false),
                CompareOp::Ne => Node::IsNull(o, true),
                // OData: ordering comparisons with null are false.
                _ => Node::Const(false),
            }),
            Some(v) => Ok(Node::Cmp(o, op, v)),
        }
    }

    /// Converts `lit` to the operand's comparison type; `None` for `null`.
    fn coerce(&self, o: &Operand, e: &Expr, op: CompareOp, lit: &Literal) -> Result<Option<Scalar>, ODataError> {
        let mismatch = |hint: &str| {
            let ty = match o.source {
                Source::Column(p) if o.cases.is_empty() => p.kind.type_name(),
                _ => "Edm.String",
            };
            type_err(format!("cannot compare '{e}' ({ty}) with {}{hint}", literal_desc(lit)))
        };
        if *lit == Literal::Null {
            return Ok(None);
        }
        let is_guid = matches!(o.source, Source::Column(p) if p.kind == Kind::Guid) && o.cases.is_empty();
        let v = match (o.kind, lit) {
            (ValKind::Text, Literal::Guid(g)) if is_guid => Scalar::Text(g.to_ascii_lowercase()),
            (ValKind::Text, Literal::String(s)) if is_guid => {
                if !is_guid_text(s) {
                    return Err(mismatch(" (not a GUID)"));
                }
                Scalar::Text(s.to_ascii_lowercase())
            }
            (ValKind::Text, Literal::String(s)) => Scalar::Text(s.clone()),
            (ValKind::Int | ValKind::Float, Literal::Int(n)) => Scalar::Int(*n),
            (ValKind::Int | ValKind::Float, Literal::Float(x)) => Scalar::Float(*x),
            (ValKind::Bool, Literal::Bool(b)) => {
                if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                    return Err(type_err(format!("operator '{}' does not apply to Edm.Boolean '{e}'", op.keyword())));
                }
                Scalar::Bool(*b)
            }
            (ValKind::DateTime, Literal::DateTime(dt)) => Scalar::Int(to_millis(*dt)),
            (ValKind::DateTime, Literal::String(s)) if parse_datetime(s).is_some() => {
                return Err(mismatch("; datetime literals are written without quotes, e.g. 2019-11-22T00:00:00Z"));
            }
            _ => return Err(mismatch("")),
        };
        Ok(Some(v))
    }
}

fn is_guid_text(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}
