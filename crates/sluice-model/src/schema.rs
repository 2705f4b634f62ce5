//! The constraints the model's parsers enforce, as JSON Schema keywords for the OpenAPI document.
//!
//! utoipa derives each shape's types from the Rust types; the ranges, patterns, enums and
//! cross-field rules that the parsers check are generated here, from the same constants the
//! parsers use, and merged into the document by `sluice-api`. Unit tests (here and beside each
//! parser) check parser and schema against each other both ways.

use serde_json::{json, Value};

use crate::catalogue::{Kind, Setting, SETTINGS, SPACE_CLASS};
use crate::paging::{ID_TOKEN_PATTERN, MAX_PAGE, REVISION_TOKEN_PATTERN};
use crate::{
    KafkaVersion, BROKER_TYPES, CLIENT_REQUEST_TOKEN_MAX, CLIENT_REQUEST_TOKEN_PATTERN,
    CLUSTER_NAME_MAX, CONFIGURATION_NAME_MAX, DESCRIPTION_MAX_CHARS, MAX_BROKERS, MAX_CPU_MILLIS,
    MAX_MEMORY_MIB, MAX_STORAGE_GIB, MAX_TAGS, MAX_ZONES, MIN_CPU_MILLIS, MIN_MEMORY_MIB,
    NAME_PATTERN, RESERVED_TAG_PREFIX, TAG_KEY_MAX_CHARS, TAG_KEY_PATTERN, TAG_VALUE_MAX_CHARS,
    TEXT_PATTERN,
};

/// Keywords to merge into a component schema (`field` is `None`) or into one of its properties.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaPatch {
    pub schema: &'static str,
    pub field: Option<&'static str>,
    pub keywords: Value,
}

fn field(schema: &'static str, field: &'static str, keywords: Value) -> SchemaPatch {
    SchemaPatch {
        schema,
        field: Some(field),
        keywords,
    }
}

fn object(schema: &'static str, keywords: Value) -> SchemaPatch {
    SchemaPatch {
        schema,
        field: None,
        keywords,
    }
}

/// A name of `max` characters at most, as [`crate::ClusterName::parse`] takes it.
pub fn name(max: usize) -> Value {
    json!({"minLength": 1, "maxLength": max, "pattern": NAME_PATTERN})
}

/// Every spelling of a supported Kafka version ([`KafkaVersion::parse`]).
pub fn kafka_version() -> Value {
    json!({"enum": KafkaVersion::spellings()})
}

/// A count between `min` and `max`.
pub fn range(min: i64, max: i64) -> Value {
    json!({"minimum": min, "maximum": max})
}

/// Tags as [`crate::Tags::parse`] takes them.
pub fn tags() -> Value {
    json!({
        "maxProperties": MAX_TAGS,
        "propertyNames": {
            "type": "string",
            "minLength": 1,
            "maxLength": TAG_KEY_MAX_CHARS,
            "pattern": TAG_KEY_PATTERN,
            "not": {"pattern": format!("^{}", regex_escape(RESERVED_TAG_PREFIX))}
        },
        "additionalProperties": {"type": "string", "maxLength": TAG_VALUE_MAX_CHARS, "pattern": TEXT_PATTERN}
    })
}

/// `server_properties` as [`crate::ServerProperties::parse`] takes them: at least one setting of
/// the catalogue, each of its JSON types and values. (One rule is not expressible in JSON Schema
/// and is only described: `group.min.session.timeout.ms` must not exceed
/// `group.max.session.timeout.ms`.)
pub fn server_properties() -> Value {
    let properties: serde_json::Map<String, Value> = SETTINGS
        .iter()
        .map(|s| (s.name.to_owned(), setting(s)))
        .collect();
    json!({
        "type": "object",
        "description": "Broker settings, each from the catalogue (`GET /v1/configurations/catalogue`), as a JSON value of its type or its text. One rule JSON Schema cannot state: `group.min.session.timeout.ms` must not exceed `group.max.session.timeout.ms` (else 422 `validation-failed`).",
        "minProperties": 1,
        "properties": properties,
        "additionalProperties": false
    })
}

/// What [`crate::catalogue::validate_value`] (through `ServerProperties::parse`) accepts for one
/// setting: a JSON value of its type, or a string of its text form.
pub fn setting(s: &Setting) -> Value {
    let ws = format!("{SPACE_CLASS}*");
    let words = |words: &[&str]| {
        words
            .iter()
            .map(|w| caseless(w))
            .collect::<Vec<_>>()
            .join("|")
    };
    // JSON booleans are taken as the words `true` and `false`.
    let booleans: Vec<bool> = [false, true]
        .into_iter()
        .filter(|b| crate::catalogue::validate_value(s, &b.to_string()).is_ok())
        .collect();
    let mut any = Vec::new();
    match s.kind {
        Kind::Boolean => {
            any.push(json!({"type": "boolean"}));
            any.push(json!({"type": "string", "pattern": format!("^{ws}(?:{}){ws}$", words(&["true", "false"]))}));
        }
        Kind::Int { min, max } | Kind::Long { min, max } => {
            any.push(json!({"type": "integer", "minimum": min, "maximum": max}));
            any.push(json!({"type": "string", "pattern": format!("^{ws}(?:{}){ws}$", integer_text(min, max))}));
        }
        Kind::Double { min, max } => {
            any.push(json!({"type": "number", "minimum": min, "maximum": max}));
        }
        Kind::Enum(w) => {
            any.push(json!({"type": "string", "pattern": format!("^{ws}(?:{}){ws}$", words(w))}));
        }
        Kind::List(w) => {
            let item = format!("{ws}(?:{}){ws}", words(w));
            any.push(json!({"type": "string", "pattern": format!("^{item}(?:,{item})*$")}));
        }
    }
    if !matches!(s.kind, Kind::Boolean) && !booleans.is_empty() {
        any.push(json!({"enum": booleans}));
    }
    json!({"description": s.doc, "anyOf": any})
}

/// A word matched without regard to ASCII case.
fn caseless(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else {
                regex_escape(&c.to_string())
            }
        })
        .collect()
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$-/".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// The text of a whole number in `[min, max]` as Rust's `i64::from_str` reads it: an optional
/// sign and leading zeros.
fn integer_text(min: i64, max: i64) -> String {
    let mut alts = Vec::new();
    if max >= 0 {
        let lo = min.max(0) as u64;
        alts.push(format!(r"\+?0*(?:{})", decimal_range(lo, max as u64)));
        if min <= 0 {
            alts.push("-0+".to_owned());
        }
    }
    if min < 0 {
        let lo = if max < 0 { max.unsigned_abs() } else { 1 };
        alts.push(format!("-0*(?:{})", decimal_range(lo, min.unsigned_abs())));
    }
    alts.join("|")
}

/// A regex of the canonical decimals (no leading zeros) of the numbers in `[lo, hi]`.
pub(crate) fn decimal_range(lo: u64, hi: u64) -> String {
    let mut pieces = Vec::new();
    let (mut lo, hi) = (lo, hi);
    while lo <= hi {
        let digits = lo.to_string().len() as u32;
        let top = 10u64
            .checked_pow(digits)
            .map_or(u64::MAX, |p| p - 1)
            .min(hi);
        same_length(
            &lo.to_string(),
            &top.to_string(),
            &mut String::new(),
            &mut pieces,
        );
        if top == u64::MAX {
            break;
        }
        lo = top + 1;
    }
    pieces.join("|")
}

/// Pieces matching the numbers between `a` and `b`, two decimals of the same length.
fn same_length(a: &str, b: &str, prefix: &mut String, out: &mut Vec<String>) {
    if a.is_empty() {
        out.push(prefix.clone());
        return;
    }
    let (da, db) = (a.as_bytes()[0], b.as_bytes()[0]);
    let (ra, rb) = (&a[1..], &b[1..]);
    let rest = ra.len();
    let free = |n: usize| {
        if n == 0 {
            String::new()
        } else {
            format!("[0-9]{{{n}}}")
        }
    };
    let class = |x: u8, y: u8| {
        if x == y {
            (x as char).to_string()
        } else {
            format!("[{}-{}]", x as char, y as char)
        }
    };
    if da == db {
        prefix.push(da as char);
        same_length(ra, rb, prefix, out);
        prefix.pop();
        return;
    }
    let a_low = ra.bytes().all(|c| c == b'0');
    let b_high = rb.bytes().all(|c| c == b'9');
    // From `a` up to da999…, unless it is the whole decade.
    let first_full = if a_low { da } else { da + 1 };
    if !a_low {
        prefix.push(da as char);
        same_length(ra, &"9".repeat(rest), prefix, out);
        prefix.pop();
    }
    let last_full = if b_high { db } else { db - 1 };
    if first_full <= last_full {
        out.push(format!(
            "{prefix}{}{}",
            class(first_full, last_full),
            free(rest)
        ));
    }
    if !b_high {
        prefix.push(db as char);
        same_length(&"0".repeat(rest), rb, prefix, out);
        prefix.pop();
    }
}

/// `next_token` of a list: exactly the tokens that decode ([`crate::paging`]).
pub fn next_token(revisions: bool) -> Value {
    let pattern = if revisions {
        REVISION_TOKEN_PATTERN
    } else {
        ID_TOKEN_PATTERN
    };
    json!({"pattern": pattern})
}

/// `max_results` of a list.
pub fn max_results() -> Value {
    range(1, MAX_PAGE.into())
}

/// The named broker types, or `null` (explicit resources, or the default type).
fn broker_type_names() -> Vec<Value> {
    BROKER_TYPES
        .iter()
        .map(|t| Value::from(t.0))
        .chain(std::iter::once(Value::Null))
        .collect()
}

/// `field` is present and not `null` (a `null` optional field counts as absent to the parsers).
fn given(field: &str, ty: &str) -> Value {
    json!({"required": [field], "properties": {field: {"type": ty}}})
}

/// Every patch, by component schema.
pub fn patches() -> Vec<SchemaPatch> {
    let description = json!({"maxLength": DESCRIPTION_MAX_CHARS, "pattern": TEXT_PATTERN});
    let broker_id = range(1, MAX_BROKERS.into());
    let mut p = vec![
        field("CreateClusterRequest", "name", name(CLUSTER_NAME_MAX)),
        field("CreateClusterRequest", "kafka_version", kafka_version()),
        field(
            "CreateClusterRequest",
            "broker_count",
            range(1, MAX_BROKERS.into()),
        ),
        field(
            "CreateClusterRequest",
            "broker_type",
            json!({"enum": broker_type_names()}),
        ),
        field(
            "CreateClusterRequest",
            "storage_gib",
            range(1, MAX_STORAGE_GIB.into()),
        ),
        field(
            "CreateClusterRequest",
            "zone_count",
            range(1, MAX_ZONES.into()),
        ),
        field("CreateClusterRequest", "tags", tags()),
        field(
            "CreateClusterRequest",
            "client_request_token",
            json!({"maxLength": CLIENT_REQUEST_TOKEN_MAX, "pattern": CLIENT_REQUEST_TOKEN_PATTERN}),
        ),
        field(
            "BrokerResources",
            "cpu_millis",
            range(MIN_CPU_MILLIS.into(), MAX_CPU_MILLIS.into()),
        ),
        field(
            "BrokerResources",
            "memory_mib",
            range(MIN_MEMORY_MIB.into(), MAX_MEMORY_MIB.into()),
        ),
        field(
            "UpdateBrokerCountRequest",
            "broker_count",
            range(1, MAX_BROKERS.into()),
        ),
        field(
            "UpdateStorageRequest",
            "storage_gib",
            range(1, MAX_STORAGE_GIB.into()),
        ),
        field(
            "UpdateKafkaVersionRequest",
            "kafka_version",
            kafka_version(),
        ),
        field(
            "UpdateBrokerTypeRequest",
            "broker_type",
            json!({"enum": broker_type_names()}),
        ),
        field("RebootBrokerRequest", "broker_id", broker_id),
        field(
            "CreateConfigurationRequest",
            "name",
            name(CONFIGURATION_NAME_MAX),
        ),
        field(
            "CreateConfigurationRequest",
            "description",
            description.clone(),
        ),
        field(
            "CreateConfigurationRequest",
            "kafka_versions",
            json!({"items": kafka_version()}),
        ),
        field(
            "CreateConfigurationRequest",
            "server_properties",
            server_properties(),
        ),
        field("CreateConfigurationRequest", "tags", tags()),
        field("CreateRevisionRequest", "description", description),
        field(
            "CreateRevisionRequest",
            "server_properties",
            server_properties(),
        ),
        field("TagResourceRequest", "tags", tags()),
    ];
    // A named type and explicit resources exclude each other.
    let both =
        json!({"allOf": [given("broker_type", "string"), given("broker_resources", "object")]});
    let mut create_rules = vec![json!({"not": both})];
    // The brokers spread evenly over the zones.
    for z in 2..=MAX_ZONES {
        create_rules.push(json!({
            "if": {"required": ["zone_count"], "properties": {"zone_count": {"const": z}}},
            "then": {"properties": {"broker_count": {"multipleOf": z}}}
        }));
    }
    p.push(object(
        "CreateClusterRequest",
        json!({"allOf": create_rules}),
    ));
    // An update of the broker size names exactly one of the two.
    p.push(object(
        "UpdateBrokerTypeRequest",
        json!({"oneOf": [given("broker_type", "string"), given("broker_resources", "object")]}),
    ));
    p
}

#[cfg(test)]
mod tests;
