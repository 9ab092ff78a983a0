/*
 * store_audit.c - the audit log: one entry per change, appended inside the
 * transaction that makes the change, and read back in id order; and the
 * record of ACL applies (audit entry plus the applied state, together).
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/store.h"
#include "store_int.h"

/* Append an audit entry; takes ownership of detail (may be NULL). */
int chan_store__audit(chan_store__op *o, const char *actor, const char *action, const char *object,
                      json_t *detail, int64_t now, chan_error *err)
{
    char *text = NULL;
    int error;

    assert(o->in_txn && action != NULL && object != NULL);
    if (detail != NULL)
        text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    error = chan_store__run(
        o, NULL,
        "INSERT INTO audit_log (ts, actor, action, object, detail) "
        "VALUES ($1, $2, $3, $4, $5)",
        P(SV_INT(now), SV_TEXT(actor), SV_TEXT(action), SV_TEXT(object), SV_TEXT(text)), err);
    free(text);
    return error;
}

void chan_store__audit_entries(chan_audit_entry ***out, size_t *out_n, chan_store__rows *rows)
{
    *out = chan_xcalloc(rows->n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows->n_rows; i++) {
        chan_audit_entry *e = chan_xcalloc(1, sizeof(*e));

        e->id = chan_store__cell_int(rows, i, 0);
        e->ts = chan_store__cell_int(rows, i, 1);
        e->actor = chan_store__cell_take(rows, i, 2);
        e->action = chan_store__cell_take(rows, i, 3);
        e->object = chan_store__cell_take(rows, i, 4);
        e->detail = chan_store__cell_take(rows, i, 5);
        (*out)[i] = e;
    }
    *out_n = rows->n_rows;
}

void chan_audit_entry_list_free(chan_audit_entry **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (list[i] == NULL)
            continue;
        free(list[i]->actor);
        free(list[i]->action);
        free(list[i]->object);
        free(list[i]->detail);
        free(list[i]);
    }
    free(list);
}

int chan_store_audit_list(chan_store *store, chan_audit_entry ***out, size_t *out_n,
                          int64_t after_id, size_t limit, const char *object_prefix,
                          chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if (object_prefix != NULL &&
        (error = chan_store__check_text("object prefix", object_prefix, CHAN_STORE_NAME_MAX, false,
                                        err)) < 0)
        return error;
    if (limit == 0 || limit > (size_t)INT64_MAX)
        limit = INT64_MAX;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(
             &o, &rows,
             "SELECT id, ts, actor, action, object, detail FROM audit_log "
             "WHERE id > $1 AND (CAST($2 AS TEXT) IS NULL "
             "OR substr(object, 1, length($2)) = $2) ORDER BY id LIMIT $3",
             P(SV_INT(after_id), SV_TEXT(object_prefix), SV_INT((int64_t)limit)), err)) < 0)
        goto cleanup;
    chan_store__audit_entries(out, out_n, &rows);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_audit_count(chan_store *store, size_t *out, int64_t after_id,
                           const char *object_prefix, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = 0;
    if (object_prefix != NULL &&
        (error = chan_store__check_text("object prefix", object_prefix, CHAN_STORE_NAME_MAX, false,
                                        err)) < 0)
        return error;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows,
                                 "SELECT COUNT(*) FROM audit_log WHERE id > $1 AND "
                                 "(CAST($2 AS TEXT) IS NULL OR substr(object, 1, length($2)) = $2)",
                                 P(SV_INT(after_id), SV_TEXT(object_prefix)), err)) < 0)
        goto cleanup;
    *out = (size_t)chan_store__cell_int(&rows, 0, 0);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

/* True when text parses as JSON of the given type. */
static bool json_text_is(const char *text, json_type type)
{
    json_t *j = text != NULL ? json_loads(text, 0, NULL) : NULL;
    bool ok = j != NULL && json_typeof(j) == type;

    json_decref(j);
    return ok;
}

int chan_store_acl_apply_record(chan_store *store, const char *actor, const char *detail_json,
                                const char *bindings_json, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    int64_t now = chan_store__now();
    int error;

    assert(store != NULL);
    if ((error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if (!json_text_is(detail_json, JSON_OBJECT))
        return chan_error_set(err, CHAN_EINVALID, "acl apply detail is not a JSON object");
    if (!json_text_is(bindings_json, JSON_ARRAY))
        return chan_error_set(err, CHAN_EINVALID, "applied bindings are not a JSON array");
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__audit(&o, actor, "acl.apply", "acl", json_loads(detail_json, 0, NULL),
                                   now, err)) < 0 ||
        (error = chan_store__run(&o, NULL, "DELETE FROM acl_applied WHERE id = 1", NULL, 0, err)) <
            0 ||
        (error = chan_store__run(&o, NULL,
                                 "INSERT INTO acl_applied (id, bindings, applied_at) "
                                 "VALUES (1, $1, $2)",
                                 P(SV_TEXT(bindings_json), SV_INT(now)), err)) < 0)
        goto cleanup;
    error = chan_store__op_commit(&o, err);
cleanup:
    chan_store__op_end(&o);
    return error;
}

int chan_store_topic_apply_record(chan_store *store, const char *actor, const char *action,
                                  const char *topic, const char *detail_json, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    int64_t now = chan_store__now();
    char *object = NULL;
    int error;

    assert(store != NULL);
    if ((error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if (topic == NULL || topic[0] == '\0' || action == NULL || action[0] == '\0')
        return chan_error_set(err, CHAN_EINVALID, "topic apply: no topic or action");
    if (!json_text_is(detail_json, JSON_OBJECT))
        return chan_error_set(err, CHAN_EINVALID, "topic apply detail is not a JSON object");
    object = chan_xasprintf("topic/%s", topic);
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__audit(&o, actor, action, object, json_loads(detail_json, 0, NULL), now,
                                   err)) < 0)
        goto cleanup;
    error = chan_store__op_commit(&o, err);
cleanup:
    chan_store__op_end(&o);
    free(object);
    return error;
}

int chan_store_acl_applied_get(chan_store *store, char **out, int64_t *out_applied_at,
                               chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = NULL;
    if (out_applied_at != NULL)
        *out_applied_at = 0;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0 ||
        (error =
             chan_store__run(&o, &rows, "SELECT bindings, applied_at FROM acl_applied WHERE id = 1",
                             NULL, 0, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_error_set(err, CHAN_ENOTFOUND, "no ACL apply has been recorded yet");
        goto cleanup;
    }
    *out = chan_store__cell_take(&rows, 0, 0);
    if (out_applied_at != NULL)
        *out_applied_at = chan_store__cell_int(&rows, 0, 1);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}
