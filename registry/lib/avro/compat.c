/*
 * compat.c - the compatibility engine: Avro 1.11 schema resolution ("can a
 * reader with schema R read data written with schema W?"), the Confluent
 * compatibility modes on top of it, and the field-removal governance rule.
 *
 * Every incompatibility is reported, not only the first, each with a stable
 * kind (Confluent's names where they exist), the JSON pointer of the reader
 * schema where it arises and a message a person can act on.  Issues inside a
 * named type point at its definition, so a record that is used in many places
 * is checked and reported once per (reader, writer) pair; a type mismatch at
 * one use of a named type points at that use.  Recursive types terminate
 * because a pair in progress is assumed compatible.
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

/*
** Pairs kept in the context itself, looked up one by one: most checks meet
** a few named types, and a table in the context would be cleared for every
** check.  Past that many the pairs move to a hash table.
*/
#define INLINE_PAIRS 8

/*
** Deepest nesting of check() calls.  Parsing bounds the nesting of a schema
** text, but references to named types defined elsewhere can chain far deeper
** (R1 refers to R0, R2 to R1, ...); past this depth the check gives up with
** NESTING_TOO_DEEP rather than exhausting the stack.
*/
#define CHECK_MAX_DEPTH 1000

typedef struct check_ctx {
    chan_compat_report *report; /* NULL: stop at the first issue */
    int version_index;
    bool reader_is_new;
    bool failed;
    int depth;         /* nesting of check() calls */
    const char *field; /* reader field being resolved, for messages */
    /* (reader, writer) named pairs: in progress or done; inline_pairs[0..pairs_n)
     * while pairs is inline_pairs, else a table of pairs_cap slots (open
     * addressing, r NULL in an empty one) */
    pair_slot *pairs;
    size_t pairs_cap, pairs_n;
    pair_slot inline_pairs[INLINE_PAIRS];
    /* verdicts of probe(), shared by a check and all its probes: *probes
     * points at the root's probe_memo, allocated on the first probe */
    struct check_ctx *probe_memo;
    struct check_ctx **probes;
} check_ctx;

/*
** Where the reader node of a check is used: a child of `parent` (field
** `index`'s type, the items or values, or union branch `index`).  A named
** type referenced by name is one node shared by all its uses, and its own
** pointer is its definition; mismatches at a use are located at the use.
*/
typedef enum site_kind { SITE_FIELD, SITE_ITEMS, SITE_BRANCH } site_kind;

typedef struct use_site {
    const avro_node *parent;
    site_kind kind;
    size_t index;
} use_site;

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

/* The slot of (r, w) in a table of cap slots, or the empty one it would take. */
static pair_slot *pair_slot_in(pair_slot *table, size_t cap, const avro_node *r, const avro_node *w)
{
    size_t mask = cap - 1, i;

    for (i = pair_hash(r, w) & mask; table[i].r; i = (i + 1) & mask)
        if (table[i].r == r && table[i].w == w)
            break;
    return &table[i];
}

/* The slot of (r, w), or NULL when c has none. */
static pair_slot *pair_lookup(check_ctx *c, const avro_node *r, const avro_node *w)
{
    pair_slot *slot;
    size_t i;

    if (c->pairs == c->inline_pairs) {
        for (i = 0; i < c->pairs_n; i++)
            if (c->pairs[i].r == r && c->pairs[i].w == w)
                return &c->pairs[i];
        return NULL;
    }
    slot = pair_slot_in(c->pairs, c->pairs_cap, r, w);
    return slot->r ? slot : NULL;
}

/* The slot of (r, w): existing (state set) or new (state 0, keys filled in). */
static pair_slot *pair_get(check_ctx *c, const avro_node *r, const avro_node *w)
{
    pair_slot *slot = pair_lookup(c, r, w);
    bool inline_full = c->pairs == c->inline_pairs && c->pairs_n == INLINE_PAIRS;

    if (slot)
        return slot;
    if (inline_full || (c->pairs != c->inline_pairs && 2 * (c->pairs_n + 1) > c->pairs_cap)) {
        pair_slot *old = c->pairs;
        size_t old_n = inline_full ? c->pairs_n : c->pairs_cap, i;

        c->pairs_cap = inline_full ? 4 * INLINE_PAIRS : 2 * c->pairs_cap;
        c->pairs = chan_xcalloc(c->pairs_cap, sizeof(*c->pairs));
        for (i = 0; i < old_n; i++)
            if (old[i].r)
                *pair_slot_in(c->pairs, c->pairs_cap, old[i].r, old[i].w) = old[i];
        if (old != c->inline_pairs)
            free(old);
    }
    if (c->pairs == c->inline_pairs)
        slot = &c->pairs[c->pairs_n];
    else
        slot = pair_slot_in(c->pairs, c->pairs_cap, r, w);
    slot->r = r;
    slot->w = w;
    slot->state = 0;
    c->pairs_n++;
    return slot;
}

static const char *type_label(const avro_node *n)
{
    return n->fullname ? n->fullname : chan_avro__kind_name(n->kind);
}

/* JSON pointer of the use of r at site (NULL: r's own); caller frees. */
static char *site_pointer(const avro_node *r, const use_site *site)
{
    if (!site || !r->fullname)
        return chan_xstrdup(chan_avro__pointer(r));
    switch (site->kind) {
    case SITE_FIELD:
        return chan_xasprintf("%s/fields/%zu/type", chan_avro__pointer(site->parent), site->index);
    case SITE_ITEMS:
        return chan_xasprintf("%s/%s", chan_avro__pointer(site->parent),
                              site->parent->kind == AVRO_MAP ? "values" : "items");
    case SITE_BRANCH:
        return chan_xasprintf("%s/%zu", chan_avro__pointer(site->parent), site->index);
    }
    return chan_xstrdup(chan_avro__pointer(r));
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
** Can a reader union whose branch kinds are the bits of r read every value of
** a writer union whose branch kinds are the bits of w, both unions of
** primitives other than decimals (avro_node.simple)?  Each writer kind must
** find a reader branch of its kind or one it promotes to: the verdict that
** union_branch and check reach on such unions, without their branch nodes
** (which a check against many earlier versions would read from memory).
** A primitive other than a decimal, as the set of its one kind
** (avro_field_key.kinds), gets the verdict of check_node on it too.
*/
static bool simple_unions_read(uint8_t r, uint8_t w)
{
    int k, j;

    if ((w & ~r) == 0)
        return true; /* every writer kind is a reader kind */
    for (k = AVRO_NULL; k <= AVRO_STRING; k++) {
        if (!(w & (1u << k)) || (r & (1u << k)))
            continue;
        for (j = AVRO_NULL; j <= AVRO_STRING; j++)
            if ((r & (1u << j)) && promotable((avro_kind)k, (avro_kind)j))
                break;
        if (j > AVRO_STRING)
            return false;
    }
    return true;
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

static bool check(check_ctx *c, const avro_node *r, const avro_node *w, const use_site *site);
static bool probe(const check_ctx *c, const avro_node *r, const avro_node *w);

/*
** Most same-named reader branches tried for one writer type: a union holds
** that many records of one name only when built to slow the check down.
*/
#define MAX_PROBES 64

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;

    return (x > y) - (x < y);
}

/*
** Reader union branch for the named writer type w, or -1: the branch with
** w's full name; otherwise, among the branches of the same kind whose name
** matches (equal unqualified names, or a reader alias naming w), the first
** that can read w, as Avro Java's SchemaCompatibility tries every reader
** branch; when none can, the first of them, so that its issues are reported.
*/
static long union_branch_named(const check_ctx *c, const avro_node *r, const avro_node *w)
{
    const avro_slot *slot = NULL;
    long *cand = NULL, best = -1;
    size_t n = 0, cap = 0, k, m;

    while ((slot = chan_avro__index_next(&r->branch_name_ix, w->name, slot)) != NULL) {
        const avro_node *b = r->branches[slot->val];

        if (b->kind == w->kind && strcmp(b->fullname, w->fullname) == 0)
            return (long)slot->val;
    }
    for (k = 0; k < 2; k++) {
        const avro_index *ix = k == 0 ? &r->branch_name_ix : &r->branch_alias_ix;
        const char *key = k == 0 ? w->name : w->fullname;

        while ((slot = chan_avro__index_next(ix, key, slot)) != NULL) {
            if (r->branches[slot->val]->kind != w->kind)
                continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                cand = chan_xreallocarray(cand, cap, sizeof(*cand));
            }
            cand[n++] = (long)slot->val;
        }
    }
    if (n == 0)
        goto cleanup;
    qsort(cand, n, sizeof(*cand), cmp_long);
    for (k = 1, m = 1; k < n; k++) /* a branch may match by name and by alias */
        if (cand[k] != cand[m - 1])
            cand[m++] = cand[k];
    n = m;
    best = cand[0];
    for (k = 0; n > 1 && k < n && k < MAX_PROBES; k++) {
        if (probe(c, r->branches[cand[k]], w)) {
            best = cand[k];
            break;
        }
    }
cleanup:
    free(cand);
    return best;
}

/*
** Index of the reader union branch that reads the non-union writer w, or -1:
** for named types see union_branch_named; otherwise the branch of the same
** kind (a union has at most one), failing that the first branch w can be
** promoted to.  O(1) through the union's indexes.
*/
static long union_branch(const check_ctx *c, const avro_node *r, const avro_node *w)
{
    long best = -1;
    int k;

    if (w->fullname) {
        if ((best = union_branch_named(c, r, w)) >= 0)
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

/*
** Does field i of reader record r read field j of writer record w, as
** check() on their types finds, from the records' keys alone (types that
** are primitives or unions of them, avro_field_key.kinds)?  False also
** when only check() can tell.
*/
static bool keys_read(const avro_node *r, size_t i, const avro_node *w, size_t j)
{
    uint8_t rk = r->keys[i].kinds, wk = w->keys[j].kinds;

    return rk != 0 && wk != 0 && simple_unions_read(rk, wk);
}

static bool check_record(check_ctx *c, const avro_node *r, const avro_node *w)
{
    const char *saved_field = c->field;
    use_site site;
    bool ok = true;
    size_t i, k;

    for (i = 0; i < r->n_fields && !stop(c); i++) {
        const avro_field *rf = &r->fields[i], *wf = chan_avro__field_find_at(w, r, i);
        const avro_field *other = NULL;

        for (k = 0; k < rf->n_aliases && !other; k++) {
            const avro_field *af = chan_avro__field_find(w, rf->aliases[k]);

            if (!wf)
                wf = af;
            else if (af && af != wf)
                other = af;
        }
        if (other) {
            /* Avro Java's SchemaCompatibility.lookupWriterField refuses this. */
            char *loc = chan_xasprintf("%s/fields/%zu", chan_avro__pointer(r), i);

            issue(c, "AMBIGUOUS_FIELD_ALIAS", loc, rf->name,
                  "reader field matches writer fields \"%s\" and \"%s\" by its name or aliases",
                  wf->name, other->name);
            free(loc);
            ok = false;
            continue;
        }
        if (!wf) {
            if (!rf->default_value) {
                char *loc = chan_xasprintf("%s/fields/%zu", chan_avro__pointer(r), i);

                issue(c, "READER_FIELD_MISSING_DEFAULT_VALUE", loc, rf->name,
                      "reader field has no default and writer lacks it");
                free(loc);
                ok = false;
            }
            continue;
        }
        if (keys_read(r, i, w, wf->index))
            continue;
        c->field = rf->name;
        site.parent = r;
        site.kind = SITE_FIELD;
        site.index = i;
        if (!check(c, rf->type, wf->type, &site))
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
        if (chan_avro__index_find(&r->symbol_ix, w->symbols[i]) < 0) {
            chan_buf_printf(&missing, "%s%s", n_missing ? ", " : "", w->symbols[i]);
            n_missing++;
        }
    }
    if (n_missing && !r->enum_default) {
        issue(c, "MISSING_ENUM_SYMBOLS", chan_avro__pointer(r), c->field,
              "reader enum \"%s\" lacks writer symbol%s [%s] and has no default", r->fullname,
              n_missing > 1 ? "s" : "", chan_buf_cstr(&missing));
        ok = false;
    }
    chan_buf_dispose(&missing);
    return ok;
}

static bool check_decimal(check_ctx *c, const avro_node *r, const avro_node *w)
{
    if (r->logical != AVRO_LT_DECIMAL || w->logical != AVRO_LT_DECIMAL)
        return true;
    if (r->precision == w->precision && r->scale == w->scale)
        return true;
    issue(c, "DECIMAL_MISMATCH", chan_avro__pointer(r), c->field,
          "reader decimal(%d,%d) cannot read writer decimal(%d,%d): precision and scale must "
          "both match",
          r->precision, r->scale, w->precision, w->scale);
    return false;
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
        issue(c, "NAME_MISMATCH", chan_avro__pointer(r), c->field,
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
            issue(c, "FIXED_SIZE_MISMATCH", chan_avro__pointer(r), c->field,
                  "reader fixed \"%s\" has size %lld but writer fixed \"%s\" has size %lld",
                  r->fullname, (long long)r->size, w->fullname, (long long)w->size);
            ok = false;
        }
        ok = check_decimal(c, r, w) && ok;
        break;
    default:
        break;
    }
    /* pair_get may have moved the table: look the slot up again. */
    pair_lookup(c, r, w)->state = ok ? PAIR_OK : PAIR_FAILED;
    return ok;
}

/*
** Resolve writer w with reader r (the body of check()).
*/
static bool check_node(check_ctx *c, const avro_node *r, const avro_node *w, const use_site *site)
{
    use_site child = {r, SITE_BRANCH, 0};
    char *loc = NULL;
    bool ok = true;
    size_t i;
    long k;

    if (w->kind == AVRO_UNION && r->kind == AVRO_UNION && w->simple && r->simple &&
        simple_unions_read(r->simple, w->simple))
        return true; /* what the walk below finds, without issues to report */
    if (w->kind == AVRO_UNION) {
        /* Every writer branch must resolve to the reader. */
        for (i = 0; i < w->n_branches && !stop(c); i++) {
            const avro_node *wb = w->branches[i];

            if (r->kind == AVRO_UNION) {
                if ((k = union_branch(c, r, wb)) < 0) {
                    issue(c, "MISSING_UNION_BRANCH", chan_avro__pointer(r), c->field,
                          "reader union has no branch for writer union branch %zu (\"%s\")", i,
                          type_label(wb));
                    ok = false;
                } else {
                    child.index = (size_t)k;
                    if (!check(c, r->branches[k], wb, &child))
                        ok = false;
                }
            } else if (wb->kind != r->kind && !promotable(wb->kind, r->kind)) {
                loc = site_pointer(r, site);
                issue(c, "TYPE_MISMATCH", loc, c->field,
                      "reader type \"%s\" cannot read branch %zu (\"%s\") of the writer union",
                      type_label(r), i, type_label(wb));
                free(loc);
                ok = false;
            } else if (!check(c, r, wb, site)) {
                ok = false;
            }
        }
        return ok;
    }
    if (r->kind == AVRO_UNION) {
        if ((k = union_branch(c, r, w)) < 0) {
            issue(c, "MISSING_UNION_BRANCH", chan_avro__pointer(r), c->field,
                  "reader union has no branch for writer type \"%s\"", type_label(w));
            return false;
        }
        child.index = (size_t)k;
        return check(c, r->branches[k], w, &child);
    }
    if (r->kind != w->kind) {
        if (promotable(w->kind, r->kind))
            return true;
        loc = site_pointer(r, site);
        issue(c, "TYPE_MISMATCH", loc, c->field,
              "reader type \"%s\" cannot read writer type \"%s\"", type_label(r), type_label(w));
        free(loc);
        return false;
    }
    switch (r->kind) {
    case AVRO_RECORD:
    case AVRO_ENUM:
    case AVRO_FIXED:
        return check_named(c, r, w);
    case AVRO_BYTES:
        return check_decimal(c, r, w);
    case AVRO_ARRAY:
    case AVRO_MAP:
        child.kind = SITE_ITEMS;
        return check(c, r->items, w->items, &child);
    default:
        return true;
    }
}

/*
** Resolve writer w with reader r; report every issue.  Returns true when
** every value of w can be read as r.
*/
static bool check(check_ctx *c, const avro_node *r, const avro_node *w, const use_site *site)
{
    char *loc;
    bool ok;

    if (stop(c))
        return false;
    if (c->depth >= CHECK_MAX_DEPTH) {
        loc = site_pointer(r, site);
        issue(c, "NESTING_TOO_DEEP", loc, c->field,
              "types nest deeper than %d levels through named-type references; the schemas "
              "cannot be checked",
              CHECK_MAX_DEPTH);
        free(loc);
        return false;
    }
    c->depth++;
    ok = check_node(c, r, w, site);
    c->depth--;
    return ok;
}

static void ctx_init(check_ctx *c, chan_compat_report *report, int version_index,
                     bool reader_is_new)
{
    c->report = report;
    c->version_index = version_index;
    c->reader_is_new = reader_is_new;
    c->failed = false;
    c->depth = 0;
    c->field = NULL;
    c->pairs = c->inline_pairs;
    c->pairs_cap = INLINE_PAIRS;
    c->pairs_n = 0;
    c->probe_memo = NULL;
    c->probes = &c->probe_memo;
}

static void ctx_dispose(check_ctx *c)
{
    if (c->pairs != c->inline_pairs)
        free(c->pairs);
    c->pairs = NULL;
    if (c->probe_memo) {
        ctx_dispose(c->probe_memo);
        free(c->probe_memo);
        c->probe_memo = NULL;
    }
}

/*
** Can r read w?  A silent check in a context of its own, at the nesting
** depth of c (so that the depth bound holds across probes).  Verdicts are
** memoised in c->probes, each pair is probed once, and a pair whose probe is
** in progress is assumed readable, as in check_named.
*/
static bool probe(const check_ctx *c, const avro_node *r, const avro_node *w)
{
    pair_slot *slot;
    check_ctx *p;
    bool ok;

    if (!*c->probes) {
        *c->probes = chan_xmalloc(sizeof(**c->probes));
        ctx_init(*c->probes, NULL, c->version_index, c->reader_is_new);
    }
    slot = pair_get(*c->probes, r, w);
    if (slot->state == PAIR_BUSY || slot->state == PAIR_OK)
        return true;
    if (slot->state == PAIR_FAILED)
        return false;
    slot->state = PAIR_BUSY;
    p = chan_xmalloc(sizeof(*p));
    ctx_init(p, NULL, c->version_index, c->reader_is_new);
    p->depth = c->depth;
    p->probes = c->probes;
    ok = check(p, r, w, NULL) && !p->failed;
    ctx_dispose(p);
    free(p);
    pair_lookup(*c->probes, r, w)->state = ok ? PAIR_OK : PAIR_FAILED;
    return ok;
}

static bool run_check(const avro_node *r, const avro_node *w, chan_compat_report *report,
                      int version_index, bool reader_is_new)
{
    check_ctx c;
    bool ok;

    ctx_init(&c, report, version_index, reader_is_new);
    ok = check(&c, r, w, NULL);
    ctx_dispose(&c);
    return ok && !c.failed;
}

bool chan_avro_can_read(const chan_avro_schema *reader, const chan_avro_schema *writer,
                        chan_compat_report *report)
{
    return run_check(reader->top, writer->top, report, -1, false);
}

/* Most keys of a record asked for ahead (prefetch_ahead). */
#define PREFETCH_KEYS 64

/* Top nodes that chan_avro_check_mode keeps on its stack. */
#define TOPS_INLINE 16

/*
** A check against many earlier schemas (a transitive mode) reads, for
** each, a short chain of pointers: the schema, its top node, the record's
** keys and name (check_record reads little else when the fields agree).
** Those of a long subject history are seldom in the processor's cache, and
** waited for link by link they cost more than the check itself.  So the
** top nodes are read first, all in one loop whose loads do not wait for
** each other (tops), and while tops[i] is checked, the nodes after it are
** asked for: the node of tops[i + 4], the keys and name of tops[i + 2],
** read from the node asked for two schemas earlier.  Hints only: nothing
** is decided on them.
*/
static void prefetch_ahead(const avro_node *const *tops, size_t n, size_t i)
{
    const avro_node *top;
    size_t k, m;

    if (i + 4 < n) {
        __builtin_prefetch(tops[i + 4]);
        __builtin_prefetch((const char *)tops[i + 4] + 64);
    }
    if (i + 2 < n && (top = tops[i + 2])->kind == AVRO_RECORD) {
        m = top->n_fields < PREFETCH_KEYS ? top->n_fields : PREFETCH_KEYS;
        for (k = 0; k < m * sizeof(*top->keys); k += 64)
            __builtin_prefetch((const char *)top->keys + k);
        __builtin_prefetch(top->name);
    }
}

int chan_avro_check_mode(chan_compat_mode mode, const chan_avro_schema *new_schema,
                         const chan_avro_schema *const *previous, size_t n_previous,
                         chan_compat_report *report)
{
    bool backward = false, forward = false, transitive = false, ok = true;
    const avro_node *tops_inline[TOPS_INLINE], **tops; /* the top nodes of previous */
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
    tops = n <= TOPS_INLINE ? tops_inline : chan_xcalloc(n, sizeof(*tops));
    for (i = 0; i < n; i++)
        tops[i] = previous[i]->top;
    for (i = 0; i < n && (ok || report); i++) {
        prefetch_ahead(tops, n, i);
        if (backward && !run_check(new_schema->top, tops[i], report, (int)i, true))
            ok = false;
        if (forward && (ok || report) &&
            !run_check(tops[i], new_schema->top, report, (int)i, false))
            ok = false;
    }
    if (tops != tops_inline)
        free(tops);
    return ok ? 0 : CHAN_EINCOMPATIBLE;
}

/* ------------------------------------------------------------------ */
/* Field-removal rule                                                  */
/* ------------------------------------------------------------------ */

/*
** The record of `schema` that continues `old`: the one with the same full
** name, else the one that lists it among its aliases, else the only record
** with the same unqualified name (the compatibility check pairs named types
** by unqualified name, so moving a record to another namespace keeps it the
** same record).  by_name indexes the records of `schema` by unqualified name.
*/
static const avro_node *successor(const chan_avro_schema *schema, const avro_index *by_name,
                                  const avro_node *old)
{
    const avro_node *n = chan_avro__named_find(schema, old->fullname), *found = NULL;
    const avro_slot *slot = NULL;
    long i;

    if (n)
        return n->kind == AVRO_RECORD ? n : NULL;
    if ((i = chan_avro__index_get(&schema->alias_ix, old->fullname)) >= 0)
        return schema->named[i]->kind == AVRO_RECORD ? schema->named[i] : NULL;
    while ((slot = chan_avro__index_next(by_name, old->name, slot)) != NULL) {
        if (found)
            return NULL; /* ambiguous */
        found = schema->named[slot->val];
    }
    return found;
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
    avro_index by_name = {0};
    size_t i, k;

    c.report = report;
    c.version_index = -1;
    for (i = 0; i < new_schema->n_named; i++)
        if (new_schema->named[i]->kind == AVRO_RECORD)
            chan_avro__index_put(&by_name, new_schema->named[i]->name, (uint32_t)i);
    for (i = 0; i < old_schema->n_named && !stop(&c); i++) {
        const avro_node *old = old_schema->named[i], *cur;

        if (old->kind != AVRO_RECORD || (cur = successor(new_schema, &by_name, old)) == NULL)
            continue;
        for (k = 0; k < old->n_fields && !stop(&c); k++) {
            const avro_field *f = &old->fields[k];
            char *loc;

            if (field_kept(cur, f->name) || (f->deprecated && f->default_value))
                continue;
            loc = chan_xasprintf("%s/fields/%zu", chan_avro__pointer(old), k);
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
    chan_avro__index_dispose(&by_name);
    return !c.failed;
}
