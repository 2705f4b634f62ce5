//! `--wait`: follows an operation by polling `GET /v1/operations/{id}` and shows each step as it
//! starts and ends. On a terminal that is a live display (a spinner with the current step and
//! the elapsed time, finished steps printed above it); elsewhere one plain line per transition,
//! so logs and CI output stay readable.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluice_model::{Operation, OperationState, OperationStep, StepStatus};
use uuid::Uuid;

use crate::client::{Client, Resp};
use crate::error::CliError;
use crate::output::{self, Format};

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 500ms, 10s, 5m)"))?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

/// How to poll.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Timing {
    /// How often to poll the operation.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration)]
    pub poll_interval: Duration,
    /// Give up waiting after this long (exit code 8); the operation itself goes on.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// `--wait` and its timing, for every command that starts an operation.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct WaitArgs {
    /// Follow the operation until it ends; exit non-zero if it fails. With -o json|yaml, print
    /// the operation's final document (progress goes to stderr).
    #[arg(long)]
    pub wait: bool,
    #[command(flatten)]
    pub timing: Timing,
}

/// Where progress goes. Table output is for people, so progress joins it on stdout; with
/// `-o json|yaml` stdout carries only the document, and progress goes to stderr.
#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn is_terminal(self) -> bool {
        match self {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        }
    }
    fn line(self, text: &str) {
        // A closed pipe must not abort the wait; the exit code still tells the outcome.
        let _ = match self {
            Stream::Stdout => writeln!(std::io::stdout(), "{text}"),
            Stream::Stderr => writeln!(std::io::stderr(), "{text}"),
        };
    }
}

/// Renders transitions either live or as plain lines.
struct Display {
    stream: Stream,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Display {
    fn new(format: Format) -> Display {
        let stream = if format == Format::Table {
            Stream::Stdout
        } else {
            Stream::Stderr
        };
        let bar = stream.is_terminal().then(|| {
            let target = match stream {
                Stream::Stdout => ProgressDrawTarget::stdout(),
                Stream::Stderr => ProgressDrawTarget::stderr(),
            };
            let bar = ProgressBar::with_draw_target(None, target);
            let style =
                ProgressStyle::with_template("{spinner:.cyan} [{elapsed_precise}] {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Display {
            stream,
            bar,
            started: Instant::now(),
        }
    }

    fn elapsed(&self) -> String {
        format!("[{:>6.1}s]", self.started.elapsed().as_secs_f64())
    }

    fn event(&self, text: &str) {
        let line = format!("{} {text}", self.elapsed());
        match &self.bar {
            Some(bar) => bar.println(line),
            None => self.stream.line(&line),
        }
    }

    fn status(&self, text: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        }
    }

    fn finish(&self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        if !text.is_empty() {
            self.stream.line(text);
        }
    }
}

fn step_label(i: usize, total: usize, s: &OperationStep) -> String {
    let broker = s
        .broker_id
        .map(|b| format!(" (broker {b})"))
        .unwrap_or_default();
    format!("step {}/{total} {}{broker}", i + 1, s.name)
}

fn step_duration(s: &OperationStep) -> String {
    match (s.started_at, s.ended_at) {
        (Some(a), Some(b)) => {
            let ms = (b - a).num_milliseconds().max(0);
            format!(" in {:.1}s", ms as f64 / 1000.0)
        }
        _ => String::new(),
    }
}

/// Lines for what changed between two observations of an operation.
fn transitions(prev: Option<&Operation>, now: &Operation) -> Vec<String> {
    let mut out = Vec::new();
    if prev.map(|p| p.state) != Some(now.state) && !now.state.is_terminal() {
        out.push(format!(
            "operation {} {}",
            now.operation_type.as_str(),
            now.state.as_str()
        ));
    }
    let total = now.steps.len();
    for (i, s) in now.steps.iter().enumerate() {
        let before = prev
            .and_then(|p| p.steps.get(i))
            .filter(|b| b.name == s.name)
            .map(|b| b.status);
        if before == Some(s.status) {
            continue;
        }
        let label = step_label(i, total, s);
        let ended_unseen = before.is_none_or(|b| b == StepStatus::Pending);
        match s.status {
            StepStatus::Pending => {}
            StepStatus::InProgress => out.push(format!("{label} started")),
            StepStatus::Complete => {
                if ended_unseen {
                    out.push(format!("{label} started"));
                }
                out.push(format!("{label} done{}", step_duration(s)));
            }
            StepStatus::Failed => {
                let why = s
                    .message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                out.push(format!("{label} FAILED{}{why}", step_duration(s)));
            }
            StepStatus::Skipped => out.push(format!("{label} skipped")),
        }
    }
    out
}

fn status_line(op: &Operation) -> String {
    let current = op
        .steps
        .iter()
        .enumerate()
        .find(|(_, s)| s.status == StepStatus::InProgress)
        .map(|(i, s)| format!(" · {}", step_label(i, op.steps.len(), s)))
        .unwrap_or_default();
    let done = op
        .steps
        .iter()
        .filter(|s| matches!(s.status, StepStatus::Complete | StepStatus::Skipped))
        .count();
    format!(
        "{} {} ({done}/{} steps){current}",
        op.operation_type.as_str(),
        op.state.as_str(),
        op.steps.len()
    )
}

/// Whether polling should carry on past this error: the API may restart or blip mid-operation.
fn transient(e: &CliError) -> bool {
    match e {
        CliError::Connection { .. } => true,
        CliError::Api { status, .. } | CliError::Unexpected { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Polls until the operation ends, showing each transition; gives up at the deadline.
async fn poll_until_done(
    client: &Client,
    id: Uuid,
    timing: &Timing,
    display: &Display,
) -> Result<Resp<Operation>, CliError> {
    let deadline = Instant::now() + timing.timeout;
    let mut prev: Option<Operation> = None;
    let mut warned = false;
    loop {
        match client
            .get::<Operation>(&format!("/v1/operations/{id}"))
            .await
        {
            Ok(resp) => {
                warned = false;
                if prev.is_none() {
                    display.event(&format!(
                        "following operation {id} ({})",
                        resp.typed.operation_type.as_str(),
                    ));
                }
                for line in transitions(prev.as_ref(), &resp.typed) {
                    display.event(&line);
                }
                display.status(status_line(&resp.typed));
                if resp.typed.state.is_terminal() {
                    return Ok(resp);
                }
                prev = Some(resp.typed);
            }
            Err(e) if transient(&e) && Instant::now() < deadline => {
                if !warned {
                    display.event(&format!("(retrying: {e})"));
                    warned = true;
                }
            }
            Err(e) => return Err(e),
        }
        let now = Instant::now();
        if now >= deadline {
            display.event("gave up waiting");
            return Err(CliError::WaitTimeout {
                id,
                waited: timing.timeout,
                state: prev.as_ref().map(|p| p.state.as_str()).unwrap_or("unknown"),
            });
        }
        tokio::time::sleep(timing.poll_interval.min(deadline - now)).await;
    }
}

/// Follows operation `id` to its end. Prints the final operation for `-o json|yaml`; fails with
/// [`CliError::OperationFailed`] when it ends UPDATE_FAILED.
pub(crate) async fn follow(
    client: &Client,
    id: Uuid,
    timing: &Timing,
    format: Format,
) -> Result<(), CliError> {
    let display = Display::new(format);
    // Ctrl-C is watched for the whole wait, requests included, so it is never swallowed.
    let polled = tokio::select! {
        r = poll_until_done(client, id, timing, &display) => r,
        _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted(id)),
    };
    let finished = match polled {
        Ok(f) => f,
        Err(e) => {
            display.finish("");
            return Err(e);
        }
    };
    let op = &finished.typed;
    let took = display.elapsed();
    match op.state {
        OperationState::UpdateComplete => {
            display.finish(&format!(
                "{took} ✓ operation {id} {} UPDATE_COMPLETE",
                op.operation_type.as_str()
            ));
        }
        _ => {
            // The reason follows on the error line, once.
            display.finish(&format!(
                "{took} ✗ operation {id} {} UPDATE_FAILED",
                op.operation_type.as_str()
            ));
        }
    }
    if format != Format::Table {
        output::print_doc(format, &finished.body)?;
    }
    if op.state == OperationState::UpdateFailed {
        return Err(CliError::OperationFailed {
            op: Box::new(finished.typed),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, status: StepStatus, broker: Option<u32>) -> OperationStep {
        OperationStep {
            name: name.into(),
            status,
            broker_id: broker,
            started_at: None,
            ended_at: None,
            message: None,
        }
    }

    fn op(state: OperationState, steps: Vec<OperationStep>) -> Operation {
        let spec: sluice_model::ClusterSpec = serde_json::from_value(serde_json::json!({
            "kafka_version": "3.7.0", "broker_count": 3, "broker_type": null,
            "broker_resources": {"cpu_millis": 1000, "memory_mib": 2048}, "storage_gib": 10,
            "zone_count": 1, "configuration": null
        }))
        .unwrap();
        Operation {
            id: Uuid::nil(),
            cluster_id: Uuid::nil(),
            operation_type: sluice_model::OperationType::RebootBroker,
            state,
            broker_ids: vec![2],
            source: None,
            target: spec,
            steps,
            error: None,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            ended_at: None,
        }
    }

    #[test]
    fn reports_each_step_start_and_end_once() {
        let a = op(OperationState::Pending, vec![]);
        let b = op(
            OperationState::InProgress,
            vec![step("RESTART_BROKER", StepStatus::InProgress, Some(2))],
        );
        let c = op(
            OperationState::InProgress,
            vec![step("RESTART_BROKER", StepStatus::Complete, Some(2))],
        );
        assert_eq!(transitions(None, &a), ["operation REBOOT_BROKER PENDING"]);
        assert_eq!(
            transitions(Some(&a), &b),
            [
                "operation REBOOT_BROKER IN_PROGRESS",
                "step 1/1 RESTART_BROKER (broker 2) started"
            ]
        );
        assert_eq!(
            transitions(Some(&b), &c),
            ["step 1/1 RESTART_BROKER (broker 2) done"]
        );
        assert!(transitions(Some(&c), &c).is_empty());
        // A step that started and ended between two polls still shows both edges.
        assert_eq!(transitions(Some(&a), &c).len(), 3);
    }
}
