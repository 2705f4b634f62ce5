//! Applies the metadata image to this broker's replicas, and the leader-side ISR upkeep.
//!
//! Applying is idempotent and serialized (`Broker::apply_lock`): it runs on every image change
//! and after this broker's own proposals, so a topic created here is usable here at once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sluice_meta::image::{MetadataImage, Reply};
use sluice_meta::Command;
use tokio::sync::watch;

use crate::broker::Broker;
use crate::partition::{partition_dir, Partition, CONSUMER_OFFSETS};
use crate::replica::state::{ReplicaState, RoleChange};

/// How often leaders check their followers' lag and catch-up.
const ISR_TICK: Duration = Duration::from_millis(100);

/// File in a replica's directory naming the topic id it belongs to, so a topic deleted and
/// re-created under the same name while this broker was down never mixes old data in.
const TOPIC_ID_FILE: &str = "topic-id";

/// Applies the latest image.
pub fn apply_current(broker: &Broker) {
    let image = broker.image();
    broker.authz.update(&image);
    apply(broker, &image);
}

fn open_replica(
    broker: &Broker,
    name: &str,
    index: i32,
    id: uuid::Uuid,
    settings: &crate::topic_config::TopicSettings,
) -> Option<Arc<Partition>> {
    let dir = partition_dir(&broker.config.data_dir, name, index);
    let id_file = dir.join(TOPIC_ID_FILE);
    match std::fs::read_to_string(&id_file) {
        Ok(old) if old.trim() != id.to_string() => {
            tracing::info!(
                topic = name,
                partition = index,
                "removing replica of an older topic with this name"
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
        _ => {}
    }
    let opened = Partition::open(
        name,
        index,
        id,
        &dir,
        settings,
        ReplicaState::new(broker.config.node_id),
        broker.appended.clone(),
    )
    .and_then(|p| {
        write_atomic(&id_file, id.to_string().as_bytes())?;
        Ok(p)
    });
    match opened {
        Ok(p) => Some(Arc::new(p)),
        Err(e) => {
            tracing::error!(topic = name, partition = index, error = %e, "opening replica failed");
            None
        }
    }
}

fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::rename(tmp, path)
}

/// Makes the local replicas match `image`: opens newly assigned ones, applies role, epoch,
/// ISR and config changes, points followers at their leaders and deletes replicas no longer
/// assigned here.
pub fn apply(broker: &Broker, image: &MetadataImage) {
    let _guard = broker.apply_lock.lock().expect("poisoned");
    let me = broker.config.node_id;
    let now = Instant::now();
    let mut wanted = BTreeSet::new();
    // Waiters (acks=all produces, long-polling fetches) re-check on a notification: they must
    // learn at once that a leadership they wait on moved, not when their timeout fires.
    let mut wake = false;
    for (name, t) in &image.topics {
        let settings = broker.settings(&t.configs);
        for (i, pm) in t.partitions.iter().enumerate() {
            if !pm.replicas.contains(&me) {
                continue;
            }
            let index = i as i32;
            wanted.insert((name.clone(), index));
            let existing = broker.partition(name, index).ok();
            let (p, opened) = match existing {
                Some(p) if p.topic_id == t.id => (p, false),
                other => {
                    if let Some(old) = other {
                        drop_replica(broker, &old);
                    }
                    let Some(p) = open_replica(broker, name, index, t.id, &settings) else {
                        continue;
                    };
                    (p, true)
                }
            };
            let applied = match p.apply_metadata(pm, &settings, now) {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(topic = %name, partition = index, error = ?e, "replica offline; metadata not applied");
                    continue;
                }
            };
            if opened {
                // Registered only once it has its role: a request finding the replica never
                // sees it without one (NOT_LEADER_OR_FOLLOWER for a partition it leads).
                broker.insert_local(p.clone());
            }
            let change = applied.change;
            wake |= change != RoleChange::Unchanged || applied.high_watermark_moved;
            match change {
                RoleChange::BecameLeader | RoleChange::Unchanged if applied.leads => {
                    if change == RoleChange::BecameLeader {
                        broker.fetchers.remove(name, index);
                        tracing::info!(topic = %name, partition = index, epoch = pm.leader_epoch, "leading");
                    }
                }
                RoleChange::BecameFollower | RoleChange::Unchanged => {
                    // Also re-checked when unchanged: a leader not yet registered when the
                    // role changed is followed once it is.
                    if let Some(leader) = applied.following {
                        if change == RoleChange::BecameFollower
                            || !broker
                                .fetchers
                                .is_following(name, index, leader, pm.leader_epoch)
                        {
                            follow(
                                broker,
                                image,
                                &p,
                                leader,
                                pm.leader_epoch,
                                pm.adding.contains(&me),
                            );
                        }
                    }
                }
                RoleChange::WentOffline => broker.fetchers.remove(name, index),
                RoleChange::BecameLeader => {}
            }
        }
    }
    for p in broker.local_partitions() {
        if !wanted.contains(&(p.topic.clone(), p.index)) {
            drop_replica(broker, &p);
        }
    }
    let offsets = image.topics.get(CONSUMER_OFFSETS);
    let led: Vec<(i32, i32)> = offsets
        .into_iter()
        .flat_map(|t| t.partitions.iter().enumerate())
        .filter(|(_, p)| p.leader == me)
        .map(|(i, p)| (i as i32, p.leader_epoch))
        .collect();
    let partitions = offsets.map_or(0, |t| t.partitions.len() as i32);
    crate::groups::set_coordinator(&broker.groups, partitions, &led, |index| {
        broker.partition(CONSUMER_OFFSETS, index).ok()
    });
    if wake {
        broker.notify_appended();
    }
}

fn follow(
    broker: &Broker,
    image: &MetadataImage,
    p: &Arc<Partition>,
    leader: i32,
    epoch: i32,
    throttled: bool,
) {
    let Some(b) = image.brokers.get(&leader) else {
        tracing::warn!(topic = %p.topic, partition = p.index, leader, "leader is not registered");
        return;
    };
    let listener = &broker.config.inter_broker_listener_name;
    let Some((host, port)) = b.endpoint(listener) else {
        tracing::warn!(topic = %p.topic, partition = p.index, leader, %listener, "leader has no inter-broker listener");
        return;
    };
    tracing::info!(topic = %p.topic, partition = p.index, leader, epoch, "following");
    broker.fetchers.assign(
        leader,
        format!("{host}:{port}"),
        p.clone(),
        epoch,
        throttled,
        &broker.config,
    );
}

fn drop_replica(broker: &Broker, p: &Arc<Partition>) {
    broker.fetchers.remove(&p.topic, p.index);
    broker.remove_local(&p.topic, p.index);
    let dir = partition_dir(&broker.config.data_dir, &p.topic, p.index);
    // Requests still holding the replica keep their open files; the directory goes now.
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(dir = %dir.display(), error = %e, "removing replica directory");
    }
    tracing::info!(topic = %p.topic, partition = p.index, "replica removed from this broker");
}

/// Applies every new image until `stop`.
pub async fn run(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut images = broker.meta.image();
    loop {
        let image = images.borrow_and_update().clone();
        broker.authz.update(&image);
        let b = broker.clone();
        tokio::task::block_in_place(|| apply(&b, &image));
        tokio::select! {
            changed = images.changed() => if changed.is_err() { return },
            _ = stop.changed() => return,
        }
    }
}

/// Leader upkeep until `stop`: drops lagging followers from the ISR and adds caught-up ones.
pub async fn isr_upkeep(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let max_lag = Duration::from_millis(broker.config.replica_lag_time_max_ms.max(1));
    let mut tick = tokio::time::interval(ISR_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = Instant::now();
        for p in broker.local_partitions() {
            let Some(change) = p.isr_change(now, max_lag) else {
                continue;
            };
            if !change.lagging.is_empty() {
                tracing::info!(topic = %p.topic, partition = p.index, lagging = ?change.lagging, "shrinking ISR");
            }
            if !change.joining.is_empty() {
                tracing::info!(topic = %p.topic, partition = p.index, joining = ?change.joining, "expanding ISR");
            }
            let proposal = Command::AlterPartition {
                topic: p.topic.clone(),
                partition: p.index,
                leader: change.leader,
                leader_epoch: change.leader_epoch,
                partition_epoch: change.partition_epoch,
                isr: change.isr,
            };
            let broker = broker.clone();
            tokio::spawn(async move {
                let outcome = broker.propose(proposal).await;
                if !matches!(outcome, Ok(Reply::Partition(_))) {
                    tracing::debug!(topic = %p.topic, partition = p.index, ?outcome, "ISR change not applied");
                    p.isr_change_refused();
                }
            });
        }
    }
}

/// Partitions whose preferred replica (the first) could lead but does not (in the ISR,
/// eligible, no reassignment under way), counted only for preferred brokers whose imbalance
/// (their preferred partitions led elsewhere, over all their preferred partitions) exceeds
/// `max_percentage`, as Kafka's `leader.imbalance.per.broker.percentage`.
pub fn imbalanced(image: &MetadataImage, max_percentage: u32) -> Vec<(String, i32)> {
    let mut preferred_of: BTreeMap<i32, (usize, usize)> = BTreeMap::new();
    let mut electable: Vec<(i32, String, i32)> = Vec::new();
    for (name, t) in &image.topics {
        for (i, p) in t.partitions.iter().enumerate() {
            let Some(&preferred) = p.replicas.first() else {
                continue;
            };
            let counts = preferred_of.entry(preferred).or_default();
            counts.0 += 1;
            if p.leader != preferred {
                counts.1 += 1;
                if p.isr.contains(&preferred)
                    && image.eligible(preferred)
                    && p.adding.is_empty()
                    && p.removing.is_empty()
                {
                    electable.push((preferred, name.clone(), i as i32));
                }
            }
        }
    }
    electable
        .into_iter()
        .filter(|(b, _, _)| {
            let (total, elsewhere) = preferred_of[b];
            elsewhere * 100 > total * max_percentage as usize
        })
        .map(|(_, t, i)| (t, i))
        .collect()
}

/// Kafka's `auto.leader.rebalance.enable`: while this broker is the controller, periodically
/// elects preferred leaders where they are back in sync, so leadership spreads out again after
/// failovers and rolling restarts.
pub async fn leader_rebalance(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    if !broker.config.auto_leader_rebalance_enable {
        return;
    }
    let period = Duration::from_secs(broker.config.leader_imbalance_check_interval_seconds.max(1));
    let mut tick = tokio::time::interval(period);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if broker.meta.controller_id() != Some(broker.config.node_id) {
            continue;
        }
        let partitions = imbalanced(
            &broker.image(),
            broker.config.leader_imbalance_per_broker_percentage,
        );
        if partitions.is_empty() {
            continue;
        }
        tracing::info!(partitions = partitions.len(), "electing preferred leaders");
        let outcome = broker
            .propose(Command::ElectLeaders {
                preferred: true,
                partitions: Some(partitions),
            })
            .await;
        if let Err(e) = outcome {
            tracing::debug!(error = ?e, "preferred-leader election not applied");
        }
    }
}

/// What the admin port's `GET /cluster` reports: the controller, brokers and the partitions a
/// rolling restart must wait on (the reconciler's gate).
pub fn cluster_status(broker: &Broker) -> serde_json::Value {
    let image = broker.image();
    let under: Vec<_> = image
        .under_replicated()
        .into_iter()
        .map(|(t, p)| format!("{t}-{p}"))
        .collect();
    let offline = image
        .topics
        .values()
        .flat_map(|t| t.partitions.iter())
        .filter(|p| p.leader == sluice_meta::image::NO_LEADER)
        .count();
    let reassigning = image
        .topics
        .values()
        .flat_map(|t| t.partitions.iter())
        .filter(|p| !p.adding.is_empty() || !p.removing.is_empty())
        .count();
    let brokers: Vec<_> = image
        .brokers
        .values()
        .map(|b| {
            let replicas = image
                .topics
                .values()
                .flat_map(|t| t.partitions.iter())
                .filter(|p| p.replicas.contains(&b.id))
                .count();
            let leaders = image
                .topics
                .values()
                .flat_map(|t| t.partitions.iter())
                .filter(|p| p.leader == b.id)
                .count();
            serde_json::json!({
                "id": b.id,
                "host": b.host,
                "port": b.port,
                "rack": b.rack,
                "fenced": b.fenced,
                "shutting_down": b.shutting_down,
                "replicas": replicas,
                "leaders": leaders,
            })
        })
        .collect();
    serde_json::json!({
        "node_id": broker.config.node_id,
        "controller_id": broker.meta.controller_id(),
        "metadata_index": image.applied_index,
        "brokers": brokers,
        "under_replicated_partitions": under,
        "offline_partitions": offline,
        "reassigning_partitions": reassigning,
    })
}

#[cfg(test)]
mod tests {
    use sluice_meta::image::{BrokerRegistration, PartitionMeta, TopicMeta};

    use super::*;

    fn broker(id: i32, fenced: bool) -> BrokerRegistration {
        BrokerRegistration {
            id,
            host: "h".into(),
            port: 1,
            rack: None,
            listeners: Vec::new(),
            rpc_addr: "h:2".into(),
            incarnation: uuid::Uuid::nil(),
            fenced,
            shutting_down: false,
        }
    }

    fn partition(replicas: &[i32], isr: &[i32], leader: i32) -> PartitionMeta {
        PartitionMeta {
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            leader,
            ..PartitionMeta::default()
        }
    }

    #[test]
    fn only_partitions_whose_preferred_replica_can_lead_are_imbalanced() {
        let mut image = MetadataImage::default();
        for (id, fenced) in [(1, false), (2, false), (3, true)] {
            image.brokers.insert(id, broker(id, fenced));
        }
        let mut moving = partition(&[1, 2], &[1, 2], 2);
        moving.adding = vec![1];
        image.topics.insert(
            "t".into(),
            TopicMeta {
                id: uuid::Uuid::nil(),
                configs: Default::default(),
                partitions: vec![
                    partition(&[1, 2], &[1, 2], 1), // balanced
                    partition(&[1, 2], &[1, 2], 2), // preferred back in sync: elect
                    partition(&[1, 2], &[2], 2),    // preferred not in sync yet
                    partition(&[3, 2], &[3, 2], 2), // preferred fenced
                    moving,                         // reassignment under way
                ],
            },
        );
        assert_eq!(imbalanced(&image, 0), vec![("t".to_string(), 1)]);
        // Broker 1 is preferred for 4 partitions, 3 of them led elsewhere (75%): tolerated at
        // a 75% threshold, elected below it.
        assert_eq!(imbalanced(&image, 74), vec![("t".to_string(), 1)]);
        assert!(imbalanced(&image, 75).is_empty());
    }
}
