//! Network I/O: binds the listeners, accepts connections (within the connection limits) and
//! hands each to [`connection`] (TLS, session, request loop); also the admin HTTP listener,
//! TLS certificate reloading and the group timer.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::config::{BrokerConfig, ListenerConfig};
use crate::connection::{self, ConnectionCounts};
use crate::error::BrokerError;
use crate::metrics::Metrics;
use crate::tls::ListenerTls;
use sluice_meta::{AdminAuth, BrokerEndpoint, BrokerRegistration, MetaConfig, MetaNode};

/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How often group sessions and rebalance deadlines are checked.
const GROUP_TICK: Duration = Duration::from_millis(200);

/// Serves Kafka clients on every configured listener until `shutdown` completes, then stops
/// accepting, lets in-flight requests finish, flushes the logs and returns. TLS material is
/// loaded (and refused with a clear error) before any port is bound.
///
/// Must run on Tokio's multi-threaded runtime: log I/O happens in `block_in_place`.
pub async fn run(
    config: BrokerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
    // A configuration error is reported before any port is bound.
    config.admin_secret(config.admin_listener.is_some())?;
    load_tls(&config)?;
    let mut listeners = Vec::new();
    for l in &config.listeners {
        let bound = TcpListener::bind(l.bind).await.map_err(|e| {
            BrokerError::Config(format!("binding listener {} on {}: {e}", l.name, l.bind))
        })?;
        listeners.push(bound);
    }
    let admin = match config.admin_listener {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    run_with_admin(listeners, admin, config, shutdown).await
}

/// Each TLS listener's material, by listener name.
fn load_tls(config: &BrokerConfig) -> Result<BTreeMap<String, Arc<ListenerTls>>, BrokerError> {
    let mut out = BTreeMap::new();
    for l in config.listeners.iter().filter(|l| l.protocol.uses_tls()) {
        let settings = crate::config::ssl_settings(&config.ssl_props, &l.name)?;
        out.insert(l.name.clone(), ListenerTls::load(settings)?);
    }
    Ok(out)
}

/// Like [`run`], with already bound sockets: `listeners` in the order of
/// `config.listeners` (tests bind port 0).
pub async fn run_with_admin(
    listeners: Vec<TcpListener>,
    admin: Option<TcpListener>,
    config: BrokerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
    if listeners.len() != config.listeners.len() {
        return Err(BrokerError::Config(format!(
            "{} sockets bound for {} listeners",
            listeners.len(),
            config.listeners.len()
        )));
    }
    let tls = load_tls(&config)?;
    let scram_users = config.sasl.read_users()?;
    let metrics = Metrics::new();
    let admin_auth = config.admin_secret(admin.is_some())?.map(|secret| {
        let metrics = metrics.clone();
        AdminAuth::new(secret).on_refused(move || metrics.admin_request_refused())
    });
    let admin_port = match &admin {
        Some(a) => Some(a.local_addr()?.port()),
        None => None,
    };
    let meta = MetaNode::start(meta_config(&config, admin_port, admin_auth.clone())).await?;
    let broker = Broker::new(config, metrics, meta.clone());
    if let Some(t) = tls.get(&broker.config.inter_broker_listener_name) {
        if t.client().is_none() {
            tracing::warn!(listener = %broker.config.inter_broker_listener_name, "the inter-broker listener is SSL without ssl.truststore: followers cannot verify leaders, so replication to other brokers will fail");
        }
        broker.fetchers.use_tls(t.clone());
    }
    if broker.config.inter_broker_listener().protocol.uses_sasl() {
        let (user, password) = broker.config.sasl.inter_broker_credentials()?;
        let mechanism = broker
            .config
            .sasl
            .inter_broker_mechanism
            .scram()
            .ok_or_else(|| {
                BrokerError::Config("the inter-broker SASL mechanism must be SCRAM".into())
            })?;
        broker
            .fetchers
            .use_sasl(sluice_kafka_client::SaslCredentials {
                mechanism,
                user,
                password,
            });
    }
    for (l, bound) in broker.config.listeners.iter().zip(&listeners) {
        tracing::info!(listener = %l.name, protocol = %l.protocol, addr = %bound.local_addr()?, node_id = broker.config.node_id, "broker listening");
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut background = JoinSet::new();
    for t in tls.values() {
        background.spawn(t.clone().watch(broker.metrics.clone(), stop_rx.clone()));
    }
    if let Some(admin) = admin {
        background.spawn(serve_admin(
            admin,
            broker.clone(),
            meta.router(),
            admin_auth.filter(|_| !broker.config.admin.metrics_open),
            stop_rx.clone(),
        ));
    }
    background.spawn(crate::replica::manager::run(
        broker.clone(),
        stop_rx.clone(),
    ));
    background.spawn(crate::replica::manager::isr_upkeep(
        broker.clone(),
        stop_rx.clone(),
    ));
    background.spawn(crate::replica::manager::leader_rebalance(
        broker.clone(),
        stop_rx.clone(),
    ));
    background.spawn(group_timer(broker.clone(), stop_rx.clone()));
    background.spawn(crate::scram_users::ensure(
        broker.clone(),
        scram_users,
        stop_rx.clone(),
    ));
    background.spawn(every(
        Duration::from_millis(broker.config.log_retention_check_interval_ms),
        broker.clone(),
        Broker::maintain_logs,
        stop_rx.clone(),
    ));
    // `log.flush.interval.ms`: no append stays only in the page cache much longer than this
    // (durability against power loss on top of replication; off by default, as in Kafka).
    if let Some(ms) = broker.config.log_flush_interval_ms {
        background.spawn(every(
            Duration::from_millis(ms as u64),
            broker.clone(),
            Broker::flush_unflushed,
            stop_rx.clone(),
        ));
    }

    tokio::pin!(shutdown);
    // Like a KRaft broker, serve clients only once registered and unfenced with the
    // controller, and with the replicas the metadata assigns here open: until then this broker
    // could only answer with a partial view of the cluster.
    let registered = async {
        loop {
            match meta.wait_registered(Duration::from_secs(5)).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::info!(reason = %e, "waiting for the metadata quorum to register this broker")
                }
            }
        }
    };
    tokio::select! {
        _ = registered => {}
        _ = &mut shutdown => {
            tracing::info!("shutdown before registration completed");
            let _ = stop_tx.send(true);
            background.abort_all();
            meta.shutdown().await;
            return Ok(());
        }
    }
    tokio::task::block_in_place(|| crate::replica::manager::apply_current(&broker));
    tracing::info!("registered with the controller; serving clients");

    let (accepted_tx, mut accepted) = mpsc::channel(64);
    let mut acceptors = JoinSet::new();
    for (l, bound) in broker.config.listeners.iter().zip(listeners) {
        acceptors.spawn(accept(bound, Arc::new(l.clone()), accepted_tx.clone()));
    }
    drop(accepted_tx);
    let counts = Arc::new(ConnectionCounts::default());
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            Some((stream, peer, listener)) = accepted.recv() => {
                let listener: Arc<ListenerConfig> = listener;
                let permit = match counts.admit(peer.ip(), &broker.config.limits) {
                    Ok(p) => p,
                    Err(limit) => {
                        broker.metrics.connection_refused(limit);
                        tracing::info!(%peer, listener = %listener.name, limit, "connection refused");
                        drop(stream);
                        continue;
                    }
                };
                let tls = tls.get(&listener.name).cloned();
                let (broker, stop) = (broker.clone(), stop_rx.clone());
                connections.spawn(async move {
                    broker.metrics.connection_opened();
                    connection::serve(broker.clone(), listener, tls, stream, peer, stop).await;
                    broker.metrics.connection_closed();
                    drop(permit);
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // Controlled shutdown: hand leaderships over while still serving, so clients and
    // followers move to the new leaders without errors.
    let handover = Duration::from_millis(broker.config.controlled_shutdown_timeout_ms);
    if let Err(e) = meta.controlled_shutdown(handover).await {
        tracing::warn!(error = %e, "controlled shutdown incomplete; stopping anyway");
    }
    // Leave the quorum before the admin listener (and with it the Raft RPCs) goes away: a
    // voter cut off from its leader would otherwise campaign with a stale log while draining.
    broker.fetchers.shutdown();
    meta.shutdown().await;
    tracing::info!("shutting down: draining connections");
    acceptors.abort_all();
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("in-flight requests did not finish in time; aborting them");
        connections.abort_all();
    }
    background.abort_all();
    tokio::task::block_in_place(|| broker.flush_all());
    tracing::info!("broker stopped");
    Ok(())
}

/// Accepts connections on one listener and hands them over with the listener they came in on.
async fn accept(
    listener: TcpListener,
    config: Arc<ListenerConfig>,
    to: mpsc::Sender<(TcpStream, SocketAddr, Arc<ListenerConfig>)>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if to.send((stream, peer, config.clone())).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(listener = %config.name, error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn group_timer(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(GROUP_TICK);
    let retention_check =
        Duration::from_millis(broker.config.offsets_retention_check_interval_ms.max(10));
    let mut retention = tokio::time::interval(retention_check);
    loop {
        tokio::select! {
            _ = tick.tick() => broker.groups.tick(Instant::now()),
            _ = retention.tick() => {
                let expired = broker.groups.expire_offsets(crate::clock::now_ms());
                if expired > 0 {
                    tracing::info!(expired, "deleted expired committed offsets");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Runs `work` on a blocking thread every `period` (the first time one period after start)
/// until `stop`; a slow run delays the next rather than piling runs up. Log housekeeping and
/// `log.flush.interval.ms` flushes do file I/O, so they stay off the async workers.
async fn every(
    period: Duration,
    broker: Arc<Broker>,
    work: fn(&Broker),
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(period.max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let broker = broker.clone();
                let _ = tokio::task::spawn_blocking(move || work(&broker)).await;
            }
            _ = stop.changed() => return,
        }
    }
}

/// The metadata node's configuration from the broker's.
///
/// The registration carries every listener's advertised endpoint; `host`/`port` are the
/// inter-broker listener's (what brokers that predate named listeners read).
fn meta_config(
    config: &BrokerConfig,
    admin_port: Option<u16>,
    admin_auth: Option<AdminAuth>,
) -> MetaConfig {
    let inter = config.inter_broker_listener();
    let host = inter.advertised_host.clone();
    MetaConfig {
        broker: BrokerRegistration {
            id: config.node_id,
            host: host.clone(),
            port: i32::from(inter.advertised_port),
            listeners: config
                .listeners
                .iter()
                .map(|l| BrokerEndpoint {
                    name: l.name.clone(),
                    host: l.advertised_host.clone(),
                    port: i32::from(l.advertised_port),
                    security_protocol: l.protocol.as_str().to_string(),
                })
                .collect(),
            rack: config.broker_rack.clone(),
            rpc_addr: format!("{host}:{}", admin_port.unwrap_or(0)),
            incarnation: uuid::Uuid::new_v4(),
            fenced: true,
            shutting_down: false,
        },
        voters: config.controller_quorum_voters.clone(),
        dir: config.data_dir.join("__sluice").join("meta"),
        heartbeat_interval: Duration::from_millis(config.broker_heartbeat_interval_ms.max(10)),
        session_timeout: Duration::from_millis(config.broker_session_timeout_ms.max(100)),
        admin_auth,
    }
}

/// The admin listener: the metadata routes (signed when the cluster has a secret), and
/// `/cluster` and `/metrics`, read-only, signed only when `closed_reads` says so
/// (`sluice.admin.metrics.open=false`).
async fn serve_admin(
    listener: TcpListener,
    broker: Arc<Broker>,
    meta_routes: axum::Router,
    closed_reads: Option<AdminAuth>,
    mut stop: watch::Receiver<bool>,
) {
    let cluster = broker.clone();
    let reads = axum::Router::new()
        .route(
            "/cluster",
            axum::routing::get(move || {
                let broker = cluster.clone();
                async move { axum::Json(crate::replica::manager::cluster_status(&broker)) }
            }),
        )
        .route(
            "/metrics",
            axum::routing::get(move || {
                let broker = broker.clone();
                async move {
                    let sizes = tokio::task::block_in_place(|| broker.log_sizes());
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        broker.metrics.render(sizes),
                    )
                }
            }),
        );
    let reads = match &closed_reads {
        Some(auth) => auth.protect(reads),
        None => reads,
    };
    let app = reads
        .merge(meta_routes)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = stop.changed().await;
        })
        .await;
    if let Err(e) = served {
        tracing::error!(error = %e, "admin listener failed");
    }
}
