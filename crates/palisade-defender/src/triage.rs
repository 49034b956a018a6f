//! Triage updates of alerts and incidents (`defender-api.md` §3.1, §3.9, §4.8): which values are
//! accepted, the aliases other doc pages use, and what a change does to the entity (resolved
//! time, comments appended, last update). No I/O: handlers load, apply, store.

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::errors::DefenderError;
use crate::model::{Alert, Comment, Incident};

pub const ALERT_STATUSES: &[&str] = &["New", "InProgress", "Resolved"];
pub const INCIDENT_STATUSES: &[&str] = &["Active", "InProgress", "Resolved", "Redirected"];
pub const CLASSIFICATIONS: &[&str] = &["TruePositive", "InformationalExpectedActivity", "FalsePositive"];
pub const DETERMINATIONS: &[&str] = &[
    "MultiStagedAttack",
    "MaliciousUserActivity",
    "CompromisedUser",
    "Malware",
    "Phishing",
    "UnwantedSoftware",
    "SecurityTesting",
    "LineOfBusinessApplication",
    "ConfirmedUserActivity",
    "Clean",
    "InsufficientData",
    "Other",
    "Apt",
    "SecurityPersonnel",
    "NotAvailable",
];

fn canonical(field: &str, value: &str, allowed: &[&str], aliases: &[(&str, &str)]) -> Result<String, DefenderError> {
    let squashed: String = value.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if let Some(a) = allowed.iter().find(|a| a.eq_ignore_ascii_case(&squashed)) {
        return Ok(a.to_string());
    }
    if let Some((_, to)) = aliases.iter().find(|(from, _)| from.eq_ignore_ascii_case(&squashed)) {
        return Ok(to.to_string());
    }
    Err(DefenderError::new(
        400,
        "InvalidInput",
        format!("Invalid input {field}: '{value}'. Allowed values: {}.", allowed.join(", ")),
    ))
}

/// Classification, accepting the display form ("Informational, expected activity").
pub fn classification(v: &str) -> Result<String, DefenderError> {
    canonical("classification", v, CLASSIFICATIONS, &[])
}

/// Determination, accepting the aliases of update-alert.md and api-update-incidents.md.
pub fn determination(v: &str) -> Result<String, DefenderError> {
    canonical(
        "determination",
        v,
        DETERMINATIONS,
        &[
            ("ConfirmedActivity", "ConfirmedUserActivity"),
            ("NotMalicious", "Clean"),
            ("CompromisedAccount", "CompromisedUser"),
            ("NoEnoughDataToValidate", "InsufficientData"),
        ],
    )
}

/// The optional fields of `PATCH /api/alerts/{id}` and `POST /api/alerts/batchUpdate`. The doc
/// table capitalises them and the examples do not, so either spelling is read.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlertUpdate {
    #[serde(alias = "Status")]
    pub status: Option<String>,
    #[serde(rename = "assignedTo", alias = "AssignedTo")]
    pub assigned_to: Option<String>,
    #[serde(alias = "Classification")]
    pub classification: Option<String>,
    #[serde(alias = "Determination")]
    pub determination: Option<String>,
    #[serde(alias = "Comment")]
    pub comment: Option<String>,
}

/// `POST /api/alerts/batchUpdate`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlertBatchUpdate {
    #[serde(rename = "alertIds", alias = "AlertIds")]
    pub alert_ids: Option<Vec<String>>,
    #[serde(flatten)]
    pub update: AlertUpdate,
}

/// Validated alert changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertChange {
    status: Option<String>,
    assigned_to: Option<String>,
    classification: Option<String>,
    determination: Option<String>,
    comment: Option<String>,
}

impl AlertUpdate {
    /// Checks every value before anything changes; an update that changes nothing is refused.
    pub fn validate(self) -> Result<AlertChange, DefenderError> {
        let status = self.status.map(|s| canonical("status", &s, ALERT_STATUSES, &[("Active", "New")])).transpose()?;
        let classification = self.classification.map(|c| classification(&c)).transpose()?;
        let determination = self.determination.map(|d| determination(&d)).transpose()?;
        let change = AlertChange {
            status,
            assigned_to: self.assigned_to,
            classification,
            determination,
            comment: self.comment.filter(|c| !c.trim().is_empty()),
        };
        if change == AlertChange::default() {
            return Err(DefenderError::invalid_body(
                "Nothing to update: send at least one of status, assignedTo, classification, determination, comment.",
            ));
        }
        Ok(change)
    }
}

impl AlertChange {
    /// Applies the change as `by` at `now`.
    pub fn apply(&self, alert: &mut Alert, by: &str, now: OffsetDateTime) {
        if let Some(s) = &self.status {
            if s == "Resolved" && alert.status != "Resolved" {
                alert.resolved_time = Some(now);
            } else if s != "Resolved" {
                alert.resolved_time = None;
            }
            alert.status = s.clone();
        }
        if let Some(a) = &self.assigned_to {
            alert.assigned_to = Some(a.clone());
        }
        if let Some(c) = &self.classification {
            alert.classification = Some(c.clone());
        }
        if let Some(d) = &self.determination {
            alert.determination = Some(d.clone());
        }
        if let Some(c) = &self.comment {
            alert.comments.push(Comment { comment: c.clone(), created_by: Some(by.to_string()), created_time: now });
        }
        alert.last_update_time = Some(now);
    }
}

/// `PATCH /api/incidents/{id}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IncidentUpdate {
    #[serde(alias = "Status")]
    pub status: Option<String>,
    #[serde(rename = "assignedTo", alias = "AssignedTo")]
    pub assigned_to: Option<String>,
    #[serde(alias = "Classification")]
    pub classification: Option<String>,
    #[serde(alias = "Determination")]
    pub determination: Option<String>,
    #[serde(alias = "Tags")]
    pub tags: Option<Value>,
    #[serde(alias = "Comment")]
    pub comment: Option<String>,
}

impl IncidentUpdate {
    /// Validates and applies the update. Tags replace the list; a comment is appended.
    pub fn apply(self, incident: &mut Incident, by: &str, now: OffsetDateTime) -> Result<(), DefenderError> {
        let status = self.status.map(|s| canonical("status", &s, INCIDENT_STATUSES, &[])).transpose()?;
        let classification = self.classification.map(|c| classification(&c)).transpose()?;
        let determination = self.determination.map(|d| determination(&d)).transpose()?;
        let tags = match self.tags {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(
                a.into_iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s),
                        other => Err(DefenderError::invalid_body(format!("tags must be strings, not {other}."))),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(other) => return Err(DefenderError::invalid_body(format!("tags must be a list, not {other}."))),
        };
        let nothing = status.is_none()
            && self.assigned_to.is_none()
            && classification.is_none()
            && determination.is_none()
            && tags.is_none()
            && self.comment.is_none();
        if nothing {
            return Err(DefenderError::invalid_body(
                "Nothing to update: send at least one of status, assignedTo, classification, determination, tags, comment.",
            ));
        }
        if let Some(s) = status {
            incident.status = s;
        }
        if let Some(a) = self.assigned_to {
            incident.assigned_to = Some(a);
        }
        if let Some(c) = classification {
            incident.classification = c;
        }
        if let Some(d) = determination {
            incident.determination = d;
        }
        if let Some(t) = tags {
            incident.tags = t;
        }
        if let Some(c) = self.comment.filter(|c| !c.trim().is_empty()) {
            incident.comments.push(Comment { comment: c, created_by: Some(by.to_string()), created_time: now });
        }
        incident.last_update_time = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_spellings_and_aliases() {
        assert_eq!(classification("Informational, expected activity").unwrap(), "InformationalExpectedActivity");
        assert_eq!(classification("truepositive").unwrap(), "TruePositive");
        assert_eq!(determination("NotMalicious").unwrap(), "Clean");
        assert_eq!(determination("ConfirmedActivity").unwrap(), "ConfirmedUserActivity");
        let e = classification("Maybe").unwrap_err();
        assert_eq!((e.status, e.code), (400, "InvalidInput"));
        assert!(AlertUpdate::default().validate().is_err());
        let u: AlertUpdate = serde_json::from_str(r#"{"Status":"Resolved","comment":"done"}"#).unwrap();
        assert!(u.validate().is_ok());
    }
}
