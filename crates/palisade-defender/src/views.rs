//! Entities the API derives rather than stores: user profiles from logons, an alert's related
//! files/IPs/domains from its evidence, and the Microsoft 365 Defender incident view (its alerts
//! with devices and entities, §4.7).

use std::collections::BTreeMap;

use crate::model::*;

/// The host of a URL evidence (`http://evil.example.com:8080/x` → `evil.example.com`), lowercase.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = if host.starts_with('[') { host } else { host.split(':').next()? };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// User profiles from logons, one per `domain\account`, busiest first.
pub fn user_profiles(logons: &[Logon]) -> Vec<UserProfile> {
    let mut by_user: BTreeMap<(String, String), Vec<&Logon>> = BTreeMap::new();
    for l in logons {
        by_user
            .entry((l.account_domain.to_ascii_lowercase(), l.account_name.to_ascii_lowercase()))
            .or_default()
            .push(l);
    }
    let mut out: Vec<(usize, UserProfile)> = by_user
        .into_values()
        .map(|ls| {
            let first = ls[0];
            let mut per_machine: BTreeMap<&str, usize> = BTreeMap::new();
            let mut types: Vec<&str> = Vec::new();
            for l in &ls {
                *per_machine.entry(l.machine_id.as_str()).or_default() += 1;
                if !types.contains(&l.logon_type.as_str()) {
                    types.push(&l.logon_type);
                }
            }
            let most =
                per_machine.iter().max_by_key(|(m, n)| (**n, std::cmp::Reverse(**m))).map(|(m, _)| m.to_string());
            let least = per_machine.iter().min_by_key(|(m, n)| (**n, **m)).map(|(m, _)| m.to_string());
            let profile = UserProfile {
                id: format!("{}\\{}", first.account_domain, first.account_name),
                account_name: first.account_name.clone(),
                account_domain: first.account_domain.clone(),
                account_sid: ls.iter().find_map(|l| l.account_sid.clone()),
                first_seen: ls.iter().map(|l| l.time).min().unwrap_or(first.time),
                last_seen: ls.iter().map(|l| l.time).max().unwrap_or(first.time),
                most_prevalent_machine_id: most,
                least_prevalent_machine_id: least,
                logon_types: types.join(", "),
                log_on_machines_count: per_machine.len() as i64,
                is_domain_admin: ls.iter().any(|l| l.is_domain_admin),
                is_only_network_user: types.iter().all(|t| *t == "Network"),
            };
            (ls.len(), profile)
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
    out.into_iter().map(|(_, p)| p).collect()
}

/// Distinct SHA-1s of an alert's file and process evidence, in evidence order.
pub fn alert_file_hashes(alert: &Alert) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in &alert.evidence {
        if let Some(h) = &e.sha1 {
            let h = h.to_ascii_lowercase();
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

/// A file profile from evidence alone, for hashes the file store does not know.
pub fn file_from_evidence(alert: &Alert, sha1: &str) -> FileInfo {
    let e = alert.evidence.iter().find(|e| e.sha1.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(sha1)));
    FileInfo {
        sha1: sha1.to_string(),
        sha256: e.and_then(|e| e.sha256.clone()),
        is_pe_file: e.and_then(|e| e.file_name.as_deref()).is_some_and(|n| {
            let n = n.to_ascii_lowercase();
            n.ends_with(".exe") || n.ends_with(".dll") || n.ends_with(".sys")
        }),
        determination_type: Some("Unknown".into()),
        ..Default::default()
    }
}

/// Distinct IP addresses of an alert's evidence.
pub fn alert_ips(alert: &Alert) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for ip in alert.evidence.iter().filter_map(|e| e.ip_address.clone()) {
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// Distinct hosts of an alert's URL evidence.
pub fn alert_domains(alert: &Alert) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in alert.evidence.iter().filter_map(|e| e.url.as_deref().and_then(url_host)) {
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}

fn incident_entity(e: &Evidence, device_id: &str) -> IncidentEntity {
    IncidentEntity {
        entity_type: e.entity_type.clone(),
        sha1: e.sha1.clone(),
        sha256: e.sha256.clone(),
        file_name: e.file_name.clone(),
        file_path: e.file_path.clone(),
        process_id: e.process_id,
        process_command_line: e.process_command_line.clone(),
        process_creation_time: e.process_creation_time,
        parent_process_id: e.parent_process_id,
        parent_process_creation_time: e.parent_process_creation_time,
        ip_address: e.ip_address.clone(),
        url: e.url.clone(),
        account_name: e.account_name.clone(),
        domain_name: e.domain_name.clone(),
        user_sid: e.user_sid.clone(),
        aad_user_id: e.aad_user_id.clone(),
        user_principal_name: e.user_principal_name.clone(),
        registry_hive: e.registry_hive.clone(),
        registry_key: e.registry_key.clone(),
        registry_value_type: e.registry_value_type.clone(),
        registry_value: e.registry_value.clone(),
        device_id: Some(device_id.to_string()),
        ..Default::default()
    }
}

/// The incident as the M365D API returns it: its alerts (M365D shape) with their device and
/// entities, oldest alert first.
pub fn incident_view(incident: Incident, alerts: &[Alert], machines: &[Machine]) -> IncidentView {
    let mut mine: Vec<&Alert> = alerts.iter().filter(|a| a.incident_id == Some(incident.incident_id)).collect();
    mine.sort_by(|a, b| a.alert_creation_time.cmp(&b.alert_creation_time).then_with(|| a.id.cmp(&b.id)));
    let alerts = mine
        .into_iter()
        .map(|a| {
            let devices = machines
                .iter()
                .filter(|m| m.id == a.machine_id)
                .map(|m| IncidentDevice {
                    mdatp_device_id: m.id.clone(),
                    aad_device_id: m.aad_device_id.clone(),
                    device_dns_name: m.computer_dns_name.clone(),
                    os_platform: m.os_platform.clone(),
                    version: m.version.clone(),
                    os_processor: m.os_processor.clone(),
                    os_build: m.os_build,
                    health_status: m.health_status.clone(),
                    risk_score: m.risk_score.clone(),
                    rbac_group_name: m.rbac_group_name.clone(),
                    rbac_group_id: m.rbac_group_id,
                    first_seen: m.first_seen,
                })
                .collect();
            IncidentAlert {
                alert_id: a.id.clone(),
                incident_id: a.incident_id,
                service_source: "MicrosoftDefenderATP".into(),
                creation_time: a.alert_creation_time,
                last_updated_time: a.last_update_time,
                resolved_time: a.resolved_time,
                first_activity: a.first_event_time,
                last_activity: a.last_event_time,
                title: a.title.clone(),
                description: a.description.clone(),
                category: a.category.clone(),
                status: a.status.clone(),
                severity: a.severity.clone(),
                investigation_id: a.investigation_id,
                investigation_state: a.investigation_state.clone(),
                classification: a.classification.clone(),
                determination: a.determination.clone(),
                detection_source: a.detection_source.clone(),
                assigned_to: a.assigned_to.clone(),
                actor_name: None,
                threat_family_name: a.threat_family_name.clone(),
                mitre_techniques: a.mitre_techniques.clone(),
                devices,
                entities: a.evidence.iter().map(|e| incident_entity(e, &a.machine_id)).collect(),
            }
        })
        .collect();
    IncidentView { incident, alerts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(url_host("http://Evil.Example.com:8080/x?y").as_deref(), Some("evil.example.com"));
        assert_eq!(url_host("evil.example.com/path").as_deref(), Some("evil.example.com"));
        assert_eq!(url_host("https://user@h.io").as_deref(), Some("h.io"));
    }

    #[test]
    fn profiles_aggregate_logons() {
        let l = |m: &str, t: &str, h: u8| Logon {
            machine_id: m.into(),
            account_domain: "contoso".into(),
            account_name: "jdoe".into(),
            account_sid: Some("S-1-5-21-1".into()),
            logon_type: t.into(),
            is_domain_admin: false,
            time: datetime!(2026-01-01 00:00 UTC) + time::Duration::hours(h.into()),
        };
        let p = user_profiles(&[l("a", "Interactive", 1), l("a", "Network", 2), l("b", "Network", 3)]);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].id, "contoso\\jdoe");
        assert_eq!(p[0].log_on_machines_count, 2);
        assert_eq!(p[0].most_prevalent_machine_id.as_deref(), Some("a"));
        assert_eq!(p[0].logon_types, "Interactive, Network");
        assert!(!p[0].is_only_network_user);
    }
}
