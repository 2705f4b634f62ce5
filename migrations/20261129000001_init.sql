-- Sluice control plane: clusters, their operations and nodes, broker configurations.
-- Every row belongs to a tenant; every query filters by it.

CREATE TABLE configurations (
    id              uuid PRIMARY KEY,
    tenant          text        NOT NULL,
    name            text        NOT NULL,
    description     text,
    kafka_versions  text[]      NOT NULL DEFAULT '{}',
    latest_revision bigint      NOT NULL DEFAULT 1,
    tags            jsonb       NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX configurations_tenant_name ON configurations (tenant, name);
CREATE INDEX configurations_tenant_id ON configurations (tenant, id);

CREATE TABLE configuration_revisions (
    configuration_id  uuid        NOT NULL REFERENCES configurations (id) ON DELETE CASCADE,
    revision          bigint      NOT NULL,
    description       text,
    server_properties jsonb       NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (configuration_id, revision)
);

CREATE TABLE clusters (
    id                   uuid PRIMARY KEY,
    tenant               text        NOT NULL,
    name                 text        NOT NULL,
    state                text        NOT NULL,
    version              bigint      NOT NULL DEFAULT 1,
    spec                 jsonb       NOT NULL,
    tags                 jsonb       NOT NULL DEFAULT '{}',
    state_info           jsonb,
    active_operation_id  uuid,
    -- Kept apart from spec so that a configuration in use cannot be deleted (the foreign key).
    configuration_id     uuid REFERENCES configurations (id),
    client_request_token text,
    request_fingerprint  text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    deleted_at           timestamptz,
    -- Bumped by a trigger on every update, so a reader can tell a cached rendering is current.
    row_version          bigint      NOT NULL DEFAULT 1
);
-- A name is free again once its cluster is deleted.
CREATE UNIQUE INDEX clusters_tenant_name ON clusters (tenant, name) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX clusters_tenant_token ON clusters (tenant, client_request_token)
    WHERE client_request_token IS NOT NULL;
CREATE INDEX clusters_tenant_id ON clusters (tenant, id) WHERE deleted_at IS NULL;
CREATE INDEX clusters_configuration ON clusters (configuration_id) WHERE configuration_id IS NOT NULL;

CREATE TABLE operations (
    id             uuid PRIMARY KEY,
    tenant         text        NOT NULL,
    cluster_id     uuid        NOT NULL REFERENCES clusters (id),
    operation_type text        NOT NULL,
    state          text        NOT NULL,
    broker_ids     integer[]   NOT NULL DEFAULT '{}',
    source         jsonb,
    target         jsonb       NOT NULL,
    steps          jsonb       NOT NULL DEFAULT '[]',
    error          jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    ended_at       timestamptz
);
CREATE INDEX operations_cluster ON operations (cluster_id, id DESC);
CREATE INDEX operations_unfinished ON operations (cluster_id) WHERE state IN ('PENDING', 'IN_PROGRESS');

CREATE TABLE cluster_nodes (
    cluster_id    uuid        NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    broker_id     integer     NOT NULL,
    host          text        NOT NULL,
    port          integer     NOT NULL,
    zone          text,
    state         text        NOT NULL,
    kafka_version text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster_id, broker_id)
);

-- Wakes the reconciler when a cluster's row changes (LISTEN sluice_cluster_changed).
CREATE FUNCTION notify_cluster_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sluice_cluster_changed', NEW.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clusters_changed AFTER INSERT OR UPDATE ON clusters
    FOR EACH ROW EXECUTE FUNCTION notify_cluster_changed();

CREATE FUNCTION bump_row_version() RETURNS trigger AS $$
BEGIN
    NEW.row_version := OLD.row_version + 1;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clusters_row_version BEFORE UPDATE ON clusters
    FOR EACH ROW EXECUTE FUNCTION bump_row_version();
