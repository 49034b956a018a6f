//! Name resolution and type checking against a schema.

mod common;

use common::{ALERTS, MACHINES, THINGS};
use palisade_odata::{Filter, ODataError, QueryOptions, parse_filter};

fn check(schema: &palisade_odata::Schema, filter: &str) -> Result<Filter, ODataError> {
    Filter::new(&parse_filter(filter).unwrap(), schema)
}

fn type_error(schema: &palisade_odata::Schema, filter: &str) -> String {
    match check(schema, filter) {
        Err(e @ ODataError::Type(_)) => e.to_string(),
        other => panic!("expected a type error for {filter:?}, got {other:?}"),
    }
}

#[test]
fn doc_examples_type_check() {
    for f in [
        "riskScore eq 'High'",
        "lastSeen gt 2018-08-01Z",
        "startswith(computerDnsName,'mymachine')",
        "machineTags/any(tag: tag eq 'ExampleTag')",
        "ComputerDnsName eq 'x' and HealthStatus eq 'Active' and OsPlatform eq 'Windows10'",
        "LastSeen gt 2018-08-01Z and exposureLevel eq 'High' and onboardingStatus eq 'onboarded'",
        "RbacGroupId eq 140 and aadDeviceId eq 6a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "aadDeviceId eq '6A1C2B3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D'",
    ] {
        check(&MACHINES, f).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    for f in [
        "alertCreationTime gt 2018-11-22T00:00:00Z",
        "lastUpdateTime ge 2019-11-22T00:00:00Z",
        "(status eq 'New' or status eq 'InProgress') and severity ne 'Informational'",
        "InvestigationId eq 10 and incidentId gt 5",
    ] {
        check(&ALERTS, f).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn unknown_property_is_named_and_filterable_ones_listed() {
    let err = check(&MACHINES, "computerName eq 'x'").unwrap_err();
    let ODataError::UnknownProperty { name, option, allowed, .. } = &err else { panic!("{err:?}") };
    assert_eq!((name.as_str(), *option), ("computerName", "$filter"));
    assert!(allowed.contains(&"computerDnsName") && !allowed.contains(&"isAadJoined"), "{allowed:?}");
    let msg = err.to_string();
    assert!(msg.starts_with("Invalid OData URI query: could not find a property named 'computerName' on 'Machines'"));
    assert!(msg.contains("filterable properties are: id, computerDnsName, version"), "{msg}");
}

#[test]
fn non_filterable_property_rejected() {
    let err = check(&MACHINES, "isAadJoined eq true").unwrap_err();
    assert!(matches!(&err, ODataError::PropertyNotAllowed { name, .. } if name == "isAadJoined"), "{err:?}");
    assert!(err.to_string().contains("cannot be used in $filter"));
    // Also inside functions and lambdas.
    assert!(matches!(check(&ALERTS, "startswith(title,'x')"), Err(ODataError::PropertyNotAllowed { .. })));
    assert!(matches!(check(&THINGS, "nope/any(t: t eq 'x')"), Err(ODataError::UnknownProperty { .. })));
}

#[test]
fn literal_types_must_match() {
    let msg = type_error(&THINGS, "score eq 'x'");
    assert!(msg.contains("'score' (Edm.Int64)") && msg.contains("Edm.String literal 'x'"), "{msg}");
    type_error(&THINGS, "name eq 5");
    type_error(&THINGS, "status eq 1");
    type_error(&THINGS, "active eq 1");
    type_error(&THINGS, "seen gt 5");
    type_error(&THINGS, "score eq 2019-01-01Z");
    type_error(&THINGS, "name eq 6a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    type_error(&THINGS, "groupId eq 'not-a-guid'");
    type_error(&THINGS, "groupId eq 5");
}

#[test]
fn quoted_datetime_gets_a_hint() {
    let msg = type_error(&THINGS, "seen gt '2019-11-22T00:00:00Z'");
    assert!(msg.contains("without quotes"), "{msg}");
}

#[test]
fn enum_compares_with_strings_and_numbers_mix() {
    check(&THINGS, "status eq 'New' and status in ('a','b') and startswith(status,'N')").unwrap();
    check(&THINGS, "score gt 2.5 and ratio eq 3 and ratio lt -1.5e2").unwrap();
}

#[test]
fn boolean_rules() {
    check(&THINGS, "active eq true and active ne false and active eq null and active").unwrap();
    check(&THINGS, "not active").unwrap();
    let msg = type_error(&THINGS, "active gt false");
    assert!(msg.contains("'gt' does not apply"), "{msg}");
    type_error(&THINGS, "name");
    type_error(&THINGS, "'abc'");
    type_error(&THINGS, "5");
    check(&THINGS, "true").unwrap();
}

#[test]
fn predicate_eq_boolean_literal() {
    check(&THINGS, "startswith(name,'a') eq true and contains(code,'x') ne false").unwrap();
    type_error(&THINGS, "startswith(name,'a') gt true");
}

#[test]
fn collections_only_via_lambdas() {
    let msg = type_error(&THINGS, "tags eq 'x'");
    assert!(msg.contains("tags/any(t: t eq"), "{msg}");
    type_error(&THINGS, "name/any(t: t eq 'x')");
    check(&THINGS, "tags/any() and labels/all(l: l ne 'x')").unwrap();
}

#[test]
fn lambda_body_only_sees_its_variable() {
    let msg = type_error(&THINGS, "tags/any(t: name eq 'x')");
    assert!(msg.contains("range variable 't'"), "{msg}");
    type_error(&THINGS, "tags/any(t: labels/any(l: l eq 'x'))");
    type_error(&THINGS, "tags/any(t: t eq 5)");
    check(&THINGS, "tags/any(t: tolower(t) in ('a','b') or endswith(T,'c'))").unwrap();
}

#[test]
fn functions_need_text_properties_and_string_literals() {
    type_error(&THINGS, "startswith(score,'1')");
    type_error(&THINGS, "contains(name, code)");
    type_error(&THINGS, "tolower(score) eq '1'");
    type_error(&THINGS, "tolower(name) and active");
    type_error(&THINGS, "endswith('abc', name)");
    check(&THINGS, "startswith(tolower(groupId),'ab') and contains(toupper(toupper(code)),'X')").unwrap();
}

#[test]
fn comparisons_need_one_property_and_one_literal() {
    let msg = type_error(&MACHINES, "riskScore eq High");
    assert!(msg.contains("single quotes"), "{msg}");
    type_error(&THINGS, "name eq code");
    type_error(&THINGS, "'a' eq 'b'");
    check(&THINGS, "'a' lt name and 5 ge score and null eq seen").unwrap();
}

#[test]
fn null_rules() {
    check(&THINGS, "name eq null and seen ne null and score gt null").unwrap();
    type_error(&THINGS, "name in ('a', null)");
}

#[test]
fn validate_canonicalises_names_everywhere() {
    let q = QueryOptions::parse_for(
        "$filter=COMPUTERDNSNAME eq 'x' and MachineTags/any(T: T eq 'y')&$orderby=LASTSEEN desc&$select=ID,RiskScore",
        &MACHINES,
    )
    .unwrap();
    assert_eq!(q.filter.unwrap().to_string(), "computerDnsName eq 'x' and machineTags/any(T: T eq 'y')");
    assert_eq!(q.orderby, vec![("lastSeen".to_string(), palisade_odata::Direction::Desc)]);
    assert_eq!(q.select, Some(vec!["id".to_string(), "riskScore".to_string()]));
}
