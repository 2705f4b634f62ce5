//! Typed broker configuration: command-line flags and environment variables, plus a Java
//! properties file using Kafka's property names.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::error::BrokerError;

mod admin;
mod cli;
mod limits;
mod listeners;
mod properties;
mod request_limits;
mod sasl;
mod security;
mod ssl;

pub use admin::{AdminAuthMode, AdminSettings};
pub use cli::Cli;
pub use limits::ConnectionLimits;
pub use listeners::{ListenerConfig, ListenerProps, SecurityProtocol, DEFAULT_PROTOCOL_MAP};
use properties::load_properties;
pub use properties::parse_properties;
pub use request_limits::RequestLimits;
pub use sasl::{SaslMechanism, SaslSettings};
pub use security::{SecurityConfig, AUTHORIZER_NAMES};
pub use ssl::{ssl_settings, ClientAuth, Keystore, Pem, SslSettings};

/// Effective broker configuration.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `node.id`: id of this broker.
    pub node_id: i32,
    /// `listeners` with their protocols and advertised addresses, resolved from
    /// [`listener_props`](Self::listener_props) (at least one).
    pub listeners: Vec<ListenerConfig>,
    /// The listener brokers talk to each other on (`inter.broker.listener.name`, resolved).
    pub inter_broker_listener_name: String,
    /// The listener properties as given (resolved into `listeners` by
    /// [`resolve_listeners`](Self::resolve_listeners)).
    pub listener_props: ListenerProps,
    /// `ssl.*` and `listener.name.<name>.ssl.*` properties, read by [`ssl_settings`].
    pub ssl_props: BTreeMap<String, String>,
    /// `max.connections`, `max.connections.per.ip`, idle and write timeouts.
    pub limits: ConnectionLimits,
    /// SASL mechanisms, sessions and the bootstrap users.
    pub sasl: SaslSettings,
    /// Authorizer, super users and TLS principal mapping ([`SecurityConfig`]).
    pub security: SecurityConfig,
    /// `log.dirs`: data directory.
    pub data_dir: PathBuf,
    /// Admin HTTP address for `/metrics`.
    pub admin_listener: Option<SocketAddr>,
    /// `num.partitions`: partitions of auto-created topics and of CreateTopics with -1.
    pub num_partitions: i32,
    /// `default.replication.factor`: replicas of auto-created topics and of CreateTopics with
    /// -1, capped at the number of live brokers.
    pub default_replication_factor: i16,
    /// `auto.create.topics.enable`: Metadata and Produce create unknown topics.
    pub auto_create_topics_enable: bool,
    /// `log.segment.bytes`: segment roll size.
    pub log_segment_bytes: u64,
    /// `log.roll.ms`: segment roll age.
    pub log_roll_ms: i64,
    /// `log.retention.ms`: age after which closed segments are deleted (-1 keeps forever).
    pub log_retention_ms: i64,
    /// `log.retention.bytes`: size above which old segments are deleted (-1 keeps all).
    pub log_retention_bytes: i64,
    /// `message.max.bytes`: largest accepted record batch.
    pub message_max_bytes: i32,
    /// `log.flush.interval.messages`: 1 makes every append durable before it is acknowledged.
    pub log_flush_interval_messages: i64,
    /// `socket.request.max.bytes`: largest accepted request frame.
    pub socket_request_max_bytes: usize,
    /// `group.min.session.timeout.ms`.
    pub group_min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`.
    pub group_max_session_timeout_ms: i32,
    /// `group.initial.rebalance.delay.ms`: how long a new group waits for more members.
    pub group_initial_rebalance_delay_ms: u64,
    /// `log.message.timestamp.type`: `CreateTime` or `LogAppendTime`.
    pub log_message_timestamp_type: String,
    /// `log.cleanup.policy`.
    pub log_cleanup_policy: String,
    /// `log.retention.check.interval.ms`: how often retention and time-based rolls run.
    pub log_retention_check_interval_ms: u64,
    /// `cluster.id` reported in metadata.
    pub cluster_id: String,
    /// `controller.quorum.voters`: `id@host:port` of each voter's admin listener, comma
    /// separated. Empty: this broker alone is the metadata quorum (a single-broker cluster).
    pub controller_quorum_voters: BTreeMap<i32, String>,
    /// `broker.rack`: placement hint for rack-aware replica assignment.
    pub broker_rack: Option<String>,
    /// `min.insync.replicas`: default for topics; acks=all needs this many in-sync replicas.
    pub min_insync_replicas: i32,
    /// `replica.lag.time.max.ms`: a follower not caught up for this long leaves the ISR.
    pub replica_lag_time_max_ms: u64,
    /// `replica.fetch.wait.max.ms`: how long a follower's fetch waits at the leader for data.
    pub replica_fetch_wait_max_ms: i32,
    /// `replica.fetch.max.bytes`: per-partition bytes a follower asks for at once.
    pub replica_fetch_max_bytes: i32,
    /// `broker.heartbeat.interval.ms`: how often the broker heartbeats to the controller.
    pub broker_heartbeat_interval_ms: u64,
    /// `broker.session.timeout.ms`: a broker silent this long is fenced and loses leaderships.
    pub broker_session_timeout_ms: u64,
    /// `controlled.shutdown.timeout.ms`: how long SIGTERM waits for leaderships to move away.
    pub controlled_shutdown_timeout_ms: u64,
    /// `offsets.topic.replication.factor`: replicas of `__consumer_offsets`.
    pub offsets_topic_replication_factor: i16,
    /// `offsets.topic.num.partitions`: partitions of `__consumer_offsets` when it is created
    /// (each has its own group coordinator); an existing topic keeps its count.
    pub offsets_topic_num_partitions: i32,
    /// `follower.replication.throttled.rate`: bytes/s a follower copies for partitions it is
    /// being added to by a reassignment (-1: unthrottled), so moves do not starve producers.
    pub follower_replication_throttled_rate: i64,
    /// `auto.leader.rebalance.enable`: the controller moves leadership back to preferred
    /// replicas (after failovers and restarts).
    pub auto_leader_rebalance_enable: bool,
    /// `leader.imbalance.check.interval.seconds`: how often it looks.
    pub leader_imbalance_check_interval_seconds: u64,
    /// `leader.imbalance.per.broker.percentage`: share of a broker's preferred leaderships held
    /// elsewhere that it tolerates before they are moved back.
    pub leader_imbalance_per_broker_percentage: u32,
    /// `delete.topic.enable`: whether DeleteTopics may delete (else TOPIC_DELETION_DISABLED).
    pub delete_topic_enable: bool,
    /// `log.cleaner.delete.retention.ms`: default `delete.retention.ms` of topics.
    pub log_cleaner_delete_retention_ms: i64,
    /// `log.cleaner.min.cleanable.ratio`: default `min.cleanable.dirty.ratio` of topics.
    pub log_cleaner_min_cleanable_ratio: f64,
    /// `log.cleaner.min.compaction.lag.ms`: default `min.compaction.lag.ms` of topics.
    pub log_cleaner_min_compaction_lag_ms: i64,
    /// `offsets.retention.minutes`: committed offsets of a group without members (or of a
    /// standalone consumer) are deleted this long after it emptied (or after the commit).
    pub offsets_retention_minutes: i64,
    /// `offsets.retention.check.interval.ms`: how often expired offsets are looked for.
    pub offsets_retention_check_interval_ms: u64,
    /// `replica.selector.class` is Kafka's `RackAwareReplicaSelector`: a consumer that names its
    /// rack (`client.rack`) is sent to an in-sync replica in that rack (KIP-392).
    pub replica_selector_rack_aware: bool,
    /// `compression.type`: default codec of topics' stored batches (`producer`: as sent).
    pub compression_type: String,
    /// `log.flush.interval.ms`: a log with unflushed appends older than this is fsynced by
    /// the maintenance pass (`None`: only the OS writes pages back, Kafka's default).
    pub log_flush_interval_ms: Option<i64>,
    /// Per-request limits: response bytes of a Fetch, partitions of one request.
    pub request_limits: RequestLimits,
    /// `sluice.admin.*`: the admin port's authentication.
    pub admin: AdminSettings,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            node_id: 0,
            listeners: vec![ListenerConfig::plaintext(
                SocketAddr::from(([127, 0, 0, 1], 9092)),
                "127.0.0.1",
            )],
            inter_broker_listener_name: "PLAINTEXT".into(),
            listener_props: ListenerProps::default(),
            ssl_props: BTreeMap::new(),
            limits: ConnectionLimits::default(),
            sasl: SaslSettings::default(),
            security: SecurityConfig::default(),
            data_dir: PathBuf::from("/var/lib/sluice-broker"),
            admin_listener: None,
            num_partitions: 1,
            default_replication_factor: 3,
            auto_create_topics_enable: true,
            log_segment_bytes: 1 << 30,
            log_roll_ms: 7 * 24 * 3600 * 1000,
            log_retention_ms: 7 * 24 * 3600 * 1000,
            log_retention_bytes: -1,
            message_max_bytes: 1_048_588,
            log_flush_interval_messages: i64::MAX,
            socket_request_max_bytes: 104_857_600,
            group_min_session_timeout_ms: 6_000,
            group_max_session_timeout_ms: 1_800_000,
            group_initial_rebalance_delay_ms: 3_000,
            log_message_timestamp_type: "CreateTime".into(),
            log_cleanup_policy: "delete".into(),
            log_retention_check_interval_ms: 300_000,
            cluster_id: "sluice-cluster".into(),
            controller_quorum_voters: BTreeMap::new(),
            broker_rack: None,
            min_insync_replicas: 1,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_max_bytes: 1_048_576,
            broker_heartbeat_interval_ms: 500,
            broker_session_timeout_ms: 3_000,
            controlled_shutdown_timeout_ms: 30_000,
            offsets_topic_replication_factor: 3,
            offsets_topic_num_partitions: 50,
            follower_replication_throttled_rate: -1,
            auto_leader_rebalance_enable: true,
            leader_imbalance_check_interval_seconds: 300,
            leader_imbalance_per_broker_percentage: 10,
            delete_topic_enable: true,
            log_cleaner_delete_retention_ms: 86_400_000,
            log_cleaner_min_cleanable_ratio: 0.5,
            log_cleaner_min_compaction_lag_ms: 0,
            log_flush_interval_ms: None,
            compression_type: "producer".into(),
            replica_selector_rack_aware: false,
            offsets_retention_minutes: 7 * 24 * 60,
            offsets_retention_check_interval_ms: 600_000,
            request_limits: RequestLimits::default(),
            admin: AdminSettings::default(),
        }
    }
}

/// Parses `controller.quorum.voters`: `1@host:port,2@host:port`.
pub fn parse_voters(v: &str) -> Result<BTreeMap<i32, String>, BrokerError> {
    let mut out = BTreeMap::new();
    for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            BrokerError::Config(format!(
                "controller.quorum.voters entry {part:?} is not id@host:port"
            ))
        };
        let (id, addr) = part.split_once('@').ok_or_else(bad)?;
        let id: i32 = id.trim().parse().map_err(|_| bad())?;
        let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad());
        }
        out.insert(id, addr.trim().to_string());
    }
    Ok(out)
}

fn num<T: std::str::FromStr>(k: &str, v: &str) -> Result<T, BrokerError> {
    v.parse()
        .map_err(|_| BrokerError::Config(format!("{k}={v:?} is not a valid number")))
}

fn at_least_one(k: &str, v: i32) -> Result<i32, BrokerError> {
    if v < 1 {
        return Err(BrokerError::Config(format!("{k}={v} must be at least 1")));
    }
    Ok(v)
}

/// The replica selector Kafka ships for follower fetching.
pub const RACK_AWARE_SELECTOR: &str = "org.apache.kafka.common.replica.RackAwareReplicaSelector";

fn non_negative(k: &str, v: i64) -> Result<i64, BrokerError> {
    if v < 0 {
        return Err(BrokerError::Config(format!("{k}={v} must not be negative")));
    }
    Ok(v)
}

impl BrokerConfig {
    /// Applies Kafka-named properties over the current values; unknown names are ignored,
    /// as Kafka only warns about them.
    pub fn apply_properties(
        &mut self,
        props: &BTreeMap<String, String>,
    ) -> Result<(), BrokerError> {
        for (k, v) in props {
            match k.as_str() {
                "node.id" | "broker.id" => self.node_id = num(k, v)?,
                "listeners" => self.listener_props.listeners = v.clone(),
                "advertised.listeners" => self.listener_props.advertised = Some(v.clone()),
                "listener.security.protocol.map" => self.listener_props.protocol_map = v.clone(),
                "inter.broker.listener.name" => {
                    self.listener_props.inter_broker_listener_name = Some(v.clone())
                }
                "security.inter.broker.protocol" => {
                    self.listener_props.security_inter_broker_protocol = Some(v.clone())
                }
                k if self.security.apply(k, v)? => {}
                k if ssl::is_ssl_key(k) => {
                    if !ssl::is_known_ssl_key(k) {
                        tracing::warn!(property = %k, "ignoring unsupported TLS property");
                    }
                    self.ssl_props.insert(k.to_string(), v.clone());
                }
                "log.dirs" | "log.dir" => {
                    self.data_dir = PathBuf::from(v.split(',').next().unwrap_or(v))
                }
                "num.partitions" => self.num_partitions = num(k, v)?,
                "default.replication.factor" => self.default_replication_factor = num(k, v)?,
                "auto.create.topics.enable" => self.auto_create_topics_enable = v == "true",
                "log.segment.bytes" => self.log_segment_bytes = num(k, v)?,
                "log.roll.ms" => self.log_roll_ms = num(k, v)?,
                "log.roll.hours" => self.log_roll_ms = num::<i64>(k, v)? * 3_600_000,
                "log.retention.ms" => self.log_retention_ms = num(k, v)?,
                "log.retention.minutes" => self.log_retention_ms = num::<i64>(k, v)? * 60_000,
                "log.retention.hours" => self.log_retention_ms = num::<i64>(k, v)? * 3_600_000,
                "log.retention.bytes" => self.log_retention_bytes = num(k, v)?,
                "message.max.bytes" => self.message_max_bytes = num(k, v)?,
                "log.flush.interval.messages" => self.log_flush_interval_messages = num(k, v)?,
                "socket.request.max.bytes" => self.socket_request_max_bytes = num(k, v)?,
                "group.min.session.timeout.ms" => self.group_min_session_timeout_ms = num(k, v)?,
                "group.max.session.timeout.ms" => self.group_max_session_timeout_ms = num(k, v)?,
                "log.message.timestamp.type" => self.log_message_timestamp_type = v.clone(),
                "group.initial.rebalance.delay.ms" => {
                    self.group_initial_rebalance_delay_ms = num(k, v)?
                }
                "log.cleanup.policy" => self.log_cleanup_policy = v.clone(),
                "cluster.id" => self.cluster_id = v.clone(),
                "log.retention.check.interval.ms" => {
                    self.log_retention_check_interval_ms = num(k, v)?
                }
                "controller.quorum.voters" => self.controller_quorum_voters = parse_voters(v)?,
                "broker.rack" => self.broker_rack = Some(v.clone()).filter(|r| !r.is_empty()),
                "min.insync.replicas" => self.min_insync_replicas = num(k, v)?,
                "replica.lag.time.max.ms" => self.replica_lag_time_max_ms = num(k, v)?,
                "replica.fetch.wait.max.ms" => self.replica_fetch_wait_max_ms = num(k, v)?,
                "replica.fetch.max.bytes" => self.replica_fetch_max_bytes = num(k, v)?,
                "broker.heartbeat.interval.ms" => self.broker_heartbeat_interval_ms = num(k, v)?,
                "broker.session.timeout.ms" => self.broker_session_timeout_ms = num(k, v)?,
                "controlled.shutdown.timeout.ms" => {
                    self.controlled_shutdown_timeout_ms = num(k, v)?
                }
                "offsets.topic.replication.factor" => {
                    self.offsets_topic_replication_factor = num(k, v)?
                }
                "offsets.topic.num.partitions" => {
                    self.offsets_topic_num_partitions = at_least_one(k, num(k, v)?)?
                }
                "follower.replication.throttled.rate" => {
                    self.follower_replication_throttled_rate = num(k, v)?
                }
                "auto.leader.rebalance.enable" => self.auto_leader_rebalance_enable = v == "true",
                "leader.imbalance.check.interval.seconds" => {
                    self.leader_imbalance_check_interval_seconds = num(k, v)?
                }
                "leader.imbalance.per.broker.percentage" => {
                    self.leader_imbalance_per_broker_percentage = num(k, v)?
                }
                "delete.topic.enable" => self.delete_topic_enable = v == "true",
                "replica.selector.class" => {
                    self.replica_selector_rack_aware = match v.as_str() {
                        "" => false,
                        RACK_AWARE_SELECTOR => true,
                        other => {
                            return Err(BrokerError::Config(format!(
                                "{k}={other:?}: only {RACK_AWARE_SELECTOR} is supported"
                            )))
                        }
                    }
                }
                "offsets.retention.minutes" => {
                    self.offsets_retention_minutes = i64::from(at_least_one(k, num(k, v)?)?)
                }
                "offsets.retention.check.interval.ms" => {
                    self.offsets_retention_check_interval_ms = num(k, v)?
                }
                "compression.type" => {
                    if !is_compression_type(v) {
                        return Err(BrokerError::Config(format!(
                            "{k}={v:?} is not one of producer, uncompressed, gzip, snappy, lz4, zstd"
                        )));
                    }
                    self.compression_type = v.clone();
                }
                "log.cleaner.delete.retention.ms" => {
                    self.log_cleaner_delete_retention_ms = non_negative(k, num(k, v)?)?
                }
                "log.cleaner.min.cleanable.ratio" => {
                    let ratio: f64 = num(k, v)?;
                    if !(0.0..=1.0).contains(&ratio) {
                        return Err(BrokerError::Config(format!(
                            "{k}={v} must be within [0, 1]"
                        )));
                    }
                    self.log_cleaner_min_cleanable_ratio = ratio;
                }
                "log.cleaner.min.compaction.lag.ms" => {
                    self.log_cleaner_min_compaction_lag_ms = non_negative(k, num(k, v)?)?
                }
                "log.flush.interval.ms" => {
                    // Kafka's "never" is Long.MAX_VALUE.
                    let ms: i64 = non_negative(k, num(k, v)?)?;
                    self.log_flush_interval_ms = (ms < i64::MAX).then_some(ms);
                }
                k if self.limits.apply(k, v)? => {}
                k if self.request_limits.apply(k, v)? => {}
                k if self.sasl.apply(k, v)? => {}
                k if k.starts_with("sluice.admin.") => self.admin.apply_property(k, v)?,
                _ => tracing::warn!(property = %k, "ignoring unknown broker property"),
            }
        }
        self.resolve_listeners()
    }

    /// Resolves [`listener_props`](Self::listener_props) into `listeners` and the
    /// inter-broker listener, and checks every TLS listener's `ssl.*` settings.
    pub fn resolve_listeners(&mut self) -> Result<(), BrokerError> {
        let (listeners, inter) = listeners::resolve(&self.listener_props)?;
        for l in listeners.iter().filter(|l| l.protocol.uses_tls()) {
            ssl_settings(&self.ssl_props, &l.name)?;
        }
        self.listeners = listeners;
        self.inter_broker_listener_name = inter;
        if self.inter_broker_listener().protocol.uses_sasl() {
            if self.sasl.inter_broker_mechanism.scram().is_none() {
                return Err(BrokerError::Config(
                    "sasl.mechanism.inter.broker.protocol must be SCRAM-SHA-256 or SCRAM-SHA-512"
                        .into(),
                ));
            }
            self.sasl.inter_broker_credentials()?;
        }
        Ok(())
    }

    /// The inter-broker listener.
    pub fn inter_broker_listener(&self) -> &ListenerConfig {
        self.listeners
            .iter()
            .find(|l| l.name == self.inter_broker_listener_name)
            .unwrap_or(&self.listeners[0])
    }

    /// Builds the configuration: defaults, then the properties file, then flags/environment.
    pub fn from_cli(cli: &Cli) -> Result<Self, BrokerError> {
        let mut cfg = BrokerConfig::default();
        let mut props = match &cli.config {
            Some(path) => load_properties(path)?,
            None => BTreeMap::new(),
        };
        // Flags and environment win over the file; listeners resolve once, with both.
        if let Some(l) = &cli.listeners {
            props.insert("listeners".into(), l.clone());
        }
        if let Some(a) = &cli.advertised_listeners {
            props.insert("advertised.listeners".into(), a.clone());
        }
        cfg.apply_properties(&props)?;
        if let Some(id) = cli.node_id {
            cfg.node_id = id;
        }
        if let Some(d) = &cli.data_dir {
            cfg.data_dir = d.clone();
        }
        if let Some(a) = cli.admin_listener {
            cfg.admin_listener = Some(a);
        }
        if let Some(v) = &cli.controller_quorum_voters {
            cfg.controller_quorum_voters = parse_voters(v)?;
        }
        if let Some(r) = &cli.broker_rack {
            cfg.broker_rack = Some(r.clone()).filter(|r| !r.is_empty());
        }
        if let Some(f) = &cli.admin_secret_file {
            cfg.admin.secret_file = Some(f.clone());
        }
        Ok(cfg)
    }

    /// The admin secret to sign and check with ([`AdminSettings::secret`]); `serves_admin`: an
    /// admin listener is bound.
    pub fn admin_secret(
        &self,
        serves_admin: bool,
    ) -> Result<Option<sluice_meta::AdminSecret>, BrokerError> {
        let peers = self
            .controller_quorum_voters
            .keys()
            .any(|id| *id != self.node_id);
        self.admin.secret(serves_admin, peers)
    }

    /// Whether appends must be fsynced before being acknowledged.
    pub fn durable(&self) -> bool {
        self.log_flush_interval_messages <= 1
    }
}

/// A `compression.type` value Kafka accepts.
pub fn is_compression_type(value: &str) -> bool {
    matches!(
        value,
        "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd"
    )
}

#[cfg(test)]
mod tests;
