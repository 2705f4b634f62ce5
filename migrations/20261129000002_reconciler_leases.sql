-- Reconciler leases: at most one control-plane replica reconciles a cluster at a time.
-- A holder renews its leases well before they expire; when it dies, they expire and another
-- replica takes the clusters over.
CREATE TABLE reconcile_leases (
    cluster_id uuid        PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX reconcile_leases_holder ON reconcile_leases (holder);
