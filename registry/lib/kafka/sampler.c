/*
 * sampler.c - the producer check: a pure classifier that tells whether a
 * message's x-channel-contract-version header and Confluent wire-format
 * schema id belong to its channel's contract, and a librdkafka consumer
 * that reads the managed topics from their end (direct assignment, no group
 * membership, no commits), samples 1 message in N within a messages/s
 * budget and reports every mismatch through a callback.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan/common.h"
#include "chan/kafka.h"

#include "kafka_int.h"

#define DEFAULT_GROUP_ID     "chanreg-sampler"
#define DEFAULT_SAMPLE_EVERY 100
#define DEFAULT_MAX_PER_S    1000
#define QUEUED_MAX_KBYTES    "4096" /* prefetched messages kept in memory, KiB */
#define ERROR_LOG_EVERY_S    60     /* at most one warning per period for consumer errors */
#define LOG_MODULE           "sampler"

/* ------------------------------------------------------------------ */
/* Classification                                                      */
/* ------------------------------------------------------------------ */

/* The contract's entry for version, or NULL. */
static const chan_kafka_contract_version *find_version(const chan_kafka_contract *contract,
                                                       int64_t version)
{
    size_t i;

    for (i = 0; i < contract->n_versions; i++) {
        if ((int64_t)contract->versions[i].version == version)
            return &contract->versions[i];
    }
    return NULL;
}

static bool has_schema_id(const chan_kafka_contract *contract, int64_t id)
{
    size_t i;

    for (i = 0; i < contract->n_versions; i++) {
        if (contract->versions[i].schema_id == id)
            return true;
    }
    return false;
}

chan_kafka_verdict chan_kafka_classify_message(int64_t *out_version, int64_t *out_schema_id,
                                               const chan_kafka_contract *contract,
                                               const chan_kafka_message_view *msg)
{
    const unsigned char *value = msg->value;
    const chan_kafka_contract_version *declared;
    chan_version_header_kind kind = CHAN_VERSION_HEADER_INVALID;
    chan_semver stamped;
    int64_t version = -1, id = -1;

    if (msg->has_version_header)
        kind = chan_policy_version_header_parse(&version, &stamped, msg->version_header,
                                                msg->version_header_len);
    if (value != NULL && msg->value_len >= CHAN_KAFKA_WIRE_PREFIX_LEN &&
        value[0] == CHAN_KAFKA_WIRE_MAGIC)
        id = (int64_t)(((uint32_t)value[1] << 24) | ((uint32_t)value[2] << 16) |
                       ((uint32_t)value[3] << 8) | (uint32_t)value[4]);
    if (out_version)
        *out_version = version;
    if (out_schema_id)
        *out_schema_id = id;

    if (value == NULL)
        return CHAN_KAFKA_VERDICT_TOMBSTONE;
    if (!msg->has_version_header)
        return CHAN_KAFKA_VERDICT_MISSING_HEADER;
    if (kind == CHAN_VERSION_HEADER_INVALID)
        return CHAN_KAFKA_VERDICT_BAD_HEADER;
    if (kind == CHAN_VERSION_HEADER_CONTRACT) {
        if (contract == NULL || !contract->has_contract_version ||
            !chan_policy_contract_version_accepts(&contract->contract_version, &stamped))
            return CHAN_KAFKA_VERDICT_UNKNOWN_VERSION;
        if (id < 0)
            return CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT;
        return has_schema_id(contract, id) ? CHAN_KAFKA_VERDICT_OK
                                           : CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID;
    }
    declared = contract ? find_version(contract, version) : NULL;
    if (declared == NULL)
        return CHAN_KAFKA_VERDICT_UNKNOWN_VERSION;
    if (id < 0)
        return CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT;
    if (declared->schema_id == id)
        return CHAN_KAFKA_VERDICT_OK;
    if (has_schema_id(contract, id))
        return CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH;
    return CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID;
}

const char *chan_kafka_verdict_name(chan_kafka_verdict verdict)
{
    switch (verdict) {
    case CHAN_KAFKA_VERDICT_OK:
        return "ok";
    case CHAN_KAFKA_VERDICT_TOMBSTONE:
        return "tombstone";
    case CHAN_KAFKA_VERDICT_MISSING_HEADER:
        return "missing_header";
    case CHAN_KAFKA_VERDICT_BAD_HEADER:
        return "bad_header";
    case CHAN_KAFKA_VERDICT_UNKNOWN_VERSION:
        return "unknown_version";
    case CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT:
        return "not_wire_format";
    case CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID:
        return "unknown_schema_id";
    case CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH:
        return "version_id_mismatch";
    }
    return "unknown";
}

bool chan_kafka_verdict_is_mismatch(chan_kafka_verdict verdict)
{
    return verdict >= CHAN_KAFKA_VERDICT_MISSING_HEADER &&
           verdict <= CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH;
}

int chan_kafka_stamp_contract_version(struct rd_kafka_headers_s *headers,
                                      const char *contract_version, chan_error *err)
{
    const char *v = contract_version;
    chan_semver parsed;
    char value[40];
    int n;

    assert(headers != NULL);
    if (v != NULL && v[0] == 'v')
        v++;
    if (v == NULL || chan_policy_contract_version_parse(&parsed, v, strlen(v)) < 0)
        return chan_error_set(err, CHAN_EINVALID,
                              "'%s' is not a contract version MAJOR.MINOR.PATCH",
                              contract_version ? contract_version : "(null)");
    n = snprintf(value, sizeof(value), "v%lld.%lld.%lld", (long long)parsed.major,
                 (long long)parsed.minor, (long long)parsed.patch);
    assert(n > 0 && (size_t)n < sizeof(value));
    rd_kafka_header_remove(headers, CHAN_KAFKA_VERSION_HEADER); /* NOENT is fine */
    if (rd_kafka_header_add(headers, CHAN_KAFKA_VERSION_HEADER, -1, value, n) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        return chan_error_set(err, CHAN_EINVALID, "the message's headers are read-only");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sampler                                                             */
/* ------------------------------------------------------------------ */

/* A contract as the sampler keeps it (owned copy). */
typedef struct contract_entry {
    char *channel;
    chan_kafka_contract_version *versions;
    size_t n_versions;
    bool has_contract_version;
    chan_semver contract_version;
} contract_entry;

/* A topic whose partitions [0, n_partitions) are assigned. */
typedef struct assigned_topic {
    char *name;
    int32_t n_partitions;
} assigned_topic;

struct chan_kafka_sampler {
    rd_kafka_t *rk;
    int timeout_ms;
    unsigned int sample_every;
    unsigned int max_per_s;
    contract_entry *contracts; /* sorted by channel */
    size_t n_contracts;
    assigned_topic *assigned;
    size_t n_assigned;
    uint64_t since_sample; /* messages read since the last one checked */
    int64_t window_s;      /* the second the budget counts */
    unsigned int window_read;
    int64_t last_error_log_s;
    pthread_mutex_t lock; /* guards stats */
    chan_kafka_sampler_stats stats;
};

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int chan_kafka_sampler_open(chan_kafka_sampler **out, const chan_kafka_sampler_options *opts,
                            chan_error *err)
{
    int error = 0;
    chan_kafka__client_conf cc;
    chan_kafka_sampler *s = NULL;
    chan_kafka__property fixed[] = {
        {"group.id", NULL}, /* set below */
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", "latest"},
        {"queued.max.messages.kbytes", QUEUED_MAX_KBYTES},
    };

    *out = NULL;
    if (opts == NULL || opts->version != CHAN_KAFKA_SAMPLER_OPTIONS_VERSION)
        return chan_error_set(err, CHAN_EINVALID, "kafka sampler: missing or unsupported options");
    fixed[0].value = opts->group_id ? opts->group_id : DEFAULT_GROUP_ID;
    cc = (chan_kafka__client_conf){
        .kind = CHAN_KAFKA__CLIENT_SAMPLER,
        .bootstrap_servers = opts->bootstrap_servers,
        .client_id = opts->client_id ? opts->client_id : DEFAULT_GROUP_ID,
        .timeout_ms = opts->timeout_ms,
        .fixed = fixed,
        .n_fixed = CHAN_ARRAY_SIZE(fixed),
        .config = opts->config,
        .n_config = opts->n_config,
    };
    if ((error = chan_kafka__client_check(&cc, err)) < 0)
        return error;

    s = chan_xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    s->timeout_ms = opts->timeout_ms ? opts->timeout_ms : CHAN_KAFKA__DEFAULT_TIMEOUT_MS;
    s->sample_every = opts->sample_every ? opts->sample_every : DEFAULT_SAMPLE_EVERY;
    s->max_per_s = opts->max_messages_per_s ? opts->max_messages_per_s : DEFAULT_MAX_PER_S;
    /* Check the first message read, then every sample_every-th. */
    s->since_sample = s->sample_every - 1;
    if ((error = chan_kafka__client_new(&s->rk, &cc, err)) < 0)
        goto cleanup;
    rd_kafka_poll_set_consumer(s->rk);
    *out = s;
    s = NULL;

cleanup:
    chan_kafka_sampler_free(s);
    return error;
}

static void contracts_free(contract_entry *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(list[i].channel);
        free(list[i].versions);
    }
    free(list);
}

static void assigned_free(assigned_topic *list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(list[i].name);
    free(list);
}

void chan_kafka_sampler_free(chan_kafka_sampler *s)
{
    rd_kafka_queue_t *q = NULL;
    rd_kafka_error_t *error;
    int64_t deadline;

    if (s == NULL)
        return;
    if (s->rk) {
        /* Close through a queue so that a cluster that does not answer
         * cannot hold shutdown beyond the timeout.  Nothing is committed. */
        q = rd_kafka_queue_new(s->rk);
        error = rd_kafka_consumer_close_queue(s->rk, q);
        if (error) {
            chan_log_debug(LOG_MODULE, "close: %s", rd_kafka_error_string(error));
            rd_kafka_error_destroy(error);
        } else {
            deadline = mono_ms() + s->timeout_ms;
            while (!rd_kafka_consumer_closed(s->rk) && mono_ms() < deadline) {
                rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 100);

                if (ev)
                    rd_kafka_event_destroy(ev);
            }
        }
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy_flags(s->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    }
    contracts_free(s->contracts, s->n_contracts);
    assigned_free(s->assigned, s->n_assigned);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int contract_cmp(const void *a, const void *b)
{
    return strcmp(((const contract_entry *)a)->channel, ((const contract_entry *)b)->channel);
}

/* bsearch comparator: a topic name against an entry. */
static int contract_key_cmp(const void *key, const void *entry)
{
    return strcmp(key, ((const contract_entry *)entry)->channel);
}

static const contract_entry *find_contract(const chan_kafka_sampler *s, const char *topic)
{
    if (s->n_contracts == 0)
        return NULL;
    return bsearch(topic, s->contracts, s->n_contracts, sizeof(*s->contracts), contract_key_cmp);
}

static assigned_topic *find_assigned(chan_kafka_sampler *s, const char *topic)
{
    size_t i;

    for (i = 0; i < s->n_assigned; i++) {
        if (strcmp(s->assigned[i].name, topic) == 0)
            return &s->assigned[i];
    }
    return NULL;
}

/* Unassign the partitions of assigned topics that no contract names any more. */
static void drop_left_topics(chan_kafka_sampler *s)
{
    rd_kafka_topic_partition_list_t *gone = rd_kafka_topic_partition_list_new(0);
    rd_kafka_error_t *error;
    size_t i, kept = 0;
    int32_t p;

    for (i = 0; i < s->n_assigned; i++) {
        assigned_topic *t = &s->assigned[i];

        if (find_contract(s, t->name)) {
            s->assigned[kept++] = *t;
            continue;
        }
        for (p = 0; p < t->n_partitions; p++)
            rd_kafka_topic_partition_list_add(gone, t->name, p);
        chan_log(CHAN_LOG_INFO, LOG_MODULE, "producer check: stopped watching topic=%s", t->name);
        free(t->name);
    }
    s->n_assigned = kept;
    if (gone->cnt > 0 && (error = rd_kafka_incremental_unassign(s->rk, gone)) != NULL) {
        chan_log(CHAN_LOG_WARN, LOG_MODULE, "producer check: unassign failed: %s",
                 rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    rd_kafka_topic_partition_list_destroy(gone);
}

/*
** Set the offset of every partition of list to its current end (the high
** watermark); partitions whose end cannot be read start at the logical end
** (resolved by librdkafka in the background).
*/
static void resolve_end_offsets(chan_kafka_sampler *s, rd_kafka_topic_partition_list_t *list)
{
    rd_kafka_resp_err_t code;
    int i;

    for (i = 0; i < list->cnt; i++)
        list->elems[i].offset = RD_KAFKA_OFFSET_END; /* a timestamp of -1 asks for the end */
    code = rd_kafka_offsets_for_times(s->rk, list, s->timeout_ms);
    for (i = 0; i < list->cnt; i++) {
        if (code != RD_KAFKA_RESP_ERR_NO_ERROR || list->elems[i].err || list->elems[i].offset < 0)
            list->elems[i].offset = RD_KAFKA_OFFSET_END;
    }
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        chan_log(CHAN_LOG_WARN, LOG_MODULE,
                 "producer check: cannot read end offsets, starting at the logical end: %s",
                 rd_kafka_err2str(code));
}

int chan_kafka_sampler_set_contracts(chan_kafka_sampler *s, const chan_kafka_contract *contracts,
                                     size_t n, chan_error *err)
{
    int error = 0;
    contract_entry *copy = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *added = NULL;
    rd_kafka_error_t *rerr;
    rd_kafka_resp_err_t code;
    size_t i, n_topics = 0, n_parts = 0;
    int t;

    for (i = 0; i < n; i++) {
        if (contracts[i].channel == NULL || contracts[i].channel[0] == '\0' ||
            (contracts[i].n_versions > 0 && contracts[i].versions == NULL))
            return chan_error_set(err, CHAN_EINVALID, "kafka sampler: contract %zu is incomplete",
                                  i);
    }
    copy = chan_xcalloc(n ? n : 1, sizeof(*copy));
    for (i = 0; i < n; i++) {
        copy[i].channel = chan_xstrdup(contracts[i].channel);
        copy[i].n_versions = contracts[i].n_versions;
        copy[i].has_contract_version = contracts[i].has_contract_version;
        copy[i].contract_version = contracts[i].contract_version;
        copy[i].versions = chan_xcalloc(contracts[i].n_versions ? contracts[i].n_versions : 1,
                                        sizeof(*copy[i].versions));
        if (contracts[i].n_versions)
            memcpy(copy[i].versions, contracts[i].versions,
                   contracts[i].n_versions * sizeof(*copy[i].versions));
    }
    qsort(copy, n, sizeof(*copy), contract_cmp);
    contracts_free(s->contracts, s->n_contracts);
    s->contracts = copy;
    s->n_contracts = n;

    drop_left_topics(s);

    code = rd_kafka_metadata(s->rk, 1, NULL, &md, s->timeout_ms);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        error = chan_error_set(err, CHAN_EUNAVAILABLE,
                               "kafka sampler: cannot read the cluster's topics: %s",
                               rd_kafka_err2str(code));
        md = NULL;
        goto cleanup;
    }
    added = rd_kafka_topic_partition_list_new(0);
    for (t = 0; t < md->topic_cnt; t++) {
        const struct rd_kafka_metadata_topic *mt = &md->topics[t];
        assigned_topic *have;
        int32_t p, from;

        if (mt->err != RD_KAFKA_RESP_ERR_NO_ERROR || mt->partition_cnt <= 0 ||
            find_contract(s, mt->topic) == NULL)
            continue;
        have = find_assigned(s, mt->topic);
        from = have ? have->n_partitions : 0;
        for (p = from; p < mt->partition_cnt; p++)
            rd_kafka_topic_partition_list_add(added, mt->topic, p);
        if (have == NULL) {
            s->assigned = chan_xreallocarray(s->assigned, s->n_assigned + 1, sizeof(*s->assigned));
            have = &s->assigned[s->n_assigned++];
            have->name = chan_xstrdup(mt->topic);
        }
        if (mt->partition_cnt > from)
            chan_log(CHAN_LOG_INFO, LOG_MODULE,
                     "producer check: watching topic=%s partitions=%d new_partitions=%d", mt->topic,
                     mt->partition_cnt, mt->partition_cnt - from);
        have->n_partitions = mt->partition_cnt;
    }
    if (added->cnt > 0) {
        resolve_end_offsets(s, added);
        if ((rerr = rd_kafka_incremental_assign(s->rk, added)) != NULL) {
            error = chan_error_set(err, CHAN_EINTERNAL, "kafka sampler: assign failed: %s",
                                   rd_kafka_error_string(rerr));
            rd_kafka_error_destroy(rerr);
            goto cleanup;
        }
    }

cleanup:
    for (i = 0; i < s->n_assigned; i++) {
        n_topics++;
        n_parts += (size_t)s->assigned[i].n_partitions;
    }
    pthread_mutex_lock(&s->lock);
    s->stats.topics = n_topics;
    s->stats.partitions = n_parts;
    pthread_mutex_unlock(&s->lock);
    if (added)
        rd_kafka_topic_partition_list_destroy(added);
    if (md)
        rd_kafka_metadata_destroy(md);
    return error;
}

/* Log a consumer error, at most one warning per ERROR_LOG_EVERY_S (the rest at debug). */
static void log_consumer_error(chan_kafka_sampler *s, const rd_kafka_message_t *m)
{
    int64_t now = mono_ms() / 1000;
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "-";

    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
        return;
    if (s->last_error_log_s == 0 || now - s->last_error_log_s >= ERROR_LOG_EVERY_S) {
        s->last_error_log_s = now;
        chan_log(CHAN_LOG_WARN, LOG_MODULE,
                 "producer check: consumer error topic=%s partition=%d error=%s: %s", topic,
                 (int)m->partition, rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
    } else {
        chan_log_debug(LOG_MODULE,
                       "producer check: consumer error topic=%s partition=%d error=%s: %s", topic,
                       (int)m->partition, rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
    }
}

/* Sample and check one message; calls cb on a mismatch. */
static void check_message(chan_kafka_sampler *s, const rd_kafka_message_t *m,
                          chan_kafka_mismatch_fn cb, void *ctx)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    const contract_entry *entry = find_contract(s, topic);
    chan_kafka_contract contract;
    chan_kafka_message_view view;
    chan_kafka_mismatch mm;
    rd_kafka_headers_t *hdrs = NULL;
    const void *hval = NULL;
    size_t hlen = 0;
    chan_kafka_verdict verdict;
    bool sampled = false;

    if (entry != NULL && ++s->since_sample >= s->sample_every) {
        s->since_sample = 0;
        sampled = true;
    }
    if (!sampled) {
        pthread_mutex_lock(&s->lock);
        s->stats.read += entry != NULL;
        pthread_mutex_unlock(&s->lock);
        return;
    }

    memset(&view, 0, sizeof(view));
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(hdrs, CHAN_KAFKA_VERSION_HEADER, &hval, &hlen) ==
            RD_KAFKA_RESP_ERR_NO_ERROR) {
        view.has_version_header = true;
        view.version_header = hval;
        view.version_header_len = hval ? hlen : 0;
    }
    view.value = m->payload;
    view.value_len = m->payload ? m->len : 0;
    contract.channel = entry->channel;
    contract.versions = entry->versions;
    contract.n_versions = entry->n_versions;
    contract.has_contract_version = entry->has_contract_version;
    contract.contract_version = entry->contract_version;

    memset(&mm, 0, sizeof(mm));
    verdict = chan_kafka_classify_message(&mm.version, &mm.schema_id, &contract, &view);
    pthread_mutex_lock(&s->lock);
    s->stats.read++;
    s->stats.checked++;
    s->stats.by_verdict[verdict]++;
    pthread_mutex_unlock(&s->lock);
    if (!chan_kafka_verdict_is_mismatch(verdict) || cb == NULL)
        return;
    mm.channel = entry->channel;
    mm.verdict = verdict;
    mm.partition = m->partition;
    mm.offset = m->offset;
    cb(ctx, &mm);
}

int chan_kafka_sampler_poll(size_t *out_read, chan_kafka_sampler *s, int timeout_ms,
                            chan_kafka_mismatch_fn cb, void *ctx, chan_error *err)
{
    int64_t now = mono_ms(), deadline = now + (timeout_ms > 0 ? timeout_ms : 0);
    size_t n_read = 0;

    for (;;) {
        rd_kafka_message_t *m;
        int64_t wait;

        now = mono_ms();
        if (now / 1000 != s->window_s) {
            s->window_s = now / 1000;
            s->window_read = 0;
        }
        if (s->window_read >= s->max_per_s) {
            /* Budget spent: wait for the next second, within the deadline. */
            wait = (s->window_s + 1) * 1000 - now;
            if (now + wait > deadline) {
                sleep_ms(deadline - now); /* the caller asked to wait that long */
                break;
            }
            sleep_ms(wait);
            continue;
        }
        wait = deadline - now;
        m = rd_kafka_consumer_poll(s->rk, wait > 0 ? (int)wait : 0);
        if (m == NULL)
            break;
        if (m->err) {
            log_consumer_error(s, m);
        } else {
            s->window_read++;
            n_read++;
            check_message(s, m, cb, ctx);
        }
        rd_kafka_message_destroy(m);
        if (mono_ms() >= deadline && timeout_ms > 0)
            break;
    }
    if (out_read)
        *out_read = n_read;
    return 0;
}

void chan_kafka_sampler_stats_get(chan_kafka_sampler_stats *out, chan_kafka_sampler *s)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}
