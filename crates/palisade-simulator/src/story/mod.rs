//! Attack storylines: what an intrusion looks like to the sensor and to the alerting pipeline.
//!
//! Each storyline instance writes the [`Event`]s it causes — process trees whose initiators chain
//! back to `explorer.exe` or `services.exe`, connections, file and registry writes, logons — and
//! raises Defender alerts whose evidence is copied from those very events, so an analyst pivoting
//! from an alert's process id, hash or address finds the rows. The alerts of one instance form
//! one incident.
//!
//! Four storylines, all on Windows: human-operated ransomware (phishing document → encoded
//! PowerShell → LSASS dump → PsExec and WMI lateral movement → encryption on every device
//! reached), a beaconing implant, a certutil download and Run-key persistence. Their number
//! scales with the fleet — about one per 25 device-days, each kind at least once when the fleet
//! has a victim for it — and each lands inside its victims' `firstSeen..lastSeen`, so the API's
//! machines and the alerts agree.
//!
//! Event report ids start at [`REPORT_ID_BASE`], far above what benign activity numbers per
//! device, so the two never collide.

mod alerts;
mod beacon;
mod images;
mod lolbin;
mod ransomware;

use std::sync::Arc;

use palisade_defender::model::{Alert, FileInfo, Incident};
use uuid::Uuid;

use crate::event::{Account, FileEvent, Network, Parent, Process};
use crate::fleet::OsFamily;
use crate::{Event, Fleet, Kind, Nanos, SimOptions, Sink, nanos};
use images::{Bin, image};

pub use alerts::technique_name;

/// First `ReportId` of storyline events.
pub const REPORT_ID_BASE: i64 = 1 << 40;

/// At most this many storyline instances per run, whatever the fleet size: the plan holds every
/// storyline event in memory.
pub const MAX_STORYLINES: usize = 2_000;

/// Device-days per storyline instance.
const DEVICE_DAYS_PER_STORY: u64 = 25;

/// Seeds the storyline generators apart from every other consumer of `SimOptions::seed`.
const PURPOSE: u64 = 0x5707_1e5a_77ac_4e55;
/// Seeds the per-device-day sessions (boot and logon times, pids of long-running processes).
const SESSION_PURPOSE: u64 = 0x5e55_10a5_0b00_7ed0;

const SEC: Nanos = 1_000_000_000;
const MIN: Nanos = 60 * SEC;
const HOUR: Nanos = 60 * MIN;
const DAY: Nanos = 24 * HOUR;

/// The kinds of storyline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Storyline {
    /// Phishing document to encrypted files on several devices.
    Ransomware,
    /// A dropped implant calling its C2 server at a regular interval.
    Beacon,
    /// `certutil.exe -urlcache` fetching a payload.
    CertutilDownload,
    /// A `Run` key pointing at a dropped payload.
    RunKeyPersistence,
}

impl Storyline {
    pub const ALL: [Storyline; 4] =
        [Storyline::Ransomware, Storyline::Beacon, Storyline::CertutilDownload, Storyline::RunKeyPersistence];
}

/// One storyline instance, for drivers and tests that need to know what happened where.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub kind: Storyline,
    pub incident_id: i64,
    /// Machine ids of the devices it touched, the first victim first.
    pub devices: Vec<String>,
    /// Time of its first and last event.
    pub first: Nanos,
    pub last: Nanos,
}

/// The attacks of a run: their sensor events (sorted by time), the alerts they raise and the
/// incidents grouping those alerts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attacks {
    /// Sorted by `(at, host id, report id)`.
    pub events: Vec<Event>,
    /// Sorted by creation time; ids follow the service's `da<ticks>_<n>` form.
    pub alerts: Vec<Alert>,
    /// Sorted by id; ids grow with creation time.
    pub incidents: Vec<Incident>,
    /// In incident order.
    pub storylines: Vec<Instance>,
    /// Profiles of the attacker files the evidence names (for `/api/files`).
    pub files: Vec<FileInfo>,
    /// `(machine id, riskScore, exposureLevel)` of every device with an alert, in fleet order.
    machine_updates: Vec<(String, String, String)>,
    /// What `AlertEvidence` needs beyond the API's evidence, parallel to `alerts`.
    extras: Vec<alerts::AlertExtra>,
}

/// The storylines of a fleet, with `aadTenantId` left as the nil GUID (the fleet does not carry
/// its tenant); [`plan_for`] fills it.
pub fn plan(fleet: &Fleet, opts: &SimOptions) -> Attacks {
    plan_for(Uuid::nil(), fleet, opts)
}

/// The storylines of `tenant`'s fleet over `[opts.start, opts.end())`.
pub fn plan_for(tenant: Uuid, fleet: &Fleet, opts: &SimOptions) -> Attacks {
    let (start, end) = (nanos(opts.start), nanos(opts.end()));
    if fleet.devices.is_empty() || end <= start {
        return Attacks::default();
    }
    let base = mix64(opts.seed ^ PURPOSE);
    let mut rng = Rng::new(base, 0);
    let device_days = fleet.devices.len() as u64 * u64::from(opts.days);
    let count = ((device_days / DEVICE_DAYS_PER_STORY) as usize).clamp(Storyline::ALL.len(), MAX_STORYLINES);
    // Ransomware is rare and loud: at most one instance in twelve.
    let ransomware_cap = (count / 12).max(1);
    let mut kinds: Vec<Storyline> = Storyline::ALL.to_vec();
    let mut ransomware = 1;
    while kinds.len() < count {
        let k = match rng.below(10) {
            0 if ransomware < ransomware_cap => {
                ransomware += 1;
                Storyline::Ransomware
            }
            0..=3 => Storyline::Beacon,
            4..=6 => Storyline::CertutilDownload,
            _ => Storyline::RunKeyPersistence,
        };
        kinds.push(k);
    }

    let mut used = vec![false; fleet.devices.len()];
    let mut stories = Vec::with_capacity(kinds.len());
    for (i, kind) in kinds.into_iter().enumerate() {
        let mut ctx = Ctx::new(fleet, opts, base, Rng::new(base, 1 + i as u64));
        let ok = match kind {
            Storyline::Ransomware => ransomware::run(&mut ctx, &mut used),
            Storyline::Beacon => beacon::run(&mut ctx, &mut used),
            Storyline::CertutilDownload => lolbin::certutil(&mut ctx, &mut used),
            Storyline::RunKeyPersistence => lolbin::run_key(&mut ctx, &mut used),
        };
        if ok && !ctx.alerts.is_empty() {
            stories.push(ctx.into_story(kind));
        }
    }
    alerts::assemble(tenant, fleet, base, stories)
}

impl Attacks {
    /// Writes the events dated on day `d` and the `AlertInfo`/`AlertEvidence` rows of alerts
    /// created that day.
    pub fn day(&self, opts: &SimOptions, d: u32, sink: &mut Sink) {
        let (lo, hi) = (nanos(opts.day_start(d)), nanos(opts.day_start(d + 1)));
        let a = self.events.partition_point(|e| e.at < lo);
        let b = self.events.partition_point(|e| e.at < hi);
        for e in &self.events[a..b] {
            sink.push(e);
        }
        let created = |a: &Alert| a.alert_creation_time.map_or(Nanos::MIN, nanos);
        let a = self.alerts.partition_point(|x| created(x) < lo);
        let b = self.alerts.partition_point(|x| created(x) < hi);
        for (i, alert) in self.alerts.iter().enumerate().take(b).skip(a) {
            // `alerts` is public: a caller who added one gets its rows without the extras.
            let fallback = alerts::AlertExtra::default();
            alerts::write_rows(alert, self.extras.get(i).unwrap_or(&fallback), sink);
        }
    }

    /// The machine risk and exposure the alerts imply, as `(machine id, riskScore,
    /// exposureLevel)`: risk is the highest severity of the device's alerts, exposure never
    /// drops below it (a compromised device is exposed).
    pub fn machine_updates(&self) -> Vec<(String, String, String)> {
        self.machine_updates.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness

pub(crate) use crate::catalog::{Rng, mix64};

/// What storylines draw beyond the shared sampler.
pub(crate) trait StoryRng {
    /// A duration in `lo..hi` nanoseconds, in whole 100 ns ticks: the wire's precision, so times
    /// survive a round trip through the API unchanged.
    fn span(&mut self, lo: Nanos, hi: Nanos) -> Nanos;
    /// A Windows process id (a multiple of 4).
    fn pid(&mut self) -> i64;
    /// `n` characters of `alphabet`.
    fn text(&mut self, n: usize, alphabet: &[u8]) -> String;
}

impl StoryRng for Rng {
    fn span(&mut self, lo: Nanos, hi: Nanos) -> Nanos {
        self.between(lo / 100, hi / 100) * 100
    }

    fn pid(&mut self) -> i64 {
        4 * self.between(300, 16_000)
    }

    fn text(&mut self, n: usize, alphabet: &[u8]) -> String {
        let mut out = String::with_capacity(n);
        self.chars(&mut out, n, alphabet);
        out
    }
}

/// Standard base64 with padding (what `-EncodedCommand` takes).
fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---------------------------------------------------------------------------------------------
// Building storylines

/// Who a process runs as.
#[derive(Debug, Clone)]
struct Token {
    pub account: Arc<Account>,
    pub logon_id: i64,
    pub integrity: &'static str,
    pub elevation: &'static str,
}

impl Token {
    pub fn system() -> Token {
        Token { account: well_known("system", "S-1-5-18"), logon_id: 0x3e7, integrity: "System", elevation: "Default" }
    }

    pub fn network_service() -> Token {
        Token {
            account: well_known("network service", "S-1-5-20"),
            logon_id: 0x3e4,
            integrity: "System",
            elevation: "Default",
        }
    }

    /// The same account with a full administrator token (after a UAC prompt or bypass).
    pub fn elevated(&self) -> Token {
        Token { integrity: "High", elevation: "Full", ..self.clone() }
    }
}

fn well_known(name: &str, sid: &str) -> Arc<Account> {
    Arc::new(Account { domain: "NT AUTHORITY".into(), name: name.into(), sid: sid.into(), upn: None, object_id: None })
}

/// The long-running processes a storyline hangs its activity from on one device. Derived from
/// the device and the day only, so two storylines on the same device and day see the same
/// `explorer.exe`.
struct Session {
    pub system: Process,
    pub services: Process,
    pub lsass: Process,
    pub explorer: Process,
    pub user: Token,
}

/// One storyline instance being built.
struct Ctx<'a> {
    pub fleet: &'a Fleet,
    pub opts: &'a SimOptions,
    pub start: Nanos,
    pub end: Nanos,
    base: u64,
    pub rng: Rng,
    pub events: Vec<Event>,
    pub alerts: Vec<alerts::Draft>,
    pub files: Vec<FileInfo>,
    /// Fleet indexes of the devices touched, the first victim first.
    pub devices: Vec<usize>,
    pub tags: &'static [&'static str],
}

/// A finished storyline instance, before ids are given out.
struct Story {
    pub kind: Storyline,
    pub events: Vec<Event>,
    pub alerts: Vec<alerts::Draft>,
    pub files: Vec<FileInfo>,
    pub devices: Vec<usize>,
    pub tags: &'static [&'static str],
}

impl<'a> Ctx<'a> {
    fn new(fleet: &'a Fleet, opts: &'a SimOptions, base: u64, rng: Rng) -> Ctx<'a> {
        Ctx {
            fleet,
            opts,
            start: nanos(opts.start),
            end: nanos(opts.end()),
            base,
            rng,
            events: Vec::new(),
            alerts: Vec::new(),
            files: Vec::new(),
            devices: Vec::new(),
            tags: &[],
        }
    }

    fn into_story(self, kind: Storyline) -> Story {
        Story {
            kind,
            events: self.events,
            alerts: self.alerts,
            files: self.files,
            devices: self.devices,
            tags: self.tags,
        }
    }

    /// A device and a start time for a storyline lasting `need`: a Windows device accepted by
    /// `ok`, active (between its first and last sighting) for the whole span, preferably not yet
    /// attacked, and when `office_hours` preferably between 08:00 and 18:00 device time.
    pub fn victim(
        &mut self,
        used: &[bool],
        need: Nanos,
        office_hours: bool,
        ok: impl Fn(&crate::SimDevice) -> bool,
    ) -> Option<(usize, Nanos)> {
        let n = self.fleet.devices.len();
        for attempt in 0..64 {
            let i = self.rng.idx(n);
            let d = &self.fleet.devices[i];
            if !is_windows(d) || !ok(d) || (attempt < 32 && used[i]) {
                continue;
            }
            let Some((lo, hi)) = self.window(i) else { continue };
            let hi = hi - need;
            if hi <= lo {
                continue;
            }
            let t = lo + self.rng.span(0, hi - lo);
            let local_hour = (t + i64::from(d.tz_hours) * HOUR).rem_euclid(DAY) / HOUR;
            if office_hours && attempt < 48 && !(8..18).contains(&local_hour) {
                continue;
            }
            return Some((i, t - t.rem_euclid(100)));
        }
        None
    }

    /// When device `i` can have activity: inside the run and its `firstSeen..lastSeen`, with a
    /// margin at the start for boot and logon.
    pub fn window(&self, i: usize) -> Option<(Nanos, Nanos)> {
        let m = &self.fleet.devices[i].record.machine;
        let lo = self.start.max(nanos(m.first_seen)) + 15 * MIN;
        let hi = self.end.min(nanos(m.last_seen)) - 10 * MIN;
        (hi > lo).then_some((lo, hi))
    }

    /// Whether device `i` is active over `[from, to]`.
    pub fn active(&self, i: usize, from: Nanos, to: Nanos) -> bool {
        self.window(i).is_some_and(|(lo, hi)| lo <= from && to <= hi)
    }

    /// The domain administrator whose credentials an intruder harvests (the alphabetically
    /// first one the fleet's logons know, so every run picks the same), or `fallback`.
    pub fn domain_admin(&self, fallback: &Arc<Account>) -> Arc<Account> {
        let best = self
            .fleet
            .logons
            .iter()
            .filter(|l| l.is_domain_admin && l.account_sid.is_some())
            .min_by(|a, b| (&a.account_domain, &a.account_name).cmp(&(&b.account_domain, &b.account_name)));
        best.map_or_else(
            || fallback.clone(),
            |l| {
                Arc::new(Account {
                    domain: l.account_domain.as_str().into(),
                    name: l.account_name.as_str().into(),
                    sid: l.account_sid.clone().unwrap_or_default().into(),
                    upn: Some(format!("{}@{}", l.account_name, self.opts.tenant_domain).into()),
                    object_id: None,
                })
            },
        )
    }

    /// The long-running processes of device `i` on the day of `at`, with `user` signed in.
    pub fn session(&self, i: usize, at: Nanos, user: Arc<Account>) -> Session {
        let day = (at - self.start).div_euclid(DAY);
        let day_begin = self.start + day * DAY;
        let mut r = Rng::new(mix64(self.base ^ SESSION_PURPOSE), ((i as u64) << 16) ^ day as u64);
        let boot = day_begin - r.span(2 * HOUR, 36 * HOUR);
        let system = running(self.bin(i, Bin::System), 4, "", boot, Token::system(), None);
        let wininit = Parent { pid: 4 * r.between(120, 150), file_name: "wininit.exe".into(), created: boot + 6 * SEC };
        let services_pid = 4 * r.between(160, 200);
        let services = running(
            self.bin(i, Bin::Services),
            services_pid,
            r"C:\Windows\system32\services.exe",
            boot + 7 * SEC,
            Token::system(),
            Some(wininit.clone()),
        );
        let lsass = running(
            self.bin(i, Bin::Lsass),
            services_pid + 4 * r.between(2, 12),
            r"C:\Windows\system32\lsass.exe",
            boot + 7 * SEC + 300_000_000,
            Token::system(),
            Some(wininit),
        );
        let logon = boot + r.span(MIN, 10 * MIN);
        let user = Token {
            account: user,
            logon_id: r.between(0x10_0000, 0x4ff_ffff),
            integrity: "Medium",
            elevation: "Limited",
        };
        let userinit = Parent { pid: r.pid(), file_name: "userinit.exe".into(), created: logon };
        let explorer = running(
            self.bin(i, Bin::Explorer),
            r.pid(),
            r"C:\Windows\Explorer.EXE",
            logon + 2 * SEC,
            user.clone(),
            Some(userinit),
        );
        Session { system, services, lsass, explorer, user }
    }

    /// The image of `b` on device `dev` (its OS build decides the hashes).
    pub fn bin(&self, dev: usize, b: Bin) -> Arc<crate::event::Image> {
        image(b, self.fleet.devices[dev].variant)
    }

    pub fn emit(&mut self, at: Nanos, dev: usize, kind: Kind) {
        debug_assert!(self.start <= at && at < self.end, "storyline event outside the run");
        let host = self.fleet.devices[dev].host.clone();
        self.events.push(Event { at, host, report_id: 0, kind });
    }

    /// `parent` starts `image`; the `ProcessCreated` row is written and the child returned.
    pub fn spawn(
        &mut self,
        at: Nanos,
        dev: usize,
        parent: &Process,
        image: Arc<crate::event::Image>,
        cmd: impl Into<Arc<str>>,
        token: &Token,
    ) -> Process {
        let process = Process {
            image,
            pid: self.rng.pid(),
            command_line: cmd.into(),
            created: at,
            account: token.account.clone(),
            logon_id: token.logon_id,
            integrity: token.integrity,
            elevation: token.elevation,
            parent: Some(parent.as_parent()),
        };
        self.emit(at, dev, Kind::ProcessCreated { process: process.clone(), initiator: parent.clone() });
        process
    }

    /// An outbound TCP connection from `initiator`.
    pub fn connect(
        &mut self,
        at: Nanos,
        dev: usize,
        initiator: &Process,
        ip: &Arc<str>,
        port: i32,
        url: Option<&Arc<str>>,
    ) {
        let local_port = self.rng.between(49_152, 65_535) as i32;
        let local_ip = self.fleet.devices[dev].ip.clone();
        let public = !is_private(ip);
        self.emit(
            at,
            dev,
            Kind::Network(Network {
                action: "ConnectionSuccess",
                initiator: initiator.clone(),
                remote_ip: ip.clone(),
                remote_port: port,
                remote_url: url.cloned(),
                local_ip,
                local_port,
                protocol: "Tcp",
                local_ip_type: "Private",
                remote_ip_type: if public { "Public" } else { "Private" },
            }),
        );
    }

    /// An inbound connection to `local_port` accepted by `initiator`.
    pub fn inbound(&mut self, at: Nanos, dev: usize, initiator: &Process, from: &Arc<str>, local_port: i32) {
        let remote_port = self.rng.between(49_152, 65_535) as i32;
        let local_ip = self.fleet.devices[dev].ip.clone();
        self.emit(
            at,
            dev,
            Kind::Network(Network {
                action: "InboundConnectionAccepted",
                initiator: initiator.clone(),
                remote_ip: from.clone(),
                remote_port,
                remote_url: None,
                local_ip,
                local_port,
                protocol: "Tcp",
                local_ip_type: "Private",
                remote_ip_type: "Private",
            }),
        );
    }

    pub fn file(&mut self, at: Nanos, dev: usize, event: FileEvent) {
        self.emit(at, dev, Kind::File(event));
    }

    /// Marks device `i` as touched by this storyline.
    pub fn touch(&mut self, i: usize, used: &mut [bool]) {
        used[i] = true;
        if !self.devices.contains(&i) {
            self.devices.push(i);
        }
    }
}

/// A process that was already running (no creation event of its own).
fn running(
    image: Arc<crate::event::Image>,
    pid: i64,
    cmd: &str,
    created: Nanos,
    token: Token,
    parent: Option<Parent>,
) -> Process {
    Process {
        image,
        pid,
        command_line: cmd.into(),
        created,
        account: token.account,
        logon_id: token.logon_id,
        integrity: token.integrity,
        elevation: token.elevation,
        parent,
    }
}

/// The interactive user of a device: its first domain account (a person on a client, an
/// administrator on a server).
fn domain_user(d: &crate::SimDevice) -> Option<Arc<Account>> {
    d.users.iter().find(|u| !u.sid.is_empty() && !u.domain.eq_ignore_ascii_case(&d.short_name)).cloned()
}

fn is_windows(d: &crate::SimDevice) -> bool {
    matches!(d.family, OsFamily::WindowsClient | OsFamily::WindowsServer)
}

fn is_private(ip: &str) -> bool {
    let o: Vec<u8> = ip.split('.').filter_map(|p| p.parse().ok()).collect();
    matches!(o.as_slice(), [10, ..] | [192, 168, ..] | [127, ..])
        || matches!(o.as_slice(), [172, b, ..] if (16..32).contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn private_ranges_are_recognised() {
        assert!(is_private("10.1.2.3") && is_private("172.16.0.4") && is_private("192.168.1.1"));
        assert!(!is_private("203.0.113.7") && !is_private("172.32.0.1") && !is_private("192.0.2.1"));
    }
}
