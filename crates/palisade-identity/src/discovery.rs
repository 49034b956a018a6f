//! Discovery documents: OpenID configuration (v1 and v2), JWKS, MSAL instance discovery, user
//! realm and the ARM metadata document. Every URL names the host the client called
//! (`identity-protocol.md` §4).

use palisade_directory::Tenant;
use serde_json::{Value, json};

use crate::claims::{v1_issuer, v2_issuer};
use crate::errors::AadError;
use crate::tenancy::TenantSegment;
use crate::{Identity, RequestContext};

impl Identity {
    /// `/{tenant}/v2.0/.well-known/openid-configuration`.
    pub async fn openid_configuration_v2(&self, ctx: &RequestContext, segment: &str) -> Result<Value, AadError> {
        let (path, tenant) = self.discovery_tenant(segment).await?;
        let b = &ctx.base_url;
        let issuer = match &tenant {
            Some(t) => v2_issuer(b, t.id),
            None => format!("{b}/{{tenantid}}/v2.0"),
        };
        Ok(json!({
            "token_endpoint": format!("{b}/{path}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{b}/{path}/discovery/v2.0/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": false,
            "userinfo_endpoint": format!("{b}/oidc/userinfo"),
            "authorization_endpoint": format!("{b}/{path}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{b}/{path}/oauth2/v2.0/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{b}/{path}/oauth2/v2.0/logout"),
            "claims_supported": ["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","nonce","preferred_username","name","tid","ver","at_hash","c_hash","email"],
            "kerberos_endpoint": format!("{b}/{path}/kerberos"),
            "tenant_region_scope": if tenant.is_some() { json!("WW") } else { Value::Null },
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }))
    }

    /// `/{tenant}/.well-known/openid-configuration` (v1).
    pub async fn openid_configuration_v1(&self, ctx: &RequestContext, segment: &str) -> Result<Value, AadError> {
        let (path, tenant) = self.discovery_tenant(segment).await?;
        let b = &ctx.base_url;
        let issuer = match &tenant {
            Some(t) => v1_issuer(t.id),
            None => "https://sts.windows.net/{tenantid}/".to_string(),
        };
        Ok(json!({
            "token_endpoint": format!("{b}/{path}/oauth2/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{b}/common/discovery/keys"),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
            "scopes_supported": ["openid"],
            "issuer": issuer,
            "microsoft_multi_refresh_token": true,
            "authorization_endpoint": format!("{b}/{path}/oauth2/authorize"),
            "device_authorization_endpoint": format!("{b}/{path}/oauth2/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{b}/{path}/oauth2/logout"),
            "claims_supported": ["sub","iss","cloud_instance_name","cloud_instance_host_name","cloud_graph_host_name","msgraph_host","aud","exp","iat","auth_time","acr","amr","nonce","email","given_name","family_name","nickname"],
            "check_session_iframe": format!("{b}/{path}/oauth2/checksession"),
            "userinfo_endpoint": format!("{b}/{path}/openid/userinfo"),
            "kerberos_endpoint": format!("{b}/{path}/kerberos"),
            "tenant_region_scope": if tenant.is_some() { json!("WW") } else { Value::Null },
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }))
    }

    /// Discovery keeps the GUID form in URLs for a domain (so MSAL's cache realm is the GUID), and
    /// the alias for `common`/`organizations`.
    async fn discovery_tenant(&self, segment: &str) -> Result<(String, Option<Tenant>), AadError> {
        let seg = TenantSegment::parse(segment)?;
        let tenant = seg.resolve(&self.stores).await?;
        let path = match &tenant {
            Some(t) => t.id.to_string(),
            None => seg.as_path(),
        };
        Ok((path, tenant))
    }

    /// JWKS. The v2 form adds an `issuer` per key (templated for the aliases).
    pub async fn jwks(&self, ctx: &RequestContext, v2_issuer_for: Option<&str>) -> Result<Value, AadError> {
        let mut keys = self.keys.jwks().await?;
        if let Some(segment) = v2_issuer_for {
            let (_, tenant) = self.discovery_tenant(segment).await?;
            let iss = match tenant {
                Some(t) => v2_issuer(&ctx.base_url, t.id),
                None => format!("{}/{{tenantid}}/v2.0", ctx.base_url),
            };
            for k in &mut keys {
                k.issuer = Some(iss.clone());
            }
        }
        Ok(json!({ "keys": keys }))
    }
}

/// `GET /common/discovery/instance` (MSAL instance discovery and alias lookup).
pub fn instance_discovery(ctx: &RequestContext, api_version: &str) -> Value {
    let host = ctx.base_url.trim_start_matches("https://");
    let mut aliases = vec![host.to_string()];
    for h in ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"] {
        if !aliases.iter().any(|a| a == h) {
            aliases.push(h.to_string());
        }
    }
    json!({
        "tenant_discovery_endpoint": format!("{}/common/v2.0/.well-known/openid-configuration", ctx.base_url),
        "api-version": if api_version.is_empty() { "1.1" } else { api_version },
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": aliases}],
    })
}

/// `GET /common/userrealm/{upn}`: every Palisade account is managed (never federated, which would
/// send MSAL to WS-Trust).
pub fn user_realm(upn: &str) -> Value {
    let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    json!({
        "ver": "1.0",
        "account_type": "Managed",
        "domain_name": domain,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    })
}

/// `GET /metadata/endpoints` — the Azure Resource Manager cloud metadata some clients (msticpy)
/// read to find the login host.
pub fn arm_metadata(ctx: &RequestContext) -> Value {
    let b = &ctx.base_url;
    json!({
        "galleryEndpoint": "",
        "graphEndpoint": "https://graph.windows.net/",
        "portalEndpoint": format!("{b}/"),
        "authentication": {
            "loginEndpoint": format!("{b}/"),
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": "https://rest.media.azure.net",
        "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/",
        "name": "AzureCloud",
        "suffixes": {"azureDataLakeStoreFileSystem": "azuredatalakestore.net", "acrLoginServer": "azurecr.io", "sqlServerHostname": ".database.windows.net", "keyVaultDns": "vault.azure.net", "storage": "core.windows.net"},
        "batch": "https://batch.core.windows.net/",
        "resourceManager": format!("{b}/"),
        "vmImageAliasDoc": "",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.azure.com/v2/track",
        "attestationResourceId": "https://attest.azure.net",
        "synapseAnalyticsResourceId": "https://dev.azuresynapse.net",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "ossrDbmsResourceId": "https://ossrdbms-aad.database.windows.net",
    })
}
