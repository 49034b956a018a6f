//! Attack storylines (to be written).

use palisade_defender::model::{Alert, Incident};

use crate::{Event, Fleet, SimOptions, Sink};

/// The attacks of a run: their sensor events (sorted by time), the alerts they raise and the
/// incidents grouping those alerts.
#[derive(Debug, Clone, Default)]
pub struct Attacks {
    pub events: Vec<Event>,
    pub alerts: Vec<Alert>,
    pub incidents: Vec<Incident>,
}

pub fn plan(_fleet: &Fleet, _opts: &SimOptions) -> Attacks {
    Attacks::default()
}

impl Attacks {
    /// Writes the events dated on day `d` and the alert rows of alerts created that day.
    pub fn day(&self, _opts: &SimOptions, _d: u32, _sink: &mut Sink) {}
}
