//! Names of user-visible resources.

use serde::{Deserialize, Serialize};

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Accepts 1 to
            #[doc = stringify!($max)]
            /// characters: ASCII letters, digits and `-`, starting with a letter.
            pub fn parse(s: &str) -> Result<Self, String> {
                validate_name(s, $what, $max).map(|()| Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(n: $ty) -> String {
                n.0
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// What [`ClusterName::parse`] and [`ConfigurationName::parse`] accept, besides the length.
pub const NAME_PATTERN: &str = "^[A-Za-z][A-Za-z0-9-]*$";
/// The longest cluster name.
pub const CLUSTER_NAME_MAX: usize = 64;
/// The longest configuration name.
pub const CONFIGURATION_NAME_MAX: usize = 64;

name_type!(
    /// A cluster's name: unique among a tenant's clusters that are not deleted.
    ClusterName,
    "cluster name",
    CLUSTER_NAME_MAX
);
name_type!(
    /// A broker configuration's name: unique within a tenant.
    ConfigurationName,
    "configuration name",
    CONFIGURATION_NAME_MAX
);

fn validate_name(s: &str, what: &str, max: usize) -> Result<(), String> {
    if s.is_empty() || s.len() > max {
        return Err(format!("{what} must be 1 to {max} characters"));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!("{what} must start with a letter"));
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!(
            "{what} may contain only ASCII letters, digits and '-'"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names() {
        assert!(ClusterName::parse("orders-prod-1").is_ok());
        assert!(ClusterName::parse("a").is_ok());
        assert!(ClusterName::parse(&"a".repeat(64)).is_ok());
        for bad in [
            "",
            "1abc",
            "-abc",
            "with space",
            "ünïcode",
            "a_b",
            "x'; drop table",
        ] {
            assert!(ClusterName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(ClusterName::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn serde_validates() {
        let ok: ClusterName = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(ok.as_str(), "abc");
        assert!(serde_json::from_str::<ClusterName>("\"9\"").is_err());
    }
}
