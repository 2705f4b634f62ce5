//! The changes to a running cluster: each sends the cluster's `current_version`, and each can
//! follow the operation it starts.

use clap::Args;
use serde::Serialize;
use sluice_model::{BrokerResources, Cluster, ClusterOperation};

use super::resolve_cluster;
use crate::client::{enc, Client, Resp};
use crate::error::CliError;
use crate::output::{self, Format};
use crate::progress::{self, WaitArgs};

/// What every update takes besides its own setting.
#[derive(Debug, Args)]
pub(crate) struct UpdateArgs {
    /// Send this `current_version` as is: no read first, no retry on a version conflict (exit 6).
    /// Without it the CLI reads the cluster's version and retries once on a conflict.
    #[arg(long, value_name = "VERSION")]
    if_version: Option<i64>,
    #[command(flatten)]
    wait: WaitArgs,
}

#[derive(Debug, Args)]
pub(crate) struct SizeArgs {
    /// A named broker size, such as kafka.m5.large.
    #[arg(long, conflicts_with_all = ["cpu_millis", "memory_mib"])]
    pub broker_type: Option<String>,
    /// Broker CPU in millicores (with --memory-mib instead of --broker-type).
    #[arg(long, requires = "memory_mib")]
    cpu_millis: Option<u32>,
    /// Broker memory in MiB (with --cpu-millis).
    #[arg(long, requires = "cpu_millis")]
    memory_mib: Option<u32>,
}

impl SizeArgs {
    pub(crate) fn resources(&self) -> Option<BrokerResources> {
        match (self.cpu_millis, self.memory_mib) {
            (Some(cpu_millis), Some(memory_mib)) => Some(BrokerResources {
                cpu_millis,
                memory_mib,
            }),
            _ => None,
        }
    }
}

/// Shows an accepted change and, with `--wait`, follows its operation.
pub(super) async fn accepted(
    client: &Client,
    resp: Resp<ClusterOperation>,
    wait: &WaitArgs,
    format: Format,
) -> Result<(), CliError> {
    let co = &resp.typed;
    if format == Format::Table {
        outln!(
            "Cluster {} ({}) is {} at version {}.",
            co.cluster.name,
            co.cluster.id,
            co.cluster.state,
            co.cluster.current_version
        );
        outln!(
            "Operation {} {} is {}.",
            co.operation.id,
            co.operation.operation_type.as_str(),
            co.operation.state.as_str()
        );
        if !wait.wait {
            outln!("Follow it with: sluice operations wait {}", co.operation.id);
        }
    } else if !wait.wait {
        output::print_doc(format, &resp.body)?;
    }
    if wait.wait {
        progress::follow(client, co.operation.id, &wait.timing, format).await?;
    }
    Ok(())
}

/// Sends an update with the cluster's `current_version`: read first and retried once on a
/// conflict, unless `--if-version` pins it.
pub(super) async fn change<B: Serialize>(
    client: &Client,
    cluster: &str,
    suffix: &str,
    post: bool,
    update: UpdateArgs,
    format: Format,
    body: impl Fn(i64) -> B,
) -> Result<(), CliError> {
    let id = resolve_cluster(client, cluster).await?;
    let path = format!("/v1/clusters/{id}/{}", enc(suffix));
    let read_version = || async {
        Ok::<_, CliError>(
            client
                .get::<Cluster>(&format!("/v1/clusters/{id}"))
                .await?
                .typed
                .current_version,
        )
    };
    let (mut version, mut retry) = match update.if_version {
        Some(v) => (v, false),
        None => (read_version().await?, true),
    };
    let resp = loop {
        let b = body(version);
        let sent = if post {
            client.post(&path, &b).await
        } else {
            client.put(&path, &b).await
        };
        match sent {
            Err(CliError::Api { problem, .. }) if retry && problem.code == "version-conflict" => {
                retry = false;
                version = match problem.current_version {
                    Some(v) => v,
                    None => read_version().await?,
                };
                eprintln!(
                    "note: the cluster changed meanwhile (now at version {version}); retrying once"
                );
            }
            other => break other?,
        }
    };
    accepted(client, resp, &update.wait, format).await
}
