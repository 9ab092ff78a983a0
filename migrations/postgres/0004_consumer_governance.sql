-- 0004_consumer_governance.sql - where a consumer registration comes from and
-- the channel owner's decision on it (PostgreSQL).
--
-- `origin` is 'contract' for a consumer listed in its channel's contract
-- file and 'api' for one registered over the REST API; `chanctl register`
-- (PUT /v1/channels/{name}) manages only the contract ones.  `state` is the
-- owner's decision: another team's registration starts 'pending' and gets no
-- access until the owner approves it ('approved') or rejects it
-- ('rejected', with decision_reason).  requester_team is the team an API
-- registration acts for, requested_by the identity that registered it,
-- decided_by / decided_at (unix seconds) the decision.
ALTER TABLE consumers
    ADD COLUMN origin text NOT NULL DEFAULT 'contract' CHECK (origin IN ('contract', 'api')),
    ADD COLUMN state text NOT NULL DEFAULT 'approved'
        CHECK (state IN ('pending', 'approved', 'rejected')),
    ADD COLUMN requester_team text,
    ADD COLUMN requested_by text,
    ADD COLUMN decided_by text,
    ADD COLUMN decided_at bigint,
    ADD COLUMN decision_reason text;

-- Consumers absent from their channel's stored contract were registered over REST.
UPDATE consumers c SET origin = 'api'
 WHERE NOT EXISTS (SELECT 1 FROM channels ch,
                          jsonb_array_elements(COALESCE(ch.document::jsonb -> 'consumers',
                                                        '[]'::jsonb)) j
                    WHERE ch.name = c.channel AND j ->> 'name' = c.name);
