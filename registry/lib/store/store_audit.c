/*
 * store_audit.c - the audit log: one entry per change, appended inside the
 * transaction that makes the change, and read back in id order.
 */
#include <assert.h>
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
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++) {
        chan_audit_entry *e = chan_xcalloc(1, sizeof(*e));
        e->id = chan_store__cell_int(&rows, i, 0);
        e->ts = chan_store__cell_int(&rows, i, 1);
        e->actor = chan_store__cell_take(&rows, i, 2);
        e->action = chan_store__cell_take(&rows, i, 3);
        e->object = chan_store__cell_take(&rows, i, 4);
        e->detail = chan_store__cell_take(&rows, i, 5);
        (*out)[i] = e;
    }
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}
