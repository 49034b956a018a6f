//! The `{tenant}` path segment: a GUID, a verified domain, or one of the multi-tenant aliases.

use palisade_directory::{Stores, Tenant};
use uuid::Uuid;

use crate::errors::{self, AadError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSegment {
    Id(Uuid),
    Domain(String),
    Common,
    Organizations,
    Consumers,
}

impl TenantSegment {
    pub fn parse(s: &str) -> Result<Self, AadError> {
        let lower = s.to_ascii_lowercase();
        match lower.as_str() {
            "common" => return Ok(Self::Common),
            "organizations" => return Ok(Self::Organizations),
            "consumers" => return Ok(Self::Consumers),
            _ => {}
        }
        if let Ok(id) = Uuid::parse_str(s) {
            return Ok(Self::Id(id));
        }
        let valid_dns = lower.contains('.')
            && lower
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if valid_dns { Ok(Self::Domain(lower)) } else { Err(errors::tenant_malformed(s)) }
    }

    pub fn is_alias(&self) -> bool {
        matches!(self, Self::Common | Self::Organizations | Self::Consumers)
    }

    pub fn as_path(&self) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Domain(d) => d.clone(),
            Self::Common => "common".into(),
            Self::Organizations => "organizations".into(),
            Self::Consumers => "consumers".into(),
        }
    }

    /// Resolves a specific tenant; `None` for the aliases. The system tenant is never addressable.
    pub async fn resolve(&self, stores: &Stores) -> Result<Option<Tenant>, AadError> {
        let found = match self {
            Self::Id(id) => stores.directory.tenant(*id).await.map_err(errors::server_error)?,
            Self::Domain(d) => stores.directory.tenant_by_domain(d).await.map_err(errors::server_error)?,
            _ => return Ok(None),
        };
        match found {
            Some(t) if !t.is_system => Ok(Some(t)),
            _ => Err(errors::tenant_not_found(&self.as_path())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(TenantSegment::parse("common").unwrap(), TenantSegment::Common);
        assert_eq!(TenantSegment::parse("Organizations").unwrap(), TenantSegment::Organizations);
        assert_eq!(
            TenantSegment::parse("contoso.onmicrosoft.com").unwrap(),
            TenantSegment::Domain("contoso.onmicrosoft.com".into())
        );
        assert!(matches!(TenantSegment::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap(), TenantSegment::Id(_)));
        assert_eq!(TenantSegment::parse("not a tenant").unwrap_err().code, 900023);
        assert_eq!(TenantSegment::parse("nodots").unwrap_err().code, 900023);
    }
}
