//! A beaconing implant: a fake installer drops `updater.exe` in `C:\ProgramData`, which calls its
//! command-and-control server every few minutes, with a little jitter, for hours or days — the
//! regular rhythm beacon-hunting queries look for.

use super::StoryRng;
use std::sync::Arc;

use super::alerts::{Detection, Ev};
use super::images::{self, Bin};
use super::{Ctx, DAY, HOUR, MIN, SEC, domain_user, running};
use crate::Nanos;
use crate::event::FileEvent;

const DROP_EXEC: Detection = Detection {
    title: "Suspicious file dropped and launched",
    category: "Execution",
    severity: "Medium",
    av: false,
    mitre: &["T1105", "T1204.002"],
    description: "A recently downloaded file with low prevalence dropped and started another executable.",
};
const C2: Detection = Detection {
    title: "Suspicious network connection to known C2",
    category: "CommandAndControl",
    severity: "High",
    av: false,
    mitre: &["T1071.001", "T1573.002"],
    description: "A process connected to an address that threat intelligence associates with command-and-control \
                  infrastructure.",
};

const HOSTS: &[&str] = &["telemetry-sync.example.org", "api-metrics.example.com", "edge-relay.example.net"];
const LURES: &[&str] = &["ChromeSetup.exe", "ZoomInstallerFull.exe", "TeamsUpdate.exe", "AdobeReaderUpdate.exe"];
/// Beacon periods in minutes.
const PERIODS: &[i64] = &[1, 5, 10, 15, 30, 60];
/// At most this many callbacks per instance (a day at one a minute), which bounds the memory a
/// plan of thousands of storylines takes.
const MAX_BEACONS: i64 = 1_500;

pub(super) fn run(ctx: &mut Ctx, used: &mut [bool]) -> bool {
    let Some((v, t0)) = ctx.victim(used, 2 * HOUR, true, |d| domain_user(d).is_some()) else { return false };
    ctx.touch(v, used);
    ctx.tags = &["Command and control"];
    let fleet = ctx.fleet;
    let dev = &fleet.devices[v];
    let account = domain_user(dev).expect("victims have a domain user");
    let s = ctx.session(v, t0, account.clone());
    let user = s.user.clone();

    let ip: Arc<str> = format!("192.0.2.{}", ctx.rng.between(2, 255)).into();
    let host: Arc<str> = ctx.rng.pick(HOSTS).into();
    let lure_name = ctx.rng.pick(LURES);
    let download: Arc<str> = format!("https://{}/download/{lure_name}", ctx.rng.pick(HOSTS)).into();

    // The user downloads and runs a fake installer.
    let edge = running(
        ctx.bin(v, Bin::Msedge),
        ctx.rng.pid(),
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --profile-directory=Default"#,
        s.explorer.created + ctx.rng.span(MIN, 30 * MIN),
        user.clone(),
        Some(s.explorer.as_parent()),
    );
    let size = ctx.rng.between(900_000, 6_000_000);
    let lure = images::dropped(&mut ctx.rng, &format!(r"C:\Users\{}\Downloads", account.name), lure_name, size);
    ctx.connect(t0, v, &edge, &ip, 443, Some(&host));
    let t_dl = t0 + ctx.rng.span(2 * SEC, 20 * SEC);
    ctx.file(
        t_dl,
        v,
        FileEvent {
            origin_url: Some(download),
            origin_ip: Some(ip.clone()),
            ..FileEvent::local("FileCreated", edge, lure.clone())
        },
    );
    let t_run = t_dl + ctx.rng.span(10 * SEC, 2 * MIN);
    let installer =
        ctx.spawn(t_run, v, &s.explorer, lure.clone(), format!("\"{}\"", lure.folder_path), &user.elevated());

    // It drops and starts the implant.
    let t_drop = t_run + ctx.rng.span(2 * SEC, 20 * SEC);
    let size = ctx.rng.between(150_000, 900_000);
    let implant = images::dropped(&mut ctx.rng, r"C:\ProgramData", "updater.exe", size);
    ctx.file(t_drop, v, FileEvent::local("FileCreated", installer.clone(), implant.clone()));
    ctx.profile(&lure, false, Some(("Malware", "Trojan:Win32/Wacatac.B!ml")), t_dl);
    ctx.profile(&implant, false, Some(("Malware", "Backdoor:Win64/CobaltStrike.NP!dha")), t_drop);
    let t_start = t_drop + ctx.rng.span(SEC, 10 * SEC);
    let updater =
        ctx.spawn(t_start, v, &installer, implant.clone(), r"C:\ProgramData\updater.exe /service", &user.elevated());

    // Callbacks until the device goes away or the run ends, up to a few days.
    let period = ctx.rng.pick(PERIODS) * MIN;
    let jitter = 0.02 + 0.08 * ctx.rng.unit();
    let (_, window_end) = ctx.window(v).expect("the victim has a window");
    let until = window_end.min(t_start + ctx.rng.span(6 * HOUR, 4 * DAY));
    let mut t = t_start + ctx.rng.span(2 * SEC, 20 * SEC);
    let first = t;
    let mut beacons = 0;
    let mut last_before_alert = t;
    let alert_at = first + ctx.rng.span(MIN, 4 * MIN);
    while t < until && beacons < MAX_BEACONS {
        ctx.connect(t, v, &updater, &ip, 443, Some(&host));
        if t <= alert_at {
            last_before_alert = t;
        }
        beacons += 1;
        let offset = (period as f64 * jitter * (2.0 * ctx.rng.unit() - 1.0)) as Nanos;
        t += period + offset - offset % 100;
    }

    ctx.raise(
        v,
        &DROP_EXEC,
        t_drop,
        t_start,
        &account,
        None,
        vec![Ev::Process { process: updater.clone(), parent: installer.clone() }, Ev::File(implant.clone())],
    );
    ctx.raise(
        v,
        &C2,
        first,
        last_before_alert,
        &account,
        None,
        vec![
            Ev::Process { process: updater, parent: installer },
            Ev::File(implant),
            Ev::Ip { ip, inbound: false },
            Ev::Url(host),
        ],
    );
    true
}
