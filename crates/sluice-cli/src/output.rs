//! Output: `-o json` and `-o yaml` print the API's JSON as received; `-o table` prints tables
//! that fit the terminal, truncating wide cells rather than wrapping them.

use std::io::{IsTerminal, Write};

use chrono::{DateTime, Utc};
use comfy_table::presets::NOTHING;
use comfy_table::{ColumnConstraint, ContentArrangement, Row, Table};

use crate::error::CliError;

/// Writes one line to stdout. A closed pipe (`sluice … | head`) ends the program quietly, as
/// Unix tools do, rather than with a panic.
pub(crate) fn write_line(args: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// `println!` through [`write_line`].
macro_rules! outln {
    () => {
        $crate::output::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

/// Prints a JSON document as pretty JSON or YAML. It is transcoded token by token rather than
/// through a `serde_json::Value`, so keys keep the server's order.
pub(crate) fn print_doc(format: Format, json: &[u8]) -> Result<(), CliError> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let mut text = Vec::new();
    let done = match format {
        Format::Yaml => {
            let mut ser = serde_norway::Serializer::new(&mut text);
            serde_transcode::transcode(&mut de, &mut ser).map_err(|e| e.to_string())
        }
        _ => {
            let mut ser = serde_json::Serializer::pretty(&mut text);
            serde_transcode::transcode(&mut de, &mut ser).map_err(|e| e.to_string())
        }
    };
    done.map_err(|e| CliError::Other(format!("cannot print the answer: {e}")))?;
    outln!("{}", String::from_utf8_lossy(&text).trim_end_matches('\n'));
    Ok(())
}

/// Prints a document the CLI made itself.
pub(crate) fn print_value(format: Format, value: &serde_json::Value) -> Result<(), CliError> {
    let json = serde_json::to_vec(value).map_err(|e| CliError::Other(e.to_string()))?;
    print_doc(format, &json)
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
pub(crate) fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(NOTHING);
    let mut head = Row::from(header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    head.max_height(1);
    t.set_header(head);
    match target_width() {
        Some(w) => {
            t.set_content_arrangement(ContentArrangement::Dynamic);
            t.set_width(w);
            t.set_truncation_indicator("…");
            // No column narrower than its heading: the wide ones (ids, descriptions) give way.
            for (i, h) in header.iter().enumerate() {
                if let Some(c) = t.column_mut(i) {
                    let min = u16::try_from(h.chars().count()).unwrap_or(u16::MAX);
                    c.set_constraint(ColumnConstraint::LowerBoundary(comfy_table::Width::Fixed(
                        min,
                    )));
                }
            }
        }
        None => {
            t.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    t
}

/// Adds a row that never wraps: an over-wide cell is cut with `…` instead.
pub(crate) fn add_row(t: &mut Table, cells: Vec<String>) {
    let mut row = Row::from(cells);
    row.max_height(1);
    t.add_row(row);
}

/// Marks columns that must never be cut (ids people copy, states people read); the others
/// give way when the terminal is narrow.
pub(crate) fn keep_whole(t: &mut Table, columns: &[usize]) {
    for i in columns {
        if let Some(c) = t.column_mut(*i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}

pub(crate) fn print_table(t: &Table) {
    let text = t.to_string();
    for line in text.lines() {
        outln!("{}", line.trim_end());
    }
}

/// Key/value pairs, one per line, keys aligned.
pub(crate) fn print_kv<K: AsRef<str>>(rows: &[(K, String)]) {
    let width = rows
        .iter()
        .map(|(k, _)| k.as_ref().len())
        .max()
        .unwrap_or(0);
    for (k, v) in rows {
        outln!(
            "{:width$}  {}",
            format!("{}:", k.as_ref()),
            v,
            width = width + 1
        );
    }
}

pub(crate) fn time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// How long ago, in the largest whole unit, as `kubectl` shows ages: `45s`, `12m`, `3h`, `5d`.
pub(crate) fn age(t: &DateTime<Utc>) -> String {
    span((Utc::now() - *t).num_seconds())
}

/// A span of seconds in its largest whole unit.
pub(crate) fn span(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

pub(crate) fn opt_time(t: &Option<DateTime<Utc>>) -> String {
    t.as_ref().map(time).unwrap_or_else(|| "-".into())
}

pub(crate) fn or_dash<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|v| v.to_string())
        .unwrap_or_else(|| "-".into())
}

pub(crate) fn tags(tags: &std::collections::BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "-".into();
    }
    tags.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tells a table reader how to fetch the next page; on stderr so stdout stays the table.
pub(crate) fn next_page_hint(next_token: &Option<String>) {
    if let Some(t) = next_token {
        eprintln!("(more results: pass --next-token {t}, or --all)");
    }
}
