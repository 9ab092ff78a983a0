-- 0002_api_tokens.sql - API tokens managed with `chanctl token` (PostgreSQL).
--
-- A token (chr_<id>_<secret>) is never stored: `hash` is the hex SHA-256 of
-- the whole token and `id` the 12 hex characters after "chr_", by which the
-- daemon finds the row before it compares digests.  `roles` is the sorted,
-- comma-separated role list ("ci:billing,ci:orders").  Times are unix
-- seconds; a NULL expires_at never expires, a NULL revoked_at is not revoked.
CREATE TABLE api_tokens (
    id          text COLLATE "C" PRIMARY KEY,
    identity    text COLLATE "C" NOT NULL,
    roles       text   NOT NULL,
    hash        text   NOT NULL CHECK (length(hash) = 64),
    description text,
    created_at  bigint NOT NULL,
    created_by  text   NOT NULL,
    expires_at  bigint,
    revoked_at  bigint,
    revoked_by  text
);
CREATE INDEX api_tokens_identity ON api_tokens (identity);
