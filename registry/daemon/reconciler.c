/*
 * reconciler.c - the Kafka admission loop of chanregd (see reconciler.h):
 * a thread that keeps the broker's ACLs equal to what the stored contracts
 * grant, with leader election, capped exponential backoff with jitter on
 * failures, and the last pass kept for GET /v1/acl/status.
 *
 * Locks: pass_mu serializes passes (the loop's and POST /v1/acl/apply's) and
 * guards the leader election; mu guards the shared state (stop flag, last
 * pass, counters) and goes with cv, on which the loop sleeps between passes.
 * pass_mu is always taken before mu, never the other way round.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan/acl.h"
#include "chan/common.h"
#include "chan/kafka.h"
#include "chan/leader.h"

#include "config.h"
#include "daemon_metrics.h"
#include "reconciler.h"

#define MODULE "reconcile"

/** The name daemons compete for (chan_leader_key derives the PostgreSQL key). */
#define LEADER_NAME "acl-reconciler"

/* The outcome of one pass. */
typedef struct pass_result {
    bool ran;     /* false: skipped (not the leader, or stopping) */
    bool leader;  /* leader when the pass started */
    bool ok;      /* ran and succeeded */
    bool dry_run; /* plan mode */
    bool known;   /* the broker's ACLs were read completely */
    int code;     /* 0 or CHAN_E* */
    char error[CHAN_ERROR_MESSAGE_MAX];
    const char *trigger; /* "loop" or "api" (static strings) */
    int64_t started_ms;  /* unix time in ms */
    double duration_ms;
    size_t channels, desired, to_create, to_delete, unchanged, bypasses;
    size_t created, deleted, failed, skipped;
    bool deletes_refused;
} pass_result;

struct chand_reconciler {
    chan_store *store;
    chand_acl_mode mode;
    chan_kafka *kafka;
    chan_leader *leader; /* NULL in mode off */
    int64_t interval_ms;
    int64_t backoff_min_ms;
    int64_t backoff_max_ms;

    pthread_mutex_t pass_mu;
    /* An applied pass whose record the store refused (under pass_mu): written first next pass. */
    char *unrecorded_actor, *unrecorded_detail, *unrecorded_bindings;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    pthread_t thread;
    bool thread_started;
    bool stopping;
    bool finished; /* the thread has left its loop */
    bool is_leader;
    bool have_last;
    pass_result last;
    unsigned int consecutive_failures;
    int64_t backoff_ms;   /* delay chosen after the last failed pass, 0 after success */
    int64_t next_pass_ms; /* monotonic ms of the next loop pass, 0 when none planned */
    uint64_t passes, failures, skipped_passes;
    uint64_t rng; /* xorshift state for the jitter */

    /* Topic discovery (under mu): the last read of the cluster's topics. */
    chan_topic_filter topic_filter; /* borrowed from the configuration */
    chand_acl_mode topic_mode;      /* --topic-mode */
    bool topics_read;               /* a read was attempted */
    bool topics_known;              /* ... and succeeded */
    int64_t topics_read_ms;         /* unix ms of that read */
    char topics_error[CHAN_ERROR_MESSAGE_MAX];
    chan_kafka_topic *topics;
    size_t n_topics;
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double monotonic_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RFC 3339 UTC time with milliseconds of a unix time in ms. */
static json_t *json_time_ms(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[48], out[64];

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return json_null();
    snprintf(out, sizeof(out), "%s.%03dZ", buf, (int)(ms % 1000));
    return json_string(out);
}

static uint64_t next_random(chand_reconciler *r)
{
    uint64_t x = r->rng;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->rng = x;
    return x;
}

/*
** The delay before the next attempt after `failures` consecutive failures:
** min * 2^(failures-1), capped at max, then "equal jitter" (a random point
** in the upper half), so that daemons that failed together spread out.
** Caller holds mu.
*/
static int64_t backoff_delay(chand_reconciler *r, unsigned int failures)
{
    int64_t base = r->backoff_min_ms;
    unsigned int i;

    for (i = 1; i < failures && base < r->backoff_max_ms; i++)
        base *= 2;
    if (base > r->backoff_max_ms)
        base = r->backoff_max_ms;
    if (base < 2)
        return base;
    return base - base / 2 + (int64_t)(next_random(r) % (uint64_t)(base / 2 + 1));
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                           */
/* ------------------------------------------------------------------ */

int chand_reconciler_new(chand_reconciler **out, const chand_config *config, chan_store *store,
                         chan_error *err)
{
    const chan_kafka_properties *props = &config->kafka_properties;
    chan_kafka_options ko = CHAN_KAFKA_OPTIONS_INIT;
    pthread_condattr_t cattr;
    chand_reconciler *r = NULL;
    chand_acl_mode mode = config->acl_mode_value;
    int error = 0;

    *out = NULL;
    if (config->kafka_bootstrap == NULL || config->kafka_bootstrap[0] == '\0') {
        if (mode != CHAND_ACL_MODE_OFF)
            chan_log(CHAN_LOG_INFO, MODULE,
                     "no --kafka-bootstrap: Kafka admission is off acl_mode=%s",
                     chand_acl_mode_name(mode));
        return 0;
    }

    r = chan_xcalloc(1, sizeof(*r));
    r->store = store;
    r->mode = mode;
    r->interval_ms = config->reconcile_interval * 1000;
    r->backoff_min_ms = config->reconcile_backoff_min_ms;
    r->backoff_max_ms = config->reconcile_backoff_max_ms;
    r->rng = (uint64_t)wall_ms() * UINT64_C(6364136223846793005) ^ (uint64_t)getpid();
    if (r->rng == 0)
        r->rng = 1;
    pthread_mutex_init(&r->pass_mu, NULL);
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &cattr);
    pthread_condattr_destroy(&cattr);

    r->topic_mode = config->topic_mode_value;
    r->topic_filter.include = (const char *const *)config->topic_include_list;
    r->topic_filter.n_include = config->n_topic_include;
    r->topic_filter.exclude = (const char *const *)config->topic_exclude_list;
    r->topic_filter.n_exclude = config->n_topic_exclude;
    ko.bootstrap_servers = config->kafka_bootstrap;
    ko.config = (const char *const *)props->pairs;
    ko.n_config = props->n;
    ko.timeout_ms = (int)config->kafka_timeout_ms;
    ko.client_id = "chanregd";
    if ((error = chan_kafka_open(&r->kafka, &ko, err)) < 0) {
        /* Name the line of a refused property. */
        for (size_t i = 0; err != NULL && i < props->n; i++) {
            if (strstr(err->message, props->pairs[2 * i]) != NULL) {
                chan_error_prefix(err, "%s:%d", props->path, props->lines[i]);
                break;
            }
        }
        goto cleanup;
    }
    if (mode != CHAND_ACL_MODE_OFF &&
        (error = chan_leader_new(&r->leader, config->db, LEADER_NAME, err)) < 0)
        goto cleanup;
    if (r->leader != NULL)
        chan_leader_use_store(r->leader, store); /* the store's deadlines, and its abort */
    chan_log(CHAN_LOG_INFO, MODULE,
             "kafka admission acl_mode=%s bootstrap=%s properties=%zu interval_s=%lld "
             "backoff_ms=%lld..%lld timeout_ms=%lld leader_election=%s%s%s",
             chand_acl_mode_name(mode), config->kafka_bootstrap, props->n,
             (long long)config->reconcile_interval, (long long)r->backoff_min_ms,
             (long long)r->backoff_max_ms, (long long)config->kafka_timeout_ms,
             r->leader ? chan_leader_kind_name(chan_leader_get_kind(r->leader)) : "none",
             r->leader ? " target=" : "", r->leader ? chan_leader_target(r->leader) : "");
    *out = r;
    r = NULL;

cleanup:
    chand_reconciler_free(r);
    return error;
}

void chand_reconciler_free(chand_reconciler *r)
{
    if (r == NULL)
        return;
    chan_kafka_topic_list_free(r->topics, r->n_topics);
    chan_leader_free(r->leader);
    chan_kafka_free(r->kafka);
    free(r->unrecorded_actor);
    free(r->unrecorded_detail);
    free(r->unrecorded_bindings);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->pass_mu);
    free(r);
}

chand_acl_mode chand_reconciler_mode(const chand_reconciler *r)
{
    return r->mode;
}

static bool stopping(chand_reconciler *r)
{
    bool s;

    pthread_mutex_lock(&r->mu);
    s = r->stopping;
    pthread_mutex_unlock(&r->mu);
    return s;
}

/* ------------------------------------------------------------------ */
/* Passes                                                               */
/* ------------------------------------------------------------------ */

static void fill_counts(pass_result *p, const chan_kafka_report *report)
{
    const chan_acl_plan *plan = report ? chan_kafka_report_plan(report) : NULL;

    if (plan) {
        p->to_create = chan_acl_set_count(chan_acl_plan_to_create(plan));
        p->to_delete = chan_acl_set_count(chan_acl_plan_to_delete(plan));
        p->unchanged = chan_acl_set_count(chan_acl_plan_unchanged(plan));
        p->bypasses = chan_acl_set_count(chan_acl_plan_bypasses(plan));
        p->deletes_refused = chan_acl_plan_deletes_refused(plan);
        p->known = !p->deletes_refused;
    }
    if (report) {
        p->created = chan_kafka_report_created(report);
        p->deleted = chan_kafka_report_deleted(report);
        p->failed = chan_kafka_report_failed(report);
        p->skipped = chan_kafka_report_skipped(report);
    }
}

/*
** Read the channels and the tombstones of deleted ones and compute the
** desired bindings and scope.  On success the caller frees *out_desired and
** *out_scope.
*/
static int load_desired(chan_acl_set **out_desired, chan_acl_scope **out_scope, size_t *out_n,
                        chan_store *store, chan_error *err)
{
    chan_acl_desired_options opts = CHAN_ACL_DESIRED_OPTIONS_INIT;
    chan_channel_record **channels = NULL;
    chan_channel_tombstone **tombstones = NULL;
    size_t n = 0, n_tombstones = 0;
    int error;

    *out_desired = NULL;
    *out_scope = NULL;
    *out_n = 0;
    if ((error = chan_store_channel_list(store, &channels, &n, NULL, err)) < 0 ||
        (error = chan_store_tombstone_list(store, &tombstones, &n_tombstones, err)) < 0) {
        chan_error_prefix(err, "store");
        goto cleanup;
    }
    opts.tombstones = (const chan_channel_tombstone *const *)tombstones;
    opts.n_tombstones = n_tombstones;
    error = chan_acl_desired(out_desired, out_scope, (const chan_channel_record *const *)channels,
                             n, &opts, err);
    if (error < 0)
        chan_error_prefix(err, "contracts");
    *out_n = n;
cleanup:
    chan_channel_tombstone_list_free(tombstones, n_tombstones);
    chan_channel_record_list_free(channels, n);
    return error;
}

/* The JSON array of a set (chan_acl_set_render_json). */
static json_t *set_to_json(const chan_acl_set *set)
{
    char *text = NULL;
    json_t *a;

    chan_acl_set_render_json(&text, set);
    a = json_loads(text, 0, NULL);
    free(text);
    return a ? a : json_array();
}

/*
** The audit detail of an applied pass, {"trigger","created","deleted",
** "failed","skipped"} (bindings; failed ones with "action" and "error"),
** and the bindings in place afterwards within the scope: those the plan
** left unchanged, those created, and those it meant to delete but did not.
** Both are JSON texts the caller frees.
*/
static void apply_record_texts(char **out_detail, char **out_bindings,
                               const chan_kafka_report *report, const char *trigger)
{
    const chan_acl_plan *plan = chan_kafka_report_plan(report);
    chan_acl_set *created = chan_acl_set_new(), *deleted = chan_acl_set_new();
    chan_acl_set *skipped = chan_acl_set_new(), *in_place = chan_acl_set_new();
    json_t *failed = json_array(), *detail, *bindings;
    const chan_acl_set *unchanged = plan ? chan_acl_plan_unchanged(plan) : NULL;

    for (size_t i = 0; i < chan_acl_set_count(unchanged); i++)
        (void)chan_acl_set_add(in_place, NULL, chan_acl_set_get(unchanged, i), NULL);
    for (size_t i = 0; i < chan_kafka_report_count(report); i++) {
        const chan_kafka_result *res = chan_kafka_report_get(report, i);
        bool create = res->action == CHAN_KAFKA_ACTION_CREATE;

        if (res->skipped) {
            (void)chan_acl_set_add(skipped, NULL, &res->binding, NULL);
        } else if (res->status != 0) {
            chan_acl_set *one = chan_acl_set_new();
            json_t *arr, *b;

            (void)chan_acl_set_add(one, NULL, &res->binding, NULL);
            arr = set_to_json(one);
            b = json_incref(json_array_get(arr, 0));
            json_decref(arr);
            if (b == NULL)
                b = json_object();
            json_object_set_new(b, "action", json_string(create ? "create" : "delete"));
            json_object_set_new(
                b, "error", json_string(res->message ? res->message : chan_strerror(res->status)));
            json_array_append_new(failed, b);
            chan_acl_set_free(one);
        } else if (create) {
            (void)chan_acl_set_add(created, NULL, &res->binding, NULL);
        } else if (res->deleted > 0) {
            (void)chan_acl_set_add(deleted, NULL, &res->binding, NULL);
        }
        /* In place afterwards: created ones, and deletes that did not happen. */
        if (create ? !res->skipped && res->status == 0 : res->skipped || res->status != 0)
            (void)chan_acl_set_add(in_place, NULL, &res->binding, NULL);
    }
    detail = json_object();
    json_object_set_new(detail, "trigger", json_string(trigger));
    json_object_set_new(detail, "created", set_to_json(created));
    json_object_set_new(detail, "deleted", set_to_json(deleted));
    json_object_set_new(detail, "failed", failed);
    json_object_set_new(detail, "skipped", set_to_json(skipped));
    bindings = set_to_json(in_place);
    *out_detail = json_dumps(detail, JSON_COMPACT | JSON_PRESERVE_ORDER);
    *out_bindings = json_dumps(bindings, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (*out_detail == NULL || *out_bindings == NULL)
        abort(); /* jansson fails only on allocation failure */
    json_decref(detail);
    json_decref(bindings);
    chan_acl_set_free(created);
    chan_acl_set_free(deleted);
    chan_acl_set_free(skipped);
    chan_acl_set_free(in_place);
}

static void log_pass(const chand_reconciler *r, const pass_result *p, int64_t backoff_ms,
                     unsigned int failures)
{
    if (p->ok)
        chan_log(CHAN_LOG_INFO, MODULE,
                 "acl pass ok mode=%s trigger=%s leader=true channels=%zu desired=%zu create=%zu "
                 "delete=%zu unchanged=%zu bypasses=%zu created=%zu deleted=%zu failed=%zu "
                 "skipped=%zu duration_ms=%.1f",
                 chand_acl_mode_name(r->mode), p->trigger, p->channels, p->desired, p->to_create,
                 p->to_delete, p->unchanged, p->bypasses, p->created, p->deleted, p->failed,
                 p->skipped, p->duration_ms);
    else
        chan_log(CHAN_LOG_WARN, MODULE,
                 "acl pass failed mode=%s trigger=%s leader=%s actual_state=%s channels=%zu "
                 "desired=%zu create=%zu delete=%zu created=%zu deleted=%zu failed=%zu "
                 "skipped=%zu consecutive_failures=%u backoff_ms=%lld duration_ms=%.1f "
                 "error=\"%s\"",
                 chand_acl_mode_name(r->mode), p->trigger, p->leader ? "true" : "false",
                 p->known ? "known" : "unknown", p->channels, p->desired, p->to_create,
                 p->to_delete, p->created, p->deleted, p->failed, p->skipped, failures,
                 (long long)backoff_ms, p->duration_ms, p->error);
}

/*
** Write the record of an applied pass that the store refused earlier.
** Caller holds pass_mu.  Returns 0 (also when there is none) or the store's
** error; the record is then kept for the next try.
*/
static int flush_unrecorded(chand_reconciler *r, chan_error *err)
{
    int error;

    if (r->unrecorded_detail == NULL)
        return 0;
    if ((error = chan_store_acl_apply_record(r->store, r->unrecorded_actor, r->unrecorded_detail,
                                             r->unrecorded_bindings, err)) < 0) {
        chan_error_prefix(err, "store: recording an earlier ACL apply");
        return error;
    }
    chan_log(CHAN_LOG_INFO, MODULE, "recorded an earlier acl apply actor=%s", r->unrecorded_actor);
    free(r->unrecorded_actor);
    free(r->unrecorded_detail);
    free(r->unrecorded_bindings);
    r->unrecorded_actor = r->unrecorded_detail = r->unrecorded_bindings = NULL;
    return 0;
}

/*
** Audit an applied pass that changed (or failed to change) something:
** chan_store_acl_apply_record.  When the store refuses, the record is kept
** for flush_unrecorded and the error returned.  Caller holds pass_mu.
*/
static int record_apply(chand_reconciler *r, const chan_kafka_report *report, const char *trigger,
                        const char *actor, chan_error *err)
{
    char *detail = NULL, *bindings = NULL;
    int error;

    apply_record_texts(&detail, &bindings, report, trigger);
    error = chan_store_acl_apply_record(r->store, actor, detail, bindings, err);
    if (error < 0) {
        chan_error_prefix(err, "store: the ACL apply was not audited (retried next pass)");
        chan_log(CHAN_LOG_ERROR, MODULE, "acl apply not recorded actor=%s detail=%s", actor,
                 detail);
        assert(r->unrecorded_detail == NULL);
        r->unrecorded_actor = chan_xstrdup(actor);
        r->unrecorded_detail = detail;
        r->unrecorded_bindings = bindings;
        return error;
    }
    free(detail);
    free(bindings);
    return 0;
}

/*
** One pass: leader check, channels, desired set, reconcile, and the audit
** record of what an applied pass changed (actor: who asked for the pass).
** Caller holds pass_mu.  *out_report (may be NULL) gets the report when one
** was made.
*/
/* Hand the ACL coverage of a pass's plan to the metrics; unknown without a complete read. */
static void report_coverage(const pass_result *p, const chan_kafka_report *report)
{
    const chan_acl_plan *plan = report ? chan_kafka_report_plan(report) : NULL;
    size_t covered = 0, principals = 0;

    if (plan != NULL && p->known)
        chan_acl_plan_coverage(&covered, &principals, plan);
    chand_metrics_acl_coverage(plan != NULL && p->known, covered, principals);
}

/*
** Read the cluster's topics (topic discovery) and keep the result, known or
** not, for GET /v1/topics and the metrics.  A failed read forgets the
** previous list: nothing is judged on a failed read.
*/
static int read_topics(chand_reconciler *r, chan_error *err)
{
    chan_kafka_topic *topics = NULL;
    const char **names = NULL;
    size_t n = 0, i;
    int error = chan_kafka_list_topics(&topics, &n, r->kafka, err);

    pthread_mutex_lock(&r->mu);
    chan_kafka_topic_list_free(r->topics, r->n_topics);
    r->topics = topics;
    r->n_topics = n;
    r->topics_read = true;
    r->topics_known = error == 0;
    r->topics_read_ms = wall_ms();
    snprintf(r->topics_error, sizeof(r->topics_error), "%s", error < 0 && err ? err->message : "");
    names = chan_xcalloc(n + 1, sizeof(*names));
    for (i = 0; i < n; i++)
        names[i] = topics[i].name;
    chand_metrics_topics(error == 0, names, n);
    pthread_mutex_unlock(&r->mu);
    free(names);
    if (error < 0)
        chan_log(CHAN_LOG_WARN, MODULE, "topic discovery: cannot read the cluster's topics: %s",
                 err ? err->message : chan_strerror(error));
    return error;
}

static void run_pass(chand_reconciler *r, pass_result *p, chan_kafka_report **out_report,
                     const char *trigger, const char *actor)
{
    chan_acl_set *desired = NULL;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *report = NULL;
    chan_error err = CHAN_ERROR_INIT;
    double t0 = monotonic_s();
    bool leader = false;
    int error = 0;

    memset(p, 0, sizeof(*p));
    p->trigger = trigger;
    p->started_ms = wall_ms();
    p->dry_run = r->mode != CHAND_ACL_MODE_APPLY;
    if (out_report)
        *out_report = NULL;

    if (r->leader != NULL)
        error = chan_leader_check(r->leader, &leader, &err);
    else
        leader = true;
    pthread_mutex_lock(&r->mu);
    if (r->is_leader != leader && error == 0)
        chan_log(CHAN_LOG_INFO, MODULE, "%s leader=%s",
                 leader ? "this daemon reconciles Kafka ACLs" : "another daemon reconciles",
                 leader ? "true" : "false");
    r->is_leader = leader;
    pthread_mutex_unlock(&r->mu);
    p->leader = leader;
    if (error < 0)
        goto failed;
    if (!leader || stopping(r))
        goto done;

    p->ran = true;
    if ((!p->dry_run && (error = flush_unrecorded(r, &err)) < 0) ||
        (error = load_desired(&desired, &scope, &p->channels, r->store, &err)) < 0)
        goto failed;
    p->desired = chan_acl_set_count(desired);
    if (stopping(r)) {
        p->ran = false;
        goto done;
    }
    error = chan_kafka_reconcile(&report, r->kafka, desired, scope, p->dry_run, &err);
    fill_counts(p, report);
    report_coverage(p, report);
    if (!p->dry_run && report != NULL && p->created + p->deleted + p->failed > 0) {
        chan_error rerr = CHAN_ERROR_INIT;
        int rc = record_apply(r, report, trigger, actor, &rerr);

        if (rc < 0 && error == 0) {
            error = rc;
            err = rerr;
        }
    }
    if (error < 0)
        goto failed;
    p->ok = true;
    goto done;

failed:
    p->ran = true;
    p->ok = false;
    p->code = error;
    snprintf(p->error, sizeof(p->error), "%s", err.message[0] ? err.message : chan_strerror(error));

done:
    p->duration_ms = (monotonic_s() - t0) * 1000.0;
    if (out_report)
        *out_report = report;
    else
        chan_kafka_report_free(report);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
}

/*
** Record a pass that ran: counters, backoff, metrics, log line.  Returns
** the delay before the next loop pass.  Caller holds pass_mu (not mu).
*/
static int64_t record_pass(chand_reconciler *r, const pass_result *p)
{
    int64_t delay;
    unsigned int failures;

    pthread_mutex_lock(&r->mu);
    if (!p->ran) {
        r->skipped_passes++;
        r->backoff_ms = 0;
        r->consecutive_failures = 0;
        delay = r->interval_ms;
        pthread_mutex_unlock(&r->mu);
        chan_log(CHAN_LOG_DEBUG, MODULE, "acl pass skipped leader=%s",
                 p->leader ? "true" : "false");
        return delay;
    }
    r->passes++;
    r->last = *p;
    r->have_last = true;
    if (p->ok) {
        r->consecutive_failures = 0;
        r->backoff_ms = 0;
        delay = r->interval_ms;
    } else {
        r->failures++;
        r->consecutive_failures++;
        r->backoff_ms = backoff_delay(r, r->consecutive_failures);
        delay = r->backoff_ms;
    }
    failures = r->consecutive_failures;
    pthread_mutex_unlock(&r->mu);

    chand_metrics_reconcile_run(p->ok);
    log_pass(r, p, p->ok ? 0 : delay, failures);
    return delay;
}

static void *loop_main(void *arg)
{
    chand_reconciler *r = arg;

    for (;;) {
        pass_result p;
        int64_t delay, deadline;
        struct timespec ts;

        if (!stopping(r)) {
            chan_error terr = CHAN_ERROR_INIT;

            (void)read_topics(r, &terr); /* logged; the state says unknown */
        }
        pthread_mutex_lock(&r->pass_mu);
        run_pass(r, &p, NULL, "loop", "reconciler");
        delay = stopping(r) ? 0 : record_pass(r, &p);
        pthread_mutex_unlock(&r->pass_mu);
        if (p.ran && p.leader && r->topic_mode != CHAND_ACL_MODE_OFF && !stopping(r)) {
            chan_error terr = CHAN_ERROR_INIT;
            json_t *report = NULL;

            if (chand_reconciler_topic_pass(r, r->topic_mode == CHAND_ACL_MODE_APPLY, false, NULL,
                                            "reconciler", &report, &terr) < 0 &&
                report == NULL)
                chan_log(CHAN_LOG_WARN, MODULE, "topic configs: no plan: %s", terr.message);
            json_decref(report);
        }

        pthread_mutex_lock(&r->mu);
        deadline = monotonic_ms() + delay;
        r->next_pass_ms = deadline;
        ts.tv_sec = (time_t)(deadline / 1000);
        ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
        while (!r->stopping && monotonic_ms() < deadline) {
            int rc = pthread_cond_timedwait(&r->cv, &r->mu, &ts);

            if (rc == ETIMEDOUT)
                break;
        }
        if (r->stopping) {
            r->next_pass_ms = 0;
            pthread_mutex_unlock(&r->mu);
            break;
        }
        pthread_mutex_unlock(&r->mu);
    }

    pthread_mutex_lock(&r->mu);
    r->finished = true;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int chand_reconciler_start(chand_reconciler *r, chan_error *err)
{
    int rc;

    if (r == NULL || r->mode == CHAND_ACL_MODE_OFF)
        return 0;
    rc = pthread_create(&r->thread, NULL, loop_main, r);
    if (rc != 0)
        return chan_error_set(err, CHAN_EINTERNAL, "cannot start the reconciler thread: %s",
                              strerror(rc));
    r->thread_started = true;
    return 0;
}

bool chand_reconciler_stop(chand_reconciler *r, int64_t timeout_ms)
{
    int64_t deadline = monotonic_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    struct timespec ts;
    bool finished;

    if (r == NULL || !r->thread_started)
        return true;
    ts.tv_sec = (time_t)(deadline / 1000);
    ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_broadcast(&r->cv);
    while (!r->finished) {
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == ETIMEDOUT)
            break;
    }
    finished = r->finished;
    pthread_mutex_unlock(&r->mu);
    if (!finished) {
        chan_log(CHAN_LOG_WARN, MODULE,
                 "the reconciler did not stop within %lld ms; leaving it to the exit",
                 (long long)timeout_ms);
        return false;
    }
    pthread_join(r->thread, NULL);
    r->thread_started = false;
    return true;
}

/* ------------------------------------------------------------------ */
/* On demand: plan, apply, status                                       */
/* ------------------------------------------------------------------ */

static json_t *pass_json(const pass_result *p)
{
    json_t *o = json_object();

    json_object_set_new(o, "started_at", json_time_ms(p->started_ms));
    json_object_set_new(o, "duration_ms", json_real(p->duration_ms));
    json_object_set_new(o, "trigger", json_string(p->trigger ? p->trigger : "loop"));
    json_object_set_new(o, "dry_run", json_boolean(p->dry_run));
    json_object_set_new(o, "ok", json_boolean(p->ok));
    json_object_set_new(o, "leader", json_boolean(p->leader));
    json_object_set_new(o, "error", p->ok ? json_null() : json_string(p->error));
    json_object_set_new(o, "actual_state", json_string(p->known ? "known" : "unknown"));
    json_object_set_new(o, "channels", json_integer((json_int_t)p->channels));
    json_object_set_new(o, "desired", json_integer((json_int_t)p->desired));
    json_object_set_new(o, "create", json_integer((json_int_t)p->to_create));
    json_object_set_new(o, "delete", json_integer((json_int_t)p->to_delete));
    json_object_set_new(o, "unchanged", json_integer((json_int_t)p->unchanged));
    json_object_set_new(o, "bypasses", json_integer((json_int_t)p->bypasses));
    json_object_set_new(o, "created", json_integer((json_int_t)p->created));
    json_object_set_new(o, "deleted", json_integer((json_int_t)p->deleted));
    json_object_set_new(o, "failed", json_integer((json_int_t)p->failed));
    json_object_set_new(o, "skipped", json_integer((json_int_t)p->skipped));
    json_object_set_new(o, "deletes_refused", json_boolean(p->deletes_refused));
    return o;
}

/* Parse JSON text rendered by libchan (always valid); NULL stays NULL. */
static json_t *parse_rendered(char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;

    free(text);
    return j ? j : json_object();
}

int chand_reconciler_plan(chand_reconciler *r, json_t **out, chan_error *err)
{
    chan_acl_set *desired = NULL;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *report = NULL;
    chan_error kerr = CHAN_ERROR_INIT;
    const chan_acl_plan *plan;
    char *text = NULL;
    json_t *doc = NULL;
    size_t n = 0;
    int error, rc;

    *out = NULL;
    if ((error = load_desired(&desired, &scope, &n, r->store, err)) < 0)
        goto cleanup;
    rc = chan_kafka_reconcile(&report, r->kafka, desired, scope, true, &kerr);
    plan = report ? chan_kafka_report_plan(report) : NULL;
    if (plan == NULL) {
        error = rc < 0 ? rc : CHAN_EINTERNAL;
        if (err)
            *err = kerr;
        goto cleanup;
    }
    chan_acl_plan_render_json(&text, plan);
    doc = parse_rendered(text);
    json_object_set_new(doc, "actual_state",
                        json_string(chan_acl_plan_deletes_refused(plan) ? "unknown" : "known"));
    json_object_set_new(doc, "error", rc < 0 ? json_string(kerr.message) : json_null());
    chan_acl_plan_render_text(&text, plan, 0);
    json_object_set_new(doc, "text", json_string(text ? text : ""));
    free(text);
    json_object_set_new(doc, "mode", json_string(chand_acl_mode_name(r->mode)));
    json_object_set_new(doc, "channels", json_integer((json_int_t)n));
    *out = doc;

cleanup:
    chan_kafka_report_free(report);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
    return error;
}

int chand_reconciler_apply(chand_reconciler *r, const char *actor, json_t **out, chan_error *err)
{
    chan_kafka_report *report = NULL;
    pass_result p;
    json_t *doc;
    char *text = NULL;

    *out = NULL;
    if (r->mode != CHAND_ACL_MODE_APPLY)
        return chan_error_set(err, CHAN_ECONFLICT,
                              "ACLs are not applied in --acl-mode %s; start the daemon with "
                              "--acl-mode apply",
                              chand_acl_mode_name(r->mode));
    pthread_mutex_lock(&r->pass_mu);
    run_pass(r, &p, &report, "api", actor != NULL && actor[0] != '\0' ? actor : "anonymous");
    if (!p.ran) {
        pthread_mutex_unlock(&r->pass_mu);
        chan_kafka_report_free(report);
        return chan_error_set(err, CHAN_ECONFLICT,
                              "this daemon is not the leader; another daemon reconciles the ACLs");
    }
    (void)record_pass(r, &p);
    pthread_mutex_unlock(&r->pass_mu);

    if (report) {
        chan_kafka_report_render_json(&text, report);
        doc = parse_rendered(text);
    } else {
        doc = json_object();
    }
    chan_kafka_report_free(report);
    json_object_set_new(doc, "ok", json_boolean(p.ok));
    json_object_set_new(doc, "actual_state", json_string(p.known ? "known" : "unknown"));
    json_object_set_new(doc, "error", p.ok ? json_null() : json_string(p.error));
    json_object_set_new(doc, "pass", pass_json(&p));
    *out = doc;
    if (p.ok)
        return 0;
    return chan_error_set(err, p.code, "%s", p.error);
}

json_t *chand_reconciler_status(chand_reconciler *r)
{
    json_t *o = json_object();
    int64_t now = monotonic_ms();

    pthread_mutex_lock(&r->mu);
    json_object_set_new(o, "kafka_configured", json_true());
    json_object_set_new(o, "mode", json_string(chand_acl_mode_name(r->mode)));
    json_object_set_new(o, "running", json_boolean(r->thread_started && !r->finished));
    json_object_set_new(o, "leader", json_boolean(r->is_leader));
    json_object_set_new(o, "leader_election",
                        r->leader
                            ? json_string(chan_leader_kind_name(chan_leader_get_kind(r->leader)))
                            : json_null());
    json_object_set_new(o, "interval_s", json_integer((json_int_t)(r->interval_ms / 1000)));
    json_object_set_new(o, "consecutive_failures", json_integer(r->consecutive_failures));
    json_object_set_new(o, "backoff_ms", json_integer((json_int_t)r->backoff_ms));
    json_object_set_new(
        o, "next_pass_in_ms",
        r->next_pass_ms > 0 && !r->stopping
            ? json_integer((json_int_t)(r->next_pass_ms > now ? r->next_pass_ms - now : 0))
            : json_null());
    json_object_set_new(o, "passes", json_integer((json_int_t)r->passes));
    json_object_set_new(o, "failures", json_integer((json_int_t)r->failures));
    json_object_set_new(o, "skipped_passes", json_integer((json_int_t)r->skipped_passes));
    json_object_set_new(o, "last_pass", r->have_last ? pass_json(&r->last) : json_null());
    pthread_mutex_unlock(&r->mu);
    return o;
}

/* ------------------------------------------------------------------ */
/* Topic discovery                                                     */
/* ------------------------------------------------------------------ */

static json_t *string_array(const char *const *items, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(a, json_string(items[i]));
    return a;
}

int chand_reconciler_topics(chand_reconciler *r, json_t **out, bool refresh, chan_error *err)
{
    chan_channel_record **channels = NULL;
    chan_channel_filter cf = CHAN_CHANNEL_FILTER_INIT;
    json_t *managed = json_array(), *unmanaged = json_array(), *excluded = json_array();
    json_t *doc = NULL;
    size_t n = 0, i, in_scope = 0;
    int error = 0;

    assert(out != NULL);
    *out = NULL;
    if ((error = chan_store_channel_list(r->store, &channels, &n, &cf, err)) < 0)
        goto cleanup;
    if (refresh || !r->topics_read) {
        chan_error terr = CHAN_ERROR_INIT;

        (void)read_topics(r, &terr); /* the reply says unknown, with the error */
    }
    pthread_mutex_lock(&r->mu);
    for (i = 0; r->topics_known && i < r->n_topics; i++) {
        const char *t = r->topics[i].name;

        if (!chan_policy_topic_in_scope(&r->topic_filter, t))
            json_array_append_new(excluded, json_string(t));
        else if (chan_policy_topic_managed(t, (const chan_channel_record *const *)channels, n))
            json_array_append_new(managed, json_string(t));
        else
            json_array_append_new(unmanaged, json_string(t));
        in_scope += chan_policy_topic_in_scope(&r->topic_filter, t);
    }
    doc = json_object();
    json_object_set_new(doc, "state", json_string(r->topics_known ? "known" : "unknown"));
    json_object_set_new(doc, "error", r->topics_known ? json_null() : json_string(r->topics_error));
    json_object_set_new(doc, "read_at", json_time_ms(r->topics_read_ms));
    json_object_set_new(doc, "include",
                        string_array(r->topic_filter.include, r->topic_filter.n_include));
    json_object_set_new(doc, "exclude",
                        string_array(r->topic_filter.exclude, r->topic_filter.n_exclude));
    json_object_set_new(doc, "topics", json_integer((json_int_t)in_scope));
    json_object_set_new(doc, "channels", json_integer((json_int_t)n));
    pthread_mutex_unlock(&r->mu);
    json_object_set(doc, "managed", managed);
    json_object_set(doc, "unmanaged", unmanaged);
    json_object_set(doc, "excluded", excluded);
    *out = doc;

cleanup:
    json_decref(managed);
    json_decref(unmanaged);
    json_decref(excluded);
    chan_channel_record_list_free(channels, n);
    return error;
}

/* ------------------------------------------------------------------ */
/* Topic configuration                                                 */
/* ------------------------------------------------------------------ */

/*
** The topic plan from a complete read: the channels, the cluster's topics
** and the configs of the managed topics that exist.  Any failed read
** returns its error and no plan.
*/
static int topic_plan(chan_topic_plan **out, chand_reconciler *r, chan_error *err)
{
    chan_channel_filter cf = CHAN_CHANNEL_FILTER_INIT;
    chan_channel_record **channels = NULL;
    chan_kafka_topic *topics = NULL;
    chan_topic_config *configs = NULL;
    const char **names = NULL, **managed = NULL;
    size_t n = 0, n_topics = 0, n_managed = 0, i;
    int error;

    *out = NULL;
    if ((error = chan_store_channel_list(r->store, &channels, &n, &cf, err)) < 0 ||
        (error = chan_kafka_list_topics(&topics, &n_topics, r->kafka, err)) < 0)
        goto cleanup;
    names = chan_xcalloc(n_topics + 1, sizeof(*names));
    for (i = 0; i < n_topics; i++)
        names[i] = topics[i].name;
    managed = chan_xcalloc(n + 1, sizeof(*managed));
    for (i = 0; i < n; i++) {
        size_t k;

        for (k = 0; k < n_topics; k++) {
            if (strcmp(names[k], channels[i]->name) == 0) {
                managed[n_managed++] = channels[i]->name;
                break;
            }
        }
    }
    if ((error = chan_kafka_describe_topic_configs(&configs, r->kafka, managed, n_managed, err)) <
        0)
        goto cleanup;
    error = chan_topic_plan_compute(out, (const chan_channel_record *const *)channels, n, names,
                                    n_topics, configs, n_managed, NULL, err);

cleanup:
    chan_topic_config_list_free(configs, n_managed);
    free(managed);
    free(names);
    chan_kafka_topic_list_free(topics, n_topics);
    chan_channel_record_list_free(channels, n);
    return error;
}

/* The changes of plan on topic, as a JSON array (for the audit detail). */
static json_t *topic_changes_json(const chan_topic_plan *plan, const char *topic)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < plan->n_changes; i++) {
        const chan_topic_change *c = &plan->changes[i];

        if (strcmp(c->topic, topic) == 0)
            json_array_append_new(a, json_pack("{s:s,s:o,s:s}", "key", c->key, "actual",
                                               chan_json_str_or_null(c->actual), "desired",
                                               c->desired));
    }
    return a;
}

/*
** Create the missing topics of plan (with the contract's retention.ms),
** each audited as "topic.create"; append a result per topic.  Returns the
** first failure's code.
*/
static int create_missing(chand_reconciler *r, const chan_topic_plan *plan,
                          const chand_topic_create *create, bool dry_run, const char *actor,
                          json_t *results, size_t *applied, size_t *failed, chan_error *err)
{
    chan_channel_record **channels = NULL;
    chan_channel_filter cf = CHAN_CHANNEL_FILTER_INIT;
    size_t n = 0, i, k;
    int error = 0, first = 0;

    if ((error = chan_store_channel_list(r->store, &channels, &n, &cf, err)) < 0)
        return error;
    for (i = 0; i < plan->n_missing; i++) {
        const chan_channel_record *ch = NULL;
        chan_error cerr = CHAN_ERROR_INIT;
        char retention[32];
        const char *pairs[4] = {CHAN_TOPIC_RETENTION_KEY, retention, CHAN_TOPIC_CLEANUP_KEY, NULL};
        size_t n_pairs;
        json_t *configs, *detail;
        char *text;
        int rc = 0;

        for (k = 0; k < n && ch == NULL; k++)
            ch = strcmp(channels[k]->name, plan->missing[i]) == 0 ? channels[k] : NULL;
        if (ch == NULL || chan_acl_topic_retention_ms(ch) < 0)
            continue;
        snprintf(retention, sizeof(retention), "%lld", (long long)chan_acl_topic_retention_ms(ch));
        configs = json_pack("{s:s}", CHAN_TOPIC_RETENTION_KEY, retention);
        pairs[3] = ch->cleanup_policy;
        n_pairs = ch->cleanup_policy != NULL ? 2 : 1;
        if (ch->cleanup_policy != NULL)
            json_object_set_new(configs, CHAN_TOPIC_CLEANUP_KEY, json_string(ch->cleanup_policy));
        if (!dry_run) {
            rc = chan_kafka_create_topic(r->kafka, ch->name, create->partitions,
                                         create->replication_factor, pairs, n_pairs, &cerr);
            if (rc == 0)
                (*applied)++;
            else
                (*failed)++;
            if (rc < 0 && first == 0) {
                first = rc;
                *err = cerr;
            }
            detail = json_pack("{s:O,s:i,s:i,s:b,s:o}", "configs", configs, "partitions",
                               (int)create->partitions, "replication_factor",
                               (int)create->replication_factor, "ok", rc == 0, "error",
                               rc < 0 ? json_string(cerr.message) : json_null());
            text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(detail);
            if (chan_store_topic_apply_record(r->store, actor, "topic.create", ch->name, text,
                                              &cerr) < 0)
                chan_log(CHAN_LOG_ERROR, MODULE, "topic configs: create of %s not audited: %s",
                         ch->name, cerr.message);
            free(text);
            chan_log(rc == 0 ? CHAN_LOG_INFO : CHAN_LOG_WARN, MODULE,
                     "topic configs: create topic=%s partitions=%d ok=%s actor=%s", ch->name,
                     (int)create->partitions, rc == 0 ? "true" : "false", actor);
        }
        json_array_append_new(
            results, json_pack("{s:s,s:o,s:s,s:o}", "topic", ch->name, "configs", configs, "status",
                               dry_run   ? "would_create"
                               : rc == 0 ? "created"
                                         : "failed",
                               "message", rc < 0 ? json_string(cerr.message) : json_null()));
    }
    chan_channel_record_list_free(channels, n);
    return first;
}

int chand_reconciler_topic_pass(chand_reconciler *r, bool apply, bool dry_run,
                                const chand_topic_create *create, const char *actor, json_t **out,
                                chan_error *err)
{
    chan_topic_plan *plan = NULL;
    json_t *doc = NULL, *results = json_array();
    size_t i, applied = 0, failed = 0, refused = 0;
    int error, first = 0;

    assert(out != NULL);
    *out = NULL;
    pthread_mutex_lock(&r->pass_mu); /* one pass at a time, ACL or topic */
    if ((error = topic_plan(&plan, r, err)) < 0)
        goto cleanup;
    for (i = 0; apply && i < plan->n_alters; i++) {
        const chan_topic_alter *a = &plan->alters[i];
        chan_error aerr = CHAN_ERROR_INIT;
        json_t *configs = json_object(), *detail;
        const char *status;
        char *text;
        size_t k;
        int rc = 0;

        for (k = 0; k < a->n_pairs; k++)
            json_object_set_new(configs, a->pairs[2 * k], json_string(a->pairs[2 * k + 1]));
        if (a->refused != NULL) {
            status = "refused";
            refused++;
        } else if (dry_run) {
            status = "would_apply";
        } else {
            rc = chan_kafka_alter_topic_configs(r->kafka, a->topic, (const char *const *)a->pairs,
                                                a->n_pairs, &aerr);
            status = rc == 0 ? "applied" : "failed";
            if (rc == 0)
                applied++;
            else
                failed++;
            if (rc < 0 && first == 0) {
                first = rc;
                *err = aerr;
            }
            detail = json_pack("{s:O,s:o,s:b,s:o}", "configs", configs, "changes",
                               topic_changes_json(plan, a->topic), "ok", rc == 0, "error",
                               rc < 0 ? json_string(aerr.message) : json_null());
            text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
            json_decref(detail);
            if (chan_store_topic_apply_record(r->store, actor, "topic.config.apply", a->topic, text,
                                              &aerr) < 0)
                chan_log(CHAN_LOG_ERROR, MODULE, "topic configs: apply on %s not audited: %s",
                         a->topic, aerr.message);
            free(text);
            chan_log(rc == 0 ? CHAN_LOG_INFO : CHAN_LOG_WARN, MODULE,
                     "topic configs: alter topic=%s configs=%zu ok=%s actor=%s", a->topic,
                     a->n_pairs, rc == 0 ? "true" : "false", actor);
        }
        json_array_append_new(results, json_pack("{s:s,s:o,s:s,s:o}", "topic", a->topic, "configs",
                                                 configs, "status", status, "message",
                                                 a->refused ? json_string(a->refused)
                                                 : rc < 0   ? json_string(aerr.message)
                                                            : json_null()));
    }
    if (apply && create != NULL && create->partitions > 0) {
        chan_error cerr = CHAN_ERROR_INIT;
        int rc = create_missing(r, plan, create, dry_run, actor, results, &applied, &failed, &cerr);

        if (rc < 0 && first == 0) {
            first = rc;
            *err = cerr;
        }
    }
    if (!apply && plan->n_changes > 0)
        chan_log(CHAN_LOG_INFO, MODULE, "topic configs: drift changes=%zu topics=%zu missing=%zu",
                 plan->n_changes, plan->n_alters, plan->n_missing);
    doc = json_pack("{s:o,s:b,s:b,s:I,s:I,s:I}", "plan", chan_topic_plan_to_json(plan), "apply",
                    apply, "dry_run", apply && dry_run, "applied", (json_int_t)applied, "failed",
                    (json_int_t)failed, "refused", (json_int_t)refused);
    json_object_set(doc, "results", results);
    *out = doc;
    error = first;

cleanup:
    pthread_mutex_unlock(&r->pass_mu);
    json_decref(results);
    chan_topic_plan_free(plan);
    return error;
}
