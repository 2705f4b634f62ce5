//! The store against a real Postgres: what the API tests cannot see from outside.

use std::time::Duration;

use sluice_model::{ClusterState, CreateClusterRequest, SpecChange, TenantId};
use sluice_store::{ClusterFilter, PageRequest, Store, StoreError};
use sqlx::PgPool;

fn request(name: &str) -> sluice_model::ValidCreateCluster {
    serde_json::from_value::<CreateClusterRequest>(serde_json::json!({
        "name": name, "kafka_version": "3.7.0", "broker_count": 3, "storage_gib": 10
    }))
    .unwrap()
    .validate()
    .unwrap()
}

#[sqlx::test(migrations = "../../migrations")]
async fn cluster_changes_are_announced(pool: PgPool) {
    let store = Store::from_pool(pool);
    let mut listener = store.listen_cluster_changes().await.unwrap();
    let tenant = TenantId::parse("t").unwrap();
    let created = store
        .create_cluster(&tenant, &request("a"), "fp")
        .await
        .unwrap();
    let id = created.cluster.id;
    async fn next(l: &mut sqlx::postgres::PgListener) -> String {
        let n = tokio::time::timeout(Duration::from_secs(10), l.recv())
            .await
            .expect("a notification")
            .unwrap();
        n.payload().to_owned()
    }
    assert_eq!(next(&mut listener).await, id.to_string());
    store
        .complete_operation(created.operation.id)
        .await
        .unwrap();
    assert_eq!(next(&mut listener).await, id.to_string());
    store
        .update_cluster(&tenant, id, 1, &SpecChange::Storage(20))
        .await
        .unwrap();
    assert_eq!(next(&mut listener).await, id.to_string());
}

#[sqlx::test(migrations = "../../migrations")]
async fn stamps_change_with_every_write(pool: PgPool) {
    let store = Store::from_pool(pool);
    let tenant = TenantId::parse("t").unwrap();
    let created = store
        .create_cluster(&tenant, &request("a"), "fp")
        .await
        .unwrap();
    let id = created.cluster.id;
    let s1 = store.cluster_stamp(&tenant, id).await.unwrap();
    store
        .set_cluster_state(id, ClusterState::Maintenance, None)
        .await
        .unwrap();
    let s2 = store.cluster_stamp(&tenant, id).await.unwrap();
    let tags = sluice_model::Tags::parse(
        &[("k".to_string(), "v".to_string())].into(),
        "tags",
        &mut Default::default(),
    )
    .unwrap();
    store.tag_cluster(&tenant, id, &tags).await.unwrap();
    let s3 = store.cluster_stamp(&tenant, id).await.unwrap();
    assert!(s1.row_version < s2.row_version && s2.row_version < s3.row_version);
    let page = store
        .list_cluster_stamps(
            &tenant,
            &ClusterFilter::default(),
            PageRequest::parse(None, None).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.items, vec![s3]);
    let other = TenantId::parse("u").unwrap();
    assert!(matches!(
        store.cluster_stamp(&other, id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store
        .get_clusters_stamped(&other, &[id])
        .await
        .unwrap()
        .is_empty());
}
