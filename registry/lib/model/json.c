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
static bool format_time(char out[21], int64_t t);

json_t *chan_json_time(int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[64];

    if (format_time(buf, t))
        return json_string(buf);
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

int64_t chan_consumer_registration_time(const chan_consumer_record *c)
{
    assert(c != NULL);
    return c->renewed_at > 0 ? c->renewed_at : c->registered_at;
}

int64_t chan_consumer_stale_cutoff(int64_t now, int64_t max_age)
{
    if (max_age > 0 && now < INT64_MIN + max_age)
        return INT64_MIN;
    if (max_age < 0 && now > INT64_MAX + max_age)
        return INT64_MAX;
    return now - max_age;
}

bool chan_consumer_stale(const chan_consumer_record *c, int64_t now, int64_t max_age)
{
    return chan_consumer_registration_time(c) < chan_consumer_stale_cutoff(now, max_age);
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
    json_object_set_new(o, "version", chan_json_str_or_null(rec->contract_version));
    if (rec->avg_message_bytes > 0)
        json_object_set_new(o, "avg_message_bytes", json_integer(rec->avg_message_bytes));
    if (rec->cleanup_policy != NULL)
        json_object_set_new(o, "cleanup_policy", json_string(rec->cleanup_policy));
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
/* Record -> JSON text, without a tree (long lists)                    */
/* ------------------------------------------------------------------ */

/* "key": (member separator first unless it is the first member of its object). */
static void put_key(chan_buf *out, const char *key, bool first)
{
    if (!first)
        chan_buf_putc(out, ',');
    chan_buf_putc(out, '"');
    chan_buf_puts(out, key);
    chan_buf_put(out, "\":", 2);
}

static void put_str(chan_buf *out, const char *key, const char *s)
{
    put_key(out, key, false);
    chan_buf_put_json_string(out, s);
}

/* v in decimal (no printf: lists write thousands of them). */
static void put_int_value(chan_buf *out, int64_t v)
{
    char digits[24];
    size_t n = sizeof(digits);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        digits[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        digits[--n] = '-';
    chan_buf_put(out, digits + n, sizeof(digits) - n);
}

static void put_int(chan_buf *out, const char *key, int64_t v)
{
    put_key(out, key, false);
    put_int_value(out, v);
}

/* n as exactly width digits at p. */
static void put_digits(char *p, int64_t n, int width)
{
    for (int i = width - 1; i >= 0; i--, n /= 10)
        p[i] = (char)('0' + n % 10);
}

/*
** t as "YYYY-MM-DDTHH:MM:SSZ" (what gmtime_r and strftime give) for the
** years 1970 to 9999, by arithmetic: gmtime_r takes the time zone lock of
** the C library, which the threads writing a long list then queue on.
** False outside those years.  (Days to civil date: H. Hinnant's algorithm.)
*/
static bool format_time(char out[21], int64_t t)
{
    int64_t days, secs, era, doe, yoe, doy, mp, y, m, d;

    if (t < 0 || t > INT64_C(253402300799))
        return false;
    days = t / 86400 + 719468; /* from 0000-03-01 */
    secs = t % 86400;
    era = days / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = yoe + era * 400 + (m <= 2);
    memcpy(out, "0000-00-00T00:00:00Z", 21);
    put_digits(out, y, 4);
    put_digits(out + 5, m, 2);
    put_digits(out + 8, d, 2);
    put_digits(out + 11, secs / 3600, 2);
    put_digits(out + 14, secs / 60 % 60, 2);
    put_digits(out + 17, secs % 60, 2);
    return true;
}

/* A time as chan_json_time writes it (null when it has no calendar form). */
static void put_time(chan_buf *out, const char *key, int64_t t, bool zero_is_null)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[64];

    put_key(out, key, false);
    if (zero_is_null && t <= 0) {
        chan_buf_put(out, "null", 4);
        return;
    }
    if (!format_time(buf, t) && (gmtime_r(&tt, &tm) == NULL ||
                                 strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)) {
        chan_buf_put(out, "null", 4);
        return;
    }
    chan_buf_putc(out, '"');
    chan_buf_puts(out, buf);
    chan_buf_putc(out, '"');
}

/* A JSON value through jansson's own encoder (the rare non-integer rates). */
static void put_json_value(chan_buf *out, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    chan_buf_puts(out, text ? text : "null");
    free(text);
    json_decref(v);
}

void chan_consumer_record_write_json(chan_buf *out, const chan_consumer_record *c,
                                     const chan_record_json_options *opts)
{
    int64_t now, age;

    assert(out != NULL && c != NULL);
    if (opts == NULL)
        opts = &default_options;
    now = opts->now;
    age = c->renewed_at > 0 && now > c->renewed_at ? (now - c->renewed_at) / SECONDS_PER_DAY : 0;

    chan_buf_putc(out, '{');
    put_key(out, "name", true);
    chan_buf_put_json_string(out, c->name);
    put_str(out, "principal", c->principal);
    put_str(out, "group", c->group);
    put_str(out, "scenario", c->scenario);
    put_int(out, "sla_p99_ms", c->sla_p99_ms);
    put_key(out, "peak_rate_msgs", false);
    if (isfinite(c->peak_rate_msgs) && c->peak_rate_msgs == floor(c->peak_rate_msgs) &&
        fabs(c->peak_rate_msgs) < 9007199254740992.0) /* json_rate's integers */
        put_int_value(out, (int64_t)c->peak_rate_msgs);
    else
        put_json_value(out, json_rate(c->peak_rate_msgs));
    put_str(out, "degradation", c->degradation);
    put_time(out, "registered_at", c->registered_at, false);
    put_time(out, "renewed_at", c->renewed_at, false);
    put_int(out, "age_days", age);
    put_key(out, "stale", false);
    chan_buf_puts(out, chan_consumer_stale(c, now, opts->max_age) ? "true" : "false");
    put_str(out, "origin", chan_consumer_origin_name(c->origin));
    put_str(out, "state", chan_consumer_state_name(c->state));
    put_str(out, "requester_team", c->requester_team);
    put_str(out, "requested_by", c->requested_by);
    put_str(out, "decided_by", c->decided_by);
    put_time(out, "decided_at", c->decided_at, true);
    put_str(out, "decision_reason", c->decision_reason);
    chan_buf_putc(out, '}');
}

void chan_channel_record_write_json(chan_buf *out, const chan_channel_record *rec,
                                    const chan_record_json_options *opts, const char *extra_members)
{
    size_t i;

    assert(out != NULL && rec != NULL);
    if (opts == NULL)
        opts = &default_options;
    chan_buf_putc(out, '{');
    put_key(out, "name", true);
    chan_buf_put_json_string(out, rec->name);
    put_int(out, "revision", rec->revision);
    put_time(out, "created_at", rec->created_at, false);
    put_time(out, "updated_at", rec->updated_at, false);
    put_str(out, "owner_team", rec->owner_team);
    put_str(out, "maintainer", rec->maintainer);
    put_int(out, "peak_qps", rec->peak_qps);
    put_int(out, "retention_hours", rec->retention_hours);
    put_str(out, "deprecation_date", rec->deprecation_date);
    put_str(out, "retirement_date", rec->retirement_date);
    put_str(out, "subject", rec->subject);
    put_str(out, "compatibility", rec->compatibility);
    put_str(out, "version", rec->contract_version);
    if (rec->avg_message_bytes > 0)
        put_int(out, "avg_message_bytes", rec->avg_message_bytes);
    if (rec->cleanup_policy != NULL)
        put_str(out, "cleanup_policy", rec->cleanup_policy);
    if (extra_members != NULL && extra_members[0] != '\0') {
        chan_buf_putc(out, ',');
        chan_buf_puts(out, extra_members);
    }
    if (rec->waiver_reason != NULL) {
        put_key(out, "waiver", false);
        put_json_value(out, waiver_json(rec));
    }
    if (opts->with_document) {
        put_key(out, "contract", false);
        put_json_value(out, document_json(rec->document));
    }
    put_key(out, "consumers", false);
    chan_buf_putc(out, '[');
    for (i = 0; i < rec->n_consumers; i++) {
        if (i > 0)
            chan_buf_putc(out, ',');
        chan_consumer_record_write_json(out, &rec->consumers[i], opts);
    }
    chan_buf_putc(out, ']');
    put_key(out, "producers", false);
    chan_buf_putc(out, '[');
    for (i = 0; i < rec->n_producers; i++) {
        if (i > 0)
            chan_buf_putc(out, ',');
        chan_buf_put(out, "{\"principal\":", 13);
        chan_buf_put_json_string(out, rec->producers[i].principal);
        chan_buf_putc(out, '}');
    }
    chan_buf_put(out, "]}", 2);
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
        (error = get_string(&rec->contract_version, json, "", "version", false, err)) < 0 ||
        (error = get_int(&rec->avg_message_bytes, json, "", "avg_message_bytes", err)) < 0 ||
        (error = get_string(&rec->cleanup_policy, json, "", "cleanup_policy", false, err)) < 0 ||
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

size_t chan_channel_record_contract_versions(int **out, const chan_channel_record *rec)
{
    json_t *doc = rec && rec->document ? json_loads(rec->document, 0, NULL) : NULL;
    json_t *versions = json_object_get(json_object_get(doc, "schema"), "versions");
    size_t i, n = 0;
    int *list = NULL;

    assert(out != NULL);
    *out = NULL;
    if (json_is_array(versions) && json_array_size(versions) > 0) {
        list = chan_xcalloc(json_array_size(versions), sizeof(*list));
        for (i = 0; i < json_array_size(versions); i++) {
            json_t *item = json_array_get(versions, i);
            json_t *num = json_is_object(item) ? json_object_get(item, "version") : item;

            if (json_is_integer(num) && json_integer_value(num) > 0 &&
                json_integer_value(num) <= INT32_MAX)
                list[n++] = (int)json_integer_value(num);
        }
    }
    json_decref(doc);
    if (n == 0) {
        free(list);
        list = NULL;
    }
    *out = list;
    return n;
}
