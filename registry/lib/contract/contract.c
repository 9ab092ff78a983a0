/*
 * contract.c - the contract model: parsing the located YAML tree of a
 * "chanreg/v1" contract into chan_contract, field by field, with every
 * problem reported as a diagnostic; getters; the JSON rendering.
 *
 * Parsing never touches the file system (see load.c for schema files).
 * The model is filled as far as the input allows even when it has errors, so
 * that cross-file checks still see the channel name; chan_contract_parse
 * hands out only error-free models.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "chan/policy.h"
#include "contract_internal.h"

/* Upper bounds of the numeric fields: generous, but they catch unit mix-ups. */
#define MAX_QPS             INT64_C(1000000000)
#define MAX_RETENTION_HOURS INT64_C(876000)   /* 100 years */
#define MAX_SLA_MS          INT64_C(86400000) /* one day */
#define MAX_TEXT            4096
#define MAX_NAME            249 /* Kafka's topic name limit */
#define MAX_LIST            1000

typedef struct parse_ctx {
    const char *file;
    chan_diag_list *diags;
    int64_t today;
} parse_ctx;

typedef enum scalar_type {
    T_STR = 0,
    T_INT,
    T_FLOAT,
    T_BOOL,
    T_NULL,
} scalar_type;

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */
/* ------------------------------------------------------------------ */

static chan_diag *report(parse_ctx *ctx, chan_diag_severity sev, const chan_ynode *at,
                         const char *rule, const char *path, const char *fmt, ...)
    CHAN_PRINTF(6, 7);

/* Add a diagnostic located at node `at` (line 1 column 1 when NULL). */
static chan_diag *report(parse_ctx *ctx, chan_diag_severity sev, const chan_ynode *at,
                         const char *rule, const char *path, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    chan_diag *d;

    va_start(ap, fmt);
    msg = chan_xvasprintf(fmt, ap);
    va_end(ap);
    d = chan_diag_add(ctx->diags, sev, ctx->file, at ? at->line : 1, at ? at->column : 1, rule,
                      path, "%s", msg);
    free(msg);
    return d;
}

/* "consumers[2].group" style paths; caller frees. */
static char *path_join(const char *base, const char *key)
{
    if (base == NULL || base[0] == '\0')
        return chan_xstrdup(key);
    return chan_xasprintf("%s.%s", base, key);
}

static char *path_index(const char *base, size_t i)
{
    return chan_xasprintf("%s[%zu]", base, i);
}

/* ------------------------------------------------------------------ */
/* Scalars                                                             */
/* ------------------------------------------------------------------ */

static bool all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* [0-9]*.[0-9]+ or [0-9]+(.[0-9]*)? with an optional exponent (YAML 1.2 core). */
static bool is_float(const char *p)
{
    size_t digits = 0;

    while (isdigit((unsigned char)*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits++;
        }
    } else if (*p != 'e' && *p != 'E') {
        return false;
    }
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!all_digits(p))
            return false;
        return true;
    }
    return *p == '\0';
}

/* The YAML 1.2 core-schema type of a scalar, honouring explicit tags. */
static scalar_type scalar_type_of(const chan_ynode *n)
{
    const char *v = n->value;
    const char *p;

    if (n->tag) {
        if (strcmp(n->tag, "tag:yaml.org,2002:int") == 0)
            return T_INT;
        if (strcmp(n->tag, "tag:yaml.org,2002:float") == 0)
            return T_FLOAT;
        if (strcmp(n->tag, "tag:yaml.org,2002:bool") == 0)
            return T_BOOL;
        if (strcmp(n->tag, "tag:yaml.org,2002:null") == 0)
            return T_NULL;
        return T_STR;
    }
    if (!n->plain)
        return T_STR;
    if (v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
        strcmp(v, "NULL") == 0)
        return T_NULL;
    if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0 ||
        strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0)
        return T_BOOL;
    p = (v[0] == '-' || v[0] == '+') ? v + 1 : v;
    if (all_digits(p))
        return T_INT;
    if (is_float(p))
        return T_FLOAT;
    if (strcmp(p, ".inf") == 0 || strcmp(v, ".nan") == 0)
        return T_FLOAT;
    return T_STR;
}

static const char *node_type_name(const chan_ynode *n)
{
    static const char *const names[] = {"string", "integer", "number", "boolean", "null"};

    if (n->kind == CHAN_YNODE_MAP)
        return "mapping";
    if (n->kind == CHAN_YNODE_SEQ)
        return "sequence";
    return names[scalar_type_of(n)];
}

/* ------------------------------------------------------------------ */
/* Mappings                                                            */
/* ------------------------------------------------------------------ */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[64];

    if (la >= CHAN_ARRAY_SIZE(row) || lb >= CHAN_ARRAY_SIZE(row))
        return (size_t)-1;
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best =
                diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/*
 * Report keys of map that are not in `known` (NULL-terminated), with a
 * did-you-mean hint.
 */
static void check_keys(parse_ctx *ctx, const chan_ynode *map, const char *path,
                       const char *const *known)
{
    size_t i, k;

    for (i = 0; i < map->count; i++) {
        const chan_ynode *key = map->pairs[i].key;
        const char *best = NULL;
        size_t best_d = 3;
        bool found = false;
        char *p;
        chan_diag *d;

        for (k = 0; known[k] && key->len == strlen(key->value); k++) {
            size_t dist;

            if (strcmp(key->value, known[k]) == 0) {
                found = true;
                break;
            }
            dist = edit_distance(key->value, known[k]);
            if (dist < best_d) {
                best_d = dist;
                best = known[k];
            }
        }
        if (found)
            continue;
        p = path_join(path, key->value);
        d = report(ctx, CHAN_DIAG_ERROR, key, CHAN_CONTRACT_RULE_UNKNOWN_FIELD, p,
                   "unknown field \"%s\"%s%s", key->value, path && *path ? " in " : "",
                   path && *path ? path : "");
        if (best)
            chan_diag_set_hint(d, "did you mean \"%s\"?", best);
        else if (strcmp(key->value, "<<") == 0)
            chan_diag_set_hint(d, "merge keys are not supported; repeat the fields");
        free(p);
    }
}

static const chan_ynode *map_get(const chan_ynode *map, const char *key)
{
    size_t i;

    for (i = 0; i < map->count; i++)
        if (strcmp(map->pairs[i].key->value, key) == 0)
            return map->pairs[i].value;
    return NULL;
}

/*
 * Look up a key; when absent and required, report it at the mapping.
 * Returns the value node or NULL.
 */
static const chan_ynode *field(parse_ctx *ctx, const chan_ynode *map, const char *path,
                               const char *key, bool required)
{
    const chan_ynode *v = map_get(map, key);

    if (v == NULL && required) {
        char *p = path_join(path, key);

        report(ctx, CHAN_DIAG_ERROR, map, CHAN_CONTRACT_RULE_MISSING_FIELD, p,
               "missing required field \"%s\"%s%s", key, path && *path ? " in " : "",
               path && *path ? path : "");
        free(p);
    }
    return v;
}

static bool expect_kind(parse_ctx *ctx, const chan_ynode *n, chan_ynode_kind kind, const char *path)
{
    static const char *const kinds[] = {"a string", "a mapping", "a sequence"};

    if (n->kind == kind)
        return true;
    report(ctx, CHAN_DIAG_ERROR, n, CHAN_CONTRACT_RULE_WRONG_TYPE, path, "%s must be %s, not a %s",
           path, kinds[kind], node_type_name(n));
    return false;
}

/* Strings must survive the JSON rendering (escapes can produce lone surrogates). */
static bool valid_utf8(const char *s)
{
    json_t *j = json_string(s);

    json_decref(j);
    return j != NULL;
}

/* At most this many versions, consumers or producers: keeps the pairwise checks cheap. */
static bool list_size_ok(parse_ctx *ctx, const chan_ynode *seq, const char *path)
{
    if (seq->count <= MAX_LIST)
        return true;
    report(ctx, CHAN_DIAG_ERROR, seq, CHAN_CONTRACT_RULE_INVALID_VALUE, path,
           "%s has %zu entries, more than the limit of %d", path, seq->count, MAX_LIST);
    return false;
}

/* A string field: returns the value (borrowed) or NULL after a diagnostic. */
static const char *get_string(parse_ctx *ctx, const chan_ynode *map, const char *path,
                              const char *key, bool required, const chan_ynode **out_node)
{
    const chan_ynode *v = field(ctx, map, path, key, required);
    char *p;
    const char *result = NULL;

    if (out_node)
        *out_node = v;
    if (v == NULL)
        return NULL;
    p = path_join(path, key);
    if (v->kind != CHAN_YNODE_SCALAR || scalar_type_of(v) != T_STR) {
        chan_diag *d = report(ctx, CHAN_DIAG_ERROR, v, CHAN_CONTRACT_RULE_WRONG_TYPE, p,
                              "%s must be a string, not a %s", p, node_type_name(v));
        if (v->kind == CHAN_YNODE_SCALAR)
            chan_diag_set_hint(d, "quote the value: \"%s\"", v->value);
    } else if (v->len != strlen(v->value)) {
        report(ctx, CHAN_DIAG_ERROR, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p,
               "%s contains a NUL character", p);
    } else if (!valid_utf8(v->value)) {
        report(ctx, CHAN_DIAG_ERROR, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p,
               "%s is not valid UTF-8 text", p);
    } else if (v->value[0] == '\0') {
        report(ctx, CHAN_DIAG_ERROR, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p, "%s is empty", p);
    } else if (v->len > MAX_TEXT) {
        report(ctx, CHAN_DIAG_ERROR, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p,
               "%s is longer than %d bytes", p, MAX_TEXT);
    } else {
        result = v->value;
    }
    free(p);
    return result;
}

/* A positive integer field in [1, max]; *out left alone after a diagnostic. */
static bool get_positive(parse_ctx *ctx, const chan_ynode *map, const char *path, const char *key,
                         int64_t max, int64_t *out)
{
    const chan_ynode *v = field(ctx, map, path, key, true);
    char *p;
    bool ok = false;
    int64_t value;

    if (v == NULL)
        return false;
    p = path_join(path, key);
    if (v->kind != CHAN_YNODE_SCALAR || scalar_type_of(v) != T_INT) {
        report(ctx, CHAN_DIAG_ERROR, v, CHAN_CONTRACT_RULE_WRONG_TYPE, p,
               "%s must be an integer, not a %s", p, node_type_name(v));
    } else if (chan_parse_int64(&value, v->value[0] == '+' ? v->value + 1 : v->value, INT64_MIN,
                                INT64_MAX) < 0 ||
               value < 1 || value > max) {
        chan_diag *d = report(ctx, CHAN_DIAG_ERROR, v, CHAN_CONTRACT_RULE_INVALID_VALUE, p,
                              "%s must be between 1 and %lld, got %s", p, (long long)max, v->value);
        if (v->value[0] == '-' || strcmp(v->value, "0") == 0)
            chan_diag_set_hint(d, "%s must be positive", key);
    } else {
        *out = value;
        ok = true;
    }
    free(p);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Value formats                                                       */
/* ------------------------------------------------------------------ */

static bool name_chars(const char *s, const char *extra)
{
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && strchr(extra, *s) == NULL)
            return false;
    return true;
}

/* Kafka topic names: [A-Za-z0-9._-]{1,249}, not "." or "..". */
static bool valid_topic(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= MAX_NAME && name_chars(s, "._-") && strcmp(s, ".") != 0 &&
           strcmp(s, "..") != 0;
}

/* Team and consumer names: lower-case slug. */
bool chan_contract_name_valid(const char *s)
{
    size_t n = strlen(s);
    const char *c;

    if (n == 0 || n > 64 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (c = s; *c; c++)
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && strchr("._-", *c) == NULL)
            return false;
    return true;
}

static bool valid_email(const char *s)
{
    const char *at = strchr(s, '@');
    const char *c;

    if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
        return false;
    if (strchr(at + 1, '.') == NULL || at[1] == '.' || s[strlen(s) - 1] == '.')
        return false;
    for (c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || strchr("<>()[],;:\\\"", *c))
            return false;
    return true;
}

/* Kafka principals: "User:<name>", name without blanks or control characters. */
bool chan_contract_principal_valid(const char *s)
{
    const char *c;

    if (strncmp(s, "User:", 5) != 0 || s[5] == '\0')
        return false;
    for (c = s + 5; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return false;
    return strlen(s) <= 255;
}

static const char *const degradation_names[] = {
    [CHAN_DEGRADATION_DROP] = "drop",
    [CHAN_DEGRADATION_LAG] = "lag",
    [CHAN_DEGRADATION_FALLBACK] = "fallback",
    [CHAN_DEGRADATION_BLOCK] = "block",
};

const char *chan_degradation_name(chan_degradation mode)
{
    if ((size_t)mode < CHAN_ARRAY_SIZE(degradation_names))
        return degradation_names[mode];
    return "unknown";
}

int chan_degradation_parse(chan_degradation *out, const char *name)
{
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(degradation_names); i++) {
        if (strcmp(name, degradation_names[i]) == 0) {
            *out = (chan_degradation)i;
            return 0;
        }
    }
    return CHAN_EINVALID;
}

/* ------------------------------------------------------------------ */
/* Sections                                                            */
/* ------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s ? chan_xstrdup(s) : NULL;
}

static void parse_owner(parse_ctx *ctx, const chan_ynode *root, chan_contract *c)
{
    static const char *const keys[] = {"team", "maintainer", NULL};
    const chan_ynode *owner = field(ctx, root, "", "owner", true);
    const chan_ynode *at;
    const char *s;

    if (owner == NULL || !expect_kind(ctx, owner, CHAN_YNODE_MAP, "owner"))
        return;
    check_keys(ctx, owner, "owner", keys);
    s = get_string(ctx, owner, "owner", "team", true, &at);
    if (s && !chan_contract_name_valid(s)) {
        chan_diag *d = report(ctx, CHAN_DIAG_ERROR, at, CHAN_CONTRACT_RULE_INVALID_NAME,
                              "owner.team", "invalid team name \"%s\"", s);
        chan_diag_set_hint(d, "use lower-case letters, digits, '.', '_' and '-' (at most 64)");
    } else {
        c->team = dup_or_null(s);
    }
    s = get_string(ctx, owner, "owner", "maintainer", true, &at);
    if (s && !valid_email(s)) {
        chan_diag *d = report(ctx, CHAN_DIAG_ERROR, at, CHAN_CONTRACT_RULE_INVALID_VALUE,
                              "owner.maintainer", "maintainer \"%s\" is not an e-mail address", s);
        chan_diag_set_hint(d, "write the address of a person or list, e.g. jane.doe@example.com");
    } else {
        c->maintainer = dup_or_null(s);
    }
}

/* A date field: a plain or quoted YYYY-MM-DD. */
static char *get_date(parse_ctx *ctx, const chan_ynode *root, const char *key, int64_t *out_days,
                      const chan_ynode **out_node)
{
    const chan_ynode *v = field(ctx, root, "", key, false);

    *out_node = v;
    if (v == NULL)
        return NULL;
    if (v->kind != CHAN_YNODE_SCALAR) {
        report(ctx, CHAN_DIAG_ERROR, v, CHAN_CONTRACT_RULE_WRONG_TYPE, key,
               "%s must be a date (YYYY-MM-DD), not a %s", key, node_type_name(v));
        return NULL;
    }
    if (v->len != strlen(v->value) || !chan_date_parse(v->value, out_days)) {
        chan_diag *d = report(ctx, CHAN_DIAG_ERROR, v, CHAN_CONTRACT_RULE_INVALID_DATE, key,
                              "%s \"%s\" is not a valid calendar date", key, v->value);
        chan_diag_set_hint(d, "write an ISO 8601 date: YYYY-MM-DD, e.g. 2027-03-31");
        return NULL;
    }
    return chan_xstrdup(v->value);
}

static void parse_dates(parse_ctx *ctx, const chan_ynode *root, chan_contract *c)
{
    int64_t dep = 0, ret = 0;
    const chan_ynode *dep_node, *ret_node;

    c->deprecation_date = get_date(ctx, root, "deprecation_date", &dep, &dep_node);
    c->retirement_date = get_date(ctx, root, "retirement_date", &ret, &ret_node);
    if (c->retirement_date && dep_node == NULL) {
        chan_diag *d = report(ctx, CHAN_DIAG_ERROR, ret_node, CHAN_CONTRACT_RULE_DATE_ORDER,
                              "retirement_date", "retirement_date needs a deprecation_date");
        chan_diag_set_hint(d, "consumers must be warned before the channel goes away");
    } else if (c->retirement_date && c->deprecation_date && ret <= dep) {
        report(ctx, CHAN_DIAG_ERROR, ret_node, CHAN_CONTRACT_RULE_DATE_ORDER, "retirement_date",
               "retirement_date %s is not after deprecation_date %s", c->retirement_date,
               c->deprecation_date);
    }
    if (c->retirement_date && ctx->today >= ret) {
        chan_diag *d = report(ctx, CHAN_DIAG_WARNING, ret_node, CHAN_CONTRACT_RULE_DEPRECATED,
                              "retirement_date", "channel %s was retired on %s",
                              c->name ? c->name : "", c->retirement_date);
        chan_diag_set_hint(d, "delete the topic and this contract");
    } else if (c->deprecation_date && ctx->today >= dep) {
        chan_diag *d = report(ctx, CHAN_DIAG_WARNING, dep_node, CHAN_CONTRACT_RULE_DEPRECATED,
                              "deprecation_date", "channel %s is deprecated since %s",
                              c->name ? c->name : "", c->deprecation_date);
        chan_diag_set_hint(d, "move consumers to the replacement channel");
    }
}

static void parse_version_entry(parse_ctx *ctx, const chan_ynode *item, const char *path,
                                chan_contract_version *v)
{
    static const char *const keys[] = {"version", "file", NULL};
    const chan_ynode *num = item;
    char *num_path = NULL;
    int64_t value;

    v->line = item->line;
    v->column = item->column;
    if (item->kind == CHAN_YNODE_MAP) {
        check_keys(ctx, item, path, keys);
        num = field(ctx, item, path, "version", true);
        if (num == NULL)
            return;
        v->file = dup_or_null(get_string(ctx, item, path, "file", false, NULL));
        num_path = path_join(path, "version");
    } else {
        num_path = chan_xstrdup(path);
    }
    if (num->kind != CHAN_YNODE_SCALAR || scalar_type_of(num) != T_INT) {
        chan_diag *d =
            report(ctx, CHAN_DIAG_ERROR, num, CHAN_CONTRACT_RULE_WRONG_TYPE, num_path,
                   "%s must be a version number, not a %s", num_path, node_type_name(num));
        chan_diag_set_hint(d, "write `- 3` or `- {version: 3, file: path/to/v3.avsc}`");
    } else if (chan_parse_int64(&value, num->value[0] == '+' ? num->value + 1 : num->value,
                                INT64_MIN, INT64_MAX) < 0 ||
               value < 1 || value > INT32_MAX) {
        report(ctx, CHAN_DIAG_ERROR, num, CHAN_CONTRACT_RULE_INVALID_VALUE, num_path,
               "version numbers start at 1, got %s", num->value);
    } else {
        v->number = value;
    }
    free(num_path);
}

static void parse_versions(parse_ctx *ctx, const chan_ynode *schema, chan_contract *c)
{
    const chan_ynode *seq = field(ctx, schema, "schema", "versions", true);
    size_t i, j;

    if (seq == NULL || !expect_kind(ctx, seq, CHAN_YNODE_SEQ, "schema.versions") ||
        !list_size_ok(ctx, seq, "schema.versions"))
        return;
    if (seq->count == 0) {
        report(ctx, CHAN_DIAG_ERROR, seq, CHAN_CONTRACT_RULE_INVALID_VALUE, "schema.versions",
               "schema.versions lists no version");
        return;
    }
    c->versions = chan_xcalloc(seq->count, sizeof(*c->versions));
    c->n_versions = seq->count;
    for (i = 0; i < seq->count; i++) {
        char *p = path_index("schema.versions", i);

        parse_version_entry(ctx, seq->items[i], p, &c->versions[i]);
        free(p);
    }
    /* Newest first, consecutive: v[i] == v[i-1] - 1. */
    for (i = 1; i < c->n_versions; i++) {
        const chan_contract_version *prev = &c->versions[i - 1], *cur = &c->versions[i];
        char *p;
        chan_diag *d = NULL;

        if (prev->number == 0 || cur->number == 0)
            continue;
        p = path_index("schema.versions", i);
        for (j = 0; j < i; j++) {
            if (c->versions[j].number == cur->number) {
                d = report(ctx, CHAN_DIAG_ERROR, seq->items[i], CHAN_CONTRACT_RULE_VERSION_ORDER, p,
                           "version %lld is listed twice", (long long)cur->number);
                chan_diag_set_hint(d, "first listed at line %d", c->versions[j].line);
                break;
            }
        }
        if (d == NULL && cur->number != prev->number - 1) {
            d = report(ctx, CHAN_DIAG_ERROR, seq->items[i], CHAN_CONTRACT_RULE_VERSION_ORDER, p,
                       "versions must be consecutive and newest first: expected %lld after "
                       "%lld, found %lld",
                       (long long)(prev->number - 1), (long long)prev->number,
                       (long long)cur->number);
            chan_diag_set_hint(d, "list every version from the newest down, e.g. [3, 2, 1]");
        }
        free(p);
    }
}

/* schema.waiver: {reason: "..."} with a reason of 20 to 1024 characters. */
static void parse_waiver(parse_ctx *ctx, const chan_ynode *schema, chan_contract *c)
{
    static const char *const keys[] = {"reason", NULL};
    const chan_ynode *waiver = field(ctx, schema, "schema", "waiver", false);
    const chan_ynode *at;
    const char *s;
    size_t n;

    if (waiver == NULL || !expect_kind(ctx, waiver, CHAN_YNODE_MAP, "schema.waiver"))
        return;
    check_keys(ctx, waiver, "schema.waiver", keys);
    s = get_string(ctx, waiver, "schema.waiver", "reason", true, &at);
    if (s == NULL)
        return;
    n = chan_utf8_chars(s);
    if (n < CHAN_CONTRACT_WAIVER_REASON_MIN || n > CHAN_CONTRACT_WAIVER_REASON_MAX) {
        chan_diag_set_hint(report(ctx, CHAN_DIAG_ERROR, at, CHAN_CONTRACT_RULE_INVALID_VALUE,
                                  "schema.waiver.reason",
                                  "schema.waiver.reason must be %d to %d characters long, not %zu",
                                  CHAN_CONTRACT_WAIVER_REASON_MIN, CHAN_CONTRACT_WAIVER_REASON_MAX,
                                  n),
                           "say why the subject needs a compatibility below the policy floor");
        return;
    }
    c->waiver_reason = chan_xstrdup(s);
}

static void parse_schema(parse_ctx *ctx, const chan_ynode *root, chan_contract *c)
{
    static const char *const keys[] = {"subject", "compatibility", "versions", "waiver", NULL};
    const chan_ynode *schema = field(ctx, root, "", "schema", true);
    const chan_ynode *at;
    const char *s;

    if (schema == NULL || !expect_kind(ctx, schema, CHAN_YNODE_MAP, "schema"))
        return;
    check_keys(ctx, schema, "schema", keys);
    s = get_string(ctx, schema, "schema", "subject", true, &at);
    if (s && (!valid_topic(s) || s[0] == '.' || strlen(s) > 255)) {
        chan_diag *d = report(ctx, CHAN_DIAG_ERROR, at, CHAN_CONTRACT_RULE_INVALID_NAME,
                              "schema.subject", "invalid subject name \"%s\"", s);
        chan_diag_set_hint(d, "use letters, digits, '.', '_' and '-', not starting with '.'");
    } else {
        c->subject = dup_or_null(s);
    }
    s = get_string(ctx, schema, "schema", "compatibility", true, &at);
    if (s && at) {
        c->compat_line = at->line;
        c->compat_column = at->column;
    }
    if (s) {
        chan_compat_mode mode;

        /* Contracts spell the mode in upper case, as Confluent's API answers it. */
        if (chan_compat_mode_parse(&mode, s) < 0 || strcmp(s, chan_compat_mode_name(mode)) != 0) {
            chan_diag *d = report(ctx, CHAN_DIAG_ERROR, at, CHAN_CONTRACT_RULE_INVALID_VALUE,
                                  "schema.compatibility", "unknown compatibility mode \"%s\"", s);
            chan_diag_set_hint(d, "one of BACKWARD, BACKWARD_TRANSITIVE, FORWARD, "
                                  "FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE, NONE");
        } else {
            c->compatibility = mode;
        }
    }
    parse_waiver(ctx, schema, c);
    parse_versions(ctx, schema, c);
}

/* The value of key in the consumer entry item, for chan_contract_consumer_check. */
static void field_value(chan_field_value *out, parse_ctx *ctx, const chan_ynode *item,
                        const char *key)
{
    const chan_ynode *v = map_get(item, key);

    memset(out, 0, sizeof(*out));
    out->file = ctx->file;
    out->line = v ? v->line : item->line;
    out->column = v ? v->column : item->column;
    if (v == NULL)
        return;
    out->type_name = node_type_name(v);
    if (v->kind != CHAN_YNODE_SCALAR) {
        out->kind = CHAN_FIELD_OTHER;
        return;
    }
    switch (scalar_type_of(v)) {
    case T_STR:
        out->kind = CHAN_FIELD_STRING;
        break;
    case T_INT:
        out->kind = CHAN_FIELD_INTEGER;
        break;
    default:
        out->kind = CHAN_FIELD_OTHER;
        break;
    }
    out->text = v->value;
    out->len = v->len;
}

/* One entry of `consumers:`: its keys here, its fields by chan_contract_consumer_check. */
static void parse_consumer(parse_ctx *ctx, const chan_ynode *item, const char *path,
                           chan_contract_consumer *out)
{
    static const char *const keys[] = {"name",       "principal",      "group",       "scenario",
                                       "sla_p99_ms", "peak_rate_msgs", "degradation", NULL};
    chan_consumer_fields in;

    out->line = item->line;
    out->column = item->column;
    if (!expect_kind(ctx, item, CHAN_YNODE_MAP, path))
        return;
    check_keys(ctx, item, path, keys);
    field_value(&in.name, ctx, item, "name");
    field_value(&in.principal, ctx, item, "principal");
    field_value(&in.group, ctx, item, "group");
    field_value(&in.scenario, ctx, item, "scenario");
    field_value(&in.sla_p99_ms, ctx, item, "sla_p99_ms");
    field_value(&in.peak_rate_msgs, ctx, item, "peak_rate_msgs");
    field_value(&in.degradation, ctx, item, "degradation");
    chan_contract_consumer_check(out, &in, path, ctx->diags);
}

static void parse_consumers(parse_ctx *ctx, const chan_ynode *root, chan_contract *c)
{
    const chan_ynode *seq = field(ctx, root, "", "consumers", true);
    const char **groups;
    size_t i, j;

    if (seq == NULL || !expect_kind(ctx, seq, CHAN_YNODE_SEQ, "consumers") ||
        !list_size_ok(ctx, seq, "consumers"))
        return;
    c->consumers = chan_xcalloc(seq->count ? seq->count : 1, sizeof(*c->consumers));
    c->n_consumers = seq->count;
    groups = chan_xcalloc(seq->count ? seq->count : 1, sizeof(*groups));
    for (i = 0; i < seq->count; i++) {
        char *p = path_index("consumers", i);
        chan_contract_consumer *cur = &c->consumers[i];
        size_t taken;

        parse_consumer(ctx, seq->items[i], p, cur);
        groups[i] = cur->group;
        /* The group rule (chan/policy.h) over the consumers read so far. */
        taken = chan_policy_group_taken(groups, i + 1, i);
        for (j = 0; j < i; j++) {
            const chan_contract_consumer *o = &c->consumers[j];

            if (cur->name && o->name && strcmp(cur->name, o->name) == 0) {
                chan_diag_set_hint(report(ctx, CHAN_DIAG_ERROR, seq->items[i],
                                          CHAN_CONTRACT_RULE_DUP_CONSUMER, p,
                                          "consumer \"%s\" is declared twice", cur->name),
                                   "first declared at line %d", o->line);
                break;
            }
            if (j == taken) {
                chan_diag_set_hint(
                    report(ctx, CHAN_DIAG_ERROR, seq->items[i], CHAN_CONTRACT_RULE_DUP_CONSUMER, p,
                           "consumer \"%s\" uses group \"%s\" of consumer \"%s\" (line %d)",
                           cur->name ? cur->name : "", cur->group, o->name ? o->name : "", o->line),
                    "consumers in one group split the partitions between them; give each "
                    "its own group");
                break;
            }
        }
        free(p);
    }
    free(groups);
}

static void parse_producers(parse_ctx *ctx, const chan_ynode *root, chan_contract *c)
{
    static const char *const keys[] = {"principal", NULL};
    const chan_ynode *seq = field(ctx, root, "", "producers", true);
    size_t i, j;

    if (seq == NULL || !expect_kind(ctx, seq, CHAN_YNODE_SEQ, "producers") ||
        !list_size_ok(ctx, seq, "producers"))
        return;
    if (seq->count == 0) {
        report(ctx, CHAN_DIAG_ERROR, seq, CHAN_CONTRACT_RULE_INVALID_VALUE, "producers",
               "producers lists no producer");
        return;
    }
    c->producers = chan_xcalloc(seq->count, sizeof(*c->producers));
    c->n_producers = seq->count;
    for (i = 0; i < seq->count; i++) {
        const chan_ynode *item = seq->items[i], *at;
        chan_contract_producer *cur = &c->producers[i];
        char *p = path_index("producers", i);
        const char *s;

        cur->line = item->line;
        cur->column = item->column;
        if (expect_kind(ctx, item, CHAN_YNODE_MAP, p)) {
            check_keys(ctx, item, p, keys);
            s = get_string(ctx, item, p, "principal", true, &at);
            if (s && !chan_contract_principal_valid(s)) {
                char *pp = path_join(p, "principal");

                chan_diag_set_hint(report(ctx, CHAN_DIAG_ERROR, at, CHAN_CONTRACT_RULE_PRINCIPAL,
                                          pp, "invalid principal \"%s\"", s),
                                   "write a Kafka principal: User:<name>, e.g. User:orders-svc");
                free(pp);
            } else {
                cur->principal = dup_or_null(s);
            }
        }
        for (j = 0; j < i && cur->principal; j++) {
            if (c->producers[j].principal &&
                strcmp(c->producers[j].principal, cur->principal) == 0) {
                chan_diag_set_hint(report(ctx, CHAN_DIAG_ERROR, item,
                                          CHAN_CONTRACT_RULE_DUP_PRODUCER, p,
                                          "producer \"%s\" is declared twice", cur->principal),
                                   "first declared at line %d", c->producers[j].line);
                break;
            }
        }
        free(p);
    }
}

static void check_capacity(parse_ctx *ctx, const chan_ynode *root, chan_contract *c)
{
    const chan_ynode *seq = map_get(root, "consumers");
    size_t i;

    if (c->peak_qps == 0 || seq == NULL || seq->kind != CHAN_YNODE_SEQ)
        return;
    for (i = 0; i < c->n_consumers && i < seq->count; i++) {
        const chan_contract_consumer *k = &c->consumers[i];
        const chan_ynode *item = seq->items[i];
        const chan_ynode *at =
            item->kind == CHAN_YNODE_MAP ? map_get(item, "peak_rate_msgs") : NULL;
        char *p;

        if (k->peak_rate_msgs == 0 || k->peak_rate_msgs >= c->peak_qps || at == NULL)
            continue;
        p = chan_xasprintf("consumers[%zu].peak_rate_msgs", i);
        chan_diag_set_hint(report(ctx, CHAN_DIAG_WARNING, at, CHAN_CONTRACT_RULE_CAPACITY, p,
                                  "consumer \"%s\" sustains %lld msg/s but the channel peaks "
                                  "at %lld msg/s",
                                  k->name ? k->name : "", (long long)k->peak_rate_msgs,
                                  (long long)c->peak_qps),
                           "its lag grows during peaks; check that degradation \"%s\" is "
                           "acceptable",
                           chan_degradation_name(k->degradation));
        free(p);
    }
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

void chan_contract_free(chan_contract *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->n_versions; i++) {
        free((char *)c->versions[i].file);
        free((char *)c->versions[i].path);
        chan_avro_schema_free((chan_avro_schema *)c->versions[i].schema);
    }
    free(c->versions);
    for (i = 0; i < c->n_consumers; i++) {
        free((char *)c->consumers[i].name);
        free((char *)c->consumers[i].principal);
        free((char *)c->consumers[i].group);
        free((char *)c->consumers[i].scenario);
    }
    free(c->consumers);
    for (i = 0; i < c->n_producers; i++)
        free((char *)c->producers[i].principal);
    free(c->producers);
    free(c->file);
    free(c->api_version);
    free(c->name);
    free(c->description);
    free(c->team);
    free(c->maintainer);
    free(c->deprecation_date);
    free(c->retirement_date);
    free(c->subject);
    free(c->waiver_reason);
    free(c);
}

static void parse_root(parse_ctx *ctx, const chan_ynode *root, chan_contract *c)
{
    static const char *const keys[] = {
        "apiVersion", "channel",         "description",      "owner",
        "peak_qps",   "retention_hours", "deprecation_date", "retirement_date",
        "schema",     "consumers",       "producers",        NULL};
    const chan_ynode *at;
    const char *s;

    check_keys(ctx, root, "", keys);
    s = get_string(ctx, root, "", "apiVersion", true, &at);
    if (s && strcmp(s, CHAN_CONTRACT_API_VERSION) != 0) {
        chan_diag_set_hint(report(ctx, CHAN_DIAG_ERROR, at, CHAN_CONTRACT_RULE_API_VERSION,
                                  "apiVersion", "unsupported apiVersion \"%s\"", s),
                           "this version of chanreg reads apiVersion: %s",
                           CHAN_CONTRACT_API_VERSION);
    } else {
        c->api_version = dup_or_null(s);
    }
    s = get_string(ctx, root, "", "channel", true, &at);
    if (s && !valid_topic(s)) {
        chan_diag_set_hint(report(ctx, CHAN_DIAG_ERROR, at, CHAN_CONTRACT_RULE_INVALID_NAME,
                                  "channel", "invalid channel name \"%s\"", s),
                           "Kafka topic names use letters, digits, '.', '_' and '-' (at most "
                           "249)");
    } else if (s) {
        c->name = chan_xstrdup(s);
        c->name_line = at->line;
        c->name_column = at->column;
    }
    c->description = dup_or_null(get_string(ctx, root, "", "description", false, NULL));
    parse_owner(ctx, root, c);
    get_positive(ctx, root, "", "peak_qps", MAX_QPS, &c->peak_qps);
    get_positive(ctx, root, "", "retention_hours", MAX_RETENTION_HOURS, &c->retention_hours);
    parse_dates(ctx, root, c);
    parse_schema(ctx, root, c);
    parse_consumers(ctx, root, c);
    parse_producers(ctx, root, c);
    check_capacity(ctx, root, c);
}

int chan_contract__parse_partial(chan_contract **out, bool *out_ok, const char *text, size_t len,
                                 const char *filename, const chan_contract_parse_options *opts,
                                 chan_diag_list *diags)
{
    parse_ctx ctx = {0};
    chan_yaml_limits limits;
    chan_ynode *root = NULL;
    chan_contract *c = NULL;
    size_t max_size;
    /* Errors of this text, duplicate keys found while building included. */
    size_t errors_before = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR);

    *out = NULL;
    *out_ok = false;
    ctx.file = filename ? filename : "<input>";
    ctx.diags = diags;
    ctx.today = (opts && opts->today) ? opts->today : chan_date_today();
    max_size = (opts && opts->max_size) ? opts->max_size : CHAN_CONTRACT_MAX_SIZE;
    limits.max_depth = (opts && opts->max_depth) ? opts->max_depth : CHAN_CONTRACT_MAX_DEPTH;
    limits.max_aliases =
        (opts && opts->max_aliases) ? opts->max_aliases : CHAN_CONTRACT_MAX_ALIASES;
    limits.max_nodes = (opts && opts->max_nodes) ? opts->max_nodes : CHAN_CONTRACT_MAX_NODES;

    if (len > max_size) {
        chan_diag_add(diags, CHAN_DIAG_ERROR, ctx.file, 1, 1, CHAN_CONTRACT_RULE_TOO_LARGE, NULL,
                      "contract is %zu bytes, more than the limit of %zu", len, max_size);
        return CHAN_ETOOBIG;
    }
    if (chan_contract__yaml_load(&root, text, len, ctx.file, &limits, diags) < 0)
        return CHAN_EINVALID;
    if (root == NULL || (root->kind == CHAN_YNODE_SCALAR && scalar_type_of(root) == T_NULL)) {
        chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, ctx.file, 1, 1,
                                         CHAN_CONTRACT_RULE_DOCUMENT, NULL, "contract is empty"),
                           "start with `apiVersion: %s`", CHAN_CONTRACT_API_VERSION);
        chan_contract__ynode_free(root);
        return CHAN_EINVALID;
    }
    if (root->kind != CHAN_YNODE_MAP) {
        report(&ctx, CHAN_DIAG_ERROR, root, CHAN_CONTRACT_RULE_DOCUMENT, NULL,
               "a contract must be a mapping, not a %s", node_type_name(root));
        chan_contract__ynode_free(root);
        return CHAN_EINVALID;
    }
    c = chan_xcalloc(1, sizeof(*c));
    c->file = chan_xstrdup(ctx.file);
    parse_root(&ctx, root, c);
    chan_contract__ynode_free(root);
    *out = c;
    *out_ok = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR) == errors_before;
    return *out_ok ? 0 : CHAN_EINVALID;
}

int chan_contract_parse(chan_contract **out, const char *text, size_t len, const char *filename,
                        const chan_contract_parse_options *opts, chan_diag_list *diags,
                        chan_error *err)
{
    chan_contract *c = NULL;
    chan_diag_list *local = chan_diag_list_new();
    bool ok = false;
    int error;
    size_t n_errors;

    *out = NULL;
    error = chan_contract__parse_partial(&c, &ok, text, len, filename, opts, local);
    n_errors = chan_diag_list_count_severity(local, CHAN_DIAG_ERROR);
    chan_diag_list_splice(diags, local);
    chan_diag_list_free(local);
    if (error < 0) {
        chan_contract_free(c);
        if (error == CHAN_ETOOBIG)
            return chan_error_set(err, error, "%s: contract exceeds the size limit",
                                  filename ? filename : "<input>");
        return chan_error_set(err, error, "%s: %zu error%s in contract",
                              filename ? filename : "<input>", n_errors, n_errors == 1 ? "" : "s");
    }
    *out = c;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Getters                                                             */
/* ------------------------------------------------------------------ */

const char *chan_contract_file(const chan_contract *c)
{
    return c->file;
}
const char *chan_contract_name(const chan_contract *c)
{
    return c->name;
}
const char *chan_contract_description(const chan_contract *c)
{
    return c->description;
}
const char *chan_contract_owner_team(const chan_contract *c)
{
    return c->team;
}
const char *chan_contract_maintainer(const chan_contract *c)
{
    return c->maintainer;
}
int64_t chan_contract_peak_qps(const chan_contract *c)
{
    return c->peak_qps;
}
int64_t chan_contract_retention_hours(const chan_contract *c)
{
    return c->retention_hours;
}
const char *chan_contract_deprecation_date(const chan_contract *c)
{
    return c->deprecation_date;
}
const char *chan_contract_retirement_date(const chan_contract *c)
{
    return c->retirement_date;
}
const char *chan_contract_subject(const chan_contract *c)
{
    return c->subject;
}
chan_compat_mode chan_contract_compatibility(const chan_contract *c)
{
    return c->compatibility;
}
const char *chan_contract_waiver_reason(const chan_contract *c)
{
    return c->waiver_reason;
}
int chan_contract_check_floor(const chan_contract *c, chan_compat_mode floor, chan_diag_list *diags)
{
    const char *level = chan_compat_mode_name(c->compatibility);
    chan_diag *d;

    if (chan_policy_compat_satisfies(c->compatibility, floor))
        return 0;
    if (c->waiver_reason == NULL) {
        chan_diag_add(diags, CHAN_DIAG_ERROR, c->file, c->compat_line, c->compat_column,
                      CHAN_CONTRACT_RULE_COMPAT_FLOOR, "schema.compatibility",
                      "compatibility %s is below the floor %s; raise it or add "
                      "schema.waiver.reason (an admin must approve it)",
                      level, chan_compat_mode_name(floor));
        return CHAN_EINVALID;
    }
    d = chan_diag_add(diags, CHAN_DIAG_WARNING, c->file, c->compat_line, c->compat_column,
                      CHAN_CONTRACT_RULE_COMPAT_FLOOR, "schema.compatibility",
                      "compatibility %s is below the floor %s under a waiver: it needs an "
                      "admin's approval once registered",
                      level, chan_compat_mode_name(floor));
    chan_diag_set_hint(d, "an admin approves it with POST /v1/channels/%s/waiver/approve",
                       c->name ? c->name : "NAME");
    return 0;
}

size_t chan_contract_version_count(const chan_contract *c)
{
    return c->n_versions;
}
const chan_contract_version *chan_contract_version_at(const chan_contract *c, size_t i)
{
    return i < c->n_versions ? &c->versions[i] : NULL;
}
size_t chan_contract_consumer_count(const chan_contract *c)
{
    return c->n_consumers;
}
const chan_contract_consumer *chan_contract_consumer_at(const chan_contract *c, size_t i)
{
    return i < c->n_consumers ? &c->consumers[i] : NULL;
}
size_t chan_contract_producer_count(const chan_contract *c)
{
    return c->n_producers;
}
const chan_contract_producer *chan_contract_producer_at(const chan_contract *c, size_t i)
{
    return i < c->n_producers ? &c->producers[i] : NULL;
}

/* ------------------------------------------------------------------ */
/* JSON rendering                                                      */
/* ------------------------------------------------------------------ */

static void set_str(json_t *obj, const char *key, const char *value)
{
    if (value)
        json_object_set_new(obj, key, json_string(value));
}

json_t *chan_contract_to_json(const chan_contract *c)
{
    json_t *root = json_object();
    json_t *owner = json_object();
    json_t *schema = json_object();
    json_t *versions = json_array();
    json_t *consumers = json_array();
    json_t *producers = json_array();
    size_t i;

    set_str(root, "apiVersion", c->api_version);
    set_str(root, "channel", c->name);
    set_str(root, "description", c->description);
    set_str(owner, "team", c->team);
    set_str(owner, "maintainer", c->maintainer);
    json_object_set_new(root, "owner", owner);
    json_object_set_new(root, "peak_qps", json_integer(c->peak_qps));
    json_object_set_new(root, "retention_hours", json_integer(c->retention_hours));
    set_str(root, "deprecation_date", c->deprecation_date);
    set_str(root, "retirement_date", c->retirement_date);
    set_str(schema, "subject", c->subject);
    set_str(schema, "compatibility", chan_compat_mode_name(c->compatibility));
    if (c->waiver_reason)
        json_object_set_new(schema, "waiver", json_pack("{s:s}", "reason", c->waiver_reason));
    for (i = 0; i < c->n_versions; i++) {
        json_t *v = json_object();

        json_object_set_new(v, "version", json_integer(c->versions[i].number));
        set_str(v, "file", c->versions[i].file);
        json_array_append_new(versions, v);
    }
    json_object_set_new(schema, "versions", versions);
    json_object_set_new(root, "schema", schema);
    for (i = 0; i < c->n_consumers; i++) {
        const chan_contract_consumer *k = &c->consumers[i];
        json_t *o = json_object();

        set_str(o, "name", k->name);
        set_str(o, "principal", k->principal);
        set_str(o, "group", k->group);
        set_str(o, "scenario", k->scenario);
        json_object_set_new(o, "sla_p99_ms", json_integer(k->sla_p99_ms));
        json_object_set_new(o, "peak_rate_msgs", json_integer(k->peak_rate_msgs));
        set_str(o, "degradation", chan_degradation_name(k->degradation));
        json_array_append_new(consumers, o);
    }
    json_object_set_new(root, "consumers", consumers);
    for (i = 0; i < c->n_producers; i++) {
        json_t *o = json_object();

        set_str(o, "principal", c->producers[i].principal);
        json_array_append_new(producers, o);
    }
    json_object_set_new(root, "producers", producers);
    return root;
}

char *chan_contract_render_json(const chan_contract *c)
{
    json_t *j = chan_contract_to_json(c);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    char *copy;

    json_decref(j);
    if (text == NULL) {
        /* jansson fails only on allocation failure; keep the abort-on-OOM rule. */
        return chan_xstrdup("{}");
    }
    copy = chan_xstrdup(text);
    free(text);
    return copy;
}
