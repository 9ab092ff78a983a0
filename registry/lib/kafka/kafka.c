/*
 * kafka.c - the ACL admin client on librdkafka's Admin API: the client (its
 * configuration is conf.c's), conversion between chan_acl bindings and
 * rd_kafka_AclBinding_t, error mapping, DescribeAcls / CreateAcls /
 * DeleteAcls with timeouts, and the plan executor with its per-binding
 * report.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/kafka.h"

#include "kafka_int.h"

#define AUTO_PER_RESOURCE  64   /* resources up to which AUTO describes one by one */
#define DESCRIBE_IN_FLIGHT 32   /* DescribeAcls requests outstanding at once */
#define POLL_GRACE_MS      2000 /* wait beyond the request timeout for its result */
#define LOG_MODULE         "kafka"

struct chan_kafka {
    rd_kafka_t *rk;
    int timeout_ms;
    chan_kafka_describe_mode describe_mode;
};

struct chan_kafka_report {
    chan_kafka_result *items;
    size_t n;
    size_t cap;
    chan_acl_plan *plan;
};

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* The chan code for a librdkafka or broker error. */
static int map_code(rd_kafka_resp_err_t code)
{
    switch (code) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return 0;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
        return CHAN_EUNAVAILABLE;
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SECURITY_DISABLED:
        return CHAN_EDENIED;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
        return CHAN_EINVALID;
    default:
        return CHAN_EINTERNAL;
    }
}

/*
** As set_rd_error, for the topic requests (Metadata, configs, CreateTopics):
** an unknown topic is CHAN_ENOTFOUND, a refused config, partition count or
** replication factor CHAN_EINVALID.
*/
static int set_topic_error(chan_error *err, rd_kafka_resp_err_t code, const char *msg,
                           const char *what);

/* Set err for a failed librdkafka call; msg may be NULL.  Returns the chan code. */
static int set_rd_error(chan_error *err, rd_kafka_resp_err_t code, const char *msg,
                        const char *what)
{
    int rc = map_code(code);

    if (rc == 0)
        rc = CHAN_EINTERNAL;
    chan_error_set(err, rc, "%s: %s", what, msg && *msg ? msg : rd_kafka_err2str(code));
    chan_error_detail(err, "librdkafka error %s (%d)", rd_kafka_err2name(code), (int)code);
    if (rc == CHAN_EUNAVAILABLE)
        chan_error_hint(err, "check that the bootstrap servers are reachable and a controller "
                             "is elected");
    return rc;
}

static int set_topic_error(chan_error *err, rd_kafka_resp_err_t code, const char *msg,
                           const char *what)
{
    int rc = set_rd_error(err, code, msg, what);

    switch (code) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        rc = CHAN_ENOTFOUND;
        break;
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
        rc = CHAN_EINVALID;
        break;
    default:
        return rc;
    }
    if (err)
        err->code = rc;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Client                                                              */
/* ------------------------------------------------------------------ */

int chan_kafka_open(chan_kafka **out, const chan_kafka_options *opts, chan_error *err)
{
    int error = 0;
    chan_kafka__client_conf cc;
    chan_kafka *k = NULL;

    *out = NULL;
    if (opts == NULL || opts->version != CHAN_KAFKA_OPTIONS_VERSION)
        return chan_error_set(err, CHAN_EINVALID, "kafka: missing or unsupported options");
    cc = (chan_kafka__client_conf){
        .kind = CHAN_KAFKA__CLIENT_ADMIN,
        .bootstrap_servers = opts->bootstrap_servers,
        .client_id = opts->client_id ? opts->client_id : "chanreg",
        .timeout_ms = opts->timeout_ms,
        .config = opts->config,
        .n_config = opts->n_config,
    };
    if ((error = chan_kafka__client_check(&cc, err)) < 0)
        return error;
    if ((unsigned)opts->describe_mode > CHAN_KAFKA_DESCRIBE_BROAD)
        return chan_error_set(err, CHAN_EINVALID, "kafka: unknown describe mode %d",
                              (int)opts->describe_mode);

    k = chan_xcalloc(1, sizeof(*k));
    k->timeout_ms = opts->timeout_ms ? opts->timeout_ms : CHAN_KAFKA__DEFAULT_TIMEOUT_MS;
    k->describe_mode = opts->describe_mode;
    /* An admin client is a producer handle that never produces. */
    if ((error = chan_kafka__client_new(&k->rk, &cc, err)) < 0)
        goto cleanup;
    *out = k;
    k = NULL;

cleanup:
    chan_kafka_free(k);
    return error;
}

void chan_kafka_free(chan_kafka *k)
{
    if (k == NULL)
        return;
    if (k->rk)
        rd_kafka_destroy(k->rk);
    free(k);
}

int chan_kafka_ping(chan_kafka *k, chan_error *err)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t code;
    int error = 0;

    code = rd_kafka_metadata(k->rk, 0, NULL, &md, k->timeout_ms);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        return set_rd_error(err, code, NULL, "kafka: metadata request failed");
    if (md->broker_cnt == 0)
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "kafka: the cluster reported no broker");
    rd_kafka_metadata_destroy(md);
    return error;
}

static int topic_cmp(const void *a, const void *b)
{
    return strcmp(((const chan_kafka_topic *)a)->name, ((const chan_kafka_topic *)b)->name);
}

int chan_kafka_list_topics(chan_kafka_topic **out, size_t *out_n, chan_kafka *k, chan_error *err)
{
    const struct rd_kafka_metadata *md = NULL;
    chan_kafka_topic *topics = NULL;
    rd_kafka_resp_err_t code;
    size_t n = 0;
    int error = 0, i;

    assert(out != NULL && out_n != NULL);
    *out = NULL;
    *out_n = 0;
    code = rd_kafka_metadata(k->rk, 1, NULL, &md, k->timeout_ms);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
        return set_rd_error(err, code, NULL, "kafka: metadata request failed");
    if (md->broker_cnt == 0) {
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "kafka: the cluster reported no broker");
        goto cleanup;
    }
    topics = chan_xcalloc((size_t)md->topic_cnt + 1, sizeof(*topics));
    for (i = 0; i < md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &md->topics[i];

        if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            error = set_topic_error(err, t->err, NULL, "kafka: metadata of a topic");
            chan_error_prefix(err, "topic %s", t->topic ? t->topic : "(null)");
            goto cleanup;
        }
        if (t->topic == NULL)
            continue;
        topics[n].name = chan_xstrdup(t->topic);
        topics[n].partitions = t->partition_cnt;
        topics[n].internal = t->topic[0] == '_' && t->topic[1] == '_';
        n++;
    }
    qsort(topics, n, sizeof(*topics), topic_cmp);
    *out = topics;
    *out_n = n;
    topics = NULL;

cleanup:
    chan_kafka_topic_list_free(topics, n);
    rd_kafka_metadata_destroy(md);
    return error;
}

void chan_kafka_topic_list_free(chan_kafka_topic *topics, size_t n)
{
    size_t i;

    if (topics == NULL)
        return;
    for (i = 0; i < n; i++)
        free(topics[i].name);
    free(topics);
}

/* ------------------------------------------------------------------ */
/* Conversions                                                         */
/* ------------------------------------------------------------------ */

static rd_kafka_ResourceType_t to_rd_restype(chan_acl_resource_type t)
{
    switch (t) {
    case CHAN_ACL_RESOURCE_TOPIC:
        return RD_KAFKA_RESOURCE_TOPIC;
    case CHAN_ACL_RESOURCE_GROUP:
        return RD_KAFKA_RESOURCE_GROUP;
    case CHAN_ACL_RESOURCE_CLUSTER:
        return RD_KAFKA_RESOURCE_BROKER; /* Kafka's CLUSTER resource, code 4 */
    default:
        return RD_KAFKA_RESOURCE_UNKNOWN;
    }
}

static chan_acl_resource_type from_rd_restype(rd_kafka_ResourceType_t t)
{
    switch (t) {
    case RD_KAFKA_RESOURCE_TOPIC:
        return CHAN_ACL_RESOURCE_TOPIC;
    case RD_KAFKA_RESOURCE_GROUP:
        return CHAN_ACL_RESOURCE_GROUP;
    case RD_KAFKA_RESOURCE_BROKER:
        return CHAN_ACL_RESOURCE_CLUSTER;
    default:
        return CHAN_ACL_RESOURCE_UNKNOWN;
    }
}

static rd_kafka_ResourcePatternType_t to_rd_pattern(chan_acl_pattern_type p)
{
    switch (p) {
    case CHAN_ACL_PATTERN_LITERAL:
        return RD_KAFKA_RESOURCE_PATTERN_LITERAL;
    case CHAN_ACL_PATTERN_PREFIXED:
        return RD_KAFKA_RESOURCE_PATTERN_PREFIXED;
    default:
        return RD_KAFKA_RESOURCE_PATTERN_UNKNOWN;
    }
}

static chan_acl_pattern_type from_rd_pattern(rd_kafka_ResourcePatternType_t p)
{
    switch (p) {
    case RD_KAFKA_RESOURCE_PATTERN_LITERAL:
        return CHAN_ACL_PATTERN_LITERAL;
    case RD_KAFKA_RESOURCE_PATTERN_PREFIXED:
        return CHAN_ACL_PATTERN_PREFIXED;
    default:
        return CHAN_ACL_PATTERN_UNKNOWN;
    }
}

/* chan operations are Kafka's codes minus one (no ANY); both stop at IDEMPOTENT_WRITE. */
static rd_kafka_AclOperation_t to_rd_op(chan_acl_operation op)
{
    if (op <= CHAN_ACL_OP_UNKNOWN || op > CHAN_ACL_OP_IDEMPOTENT_WRITE)
        return RD_KAFKA_ACL_OPERATION_UNKNOWN;
    return (rd_kafka_AclOperation_t)((int)op + 1);
}

static chan_acl_operation from_rd_op(rd_kafka_AclOperation_t op)
{
    if (op < RD_KAFKA_ACL_OPERATION_ALL || op > RD_KAFKA_ACL_OPERATION_IDEMPOTENT_WRITE)
        return CHAN_ACL_OP_UNKNOWN;
    return (chan_acl_operation)((int)op - 1);
}

static rd_kafka_AclPermissionType_t to_rd_perm(chan_acl_permission p)
{
    switch (p) {
    case CHAN_ACL_PERMISSION_ALLOW:
        return RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW;
    case CHAN_ACL_PERMISSION_DENY:
        return RD_KAFKA_ACL_PERMISSION_TYPE_DENY;
    default:
        return RD_KAFKA_ACL_PERMISSION_TYPE_UNKNOWN;
    }
}

static chan_acl_permission from_rd_perm(rd_kafka_AclPermissionType_t p)
{
    switch (p) {
    case RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW:
        return CHAN_ACL_PERMISSION_ALLOW;
    case RD_KAFKA_ACL_PERMISSION_TYPE_DENY:
        return CHAN_ACL_PERMISSION_DENY;
    default:
        return CHAN_ACL_PERMISSION_UNKNOWN;
    }
}

/* A librdkafka binding for b, or NULL with err set (a type librdkafka lacks). */
static rd_kafka_AclBinding_t *to_rd_binding(const chan_acl_binding *b, chan_error *err)
{
    char errstr[512];
    rd_kafka_AclBinding_t *rb;

    if (to_rd_restype(b->resource_type) == RD_KAFKA_RESOURCE_UNKNOWN) {
        chan_error_set(err, CHAN_EINVALID, "kafka: resource type %s is not supported",
                       chan_acl_resource_type_name(b->resource_type));
        return NULL;
    }
    rb = rd_kafka_AclBinding_new(to_rd_restype(b->resource_type), b->resource_name,
                                 to_rd_pattern(b->pattern_type), b->principal, b->host,
                                 to_rd_op(b->operation), to_rd_perm(b->permission), errstr,
                                 sizeof(errstr));
    if (rb == NULL)
        chan_error_set(err, CHAN_EINVALID, "kafka: invalid binding: %s", errstr);
    return rb;
}

/* The exact-match filter for b (every field fixed). */
static rd_kafka_AclBindingFilter_t *to_rd_exact_filter(const chan_acl_binding *b, chan_error *err)
{
    char errstr[512];
    rd_kafka_AclBindingFilter_t *f;

    if (to_rd_restype(b->resource_type) == RD_KAFKA_RESOURCE_UNKNOWN) {
        chan_error_set(err, CHAN_EINVALID, "kafka: resource type %s is not supported",
                       chan_acl_resource_type_name(b->resource_type));
        return NULL;
    }
    f = rd_kafka_AclBindingFilter_new(to_rd_restype(b->resource_type), b->resource_name,
                                      to_rd_pattern(b->pattern_type), b->principal, b->host,
                                      to_rd_op(b->operation), to_rd_perm(b->permission), errstr,
                                      sizeof(errstr));
    if (f == NULL)
        chan_error_set(err, CHAN_EINVALID, "kafka: invalid filter: %s", errstr);
    return f;
}

/* Add a librdkafka binding to set; false when it cannot be represented. */
static bool add_from_rd(chan_acl_set *set, const rd_kafka_AclBinding_t *rb)
{
    chan_acl_binding b = {
        .resource_type = from_rd_restype(rd_kafka_AclBinding_restype(rb)),
        .resource_name = rd_kafka_AclBinding_name(rb),
        .pattern_type = from_rd_pattern(rd_kafka_AclBinding_resource_pattern_type(rb)),
        .principal = rd_kafka_AclBinding_principal(rb),
        .host = rd_kafka_AclBinding_host(rb),
        .operation = from_rd_op(rd_kafka_AclBinding_operation(rb)),
        .permission = from_rd_perm(rd_kafka_AclBinding_permission_type(rb)),
    };

    return chan_acl_set_add(set, NULL, &b, NULL) == 0;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static rd_kafka_AdminOptions_t *admin_options(chan_kafka *k, rd_kafka_admin_op_t op)
{
    char errstr[512];
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(k->rk, op);

    /* Cannot fail for a positive timeout. */
    rd_kafka_AdminOptions_set_request_timeout(o, k->timeout_ms, errstr, sizeof(errstr));
    return o;
}

/*
 * Wait for the next result on q.  Returns NULL with err set when none
 * arrived in time.
 */
static rd_kafka_event_t *wait_result(chan_kafka *k, rd_kafka_queue_t *q, const char *what,
                                     chan_error *err)
{
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, k->timeout_ms + POLL_GRACE_MS);

    if (ev == NULL)
        set_rd_error(err, RD_KAFKA_RESP_ERR__TIMED_OUT, NULL, what);
    return ev;
}

/*
** Send a DescribeConfigs (describe) or AlterConfigs request for the n_rs
** resources rs and wait for its answer.  Returns the result event (caller
** destroys it) with *out its n_out resources (borrowed from the event), or
** NULL with err set when no answer came, the request failed or the answer
** holds no resources.
*/
static rd_kafka_event_t *config_request(const rd_kafka_ConfigResource_t ***out, size_t *out_n,
                                        chan_kafka *k, rd_kafka_ConfigResource_t **rs, size_t n_rs,
                                        bool describe, chan_error *err)
{
    const char *what = describe ? "kafka: describe configs" : "kafka: alter configs";
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
    rd_kafka_AdminOptions_t *o = admin_options(k, describe ? RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS
                                                           : RD_KAFKA_ADMIN_OP_ALTERCONFIGS);
    rd_kafka_event_t *ev;

    assert(out != NULL && out_n != NULL && err != NULL);
    *out = NULL;
    *out_n = 0;
    if (describe)
        rd_kafka_DescribeConfigs(k->rk, rs, n_rs, o, q);
    else
        rd_kafka_AlterConfigs(k->rk, rs, n_rs, o, q);
    ev = wait_result(k, q, what, err);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    if (ev == NULL)
        return NULL;
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        set_rd_error(err, rd_kafka_event_error(ev), rd_kafka_event_error_string(ev), what);
    } else if (describe) {
        const rd_kafka_DescribeConfigs_result_t *r = rd_kafka_event_DescribeConfigs_result(ev);

        *out = r ? rd_kafka_DescribeConfigs_result_resources(r, out_n) : NULL;
    } else {
        const rd_kafka_AlterConfigs_result_t *r = rd_kafka_event_AlterConfigs_result(ev);

        *out = r ? rd_kafka_AlterConfigs_result_resources(r, out_n) : NULL;
    }
    if (*out != NULL)
        return ev;
    if (rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR)
        chan_error_set(err, CHAN_EINTERNAL, "kafka: config request without a result");
    *out_n = 0;
    rd_kafka_event_destroy(ev);
    return NULL;
}

/*
** 0 when the broker accepted resource res of a config request (what names
** the request), else its error, set in err with the prefix "topic TOPIC".
*/
static int config_resource_error(const rd_kafka_ConfigResource_t *res, const char *what,
                                 const char *topic, chan_error *err)
{
    int error;

    if (rd_kafka_ConfigResource_error(res) == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    error = set_topic_error(err, rd_kafka_ConfigResource_error(res),
                            rd_kafka_ConfigResource_error_string(res), what);
    chan_error_prefix(err, "topic %s", topic);
    return error;
}

int chan_kafka_describe_topic_configs(chan_topic_config **out, chan_kafka *k,
                                      const char *const *topics, size_t n, chan_error *err)
{
    rd_kafka_ConfigResource_t **rs = NULL;
    rd_kafka_event_t *ev = NULL;
    chan_topic_config *list = NULL;
    const rd_kafka_ConfigResource_t **res;
    size_t i, n_res = 0, filled = 0;
    chan_error local = CHAN_ERROR_INIT;
    int error = 0;

    assert(out != NULL);
    *out = NULL;
    if (err == NULL)
        err = &local;
    if (n == 0) {
        *out = chan_xcalloc(1, sizeof(**out));
        return 0;
    }
    rs = chan_xcalloc(n, sizeof(*rs));
    for (i = 0; i < n; i++)
        rs[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topics[i]);
    if ((ev = config_request(&res, &n_res, k, rs, n, true, err)) == NULL) {
        error = err->code;
        goto cleanup;
    }
    list = chan_xcalloc(n + 1, sizeof(*list));
    for (i = 0; i < n_res && filled < n; i++) {
        const rd_kafka_ConfigEntry_t **entries;
        size_t n_entries = 0, e;

        if ((error = config_resource_error(res[i], "kafka: describe configs",
                                           rd_kafka_ConfigResource_name(res[i]), err)) < 0)
            goto cleanup;
        entries = rd_kafka_ConfigResource_configs(res[i], &n_entries);
        list[filled].topic = chan_xstrdup(rd_kafka_ConfigResource_name(res[i]));
        list[filled].entries = chan_xcalloc(n_entries + 1, sizeof(*list[filled].entries));
        for (e = 0; e < n_entries; e++) {
            chan_topic_config_entry *d = &list[filled].entries[e];
            const char *v = rd_kafka_ConfigEntry_value(entries[e]);

            d->name = chan_xstrdup(rd_kafka_ConfigEntry_name(entries[e]));
            d->value = v ? chan_xstrdup(v) : NULL;
            d->dynamic = rd_kafka_ConfigEntry_source(entries[e]) ==
                         RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
            d->read_only = rd_kafka_ConfigEntry_is_read_only(entries[e]) != 0;
            d->sensitive = rd_kafka_ConfigEntry_is_sensitive(entries[e]) != 0;
        }
        list[filled].n = n_entries;
        filled++;
    }
    if (filled != n) {
        error = chan_error_set(err, CHAN_EINTERNAL,
                               "kafka: describe configs answered %zu of %zu topics", filled, n);
        goto cleanup;
    }
    *out = list;
    list = NULL;

cleanup:
    chan_topic_config_list_free(list, filled);
    if (ev)
        rd_kafka_event_destroy(ev);
    for (i = 0; rs && i < n; i++)
        rd_kafka_ConfigResource_destroy(rs[i]);
    free(rs);
    return error;
}

int chan_kafka_alter_topic_configs(chan_kafka *k, const char *topic, const char *const *pairs,
                                   size_t n_pairs, chan_error *err)
{
    rd_kafka_ConfigResource_t *r = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_ConfigResource_t **res;
    size_t i, n_res = 0;
    chan_error local = CHAN_ERROR_INIT;
    int error = 0;

    if (err == NULL)
        err = &local;
    for (i = 0; i < n_pairs; i++) {
        if (rd_kafka_ConfigResource_set_config(r, pairs[2 * i], pairs[2 * i + 1]) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            error = chan_error_set(err, CHAN_EINVALID, "kafka: alter configs: bad config %s",
                                   pairs[2 * i] ? pairs[2 * i] : "(null)");
            goto cleanup;
        }
    }
    if ((ev = config_request(&res, &n_res, k, &r, 1, false, err)) == NULL) {
        error = err->code;
        goto cleanup;
    }
    if (n_res != 1) {
        error = chan_error_set(err, CHAN_EINTERNAL, "kafka: alter configs: %zu results", n_res);
        goto cleanup;
    }
    error = config_resource_error(res[0], "kafka: alter configs", topic, err);

cleanup:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(r);
    return error;
}

int chan_kafka_create_topic(chan_kafka *k, const char *topic, int32_t partitions,
                            int16_t replication_factor, const char *const *pairs, size_t n_pairs,
                            chan_error *err)
{
    char errstr[512];
    rd_kafka_NewTopic_t *t = NULL;
    rd_kafka_AdminOptions_t *o = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **results;
    chan_error local = CHAN_ERROR_INIT;
    size_t i, n_res = 0;
    int error = 0;

    if (err == NULL)
        err = &local;
    t = rd_kafka_NewTopic_new(topic, partitions, replication_factor, errstr, sizeof(errstr));
    if (t == NULL)
        return chan_error_set(err, CHAN_EINVALID, "kafka: create topic %s: %s", topic, errstr);
    for (i = 0; i < n_pairs; i++) {
        if (rd_kafka_NewTopic_set_config(t, pairs[2 * i], pairs[2 * i + 1]) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            error = chan_error_set(err, CHAN_EINVALID, "kafka: create topic %s: bad config %s",
                                   topic, pairs[2 * i] ? pairs[2 * i] : "(null)");
            goto cleanup;
        }
    }
    q = rd_kafka_queue_new(k->rk);
    o = admin_options(k, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(k->rk, &t, 1, o, q);
    if ((ev = wait_result(k, q, "kafka: create topic", err)) == NULL) {
        error = err->code;
        goto cleanup;
    }
    if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        error = set_rd_error(err, rd_kafka_event_error(ev), rd_kafka_event_error_string(ev),
                             "kafka: create topic");
        goto cleanup;
    }
    res = rd_kafka_event_CreateTopics_result(ev);
    results = res ? rd_kafka_CreateTopics_result_topics(res, &n_res) : NULL;
    if (results == NULL || n_res != 1) {
        error = chan_error_set(err, CHAN_EINTERNAL, "kafka: create topic %s: no result", topic);
        goto cleanup;
    }
    if (rd_kafka_topic_result_error(results[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        error = chan_error_set(err, CHAN_EEXISTS, "kafka: topic %s exists", topic);
    } else if (rd_kafka_topic_result_error(results[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        error =
            set_topic_error(err, rd_kafka_topic_result_error(results[0]),
                            rd_kafka_topic_result_error_string(results[0]), "kafka: create topic");
        chan_error_prefix(err, "topic %s", topic);
    }

cleanup:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (o)
        rd_kafka_AdminOptions_destroy(o);
    if (q)
        rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(t);
    return error;
}

/*
 * Send one DescribeAcls: for a named resource a MATCH filter (the literal
 * bindings on it plus the "*" and PREFIXED bindings that cover it, so that
 * bypasses are seen), without a name everything of that type.
 */
static int describe_one(chan_kafka *k, rd_kafka_queue_t *q, rd_kafka_AdminOptions_t *o,
                        rd_kafka_ResourceType_t type, const char *name, chan_error *err)
{
    char errstr[512];
    rd_kafka_AclBindingFilter_t *f;

    f = rd_kafka_AclBindingFilter_new(
        type, name, name ? RD_KAFKA_RESOURCE_PATTERN_MATCH : RD_KAFKA_RESOURCE_PATTERN_ANY, NULL,
        NULL, RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, errstr, sizeof(errstr));
    if (f == NULL)
        return chan_error_set(err, CHAN_EINVALID, "kafka: describe filter: %s", errstr);
    rd_kafka_DescribeAcls(k->rk, f, o, q);
    rd_kafka_AclBinding_destroy(f);
    return 0;
}

/* Collect one DescribeAcls result into set. */
static int describe_collect(chan_acl_set *set, rd_kafka_event_t *ev, chan_error *err)
{
    const rd_kafka_DescribeAcls_result_t *res;
    const rd_kafka_AclBinding_t **acls;
    size_t n = 0;

    if (rd_kafka_event_error(ev))
        return set_rd_error(err, rd_kafka_event_error(ev), rd_kafka_event_error_string(ev),
                            "kafka: DescribeAcls failed");
    res = rd_kafka_event_DescribeAcls_result(ev);
    if (res == NULL)
        return chan_error_set(err, CHAN_EINTERNAL, "kafka: unexpected %s event",
                              rd_kafka_event_name(ev));
    acls = rd_kafka_DescribeAcls_result_acls(res, &n);
    for (size_t i = 0; i < n; i++) {
        if (!add_from_rd(set, acls[i]))
            chan_log_debug(LOG_MODULE, "ignoring a binding this client cannot represent name=%s",
                           rd_kafka_AclBinding_name(acls[i]));
    }
    return 0;
}

int chan_kafka_describe_acls(chan_acl_set **out, chan_kafka *k, const chan_acl_scope *scope,
                             chan_error *err)
{
    int error = 0;
    chan_acl_set *set = chan_acl_set_new();
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
    rd_kafka_AdminOptions_t *o = admin_options(k, RD_KAFKA_ADMIN_OP_DESCRIBEACLS);
    rd_kafka_event_t *ev = NULL;
    size_t n_topics = chan_acl_scope_topic_count(scope);
    size_t n_total = n_topics + chan_acl_scope_group_count(scope);
    size_t sent = 0, done = 0;
    bool broad = scope == NULL || k->describe_mode == CHAN_KAFKA_DESCRIBE_BROAD ||
                 (k->describe_mode == CHAN_KAFKA_DESCRIBE_AUTO && n_total > AUTO_PER_RESOURCE);

    *out = NULL;
    if (broad) {
        if ((error = describe_one(k, q, o, RD_KAFKA_RESOURCE_ANY, NULL, err)) < 0)
            goto cleanup;
        if ((ev = wait_result(k, q, "kafka: DescribeAcls got no answer", err)) == NULL) {
            error = CHAN_EUNAVAILABLE;
            goto cleanup;
        }
        if ((error = describe_collect(set, ev, err)) < 0)
            goto cleanup;
    } else {
        while (done < n_total) {
            while (sent < n_total && sent - done < DESCRIBE_IN_FLIGHT) {
                bool topic = sent < n_topics;
                const char *name = topic ? chan_acl_scope_topic(scope, sent)
                                         : chan_acl_scope_group(scope, sent - n_topics);

                if ((error = describe_one(k, q, o,
                                          topic ? RD_KAFKA_RESOURCE_TOPIC : RD_KAFKA_RESOURCE_GROUP,
                                          name, err)) < 0)
                    goto cleanup;
                sent++;
            }
            if ((ev = wait_result(k, q, "kafka: DescribeAcls got no answer", err)) == NULL) {
                error = CHAN_EUNAVAILABLE;
                goto cleanup;
            }
            if ((error = describe_collect(set, ev, err)) < 0)
                goto cleanup;
            rd_kafka_event_destroy(ev);
            ev = NULL;
            done++;
        }
    }
    *out = set;
    set = NULL;

cleanup:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    chan_acl_set_free(set);
    return error;
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

static chan_kafka_report *report_new(void)
{
    return chan_xcalloc(1, sizeof(chan_kafka_report));
}

static chan_kafka_result *report_add(chan_kafka_report *r, chan_kafka_action action,
                                     const chan_acl_binding *b)
{
    chan_kafka_result *res;

    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->items = chan_xreallocarray(r->items, r->cap, sizeof(*r->items));
    }
    res = &r->items[r->n++];
    memset(res, 0, sizeof(*res));
    res->action = action;
    res->binding = *b;
    res->binding.resource_name = chan_xstrdup(b->resource_name);
    res->binding.principal = chan_xstrdup(b->principal);
    res->binding.host = chan_xstrdup(b->host);
    return res;
}

static void result_fail(chan_kafka_result *res, int status, const char *msg)
{
    free((char *)res->message);
    res->status = status;
    res->message = chan_xstrdup(msg);
}

void chan_kafka_report_free(chan_kafka_report *report)
{
    if (report == NULL)
        return;
    for (size_t i = 0; i < report->n; i++) {
        chan_kafka_result *res = &report->items[i];

        free((char *)res->binding.resource_name);
        free((char *)res->binding.principal);
        free((char *)res->binding.host);
        free((char *)res->message);
    }
    free(report->items);
    chan_acl_plan_free(report->plan);
    free(report);
}

size_t chan_kafka_report_count(const chan_kafka_report *report)
{
    return report ? report->n : 0;
}

const chan_kafka_result *chan_kafka_report_get(const chan_kafka_report *report, size_t i)
{
    if (report == NULL || i >= report->n)
        return NULL;
    return &report->items[i];
}

static size_t report_tally(const chan_kafka_report *report, int what)
{
    size_t n = 0;

    for (size_t i = 0; report && i < report->n; i++) {
        const chan_kafka_result *res = &report->items[i];

        switch (what) {
        case 0:
            n += res->action == CHAN_KAFKA_ACTION_CREATE && res->status == 0;
            break;
        case 1:
            n += res->action == CHAN_KAFKA_ACTION_DELETE && res->status == 0 && res->deleted > 0;
            break;
        case 2:
            n += res->status != 0 && !res->skipped;
            break;
        default:
            n += res->skipped;
            break;
        }
    }
    return n;
}

size_t chan_kafka_report_created(const chan_kafka_report *report)
{
    return report_tally(report, 0);
}

size_t chan_kafka_report_deleted(const chan_kafka_report *report)
{
    return report_tally(report, 1);
}

size_t chan_kafka_report_failed(const chan_kafka_report *report)
{
    return report_tally(report, 2);
}

size_t chan_kafka_report_skipped(const chan_kafka_report *report)
{
    return report_tally(report, 3);
}

const chan_acl_plan *chan_kafka_report_plan(const chan_kafka_report *report)
{
    return report ? report->plan : NULL;
}

void chan_kafka_report_render_json(char **out, const chan_kafka_report *report)
{
    json_t *root = json_object();
    json_t *results = json_array();
    char *text;

    json_object_set_new(root, "created",
                        json_integer((json_int_t)chan_kafka_report_created(report)));
    json_object_set_new(root, "deleted",
                        json_integer((json_int_t)chan_kafka_report_deleted(report)));
    json_object_set_new(root, "failed", json_integer((json_int_t)chan_kafka_report_failed(report)));
    json_object_set_new(root, "skipped",
                        json_integer((json_int_t)chan_kafka_report_skipped(report)));
    for (size_t i = 0; i < chan_kafka_report_count(report); i++) {
        const chan_kafka_result *res = &report->items[i];
        const chan_acl_binding *b = &res->binding;
        json_t *o = json_object(), *jb = json_object();

        json_object_set_new(jb, "resource_type",
                            json_string(chan_acl_resource_type_name(b->resource_type)));
        json_object_set_new(jb, "resource_name", json_string(b->resource_name));
        json_object_set_new(jb, "pattern_type",
                            json_string(chan_acl_pattern_type_name(b->pattern_type)));
        json_object_set_new(jb, "principal", json_string(b->principal));
        json_object_set_new(jb, "host", json_string(b->host));
        json_object_set_new(jb, "operation", json_string(chan_acl_operation_name(b->operation)));
        json_object_set_new(jb, "permission", json_string(chan_acl_permission_name(b->permission)));
        json_object_set_new(
            o, "action",
            json_string(res->action == CHAN_KAFKA_ACTION_CREATE ? "create" : "delete"));
        json_object_set_new(o, "binding", jb);
        json_object_set_new(o, "status",
                            json_string(res->skipped       ? "skipped"
                                        : res->status == 0 ? "ok"
                                                           : chan_strerror(res->status)));
        json_object_set_new(o, "message", res->message ? json_string(res->message) : json_null());
        if (res->action == CHAN_KAFKA_ACTION_DELETE)
            json_object_set_new(o, "deleted", json_integer((json_int_t)res->deleted));
        json_array_append_new(results, o);
    }
    json_object_set_new(root, "results", results);
    if (report && report->plan) {
        char *plan_text = NULL;
        json_t *plan;

        chan_acl_plan_render_json(&plan_text, report->plan);
        plan = json_loads(plan_text, 0, NULL);
        free(plan_text);
        json_object_set_new(root, "plan", plan ? plan : json_null());
    }
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL) {
        chan_log(CHAN_LOG_ERROR, LOG_MODULE, "out of memory rendering a report as JSON");
        abort();
    }
    *out = chan_xstrdup(text);
    free(text);
}

/* ------------------------------------------------------------------ */
/* Create and delete                                                   */
/* ------------------------------------------------------------------ */

/* Mark results [from, report->n) failed with code/msg; keep the first failure code. */
static void fail_range(chan_kafka_report *r, size_t from, int code, const char *msg)
{
    for (size_t i = from; i < r->n; i++)
        result_fail(&r->items[i], code, msg);
}

/* Append a result for every binding of acls and convert it into arr[i]. */
static int prepare(chan_kafka_report *r, chan_kafka_action action, const chan_acl_set *acls,
                   rd_kafka_AclBinding_t **arr, chan_error *err)
{
    for (size_t i = 0; i < chan_acl_set_count(acls); i++) {
        const chan_acl_binding *b = chan_acl_set_get(acls, i);

        report_add(r, action, b);
        /* rd_kafka_AclBindingFilter_t is the same type as rd_kafka_AclBinding_t. */
        arr[i] =
            action == CHAN_KAFKA_ACTION_CREATE ? to_rd_binding(b, err) : to_rd_exact_filter(b, err);
        if (arr[i] == NULL)
            return CHAN_EINVALID;
    }
    return 0;
}

static void destroy_bindings(rd_kafka_AclBinding_t **arr, size_t n)
{
    for (size_t i = 0; arr && i < n; i++) {
        if (arr[i])
            rd_kafka_AclBinding_destroy(arr[i]);
    }
    free(arr);
}

/* The first failure of results [from, n), or 0. */
static int first_failure(const chan_kafka_report *r, size_t from, chan_error *err)
{
    for (size_t i = from; i < r->n; i++) {
        const chan_kafka_result *res = &r->items[i];

        if (res->status != 0 && !res->skipped) {
            chan_error_set(err, res->status, "kafka: %s of %s %s for %s failed: %s",
                           res->action == CHAN_KAFKA_ACTION_CREATE ? "create" : "delete",
                           chan_acl_resource_type_name(res->binding.resource_type),
                           res->binding.resource_name, res->binding.principal,
                           res->message ? res->message : chan_strerror(res->status));
            return res->status;
        }
    }
    return 0;
}

/*
** Prepare the bindings of acls (appending one result per binding to r from
** index from), send them as CreateAcls (create) or DeleteAcls filters, and
** wait for the answer.  Returns the result event (caller destroys it), or
** NULL after marking every result of the range failed.  *arr receives the
** bindings, which the caller destroys with destroy_bindings.
*/
static rd_kafka_event_t *send_acls(chan_kafka_report *r, chan_kafka *k, bool create,
                                   const chan_acl_set *acls, rd_kafka_AclBinding_t ***arr)
{
    const char *api = create ? "CreateAcls" : "DeleteAcls";
    size_t n = chan_acl_set_count(acls), from = r->n;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_AdminOptions_t *o = NULL;
    rd_kafka_event_t *ev = NULL;
    chan_error local = CHAN_ERROR_INIT;
    char what[64];
    int error;

    *arr = chan_xcalloc(n, sizeof(**arr));
    if ((error = prepare(r, create ? CHAN_KAFKA_ACTION_CREATE : CHAN_KAFKA_ACTION_DELETE, acls,
                         *arr, &local)) < 0) {
        fail_range(r, from, error, local.message);
        return NULL;
    }
    q = rd_kafka_queue_new(k->rk);
    o = admin_options(k, create ? RD_KAFKA_ADMIN_OP_CREATEACLS : RD_KAFKA_ADMIN_OP_DELETEACLS);
    if (create)
        rd_kafka_CreateAcls(k->rk, *arr, n, o, q);
    else
        rd_kafka_DeleteAcls(k->rk, *arr, n, o, q);
    snprintf(what, sizeof(what), "kafka: %s got no answer", api);
    if ((ev = wait_result(k, q, what, &local)) == NULL) {
        fail_range(r, from, local.code, local.message);
    } else if (rd_kafka_event_error(ev)) {
        snprintf(what, sizeof(what), "kafka: %s failed", api);
        error =
            set_rd_error(&local, rd_kafka_event_error(ev), rd_kafka_event_error_string(ev), what);
        fail_range(r, from, error, local.message);
        rd_kafka_event_destroy(ev);
        ev = NULL;
    }
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_queue_destroy(q);
    return ev;
}

/*
** Create (create) or delete the bindings of acls, appending one result per
** binding to r; a binding the broker refused gets its error, a deleted one
** the number of ACLs its filter matched.  Returns the first failure of the
** appended results (in err), or 0.
*/
static int acls_into(chan_kafka_report *r, chan_kafka *k, const chan_acl_set *acls, bool create,
                     chan_error *err)
{
    const char *api = create ? "CreateAcls" : "DeleteAcls";
    size_t n = chan_acl_set_count(acls), from = r->n, n_answers = 0;
    rd_kafka_AclBinding_t **arr = NULL;
    rd_kafka_event_t *ev;
    const rd_kafka_acl_result_t **created = NULL;
    const rd_kafka_DeleteAcls_result_response_t **deleted = NULL;
    chan_error local = CHAN_ERROR_INIT;

    if (n == 0)
        return 0;
    if ((ev = send_acls(r, k, create, acls, &arr)) == NULL)
        goto cleanup;
    if (create) {
        const rd_kafka_CreateAcls_result_t *res = rd_kafka_event_CreateAcls_result(ev);

        created = res ? rd_kafka_CreateAcls_result_acls(res, &n_answers) : NULL;
    } else {
        const rd_kafka_DeleteAcls_result_t *res = rd_kafka_event_DeleteAcls_result(ev);

        deleted = res ? rd_kafka_DeleteAcls_result_responses(res, &n_answers) : NULL;
    }
    if ((created == NULL && deleted == NULL) || n_answers != n) {
        fail_range(r, from, CHAN_EINTERNAL,
                   create ? "CreateAcls answered for a different number of bindings"
                          : "DeleteAcls answered for a different number of filters");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        const rd_kafka_error_t *e = create ? rd_kafka_acl_result_error(created[i])
                                           : rd_kafka_DeleteAcls_result_response_error(deleted[i]);
        size_t matched = 0;

        if (e != NULL && rd_kafka_error_code(e) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            set_rd_error(&local, rd_kafka_error_code(e), rd_kafka_error_string(e), api);
            result_fail(&r->items[from + i], local.code, rd_kafka_error_string(e));
            continue;
        }
        if (!create) {
            rd_kafka_DeleteAcls_result_response_matching_acls(deleted[i], &matched);
            r->items[from + i].deleted = matched;
        }
    }

cleanup:
    if (ev)
        rd_kafka_event_destroy(ev);
    destroy_bindings(arr, n);
    return first_failure(r, from, err);
}

int chan_kafka_create_acls(chan_kafka_report **out, chan_kafka *k, const chan_acl_set *acls,
                           chan_error *err)
{
    chan_kafka_report *r = report_new();
    int error = acls_into(r, k, acls, true, err);

    *out = r;
    return error;
}

int chan_kafka_delete_acls(chan_kafka_report **out, chan_kafka *k, const chan_acl_set *acls,
                           chan_error *err)
{
    chan_kafka_report *r = report_new();
    int error = acls_into(r, k, acls, false, err);

    *out = r;
    return error;
}

/* Record every binding of acls as skipped with reason msg. */
static void skip_all(chan_kafka_report *r, chan_kafka_action action, const chan_acl_set *acls,
                     const char *msg)
{
    for (size_t i = 0; i < chan_acl_set_count(acls); i++) {
        chan_kafka_result *res = report_add(r, action, chan_acl_set_get(acls, i));

        res->skipped = true;
        res->status = CHAN_ECONFLICT;
        res->message = chan_xstrdup(msg);
    }
}

/* Creates, then deletes unless refused or a create failed.  Appends to r. */
static int apply_into(chan_kafka_report *r, chan_kafka *k, const chan_acl_plan *plan,
                      bool skip_creates, const char *skip_reason, chan_error *err)
{
    int error = 0;
    const chan_acl_set *creates = chan_acl_plan_to_create(plan);
    const chan_acl_set *deletes = chan_acl_plan_to_delete(plan);

    if (skip_creates)
        skip_all(r, CHAN_KAFKA_ACTION_CREATE, creates, skip_reason);
    else
        error = acls_into(r, k, creates, true, err);
    if (error < 0) {
        skip_all(r, CHAN_KAFKA_ACTION_DELETE, deletes,
                 "not attempted: a create of the same plan failed");
        return error;
    }
    if (chan_acl_plan_deletes_refused(plan)) {
        /* The planner withholds deletes in this case; nothing can be in the set. */
        skip_all(r, CHAN_KAFKA_ACTION_DELETE, deletes, "not attempted: actual state unknown");
        return 0;
    }
    return acls_into(r, k, deletes, false, err);
}

int chan_kafka_apply(chan_kafka_report **out, chan_kafka *k, const chan_acl_plan *plan,
                     chan_error *err)
{
    chan_kafka_report *r;

    *out = NULL;
    if (plan == NULL)
        return chan_error_set(err, CHAN_EINVALID, "kafka: no plan to apply");
    r = report_new();
    *out = r;
    return apply_into(r, k, plan, false, NULL, err);
}

int chan_kafka_reconcile(chan_kafka_report **out, chan_kafka *k, const chan_acl_set *desired,
                         const chan_acl_scope *scope, bool dry_run, chan_error *err)
{
    int error = 0, read_error;
    chan_acl_set *actual = NULL;
    chan_acl_plan *plan = NULL;
    chan_kafka_report *r = NULL;
    chan_error read_err = CHAN_ERROR_INIT;

    *out = NULL;
    if (desired == NULL || scope == NULL)
        return chan_error_set(err, CHAN_EINVALID, "kafka: desired set and scope are required");
    read_error = chan_kafka_describe_acls(&actual, k, scope, &read_err);
    if (read_error < 0)
        chan_log(CHAN_LOG_WARN, LOG_MODULE,
                 "cannot read the cluster's ACLs; planning without deletes error=\"%s\"",
                 read_err.message);
    if ((error = chan_acl_plan_compute(
             &plan, desired, actual, scope,
             read_error < 0 ? CHAN_ACL_ACTUAL_UNKNOWN : CHAN_ACL_ACTUAL_KNOWN, err)) < 0)
        goto cleanup;
    if (chan_acl_set_count(chan_acl_plan_bypasses(plan)) > 0)
        chan_log(CHAN_LOG_WARN, LOG_MODULE,
                 "ACLs outside the registry grant access to managed resources count=%zu",
                 chan_acl_set_count(chan_acl_plan_bypasses(plan)));
    r = report_new();
    r->plan = plan;
    plan = NULL;
    if (!dry_run) {
        /* An unreachable cluster would only make every create time out as well. */
        bool unreachable = read_error == CHAN_EUNAVAILABLE;

        error = apply_into(r, k, r->plan, unreachable, "not attempted: the cluster was unreachable",
                           err);
    }
    if (read_error < 0) {
        if (err)
            *err = read_err;
        error = read_error;
    }
    *out = r;
    r = NULL;

cleanup:
    chan_kafka_report_free(r);
    chan_acl_plan_free(plan);
    chan_acl_set_free(actual);
    return error;
}
