//! Network I/O: accepts connections, splits frames, dispatches requests in order per connection
//! and writes responses; also the admin HTTP listener and the group timer.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::api::{api_versions, dispatch, DispatchError};
use crate::broker::Broker;
use crate::codec::{decode_header, encode_response, Decoded};
use crate::config::BrokerConfig;
use crate::error::BrokerError;
use crate::frame::parse_frame;
use crate::metrics::Metrics;
use sluice_meta::{AdminAuth, BrokerRegistration, MetaConfig, MetaNode};

tokio::task_local! {
    /// Address of the client whose request is being handled (DescribeGroups reports it).
    pub static PEER: std::net::SocketAddr;
}

/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Responses are written once this much is buffered even if more pipelined requests wait.
const WRITE_THRESHOLD: usize = 1 << 20;
/// How often group sessions and rebalance deadlines are checked.
const GROUP_TICK: Duration = Duration::from_millis(200);

/// Serves Kafka clients on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish, flushes the logs and returns.
///
/// Must run on Tokio's multi-threaded runtime: log I/O happens in `block_in_place`.
pub async fn run(
    listener: TcpListener,
    config: BrokerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
    // A configuration error is reported before any port is bound.
    config.admin_secret(config.admin_listener.is_some())?;
    let admin = match config.admin_listener {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    run_with_admin(listener, admin, config, shutdown).await
}

/// Like [`run`], with an already bound admin listener (tests bind port 0).
pub async fn run_with_admin(
    listener: TcpListener,
    admin: Option<TcpListener>,
    config: BrokerConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BrokerError> {
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
    tracing::info!(addr = %listener.local_addr()?, node_id = broker.config.node_id, "broker listening");
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut background = JoinSet::new();
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

    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let broker = broker.clone();
                    let stop = stop_rx.clone();
                    connections.spawn(async move {
                        broker.metrics.connection_opened();
                        if let Err(reason) = PEER.scope(peer, serve_connection(&broker, stream, stop)).await {
                            tracing::warn!(%peer, %reason, "closing connection");
                        }
                        broker.metrics.connection_closed();
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
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
    drop(listener);
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

/// Requests that may wait; responses queued before them are written first.
fn may_block(frame: &[u8]) -> bool {
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    [ApiKey::Fetch, ApiKey::JoinGroup, ApiKey::SyncGroup]
        .iter()
        .any(|k| *k as i16 == key)
}

async fn serve_connection(
    broker: &Arc<Broker>,
    mut stream: TcpStream,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let max = broker.config.socket_request_max_bytes;
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut out = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            let frame = match parse_frame(&mut buf, max) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            };
            if !out.is_empty() && (may_block(&frame) || out.len() >= WRITE_THRESHOLD) {
                stream.write_all(&out).await.map_err(|e| e.to_string())?;
                out.clear();
            }
            match decode_header(frame).map_err(|e| e.to_string())? {
                Decoded::ApiVersionsTooNew(header) => {
                    encode_response(
                        ApiKey::ApiVersions,
                        0,
                        header.correlation_id,
                        &api_versions::unsupported_version(),
                        &mut out,
                    )
                    .map_err(|e| e.to_string())?;
                }
                Decoded::Request(raw) => {
                    let started = Instant::now();
                    let key = raw.api_key;
                    match dispatch(broker, raw, &mut out).await {
                        Ok(_) => {}
                        Err(DispatchError::Decode(e)) => return Err(e.to_string()),
                        Err(DispatchError::Broker(e)) => {
                            tracing::error!(error = %e, "failed to encode response");
                            return Err(e.to_string());
                        }
                    }
                    tracing::trace!(api = ?key, took = ?started.elapsed(), peer = ?PEER.try_with(|p| *p).ok(), "handled");
                }
            }
        }
        if !out.is_empty() {
            stream.write_all(&out).await.map_err(|e| e.to_string())?;
            out.clear();
        }
        if *stop.borrow() {
            return Ok(());
        }
        tokio::select! {
            read = stream.read_buf(&mut buf) => match read {
                Ok(0) if buf.is_empty() => return Ok(()),
                Ok(0) => return Err(format!("connection closed inside a frame ({} bytes pending)", buf.len())),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            },
            _ = stop.changed() => return Ok(()),
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
fn meta_config(
    config: &BrokerConfig,
    admin_port: Option<u16>,
    admin_auth: Option<AdminAuth>,
) -> MetaConfig {
    let host = config.advertised.0.clone();
    MetaConfig {
        broker: BrokerRegistration {
            id: config.node_id,
            host: host.clone(),
            port: i32::from(config.advertised.1),
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
