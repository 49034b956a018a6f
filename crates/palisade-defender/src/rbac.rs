//! Portal permissions of signed-in users (`defender-api.md` §8). A delegated call needs the scope
//! in its token *and* the user's portal permission: "if you can do it in the portal you can do it
//! in the API". This is the model before a tenant turns on Defender RBAC: Global and Security
//! Administrators have full access, Security Readers (and Global Readers) read-only. Security
//! Operators are given the SOC analyst's day-to-day permissions (view, investigate, respond) —
//! the spec is silent on them. RBAC roles and device groups come later.

use palisade_directory::DirectoryRole;

use crate::errors::DefenderError;
use crate::operations::{Operation, PortalPermission};

/// What a user with these directory roles may do in the portal.
pub fn portal_permissions(roles: &[DirectoryRole]) -> Vec<PortalPermission> {
    use PortalPermission::*;
    let mut out = Vec::new();
    for r in roles {
        let grant: &[PortalPermission] = match r {
            DirectoryRole::GlobalAdministrator | DirectoryRole::SecurityAdministrator => &[
                ViewData,
                AlertsInvestigation,
                ActiveRemediationActions,
                ManageSecuritySettings,
                LiveResponseBasic,
                LiveResponseAdvanced,
            ],
            DirectoryRole::SecurityOperator => {
                &[ViewData, AlertsInvestigation, ActiveRemediationActions, LiveResponseBasic]
            }
            DirectoryRole::SecurityReader | DirectoryRole::GlobalReader => &[ViewData],
            _ => &[],
        };
        for g in grant {
            if !out.contains(g) {
                out.push(*g);
            }
        }
    }
    out
}

fn describe(p: PortalPermission) -> &'static str {
    match p {
        PortalPermission::ViewData => "View data",
        PortalPermission::AlertsInvestigation => "Alerts investigation",
        PortalPermission::ActiveRemediationActions => "Active remediation actions",
        PortalPermission::ManageSecuritySettings => "Manage security settings",
        PortalPermission::LiveResponseBasic => "Live response capabilities (basic)",
        PortalPermission::LiveResponseAdvanced => "Live response capabilities (advanced)",
        PortalPermission::None => "none",
    }
}

/// Whether a user with `roles` may perform `op` in the portal.
pub fn check(roles: &[DirectoryRole], upn: &str, op: Operation) -> Result<(), DefenderError> {
    let needed = op.requirement().portal;
    if needed == PortalPermission::None || portal_permissions(roles).contains(&needed) {
        return Ok(());
    }
    let suggestion = match needed {
        PortalPermission::ViewData => "Security Reader",
        PortalPermission::ManageSecuritySettings | PortalPermission::LiveResponseAdvanced => "Security Administrator",
        _ => "Security Operator",
    };
    Err(DefenderError::forbidden(format!(
        "The user {upn} does not have the portal permission '{}' that this action requires. \
         To grant it: palisade user update --upn {upn} --role \"{suggestion}\".",
        describe(needed)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_rbac_model() {
        let reader = [DirectoryRole::SecurityReader];
        assert!(check(&reader, "r@x", Operation::ListIndicators).is_ok());
        let e = check(&reader, "r@x", Operation::SubmitIndicator).unwrap_err();
        assert_eq!(e.status, 403);
        assert!(
            e.message.contains("'Manage security settings'") && e.message.contains("--role \"Security Administrator\""),
            "{}",
            e.message
        );
        assert!(check(&[DirectoryRole::GlobalAdministrator], "a@x", Operation::SubmitIndicator).is_ok());
        assert!(check(&[DirectoryRole::SecurityAdministrator], "a@x", Operation::Offboard).is_ok());
        assert!(check(&[DirectoryRole::SecurityOperator], "o@x", Operation::Isolate).is_ok());
        assert!(check(&[DirectoryRole::SecurityOperator], "o@x", Operation::SubmitIndicator).is_err());
        assert!(check(&[], "u@x", Operation::ListAlerts).is_err(), "no security role, no access");
        assert!(check(&[DirectoryRole::ApplicationAdministrator], "u@x", Operation::ListAlerts).is_err());
    }
}
