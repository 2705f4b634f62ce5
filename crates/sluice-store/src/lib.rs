//! Postgres persistence for Sluice's control plane.
//!
//! This crate owns the database: the schema (migrations in the workspace's `migrations/`), every
//! SQL statement, and the transactions that keep a cluster, its version and its operations
//! consistent.
//!
//! Invariants:
//! - The only crate that holds SQL.
//! - Every query is scoped by tenant: a row of another tenant is indistinguishable from a missing one.
//! - A spec change, its version bump, the cluster's state change and the operation that carries it
//!   out are written in one transaction, under a row lock, so of concurrent updates quoting the same
//!   version exactly one wins.
//! - Ids are UUIDv7, so ordering by id is ordering by creation; cursors are ids, so pages stay
//!   correct while rows are inserted.

mod clusters;
mod configurations;
mod error;
mod nodes;
mod operations;
mod paging;
mod reconcile;
mod rows;

use std::time::Duration;

pub use clusters::{ClusterFilter, ClusterStamp, CreateClusterOutcome};
pub use error::{Resource, StoreError};
pub use paging::{Page, PageRequest};
pub use reconcile::ClusterSnapshot;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

/// The channel on which cluster changes are announced, carrying the cluster id.
pub const CLUSTER_CHANGED_CHANNEL: &str = "sluice_cluster_changed";

/// Embedded migrations from the workspace's `migrations/` directory.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Handle to the control plane's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects a pool of at most `max_connections`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Store { pool })
    }

    /// Wraps an existing pool (tests get one per database from `#[sqlx::test]`).
    pub fn from_pool(pool: PgPool) -> Store {
        Store { pool }
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Pool figures for metrics: (connections open, of which idle, maximum).
    pub fn pool_stats(&self) -> (u32, u32, u32) {
        (
            self.pool.size(),
            self.pool.num_idle() as u32,
            self.pool.options().get_max_connections(),
        )
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Subscribes to cluster changes; each notification carries the changed cluster's id.
    pub async fn listen_cluster_changes(&self) -> Result<sqlx::postgres::PgListener, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(CLUSTER_CHANGED_CHANNEL).await?;
        Ok(listener)
    }
}
