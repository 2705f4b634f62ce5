//! Tags: user-defined key/value labels on clusters and configurations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Violations;

/// The most tags one resource may carry.
pub const MAX_TAGS: usize = 50;
/// Keys with this prefix are reserved for Sluice itself.
pub const RESERVED_TAG_PREFIX: &str = "sluice:";
/// The characters of a tag key (Unicode letters and numbers, space, `_ . : / = + - @`, as AWS
/// tags allow); [`validate_tag_key`] matches keys against this very pattern.
pub const TAG_KEY_PATTERN: &str = r"^[\p{L}\p{N} _.:/=+@-]+$";
/// The longest tag key, in characters.
pub const TAG_KEY_MAX_CHARS: usize = 128;
/// The longest tag value, in characters.
pub const TAG_VALUE_MAX_CHARS: usize = 256;

/// A validated set of tags, ordered by key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tags(BTreeMap<String, String>);

impl Tags {
    /// Validates every key and value; `field` prefixes the field paths of the errors.
    pub fn parse(
        raw: &BTreeMap<String, String>,
        field: &str,
        violations: &mut Violations,
    ) -> Option<Tags> {
        let before = violations.clone();
        if raw.len() > MAX_TAGS {
            violations.add(field, format!("at most {MAX_TAGS} tags are allowed"));
        }
        for (k, v) in raw {
            if let Err(e) = validate_tag_key(k) {
                violations.add(format!("{field}.{k}"), e);
            }
            if let Err(e) = crate::check_text(v) {
                violations.add(format!("{field}.{k}"), format!("tag value {e}"));
            }
            if v.chars().count() > TAG_VALUE_MAX_CHARS {
                violations.add(
                    format!("{field}.{k}"),
                    format!("tag value must be at most {TAG_VALUE_MAX_CHARS} characters"),
                );
            }
        }
        (violations == &before).then(|| Tags(raw.clone()))
    }

    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    /// Merges `other` over these tags and checks the result still fits the limit.
    pub fn merged(&self, other: &Tags) -> Result<Tags, String> {
        let mut map = self.0.clone();
        map.extend(other.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        if map.len() > MAX_TAGS {
            return Err(format!("a resource may carry at most {MAX_TAGS} tags"));
        }
        Ok(Tags(map))
    }

    /// These tags without the given keys; keys not present are ignored.
    pub fn without(&self, keys: &[String]) -> Tags {
        let mut map = self.0.clone();
        for k in keys {
            map.remove(k);
        }
        Tags(map)
    }
}

/// Checks one tag key: 1–128 characters of [`TAG_KEY_PATTERN`],
/// and not in the reserved `sluice:` namespace.
pub fn validate_tag_key(k: &str) -> Result<(), String> {
    static KEY: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(TAG_KEY_PATTERN).expect("valid pattern"));
    let n = k.chars().count();
    if n == 0 || n > TAG_KEY_MAX_CHARS {
        return Err(format!(
            "tag key must be 1 to {TAG_KEY_MAX_CHARS} characters"
        ));
    }
    if !KEY.is_match(k) {
        return Err("tag key may contain only letters, digits, spaces and _ . : / = + - @".into());
    }
    if k.starts_with(RESERVED_TAG_PREFIX) {
        return Err(format!(
            "tag keys starting with '{RESERVED_TAG_PREFIX}' are reserved"
        ));
    }
    Ok(())
}

/// Body of `POST …/tags`: tags to add or overwrite.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagResourceRequest {
    /// Tags to add; an existing key takes the new value.
    pub tags: BTreeMap<String, String>,
}

/// The tags of one resource.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TagList {
    pub tags: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_rules() {
        let mut v = Violations::new();
        let ok: BTreeMap<_, _> = [
            ("env".to_string(), "prod".to_string()),
            ("team/a b".into(), "".into()),
        ]
        .into();
        assert!(Tags::parse(&ok, "tags", &mut v).is_some());
        assert!(v.is_empty());

        let bad: BTreeMap<_, _> = [
            ("".to_string(), "x".to_string()),
            ("sluice:owner".into(), "x".into()),
            ("a,b".into(), "x".into()),
            ("long".into(), "v".repeat(257)),
        ]
        .into();
        assert!(Tags::parse(&bad, "tags", &mut v).is_none());
        assert_eq!(v.into_errors().len(), 4);

        let many: BTreeMap<_, _> = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        let mut v = Violations::new();
        assert!(Tags::parse(&many, "tags", &mut v).is_none());
    }

    #[test]
    fn merge_and_remove() {
        let mut v = Violations::new();
        let a = Tags::parse(&[("a".to_string(), "1".to_string())].into(), "t", &mut v).unwrap();
        let b = Tags::parse(
            &[("a".to_string(), "2".to_string()), ("b".into(), "3".into())].into(),
            "t",
            &mut v,
        )
        .unwrap();
        let m = a.merged(&b).unwrap();
        assert_eq!(m.as_map()["a"], "2");
        assert_eq!(m.without(&["a".into(), "zz".into()]).as_map().len(), 1);
        let full = Tags((0..50).map(|i| (format!("k{i}"), String::new())).collect());
        assert!(full.merged(&b).is_err());
    }
}
