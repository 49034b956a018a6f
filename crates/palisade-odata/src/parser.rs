//! Recursive-descent parser for `$filter`.
//!
//! Precedence, loosest first: `or`, `and`, `not`, comparisons (`eq ne gt ge lt le in`), primaries.
//! `not` applies to a whole comparison (`not a eq 1` ≡ `not (a eq 1)`), which is the reading every
//! client intends; strict OData would bind it to `a` alone, which only type-checks for booleans.

use crate::ODataError;
use crate::ast::{CompareOp, Expr, Function, LambdaKind, Literal};
use crate::lexer::{Tok, Token, tokenize};

const RESERVED: &[&str] = &["and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le", "in"];

/// Deepest nesting of parentheses, `not`, function arguments and lambda bodies a filter may have.
/// The parser, the schema check and the SQL translation all recurse over the tree: unbounded, a
/// filter of a few thousand `(` overflows the thread's stack, which aborts the whole server.
pub const MAX_NESTING: usize = 32;

/// Most `and`/`or` operators in one filter (ASP.NET OData, which the service runs on, refuses
/// filters of more than 100 nodes by default). Chains build left-deep trees that the checks and
/// the SQL translation recurse over, so this bounds the stack they use — about 8 KiB a level in a
/// debug build, on 2 MiB worker stacks. Lists of values belong in `in (…)`.
pub const MAX_LOGICAL_OPERATORS: usize = 100;

/// Parses the (already percent-decoded) value of `$filter` into an [`Expr`].
///
/// Keywords, operators and function names are case-insensitive. Errors are
/// [`ODataError::Syntax`] with the 0-based character position of the offending token.
pub fn parse_filter(input: &str) -> Result<Expr, ODataError> {
    let toks = tokenize(input)?;
    let mut p = Parser { input, toks, i: 0, var: None, in_args: false, depth: 0, logical: 0 };
    if p.peek().tok == Tok::End {
        return Err(p.error("an expression"));
    }
    let e = p.or_expr()?;
    if p.peek().tok != Tok::End {
        return Err(p.error("'and', 'or' or end of input"));
    }
    Ok(e)
}

struct Parser<'a> {
    input: &'a str,
    toks: Vec<Token>,
    i: usize,
    /// Range variable of the lambda being parsed, if any.
    var: Option<String>,
    /// Directly inside a function's argument list (so `,` may follow an operand).
    in_args: bool,
    /// Current nesting ([`MAX_NESTING`]).
    depth: usize,
    /// `and`/`or` operators so far ([`MAX_LOGICAL_OPERATORS`]).
    logical: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.i + n).min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn error(&self, expected: &str) -> ODataError {
        let t = self.peek();
        ODataError::syntax(self.input, t.pos, expected, t.describe())
    }

    fn peek_keyword(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident(w) if w.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, tok: Tok, what: &str) -> Result<Token, ODataError> {
        if self.peek().tok == tok { Ok(self.next()) } else { Err(self.error(what)) }
    }

    /// Runs `f` one nesting level deeper, refusing past [`MAX_NESTING`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, ODataError>) -> Result<T, ODataError> {
        if self.depth >= MAX_NESTING {
            return Err(self.error(&format!(
                "an expression nested at most {MAX_NESTING} levels deep (parentheses, not, functions, lambdas)"
            )));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Consumes an `and`/`or`, refusing past [`MAX_LOGICAL_OPERATORS`].
    fn logical_operator(&mut self) -> Result<(), ODataError> {
        if self.logical >= MAX_LOGICAL_OPERATORS {
            return Err(self.error(&format!(
                "at most {MAX_LOGICAL_OPERATORS} 'and'/'or' operators (for many values of one property, use 'in (…)')"
            )));
        }
        self.logical += 1;
        self.next();
        Ok(())
    }

    fn or_expr(&mut self) -> Result<Expr, ODataError> {
        self.nested(|p| {
            let mut left = p.and_expr()?;
            while p.peek_keyword("or") {
                p.logical_operator()?;
                let right = p.and_expr()?;
                left = Expr::Or(Box::new(left), Box::new(right));
            }
            Ok(left)
        })
    }

    fn and_expr(&mut self) -> Result<Expr, ODataError> {
        let mut left = self.not_expr()?;
        while self.peek_keyword("and") {
            self.logical_operator()?;
            let right = self.not_expr()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, ODataError> {
        if self.peek_keyword("not") {
            self.next();
            return self.nested(|p| Ok(Expr::Not(Box::new(p.not_expr()?))));
        }
        self.cmp_expr()
    }

    fn cmp_expr(&mut self) -> Result<Expr, ODataError> {
        let left = self.primary()?;
        if let Tok::Ident(w) = &self.peek().tok {
            if let Some(op) = CompareOp::from_keyword(w) {
                self.next();
                let right = self.primary()?;
                return Ok(Expr::Compare(op, Box::new(left), Box::new(right)));
            }
            if w.eq_ignore_ascii_case("in") {
                self.next();
                let list = self.literal_list()?;
                return Ok(Expr::In(Box::new(left), list));
            }
        }
        // A bare operand followed by something that cannot continue an expression almost always
        // means a missing or misspelt operator (`name 'x'`, `name equals 'x'`).
        let operand_like = matches!(left, Expr::Property(_) | Expr::Variable(_) | Expr::Literal(_))
            || matches!(left, Expr::Call(f, _) if !f.is_predicate());
        let continues = match &self.peek().tok {
            Tok::End | Tok::RParen | Tok::Comma => true,
            Tok::Ident(w) => w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or"),
            _ => false,
        };
        if operand_like && !continues && !self.in_args {
            return Err(self.error("a comparison operator (eq, ne, gt, ge, lt, le, in)"));
        }
        Ok(left)
    }

    fn literal_list(&mut self) -> Result<Vec<Literal>, ODataError> {
        self.expect(Tok::LParen, "'(' to start the 'in' list")?;
        let mut list = Vec::new();
        loop {
            match self.literal() {
                Some(l) => list.push(l),
                None => return Err(self.error("a literal value")),
            }
            match self.peek().tok {
                Tok::Comma => {
                    self.next();
                }
                Tok::RParen => {
                    self.next();
                    return Ok(list);
                }
                _ => return Err(self.error("',' or ')'")),
            }
        }
    }

    /// Consumes a literal token if there is one.
    fn literal(&mut self) -> Option<Literal> {
        let lit = match &self.peek().tok {
            Tok::Str(s) => Literal::String(s.clone()),
            Tok::Int(n) => Literal::Int(*n),
            Tok::Float(x) => Literal::Float(*x),
            Tok::Guid(g) => Literal::Guid(g.clone()),
            Tok::DateTime(d) => Literal::DateTime(*d),
            Tok::Ident(w) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Tok::Ident(w) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Tok::Ident(w) if w.eq_ignore_ascii_case("null") => Literal::Null,
            _ => return None,
        };
        self.next();
        Some(lit)
    }

    fn primary(&mut self) -> Result<Expr, ODataError> {
        if let Some(lit) = self.literal() {
            return Ok(Expr::Literal(lit));
        }
        let tok = self.peek().clone();
        match &tok.tok {
            Tok::LParen => {
                self.next();
                let saved = std::mem::replace(&mut self.in_args, false);
                let e = self.or_expr();
                self.in_args = saved;
                let e = e?;
                self.expect(Tok::RParen, "')'")?;
                Ok(e)
            }
            Tok::Ident(word) => {
                if RESERVED.iter().any(|r| word.eq_ignore_ascii_case(r)) {
                    return Err(self.error("an operand"));
                }
                match self.peek_at(1).tok {
                    Tok::LParen => self.call(word),
                    Tok::Slash => self.lambda(word),
                    _ => {
                        self.next();
                        match &self.var {
                            Some(v) if v.eq_ignore_ascii_case(word) => Ok(Expr::Variable(word.clone())),
                            _ => Ok(Expr::Property(word.clone())),
                        }
                    }
                }
            }
            _ => Err(self.error("an operand")),
        }
    }

    fn call(&mut self, name: &str) -> Result<Expr, ODataError> {
        let Some(func) = Function::from_name(name) else {
            return Err(self.error("a supported function (startswith, endswith, contains, tolower, toupper)"));
        };
        self.next(); // name
        self.next(); // (
        let mut args = Vec::new();
        if self.peek().tok != Tok::RParen {
            loop {
                let saved = std::mem::replace(&mut self.in_args, true);
                let arg = self.or_expr();
                self.in_args = saved;
                args.push(arg?);
                if self.peek().tok == Tok::Comma {
                    self.next();
                } else {
                    break;
                }
            }
        }
        if self.peek().tok != Tok::RParen {
            return Err(self.error("',' or ')'"));
        }
        if args.len() != func.arity() {
            let n = func.arity();
            return Err(self.error(&format!("{n} argument{} for {}()", if n == 1 { "" } else { "s" }, func.name())));
        }
        self.next();
        Ok(Expr::Call(func, args))
    }

    fn lambda(&mut self, collection: &str) -> Result<Expr, ODataError> {
        self.next(); // collection
        self.next(); // '/'
        let kind = match &self.peek().tok {
            Tok::Ident(w) if w.eq_ignore_ascii_case("any") => LambdaKind::Any,
            Tok::Ident(w) if w.eq_ignore_ascii_case("all") => LambdaKind::All,
            _ => return Err(self.error("'any' or 'all'")),
        };
        self.next();
        self.expect(Tok::LParen, "'('")?;
        if kind == LambdaKind::Any && self.peek().tok == Tok::RParen {
            self.next();
            return Ok(Expr::Lambda { collection: collection.to_string(), kind, body: None });
        }
        let var = match &self.peek().tok {
            Tok::Ident(w) if !RESERVED.iter().any(|r| w.eq_ignore_ascii_case(r)) => w.clone(),
            _ => return Err(self.error("a lambda variable name")),
        };
        self.next();
        self.expect(Tok::Colon, "':'")?;
        let outer = self.var.replace(var.clone());
        let saved = std::mem::replace(&mut self.in_args, false);
        let body = self.or_expr();
        self.var = outer;
        self.in_args = saved;
        let body = body?;
        self.expect(Tok::RParen, "')'")?;
        Ok(Expr::Lambda { collection: collection.to_string(), kind, body: Some((var, Box::new(body))) })
    }
}
