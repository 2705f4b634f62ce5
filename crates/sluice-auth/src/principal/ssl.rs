//! Kafka's `ssl.principal.mapping.rules`, ported from
//! `org.apache.kafka.common.security.ssl.SslPrincipalMapper`.
//!
//! The rules string is split and parsed with Kafka's own regular expressions;
//! each rule's pattern must match the whole distinguished name, which is then
//! rewritten with Java's `String.replaceAll` semantics (every match, `$n`
//! and `${name}` group references, `\` escapes, Kafka's treatment of
//! references to missing groups as literal text) and optionally lower- or
//! upper-cased. The first rule that applies wins; `DEFAULT` yields the name
//! unchanged.
//!
//! Patterns are compiled by the `regex` crate, whose syntax is Java's for
//! everything DN rules use in practice (classes, groups, lazy quantifiers,
//! anchors) but which has no look-around or back-references: a rule using
//! those is refused when the rules are parsed. Two smaller differences:
//! `\w`, `\d`, `\s` and `\b` are Unicode-aware here (ASCII in Java), and `.`
//! excludes only `\n` (Java also excludes `\r` and other line terminators).

use std::fmt;

use regex::{Captures, Regex};

const RULE_PATTERN: &str = r"(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)";

/// Why rules could not be parsed or applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// A rule that is not `DEFAULT` or `RULE:pattern/replacement/[LU]` (Kafka's texts).
    #[error("Invalid rule: `{rule}`, unmatched substring: `{unmatched}`")]
    InvalidRule {
        /// The rule as split from the rules string.
        rule: String,
        /// What is left after the part that parsed.
        unmatched: String,
    },
    /// A rule whose pattern is not a valid regular expression here.
    #[error("Invalid rule pattern `{pattern}`: {reason}")]
    InvalidPattern {
        /// The pattern.
        pattern: String,
        /// The compiler's message.
        reason: String,
    },
    /// A replacement Java would refuse at match time (e.g. a trailing `\`).
    #[error("Invalid rule replacement `{replacement}`: {reason}")]
    InvalidReplacement {
        /// The replacement.
        replacement: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No rule applies to the name (Kafka's `NoMatchingRule`).
    #[error("No rules apply to {0}")]
    NoMatchingRule(String),
}

#[derive(Clone)]
enum Rule {
    Default,
    Rule {
        source: String,
        pattern: Regex,
        whole: Regex,
        replacement: String,
        to_lower: bool,
        to_upper: bool,
    },
}

impl fmt::Display for Rule {
    /// Kafka's `Rule.toString()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Default => f.write_str("DEFAULT"),
            Rule::Rule {
                source,
                replacement,
                to_lower,
                to_upper,
                ..
            } => {
                write!(f, "RULE:{source}/{replacement}")?;
                if *to_lower {
                    f.write_str("/L")
                } else if *to_upper {
                    f.write_str("/U")
                } else {
                    Ok(())
                }
            }
        }
    }
}

/// Maps a certificate's RFC 2253 subject to a principal name.
#[derive(Clone)]
pub struct SslPrincipalMapper {
    rules: Vec<Rule>,
}

impl Default for SslPrincipalMapper {
    /// The `DEFAULT` rule alone (Kafka's default): the DN is the name.
    fn default() -> Self {
        SslPrincipalMapper {
            rules: vec![Rule::Default],
        }
    }
}

impl fmt::Debug for SslPrincipalMapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SslPrincipalMapper(rules = [")?;
        for (i, r) in self.rules.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        f.write_str("])")
    }
}

impl SslPrincipalMapper {
    /// Parses an `ssl.principal.mapping.rules` value, e.g.
    /// `RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L,DEFAULT`. Empty rules are
    /// ignored (so `""` gives a mapper that maps nothing).
    pub fn from_rules(rules: &str) -> Result<Self, MappingError> {
        let splitter = Regex::new(&format!(
            r"(?-u:\s)*({RULE_PATTERN})(?-u:\s)*(,(?-u:\s)*|$)"
        ))
        .expect("Kafka's rule splitter compiles");
        let parser =
            Regex::new(&format!(r"\A(?:{RULE_PATTERN})")).expect("Kafka's rule parser compiles");
        let trimmed = rules.trim_matches(|c: char| c <= ' ');
        let mut parsed = Vec::new();
        for caps in java_find_all(&splitter, trimmed) {
            let rule = caps.get(1).map_or("", |m| m.as_str());
            let Some(m) = parser.captures(rule) else {
                unreachable!("the parser's last alternative matches the empty string")
            };
            let end = m.get(0).map_or(0, |g| g.end());
            if end != rule.len() {
                return Err(MappingError::InvalidRule {
                    rule: rule.to_owned(),
                    unmatched: rule[end..].to_owned(),
                });
            }
            if m.get(1).is_some() {
                parsed.push(Rule::Default);
            } else if let Some(pattern) = m.get(2) {
                let source = pattern.as_str().to_owned();
                let compile = |p: &str| {
                    Regex::new(p).map_err(|e| MappingError::InvalidPattern {
                        pattern: source.clone(),
                        reason: e.to_string(),
                    })
                };
                let flags = m.get(6).map_or("", |g| g.as_str());
                parsed.push(Rule::Rule {
                    pattern: compile(&source)?,
                    whole: compile(&format!(r"\A(?:{source})\z"))?,
                    source,
                    replacement: m.get(4).map_or("", |g| g.as_str()).to_owned(),
                    to_lower: flags == "L",
                    to_upper: flags == "U",
                });
            }
        }
        Ok(SslPrincipalMapper { rules: parsed })
    }

    /// The parsed rules, each as Kafka prints it (`RULE:pattern/replacement/L`, `DEFAULT`).
    pub fn rules(&self) -> Vec<String> {
        self.rules.iter().map(ToString::to_string).collect()
    }

    /// The principal name for a distinguished name: the first rule that
    /// applies, or [`MappingError::NoMatchingRule`].
    pub fn name_for(&self, distinguished_name: &str) -> Result<String, MappingError> {
        for rule in &self.rules {
            if let Some(name) = apply(rule, distinguished_name)? {
                return Ok(name);
            }
        }
        Err(MappingError::NoMatchingRule(distinguished_name.to_owned()))
    }

    /// `User:<name_for(dn)>`, as Kafka's DefaultKafkaPrincipalBuilder makes it.
    pub fn principal_for(
        &self,
        distinguished_name: &str,
    ) -> Result<super::KafkaPrincipal, MappingError> {
        self.name_for(distinguished_name)
            .map(super::KafkaPrincipal::user)
    }
}

fn apply(rule: &Rule, dn: &str) -> Result<Option<String>, MappingError> {
    let Rule::Rule {
        pattern,
        whole,
        replacement,
        to_lower,
        to_upper,
        ..
    } = rule
    else {
        return Ok(Some(dn.to_owned()));
    };
    if !whole.is_match(dn) {
        return Ok(None);
    }
    let groups = pattern.captures_len() - 1;
    let replacement = escape_literal_back_references(replacement, groups)?;
    let mut out = String::new();
    let mut last = 0;
    for caps in java_find_all(pattern, dn) {
        let m = caps.get(0).expect("group 0 always matches");
        out.push_str(&dn[last..m.start()]);
        append_replacement(&mut out, &caps, pattern, &replacement)?;
        last = m.end();
    }
    out.push_str(&dn[last..]);
    Ok(Some(if *to_lower {
        out.to_lowercase()
    } else if *to_upper {
        out.to_uppercase()
    } else {
        out
    }))
}

/// Every match of `re` in `text` the way Java's `Matcher.find()` loop sees
/// them: after an empty match the search resumes one character further;
/// after a non-empty one it resumes at its end (where an empty match may follow).
fn java_find_all<'t>(re: &Regex, text: &'t str) -> Vec<Captures<'t>> {
    let mut out = Vec::new();
    let mut from = 0;
    let mut previous_empty_at: Option<usize> = None;
    loop {
        if previous_empty_at == Some(from) {
            match text[from..].chars().next() {
                Some(c) => from += c.len_utf8(),
                None => break,
            }
        }
        let Some(caps) = re.captures_at(text, from) else {
            break;
        };
        let m = caps.get(0).expect("group 0 always matches");
        previous_empty_at = (m.start() == m.end()).then_some(m.end());
        from = m.end();
        out.push(caps);
    }
    out
}

/// Kafka's `escapeLiteralBackReferences`: a `$n` naming a group the pattern
/// does not have (after dropping trailing digits, as Java would) gets a `\`
/// so it stays literal. Like Kafka, the offsets come from the original
/// string even after an insertion (Java char = one `char` here).
fn escape_literal_back_references(unescaped: &str, groups: usize) -> Result<String, MappingError> {
    if groups == 0 {
        return Ok(unescaped.to_owned());
    }
    let back_ref = Regex::new(r"\$([0-9]+)").expect("valid regex");
    let mut value: Vec<char> = unescaped.chars().collect();
    for caps in back_ref.captures_iter(unescaped) {
        let digits = caps.get(1).expect("group 1 always matches");
        if digits.as_str().starts_with('0') {
            continue;
        }
        let Ok(mut index) = digits.as_str().parse::<i32>() else {
            return Err(MappingError::InvalidReplacement {
                replacement: unescaped.to_owned(),
                reason: "group reference out of range",
            });
        };
        while index as usize > groups && index >= 10 {
            index /= 10;
        }
        if index as usize > groups {
            let dollar = unescaped[..digits.start() - 1].chars().count();
            value.insert(dollar.min(value.len()), '\\');
        }
    }
    Ok(value.into_iter().collect())
}

/// Java's `Matcher.appendReplacement` for one match.
fn append_replacement(
    out: &mut String,
    caps: &Captures<'_>,
    pattern: &Regex,
    replacement: &str,
) -> Result<(), MappingError> {
    let fail = |reason| MappingError::InvalidReplacement {
        replacement: replacement.to_owned(),
        reason,
    };
    let groups = pattern.captures_len() - 1;
    let chars: Vec<char> = replacement.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                let c = *chars
                    .get(i + 1)
                    .ok_or_else(|| fail("character to be escaped is missing"))?;
                out.push(c);
                i += 2;
            }
            '$' => {
                i += 1;
                let c = *chars.get(i).ok_or_else(|| fail("group index is missing"))?;
                let group = if c == '{' {
                    i += 1;
                    let start = i;
                    while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    let name: String = chars[start..i].iter().collect();
                    if name.is_empty() {
                        return Err(fail("named capturing group has 0 length name"));
                    }
                    if chars.get(i) != Some(&'}') {
                        return Err(fail("named capturing group is missing trailing '}'"));
                    }
                    if name.starts_with(|c: char| c.is_ascii_digit()) {
                        return Err(fail("capturing group name starts with digit character"));
                    }
                    i += 1;
                    if !pattern.capture_names().flatten().any(|n| n == name) {
                        return Err(fail("no group with that name"));
                    }
                    caps.name(&name).map(|m| m.as_str())
                } else {
                    let mut number = c
                        .to_digit(10)
                        .ok_or_else(|| fail("illegal group reference"))?
                        as usize;
                    i += 1;
                    while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                        let next = number * 10 + d as usize;
                        if next > groups {
                            break;
                        }
                        number = next;
                        i += 1;
                    }
                    if number > groups {
                        return Err(fail("no group with that number"));
                    }
                    caps.get(number).map(|m| m.as_str())
                };
                out.push_str(group.unwrap_or(""));
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(())
}
