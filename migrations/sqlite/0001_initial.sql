-- 0001_initial.sql - the registry's tables (SQLite).
--
-- Schema texts are stored once in `schemas` under their global id and are
-- never deleted, so an id is never reused.  `subject_versions` maps
-- (subject, version) to a schema id; soft-deleted versions keep their row
-- with deleted = 1.  `subject_config` holds compatibility level and mode per
-- subject; the empty subject '' is the global scope.  Times are unix seconds.
CREATE TABLE schemas (
    id          INTEGER PRIMARY KEY,
    fingerprint INTEGER NOT NULL,
    schema_type TEXT    NOT NULL,
    schema_text TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX schemas_fingerprint ON schemas (fingerprint);

CREATE TABLE subject_versions (
    subject    TEXT    NOT NULL,
    version    INTEGER NOT NULL CHECK (version > 0),
    schema_id  INTEGER NOT NULL REFERENCES schemas (id),
    deleted    INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (subject, version)
) WITHOUT ROWID;
CREATE INDEX subject_versions_schema ON subject_versions (schema_id);

CREATE TABLE subject_config (
    subject       TEXT PRIMARY KEY,
    compatibility TEXT,
    mode          TEXT,
    updated_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE channels (
    name             TEXT PRIMARY KEY,
    owner_team       TEXT    NOT NULL,
    maintainer       TEXT    NOT NULL,
    peak_qps         INTEGER NOT NULL,
    retention_hours  INTEGER NOT NULL,
    deprecation_date TEXT,
    subject          TEXT,
    compatibility    TEXT,
    document         TEXT    NOT NULL,
    revision         INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX channels_owner_team ON channels (owner_team);
CREATE INDEX channels_maintainer ON channels (maintainer);

CREATE TABLE consumers (
    channel        TEXT    NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    principal      TEXT    NOT NULL,
    group_id       TEXT    NOT NULL,
    scenario       TEXT    NOT NULL,
    sla_p99_ms     INTEGER NOT NULL,
    peak_rate_msgs REAL    NOT NULL,
    degradation    TEXT    NOT NULL,
    registered_at  INTEGER NOT NULL,
    renewed_at     INTEGER NOT NULL,
    PRIMARY KEY (channel, name)
) WITHOUT ROWID;

CREATE TABLE producers (
    channel   TEXT NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
    principal TEXT NOT NULL,
    PRIMARY KEY (channel, principal)
) WITHOUT ROWID;

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    ts     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    object TEXT    NOT NULL,
    detail TEXT
);
CREATE INDEX audit_log_object ON audit_log (object);
