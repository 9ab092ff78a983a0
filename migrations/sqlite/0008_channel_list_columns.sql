-- 0008_channel_list_columns.sql - what the channel list shows, in columns (SQLite).
--
-- retirement_date, waiver_reason, version (contract_version),
-- cleanup_policy and avg_message_bytes were read from the stored contract
-- document (channels.document) each time a channel was read; the store now
-- keeps them in their own columns, written together with the document, so
-- that listing channels parses no JSON.  Each holds the document's value
-- when it has the right type (NULL otherwise); the store still checks that
-- a retirement date is a date when it reads one.
ALTER TABLE channels ADD COLUMN retirement_date TEXT;
ALTER TABLE channels ADD COLUMN waiver_reason TEXT;
ALTER TABLE channels ADD COLUMN contract_version TEXT;
ALTER TABLE channels ADD COLUMN cleanup_policy TEXT;
ALTER TABLE channels ADD COLUMN avg_message_bytes INTEGER;

UPDATE channels
   SET retirement_date = CASE WHEN json_valid(document)
                               AND json_type(document, '$.retirement_date') = 'text'
                              THEN json_extract(document, '$.retirement_date') END,
       waiver_reason = CASE WHEN json_valid(document)
                             AND json_type(document, '$.schema.waiver.reason') = 'text'
                            THEN json_extract(document, '$.schema.waiver.reason') END,
       contract_version = CASE WHEN json_valid(document)
                                AND json_type(document, '$.version') = 'text'
                               THEN json_extract(document, '$.version') END,
       cleanup_policy = CASE WHEN json_valid(document)
                              AND json_type(document, '$.cleanup_policy') = 'text'
                             THEN json_extract(document, '$.cleanup_policy') END,
       avg_message_bytes = CASE WHEN json_valid(document)
                                 AND json_type(document, '$.avg_message_bytes') = 'integer'
                                THEN json_extract(document, '$.avg_message_bytes') END;

-- The catalog's "latest version" of a channel's subject, and its consumers.
CREATE INDEX channels_subject ON channels (subject);
