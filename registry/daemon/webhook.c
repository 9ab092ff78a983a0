/*
 * webhook.c - the notifications of webhook.h: one thread that scans for
 * lifecycle events and delivers the events of the audit log to each
 * --webhook in order, with capped exponential backoff, as CloudEvents or
 * Slack-compatible JSON, signed with HMAC-SHA256 when a secret is set.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "chan/authz.h"
#include "chan/avro.h"
#include "chan/common.h"
#include "chan/leader.h"
#include "chan/model.h"
#include "chan/policy.h"
#include "chan/store.h"
#include "chan/version.h"

#include "config.h"
#include "daemon_metrics.h"
#include "webhook.h"

#define MODULE "webhook"

/** The name daemons sharing a store compete for. */
#define LEADER_NAME "webhooks"

/** Events read from the store per round and target. */
#define BATCH 50

/** Floors rise over entries older than this (a transaction is long done by then). */
#define SETTLE_SECONDS 120

/** How often floors are raised, milliseconds. */
#define ADVANCE_EVERY_MS 60000

/** Largest reply body read from a receiver (the rest is ignored). */
#define REPLY_MAX 4096

#define SECONDS_PER_DAY 86400

/* One webhook and its delivery state (thread-private). */
typedef struct target {
    const chand_webhook *hook;
    char key[2 * CHAN_TOKEN_DIGEST_LEN + 1]; /* digest of format and URL: the store's name */
    char *label;                             /* scheme://host for logs: URLs may hold secrets */
    int64_t floor;
    int64_t head_id;  /* the event the failures below are about */
    int64_t attempts; /* failed attempts of head_id */
    int64_t next_ms;  /* monotonic time of the next attempt */
    int64_t next_advance_ms;
} target;

struct chand_webhooks {
    const chand_config *config;
    chan_store *store;
    chan_leader *leader;
    target *targets;
    size_t n_targets;
    CURL *curl;
    int64_t next_scan_ms;
    bool was_leader;

    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stopping;     /* under mu; also read unlocked by the transfer callback */
    bool finished;
};

/* ------------------------------------------------------------------ */
/* Time and state                                                      */
/* ------------------------------------------------------------------ */

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool stopping(chand_webhooks *w)
{
    bool s;

    pthread_mutex_lock(&w->mu);
    s = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* Wait until deadline_ms (monotonic) or a stop.  @return true when stopping */
static bool wait_until(chand_webhooks *w, int64_t deadline_ms)
{
    struct timespec ts;
    bool s;

    ts.tv_sec = (time_t)(deadline_ms / 1000);
    ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
    pthread_mutex_lock(&w->mu);
    while (!w->stopping && monotonic_ms() < deadline_ms) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
            break;
    }
    s = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return s;
}

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/* Audit action -> event type.  One table: the events docs/notifications.md lists. */
static const struct {
    const char *action;
    const char *type;
} event_types[] = {
    {"channel.create", "contract.created"},
    {"channel.update", "contract.changed"},
    {"channel.delete", "contract.deleted"},
    {"channel.waiver.approve", "contract.waiver_approved"},
    {"schema.register", "schema.registered"},
    {"consumer.request", "consumer.pending"},
    {"consumer.register", "consumer.registered"},
    {"consumer.update", "consumer.updated"},
    {"consumer.approve", "consumer.approved"},
    {"consumer.reject", "consumer.rejected"},
    {"consumer.remove", "consumer.removed"},
    {"consumer.renew", "consumer.renewed"},
    {"consumer.stale", "consumer.stale"},
    {"channel.deprecating", "channel.deprecation_approaching"},
    {"channel.retired", "channel.retired"},
};

static const char *event_type(const char *action)
{
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(event_types); i++)
        if (strcmp(event_types[i].action, action) == 0)
            return event_types[i].type;
    return action;
}

/* What an audit object names: channel/<c>[/consumer/<n>] or subject/<s>/<v>. */
typedef struct event_object {
    char *channel;
    char *consumer;
    char *subject;
    int64_t version;
} event_object;

static void event_object_parse(event_object *out, const char *object)
{
    const char *rest, *slash;

    memset(out, 0, sizeof(*out));
    if (strncmp(object, "channel/", 8) == 0) {
        rest = object + 8;
        slash = strstr(rest, "/consumer/");
        if (slash != NULL) {
            out->channel = chan_xstrndup(rest, (size_t)(slash - rest));
            out->consumer = chan_xstrdup(slash + 10);
        } else {
            out->channel = chan_xstrdup(rest);
        }
    } else if (strncmp(object, "subject/", 8) == 0) {
        rest = object + 8;
        slash = strrchr(rest, '/');
        if (slash != NULL && chan_parse_int64(&out->version, slash + 1, 1, INT64_MAX) == 0)
            out->subject = chan_xstrndup(rest, (size_t)(slash - rest));
        else
            out->subject = chan_xstrdup(rest);
    }
}

static void event_object_dispose(event_object *o)
{
    free(o->channel);
    free(o->consumer);
    free(o->subject);
}

/* Append the strings of array a to b as "label: x, y" (nothing when empty). */
static void put_names(chan_buf *b, const char *label, const json_t *a)
{
    size_t i;
    json_t *v;

    if (!json_is_array(a) || json_array_size(a) == 0)
        return;
    chan_buf_printf(b, "; %s: ", label);
    json_array_foreach(a, i, v)
    {
        chan_buf_printf(b, "%s%s", i ? ", " : "", json_is_string(v) ? json_string_value(v) : "?");
    }
}

/* One line for people (the Slack text, the CloudEvents data's summary). */
static char *event_summary(const chan_audit_entry *e, const char *type, const event_object *o,
                           const json_t *detail)
{
    const char *ch = o->channel ? o->channel : "?";
    const char *c = o->consumer ? o->consumer : "?";
    json_int_t revision = json_integer_value(json_object_get(detail, "revision"));
    chan_buf b;

    chan_buf_init(&b);
    if (strcmp(type, "contract.created") == 0) {
        chan_buf_printf(&b, "Contract of channel %s created by %s (revision %" JSON_INTEGER_FORMAT,
                        ch, e->actor, revision);
        put_names(&b, "consumers", json_object_get(json_object_get(detail, "consumers"), "added"));
        chan_buf_puts(&b, ")");
    } else if (strcmp(type, "contract.changed") == 0) {
        const json_t *consumers = json_object_get(detail, "consumers");

        chan_buf_printf(&b, "Contract of channel %s changed by %s (revision %" JSON_INTEGER_FORMAT,
                        ch, e->actor, revision);
        put_names(&b, "changed", json_object_get(detail, "changed"));
        put_names(&b, "consumers added", json_object_get(consumers, "added"));
        put_names(&b, "consumers removed", json_object_get(consumers, "removed"));
        put_names(&b, "consumers updated", json_object_get(consumers, "updated"));
        chan_buf_puts(&b, ")");
    } else if (strcmp(type, "contract.deleted") == 0) {
        chan_buf_printf(&b, "Channel %s deleted by %s", ch, e->actor);
    } else if (strcmp(type, "contract.waiver_approved") == 0) {
        chan_buf_printf(&b, "Compatibility waiver of channel %s approved by %s", ch, e->actor);
    } else if (strcmp(type, "schema.registered") == 0) {
        chan_buf_printf(
            &b, "Schema %s version %" PRId64 " registered by %s (id %" JSON_INTEGER_FORMAT ")",
            o->subject ? o->subject : "?", o->version, e->actor,
            json_integer_value(json_object_get(detail, "id")));
    } else if (strcmp(type, "consumer.pending") == 0) {
        chan_buf_printf(&b,
                        "Consumer %s of channel %s requested by %s: waiting for the owners' "
                        "approval",
                        c, ch, e->actor);
    } else if (strcmp(type, "consumer.rejected") == 0) {
        const char *reason = json_string_value(json_object_get(detail, "reason"));

        chan_buf_printf(&b, "Consumer %s of channel %s rejected by %s%s%s", c, ch, e->actor,
                        reason ? ": " : "", reason ? reason : "");
    } else if (strcmp(type, "consumer.stale") == 0) {
        chan_buf_printf(&b,
                        "Registration of consumer %s on channel %s is stale: not renewed for "
                        "%" JSON_INTEGER_FORMAT " days",
                        c, ch, json_integer_value(json_object_get(detail, "age_days")));
    } else if (strcmp(type, "channel.deprecation_approaching") == 0) {
        chan_buf_printf(&b,
                        "Channel %s is deprecated from %s (in %" JSON_INTEGER_FORMAT
                        " days); from then on it accepts no new consumers",
                        ch, json_string_value(json_object_get(detail, "deprecation_date")),
                        json_integer_value(json_object_get(detail, "days_left")));
    } else if (strcmp(type, "channel.retired") == 0) {
        chan_buf_printf(&b, "Channel %s is retired since %s: its consumers lose their access", ch,
                        json_string_value(json_object_get(detail, "retirement_date")));
    } else if (strncmp(type, "consumer.", 9) == 0) {
        /* registered, updated, approved, removed, renewed */
        chan_buf_printf(&b, "Consumer %s of channel %s %s by %s", c, ch, type + 9, e->actor);
    } else {
        chan_buf_printf(&b, "%s %s by %s", e->action, e->object, e->actor);
    }
    return chan_buf_take(&b);
}

/* Changes listed in a summary; the data has them all. */
#define SUMMARY_CHANGES 5

/*
 * The field-level difference of subject's version from the version before
 * it (chan_avro_diff_compute), as a JSON array of {kind, path, old, new},
 * appended in short to summary.  NULL when there is no earlier version or
 * a schema cannot be read or parsed (the event goes without it).
 */
static json_t *schema_diff(chan_store *store, const char *subject, int64_t version,
                           chan_buf *summary)
{
    chan_schema_version *old_v = NULL, *new_v = NULL;
    chan_avro_schema *old_s = NULL, *new_s = NULL;
    chan_avro_diff *diff = NULL;
    json_t *out = NULL;
    size_t i, n;

    if (subject == NULL || version < 2 || version > INT32_MAX ||
        chan_store_version_get(store, &old_v, subject, (int)version - 1, true, NULL) < 0 ||
        chan_store_version_get(store, &new_v, subject, (int)version, true, NULL) < 0 ||
        chan_avro_schema_parse(&old_s, old_v->schema, strlen(old_v->schema), NULL) < 0 ||
        chan_avro_schema_parse(&new_s, new_v->schema, strlen(new_v->schema), NULL) < 0)
        goto cleanup;
    diff = chan_avro_diff_compute(old_s, new_s);
    n = chan_avro_diff_count(diff);
    out = json_array();
    chan_buf_printf(summary, "; %zu change%s from version %" PRId64, n, n == 1 ? "" : "s",
                    version - 1);
    for (i = 0; i < n; i++) {
        const chan_avro_change *c = chan_avro_diff_get(diff, i);

        json_array_append_new(out, json_pack("{s:s, s:s, s:o, s:o}", "kind", c->kind, "path",
                                             c->path, "old", chan_json_str_or_null(c->old_value),
                                             "new", chan_json_str_or_null(c->new_value)));
        if (i < SUMMARY_CHANGES)
            chan_buf_printf(summary, "%s %s %s", i ? "," : ":", c->kind,
                            *c->path ? c->path : "(top)");
    }
    if (n > SUMMARY_CHANGES)
        chan_buf_printf(summary, " and %zu more", n - SUMMARY_CHANGES);
cleanup:
    chan_avro_diff_free(diff);
    chan_avro_schema_free(old_s);
    chan_avro_schema_free(new_s);
    chan_schema_version_free(old_v);
    chan_schema_version_free(new_v);
    return out;
}

/*
 * The body of one delivery of e to hook (caller frees).  The event's data
 * is the same in both formats; CloudEvents wraps it in its envelope, Slack
 * gets the summary as text.
 */
static char *event_body(chan_store *store, const chan_audit_entry *e, const chand_webhook *hook)
{
    const char *type = event_type(e->action);
    json_t *detail = e->detail ? json_loads(e->detail, 0, NULL) : NULL;
    json_t *data, *root, *diff = NULL;
    event_object o;
    char id[32], *summary, *text;
    chan_buf b;

    event_object_parse(&o, e->object);
    chan_buf_init(&b);
    summary = event_summary(e, type, &o, detail);
    chan_buf_puts(&b, summary);
    free(summary);
    if (strcmp(e->action, "schema.register") == 0)
        diff = schema_diff(store, o.subject, o.version, &b);
    summary = chan_buf_take(&b);
    (void)snprintf(id, sizeof(id), "%" PRId64, e->id);
    data = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "summary", summary, "action",
                     e->action, "actor", e->actor, "object", e->object, "type", type, "channel",
                     chan_json_str_or_null(o.channel), "consumer",
                     chan_json_str_or_null(o.consumer), "detail", detail ? detail : json_null());
    if (o.subject != NULL) {
        json_object_set_new(data, "subject", json_string(o.subject));
        json_object_set_new(data, "version", o.version ? json_integer(o.version) : json_null());
        json_object_set_new(data, "schema_diff", diff ? diff : json_null());
    } else {
        json_decref(diff);
    }
    if (hook->format == CHAND_WEBHOOK_SLACK) {
        root = json_pack("{s:s, s:o}", "text", summary, "chanreg",
                         json_pack("{s:s, s:s, s:O}", "id", id, "type", type, "data", data));
    } else {
        root =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:O}", "specversion", "1.0", "id", id,
                      "source", "chanreg", "type", type, "subject", e->object, "time",
                      chan_json_time(e->ts), "datacontenttype", "application/json", "data", data);
    }
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    json_decref(data);
    free(summary);
    event_object_dispose(&o);
    return text;
}

/* ------------------------------------------------------------------ */
/* HTTP                                                                */
/* ------------------------------------------------------------------ */

static size_t discard_reply(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    chan_buf *b = userdata;
    size_t n = size * nmemb;

    (void)ptr;
    if (b->len < REPLY_MAX)
        chan_buf_put(b, ptr, n < REPLY_MAX - b->len ? n : REPLY_MAX - b->len);
    return n;
}

/* Abort a transfer when the daemon stops. */
static int xfer_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                         curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return stopping(userdata) ? 1 : 0;
}

/*
 * POST body to t.  @return 0 on a 2xx reply; otherwise -1 with *out_error
 * set (caller frees): the HTTP status, or the transport error.
 */
static int post(chand_webhooks *w, const target *t, const chan_audit_entry *e, const char *body,
                int64_t attempt, char **out_error)
{
    struct curl_slist *headers = NULL;
    chan_buf reply;
    char *h;
    CURLcode rc;
    long status = 0;
    int64_t now = (int64_t)time(NULL);
    int result = -1;

    *out_error = NULL;
    chan_buf_init(&reply);
    headers = curl_slist_append(headers, t->hook->format == CHAND_WEBHOOK_SLACK
                                             ? "Content-Type: application/json"
                                             : "Content-Type: application/cloudevents+json; "
                                               "charset=utf-8");
    h = chan_xasprintf("X-Chanreg-Event: %s", event_type(e->action));
    headers = curl_slist_append(headers, h);
    free(h);
    h = chan_xasprintf("X-Chanreg-Event-Id: %" PRId64, e->id);
    headers = curl_slist_append(headers, h);
    free(h);
    h = chan_xasprintf("X-Chanreg-Delivery-Attempt: %" PRId64, attempt);
    headers = curl_slist_append(headers, h);
    free(h);
    h = chan_xasprintf("X-Chanreg-Timestamp: %" PRId64, now);
    headers = curl_slist_append(headers, h);
    free(h);
    if (w->config->webhook_secret != NULL) {
        /* Signed: "<timestamp>.<body>", so that a captured body cannot be replayed later. */
        char mac[2 * CHAN_TOKEN_DIGEST_LEN + 1];
        char *signed_text = chan_xasprintf("%" PRId64 ".%s", now, body);

        chan_hmac_sha256_hex(mac, w->config->webhook_secret, strlen(w->config->webhook_secret),
                             signed_text, strlen(signed_text));
        free(signed_text);
        h = chan_xasprintf("X-Chanreg-Signature-256: sha256=%s", mac);
        headers = curl_slist_append(headers, h);
        free(h);
    }
    headers = curl_slist_append(headers, "Expect:");

    curl_easy_reset(w->curl);
    curl_easy_setopt(w->curl, CURLOPT_URL, t->hook->url);
    curl_easy_setopt(w->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(w->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, (long)w->config->webhook_timeout_ms);
    curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "chanregd/" CHAN_VERSION_STRING);
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, discard_reply);
    curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(w->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(w->curl, CURLOPT_XFERINFOFUNCTION, xfer_progress);
    curl_easy_setopt(w->curl, CURLOPT_XFERINFODATA, w);
    rc = curl_easy_perform(w->curl);
    if (rc != CURLE_OK) {
        *out_error = chan_xasprintf("%s", curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200 && status < 300)
            result = 0;
        else
            *out_error = chan_xasprintf("HTTP %ld", status);
    }
    curl_slist_free_all(headers);
    chan_buf_dispose(&reply);
    return result;
}

/* ------------------------------------------------------------------ */
/* Delivery                                                            */
/* ------------------------------------------------------------------ */

static int64_t backoff_ms(const chand_webhooks *w, int64_t attempts)
{
    int64_t d = w->config->webhook_retry_min_ms;

    while (--attempts > 0 && d < w->config->webhook_retry_max_ms)
        d *= 2;
    return d < w->config->webhook_retry_max_ms ? d : w->config->webhook_retry_max_ms;
}

/* Record e as done for t; a failure to record is logged (it is sent again later). */
static bool record_done(chand_webhooks *w, target *t, const chan_audit_entry *e, bool delivered,
                        const char *last_error)
{
    chan_error err = CHAN_ERROR_INIT;

    if (chan_store_webhook_done(w->store, t->key, e->id, delivered, t->attempts + 1, last_error,
                                &err) < 0 &&
        err.code != CHAN_ECONFLICT) {
        chan_log(CHAN_LOG_WARN, MODULE, "cannot record delivery target=%s event=%" PRId64 ": %s",
                 t->label, e->id, err.message);
        return false;
    }
    return true;
}

/* Deliver what is pending for t, in order, until a failure or the end. */
static void deliver(chand_webhooks *w, target *t)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_audit_entry **list = NULL;
    size_t n = 0, i;
    int64_t now_ms = monotonic_ms();

    if (now_ms >= t->next_advance_ms) {
        if (chan_store_webhook_advance(w->store, t->key, (int64_t)time(NULL) - SETTLE_SECONDS,
                                       &t->floor, &err) < 0)
            chan_log(CHAN_LOG_WARN, MODULE, "cannot raise the floor of target=%s: %s", t->label,
                     err.message);
        t->next_advance_ms = now_ms + ADVANCE_EVERY_MS;
    }
    if (chan_store_webhook_pending(w->store, t->key, t->floor, BATCH, &list, &n, &err) < 0) {
        /* Never act on a failed read: try again later. */
        chan_log(CHAN_LOG_WARN, MODULE, "cannot read pending events target=%s: %s", t->label,
                 err.message);
        t->next_ms = now_ms + w->config->webhook_retry_min_ms;
        return;
    }
    for (i = 0; i < n && !stopping(w); i++) {
        const chan_audit_entry *e = list[i];
        char *body = event_body(w->store, e, t->hook), *failure = NULL;
        int rc;

        if (e->id != t->head_id) {
            t->head_id = e->id;
            t->attempts = 0;
        }
        rc = post(w, t, e, body, t->attempts + 1, &failure);
        free(body);
        if (rc == 0) {
            chand_metrics_webhook_delivery("delivered");
            chan_log(CHAN_LOG_DEBUG, MODULE, "delivered target=%s event=%" PRId64 " type=%s",
                     t->label, e->id, event_type(e->action));
            (void)record_done(w, t, e, true, NULL);
            t->attempts = 0;
            continue;
        }
        if (stopping(w)) {
            free(failure);
            break;
        }
        if (e->ts < (int64_t)time(NULL) - w->config->webhook_give_up_hours * 3600) {
            chand_metrics_webhook_delivery("failed");
            chan_log(CHAN_LOG_WARN, MODULE,
                     "giving up target=%s event=%" PRId64 " type=%s attempts=%" PRId64 ": %s",
                     t->label, e->id, event_type(e->action), t->attempts + 1, failure);
            (void)record_done(w, t, e, false, failure);
            t->attempts = 0;
            free(failure);
            continue;
        }
        t->attempts++;
        chand_metrics_webhook_delivery("retry");
        t->next_ms = monotonic_ms() + backoff_ms(w, t->attempts);
        chan_log(CHAN_LOG_WARN, MODULE,
                 "delivery failed target=%s event=%" PRId64 " type=%s attempt=%" PRId64
                 " retry_in_ms=%" PRId64 ": %s",
                 t->label, e->id, event_type(e->action), t->attempts, t->next_ms - monotonic_ms(),
                 failure);
        free(failure);
        break;
    }
    chan_audit_entry_list_free(list, n);
}

/* ------------------------------------------------------------------ */
/* Lifecycle events                                                    */
/* ------------------------------------------------------------------ */

static void lifecycle_event(chand_webhooks *w, const char *key, const char *action,
                            const char *object, json_t *detail)
{
    chan_error err = CHAN_ERROR_INIT;
    char *text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    bool created = false;

    if (chan_store_lifecycle_event(w->store, key, action, object, text, &created, &err) < 0)
        chan_log(CHAN_LOG_WARN, MODULE, "cannot record lifecycle event %s: %s", key, err.message);
    else if (created)
        chan_log(CHAN_LOG_INFO, MODULE, "lifecycle event %s", key);
    free(text);
    json_decref(detail);
}

/*
 * Write the lifecycle events of today: each stale approved registration
 * (once per renewal), each channel within the deprecation warning window
 * (once per deprecation date) and each retired channel (once per date).
 */
static void scan_lifecycle(chand_webhooks *w)
{
    chan_channel_filter filter = CHAN_CHANNEL_FILTER_INIT;
    chan_channel_record **list = NULL;
    chan_error err = CHAN_ERROR_INIT;
    int64_t now = (int64_t)time(NULL), today = chan_date_today();
    int64_t max_age = w->config->registration_max_age_days * SECONDS_PER_DAY;
    size_t n = 0, i, k;

    if (chan_store_channel_list(w->store, &list, &n, &filter, &err) < 0) {
        chan_log(CHAN_LOG_WARN, MODULE, "lifecycle scan: cannot list channels: %s", err.message);
        return;
    }
    for (i = 0; i < n && !stopping(w); i++) {
        const chan_channel_record *ch = list[i];
        int64_t days;
        chan_lifecycle_stage stage =
            chan_policy_lifecycle_stage(ch, today, w->config->deprecation_warning_days, &days);
        char *key, *object;

        for (k = 0; k < ch->n_consumers; k++) {
            const chan_consumer_record *c = &ch->consumers[k];
            int64_t since = chan_consumer_registration_time(c);

            if (c->state != CHAN_CONSUMER_APPROVED || !chan_consumer_stale(c, now, max_age))
                continue;
            key = chan_xasprintf("consumer.stale/%s/%s/%" PRId64, ch->name, c->name, since);
            object = chan_xasprintf("channel/%s/consumer/%s", ch->name, c->name);
            lifecycle_event(w, key, "consumer.stale", object,
                            json_pack("{s:s, s:s, s:o, s:I}", "principal", c->principal, "group",
                                      c->group, "renewed_at", chan_json_time(since), "age_days",
                                      (json_int_t)((now - since) / SECONDS_PER_DAY)));
            free(key);
            free(object);
        }
        object = chan_xasprintf("channel/%s", ch->name);
        if (stage == CHAN_LIFECYCLE_DEPRECATING) {
            key = chan_xasprintf("channel.deprecating/%s/%s", ch->name, ch->deprecation_date);
            lifecycle_event(w, key, "channel.deprecating", object,
                            json_pack("{s:s, s:I, s:I}", "deprecation_date", ch->deprecation_date,
                                      "days_left", (json_int_t)days, "consumers",
                                      (json_int_t)ch->n_consumers));
            free(key);
        } else if (stage == CHAN_LIFECYCLE_RETIRED) {
            const char *date = chan_policy_retirement(ch);

            key = chan_xasprintf("channel.retired/%s/%s", ch->name, date);
            lifecycle_event(w, key, "channel.retired", object,
                            json_pack("{s:s, s:I}", "retirement_date", date, "consumers",
                                      (json_int_t)ch->n_consumers));
            free(key);
        }
        free(object);
    }
    chan_log(CHAN_LOG_DEBUG, MODULE, "lifecycle scan done channels=%zu", n);
    chan_channel_record_list_free(list, n);
}

/* ------------------------------------------------------------------ */
/* Thread                                                              */
/* ------------------------------------------------------------------ */

static void *run(void *arg)
{
    chand_webhooks *w = arg;

    while (!stopping(w)) {
        chan_error err = CHAN_ERROR_INIT;
        bool leader = true;
        int64_t now_ms = monotonic_ms(), next_ms = now_ms + w->config->webhook_poll_ms;
        size_t i;

        if (w->leader != NULL && chan_leader_check(w->leader, &leader, &err) < 0)
            chan_log(CHAN_LOG_WARN, MODULE, "leader election: %s", err.message);
        if (leader != w->was_leader)
            chan_log(CHAN_LOG_INFO, MODULE, "%s leader=%s",
                     leader ? "this daemon delivers the notifications" : "another daemon delivers",
                     leader ? "true" : "false");
        w->was_leader = leader;
        if (leader) {
            if (now_ms >= w->next_scan_ms) {
                scan_lifecycle(w);
                w->next_scan_ms = monotonic_ms() + w->config->lifecycle_scan_interval * 1000;
            }
            for (i = 0; i < w->n_targets && !stopping(w); i++) {
                target *t = &w->targets[i];

                if (monotonic_ms() >= t->next_ms)
                    deliver(w, t);
                if (t->next_ms > monotonic_ms() && t->next_ms < next_ms)
                    next_ms = t->next_ms;
            }
        }
        (void)wait_until(w, next_ms);
    }
    pthread_mutex_lock(&w->mu);
    w->finished = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* "scheme://host[:port]" of url, for logs: no user, password, path or query. */
static char *url_label(const char *url)
{
    const char *sep = strstr(url, "://");
    const char *host = sep ? sep + 3 : url;
    size_t len = strcspn(host, "/?#");
    const char *at = memchr(host, '@', len);

    while (at != NULL) {
        len -= (size_t)(at + 1 - host);
        host = at + 1;
        at = memchr(host, '@', len);
    }
    return chan_xasprintf("%.*s://%.*s", sep ? (int)(sep - url) : 0, url, (int)len, host);
}

int chand_webhooks_new(chand_webhooks **out, const chand_config *config, chan_store *store,
                       chan_error *err)
{
    chand_webhooks *w = NULL;
    pthread_condattr_t cattr;
    size_t i;
    int error = 0;

    assert(out != NULL && config != NULL && store != NULL);
    *out = NULL;
    if (config->n_webhooks == 0)
        return 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return chan_error_set(err, CHAN_EINTERNAL, "cannot initialise libcurl");
    w = chan_xcalloc(1, sizeof(*w));
    w->config = config;
    w->store = store;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &cattr);
    pthread_condattr_destroy(&cattr);
    w->targets = chan_xcalloc(config->n_webhooks, sizeof(*w->targets));
    w->n_targets = config->n_webhooks;
    for (i = 0; i < config->n_webhooks; i++) {
        target *t = &w->targets[i];
        char *id = chan_xasprintf(
            "%s %s", config->webhooks[i].format == CHAND_WEBHOOK_SLACK ? "slack" : "cloudevents",
            config->webhooks[i].url);

        t->hook = &config->webhooks[i];
        chan_token_digest_hex(t->key, id, strlen(id));
        free(id);
        t->label = url_label(t->hook->url);
    }
    if ((w->curl = curl_easy_init()) == NULL) {
        error = chan_error_set(err, CHAN_EINTERNAL, "cannot create an HTTP client");
        goto cleanup;
    }
    if ((error = chan_leader_new(&w->leader, config->db, LEADER_NAME, err)) < 0)
        goto cleanup;
    chan_leader_use_store(w->leader, store); /* the store's deadlines, and its abort */
    /*
     * Register the targets now, before the server takes requests: a new
     * target is sent what happens after its registration, so nothing that
     * this daemon acknowledges is missed.
     */
    for (i = 0; i < w->n_targets; i++) {
        target *t = &w->targets[i];

        if ((error = chan_store_webhook_target(store, t->key, &t->floor, err)) < 0) {
            chan_error_prefix(err, "webhook %s", t->label);
            goto cleanup;
        }
        chan_log(CHAN_LOG_INFO, MODULE, "target=%s format=%s from_event=%" PRId64, t->label,
                 t->hook->format == CHAND_WEBHOOK_SLACK ? "slack" : "cloudevents", t->floor + 1);
    }
    chan_log(CHAN_LOG_INFO, MODULE,
             "notifications webhooks=%zu signed=%s timeout_ms=%lld retry_ms=%lld..%lld "
             "give_up_hours=%lld lifecycle_scan_s=%lld leader_election=%s",
             w->n_targets, config->webhook_secret ? "true" : "false",
             (long long)config->webhook_timeout_ms, (long long)config->webhook_retry_min_ms,
             (long long)config->webhook_retry_max_ms, (long long)config->webhook_give_up_hours,
             (long long)config->lifecycle_scan_interval,
             chan_leader_kind_name(chan_leader_get_kind(w->leader)));
    *out = w;
    w = NULL;
cleanup:
    chand_webhooks_free(w);
    return error;
}

int chand_webhooks_start(chand_webhooks *w, chan_error *err)
{
    if (w == NULL)
        return 0;
    if (pthread_create(&w->thread, NULL, run, w) != 0)
        return chan_error_set(err, CHAN_EINTERNAL, "cannot start the notification thread");
    w->thread_started = true;
    return 0;
}

bool chand_webhooks_stop(chand_webhooks *w, int64_t timeout_ms)
{
    struct timespec ts;
    int64_t deadline;
    bool finished;

    if (w == NULL || !w->thread_started)
        return true;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + (timeout_ms > 0 ? timeout_ms : 0);
    ts.tv_sec = (time_t)(deadline / 1000);
    ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    while (!w->finished) {
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT)
            break;
    }
    finished = w->finished;
    pthread_mutex_unlock(&w->mu);
    if (!finished) {
        chan_log(CHAN_LOG_WARN, MODULE,
                 "the notifier did not stop within %lld ms; leaving it to the exit",
                 (long long)timeout_ms);
        return false;
    }
    pthread_join(w->thread, NULL);
    w->thread_started = false;
    return true;
}

void chand_webhooks_free(chand_webhooks *w)
{
    size_t i;

    if (w == NULL)
        return;
    assert(!w->thread_started);
    for (i = 0; i < w->n_targets; i++)
        free(w->targets[i].label);
    free(w->targets);
    chan_leader_free(w->leader);
    if (w->curl != NULL)
        curl_easy_cleanup(w->curl);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
