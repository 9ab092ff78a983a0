-- 0004_consumer_governance.sql - where a consumer registration comes from and
-- the channel owner's decision on it (SQLite).
--
-- `origin` is 'contract' for a consumer listed in its channel's contract
-- file and 'api' for one registered over the REST API; `chanctl register`
-- (PUT /v1/channels/{name}) manages only the contract ones.  `state` is the
-- owner's decision: another team's registration starts 'pending' and gets no
-- access until the owner approves it ('approved') or rejects it
-- ('rejected', with decision_reason).  requester_team is the team an API
-- registration acts for, requested_by the identity that registered it,
-- decided_by / decided_at (unix seconds) the decision.
ALTER TABLE consumers ADD COLUMN origin TEXT NOT NULL DEFAULT 'contract'
    CHECK (origin IN ('contract', 'api'));
ALTER TABLE consumers ADD COLUMN state TEXT NOT NULL DEFAULT 'approved'
    CHECK (state IN ('pending', 'approved', 'rejected'));
ALTER TABLE consumers ADD COLUMN requester_team TEXT;
ALTER TABLE consumers ADD COLUMN requested_by TEXT;
ALTER TABLE consumers ADD COLUMN decided_by TEXT;
ALTER TABLE consumers ADD COLUMN decided_at INTEGER;
ALTER TABLE consumers ADD COLUMN decision_reason TEXT;

-- Consumers absent from their channel's stored contract were registered over REST.
UPDATE consumers SET origin = 'api'
 WHERE NOT EXISTS (SELECT 1 FROM channels ch, json_each(ch.document, '$.consumers') j
                    WHERE ch.name = consumers.channel
                      AND json_extract(j.value, '$.name') = consumers.name);
