//! String literals full of SQL and LIKE metacharacters must match literally, in SQLite and in memory.

mod common;

use common::{CREATE_THINGS, THINGS, insert_thing, query_ids};
use palisade_odata::{Filter, QueryOptions};
use rusqlite::Connection;
use serde_json::{Value, json};

const CODES: &[&str] = &[
    "plain",
    "O'Brien",
    "100%",
    "100x",
    "a_b",
    "axb",
    "back\\slash",
    "back/slash",
    "x;--",
    "x; DROP TABLE things;--",
    "' OR '1'='1",
    "%",
    "_",
    "\\",
    "\\%",
    "''",
    "PLAIN",
];

fn setup() -> (Connection, Vec<Value>) {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute(CREATE_THINGS, []).unwrap();
    let rows: Vec<Value> = CODES
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"id": format!("r{i:02}"), "code": c, "name": c, "tags": [c], "labels": [c]}))
        .collect();
    for r in &rows {
        insert_thing(&conn, r);
    }
    (conn, rows)
}

/// Runs the filter (given as it would appear in a URL, percent-encoded) both ways and returns the
/// matching codes, asserting that SQLite and the evaluator agree.
fn run(conn: &Connection, rows: &[Value], encoded_filter: &str) -> Vec<String> {
    let q = QueryOptions::parse_for(&format!("$filter={encoded_filter}"), &THINGS).unwrap();
    let f: Filter = q.compiled_filter(&THINGS).unwrap().unwrap();
    let (sql, params) = f.to_sql();
    let from_sql = query_ids(conn, &sql, &params, None);
    let from_eval: Vec<String> =
        rows.iter().filter(|r| f.matches(r)).map(|r| r["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(from_sql, from_eval, "filter {encoded_filter}: SQL {sql}");
    let codes: Vec<String> = from_sql
        .iter()
        .map(|id| rows.iter().find(|r| r["id"] == json!(id)).unwrap()["code"].as_str().unwrap().to_string())
        .collect();
    // The table survived whatever the literal said.
    let n: i64 = conn.query_row("SELECT count(*) FROM things", [], |r| r.get(0)).unwrap();
    assert_eq!(n as usize, CODES.len());
    codes
}

fn enc(s: &str) -> String {
    s.replace('%', "%25").replace('\'', "''").replace('&', "%26").replace('+', "%2B").replace(' ', "%20")
}

#[test]
fn equality_matches_only_the_exact_value() {
    let (conn, rows) = setup();
    for code in CODES {
        let got = run(&conn, &rows, &format!("code eq '{}'", enc(code)));
        assert_eq!(got, vec![code.to_string()], "code eq {code:?}");
    }
}

#[test]
fn like_metacharacters_are_literal() {
    let (conn, rows) = setup();
    assert_eq!(run(&conn, &rows, "contains(code,'%25')"), vec!["100%", "%", "\\%"]);
    assert_eq!(run(&conn, &rows, "startswith(code,'100%25')"), vec!["100%"]);
    assert_eq!(run(&conn, &rows, "endswith(code,'_')"), vec!["_"]);
    assert_eq!(run(&conn, &rows, "contains(code,'a_b')"), vec!["a_b"]);
    assert_eq!(run(&conn, &rows, "startswith(code,'back\\')"), vec!["back\\slash"]);
    assert_eq!(run(&conn, &rows, "endswith(code,'\\')"), vec!["\\"]);
    assert_eq!(run(&conn, &rows, "contains(code,'\\%25')"), vec!["\\%"]);
    // Case-sensitive property: LIKE's default ASCII case-folding must not leak in.
    assert_eq!(run(&conn, &rows, "startswith(code,'plain')"), vec!["plain"]);
    // Case-insensitive property folds case but still treats metacharacters literally.
    assert_eq!(run(&conn, &rows, "startswith(name,'plain')"), vec!["plain", "PLAIN"]);
    assert_eq!(run(&conn, &rows, "contains(name,'_')"), vec!["a_b", "_"]);
}

#[test]
fn quotes_and_comment_sequences_are_literal() {
    let (conn, rows) = setup();
    assert_eq!(run(&conn, &rows, "contains(code,';--')"), vec!["x;--", "x; DROP TABLE things;--"]);
    assert_eq!(run(&conn, &rows, "code eq '''%20OR%20''1''=''1'"), vec!["' OR '1'='1"]);
    assert_eq!(run(&conn, &rows, "contains(code,'''')"), vec!["O'Brien", "' OR '1'='1", "''"]);
    assert_eq!(run(&conn, &rows, "code eq ''''''"), vec!["''"]);
    assert_eq!(run(&conn, &rows, "code in ('O''Brien','%25','x;--')"), vec!["O'Brien", "x;--", "%"]);
    assert_eq!(run(&conn, &rows, "tags/any(t: t eq 'x; DROP TABLE things;--')"), vec!["x; DROP TABLE things;--"]);
    assert_eq!(run(&conn, &rows, "labels/any(t: endswith(t,'%25'))"), vec!["100%", "%", "\\%"]);
}
