//! Entra directory roles that Palisade gives meaning to. The GUIDs are the real role template ids,
//! which is what the `wids` claim carries.

use serde::{Deserialize, Serialize};
use uuid::{Uuid, uuid};

/// A built-in Entra directory role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DirectoryRole {
    GlobalAdministrator,
    PrivilegedRoleAdministrator,
    ApplicationAdministrator,
    CloudApplicationAdministrator,
    SecurityAdministrator,
    SecurityOperator,
    SecurityReader,
    GlobalReader,
}

impl DirectoryRole {
    pub const ALL: [DirectoryRole; 8] = [
        Self::GlobalAdministrator,
        Self::PrivilegedRoleAdministrator,
        Self::ApplicationAdministrator,
        Self::CloudApplicationAdministrator,
        Self::SecurityAdministrator,
        Self::SecurityOperator,
        Self::SecurityReader,
        Self::GlobalReader,
    ];

    /// The role template id (stable across tenants).
    pub fn template_id(self) -> Uuid {
        match self {
            Self::GlobalAdministrator => uuid!("62e90394-69f5-4237-9190-012177145e10"),
            Self::PrivilegedRoleAdministrator => uuid!("e8611ab8-c189-46e8-94e1-60213ab1f814"),
            Self::ApplicationAdministrator => uuid!("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"),
            Self::CloudApplicationAdministrator => uuid!("158c047a-c907-4556-b7ef-446551a6b5f7"),
            Self::SecurityAdministrator => uuid!("194ae4cb-b126-40b2-bd5b-6091b380977d"),
            Self::SecurityOperator => uuid!("5f2222b1-57c3-48ba-8ad5-d4759f1fde6f"),
            Self::SecurityReader => uuid!("5d6b6bb7-de71-4623-b4af-96380a352509"),
            Self::GlobalReader => uuid!("f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
        }
    }

    /// The display name the portal and Graph use.
    pub fn display_name(self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "Global Administrator",
            Self::PrivilegedRoleAdministrator => "Privileged Role Administrator",
            Self::ApplicationAdministrator => "Application Administrator",
            Self::CloudApplicationAdministrator => "Cloud Application Administrator",
            Self::SecurityAdministrator => "Security Administrator",
            Self::SecurityOperator => "Security Operator",
            Self::SecurityReader => "Security Reader",
            Self::GlobalReader => "Global Reader",
        }
    }

    /// Parses a display name ("Global Administrator"), a compact name ("GlobalAdministrator",
    /// "global-administrator") or a template id.
    pub fn parse(s: &str) -> Option<Self> {
        let norm: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
        Self::ALL.into_iter().find(|r| {
            let dn: String =
                r.display_name().chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
            dn == norm || r.template_id().to_string().eq_ignore_ascii_case(s.trim())
        })
    }

    /// May grant tenant-wide consent to application permissions (app roles). Entra limits this to
    /// Global and Privileged Role Administrators.
    pub fn can_consent_app_roles(self) -> bool {
        matches!(self, Self::GlobalAdministrator | Self::PrivilegedRoleAdministrator)
    }

    /// May grant tenant-wide (admin) consent to delegated permissions.
    pub fn can_consent_delegated_for_tenant(self) -> bool {
        matches!(
            self,
            Self::GlobalAdministrator
                | Self::PrivilegedRoleAdministrator
                | Self::ApplicationAdministrator
                | Self::CloudApplicationAdministrator
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_display_and_compact_names() {
        assert_eq!(DirectoryRole::parse("Global Administrator"), Some(DirectoryRole::GlobalAdministrator));
        assert_eq!(DirectoryRole::parse("security-reader"), Some(DirectoryRole::SecurityReader));
        assert_eq!(
            DirectoryRole::parse("194ae4cb-b126-40b2-bd5b-6091b380977d"),
            Some(DirectoryRole::SecurityAdministrator)
        );
        assert_eq!(DirectoryRole::parse("Janitor"), None);
    }
}
