/*
 * store_channel.c - channels with their consumers and producers: the whole
 * record written at once (chan_store_channel_put, with its diff in the audit
 * entry), and single consumers registered, renewed and removed.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/policy.h"
#include "chan/store.h"
#include "store_int.h"

#define CHANNEL_COLS                                                                               \
    "SELECT name, owner_team, maintainer, peak_qps, retention_hours, deprecation_date, subject, "  \
    "compatibility, document, revision, created_at, updated_at, waiver_approved_by, "              \
    "waiver_approved_at, retirement_date, waiver_reason, contract_version, cleanup_policy, "       \
    "avg_message_bytes FROM channels "
#define CONSUMER_COLS                                                                              \
    "SELECT channel, name, principal, group_id, scenario, sla_p99_ms, peak_rate_msgs, "            \
    "degradation, registered_at, renewed_at, origin, state, requester_team, requested_by, "        \
    "decided_by, decided_at, decision_reason FROM consumers "

/* A string member of a stored contract document (caller frees), or NULL. */
static char *document_string(const char *document, const char *const *path)
{
    json_t *doc = document ? json_loads(document, 0, NULL) : NULL;
    const json_t *v = doc;
    char *out;

    for (; *path != NULL; path++)
        v = json_object_get(v, *path);
    out = json_is_string(v) ? chan_xstrdup(json_string_value(v)) : NULL;
    json_decref(doc);
    return out;
}

/* The retirement_date of a stored contract document as written (caller frees), or NULL. */
static char *document_retirement_date(const char *document)
{
    static const char *const path[] = {"retirement_date", NULL};

    return document_string(document, path);
}

/* A top-level string member of a stored contract document (caller frees), or NULL. */
static char *document_member(const char *document, const char *key)
{
    const char *path[] = {key, NULL};

    return document_string(document, path);
}

/* The avg_message_bytes of a stored contract document, 0 when it has none. */
static int64_t document_avg_message_bytes(const char *document)
{
    json_t *doc = document ? json_loads(document, 0, NULL) : NULL;
    json_t *v = json_object_get(doc, "avg_message_bytes");
    int64_t out = json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;

    json_decref(doc);
    return out;
}

/* The schema.waiver.reason of a stored contract document (caller frees), or NULL. */
static char *document_waiver_reason(const char *document)
{
    static const char *const path[] = {"schema", "waiver", "reason", NULL};

    return document_string(document, path);
}

/*
** Fill rec from row r of CHANNEL_COLS.  retirement_date, waiver_reason,
** contract_version, cleanup_policy and avg_message_bytes come from their
** columns, which the store writes with the document (migration 0008 filled
** them for older rows): no document is parsed.
*/
static void channel_from_row(chan_channel_record *rec, chan_store__rows *rows, size_t r)
{
    assert(r < rows->n_rows && rows->n_cols >= 19);
    rec->name = chan_store__cell_take(rows, r, 0);
    rec->owner_team = chan_store__cell_take(rows, r, 1);
    rec->maintainer = chan_store__cell_take(rows, r, 2);
    rec->peak_qps = chan_store__cell_int(rows, r, 3);
    rec->retention_hours = chan_store__cell_int(rows, r, 4);
    rec->deprecation_date = chan_store__cell_take(rows, r, 5);
    rec->subject = chan_store__cell_take(rows, r, 6);
    rec->compatibility = chan_store__cell_take(rows, r, 7);
    rec->document = chan_store__cell_take(rows, r, 8);
    rec->revision = chan_store__cell_int(rows, r, 9);
    rec->created_at = chan_store__cell_int(rows, r, 10);
    rec->updated_at = chan_store__cell_int(rows, r, 11);
    rec->waiver_approved_by = chan_store__cell_take(rows, r, 12);
    rec->waiver_approved_at = chan_store__cell_int(rows, r, 13);
    /* A retirement date that is no date is none (the contract format refuses it anyway). */
    if (chan_store__cell(rows, r, 14) != NULL &&
        chan_date_parse(chan_store__cell(rows, r, 14), NULL))
        rec->retirement_date = chan_store__cell_take(rows, r, 14);
    rec->waiver_reason = chan_store__cell_take(rows, r, 15);
    rec->contract_version = chan_store__cell_take(rows, r, 16);
    rec->cleanup_policy = chan_store__cell_take(rows, r, 17);
    rec->avg_message_bytes =
        chan_store__cell_int(rows, r, 18) > 0 ? chan_store__cell_int(rows, r, 18) : 0;
}

static void consumer_from_row(chan_consumer_record *c, chan_store__rows *rows, size_t r)
{
    assert(r < rows->n_rows && rows->n_cols >= 17);
    c->channel = chan_store__cell_take(rows, r, 0);
    c->name = chan_store__cell_take(rows, r, 1);
    c->principal = chan_store__cell_take(rows, r, 2);
    c->group = chan_store__cell_take(rows, r, 3);
    c->scenario = chan_store__cell_take(rows, r, 4);
    c->sla_p99_ms = chan_store__cell_int(rows, r, 5);
    c->peak_rate_msgs = chan_store__cell_real(rows, r, 6);
    c->degradation = chan_store__cell_take(rows, r, 7);
    c->registered_at = chan_store__cell_int(rows, r, 8);
    c->renewed_at = chan_store__cell_int(rows, r, 9);
    /* The columns' CHECK constraints admit only known names. */
    if (chan_consumer_origin_parse(&c->origin, chan_store__cell(rows, r, 10)) < 0)
        c->origin = CHAN_CONSUMER_ORIGIN_CONTRACT;
    if (chan_consumer_state_parse(&c->state, chan_store__cell(rows, r, 11)) < 0)
        c->state = CHAN_CONSUMER_APPROVED;
    c->requester_team = chan_store__cell_take(rows, r, 12);
    c->requested_by = chan_store__cell_take(rows, r, 13);
    c->decided_by = chan_store__cell_take(rows, r, 14);
    c->decided_at = chan_store__cell_int(rows, r, 15);
    c->decision_reason = chan_store__cell_take(rows, r, 16);
}

/* A deep copy of c into out (initialised by this call). */
static void consumer_copy(chan_consumer_record *out, const chan_consumer_record *c)
{
    *out = *c;
    out->channel = c->channel ? chan_xstrdup(c->channel) : NULL;
    out->name = c->name ? chan_xstrdup(c->name) : NULL;
    out->principal = c->principal ? chan_xstrdup(c->principal) : NULL;
    out->group = c->group ? chan_xstrdup(c->group) : NULL;
    out->scenario = c->scenario ? chan_xstrdup(c->scenario) : NULL;
    out->degradation = c->degradation ? chan_xstrdup(c->degradation) : NULL;
    out->requester_team = c->requester_team ? chan_xstrdup(c->requester_team) : NULL;
    out->requested_by = c->requested_by ? chan_xstrdup(c->requested_by) : NULL;
    out->decided_by = c->decided_by ? chan_xstrdup(c->decided_by) : NULL;
    out->decision_reason = c->decision_reason ? chan_xstrdup(c->decision_reason) : NULL;
}

/* Fill rec->consumers / producers from rows of several channels: rows
 * [*ci, ...) and [*pi, ...) that belong to rec->name, advancing the cursors.
 * Both row sets and the channels are ordered by name (byte order). */
static void attach_children(chan_channel_record *rec, chan_store__rows *cons, size_t *ci,
                            chan_store__rows *prods, size_t *pi)
{
    size_t start;

    assert(rec->name != NULL && ci != NULL && pi != NULL);
    while (*ci < cons->n_rows && strcmp(chan_store__cell(cons, *ci, 0), rec->name) < 0)
        (*ci)++;
    start = *ci;
    while (*ci < cons->n_rows && strcmp(chan_store__cell(cons, *ci, 0), rec->name) == 0)
        (*ci)++;
    rec->n_consumers = *ci - start;
    rec->consumers = chan_xcalloc(rec->n_consumers + 1, sizeof(*rec->consumers));
    for (size_t i = 0; i < rec->n_consumers; i++)
        consumer_from_row(&rec->consumers[i], cons, start + i);

    while (*pi < prods->n_rows && strcmp(chan_store__cell(prods, *pi, 0), rec->name) < 0)
        (*pi)++;
    start = *pi;
    while (*pi < prods->n_rows && strcmp(chan_store__cell(prods, *pi, 0), rec->name) == 0)
        (*pi)++;
    rec->n_producers = *pi - start;
    rec->producers = chan_xcalloc(rec->n_producers + 1, sizeof(*rec->producers));
    for (size_t i = 0; i < rec->n_producers; i++) {
        rec->producers[i].channel = chan_store__cell_take(prods, start + i, 0);
        rec->producers[i].principal = chan_store__cell_take(prods, start + i, 1);
    }
}

/* Load one channel with its consumers and producers; CHAN_ENOTFOUND if absent. */
static int load_channel(chan_store__op *o, chan_channel_record **out, const char *name,
                        chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT, cons = CHAN_STORE__ROWS_INIT,
                     prods = CHAN_STORE__ROWS_INIT;
    chan_channel_record *rec = NULL;
    size_t ci = 0, pi = 0;
    int error;

    assert(o->conn != NULL && out != NULL);
    *out = NULL;
    if ((error = chan_store__run(o, &rows, CHANNEL_COLS "WHERE name = $1", P(SV_TEXT(name)), err)) <
        0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND,
                                       "channel '%s' not found", name);
        goto cleanup;
    }
    if ((error = chan_store__run(o, &cons, CONSUMER_COLS "WHERE channel = $1 ORDER BY name",
                                 P(SV_TEXT(name)), err)) < 0 ||
        (error = chan_store__run(o, &prods,
                                 "SELECT channel, principal FROM producers WHERE channel = $1 "
                                 "ORDER BY principal",
                                 P(SV_TEXT(name)), err)) < 0)
        goto cleanup;
    rec = chan_xcalloc(1, sizeof(*rec));
    channel_from_row(rec, &rows, 0);
    attach_children(rec, &cons, &ci, &prods, &pi);
    *out = rec;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__rows_dispose(&cons);
    chan_store__rows_dispose(&prods);
    return error;
}

static int check_consumer(const chan_consumer_record *c, const char *channel, size_t i,
                          chan_error *err)
{
    int error;

    if ((error = chan_store__check_name("consumer name", c->name, err)) < 0 ||
        (error = chan_store__check_name("consumer principal", c->principal, err)) < 0 ||
        (error = chan_store__check_name("consumer group", c->group, err)) < 0 ||
        (error = chan_store__check_text("consumer scenario", c->scenario, CHAN_STORE_TEXT_MAX, true,
                                        err)) < 0 ||
        (error = chan_store__check_text("consumer degradation", c->degradation, CHAN_STORE_TEXT_MAX,
                                        true, err)) < 0)
        goto fail;
    if (c->channel != NULL && channel != NULL && strcmp(c->channel, channel) != 0) {
        error = chan_error_set(err, CHAN_EINVALID, "consumer '%s' names channel '%s', not '%s'",
                               c->name, c->channel, channel);
        goto fail;
    }
    if (c->sla_p99_ms <= 0) {
        error = chan_error_set(err, CHAN_EINVALID, "consumer '%s': sla_p99_ms must be positive",
                               c->name);
        goto fail;
    }
    if (!isfinite(c->peak_rate_msgs) || c->peak_rate_msgs < 0) {
        error =
            chan_error_set(err, CHAN_EINVALID,
                           "consumer '%s': peak_rate_msgs must be a finite number >= 0", c->name);
        goto fail;
    }
    return 0;
fail:
    if (err != NULL && i != (size_t)-1)
        snprintf(err->path, sizeof(err->path), "consumers[%zu]", i);
    return error;
}

static int check_channel(const chan_channel_record *rec, chan_error *err)
{
    int error;

    if (rec == NULL)
        return chan_error_set(err, CHAN_EINVALID, "no channel record");
    if ((error = chan_store__check_name("channel name", rec->name, err)) < 0 ||
        (error = chan_store__check_name("owner_team", rec->owner_team, err)) < 0 ||
        (error = chan_store__check_name("maintainer", rec->maintainer, err)) < 0 ||
        (error = chan_store__check_text("document", rec->document, CHAN_STORE_DOCUMENT_MAX, true,
                                        err)) < 0)
        return error;
    if (rec->subject != NULL && (error = chan_store__check_name("subject", rec->subject, err)) < 0)
        return error;
    if (rec->compatibility != NULL &&
        !chan_store__in_list(rec->compatibility, chan_store__compat_levels))
        return chan_error_set(err, CHAN_EINVALID, "unknown compatibility level '%.64s'",
                              rec->compatibility);
    if (rec->peak_qps < 0 || rec->retention_hours < 0)
        return chan_error_set(err, CHAN_EINVALID,
                              "peak_qps and retention_hours must not be negative");
    if (rec->deprecation_date != NULL && !chan_date_parse(rec->deprecation_date, NULL))
        return chan_error_set(err, CHAN_EINVALID, "deprecation_date '%.32s' is not YYYY-MM-DD",
                              rec->deprecation_date);
    if (rec->n_consumers > 0 && rec->consumers == NULL)
        return chan_error_set(err, CHAN_EINVALID, "consumers missing");
    if (rec->n_producers > 0 && rec->producers == NULL)
        return chan_error_set(err, CHAN_EINVALID, "producers missing");
    for (size_t i = 0; i < rec->n_consumers; i++) {
        if ((error = check_consumer(&rec->consumers[i], rec->name, i, err)) < 0)
            return error;
        for (size_t j = 0; j < i; j++)
            if (strcmp(rec->consumers[j].name, rec->consumers[i].name) == 0)
                return chan_error_set(err, CHAN_EINVALID, "consumer '%s' is listed twice",
                                      rec->consumers[i].name);
    }
    for (size_t i = 0; i < rec->n_producers; i++) {
        if ((error = chan_store__check_name("producer principal", rec->producers[i].principal,
                                            err)) < 0)
            return error;
        if (rec->producers[i].channel != NULL && strcmp(rec->producers[i].channel, rec->name) != 0)
            return chan_error_set(err, CHAN_EINVALID, "producer '%s' names channel '%s', not '%s'",
                                  rec->producers[i].principal, rec->producers[i].channel,
                                  rec->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(rec->producers[j].principal, rec->producers[i].principal) == 0)
                return chan_error_set(err, CHAN_EINVALID, "producer '%s' is listed twice",
                                      rec->producers[i].principal);
    }
    return 0;
}

/* True when the contract fields of two consumers are equal (times ignored). */
static bool consumer_same(const chan_consumer_record *a, const chan_consumer_record *b)
{
    return chan_store__streq(a->name, b->name) && chan_store__streq(a->principal, b->principal) &&
           chan_store__streq(a->group, b->group) && chan_store__streq(a->scenario, b->scenario) &&
           a->sla_p99_ms == b->sla_p99_ms && a->peak_rate_msgs == b->peak_rate_msgs &&
           chan_store__streq(a->degradation, b->degradation);
}

static const chan_consumer_record *find_consumer(const chan_channel_record *rec, const char *name)
{
    for (size_t i = 0; i < rec->n_consumers; i++)
        if (strcmp(rec->consumers[i].name, name) == 0)
            return &rec->consumers[i];
    return NULL;
}

static bool has_producer(const chan_channel_record *rec, const char *principal)
{
    for (size_t i = 0; i < rec->n_producers; i++)
        if (strcmp(rec->producers[i].principal, principal) == 0)
            return true;
    return false;
}

/* Names of the channel fields that differ between old and new. */
static json_t *channel_field_diff(const chan_channel_record *a, const chan_channel_record *b)
{
    json_t *changed = json_array();

#define DIFF_STR(f)                                                                                \
    if (!chan_store__streq(a->f, b->f))                                                            \
    json_array_append_new(changed, json_string(#f))
#define DIFF_INT(f)                                                                                \
    if (a->f != b->f)                                                                              \
    json_array_append_new(changed, json_string(#f))
    DIFF_STR(owner_team);
    DIFF_STR(maintainer);
    DIFF_INT(peak_qps);
    DIFF_INT(retention_hours);
    DIFF_STR(deprecation_date);
    DIFF_STR(subject);
    DIFF_STR(compatibility);
    DIFF_STR(document);
#undef DIFF_STR
#undef DIFF_INT
    return changed;
}

/* The decided_at column of c: NULL when there is no decision. */
static chan_store__value decided_at_value(const chan_consumer_record *c)
{
    if (c->decided_at > 0)
        return SV_INT(c->decided_at);
    return SV_TEXT(NULL);
}

/* Insert consumer c of channel, its governance columns included. */
static int insert_consumer(chan_store__op *o, const char *channel, const chan_consumer_record *c,
                           int64_t registered_at, int64_t now, chan_error *err)
{
    return chan_store__run(
        o, NULL,
        "INSERT INTO consumers (channel, name, principal, group_id, scenario, sla_p99_ms, "
        "peak_rate_msgs, degradation, registered_at, renewed_at, origin, state, requester_team, "
        "requested_by, decided_by, decided_at, decision_reason) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        P(SV_TEXT(channel), SV_TEXT(c->name), SV_TEXT(c->principal), SV_TEXT(c->group),
          SV_TEXT(c->scenario), SV_INT(c->sla_p99_ms), SV_REAL(c->peak_rate_msgs),
          SV_TEXT(c->degradation), SV_INT(registered_at), SV_INT(now),
          SV_TEXT(chan_consumer_origin_name(c->origin)),
          SV_TEXT(chan_consumer_state_name(c->state)), SV_TEXT(c->requester_team),
          SV_TEXT(c->requested_by), SV_TEXT(c->decided_by), decided_at_value(c),
          SV_TEXT(c->decision_reason)),
        err);
}

/* Update consumer c of channel in place (registered_at kept), governance columns included. */
static int update_consumer(chan_store__op *o, const char *channel, const chan_consumer_record *c,
                           int64_t now, chan_error *err)
{
    return chan_store__run(
        o, NULL,
        "UPDATE consumers SET principal = $3, group_id = $4, scenario = $5, "
        "sla_p99_ms = $6, peak_rate_msgs = $7, degradation = $8, renewed_at = $9, "
        "origin = $10, state = $11, requester_team = $12, requested_by = $13, "
        "decided_by = $14, decided_at = $15, decision_reason = $16 "
        "WHERE channel = $1 AND name = $2",
        P(SV_TEXT(channel), SV_TEXT(c->name), SV_TEXT(c->principal), SV_TEXT(c->group),
          SV_TEXT(c->scenario), SV_INT(c->sla_p99_ms), SV_REAL(c->peak_rate_msgs),
          SV_TEXT(c->degradation), SV_INT(now), SV_TEXT(chan_consumer_origin_name(c->origin)),
          SV_TEXT(chan_consumer_state_name(c->state)), SV_TEXT(c->requester_team),
          SV_TEXT(c->requested_by), SV_TEXT(c->decided_by), decided_at_value(c),
          SV_TEXT(c->decision_reason)),
        err);
}

/* What chan_store_channel_put changes, by name: the audit detail. */
typedef struct channel_diff {
    json_t *changed;   /**< channel fields that differ */
    json_t *c_added;   /**< consumers not stored yet */
    json_t *c_removed; /**< stored consumers no longer listed */
    json_t *c_updated; /**< consumers whose contract fields differ */
    json_t *c_adopted; /**< API consumers the contract now lists */
    json_t *p_added;   /**< producer principals not stored yet */
    json_t *p_removed; /**< stored producer principals no longer listed */
} channel_diff;

static void channel_diff_dispose(channel_diff *d)
{
    json_decref(d->changed);
    json_decref(d->c_added);
    json_decref(d->c_removed);
    json_decref(d->c_updated);
    json_decref(d->c_adopted);
    json_decref(d->p_added);
    json_decref(d->p_removed);
    memset(d, 0, sizeof(*d));
}

/*
** Validate the arguments of chan_store_channel_put before any database
** work: the record, the actor (defaulted to "anonymous") and the expected
** revision (-1 or >= 0).  Returns 0 or CHAN_EINVALID.
*/
static int check_put_args(const chan_channel_record *rec, const char **actor,
                          int64_t expected_revision, chan_error *err)
{
    int error;

    assert(actor != NULL);
    if ((error = check_channel(rec, err)) < 0 || (error = chan_store__check_actor(actor, err)) < 0)
        return error;
    if (expected_revision < -1)
        return chan_error_set(err, CHAN_EINVALID, "invalid expected revision %lld",
                              (long long)expected_revision);
    return 0;
}

/*
** Inside o's write transaction: lock channel `name`, load its stored record
** into *out (NULL when it does not exist yet) and check it is at
** expected_revision (-1: any).  Returns 0, CHAN_ECONFLICT
** (REVISION_MISMATCH) or a store error.
*/
static int lock_and_load_current(chan_store__op *o, chan_channel_record **out, const char *name,
                                 int64_t expected_revision, chan_error *err)
{
    int64_t stored;
    int error;

    assert(o->in_txn && out != NULL);
    *out = NULL;
    if ((error = chan_store__op_lock(o, "channel", name, err)) < 0)
        return error;
    error = load_channel(o, out, name, err);
    if (error == CHAN_ENOTFOUND)
        chan_error_clear(err);
    else if (error < 0)
        return error;
    stored = *out != NULL ? (*out)->revision : 0;
    if (expected_revision >= 0 && expected_revision != stored)
        return chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_REVISION_MISMATCH,
                                      "channel '%s' is at revision %lld, not %lld", name,
                                      (long long)stored, (long long)expected_revision);
    return 0;
}

/*
** The channel as a contract put leaves it, in *next: rec's fields, then
** rec's consumers (the first rec->n_consumers) as contract consumers,
** approved, then old's API consumers that rec does not list (the drift).
** A consumer that existed keeps its registration fields; an adopted one
** that was not approved yet gets the put's decision (actor, now).  Every
** string is borrowed from rec, old or actor: free with free(next->consumers)
** only.  old may be NULL (a new channel).
*/
static void build_next(chan_channel_record *next, const chan_channel_record *rec,
                       const chan_channel_record *old, const char *actor, int64_t now)
{
    size_t n_old = old != NULL ? old->n_consumers : 0;

    *next = *rec;
    next->consumers = chan_xcalloc(rec->n_consumers + n_old + 1, sizeof(*next->consumers));
    next->n_consumers = 0;
    for (size_t i = 0; i < rec->n_consumers; i++) {
        chan_consumer_record *c = &next->consumers[next->n_consumers++];
        const chan_consumer_record *prev =
            old != NULL ? find_consumer(old, rec->consumers[i].name) : NULL;

        *c = rec->consumers[i];
        c->origin = CHAN_CONSUMER_ORIGIN_CONTRACT;
        c->state = CHAN_CONSUMER_APPROVED;
        c->requester_team = prev != NULL ? prev->requester_team : NULL;
        c->requested_by = prev != NULL ? prev->requested_by : NULL;
        c->decided_by = prev != NULL ? prev->decided_by : NULL;
        c->decided_at = prev != NULL ? prev->decided_at : 0;
        c->decision_reason = prev != NULL ? prev->decision_reason : NULL;
        if (prev != NULL && prev->state != CHAN_CONSUMER_APPROVED) {
            c->decided_by = (char *)actor;
            c->decided_at = now;
            c->decision_reason = NULL;
        }
    }
    for (size_t i = 0; i < n_old; i++)
        if (old->consumers[i].origin == CHAN_CONSUMER_ORIGIN_API &&
            find_consumer(rec, old->consumers[i].name) == NULL)
            next->consumers[next->n_consumers++] = old->consumers[i];
}

/*
** Compare the stored record old (NULL: a new channel) with next (build_next
** of the put's record, whose first n_contract consumers are the contract's)
** and fill *d (the caller disposes it).  Never fails.
*/
static void diff_channel(channel_diff *d, const chan_channel_record *old,
                         const chan_channel_record *next, size_t n_contract)
{
    const chan_channel_record *rec = next;

    d->changed = old != NULL ? channel_field_diff(old, rec) : json_array();
    d->c_added = json_array();
    d->c_removed = json_array();
    d->c_updated = json_array();
    d->c_adopted = json_array();
    d->p_added = json_array();
    d->p_removed = json_array();
    for (size_t i = 0; i < n_contract; i++) {
        const chan_consumer_record *prev =
            old != NULL ? find_consumer(old, rec->consumers[i].name) : NULL;
        if (prev == NULL)
            json_array_append_new(d->c_added, json_string(rec->consumers[i].name));
        else if (!consumer_same(prev, &rec->consumers[i]))
            json_array_append_new(d->c_updated, json_string(rec->consumers[i].name));
        if (prev != NULL && prev->origin == CHAN_CONSUMER_ORIGIN_API)
            json_array_append_new(d->c_adopted, json_string(rec->consumers[i].name));
    }
    /* Only contract consumers go with the contract; API ones stay (next lists them). */
    for (size_t i = 0; old != NULL && i < old->n_consumers; i++)
        if (find_consumer(rec, old->consumers[i].name) == NULL)
            json_array_append_new(d->c_removed, json_string(old->consumers[i].name));
    for (size_t i = 0; i < rec->n_producers; i++)
        if (old == NULL || !has_producer(old, rec->producers[i].principal))
            json_array_append_new(d->p_added, json_string(rec->producers[i].principal));
    for (size_t i = 0; old != NULL && i < old->n_producers; i++)
        if (!has_producer(rec, old->producers[i].principal))
            json_array_append_new(d->p_removed, json_string(old->producers[i].principal));
}

/* True when d records no change at all. */
static bool diff_is_empty(const channel_diff *d)
{
    return json_array_size(d->changed) == 0 && json_array_size(d->c_added) == 0 &&
           json_array_size(d->c_removed) == 0 && json_array_size(d->c_updated) == 0 &&
           json_array_size(d->c_adopted) == 0 && json_array_size(d->p_added) == 0 &&
           json_array_size(d->p_removed) == 0;
}

/*
** The columns of a channels row that write_channel_row writes besides name
** ($1, the key) and the times ($11, `now`: created_at on insert, updated_at
** always), as X(column, parameter number, value).  The values name the
** locals of write_channel_row.  This one table gives the INSERT, the UPDATE
** and their parameters; the statements stay string literals because the
** backends cache prepared statements by the address of their text.
*/
#define CHANNEL_ROW_COLUMNS(X)                                                                     \
    X(owner_team, 2, SV_TEXT(rec->owner_team))                                                     \
    X(maintainer, 3, SV_TEXT(rec->maintainer))                                                     \
    X(peak_qps, 4, SV_INT(rec->peak_qps))                                                          \
    X(retention_hours, 5, SV_INT(rec->retention_hours))                                            \
    X(deprecation_date, 6, SV_TEXT(rec->deprecation_date))                                         \
    X(subject, 7, SV_TEXT(rec->subject))                                                           \
    X(compatibility, 8, SV_TEXT(rec->compatibility))                                               \
    X(document, 9, SV_TEXT(rec->document))                                                         \
    X(revision, 10, SV_INT(revision))                                                              \
    X(retirement_date, 12, SV_TEXT(retirement))                                                    \
    X(waiver_reason, 13, SV_TEXT(reason))                                                          \
    X(contract_version, 14, SV_TEXT(version))                                                      \
    X(cleanup_policy, 15, SV_TEXT(cleanup))                                                        \
    X(avg_message_bytes, 16, SV_INT(avg_bytes))
#define ROW_INSERT_COLUMN(col, n, value) ", " #col
#define ROW_INSERT_VALUE(col, n, value)  ", $" #n
#define ROW_UPDATE_SET(col, n, value)    ", " #col " = $" #n
#define ROW_PARAM(col, n, value)         [(n)-1] = (value),
#define ROW_NAME(col, n, value)          #col,

/*
** Insert (is_new) or update the channels row of rec at `revision`, inside
** o's write transaction with the channel locked.
*/
static int write_channel_row(chan_store__op *o, const chan_channel_record *rec, bool is_new,
                             int64_t revision, int64_t now, chan_error *err)
{
    static const char insert_sql[] =
        "INSERT INTO channels (name, created_at, updated_at" CHANNEL_ROW_COLUMNS(
            ROW_INSERT_COLUMN) ") VALUES ($1, $11, $11" CHANNEL_ROW_COLUMNS(ROW_INSERT_VALUE) ")";
    static const char update_sql[] = "UPDATE channels SET updated_at = $11" CHANNEL_ROW_COLUMNS(
        ROW_UPDATE_SET) " WHERE name = $1";
    char *retirement = document_retirement_date(rec->document);
    char *reason = document_waiver_reason(rec->document);
    char *version = document_member(rec->document, "version");
    char *cleanup = document_member(rec->document, "cleanup_policy");
    int64_t avg_bytes = document_avg_message_bytes(rec->document);
    /* Indexed by parameter number: a number given twice does not compile. */
    const chan_store__value params[] = {
        [0] = SV_TEXT(rec->name), [10] = SV_INT(now), CHANNEL_ROW_COLUMNS(ROW_PARAM)};
    int error;

    /* No number left out either: $1 .. $N are all bound. */
    _Static_assert(CHAN_ARRAY_SIZE(params) ==
                       2 + CHAN_ARRAY_SIZE(((const char *[]){CHANNEL_ROW_COLUMNS(ROW_NAME)})),
                   "CHANNEL_ROW_COLUMNS numbers its parameters 2..N without gaps");
    assert(o->in_txn);
    error = chan_store__run(o, NULL, is_new ? insert_sql : update_sql, params,
                            CHAN_ARRAY_SIZE(params), err);
    free(retirement);
    free(reason);
    free(version);
    free(cleanup);
    return error;
}

#undef ROW_NAME
#undef ROW_PARAM
#undef ROW_UPDATE_SET
#undef ROW_INSERT_VALUE
#undef ROW_INSERT_COLUMN
#undef CHANNEL_ROW_COLUMNS

/*
** Bring the consumers rows of rec->name in line with the first n_contract
** consumers of rec (build_next): insert the new ones, update the changed and
** the adopted ones (registration times kept), delete the ones in
** d->c_removed.  Inside o's write transaction with the channel locked; old
** is the stored record or NULL.
*/
static int write_consumers(chan_store__op *o, const chan_channel_record *rec, size_t n_contract,
                           const chan_channel_record *old, const channel_diff *d, int64_t now,
                           chan_error *err)
{
    int error = 0;

    assert(o->in_txn && n_contract <= rec->n_consumers);
    for (size_t i = 0; i < n_contract; i++) {
        const chan_consumer_record *c = &rec->consumers[i];
        const chan_consumer_record *prev = old != NULL ? find_consumer(old, c->name) : NULL;
        if (prev == NULL)
            error = insert_consumer(o, rec->name, c, now, now, err);
        else if (!consumer_same(prev, c) || prev->origin != c->origin || prev->state != c->state)
            error = update_consumer(o, rec->name, c, now, err);
        if (error < 0)
            return error;
    }
    for (size_t i = 0; i < json_array_size(d->c_removed); i++)
        if ((error = chan_store__run(
                 o, NULL, "DELETE FROM consumers WHERE channel = $1 AND name = $2",
                 P(SV_TEXT(rec->name), SV_TEXT(json_string_value(json_array_get(d->c_removed, i)))),
                 err)) < 0)
            return error;
    return 0;
}

/*
** Delete the producers of d->p_removed and insert those of d->p_added for
** channel `name`, inside o's write transaction with the channel locked.
*/
static int write_producers(chan_store__op *o, const char *name, const channel_diff *d,
                           chan_error *err)
{
    int error;

    assert(o->in_txn);
    for (size_t i = 0; i < json_array_size(d->p_removed); i++)
        if ((error = chan_store__run(
                 o, NULL, "DELETE FROM producers WHERE channel = $1 AND principal = $2",
                 P(SV_TEXT(name), SV_TEXT(json_string_value(json_array_get(d->p_removed, i)))),
                 err)) < 0)
            return error;
    for (size_t i = 0; i < json_array_size(d->p_added); i++)
        if ((error = chan_store__run(
                 o, NULL, "INSERT INTO producers (channel, principal) VALUES ($1, $2)",
                 P(SV_TEXT(name), SV_TEXT(json_string_value(json_array_get(d->p_added, i)))),
                 err)) < 0)
            return error;
    return 0;
}

/*
** Append the "channel.create" (is_new) or "channel.update" audit entry of
** channel `name` with the new revision and the diff d.
*/
static int audit_channel_put(chan_store__op *o, const char *actor, const char *name, bool is_new,
                             int64_t revision, const channel_diff *d, int64_t now, chan_error *err)
{
    char *object = chan_xasprintf("channel/%s", name);
    int error;

    error = chan_store__audit(o, actor, is_new ? "channel.create" : "channel.update", object,
                              json_pack("{s:I, s:O, s:{s:O, s:O, s:O}, s:{s:O, s:O}, s:O}",
                                        "revision", (json_int_t)revision, "changed", d->changed,
                                        "consumers", "added", d->c_added, "removed", d->c_removed,
                                        "updated", d->c_updated, "producers", "added", d->p_added,
                                        "removed", d->p_removed, "adopted", d->c_adopted),
                              now, err);
    free(object);
    return error;
}

/* A string or JSON null. */
static json_t *str_or_null(const char *s)
{
    json_t *j = s != NULL ? json_string(s) : NULL;

    return j != NULL ? j : json_null();
}

/*
** Append a "consumer.approve" audit entry for each of next's first
** n_contract consumers that old has but had not approved (an API
** registration, pending or rejected, that the contract now lists): listing
** it in the contract is the owner's approval (build_next records the
** decision).  The detail is that of chan_store_consumer_decide plus "via"
** and "previous_state".  Inside o's write transaction; old may be NULL.
*/
static int audit_adoptions(chan_store__op *o, const char *actor, const chan_channel_record *old,
                           const chan_channel_record *next, size_t n_contract, int64_t now,
                           chan_error *err)
{
    int error = 0;

    assert(o->in_txn && n_contract <= next->n_consumers);
    for (size_t i = 0; old != NULL && i < n_contract && error == 0; i++) {
        const chan_consumer_record *c = &next->consumers[i];
        const chan_consumer_record *prev = find_consumer(old, c->name);
        char *object;

        if (prev == NULL || prev->state == CHAN_CONSUMER_APPROVED)
            continue;
        object = chan_xasprintf("channel/%s/consumer/%s", next->name, c->name);
        error = chan_store__audit(
            o, actor, "consumer.approve", object,
            json_pack("{s:s, s:s, s:o, s:o, s:n, s:s, s:s}", "principal", c->principal, "group",
                      c->group, "requester_team", str_or_null(prev->requester_team), "requested_by",
                      str_or_null(prev->requested_by), "reason", "via", "contract",
                      "previous_state", chan_consumer_state_name(prev->state)),
            now, err);
        free(object);
    }
    return error;
}

/*
** Clear the approval of old's waiver when rec changes the compatibility or
** the waiver reason (an approval covers one reason at one level).  Inside o's
** write transaction with the channel locked; old is the stored record or NULL.
*/
static int clear_waiver_approval(chan_store__op *o, const chan_channel_record *old,
                                 const chan_channel_record *rec, chan_error *err)
{
    chan_channel_record next = *rec; /* with the reason its document carries */
    bool keep;

    assert(o->in_txn);
    if (old == NULL || old->waiver_approved_by == NULL)
        return 0;
    next.waiver_reason = document_waiver_reason(rec->document);
    keep = chan_policy_waiver_carries_over(old, &next);
    free(next.waiver_reason);
    if (keep)
        return 0;
    return chan_store__run(o, NULL,
                           "UPDATE channels SET waiver_approved_by = NULL, "
                           "waiver_approved_at = NULL WHERE name = $1",
                           P(SV_TEXT(rec->name)), err);
}

void chan_channel_put_result_dispose(chan_channel_put_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_drift; i++)
        chan_consumer_record_dispose(&r->drift[i]);
    free(r->drift);
    for (size_t i = 0; i < r->n_adopted; i++)
        free(r->adopted[i]);
    free(r->adopted);
    memset(r, 0, sizeof(*r));
}

/* Fill out's drift (next's consumers from n_contract on) and adopted names (from d). */
static void fill_put_result(chan_channel_put_result *out, const chan_channel_record *next,
                            size_t n_contract, const channel_diff *d)
{
    out->n_drift = next->n_consumers - n_contract;
    out->drift = chan_xcalloc(out->n_drift + 1, sizeof(*out->drift));
    for (size_t i = 0; i < out->n_drift; i++)
        consumer_copy(&out->drift[i], &next->consumers[n_contract + i]);
    out->n_adopted = json_array_size(d->c_adopted);
    out->adopted = chan_xcalloc(out->n_adopted + 1, sizeof(*out->adopted));
    for (size_t i = 0; i < out->n_adopted; i++)
        out->adopted[i] = chan_xstrdup(json_string_value(json_array_get(d->c_adopted, i)));
}

int chan_store_channel_put_ex(chan_store *store, chan_channel_put_result *out,
                              const chan_channel_record *rec, const chan_channel_put_options *opts,
                              const char *actor, chan_error *err)
{
    chan_channel_put_options defaults = CHAN_CHANNEL_PUT_OPTIONS_INIT;
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_channel_record *old = NULL, next = {0};
    channel_diff diff = {0};
    int64_t now = chan_store__now(), revision;
    int error;

    assert(store != NULL && out != NULL);
    memset(out, 0, sizeof(*out));
    if (opts == NULL)
        opts = &defaults;
    if (opts->version != CHAN_CHANNEL_PUT_OPTIONS_VERSION)
        return chan_error_set(err, CHAN_EINVALID, "unknown channel put options version %u",
                              opts->version);
    if ((error = check_put_args(rec, &actor, opts->expected_revision, err)) < 0)
        return error;

    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = lock_and_load_current(&o, &old, rec->name, opts->expected_revision, err)) < 0)
        goto cleanup;
    build_next(&next, rec, old, actor, now);
    if (opts->check != NULL && (error = opts->check(opts->check_ctx, old, &next, err)) < 0)
        goto cleanup;
    revision = (old != NULL ? old->revision : 0) + 1;
    diff_channel(&diff, old, &next, rec->n_consumers);
    fill_put_result(out, &next, rec->n_consumers, &diff);
    out->created = old == NULL;
    if (old != NULL && diff_is_empty(&diff)) {
        out->revision = old->revision; /* identical: nothing written */
        goto cleanup;
    }

    if ((old == NULL &&
         (error = chan_store__run(&o, NULL, "DELETE FROM channel_tombstones WHERE name = $1",
                                  P(SV_TEXT(rec->name)), err)) < 0) ||
        (error = write_channel_row(&o, rec, old == NULL, revision, now, err)) < 0 ||
        (error = clear_waiver_approval(&o, old, rec, err)) < 0 ||
        (error = write_consumers(&o, &next, rec->n_consumers, old, &diff, now, err)) < 0 ||
        (error = write_producers(&o, rec->name, &diff, err)) < 0)
        goto cleanup;
    /* A dry run ends here: op_end rolls the transaction back, nothing is audited. */
    if (!opts->dry_run) {
        if ((error = audit_adoptions(&o, actor, old, &next, rec->n_consumers, now, err)) < 0 ||
            (error = audit_channel_put(&o, actor, rec->name, old == NULL, revision, &diff, now,
                                       err)) < 0 ||
            (error = chan_store__op_commit(&o, err)) < 0)
            goto cleanup;
    }
    out->revision = revision;
    out->changed = true;
cleanup:
    if (error < 0)
        chan_channel_put_result_dispose(out);
    free(next.consumers);
    channel_diff_dispose(&diff);
    chan_channel_record_free(old);
    chan_store__op_end(&o);
    return error;
}

int chan_store_channel_put(chan_store *store, int64_t *out_revision, bool *out_changed,
                           const chan_channel_record *rec, int64_t expected_revision,
                           const char *actor, chan_error *err)
{
    chan_channel_put_options opts = CHAN_CHANNEL_PUT_OPTIONS_INIT;
    chan_channel_put_result result;
    int error;

    opts.expected_revision = expected_revision;
    error = chan_store_channel_put_ex(store, &result, rec, &opts, actor, err);
    if (out_revision != NULL)
        *out_revision = result.revision;
    if (out_changed != NULL)
        *out_changed = result.changed;
    chan_channel_put_result_dispose(&result);
    return error;
}

int chan_store_channel_get(chan_store *store, chan_channel_record **out, const char *name,
                           chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = NULL;
    if ((error = chan_store__check_name("channel name", name, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    error = load_channel(&o, out, name, err);
cleanup:
    chan_store__op_end(&o);
    return error;
}

int chan_store_channel_waiver_approve(chan_store *store, const char *name, const char *actor,
                                      chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_channel_record *rec = NULL;
    int64_t now = chan_store__now();
    char *object = NULL;
    int error;

    assert(store != NULL);
    if ((error = chan_store__check_name("channel name", name, err)) < 0 ||
        (error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, "channel", name, err)) < 0 ||
        (error = load_channel(&o, &rec, name, err)) < 0)
        goto cleanup;
    if (rec->waiver_reason == NULL) {
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_NO_WAIVER,
                                       "channel '%s' has no waiver to approve: its contract "
                                       "carries no schema.waiver.reason",
                                       name);
        goto cleanup;
    }
    if (rec->waiver_approved_by != NULL) /* approved already: nothing to write */
        goto cleanup;
    object = chan_xasprintf("channel/%s", name);
    if ((error = chan_store__run(&o, NULL,
                                 "UPDATE channels SET waiver_approved_by = $2, "
                                 "waiver_approved_at = $3, revision = revision + 1, "
                                 "updated_at = $3 WHERE name = $1",
                                 P(SV_TEXT(name), SV_TEXT(actor), SV_INT(now)), err)) < 0 ||
        (error = chan_store__audit(&o, actor, "channel.waiver.approve", object,
                                   json_pack("{s:I, s:s?, s:s}", "revision",
                                             (json_int_t)rec->revision + 1, "compatibility",
                                             rec->compatibility, "reason", rec->waiver_reason),
                                   now, err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
cleanup:
    free(object);
    chan_channel_record_free(rec);
    chan_store__op_end(&o);
    return error;
}

int chan_store_channel_by_subject(chan_store *store, chan_channel_record **out, const char *subject,
                                  chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_store__op o = CHAN_STORE__OP_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = NULL;
    if ((error = chan_store__check_name("subject", subject, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0 ||
        (error = chan_store__run(&o, &rows,
                                 "SELECT name FROM channels WHERE subject = $1 ORDER BY name",
                                 P(SV_TEXT(subject)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND,
                                       "no channel is bound to subject '%s'", subject);
        goto cleanup;
    }
    error = load_channel(&o, out, chan_store__cell(&rows, 0, 0), err);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

/* "YYYY-MM-DD" of today (UTC) into buf. */
static void today_iso(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d", &tm);
}

/*
** The WHERE clause of the channel filters: $1 owner team, $2 maintainer,
** $3 deprecated (-1, 0, 1), $4 as_of, $5 LIKE pattern of q (lower case) or
** NULL, $6 stale_only (0, 1), $7 stale cutoff, $8 the name to start after
** or NULL.  The registration time of a consumer is
** chan_consumer_registration_time's: renewed_at, else registered_at.
*/
#define CHANNEL_WHERE                                                                              \
    "WHERE (CAST($1 AS TEXT) IS NULL OR owner_team = $1) "                                         \
    "AND (CAST($2 AS TEXT) IS NULL OR maintainer = $2) "                                           \
    "AND (CAST($3 AS INTEGER) < 0 "                                                                \
    "OR (CAST($3 AS INTEGER) = 1 AND deprecation_date IS NOT NULL "                                \
    "AND deprecation_date <= $4) "                                                                 \
    "OR (CAST($3 AS INTEGER) = 0 AND (deprecation_date IS NULL "                                   \
    "OR deprecation_date > $4))) "                                                                 \
    "AND (CAST($5 AS TEXT) IS NULL OR lower(name) LIKE $5 ESCAPE '\\' "                            \
    "OR lower(owner_team) LIKE $5 ESCAPE '\\' OR lower(maintainer) LIKE $5 ESCAPE '\\' "           \
    "OR lower(COALESCE(subject, '')) LIKE $5 ESCAPE '\\') "                                        \
    "AND (CAST($6 AS INTEGER) = 0 OR EXISTS (SELECT 1 FROM consumers c "                           \
    "WHERE c.channel = channels.name AND CASE WHEN c.renewed_at > 0 THEN c.renewed_at "            \
    "ELSE c.registered_at END < CAST($7 AS BIGINT))) "                                             \
    "AND (CAST($8 AS TEXT) IS NULL OR name > $8) "

/* The parameters of CHANNEL_WHERE. */
#define CHANNEL_PARAMS(f, as_of, like, after)                                                      \
    P(SV_TEXT((f)->owner_team), SV_TEXT((f)->maintainer), SV_INT((f)->deprecated), SV_TEXT(as_of), \
      SV_TEXT(like), SV_INT((f)->stale_only ? 1 : 0), SV_INT((f)->stale_cutoff), SV_TEXT(after))

/* The parameters of CHANNEL_WHERE, then $9: the LIMIT of a page. */
#define CHANNEL_PAGE_PARAMS(f, as_of, like, after, limit)                                          \
    P(SV_TEXT((f)->owner_team), SV_TEXT((f)->maintainer), SV_INT((f)->deprecated), SV_TEXT(as_of), \
      SV_TEXT(like), SV_INT((f)->stale_only ? 1 : 0), SV_INT((f)->stale_cutoff), SV_TEXT(after),   \
      SV_INT(limit))

/*
** Check filter and derive what its query needs: *as_of (today when the
** filter names no day; today_buf holds it) and *like, the LIKE pattern of
** filter->q (caller frees; NULL for no q).
*/
static int channel_filter_prepare(const chan_channel_filter *filter, const char **as_of,
                                  char *today_buf, size_t today_size, char **like, chan_error *err)
{
    chan_buf pat = CHAN_BUF_INIT;
    int error;

    *like = NULL;
    if (filter->deprecated < -1 || filter->deprecated > 1)
        return chan_error_set(err, CHAN_EINVALID, "deprecated filter must be -1, 0 or 1");
    if (filter->as_of != NULL && !chan_date_parse(filter->as_of, NULL))
        return chan_error_set(err, CHAN_EINVALID, "as_of '%.32s' is not YYYY-MM-DD", filter->as_of);
    today_iso(today_buf, today_size);
    *as_of = filter->as_of != NULL ? filter->as_of : today_buf;
    if (filter->q == NULL || filter->q[0] == '\0')
        return 0;
    if ((error = chan_store__check_text("q", filter->q, CHAN_STORE_NAME_MAX, false, err)) < 0)
        return error;
    chan_buf_putc(&pat, '%');
    for (const char *c = filter->q; *c != '\0'; c++) {
        if (*c == '%' || *c == '_' || *c == '\\')
            chan_buf_putc(&pat, '\\');
        chan_buf_putc(&pat, *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c);
    }
    chan_buf_putc(&pat, '%');
    *like = chan_buf_take(&pat);
    return 0;
}

/*
** Read the consumers and producers of the channels named first..last (all
** when first is NULL) into cons and prods, ordered by channel then name.
*/
static int read_children(chan_store__op *o, chan_store__rows *cons, chan_store__rows *prods,
                         const char *first, const char *last, chan_error *err)
{
    int error;

    if (first == NULL) {
        if ((error = chan_store__run(o, cons, CONSUMER_COLS "ORDER BY channel, name", NULL, 0,
                                     err)) < 0)
            return error;
        return chan_store__run(
            o, prods, "SELECT channel, principal FROM producers ORDER BY channel, principal", NULL,
            0, err);
    }
    if ((error = chan_store__run(o, cons,
                                 CONSUMER_COLS "WHERE channel >= $1 AND channel <= $2 "
                                               "ORDER BY channel, name",
                                 P(SV_TEXT(first), SV_TEXT(last)), err)) < 0)
        return error;
    return chan_store__run(o, prods,
                           "SELECT channel, principal FROM producers WHERE channel >= $1 AND "
                           "channel <= $2 ORDER BY channel, principal",
                           P(SV_TEXT(first), SV_TEXT(last)), err);
}

int chan_store_channel_list(chan_store *store, chan_channel_record ***out, size_t *out_n,
                            const chan_channel_filter *filter, chan_error *err)
{
    chan_channel_filter none = CHAN_CHANNEL_FILTER_INIT;
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT, cons = CHAN_STORE__ROWS_INIT,
                     prods = CHAN_STORE__ROWS_INIT;
    chan_channel_record **list = NULL;
    char today[16], *like = NULL;
    const char *as_of;
    size_t ci = 0, pi = 0, n = 0;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if (filter == NULL)
        filter = &none;
    if ((error = channel_filter_prepare(filter, &as_of, today, sizeof(today), &like, err)) < 0)
        return error;

    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows, CHANNEL_COLS CHANNEL_WHERE "ORDER BY name",
                                 CHANNEL_PARAMS(filter, as_of, like, NULL), err)) < 0)
        goto cleanup;
    if (rows.n_rows > 0 && (error = read_children(&o, &cons, &prods, NULL, NULL, err)) < 0)
        goto cleanup;
    list = chan_xcalloc(rows.n_rows + 1, sizeof(*list));
    for (n = 0; n < rows.n_rows; n++) {
        list[n] = chan_xcalloc(1, sizeof(*list[n]));
        channel_from_row(list[n], &rows, n);
        attach_children(list[n], &cons, &ci, &prods, &pi);
    }
    *out = list;
    *out_n = n;
    list = NULL;
cleanup:
    free(like);
    chan_channel_record_list_free(list, n);
    chan_store__rows_dispose(&rows);
    chan_store__rows_dispose(&cons);
    chan_store__rows_dispose(&prods);
    chan_store__op_end(&o);
    return error;
}

void chan_channel_page_dispose(chan_channel_page *page)
{
    if (page == NULL)
        return;
    chan_channel_record_list_free(page->items, page->n);
    free(page->latest_versions);
    memset(page, 0, sizeof(*page));
}

int chan_store_channel_page(chan_store *store, chan_channel_page *out,
                            const chan_channel_filter *filter, const char *after, size_t limit,
                            chan_error *err)
{
    chan_channel_filter none = CHAN_CHANNEL_FILTER_INIT;
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT, count = CHAN_STORE__ROWS_INIT,
                     cons = CHAN_STORE__ROWS_INIT, prods = CHAN_STORE__ROWS_INIT;
    char today[16], *like = NULL;
    const char *as_of;
    size_t ci = 0, pi = 0, n;
    int error;

    assert(store != NULL && out != NULL && limit > 0);
    memset(out, 0, sizeof(*out));
    if (filter == NULL)
        filter = &none;
    if (limit > INT32_MAX)
        limit = INT32_MAX;
    if (after != NULL && (error = chan_store__check_name("cursor", after, err)) < 0)
        return error;
    if ((error = channel_filter_prepare(filter, &as_of, today, sizeof(today), &like, err)) < 0)
        return error;

    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    /* One more row than asked tells whether another page follows. */
    if ((error = chan_store__run(
             &o, &rows,
             /* No document: list items are shown without their contract. */
             "SELECT name, owner_team, maintainer, peak_qps, retention_hours, deprecation_date, "
             "subject, compatibility, NULL, revision, created_at, updated_at, "
             "waiver_approved_by, waiver_approved_at, retirement_date, waiver_reason, "
             "contract_version, cleanup_policy, avg_message_bytes, "
             "(SELECT MAX(sv.version) FROM subject_versions sv WHERE sv.subject = "
             "channels.subject AND sv.deleted = 0) FROM channels " CHANNEL_WHERE
             "ORDER BY name LIMIT CAST($9 AS INTEGER)",
             CHANNEL_PAGE_PARAMS(filter, as_of, like, after, limit + 1), err)) < 0 ||
        (error = chan_store__run(&o, &count, "SELECT COUNT(*) FROM channels " CHANNEL_WHERE,
                                 CHANNEL_PARAMS(filter, as_of, like, NULL), err)) < 0)
        goto cleanup;
    n = rows.n_rows > limit ? limit : rows.n_rows;
    if (n > 0 && (error = read_children(&o, &cons, &prods, chan_store__cell(&rows, 0, 0),
                                        chan_store__cell(&rows, n - 1, 0), err)) < 0)
        goto cleanup;
    out->items = chan_xcalloc(n + 1, sizeof(*out->items));
    out->latest_versions = chan_xcalloc(n + 1, sizeof(*out->latest_versions));
    for (size_t i = 0; i < n; i++) {
        out->latest_versions[i] = (int)chan_store__cell_int(&rows, i, 19);
        out->items[i] = chan_xcalloc(1, sizeof(*out->items[i]));
        out->n = i + 1;
        channel_from_row(out->items[i], &rows, i);
        attach_children(out->items[i], &cons, &ci, &prods, &pi);
    }
    out->more = rows.n_rows > limit;
    out->total = (size_t)chan_store__cell_int(&count, 0, 0);
cleanup:
    free(like);
    if (error < 0)
        chan_channel_page_dispose(out);
    chan_store__rows_dispose(&rows);
    chan_store__rows_dispose(&count);
    chan_store__rows_dispose(&cons);
    chan_store__rows_dispose(&prods);
    chan_store__op_end(&o);
    return error;
}

/*
** Replace the tombstone of the stored channel old (about to be deleted)
** inside o's write transaction: its topic and the sorted, distinct groups
** of its consumers.
*/
static int write_tombstone(chan_store__op *o, const chan_channel_record *old, const char *actor,
                           int64_t now, chan_error *err)
{
    json_t *groups = json_array();
    char *text;
    int error;

    assert(o->in_txn && old != NULL);
    /* Consumers come sorted by name, not group: insert in order, skip repeats. */
    for (size_t i = 0; i < old->n_consumers; i++) {
        const char *g = old->consumers[i].group;
        size_t at = 0, n = json_array_size(groups);
        int cmp = 1;

        while (at < n && (cmp = strcmp(json_string_value(json_array_get(groups, at)), g)) < 0)
            at++;
        if (at == n || cmp != 0)
            json_array_insert_new(groups, at, json_string(g));
    }
    text = json_dumps(groups, JSON_COMPACT);
    json_decref(groups);
    if (text == NULL)
        abort(); /* jansson fails only on allocation failure: keep the abort-on-OOM rule */
    if ((error = chan_store__run(o, NULL, "DELETE FROM channel_tombstones WHERE name = $1",
                                 P(SV_TEXT(old->name)), err)) == 0)
        error = chan_store__run(o, NULL,
                                "INSERT INTO channel_tombstones (name, owner_team, topic, groups, "
                                "deleted_at, deleted_by) VALUES ($1, $2, $3, $4, $5, $6)",
                                P(SV_TEXT(old->name), SV_TEXT(old->owner_team), SV_TEXT(old->name),
                                  SV_TEXT(text), SV_INT(now), SV_TEXT(actor)),
                                err);
    free(text);
    return error;
}

int chan_store_channel_delete(chan_store *store, const char *name, const char *actor,
                              chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_channel_record *old = NULL;
    char *object = NULL;
    int64_t now = chan_store__now();
    int error;

    assert(store != NULL);
    if ((error = chan_store__check_name("channel name", name, err)) < 0 ||
        (error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = chan_store__op_lock(&o, "channel", name, err)) < 0 ||
        (error = load_channel(&o, &old, name, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, NULL, "DELETE FROM consumers WHERE channel = $1",
                                 P(SV_TEXT(name)), err)) < 0 ||
        (error = chan_store__run(&o, NULL, "DELETE FROM producers WHERE channel = $1",
                                 P(SV_TEXT(name)), err)) < 0 ||
        (error = chan_store__run(&o, NULL, "DELETE FROM channels WHERE name = $1", P(SV_TEXT(name)),
                                 err)) < 0 ||
        (error = write_tombstone(&o, old, actor, now, err)) < 0)
        goto cleanup;
    object = chan_xasprintf("channel/%s", name);
    if ((error = chan_store__audit(
             &o, actor, "channel.delete", object,
             json_pack("{s:I, s:i, s:i, s:b}", "revision", (json_int_t)old->revision, "consumers",
                       (int)old->n_consumers, "producers", (int)old->n_producers, "tombstone", 1),
             now, err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
cleanup:
    chan_channel_record_free(old);
    free(object);
    chan_store__op_end(&o);
    return error;
}

/* Lock a channel, check it exists and read one consumer (rows: 0 or 1 row). */
static int lock_consumer(chan_store__op *o, chan_store__rows *rows, const char *channel,
                         const char *name, chan_error *err)
{
    int error;

    assert(o->in_txn);
    if ((error = chan_store__op_lock(o, "channel", channel, err)) < 0 ||
        (error = chan_store__run(o, rows, "SELECT revision FROM channels WHERE name = $1",
                                 P(SV_TEXT(channel)), err)) < 0)
        return error;
    if (rows->n_rows == 0)
        return chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND,
                                      "channel '%s' not found", channel);
    return chan_store__run(o, rows, CONSUMER_COLS "WHERE channel = $1 AND name = $2",
                           P(SV_TEXT(channel), SV_TEXT(name)), err);
}

static int bump_revision(chan_store__op *o, const char *channel, int64_t now, chan_error *err)
{
    return chan_store__run(
        o, NULL, "UPDATE channels SET revision = revision + 1, updated_at = $2 WHERE name = $1",
        P(SV_TEXT(channel), SV_INT(now)), err);
}

static json_t *consumer_json(const chan_consumer_record *c)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:f, s:s, s:s, s:s, s:o}", "name", c->name,
                     "principal", c->principal, "group", c->group, "scenario", c->scenario,
                     "sla_p99_ms", (json_int_t)c->sla_p99_ms, "peak_rate_msgs", c->peak_rate_msgs,
                     "degradation", c->degradation, "origin", chan_consumer_origin_name(c->origin),
                     "state", chan_consumer_state_name(c->state), "requester_team",
                     str_or_null(c->requester_team));
}

/*
** The rules of chan_consumer_put_options for rec, checked inside the open
** transaction o while the channel is locked.  prev is the stored consumer
** rec replaces, NULL when it does not exist yet: the deprecation rule
** applies to what chan_policy_grants_new_access (a new consumer, a new
** principal, a new approval).
*/
static int consumer_rules(chan_store__op *o, const chan_consumer_record *rec,
                          const chan_consumer_record *prev, const chan_consumer_put_options *opts,
                          chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    const char *date;
    int error = 0;

    assert(o->in_txn && rec != NULL);
    if (opts == NULL)
        return 0;
    if (opts->refuse_new_from != NULL && chan_policy_grants_new_access(prev, rec)) {
        if ((error =
                 chan_store__run(o, &rows, "SELECT deprecation_date FROM channels WHERE name = $1",
                                 P(SV_TEXT(rec->channel)), err)) < 0)
            goto cleanup;
        date = rows.n_rows > 0 ? chan_store__cell(&rows, 0, 0) : NULL;
        /* Both are YYYY-MM-DD: text order is date order. */
        if (date != NULL && strcmp(date, opts->refuse_new_from) <= 0) {
            error =
                chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_CHANNEL_DEPRECATED,
                                       "channel '%s' is deprecated since %s", rec->channel, date);
            goto cleanup;
        }
    }
    if (opts->unique_group) {
        if ((error = chan_store__run(
                 o, &rows,
                 "SELECT name FROM consumers WHERE channel = $1 AND group_id = $2 "
                 "AND name <> $3 AND state <> 'rejected'",
                 P(SV_TEXT(rec->channel), SV_TEXT(rec->group), SV_TEXT(rec->name)), err)) < 0)
            goto cleanup;
        if (rows.n_rows > 0)
            error = chan_store__set_reason(err, CHAN_EEXISTS, CHAN_STORE_R_GROUP_IN_USE,
                                           "group '%s' is already used by consumer '%s'",
                                           rec->group, chan_store__cell(&rows, 0, 0));
    }

cleanup:
    chan_store__rows_dispose(&rows);
    return error;
}

int chan_store_consumer_put(chan_store *store, bool *out_created, const chan_consumer_record *rec,
                            const char *actor, chan_error *err)
{
    return chan_store_consumer_put_checked(store, out_created, rec, NULL, actor, err);
}

/* True when the governance fields that a registration sets are equal. */
static bool registration_same(const chan_consumer_record *a, const chan_consumer_record *b)
{
    return a->origin == b->origin && a->state == b->state &&
           chan_store__streq(a->requester_team, b->requester_team);
}

int chan_store_consumer_put_checked(chan_store *store, bool *out_created,
                                    const chan_consumer_record *rec,
                                    const chan_consumer_put_options *opts, const char *actor,
                                    chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_consumer_record prev = {0}, next;
    char *object = NULL;
    const char *action;
    int64_t now = chan_store__now();
    int error;

    assert(store != NULL);
    if (out_created != NULL)
        *out_created = false;
    if (rec == NULL)
        return chan_error_set(err, CHAN_EINVALID, "no consumer record");
    if ((error = chan_store__check_name("channel name", rec->channel, err)) < 0 ||
        (error = check_consumer(rec, NULL, (size_t)-1, err)) < 0 ||
        (error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if ((rec->requester_team != NULL &&
         (error = chan_store__check_name("requester team", rec->requester_team, err)) < 0) ||
        (rec->requested_by != NULL &&
         (error = chan_store__check_name("requested_by", rec->requested_by, err)) < 0))
        return error;
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = lock_consumer(&o, &rows, rec->channel, rec->name, err)) < 0)
        goto cleanup;
    if (rows.n_rows > 0) {
        consumer_from_row(&prev, &rows, 0);
        if (prev.origin == CHAN_CONSUMER_ORIGIN_CONTRACT &&
            rec->origin == CHAN_CONSUMER_ORIGIN_API) {
            error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_CONTRACT_MANAGED,
                                           "consumer '%s' of channel '%s' is managed by the "
                                           "contract; change the contract file",
                                           rec->name, rec->channel);
            goto cleanup;
        }
    }
    if ((error = consumer_rules(&o, rec, rows.n_rows > 0 ? &prev : NULL, opts, err)) < 0)
        goto cleanup;
    /* The decision stays with an unchanged registration state; a new state drops it. */
    next = *rec;
    next.decided_by = rows.n_rows > 0 && prev.state == rec->state ? prev.decided_by : NULL;
    next.decided_at = rows.n_rows > 0 && prev.state == rec->state ? prev.decided_at : 0;
    next.decision_reason =
        rows.n_rows > 0 && prev.state == rec->state ? prev.decision_reason : NULL;
    if (rows.n_rows == 0) {
        action = rec->state == CHAN_CONSUMER_PENDING ? "consumer.request" : "consumer.register";
        if ((error = insert_consumer(&o, rec->channel, &next, now, now, err)) < 0 ||
            (error = bump_revision(&o, rec->channel, now, err)) < 0)
            goto cleanup;
    } else {
        if (consumer_same(&prev, rec) && registration_same(&prev, rec)) {
            action = "consumer.renew";
            error = chan_store__run(
                &o, NULL, "UPDATE consumers SET renewed_at = $3 WHERE channel = $1 AND name = $2",
                P(SV_TEXT(rec->channel), SV_TEXT(rec->name), SV_INT(now)), err);
        } else {
            action = rec->state == CHAN_CONSUMER_PENDING ? "consumer.request" : "consumer.update";
            if ((error = update_consumer(&o, rec->channel, &next, now, err)) == 0)
                error = bump_revision(&o, rec->channel, now, err);
        }
        if (error < 0)
            goto cleanup;
    }
    object = chan_xasprintf("channel/%s/consumer/%s", rec->channel, rec->name);
    if ((error = chan_store__audit(&o, actor, action, object, consumer_json(rec), now, err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
    if (out_created != NULL)
        *out_created = rows.n_rows == 0;
cleanup:
    chan_consumer_record_dispose(&prev);
    chan_store__rows_dispose(&rows);
    free(object);
    chan_store__op_end(&o);
    return error;
}

/*
** May the consumer read into rows (one row, CONSUMER_COLS) be removed
** (remove) or renewed?  Contract consumers are removed with their contract
** only; only approved consumers are renewed.  Returns 0 or CHAN_ECONFLICT
** (CONTRACT_MANAGED, NOT_APPROVED).
*/
static int touch_allowed(chan_store__rows *rows, const char *channel, const char *name, bool remove,
                         chan_error *err)
{
    chan_consumer_record c = {0};
    int error = 0;

    assert(rows->n_rows == 1);
    consumer_from_row(&c, rows, 0);
    if (remove && c.origin == CHAN_CONSUMER_ORIGIN_CONTRACT)
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_CONTRACT_MANAGED,
                                       "consumer '%s' of channel '%s' is managed by the "
                                       "contract; change the contract file",
                                       name, channel);
    else if (!remove && c.state != CHAN_CONSUMER_APPROVED)
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_NOT_APPROVED,
                                       "consumer '%s' of channel '%s' is %s, not approved", name,
                                       channel, chan_consumer_state_name(c.state));
    chan_consumer_record_dispose(&c);
    return error;
}

/* Renew (remove == false) or remove one consumer. */
static int consumer_touch(chan_store *store, const char *channel, const char *name, bool remove,
                          const char *actor, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    char *object = NULL;
    int64_t now = chan_store__now();
    int error;

    if ((error = chan_store__check_name("channel name", channel, err)) < 0 ||
        (error = chan_store__check_name("consumer name", name, err)) < 0 ||
        (error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = lock_consumer(&o, &rows, channel, name, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CONSUMER_NOT_FOUND,
                                       "consumer '%s' of channel '%s' not found", name, channel);
        goto cleanup;
    }
    if ((error = touch_allowed(&rows, channel, name, remove, err)) < 0)
        goto cleanup;
    if (remove)
        error = chan_store__run(&o, NULL, "DELETE FROM consumers WHERE channel = $1 AND name = $2",
                                P(SV_TEXT(channel), SV_TEXT(name)), err);
    else
        error = chan_store__run(
            &o, NULL, "UPDATE consumers SET renewed_at = $3 WHERE channel = $1 AND name = $2",
            P(SV_TEXT(channel), SV_TEXT(name), SV_INT(now)), err);
    if (error < 0 || (remove && (error = bump_revision(&o, channel, now, err)) < 0))
        goto cleanup;
    object = chan_xasprintf("channel/%s/consumer/%s", channel, name);
    if ((error = chan_store__audit(&o, actor, remove ? "consumer.remove" : "consumer.renew", object,
                                   NULL, now, err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
cleanup:
    chan_store__rows_dispose(&rows);
    free(object);
    chan_store__op_end(&o);
    return error;
}

int chan_store_consumer_renew(chan_store *store, const char *channel, const char *name,
                              const char *actor, chan_error *err)
{
    return consumer_touch(store, channel, name, false, actor, err);
}

int chan_store_consumer_delete(chan_store *store, const char *channel, const char *name,
                               const char *actor, chan_error *err)
{
    return consumer_touch(store, channel, name, true, actor, err);
}

int chan_store_consumer_decide(chan_store *store, const char *channel, const char *name,
                               chan_consumer_state decision, const char *reason, const char *actor,
                               chan_error *err)
{
    return chan_store_consumer_decide_checked(store, channel, name, decision, reason, NULL, actor,
                                              err);
}

int chan_store_consumer_decide_checked(chan_store *store, const char *channel, const char *name,
                                       chan_consumer_state decision, const char *reason,
                                       const chan_consumer_put_options *opts, const char *actor,
                                       chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_consumer_record c = {0};
    char *object = NULL;
    int64_t now = chan_store__now();
    bool approve = decision == CHAN_CONSUMER_APPROVED;
    int error;

    assert(store != NULL);
    if ((error = chan_store__check_name("channel name", channel, err)) < 0 ||
        (error = chan_store__check_name("consumer name", name, err)) < 0 ||
        (error = chan_store__check_actor(&actor, err)) < 0)
        return error;
    if (decision != CHAN_CONSUMER_APPROVED && decision != CHAN_CONSUMER_REJECTED)
        return chan_error_set(err, CHAN_EINVALID, "a decision approves or rejects");
    if ((reason != NULL || !approve) &&
        (error = chan_store__check_text("reason", reason, CHAN_STORE_REASON_MAX, false, err)) < 0)
        return error;
    if (!approve && reason[0] == '\0')
        return chan_error_set(err, CHAN_EINVALID, "a rejection needs a reason");
    if ((error = chan_store__op_begin(&o, store, true, err)) < 0 ||
        (error = lock_consumer(&o, &rows, channel, name, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CONSUMER_NOT_FOUND,
                                       "consumer '%s' of channel '%s' not found", name, channel);
        goto cleanup;
    }
    consumer_from_row(&c, &rows, 0);
    if (c.state != CHAN_CONSUMER_PENDING) {
        error = chan_store__set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_NOT_PENDING,
                                       "consumer '%s' of channel '%s' is %s, not pending", name,
                                       channel, chan_consumer_state_name(c.state));
        goto cleanup;
    }
    if (approve) {
        chan_consumer_record next = c; /* shallow: c owns the strings */

        next.state = CHAN_CONSUMER_APPROVED;
        if ((error = consumer_rules(&o, &next, &c, opts, err)) < 0)
            goto cleanup;
    }
    if ((error = chan_store__run(&o, NULL,
                                 "UPDATE consumers SET state = $3, decided_by = $4, "
                                 "decided_at = $5, decision_reason = $6 "
                                 "WHERE channel = $1 AND name = $2",
                                 P(SV_TEXT(channel), SV_TEXT(name),
                                   SV_TEXT(chan_consumer_state_name(decision)), SV_TEXT(actor),
                                   SV_INT(now), SV_TEXT(reason)),
                                 err)) < 0 ||
        (error = bump_revision(&o, channel, now, err)) < 0)
        goto cleanup;
    object = chan_xasprintf("channel/%s/consumer/%s", channel, name);
    if ((error = chan_store__audit(
             &o, actor, approve ? "consumer.approve" : "consumer.reject", object,
             json_pack("{s:s, s:s, s:o, s:o, s:o}", "principal", c.principal, "group", c.group,
                       "requester_team", str_or_null(c.requester_team), "requested_by",
                       str_or_null(c.requested_by), "reason", str_or_null(reason)),
             now, err)) < 0 ||
        (error = chan_store__op_commit(&o, err)) < 0)
        goto cleanup;
cleanup:
    chan_consumer_record_dispose(&c);
    chan_store__rows_dispose(&rows);
    free(object);
    chan_store__op_end(&o);
    return error;
}

int chan_store_consumer_list(chan_store *store, chan_consumer_record ***out, size_t *out_n,
                             const char *channel, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if (channel != NULL && (error = chan_store__check_name("channel name", channel, err)) < 0)
        return error;
    if ((error = chan_store__op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if (channel != NULL) {
        if ((error = chan_store__run(&o, &rows, "SELECT 1 FROM channels WHERE name = $1",
                                     P(SV_TEXT(channel)), err)) < 0)
            goto cleanup;
        if (rows.n_rows == 0) {
            error = chan_store__set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND,
                                           "channel '%s' not found", channel);
            goto cleanup;
        }
        error = chan_store__run(&o, &rows, CONSUMER_COLS "WHERE channel = $1 ORDER BY name",
                                P(SV_TEXT(channel)), err);
    } else {
        error = chan_store__run(&o, &rows, CONSUMER_COLS "ORDER BY channel, name", NULL, 0, err);
    }
    if (error < 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++) {
        (*out)[i] = chan_xcalloc(1, sizeof(chan_consumer_record));
        consumer_from_row((*out)[i], &rows, i);
    }
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}

int chan_store_tombstone_list(chan_store *store, chan_channel_tombstone ***out, size_t *out_n,
                              chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_channel_tombstone **list = NULL;
    size_t n = 0;
    int error;

    assert(store != NULL && out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0 ||
        (error = chan_store__run(&o, &rows,
                                 "SELECT name, owner_team, topic, groups, deleted_at, deleted_by "
                                 "FROM channel_tombstones ORDER BY name",
                                 NULL, 0, err)) < 0)
        goto cleanup;
    list = chan_xcalloc(rows.n_rows + 1, sizeof(*list));
    for (n = 0; n < rows.n_rows; n++) {
        chan_channel_tombstone *t = chan_xcalloc(1, sizeof(*t));
        json_t *groups = json_loads(chan_store__cell(&rows, n, 3), 0, NULL);

        list[n] = t;
        t->name = chan_store__cell_take(&rows, n, 0);
        t->owner_team = chan_store__cell_take(&rows, n, 1);
        t->topic = chan_store__cell_take(&rows, n, 2);
        t->deleted_at = chan_store__cell_int(&rows, n, 4);
        t->deleted_by = chan_store__cell_take(&rows, n, 5);
        t->groups = chan_xcalloc(json_array_size(groups) + 1, sizeof(*t->groups));
        for (size_t i = 0; i < json_array_size(groups); i++) {
            const char *g = json_string_value(json_array_get(groups, i));
            if (g != NULL)
                t->groups[t->n_groups++] = chan_xstrdup(g);
        }
        json_decref(groups);
    }
    *out = list;
    *out_n = n;
    list = NULL;
cleanup:
    chan_channel_tombstone_list_free(list, n);
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}
