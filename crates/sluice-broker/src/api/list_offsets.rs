//! ListOffsets (key 2): earliest (-2), latest (-1), max timestamp (-3) or the first offset whose
//! timestamp is at or after a given time. A follower broker (replica id ≥ 0) asking for the
//! latest offset gets the log end offset rather than the high watermark.

use std::sync::Arc;

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse, RequestHeader};

use crate::broker::Broker;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// Resolves each partition's requested position to an offset.
pub fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: ListOffsetsRequest,
) -> ListOffsetsResponse {
    let mut resp = ListOffsetsResponse::default();
    let req_replica = req.replica_id.0;
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut tr = ListOffsetsTopicResponse::default();
        tr.name = t.name.clone();
        for p in t.partitions {
            let mut pr = ListOffsetsPartitionResponse::default();
            pr.partition_index = p.partition_index;
            pr.timestamp = -1;
            pr.offset = -1;
            match broker.leader_partition(&name, p.partition_index, p.current_leader_epoch) {
                Err(e) => pr.error_code = e.code(),
                Ok(part) => {
                    let store = part.store.lock().expect("poisoned");
                    if header.request_api_version >= 4 {
                        pr.leader_epoch = store.replica.leader_epoch;
                    }
                    match p.timestamp {
                        // A follower broker asks for the leader's log end, as in Kafka;
                        // clients see only what is committed.
                        LATEST if req_replica >= 0 => pr.offset = store.log_end_offset(),
                        LATEST => pr.offset = store.high_watermark(),
                        EARLIEST => pr.offset = store.log_start_offset(),
                        MAX_TIMESTAMP => {
                            if let Some((offset, ts)) = store.max_timestamp() {
                                pr.offset = offset;
                                pr.timestamp = ts;
                            }
                        }
                        ts => match store.offset_for_timestamp(ts) {
                            Ok(Some((offset, found_ts))) => {
                                pr.offset = offset;
                                pr.timestamp = found_ts;
                            }
                            Ok(None) => {}
                            Err(e) => pr.error_code = e.code(),
                        },
                    }
                }
            }
            tr.partitions.push(pr);
        }
        resp.topics.push(tr);
    }
    resp
}
