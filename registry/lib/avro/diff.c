/*
 * diff.c - a field-level difference between two Avro schemas, for people:
 * the records, enums and fixed types added or removed (by full name), the
 * fields added, removed or changed in a record (type, default, deprecation,
 * documentation), the enum symbols added or removed, and a top-level type
 * that changed.  It says what changed, not whether that is compatible: the
 * verdict is chan_avro_check_mode's and chan_avro_check_removals'.
 *
 * Named types are matched by full name; fields by name.  Types are rendered
 * in a short notation: a named type by its full name, "array<T>",
 * "map<T>", "union[A, B]", a primitive by its name with the logical type in
 * parentheses ("long (timestamp-millis)").
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/avro.h"
#include "chan/common.h"

#include "avro_int.h"

struct chan_avro_diff {
    chan_avro_change *changes;
    size_t n, cap;
};

/* Append the short notation of node to out (named types by name only, so it cannot recurse). */
static void type_text(chan_buf *out, const avro_node *node, int depth)
{
    size_t i;

    if (depth > 32) {
        chan_buf_puts(out, "...");
        return;
    }
    switch (node->kind) {
    case AVRO_RECORD:
    case AVRO_ENUM:
    case AVRO_FIXED:
        chan_buf_puts(out, node->fullname);
        return;
    case AVRO_ARRAY:
    case AVRO_MAP:
        chan_buf_printf(out, "%s<", node->kind == AVRO_ARRAY ? "array" : "map");
        type_text(out, node->items, depth + 1);
        chan_buf_putc(out, '>');
        return;
    case AVRO_UNION:
        chan_buf_puts(out, "union[");
        for (i = 0; i < node->n_branches; i++) {
            if (i > 0)
                chan_buf_puts(out, ", ");
            type_text(out, node->branches[i], depth + 1);
        }
        chan_buf_putc(out, ']');
        return;
    default:
        chan_buf_puts(out, chan_avro__kind_name(node->kind));
        if (node->logical == AVRO_LT_DECIMAL)
            chan_buf_printf(out, " (decimal %d,%d)", node->precision, node->scale);
        else if (node->logical != AVRO_LT_NONE)
            chan_buf_printf(out, " (%s)", chan_avro__logical_name(node->logical));
        return;
    }
}

static char *type_string(const avro_node *node)
{
    chan_buf b = CHAN_BUF_INIT;

    type_text(&b, node, 0);
    return chan_buf_take(&b);
}

/* The default of a field as compact JSON, or NULL when it has none (caller frees). */
static char *default_string(const avro_field *f)
{
    chan_buf b = CHAN_BUF_INIT;

    if (f->default_value == NULL)
        return NULL;
    chan_avro__json_write(&b, f->default_value, false);
    return chan_buf_take(&b);
}

/* Add a change; path, old and new are copied (NULL stays NULL). */
static void add(chan_avro_diff *d, const char *kind, const char *path, const char *old_value,
                const char *new_value)
{
    chan_avro_change *c;

    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->changes = chan_xreallocarray(d->changes, d->cap, sizeof(*d->changes));
    }
    c = &d->changes[d->n++];
    c->kind = kind;
    c->path = chan_xstrdup(path);
    c->old_value = old_value ? chan_xstrdup(old_value) : NULL;
    c->new_value = new_value ? chan_xstrdup(new_value) : NULL;
}

static bool same_text(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The fields of two records of the same full name. */
static void diff_record(chan_avro_diff *d, const avro_node *old_rec, const avro_node *new_rec)
{
    size_t i;

    for (i = 0; i < old_rec->n_fields; i++) {
        const avro_field *of = &old_rec->fields[i];
        const avro_field *nf = chan_avro__field_find(new_rec, of->name);
        char *path = chan_xasprintf("%s.%s", old_rec->fullname, of->name);
        char *ot = type_string(of->type), *od = default_string(of);

        if (nf == NULL) {
            add(d, CHAN_AVRO_FIELD_REMOVED, path, ot, NULL);
        } else {
            char *nt = type_string(nf->type), *nd = default_string(nf);

            if (!same_text(ot, nt))
                add(d, CHAN_AVRO_FIELD_TYPE_CHANGED, path, ot, nt);
            if (!same_text(od, nd))
                add(d, CHAN_AVRO_FIELD_DEFAULT_CHANGED, path, od, nd);
            if (of->deprecated != nf->deprecated)
                add(d, CHAN_AVRO_FIELD_DEPRECATED, path, of->deprecated ? "true" : "false",
                    nf->deprecated ? "true" : "false");
            free(nt);
            free(nd);
        }
        free(ot);
        free(od);
        free(path);
    }
    for (i = 0; i < new_rec->n_fields; i++) {
        const avro_field *nf = &new_rec->fields[i];
        char *path, *nt, *nd;

        if (chan_avro__field_find(old_rec, nf->name) != NULL)
            continue;
        path = chan_xasprintf("%s.%s", new_rec->fullname, nf->name);
        nt = type_string(nf->type);
        nd = default_string(nf);
        add(d, CHAN_AVRO_FIELD_ADDED, path, NULL, nt);
        if (nd != NULL)
            add(d, CHAN_AVRO_FIELD_DEFAULT_CHANGED, path, NULL, nd);
        free(nd);
        free(nt);
        free(path);
    }
}

/* The symbols of two enums of the same full name. */
static void diff_enum(chan_avro_diff *d, const avro_node *o, const avro_node *n)
{
    size_t i;

    for (i = 0; i < o->n_symbols; i++)
        if (chan_avro__index_get(&n->symbol_ix, o->symbols[i]) < 0)
            add(d, CHAN_AVRO_SYMBOL_REMOVED, o->fullname, o->symbols[i], NULL);
    for (i = 0; i < n->n_symbols; i++)
        if (chan_avro__index_get(&o->symbol_ix, n->symbols[i]) < 0)
            add(d, CHAN_AVRO_SYMBOL_ADDED, n->fullname, NULL, n->symbols[i]);
    if (!same_text(o->enum_default, n->enum_default))
        add(d, CHAN_AVRO_ENUM_DEFAULT_CHANGED, n->fullname, o->enum_default, n->enum_default);
}

chan_avro_diff *chan_avro_diff_compute(const chan_avro_schema *old_schema,
                                       const chan_avro_schema *new_schema)
{
    chan_avro_diff *d = chan_xcalloc(1, sizeof(*d));
    char *ot, *nt;
    size_t i;

    assert(old_schema != NULL && new_schema != NULL);
    ot = type_string(old_schema->top);
    nt = type_string(new_schema->top);
    if (!same_text(ot, nt))
        add(d, CHAN_AVRO_TYPE_CHANGED, "", ot, nt);
    free(ot);
    free(nt);
    for (i = 0; i < old_schema->n_named; i++) {
        const avro_node *o = old_schema->named[i];
        const avro_node *n = chan_avro__named_find(new_schema, o->fullname);

        if (n == NULL) {
            add(d, CHAN_AVRO_TYPE_REMOVED, o->fullname, chan_avro__kind_name(o->kind), NULL);
            continue;
        }
        if (n->kind != o->kind) {
            add(d, CHAN_AVRO_TYPE_CHANGED, o->fullname, chan_avro__kind_name(o->kind),
                chan_avro__kind_name(n->kind));
            continue;
        }
        if (o->kind == AVRO_RECORD)
            diff_record(d, o, n);
        else if (o->kind == AVRO_ENUM)
            diff_enum(d, o, n);
        else if (o->kind == AVRO_FIXED && o->size != n->size) {
            char os[32], ns[32];

            snprintf(os, sizeof(os), "%lld", (long long)o->size);
            snprintf(ns, sizeof(ns), "%lld", (long long)n->size);
            add(d, CHAN_AVRO_FIXED_SIZE_CHANGED, o->fullname, os, ns);
        }
    }
    for (i = 0; i < new_schema->n_named; i++) {
        const avro_node *n = new_schema->named[i];

        if (chan_avro__named_find(old_schema, n->fullname) == NULL)
            add(d, CHAN_AVRO_TYPE_ADDED, n->fullname, NULL, chan_avro__kind_name(n->kind));
    }
    return d;
}

size_t chan_avro_diff_count(const chan_avro_diff *diff)
{
    return diff ? diff->n : 0;
}

const chan_avro_change *chan_avro_diff_get(const chan_avro_diff *diff, size_t i)
{
    return diff && i < diff->n ? &diff->changes[i] : NULL;
}

void chan_avro_diff_free(chan_avro_diff *diff)
{
    size_t i;

    if (diff == NULL)
        return;
    for (i = 0; i < diff->n; i++) {
        free((char *)diff->changes[i].path);
        free((char *)diff->changes[i].old_value);
        free((char *)diff->changes[i].new_value);
    }
    free(diff->changes);
    free(diff);
}
