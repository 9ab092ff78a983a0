/*
 * tokens.h - authenticating a request with an API token of the store
 * (created with POST /v1/tokens or `chanctl token create`).
 *
 * The server's authentication calls chand_token_authenticate with the token
 * of the Authorization header before it tries the token file: a chr_ token
 * is looked up by its id, and the SHA-256 of the whole token is compared
 * with the stored digest in constant time.  The token itself is never
 * stored, logged or put in an error message.
 */
#ifndef CHANREGD_TOKENS_H
#define CHANREGD_TOKENS_H

#include "chan/authz.h"
#include "chan/error.h"
#include "chan/store.h"

/**
 * Find the identity of a store token.
 *
 * The token is hashed whatever it is (also when it has no chr_ id or its id
 * is unknown), so that the time taken does not tell a known id from an
 * unknown one; only the id lookup in the store depends on the id.  Revoked
 * and expired tokens are refused only once their secret matched.
 *
 * @param[out] out   on success the identity (name and roles of the record,
 *                   expires_at, source "store"); dispose with
 *                   chan_identity_dispose.  Zeroed on failure.
 * @param store      the store (borrowed)
 * @param token      the token as sent by the client, NUL-terminated
 * @return 0; CHAN_ENOTFOUND "the token is not valid" when no store token
 *         matches (not a chr_ token, unknown id, wrong secret: the caller
 *         goes on with the token file); CHAN_EDENIED "token revoked on
 *         YYYY-MM-DD" or "token expired on YYYY-MM-DD" (answer 401);
 *         CHAN_EUNAVAILABLE when the store cannot be read; CHAN_EINTERNAL
 *         when the stored record is unusable (bad digest or roles)
 */
int chand_token_authenticate(chan_store *store, const char *token, chan_identity *out,
                             chan_error *err);

#endif
