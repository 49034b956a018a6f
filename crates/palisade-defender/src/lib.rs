//! The Defender for Endpoint and Microsoft 365 Defender API, as plain Rust: which operations
//! exist, which permissions each accepts, how a caller's token is judged against them, and the
//! error bodies the real service returns (`defender-api.md` §2, §3, §7). HTTP adapters live in the
//! server; entity storage and the endpoints themselves build on this.

pub mod access;
pub mod audit;
pub mod errors;
pub mod faults;
pub mod indicators;
pub mod operations;
pub mod quota;

pub use access::{Caller, authorize};
pub use errors::DefenderError;
pub use operations::{ApiFamily, Operation, PortalPermission, Requirement};

/// Token audiences the Defender API accepts (`defender-api.md` §1.3): every MDE and M365D alias and
/// the two resource app ids. Either API family accepts any of them; the permissions decide.
pub const ACCEPTED_AUDIENCES: &[&str] = &[
    "https://api.securitycenter.microsoft.com",
    "https://api.securitycenter.microsoft.com/",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
    "https://api.securitycenter.windows.com",
    "https://api-us.securitycenter.microsoft.com",
    "https://api-eu.securitycenter.microsoft.com",
    "https://api-uk.securitycenter.microsoft.com",
    "https://api-au.securitycenter.microsoft.com",
    "https://api-gcc.securitycenter.microsoft.us",
    "https://api-gov.securitycenter.microsoft.us",
    "https://api.security.microsoft.com",
    "https://api.security.microsoft.com/",
    "https://securitycenter.microsoft.com/mtp",
    "https://api-us.security.microsoft.com",
    "https://api-eu.security.microsoft.com",
    "https://api-uk.security.microsoft.com",
    "https://us.api.security.microsoft.com",
    "https://eu.api.security.microsoft.com",
    "https://uk.api.security.microsoft.com",
    "https://au.api.security.microsoft.com",
    "https://swa.api.security.microsoft.com",
    "fc780465-2017-40d4-a0c5-307022471b92",
    "8ee8fdad-f234-4243-8f3b-15c294843740",
];
