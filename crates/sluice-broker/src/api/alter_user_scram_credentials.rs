//! AlterUserScramCredentials (key 51): sets or removes users' SCRAM credentials through the
//! controller. Needs ALTER on the cluster. An upsertion's salted password becomes StoredKey and
//! ServerKey here (`sluice_auth`), and only those are proposed and stored; the per-user rules
//! (duplicates, iteration bounds, unknown mechanisms, deleting what does not exist) are the
//! controller's (`Command::AlterScramCredentials`).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, RequestHeader,
};
use sluice_auth::acl::AclOperation;
use sluice_auth::scram::{ScramCredential, ScramMechanism};
use sluice_meta::image::{
    self as meta, Reply, ScramDeletion, ScramUpsertion, SCRAM_SHA_256, SCRAM_SHA_512,
};
use sluice_meta::Command;

use crate::broker::Broker;
use crate::codec::sb;

fn result(user: &str, e: ResponseError, msg: Option<String>) -> AlterUserScramCredentialsResult {
    let mut r = AlterUserScramCredentialsResult::default();
    r.user = sb(user.to_string());
    r.error_code = e.code();
    r.error_message = msg.map(sb);
    r
}

/// The stored credential of an upsertion, or why it cannot be made (the controller then
/// refuses the user, as the iterations given are replaced by 0).
fn credential(
    mechanism: i8,
    salt: &[u8],
    salted_password: &[u8],
    iterations: i32,
) -> Result<meta::ScramCredential, String> {
    let mechanism = match mechanism {
        SCRAM_SHA_256 => ScramMechanism::Sha256,
        SCRAM_SHA_512 => ScramMechanism::Sha512,
        // The controller answers UNSUPPORTED_SASL_MECHANISM.
        _ => {
            return Ok(meta::ScramCredential {
                salt: salt.to_vec(),
                iterations,
                stored_key: Vec::new(),
                server_key: Vec::new(),
            })
        }
    };
    let n = u32::try_from(iterations).map_err(|_| format!("Invalid iterations {iterations}"))?;
    let c = ScramCredential::from_salted_password(mechanism, salt, salted_password, n)
        .map_err(|e| e.to_string())?;
    Ok(crate::authz::convert::scram_to_meta(c))
}

/// Applies the changes.
pub async fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let mut resp = AlterUserScramCredentialsResponse::default();
    let mut users: Vec<String> = Vec::new();
    for name in req
        .deletions
        .iter()
        .map(|d| &d.name)
        .chain(req.upsertions.iter().map(|u| &u.name))
    {
        if !users.iter().any(|u| u == name.as_str()) {
            users.push(name.to_string());
        }
    }
    if !broker.authorize_cluster(AclOperation::Alter) {
        resp.results = users
            .iter()
            .map(|u| result(u, ResponseError::ClusterAuthorizationFailed, None))
            .collect();
        return resp;
    }
    let mut local_errors: BTreeMap<String, String> = BTreeMap::new();
    let upsertions = req
        .upsertions
        .iter()
        .map(|u| {
            let user = u.name.to_string();
            let credential = credential(u.mechanism, &u.salt, &u.salted_password, u.iterations)
                .unwrap_or_else(|why| {
                    local_errors.insert(user.clone(), why);
                    meta::ScramCredential {
                        salt: u.salt.to_vec(),
                        iterations: 0,
                        stored_key: Vec::new(),
                        server_key: Vec::new(),
                    }
                });
            ScramUpsertion {
                user,
                mechanism: u.mechanism,
                credential,
            }
        })
        .collect();
    let deletions = req
        .deletions
        .iter()
        .map(|d| ScramDeletion {
            user: d.name.to_string(),
            mechanism: d.mechanism,
        })
        .collect();
    let command = Command::AlterScramCredentials {
        upsertions,
        deletions,
    };
    resp.results = match broker.propose(command).await {
        Ok(Reply::ScramResults(results)) => results
            .into_iter()
            .map(|r| {
                let mut out = AlterUserScramCredentialsResult::default();
                out.error_code = r.error_code;
                out.error_message = r.error_message.map(sb);
                if r.error_code == ResponseError::UnacceptableCredential.code() {
                    if let Some(why) = local_errors.get(&r.user) {
                        out.error_message = Some(sb(why.clone()));
                    }
                }
                out.user = sb(r.user);
                out
            })
            .collect(),
        Ok(other) => {
            tracing::warn!(reply = ?other, "unexpected reply to AlterScramCredentials");
            users
                .iter()
                .map(|u| result(u, ResponseError::UnknownServerError, None))
                .collect()
        }
        Err(e) => users.iter().map(|u| result(u, e, None)).collect(),
    };
    resp
}
