//! Per-field validation errors, collected so a client sees every problem with a request at once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Free text (tag values, descriptions): anything but NUL, which Postgres cannot store.
pub const TEXT_PATTERN: &str = r"^[^\u0000]*$";

/// Checks free text against [`TEXT_PATTERN`].
pub fn check_text(s: &str) -> Result<(), String> {
    if s.contains('\0') {
        Err("must not contain NUL characters".into())
    } else {
        Ok(())
    }
}

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The field's JSON path, for example `broker_count` or `tags.env`.
    pub field: String,
    /// What is wrong, in words meant for a person.
    pub message: String,
}

/// Collects [`FieldError`]s while a request is validated.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Records the error of a parse and returns its value, if any.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(self.0)
        }
    }

    pub fn into_errors(self) -> Vec<FieldError> {
        self.0
    }
}
