//! Java `.properties` parsing, as `java.util.Properties.load` reads a broker's `server.properties`:
//! `#`/`!` comments, `=`, `:` or whitespace separators, backslash line continuations, and
//! `\t \n \r \f \uXXXX` escapes.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub(crate) struct ParseError {
    pub line: usize,
    pub message: String,
}

/// Parses properties text; a key given twice keeps its last value, as Java does.
pub(crate) fn parse(text: &str) -> Result<BTreeMap<String, String>, ParseError> {
    let mut out = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let start_line = i + 1;
        let mut logical = String::new();
        let mut piece = lines[i].trim_start_matches([' ', '\t', '\x0c']);
        let is_comment = logical.is_empty() && (piece.starts_with('#') || piece.starts_with('!'));
        if is_comment || piece.is_empty() {
            i += 1;
            continue;
        }
        loop {
            let trailing = piece.chars().rev().take_while(|c| *c == '\\').count();
            i += 1;
            if trailing % 2 == 1 {
                logical.push_str(&piece[..piece.len() - 1]);
                match lines.get(i) {
                    Some(next) => piece = next.trim_start_matches([' ', '\t', '\x0c']),
                    None => break,
                }
            } else {
                logical.push_str(piece);
                break;
            }
        }
        let (key, value) = split(&logical);
        let key = unescape(key, start_line)?;
        let value = unescape(value, start_line)?;
        out.insert(key, value);
    }
    Ok(out)
}

/// Splits a logical line at the first unescaped separator.
fn split(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut k = 0;
    let mut escaped = false;
    while k < bytes.len() {
        let b = bytes[k];
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if matches!(b, b'=' | b':' | b' ' | b'\t' | b'\x0c') {
            break;
        }
        k += 1;
    }
    let key = &line[..k];
    let mut rest = line[k..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (key, rest)
}

fn unescape(s: &str, line: usize) -> Result<String, ParseError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let bad = || ParseError {
                    line,
                    message: format!("malformed \\u escape: \\u{hex}"),
                };
                if hex.len() != 4 {
                    return Err(bad());
                }
                let code = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
                out.push(char::from_u32(code).ok_or_else(bad)?);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_server_properties() {
        let text = "# Kafka\n! also a comment\n\nnum.partitions=6\nlog.retention.ms : 86400000\n\
                    compression.type zstd\n  auto.create.topics.enable=false\n\
                    message.max.bytes = 10\\\n    48576\nkey\\ with\\=sep=v\\u00e9\nempty=\nnum.partitions=8\n";
        let m = parse(text).unwrap();
        assert_eq!(m["num.partitions"], "8");
        assert_eq!(m["log.retention.ms"], "86400000");
        assert_eq!(m["compression.type"], "zstd");
        assert_eq!(m["auto.create.topics.enable"], "false");
        assert_eq!(m["message.max.bytes"], "1048576");
        assert_eq!(m["key with=sep"], "vé");
        assert_eq!(m["empty"], "");
        assert_eq!(m.len(), 7);
    }

    #[test]
    fn reports_bad_escapes_with_line() {
        let e = parse("a=1\nb=\\u12\n").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
