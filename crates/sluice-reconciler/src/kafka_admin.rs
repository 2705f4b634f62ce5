//! The reconciler's Kafka admin client: what a runtime asks a replicated cluster through the
//! Kafka protocol (kafka-protocol codecs, one fresh connection per exchange, like
//! [`crate::probe`]).
//!
//! - [`describe_any`]: Metadata for all topics (replicas, ISR, leader, controller) plus
//!   ListPartitionReassignments, from the first broker that answers → [`ClusterView`], whose
//!   [`ClusterView::safe`] is the rolling-restart gate;
//! - [`drain`]: moves every replica off a leaving broker (AlterPartitionReassignments) and waits
//!   until it holds nothing; [`rebalance`]: spreads replicas so per-broker counts differ by at
//!   most one, then runs a preferred-leader election (ElectLeaders).
//!
//! The placement rules are pure ([`plan_drain`], [`plan_rebalance`]) and unit-tested. They
//! weigh partitions, not bytes: Metadata carries no sizes (nor does the broker's `/cluster`).

use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
    ElectLeadersRequest, ElectLeadersResponse, ListPartitionReassignmentsRequest,
    ListPartitionReassignmentsResponse, TopicName, UnregisterBrokerRequest,
    UnregisterBrokerResponse,
};
use kafka_protocol::protocol::StrBytes;

use crate::probe::{connect, metadata};

mod placement;
#[cfg(test)]
mod tests;

use placement::same_set;
pub use placement::{plan_drain, plan_rebalance, ClusterView, Move, PartitionInfo};

async fn within<T>(
    timeout: Duration,
    addr: SocketAddr,
    f: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(timeout, f)
        .await
        .map_err(|_| format!("{addr}: no answer within {timeout:?}"))?
        .map_err(|e| format!("{addr}: {e}"))
}

/// Metadata (all topics) and the reassignments in progress, from the broker at `addr`.
pub async fn describe(addr: SocketAddr, timeout: Duration) -> Result<ClusterView, String> {
    within(timeout, addr, async {
        let mut conn = connect(addr).await?;
        let meta = metadata(&mut conn).await?;
        let list: ListPartitionReassignmentsResponse = conn
            .call(
                0,
                &ListPartitionReassignmentsRequest::default()
                    .with_timeout_ms(timeout.as_millis() as i32),
            )
            .await
            .map_err(|e| e.to_string())?;
        if list.error_code != 0 {
            return Err(format!(
                "ListPartitionReassignments error code {}",
                list.error_code
            ));
        }
        let mut partitions = Vec::new();
        for t in &meta.topics {
            let Some(name) = &t.name else { continue };
            if t.error_code != 0 {
                continue;
            }
            for p in &t.partitions {
                partitions.push(PartitionInfo {
                    topic: name.0.to_string(),
                    index: p.partition_index,
                    leader: p.leader_id.0,
                    replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                });
            }
        }
        partitions.sort_by(|a, b| (&a.topic, a.index).cmp(&(&b.topic, b.index)));
        let mut brokers: Vec<i32> = meta.brokers.iter().map(|b| b.node_id.0).collect();
        brokers.sort_unstable();
        Ok(ClusterView {
            brokers,
            controller: u32::try_from(meta.controller_id.0).ok().filter(|c| *c > 0),
            partitions,
            reassigning: list.topics.iter().map(|t| t.partitions.len()).sum(),
        })
    })
    .await
}

/// [`describe`] from the first of `addrs` that answers; the address that answered with it.
pub async fn describe_any(
    addrs: &[SocketAddr],
    timeout: Duration,
) -> Result<(SocketAddr, ClusterView), String> {
    let mut errors = Vec::new();
    for a in addrs {
        match describe(*a, timeout).await {
            Ok(v) => return Ok((*a, v)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        return Err("no broker to ask".into());
    }
    Err(errors.join("; "))
}

/// Starts the reassignments of `moves` through the broker at `addr`.
pub async fn reassign(addr: SocketAddr, moves: &[Move], timeout: Duration) -> Result<(), String> {
    if moves.is_empty() {
        return Ok(());
    }
    let mut topics: Vec<ReassignableTopic> = Vec::new();
    for (topic, index, target) in moves {
        let mut p = ReassignablePartition::default();
        p.partition_index = *index;
        p.replicas = Some(target.iter().copied().map(BrokerId).collect());
        match topics.iter_mut().find(|t| t.name.0.as_str() == topic) {
            Some(t) => t.partitions.push(p),
            None => {
                let mut t = ReassignableTopic::default();
                t.name = TopicName(StrBytes::from_string(topic.clone()));
                t.partitions.push(p);
                topics.push(t);
            }
        }
    }
    within(timeout, addr, async {
        let mut conn = connect(addr).await?;
        let mut req = AlterPartitionReassignmentsRequest::default();
        req.timeout_ms = timeout.as_millis() as i32;
        req.topics = topics;
        // v0: a drain may shrink a partition's replication factor to the brokers left.
        let resp: AlterPartitionReassignmentsResponse =
            conn.call(0, &req).await.map_err(|e| e.to_string())?;
        if resp.error_code != 0 {
            return Err(format!(
                "AlterPartitionReassignments error code {}: {}",
                resp.error_code,
                resp.error_message.as_deref().unwrap_or("")
            ));
        }
        let failed: Vec<String> = resp
            .responses
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .filter(|p| p.error_code != 0)
                    .map(move |p| {
                        format!(
                            "{}-{}: error code {} {}",
                            t.name.0,
                            p.partition_index,
                            p.error_code,
                            p.error_message.as_deref().unwrap_or("")
                        )
                    })
            })
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "AlterPartitionReassignments refused {}",
                failed.join(", ")
            ))
        }
    })
    .await
}

/// Preferred-leader election of every partition (a partition already led by its preferred
/// replica answers ELECTION_NOT_NEEDED, which is fine).
pub async fn elect_preferred(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    within(timeout, addr, async {
        let mut conn = connect(addr).await?;
        let mut req = ElectLeadersRequest::default();
        req.election_type = 0;
        req.topic_partitions = None;
        req.timeout_ms = timeout.as_millis() as i32;
        let resp: ElectLeadersResponse = conn.call(1, &req).await.map_err(|e| e.to_string())?;
        if resp.error_code != 0 {
            return Err(format!("ElectLeaders error code {}", resp.error_code));
        }
        Ok(())
    })
    .await
}

/// UnregisterBroker: removes a decommissioned (stopped, drained) broker from the cluster's
/// metadata, through the first broker that answers. Already unregistered counts as done.
pub async fn unregister(
    addrs: &[SocketAddr],
    broker: i32,
    timeout: Duration,
) -> Result<(), String> {
    /// Kafka's BROKER_ID_NOT_REGISTERED.
    const NOT_REGISTERED: i16 = 102;
    let mut last = "no broker to ask".to_string();
    for addr in addrs {
        let outcome = within(timeout, *addr, async {
            let mut conn = connect(*addr).await?;
            let mut req = UnregisterBrokerRequest::default();
            req.broker_id = BrokerId(broker);
            let resp: UnregisterBrokerResponse =
                conn.call(0, &req).await.map_err(|e| e.to_string())?;
            match resp.error_code {
                0 | NOT_REGISTERED => Ok(()),
                code => Err(format!(
                    "UnregisterBroker error code {code}: {}",
                    resp.error_message
                        .map(|m| m.to_string())
                        .unwrap_or_default()
                )),
            }
        })
        .await;
        match outcome {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// How often the waits below look again.
const POLL: Duration = Duration::from_millis(200);

/// Moves every replica off `leaving` to `keep` ([`plan_drain`]) and waits, up to `timeout`,
/// until no reassignment is in progress and Metadata shows `leaving` holding nothing. Safe to
/// run again after an interruption: it plans from what the brokers report, and a topic created
/// meanwhile with a replica on `leaving` is moved too.
pub async fn drain(
    addrs: &[SocketAddr],
    leaving: i32,
    keep: &[i32],
    timeout: Duration,
    rpc_timeout: Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last;
    loop {
        match describe_any(addrs, rpc_timeout).await {
            Ok((addr, view)) => {
                let held = view.replicas_on(leaving);
                if held == 0 && view.reassigning == 0 {
                    return Ok(());
                }
                last = format!(
                    "broker {leaving} still holds {held} replicas; {} reassignments in progress",
                    view.reassigning
                );
                if view.reassigning == 0 {
                    let moves = plan_drain(&view, leaving, keep);
                    tracing::info!(leaving, moves = moves.len(), "draining broker");
                    if let Err(e) = reassign(addr, &moves, rpc_timeout).await {
                        last = e;
                    }
                }
            }
            Err(e) => last = e,
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "draining broker {leaving} did not finish within {} s: {last}",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Spreads replicas over `brokers` ([`plan_rebalance`]), waits up to `timeout` until the
/// reassignments finish, then elects preferred leaders so leadership spreads too. Safe to run
/// again: a balanced cluster gets no moves, only the election.
pub async fn rebalance(
    addrs: &[SocketAddr],
    brokers: &[i32],
    timeout: Duration,
    rpc_timeout: Duration,
) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pending: Option<Vec<Move>> = None;
    let mut last;
    loop {
        match describe_any(addrs, rpc_timeout).await {
            Ok((addr, view)) => {
                last = format!("{} reassignments in progress", view.reassigning);
                if view.reassigning == 0 {
                    match &pending {
                        // Ours are done once Metadata shows every target (a broker's image may
                        // lag the commit for a moment).
                        Some(moves) => {
                            let done = moves.iter().all(|(t, i, target)| {
                                view.partitions.iter().any(|p| {
                                    &p.topic == t && p.index == *i && same_set(&p.replicas, target)
                                })
                            });
                            if done {
                                return elect_preferred(addr, rpc_timeout).await;
                            }
                            last = "waiting for Metadata to show the moved replicas".into();
                        }
                        None => {
                            let moves = plan_rebalance(&view, brokers);
                            if moves.is_empty() {
                                return elect_preferred(addr, rpc_timeout).await;
                            }
                            tracing::info!(moves = moves.len(), ?brokers, "rebalancing replicas");
                            match reassign(addr, &moves, rpc_timeout).await {
                                Ok(()) => pending = Some(moves),
                                Err(e) => last = e,
                            }
                        }
                    }
                }
            }
            Err(e) => last = e,
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "rebalancing over brokers {brokers:?} did not finish within {} s: {last}",
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}
