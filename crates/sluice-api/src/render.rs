//! Rendered JSON of clusters, cached by row version.
//!
//! Reading a cluster costs more in decoding its JSON columns and encoding the answer than in the
//! query itself. The cache keeps each cluster's rendered JSON keyed by the row version Postgres
//! bumps on every write, so a reader asks the database only for versions (a cheap query) and
//! fetches and renders just the rows that changed. Freshness comes from the database on every
//! request, so replicas never serve each other's stale writes.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::body::Bytes;
use sluice_model::TenantId;
use sluice_store::{ClusterStamp, Store};
use uuid::Uuid;

use crate::error::ApiError;

/// Entries kept before the cache is emptied; far more clusters than one control plane serves.
const MAX_ENTRIES: usize = 200_000;

#[derive(Debug, Default)]
pub struct ClusterRenderCache {
    map: RwLock<HashMap<Uuid, (i64, Bytes)>>,
}

impl ClusterRenderCache {
    fn get(&self, stamp: ClusterStamp) -> Option<Bytes> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(&stamp.id)
            .filter(|(v, _)| *v == stamp.row_version)
            .map(|(_, b)| b.clone())
    }

    fn put(&self, stamp: ClusterStamp, json: Bytes) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        match map.get(&stamp.id) {
            // Never replace a newer rendering with an older one read by a slower request.
            Some((v, _)) if *v > stamp.row_version => {}
            _ => {
                map.insert(stamp.id, (stamp.row_version, json));
            }
        }
    }

    /// The JSON of each stamped cluster, in order; clusters deleted meanwhile are left out.
    pub async fn render(
        &self,
        store: &Store,
        tenant: &TenantId,
        stamps: &[ClusterStamp],
    ) -> Result<Vec<Bytes>, ApiError> {
        let mut out: Vec<Option<Bytes>> = stamps.iter().map(|s| self.get(*s)).collect();
        let missing: Vec<Uuid> = stamps
            .iter()
            .zip(&out)
            .filter(|(_, b)| b.is_none())
            .map(|(s, _)| s.id)
            .collect();
        if !missing.is_empty() {
            let fetched = store.get_clusters_stamped(tenant, &missing).await?;
            let mut by_id: HashMap<Uuid, Bytes> = HashMap::with_capacity(fetched.len());
            for (stamp, cluster) in fetched {
                let json = Bytes::from(
                    serde_json::to_vec(&cluster).map_err(|e| ApiError::Internal(e.to_string()))?,
                );
                self.put(stamp, json.clone());
                by_id.insert(stamp.id, json);
            }
            for (slot, stamp) in out.iter_mut().zip(stamps) {
                if slot.is_none() {
                    *slot = by_id.remove(&stamp.id);
                }
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}
