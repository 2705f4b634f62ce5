//! The errors a command can end with, the one-line message each shows, and its exit code.

use std::fmt::Write as _;
use std::time::Duration;

use sluice_model::{Operation, Problem};
use uuid::Uuid;

/// Exit codes, documented in `sluice --help` and the crate docs. Scripts rely on them: never
/// renumber one.
pub(crate) mod exit {
    pub(crate) const OK: u8 = 0;
    /// Anything else, including an operation that ended UPDATE_FAILED and server errors.
    pub(crate) const GENERIC: u8 = 1;
    /// Bad command line or configuration (clap uses 2 for usage errors too).
    pub(crate) const USAGE: u8 = 2;
    pub(crate) const CONNECTION: u8 = 3;
    pub(crate) const AUTH: u8 = 4;
    pub(crate) const NOT_FOUND: u8 = 5;
    pub(crate) const CONFLICT: u8 = 6;
    pub(crate) const VALIDATION: u8 = 7;
    pub(crate) const WAIT_TIMEOUT: u8 = 8;
    /// Interrupted (Ctrl-C) while waiting; the operation carries on server-side.
    pub(crate) const INTERRUPTED: u8 = 130;
}

/// The text shown after `sluice --help`, and the source of truth for the exit code table.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    error, including an operation that ended UPDATE_FAILED, or a server error (5xx)
  2    usage: bad arguments, or no endpoint configured
  3    cannot connect to the API (refused, DNS, TLS, request timed out)
  4    authentication: no token, or a token the API rejects (401) or that lacks a role (403)
  5    not found (404): no such cluster, operation, configuration or revision
  6    conflict (409): version conflict, invalid state, a change that does not apply to the
       resource as it stands (each field error is listed), name taken, configuration in use
  7    invalid request (400, 422): the API rejected a field; each field error is listed
  8    timed out waiting for an operation (--timeout); the operation goes on
  130  interrupted while waiting; the operation goes on

Endpoint and token come from --endpoint/--token, else SLUICE_ENDPOINT/SLUICE_TOKEN,
else the config file written by `sluice login` (see `sluice config path`).";

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot reach the Sluice API at {endpoint}: {reason}")]
    Connection { endpoint: String, reason: String },
    #[error("{}", problem.detail)]
    Api { status: u16, problem: Box<Problem> },
    /// A non-problem answer: a proxy's error page, or a server that is not Sluice.
    #[error("unexpected answer from the API (HTTP {status}): {body}")]
    Unexpected { status: u16, body: String },
    #[error("no API endpoint configured: run `sluice login --endpoint URL`, set SLUICE_ENDPOINT or pass --endpoint")]
    NoEndpoint,
    #[error("no API token configured: run `sluice login`, set SLUICE_TOKEN or pass --token")]
    NoToken,
    #[error("{0}")]
    Usage(String),
    /// A name the CLI resolved itself, finding nothing; the API's own 404s are `Api`.
    #[error("{0}")]
    NotFound(String),
    #[error("operation {id} did not finish within {}; it is still {state}. Follow it with `sluice operations wait {id}`", humantime::format_duration(*waited))]
    WaitTimeout {
        id: Uuid,
        waited: Duration,
        state: &'static str,
    },
    #[error("operation {} ({}) failed: {}", op.id, op.operation_type.as_str(), failure_text(op))]
    OperationFailed { op: Box<Operation> },
    #[error("stopped waiting for operation {0}; it goes on. Follow it with `sluice operations wait {0}`")]
    Interrupted(Uuid),
    #[error("{0}")]
    Other(String),
}

fn failure_text(op: &Operation) -> String {
    match &op.error {
        Some(e) => format!("{} ({})", e.message, e.code),
        None => "no reason given".into(),
    }
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Connection { .. } => exit::CONNECTION,
            // A non-problem answer keeps its status's meaning: a proxy's 401 is still auth.
            CliError::Api { status, .. } | CliError::Unexpected { status, .. } => match status {
                401 | 403 => exit::AUTH,
                404 => exit::NOT_FOUND,
                409 => exit::CONFLICT,
                400 | 422 => exit::VALIDATION,
                _ => exit::GENERIC,
            },
            CliError::NoToken => exit::AUTH,
            CliError::NoEndpoint | CliError::Usage(_) => exit::USAGE,
            CliError::NotFound(_) => exit::NOT_FOUND,
            CliError::WaitTimeout { .. } => exit::WAIT_TIMEOUT,
            CliError::Interrupted(_) => exit::INTERRUPTED,
            CliError::OperationFailed { .. } | CliError::Other(_) => exit::GENERIC,
        }
    }

    /// The problem code of an API error, such as `version-conflict`.
    pub fn problem_code(&self) -> Option<&str> {
        match self {
            CliError::Api { problem, .. } => Some(&problem.code),
            _ => None,
        }
    }

    /// What goes to stderr: `error: <what> (<code>)`, then indented details and a hint.
    pub fn render(&self) -> String {
        let mut out = String::new();
        match self {
            CliError::Api { status, problem } => {
                // The API's detail of a validation failure repeats every field error; the
                // title heads them instead, so that each is said once, on its own line.
                let headline = if problem.errors.is_empty() {
                    &problem.detail
                } else {
                    &problem.title
                };
                let _ = write!(out, "error: {headline} ({})", problem.code);
                for e in &problem.errors {
                    let _ = write!(out, "\n  {}: {}", e.field, e.message);
                }
                if let Some(v) = problem
                    .current_version
                    .filter(|v| !headline.contains(&v.to_string()))
                {
                    let _ = write!(out, "\n  the cluster is now at version {v}");
                }
                if let Some(s) = problem.state.filter(|s| !headline.contains(s.as_str())) {
                    let _ = write!(out, "\n  the cluster is {s}");
                }
                let hint = match status {
                    401 => Some("the token is missing, invalid or expired: run `sluice login` or set SLUICE_TOKEN"),
                    403 => Some("the token is valid but its roles do not allow this"),
                    _ => None,
                };
                if let Some(h) = hint {
                    let _ = write!(out, "\n  hint: {h}");
                }
                if *status >= 500 {
                    if let Some(id) = &problem.request_id {
                        let _ = write!(out, "\n  request id: {id}");
                    }
                }
            }
            CliError::Connection { .. } => {
                let _ = write!(out, "error: {self}\n  hint: check the endpoint (`sluice config show`) and that the server is running");
            }
            other => {
                let _ = write!(out, "error: {other}");
            }
        }
        out
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Other(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_model::FieldError;

    fn problem(status: u16, code: &str) -> CliError {
        CliError::Api {
            status,
            problem: Box::new(Problem {
                type_uri: format!("urn:sluice:problem:{code}"),
                title: "Validation failed".into(),
                status,
                detail: "the request is invalid".into(),
                code: code.into(),
                request_id: None,
                errors: vec![FieldError {
                    field: "broker_count".into(),
                    message: "too many".into(),
                }],
                current_version: None,
                state: None,
            }),
        }
    }

    #[test]
    fn statuses_map_to_documented_codes() {
        assert_eq!(problem(401, "unauthorized").exit_code(), 4);
        assert_eq!(problem(403, "forbidden").exit_code(), 4);
        assert_eq!(problem(404, "cluster-not-found").exit_code(), 5);
        assert_eq!(problem(409, "version-conflict").exit_code(), 6);
        assert_eq!(problem(422, "validation-failed").exit_code(), 7);
        assert_eq!(problem(500, "internal-error").exit_code(), 1);
        assert_eq!(CliError::NoEndpoint.exit_code(), 2);
    }

    #[test]
    fn problem_renders_as_one_line_plus_fields() {
        let text = problem(422, "validation-failed").render();
        assert_eq!(
            text,
            "error: Validation failed (validation-failed)\n  broker_count: too many"
        );
    }
}
