//! SetBrokerConfigs and AllocateProducerIds.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use super::{assert_refused, Harness};
use crate::image::{Command, Reply, PRODUCER_ID_BLOCK};

#[test]
fn broker_configs_are_replaced_whole() {
    let mut h = Harness::default();
    let mut configs = BTreeMap::new();
    configs.insert("log.retention.ms".to_owned(), "1".to_owned());
    h.ok(Command::SetBrokerConfigs {
        configs: configs.clone(),
    });
    assert_eq!(h.image.broker_configs, configs);
    h.ok(Command::SetBrokerConfigs {
        configs: BTreeMap::new(),
    });
    assert!(h.image.broker_configs.is_empty());
}

#[test]
fn producer_id_blocks_are_consecutive_and_never_reused() {
    let mut h = Harness::default();
    assert_eq!(
        h.run(Command::AllocateProducerIds { broker: 1 }),
        Reply::ProducerIds {
            first: 0,
            count: PRODUCER_ID_BLOCK
        }
    );
    assert_eq!(
        h.run(Command::AllocateProducerIds { broker: 2 }),
        Reply::ProducerIds {
            first: PRODUCER_ID_BLOCK,
            count: PRODUCER_ID_BLOCK
        }
    );
    assert_eq!(h.image.next_producer_id, 2 * PRODUCER_ID_BLOCK);
}

#[test]
fn exhausted_producer_ids_are_refused() {
    let mut h = Harness::default();
    h.image.next_producer_id = i64::MAX - 10;
    assert_refused(
        &h.run(Command::AllocateProducerIds { broker: 1 }),
        ResponseError::UnknownServerError,
    );
    h.image.next_producer_id = -5;
    assert_refused(
        &h.run(Command::AllocateProducerIds { broker: 1 }),
        ResponseError::UnknownServerError,
    );
}
