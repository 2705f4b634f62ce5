//! Broker configurations and their immutable revisions.

use sluice_model::{
    Configuration, ConfigurationRevision, ServerProperties, Tags, TenantId,
    ValidCreateConfiguration,
};
use sqlx::types::Json;
use uuid::Uuid;

use crate::rows::{ConfigurationRow, RevisionRow, CONFIGURATION_COLUMNS};
use crate::{Page, PageRequest, Resource, Store, StoreError};
use sluice_model::paging::{decode_revision_token, encode_revision_token};

impl Store {
    /// Creates a configuration with its first revision.
    pub async fn create_configuration(
        &self,
        tenant: &TenantId,
        req: &ValidCreateConfiguration,
    ) -> Result<Configuration, StoreError> {
        let id = Uuid::now_v7();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO configurations (id, tenant, name, description, kafka_versions, tags) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(tenant.as_str())
        .bind(req.name.as_str())
        .bind(req.description.as_deref())
        .bind(&req.kafka_versions)
        .bind(Json(req.tags.as_map()))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "configurations_tenant_name", StoreError::NameTaken))?;
        sqlx::query(
            "INSERT INTO configuration_revisions (configuration_id, revision, description, server_properties) \
             VALUES ($1, 1, $2, $3)",
        )
        .bind(id)
        .bind(req.description.as_deref())
        .bind(Json(&req.server_properties))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_configuration(tenant, id).await
    }

    /// One configuration of the tenant with its latest revision.
    pub async fn get_configuration(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<Configuration, StoreError> {
        sqlx::query_as::<_, ConfigurationRow>(&format!(
            "SELECT {CONFIGURATION_COLUMNS} FROM configurations c JOIN configuration_revisions r \
             ON r.configuration_id = c.id AND r.revision = c.latest_revision WHERE c.id = $1 AND c.tenant = $2"
        ))
        .bind(id)
        .bind(tenant.as_str())
        .fetch_optional(&self.pool)
        .await?
        .map(Configuration::from)
        .ok_or(StoreError::NotFound(Resource::Configuration))
    }

    /// A page of the tenant's configurations, oldest first.
    pub async fn list_configurations(
        &self,
        tenant: &TenantId,
        page: PageRequest,
    ) -> Result<Page<Configuration>, StoreError> {
        let rows = sqlx::query_as::<_, ConfigurationRow>(&format!(
            "SELECT {CONFIGURATION_COLUMNS} FROM configurations c JOIN configuration_revisions r \
             ON r.configuration_id = c.id AND r.revision = c.latest_revision \
             WHERE c.tenant = $1 AND ($2::uuid IS NULL OR c.id > $2) ORDER BY c.id LIMIT $3"
        ))
        .bind(tenant.as_str())
        .bind(page.after)
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let items = rows.into_iter().map(Configuration::from).collect();
        Ok(Page::from_rows(items, page.limit, |c: &Configuration| c.id))
    }

    /// Adds the next revision of a configuration.
    pub async fn create_revision(
        &self,
        tenant: &TenantId,
        id: Uuid,
        description: Option<&str>,
        props: &ServerProperties,
    ) -> Result<ConfigurationRevision, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (revision,): (i64,) = sqlx::query_as(
            "UPDATE configurations SET latest_revision = latest_revision + 1 WHERE id = $1 AND tenant = $2 \
             RETURNING latest_revision",
        )
        .bind(id)
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound(Resource::Configuration))?;
        let row = sqlx::query_as::<_, RevisionRow>(
            "INSERT INTO configuration_revisions (configuration_id, revision, description, server_properties) \
             VALUES ($1, $2, $3, $4) RETURNING revision, description, server_properties, created_at",
        )
        .bind(id)
        .bind(revision)
        .bind(description)
        .bind(Json(props))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.into())
    }

    /// A page of a configuration's revisions, newest first.
    pub async fn list_revisions(
        &self,
        tenant: &TenantId,
        id: Uuid,
        next_token: Option<&str>,
        max_results: Option<u32>,
    ) -> Result<Page<ConfigurationRevision>, StoreError> {
        let limit = PageRequest::parse(None, max_results)?.limit;
        let before = next_token
            .map(decode_revision_token)
            .transpose()
            .map_err(|e| StoreError::field("next_token", e))?;
        self.get_configuration(tenant, id).await?;
        let mut rows = sqlx::query_as::<_, RevisionRow>(
            "SELECT revision, description, server_properties, created_at FROM configuration_revisions \
             WHERE configuration_id = $1 AND ($2::bigint IS NULL OR revision < $2) ORDER BY revision DESC LIMIT $3",
        )
        .bind(id)
        .bind(before)
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let items: Vec<ConfigurationRevision> = rows.into_iter().map(Into::into).collect();
        let next_token = if more {
            items.last().map(|r| encode_revision_token(r.revision))
        } else {
            None
        };
        Ok(Page { items, next_token })
    }

    /// One revision of a configuration.
    pub async fn get_revision(
        &self,
        tenant: &TenantId,
        id: Uuid,
        revision: i64,
    ) -> Result<ConfigurationRevision, StoreError> {
        sqlx::query_as::<_, RevisionRow>(
            "SELECT r.revision, r.description, r.server_properties, r.created_at FROM configuration_revisions r \
             JOIN configurations c ON c.id = r.configuration_id WHERE c.id = $1 AND c.tenant = $2 AND r.revision = $3",
        )
        .bind(id)
        .bind(tenant.as_str())
        .bind(revision)
        .fetch_optional(&self.pool)
        .await?
        .map(Into::into)
        .ok_or(StoreError::NotFound(Resource::ConfigurationRevision))
    }

    /// Deletes a configuration that no live cluster uses.
    pub async fn delete_configuration(
        &self,
        tenant: &TenantId,
        id: Uuid,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        let found: Option<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM configurations WHERE id = $1 AND tenant = $2 FOR UPDATE",
        )
        .bind(id)
        .bind(tenant.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if found.is_none() {
            return Err(StoreError::NotFound(Resource::Configuration));
        }
        let (in_use,): (bool,) =
            sqlx::query_as("SELECT EXISTS (SELECT 1 FROM clusters WHERE configuration_id = $1)")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
        if in_use {
            return Err(StoreError::ConfigurationInUse);
        }
        sqlx::query("DELETE FROM configurations WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::ConfigurationInUse
                }
                _ => StoreError::Database(e),
            })?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds or overwrites tags of a configuration.
    pub async fn tag_configuration(
        &self,
        tenant: &TenantId,
        id: Uuid,
        add: &Tags,
    ) -> Result<Tags, StoreError> {
        self.modify_tags("configurations", Resource::Configuration, tenant, id, |t| {
            t.merged(add).map_err(|e| StoreError::change("tags", e))
        })
        .await
    }

    /// Removes tags of a configuration; missing keys are ignored.
    pub async fn untag_configuration(
        &self,
        tenant: &TenantId,
        id: Uuid,
        keys: &[String],
    ) -> Result<Tags, StoreError> {
        self.modify_tags("configurations", Resource::Configuration, tenant, id, |t| {
            Ok(t.without(keys))
        })
        .await
    }
}
