//! What response actions hand back for download (`defender-api.md` §3.3): the investigation
//! package of `CollectInvestigationPackage` (behind `getPackageUri`) and the per-command results
//! of a live response session (behind `GetLiveResponseResultDownloadLink`).
//!
//! Contents are synthesised from the device's inventory and logons, so they are consistent with
//! what the API says about the device (host name, addresses, build, users). Everything is a pure
//! function of its inputs — file times come from the action — so a package downloaded twice is
//! byte-identical, as a stored blob would be.

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};

use serde_json::json;
use time::OffsetDateTime;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::model::{IpAddress, LiveResponseCommand, Logon, Machine, MachineAction};

/// The zip of a `CollectInvestigationPackage` action: the documented folders of a Windows package
/// (Autoruns, Network connections, Processes…) with a few realistic lines each, or the smaller
/// macOS/Linux set. Entry times are the action's last update (when the collection finished).
pub fn investigation_package(machine: &Machine, action: &MachineAction, logons: &[Logon]) -> Vec<u8> {
    let dev = Device::new(machine, action.last_update_date_time_utc, logons);
    let mut files = if dev.windows { windows_files(&dev) } else { unix_files(&dev) };
    files.push(("CollectionSummaryReport.xls".into(), summary(&dev, &files)));
    write_zip(&files, action.last_update_date_time_utc, if dev.windows { System::Dos } else { System::Unix })
}

/// The downloadable result of live response command `index` (its `index` property): for
/// `RunScript` the service's JSON `{script_name, exit_code, script_output, script_errors}`, for
/// `GetFile` the file's bytes, for `PutFile` a JSON acknowledgement. `None` when there is no such
/// command or it did not complete — the API answers those with 404.
pub fn live_response_result(action: &MachineAction, index: usize) -> Option<Vec<u8>> {
    let cmd = action.commands.iter().find(|c| usize::try_from(c.index).ok() == Some(index))?;
    if cmd.command_status != "Completed" {
        return None;
    }
    let host = action.computer_dns_name.as_deref().unwrap_or(&action.machine_id);
    let at = cmd.end_time.or(cmd.start_time).unwrap_or(action.last_update_date_time_utc);
    match cmd.command.kind.as_str() {
        "RunScript" => {
            let name = param(cmd, "ScriptName");
            let args = param(cmd, "Args");
            let output = format!(
                "Transcript started on {host} at {}\n\
                 Running {name}{}{args}\n\
                 Collected 3 items.\n\
                 Script {name} completed successfully.\n",
                iso(at),
                if args.is_empty() { "" } else { " " },
            );
            let body = json!({"script_name": name, "exit_code": 0, "script_output": output, "script_errors": ""});
            Some(serde_json::to_vec(&body).expect("JSON of strings"))
        }
        "GetFile" => Some(fetched_file(param(cmd, "Path"), host, at).into_bytes()),
        "PutFile" => {
            let name = param(cmd, "FileName");
            let body = json!({
                "file_name": name,
                "destination_path": format!(r"C:\ProgramData\Microsoft\Windows Defender Advanced Threat Protection\Downloads\{name}"),
                "status": "Completed",
            });
            Some(serde_json::to_vec(&body).expect("JSON of strings"))
        }
        _ => None,
    }
}

fn param<'a>(cmd: &'a LiveResponseCommand, key: &str) -> &'a str {
    cmd.command.params.iter().find(|p| p.key.eq_ignore_ascii_case(key)).map_or("", |p| p.value.as_str())
}

/// Plausible contents for a file fetched from `path`, by the kind of file it names.
fn fetched_file(path: &str, host: &str, at: OffsetDateTime) -> String {
    let lower = path.to_ascii_lowercase();
    let name = path.rsplit(['\\', '/']).next().unwrap_or(path);
    if lower.ends_with(r"\drivers\etc\hosts") || lower == "/etc/hosts" {
        "# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n# This is a sample HOSTS file used by Microsoft TCP/IP for Windows.\r\n\
         #\r\n# localhost name resolution is handled within DNS itself.\r\n#\t127.0.0.1       localhost\r\n#\t::1             localhost\r\n"
            .to_string()
    } else if lower.ends_with(".log") {
        let t = iso(at);
        format!(
            "{t} INFO  [{host}] Service started\r\n{t} INFO  [{host}] Configuration loaded from {path}\r\n\
             {t} WARN  [{host}] Retrying connection to update server (attempt 2)\r\n{t} INFO  [{host}] Update check completed\r\n"
        )
    } else if lower.ends_with(".ps1") {
        format!(
            "# {name}\r\nparam([string]$Target = $env:COMPUTERNAME)\r\nGet-Process | Sort-Object CPU -Descending | Select-Object -First 10\r\n"
        )
    } else {
        format!(
            "{name}\r\nCollected from {host} at {}\r\nSynthesised by Palisade: no real device file backs this download.\r\n",
            iso(at)
        )
    }
}

/// Everything the package text is derived from.
struct Device<'a> {
    m: &'a Machine,
    windows: bool,
    /// Upper-case NetBIOS-style host name (`PC1`).
    host: String,
    /// DNS domain, or `WORKGROUP`.
    domain: String,
    /// NetBIOS domain (`CONTOSO`).
    netbios: String,
    at: OffsetDateTime,
    nics: Vec<Nic>,
    /// Distinct accounts that logged on, in first-seen order.
    users: Vec<&'a Logon>,
    logons: &'a [Logon],
    seed: u64,
}

struct Nic {
    mac: String,
    kind: String,
    ips: Vec<String>,
}

impl<'a> Device<'a> {
    fn new(m: &'a Machine, at: OffsetDateTime, logons: &'a [Logon]) -> Self {
        let seed = fnv(m.id.as_bytes());
        let short = m.computer_dns_name.split('.').next().unwrap_or(&m.computer_dns_name);
        let domain = m.domain().unwrap_or("WORKGROUP").to_string();
        let netbios = domain.split('.').next().unwrap_or("WORKGROUP").to_uppercase();
        let mut nics: Vec<Nic> = Vec::new();
        for IpAddress { ip_address, mac_address, kind, operational_status } in &m.ip_addresses {
            let Some(mac) = mac_address else { continue }; // loopback
            if operational_status != "Up" {
                continue;
            }
            match nics.iter_mut().find(|n| &n.mac == mac) {
                Some(n) => n.ips.push(ip_address.clone()),
                None => nics.push(Nic { mac: mac.clone(), kind: kind.clone(), ips: vec![ip_address.clone()] }),
            }
        }
        if nics.is_empty() {
            // Inventory without interfaces: one Hyper-V-style NIC carrying the last known address.
            let ip = m.last_ip_address.clone().unwrap_or_else(|| "10.0.0.4".into());
            nics.push(Nic { mac: format!("00155D{:06X}", seed & 0xFF_FFFF), kind: "Ethernet".into(), ips: vec![ip] });
        }
        let mut users: Vec<&Logon> = Vec::new();
        for l in logons {
            if !users.iter().any(|u| u.account_name == l.account_name && u.account_domain == l.account_domain) {
                users.push(l);
            }
        }
        Self {
            m,
            windows: m.os_platform.starts_with("Windows"),
            host: short.to_uppercase(),
            domain,
            netbios,
            at,
            nics,
            users,
            logons,
            seed,
        }
    }

    fn ipv4(&self) -> String {
        self.nics
            .iter()
            .flat_map(|n| &n.ips)
            .find(|ip| ip.contains('.'))
            .cloned()
            .or_else(|| self.m.last_ip_address.clone())
            .unwrap_or_else(|| "10.0.0.4".into())
    }

    /// The address `.n` in the device's /24 (gateway, DNS server, peers).
    fn neighbour(&self, n: u8) -> String {
        let ip = self.ipv4();
        match ip.rsplit_once('.') {
            Some((net, _)) => format!("{net}.{n}"),
            None => ip,
        }
    }

    /// A stable pseudo-random number in `lo..hi` for the `salt`-th value of this device.
    fn num(&self, salt: u64, lo: u64, hi: u64) -> u64 {
        let x = splitmix(self.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        lo + x % (hi - lo)
    }

    fn build(&self) -> i64 {
        self.m.os_build.unwrap_or(match self.m.os_platform.as_str() {
            "Windows11" => 22631,
            "WindowsServer2016" => 14393,
            "WindowsServer2019" => 17763,
            "WindowsServer2022" => 20348,
            "WindowsServer2025" => 26100,
            _ => 19045,
        })
    }

    fn os_name(&self) -> String {
        let p = self.m.os_platform.as_str();
        match p.strip_prefix("WindowsServer") {
            Some(year) => format!("Microsoft Windows Server {year} Datacenter"),
            None => match p.strip_prefix("Windows") {
                Some(v) => format!("Microsoft Windows {v} Enterprise"),
                None => p.to_string(),
            },
        }
    }

    fn server(&self) -> bool {
        self.m.os_platform.starts_with("WindowsServer")
    }

    fn user_name(l: &Logon) -> String {
        format!("{}\\{}", l.account_domain, l.account_name)
    }

    /// The first interactive user, whose desktop the processes and temp files belong to.
    fn desktop_user(&self) -> Option<&Logon> {
        self.users.iter().copied().find(|l| l.logon_type.contains("Interactive")).or(self.users.first().copied())
    }

    fn processes(&self) -> Vec<Proc> {
        let mut out = Vec::new();
        let mut p = |name: &str, path: &str, args: &str, user: &str, session: u32| {
            // Windows PIDs are multiples of 4; distinct so connections point at one process.
            let mut pid = if name == "System" { 4 } else { self.num(out.len() as u64 + 1, 100, 16000) as u32 & !3 };
            while out.iter().any(|o: &Proc| o.pid == pid) {
                pid += 4;
            }
            out.push(Proc { name: name.into(), pid, path: path.into(), args: args.into(), user: user.into(), session });
        };
        if self.windows {
            let sys = r"NT AUTHORITY\SYSTEM";
            p("System", "", "", sys, 0);
            p("smss.exe", r"C:\Windows\System32\smss.exe", "", sys, 0);
            p(
                "csrss.exe",
                r"C:\Windows\System32\csrss.exe",
                "ObjectDirectory=\\Windows SharedSection=1024,20480,768",
                sys,
                0,
            );
            p("wininit.exe", r"C:\Windows\System32\wininit.exe", "", sys, 0);
            p("services.exe", r"C:\Windows\System32\services.exe", "", sys, 0);
            p("lsass.exe", r"C:\Windows\System32\lsass.exe", "", sys, 0);
            p("svchost.exe", r"C:\Windows\System32\svchost.exe", "-k DcomLaunch -p", sys, 0);
            p("svchost.exe", r"C:\Windows\System32\svchost.exe", "-k netsvcs -p", sys, 0);
            p(
                "MsMpEng.exe",
                r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25010.11-0\MsMpEng.exe",
                "",
                sys,
                0,
            );
            p("MsSense.exe", r"C:\Program Files\Windows Defender Advanced Threat Protection\MsSense.exe", "", sys, 0);
            p("SenseIR.exe", r"C:\Program Files\Windows Defender Advanced Threat Protection\SenseIR.exe", "", sys, 0);
            if let Some(u) = self.desktop_user() {
                let user = Self::user_name(u);
                p("explorer.exe", r"C:\Windows\explorer.exe", "", &user, 1);
                p(
                    "msedge.exe",
                    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
                    "--no-startup-window",
                    &user,
                    1,
                );
                p("OUTLOOK.EXE", r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE", "", &user, 1);
            }
        } else {
            p("systemd", "/sbin/init", "", "root", 0);
            p("sshd", "/usr/sbin/sshd", "-D", "root", 0);
            p("wdavdaemon", "/opt/microsoft/mdatp/sbin/wdavdaemon", "", "root", 0);
            p("wdavdaemon", "/opt/microsoft/mdatp/sbin/wdavdaemon", "edr", "mdatp", 0);
            p("telemetryd_v2", "/opt/microsoft/mdatp/sbin/telemetryd_v2", "", "root", 0);
            if let Some(u) = self.desktop_user() {
                p("bash", "/bin/bash", "", &u.account_name, 0);
            }
        }
        out
    }
}

struct Proc {
    name: String,
    pid: u32,
    path: String,
    args: String,
    user: String,
    session: u32,
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn iso(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `2026-03-01 10:00:00`, the form of firewall logs and CSV exports.
fn plain(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `3/1/2026, 10:00:00 AM`, the en-US form `systeminfo` and `schtasks` print.
fn us(t: OffsetDateTime) -> String {
    let (h, ampm) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!("{}/{}/{}, {}:{:02}:{:02} {ampm}", u8::from(t.month()), t.day(), t.year(), h, t.minute(), t.second())
}

fn mac_with(mac: &str, sep: char, upper: bool) -> String {
    let mut out = String::new();
    for (i, c) in mac.chars().enumerate() {
        if i > 0 && i % 2 == 0 {
            out.push(sep);
        }
        out.push(if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() });
    }
    out
}

fn adapter_name(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "Wireless80211" => ("Wireless LAN adapter Wi-Fi", "Intel(R) Wi-Fi 6E AX211 160MHz"),
        _ => ("Ethernet adapter Ethernet", "Intel(R) Ethernet Connection (16) I219-LM"),
    }
}

type Files = Vec<(String, String)>;

fn add(files: &mut Files, path: &str, text: String) {
    files.push((path.to_string(), text));
}

/// Windows text uses CRLF, as the collector's files do.
fn crlf(s: String) -> String {
    s.replace('\n', "\r\n")
}

fn windows_files(d: &Device) -> Files {
    let mut f = Files::new();
    let procs = d.processes();
    let pid = |name: &str| procs.iter().find(|p| p.name == name).map_or(4, |p| p.pid);
    let ip = d.ipv4();
    let gw = d.neighbour(1);
    let dns = d.neighbour(10);
    let at = d.at;
    let users: Vec<String> = d.users.iter().map(|l| Device::user_name(l)).collect();

    // Autoruns: the registry autostart locations.
    add(
        &mut f,
        "Autoruns/Run.txt",
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\n    SecurityHealth    REG_EXPAND_SZ    \
         %windir%\\system32\\SecurityHealthSystray.exe\n    RtkAudUService    REG_SZ    \
         \"C:\\Windows\\System32\\DriverStore\\FileRepository\\realtekservice.inf_amd64\\RtkAudUService64.exe\" -background\n\n\
         HKEY_CURRENT_USER\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\n    OneDrive    REG_SZ    \
         \"C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe\" /background\n"
        .into(),
    );
    add(
        &mut f,
        "Autoruns/RunOnce.txt",
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunOnce\n".into(),
    );
    add(
        &mut f,
        "Autoruns/Winlogon.txt",
        "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\n    Shell    REG_SZ    explorer.exe\n    \
         Userinit    REG_SZ    C:\\Windows\\system32\\userinit.exe,\n"
            .into(),
    );
    add(
        &mut f,
        "Autoruns/Known DLLs.txt",
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\KnownDLLs\n    kernel32    REG_SZ    \
         kernel32.dll\n    ntdll    REG_SZ    ntdll.dll\n    user32    REG_SZ    user32.dll\n"
            .into(),
    );
    add(
        &mut f,
        "Autoruns/Startup Folders.txt",
        "C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\StartUp\n    desktop.ini\n".into(),
    );

    add(
        &mut f,
        "Installed programs/InstalledPrograms.csv",
        "Name,Version,Publisher,InstallDate,InstallLocation\n\
         Microsoft Edge,133.0.3065.69,Microsoft Corporation,20260110,C:\\Program Files (x86)\\Microsoft\\Edge\\Application\n\
         Microsoft 365 Apps for enterprise - en-us,16.0.18324.20194,Microsoft Corporation,20251203,C:\\Program Files\\Microsoft Office\n\
         Microsoft Visual C++ 2015-2022 Redistributable (x64),14.42.34433.0,Microsoft Corporation,20251203,\n\
         7-Zip 24.09 (x64),24.09,Igor Pavlov,20251215,C:\\Program Files\\7-Zip\\\n\
         Microsoft Teams,25017.203.3370.1174,Microsoft Corporation,20260105,\n"
            .into(),
    );

    // Network connections.
    let sense = pid("MsSense.exe");
    let mpeng = pid("MsMpEng.exe");
    let edge = pid("msedge.exe");
    let mut netstat = String::from(
        "\nActive Connections\n\n  Proto  Local Address          Foreign Address        State           PID\n",
    );
    let row = |s: &mut String, proto: &str, local: String, remote: &str, state: &str, pid: u32| {
        let _ = writeln!(s, "  {proto:<6} {local:<22} {remote:<22} {state:<15} {pid}");
    };
    row(&mut netstat, "TCP", "0.0.0.0:135".into(), "0.0.0.0:0", "LISTENING", pid("svchost.exe"));
    row(&mut netstat, "TCP", "0.0.0.0:445".into(), "0.0.0.0:0", "LISTENING", 4);
    if d.server() {
        row(&mut netstat, "TCP", "0.0.0.0:3389".into(), "0.0.0.0:0", "LISTENING", pid("svchost.exe"));
    }
    row(&mut netstat, "TCP", format!("{ip}:{}", d.num(101, 49152, 65535)), "20.190.151.7:443", "ESTABLISHED", sense);
    row(&mut netstat, "TCP", format!("{ip}:{}", d.num(102, 49152, 65535)), "52.239.207.100:443", "ESTABLISHED", mpeng);
    row(&mut netstat, "TCP", format!("{ip}:{}", d.num(103, 49152, 65535)), &format!("{dns}:389"), "TIME_WAIT", 0);
    row(&mut netstat, "TCP", format!("{ip}:{}", d.num(104, 49152, 65535)), "13.107.42.14:443", "ESTABLISHED", edge);
    row(&mut netstat, "UDP", "0.0.0.0:5353".into(), "*:*", "", pid("svchost.exe"));
    add(&mut f, "Network connections/ActiveNetConnections.txt", netstat);

    let mut arp = String::new();
    for (i, n) in d.nics.iter().enumerate() {
        for a in n.ips.iter().filter(|a| a.contains('.')) {
            let net = a.rsplit_once('.').map_or(a.as_str(), |(net, _)| net);
            let _ = write!(
                arp,
                "\nInterface: {a} --- 0x{:x}\n  Internet Address      Physical Address      Type\n",
                7 + i * 4
            );
            for (addr, phys, kind) in [
                (
                    format!("{net}.1"),
                    mac_with(&format!("00155D{:06x}", d.num(200, 0, 0xFF_FFFF)), '-', false),
                    "dynamic",
                ),
                (
                    format!("{net}.10"),
                    mac_with(&format!("00155D{:06x}", d.num(201, 0, 0xFF_FFFF)), '-', false),
                    "dynamic",
                ),
                (format!("{net}.255"), "ff-ff-ff-ff-ff-ff".into(), "static"),
                ("224.0.0.22".into(), "01-00-5e-00-00-16".into(), "static"),
            ] {
                let _ = writeln!(arp, "  {addr:<21} {phys:<21} {kind}");
            }
        }
    }
    add(&mut f, "Network connections/Arp.txt", arp);

    let mut cache = String::from("\nWindows IP Configuration\n\n");
    let dc = format!("dc01.{}", d.domain);
    for (name, addr, ttl) in [
        ("login.microsoftonline.com", "20.190.151.7", 212),
        ("winatp-gw-weu.microsoft.com", "52.239.207.100", 1742),
        ("edr-weu.endpoint.security.microsoft.com", "20.50.201.195", 318),
        (dc.as_str(), dns.as_str(), 1200),
    ] {
        let _ = write!(
            cache,
            "    {name}\n    ----------------------------------------\n    Record Name . . . . . : {name}\n    \
             Record Type . . . . . : 1\n    Time To Live  . . . . : {ttl}\n    Data Length . . . . . : 4\n    \
             Section . . . . . . . : Answer\n    A (Host) Record . . . : {addr}\n\n\n"
        );
    }
    add(&mut f, "Network connections/DnsCache.txt", cache);

    let mut ipconfig = format!(
        "\nWindows IP Configuration\n\n   Host Name . . . . . . . . . . . . : {}\n   Primary Dns Suffix  . . . . . . . : {}\n   \
         Node Type . . . . . . . . . . . . : Hybrid\n   IP Routing Enabled. . . . . . . . : No\n   \
         WINS Proxy Enabled. . . . . . . . : No\n   DNS Suffix Search List. . . . . . : {}\n",
        d.host, d.domain, d.domain
    );
    for n in &d.nics {
        let (title, desc) = adapter_name(&n.kind);
        let _ = write!(
            ipconfig,
            "\n{title}:\n\n   Connection-specific DNS Suffix  . : {}\n   Description . . . . . . . . . . . : {desc}\n   \
             Physical Address. . . . . . . . . : {}\n   DHCP Enabled. . . . . . . . . . . : Yes\n   \
             Autoconfiguration Enabled . . . . : Yes\n",
            d.domain,
            mac_with(&n.mac, '-', true)
        );
        for a in &n.ips {
            if a.contains(':') {
                let label =
                    if a.starts_with("fe80") { "Link-local IPv6 Address" } else { "IPv6 Address. . . . . . . . . . ." };
                let _ = writeln!(ipconfig, "   {label:<33} : {a}(Preferred)");
            } else {
                let gw = a.rsplit_once('.').map_or(gw.clone(), |(net, _)| format!("{net}.1"));
                let _ = write!(
                    ipconfig,
                    "   IPv4 Address. . . . . . . . . . . : {a}(Preferred)\n   Subnet Mask . . . . . . . . . . . : 255.255.255.0\n   \
                     Default Gateway . . . . . . . . . : {gw}\n"
                );
            }
        }
        let _ = writeln!(ipconfig, "   DNS Servers . . . . . . . . . . . : {dns}");
    }
    add(&mut f, "Network connections/IpConfig.txt", ipconfig);

    add(
        &mut f,
        "Network connections/FirewallExecutionLog.txt",
        format!(
            "netsh advfirewall show allprofiles state\n\nDomain Profile Settings:\n----------------------------------------------------------------------\n\
             State                                 ON\n\nPrivate Profile Settings:\n----------------------------------------------------------------------\n\
             State                                 ON\n\nPublic Profile Settings:\n----------------------------------------------------------------------\n\
             State                                 ON\nOk.\n\nCollected {}\n",
            plain(at)
        ),
    );
    let t = plain(at);
    add(
        &mut f,
        "Network connections/pfirewall.log",
        format!(
            "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n\
             #Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path pid\n\n\
             {t} ALLOW TCP {ip} 20.190.151.7 {} 443 0 - 0 0 0 - - - SEND {sense}\n\
             {t} ALLOW UDP {ip} {dns} {} 53 0 - - - - - - - SEND {}\n\
             {t} DROP TCP {} {ip} {} 445 52 S 1843925125 0 64240 - - - RECEIVE 4\n",
            d.num(101, 49152, 65535),
            d.num(105, 49152, 65535),
            pid("svchost.exe"),
            d.neighbour(d.num(106, 20, 250) as u8),
            d.num(107, 49152, 65535),
        ),
    );

    let mut prefetch = String::new();
    for (exe, i) in [("CMD.EXE", 1), ("POWERSHELL.EXE", 2), ("MSEDGE.EXE", 3), ("OUTLOOK.EXE", 4), ("MPCMDRUN.EXE", 5)]
    {
        let _ = writeln!(prefetch, "C:\\Windows\\Prefetch\\{exe}-{:08X}.pf", d.num(300 + i, 0, 0xFFFF_FFFF));
    }
    add(&mut f, "Prefetch files/PrefetchFilesList.txt", prefetch);

    let mut ps = String::from("ProcessName,ProcessId,SessionId,UserName,ExecutablePath,CommandLine\n");
    for p in &procs {
        let cmd = match (p.path.is_empty(), p.args.is_empty()) {
            (true, _) => String::new(),
            (false, true) => format!("\"{}\"", p.path),
            (false, false) => format!("\"{}\" {}", p.path, p.args),
        };
        let _ =
            writeln!(ps, "{},{},{},{},{},\"{}\"", p.name, p.pid, p.session, p.user, p.path, cmd.replace('"', "\"\""));
    }
    add(&mut f, "Processes/Processes.csv", ps);

    let mut tasks = String::from(
        "\"HostName\",\"TaskName\",\"Next Run Time\",\"Status\",\"Logon Mode\",\"Last Run Time\",\"Last Result\",\"Author\",\"Task To Run\"\n",
    );
    for (name, next, author, run) in [
        (
            r"\Microsoft\Windows\Windows Defender\Windows Defender Scheduled Scan",
            "N/A",
            "Microsoft Corporation",
            r#"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.25010.11-0\MpCmdRun.exe Scan -ScheduleJob -ScanTrigger 55"#,
        ),
        (r"\Microsoft\Windows\UpdateOrchestrator\Schedule Scan", "N/A", "Microsoft Corporation", "COM handler"),
        (
            r"\MicrosoftEdgeUpdateTaskMachineUA",
            "N/A",
            "Microsoft Corporation",
            r#"C:\Program Files (x86)\Microsoft\EdgeUpdate\MicrosoftEdgeUpdate.exe /ua /installsource scheduler"#,
        ),
    ] {
        let _ = writeln!(
            tasks,
            "\"{}\",\"{name}\",\"{next}\",\"Ready\",\"Interactive/Background\",\"{}\",\"0\",\"{author}\",\"{run}\"",
            d.host,
            us(at)
        );
    }
    add(&mut f, "Scheduled tasks/ScheduledTasksList.csv", tasks);

    // Security event log: the logons, as `wevtutil qe Security /f:text` prints event 4624.
    let mut events = String::new();
    for (i, l) in d.logons.iter().enumerate() {
        let kind = match l.logon_type.as_str() {
            "Interactive" => 2,
            "Network" => 3,
            "Batch" => 4,
            "Service" => 5,
            "Unlock" => 7,
            "NetworkCleartext" => 8,
            "NewCredentials" => 9,
            "RemoteInteractive" => 10,
            "CachedInteractive" => 11,
            _ => 3,
        };
        let _ = write!(
            events,
            "Event[{i}]:\n  Log Name: Security\n  Source: Microsoft-Windows-Security-Auditing\n  Date: {}\n  Event ID: 4624\n  \
             Task: Logon\n  Level: Information\n  Opcode: Info\n  Keyword: Audit Success\n  User: N/A\n  User Name: N/A\n  \
             Computer: {}\n  Description: \nAn account was successfully logged on.\n\nLogon Information:\n\tLogon Type:\t\t{kind}\n\n\
             New Logon:\n\tSecurity ID:\t\t{}\n\tAccount Name:\t\t{}\n\tAccount Domain:\t\t{}\n\n",
            iso(l.time),
            d.m.computer_dns_name,
            l.account_sid.as_deref().unwrap_or("S-1-0-0"),
            l.account_name,
            l.account_domain,
        );
    }
    if events.is_empty() {
        events.push_str("No events were found that match the specified selection criteria.\n");
    }
    add(&mut f, "Security event log/SecurityEvents.txt", events);

    add(
        &mut f,
        "Services/Services.csv",
        "Name,DisplayName,State,StartMode,PathName\n\
         WinDefend,Microsoft Defender Antivirus Service,Running,Auto,\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MsMpEng.exe\"\n\
         Sense,Windows Defender Advanced Threat Protection Service,Running,Auto,\"C:\\Program Files\\Windows Defender Advanced Threat Protection\\MsSense.exe\"\n\
         mpssvc,Windows Defender Firewall,Running,Auto,C:\\Windows\\system32\\svchost.exe -k LocalServiceNoNetworkFirewall -p\n\
         EventLog,Windows Event Log,Running,Auto,C:\\Windows\\System32\\svchost.exe -k LocalServiceNetworkRestricted -p\n\
         Dnscache,DNS Client,Running,Auto,C:\\Windows\\system32\\svchost.exe -k NetworkService -p\n\
         LanmanServer,Server,Running,Auto,C:\\Windows\\system32\\svchost.exe -k netsvcs -p\n\
         WinRM,Windows Remote Management (WS-Management),Stopped,Manual,C:\\Windows\\System32\\svchost.exe -k NetworkService -p\n\
         wuauserv,Windows Update,Stopped,Manual,C:\\Windows\\system32\\svchost.exe -k netsvcs -p\n"
            .into(),
    );

    let smb = "Windows Server Message Block (SMB) sessions";
    let mut inbound = String::from(
        "\nSessionId     ClientComputerName ClientUserName          NumOpens\n---------     ------------------ --------------          --------\n",
    );
    for (i, l) in d.logons.iter().filter(|l| l.logon_type == "Network").enumerate() {
        let peer = d.neighbour(d.num(400 + i as u64, 20, 250) as u8);
        let _ = writeln!(
            inbound,
            "{:<13} {peer:<18} {:<23} {}",
            d.num(410 + i as u64, 1 << 40, 1 << 43),
            Device::user_name(l),
            d.num(420 + i as u64, 0, 6)
        );
    }
    add(&mut f, &format!("{smb}/SMBInboundSessions.txt"), inbound);
    let mut outbound = String::from(
        "\nServerName ShareName UserName                Credential              Dialect NumOpens\n\
         ---------- --------- --------                ----------              ------- --------\n",
    );
    if let Some(u) = d.desktop_user() {
        let user = Device::user_name(u);
        for share in ["NETLOGON", "SYSVOL"] {
            let _ = writeln!(outbound, "{:<10} {share:<9} {user:<23} {user:<23} 3.1.1   1", "dc01");
        }
    }
    add(&mut f, &format!("{smb}/SMBOutboundSessions.txt"), outbound);

    let processor = match d.m.os_processor.to_ascii_lowercase().as_str() {
        "arm64" => "ARM64-based PC",
        "x86" => "X86-based PC",
        _ => "x64-based PC",
    };
    let mut nics = format!("{} NIC(s) Installed.\n", d.nics.len());
    for (i, n) in d.nics.iter().enumerate() {
        let _ = write!(
            nics,
            "                           [{:02}]: {}\n                                 Connection Name: {}\n\
             \x20                                DHCP Enabled:    Yes\n                                 IP address(es)\n",
            i + 1,
            adapter_name(&n.kind).1,
            if n.kind == "Wireless80211" { "Wi-Fi" } else { "Ethernet" },
        );
        for (j, a) in n.ips.iter().enumerate() {
            let _ = writeln!(nics, "                                 [{:02}]: {a}", j + 1);
        }
    }
    let build = d.build();
    add(
        &mut f,
        "System Information/SystemInformation.txt",
        format!(
            "\nHost Name:                 {}\nOS Name:                   {}\nOS Version:                10.0.{build} N/A Build {build}\n\
             OS Manufacturer:           Microsoft Corporation\nOS Configuration:          {}\nOS Build Type:             Multiprocessor Free\n\
             Registered Owner:          {}\nRegistered Organization:   {}\nOriginal Install Date:     {}\nSystem Boot Time:          {}\n\
             System Manufacturer:       {}\nSystem Model:              {}\nSystem Type:               {processor}\n\
             Windows Directory:         C:\\Windows\nSystem Directory:          C:\\Windows\\system32\nSystem Locale:             en-us;English (United States)\n\
             Time Zone:                 (UTC) Coordinated Universal Time\nDomain:                    {}\nLogon Server:              \\\\DC01\n\
             Network Card(s):           {nics}",
            d.host,
            d.os_name(),
            if d.server() { "Member Server" } else { "Member Workstation" },
            if d.server() { "Windows User" } else { "IT" },
            d.netbios,
            us(d.m.first_seen),
            us(at - time::Duration::hours(d.num(500, 2, 200) as i64)),
            if d.m.vm_metadata.is_some() { "Microsoft Corporation" } else { "Dell Inc." },
            if d.m.vm_metadata.is_some() { "Virtual Machine" } else { "Latitude 7440" },
            d.domain,
        ),
    );

    add(
        &mut f,
        "Temp Directories/Windows.txt",
        "C:\\Windows\\Temp\n    MpCmdRun.log\n    MpSigStub.log\n    SenseIR\\\n    vminst.log\n".into(),
    );
    for l in &d.users {
        add(
            &mut f,
            &format!("Temp Directories/{}.txt", l.account_name),
            format!(
                "C:\\Users\\{0}\\AppData\\Local\\Temp\n    ~DF{1:04X}.tmp\n    msedge_installer.log\n    \
                 Outlook Logging\\\n    {{{2:08X}-1A2B-4C3D-8E9F-{3:012X}}}\\\n",
                l.account_name,
                d.num(600, 0, 0xFFFF),
                d.num(601, 0, 0xFFFF_FFFF),
                d.num(602, 0, 0xFFFF_FFFF_FFFF),
            ),
        );
    }

    let group = |name: &str, comment: &str, members: &[String]| {
        let mut s = format!("Alias name     {name}\nComment        {comment}\n\nMembers\n\n{}\n", "-".repeat(79));
        for m in members {
            let _ = writeln!(s, "{m}");
        }
        s.push_str("The command completed successfully.\n");
        s
    };
    let mut admins = vec!["Administrator".to_string(), format!("{}\\Domain Admins", d.netbios)];
    admins.extend(d.users.iter().filter(|l| l.is_domain_admin).map(|l| Device::user_name(l)));
    let rdp: Vec<String> =
        d.users.iter().filter(|l| l.logon_type == "RemoteInteractive").map(|l| Device::user_name(l)).collect();
    let mut everyone = vec![r"NT AUTHORITY\Authenticated Users".to_string(), r"NT AUTHORITY\INTERACTIVE".to_string()];
    everyone.extend(users.iter().cloned());
    add(
        &mut f,
        "Users and Groups/Administrators.txt",
        group("Administrators", "Administrators have complete and unrestricted access to the computer/domain", &admins),
    );
    add(
        &mut f,
        "Users and Groups/Remote Desktop Users.txt",
        group("Remote Desktop Users", "Members in this group are granted the right to logon remotely", &rdp),
    );
    add(
        &mut f,
        "Users and Groups/Users.txt",
        group(
            "Users",
            "Users are prevented from making accidental or intentional system-wide changes and can run most applications",
            &everyone,
        ),
    );

    add(
        &mut f,
        "WdSupportLogs/MpCmdRunLog.txt",
        format!(
            "-------------------------------------------------------------------------------------\n\
             MpCmdRun: Command Line: \"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe\" -GetFiles \
             -SupportLogLocation \"C:\\ProgramData\\Microsoft\\Windows Defender\\Support\"\n \
             Start Time: {}\n\nMpEnsureProcessMitigationPolicy: hr = 0x1\nStart: MpCmdRun -GetFiles\n\
             Collecting diagnostic data for device {} ({})\nDone: MpCmdRun -GetFiles\n\
             MpCmdRun: End Time: {}\n-------------------------------------------------------------------------------------\n",
            us(at),
            d.m.computer_dns_name,
            d.m.id,
            us(at),
        ),
    );
    f.into_iter().map(|(p, t)| (p, crlf(t))).collect()
}

fn unix_files(d: &Device) -> Files {
    let mut f = Files::new();
    let mac = d.m.os_platform.eq_ignore_ascii_case("macOS");
    let procs = d.processes();
    let ip = d.ipv4();
    let host = d.m.computer_dns_name.split('.').next().unwrap_or(&d.m.computer_dns_name).to_lowercase();
    let version = d.m.os_version.clone().or_else(|| d.m.version.clone()).unwrap_or_else(|| "unknown".into());
    let arch = if d.m.os_processor.eq_ignore_ascii_case("arm64") { "arm64" } else { "x86_64" };

    let info = if mac {
        format!(
            "ProductName:\t\tmacOS\nProductVersion:\t\t{version}\nBuildVersion:\t\t24D70\n\n\
             Darwin {host}.local 24.3.0 Darwin Kernel Version 24.3.0; root:xnu-11215.81.4~3/RELEASE_{} {arch}\n\
             Computer name: {}\nDevice id: {}\nCollected: {}\n",
            arch.to_uppercase(),
            d.m.computer_dns_name,
            d.m.id,
            iso(d.at)
        )
    } else {
        format!(
            "Linux {host} 6.8.0-51-generic #52-Ubuntu SMP PREEMPT_DYNAMIC {arch} GNU/Linux\n\n\
             PRETTY_NAME=\"{} {version}\"\n\nHostname: {}\nDevice id: {}\nCollected: {}\n",
            d.m.os_platform,
            d.m.computer_dns_name,
            d.m.id,
            iso(d.at)
        )
    };
    add(&mut f, "System Information/SystemInformation.txt", info);

    add(
        &mut f,
        "Disk volume/DiskVolumes.txt",
        if mac {
            "Filesystem      Size   Used  Avail Capacity  Mounted on\n/dev/disk3s1s1  460Gi   10Gi  301Gi     4%    /\n\
             /dev/disk3s5    460Gi  143Gi  301Gi    33%    /System/Volumes/Data\n"
                .into()
        } else {
            "Filesystem      Size  Used Avail Use% Mounted on\n/dev/sda1        62G   14G   45G  24% /\n\
             /dev/sda15      105M  6.1M   99M   6% /boot/efi\ntmpfs           3.9G     0  3.9G   0% /dev/shm\n"
                .into()
        },
    );

    let daemon = procs.iter().find(|p| p.name == "wdavdaemon").map_or(1, |p| p.pid);
    add(
        &mut f,
        "File/OpenFiles.txt",
        format!(
            "COMMAND     PID  USER   FD   TYPE DEVICE SIZE/OFF    NODE NAME\n\
             wdavdaemo {daemon:>5}  root  cwd    DIR  259,1     4096       2 /\n\
             wdavdaemo {daemon:>5}  root    3u  IPv4  41233      0t0     TCP {ip}:{}->20.190.151.7:443 (ESTABLISHED)\n\
             wdavdaemo {daemon:>5}  root    9w   REG  259,1   184320  393311 /var/log/microsoft/mdatp/microsoft_defender_core.log\n",
            d.num(101, 32768, 60999)
        ),
    );

    let mut ps = format!("{:<12} {:>5} %CPU %MEM COMMAND\n", "USER", "PID");
    for p in &procs {
        let cmd = if p.args.is_empty() { p.path.clone() } else { format!("{} {}", p.path, p.args) };
        let _ = writeln!(ps, "{:<12} {:>5}  0.{}  0.3 {cmd}", p.user, p.pid, p.pid % 10);
    }
    add(&mut f, "Processes/Processes.txt", ps);

    add(
        &mut f,
        "Network connections/ActiveConnections.txt",
        format!(
            "Proto Recv-Q Send-Q Local Address           Foreign Address         State\n\
             tcp        0      0 0.0.0.0:22              0.0.0.0:*               LISTEN\n\
             tcp        0      0 {:<23} 20.190.151.7:443        ESTABLISHED\n\
             tcp        0      0 {:<23} 52.239.207.100:443      ESTABLISHED\n",
            format!("{ip}:{}", d.num(101, 32768, 60999)),
            format!("{ip}:{}", d.num(102, 32768, 60999)),
        ),
    );
    let mut ifconfig = String::new();
    for (i, n) in d.nics.iter().enumerate() {
        let name = if mac { format!("en{i}") } else { format!("eth{i}") };
        let _ = writeln!(ifconfig, "{name}: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500");
        for a in &n.ips {
            if a.contains(':') {
                let _ = writeln!(ifconfig, "        inet6 {a}  prefixlen 64");
            } else {
                let _ = writeln!(ifconfig, "        inet {a}  netmask 255.255.255.0  broadcast {}", d.neighbour(255));
            }
        }
        let _ = writeln!(ifconfig, "        ether {}\n", mac_with(&n.mac, ':', false));
    }
    add(&mut f, "Network connections/IpConfiguration.txt", ifconfig);
    add(
        &mut f,
        "Network connections/Arp.txt",
        format!(
            "? ({}) at {} {}\n",
            d.neighbour(1),
            mac_with(&format!("00155d{:06x}", d.num(200, 0, 0xFF_FFFF)), ':', false),
            if mac { "on en0 ifscope [ethernet]" } else { "[ether] on eth0" }
        ),
    );

    if mac {
        add(
            &mut f,
            "Applications/Applications.txt",
            "/Applications/Microsoft Defender.app\n/Applications/Microsoft Edge.app\n/Applications/Microsoft Outlook.app\n\
             /Applications/Safari.app\n/Applications/Company Portal.app\n"
                .into(),
        );
        add(
            &mut f,
            "Kernel modules/KernelExtensions.txt",
            "Index Refs Address            Size       Wired      Name (Version) UUID <Linked Against>\n\
             \x20   1  152 0                  0          0          com.apple.kpi.bsd (24.3.0) 3D3A1A4C-6B5E-3C1F-9A71-8F2E4C6B1D20 <>\n"
                .into(),
        );
        add(
            &mut f,
            "Services and scheduled tasks/LaunchDaemons.txt",
            "/Library/LaunchDaemons/com.microsoft.fresno.plist\n/Library/LaunchDaemons/com.microsoft.autoupdate.helper.plist\n".into(),
        );
        add(
            &mut f,
            "System security information/SecurityStatus.txt",
            "System Integrity Protection status: enabled.\nFirewall: State = 1\nGatekeeper: assessments enabled\n"
                .into(),
        );
    } else {
        add(
            &mut f,
            "Kernel modules/LoadedModules.txt",
            "Module                  Size  Used by\nnf_tables             376832  0\nxfs                  2367488  1\nhv_netvsc             102400  0\n".into(),
        );
        add(
            &mut f,
            "Services and scheduled tasks/Crontab.txt",
            "# m h  dom mon dow   command\n17 *    * * *   root    cd / && run-parts --report /etc/cron.hourly\n"
                .into(),
        );
        add(
            &mut f,
            "Services and scheduled tasks/Services.txt",
            "UNIT                     LOAD   ACTIVE SUB     DESCRIPTION\nmdatp.service            loaded active running Microsoft Defender\n\
             ssh.service              loaded active running OpenBSD Secure Shell server\ncron.service             loaded active running Regular background program processing daemon\n"
                .into(),
        );
    }

    let mut last = String::new();
    for (i, l) in d.logons.iter().enumerate() {
        // `last`: local sessions on the console, remote ones on a pseudo-terminal from a peer.
        let (tty, from) = if l.logon_type == "Interactive" {
            (if mac { "console".to_string() } else { "tty1".to_string() }, String::new())
        } else {
            (format!("pts/{i}"), d.neighbour(d.num(700 + i as u64, 20, 250) as u8))
        };
        let _ = writeln!(last, "{:<12} {tty:<8} {from:<16} {}", l.account_name, iso(l.time));
    }
    let _ = writeln!(last, "\nwtmp begins {}", iso(d.m.first_seen));
    add(&mut f, "Users and groups/LoginHistory.txt", last);
    let mut sudoers = String::from("root\tALL=(ALL:ALL) ALL\n%admin\tALL=(ALL) ALL\n");
    for l in d.users.iter().filter(|l| l.is_domain_admin) {
        let _ = writeln!(sudoers, "{}\tALL=(ALL) ALL", l.account_name);
    }
    add(&mut f, "Users and groups/Sudoers.txt", sudoers);
    f
}

/// `CollectionSummaryReport.xls`: a tab-separated sheet (Excel opens it) of what was collected.
fn summary(d: &Device, files: &Files) -> String {
    let mut s = format!(
        "Device\t{}\nDevice id\t{}\nCollection time (UTC)\t{}\n\nFolder\tFile\tStatus\tSize (bytes)\n",
        d.m.computer_dns_name,
        d.m.id,
        iso(d.at)
    );
    for (path, text) in files {
        let (folder, file) = path.rsplit_once('/').unwrap_or(("", path));
        let _ = writeln!(s, "{folder}\t{file}\tCollected\t{}", text.len());
    }
    if d.windows { crlf(s) } else { s }
}

fn write_zip(files: &Files, at: OffsetDateTime, system: System) -> Vec<u8> {
    // DOS times cover 1980–2107; anything else (never in practice) falls back to the epoch of the format.
    let mtime = DateTime::from_date_and_time(
        at.year().clamp(1980, 2107) as u16,
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
    )
    .unwrap_or_default();
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(mtime)
        .system(system);
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let mut folders: Vec<&str> = Vec::new();
    for (path, text) in files {
        if let Some((folder, _)) = path.rsplit_once('/')
            && !folders.contains(&folder)
        {
            folders.push(folder);
            w.add_directory(format!("{folder}/"), opts).expect("in-memory zip");
        }
        w.start_file(path.as_str(), opts).expect("in-memory zip");
        w.write_all(text.as_bytes()).expect("in-memory zip");
    }
    w.finish().expect("in-memory zip").into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyValue, LiveResponseCommandSpec};
    use std::io::Read;
    use time::macros::datetime;
    use zip::ZipArchive;

    fn machine(platform: &str) -> Machine {
        serde_json::from_value(serde_json::json!({
            "id": "1e5bc9d7e413ddd7902c2932e418702b84d0cc07", "mergedIntoMachineId": null, "isPotentialDuplication": false,
            "isExcluded": false, "exclusionReason": null, "computerDnsName": "mymachine1.contoso.com",
            "firstSeen": "2025-11-03T08:00:00Z", "lastSeen": "2026-03-01T09:00:00Z", "osPlatform": platform,
            "osVersion": null, "osProcessor": "x64", "version": "23H2", "lastIpAddress": "172.17.230.209",
            "lastExternalIpAddress": "167.220.196.71", "agentVersion": "10.8760.22631.1010", "osBuild": 22631,
            "healthStatus": "Active", "deviceValue": "Normal", "rbacGroupId": 0, "rbacGroupName": null,
            "riskScore": "Low", "exposureLevel": "Medium", "isAadJoined": true, "aadDeviceId": null, "machineTags": [],
            "defenderAvStatus": "Updated", "onboardingStatus": "Onboarded", "osArchitecture": "64-bit",
            "managedBy": "Intune", "managedByStatus": "Success", "vmMetadata": null,
            "ipAddresses": [
                {"ipAddress": "172.17.230.209", "macAddress": "00155D3A1B2C", "type": "Ethernet", "operationalStatus": "Up"},
                {"ipAddress": "fe80::c8a1:3b6f:2b4e:9d01", "macAddress": "00155D3A1B2C", "type": "Ethernet", "operationalStatus": "Up"},
                {"ipAddress": "127.0.0.1", "macAddress": null, "type": "SoftwareLoopback", "operationalStatus": "Up"}
            ]
        }))
        .unwrap()
    }

    fn action(kind: &str) -> MachineAction {
        serde_json::from_value(serde_json::json!({
            "id": "7327b54fd718525cbca07dacde913b5ac3c85673", "type": kind, "title": null, "requestor": "r",
            "requestorComment": "c", "status": "Succeeded", "machineId": "1e5bc9d7e413ddd7902c2932e418702b84d0cc07",
            "computerDnsName": "mymachine1.contoso.com", "creationDateTimeUtc": "2026-03-01T10:00:00Z",
            "lastUpdateDateTimeUtc": "2026-03-01T10:00:06Z", "cancellationRequestor": null, "cancellationComment": null,
            "cancellationDateTimeUtc": null, "errorHResult": 0, "scope": null, "externalId": null,
            "requestSource": "PublicApi", "relatedFileInfo": null, "commands": [], "troubleshootInfo": null
        }))
        .unwrap()
    }

    fn logons() -> Vec<Logon> {
        let l = |name: &str, kind: &str, admin: bool| Logon {
            machine_id: "1e5bc9d7e413ddd7902c2932e418702b84d0cc07".into(),
            account_domain: "CONTOSO".into(),
            account_name: name.into(),
            account_sid: Some(format!("S-1-5-21-1004336348-1177238915-682003330-{}", 1100 + name.len())),
            logon_type: kind.into(),
            is_domain_admin: admin,
            time: datetime!(2026-03-01 08:15:00 UTC),
        };
        vec![
            l("alice", "Interactive", false),
            l("svc-backup", "Network", false),
            l("bob.admin", "RemoteInteractive", true),
        ]
    }

    fn unzip(bytes: &[u8]) -> Vec<(String, String)> {
        let mut z = ZipArchive::new(Cursor::new(bytes)).unwrap();
        (0..z.len())
            .map(|i| {
                let mut e = z.by_index(i).unwrap();
                let mut s = String::new();
                e.read_to_string(&mut s).unwrap();
                (e.name().unwrap().to_string(), s)
            })
            .collect()
    }

    fn get<'a>(entries: &'a [(String, String)], name: &str) -> &'a str {
        &entries.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name} missing")).1
    }

    #[test]
    fn windows_package_has_the_documented_folders() {
        let bytes = investigation_package(&machine("Windows11"), &action("CollectInvestigationPackage"), &logons());
        let entries = unzip(&bytes);
        for folder in [
            "Autoruns/",
            "Installed programs/",
            "Network connections/",
            "Prefetch files/",
            "Processes/",
            "Scheduled tasks/",
            "Security event log/",
            "Services/",
            "Windows Server Message Block (SMB) sessions/",
            "System Information/",
            "Temp Directories/",
            "Users and Groups/",
            "WdSupportLogs/",
        ] {
            assert!(entries.iter().any(|(n, _)| n == folder), "{folder} directory entry");
            assert!(
                entries.iter().any(|(n, c)| n.starts_with(folder) && n != folder && !c.is_empty()),
                "{folder} content"
            );
        }
        let sys = get(&entries, "System Information/SystemInformation.txt");
        assert!(sys.contains("Host Name:                 MYMACHINE1\r\n"), "{sys}");
        assert!(sys.contains("OS Name:                   Microsoft Windows 11 Enterprise"));
        assert!(sys.contains("10.0.22631 N/A Build 22631"));
        assert!(sys.contains("Domain:                    contoso.com"));
        assert!(sys.contains("172.17.230.209"));
        let ipconfig = get(&entries, "Network connections/IpConfig.txt");
        assert!(ipconfig.contains("00-15-5D-3A-1B-2C"));
        assert!(ipconfig.contains("172.17.230.209(Preferred)"));
        assert!(ipconfig.contains("fe80::c8a1:3b6f:2b4e:9d01(Preferred)"));
        assert!(ipconfig.contains("Default Gateway . . . . . . . . . : 172.17.230.1"));
        assert!(!ipconfig.contains("127.0.0.1"), "loopback is not an adapter");
        for name in ["ActiveNetConnections.txt", "Arp.txt", "DnsCache.txt", "FirewallExecutionLog.txt"] {
            let text = get(&entries, &format!("Network connections/{name}"));
            assert!(
                text.contains("172.17.230.") || text.contains("dc01.contoso.com") || text.contains("State"),
                "{name}"
            );
        }
        // Processes and connections agree on the sensor's PID.
        let procs = get(&entries, "Processes/Processes.csv");
        let sense = procs.lines().find(|l| l.starts_with("MsSense.exe,")).unwrap().split(',').nth(1).unwrap();
        assert!(
            get(&entries, "Network connections/ActiveNetConnections.txt").contains(&format!("ESTABLISHED     {sense}"))
        );
        assert!(procs.contains(r"CONTOSO\alice"), "the interactive user's desktop");
        // Users and groups come from the logons.
        let admins = get(&entries, "Users and Groups/Administrators.txt");
        assert!(admins.contains(r"CONTOSO\bob.admin") && !admins.contains("alice"));
        assert!(get(&entries, "Users and Groups/Remote Desktop Users.txt").contains(r"CONTOSO\bob.admin"));
        assert!(get(&entries, "Temp Directories/alice.txt").contains(r"C:\Users\alice\AppData\Local\Temp"));
        let events = get(&entries, "Security event log/SecurityEvents.txt");
        assert_eq!(events.matches("Event ID: 4624").count(), 3);
        assert!(events.contains("Logon Type:\t\t10"));
        assert!(
            get(&entries, "Windows Server Message Block (SMB) sessions/SMBInboundSessions.txt")
                .contains(r"CONTOSO\svc-backup")
        );
        let report = get(&entries, "CollectionSummaryReport.xls");
        assert!(report.contains("Network connections\tIpConfig.txt\tCollected"));
        assert_eq!(entries.last().unwrap().0, "CollectionSummaryReport.xls");
    }

    #[test]
    fn package_is_deterministic_and_dated_by_the_action() {
        let m = machine("WindowsServer2022");
        let a = action("CollectInvestigationPackage");
        let one = investigation_package(&m, &a, &logons());
        assert_eq!(one, investigation_package(&m, &a, &logons()));
        let mut z = ZipArchive::new(Cursor::new(&one)).unwrap();
        for i in 0..z.len() {
            let e = z.by_index(i).unwrap();
            let t = e.last_modified().unwrap();
            assert_eq!((t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second()), (2026, 3, 1, 10, 0, 6));
        }
        // Another collection time is another package.
        let mut later = a.clone();
        later.last_update_date_time_utc += time::Duration::hours(1);
        assert_ne!(one, investigation_package(&m, &later, &logons()));
        let sys = get(&unzip(&one), "System Information/SystemInformation.txt").to_string();
        assert!(sys.contains("Microsoft Windows Server 2022 Datacenter") && sys.contains("Member Server"));
    }

    #[test]
    fn linux_and_macos_packages_are_smaller() {
        let windows =
            unzip(&investigation_package(&machine("Windows11"), &action("CollectInvestigationPackage"), &logons()));
        for platform in ["Linux", "macOS"] {
            let mut m = machine(platform);
            m.os_build = None;
            m.os_version = Some(if platform == "Linux" { "22.04" } else { "15.3" }.into());
            let entries = unzip(&investigation_package(&m, &action("CollectInvestigationPackage"), &[]));
            assert!(entries.len() < windows.len(), "{platform}");
            assert!(!entries.iter().any(|(n, _)| n.starts_with("Autoruns/") || n.starts_with("WdSupportLogs/")));
            let sys = get(&entries, "System Information/SystemInformation.txt");
            assert!(sys.contains("mymachine1") && sys.contains(&m.id), "{sys}");
            assert!(get(&entries, "Network connections/IpConfiguration.txt").contains("00:15:5d:3a:1b:2c"));
            assert!(get(&entries, "Processes/Processes.txt").contains("/opt/microsoft/mdatp/sbin/wdavdaemon"));
            assert!(entries.iter().any(|(n, _)| n == "CollectionSummaryReport.xls"));
            assert_eq!(entries.iter().any(|(n, _)| n.starts_with("Applications/")), platform == "macOS");
        }
    }

    fn live() -> MachineAction {
        let mut a = action("LiveResponse");
        let cmd = |index: i64, status: &str, kind: &str, params: &[(&str, &str)]| LiveResponseCommand {
            index,
            start_time: Some(datetime!(2026-03-01 10:00:02 UTC)),
            end_time: (status == "Completed").then_some(datetime!(2026-03-01 10:00:05 UTC)),
            command_status: status.into(),
            errors: vec![],
            command: LiveResponseCommandSpec {
                kind: kind.into(),
                params: params.iter().map(|(k, v)| KeyValue { key: (*k).into(), value: (*v).into() }).collect(),
            },
        };
        a.commands = vec![
            cmd(0, "Completed", "PutFile", &[("FileName", "triage.ps1")]),
            cmd(1, "Completed", "RunScript", &[("ScriptName", "triage.ps1"), ("Args", "-Verbose")]),
            cmd(2, "Completed", "GetFile", &[("Path", r"C:\Windows\Temp\triage.log")]),
            cmd(3, "Failed", "GetFile", &[("Path", r"C:\missing.txt")]),
        ];
        a
    }

    #[test]
    fn live_response_results_per_command() {
        let a = live();
        let put: serde_json::Value = serde_json::from_slice(&live_response_result(&a, 0).unwrap()).unwrap();
        assert_eq!(put["file_name"], "triage.ps1");
        assert_eq!(put["status"], "Completed");
        let run: serde_json::Value = serde_json::from_slice(&live_response_result(&a, 1).unwrap()).unwrap();
        let keys: Vec<_> = run.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 4);
        assert_eq!((run["script_name"].as_str(), run["exit_code"].as_i64()), (Some("triage.ps1"), Some(0)));
        assert_eq!(run["script_errors"], "");
        let out = run["script_output"].as_str().unwrap();
        assert!(out.contains("mymachine1.contoso.com") && out.contains("triage.ps1 -Verbose"), "{out}");
        let file = String::from_utf8(live_response_result(&a, 2).unwrap()).unwrap();
        assert!(file.contains("mymachine1.contoso.com") && file.contains("INFO"), "{file}");
        assert_eq!(live_response_result(&a, 3), None, "failed command");
        assert_eq!(live_response_result(&a, 4), None, "out of range");
        assert_eq!(live_response_result(&a, 2), live_response_result(&a, 2), "deterministic");
        assert_eq!(live_response_result(&action("Isolate"), 0), None);
    }
}
