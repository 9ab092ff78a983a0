-- 0009_webhooks.sql - webhook delivery state and lifecycle events (PostgreSQL).
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
    target     text COLLATE "C" PRIMARY KEY,
    floor_id   bigint NOT NULL,
    created_at bigint NOT NULL
);
CREATE TABLE webhook_deliveries (
    target     text COLLATE "C" NOT NULL,
    audit_id   bigint NOT NULL,
    state      text NOT NULL CHECK (state IN ('delivered', 'failed')),
    attempts   bigint NOT NULL,
    last_error text,
    updated_at bigint NOT NULL,
    PRIMARY KEY (target, audit_id)
);
CREATE TABLE lifecycle_events (
    key        text COLLATE "C" PRIMARY KEY,
    created_at bigint NOT NULL
);
