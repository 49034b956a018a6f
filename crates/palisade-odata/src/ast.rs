//! Untyped syntax tree of a `$filter` expression, exactly as written (names not yet resolved).

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A literal value in a `$filter`.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer such as `42` or `-7`.
    Int(i64),
    /// A decimal or double such as `2.5` or `1e3`.
    Float(f64),
    /// A single-quoted string, with `''` already unescaped.
    String(String),
    /// An unquoted GUID, kept as written (checked against `8-4-4-4-12` hex digits).
    Guid(String),
    /// An unquoted `DateTimeOffset` (or date-only, meaning midnight UTC).
    DateTime(OffsetDateTime),
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl CompareOp {
    /// The OData keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Parses a keyword, ignoring ASCII case.
    pub fn from_keyword(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }

    /// The operator with its operands swapped (`5 lt x` ⇔ `x gt 5`).
    pub fn flipped(self) -> Self {
        match self {
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            other => other,
        }
    }
}

/// Built-in functions this implementation supports (spec §5 lists exactly the text ones; the case
/// functions are the usual OData way to ask for case-insensitive matching).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `startswith(prop, 'x')` → boolean.
    StartsWith,
    /// `endswith(prop, 'x')` → boolean.
    EndsWith,
    /// `contains(prop, 'x')` → boolean.
    Contains,
    /// `tolower(prop)` → string.
    ToLower,
    /// `toupper(prop)` → string.
    ToUpper,
}

impl Function {
    /// The OData name.
    pub fn name(self) -> &'static str {
        match self {
            Function::StartsWith => "startswith",
            Function::EndsWith => "endswith",
            Function::Contains => "contains",
            Function::ToLower => "tolower",
            Function::ToUpper => "toupper",
        }
    }

    /// Parses a function name, ignoring ASCII case.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "startswith" => Function::StartsWith,
            "endswith" => Function::EndsWith,
            "contains" => Function::Contains,
            "tolower" => Function::ToLower,
            "toupper" => Function::ToUpper,
            _ => return None,
        })
    }

    /// Number of arguments the function takes.
    pub fn arity(self) -> usize {
        match self {
            Function::StartsWith | Function::EndsWith | Function::Contains => 2,
            Function::ToLower | Function::ToUpper => 1,
        }
    }

    /// Whether the function yields a boolean (and so can be a filter on its own).
    pub fn is_predicate(self) -> bool {
        matches!(self, Function::StartsWith | Function::EndsWith | Function::Contains)
    }
}

/// `any` or `all` over a collection property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LambdaKind {
    /// `prop/any(t: …)` — some element matches (or, with no body, the collection is non-empty).
    Any,
    /// `prop/all(t: …)` — every element matches (vacuously true for an empty collection).
    All,
}

/// A parsed `$filter` expression. Names are as written by the client; [`crate::Filter::new`] resolves
/// and type-checks them against a [`crate::Schema`].
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Literal(Literal),
    /// A property reference.
    Property(String),
    /// The range variable of the enclosing lambda (`t` in `machineTags/any(t: t eq 'x')`).
    Variable(String),
    /// A function call.
    Call(Function, Vec<Expr>),
    /// `left op right`.
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    /// `operand in (literal, …)`.
    In(Box<Expr>, Vec<Literal>),
    /// `not expr`.
    Not(Box<Expr>),
    /// `left and right`.
    And(Box<Expr>, Box<Expr>),
    /// `left or right`.
    Or(Box<Expr>, Box<Expr>),
    /// `collection/any(var: body)` / `collection/all(var: body)`; `body` is `None` for `any()`.
    Lambda {
        /// Collection property name.
        collection: String,
        /// `any` or `all`.
        kind: LambdaKind,
        /// Range variable name and the predicate over it.
        body: Option<(String, Box<Expr>)>,
    },
}

impl Expr {
    /// Rewrites every property name with `f` (used to canonicalise names to the schema's casing).
    pub(crate) fn rename_properties(&mut self, f: &impl Fn(&str) -> Option<&'static str>) {
        match self {
            Expr::Property(name) => {
                if let Some(canonical) = f(name) {
                    *name = canonical.to_string();
                }
            }
            Expr::Lambda { collection, body, .. } => {
                if let Some(canonical) = f(collection) {
                    *collection = canonical.to_string();
                }
                if let Some((_, b)) = body {
                    b.rename_properties(f);
                }
            }
            Expr::Literal(_) | Expr::Variable(_) => {}
            Expr::Call(_, args) => args.iter_mut().for_each(|a| a.rename_properties(f)),
            Expr::Compare(_, l, r) | Expr::And(l, r) | Expr::Or(l, r) => {
                l.rename_properties(f);
                r.rename_properties(f);
            }
            Expr::In(e, _) | Expr::Not(e) => e.rename_properties(f),
        }
    }
}

impl fmt::Display for Literal {
    /// Renders the literal in `$filter` syntax, such that parsing the output yields the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => {
                let s = format!("{x:?}");
                if s.contains(['.', 'e', 'E']) { f.write_str(&s) } else { write!(f, "{s}.0") }
            }
            Literal::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Literal::Guid(g) => f.write_str(g),
            Literal::DateTime(dt) => match dt.format(&Rfc3339) {
                Ok(s) => f.write_str(&s),
                Err(_) => Err(fmt::Error),
            },
        }
    }
}

impl fmt::Display for Expr {
    /// Renders the expression in `$filter` syntax (fully parenthesised logical operators), such that
    /// [`crate::parse_filter`] of the output yields an equal tree.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn logical_child(e: &Expr, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match e {
                Expr::And(..) | Expr::Or(..) | Expr::Not(..) => write!(f, "({e})"),
                _ => write!(f, "{e}"),
            }
        }
        match self {
            Expr::Literal(l) => write!(f, "{l}"),
            Expr::Property(p) | Expr::Variable(p) => f.write_str(p),
            Expr::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Compare(op, l, r) => write!(f, "{l} {} {r}", op.keyword()),
            Expr::In(e, list) => {
                write!(f, "{e} in (")?;
                for (i, l) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{l}")?;
                }
                f.write_str(")")
            }
            Expr::Not(e) => {
                f.write_str("not (")?;
                write!(f, "{e}")?;
                f.write_str(")")
            }
            Expr::And(l, r) => {
                logical_child(l, f)?;
                f.write_str(" and ")?;
                logical_child(r, f)
            }
            Expr::Or(l, r) => {
                logical_child(l, f)?;
                f.write_str(" or ")?;
                logical_child(r, f)
            }
            Expr::Lambda { collection, kind, body } => {
                let k = match kind {
                    LambdaKind::Any => "any",
                    LambdaKind::All => "all",
                };
                match body {
                    None => write!(f, "{collection}/{k}()"),
                    Some((var, b)) => write!(f, "{collection}/{k}({var}: {b})"),
                }
            }
        }
    }
}
