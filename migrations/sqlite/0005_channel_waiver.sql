-- 0005_channel_waiver.sql - the approval of a channel's compatibility waiver (SQLite).
--
-- A contract whose compatibility is below the registry's policy floor
-- carries schema.waiver.reason (in the stored document); an admin approves
-- it (POST /v1/channels/{name}/waiver/approve).  The approval is kept here
-- and cleared by the store when the channel's compatibility or its waiver
-- reason changes.  Times are unix seconds.
ALTER TABLE channels ADD COLUMN waiver_approved_by TEXT;
ALTER TABLE channels ADD COLUMN waiver_approved_at INTEGER;
