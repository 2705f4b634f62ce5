//! The reconciler's reads and writes: cluster snapshots across tenants, leases, heal operations.
//!
//! These queries are not tenant-scoped on purpose: the reconciler works for every tenant and
//! starts from cluster ids, never from a caller's request.

use std::time::Duration;

use sluice_model::{ClusterSpec, ClusterState, Operation, OperationType, TenantId};
use sqlx::types::Json;
use uuid::Uuid;

use crate::clusters::insert_operation;
use crate::rows::{cluster_state, OperationRow, OPERATION_COLUMNS};
use crate::{Store, StoreError};

/// What the reconciler needs of one live cluster: its desired spec and the operation carrying a
/// change out, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSnapshot {
    pub id: Uuid,
    pub tenant: TenantId,
    pub state: ClusterState,
    pub spec: ClusterSpec,
    pub operation: Option<Operation>,
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    id: Uuid,
    tenant: String,
    state: String,
    spec: Json<ClusterSpec>,
    active_operation_id: Option<Uuid>,
}

impl Store {
    /// Every live cluster, in two queries whatever their number (the periodic resync).
    /// With `only` set, just those clusters (a notification's wake-up).
    pub async fn cluster_snapshots(
        &self,
        only: Option<&[Uuid]>,
    ) -> Result<Vec<ClusterSnapshot>, StoreError> {
        let ids: Option<Vec<Uuid>> = only.map(<[Uuid]>::to_vec);
        let rows = sqlx::query_as::<_, SnapshotRow>(
            "SELECT id, tenant, state, spec, active_operation_id FROM clusters \
             WHERE deleted_at IS NULL AND ($1::uuid[] IS NULL OR id = ANY($1)) ORDER BY id",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        let op_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.active_operation_id).collect();
        let mut ops = std::collections::HashMap::new();
        if !op_ids.is_empty() {
            let op_rows = sqlx::query_as::<_, OperationRow>(&format!(
                "SELECT {OPERATION_COLUMNS} FROM operations WHERE id = ANY($1) \
                 AND state IN ('PENDING', 'IN_PROGRESS')"
            ))
            .bind(&op_ids)
            .fetch_all(&self.pool)
            .await?;
            for r in op_rows {
                let op = Operation::try_from(r)?;
                ops.insert(op.id, op);
            }
        }
        rows.into_iter()
            .map(|r| {
                Ok(ClusterSnapshot {
                    id: r.id,
                    tenant: TenantId::parse(&r.tenant).map_err(StoreError::Corrupt)?,
                    state: cluster_state(&r.state)?,
                    spec: r.spec.0,
                    operation: r.active_operation_id.and_then(|o| ops.remove(&o)),
                })
            })
            .collect()
    }

    /// Takes or renews the leases on `clusters` for `holder`, for `ttl`. A lease held by another
    /// holder is taken only once it has expired. Returns the clusters whose lease `holder` now holds.
    pub async fn acquire_leases(
        &self,
        holder: &str,
        clusters: &[Uuid],
        ttl: Duration,
    ) -> Result<Vec<Uuid>, StoreError> {
        let rows: Vec<(Uuid,)> = sqlx::query_as(
            "INSERT INTO reconcile_leases (cluster_id, holder, expires_at) \
             SELECT unnest($1::uuid[]), $2, now() + $3 * interval '1 millisecond' \
             ON CONFLICT (cluster_id) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at \
             WHERE reconcile_leases.holder = EXCLUDED.holder OR reconcile_leases.expires_at < now() \
             RETURNING cluster_id",
        )
        .bind(clusters)
        .bind(holder)
        .bind(ttl.as_millis() as f64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Extends every lease `holder` still holds; returns how many.
    pub async fn renew_leases(&self, holder: &str, ttl: Duration) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE reconcile_leases SET expires_at = now() + $2 * interval '1 millisecond' \
             WHERE holder = $1 AND expires_at >= now()",
        )
        .bind(holder)
        .bind(ttl.as_millis() as f64)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Gives up a lease (the cluster is gone, or the holder shuts down).
    pub async fn release_lease(
        &self,
        holder: &str,
        cluster: Option<Uuid>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM reconcile_leases WHERE holder = $1 AND ($2::uuid IS NULL OR cluster_id = $2)",
        )
        .bind(holder)
        .bind(cluster)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Starts a HEAL_CLUSTER operation on an ACTIVE cluster with no operation under way, moving it
    /// to HEALING. Returns `None` when the cluster is not in that state any more (another change
    /// won the race), which the caller treats as "nothing to do".
    pub async fn start_heal(
        &self,
        cluster_id: Uuid,
        broker_ids: &[u32],
    ) -> Result<Option<Operation>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row: Option<(String, Json<ClusterSpec>)> = sqlx::query_as(
            "SELECT tenant, spec FROM clusters WHERE id = $1 AND deleted_at IS NULL \
             AND state = 'ACTIVE' AND active_operation_id IS NULL FOR UPDATE",
        )
        .bind(cluster_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((tenant, Json(spec))) = row else {
            return Ok(None);
        };
        let tenant = TenantId::parse(&tenant).map_err(StoreError::Corrupt)?;
        let op_id = Uuid::now_v7();
        sqlx::query(
            "UPDATE clusters SET state = $2, state_info = NULL, active_operation_id = $3, \
             updated_at = now() WHERE id = $1",
        )
        .bind(cluster_id)
        .bind(OperationType::HealCluster.cluster_state().as_str())
        .bind(op_id)
        .execute(&mut *tx)
        .await?;
        let op = insert_operation(
            &mut tx,
            op_id,
            &tenant,
            cluster_id,
            OperationType::HealCluster,
            broker_ids,
            Some(&spec),
            &spec,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(op))
    }

    /// Explains why a cluster's operation cannot progress (shown as the cluster's `state_info`).
    /// Writes only when the explanation changes, so it does not wake the reconciler again
    /// (the change trigger fires on updated rows only).
    pub async fn explain_cluster_state(
        &self,
        id: Uuid,
        info: &sluice_model::StateInfo,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE clusters SET state_info = $2, updated_at = now() \
             WHERE id = $1 AND deleted_at IS NULL AND state_info IS DISTINCT FROM $2",
        )
        .bind(id)
        .bind(Json(info))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// One operation by id, across tenants.
    pub async fn operation_by_id(&self, id: Uuid) -> Result<Option<Operation>, StoreError> {
        sqlx::query_as::<_, OperationRow>(&format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(Operation::try_from)
        .transpose()
    }
}
