use sluice_model::{ClusterState, FieldError};

/// The kinds of stored resource, for not-found errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Cluster,
    Operation,
    Configuration,
    ConfigurationRevision,
}

/// Everything the store can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The resource does not exist in the caller's tenant.
    #[error("{0:?} not found")]
    NotFound(Resource),
    /// The caller quoted a version that is no longer current.
    #[error("version conflict: the current version is {current}")]
    VersionConflict { current: i64 },
    /// The resource's state does not allow this change.
    #[error("the cluster is {state}")]
    InvalidState { state: ClusterState },
    /// Another live resource of the tenant has this name.
    #[error("the name is already taken")]
    NameTaken,
    /// An idempotency token was reused for a different request.
    #[error("the client request token was used for a different request")]
    TokenReused,
    /// A configuration is applied to a cluster and cannot be deleted.
    #[error("the configuration is in use by a cluster")]
    ConfigurationInUse,
    /// The request is invalid in itself (a bad page token or size).
    #[error("invalid request")]
    Validation(Vec<FieldError>),
    /// The request is valid but conflicts with what is stored: the same broker count again, a
    /// downgrade, a configuration that excludes the cluster's Kafka version, too many tags.
    #[error("the change does not apply to the resource as it stands")]
    InvalidChange(Vec<FieldError>),
    /// A stored row could not be decoded: a bug or a manual edit.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    /// Whether the database could not be reached (as opposed to refusing or failing a statement).
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
            )
        )
    }

    pub(crate) fn field(field: &str, message: impl Into<String>) -> StoreError {
        StoreError::Validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    pub(crate) fn change(field: &str, message: impl Into<String>) -> StoreError {
        StoreError::InvalidChange(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// Maps a unique violation of the named index to `then`; other errors pass through.
    pub(crate) fn on_unique(e: sqlx::Error, index: &str, then: StoreError) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.constraint() == Some(index) => then,
            _ => StoreError::Database(e),
        }
    }
}
