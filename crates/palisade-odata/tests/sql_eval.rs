//! Targeted checks of the SQL shape and the evaluator's semantics (the random agreement test covers
//! breadth; these pin down specific decisions).

mod common;

use common::{MACHINES, THINGS};
use palisade_odata::{Filter, SqlValue, eval, parse_filter, to_sql};
use serde_json::{Value, json};

fn sql(schema: &palisade_odata::Schema, f: &str) -> (String, Vec<SqlValue>) {
    to_sql(&parse_filter(f).unwrap(), schema).unwrap()
}

fn ev(f: &str, entity: &Value) -> bool {
    eval(&parse_filter(f).unwrap(), &THINGS, entity)
}

#[test]
fn doc_examples_sql() {
    let (s, p) = sql(&MACHINES, "riskScore eq 'High'");
    assert_eq!(s, "((m.risk_score) COLLATE NOCASE IS ?)");
    assert_eq!(p, vec![SqlValue::Text("High".into())]);

    let (s, p) = sql(&MACHINES, "lastSeen gt 2018-08-01Z");
    assert_eq!(s, "((m.last_seen) > ? AND (m.last_seen) IS NOT NULL)");
    assert_eq!(p, vec![SqlValue::Integer(1_533_081_600_000)]);

    let (s, p) = sql(&MACHINES, "startswith(computerDnsName,'mymachine')");
    assert_eq!(s, "((m.computer_dns_name) IS NOT NULL AND substr((m.computer_dns_name), 1, ?) COLLATE NOCASE = ?)");
    assert_eq!(p, vec![SqlValue::Integer(9), SqlValue::Text("mymachine".into())]);

    let (s, p) = sql(&MACHINES, "machineTags/any(tag: tag eq 'ExampleTag')");
    assert_eq!(s, "(EXISTS (SELECT 1 FROM json_each((m.machine_tags)) AS odata_elem WHERE (odata_elem.value IS ?)))");
    assert_eq!(p, vec![SqlValue::Text("ExampleTag".into())]);
}

#[test]
fn literals_never_appear_in_sql_text() {
    let (s, p) = sql(&THINGS, "name eq 'secret1' or score gt 987654 or ratio lt 1.25 or code in ('secret2','secret3')");
    for needle in ["secret", "987654", "1.25"] {
        assert!(!s.contains(needle), "{s}");
    }
    assert_eq!(p.len(), 5);
}

#[test]
fn datetime_literals_become_millis_truncated() {
    let (_, p) = sql(&THINGS, "seen eq 2021-01-26T20:33:57.7229999Z");
    assert_eq!(p, vec![SqlValue::Integer(1_611_693_237_722)]);
    let (_, p) = sql(&THINGS, "seen ge 2019-11-22T10:00:00+02:00");
    assert_eq!(p, vec![SqlValue::Integer(1_574_409_600_000)]);
    assert_eq!(palisade_odata::datetime_to_millis("2021-01-26T20:33:57.7229999Z"), Some(1_611_693_237_722));
    assert_eq!(palisade_odata::datetime_to_millis("1969-12-31T23:59:59.9995Z"), Some(-1));
    assert_eq!(palisade_odata::datetime_to_millis("yesterday"), None);
}

#[test]
fn guid_literals_normalised() {
    let (s, p) = sql(&THINGS, "groupId eq 6A1C2B3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D");
    assert_eq!(s, "((t.group_id) COLLATE NOCASE IS ?)");
    assert_eq!(p, vec![SqlValue::Text("6a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".into())]);
}

#[test]
fn booleans_and_constants() {
    let (s, p) = sql(&THINGS, "active");
    assert_eq!((s.as_str(), p), ("((t.active) IS ?)", vec![SqlValue::Integer(1)]));
    let (s, p) = sql(&THINGS, "score gt null");
    assert_eq!((s.as_str(), p.len()), ("0", 0));
}

#[test]
fn null_semantics_in_eval() {
    let null_name = json!({"id": "1", "name": null});
    let missing = json!({"id": "1"});
    for e in [&null_name, &missing] {
        assert!(ev("name eq null", e));
        assert!(!ev("name ne null", e));
        assert!(!ev("name eq 'x'", e));
        assert!(ev("name ne 'x'", e), "OData: null is not equal to any value");
        assert!(!ev("name gt 'x'", e) && !ev("name lt 'x'", e));
        assert!(ev("not (name gt 'x')", e), "two-valued logic: not(false) is true");
        assert!(!ev("startswith(name,'')", e));
        assert!(!ev("name in ('x')", e));
        assert!(!ev("tags/any()", e) && !ev("tags/any(t: t eq 'x')", e));
        assert!(ev("tags/all(t: t eq 'x')", e), "all() over a missing collection is vacuously true");
    }
    let e = json!({"name": "x", "score": 5});
    assert!(ev("name ne null", &e) && !ev("name eq null", &e));
    assert!(!ev("score gt null", &e) && !ev("score le null", &e));
}

#[test]
fn case_rules_in_eval() {
    let e = json!({"name": "Alpha-One", "code": "Alpha-One", "status": "RESOLVED", "groupId": "6A1C2B3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"});
    // nocase property
    assert!(ev("name eq 'alpha-one'", &e));
    assert!(ev("startswith(name,'ALPHA') and endswith(name,'one') and contains(name,'A-O')", &e));
    // case-sensitive property
    assert!(!ev("code eq 'alpha-one'", &e));
    assert!(!ev("startswith(code,'ALPHA')", &e));
    assert!(ev("tolower(code) eq 'alpha-one' and toupper(code) eq 'ALPHA-ONE'", &e));
    assert!(ev("status in ('New','resolved')", &e));
    assert!(ev("groupId eq 6a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", &e));
    // ASCII-only folding, like SQLite's NOCASE and lower().
    let e = json!({"name": "ÄBC"});
    assert!(!ev("name eq 'äbc'", &e));
    assert!(ev("name eq 'Äbc'", &e));
}

#[test]
fn numbers_compare_exactly() {
    let e = json!({"score": 3, "ratio": 2.5});
    assert!(ev("score gt 2.5 and score lt 3.5 and score eq 3.0 and score ge 3", &e));
    assert!(ev("ratio gt 2 and ratio lt 3 and ratio eq 2.5", &e));
    let big = json!({"score": 9_007_199_254_740_993_i64});
    assert!(ev("score gt 9007199254740992.0", &big), "no rounding through f64");
}

#[test]
fn datetime_values_in_entities() {
    let e = json!({"seen": "2021-01-26T20:33:57.7220239Z"});
    assert!(ev("seen eq 2021-01-26T20:33:57.722Z", &e));
    assert!(ev("seen eq 2021-01-26T22:33:57.722+02:00", &e));
    assert!(ev("seen gt 2021-01-26Z and seen lt 2021-01-27", &e));
    // Unix millis are accepted too.
    assert!(ev("seen eq 2021-01-26T20:33:57.722Z", &json!({"seen": 1_611_693_237_722_i64})));
}

#[test]
fn compiled_filter_reuse_and_invalid_filter_matches_nothing() {
    let f = Filter::new(&parse_filter("score ge 2").unwrap(), &THINGS).unwrap();
    let rows = [json!({"score": 1}), json!({"score": 2}), json!({"score": 3})];
    assert_eq!(rows.iter().filter(|r| f.matches(r)).count(), 2);
    assert!(!eval(&parse_filter("bogus eq 1").unwrap(), &THINGS, &json!({"bogus": 1})));
}

#[test]
fn property_lookup_falls_back_to_case_insensitive_keys() {
    assert!(ev("name eq 'x'", &json!({"Name": "x"})));
}
