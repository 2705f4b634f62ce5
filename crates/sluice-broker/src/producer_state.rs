//! Idempotent-producer bookkeeping for one partition, as Kafka's `ProducerStateManager`:
//! per producer id the current epoch and the last five appended batches, so that a retried
//! batch is acknowledged with its original offset instead of being written twice.

use std::collections::{HashMap, VecDeque};

use kafka_protocol::error::ResponseError;

/// Batches remembered per producer, as Kafka (`max.in.flight.requests.per.connection` ≤ 5).
pub const CACHED_BATCHES: usize = 5;

/// Producer fields of a v2 batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchProducer {
    /// Producer id (-1 for non-idempotent batches).
    pub producer_id: i64,
    /// Producer epoch.
    pub epoch: i16,
    /// Sequence of the first record.
    pub base_sequence: i32,
    /// Number of records in the batch.
    pub record_count: i32,
}

impl BatchProducer {
    fn last_sequence(&self) -> i32 {
        add_seq(self.base_sequence, self.record_count - 1)
    }
}

fn add_seq(seq: i32, n: i32) -> i32 {
    // Sequences wrap to 0 after i32::MAX.
    ((seq as i64 + n as i64) % (i32::MAX as i64 + 1)) as i32
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CachedBatch {
    first_seq: i32,
    last_seq: i32,
    base_offset: i64,
}

#[derive(Debug, Clone, Default)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<CachedBatch>,
}

/// Outcome of checking a batch before it is appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// Already in the log at this base offset: acknowledge without writing.
    Duplicate {
        /// Offset the batch got the first time.
        base_offset: i64,
    },
}

/// Sequence state of all producers writing to one partition.
#[derive(Debug, Clone, Default)]
pub struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStates {
    /// Validates `batch` against the producer's history.
    pub fn check(&self, batch: &BatchProducer) -> Result<SequenceCheck, ResponseError> {
        if batch.producer_id < 0 {
            return Ok(SequenceCheck::Append);
        }
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            // A producer the log has never seen must start at sequence 0.
            return if batch.base_sequence == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(ResponseError::OutOfOrderSequenceNumber)
            };
        };
        if batch.epoch < entry.epoch {
            return Err(ResponseError::InvalidProducerEpoch);
        }
        if batch.epoch > entry.epoch {
            return if batch.base_sequence == 0 {
                Ok(SequenceCheck::Append)
            } else {
                Err(ResponseError::OutOfOrderSequenceNumber)
            };
        }
        if let Some(dup) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == batch.base_sequence && b.last_seq == batch.last_sequence())
        {
            return Ok(SequenceCheck::Duplicate {
                base_offset: dup.base_offset,
            });
        }
        match entry.batches.back() {
            Some(last) if add_seq(last.last_seq, 1) == batch.base_sequence => {
                Ok(SequenceCheck::Append)
            }
            None if batch.base_sequence == 0 => Ok(SequenceCheck::Append),
            Some(_)
                if entry
                    .batches
                    .iter()
                    .any(|b| seq_le(batch.base_sequence, b.last_seq)) =>
            {
                Err(ResponseError::DuplicateSequenceNumber)
            }
            _ => Err(ResponseError::OutOfOrderSequenceNumber),
        }
    }

    /// Records an appended batch (also used when rebuilding from the log).
    pub fn record(&mut self, batch: &BatchProducer, base_offset: i64) {
        if batch.producer_id < 0 {
            return;
        }
        let entry = self.producers.entry(batch.producer_id).or_default();
        if batch.epoch != entry.epoch {
            entry.epoch = batch.epoch;
            entry.batches.clear();
        }
        entry.batches.push_back(CachedBatch {
            first_seq: batch.base_sequence,
            last_seq: batch.last_sequence(),
            base_offset,
        });
        while entry.batches.len() > CACHED_BATCHES {
            entry.batches.pop_front();
        }
    }

    /// Highest producer id seen, so allocation after a restart never reuses one.
    pub fn max_producer_id(&self) -> i64 {
        self.producers.keys().copied().max().unwrap_or(-1)
    }
}

fn seq_le(a: i32, b: i32) -> bool {
    a <= b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pid: i64, epoch: i16, seq: i32, n: i32) -> BatchProducer {
        BatchProducer {
            producer_id: pid,
            epoch,
            base_sequence: seq,
            record_count: n,
        }
    }

    #[test]
    fn in_order_batches_append_and_retries_are_duplicates() {
        let mut s = ProducerStates::default();
        assert_eq!(s.check(&b(7, 0, 0, 3)), Ok(SequenceCheck::Append));
        s.record(&b(7, 0, 0, 3), 100);
        assert_eq!(s.check(&b(7, 0, 3, 2)), Ok(SequenceCheck::Append));
        s.record(&b(7, 0, 3, 2), 103);
        assert_eq!(
            s.check(&b(7, 0, 0, 3)),
            Ok(SequenceCheck::Duplicate { base_offset: 100 })
        );
        assert_eq!(
            s.check(&b(7, 0, 3, 2)),
            Ok(SequenceCheck::Duplicate { base_offset: 103 })
        );
    }

    #[test]
    fn gaps_stale_epochs_and_unknown_producers() {
        let mut s = ProducerStates::default();
        assert_eq!(
            s.check(&b(1, 0, 5, 1)),
            Err(ResponseError::OutOfOrderSequenceNumber)
        );
        s.record(&b(1, 3, 0, 1), 0);
        assert_eq!(
            s.check(&b(1, 3, 2, 1)),
            Err(ResponseError::OutOfOrderSequenceNumber)
        );
        assert_eq!(
            s.check(&b(1, 2, 1, 1)),
            Err(ResponseError::InvalidProducerEpoch)
        );
        assert_eq!(s.check(&b(1, 4, 0, 1)), Ok(SequenceCheck::Append));
        assert_eq!(
            s.check(&b(1, 4, 1, 1)),
            Err(ResponseError::OutOfOrderSequenceNumber)
        );
        assert_eq!(s.check(&b(-1, -1, -1, 10)), Ok(SequenceCheck::Append));
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut s = ProducerStates::default();
        for i in 0..7 {
            s.record(&b(2, 0, i, 1), i as i64);
        }
        assert_eq!(
            s.check(&b(2, 0, 6, 1)),
            Ok(SequenceCheck::Duplicate { base_offset: 6 })
        );
        assert_eq!(
            s.check(&b(2, 0, 2, 1)),
            Ok(SequenceCheck::Duplicate { base_offset: 2 })
        );
        assert_eq!(
            s.check(&b(2, 0, 0, 1)),
            Err(ResponseError::DuplicateSequenceNumber)
        );
        assert_eq!(s.max_producer_id(), 2);
    }

    #[test]
    fn sequences_wrap() {
        assert_eq!(add_seq(i32::MAX, 1), 0);
        let mut s = ProducerStates::default();
        s.record(&b(3, 0, i32::MAX - 1, 2), 10);
        assert_eq!(s.check(&b(3, 0, 0, 1)), Ok(SequenceCheck::Append));
    }
}
