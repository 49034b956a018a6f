//! Turning what clients send (NDJSON lines or Arrow IPC streams) into batches of a table's exact
//! schema, checking every row: the first bad value is reported with its row and column, and
//! nothing of a refused request is stored.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanBuilder, DurationNanosecondBuilder, Float64Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampNanosecondBuilder, new_null_array,
};
use arrow::ipc::reader::StreamReader;
use arrow::record_batch::RecordBatch;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::schema::{KqlType, Table};

/// Most rows one request may carry; larger uploads are split by the client (the CLI does).
pub const MAX_ROWS: usize = 1_000_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IngestError {
    /// `row` counts from 1 (the NDJSON line, or the row across the IPC stream's batches).
    #[error("row {row}, column '{column}': {message}")]
    Value { row: usize, column: String, message: String },
    #[error("row {row}: {message}")]
    Row { row: usize, message: String },
    #[error("{0}")]
    Body(String),
}

fn value_err(row: usize, column: &str, message: impl Into<String>) -> IngestError {
    IngestError::Value { row, column: column.to_string(), message: message.into() }
}

/// One column being built.
enum Builder {
    Bool(BooleanBuilder),
    Int(Int32Builder),
    Long(Int64Builder),
    Real(Float64Builder),
    Str(StringBuilder),
    Time(TimestampNanosecondBuilder),
    Span(DurationNanosecondBuilder),
}

impl Builder {
    fn new(ty: KqlType, cap: usize) -> Self {
        match ty {
            KqlType::Bool => Builder::Bool(BooleanBuilder::with_capacity(cap)),
            KqlType::Int => Builder::Int(Int32Builder::with_capacity(cap)),
            KqlType::Long => Builder::Long(Int64Builder::with_capacity(cap)),
            KqlType::Real | KqlType::Decimal => Builder::Real(Float64Builder::with_capacity(cap)),
            KqlType::String | KqlType::Guid | KqlType::Dynamic => {
                Builder::Str(StringBuilder::with_capacity(cap, cap * 16))
            }
            KqlType::DateTime => Builder::Time(TimestampNanosecondBuilder::with_capacity(cap)),
            KqlType::TimeSpan => Builder::Span(DurationNanosecondBuilder::with_capacity(cap)),
        }
    }

    fn null(&mut self) {
        match self {
            Builder::Bool(b) => b.append_null(),
            Builder::Int(b) => b.append_null(),
            Builder::Long(b) => b.append_null(),
            Builder::Real(b) => b.append_null(),
            Builder::Str(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Span(b) => b.append_null(),
        }
    }

    /// Appends `v`, or says what was wrong with it.
    fn push(&mut self, v: &Value) -> Result<(), String> {
        if v.is_null() {
            self.null();
            return Ok(());
        }
        match self {
            Builder::Bool(b) => b.append_value(v.as_bool().ok_or_else(|| expected("a bool (true or false)", v))?),
            Builder::Int(b) => {
                let n = v.as_i64().ok_or_else(|| expected("an int", v))?;
                b.append_value(i32::try_from(n).map_err(|_| format!("{n} does not fit an int (32 bits)"))?)
            }
            Builder::Long(b) => b.append_value(v.as_i64().ok_or_else(|| expected("a long", v))?),
            Builder::Real(b) => b.append_value(v.as_f64().ok_or_else(|| expected("a real", v))?),
            Builder::Str(b) => match v {
                Value::String(s) => b.append_value(s),
                // JSON-valued string columns (AdditionalFields, LoggedOnUsers, IPAddresses…) may
                // be sent as JSON; they are stored as its compact text.
                Value::Array(_) | Value::Object(_) => b.append_value(v.to_string()),
                _ => return Err(expected("a string", v)),
            },
            Builder::Time(b) => {
                let s = v.as_str().ok_or_else(|| expected("an ISO 8601 datetime string", v))?;
                b.append_value(
                    parse_datetime(s).ok_or_else(|| {
                        format!("'{s}' is not an ISO 8601 datetime such as 2026-11-21T08:15:30.1234567Z")
                    })?,
                )
            }
            Builder::Span(b) => b.append_value(v.as_i64().ok_or_else(|| expected("a duration in nanoseconds", v))?),
        }
        Ok(())
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Bool(mut b) => Arc::new(b.finish()),
            Builder::Int(mut b) => Arc::new(b.finish()),
            Builder::Long(mut b) => Arc::new(b.finish()),
            Builder::Real(mut b) => Arc::new(b.finish()),
            Builder::Str(mut b) => Arc::new(b.finish()),
            Builder::Time(mut b) => Arc::new(b.finish()),
            Builder::Span(mut b) => Arc::new(b.finish()),
        }
    }
}

fn expected(what: &str, v: &Value) -> String {
    let mut shown = v.to_string();
    if shown.len() > 60 {
        shown.truncate(57);
        shown.push_str("...");
    }
    format!("expected {what}, found {shown}")
}

/// RFC 3339 with up to 9 fractional digits (Kusto writes 7), `Z` or an offset; a missing zone is
/// taken as UTC, as Kusto does. Returns UTC nanoseconds.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let t =
        OffsetDateTime::parse(s, &Rfc3339).ok().or_else(|| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339).ok())?;
    i64::try_from(t.unix_timestamp_nanos()).ok()
}

/// Parses NDJSON (one JSON object per line; blank lines skipped) into one batch of `table`.
/// Absent columns are null; `Timestamp` is required; unknown columns are refused.
pub fn ndjson(table: Table, body: &[u8]) -> Result<RecordBatch, IngestError> {
    let columns = table.columns();
    let index: HashMap<&str, usize> = columns.iter().enumerate().map(|(i, c)| (c.name, i)).collect();
    let estimate = body.iter().filter(|b| **b == b'\n').count() + 1;
    let mut builders: Vec<Builder> = columns.iter().map(|c| Builder::new(c.ty, estimate.min(MAX_ROWS))).collect();
    let mut seen = vec![false; columns.len()];
    let mut rows = 0usize;
    for (i, line) in body.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let row = i + 1;
        rows += 1;
        if rows > MAX_ROWS {
            return Err(IngestError::Body(format!("more than {MAX_ROWS} rows in one request; send them in parts")));
        }
        let obj: serde_json::Map<String, Value> = serde_json::from_slice(line)
            .map_err(|e| IngestError::Row { row, message: format!("not a JSON object: {e}") })?;
        seen.iter_mut().for_each(|s| *s = false);
        for (k, v) in &obj {
            let Some(&c) = index.get(k.as_str()) else {
                return Err(value_err(row, k, format!("{table} has no such column")));
            };
            builders[c].push(v).map_err(|m| value_err(row, k, m))?;
            seen[c] = true;
        }
        for (c, b) in builders.iter_mut().enumerate() {
            if !seen[c] {
                b.null();
            }
        }
        if obj.get("Timestamp").is_none_or(Value::is_null) {
            return Err(value_err(row, "Timestamp", "every row needs a Timestamp"));
        }
    }
    let arrays: Vec<ArrayRef> = builders.into_iter().map(Builder::finish).collect();
    RecordBatch::try_new(table.arrow_schema(), arrays).map_err(|e| IngestError::Body(e.to_string()))
}

/// Reads an Arrow IPC stream whose columns are a subset of `table`'s, by name, with the table's
/// types; missing columns become null. Returns one batch per stream batch.
pub fn arrow_ipc(table: Table, body: &[u8]) -> Result<Vec<RecordBatch>, IngestError> {
    let reader = StreamReader::try_new(Cursor::new(body), None)
        .map_err(|e| IngestError::Body(format!("not an Arrow IPC stream: {e}")))?;
    let schema = reader.schema();
    let want = table.arrow_schema();
    let mut source = vec![None; want.fields().len()];
    for (i, f) in schema.fields().iter().enumerate() {
        let Some((c, col)) = table.column(f.name()) else {
            return Err(value_err(1, f.name(), format!("{table} has no such column")));
        };
        if f.data_type() != &col.ty.arrow() {
            return Err(value_err(
                1,
                f.name(),
                format!("type {} where {} ({}) is expected", f.data_type(), col.ty.arrow(), col.ty.kql_name()),
            ));
        }
        source[c] = Some(i);
    }
    if source[0].is_none() {
        return Err(value_err(1, "Timestamp", "the stream has no Timestamp column"));
    }
    let mut out = vec![];
    let mut first_row = 1usize;
    for batch in reader {
        let batch = batch.map_err(|e| IngestError::Body(format!("a damaged Arrow IPC batch: {e}")))?;
        let ts = batch.column(source[0].expect("checked"));
        if ts.null_count() > 0 {
            let at = (0..ts.len()).find(|i| ts.is_null(*i)).unwrap_or(0);
            return Err(value_err(first_row + at, "Timestamp", "every row needs a Timestamp"));
        }
        let n = batch.num_rows();
        let columns: Vec<ArrayRef> = want
            .fields()
            .iter()
            .zip(&source)
            .map(|(f, s)| match s {
                Some(i) => batch.column(*i).clone(),
                None => new_null_array(f.data_type(), n),
            })
            .collect();
        out.push(RecordBatch::try_new(want.clone(), columns).map_err(|e| IngestError::Body(e.to_string()))?);
        first_row += n;
        if first_row > MAX_ROWS + 1 {
            return Err(IngestError::Body(format!("more than {MAX_ROWS} rows in one request; send them in parts")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int32Array, StringArray, TimestampNanosecondArray};
    use arrow::ipc::writer::StreamWriter;

    use super::*;

    #[test]
    fn ndjson_rows_become_a_batch_with_nulls_for_absent_columns() {
        let body = br#"{"Timestamp":"2026-11-21T08:15:30.1234567Z","DeviceId":"d1","RemotePort":443,"RemoteIP":"10.0.0.5","AdditionalFields":{"a":1}}

{"Timestamp":"2026-11-21T08:15:31Z","DeviceId":"d2","RemotePort":null}
"#;
        let b = ndjson(Table::DeviceNetworkEvents, body).unwrap();
        assert_eq!(b.num_rows(), 2);
        let ts = b.column(0).as_any().downcast_ref::<TimestampNanosecondArray>().unwrap();
        assert_eq!(ts.value(0) % 1_000_000_000, 123_456_700, "all 7 fractional digits kept");
        let (port, _) = Table::DeviceNetworkEvents.column("RemotePort").unwrap();
        let port = b.column(port).as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!((port.value(0), port.is_null(1)), (443, true));
        let (af, _) = Table::DeviceNetworkEvents.column("AdditionalFields").unwrap();
        let af = b.column(af).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(af.value(0), r#"{"a":1}"#);
        assert!(af.is_null(1));
    }

    #[test]
    fn the_first_bad_value_is_named_by_row_and_column() {
        let ok = r#"{"Timestamp":"2026-11-21T08:15:30Z","DeviceId":"d1"}"#;
        let cases = [
            (
                format!("{ok}\n{{\"Timestamp\":\"2026-11-21T08:15:30Z\",\"RemotePort\":\"https\"}}"),
                "row 2, column 'RemotePort': expected an int, found \"https\"",
            ),
            (
                format!("{ok}\n{ok}\n{{\"Timestamp\":\"yesterday\"}}"),
                "row 3, column 'Timestamp': 'yesterday' is not an ISO 8601 datetime",
            ),
            (
                r#"{"Timestamp":"2026-11-21T08:15:30Z","Remoteport":1}"#.to_string(),
                "row 1, column 'Remoteport': DeviceNetworkEvents has no such column",
            ),
            (format!("{ok}\n{{\"DeviceId\":\"d\"}}"), "row 2, column 'Timestamp': every row needs a Timestamp"),
            (format!("{ok}\n[1,2]"), "row 2: not a JSON object"),
            (r#"{"Timestamp":"2026-11-21T08:15:30Z","RemotePort":99999999999}"#.to_string(), "does not fit an int"),
        ];
        for (body, want) in cases {
            let err = ndjson(Table::DeviceNetworkEvents, body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should contain {want}");
        }
    }

    #[test]
    fn arrow_ipc_with_a_subset_of_columns() {
        use arrow::datatypes::{Field, Schema};
        let schema = Arc::new(Schema::new(vec![
            Field::new("DeviceId", arrow::datatypes::DataType::Utf8, true),
            Field::new("Timestamp", KqlType::DateTime.arrow(), false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec!["d1", "d2"])), Arc::new(TimestampNanosecondArray::from(vec![1, 2]))],
        )
        .unwrap();
        let mut buf = vec![];
        let mut w = StreamWriter::try_new(&mut buf, &schema).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        drop(w);
        let got = arrow_ipc(Table::DeviceProcessEvents, &buf).unwrap();
        assert_eq!(got[0].schema(), Table::DeviceProcessEvents.arrow_schema());
        assert_eq!(got[0].num_rows(), 2);
        // A column with the wrong type is named.
        let bad_schema = Arc::new(Schema::new(vec![Field::new("ProcessId", arrow::datatypes::DataType::Utf8, true)]));
        let bad = RecordBatch::try_new(bad_schema.clone(), vec![Arc::new(StringArray::from(vec!["x"]))]).unwrap();
        let mut buf = vec![];
        let mut w = StreamWriter::try_new(&mut buf, &bad_schema).unwrap();
        w.write(&bad).unwrap();
        w.finish().unwrap();
        drop(w);
        let err = arrow_ipc(Table::DeviceProcessEvents, &buf).unwrap_err().to_string();
        assert!(err.contains("column 'ProcessId': type Utf8 where Int64 (long) is expected"), "{err}");
    }
}
