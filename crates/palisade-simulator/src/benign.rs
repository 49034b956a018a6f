//! Benign activity (to be written).

use crate::{Plan, Sink};

pub fn day(_plan: &Plan, _d: u32, _sink: &mut Sink) {}
