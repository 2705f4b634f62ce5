//! AlterScramCredentials.

use kafka_protocol::error::ResponseError;

use super::Harness;
use crate::image::{
    Command, Reply, ScramCredential, ScramDeletion, ScramResult, ScramUpsertion, SCRAM_SHA_256,
    SCRAM_SHA_512,
};

pub(crate) fn credential(iterations: i32, tag: u8) -> ScramCredential {
    ScramCredential {
        salt: vec![tag; 16],
        iterations,
        stored_key: vec![tag.wrapping_add(1); 32],
        server_key: vec![tag.wrapping_add(2); 32],
    }
}

pub(crate) fn upsert(user: &str, mechanism: i8, iterations: i32) -> ScramUpsertion {
    ScramUpsertion {
        user: user.into(),
        mechanism,
        credential: credential(iterations, mechanism as u8),
    }
}

fn delete(user: &str, mechanism: i8) -> ScramDeletion {
    ScramDeletion {
        user: user.into(),
        mechanism,
    }
}

fn alter(
    h: &mut Harness,
    upsertions: Vec<ScramUpsertion>,
    deletions: Vec<ScramDeletion>,
) -> Vec<(String, i16)> {
    match h.run(Command::AlterScramCredentials {
        upsertions,
        deletions,
    }) {
        Reply::ScramResults(results) => results
            .into_iter()
            .map(
                |ScramResult {
                     user,
                     error_code,
                     error_message,
                 }| {
                    assert_eq!(error_code != 0, error_message.is_some(), "{user}");
                    (user, error_code)
                },
            )
            .collect(),
        other => panic!("expected ScramResults, got {other:?}"),
    }
}

fn res(user: &str, error: Option<ResponseError>) -> (String, i16) {
    (user.into(), error.map_or(0, |e| e.code()))
}

#[test]
fn upsert_stores_replaces_and_delete_removes() {
    let mut h = Harness::default();
    assert_eq!(
        alter(
            &mut h,
            vec![
                upsert("alice", SCRAM_SHA_256, 4096),
                upsert("bob", SCRAM_SHA_512, 16384)
            ],
            vec![]
        ),
        vec![res("alice", None), res("bob", None)]
    );
    assert_eq!(h.image.scram_version, 1);
    assert_eq!(
        h.image.scram_credential("alice", SCRAM_SHA_256),
        Some(&credential(4096, 1))
    );
    assert_eq!(h.image.scram_credential("alice", SCRAM_SHA_512), None);
    // One mechanism per request (Kafka keys a request's changes by user).
    alter(&mut h, vec![upsert("alice", SCRAM_SHA_512, 8192)], vec![]);
    let users: Vec<_> = h
        .image
        .scram_users()
        .map(|(u, m)| (u.to_owned(), m))
        .collect();
    assert_eq!(
        users,
        vec![
            ("alice".into(), vec![SCRAM_SHA_256, SCRAM_SHA_512]),
            ("bob".into(), vec![SCRAM_SHA_512])
        ]
    );
    // Replace.
    let mut replaced = upsert("alice", SCRAM_SHA_256, 10000);
    replaced.credential = credential(10000, 9);
    alter(&mut h, vec![replaced], vec![]);
    assert_eq!(
        h.image.scram_credential("alice", SCRAM_SHA_256),
        Some(&credential(10000, 9))
    );
    // Delete one mechanism, then the user's last one: the user is gone.
    assert_eq!(
        alter(&mut h, vec![], vec![delete("alice", SCRAM_SHA_256)]),
        vec![res("alice", None)]
    );
    assert!(h.image.scram_credential("alice", SCRAM_SHA_256).is_none());
    alter(&mut h, vec![], vec![delete("alice", SCRAM_SHA_512)]);
    assert_eq!(h.image.scram_users().count(), 1);
    assert_eq!(h.image.scram_version, 5);
}

#[test]
fn deleting_a_missing_credential_is_resource_not_found() {
    let mut h = Harness::default();
    alter(&mut h, vec![upsert("alice", SCRAM_SHA_256, 4096)], vec![]);
    let before = h.image.clone();
    assert_eq!(
        alter(
            &mut h,
            vec![],
            vec![
                delete("alice", SCRAM_SHA_512),
                delete("nobody", SCRAM_SHA_256)
            ]
        ),
        vec![
            res("alice", Some(ResponseError::ResourceNotFound)),
            res("nobody", Some(ResponseError::ResourceNotFound))
        ]
    );
    assert_eq!(h.image.scram, before.scram);
    assert_eq!(h.image.scram_version, before.scram_version);
}

#[test]
fn unknown_mechanisms_are_unsupported() {
    let mut h = Harness::default();
    assert_eq!(
        alter(
            &mut h,
            vec![upsert("a", 0, 4096), upsert("b", 3, 4096)],
            vec![delete("c", -1)]
        ),
        vec![
            res("c", Some(ResponseError::UnsupportedSaslMechanism)),
            res("a", Some(ResponseError::UnsupportedSaslMechanism)),
            res("b", Some(ResponseError::UnsupportedSaslMechanism)),
        ]
    );
    assert!(h.image.scram.is_empty());
}

#[test]
fn iterations_outside_bounds_and_empty_users_are_unacceptable() {
    let mut h = Harness::default();
    assert_eq!(
        alter(
            &mut h,
            vec![
                upsert("few", SCRAM_SHA_256, 4095),
                upsert("many", SCRAM_SHA_512, 16385),
                upsert("", SCRAM_SHA_256, 4096),
                upsert("fine", SCRAM_SHA_256, 4096),
            ],
            vec![delete("", SCRAM_SHA_256)]
        ),
        vec![
            res("", Some(ResponseError::UnacceptableCredential)),
            res("few", Some(ResponseError::UnacceptableCredential)),
            res("many", Some(ResponseError::UnacceptableCredential)),
            res("fine", None),
        ]
    );
    // The valid user's change applied; the others changed nothing.
    assert_eq!(h.image.scram.keys().collect::<Vec<_>>(), vec!["fine"]);
}

#[test]
fn a_user_changed_twice_is_a_duplicate_and_nothing_of_it_applies() {
    let mut h = Harness::default();
    alter(&mut h, vec![upsert("del", SCRAM_SHA_256, 4096)], vec![]);
    let reply = alter(
        &mut h,
        vec![
            // Same user and mechanism twice.
            upsert("twice", SCRAM_SHA_256, 4096),
            upsert("twice", SCRAM_SHA_256, 8192),
            // Two mechanisms of one user: Kafka's KRaft controller refuses that too.
            upsert("both", SCRAM_SHA_256, 4096),
            upsert("both", SCRAM_SHA_512, 4096),
            // A deletion and an upsertion of one user.
            upsert("del", SCRAM_SHA_512, 4096),
            // A third change of a duplicate stays one result.
            upsert("twice", SCRAM_SHA_512, 4096),
            upsert("ok", SCRAM_SHA_512, 4096),
        ],
        vec![delete("del", SCRAM_SHA_256)],
    );
    let dup = Some(ResponseError::DuplicateResource);
    assert_eq!(
        reply,
        vec![
            res("del", dup),
            res("twice", dup),
            res("both", dup),
            res("ok", None)
        ]
    );
    assert!(h.image.scram_credential("del", SCRAM_SHA_256).is_some());
    assert!(h.image.scram_credential("del", SCRAM_SHA_512).is_none());
    assert_eq!(h.image.scram.keys().collect::<Vec<_>>(), vec!["del", "ok"]);
}

#[test]
fn the_first_error_of_a_user_sticks() {
    let mut h = Harness::default();
    // An invalid first change is reported as such, not as a duplicate.
    assert_eq!(
        alter(
            &mut h,
            vec![
                upsert("u", SCRAM_SHA_256, 1),
                upsert("u", SCRAM_SHA_256, 4096)
            ],
            vec![]
        ),
        vec![res("u", Some(ResponseError::UnacceptableCredential))]
    );
    assert!(h.image.scram.is_empty());
}

#[test]
fn credentials_never_show_in_debug_output() {
    let text = format!("{:?}", upsert("alice", SCRAM_SHA_256, 4096));
    assert!(text.contains("alice") && text.contains("4096"));
    assert!(
        !text.contains("salt") && !text.contains("stored_key"),
        "{text}"
    );
}
