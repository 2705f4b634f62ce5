//! Changes to a stored cluster: spec updates (with optimistic concurrency), deletes and tags,
//! each in one transaction under the cluster's row lock with the operation it starts.

use super::*;

impl Store {
    /// Applies `change` if the cluster is ACTIVE and at `expected_version`: bumps the version,
    /// moves the cluster to the operation's state and records the operation, atomically.
    pub async fn update_cluster(
        &self,
        tenant: &TenantId,
        id: Uuid,
        expected_version: i64,
        change: &SpecChange,
    ) -> Result<ClusterOperation, StoreError> {
        let mut tx = self.pool.begin().await?;
        let current = lock_cluster(&mut tx, tenant, id).await?;
        if current.current_version != expected_version {
            return Err(StoreError::VersionConflict {
                current: current.current_version,
            });
        }
        if !current.state.accepts_updates() {
            return Err(StoreError::InvalidState {
                state: current.state,
            });
        }
        let next = current.spec.apply(change).map_err(|e| match e {
            ChangeRefused::Invalid(errors) => StoreError::Validation(errors),
            ChangeRefused::Conflict(errors) => StoreError::InvalidChange(errors),
        })?;
        if let Some(c) = &next.configuration {
            if next.configuration != current.spec.configuration
                || next.kafka_version != current.spec.kafka_version
            {
                check_configuration(&mut tx, tenant, c, &next.kafka_version).await?;
            }
        }
        let op_type = change.operation_type();
        let out = self
            .transition(
                &mut tx,
                tenant,
                &current,
                &next,
                op_type,
                &change.broker_ids(),
            )
            .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Starts deleting a cluster (any state but DELETING). Unfinished operations are ended as
    /// superseded, since their target will never be reached.
    pub async fn delete_cluster(
        &self,
        tenant: &TenantId,
        id: Uuid,
        expected_version: Option<i64>,
    ) -> Result<ClusterOperation, StoreError> {
        let mut tx = self.pool.begin().await?;
        let current = lock_cluster(&mut tx, tenant, id).await?;
        if let Some(v) = expected_version {
            if current.current_version != v {
                return Err(StoreError::VersionConflict {
                    current: current.current_version,
                });
            }
        }
        if !current.state.accepts_delete() {
            return Err(StoreError::InvalidState {
                state: current.state,
            });
        }
        let superseded = ErrorInfo {
            code: "superseded-by-delete".into(),
            message: "the cluster is being deleted".into(),
        };
        sqlx::query(
            "UPDATE operations SET state = $2, error = $3, updated_at = now(), ended_at = now() \
             WHERE cluster_id = $1 AND state IN ('PENDING', 'IN_PROGRESS')",
        )
        .bind(id)
        .bind(OperationState::UpdateFailed.as_str())
        .bind(Json(&superseded))
        .execute(&mut *tx)
        .await?;
        let out = self
            .transition(
                &mut tx,
                tenant,
                &current,
                &current.spec,
                OperationType::DeleteCluster,
                &[],
            )
            .await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn transition(
        &self,
        tx: &mut Tx<'_>,
        tenant: &TenantId,
        current: &Cluster,
        next: &ClusterSpec,
        op_type: OperationType,
        broker_ids: &[u32],
    ) -> Result<ClusterOperation, StoreError> {
        let op_id = Uuid::now_v7();
        let row = sqlx::query_as::<_, ClusterRow>(&format!(
            "UPDATE clusters SET spec = $2, version = version + 1, state = $3, state_info = NULL, \
             active_operation_id = $4, configuration_id = $5, updated_at = now() \
             WHERE id = $1 RETURNING {CLUSTER_COLUMNS}"
        ))
        .bind(current.id)
        .bind(Json(next))
        .bind(op_type.cluster_state().as_str())
        .bind(op_id)
        .bind(next.configuration.map(|c| c.id))
        .fetch_one(&mut **tx)
        .await?;
        let operation = insert_operation(
            tx,
            op_id,
            tenant,
            current.id,
            op_type,
            broker_ids,
            Some(&current.spec),
            next,
        )
        .await?;
        Ok(ClusterOperation {
            cluster: row.try_into()?,
            operation,
        })
    }

    /// Adds or overwrites tags of a live cluster.
    pub async fn tag_cluster(
        &self,
        tenant: &TenantId,
        id: Uuid,
        add: &Tags,
    ) -> Result<Tags, StoreError> {
        self.modify_tags("clusters", Resource::Cluster, tenant, id, |t| {
            t.merged(add).map_err(|e| StoreError::change("tags", e))
        })
        .await
    }

    /// Removes tags of a live cluster; missing keys are ignored.
    pub async fn untag_cluster(
        &self,
        tenant: &TenantId,
        id: Uuid,
        keys: &[String],
    ) -> Result<Tags, StoreError> {
        self.modify_tags("clusters", Resource::Cluster, tenant, id, |t| {
            Ok(t.without(keys))
        })
        .await
    }

    pub(crate) async fn modify_tags(
        &self,
        table: &'static str,
        resource: Resource,
        tenant: &TenantId,
        id: Uuid,
        change: impl FnOnce(&Tags) -> Result<Tags, StoreError>,
    ) -> Result<Tags, StoreError> {
        let live = if table == "clusters" {
            " AND deleted_at IS NULL"
        } else {
            ""
        };
        let mut tx = self.pool.begin().await?;
        let (Json(tags),): (Json<Tags>,) = sqlx::query_as(&format!(
            "SELECT tags FROM {table} WHERE id = $1 AND tenant = $2{live} FOR UPDATE"
        ))
        .bind(id)
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(resource))?;
        let next = change(&tags)?;
        sqlx::query(&format!("UPDATE {table} SET tags = $2 WHERE id = $1"))
            .bind(id)
            .bind(Json(&next))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(next)
    }

    // ---- Used by the reconciler (and by tests, until it lands) ----
}
