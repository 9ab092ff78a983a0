-- 0003_acl_revocation.sql - what ACL revocation and the audited apply need (PostgreSQL).
--
-- `channel_tombstones` keeps one row per deleted channel: its topic and the
-- consumer groups of its consumers (a JSON array of strings), so that the
-- ACL plan still covers them and deletes the bindings granted for the
-- channel.  Creating a channel of the same name removes its tombstone.
-- `acl_applied` holds one row: the bindings in place on the cluster (within
-- the registry's scope) after the last ACL apply that changed anything, as
-- a JSON array of binding objects.  Times are unix seconds.
CREATE TABLE channel_tombstones (
    name       text COLLATE "C" PRIMARY KEY,
    owner_team text   NOT NULL,
    topic      text   NOT NULL,
    groups     text   NOT NULL,
    deleted_at bigint NOT NULL,
    deleted_by text   NOT NULL
);

CREATE TABLE acl_applied (
    id         integer PRIMARY KEY CHECK (id = 1),
    bindings   text   NOT NULL,
    applied_at bigint NOT NULL
);
