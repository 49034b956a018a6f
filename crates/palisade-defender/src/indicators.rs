//! Indicators of compromise (`defender-api.md` §3.6, §4.5): submission validation, the entity in
//! its API shape, who sees what, and the store interface.
//!
//! Visibility: an application holding `Ti.ReadWrite` sees and deletes only the indicators it
//! created; `Ti.ReadWrite.All` (and `Ti.Read.All` for reads) sees all of the tenant's.

use async_trait::async_trait;
use palisade_odata::{Kind, Property, QueryOptions, Schema};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::access::Caller;
use crate::errors::DefenderError;
use crate::values;

pub const INDICATOR_TYPES: &[&str] =
    &["FileSha1", "FileSha256", "FileMd5", "CertificateThumbprint", "IpAddress", "DomainName", "Url"];
pub const ACTIONS: &[&str] = &["Warn", "Block", "Audit", "Alert", "AlertAndBlock", "BlockAndRemediate", "Allowed"];
pub const SEVERITIES: &[&str] = &["Informational", "Low", "Medium", "High"];
/// Documented cap on active indicators per tenant.
pub const MAX_ACTIVE_PER_TENANT: usize = 15_000;
/// Documented cap of BatchDelete and import.
pub const MAX_BATCH: usize = 500;

/// An indicator as the API returns it (property names exactly as documented, including the
/// `creationTimeDateTimeUtc` oddity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Indicator {
    pub id: String,
    pub indicator_value: String,
    pub indicator_type: String,
    pub action: String,
    pub application: Option<String>,
    pub source: String,
    pub source_type: String,
    #[serde(rename = "externalID")]
    pub external_id: Option<String>,
    pub created_by: String,
    pub created_by_display_name: String,
    pub created_by_source: String,
    pub last_updated_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub creation_time_date_time_utc: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expiration_time: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub last_update_time: OffsetDateTime,
    pub severity: String,
    pub title: String,
    pub description: String,
    pub recommended_actions: Option<String>,
    pub rbac_group_names: Vec<String>,
    pub rbac_group_ids: Vec<String>,
    pub generate_alert: bool,
    pub educate_url: Option<String>,
}

/// `POST /api/indicators` body. Property names are documented as case-sensitive; unknown ones are
/// ignored as the service does.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndicatorSubmission {
    pub indicator_value: Option<String>,
    pub indicator_type: Option<String>,
    pub action: Option<String>,
    pub application: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub expiration_time: Option<String>,
    pub severity: Option<String>,
    pub recommended_actions: Option<String>,
    /// Documented as a comma-separated string; the examples send an array. Both are accepted.
    pub rbac_group_names: Option<serde_json::Value>,
    pub educate_url: Option<String>,
    pub generate_alert: Option<bool>,
}

/// Checks an indicator value against its type, with the service's error codes.
pub fn validate_value(kind: &str, value: &str) -> Result<String, DefenderError> {
    let v = value.trim();
    match kind {
        "FileSha1" | "CertificateThumbprint" => values::hash(v, &[40]),
        "FileSha256" => values::hash(v, &[64]),
        "FileMd5" => values::hash(v, &[32]),
        "IpAddress" => values::ip_address(v).map_err(|mut e| {
            e.message.push_str(" (CIDR ranges are not supported.)");
            e
        }),
        "DomainName" => values::domain_name(v),
        "Url" => {
            let ok = !v.is_empty()
                && !v.contains(char::is_whitespace)
                && (v.contains('.') || v.contains("://"))
                && v.len() <= 2048;
            if ok {
                Ok(v.to_string())
            } else {
                Err(DefenderError::new(400, "InvalidUrl", format!("URL {v} is invalid.")))
            }
        }
        _ => unreachable!("type was canonicalised"),
    }
}

impl IndicatorSubmission {
    /// Validates the body and builds the indicator `caller` submits (id assigned by the store).
    pub fn into_indicator(
        self,
        caller: &Caller,
        caller_name: &str,
        now: OffsetDateTime,
    ) -> Result<Indicator, DefenderError> {
        let req = |v: Option<String>, name: &str| {
            v.filter(|s| !s.trim().is_empty()).ok_or_else(|| DefenderError::missing_parameter(name))
        };
        // Every required parameter is checked for presence before any value is judged.
        let raw_value = req(self.indicator_value, "indicatorValue")?;
        let raw_kind = req(self.indicator_type, "indicatorType")?;
        let raw_action = req(self.action, "action")?;
        let title = req(self.title, "title")?;
        let description = req(self.description, "description")?;
        let kind = values::one_of("indicatorType", &raw_kind, INDICATOR_TYPES)?;
        let value = validate_value(&kind, &raw_value)?;
        let action = values::one_of("action", &raw_action, ACTIONS)?;
        let severity = match self.severity {
            Some(s) => values::one_of("severity", &s, SEVERITIES)?,
            None => "Informational".into(),
        };
        let generate_alert = self.generate_alert.unwrap_or(matches!(action.as_str(), "Alert" | "AlertAndBlock"));
        if action == "Audit" && !generate_alert {
            return Err(DefenderError::new(
                400,
                "InvalidInput",
                "Invalid input generateAlert: must be true for action Audit.",
            ));
        }
        let expiration_time = match self.expiration_time {
            Some(t) => {
                Some(OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).map_err(|_| {
                    DefenderError::new(
                        400,
                        "InvalidInput",
                        format!("Invalid input expirationTime: '{t}' is not an ISO 8601 date-time."),
                    )
                })?)
            }
            None => None,
        };
        let rbac_group_names = match self.rbac_group_names {
            None | Some(serde_json::Value::Null) => vec![],
            Some(serde_json::Value::String(s)) => {
                s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
            }
            Some(serde_json::Value::Array(a)) => a.into_iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            Some(other) => {
                return Err(DefenderError::invalid_body(format!(
                    "rbacGroupNames must be a string or an array, not {other}."
                )));
            }
        };
        let (created_by, source_type) = match caller {
            Caller::App { app_id, .. } => (app_id.clone(), "AadApp"),
            Caller::User { user_id, .. } => (user_id.to_string(), "User"),
        };
        Ok(Indicator {
            id: String::new(),
            indicator_value: value,
            indicator_type: kind,
            action,
            application: self.application,
            source: caller_name.to_string(),
            source_type: source_type.into(),
            external_id: None,
            created_by: created_by.clone(),
            created_by_display_name: caller_name.to_string(),
            created_by_source: caller_name.to_string(),
            last_updated_by: created_by,
            creation_time_date_time_utc: now,
            expiration_time,
            last_update_time: now,
            severity,
            title,
            description,
            recommended_actions: self.recommended_actions,
            rbac_group_names,
            rbac_group_ids: vec![],
            generate_alert,
            educate_url: self.educate_url,
        })
    }
}

/// Whose indicators a caller may see and delete: `None` = all of the tenant's.
pub fn visible_creator(caller: &Caller) -> Option<String> {
    match caller {
        Caller::App { app_id, roles, .. } => {
            let all = roles
                .iter()
                .any(|r| r.eq_ignore_ascii_case("Ti.ReadWrite.All") || r.eq_ignore_ascii_case("Ti.Read.All"));
            (!all).then(|| app_id.clone())
        }
        // Delegated access is governed by the user's portal permissions, not by creator.
        Caller::User { .. } => None,
    }
}

/// The OData schema of `/api/indicators` (§5): the documented filterable properties. Column names
/// are the SQLite store's.
pub static SCHEMA: Schema = Schema {
    entity_set: "Indicators",
    max_top: 10_000,
    properties: &[
        Property::new("id", Kind::String, "id_text"),
        Property::new("indicatorValue", Kind::String, "indicator_value").nocase(),
        Property::new("indicatorType", Kind::Enum, "indicator_type").nocase(),
        Property::new("action", Kind::Enum, "action").nocase(),
        Property::new("application", Kind::String, "application"),
        Property::new("title", Kind::String, "title"),
        Property::new("severity", Kind::Enum, "severity").nocase(),
        Property::new("generateAlert", Kind::Bool, "generate_alert"),
        Property::new("createdBy", Kind::String, "created_by").nocase(),
        Property::new("createdByDisplayName", Kind::String, "created_by_display_name"),
        Property::new("creationTimeDateTimeUtc", Kind::DateTime, "creation_ms"),
        Property::new("expirationTime", Kind::DateTime, "expiration_ms"),
        Property::new("rbacGroupNames", Kind::StringCollection, "rbac_group_names"),
        Property::new("rbacGroupIds", Kind::StringCollection, "rbac_group_ids"),
    ],
};

/// Tenant-scoped indicator storage. Every method is keyed by tenant; `created_by` restricts to one
/// creator when the caller may only see its own.
#[async_trait]
pub trait IndicatorStore: Send + Sync {
    /// Creates, or updates the active indicator with the same type and value (the service upserts).
    /// Returns the stored indicator and whether it was created. Fails with `Conflict` at the
    /// per-tenant cap.
    async fn upsert_indicator(
        &self,
        tenant: Uuid,
        indicator: &Indicator,
        now: OffsetDateTime,
    ) -> Result<(Indicator, bool), IndicatorStoreError>;
    /// Active (unexpired) indicators matching the query, in the store: filter, order, paging.
    async fn indicators(
        &self,
        tenant: Uuid,
        query: &QueryOptions,
        created_by: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Vec<Indicator>, IndicatorStoreError>;
    /// Deletes the given ids; all or nothing. Returns the ids that do not exist (visible to the
    /// caller) instead of deleting when any is missing.
    async fn delete_indicators(
        &self,
        tenant: Uuid,
        ids: &[String],
        created_by: Option<&str>,
    ) -> Result<Vec<String>, IndicatorStoreError>;
}

#[derive(Debug, thiserror::Error)]
pub enum IndicatorStoreError {
    #[error(transparent)]
    Query(#[from] palisade_odata::ODataError),
    #[error("the tenant already has {0} active indicators")]
    LimitReached(usize),
    #[error("storage backend error: {0}")]
    Backend(String),
}

impl From<String> for IndicatorStoreError {
    fn from(e: String) -> Self {
        Self::Backend(e)
    }
}

impl From<IndicatorStoreError> for DefenderError {
    fn from(e: IndicatorStoreError) -> Self {
        match e {
            IndicatorStoreError::Query(q) => DefenderError::new(400, "ODataError", q.to_string()),
            IndicatorStoreError::LimitReached(n) => DefenderError::new(
                400,
                "BadRequest",
                format!("The tenant reached the maximum of {n} active indicators. Delete some before submitting more."),
            ),
            IndicatorStoreError::Backend(m) => DefenderError::new(500, "InternalServerError", m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(roles: &[&str]) -> Caller {
        Caller::App {
            app_id: "app-1".into(),
            tenant_id: Uuid::nil(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }

    fn body(v: serde_json::Value) -> IndicatorSubmission {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn doc_example_submission() {
        let b = body(serde_json::json!({
            "indicatorValue": "220e7d15b011d7fac48f2bd61114db1022197f7f", "indicatorType": "FileSha1",
            "title": "test", "application": "demo-test", "expirationTime": "2020-12-12T00:00:00Z",
            "action": "AlertAndBlock", "severity": "Informational", "description": "test",
            "recommendedActions": "nothing", "rbacGroupNames": ["group1", "group2"]
        }));
        let i = b.into_indicator(&app(&["Ti.ReadWrite"]), "SOAR", OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(i.indicator_type, "FileSha1");
        assert_eq!(i.rbac_group_names, vec!["group1", "group2"]);
        assert!(i.generate_alert, "AlertAndBlock alerts by default");
        assert_eq!(i.created_by, "app-1");
        assert_eq!(i.source_type, "AadApp");
        let v = serde_json::to_value(&i).unwrap();
        assert!(v.get("creationTimeDateTimeUtc").is_some() && v.get("externalID").is_some());
    }

    #[test]
    fn validation_errors_use_the_service_codes() {
        let base = serde_json::json!({"indicatorType": "FileSha256", "indicatorValue": "abc", "action": "Block", "title": "t", "description": "d"});
        let e = body(base.clone()).into_indicator(&app(&[]), "x", OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert_eq!((e.status, e.code), (400, "InvalidHashValue"));
        let mut b = base.clone();
        b["indicatorType"] = "IpAddress".into();
        b["indicatorValue"] = "10.0.0.0/8".into();
        assert_eq!(
            body(b).into_indicator(&app(&[]), "x", OffsetDateTime::UNIX_EPOCH).unwrap_err().code,
            "InvalidIpAddress"
        );
        let mut b = base.clone();
        b["indicatorType"] = "DomainName".into();
        b["indicatorValue"] = "not a domain".into();
        assert_eq!(
            body(b).into_indicator(&app(&[]), "x", OffsetDateTime::UNIX_EPOCH).unwrap_err().code,
            "InvalidDomainName"
        );
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove("title");
        let e = body(b).into_indicator(&app(&[]), "x", OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("MissingRequiredParameter", "Parameter title is missing."));
        let mut b = base.clone();
        b["action"] = "Audit".into();
        b["generateAlert"] = false.into();
        b["indicatorType"] = "IpAddress".into();
        b["indicatorValue"] = "1.2.3.4".into();
        assert_eq!(
            body(b).into_indicator(&app(&[]), "x", OffsetDateTime::UNIX_EPOCH).unwrap_err().code,
            "InvalidInput"
        );
        let mut b = base;
        b["indicatorValue"] = "a".repeat(64).into();
        b["action"] = "Obliterate".into();
        assert!(
            body(b)
                .into_indicator(&app(&[]), "x", OffsetDateTime::UNIX_EPOCH)
                .unwrap_err()
                .message
                .contains("Allowed values")
        );
    }

    #[test]
    fn ti_readwrite_sees_only_its_own() {
        assert_eq!(visible_creator(&app(&["Ti.ReadWrite"])), Some("app-1".into()));
        assert_eq!(visible_creator(&app(&["Ti.ReadWrite.All"])), None);
        assert_eq!(visible_creator(&app(&["Ti.ReadWrite", "Ti.Read.All"])), None);
    }

    #[test]
    fn schema_accepts_documented_filters() {
        for f in [
            "indicatorType eq 'FileSha1'",
            "severity eq 'High' and generateAlert eq true",
            "rbacGroupNames/any(g: g eq 'group1')",
            "creationTimeDateTimeUtc ge 2024-01-01Z",
            "startswith(indicatorValue,'220e')",
        ] {
            let q = QueryOptions::parse_for(&format!("$filter={f}"), &SCHEMA).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(q.filter.is_some());
        }
        assert!(QueryOptions::parse_for("$filter=color eq 'red'", &SCHEMA).is_err());
    }
}
