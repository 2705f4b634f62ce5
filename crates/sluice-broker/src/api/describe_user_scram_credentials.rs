//! DescribeUserScramCredentials (key 50): each user's SCRAM mechanisms and iteration counts
//! (never salts or keys). Needs DESCRIBE on the cluster. No users named (null or empty) means
//! every user with a credential; a named user without one is RESOURCE_NOT_FOUND, a user named
//! twice DUPLICATE_RESOURCE, as Kafka.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, RequestHeader,
};
use sluice_auth::acl::AclOperation;
use sluice_meta::image::MetadataImage;

use crate::broker::Broker;
use crate::codec::sb;

fn user_result(
    user: &str,
    error: Option<(ResponseError, String)>,
    infos: Vec<CredentialInfo>,
) -> DescribeUserScramCredentialsResult {
    let mut r = DescribeUserScramCredentialsResult::default();
    r.user = sb(user.to_string());
    if let Some((e, msg)) = error {
        r.error_code = e.code();
        r.error_message = Some(sb(msg));
    }
    r.credential_infos = infos;
    r
}

fn infos(image: &MetadataImage, user: &str) -> Vec<CredentialInfo> {
    image
        .scram
        .get(user)
        .map(|by_mechanism| {
            by_mechanism
                .iter()
                .map(|(mechanism, c)| {
                    let mut i = CredentialInfo::default();
                    i.mechanism = *mechanism;
                    i.iterations = c.iterations;
                    i
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Describes the users' credentials.
pub fn handle(
    broker: &Arc<Broker>,
    _header: &RequestHeader,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    let mut resp = DescribeUserScramCredentialsResponse::default();
    if !broker.authorize_cluster(AclOperation::Describe) {
        resp.error_code = ResponseError::ClusterAuthorizationFailed.code();
        resp.error_message = Some(sb("Cluster authorization failed.".to_string()));
        return resp;
    }
    let image = broker.image();
    let named: Vec<String> = req
        .users
        .unwrap_or_default()
        .into_iter()
        .map(|u| u.name.to_string())
        .collect();
    if named.is_empty() {
        resp.results = image
            .scram_users()
            .map(|(user, _)| user_result(user, None, infos(&image, user)))
            .collect();
        return resp;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &named {
        *counts.entry(u.as_str()).or_default() += 1;
    }
    for (user, n) in counts {
        let result = if n > 1 {
            user_result(
                user,
                Some((
                    ResponseError::DuplicateResource,
                    format!("Cannot describe SCRAM credentials for the same user twice in a single request: {user}"),
                )),
                Vec::new(),
            )
        } else {
            match infos(&image, user) {
                i if i.is_empty() => user_result(
                    user,
                    Some((
                        ResponseError::ResourceNotFound,
                        format!("Attempt to describe nonexistent user credentials: {user}"),
                    )),
                    Vec::new(),
                ),
                i => user_result(user, None, i),
            }
        };
        resp.results.push(result);
    }
    resp
}
