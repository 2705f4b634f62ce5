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
use sluice_auth::acl::AclOperation;

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
            let rows = match authorized_rows(broker, &g.group_id.0, wanted) {
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
                                &mut pr.error_code,
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
    let rows: OffsetRows = match authorized_rows(broker, &req.group_id.0, wanted) {
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
                        &mut pr.error_code,
                    );
                    pr
                })
                .collect();
            tr
        })
        .collect();
    resp
}

/// The group's committed offsets the principal may see: DESCRIBE on the group
/// (GROUP_AUTHORIZATION_FAILED), then DESCRIBE per topic: an unauthorized topic asked for by
/// name answers TOPIC_AUTHORIZATION_FAILED (as an offset of -1 with that error), and is left
/// out of an all-topics answer.
fn authorized_rows(
    broker: &Broker,
    group: &str,
    wanted: Option<Vec<(String, Vec<i32>)>>,
) -> Result<OffsetRows, kafka_protocol::error::ResponseError> {
    if !broker.authorize_group(AclOperation::Describe, group) {
        return Err(kafka_protocol::error::ResponseError::GroupAuthorizationFailed);
    }
    let explicit = wanted.is_some();
    let rows = broker.groups.fetch_offsets(group, wanted)?;
    Ok(rows
        .into_iter()
        .filter_map(|(t, ps)| {
            if broker.authorize_topic(AclOperation::Describe, &t) {
                Some((t, ps))
            } else if explicit {
                let denied = ps.into_iter().map(|(p, _)| (p, Some(DENIED))).collect();
                Some((t, denied))
            } else {
                None
            }
        })
        .collect())
}

/// Marks a partition refused: `fill` turns it into TOPIC_AUTHORIZATION_FAILED.
const DENIED: Committed = Committed {
    offset: i64::MIN,
    leader_epoch: -1,
    metadata: None,
    commit_timestamp_ms: 0,
};

fn fill(
    c: Option<Committed>,
    offset: &mut i64,
    epoch: &mut i32,
    metadata: &mut Option<kafka_protocol::protocol::StrBytes>,
    error: &mut i16,
) {
    match c {
        Some(c) if c.offset == DENIED.offset => {
            *offset = -1;
            *epoch = -1;
            *metadata = Some(sb(""));
            *error = kafka_protocol::error::ResponseError::TopicAuthorizationFailed.code();
        }
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
