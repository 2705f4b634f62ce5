//! Limits a request meets before it costs the broker much: how many bytes a Fetch response
//! carries and how many partitions one request may name. Kafka's property names where Kafka
//! has the limit, `sluice.*` where it has none.

use crate::error::BrokerError;

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
    /// after CreatePartitions.
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
    /// Applies `k=v` if `k` is one of these limits; `Ok(false)` for any other name.
    pub(super) fn apply(&mut self, k: &str, v: &str) -> Result<bool, BrokerError> {
        let at_least = |min: i64| -> Result<i64, BrokerError> {
            let n: i64 = v
                .parse()
                .map_err(|_| BrokerError::Config(format!("{k}={v:?} is not a valid number")))?;
            if n < min || n > i64::from(i32::MAX) {
                return Err(BrokerError::Config(format!(
                    "{k}={v} must be within [{min}, {}]",
                    i32::MAX
                )));
            }
            Ok(n)
        };
        match k {
            // Kafka's own minimums.
            "fetch.max.bytes" => self.fetch_max_bytes = at_least(1024)? as usize,
            "replica.fetch.response.max.bytes" => {
                self.replica_fetch_response_max_bytes = at_least(0)? as usize
            }
            "sluice.max.partitions.per.request" => {
                self.max_partitions_per_request = at_least(1)? as usize
            }
            "sluice.max.partitions.per.topic" => {
                self.max_partitions_per_topic = at_least(1)? as i32
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
        assert_eq!(cfg.limits, RequestLimits::default());
        assert_eq!(cfg.limits.fetch_max_bytes, 55 << 20);
        assert_eq!(cfg.limits.replica_fetch_response_max_bytes, 10 << 20);
        cfg.apply_properties(&parse_properties(
            "fetch.max.bytes=1024\nreplica.fetch.response.max.bytes=0\n\
             sluice.max.partitions.per.request=1\nsluice.max.partitions.per.topic=7\n",
        ))
        .unwrap();
        assert_eq!(
            cfg.limits,
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
            "sluice.max.partitions.per.topic=3000000000",
        ] {
            let mut cfg = BrokerConfig::default();
            assert!(
                cfg.apply_properties(&parse_properties(bad)).is_err(),
                "{bad}"
            );
        }
    }
}
