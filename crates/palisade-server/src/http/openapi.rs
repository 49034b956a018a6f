//! `GET /api/openapi.json` (also under `/api/v1.0`, no token needed, like Microsoft's public
//! docs): an OpenAPI 3.0 description of every Defender operation Palisade serves — paths, methods,
//! path and OData query parameters, request bodies, responses with the service's error body, and
//! the bearer scheme. Property-based runners (schemathesis in `tests/clients`) fuzz the API from it.
//!
//! Built in Rust from [`operations`] rather than kept as a static JSON file: the enum values
//! (statuses, classifications, indicator types, …), the batch limits and the OData property lists
//! come from the constants and schemas the handlers validate with, the permissions and quotas
//! from [`Operation::requirement`], so none of them can fall out of date; and a test compares the
//! operation table with the routes of `api_routes()` in both directions, so a route cannot be
//! added without its description (or described without being served).

use std::sync::LazyLock;

use axum::Json;
use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use palisade_defender::{Operation, actions, indicators, schemas, triage};
use palisade_odata::Schema;
use serde_json::{Map, Value, json};

use super::ctx::Ctx;

/// Largest id list of `batchUpdate` and `AddOrRemoveTagForMultipleMachines` (the handlers' limit).
const MAX_BULK: usize = 500;

/// Which query parameters an operation takes.
#[derive(Clone, Copy)]
enum Query {
    None,
    /// A collection with OData options; `select`/`count` say whether the endpoint honours them,
    /// `expand` lists the navigation properties it expands.
    OData {
        schema: &'static Schema,
        select: bool,
        count: bool,
        expand: &'static [&'static str],
    },
    /// A `$count` endpoint: `$filter` narrows what is counted.
    Filter(&'static Schema),
    /// A single alert: `$expand=evidence`.
    Expand(&'static [&'static str]),
    /// `tag` and `useStartsWithFilter`.
    FindByTag,
    /// `lookBackHours`.
    LookBack,
}

/// What a successful call answers.
#[derive(Clone, Copy)]
enum Answer {
    /// 200, one entity of this component schema with its `@odata.context`.
    Entity(&'static str),
    /// 201, the new machine action.
    Created,
    /// 200, `{@odata.context, value: [<schema>]}`.
    Collection(&'static str),
    /// 200, a bare integer as text/plain.
    Count,
    /// 200 with an empty body (batchUpdate).
    Empty,
    /// 204.
    NoContent,
    /// 200, `{@odata.context: …#Edm.String, value: <download URL>}`.
    Link,
    /// 200, the in-organisation prevalence of a file, IP or domain.
    Stats(&'static str),
    /// This document.
    Document,
    /// 200, what an ingestion request stored.
    Ingested,
}

/// One documented operation.
pub(crate) struct Op {
    /// Lowercase HTTP method.
    pub method: &'static str,
    /// The route under `/api`, spelled as in `api_routes()`.
    pub route: &'static str,
    /// The documented path: the route, or the OData function syntax a catch-all route serves.
    pub path: &'static str,
    id: &'static str,
    summary: &'static str,
    /// The permissions and quota (`None`: public).
    operation: Option<Operation>,
    query: Query,
    body: Option<fn() -> Value>,
    /// The body is telemetry rows (NDJSON or Arrow IPC), not JSON.
    rows_body: bool,
    answer: Answer,
}

const fn op(method: &'static str, route: &'static str, id: &'static str, operation: Operation, answer: Answer) -> Op {
    Op {
        method,
        route,
        path: route,
        id,
        summary: "",
        operation: Some(operation),
        query: Query::None,
        body: None,
        rows_body: false,
        answer,
    }
}

impl Op {
    const fn doc(mut self, summary: &'static str) -> Self {
        self.summary = summary;
        self
    }
    const fn query(mut self, q: Query) -> Self {
        self.query = q;
        self
    }
    const fn body(mut self, b: fn() -> Value) -> Self {
        self.body = Some(b);
        self
    }
    const fn rows_body(mut self) -> Self {
        self.rows_body = true;
        self
    }
    const fn path(mut self, p: &'static str) -> Self {
        self.path = p;
        self
    }

    /// The group the operation is listed under: its collection, response actions apart.
    fn tag(&self) -> &'static str {
        match (self.answer, self.route.split('/').nth(1).unwrap_or("")) {
            (Answer::Created, _) | (_, "machineactions") => "Machine actions",
            (_, "alerts") => "Alerts",
            (_, "machines") => "Machines",
            (_, "files" | "ips" | "domains" | "users") => "Entities",
            (_, "indicators") => "Indicators",
            (_, "incidents") => "Incidents",
            (_, "palisade") => "Telemetry ingestion (Palisade)",
            _ => "Meta",
        }
    }
}

const fn odata(schema: &'static Schema) -> Query {
    Query::OData { schema, select: true, count: true, expand: &[] }
}

/// Every operation under `/api`, in the order of `api_routes()`.
pub(crate) fn operations() -> &'static [Op] {
    use Answer::*;
    use Operation as O;
    use schemas::{ALERTS, INCIDENTS, MACHINE_ACTIONS, MACHINES};
    static OPS: LazyLock<Vec<Op>> = LazyLock::new(|| {
        let action = |route, id, operation, body: fn() -> Value| op("post", route, id, operation, Created).body(body);
        vec![
            Op {
                method: "get",
                route: "/openapi.json",
                path: "/openapi.json",
                id: "getOpenApiDocument",
                summary: "This document (no token needed).",
                operation: None,
                query: Query::None,
                body: None,
                rows_body: false,
                answer: Document,
            },
            // Alerts.
            op("get", "/alerts", "listAlerts", O::ListAlerts, Collection("Alert"))
                .doc("List alerts.")
                .query(Query::OData { schema: &ALERTS, select: true, count: true, expand: &["evidence"] }),
            op("get", "/alerts/$count", "countAlerts", O::ListAlerts, Count)
                .doc("Count alerts.")
                .query(Query::Filter(&ALERTS)),
            op("post", "/alerts/batchUpdate", "batchUpdateAlerts", O::BatchUpdateAlerts, Empty)
                .doc("Update several alerts at once (all or none).")
                .body(alert_batch_body),
            op("get", "/alerts/{id}", "getAlert", O::GetAlert, Entity("Alert"))
                .doc("Get an alert.")
                .query(Query::Expand(&["evidence"])),
            op("patch", "/alerts/{id}", "updateAlert", O::UpdateAlert, Entity("Alert"))
                .doc("Update an alert.")
                .body(alert_update_body),
            op("get", "/alerts/{id}/files", "listAlertFiles", O::AlertFiles, Collection("File"))
                .doc("Files of an alert."),
            op("get", "/alerts/{id}/ips", "listAlertIps", O::AlertIps, Collection("Ip"))
                .doc("IP addresses of an alert."),
            op("get", "/alerts/{id}/domains", "listAlertDomains", O::AlertDomains, Collection("Domain"))
                .doc("Domains of an alert."),
            op("get", "/alerts/{id}/machine", "getAlertMachine", O::AlertMachine, Entity("Machine"))
                .doc("The device of an alert."),
            op("get", "/alerts/{id}/user", "getAlertUser", O::AlertUser, Entity("User")).doc("The user of an alert."),
            // Machines.
            op("get", "/machines", "listMachines", O::ListMachines, Collection("Machine"))
                .doc("List devices.")
                .query(odata(&MACHINES)),
            op("get", "/machines/$count", "countMachines", O::ListMachines, Count)
                .doc("Count devices.")
                .query(Query::Filter(&MACHINES)),
            op("get", "/machines/findbytag", "findMachinesByTag", O::FindMachinesByTag, Collection("Machine"))
                .doc("Devices with a tag.")
                .query(Query::FindByTag),
            op(
                "post",
                "/machines/AddOrRemoveTagForMultipleMachines",
                "tagMachines",
                O::TagMachines,
                Collection("Machine"),
            )
            .doc("Add or remove a tag on several devices.")
            .body(tag_machines_body),
            op("get", "/machines/{id}", "getMachine", O::GetMachine, Entity("Machine"))
                .doc("Get a device by id or computer DNS name."),
            op("get", "/machines/{id}", "findMachinesByIp", O::FindMachinesByIp, Collection("Machine"))
                .doc("Devices seen with an internal IP within 15 minutes of a time of the past 30 days.")
                .path("/machines/findbyip(ip='{ip}',timestamp={timestamp})"),
            op("patch", "/machines/{id}", "updateMachine", O::UpdateMachine, Entity("Machine"))
                .doc("Replace a device's tags and/or set its value.")
                .body(machine_update_body),
            op("get", "/machines/{id}/logonusers", "listMachineLogonUsers", O::MachineLogonUsers, Collection("User"))
                .doc("Users who logged on to a device."),
            op("get", "/machines/{id}/alerts", "listMachineAlerts", O::MachineAlerts, Collection("Alert"))
                .doc("Alerts of a device.")
                .query(odata(&ALERTS)),
            op("get", "/machines/{id}/alerts/$count", "countMachineAlerts", O::MachineAlerts, Count)
                .doc("Count a device's alerts.")
                .query(Query::Filter(&ALERTS)),
            op("post", "/machines/{id}/tags", "tagMachine", O::TagMachine, Entity("Machine"))
                .doc("Add or remove a device tag.")
                .body(tag_body),
            op("post", "/machines/{id}/setDeviceValue", "setDeviceValue", O::SetDeviceValue, Entity("Machine"))
                .doc("Set a device's value.")
                .body(device_value_body),
            action("/machines/{id}/isolate", "isolateMachine", O::Isolate, isolate_body)
                .doc("Isolate a device from the network."),
            action("/machines/{id}/unisolate", "unisolateMachine", O::Unisolate, comment_body)
                .doc("Release a device from isolation."),
            action(
                "/machines/{id}/restrictCodeExecution",
                "restrictCodeExecution",
                O::RestrictCodeExecution,
                comment_body,
            )
            .doc("Restrict app execution (Windows)."),
            action(
                "/machines/{id}/unrestrictCodeExecution",
                "unrestrictCodeExecution",
                O::UnrestrictCodeExecution,
                comment_body,
            )
            .doc("Lift the app execution restriction (Windows)."),
            action("/machines/{id}/runAntiVirusScan", "runAntiVirusScan", O::RunAntiVirusScan, scan_body)
                .doc("Run an antivirus scan."),
            action(
                "/machines/{id}/collectInvestigationPackage",
                "collectInvestigationPackage",
                O::CollectInvestigationPackage,
                comment_body,
            )
            .doc("Collect an investigation package."),
            action("/machines/{id}/offboard", "offboardMachine", O::Offboard, comment_body)
                .doc("Offboard a device (Windows)."),
            action(
                "/machines/{id}/StopAndQuarantineFile",
                "stopAndQuarantineFile",
                O::StopAndQuarantineFile,
                quarantine_body,
            )
            .doc("Stop a file's processes and quarantine it (Windows)."),
            action("/machines/{id}/runliveresponse", "runLiveResponse", O::RunLiveResponse, live_response_body)
                .doc("Run live response commands."),
            // Machine actions.
            op("get", "/machineactions", "listMachineActions", O::ListMachineActions, Collection("MachineAction"))
                .doc("List machine actions.")
                .query(odata(&MACHINE_ACTIONS)),
            op("get", "/machineactions/$count", "countMachineActions", O::ListMachineActions, Count)
                .doc("Count machine actions.")
                .query(Query::Filter(&MACHINE_ACTIONS)),
            op("get", "/machineactions/{id}", "getMachineAction", O::GetMachineAction, Entity("MachineAction"))
                .doc("Get a machine action."),
            op(
                "post",
                "/machineactions/{id}/cancel",
                "cancelMachineAction",
                O::CancelMachineAction,
                Entity("MachineAction"),
            )
            .doc("Cancel a machine action that has not finished.")
            .body(comment_body),
            op("get", "/machineactions/{id}/getPackageUri", "getPackageUri", O::GetPackageUri, Link)
                .doc("A 30-minute link to a collected investigation package (404 until it has succeeded)."),
            op(
                "get",
                "/machineactions/{id}/{func}",
                "getLiveResponseResultDownloadLink",
                O::GetLiveResponseResult,
                Link,
            )
            .doc("A 30-minute link to the result of a completed live response command.")
            .path("/machineactions/{id}/GetLiveResponseResultDownloadLink(index={index})"),
            // Files, IPs, domains, users.
            op("get", "/files/{id}", "getFile", O::GetFile, Entity("File")).doc("A file profile."),
            op("get", "/files/{id}/stats", "getFileStats", O::FileStats, Stats("FileStats"))
                .doc("A file's prevalence.")
                .query(Query::LookBack),
            op("get", "/files/{id}/alerts", "listFileAlerts", O::FileAlerts, Collection("Alert"))
                .doc("Alerts about a file."),
            op("get", "/files/{id}/machines", "listFileMachines", O::FileMachines, Collection("Machine"))
                .doc("Devices that saw a file."),
            op("get", "/ips/{ip}/stats", "getIpStats", O::IpStats, Stats("IpStats"))
                .doc("An IP address's prevalence.")
                .query(Query::LookBack),
            op("get", "/ips/{ip}/alerts", "listIpAlerts", O::IpAlerts, Collection("Alert"))
                .doc("Alerts about an IP address."),
            op("get", "/domains/{d}/stats", "getDomainStats", O::DomainStats, Stats("DomainStats"))
                .doc("A domain's prevalence.")
                .query(Query::LookBack)
                .path("/domains/{domain}/stats"),
            op("get", "/domains/{d}/alerts", "listDomainAlerts", O::DomainAlerts, Collection("Alert"))
                .doc("Alerts about a domain.")
                .path("/domains/{domain}/alerts"),
            op("get", "/domains/{d}/machines", "listDomainMachines", O::DomainMachines, Collection("Machine"))
                .doc("Devices that reached a domain (at most 500).")
                .path("/domains/{domain}/machines"),
            op("get", "/users/{id}/alerts", "listUserAlerts", O::UserAlerts, Collection("Alert"))
                .doc("Alerts about a user."),
            op("get", "/users/{id}/machines", "listUserMachines", O::UserMachines, Collection("Machine"))
                .doc("Devices a user logged on to."),
            // Indicators.
            op("get", "/indicators", "listIndicators", O::ListIndicators, Collection("Indicator"))
                .doc("List active indicators.")
                .query(Query::OData { schema: &indicators::SCHEMA, select: false, count: false, expand: &[] }),
            op("post", "/indicators", "submitIndicator", O::SubmitIndicator, Entity("Indicator"))
                .doc("Submit or update (same type and value) an indicator.")
                .body(indicator_body),
            op(
                "post",
                "/indicators/import",
                "importIndicators",
                O::ImportIndicators,
                Collection("ImportIndicatorResult"),
            )
            .doc("Submit or update several indicators; each succeeds or fails on its own.")
            .body(import_body),
            op("post", "/indicators/BatchDelete", "batchDeleteIndicators", O::BatchDeleteIndicators, NoContent)
                .doc("Delete several indicators (all or none).")
                .body(batch_delete_body),
            op("delete", "/indicators/{id}", "deleteIndicator", O::DeleteIndicator, NoContent)
                .doc("Delete an indicator."),
            // Microsoft 365 Defender incidents.
            op("get", "/incidents", "listIncidents", O::ListIncidents, Collection("Incident"))
                .doc("List incidents, newest first.")
                .query(odata(&INCIDENTS)),
            op("get", "/incidents/{id}", "getIncident", O::GetIncident, Entity("Incident")).doc("Get an incident."),
            op("patch", "/incidents/{id}", "updateIncident", O::UpdateIncident, Entity("Incident"))
                .doc("Update an incident.")
                .body(incident_update_body),
            op("post", "/palisade/ingest/{table}", "ingestTelemetry", O::IngestTelemetry, Ingested)
                .doc(
                    "Append rows to an advanced hunting table of the caller's tenant (Palisade only). Every row is \
                     checked against the table's schema; a bad value refuses the whole request with its row and \
                     column, and nothing of it is stored. DeviceInfo rows onboard or update machines.",
                )
                .rows_body(),
        ]
    });
    &OPS
}

// ---------------------------------------------------------------------------------------------
// Request bodies. Property names as the documentation's examples spell them; the handlers also
// accept other casings, so the schemas leave additional properties open.

fn enumeration(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

fn string_list(min: usize, max: usize) -> Value {
    json!({"type": "array", "items": {"type": "string"}, "minItems": min, "maxItems": max})
}

fn object(required: &[&str], properties: Value) -> Value {
    let mut o = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        o["required"] = json!(required);
    }
    o
}

fn comment_body() -> Value {
    object(
        &["Comment"],
        json!({
            "Comment": {"type": "string", "minLength": 1, "description": "Why (shown in the action center)."},
            "ExternalId": {"type": "string"},
        }),
    )
}

fn isolate_body() -> Value {
    let mut b = comment_body();
    b["properties"]["IsolationType"] = enumeration(actions::ISOLATION_TYPES);
    b["properties"]["IsolationType"]["default"] = json!("Full");
    b
}

fn scan_body() -> Value {
    let mut b = comment_body();
    b["properties"]["ScanType"] = enumeration(actions::SCAN_TYPES);
    b["required"] = json!(["Comment", "ScanType"]);
    b
}

fn sha1() -> Value {
    json!({"type": "string", "pattern": "^[0-9a-fA-F]{40}$"})
}

fn quarantine_body() -> Value {
    let mut b = comment_body();
    b["properties"]["Sha1"] = sha1();
    b["required"] = json!(["Comment", "Sha1"]);
    b
}

fn live_response_body() -> Value {
    // One schema per command type, so that generated commands carry the parameter their type needs.
    let command = |kind: &str, keys: &[&str]| {
        object(
            &["type", "params"],
            json!({
                "type": enumeration(&[kind]),
                "params": {"type": "array", "minItems": 1, "items": object(&["key", "value"], json!({
                    "key": enumeration(keys),
                    "value": {"type": "string", "minLength": 1},
                }))},
            }),
        )
    };
    let mut b = comment_body();
    b["properties"]["Commands"] = json!({
        "type": "array",
        "minItems": 1,
        "description": "Run in order: PutFile (FileName), RunScript (ScriptName, optional Args), GetFile (Path).",
        "items": {"oneOf": [command("PutFile", &["FileName"]), command("RunScript", &["ScriptName", "Args"]), command("GetFile", &["Path"])]},
    });
    b["required"] = json!(["Comment", "Commands"]);
    b
}

fn tag_properties() -> Value {
    json!({
        "Value": {"type": "string", "minLength": 1, "maxLength": 200},
        "Action": enumeration(&["Add", "Remove"]),
    })
}

fn tag_body() -> Value {
    object(&["Value", "Action"], tag_properties())
}

fn tag_machines_body() -> Value {
    let mut p = tag_properties();
    p["MachineIds"] = string_list(1, MAX_BULK);
    object(&["Value", "Action", "MachineIds"], p)
}

fn device_value_body() -> Value {
    object(&["DeviceValue"], json!({"DeviceValue": enumeration(actions::DEVICE_VALUES)}))
}

fn machine_update_body() -> Value {
    let mut b = object(
        &[],
        json!({
            "machineTags": {"type": "array", "items": {"type": "string"}, "description": "Replaces the device's tags."},
            "deviceValue": enumeration(actions::DEVICE_VALUES),
        }),
    );
    b["minProperties"] = json!(1);
    b
}

fn triage_properties(statuses: &[&str]) -> Value {
    json!({
        "status": enumeration(statuses),
        "assignedTo": {"type": "string"},
        "classification": enumeration(triage::CLASSIFICATIONS),
        "determination": enumeration(triage::DETERMINATIONS),
        "comment": {"type": "string", "description": "Appended to the comments."},
    })
}

fn alert_update_body() -> Value {
    let mut b = object(&[], triage_properties(triage::ALERT_STATUSES));
    b["minProperties"] = json!(1);
    b
}

fn alert_batch_body() -> Value {
    let mut p = triage_properties(triage::ALERT_STATUSES);
    p["alertIds"] = string_list(1, MAX_BULK);
    let mut b = object(&["alertIds"], p);
    b["minProperties"] = json!(2);
    b
}

fn incident_update_body() -> Value {
    let mut p = triage_properties(triage::INCIDENT_STATUSES);
    p["tags"] = json!({"type": "array", "items": {"type": "string"}, "description": "Replaces the incident's tags."});
    let mut b = object(&[], p);
    b["minProperties"] = json!(1);
    b
}

/// One schema per indicator type, each with the value format that type takes.
fn indicator_body() -> Value {
    let hex = |n: usize| json!({"type": "string", "pattern": format!("^[0-9a-fA-F]{{{n}}}$")});
    let variants: Vec<Value> = indicators::INDICATOR_TYPES
        .iter()
        .map(|kind| {
            let value = match *kind {
                "FileSha256" => hex(64),
                "FileMd5" => hex(32),
                "IpAddress" => json!({"type": "string", "format": "ipv4", "description": "No CIDR ranges."}),
                "DomainName" => json!({"type": "string", "pattern": "^([A-Za-z0-9][A-Za-z0-9-]{0,62}\\.)+[A-Za-z0-9][A-Za-z0-9-]{0,62}$"}),
                "Url" => json!({"type": "string", "pattern": "^https?://[a-z0-9-]+(\\.[a-z0-9-]+)+(/[A-Za-z0-9._~-]*)*$"}),
                _ => hex(40), // FileSha1, CertificateThumbprint
            };
            object(
                &["indicatorValue", "indicatorType", "action", "title", "description"],
                json!({
                    "indicatorValue": value,
                    "indicatorType": enumeration(&[kind]),
                    "action": enumeration(indicators::ACTIONS),
                    "application": {"type": "string"},
                    "title": {"type": "string", "minLength": 1},
                    "description": {"type": "string", "minLength": 1},
                    "expirationTime": {"type": "string", "format": "date-time"},
                    "severity": enumeration(indicators::SEVERITIES),
                    "recommendedActions": {"type": "string"},
                    "rbacGroupNames": {"type": "array", "items": {"type": "string"}, "description": "Also accepted as one comma-separated string."},
                    "educateUrl": {"type": "string"},
                    "generateAlert": {"type": "boolean", "description": "Must be true for action Audit."},
                }),
            )
        })
        .collect();
    json!({"oneOf": variants})
}

fn import_body() -> Value {
    object(
        &["Indicators"],
        json!({"Indicators": {"type": "array", "minItems": 1, "maxItems": indicators::MAX_BATCH, "items": indicator_body()}}),
    )
}

fn batch_delete_body() -> Value {
    object(&["IndicatorIds"], json!({"IndicatorIds": string_list(1, indicators::MAX_BATCH)}))
}

// ---------------------------------------------------------------------------------------------
// Parameters.

fn path_parameter(op: &Op, name: &str) -> Value {
    let (schema, description) = match (name, op.path.split('/').nth(1).unwrap_or("")) {
        ("id", "alerts") => (json!({"type": "string"}), "Alert id."),
        ("id", "machines") => (json!({"type": "string"}), "Device id (40 hex digits) or computer DNS name."),
        ("id", "machineactions") => (json!({"type": "string", "format": "uuid"}), "Machine action id."),
        ("id", "files") if op.route == "/files/{id}" || op.route == "/files/{id}/stats" => (
            json!({"type": "string", "pattern": "^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$"}),
            "SHA-1 or SHA-256 of the file.",
        ),
        ("id", "files") => (sha1(), "SHA-1 of the file."),
        ("id", "users") => {
            (json!({"type": "string"}), "Account name (`user1`); a UPN or `DOMAIN\\user` is reduced to it.")
        }
        ("id", "indicators") => (json!({"type": "string"}), "Indicator id."),
        ("id", "incidents") => (json!({"type": "integer", "format": "int64"}), "Incident id."),
        ("ip", _) => (json!({"type": "string"}), "IPv4 or IPv6 address."),
        ("domain", _) => (json!({"type": "string"}), "Domain name."),
        ("timestamp", _) => (json!({"type": "string", "format": "date-time"}), "Within the past 30 days."),
        ("index", _) => (json!({"type": "integer", "minimum": 0}), "Index of the live response command."),
        ("table", _) => (
            json!({"type": "string", "enum": palisade_telemetry::Table::ALL.iter().map(|t| t.name()).collect::<Vec<_>>()}),
            "Advanced hunting table.",
        ),
        _ => (json!({"type": "string"}), ""),
    };
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
}

fn names(schema: &Schema, keep: impl Fn(&palisade_odata::Property) -> bool) -> String {
    schema.properties.iter().filter(|p| keep(p)).map(|p| p.name).collect::<Vec<_>>().join(", ")
}

fn query_parameter(name: &str, schema: Value, description: String) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn filter_parameter(schema: &Schema) -> Value {
    query_parameter(
        "$filter",
        json!({"type": "string"}),
        format!(
            "OData filter (eq, ne, gt, ge, lt, le, and, or, not, in, startswith, any) on: {}. At most {} levels \
             of nesting and {} and/or operators.",
            names(schema, |p| p.filterable),
            palisade_odata::MAX_NESTING,
            palisade_odata::MAX_LOGICAL_OPERATORS
        ),
    )
}

fn query_parameters(q: Query) -> Vec<Value> {
    match q {
        Query::None => vec![],
        Query::Filter(schema) => vec![filter_parameter(schema)],
        Query::Expand(expand) => {
            vec![query_parameter("$expand", enumeration(expand), "Navigation properties to include.".into())]
        }
        Query::OData { schema, select, count, expand } => {
            let mut v = vec![
                filter_parameter(schema),
                query_parameter(
                    "$top",
                    json!({"type": "integer", "minimum": 0}),
                    format!("Page size (at most {}; larger values are clamped).", schema.max_top),
                ),
                query_parameter("$skip", json!({"type": "integer", "minimum": 0}), "Items to skip.".into()),
                query_parameter(
                    "$orderby",
                    json!({"type": "string"}),
                    format!("`property [asc|desc]`, comma-separated, on: {}.", names(schema, |p| p.sortable)),
                ),
            ];
            if select {
                v.push(query_parameter(
                    "$select",
                    json!({"type": "string"}),
                    format!("Comma-separated properties to return, of: {}.", names(schema, |_| true)),
                ));
            }
            if !expand.is_empty() {
                v.push(query_parameter("$expand", enumeration(expand), "Navigation properties to include.".into()));
            }
            if count {
                v.push(query_parameter("$count", json!({"type": "boolean"}), "Add `@odata.count`.".into()));
            }
            v
        }
        Query::FindByTag => vec![
            json!({"name": "tag", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1}}),
            query_parameter("useStartsWithFilter", json!({"type": "boolean"}), "Match tags by prefix.".into()),
        ],
        Query::LookBack => vec![query_parameter(
            "lookBackHours",
            json!({"type": "integer", "minimum": 1, "maximum": 720, "default": 720}),
            "Window in hours.".into(),
        )],
    }
}

// ---------------------------------------------------------------------------------------------
// Responses and components.

fn reference(kind: &str, name: &str) -> Value {
    json!({"$ref": format!("#/components/{kind}/{name}")})
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn entity_schema(name: &str) -> Value {
    json!({"allOf": [reference("schemas", "ODataEntity"), reference("schemas", name)]})
}

fn success(answer: Answer) -> (&'static str, Value) {
    match answer {
        Answer::Entity(s) => ("200", json!({"description": "OK", "content": json_content(entity_schema(s))})),
        Answer::Created => (
            "201",
            json!({"description": "Created: the action is Pending until the device picks it up.", "content": json_content(entity_schema("MachineAction"))}),
        ),
        Answer::Collection(s) => {
            let schema = json!({
                "type": "object",
                "required": ["@odata.context", "value"],
                "properties": {
                    "@odata.context": {"type": "string"},
                    "@odata.count": {"type": "integer"},
                    "@odata.nextLink": {"type": "string"},
                    "value": {"type": "array", "items": reference("schemas", s)},
                },
            });
            ("200", json!({"description": "OK", "content": json_content(schema)}))
        }
        Answer::Count => (
            "200",
            json!({"description": "The number of matching items.", "content": {"text/plain": {"schema": {"type": "integer", "minimum": 0}}}}),
        ),
        Answer::Empty => ("200", json!({"description": "Updated (empty body)."})),
        Answer::NoContent => ("204", json!({"description": "Deleted."})),
        Answer::Link => {
            let schema = object(
                &["@odata.context", "value"],
                json!({"@odata.context": {"type": "string"}, "value": {"type": "string", "format": "uri"}}),
            );
            ("200", json!({"description": "A download link valid for 30 minutes.", "content": json_content(schema)}))
        }
        Answer::Stats(s) => ("200", json!({"description": "OK", "content": json_content(entity_schema(s))})),
        Answer::Document => {
            ("200", json!({"description": "This document.", "content": json_content(json!({"type": "object"}))}))
        }
        Answer::Ingested => {
            let schema = object(
                &["table", "rowsStored", "machinesUpdated"],
                json!({
                    "table": {"type": "string"},
                    "rowsStored": {"type": "integer", "minimum": 0},
                    "machinesUpdated": {"type": "integer", "minimum": 0},
                }),
            );
            ("200", json!({"description": "Stored durably.", "content": json_content(schema)}))
        }
    }
}

fn operation_object(op: &Op) -> Value {
    let mut o = Map::new();
    o.insert("operationId".into(), json!(op.id));
    o.insert("tags".into(), json!([op.tag()]));
    o.insert("summary".into(), json!(op.summary));
    if let Some(operation) = op.operation {
        let r = operation.requirement();
        let api = r.family.api_name();
        let audience = match r.family {
            palisade_defender::ApiFamily::Mde => "https://api.securitycenter.microsoft.com",
            palisade_defender::ApiFamily::M365d => "https://api.security.microsoft.com",
        };
        o.insert(
            "description".into(),
            json!(format!(
                "{} Token: {audience}. Application permissions ({api}): {}. Delegated: {} (plus the user's portal permission {:?}). Quota per tenant: {}/min, {}/h.",
                op.summary,
                r.app_roles.join(", "),
                r.scopes.join(", "),
                r.portal,
                r.per_minute,
                r.per_hour
            )),
        );
    } else {
        o.insert("security".into(), json!([]));
    }
    let mut params: Vec<Value> = Vec::new();
    for seg in op.path.split(['{', '}']).skip(1).step_by(2) {
        params.push(path_parameter(op, seg));
    }
    params.extend(query_parameters(op.query));
    if !params.is_empty() {
        o.insert("parameters".into(), Value::Array(params));
    }
    if let Some(body) = op.body {
        o.insert("requestBody".into(), json!({"required": true, "content": json_content(body())}));
    }
    if op.rows_body {
        o.insert(
            "requestBody".into(),
            json!({"required": true, "content": {
                crate::ingest::Format::NDJSON_MEDIA_TYPE: {"schema": {"type": "string", "description": "One JSON object per line: column names as in the table, datetimes as ISO 8601 strings, dynamic columns as JSON text or values."}},
                crate::ingest::Format::ARROW_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary", "description": "An Arrow IPC stream whose columns are (a subset of) the table's."}},
            }}),
        );
    }
    let mut responses = Map::new();
    let (status, ok) = success(op.answer);
    responses.insert(status.into(), ok);
    if op.operation.is_some() {
        for (code, name) in [
            ("400", "BadRequest"),
            ("401", "Unauthorized"),
            ("403", "Forbidden"),
            ("404", "NotFound"),
            ("429", "TooManyRequests"),
        ] {
            responses.insert(code.into(), reference("responses", name));
        }
    }
    o.insert("responses".into(), Value::Object(responses));
    Value::Object(o)
}

fn nullable(kind: &str) -> Value {
    json!({"type": kind, "nullable": true})
}

/// Entities are described by their identifying and most-used properties; the others are on the
/// service's documentation pages, and the schemas leave them open.
fn components() -> Value {
    let s = |k: &str| json!({"type": k});
    let error = object(
        &["error"],
        json!({"error": object(&["code", "message", "target"], json!({
            "code": s("string"), "message": s("string"), "target": {"type": "string", "description": "Request tracking id."},
        }))}),
    );
    let error_response =
        |description: &str| json!({"description": description, "content": json_content(reference("schemas", "Error"))});
    let mut too_many = error_response("Over the tenant's quota for this API.");
    too_many["headers"] = json!({"Retry-After": {"description": "Seconds until the quota window resets.", "schema": {"type": "integer"}}});
    let stats = |key: &str| {
        object(
            &[key, "organizationPrevalence"],
            json!({key: s("string"), "organizationPrevalence": s("integer"), "orgFirstSeen": nullable("string"), "orgLastSeen": nullable("string")}),
        )
    };
    json!({
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token from this server's token endpoint (/{tenant}/oauth2/v2.0/token) for https://api.securitycenter.microsoft.com/.default (Defender for Endpoint) or https://api.security.microsoft.com/.default (incidents).",
            }
        },
        "responses": {
            "BadRequest": error_response("Invalid input: a parameter, the body or an OData option."),
            "Unauthorized": error_response("No token, or an invalid or expired one."),
            "Forbidden": error_response("The token lacks the permission, or the user the portal permission or device group."),
            "NotFound": error_response("No such item (or not in the caller's device groups)."),
            "TooManyRequests": too_many,
        },
        "schemas": {
            "Error": error,
            "ODataEntity": object(&["@odata.context"], json!({"@odata.context": s("string")})),
            "Alert": object(&["id", "severity", "status", "machineId"], json!({
                "id": s("string"), "incidentId": nullable("integer"), "assignedTo": nullable("string"),
                "severity": s("string"), "status": s("string"), "classification": nullable("string"),
                "determination": nullable("string"), "title": s("string"), "machineId": s("string"),
                "comments": {"type": "array", "items": s("object")}, "evidence": {"type": "array", "items": s("object")},
            })),
            "Machine": object(&["id", "computerDnsName", "osPlatform"], json!({
                "id": s("string"), "computerDnsName": s("string"), "osPlatform": s("string"), "healthStatus": s("string"),
                "deviceValue": nullable("string"), "rbacGroupId": s("integer"), "machineTags": {"type": "array", "items": s("string")},
            })),
            "MachineAction": object(&["id", "type", "status", "machineId"], json!({
                "id": s("string"), "type": enumeration(actions::KINDS),
                "status": enumeration(&["Pending", "InProgress", "Succeeded", "Failed", "TimeOut", "Cancelled"]),
                "machineId": s("string"), "requestor": s("string"), "requestorComment": nullable("string"),
                "scope": nullable("string"), "commands": {"type": "array", "items": s("object")},
            })),
            "File": object(&["sha1"], json!({"sha1": s("string"), "sha256": nullable("string"), "md5": nullable("string"), "size": nullable("integer")})),
            "Ip": object(&["id"], json!({"id": s("string")})),
            "Domain": object(&["host"], json!({"host": s("string")})),
            "User": object(&["id", "accountName", "accountDomain"], json!({
                "id": s("string"), "accountName": s("string"), "accountDomain": s("string"), "logOnMachinesCount": s("integer"),
            })),
            "Indicator": object(&["id", "indicatorValue", "indicatorType", "action"], json!({
                "id": s("string"), "indicatorValue": s("string"), "indicatorType": enumeration(indicators::INDICATOR_TYPES),
                "action": enumeration(indicators::ACTIONS), "severity": enumeration(indicators::SEVERITIES),
                "title": s("string"), "generateAlert": s("boolean"),
            })),
            "ImportIndicatorResult": object(&["indicator", "isFailed"], json!({
                "id": nullable("string"), "indicator": s("string"), "isFailed": s("boolean"), "failureReason": nullable("string"),
            })),
            "Incident": object(&["incidentId", "status"], json!({
                "incidentId": s("integer"), "incidentName": s("string"), "status": enumeration(triage::INCIDENT_STATUSES),
                "assignedTo": nullable("string"), "tags": {"type": "array", "items": s("string")},
                "alerts": {"type": "array", "items": s("object")},
            })),
            "FileStats": stats("sha1"),
            "IpStats": stats("ipAddress"),
            "DomainStats": stats("host"),
        },
    })
}

/// The document, with `servers` left for [`document`] to fill in.
fn base_document() -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let item = paths.entry(op.path).or_insert_with(|| json!({}));
        item[op.method] = operation_object(op);
    }
    let tags: Vec<Value> = [
        "Alerts",
        "Machines",
        "Machine actions",
        "Entities",
        "Indicators",
        "Incidents",
        "Telemetry ingestion (Palisade)",
        "Meta",
    ]
    .iter()
    .map(|t| json!({"name": t}))
    .collect();
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Palisade: Microsoft Defender for Endpoint and Microsoft 365 Defender API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every Defender operation this Palisade serves. Paths are also served under /api/v1.0 and match case-insensitively. Errors are {\"error\":{\"code\",\"message\",\"target\"}}; message says what to do next.",
        },
        "security": [{"bearer": []}],
        "tags": tags,
        "paths": paths,
        "components": components(),
    })
}

/// `GET /api/openapi.json` and `/api/v1.0/openapi.json`: the document with the host the client
/// called as its server, under the prefix it called.
pub async fn document(Ctx(ctx): Ctx, OriginalUri(uri): OriginalUri) -> Response {
    static BASE: LazyLock<Value> = LazyLock::new(base_document);
    let versioned = uri.path().get(..9).is_some_and(|p| p.eq_ignore_ascii_case("/api/v1.0"));
    let (first, second) = if versioned { ("/api/v1.0", "/api") } else { ("/api", "/api/v1.0") };
    let mut doc = BASE.clone();
    doc["servers"] = json!([{"url": format!("{}{first}", ctx.base_url)}, {"url": format!("{}{second}", ctx.base_url)}]);
    Json(doc).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    /// `(METHOD, route)` of every route `api_routes()` registers, read from its source: axum
    /// cannot list a router's routes. The probe below checks this reading against the real router.
    fn routes_in_source() -> BTreeSet<(String, String)> {
        let src = include_str!("../lib.rs");
        let start = src.find("fn api_routes()").expect("lib.rs has fn api_routes()");
        let body = &src[start..start + src[start..].find("\n}\n").expect("end of api_routes")];
        let mut out = BTreeSet::new();
        let calls: Vec<&str> = body.split(".route(").skip(1).collect();
        for call in &calls {
            // The call's text up to its closing parenthesis.
            let mut depth = 1;
            let end = call
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '(' => 1,
                        ')' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map(|(i, _)| i)
                .expect("balanced .route( call");
            let call = &call[..end];
            let path = call.split('"').nth(1).expect("route path literal");
            let mut methods = 0;
            for m in ["get", "post", "patch", "delete", "put"] {
                let needle = format!("{m}(");
                let found = call.match_indices(&needle).any(|(i, _)| {
                    i == 0 || !call.as_bytes()[i - 1].is_ascii_alphanumeric() && call.as_bytes()[i - 1] != b'_'
                });
                if found {
                    out.insert((m.to_ascii_uppercase(), path.to_string()));
                    methods += 1;
                }
            }
            assert!(methods > 0, "no method found in .route({call})");
        }
        assert!(calls.len() > 40, "api_routes() parsed to only {} routes", calls.len());
        out
    }

    fn documented_routes() -> BTreeSet<(String, String)> {
        operations().iter().map(|o| (o.method.to_ascii_uppercase(), o.route.to_string())).collect()
    }

    #[test]
    fn every_route_is_documented_and_every_documented_route_served() {
        let served = routes_in_source();
        let documented = documented_routes();
        let undocumented: Vec<_> = served.difference(&documented).collect();
        let unserved: Vec<_> = documented.difference(&served).collect();
        assert!(
            undocumented.is_empty() && unserved.is_empty(),
            "api_routes() and openapi::operations() disagree.\n  served, not documented: {undocumented:?}\n  documented, not served: {unserved:?}"
        );
    }

    #[test]
    fn document_is_well_formed() {
        let doc = base_document();
        let mut ids = BTreeSet::new();
        let mut count = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            assert!(path.starts_with('/'), "{path}");
            for (method, o) in item.as_object().unwrap() {
                count += 1;
                let id = o["operationId"].as_str().unwrap();
                assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
                assert!(!o["summary"].as_str().unwrap().is_empty(), "{id} has no summary");
                let tag = &o["tags"][0];
                assert!(
                    doc["tags"].as_array().unwrap().iter().any(|t| &t["name"] == tag),
                    "{id}: tag {tag} not listed"
                );
                // Every templated segment has its path parameter, and nothing else is declared.
                let declared: BTreeSet<&str> = o["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().unwrap())
                    .collect();
                let templated: BTreeSet<&str> = path.split(['{', '}']).skip(1).step_by(2).collect();
                assert_eq!(declared, templated, "{method} {path}");
                for p in o["parameters"].as_array().into_iter().flatten() {
                    assert!(
                        !p["description"].as_str().unwrap_or("x").is_empty() || p["in"] == "query",
                        "{method} {path}: {p}"
                    );
                }
                assert!(o["responses"].as_object().is_some_and(|r| !r.is_empty()));
            }
        }
        assert_eq!(count, operations().len(), "two operations share a method and path");
        // Every $ref resolves.
        let text = doc.to_string();
        for r in text.split("\"$ref\":\"#/").skip(1) {
            let pointer = format!("/{}", &r[..r.find('"').unwrap()]);
            assert!(doc.pointer(&pointer).is_some(), "dangling $ref {pointer}");
        }
    }

    async fn test_state() -> (crate::AppState, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("palisade-openapi-{}", uuid::Uuid::new_v4()));
        let cfg = crate::Config { data_dir: dir.clone(), ..crate::Config::default() };
        (crate::prepare(&cfg).await.expect("prepare").state, dir)
    }

    /// The source reading above, checked against the real router: every documented route answers
    /// (401 without a token: routed to a Defender handler) at `/api` and `/api/v1.0`, and every
    /// other method on its path is a 405 — so a method the reading missed cannot hide.
    #[tokio::test]
    async fn documented_routes_are_routed_and_nothing_else_is() {
        let (state, dir) = test_state().await;
        let router = crate::router(state);
        let methods = ["GET", "POST", "PATCH", "DELETE", "PUT"];
        let documented = documented_routes();
        for (method, route) in &documented {
            let concrete: String =
                route.split('/').map(|seg| if seg.starts_with('{') { "x" } else { seg }).collect::<Vec<_>>().join("/");
            for prefix in ["/api", "/api/v1.0"] {
                for m in methods {
                    let req = Request::builder()
                        .method(Method::from_bytes(m.as_bytes()).unwrap())
                        .uri(format!("{prefix}{concrete}"))
                        .body(Body::empty())
                        .unwrap();
                    let status = router.clone().oneshot(req).await.unwrap().status();
                    let served = documented.contains(&(m.to_string(), route.clone()));
                    let want = match (served, route.as_str()) {
                        (true, "/openapi.json") => StatusCode::OK,
                        (true, _) => StatusCode::UNAUTHORIZED,
                        (false, _) => StatusCode::METHOD_NOT_ALLOWED,
                    };
                    assert_eq!(status, want, "{m} {prefix}{concrete} (documented: {method} {route})");
                }
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn served_with_the_called_host_and_prefix() {
        let (state, dir) = test_state().await;
        let router = crate::router(state);
        for (path, server) in [
            ("/api/openapi.json", "https://palisade.test/api"),
            ("/api/v1.0/openapi.json", "https://palisade.test/api/v1.0"),
        ] {
            let req = Request::builder().uri(path).header("host", "palisade.test").body(Body::empty()).unwrap();
            let resp = router.clone().oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24).await.unwrap();
            let doc: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(doc["servers"][0]["url"], server);
            assert_eq!(doc["openapi"], "3.0.3");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
