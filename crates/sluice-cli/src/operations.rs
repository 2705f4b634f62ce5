//! `sluice operations …`: a cluster's operations, one operation's steps, and waiting for one.

use clap::Subcommand;
use sluice_model::{Operation, OperationList, StepStatus};
use uuid::Uuid;

use crate::client::{Client, Resp};
use crate::clusters::resolve_cluster;
use crate::error::CliError;
use crate::output::{self, Format};
use crate::progress::{self, Timing};
use crate::show;

#[derive(Debug, Subcommand)]
pub(crate) enum OperationsCmd {
    /// List a cluster's operations, newest first.
    #[command(visible_alias = "ls")]
    List {
        /// The cluster's name or id.
        cluster: String,
        #[command(flatten)]
        page: crate::PageArgs,
    },
    /// Show an operation and its steps.
    #[command(visible_alias = "get")]
    Describe { operation: Uuid },
    /// Follow an operation until it ends; exit non-zero if it fails.
    Wait {
        operation: Uuid,
        #[command(flatten)]
        timing: Timing,
    },
}

pub(crate) async fn run(
    cmd: OperationsCmd,
    client: &Client,
    format: Format,
) -> Result<(), CliError> {
    match cmd {
        OperationsCmd::List { cluster, page } => {
            let id = resolve_cluster(client, &cluster).await?;
            let path = format!("/v1/clusters/{id}/operations");
            let resp: Resp<OperationList> =
                crate::list_pages(client, &path, &[], &page, "operations").await?;
            show(format, &resp, |l| {
                let mut t = output::table(&["ID", "TYPE", "STATE", "STEPS", "AGE", "TOOK"]);
                for o in &l.operations {
                    let cells = vec![
                        o.id.to_string(),
                        o.operation_type.as_str().to_owned(),
                        o.state.as_str().to_owned(),
                        steps_done(o),
                        output::age(&o.created_at),
                        o.ended_at
                            .map(|e| output::span((e - o.created_at).num_seconds()))
                            .unwrap_or_else(|| "-".into()),
                    ];
                    output::add_row(&mut t, cells);
                }
                output::keep_whole(&mut t, &[0, 2]);
                output::print_table(&t);
                output::next_page_hint(&l.next_token);
            })
        }
        OperationsCmd::Describe { operation } => {
            let resp = client
                .get::<Operation>(&format!("/v1/operations/{operation}"))
                .await?;
            show(format, &resp, print_operation)
        }
        OperationsCmd::Wait { operation, timing } => {
            progress::follow(client, operation, &timing, format).await
        }
    }
}

fn steps_done(o: &Operation) -> String {
    let done = o
        .steps
        .iter()
        .filter(|s| matches!(s.status, StepStatus::Complete | StepStatus::Skipped))
        .count();
    format!("{done}/{}", o.steps.len())
}

fn print_operation(o: &Operation) {
    let brokers: Vec<String> = o.broker_ids.iter().map(u32::to_string).collect();
    let rows = vec![
        ("id", o.id.to_string()),
        ("cluster", o.cluster_id.to_string()),
        ("type", o.operation_type.as_str().to_owned()),
        ("state", o.state.as_str().to_owned()),
        (
            "error",
            o.error
                .as_ref()
                .map(|e| format!("{} ({})", e.message, e.code))
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "brokers",
            if brokers.is_empty() {
                "-".into()
            } else {
                brokers.join(", ")
            },
        ),
        ("steps", steps_done(o)),
        ("created", output::time(&o.created_at)),
        ("updated", output::time(&o.updated_at)),
        ("ended", output::opt_time(&o.ended_at)),
    ];
    output::print_kv(&rows);
    if o.steps.is_empty() {
        return;
    }
    outln!();
    let mut t = output::table(&[
        "#", "STEP", "BROKER", "STATUS", "STARTED", "ENDED", "MESSAGE",
    ]);
    for (i, s) in o.steps.iter().enumerate() {
        let status = serde_json::to_value(s.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let cells = vec![
            (i + 1).to_string(),
            s.name.clone(),
            output::or_dash(&s.broker_id),
            status,
            output::opt_time(&s.started_at),
            output::opt_time(&s.ended_at),
            output::or_dash(&s.message),
        ];
        output::add_row(&mut t, cells);
    }
    output::print_table(&t);
}
