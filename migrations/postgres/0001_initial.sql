-- 0001_initial.sql - the registry's tables (PostgreSQL).
--
-- Schema texts are stored once in `schemas` under their global id, taken
-- from the sequence schema_ids, and are never deleted, so an id is never
-- reused.  `subject_versions` maps (subject, version) to a schema id;
-- soft-deleted versions keep their row with deleted = 1.  `subject_config`
-- holds compatibility level and mode per subject; the empty subject '' is
-- the global scope.  Names use the "C" collation so that listings are in
-- byte order on every server.  Times are unix seconds.
CREATE SEQUENCE schema_ids AS bigint START WITH 1;

CREATE TABLE schemas (
    id          bigint PRIMARY KEY,
    fingerprint bigint NOT NULL,
    schema_type text   NOT NULL,
    schema_text text   NOT NULL,
    created_at  bigint NOT NULL
);
CREATE INDEX schemas_fingerprint ON schemas (fingerprint);

CREATE TABLE subject_versions (
    subject    text COLLATE "C" NOT NULL,
    version    integer  NOT NULL CHECK (version > 0),
    schema_id  bigint   NOT NULL REFERENCES schemas (id),
    deleted    smallint NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
    created_at bigint   NOT NULL,
    PRIMARY KEY (subject, version)
);
CREATE INDEX subject_versions_schema ON subject_versions (schema_id);

CREATE TABLE subject_config (
    subject       text COLLATE "C" PRIMARY KEY,
    compatibility text,
    mode          text,
    updated_at    bigint NOT NULL
);

CREATE TABLE channels (
    name             text COLLATE "C" PRIMARY KEY,
    owner_team       text   NOT NULL,
    maintainer       text   NOT NULL,
    peak_qps         bigint NOT NULL,
    retention_hours  bigint NOT NULL,
    deprecation_date text,
    subject          text,
    compatibility    text,
    document         text   NOT NULL,
    revision         bigint NOT NULL,
    created_at       bigint NOT NULL,
    updated_at       bigint NOT NULL
);
CREATE INDEX channels_owner_team ON channels (owner_team);
CREATE INDEX channels_maintainer ON channels (maintainer);

CREATE TABLE consumers (
    channel        text COLLATE "C" NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
    name           text COLLATE "C" NOT NULL,
    principal      text   NOT NULL,
    group_id       text   NOT NULL,
    scenario       text   NOT NULL,
    sla_p99_ms     bigint NOT NULL,
    peak_rate_msgs double precision NOT NULL,
    degradation    text   NOT NULL,
    registered_at  bigint NOT NULL,
    renewed_at     bigint NOT NULL,
    PRIMARY KEY (channel, name)
);

CREATE TABLE producers (
    channel   text COLLATE "C" NOT NULL REFERENCES channels (name) ON DELETE CASCADE,
    principal text COLLATE "C" NOT NULL,
    PRIMARY KEY (channel, principal)
);

CREATE TABLE audit_log (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts     bigint NOT NULL,
    actor  text   NOT NULL,
    action text   NOT NULL,
    object text COLLATE "C" NOT NULL,
    detail text
);
CREATE INDEX audit_log_object ON audit_log (object);
