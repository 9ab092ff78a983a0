/*
 * store_schema.c - schemas and subjects: registration with global ids and
 * version numbering, lookups, soft and permanent deletes, and the
 * compatibility level and mode of each subject (and the global ones).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/store.h"
#include "store_int.h"

static const char *const modes[] = {"READWRITE", "READONLY", "IMPORT", NULL};
static const char *const schema_types[] = {"AVRO", "JSON", "PROTOBUF", NULL};

/* ------------------------------------------------------------------ */
/* Schemas and subjects                                               */
/* ------------------------------------------------------------------ */

void chan_schema_version_free(chan_schema_version *v)
{
    if (v == NULL)
        return;
    free(v->subject);
    free(v->schema_type);
    free(v->schema);
    free(v);
}

void chan_schema_version_list_free(chan_schema_version **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        chan_schema_version_free(list[i]);
    free(list);
}

void chan_store_string_list_free(char **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* The columns read by version_from_row, in order. */
#define VERSION_COLS                                                                               \
    "SELECT sv.subject, sv.version, sv.schema_id, s.schema_type, s.schema_text, sv.deleted, "      \
    "sv.created_at FROM subject_versions sv JOIN schemas s ON s.id = sv.schema_id "

static chan_schema_version *version_from_row(chan_store__rows *rows, size_t r)
{
    chan_schema_version *v;

    assert(r < rows->n_rows && rows->n_cols >= 7);
    v = chan_xcalloc(1, sizeof(*v));
    v->subject = chan_store__cell_take(rows, r, 0);
    v->version = (int)chan_store__cell_int(rows, r, 1);
    v->id = chan_store__cell_int(rows, r, 2);
    v->schema_type = chan_store__cell_take(rows, r, 3);
    v->schema = chan_store__cell_take(rows, r, 4);
    v->deleted = chan_store__cell_int(rows, r, 5) != 0;
    v->created_at = chan_store__cell_int(rows, r, 6);
    if (v->subject == NULL)
        v->subject = chan_xstrdup("");
    if (v->schema_type == NULL)
        v->schema_type = chan_xstrdup("AVRO");
    if (v->schema == NULL)
        v->schema = chan_xstrdup("");
    return v;
}

/* The store's own hash of a schema text, the key of the schemas index. */
static int64_t text_hash(const char *text)
{
    return (int64_t)chan_store__fnv1a64(text, strlen(text));
}

/*
** Tell apart "no such subject" and "no such version/schema" after a failed
** lookup: CHAN_ENOTFOUND with SUBJECT_NOT_FOUND when the subject has no
** (visible) version, else with `reason` and `msg`.
*/
static int not_found_in_subject(chan_store__op *o, const char *subject, bool include_deleted,
                                int reason, const char *what, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    error = chan_store__run(
        o, &rows,
        "SELECT 1 FROM subject_versions WHERE subject = $1 AND (deleted = 0 OR $2 = 1) "
        "LIMIT 1",
        P(SV_TEXT(subject), SV_INT(include_deleted)), err);
    if (error == 0) {
        if (rows.n_rows == 0)
            error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND,
                                           "subject '%s' not found", subject);
        else
            error = chan_store__set_reason(err, CHAN_ENOTFOUND, reason,
                                           "%s not found in subject '%s'", what, subject);
    }
    chan_store__rows_dispose(&rows);
    return error;
}

/* Effective mode of subject (its own, else the global one, else READWRITE) into out. */
static int effective_mode(chan_store__op *o, char *out, size_t size, const char *subject,
                          chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(out != NULL && size > 0);
    snprintf(out, size, "READWRITE");
    error = chan_store__run(
        o, &rows,
        "SELECT mode FROM subject_config WHERE subject IN ($1, '') AND mode IS NOT NULL "
        "ORDER BY subject DESC LIMIT 1",
        P(SV_TEXT(subject)), err);
    if (error == 0 && rows.n_rows == 1 && chan_store__cell(&rows, 0, 0) != NULL)
        snprintf(out, size, "%s", chan_store__cell(&rows, 0, 0));
    chan_store__rows_dispose(&rows);
    return error;
}

static int effective_mode_is_readonly(chan_store__op *o, bool *out, const char *subject,
                                      chan_error *err)
{
    char mode[32];
    int error;

    assert(out != NULL);
    *out = false;
    if ((error = effective_mode(o, mode, sizeof(mode), subject, err)) == 0)
        *out = strcmp(mode, "READONLY") == 0;
    return error;
}

static int check_writable(chan_store__op *o, const char *subject, chan_error *err)
{
    bool ro;
    int error;

    if ((error = effective_mode_is_readonly(o, &ro, subject, err)) < 0)
        return error;
    if (ro)
        return chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_READ_ONLY,
                                      "subject '%s' is in READONLY mode", subject);
    return 0;
}

/* The live version of subject with exactly this text, if any (n_rows 0 or 1). */
static int find_live_same(chan_store__op *o, chan_store__rows *rows, const char *subject,
                          const char *type, const char *schema, chan_error *err)
{
    return chan_store__run(
        o, rows,
        VERSION_COLS "WHERE sv.subject = $1 AND sv.deleted = 0 AND s.fingerprint = $2 "
                     "AND s.schema_type = $3 AND s.schema_text = $4 "
                     "ORDER BY sv.version LIMIT 1",
        P(SV_TEXT(subject), SV_INT(text_hash(schema)), SV_TEXT(type), SV_TEXT(schema)), err);
}

/*
** Validate a registration request; *type receives its schema type ("AVRO"
** when none is given) and *actor the audit actor.  Returns 0 or
** CHAN_EINVALID.
*/
static int check_register_args(const chan_schema_register_request *req, const char **type,
                               const char **actor, chan_error *err)
{
    int error;

    assert(type != NULL && actor != NULL);
    if (req == NULL)
        return chan_error_set(err, CHAN_EINVALID, "no registration request");
    *type = req->schema_type != NULL ? req->schema_type : "AVRO";
    *actor = req->actor;
    if ((error = chan_store__check_name("subject", req->subject, err)) < 0 ||
        (error = chan_store__check_text("schema", req->schema, CHAN_STORE_SCHEMA_MAX, false, err)) <
            0 ||
        (error = chan_store__check_actor(actor, err)) < 0)
        return error;
    if (req->schema[0] == '\0')
        return chan_error_set(err, CHAN_EINVALID, "schema is empty");
    if (!chan_store__in_list(*type, schema_types))
        return chan_error_set(err, CHAN_EINVALID, "unknown schema type '%.64s'", *type);
    return 0;
}

/*
** Call req->check with the live versions of req->subject (only the latest
** with req->check_latest_only), inside o's write
** transaction with the subject locked.  Returns 0 or the (negative) error
** of the check, with a message in err when the check left none.
*/
static int run_register_check(chan_store__op *o, const chan_schema_register_request *req,
                              chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_schema_version **existing = NULL;
    size_t n_existing = 0;
    int error;

    assert(o->in_txn && req->check != NULL);
    if (req->check_latest_only)
        error = chan_store__run(o, &rows,
                                VERSION_COLS "WHERE sv.subject = $1 AND sv.deleted = 0 "
                                             "ORDER BY sv.version DESC LIMIT 1",
                                P(SV_TEXT(req->subject)), err);
    else
        error = chan_store__run(o, &rows,
                                VERSION_COLS "WHERE sv.subject = $1 AND sv.deleted = 0 "
                                             "ORDER BY sv.version",
                                P(SV_TEXT(req->subject)), err);
    if (error < 0)
        goto cleanup;
    n_existing = rows.n_rows;
    existing = chan_xcalloc(n_existing + 1, sizeof(*existing));
    for (size_t i = 0; i < n_existing; i++)
        existing[i] = version_from_row(&rows, i);
    error =
        req->check(req->check_ctx, (const chan_schema_version *const *)existing, n_existing, err);
    if (error > 0)
        error = CHAN_EINTERNAL;
    if (error < 0 && err != NULL && err->code == 0)
        chan_error_set(err, error, "schema check failed");
cleanup:
    chan_schema_version_list_free(existing, n_existing);
    chan_store__rows_dispose(&rows);
    return error;
}

/*
** The global id of (type, schema): the existing one, or a new one with its
** row inserted (*out_new true).  One per distinct (type, text), whatever
** the subject; takes the "schema:<hash>" lock inside o's write transaction.
*/
static int assign_schema_id(chan_store__op *o, int64_t *out, bool *out_new, const char *type,
                            const char *schema, int64_t now, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    char key[32];
    int error;

    assert(o->in_txn && out != NULL && out_new != NULL);
    *out = 0;
    *out_new = false;
    snprintf(key, sizeof(key), "%016llx", (unsigned long long)text_hash(schema));
    if ((error = chan_store__op_lock(o, "schema", key, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(
             o, &rows,
             "SELECT id FROM schemas WHERE fingerprint = $1 AND schema_type = $2 "
             "AND schema_text = $3 ORDER BY id LIMIT 1",
             P(SV_INT(text_hash(schema)), SV_TEXT(type), SV_TEXT(schema)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 1) {
        *out = chan_store__cell_int(&rows, 0, 0);
        goto cleanup;
    }
    if ((error = o->store->be->next_schema_id(o->conn, out, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(o, NULL,
                                 "INSERT INTO schemas (id, fingerprint, schema_type, schema_text, "
                                 "created_at) VALUES ($1, $2, $3, $4, $5)",
                                 P(SV_INT(*out), SV_INT(text_hash(schema)), SV_TEXT(type),
                                   SV_TEXT(schema), SV_INT(now)),
                                 err)) < 0)
        goto cleanup;
    *out_new = true;
cleanup:
    chan_store__rows_dispose(&rows);
    return error;
}

/*
** Append version *out of subject for schema id: one more than the highest
** version, soft-deleted ones included.  Inside o's write transaction with
** the subject locked.  Returns 0, CHAN_ECONFLICT (too many versions) or a
** store error.
*/
static int append_version(chan_store__op *o, int64_t *out, const char *subject, int64_t id,
                          int64_t now, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(o->in_txn && out != NULL);
    *out = 0;
    if ((error = chan_store__run(o, &rows,
                                 "SELECT COALESCE(MAX(version), 0) + 1 FROM subject_versions "
                                 "WHERE subject = $1",
                                 P(SV_TEXT(subject)), err)) < 0)
        goto cleanup;
    *out = chan_store__cell_int(&rows, 0, 0);
    if (*out > INT32_MAX) {
        error = chan_error_set(err, CHAN_ECONFLICT, "subject '%s' has too many versions", subject);
        goto cleanup;
    }
    error = chan_store__run(o, NULL,
                            "INSERT INTO subject_versions (subject, version, schema_id, deleted, "
                            "created_at) VALUES ($1, $2, $3, 0, $4)",
                            P(SV_TEXT(subject), SV_INT(*out), SV_INT(id), SV_INT(now)), err);
cleanup:
    chan_store__rows_dispose(&rows);
    return error;
}

/*
** The live version of subject with this (type, schema) into *out, or NULL:
** the idempotent answer to a repeated registration.
*/
static int existing_version(chan_store__op *o, chan_schema_version **out, const char *subject,
                            const char *type, const char *schema, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(out != NULL);
    *out = NULL;
    if ((error = find_live_same(o, &rows, subject, type, schema, err)) == 0 && rows.n_rows == 1)
        *out = version_from_row(&rows, 0);
    chan_store__rows_dispose(&rows);
    return error;
}

/*
** The registration modes: READONLY refuses everything, IMPORT only imports
** (req->id > 0), the other modes refuse imports.  Inside o's transaction
** with the subject locked.
*/
static int check_register_mode(chan_store__op *o, const chan_schema_register_request *req,
                               chan_error *err)
{
    char mode[32];
    int error;

    if ((error = effective_mode(o, mode, sizeof(mode), req->subject, err)) < 0)
        return error;
    if (strcmp(mode, "READONLY") == 0)
        return chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_READ_ONLY,
                                      "subject '%s' is in READONLY mode", req->subject);
    if (req->id > 0 && strcmp(mode, "IMPORT") != 0)
        return chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_NOT_IMPORT_MODE,
                                      "subject '%s' is not in import mode", req->subject);
    if (req->id <= 0 && strcmp(mode, "IMPORT") == 0)
        return chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_NOT_READWRITE_MODE,
                                      "subject '%s' is not in read-write mode", req->subject);
    return 0;
}

/*
** Import (type, schema) as req->id, version req->version (or the next) of
** req->subject: *out is what is there already when identical (*out_new_row
** false), else the new version.  Inside o's write transaction with the
** subject locked and the mode checked.
*/
static int import_version(chan_store__op *o, chan_schema_version **out, bool *out_new_row,
                          bool *out_new_id, const chan_schema_register_request *req,
                          const char *type, int64_t now, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int64_t version = req->version;
    int error;

    *out = NULL;
    *out_new_row = false;
    *out_new_id = false;
    if ((error = chan_store__op_lock(o, "schema-id", "import", err)) < 0)
        goto cleanup;
    /* The id: free, or holding exactly this schema. */
    if ((error = chan_store__run(o, &rows,
                                 "SELECT schema_type, schema_text FROM schemas "
                                 "WHERE id = $1",
                                 P(SV_INT(req->id)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 1 && (!chan_store__streq(chan_store__cell(&rows, 0, 0), type) ||
                             !chan_store__streq(chan_store__cell(&rows, 0, 1), req->schema))) {
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_ID_IN_USE,
                                       "schema id %lld holds another schema", (long long)req->id);
        goto cleanup;
    }
    *out_new_id = rows.n_rows == 0;
    chan_store__rows_dispose(&rows);
    /* The version: free, or holding exactly this id. */
    if (version > 0) {
        if ((error =
                 chan_store__run(o, &rows, VERSION_COLS "WHERE sv.subject = $1 AND sv.version = $2",
                                 P(SV_TEXT(req->subject), SV_INT(version)), err)) < 0)
            goto cleanup;
    } else {
        if ((error = chan_store__run(o, &rows,
                                     VERSION_COLS "WHERE sv.subject = $1 AND sv.schema_id = $2 "
                                                  "AND sv.deleted = 0 ORDER BY sv.version LIMIT 1",
                                     P(SV_TEXT(req->subject), SV_INT(req->id)), err)) < 0)
            goto cleanup;
    }
    if (rows.n_rows == 1) {
        chan_schema_version *v = version_from_row(&rows, 0);

        if (v->id != req->id) {
            error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_VERSION_EXISTS,
                                           "version %d of subject '%s' exists with schema id "
                                           "%lld",
                                           v->version, req->subject, (long long)v->id);
            chan_schema_version_free(v);
            goto cleanup;
        }
        *out = v; /* already imported */
        goto cleanup;
    }
    chan_store__rows_dispose(&rows);
    if (*out_new_id) {
        /* The allocator first (a sequence moves at once, outside the
         * transaction): a concurrent registration cannot be handed the id. */
        if (o->store->be->schema_id_used &&
            (error = o->store->be->schema_id_used(o->conn, req->id, err)) < 0)
            goto cleanup;
        if ((error = chan_store__run(o, NULL,
                                     "INSERT INTO schemas (id, fingerprint, schema_type, "
                                     "schema_text, created_at) VALUES ($1, $2, $3, $4, $5)",
                                     P(SV_INT(req->id), SV_INT(text_hash(req->schema)),
                                       SV_TEXT(type), SV_TEXT(req->schema), SV_INT(now)),
                                     err)) < 0)
            goto cleanup;
    }
    if (version <= 0) {
        if ((error = chan_store__run(o, &rows,
                                     "SELECT COALESCE(MAX(version), 0) + 1 FROM subject_versions "
                                     "WHERE subject = $1",
                                     P(SV_TEXT(req->subject)), err)) < 0)
            goto cleanup;
        version = chan_store__cell_int(&rows, 0, 0);
        if (version > INT32_MAX) {
            error = chan_error_set(err, CHAN_ECONFLICT, "subject '%s' has too many versions",
                                   req->subject);
            goto cleanup;
        }
    }
    if ((error = chan_store__run(
             o, NULL,
             "INSERT INTO subject_versions (subject, version, schema_id, "
             "deleted, created_at) VALUES ($1, $2, $3, 0, $4)",
             P(SV_TEXT(req->subject), SV_INT(version), SV_INT(req->id), SV_INT(now)), err)) < 0)
        goto cleanup;
    *out = chan_xcalloc(1, sizeof(**out));
    (*out)->subject = chan_xstrdup(req->subject);
    (*out)->version = (int)version;
    (*out)->id = req->id;
    (*out)->schema_type = chan_xstrdup(type);
    (*out)->schema = chan_xstrdup(req->schema);
    (*out)->created_at = now;
    *out_new_row = true;
cleanup:
    chan_store__rows_dispose(&rows);
    return error;
}

int chan_store_schema_register(chan_store *store, chan_schema_version **out, bool *out_created,
                               const chan_schema_register_request *req, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    const char *type = NULL, *actor = NULL;
    int64_t now = chan_store__now(), id, version;
    bool new_id = false;
    char *object = NULL;
    int error = 0;

    assert(store != NULL && out != NULL);
    *out = NULL;
    if (out_created != NULL)
        *out_created = false;
    if ((error = check_register_args(req, &type, &actor, err)) < 0)
        return error;

    if (req->id > 0) {
        bool new_row = false;

        if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
            (error = chan_store__op_lock(&o, "subject", req->subject, err)) < 0 ||
            (error = check_register_mode(&o, req, err)) < 0 ||
            (error = import_version(&o, out, &new_row, &new_id, req, type, now, err)) < 0 ||
            !new_row)
            goto cleanup;
        object = chan_xasprintf("subject/%s/%d", req->subject, (*out)->version);
        if ((error =
                 chan_store__audit(&o, actor, "schema.import", object,
                                   json_pack("{s:s, s:i, s:I, s:s, s:b}", "subject", req->subject,
                                             "version", (*out)->version, "id", (json_int_t)req->id,
                                             "schema_type", type, "new_id", new_id),
                                   now, err)) < 0 ||
            (error = chan_store__op_commit(&o, err)) < 0) {
            chan_schema_version_free(*out);
            *out = NULL;
            goto cleanup;
        }
        chan_store__id_cache_put(&store->cache, req->id, req->schema, type);
        if (out_created != NULL)
            *out_created = true;
        goto cleanup;
    }

    /* Fast path without the write lock: already registered. */
    if ((error = chan_store__op_acquire(&o, store, err)) < 0 ||
        (error = existing_version(&o, out, req->subject, type, req->schema, err)) < 0 ||
        (*out != NULL && (req->version <= 0 || (*out)->version == req->version)))
        goto cleanup;
    chan_schema_version_free(*out);
    *out = NULL;
    chan_store__op_end(&o);

    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, "subject", req->subject, err)) < 0 ||
        (error = check_register_mode(&o, req, err)) < 0)
        goto cleanup;
    /* Again under the lock: a concurrent writer may have just added it. */
    if ((error = existing_version(&o, out, req->subject, type, req->schema, err)) < 0 ||
        (*out != NULL && (req->version <= 0 || (*out)->version == req->version)))
        goto cleanup;
    chan_schema_version_free(*out);
    *out = NULL;
    if (req->check != NULL && (error = run_register_check(&o, req, err)) < 0)
        goto cleanup;
    if ((error = assign_schema_id(&o, &id, &new_id, type, req->schema, now, err)) < 0 ||
        (error = append_version(&o, &version, req->subject, id, now, err)) < 0)
        goto cleanup;
    if (req->version > 0 && version != req->version) {
        error = chan_store__set_reason(err, CHAN_EINVALID, CHAN_STORE_R_VERSION_NOT_NEXT,
                                       "Version is not one more than previous version");
        goto cleanup;
    }

    object = chan_xasprintf("subject/%s/%d", req->subject, (int)version);
    if ((error = chan_store__audit(&o, actor, "schema.register", object,
                                   json_pack("{s:s, s:I, s:I, s:s, s:b}", "subject", req->subject,
                                             "version", (json_int_t)version, "id", (json_int_t)id,
                                             "schema_type", type, "new_id", new_id),
                                   now, err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
    chan_store__id_cache_put(&store->cache, id, req->schema, type);

    *out = chan_xcalloc(1, sizeof(**out));
    (*out)->subject = chan_xstrdup(req->subject);
    (*out)->version = (int)version;
    (*out)->id = id;
    (*out)->schema_type = chan_xstrdup(type);
    (*out)->schema = chan_xstrdup(req->schema);
    (*out)->deleted = false;
    (*out)->created_at = now;
    if (out_created != NULL)
        *out_created = true;
cleanup:
    chan_store__op_end(&o);
    free(object);
    return error;
}

int chan_store_schema_lookup(chan_store *store, chan_schema_version **out, const char *subject,
                             const char *schema, bool include_deleted, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = NULL;
    if ((error = chan_store__check_name("subject", subject, err)) < 0 ||
        (error = chan_store__check_text("schema", schema, CHAN_STORE_SCHEMA_MAX, false, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error =
             chan_store__run(&o, &rows,
                             VERSION_COLS "WHERE sv.subject = $1 AND s.fingerprint = $2 "
                                          "AND s.schema_text = $3 AND (sv.deleted = 0 OR $4 = 1) "
                                          "ORDER BY sv.deleted, sv.version DESC LIMIT 1",
                             P(SV_TEXT(subject), SV_INT(text_hash(schema)), SV_TEXT(schema),
                               SV_INT(include_deleted)),
                             err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = not_found_in_subject(&o, subject, include_deleted, CHAN_STORE_R_SCHEMA_NOT_FOUND,
                                     "schema", err);
        goto cleanup;
    }
    *out = version_from_row(&rows, 0);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_schema_by_id(chan_store *store, char **out_schema, char **out_type, int64_t id,
                            chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out_schema != NULL);
    *out_schema = NULL;
    if (out_type != NULL)
        *out_type = NULL;
    if (chan_store__id_cache_get(&store->cache, id, out_schema, out_type))
        return 0;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows,
                                 "SELECT schema_text, schema_type FROM schemas WHERE id = $1",
                                 P(SV_INT(id)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SCHEMA_NOT_FOUND,
                                       "schema id %lld not found", (long long)id);
        goto cleanup;
    }
    if (chan_store__cell(&rows, 0, 0) == NULL || chan_store__cell(&rows, 0, 1) == NULL) {
        error = chan_error_set(err, CHAN_EINTERNAL, "schema id %lld has no text", (long long)id);
        goto cleanup;
    }
    chan_store__id_cache_put(&store->cache, id, chan_store__cell(&rows, 0, 0),
                             chan_store__cell(&rows, 0, 1));
    *out_schema = chan_store__cell_take(&rows, 0, 0);
    if (out_type != NULL)
        *out_type = chan_store__cell_take(&rows, 0, 1);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_schema_usages(chan_store *store, chan_schema_version ***out, size_t *out_n,
                             int64_t id, bool include_deleted, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows, "SELECT 1 FROM schemas WHERE id = $1", P(SV_INT(id)),
                                 err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SCHEMA_NOT_FOUND,
                                       "schema id %lld not found", (long long)id);
        goto cleanup;
    }
    if ((error = chan_store__run(
             &o, &rows,
             "SELECT subject, version, schema_id FROM subject_versions "
             "WHERE schema_id = $1 AND (deleted = 0 OR $2 = 1) ORDER BY subject, version",
             P(SV_INT(id), SV_INT(include_deleted)), err)) < 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++) {
        chan_schema_version *v = chan_xcalloc(1, sizeof(*v));
        v->subject = chan_store__cell_take(&rows, i, 0);
        v->version = (int)chan_store__cell_int(&rows, i, 1);
        v->id = chan_store__cell_int(&rows, i, 2);
        (*out)[i] = v;
    }
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_subject_list(chan_store *store, char ***out, size_t *out_n, bool include_deleted,
                            chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows,
                                 "SELECT DISTINCT subject FROM subject_versions "
                                 "WHERE deleted = 0 OR $1 = 1 ORDER BY subject",
                                 P(SV_INT(include_deleted)), err)) < 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++)
        (*out)[i] = chan_store__cell_take(&rows, i, 0);
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_subject_versions(chan_store *store, int **out, size_t *out_n, const char *subject,
                                bool include_deleted, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if ((error = chan_store__check_name("subject", subject, err)) < 0)
        return error;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows,
                                 "SELECT version FROM subject_versions WHERE subject = $1 "
                                 "AND (deleted = 0 OR $2 = 1) ORDER BY version",
                                 P(SV_TEXT(subject), SV_INT(include_deleted)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND,
                                       "subject '%s' not found", subject);
        goto cleanup;
    }
    *out = chan_xcalloc(rows.n_rows, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++)
        (*out)[i] = (int)chan_store__cell_int(&rows, i, 0);
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

static int check_version_arg(int version, chan_error *err)
{
    if (version == -1 || version >= 1)
        return 0;
    return chan_store__set_reason(err, CHAN_EINVALID, CHAN_STORE_R_NONE,
                                  "invalid version %d: expected a positive number or -1 (latest)",
                                  version);
}

/* Read one version (latest when version == -1) into rows (0 or 1 row). */
static int read_version(chan_store__op *o, chan_store__rows *rows, const char *subject, int version,
                        bool include_deleted, chan_error *err)
{
    if (version == -1)
        return chan_store__run(o, rows,
                               VERSION_COLS "WHERE sv.subject = $1 AND (sv.deleted = 0 OR $2 = 1) "
                                            "ORDER BY sv.version DESC LIMIT 1",
                               P(SV_TEXT(subject), SV_INT(include_deleted)), err);
    return chan_store__run(o, rows,
                           VERSION_COLS "WHERE sv.subject = $1 AND sv.version = $2 "
                                        "AND (sv.deleted = 0 OR $3 = 1)",
                           P(SV_TEXT(subject), SV_INT(version), SV_INT(include_deleted)), err);
}

int chan_store_version_get(chan_store *store, chan_schema_version **out, const char *subject,
                           int version, bool include_deleted, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = NULL;
    uint64_t epoch = 0;
    bool cacheable;

    if ((error = chan_store__check_name("subject", subject, err)) < 0 ||
        (error = check_version_arg(version, err)) < 0)
        return error;
    /* The latest live version: from the read cache of PostgreSQL stores. */
    cacheable =
        version == -1 && !include_deleted && chan_store__read_cache_begin(store->reads, &epoch);
    if (cacheable && chan_store__read_cache_get_latest(store->reads, subject, out))
        return 0;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = read_version(&o, &rows, subject, version, include_deleted, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = not_found_in_subject(&o, subject, include_deleted, CHAN_STORE_R_VERSION_NOT_FOUND,
                                     "version", err);
        goto cleanup;
    }
    *out = version_from_row(&rows, 0);
    if (cacheable)
        chan_store__read_cache_put_latest(store->reads, epoch, *out);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_version_delete(chan_store *store, int *out_version, const char *subject, int version,
                              bool permanent, const char *actor, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_schema_version *v = NULL;
    char *object = NULL;
    int64_t now = chan_store__now();
    int error;

    assert(store != NULL);
    if (out_version != NULL)
        *out_version = 0;
    if ((error = chan_store__check_name("subject", subject, err)) < 0 ||
        (error = check_version_arg(version, err)) < 0 ||
        (error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, "subject", subject, err)) < 0 ||
        (error = check_writable(&o, subject, err)) < 0)
        goto cleanup;
    /* "latest" is the latest live version for a soft delete, and the
     * latest one at all for a permanent delete (which needs it deleted). */
    if ((error = read_version(&o, &rows, subject, version, version != -1 || permanent, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error =
            not_found_in_subject(&o, subject, true, CHAN_STORE_R_VERSION_NOT_FOUND, "version", err);
        goto cleanup;
    }
    v = version_from_row(&rows, 0);
    if (!permanent && v->deleted) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_VERSION_SOFT_DELETED,
                                       "version %d of subject '%s' was soft deleted", v->version,
                                       subject);
        goto cleanup;
    }
    if (permanent && !v->deleted) {
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_VERSION_NOT_SOFT_DELETED,
                                       "version %d of subject '%s' must be soft deleted first",
                                       v->version, subject);
        goto cleanup;
    }
    if (permanent)
        error = chan_store__run(&o, NULL,
                                "DELETE FROM subject_versions WHERE subject = $1 AND version = $2",
                                P(SV_TEXT(subject), SV_INT(v->version)), err);
    else
        error = chan_store__run(
            &o, NULL, "UPDATE subject_versions SET deleted = 1 WHERE subject = $1 AND version = $2",
            P(SV_TEXT(subject), SV_INT(v->version)), err);
    if (error < 0)
        goto cleanup;
    object = chan_xasprintf("subject/%s/%d", subject, v->version);
    if ((error = chan_store__audit(&o, actor, "schema.delete", object,
                                   json_pack("{s:s, s:i, s:I, s:b}", "subject", subject, "version",
                                             v->version, "id", (json_int_t)v->id, "permanent",
                                             permanent),
                                   now, err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
    if (out_version != NULL)
        *out_version = v->version;
cleanup:
    chan_schema_version_free(v);
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    free(object);
    return error;
}

int chan_store_subject_delete(chan_store *store, int **out, size_t *out_n, const char *subject,
                              bool permanent, const char *actor, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    json_t *versions = NULL;
    int *deleted = NULL;
    size_t n_deleted = 0, n_live = 0;
    char *object = NULL;
    int64_t now = chan_store__now();
    int error;

    assert(store != NULL);
    if (out != NULL)
        *out = NULL;
    if (out_n != NULL)
        *out_n = 0;
    if ((error = chan_store__check_name("subject", subject, err)) < 0 ||
        (error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, "subject", subject, err)) < 0 ||
        (error = check_writable(&o, subject, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows,
                                 "SELECT version, deleted FROM subject_versions WHERE subject = $1 "
                                 "ORDER BY version",
                                 P(SV_TEXT(subject)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND,
                                       "subject '%s' not found", subject);
        goto cleanup;
    }
    deleted = chan_xcalloc(rows.n_rows, sizeof(*deleted));
    versions = json_array();
    for (size_t i = 0; i < rows.n_rows; i++) {
        bool live = chan_store__cell_int(&rows, i, 1) == 0;
        n_live += live;
        if (permanent || live) {
            deleted[n_deleted++] = (int)chan_store__cell_int(&rows, i, 0);
            json_array_append_new(versions, json_integer(deleted[n_deleted - 1]));
        }
    }
    if (!permanent && n_live == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_SOFT_DELETED,
                                       "subject '%s' was soft deleted", subject);
        goto cleanup;
    }
    if (permanent && n_live > 0) {
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_SUBJECT_NOT_SOFT_DELETED,
                                       "subject '%s' must be soft deleted first", subject);
        goto cleanup;
    }
    if (permanent) {
        if ((error = chan_store__run(&o, NULL, "DELETE FROM subject_versions WHERE subject = $1",
                                     P(SV_TEXT(subject)), err)) < 0 ||
            (error = chan_store__run(&o, NULL, "DELETE FROM subject_config WHERE subject = $1",
                                     P(SV_TEXT(subject)), err)) < 0)
            goto cleanup;
    } else if ((error = chan_store__run(&o, NULL,
                                        "UPDATE subject_versions SET deleted = 1 "
                                        "WHERE subject = $1 AND deleted = 0",
                                        P(SV_TEXT(subject)), err)) < 0) {
        goto cleanup;
    }
    object = chan_xasprintf("subject/%s", subject);
    error = chan_store__audit(&o, actor, "subject.delete", object,
                              json_pack("{s:s, s:O, s:b}", "subject", subject, "versions", versions,
                                        "permanent", permanent),
                              now, err);
    if (error < 0 || (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
    if (out != NULL) {
        *out = deleted;
        deleted = NULL;
    }
    if (out_n != NULL)
        *out_n = n_deleted;
cleanup:
    json_decref(versions);
    free(deleted);
    free(object);
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

/* ------------------------------------------------------------------ */
/* Configuration and mode                                             */
/* ------------------------------------------------------------------ */

/* SQL per column: [0] compatibility, [1] mode. */
static const char *const cfg_get_sql[2] = {
    "SELECT compatibility FROM subject_config WHERE subject = $1",
    "SELECT mode FROM subject_config WHERE subject = $1",
};
static const char *const cfg_set_sql[2] = {
    "INSERT INTO subject_config (subject, compatibility, mode, updated_at) "
    "VALUES ($1, $2, NULL, $3) ON CONFLICT (subject) DO UPDATE "
    "SET compatibility = excluded.compatibility, updated_at = excluded.updated_at",
    "INSERT INTO subject_config (subject, compatibility, mode, updated_at) "
    "VALUES ($1, NULL, $2, $3) ON CONFLICT (subject) DO UPDATE "
    "SET mode = excluded.mode, updated_at = excluded.updated_at",
};

static int cfg_get(chan_store *store, int col, char **out, const char *subject, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    const char *scope = subject != NULL ? subject : "";
    char kind = col ? 'M' : 'C';
    uint64_t epoch = 0;
    bool cacheable, set = false;

    *out = NULL;
    if (subject != NULL && (error = chan_store__check_name("subject", subject, err)) < 0)
        return error;
    /* Levels and modes: from the read cache of PostgreSQL stores, "none set" included. */
    cacheable = chan_store__read_cache_begin(store->reads, &epoch);
    if (cacheable && chan_store__read_cache_get_value(store->reads, kind, scope, &set, out)) {
        if (set)
            return 0;
        goto not_set;
    }
    if ((error = chan_store__op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows, cfg_get_sql[col], P(SV_TEXT(scope)), err)) < 0)
        goto cleanup;
    if (cacheable)
        chan_store__read_cache_put_value(store->reads, epoch, kind, scope,
                                         chan_store__cell(&rows, 0, 0));
    if (chan_store__cell(&rows, 0, 0) == NULL)
        goto not_set;
    *out = chan_store__cell_take(&rows, 0, 0);
    goto cleanup;
not_set:
    if (subject != NULL)
        error = chan_store__set_reason(
            err, CHAN_ENOTFOUND, col ? CHAN_STORE_R_MODE_NOT_FOUND : CHAN_STORE_R_CONFIG_NOT_FOUND,
            "no %s set for subject '%s'", col ? "mode" : "compatibility level", subject);
    else
        error = chan_store__set_reason(
            err, CHAN_ENOTFOUND, col ? CHAN_STORE_R_MODE_NOT_FOUND : CHAN_STORE_R_CONFIG_NOT_FOUND,
            "no global %s set", col ? "mode" : "compatibility level");
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

/*
** May subject (NULL: the registry) enter IMPORT mode?  Unless it is in
** IMPORT mode already, it must hold no version at all.  Inside o's write
** transaction.
*/
static int check_import_entry(chan_store__op *o, const char *subject, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    char mode[32];
    int error;

    if ((error = effective_mode(o, mode, sizeof(mode), subject ? subject : "", err)) < 0 ||
        strcmp(mode, "IMPORT") == 0)
        goto cleanup;
    if (subject != NULL)
        error = chan_store__run(o, &rows,
                                "SELECT MIN(deleted) FROM subject_versions WHERE subject = $1 "
                                "HAVING COUNT(*) > 0",
                                P(SV_TEXT(subject)), err);
    else
        error = chan_store__run(o, &rows,
                                "SELECT MIN(deleted) FROM subject_versions HAVING COUNT(*) > 0",
                                NULL, 0, err);
    if (error < 0 || rows.n_rows == 0)
        goto cleanup;
    if (chan_store__cell_int(&rows, 0, 0) == 0)
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_IMPORT_NOT_EMPTY,
                                       "Cannot import since found existing subjects");
    else
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_IMPORT_NOT_EMPTY,
                                       "Cannot import since found soft-deleted versions; delete "
                                       "them permanently first");
cleanup:
    chan_store__rows_dispose(&rows);
    return error;
}

static int cfg_set(chan_store *store, int col, const char *subject, const char *value, bool force,
                   const char *actor, chan_error *err)
{
    static const char *const what[2] = {"compatibility level", "mode"};
    static const char *const kind[2] = {"config", "mode"};
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    const char *scope = subject != NULL ? subject : "";
    char *object = NULL, *action = NULL;
    int64_t now = chan_store__now();
    int error;

    if (subject != NULL && (error = chan_store__check_name("subject", subject, err)) < 0)
        return error;
    if ((error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if (value != NULL && !chan_store__in_list(value, col ? modes : chan_store__compat_levels))
        return chan_error_set(err, CHAN_EINVALID, "unknown %s '%.64s'", what[col], value);

    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, kind[col], scope, err)) < 0)
        goto cleanup;
    if (col == 0 && (error = check_writable(&o, scope, err)) < 0)
        goto cleanup; /* Confluent: no config change in read-only mode */
    if (col == 1 && !force && chan_store__streq(value, "IMPORT") &&
        (error = check_import_entry(&o, subject, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows, cfg_get_sql[col], P(SV_TEXT(scope)), err)) < 0)
        goto cleanup;
    if (chan_store__streq(chan_store__cell(&rows, 0, 0), value))
        goto cleanup; /* no change: nothing written, no audit entry */
    if ((error = chan_store__run(&o, NULL, cfg_set_sql[col],
                                 P(SV_TEXT(scope), SV_TEXT(value), SV_INT(now)), err)) < 0 ||
        (error = chan_store__run(
             &o, NULL,
             "DELETE FROM subject_config WHERE subject = $1 AND compatibility IS NULL "
             "AND mode IS NULL",
             P(SV_TEXT(scope)), err)) < 0)
        goto cleanup;
    object =
        subject != NULL ? chan_xasprintf("%s/%s", kind[col], subject) : chan_xstrdup(kind[col]);
    action = chan_xasprintf("%s.%s", kind[col], value != NULL ? "set" : "clear");
    if ((error = chan_store__audit(&o, actor, action, object,
                                   json_pack("{s:s?, s:s?, s:s?}", "subject", subject, "old",
                                             chan_store__cell(&rows, 0, 0), "new", value),
                                   now, err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    free(object);
    free(action);
    return error;
}

int chan_store_config_get(chan_store *store, char **out, const char *subject, chan_error *err)
{
    return cfg_get(store, 0, out, subject, err);
}

int chan_store_config_set(chan_store *store, const char *subject, const char *level,
                          const char *actor, chan_error *err)
{
    return cfg_set(store, 0, subject, level, false, actor, err);
}

int chan_store_mode_get(chan_store *store, char **out, const char *subject, chan_error *err)
{
    return cfg_get(store, 1, out, subject, err);
}

int chan_store_mode_set(chan_store *store, const char *subject, const char *mode, const char *actor,
                        chan_error *err)
{
    return cfg_set(store, 1, subject, mode, true, actor, err);
}

int chan_store_mode_set_checked(chan_store *store, const char *subject, const char *mode,
                                bool force, const char *actor, chan_error *err)
{
    return cfg_set(store, 1, subject, mode, force, actor, err);
}
