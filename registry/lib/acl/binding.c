/*
 * binding.c - ACL bindings and sets: names of the enum values, the total
 * order that makes plans deterministic, validation, the sorted set and the
 * sorted string sets used for scopes.
 */
#include <stdlib.h>
#include <string.h>

#include "acl_int.h"

static const char *const resource_names[] = {
    "UNKNOWN", "TOPIC", "GROUP", "CLUSTER", "TRANSACTIONAL_ID", "DELEGATION_TOKEN",
};
static const char *const pattern_names[] = {"UNKNOWN", "LITERAL", "PREFIXED"};
static const char *const operation_names[] = {
    "UNKNOWN",        "ALL",
    "READ",           "WRITE",
    "CREATE",         "DELETE",
    "ALTER",          "DESCRIBE",
    "CLUSTER_ACTION", "DESCRIBE_CONFIGS",
    "ALTER_CONFIGS",  "IDEMPOTENT_WRITE",
};
static const char *const permission_names[] = {"UNKNOWN", "ALLOW", "DENY"};

const char *chan_acl_resource_type_name(chan_acl_resource_type t)
{
    if ((unsigned)t >= CHAN_ARRAY_SIZE(resource_names))
        return "UNKNOWN";
    return resource_names[t];
}

const char *chan_acl_pattern_type_name(chan_acl_pattern_type t)
{
    if ((unsigned)t >= CHAN_ARRAY_SIZE(pattern_names))
        return "UNKNOWN";
    return pattern_names[t];
}

const char *chan_acl_operation_name(chan_acl_operation op)
{
    if ((unsigned)op >= CHAN_ARRAY_SIZE(operation_names))
        return "UNKNOWN";
    return operation_names[op];
}

const char *chan_acl_permission_name(chan_acl_permission p)
{
    if ((unsigned)p >= CHAN_ARRAY_SIZE(permission_names))
        return "UNKNOWN";
    return permission_names[p];
}

/* strcmp that orders NULL before every string. */
static int strcmp_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int cmp_int(int a, int b)
{
    return (a > b) - (a < b);
}

int chan_acl_binding_compare(const chan_acl_binding *a, const chan_acl_binding *b)
{
    int c;

    if ((c = cmp_int((int)a->resource_type, (int)b->resource_type)) != 0)
        return c;
    if ((c = strcmp_null(a->resource_name, b->resource_name)) != 0)
        return c;
    if ((c = strcmp_null(a->principal, b->principal)) != 0)
        return c;
    if ((c = cmp_int((int)a->operation, (int)b->operation)) != 0)
        return c;
    if ((c = cmp_int((int)a->pattern_type, (int)b->pattern_type)) != 0)
        return c;
    if ((c = strcmp_null(a->host, b->host)) != 0)
        return c;
    return cmp_int((int)a->permission, (int)b->permission);
}

bool chan_acl__text_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    }
    return true;
}

bool chan_acl__principal_ok(const char *s)
{
    const char *colon;

    if (!chan_acl__text_ok(s))
        return false;
    colon = strchr(s, ':');
    return colon != NULL && colon != s && colon[1] != '\0';
}

bool chan_acl__topic_name_ok(const char *s)
{
    size_t len;

    if (s == NULL)
        return false;
    len = strlen(s);
    if (len == 0 || len > 249 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (; *s; s++) {
        char c = *s;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

int chan_acl_binding_validate(const chan_acl_binding *b, chan_error *err)
{
    if (b->resource_type <= CHAN_ACL_RESOURCE_UNKNOWN ||
        b->resource_type > CHAN_ACL_RESOURCE_DELEGATION_TOKEN)
        return chan_error_set(err, CHAN_EINVALID, "acl binding: unknown resource type");
    if (!chan_acl__text_ok(b->resource_name))
        return chan_error_set(err, CHAN_EINVALID,
                              "acl binding: resource name is empty or has control characters");
    if (b->pattern_type <= CHAN_ACL_PATTERN_UNKNOWN || b->pattern_type > CHAN_ACL_PATTERN_PREFIXED)
        return chan_error_set(err, CHAN_EINVALID, "acl binding: unknown pattern type");
    if (!chan_acl__principal_ok(b->principal))
        return chan_error_set(err, CHAN_EINVALID,
                              "acl binding: principal '%s' is not of the form Type:name",
                              b->principal ? b->principal : "(null)");
    if (!chan_acl__text_ok(b->host))
        return chan_error_set(err, CHAN_EINVALID, "acl binding: host is empty");
    if (b->operation <= CHAN_ACL_OP_UNKNOWN || b->operation > CHAN_ACL_OP_IDEMPOTENT_WRITE)
        return chan_error_set(err, CHAN_EINVALID, "acl binding: unknown operation");
    if (b->permission <= CHAN_ACL_PERMISSION_UNKNOWN || b->permission > CHAN_ACL_PERMISSION_DENY)
        return chan_error_set(err, CHAN_EINVALID, "acl binding: unknown permission");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Sets                                                                */
/* ------------------------------------------------------------------ */

chan_acl_set *chan_acl_set_new(void)
{
    return chan_xcalloc(1, sizeof(chan_acl_set));
}

static void binding_dispose(chan_acl_binding *b)
{
    free((char *)b->resource_name);
    free((char *)b->principal);
    free((char *)b->host);
}

void chan_acl_set_free(chan_acl_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        binding_dispose(&set->items[i]);
    free(set->items);
    free(set);
}

/*
 * Binary search for b.  Returns true when found; *out_pos is then its index,
 * otherwise the index where it would be inserted.
 */
static bool set_find(const chan_acl_set *set, const chan_acl_binding *b, size_t *out_pos)
{
    size_t lo = 0, hi = set->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = chan_acl_binding_compare(&set->items[mid], b);

        if (c == 0) {
            *out_pos = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *out_pos = lo;
    return false;
}

int chan_acl_set_add(chan_acl_set *set, bool *out_added, const chan_acl_binding *b, chan_error *err)
{
    size_t pos;
    chan_acl_binding copy;
    int error;

    if (out_added)
        *out_added = false;
    if ((error = chan_acl_binding_validate(b, err)) < 0)
        return error;
    if (set_find(set, b, &pos))
        return 0;
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 16;
        set->items = chan_xreallocarray(set->items, set->cap, sizeof(*set->items));
    }
    copy = *b;
    copy.resource_name = chan_xstrdup(b->resource_name);
    copy.principal = chan_xstrdup(b->principal);
    copy.host = chan_xstrdup(b->host);
    memmove(&set->items[pos + 1], &set->items[pos], (set->n - pos) * sizeof(*set->items));
    set->items[pos] = copy;
    set->n++;
    if (out_added)
        *out_added = true;
    return 0;
}

size_t chan_acl_set_count(const chan_acl_set *set)
{
    return set ? set->n : 0;
}

const chan_acl_binding *chan_acl_set_get(const chan_acl_set *set, size_t i)
{
    if (set == NULL || i >= set->n)
        return NULL;
    return &set->items[i];
}

bool chan_acl_set_contains(const chan_acl_set *set, const chan_acl_binding *b)
{
    size_t pos;

    return set != NULL && set_find(set, b, &pos);
}

/* ------------------------------------------------------------------ */
/* String sets                                                         */
/* ------------------------------------------------------------------ */

static bool strset_find(const chan_acl__strset *set, const char *s, size_t *out_pos)
{
    size_t lo = 0, hi = set->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(set->items[mid], s);

        if (c == 0) {
            *out_pos = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *out_pos = lo;
    return false;
}

void chan_acl__strset_add(chan_acl__strset *set, const char *s)
{
    size_t pos;

    if (strset_find(set, s, &pos))
        return;
    if (set->n == set->cap) {
        set->cap = set->cap ? set->cap * 2 : 16;
        set->items = chan_xreallocarray(set->items, set->cap, sizeof(*set->items));
    }
    memmove(&set->items[pos + 1], &set->items[pos], (set->n - pos) * sizeof(*set->items));
    set->items[pos] = chan_xstrdup(s);
    set->n++;
}

bool chan_acl__strset_has(const chan_acl__strset *set, const char *s)
{
    size_t pos;

    return s != NULL && strset_find(set, s, &pos);
}

bool chan_acl__strset_has_prefix(const chan_acl__strset *set, const char *prefix)
{
    size_t pos;

    if (prefix == NULL)
        return false;
    /* Strings with the prefix sort at or right after the prefix itself. */
    strset_find(set, prefix, &pos);
    return pos < set->n && strncmp(set->items[pos], prefix, strlen(prefix)) == 0;
}

void chan_acl__strset_dispose(chan_acl__strset *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        free(set->items[i]);
    free(set->items);
    set->items = NULL;
    set->n = set->cap = 0;
}
