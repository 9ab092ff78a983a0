/*
 * compat.c - the compatibility engine: Avro 1.11 schema resolution ("can a
 * reader with schema R read data written with schema W?"), the Confluent
 * compatibility modes on top of it, and the field-removal governance rule.
 *
 * Every incompatibility is reported, not only the first, each with a stable
 * kind (Confluent's names where they exist), the JSON pointer of the reader
 * schema where it arises and a message a person can act on.  Locations point
 * at the definition of a named type, so a record that is used in many places
 * is checked and reported once per (reader, writer) pair; recursive types
 * terminate because a pair in progress is assumed compatible.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "chan/common.h"
#include "avro_int.h"

/* ------------------------------------------------------------------ */
/* Modes                                                               */
/* ------------------------------------------------------------------ */

static const char *const mode_names[] = {
    [CHAN_COMPAT_NONE] = "NONE",
    [CHAN_COMPAT_BACKWARD] = "BACKWARD",
    [CHAN_COMPAT_BACKWARD_TRANSITIVE] = "BACKWARD_TRANSITIVE",
    [CHAN_COMPAT_FORWARD] = "FORWARD",
    [CHAN_COMPAT_FORWARD_TRANSITIVE] = "FORWARD_TRANSITIVE",
    [CHAN_COMPAT_FULL] = "FULL",
    [CHAN_COMPAT_FULL_TRANSITIVE] = "FULL_TRANSITIVE",
};

int chan_compat_mode_parse(chan_compat_mode *out, const char *name)
{
    size_t i;

    for (i = 0; name && i < CHAN_ARRAY_SIZE(mode_names); i++) {
        if (strcasecmp(name, mode_names[i]) == 0) {
            *out = (chan_compat_mode)i;
            return 0;
        }
    }
    return CHAN_EINVALID;
}

const char *chan_compat_mode_name(chan_compat_mode mode)
{
    if ((size_t)mode >= CHAN_ARRAY_SIZE(mode_names))
        return "UNKNOWN";
    return mode_names[mode];
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */
/* ------------------------------------------------------------------ */

struct chan_compat_report {
    chan_compat_issue *items;
    size_t n, cap;
};

chan_compat_report *chan_compat_report_new(void)
{
    return chan_xcalloc(1, sizeof(chan_compat_report));
}

void chan_compat_report_free(chan_compat_report *report)
{
    size_t i;

    if (!report)
        return;
    for (i = 0; i < report->n; i++) {
        free((char *)report->items[i].location);
        free((char *)report->items[i].message);
    }
    free(report->items);
    free(report);
}

size_t chan_compat_report_count(const chan_compat_report *report)
{
    return report ? report->n : 0;
}

const chan_compat_issue *chan_compat_report_get(const chan_compat_report *report, size_t i)
{
    if (!report || i >= report->n)
        return NULL;
    return &report->items[i];
}

/* kind is a string literal; location and message are taken over. */
static void report_add(chan_compat_report *report, const char *kind, char *location, char *message,
                       int version_index, bool reader_is_new)
{
    chan_compat_issue *is;

    if (report->n == report->cap) {
        report->cap = report->cap ? 2 * report->cap : 8;
        report->items = chan_xreallocarray(report->items, report->cap, sizeof(*report->items));
    }
    is = &report->items[report->n++];
    is->kind = kind;
    is->location = location;
    is->message = message;
    is->version_index = version_index;
    is->reader_is_new = reader_is_new;
}

/* ------------------------------------------------------------------ */
/* Resolution                                                          */
/* ------------------------------------------------------------------ */

enum { PAIR_BUSY = 1, PAIR_OK, PAIR_FAILED };

typedef struct pair_slot {
    const avro_node *r, *w;
    int state;
} pair_slot;

#define INLINE_PAIRS 32

typedef struct check_ctx {
    chan_compat_report *report; /* NULL: stop at the first issue */
    int version_index;
    bool reader_is_new;
    bool failed;
    const char *field; /* reader field being resolved, for messages */
    /* (reader, writer) named pairs: in progress or done; open addressing */
    pair_slot *pairs;
    size_t pairs_cap, pairs_n;
    pair_slot inline_pairs[INLINE_PAIRS];
} check_ctx;

static bool stop(const check_ctx *c)
{
    return c->failed && !c->report;
}

/*
** Record one issue at `location` (a reader JSON pointer; "" shows as "/").
** The message reads "location (field): text".
*/
static void issue(check_ctx *c, const char *kind, const char *location, const char *field,
                  const char *fmt, ...) CHAN_PRINTF(5, 6);
static void issue(check_ctx *c, const char *kind, const char *location, const char *field,
                  const char *fmt, ...)
{
    va_list ap;
    char *text, *msg;

    c->failed = true;
    if (!c->report)
        return;
    va_start(ap, fmt);
    text = chan_xvasprintf(fmt, ap);
    va_end(ap);
    if (field)
        msg = chan_xasprintf("%s (%s): %s", *location ? location : "/", field, text);
    else
        msg = chan_xasprintf("%s: %s", *location ? location : "/", text);
    free(text);
    report_add(c->report, kind, chan_xstrdup(location), msg, c->version_index, c->reader_is_new);
}

static size_t pair_hash(const avro_node *r, const avro_node *w)
{
    uintptr_t h = (uintptr_t)r * 31u + (uintptr_t)w;

    return (size_t)(h ^ (h >> 17) ^ (h >> 31));
}

static pair_slot *pair_lookup(check_ctx *c, const avro_node *r, const avro_node *w)
{
    size_t mask = c->pairs_cap - 1, i;

    for (i = pair_hash(r, w) & mask; c->pairs[i].r; i = (i + 1) & mask)
        if (c->pairs[i].r == r && c->pairs[i].w == w)
            return &c->pairs[i];
    return &c->pairs[i];
}

/* The slot of (r, w): existing (state set) or new (state 0, keys filled in). */
static pair_slot *pair_get(check_ctx *c, const avro_node *r, const avro_node *w)
{
    pair_slot *slot;

    if (2 * (c->pairs_n + 1) > c->pairs_cap) {
        pair_slot *old = c->pairs;
        size_t old_cap = c->pairs_cap, i;

        c->pairs_cap *= 2;
        c->pairs = chan_xcalloc(c->pairs_cap, sizeof(*c->pairs));
        for (i = 0; i < old_cap; i++)
            if (old[i].r)
                *pair_lookup(c, old[i].r, old[i].w) = old[i];
        if (old != c->inline_pairs)
            free(old);
    }
    slot = pair_lookup(c, r, w);
    if (!slot->r) {
        slot->r = r;
        slot->w = w;
        slot->state = 0;
        c->pairs_n++;
    }
    return slot;
}

static const char *type_label(const avro_node *n)
{
    return n->fullname ? n->fullname : chan_avro__kind_name(n->kind);
}

/* Writer kind w may be promoted to reader kind r (spec, "Schema Resolution"). */
static bool promotable(avro_kind w, avro_kind r)
{
    switch (w) {
    case AVRO_INT:
        return r == AVRO_LONG || r == AVRO_FLOAT || r == AVRO_DOUBLE;
    case AVRO_LONG:
        return r == AVRO_FLOAT || r == AVRO_DOUBLE;
    case AVRO_FLOAT:
        return r == AVRO_DOUBLE;
    case AVRO_STRING:
        return r == AVRO_BYTES;
    case AVRO_BYTES:
        return r == AVRO_STRING;
    default:
        return false;
    }
}

/*
** Named types match when their unqualified names are equal or when the
** reader lists the writer's full name among its aliases (Avro Java's
** SchemaCompatibility.schemaNameEquals).
*/
static bool names_match(const avro_node *r, const avro_node *w)
{
    size_t i;

    if (strcmp(r->name, w->name) == 0)
        return true;
    for (i = 0; i < r->n_aliases; i++)
        if (strcmp(r->aliases[i], w->fullname) == 0)
            return true;
    return false;
}

/*
** Index of the reader union branch that reads the non-union writer w, or -1:
** the first branch of the same kind (and name, for named types), otherwise
** the first branch w can be promoted to.  O(1) through the union's indexes.
*/
static long union_branch(const avro_node *r, const avro_node *w)
{
    const avro_slot *slot = NULL;
    long best = -1;
    int k;

    if (w->fullname) {
        while ((slot = chan_avro__index_next(&r->branch_name_ix, w->name, slot)) != NULL)
            if (r->branches[slot->val]->kind == w->kind && (best < 0 || slot->val < best))
                best = (long)slot->val;
        while ((slot = chan_avro__index_next(&r->branch_alias_ix, w->fullname, slot)) != NULL)
            if (r->branches[slot->val]->kind == w->kind && (best < 0 || slot->val < best))
                best = (long)slot->val;
        if (best >= 0)
            return best;
    } else if (r->kind_first[w->kind]) {
        return (long)r->kind_first[w->kind] - 1;
    }
    for (k = AVRO_NULL; k <= AVRO_STRING; k++) {
        long at = (long)r->kind_first[k] - 1;

        if (at >= 0 && promotable(w->kind, (avro_kind)k) && (best < 0 || at < best))
            best = at;
    }
    return best;
}

static bool check(check_ctx *c, const avro_node *r, const avro_node *w);

static bool check_record(check_ctx *c, const avro_node *r, const avro_node *w)
{
    const char *saved_field = c->field;
    bool ok = true;
    size_t i, k;

    for (i = 0; i < r->n_fields && !stop(c); i++) {
        const avro_field *rf = &r->fields[i];
        const avro_field *wf = chan_avro__field_find(w, rf->name);

        for (k = 0; !wf && k < rf->n_aliases; k++)
            wf = chan_avro__field_find(w, rf->aliases[k]);
        if (!wf) {
            if (!rf->default_value) {
                char *loc = chan_xasprintf("%s/fields/%zu", r->pointer, i);

                issue(c, "READER_FIELD_MISSING_DEFAULT_VALUE", loc, rf->name,
                      "reader field has no default and writer lacks it");
                free(loc);
                ok = false;
            }
            continue;
        }
        c->field = rf->name;
        if (!check(c, rf->type, wf->type))
            ok = false;
        c->field = saved_field;
    }
    return ok;
}

static bool check_enum(check_ctx *c, const avro_node *r, const avro_node *w)
{
    chan_buf missing = CHAN_BUF_INIT;
    size_t i, n_missing = 0;
    bool ok = true;

    for (i = 0; i < w->n_symbols; i++) {
        if (chan_avro__index_get(&r->symbol_ix, w->symbols[i]) < 0) {
            chan_buf_printf(&missing, "%s%s", n_missing ? ", " : "", w->symbols[i]);
            n_missing++;
        }
    }
    if (n_missing && !r->enum_default) {
        issue(c, "MISSING_ENUM_SYMBOLS", r->pointer, c->field,
              "reader enum \"%s\" lacks writer symbol%s [%s] and has no default", r->fullname,
              n_missing > 1 ? "s" : "", chan_buf_cstr(&missing));
        ok = false;
    }
    chan_buf_dispose(&missing);
    return ok;
}

/* Named types: name check, then the body, memoised per (reader, writer). */
static bool check_named(check_ctx *c, const avro_node *r, const avro_node *w)
{
    pair_slot *slot = pair_get(c, r, w);
    bool ok = true;

    if (slot->state == PAIR_BUSY || slot->state == PAIR_OK)
        return true;
    if (slot->state == PAIR_FAILED)
        return false;
    slot->state = PAIR_BUSY;
    if (!names_match(r, w)) {
        issue(c, "NAME_MISMATCH", r->pointer, c->field,
              "reader %s \"%s\" cannot read writer %s \"%s\": names differ",
              chan_avro__kind_name(r->kind), r->fullname, chan_avro__kind_name(w->kind),
              w->fullname);
        ok = false;
    }
    switch (r->kind) {
    case AVRO_RECORD:
        ok = check_record(c, r, w) && ok;
        break;
    case AVRO_ENUM:
        ok = check_enum(c, r, w) && ok;
        break;
    case AVRO_FIXED:
        if (r->size != w->size) {
            issue(c, "FIXED_SIZE_MISMATCH", r->pointer, c->field,
                  "reader fixed \"%s\" has size %lld but writer fixed \"%s\" has size %lld",
                  r->fullname, (long long)r->size, w->fullname, (long long)w->size);
            ok = false;
        }
        break;
    default:
        break;
    }
    /* pair_get may have moved the table: look the slot up again. */
    pair_lookup(c, r, w)->state = ok ? PAIR_OK : PAIR_FAILED;
    return ok;
}

static bool check_decimal(check_ctx *c, const avro_node *r, const avro_node *w)
{
    if (r->logical != AVRO_LT_DECIMAL || w->logical != AVRO_LT_DECIMAL)
        return true;
    if (r->precision == w->precision && r->scale == w->scale)
        return true;
    issue(c, "DECIMAL_MISMATCH", r->pointer, c->field,
          "reader decimal(%d,%d) cannot read writer decimal(%d,%d): precision and scale must "
          "both match",
          r->precision, r->scale, w->precision, w->scale);
    return false;
}

/*
** Resolve writer w with reader r; report every issue.  Returns true when
** every value of w can be read as r.
*/
static bool check(check_ctx *c, const avro_node *r, const avro_node *w)
{
    bool ok = true;
    size_t i;
    long k;

    if (stop(c))
        return false;
    if (w->kind == AVRO_UNION) {
        /* Every writer branch must resolve to the reader. */
        for (i = 0; i < w->n_branches && !stop(c); i++) {
            const avro_node *wb = w->branches[i];

            if (r->kind == AVRO_UNION) {
                if ((k = union_branch(r, wb)) < 0) {
                    issue(c, "MISSING_UNION_BRANCH", r->pointer, c->field,
                          "reader union has no branch for writer union branch %zu (\"%s\")", i,
                          type_label(wb));
                    ok = false;
                } else if (!check(c, r->branches[k], wb)) {
                    ok = false;
                }
            } else if (wb->kind != r->kind && !promotable(wb->kind, r->kind)) {
                issue(c, "TYPE_MISMATCH", r->pointer, c->field,
                      "reader type \"%s\" cannot read branch %zu (\"%s\") of the writer union",
                      type_label(r), i, type_label(wb));
                ok = false;
            } else if (!check(c, r, wb)) {
                ok = false;
            }
        }
        return ok;
    }
    if (r->kind == AVRO_UNION) {
        if ((k = union_branch(r, w)) < 0) {
            issue(c, "MISSING_UNION_BRANCH", r->pointer, c->field,
                  "reader union has no branch for writer type \"%s\"", type_label(w));
            return false;
        }
        return check(c, r->branches[k], w);
    }
    if (r->kind != w->kind) {
        if (promotable(w->kind, r->kind))
            return true;
        issue(c, "TYPE_MISMATCH", r->pointer, c->field,
              "reader type \"%s\" cannot read writer type \"%s\"", type_label(r), type_label(w));
        return false;
    }
    switch (r->kind) {
    case AVRO_RECORD:
    case AVRO_ENUM:
        return check_named(c, r, w);
    case AVRO_FIXED:
        return check_named(c, r, w) && check_decimal(c, r, w);
    case AVRO_BYTES:
        return check_decimal(c, r, w);
    case AVRO_ARRAY:
    case AVRO_MAP:
        return check(c, r->items, w->items);
    default:
        return true;
    }
}

static bool run_check(const avro_node *r, const avro_node *w, chan_compat_report *report,
                      int version_index, bool reader_is_new)
{
    check_ctx c;
    bool ok;

    c.report = report;
    c.version_index = version_index;
    c.reader_is_new = reader_is_new;
    c.failed = false;
    c.field = NULL;
    memset(c.inline_pairs, 0, sizeof(c.inline_pairs));
    c.pairs = c.inline_pairs;
    c.pairs_cap = INLINE_PAIRS;
    c.pairs_n = 0;
    ok = check(&c, r, w);
    if (c.pairs != c.inline_pairs)
        free(c.pairs);
    return ok && !c.failed;
}

bool chan_avro_can_read(const chan_avro_schema *reader, const chan_avro_schema *writer,
                        chan_compat_report *report)
{
    return run_check(reader->top, writer->top, report, -1, false);
}

int chan_avro_check_mode(chan_compat_mode mode, const chan_avro_schema *new_schema,
                         const chan_avro_schema *const *previous, size_t n_previous,
                         chan_compat_report *report)
{
    bool backward = false, forward = false, transitive = false, ok = true;
    size_t i, n;

    switch (mode) {
    case CHAN_COMPAT_NONE:
        return 0;
    case CHAN_COMPAT_BACKWARD_TRANSITIVE:
        transitive = true;
        /* fall through */
    case CHAN_COMPAT_BACKWARD:
        backward = true;
        break;
    case CHAN_COMPAT_FORWARD_TRANSITIVE:
        transitive = true;
        /* fall through */
    case CHAN_COMPAT_FORWARD:
        forward = true;
        break;
    case CHAN_COMPAT_FULL_TRANSITIVE:
        transitive = true;
        /* fall through */
    case CHAN_COMPAT_FULL:
        backward = forward = true;
        break;
    }
    n = transitive ? n_previous : (n_previous > 0 ? 1 : 0);
    for (i = 0; i < n && (ok || report); i++) {
        const avro_node *old = previous[i]->top;

        if (backward && !run_check(new_schema->top, old, report, (int)i, true))
            ok = false;
        if (forward && (ok || report) && !run_check(old, new_schema->top, report, (int)i, false))
            ok = false;
    }
    return ok ? 0 : CHAN_EINCOMPATIBLE;
}

/* ------------------------------------------------------------------ */
/* Field-removal rule                                                  */
/* ------------------------------------------------------------------ */

/* The record of `schema` that continues `old`: same full name, or an alias of it. */
static const avro_node *successor(const chan_avro_schema *schema, const avro_node *old)
{
    const avro_node *n = chan_avro__named_find(schema, old->fullname);
    long i;

    if (!n && (i = chan_avro__index_get(&schema->alias_ix, old->fullname)) >= 0)
        n = schema->named[i];
    return n && n->kind == AVRO_RECORD ? n : NULL;
}

/* The field survives in rec under its name or as an alias of a field. */
static bool field_kept(const avro_node *rec, const char *name)
{
    return chan_avro__field_find(rec, name) ||
           chan_avro__index_get(&rec->field_alias_ix, name) >= 0;
}

bool chan_avro_check_removals(const chan_avro_schema *new_schema,
                              const chan_avro_schema *old_schema, chan_compat_report *report)
{
    check_ctx c = {0};
    size_t i, k;

    c.report = report;
    c.version_index = -1;
    for (i = 0; i < old_schema->n_named && !stop(&c); i++) {
        const avro_node *old = old_schema->named[i], *cur;

        if (old->kind != AVRO_RECORD || (cur = successor(new_schema, old)) == NULL)
            continue;
        for (k = 0; k < old->n_fields && !stop(&c); k++) {
            const avro_field *f = &old->fields[k];
            char *loc;

            if (field_kept(cur, f->name) || (f->deprecated && f->default_value))
                continue;
            loc = chan_xasprintf("%s/fields/%zu", old->pointer, k);
            if (!f->deprecated)
                issue(&c, "FIELD_REMOVED_NOT_DEPRECATED", loc, f->name,
                      "field of record \"%s\" was removed without being marked "
                      "\"deprecated\": true in the previous version",
                      old->fullname);
            else
                issue(&c, "FIELD_REMOVED_WITHOUT_DEFAULT", loc, f->name,
                      "deprecated field of record \"%s\" was removed but had no default in "
                      "the previous version",
                      old->fullname);
            free(loc);
        }
    }
    return !c.failed;
}
