//! AlterScramCredentials, as Kafka's `ScramControlManager.alterCredentials`, and the image's
//! SCRAM read accessors.
//!
//! Changes are collected per user name, deletions first, then upsertions: a second change of a
//! user in one request (whatever the mechanism) makes that user DUPLICATE_RESOURCE and none of
//! its changes apply. Each user gets one result; users without an error have all their
//! changes applied, whatever happened to the others.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

use super::command::Reply;
use super::model::MetadataImage;
use super::security::{
    ScramCredential, ScramDeletion, ScramResult, ScramUpsertion, SCRAM_MAX_ITERATIONS,
    SCRAM_MIN_ITERATIONS, SCRAM_SHA_256, SCRAM_SHA_512,
};

/// Kafka's message for a user changed twice in one request.
const ALTERED_TWICE: &str = "A user credential cannot be altered twice in the same request";

/// What one request does to one user.
enum Change<'a> {
    Delete(&'a ScramDeletion),
    Upsert(&'a ScramUpsertion),
    Refused(ResponseError, String),
}

impl MetadataImage {
    /// A user's credential for a mechanism ([`SCRAM_SHA_256`] or [`SCRAM_SHA_512`]).
    pub fn scram_credential(&self, user: &str, mechanism: i8) -> Option<&ScramCredential> {
        self.scram.get(user)?.get(&mechanism)
    }

    /// Users with at least one credential, and the mechanisms they have, in name order
    /// (DescribeUserScramCredentials).
    pub fn scram_users(&self) -> impl Iterator<Item = (&str, Vec<i8>)> + '_ {
        self.scram
            .iter()
            .map(|(user, m)| (user.as_str(), m.keys().copied().collect()))
    }

    pub(super) fn alter_scram_credentials(
        &mut self,
        upsertions: &[ScramUpsertion],
        deletions: &[ScramDeletion],
    ) -> Reply {
        // First-seen order of users, so the reply is deterministic.
        let mut order: Vec<&str> = Vec::new();
        let mut changes: BTreeMap<&str, Change<'_>> = BTreeMap::new();
        for d in deletions {
            let verdict = self.validate_deletion(d);
            note(
                &mut order,
                &mut changes,
                &d.user,
                verdict,
                Change::Delete(d),
            );
        }
        for u in upsertions {
            let verdict = validate_upsertion(u);
            note(
                &mut order,
                &mut changes,
                &u.user,
                verdict,
                Change::Upsert(u),
            );
        }
        let mut changed = false;
        let mut results = Vec::with_capacity(order.len());
        for user in order {
            let result = match &changes[user] {
                Change::Delete(d) => {
                    if let Some(m) = self.scram.get_mut(&d.user) {
                        m.remove(&d.mechanism);
                        if m.is_empty() {
                            self.scram.remove(&d.user);
                        }
                    }
                    changed = true;
                    ok(user)
                }
                Change::Upsert(u) => {
                    self.scram
                        .entry(u.user.clone())
                        .or_default()
                        .insert(u.mechanism, u.credential.clone());
                    changed = true;
                    ok(user)
                }
                Change::Refused(error, message) => ScramResult {
                    user: user.to_owned(),
                    error_code: error.code(),
                    error_message: Some(message.clone()),
                },
            };
            results.push(result);
        }
        if changed {
            self.scram_version += 1;
        }
        Reply::ScramResults(results)
    }

    /// `validateDeletion`: a known mechanism and a credential to delete.
    fn validate_deletion(&self, d: &ScramDeletion) -> Result<(), (ResponseError, String)> {
        validate_user_and_mechanism(&d.user, d.mechanism)?;
        if self.scram_credential(&d.user, d.mechanism).is_none() {
            return Err((
                ResponseError::ResourceNotFound,
                "Attempt to delete a user credential that does not exist".into(),
            ));
        }
        Ok(())
    }
}

/// Records one change of `user`: the first error a user hits sticks; a second change of a
/// user that had none is DUPLICATE_RESOURCE.
fn note<'a>(
    order: &mut Vec<&'a str>,
    changes: &mut BTreeMap<&'a str, Change<'a>>,
    user: &'a str,
    verdict: Result<(), (ResponseError, String)>,
    change: Change<'a>,
) {
    let next = match changes.get(user) {
        Some(Change::Refused(..)) => return,
        Some(_) => Change::Refused(ResponseError::DuplicateResource, ALTERED_TWICE.into()),
        None => {
            order.push(user);
            match verdict {
                Ok(()) => change,
                Err((error, message)) => Change::Refused(error, message),
            }
        }
    };
    changes.insert(user, next);
}

fn ok(user: &str) -> ScramResult {
    ScramResult {
        user: user.to_owned(),
        error_code: 0,
        error_message: None,
    }
}

/// `validateUpsertion`: a known mechanism and iterations within Kafka's bounds.
fn validate_upsertion(u: &ScramUpsertion) -> Result<(), (ResponseError, String)> {
    validate_user_and_mechanism(&u.user, u.mechanism)?;
    let iterations = u.credential.iterations;
    if iterations < SCRAM_MIN_ITERATIONS {
        return Err((
            ResponseError::UnacceptableCredential,
            "Too few iterations".into(),
        ));
    }
    if iterations > SCRAM_MAX_ITERATIONS {
        return Err((
            ResponseError::UnacceptableCredential,
            "Too many iterations".into(),
        ));
    }
    Ok(())
}

/// `validateScramUsernameAndMechanism`.
fn validate_user_and_mechanism(user: &str, mechanism: i8) -> Result<(), (ResponseError, String)> {
    if user.is_empty() {
        return Err((
            ResponseError::UnacceptableCredential,
            "Username must not be empty".into(),
        ));
    }
    if mechanism != SCRAM_SHA_256 && mechanism != SCRAM_SHA_512 {
        return Err((
            ResponseError::UnsupportedSaslMechanism,
            "Unknown SCRAM mechanism".into(),
        ));
    }
    Ok(())
}
