//! Query-string level behaviour: decoding, every system option, validation, paging links.

mod common;

use common::{ALERTS, MACHINES, THINGS};
use palisade_odata::{CompareOp, Direction, Expr, Literal, ODataError, QueryOptions, next_link, order_by_sql, project};
use serde_json::json;

fn parse(q: &str) -> QueryOptions {
    QueryOptions::parse(q).unwrap_or_else(|e| panic!("{q}: {e}"))
}

#[test]
fn empty_and_non_dollar_parameters() {
    assert_eq!(parse(""), QueryOptions::default());
    assert_eq!(parse("?"), QueryOptions::default());
    assert_eq!(parse("tag=abc&useStartsWithFilter=true&&api-version=2"), QueryOptions::default());
}

#[test]
fn all_options_together() {
    let q = parse(
        "?$filter=riskScore eq 'High'&$top=10&$skip=20&$select=id,computerDnsName&$orderby=lastSeen desc,id&$expand=evidence&$count=true",
    );
    assert_eq!(
        q.filter,
        Some(Expr::Compare(
            CompareOp::Eq,
            Box::new(Expr::Property("riskScore".into())),
            Box::new(Expr::Literal(Literal::String("High".into())))
        ))
    );
    assert_eq!((q.top, q.skip, q.count), (Some(10), Some(20), true));
    assert_eq!(q.select, Some(vec!["id".to_string(), "computerDnsName".to_string()]));
    assert_eq!(q.orderby, vec![("lastSeen".to_string(), Direction::Desc), ("id".to_string(), Direction::Asc)]);
    assert_eq!(q.expand, vec!["evidence".to_string()]);
}

#[test]
fn percent_decoding_and_plus() {
    let q = parse("%24filter=name%20eq%20%27a%2Bb%20c%27+and+code+eq+'x%25y'");
    assert_eq!(q.filter.unwrap().to_string(), "name eq 'a+b c' and code eq 'x%y'");
    // A stray '%' that is not an escape is kept as is.
    let q = parse("$filter=contains(name,'100%')");
    assert_eq!(q.filter.unwrap().to_string(), "contains(name,'100%')");
    // Non-ASCII through UTF-8 escapes.
    let q = parse("$filter=name+eq+'%C3%BC'");
    assert_eq!(q.filter.unwrap().to_string(), "name eq 'ü'");
    assert!(matches!(QueryOptions::parse("$filter=name+eq+'%FF'"), Err(ODataError::Encoding(_))));
}

#[test]
fn option_names_case_insensitive() {
    let q = parse("$FILTER=a eq 1&$Top=5");
    assert!(q.filter.is_some());
    assert_eq!(q.top, Some(5));
}

#[test]
fn unknown_and_duplicate_options() {
    for bad in ["$search=abc", "$skiptoken=x", "$format=json", "$apply=x", "$"] {
        let err = QueryOptions::parse(bad).unwrap_err();
        assert!(matches!(err, ODataError::UnsupportedOption(_)), "{bad}: {err:?}");
        assert!(err.to_string().starts_with("Invalid OData URI query: the query option"), "{err}");
    }
    let err = QueryOptions::parse("$top=1&$TOP=2").unwrap_err();
    assert_eq!(err, ODataError::DuplicateOption("$top".into()));
}

#[test]
fn top_and_skip_values() {
    for bad in ["$top=-1", "$top=abc", "$top=", "$top=1.5", "$skip=-5", "$skip=x", "$skip=99999999999", "$top=%2B3"] {
        let err = QueryOptions::parse(bad).unwrap_err();
        assert!(matches!(err, ODataError::InvalidValue { .. }), "{bad}: {err:?}");
        assert_eq!(err.code(), "ODataError");
    }
    assert_eq!(parse("$top=0").top, Some(0));
    assert_eq!(parse("$top= 7 ").top, Some(7));
    // Too large for u32: saturates, then clamps against the schema.
    assert_eq!(parse("$top=99999999999").top, Some(u32::MAX));
}

#[test]
fn top_is_clamped_to_max_and_page_size_defaults_to_max() {
    let q = QueryOptions::parse_for("$top=20000", &MACHINES).unwrap();
    assert_eq!(q.top, Some(10_000));
    let q = QueryOptions::parse_for("$top=250", &THINGS).unwrap();
    assert_eq!((q.top, q.page_size(&THINGS)), (Some(100), 100));
    let q = QueryOptions::parse_for("$top=7", &THINGS).unwrap();
    assert_eq!(q.page_size(&THINGS), 7);
    assert_eq!(QueryOptions::default().page_size(&MACHINES), 10_000);
}

#[test]
fn count_values() {
    assert!(parse("$count=true").count);
    assert!(parse("$count=TRUE").count);
    assert!(!parse("$count=false").count);
    assert!(matches!(QueryOptions::parse("$count=yes"), Err(ODataError::InvalidValue { .. })));
}

#[test]
fn filter_errors_surface_from_parse() {
    let err = QueryOptions::parse("$filter=").unwrap_err();
    assert!(matches!(err, ODataError::Syntax { position: 0, .. }), "{err:?}");
    let err = QueryOptions::parse("$filter=(a eq 1").unwrap_err();
    assert!(matches!(err, ODataError::Syntax { position: 7, .. }), "{err:?}");
}

#[test]
fn orderby_parsing_and_errors() {
    let q = parse("$orderby=a, b ASC ,c Desc");
    assert_eq!(
        q.orderby,
        vec![("a".into(), Direction::Asc), ("b".into(), Direction::Asc), ("c".into(), Direction::Desc)]
    );
    let err = QueryOptions::parse("$orderby=a sideways").unwrap_err();
    assert!(matches!(err, ODataError::Syntax { position: 2, .. }), "{err:?}");
    let err = QueryOptions::parse("$orderby=a,").unwrap_err();
    assert!(matches!(err, ODataError::Syntax { position: 2, .. }), "{err:?}");
    let err = QueryOptions::parse("$orderby=relatedUser/userName").unwrap_err();
    assert!(matches!(err, ODataError::Syntax { position: 11, .. }), "{err:?}");
}

#[test]
fn orderby_must_be_sortable() {
    let err = QueryOptions::parse_for("$orderby=notes", &THINGS).unwrap_err();
    assert!(matches!(&err, ODataError::PropertyNotAllowed { option: "$orderby", .. }), "{err:?}");
    assert!(err.to_string().contains("sortable properties are: id, name"), "{err}");
    let err = QueryOptions::parse_for("$orderby=tags", &THINGS).unwrap_err();
    assert!(matches!(err, ODataError::PropertyNotAllowed { .. }), "{err:?}");
    let err = QueryOptions::parse_for("$orderby=nope", &THINGS).unwrap_err();
    assert!(matches!(err, ODataError::UnknownProperty { option: "$orderby", .. }), "{err:?}");
}

#[test]
fn repeated_orderby_properties_are_dropped() {
    // Thousands of terms would pass SQLite's ORDER BY limit; the repeats change nothing anyway.
    let many = vec!["name desc"; 5000].join(",") + ",id,Name";
    let q = QueryOptions::parse_for(&format!("$orderby={many}"), &THINGS).unwrap();
    assert_eq!(q.orderby, vec![("name".to_string(), Direction::Desc), ("id".to_string(), Direction::Asc)]);
}

#[test]
fn orderby_sql() {
    let q = QueryOptions::parse_for("$orderby=Name desc,seen", &THINGS).unwrap();
    assert_eq!(
        order_by_sql(&q.orderby, &THINGS).unwrap().as_deref(),
        Some("(t.name) COLLATE NOCASE DESC, (t.seen_ms) ASC")
    );
    assert_eq!(order_by_sql(&[], &THINGS).unwrap(), None);
    assert!(order_by_sql(&[("notes".into(), Direction::Asc)], &THINGS).is_err());
}

#[test]
fn select_and_projection() {
    assert_eq!(parse("$select=*").select, None);
    let q = QueryOptions::parse_for("$select=ComputerDnsName,id,computerdnsname", &MACHINES).unwrap();
    assert_eq!(q.select, Some(vec!["computerDnsName".to_string(), "id".to_string()]));
    // Non-filterable properties can still be selected.
    let q = QueryOptions::parse_for("$select=isAadJoined", &MACHINES).unwrap();
    let names = q.selected(&MACHINES).unwrap().unwrap();
    assert_eq!(names, vec!["isAadJoined"]);
    let err = QueryOptions::parse_for("$select=id,bogus", &MACHINES).unwrap_err();
    assert!(matches!(&err, ODataError::UnknownProperty { option: "$select", name, .. } if name == "bogus"));
    assert!(matches!(QueryOptions::parse("$select=id,,x"), Err(ODataError::Syntax { position: 3, .. })));

    let entity = json!({"@odata.etag": "x", "id": "1", "computerDnsName": "a", "osPlatform": "Linux"});
    assert_eq!(
        project(&entity, &["computerDnsName", "id", "rbacGroupId"]),
        json!({"@odata.etag": "x", "computerDnsName": "a", "id": "1", "rbacGroupId": null})
    );
}

#[test]
fn expand_checked_per_endpoint() {
    let mut q = QueryOptions::parse_for("$expand=Evidence", &ALERTS).unwrap();
    q.check_expand("Alerts", &["evidence"]).unwrap();
    assert_eq!(q.expand, vec!["evidence".to_string()]);
    let mut q = QueryOptions::parse("$expand=machines").unwrap();
    let err = q.check_expand("Alerts", &["evidence"]).unwrap_err();
    assert!(matches!(err, ODataError::UnknownProperty { option: "$expand", .. }), "{err:?}");
    assert!(matches!(QueryOptions::parse("$expand=evidence($select=sha1)"), Err(ODataError::Syntax { .. })));
}

#[test]
fn next_link_advances_skip_and_keeps_everything_else() {
    let base = "https://api.securitycenter.microsoft.com/api/machines";
    // Added when absent, other options untouched byte-for-byte.
    assert_eq!(
        next_link(&format!("{base}?$filter=riskScore+eq+'High'&$top=50"), 0, 50, 50).as_deref(),
        Some("https://api.securitycenter.microsoft.com/api/machines?$filter=riskScore+eq+'High'&$top=50&$skip=50")
    );
    // Replaced in place, also when percent-encoded or differently cased.
    assert_eq!(
        next_link(&format!("{base}?$top=10&%24skip=30&$select=id"), 30, 10, 10).as_deref(),
        Some("https://api.securitycenter.microsoft.com/api/machines?$top=10&$skip=40&$select=id")
    );
    assert_eq!(
        next_link(&format!("{base}?$SKIP=5&$skip=6"), 5, 10, 11).as_deref(),
        Some("https://api.securitycenter.microsoft.com/api/machines?$skip=15")
    );
    // No query at all; fragment dropped.
    assert_eq!(next_link(&format!("{base}#x"), 0, 10_000, 10_000).as_deref(), Some(&*format!("{base}?$skip=10000")));
    // Last page, empty page, $top=0, overflow.
    assert_eq!(next_link(base, 0, 50, 49), None);
    assert_eq!(next_link(base, 0, 50, 0), None);
    assert_eq!(next_link(base, 0, 0, 0), None);
    assert_eq!(next_link(base, u32::MAX - 5, 10, 10), None);
}
