//! Each parser against its schema constraint, both ways: what the schema allows parses, and what
//! parses is what the schema allows, at and beyond the bounds and on random input.

use std::collections::BTreeMap;

use super::*;
use crate::catalogue::validate_value;
use crate::testing::{matches, Rng};
use crate::{ClusterName, ConfigurationName, Tags, Violations, KAFKA_VERSIONS};

const SEED: u64 = 20261207;

fn length_ok(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.chars().count())
}

#[test]
fn names_agree_with_their_pattern() {
    let mut rng = Rng::new(SEED);
    for _ in 0..5000 {
        let from_pattern = rng.matching(NAME_PATTERN);
        if length_ok(&from_pattern, 1, CLUSTER_NAME_MAX) {
            assert!(ClusterName::parse(&from_pattern).is_ok(), "{from_pattern}");
        }
        let s = rng.string_of("aZ09-_ é.", 0..70);
        let schema = matches(NAME_PATTERN, &s) && length_ok(&s, 1, CLUSTER_NAME_MAX);
        assert_eq!(ClusterName::parse(&s).is_ok(), schema, "{s:?}");
        let schema = matches(NAME_PATTERN, &s) && length_ok(&s, 1, CONFIGURATION_NAME_MAX);
        assert_eq!(ConfigurationName::parse(&s).is_ok(), schema, "{s:?}");
    }
    assert!(ClusterName::parse(&"a".repeat(CLUSTER_NAME_MAX)).is_ok());
    assert!(ClusterName::parse(&"a".repeat(CLUSTER_NAME_MAX + 1)).is_err());
}

fn tag_key_ok(k: &str) -> bool {
    let mut v = Violations::new();
    Tags::parse(&[(k.to_owned(), String::new())].into(), "tags", &mut v).is_some()
}

fn tag_key_schema(k: &str) -> bool {
    length_ok(k, 1, TAG_KEY_MAX_CHARS)
        && matches(TAG_KEY_PATTERN, k)
        && !matches(&format!("^{}", regex_escape(RESERVED_TAG_PREFIX)), k)
}

#[test]
fn tag_keys_and_values_agree_with_their_schema() {
    let mut rng = Rng::new(SEED);
    for _ in 0..5000 {
        let k = rng.matching(TAG_KEY_PATTERN);
        assert_eq!(tag_key_ok(&k), tag_key_schema(&k), "{k:?}");
        let k = rng.string_of("aé中٣ _.:/=+-@,;\t\u{301}sluice:!€", 0..12);
        assert_eq!(tag_key_ok(&k), tag_key_schema(&k), "{k:?}");
    }
    for k in ["sluice:x", "sluice:", "Sluice:x", "x sluice:"] {
        assert_eq!(tag_key_ok(k), tag_key_schema(k), "{k:?}");
    }
    assert!(tag_key_ok(&"é".repeat(TAG_KEY_MAX_CHARS)));
    assert!(!tag_key_ok(&"é".repeat(TAG_KEY_MAX_CHARS + 1)));
    let mut v = Violations::new();
    let value = |n: usize| BTreeMap::from([("k".to_owned(), "é".repeat(n))]);
    assert!(Tags::parse(&value(TAG_VALUE_MAX_CHARS), "t", &mut v).is_some());
    assert!(Tags::parse(&value(TAG_VALUE_MAX_CHARS + 1), "t", &mut v).is_none());
    let many = |n: usize| (0..n).map(|i| (format!("k{i}"), String::new())).collect();
    let mut v = Violations::new();
    assert!(Tags::parse(&many(MAX_TAGS), "t", &mut v).is_some());
    assert!(Tags::parse(&many(MAX_TAGS + 1), "t", &mut v).is_none());
    assert_eq!(tags()["maxProperties"], MAX_TAGS);
}

#[test]
fn kafka_versions_agree_with_their_enum() {
    let spellings = KafkaVersion::spellings();
    for v in KAFKA_VERSIONS {
        assert!(spellings.iter().any(|s| s == v), "{v}");
    }
    for s in ["3.9", "3.9.x", "3.9.0", "4", "4.x", "4.0", "4.0.x", "4.0.0"] {
        assert!(spellings.iter().any(|x| x == s), "{s}");
    }
    assert_eq!(KafkaVersion::parse("3.9").unwrap().as_str(), "3.9.0");
    assert_eq!(KafkaVersion::parse("4.x").unwrap().as_str(), "4.0.0");
    assert_eq!(KafkaVersion::parse("4").unwrap().as_str(), "4.0.0");
    for ambiguous in ["3", "3.x"] {
        let e = KafkaVersion::parse(ambiguous).unwrap_err();
        assert!(e.contains("ambiguous") && e.contains("3.6.0, 3.7.0"), "{e}");
    }
    let e = KafkaVersion::parse("2.8.1").unwrap_err();
    assert!(e.contains(&KAFKA_VERSIONS.join(", ")), "{e}");
    let mut rng = Rng::new(SEED);
    for _ in 0..20000 {
        let s = rng.string_of("3490.x.", 0..8);
        assert_eq!(
            KafkaVersion::parse(&s).is_ok(),
            spellings.contains(&s),
            "{s:?}"
        );
    }
    for s in &spellings {
        let v = KafkaVersion::parse(s).unwrap();
        assert!(KAFKA_VERSIONS.contains(&v.as_str()));
    }
}

#[test]
fn decimal_ranges_are_exact() {
    let mut rng = Rng::new(SEED);
    let bounds = [
        0,
        1,
        7,
        9,
        10,
        14,
        99,
        100,
        300_000,
        3_600_000,
        i32::MAX as u64,
        i64::MAX as u64,
    ];
    for (i, lo) in bounds.iter().enumerate() {
        for hi in &bounds[i..] {
            let re = format!("^(?:{})$", decimal_range(*lo, *hi));
            let probe = |n: u64| {
                assert_eq!(
                    matches(&re, &n.to_string()),
                    (*lo..=*hi).contains(&n),
                    "{n} in {lo}..={hi}: {re}"
                );
            };
            for n in [
                *lo,
                *hi,
                lo.saturating_sub(1),
                hi.saturating_add(1),
                lo / 2,
                hi / 2,
                0,
            ] {
                probe(n);
            }
            for _ in 0..200 {
                let digits = 1 + rng.below(19) as u32;
                probe(rng.below(10u64.pow(digits)));
            }
        }
    }
}

/// The string form of every catalogue setting: `validate_value` accepts exactly the pattern.
#[test]
fn settings_agree_with_their_schema() {
    let mut rng = Rng::new(SEED);
    for s in SETTINGS {
        let schema = setting(s);
        let any = schema["anyOf"].as_array().unwrap();
        let pattern = any
            .iter()
            .find(|a| a["type"] == "string")
            .map(|a| a["pattern"].as_str().unwrap().to_owned());
        let Some(pattern) = pattern else { continue };
        let mut candidates: Vec<String> = Vec::new();
        for _ in 0..400 {
            candidates.push(rng.matching(&pattern));
        }
        match s.kind {
            Kind::Int { min, max } | Kind::Long { min, max } => {
                for n in [
                    min,
                    max,
                    min.saturating_sub(1),
                    max.saturating_add(1),
                    0,
                    -1,
                    1,
                ] {
                    for form in [
                        n.to_string(),
                        format!(" {n}\t"),
                        format!("+{n}"),
                        format!("00{n}"),
                        format!("-0{}", n.unsigned_abs()),
                    ] {
                        candidates.push(form);
                    }
                }
                candidates.push(format!("{}0", i64::MAX));
                for _ in 0..400 {
                    candidates.push(rng.string_of("0123456789+- \u{a0}", 0..21));
                }
            }
            Kind::Boolean | Kind::Enum(_) | Kind::List(_) => {
                let words = match s.kind {
                    Kind::Enum(w) | Kind::List(w) => w.to_vec(),
                    _ => vec!["true", "false"],
                };
                for _ in 0..400 {
                    let mut t = String::new();
                    for _ in 0..rng.below(3) + 1 {
                        let w = rng.pick(&words).to_string();
                        let w: String = w
                            .chars()
                            .map(|c| {
                                if rng.below(2) == 0 {
                                    c.to_ascii_uppercase()
                                } else {
                                    c
                                }
                            })
                            .collect();
                        let sep = *rng.pick::<&str>(&["", " ", "\u{a0}", "\t", ","]);
                        t.push_str(sep);
                        t.push_str(&w);
                        let end = *rng.pick::<&str>(&["", " ", ",", ", ", "x"]);
                        t.push_str(end);
                    }
                    candidates.push(t);
                }
            }
            Kind::Double { .. } => {}
        }
        for c in candidates {
            assert_eq!(
                validate_value(s, &c).is_ok(),
                matches(&pattern, &c),
                "{}: {c:?} against {pattern}",
                s.name
            );
        }
    }
}

/// JSON values through `ServerProperties::parse`, against the types the schema allows.
#[test]
fn setting_json_types_agree_with_their_schema() {
    for s in SETTINGS {
        let schema = setting(s);
        let any = schema["anyOf"].as_array().unwrap();
        let allows = |value: &serde_json::Value| {
            any.iter()
                .any(|a| match a.get("type").and_then(|t| t.as_str()) {
                    Some("boolean") => value.is_boolean(),
                    Some("integer") => {
                        let (lo, hi) = (
                            a["minimum"].as_i64().unwrap(),
                            a["maximum"].as_i64().unwrap(),
                        );
                        if let Some(n) = value.as_i64() {
                            (lo..=hi).contains(&n)
                        } else if value.as_u64().is_some() {
                            false
                        } else {
                            value.as_f64().is_some_and(|f| {
                                f.fract() == 0.0 && f >= lo as f64 && f <= hi as f64
                            })
                        }
                    }
                    Some("string") => value
                        .as_str()
                        .is_some_and(|t| matches(a["pattern"].as_str().unwrap(), t)),
                    _ => a["enum"].as_array().is_some_and(|e| e.contains(value)),
                })
        };
        let mut values = vec![
            json!(true),
            json!(false),
            json!(null),
            json!([1]),
            json!({}),
            json!(1.5),
            json!(6.0),
        ];
        if let Kind::Int { min, max } | Kind::Long { min, max } = s.kind {
            values.extend([
                json!(min),
                json!(max),
                json!(min - 1),
                json!(max as i128 + 1),
                json!(min as f64),
            ]);
        }
        for value in values {
            let mut v = Violations::new();
            let raw = BTreeMap::from([(s.name.to_owned(), value.clone())]);
            let parsed = crate::ServerProperties::parse(&raw, &mut v).is_some();
            assert_eq!(parsed, allows(&value), "{}: {value}", s.name);
        }
    }
}

#[test]
fn client_request_tokens_agree_with_their_pattern() {
    let mut rng = Rng::new(SEED);
    for _ in 0..3000 {
        let t = rng.string_of("aZ9 !~\u{7f}é\t", 0..70);
        let body = serde_json::json!({"name": "a", "kafka_version": "3.9", "broker_count": 1, "storage_gib": 1, "client_request_token": t});
        let req: crate::CreateClusterRequest = serde_json::from_value(body).unwrap();
        let schema = matches(CLIENT_REQUEST_TOKEN_PATTERN, &t)
            && t.chars().count() <= CLIENT_REQUEST_TOKEN_MAX;
        assert_eq!(req.validate().is_ok(), schema, "{t:?}");
    }
}

#[test]
fn ranges_come_from_the_constants() {
    let p = patches();
    let get = |schema: &str, f: &str| {
        p.iter()
            .find(|x| x.schema == schema && x.field == Some(f))
            .unwrap_or_else(|| panic!("{schema}.{f}"))
            .keywords
            .clone()
    };
    assert_eq!(
        get("CreateClusterRequest", "broker_count")["maximum"],
        MAX_BROKERS
    );
    assert_eq!(
        get("UpdateStorageRequest", "storage_gib")["maximum"],
        MAX_STORAGE_GIB
    );
    assert_eq!(
        get("CreateClusterRequest", "zone_count")["maximum"],
        MAX_ZONES
    );
    assert_eq!(
        get("BrokerResources", "memory_mib")["minimum"],
        MIN_MEMORY_MIB
    );
    let types = get("CreateClusterRequest", "broker_type");
    assert_eq!(
        types["enum"].as_array().unwrap().len(),
        BROKER_TYPES.len() + 1
    );
    assert_eq!(max_results()["maximum"], MAX_PAGE);
}

#[test]
fn free_text_refuses_nul_as_its_pattern_says() {
    for text in ["", "ok", "a\u{0}b", "\u{0}", "ünï \u{1}"] {
        let schema = matches(TEXT_PATTERN, text);
        let mut v = Violations::new();
        let tags = BTreeMap::from([("k".to_owned(), text.to_owned())]);
        assert_eq!(
            Tags::parse(&tags, "t", &mut v).is_some(),
            schema,
            "{text:?}"
        );
        let req: crate::CreateRevisionRequest = serde_json::from_value(
            json!({"description": text, "server_properties": {"num.partitions": 1}}),
        )
        .unwrap();
        assert_eq!(req.validate().is_ok(), schema, "{text:?}");
    }
}
