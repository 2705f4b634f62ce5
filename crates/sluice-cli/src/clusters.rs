//! `sluice clusters …`: create, list, describe, delete, connect and change clusters.

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use sluice_model::{
    BootstrapBrokers, Cluster, ClusterList, ClusterOperation, ClusterState, ConfigurationRef,
    CreateClusterRequest, NodeList, RebootBrokerRequest, UpdateBrokerCountRequest,
    UpdateBrokerTypeRequest, UpdateConfigurationRequest, UpdateKafkaVersionRequest,
    UpdateStorageRequest, KAFKA_VERSIONS,
};
use uuid::Uuid;

mod update;

use update::{accepted, change};
pub(crate) use update::{SizeArgs, UpdateArgs};

use crate::client::{query, Client, Resp};
use crate::configurations::resolve_configuration_ref;
use crate::error::CliError;
use crate::output::{self, Format};
use crate::progress::WaitArgs;
use crate::{parse_pair, show};

#[derive(Debug, Subcommand)]
pub(crate) enum ClustersCmd {
    /// Create a cluster.
    Create(CreateArgs),
    /// List clusters.
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show one cluster.
    #[command(visible_alias = "get")]
    Describe {
        /// The cluster's name or id.
        cluster: String,
    },
    /// Delete a cluster and its brokers.
    Delete {
        /// The cluster's name or id.
        cluster: String,
        /// Refuse unless the cluster is at this version.
        #[arg(long, value_name = "VERSION")]
        if_version: Option<i64>,
        /// Do not ask for confirmation (needed when standard input is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Print the `bootstrap.servers` string for Kafka clients.
    BootstrapBrokers {
        /// The cluster's name or id.
        cluster: String,
    },
    /// List the cluster's brokers as the runtime reports them.
    Nodes {
        /// The cluster's name or id.
        cluster: String,
    },
    /// Change the number of brokers.
    Scale {
        /// The cluster's name or id.
        cluster: String,
        /// The new number of brokers (grow or shrink).
        #[arg(long)]
        broker_count: u32,
        #[command(flatten)]
        update: UpdateArgs,
    },
    /// Grow every broker's storage (storage never shrinks).
    GrowStorage {
        /// The cluster's name or id.
        cluster: String,
        /// New storage per broker, GiB.
        #[arg(long)]
        storage_gib: u32,
        #[command(flatten)]
        update: UpdateArgs,
    },
    /// Apply a configuration revision to every broker (a rolling restart).
    ApplyConfig {
        /// The cluster's name or id.
        cluster: String,
        /// Configuration name or id.
        #[arg(long)]
        configuration: String,
        /// Revision to apply (default: the latest).
        #[arg(long)]
        revision: Option<i64>,
        #[command(flatten)]
        update: UpdateArgs,
    },
    /// Upgrade the Kafka version (a rolling restart; downgrades are refused).
    Upgrade {
        /// The cluster's name or id.
        cluster: String,
        /// A newer Kafka version.
        #[arg(long)]
        kafka_version: String,
        #[command(flatten)]
        update: UpdateArgs,
    },
    /// Change every broker's size (a rolling restart).
    SetBrokerType {
        /// The cluster's name or id.
        cluster: String,
        #[command(flatten)]
        size: SizeArgs,
        #[command(flatten)]
        update: UpdateArgs,
    },
    /// Reboot one broker.
    RebootBroker {
        /// The cluster's name or id.
        cluster: String,
        /// The broker to reboot, from 1.
        #[arg(long)]
        broker_id: u32,
        #[command(flatten)]
        update: UpdateArgs,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// The cluster's name: letters, digits and '-', starting with a letter.
    name: String,
    /// Kafka version, such as 3.9.0.
    #[arg(long, default_value = KAFKA_VERSIONS[KAFKA_VERSIONS.len() - 1])]
    kafka_version: String,
    /// Number of brokers, a multiple of --zones.
    #[arg(long, default_value_t = 3)]
    broker_count: u32,
    #[command(flatten)]
    size: SizeArgs,
    /// Storage per broker, GiB.
    #[arg(long, default_value_t = 100)]
    storage_gib: u32,
    /// Zones to spread the brokers across (the broker count must be a multiple).
    #[arg(long)]
    zones: Option<u32>,
    /// A configuration (name or id) to apply to the brokers.
    #[arg(long)]
    configuration: Option<String>,
    /// The configuration's revision (default: the latest).
    #[arg(long, requires = "configuration")]
    configuration_revision: Option<i64>,
    /// A tag, KEY=VALUE; repeat for more.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_pair)]
    tags: Vec<(String, String)>,
    /// Makes retrying the create safe: the same token and request return the same cluster.
    #[arg(long)]
    client_request_token: Option<String>,
    #[command(flatten)]
    wait: WaitArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only clusters whose name starts with this.
    #[arg(long)]
    name_prefix: Option<String>,
    /// Only clusters in this state, such as ACTIVE.
    #[arg(long, value_parser = parse_state)]
    state: Option<ClusterState>,
    #[command(flatten)]
    page: crate::PageArgs,
}

fn parse_state(s: &str) -> Result<ClusterState, String> {
    ClusterState::parse(&s.to_ascii_uppercase().replace('-', "_")).ok_or_else(|| {
        let all: Vec<_> = ClusterState::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown state; one of {}", all.join(", "))
    })
}

/// Accepts a cluster id or its name; a name is looked up among the tenant's clusters.
pub(crate) async fn resolve_cluster(client: &Client, s: &str) -> Result<Uuid, CliError> {
    if let Ok(id) = Uuid::parse_str(s) {
        return Ok(id);
    }
    let mut next: Option<String> = None;
    loop {
        let q = query(&[
            ("name_prefix", Some(s.to_owned())),
            ("max_results", Some("100".into())),
            ("next_token", next.clone()),
        ]);
        let page = client
            .get::<ClusterList>(&format!("/v1/clusters{q}"))
            .await?
            .typed;
        if let Some(c) = page.clusters.iter().find(|c| c.name == s) {
            return Ok(c.id);
        }
        match page.next_token {
            Some(t) => next = Some(t),
            None => return Err(CliError::NotFound(format!("no cluster named {s:?}"))),
        }
    }
}

pub(crate) async fn run(cmd: ClustersCmd, client: &Client, format: Format) -> Result<(), CliError> {
    match cmd {
        ClustersCmd::Create(a) => create(client, a, format).await,
        ClustersCmd::List(a) => list(client, a, format).await,
        ClustersCmd::Describe { cluster } => {
            let id = resolve_cluster(client, &cluster).await?;
            let resp = client.get::<Cluster>(&format!("/v1/clusters/{id}")).await?;
            show(format, &resp, print_cluster)
        }
        ClustersCmd::Delete {
            cluster,
            if_version,
            yes,
            wait,
        } => {
            let id = resolve_cluster(client, &cluster).await?;
            crate::confirm(
                yes,
                &format!("Delete cluster {cluster} and all its brokers?"),
            )?;
            let q = query(&[("current_version", if_version.map(|v| v.to_string()))]);
            let resp = client
                .delete::<ClusterOperation>(&format!("/v1/clusters/{id}{q}"))
                .await?;
            accepted(client, resp, &wait, format).await
        }
        ClustersCmd::BootstrapBrokers { cluster } => {
            let id = resolve_cluster(client, &cluster).await?;
            let resp = client
                .get::<BootstrapBrokers>(&format!("/v1/clusters/{id}/bootstrap-brokers"))
                .await?;
            show(format, &resp, |b| outln!("{}", b.bootstrap_brokers))
        }
        ClustersCmd::Nodes { cluster } => {
            let id = resolve_cluster(client, &cluster).await?;
            let resp = client
                .get::<NodeList>(&format!("/v1/clusters/{id}/nodes"))
                .await?;
            show(format, &resp, |l| {
                let mut t = output::table(&[
                    "BROKER", "HOST", "PORT", "ZONE", "STATE", "KAFKA", "UPDATED",
                ]);
                for n in &l.nodes {
                    let cells = vec![
                        n.broker_id.to_string(),
                        n.host.clone(),
                        n.port.to_string(),
                        output::or_dash(&n.zone),
                        n.state.clone(),
                        n.kafka_version.clone(),
                        output::time(&n.updated_at),
                    ];
                    output::add_row(&mut t, cells);
                }
                output::print_table(&t);
            })
        }
        ClustersCmd::Scale {
            cluster,
            broker_count,
            update: u,
        } => {
            let body = |current_version| UpdateBrokerCountRequest {
                current_version,
                broker_count,
            };
            change(client, &cluster, "broker-count", false, u, format, body).await
        }
        ClustersCmd::GrowStorage {
            cluster,
            storage_gib,
            update: u,
        } => {
            let body = |current_version| UpdateStorageRequest {
                current_version,
                storage_gib,
            };
            change(client, &cluster, "storage", false, u, format, body).await
        }
        ClustersCmd::ApplyConfig {
            cluster,
            configuration,
            revision,
            update: u,
        } => {
            let configuration = resolve_configuration_ref(client, &configuration, revision).await?;
            let body = |current_version| UpdateConfigurationRequest {
                current_version,
                configuration,
            };
            change(client, &cluster, "configuration", false, u, format, body).await
        }
        ClustersCmd::Upgrade {
            cluster,
            kafka_version,
            update: u,
        } => {
            let body = |current_version| UpdateKafkaVersionRequest {
                current_version,
                kafka_version: kafka_version.clone(),
            };
            change(client, &cluster, "version", false, u, format, body).await
        }
        ClustersCmd::SetBrokerType {
            cluster,
            size,
            update: u,
        } => {
            if size.broker_type.is_none() && size.resources().is_none() {
                return Err(CliError::Usage(
                    "give --broker-type, or --cpu-millis with --memory-mib".into(),
                ));
            }
            let body = |current_version| UpdateBrokerTypeRequest {
                current_version,
                broker_type: size.broker_type.clone(),
                broker_resources: size.resources(),
            };
            change(client, &cluster, "broker-type", false, u, format, body).await
        }
        ClustersCmd::RebootBroker {
            cluster,
            broker_id,
            update: u,
        } => {
            let body = |current_version| RebootBrokerRequest {
                current_version,
                broker_id,
            };
            change(client, &cluster, "reboot-broker", true, u, format, body).await
        }
    }
}

async fn create(client: &Client, a: CreateArgs, format: Format) -> Result<(), CliError> {
    let configuration = match &a.configuration {
        Some(c) => Some(resolve_configuration_ref(client, c, a.configuration_revision).await?),
        None => None,
    };
    let req = CreateClusterRequest {
        name: a.name,
        kafka_version: a.kafka_version,
        broker_count: a.broker_count,
        broker_type: a.size.broker_type.clone(),
        broker_resources: a.size.resources(),
        storage_gib: a.storage_gib,
        zone_count: a.zones,
        configuration,
        tags: a.tags.into_iter().collect::<BTreeMap<_, _>>(),
        client_request_token: a.client_request_token,
    };
    let resp = client
        .post::<ClusterOperation, _>("/v1/clusters", &req)
        .await?;
    accepted(client, resp, &a.wait, format).await
}

async fn list(client: &Client, a: ListArgs, format: Format) -> Result<(), CliError> {
    let base = [
        ("name_prefix", a.name_prefix.clone()),
        ("state", a.state.map(|s| s.as_str().to_owned())),
    ];
    let resp: Resp<ClusterList> =
        crate::list_pages(client, "/v1/clusters", &base, &a.page, "clusters").await?;
    show(format, &resp, |l| {
        let mut t = output::table(&[
            "NAME", "ID", "STATE", "KAFKA", "BROKERS", "SIZE", "STORAGE", "VERSION", "AGE",
        ]);
        for c in &l.clusters {
            let cells = vec![
                c.name.clone(),
                c.id.to_string(),
                c.state.to_string(),
                c.spec.kafka_version.clone(),
                c.spec.broker_count.to_string(),
                size(c),
                format!("{} GiB", c.spec.storage_gib),
                c.current_version.to_string(),
                output::age(&c.created_at),
            ];
            output::add_row(&mut t, cells);
        }
        output::keep_whole(&mut t, &[2]);
        output::print_table(&t);
        output::next_page_hint(&l.next_token);
    })
}

fn size(c: &Cluster) -> String {
    match &c.spec.broker_type {
        Some(t) => t.clone(),
        None => format!(
            "{}m/{}Mi",
            c.spec.broker_resources.cpu_millis, c.spec.broker_resources.memory_mib
        ),
    }
}

fn print_cluster(c: &Cluster) {
    let s = &c.spec;
    let config = s
        .configuration
        .map(|r: ConfigurationRef| format!("{} revision {}", r.id, r.revision))
        .unwrap_or_else(|| "-".into());
    let rows = vec![
        ("name", c.name.clone()),
        ("id", c.id.to_string()),
        ("state", c.state.to_string()),
        (
            "state info",
            c.state_info
                .as_ref()
                .map(|i| format!("{} ({})", i.message, i.code))
                .unwrap_or_else(|| "-".into()),
        ),
        ("version", c.current_version.to_string()),
        ("kafka version", s.kafka_version.clone()),
        ("brokers", s.broker_count.to_string()),
        ("broker size", size(c)),
        (
            "broker cpu",
            format!("{} millicores", s.broker_resources.cpu_millis),
        ),
        (
            "broker memory",
            format!("{} MiB", s.broker_resources.memory_mib),
        ),
        ("storage", format!("{} GiB per broker", s.storage_gib)),
        ("zones", s.zone_count.to_string()),
        ("configuration", config),
        ("tags", output::tags(&c.tags)),
        ("active operation", output::or_dash(&c.active_operation_id)),
        ("created", output::time(&c.created_at)),
        ("updated", output::time(&c.updated_at)),
    ];
    output::print_kv(&rows);
}
