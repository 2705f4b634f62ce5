//! Operations: reading them, and the reconciler's writes that move them along.

use sluice_model::{
    ClusterState, ErrorInfo, Operation, OperationState, OperationStep, OperationType, TenantId,
};
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::{OperationRow, OPERATION_COLUMNS};
use crate::{Page, PageRequest, Resource, Store, StoreError};

impl Store {
    /// One operation of the tenant.
    pub async fn get_operation(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Operation, StoreError> {
        sqlx::query_as::<_, OperationRow>(&format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE id = $1 AND tenant = $2"
        ))
        .bind(id)
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(Resource::Operation))?
        .try_into()
    }

    /// A page of a live cluster's operations, newest first.
    pub async fn list_operations(
        &self,
        tenant: &TenantId,
        cluster_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<Operation>, StoreError> {
        // Distinguishes "no such cluster" from "no operations".
        self.get_cluster(tenant, cluster_id).await?;
        let rows = sqlx::query_as::<_, OperationRow>(&format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE cluster_id = $1 AND tenant = $2 \
             AND ($3::uuid IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
        ))
        .bind(cluster_id)
        .bind(tenant.as_str())
        .bind(page.after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let ops = rows
            .into_iter()
            .map(Operation::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(ops, page.limit, |o| o.id))
    }

    /// Records an operation's steps and moves it to IN_PROGRESS.
    pub async fn record_steps(&self, id: Uuid, steps: &[OperationStep]) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE operations SET steps = $2, state = $3, updated_at = now() \
             WHERE id = $1 AND state IN ('PENDING', 'IN_PROGRESS')",
        )
        .bind(id)
        .bind(Json(steps))
        .bind(OperationState::InProgress.as_str())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Resource::Operation));
        }
        Ok(())
    }

    /// Ends an operation well: the cluster becomes ACTIVE, or, for a delete, is gone.
    pub async fn complete_operation(&self, id: Uuid) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let (cluster_id, op_type) =
            end_operation(&mut tx, id, OperationState::UpdateComplete, None).await?;
        if op_type == OperationType::DeleteCluster {
            sqlx::query(
                "UPDATE clusters SET deleted_at = now(), configuration_id = NULL, active_operation_id = NULL, \
                 updated_at = now() WHERE id = $1",
            )
            .bind(cluster_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM cluster_nodes WHERE cluster_id = $1")
                .bind(cluster_id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "UPDATE clusters SET state = $2, state_info = NULL, active_operation_id = NULL, updated_at = now() \
                 WHERE id = $1 AND active_operation_id = $3",
            )
            .bind(cluster_id)
            .bind(ClusterState::Active.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends an operation badly. The cluster moves to `cluster_state` (FAILED for a create that could
    /// not finish; ACTIVE for an update rolled back, whose spec then returns to the source).
    pub async fn fail_operation(
        &self,
        id: Uuid,
        error: &ErrorInfo,
        cluster_state: ClusterState,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let (cluster_id, _) =
            end_operation(&mut tx, id, OperationState::UpdateFailed, Some(error)).await?;
        let info = sluice_model::StateInfo {
            code: error.code.clone(),
            message: error.message.clone(),
        };
        sqlx::query(
            "UPDATE clusters c SET state = $2, state_info = $3, active_operation_id = NULL, updated_at = now(), \
               spec = COALESCE(o.source, c.spec), version = c.version + (o.source IS NOT NULL)::int, \
               configuration_id = COALESCE((o.source -> 'configuration' ->> 'id')::uuid, \
                                           CASE WHEN o.source IS NULL THEN c.configuration_id END) \
             FROM operations o WHERE c.id = $1 AND o.id = $4 AND c.active_operation_id = $4",
        )
        .bind(cluster_id)
        .bind(cluster_state.as_str())
        .bind(Json(&info))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn end_operation(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    id: Uuid,
    state: OperationState,
    error: Option<&ErrorInfo>,
) -> Result<(Uuid, OperationType), StoreError> {
    let (cluster_id, op_type): (Uuid, String) = sqlx::query_as(
        "UPDATE operations SET state = $2, error = $3, updated_at = now(), ended_at = now() \
         WHERE id = $1 AND state IN ('PENDING', 'IN_PROGRESS') RETURNING cluster_id, operation_type",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(error.map(Json))
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound(Resource::Operation))?;
    let op_type = OperationType::parse(&op_type)
        .ok_or_else(|| StoreError::Corrupt(format!("operation type {op_type:?}")))?;
    Ok((cluster_id, op_type))
}
