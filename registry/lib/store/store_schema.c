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

void chan_schema_reference_list_free(chan_schema_reference *list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].subject);
    }
    free(list);
}

void chan_schema_version_free(chan_schema_version *v)
{
    if (v == NULL)
        return;
    free(v->subject);
    free(v->schema_type);
    free(v->schema);
    chan_schema_reference_list_free(v->references, v->n_references);
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

/*
** What a check that keeps parsed schemas by id needs of a live version
** (run_register_check): its number and schema id.  From subject_versions
** alone, so that listing many versions costs no lookup per row whatever
** plan the database picks, and two cells per version.
*/
#define VERSION_ID_COLS "SELECT sv.version, sv.schema_id FROM subject_versions sv "

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

/*
** A live version of subject from a VERSION_ID_COLS row into *v (zeroed): no
** type, text or creation time; subject borrowed.
*/
static void version_id_from_row(chan_schema_version *v, chan_store__rows *rows, size_t r,
                                char *subject)
{
    assert(r < rows->n_rows && rows->n_cols >= 2);
    v->subject = subject;
    v->version = (int)chan_store__cell_int(rows, r, 0);
    v->id = chan_store__cell_int(rows, r, 1);
}

static int read_version(chan_store__op *o, chan_store__rows *rows, const char *subject, int version,
                        bool include_deleted, chan_error *err);
static void cache_put(chan_store *store, int64_t id, const char *text, const char *type,
                      const chan_schema_reference *refs, size_t n_refs);

/* The store's own hash of a schema text or identity, the key of the schemas indexes. */
static int64_t text_hash(const char *text)
{
    return (int64_t)chan_store__fnv1a64(text, strlen(text));
}

/* The identity of a registration: the one given, else the text itself. */
static const char *identity_of(const chan_schema_register_request *req)
{
    return req->identity != NULL ? req->identity : req->schema;
}

/* The references of schema id, in their order, into *out / *out_n. */
static int load_references(chan_store__op *o, chan_schema_reference **out, size_t *out_n,
                           int64_t id, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if ((error = chan_store__run(o, &rows,
                                 "SELECT name, subject, version FROM schema_references "
                                 "WHERE schema_id = $1 ORDER BY position",
                                 P(SV_INT(id)), err)) < 0 ||
        rows.n_rows == 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++) {
        (*out)[i].name = chan_store__cell_take(&rows, i, 0);
        (*out)[i].subject = chan_store__cell_take(&rows, i, 1);
        (*out)[i].version = (int)chan_store__cell_int(&rows, i, 2);
        if ((*out)[i].name == NULL)
            (*out)[i].name = chan_xstrdup("");
        if ((*out)[i].subject == NULL)
            (*out)[i].subject = chan_xstrdup("");
    }
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    return error;
}

/* A version read from row r, with the references of its schema id. */
static int version_with_refs(chan_store__op *o, chan_schema_version **out, chan_store__rows *rows,
                             size_t r, chan_error *err)
{
    int error;

    *out = version_from_row(rows, r);
    if ((error = load_references(o, &(*out)->references, &(*out)->n_references, (*out)->id, err)) <
        0) {
        chan_schema_version_free(*out);
        *out = NULL;
    }
    return error;
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

/*
** The version of subject, among those whose schema has this identity (and
** this type unless type is NULL), that comes first by the order of
** `newest` (the deleted last, then the newest first) or else the oldest
** live one (soft-deleted ones only with include_deleted), as VERSION_COLS
** into rows (n_rows 0 or 1).
**
** First the ids with that identity (from the index on its hash; none for
** a schema never registered), then the subject's versions of each id:
** whatever plan the database picks, no lookup runs per version of the
** subject.
*/
static int version_by_identity(chan_store__op *o, chan_store__rows *rows, const char *subject,
                               const char *type, const char *identity, bool include_deleted,
                               bool newest, chan_error *err)
{
    chan_store__rows ids = CHAN_STORE__ROWS_INIT, cand = CHAN_STORE__ROWS_INIT;
    int error;

    chan_store__rows_dispose(rows);
    if (type != NULL)
        error =
            chan_store__run(o, &ids,
                            "SELECT id FROM schemas WHERE identity_hash = $1 "
                            "AND schema_type = $2 AND identity = $3 ORDER BY id",
                            P(SV_INT(text_hash(identity)), SV_TEXT(type), SV_TEXT(identity)), err);
    else
        error = chan_store__run(o, &ids,
                                "SELECT id FROM schemas WHERE identity_hash = $1 "
                                "AND identity = $2 ORDER BY id",
                                P(SV_INT(text_hash(identity)), SV_TEXT(identity)), err);
    for (size_t i = 0; error == 0 && i < ids.n_rows; i++) {
        int64_t id = chan_store__cell_int(&ids, i, 0);
        bool better;

        if (newest)
            error = chan_store__run(o, &cand,
                                    VERSION_COLS "WHERE sv.subject = $1 AND sv.schema_id = $2 "
                                                 "AND (sv.deleted = 0 OR $3 = 1) "
                                                 "ORDER BY sv.deleted, sv.version DESC LIMIT 1",
                                    P(SV_TEXT(subject), SV_INT(id), SV_INT(include_deleted)), err);
        else
            error = chan_store__run(o, &cand,
                                    VERSION_COLS "WHERE sv.subject = $1 AND sv.schema_id = $2 "
                                                 "AND (sv.deleted = 0 OR $3 = 1) "
                                                 "ORDER BY sv.version LIMIT 1",
                                    P(SV_TEXT(subject), SV_INT(id), SV_INT(include_deleted)), err);
        if (error < 0 || cand.n_rows == 0)
            continue;
        if (rows->n_rows == 0)
            better = true;
        else {
            int64_t d_new = chan_store__cell_int(&cand, 0, 5),
                    d_old = chan_store__cell_int(rows, 0, 5);
            int64_t v_new = chan_store__cell_int(&cand, 0, 1),
                    v_old = chan_store__cell_int(rows, 0, 1);

            if (newest)
                better = d_new != d_old ? d_new < d_old : v_new > v_old;
            else
                better = d_new != d_old ? d_new < d_old : v_new < v_old;
        }
        if (better) {
            chan_store__rows_dispose(rows);
            *rows = cand;
            memset(&cand, 0, sizeof(cand));
        }
    }
    chan_store__rows_dispose(&cand);
    chan_store__rows_dispose(&ids);
    return error;
}

/* The live version of subject with this identity, if any (n_rows 0 or 1). */
static int find_live_same(chan_store__op *o, chan_store__rows *rows, const char *subject,
                          const char *type, const char *identity, chan_error *err)
{
    return version_by_identity(o, rows, subject, type, identity, false, false, err);
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
    if (req->identity != NULL &&
        (error = chan_store__check_text("schema identity", req->identity, CHAN_STORE_SCHEMA_MAX,
                                        false, err)) < 0)
        return error;
    for (size_t i = 0; i < req->n_references; i++) {
        const chan_schema_reference *r = &req->references[i];

        if ((error = chan_store__check_name("reference name", r->name, err)) < 0 ||
            (error = chan_store__check_name("reference subject", r->subject, err)) < 0)
            return error;
        if (r->version < 1)
            return chan_error_set(err, CHAN_EINVALID, "reference %s has version %d", r->name,
                                  r->version);
    }
    if (!chan_store__in_list(*type, schema_types))
        return chan_error_set(err, CHAN_EINVALID, "unknown schema type '%.64s'", *type);
    return 0;
}

/*
** Give the versions of `existing` (read without texts, oldest first) from
** version `from` to `to` their texts, in one query over those live
** versions of subject; the others keep none.
*/
static int read_texts(chan_store__op *o, chan_schema_version **existing, size_t n_existing,
                      const char *subject, int from, int to, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    size_t i = 0;
    int error;

    if ((error = chan_store__run(o, &rows,
                                 "SELECT sv.version, s.schema_text FROM subject_versions sv "
                                 "JOIN schemas s ON s.id = sv.schema_id WHERE sv.subject = $1 "
                                 "AND sv.deleted = 0 AND sv.version >= $2 AND sv.version <= $3 "
                                 "ORDER BY sv.version",
                                 P(SV_TEXT(subject), SV_INT(from), SV_INT(to)), err)) < 0)
        goto cleanup;
    for (size_t r = 0; r < rows.n_rows; r++) {
        int version = (int)chan_store__cell_int(&rows, r, 0);

        while (i < n_existing && existing[i]->version < version)
            i++;
        if (i < n_existing && existing[i]->version == version && existing[i]->schema == NULL)
            existing[i]->schema = chan_store__cell_take(&rows, r, 1);
    }
    for (i = 0; i < n_existing; i++) /* in the range, every version has a text */
        if (existing[i]->version >= from && existing[i]->version <= to &&
            existing[i]->schema == NULL)
            existing[i]->schema = chan_xstrdup("");
cleanup:
    chan_store__rows_dispose(&rows);
    return error;
}

/*
** Call req->check with the live versions of req->subject (only the latest
** with req->check_latest_only; without the texts req->check_wants_texts
** does not want), inside o's transaction: the write transaction with the
** subject locked when registering (chan_store_schema_register), a read
** one for a check alone (chan_store_schema_check).  Returns 0 or the
** (negative) error of the check, with a message in err when the check left
** none.
*/
static int run_register_check(chan_store__op *o, const chan_schema_register_request *req,
                              chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_schema_version **existing = NULL;
    chan_schema_version *block = NULL; /* the versions of a lazy read, in one allocation */
    char *subject = NULL;              /* their subject, shared */
    size_t n_existing = 0;
    int error, want_min = 0, want_max = 0;
    bool *want = NULL; /* of a lazy read: the texts check_wants_texts asks for */
    bool lazy = req->check_wants_texts != NULL;

    assert(o->in_txn && req->check != NULL);
    if (req->check_latest_only)
        error = chan_store__run(o, &rows,
                                lazy ? VERSION_ID_COLS "WHERE sv.subject = $1 AND sv.deleted = 0 "
                                                       "ORDER BY sv.version DESC LIMIT 1"
                                     : VERSION_COLS "WHERE sv.subject = $1 AND sv.deleted = 0 "
                                                    "ORDER BY sv.version DESC LIMIT 1",
                                P(SV_TEXT(req->subject)), err);
    else
        error = chan_store__run(o, &rows,
                                lazy ? VERSION_ID_COLS "WHERE sv.subject = $1 AND sv.deleted = 0 "
                                                       "ORDER BY sv.version"
                                     : VERSION_COLS "WHERE sv.subject = $1 AND sv.deleted = 0 "
                                                    "ORDER BY sv.version",
                                P(SV_TEXT(req->subject)), err);
    if (error < 0)
        goto cleanup;
    n_existing = rows.n_rows;
    existing = chan_xcalloc(n_existing + 1, sizeof(*existing));
    if (lazy) {
        block = chan_xcalloc(n_existing + 1, sizeof(*block));
        subject = chan_xstrdup(req->subject);
    }
    for (size_t i = 0; i < n_existing; i++) {
        if (!lazy) {
            existing[i] = version_from_row(&rows, i);
            continue;
        }
        existing[i] = &block[i];
        version_id_from_row(existing[i], &rows, i, subject);
    }
    if (lazy) {
        want = chan_xcalloc(n_existing + 1, sizeof(*want));
        req->check_wants_texts(req->check_ctx, (const chan_schema_version *const *)existing,
                               n_existing, want);
        for (size_t i = 0; i < n_existing; i++) {
            if (!want[i])
                continue;
            if (want_min == 0)
                want_min = existing[i]->version;
            want_max = existing[i]->version;
        }
    }
    if (want_min > 0 &&
        (error = read_texts(o, existing, n_existing, req->subject, want_min, want_max, err)) < 0)
        goto cleanup;
    error =
        req->check(req->check_ctx, (const chan_schema_version *const *)existing, n_existing, err);
    if (error > 0)
        error = CHAN_EINTERNAL;
    if (error < 0 && err != NULL && err->code == 0)
        chan_error_set(err, error, "schema check failed");
cleanup:
    if (lazy) {
        for (size_t i = 0; block != NULL && i < n_existing; i++)
            free(block[i].schema); /* read_texts' */
        free(block);
        free(subject);
        free(existing);
        free(want);
    } else {
        chan_schema_version_list_free(existing, n_existing);
    }
    chan_store__rows_dispose(&rows);
    return error;
}

/*
** The global id of (type, schema): the existing one, or a new one with its
** row inserted (*out_new true).  One per distinct (type, text), whatever
** the subject; takes the "schema:<hash>" lock inside o's write transaction.
*/
static int assign_schema_id(chan_store__op *o, int64_t *out, bool *out_new, const char *type,
                            const chan_schema_register_request *req, int64_t now, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    const char *identity = identity_of(req);
    char key[32];
    int error;

    assert(o->in_txn && out != NULL && out_new != NULL);
    *out = 0;
    *out_new = false;
    snprintf(key, sizeof(key), "%016llx", (unsigned long long)text_hash(identity));
    if ((error = chan_store__op_lock(o, "schema", key, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(
             o, &rows,
             "SELECT id FROM schemas WHERE identity_hash = $1 AND schema_type = $2 "
             "AND identity = $3 ORDER BY id LIMIT 1",
             P(SV_INT(text_hash(identity)), SV_TEXT(type), SV_TEXT(identity)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 1) {
        *out = chan_store__cell_int(&rows, 0, 0);
        goto cleanup;
    }
    if ((error = o->store->be->next_schema_id(o->conn, out, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(o, NULL,
                                 "INSERT INTO schemas (id, fingerprint, schema_type, schema_text, "
                                 "created_at, identity, identity_hash) "
                                 "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                 P(SV_INT(*out), SV_INT(text_hash(req->schema)), SV_TEXT(type),
                                   SV_TEXT(req->schema), SV_INT(now), SV_TEXT(identity),
                                   SV_INT(text_hash(identity))),
                                 err)) < 0)
        goto cleanup;
    for (size_t i = 0; i < req->n_references; i++)
        if ((error = chan_store__run(
                 o, NULL,
                 "INSERT INTO schema_references (schema_id, position, name, "
                 "subject, version) VALUES ($1, $2, $3, $4, $5)",
                 P(SV_INT(*out), SV_INT((int64_t)i), SV_TEXT(req->references[i].name),
                   SV_TEXT(req->references[i].subject), SV_INT(req->references[i].version)),
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
                            const char *type, const char *identity, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(out != NULL);
    *out = NULL;
    if ((error = find_live_same(o, &rows, subject, type, identity, err)) == 0 && rows.n_rows == 1)
        error = version_with_refs(o, out, &rows, 0, err);
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
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
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
        (error = existing_version(&o, out, req->subject, type, identity_of(req), err)) < 0 ||
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
    if ((error = existing_version(&o, out, req->subject, type, identity_of(req), err)) < 0 ||
        (*out != NULL && (req->version <= 0 || (*out)->version == req->version)))
        goto cleanup;
    chan_schema_version_free(*out);
    *out = NULL;
    if (req->check != NULL && (error = run_register_check(&o, req, err)) < 0)
        goto cleanup;
    if ((error = assign_schema_id(&o, &id, &new_id, type, req, now, err)) < 0 ||
        (error = append_version(&o, &version, req->subject, id, now, err)) < 0)
        goto cleanup;
    if (req->version > 0 && version != req->version) {
        error = chan_store__set_reason(err, CHAN_EINVALID, CHAN_STORE_R_VERSION_NOT_NEXT,
                                       "Version is not one more than previous version");
        goto cleanup;
    }

    /* The new version as stored: the id's own text and references, which a
     * registration that found an equal schema under another text does not change. */
    if ((error = read_version(&o, &rows, req->subject, (int)version, true, err)) < 0)
        goto cleanup;
    if (rows.n_rows != 1) {
        error = chan_error_set(err, CHAN_EINTERNAL, "version %d of '%s' vanished", (int)version,
                               req->subject);
        goto cleanup;
    }
    if ((error = version_with_refs(&o, out, &rows, 0, err)) < 0)
        goto cleanup;
    object = chan_xasprintf("subject/%s/%d", req->subject, (int)version);
    if ((error = chan_store__audit(&o, actor, "schema.register", object,
                                   json_pack("{s:s, s:I, s:I, s:s, s:b}", "subject", req->subject,
                                             "version", (json_int_t)version, "id", (json_int_t)id,
                                             "schema_type", type, "new_id", new_id),
                                   now, err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
    if (new_id)
        cache_put(store, id, req->schema, type, req->references, req->n_references);
    if (out_created != NULL)
        *out_created = true;
cleanup:
    if (error < 0) {
        chan_schema_version_free(*out);
        *out = NULL;
    }
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    free(object);
    return error;
}

int chan_store_schema_check(chan_store *store, const chan_schema_register_request *req,
                            chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    int error;

    assert(store != NULL && req != NULL && req->check != NULL);
    if ((error = chan_store__check_name("subject", req->subject, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, false, err)) == 0)
        error = run_register_check(&o, req, err);
    chan_store__op_end(&o);
    return error;
}

int chan_store_schema_lookup(chan_store *store, chan_schema_version **out, const char *subject,
                             const char *identity, bool include_deleted, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = NULL;
    if ((error = chan_store__check_name("subject", subject, err)) < 0 ||
        (error = chan_store__check_text("schema identity", identity, CHAN_STORE_SCHEMA_MAX, false,
                                        err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = version_by_identity(&o, &rows, subject, NULL, identity, include_deleted, true,
                                     err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = not_found_in_subject(&o, subject, include_deleted, CHAN_STORE_R_SCHEMA_NOT_FOUND,
                                     "schema", err);
        goto cleanup;
    }
    error = version_with_refs(&o, out, &rows, 0, err);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

/*
** The id cache keeps a schema's text and, in its type string, the type
** followed by "\n" and the references as a JSON array when it has any
** (types never contain a newline): ids, texts and references are all
** immutable, so a cached schema needs no query at all.
*/
static void cache_put(chan_store *store, int64_t id, const char *text, const char *type,
                      const chan_schema_reference *refs, size_t n_refs)
{
    json_t *arr;
    char *packed, *json;

    if (n_refs == 0) {
        chan_store__id_cache_put(&store->cache, id, text, type);
        return;
    }
    arr = json_array();
    for (size_t i = 0; i < n_refs; i++)
        json_array_append_new(arr,
                              json_pack("[s,s,i]", refs[i].name, refs[i].subject, refs[i].version));
    json = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (json == NULL)
        return;
    packed = chan_xasprintf("%s\n%s", type, json);
    chan_store__id_cache_put(&store->cache, id, text, packed);
    free(packed);
    free(json);
}

/* The cached schema of id (see cache_put); false on a miss. */
static bool cache_get(chan_store *store, int64_t id, char **text, char **type,
                      chan_schema_reference **refs, size_t *n_refs)
{
    char *packed = NULL, *nl;
    json_t *arr;
    size_t i, n;

    if (!chan_store__id_cache_get(&store->cache, id, text, &packed))
        return false;
    if ((nl = strchr(packed, '\n')) != NULL) {
        *nl = '\0';
        if (refs != NULL && (arr = json_loads(nl + 1, 0, NULL)) != NULL) {
            n = json_array_size(arr);
            *refs = chan_xcalloc(n + 1, sizeof(**refs));
            for (i = 0; i < n; i++) {
                json_t *r = json_array_get(arr, i);

                (*refs)[i].name = chan_xstrdup(json_string_value(json_array_get(r, 0)));
                (*refs)[i].subject = chan_xstrdup(json_string_value(json_array_get(r, 1)));
                (*refs)[i].version = (int)json_integer_value(json_array_get(r, 2));
            }
            *n_refs = n;
            json_decref(arr);
        }
    }
    if (type != NULL)
        *type = packed;
    else
        free(packed);
    return true;
}

int chan_store_schema_by_id_refs(chan_store *store, char **out_schema, char **out_type,
                                 chan_schema_reference **out_refs, size_t *out_n_refs, int64_t id,
                                 chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_schema_reference *refs = NULL;
    size_t n_refs = 0;
    int error;

    assert(store != NULL && out_schema != NULL);
    *out_schema = NULL;
    if (out_type != NULL)
        *out_type = NULL;
    if (out_refs != NULL)
        *out_refs = NULL;
    if (out_n_refs != NULL)
        *out_n_refs = 0;
    if (cache_get(store, id, out_schema, out_type, out_refs, out_n_refs))
        return 0;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
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
    if ((error = load_references(&o, &refs, &n_refs, id, err)) < 0)
        goto cleanup;
    cache_put(store, id, chan_store__cell(&rows, 0, 0), chan_store__cell(&rows, 0, 1), refs,
              n_refs);
    *out_schema = chan_store__cell_take(&rows, 0, 0);
    if (out_type != NULL)
        *out_type = chan_store__cell_take(&rows, 0, 1);
    if (out_refs != NULL && out_n_refs != NULL) {
        *out_refs = refs;
        *out_n_refs = n_refs;
        refs = NULL;
    }
cleanup:
    chan_schema_reference_list_free(refs, n_refs);
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_schema_by_id(chan_store *store, char **out_schema, char **out_type, int64_t id,
                            chan_error *err)
{
    return chan_store_schema_by_id_refs(store, out_schema, out_type, NULL, NULL, id, err);
}

/* CHAN_ENOTFOUND (schema not found) unless schema id is stored; rows is scratch. */
static int require_schema_id(chan_store__op *o, chan_store__rows *rows, int64_t id, chan_error *err)
{
    int error;

    if ((error = chan_store__run(o, rows, "SELECT 1 FROM schemas WHERE id = $1", P(SV_INT(id)),
                                 err)) < 0)
        return error;
    if (rows->n_rows == 0)
        return chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SCHEMA_NOT_FOUND,
                                      "schema id %lld not found", (long long)id);
    return 0;
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
    if ((error = require_schema_id(&o, &rows, id, err)) < 0)
        goto cleanup;
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

/*
** The version numbers of subject that sql (parameters: subject,
** include_deleted; one column) selects, in its order.  None is an empty
** list, or CHAN_ENOTFOUND (subject not found) when none_is_not_found.
*/
static int version_numbers(chan_store *store, int **out, size_t *out_n, const char *subject,
                           bool include_deleted, const char *sql, bool none_is_not_found,
                           chan_error *err)
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
    if ((error = chan_store__run(&o, &rows, sql, P(SV_TEXT(subject), SV_INT(include_deleted)),
                                 err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        if (none_is_not_found)
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

int chan_store_subject_versions(chan_store *store, int **out, size_t *out_n, const char *subject,
                                bool include_deleted, chan_error *err)
{
    return version_numbers(store, out, out_n, subject, include_deleted,
                           "SELECT version FROM subject_versions WHERE subject = $1 "
                           "AND (deleted = 0 OR $2 = 1) ORDER BY version",
                           true, err);
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
    error = version_with_refs(&o, out, &rows, 0, err);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

/*
** Is version `version` of subject referenced by another schema?  Counts the
** schemas that a live version uses, or every version with include_deleted;
** with other_subjects_only, references from versions of subject itself do
** not count.  On yes, CHAN_ECONFLICT with REFERENCE_EXISTS (Confluent's
** message names the key).
*/
static int check_not_referenced(chan_store__op *o, const char *subject, int version,
                                bool include_deleted, bool other_subjects_only, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    error = chan_store__run(
        o, &rows,
        "SELECT 1 FROM schema_references r JOIN subject_versions sv "
        "ON sv.schema_id = r.schema_id WHERE r.subject = $1 AND r.version = $2 "
        "AND (sv.deleted = 0 OR $3 = 1) AND (sv.subject <> $1 OR $4 = 0) "
        "LIMIT 1",
        P(SV_TEXT(subject), SV_INT(version), SV_INT(include_deleted), SV_INT(other_subjects_only)),
        err);
    if (error == 0 && rows.n_rows > 0)
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_REFERENCE_EXISTS,
                                       "One or more references exist to the schema "
                                       "{magic=1,keytype=SCHEMA,subject=%s,version=%d}.",
                                       subject, version);
    chan_store__rows_dispose(&rows);
    return error;
}

int chan_store_schema_references(chan_store *store, chan_schema_reference **out, size_t *out_n,
                                 int64_t id, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = require_schema_id(&o, &rows, id, err)) < 0)
        goto cleanup;
    error = load_references(&o, out, out_n, id, err);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_referenced_by(chan_store *store, int64_t **out, size_t *out_n, const char *subject,
                             int version, bool include_deleted, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error, v;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if ((error = chan_store__check_name("subject", subject, err)) < 0 ||
        (error = check_version_arg(version, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = read_version(&o, &rows, subject, version, version != -1, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error =
            not_found_in_subject(&o, subject, true, CHAN_STORE_R_VERSION_NOT_FOUND, "version", err);
        goto cleanup;
    }
    v = (int)chan_store__cell_int(&rows, 0, 1);
    if ((error = chan_store__run(&o, &rows,
                                 "SELECT DISTINCT r.schema_id FROM schema_references r "
                                 "JOIN subject_versions sv ON sv.schema_id = r.schema_id "
                                 "WHERE r.subject = $1 AND r.version = $2 "
                                 "AND (sv.deleted = 0 OR $3 = 1) ORDER BY r.schema_id",
                                 P(SV_TEXT(subject), SV_INT(v), SV_INT(include_deleted)), err)) < 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++)
        (*out)[i] = chan_store__cell_int(&rows, i, 0);
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_subject_versions_with_references(chan_store *store, int **out, size_t *out_n,
                                                const char *subject, bool include_deleted,
                                                chan_error *err)
{
    return version_numbers(store, out, out_n, subject, include_deleted,
                           /* position 0: one row per schema with references,
                            * found in the primary key's index alone */
                           "SELECT sv.version FROM subject_versions sv "
                           "JOIN schema_references r ON r.schema_id = sv.schema_id "
                           "AND r.position = 0 "
                           "WHERE sv.subject = $1 AND (sv.deleted = 0 OR $2 = 1) "
                           "ORDER BY sv.version",
                           false, err);
}

/* Up to 100 schemas without an identity into rows (id, schema_type, schema_text). */
static int rows_without_identity(chan_store__op *o, chan_store__rows *rows, chan_error *err)
{
    return chan_store__run(o, rows,
                           "SELECT id, schema_type, schema_text FROM schemas "
                           "WHERE identity IS NULL ORDER BY id LIMIT 100",
                           NULL, 0, err);
}

int chan_store_schema_fill_identity(chan_store *store, size_t *out_n, chan_store_identity_fn fn,
                                    void *ctx, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    size_t filled = 0;
    int error = 0;

    assert(store != NULL && fn != NULL);
    if (out_n != NULL)
        *out_n = 0;
    for (;;) {
        if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
            (error = chan_store__op_lock(&o, "schema", "identity-fill", err)) < 0 ||
            (error = rows_without_identity(&o, &rows, err)) < 0)
            goto cleanup;
        if (rows.n_rows == 0)
            break;
        for (size_t i = 0; i < rows.n_rows; i++) {
            const char *type = chan_store__cell(&rows, i, 1), *text = chan_store__cell(&rows, i, 2);
            char *identity = NULL;

            if (fn(ctx, &identity, type ? type : "AVRO", text ? text : "", NULL) < 0 ||
                identity == NULL) {
                free(identity);
                identity = chan_xstrdup(text ? text : "");
            }
            error = chan_store__run(&o, NULL,
                                    "UPDATE schemas SET identity = $1, identity_hash = $2 "
                                    "WHERE id = $3",
                                    P(SV_TEXT(identity), SV_INT(text_hash(identity)),
                                      SV_INT(chan_store__cell_int(&rows, i, 0))),
                                    err);
            free(identity);
            if (error < 0)
                goto cleanup;
        }
        if ((error = chan_store__op_commit(&o, err)) < 0)
            goto cleanup;
        filled += rows.n_rows;
        chan_store__op_end(&o);
        chan_store__rows_dispose(&rows);
    }
    if (out_n != NULL)
        *out_n = filled;
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
    if ((error = check_not_referenced(&o, subject, v->version, permanent, false, err)) < 0)
        goto cleanup;
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
    for (size_t i = 0; i < n_deleted; i++)
        if ((error = check_not_referenced(&o, subject, deleted[i], permanent, true, err)) < 0)
            goto cleanup;
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

/* SQL per column: [0] compatibility, [1] mode, [2] normalize. */
static const char *const cfg_get_sql[3] = {
    "SELECT compatibility FROM subject_config WHERE subject = $1",
    "SELECT mode FROM subject_config WHERE subject = $1",
    ("SELECT CASE WHEN normalize IS NULL THEN NULL WHEN normalize = 1 THEN 'true' "
     "ELSE 'false' END FROM subject_config WHERE subject = $1"),
};
static const char *const cfg_set_sql[3] = {
    "INSERT INTO subject_config (subject, compatibility, mode, updated_at) "
    "VALUES ($1, $2, NULL, $3) ON CONFLICT (subject) DO UPDATE "
    "SET compatibility = excluded.compatibility, updated_at = excluded.updated_at",
    "INSERT INTO subject_config (subject, compatibility, mode, updated_at) "
    "VALUES ($1, NULL, $2, $3) ON CONFLICT (subject) DO UPDATE "
    "SET mode = excluded.mode, updated_at = excluded.updated_at",
    "INSERT INTO subject_config (subject, compatibility, mode, normalize, updated_at) "
    "VALUES ($1, NULL, NULL, CASE WHEN $2 = 'true' THEN 1 WHEN $2 = 'false' THEN 0 END, $3) "
    "ON CONFLICT (subject) DO UPDATE "
    "SET normalize = excluded.normalize, updated_at = excluded.updated_at",
};
static const char *const bool_values[] = {"true", "false", NULL};

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
    if (chan_store__cell(&rows, 0, 0) == NULL) {
        int reason = col == 1 ? CHAN_STORE_R_MODE_NOT_FOUND : CHAN_STORE_R_CONFIG_NOT_FOUND;
        const char *what = col == 1   ? "mode"
                           : col == 2 ? "normalize setting"
                                      : "compatibility level";
        if (subject != NULL)
            error = chan_store__set_reason(err, CHAN_ENOTFOUND, reason,
                                           "no %s set for subject '%s'", what, subject);
        else
            error = chan_store__set_reason(err, CHAN_ENOTFOUND, reason, "no global %s set", what);
        goto cleanup;
    }
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
    static const char *const what[3] = {"compatibility level", "mode", "normalize setting"};
    static const char *const kind[3] = {"config", "mode", "config"};
    static const char *const *const allowed[3] = {chan_store__compat_levels, modes, bool_values};
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    const char *scope = subject != NULL ? subject : "";
    char *object = NULL, *action = NULL;
    int64_t now = chan_store__now();
    json_t *detail;
    int error;

    if (subject != NULL && (error = chan_store__check_name("subject", subject, err)) < 0)
        return error;
    if ((error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if (value != NULL && !chan_store__in_list(value, allowed[col]))
        return chan_error_set(err, CHAN_EINVALID, "unknown %s '%.64s'", what[col], value);

    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, kind[col], scope, err)) < 0)
        goto cleanup;
    if (col != 1 && (error = check_writable(&o, scope, err)) < 0)
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
             "AND mode IS NULL AND normalize IS NULL",
             P(SV_TEXT(scope)), err)) < 0)
        goto cleanup;
    object =
        subject != NULL ? chan_xasprintf("%s/%s", kind[col], subject) : chan_xstrdup(kind[col]);
    action = chan_xasprintf("%s.%s", kind[col], value != NULL ? "set" : "clear");
    detail = json_pack("{s:s?, s:s?, s:s?}", "subject", subject, "old",
                       chan_store__cell(&rows, 0, 0), "new", value);
    if (col == 2)
        json_object_set_new(detail, "setting", json_string("normalize"));
    if ((error = chan_store__audit(&o, actor, action, object, detail, now, err)) < 0 ||
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

int chan_store_normalize_get(chan_store *store, bool *out, const char *subject, chan_error *err)
{
    char *value = NULL;
    int error;

    assert(out != NULL);
    *out = false;
    if ((error = cfg_get(store, 2, &value, subject, err)) == 0)
        *out = chan_store__streq(value, "true");
    free(value);
    return error;
}

int chan_store_normalize_set(chan_store *store, const char *subject, int value, const char *actor,
                             chan_error *err)
{
    if (value < -1 || value > 1)
        return chan_error_set(err, CHAN_EINVALID, "normalize must be 0, 1 or -1 (clear)");
    return cfg_set(store, 2, subject,
                   value < 0 ? NULL
                   : value   ? "true"
                             : "false",
                   false, actor, err);
}
