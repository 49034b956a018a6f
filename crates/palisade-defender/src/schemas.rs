//! OData views of the entity sets (`defender-api.md` §5): every property of the wire shape (so
//! `$select` can name it), the documented filterable ones marked so, and the SQL column each
//! lives in. Column names are a contract with the store: the SQLite store creates exactly these
//! columns (indexed where a documented filter needs it); times are unix milliseconds, collections
//! JSON arrays.

use palisade_odata::{Kind, Property, Schema};

const fn p(name: &'static str, kind: Kind, column: &'static str) -> Property {
    Property::new(name, kind, column)
}

/// A property that exists in the JSON but is not documented as filterable: `$select` only.
const fn sel(name: &'static str) -> Property {
    Property::new(name, Kind::String, "NULL").not_filterable().not_sortable()
}

/// `/api/machines` (§5: filterable computerDnsName, id, version, deviceValue, aadDeviceId,
/// machineTags, lastSeen, exposureLevel, onboardingStatus, lastIpAddress, healthStatus,
/// osPlatform, riskScore, rbacGroupId).
pub static MACHINES: Schema = Schema {
    entity_set: "Machines",
    max_top: 10_000,
    properties: &[
        p("id", Kind::String, "id").nocase(),
        sel("mergedIntoMachineId"),
        sel("isPotentialDuplication"),
        sel("isExcluded"),
        sel("exclusionReason"),
        p("computerDnsName", Kind::String, "computer_dns_name").nocase(),
        p("firstSeen", Kind::DateTime, "first_seen_ms").not_filterable(),
        p("lastSeen", Kind::DateTime, "last_seen_ms"),
        p("osPlatform", Kind::Enum, "os_platform").nocase(),
        sel("osVersion"),
        sel("osProcessor"),
        p("version", Kind::String, "version").nocase(),
        p("lastIpAddress", Kind::String, "last_ip_address"),
        sel("lastExternalIpAddress"),
        sel("agentVersion"),
        sel("osBuild"),
        p("healthStatus", Kind::Enum, "health_status").nocase(),
        p("deviceValue", Kind::Enum, "device_value").nocase(),
        p("rbacGroupId", Kind::Int, "rbac_group_id"),
        sel("rbacGroupName"),
        p("riskScore", Kind::Enum, "risk_score").nocase(),
        p("exposureLevel", Kind::Enum, "exposure_level").nocase(),
        sel("isAadJoined"),
        p("aadDeviceId", Kind::Guid, "aad_device_id"),
        p("machineTags", Kind::StringCollection, "machine_tags"),
        sel("defenderAvStatus"),
        p("onboardingStatus", Kind::Enum, "onboarding_status").nocase(),
        sel("osArchitecture"),
        sel("managedBy"),
        sel("managedByStatus"),
        sel("ipAddresses"),
        sel("vmMetadata"),
    ],
};

/// `/api/alerts` (§5: filterable alertCreationTime, lastUpdateTime, incidentId, investigationId,
/// id, assignedTo, detectionSource, lastEventTime, status, severity, category; Palisade also lets
/// machineId, computerDnsName, title, classification and determination through).
pub static ALERTS: Schema = Schema {
    entity_set: "Alerts",
    max_top: 10_000,
    properties: &[
        p("id", Kind::String, "id"),
        p("incidentId", Kind::Int, "incident_id"),
        p("investigationId", Kind::Int, "investigation_id"),
        p("assignedTo", Kind::String, "assigned_to").nocase(),
        p("severity", Kind::Enum, "severity").nocase(),
        p("status", Kind::Enum, "status").nocase(),
        p("classification", Kind::Enum, "classification").nocase(),
        p("determination", Kind::Enum, "determination").nocase(),
        sel("investigationState"),
        p("detectionSource", Kind::String, "detection_source").nocase(),
        sel("detectorId"),
        p("category", Kind::String, "category").nocase(),
        sel("threatFamilyName"),
        p("title", Kind::String, "title"),
        sel("description"),
        p("alertCreationTime", Kind::DateTime, "alert_creation_ms"),
        p("firstEventTime", Kind::DateTime, "first_event_ms"),
        p("lastEventTime", Kind::DateTime, "last_event_ms"),
        p("lastUpdateTime", Kind::DateTime, "last_update_ms"),
        p("resolvedTime", Kind::DateTime, "resolved_ms").not_filterable(),
        p("machineId", Kind::String, "machine_id").nocase(),
        p("computerDnsName", Kind::String, "computer_dns_name").nocase(),
        sel("rbacGroupName"),
        sel("aadTenantId"),
        sel("threatName"),
        sel("mitreTechniques"),
        sel("relatedUser"),
        sel("comments"),
        sel("evidence"),
    ],
};

/// `/api/machineactions` (§5: filterable id, status, machineId, type, requestor,
/// creationDateTimeUtc).
pub static MACHINE_ACTIONS: Schema = Schema {
    entity_set: "MachineActions",
    max_top: 10_000,
    properties: &[
        p("id", Kind::Guid, "id"),
        p("type", Kind::Enum, "type").nocase(),
        sel("title"),
        p("requestor", Kind::String, "requestor").nocase(),
        sel("requestorComment"),
        p("status", Kind::Enum, "status").nocase(),
        p("machineId", Kind::String, "machine_id").nocase(),
        p("computerDnsName", Kind::String, "computer_dns_name").nocase().not_filterable(),
        p("creationDateTimeUtc", Kind::DateTime, "creation_ms"),
        p("lastUpdateDateTimeUtc", Kind::DateTime, "last_update_ms"),
        sel("cancellationRequestor"),
        sel("cancellationComment"),
        sel("cancellationDateTimeUtc"),
        sel("errorHResult"),
        sel("scope"),
        sel("externalId"),
        sel("requestSource"),
        sel("relatedFileInfo"),
        sel("commands"),
        sel("troubleshootInfo"),
    ],
};

/// `/api/incidents` (§5: filterable lastUpdateTime, createdTime, status, assignedTo; at most 100
/// per page).
pub static INCIDENTS: Schema = Schema {
    entity_set: "Incidents",
    max_top: 100,
    properties: &[
        p("incidentId", Kind::Int, "incident_id").not_filterable(),
        sel("redirectIncidentId"),
        p("incidentName", Kind::String, "incident_name").not_filterable(),
        p("createdTime", Kind::DateTime, "created_ms"),
        p("lastUpdateTime", Kind::DateTime, "last_update_ms"),
        p("assignedTo", Kind::String, "assigned_to").nocase(),
        p("classification", Kind::Enum, "classification").nocase().not_filterable(),
        p("determination", Kind::Enum, "determination").nocase().not_filterable(),
        p("status", Kind::Enum, "status").nocase(),
        p("severity", Kind::Enum, "severity").nocase().not_filterable(),
        sel("tags"),
        sel("comments"),
        sel("alerts"),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_odata::QueryOptions;

    #[test]
    fn documented_filters_parse() {
        for (schema, f) in [
            (&MACHINES, "riskScore eq 'High' and healthStatus ne 'Inactive'"),
            (&MACHINES, "startswith(computerDnsName,'mymachine')"),
            (&MACHINES, "lastSeen gt 2018-08-01Z"),
            (&MACHINES, "machineTags/any(t: t eq 'VIP')"),
            (&MACHINES, "RbacGroupId eq 140"),
            (&ALERTS, "lastUpdateTime ge 2019-11-22T00:00:00Z and severity in ('High','Medium')"),
            (&ALERTS, "InvestigationId eq 123 or incidentId eq 5"),
            (&MACHINE_ACTIONS, "type eq 'Isolate' and status eq 'Succeeded'"),
            (&MACHINE_ACTIONS, "machineId eq '1e5bc9d7e413ddd7902c2932e418702b84d0cc07'"),
            (&INCIDENTS, "status eq 'Active' and lastUpdateTime gt 2021-08-13T08:00:00Z"),
        ] {
            QueryOptions::parse_for(&format!("$filter={f}"), schema).unwrap_or_else(|e| panic!("{f}: {e}"));
        }
        assert!(QueryOptions::parse_for("$filter=osVersion eq 'x'", &MACHINES).is_err());
        assert!(QueryOptions::parse_for("$filter=severity eq 'High'", &INCIDENTS).is_err());
        assert_eq!(QueryOptions::parse_for("$top=500", &INCIDENTS).unwrap().page_size(&INCIDENTS), 100);
    }
}
