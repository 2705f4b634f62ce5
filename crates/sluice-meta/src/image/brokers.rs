//! Broker lifecycle: registration, fencing and unfencing on liveness, controlled shutdown and
//! scale-in.

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::command::refuse;
use super::leadership::{ensure_leader, hand_off};
use super::settle::settle;
use super::{BrokerId, BrokerRegistration, MetadataImage, Reply, NO_LEADER};

impl MetadataImage {
    /// [`super::Command::RegisterBroker`].
    pub(super) fn register_broker(&mut self, registration: &BrokerRegistration) -> Reply {
        let id = registration.id;
        if id < 0 {
            return refuse(
                ResponseError::InvalidRequest,
                format!("broker id {id} is negative; {NO_LEADER} means \"no leader\""),
            );
        }
        let mut next = registration.clone();
        next.fenced = true;
        next.shutting_down = false;
        match self.brokers.get(&id) {
            Some(current) if current.incarnation == registration.incarnation => {
                // A retried registration of the running process, not a restart: refresh its
                // addresses but keep its liveness state, or every retry would bounce leaders.
                next.fenced = current.fenced;
                next.shutting_down = current.shutting_down;
            }
            Some(current) if !current.fenced => {
                // The process the cluster trusted is gone; its replacement starts from a log
                // that may be behind, so it must not keep leading or count as in sync.
                self.fence_broker(id);
            }
            _ => {}
        }
        self.brokers.insert(id, next);
        Reply::Ok
    }

    /// [`super::Command::UnfenceBroker`].
    pub(super) fn unfence_broker(&mut self, id: BrokerId, incarnation: Uuid) -> Reply {
        let Some(broker) = self.brokers.get_mut(&id) else {
            return not_registered(id);
        };
        if broker.incarnation != incarnation {
            return refuse(
                ResponseError::StaleBrokerEpoch,
                format!(
                    "broker {id} heartbeat names incarnation {incarnation}, registered is {}",
                    broker.incarnation
                ),
            );
        }
        broker.fenced = false;
        broker.shutting_down = false;
        let brokers = &self.brokers;
        for p in self
            .topics
            .values_mut()
            .flat_map(|t| t.partitions.iter_mut())
        {
            if p.leader == NO_LEADER && p.isr.contains(&id) {
                p.update(false, |p| ensure_leader(brokers, p));
            }
        }
        Reply::Ok
    }

    /// [`super::Command::FenceBroker`].
    pub(super) fn fence_broker(&mut self, id: BrokerId) -> Reply {
        let Some(broker) = self.brokers.get_mut(&id) else {
            return not_registered(id);
        };
        if broker.fenced {
            return Reply::Ok;
        }
        broker.fenced = true;
        self.evict(id, false);
        Reply::Ok
    }

    /// [`super::Command::BeginControlledShutdown`].
    pub(super) fn begin_controlled_shutdown(&mut self, id: BrokerId) -> Reply {
        let Some(broker) = self.brokers.get_mut(&id) else {
            return not_registered(id);
        };
        broker.shutting_down = true;
        let remaining_leaderships = self.evict(id, true);
        Reply::ControlledShutdown {
            remaining_leaderships,
        }
    }

    /// [`super::Command::UnregisterBroker`].
    pub(super) fn unregister_broker(&mut self, id: BrokerId) -> Reply {
        if !self.brokers.contains_key(&id) {
            return not_registered(id);
        }
        let mut held = self
            .topics
            .iter()
            .flat_map(|(name, t)| {
                t.partitions
                    .iter()
                    .enumerate()
                    .map(move |(i, p)| (name, i, p))
            })
            .filter(|(_, _, p)| p.replicas.contains(&id));
        if let Some((topic, index, _)) = held.next() {
            let count = 1 + held.count();
            return refuse(
                ResponseError::InvalidRequest,
                format!(
                    "broker {id} still holds {count} replica(s) (first: {topic}-{index}); \
                     reassign them away before unregistering it"
                ),
            );
        }
        self.brokers.remove(&id);
        Reply::Ok
    }

    /// Hands every leadership and ISR membership of `id` (just made ineligible) to others where
    /// possible; returns how many partitions it still leads.
    fn evict(&mut self, id: BrokerId, keep_stranded: bool) -> usize {
        let brokers = &self.brokers;
        let mut remaining = 0;
        for p in self
            .topics
            .values_mut()
            .flat_map(|t| t.partitions.iter_mut())
        {
            if p.leader != id && !p.isr.contains(&id) {
                continue;
            }
            p.update(false, |p| {
                hand_off(brokers, p, id, keep_stranded);
                settle(brokers, p);
            });
            if p.leader == id {
                remaining += 1;
            }
        }
        remaining
    }
}

fn not_registered(id: BrokerId) -> Reply {
    refuse(
        ResponseError::BrokerIdNotRegistered,
        format!("broker {id} is not registered"),
    )
}
