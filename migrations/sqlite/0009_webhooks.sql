-- 0009_webhooks.sql - webhook delivery state and lifecycle events (SQLite).
--
-- The audit log is the outbox of notifications: every change is an audit
-- entry written in the transaction of the change, so an event cannot be
-- lost.  For each webhook target (the SHA-256 of its URL, never the URL),
-- webhook_targets keeps a floor: entries at or below it are done; above it,
-- webhook_deliveries records each entry delivered (state 'delivered') or
-- given up (state 'failed').  The daemon raises the floor over settled
-- entries and drops their delivery rows.
--
-- lifecycle_events makes the events that time produces (a registration
-- going stale, a deprecation date approaching, a retirement) happen once:
-- each has a key, and its audit entry is written only with a new key.
CREATE TABLE webhook_targets (
    target     TEXT PRIMARY KEY,
    floor_id   INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE webhook_deliveries (
    target     TEXT NOT NULL,
    audit_id   INTEGER NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('delivered', 'failed')),
    attempts   INTEGER NOT NULL,
    last_error TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (target, audit_id)
);
CREATE TABLE lifecycle_events (
    key        TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL
);
