-- 0008_channel_list_columns.sql - what the channel list shows, in columns (PostgreSQL).
--
-- retirement_date, waiver_reason, version (contract_version),
-- cleanup_policy and avg_message_bytes were read from the stored contract
-- document (channels.document) each time a channel was read; the store now
-- keeps them in their own columns, written together with the document, so
-- that listing channels parses no JSON.  Each holds the document's value
-- when it has the right type (NULL otherwise); the store still checks that
-- a retirement date is a date when it reads one.  A document that is not
-- JSON (never written by the store) leaves them NULL.
--
-- The channel's name columns get the "C" collation of the other name
-- columns, so that the list can join channels.subject with
-- subject_versions.subject and orders owner teams and maintainers in byte
-- order, as SQLite does.
ALTER TABLE channels ADD COLUMN retirement_date text;
ALTER TABLE channels ADD COLUMN waiver_reason text;
ALTER TABLE channels ADD COLUMN contract_version text;
ALTER TABLE channels ADD COLUMN cleanup_policy text;
ALTER TABLE channels ADD COLUMN avg_message_bytes bigint;
ALTER TABLE channels ALTER COLUMN subject TYPE text COLLATE "C";
ALTER TABLE channels ALTER COLUMN owner_team TYPE text COLLATE "C";
ALTER TABLE channels ALTER COLUMN maintainer TYPE text COLLATE "C";

DO $$
DECLARE
    r record;
    doc jsonb;
BEGIN
    FOR r IN SELECT name, document FROM channels LOOP
        BEGIN
            doc := r.document::jsonb;
        EXCEPTION WHEN others THEN
            doc := NULL;
        END;
        UPDATE channels
           SET retirement_date = CASE WHEN jsonb_typeof(doc -> 'retirement_date') = 'string'
                                      THEN doc ->> 'retirement_date' END,
               waiver_reason = CASE WHEN jsonb_typeof(doc #> '{schema,waiver,reason}') = 'string'
                                    THEN doc #>> '{schema,waiver,reason}' END,
               contract_version = CASE WHEN jsonb_typeof(doc -> 'version') = 'string'
                                       THEN doc ->> 'version' END,
               cleanup_policy = CASE WHEN jsonb_typeof(doc -> 'cleanup_policy') = 'string'
                                     THEN doc ->> 'cleanup_policy' END,
               avg_message_bytes = CASE WHEN jsonb_typeof(doc -> 'avg_message_bytes') = 'number'
                                         AND (doc ->> 'avg_message_bytes') ~ '^[0-9]{1,18}$'
                                        THEN (doc ->> 'avg_message_bytes')::bigint END
         WHERE name = r.name;
    END LOOP;
END
$$;

CREATE INDEX channels_subject ON channels (subject);
