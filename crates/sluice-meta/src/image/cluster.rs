//! Cluster-wide settings: dynamic broker configs and producer-id blocks.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use super::command::refuse;
use super::{BrokerId, MetadataImage, Reply, PRODUCER_ID_BLOCK};

impl MetadataImage {
    /// [`super::Command::SetBrokerConfigs`].
    pub(super) fn set_broker_configs(&mut self, configs: &BTreeMap<String, String>) -> Reply {
        self.broker_configs = configs.clone();
        Reply::Ok
    }

    /// [`super::Command::AllocateProducerIds`]. `broker` is not checked: blocks are cheap and
    /// a broker that is mid-registration still needs one to serve idempotent producers.
    pub(super) fn allocate_producer_ids(&mut self, broker: BrokerId) -> Reply {
        let first = self.next_producer_id;
        match first.checked_add(PRODUCER_ID_BLOCK).filter(|_| first >= 0) {
            Some(next) => {
                self.next_producer_id = next;
                Reply::ProducerIds {
                    first,
                    count: PRODUCER_ID_BLOCK,
                }
            }
            None => refuse(
                ResponseError::UnknownServerError,
                format!("producer ids are exhausted (next is {first}); broker {broker} gets none"),
            ),
        }
    }
}
