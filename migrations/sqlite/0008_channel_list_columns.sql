-- 0008_channel_list_columns.sql - what the channel list shows, in columns (SQLite).
--
-- retirement_date and waiver_reason were read from the stored contract
-- document (channels.document) each time a channel was read; the store now
-- keeps them in their own columns, written together with the document, so
-- that listing channels parses no JSON.  Both hold the document's value
-- when it is a string (NULL otherwise); the store still checks that a
-- retirement date is a date when it reads one.
ALTER TABLE channels ADD COLUMN retirement_date TEXT;
ALTER TABLE channels ADD COLUMN waiver_reason TEXT;

UPDATE channels
   SET retirement_date = CASE WHEN json_valid(document)
                               AND json_type(document, '$.retirement_date') = 'text'
                              THEN json_extract(document, '$.retirement_date') END,
       waiver_reason = CASE WHEN json_valid(document)
                             AND json_type(document, '$.schema.waiver.reason') = 'text'
                            THEN json_extract(document, '$.schema.waiver.reason') END;

-- The catalog's "latest version" of a channel's subject, and its consumers.
CREATE INDEX channels_subject ON channels (subject);
