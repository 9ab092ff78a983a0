/*
 * producer_check.c - chanregd's producer check: the thread that keeps a
 * chan_kafka_sampler's contracts in step with the store and polls it,
 * counting every mismatch in producer_schema_version_mismatch_count{channel}
 * and logging it (one line per reason per minute at most, with the number of
 * lines left out since the last one).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/kafka.h"
#include "chan/store.h"

#include "config.h"
#include "daemon_metrics.h"
#include "producer_check.h"

#define MODULE       "sampler"
#define POLL_MS      200 /* longest poll: how soon a stop request is seen */
#define LOG_EVERY_S  60  /* one mismatch line per reason per period */
#define STORE_WARN_S 60  /* one store warning per period */
#define SHUTDOWN_CAP 5000

struct chand_producer_check {
    const chand_config *config;
    chan_store *store;
    chan_kafka_sampler_options opts;
    int64_t interval_ms;

    /* Owned by the thread while it runs. */
    chan_kafka_sampler *sampler;
    int64_t last_log_s[CHAN_KAFKA_VERDICT_COUNT];
    uint64_t suppressed[CHAN_KAFKA_VERDICT_COUNT];
    int64_t last_store_warn_s;
    uint64_t signature; /* of the contracts last handed to the sampler */
    bool have_signature;

    pthread_mutex_t mu; /* guards stop, done */
    pthread_cond_t cv;  /* CLOCK_MONOTONIC */
    pthread_t thread;
    bool started;
    bool stop;
    bool done;
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int chand_producer_check_new(chand_producer_check **out, const chand_config *config,
                             chan_store *store, chan_error *err)
{
    int error = 0;
    chand_producer_check *pc = NULL;
    pthread_condattr_t cattr;

    *out = NULL;
    if (!config->producer_check)
        return 0;
    if (config->kafka_bootstrap == NULL)
        return chan_error_set(err, CHAN_EINVALID, "--producer-check needs --kafka-bootstrap");

    pc = chan_xcalloc(1, sizeof(*pc));
    pc->config = config;
    pc->store = store;
    pc->interval_ms = config->producer_check_interval * 1000;
    pthread_mutex_init(&pc->mu, NULL);
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&pc->cv, &cattr);
    pthread_condattr_destroy(&cattr);
    pc->opts = (chan_kafka_sampler_options)CHAN_KAFKA_SAMPLER_OPTIONS_INIT;
    pc->opts.bootstrap_servers = config->kafka_bootstrap;
    pc->opts.config = (const char *const *)config->kafka_properties.pairs;
    pc->opts.n_config = config->kafka_properties.n;
    pc->opts.sample_every = (unsigned int)config->producer_check_sample;
    pc->opts.max_messages_per_s = (unsigned int)config->producer_check_max_rate;
    pc->opts.timeout_ms = (int)config->kafka_timeout_ms;
    /* Create the consumer now, so that a bad property fails the start-up. */
    if ((error = chan_kafka_sampler_open(&pc->sampler, &pc->opts, err)) < 0)
        goto cleanup;
    chan_log(CHAN_LOG_INFO, MODULE,
             "producer check on bootstrap=%s sample=1/%lld max_rate=%lld interval_s=%lld",
             config->kafka_bootstrap, (long long)config->producer_check_sample,
             (long long)config->producer_check_max_rate,
             (long long)config->producer_check_interval);
    *out = pc;
    pc = NULL;

cleanup:
    chand_producer_check_free(pc);
    return error;
}

/* ------------------------------------------------------------------ */
/* Contracts from the store                                            */
/* ------------------------------------------------------------------ */

/* A contract under construction (owned strings and arrays). */
typedef struct built_contract {
    char *channel;
    chan_kafka_contract_version *versions;
    size_t n;
} built_contract;

static void built_free(built_contract *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(list[i].channel);
        free(list[i].versions);
    }
    free(list);
}

/*
** Fill b with the versions of one channel and their schema ids.  Versions
** the contract lists but the store does not have are left out (the channel
** API refuses such contracts, so this only happens after a permanent delete).
*/
static int build_contract(built_contract *b, chand_producer_check *pc,
                          const chan_channel_record *rec, chan_error *err)
{
    int error = 0;
    int *numbers = NULL;
    size_t n = 0, i;

    b->channel = chan_xstrdup(rec->name);
    n = chan_channel_record_contract_versions(&numbers, rec);
    if (n == 0 && rec->subject) {
        /* A document without versions: every live version of the subject. */
        error = chan_store_subject_versions(pc->store, &numbers, &n, rec->subject, false, err);
        if (error == CHAN_ENOTFOUND) {
            chan_error_clear(err);
            error = 0;
            n = 0;
        }
        if (error < 0)
            goto cleanup;
    }
    b->versions = chan_xcalloc(n ? n : 1, sizeof(*b->versions));
    for (i = 0; i < n && rec->subject; i++) {
        chan_schema_version *v = NULL;

        error = chan_store_version_get(pc->store, &v, rec->subject, numbers[i], true, err);
        if (error == CHAN_ENOTFOUND) {
            chan_log_debug(MODULE, "producer check: channel=%s subject=%s version=%d not found",
                           rec->name, rec->subject, numbers[i]);
            chan_error_clear(err);
            error = 0;
            continue;
        }
        if (error < 0)
            goto cleanup;
        b->versions[b->n].version = v->version;
        b->versions[b->n].schema_id = v->id;
        b->n++;
        chan_schema_version_free(v);
    }

cleanup:
    free(numbers);
    return error;
}

/* FNV-1a over the channels, versions and ids, to log only changes. */
static uint64_t contracts_signature(const chan_kafka_contract *c, size_t n, size_t *out_versions)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i, k, total = 0;

#define MIX(byte) (h = (h ^ (uint64_t)(unsigned char)(byte)) * 1099511628211ULL)
    for (i = 0; i < n; i++) {
        const char *p;

        for (p = c[i].channel; *p; p++)
            MIX(*p);
        MIX(0);
        for (k = 0; k < c[i].n_versions; k++) {
            uint64_t v = ((uint64_t)(uint32_t)c[i].versions[k].version << 32) ^
                         (uint64_t)c[i].versions[k].schema_id;
            int b;

            for (b = 0; b < 8; b++)
                MIX(v >> (8 * b));
        }
        if (c[i].has_contract_version) {
            int64_t parts[3] = {c[i].contract_version.major, c[i].contract_version.minor,
                                c[i].contract_version.patch};

            for (k = 0; k < 3; k++) {
                int b;

                for (b = 0; b < 8; b++)
                    MIX((uint64_t)parts[k] >> (8 * b));
            }
        }
        MIX(0xff);
        total += c[i].n_versions;
    }
#undef MIX
    *out_versions = total;
    return h;
}

/* Read every channel's contract and hand them to the sampler. */
static int refresh(chand_producer_check *pc, chan_error *err)
{
    int error = 0;
    chan_channel_record **list = NULL;
    built_contract *built = NULL;
    chan_kafka_contract *contracts = NULL;
    size_t n = 0, n_built = 0, n_versions = 0, i;
    uint64_t sig;

    if ((error = chan_store_channel_list(pc->store, &list, &n, NULL, err)) < 0)
        goto cleanup;
    built = chan_xcalloc(n ? n : 1, sizeof(*built));
    contracts = chan_xcalloc(n ? n : 1, sizeof(*contracts));
    for (i = 0; i < n; i++) {
        n_built++;
        if ((error = build_contract(&built[i], pc, list[i], err)) < 0) {
            chan_error_prefix(err, "channel %s", list[i]->name);
            goto cleanup;
        }
        contracts[i].channel = built[i].channel;
        contracts[i].versions = built[i].versions;
        contracts[i].n_versions = built[i].n;
        /* A stored version that does not parse accepts no "v..." header. */
        contracts[i].has_contract_version =
            list[i]->contract_version != NULL &&
            chan_policy_contract_version_parse(&contracts[i].contract_version,
                                               list[i]->contract_version,
                                               strlen(list[i]->contract_version)) == 0;
    }
    sig = contracts_signature(contracts, n, &n_versions);
    if (!pc->have_signature || sig != pc->signature)
        chan_log(CHAN_LOG_INFO, MODULE,
                 "producer check: contracts updated channels=%zu versions=%zu", n, n_versions);
    pc->signature = sig;
    pc->have_signature = true;
    error = chan_kafka_sampler_set_contracts(pc->sampler, contracts, n, err);

cleanup:
    free(contracts);
    built_free(built, n_built);
    chan_channel_record_list_free(list, n);
    return error;
}

/* ------------------------------------------------------------------ */
/* The thread                                                          */
/* ------------------------------------------------------------------ */

static void on_mismatch(void *ctx, const chan_kafka_mismatch *mm)
{
    chand_producer_check *pc = ctx;
    int64_t now = mono_ms() / 1000;
    int v = (int)mm->verdict;

    chand_metrics_producer_mismatch(mm->channel);
    if (v < 0 || v >= CHAN_KAFKA_VERDICT_COUNT)
        return;
    if (pc->last_log_s[v] != 0 && now - pc->last_log_s[v] < LOG_EVERY_S) {
        pc->suppressed[v]++;
        return;
    }
    chan_log(CHAN_LOG_WARN, MODULE,
             "producer check: message outside its contract channel=%s reason=%s partition=%d "
             "offset=%lld header_version=%lld schema_id=%lld not_logged_since_last=%llu",
             mm->channel, chan_kafka_verdict_name(mm->verdict), (int)mm->partition,
             (long long)mm->offset, (long long)mm->version, (long long)mm->schema_id,
             (unsigned long long)pc->suppressed[v]);
    pc->last_log_s[v] = now;
    pc->suppressed[v] = 0;
}

static bool stop_requested(chand_producer_check *pc)
{
    bool stop;

    pthread_mutex_lock(&pc->mu);
    stop = pc->stop;
    pthread_mutex_unlock(&pc->mu);
    return stop;
}

static void *thread_main(void *arg)
{
    chand_producer_check *pc = arg;
    int64_t next_refresh = 0;
    chan_error err = CHAN_ERROR_INIT;

    while (!stop_requested(pc)) {
        if (mono_ms() >= next_refresh) {
            if (refresh(pc, &err) < 0) {
                int64_t now = mono_ms() / 1000;

                if (pc->last_store_warn_s == 0 || now - pc->last_store_warn_s >= STORE_WARN_S) {
                    chan_log(CHAN_LOG_WARN, MODULE, "producer check: refresh failed: %s",
                             err.message);
                    pc->last_store_warn_s = now;
                }
            }
            chan_error_clear(&err);
            next_refresh = mono_ms() + pc->interval_ms;
        }
        (void)chan_kafka_sampler_poll(NULL, pc->sampler, POLL_MS, on_mismatch, pc, &err);
        chan_error_clear(&err);
    }
    /* Close the consumer here, so that a slow close never blocks main. */
    chan_kafka_sampler_free(pc->sampler);
    pc->sampler = NULL;
    pthread_mutex_lock(&pc->mu);
    pc->done = true;
    pthread_cond_broadcast(&pc->cv);
    pthread_mutex_unlock(&pc->mu);
    return NULL;
}

int chand_producer_check_start(chand_producer_check *pc, chan_error *err)
{
    int rc;

    if (pc == NULL)
        return 0;
    rc = pthread_create(&pc->thread, NULL, thread_main, pc);
    if (rc != 0)
        return chan_error_set(err, CHAN_EINTERNAL, "producer check: cannot start thread: %s",
                              strerror(rc));
    pc->started = true;
    return 0;
}

bool chand_producer_check_stop(chand_producer_check *pc, int64_t timeout_ms)
{
    struct timespec ts;
    bool done;

    if (pc == NULL || !pc->started)
        return true;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000);
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pc->mu);
    pc->stop = true;
    while (!pc->done) {
        if (pthread_cond_timedwait(&pc->cv, &pc->mu, &ts) == ETIMEDOUT)
            break;
    }
    done = pc->done;
    pthread_mutex_unlock(&pc->mu);
    if (done) {
        pthread_join(pc->thread, NULL);
        pc->started = false;
    }
    return done;
}

void chand_producer_check_free(chand_producer_check *pc)
{
    if (pc == NULL)
        return;
    if (pc->started && !chand_producer_check_stop(pc, SHUTDOWN_CAP))
        return; /* the thread still uses it: left to the process exit */
    chan_kafka_sampler_free(pc->sampler);
    pthread_cond_destroy(&pc->cv);
    pthread_mutex_destroy(&pc->mu);
    free(pc);
}
