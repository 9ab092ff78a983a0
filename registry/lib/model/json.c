/*
 * json.c - the JSON form of the domain records: the objects of the channels
 * API (chan_channel_record_to_json, chan_consumer_record_to_json) and the
 * way back (chan_channel_record_from_json), which chanctl uses on the
 * registry's replies.  Times are RFC 3339 strings in UTC.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan/common.h"
#include "chan/model.h"

#define MODULE "model"

#define SECONDS_PER_DAY 86400

static const chan_record_json_options default_options = CHAN_RECORD_JSON_OPTIONS_INIT;

/* ------------------------------------------------------------------ */
/* Record -> JSON                                                      */
/* ------------------------------------------------------------------ */

/* Unix seconds as an RFC 3339 UTC string ("2026-11-23T09:17:47Z"). */
json_t *chan_json_time(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[64];

    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

json_t *chan_json_time_or_null(int64_t t)
{
    return t > 0 ? chan_json_time(t) : json_null();
}

/* A string or null; strings that are not UTF-8 (never stored by the store) become null. */
json_t *chan_json_str_or_null(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;

    return j ? j : json_null();
}

/* peak_rate_msgs is a double in the record but an integer in the contract format. */
static json_t *json_rate(double v)
{
    if (isfinite(v) && v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(isfinite(v) ? v : 0.0);
}

/*
** The stored contract document as JSON.  It is always the canonical JSON
** rendering of the contract; should it not parse, it is returned as a string
** rather than dropped.
*/
static json_t *document_json(const char *document)
{
    json_t *j;

    if (document == NULL)
        return json_null();
    j = json_loads(document, JSON_DECODE_ANY, NULL);
    if (j == NULL) {
        chan_log(CHAN_LOG_WARN, MODULE, "stored channel document is not JSON");
        j = chan_json_str_or_null(document);
    }
    return j;
}

json_t *chan_consumer_record_to_json(const chan_consumer_record *c,
                                     const chan_record_json_options *opts)
{
    json_t *o = json_object();
    int64_t now, age;

    assert(c != NULL);
    if (opts == NULL)
        opts = &default_options;
    now = opts->now;
    age = c->renewed_at > 0 && now > c->renewed_at ? (now - c->renewed_at) / SECONDS_PER_DAY : 0;

    json_object_set_new(o, "name", chan_json_str_or_null(c->name));
    json_object_set_new(o, "principal", chan_json_str_or_null(c->principal));
    json_object_set_new(o, "group", chan_json_str_or_null(c->group));
    json_object_set_new(o, "scenario", chan_json_str_or_null(c->scenario));
    json_object_set_new(o, "sla_p99_ms", json_integer(c->sla_p99_ms));
    json_object_set_new(o, "peak_rate_msgs", json_rate(c->peak_rate_msgs));
    json_object_set_new(o, "degradation", chan_json_str_or_null(c->degradation));
    json_object_set_new(o, "registered_at", chan_json_time(c->registered_at));
    json_object_set_new(o, "renewed_at", chan_json_time(c->renewed_at));
    json_object_set_new(o, "age_days", json_integer(age));
    json_object_set_new(o, "stale", json_boolean(chan_consumer_stale(c, now, opts->max_age)));
    json_object_set_new(o, "origin", json_string(chan_consumer_origin_name(c->origin)));
    json_object_set_new(o, "state", json_string(chan_consumer_state_name(c->state)));
    json_object_set_new(o, "requester_team", chan_json_str_or_null(c->requester_team));
    json_object_set_new(o, "requested_by", chan_json_str_or_null(c->requested_by));
    json_object_set_new(o, "decided_by", chan_json_str_or_null(c->decided_by));
    json_object_set_new(o, "decided_at", chan_json_time_or_null(c->decided_at));
    json_object_set_new(o, "decision_reason", chan_json_str_or_null(c->decision_reason));
    return o;
}

/* The channel's waiver {"reason", "approved_by", "approved_at"}; rec has a waiver reason. */
static json_t *waiver_json(const chan_channel_record *rec)
{
    assert(rec->waiver_reason != NULL);
    return json_pack("{s:o, s:o, s:o}", "reason", chan_json_str_or_null(rec->waiver_reason),
                     "approved_by", chan_json_str_or_null(rec->waiver_approved_by), "approved_at",
                     chan_json_time_or_null(rec->waiver_approved_at));
}

json_t *chan_channel_record_to_json(const chan_channel_record *rec,
                                    const chan_record_json_options *opts)
{
    json_t *o = json_object();
    json_t *consumers = json_array();
    json_t *producers = json_array();
    size_t i;

    assert(rec != NULL);
    if (opts == NULL)
        opts = &default_options;
    json_object_set_new(o, "name", chan_json_str_or_null(rec->name));
    json_object_set_new(o, "revision", json_integer(rec->revision));
    json_object_set_new(o, "created_at", chan_json_time(rec->created_at));
    json_object_set_new(o, "updated_at", chan_json_time(rec->updated_at));
    json_object_set_new(o, "owner_team", chan_json_str_or_null(rec->owner_team));
    json_object_set_new(o, "maintainer", chan_json_str_or_null(rec->maintainer));
    json_object_set_new(o, "peak_qps", json_integer(rec->peak_qps));
    json_object_set_new(o, "retention_hours", json_integer(rec->retention_hours));
    json_object_set_new(o, "deprecation_date", chan_json_str_or_null(rec->deprecation_date));
    json_object_set_new(o, "retirement_date", chan_json_str_or_null(rec->retirement_date));
    json_object_set_new(o, "subject", chan_json_str_or_null(rec->subject));
    json_object_set_new(o, "compatibility", chan_json_str_or_null(rec->compatibility));
    /* Only with a reason: the stored channels have none until the store keeps them. */
    if (rec->waiver_reason != NULL)
        json_object_set_new(o, "waiver", waiver_json(rec));
    if (opts->with_document)
        json_object_set_new(o, "contract", document_json(rec->document));
    for (i = 0; i < rec->n_consumers; i++)
        json_array_append_new(consumers, chan_consumer_record_to_json(&rec->consumers[i], opts));
    for (i = 0; i < rec->n_producers; i++)
        json_array_append_new(
            producers,
            json_pack("{s:o}", "principal", chan_json_str_or_null(rec->producers[i].principal)));
    json_object_set_new(o, "consumers", consumers);
    json_object_set_new(o, "producers", producers);
    return o;
}

/* ------------------------------------------------------------------ */
/* JSON -> record                                                      */
/* ------------------------------------------------------------------ */

/* JSON type name for messages, with its article ("an integer"). */
const char *chan_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/*
** Set err to CHAN_EINVALID for member key of the object at prefix ("" for
** the channel, "consumers[1]." for a consumer): the message names the
** member's path, err->path holds it.  Returns CHAN_EINVALID.
*/
static int member_error(chan_error *err, const char *prefix, const char *key, const char *fmt, ...)
    CHAN_PRINTF(4, 5);
static int member_error(chan_error *err, const char *prefix, const char *key, const char *fmt, ...)
{
    char path[CHAN_ERROR_PATH_MAX];
    char what[CHAN_ERROR_MESSAGE_MAX];
    va_list ap;

    snprintf(path, sizeof(path), "%s%s", prefix, key);
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    chan_error_set(err, CHAN_EINVALID, "member \"%s\" %s", path, what);
    if (err != NULL)
        snprintf(err->path, sizeof(err->path), "%s", path);
    return CHAN_EINVALID;
}

/*
** A copy of the string member key of obj into *out (NULL when absent or null,
** unless required).  Returns 0 or CHAN_EINVALID.
*/
static int get_string(char **out, const json_t *obj, const char *prefix, const char *key,
                      bool required, chan_error *err)
{
    const json_t *v = json_object_get(obj, key);

    assert(*out == NULL);
    if (v == NULL || json_is_null(v))
        return required ? member_error(err, prefix, key, "is missing") : 0;
    if (!json_is_string(v))
        return member_error(err, prefix, key, "must be a string, not %s", chan_json_type_name(v));
    if (json_string_length(v) != strlen(json_string_value(v)))
        return member_error(err, prefix, key, "contains a NUL character");
    *out = chan_xstrdup(json_string_value(v));
    return 0;
}

/* An integer member (0 when absent or null).  Returns 0 or CHAN_EINVALID. */
static int get_int(int64_t *out, const json_t *obj, const char *prefix, const char *key,
                   chan_error *err)
{
    const json_t *v = json_object_get(obj, key);

    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return member_error(err, prefix, key, "must be an integer, not %s", chan_json_type_name(v));
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* A number member (0 when absent or null).  Returns 0 or CHAN_EINVALID. */
static int get_number(double *out, const json_t *obj, const char *prefix, const char *key,
                      chan_error *err)
{
    const json_t *v = json_object_get(obj, key);

    *out = 0.0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return member_error(err, prefix, key, "must be a number, not %s", chan_json_type_name(v));
    *out = json_number_value(v);
    return 0;
}

/* Two decimal digits at s, or -1. */
static int two_digits(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/*
** A time member written by json_time ("YYYY-MM-DDTHH:MM:SSZ") as unix
** seconds (0 when absent or null).  Returns 0 or CHAN_EINVALID.
*/
static int get_time(int64_t *out, const json_t *obj, const char *prefix, const char *key,
                    chan_error *err)
{
    const json_t *v = json_object_get(obj, key);
    const char *s;
    char date[11];
    int64_t days;
    int h, m, sec;

    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return member_error(err, prefix, key, "must be a string, not %s", chan_json_type_name(v));
    s = json_string_value(v);
    if (strlen(s) != 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
        goto invalid;
    memcpy(date, s, 10);
    date[10] = '\0';
    h = two_digits(s + 11);
    m = two_digits(s + 14);
    sec = two_digits(s + 17);
    if (!chan_date_parse(date, &days) || h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
        goto invalid;
    *out = days * SECONDS_PER_DAY + h * 3600 + m * 60 + sec;
    return 0;
invalid:
    return member_error(err, prefix, key,
                        "must be an RFC 3339 UTC time like "
                        "\"2026-11-23T09:17:47Z\", got \"%s\"",
                        s);
}

/* An array member, or NULL when absent or null.  Returns 0 or CHAN_EINVALID. */
static int get_array(const json_t **out, const json_t *obj, const char *key, chan_error *err)
{
    const json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return member_error(err, "", key, "must be an array, not %s", chan_json_type_name(v));
    *out = v;
    return 0;
}

/*
** An enumeration member (origin, state) through parse into *out; absent or
** null leaves *out at its default.  Returns 0 or CHAN_EINVALID.
*/
static int get_enum(int *out, int (*parse)(int *, const char *), const json_t *obj,
                    const char *prefix, const char *key, const char *expected, chan_error *err)
{
    const json_t *v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return member_error(err, prefix, key, "must be a string, not %s", chan_json_type_name(v));
    if (parse(out, json_string_value(v)) < 0)
        return member_error(err, prefix, key, "must be %s, got \"%s\"", expected,
                            json_string_value(v));
    return 0;
}

static int parse_origin(int *out, const char *s)
{
    chan_consumer_origin o;
    int error = chan_consumer_origin_parse(&o, s);

    if (error == 0)
        *out = (int)o;
    return error;
}

static int parse_state(int *out, const char *s)
{
    chan_consumer_state st;
    int error = chan_consumer_state_parse(&st, s);

    if (error == 0)
        *out = (int)st;
    return error;
}

/* The "waiver" member (an object or null) into rec.  Returns 0 or CHAN_EINVALID. */
static int get_waiver(chan_channel_record *rec, const json_t *obj, chan_error *err)
{
    const json_t *v = json_object_get(obj, "waiver");
    int error;

    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_object(v))
        return member_error(err, "", "waiver", "must be an object, not %s", chan_json_type_name(v));
    if ((error = get_string(&rec->waiver_reason, v, "waiver.", "reason", true, err)) < 0 ||
        (error = get_string(&rec->waiver_approved_by, v, "waiver.", "approved_by", false, err)) <
            0 ||
        (error = get_time(&rec->waiver_approved_at, v, "waiver.", "approved_at", err)) < 0)
        return error;
    return 0;
}

/* The "contract" member as document text (compact, sorted keys), or NULL. */
static char *get_document(const json_t *obj)
{
    const json_t *v = json_object_get(obj, "contract");
    char *text, *copy;

    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return chan_xstrdup(json_string_value(v));
    text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (text == NULL)
        abort(); /* jansson fails only on allocation failure: keep the abort-on-OOM rule */
    copy = chan_xstrdup(text);
    free(text);
    return copy;
}

/* Fill c from consumer i of channel, the object item.  Returns 0 or CHAN_EINVALID. */
static int consumer_from_json(chan_consumer_record *c, const json_t *item, const char *channel,
                              size_t i, chan_error *err)
{
    char self[48], prefix[64];
    int origin = CHAN_CONSUMER_ORIGIN_CONTRACT, state = CHAN_CONSUMER_APPROVED;
    int error;

    snprintf(self, sizeof(self), "consumers[%zu]", i);
    snprintf(prefix, sizeof(prefix), "%s.", self);
    if (!json_is_object(item))
        return member_error(err, "", self, "must be an object, not %s", chan_json_type_name(item));
    c->channel = chan_xstrdup(channel);
    if ((error = get_string(&c->name, item, prefix, "name", true, err)) < 0 ||
        (error = get_string(&c->principal, item, prefix, "principal", true, err)) < 0 ||
        (error = get_string(&c->group, item, prefix, "group", false, err)) < 0 ||
        (error = get_string(&c->scenario, item, prefix, "scenario", false, err)) < 0 ||
        (error = get_int(&c->sla_p99_ms, item, prefix, "sla_p99_ms", err)) < 0 ||
        (error = get_number(&c->peak_rate_msgs, item, prefix, "peak_rate_msgs", err)) < 0 ||
        (error = get_string(&c->degradation, item, prefix, "degradation", false, err)) < 0 ||
        (error = get_time(&c->registered_at, item, prefix, "registered_at", err)) < 0 ||
        (error = get_time(&c->renewed_at, item, prefix, "renewed_at", err)) < 0 ||
        (error = get_enum(&origin, parse_origin, item, prefix, "origin", "\"contract\" or \"api\"",
                          err)) < 0 ||
        (error = get_enum(&state, parse_state, item, prefix, "state",
                          "\"approved\", \"pending\" or \"rejected\"", err)) < 0 ||
        (error = get_string(&c->requester_team, item, prefix, "requester_team", false, err)) < 0 ||
        (error = get_string(&c->requested_by, item, prefix, "requested_by", false, err)) < 0 ||
        (error = get_string(&c->decided_by, item, prefix, "decided_by", false, err)) < 0 ||
        (error = get_time(&c->decided_at, item, prefix, "decided_at", err)) < 0 ||
        (error = get_string(&c->decision_reason, item, prefix, "decision_reason", false, err)) < 0)
        return error;
    c->origin = (chan_consumer_origin)origin;
    c->state = (chan_consumer_state)state;
    return 0;
}

/* Fill p from producer i of channel, the object item.  Returns 0 or CHAN_EINVALID. */
static int producer_from_json(chan_producer_record *p, const json_t *item, const char *channel,
                              size_t i, chan_error *err)
{
    char self[48], prefix[64];

    snprintf(self, sizeof(self), "producers[%zu]", i);
    snprintf(prefix, sizeof(prefix), "%s.", self);
    if (!json_is_object(item))
        return member_error(err, "", self, "must be an object, not %s", chan_json_type_name(item));
    p->channel = chan_xstrdup(channel);
    return get_string(&p->principal, item, prefix, "principal", true, err);
}

int chan_channel_record_from_json(chan_channel_record **out, const json_t *json, chan_error *err)
{
    chan_channel_record *rec = NULL;
    const json_t *consumers = NULL, *producers = NULL, *item;
    size_t i;
    int error;

    assert(out != NULL);
    *out = NULL;
    if (!json_is_object(json)) {
        error = chan_error_set(err, CHAN_EINVALID, "channel record must be a JSON object, not %s",
                               json ? chan_json_type_name(json) : "nothing");
        goto cleanup;
    }
    rec = chan_xcalloc(1, sizeof(*rec));
    if ((error = get_string(&rec->name, json, "", "name", true, err)) < 0 ||
        (error = get_int(&rec->revision, json, "", "revision", err)) < 0 ||
        (error = get_time(&rec->created_at, json, "", "created_at", err)) < 0 ||
        (error = get_time(&rec->updated_at, json, "", "updated_at", err)) < 0 ||
        (error = get_string(&rec->owner_team, json, "", "owner_team", false, err)) < 0 ||
        (error = get_string(&rec->maintainer, json, "", "maintainer", false, err)) < 0 ||
        (error = get_int(&rec->peak_qps, json, "", "peak_qps", err)) < 0 ||
        (error = get_int(&rec->retention_hours, json, "", "retention_hours", err)) < 0 ||
        (error = get_string(&rec->deprecation_date, json, "", "deprecation_date", false, err)) <
            0 ||
        (error = get_string(&rec->retirement_date, json, "", "retirement_date", false, err)) < 0 ||
        (error = get_string(&rec->subject, json, "", "subject", false, err)) < 0 ||
        (error = get_string(&rec->compatibility, json, "", "compatibility", false, err)) < 0 ||
        (error = get_waiver(rec, json, err)) < 0 ||
        (error = get_array(&consumers, json, "consumers", err)) < 0 ||
        (error = get_array(&producers, json, "producers", err)) < 0)
        goto cleanup;
    rec->document = get_document(json);

    rec->consumers = chan_xcalloc(json_array_size(consumers) + 1, sizeof(*rec->consumers));
    json_array_foreach(consumers, i, item)
    {
        /* Counted first, so that dispose frees a partly filled consumer. */
        rec->n_consumers++;
        if ((error = consumer_from_json(&rec->consumers[i], item, rec->name, i, err)) < 0)
            goto cleanup;
    }
    rec->producers = chan_xcalloc(json_array_size(producers) + 1, sizeof(*rec->producers));
    json_array_foreach(producers, i, item)
    {
        rec->n_producers++;
        if ((error = producer_from_json(&rec->producers[i], item, rec->name, i, err)) < 0)
            goto cleanup;
    }
    *out = rec;
    rec = NULL;
    error = 0;

cleanup:
    chan_channel_record_free(rec);
    return error;
}
