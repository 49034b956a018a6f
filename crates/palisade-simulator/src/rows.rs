//! Row-at-a-time construction of a table's Arrow batch. Generators set the columns an event has
//! and [`Rows::end_row`] fills the rest with nulls, so wide tables (60+ columns, mostly sparse)
//! cost only what each event fills in. Columns are addressed by index, resolved once per table
//! with [`indexes`]: looking names up per cell would dominate generation time.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, DurationNanosecondBuilder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::record_batch::RecordBatch;
use palisade_telemetry::Table;

enum Col {
    Str(StringBuilder),
    Long(Int64Builder),
    Int(Int32Builder),
    Real(Float64Builder),
    Bool(BooleanBuilder),
    Time(TimestampNanosecondBuilder),
    Span(DurationNanosecondBuilder),
}

impl Col {
    fn new(ty: &DataType, rows: usize) -> Col {
        match ty {
            DataType::Utf8 => Col::Str(StringBuilder::with_capacity(rows, rows * 16)),
            DataType::Int64 => Col::Long(Int64Builder::with_capacity(rows)),
            DataType::Int32 => Col::Int(Int32Builder::with_capacity(rows)),
            DataType::Float64 => Col::Real(Float64Builder::with_capacity(rows)),
            DataType::Boolean => Col::Bool(BooleanBuilder::with_capacity(rows)),
            DataType::Timestamp(TimeUnit::Nanosecond, None) => {
                Col::Time(TimestampNanosecondBuilder::with_capacity(rows))
            }
            DataType::Duration(TimeUnit::Nanosecond) => Col::Span(DurationNanosecondBuilder::with_capacity(rows)),
            other => unreachable!("no telemetry column is stored as {other}"),
        }
    }

    fn len(&self) -> usize {
        match self {
            Col::Str(b) => b.len(),
            Col::Long(b) => b.len(),
            Col::Int(b) => b.len(),
            Col::Real(b) => b.len(),
            Col::Bool(b) => b.len(),
            Col::Time(b) => b.len(),
            Col::Span(b) => b.len(),
        }
    }

    fn nulls(&mut self, n: usize) {
        match self {
            Col::Str(b) => b.append_nulls(n),
            Col::Long(b) => b.append_nulls(n),
            Col::Int(b) => b.append_nulls(n),
            Col::Real(b) => b.append_nulls(n),
            Col::Bool(b) => b.append_nulls(n),
            Col::Time(b) => b.append_nulls(n),
            Col::Span(b) => b.append_nulls(n),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Col::Str(b) => Arc::new(b.finish()),
            Col::Long(b) => Arc::new(b.finish()),
            Col::Int(b) => Arc::new(b.finish()),
            Col::Real(b) => Arc::new(b.finish()),
            Col::Bool(b) => Arc::new(b.finish()),
            Col::Time(b) => Arc::new(b.finish()),
            Col::Span(b) => Arc::new(b.finish()),
        }
    }
}

/// Rows of one table being built.
///
/// Nulls are written lazily: a column remembers how many rows it covers and catches up with one
/// bulk `append_nulls` when it is next set (or at [`Rows::finish`]). Most columns of a wide
/// table are null in most rows, so completing a row costs nothing per column.
pub struct Rows {
    table: Table,
    cols: Vec<Col>,
    /// Rows each column holds so far (values and nulls).
    filled: Vec<usize>,
    len: usize,
}

impl Rows {
    pub fn new(table: Table) -> Rows {
        Rows::with_capacity(table, 1024)
    }

    pub fn with_capacity(table: Table, rows: usize) -> Rows {
        let schema = table.arrow_schema();
        let cols: Vec<Col> = schema.fields().iter().map(|f| Col::new(f.data_type(), rows)).collect();
        Rows { table, filled: vec![0; cols.len()], cols, len: 0 }
    }

    pub fn table(&self) -> Table {
        self.table
    }

    /// Completed rows.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The column, caught up to the current row and counted as set in it.
    #[inline]
    fn slot(&mut self, col: usize) -> &mut Col {
        let filled = self.filled[col];
        debug_assert!(filled <= self.len, "{}: column {col} set twice in one row", self.table);
        let c = &mut self.cols[col];
        if filled < self.len {
            c.nulls(self.len - filled);
        }
        self.filled[col] = self.len + 1;
        c
    }

    /// Sets a string (or guid, or dynamic-as-JSON) column of the current row.
    #[inline]
    pub fn str(&mut self, col: usize, v: &str) {
        match self.slot(col) {
            Col::Str(b) => b.append_value(v),
            _ => panic!("{}: column {col} is not a string column", self.table),
        }
    }

    /// Sets the column when `v` is `Some`; a `None` is left for [`Rows::end_row`] to null.
    #[inline]
    pub fn opt_str(&mut self, col: usize, v: Option<&str>) {
        if let Some(v) = v {
            self.str(col, v);
        }
    }

    #[inline]
    pub fn long(&mut self, col: usize, v: i64) {
        match self.slot(col) {
            Col::Long(b) => b.append_value(v),
            _ => panic!("{}: column {col} is not a long column", self.table),
        }
    }

    #[inline]
    pub fn int(&mut self, col: usize, v: i32) {
        match self.slot(col) {
            Col::Int(b) => b.append_value(v),
            _ => panic!("{}: column {col} is not an int column", self.table),
        }
    }

    #[inline]
    pub fn real(&mut self, col: usize, v: f64) {
        match self.slot(col) {
            Col::Real(b) => b.append_value(v),
            _ => panic!("{}: column {col} is not a real column", self.table),
        }
    }

    #[inline]
    pub fn bool(&mut self, col: usize, v: bool) {
        match self.slot(col) {
            Col::Bool(b) => b.append_value(v),
            _ => panic!("{}: column {col} is not a bool column", self.table),
        }
    }

    /// Sets a datetime column: UTC nanoseconds since the epoch.
    #[inline]
    pub fn time(&mut self, col: usize, ns: i64) {
        match self.slot(col) {
            Col::Time(b) => b.append_value(ns),
            _ => panic!("{}: column {col} is not a datetime column", self.table),
        }
    }

    /// Completes the current row: every column not set is null.
    #[inline]
    pub fn end_row(&mut self) {
        self.len += 1;
    }

    /// The completed rows as a batch with the table's exact schema. The builder starts over
    /// empty with room for as many rows, since the next batch is usually of the same size and
    /// regrowing the buffers would be most of the cost.
    pub fn finish(&mut self) -> RecordBatch {
        let len = self.len;
        let columns: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .zip(&mut self.filled)
            .map(|(c, filled)| {
                if *filled < len {
                    c.nulls(len - *filled);
                }
                *filled = 0;
                debug_assert_eq!(c.len(), len);
                c.finish()
            })
            .collect();
        let schema = self.table.arrow_schema();
        for (c, f) in self.cols.iter_mut().zip(schema.fields()) {
            *c = Col::new(f.data_type(), len.max(1024));
        }
        self.len = 0;
        RecordBatch::try_new(schema, columns).expect("builders follow the table schema")
    }
}

/// Column indexes of `names` in `table`, resolved once by generators. Panics on a name the
/// table does not have: that is a bug in the generator, caught by any test that emits the event.
pub fn indexes<const N: usize>(table: Table, names: [&str; N]) -> [usize; N] {
    names.map(|n| table.column(n).unwrap_or_else(|| panic!("{table} has no column {n}")).0)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray};

    use super::*;

    #[test]
    fn unset_columns_are_null_and_the_batch_has_the_table_schema() {
        let [ts, name, port] = indexes(Table::DeviceNetworkEvents, ["Timestamp", "DeviceName", "RemotePort"]);
        let mut rows = Rows::new(Table::DeviceNetworkEvents);
        rows.time(ts, 1_000);
        rows.str(name, "pc1");
        rows.int(port, 443);
        rows.end_row();
        rows.time(ts, 2_000);
        rows.end_row();
        let batch = rows.finish();
        assert_eq!(batch.schema(), Table::DeviceNetworkEvents.arrow_schema());
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.column(name).as_string::<i32>().value(0), "pc1");
        assert!(batch.column(name).is_null(1));
        assert!(batch.column(port).is_null(1));
        assert!(rows.is_empty());
    }

    #[test]
    #[should_panic(expected = "has no column")]
    fn unknown_columns_are_a_generator_bug() {
        indexes(Table::AlertInfo, ["DeviceId"]);
    }
}
