//! Judging a validated token against an operation. Application tokens are checked on `roles`,
//! delegated tokens on `scp` (the signed-in user's portal RBAC is checked on top by the caller of
//! this module). The 403 text is the real service's, followed by how to grant what is missing.

use serde_json::Value;
use uuid::Uuid;

use crate::errors::DefenderError;
use crate::operations::Operation;

/// Who is calling, from the token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    App { app_id: String, tenant_id: Uuid, roles: Vec<String> },
    User { app_id: String, tenant_id: Uuid, user_id: Uuid, scopes: Vec<String>, roles: Vec<String> },
}

impl Caller {
    /// Reads the caller from validated claims (v1 `appid` or v2 `azp`; `scp` makes it delegated).
    pub fn from_claims(claims: &Value) -> Result<Self, DefenderError> {
        let str_claim = |k: &str| claims[k].as_str().map(str::to_string);
        let app_id = str_claim("appid")
            .or_else(|| str_claim("azp"))
            .ok_or_else(|| DefenderError::unauthorized("The token has no appid."))?;
        let tenant_id = str_claim("tid")
            .and_then(|t| Uuid::parse_str(&t).ok())
            .ok_or_else(|| DefenderError::unauthorized("The token has no tid."))?;
        let roles: Vec<String> = claims["roles"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        // `idtyp` marks user tokens even when they carry no `scp`.
        let delegated = claims["scp"].as_str().or_else(|| (claims["idtyp"] == "user").then_some(""));
        match delegated {
            Some(scp) => {
                let user_id = str_claim("oid")
                    .and_then(|o| Uuid::parse_str(&o).ok())
                    .ok_or_else(|| DefenderError::unauthorized("The token has no oid."))?;
                Ok(Self::User {
                    app_id,
                    tenant_id,
                    user_id,
                    scopes: scp.split_whitespace().map(str::to_string).collect(),
                    roles,
                })
            }
            None => Ok(Self::App { app_id, tenant_id, roles }),
        }
    }

    pub fn tenant_id(&self) -> Uuid {
        match self {
            Self::App { tenant_id, .. } | Self::User { tenant_id, .. } => *tenant_id,
        }
    }

    pub fn app_id(&self) -> &str {
        match self {
            Self::App { app_id, .. } | Self::User { app_id, .. } => app_id,
        }
    }
}

fn holds(granted: &[String], accepted: &[&str]) -> bool {
    granted.iter().any(|g| accepted.iter().any(|a| a.eq_ignore_ascii_case(g)))
}

/// Whether `caller`'s token carries a permission `op` accepts.
pub fn authorize(caller: &Caller, op: Operation) -> Result<(), DefenderError> {
    let req = op.requirement();
    let api = req.family.api_name();
    match caller {
        Caller::App { app_id, roles, .. } => {
            if holds(roles, req.app_roles) {
                return Ok(());
            }
            Err(DefenderError::forbidden(format!(
                "The application does not have any of the required application permissions ({}) to access the resource. \
                 To grant one: palisade app permission add --app {app_id} --api \"{api}\" --permission {} --type application, then palisade app consent --app {app_id}.",
                req.app_roles.join(", "),
                req.app_roles[0]
            )))
        }
        Caller::User { app_id, scopes, .. } => {
            if holds(scopes, req.scopes) {
                return Ok(());
            }
            if req.scopes.is_empty() {
                return Err(DefenderError::forbidden(format!(
                    "This operation accepts only application permissions ({}), not a signed-in user's token. \
                     Call it with a client-credentials token of an app holding one.",
                    req.app_roles.join(", ")
                )));
            }
            Err(DefenderError::forbidden(format!(
                "The application does not have any of the required delegated permissions ({}) to access the resource. \
                 To grant one: palisade app permission add --app {app_id} --api \"{api}\" --permission {} --type delegated, then palisade app consent --app {app_id}.",
                req.scopes.join(", "),
                req.scopes[0]
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::ApiFamily;
    use palisade_directory::catalog;
    use serde_json::json;

    #[test]
    fn an_application_only_operation_refuses_delegated_tokens_with_advice() {
        let user = Caller::User {
            app_id: "app".into(),
            tenant_id: uuid::Uuid::nil(),
            user_id: uuid::Uuid::nil(),
            scopes: vec!["Machine.ReadWrite".into()],
            roles: vec![],
        };
        let e = authorize(&user, Operation::IngestTelemetry).unwrap_err();
        assert_eq!(e.status, 403);
        assert!(e.message.contains("only application permissions (Palisade.Ingest.All)"), "{}", e.message);
    }

    #[test]
    fn every_permission_named_exists_in_the_catalogue() {
        let (mde, mtp) = (catalog::windows_defender_atp(), catalog::microsoft_threat_protection());
        for op in Operation::ALL {
            let req = op.requirement();
            let res = match req.family {
                ApiFamily::Mde => &mde,
                ApiFamily::M365d => &mtp,
            };
            // Ingestion is for pipelines only: no delegated scope, by design.
            let app_only = *op == Operation::IngestTelemetry;
            assert!(!req.app_roles.is_empty() && (app_only || !req.scopes.is_empty()), "{op:?}");
            for r in req.app_roles {
                assert!(
                    res.app_roles
                        .iter()
                        .any(|x| x.value == *r && x.allowed_member_types.iter().any(|m| m == "Application")),
                    "{op:?}: no app role {r} on {}",
                    res.display_name
                );
            }
            for s in req.scopes {
                assert!(res.scope_by_value(s).is_some(), "{op:?}: no delegated scope {s} on {}", res.display_name);
            }
        }
    }

    #[test]
    fn application_tokens_are_judged_on_roles() {
        let claims = json!({"appid": "a", "tid": Uuid::nil(), "roles": ["Alert.Read.All"]});
        let c = Caller::from_claims(&claims).unwrap();
        assert!(authorize(&c, Operation::ListAlerts).is_ok());
        let e = authorize(&c, Operation::Isolate).unwrap_err();
        assert_eq!((e.status, e.code), (403, "Forbidden"));
        assert!(e.message.starts_with("The application does not have any of the required application permissions (Machine.Isolate) to access the resource."), "{}", e.message);
        assert!(e.message.contains("--permission Machine.Isolate --type application"));
        // An M365D role does not open an MDE operation, nor the reverse.
        let mtp =
            Caller::from_claims(&json!({"appid": "a", "tid": Uuid::nil(), "roles": ["Incident.Read.All"]})).unwrap();
        assert!(authorize(&mtp, Operation::ListIncidents).is_ok());
        assert!(authorize(&mtp, Operation::AdvancedQueries).is_err());
        assert!(authorize(&c, Operation::ListIncidents).unwrap_err().message.contains("Microsoft Threat Protection"));
    }

    #[test]
    fn delegated_tokens_are_judged_on_scopes_not_roles() {
        let claims = json!({"appid": "a", "tid": Uuid::nil(), "oid": Uuid::nil(), "scp": "Alert.Read Machine.Read", "roles": ["Machine.Isolate"]});
        let c = Caller::from_claims(&claims).unwrap();
        assert!(matches!(c, Caller::User { .. }));
        assert!(authorize(&c, Operation::GetMachine).is_ok());
        let e = authorize(&c, Operation::Isolate).unwrap_err();
        assert!(e.message.contains("delegated permissions (Machine.Isolate)"), "{}", e.message);
        assert!(Caller::from_claims(&json!({"tid": Uuid::nil()})).is_err());
        // A user token without scp is still a user's, with no scopes — never an app's.
        let u = Caller::from_claims(&json!({"appid": "a", "tid": Uuid::nil(), "oid": Uuid::nil(), "idtyp": "user", "roles": ["Alert.Read.All"]})).unwrap();
        assert!(matches!(u, Caller::User { .. }));
        assert!(authorize(&u, Operation::ListAlerts).is_err());
    }

    #[test]
    fn cancel_accepts_the_correctly_spelt_forensics_role() {
        let c = Caller::from_claims(&json!({"appid": "a", "tid": Uuid::nil(), "roles": ["Machine.CollectForensics"]}))
            .unwrap();
        assert!(authorize(&c, Operation::CancelMachineAction).is_ok());
    }
}
