//! The fleet-and-attack simulator: devices, benign sensor telemetry and attack storylines, made
//! so that alerts, incidents and hunting rows agree with each other.
//!
//! **Shape of a run.** [`plan`] decides everything that spans days — the fleet (from
//! `palisade_defender::fixtures`, so devices look like the API's), the attack storylines with
//! their events, alerts and incidents. [`day`] then writes one simulated day of rows: benign
//! activity of every device, the storyline events of that day, `DeviceInfo`/`DeviceNetworkInfo`
//! snapshots and the alert tables. Days are independent given the plan, so a driver can generate
//! them in parallel and still get the same bytes.
//!
//! **Determinism.** Output depends only on the tenant id and [`SimOptions`]: randomness is
//! ChaCha8 seeded from `(seed, purpose, device, day)`, the clock is [`SimOptions::start`], and
//! no hash-map iteration order reaches the output.

pub mod benign;
pub mod catalog;
pub mod effects;
pub mod event;
pub mod fleet;
pub mod live;
pub mod rows;
pub mod run;
pub mod story;

use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub use event::{Event, Kind, Nanos, Sink};
pub use fleet::{Fleet, SimDevice};
pub use rows::Rows;

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    pub seed: u64,
    /// Number of devices.
    pub devices: usize,
    /// First simulated instant (the history runs from here for [`SimOptions::days`] days).
    pub start: OffsetDateTime,
    pub days: u32,
    /// Average benign sensor events per device per hour, all tables together.
    pub events_per_device_hour: u32,
    /// Run the attack storylines (alerts and incidents come only from them).
    pub attacks: bool,
    /// DNS domain of devices and users, e.g. `contoso.com`.
    pub tenant_domain: String,
}

impl SimOptions {
    /// `devices` devices over `days` days starting at `start`, seed 0, 60 events per device-hour,
    /// attacks on, `contoso.com`.
    pub fn new(devices: usize, start: OffsetDateTime, days: u32) -> SimOptions {
        SimOptions {
            seed: 0,
            devices,
            start,
            days,
            events_per_device_hour: 60,
            attacks: true,
            tenant_domain: "contoso.com".into(),
        }
    }

    /// The end of the simulated span (exclusive).
    pub fn end(&self) -> OffsetDateTime {
        self.start + Duration::days(i64::from(self.days))
    }

    /// Start of simulated day `d` (0-based).
    pub fn day_start(&self, d: u32) -> OffsetDateTime {
        self.start + Duration::days(i64::from(d))
    }
}

/// Everything decided before any day is written.
#[derive(Clone)]
pub struct Plan {
    pub tenant: Uuid,
    pub opts: SimOptions,
    pub fleet: Fleet,
    pub attacks: story::Attacks,
}

/// Builds the fleet and the storylines.
pub fn plan(tenant: Uuid, opts: &SimOptions) -> Plan {
    let fleet = Fleet::build(tenant, opts);
    let attacks = if opts.attacks { story::plan_for(tenant, &fleet, opts) } else { story::Attacks::default() };
    Plan { tenant, opts: opts.clone(), fleet, attacks }
}

/// Writes simulated day `d` into `sink`: benign activity, the storyline events dated that day
/// and the alert rows of alerts created that day.
pub fn day(plan: &Plan, d: u32, sink: &mut Sink) {
    benign::day(plan, d, sink);
    plan.attacks.day(&plan.opts, d, sink);
}

/// Nanoseconds since the epoch of a datetime.
pub fn nanos(t: OffsetDateTime) -> Nanos {
    (t.unix_timestamp_nanos()) as Nanos
}

/// The datetime of a nanosecond timestamp.
pub fn datetime(ns: Nanos) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ns)).expect("simulated times are in range")
}
