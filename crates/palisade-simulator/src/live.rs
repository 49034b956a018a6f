//! Live mode: benign activity of the fleet for a window of real time, generated hour by hour
//! with the same seeds as the history (so a window is the same whichever moment it is asked
//! for) and cut to the window. Devices the caller marks isolated reach only the service.

use arrow::array::{BooleanArray, TimestampNanosecondArray};
use arrow::compute::filter_record_batch;
use arrow::record_batch::RecordBatch;
use palisade_telemetry::Table;

use crate::benign::{self, HOUR};
use crate::{Nanos, Plan, SimDevice, Sink};

/// Rows of `[from, to)` for every device `online` keeps; `isolated` says which devices are cut
/// off. Devices whose sensor is offline (per the caller) produce nothing.
pub fn window(
    plan: &Plan,
    from: Nanos,
    to: Nanos,
    online: impl Fn(&SimDevice) -> bool,
    isolated: impl Fn(&SimDevice) -> bool,
) -> Vec<(Table, RecordBatch)> {
    if to <= from {
        return vec![];
    }
    let grid = crate::nanos(plan.opts.start);
    let first_hour = grid + (from - grid).div_euclid(HOUR) * HOUR;
    let mut sink = Sink::new();
    for device in plan.fleet.devices.iter().filter(|d| online(d)) {
        let cut = isolated(device);
        let mut h = first_hour;
        while h < to {
            benign::device_hour(plan, device, h, cut, &mut sink);
            h += HOUR;
        }
    }
    sink.finish()
        .into_iter()
        .filter_map(|(table, batch)| {
            let ts = batch.column(0).as_any().downcast_ref::<TimestampNanosecondArray>()?;
            let keep: BooleanArray = ts.iter().map(|t| t.map(|t| t >= from && t < to)).collect();
            let cut = filter_record_batch(&batch, &keep).ok()?;
            (cut.num_rows() > 0).then_some((table, cut))
        })
        .collect()
}
