//! Shared tables of the simulated estate: the binaries devices run (with stable hashes), the
//! network destinations they talk to, and the seeded generator everything draws from.
//!
//! **Hashes agree with the API.** A binary's hashes depend on its name, OS family and the build
//! of the OS the device carries, derived exactly as `palisade_defender::fixtures` derives the
//! file profiles it serves at `/api/files/{sha1}`: the `powershell.exe` a hunting row names on a
//! Windows 11 23H2 device is a file the API knows, with the same size. Binaries the fixtures do not
//! list follow the same rule.
//!
//! **Addresses are documentation ranges.** Public destinations resolve into `203.0.113.128/25`
//! (RFC 5737), the Defender service's own hosts into `203.0.113.240/28`, so no real third party's
//! address appears and [`is_service_destination`] can tell the service apart by address too.

use std::net::Ipv4Addr;
use std::sync::{Arc, OnceLock};

use crate::event::{Image, VersionInfo};

// ---------------------------------------------------------------------------------------------
// Randomness

/// The generators' deterministic sampler and mixers, shared with the API's fixtures so a
/// binary's hash is derived the same way in both.
pub use palisade_defender::sample::{Rng, fnv1a, mix64};

/// A seed from `(base, purpose, a, b)`: every stream of the simulator is keyed this way.
pub fn seed(base: u64, purpose: &str, a: u64, b: u64) -> u64 {
    mix64(base ^ mix64(fnv1a(purpose) ^ mix64(a ^ mix64(b))))
}

// ---------------------------------------------------------------------------------------------
// Binaries

/// Operating-system family as the fixtures number it (the number is part of the hash seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fam {
    Win = 0,
    Mac = 1,
    Linux = 2,
}

/// Who made a binary, which decides its version resource and signer.
#[derive(Clone, Copy)]
enum Vendor {
    /// Part of Windows: versioned with the OS build.
    Os,
    /// A signed product: (company, product, versions by build).
    Signed(&'static str, &'static str, &'static [&'static str]),
    /// macOS or Linux: no PE version resource.
    Unix,
}

#[derive(Clone, Copy)]
struct Def {
    name: &'static str,
    dir: &'static str,
    fam: Fam,
    /// Distinct builds in the estate; a device carries build `variant % variants`.
    variants: u8,
    size: i64,
    vendor: Vendor,
    description: &'static str,
}

/// File versions of Windows binaries by OS build variant (Windows 10 22H2, 21H2, 11 23H2, 24H2,
/// 22H2, Server 2019, Server 2022 — the fixtures' variant numbers).
const WINVER: [&str; 7] = [
    "10.0.19041.5072",
    "10.0.19041.3996",
    "10.0.22621.4391",
    "10.0.26100.2314",
    "10.0.22621.3958",
    "10.0.17763.6414",
    "10.0.20348.2849",
];
const MS: &str = "Microsoft Corporation";
const OFFICE_V: &[&str] = &["16.0.18129.20116", "16.0.18025.20140", "16.0.17928.20216"];
const EDGE_V: &[&str] = &["131.0.2903.70", "131.0.2903.51", "130.0.2849.80"];
const CHROME_V: &[&str] = &["131.0.6778.86", "131.0.6778.70", "130.0.6723.117"];
const TEAMS_V: &[&str] = &["24295.605.3225.8804", "24277.3507.3205.3527", "24243.1309.3132.617"];
const ONEDRIVE_V: &[&str] = &["24.201.1006.0005", "24.194.0929.0001", "24.186.0915.0001"];
const DEFENDER_V: &[&str] = &["4.18.24090.11", "4.18.24080.9", "4.18.24070.5"];
const SENSE_V: &[&str] = &["10.8760.19041.5072", "10.8760.22621.4391", "10.8760.17763.6414"];
const SQL_V: &[&str] = &["2019.150.4395.2", "2019.150.4385.2"];
const DOTNET_V: &[&str] = &["4.8.9282.0", "4.8.4718.0", "4.8.9256.0"];
const VC_V: &[&str] = &["14.40.33810.0", "14.38.33135.0", "14.36.32532.0"];
const SEVENZIP_V: &[&str] = &["24.08", "23.01"];

const SYS32: &str = r"C:\Windows\System32";
const OFFICE: &str = r"C:\Program Files\Microsoft Office\root\Office16";
const DEFENDER: &str = r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0";
const SQL_BINN: &str = r"C:\Program Files\Microsoft SQL Server\MSSQL15.MSSQLSERVER\MSSQL\Binn";

const fn os(name: &'static str, dir: &'static str, size: i64, description: &'static str) -> Def {
    Def { name, dir, fam: Fam::Win, variants: 7, size, vendor: Vendor::Os, description }
}

const fn signed(
    name: &'static str,
    dir: &'static str,
    size: i64,
    company: &'static str,
    product: &'static str,
    versions: &'static [&'static str],
    description: &'static str,
) -> Def {
    Def { name, dir, fam: Fam::Win, variants: 3, size, vendor: Vendor::Signed(company, product, versions), description }
}

const fn mac(name: &'static str, dir: &'static str, size: i64) -> Def {
    Def { name, dir, fam: Fam::Mac, variants: 3, size, vendor: Vendor::Unix, description: "" }
}

const fn linux(name: &'static str, dir: &'static str, size: i64) -> Def {
    Def { name, dir, fam: Fam::Linux, variants: 4, size, vendor: Vendor::Unix, description: "" }
}

macro_rules! bins {
    ($($id:ident => $def:expr,)*) => {
        /// A binary of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Bin { $($id,)* }

        impl Bin {
            pub const ALL: &'static [Bin] = &[$(Bin::$id,)*];

            fn def(self) -> Def {
                match self { $(Bin::$id => $def,)* }
            }
        }
    };
}

bins! {
    // Windows: boot and session processes.
    Services => os("services.exe", SYS32, 723_488, "Services and Controller app"),
    Wininit => os("wininit.exe", SYS32, 431_464, "Windows Start-Up Application"),
    Winlogon => os("winlogon.exe", SYS32, 907_264, "Windows Logon Application"),
    Lsass => os("lsass.exe", SYS32, 60_216, "Local Security Authority Process"),
    Svchost => os("svchost.exe", SYS32, 57_360, "Host Process for Windows Services"),
    Userinit => os("userinit.exe", SYS32, 33_280, "Userinit Logon Application"),
    Explorer => os("explorer.exe", r"C:\Windows", 5_485_848, "Windows Explorer"),
    Sihost => os("sihost.exe", SYS32, 126_976, "Shell Infrastructure Host"),
    Taskhostw => os("taskhostw.exe", SYS32, 100_864, "Host Process for Windows Tasks"),
    RuntimeBroker => os("RuntimeBroker.exe", SYS32, 141_312, "Runtime Broker"),
    BackgroundTaskHost => os("backgroundTaskHost.exe", SYS32, 35_840, "Background Task Host"),
    WmiPrvSE => os("WmiPrvSE.exe", r"C:\Windows\System32\wbem", 496_640, "WMI Provider Host"),
    Dllhost => os("dllhost.exe", SYS32, 21_312, "COM Surrogate"),
    SearchProtocolHost => os("SearchProtocolHost.exe", SYS32, 438_272, "Microsoft Windows Search Protocol Host"),
    TiWorker => os(
        "TiWorker.exe",
        r"C:\Windows\WinSxS\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_10.0.19041.5072_none_7e1eb4d7ff2e2d34",
        212_992,
        "Windows Modules Installer Worker"
    ),
    TrustedInstaller => os("TrustedInstaller.exe", r"C:\Windows\servicing", 151_040, "Windows Modules Installer"),
    Wuauclt => os("wuauclt.exe", SYS32, 70_656, "Windows Update"),
    MoUsoCoreWorker => os("MoUsoCoreWorker.exe", SYS32, 1_376_256, "MoUSO Core Worker Process"),
    Usoclient => os("usoclient.exe", SYS32, 48_640, "UsoClient"),
    Gpupdate => os("gpupdate.exe", SYS32, 30_720, "Microsoft® Windows Group Policy Update Utility"),
    Conhost => os("conhost.exe", SYS32, 1_000_448, "Console Window Host"),
    Cmd => os("cmd.exe", SYS32, 323_584, "Windows Command Processor"),
    PowerShell => os("powershell.exe", r"C:\Windows\System32\WindowsPowerShell\v1.0", 455_680, "Windows PowerShell"),
    Schtasks => os("schtasks.exe", SYS32, 235_520, "Task Scheduler Configuration Tool"),
    Reg => os("reg.exe", SYS32, 81_920, "Registry Console Tool"),
    Rundll32 => os("rundll32.exe", SYS32, 71_680, "Windows host process (Rundll32)"),
    Ipconfig => os("ipconfig.exe", SYS32, 35_840, "IP Configuration Utility"),
    Sc => os("sc.exe", SYS32, 72_704, "Service Control Manager Configuration Tool"),
    Rdpclip => os("rdpclip.exe", SYS32, 421_376, "RDP Clipboard Monitor"),
    Mmc => os("mmc.exe", SYS32, 2_037_760, "Microsoft Management Console"),
    ServerManager => os("ServerManager.exe", SYS32, 3_096_576, "Server Manager"),
    SppSvc => os("sppsvc.exe", SYS32, 4_435_456, "Microsoft Software Protection Platform Service"),
    Notepad => os("notepad.exe", SYS32, 201_216, "Notepad"),
    // Defender.
    MsMpEng => signed("MsMpEng.exe", DEFENDER, 133_064, MS, "Microsoft® Windows® Operating System", DEFENDER_V, "Antimalware Service Executable"),
    MpCmdRun => signed("MpCmdRun.exe", DEFENDER, 1_564_648, MS, "Microsoft® Windows® Operating System", DEFENDER_V, "Microsoft Malware Protection Command Line Utility"),
    MsSense => signed(
        "MsSense.exe",
        r"C:\Program Files\Windows Defender Advanced Threat Protection",
        4_877_240,
        MS,
        "Microsoft® Windows® Operating System",
        SENSE_V,
        "Windows Defender Advanced Threat Protection Service Executable"
    ),
    // Windows applications.
    Chrome => signed("chrome.exe", r"C:\Program Files\Google\Chrome\Application", 3_117_336, "Google LLC", "Google Chrome", CHROME_V, "Google Chrome"),
    Msedge => signed("msedge.exe", r"C:\Program Files (x86)\Microsoft\Edge\Application", 4_105_752, MS, "Microsoft Edge", EDGE_V, "Microsoft Edge"),
    MsedgeWebview2 => signed(
        "msedgewebview2.exe",
        r"C:\Program Files (x86)\Microsoft\EdgeWebView\Application\131.0.2903.70",
        3_431_960,
        MS,
        "Microsoft Edge WebView2 Runtime",
        EDGE_V,
        "Microsoft Edge WebView2"
    ),
    Teams => signed(
        "ms-teams.exe",
        r"C:\Program Files\WindowsApps\MSTeams_24295.605.3225.8804_x64__8wekyb3d8bbwe",
        1_213_312,
        MS,
        "Microsoft Teams",
        TEAMS_V,
        "Microsoft Teams"
    ),
    Outlook => signed("OUTLOOK.EXE", OFFICE, 42_551_672, MS, "Microsoft Office", OFFICE_V, "Microsoft Outlook"),
    Winword => signed("WINWORD.EXE", OFFICE, 1_637_752, MS, "Microsoft Office", OFFICE_V, "Microsoft Word"),
    Excel => signed("EXCEL.EXE", OFFICE, 64_342_384, MS, "Microsoft Office", OFFICE_V, "Microsoft Excel"),
    OneDrive => signed("OneDrive.exe", r"C:\Program Files\Microsoft OneDrive", 3_694_552, MS, "Microsoft OneDrive", ONEDRIVE_V, "Microsoft OneDrive"),
    OneDriveUpdater => signed(
        "OneDriveStandaloneUpdater.exe",
        r"C:\Program Files\Microsoft OneDrive",
        4_023_256,
        MS,
        "Microsoft OneDrive",
        ONEDRIVE_V,
        "Standalone Updater"
    ),
    Sqlservr => Def { variants: 2, ..signed("sqlservr.exe", SQL_BINN, 451_448, MS, "Microsoft SQL Server", SQL_V, "SQL Server Windows NT - 64 Bit") },
    SqlAgent => Def { variants: 2, ..signed("SQLAGENT.EXE", SQL_BINN, 633_928, MS, "Microsoft SQL Server", SQL_V, "SQLAGENT - SQL Server Agent") },
    W3wp => os("w3wp.exe", r"C:\Windows\System32\inetsrv", 31_232, "IIS Worker Process"),
    SevenZip => Def { variants: 2, ..signed("7z.exe", r"C:\Program Files\7-Zip", 558_592, "Igor Pavlov", "7-Zip", SEVENZIP_V, "7-Zip Console") },
    // Windows modules (image loads).
    Ntdll => os("ntdll.dll", SYS32, 2_178_240, "NT Layer DLL"),
    Kernel32 => os("kernel32.dll", SYS32, 772_512, "Windows NT BASE API Client DLL"),
    KernelBase => os("KernelBase.dll", SYS32, 3_841_552, "Windows NT BASE API Client DLL"),
    Advapi32 => os("advapi32.dll", SYS32, 721_920, "Advanced Windows 32 Base API"),
    User32 => os("user32.dll", SYS32, 1_762_320, "Multi-User Windows USER API Client DLL"),
    Ws2_32 => os("ws2_32.dll", SYS32, 438_528, "Windows Socket 2.0 32-Bit DLL"),
    Crypt32 => os("crypt32.dll", SYS32, 1_518_592, "Crypto API32"),
    Bcrypt => os("bcrypt.dll", SYS32, 159_240, "Windows Cryptographic Primitives Library"),
    Winhttp => os("winhttp.dll", SYS32, 1_011_712, "Windows HTTP Services"),
    Wininet => os("wininet.dll", SYS32, 5_015_552, "Internet Extensions for Win32"),
    Amsi => os("amsi.dll", SYS32, 85_504, "Anti-Malware Scan Interface"),
    Mscoree => os("mscoree.dll", SYS32, 363_008, "Microsoft .NET Runtime Execution Engine"),
    Taskschd => os("taskschd.dll", SYS32, 781_312, "Task Scheduler COM API"),
    Wbemcomn => os("wbemcomn.dll", SYS32, 462_848, "WMI"),
    Clr => signed("clr.dll", r"C:\Windows\Microsoft.NET\Framework64\v4.0.30319", 10_680_944, MS, "Microsoft® .NET Framework", DOTNET_V, "Microsoft .NET Runtime Common Language Runtime - WorkStation"),
    Sma => Def { variants: 7, ..signed(
        "System.Management.Automation.dll",
        r"C:\Windows\Microsoft.Net\assembly\GAC_MSIL\System.Management.Automation\v4.0_3.0.0.0__31bf3856ad364e35",
        8_145_408,
        MS,
        "Microsoft (R) Windows (R) Operating System",
        WINVER_SHORT,
        "System.Management.Automation"
    ) },
    Vcruntime => signed("vcruntime140.dll", SYS32, 120_400, MS, "Microsoft® Visual Studio®", VC_V, "Microsoft® C Runtime Library"),
    ChromeDll => signed("chrome.dll", r"C:\Program Files\Google\Chrome\Application\131.0.6778.86", 232_412_440, "Google LLC", "Google Chrome", CHROME_V, "Google Chrome"),
    MsedgeDll => signed("msedge.dll", r"C:\Program Files (x86)\Microsoft\Edge\Application\131.0.2903.70", 254_188_960, MS, "Microsoft Edge", EDGE_V, "Microsoft Edge"),
    Mso => signed("mso20win32client.dll", r"C:\Program Files\Common Files\Microsoft Shared\Office16", 5_391_704, MS, "Microsoft Office", OFFICE_V, "Microsoft Office 2016 component"),
    Sqllang => Def { variants: 2, ..signed("sqllang.dll", SQL_BINN, 44_296_232, MS, "Microsoft SQL Server", SQL_V, "SQL Server Language Library") },
    MpOav => signed("MpOav.dll", DEFENDER, 416_168, MS, "Microsoft® Windows® Operating System", DEFENDER_V, "IOfficeAntiVirus Module"),
    // macOS.
    Launchd => mac("launchd", "/sbin", 381_232),
    Loginwindow => mac("loginwindow", "/System/Library/CoreServices/loginwindow.app/Contents/MacOS", 1_988_512),
    Finder => mac("Finder", "/System/Library/CoreServices/Finder.app/Contents/MacOS", 7_114_336),
    Safari => mac("Safari", "/Applications/Safari.app/Contents/MacOS", 86_064),
    MacChrome => mac("Google Chrome", "/Applications/Google Chrome.app/Contents/MacOS", 215_232),
    MacChromeHelper => mac(
        "Google Chrome Helper (Renderer)",
        "/Applications/Google Chrome.app/Contents/Frameworks/Google Chrome Framework.framework/Versions/131.0.6778.86/Helpers/Google Chrome Helper (Renderer).app/Contents/MacOS",
        184_432
    ),
    Slack => mac("Slack", "/Applications/Slack.app/Contents/MacOS", 181_744),
    MacOutlook => mac("Microsoft Outlook", "/Applications/Microsoft Outlook.app/Contents/MacOS", 110_312_560),
    Softwareupdated => mac("softwareupdated", "/System/Library/PrivateFrameworks/SoftwareUpdate.framework/Versions/A/Resources", 2_713_744),
    MdworkerShared => mac(
        "mdworker_shared",
        "/System/Library/Frameworks/CoreServices.framework/Versions/A/Frameworks/Metadata.framework/Versions/A/Support",
        211_232
    ),
    Trustd => mac("trustd", "/usr/libexec", 1_125_904),
    Nsurlsessiond => mac("nsurlsessiond", "/usr/libexec", 432_192),
    Xpcproxy => mac("xpcproxy", "/usr/libexec", 143_856),
    MacWdav => mac("wdavdaemon_enterprise", "/Library/Application Support/Microsoft/Defender/wdavdaemon_enterprise.app/Contents/MacOS", 31_802_368),
    MacZsh => mac("zsh", "/bin", 1_377_872),
    MacCurl => mac("curl", "/usr/bin", 239_856),
    MacPython => mac("python3", "/usr/bin", 171_232),
    Launchctl => mac("launchctl", "/bin", 406_688),
    MacGit => mac("git", "/usr/bin", 168_080),
    Terminal => mac("Terminal", "/System/Applications/Utilities/Terminal.app/Contents/MacOS", 10_212_528),
    // Linux.
    Systemd => linux("systemd", "/usr/lib/systemd", 1_841_208),
    SystemdResolved => linux("systemd-resolved", "/usr/lib/systemd", 551_856),
    Sshd => linux("sshd", "/usr/sbin", 921_376),
    Cron => linux("cron", "/usr/sbin", 55_944),
    Rsyslogd => linux("rsyslogd", "/usr/sbin", 727_208),
    Bash => linux("bash", "/usr/bin", 1_396_520),
    Dash => linux("dash", "/usr/bin", 125_688),
    LinuxPython => linux("python3.10", "/usr/bin", 5_904_904),
    Apt => linux("apt", "/usr/bin", 18_824),
    AptGet => linux("apt-get", "/usr/bin", 30_960),
    AptHttp => linux("http", "/usr/lib/apt/methods", 88_792),
    Logrotate => linux("logrotate", "/usr/sbin", 96_480),
    SystemdTmpfiles => linux("systemd-tmpfiles", "/usr/bin", 84_360),
    RunParts => linux("run-parts", "/usr/bin", 27_008),
    LinuxCurl => linux("curl", "/usr/bin", 260_328),
    Wget => linux("wget", "/usr/bin", 494_136),
    Java => linux("java", "/usr/lib/jvm/java-17-openjdk-amd64/bin", 14_488),
    Crontab => linux("crontab", "/usr/bin", 47_488),
    Dockerd => linux("dockerd", "/usr/bin", 100_484_016),
    Containerd => linux("containerd", "/usr/bin", 39_653_240),
    Nginx => linux("nginx", "/usr/sbin", 1_190_152),
    Postgres => linux("postgres", "/usr/lib/postgresql/14/bin", 9_271_560),
    LinuxWdav => linux("wdavdaemon", "/opt/microsoft/mdatp/sbin", 41_874_432),
    Sudo => linux("sudo", "/usr/bin", 232_416),
    Systemctl => linux("systemctl", "/usr/bin", 1_003_224),
    Journalctl => linux("journalctl", "/usr/bin", 84_216),
    Df => linux("df", "/usr/bin", 84_840),
    Tar => linux("tar", "/usr/bin", 531_664),
    Gzip => linux("gzip", "/usr/bin", 93_136),
}

/// Versions of `System.Management.Automation.dll`, which follow the OS build like Windows files.
const WINVER_SHORT: &[&str] = &WINVER;

/// Seed of the global file catalogue, the fixtures' value: the same `powershell.exe` has the same
/// hash in every tenant, in the API's file profiles and in the hunting tables.
const CATALOGUE_SEED: u64 = 0x5eed_ca7a_1095_e000;
/// Hash slots per binary (the largest `variants`).
const SLOTS: usize = 8;

fn build_image(def: &Def, v: u8) -> Image {
    let mut r = Rng::new(CATALOGUE_SEED ^ fnv1a(def.name) ^ def.fam as u64, u64::from(v));
    let sha1 = r.hex_string(20);
    let sha256 = r.hex_string(32);
    let md5 = r.hex_string(16);
    // The fixtures draw a profile's first-seen, prevalence and last-seen before the size.
    let mut s = Rng::new(CATALOGUE_SEED ^ fnv1a(&sha1), 7);
    for _ in 0..3 {
        s.next_u64();
    }
    let size = def.size + s.between(-(def.size / 20), def.size / 20 + 1);
    let sep = if def.fam == Fam::Win { '\\' } else { '/' };
    let folder_path = format!("{}{sep}{}", def.dir, def.name);
    let (version, signer_type, signature_status) = match def.vendor {
        Vendor::Os => (
            Some(Arc::new(VersionInfo {
                company: MS,
                product: "Microsoft® Windows® Operating System",
                version: WINVER[usize::from(v) % WINVER.len()],
                internal_name: def.name,
                original_name: def.name,
                description: def.description,
            })),
            Some("OsVendor"),
            Some("Valid"),
        ),
        Vendor::Signed(company, product, versions) => (
            Some(Arc::new(VersionInfo {
                company,
                product,
                version: versions[usize::from(v) % versions.len()],
                internal_name: def.name,
                original_name: def.name,
                description: def.description,
            })),
            Some("ThirdParty"),
            Some("Valid"),
        ),
        Vendor::Unix => (None, None, None),
    };
    Image {
        file_name: def.name.into(),
        folder_path: folder_path.into(),
        sha1: sha1.into(),
        sha256: sha256.into(),
        md5: md5.into(),
        size,
        version,
        signer_type,
        signature_status,
    }
}

fn images() -> &'static [Option<Arc<Image>>] {
    static IMAGES: OnceLock<Vec<Option<Arc<Image>>>> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let mut out = vec![None; Bin::ALL.len() * SLOTS];
        for &b in Bin::ALL {
            let def = b.def();
            for v in 0..def.variants {
                out[b as usize * SLOTS + usize::from(v)] = Some(Arc::new(build_image(&def, v)));
            }
        }
        out
    })
}

impl Bin {
    /// The image of this binary on a device carrying OS build `variant`.
    pub fn image(self, variant: u8) -> &'static Arc<Image> {
        let v = variant % self.def().variants;
        images()[self as usize * SLOTS + usize::from(v)].as_ref().expect("every variant is built")
    }

    pub fn file_name(self) -> &'static str {
        self.def().name
    }

    pub fn family(self) -> Fam {
        self.def().fam
    }
}

/// The fixtures' OS build variant of a machine: which build of the OS binaries it carries.
pub fn os_variant(platform: &str, version: Option<&str>) -> u8 {
    match (platform, version.unwrap_or("")) {
        ("Windows10", "21H2") => 1,
        ("Windows10", _) => 0,
        ("Windows11", "24H2") => 3,
        ("Windows11", "22H2") => 4,
        ("Windows11", _) => 2,
        ("WindowsServer2019", _) => 5,
        ("WindowsServer2022", _) => 6,
        ("macOS", "14.7") => 1,
        ("macOS", "13.7") => 2,
        ("macOS", _) => 0,
        (_, "24.04") => 1,
        (_, "9.4") => 2,
        (_, "12") => 3,
        _ => 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Destinations

/// A remote endpoint processes connect to.
#[derive(Debug, Clone)]
pub struct Dest {
    pub host: Arc<str>,
    pub ip: Arc<str>,
    pub port: i32,
    /// `Tcp` or `Udp`.
    pub protocol: &'static str,
    /// The Defender service itself: reachable while a device is isolated.
    pub service: bool,
    /// The `AdditionalFields` of a `DnsQueryResponse` for this host.
    pub dns_answer: Arc<str>,
}

/// Groups of destinations, by the kind of process that talks to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestSet {
    /// Browsing.
    Web,
    Mail,
    Chat,
    /// OneDrive / SharePoint (tenant hosts are added by the fleet).
    Sync,
    /// Windows background services.
    WinSvc,
    WinUpdate,
    /// Defender antivirus cloud and definition updates.
    Defender,
    /// The Defender for Endpoint service: sensor gateways and cloud channels.
    Service,
    MacSvc,
    MacApps,
    LinuxPkg,
    /// Developer and CI traffic (GitHub, registries).
    Dev,
}

/// (host, last octet in 203.0.113.0/24, port)
type D = (&'static str, u8, i32);

const WEB: &[D] = &[
    ("www.google.com", 130, 443),
    ("www.bing.com", 131, 443),
    ("github.com", 132, 443),
    ("www.microsoft.com", 133, 443),
    ("login.microsoftonline.com", 134, 443),
    ("www.linkedin.com", 135, 443),
    ("www.youtube.com", 136, 443),
    ("www.wikipedia.org", 137, 443),
    ("stackoverflow.com", 138, 443),
    ("learn.microsoft.com", 139, 443),
    ("www.office.com", 140, 443),
    ("aadcdn.msftauth.net", 141, 443),
    ("fonts.googleapis.com", 142, 443),
    ("update.googleapis.com", 143, 443),
    ("clients2.google.com", 144, 443),
    ("www.gstatic.com", 145, 443),
    ("edge.microsoft.com", 146, 443),
    ("ntp.msn.com", 147, 443),
    ("www.bbc.co.uk", 148, 443),
    ("zoom.us", 150, 443),
];
const MAIL: &[D] = &[
    ("outlook.office365.com", 151, 443),
    ("outlook.office.com", 152, 443),
    ("substrate.office.com", 153, 443),
    ("login.microsoftonline.com", 134, 443),
    ("nexus.officeapps.live.com", 198, 443),
];
const CHAT: &[D] = &[
    ("teams.microsoft.com", 154, 443),
    ("presence.teams.microsoft.com", 155, 443),
    ("statics.teams.cdn.office.net", 156, 443),
    ("api.flightproxy.teams.microsoft.com", 157, 443),
    ("login.microsoftonline.com", 134, 443),
];
const SYNC: &[D] = &[("oneclient.sfx.ms", 158, 443), ("g.live.com", 159, 443), ("login.microsoftonline.com", 134, 443)];
const WINSVC: &[D] = &[
    ("ctldl.windowsupdate.com", 162, 80),
    ("settings-win.data.microsoft.com", 163, 443),
    ("v10.events.data.microsoft.com", 164, 443),
    ("www.msftconnecttest.com", 165, 80),
    ("login.live.com", 166, 443),
    ("time.windows.com", 167, 123),
    ("arc.msn.com", 168, 443),
    ("licensing.mp.microsoft.com", 169, 443),
    ("displaycatalog.mp.microsoft.com", 170, 443),
];
const WINUPDATE: &[D] = &[
    ("fe2cr.update.microsoft.com", 171, 443),
    ("slscr.update.microsoft.com", 172, 443),
    ("download.windowsupdate.com", 173, 80),
    ("tlu.dl.delivery.mp.microsoft.com", 174, 80),
    ("ctldl.windowsupdate.com", 162, 80),
];
const DEFENDER_D: &[D] = &[("definitionupdates.microsoft.com", 175, 443), ("go.microsoft.com", 176, 443)];
const SERVICE: &[D] = &[
    ("winatp-gw-weu.microsoft.com", 240, 443),
    ("winatp-gw-neu.microsoft.com", 241, 443),
    ("edr-weu3.endpoint.security.microsoft.com", 242, 443),
    ("wdcp.microsoft.com", 243, 443),
    ("eu-v20.events.data.microsoft.com", 244, 443),
    ("europe.x.cp.wd.microsoft.com", 245, 443),
];
const MACSVC: &[D] = &[
    ("swscan.apple.com", 177, 443),
    ("gdmf.apple.com", 178, 443),
    ("ocsp.apple.com", 185, 80),
    ("mesu.apple.com", 186, 443),
    ("api.apple-cloudkit.com", 183, 443),
    ("gateway.icloud.com", 184, 443),
];
const MACAPPS: &[D] = &[
    ("slack.com", 180, 443),
    ("app.slack.com", 181, 443),
    ("wss-primary.slack.com", 182, 443),
    ("www.apple.com", 179, 443),
    ("outlook.office365.com", 151, 443),
    ("www.google.com", 130, 443),
    ("github.com", 132, 443),
];
const LINUXPKG: &[D] = &[
    ("archive.ubuntu.com", 187, 80),
    ("security.ubuntu.com", 188, 80),
    ("packages.microsoft.com", 189, 443),
    ("ntp.ubuntu.com", 195, 123),
    ("cdn.redhat.com", 196, 443),
    ("deb.debian.org", 197, 80),
];
const DEV: &[D] = &[
    ("github.com", 132, 443),
    ("api.github.com", 190, 443),
    ("registry-1.docker.io", 191, 443),
    ("production.cloudflare.docker.com", 192, 443),
    ("pypi.org", 193, 443),
    ("files.pythonhosted.org", 194, 443),
];

fn dest_table(set: DestSet) -> (&'static [D], bool) {
    match set {
        DestSet::Web => (WEB, false),
        DestSet::Mail => (MAIL, false),
        DestSet::Chat => (CHAT, false),
        DestSet::Sync => (SYNC, false),
        DestSet::WinSvc => (WINSVC, false),
        DestSet::WinUpdate => (WINUPDATE, false),
        DestSet::Defender => (DEFENDER_D, false),
        DestSet::Service => (SERVICE, true),
        DestSet::MacSvc => (MACSVC, false),
        DestSet::MacApps => (MACAPPS, false),
        DestSet::LinuxPkg => (LINUXPKG, false),
        DestSet::Dev => (DEV, false),
    }
}

const ALL_SETS: [DestSet; 12] = [
    DestSet::Web,
    DestSet::Mail,
    DestSet::Chat,
    DestSet::Sync,
    DestSet::WinSvc,
    DestSet::WinUpdate,
    DestSet::Defender,
    DestSet::Service,
    DestSet::MacSvc,
    DestSet::MacApps,
    DestSet::LinuxPkg,
    DestSet::Dev,
];

/// A destination built from a host, an address and a port.
pub fn dest(host: &str, ip: &str, port: i32, service: bool) -> Dest {
    let protocol = if port == 123 || port == 53 { "Udp" } else { "Tcp" };
    Dest {
        host: host.into(),
        ip: ip.into(),
        port,
        protocol,
        service,
        dns_answer: format!(
            r#"{{"DnsQueryString":"{host}","DnsQueryResult":[{{"DnsQueryType":1,"DnsQueryTypeName":"A","Address":"{ip}"}}]}}"#
        )
        .into(),
    }
}

/// The destinations of a set.
pub fn dests(set: DestSet) -> &'static [Dest] {
    static SETS: OnceLock<Vec<Vec<Dest>>> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        ALL_SETS
            .iter()
            .map(|s| {
                let (table, service) = dest_table(*s);
                table.iter().map(|(h, o, p)| dest(h, &format!("203.0.113.{o}"), *p, service)).collect()
            })
            .collect()
    });
    &sets[ALL_SETS.iter().position(|s| *s == set).expect("listed")]
}

/// Whether a host name, URL or IPv4 address is the Defender for Endpoint service itself — what an
/// isolated device may still reach.
pub fn is_service_destination(url_or_ip: &str) -> bool {
    let s = url_or_ip.trim();
    let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
    let host = s.split(['/', '?', '#']).next().unwrap_or("");
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        let [a, b, c, d] = ip.octets();
        return [a, b, c] == [203, 0, 113] && (240..=249).contains(&d);
    }
    let host = host.split(':').next().unwrap_or("").trim_end_matches('.').to_ascii_lowercase();
    SERVICE.iter().any(|(h, _, _)| *h == host)
        || (host.starts_with("winatp-gw-") && host.ends_with(".microsoft.com"))
        || host.ends_with(".endpoint.security.microsoft.com")
        || host.ends_with(".cp.wd.microsoft.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_binary_has_every_variant_and_a_path() {
        for (i, b) in Bin::ALL.iter().enumerate() {
            assert_eq!(*b as usize, i);
            let def = b.def();
            assert!(usize::from(def.variants) <= SLOTS && def.variants > 0, "{b:?}");
            for v in 0..8 {
                let img = b.image(v);
                assert!(img.folder_path.ends_with(def.name));
                assert_eq!(img.sha1.len(), 40);
                assert_eq!(img.sha256.len(), 64);
                assert_eq!(img.md5.len(), 32);
            }
        }
        assert_ne!(Bin::PowerShell.image(0).sha1, Bin::PowerShell.image(2).sha1);
        assert_eq!(Bin::Chrome.image(0).sha1, Bin::Chrome.image(3).sha1, "three builds of Chrome");
    }

    #[test]
    fn service_destinations_are_recognised_by_name_url_and_address() {
        assert!(is_service_destination("winatp-gw-weu.microsoft.com"));
        assert!(is_service_destination("https://winatp-gw-cus.microsoft.com/commands"));
        assert!(is_service_destination("edr-eus.endpoint.security.microsoft.com:443"));
        assert!(is_service_destination("203.0.113.240"));
        assert!(!is_service_destination("203.0.113.130"));
        assert!(!is_service_destination("www.google.com"));
        assert!(!is_service_destination("microsoft.com"));
        for d in dests(DestSet::Service) {
            assert!(d.service && is_service_destination(&d.host) && is_service_destination(&d.ip));
        }
        for set in ALL_SETS.into_iter().filter(|s| *s != DestSet::Service) {
            for d in dests(set) {
                assert!(!is_service_destination(&d.host) && !is_service_destination(&d.ip), "{}", d.host);
            }
        }
    }
}
