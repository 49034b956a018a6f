//! Benign activity: what every device's sensor reports on an ordinary day, and the daily
//! `DeviceInfo` / `DeviceNetworkInfo` snapshots.
//!
//! **Model.** A device runs *boot processes* (services, the Defender sensor, server roles) that
//! live from a weekly reboot (Windows) or monthly one (macOS, Linux) at 03:xx local time;
//! clients have a *session* per working day (logon, shell, browser, mail, Office…), servers an
//! occasional admin session (RDP or SSH). Every event names a process alive at that instant, so a
//! child's `InitiatingProcess*` is always the parent's process and every `ProcessCreated` row
//! carries the real parent. Activity follows the device's local time: work hours are busy on
//! clients, servers are flatter.
//!
//! **Granularity.** [`device_hour`] generates one device-hour from nothing but the plan, the
//! device and the hour: boot processes and sessions are pure functions of `(device, epoch)` and
//! `(device, local date)`, so live mode (hour by hour, possibly isolated) and [`day`] (24 hours
//! per device) produce identical rows for the same hour.
//!
//! **Cost.** Hundreds of thousands of events per second are the target, so strings are shared:
//! images come from [`catalog`] as `Arc`s, static command lines and keys are interned per thread,
//! and per-event allocation is limited to what really varies (file paths and hashes of written
//! files, JSON of `DeviceEvents`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use palisade_telemetry::Table;

pub use crate::catalog::is_service_destination;
use crate::catalog::{self, Bin, Dest, DestSet, Rng};
use crate::event::{Account, Event, FileEvent, Image, Kind, Logon, Network, OtherEvent, Process, RegistryEvent};
use crate::fleet::{Endpoint, Infra, OsFamily, SimDevice};
use crate::rows::indexes;
use crate::{Nanos, Plan, Sink};

pub const SEC: Nanos = 1_000_000_000;
pub const MINUTE: Nanos = 60 * SEC;
pub const HOUR: Nanos = 60 * MINUTE;
pub const DAY: Nanos = 24 * HOUR;
const MS: Nanos = 1_000_000;

/// `ReportId` lanes: within a device-hour, benign events, snapshots and storylines number their
/// rows independently and can never collide.
pub const LANE_BENIGN: u32 = 0;
pub const LANE_SNAPSHOT: u32 = 1;
pub const LANE_STORY: u32 = 2;

/// A device's `ReportId` for the `n`-th row of `lane` in the hour starting at `hour_start`:
/// unique per device as long as `n` stays below 2^20 per lane and hour.
pub fn report_id(hour_start: Nanos, lane: u32, n: u32) -> i64 {
    (hour_start.div_euclid(HOUR) << 22) | (i64::from(lane & 3) << 20) | i64::from(n & 0xF_FFFF)
}

/// Writes one simulated day of benign activity and snapshots for every device.
pub fn day(plan: &Plan, d: u32, sink: &mut Sink) {
    devices_day(plan, d, 0..plan.fleet.devices.len(), sink);
}

/// [`day`] for a slice of the fleet (drivers split large days into device ranges).
pub fn devices_day(plan: &Plan, d: u32, devices: Range<usize>, sink: &mut Sink) {
    let g = Gen::new(plan);
    let start = crate::nanos(plan.opts.day_start(d));
    for device in &plan.fleet.devices[devices] {
        let dev = Dev::new(&g, device);
        for h in 0..24 {
            hour(&g, &dev, start + h * HOUR, false, sink);
        }
    }
}

/// One device-hour of benign activity for live mode. `hour_start_ns` is snapped down to the
/// run's hour grid (hours counted from [`crate::SimOptions::start`]). An isolated device makes
/// no network connection, inbound or outbound, except to the Defender service's own hosts.
pub fn device_hour(plan: &Plan, device: &SimDevice, hour_start_ns: Nanos, isolated: bool, sink: &mut Sink) {
    let g = Gen::new(plan);
    let snapped = g.start + (hour_start_ns - g.start).div_euclid(HOUR) * HOUR;
    hour(&g, &Dev::new(&g, device), snapped, isolated, sink);
}

// ---------------------------------------------------------------------------------------------
// Run-wide and device-wide constants

struct Gen<'a> {
    base: u64,
    start: Nanos,
    rate: f64,
    infra: &'a Infra,
    fleet: &'a [SimDevice],
    /// `OneDrive - Contoso`: the synced folder under each profile.
    onedrive: String,
}

impl<'a> Gen<'a> {
    fn new(plan: &'a Plan) -> Gen<'a> {
        let (hi, lo) = plan.tenant.as_u64_pair();
        let org = plan.opts.tenant_domain.split('.').next().unwrap_or("contoso");
        let mut chars = org.chars();
        let org: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
        Gen {
            base: catalog::mix64(plan.opts.seed ^ catalog::mix64(hi ^ catalog::mix64(lo))),
            start: crate::nanos(plan.opts.start),
            rate: f64::from(plan.opts.events_per_device_hour),
            infra: &plan.fleet.infra,
            fleet: &plan.fleet.devices,
            onedrive: format!("OneDrive - {org}"),
        }
    }
}

struct Dev<'a> {
    d: &'a SimDevice,
    win: bool,
    tz: Nanos,
    /// Events only in `[first, last)`.
    first: Nanos,
    last: Nanos,
    /// NoSensorData devices send snapshots but no events.
    sensing: bool,
    /// The interactive user (clients, Macs).
    user: Option<Arc<Account>>,
    /// A domain admin who manages the server.
    admin: Option<Arc<Account>>,
    /// The role's service account.
    service: Option<Arc<Account>>,
    /// `root` on macOS and Linux.
    root: Arc<Account>,
    /// `/home/deploy`-style default login of Linux servers.
    login: Option<Arc<Account>>,
    dc: Endpoint,
    fs: Endpoint,
    period: Nanos,
    phase: Nanos,
    /// Profile directory of the interactive user.
    profile: String,
    /// The 8-character Outlook attachment cache folder.
    outlook_cache: String,
}

impl<'a> Dev<'a> {
    fn new(g: &Gen, d: &'a SimDevice) -> Dev<'a> {
        let m = &d.record.machine;
        let win = matches!(d.family, OsFamily::WindowsClient | OsFamily::WindowsServer);
        let mut r = Rng::new(catalog::seed(g.base, "device", d.index as u64, 0), 0);
        let down = m.health_status == "Inactive" || d.record.state.offline;
        let first = crate::nanos(m.first_seen);
        let last = if down { crate::nanos(m.last_seen) } else { Nanos::MAX };
        let user = match d.family {
            OsFamily::WindowsClient | OsFamily::MacOs => d.users.first().cloned(),
            _ => None,
        };
        let admin = d.users.iter().find(|u| u.name.starts_with("adm-")).cloned();
        let service = d.users.iter().find(|u| u.name.starts_with("svc-")).cloned();
        let login = d.users.iter().find(|u| &*u.name != "root").cloned().filter(|_| d.family == OsFamily::Linux);
        let root = Arc::new(Account {
            domain: d.short_name.clone(),
            name: "root".into(),
            sid: "".into(),
            upn: None,
            object_id: None,
        });
        let dc = Infra::near(&g.infra.domain_controllers, d.site, d.index).cloned().unwrap_or_else(|| stand_in(d));
        let fs = Infra::near(&g.infra.file_servers, d.site, d.index).cloned().unwrap_or_else(|| stand_in(d));
        let period = if win { 7 * DAY } else { 30 * DAY };
        let phase = r.between(0, period / DAY) * DAY + 3 * HOUR + r.between(0, 50) * MINUTE + r.between(0, 60) * SEC;
        let name = user.as_ref().map_or("admin", |u| &u.name).to_string();
        let profile = match d.family {
            OsFamily::MacOs => format!("/Users/{name}"),
            OsFamily::Linux => "/root".to_string(),
            _ => format!(r"C:\Users\{name}"),
        };
        let mut outlook_cache = String::with_capacity(8);
        for _ in 0..8 {
            outlook_cache.push(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[r.idx(36)] as char);
        }
        Dev {
            d,
            win,
            tz: i64::from(d.tz_hours) * HOUR,
            first,
            last,
            sensing: !m.health_status.starts_with("NoSensorData"),
            user,
            admin,
            service,
            root,
            login,
            dc,
            fs,
            period,
            phase,
            profile,
            outlook_cache,
        }
    }

    /// The boot epoch that `t` falls in.
    fn epoch(&self, t: Nanos) -> i64 {
        (t + self.tz - self.phase).div_euclid(self.period)
    }

    fn boot_time(&self, epoch: i64) -> Nanos {
        epoch * self.period + self.phase - self.tz
    }

    fn local_date(&self, t: Nanos) -> i64 {
        (t + self.tz).div_euclid(DAY)
    }
}

fn stand_in(d: &SimDevice) -> Endpoint {
    Endpoint { name: d.host.name.clone(), ip: d.ip.clone(), site: d.site, device: Some(d.index) }
}

// ---------------------------------------------------------------------------------------------
// Interned strings and well-known accounts

/// A static string as a shared `Arc<str>`, allocated once per thread: command lines, keys and
/// names repeat millions of times.
fn arc(s: &'static str) -> Arc<str> {
    thread_local! {
        static CACHE: RefCell<HashMap<(usize, usize), Arc<str>, AddressHash>> = RefCell::new(HashMap::default());
    }
    CACHE.with(|c| c.borrow_mut().entry((s.as_ptr() as usize, s.len())).or_insert_with(|| Arc::from(s)).clone())
}

fn well_known(i: usize) -> Arc<Account> {
    static ACCOUNTS: OnceLock<Vec<Arc<Account>>> = OnceLock::new();
    ACCOUNTS.get_or_init(|| {
        let a = |domain: &str, name: &str, sid: &str| {
            Arc::new(Account { domain: domain.into(), name: name.into(), sid: sid.into(), upn: None, object_id: None })
        };
        vec![
            a("nt authority", "system", "S-1-5-18"),
            a("nt authority", "local service", "S-1-5-19"),
            a("nt authority", "network service", "S-1-5-20"),
            a("iis apppool", "DefaultAppPool", "S-1-5-82-3006700770-424185619-1745488364-794895919-4004696415"),
            a("nt service", "MSSQLSERVER", "S-1-5-80-3880718306-3832830129-1677859214-2598158968-1052248003"),
        ]
    })[i]
        .clone()
}

/// Keys of [`arc`]'s cache are addresses: a multiply-mix is enough and far cheaper than SipHash.
#[derive(Default, Clone, Copy)]
struct AddressHash;

impl std::hash::BuildHasher for AddressHash {
    type Hasher = AddressHasher;
    fn build_hasher(&self) -> AddressHasher {
        AddressHasher(0)
    }
}

struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        catalog::mix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = self.0.rotate_left(29) ^ n as u64;
    }
}

const SYSTEM: usize = 0;
const LOCAL_SERVICE: usize = 1;
const NETWORK_SERVICE: usize = 2;
const APP_POOL: usize = 3;
const SQL_SERVICE: usize = 4;

const ELEV_DEFAULT: &str = "TokenElevationTypeDefault";
const ELEV_FULL: &str = "TokenElevationTypeFull";

// ---------------------------------------------------------------------------------------------
// Processes

/// What a process does, which decides the events it initiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Started before anything the sensor reports (never has a `ProcessCreated` row).
    Root,
    Services,
    Logon,
    Lsass,
    SvcDcom,
    SvcSchedule,
    SvcDns,
    SvcUpdate,
    SvcTelemetry,
    SvcSysMain,
    SvcTerm,
    SvcIis,
    SvcOther,
    Defender,
    Sensor,
    Shell,
    Browser,
    BrowserChild,
    Mail,
    Chat,
    ChatChild,
    Sync,
    Office,
    Editor,
    Updater,
    Task,
    Wmi,
    /// Unattended scripts (scheduled PowerShell, cron jobs).
    Script,
    /// An administrator's interactive shell.
    AdminShell,
    Console,
    Tool,
    Sql,
    SqlAgent,
    Web,
    Db,
    App,
    Docker,
    SshDaemon,
    SshSession,
    Cron,
    Syslog,
    Resolver,
    Spotlight,
    MacSvc,
    Rdp,
}

const ROLES: usize = Role::Rdp as usize + 1;
const BINS: usize = Bin::ALL.len();

/// Indexes into [`TEMPLATES`] of one OS family.
fn templates_of(family: OsFamily) -> &'static [usize] {
    static BY_FAMILY: OnceLock<[Vec<usize>; 4]> = OnceLock::new();
    let all = BY_FAMILY.get_or_init(|| {
        [OsFamily::WindowsClient, OsFamily::WindowsServer, OsFamily::MacOs, OsFamily::Linux]
            .map(|f| (0..TEMPLATES.len()).filter(|i| TEMPLATES[*i].family.matches(f)).collect())
    });
    &all[family as usize]
}

/// A process alive during the hour being generated.
#[derive(Clone)]
struct Live {
    p: Process,
    bin: Bin,
    role: Role,
    until: Nanos,
    /// Modules loaded so far (index into [`modules`]).
    loads: u8,
    listen: &'static [i32],
}

impl Live {
    fn alive(&self, t: Nanos) -> bool {
        self.p.created <= t && t < self.until
    }
}

/// Account, logon id, integrity level and token elevation of a new process.
#[derive(Clone)]
struct Token {
    account: Arc<Account>,
    logon_id: i64,
    integrity: &'static str,
    elevation: &'static str,
}

impl Token {
    fn builtin(i: usize) -> Token {
        let logon_id = match i {
            LOCAL_SERVICE => 997,
            NETWORK_SERVICE => 996,
            _ => 999,
        };
        Token { account: well_known(i), logon_id, integrity: "System", elevation: ELEV_DEFAULT }
    }

    fn unix(account: &Arc<Account>, logon_id: i64) -> Token {
        Token { account: account.clone(), logon_id, integrity: "", elevation: "" }
    }

    fn of(p: &Process) -> Token {
        Token { account: p.account.clone(), logon_id: p.logon_id, integrity: p.integrity, elevation: p.elevation }
    }
}

fn pid(rng: &mut Rng, win: bool) -> i64 {
    if win { 4 * rng.between(120, 12_000) } else { rng.between(400, 65_000) }
}

#[allow(clippy::too_many_arguments)]
fn spawn(
    rng: &mut Rng,
    dev: &Dev,
    bin: Bin,
    role: Role,
    cmd: Arc<str>,
    at: Nanos,
    token: Token,
    parent: Option<&Process>,
    until: Nanos,
) -> Live {
    Live {
        p: Process {
            image: bin.image(dev.d.variant).clone(),
            pid: pid(rng, dev.win),
            command_line: cmd,
            created: at,
            account: token.account,
            logon_id: token.logon_id,
            integrity: token.integrity,
            elevation: token.elevation,
            parent: parent.map(Process::as_parent),
        },
        bin,
        role,
        until,
        loads: 0,
        listen: &[],
    }
}

/// Modules a process loads, in order, after the three every process maps.
fn modules(bin: Bin) -> &'static [Bin] {
    use Bin::*;
    match bin {
        PowerShell => &[Ntdll, Kernel32, KernelBase, Advapi32, Mscoree, Clr, Amsi, Sma, Ws2_32, Crypt32],
        Chrome => &[Ntdll, Kernel32, KernelBase, ChromeDll, User32, Ws2_32, Crypt32, MpOav],
        Msedge => &[Ntdll, Kernel32, KernelBase, MsedgeDll, User32, Ws2_32, Crypt32, MpOav],
        Winword | Excel | Outlook => {
            &[Ntdll, Kernel32, KernelBase, Mso, User32, Advapi32, Wininet, Vcruntime, Amsi, MpOav]
        }
        Teams | MsedgeWebview2 => &[Ntdll, Kernel32, KernelBase, User32, Ws2_32, Vcruntime, Crypt32],
        Svchost => &[Ntdll, Kernel32, KernelBase, Advapi32, Ws2_32, Bcrypt],
        Taskhostw | BackgroundTaskHost | RuntimeBroker | Dllhost => &[Ntdll, Kernel32, KernelBase, Taskschd, Advapi32],
        WmiPrvSE => &[Ntdll, Kernel32, KernelBase, Wbemcomn, Advapi32, Ws2_32],
        Wuauclt | MoUsoCoreWorker | TiWorker | Usoclient | TrustedInstaller => {
            &[Ntdll, Kernel32, KernelBase, Winhttp, Crypt32, Bcrypt]
        }
        Sqlservr | SqlAgent => &[Ntdll, Kernel32, KernelBase, Sqllang, Ws2_32, Bcrypt, Vcruntime],
        W3wp => &[Ntdll, Kernel32, KernelBase, Mscoree, Clr, Ws2_32],
        OneDrive | OneDriveUpdater => &[Ntdll, Kernel32, KernelBase, Wininet, Crypt32, User32, Vcruntime],
        Explorer => &[Ntdll, Kernel32, KernelBase, User32, Advapi32],
        MsMpEng | MpCmdRun | MsSense => &[Ntdll, Kernel32, KernelBase, Bcrypt, Crypt32, Winhttp],
        Conhost | Notepad | Mmc | ServerManager => &[Ntdll, Kernel32, KernelBase, User32],
        _ => &[Ntdll, Kernel32, KernelBase],
    }
}

// ---------------------------------------------------------------------------------------------
// Boot processes

const SVCHOST_DCOM: &str = r"C:\Windows\system32\svchost.exe -k DcomLaunch -p";
const SVCHOST_SCHEDULE: &str = r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule";
const SVCHOST_DNS: &str = r"C:\Windows\system32\svchost.exe -k NetworkService -p -s Dnscache";
const SVCHOST_WU: &str = r"C:\Windows\system32\svchost.exe -k netsvcs -p -s wuauserv";
const SVCHOST_UTC: &str = r"C:\Windows\System32\svchost.exe -k utcsvc -p";
const SVCHOST_SYSMAIN: &str = r"C:\Windows\system32\svchost.exe -k LocalSystemNetworkRestricted -p -s SysMain";
const SVCHOST_TERM: &str = r"C:\Windows\System32\svchost.exe -k termsvcs -s TermService";
const SVCHOST_IIS: &str = r"C:\Windows\system32\svchost.exe -k iissvcs";
const SVCHOST_EVENTLOG: &str = r"C:\Windows\System32\svchost.exe -k LocalServiceNetworkRestricted -p -s EventLog";

/// Processes of boot epoch `k`: roots first (never reported as created), then what services,
/// systemd or launchd start within the first minute.
fn boot(g: &Gen, dev: &Dev, k: i64) -> Vec<Live> {
    let b = dev.boot_time(k);
    let mut rng = Rng::new(catalog::seed(g.base, "boot", dev.d.index as u64, k as u64), 0);
    let mut out: Vec<Live> = Vec::with_capacity(20);
    let forever = Nanos::MAX;
    // Services start once the service control manager is up.
    let mut at = b + SEC;
    let mut next = |rng: &mut Rng| {
        at += rng.between(80, 2_500) * MS + rng.between(0, 10_000) * 100;
        at
    };
    let d = &dev.d;
    match d.family {
        OsFamily::WindowsClient | OsFamily::WindowsServer => {
            let sys = Token::builtin(SYSTEM);
            let wininit =
                spawn(&mut rng, dev, Bin::Wininit, Role::Root, arc("wininit.exe"), b, sys.clone(), None, forever);
            let services = spawn(
                &mut rng,
                dev,
                Bin::Services,
                Role::Services,
                arc(r"C:\Windows\system32\services.exe"),
                b + 400 * MS,
                sys.clone(),
                Some(&wininit.p),
                forever,
            );
            let lsass = spawn(
                &mut rng,
                dev,
                Bin::Lsass,
                Role::Lsass,
                arc(r"C:\Windows\system32\lsass.exe"),
                b + 420 * MS,
                sys.clone(),
                Some(&wininit.p),
                forever,
            );
            let winlogon = spawn(
                &mut rng,
                dev,
                Bin::Winlogon,
                Role::Logon,
                arc("winlogon.exe"),
                b + 300 * MS,
                sys.clone(),
                None,
                forever,
            );
            let parent = services.p.clone();
            out.extend([wininit, services, lsass, winlogon]);
            // Session 0 processes start first and get the lowest ids.
            for (k, l) in out.iter_mut().enumerate() {
                l.p.pid = 4 * (100 + 40 * k as i64 + rng.between(0, 40));
            }
            let wininit_pid = out[0].p.pid;
            for l in &mut out[1..3] {
                if let Some(p) = l.p.parent.as_mut() {
                    p.pid = wininit_pid;
                }
            }
            let parent = Process { pid: out[1].p.pid, ..parent };
            let server = d.family == OsFamily::WindowsServer;
            let mut svc =
                |rng: &mut Rng, bin: Bin, role: Role, cmd: &'static str, token: Token, listen: &'static [i32]| {
                    let at = next(rng);
                    let mut l = spawn(rng, dev, bin, role, arc(cmd), at, token, Some(&parent), forever);
                    l.listen = listen;
                    out.push(l);
                };
            svc(&mut rng, Bin::Svchost, Role::SvcDcom, SVCHOST_DCOM, sys.clone(), &[]);
            svc(&mut rng, Bin::Svchost, Role::SvcOther, SVCHOST_EVENTLOG, Token::builtin(LOCAL_SERVICE), &[]);
            svc(&mut rng, Bin::Svchost, Role::SvcDns, SVCHOST_DNS, Token::builtin(NETWORK_SERVICE), &[]);
            svc(&mut rng, Bin::Svchost, Role::SvcSchedule, SVCHOST_SCHEDULE, sys.clone(), &[]);
            svc(&mut rng, Bin::Svchost, Role::SvcSysMain, SVCHOST_SYSMAIN, sys.clone(), &[]);
            svc(&mut rng, Bin::Svchost, Role::SvcUpdate, SVCHOST_WU, sys.clone(), &[]);
            svc(&mut rng, Bin::Svchost, Role::SvcTelemetry, SVCHOST_UTC, sys.clone(), &[]);
            svc(
                &mut rng,
                Bin::MsMpEng,
                Role::Defender,
                r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe""#,
                sys.clone(),
                &[],
            );
            svc(
                &mut rng,
                Bin::MsSense,
                Role::Sensor,
                r#""C:\Program Files\Windows Defender Advanced Threat Protection\MsSense.exe""#,
                sys.clone(),
                &[],
            );
            if server {
                svc(&mut rng, Bin::Svchost, Role::SvcTerm, SVCHOST_TERM, Token::builtin(NETWORK_SERVICE), &[3389]);
            }
            match d.role {
                Some("SQL") => {
                    let token = dev.service.clone().map_or_else(
                        || Token::builtin(SQL_SERVICE),
                        |a| Token { account: a, logon_id: 0x3_5f1a, integrity: "High", elevation: ELEV_DEFAULT },
                    );
                    svc(
                        &mut rng,
                        Bin::Sqlservr,
                        Role::Sql,
                        r#""C:\Program Files\Microsoft SQL Server\MSSQL15.MSSQLSERVER\MSSQL\Binn\sqlservr.exe" -sMSSQLSERVER"#,
                        token.clone(),
                        &[1433],
                    );
                    svc(
                        &mut rng,
                        Bin::SqlAgent,
                        Role::SqlAgent,
                        r#""C:\Program Files\Microsoft SQL Server\MSSQL15.MSSQLSERVER\MSSQL\Binn\SQLAGENT.EXE" -i MSSQLSERVER"#,
                        token,
                        &[],
                    );
                }
                Some("WEB" | "APP" | "EXCH") => {
                    svc(&mut rng, Bin::Svchost, Role::SvcIis, SVCHOST_IIS, sys.clone(), &[]);
                    let iis = out.last().map(|l| l.p.clone()).expect("just pushed");
                    let at = next(&mut rng);
                    let mut w3wp = spawn(
                        &mut rng,
                        dev,
                        Bin::W3wp,
                        Role::Web,
                        arc(
                            r#"c:\windows\system32\inetsrv\w3wp.exe -ap "DefaultAppPool" -v "v4.0" -l "webengine4.dll" -a \\.\pipe\iisipm5b3c2f0e-7d4b-4f3c-9a61-2c8e0c1f9a77 -h "C:\inetpub\temp\apppools\DefaultAppPool\DefaultAppPool.config" -w "" -m 0 -t 20 -ta 0"#,
                        ),
                        at,
                        Token {
                            account: well_known(APP_POOL),
                            logon_id: 0x1_2b7c,
                            integrity: "High",
                            elevation: ELEV_DEFAULT,
                        },
                        Some(&iis),
                        forever,
                    );
                    w3wp.listen = &[443, 80];
                    out.push(w3wp);
                }
                _ => {}
            }
        }
        OsFamily::Linux => {
            let root = Token::unix(&dev.root, 0);
            let systemd =
                spawn(&mut rng, dev, Bin::Systemd, Role::Root, arc("/sbin/init"), b, root.clone(), None, forever);
            let parent = systemd.p.clone();
            let mut systemd = systemd;
            systemd.p.pid = 1;
            out.push(systemd);
            let mut svc = |rng: &mut Rng, bin: Bin, role: Role, cmd: &'static str, listen: &'static [i32]| {
                let at = next(rng);
                let mut l = spawn(rng, dev, bin, role, arc(cmd), at, root.clone(), Some(&parent), forever);
                l.listen = listen;
                out.push(l);
            };
            svc(&mut rng, Bin::SystemdResolved, Role::Resolver, "/lib/systemd/systemd-resolved", &[]);
            svc(&mut rng, Bin::Rsyslogd, Role::Syslog, "/usr/sbin/rsyslogd -n -iNONE", &[]);
            svc(&mut rng, Bin::Cron, Role::Cron, "/usr/sbin/cron -f -P", &[]);
            svc(&mut rng, Bin::Sshd, Role::SshDaemon, "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", &[22]);
            svc(&mut rng, Bin::LinuxWdav, Role::Sensor, "/opt/microsoft/mdatp/sbin/wdavdaemon", &[]);
            match d.role {
                Some("web") => svc(
                    &mut rng,
                    Bin::Nginx,
                    Role::Web,
                    "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
                    &[80, 443],
                ),
                Some("db") => svc(
                    &mut rng,
                    Bin::Postgres,
                    Role::Db,
                    "/usr/lib/postgresql/14/bin/postgres -D /var/lib/postgresql/14/main -c config_file=/etc/postgresql/14/main/postgresql.conf",
                    &[5432],
                ),
                Some("app" | "elk") => svc(
                    &mut rng,
                    Bin::Java,
                    Role::App,
                    "/usr/lib/jvm/java-17-openjdk-amd64/bin/java -Xms2g -Xmx2g -jar /opt/app/app.jar --server.port=8080",
                    &[8080],
                ),
                Some("jenkins") => {
                    svc(
                        &mut rng,
                        Bin::Java,
                        Role::App,
                        "/usr/bin/java -Djava.awt.headless=true -jar /usr/share/java/jenkins.war --webroot=/var/cache/jenkins/war --httpPort=8080",
                        &[8080],
                    );
                    svc(
                        &mut rng,
                        Bin::Dockerd,
                        Role::Docker,
                        "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
                        &[],
                    );
                }
                Some("k8s-node") => {
                    svc(&mut rng, Bin::Containerd, Role::Docker, "/usr/bin/containerd", &[]);
                    svc(
                        &mut rng,
                        Bin::Dockerd,
                        Role::Docker,
                        "/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock",
                        &[],
                    );
                }
                _ => {}
            }
        }
        OsFamily::MacOs => {
            let root = Token::unix(&dev.root, 0);
            let mut launchd =
                spawn(&mut rng, dev, Bin::Launchd, Role::Root, arc("/sbin/launchd"), b, root.clone(), None, forever);
            launchd.p.pid = 1;
            let parent = launchd.p.clone();
            out.push(launchd);
            let mut svc = |rng: &mut Rng, bin: Bin, role: Role, cmd: &'static str| {
                let at = next(rng);
                out.push(spawn(rng, dev, bin, role, arc(cmd), at, root.clone(), Some(&parent), forever));
            };
            svc(
                &mut rng,
                Bin::Loginwindow,
                Role::Logon,
                "/System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow console",
            );
            svc(&mut rng, Bin::Trustd, Role::MacSvc, "/usr/libexec/trustd");
            svc(&mut rng, Bin::Nsurlsessiond, Role::MacSvc, "/usr/libexec/nsurlsessiond");
            svc(
                &mut rng,
                Bin::Softwareupdated,
                Role::Updater,
                "/System/Library/PrivateFrameworks/SoftwareUpdate.framework/Versions/A/Resources/softwareupdated",
            );
            svc(
                &mut rng,
                Bin::MacWdav,
                Role::Sensor,
                "/Library/Application Support/Microsoft/Defender/wdavdaemon_enterprise.app/Contents/MacOS/wdavdaemon_enterprise edr",
            );
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Sessions

#[derive(Clone, Copy, PartialEq, Eq)]
enum SessionKind {
    Console,
    Rdp,
    Ssh,
}

struct Session {
    kind: SessionKind,
    logon: Nanos,
    end: Nanos,
    logon_id: i64,
    account: Arc<Account>,
    /// Where an RDP or SSH session comes from: (address, device name).
    source: Option<(Arc<str>, Option<Arc<str>>)>,
    /// Console unlocks after lunch and breaks.
    unlocks: Vec<Nanos>,
    procs: Vec<Live>,
}

const WEB_CHROME: &str = r#""C:\Program Files\Google\Chrome\Application\chrome.exe""#;
const WEB_EDGE: &str = r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --profile-directory=Default"#;

/// The session of the device on local date `date`, if its user works that day.
fn session(g: &Gen, dev: &Dev, date: i64, hour_epoch: i64, hour_boot: &[Live]) -> Option<Session> {
    // Sessions hang off boot processes: reuse the hour's when the logon is in the same epoch.
    let boot_of = |logon: Nanos| -> Cow<'_, [Live]> {
        let epoch = dev.epoch(logon);
        if epoch == hour_epoch { Cow::Borrowed(hour_boot) } else { Cow::Owned(boot(g, dev, epoch)) }
    };
    let mut rng = Rng::new(catalog::seed(g.base, "session", dev.d.index as u64, date as u64), 0);
    let weekday = (date + 3).rem_euclid(7);
    let working = weekday < 5;
    let day0 = date * DAY - dev.tz;
    match dev.d.family {
        OsFamily::WindowsClient | OsFamily::MacOs => {
            let user = dev.user.clone()?;
            if !rng.chance(if working { 0.93 } else { 0.12 }) {
                return None;
            }
            let (logon, end) = if working {
                let l = day0 + 7 * HOUR + 30 * MINUTE + rng.between(0, 120) * MINUTE + rng.between(0, 60) * SEC;
                (l, l + 8 * HOUR + rng.between(0, 150) * MINUTE)
            } else {
                let l = day0 + 10 * HOUR + rng.between(0, 240) * MINUTE;
                (l, l + HOUR + rng.between(0, 180) * MINUTE)
            };
            let logon_id = rng.between(0x10_0000, 0x7FFF_FFFF);
            let token = Token { account: user.clone(), logon_id, integrity: "Medium", elevation: ELEV_DEFAULT };
            let mut procs = Vec::with_capacity(12);
            let epoch_roots = boot_of(logon);
            let mut unlocks = vec![];
            if working {
                unlocks.push(day0 + 12 * HOUR + 30 * MINUTE + rng.between(0, 75) * MINUTE);
                if rng.chance(0.6) {
                    unlocks.push(day0 + 15 * HOUR + rng.between(0, 90) * MINUTE);
                }
            }
            unlocks.retain(|u| *u > logon && *u < end);
            if dev.win {
                let winlogon = epoch_roots.iter().find(|l| l.bin == Bin::Winlogon).map(|l| l.p.clone())?;
                let at = logon + 2 * SEC + rng.between(0, 10_000) * 100;
                let userinit = spawn(
                    &mut rng,
                    dev,
                    Bin::Userinit,
                    Role::Tool,
                    arc(r"C:\Windows\system32\userinit.exe"),
                    at,
                    token.clone(),
                    Some(&winlogon),
                    logon + 30 * SEC,
                );
                let explorer = spawn(
                    &mut rng,
                    dev,
                    Bin::Explorer,
                    Role::Shell,
                    arc(r"C:\Windows\Explorer.EXE"),
                    userinit.p.created + 900 * MS,
                    token.clone(),
                    Some(&userinit.p),
                    end,
                );
                let e = explorer.p.clone();
                procs.push(userinit);
                procs.push(explorer);
                let mut app =
                    |rng: &mut Rng, bin: Bin, role: Role, cmd: &'static str, after: (i64, i64), until: Nanos| {
                        let at = e.created + rng.between(after.0, after.1) * SEC + rng.between(0, 10_000) * 100;
                        procs.push(spawn(
                            rng,
                            dev,
                            bin,
                            role,
                            arc(cmd),
                            at,
                            token.clone(),
                            Some(&e),
                            until.max(at + MINUTE),
                        ));
                    };
                app(
                    &mut rng,
                    Bin::OneDrive,
                    Role::Sync,
                    r#""C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background"#,
                    (8, 20),
                    end,
                );
                app(&mut rng, Bin::Teams, Role::Chat, r#""ms-teams.exe" msteams:system-initiated"#, (10, 30), end);
                app(
                    &mut rng,
                    Bin::Outlook,
                    Role::Mail,
                    r#""C:\Program Files\Microsoft Office\Root\Office16\OUTLOOK.EXE" "#,
                    (60, 900),
                    end,
                );
                let browser = if rng.chance(0.6) { (Bin::Chrome, WEB_CHROME) } else { (Bin::Msedge, WEB_EDGE) };
                app(&mut rng, browser.0, Role::Browser, browser.1, (60, 1800), end);
                for _ in 0..rng.between(0, 4) {
                    let (bin, cmd) = rng.pick(&[
                        (Bin::Winword, r#""C:\Program Files\Microsoft Office\Root\Office16\WINWORD.EXE" /n"#),
                        (Bin::Excel, r#""C:\Program Files\Microsoft Office\Root\Office16\EXCEL.EXE""#),
                    ]);
                    let offset = rng.between(600, ((end - e.created) / SEC).max(601));
                    let until = e.created + offset * SEC + rng.between(10, 90) * MINUTE;
                    app(&mut rng, bin, Role::Office, cmd, (offset, offset + 1), until.min(end));
                }
            } else {
                let launchd = epoch_roots.iter().find(|l| l.bin == Bin::Launchd).map(|l| l.p.clone())?;
                let mut app = |rng: &mut Rng, bin: Bin, role: Role, cmd: &'static str, after: (i64, i64)| {
                    let at = logon + rng.between(after.0, after.1) * SEC + rng.between(0, 10_000) * 100;
                    procs.push(spawn(
                        rng,
                        dev,
                        bin,
                        role,
                        arc(cmd),
                        at,
                        token.clone(),
                        Some(&launchd),
                        end.max(at + MINUTE),
                    ));
                };
                app(
                    &mut rng,
                    Bin::Finder,
                    Role::Shell,
                    "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder",
                    (2, 6),
                );
                app(&mut rng, Bin::Slack, Role::Chat, "/Applications/Slack.app/Contents/MacOS/Slack", (10, 40));
                app(
                    &mut rng,
                    Bin::MacOutlook,
                    Role::Mail,
                    "/Applications/Microsoft Outlook.app/Contents/MacOS/Microsoft Outlook",
                    (60, 900),
                );
                if rng.chance(0.55) {
                    app(
                        &mut rng,
                        Bin::MacChrome,
                        Role::Browser,
                        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                        (60, 1800),
                    );
                } else {
                    app(
                        &mut rng,
                        Bin::Safari,
                        Role::Browser,
                        "/Applications/Safari.app/Contents/MacOS/Safari",
                        (60, 1800),
                    );
                }
                if dev.d.index.is_multiple_of(3) {
                    app(
                        &mut rng,
                        Bin::Terminal,
                        Role::Shell,
                        "/System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal",
                        (300, 3600),
                    );
                    let term = procs.last().map(|l| l.p.clone()).expect("just pushed");
                    let at = term.created + 700 * MS;
                    procs.push(spawn(
                        &mut rng,
                        dev,
                        Bin::MacZsh,
                        Role::AdminShell,
                        arc("-zsh"),
                        at,
                        token.clone(),
                        Some(&term),
                        end,
                    ));
                }
            }
            Some(Session {
                kind: SessionKind::Console,
                logon,
                end,
                logon_id,
                account: user,
                source: None,
                unlocks,
                procs,
            })
        }
        OsFamily::WindowsServer => {
            let admin = dev.admin.clone()?;
            if !rng.chance(if working { 0.35 } else { 0.04 }) {
                return None;
            }
            let logon = day0 + 9 * HOUR + rng.between(0, 7 * 60) * MINUTE + rng.between(0, 60) * SEC;
            let end = logon + rng.between(20, 120) * MINUTE;
            let logon_id = rng.between(0x10_0000, 0x7FFF_FFFF);
            let token = Token { account: admin.clone(), logon_id, integrity: "High", elevation: ELEV_FULL };
            let roots = boot_of(logon);
            let winlogon = roots.iter().find(|l| l.bin == Bin::Winlogon).map(|l| l.p.clone())?;
            let term = roots.iter().find(|l| l.role == Role::SvcTerm).map(|l| l.p.clone())?;
            let mut procs = Vec::with_capacity(6);
            let userinit = spawn(
                &mut rng,
                dev,
                Bin::Userinit,
                Role::Tool,
                arc(r"C:\Windows\system32\userinit.exe"),
                logon + 2 * SEC,
                token.clone(),
                Some(&winlogon),
                logon + 30 * SEC,
            );
            let explorer = spawn(
                &mut rng,
                dev,
                Bin::Explorer,
                Role::Shell,
                arc(r"C:\Windows\Explorer.EXE"),
                logon + 3 * SEC,
                token.clone(),
                Some(&userinit.p),
                end,
            );
            let rdpclip = spawn(
                &mut rng,
                dev,
                Bin::Rdpclip,
                Role::Rdp,
                arc("rdpclip"),
                logon + 4 * SEC,
                token.clone(),
                Some(&term),
                end,
            );
            let e = explorer.p.clone();
            let manager = spawn(
                &mut rng,
                dev,
                Bin::ServerManager,
                Role::Tool,
                arc(r#""C:\Windows\system32\ServerManager.exe" "#),
                logon + 20 * SEC,
                token.clone(),
                Some(&e),
                end,
            );
            let ps_at = logon + rng.between(60, 600) * SEC;
            let ps = spawn(
                &mut rng,
                dev,
                Bin::PowerShell,
                Role::AdminShell,
                arc(r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" "#),
                ps_at,
                token.clone(),
                Some(&e),
                end,
            );
            procs.extend([userinit, explorer, rdpclip, manager, ps]);
            if rng.chance(0.4) {
                let at = logon + rng.between(120, 900) * SEC;
                procs.push(spawn(
                    &mut rng,
                    dev,
                    Bin::Mmc,
                    Role::Tool,
                    arc(r#""C:\Windows\system32\mmc.exe" "C:\Windows\system32\services.msc" "#),
                    at,
                    token,
                    Some(&e),
                    end,
                ));
            }
            let source = admin_source(g, dev, &mut rng);
            Some(Session {
                kind: SessionKind::Rdp,
                logon,
                end,
                logon_id,
                account: admin,
                source: Some(source),
                unlocks: vec![],
                procs,
            })
        }
        OsFamily::Linux => {
            let login = dev.login.clone()?;
            let p = if matches!(dev.d.role, Some("bastion" | "jenkins")) { 0.8 } else { 0.3 };
            if !rng.chance(if working { p } else { p / 6.0 }) {
                return None;
            }
            let logon = day0 + 8 * HOUR + rng.between(0, 9 * 60) * MINUTE + rng.between(0, 60) * SEC;
            let end = logon + rng.between(5, 90) * MINUTE;
            let logon_id = rng.between(1, 5_000);
            let roots = boot_of(logon);
            let daemon = roots.iter().find(|l| l.role == Role::SshDaemon).map(|l| l.p.clone())?;
            let privileged = spawn(
                &mut rng,
                dev,
                Bin::Sshd,
                Role::SshSession,
                arc_owned(format!("sshd: {} [priv]", login.name)),
                logon + 150 * MS,
                Token::unix(&dev.root, logon_id),
                Some(&daemon),
                end,
            );
            let shell = spawn(
                &mut rng,
                dev,
                Bin::Bash,
                Role::AdminShell,
                arc("-bash"),
                logon + 900 * MS,
                Token::unix(&login, logon_id),
                Some(&privileged.p),
                end,
            );
            let source = admin_source(g, dev, &mut rng);
            Some(Session {
                kind: SessionKind::Ssh,
                logon,
                end,
                logon_id,
                account: login,
                source: Some(source),
                unlocks: vec![],
                procs: vec![privileged, shell],
            })
        }
    }
}

fn arc_owned(s: String) -> Arc<str> {
    s.into()
}

/// Where an administrator connects from: a bastion host, else a client of the device's site.
fn admin_source(g: &Gen, dev: &Dev, rng: &mut Rng) -> (Arc<str>, Option<Arc<str>>) {
    if dev.d.family == OsFamily::Linux
        && let Some(b) = Infra::near(&g.infra.bastions, dev.d.site, dev.d.index)
    {
        return (b.ip.clone(), Some(b.name.clone()));
    }
    if g.infra.people.is_empty() {
        return (arc("10.1.10.10"), None);
    }
    let (_, i) = &g.infra.people[rng.idx(g.infra.people.len())];
    let src = &g.fleet[*i];
    (src.ip.clone(), Some(src.host.name.clone()))
}

// ---------------------------------------------------------------------------------------------
// Activity rhythm

const CLIENT_WEEKDAY: [f64; 24] = [
    0.2, 0.2, 0.2, 0.2, 0.2, 0.25, 0.35, 0.7, 1.5, 2.0, 2.0, 1.9, 1.4, 1.8, 2.0, 1.9, 1.7, 1.2, 0.7, 0.45, 0.35, 0.3,
    0.25, 0.2,
];
const CLIENT_WEEKEND: [f64; 24] = [
    0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.25, 0.3, 0.4, 0.45, 0.45, 0.4, 0.4, 0.35, 0.3, 0.25, 0.25, 0.2, 0.2, 0.2,
    0.2, 0.2,
];
const SERVER_WEEKDAY: [f64; 24] = [
    0.85, 0.85, 0.95, 1.0, 0.85, 0.8, 0.85, 0.95, 1.15, 1.25, 1.25, 1.2, 1.15, 1.2, 1.25, 1.2, 1.15, 1.05, 0.95, 0.9,
    0.85, 0.85, 0.85, 0.85,
];
const SERVER_WEEKEND: [f64; 24] = [0.8; 24];

/// Relative activity at `t`; averages 1 over a week.
fn rhythm(dev: &Dev, t: Nanos) -> f64 {
    let local = t + dev.tz;
    let h = local.div_euclid(HOUR).rem_euclid(24) as usize;
    let weekday = (local.div_euclid(DAY) + 3).rem_euclid(7);
    let (wd, we) = match dev.d.family {
        OsFamily::WindowsClient | OsFamily::MacOs => (&CLIENT_WEEKDAY, &CLIENT_WEEKEND),
        _ => (&SERVER_WEEKDAY, &SERVER_WEEKEND),
    };
    let mean = (5.0 * wd.iter().sum::<f64>() + 2.0 * we.iter().sum::<f64>()) / 168.0;
    (if weekday < 5 { wd[h] } else { we[h] }) / mean
}

// ---------------------------------------------------------------------------------------------
// One device-hour

#[derive(Clone, Copy)]
enum Sched {
    /// A process in `alive` is created.
    Created(usize),
    /// A boot process starts listening on a port.
    Listen(usize, i32),
    /// Session `s` logs on.
    SessionLogon(usize),
    /// Session `s` is unlocked.
    Unlock(usize),
    /// cron's hourly `run-parts`.
    CronHourly,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Process,
    Network,
    File,
    Registry,
    Image,
    Logon,
    Other,
}

/// Event mix of Windows devices; macOS and Linux have no registry or image-load events.
const WIN_MIX: &[(Slot, u32)] = &[
    (Slot::Process, 20),
    (Slot::Network, 35),
    (Slot::File, 15),
    (Slot::Registry, 10),
    (Slot::Image, 12),
    (Slot::Logon, 3),
    (Slot::Other, 5),
];
const UNIX_MIX: &[(Slot, u32)] =
    &[(Slot::Process, 20), (Slot::Network, 35), (Slot::File, 15), (Slot::Logon, 3), (Slot::Other, 5)];

fn hour(g: &Gen, dev: &Dev, t0: Nanos, isolated: bool, sink: &mut Sink) {
    let t1 = t0 + HOUR;
    if (t0 - g.start).div_euclid(HOUR).rem_euclid(24) == 0 {
        let at = t0 + SEC * (60 + (catalog::mix64(dev.d.index as u64 ^ 0x5a) % 3000) as i64);
        if at >= dev.first && at < dev.last {
            snapshot(g, dev, at, t0, sink);
        }
    }
    if !dev.sensing {
        return;
    }
    let epoch = dev.epoch(t1 - 1);
    let boot_at = dev.boot_time(epoch);
    let from = t0.max(dev.first).max(boot_at);
    let to = t1.min(dev.last);
    if from >= to {
        return;
    }
    let mut h = HourGen {
        g,
        dev,
        sink,
        rng: Rng::new(catalog::seed(g.base, "hour", dev.d.index as u64, t0 as u64), 0),
        t0,
        to,
        n: 0,
        isolated,
        alive: boot(g, dev, epoch),
        sessions: vec![],
    };
    let boot_len = h.alive.len();
    let mut sched: Vec<(Nanos, Sched)> = Vec::with_capacity(16);
    let in_window = |t: Nanos| t >= from && t < to;
    for (i, l) in h.alive.iter().enumerate() {
        if l.role != Role::Root && in_window(l.p.created) {
            sched.push((l.p.created, Sched::Created(i)));
            for port in l.listen {
                sched.push((l.p.created + 40 * MS, Sched::Listen(i, *port)));
            }
        }
    }
    let (d0, d1) = (dev.local_date(from), dev.local_date(to - 1));
    for date in d0..=d1 {
        let Some(s) = session(g, dev, date, epoch, &h.alive[..boot_len]) else { continue };
        if s.logon >= to || s.end <= from {
            continue;
        }
        let si = h.sessions.len();
        if in_window(s.logon) {
            sched.push((s.logon, Sched::SessionLogon(si)));
        }
        for u in &s.unlocks {
            if in_window(*u) {
                sched.push((*u, Sched::Unlock(si)));
            }
        }
        for l in &s.procs {
            if l.p.created < to && l.until > from {
                if in_window(l.p.created) {
                    sched.push((l.p.created, Sched::Created(h.alive.len())));
                }
                h.alive.push(l.clone());
            }
        }
        h.sessions.push(s);
    }
    if dev.d.family == OsFamily::Linux {
        // Ubuntu's default crontab: hourly jobs at minute 17.
        let local = t0 + dev.tz;
        let at = local - local.rem_euclid(HOUR) + 17 * MINUTE - dev.tz + h.rng.between(0, 900) * MS;
        for t in [at, at + HOUR] {
            if in_window(t) {
                sched.push((t, Sched::CronHourly));
            }
        }
    }
    sched.sort_by_key(|s| s.0);

    let expected = g.rate * rhythm(dev, t0) * (to - from) as f64 / HOUR as f64;
    let whole = expected.floor();
    let total = whole as usize + usize::from(h.rng.unit() < expected - whole);
    let slots = total.saturating_sub(sched.len());
    let span = ((to - from) / 100) as u64;
    let mut times: Vec<Nanos> = (0..slots).map(|_| from + h.rng.below(span) as i64 * 100).collect();
    times.sort_unstable();
    let mix = if dev.win { WIN_MIX } else { UNIX_MIX };
    let (mut i, mut j) = (0, 0);
    while i < sched.len() || j < times.len() {
        if j >= times.len() || (i < sched.len() && sched[i].0 <= times[j]) {
            let (t, s) = sched[i];
            h.scheduled(t, s);
            i += 1;
        } else {
            let t = times[j];
            let slot = h.rng.weighted(mix);
            h.slot(t, slot);
            j += 1;
        }
    }
}

struct HourGen<'a, 'g> {
    g: &'a Gen<'g>,
    dev: &'a Dev<'g>,
    sink: &'a mut Sink,
    rng: Rng,
    t0: Nanos,
    /// End of the device's window this hour: follow-up events (a listener after its process, a
    /// retried unlock) never spill past it.
    to: Nanos,
    n: u32,
    isolated: bool,
    alive: Vec<Live>,
    sessions: Vec<Session>,
}

/// A remote end of a connection.
struct Remote {
    ip: Arc<str>,
    port: i32,
    url: Option<Arc<str>>,
    protocol: &'static str,
    public: bool,
    service: bool,
    inbound: bool,
}

impl Remote {
    fn to(d: &Dest) -> Remote {
        Remote {
            ip: d.ip.clone(),
            port: d.port,
            url: Some(d.host.clone()),
            protocol: d.protocol,
            public: true,
            service: d.service,
            inbound: false,
        }
    }

    fn internal(e: &Endpoint, port: i32) -> Remote {
        Remote {
            ip: e.ip.clone(),
            port,
            url: None,
            protocol: if port == 53 || port == 123 { "Udp" } else { "Tcp" },
            public: false,
            service: false,
            inbound: false,
        }
    }

    fn inbound(ip: Arc<str>, port: i32, public: bool) -> Remote {
        Remote { ip, port, url: None, protocol: "Tcp", public, service: false, inbound: true }
    }
}

impl HourGen<'_, '_> {
    fn emit(&mut self, at: Nanos, kind: Kind) {
        let at = at.min(self.to - 100);
        let report_id = report_id(self.t0, LANE_BENIGN, self.n);
        self.n += 1;
        self.sink.push(&Event { at, host: self.dev.d.host.clone(), report_id, kind });
    }

    fn session_at(&self, t: Nanos) -> Option<usize> {
        self.sessions.iter().position(|s| s.logon <= t && t < s.end)
    }

    fn find(&self, t: Nanos, role: Role) -> Option<usize> {
        self.alive.iter().rposition(|l| l.role == role && l.alive(t))
    }

    /// A process alive at `t`, drawn with `weight` by role (`None` if every weight is 0).
    fn pick(&mut self, t: Nanos, weight: impl Fn(&Live) -> u32) -> Option<usize> {
        let total: u64 = self.alive.iter().filter(|l| l.alive(t)).map(|l| u64::from(weight(l))).sum();
        if total == 0 {
            return None;
        }
        let mut r = self.rng.below(total);
        for (i, l) in self.alive.iter().enumerate() {
            if !l.alive(t) {
                continue;
            }
            let w = u64::from(weight(l));
            if r < w {
                return Some(i);
            }
            r -= w;
        }
        None
    }

    fn scheduled(&mut self, t: Nanos, s: Sched) {
        match s {
            Sched::Created(i) => self.created(i),
            Sched::Listen(i, port) => {
                let initiator = self.alive[i].p.clone();
                let local_ip = if port == 22 || port == 3389 { arc("0.0.0.0") } else { self.dev.d.ip.clone() };
                self.emit(
                    t,
                    Kind::Network(Network {
                        action: "ListeningConnectionCreated",
                        initiator,
                        remote_ip: arc("0.0.0.0"),
                        remote_port: 0,
                        remote_url: None,
                        local_ip,
                        local_port: port,
                        protocol: "Tcp",
                        local_ip_type: "Private",
                        remote_ip_type: "Reserved",
                    }),
                );
            }
            Sched::SessionLogon(si) => {
                let s = &self.sessions[si];
                let (account, logon_id, kind) = (s.account.clone(), s.logon_id, s.kind);
                let source = s.source.clone();
                match kind {
                    SessionKind::Console => {
                        let remote_site = self.dev.d.ip.starts_with("192.168.");
                        let logon_type = if remote_site && self.dev.win { "CachedInteractive" } else { "Interactive" };
                        self.logon(t, "LogonSuccess", &account, logon_type, logon_id, None, None);
                    }
                    SessionKind::Rdp => {
                        if self.isolated {
                            return;
                        }
                        self.logon(t, "LogonSuccess", &account, "RemoteInteractive", logon_id, source, None);
                    }
                    SessionKind::Ssh => {
                        if self.isolated {
                            return;
                        }
                        self.logon(t, "LogonSuccess", &account, "Network", logon_id, source, None);
                    }
                }
            }
            Sched::Unlock(si) => {
                let (account, logon_id) = (self.sessions[si].account.clone(), self.sessions[si].logon_id);
                if self.rng.chance(0.08) {
                    self.logon(t, "LogonFailed", &account, "Unlock", logon_id, None, Some("InvalidUserNameOrPassword"));
                }
                self.logon(t + 4 * SEC, "LogonSuccess", &account, "Unlock", logon_id, None, None);
            }
            Sched::CronHourly => {
                let Some(cron) = self.find(t, Role::Cron) else { return };
                let parent = self.alive[cron].p.clone();
                let child = spawn(
                    &mut self.rng,
                    self.dev,
                    Bin::Dash,
                    Role::Script,
                    arc("/bin/sh -c \"   cd / && run-parts --report /etc/cron.hourly\""),
                    t,
                    Token::unix(&self.dev.root, 0),
                    Some(&parent),
                    t + 2 * SEC,
                );
                self.alive.push(child);
                self.created(self.alive.len() - 1);
            }
        }
    }

    /// The `ProcessCreated` row of `alive[i]` (its parent is alive: it is in `alive` or a root).
    fn created(&mut self, i: usize) {
        let child = &self.alive[i];
        let t = child.p.created;
        let Some(parent) = child.p.parent.as_ref() else { return };
        let initiator = self
            .alive
            .iter()
            .rev()
            .find(|l| l.p.pid == parent.pid && l.p.created == parent.created)
            .map(|l| l.p.clone());
        let Some(initiator) = initiator else { return };
        let process = self.alive[i].p.clone();
        self.emit(t, Kind::ProcessCreated { process, initiator });
    }

    fn slot(&mut self, t: Nanos, slot: Slot) {
        let done = match slot {
            Slot::Process => self.process(t),
            Slot::Network => self.network(t),
            Slot::File => self.file(t),
            Slot::Registry => self.registry(t),
            Slot::Image => self.image_load(t),
            Slot::Logon => self.logon_slot(t),
            Slot::Other => self.other(t),
        };
        if !done && slot != Slot::Network {
            self.network(t);
        }
    }

    // --- processes ---

    fn process(&mut self, t: Nanos) -> bool {
        let dev = self.dev;
        let session = self.session_at(t);
        let server_role = dev.d.role;
        // The newest live process of each role and binary, found in one pass.
        let mut by_role = [usize::MAX; ROLES];
        let mut by_bin = [usize::MAX; BINS];
        for (i, l) in self.alive.iter().enumerate() {
            if l.alive(t) {
                by_role[l.role as usize] = i;
                by_bin[l.bin as usize] = i;
            }
        }
        let candidates: Vec<(usize, usize, u32)> = templates_of(dev.d.family)
            .iter()
            .map(|ti| (*ti, &TEMPLATES[*ti]))
            .filter(|(_, tpl)| tpl.role_filter.is_none_or(|r| server_role == Some(r)))
            .filter(|(_, tpl)| !tpl.needs_session || session.is_some())
            .filter_map(|(ti, tpl)| {
                let parent = match tpl.parent {
                    Par::Role(r) => by_role[r as usize],
                    Par::Bin(b) => by_bin[b as usize],
                };
                (parent != usize::MAX).then_some((ti, parent, tpl.weight))
            })
            .collect();
        if candidates.is_empty() {
            return false;
        }
        let (ti, pi, _) = candidates[self.rng.weighted_by(&candidates, |c| c.2)];
        let tpl = &TEMPLATES[ti];
        let parent = self.alive[pi].p.clone();
        let token = match tpl.who {
            Who::Builtin(i) => Token::builtin(i),
            Who::Parent => Token::of(&parent),
            Who::User => {
                let s = &self.sessions[session.expect("filtered")];
                Token { account: s.account.clone(), logon_id: s.logon_id, integrity: "Medium", elevation: ELEV_DEFAULT }
            }
            Who::Root => Token::unix(&dev.root, 0),
        };
        let life = self.rng.between(tpl.life.0, tpl.life.1.max(tpl.life.0 + 1)) * SEC;
        let until = (t + life).min(self.alive[pi].until);
        let child =
            spawn(&mut self.rng, dev, tpl.bin, tpl.role, arc(tpl.cmd), t, token, Some(&parent), until.max(t + SEC));
        self.alive.push(child);
        self.created(self.alive.len() - 1);
        true
    }

    // --- network ---

    fn network(&mut self, t: Nanos) -> bool {
        let isolated = self.isolated;
        let Some(i) = self.pick(t, |l| if isolated { u32::from(l.role == Role::Sensor) } else { net_weight(l.role) })
        else {
            return false;
        };
        let role = self.alive[i].role;
        let Some(remote) = self.remote(role) else { return false };
        if isolated && !remote.service {
            return false;
        }
        let initiator = self.alive[i].p.clone();
        let win = self.dev.win;
        let ephemeral = if win { self.rng.between(49_152, 65_536) } else { self.rng.between(32_768, 61_000) } as i32;
        let (action, local_port, remote_port) = if remote.inbound {
            ("InboundConnectionAccepted", remote.port, ephemeral)
        } else {
            let failed = self.rng.chance(0.03);
            (if failed { "ConnectionFailed" } else { "ConnectionSuccess" }, ephemeral, remote.port)
        };
        self.emit(
            t,
            Kind::Network(Network {
                action,
                initiator,
                remote_ip: remote.ip,
                remote_port,
                remote_url: remote.url,
                local_ip: self.dev.d.ip.clone(),
                local_port,
                protocol: remote.protocol,
                local_ip_type: "Private",
                remote_ip_type: if remote.public { "Public" } else { "Private" },
            }),
        );
        true
    }

    fn dest(&mut self, set: DestSet) -> Remote {
        let list = catalog::dests(set);
        Remote::to(&list[self.rng.idx(list.len())])
    }

    /// A client of the fleet connecting in (a random device), or an internet address.
    fn inbound(&mut self, port: i32) -> Remote {
        if self.dev.d.internet_facing && self.rng.chance(0.7) {
            let ip = format!("198.51.100.{}", self.rng.between(1, 255));
            return Remote::inbound(ip.into(), port, true);
        }
        let d = &self.g.fleet[self.rng.idx(self.g.fleet.len())];
        Remote::inbound(d.ip.clone(), port, false)
    }

    /// Where a process of `role` connects (or who connects to it).
    fn remote(&mut self, role: Role) -> Option<Remote> {
        let dev = self.dev;
        let r = match role {
            Role::Browser | Role::BrowserChild => {
                if dev.win && self.rng.chance(0.1) {
                    let sp = &self.g.infra.sharepoint;
                    Remote::to(&sp[self.rng.idx(sp.len())])
                } else if dev.win {
                    self.dest(DestSet::Web)
                } else {
                    self.dest(DestSet::MacApps)
                }
            }
            Role::Mail => self.dest(DestSet::Mail),
            Role::Chat | Role::ChatChild => {
                if dev.win {
                    self.dest(DestSet::Chat)
                } else {
                    self.dest(DestSet::MacApps)
                }
            }
            Role::Sync => {
                if self.rng.chance(0.6) {
                    let sp = &self.g.infra.sharepoint;
                    Remote::to(&sp[self.rng.idx(sp.len())])
                } else {
                    self.dest(DestSet::Sync)
                }
            }
            Role::SvcDns => Remote::internal(&dev.dc, 53),
            Role::Lsass => {
                let port = self.rng.pick(&[88, 88, 389, 389, 445, 135]);
                Remote::internal(&dev.dc, port)
            }
            Role::SvcSchedule | Role::Tool if dev.win => {
                let port = self.rng.pick(&[389, 445, 88]);
                Remote::internal(&dev.dc, port)
            }
            Role::Shell if dev.win => Remote::internal(&dev.fs, 445),
            Role::SvcTelemetry | Role::SvcDcom | Role::Task | Role::SvcOther | Role::SvcSysMain | Role::Wmi => {
                self.dest(DestSet::WinSvc)
            }
            Role::SvcUpdate => self.dest(DestSet::WinUpdate),
            Role::Updater => match dev.d.family {
                OsFamily::MacOs => self.dest(DestSet::MacSvc),
                OsFamily::Linux => self.dest(DestSet::LinuxPkg),
                _ => self.dest(DestSet::WinUpdate),
            },
            Role::Defender => {
                if self.rng.chance(0.3) {
                    self.dest(DestSet::Service)
                } else {
                    self.dest(DestSet::Defender)
                }
            }
            Role::Sensor => self.dest(DestSet::Service),
            Role::MacSvc => self.dest(DestSet::MacSvc),
            Role::Resolver => Remote::internal(&dev.dc, 53),
            Role::Script | Role::AdminShell | Role::Tool | Role::Console => {
                if dev.win {
                    let port = self.rng.pick(&[445, 445, 5985, 1433]);
                    match self.g.infra.sql_servers.first() {
                        Some(sql) if port == 1433 => Remote::internal(sql, 1433),
                        _ => Remote::internal(&dev.fs, if port == 1433 { 445 } else { port }),
                    }
                } else {
                    self.dest(DestSet::Dev)
                }
            }
            Role::Sql => self.inbound(1433),
            Role::SqlAgent => Remote::internal(&dev.fs, 445),
            Role::Web => {
                if self.rng.chance(0.75) {
                    let port = if self.rng.chance(0.85) { 443 } else { 80 };
                    self.inbound(port)
                } else {
                    match self.g.infra.sql_servers.first() {
                        Some(sql) if dev.win => Remote::internal(sql, 1433),
                        _ => self.dest(DestSet::Dev),
                    }
                }
            }
            Role::Db => self.inbound(5432),
            Role::App => {
                if self.rng.chance(0.5) {
                    self.inbound(8080)
                } else {
                    self.dest(DestSet::Dev)
                }
            }
            Role::Docker => self.dest(DestSet::Dev),
            Role::SshDaemon | Role::SshSession => self.inbound(22),
            Role::SvcTerm => self.inbound(3389),
            _ => return None,
        };
        Some(r)
    }

    // --- files ---

    fn file(&mut self, t: Nanos) -> bool {
        let Some(i) = self.pick(t, |l| file_weight(l.role)) else { return false };
        let role = self.alive[i].role;
        let Some(f) = self.file_for(role, t) else { return false };
        let initiator = self.alive[i].p.clone();
        let mut e = FileEvent::local(f.action, initiator, f.image);
        e.origin_url = f.origin.as_ref().map(|o| o.0.clone());
        e.origin_referrer_url = f.origin.as_ref().map(|o| o.1.clone());
        e.origin_ip = f.origin.map(|o| o.2);
        if let Some((path, name)) = f.previous {
            e.previous_folder_path = Some(path);
            e.previous_file_name = Some(name);
        }
        self.emit(t, Kind::File(e));
        true
    }

    fn written(&mut self, name: &str, folder_path: String, size: i64) -> Arc<Image> {
        Arc::new(Image {
            file_name: name.into(),
            folder_path: folder_path.into(),
            sha1: hex(&mut self.rng, 20),
            sha256: hex(&mut self.rng, 32),
            md5: hex(&mut self.rng, 16),
            size,
            version: None,
            signer_type: None,
            signature_status: None,
        })
    }

    fn file_for(&mut self, role: Role, t: Nanos) -> Option<Written> {
        let dev = self.dev;
        let sep = if dev.win { '\\' } else { '/' };
        let profile = dev.profile.as_str();
        let date = date_stamp(t);
        let w = match role {
            Role::Browser | Role::BrowserChild => {
                let (name, host, path, referrer, size) =
                    self.rng.pick(if dev.win { WIN_DOWNLOADS } else { MAC_DOWNLOADS });
                let origin = (
                    arc_owned(format!("https://{host}{path}")),
                    arc_owned(format!("https://{referrer}/")),
                    public_ip(host),
                );
                let image = self.download(name, &format!("{profile}{sep}Downloads{sep}{name}"), size);
                Written { action: "FileCreated", image, origin: Some(origin), previous: None }
            }
            Role::Office | Role::Sync | Role::Editor => {
                let name = self.rng.pick(DOCUMENTS);
                let folder = if dev.win {
                    format!(r"{profile}\{}\Documents", self.g.onedrive)
                } else {
                    format!("{profile}/Documents")
                };
                if role == Role::Office && self.rng.chance(0.3) {
                    let lock = format!("~${}", &name[2..]);
                    let image = self.written(&lock, format!("{folder}{sep}{lock}"), 162);
                    let action = if self.rng.chance(0.5) { "FileCreated" } else { "FileDeleted" };
                    Written { action, image, origin: None, previous: None }
                } else {
                    let size = 18_000 + self.rng.between(0, 2_000_000);
                    let image = self.written(name, format!("{folder}{sep}{name}"), size);
                    let action = if self.rng.chance(0.8) { "FileModified" } else { "FileCreated" };
                    Written { action, image, origin: None, previous: None }
                }
            }
            Role::Mail => {
                let name = self.rng.pick(ATTACHMENTS);
                let path = if dev.win {
                    format!(
                        r"{profile}\AppData\Local\Microsoft\Windows\INetCache\Content.Outlook\{}\{name}",
                        dev.outlook_cache
                    )
                } else {
                    format!("{profile}/Library/Containers/com.microsoft.Outlook/Data/tmp/Outlook Temp/{name}")
                };
                let size = 20_000 + self.rng.between(0, 900_000);
                Written { action: "FileCreated", image: self.written(name, path, size), origin: None, previous: None }
            }
            Role::Chat | Role::ChatChild if !dev.win => {
                let name = format!("f_{:06x}", self.rng.below(0xFF_FFFF));
                let path = format!("{profile}/Library/Application Support/Slack/Cache/Cache_Data/{name}");
                let size = self.rng.between(2_000, 400_000);
                Written { action: "FileCreated", image: self.written(&name, path, size), origin: None, previous: None }
            }
            Role::Defender => {
                if self.rng.chance(0.5) {
                    let guid = self.rng.guid().to_uppercase();
                    let name = self.rng.pick(&["mpasdlta.vdm", "mpavdlta.vdm", "mpengine.dll"]);
                    let path =
                        format!(r"C:\ProgramData\Microsoft\Windows Defender\Definition Updates\{{{guid}}}\{name}");
                    let size = self.rng.between(200_000, 4_000_000);
                    Written {
                        action: "FileCreated",
                        image: self.written(name, path, size),
                        origin: None,
                        previous: None,
                    }
                } else {
                    let name = format!("MPLog-{date}-093012.log");
                    let path = format!(r"C:\ProgramData\Microsoft\Windows Defender\Support\{name}");
                    let size = self.rng.between(100_000, 20_000_000);
                    Written {
                        action: "FileModified",
                        image: self.written(&name, path, size),
                        origin: None,
                        previous: None,
                    }
                }
            }
            Role::Updater | Role::SvcUpdate => match dev.d.family {
                OsFamily::Linux => {
                    let pkg = self.rng.pick(DEBS);
                    let name = format!("{pkg}_amd64.deb");
                    let path = format!("/var/cache/apt/archives/{name}");
                    let size = self.rng.between(40_000, 9_000_000);
                    Written {
                        action: "FileCreated",
                        image: self.written(&name, path, size),
                        origin: None,
                        previous: None,
                    }
                }
                OsFamily::MacOs => {
                    let size = self.rng.between(4_000, 90_000);
                    let image =
                        self.written("ProductMetadata.plist", "/Library/Updates/ProductMetadata.plist".into(), size);
                    Written { action: "FileModified", image, origin: None, previous: None }
                }
                _ => {
                    if self.rng.chance(0.5) {
                        let size = self.rng.between(1_000_000, 60_000_000);
                        let image = self.written("CBS.log", r"C:\Windows\Logs\CBS\CBS.log".into(), size);
                        Written { action: "FileModified", image, origin: None, previous: None }
                    } else {
                        let dir = hex(&mut self.rng, 16);
                        let kb = self.rng.pick(&["KB5046613", "KB5044273", "KB5046617", "KB5043050"]);
                        let name = format!("windows10.0-{kb}-x64.cab");
                        let path = format!(r"C:\Windows\SoftwareDistribution\Download\{dir}\{name}");
                        let size = self.rng.between(300_000, 80_000_000);
                        Written {
                            action: "FileCreated",
                            image: self.written(&name, path, size),
                            origin: None,
                            previous: None,
                        }
                    }
                }
            },
            Role::SvcSysMain | Role::SvcDcom | Role::SvcOther | Role::Task | Role::Services => {
                let exe = self.rng.pick(PREFETCH);
                let name = format!("{exe}-{:08X}.pf", catalog::fnv1a(exe) as u32);
                let path = format!(r"C:\Windows\Prefetch\{name}");
                let size = self.rng.between(4_000, 90_000);
                Written { action: "FileModified", image: self.written(&name, path, size), origin: None, previous: None }
            }
            Role::SvcSchedule => {
                let task = self.rng.pick(TASKS);
                let name = task.rsplit('\\').next().unwrap_or(task);
                let path = format!(r"C:\Windows\System32\Tasks{task}");
                let size = self.rng.between(2_000, 8_000);
                Written { action: "FileModified", image: self.written(name, path, size), origin: None, previous: None }
            }
            Role::Script | Role::AdminShell | Role::Tool | Role::Console | Role::Cron => {
                if dev.win {
                    let name = format!("HealthCheck-{date}.log");
                    let path = format!(r"C:\Scripts\Logs\{name}");
                    let size = self.rng.between(1_000, 200_000);
                    Written {
                        action: "FileCreated",
                        image: self.written(&name, path, size),
                        origin: None,
                        previous: None,
                    }
                } else if self.rng.chance(0.5) {
                    let name = format!("app-data-{date}.tar.gz");
                    let path = format!("/var/backups/{name}");
                    let size = self.rng.between(1_000_000, 400_000_000);
                    Written {
                        action: "FileCreated",
                        image: self.written(&name, path, size),
                        origin: None,
                        previous: None,
                    }
                } else {
                    let mut name = String::from("tmp.");
                    for _ in 0..10 {
                        name.push(
                            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[self.rng.idx(62)] as char,
                        );
                    }
                    let path = format!("/tmp/{name}");
                    let action = if self.rng.chance(0.5) { "FileCreated" } else { "FileDeleted" };
                    let size = self.rng.between(0, 40_000);
                    Written { action, image: self.written(&name, path, size), origin: None, previous: None }
                }
            }
            Role::Sql | Role::SqlAgent => {
                let db = self.rng.pick(&["Finance", "HR", "CRM", "Inventory", "Payroll"]);
                let name = format!("{db}_{date}_0200.bak");
                let path = format!(r"D:\MSSQL\Backup\{name}");
                let size = self.rng.between(50_000_000, 4_000_000_000);
                Written { action: "FileCreated", image: self.written(&name, path, size), origin: None, previous: None }
            }
            Role::Web if dev.win => {
                let name = format!("u_ex{}.log", &date[2..]);
                let path = format!(r"C:\inetpub\logs\LogFiles\W3SVC1\{name}");
                let size = self.rng.between(100_000, 90_000_000);
                Written { action: "FileModified", image: self.written(&name, path, size), origin: None, previous: None }
            }
            Role::Web => {
                let size = self.rng.between(100_000, 900_000_000);
                let image = self.written("access.log", "/var/log/nginx/access.log".into(), size);
                Written { action: "FileModified", image, origin: None, previous: None }
            }
            Role::Syslog => {
                let name = self.rng.pick(&["syslog", "auth.log", "kern.log"]);
                let size = self.rng.between(100_000, 90_000_000);
                let image = self.written(name, format!("/var/log/{name}"), size);
                Written { action: "FileModified", image, origin: None, previous: None }
            }
            Role::Db => {
                let name = format!("00000001000000{:02X}000000{:02X}", self.rng.below(16), self.rng.below(256));
                let path = format!("/var/lib/postgresql/14/main/pg_wal/{name}");
                Written {
                    action: "FileCreated",
                    image: self.written(&name, path, 16_777_216),
                    origin: None,
                    previous: None,
                }
            }
            Role::App => {
                let size = self.rng.between(100_000, 500_000_000);
                let image = self.written("application.log", "/opt/app/logs/application.log".into(), size);
                Written { action: "FileModified", image, origin: None, previous: None }
            }
            Role::Docker => {
                let id = format!(
                    "{:016x}{:016x}",
                    catalog::mix64(dev.d.index as u64),
                    catalog::mix64(!(dev.d.index as u64))
                );
                let name = format!("{id}-json.log");
                let path = format!("/var/lib/docker/containers/{id}/{name}");
                let size = self.rng.between(10_000, 100_000_000);
                Written { action: "FileModified", image: self.written(&name, path, size), origin: None, previous: None }
            }
            Role::Sensor => {
                let path = match dev.d.family {
                    OsFamily::Linux => "/var/log/microsoft/mdatp/microsoft_defender_core.log",
                    OsFamily::MacOs => "/Library/Logs/Microsoft/mdatp/microsoft_defender_core.log",
                    _ => return None,
                };
                let size = self.rng.between(100_000, 20_000_000);
                let image = self.written("microsoft_defender_core.log", path.into(), size);
                Written { action: "FileModified", image, origin: None, previous: None }
            }
            Role::MacSvc => {
                let size = self.rng.between(10_000, 900_000);
                let image =
                    self.written("trustd.db", "/private/var/protected/trustd/private/TrustStore.sqlite3".into(), size);
                Written { action: "FileModified", image, origin: None, previous: None }
            }
            _ => return None,
        };
        // logrotate moves logs aside once a day.
        if dev.d.family == OsFamily::Linux && role == Role::Syslog && self.rng.chance(0.02) {
            let path = arc("/var/log/nginx/access.log");
            let image = self.written("access.log.1", "/var/log/nginx/access.log.1".into(), w.image.size);
            return Some(Written {
                action: "FileRenamed",
                image,
                origin: None,
                previous: Some((path, arc("access.log"))),
            });
        }
        Some(w)
    }

    /// A download: the same installer has the same hashes everywhere.
    fn download(&mut self, name: &'static str, path: &str, size: i64) -> Arc<Image> {
        let mut r = Rng::new(catalog::fnv1a(name), 11);
        Arc::new(Image {
            file_name: arc(name),
            folder_path: path.into(),
            sha1: hex(&mut r, 20),
            sha256: hex(&mut r, 32),
            md5: hex(&mut r, 16),
            size,
            version: None,
            signer_type: None,
            signature_status: None,
        })
    }

    // --- registry ---

    fn registry(&mut self, t: Nanos) -> bool {
        let Some(i) = self.pick(t, |l| reg_weight(l.role)) else { return false };
        let role = self.alive[i].role;
        let candidates: Vec<&RegTpl> = REGISTRY.iter().filter(|r| r.roles.contains(&role)).collect();
        if candidates.is_empty() {
            return false;
        }
        let tpl = candidates[self.rng.idx(candidates.len())];
        let initiator = self.alive[i].p.clone();
        let key: Arc<str> = match tpl.hive {
            Hive::Machine => arc(tpl.key),
            Hive::User => format!(r"HKEY_CURRENT_USER\{}\{}", initiator.account.sid, tpl.key).into(),
        };
        let data: Arc<str> = match tpl.data {
            Data::Text(s) => arc(s),
            Data::Number(lo, hi) => self.rng.between(lo, hi).to_string().into(),
            Data::Binary => {
                let mut s = String::with_capacity(48);
                self.rng.hex(&mut s, 24, true);
                s.into()
            }
            Data::Time => date_time(t).into(),
        };
        self.emit(
            t,
            Kind::Registry(RegistryEvent {
                action: "RegistryValueSet",
                initiator,
                key,
                value_type: Some(tpl.value_type),
                value_name: Some(arc(tpl.value)),
                value_data: Some(data),
                previous_value_data: None,
            }),
        );
        true
    }

    // --- image loads ---

    fn image_load(&mut self, t: Nanos) -> bool {
        if !self.dev.win {
            return false;
        }
        // Modules load right after a process starts: prefer the newest with modules left.
        let fresh = self
            .alive
            .iter()
            .rposition(|l| l.alive(t) && usize::from(l.loads) < modules(l.bin).len() && l.role != Role::Root);
        let i = match fresh {
            Some(i) if self.rng.chance(0.85) => i,
            _ => match self.pick(t, |_| 1) {
                Some(i) => i,
                None => return false,
            },
        };
        let list = modules(self.alive[i].bin);
        let k = usize::from(self.alive[i].loads);
        let module = if k < list.len() {
            self.alive[i].loads += 1;
            list[k]
        } else {
            list[self.rng.idx(list.len())]
        };
        let image = module.image(self.dev.d.variant).clone();
        let initiator = self.alive[i].p.clone();
        self.emit(t, Kind::ImageLoaded { image, initiator });
        true
    }

    // --- logons ---

    #[allow(clippy::too_many_arguments)]
    fn logon(
        &mut self,
        t: Nanos,
        action: &'static str,
        account: &Arc<Account>,
        logon_type: &'static str,
        logon_id: i64,
        source: Option<(Arc<str>, Option<Arc<str>>)>,
        failure: Option<&'static str>,
    ) {
        let dev = self.dev;
        let initiator = match dev.d.family {
            OsFamily::WindowsClient | OsFamily::WindowsServer => {
                let role =
                    if matches!(logon_type, "Network" | "Batch" | "Service") { Role::Lsass } else { Role::Logon };
                self.find(t, role).map(|i| self.alive[i].p.clone())
            }
            OsFamily::Linux => self.find(t, Role::SshDaemon).map(|i| self.alive[i].p.clone()),
            OsFamily::MacOs => self.find(t, Role::Logon).map(|i| self.alive[i].p.clone()),
        };
        let protocol = match (dev.win, logon_type) {
            (true, "Network") => Some(if self.rng.chance(0.85) { "Kerberos" } else { "NTLM" }),
            (true, "Interactive" | "RemoteInteractive") => Some("Negotiate"),
            _ => None,
        };
        let remote_port = source.as_ref().map(|_| self.rng.between(49_152, 65_536) as i32);
        let public = source.as_ref().is_some_and(|s| s.0.starts_with("198.51.100."));
        let (remote_ip, remote_device_name) = match source {
            Some((ip, name)) => (Some(ip), name),
            None => (None, None),
        };
        self.emit(
            t,
            Kind::Logon(Logon {
                action,
                account: account.clone(),
                logon_type,
                protocol,
                failure_reason: failure,
                is_local_admin: account.name.starts_with("adm-")
                    || &*account.name == "Administrator"
                    || &*account.name == "root",
                logon_id,
                remote_device_name,
                remote_ip_type: remote_ip.as_ref().map(|_| if public { "Public" } else { "Private" }),
                remote_ip,
                remote_port,
                initiator,
            }),
        );
    }

    fn logon_slot(&mut self, t: Nanos) -> bool {
        let dev = self.dev;
        let isolated = self.isolated;
        let session = self.session_at(t);
        match dev.d.family {
            OsFamily::WindowsClient | OsFamily::MacOs => {
                if let Some(s) = session
                    && (isolated || self.rng.chance(0.6))
                {
                    let (account, id) = (self.sessions[s].account.clone(), self.sessions[s].logon_id);
                    let failed = self.rng.chance(0.1);
                    let (action, reason) = if failed {
                        ("LogonFailed", Some("InvalidUserNameOrPassword"))
                    } else {
                        ("LogonSuccess", None)
                    };
                    self.logon(t, action, &account, "Unlock", id, None, reason);
                    return true;
                }
                if isolated || !dev.win {
                    return false;
                }
                // The helpdesk reaches clients over the network from admin workstations.
                let Some(account) = dev.admin.clone() else { return false };
                let mut rng = Rng::new(self.rng.next_u64(), 3);
                let source = admin_source(self.g, dev, &mut rng);
                let id = self.rng.between(0x10_0000, 0x7FFF_FFFF);
                self.logon(t, "LogonSuccess", &account, "Network", id, Some(source), None);
                true
            }
            OsFamily::WindowsServer => {
                if isolated {
                    return false;
                }
                let busy = matches!(dev.d.role, Some("DC" | "FS" | "EXCH" | "RDS" | "PRT"));
                let id = self.rng.between(0x10_0000, 0x7FFF_FFFF);
                if let Some(svc) = dev.service.clone()
                    && self.rng.chance(if busy { 0.1 } else { 0.4 })
                {
                    let logon_type = self.rng.pick(&["Batch", "Service"]);
                    self.logon(t, "LogonSuccess", &svc, logon_type, id, None, None);
                    return true;
                }
                let people = &self.g.infra.people;
                let (account, source) = if !people.is_empty() && (busy || self.rng.chance(0.5)) {
                    let (a, i) = &people[self.rng.idx(people.len())];
                    let src = &self.g.fleet[*i];
                    (a.clone(), (src.ip.clone(), Some(src.host.name.clone())))
                } else if let Some(admin) = dev.admin.clone() {
                    let mut rng = Rng::new(self.rng.next_u64(), 1);
                    (admin, admin_source(self.g, dev, &mut rng))
                } else {
                    return false;
                };
                let failed = self.rng.chance(0.04);
                let (action, reason) =
                    if failed { ("LogonFailed", Some("InvalidUserNameOrPassword")) } else { ("LogonSuccess", None) };
                self.logon(t, action, &account, "Network", id, Some(source), reason);
                true
            }
            OsFamily::Linux => {
                if isolated {
                    return false;
                }
                if dev.d.internet_facing && self.rng.chance(0.7) {
                    let name = self.rng.pick(&["admin", "test", "oracle", "ubuntu", "user", "postgres", "git"]);
                    let account = Arc::new(Account {
                        domain: dev.d.short_name.clone(),
                        name: arc(name),
                        sid: arc(""),
                        upn: None,
                        object_id: None,
                    });
                    let ip: Arc<str> = format!("198.51.100.{}", self.rng.between(1, 255)).into();
                    let id = self.rng.between(1, 5_000);
                    self.logon(
                        t,
                        "LogonFailed",
                        &account,
                        "Network",
                        id,
                        Some((ip, None)),
                        Some("InvalidUserNameOrPassword"),
                    );
                    return true;
                }
                let Some(login) = dev.d.users.iter().rev().find(|u| &*u.name != "root").cloned() else { return false };
                let mut rng = Rng::new(self.rng.next_u64(), 2);
                let source = admin_source(self.g, dev, &mut rng);
                let id = self.rng.between(1, 5_000);
                self.logon(t, "LogonSuccess", &login, "Network", id, Some(source), None);
                true
            }
        }
    }

    // --- DeviceEvents ---

    fn other(&mut self, t: Nanos) -> bool {
        let dev = self.dev;
        let roll = self.rng.below(100);
        if dev.win && roll < 12 {
            let shell = self.alive.iter().rposition(|l| l.alive(t) && l.bin == Bin::PowerShell);
            if let Some(i) = shell {
                let command = self.rng.pick(PS_COMMANDS);
                let initiator = self.alive[i].p.clone();
                let fields = format!(r#"{{"Command":"{command}"}}"#);
                self.emit(
                    t,
                    Kind::Other(OtherEvent {
                        action: "PowerShellCommand",
                        initiator: Some(initiator),
                        additional_fields: Some(fields),
                        ..OtherEvent::default()
                    }),
                );
                return true;
            }
        }
        if dev.win
            && (12..17).contains(&roll)
            && let Some(i) = self.find(t, Role::SvcSchedule)
        {
            let task = self.rng.pick(TASKS);
            let initiator = self.alive[i].p.clone();
            let fields = format!(r#"{{"TaskName":"{}"}}"#, task.replace('\\', "\\\\"));
            self.emit(
                t,
                Kind::Other(OtherEvent {
                    action: "ScheduledTaskUpdated",
                    initiator: Some(initiator),
                    additional_fields: Some(fields),
                    ..OtherEvent::default()
                }),
            );
            return true;
        }
        if dev.win && (17..21).contains(&roll) && !self.isolated {
            let remote_ip: Arc<str> = match self.g.fleet.get(self.rng.idx(self.g.fleet.len())) {
                Some(d) => d.ip.clone(),
                None => arc("10.1.10.10"),
            };
            let port = self.rng.pick(&[5353, 5355, 137, 1900]);
            let remote_port = self.rng.between(1024, 65_536) as i32;
            self.emit(
                t,
                Kind::Other(OtherEvent {
                    action: "FirewallInboundConnectionBlocked",
                    remote_ip: Some(remote_ip),
                    remote_port: Some(remote_port),
                    local_ip: Some(dev.d.ip.clone()),
                    local_port: Some(port),
                    additional_fields: Some(r#"{"FirewallProfile":"Domain"}"#.to_string()),
                    ..OtherEvent::default()
                }),
            );
            return true;
        }
        if dev.win && (21..24).contains(&roll) && !self.isolated {
            let opener = self.find(t, Role::Mail).or_else(|| self.find(t, Role::Chat));
            if let Some(i) = opener {
                let sp = &self.g.infra.sharepoint;
                let site = &sp[self.rng.idx(sp.len())];
                let path = self.rng.pick(&[
                    "/sites/Finance/Shared%20Documents",
                    "/sites/Sales",
                    "/personal/Documents",
                    "/sites/IT/SitePages/Home.aspx",
                ]);
                let url: Arc<str> = format!("https://{}{path}", site.host).into();
                let initiator = self.alive[i].p.clone();
                self.emit(
                    t,
                    Kind::Other(OtherEvent {
                        action: "BrowserLaunchedToOpenUrl",
                        initiator: Some(initiator),
                        remote_url: Some(url),
                        ..OtherEvent::default()
                    }),
                );
                return true;
            }
        }
        if dev.d.family == OsFamily::WindowsClient && roll == 24 && self.session_at(t).is_some() {
            let (maker, product) = self.rng.pick(&[
                ("SanDisk", "Cruzer Blade"),
                ("Kingston", "DataTraveler 3.0"),
                ("Samsung", "Portable SSD T7"),
            ]);
            let fields = format!(
                r#"{{"DriveLetter":"E:","ProductName":"{product}","Manufacturer":"{maker}","SerialNumber":"{:08X}","Volume":"\\??\\Volume{{{}}}"}}"#,
                self.rng.below(u64::from(u32::MAX)),
                self.rng.guid()
            );
            self.emit(
                t,
                Kind::Other(OtherEvent {
                    action: "UsbDriveMounted",
                    additional_fields: Some(fields),
                    ..OtherEvent::default()
                }),
            );
            return true;
        }
        // DNS answers the sensor saw, for the hosts processes connect to.
        let isolated = self.isolated;
        let Some(i) = self.pick(t, |l| if isolated { u32::from(l.role == Role::Sensor) } else { net_weight(l.role) })
        else {
            return false;
        };
        let role = self.alive[i].role;
        let Some(remote) = self.remote(role) else { return false };
        let Some(host) = remote.url.clone() else { return false };
        if remote.inbound || (isolated && !remote.service) {
            return false;
        }
        let initiator = self.alive[i].p.clone();
        let fields = format!(
            r#"{{"DnsQueryString":"{host}","DnsQueryResult":[{{"DnsQueryType":1,"DnsQueryTypeName":"A","Address":"{}"}}]}}"#,
            remote.ip
        );
        self.emit(
            t,
            Kind::Other(OtherEvent {
                action: "DnsQueryResponse",
                initiator: Some(initiator),
                remote_url: Some(host),
                additional_fields: Some(fields),
                ..OtherEvent::default()
            }),
        );
        true
    }
}

struct Written {
    action: &'static str,
    image: Arc<Image>,
    /// (url, referrer, address)
    origin: Option<(Arc<str>, Arc<str>, Arc<str>)>,
    /// (folder path, file name) before a rename.
    previous: Option<(Arc<str>, Arc<str>)>,
}

/// `bytes` random bytes as lowercase hex, straight into an `Arc<str>`.
fn hex(rng: &mut Rng, bytes: usize) -> Arc<str> {
    let mut s = String::with_capacity(bytes * 2);
    rng.hex(&mut s, bytes, false);
    s.into()
}

/// A stable documentation address for a public host.
fn public_ip(host: &str) -> Arc<str> {
    format!("203.0.113.{}", 200 + catalog::fnv1a(host) % 40).into()
}

/// `yyyyMMdd` of a timestamp.
fn date_stamp(t: Nanos) -> String {
    let d = crate::datetime(t);
    format!("{:04}{:02}{:02}", d.year(), d.month() as u8, d.day())
}

fn date_time(t: Nanos) -> String {
    let d = crate::datetime(t);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", d.year(), d.month() as u8, d.day(), d.hour(), d.minute(), d.second())
}

// ---------------------------------------------------------------------------------------------
// Initiator weights by role

fn net_weight(role: Role) -> u32 {
    match role {
        Role::Browser => 30,
        Role::BrowserChild => 14,
        Role::Mail => 10,
        Role::Chat | Role::ChatChild => 8,
        Role::Sync => 6,
        Role::Sensor => 6,
        Role::SvcDns => 8,
        Role::Lsass => 5,
        Role::SvcTelemetry | Role::SvcUpdate | Role::Defender => 3,
        Role::SvcDcom | Role::SvcSchedule | Role::Task | Role::Wmi | Role::Updater | Role::MacSvc => 2,
        Role::Shell => 2,
        Role::Script | Role::AdminShell | Role::Tool => 3,
        Role::Sql | Role::Web | Role::Db | Role::App => 25,
        Role::SshDaemon => 4,
        Role::SvcTerm | Role::SqlAgent | Role::Docker | Role::Resolver => 4,
        _ => 0,
    }
}

fn file_weight(role: Role) -> u32 {
    match role {
        Role::Browser => 8,
        Role::Office => 20,
        Role::Sync => 12,
        Role::Mail => 6,
        Role::Chat => 3,
        Role::Defender => 4,
        Role::Updater | Role::SvcUpdate => 3,
        Role::SvcSysMain => 6,
        Role::SvcSchedule => 2,
        Role::Script => 6,
        Role::Sql | Role::SqlAgent => 4,
        Role::Web => 12,
        Role::Syslog => 20,
        Role::Db | Role::App | Role::Docker => 8,
        Role::Sensor => 2,
        Role::MacSvc => 2,
        _ => 0,
    }
}

fn reg_weight(role: Role) -> u32 {
    match role {
        Role::Shell => 10,
        Role::Sync | Role::Office | Role::Browser | Role::Chat => 6,
        Role::SvcDcom | Role::SvcSchedule | Role::SvcUpdate | Role::Services => 6,
        Role::Defender | Role::Sensor => 4,
        Role::Updater | Role::Tool => 3,
        Role::Task => 2,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Process templates

#[derive(Clone, Copy)]
enum Par {
    Role(Role),
    Bin(Bin),
}

#[derive(Clone, Copy)]
enum Who {
    Builtin(usize),
    Parent,
    User,
    Root,
}

#[derive(Clone, Copy)]
enum Fams {
    Win,
    WinClient,
    WinServer,
    Mac,
    Linux,
}

impl Fams {
    fn matches(self, f: OsFamily) -> bool {
        matches!(
            (self, f),
            (Fams::Win, OsFamily::WindowsClient | OsFamily::WindowsServer)
                | (Fams::WinClient, OsFamily::WindowsClient)
                | (Fams::WinServer, OsFamily::WindowsServer)
                | (Fams::Mac, OsFamily::MacOs)
                | (Fams::Linux, OsFamily::Linux)
        )
    }
}

/// A child process some parent starts now and then.
struct Tpl {
    family: Fams,
    parent: Par,
    bin: Bin,
    role: Role,
    cmd: &'static str,
    who: Who,
    /// Lifetime in seconds.
    life: (i64, i64),
    weight: u32,
    needs_session: bool,
    role_filter: Option<&'static str>,
}

#[allow(clippy::too_many_arguments)] // a table row's constructor
const fn tpl(
    family: Fams,
    parent: Par,
    bin: Bin,
    role: Role,
    cmd: &'static str,
    who: Who,
    life: (i64, i64),
    weight: u32,
) -> Tpl {
    Tpl { family, parent, bin, role, cmd, who, life, weight, needs_session: false, role_filter: None }
}

const fn in_session(t: Tpl) -> Tpl {
    Tpl { needs_session: true, ..t }
}

const fn on(role: &'static str, t: Tpl) -> Tpl {
    Tpl { role_filter: Some(role), ..t }
}

use Fams::{Linux as Lx, Mac as Mc, Win, WinClient as WinC, WinServer as WinS};
use Who::{Builtin as B, Parent as P, Root as R, User as U};

static TEMPLATES: &[Tpl] = &[
    // Windows services and scheduled work.
    in_session(tpl(Win, Par::Role(Role::SvcSchedule), Bin::Taskhostw, Role::Task, "taskhostw.exe", U, (5, 900), 10)),
    tpl(
        Win,
        Par::Role(Role::SvcSchedule),
        Bin::Taskhostw,
        Role::Task,
        "taskhostw.exe Install $(Arg0)",
        B(SYSTEM),
        (5, 120),
        4,
    ),
    tpl(
        Win,
        Par::Role(Role::SvcDcom),
        Bin::WmiPrvSE,
        Role::Wmi,
        r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
        B(NETWORK_SERVICE),
        (60, 900),
        8,
    ),
    in_session(tpl(
        Win,
        Par::Role(Role::SvcDcom),
        Bin::RuntimeBroker,
        Role::Task,
        r"C:\Windows\System32\RuntimeBroker.exe -Embedding",
        U,
        (30, 1800),
        10,
    )),
    in_session(tpl(
        Win,
        Par::Role(Role::SvcDcom),
        Bin::BackgroundTaskHost,
        Role::Task,
        r#""C:\Windows\system32\backgroundTaskHost.exe" -ServerName:BackgroundTaskHost.WebAccountProvider"#,
        U,
        (5, 60),
        6,
    )),
    in_session(tpl(
        Win,
        Par::Role(Role::SvcDcom),
        Bin::Dllhost,
        Role::Task,
        r"C:\Windows\system32\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
        U,
        (5, 120),
        5,
    )),
    tpl(
        Win,
        Par::Role(Role::SvcSchedule),
        Bin::MpCmdRun,
        Role::Defender,
        concat!(
            r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe""#,
            " -IdleTask -TaskName WdCacheMaintenance"
        ),
        B(SYSTEM),
        (10, 300),
        2,
    ),
    tpl(
        Win,
        Par::Role(Role::Defender),
        Bin::MpCmdRun,
        Role::Defender,
        concat!(
            r#""C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MpCmdRun.exe""#,
            " SignaturesUpdateService -ScheduleJob -UnmanagedUpdate"
        ),
        B(SYSTEM),
        (10, 120),
        3,
    ),
    tpl(
        Win,
        Par::Role(Role::SvcDcom),
        Bin::TiWorker,
        Role::Updater,
        concat!(
            r"C:\Windows\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.5072_none_7e1eb4d7ff2e2d34\TiWorker.exe",
            " -Embedding"
        ),
        B(SYSTEM),
        (120, 1800),
        2,
    ),
    tpl(
        Win,
        Par::Role(Role::SvcUpdate),
        Bin::Wuauclt,
        Role::Updater,
        r#""C:\Windows\system32\wuauclt.exe" /RunHandlerComServer"#,
        B(SYSTEM),
        (30, 600),
        2,
    ),
    tpl(
        Win,
        Par::Role(Role::SvcDcom),
        Bin::MoUsoCoreWorker,
        Role::Updater,
        r"C:\Windows\System32\mousocoreworker.exe -Embedding",
        B(SYSTEM),
        (60, 1200),
        3,
    ),
    tpl(
        Win,
        Par::Role(Role::SvcSchedule),
        Bin::Usoclient,
        Role::Updater,
        r"C:\Windows\system32\usoclient.exe StartScan",
        B(SYSTEM),
        (2, 20),
        2,
    ),
    tpl(
        Win,
        Par::Role(Role::SvcSchedule),
        Bin::Gpupdate,
        Role::Tool,
        "gpupdate.exe /target:computer",
        B(SYSTEM),
        (5, 40),
        1,
    ),
    in_session(tpl(
        WinC,
        Par::Role(Role::SvcSchedule),
        Bin::OneDriveUpdater,
        Role::Updater,
        r#""C:\Program Files\Microsoft OneDrive\OneDriveStandaloneUpdater.exe" /reporting"#,
        U,
        (5, 90),
        2,
    )),
    tpl(
        Win,
        Par::Role(Role::Services),
        Bin::Svchost,
        Role::SvcOther,
        r"C:\Windows\System32\svchost.exe -k netsvcs -p -s BITS",
        B(SYSTEM),
        (300, 3600),
        2,
    ),
    tpl(
        Win,
        Par::Role(Role::Services),
        Bin::Svchost,
        Role::SvcOther,
        r"C:\Windows\system32\svchost.exe -k wsappx -p -s ClipSVC",
        B(LOCAL_SERVICE),
        (60, 900),
        2,
    ),
    tpl(
        Win,
        Par::Role(Role::Services),
        Bin::SppSvc,
        Role::Task,
        r"C:\Windows\system32\sppsvc.exe",
        B(NETWORK_SERVICE),
        (30, 120),
        1,
    ),
    tpl(
        Win,
        Par::Role(Role::Services),
        Bin::TrustedInstaller,
        Role::Updater,
        r"C:\Windows\servicing\TrustedInstaller.exe",
        B(SYSTEM),
        (120, 1800),
        1,
    ),
    tpl(
        WinC,
        Par::Role(Role::SvcOther),
        Bin::SearchProtocolHost,
        Role::Task,
        r#""C:\Windows\system32\SearchProtocolHost.exe" Global\UsGthrFltPipeMssGthrPipe1_ Global\UsGthrCtrlFltPipeMssGthrPipe1 1 -2147483646 "Software\Microsoft\Windows Search" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT; MS Search 4.0 Robot)" "C:\ProgramData\Microsoft\Search\Data\Temp\usgthrsvc" "DownLevelDaemon" "#,
        B(SYSTEM),
        (10, 300),
        3,
    ),
    // Client sessions.
    in_session(tpl(
        WinC,
        Par::Bin(Bin::Chrome),
        Bin::Chrome,
        Role::BrowserChild,
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=en-US --device-scale-factor=1 --num-raster-threads=4 --enable-main-frame-before-activation --renderer-client-id=12 --launch-time-ticks=4873526142 --mojo-platform-channel-handle=3868 --field-trial-handle=1940,i,4962853386546582837,16127471548893367513,262144 /prefetch:1"#,
        P,
        (20, 1800),
        25,
    )),
    in_session(tpl(
        WinC,
        Par::Bin(Bin::Chrome),
        Bin::Chrome,
        Role::BrowserChild,
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none --mojo-platform-channel-handle=2212 --field-trial-handle=1940,i,4962853386546582837,16127471548893367513,262144 /prefetch:3"#,
        P,
        (600, 7200),
        3,
    )),
    in_session(tpl(
        WinC,
        Par::Bin(Bin::Msedge),
        Bin::Msedge,
        Role::BrowserChild,
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=renderer --instant-process --lang=en-US --js-flags=--ms-user-locale= --device-scale-factor=1 --num-raster-threads=4 --enable-main-frame-before-activation --renderer-client-id=9 --mojo-platform-channel-handle=4460 --field-trial-handle=2004,i,1357911413461817345,9178624411374219114,262144 /prefetch:1"#,
        P,
        (20, 1800),
        22,
    )),
    in_session(tpl(
        WinC,
        Par::Bin(Bin::Teams),
        Bin::MsedgeWebview2,
        Role::ChatChild,
        r#""C:\Program Files (x86)\Microsoft\EdgeWebView\Application\131.0.2903.70\msedgewebview2.exe" --embedded-browser-webview=1 --webview-exe-name=ms-teams.exe --user-data-dir="C:\Users\Public\AppData\Local\Packages\MSTeams_8wekyb3d8bbwe\LocalCache\Microsoft\MSTeams\EBWebView" --noerrdialogs --disable-features=MojoIpcz --mojo-named-platform-channel-pipe=12280.13220.2047410375469087374"#,
        P,
        (600, 14400),
        6,
    )),
    in_session(tpl(
        WinC,
        Par::Bin(Bin::Explorer),
        Bin::Notepad,
        Role::Editor,
        r#""C:\Windows\system32\notepad.exe""#,
        P,
        (60, 1800),
        2,
    )),
    in_session(tpl(
        WinC,
        Par::Bin(Bin::Explorer),
        Bin::Winword,
        Role::Office,
        r#""C:\Program Files\Microsoft Office\Root\Office16\WINWORD.EXE" /n"#,
        P,
        (300, 3600),
        2,
    )),
    in_session(tpl(
        WinC,
        Par::Bin(Bin::Explorer),
        Bin::Excel,
        Role::Office,
        r#""C:\Program Files\Microsoft Office\Root\Office16\EXCEL.EXE""#,
        P,
        (300, 3600),
        2,
    )),
    in_session(tpl(
        WinC,
        Par::Bin(Bin::Explorer),
        Bin::Cmd,
        Role::Script,
        r#""C:\Windows\system32\cmd.exe" "#,
        P,
        (60, 900),
        1,
    )),
    tpl(
        Win,
        Par::Bin(Bin::Cmd),
        Bin::Conhost,
        Role::Console,
        r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1",
        P,
        (5, 900),
        4,
    ),
    tpl(
        Win,
        Par::Bin(Bin::PowerShell),
        Bin::Conhost,
        Role::Console,
        r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1",
        P,
        (5, 900),
        3,
    ),
    // Servers: scheduled administration and admin sessions.
    tpl(
        WinS,
        Par::Role(Role::SvcSchedule),
        Bin::PowerShell,
        Role::Script,
        r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -File "C:\Scripts\Invoke-HealthCheck.ps1""#,
        B(SYSTEM),
        (5, 120),
        4,
    ),
    tpl(
        WinS,
        Par::Role(Role::SvcSchedule),
        Bin::PowerShell,
        Role::Script,
        r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -File "C:\Scripts\Get-DiskSpaceReport.ps1" -Threshold 15"#,
        B(SYSTEM),
        (5, 60),
        3,
    ),
    on(
        "SQL",
        tpl(
            WinS,
            Par::Role(Role::SqlAgent),
            Bin::PowerShell,
            Role::Script,
            r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -File "C:\Scripts\Backup-SqlDatabases.ps1" -Destination "D:\MSSQL\Backup""#,
            P,
            (60, 900),
            4,
        ),
    ),
    on(
        "WEB",
        tpl(
            WinS,
            Par::Role(Role::SvcSchedule),
            Bin::PowerShell,
            Role::Script,
            r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -File "C:\Scripts\Rotate-IISLogs.ps1" -KeepDays 30"#,
            B(SYSTEM),
            (5, 120),
            3,
        ),
    ),
    on(
        "DC",
        tpl(
            WinS,
            Par::Role(Role::SvcSchedule),
            Bin::PowerShell,
            Role::Script,
            r#""C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe" -NoProfile -ExecutionPolicy Bypass -File "C:\Scripts\Export-StaleComputers.ps1" -DaysInactive 90"#,
            B(SYSTEM),
            (10, 300),
            3,
        ),
    ),
    tpl(
        WinS,
        Par::Role(Role::SvcSchedule),
        Bin::Cmd,
        Role::Script,
        r#"C:\Windows\system32\cmd.exe /c "C:\Scripts\cleanup-temp.cmd""#,
        B(SYSTEM),
        (2, 60),
        2,
    ),
    tpl(
        WinS,
        Par::Role(Role::AdminShell),
        Bin::Ipconfig,
        Role::Tool,
        r#""C:\Windows\system32\ipconfig.exe" /all"#,
        P,
        (1, 3),
        3,
    ),
    tpl(
        WinS,
        Par::Role(Role::AdminShell),
        Bin::Sc,
        Role::Tool,
        r#""C:\Windows\system32\sc.exe" query wuauserv"#,
        P,
        (1, 3),
        2,
    ),
    tpl(
        WinS,
        Par::Role(Role::AdminShell),
        Bin::Gpupdate,
        Role::Tool,
        r#""C:\Windows\system32\gpupdate.exe" /force"#,
        P,
        (5, 40),
        1,
    ),
    // macOS.
    tpl(
        Mc,
        Par::Bin(Bin::Launchd),
        Bin::MdworkerShared,
        Role::Spotlight,
        "/System/Library/Frameworks/CoreServices.framework/Frameworks/Metadata.framework/Versions/A/Support/mdworker_shared -s mdworker -c MDSImporterWorker -m com.apple.mdworker.shared",
        R,
        (30, 300),
        15,
    ),
    tpl(Mc, Par::Bin(Bin::Launchd), Bin::Xpcproxy, Role::MacSvc, "xpcproxy com.apple.nsurlsessiond", R, (1, 5), 8),
    in_session(tpl(
        Mc,
        Par::Bin(Bin::MacChrome),
        Bin::MacChromeHelper,
        Role::BrowserChild,
        "/Applications/Google Chrome.app/Contents/Frameworks/Google Chrome Framework.framework/Versions/131.0.6778.86/Helpers/Google Chrome Helper (Renderer).app/Contents/MacOS/Google Chrome Helper (Renderer) --type=renderer --lang=en-US --num-raster-threads=4 --enable-zero-copy --renderer-client-id=8 --seatbelt-client=67",
        P,
        (20, 1800),
        20,
    )),
    in_session(tpl(Mc, Par::Bin(Bin::MacZsh), Bin::MacGit, Role::Tool, "git pull --rebase", P, (1, 10), 3)),
    in_session(tpl(
        Mc,
        Par::Bin(Bin::MacZsh),
        Bin::MacCurl,
        Role::Tool,
        "curl -sSL https://api.github.com/repos/contoso/app/releases/latest",
        P,
        (1, 5),
        1,
    )),
    in_session(tpl(Mc, Par::Bin(Bin::MacZsh), Bin::MacPython, Role::Script, "python3 -m pytest -q", P, (5, 300), 1)),
    tpl(
        Mc,
        Par::Bin(Bin::Launchd),
        Bin::Launchctl,
        Role::Tool,
        "/bin/launchctl asuser 501 /usr/bin/open -g -a Slack",
        R,
        (1, 2),
        1,
    ),
    // Linux.
    tpl(Lx, Par::Role(Role::Cron), Bin::Dash, Role::Script, "/bin/sh -c /usr/local/bin/backup.sh", R, (2, 60), 3),
    tpl(
        Lx,
        Par::Role(Role::Cron),
        Bin::Dash,
        Role::Script,
        "/bin/sh -c \"curl -fsS -m 10 http://localhost:8080/health > /dev/null\"",
        R,
        (1, 5),
        4,
    ),
    tpl(Lx, Par::Bin(Bin::Dash), Bin::Bash, Role::Script, "/bin/bash /usr/local/bin/backup.sh", P, (2, 60), 3),
    tpl(
        Lx,
        Par::Bin(Bin::Bash),
        Bin::Tar,
        Role::Tool,
        "tar -czf /var/backups/app-data.tar.gz /opt/app/data",
        P,
        (5, 120),
        2,
    ),
    tpl(
        Lx,
        Par::Bin(Bin::Dash),
        Bin::LinuxCurl,
        Role::Tool,
        "curl -fsS -m 10 http://localhost:8080/health",
        P,
        (1, 3),
        3,
    ),
    tpl(
        Lx,
        Par::Bin(Bin::Systemd),
        Bin::Logrotate,
        Role::Tool,
        "/usr/sbin/logrotate /etc/logrotate.conf",
        R,
        (1, 20),
        1,
    ),
    tpl(Lx, Par::Bin(Bin::Systemd), Bin::SystemdTmpfiles, Role::Tool, "systemd-tmpfiles --clean", R, (1, 5), 1),
    tpl(
        Lx,
        Par::Bin(Bin::Systemd),
        Bin::Dash,
        Role::Updater,
        "/bin/sh /usr/lib/apt/apt.systemd.daily update",
        R,
        (10, 120),
        1,
    ),
    tpl(Lx, Par::Role(Role::Updater), Bin::AptGet, Role::Updater, "apt-get -qq -y update", P, (10, 90), 3),
    tpl(Lx, Par::Bin(Bin::AptGet), Bin::AptHttp, Role::Updater, "/usr/lib/apt/methods/http", P, (5, 60), 3),
    tpl(
        Lx,
        Par::Bin(Bin::Systemd),
        Bin::LinuxPython,
        Role::Updater,
        "/usr/bin/python3 /usr/bin/unattended-upgrade --download-only",
        R,
        (10, 300),
        1,
    ),
    tpl(Lx, Par::Role(Role::AdminShell), Bin::Sudo, Role::Tool, "sudo systemctl status nginx", P, (1, 5), 3),
    tpl(Lx, Par::Role(Role::AdminShell), Bin::Systemctl, Role::Tool, "systemctl status --no-pager", P, (1, 3), 2),
    tpl(
        Lx,
        Par::Role(Role::AdminShell),
        Bin::Journalctl,
        Role::Tool,
        "journalctl -u nginx --since \"1 hour ago\"",
        P,
        (1, 60),
        2,
    ),
    tpl(Lx, Par::Role(Role::AdminShell), Bin::Df, Role::Tool, "df -h", P, (1, 2), 2),
    tpl(
        Lx,
        Par::Role(Role::Docker),
        Bin::Containerd,
        Role::Docker,
        "/usr/bin/containerd-shim-runc-v2 -namespace moby -id 9f1c2d7e8a4b -address /run/containerd/containerd.sock",
        R,
        (60, 3600),
        2,
    ),
];

const PS_COMMANDS: &[&str] = &[
    "Get-Service",
    "Get-EventLog -LogName System -Newest 50",
    "Get-WindowsUpdateLog",
    "Restart-Service -Name Spooler",
    "Get-ChildItem -Path C:\\\\Scripts\\\\Logs",
    "Test-NetConnection -ComputerName dc01 -Port 389",
    "Get-Process | Sort-Object CPU -Descending | Select-Object -First 10",
    "Get-HotFix",
];

const TASKS: &[&str] = &[
    r"\Microsoft\Windows\UpdateOrchestrator\Schedule Scan",
    r"\Microsoft\Windows\Windows Defender\Windows Defender Cache Maintenance",
    r"\Microsoft\Windows\WindowsUpdate\Scheduled Start",
    r"\Microsoft\Office\Office Automatic Updates 2.0",
    r"\OneDrive Standalone Update Task-S-1-5-21",
];

const PREFETCH: &[&str] = &[
    "CHROME.EXE",
    "MSEDGE.EXE",
    "OUTLOOK.EXE",
    "TASKHOSTW.EXE",
    "RUNTIMEBROKER.EXE",
    "SVCHOST.EXE",
    "WMIPRVSE.EXE",
    "ONEDRIVE.EXE",
    "CONHOST.EXE",
];

const DOCUMENTS: &[&str] = &[
    "Budget 2025.xlsx",
    "Q3 Board Report.docx",
    "Team Offsite Agenda.docx",
    "Sales Pipeline.xlsx",
    "Project Plan.docx",
    "Customer List.xlsx",
    "Meeting Notes.docx",
    "Forecast FY25.xlsx",
];

const ATTACHMENTS: &[&str] =
    &["Invoice_88213.pdf", "Signed Contract.pdf", "image001.png", "Agenda.docx", "Timesheet.xlsx"];

/// (file name, host, path, referrer host, size)
type Download = (&'static str, &'static str, &'static str, &'static str, i64);

const WIN_DOWNLOADS: &[Download] = &[
    ("ChromeSetup.exe", "dl.google.com", "/chrome/install/ChromeSetup.exe", "www.google.com", 1_359_128),
    (
        "VSCodeUserSetup-x64-1.95.3.exe",
        "update.code.visualstudio.com",
        "/1.95.3/win32-x64-user/stable",
        "code.visualstudio.com",
        99_871_016,
    ),
    (
        "python-3.12.7-amd64.exe",
        "www.python.org",
        "/ftp/python/3.12.7/python-3.12.7-amd64.exe",
        "www.python.org",
        26_542_688,
    ),
    ("7z2408-x64.exe", "www.7-zip.org", "/a/7z2408-x64.exe", "www.7-zip.org", 1_608_760),
    ("ZoomInstallerFull.msi", "zoom.us", "/client/latest/ZoomInstallerFull.msi", "zoom.us", 93_204_480),
    ("Expense Policy 2025.pdf", "www.office.com", "/download/expense-policy.pdf", "www.office.com", 412_331),
    ("screenshot-dashboard.png", "github.com", "/contoso/app/assets/screenshot.png", "github.com", 233_901),
    ("export.csv", "www.bing.com", "/export.csv", "www.bing.com", 18_440),
];

const MAC_DOWNLOADS: &[Download] = &[
    (
        "googlechrome.dmg",
        "dl.google.com",
        "/chrome/mac/universal/stable/GGRO/googlechrome.dmg",
        "www.google.com",
        229_144_116,
    ),
    (
        "Slack-4.41.97-macOS.dmg",
        "downloads.slack-edge.com",
        "/desktop-releases/mac/universal/4.41.97/Slack-4.41.97-macOS.dmg",
        "slack.com",
        198_452_114,
    ),
    (
        "VSCode-darwin-universal.zip",
        "update.code.visualstudio.com",
        "/1.95.3/darwin-universal/stable",
        "code.visualstudio.com",
        283_115_520,
    ),
    ("Expense Policy 2025.pdf", "www.office.com", "/download/expense-policy.pdf", "www.office.com", 412_331),
];

const DEBS: &[&str] = &[
    "openssl_3.0.2-0ubuntu1.18",
    "libssl3_3.0.2-0ubuntu1.18",
    "tzdata_2024a-0ubuntu0.22.04.1",
    "curl_7.81.0-1ubuntu1.18",
    "linux-libc-dev_5.15.0-126.136",
    "mdatp_101.24092.0004",
];

// ---------------------------------------------------------------------------------------------
// Registry templates

#[derive(Clone, Copy)]
enum Hive {
    Machine,
    /// Under the initiating account's SID.
    User,
}

#[derive(Clone, Copy)]
enum Data {
    Text(&'static str),
    Number(i64, i64),
    Binary,
    Time,
}

struct RegTpl {
    roles: &'static [Role],
    hive: Hive,
    key: &'static str,
    value: &'static str,
    value_type: &'static str,
    data: Data,
}

static REGISTRY: &[RegTpl] = &[
    RegTpl {
        roles: &[Role::SvcUpdate, Role::Updater],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\Results\Detect",
        value: "LastSuccessTime",
        value_type: "String",
        data: Data::Time,
    },
    RegTpl {
        roles: &[Role::SvcUpdate, Role::Updater],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\WindowsUpdate\UpdatePolicy\Settings",
        value: "PausedFeatureStatus",
        value_type: "Dword",
        data: Data::Number(0, 2),
    },
    RegTpl {
        roles: &[Role::Updater],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\SessionsPending",
        value: "Exclusive",
        value_type: "Dword",
        data: Data::Number(0, 4),
    },
    RegTpl {
        roles: &[Role::Defender],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows Defender\Signature Updates",
        value: "AVSignatureVersion",
        value_type: "String",
        data: Data::Text("1.421.1587.0"),
    },
    RegTpl {
        roles: &[Role::Defender],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows Defender\Signature Updates",
        value: "SignaturesLastUpdated",
        value_type: "Binary",
        data: Data::Binary,
    },
    RegTpl {
        roles: &[Role::Sensor],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status",
        value: "LastConnected",
        value_type: "Qword",
        data: Data::Number(133_700_000_000_000_000, 133_800_000_000_000_000),
    },
    RegTpl {
        roles: &[Role::SvcSchedule, Role::Task],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tree\Microsoft\Windows\UpdateOrchestrator\Schedule Scan",
        value: "Index",
        value_type: "Dword",
        data: Data::Number(1, 4),
    },
    RegTpl {
        roles: &[Role::SvcSchedule],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Schedule\TaskCache\Tasks\{5F1E6A3C-7D8B-4E2A-9C0D-1B2A3C4D5E6F}",
        value: "DynamicInfo",
        value_type: "Binary",
        data: Data::Binary,
    },
    RegTpl {
        roles: &[Role::SvcDcom, Role::Services],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Services\bam\State\UserSettings\S-1-5-18",
        value: r"\Device\HarddiskVolume3\Windows\System32\svchost.exe",
        value_type: "Binary",
        data: Data::Binary,
    },
    RegTpl {
        roles: &[Role::SvcDcom, Role::Services],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run",
        value: "SecurityHealth",
        value_type: "Binary",
        data: Data::Binary,
    },
    RegTpl {
        roles: &[Role::Tool],
        hive: Hive::Machine,
        key: r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows\CurrentVersion\Group Policy\State\Machine\Extension-List\{00000000-0000-0000-0000-000000000000}",
        value: "EndTimeLo",
        value_type: "Dword",
        data: Data::Number(0, u32::MAX as i64),
    },
    RegTpl {
        roles: &[Role::Shell],
        hive: Hive::User,
        key: r"Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs\.docx",
        value: "MRUListEx",
        value_type: "Binary",
        data: Data::Binary,
    },
    RegTpl {
        roles: &[Role::Shell],
        hive: Hive::User,
        key: r"Software\Microsoft\Windows\CurrentVersion\Explorer\UserAssist\{CEBFF5CD-ACE2-4F4F-9178-9926F41749EA}\Count",
        value: "{6Q809377-6NS0-444O-8957-N3773S02200R}\\Zvpebfbsg Bssvpr\\ebbg\\Bssvpr16\\BHGYBBX.RKR",
        value_type: "Binary",
        data: Data::Binary,
    },
    RegTpl {
        roles: &[Role::Shell],
        hive: Hive::User,
        key: r"Software\Microsoft\Windows\CurrentVersion\Explorer\FeatureUsage\AppSwitched",
        value: "Microsoft.Windows.Explorer",
        value_type: "Dword",
        data: Data::Number(1, 4000),
    },
    RegTpl {
        roles: &[Role::Sync],
        hive: Hive::User,
        key: r"Software\Microsoft\Windows\CurrentVersion\Run",
        value: "OneDrive",
        value_type: "String",
        data: Data::Text(r#""C:\Program Files\Microsoft OneDrive\OneDrive.exe" /background"#),
    },
    RegTpl {
        roles: &[Role::Sync],
        hive: Hive::User,
        key: r"Software\Microsoft\OneDrive\Accounts\Business1",
        value: "LastSignInTime",
        value_type: "Dword",
        data: Data::Number(1_730_000_000, 1_760_000_000),
    },
    RegTpl {
        roles: &[Role::Office],
        hive: Hive::User,
        key: r"Software\Microsoft\Office\16.0\Word\Reading Locations\Document 0",
        value: "Datetime",
        value_type: "String",
        data: Data::Time,
    },
    RegTpl {
        roles: &[Role::Office],
        hive: Hive::User,
        key: r"Software\Microsoft\Office\16.0\Common\Roaming\Identities",
        value: "LastSwitchedTime",
        value_type: "Qword",
        data: Data::Number(133_700_000_000_000_000, 133_800_000_000_000_000),
    },
    RegTpl {
        roles: &[Role::Browser],
        hive: Hive::User,
        key: r"Software\Google\Chrome\BLBeacon",
        value: "version",
        value_type: "String",
        data: Data::Text("131.0.6778.86"),
    },
    RegTpl {
        roles: &[Role::Browser],
        hive: Hive::User,
        key: r"Software\Microsoft\Edge\BLBeacon",
        value: "state",
        value_type: "Dword",
        data: Data::Number(1, 3),
    },
    RegTpl {
        roles: &[Role::Chat],
        hive: Hive::User,
        key: r"Software\Microsoft\Office\Teams",
        value: "HomeUserUpn",
        value_type: "String",
        data: Data::Text(""),
    },
    RegTpl {
        roles: &[Role::Task],
        hive: Hive::User,
        key: r"Software\Microsoft\Windows\CurrentVersion\BackgroundAccessApplications\Microsoft.Windows.Photos_8wekyb3d8bbwe",
        value: "Disabled",
        value_type: "Dword",
        data: Data::Number(0, 2),
    },
];

// ---------------------------------------------------------------------------------------------
// Snapshots

/// The daily `DeviceInfo` row and one `DeviceNetworkInfo` row per network adapter.
fn snapshot(g: &Gen, dev: &Dev, at: Nanos, hour_start: Nanos, sink: &mut Sink) {
    let d = dev.d;
    let m = &d.record.machine;
    let rows = sink.rows(Table::DeviceInfo);
    let c = info_cols();
    rows.time(c[0], at);
    rows.str(c[1], &d.host.id);
    rows.str(c[2], &d.host.name);
    rows.opt_str(c[3], m.agent_version.as_deref());
    rows.opt_str(c[4], m.last_external_ip_address.as_deref());
    rows.opt_str(c[5], m.os_architecture.as_deref());
    rows.str(c[6], &m.os_platform);
    if let Some(b) = m.os_build {
        rows.long(c[7], b);
    }
    let win = dev.win;
    if win {
        rows.bool(c[8], m.is_aad_joined);
        let join = match (d.family, m.is_aad_joined) {
            (OsFamily::WindowsClient, true) => "Hybrid Azure AD Join",
            _ => "Domain Joined",
        };
        rows.str(c[9], join);
    }
    rows.opt_str(c[10], m.aad_device_id.as_deref());
    let logged_on: Vec<&Arc<Account>> = match d.family {
        OsFamily::WindowsClient | OsFamily::MacOs => dev.user.iter().collect(),
        OsFamily::WindowsServer => dev.admin.iter().collect(),
        OsFamily::Linux => dev.login.iter().collect(),
    };
    let users: Vec<serde_json::Value> = logged_on
        .iter()
        .map(|a| {
            let sid = (!a.sid.is_empty()).then(|| a.sid.to_string());
            serde_json::json!({"UserName": &*a.name, "DomainName": &*a.domain, "Sid": sid})
        })
        .collect();
    rows.str(c[11], &serde_json::Value::Array(users).to_string());
    let os_version = match d.family {
        OsFamily::WindowsClient | OsFamily::WindowsServer => "10.0",
        _ => m.version.as_deref().unwrap_or(""),
    };
    rows.str(c[13], os_version);
    rows.str(c[14], m.rbac_group_name.as_deref().unwrap_or("UnassignedGroup"));
    rows.long(c[15], report_id(hour_start, LANE_SNAPSHOT, 0));
    rows.str(c[16], &m.onboarding_status);
    if let Some(vm) = &m.vm_metadata {
        rows.str(c[17], &serde_json::json!({"VmMetadata": vm}).to_string());
    }
    rows.str(c[18], "Endpoint");
    let server = matches!(d.family, OsFamily::WindowsServer | OsFamily::Linux);
    rows.str(c[19], if server { "Server" } else { "Workstation" });
    let (vendor, model) = match (d.family, m.vm_metadata.is_some(), d.laptop) {
        (_, true, _) => ("Microsoft Corporation", "Virtual Machine"),
        (OsFamily::MacOs, _, _) => {
            ("Apple Inc.", if d.index.is_multiple_of(2) { "MacBook Pro" } else { "MacBook Air" })
        }
        (OsFamily::WindowsServer | OsFamily::Linux, _, _) => ("Dell Inc.", "PowerEdge R650"),
        (_, _, true) => ("Dell Inc.", if d.index.is_multiple_of(3) { "Latitude 7440" } else { "Latitude 5540" }),
        _ => ("Dell Inc.", "OptiPlex 7010"),
    };
    rows.str(c[21], model);
    rows.str(c[22], vendor);
    let distribution = match d.family {
        OsFamily::Linux => match m.os_version.as_deref().unwrap_or("") {
            v if v.starts_with("Red Hat") => "RedHat",
            v if v.starts_with("Debian") => "Debian",
            _ => "Ubuntu",
        },
        OsFamily::MacOs => "macOS",
        _ => &m.os_platform,
    };
    rows.str(c[23], distribution);
    rows.opt_str(c[24], m.version.as_deref());
    rows.opt_str(c[26], m.merged_into_machine_id.as_deref());
    rows.bool(c[27], d.internet_facing);
    rows.str(c[28], &m.health_status);
    rows.bool(c[29], m.is_excluded);
    rows.opt_str(c[30], m.exclusion_reason.as_deref());
    rows.opt_str(c[31], m.exposure_level.as_deref());
    rows.opt_str(c[32], m.device_value.as_deref());
    rows.str(c[33], &serde_json::to_string(&m.machine_tags).unwrap_or_else(|_| "[]".into()));
    rows.str(c[35], "Standard");
    rows.end_row();

    // Adapters: the API's addresses grouped by MAC; loopback is not an adapter.
    let cn = net_cols();
    let mut macs: Vec<&str> = vec![];
    for a in &m.ip_addresses {
        if let Some(mac) = a.mac_address.as_deref()
            && !macs.contains(&mac)
        {
            macs.push(mac);
        }
    }
    let gateway = |ip: &str| -> String {
        let mut parts: Vec<&str> = ip.split('.').collect();
        if parts.len() == 4 {
            parts[3] = "1";
        }
        parts.join(".")
    };
    for (k, mac) in macs.iter().enumerate() {
        let addrs: Vec<_> = m.ip_addresses.iter().filter(|a| a.mac_address.as_deref() == Some(mac)).collect();
        let Some(first) = addrs.first() else { continue };
        let up = first.operational_status == "Up";
        let wireless = first.kind == "Wireless80211";
        let v4 = addrs.iter().find(|a| a.ip_address.contains('.')).map(|a| a.ip_address.as_str());
        let ips: Vec<serde_json::Value> = addrs
            .iter()
            .map(|a| {
                let (prefix, kind) = if a.ip_address.contains(':') {
                    (64, "LinkLocal")
                } else if a.ip_address.starts_with("169.254.") {
                    (16, "LinkLocal")
                } else {
                    (24, "Private")
                };
                serde_json::json!({"IPAddress": a.ip_address, "SubnetPrefix": prefix, "AddressType": kind})
            })
            .collect();
        let rows = sink.rows(Table::DeviceNetworkInfo);
        rows.time(cn[0], at);
        rows.str(cn[1], &d.host.id);
        rows.str(cn[2], &d.host.name);
        let name = match (d.family, wireless) {
            (OsFamily::Linux, _) => {
                if k == 0 {
                    "eth0"
                } else {
                    "eth1"
                }
            }
            (OsFamily::MacOs, _) => "en0",
            (_, true) => "Wi-Fi",
            _ => {
                if k == 0 {
                    "Ethernet"
                } else {
                    "Ethernet 2"
                }
            }
        };
        rows.str(cn[3], name);
        let mut pretty = String::with_capacity(17);
        for (i, ch) in mac.chars().enumerate() {
            if i > 0 && i % 2 == 0 {
                pretty.push('-');
            }
            pretty.push(ch);
        }
        rows.str(cn[4], &pretty);
        rows.str(cn[5], &first.kind);
        rows.str(cn[6], &first.operational_status);
        rows.str(cn[7], "None");
        if up && let Some(v4) = v4 {
            let (category, network) = if v4.starts_with("192.168.") {
                ("Private", "Home")
            } else if v4.starts_with("172.16.") {
                ("Public", "Azure")
            } else {
                ("Domain", g.onedrive.trim_start_matches("OneDrive - "))
            };
            let connected = serde_json::json!([{
                "Name": if category == "Domain" { d.host.name.split_once('.').map_or("", |x| x.1) } else { network },
                "Description": network,
                "IsConnectedToInternet": true,
                "Category": category,
            }]);
            rows.str(cn[8], &connected.to_string());
            rows.str(cn[9], &serde_json::json!([&*dev.dc.ip]).to_string());
            if !matches!(d.family, OsFamily::WindowsServer | OsFamily::Linux) {
                rows.str(cn[10], &gateway(v4));
            }
            rows.str(cn[12], &serde_json::json!([gateway(v4)]).to_string());
        }
        rows.str(cn[13], &serde_json::Value::Array(ips).to_string());
        rows.long(cn[14], report_id(hour_start, LANE_SNAPSHOT, 1 + k as u32));
        let vendor = match (m.vm_metadata.is_some(), d.family, wireless) {
            (true, _, _) => "Microsoft Corporation",
            (_, OsFamily::MacOs, _) => "Apple Inc.",
            (_, _, true) => "Intel Corporation",
            _ => "Realtek Semiconductor Corp.",
        };
        rows.str(cn[15], vendor);
        rows.end_row();
    }
}

fn info_cols() -> &'static [usize; 36] {
    static C: OnceLock<[usize; 36]> = OnceLock::new();
    C.get_or_init(|| {
        indexes(
            Table::DeviceInfo,
            [
                "Timestamp",
                "DeviceId",
                "DeviceName",
                "ClientVersion",
                "PublicIP",
                "OSArchitecture",
                "OSPlatform",
                "OSBuild",
                "IsAzureADJoined",
                "JoinType",
                "AadDeviceId",
                "LoggedOnUsers",
                "RegistryDeviceTag",
                "OSVersion",
                "MachineGroup",
                "ReportId",
                "OnboardingStatus",
                "AdditionalFields",
                "DeviceCategory",
                "DeviceType",
                "DeviceSubtype",
                "Model",
                "Vendor",
                "OSDistribution",
                "OSVersionInfo",
                "MergedDeviceIds",
                "MergedToDeviceId",
                "IsInternetFacing",
                "SensorHealthState",
                "IsExcluded",
                "ExclusionReason",
                "ExposureLevel",
                "AssetValue",
                "DeviceManualTags",
                "DeviceDynamicTags",
                "ConnectivityType",
            ],
        )
    })
}

fn net_cols() -> &'static [usize; 16] {
    static C: OnceLock<[usize; 16]> = OnceLock::new();
    C.get_or_init(|| {
        indexes(
            Table::DeviceNetworkInfo,
            [
                "Timestamp",
                "DeviceId",
                "DeviceName",
                "NetworkAdapterName",
                "MacAddress",
                "NetworkAdapterType",
                "NetworkAdapterStatus",
                "TunnelType",
                "ConnectedNetworks",
                "DnsAddresses",
                "IPv4Dhcp",
                "IPv6Dhcp",
                "DefaultGateways",
                "IPAddresses",
                "ReportId",
                "NetworkAdapterVendor",
            ],
        )
    })
}
