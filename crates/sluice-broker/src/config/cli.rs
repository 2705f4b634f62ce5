//! The `sluice-broker` command line: flags and their environment variables, which win over the
//! properties file.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// Command line of `sluice-broker`.
#[derive(Debug, Clone, Parser)]
#[command(name = "sluice-broker", about = "Kafka-wire-compatible broker")]
pub struct Cli {
    /// Broker id reported in metadata (Kafka's `node.id`).
    #[arg(long, env = "SLUICE_NODE_ID")]
    pub node_id: Option<i32>,
    /// Where to accept Kafka clients, e.g. `PLAINTEXT://0.0.0.0:9092,SSL://0.0.0.0:9093`.
    #[arg(long, env = "SLUICE_LISTENERS")]
    pub listeners: Option<String>,
    /// Addresses announced to each listener's clients in metadata, e.g.
    /// `PLAINTEXT://broker.example:9092,SSL://broker.example:9093`.
    #[arg(long, env = "SLUICE_ADVERTISED_LISTENERS")]
    pub advertised_listeners: Option<String>,
    /// Directory holding partition logs and broker metadata (Kafka's `log.dirs`).
    #[arg(long, env = "SLUICE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Java properties file with Kafka broker property names.
    #[arg(long, env = "SLUICE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address of the HTTP admin listener serving `/metrics` and the metadata quorum's RPCs.
    #[arg(long, env = "SLUICE_ADMIN_LISTENER")]
    pub admin_listener: Option<SocketAddr>,
    /// Metadata quorum voters, `id@host:port` of their admin listeners, comma separated
    /// (Kafka's `controller.quorum.voters`).
    #[arg(long, env = "SLUICE_CONTROLLER_QUORUM_VOTERS")]
    pub controller_quorum_voters: Option<String>,
    /// Rack (zone) of this broker, for rack-aware replica placement (Kafka's `broker.rack`).
    #[arg(long, env = "SLUICE_BROKER_RACK")]
    pub broker_rack: Option<String>,
    /// The cluster's admin secret (`sluice.admin.secret.file`): a file of at least 32 random
    /// bytes, mode 0600, the same on every broker; signs and checks the metadata RPCs.
    #[arg(long, env = "SLUICE_ADMIN_SECRET_FILE")]
    pub admin_secret_file: Option<PathBuf>,
}
