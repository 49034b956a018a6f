//! `$filter` grammar: every construct, the documentation's examples, and syntax error positions.

use palisade_odata::{CompareOp, Expr, Function, LambdaKind, Literal, ODataError, QueryOptions, parse_filter};
use time::macros::datetime;

fn prop(n: &str) -> Box<Expr> {
    Box::new(Expr::Property(n.to_string()))
}

fn var(n: &str) -> Box<Expr> {
    Box::new(Expr::Variable(n.to_string()))
}

fn s(v: &str) -> Box<Expr> {
    Box::new(Expr::Literal(Literal::String(v.to_string())))
}

fn lit(l: Literal) -> Box<Expr> {
    Box::new(Expr::Literal(l))
}

fn cmp(op: CompareOp, l: Box<Expr>, r: Box<Expr>) -> Expr {
    Expr::Compare(op, l, r)
}

fn filter_of(query: &str) -> Expr {
    QueryOptions::parse(query).unwrap().filter.expect("a $filter")
}

/// Position and expected text of a syntax error.
fn syntax_err(input: &str) -> (usize, String, Option<String>) {
    match parse_filter(input) {
        Err(ODataError::Syntax { position, expected, found, input: echoed }) => {
            assert_eq!(echoed, input);
            (position, expected, found)
        }
        other => panic!("expected a syntax error for {input:?}, got {other:?}"),
    }
}

// ---- the documentation's own examples --------------------------------------------------------

#[test]
fn doc_alert_creation_time_with_plus_as_space() {
    let e = filter_of("$filter=alertCreationTime+gt+2018-11-22T00:00:00Z");
    assert_eq!(
        e,
        cmp(CompareOp::Gt, prop("alertCreationTime"), lit(Literal::DateTime(datetime!(2018-11-22 00:00:00 UTC))))
    );
}

#[test]
fn doc_last_update_time_ge() {
    let e = filter_of("$filter=lastUpdateTime+ge+2019-11-22T00:00:00Z");
    assert_eq!(e, cmp(CompareOp::Ge, prop("lastUpdateTime"), lit(Literal::DateTime(datetime!(2019-11-22 0:00 UTC)))));
}

#[test]
fn doc_date_with_z_is_midnight_utc() {
    let e = parse_filter("lastSeen gt 2018-08-01Z").unwrap();
    assert_eq!(e, cmp(CompareOp::Gt, prop("lastSeen"), lit(Literal::DateTime(datetime!(2018-08-01 0:00 UTC)))));
}

#[test]
fn doc_risk_score_string_literal() {
    let e = filter_of("$filter=riskScore+eq+'High'");
    assert_eq!(e, cmp(CompareOp::Eq, prop("riskScore"), s("High")));
}

#[test]
fn doc_startswith() {
    let e = parse_filter("startswith(computerDnsName,'mymachine')").unwrap();
    assert_eq!(e, Expr::Call(Function::StartsWith, vec![*prop("computerDnsName"), *s("mymachine")]));
}

#[test]
fn doc_machine_tags_any() {
    let e = parse_filter("machineTags/any(tag: tag eq 'ExampleTag')").unwrap();
    assert_eq!(
        e,
        Expr::Lambda {
            collection: "machineTags".into(),
            kind: LambdaKind::Any,
            body: Some(("tag".into(), Box::new(cmp(CompareOp::Eq, var("tag"), s("ExampleTag"))))),
        }
    );
}

#[test]
fn doc_parenthesised_or_and() {
    let e = parse_filter("(status eq 'New' or status eq 'InProgress') and severity ne 'Informational'").unwrap();
    assert_eq!(
        e,
        Expr::And(
            Box::new(Expr::Or(
                Box::new(cmp(CompareOp::Eq, prop("status"), s("New"))),
                Box::new(cmp(CompareOp::Eq, prop("status"), s("InProgress"))),
            )),
            Box::new(cmp(CompareOp::Ne, prop("severity"), s("Informational"))),
        )
    );
}

#[test]
fn doc_pascal_case_property_is_kept_as_written() {
    let e = parse_filter("ComputerDnsName eq 'x'").unwrap();
    assert_eq!(e, cmp(CompareOp::Eq, prop("ComputerDnsName"), s("x")));
}

// ---- operators and precedence -------------------------------------------------------------------

#[test]
fn all_comparison_operators_case_insensitive() {
    for (kw, op) in [
        ("eq", CompareOp::Eq),
        ("NE", CompareOp::Ne),
        ("Gt", CompareOp::Gt),
        ("ge", CompareOp::Ge),
        ("lT", CompareOp::Lt),
        ("LE", CompareOp::Le),
    ] {
        assert_eq!(parse_filter(&format!("x {kw} 1")).unwrap(), cmp(op, prop("x"), lit(Literal::Int(1))), "{kw}");
    }
}

#[test]
fn and_binds_tighter_than_or() {
    let e = parse_filter("a eq 1 or b eq 2 and c eq 3").unwrap();
    let a = cmp(CompareOp::Eq, prop("a"), lit(Literal::Int(1)));
    let b = cmp(CompareOp::Eq, prop("b"), lit(Literal::Int(2)));
    let c = cmp(CompareOp::Eq, prop("c"), lit(Literal::Int(3)));
    assert_eq!(e, Expr::Or(Box::new(a), Box::new(Expr::And(Box::new(b), Box::new(c)))));
}

#[test]
fn not_binds_tighter_than_and_but_looser_than_comparison() {
    let e = parse_filter("NOT a eq 1 AND b eq 2").unwrap();
    let a = cmp(CompareOp::Eq, prop("a"), lit(Literal::Int(1)));
    let b = cmp(CompareOp::Eq, prop("b"), lit(Literal::Int(2)));
    assert_eq!(e, Expr::And(Box::new(Expr::Not(Box::new(a))), Box::new(b)));
}

#[test]
fn logical_operators_are_left_associative() {
    let e = parse_filter("a or b or c").unwrap();
    assert_eq!(e, Expr::Or(Box::new(Expr::Or(prop("a"), prop("b"))), prop("c")));
}

#[test]
fn nested_parentheses_and_not() {
    let e = parse_filter("not (not ((a eq 1)))").unwrap();
    assert_eq!(e, Expr::Not(Box::new(Expr::Not(Box::new(cmp(CompareOp::Eq, prop("a"), lit(Literal::Int(1))))))));
}

#[test]
fn functions_case_insensitive_and_nested() {
    let e =
        parse_filter("StartsWith(ToLower(name), 'ab') and EndsWith(name,'z') and contains(toupper(name),'Q')").unwrap();
    let lower = Expr::Call(Function::ToLower, vec![*prop("name")]);
    let upper = Expr::Call(Function::ToUpper, vec![*prop("name")]);
    assert_eq!(
        e,
        Expr::And(
            Box::new(Expr::And(
                Box::new(Expr::Call(Function::StartsWith, vec![lower, *s("ab")])),
                Box::new(Expr::Call(Function::EndsWith, vec![*prop("name"), *s("z")])),
            )),
            Box::new(Expr::Call(Function::Contains, vec![upper, *s("Q")])),
        )
    );
}

#[test]
fn tolower_as_comparison_operand() {
    let e = parse_filter("tolower(computerDnsName) eq 'abc'").unwrap();
    assert_eq!(
        e,
        cmp(CompareOp::Eq, Box::new(Expr::Call(Function::ToLower, vec![*prop("computerDnsName")])), s("abc"))
    );
}

#[test]
fn in_list() {
    let e = parse_filter("status in ('New', 'InProgress','Resolved')").unwrap();
    assert_eq!(
        e,
        Expr::In(
            prop("status"),
            vec![
                Literal::String("New".into()),
                Literal::String("InProgress".into()),
                Literal::String("Resolved".into())
            ]
        )
    );
    let e = parse_filter("score IN (1, 2.5)").unwrap();
    assert_eq!(e, Expr::In(prop("score"), vec![Literal::Int(1), Literal::Float(2.5)]));
}

#[test]
fn lambda_any_with_function_and_all() {
    let e = parse_filter("machineTags/ANY(t: startswith(t,'x'))").unwrap();
    assert_eq!(
        e,
        Expr::Lambda {
            collection: "machineTags".into(),
            kind: LambdaKind::Any,
            body: Some(("t".into(), Box::new(Expr::Call(Function::StartsWith, vec![*var("t"), *s("x")])))),
        }
    );
    let e = parse_filter("machineTags/all(t: t ne 'a' and t ne 'b')").unwrap();
    let Expr::Lambda { kind: LambdaKind::All, body: Some((v, body)), .. } = e else { panic!("{e:?}") };
    assert_eq!(v, "t");
    assert_eq!(
        *body,
        Expr::And(Box::new(cmp(CompareOp::Ne, var("t"), s("a"))), Box::new(cmp(CompareOp::Ne, var("t"), s("b"))))
    );
}

#[test]
fn lambda_any_without_body() {
    let e = parse_filter("machineTags/any()").unwrap();
    assert_eq!(e, Expr::Lambda { collection: "machineTags".into(), kind: LambdaKind::Any, body: None });
}

#[test]
fn range_variable_only_inside_its_lambda() {
    let e = parse_filter("tags/any(t: t eq 'a') and t eq 'b'").unwrap();
    let Expr::And(_, right) = e else { panic!() };
    assert_eq!(*right, cmp(CompareOp::Eq, prop("t"), s("b")));
}

// ---- literals -------------------------------------------------------------------------------------

#[test]
fn string_literal_with_doubled_quote_and_specials() {
    assert_eq!(parse_filter("n eq 'O''Brien'").unwrap(), cmp(CompareOp::Eq, prop("n"), s("O'Brien")));
    assert_eq!(parse_filter("n eq ''''").unwrap(), cmp(CompareOp::Eq, prop("n"), s("'")));
    assert_eq!(parse_filter("n eq ''").unwrap(), cmp(CompareOp::Eq, prop("n"), s("")));
    assert_eq!(parse_filter("n eq 'a eq b) or (x'").unwrap(), cmp(CompareOp::Eq, prop("n"), s("a eq b) or (x")));
}

#[test]
fn numeric_literals() {
    let cases = [
        ("42", Literal::Int(42)),
        ("-7", Literal::Int(-7)),
        ("0", Literal::Int(0)),
        ("9223372036854775807", Literal::Int(i64::MAX)),
        ("2.5", Literal::Float(2.5)),
        ("-0.125", Literal::Float(-0.125)),
        ("1e3", Literal::Float(1000.0)),
        ("1.5E-2", Literal::Float(0.015)),
    ];
    for (text, want) in cases {
        assert_eq!(parse_filter(&format!("x eq {text}")).unwrap(), cmp(CompareOp::Eq, prop("x"), lit(want)), "{text}");
    }
}

#[test]
fn keyword_literals_case_insensitive() {
    assert_eq!(parse_filter("x eq TRUE").unwrap(), cmp(CompareOp::Eq, prop("x"), lit(Literal::Bool(true))));
    assert_eq!(parse_filter("x eq false").unwrap(), cmp(CompareOp::Eq, prop("x"), lit(Literal::Bool(false))));
    assert_eq!(parse_filter("x ne Null").unwrap(), cmp(CompareOp::Ne, prop("x"), lit(Literal::Null)));
}

#[test]
fn guid_literals() {
    let g = "6a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    assert_eq!(
        parse_filter(&format!("id eq {g}")).unwrap(),
        cmp(CompareOp::Eq, prop("id"), lit(Literal::Guid(g.into())))
    );
    // Starting with digits, and upper case.
    let g = "12345678-ABCD-4EF0-8123-456789ABCDEF";
    assert_eq!(
        parse_filter(&format!("id eq {g}")).unwrap(),
        cmp(CompareOp::Eq, prop("id"), lit(Literal::Guid(g.into())))
    );
}

#[test]
fn datetime_literal_forms() {
    let cases = [
        ("2019-11-22T00:00:00Z", datetime!(2019-11-22 0:00 UTC)),
        ("2019-11-22t10:11:12z", datetime!(2019-11-22 10:11:12 UTC)),
        ("2021-01-26T20:33:57.7220239Z", datetime!(2021-01-26 20:33:57.7220239 UTC)),
        ("2021-01-26T20:33:59.2Z", datetime!(2021-01-26 20:33:59.2 UTC)),
        ("2019-11-22T10:00:00+02:00", datetime!(2019-11-22 08:00 UTC)),
        ("2019-11-22T10:00:00-05:30", datetime!(2019-11-22 15:30 UTC)),
        ("2019-11-22T10:00Z", datetime!(2019-11-22 10:00 UTC)),
        ("2019-11-22T10:00:00", datetime!(2019-11-22 10:00 UTC)),
        ("2018-08-01Z", datetime!(2018-08-01 0:00 UTC)),
        ("2018-08-01", datetime!(2018-08-01 0:00 UTC)),
    ];
    for (text, want) in cases {
        let e = parse_filter(&format!("d ge {text}")).unwrap();
        assert_eq!(e, cmp(CompareOp::Ge, prop("d"), lit(Literal::DateTime(want))), "{text}");
    }
}

#[test]
fn datetime_offset_plus_encoded_and_unencoded() {
    let want = cmp(CompareOp::Gt, prop("d"), lit(Literal::DateTime(datetime!(2019-11-22 08:00 UTC))));
    assert_eq!(filter_of("$filter=d+gt+2019-11-22T10:00:00%2B02:00"), want);
    // A client that forgot to escape '+': it arrives as a space.
    assert_eq!(filter_of("$filter=d+gt+2019-11-22T10:00:00+02:00"), want);
}

#[test]
fn display_round_trips_doc_examples() {
    for text in [
        "alertCreationTime gt 2018-11-22T00:00:00Z",
        "lastSeen gt 2018-08-01Z",
        "riskScore eq 'High'",
        "startswith(computerDnsName,'mymachine')",
        "machineTags/any(tag: tag eq 'ExampleTag')",
        "(status eq 'New' or status eq 'InProgress') and severity ne 'Informational'",
        "not (a in ('x','y''z')) or b/all(v: contains(tolower(v),'q')) or x eq 1.0 or y/any()",
    ] {
        let e = parse_filter(text).unwrap();
        assert_eq!(parse_filter(&e.to_string()).unwrap(), e, "{text} -> {e}");
    }
}

// ---- malformed input ------------------------------------------------------------------------------

#[test]
fn missing_close_paren_reports_position() {
    // 0         1         2         3
    // 0123456789012345678901234567890123
    // (status eq 'New' or status eq 'InProgress' and x eq 1
    let input = "(status eq 'New' and severity eq 1";
    let (pos, expected, found) = syntax_err(input);
    assert_eq!((pos, expected.as_str(), found), (34, "')'", None));
    let input = "(status eq 'New' or status eq 'InProgress' x";
    let (pos, expected, found) = syntax_err(input);
    assert_eq!((pos, expected.as_str(), found.as_deref()), (43, "')'", Some("'x'")));
}

#[test]
fn message_format_matches_api_error_text() {
    let err = parse_filter("(status eq 'New'").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid OData URI query: expected ')' at position 16 in \"(status eq 'New'\"; found end of input"
    );
    assert_eq!(err.code(), "ODataError");
    let err = parse_filter("a eq 1 b").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid OData URI query: expected 'and', 'or' or end of input at position 7 in \"a eq 1 b\"; found 'b'"
    );
}

#[test]
fn missing_operand() {
    assert_eq!(syntax_err("status eq"), (9, "an operand".into(), None));
    assert_eq!(syntax_err("status eq eq"), (10, "an operand".into(), Some("'eq'".into())));
    assert_eq!(syntax_err("a eq 1 and"), (10, "an operand".into(), None));
    assert_eq!(syntax_err("and a eq 1"), (0, "an operand".into(), Some("'and'".into())));
    assert_eq!(syntax_err(""), (0, "an expression".into(), None));
    assert_eq!(syntax_err("   "), (3, "an expression".into(), None));
}

#[test]
fn missing_operator() {
    let (pos, expected, found) = syntax_err("status 'New'");
    assert_eq!((pos, found.as_deref()), (7, Some("'New'")));
    assert!(expected.starts_with("a comparison operator"), "{expected}");
    let (pos, expected, _) = syntax_err("status equals 'New'");
    assert_eq!(pos, 7);
    assert!(expected.starts_with("a comparison operator"), "{expected}");
}

#[test]
fn trailing_garbage() {
    assert_eq!(syntax_err("a eq 1 b"), (7, "'and', 'or' or end of input".into(), Some("'b'".into())));
    assert_eq!(syntax_err("a eq 1)"), (6, "'and', 'or' or end of input".into(), Some("')'".into())));
    assert_eq!(syntax_err("a eq 1 eq 2"), (7, "'and', 'or' or end of input".into(), Some("'eq'".into())));
}

#[test]
fn bad_characters_and_literals() {
    assert_eq!(syntax_err("a eq #"), (5, "an expression".into(), Some("'#'".into())));
    assert_eq!(
        syntax_err("name eq 'abc"),
        (12, "closing quote of the string literal starting at position 8".into(), None)
    );
    assert_eq!(syntax_err("x eq 12abc").0, 7);
    assert_eq!(syntax_err("x eq 1.").0, 7);
    assert_eq!(syntax_err("x eq 99999999999999999999").0, 5);
    assert_eq!(syntax_err("lastSeen gt 2018-13-01Z"), (12, "a valid calendar date".into(), Some("'2'".into())));
    assert_eq!(syntax_err("lastSeen gt 2018-02-30Z").0, 12);
    assert_eq!(syntax_err("lastSeen gt 2018-08-01T25:00:00Z").0, 23);
    assert_eq!(syntax_err("lastSeen gt 2018-08-01T10").0, 25);
}

#[test]
fn bad_functions_and_lambdas() {
    let (pos, expected, found) = syntax_err("substringof('x', name)");
    assert_eq!((pos, found.as_deref()), (0, Some("'substringof'")));
    assert!(expected.contains("startswith"), "{expected}");
    assert_eq!(syntax_err("startswith(name 'x')"), (16, "',' or ')'".into(), Some("'x'".into())));
    assert_eq!(syntax_err("startswith(name)"), (15, "2 arguments for startswith()".into(), Some("')'".into())));
    assert_eq!(syntax_err("tolower(a, b) eq 'x'"), (12, "1 argument for tolower()".into(), Some("')'".into())));
    assert_eq!(syntax_err("tags/some(t: t eq 'x')"), (5, "'any' or 'all'".into(), Some("'some'".into())));
    assert_eq!(syntax_err("tags/any(t t eq 'x')"), (11, "':'".into(), Some("'t'".into())));
    assert_eq!(syntax_err("tags/any(t: t eq 'x'"), (20, "')'".into(), None));
    assert_eq!(syntax_err("tags/all()"), (9, "a lambda variable name".into(), Some("')'".into())));
}

#[test]
fn bad_in_lists() {
    assert_eq!(syntax_err("a in ('x',)"), (10, "a literal value".into(), Some("')'".into())));
    assert_eq!(syntax_err("a in ()"), (6, "a literal value".into(), Some("')'".into())));
    assert_eq!(syntax_err("a in 'x'"), (5, "'(' to start the 'in' list".into(), Some("'x'".into())));
    assert_eq!(syntax_err("a in ('x' 'y')"), (10, "',' or ')'".into(), Some("'y'".into())));
    assert_eq!(syntax_err("a in (b)"), (6, "a literal value".into(), Some("'b'".into())));
}

#[test]
fn positions_count_characters_not_bytes() {
    // 'ü' is two bytes in UTF-8 but one character.
    assert_eq!(syntax_err("n eq 'ü' x").0, 9);
}

#[test]
fn nesting_and_length_are_bounded_so_a_filter_cannot_overflow_the_stack() {
    use palisade_odata::{MAX_LOGICAL_OPERATORS, MAX_NESTING};
    // Far past the limits: each is an error, not a stack overflow.
    for f in [
        format!("{}a eq 1{}", "(".repeat(100_000), ")".repeat(100_000)),
        format!("{}a eq 1", "not ".repeat(100_000)),
        format!("{}'x'{}", "tolower(".repeat(100_000), ")".repeat(100_000)),
        format!("{}t eq 'x'{}", "tags/any(t: ".repeat(100_000), ")".repeat(100_000)),
        vec!["a eq 1"; 100_000].join(" or "),
    ] {
        assert!(matches!(parse_filter(&f), Err(ODataError::Syntax { .. })), "{}", &f[..40]);
    }
    // At the limits: accepted.
    let top_level = 1; // the whole filter is one level
    let deep = format!("{}a eq 1{}", "(".repeat(MAX_NESTING - top_level), ")".repeat(MAX_NESTING - top_level));
    assert!(parse_filter(&deep).is_ok());
    let deeper = format!("({deep})");
    let (_, expected, _) = syntax_err(&deeper);
    assert!(expected.contains(&format!("nested at most {MAX_NESTING} levels")), "{expected}");
    let long = vec!["a eq 1"; MAX_LOGICAL_OPERATORS + 1].join(" or ");
    assert!(parse_filter(&long).is_ok());
    let (_, expected, _) = syntax_err(&format!("{long} and b eq 2"));
    assert!(expected.contains("use 'in (…)'"), "{expected}");
}
