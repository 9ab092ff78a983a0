/*
 * text.c - the texts of a parsed schema that the registry keeps and
 * compares: the Confluent Schema Registry's text of a schema (Avro Java's
 * Schema.toString() layout), its identity (the same text with everything
 * that Confluent compares as a set sorted, plus the references) and
 * Confluent's normalized form.
 *
 * One writer renders all three; flags choose sorting and normalization.
 * JSON values (defaults, custom attributes) are written as Jackson writes
 * them: strings with \b \t \n \f \r and \u00XX escapes only, numbers in
 * Java's Double.toString() form.
 */
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "avro_int.h"

typedef struct writer {
    chan_buf *b;
    unsigned flags;
    bool *known; /* by named_id: already written once, later uses are names */
} writer;

/* Keys that Avro reserves, by where they appear; the rest are custom attributes. */
static const char *const schema_reserved[] = {"doc",       "fields",  "items",   "name",
                                              "namespace", "size",    "symbols", "values",
                                              "type",      "aliases", NULL};
static const char *const field_reserved[] = {"default", "doc",     "name", "order",
                                             "type",    "aliases", NULL};

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------------------ */
/* JSON values as Jackson writes them                                  */
/* ------------------------------------------------------------------ */

static void put_string(chan_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    chan_buf_putc(b, '"');
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        switch (c) {
        case '"':
            chan_buf_puts(b, "\\\"");
            break;
        case '\\':
            chan_buf_puts(b, "\\\\");
            break;
        case '\b':
            chan_buf_puts(b, "\\b");
            break;
        case '\t':
            chan_buf_puts(b, "\\t");
            break;
        case '\n':
            chan_buf_puts(b, "\\n");
            break;
        case '\f':
            chan_buf_puts(b, "\\f");
            break;
        case '\r':
            chan_buf_puts(b, "\\r");
            break;
        default:
            if (c < 0x20) {
                chan_buf_puts(b, "\\u00");
                chan_buf_putc(b, hex[c >> 4]);
                chan_buf_putc(b, hex[c & 15]);
            } else {
                chan_buf_putc(b, (char)c);
            }
        }
    }
    chan_buf_putc(b, '"');
}

static void put_cstring(chan_buf *b, const char *s)
{
    put_string(b, s, strlen(s));
}

/*
** A double as Java's Double.toString(): the shortest digits that read back
** as d; plain notation for 1e-3 <= |d| < 1e7 (at least one fraction digit),
** else d.dddE[-]n.
*/
static void put_double(chan_buf *b, double d)
{
    char tmp[64], digits[32];
    int prec, exp10 = 0, nd = 0, i;
    const char *p;

    if (!isfinite(d)) { /* not produced by a JSON parser; keep the text valid JSON */
        chan_buf_puts(b, "null");
        return;
    }
    if (d == 0) {
        chan_buf_puts(b, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    /* tmp: [-]D[.DDD]e[+-]XX */
    p = tmp;
    if (*p == '-') {
        chan_buf_putc(b, '-');
        p++;
    }
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    if (*p == 'e')
        exp10 = (int)strtol(p + 1, NULL, 10);
    if (exp10 >= -3 && exp10 < 7) {
        if (exp10 < 0) {
            chan_buf_puts(b, "0.");
            for (i = -1; i > exp10; i--)
                chan_buf_putc(b, '0');
            chan_buf_puts(b, digits);
        } else {
            for (i = 0; i <= exp10; i++)
                chan_buf_putc(b, i < nd ? digits[i] : '0');
            chan_buf_putc(b, '.');
            if (nd > exp10 + 1)
                chan_buf_puts(b, digits + exp10 + 1);
            else
                chan_buf_putc(b, '0');
        }
        return;
    }
    chan_buf_putc(b, digits[0]);
    chan_buf_putc(b, '.');
    chan_buf_puts(b, nd > 1 ? digits + 1 : "0");
    chan_buf_printf(b, "E%d", exp10);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_member(const void *a, const void *b)
{
    return strcmp((*(const avro_json_member *const *)a)->key,
                  (*(const avro_json_member *const *)b)->key);
}

void chan_avro__json_write(chan_buf *b, const avro_json *v, bool sort)
{
    size_t i;

    switch (v->type) {
    case AVRO_JSON_OBJECT: {
        const avro_json_member **m = chan_xcalloc((size_t)v->len + 1, sizeof(*m));

        for (i = 0; i < v->len; i++)
            m[i] = &v->u.members[i];
        if (sort)
            qsort(m, v->len, sizeof(*m), cmp_member);
        chan_buf_putc(b, '{');
        for (i = 0; i < v->len; i++) {
            if (i)
                chan_buf_putc(b, ',');
            put_cstring(b, m[i]->key);
            chan_buf_putc(b, ':');
            chan_avro__json_write(b, &m[i]->value, sort);
        }
        chan_buf_putc(b, '}');
        free(m);
        break;
    }
    case AVRO_JSON_ARRAY:
        chan_buf_putc(b, '[');
        for (i = 0; i < v->len; i++) {
            if (i)
                chan_buf_putc(b, ',');
            chan_avro__json_write(b, &v->u.items[i], sort);
        }
        chan_buf_putc(b, ']');
        break;
    case AVRO_JSON_STRING:
        put_string(b, v->u.s, v->len);
        break;
    case AVRO_JSON_INTEGER:
        chan_buf_printf(b, "%lld", (long long)v->u.i);
        break;
    case AVRO_JSON_REAL:
        put_double(b, v->u.d);
        break;
    case AVRO_JSON_TRUE:
        chan_buf_puts(b, "true");
        break;
    case AVRO_JSON_FALSE:
        chan_buf_puts(b, "false");
        break;
    default:
        chan_buf_puts(b, "null");
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Schemas                                                             */
/* ------------------------------------------------------------------ */

static void key(chan_buf *b, const char *k)
{
    /* Attribute names come from the schema: escaped like every string. */
    chan_buf_putc(b, ',');
    put_cstring(b, k);
    chan_buf_putc(b, ':');
}

/* The namespace part of a full name ("" for none): length of the prefix before the last dot. */
static size_t ns_len(const char *fullname)
{
    const char *dot = strrchr(fullname, '.');

    return dot ? (size_t)(dot - fullname) : 0;
}

static bool ns_equal(const char *fullname, const char *ns)
{
    size_t n = ns_len(fullname);

    return strlen(ns) == n && strncmp(fullname, ns, n) == 0;
}

/* Avro Java's Name.getQualified: the simple name within its own namespace, else the full name. */
static void put_name_ref(chan_buf *b, const avro_node *n, const char *cur)
{
    static const char *const type_names[] = {"record", "enum",   "array",   "map",  "union",
                                             "fixed",  "string", "bytes",   "int",  "long",
                                             "float",  "double", "boolean", "null", NULL};

    if (ns_len(n->fullname) > 0 && ns_equal(n->fullname, cur) && !in_list(n->name, type_names))
        put_cstring(b, n->name);
    else
        put_cstring(b, n->fullname);
}

/*
** Custom attributes of obj (keys not in reserved), in the order given or
** sorted; with normalize, the logical-type attributes of a valid logical
** type come first, as Confluent's normalized text has them.
*/
static void put_props(writer *w, const avro_json *obj, const char *const *reserved,
                      const avro_node *n)
{
    bool sort = (w->flags & (CHAN_AVRO_W_SORT | CHAN_AVRO_W_NORMALIZE)) != 0;
    const avro_json_member **keys;
    const char *first[3];
    const avro_json *value;
    size_t nk = 0, nfirst = 0, i, j;

    if (!avro_json_is(obj, AVRO_JSON_OBJECT))
        return;
    keys = chan_xcalloc((size_t)obj->len + 1, sizeof(*keys));
    for (i = 0; i < obj->len; i++)
        if (!in_list(obj->u.members[i].key, reserved))
            keys[nk++] = &obj->u.members[i];
    if (sort)
        qsort(keys, nk, sizeof(*keys), cmp_member);
    if ((w->flags & CHAN_AVRO_W_NORMALIZE) && n && n->logical != AVRO_LT_NONE) {
        first[nfirst++] = "logicalType";
        if (n->logical == AVRO_LT_DECIMAL) {
            first[nfirst++] = "precision";
            if (n->scale != 0)
                first[nfirst++] = "scale";
        }
    }
    for (i = 0; i < nfirst; i++) {
        if ((value = chan_avro__json_get(obj, first[i])) == NULL)
            continue;
        key(w->b, first[i]);
        chan_avro__json_write(w->b, value, sort);
    }
    for (i = 0; i < nk; i++) {
        bool done = false;

        for (j = 0; j < nfirst; j++)
            done = done || strcmp(keys[i]->key, first[j]) == 0;
        if (done)
            continue;
        key(w->b, keys[i]->key);
        chan_avro__json_write(w->b, &keys[i]->value, sort);
    }
    free(keys);
}

/* "aliases" of a named type: simple names within its namespace, else full names. */
static void put_type_aliases(writer *w, const avro_node *n)
{
    bool sort = (w->flags & (CHAN_AVRO_W_SORT | CHAN_AVRO_W_NORMALIZE)) != 0;
    char **v;
    size_t i, k, m = 0;

    if (n->n_aliases == 0)
        return;
    v = chan_xcalloc(n->n_aliases + 1, sizeof(*v));
    for (i = 0; i < n->n_aliases; i++) { /* a set: duplicates once */
        bool dup = false;

        for (k = 0; k < m; k++)
            dup = dup || strcmp(v[k], n->aliases[i]) == 0;
        if (!dup)
            v[m++] = n->aliases[i];
    }
    if (sort)
        qsort(v, m, sizeof(*v), cmp_str);
    key(w->b, "aliases");
    chan_buf_putc(w->b, '[');
    for (i = 0; i < m; i++) {
        char *ns = chan_xstrndup(n->fullname, ns_len(n->fullname));
        const char *simple = strrchr(v[i], '.') ? strrchr(v[i], '.') + 1 : v[i];

        if (i)
            chan_buf_putc(w->b, ',');
        put_cstring(w->b, ns[0] && ns_equal(v[i], ns) ? simple : v[i]);
        free(ns);
    }
    chan_buf_putc(w->b, ']');
    free(v);
}

static void put_field_aliases(writer *w, const avro_field *f)
{
    bool sort = (w->flags & (CHAN_AVRO_W_SORT | CHAN_AVRO_W_NORMALIZE)) != 0;
    char **v;
    size_t i, k, m = 0;

    if (f->n_aliases == 0)
        return;
    v = chan_xcalloc(f->n_aliases + 1, sizeof(*v));
    for (i = 0; i < f->n_aliases; i++) {
        bool dup = false;

        for (k = 0; k < m; k++)
            dup = dup || strcmp(v[k], f->aliases[i]) == 0;
        if (!dup)
            v[m++] = f->aliases[i];
    }
    if (sort)
        qsort(v, m, sizeof(*v), cmp_str);
    key(w->b, "aliases");
    chan_buf_putc(w->b, '[');
    for (i = 0; i < m; i++) {
        if (i)
            chan_buf_putc(w->b, ',');
        put_cstring(w->b, v[i]);
    }
    chan_buf_putc(w->b, ']');
    free(v);
}

/* "doc" of a named type or field when it is a string (Avro Java ignores other values). */
static void put_doc(writer *w, const avro_json *obj, bool named)
{
    const avro_json *doc = chan_avro__json_get(obj, "doc");

    if (!avro_json_is(doc, AVRO_JSON_STRING))
        return;
    if (named && (w->flags & CHAN_AVRO_W_NORMALIZE) && doc->len == 0)
        return;
    key(w->b, "doc");
    put_string(w->b, doc->u.s, doc->len);
}

static void put_node(writer *w, const avro_node *n, const char *cur);

static void put_fields(writer *w, const avro_node *n, const char *ns)
{
    bool sort = (w->flags & (CHAN_AVRO_W_SORT | CHAN_AVRO_W_NORMALIZE)) != 0;
    size_t i;

    chan_buf_puts(w->b, ",\"fields\":[");
    for (i = 0; i < n->n_fields; i++) {
        const avro_field *f = &n->fields[i];
        const char *order = avro_json_string(chan_avro__json_get(f->json, "order"));

        if (i)
            chan_buf_putc(w->b, ',');
        chan_buf_puts(w->b, "{\"name\":");
        put_cstring(w->b, f->name);
        chan_buf_puts(w->b, ",\"type\":");
        put_node(w, f->type, ns);
        put_doc(w, f->json, false);
        if (f->default_value) {
            key(w->b, "default");
            chan_avro__json_write(w->b, f->default_value, sort);
        }
        if (order && strcmp(order, "ascending") != 0) {
            key(w->b, "order");
            put_cstring(w->b, order);
        }
        put_field_aliases(w, f);
        put_props(w, f->json, field_reserved, NULL);
        chan_buf_putc(w->b, '}');
    }
    chan_buf_putc(w->b, ']');
}

/* A named type's definition: "type", "name", "namespace" when needed. */
static void put_named_head(writer *w, const avro_node *n, const char *cur)
{
    size_t nl = ns_len(n->fullname);

    chan_buf_printf(w->b, "{\"type\":\"%s\",\"name\":", chan_avro__kind_name(n->kind));
    put_cstring(w->b, n->name);
    if (nl > 0 && !ns_equal(n->fullname, cur)) {
        key(w->b, "namespace");
        put_string(w->b, n->fullname, nl);
    } else if (nl == 0 && cur[0] != '\0') {
        chan_buf_puts(w->b, ",\"namespace\":\"\"");
    }
}

/*
** Write node n used within namespace cur ("" for none), as Avro Java's
** Schema.toJson does.
*/
static void put_node(writer *w, const avro_node *n, const char *cur)
{
    static const char *const enum_reserved[] = {"doc",       "fields",  "items",   "name",
                                                "namespace", "size",    "symbols", "values",
                                                "type",      "aliases", "default", NULL};
    size_t i;

    if (n->fullname) {
        char *ns;

        if (w->known[n->named_id]) {
            put_name_ref(w->b, n, cur);
            return;
        }
        w->known[n->named_id] = true;
        ns = chan_xstrndup(n->fullname, ns_len(n->fullname));
        put_named_head(w, n, cur);
        put_doc(w, n->json, true);
        if (n->kind == AVRO_RECORD) {
            put_fields(w, n, ns);
            put_props(w, n->json, schema_reserved, n);
        } else if (n->kind == AVRO_ENUM) {
            chan_buf_puts(w->b, ",\"symbols\":[");
            for (i = 0; i < n->n_symbols; i++) {
                if (i)
                    chan_buf_putc(w->b, ',');
                put_cstring(w->b, n->symbols[i]);
            }
            chan_buf_putc(w->b, ']');
            if (n->enum_default) {
                key(w->b, "default");
                put_cstring(w->b, n->enum_default);
            }
            put_props(w, n->json, enum_reserved, n);
        } else {
            assert(n->kind == AVRO_FIXED); /* the kind part of a node is its kind's only */
            chan_buf_printf(w->b, ",\"size\":%lld", (long long)n->size);
            put_props(w, n->json, schema_reserved, n);
        }
        put_type_aliases(w, n);
        chan_buf_putc(w->b, '}');
        free(ns);
        return;
    }
    switch (n->kind) {
    case AVRO_UNION:
        chan_buf_putc(w->b, '[');
        for (i = 0; i < n->n_branches; i++) {
            if (i)
                chan_buf_putc(w->b, ',');
            put_node(w, n->branches[i], cur);
        }
        chan_buf_putc(w->b, ']');
        return;
    case AVRO_ARRAY:
    case AVRO_MAP:
        chan_buf_printf(w->b, "{\"type\":\"%s\",\"%s\":", chan_avro__kind_name(n->kind),
                        n->kind == AVRO_ARRAY ? "items" : "values");
        put_node(w, n->items, cur);
        put_props(w, n->json, schema_reserved, n);
        chan_buf_putc(w->b, '}');
        return;
    default: {
        size_t mark = w->b->len;

        chan_buf_printf(w->b, "{\"type\":\"%s\"", chan_avro__kind_name(n->kind));
        {
            size_t before = w->b->len;

            put_props(w, n->json, schema_reserved, n);
            if (w->b->len == before) { /* no attributes: the plain name */
                w->b->len = mark;
                w->b->ptr[mark] = '\0';
                chan_buf_printf(w->b, "\"%s\"", chan_avro__kind_name(n->kind));
                return;
            }
        }
        chan_buf_putc(w->b, '}');
        return;
    }
    }
}

char *chan_avro__write(const chan_avro_schema *schema, unsigned flags)
{
    chan_buf b = CHAN_BUF_INIT;
    writer w;
    size_t i;

    assert(schema != NULL);
    w.b = &b;
    w.flags = flags;
    w.known = chan_xcalloc(schema->n_named + 1, sizeof(*w.known));
    if (!(flags & CHAN_AVRO_W_INLINE))
        for (i = 0; i < schema->n_named; i++)
            w.known[i] = schema->named[i]->external;
    put_node(&w, schema->top, "");
    free(w.known);
    return chan_buf_take(&b);
}

char *chan_avro__identity(const chan_avro_schema *schema)
{
    char *text = chan_avro__write(schema, CHAN_AVRO_W_SORT);
    chan_buf b = CHAN_BUF_INIT;
    size_t i;

    if (schema->n_refs == 0)
        return text;
    chan_buf_puts(&b, text);
    free(text);
    chan_buf_puts(&b, "\nreferences:[");
    for (i = 0; i < schema->n_refs; i++) {
        if (i)
            chan_buf_putc(&b, ',');
        chan_buf_putc(&b, '[');
        put_cstring(&b, schema->refs[i].name);
        chan_buf_putc(&b, ',');
        put_cstring(&b, schema->refs[i].subject);
        chan_buf_printf(&b, ",%d]", schema->refs[i].version);
    }
    chan_buf_putc(&b, ']');
    return chan_buf_take(&b);
}

bool chan_avro_schema_same_resolved(const chan_avro_schema *a, const chan_avro_schema *b)
{
    char *ta = chan_avro__write(a, CHAN_AVRO_W_SORT | CHAN_AVRO_W_INLINE);
    char *tb = chan_avro__write(b, CHAN_AVRO_W_SORT | CHAN_AVRO_W_INLINE);
    bool same = strcmp(ta, tb) == 0;

    free(ta);
    free(tb);
    return same;
}
