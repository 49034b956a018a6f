//! The Defender for Endpoint and Microsoft 365 Defender entity endpoints: alerts, machines,
//! machine actions, files, IPs, domains, users and incidents (`defender-api.md` §3). Thin
//! adapters: admission (permissions, portal RBAC, quota) in [`ApiCaller::admit`], rules in
//! `palisade-defender`, data in the tenant-keyed [`SecurityStore`](palisade_defender::store).
//!
//! Device-group scope: collections are filtered in the store; a single device (or its alert,
//! action or incident) outside the caller's groups reads as 404 — its existence is not the
//! caller's business — while acting on it is a 403 that names the device group.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use palisade_defender::model::*;
use palisade_defender::rbac::DeviceScope;
use palisade_defender::triage::{AlertBatchUpdate, AlertUpdate, IncidentUpdate};
use palisade_defender::values::{self, body_prop};
use palisade_defender::{DefenderError, Operation, actions, schemas, views};
use palisade_odata::{QueryOptions, Schema};
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::defender::{ApiCaller, ApiError, ApiResult, json_body, now};
use crate::AppState;

/// Largest `machineIds` list of the bulk tag call and of batchUpdate.
const MAX_BULK: usize = 500;
/// `/domains/{d}/machines` returns at most this many devices.
const MAX_DOMAIN_MACHINES: u32 = 500;
/// How long investigation-package and live-response links stay valid.
const LINK_LIFETIME: Duration = Duration::minutes(30);

fn internal(e: impl std::fmt::Display) -> ApiError {
    DefenderError::new(500, "InternalServerError", e.to_string()).into()
}

fn odata_error(e: palisade_odata::ODataError) -> ApiError {
    DefenderError::new(400, "ODataError", e.to_string()).into()
}

fn options(uri: &Uri, schema: &Schema) -> Result<QueryOptions, ApiError> {
    QueryOptions::parse_for(uri.query().unwrap_or(""), schema).map_err(odata_error)
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(internal)
}

/// `{"@odata.context": …, <entity properties>}`.
fn entity<T: Serialize>(c: &ApiCaller, fragment: &str, item: &T) -> ApiResult {
    let mut out = Map::new();
    out.insert("@odata.context".into(), json!(c.context(fragment)));
    if let Value::Object(o) = to_value(item)? {
        out.extend(o);
    }
    Ok(Json(Value::Object(out)).into_response())
}

/// An unpaged collection: `{"@odata.context", "value"}`.
fn list<T: Serialize>(c: &ApiCaller, fragment: &str, items: &[T]) -> ApiResult {
    Ok(Json(json!({"@odata.context": c.context(fragment), "value": to_value(&items)?})).into_response())
}

/// One OData page. The store returns up to `page + 1` rows; the extra one only says that a next
/// page exists, so `@odata.nextLink` is never a link to an empty page.
fn page<T: Serialize>(
    c: &ApiCaller,
    fragment: &str,
    q: &QueryOptions,
    schema: &Schema,
    mut items: Vec<T>,
    count: Option<u64>,
) -> ApiResult {
    let size = q.page_size(schema) as usize;
    let more = items.len() > size;
    items.truncate(size);
    let select = q.selected(schema).map_err(odata_error)?;
    let mut values = Vec::with_capacity(items.len());
    for i in &items {
        let v = to_value(i)?;
        values.push(match &select {
            Some(names) => palisade_odata::project(&v, names),
            None => v,
        });
    }
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(c.context(fragment)));
    if let Some(n) = count {
        body.insert("@odata.count".into(), json!(n));
    }
    if more && let Some(next) = palisade_odata::next_link(&c.request_url(), q.skip.unwrap_or(0), size as u32, size) {
        body.insert("@odata.nextLink".into(), json!(next));
    }
    body.insert("value".into(), Value::Array(values));
    Ok(Json(Value::Object(body)).into_response())
}

fn count_response(n: u64) -> ApiResult {
    Ok(([(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], n.to_string()).into_response())
}

fn body_value(body: &Bytes) -> Result<Value, ApiError> {
    let v: Value = json_body(body)?;
    if !v.is_object() {
        return Err(DefenderError::invalid_body("The body must be a JSON object.").into());
    }
    Ok(v)
}

/// A device the caller may read: missing or outside its device groups → 404.
async fn readable_machine(
    s: &AppState,
    c: &ApiCaller,
    scope: &DeviceScope,
    id: &str,
) -> Result<MachineRecord, ApiError> {
    match s.security.machine(c.caller.tenant_id(), id).await.map_err(DefenderError::from)? {
        Some(m) if scope.allows(m.machine.rbac_group_id) => Ok(m),
        _ => Err(DefenderError::not_found(format!("Machine {id}")).into()),
    }
}

/// A device the caller may act on: missing → 404, outside its device groups → 403.
async fn actionable_machine(
    s: &AppState,
    c: &ApiCaller,
    scope: &DeviceScope,
    id: &str,
) -> Result<MachineRecord, ApiError> {
    match s.security.machine(c.caller.tenant_id(), id).await.map_err(DefenderError::from)? {
        None => Err(DefenderError::not_found(format!("Machine {id}")).into()),
        Some(m) if !scope.allows(m.machine.rbac_group_id) => Err(DefenderError::forbidden(format!(
            "{} has no access to machine {id}: it is in device group '{}', which is not assigned to any of the user's groups. \
             An administrator can grant it: palisade rbac device-group update --id {} --user-group <group>.",
            c.actor,
            m.machine.rbac_group_name.as_deref().unwrap_or(palisade_defender::rbac::UNGROUPED_NAME),
            m.machine.rbac_group_id
        ))
        .into()),
        Some(m) => Ok(m),
    }
}

/// Whether the device an alert or action belongs to is in the caller's scope (no lookup when the
/// caller sees everything).
async fn device_in_scope(s: &AppState, c: &ApiCaller, scope: &DeviceScope, machine_id: &str) -> Result<bool, ApiError> {
    if *scope == DeviceScope::All {
        return Ok(true);
    }
    let m = s.security.machine(c.caller.tenant_id(), machine_id).await.map_err(DefenderError::from)?;
    Ok(m.is_some_and(|m| scope.allows(m.machine.rbac_group_id)))
}

async fn readable_alert(s: &AppState, c: &ApiCaller, scope: &DeviceScope, id: &str) -> Result<Alert, ApiError> {
    let tenant = c.caller.tenant_id();
    let alert = s.security.alert(tenant, id).await.map_err(DefenderError::from)?;
    let Some(alert) = alert else { return Err(DefenderError::not_found(format!("Alert {id}")).into()) };
    if !device_in_scope(s, c, scope, &alert.machine_id).await? {
        return Err(DefenderError::not_found(format!("Alert {id}")).into());
    }
    Ok(alert)
}

// ---------------------------------------------------------------------------------------------
// Alerts (§3.1)

/// `GET /api/alerts`.
pub async fn list_alerts(State(s): State<AppState>, c: ApiCaller, uri: Uri) -> ApiResult {
    let scope = c.admit(&s, Operation::ListAlerts).await?;
    let mut q = options(&uri, &schemas::ALERTS)?;
    q.check_expand("Alerts", &["evidence"]).map_err(odata_error)?;
    let tenant = c.caller.tenant_id();
    let items = s.security.alerts(tenant, &q, &scope, !q.expand.is_empty()).await.map_err(DefenderError::from)?;
    let count = if q.count {
        Some(s.security.count_alerts(tenant, &q, &scope).await.map_err(DefenderError::from)?)
    } else {
        None
    };
    page(&c, "Alerts", &q, &schemas::ALERTS, items, count)
}

/// `GET /api/alerts/$count`.
pub async fn count_alerts(State(s): State<AppState>, c: ApiCaller, uri: Uri) -> ApiResult {
    let scope = c.admit(&s, Operation::ListAlerts).await?;
    let q = options(&uri, &schemas::ALERTS)?;
    count_response(s.security.count_alerts(c.caller.tenant_id(), &q, &scope).await.map_err(DefenderError::from)?)
}

/// `GET /api/alerts/{id}` (evidence only with `$expand=evidence`, as in lists).
pub async fn get_alert(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>, uri: Uri) -> ApiResult {
    let scope = c.admit(&s, Operation::GetAlert).await?;
    let mut q = QueryOptions::parse(uri.query().unwrap_or("")).map_err(odata_error)?;
    q.check_expand("Alerts", &["evidence"]).map_err(odata_error)?;
    let mut alert = readable_alert(&s, &c, &scope, &id).await?;
    if q.expand.is_empty() {
        alert.evidence.clear();
    }
    entity(&c, "Alerts/$entity", &alert)
}

/// `PATCH /api/alerts/{id}`.
pub async fn update_alert(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let scope = c.admit(&s, Operation::UpdateAlert).await?;
    let change = json_body::<AlertUpdate>(&body)?.validate()?;
    let mut alert = readable_alert(&s, &c, &scope, &id).await?;
    change.apply(&mut alert, &c.actor, now());
    s.security.update_alerts(c.caller.tenant_id(), std::slice::from_ref(&alert)).await.map_err(DefenderError::from)?;
    alert.evidence.clear();
    entity(&c, "Alerts/$entity", &alert)
}

/// `POST /api/alerts/batchUpdate`: all alerts or none; 200 with an empty body.
pub async fn batch_update_alerts(State(s): State<AppState>, c: ApiCaller, body: Bytes) -> ApiResult {
    let scope = c.admit(&s, Operation::BatchUpdateAlerts).await?;
    let b: AlertBatchUpdate = json_body(&body)?;
    let ids = b.alert_ids.ok_or_else(|| DefenderError::missing_parameter("alertIds"))?;
    if ids.is_empty() {
        return Err(DefenderError::new(400, "InvalidInput", "Invalid input alertIds: the list is empty.").into());
    }
    if ids.len() > MAX_BULK {
        return Err(DefenderError::new(
            400,
            "MaximumBatchSizeExceeded",
            format!("Maximum batch size exceeded. Received: {}, allowed: {MAX_BULK}.", ids.len()),
        )
        .into());
    }
    let change = b.update.validate()?;
    let t = now();
    let mut alerts = Vec::with_capacity(ids.len());
    for id in &ids {
        let mut a = readable_alert(&s, &c, &scope, id).await?;
        change.apply(&mut a, &c.actor, t);
        alerts.push(a);
    }
    s.security.update_alerts(c.caller.tenant_id(), &alerts).await.map_err(DefenderError::from)?;
    Ok(StatusCode::OK.into_response())
}

/// `GET /api/alerts/{id}/files`.
pub async fn alert_files(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let scope = c.admit(&s, Operation::AlertFiles).await?;
    let alert = readable_alert(&s, &c, &scope, &id).await?;
    let mut files = Vec::new();
    for h in views::alert_file_hashes(&alert) {
        let f = s.security.file(c.caller.tenant_id(), &h).await.map_err(DefenderError::from)?;
        files.push(f.unwrap_or_else(|| views::file_from_evidence(&alert, &h)));
    }
    list(&c, "Files", &files)
}

/// `GET /api/alerts/{id}/ips`.
pub async fn alert_ips(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let scope = c.admit(&s, Operation::AlertIps).await?;
    let alert = readable_alert(&s, &c, &scope, &id).await?;
    let ips: Vec<Value> = views::alert_ips(&alert).into_iter().map(|ip| json!({"id": ip})).collect();
    list(&c, "Ips", &ips)
}

/// `GET /api/alerts/{id}/domains`.
pub async fn alert_domains(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let scope = c.admit(&s, Operation::AlertDomains).await?;
    let alert = readable_alert(&s, &c, &scope, &id).await?;
    let hosts: Vec<Value> = views::alert_domains(&alert).into_iter().map(|h| json!({"host": h})).collect();
    list(&c, "Domains", &hosts)
}

/// `GET /api/alerts/{id}/machine`.
pub async fn alert_machine(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let scope = c.admit(&s, Operation::AlertMachine).await?;
    let alert = readable_alert(&s, &c, &scope, &id).await?;
    let m = readable_machine(&s, &c, &scope, &alert.machine_id).await?;
    entity(&c, "Machines/$entity", &m.machine)
}

/// `GET /api/alerts/{id}/user`.
pub async fn alert_user(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let scope = c.admit(&s, Operation::AlertUser).await?;
    let alert = readable_alert(&s, &c, &scope, &id).await?;
    let Some(u) = &alert.related_user else {
        return Err(DefenderError::not_found(format!("User of alert {id}")).into());
    };
    let logons = s.security.logons_of_user(c.caller.tenant_id(), &u.user_name).await.map_err(DefenderError::from)?;
    let profile = views::user_profiles(&logons)
        .into_iter()
        .find(|p| p.account_domain.eq_ignore_ascii_case(&u.domain_name))
        .ok_or_else(|| DefenderError::not_found(format!("User {}\\{}", u.domain_name, u.user_name)))?;
    entity(&c, "Users/$entity", &profile)
}

// ---------------------------------------------------------------------------------------------
// Machines (§3.2)

/// `GET /api/machines` (200 with an empty list when there are none; the documented 404 quirk is
/// not reproduced).
pub async fn list_machines(State(s): State<AppState>, c: ApiCaller, uri: Uri) -> ApiResult {
    let scope = c.admit(&s, Operation::ListMachines).await?;
    let q = options(&uri, &schemas::MACHINES)?;
    let tenant = c.caller.tenant_id();
    let items = s.security.machines(tenant, &q, &scope).await.map_err(DefenderError::from)?;
    let count = if q.count {
        Some(s.security.count_machines(tenant, &q, &scope).await.map_err(DefenderError::from)?)
    } else {
        None
    };
    page(&c, "Machines", &q, &schemas::MACHINES, items, count)
}

/// `GET /api/machines/$count`.
pub async fn count_machines(State(s): State<AppState>, c: ApiCaller, uri: Uri) -> ApiResult {
    let scope = c.admit(&s, Operation::ListMachines).await?;
    let q = options(&uri, &schemas::MACHINES)?;
    count_response(s.security.count_machines(c.caller.tenant_id(), &q, &scope).await.map_err(DefenderError::from)?)
}

/// Parses `findbyip(ip='10.0.0.1',timestamp=2019-09-22T08:44:05Z)`.
fn parse_findbyip(seg: &str) -> Option<(String, String)> {
    let lower = seg.to_ascii_lowercase();
    let inner = lower.strip_prefix("findbyip(")?.strip_suffix(')')?;
    let start = "findbyip(".len();
    let inner = &seg[start..start + inner.len()];
    let mut ip = None;
    let mut ts = None;
    for part in inner.split(',') {
        let (k, v) = part.split_once('=')?;
        let v = v.trim().trim_matches('\'').trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "ip" => ip = Some(v),
            "timestamp" => ts = Some(v),
            _ => return None,
        }
    }
    Some((ip?, ts?))
}

/// `GET /api/machines/{id}` — also the OData function `findbyip(ip=…,timestamp=…)`.
pub async fn get_machine(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    // `get`, not `[..9]`: byte 9 of an id need not be a character boundary.
    if id.get(..9).is_some_and(|p| p.eq_ignore_ascii_case("findbyip(")) {
        return find_by_ip(s, c, &id).await;
    }
    let scope = c.admit(&s, Operation::GetMachine).await?;
    let m = readable_machine(&s, &c, &scope, &id).await?;
    entity(&c, "Machines/$entity", &m.machine)
}

async fn find_by_ip(s: AppState, c: ApiCaller, seg: &str) -> ApiResult {
    let scope = c.admit(&s, Operation::FindMachinesByIp).await?;
    let (ip, ts) = parse_findbyip(seg).ok_or_else(|| {
        DefenderError::new(
            400,
            "InvalidInput",
            "Invalid input: expected findbyip(ip='<IP>',timestamp=<ISO 8601 time>).",
        )
    })?;
    let ip: std::net::IpAddr =
        ip.parse().map_err(|_| DefenderError::new(400, "InvalidIpAddress", format!("IP address {ip} is invalid.")))?;
    let at = palisade_defender::wire_time::parse(&ts)
        .ok_or_else(|| DefenderError::new(400, "InvalidInput", format!("Invalid input timestamp: '{ts}'.")))?;
    let t = now();
    if at < t - Duration::days(30) || at > t + Duration::minutes(15) {
        return Err(DefenderError::new(
            400,
            "InvalidInput",
            "Invalid input timestamp: it must be within the past 30 days.",
        )
        .into());
    }
    let window = Duration::minutes(15);
    let found = s
        .security
        .find_machines_by_ip(c.caller.tenant_id(), &ip.to_string(), at - window, at + window, &scope)
        .await
        .map_err(DefenderError::from)?;
    list(&c, "Machines", &found)
}

#[derive(serde::Deserialize)]
pub struct TagQuery {
    tag: Option<String>,
    #[serde(rename = "useStartsWithFilter")]
    use_starts_with_filter: Option<String>,
}

/// `GET /api/machines/findbytag?tag=…&useStartsWithFilter=…`.
pub async fn find_by_tag(
    State(s): State<AppState>,
    c: ApiCaller,
    axum::extract::Query(q): axum::extract::Query<TagQuery>,
) -> ApiResult {
    let scope = c.admit(&s, Operation::FindMachinesByTag).await?;
    let tag = q.tag.filter(|t| !t.is_empty()).ok_or_else(|| DefenderError::missing_parameter("tag"))?;
    let prefix = match q.use_starts_with_filter.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(DefenderError::new(
                400,
                "InvalidInput",
                format!("Invalid input useStartsWithFilter: '{other}'."),
            )
            .into());
        }
    };
    let found = s
        .security
        .find_machines_by_tag(c.caller.tenant_id(), &tag, prefix, &scope)
        .await
        .map_err(DefenderError::from)?;
    list(&c, "Machines", &found)
}

/// Stores changed devices, each in the device group its (possibly new) tags now select.
async fn save_machines(s: &AppState, tenant: uuid::Uuid, recs: &mut [MachineRecord]) -> Result<(), ApiError> {
    let config = s.security.rbac_config(tenant).await.map_err(DefenderError::from)?;
    for rec in recs.iter_mut() {
        let (gid, gname) = config.assign(&rec.machine);
        rec.machine.rbac_group_id = gid;
        rec.machine.rbac_group_name = gname;
    }
    s.security.upsert_machines(tenant, recs).await.map_err(DefenderError::from)?;
    Ok(())
}

fn device_value(v: &str) -> Result<String, DefenderError> {
    values::one_of("DeviceValue", v, actions::DEVICE_VALUES)
}

fn string_list(v: &Value, name: &str) -> Result<Vec<String>, DefenderError> {
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| DefenderError::invalid_body(format!("{name} must hold strings.")))
            })
            .collect(),
        _ => Err(DefenderError::invalid_body(format!("{name} must be a list of strings."))),
    }
}

/// `PATCH /api/machines/{id}`: `machineTags` replaces the tag set, `deviceValue` sets the value.
pub async fn update_machine(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let scope = c.admit(&s, Operation::UpdateMachine).await?;
    let b = body_value(&body)?;
    let tags = body_prop(&b, "machineTags").map(|v| string_list(v, "machineTags")).transpose()?;
    let value = body_prop(&b, "deviceValue")
        .map(|v| {
            v.as_str()
                .ok_or_else(|| DefenderError::invalid_body("deviceValue must be a string."))
                .and_then(device_value)
        })
        .transpose()?;
    if tags.is_none() && value.is_none() {
        return Err(DefenderError::invalid_body("Nothing to update: send machineTags and/or deviceValue.").into());
    }
    let mut rec = actionable_machine(&s, &c, &scope, &id).await?;
    if let Some(mut t) = tags {
        t.dedup();
        rec.machine.machine_tags = t;
    }
    if let Some(v) = value {
        rec.machine.device_value = Some(v);
    }
    save_machines(&s, c.caller.tenant_id(), std::slice::from_mut(&mut rec)).await?;
    entity(&c, "Machines/$entity", &rec.machine)
}

fn tag_op(b: &Value) -> Result<(String, bool), DefenderError> {
    let value = body_prop(b, "Value")
        .and_then(Value::as_str)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| DefenderError::missing_parameter("Value"))?
        .to_string();
    if value.len() > 200 {
        return Err(DefenderError::new(400, "InvalidInput", "Invalid input Value: a tag is at most 200 characters."));
    }
    let add = match body_prop(b, "Action").and_then(Value::as_str) {
        None => return Err(DefenderError::missing_parameter("Action")),
        Some(a) if a.eq_ignore_ascii_case("Add") => true,
        Some(a) if a.eq_ignore_ascii_case("Remove") => false,
        Some(a) => {
            return Err(DefenderError::new(
                400,
                "InvalidInput",
                format!("Invalid input Action: '{a}'. Allowed values: Add, Remove."),
            ));
        }
    };
    Ok((value, add))
}

fn apply_tag(m: &mut Machine, tag: &str, add: bool) {
    if add {
        if !m.machine_tags.iter().any(|t| t == tag) {
            m.machine_tags.push(tag.to_string());
        }
    } else {
        m.machine_tags.retain(|t| t != tag);
    }
}

/// `POST /api/machines/{id}/tags` with `{"Value", "Action": "Add"|"Remove"}`.
pub async fn tag_machine(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let scope = c.admit(&s, Operation::TagMachine).await?;
    let (tag, add) = tag_op(&body_value(&body)?)?;
    let mut rec = actionable_machine(&s, &c, &scope, &id).await?;
    apply_tag(&mut rec.machine, &tag, add);
    save_machines(&s, c.caller.tenant_id(), std::slice::from_mut(&mut rec)).await?;
    entity(&c, "Machines/$entity", &rec.machine)
}

/// `POST /api/machines/AddOrRemoveTagForMultipleMachines` with `MachineIds` (≤ 500).
pub async fn tag_machines(State(s): State<AppState>, c: ApiCaller, body: Bytes) -> ApiResult {
    let scope = c.admit(&s, Operation::TagMachines).await?;
    let b = body_value(&body)?;
    let (tag, add) = tag_op(&b)?;
    let ids = string_list(
        body_prop(&b, "MachineIds").ok_or_else(|| DefenderError::missing_parameter("MachineIds"))?,
        "MachineIds",
    )?;
    if ids.is_empty() || ids.len() > MAX_BULK {
        return Err(DefenderError::new(
            400,
            "MaximumBatchSizeExceeded",
            format!("Maximum batch size exceeded. Received: {}, allowed: {MAX_BULK}.", ids.len()),
        )
        .into());
    }
    let mut updated = Vec::with_capacity(ids.len());
    for id in &ids {
        updated.push(actionable_machine(&s, &c, &scope, id).await?);
    }
    for rec in &mut updated {
        apply_tag(&mut rec.machine, &tag, add);
    }
    save_machines(&s, c.caller.tenant_id(), &mut updated).await?;
    let machines: Vec<&Machine> = updated.iter().map(|r| &r.machine).collect();
    list(&c, "Machines", &machines)
}

/// `POST /api/machines/{id}/setDeviceValue` with `{"DeviceValue"}`.
pub async fn set_device_value(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let scope = c.admit(&s, Operation::SetDeviceValue).await?;
    let b = body_value(&body)?;
    let v = body_prop(&b, "DeviceValue")
        .and_then(Value::as_str)
        .ok_or_else(|| DefenderError::missing_parameter("DeviceValue"))?;
    let v = device_value(v)?;
    let mut rec = actionable_machine(&s, &c, &scope, &id).await?;
    rec.machine.device_value = Some(v);
    save_machines(&s, c.caller.tenant_id(), std::slice::from_mut(&mut rec)).await?;
    entity(&c, "Machines/$entity", &rec.machine)
}

/// `GET /api/machines/{id}/logonusers`.
pub async fn machine_logon_users(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let scope = c.admit(&s, Operation::MachineLogonUsers).await?;
    let m = readable_machine(&s, &c, &scope, &id).await?;
    let logons =
        s.security.logons_on_machine(c.caller.tenant_id(), &m.machine.id).await.map_err(DefenderError::from)?;
    list(&c, "Users", &views::user_profiles(&logons))
}

async fn machine_alerts_inner(s: AppState, c: ApiCaller, id: String, uri: Uri, count_only: bool) -> ApiResult {
    let scope = c.admit(&s, Operation::MachineAlerts).await?;
    let q = options(&uri, &schemas::ALERTS)?;
    let m = readable_machine(&s, &c, &scope, &id).await?;
    let (alerts, n) = s
        .security
        .alerts_of_machine(c.caller.tenant_id(), &m.machine.id, &q, count_only)
        .await
        .map_err(DefenderError::from)?;
    if count_only {
        return count_response(n);
    }
    page(&c, "Alerts", &q, &schemas::ALERTS, alerts, q.count.then_some(n))
}

/// `GET /api/machines/{id}/alerts`.
pub async fn machine_alerts(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>, uri: Uri) -> ApiResult {
    machine_alerts_inner(s, c, id, uri, false).await
}

/// `GET /api/machines/{id}/alerts/$count`.
pub async fn machine_alerts_count(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<String>,
    uri: Uri,
) -> ApiResult {
    machine_alerts_inner(s, c, id, uri, true).await
}

// ---------------------------------------------------------------------------------------------
// Machine actions (§3.3)

async fn request_action(
    s: AppState,
    c: ApiCaller,
    id: String,
    body: Bytes,
    op: Operation,
    kind: &'static str,
) -> ApiResult {
    let scope = c.admit(&s, op).await?;
    let b = body_value(&body)?;
    let rec = actionable_machine(&s, &c, &scope, &id).await?;
    let action = actions::request(kind, &b, &rec.machine, &c.actor, now())?;
    let stored = s.security.create_action(c.caller.tenant_id(), &action).await.map_err(DefenderError::from)?;
    tracing::info!(tenant = %c.caller.tenant_id(), action = %stored.id, kind, machine = %stored.machine_id, "machine action requested");
    let mut r = entity(&c, "MachineActions/$entity", &stored)?;
    *r.status_mut() = StatusCode::CREATED;
    Ok(r)
}

macro_rules! action_endpoint {
    ($(#[$m:meta])* $name:ident, $op:ident, $kind:expr) => {
        $(#[$m])*
        pub async fn $name(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>, body: Bytes) -> ApiResult {
            request_action(s, c, id, body, Operation::$op, $kind).await
        }
    };
}

action_endpoint!(
    /// `POST /api/machines/{id}/isolate` (`IsolationType` Full by default, or Selective).
    isolate, Isolate, actions::ISOLATE
);
action_endpoint!(
    /// `POST /api/machines/{id}/unisolate` (only when isolated).
    unisolate, Unisolate, actions::UNISOLATE
);
action_endpoint!(
    /// `POST /api/machines/{id}/restrictCodeExecution`.
    restrict, RestrictCodeExecution, actions::RESTRICT
);
action_endpoint!(
    /// `POST /api/machines/{id}/unrestrictCodeExecution`.
    unrestrict, UnrestrictCodeExecution, actions::UNRESTRICT
);
action_endpoint!(
    /// `POST /api/machines/{id}/runAntiVirusScan` (`ScanType` Quick or Full).
    scan, RunAntiVirusScan, actions::SCAN
);
action_endpoint!(
    /// `POST /api/machines/{id}/collectInvestigationPackage`.
    collect, CollectInvestigationPackage, actions::COLLECT
);
action_endpoint!(
    /// `POST /api/machines/{id}/offboard` (Windows only).
    offboard, Offboard, actions::OFFBOARD
);
action_endpoint!(
    /// `POST /api/machines/{id}/StopAndQuarantineFile` (`Sha1`).
    quarantine, StopAndQuarantineFile, actions::QUARANTINE
);
action_endpoint!(
    /// `POST /api/machines/{id}/runliveresponse` (`Commands`).
    live_response, RunLiveResponse, actions::LIVE_RESPONSE
);

/// `GET /api/machineactions`.
pub async fn list_actions(State(s): State<AppState>, c: ApiCaller, uri: Uri) -> ApiResult {
    let scope = c.admit(&s, Operation::ListMachineActions).await?;
    let q = options(&uri, &schemas::MACHINE_ACTIONS)?;
    let tenant = c.caller.tenant_id();
    let items = s.security.actions(tenant, &q, &scope).await.map_err(DefenderError::from)?;
    let count = if q.count {
        Some(s.security.count_actions(tenant, &q, &scope).await.map_err(DefenderError::from)?)
    } else {
        None
    };
    page(&c, "MachineActions", &q, &schemas::MACHINE_ACTIONS, items, count)
}

/// `GET /api/machineactions/$count`.
pub async fn count_actions(State(s): State<AppState>, c: ApiCaller, uri: Uri) -> ApiResult {
    let scope = c.admit(&s, Operation::ListMachineActions).await?;
    let q = options(&uri, &schemas::MACHINE_ACTIONS)?;
    count_response(s.security.count_actions(c.caller.tenant_id(), &q, &scope).await.map_err(DefenderError::from)?)
}

async fn readable_action(
    s: &AppState,
    c: &ApiCaller,
    scope: &DeviceScope,
    id: &str,
) -> Result<MachineAction, ApiError> {
    let tenant = c.caller.tenant_id();
    let a = s.security.action(tenant, id).await.map_err(DefenderError::from)?;
    let Some(a) = a else { return Err(DefenderError::not_found(format!("MachineAction {id}")).into()) };
    if !device_in_scope(s, c, scope, &a.machine_id).await? {
        return Err(DefenderError::not_found(format!("MachineAction {id}")).into());
    }
    Ok(a)
}

/// `GET /api/machineactions/{id}`.
pub async fn get_action(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let scope = c.admit(&s, Operation::GetMachineAction).await?;
    let a = readable_action(&s, &c, &scope, &id).await?;
    entity(&c, "MachineActions/$entity", &a)
}

/// `POST /api/machineactions/{id}/cancel` with `{"Comment"}`.
pub async fn cancel_action(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>, body: Bytes) -> ApiResult {
    let scope = c.admit(&s, Operation::CancelMachineAction).await?;
    let b = body_value(&body)?;
    let comment = body_prop(&b, "Comment")
        .and_then(Value::as_str)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| DefenderError::missing_parameter("Comment"))?
        .to_string();
    let a = readable_action(&s, &c, &scope, &id).await?;
    actionable_machine(&s, &c, &scope, &a.machine_id).await?;
    let done = s
        .security
        .cancel_action(c.caller.tenant_id(), &id, &c.actor, &comment, now())
        .await
        .map_err(DefenderError::from)?;
    entity(&c, "MachineActions/$entity", &done)
}

/// `GET /api/machineactions/{id}/getPackageUri`: a 30-minute link to the package once the
/// collection succeeded; 404 before.
pub async fn get_package_uri(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let scope = c.admit(&s, Operation::GetPackageUri).await?;
    let a = readable_action(&s, &c, &scope, &id).await?;
    if a.kind != actions::COLLECT {
        return Err(
            DefenderError::not_found(format!("Investigation package of action {id} (a {} action)", a.kind)).into()
        );
    }
    if a.status != "Succeeded" {
        return Err(DefenderError::not_found(format!(
            "Investigation package of action {id}: the collection is {}; ask again once it has Succeeded",
            a.status
        ))
        .into());
    }
    download_link(&s, &c, &format!("package/{}", a.id)).await
}

/// `GET /api/machineactions/{id}/GetLiveResponseResultDownloadLink(index=N)`.
pub async fn action_function(
    State(s): State<AppState>,
    c: ApiCaller,
    Path((id, func)): Path<(String, String)>,
) -> ApiResult {
    let lower = func.to_ascii_lowercase();
    let Some(arg) = lower.strip_prefix("getliveresponseresultdownloadlink(").and_then(|r| r.strip_suffix(')')) else {
        return Err(DefenderError::new(404, "NotFound", format!("No function {func} on machine actions.")).into());
    };
    let scope = c.admit(&s, Operation::GetLiveResponseResult).await?;
    let index: usize = arg.strip_prefix("index=").and_then(|n| n.trim().parse().ok()).ok_or_else(|| {
        DefenderError::new(400, "InvalidInput", format!("Invalid input: {func} (expected index=<n>)."))
    })?;
    let a = readable_action(&s, &c, &scope, &id).await?;
    let done =
        a.kind == actions::LIVE_RESPONSE && a.commands.get(index).is_some_and(|cmd| cmd.command_status == "Completed");
    if !done {
        return Err(DefenderError::not_found(format!("Result {index} of live response action {id}")).into());
    }
    download_link(&s, &c, &format!("liveresponse/{}/{index}", a.id)).await
}

/// `{"@odata.context": …#Edm.String, "value": <link>}`: a signed link to one object of the
/// caller's tenant, valid [`LINK_LIFETIME`].
async fn download_link(s: &AppState, c: &ApiCaller, object: &str) -> ApiResult {
    let token = s.identity.sign_download(c.caller.tenant_id(), object, LINK_LIFETIME).await.map_err(internal)?;
    let url = format!("{}/palisade/downloads/{token}", c.base_url);
    Ok(Json(json!({"@odata.context": c.context("Edm.String"), "value": url})).into_response())
}

/// `GET /palisade/downloads/{token}`: what a signed link points at. The link is the credential,
/// as a SAS URL is; it names one object of one tenant and expires.
pub async fn download(State(s): State<AppState>, Path(token): Path<String>) -> Response {
    let grant = match s.identity.verify_download(&token).await {
        Ok(g) => g,
        Err(e) => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>This download link is not valid ({e}). Request a new one from the API.</Message></Error>"
            );
            return (StatusCode::FORBIDDEN, [(http::header::CONTENT_TYPE, "application/xml")], body).into_response();
        }
    };
    let not_found = || (StatusCode::NOT_FOUND, "The object behind this link no longer exists.").into_response();
    let parts: Vec<&str> = grant.object.split('/').collect();
    let tenant = grant.tenant_id;
    let action = match s.security.action(tenant, parts.get(1).copied().unwrap_or_default()).await {
        Ok(Some(a)) => a,
        Ok(None) => return not_found(),
        Err(e) => return internal(e).into_response(),
    };
    match parts.as_slice() {
        ["package", _] => {
            let machine = match s.security.machine(tenant, &action.machine_id).await {
                Ok(Some(m)) => m.machine,
                Ok(None) => return not_found(),
                Err(e) => return internal(e).into_response(),
            };
            let logons = match s.security.logons_on_machine(tenant, &machine.id).await {
                Ok(l) => l,
                Err(e) => return internal(e).into_response(),
            };
            let zip = palisade_defender::package::investigation_package(&machine, &action, &logons);
            let name = format!("attachment; filename=\"{}.zip\"", action.id);
            (
                [
                    (http::header::CONTENT_TYPE, "application/zip".to_string()),
                    (http::header::CONTENT_DISPOSITION, name),
                ],
                zip,
            )
                .into_response()
        }
        ["liveresponse", _, index] => {
            let Ok(i) = index.parse::<usize>() else { return not_found() };
            match palisade_defender::package::live_response_result(&action, i) {
                Some(bytes) => ([(http::header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
                None => not_found(),
            }
        }
        _ => not_found(),
    }
}

// ---------------------------------------------------------------------------------------------
// Files, IPs, domains, users (§3.5)

fn look_back(uri: &Uri) -> Result<Duration, ApiError> {
    let v = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("lookBackHours"))
        .map(|(_, v)| v.into_owned());
    let hours = match v {
        None => 720,
        Some(v) => v.parse::<i64>().ok().filter(|h| (1..=720).contains(h)).ok_or_else(|| {
            DefenderError::new(400, "InvalidInput", format!("Invalid input lookBackHours: '{v}' (1 to 720)."))
        })?,
    };
    Ok(Duration::hours(hours))
}

fn file_key(h: &str, sha1_only: bool) -> Result<String, DefenderError> {
    values::hash(h, if sha1_only { &[40] } else { &[40, 64] })
}

/// `GET /api/files/{sha1|sha256}`.
pub async fn get_file(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    c.admit(&s, Operation::GetFile).await?;
    let h = file_key(&id, false)?;
    let f = s.security.file(c.caller.tenant_id(), &h).await.map_err(DefenderError::from)?;
    let f = f.ok_or_else(|| DefenderError::not_found(format!("File {id}")))?;
    entity(&c, "Files/$entity", &f)
}

fn wire(t: Option<OffsetDateTime>) -> Option<String> {
    t.map(palisade_defender::wire_time::format)
}

/// The in-organisation prevalence the three stats endpoints share: `{@odata.context, <key>,
/// organizationPrevalence, orgFirstSeen, orgLastSeen}` over the `lookBackHours` window.
async fn org_stats(
    s: &AppState,
    c: &ApiCaller,
    uri: &Uri,
    key: EntityKey,
    fragment: &str,
    key_field: &str,
) -> Result<(Map<String, Value>, Prevalence), ApiError> {
    let since = now() - look_back(uri)?;
    let p = s.security.prevalence(c.caller.tenant_id(), &key, since).await.map_err(DefenderError::from)?;
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(c.context(&format!("microsoft.windowsDefenderATP.api.{fragment}"))));
    body.insert(key_field.into(), json!(key.value()));
    body.insert("organizationPrevalence".into(), json!(p.devices));
    body.insert("orgFirstSeen".into(), json!(wire(p.first_seen)));
    body.insert("orgLastSeen".into(), json!(wire(p.last_seen)));
    Ok((body, p))
}

/// `GET /api/files/{id}/stats?lookBackHours=N`.
pub async fn file_stats(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>, uri: Uri) -> ApiResult {
    c.admit(&s, Operation::FileStats).await?;
    let h = file_key(&id, false)?;
    let file = s.security.file(c.caller.tenant_id(), &h).await.map_err(DefenderError::from)?;
    let sha1 = match &file {
        Some(f) => f.sha1.clone(),
        None if h.len() == 40 => h.clone(),
        None => return Err(DefenderError::not_found(format!("File {id}")).into()),
    };
    let (mut body, p) = org_stats(&s, &c, &uri, EntityKey::File(sha1), "InOrgFileStats", "sha1").await?;
    let f = file.as_ref();
    body.insert("globallyPrevalence".into(), json!(f.and_then(|f| f.global_prevalence)));
    body.insert("globalFirstObserved".into(), json!(wire(f.and_then(|f| f.global_first_observed))));
    body.insert("globalLastObserved".into(), json!(wire(f.and_then(|f| f.global_last_observed))));
    body.insert("topFileNames".into(), json!(p.top_file_names));
    Ok(Json(Value::Object(body)).into_response())
}

async fn related_alerts(s: AppState, c: ApiCaller, op: Operation, key: EntityKey) -> ApiResult {
    let scope = c.admit(&s, op).await?;
    let alerts = s.security.alerts_by_entity(c.caller.tenant_id(), &key, &scope).await.map_err(DefenderError::from)?;
    list(&c, "Alerts", &alerts)
}

async fn related_machines(s: AppState, c: ApiCaller, op: Operation, key: EntityKey, limit: u32) -> ApiResult {
    let scope = c.admit(&s, op).await?;
    let ms =
        s.security.machines_by_entity(c.caller.tenant_id(), &key, &scope, limit).await.map_err(DefenderError::from)?;
    list(&c, "Machines", &ms)
}

/// `GET /api/files/{sha1}/alerts`.
pub async fn file_alerts(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let k = EntityKey::File(file_key(&id, true)?);
    related_alerts(s, c, Operation::FileAlerts, k).await
}

/// `GET /api/files/{sha1}/machines`.
pub async fn file_machines(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let k = EntityKey::File(file_key(&id, true)?);
    related_machines(s, c, Operation::FileMachines, k, 10_000).await
}

/// `GET /api/ips/{ip}/stats`.
pub async fn ip_stats(State(s): State<AppState>, c: ApiCaller, Path(ip): Path<String>, uri: Uri) -> ApiResult {
    c.admit(&s, Operation::IpStats).await?;
    let key = EntityKey::Ip(values::ip_address(&ip)?);
    let (body, _) = org_stats(&s, &c, &uri, key, "InOrgIPStats", "ipAddress").await?;
    Ok(Json(Value::Object(body)).into_response())
}

/// `GET /api/ips/{ip}/alerts`.
pub async fn ip_alerts(State(s): State<AppState>, c: ApiCaller, Path(ip): Path<String>) -> ApiResult {
    let k = EntityKey::Ip(values::ip_address(&ip)?);
    related_alerts(s, c, Operation::IpAlerts, k).await
}

/// `GET /api/domains/{domain}/stats`.
pub async fn domain_stats(State(s): State<AppState>, c: ApiCaller, Path(d): Path<String>, uri: Uri) -> ApiResult {
    c.admit(&s, Operation::DomainStats).await?;
    let key = EntityKey::Domain(values::domain_name(&d)?);
    let (body, _) = org_stats(&s, &c, &uri, key, "InOrgDomainStats", "host").await?;
    Ok(Json(Value::Object(body)).into_response())
}

/// `GET /api/domains/{domain}/alerts`.
pub async fn domain_alerts(State(s): State<AppState>, c: ApiCaller, Path(d): Path<String>) -> ApiResult {
    let k = EntityKey::Domain(values::domain_name(&d)?);
    related_alerts(s, c, Operation::DomainAlerts, k).await
}

/// `GET /api/domains/{domain}/machines` (at most 500).
pub async fn domain_machines(State(s): State<AppState>, c: ApiCaller, Path(d): Path<String>) -> ApiResult {
    let k = EntityKey::Domain(values::domain_name(&d)?);
    related_machines(s, c, Operation::DomainMachines, k, MAX_DOMAIN_MACHINES).await
}

/// The API's user id is the account name alone; a UPN or `domain\user` is reduced to it.
fn user_key(id: &str) -> EntityKey {
    let name = id.rsplit_once('\\').map_or(id, |(_, n)| n);
    let name = name.split_once('@').map_or(name, |(n, _)| n);
    EntityKey::User(name.to_ascii_lowercase())
}

/// `GET /api/users/{id}/alerts`.
pub async fn user_alerts(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    related_alerts(s, c, Operation::UserAlerts, user_key(&id)).await
}

/// `GET /api/users/{id}/machines`.
pub async fn user_machines(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    related_machines(s, c, Operation::UserMachines, user_key(&id), 10_000).await
}

// ---------------------------------------------------------------------------------------------
// Microsoft 365 Defender incidents (§3.9)

async fn incident_views(
    s: &AppState,
    tenant: uuid::Uuid,
    incidents: Vec<Incident>,
) -> Result<Vec<IncidentView>, ApiError> {
    let ids: Vec<i64> = incidents.iter().map(|i| i.incident_id).collect();
    let alerts = s.security.alerts_of_incidents(tenant, &ids).await.map_err(DefenderError::from)?;
    let mut machine_ids: Vec<String> = alerts.iter().map(|a| a.machine_id.clone()).collect();
    machine_ids.sort();
    machine_ids.dedup();
    let machines: Vec<Machine> = s
        .security
        .machines_by_ids(tenant, &machine_ids)
        .await
        .map_err(DefenderError::from)?
        .into_iter()
        .map(|r| r.machine)
        .collect();
    Ok(incidents.into_iter().map(|i| views::incident_view(i, &alerts, &machines)).collect())
}

/// `GET /api/incidents` (newest first, at most 100 per page).
pub async fn list_incidents(State(s): State<AppState>, c: ApiCaller, uri: Uri) -> ApiResult {
    let scope = c.admit(&s, Operation::ListIncidents).await?;
    let q = options(&uri, &schemas::INCIDENTS)?;
    let tenant = c.caller.tenant_id();
    let items = s.security.incidents(tenant, &q, &scope).await.map_err(DefenderError::from)?;
    let count = if q.count {
        Some(s.security.count_incidents(tenant, &q, &scope).await.map_err(DefenderError::from)?)
    } else {
        None
    };
    let views = incident_views(&s, tenant, items).await?;
    page(&c, "Incidents", &q, &schemas::INCIDENTS, views, count)
}

async fn readable_incident(s: &AppState, c: &ApiCaller, scope: &DeviceScope, id: &str) -> Result<Incident, ApiError> {
    let tenant = c.caller.tenant_id();
    let n: i64 = id.parse().map_err(|_| DefenderError::not_found(format!("Incident {id}")))?;
    let i = s.security.incident(tenant, n).await.map_err(DefenderError::from)?;
    let Some(i) = i else { return Err(DefenderError::not_found(format!("Incident {id}")).into()) };
    if *scope != DeviceScope::All {
        let groups = s.security.incident_groups(tenant, n).await.map_err(DefenderError::from)?;
        if !groups.iter().any(|g| scope.allows(*g)) {
            return Err(DefenderError::not_found(format!("Incident {id}")).into());
        }
    }
    Ok(i)
}

/// `GET /api/incidents/{id}`.
pub async fn get_incident(State(s): State<AppState>, c: ApiCaller, Path(id): Path<String>) -> ApiResult {
    let scope = c.admit(&s, Operation::GetIncident).await?;
    let i = readable_incident(&s, &c, &scope, &id).await?;
    let v = incident_views(&s, c.caller.tenant_id(), vec![i]).await?;
    entity(&c, "Incidents/$entity", &v[0])
}

/// `PATCH /api/incidents/{id}`.
pub async fn update_incident(
    State(s): State<AppState>,
    c: ApiCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let scope = c.admit(&s, Operation::UpdateIncident).await?;
    let u: IncidentUpdate = json_body(&body)?;
    let mut i = readable_incident(&s, &c, &scope, &id).await?;
    u.apply(&mut i, &c.actor, now())?;
    let tenant = c.caller.tenant_id();
    s.security.upsert_incidents(tenant, std::slice::from_ref(&i)).await.map_err(DefenderError::from)?;
    let v = incident_views(&s, tenant, vec![i]).await?;
    entity(&c, "Incidents/$entity", &v[0])
}

/// `GET /palisade/bench/static?bytes=N`: a JSON body of N bytes (at most 1 MiB) with no
/// authentication and no storage — the baseline the API benchmarks divide by, served by the same
/// binary, TLS stack and router.
pub async fn bench_static(uri: Uri) -> Response {
    static FILLER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| "x".repeat(1 << 20));
    let n = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "bytes")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(1024)
        .clamp(16, 1 << 20);
    let body = format!("{{\"value\":\"{}\"}}", &FILLER[..n - 12]);
    ([(http::header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findbyip_syntax() {
        assert_eq!(
            parse_findbyip("findbyip(ip='10.248.240.38',timestamp=2019-09-22T08:44:05Z)"),
            Some(("10.248.240.38".into(), "2019-09-22T08:44:05Z".into()))
        );
        assert_eq!(parse_findbyip("FindByIp(IP='1.2.3.4',Timestamp=2019-09-22T08:44:05Z)").unwrap().0, "1.2.3.4");
        assert!(parse_findbyip("findbyip(ip='1.2.3.4')").is_none());
    }

    #[test]
    fn user_ids_are_account_names() {
        assert_eq!(user_key("CONTOSO\\User1"), EntityKey::User("user1".into()));
        assert_eq!(user_key("user1@contoso.com"), EntityKey::User("user1".into()));
    }
}
