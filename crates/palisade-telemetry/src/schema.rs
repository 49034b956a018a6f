//! The advanced hunting tables Palisade stores, with the exact column names, order and KQL types of
//! `defender-api.md` §6.3. One definition serves ingestion (row validation), storage (Arrow and
//! Parquet schemas), the simulator (what it must fill) and the hunting engine (what `getschema`
//! and the response `Schema` say).

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// KQL scalar types as the hunting API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KqlType {
    Bool,
    Int,
    Long,
    Real,
    Decimal,
    String,
    DateTime,
    TimeSpan,
    Guid,
    Dynamic,
}

impl KqlType {
    /// The KQL name (`getschema`'s `ColumnType`).
    pub fn kql_name(self) -> &'static str {
        match self {
            KqlType::Bool => "bool",
            KqlType::Int => "int",
            KqlType::Long => "long",
            KqlType::Real => "real",
            KqlType::Decimal => "decimal",
            KqlType::String => "string",
            KqlType::DateTime => "datetime",
            KqlType::TimeSpan => "timespan",
            KqlType::Guid => "guid",
            KqlType::Dynamic => "dynamic",
        }
    }

    /// The CLR-style name of the hunting response's `Schema[].Type` (§6.1).
    pub fn clr_name(self) -> &'static str {
        match self {
            KqlType::Bool => "Boolean",
            KqlType::Int => "Int32",
            KqlType::Long => "Int64",
            KqlType::Real => "Double",
            KqlType::Decimal => "Decimal",
            KqlType::String => "String",
            KqlType::DateTime => "DateTime",
            KqlType::TimeSpan => "TimeSpan",
            KqlType::Guid => "Guid",
            KqlType::Dynamic => "Object",
        }
    }

    /// The Arrow type a column of this KQL type is stored as. Datetimes are UTC nanoseconds
    /// without a zone (KQL datetimes are always UTC and carry 100 ns ticks, which microseconds
    /// would lose); timespans are nanosecond durations; guids and dynamic values are strings (the
    /// dynamic text is JSON).
    pub fn arrow(self) -> DataType {
        match self {
            KqlType::Bool => DataType::Boolean,
            KqlType::Int => DataType::Int32,
            KqlType::Long => DataType::Int64,
            KqlType::Real => DataType::Float64,
            KqlType::Decimal => DataType::Float64,
            KqlType::String | KqlType::Guid | KqlType::Dynamic => DataType::Utf8,
            KqlType::DateTime => DataType::Timestamp(TimeUnit::Nanosecond, None),
            KqlType::TimeSpan => DataType::Duration(TimeUnit::Nanosecond),
        }
    }
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: KqlType,
}

/// The tables of §6.3 that Palisade stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    DeviceInfo,
    DeviceNetworkInfo,
    DeviceProcessEvents,
    DeviceNetworkEvents,
    DeviceFileEvents,
    DeviceRegistryEvents,
    DeviceLogonEvents,
    DeviceImageLoadEvents,
    DeviceEvents,
    DeviceFileCertificateInfo,
    AlertInfo,
    AlertEvidence,
}

impl Table {
    pub const ALL: [Table; 12] = [
        Table::DeviceInfo,
        Table::DeviceNetworkInfo,
        Table::DeviceProcessEvents,
        Table::DeviceNetworkEvents,
        Table::DeviceFileEvents,
        Table::DeviceRegistryEvents,
        Table::DeviceLogonEvents,
        Table::DeviceImageLoadEvents,
        Table::DeviceEvents,
        Table::DeviceFileCertificateInfo,
        Table::AlertInfo,
        Table::AlertEvidence,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::DeviceInfo => "DeviceInfo",
            Table::DeviceNetworkInfo => "DeviceNetworkInfo",
            Table::DeviceProcessEvents => "DeviceProcessEvents",
            Table::DeviceNetworkEvents => "DeviceNetworkEvents",
            Table::DeviceFileEvents => "DeviceFileEvents",
            Table::DeviceRegistryEvents => "DeviceRegistryEvents",
            Table::DeviceLogonEvents => "DeviceLogonEvents",
            Table::DeviceImageLoadEvents => "DeviceImageLoadEvents",
            Table::DeviceEvents => "DeviceEvents",
            Table::DeviceFileCertificateInfo => "DeviceFileCertificateInfo",
            Table::AlertInfo => "AlertInfo",
            Table::AlertEvidence => "AlertEvidence",
        }
    }

    /// Case-sensitive, as KQL table names are.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Rows of these tables carry a `DeviceId`, so a delegated caller's device scope applies.
    pub fn has_device_id(self) -> bool {
        self.columns().iter().any(|c| c.name == "DeviceId")
    }

    pub fn columns(self) -> &'static [Column] {
        &catalog()[self as usize].0
    }

    /// The Arrow schema rows are stored with (every column nullable: KQL has no NOT NULL, and
    /// sparse columns are the norm).
    pub fn arrow_schema(self) -> SchemaRef {
        catalog()[self as usize].1.clone()
    }

    pub fn column(self, name: &str) -> Option<(usize, &'static Column)> {
        self.columns().iter().enumerate().find(|(_, c)| c.name == name)
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn catalog() -> &'static Vec<(Vec<Column>, SchemaRef)> {
    static CATALOG: OnceLock<Vec<(Vec<Column>, SchemaRef)>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        Table::ALL
            .iter()
            .map(|t| {
                let cols = definition(*t);
                let fields: Vec<Field> = cols.iter().map(|c| Field::new(c.name, c.ty.arrow(), true)).collect();
                (cols, Arc::new(Schema::new(fields)))
            })
            .collect()
    })
}

use KqlType::{Bool, DateTime, Int, Long, String as Str};

fn cols(list: &[(&'static str, KqlType)]) -> Vec<Column> {
    list.iter().map(|(name, ty)| Column { name, ty: *ty }).collect()
}

const HEAD: [(&str, KqlType); 4] =
    [("Timestamp", DateTime), ("DeviceId", Str), ("DeviceName", Str), ("ActionType", Str)];
const ACCOUNT5: [(&str, KqlType); 5] = [
    ("InitiatingProcessAccountDomain", Str),
    ("InitiatingProcessAccountName", Str),
    ("InitiatingProcessAccountSid", Str),
    ("InitiatingProcessAccountUpn", Str),
    ("InitiatingProcessAccountObjectId", Str),
];
const HASHES: [(&str, KqlType); 3] =
    [("InitiatingProcessSHA1", Str), ("InitiatingProcessSHA256", Str), ("InitiatingProcessMD5", Str)];
const VERSION6: [(&str, KqlType); 6] = [
    ("InitiatingProcessVersionInfoCompanyName", Str),
    ("InitiatingProcessVersionInfoProductName", Str),
    ("InitiatingProcessVersionInfoProductVersion", Str),
    ("InitiatingProcessVersionInfoInternalFileName", Str),
    ("InitiatingProcessVersionInfoOriginalFileName", Str),
    ("InitiatingProcessVersionInfoFileDescription", Str),
];
const PROC: [(&str, KqlType); 4] = [
    ("InitiatingProcessId", Long),
    ("InitiatingProcessCommandLine", Str),
    ("InitiatingProcessCreationTime", DateTime),
    ("InitiatingProcessFolderPath", Str),
];
const PARENT: [(&str, KqlType); 3] = [
    ("InitiatingProcessParentId", Long),
    ("InitiatingProcessParentFileName", Str),
    ("InitiatingProcessParentCreationTime", DateTime),
];
const ELEVATION: [(&str, KqlType); 2] =
    [("InitiatingProcessIntegrityLevel", Str), ("InitiatingProcessTokenElevation", Str)];
const FILE: [(&str, KqlType); 2] = [("InitiatingProcessFileName", Str), ("InitiatingProcessFileSize", Long)];
const REMOTE_SESSION: [(&str, KqlType); 4] = [
    ("InitiatingProcessSessionId", Long),
    ("IsInitiatingProcessRemoteSession", Bool),
    ("InitiatingProcessRemoteSessionDeviceName", Str),
    ("InitiatingProcessRemoteSessionIP", Str),
];

/// The initiating-process block in the order most tables use: accounts, elevation, hashes, file,
/// version info, process, parent.
fn ip_block() -> Vec<(&'static str, KqlType)> {
    [&ACCOUNT5[..], &ELEVATION, &HASHES, &FILE, &VERSION6, &PROC, &PARENT].concat()
}

fn definition(t: Table) -> Vec<Column> {
    let s = |n: &'static str| (n, Str);
    match t {
        Table::DeviceInfo => cols(&[
            ("Timestamp", DateTime),
            s("DeviceId"),
            s("DeviceName"),
            s("ClientVersion"),
            s("PublicIP"),
            s("OSArchitecture"),
            s("OSPlatform"),
            ("OSBuild", Long),
            ("IsAzureADJoined", Bool),
            s("JoinType"),
            s("AadDeviceId"),
            s("LoggedOnUsers"),
            s("RegistryDeviceTag"),
            s("OSVersion"),
            s("MachineGroup"),
            ("ReportId", Long),
            s("OnboardingStatus"),
            s("AdditionalFields"),
            s("DeviceCategory"),
            s("DeviceType"),
            s("DeviceSubtype"),
            s("Model"),
            s("Vendor"),
            s("OSDistribution"),
            s("OSVersionInfo"),
            s("MergedDeviceIds"),
            s("MergedToDeviceId"),
            ("IsInternetFacing", Bool),
            s("SensorHealthState"),
            ("IsExcluded", Bool),
            s("ExclusionReason"),
            s("ExposureLevel"),
            s("AssetValue"),
            s("DeviceManualTags"),
            s("DeviceDynamicTags"),
            s("ConnectivityType"),
            s("HostDeviceId"),
        ]),
        Table::DeviceNetworkInfo => cols(&[
            ("Timestamp", DateTime),
            s("DeviceId"),
            s("DeviceName"),
            s("NetworkAdapterName"),
            s("MacAddress"),
            s("NetworkAdapterType"),
            s("NetworkAdapterStatus"),
            s("TunnelType"),
            s("ConnectedNetworks"),
            s("DnsAddresses"),
            s("IPv4Dhcp"),
            s("IPv6Dhcp"),
            s("DefaultGateways"),
            s("IPAddresses"),
            ("ReportId", Long),
            s("NetworkAdapterVendor"),
        ]),
        Table::DeviceProcessEvents => {
            let mut c = HEAD.to_vec();
            c.extend([
                s("FileName"),
                s("FolderPath"),
                s("SHA1"),
                s("SHA256"),
                s("MD5"),
                ("FileSize", Long),
                s("ProcessVersionInfoCompanyName"),
                s("ProcessVersionInfoProductName"),
                s("ProcessVersionInfoProductVersion"),
                s("ProcessVersionInfoInternalFileName"),
                s("ProcessVersionInfoOriginalFileName"),
                s("ProcessVersionInfoFileDescription"),
                ("ProcessId", Long),
                s("ProcessCommandLine"),
                s("ProcessIntegrityLevel"),
                s("ProcessTokenElevation"),
                ("ProcessCreationTime", DateTime),
                s("AccountDomain"),
                s("AccountName"),
                s("AccountSid"),
                s("AccountUpn"),
                s("AccountObjectId"),
                ("LogonId", Long),
            ]);
            c.extend(ACCOUNT5);
            c.push(("InitiatingProcessLogonId", Long));
            c.extend(ELEVATION);
            c.extend(HASHES);
            c.extend(FILE);
            c.extend(VERSION6);
            c.extend(PROC);
            c.extend(PARENT);
            c.extend([
                s("InitiatingProcessSignerType"),
                s("InitiatingProcessSignatureStatus"),
                ("ReportId", Long),
                s("AppGuardContainerId"),
                s("AdditionalFields"),
            ]);
            cols(&c)
        }
        Table::DeviceNetworkEvents => {
            let mut c = HEAD.to_vec();
            c.extend([
                s("RemoteIP"),
                ("RemotePort", Int),
                s("RemoteUrl"),
                s("LocalIP"),
                ("LocalPort", Int),
                s("Protocol"),
                s("LocalIPType"),
                s("RemoteIPType"),
            ]);
            c.extend(ip_block());
            c.extend([("ReportId", Long), s("AppGuardContainerId"), s("AdditionalFields")]);
            c.extend(REMOTE_SESSION);
            cols(&c)
        }
        Table::DeviceFileEvents => {
            let mut c = HEAD.to_vec();
            c.extend([
                s("FileName"),
                s("FolderPath"),
                s("SHA1"),
                s("SHA256"),
                s("MD5"),
                s("FileOriginUrl"),
                s("FileOriginReferrerUrl"),
                s("FileOriginIP"),
                s("PreviousFolderPath"),
                s("PreviousFileName"),
                ("FileSize", Long),
            ]);
            c.extend(ip_block());
            c.extend([
                s("RequestProtocol"),
                s("RequestSourceIP"),
                ("RequestSourcePort", Int),
                s("RequestAccountName"),
                s("RequestAccountDomain"),
                s("RequestAccountSid"),
                s("ShareName"),
                s("SensitivityLabel"),
                s("SensitivitySubLabel"),
                ("IsAzureInfoProtectionApplied", Bool),
                ("ReportId", Long),
                s("AppGuardContainerId"),
                s("AdditionalFields"),
            ]);
            c.extend(REMOTE_SESSION);
            cols(&c)
        }
        Table::DeviceRegistryEvents => {
            let mut c = HEAD.to_vec();
            c.extend([
                s("RegistryKey"),
                s("RegistryValueType"),
                s("RegistryValueName"),
                s("RegistryValueData"),
                s("PreviousRegistryKey"),
                s("PreviousRegistryValueName"),
                s("PreviousRegistryValueData"),
            ]);
            c.extend(ip_block());
            c.extend([("ReportId", Long), s("AppGuardContainerId")]);
            c.extend(REMOTE_SESSION);
            cols(&c)
        }
        Table::DeviceLogonEvents => {
            let mut c = HEAD.to_vec();
            c.extend([
                s("LogonType"),
                s("AccountDomain"),
                s("AccountName"),
                s("AccountSid"),
                s("Protocol"),
                s("FailureReason"),
                ("IsLocalAdmin", Bool),
                ("LogonId", Long),
                s("RemoteDeviceName"),
                s("RemoteIP"),
                s("RemoteIPType"),
                ("RemotePort", Int),
            ]);
            c.extend(ip_block());
            c.extend([("ReportId", Long), s("AppGuardContainerId"), s("AdditionalFields")]);
            c.extend(REMOTE_SESSION);
            cols(&c)
        }
        Table::DeviceImageLoadEvents => {
            let mut c = HEAD.to_vec();
            c.extend([s("FileName"), s("FolderPath"), s("SHA1"), s("SHA256"), s("MD5"), ("FileSize", Long)]);
            c.extend(ip_block());
            c.extend([("ReportId", Long), s("AppGuardContainerId")]);
            cols(&c)
        }
        Table::DeviceEvents => {
            let mut c = HEAD.to_vec();
            c.extend([
                s("FileName"),
                s("FolderPath"),
                s("SHA1"),
                s("SHA256"),
                s("MD5"),
                ("FileSize", Long),
                s("AccountDomain"),
                s("AccountName"),
                s("AccountSid"),
                s("RemoteUrl"),
                s("RemoteDeviceName"),
                ("ProcessId", Long),
                s("ProcessCommandLine"),
                ("ProcessCreationTime", DateTime),
                s("ProcessTokenElevation"),
                ("LogonId", Long),
                s("RegistryKey"),
                s("RegistryValueName"),
                s("RegistryValueData"),
                s("RemoteIP"),
                ("RemotePort", Int),
                s("LocalIP"),
                ("LocalPort", Int),
                s("FileOriginUrl"),
                s("FileOriginIP"),
            ]);
            // DeviceEvents' initiating-process block has no integrity level or token elevation.
            c.extend(HASHES);
            c.extend(FILE);
            c.push(("InitiatingProcessFolderPath", Str));
            c.extend([
                ("InitiatingProcessId", Long),
                s("InitiatingProcessCommandLine"),
                ("InitiatingProcessCreationTime", DateTime),
            ]);
            c.extend(ACCOUNT5);
            c.extend(VERSION6);
            c.extend(PARENT);
            c.extend([
                ("InitiatingProcessLogonId", Long),
                ("ReportId", Long),
                s("AppGuardContainerId"),
                s("AdditionalFields"),
            ]);
            c.extend(REMOTE_SESSION);
            c.extend([
                ("CreatedProcessSessionId", Long),
                ("IsProcessRemoteSession", Bool),
                s("ProcessRemoteSessionDeviceName"),
                s("ProcessRemoteSessionIP"),
            ]);
            cols(&c)
        }
        // Not listed in §6.3; the columns of Microsoft's table reference.
        Table::DeviceFileCertificateInfo => cols(&[
            ("Timestamp", DateTime),
            s("DeviceId"),
            s("DeviceName"),
            s("SHA1"),
            ("IsSigned", Bool),
            s("SignatureType"),
            s("Signer"),
            s("SignerHash"),
            s("Issuer"),
            s("IssuerHash"),
            s("CertificateSerialNumber"),
            ("CrlDistributionPointUrls", Str),
            ("CertificateCreationTime", DateTime),
            ("CertificateExpirationTime", DateTime),
            ("CertificateCountersignatureTime", DateTime),
            ("IsTrusted", Bool),
            ("IsRootSignerMicrosoft", Bool),
            ("ReportId", Long),
        ]),
        Table::AlertInfo => cols(&[
            ("Timestamp", DateTime),
            s("AlertId"),
            s("Title"),
            s("Category"),
            s("Severity"),
            s("ServiceSource"),
            s("DetectionSource"),
            s("AttackTechniques"),
        ]),
        Table::AlertEvidence => cols(&[
            ("Timestamp", DateTime),
            s("AlertId"),
            s("Title"),
            s("Categories"),
            s("AttackTechniques"),
            s("ServiceSource"),
            s("DetectionSource"),
            s("EntityType"),
            s("EvidenceRole"),
            s("EvidenceDirection"),
            s("FileName"),
            s("FolderPath"),
            s("SHA1"),
            s("SHA256"),
            ("FileSize", Long),
            s("ThreatFamily"),
            s("RemoteIP"),
            s("RemoteUrl"),
            s("AccountName"),
            s("AccountDomain"),
            s("AccountSid"),
            s("AccountObjectId"),
            s("AccountUpn"),
            s("DeviceId"),
            s("DeviceName"),
            s("LocalIP"),
            s("NetworkMessageId"),
            s("EmailSubject"),
            s("Application"),
            ("ApplicationId", Int),
            s("OAuthApplicationId"),
            s("ProcessCommandLine"),
            s("RegistryKey"),
            s("RegistryValueName"),
            s("RegistryValueData"),
            s("AdditionalFields"),
            s("Severity"),
            s("CloudResource"),
            s("CloudPlatform"),
            s("ResourceType"),
            s("ResourceID"),
            s("SubscriptionId"),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_table_has_unique_columns_and_starts_with_timestamp() {
        for t in Table::ALL {
            let names: HashSet<_> = t.columns().iter().map(|c| c.name).collect();
            assert_eq!(names.len(), t.columns().len(), "{t}: duplicate column");
            assert_eq!(t.columns()[0].name, "Timestamp", "{t}");
            assert_eq!(t.arrow_schema().fields().len(), t.columns().len());
            assert_eq!(Table::from_name(t.name()), Some(t));
        }
    }

    #[test]
    fn column_lists_match_the_reference() {
        let count = |t: Table| t.columns().len();
        assert_eq!(count(Table::DeviceInfo), 37);
        assert_eq!(count(Table::AlertInfo), 8);
        assert_eq!(count(Table::AlertEvidence), 42);
        // The initiating-process block is 25 columns; DeviceEvents' lacks the 2 elevation ones.
        let ip = |t: Table| t.columns().iter().filter(|c| c.name.starts_with("InitiatingProcess")).count();
        assert_eq!(ip(Table::DeviceNetworkEvents), 25 + 3, "IP* plus the 3 remote-session columns named so");
        assert_eq!(ip(Table::DeviceImageLoadEvents), 25);
        assert_eq!(ip(Table::DeviceEvents), 23 + 1 + 3, "no elevation; LogonId; remote session");
        assert_eq!(ip(Table::DeviceProcessEvents), 25 + 1 + 2, "LogonId, signer type and status");
        assert!(Table::DeviceRegistryEvents.column("AdditionalFields").is_none());
        assert!(Table::DeviceImageLoadEvents.column("IsInitiatingProcessRemoteSession").is_none());
        assert_eq!(Table::DeviceNetworkEvents.column("RemotePort").unwrap().1.ty, KqlType::Int);
        assert!(!Table::AlertInfo.has_device_id() && Table::AlertEvidence.has_device_id());
    }
}
