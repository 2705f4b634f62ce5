//! Clusters: create, read, list, change (with optimistic concurrency), delete, tags.

use sluice_model::{
    ChangeRefused, Cluster, ClusterOperation, ClusterSpec, ClusterState, ConfigurationRef,
    ErrorInfo, Operation, OperationState, OperationType, SpecChange, StateInfo, Tags, TenantId,
    ValidCreateCluster,
};
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::rows::{cluster_state, ClusterRow, OperationRow, CLUSTER_COLUMNS, OPERATION_COLUMNS};
use crate::{Page, PageRequest, Resource, Store, StoreError};

/// Filters of a cluster list.
#[derive(Debug, Clone, Default)]
pub struct ClusterFilter {
    pub name_prefix: Option<String>,
    pub state: Option<ClusterState>,
}

/// What a create did.
#[derive(Debug, Clone)]
pub struct CreateClusterOutcome {
    pub cluster: Cluster,
    pub operation: Operation,
    /// True when the create was a retry of an earlier one with the same token.
    pub replayed: bool,
}

type Tx<'a> = Transaction<'a, Postgres>;

mod changes;

/// A live cluster's id and row version; the version changes with every write to the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterStamp {
    pub id: Uuid,
    pub row_version: i64,
}

#[derive(sqlx::FromRow)]
struct StampedClusterRow {
    row_version: i64,
    #[sqlx(flatten)]
    cluster: ClusterRow,
}

/// The filter and keyset page of a cluster list; binds $1..$5 as [`bind_list`] does.
const LIST_WHERE: &str = "FROM clusters WHERE tenant = $1 AND deleted_at IS NULL \
     AND ($2::uuid IS NULL OR id > $2) \
     AND ($3::text IS NULL OR starts_with(name, $3)) \
     AND ($4::text IS NULL OR state = $4) \
     ORDER BY id LIMIT $5";

fn bind_list<'q, O>(
    q: sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments>,
    tenant: &'q TenantId,
    filter: &'q ClusterFilter,
    page: PageRequest,
) -> sqlx::query::QueryAs<'q, Postgres, O, sqlx::postgres::PgArguments> {
    q.bind(tenant.as_str())
        .bind(page.after)
        .bind(filter.name_prefix.as_deref())
        .bind(filter.state.map(|s| s.as_str()))
        .bind(i64::from(page.limit) + 1)
}

impl Store {
    /// Creates a cluster in CREATING with its CREATE_CLUSTER operation. With a client request
    /// token, a retry whose `fingerprint` matches returns the first result (`replayed`).
    pub async fn create_cluster(
        &self,
        tenant: &TenantId,
        req: &ValidCreateCluster,
        fingerprint: &str,
    ) -> Result<CreateClusterOutcome, StoreError> {
        if let Some(token) = &req.client_request_token {
            if let Some(found) = self.replay(tenant, token, fingerprint).await? {
                return Ok(found);
            }
        }
        let id = Uuid::now_v7();
        let op_id = Uuid::now_v7();
        // One statement writes the cluster and its operation (the foreign key is checked at the
        // end of the statement), so a create costs one round trip and one commit.
        let sql = format!(
            "WITH op AS (INSERT INTO operations (id, tenant, cluster_id, operation_type, state, target) \
             VALUES ($7, $2, $1, $11, $12, $5)) \
             INSERT INTO clusters (id, tenant, name, state, spec, tags, active_operation_id, configuration_id, \
             client_request_token, request_fingerprint) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             RETURNING {CLUSTER_COLUMNS}"
        );
        let insert = sqlx::query_as::<_, ClusterRow>(&sql)
            .bind(id)
            .bind(tenant.as_str())
            .bind(req.name.as_str())
            .bind(ClusterState::Creating.as_str())
            .bind(Json(&req.spec))
            .bind(Json(req.tags.as_map()))
            .bind(op_id)
            .bind(req.spec.configuration.map(|c| c.id))
            .bind(req.client_request_token.as_deref())
            .bind(fingerprint)
            .bind(OperationType::CreateCluster.as_str())
            .bind(OperationState::Pending.as_str());
        let inserted = match &req.spec.configuration {
            None => insert.fetch_one(&self.pool).await,
            Some(c) => {
                let mut tx = self.pool.begin().await?;
                check_configuration(&mut tx, tenant, c, &req.spec.kafka_version).await?;
                let row = insert.fetch_one(&mut *tx).await;
                if row.is_ok() {
                    tx.commit().await?;
                }
                row
            }
        };
        let row = match inserted {
            Ok(row) => row,
            Err(e) => {
                let err = StoreError::on_unique(e, "clusters_tenant_name", StoreError::NameTaken);
                let err = match err {
                    StoreError::Database(e) => {
                        StoreError::on_unique(e, "clusters_tenant_token", StoreError::TokenReused)
                    }
                    other => other,
                };
                // A concurrent create with the same token won the race (Postgres may report
                // either unique index first): answer as its retry.
                if let (StoreError::TokenReused | StoreError::NameTaken, Some(token)) =
                    (&err, &req.client_request_token)
                {
                    if let Some(found) = self.replay(tenant, token, fingerprint).await? {
                        return Ok(found);
                    }
                }
                return Err(err);
            }
        };
        let cluster: Cluster = row.try_into()?;
        // Exactly the row the statement wrote: its timestamps are the transaction's, as the cluster's.
        let operation = Operation {
            id: op_id,
            cluster_id: id,
            operation_type: OperationType::CreateCluster,
            state: OperationState::Pending,
            broker_ids: Vec::new(),
            source: None,
            target: req.spec.clone(),
            steps: Vec::new(),
            error: None,
            created_at: cluster.created_at,
            updated_at: cluster.created_at,
            ended_at: None,
        };
        Ok(CreateClusterOutcome {
            cluster,
            operation,
            replayed: false,
        })
    }

    async fn replay(
        &self,
        tenant: &TenantId,
        token: &str,
        fingerprint: &str,
    ) -> Result<Option<CreateClusterOutcome>, StoreError> {
        let found: Option<(Uuid, Option<String>, bool)> = sqlx::query_as(
            "SELECT id, request_fingerprint, deleted_at IS NOT NULL FROM clusters \
             WHERE tenant = $1 AND client_request_token = $2",
        )
        .bind(tenant.as_str())
        .bind(token)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, stored, deleted)) = found else {
            return Ok(None);
        };
        if stored.as_deref() != Some(fingerprint) || deleted {
            return Err(StoreError::TokenReused);
        }
        let cluster = self.get_cluster(tenant, id).await?;
        let operation = sqlx::query_as::<_, OperationRow>(&format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE cluster_id = $1 AND operation_type = $2 \
             ORDER BY id LIMIT 1"
        ))
        .bind(id)
        .bind(OperationType::CreateCluster.as_str())
        .fetch_one(&self.pool)
        .await?
        .try_into()?;
        Ok(Some(CreateClusterOutcome {
            cluster,
            operation,
            replayed: true,
        }))
    }

    /// One live cluster of the tenant.
    pub async fn get_cluster(&self, tenant: &TenantId, id: Uuid) -> Result<Cluster, StoreError> {
        sqlx::query_as::<_, ClusterRow>(&format!(
            "SELECT {CLUSTER_COLUMNS} FROM clusters WHERE id = $1 AND tenant = $2 AND deleted_at IS NULL"
        ))
        .bind(id)
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(Resource::Cluster))?
        .try_into()
    }

    /// A page of the tenant's live clusters, oldest first, as stamps only: a cheap query that
    /// lets a caller holding rendered clusters fetch just the ones that changed.
    pub async fn list_cluster_stamps(
        &self,
        tenant: &TenantId,
        filter: &ClusterFilter,
        page: PageRequest,
    ) -> Result<Page<ClusterStamp>, StoreError> {
        // No name holds NUL (which Postgres text cannot carry either): such a prefix matches none.
        if filter
            .name_prefix
            .as_deref()
            .is_some_and(|p| p.contains('\0'))
        {
            return Ok(Page {
                items: Vec::new(),
                next_token: None,
            });
        }
        let rows = bind_list(
            sqlx::query_as::<_, (Uuid, i64)>(&format!("SELECT id, row_version {LIST_WHERE}")),
            tenant,
            filter,
            page,
        )
        .fetch_all(&self.pool)
        .await?;
        let stamps = rows
            .into_iter()
            .map(|(id, row_version)| ClusterStamp { id, row_version })
            .collect();
        Ok(Page::from_rows(stamps, page.limit, |s| s.id))
    }

    /// The stamp of one live cluster of the tenant.
    pub async fn cluster_stamp(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<ClusterStamp, StoreError> {
        let (row_version,): (i64,) = sqlx::query_as(
            "SELECT row_version FROM clusters WHERE id = $1 AND tenant = $2 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound(Resource::Cluster))?;
        Ok(ClusterStamp { id, row_version })
    }

    /// Live clusters of the tenant by id, each with its stamp; ids not found are left out.
    pub async fn get_clusters_stamped(
        &self,
        tenant: &TenantId,
        ids: &[Uuid],
    ) -> Result<Vec<(ClusterStamp, Cluster)>, StoreError> {
        let rows = sqlx::query_as::<_, StampedClusterRow>(&format!(
            "SELECT row_version, {CLUSTER_COLUMNS} FROM clusters \
             WHERE id = ANY($1) AND tenant = $2 AND deleted_at IS NULL"
        ))
        .bind(ids)
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let stamp = ClusterStamp {
                    id: r.cluster.id,
                    row_version: r.row_version,
                };
                Ok((stamp, Cluster::try_from(r.cluster)?))
            })
            .collect()
    }

    /// Sets a cluster's state and the reason for it.
    pub async fn set_cluster_state(
        &self,
        id: Uuid,
        state: ClusterState,
        info: Option<&StateInfo>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE clusters SET state = $2, state_info = $3, updated_at = now() WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(info.map(Json))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(Resource::Cluster));
        }
        Ok(())
    }

    /// Reads a cluster's state without the tenant check, for the reconciler.
    pub async fn cluster_state(&self, id: Uuid) -> Result<ClusterState, StoreError> {
        let (s,): (String,) =
            sqlx::query_as("SELECT state FROM clusters WHERE id = $1 AND deleted_at IS NULL")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound(Resource::Cluster))?;
        cluster_state(&s)
    }
}

async fn lock_cluster(tx: &mut Tx<'_>, tenant: &TenantId, id: Uuid) -> Result<Cluster, StoreError> {
    sqlx::query_as::<_, ClusterRow>(&format!(
        "SELECT {CLUSTER_COLUMNS} FROM clusters WHERE id = $1 AND tenant = $2 AND deleted_at IS NULL FOR UPDATE"
    ))
    .bind(id)
    .bind(tenant.as_str())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(StoreError::NotFound(Resource::Cluster))?
    .try_into()
}

/// Checks a configuration revision exists in the tenant (404 when it or its configuration does
/// not) and allows the Kafka version (a conflict when not), and holds a share lock on it so it
/// cannot be deleted before the transaction commits.
async fn check_configuration(
    tx: &mut Tx<'_>,
    tenant: &TenantId,
    c: &ConfigurationRef,
    kafka_version: &str,
) -> Result<(), StoreError> {
    let found: Option<(Vec<String>, bool)> = sqlx::query_as(
        "SELECT c.kafka_versions, EXISTS (SELECT 1 FROM configuration_revisions r \
         WHERE r.configuration_id = c.id AND r.revision = $3) FROM configurations c \
         WHERE c.id = $1 AND c.tenant = $2 FOR KEY SHARE OF c",
    )
    .bind(c.id)
    .bind(tenant.as_str())
    .bind(c.revision)
    .fetch_optional(&mut **tx)
    .await?;
    match found {
        None => Err(StoreError::NotFound(Resource::Configuration)),
        Some((_, false)) => Err(StoreError::NotFound(Resource::ConfigurationRevision)),
        Some((versions, true))
            if !versions.is_empty() && !versions.iter().any(|v| v == kafka_version) =>
        {
            Err(StoreError::change(
                "configuration",
                format!(
                    "the configuration allows Kafka {} but the cluster runs {kafka_version}",
                    versions.join(", ")
                ),
            ))
        }
        Some(_) => Ok(()),
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one column each of the operations row, bound in one INSERT"
)]
pub(crate) async fn insert_operation(
    tx: &mut Tx<'_>,
    id: Uuid,
    tenant: &TenantId,
    cluster_id: Uuid,
    op_type: OperationType,
    broker_ids: &[u32],
    source: Option<&ClusterSpec>,
    target: &ClusterSpec,
) -> Result<Operation, StoreError> {
    let ids: Vec<i32> = broker_ids.iter().map(|b| *b as i32).collect();
    sqlx::query_as::<_, OperationRow>(&format!(
        "INSERT INTO operations (id, tenant, cluster_id, operation_type, state, broker_ids, source, target) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {OPERATION_COLUMNS}"
    ))
    .bind(id)
    .bind(tenant.as_str())
    .bind(cluster_id)
    .bind(op_type.as_str())
    .bind(OperationState::Pending.as_str())
    .bind(ids)
    .bind(source.map(Json))
    .bind(Json(target))
    .fetch_one(&mut **tx)
    .await?
    .try_into()
}
