-- 0007_schema_identity.sql - schema identity, references and normalize (PostgreSQL).
--
-- `identity` is the text that decides whether two registrations are the
-- same schema (chan_avro_schema_identity: the schema's canonical text with
-- unordered parts sorted, plus its references); `identity_hash` is the
-- store's hash of it, indexed.  Rows written before this migration get both
-- when the daemon opens the store (chan_store_schema_fill_identity); until
-- then they are NULL.  `schema_references` lists, for each schema id, the
-- references it was registered with, in their order: the named type `name`
-- comes from version `version` of subject `subject`.  `subject_config`
-- gains Confluent's `normalize` setting (0/1, NULL: not set at that scope).
ALTER TABLE schemas ADD COLUMN identity text;
ALTER TABLE schemas ADD COLUMN identity_hash bigint;
CREATE INDEX schemas_identity ON schemas (identity_hash);

CREATE TABLE schema_references (
    schema_id bigint  NOT NULL REFERENCES schemas (id),
    position  integer NOT NULL CHECK (position >= 0),
    name      text    NOT NULL,
    subject   text COLLATE "C" NOT NULL,
    version   integer NOT NULL CHECK (version > 0),
    PRIMARY KEY (schema_id, position)
);
CREATE INDEX schema_references_target ON schema_references (subject, version);

ALTER TABLE subject_config ADD COLUMN normalize smallint CHECK (normalize IN (0, 1));
