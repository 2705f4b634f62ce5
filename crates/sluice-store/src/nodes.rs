//! Nodes: the brokers the runtime reports for a cluster.

use sluice_model::{Node, TenantId};
use uuid::Uuid;

use crate::rows::NodeRow;
use crate::{Store, StoreError};

impl Store {
    /// The brokers of a live cluster of the tenant, by broker id.
    pub async fn list_nodes(
        &self,
        tenant: &TenantId,
        cluster_id: Uuid,
    ) -> Result<Vec<Node>, StoreError> {
        self.get_cluster(tenant, cluster_id).await?;
        let rows = sqlx::query_as::<_, NodeRow>(
            "SELECT broker_id, host, port, zone, state, kafka_version, updated_at FROM cluster_nodes \
             WHERE cluster_id = $1 ORDER BY broker_id",
        )
        .bind(cluster_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(Node::from).collect())
    }

    /// Records what the runtime observed of one broker.
    pub async fn upsert_node(&self, cluster_id: Uuid, node: &Node) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cluster_nodes (cluster_id, broker_id, host, port, zone, state, kafka_version, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, now()) \
             ON CONFLICT (cluster_id, broker_id) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port, \
             zone = EXCLUDED.zone, state = EXCLUDED.state, kafka_version = EXCLUDED.kafka_version, updated_at = now()",
        )
        .bind(cluster_id)
        .bind(node.broker_id as i32)
        .bind(&node.host)
        .bind(i32::from(node.port))
        .bind(node.zone.as_deref())
        .bind(&node.state)
        .bind(&node.kafka_version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets a broker that was removed.
    pub async fn remove_node(&self, cluster_id: Uuid, broker_id: u32) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cluster_nodes WHERE cluster_id = $1 AND broker_id = $2")
            .bind(cluster_id)
            .bind(broker_id as i32)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
