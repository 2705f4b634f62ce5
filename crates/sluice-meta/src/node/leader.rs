//! Requests that only the controller (the Raft leader) can serve: proposals, registrations and
//! heartbeats.
//!
//! The caller side ([`MetaNode::call_leader`]) handles them in process when this node leads,
//! otherwise POSTs them to the leader it knows (or, not knowing one, to any voter). The
//! serving side ([`MetaNode::serve_leader_request`]) forwards one hop to the leader when it
//! is not the leader itself, so a learner that only knows the voter list still reaches the
//! controller; beyond one hop it answers `NotLeader` and the caller retries after the leader
//! changes.

use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use openraft::BasicNode;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use uuid::Uuid;

use super::meta_node::MetaNode;
use super::network::{post_json, PostError, PATH_HEARTBEAT, PATH_PROPOSE, PATH_REGISTER};
use super::raft_types::NodeId;
use crate::error::MetaError;
use crate::image::{BrokerId, BrokerRegistration, Command, Reply};

/// What the controller is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum LeaderRequest {
    /// Commit a command.
    Propose(Command),
    /// Add the broker as a learner if needed, then commit `RegisterBroker`.
    Register(BrokerRegistration),
    /// A broker is alive.
    Heartbeat {
        /// The broker.
        id: BrokerId,
        /// Its process incarnation.
        incarnation: Uuid,
        /// It began a controlled shutdown: do not unfence it.
        shutting_down: bool,
    },
    /// A broker lost its connection to `suspect` (a follower's fetch connection to its
    /// leader broke): a hint that the suspect's process died.
    Unreachable {
        /// The broker that cannot reach it.
        reporter: BrokerId,
        /// The broker it cannot reach.
        suspect: BrokerId,
    },
}

impl LeaderRequest {
    fn path(&self) -> &'static str {
        match self {
            LeaderRequest::Propose(_) => PATH_PROPOSE,
            LeaderRequest::Register(_) => PATH_REGISTER,
            LeaderRequest::Heartbeat { .. } | LeaderRequest::Unreachable { .. } => PATH_HEARTBEAT,
        }
    }
}

/// Body of `/meta/propose`, `/meta/register` and `/meta/heartbeat`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Envelope {
    /// The request.
    pub(crate) request: LeaderRequest,
    /// How long the caller waits; the server gives up a little earlier.
    pub(crate) timeout_ms: u64,
    /// Already forwarded once by a non-leader: do not forward again.
    pub(crate) forwarded: bool,
}

/// Answer of the leader-bound routes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum LeaderResponse {
    /// Committed and applied on the leader at `index`.
    Applied {
        /// What apply answered.
        reply: Reply,
        /// Log index of the command.
        index: u64,
    },
    /// Heartbeat recorded by the controller `controller`.
    HeartbeatAck {
        /// The controller's broker id.
        controller: BrokerId,
    },
    /// This node is not the leader (and could not forward); the leader it knows, if any.
    NotLeader {
        /// Leader hint.
        leader: Option<NodeId>,
    },
    /// The leader did not commit in time.
    TimedOut(String),
    /// Failed on the leader (Raft stopped, storage error).
    Failed(String),
}

/// Poll period while no leader is known or the leader is unreachable.
const RETRY: Duration = Duration::from_millis(100);

impl MetaNode {
    /// The current leader and its address, when known.
    fn leader_addr(&self) -> (Option<NodeId>, Option<String>) {
        let m = self.raft.metrics();
        let m = m.borrow();
        let Some(leader) = m.current_leader else {
            return (None, None);
        };
        let addr = m
            .membership_config
            .membership()
            .get_node(&leader)
            .map(|n| n.addr.clone())
            .or_else(|| {
                BrokerId::try_from(leader)
                    .ok()
                    .and_then(|id| self.voters.get(&id).cloned())
            });
        (Some(leader), addr)
    }

    /// Waits until the known leader changes or `RETRY` passes (bounded by `deadline`): the
    /// retry pace while no leader answers.
    async fn pause(&self, deadline: Instant) {
        let mut m = self.raft.metrics();
        let before = m.borrow().current_leader;
        let until = deadline.min(Instant::now() + RETRY);
        let _ = tokio::time::timeout_at(until, m.wait_for(|x| x.current_leader != before)).await;
    }

    /// Proposes through the leader; returns the reply and the log index.
    pub(crate) async fn call_propose(
        &self,
        command: Command,
        deadline: Instant,
    ) -> Result<(Reply, u64), MetaError> {
        match self
            .call_leader(LeaderRequest::Propose(command), deadline, false)
            .await?
        {
            LeaderResponse::Applied { reply, index } => Ok((reply, index)),
            other => Err(MetaError::NoController(format!(
                "unexpected answer {other:?}"
            ))),
        }
    }

    /// Sends `request` to the leader until it is served or `deadline`. `retry_ambiguous`:
    /// whether a request that may have been delivered can be sent again (idempotent ones).
    pub(crate) async fn call_leader(
        &self,
        request: LeaderRequest,
        deadline: Instant,
        retry_ambiguous: bool,
    ) -> Result<LeaderResponse, MetaError> {
        let mut voter_cursor = 0usize;
        let mut last_error = String::from("no leader known");
        loop {
            if self.is_stopped() {
                return Err(MetaError::Raft("metadata node stopped".into()));
            }
            let now = Instant::now();
            if now >= deadline {
                // Nothing reached a leader that accepted the request (a leader that accepted
                // but did not commit in time answers `TimedOut` instead).
                return Err(MetaError::NoController(last_error));
            }
            let (leader, addr) = self.leader_addr();
            let answer = if leader == Some(self.node_id) {
                self.serve_local(request.clone(), deadline).await
            } else {
                // No known leader: ask the voters in turn (one of them forwards to the leader).
                let target = addr.or_else(|| {
                    let others: Vec<&String> = self
                        .voters
                        .iter()
                        .filter(|(id, _)| **id != self.id)
                        .map(|(_, a)| a)
                        .collect();
                    voter_cursor += 1;
                    others
                        .get(voter_cursor % others.len().max(1))
                        .map(|a| (*a).clone())
                });
                let Some(target) = target else {
                    self.pause(deadline).await;
                    continue;
                };
                let envelope = Envelope {
                    request: request.clone(),
                    timeout_ms: millis(deadline.saturating_duration_since(now)),
                    forwarded: false,
                };
                let timeout = deadline.saturating_duration_since(now);
                match post_json(&self.client, &target, request.path(), &envelope, timeout).await {
                    Ok(answer) => answer,
                    Err(PostError::Unreachable(e)) => {
                        last_error = e;
                        self.pause(deadline).await;
                        continue;
                    }
                    Err(PostError::Failed(e)) if retry_ambiguous => {
                        last_error = e;
                        self.pause(deadline).await;
                        continue;
                    }
                    Err(PostError::Failed(reason)) => {
                        return Err(MetaError::Rpc {
                            peer: target,
                            reason,
                        })
                    }
                }
            };
            match answer {
                LeaderResponse::NotLeader { leader } => {
                    last_error = format!("not the leader (hint {leader:?})");
                    self.pause(deadline).await;
                }
                LeaderResponse::TimedOut(e) => return Err(MetaError::Timeout(e)),
                LeaderResponse::Failed(e) => return Err(MetaError::Raft(e)),
                ok => return Ok(ok),
            }
        }
    }

    /// Serves a leader-bound request received over HTTP.
    pub(crate) async fn serve_leader_request(&self, envelope: Envelope) -> LeaderResponse {
        // Leave the caller time to receive our answer before its own timeout.
        let budget = Duration::from_millis(envelope.timeout_ms).mul_f32(0.9);
        let deadline = Instant::now() + budget;
        let (leader, addr) = self.leader_addr();
        if leader == Some(self.node_id) {
            return self.serve_local(envelope.request, deadline).await;
        }
        match addr {
            Some(addr) if !envelope.forwarded => {
                let path = envelope.request.path();
                let fwd = Envelope {
                    forwarded: true,
                    timeout_ms: millis(budget),
                    ..envelope
                };
                match post_json(&self.client, &addr, path, &fwd, budget).await {
                    Ok(answer) => answer,
                    // Not delivered: let the caller retry (maybe with a newer leader).
                    Err(PostError::Unreachable(_)) => LeaderResponse::NotLeader { leader },
                    Err(PostError::Failed(e)) => {
                        LeaderResponse::Failed(format!("forwarding to leader: {e}"))
                    }
                }
            }
            _ => LeaderResponse::NotLeader { leader },
        }
    }

    /// Serves a request on this node, which believes it leads.
    async fn serve_local(&self, request: LeaderRequest, deadline: Instant) -> LeaderResponse {
        match request {
            LeaderRequest::Propose(command) => self.write(command, deadline).await,
            LeaderRequest::Register(reg) => {
                if let Err(answer) = self.ensure_member(&reg, deadline).await {
                    return answer;
                }
                let reg = BrokerRegistration {
                    fenced: true,
                    shutting_down: false,
                    ..reg
                };
                self.write(Command::RegisterBroker(reg), deadline).await
            }
            LeaderRequest::Heartbeat {
                id,
                incarnation,
                shutting_down,
            } => self.on_heartbeat(id, incarnation, shutting_down),
            LeaderRequest::Unreachable { reporter, suspect } => {
                self.on_unreachable(reporter, suspect).await
            }
        }
    }

    /// Commits `command` through the local Raft leader.
    pub(crate) async fn write(&self, command: Command, deadline: Instant) -> LeaderResponse {
        match tokio::time::timeout_at(deadline, self.raft.client_write(command)).await {
            Ok(Ok(resp)) => LeaderResponse::Applied {
                reply: resp.data,
                index: resp.log_id.index,
            },
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                LeaderResponse::NotLeader {
                    leader: f.leader_id,
                }
            }
            Ok(Err(e)) => LeaderResponse::Failed(e.to_string()),
            Err(_) => LeaderResponse::TimedOut("commit of the proposal".into()),
        }
    }

    /// Makes a non-voter broker a Raft learner (so it receives the log) before it registers.
    async fn ensure_member(
        &self,
        reg: &BrokerRegistration,
        deadline: Instant,
    ) -> Result<(), LeaderResponse> {
        let Ok(node_id) = NodeId::try_from(reg.id) else {
            return Err(LeaderResponse::Failed(format!(
                "invalid broker id {}",
                reg.id
            )));
        };
        let current = {
            let m = self.raft.metrics();
            let m = m.borrow();
            let membership = m.membership_config.membership();
            if membership.voter_ids().any(|v| v == node_id) {
                // Voters are members by configuration; their address is not changed here.
                return Ok(());
            }
            membership.get_node(&node_id).map(|n| n.addr.clone())
        };
        let node = BasicNode {
            addr: reg.rpc_addr.clone(),
        };
        let result = match current {
            Some(addr) if addr == reg.rpc_addr => return Ok(()),
            // A learner that moved: replacing a learner's address is safe (it does not vote).
            Some(_) => {
                let change =
                    openraft::ChangeMembers::SetNodes([(node_id, node)].into_iter().collect());
                tokio::time::timeout_at(deadline, self.raft.change_membership(change, true)).await
            }
            None => {
                tokio::time::timeout_at(deadline, self.raft.add_learner(node_id, node, false)).await
            }
        };
        match result {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f)))) => {
                Err(LeaderResponse::NotLeader {
                    leader: f.leader_id,
                })
            }
            Ok(Err(e)) => Err(LeaderResponse::Failed(format!(
                "adding learner {}: {e}",
                reg.id
            ))),
            Err(_) => Err(LeaderResponse::TimedOut(format!(
                "adding learner {}",
                reg.id
            ))),
        }
    }
}

/// Whole milliseconds of `d`, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
