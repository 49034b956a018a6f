//! The sensor's view of what happens on a device, as typed events. Benign activity and attack
//! storylines both produce [`Event`]s and [`Sink::push`] is the one place that turns them into
//! rows, so an alert built from a storyline's events and the hunting rows written for them cannot
//! disagree on a hash, a path or a process id.

use std::sync::{Arc, OnceLock};

use palisade_telemetry::Table;

use crate::rows::{Rows, indexes};

/// Nanoseconds since the Unix epoch, UTC (the stored datetime unit).
pub type Nanos = i64;

/// The device an event happened on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The Defender machine id (40 hex digits), as in `/api/machines`.
    pub id: Arc<str>,
    /// The fully qualified name, as `DeviceName` is in the hunting tables.
    pub name: Arc<str>,
}

/// A user account as events name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub domain: Arc<str>,
    pub name: Arc<str>,
    pub sid: Arc<str>,
    pub upn: Option<Arc<str>>,
    pub object_id: Option<Arc<str>>,
}

/// Version resource of a binary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub company: &'static str,
    pub product: &'static str,
    pub version: &'static str,
    pub internal_name: &'static str,
    pub original_name: &'static str,
    pub description: &'static str,
}

/// A file on disk: what every event says about an image, a dropped file or a loaded module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub file_name: Arc<str>,
    /// Full path including the file name, as `FolderPath` is in the hunting tables.
    pub folder_path: Arc<str>,
    pub sha1: Arc<str>,
    pub sha256: Arc<str>,
    pub md5: Arc<str>,
    pub size: i64,
    pub version: Option<Arc<VersionInfo>>,
    /// `InitiatingProcessSignerType`, e.g. `OsVendor`, `ThirdParty`, `None`.
    pub signer_type: Option<&'static str>,
    /// `InitiatingProcessSignatureStatus`, e.g. `Valid`, `Unsigned`.
    pub signature_status: Option<&'static str>,
}

/// The parent of a process, as far as events describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub pid: i64,
    pub file_name: Arc<str>,
    pub created: Nanos,
}

/// A running process: the subject of `ProcessCreated`, the initiator of everything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub image: Arc<Image>,
    pub pid: i64,
    pub command_line: Arc<str>,
    pub created: Nanos,
    pub account: Arc<Account>,
    pub logon_id: i64,
    /// `System`, `High`, `Medium`, `Low`.
    pub integrity: &'static str,
    /// `Default`, `Full`, `Limited`.
    pub elevation: &'static str,
    pub parent: Option<Parent>,
}

impl Process {
    /// What this process is, seen as the parent of a child it starts.
    pub fn as_parent(&self) -> Parent {
        Parent { pid: self.pid, file_name: self.image.file_name.clone(), created: self.created }
    }
}

/// One sensor event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: Nanos,
    pub host: Arc<Host>,
    /// Unique per device within a run (the service's `ReportId` is per device).
    pub report_id: i64,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `DeviceProcessEvents`, `ProcessCreated`.
    ProcessCreated { process: Process, initiator: Process },
    /// `DeviceNetworkEvents`.
    Network(Network),
    /// `DeviceFileEvents`.
    File(FileEvent),
    /// `DeviceRegistryEvents`.
    Registry(RegistryEvent),
    /// `DeviceLogonEvents`.
    Logon(Logon),
    /// `DeviceImageLoadEvents`, `ImageLoaded`.
    ImageLoaded { image: Arc<Image>, initiator: Process },
    /// `DeviceEvents`: everything else the sensor reports (AV detections, scans, LSASS access,
    /// PowerShell commands…).
    Other(OtherEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// `ConnectionSuccess`, `ConnectionFailed`, `ConnectionRequest`, `InboundConnectionAccepted`,
    /// `ListeningConnectionCreated`.
    pub action: &'static str,
    pub initiator: Process,
    pub remote_ip: Arc<str>,
    pub remote_port: i32,
    pub remote_url: Option<Arc<str>>,
    pub local_ip: Arc<str>,
    pub local_port: i32,
    /// `Tcp`, `Udp`.
    pub protocol: &'static str,
    /// `Private`, `Public`, `Loopback`…
    pub local_ip_type: &'static str,
    pub remote_ip_type: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileEvent {
    /// `FileCreated`, `FileModified`, `FileRenamed`, `FileDeleted`.
    pub action: &'static str,
    pub initiator: Process,
    pub file: Arc<Image>,
    /// Full path and name before a rename.
    pub previous_folder_path: Option<Arc<str>>,
    pub previous_file_name: Option<Arc<str>>,
    pub origin_url: Option<Arc<str>>,
    pub origin_referrer_url: Option<Arc<str>>,
    pub origin_ip: Option<Arc<str>>,
    /// For files written over SMB: `Smb`, the source IP, the share.
    pub request_protocol: Option<&'static str>,
    pub request_source_ip: Option<Arc<str>>,
    pub share_name: Option<Arc<str>>,
    pub additional_fields: Option<String>,
}

impl FileEvent {
    /// A local file event with no origin or SMB details.
    pub fn local(action: &'static str, initiator: Process, file: Arc<Image>) -> FileEvent {
        FileEvent {
            action,
            initiator,
            file,
            previous_folder_path: None,
            previous_file_name: None,
            origin_url: None,
            origin_referrer_url: None,
            origin_ip: None,
            request_protocol: None,
            request_source_ip: None,
            share_name: None,
            additional_fields: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegistryEvent {
    /// `RegistryValueSet`, `RegistryKeyCreated`, `RegistryValueDeleted`, `RegistryKeyDeleted`.
    pub action: &'static str,
    pub initiator: Process,
    pub key: Arc<str>,
    pub value_type: Option<&'static str>,
    pub value_name: Option<Arc<str>>,
    pub value_data: Option<Arc<str>>,
    pub previous_value_data: Option<Arc<str>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Logon {
    /// `LogonSuccess`, `LogonFailed`, `LogonAttempted`.
    pub action: &'static str,
    pub account: Arc<Account>,
    /// `Interactive`, `RemoteInteractive`, `Network`, `Batch`, `Service`, `Unlock`,
    /// `CachedInteractive`.
    pub logon_type: &'static str,
    /// `Kerberos`, `NTLM`, `Negotiate`.
    pub protocol: Option<&'static str>,
    pub failure_reason: Option<&'static str>,
    pub is_local_admin: bool,
    pub logon_id: i64,
    pub remote_device_name: Option<Arc<str>>,
    pub remote_ip: Option<Arc<str>>,
    pub remote_ip_type: Option<&'static str>,
    pub remote_port: Option<i32>,
    pub initiator: Option<Process>,
}

/// A `DeviceEvents` row: an action type and whichever of its columns apply.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OtherEvent {
    /// e.g. `AntivirusDetection`, `AntivirusScanCompleted`, `OpenProcessApiCall`,
    /// `PowerShellCommand`, `DnsQueryResponse`, `ScheduledTaskCreated`.
    pub action: &'static str,
    pub initiator: Option<Process>,
    pub file: Option<Arc<Image>>,
    pub account: Option<Arc<Account>>,
    pub remote_url: Option<Arc<str>>,
    pub remote_ip: Option<Arc<str>>,
    pub remote_port: Option<i32>,
    pub local_ip: Option<Arc<str>>,
    pub local_port: Option<i32>,
    pub remote_device_name: Option<Arc<str>>,
    pub process_id: Option<i64>,
    pub process_command_line: Option<Arc<str>>,
    pub process_created: Option<Nanos>,
    pub registry_key: Option<Arc<str>>,
    pub registry_value_name: Option<Arc<str>>,
    pub registry_value_data: Option<Arc<str>>,
    pub file_origin_url: Option<Arc<str>>,
    /// JSON text.
    pub additional_fields: Option<String>,
}

/// The table an event's row goes to.
pub fn table_of(kind: &Kind) -> Table {
    match kind {
        Kind::ProcessCreated { .. } => Table::DeviceProcessEvents,
        Kind::Network(_) => Table::DeviceNetworkEvents,
        Kind::File(_) => Table::DeviceFileEvents,
        Kind::Registry(_) => Table::DeviceRegistryEvents,
        Kind::Logon(_) => Table::DeviceLogonEvents,
        Kind::ImageLoaded { .. } => Table::DeviceImageLoadEvents,
        Kind::Other(_) => Table::DeviceEvents,
    }
}

/// Rows of every table being built, one [`Rows`] per table.
pub struct Sink {
    rows: Vec<Rows>,
}

impl Default for Sink {
    fn default() -> Self {
        Sink::new()
    }
}

impl Sink {
    pub fn new() -> Sink {
        Sink { rows: Table::ALL.iter().map(|t| Rows::new(*t)).collect() }
    }

    /// The builder of one table, for rows that are not device events (`DeviceInfo`,
    /// `DeviceNetworkInfo`, `DeviceFileCertificateInfo`, `AlertInfo`, `AlertEvidence`).
    pub fn rows(&mut self, table: Table) -> &mut Rows {
        &mut self.rows[table as usize]
    }

    /// Rows completed so far, all tables together.
    pub fn len(&self) -> usize {
        self.rows.iter().map(Rows::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The non-empty tables' batches; the sink starts over empty.
    pub fn finish(&mut self) -> Vec<(Table, arrow::record_batch::RecordBatch)> {
        self.rows.iter_mut().filter(|r| !r.is_empty()).map(|r| (r.table(), r.finish())).collect()
    }

    /// Writes one event as one row of its table.
    pub fn push(&mut self, e: &Event) {
        let table = table_of(&e.kind);
        let rows = &mut self.rows[table as usize];
        let head = Head::of(table);
        rows.time(head.timestamp, e.at);
        rows.str(head.device_id, &e.host.id);
        rows.str(head.device_name, &e.host.name);
        rows.long(head.report_id, e.report_id);
        match &e.kind {
            Kind::ProcessCreated { process, initiator } => {
                rows.str(head.action_type, "ProcessCreated");
                let [lid, signer, status] = *cached(table, &PROC_EXTRA, || {
                    indexes(
                        table,
                        ["InitiatingProcessLogonId", "InitiatingProcessSignerType", "InitiatingProcessSignatureStatus"],
                    )
                });
                let c = ProcessCols::get();
                subject(rows, c, process);
                initiating(rows, table, initiator);
                rows.long(lid, initiator.logon_id);
                rows.opt_str(signer, initiator.image.signer_type);
                rows.opt_str(status, initiator.image.signature_status);
            }
            Kind::Network(n) => {
                rows.str(head.action_type, n.action);
                let [rip, rport, rurl, lip, lport, proto, ltype, rtype] = *cached(table, &NET, || {
                    indexes(
                        table,
                        [
                            "RemoteIP",
                            "RemotePort",
                            "RemoteUrl",
                            "LocalIP",
                            "LocalPort",
                            "Protocol",
                            "LocalIPType",
                            "RemoteIPType",
                        ],
                    )
                });
                rows.str(rip, &n.remote_ip);
                rows.int(rport, n.remote_port);
                rows.opt_str(rurl, n.remote_url.as_deref());
                rows.str(lip, &n.local_ip);
                rows.int(lport, n.local_port);
                rows.str(proto, n.protocol);
                rows.str(ltype, n.local_ip_type);
                rows.str(rtype, n.remote_ip_type);
                initiating(rows, table, &n.initiator);
            }
            Kind::File(f) => {
                rows.str(head.action_type, f.action);
                let c = *cached(table, &FILE_COLS, || {
                    indexes(
                        table,
                        [
                            "FileName",
                            "FolderPath",
                            "SHA1",
                            "SHA256",
                            "MD5",
                            "FileSize",
                            "FileOriginUrl",
                            "FileOriginReferrerUrl",
                            "FileOriginIP",
                            "PreviousFolderPath",
                            "PreviousFileName",
                            "RequestProtocol",
                            "RequestSourceIP",
                            "ShareName",
                            "AdditionalFields",
                        ],
                    )
                });
                file_cols(rows, [c[0], c[1], c[2], c[3], c[4], c[5]], &f.file);
                rows.opt_str(c[6], f.origin_url.as_deref());
                rows.opt_str(c[7], f.origin_referrer_url.as_deref());
                rows.opt_str(c[8], f.origin_ip.as_deref());
                rows.opt_str(c[9], f.previous_folder_path.as_deref());
                rows.opt_str(c[10], f.previous_file_name.as_deref());
                rows.opt_str(c[11], f.request_protocol);
                rows.opt_str(c[12], f.request_source_ip.as_deref());
                rows.opt_str(c[13], f.share_name.as_deref());
                rows.opt_str(c[14], f.additional_fields.as_deref());
                initiating(rows, table, &f.initiator);
            }
            Kind::Registry(r) => {
                rows.str(head.action_type, r.action);
                let [key, ty, name, data, prev] = *cached(table, &REG, || {
                    indexes(
                        table,
                        [
                            "RegistryKey",
                            "RegistryValueType",
                            "RegistryValueName",
                            "RegistryValueData",
                            "PreviousRegistryValueData",
                        ],
                    )
                });
                rows.str(key, &r.key);
                rows.opt_str(ty, r.value_type);
                rows.opt_str(name, r.value_name.as_deref());
                rows.opt_str(data, r.value_data.as_deref());
                rows.opt_str(prev, r.previous_value_data.as_deref());
                initiating(rows, table, &r.initiator);
            }
            Kind::Logon(l) => {
                rows.str(head.action_type, l.action);
                let c = *cached(table, &LOGON, || {
                    indexes(
                        table,
                        [
                            "LogonType",
                            "AccountDomain",
                            "AccountName",
                            "AccountSid",
                            "Protocol",
                            "FailureReason",
                            "IsLocalAdmin",
                            "LogonId",
                            "RemoteDeviceName",
                            "RemoteIP",
                            "RemoteIPType",
                            "RemotePort",
                        ],
                    )
                });
                rows.str(c[0], l.logon_type);
                rows.str(c[1], &l.account.domain);
                rows.str(c[2], &l.account.name);
                rows.str(c[3], &l.account.sid);
                rows.opt_str(c[4], l.protocol);
                rows.opt_str(c[5], l.failure_reason);
                rows.bool(c[6], l.is_local_admin);
                rows.long(c[7], l.logon_id);
                rows.opt_str(c[8], l.remote_device_name.as_deref());
                rows.opt_str(c[9], l.remote_ip.as_deref());
                rows.opt_str(c[10], l.remote_ip_type);
                if let Some(p) = l.remote_port {
                    rows.int(c[11], p);
                }
                if let Some(p) = &l.initiator {
                    initiating(rows, table, p);
                }
            }
            Kind::ImageLoaded { image, initiator } => {
                rows.str(head.action_type, "ImageLoaded");
                let c = *cached(table, &IMAGE, || {
                    indexes(table, ["FileName", "FolderPath", "SHA1", "SHA256", "MD5", "FileSize"])
                });
                file_cols(rows, c, image);
                initiating(rows, table, initiator);
            }
            Kind::Other(o) => {
                rows.str(head.action_type, o.action);
                other(rows, o);
            }
        }
        rows.end_row();
    }
}

/// Column indexes common to the device event tables.
struct Head {
    timestamp: usize,
    device_id: usize,
    device_name: usize,
    action_type: usize,
    report_id: usize,
}

impl Head {
    fn of(table: Table) -> &'static Head {
        static HEADS: [OnceLock<Head>; 12] = [const { OnceLock::new() }; 12];
        HEADS[table as usize].get_or_init(|| {
            let [timestamp, device_id, device_name, action_type, report_id] =
                indexes(table, ["Timestamp", "DeviceId", "DeviceName", "ActionType", "ReportId"]);
            Head { timestamp, device_id, device_name, action_type, report_id }
        })
    }
}

type PerTable<const N: usize> = [OnceLock<[usize; N]>; 12];

fn cached<const N: usize>(
    table: Table,
    cells: &'static PerTable<N>,
    f: impl FnOnce() -> [usize; N],
) -> &'static [usize; N] {
    cells[table as usize].get_or_init(f)
}

static PROC_EXTRA: PerTable<3> = [const { OnceLock::new() }; 12];
static NET: PerTable<8> = [const { OnceLock::new() }; 12];
static FILE_COLS: PerTable<15> = [const { OnceLock::new() }; 12];
static REG: PerTable<5> = [const { OnceLock::new() }; 12];
static LOGON: PerTable<12> = [const { OnceLock::new() }; 12];
static IMAGE: PerTable<6> = [const { OnceLock::new() }; 12];
static INITIATING: PerTable<25> = [const { OnceLock::new() }; 12];
static OTHER: PerTable<24> = [const { OnceLock::new() }; 12];

/// Sentinel for "this table has no such column" in the initiating-process block.
const NONE: usize = usize::MAX;

fn file_cols(rows: &mut Rows, c: [usize; 6], f: &Image) {
    rows.str(c[0], &f.file_name);
    rows.str(c[1], &f.folder_path);
    rows.str(c[2], &f.sha1);
    rows.str(c[3], &f.sha256);
    rows.str(c[4], &f.md5);
    rows.long(c[5], f.size);
}

/// The `InitiatingProcess*` block; tables lacking a column of it (DeviceEvents has no
/// integrity level or elevation) skip it.
fn initiating(rows: &mut Rows, table: Table, p: &Process) {
    let c = cached(table, &INITIATING, || {
        [
            "InitiatingProcessAccountDomain",
            "InitiatingProcessAccountName",
            "InitiatingProcessAccountSid",
            "InitiatingProcessAccountUpn",
            "InitiatingProcessAccountObjectId",
            "InitiatingProcessIntegrityLevel",
            "InitiatingProcessTokenElevation",
            "InitiatingProcessSHA1",
            "InitiatingProcessSHA256",
            "InitiatingProcessMD5",
            "InitiatingProcessFileName",
            "InitiatingProcessFileSize",
            "InitiatingProcessVersionInfoCompanyName",
            "InitiatingProcessVersionInfoProductName",
            "InitiatingProcessVersionInfoProductVersion",
            "InitiatingProcessVersionInfoInternalFileName",
            "InitiatingProcessVersionInfoOriginalFileName",
            "InitiatingProcessVersionInfoFileDescription",
            "InitiatingProcessId",
            "InitiatingProcessCommandLine",
            "InitiatingProcessCreationTime",
            "InitiatingProcessFolderPath",
            "InitiatingProcessParentId",
            "InitiatingProcessParentFileName",
            "InitiatingProcessParentCreationTime",
        ]
        .map(|n| table.column(n).map_or(NONE, |(i, _)| i))
    });
    let a = &p.account;
    rows.str(c[0], &a.domain);
    rows.str(c[1], &a.name);
    rows.str(c[2], &a.sid);
    rows.opt_str(c[3], a.upn.as_deref());
    rows.opt_str(c[4], a.object_id.as_deref());
    if c[5] != NONE {
        rows.str(c[5], p.integrity);
        rows.str(c[6], p.elevation);
    }
    let i = &p.image;
    rows.str(c[7], &i.sha1);
    rows.str(c[8], &i.sha256);
    rows.str(c[9], &i.md5);
    rows.str(c[10], &i.file_name);
    rows.long(c[11], i.size);
    if let Some(v) = &i.version {
        version(rows, [c[12], c[13], c[14], c[15], c[16], c[17]], v);
    }
    rows.long(c[18], p.pid);
    rows.str(c[19], &p.command_line);
    rows.time(c[20], p.created);
    rows.str(c[21], &i.folder_path);
    if let Some(parent) = &p.parent {
        rows.long(c[22], parent.pid);
        rows.str(c[23], &parent.file_name);
        rows.time(c[24], parent.created);
    }
}

fn version(rows: &mut Rows, c: [usize; 6], v: &VersionInfo) {
    rows.str(c[0], v.company);
    rows.str(c[1], v.product);
    rows.str(c[2], v.version);
    rows.str(c[3], v.internal_name);
    rows.str(c[4], v.original_name);
    rows.str(c[5], v.description);
}

/// The created process's own columns in `DeviceProcessEvents`.
struct ProcessCols {
    file: [usize; 6],
    version: [usize; 6],
    pid: usize,
    command_line: usize,
    integrity: usize,
    elevation: usize,
    created: usize,
    account: [usize; 5],
    logon_id: usize,
}

impl ProcessCols {
    fn get() -> &'static ProcessCols {
        static C: OnceLock<ProcessCols> = OnceLock::new();
        C.get_or_init(|| {
            let t = Table::DeviceProcessEvents;
            ProcessCols {
                file: indexes(t, ["FileName", "FolderPath", "SHA1", "SHA256", "MD5", "FileSize"]),
                version: indexes(
                    t,
                    [
                        "ProcessVersionInfoCompanyName",
                        "ProcessVersionInfoProductName",
                        "ProcessVersionInfoProductVersion",
                        "ProcessVersionInfoInternalFileName",
                        "ProcessVersionInfoOriginalFileName",
                        "ProcessVersionInfoFileDescription",
                    ],
                ),
                pid: indexes(t, ["ProcessId"])[0],
                command_line: indexes(t, ["ProcessCommandLine"])[0],
                integrity: indexes(t, ["ProcessIntegrityLevel"])[0],
                elevation: indexes(t, ["ProcessTokenElevation"])[0],
                created: indexes(t, ["ProcessCreationTime"])[0],
                account: indexes(t, ["AccountDomain", "AccountName", "AccountSid", "AccountUpn", "AccountObjectId"]),
                logon_id: indexes(t, ["LogonId"])[0],
            }
        })
    }
}

fn subject(rows: &mut Rows, c: &ProcessCols, p: &Process) {
    file_cols(rows, c.file, &p.image);
    if let Some(v) = &p.image.version {
        version(rows, c.version, v);
    }
    rows.long(c.pid, p.pid);
    rows.str(c.command_line, &p.command_line);
    rows.str(c.integrity, p.integrity);
    rows.str(c.elevation, p.elevation);
    rows.time(c.created, p.created);
    let a = &p.account;
    rows.str(c.account[0], &a.domain);
    rows.str(c.account[1], &a.name);
    rows.str(c.account[2], &a.sid);
    rows.opt_str(c.account[3], a.upn.as_deref());
    rows.opt_str(c.account[4], a.object_id.as_deref());
    rows.long(c.logon_id, p.logon_id);
}

fn other(rows: &mut Rows, o: &OtherEvent) {
    let table = Table::DeviceEvents;
    let c = cached(table, &OTHER, || {
        indexes(
            table,
            [
                "FileName",
                "FolderPath",
                "SHA1",
                "SHA256",
                "MD5",
                "FileSize",
                "AccountDomain",
                "AccountName",
                "AccountSid",
                "RemoteUrl",
                "RemoteDeviceName",
                "ProcessId",
                "ProcessCommandLine",
                "ProcessCreationTime",
                "RegistryKey",
                "RegistryValueName",
                "RegistryValueData",
                "RemoteIP",
                "RemotePort",
                "LocalIP",
                "LocalPort",
                "FileOriginUrl",
                "AdditionalFields",
                "InitiatingProcessLogonId",
            ],
        )
    });
    if let Some(f) = &o.file {
        file_cols(rows, [c[0], c[1], c[2], c[3], c[4], c[5]], f);
    }
    if let Some(a) = &o.account {
        rows.str(c[6], &a.domain);
        rows.str(c[7], &a.name);
        rows.str(c[8], &a.sid);
    }
    rows.opt_str(c[9], o.remote_url.as_deref());
    rows.opt_str(c[10], o.remote_device_name.as_deref());
    if let Some(v) = o.process_id {
        rows.long(c[11], v);
    }
    rows.opt_str(c[12], o.process_command_line.as_deref());
    if let Some(v) = o.process_created {
        rows.time(c[13], v);
    }
    rows.opt_str(c[14], o.registry_key.as_deref());
    rows.opt_str(c[15], o.registry_value_name.as_deref());
    rows.opt_str(c[16], o.registry_value_data.as_deref());
    rows.opt_str(c[17], o.remote_ip.as_deref());
    if let Some(v) = o.remote_port {
        rows.int(c[18], v);
    }
    rows.opt_str(c[19], o.local_ip.as_deref());
    if let Some(v) = o.local_port {
        rows.int(c[20], v);
    }
    rows.opt_str(c[21], o.file_origin_url.as_deref());
    rows.opt_str(c[22], o.additional_fields.as_deref());
    if let Some(p) = &o.initiator {
        rows.long(c[23], p.logon_id);
        initiating(rows, table, p);
    }
}
