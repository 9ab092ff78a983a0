/*
 * api_acl.c - Kafka admission endpoints of chanregd (see
 * docs/kafka.md):
 *
 *   GET  /v1/acl/plan               the ACL plan computed now against the broker
 *   POST /v1/acl/apply              run one reconciler pass now (apply mode, leader)
 *   GET  /v1/acl/status             the reconciler's last pass, leader flag, mode
 *   GET  /v1/acl/applied            the bindings in place after the last recorded apply
 *   GET  /v1/admission/{principal}  which channels a principal may read and write, and
 *                                   why, and the quota that applies (chan_acl_quota)
 *   GET  /v1/topics                 topic discovery: the cluster's topics, managed or not
 *   GET  /v1/topics/plan            topic configs that differ from the contracts
 *   POST /v1/topics/apply           fix them (admin; ?dry_run=true sends nothing;
 *                                   ?create_missing=true&partitions=N creates missing topics)
 *
 * The first three need a reconciler (--kafka-bootstrap); without one the
 * plan and apply answer 503 with error code 50310.  The admission check
 * reads the store only and needs no broker.
 *
 * API error codes of this module:
 *   40420 no ACL apply has been recorded yet
 *   40920 ACLs are not applied in this --acl-mode
 *   40921 this daemon is not the leader
 *   42220 not a principal ("Type:name")      42221 bad as_of date
 *   42222 bad avg_message_bytes or headroom
 *   42223 bad partitions or replication_factor for create_missing
 *   50310 Kafka is not configured             50311 the pass failed (broker or store)
 *   50312 the stored contracts give no valid ACL set
 *   50313 the topics or their configs could not be read: nothing planned
 *   50314 a topic config apply failed
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "chan/acl.h"
#include "chan/common.h"
#include "chan/error.h"
#include "chan/policy.h"
#include "chan/store.h"

#include "api.h"
#include "config.h"
#include "reconciler.h"

#define MODULE "api"

#define E_NEVER_APPLIED  40420
#define E_MODE           40920
#define E_NOT_LEADER     40921
#define E_BAD_PRINCIPAL  42220
#define E_BAD_DATE       42221
#define E_BAD_QUOTA_ARG  42222
#define E_BAD_CREATE     42223
#define E_NO_KAFKA       50310
#define E_TOPICS_UNREAD  50313
#define E_TOPICS_FAILED  50314
#define E_PASS_FAILED    50311
#define E_BAD_CONTRACTS  50312
#define PRINCIPAL_MAX    1024
#define NO_KAFKA_MESSAGE "Kafka is not configured: start chanregd with --kafka-bootstrap"

/* Set once by main.c before the server starts; read-only afterwards. */
static chand_reconciler *reconciler;

void chand_api_acl_set_reconciler(chand_reconciler *r)
{
    reconciler = r;
}

/* ------------------------------------------------------------------ */
/* /v1/acl                                                              */
/* ------------------------------------------------------------------ */

static int acl_plan(chand_request *req, chan_error *err)
{
    json_t *doc = NULL;
    int error;

    if (reconciler == NULL)
        return chand_reply_error(req, E_NO_KAFKA, "%s", NO_KAFKA_MESSAGE);
    error = chand_reconciler_plan(reconciler, &doc, err);
    if (error == CHAN_EINVALID)
        return chand_http_error(err, CHAN_EINTERNAL, E_BAD_CONTRACTS,
                                "The stored contracts do not give a valid ACL set: %s",
                                err->message);
    if (error < 0)
        return error;
    return chand_reply_json(req, 200, doc);
}

static int acl_apply(chand_request *req, chan_error *err)
{
    json_t *doc = NULL;
    int error;

    if (reconciler == NULL)
        return chand_reply_error(req, E_NO_KAFKA, "%s", NO_KAFKA_MESSAGE);
    if (chand_reconciler_mode(reconciler) != CHAND_ACL_MODE_APPLY)
        return chand_reply_error(req, E_MODE,
                                 "ACLs are not applied in --acl-mode %s: this daemon only "
                                 "plans. Start it with --acl-mode apply.",
                                 chand_acl_mode_name(chand_reconciler_mode(reconciler)));
    error = chand_reconciler_apply(reconciler, chand_request_actor(req), &doc, err);
    if (doc == NULL) {
        if (error == CHAN_ECONFLICT)
            return chand_reply_error(req, E_NOT_LEADER,
                                     "This daemon is not the leader; another daemon reconciles "
                                     "the ACLs. Ask it, or see GET /v1/acl/status.");
        return error < 0 ? error : chand_http_error(err, CHAN_EINTERNAL, 50000, "no report");
    }
    chan_log(CHAN_LOG_INFO, MODULE, "acl apply requested actor=%s ok=%s request_id=%s",
             chand_request_actor(req), error == 0 ? "true" : "false", chand_request_id(req));
    if (error < 0) {
        json_object_set_new(doc, "error_code", json_integer(E_PASS_FAILED));
        json_object_set_new(doc, "message", json_string(err->message));
        return chand_reply_json(req, chand_http_status_of(E_PASS_FAILED), doc);
    }
    return chand_reply_json(req, 200, doc);
}

static int acl_status(chand_request *req, chan_error *err)
{
    const chand_config *config = chand_request_config(req);

    if (reconciler == NULL)
        return chand_reply_json(req, 200,
                                json_pack("{s:b,s:s,s:b,s:b,s:n,s:s}", "kafka_configured", 0,
                                          "mode", config->acl_mode ? config->acl_mode : "off",
                                          "running", 0, "leader", 0, "last_pass", "message",
                                          NO_KAFKA_MESSAGE));
    return chand_reply_json(req, 200, chand_reconciler_status(reconciler));
}

/* GET /v1/topics[?refresh=true]: topic discovery (chand_reconciler_topics). */
static int topics_list(chand_request *req, chan_error *err)
{
    json_t *doc = NULL;
    bool refresh = false;
    int error;

    if (reconciler == NULL)
        return chand_reply_error(req, E_NO_KAFKA, "%s", NO_KAFKA_MESSAGE);
    if ((error = chand_request_query_bool(&refresh, req, "refresh", false, err)) < 0)
        return error;
    if ((error = chand_reconciler_topics(reconciler, &doc, refresh, err)) < 0)
        return error;
    return chand_reply_json(req, 200, doc);
}

/* GET /v1/topics/plan and POST /v1/topics/apply[?dry_run=true]. */
static int topic_configs(chand_request *req, bool apply, chan_error *err)
{
    json_t *doc = NULL;
    bool dry_run = false, create_missing = false;
    chand_topic_create create = {0, 1};
    const char *partitions = chand_request_query(req, "partitions");
    const char *replication = chand_request_query(req, "replication_factor");
    int64_t v;
    int error;

    if (reconciler == NULL)
        return chand_reply_error(req, E_NO_KAFKA, "%s", NO_KAFKA_MESSAGE);
    if (apply && ((error = chand_request_query_bool(&dry_run, req, "dry_run", false, err)) < 0 ||
                  (error = chand_request_query_bool(&create_missing, req, "create_missing", false,
                                                    err)) < 0))
        return error;
    if (create_missing) {
        if (partitions == NULL || chan_parse_int64(&v, partitions, 1, 100000) < 0)
            return chand_reply_error(req, E_BAD_CREATE,
                                     "create_missing needs partitions=N (1 to 100000).");
        create.partitions = (int32_t)v;
        if (replication != NULL && chan_parse_int64(&v, replication, 1, 32767) < 0)
            return chand_reply_error(req, E_BAD_CREATE,
                                     "replication_factor must be a number from 1 to 32767.");
        create.replication_factor = replication != NULL ? (int16_t)v : 1;
    }
    error = chand_reconciler_topic_pass(reconciler, apply, dry_run, &create,
                                        chand_request_actor(req), &doc, err);
    if (doc == NULL && error < 0)
        return chand_reply_error(req, E_TOPICS_UNREAD,
                                 "The cluster's topics or their configs could not be read: "
                                 "nothing is planned. %s",
                                 err->message);
    if (doc == NULL)
        return error < 0 ? error : chand_http_error(err, CHAN_EINTERNAL, 50000, "no plan");
    if (error < 0) {
        json_object_set_new(doc, "error_code", json_integer(E_TOPICS_FAILED));
        json_object_set_new(doc, "message", json_string(err->message));
        return chand_reply_json(req, chand_http_status_of(E_TOPICS_FAILED), doc);
    }
    return chand_reply_json(req, 200, doc);
}

static int topics_plan(chand_request *req, chan_error *err)
{
    return topic_configs(req, false, err);
}

static int topics_apply(chand_request *req, chan_error *err)
{
    return topic_configs(req, true, err);
}

/* The applied state of the last recorded ACL apply (store only, no broker). */
static int acl_applied(chand_request *req, chan_error *err)
{
    char *text = NULL;
    int64_t at = 0;
    json_t *bindings;
    int error;

    error = chan_store_acl_applied_get(chand_request_store(req), &text, &at, err);
    if (error == CHAN_ENOTFOUND)
        return chand_reply_error(req, E_NEVER_APPLIED,
                                 "No ACL apply has been recorded yet: the bindings are recorded "
                                 "after the first apply that changes something.");
    if (error < 0)
        return error;
    bindings = json_loads(text, 0, NULL);
    free(text);
    return chand_reply_json(req, 200,
                            json_pack("{s:o,s:o}", "applied_at", chan_json_time(at), "bindings",
                                      bindings ? bindings : json_array()));
}

/* ------------------------------------------------------------------ */
/* /v1/admission/{principal}                                            */
/* ------------------------------------------------------------------ */

/* "Type:name", printable ASCII/UTF-8 without control characters. */
static bool principal_ok(const char *p)
{
    const char *colon = strchr(p, ':');
    size_t n = strlen(p);

    if (n == 0 || n > PRINCIPAL_MAX || colon == NULL || colon == p || colon[1] == '\0')
        return false;
    for (; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static json_t *json_str(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;

    return j ? j : json_null();
}

/*
** A "denied" entry: a registration of the principal that grants nothing, with
** the consumer's state (null for a producer) and why: the channel is retired
** (access CHAN_ACCESS_RETIRED), or the consumer awaits the owner's approval or
** was rejected (chan_policy_consumer_access).
*/
static void add_denied(json_t *denied, const chan_channel_record *ch, const char *role,
                       const chan_consumer_record *c, chan_consumer_access access)
{
    char *reason;

    if (c && access == CHAN_ACCESS_PENDING)
        reason = chan_xasprintf("consumer \"%s\" of channel %s awaits the approval of the "
                                "owning team %s: it grants no access yet",
                                c->name, ch->name, ch->owner_team ? ch->owner_team : "");
    else if (c && access == CHAN_ACCESS_REJECTED)
        reason = chan_xasprintf("consumer \"%s\" of channel %s was rejected by %s%s%s; it "
                                "grants no access",
                                c->name, ch->name, c->decided_by ? c->decided_by : "the owner",
                                c->decision_reason ? ": " : "",
                                c->decision_reason ? c->decision_reason : "");
    else if (c)
        reason = chan_xasprintf("channel %s is retired since %s: the registration of consumer "
                                "\"%s\" grants no access any more",
                                ch->name, chan_policy_retirement(ch), c->name);
    else
        reason = chan_xasprintf("channel %s is retired since %s: the producer registration "
                                "grants no access any more",
                                ch->name, chan_policy_retirement(ch));
    json_array_append_new(
        denied, json_pack("{s:o,s:s,s:o,s:o,s:o}", "channel", json_str(ch->name), "role", role,
                          "consumer", c ? json_str(c->name) : json_null(), "state",
                          c ? json_string(chan_consumer_state_name(c->state)) : json_null(),
                          "reason", json_str(reason)));
    free(reason);
}

/*
** Parse the quota query parameters of /v1/admission: avg_message_bytes (a
** number > 0, default CHAN_ACL_DEFAULT_AVG_MESSAGE_BYTES) and headroom (>= 1,
** default 1).  Returns false when one is not such a number.
*/
static bool quota_args(double *out_size, double *out_headroom, const chand_request *req)
{
    const char *size = chand_request_query(req, "avg_message_bytes");
    const char *headroom = chand_request_query(req, "headroom");
    char *end = NULL;

    *out_size = CHAN_ACL_DEFAULT_AVG_MESSAGE_BYTES;
    *out_headroom = 1.0;
    if (size != NULL) {
        errno = 0;
        *out_size = strtod(size, &end);
        if (errno != 0 || end == size || *end != '\0' || !isfinite(*out_size) || *out_size <= 0)
            return false;
    }
    if (headroom != NULL) {
        errno = 0;
        *out_headroom = strtod(headroom, &end);
        if (errno != 0 || end == headroom || *end != '\0' || !isfinite(*out_headroom) ||
            *out_headroom < 1.0)
            return false;
    }
    return true;
}

/* The "quota" member of the admission reply: chan_acl_quota, the exports' rule. */
static int quota_json(json_t **out, const chan_channel_record *const *channels, size_t n,
                      const char *principal, const char *as_of, double size, double headroom,
                      chan_error *err)
{
    chan_acl_export_options opts = CHAN_ACL_EXPORT_OPTIONS_INIT;
    chan_acl_quota_rates q;
    int error;

    opts.as_of = as_of;
    opts.avg_message_bytes = size;
    opts.quota_headroom = headroom;
    *out = NULL;
    if ((error = chan_acl_quota(&q, channels, n, principal, &opts, err)) < 0)
        return error;
    *out = json_pack("{s:I,s:I,s:f,s:f,s:f,s:f}", "consumer_byte_rate",
                     (json_int_t)q.consumer_byte_rate, "producer_byte_rate",
                     (json_int_t)q.producer_byte_rate, "consumer_peak_msgs", q.consumer_msgs,
                     "producer_peak_msgs", q.producer_msgs, "default_avg_message_bytes", size,
                     "headroom", headroom);
    return 0;
}

static int admission(chand_request *req, chan_error *err)
{
    const char *principal = chand_request_param(req, "principal");
    const char *as_of = chand_request_query(req, "as_of");
    chan_channel_record **channels = NULL;
    json_t *read = json_array(), *write = json_array(), *denied = json_array(), *doc;
    json_t *quota = NULL;
    double size, headroom;
    int64_t today;
    size_t n = 0, i, k;
    char today_text[16];
    char *message;
    int error = 0;

    if (principal == NULL || !principal_ok(principal)) {
        error =
            chand_reply_error(req, E_BAD_PRINCIPAL,
                              "Not a Kafka principal: expected Type:name, e.g. User:billing-svc.");
        goto cleanup;
    }
    if (as_of != NULL) {
        if (!chan_date_parse(as_of, &today)) {
            error = chand_reply_error(req, E_BAD_DATE, "as_of must be a date YYYY-MM-DD.");
            goto cleanup;
        }
        snprintf(today_text, sizeof(today_text), "%s", as_of);
    } else {
        time_t now = time(NULL);
        struct tm tm;

        today = chan_date_today();
        if (gmtime_r(&now, &tm) == NULL ||
            strftime(today_text, sizeof(today_text), "%Y-%m-%d", &tm) == 0)
            today_text[0] = '\0';
    }
    if (!quota_args(&size, &headroom, req)) {
        error = chand_reply_error(req, E_BAD_QUOTA_ARG,
                                  "avg_message_bytes must be a number above 0 and headroom a "
                                  "number of at least 1.");
        goto cleanup;
    }
    if ((error = chan_store_channel_list(chand_request_store(req), &channels, &n, NULL, err)) < 0)
        goto cleanup;
    if (quota_json(&quota, (const chan_channel_record *const *)channels, n, principal,
                   today_text[0] ? today_text : NULL, size, headroom, err) < 0) {
        /* Out of range for a quota: say so, the access part still holds. */
        quota = json_pack("{s:s}", "error", err ? err->message : "invalid quota");
        chan_error_clear(err);
    }

    for (i = 0; i < n; i++) {
        const chan_channel_record *ch = channels[i];
        const char *ends = chan_policy_retirement(ch);
        bool retired = chan_policy_channel_retired(ch, today);

        for (k = 0; k < ch->n_consumers; k++) {
            const chan_consumer_record *c = &ch->consumers[k];
            chan_consumer_access access;
            char *reason;

            if (c->principal == NULL || strcmp(c->principal, principal) != 0)
                continue;
            access = chan_policy_consumer_access(ch, c, today);
            if (access != CHAN_ACCESS_GRANTED) {
                add_denied(denied, ch, "consumer", c, access);
                continue;
            }
            if (!chan_policy_consumer_grants(ch, c, today))
                continue; /* pending or rejected: no access */
            reason = chan_xasprintf("registered consumer \"%s\" of channel %s: READ and DESCRIBE "
                                    "on the topic, READ on group %s%s%s",
                                    c->name, ch->name, c->group, ends ? "; access ends on " : "",
                                    ends ? ends : "");
            json_array_append_new(read,
                                  json_pack("{s:o,s:o,s:o,s:o}", "channel", json_str(ch->name),
                                            "group", json_str(c->group), "consumer",
                                            json_str(c->name), "reason", json_str(reason)));
            free(reason);
        }
        for (k = 0; k < ch->n_producers; k++) {
            const chan_producer_record *pr = &ch->producers[k];
            char *reason;

            if (pr->principal == NULL || strcmp(pr->principal, principal) != 0)
                continue;
            if (retired) {
                add_denied(denied, ch, "producer", NULL, CHAN_ACCESS_RETIRED);
                continue;
            }
            reason = chan_xasprintf("registered producer of channel %s: WRITE and DESCRIBE on the "
                                    "topic%s%s",
                                    ch->name, ends ? "; access ends on " : "", ends ? ends : "");
            json_array_append_new(write, json_pack("{s:o,s:o}", "channel", json_str(ch->name),
                                                   "reason", json_str(reason)));
            free(reason);
        }
    }

    if (json_array_size(read) + json_array_size(write) + json_array_size(denied) == 0)
        message = chan_xasprintf("%s is not registered on any channel: it gets no access to the "
                                 "registry's topics",
                                 principal);
    else
        message = chan_xasprintf("%s may read %zu and write %zu channel(s); %zu registration(s) "
                                 "grant nothing",
                                 principal, json_array_size(read), json_array_size(write),
                                 json_array_size(denied));
    doc = json_object();
    json_object_set_new(doc, "principal", json_str(principal));
    json_object_set_new(doc, "as_of", json_str(today_text));
    json_object_set_new(
        doc, "registered",
        json_boolean(json_array_size(read) + json_array_size(write) + json_array_size(denied) > 0));
    json_object_set(doc, "read", read);
    json_object_set(doc, "write", write);
    json_object_set(doc, "denied", denied);
    json_object_set(doc, "quota", quota);
    json_object_set_new(doc, "message", json_str(message));
    free(message);
    error = chand_reply_json(req, 200, doc);

cleanup:
    json_decref(read);
    json_decref(write);
    json_decref(denied);
    json_decref(quota);
    chan_channel_record_list_free(channels, n);
    return error;
}

const chand_route chand_api_acl_routes[] = {
    {"GET", "/v1/acl/plan", acl_plan, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"POST", "/v1/acl/apply", acl_apply, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
    {"GET", "/v1/acl/status", acl_status, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"GET", "/v1/acl/applied", acl_applied, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"GET", "/v1/admission/{principal}", admission, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"GET", "/v1/topics", topics_list, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"GET", "/v1/topics/plan", topics_plan, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"POST", "/v1/topics/apply", topics_apply, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
};

const size_t chand_api_acl_routes_count = CHAN_ARRAY_SIZE(chand_api_acl_routes);
