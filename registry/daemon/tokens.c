/*
 * tokens.c - authentication with the API tokens of the store.
 *
 * See tokens.h.  The order of the steps keeps what a client can learn to
 * what it already knows: the digest is computed and compared for every
 * token, the record's state (revoked, expired) is looked at only after the
 * secret matched, and every message names dates, never the token.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "chan/authz.h"
#include "chan/common.h"
#include "chan/store.h"
#include "tokens.h"

#define SECONDS_PER_DAY 86400

/* "YYYY-MM-DD" of the UTC day holding unix time t into buf. */
static const char *day_of(char *buf, size_t size, int64_t t)
{
    return chan_date_format(buf, size, t / SECONDS_PER_DAY);
}

int chand_token_authenticate(chan_store *store, const char *token, chan_identity *out,
                             chan_error *err)
{
    uint8_t digest[CHAN_TOKEN_DIGEST_LEN], stored[CHAN_TOKEN_DIGEST_LEN];
    char id[CHAN_TOKEN_ID_LEN + 1], day[16];
    chan_token_record *rec = NULL;
    size_t len = token != NULL ? strlen(token) : 0;
    int64_t now = (int64_t)time(NULL);
    bool match;
    int error = 0;

    assert(store != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    chan_token_digest(digest, token, len);
    memset(stored, 0, sizeof(stored));
    if (chan_token_id(id, token, len)) {
        error = chan_store_token_get(store, &rec, id, err);
        if (error == CHAN_ENOTFOUND)
            error = 0;
        else if (error < 0)
            goto cleanup;
    }
    if (rec != NULL && chan_token_digest_parse(stored, rec->hash_hex) < 0) {
        error = chan_error_set(err, CHAN_EINTERNAL, "stored token '%s' has no valid digest", id);
        goto cleanup;
    }
    /* Compared even without a record (against zeros), so both paths cost the same. */
    match = chan_ct_memeq(digest, stored, sizeof(digest)) && rec != NULL;
    if (!match) {
        error = chan_error_set(err, CHAN_ENOTFOUND, "the token is not valid");
        goto cleanup;
    }
    if (rec->revoked_at != 0) {
        error = chan_error_set(err, CHAN_EDENIED, "token revoked on %s",
                               day_of(day, sizeof(day), rec->revoked_at));
        goto cleanup;
    }
    if (rec->expires_at != 0 && now >= rec->expires_at) {
        error = chan_error_set(err, CHAN_EDENIED, "token expired on %s",
                               day_of(day, sizeof(day), rec->expires_at));
        goto cleanup;
    }
    if (chan_identity_init(out, rec->identity, rec->roles, err) < 0) {
        error = chan_error_set(err, CHAN_EINTERNAL, "stored token '%s' has invalid roles '%s'", id,
                               rec->roles);
        goto cleanup;
    }
    out->expires_at = rec->expires_at;
    out->source = "store";
cleanup:
    chan_token_record_free(rec);
    return error;
}
