//! Every API operation with what it accepts (`defender-api.md` §3): application permissions (any
//! one, checked against `roles`), delegated scopes (any one, checked against `scp`), the portal
//! permission a signed-in user also needs, the API family, and the documented rate limit.

/// Which product the operation belongs to (and which app's permissions it takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFamily {
    /// Defender for Endpoint — WindowsDefenderATP permissions.
    Mde,
    /// Microsoft 365 Defender — Microsoft Threat Protection permissions.
    M365d,
}

/// Portal (RBAC) permission a delegated caller's user must hold (`defender-api.md` §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PortalPermission {
    ViewData,
    AlertsInvestigation,
    ActiveRemediationActions,
    ManageSecuritySettings,
    LiveResponseBasic,
    LiveResponseAdvanced,
    /// No portal permission documented beyond the scope.
    None,
}

/// What an operation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub family: ApiFamily,
    pub app_roles: &'static [&'static str],
    pub scopes: &'static [&'static str],
    pub portal: PortalPermission,
    /// Documented quota: requests per minute and per hour, per tenant.
    pub per_minute: u32,
    pub per_hour: u32,
}

macro_rules! operations {
    ($( $(#[$m:meta])* $name:ident => $family:ident, [$($role:literal),*], [$($scope:literal),*], $portal:ident, $pm:literal, $ph:literal; )*) => {
        /// An operation of the Defender APIs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation { $( $(#[$m])* $name, )* }

        impl Operation {
            pub const ALL: &'static [Operation] = &[$(Operation::$name),*];

            pub fn requirement(self) -> Requirement {
                match self {
                    $(Operation::$name => Requirement {
                        family: ApiFamily::$family,
                        app_roles: &[$($role),*],
                        scopes: &[$($scope),*],
                        portal: PortalPermission::$portal,
                        per_minute: $pm,
                        per_hour: $ph,
                    },)*
                }
            }

            pub fn name(self) -> &'static str {
                match self { $(Operation::$name => stringify!($name),)* }
            }
        }
    };
}

operations! {
    // Alerts (§3.1)
    ListAlerts => Mde, ["Alert.Read.All", "Alert.ReadWrite.All"], ["Alert.Read", "Alert.ReadWrite"], ViewData, 100, 1500;
    GetAlert => Mde, ["Alert.Read.All", "Alert.ReadWrite.All"], ["Alert.Read", "Alert.ReadWrite"], ViewData, 100, 1500;
    UpdateAlert => Mde, ["Alert.ReadWrite.All"], ["Alert.ReadWrite"], AlertsInvestigation, 100, 1500;
    BatchUpdateAlerts => Mde, ["Alert.ReadWrite.All"], ["Alert.ReadWrite"], AlertsInvestigation, 10, 500;
    CreateAlertByReference => Mde, ["Alert.ReadWrite.All"], ["Alert.ReadWrite"], AlertsInvestigation, 15, 1500;
    AlertDomains => Mde, ["Url.Read.All"], ["URL.Read.All"], ViewData, 100, 1500;
    AlertFiles => Mde, ["File.Read.All"], ["File.Read.All"], ViewData, 100, 1500;
    AlertIps => Mde, ["Ip.Read.All"], ["Ip.Read.All"], ViewData, 100, 1500;
    AlertMachine => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    AlertUser => Mde, ["User.Read.All"], ["User.Read.All"], ViewData, 100, 1500;
    // Machines (§3.2)
    ListMachines => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    GetMachine => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    UpdateMachine => Mde, ["Machine.ReadWrite.All"], ["Machine.ReadWrite"], AlertsInvestigation, 100, 1500;
    MachineLogonUsers => Mde, ["User.Read.All"], ["User.Read.All"], ViewData, 100, 1500;
    MachineAlerts => Mde, ["Alert.Read.All", "Alert.ReadWrite.All"], ["Alert.Read", "Alert.ReadWrite"], ViewData, 100, 1500;
    MachineSoftware => Mde, ["Software.Read.All"], ["Software.Read"], ViewData, 100, 1500;
    MachineVulnerabilities => Mde, ["Vulnerability.Read.All"], ["Vulnerability.Read"], ViewData, 50, 1500;
    MachineRecommendations => Mde, ["SecurityRecommendation.Read.All"], ["SecurityRecommendation.Read"], ViewData, 100, 1500;
    FindMachinesByIp => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    FindMachinesByTag => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    TagMachine => Mde, ["Machine.ReadWrite.All"], ["Machine.ReadWrite"], ManageSecuritySettings, 100, 1500;
    TagMachines => Mde, ["Machine.ReadWrite.All"], ["Machine.ReadWrite"], ManageSecuritySettings, 100, 1500;
    SetDeviceValue => Mde, ["Machine.ReadWrite.All"], ["Machine.ReadWrite"], ManageSecuritySettings, 100, 1500;
    StartInvestigation => Mde, ["Alert.ReadWrite.All"], ["Alert.ReadWrite"], ActiveRemediationActions, 50, 50;
    // Machine actions (§3.3)
    Isolate => Mde, ["Machine.Isolate"], ["Machine.Isolate"], ActiveRemediationActions, 100, 1500;
    Unisolate => Mde, ["Machine.Isolate"], ["Machine.Isolate"], ActiveRemediationActions, 100, 1500;
    RestrictCodeExecution => Mde, ["Machine.RestrictExecution"], ["Machine.RestrictExecution"], ActiveRemediationActions, 100, 1500;
    UnrestrictCodeExecution => Mde, ["Machine.RestrictExecution"], ["Machine.RestrictExecution"], ActiveRemediationActions, 100, 1500;
    RunAntiVirusScan => Mde, ["Machine.Scan"], ["Machine.Scan"], ActiveRemediationActions, 100, 1500;
    CollectInvestigationPackage => Mde, ["Machine.CollectForensics"], ["Machine.CollectForensics"], AlertsInvestigation, 100, 1500;
    GetPackageUri => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.CollectForensics"], AlertsInvestigation, 2, 120;
    Offboard => Mde, ["Machine.Offboard"], ["Machine.Offboard"], ManageSecuritySettings, 100, 1500;
    StopAndQuarantineFile => Mde, ["Machine.StopAndQuarantine"], ["Machine.StopAndQuarantine"], ActiveRemediationActions, 100, 1500;
    RunLiveResponse => Mde, ["Machine.LiveResponse"], ["Machine.LiveResponse"], LiveResponseAdvanced, 10, 1500;
    GetLiveResponseResult => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.LiveResponse"], LiveResponseBasic, 100, 1500;
    ListMachineActions => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    GetMachineAction => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    /// Cancel accepts any action permission (the real check once misspelt Machine.CollectForensic;
    /// Palisade uses the correct name).
    CancelMachineAction => Mde, ["Machine.CollectForensics", "Machine.Isolate", "Machine.RestrictExecution", "Machine.Scan", "Machine.Offboard", "Machine.StopAndQuarantine", "Machine.LiveResponse"], ["Machine.CollectForensics", "Machine.Isolate", "Machine.RestrictExecution", "Machine.Scan", "Machine.Offboard", "Machine.StopAndQuarantine", "Machine.LiveResponse"], ActiveRemediationActions, 100, 1500;
    // Advanced hunting (§3.4)
    AdvancedQueries => Mde, ["AdvancedQuery.Read.All"], ["AdvancedQuery.Read"], ViewData, 45, 1500;
    AdvancedHunting => M365d, ["AdvancedHunting.Read.All"], ["AdvancedHunting.Read"], ViewData, 45, 1500;
    /// Palisade's telemetry ingestion: application permission only (agents and pipelines, not
    /// people), and a quota sized for bulk loads rather than the documented API's 100/min.
    IngestTelemetry => Mde, ["Palisade.Ingest.All"], [], None, 6000, 100000;
    // Files, IPs, domains, users (§3.5)
    GetFile => Mde, ["File.Read.All"], ["File.Read.All"], ViewData, 100, 1500;
    FileStats => Mde, ["File.Read.All"], ["File.Read.All"], ViewData, 100, 1500;
    FileAlerts => Mde, ["Alert.Read.All", "Alert.ReadWrite.All"], ["Alert.Read", "Alert.ReadWrite"], ViewData, 100, 1500;
    FileMachines => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    IpStats => Mde, ["Ip.Read.All"], ["Ip.Read.All"], ViewData, 100, 1500;
    IpAlerts => Mde, ["Alert.Read.All", "Alert.ReadWrite.All"], ["Alert.Read", "Alert.ReadWrite"], ViewData, 100, 1500;
    /// The current docs list only Alert.ReadWrite.All; older ones the read permission too, which
    /// Palisade accepts.
    DomainAlerts => Mde, ["Alert.Read.All", "Alert.ReadWrite.All"], ["Alert.Read", "Alert.ReadWrite"], ViewData, 100, 1500;
    DomainMachines => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    DomainStats => Mde, ["Url.Read.All"], ["URL.Read.All"], ViewData, 100, 1500;
    UserAlerts => Mde, ["Alert.Read.All", "Alert.ReadWrite.All"], ["Alert.Read", "Alert.ReadWrite"], ViewData, 100, 1500;
    UserMachines => Mde, ["Machine.Read.All", "Machine.ReadWrite.All"], ["Machine.Read", "Machine.ReadWrite"], ViewData, 100, 1500;
    // Indicators (§3.6)
    ListIndicators => Mde, ["Ti.ReadWrite", "Ti.ReadWrite.All", "Ti.Read.All"], ["Ti.ReadWrite"], ViewData, 100, 1500;
    SubmitIndicator => Mde, ["Ti.ReadWrite", "Ti.ReadWrite.All"], ["Ti.ReadWrite"], ManageSecuritySettings, 100, 1500;
    ImportIndicators => Mde, ["Ti.ReadWrite", "Ti.ReadWrite.All"], ["Ti.ReadWrite"], ManageSecuritySettings, 30, 1500;
    DeleteIndicator => Mde, ["Ti.ReadWrite", "Ti.ReadWrite.All"], ["Ti.ReadWrite"], ManageSecuritySettings, 100, 1500;
    BatchDeleteIndicators => Mde, ["Ti.ReadWrite", "Ti.ReadWrite.All"], ["Ti.ReadWrite"], ManageSecuritySettings, 30, 1500;
    // Investigations (§3.7)
    ListInvestigations => Mde, ["Alert.Read.All", "Alert.ReadWrite.All"], ["Alert.Read", "Alert.ReadWrite"], ViewData, 100, 1500;
    GetInvestigation => Mde, ["Alert.Read.All", "Alert.ReadWrite.All"], ["Alert.Read", "Alert.ReadWrite"], ViewData, 100, 1500;
    // Microsoft 365 Defender incidents (§3.9)
    ListIncidents => M365d, ["Incident.Read.All", "Incident.ReadWrite.All"], ["Incident.Read", "Incident.ReadWrite"], ViewData, 50, 1500;
    GetIncident => M365d, ["Incident.Read.All", "Incident.ReadWrite.All"], ["Incident.Read", "Incident.ReadWrite"], ViewData, 100, 1500;
    UpdateIncident => M365d, ["Incident.ReadWrite.All"], ["Incident.ReadWrite"], AlertsInvestigation, 50, 1500;
}

impl ApiFamily {
    /// The API name a user types in "Add a permission".
    pub fn api_name(self) -> &'static str {
        match self {
            Self::Mde => "WindowsDefenderATP",
            Self::M365d => "Microsoft Threat Protection",
        }
    }
}
