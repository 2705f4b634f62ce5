//! Limits a request meets before it costs the broker much: how many bytes a Fetch response
//! carries and how many partitions one request may name. Kafka's property names where Kafka
//! has the limit, `sluice.*` where it has none.

use crate::error::BrokerError;

const INT_MAX: i64 = i32::MAX as i64;
/// The controller's own ceiling on a topic's partitions.
const TOPIC_MAX: i64 = sluice_meta::image::MAX_PARTITIONS_PER_TOPIC as i64;

/// Per-request limits (part of [`BrokerConfig`](super::BrokerConfig)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLimits {
    /// `fetch.max.bytes`: most record bytes one consumer Fetch response carries, whatever the
    /// request's own `max_bytes` (KIP-74: the first batch may still exceed it).
    pub fetch_max_bytes: usize,
    /// `replica.fetch.response.max.bytes`: the same for a follower's Fetch (replica id set).
    pub replica_fetch_response_max_bytes: usize,
    /// `sluice.max.partitions.per.request`: most partitions one Produce, Fetch, ListOffsets,
    /// DeleteRecords, OffsetForLeaderEpoch, CreateTopics (partitions of all its topics) or
    /// CreatePartitions (partitions added) may name; past it every partition is refused.
    pub max_partitions_per_request: usize,
    /// `sluice.max.partitions.per.topic`: most partitions a topic may have, at creation or
    /// after CreatePartitions (at most the controller's own 100 000).
    pub max_partitions_per_topic: i32,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            fetch_max_bytes: 57_671_680,
            replica_fetch_response_max_bytes: 10_485_760,
            max_partitions_per_request: 10_000,
            max_partitions_per_topic: 10_000,
        }
    }
}

impl RequestLimits {
    /// Whether a request naming these numbers of partitions (per topic, repeats counted)
    /// crosses `sluice.max.partitions.per.request`.
    pub fn too_many_partitions(&self, counts: impl IntoIterator<Item = usize>) -> bool {
        counts
            .into_iter()
            .try_fold(0usize, |sum, n| {
                sum.checked_add(n)
                    .filter(|&s| s <= self.max_partitions_per_request)
            })
            .is_none()
    }

    /// Applies `k=v` if `k` is one of these limits; `Ok(false)` for any other name.
    pub(super) fn apply(&mut self, k: &str, v: &str) -> Result<bool, BrokerError> {
        let within = |min: i64, max: i64| -> Result<i64, BrokerError> {
            let n: i64 = v
                .parse()
                .map_err(|_| BrokerError::Config(format!("{k}={v:?} is not a valid number")))?;
            if n < min || n > max {
                return Err(BrokerError::Config(format!(
                    "{k}={v} must be within [{min}, {max}]"
                )));
            }
            Ok(n)
        };
        match k {
            // Kafka's own minimums.
            "fetch.max.bytes" => self.fetch_max_bytes = within(1024, INT_MAX)? as usize,
            "replica.fetch.response.max.bytes" => {
                self.replica_fetch_response_max_bytes = within(0, INT_MAX)? as usize
            }
            "sluice.max.partitions.per.request" => {
                self.max_partitions_per_request = within(1, INT_MAX)? as usize
            }
            "sluice.max.partitions.per.topic" => {
                self.max_partitions_per_topic = within(1, TOPIC_MAX)? as i32
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_properties, BrokerConfig};
    use super::*;

    #[test]
    fn limits_default_to_kafkas_and_parse_with_their_minimums() {
        let mut cfg = BrokerConfig::default();
        assert_eq!(cfg.request_limits, RequestLimits::default());
        assert_eq!(cfg.request_limits.fetch_max_bytes, 55 << 20);
        assert_eq!(
            cfg.request_limits.replica_fetch_response_max_bytes,
            10 << 20
        );
        cfg.apply_properties(&parse_properties(
            "fetch.max.bytes=1024\nreplica.fetch.response.max.bytes=0\n\
             sluice.max.partitions.per.request=1\nsluice.max.partitions.per.topic=7\n",
        ))
        .unwrap();
        assert_eq!(
            cfg.request_limits,
            RequestLimits {
                fetch_max_bytes: 1024,
                replica_fetch_response_max_bytes: 0,
                max_partitions_per_request: 1,
                max_partitions_per_topic: 7,
            }
        );
        for bad in [
            "fetch.max.bytes=1023",
            "fetch.max.bytes=lots",
            "replica.fetch.response.max.bytes=-1",
            "sluice.max.partitions.per.request=0",
            "sluice.max.partitions.per.topic=-5",
            "sluice.max.partitions.per.topic=100001",
        ] {
            let mut cfg = BrokerConfig::default();
            assert!(
                cfg.apply_properties(&parse_properties(bad)).is_err(),
                "{bad}"
            );
        }
    }
}
