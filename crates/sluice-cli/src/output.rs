//! Output: `-o json` and `-o yaml` print the API's JSON as received; `-o table` prints tables
//! that fit the terminal, truncating wide cells rather than wrapping them.

use std::io::IsTerminal;

use chrono::{DateTime, Utc};
use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Row, Table};

use crate::error::CliError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

/// Prints `value` as pretty JSON or YAML.
pub fn print_value(format: Format, value: &serde_json::Value) -> Result<(), CliError> {
    let text = match format {
        Format::Yaml => {
            serde_norway::to_string(value).map_err(|e| CliError::Other(e.to_string()))?
        }
        _ => {
            let mut s =
                serde_json::to_string_pretty(value).map_err(|e| CliError::Other(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    print!("{text}");
    Ok(())
}

/// The width tables must fit: the terminal's, else `$COLUMNS`; `None` (no limit) for a pipe,
/// so that `grep` and `awk` see whole values.
fn target_width() -> Option<u16> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| *c > 0);
    if std::io::stdout().is_terminal() {
        let t = Table::new();
        return t.width().or(columns);
    }
    columns
}

/// A borderless table with a header, sized to the terminal.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(NOTHING);
    t.set_header(header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    match target_width() {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
            t.set_truncation_indicator("…");
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t
}

/// Adds a row that never wraps: an over-wide cell is cut with `…` instead.
pub fn add_row(t: &mut Table, cells: Vec<String>) {
    let mut row = Row::from(cells);
    row.max_height(1);
    t.add_row(row);
}

pub fn print_table(t: &Table) {
    let text = t.to_string();
    for line in text.lines() {
        println!("{}", line.trim_end());
    }
}

/// Key/value pairs, one per line, keys aligned.
pub fn print_kv<K: AsRef<str>>(rows: &[(K, String)]) {
    let width = rows
        .iter()
        .map(|(k, _)| k.as_ref().len())
        .max()
        .unwrap_or(0);
    for (k, v) in rows {
        println!(
            "{:width$}  {}",
            format!("{}:", k.as_ref()),
            v,
            width = width + 1
        );
    }
}

pub fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

pub fn opt_time(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(time).unwrap_or_else(|| "-".into())
}

pub fn or_dash<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn tags(tags: &std::collections::BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "-".into();
    }
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tells a table reader how to fetch the next page; on stderr so stdout stays the table.
pub fn next_page_hint(next_token: &Option<String>) {
    if let Some(t) = next_token {
        eprintln!("(more results: pass --next-token {t}, or --all)");
    }
}
