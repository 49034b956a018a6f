//! v2 `scope` parameters: OIDC scopes, one resource, and either `.default` or named permissions.

use uuid::Uuid;

use crate::errors::{self, AadError};

pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
/// Bare scope values (`User.Read`) belong to Microsoft Graph.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeRequest {
    /// OIDC scopes present, lower-cased.
    pub oidc: Vec<String>,
    /// The resource as the client named it (`https://api.securitycenter.microsoft.com`, a GUID…).
    pub resource: Option<String>,
    /// Permission values requested on that resource.
    pub values: Vec<String>,
    /// `{resource}/.default` was requested.
    pub default: bool,
}

impl ScopeRequest {
    pub fn has(&self, oidc: &str) -> bool {
        self.oidc.iter().any(|s| s == oidc)
    }
    /// The resource to issue for: the named one, or Graph when only OIDC scopes were asked for.
    pub fn resource_or_graph(&self) -> &str {
        self.resource.as_deref().unwrap_or(GRAPH_RESOURCE)
    }
}

fn norm(r: &str) -> String {
    r.trim_end_matches('/').to_ascii_lowercase()
}

fn split_resource(token: &str) -> Option<(&str, &str)> {
    let (res, value) = token.rsplit_once('/')?;
    let res_ok =
        res.contains("://") && res.split("://").nth(1).is_some_and(|h| !h.is_empty()) || Uuid::parse_str(res).is_ok();
    (res_ok && !value.is_empty()).then_some((res, value))
}

/// Parses a v2 `scope` string.
pub fn parse_v2(scope: &str) -> Result<ScopeRequest, AadError> {
    let mut out = ScopeRequest::default();
    for token in scope.split_whitespace() {
        if let Some(o) = OIDC_SCOPES.iter().find(|o| o.eq_ignore_ascii_case(token)) {
            if !out.has(o) {
                out.oidc.push(o.to_string());
            }
            continue;
        }
        let (res, value) = if token.contains('/') {
            split_resource(token).ok_or_else(|| errors::invalid_scope(token))?
        } else {
            (GRAPH_RESOURCE, token)
        };
        match &out.resource {
            Some(existing) if norm(existing) != norm(res) => return Err(errors::scopes_span_resources()),
            Some(_) => {}
            None => out.resource = Some(res.to_string()),
        }
        if value == ".default" {
            out.default = true;
        } else if !out.values.iter().any(|v| v.eq_ignore_ascii_case(value)) {
            out.values.push(value.to_string());
        }
    }
    if out.default && !out.values.is_empty() {
        return Err(AadError::new(
            70011,
            "invalid_scope",
            400,
            format!(
                "The provided value for the input parameter 'scope' is not valid. The scope '{scope}' combines the .default scope with resource-specific scopes."
            ),
        ));
    }
    if out.oidc.is_empty() && out.resource.is_none() {
        return Err(errors::invalid_scope(scope));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msal_ropc_scope() {
        let r = parse_v2("https://api.securitycenter.microsoft.com/Alert.Read offline_access openid profile").unwrap();
        assert_eq!(r.resource.as_deref(), Some("https://api.securitycenter.microsoft.com"));
        assert_eq!(r.values, vec!["Alert.Read"]);
        assert!(r.has("offline_access") && r.has("openid") && !r.default);
    }

    #[test]
    fn default_and_double_slash() {
        let r = parse_v2("https://management.core.windows.net//.default").unwrap();
        assert_eq!(r.resource.as_deref(), Some("https://management.core.windows.net/"));
        assert!(r.default);
        let r = parse_v2("https://securitycenter.onmicrosoft.com/windowsatpservice/.default").unwrap();
        assert_eq!(r.resource.as_deref(), Some("https://securitycenter.onmicrosoft.com/windowsatpservice"));
    }

    #[test]
    fn bare_values_are_graph_and_resources_cannot_mix() {
        let r = parse_v2("User.Read openid").unwrap();
        assert_eq!(r.resource.as_deref(), Some(GRAPH_RESOURCE));
        assert_eq!(parse_v2("User.Read https://api.security.microsoft.com/Incident.Read").unwrap_err().code, 700022);
        assert_eq!(parse_v2("https://x.com/.default https://x.com/Read").unwrap_err().code, 70011);
        assert_eq!(parse_v2("https://api.security.microsoft.com.default").unwrap_err().code, 70011);
        assert_eq!(parse_v2("openid").unwrap().resource_or_graph(), GRAPH_RESOURCE);
    }
}
