//! Portal permissions of signed-in users (`defender-api.md` §8). A delegated call needs the scope
//! in its token *and* the user's portal permission: "if you can do it in the portal you can do it
//! in the API". This is the model before a tenant turns on Defender RBAC: Global and Security
//! Administrators have full access, Security Readers (and Global Readers) read-only. Security
//! Operators are given the SOC analyst's day-to-day permissions (view, investigate, respond) —
//! the spec is silent on them.
//!
//! Once a tenant turns RBAC on ([`RbacConfig::enabled`], which cannot be undone), portal
//! permissions come from RBAC roles assigned to Entra security groups; Global and Security
//! Administrators keep full access to every device (the built-in "Defender for Endpoint
//! administrator" role). Device groups, matched by rules and ranked, decide which devices (and
//! their alerts, actions and incidents) a delegated caller sees: [`DeviceScope`]. Application
//! tokens are never scoped by device group.

use palisade_directory::DirectoryRole;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::Machine;

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

/// Remediation levels of a device group (portal wording, as identifiers).
pub const REMEDIATION_LEVELS: &[&str] = &[
    "NoAutomatedResponse",
    "SemiApprovalForAllFolders",
    "SemiApprovalForNonTemporaryFolders",
    "SemiApprovalForCoreFolders",
    "FullRemediation",
];

/// Id of the built-in "Ungrouped devices (default)" group. Machines in it carry
/// `rbacGroupId: 0` and `rbacGroupName: null`, as on the wire.
pub const UNGROUPED_ID: i64 = 0;
pub const UNGROUPED_NAME: &str = "Ungrouped devices (default)";

/// Matching rules of a device group: properties AND-ed, the values of one property OR-ed (at most
/// 10 each). Comparisons ignore ASCII case. An empty list does not constrain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchingRules {
    /// Device name prefixes (the computer name before the first dot).
    pub name_prefixes: Vec<String>,
    /// DNS domains (`computerDnsName` after the first dot).
    pub domains: Vec<String>,
    /// Tags, matched exactly.
    pub tags: Vec<String>,
    /// `osPlatform` values.
    pub os_platforms: Vec<String>,
}

impl MatchingRules {
    pub const MAX_VALUES: usize = 10;

    fn is_empty(&self) -> bool {
        self.name_prefixes.is_empty() && self.domains.is_empty() && self.tags.is_empty() && self.os_platforms.is_empty()
    }

    /// Whether `m` matches. A group without any rule matches nothing (it would swallow every
    /// device otherwise).
    pub fn matches(&self, m: &Machine) -> bool {
        if self.is_empty() {
            return false;
        }
        let name = m.computer_dns_name.split('.').next().unwrap_or_default().to_ascii_lowercase();
        let ok_name = self.name_prefixes.is_empty()
            || self.name_prefixes.iter().any(|p| name.starts_with(&p.to_ascii_lowercase()));
        let ok_domain = self.domains.is_empty()
            || m.domain().is_some_and(|d| self.domains.iter().any(|x| x.eq_ignore_ascii_case(d)));
        let ok_tags = self.tags.is_empty()
            || self.tags.iter().any(|t| m.machine_tags.iter().any(|mt| mt.eq_ignore_ascii_case(t)));
        let ok_os =
            self.os_platforms.is_empty() || self.os_platforms.iter().any(|o| o.eq_ignore_ascii_case(&m.os_platform));
        ok_name && ok_domain && ok_tags && ok_os
    }
}

/// A device group (machine group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceGroup {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub remediation_level: String,
    /// 1 is the highest. A device belongs to the highest-ranked group whose rules it matches.
    pub rank: u32,
    pub rules: MatchingRules,
    /// Entra groups whose members see this group's devices. Empty: every user with portal access.
    pub user_groups: Vec<Uuid>,
}

/// A Defender RBAC role: portal permissions granted to the members of Entra groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RbacRole {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<PortalPermission>,
    pub assigned_groups: Vec<Uuid>,
}

/// A tenant's portal access configuration, stored as one document (it is small and changes
/// rarely; every API node reads the same copy through the store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RbacConfig {
    /// RBAC turned on. Cannot be turned off again (as in the portal).
    pub enabled: bool,
    pub roles: Vec<RbacRole>,
    /// Ordered by rank.
    pub device_groups: Vec<DeviceGroup>,
    /// Entra groups granted the "Ungrouped devices (default)" group. Empty: everyone.
    pub ungrouped_user_groups: Vec<Uuid>,
}

/// Which devices a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceScope {
    /// Every device of the tenant (applications, administrators, RBAC off).
    All,
    /// Devices whose `rbacGroupId` is one of these.
    Groups(Vec<i64>),
}

impl DeviceScope {
    pub fn allows(&self, rbac_group_id: i64) -> bool {
        match self {
            Self::All => true,
            Self::Groups(g) => g.contains(&rbac_group_id),
        }
    }
}

/// What a signed-in user may do and see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAccess {
    pub permissions: Vec<PortalPermission>,
    pub devices: DeviceScope,
}

impl RbacConfig {
    /// The device group `m` belongs to: `(rbacGroupId, rbacGroupName)`.
    pub fn assign(&self, m: &Machine) -> (i64, Option<String>) {
        let mut groups: Vec<&DeviceGroup> = self.device_groups.iter().collect();
        groups.sort_by_key(|g| (g.rank, g.id));
        groups
            .into_iter()
            .find(|g| g.rules.matches(m))
            .map(|g| (g.id, Some(g.name.clone())))
            .unwrap_or((UNGROUPED_ID, None))
    }

    /// The portal permissions and device scope of a user with these directory roles, member of
    /// these Entra groups.
    pub fn access(&self, roles: &[DirectoryRole], member_of: &[Uuid]) -> UserAccess {
        let admin = roles
            .iter()
            .any(|r| matches!(r, DirectoryRole::GlobalAdministrator | DirectoryRole::SecurityAdministrator));
        if !self.enabled || admin {
            return UserAccess { permissions: portal_permissions(roles), devices: DeviceScope::All };
        }
        let mut permissions = Vec::new();
        for role in self.roles.iter().filter(|r| r.assigned_groups.iter().any(|g| member_of.contains(g))) {
            for p in &role.permissions {
                if !permissions.contains(p) {
                    permissions.push(*p);
                }
            }
        }
        let sees = |user_groups: &[Uuid]| user_groups.is_empty() || user_groups.iter().any(|g| member_of.contains(g));
        let mut ids: Vec<i64> = self.device_groups.iter().filter(|g| sees(&g.user_groups)).map(|g| g.id).collect();
        if sees(&self.ungrouped_user_groups) {
            ids.push(UNGROUPED_ID);
        }
        UserAccess { permissions, devices: DeviceScope::Groups(ids) }
    }
}

impl RbacConfig {
    /// Checks a new configuration against the current one: RBAC cannot be turned off again,
    /// ids/names/ranks are unique, values known, and every Entra group named exists.
    pub fn validate(&self, current: &RbacConfig, known_groups: &[Uuid]) -> Result<(), String> {
        if current.enabled && !self.enabled {
            return Err("RBAC cannot be turned off once it is on (as in the portal).".into());
        }
        let unknown = |gs: &[Uuid], what: &str| -> Result<(), String> {
            match gs.iter().find(|g| !known_groups.contains(g)) {
                Some(g) => {
                    Err(format!("{what} names group {g}, which does not exist in this tenant (palisade group list)."))
                }
                None => Ok(()),
            }
        };
        for (i, g) in self.device_groups.iter().enumerate() {
            if g.id <= UNGROUPED_ID {
                return Err(format!("Device group '{}': ids start at 1 (0 is '{UNGROUPED_NAME}').", g.name));
            }
            if g.name.trim().is_empty() || g.name.eq_ignore_ascii_case(UNGROUPED_NAME) {
                return Err(format!("Device group {}: the name '{}' is not allowed.", g.id, g.name));
            }
            if g.rank == 0 {
                return Err(format!("Device group '{}': ranks start at 1 (highest).", g.name));
            }
            if let Some(o) = self.device_groups[..i]
                .iter()
                .find(|o| o.id == g.id || o.name.eq_ignore_ascii_case(&g.name) || o.rank == g.rank)
            {
                return Err(format!("Device groups '{}' and '{}' share an id, a name or a rank.", o.name, g.name));
            }
            if !REMEDIATION_LEVELS.contains(&g.remediation_level.as_str()) {
                return Err(format!(
                    "Device group '{}': remediation level '{}' is not one of {}.",
                    g.name,
                    g.remediation_level,
                    REMEDIATION_LEVELS.join(", ")
                ));
            }
            let r = &g.rules;
            if [&r.name_prefixes, &r.domains, &r.tags, &r.os_platforms]
                .iter()
                .any(|v| v.len() > MatchingRules::MAX_VALUES)
            {
                return Err(format!(
                    "Device group '{}': at most {} values per rule.",
                    g.name,
                    MatchingRules::MAX_VALUES
                ));
            }
            unknown(&g.user_groups, &format!("Device group '{}'", g.name))?;
        }
        unknown(&self.ungrouped_user_groups, UNGROUPED_NAME)?;
        for (i, r) in self.roles.iter().enumerate() {
            if r.name.trim().is_empty()
                || self.roles[..i].iter().any(|o| o.id == r.id || o.name.eq_ignore_ascii_case(&r.name))
            {
                return Err(format!("Role '{}': names and ids must be unique and non-empty.", r.name));
            }
            if r.permissions.is_empty() || r.permissions.contains(&PortalPermission::None) {
                return Err(format!("Role '{}': give it at least one permission.", r.name));
            }
            unknown(&r.assigned_groups, &format!("Role '{}'", r.name))?;
        }
        Ok(())
    }
}

/// Whether a user holding `granted` may perform `op`; the 403 otherwise says what is missing and
/// how to grant it under RBAC.
pub fn check_access(granted: &[PortalPermission], upn: &str, op: Operation) -> Result<(), DefenderError> {
    let needed = op.requirement().portal;
    if needed == PortalPermission::None || granted.contains(&needed) {
        return Ok(());
    }
    Err(DefenderError::forbidden(format!(
        "The user {upn} does not have the portal permission '{}' that this action requires. \
         To grant it: add the user to a group assigned to a role with that permission (palisade rbac role add --permission {:?} --group <group>).",
        describe(needed),
        needed
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
