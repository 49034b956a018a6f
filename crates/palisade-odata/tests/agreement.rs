//! Differential test: random filters from the whole grammar, run through `to_sql` + SQLite and
//! through `eval`, must select exactly the same rows of a pseudo-random table. Also checks that the
//! printed form of every generated expression parses back to the same tree, and that `$orderby`
//! sorts identically in SQLite and in memory.

mod common;

use common::{CREATE_THINGS, THINGS, insert_thing, query_ids};
use palisade_odata::{
    CompareOp, Direction, Expr, Filter, Function, LambdaKind, Literal, compare_entities, order_by_sql, parse_filter,
};
use rusqlite::Connection;
use serde_json::{Map, Value, json};
use time::{OffsetDateTime, UtcOffset};

/// Knuth's MMIX LCG; the high bits are used.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const NAMES: &[&str] = &[
    "alpha",
    "Alpha",
    "ALPHA-01",
    "beta",
    "Beta_2",
    "gamma%",
    "delta\\x",
    "o'neil",
    "zeta",
    "Ωmega",
    "ωmega",
    "",
    "a_b",
    "a%b",
    "mixedCase",
    "[bracket]",
    "^caret",
    "`tick",
];
const CODES: &[&str] = &["AB-1", "ab-1", "Ab_2", "x%y", "x_y", "x\\y", "it's", "", "ABC", "abc", "zz;--", "Z", "_"];
const STATUSES: &[&str] = &["New", "new", "InProgress", "Resolved", "RESOLVED", "inprogress"];
const TAGS: &[&str] = &["red", "Red", "RED", "blue", "green", "x%", "a_b", "", "o'k"];
const GUIDS: &[&str] = &[
    "6a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "6A1C2B3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",
    "00000000-0000-0000-0000-000000000001",
    "ffffffff-ffff-4fff-bfff-ffffffffffff",
];
const BASE_MS: i64 = 1_600_000_000_000;

fn format_ts(rng: &mut Lcg, ms: i64) -> String {
    // Add sub-millisecond ticks and sometimes a non-UTC offset: both must disappear in storage.
    let ticks = rng.below(10_000) as i128;
    let dt = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000 + ticks * 100).unwrap();
    let dt = if rng.chance(30) { dt.to_offset(UtcOffset::from_hms(5, 30, 0).unwrap()) } else { dt };
    let (y, mo, d) = (dt.year(), dt.month() as u8, dt.day());
    let (h, mi, s, ns) = (dt.hour(), dt.minute(), dt.second(), dt.nanosecond());
    let off = dt.offset();
    let off = if off.is_utc() {
        "Z".to_string()
    } else {
        format!("+{:02}:{:02}", off.whole_hours(), off.minutes_past_hour())
    };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:07}{off}", ns / 100)
}

fn gen_rows(rng: &mut Lcg, n: usize) -> (Vec<Value>, Vec<i64>) {
    let mut rows = Vec::new();
    let mut seen_pool = Vec::new();
    for i in 0..n {
        let mut o = Map::new();
        o.insert("id".into(), json!(format!("r{i:03}")));
        // Each optional property: usually a value, sometimes explicit null, sometimes absent.
        let mut put = |rng: &mut Lcg, k: &str, v: Value| match rng.below(10) {
            0 => {}
            1 => {
                o.insert(k.into(), Value::Null);
            }
            _ => {
                o.insert(k.into(), v);
            }
        };
        let name = *rng.pick(NAMES);
        put(rng, "name", json!(name));
        let code = *rng.pick(CODES);
        put(rng, "code", json!(code));
        let status = *rng.pick(STATUSES);
        put(rng, "status", json!(status));
        let ms = BASE_MS + rng.below(20) as i64 * 3_600_000 + rng.below(3) as i64 * 999;
        seen_pool.push(ms);
        let ts = format_ts(rng, ms);
        put(rng, "seen", json!(ts));
        let score = rng.below(13) as i64 - 4;
        put(rng, "score", json!(score));
        let ratio = (rng.below(17) as f64 - 6.0) * 0.25;
        put(rng, "ratio", json!(ratio));
        let active = rng.chance(50);
        put(rng, "active", json!(active));
        for key in ["tags", "labels"] {
            let tags: Vec<&str> = (0..rng.below(4)).map(|_| *rng.pick(TAGS)).collect();
            put(rng, key, json!(tags));
        }
        let g = *rng.pick(GUIDS);
        put(rng, "groupId", json!(g));
        o.insert("notes".into(), json!("n"));
        rows.push(Value::Object(o));
    }
    (rows, seen_pool)
}

struct Gen<'a> {
    rng: Lcg,
    seen: &'a [i64],
}

fn b(e: Expr) -> Box<Expr> {
    Box::new(e)
}

fn p(name: &str) -> Expr {
    Expr::Property(name.to_string())
}

impl Gen<'_> {
    fn op(&mut self) -> CompareOp {
        *self.rng.pick(&[CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le])
    }

    fn text_literal(&mut self, pool: &[&str]) -> String {
        let base = *self.rng.pick(pool);
        match self.rng.below(6) {
            0 => base.to_ascii_uppercase(),
            1 => base.to_ascii_lowercase(),
            2 => base.chars().take(self.rng.below(3) + 1).collect(),
            3 => base.chars().skip(self.rng.below(3)).collect(),
            _ => base.to_string(),
        }
    }

    /// A string operand over `prop`, sometimes wrapped in tolower/toupper.
    fn text_operand(&mut self, base: Expr) -> Expr {
        match self.rng.below(8) {
            0 => Expr::Call(Function::ToLower, vec![base]),
            1 => Expr::Call(Function::ToUpper, vec![base]),
            2 => Expr::Call(Function::ToLower, vec![Expr::Call(Function::ToUpper, vec![base])]),
            _ => base,
        }
    }

    fn datetime_literal(&mut self) -> Literal {
        let ms = match self.rng.below(3) {
            0 => *self.rng.pick(self.seen),
            1 => BASE_MS + self.rng.below(25) as i64 * 3_600_000 - 7_200_000,
            _ => *self.rng.pick(self.seen) + self.rng.below(3) as i64 - 1,
        };
        // Sometimes sub-millisecond digits on the literal, which truncate like stored values.
        let extra = if self.rng.chance(30) { self.rng.below(1_000_000) as i128 } else { 0 };
        let dt = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000 + extra).unwrap();
        Literal::DateTime(dt)
    }

    /// A comparison leaf on a random scalar property.
    fn comparison(&mut self) -> Expr {
        let (operand, lit): (Expr, Literal) = match self.rng.below(8) {
            0 => {
                let o = self.text_operand(p("name"));
                (o, Literal::String(self.text_literal(NAMES)))
            }
            1 => {
                let o = self.text_operand(p("code"));
                (o, Literal::String(self.text_literal(CODES)))
            }
            2 => {
                let o = self.text_operand(p("status"));
                (o, Literal::String(self.text_literal(STATUSES)))
            }
            3 => (p("seen"), self.datetime_literal()),
            4 => {
                let lit = if self.rng.chance(70) {
                    Literal::Int(self.rng.below(15) as i64 - 5)
                } else {
                    Literal::Float((self.rng.below(30) as f64 - 10.0) * 0.5)
                };
                (p("score"), lit)
            }
            5 => {
                let lit = if self.rng.chance(50) {
                    Literal::Int(self.rng.below(5) as i64 - 2)
                } else {
                    Literal::Float((self.rng.below(17) as f64 - 6.0) * 0.25)
                };
                (p("ratio"), lit)
            }
            6 => {
                let g = *self.rng.pick(GUIDS);
                let g = if self.rng.chance(50) { g.to_ascii_uppercase() } else { g.to_ascii_lowercase() };
                let lit = if self.rng.chance(50) { Literal::Guid(g) } else { Literal::String(g) };
                (p("groupId"), lit)
            }
            _ => {
                let op = if self.rng.chance(50) { CompareOp::Eq } else { CompareOp::Ne };
                let lit = if self.rng.chance(85) { Literal::Bool(self.rng.chance(50)) } else { Literal::Null };
                return Expr::Compare(op, b(p("active")), b(Expr::Literal(lit)));
            }
        };
        let op = self.op();
        let lit = if self.rng.chance(8) { Literal::Null } else { lit };
        if self.rng.chance(15) {
            Expr::Compare(op, b(Expr::Literal(lit)), b(operand))
        } else {
            Expr::Compare(op, b(operand), b(Expr::Literal(lit)))
        }
    }

    fn text_function(&mut self, base: Expr, pool: &[&str]) -> Expr {
        let f = *self.rng.pick(&[Function::StartsWith, Function::EndsWith, Function::Contains]);
        let operand = self.text_operand(base);
        let needle = if self.rng.chance(10) { String::new() } else { self.text_literal(pool) };
        let call = Expr::Call(f, vec![operand, Expr::Literal(Literal::String(needle))]);
        if self.rng.chance(15) {
            let op = if self.rng.chance(50) { CompareOp::Eq } else { CompareOp::Ne };
            Expr::Compare(op, b(call), b(Expr::Literal(Literal::Bool(self.rng.chance(50)))))
        } else {
            call
        }
    }

    fn in_list(&mut self) -> Expr {
        let n = self.rng.below(3) + 1;
        match self.rng.below(4) {
            0 => {
                let o = self.text_operand(p("name"));
                Expr::In(b(o), (0..n).map(|_| Literal::String(self.text_literal(NAMES))).collect())
            }
            1 => {
                let o = self.text_operand(p("status"));
                Expr::In(b(o), (0..n).map(|_| Literal::String(self.text_literal(STATUSES))).collect())
            }
            2 => Expr::In(b(p("score")), (0..n).map(|_| Literal::Int(self.rng.below(12) as i64 - 4)).collect()),
            _ => Expr::In(b(p("seen")), (0..n).map(|_| self.datetime_literal()).collect()),
        }
    }

    /// A predicate over the lambda variable `v`.
    fn element_predicate(&mut self, v: &str, depth: u32) -> Expr {
        let var = || Expr::Variable(v.to_string());
        if depth > 0 && self.rng.chance(30) {
            let l = self.element_predicate(v, depth - 1);
            return match self.rng.below(3) {
                0 => Expr::Not(b(l)),
                1 => Expr::And(b(l), b(self.element_predicate(v, depth - 1))),
                _ => Expr::Or(b(l), b(self.element_predicate(v, depth - 1))),
            };
        }
        match self.rng.below(3) {
            0 => {
                let o = self.text_operand(var());
                let op = self.op();
                let lit = if self.rng.chance(10) { Literal::Null } else { Literal::String(self.text_literal(TAGS)) };
                Expr::Compare(op, b(o), b(Expr::Literal(lit)))
            }
            1 => self.text_function(var(), TAGS),
            _ => {
                let o = self.text_operand(var());
                Expr::In(b(o), (0..self.rng.below(2) + 1).map(|_| Literal::String(self.text_literal(TAGS))).collect())
            }
        }
    }

    fn lambda(&mut self) -> Expr {
        let collection = if self.rng.chance(50) { "tags" } else { "labels" };
        let kind = if self.rng.chance(50) { LambdaKind::Any } else { LambdaKind::All };
        if kind == LambdaKind::Any && self.rng.chance(15) {
            return Expr::Lambda { collection: collection.into(), kind, body: None };
        }
        let v = *self.rng.pick(&["t", "tag", "x"]);
        let body = self.element_predicate(v, 2);
        Expr::Lambda { collection: collection.into(), kind, body: Some((v.into(), b(body))) }
    }

    fn leaf(&mut self) -> Expr {
        match self.rng.below(20) {
            0..=7 => self.comparison(),
            8..=10 => {
                let (base, pool) = match self.rng.below(4) {
                    0 => (p("name"), NAMES),
                    1 => (p("code"), CODES),
                    2 => (p("status"), STATUSES),
                    _ => (p("groupId"), GUIDS),
                };
                self.text_function(base, pool)
            }
            11..=12 => self.in_list(),
            13..=16 => self.lambda(),
            17 => p("active"),
            18 => Expr::Literal(Literal::Bool(self.rng.chance(50))),
            _ => {
                let name = *self.rng.pick(&["name", "seen", "score", "groupId", "active"]);
                let op = if self.rng.chance(50) { CompareOp::Eq } else { CompareOp::Ne };
                Expr::Compare(op, b(p(name)), b(Expr::Literal(Literal::Null)))
            }
        }
    }

    fn predicate(&mut self, depth: u32) -> Expr {
        if depth == 0 || self.rng.chance(35) {
            return self.leaf();
        }
        match self.rng.below(5) {
            0 => Expr::Not(b(self.predicate(depth - 1))),
            1 | 2 => Expr::And(b(self.predicate(depth - 1)), b(self.predicate(depth - 1))),
            _ => Expr::Or(b(self.predicate(depth - 1)), b(self.predicate(depth - 1))),
        }
    }
}

fn setup(seed: u64, n: usize) -> (Connection, Vec<Value>, Vec<i64>) {
    let mut rng = Lcg(seed);
    let (rows, seen) = gen_rows(&mut rng, n);
    let conn = Connection::open_in_memory().unwrap();
    conn.execute(CREATE_THINGS, []).unwrap();
    for r in &rows {
        insert_thing(&conn, r);
    }
    (conn, rows, seen)
}

fn ids(rows: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<String> {
    rows.iter().filter(|r| keep(r)).map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn sql_and_eval_select_the_same_rows() {
    let (conn, rows, seen) = setup(0x5EED_0DA7A, 200);
    let mut g = Gen { rng: Lcg(42), seen: &seen };
    let (mut empty, mut full, mut total) = (0, 0, 0);
    for i in 0..600 {
        let expr = g.predicate(4);
        let text = expr.to_string();
        let reparsed = parse_filter(&text).unwrap_or_else(|e| panic!("#{i} {text}: {e}"));
        assert_eq!(reparsed, expr, "#{i}: display/parse round trip of {text}");

        let filter = Filter::new(&expr, &THINGS).unwrap_or_else(|e| panic!("#{i} {text}: {e}"));
        let (sql, params) = filter.to_sql();
        let from_sql = query_ids(&conn, &sql, &params, None);
        let from_eval = ids(&rows, |r| filter.matches(r));
        assert_eq!(from_sql, from_eval, "#{i}: {text}\nSQL: {sql}\nparams: {params:?}");

        total += 1;
        if from_sql.is_empty() {
            empty += 1;
        } else if from_sql.len() == rows.len() {
            full += 1;
        }
    }
    // The comparison is only meaningful if most filters select a proper, non-empty subset.
    assert!(empty + full < total / 3, "too many trivial filters: {empty} empty, {full} full of {total}");
}

#[test]
fn agreement_holds_for_other_seeds() {
    for seed in [1_u64, 7, 1234] {
        let (conn, rows, seen) = setup(seed, 120);
        let mut g = Gen { rng: Lcg(seed ^ 0xABCDEF), seen: &seen };
        for i in 0..150 {
            let expr = g.predicate(3);
            let filter = Filter::new(&expr, &THINGS).unwrap();
            let (sql, params) = filter.to_sql();
            assert_eq!(
                query_ids(&conn, &sql, &params, None),
                ids(&rows, |r| filter.matches(r)),
                "seed {seed} #{i}: {expr}\nSQL: {sql}"
            );
        }
    }
}

#[test]
fn orderby_sorts_the_same_in_sqlite_and_memory() {
    let (conn, rows, _) = setup(99, 200);
    let mut rng = Lcg(2024);
    let sortable = ["name", "code", "status", "seen", "score", "ratio", "active", "groupId"];
    for _ in 0..100 {
        let mut orderby: Vec<(String, Direction)> = (0..rng.below(3) + 1)
            .map(|_| {
                let dir = if rng.chance(50) { Direction::Asc } else { Direction::Desc };
                (rng.pick(&sortable).to_string(), dir)
            })
            .collect();
        orderby.push(("id".into(), Direction::Asc));
        let order = order_by_sql(&orderby, &THINGS).unwrap().unwrap();
        let from_sql = query_ids(&conn, "1", &[], Some(&order));
        let mut sorted = rows.clone();
        sorted.sort_by(|a, b| compare_entities(&orderby, &THINGS, a, b));
        assert_eq!(from_sql, ids(&sorted, |_| true), "orderby {orderby:?} -> {order}");
    }
}
