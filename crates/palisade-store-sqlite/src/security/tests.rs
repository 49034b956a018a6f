use std::collections::HashSet;

use palisade_defender::model::*;
use palisade_defender::rbac::{DeviceGroup, DeviceScope, MatchingRules, RbacConfig};
use palisade_defender::schemas::{ALERTS, INCIDENTS, MACHINE_ACTIONS, MACHINES};
use palisade_defender::store::*;
use palisade_odata::QueryOptions;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::SqliteStore;

struct Fixture {
    dir: std::path::PathBuf,
    s: SqliteStore,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn store() -> Fixture {
    let dir = std::env::temp_dir().join(format!("palisade-sec-{}", Uuid::new_v4()));
    let s = SqliteStore::open(&dir).unwrap();
    Fixture { dir, s }
}

const T0: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

fn at(minutes: i64) -> OffsetDateTime {
    T0 + time::Duration::minutes(minutes)
}

fn mid(n: u32) -> String {
    format!("{n:040x}")
}

fn machine(n: u32, dns: &str, group: i64, tags: &[&str], ips: &[&str]) -> MachineRecord {
    let platform = if n.is_multiple_of(3) { "Linux" } else { "Windows11" };
    let risk = ["None", "Low", "Medium", "High"][n as usize % 4];
    let machine: Machine = serde_json::from_value(json!({
        "id": mid(n), "mergedIntoMachineId": null, "isPotentialDuplication": false, "isExcluded": false,
        "exclusionReason": null, "computerDnsName": dns, "firstSeen": "2025-12-01T00:00:00Z",
        "lastSeen": wire(at(n as i64)), "osPlatform": platform, "osVersion": null, "osProcessor": "x64",
        "version": "22H2", "lastIpAddress": ips.first(), "lastExternalIpAddress": null, "agentVersion": null,
        "osBuild": 19045, "healthStatus": if n.is_multiple_of(2) { "Active" } else { "Inactive" }, "deviceValue": "Normal",
        "rbacGroupId": group, "rbacGroupName": (group != 0).then(|| format!("G{group}")),
        "riskScore": risk, "exposureLevel": "Low", "isAadJoined": true,
        "aadDeviceId": null, "machineTags": tags, "defenderAvStatus": null, "onboardingStatus": "Onboarded",
        "osArchitecture": "64-bit", "managedBy": null, "managedByStatus": null,
        "ipAddresses": ips.iter().map(|ip| json!({"ipAddress": ip, "macAddress": "001122334455", "type": "Ethernet", "operationalStatus": "Up"}))
            .chain([json!({"ipAddress": "127.0.0.1", "macAddress": null, "type": "SoftwareLoopback", "operationalStatus": "Up"})])
            .collect::<Vec<_>>(),
        "vmMetadata": null
    }))
    .unwrap();
    MachineRecord { machine, state: DeviceState::default() }
}

fn wire(t: OffsetDateTime) -> String {
    palisade_defender::wire_time::format(t)
}

fn alert(id: &str, machine: u32, status: &str, created: OffsetDateTime, evidence: Vec<Evidence>) -> Alert {
    let mut a: Alert = serde_json::from_value(json!({
        "id": id, "incidentId": null, "investigationId": null, "assignedTo": null, "severity": "Medium",
        "status": status, "classification": null, "determination": null, "investigationState": null,
        "detectionSource": "WindowsDefenderAv", "detectorId": null, "category": "Malware", "threatFamilyName": null,
        "title": format!("Alert {id}"), "description": "d", "alertCreationTime": wire(created),
        "firstEventTime": wire(created), "lastEventTime": wire(created), "lastUpdateTime": wire(created),
        "resolvedTime": null, "machineId": mid(machine), "computerDnsName": null, "rbacGroupName": null,
        "aadTenantId": Uuid::nil(), "threatName": null, "mitreTechniques": [], "relatedUser": null, "comments": [],
        "evidence": []
    }))
    .unwrap();
    a.evidence = evidence;
    a
}

fn file_evidence(sha1: &str, name: &str) -> Evidence {
    Evidence {
        entity_type: "File".into(),
        sha1: Some(sha1.into()),
        sha256: Some(format!("{sha1:0<64}")),
        file_name: Some(name.into()),
        detection_status: Some("Detected".into()),
        ..Default::default()
    }
}

fn action(id: &str, machine: u32, kind: &str, created: OffsetDateTime) -> MachineAction {
    serde_json::from_value(json!({
        "id": id, "type": kind, "title": null, "requestor": "analyst@contoso.com", "requestorComment": "c",
        "status": "Pending", "machineId": mid(machine), "computerDnsName": null,
        "creationDateTimeUtc": wire(created), "lastUpdateDateTimeUtc": wire(created), "cancellationRequestor": null,
        "cancellationComment": null, "cancellationDateTimeUtc": null, "errorHResult": 0,
        "scope": if kind == "Isolate" { Some("Full") } else { None }, "externalId": null, "requestSource": "PublicApi",
        "relatedFileInfo": null, "commands": [], "troubleshootInfo": null
    }))
    .unwrap()
}

fn incident(id: i64, created: OffsetDateTime) -> Incident {
    serde_json::from_value(json!({
        "incidentId": id, "redirectIncidentId": null, "incidentName": format!("Incident {id}"),
        "createdTime": wire(created), "lastUpdateTime": wire(created), "assignedTo": null,
        "classification": "Unknown", "determination": "NotAvailable", "status": "Active", "severity": "Medium",
        "tags": [], "comments": []
    }))
    .unwrap()
}

fn q(schema: &palisade_odata::Schema, query: &str) -> QueryOptions {
    QueryOptions::parse_for(query, schema).unwrap()
}

fn all() -> QueryOptions {
    QueryOptions::default()
}

#[tokio::test]
async fn tenants_never_see_each_others_entities() {
    let f = store();
    let s = &f.s;
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    s.upsert_machines(a, &[machine(1, "pc1.contoso.com", 0, &["VIP"], &["10.0.0.1"])]).await.unwrap();
    let mut al = alert("da1", 1, "New", at(1), vec![file_evidence("ab", "x.exe")]);
    al.incident_id = Some(7);
    s.insert_alerts(a, &[al.clone()]).await.unwrap();
    s.upsert_incidents(a, &[incident(7, at(1))]).await.unwrap();
    s.create_action(a, &action("act1", 1, "RunAntiVirusScan", at(2))).await.unwrap();
    s.upsert_files(a, &[FileInfo { sha1: "ab".into(), ..Default::default() }]).await.unwrap();
    let logon = Logon {
        machine_id: mid(1),
        account_domain: "contoso".into(),
        account_name: "ann".into(),
        account_sid: None,
        logon_type: "Interactive".into(),
        is_domain_admin: false,
        time: at(3),
    };
    s.record_logons(a, &[logon]).await.unwrap();

    assert!(s.machine(a, &mid(1)).await.unwrap().is_some());
    assert!(s.machine(b, &mid(1)).await.unwrap().is_none());
    assert!(s.machine(b, "pc1.contoso.com").await.unwrap().is_none());
    assert!(s.machines(b, &all(), &DeviceScope::All).await.unwrap().is_empty());
    assert!(s.machines_by_ids(b, &[mid(1)]).await.unwrap().is_empty());
    let ever = (T0 - time::Duration::days(1), T0 + time::Duration::days(1));
    assert!(s.find_machines_by_ip(b, "10.0.0.1", ever.0, ever.1, &DeviceScope::All).await.unwrap().is_empty());
    assert!(s.find_machines_by_tag(b, "VIP", false, &DeviceScope::All).await.unwrap().is_empty());
    assert!(s.alert(b, "da1").await.unwrap().is_none());
    assert_eq!(s.count_alerts(b, &all(), &DeviceScope::All).await.unwrap(), 0);
    assert!(s.alerts_by_entity(b, &EntityKey::File("ab".into()), &DeviceScope::All).await.unwrap().is_empty());
    assert!(s.machines_by_entity(b, &EntityKey::File("ab".into()), &DeviceScope::All, 10).await.unwrap().is_empty());
    assert_eq!(s.prevalence(b, &EntityKey::File("ab".into()), T0).await.unwrap(), Prevalence::default());
    assert!(s.alerts_of_incidents(b, &[7]).await.unwrap().is_empty());
    assert!(s.incident(b, 7).await.unwrap().is_none());
    assert!(s.incidents(b, &all(), &DeviceScope::All).await.unwrap().is_empty());
    assert_eq!(s.count_incidents(b, &all(), &DeviceScope::All).await.unwrap(), 0);
    assert!(s.incident_groups(b, 7).await.unwrap().is_empty());
    assert_eq!(s.alerts_of_machine(b, &mid(1), &all(), false).await.unwrap(), (vec![], 0));
    assert!(s.alerts(b, &all(), &DeviceScope::All, true).await.unwrap().is_empty());
    assert_eq!(s.count_machines(b, &all(), &DeviceScope::All).await.unwrap(), 0);
    assert_eq!(s.count_actions(b, &all(), &DeviceScope::All).await.unwrap(), 0);
    assert!(s.action(b, "act1").await.unwrap().is_none());
    assert!(s.actions(b, &all(), &DeviceScope::All).await.unwrap().is_empty());
    assert!(s.file(b, "AB").await.unwrap().is_none());
    assert!(s.logons_of_user(b, "ann").await.unwrap().is_empty());
    assert!(s.logons_on_machine(b, &mid(1)).await.unwrap().is_empty());

    // Writes from the wrong tenant fail without touching tenant A's rows.
    let mut changed = al.clone();
    changed.status = "Resolved".into();
    assert!(matches!(s.update_alerts(b, &[changed]).await, Err(SecurityStoreError::NotFound(m)) if m == "Alert da1"));
    assert!(matches!(s.cancel_action(b, "act1", "x", "y", at(5)).await, Err(SecurityStoreError::NotFound(_))));
    let scan = action("act2", 1, "RunAntiVirusScan", at(5));
    assert!(
        matches!(s.create_action(b, &scan).await, Err(SecurityStoreError::NotFound(m)) if m.starts_with("Machine "))
    );
    assert!(matches!(
        s.transition_action(b, &s.action(a, "act1").await.unwrap().unwrap(), "Pending", None).await,
        Err(SecurityStoreError::NotFound(_))
    ));
    assert_eq!(s.alert(a, "da1").await.unwrap().unwrap().status, "New");
    assert_eq!(s.action(a, "act1").await.unwrap().unwrap().status, "Pending");
    assert_eq!(s.open_actions(10).await.unwrap().iter().map(|(t, _)| *t).collect::<Vec<_>>(), vec![a]);
}

#[tokio::test]
async fn machine_filters_and_paging_are_stable() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    let fleet: Vec<_> = (1..=95).map(|n| machine(n, &format!("pc{n}.contoso.com"), 0, &[], &[])).collect();
    s.upsert_machines(t, &fleet).await.unwrap();

    // riskScore is a 4-value cycle: many ties, so the id tiebreak decides the order.
    let mut seen = Vec::new();
    for page in 0.. {
        let opts =
            q(&MACHINES, &format!("$filter=riskScore ne 'none'&$orderby=riskScore desc&$top=10&$skip={}", page * 10));
        let rows = s.machines(t, &opts, &DeviceScope::All).await.unwrap();
        assert!(rows.len() <= 11, "page_size + 1 at most");
        let more = rows.len() == 11;
        seen.extend(rows.into_iter().take(10).map(|m| (m.risk_score.clone().unwrap(), m.id)));
        if !more {
            break;
        }
    }
    let ids: HashSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
    assert_eq!(ids.len(), seen.len(), "no duplicates across pages");
    assert_eq!(seen.len(), 95 - 95 / 4, "riskScore ne 'none' is case-insensitive");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    assert_eq!(seen, sorted);
    let count = q(&MACHINES, "$filter=riskScore ne 'None'&$top=1");
    assert_eq!(s.count_machines(t, &count, &DeviceScope::All).await.unwrap(), seen.len() as u64);

    let opts = q(&MACHINES, "$filter=startswith(computerDnsName,'PC1') and healthStatus eq 'active'");
    let got: Vec<String> = s.machines(t, &opts, &DeviceScope::All).await.unwrap().into_iter().map(|m| m.id).collect();
    let want: Vec<String> = [10, 12, 14, 16, 18].into_iter().map(mid).collect();
    assert_eq!(got, want);
    let opts = q(&MACHINES, &format!("$filter=lastSeen gt {}&$orderby=lastSeen desc&$top=2", wire(at(90))));
    let got: Vec<String> = s.machines(t, &opts, &DeviceScope::All).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(got, vec![mid(95), mid(94), mid(93)]);
    // OData errors surface as OData errors.
    let bad = QueryOptions { filter: Some(palisade_odata::parse_filter("nope eq 1").unwrap()), ..Default::default() };
    assert!(matches!(s.machines(t, &bad, &DeviceScope::All).await, Err(SecurityStoreError::OData(_))));
}

#[tokio::test]
async fn machine_lookup_by_id_dns_name_or_computer_name() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    let mut dup = machine(3, "twin.b.com", 0, &[], &[]);
    dup.machine.last_seen = at(100);
    s.upsert_machines(t, &[machine(1, "Alpha.contoso.com", 0, &[], &[]), machine(2, "twin.a.com", 0, &[], &[]), dup])
        .await
        .unwrap();
    let id = |r: Option<MachineRecord>| r.map(|r| r.machine.id);
    assert_eq!(id(s.machine(t, &mid(1).to_uppercase()).await.unwrap()), Some(mid(1)));
    assert_eq!(id(s.machine(t, "ALPHA.CONTOSO.COM").await.unwrap()), Some(mid(1)));
    assert_eq!(id(s.machine(t, "alpha").await.unwrap()), Some(mid(1)));
    assert_eq!(id(s.machine(t, "twin").await.unwrap()), None, "ambiguous computer name");
    assert_eq!(id(s.machine(t, "alp").await.unwrap()), None);
    assert_eq!(id(s.machine(t, "al%").await.unwrap()), None, "LIKE wildcards are literal");
    let got = s.machines_by_ids(t, &[mid(3), "missing".into(), mid(1)]).await.unwrap();
    assert_eq!(got.into_iter().map(|r| r.machine.id).collect::<Vec<_>>(), vec![mid(3), mid(1)]);
}

#[tokio::test]
async fn find_machines_by_ip_and_tag() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    let mut m1 = machine(1, "pc1.contoso.com", 0, &["VIP", "Finance-EU"], &["10.0.0.1"]);
    m1.machine.last_seen = at(10);
    let m2 = machine(2, "pc2.contoso.com", 5, &["vip"], &["10.0.0.2"]);
    let m3 = machine(3, "pc3.contoso.com", 0, &["Finance_US"], &["10.0.0.3"]);
    s.upsert_machines(t, &[m1.clone(), m2, m3]).await.unwrap();
    // pc1 keeps 10.0.0.1 until minute 20, then moves to 10.0.0.9.
    m1.machine.last_seen = at(20);
    s.upsert_machines(t, &[m1.clone()]).await.unwrap();
    m1.machine.last_seen = at(30);
    m1.machine.ip_addresses[0].ip_address = "10.0.0.9".into();
    m1.machine.last_ip_address = Some("10.0.0.9".into());
    s.upsert_machines(t, &[m1]).await.unwrap();

    let ids = |v: Vec<Machine>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    let all = DeviceScope::All;
    assert_eq!(ids(s.find_machines_by_ip(t, "10.0.0.1", at(15), at(16), &all).await.unwrap()), vec![mid(1)]);
    assert_eq!(ids(s.find_machines_by_ip(t, "10.0.0.1", at(0), at(9), &all).await.unwrap()), Vec::<String>::new());
    assert_eq!(ids(s.find_machines_by_ip(t, "10.0.0.1", at(21), at(40), &all).await.unwrap()), Vec::<String>::new());
    assert_eq!(ids(s.find_machines_by_ip(t, "10.0.0.9", at(25), at(40), &all).await.unwrap()), vec![mid(1)]);
    assert!(s.find_machines_by_ip(t, "127.0.0.1", at(0), at(100), &all).await.unwrap().is_empty(), "no loopback");

    assert_eq!(ids(s.find_machines_by_tag(t, "vip", false, &all).await.unwrap()), vec![mid(1), mid(2)]);
    assert_eq!(
        ids(s.find_machines_by_tag(t, "VIP", false, &DeviceScope::Groups(vec![5])).await.unwrap()),
        vec![mid(2)]
    );
    assert_eq!(ids(s.find_machines_by_tag(t, "finance", true, &all).await.unwrap()), vec![mid(1), mid(3)]);
    assert_eq!(ids(s.find_machines_by_tag(t, "finance_", true, &all).await.unwrap()), vec![mid(3)], "_ is literal");
    assert!(s.find_machines_by_tag(t, "Finance", false, &all).await.unwrap().is_empty());
    // The OData lambda reads the same tags from the machine_tags JSON column (case-sensitive).
    let lambda = q(&MACHINES, "$filter=machineTags/any(x: x eq 'VIP')");
    assert_eq!(ids(s.machines(t, &lambda, &all).await.unwrap()), vec![mid(1)]);
    // Tags follow upserts.
    s.upsert_machines(t, &[machine(2, "pc2.contoso.com", 5, &[], &["10.0.0.2"])]).await.unwrap();
    assert_eq!(ids(s.find_machines_by_tag(t, "vip", false, &all).await.unwrap()), vec![mid(1)]);
}

#[tokio::test]
async fn device_scope_applies_to_every_collection() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    s.upsert_machines(t, &[machine(1, "a.x.com", 0, &[], &[]), machine(2, "b.x.com", 5, &[], &[])]).await.unwrap();
    let mut a1 = alert("da1", 1, "New", at(1), vec![]);
    a1.incident_id = Some(1);
    let mut a2 = alert("da2", 2, "New", at(2), vec![]);
    a2.incident_id = Some(2);
    s.insert_alerts(t, &[a1, a2]).await.unwrap();
    s.upsert_incidents(t, &[incident(1, at(1)), incident(2, at(2)), incident(3, at(3))]).await.unwrap();
    s.create_action(t, &action("x1", 1, "RunAntiVirusScan", at(1))).await.unwrap();
    s.create_action(t, &action("x2", 2, "RunAntiVirusScan", at(2))).await.unwrap();

    let g5 = DeviceScope::Groups(vec![5]);
    let none = DeviceScope::Groups(vec![]);
    let m: Vec<_> = s.machines(t, &all(), &g5).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(m, vec![mid(2)]);
    let al = s.alerts(t, &all(), &g5, false).await.unwrap();
    assert_eq!(al.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec!["da2"]);
    assert_eq!(al[0].rbac_group_name.as_deref(), Some("G5"), "alerts carry their device's group");
    let ac = s.actions(t, &all(), &g5).await.unwrap();
    assert_eq!(ac.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec!["x2"]);
    let inc = s.incidents(t, &all(), &g5).await.unwrap();
    assert_eq!(inc.iter().map(|i| i.incident_id).collect::<Vec<_>>(), vec![2]);
    // Unscoped: newest first by default.
    let inc = s.incidents(t, &all(), &DeviceScope::All).await.unwrap();
    assert_eq!(inc.iter().map(|i| i.incident_id).collect::<Vec<_>>(), vec![3, 2, 1]);
    let by_id = q(&INCIDENTS, "$orderby=incidentId&$top=2");
    let inc = s.incidents(t, &by_id, &DeviceScope::All).await.unwrap();
    assert_eq!(inc.iter().map(|i| i.incident_id).collect::<Vec<_>>(), vec![1, 2, 3], "top 2 + 1");
    assert_eq!(s.count_incidents(t, &all(), &DeviceScope::Groups(vec![0, 5])).await.unwrap(), 2);
    assert_eq!(s.incident_groups(t, 2).await.unwrap(), vec![5]);

    assert!(s.machines(t, &all(), &none).await.unwrap().is_empty());
    assert_eq!(s.count_machines(t, &all(), &none).await.unwrap(), 0);
    assert_eq!(s.count_alerts(t, &all(), &none).await.unwrap(), 0);
    assert_eq!(s.count_actions(t, &all(), &none).await.unwrap(), 0);
    assert_eq!(s.count_incidents(t, &all(), &none).await.unwrap(), 0);
    assert_eq!(s.count_alerts(t, &all(), &DeviceScope::All).await.unwrap(), 2);
    let typed = q(&MACHINE_ACTIONS, &format!("$filter=type eq 'runantivirusscan' and machineId eq '{}'", mid(1)));
    assert_eq!(s.count_actions(t, &typed, &DeviceScope::All).await.unwrap(), 1);
}

#[tokio::test]
async fn evidence_feeds_related_alerts_machines_and_prevalence() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    s.upsert_machines(t, &[machine(1, "a.x.com", 0, &[], &[]), machine(2, "b.x.com", 5, &[], &[])]).await.unwrap();
    let sha = "AABBCCDDEEFF00112233445566778899AABBCCDD";
    let url = Evidence {
        entity_type: "Url".into(),
        url: Some("http://Evil.Example.com:8080/x?y".into()),
        ..Default::default()
    };
    let ip = Evidence { entity_type: "Ip".into(), ip_address: Some("203.0.113.7".into()), ..Default::default() };
    let user = Evidence {
        entity_type: "User".into(),
        account_name: Some("Ann".into()),
        domain_name: Some("CONTOSO".into()),
        ..Default::default()
    };
    let mut a1 = alert("da1", 1, "New", at(1), vec![file_evidence(sha, "evil.exe"), url.clone(), user]);
    a1.evidence[0].evidence_creation_time = Some(at(0));
    let mut a2 = alert("da2", 2, "New", at(5), vec![file_evidence(sha, "invoice.exe"), url, ip]);
    a2.related_user = Some(RelatedUser { user_name: "BOB".into(), domain_name: "contoso".into() });
    let a3 = alert("da3", 2, "New", at(6), vec![file_evidence(sha, "evil.exe")]);
    s.insert_alerts(t, &[a1, a2, a3]).await.unwrap();

    let ids = |v: Vec<Alert>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let all = DeviceScope::All;
    let file = EntityKey::File(sha.to_lowercase());
    assert_eq!(ids(s.alerts_by_entity(t, &file, &all).await.unwrap()), vec!["da3", "da2", "da1"], "newest first");
    // SHA-256 keys evidence only when it has no SHA-1.
    let by256 = EntityKey::File(format!("{sha:0<64}").to_lowercase());
    assert!(s.alerts_by_entity(t, &by256, &all).await.unwrap().is_empty());
    let only256 = Evidence { sha1: None, ..file_evidence(sha, "x.exe") };
    s.insert_alerts(t, &[alert("da0", 1, "New", at(0), vec![only256])]).await.unwrap();
    assert_eq!(ids(s.alerts_by_entity(t, &by256, &all).await.unwrap()), vec!["da0"]);
    let domain = EntityKey::Domain("evil.example.com".into());
    assert_eq!(ids(s.alerts_by_entity(t, &domain, &all).await.unwrap()), vec!["da2", "da1"]);
    assert_eq!(ids(s.alerts_by_entity(t, &domain, &DeviceScope::Groups(vec![0])).await.unwrap()), vec!["da1"]);
    assert_eq!(ids(s.alerts_by_entity(t, &EntityKey::Ip("203.0.113.7".into()), &all).await.unwrap()), vec!["da2"]);
    assert_eq!(ids(s.alerts_by_entity(t, &EntityKey::User("ann".into()), &all).await.unwrap()), vec!["da1"]);
    assert_eq!(ids(s.alerts_by_entity(t, &EntityKey::User("bob".into()), &all).await.unwrap()), vec!["da2"]);

    let mids = |v: Vec<Machine>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(mids(s.machines_by_entity(t, &file, &all, 10).await.unwrap()), vec![mid(2), mid(1)]);
    assert_eq!(mids(s.machines_by_entity(t, &file, &all, 1).await.unwrap()), vec![mid(2)]);
    assert_eq!(mids(s.machines_by_entity(t, &domain, &DeviceScope::Groups(vec![5]), 10).await.unwrap()), vec![mid(2)]);
    // Users link to devices through logons.
    assert!(s.machines_by_entity(t, &EntityKey::User("ann".into()), &all, 10).await.unwrap().is_empty());
    let logon = |m: u32, name: &str, minute: i64| Logon {
        machine_id: mid(m),
        account_domain: "CONTOSO".into(),
        account_name: name.into(),
        account_sid: Some("S-1-5-21-1".into()),
        logon_type: "Interactive".into(),
        is_domain_admin: false,
        time: at(minute),
    };
    s.record_logons(t, &[logon(1, "Ann", 1), logon(2, "ann", 2), logon(2, "ANN", 3), logon(1, "bob", 4)])
        .await
        .unwrap();
    let ann = EntityKey::User("ann".into());
    assert_eq!(mids(s.machines_by_entity(t, &ann, &all, 10).await.unwrap()), vec![mid(2), mid(1)]);
    assert_eq!(s.logons_of_user(t, "ANN").await.unwrap().len(), 3);
    let on1 = s.logons_on_machine(t, &mid(1)).await.unwrap();
    assert_eq!(on1, vec![logon(1, "Ann", 1), logon(1, "bob", 4)]);

    let p = s.prevalence(t, &file, T0).await.unwrap();
    assert_eq!((p.devices, p.first_seen, p.last_seen), (2, Some(at(0)), Some(at(6))));
    assert_eq!(p.top_file_names, vec!["evil.exe", "invoice.exe"]);
    let p = s.prevalence(t, &file, at(2)).await.unwrap();
    assert_eq!((p.devices, p.first_seen), (1, Some(at(5))));
    // Telemetry sightings count too.
    let seen = Observation { key: domain.clone(), machine_id: mid(3), time: at(9), file_name: None };
    s.record_observations(t, &[seen]).await.unwrap();
    let p = s.prevalence(t, &domain, T0).await.unwrap();
    assert_eq!((p.devices, p.last_seen, p.top_file_names.len()), (3, Some(at(9)), 0));

    s.upsert_files(t, &[FileInfo { sha1: sha.into(), sha256: Some("FF".repeat(32)), ..Default::default() }])
        .await
        .unwrap();
    assert_eq!(s.file(t, &sha.to_lowercase()).await.unwrap().unwrap().sha1, sha);
    assert_eq!(s.file(t, &"ff".repeat(32)).await.unwrap().unwrap().sha1, sha);
    assert!(s.file(t, "00").await.unwrap().is_none());
}

#[test]
fn url_hosts() {
    use super::url_host;
    assert_eq!(url_host("http://evil.example.com/x").as_deref(), Some("evil.example.com"));
    assert_eq!(url_host("HTTPS://user:pw@Evil.Example.COM.:443/a?b#c").as_deref(), Some("evil.example.com"));
    assert_eq!(url_host("evil.example.com/path").as_deref(), Some("evil.example.com"));
    assert_eq!(url_host("http://[2001:db8::1]:80/").as_deref(), Some("2001:db8::1"));
    assert_eq!(url_host("http:///nothing"), None);
}

#[tokio::test]
async fn second_isolation_is_rejected() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    s.upsert_machines(t, &[machine(1, "pc1.x.com", 0, &[], &[])]).await.unwrap();
    let created = s.create_action(t, &action("i1", 1, "Isolate", at(1))).await.unwrap();
    assert_eq!((created.status.as_str(), created.computer_dns_name.as_deref()), ("Pending", Some("pc1.x.com")));
    match s.create_action(t, &action("i2", 1, "Isolate", at(2))).await {
        Err(SecurityStoreError::Rejected(e)) => {
            assert_eq!((e.status, e.message.as_str()), (400, "Action is already in progress"))
        }
        other => panic!("{other:?}"),
    }
    // Another family is fine, and the rejected one was not written.
    s.create_action(t, &action("s1", 1, "RunAntiVirusScan", at(3))).await.unwrap();
    assert!(s.action(t, "i2").await.unwrap().is_none());
    assert!(matches!(
        s.create_action(t, &action("z", 9, "Isolate", at(3))).await,
        Err(SecurityStoreError::NotFound(m)) if m == format!("Machine {}", mid(9))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_isolations_admit_exactly_one() {
    let f = store();
    let s = f.s.clone();
    let t = Uuid::new_v4();
    s.upsert_machines(t, &[machine(1, "pc1.x.com", 0, &[], &[])]).await.unwrap();
    for round in 0..10 {
        let (a, b) =
            (action(&format!("a{round}"), 1, "Isolate", at(1)), action(&format!("b{round}"), 1, "Isolate", at(1)));
        let (ra, rb) = tokio::join!(s.create_action(t, &a), s.create_action(t, &b));
        let ok = [ra.is_ok(), rb.is_ok()];
        assert_eq!(ok.iter().filter(|x| **x).count(), 1, "round {round}: {ra:?} / {rb:?}");
        for r in [ra, rb] {
            if let Err(e) = r {
                assert!(
                    matches!(e, SecurityStoreError::Rejected(ref d) if d.message == "Action is already in progress"),
                    "{e:?}"
                );
            }
        }
        let open = s.open_actions(100).await.unwrap();
        assert_eq!(open.len(), 1);
        s.cancel_action(t, &open[0].1.id, "x", "y", at(2)).await.unwrap();
    }
}

#[tokio::test]
async fn cancel_only_open_actions() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    s.upsert_machines(t, &[machine(1, "pc1.x.com", 0, &[], &[])]).await.unwrap();
    s.create_action(t, &action("c1", 1, "Isolate", at(1))).await.unwrap();
    let done = s.cancel_action(t, "c1", "boss@contoso.com", "mistake", at(4)).await.unwrap();
    assert_eq!(done.status, "Cancelled");
    assert_eq!(done.cancellation_requestor.as_deref(), Some("boss@contoso.com"));
    assert_eq!(done.cancellation_comment.as_deref(), Some("mistake"));
    assert_eq!((done.cancellation_date_time_utc, done.last_update_date_time_utc), (Some(at(4)), at(4)));
    assert_eq!(s.action(t, "c1").await.unwrap().unwrap(), done);
    match s.cancel_action(t, "c1", "x", "y", at(5)).await {
        Err(SecurityStoreError::Rejected(e)) => {
            assert_eq!((e.status, e.message.as_str()), (400, "Action c1 is already Cancelled and cannot be cancelled."))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(s.cancel_action(t, "nope", "x", "y", at(5)).await, Err(SecurityStoreError::NotFound(_))));
    // A cancelled isolation no longer blocks a new one.
    s.create_action(t, &action("c2", 1, "Isolate", at(6))).await.unwrap();
    let q = q(&MACHINE_ACTIONS, "$filter=status eq 'cancelled'");
    assert_eq!(s.count_actions(t, &q, &DeviceScope::All).await.unwrap(), 1);
}

#[tokio::test]
async fn transition_is_a_compare_and_set() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    s.upsert_machines(t, &[machine(1, "pc1.x.com", 0, &[], &[]), machine(2, "pc2.x.com", 0, &[], &[])]).await.unwrap();
    s.create_action(t, &action("old", 2, "RunAntiVirusScan", at(0))).await.unwrap();
    let mut a = s.create_action(t, &action("t1", 1, "Isolate", at(1))).await.unwrap();
    let open = s.open_actions(10).await.unwrap();
    assert_eq!(open.iter().map(|(_, a)| a.id.as_str()).collect::<Vec<_>>(), vec!["old", "t1"], "oldest first");
    assert_eq!(s.open_actions(1).await.unwrap().len(), 1);

    a.status = "InProgress".into();
    assert!(s.transition_action(t, &a, "Pending", None).await.unwrap());
    assert!(!s.transition_action(t, &a, "Pending", None).await.unwrap(), "stale from loses");
    a.status = "Succeeded".into();
    let isolated = DeviceState { isolation: Some("Full".into()), ..Default::default() };
    assert!(s.transition_action(t, &a, "InProgress", Some(&isolated)).await.unwrap());
    assert_eq!(s.machine(t, &mid(1)).await.unwrap().unwrap().state, isolated);
    assert_eq!(s.action(t, "t1").await.unwrap().unwrap().status, "Succeeded");
    assert_eq!(s.open_actions(10).await.unwrap().len(), 1);

    // A cancel wins over the agent: its transition does not apply, nor does its device state.
    let mut u = s.create_action(t, &action("t2", 1, "Unisolate", at(2))).await.unwrap();
    s.cancel_action(t, "t2", "x", "y", at(3)).await.unwrap();
    u.status = "Succeeded".into();
    assert!(!s.transition_action(t, &u, "Pending", Some(&DeviceState::default())).await.unwrap());
    assert_eq!(s.machine(t, &mid(1)).await.unwrap().unwrap().state, isolated);
    // The state now refuses a second isolation.
    let e = s.create_action(t, &action("t3", 1, "Isolate", at(4))).await.unwrap_err();
    assert!(matches!(e, SecurityStoreError::Rejected(ref d) if d.message.contains("already isolated")), "{e:?}");
}

fn group(id: i64, rank: u32, prefix: &str) -> DeviceGroup {
    DeviceGroup {
        id,
        name: format!("G{id}"),
        description: None,
        remediation_level: "FullRemediation".into(),
        rank,
        rules: MatchingRules { name_prefixes: vec![prefix.into()], ..Default::default() },
        user_groups: vec![],
    }
}

#[tokio::test]
async fn regroup_moves_devices_with_their_alerts_and_actions() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    let fleet: Vec<_> = (1..=2500)
        .map(|n| machine(n, &format!("{}{n}.x.com", if n % 2 == 0 { "srv" } else { "pc" }), 0, &[], &[]))
        .collect();
    s.upsert_machines(t, &fleet).await.unwrap();
    s.insert_alerts(t, &[alert("da2", 2, "New", at(1), vec![]), alert("da3", 3, "New", at(1), vec![])]).await.unwrap();
    s.create_action(t, &action("x2", 2, "RunAntiVirusScan", at(1))).await.unwrap();

    let config = RbacConfig { enabled: true, device_groups: vec![group(7, 1, "srv")], ..Default::default() };
    s.put_rbac_config(t, &config).await.unwrap();
    assert_eq!(s.rbac_config(t).await.unwrap(), config);
    assert_eq!(s.regroup_machines(t, &config).await.unwrap(), 1250);
    assert_eq!(s.regroup_machines(t, &config).await.unwrap(), 0, "idempotent");
    let g7 = DeviceScope::Groups(vec![7]);
    assert_eq!(s.count_machines(t, &all(), &g7).await.unwrap(), 1250);
    let m2 = s.machine(t, &mid(2)).await.unwrap().unwrap().machine;
    assert_eq!((m2.rbac_group_id, m2.rbac_group_name.as_deref()), (7, Some("G7")));
    let alerts = s.alerts(t, &all(), &g7, false).await.unwrap();
    assert_eq!(
        alerts.iter().map(|a| (a.id.as_str(), a.rbac_group_name.as_deref())).collect::<Vec<_>>(),
        vec![("da2", Some("G7"))]
    );
    assert_eq!(s.actions(t, &all(), &g7).await.unwrap().len(), 1);

    // Renaming the group rewrites names but moves nobody.
    let mut renamed = config.clone();
    renamed.device_groups[0].name = "Servers".into();
    assert_eq!(s.regroup_machines(t, &renamed).await.unwrap(), 0);
    assert_eq!(s.alert(t, "da2").await.unwrap().unwrap().rbac_group_name.as_deref(), Some("Servers"));

    // An upsert that changes the group (the caller computed it) carries alerts and actions along.
    let mut back = machine(2, "srv2.x.com", 0, &[], &[]);
    back.machine.rbac_group_name = None;
    s.upsert_machines(t, &[back]).await.unwrap();
    assert!(s.alerts(t, &all(), &g7, false).await.unwrap().is_empty());
    assert!(s.actions(t, &all(), &g7).await.unwrap().is_empty());
    assert_eq!(s.alert(t, "da2").await.unwrap().unwrap().rbac_group_name, None);
    assert_eq!(s.rbac_config(Uuid::new_v4()).await.unwrap(), RbacConfig::default());
}

#[tokio::test]
async fn alerts_arriving_before_their_device_follow_it() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    s.insert_alerts(t, &[alert("da1", 1, "New", at(1), vec![])]).await.unwrap();
    s.upsert_machines(t, &[machine(1, "pc1.x.com", 4, &[], &[])]).await.unwrap();
    let a = s.alerts(t, &all(), &DeviceScope::Groups(vec![4]), false).await.unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rbac_group_name.as_deref(), Some("G4"));
}

#[tokio::test]
async fn update_alerts_is_all_or_nothing() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    s.upsert_machines(t, &[machine(1, "pc1.x.com", 3, &[], &[])]).await.unwrap();
    let ev = vec![file_evidence("ab", "a.exe")];
    s.insert_alerts(t, &[alert("da1", 1, "New", at(1), ev.clone()), alert("da2", 1, "New", at(2), vec![])])
        .await
        .unwrap();

    let mut a1 = s.alerts(t, &all(), &DeviceScope::All, false).await.unwrap().remove(0);
    assert!(a1.evidence.is_empty(), "no evidence unless asked");
    a1.status = "Resolved".into();
    let ghost = alert("ghost", 1, "Resolved", at(3), vec![]);
    assert!(matches!(
        s.update_alerts(t, &[a1.clone(), ghost]).await,
        Err(SecurityStoreError::NotFound(m)) if m == "Alert ghost"
    ));
    assert_eq!(s.alert(t, "da1").await.unwrap().unwrap().status, "New", "nothing written");

    a1.assigned_to = Some("ann@contoso.com".into());
    a1.comments.push(Comment { comment: "fp".into(), created_by: None, created_time: at(9) });
    a1.rbac_group_name = Some("forged".into());
    s.update_alerts(t, &[a1]).await.unwrap();
    let stored = s.alert(t, "da1").await.unwrap().unwrap();
    assert_eq!((stored.status.as_str(), stored.assigned_to.as_deref()), ("Resolved", Some("ann@contoso.com")));
    assert_eq!(stored.comments.len(), 1);
    assert_eq!(stored.evidence, ev, "evidence survives updates made without it");
    assert_eq!(stored.rbac_group_name.as_deref(), Some("G3"), "the group is the device's");
    let resolved = q(&ALERTS, "$filter=status eq 'resolved' and assignedTo eq 'ANN@contoso.com'");
    assert_eq!(s.count_alerts(t, &resolved, &DeviceScope::All).await.unwrap(), 1);
    let with = s.alerts(t, &resolved, &DeviceScope::Groups(vec![3]), true).await.unwrap();
    assert_eq!(with[0].evidence, ev);
}

#[tokio::test]
async fn alerts_of_machine_and_of_incidents() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    let mut batch: Vec<Alert> = (0..25)
        .map(|i| {
            let mut a = alert(
                &format!("da{i:02}"),
                1 + i % 2,
                if i % 5 == 0 { "Resolved" } else { "New" },
                at(i as i64),
                vec![],
            );
            a.incident_id = Some(100 + (i % 3) as i64);
            a
        })
        .collect();
    batch[0].evidence = vec![file_evidence("ab", "a.exe")];
    s.insert_alerts(t, &batch).await.unwrap();

    let opts = q(&ALERTS, "$filter=status eq 'New'&$orderby=alertCreationTime desc&$top=4&$skip=2");
    let (page, n) = s.alerts_of_machine(t, &mid(1), &opts, false).await.unwrap();
    assert_eq!(n, 10, "13 alerts on machine 1, 3 resolved");
    assert_eq!(page.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), vec!["da18", "da16", "da14", "da12", "da08"]);
    let (page, n) = s.alerts_of_machine(t, &mid(1).to_uppercase(), &opts, true).await.unwrap();
    assert_eq!((page.len(), n), (0, 10));

    let of = s.alerts_of_incidents(t, &[100, 102]).await.unwrap();
    assert_eq!(of.len(), 17);
    assert!(of.iter().all(|a| matches!(a.incident_id, Some(100 | 102))));
    assert_eq!(of[0].evidence.len(), 1, "with evidence");
}

#[tokio::test]
async fn alert_status_filter_uses_an_index() {
    let f = store();
    let t = Uuid::new_v4();
    let opts = q(&ALERTS, "$filter=status eq 'New'&$orderby=id&$top=100");
    for scope in [DeviceScope::All, DeviceScope::Groups(vec![1, 2])] {
        let sql = super::alerts::alerts_page_sql(t, &opts, &scope, false).unwrap();
        let c = f.s.pool.get().unwrap();
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {}", sql.text)).unwrap();
        let plan: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(sql.args), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("USING INDEX alerts_status"), "{plan}");
        assert!(!plan.contains("SCAN alerts") && !plan.contains("TEMP B-TREE"), "{plan}");
    }
}

/// 100,000 devices and 1,000,000 alerts: bulk load speed and indexed page latency. Run with
/// `cargo test --release -p palisade-store-sqlite -- --ignored --nocapture at_scale`.
#[tokio::test(flavor = "multi_thread")]
#[ignore]
async fn at_scale() {
    let f = store();
    let (s, t) = (&f.s, Uuid::new_v4());
    let started = std::time::Instant::now();
    for chunk in (1..=100_000u32).collect::<Vec<_>>().chunks(10_000) {
        let batch: Vec<_> = chunk
            .iter()
            .map(|n| machine(*n, &format!("pc{n}.contoso.com"), (*n % 10) as i64, &["VIP"], &["10.1.0.1"]))
            .collect();
        s.upsert_machines(t, &batch).await.unwrap();
    }
    eprintln!("100k machines: {:?}", started.elapsed());
    let started = std::time::Instant::now();
    let statuses = ["New", "InProgress", "Resolved"];
    for b in 0..100u32 {
        let batch: Vec<_> = (0..10_000u32)
            .map(|i| {
                let n = b * 10_000 + i;
                let ev = vec![file_evidence(&format!("{:040x}", n % 5000), "f.exe")];
                alert(&format!("da{n:08}"), 1 + n % 100_000, statuses[n as usize % 3], at(n as i64), ev)
            })
            .collect();
        s.insert_alerts(t, &batch).await.unwrap();
    }
    eprintln!("1M alerts: {:?}", started.elapsed());
    let cases = [
        (&ALERTS, "$filter=status eq 'New'&$top=100"),
        (&ALERTS, "$filter=status eq 'New'&$top=100&$skip=5000"),
        (&ALERTS, "$filter=severity in ('High','Medium')&$orderby=id&$top=100"),
        (&ALERTS, "$filter=lastUpdateTime ge 2026-01-10T00:00:00Z&$orderby=lastUpdateTime desc&$top=100"),
        (&ALERTS, "$filter=machineId eq '00000000000000000000000000000000000000ab'&$top=100"),
    ];
    for (schema, query) in cases {
        let opts = q(schema, query);
        let started = std::time::Instant::now();
        let n = s.alerts(t, &opts, &DeviceScope::Groups(vec![1, 2, 3]), false).await.unwrap().len();
        eprintln!("{query}: {n} rows in {:?}", started.elapsed());
    }
    for query in
        ["$filter=healthStatus eq 'Active'&$top=100", "$filter=riskScore eq 'High'&$orderby=lastSeen desc&$top=100"]
    {
        let opts = q(&MACHINES, query);
        let started = std::time::Instant::now();
        let n = s.machines(t, &opts, &DeviceScope::All).await.unwrap().len();
        eprintln!("{query}: {n} rows in {:?}", started.elapsed());
    }
    let started = std::time::Instant::now();
    let config = RbacConfig { enabled: true, device_groups: vec![group(70, 1, "pc1")], ..Default::default() };
    eprintln!("regroup: {} moved in {:?}", s.regroup_machines(t, &config).await.unwrap(), started.elapsed());
}
