/*
 * daemon_metrics.c - chanregd's metrics registry and the per-scrape
 * recomputation of the gauges that come from the store (see
 * daemon_metrics.h and docs/metrics.md).
 *
 * Two locks: state_lock guards the per-subject table (outcome counters and
 * cached figures) and is held only for short lookups, never across a store
 * call; scrape_lock serializes scrapes, which reset and refill the gauges
 * before rendering.  The chan_metrics registry has its own lock.
 *
 * Per-subject figures that need one query per subject are cached: the number
 * of live versions for VERSIONS_TTL seconds, the compatibility rate of the
 * stored version chain for CHAIN_TTL seconds.  A registration, a
 * compatibility verdict, a delete or a change of compatibility level in a
 * subject drops its cached figures at once (a change of the global level
 * drops every chain figure); the time limits cover changes made by other
 * instances sharing a PostgreSQL store.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan/avro.h"
#include "chan/metrics.h"
#include "chan/policy.h"
#include "chan/version.h"

#include "config.h"
#include "daemon_metrics.h"
#include "schema_cache.h"

#define MODULE "metrics"

#define VERSIONS_TTL    60
#define CHAIN_TTL       300
#define SECONDS_PER_DAY 86400.0

/* What is known about one subject. */
typedef struct subject_entry {
    char *subject;
    double compatible;         /* production registrations since start-up */
    double incompatible;       /* production registrations since start-up */
    double check_compatible;   /* compatibility checks (CI) since start-up */
    double check_incompatible; /* compatibility checks (CI) since start-up */
    bool versions_known;
    int64_t versions_at; /* when n_versions was read */
    size_t n_versions;   /* live versions */
    bool chain_known;
    int64_t chain_at;
    double chain_rate;
    unsigned long generation; /* bumped by every change, so a late scrape keeps out */
} subject_entry;

typedef struct daemon_metrics {
    chan_metrics *registry;
    chan_metric_family *http_requests;
    chan_metric_family *http_duration;
    chan_metric_family *http_in_flight;
    chan_metric_family *channels;
    chan_metric_family *consumers;
    chan_metric_family *schema_versions;
    chan_metric_family *compat_rate;
    chan_metric_family *registrations;
    chan_metric_family *compat_checks;
    chan_metric_family *age_days;
    chan_metric_family *producer_mismatch;
    chan_metric_family *reconcile_runs;
    chan_metric_family *reconcile_errors;
    chan_metric_family *webhook_deliveries;
    chan_metric_family *build_info;
    chan_metric_family *topics_discovered;
    chan_metric_family *unmanaged_topics;
    chan_metric_family *check_schema_rate;
    chan_metric_family *check_consumers;
    chan_metric_family *check_acl;
    chan_metric_family *schema_cache_hits;
    chan_metric_family *schema_cache_misses;
    chan_metric_family *schema_cache_entries;
    chan_metric_family *schema_cache_bytes;
    uint64_t cache_hits_seen[2], cache_misses_seen[2]; /* [by id, by text], as last rendered */
    chan_metric_family *reply_cache_hits;
    chan_metric_family *reply_cache_misses;
    chan_metric_family *reply_cache_bytes;
    chan_metric_family *reply_cache_entries;
    uint64_t reply_hits_seen, reply_misses_seen; /* counted so far */
    subject_entry *subjects;
    size_t n_subjects;
    /* Topic discovery and ACL coverage, as last reported. */
    bool topics_reported, topics_known;
    char **topics;
    size_t n_topics;
    bool acl_known;
    size_t acl_covered, acl_principals;
} daemon_metrics;

static daemon_metrics *state = NULL;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t scrape_lock = PTHREAD_MUTEX_INITIALIZER;

/* Requests a thread has completed but not yet added to the registry. */
#define REQUEST_BATCH 256

typedef struct request_seen {
    const char *method; /* a known_method string */
    const char *route;  /* a route pattern: static for the life of the process */
    unsigned int status;
    double seconds;
} request_seen;

/*
** The requests of one thread, added to the registry REQUEST_BATCH at a time
** and at every scrape (flush_requests), so that a request costs a lock no
** other thread takes instead of the two locks every thread takes.  Batches
** live as long as the process, in the list batches (under batches_lock);
** lock order: batches_lock, a batch's lock, state_lock.
*/
typedef struct request_batch {
    pthread_mutex_t lock;
    struct request_batch *next;
    size_t n;
    request_seen seen[REQUEST_BATCH];
} request_batch;

static request_batch *batches = NULL;
static pthread_mutex_t batches_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local request_batch *thread_batch = NULL;

static const double duration_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

/* ------------------------------------------------------------------ */
/* Set-up                                                              */
/* ------------------------------------------------------------------ */

static int define(chan_metric_family **out, daemon_metrics *m, const char *name, const char *help,
                  chan_metric_type type, const char *const *labels, size_t n_labels,
                  chan_error *err)
{
    return chan_metrics_family(
        out, m->registry, name, help, type, labels, n_labels,
        type == CHAN_METRIC_HISTOGRAM ? duration_buckets : NULL,
        type == CHAN_METRIC_HISTOGRAM ? CHAN_ARRAY_SIZE(duration_buckets) : 0, err);
}

static void free_state(daemon_metrics *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->n_subjects; i++)
        free(m->subjects[i].subject);
    free(m->subjects);
    for (i = 0; i < m->n_topics; i++)
        free(m->topics[i]);
    free(m->topics);
    chan_metrics_free(m->registry);
    free(m);
}

int chand_metrics_init(chan_error *err)
{
    static const char *const l_http[] = {"route", "method", "status"};
    static const char *const l_route[] = {"route"};
    static const char *const l_channel[] = {"channel"};
    static const char *const l_result[] = {"channel", "result"};
    static const char *const l_consumer[] = {"channel", "consumer"};
    static const char *const l_webhook[] = {"result"};
    static const char *const l_version[] = {"version"};
    static const char *const l_cache[] = {"cache"};
    daemon_metrics *m = chan_xcalloc(1, sizeof(*m));
    int error = 0;

    m->registry = chan_metrics_new();
    if ((error = define(&m->compat_rate, m, "channel_schema_compatibility_rate",
                        "Share of the registered schema versions of the channel's subject that "
                        "are compatible with the version before them (from the store)",
                        CHAN_METRIC_GAUGE, l_channel, 1, err)) < 0 ||
        (error = define(&m->registrations, m, "channel_schema_registrations_total",
                        "Schema registrations on the channel's subject that reached the "
                        "compatibility check, since start-up, by verdict",
                        CHAN_METRIC_COUNTER, l_result, 2, err)) < 0 ||
        (error = define(&m->compat_checks, m, "channel_schema_compatibility_checks_total",
                        "Compatibility checks (CI, POST /compatibility/...) on the channel's "
                        "subject since start-up, by verdict",
                        CHAN_METRIC_COUNTER, l_result, 2, err)) < 0 ||
        (error = define(&m->topics_discovered, m, "chanreg_topics",
                        "Topics of the cluster in scope of the registry (last successful read)",
                        CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->unmanaged_topics, m, "chanreg_unmanaged_topics",
                        "Topics of the cluster in scope without a channel contract",
                        CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->check_schema_rate, m, "chanreg_schema_registration_rate",
                        "Channels whose contract's schema versions are all registered / "
                        "(channels + unmanaged topics)",
                        CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->check_consumers, m, "chanreg_consumer_registration_completeness",
                        "Consumer registrations approved and not stale / all registrations",
                        CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->check_acl, m, "chanreg_acl_coverage",
                        "Principals whose desired ACLs are all in place / (principals + "
                        "unmanaged topics), from the last reconciler pass",
                        CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->age_days, m, "consumer_registration_age_days",
                        "Days since the consumer's registration or last renewal", CHAN_METRIC_GAUGE,
                        l_consumer, 2, err)) < 0 ||
        (error = define(&m->producer_mismatch, m, "producer_schema_version_mismatch_count",
                        "Sampled messages whose schema version is not in the channel's contract",
                        CHAN_METRIC_COUNTER, l_channel, 1, err)) < 0 ||
        (error = define(&m->channels, m, "chanreg_channels", "Channels stored in the registry",
                        CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->consumers, m, "chanreg_consumers",
                        "Consumers registered on all channels", CHAN_METRIC_GAUGE, NULL, 0, err)) <
            0 ||
        (error = define(&m->schema_versions, m, "chanreg_schema_versions",
                        "Live (not soft-deleted) schema versions of all subjects",
                        CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->http_requests, m, "chanreg_http_requests_total",
                        "HTTP requests answered, by route pattern, method and status",
                        CHAN_METRIC_COUNTER, l_http, 3, err)) < 0 ||
        (error = define(&m->http_duration, m, "chanreg_http_request_duration_seconds",
                        "Time from request start to completion, by route pattern",
                        CHAN_METRIC_HISTOGRAM, l_route, 1, err)) < 0 ||
        (error = define(&m->http_in_flight, m, "chanreg_http_requests_in_flight",
                        "HTTP requests being processed, the scrape included", CHAN_METRIC_GAUGE,
                        NULL, 0, err)) < 0 ||
        (error = define(&m->reconcile_runs, m, "chanreg_reconcile_runs_total",
                        "Kafka ACL reconcile passes", CHAN_METRIC_COUNTER, NULL, 0, err)) < 0 ||
        (error = define(&m->reconcile_errors, m, "chanreg_reconcile_errors_total",
                        "Kafka ACL reconcile passes that failed", CHAN_METRIC_COUNTER, NULL, 0,
                        err)) < 0 ||
        (error = define(&m->webhook_deliveries, m, "chanreg_webhook_deliveries_total",
                        "Webhook delivery attempts by result: delivered, retry (failed, tried "
                        "again later) or failed (given up)",
                        CHAN_METRIC_COUNTER, l_webhook, 1, err)) < 0 ||
        (error = define(&m->schema_cache_hits, m, "chanreg_schema_cache_hits_total",
                        "Parsed schemas found in the parsed-schema cache: stored (by id) or "
                        "request (by the text of a request)",
                        CHAN_METRIC_COUNTER, l_cache, 1, err)) < 0 ||
        (error = define(&m->schema_cache_misses, m, "chanreg_schema_cache_misses_total",
                        "Schemas parsed because the parsed-schema cache lacked them",
                        CHAN_METRIC_COUNTER, l_cache, 1, err)) < 0 ||
        (error = define(&m->schema_cache_entries, m, "chanreg_schema_cache_entries",
                        "Parsed schemas kept in the parsed-schema cache", CHAN_METRIC_GAUGE, NULL,
                        0, err)) < 0 ||
        (error = define(&m->schema_cache_bytes, m, "chanreg_schema_cache_bytes",
                        "Estimated memory of the parsed schemas kept in the cache",
                        CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->reply_cache_hits, m, "chanreg_reply_cache_hits_total",
                        "Requests of cacheable routes answered from the reply cache",
                        CHAN_METRIC_COUNTER, NULL, 0, err)) < 0 ||
        (error = define(&m->reply_cache_misses, m, "chanreg_reply_cache_misses_total",
                        "Requests of cacheable routes whose handler ran (no entry, or one made "
                        "before the store or the second changed)",
                        CHAN_METRIC_COUNTER, NULL, 0, err)) < 0 ||
        (error = define(&m->reply_cache_bytes, m, "chanreg_reply_cache_bytes",
                        "Bytes held by the reply cache (bound: --reply-cache-mb)",
                        CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->reply_cache_entries, m, "chanreg_reply_cache_entries",
                        "Replies held by the reply cache", CHAN_METRIC_GAUGE, NULL, 0, err)) < 0 ||
        (error = define(&m->build_info, m, "chanreg_build_info",
                        "Always 1; the version label names the running build", CHAN_METRIC_GAUGE,
                        l_version, 1, err)) < 0)
        goto cleanup;
    {
        const char *v[] = {CHAN_VERSION_STRING};

        chan_metric_set(m->build_info, v, 1);
    }
    chan_metric_add(m->reconcile_runs, NULL, 0);
    chan_metric_add(m->reconcile_errors, NULL, 0);

    pthread_mutex_lock(&state_lock);
    free_state(state);
    state = m;
    m = NULL;
    pthread_mutex_unlock(&state_lock);

cleanup:
    free_state(m);
    return error;
}

/* Add the requests of b to the registry and empty it (b's lock held). */
static void batch_flush_locked(request_batch *b)
{
    pthread_mutex_lock(&state_lock);
    for (size_t i = 0; state != NULL && i < b->n; i++) {
        const request_seen *r = &b->seen[i];
        char code[16], *p = code + sizeof(code);
        const char *labels[3];
        unsigned int v = r->status;

        *--p = '\0';
        do { /* "%u" */
            *--p = (char)('0' + v % 10);
            v /= 10;
        } while (v > 0);
        labels[0] = r->route;
        labels[1] = r->method;
        labels[2] = p;
        chan_metric_add(state->http_requests, labels, 1);
        chan_metric_observe(state->http_duration, labels, r->seconds); /* label 0: route */
    }
    pthread_mutex_unlock(&state_lock);
    b->n = 0;
}

/* Add the pending requests of every thread to the registry (or drop them). */
static void flush_requests(bool drop)
{
    pthread_mutex_lock(&batches_lock);
    for (request_batch *b = batches; b != NULL; b = b->next) {
        pthread_mutex_lock(&b->lock);
        if (drop)
            b->n = 0;
        else
            batch_flush_locked(b);
        pthread_mutex_unlock(&b->lock);
    }
    pthread_mutex_unlock(&batches_lock);
}

void chand_metrics_shutdown(void)
{
    flush_requests(true);
    pthread_mutex_lock(&scrape_lock);
    pthread_mutex_lock(&state_lock);
    free_state(state);
    state = NULL;
    pthread_mutex_unlock(&state_lock);
    pthread_mutex_unlock(&scrape_lock);
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/* The entry of subject, created when missing.  Call with state_lock held and state set. */
static subject_entry *subject_get(const char *subject)
{
    subject_entry *e;
    size_t i;

    for (i = 0; i < state->n_subjects; i++)
        if (strcmp(state->subjects[i].subject, subject) == 0)
            return &state->subjects[i];
    state->subjects =
        chan_xreallocarray(state->subjects, state->n_subjects + 1, sizeof(*state->subjects));
    e = &state->subjects[state->n_subjects++];
    memset(e, 0, sizeof(*e));
    e->subject = chan_xstrdup(subject);
    return e;
}

/* The method as a label: the usual ones as they are, anything else "other" (bounded series). */
static const char *known_method(const char *method)
{
    static const char *const methods[] = {"GET",    "HEAD",  "POST",   "PUT",
                                          "DELETE", "PATCH", "OPTIONS"};
    size_t i;

    for (i = 0; method && i < CHAN_ARRAY_SIZE(methods); i++)
        if (strcmp(method, methods[i]) == 0)
            return methods[i];
    return "other";
}

void chand_metrics_observe_request(void *ctx, const char *method, const char *route,
                                   unsigned int status, double duration_ms)
{
    request_batch *b = thread_batch;

    (void)ctx;
    if (b == NULL) {
        b = chan_xcalloc(1, sizeof(*b));
        pthread_mutex_init(&b->lock, NULL);
        pthread_mutex_lock(&batches_lock);
        b->next = batches;
        batches = b;
        pthread_mutex_unlock(&batches_lock);
        thread_batch = b;
    }
    pthread_mutex_lock(&b->lock);
    b->seen[b->n].method = known_method(method);
    b->seen[b->n].route = route;
    b->seen[b->n].status = status;
    b->seen[b->n].seconds = duration_ms / 1000.0;
    if (++b->n == REQUEST_BATCH)
        batch_flush_locked(b);
    pthread_mutex_unlock(&b->lock);
}

void chand_metrics_schema_outcome(const char *subject, bool compatible)
{
    subject_entry *e;

    if (subject == NULL)
        return;
    pthread_mutex_lock(&state_lock);
    if (state != NULL) {
        e = subject_get(subject);
        if (compatible)
            e->compatible += 1;
        else
            e->incompatible += 1;
        e->versions_known = false;
        e->chain_known = false;
        e->generation++;
    }
    pthread_mutex_unlock(&state_lock);
}

void chand_metrics_schema_check(const char *subject, bool compatible)
{
    subject_entry *e;

    if (subject == NULL)
        return;
    pthread_mutex_lock(&state_lock);
    if (state != NULL) {
        e = subject_get(subject);
        if (compatible)
            e->check_compatible += 1;
        else
            e->check_incompatible += 1;
    }
    pthread_mutex_unlock(&state_lock);
}

void chand_metrics_subject_changed(const char *subject)
{
    subject_entry *e;
    size_t i;

    pthread_mutex_lock(&state_lock);
    if (state != NULL && subject != NULL) {
        e = subject_get(subject);
        e->versions_known = false;
        e->chain_known = false;
        e->generation++;
    } else if (state != NULL) {
        for (i = 0; i < state->n_subjects; i++) {
            state->subjects[i].chain_known = false;
            state->subjects[i].generation++;
        }
    }
    pthread_mutex_unlock(&state_lock);
}

void chand_metrics_reconcile_run(bool ok)
{
    pthread_mutex_lock(&state_lock);
    if (state != NULL) {
        chan_metric_add(state->reconcile_runs, NULL, 1);
        if (!ok)
            chan_metric_add(state->reconcile_errors, NULL, 1);
    }
    pthread_mutex_unlock(&state_lock);
}

void chand_metrics_webhook_delivery(const char *result)
{
    const char *labels[1] = {result};

    pthread_mutex_lock(&state_lock);
    if (state != NULL)
        chan_metric_add(state->webhook_deliveries, labels, 1);
    pthread_mutex_unlock(&state_lock);
}

void chand_metrics_reply_cache(uint64_t hits, uint64_t misses, size_t bytes, size_t entries)
{
    pthread_mutex_lock(&state_lock);
    if (state != NULL) {
        if (hits > state->reply_hits_seen)
            chan_metric_add(state->reply_cache_hits, NULL, (double)(hits - state->reply_hits_seen));
        else
            chan_metric_add(state->reply_cache_hits, NULL, 0);
        if (misses > state->reply_misses_seen)
            chan_metric_add(state->reply_cache_misses, NULL,
                            (double)(misses - state->reply_misses_seen));
        else
            chan_metric_add(state->reply_cache_misses, NULL, 0);
        state->reply_hits_seen = hits > state->reply_hits_seen ? hits : state->reply_hits_seen;
        state->reply_misses_seen =
            misses > state->reply_misses_seen ? misses : state->reply_misses_seen;
        chan_metric_set(state->reply_cache_bytes, NULL, (double)bytes);
        chan_metric_set(state->reply_cache_entries, NULL, (double)entries);
    }
    pthread_mutex_unlock(&state_lock);
}

void chand_metrics_requests_in_flight(unsigned int n)
{
    pthread_mutex_lock(&state_lock);
    if (state != NULL)
        chan_metric_set(state->http_in_flight, NULL, (double)n);
    pthread_mutex_unlock(&state_lock);
}

void chand_metrics_topics(bool known, const char *const *topics, size_t n)
{
    size_t i;

    pthread_mutex_lock(&state_lock);
    if (state != NULL) {
        for (i = 0; i < state->n_topics; i++)
            free(state->topics[i]);
        free(state->topics);
        state->topics = NULL;
        state->n_topics = 0;
        state->topics_reported = true;
        state->topics_known = known;
        if (known && n > 0) {
            state->topics = chan_xcalloc(n, sizeof(*state->topics));
            for (i = 0; i < n; i++)
                state->topics[i] = chan_xstrdup(topics[i]);
            state->n_topics = n;
        }
    }
    pthread_mutex_unlock(&state_lock);
}

void chand_metrics_acl_coverage(bool known, size_t covered, size_t principals)
{
    pthread_mutex_lock(&state_lock);
    if (state != NULL) {
        state->acl_known = known;
        state->acl_covered = covered;
        state->acl_principals = principals;
    }
    pthread_mutex_unlock(&state_lock);
}

void chand_metrics_producer_mismatch(const char *channel)
{
    const char *labels[1];

    if (channel == NULL)
        return;
    labels[0] = channel;
    pthread_mutex_lock(&state_lock);
    if (state != NULL)
        chan_metric_add(state->producer_mismatch, labels, 1);
    pthread_mutex_unlock(&state_lock);
}

/* ------------------------------------------------------------------ */
/* Scrapes                                                             */
/* ------------------------------------------------------------------ */

/* Effective compatibility level of subject: its own, else the global one, else the default. */
static int effective_mode(chan_compat_mode *out, chan_store *store, const char *subject,
                          const chand_config *config, chan_error *err)
{
    char *level = NULL;
    int error;

    error = chan_store_config_get(store, &level, subject, err);
    if (error == CHAN_ENOTFOUND)
        error = chan_store_config_get(store, &level, NULL, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        error = 0;
        level = chan_xstrdup(config->default_compatibility);
    }
    if (error < 0)
        return error;
    if (chan_compat_mode_parse(out, level) != 0)
        error = chan_error_set(err, CHAN_EINTERNAL, "unknown compatibility level \"%s\"", level);
    free(level);
    return error;
}

/*
** Share of consecutive pairs of live versions of subject (oldest first)
** whose newer version counts as compatible with the older
** (chan_policy_version_compatible under `mode` and `floor`).  1 with fewer
** than two versions.  A stored schema that does not parse makes its pairs fail.
*/
static int chain_rate(double *out, chan_store *store, const char *subject, chan_compat_mode mode,
                      chan_compat_mode floor, chan_error *err)
{
    int *numbers = NULL;
    size_t n = 0, i, passed = 0;
    chan_avro_schema **schemas = NULL;
    int error;

    *out = 1.0;
    error = chan_store_subject_versions(store, &numbers, &n, subject, false, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        return 0;
    }
    if (error < 0)
        return error;
    schemas = chan_xcalloc(n + 1, sizeof(*schemas));
    for (i = 0; i < n; i++) {
        chan_schema_version *v = NULL;

        error = chan_store_version_get(store, &v, subject, numbers[i], false, err);
        if (error == CHAN_ENOTFOUND) { /* deleted meanwhile */
            chan_error_clear(err);
            error = 0;
            continue;
        }
        if (error < 0)
            goto cleanup;
        if (chan_avro_schema_parse(&schemas[i], v->schema, strlen(v->schema), NULL) < 0)
            schemas[i] = NULL;
        chan_schema_version_free(v);
    }
    for (i = 1; i < n; i++) {
        if (chan_policy_version_compatible(schemas[i], schemas[i - 1], mode, floor))
            passed++;
    }
    if (n >= 2)
        *out = (double)passed / (double)(n - 1);

cleanup:
    for (i = 0; schemas && i < n; i++)
        chan_avro_schema_free(schemas[i]);
    free(schemas);
    free(numbers);
    return error;
}

/* Copy of the cached figures of subject (zeroed when unknown).  Takes state_lock. */
static subject_entry subject_snapshot(const char *subject)
{
    subject_entry copy;
    size_t i;

    memset(&copy, 0, sizeof(copy));
    pthread_mutex_lock(&state_lock);
    for (i = 0; state && i < state->n_subjects; i++) {
        if (strcmp(state->subjects[i].subject, subject) == 0) {
            copy = state->subjects[i];
            copy.subject = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&state_lock);
    return copy;
}

/* Total live versions of every subject, from the cache or the store. */
static int count_versions(double *out, chan_store *store, int64_t now, chan_error *err)
{
    char **subjects = NULL;
    size_t n = 0, i;
    double total = 0;
    int error;

    if ((error = chan_store_subject_list(store, &subjects, &n, false, err)) < 0)
        return error;
    for (i = 0; i < n; i++) {
        subject_entry e = subject_snapshot(subjects[i]);
        int *numbers = NULL;
        size_t n_numbers = 0;

        if (e.versions_known && now - e.versions_at < VERSIONS_TTL) {
            total += (double)e.n_versions;
            continue;
        }
        error = chan_store_subject_versions(store, &numbers, &n_numbers, subjects[i], false, err);
        free(numbers);
        if (error == CHAN_ENOTFOUND) {
            chan_error_clear(err);
            error = 0;
            n_numbers = 0;
        }
        if (error < 0)
            goto cleanup;
        total += (double)n_numbers;
        pthread_mutex_lock(&state_lock);
        if (state) {
            subject_entry *s = subject_get(subjects[i]);

            if (s->generation == e.generation) {
                s->versions_known = true;
                s->versions_at = now;
                s->n_versions = n_numbers;
            }
        }
        pthread_mutex_unlock(&state_lock);
    }
    *out = total;

cleanup:
    chan_store_string_list_free(subjects, n);
    return error;
}

/* Set the compatibility figures of one channel. */
static int channel_compat(const chan_channel_record *rec, chan_store *store,
                          const chand_config *config, int64_t now, chan_error *err)
{
    const char *ch[1] = {rec->name};
    const char *ok[2] = {rec->name, "compatible"};
    const char *bad[2] = {rec->name, "incompatible"};
    subject_entry e;
    chan_compat_mode floor = config->min_compatibility;
    chan_compat_mode mode;
    double rate;
    int error;

    if (rec->subject == NULL)
        return 0;
    e = subject_snapshot(rec->subject);
    chan_metric_add(state->registrations, ok, e.compatible);
    chan_metric_add(state->registrations, bad, e.incompatible);
    chan_metric_add(state->compat_checks, ok, e.check_compatible);
    chan_metric_add(state->compat_checks, bad, e.check_incompatible);
    if (e.chain_known && now - e.chain_at < CHAIN_TTL) {
        chan_metric_set(state->compat_rate, ch, e.chain_rate);
        return 0;
    }
    if ((error = effective_mode(&mode, store, rec->subject, config, err)) < 0)
        return error;
    if ((error = chain_rate(&rate, store, rec->subject, mode, floor, err)) < 0)
        return error;
    chan_metric_set(state->compat_rate, ch, rate);
    pthread_mutex_lock(&state_lock);
    if (state) {
        subject_entry *s = subject_get(rec->subject);

        /* A change that arrived meanwhile makes the figure out of date. */
        if (s->generation == e.generation) {
            s->chain_known = true;
            s->chain_at = now;
            s->chain_rate = rate;
        }
    }
    pthread_mutex_unlock(&state_lock);
    return 0;
}

/*
** Is every schema version the channel's contract lists registered (live or
** soft-deleted) in its subject?  A contract listing none counts when the
** subject has any version.
*/
static int channel_registered(bool *out, chan_store *store, const chan_channel_record *rec,
                              chan_error *err)
{
    int *declared = NULL, *stored = NULL;
    size_t n_declared, n_stored = 0, i, k;
    int error;

    *out = false;
    if (rec->subject == NULL)
        return 0;
    n_declared = chan_channel_record_contract_versions(&declared, rec);
    error = chan_store_subject_versions(store, &stored, &n_stored, rec->subject, true, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        error = 0;
        n_stored = 0;
    }
    if (error < 0)
        goto cleanup;
    *out = n_declared > 0 || n_stored > 0;
    for (i = 0; i < n_declared && *out; i++) {
        bool found = false;

        for (k = 0; k < n_stored && !found; k++)
            found = stored[k] == declared[i];
        *out = found;
    }

cleanup:
    free(declared);
    free(stored);
    return error;
}

/*
** The three checklist figures of `chanctl check`, as the daemon sees them:
** schema registration rate and ACL coverage count the unmanaged topics of
** the last topic read against them; consumer completeness is the share of
** registrations that are approved and not stale.  Caller holds scrape_lock.
*/
static int checklist(chan_store *store, const chand_config *config,
                     const chan_channel_record *const *list, size_t n, int64_t now, chan_error *err)
{
    chan_topic_filter filter = {
        (const char *const *)config->topic_include_list, config->n_topic_include,
        (const char *const *)config->topic_exclude_list, config->n_topic_exclude};
    const char **unmanaged = NULL;
    size_t n_unmanaged = 0, registered = 0, consumers = 0, complete = 0, i, k;
    int64_t max_age = config->registration_max_age_days * 86400;
    bool topics_known, acl_known;
    size_t covered, principals;
    int error = 0;

    pthread_mutex_lock(&state_lock);
    topics_known = state->topics_reported && state->topics_known;
    if (topics_known)
        chan_policy_unmanaged_topics(&unmanaged, &n_unmanaged, (const char *const *)state->topics,
                                     state->n_topics, list, n, &filter);
    acl_known = state->acl_known;
    covered = state->acl_covered;
    principals = state->acl_principals;
    if (topics_known) {
        size_t in_scope = 0;

        for (i = 0; i < state->n_topics; i++)
            in_scope += chan_policy_topic_in_scope(&filter, state->topics[i]);
        chan_metric_set(state->topics_discovered, NULL, (double)in_scope);
        chan_metric_set(state->unmanaged_topics, NULL, (double)n_unmanaged);
    }
    pthread_mutex_unlock(&state_lock);
    free(unmanaged); /* only the count is kept: the pointers were into state->topics */

    for (i = 0; i < n; i++) {
        bool ok = false;

        if ((error = channel_registered(&ok, store, list[i], err)) < 0)
            return error;
        registered += ok;
        for (k = 0; k < list[i]->n_consumers; k++) {
            const chan_consumer_record *c = &list[i]->consumers[k];
            int64_t since = c->renewed_at > 0 ? c->renewed_at : c->registered_at;

            consumers++;
            complete +=
                c->state == CHAN_CONSUMER_APPROVED && (max_age <= 0 || now - since <= max_age);
        }
    }
    chan_metric_set(state->check_schema_rate, NULL,
                    n + n_unmanaged > 0 ? (double)registered / (double)(n + n_unmanaged) : 1.0);
    chan_metric_set(state->check_consumers, NULL,
                    consumers > 0 ? (double)complete / (double)consumers : 1.0);
    if (acl_known)
        chan_metric_set(state->check_acl, NULL,
                        principals + n_unmanaged > 0
                            ? (double)covered / (double)(principals + n_unmanaged)
                            : 1.0);
    return 0;
}

/* The parsed-schema cache's counters and size (schema_cache.h), under scrape_lock. */
static void schema_cache_figures(void)
{
    static const char *const kinds[2] = {"stored", "request"};
    size_t entries = 0, bytes = 0;

    for (int k = 0; k < 2; k++) {
        const char *labels[1] = {kinds[k]};
        uint64_t hits = 0, misses = 0;

        chand_schema_cache_kind_stats(k == 1, &hits, &misses);
        chan_metric_add(state->schema_cache_hits, labels,
                        (double)(hits - state->cache_hits_seen[k]));
        chan_metric_add(state->schema_cache_misses, labels,
                        (double)(misses - state->cache_misses_seen[k]));
        state->cache_hits_seen[k] = hits;
        state->cache_misses_seen[k] = misses;
    }
    chand_schema_cache_stats(NULL, NULL, &entries, &bytes);
    chan_metric_set(state->schema_cache_entries, NULL, (double)entries);
    chan_metric_set(state->schema_cache_bytes, NULL, (double)bytes);
}

int chand_metrics_render(chan_buf *out, chan_store *store, const chand_config *config,
                         chan_error *err)
{
    chan_channel_filter filter = CHAN_CHANNEL_FILTER_INIT;
    chan_channel_record **list = NULL;
    size_t n = 0, i, k, n_consumers = 0;
    int64_t now = (int64_t)time(NULL);
    double versions = 0;
    int error = 0;

    flush_requests(false);
    pthread_mutex_lock(&scrape_lock);
    if (state == NULL) {
        error = chan_error_set(err, CHAN_EINTERNAL, "metrics are not initialised");
        goto cleanup;
    }
    if ((error = chan_store_channel_list(store, &list, &n, &filter, err)) < 0)
        goto cleanup;
    if ((error = count_versions(&versions, store, now, err)) < 0)
        goto cleanup;

    chan_metric_family_reset(state->compat_rate);
    chan_metric_family_reset(state->registrations);
    chan_metric_family_reset(state->compat_checks);
    chan_metric_family_reset(state->topics_discovered);
    chan_metric_family_reset(state->unmanaged_topics);
    chan_metric_family_reset(state->check_acl);
    chan_metric_family_reset(state->age_days);
    for (i = 0; i < n; i++) {
        const chan_channel_record *rec = list[i];
        const char *ch[1] = {rec->name};

        for (k = 0; k < rec->n_consumers; k++) {
            const chan_consumer_record *c = &rec->consumers[k];
            const char *labels[2] = {rec->name, c->name};
            int64_t since = chan_consumer_registration_time(c);
            double age = since > 0 && now > since ? (double)(now - since) / SECONDS_PER_DAY : 0;

            chan_metric_set(state->age_days, labels, age);
        }
        n_consumers += rec->n_consumers;
        /* Every managed channel has the series, 0 until the sampler counts. */
        chan_metric_add(state->producer_mismatch, ch, 0);
        if ((error = channel_compat(rec, store, config, now, err)) < 0)
            goto cleanup;
    }
    if ((error = checklist(store, config, (const chan_channel_record *const *)list, n, now, err)) <
        0)
        goto cleanup;
    chan_metric_set(state->channels, NULL, (double)n);
    chan_metric_set(state->consumers, NULL, (double)n_consumers);
    chan_metric_set(state->schema_versions, NULL, versions);
    schema_cache_figures();
    chan_metrics_render(state->registry, out);

cleanup:
    pthread_mutex_unlock(&scrape_lock);
    chan_channel_record_list_free(list, n);
    return error;
}
