-- 0002_api_tokens.sql - API tokens managed with `chanctl token` (SQLite).
--
-- A token (chr_<id>_<secret>) is never stored: `hash` is the hex SHA-256 of
-- the whole token and `id` the 12 hex characters after "chr_", by which the
-- daemon finds the row before it compares digests.  `roles` is the sorted,
-- comma-separated role list ("ci:billing,ci:orders").  Times are unix
-- seconds; a NULL expires_at never expires, a NULL revoked_at is not revoked.
CREATE TABLE api_tokens (
    id          TEXT    PRIMARY KEY,
    identity    TEXT    NOT NULL,
    roles       TEXT    NOT NULL,
    hash        TEXT    NOT NULL CHECK (length(hash) = 64),
    description TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT    NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER,
    revoked_by  TEXT
) WITHOUT ROWID;
CREATE INDEX api_tokens_identity ON api_tokens (identity);
