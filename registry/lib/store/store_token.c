/*
 * store_token.c - API tokens: created, listed and revoked by an admin
 * through chanregd (/v1/tokens, `chanctl token`), and looked up by id when
 * the daemon authenticates a request.
 *
 * The store never sees a token, only its hex SHA-256 digest and its id: a
 * copy of the database (or of its audit log) does not let anyone in.  Audit
 * entries name the token's id, identity and roles, never the digest.
 * Revoked tokens stay in the table, so that a listing shows who revoked
 * what and when.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chan/authz.h" /* CHAN_TOKEN_ID_LEN, CHAN_TOKEN_DIGEST_LEN: macros only, no link */
#include "chan/common.h"
#include "chan/store.h"
#include "store_int.h"

#define TOKEN_COLS                                                                                 \
    "SELECT id, identity, roles, hash, description, created_at, created_by, expires_at, "          \
    "revoked_at, revoked_by FROM api_tokens "

void chan_token_record_free(chan_token_record *r)
{
    if (r == NULL)
        return;
    free(r->id);
    free(r->identity);
    free(r->roles);
    free(r->hash_hex);
    free(r->description);
    free(r->created_by);
    free(r->revoked_by);
    free(r);
}

void chan_token_record_list_free(chan_token_record **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        chan_token_record_free(list[i]);
    free(list);
}

/* A new record from row r of a TOKEN_COLS query (cells taken). */
static chan_token_record *token_from_row(chan_store__rows *rows, size_t r)
{
    chan_token_record *t = chan_xcalloc(1, sizeof(*t));

    assert(r < rows->n_rows && rows->n_cols >= 10);
    t->id = chan_store__cell_take(rows, r, 0);
    t->identity = chan_store__cell_take(rows, r, 1);
    t->roles = chan_store__cell_take(rows, r, 2);
    t->hash_hex = chan_store__cell_take(rows, r, 3);
    t->description = chan_store__cell_take(rows, r, 4);
    t->created_at = chan_store__cell_int(rows, r, 5);
    t->created_by = chan_store__cell_take(rows, r, 6);
    t->expires_at = chan_store__cell_int(rows, r, 7);
    t->revoked_at = chan_store__cell_int(rows, r, 8);
    t->revoked_by = chan_store__cell_take(rows, r, 9);
    return t;
}

/* True when s is exactly len lower-case hex digits. */
static bool is_lower_hex(const char *s, size_t len)
{
    size_t i;

    if (s == NULL)
        return false;
    for (i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[len] == '\0';
}

/* Check the fields of a record to insert.  Returns 0 or CHAN_EINVALID. */
static int check_token(const chan_token_record *rec, chan_error *err)
{
    int error;

    if (rec == NULL)
        return chan_error_set(err, CHAN_EINVALID, "no token record");
    if (!is_lower_hex(rec->id, CHAN_TOKEN_ID_LEN))
        return chan_error_set(err, CHAN_EINVALID, "token id must be %d lower-case hex characters",
                              CHAN_TOKEN_ID_LEN);
    if (!is_lower_hex(rec->hash_hex, 2 * CHAN_TOKEN_DIGEST_LEN))
        return chan_error_set(err, CHAN_EINVALID,
                              "token hash must be %d lower-case hex characters (a SHA-256)",
                              2 * CHAN_TOKEN_DIGEST_LEN);
    if ((error = chan_store__check_name("token identity", rec->identity, err)) < 0 ||
        (error = chan_store__check_name("token roles", rec->roles, err)) < 0)
        return error;
    if (rec->description != NULL &&
        (error = chan_store__check_text("token description", rec->description,
                                        CHAN_STORE_TOKEN_DESCRIPTION_MAX, false, err)) < 0)
        return error;
    if (rec->expires_at < 0)
        return chan_error_set(err, CHAN_EINVALID, "token expires_at must not be negative");
    return 0;
}

int chan_store_token_insert(chan_store *store, const chan_token_record *rec, const char *actor,
                            chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_store__value expires = {CHAN_STORE__NULL, NULL, 0, 0.0}; /* NULL: never */
    char *object = NULL;
    int64_t now = chan_store__now();
    int error;

    assert(store != NULL);
    if ((error = check_token(rec, err)) < 0 || (error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, "token", rec->id, err)) < 0 ||
        (error = chan_store__run(&o, &rows, "SELECT 1 FROM api_tokens WHERE id = $1",
                                 P(SV_TEXT(rec->id)), err)) < 0)
        goto cleanup;
    if (rec->expires_at > 0)
        expires = SV_INT(rec->expires_at);
    if (rows.n_rows > 0) {
        error = chan_error_set(err, CHAN_EEXISTS, "a token with id '%s' exists", rec->id);
        goto cleanup;
    }
    if ((error = chan_store__run(
             &o, NULL,
             "INSERT INTO api_tokens (id, identity, roles, hash, description, created_at, "
             "created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
             P(SV_TEXT(rec->id), SV_TEXT(rec->identity), SV_TEXT(rec->roles),
               SV_TEXT(rec->hash_hex), SV_TEXT(rec->description), SV_INT(now), SV_TEXT(actor),
               expires),
             err)) < 0)
        goto cleanup;
    object = chan_xasprintf("token/%s", rec->id);
    error = chan_store__audit(&o, actor, "token.create", object,
                              json_pack("{s:s, s:s, s:s, s:I}", "id", rec->id, "identity",
                                        rec->identity, "roles", rec->roles, "expires_at",
                                        (json_int_t)rec->expires_at),
                              now, err);
    if (error == 0)
        error = chan_store__op_commit(&o, err);
cleanup:
    chan_store__rows_dispose(&rows);
    free(object);
    chan_store__op_end(&o);
    return error;
}

int chan_store_token_get(chan_store *store, chan_token_record **out, const char *id,
                         chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = NULL;
    if ((error = chan_store__check_name("token id", id, err)) < 0)
        return error;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0 ||
        (error = chan_store__run(&o, &rows, TOKEN_COLS "WHERE id = $1", P(SV_TEXT(id)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_TOKEN_NOT_FOUND,
                                       "token '%s' not found", id);
        goto cleanup;
    }
    *out = token_from_row(&rows, 0);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_token_list(chan_store *store, chan_token_record ***out, size_t *out_n,
                          chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0 ||
        (error = chan_store__run(&o, &rows, TOKEN_COLS "ORDER BY identity, created_at, id", NULL, 0,
                                 err)) < 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++)
        (*out)[i] = token_from_row(&rows, i);
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_token_revoke(chan_store *store, const char *id, const char *actor, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_token_record *old = NULL;
    char *object = NULL;
    int64_t now = chan_store__now();
    int error;

    assert(store != NULL);
    if ((error = chan_store__check_name("token id", id, err)) < 0 ||
        (error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, "token", id, err)) < 0 ||
        (error = chan_store__run(&o, &rows, TOKEN_COLS "WHERE id = $1", P(SV_TEXT(id)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_TOKEN_NOT_FOUND,
                                       "token '%s' not found", id);
        goto cleanup;
    }
    old = token_from_row(&rows, 0);
    if (old->revoked_at != 0) {
        char day[16];

        chan_date_format(day, sizeof(day), old->revoked_at / 86400);
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_TOKEN_REVOKED,
                                       "token '%s' was already revoked on %s by %s", id, day,
                                       old->revoked_by ? old->revoked_by : "?");
        goto cleanup;
    }
    if ((error = chan_store__run(
             &o, NULL, "UPDATE api_tokens SET revoked_at = $2, revoked_by = $3 WHERE id = $1",
             P(SV_TEXT(id), SV_INT(now), SV_TEXT(actor)), err)) < 0)
        goto cleanup;
    object = chan_xasprintf("token/%s", id);
    error = chan_store__audit(
        &o, actor, "token.revoke", object,
        json_pack("{s:s, s:s, s:s}", "id", old->id, "identity", old->identity, "roles", old->roles),
        now, err);
    if (error == 0)
        error = chan_store__op_commit(&o, err);
cleanup:
    chan_token_record_free(old);
    chan_store__rows_dispose(&rows);
    free(object);
    chan_store__op_end(&o);
    return error;
}
