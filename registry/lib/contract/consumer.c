/*
 * consumer.c - the one validation of a consumer's fields, shared by every
 * path that takes a consumer: the `consumers:` entries of a contract file
 * (contract.c), the body of PUT /v1/channels/{name}/consumers/{consumer}
 * (chanregd) and, through that route's dry run, the portal of the web UI.
 * The same input gives the same rule ids, paths and messages everywhere;
 * only the position (file, line, column) depends on where it came from.
 *
 * The rules are also available as data (chan_contract_consumer_rules_json)
 * so that a form can set its input constraints from them.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "contract_internal.h"

#define MAX_TEXT      4096
#define MAX_GROUP     249               /* Kafka's group id limit */
#define MAX_SLA_MS    INT64_C(86400000) /* one day */
#define MAX_PEAK_RATE INT64_C(1000000000)

/* Shown values are clipped so that a diagnostic stays readable. */
#define SHOWN_MAX 64

typedef struct check_ctx {
    const char *path; /* "consumers[2]" or "" */
    chan_diag_list *diags;
} check_ctx;

/* "consumers[2].group", or "group" without a base path; caller frees. */
static char *field_path(const check_ctx *ctx, const char *key)
{
    if (ctx->path == NULL || ctx->path[0] == '\0')
        return chan_xstrdup(key);
    return chan_xasprintf("%s.%s", ctx->path, key);
}

static chan_diag *report(const check_ctx *ctx, const chan_field_value *at, const char *rule,
                         const char *path, const char *fmt, ...) CHAN_PRINTF(5, 6);

static chan_diag *report(const check_ctx *ctx, const chan_field_value *at, const char *rule,
                         const char *path, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    chan_diag *d;

    va_start(ap, fmt);
    msg = chan_xvasprintf(fmt, ap);
    va_end(ap);
    d = chan_diag_add(ctx->diags, CHAN_DIAG_ERROR, at->file, at->line, at->column, rule, path, "%s",
                      msg);
    free(msg);
    return d;
}

/* Strings must survive the JSON rendering (escapes can produce lone surrogates). */
static bool valid_utf8(const char *s)
{
    json_t *j = json_string(s);

    json_decref(j);
    return j != NULL;
}

/* "a string", "an integer", ... */
static const char *with_article(const char *type_name, char *buf, size_t size)
{
    const char *t = type_name ? type_name : "value";

    snprintf(buf, size, "%s %s", strchr("aeiou", t[0]) ? "an" : "a", t);
    return buf;
}

/* A mandatory non-empty string field: returns it (borrowed) or NULL after a diagnostic. */
static const char *check_string(const check_ctx *ctx, const chan_field_value *v, const char *key)
{
    char *p = field_path(ctx, key);
    const char *result = NULL;
    char shown[80];

    if (v->kind == CHAN_FIELD_ABSENT) {
        report(ctx, v, CHAN_CONTRACT_RULE_MISSING_FIELD, p, "%s is missing", p);
    } else if (v->kind != CHAN_FIELD_STRING) {
        chan_diag *d =
            report(ctx, v, CHAN_CONTRACT_RULE_WRONG_TYPE, p, "%s must be a string, not %s", p,
                   with_article(v->type_name, shown, sizeof(shown)));
        if (v->text != NULL && v->kind == CHAN_FIELD_INTEGER)
            chan_diag_set_hint(d, "quote the value: \"%s\"", v->text);
    } else if (v->len != strlen(v->text)) {
        report(ctx, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p, "%s contains a NUL character", p);
    } else if (!valid_utf8(v->text)) {
        report(ctx, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p, "%s is not valid UTF-8 text", p);
    } else if (v->text[0] == '\0') {
        report(ctx, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p, "%s is empty", p);
    } else if (v->len > MAX_TEXT) {
        report(ctx, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p, "%s is longer than %d bytes", p,
               MAX_TEXT);
    } else {
        result = v->text;
    }
    free(p);
    return result;
}

/* A mandatory integer field in [1, max]; false after a diagnostic. */
static bool check_positive(const check_ctx *ctx, const chan_field_value *v, const char *key,
                           int64_t max, int64_t *out)
{
    char *p = field_path(ctx, key);
    char shown[80];
    int64_t value;
    bool ok = false;

    if (v->kind == CHAN_FIELD_ABSENT) {
        report(ctx, v, CHAN_CONTRACT_RULE_MISSING_FIELD, p, "%s is missing", p);
    } else if (v->kind != CHAN_FIELD_INTEGER) {
        report(ctx, v, CHAN_CONTRACT_RULE_WRONG_TYPE, p, "%s must be an integer, not %s", p,
               with_article(v->type_name, shown, sizeof(shown)));
    } else if (chan_parse_int64(&value, v->text[0] == '+' ? v->text + 1 : v->text, INT64_MIN,
                                INT64_MAX) < 0 ||
               value < 1 || value > max) {
        chan_diag *d = report(ctx, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p,
                              "%s must be between 1 and %lld, got %s", p, (long long)max,
                              chan_str_clip(shown, sizeof(shown), v->text));
        if (v->text[0] == '-' || strcmp(v->text, "0") == 0)
            chan_diag_set_hint(d, "%s must be positive", key);
    } else {
        *out = value;
        ok = true;
    }
    free(p);
    return ok;
}

/* Kafka group ids: [A-Za-z0-9._-]{1,249}, not "." or "..". */
static bool valid_group(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > MAX_GROUP || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i]) != NULL))
            return false;
    return true;
}

int chan_contract_consumer_check(chan_contract_consumer *out, const chan_consumer_fields *in,
                                 const char *path, chan_diag_list *diags)
{
    check_ctx ctx = {path, diags};
    size_t before = chan_diag_list_count(diags);
    char shown[SHOWN_MAX + 4];
    const char *s;
    char *p;

    assert(out != NULL && in != NULL && diags != NULL);
    s = check_string(&ctx, &in->name, "name");
    if (s && !chan_contract_name_valid(s)) {
        p = field_path(&ctx, "name");
        chan_diag_set_hint(report(&ctx, &in->name, CHAN_CONTRACT_RULE_INVALID_NAME, p,
                                  "invalid consumer name \"%s\"",
                                  chan_str_clip(shown, sizeof(shown), s)),
                           "use lower-case letters, digits, '.', '_' and '-' (at most 64)");
        free(p);
    } else if (s) {
        out->name = chan_xstrdup(s);
    }
    s = check_string(&ctx, &in->principal, "principal");
    if (s && !chan_contract_principal_valid(s)) {
        p = field_path(&ctx, "principal");
        chan_diag_set_hint(report(&ctx, &in->principal, CHAN_CONTRACT_RULE_PRINCIPAL, p,
                                  "invalid principal \"%s\"",
                                  chan_str_clip(shown, sizeof(shown), s)),
                           "write a Kafka principal: User:<name>, e.g. User:billing-svc");
        free(p);
    } else if (s) {
        out->principal = chan_xstrdup(s);
    }
    s = check_string(&ctx, &in->group, "group");
    if (s && !valid_group(s)) {
        p = field_path(&ctx, "group");
        chan_diag_set_hint(report(&ctx, &in->group, CHAN_CONTRACT_RULE_INVALID_NAME, p,
                                  "invalid consumer group id \"%s\"",
                                  chan_str_clip(shown, sizeof(shown), s)),
                           "use letters, digits, '.', '_' and '-' (at most 249)");
        free(p);
    } else if (s) {
        out->group = chan_xstrdup(s);
    }
    s = check_string(&ctx, &in->scenario, "scenario");
    if (s)
        out->scenario = chan_xstrdup(s);
    check_positive(&ctx, &in->sla_p99_ms, "sla_p99_ms", MAX_SLA_MS, &out->sla_p99_ms);
    check_positive(&ctx, &in->peak_rate_msgs, "peak_rate_msgs", MAX_PEAK_RATE,
                   &out->peak_rate_msgs);
    s = check_string(&ctx, &in->degradation, "degradation");
    if (s && chan_degradation_parse(&out->degradation, s) < 0) {
        p = field_path(&ctx, "degradation");
        chan_diag_set_hint(report(&ctx, &in->degradation, CHAN_CONTRACT_RULE_INVALID_VALUE, p,
                                  "unknown degradation \"%s\"",
                                  chan_str_clip(shown, sizeof(shown), s)),
                           "one of drop, lag, fallback, block");
        free(p);
    }
    return chan_diag_list_count(diags) > before ? CHAN_EINVALID : 0;
}

void chan_contract_consumer_dispose(chan_contract_consumer *c)
{
    if (c == NULL)
        return;
    free((char *)c->name);
    free((char *)c->principal);
    free((char *)c->group);
    free((char *)c->scenario);
    memset(c, 0, sizeof(*c));
}

/* The JSON type of v, without article. */
static const char *json_kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* A field value from a JSON member (NULL: absent). */
static void from_json(chan_field_value *out, const json_t *v, char *num, size_t num_size)
{
    memset(out, 0, sizeof(*out));
    if (v == NULL)
        return;
    out->type_name = json_kind_name(v);
    if (json_is_string(v)) {
        out->kind = CHAN_FIELD_STRING;
        out->text = json_string_value(v);
        out->len = json_string_length(v);
    } else if (json_is_integer(v)) {
        out->kind = CHAN_FIELD_INTEGER;
        snprintf(num, num_size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        out->text = num;
        out->len = strlen(num);
    } else {
        out->kind = CHAN_FIELD_OTHER;
    }
}

int chan_contract_consumer_check_json(chan_contract_consumer *out, const json_t *body,
                                      const char *name, chan_diag_list *diags)
{
    chan_consumer_fields in;
    char num[6][32]; /* the digits of integers given where they do not belong, too */

    assert(out != NULL && diags != NULL);
    memset(&in, 0, sizeof(in));
    in.name.kind = CHAN_FIELD_STRING;
    in.name.text = name;
    in.name.len = strlen(name);
    in.name.type_name = "string";
    from_json(&in.principal, json_object_get(body, "principal"), num[0], sizeof(num[0]));
    from_json(&in.group, json_object_get(body, "group"), num[1], sizeof(num[1]));
    from_json(&in.scenario, json_object_get(body, "scenario"), num[2], sizeof(num[2]));
    from_json(&in.sla_p99_ms, json_object_get(body, "sla_p99_ms"), num[3], sizeof(num[3]));
    from_json(&in.peak_rate_msgs, json_object_get(body, "peak_rate_msgs"), num[4], sizeof(num[4]));
    from_json(&in.degradation, json_object_get(body, "degradation"), num[5], sizeof(num[5]));
    return chan_contract_consumer_check(out, &in, "", diags);
}

json_t *chan_contract_consumer_rules_json(void)
{
    return json_pack(
        "{s:[{s:s,s:s,s:b,s:i,s:s,s:s},{s:s,s:s,s:b,s:i,s:s,s:s},{s:s,s:s,s:b,s:i,s:s,s:s},"
        "{s:s,s:s,s:b,s:i},{s:s,s:s,s:b,s:i,s:I},{s:s,s:s,s:b,s:i,s:I},"
        "{s:s,s:s,s:b,s:[ssss]}]}",
        "fields",
        /* name: the path parameter */
        "name", "name", "type", "string", "required", 1, "max_length", 64, "pattern",
        "^[a-z0-9][a-z0-9._-]*$", "hint",
        "use lower-case letters, digits, '.', '_' and '-' (at most 64)",
        /* principal */
        "name", "principal", "type", "string", "required", 1, "max_length", 255, "pattern",
        "^User:[^\\s]+$", "hint", "write a Kafka principal: User:<name>, e.g. User:billing-svc",
        /* group */
        "name", "group", "type", "string", "required", 1, "max_length", MAX_GROUP, "pattern",
        "^[A-Za-z0-9._-]+$", "hint", "use letters, digits, '.', '_' and '-' (at most 249)",
        /* scenario */
        "name", "scenario", "type", "string", "required", 1, "max_length", MAX_TEXT,
        /* sla_p99_ms */
        "name", "sla_p99_ms", "type", "integer", "required", 1, "min", 1, "max",
        (json_int_t)MAX_SLA_MS,
        /* peak_rate_msgs */
        "name", "peak_rate_msgs", "type", "integer", "required", 1, "min", 1, "max",
        (json_int_t)MAX_PEAK_RATE,
        /* degradation */
        "name", "degradation", "type", "string", "required", 1, "enum", "drop", "lag", "fallback",
        "block");
}
