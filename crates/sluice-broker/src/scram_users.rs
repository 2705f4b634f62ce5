//! The bootstrap of SCRAM users (`sluice.sasl.users.file`): the first admin and the brokers'
//! own user must exist before anyone can authenticate to create more. Each broker makes sure
//! that every listed user has SCRAM-SHA-256 and SCRAM-SHA-512 credentials matching its
//! password in the replicated metadata, proposing AlterScramCredentials for those that do not
//! (new users, changed passwords). Brokers started with the same file agree, so whichever
//! writes last, every broker's check then passes.

use std::sync::Arc;
use std::time::Duration;

use sluice_auth::{ScramCredential, ScramMechanism};
use sluice_meta::image::{MetadataImage, Reply, ScramUpsertion};
use sluice_meta::Command;
use tokio::sync::watch;

use crate::authz::convert::{scram_from_meta, scram_to_meta};
use crate::broker::Broker;

/// Iterations of the credentials written here (Kafka's minimum, and its tools' default).
const ITERATIONS: u32 = 4096;
/// Pause between attempts while the metadata quorum cannot take the proposal.
const RETRY: Duration = Duration::from_millis(500);

/// The next upsertions towards `users` matching the image: credentials missing or not
/// matching their password. One per user: as in Kafka's KRaft controller, a request that
/// changes a user twice is refused for that user, so the second mechanism waits for the next
/// round.
fn missing(image: &MetadataImage, users: &[(String, String)]) -> Vec<ScramUpsertion> {
    let mut out: Vec<ScramUpsertion> = Vec::new();
    for (user, password) in users {
        for m in ScramMechanism::ALL {
            if out.iter().any(|u| u.user == *user) {
                break;
            }
            let current = image
                .scram_credential(user, m.wire_code())
                .and_then(scram_from_meta);
            if current.is_some_and(|c| c.verify_password(m, password)) {
                continue;
            }
            let Ok(c) = ScramCredential::generate(m, password, ITERATIONS) else {
                continue;
            };
            out.push(ScramUpsertion {
                user: user.clone(),
                mechanism: m.wire_code(),
                credential: scram_to_meta(c),
            });
        }
    }
    out
}

/// Proposes the listed users' credentials until the image holds them, or `stop`.
pub(crate) async fn ensure(
    broker: Arc<Broker>,
    users: Vec<(String, String)>,
    mut stop: watch::Receiver<bool>,
) {
    if users.is_empty() {
        return;
    }
    let mut images = broker.meta.image();
    loop {
        let image = images.borrow_and_update().clone();
        let upsertions = missing(&image, &users);
        if upsertions.is_empty() {
            tracing::info!(
                users = users.len(),
                "SCRAM users from sluice.sasl.users.file are in place"
            );
            return;
        }
        let count = upsertions.len();
        match broker
            .propose(Command::AlterScramCredentials {
                upsertions,
                deletions: Vec::new(),
            })
            .await
        {
            Ok(Reply::ScramResults(results)) => {
                for r in results.iter().filter(|r| r.error_code != 0) {
                    tracing::error!(user = %r.user, code = r.error_code, message = ?r.error_message, "a bootstrap SCRAM user was refused");
                }
                if results.iter().any(|r| r.error_code != 0) {
                    return;
                }
                tracing::info!(credentials = count, "bootstrap SCRAM credentials written");
            }
            other => tracing::debug!(
                ?other,
                "bootstrap SCRAM credentials not written yet; retrying"
            ),
        }
        tokio::select! {
            _ = tokio::time::sleep(RETRY) => {}
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_credentials_and_changed_passwords_are_proposed_matching_ones_are_not() {
        let mut image = MetadataImage::default();
        let users = vec![
            ("admin".to_string(), "pw".to_string()),
            ("broker".to_string(), "b".to_string()),
        ];
        for round in 1..=2 {
            let next = missing(&image, &users);
            assert_eq!(next.len(), 2, "round {round}: one credential per user");
            let reply = image.apply(
                round,
                &Command::AlterScramCredentials {
                    upsertions: next,
                    deletions: Vec::new(),
                },
            );
            assert!(
                matches!(reply, Reply::ScramResults(ref r) if r.iter().all(|r| r.error_code == 0)),
                "{reply:?}"
            );
        }
        assert!(missing(&image, &users).is_empty());
        let changed = vec![("admin".to_string(), "new".to_string())];
        assert_eq!(missing(&image, &changed).len(), 1);
    }
}
