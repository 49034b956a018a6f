//! `palisade ingest`: loads NDJSON or Arrow IPC files into a tenant's hunting tables through the
//! running server, in requests small enough for its body limit, with a progress bar.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use palisade_server::Config;
use palisade_server::ingest::{Format, table_named, table_names};

use crate::admin::{Client, TenantArg, tid};
use crate::output::Out;

#[derive(clap::Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub t: TenantArg,
    /// Advanced hunting table, e.g. DeviceProcessEvents.
    #[arg(long)]
    pub table: String,
    /// NDJSON (one JSON object per line) or Arrow IPC stream file; `-` reads standard input.
    pub file: PathBuf,
    /// `ndjson` or `arrow`; default from the extension (.arrow/.arrows/.ipc are Arrow).
    #[arg(long)]
    pub format: Option<String>,
    /// NDJSON rows per request.
    #[arg(long, default_value_t = 50_000)]
    pub batch_rows: usize,
}

fn format_of(path: &Path, flag: Option<&str>) -> Result<Format> {
    match flag.map(str::to_ascii_lowercase).as_deref() {
        Some("ndjson" | "jsonl" | "json") => return Ok(Format::Ndjson),
        Some("arrow" | "ipc") => return Ok(Format::ArrowStream),
        Some(other) => bail!("unknown --format '{other}': use ndjson or arrow"),
        None => {}
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    Ok(if matches!(ext.as_str(), "arrow" | "arrows" | "ipc") { Format::ArrowStream } else { Format::Ndjson })
}

/// The server names rows within one request; the user wants lines of the file.
fn shift_row_numbers(message: &str, first_line: usize) -> String {
    let Some(at) = message.find("row ") else { return message.to_string() };
    let digits: String = message[at + 4..].chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<usize>() {
        Ok(n) => format!("{}line {}{}", &message[..at], first_line + n - 1, &message[at + 4 + digits.len()..]),
        Err(_) => message.to_string(),
    }
}

pub async fn ingest(cfg: &Config, a: &IngestArgs, out: &Out) -> Result<()> {
    let table = table_named(&a.table)
        .with_context(|| format!("no table '{}'; tables: {}", a.table, table_names().join(", ")))?;
    let format = format_of(&a.file, a.format.as_deref())?;
    let mut data = vec![];
    if a.file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut data)?;
    } else {
        data = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    }
    let c = Client::new(cfg, &a.t.conn)?;
    let tenant = tid(&c.tenant(a.t.tenant.as_deref()).await?);
    let path = format!("/palisade/v1/tenants/{tenant}/telemetry/{}", table.name());
    let (mut rows, mut machines) = (0u64, 0u64);
    match format {
        Format::ArrowStream => {
            let r = c.call_bytes("organizations", &path, Format::ARROW_MEDIA_TYPE, data).await?;
            rows += r["rowsStored"].as_u64().unwrap_or(0);
            machines += r["machinesUpdated"].as_u64().unwrap_or(0);
        }
        Format::Ndjson => {
            let bar = if out.is_json() { ProgressBar::hidden() } else { ProgressBar::new(data.len() as u64) };
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})").expect("valid template"),
            );
            let (mut start, mut line) = (0usize, 1usize);
            while start < data.len() {
                // Up to `batch_rows` lines, cut at a line end.
                let mut end = start;
                let mut n = 0;
                while end < data.len() && n < a.batch_rows.max(1) {
                    end = data[end..].iter().position(|&b| b == b'\n').map_or(data.len(), |p| end + p + 1);
                    n += 1;
                }
                let r =
                    c.call_bytes("organizations", &path, Format::NDJSON_MEDIA_TYPE, data[start..end].to_vec()).await;
                match r {
                    Ok(r) => {
                        rows += r["rowsStored"].as_u64().unwrap_or(0);
                        machines += r["machinesUpdated"].as_u64().unwrap_or(0);
                    }
                    Err(e) => {
                        bar.abandon();
                        bail!(
                            "{} ({} rows before line {line} were stored; fix the file and ingest from line {line} on)",
                            shift_row_numbers(&e.to_string(), line),
                            rows
                        );
                    }
                }
                bar.set_position(end as u64);
                bar.set_message(format!("{rows} rows"));
                start = end;
                line += n;
            }
            bar.finish_and_clear();
        }
    }
    let summary =
        serde_json::json!({"table": table.name(), "tenant": tenant, "rowsStored": rows, "machinesUpdated": machines});
    out.emit(&summary, || {
        let extra = if machines > 0 { format!(", {machines} machines onboarded or updated") } else { String::new() };
        format!("Stored {rows} rows in {} of tenant {tenant}{extra}.", table.name())
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_numbers_become_file_lines() {
        assert_eq!(
            shift_row_numbers("400 Bad Request: Invalid request body. row 3, column 'X': bad", 50_001),
            "400 Bad Request: Invalid request body. line 50003, column 'X': bad"
        );
        assert_eq!(shift_row_numbers("no numbers", 7), "no numbers");
    }

    #[test]
    fn formats_follow_flags_then_extensions() {
        assert_eq!(format_of(Path::new("a.arrows"), None).unwrap(), Format::ArrowStream);
        assert_eq!(format_of(Path::new("a.ndjson"), None).unwrap(), Format::Ndjson);
        assert_eq!(format_of(Path::new("a.bin"), Some("arrow")).unwrap(), Format::ArrowStream);
        assert!(format_of(Path::new("a"), Some("csv")).is_err());
    }
}
