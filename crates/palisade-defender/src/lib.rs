//! The Defender for Endpoint and Microsoft 365 Defender API, as plain Rust: which operations
//! exist, which permissions each accepts, how a caller's token is judged against them, and the
//! error bodies the real service returns (`defender-api.md` §2, §3, §7). HTTP adapters live in the
//! server; entity storage and the endpoints themselves build on this.

pub mod access;
pub mod actions;
pub mod agent;
pub mod audit;
pub mod errors;
pub mod faults;
pub mod fixtures;
pub mod indicators;
pub mod model;
pub mod operations;
pub mod package;
pub mod quota;
pub mod rbac;
pub mod sample;
pub mod schemas;
pub mod store;
pub mod triage;
pub mod values;
pub mod views;
pub mod wire_time;

pub use access::{Caller, authorize};
pub use errors::DefenderError;
pub use operations::{ApiFamily, Operation, PortalPermission, Requirement};

/// Token audiences the Defender API accepts (`defender-api.md` §1.3): every identifier URI of the
/// WindowsDefenderATP and Microsoft Threat Protection resources (with and without a trailing
/// slash) and their two app ids — derived from the catalogue so the two cannot drift apart. Either
/// API family accepts any of them; the permissions decide.
pub fn accepted_audiences() -> &'static [String] {
    static AUDIENCES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let mut out = Vec::new();
        for app in [
            palisade_directory::catalog::windows_defender_atp(),
            palisade_directory::catalog::microsoft_threat_protection(),
        ] {
            out.push(app.app_id.to_string());
            for uri in &app.identifier_uris {
                out.push(uri.clone());
                out.push(format!("{uri}/"));
            }
        }
        out
    });
    &AUDIENCES
}

#[cfg(test)]
mod tests {
    #[test]
    fn audiences_cover_section_1_3() {
        let a = super::accepted_audiences();
        for aud in [
            "https://api.securitycenter.microsoft.com",
            "https://securitycenter.onmicrosoft.com/windowsatpservice",
            "https://api.securitycenter.windows.com",
            "https://api.security.microsoft.com/",
            "https://securitycenter.microsoft.com/mtp",
            "https://api-gov.securitycenter.microsoft.us",
            "fc780465-2017-40d4-a0c5-307022471b92",
            "8ee8fdad-f234-4243-8f3b-15c294843740",
        ] {
            assert!(a.iter().any(|x| x == aud), "{aud}");
        }
        assert!(!a.iter().any(|x| x.contains("graph.microsoft.com")));
    }
}
