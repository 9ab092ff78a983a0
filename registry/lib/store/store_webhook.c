/*
 * store_webhook.c - the state of webhook deliveries, and lifecycle events.
 *
 * The audit log is the outbox: each change wrote its audit entry in its own
 * transaction, so the events to notify are already durable.  A target (a
 * webhook, named by a digest of its URL) has a floor; the entries to send it
 * are the entries about channels and schema registrations above the floor
 * that have no delivery row for it.  Selecting by "no delivery row" rather
 * than "id above the last one sent" also finds an entry whose transaction
 * committed after an entry with a higher id (PostgreSQL allocates ids before
 * commit).  The floor only rises over entries older than a settle time, and
 * the delivery rows below it are then dropped, so both tables stay small.
 *
 * Lifecycle events (a registration going stale, a deprecation date coming,
 * a retirement) are audit entries written once per key.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/store.h"
#include "store_int.h"

/* The audit entries that are events: about a channel, or a schema registration. */
#define EVENT_FILTER "(substr(a.object, 1, 8) = 'channel/' OR a.action = 'schema.register')"

static int check_target(const char *target, chan_error *err)
{
    return chan_store__check_name("webhook target", target, err);
}

/*
** Begin a write transaction on target's row, locked against the other
** replicas, and read its floor_id into rows (no row: not registered).
*/
static int begin_target(chan_store__op *o, chan_store__rows *rows, chan_store *store,
                        const char *target, chan_error *err)
{
    int error;

    if ((error = chan_store__op_begin(o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(o, "webhook", target, err)) < 0)
        return error;
    return chan_store__run(o, rows, "SELECT floor_id FROM webhook_targets WHERE target = $1",
                           P(SV_TEXT(target)), err);
}

int chan_store_webhook_target(chan_store *store, const char *target, int64_t *out_floor,
                              chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out_floor != NULL);
    *out_floor = 0;
    if ((error = check_target(target, err)) < 0)
        return error;
    if ((error = begin_target(&o, &rows, store, target, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 1) {
        *out_floor = chan_store__cell_int(&rows, 0, 0);
        goto cleanup;
    }
    /* A new target hears of what happens from now on. */
    if ((error = chan_store__run(&o, &rows, "SELECT COALESCE(MAX(id), 0) FROM audit_log", NULL, 0,
                                 err)) < 0)
        goto cleanup;
    *out_floor = chan_store__cell_int(&rows, 0, 0);
    if ((error = chan_store__run(&o, NULL,
                                 "INSERT INTO webhook_targets (target, floor_id, created_at) "
                                 "VALUES ($1, $2, $3)",
                                 P(SV_TEXT(target), SV_INT(*out_floor), SV_INT(chan_store__now())),
                                 err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_webhook_pending(chan_store *store, const char *target, int64_t floor, size_t limit,
                               chan_audit_entry ***out, size_t *out_n, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if ((error = check_target(target, err)) < 0)
        return error;
    if (limit == 0 || limit > 1000)
        limit = 1000;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0 ||
        (error = chan_store__run(
             &o, &rows,
             "SELECT a.id, a.ts, a.actor, a.action, a.object, a.detail FROM audit_log a "
             "WHERE a.id > $2 AND " EVENT_FILTER " AND NOT EXISTS (SELECT 1 FROM "
             "webhook_deliveries d WHERE d.target = $1 AND d.audit_id = a.id) "
             "ORDER BY a.id LIMIT $3",
             P(SV_TEXT(target), SV_INT(floor), SV_INT((int64_t)limit)), err)) < 0)
        goto cleanup;
    chan_store__audit_entries(out, out_n, &rows);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_webhook_done(chan_store *store, const char *target, int64_t audit_id, bool delivered,
                            int64_t attempts, const char *last_error, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    int error;

    assert(store != NULL && audit_id > 0);
    if ((error = check_target(target, err)) < 0)
        return error;
    if (last_error != NULL &&
        (error = chan_store__check_text("delivery error", last_error, 4096, false, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__run(
             &o, NULL,
             "INSERT INTO webhook_deliveries (target, audit_id, state, attempts, last_error, "
             "updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
             P(SV_TEXT(target), SV_INT(audit_id), SV_TEXT(delivered ? "delivered" : "failed"),
               SV_INT(attempts), SV_TEXT(last_error), SV_INT(chan_store__now())),
             err)) < 0)
        goto cleanup;
    error = chan_store__op_commit(&o, err);
cleanup:
    chan_store__op_end(&o);
    return error;
}

int chan_store_webhook_advance(chan_store *store, const char *target, int64_t settled_before,
                               int64_t *out_floor, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int64_t floor, first_open, next;
    int error;

    assert(store != NULL && out_floor != NULL);
    if ((error = check_target(target, err)) < 0)
        return error;
    if ((error = begin_target(&o, &rows, store, target, err)) < 0)
        goto cleanup;
    if (rows.n_rows != 1) {
        error = chan_error_set(err, CHAN_ENOTFOUND, "webhook target %s is not registered", target);
        goto cleanup;
    }
    floor = chan_store__cell_int(&rows, 0, 0);
    /* The first event still to send bounds the floor from above. */
    if ((error = chan_store__run(
             &o, &rows,
             "SELECT MIN(a.id) FROM audit_log a WHERE a.id > $2 AND " EVENT_FILTER
             " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.target = $1 "
             "AND d.audit_id = a.id)",
             P(SV_TEXT(target), SV_INT(floor)), err)) < 0)
        goto cleanup;
    first_open = chan_store__cell(&rows, 0, 0) != NULL ? chan_store__cell_int(&rows, 0, 0) : 0;
    if ((error = chan_store__run(&o, &rows,
                                 "SELECT COALESCE(MAX(id), 0) FROM audit_log WHERE id > $1 "
                                 "AND ts < $2 AND ($3 = 0 OR id < $3)",
                                 P(SV_INT(floor), SV_INT(settled_before), SV_INT(first_open)),
                                 err)) < 0)
        goto cleanup;
    next = chan_store__cell_int(&rows, 0, 0);
    if (next > floor) {
        if ((error = chan_store__run(&o, NULL,
                                     "UPDATE webhook_targets SET floor_id = $2 WHERE target = $1",
                                     P(SV_TEXT(target), SV_INT(next)), err)) < 0 ||
            (error = chan_store__run(&o, NULL,
                                     "DELETE FROM webhook_deliveries WHERE target = $1 "
                                     "AND audit_id <= $2",
                                     P(SV_TEXT(target), SV_INT(next)), err)) < 0 ||
            (error = chan_store__op_commit(&o, err)) < 0)
            goto cleanup;
        floor = next;
    }
    *out_floor = floor;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_webhook_failed_count(chan_store *store, const char *target, int64_t *out,
                                    chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = 0;
    if ((error = check_target(target, err)) < 0)
        return error;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0 ||
        (error = chan_store__run(&o, &rows,
                                 "SELECT COUNT(*) FROM webhook_deliveries WHERE target = $1 "
                                 "AND state = 'failed'",
                                 P(SV_TEXT(target)), err)) < 0)
        goto cleanup;
    *out = chan_store__cell_int(&rows, 0, 0);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_lifecycle_event(chan_store *store, const char *key, const char *action,
                               const char *object, const char *detail_json, bool *out_created,
                               chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    json_t *detail = NULL;
    int64_t now = chan_store__now();
    int error;

    assert(store != NULL && out_created != NULL);
    *out_created = false;
    if ((error = chan_store__check_name("lifecycle event key", key, err)) < 0 ||
        (error = chan_store__check_name("audit action", action, err)) < 0 ||
        (error = chan_store__check_name("audit object", object, err)) < 0)
        return error;
    /* json_is_object evaluates its argument twice: load first. */
    if (detail_json != NULL)
        detail = json_loads(detail_json, 0, NULL);
    if (detail_json != NULL && !json_is_object(detail)) {
        json_decref(detail);
        return chan_error_set(err, CHAN_EINVALID, "lifecycle event detail is not a JSON object");
    }
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, "lifecycle", key, err)) < 0 ||
        (error = chan_store__run(&o, &rows, "SELECT 1 FROM lifecycle_events WHERE key = $1",
                                 P(SV_TEXT(key)), err)) < 0)
        goto cleanup;
    if (rows.n_rows > 0)
        goto cleanup;
    error = chan_store__audit(&o, "chanregd", action, object, detail, now, err);
    detail = NULL;
    if (error < 0 ||
        (error = chan_store__run(&o, NULL,
                                 "INSERT INTO lifecycle_events (key, created_at) VALUES ($1, $2)",
                                 P(SV_TEXT(key), SV_INT(now)), err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
    *out_created = true;
cleanup:
    json_decref(detail);
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}
