//! First-party applications every tenant sees, with their real names, app ids and permission
//! catalogues (`defender-api.md` §2). Their application objects live in the system tenant, as
//! Microsoft's live in Microsoft's own tenant; each customer tenant gets a service principal.
//!
//! Delegated-scope GUIDs of the Defender resources are not published anywhere reliable, so they
//! are derived deterministically (UUIDv5 of `resource appId + scope value`): stable across
//! installs, which is what manifests and scripts need.

use time::OffsetDateTime;
use uuid::{Uuid, uuid};

use crate::model::*;

/// The tenant that owns first-party applications (Microsoft's "Microsoft Services" tenant id).
pub const SYSTEM_TENANT_ID: Uuid = uuid!("f8cdef31-a31e-4b4a-93e4-5f571e91255a");
pub const SYSTEM_TENANT_DOMAIN: &str = "microsoftservices.onmicrosoft.com";

pub const WINDOWS_DEFENDER_ATP_APP_ID: Uuid = uuid!("fc780465-2017-40d4-a0c5-307022471b92");
pub const MICROSOFT_THREAT_PROTECTION_APP_ID: Uuid = uuid!("8ee8fdad-f234-4243-8f3b-15c294843740");
pub const MICROSOFT_GRAPH_APP_ID: Uuid = uuid!("00000003-0000-0000-c000-000000000000");
/// Palisade's own administration client (the `palisade` CLI). Authenticates with the operator
/// certificate kept in the data directory.
pub const PALISADE_OPERATOR_APP_ID: Uuid = uuid!("5a1e5ade-0b5e-4c1a-9f3e-7a11ade0cafe");

/// The application permission of Palisade's telemetry ingestion API.
pub const PALISADE_INGEST_ROLE: &str = "Palisade.Ingest.All";
pub const PALISADE_INGEST_ROLE_ID: Uuid = uuid!("226d5bfa-6426-5baa-a130-74b1c7c55c9d");

/// Namespace for derived ids (a fixed random UUID).
const NAMESPACE: Uuid = uuid!("8d7c0a54-63f5-4b0e-9d4e-0c6f4ee7a1b2");

/// Deterministic id for a scope or object that has no published GUID.
pub fn derived_id(parts: &[&str]) -> Uuid {
    Uuid::new_v5(&NAMESPACE, parts.join("\u{1f}").as_bytes())
}

/// The Defender for Endpoint resource: `WindowsDefenderATP`.
pub fn windows_defender_atp() -> Application {
    let roles: &[(&str, &str, Uuid)] = &[
        ("Alert.Read.All", "Read all alerts", uuid!("71fe6b80-7034-4028-9ed8-0f316df9c3ff")),
        ("Alert.ReadWrite.All", "Read and write all alerts", uuid!("0f7000ec-157b-497f-b70e-ef0b0584f140")),
        ("Machine.Read.All", "Read all machine profiles", uuid!("ea8291d3-4b9a-44b5-bc3a-6cea3026dc79")),
        (
            "Machine.ReadWrite.All",
            "Read and write all machine information",
            uuid!("aa027352-232b-4ed4-b963-a705fc4d6d2c"),
        ),
        ("Machine.Isolate", "Isolate machine", uuid!("7e4e1300-e1b9-4102-88ba-f0cb6e6d5974")),
        ("Machine.RestrictExecution", "Restrict code execution", uuid!("96b6b35d-074d-4e2d-b167-8d68d9269648")),
        ("Machine.Scan", "Scan machine", uuid!("a86d9824-b2b6-45f8-b042-16bc4922ed4e")),
        ("Machine.CollectForensics", "Collect forensics", uuid!("15405ab2-2103-4a3c-ad80-e829841cedcc")),
        (
            "Machine.LiveResponse",
            "Run live response on a specific machine",
            uuid!("1629b959-c0af-42a1-92f0-f6162060bdf1"),
        ),
        ("Machine.Offboard", "Offboard machine", uuid!("594435bf-36dd-4548-83bd-1bdafe157d7a")),
        ("Machine.StopAndQuarantine", "Stop and quarantine file", uuid!("96e72b5e-7e68-4171-aad1-3937599e4751")),
        ("AdvancedQuery.Read.All", "Run advanced queries", uuid!("93489bf5-0fbc-4f2d-b901-33f2fe08ff05")),
        ("Ti.ReadWrite", "Read and write IOCs belonging to the app", uuid!("a8bc2240-f96a-46a1-bad5-6a960b7327a1")),
        ("Ti.ReadWrite.All", "Read and write all IOCs", uuid!("fc511a58-3adf-4d71-af24-00f13e35e479")),
        ("Ti.Read.All", "Read all IOCs", uuid!("528ca142-c849-4a5b-935e-10b8b9c38a84")),
        ("File.Read.All", "Read file profiles", uuid!("8788f1a9-beca-4e26-ba58-10513f3b896f")),
        ("Ip.Read.All", "Read IP address profiles", uuid!("47bf842d-354b-49ef-b741-3a6dd815bc13")),
        ("Url.Read.All", "Read URL profiles", uuid!("721af526-ffa8-42d7-9b84-1a56244dd99d")),
        ("User.Read.All", "Read user profiles", uuid!("a833834a-4cf1-4732-8acf-bbcfa13fb610")),
        (
            "Vulnerability.Read.All",
            "Read Threat and Vulnerability Management vulnerability information",
            uuid!("41269fc5-d04d-4bfd-bce7-43a51cea049a"),
        ),
        (
            "Software.Read.All",
            "Read Threat and Vulnerability Management software information",
            uuid!("37f71c98-d198-41ae-964d-2c49aab74926"),
        ),
        (
            "SecurityRecommendation.Read.All",
            "Read Threat and Vulnerability Management security recommendations",
            uuid!("6443965c-7dd2-4cfd-b38f-bb7772bee163"),
        ),
        (
            "Score.Read.All",
            "Read Threat and Vulnerability Management score",
            uuid!("02b005dd-f804-43b4-8fc7-078460413f74"),
        ),
        ("RemediationTasks.Read.All", "Read all remediation tasks", uuid!("6a33eedf-ba73-4e5a-821b-f057ef63853a")),
        (
            "SecurityConfiguration.Read.All",
            "Read all security configurations",
            uuid!("227f2ea0-c2c2-4428-b7af-9ff40f1a720e"),
        ),
        (
            "SecurityConfiguration.ReadWrite.All",
            "Read and write all security configurations",
            uuid!("e5e05709-32a3-4c85-89c8-67596eb94f24"),
        ),
        (
            "SecurityBaselinesAssessment.Read.All",
            "Read all security baselines assessment information",
            uuid!("e870c0c1-c1a2-41ca-948e-a33912d2d3f0"),
        ),
        ("Library.Manage", "Manage live response library files", uuid!("41d209c7-2511-4fc9-b899-8008a3976f09")),
        ("Event.Write", "Write timeline events", uuid!("84ddd701-5fac-4c30-b0ad-aa73a67bea1a")),
        (
            "IntegrationConfiguration.ReadWrite",
            "Read and Write Integration settings",
            uuid!("7c6f6912-60e9-4fcd-bb2a-c25bc35e8c59"),
        ),
        // Palisade's own: writing the advanced hunting tables (the real service has no ingestion
        // API). Its id is `derived_id(&[<this app id>, "Palisade.Ingest.All"])`, fixed here.
        (PALISADE_INGEST_ROLE, "Ingest telemetry into the advanced hunting tables", PALISADE_INGEST_ROLE_ID),
    ];
    // Legacy portal roles assignable to users, not API permissions.
    let user_roles: &[(&str, &str, Uuid)] = &[
        ("readonly", "Security Operations - Read Only", uuid!("f820e656-f1d1-4cb8-a566-31d18eeecb40")),
        ("secop", "Security Operations - Read & Write", uuid!("2261fd4a-5f23-4b74-9e4d-f4ac92dc86a2")),
    ];
    let scopes: &[(&str, &str)] = &[
        ("Alert.Read", "Read alerts"),
        ("Alert.ReadWrite", "Read and write alerts"),
        ("Machine.Read", "Read machine information"),
        ("Machine.ReadWrite", "Read and write machine information"),
        ("Machine.Isolate", "Isolate machine"),
        ("Machine.RestrictExecution", "Restrict code execution"),
        ("Machine.Scan", "Scan machine"),
        ("Machine.CollectForensics", "Collect forensics"),
        ("Machine.StopAndQuarantine", "Stop And Quarantine"),
        ("Machine.Offboard", "Offboard machine"),
        ("Machine.LiveResponse", "Run live response on a specific machine"),
        ("AdvancedQuery.Read", "Run advanced queries"),
        ("Ti.ReadWrite", "Read and write Indicators"),
        ("File.Read.All", "Read file profiles"),
        ("Ip.Read.All", "Read IP address profiles"),
        ("URL.Read.All", "Read URLs"),
        ("User.Read.All", "Read user profiles"),
        ("Vulnerability.Read", "Read Threat and Vulnerability Management vulnerability information"),
        ("Software.Read", "Read Threat and Vulnerability Management Software information"),
        ("SecurityRecommendation.Read", "Read Threat and Vulnerability Management security recommendation information"),
        ("Score.Read", "Read Threat and Vulnerability Management score"),
        ("RemediationTask.Read", "Read Threat and Vulnerability Management remediation tasks"),
        ("Library.Manage", "Manage live response library"),
        ("user_impersonation", "Access WindowsDefenderATP"),
    ];
    let mut app = first_party(
        WINDOWS_DEFENDER_ATP_APP_ID,
        "WindowsDefenderATP",
        &[
            "https://api.securitycenter.microsoft.com",
            "https://securitycenter.onmicrosoft.com/windowsatpservice",
            "https://api.securitycenter.windows.com",
            "https://api-us.securitycenter.microsoft.com",
            "https://api-eu.securitycenter.microsoft.com",
            "https://api-uk.securitycenter.microsoft.com",
            "https://api-au.securitycenter.microsoft.com",
            "https://api-gcc.securitycenter.microsoft.us",
            "https://api-gov.securitycenter.microsoft.us",
        ],
    );
    app.app_roles = roles.iter().map(|(v, d, id)| app_role(*id, v, d, "Application")).collect();
    app.app_roles.extend(user_roles.iter().map(|(v, d, id)| app_role(*id, v, d, "User")));
    app.oauth2_permission_scopes = scopes.iter().map(|(v, d)| scope(app.app_id, v, d, "User")).collect();
    app
}

/// The Microsoft 365 Defender resource, still called `Microsoft Threat Protection` in Entra.
pub fn microsoft_threat_protection() -> Application {
    let mut app = first_party(
        MICROSOFT_THREAT_PROTECTION_APP_ID,
        "Microsoft Threat Protection",
        &[
            "https://api.security.microsoft.com",
            "https://securitycenter.microsoft.com/mtp",
            "https://api-us.security.microsoft.com",
            "https://api-eu.security.microsoft.com",
            "https://api-uk.security.microsoft.com",
            "https://us.api.security.microsoft.com",
            "https://eu.api.security.microsoft.com",
            "https://uk.api.security.microsoft.com",
            "https://au.api.security.microsoft.com",
            "https://swa.api.security.microsoft.com",
        ],
    );
    app.app_roles = vec![
        app_role(
            uuid!("a9790345-4595-42e4-971a-ccdc79f19b7c"),
            "Incident.Read.All",
            "Read all incidents",
            "Application",
        ),
        app_role(
            uuid!("8d90f441-09cf-4fdc-ab45-e874fa3a28e8"),
            "Incident.ReadWrite.All",
            "Read and write all incidents",
            "Application",
        ),
        app_role(
            uuid!("7734e8e5-8dde-42fc-b5ae-6eafea078693"),
            "AdvancedHunting.Read.All",
            "Run advanced queries",
            "Application",
        ),
        app_role(
            uuid!("a7deff90-e2f5-4e4e-83a3-2c74e7002e28"),
            "CustomDetections.ReadWrite.All",
            "Read and write custom detection rules",
            "Application",
        ),
    ];
    app.oauth2_permission_scopes = vec![
        scope(app.app_id, "Incident.Read", "Read incidents", "User"),
        scope(app.app_id, "Incident.ReadWrite", "Read and write incidents", "User"),
        scope(app.app_id, "AdvancedHunting.Read", "Run advanced queries", "User"),
    ];
    app
}

/// The slice of Microsoft Graph that Palisade's management API implements.
pub fn microsoft_graph() -> Application {
    let mut app = first_party(MICROSOFT_GRAPH_APP_ID, "Microsoft Graph", &["https://graph.microsoft.com"]);
    app.app_roles = vec![
        app_role(
            uuid!("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"),
            "Application.Read.All",
            "Read all applications",
            "Application",
        ),
        app_role(
            uuid!("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"),
            "Application.ReadWrite.All",
            "Read and write all applications",
            "Application",
        ),
        app_role(
            uuid!("06b708a9-e830-4db3-a914-8e69da51d44f"),
            "AppRoleAssignment.ReadWrite.All",
            "Manage app permission grants and app role assignments",
            "Application",
        ),
        app_role(
            uuid!("8e8e4742-1d95-4f68-9d56-6ee75648c72a"),
            "DelegatedPermissionGrant.ReadWrite.All",
            "Manage all delegated permission grants",
            "Application",
        ),
        app_role(
            uuid!("7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
            "Directory.Read.All",
            "Read directory data",
            "Application",
        ),
        app_role(
            uuid!("19dbc75e-c2e2-444c-a770-ec69d8559fc7"),
            "Directory.ReadWrite.All",
            "Read and write directory data",
            "Application",
        ),
        app_role(
            uuid!("df021288-bdef-4463-88db-98f22de89214"),
            "User.Read.All",
            "Read all users' full profiles",
            "Application",
        ),
        app_role(
            uuid!("741f803b-c850-494e-b5df-cde7c675a1ca"),
            "User.ReadWrite.All",
            "Read and write all users' full profiles",
            "Application",
        ),
    ];
    app.oauth2_permission_scopes = vec![
        scope_with_id(
            uuid!("e1fe6dd8-ba31-4d61-89e7-88639da4683d"),
            "User.Read",
            "Sign in and read user profile",
            "User",
        ),
        scope_with_id(uuid!("37f7f235-527c-4136-accd-4a02d197296e"), "openid", "Sign users in", "User"),
        scope_with_id(uuid!("14dad69e-099b-42c9-810b-d002981feec1"), "profile", "View users' basic profile", "User"),
        scope_with_id(uuid!("64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"), "email", "View users' email address", "User"),
        scope_with_id(
            uuid!("7427e0e9-2fba-42fe-b0c0-848c9e6a8182"),
            "offline_access",
            "Maintain access to data you have given it access to",
            "User",
        ),
        scope_with_id(
            uuid!("bdfbf15f-ee85-4955-8675-146e8e5296b5"),
            "Application.ReadWrite.All",
            "Read and write all applications",
            "Admin",
        ),
        scope_with_id(
            uuid!("84bccea3-f856-4a8a-967b-dbe0a3d53a64"),
            "AppRoleAssignment.ReadWrite.All",
            "Manage app permission grants and app role assignments",
            "Admin",
        ),
        scope_with_id(
            uuid!("41ce6ca6-6826-4807-84f1-1c82854f7ee5"),
            "DelegatedPermissionGrant.ReadWrite.All",
            "Manage all delegated permission grants",
            "Admin",
        ),
        scope_with_id(
            uuid!("204e0828-b5ca-4ad8-b9f3-f32a958e7cc4"),
            "User.ReadWrite.All",
            "Read and write all users' full profiles",
            "Admin",
        ),
        scope_with_id(
            uuid!("a42657d6-7f20-40e3-b6f0-cee03008a62a"),
            "Directory.AccessAsUser.All",
            "Access directory as the signed in user",
            "Admin",
        ),
    ];
    app
}

/// Graph application permissions the operator client holds in every tenant.
pub const OPERATOR_GRAPH_ROLES: &[&str] = &[
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Directory.ReadWrite.All",
    "User.ReadWrite.All",
];

/// The `palisade` CLI's client registration. Its certificate is added at first start.
pub fn palisade_operator() -> Application {
    let mut app = first_party(PALISADE_OPERATOR_APP_ID, "Palisade Operator", &[]);
    let graph = microsoft_graph();
    app.required_resource_access = vec![RequiredResourceAccess {
        resource_app_id: MICROSOFT_GRAPH_APP_ID,
        resource_access: OPERATOR_GRAPH_ROLES
            .iter()
            .filter_map(|v| graph.app_role_by_value(v))
            .map(|r| ResourceAccess { id: r.id, kind: PermissionKind::Role })
            .collect(),
    }];
    app
}

/// Resource applications every tenant has a service principal for.
pub fn resource_applications() -> Vec<Application> {
    vec![windows_defender_atp(), microsoft_threat_protection(), microsoft_graph()]
}

/// The resource applications, built once: the token endpoint consults them on every request.
pub fn resource_catalogue() -> &'static [Application] {
    static CATALOGUE: std::sync::LazyLock<Vec<Application>> = std::sync::LazyLock::new(resource_applications);
    &CATALOGUE
}

/// Every first-party application object.
pub fn first_party_applications() -> Vec<Application> {
    let mut v = resource_applications();
    v.push(palisade_operator());
    v
}

fn first_party(app_id: Uuid, name: &str, uris: &[&str]) -> Application {
    Application {
        id: derived_id(&["application", &app_id.to_string()]),
        app_id,
        tenant_id: SYSTEM_TENANT_ID,
        display_name: name.to_string(),
        sign_in_audience: SignInAudience::AzureADMultipleOrgs,
        identifier_uris: uris.iter().map(|s| s.to_string()).collect(),
        web_redirect_uris: vec![],
        public_client_redirect_uris: vec![],
        spa_redirect_uris: vec![],
        is_fallback_public_client: false,
        required_resource_access: vec![],
        app_roles: vec![],
        oauth2_permission_scopes: vec![],
        requested_access_token_version: None,
        password_credentials: vec![],
        key_credentials: vec![],
        publisher_domain: Some(SYSTEM_TENANT_DOMAIN.to_string()),
        created_date_time: OffsetDateTime::UNIX_EPOCH,
    }
}

fn app_role(id: Uuid, value: &str, display: &str, member: &str) -> AppRole {
    AppRole {
        id,
        value: value.to_string(),
        display_name: display.to_string(),
        description: display.to_string(),
        allowed_member_types: vec![member.to_string()],
        is_enabled: true,
    }
}

fn scope(resource: Uuid, value: &str, display: &str, kind: &str) -> PermissionScope {
    scope_with_id(derived_id(&["scope", &resource.to_string(), value]), value, display, kind)
}

fn scope_with_id(id: Uuid, value: &str, display: &str, kind: &str) -> PermissionScope {
    PermissionScope {
        id,
        value: value.to_string(),
        kind: kind.to_string(),
        admin_consent_display_name: display.to_string(),
        admin_consent_description: format!("Allows the app to {}.", display.to_lowercase()),
        user_consent_display_name: Some(display.to_string()),
        user_consent_description: Some(format!("Allows the app to {} on your behalf.", display.to_lowercase())),
        is_enabled: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn catalogue_ids_and_values_are_unique_per_resource() {
        for app in first_party_applications() {
            let mut ids = HashSet::new();
            for r in &app.app_roles {
                assert!(ids.insert(r.id), "{} duplicate role id {}", app.display_name, r.id);
            }
            for s in &app.oauth2_permission_scopes {
                assert!(ids.insert(s.id), "{} duplicate scope id {}", app.display_name, s.id);
            }
        }
    }

    #[test]
    fn defender_resource_answers_to_documented_audiences() {
        let atp = windows_defender_atp();
        assert!(atp.answers_to("https://api.securitycenter.microsoft.com/"));
        assert!(atp.answers_to("https://securitycenter.onmicrosoft.com/windowsatpservice"));
        assert!(atp.answers_to("fc780465-2017-40d4-a0c5-307022471b92"));
        assert!(!atp.answers_to("https://api.security.microsoft.com"));
        assert_eq!(
            atp.app_role_by_value("Alert.Read.All").unwrap().id.to_string(),
            "71fe6b80-7034-4028-9ed8-0f316df9c3ff"
        );
        assert!(microsoft_threat_protection().answers_to("https://api.security.microsoft.com"));
    }

    #[test]
    fn the_ingest_role_id_is_the_derived_one() {
        let derived = derived_id(&[&WINDOWS_DEFENDER_ATP_APP_ID.to_string(), PALISADE_INGEST_ROLE]);
        assert_eq!(PALISADE_INGEST_ROLE_ID, derived);
    }

    #[test]
    fn derived_ids_are_stable() {
        assert_eq!(derived_id(&["a", "b"]), derived_id(&["a", "b"]));
        assert_ne!(derived_id(&["a", "b"]), derived_id(&["ab"]));
    }
}
