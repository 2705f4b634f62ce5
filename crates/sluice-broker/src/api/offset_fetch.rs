//! OffsetFetch (key 9): committed offsets of one group, or of several groups (v8 batching).

use std::sync::Arc;

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{OffsetFetchRequest, OffsetFetchResponse, RequestHeader, TopicName};

use crate::broker::Broker;
use crate::codec::sb;
use crate::groups::{Committed, OffsetRows};

/// Looks up committed offsets; partitions without one get offset -1.
pub fn handle(
    broker: &Arc<Broker>,
    header: &RequestHeader,
    req: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let mut resp = OffsetFetchResponse::default();
    if header.request_api_version >= 8 {
        for g in req.groups {
            let wanted = g.topics.map(|ts| {
                ts.into_iter()
                    .map(|t| (t.name.0.to_string(), t.partition_indexes))
                    .collect()
            });
            let mut gr = OffsetFetchResponseGroup::default();
            // Each group of the batch is answered by its own partition: some may be
            // coordinated here and others not.
            let rows = match broker.groups.fetch_offsets(&g.group_id.0, wanted) {
                Ok(rows) => rows,
                Err(e) => {
                    gr.error_code = e.code();
                    gr.group_id = g.group_id;
                    resp.groups.push(gr);
                    continue;
                }
            };
            gr.group_id = g.group_id;
            gr.topics = rows
                .into_iter()
                .map(|(t, ps)| {
                    let mut tr = OffsetFetchResponseTopics::default();
                    tr.name = TopicName(sb(t));
                    tr.partitions = ps
                        .into_iter()
                        .map(|(p, c)| {
                            let mut pr = OffsetFetchResponsePartitions::default();
                            pr.partition_index = p;
                            fill(
                                c,
                                &mut pr.committed_offset,
                                &mut pr.committed_leader_epoch,
                                &mut pr.metadata,
                            );
                            pr
                        })
                        .collect();
                    tr
                })
                .collect();
            resp.groups.push(gr);
        }
        return resp;
    }
    let wanted = req.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect()
    });
    let rows: OffsetRows = match broker.groups.fetch_offsets(&req.group_id.0, wanted) {
        Ok(rows) => rows,
        Err(e) => {
            resp.error_code = e.code();
            return resp;
        }
    };
    resp.topics = rows
        .into_iter()
        .map(|(t, ps)| {
            let mut tr = OffsetFetchResponseTopic::default();
            tr.name = TopicName(sb(t));
            tr.partitions = ps
                .into_iter()
                .map(|(p, c)| {
                    let mut pr = OffsetFetchResponsePartition::default();
                    pr.partition_index = p;
                    fill(
                        c,
                        &mut pr.committed_offset,
                        &mut pr.committed_leader_epoch,
                        &mut pr.metadata,
                    );
                    pr
                })
                .collect();
            tr
        })
        .collect();
    resp
}

fn fill(
    c: Option<Committed>,
    offset: &mut i64,
    epoch: &mut i32,
    metadata: &mut Option<kafka_protocol::protocol::StrBytes>,
) {
    match c {
        Some(c) => {
            *offset = c.offset;
            *epoch = c.leader_epoch;
            *metadata = Some(sb(c.metadata.unwrap_or_default()));
        }
        None => {
            *offset = -1;
            *epoch = -1;
            *metadata = Some(sb(""));
        }
    }
}
