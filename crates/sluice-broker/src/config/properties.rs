//! Java properties files, as Kafka's `server.properties` is written.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::BrokerError;

/// Parses a Java properties file: `key=value` or `key: value`, `#`/`!` comments.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line.find(['=', ':']).unwrap_or(line.len());
        let (k, v) = line.split_at(split);
        let v = v.get(1..).unwrap_or("");
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    out
}

pub(super) fn load_properties(path: &Path) -> Result<BTreeMap<String, String>, BrokerError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BrokerError::Config(format!("reading {}: {e}", path.display())))?;
    Ok(parse_properties(&text))
}
