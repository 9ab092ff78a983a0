/*
 * schema.c - the Avro schema parser: JSON text to a validated avro_node
 * graph, following the Avro 1.11 specification (names and namespaces,
 * aliases, recursive types, logical types, default values), then the
 * Parsing Canonical Form, its CRC-64-AVRO fingerprint and the normalized
 * compact JSON.
 *
 * The parser walks the JSON read by json.c so that every error names the JSON
 * pointer of the offending value.  Once a schema passes, it is also handed
 * to Avro C; anything Avro C refuses is refused too, so this parser is never
 * more lenient than the reference C implementation.
 */
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "chan/common.h"
#include "avro_int.h"
#include "cgate.h"
#include "cgate_tree.h"

static const char *const kind_names[] = {
    [AVRO_NULL] = "null",   [AVRO_BOOLEAN] = "boolean", [AVRO_INT] = "int",
    [AVRO_LONG] = "long",   [AVRO_FLOAT] = "float",     [AVRO_DOUBLE] = "double",
    [AVRO_BYTES] = "bytes", [AVRO_STRING] = "string",   [AVRO_RECORD] = "record",
    [AVRO_ENUM] = "enum",   [AVRO_ARRAY] = "array",     [AVRO_MAP] = "map",
    [AVRO_UNION] = "union", [AVRO_FIXED] = "fixed",
};

static const char *const logical_names[] = {
    [AVRO_LT_NONE] = NULL,
    [AVRO_LT_DECIMAL] = "decimal",
    [AVRO_LT_UUID] = "uuid",
    [AVRO_LT_DATE] = "date",
    [AVRO_LT_TIME_MILLIS] = "time-millis",
    [AVRO_LT_TIME_MICROS] = "time-micros",
    [AVRO_LT_TIMESTAMP_MILLIS] = "timestamp-millis",
    [AVRO_LT_TIMESTAMP_MICROS] = "timestamp-micros",
    [AVRO_LT_LOCAL_TIMESTAMP_MILLIS] = "local-timestamp-millis",
    [AVRO_LT_LOCAL_TIMESTAMP_MICROS] = "local-timestamp-micros",
    [AVRO_LT_DURATION] = "duration",
};

const char *chan_avro__kind_name(avro_kind kind)
{
    return kind_names[kind];
}

const char *chan_avro__logical_name(avro_logical lt)
{
    return logical_names[lt];
}

/* ------------------------------------------------------------------ */
/* Parse context                                                       */
/* ------------------------------------------------------------------ */

/* A field default to check once every type is complete, and where it is. */
typedef struct pending_default {
    const avro_field *field;
    char *path;
} pending_default;

/*
 * The JSON pointer of the value being parsed, as a stack of segments: it is
 * written out only when a message or a pending default needs it.
 */
typedef struct path_seg {
    const char *text; /* a member key (escaped when written), or a written pointer (raw) */
    size_t index;     /* an array index when text is NULL */
    bool raw;
} path_seg;

typedef struct parse_path {
    path_seg *segs;
    size_t n, cap;
} parse_path;

typedef struct parse_ctx {
    chan_avro_schema *schema;
    chan_error *err;
    parse_path path; /* JSON pointer of the value being parsed */
    int depth;
    /* Field defaults, checked after parsing: a default may hold a value of a
     * record that is still being defined (recursion), whose later fields are
     * not known yet while its own fields are parsed. */
    pending_default *pending;
    size_t n_pending, cap_pending;
    bool empty_union; /* the schema has a union without branches (avro_c_gate) */
    /* The innermost node being parsed: a new node's pointer is kept as that
     * node's plus the path to its JSON (node_new, chan_avro__pointer). */
    const avro_node *cur;
    const avro_json *src; /* the value parse_type is at (node_new) */
} parse_ctx;

/*
** Fail with "pointer: message" (the root shows as "/"; a very long pointer is
** shortened in the message, err->path keeps its start).  Returns CHAN_EINVALID.
*/
static void path_write(const parse_ctx *ctx, chan_buf *b);
static void pointer_push(chan_buf *b, const char *seg);

static int fail(parse_ctx *ctx, const char *fmt, ...) CHAN_PRINTF(2, 3);
static int fail(parse_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    chan_buf written = CHAN_BUF_INIT;
    const char *where;

    path_write(ctx, &written);
    where = written.len ? chan_buf_cstr(&written) : "/";
    va_start(ap, fmt);
    msg = chan_xvasprintf(fmt, ap);
    va_end(ap);
    if (strlen(where) > 160) /* keep the reason within the message buffer */
        chan_error_set(ctx->err, CHAN_EINVALID, "%.60s...%s: %s", where, where + strlen(where) - 80,
                       msg);
    else
        chan_error_set(ctx->err, CHAN_EINVALID, "%s: %s", where, msg);
    if (ctx->err)
        snprintf(ctx->err->path, sizeof(ctx->err->path), "%s", where);
    free(msg);
    chan_buf_dispose(&written);
    return CHAN_EINVALID;
}

static size_t path_add(parse_ctx *ctx, const char *text, size_t index, bool raw)
{
    size_t depth = ctx->path.n;

    if (ctx->path.n == ctx->path.cap) {
        ctx->path.cap = ctx->path.cap ? 2 * ctx->path.cap : 32;
        ctx->path.segs = chan_xreallocarray(ctx->path.segs, ctx->path.cap, sizeof(*ctx->path.segs));
    }
    ctx->path.segs[ctx->path.n].text = text;
    ctx->path.segs[ctx->path.n].index = index;
    ctx->path.segs[ctx->path.n++].raw = raw;
    return depth;
}

/* Add the member key seg (borrowed) to the path; returns the depth before, for path_pop. */
static size_t path_push(parse_ctx *ctx, const char *seg)
{
    return path_add(ctx, seg, 0, false);
}

static size_t path_push_index(parse_ctx *ctx, size_t i)
{
    return path_add(ctx, NULL, i, false);
}

/* Start the path at a written pointer (borrowed): where a pending default is. */
static void path_restart(parse_ctx *ctx, const char *pointer)
{
    ctx->path.n = 0;
    (void)path_add(ctx, pointer, 0, true);
}

/* Write the path as a JSON pointer ("" at the root). */
static void path_write(const parse_ctx *ctx, chan_buf *b)
{
    size_t i;

    for (i = 0; i < ctx->path.n; i++) {
        const path_seg *g = &ctx->path.segs[i];

        if (g->raw)
            chan_buf_puts(b, g->text);
        else if (g->text)
            pointer_push(b, g->text);
        else
            chan_buf_printf(b, "/%zu", g->index);
    }
}

static void path_pop(parse_ctx *ctx, size_t depth)
{
    assert(depth <= ctx->path.n);
    ctx->path.n = depth;
}

static avro_node *node_new(parse_ctx *ctx, avro_kind kind)
{
    chan_avro_schema *s = ctx->schema;
    /* a primitive has no kind part: its node ends where that part starts */
    size_t size = kind <= AVRO_STRING ? offsetof(avro_node, fields) : sizeof(avro_node);
    avro_node *n;

#if !defined(NDEBUG) || defined(CHAN_AVRO_ASAN)
    /* debug and AddressSanitizer builds allocate it anyway, filled with 0xA5
     * and poisoned for AddressSanitizer, so that a use shows */
    n = chan_avro__arena_alloc(&s->arena, sizeof(*n));
    memset(n, 0xA5, sizeof(*n));
#else
    n = chan_avro__arena_alloc(&s->arena, size);
#endif
    memset(n, 0, size);
    chan_avro__poison((char *)n + size, sizeof(*n) - size);

    n->kind = kind;
    n->ptr_base = ctx->cur;
    n->json = ctx->src;
    ctx->cur = n; /* parse_type restores the enclosing node */
    if (s->n_nodes == s->cap_nodes) {
        s->cap_nodes = s->cap_nodes ? 2 * s->cap_nodes : 16;
        s->nodes = chan_xreallocarray(s->nodes, s->cap_nodes, sizeof(*s->nodes));
    }
    s->nodes[s->n_nodes++] = n;
    return n;
}

/* The parts of a node outside the schema's arena. */
static void node_free(avro_node *n)
{
    if (!n)
        return;
    free(n->pointer);
    if (n->kind == AVRO_RECORD) {
        chan_avro__index_dispose(&n->field_ix);
        chan_avro__index_dispose(&n->field_alias_ix);
    } else if (n->kind == AVRO_ENUM) {
        chan_avro__index_dispose(&n->symbol_ix);
    } else if (n->kind == AVRO_UNION) {
        chan_avro__index_dispose(&n->branch_name_ix);
        chan_avro__index_dispose(&n->branch_alias_ix);
    }
}

/* Append "/seg" (escaped as JSON pointers escape it) to b. */
static void pointer_push(chan_buf *b, const char *seg)
{
    chan_buf_putc(b, '/');
    for (;;) {
        size_t run = strcspn(seg, "~/");

        chan_buf_put(b, seg, run);
        if (seg[run] == '\0')
            break;
        chan_buf_puts(b, seg[run] == '~' ? "~0" : "~1");
        seg += run + 1;
    }
}

/* Append the path from the JSON value from to target (inside it) to b. */
static bool pointer_find(chan_buf *b, const avro_json *from, const avro_json *target)
{
    size_t len = b->len, i;

    if (from == target)
        return true;
    for (i = 0; from->type == AVRO_JSON_ARRAY && i < from->len; i++) {
        chan_buf_printf(b, "/%zu", i);
        if (pointer_find(b, &from->u.items[i], target))
            return true;
        b->len = len;
        b->ptr[len] = '\0';
    }
    for (i = 0; from->type == AVRO_JSON_OBJECT && i < from->len; i++) {
        pointer_push(b, from->u.members[i].key);
        if (pointer_find(b, &from->u.members[i].value, target))
            return true;
        b->len = len;
        b->ptr[len] = '\0';
    }
    return false;
}

/* Keep text as n's pointer unless a racing thread did first; returns the one kept. */
static const char *pointer_publish(const avro_node *n, char *text)
{
    char **slot = (char **)&n->pointer; /* nodes are malloc'd: not const objects */
    char *expected = NULL;

    /* published as derived_text does: a thread that loses the race frees its copy */
    if (__atomic_compare_exchange_n(slot, &expected, text, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return text;
    free(text);
    return expected;
}

static const char *pointer_get(const avro_node *n)
{
    return __atomic_load_n((char *const *)&n->pointer, __ATOMIC_ACQUIRE);
}

/*
** The pointers of the types that a record's fields or a union's branches
** define, made together: a report may locate an issue at each field of a wide
** record, and searching the record's JSON once per field would cost the
** square of its size.  A child defined there has the record (union) as its
** ptr_base and the field's "type" (the branch) as its JSON.
*/
static void pointer_children(const avro_node *base)
{
    const char *at = chan_avro__pointer(base);
    size_t i;

    if (base->kind == AVRO_RECORD) {
        for (i = 0; i < base->n_fields; i++) {
            const avro_field *f = &base->fields[i];

            if (f->type && f->type->ptr_base == base && pointer_get(f->type) == NULL &&
                f->type->json == chan_avro__json_get(f->json, "type"))
                (void)pointer_publish(f->type, chan_xasprintf("%s/fields/%zu/type", at, i));
        }
    } else if (base->kind == AVRO_UNION && avro_json_is(base->json, AVRO_JSON_ARRAY)) {
        for (i = 0; i < base->n_branches && i < base->json->len; i++) {
            const avro_node *b = base->branches[i];

            if (b->ptr_base == base && pointer_get(b) == NULL && b->json == &base->json->u.items[i])
                (void)pointer_publish(b, chan_xasprintf("%s/%zu", at, i));
        }
    }
}

const char *chan_avro__pointer(const avro_node *n)
{
    const char *text = pointer_get(n);
    chan_buf b = CHAN_BUF_INIT;

    if (text)
        return text;
    if (n->ptr_base && (n->ptr_base->kind == AVRO_RECORD || n->ptr_base->kind == AVRO_UNION)) {
        pointer_children(n->ptr_base);
        if ((text = pointer_get(n)) != NULL)
            return text;
    }
    chan_buf_puts(&b, n->ptr_base ? chan_avro__pointer(n->ptr_base) : "");
    if (n->ptr_base)
        (void)pointer_find(&b, n->ptr_base->json, n->json);
    return pointer_publish(n, chan_buf_take(&b));
}

/*
** The text of a JSON string, or NULL when j is not a string or contains
** U+0000 (allowed in default values only, never in names or keywords).
*/
static const char *jstr(const avro_json *j)
{
    const char *s = avro_json_string(j);

    if (s && strlen(s) != j->len)
        return NULL;
    return s;
}

/* ------------------------------------------------------------------ */
/* Names                                                               */
/* ------------------------------------------------------------------ */

static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* A simple name: [A-Za-z_][A-Za-z0-9_]* */
static bool valid_name(const char *s)
{
    if (!is_name_start(*s))
        return false;
    for (s++; *s; s++)
        if (!is_name_char(*s))
            return false;
    return true;
}

/* Simple names joined by dots; "" when allow_empty. */
static bool valid_dotted(const char *s, bool allow_empty)
{
    if (*s == '\0')
        return allow_empty;
    for (;;) {
        if (!is_name_start(*s))
            return false;
        for (s++; is_name_char(*s); s++)
            ;
        if (*s == '\0')
            return true;
        if (*s != '.')
            return false;
        s++;
    }
}

static bool is_primitive_name(const char *s, avro_kind *out)
{
    avro_kind k;

    /* by the first letter: this runs for every type of the schema */
    switch (s[0]) {
    case 'n':
        k = AVRO_NULL;
        break;
    case 'b':
        k = s[1] == 'o' ? AVRO_BOOLEAN : AVRO_BYTES;
        break;
    case 'i':
        k = AVRO_INT;
        break;
    case 'l':
        k = AVRO_LONG;
        break;
    case 'f':
        k = AVRO_FLOAT;
        break;
    case 'd':
        k = AVRO_DOUBLE;
        break;
    case 's':
        k = AVRO_STRING;
        break;
    default:
        return false;
    }
    if (strcmp(s, kind_names[k]) != 0)
        return false;
    if (out)
        *out = k;
    return true;
}

static avro_node *names_get(const parse_ctx *ctx, const char *fullname)
{
    long i = chan_avro__index_get(&ctx->schema->name_ix, fullname);

    return i < 0 ? NULL : ctx->schema->named[i];
}

const avro_node *chan_avro__named_find(const chan_avro_schema *schema, const char *fullname)
{
    long i = chan_avro__index_get(&schema->name_ix, fullname);

    return i < 0 ? NULL : schema->named[i];
}

/* Register a named type under its full name and its aliases. */
static void names_put(parse_ctx *ctx, avro_node *n)
{
    chan_avro_schema *s = ctx->schema;
    size_t i;

    if (s->n_named == s->cap_named) {
        s->cap_named = s->cap_named ? 2 * s->cap_named : 8;
        s->named = chan_xreallocarray(s->named, s->cap_named, sizeof(*s->named));
    }
    n->named_id = s->n_named;
    s->named[s->n_named++] = n;
    chan_avro__index_put(&s->name_ix, n->fullname, (uint32_t)n->named_id);
    for (i = 0; i < n->n_aliases; i++)
        chan_avro__index_put(&s->alias_ix, n->aliases[i], (uint32_t)n->named_id);
}

/* Full name of `name` in namespace `ns`, in the schema's arena. */
static char *qualify(parse_ctx *ctx, const char *name, const char *ns)
{
    avro_arena *a = &ctx->schema->arena;
    size_t nl, sl;
    char *p;

    if (strchr(name, '.') || !ns || !*ns)
        return chan_avro__arena_strdup(a, name);
    nl = strlen(ns);
    sl = strlen(name);
    p = chan_avro__arena_alloc(a, nl + sl + 2);
    memcpy(p, ns, nl);
    p[nl] = '.';
    memcpy(p + nl + 1, name, sl + 1);
    return p;
}

/* Namespace part of a full name (caller frees). */
static char *namespace_of(const char *fullname)
{
    const char *dot = strrchr(fullname, '.');

    return dot ? chan_xstrndup(fullname, (size_t)(dot - fullname)) : chan_xstrdup("");
}

/* ------------------------------------------------------------------ */
/* Default values                                                      */
/* ------------------------------------------------------------------ */

/*
** Count the code points of a UTF-8 string (jansson validated it) and check
** that each is <= 0xFF, as bytes and fixed defaults require.
*/
static bool latin1_length(const char *s, size_t len, size_t *out)
{
    size_t i = 0, n = 0;

    while (i < len) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x80) {
            i++;
        } else if ((c & 0xE0) == 0xC0 && c <= 0xC3) {
            i += 2;
        } else {
            return false;
        }
        n++;
    }
    *out = n;
    return true;
}

static int check_default(parse_ctx *ctx, const avro_node *t, const avro_json *v, int depth);

static int check_default_record(parse_ctx *ctx, const avro_node *t, const avro_json *v, int depth)
{
    size_t i, mark;
    int error = 0;

    if (!avro_json_is(v, AVRO_JSON_OBJECT))
        return fail(ctx, "default of record \"%s\" must be a JSON object", t->fullname);
    for (i = 0; i < t->n_fields; i++) {
        const avro_field *f = &t->fields[i];
        const avro_json *fv = chan_avro__json_get(v, f->name);

        mark = path_push(ctx, f->name);
        if (!fv && !f->default_value)
            error = fail(ctx, "default of record \"%s\" lacks field \"%s\", which has no default",
                         t->fullname, f->name);
        else if (fv)
            error = check_default(ctx, f->type, fv, depth + 1);
        path_pop(ctx, mark);
        if (error)
            return error;
    }
    return 0;
}

/*
** Check a default value against its type (the first branch for unions).
** The path points at the value; errors name the expected type.
*/
static int check_default(parse_ctx *ctx, const avro_node *t, const avro_json *v, int depth)
{
    size_t i, n, mark;
    int error = 0;

    if (depth > CHAN_AVRO_MAX_DEPTH)
        return fail(ctx, "default value nested deeper than %d levels", CHAN_AVRO_MAX_DEPTH);
    switch (t->kind) {
    case AVRO_NULL:
        if (!avro_json_is(v, AVRO_JSON_NULL))
            return fail(ctx, "default must be null for type \"null\"");
        return 0;
    case AVRO_BOOLEAN:
        if (!avro_json_is_boolean(v))
            return fail(ctx, "default must be true or false for type \"boolean\"");
        return 0;
    case AVRO_INT:
        if (!avro_json_is(v, AVRO_JSON_INTEGER) || v->u.i < INT32_MIN || v->u.i > INT32_MAX)
            return fail(ctx, "default must be a 32-bit integer for type \"int\"");
        return 0;
    case AVRO_LONG:
        if (!avro_json_is(v, AVRO_JSON_INTEGER))
            return fail(ctx, "default must be a 64-bit integer for type \"long\"");
        return 0;
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
        if (!avro_json_is_number(v))
            return fail(ctx, "default must be a number for type \"%s\"", kind_names[t->kind]);
        return 0;
    case AVRO_STRING:
        if (!avro_json_is(v, AVRO_JSON_STRING))
            return fail(ctx, "default must be a string for type \"string\"");
        return 0;
    case AVRO_BYTES:
        if (!avro_json_is(v, AVRO_JSON_STRING) || !latin1_length(avro_json_string(v), v->len, &n))
            return fail(ctx, "default must be a string of code points U+0000..U+00FF for type "
                             "\"bytes\"");
        return 0;
    case AVRO_FIXED:
        if (!avro_json_is(v, AVRO_JSON_STRING) || !latin1_length(avro_json_string(v), v->len, &n))
            return fail(ctx,
                        "default must be a string of code points U+0000..U+00FF for fixed "
                        "\"%s\"",
                        t->fullname);
        if ((int64_t)n != t->size)
            return fail(ctx, "default has %zu bytes but fixed \"%s\" has size %lld", n, t->fullname,
                        (long long)t->size);
        return 0;
    case AVRO_ENUM:
        if (!jstr(v))
            return fail(ctx, "default must be a symbol of enum \"%s\"", t->fullname);
        for (i = 0; i < t->n_symbols; i++)
            if (strcmp(t->symbols[i], jstr(v)) == 0)
                return 0;
        return fail(ctx, "default \"%s\" is not a symbol of enum \"%s\"", jstr(v), t->fullname);
    case AVRO_ARRAY:
        if (!avro_json_is(v, AVRO_JSON_ARRAY))
            return fail(ctx, "default must be a JSON array for type \"array\"");
        for (i = 0; i < v->len && !error; i++) {
            mark = path_push_index(ctx, i);
            error = check_default(ctx, t->items, &v->u.items[i], depth + 1);
            path_pop(ctx, mark);
        }
        return error;
    case AVRO_MAP:
        if (!avro_json_is(v, AVRO_JSON_OBJECT))
            return fail(ctx, "default must be a JSON object for type \"map\"");
        for (i = 0; i < v->len; i++) {
            mark = path_push(ctx, v->u.members[i].key);
            error = check_default(ctx, t->items, &v->u.members[i].value, depth + 1);
            path_pop(ctx, mark);
            if (error)
                return error;
        }
        return 0;
    case AVRO_RECORD:
        return check_default_record(ctx, t, v, depth);
    case AVRO_UNION:
        if (t->n_branches == 0)
            return fail(ctx, "an empty union cannot have a default");
        error = check_default(ctx, t->branches[0], v, depth + 1);
        if (error && ctx->err)
            chan_error_hint(ctx->err, "the default of a union must match its first branch (%s)",
                            t->branches[0]->fullname ? t->branches[0]->fullname
                                                     : kind_names[t->branches[0]->kind]);
        return error;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Types                                                               */
/* ------------------------------------------------------------------ */

static int parse_type(parse_ctx *ctx, const avro_json *j, const char *ns, avro_node **out);

/*
** Read an optional "aliases" member into a vector of names, qualified in
** `ns` when `qualify_ns` (named types) or simple (fields).
*/
static int parse_aliases(parse_ctx *ctx, const avro_json *obj, const char *ns, bool named,
                         char ***out, size_t *out_n)
{
    const avro_json *a = chan_avro__json_get(obj, "aliases"), *item;
    size_t i, mark;
    int error = 0;

    *out = NULL;
    *out_n = 0;
    if (!a)
        return 0;
    mark = path_push(ctx, "aliases");
    if (!avro_json_is(a, AVRO_JSON_ARRAY)) {
        error = fail(ctx, "aliases must be an array of names");
        goto cleanup;
    }
    *out = chan_avro__arena_alloc(&ctx->schema->arena, ((size_t)a->len + 1) * sizeof(char *));
    for (i = 0; i < a->len && (item = &a->u.items[i]) != NULL; i++) {
        const char *s = jstr(item);
        size_t m = path_push_index(ctx, i);

        if (!s || !(named ? valid_dotted(s, false) : valid_name(s))) {
            error = fail(ctx, "invalid alias %s%s%s", s ? "\"" : "", s ? s : "(not a string)",
                         s ? "\"" : "");
            goto cleanup;
        }
        path_pop(ctx, m);
        (*out)[(*out_n)++] = named ? qualify(ctx, s, ns) : (char *)s;
    }
cleanup:
    path_pop(ctx, mark);
    return error;
}

/*
** Name, namespace and aliases of a named type; registers it so that its own
** fields can refer to it.  *out_ns receives its namespace (caller frees).
*/
static int parse_named(parse_ctx *ctx, const avro_json *j, const char *enclosing_ns, avro_node *n,
                       char **out_ns)
{
    const avro_json *jname = chan_avro__json_get(j, "name"),
                    *jns = chan_avro__json_get(j, "namespace");
    const char *name, *ns = enclosing_ns;
    avro_node *prev;
    size_t mark;
    int error;

    *out_ns = NULL;
    if (!jname)
        return fail(ctx, "%s has no \"name\"", kind_names[n->kind]);
    mark = path_push(ctx, "name");
    name = jstr(jname);
    if (!name || !valid_dotted(name, false)) {
        error = fail(ctx, "invalid name %s%s%s", name ? "\"" : "", name ? name : "(not a string)",
                     name ? "\"" : "");
        chan_error_hint(ctx->err, "names match [A-Za-z_][A-Za-z0-9_]*, optionally dotted");
        return error;
    }
    path_pop(ctx, mark);
    if (jns && !strchr(name, '.')) {
        mark = path_push(ctx, "namespace");
        ns = jstr(jns);
        if (!avro_json_is(jns, AVRO_JSON_NULL) && (!ns || !valid_dotted(ns, true)))
            return fail(ctx, "invalid namespace %s%s%s", ns ? "\"" : "", ns ? ns : "(not a string)",
                        ns ? "\"" : "");
        path_pop(ctx, mark);
        if (!ns) /* "namespace": null is no namespace given (Java, Python and Avro C) */
            ns = enclosing_ns;
    }
    n->fullname = qualify(ctx, name, ns);
    n->name = strrchr(n->fullname, '.') ? strrchr(n->fullname, '.') + 1 : n->fullname;
    if (is_primitive_name(n->fullname, NULL) || is_primitive_name(n->name, NULL))
        return fail(ctx, "the name \"%s\" of a %s clashes with a primitive type", n->fullname,
                    kind_names[n->kind]);
    if ((prev = names_get(ctx, n->fullname)) != NULL)
        return fail(ctx, "redefinition of named type \"%s\" (first defined at %s)", n->fullname,
                    chan_avro__pointer(prev)[0] ? chan_avro__pointer(prev) : "/");
    *out_ns = namespace_of(n->fullname);
    if ((error = parse_aliases(ctx, j, *out_ns, true, &n->aliases, &n->n_aliases)) < 0) {
        free(*out_ns);
        *out_ns = NULL;
        return error;
    }
    names_put(ctx, n);
    return 0;
}

const avro_field *chan_avro__field_find(const avro_node *record, const char *name)
{
    long i = chan_avro__index_find(&record->field_ix, name); /* names are unique (parse_field) */

    return i < 0 ? NULL : &record->fields[i];
}

const avro_field *chan_avro__field_find_at(const avro_node *record, const avro_node *reader,
                                           size_t at)
{
    const avro_field_key *rk = &reader->keys[at], *k;
    const char *name = reader->fields[at].name;
    long i;

    assert(record->kind == AVRO_RECORD && reader->kind == AVRO_RECORD && at < reader->n_fields);
    assert(record->keys != NULL && reader->keys != NULL);
    if (at < record->n_fields && (k = &record->keys[at])->hash == rk->hash) {
        if (rk->len != 0 || k->len != 0) { /* a short name is in its key */
            if (k->len == rk->len && memcmp(k->name, rk->name, sizeof(k->name)) == 0)
                return &record->fields[at];
        } else if (strcmp(record->fields[at].name, name) == 0) {
            return &record->fields[at];
        }
    }
    if ((record->field_bloom & chan_avro__bloom_bits(rk->hash)) != chan_avro__bloom_bits(rk->hash))
        return NULL;
    i = chan_avro__index_find_hashed(&record->field_ix, name, rk->hash);
    return i < 0 ? NULL : &record->fields[i];
}

/* The kinds of avro_field_key for a field of type t. */
static uint8_t key_kinds(const avro_node *t)
{
    if (t->kind == AVRO_UNION)
        return t->simple;
    if (t->kind <= AVRO_STRING && !(t->kind == AVRO_BYTES && t->logical == AVRO_LT_DECIMAL))
        return (uint8_t)(1u << t->kind);
    return 0;
}

static int parse_field(parse_ctx *ctx, avro_node *rec, const avro_json *jf, const char *ns,
                       avro_field *f)
{
    avro_field_key *key = &rec->keys[f->index];
    const avro_json *jname, *jtype, *jorder, *jdep;
    const char *name, *order;
    long dup;
    size_t mark;
    int error = 0;

    if (!avro_json_is(jf, AVRO_JSON_OBJECT))
        return fail(ctx, "a field must be a JSON object");
    f->json = jf;
    jname = chan_avro__json_get(jf, "name");
    name = jstr(jname);
    if (!jname)
        return fail(ctx, "field has no \"name\"");
    mark = path_push(ctx, "name");
    if (!name || !valid_name(name)) {
        error = fail(ctx, "invalid field name %s%s%s", name ? "\"" : "",
                     name ? name : "(not a string)", name ? "\"" : "");
        chan_error_hint(ctx->err, "field names match [A-Za-z_][A-Za-z0-9_]*");
        return error;
    }
    path_pop(ctx, mark);
    f->name = (char *)name; /* the JSON string, in the arena */
    key->hash = chan_avro__hash(name);
    if (jname->len < sizeof(key->name)) {
        key->len = (uint8_t)jname->len;
        memcpy(key->name, name, jname->len);
    }
    rec->field_bloom |= chan_avro__bloom_bits(key->hash);
    if ((dup = chan_avro__index_add_hashed(&rec->field_ix, name, key->hash, (uint32_t)f->index)) >=
        0)
        return fail(ctx, "duplicate field name \"%s\" (also at %s/fields/%ld)", name,
                    chan_avro__pointer(rec), dup);
    if ((jtype = chan_avro__json_get(jf, "type")) == NULL)
        return fail(ctx, "field \"%s\" has no \"type\"", name);
    mark = path_push(ctx, "type");
    error = parse_type(ctx, jtype, ns, &f->type);
    path_pop(ctx, mark);
    if (error)
        return error;
    key->kinds = key_kinds(f->type);
    if ((error = parse_aliases(ctx, jf, ns, false, &f->aliases, &f->n_aliases)) < 0)
        return error;
    if ((jorder = chan_avro__json_get(jf, "order")) != NULL) {
        order = jstr(jorder);
        if (!order || (strcmp(order, "ascending") != 0 && strcmp(order, "descending") != 0 &&
                       strcmp(order, "ignore") != 0)) {
            mark = path_push(ctx, "order");
            error = fail(ctx, "field order must be \"ascending\", \"descending\" or \"ignore\"");
            path_pop(ctx, mark);
            return error;
        }
    }
    /* "deprecated" drives the field-removal rule: a typo must not pass silently. */
    if ((jdep = chan_avro__json_get(jf, "deprecated")) != NULL && !avro_json_is_boolean(jdep)) {
        mark = path_push(ctx, "deprecated");
        error = fail(ctx, "\"deprecated\" must be true or false");
        path_pop(ctx, mark);
        return error;
    }
    f->deprecated = avro_json_is(jdep, AVRO_JSON_TRUE);
    if ((f->default_value = chan_avro__json_get(jf, "default")) != NULL) {
        mark = path_push(ctx, "default");
        if (ctx->n_pending == ctx->cap_pending) {
            ctx->cap_pending = ctx->cap_pending ? 2 * ctx->cap_pending : 16;
            ctx->pending =
                chan_xreallocarray(ctx->pending, ctx->cap_pending, sizeof(*ctx->pending));
        }
        ctx->pending[ctx->n_pending].field = f;
        {
            chan_buf written = CHAN_BUF_INIT;

            path_write(ctx, &written);
            ctx->pending[ctx->n_pending++].path = chan_buf_take(&written);
        }
        path_pop(ctx, mark);
    }
    return error;
}

/* Check the field defaults collected by parse_field, in document order. */
static int check_pending_defaults(parse_ctx *ctx)
{
    size_t i;
    int error = 0;

    for (i = 0; i < ctx->n_pending && !error; i++) {
        const avro_field *f = ctx->pending[i].field;

        path_restart(ctx, ctx->pending[i].path);
        error = check_default(ctx, f->type, f->default_value, 0);
    }
    if (!error)
        ctx->path.n = 0; /* back at the root */
    return error;
}

static int parse_record(parse_ctx *ctx, const avro_json *j, const char *enclosing_ns, avro_node *n)
{
    const avro_json *jfields, *jf;
    char *ns = NULL;
    size_t i, mark;
    int error;

    if ((error = parse_named(ctx, j, enclosing_ns, n, &ns)) < 0)
        goto cleanup;
    jfields = chan_avro__json_get(j, "fields");
    if (!avro_json_is(jfields, AVRO_JSON_ARRAY)) {
        error = fail(ctx, "record \"%s\" needs a \"fields\" array", n->fullname);
        goto cleanup;
    }
    n->fields = chan_avro__arena_alloc(&ctx->schema->arena,
                                       ((size_t)jfields->len + 1) * sizeof(*n->fields));
    memset(n->fields, 0, ((size_t)jfields->len + 1) * sizeof(*n->fields));
    n->keys =
        chan_avro__arena_alloc(&ctx->schema->arena, ((size_t)jfields->len + 1) * sizeof(*n->keys));
    memset(n->keys, 0, ((size_t)jfields->len + 1) * sizeof(*n->keys));
    chan_avro__index_reserve(&n->field_ix, jfields->len);
    for (i = 0; i < jfields->len && (jf = &jfields->u.items[i]) != NULL; i++) {
        avro_field *f = &n->fields[i];
        size_t k;

        f->index = i;
        mark = path_push(ctx, "fields");
        path_push_index(ctx, i);
        error = parse_field(ctx, n, jf, ns, f);
        path_pop(ctx, mark);
        n->n_fields = i + 1; /* owned strings of f are freed with the node */
        if (error)
            goto cleanup;
        for (k = 0; k < f->n_aliases; k++)
            chan_avro__index_put(&n->field_alias_ix, f->aliases[k], (uint32_t)i);
    }
cleanup:
    free(ns);
    return error;
}

static int parse_enum(parse_ctx *ctx, const avro_json *j, const char *enclosing_ns, avro_node *n)
{
    const avro_json *jsyms, *js, *jdef;
    char *ns = NULL;
    size_t i, mark;
    long dup;
    int error;

    if ((error = parse_named(ctx, j, enclosing_ns, n, &ns)) < 0)
        goto cleanup;
    jsyms = chan_avro__json_get(j, "symbols");
    if (!avro_json_is(jsyms, AVRO_JSON_ARRAY)) {
        error = fail(ctx, "enum \"%s\" needs a \"symbols\" array", n->fullname);
        goto cleanup;
    }
    if (jsyms->len == 0) {
        error = fail(ctx, "enum \"%s\" needs at least one symbol", n->fullname);
        goto cleanup;
    }
    n->symbols =
        chan_avro__arena_alloc(&ctx->schema->arena, ((size_t)jsyms->len + 1) * sizeof(char *));
    chan_avro__index_reserve(&n->symbol_ix, jsyms->len);
    mark = path_push(ctx, "symbols");
    for (i = 0; i < jsyms->len && (js = &jsyms->u.items[i]) != NULL; i++) {
        const char *s = jstr(js);

        path_push_index(ctx, i);
        if (!s || !valid_name(s)) {
            error = fail(ctx, "invalid enum symbol %s%s%s", s ? "\"" : "", s ? s : "(not a string)",
                         s ? "\"" : "");
            goto cleanup;
        }
        if ((dup = chan_avro__index_add(&n->symbol_ix, s, (uint32_t)n->n_symbols)) >= 0) {
            error = fail(ctx, "duplicate enum symbol \"%s\" (also at index %ld)", s, dup);
            goto cleanup;
        }
        n->symbols[n->n_symbols] = (char *)s;
        n->n_symbols++;
        path_pop(ctx, mark + 1);
    }
    path_pop(ctx, mark);
    if ((jdef = chan_avro__json_get(j, "default")) != NULL) {
        const char *d = jstr(jdef);

        mark = path_push(ctx, "default");
        if (d && (dup = chan_avro__index_get(&n->symbol_ix, d)) >= 0)
            n->enum_default = n->symbols[dup];
        if (!n->enum_default) {
            error = fail(ctx, "enum default %s%s%s is not one of the symbols of \"%s\"",
                         d ? "\"" : "", d ? d : "(not a string)", d ? "\"" : "", n->fullname);
            goto cleanup;
        }
        path_pop(ctx, mark);
    }
cleanup:
    free(ns);
    return error;
}

static int parse_fixed(parse_ctx *ctx, const avro_json *j, const char *enclosing_ns, avro_node *n)
{
    const avro_json *jsize;
    char *ns = NULL;
    size_t mark;
    int error;

    if ((error = parse_named(ctx, j, enclosing_ns, n, &ns)) < 0)
        goto cleanup;
    jsize = chan_avro__json_get(j, "size");
    mark = path_push(ctx, "size");
    if (!jsize) {
        path_pop(ctx, mark);
        error = fail(ctx, "fixed \"%s\" has no \"size\"", n->fullname);
    } else if (!avro_json_is(jsize, AVRO_JSON_INTEGER) || jsize->u.i < 0 ||
               jsize->u.i > INT32_MAX) {
        error =
            fail(ctx, "size of fixed \"%s\" must be an integer in [0, %d]", n->fullname, INT32_MAX);
    } else {
        n->size = jsize->u.i;
        path_pop(ctx, mark);
    }
cleanup:
    free(ns);
    return error;
}

/* Integer attribute of a logical type, or -1 when absent or not a non-negative int. */
static int64_t int_attr(const avro_json *j, const char *key, int64_t absent)
{
    const avro_json *v = chan_avro__json_get(j, key);

    if (!v)
        return absent;
    if (!avro_json_is(v, AVRO_JSON_INTEGER) || v->u.i < 0 || v->u.i > INT32_MAX)
        return -1;
    return v->u.i;
}

/*
** Attach a logical type when the annotation is valid for the underlying
** type; otherwise leave the node as its plain underlying type, as the
** specification requires for unknown and invalid logical types.
*/
static void apply_logical(const avro_json *j, avro_node *n)
{
    const char *lt = jstr(chan_avro__json_get(j, "logicalType"));
    avro_kind k = n->kind;

    if (!lt)
        return;
    if (strcmp(lt, "decimal") == 0 && (k == AVRO_BYTES || k == AVRO_FIXED)) {
        int64_t precision = int_attr(j, "precision", -1), scale = int_attr(j, "scale", 0);

        if (precision <= 0 || scale < 0 || scale > precision)
            return;
        if (k == AVRO_FIXED) {
            /* floor(log10(2^(8 * size - 1) - 1)) digits fit in `size` bytes */
            double digits = (double)(8 * n->size - 1) * 0.30102999566398119521;

            if (n->size == 0 || (double)precision > digits)
                return;
        }
        n->logical = AVRO_LT_DECIMAL;
        n->precision = (int)precision;
        n->scale = (int)scale;
    } else if (strcmp(lt, "uuid") == 0 && k == AVRO_STRING) {
        n->logical = AVRO_LT_UUID;
    } else if (strcmp(lt, "date") == 0 && k == AVRO_INT) {
        n->logical = AVRO_LT_DATE;
    } else if (strcmp(lt, "time-millis") == 0 && k == AVRO_INT) {
        n->logical = AVRO_LT_TIME_MILLIS;
    } else if (strcmp(lt, "time-micros") == 0 && k == AVRO_LONG) {
        n->logical = AVRO_LT_TIME_MICROS;
    } else if (strcmp(lt, "timestamp-millis") == 0 && k == AVRO_LONG) {
        n->logical = AVRO_LT_TIMESTAMP_MILLIS;
    } else if (strcmp(lt, "timestamp-micros") == 0 && k == AVRO_LONG) {
        n->logical = AVRO_LT_TIMESTAMP_MICROS;
    } else if (strcmp(lt, "local-timestamp-millis") == 0 && k == AVRO_LONG) {
        n->logical = AVRO_LT_LOCAL_TIMESTAMP_MILLIS;
    } else if (strcmp(lt, "local-timestamp-micros") == 0 && k == AVRO_LONG) {
        n->logical = AVRO_LT_LOCAL_TIMESTAMP_MICROS;
    } else if (strcmp(lt, "duration") == 0 && k == AVRO_FIXED && n->size == 12) {
        n->logical = AVRO_LT_DURATION;
    }
}

/* Resolve a type name: primitive, or a named type defined earlier. */
static int resolve_name(parse_ctx *ctx, const char *s, const char *ns, avro_node **out)
{
    avro_kind k;
    avro_node *n;
    char *full;

    if (is_primitive_name(s, &k)) {
        *out = node_new(ctx, k);
        return 0;
    }
    if (strchr(s, '.') || !ns || !*ns) {
        n = names_get(ctx, s); /* already a full name: nothing to build */
    } else {
        full = chan_xasprintf("%s.%s", ns, s);
        n = names_get(ctx, full);
        free(full);
    }
    if (!n) {
        int error = fail(ctx, "unknown type \"%s\"", s);

        if (ctx->err && valid_dotted(s, false))
            chan_error_hint(ctx->err, "named types must be defined before they are used");
        return error;
    }
    *out = n;
    return 0;
}

/* Position of an earlier union branch that b would duplicate, or -1. */
static long union_duplicate(const avro_node *u, const avro_node *b)
{
    const avro_slot *slot = NULL;

    if (!b->fullname)
        return (long)u->kind_first[b->kind] - 1;
    while ((slot = chan_avro__index_next(&u->branch_name_ix, b->name, slot)) != NULL)
        if (strcmp(u->branches[slot->val]->fullname, b->fullname) == 0)
            return (long)slot->val;
    return -1;
}

static int parse_union(parse_ctx *ctx, const avro_json *j, const char *ns, avro_node **out)
{
    avro_node *n;
    const avro_json *jb;
    size_t i, k, mark;
    long dup;
    int error = 0;

    /* An empty union is valid (the specification does not forbid it; Java and
     * Python accept it): it has no value, so a field of that type needs no
     * default and cannot have one. */
    if (j->len == 0)
        ctx->empty_union = true;
    n = node_new(ctx, AVRO_UNION);
    n->branches =
        chan_avro__arena_alloc(&ctx->schema->arena, ((size_t)j->len + 1) * sizeof(*n->branches));
    for (i = 0; i < j->len && (jb = &j->u.items[i]) != NULL; i++) {
        avro_node *b = NULL;

        mark = path_push_index(ctx, i);
        if (avro_json_is(jb, AVRO_JSON_ARRAY))
            return fail(ctx, "a union may not directly contain another union");
        if ((error = parse_type(ctx, jb, ns, &b)) < 0)
            return error;
        if ((dup = union_duplicate(n, b)) >= 0)
            return fail(ctx, "duplicate union branch \"%s\" (also at index %ld)",
                        b->fullname ? b->fullname : kind_names[b->kind], dup);
        if (b->fullname) {
            chan_avro__index_put(&n->branch_name_ix, b->name, (uint32_t)i);
            for (k = 0; k < b->n_aliases; k++)
                chan_avro__index_put(&n->branch_alias_ix, b->aliases[k], (uint32_t)i);
        } else {
            n->kind_first[b->kind] = (uint32_t)i + 1;
        }
        n->branches[n->n_branches++] = b;
        path_pop(ctx, mark);
    }
    for (i = 0; i < n->n_branches; i++) {
        const avro_node *b = n->branches[i];

        if (b->kind > AVRO_STRING || b->logical == AVRO_LT_DECIMAL) {
            n->simple = 0;
            break;
        }
        n->simple |= (uint8_t)(1u << b->kind);
    }
    *out = n;
    return 0;
}

static int parse_object(parse_ctx *ctx, const avro_json *j, const char *ns, avro_node **out)
{
    const avro_json *jt = chan_avro__json_get(j, "type"), *sub;
    const char *t;
    avro_node *n;
    avro_kind k;
    size_t mark;
    int error = 0;

    if (!jt)
        return fail(ctx, "schema object has no \"type\"");
    if ((t = jstr(jt)) == NULL) {
        mark = path_push(ctx, "type");
        error = fail(ctx, "\"type\" of a schema object must be a string");
        path_pop(ctx, mark);
        return error;
    }
    if (is_primitive_name(t, &k)) {
        n = node_new(ctx, k);
        apply_logical(j, n);
    } else if (strcmp(t, "error") == 0) {
        mark = path_push(ctx, "type");
        error = fail(ctx, "\"error\" types belong in protocols, not in schemas");
        chan_error_hint(ctx->err, "use \"record\"");
        path_pop(ctx, mark);
        return error;
    } else if (strcmp(t, "record") == 0) {
        n = node_new(ctx, AVRO_RECORD);
        error = parse_record(ctx, j, ns, n);
    } else if (strcmp(t, "enum") == 0) {
        n = node_new(ctx, AVRO_ENUM);
        error = parse_enum(ctx, j, ns, n);
    } else if (strcmp(t, "fixed") == 0) {
        n = node_new(ctx, AVRO_FIXED);
        if ((error = parse_fixed(ctx, j, ns, n)) == 0)
            apply_logical(j, n);
    } else if (strcmp(t, "array") == 0 || strcmp(t, "map") == 0) {
        bool is_array = t[0] == 'a';
        const char *key = is_array ? "items" : "values";

        n = node_new(ctx, is_array ? AVRO_ARRAY : AVRO_MAP);
        if ((sub = chan_avro__json_get(j, key)) == NULL)
            return fail(ctx, "%s has no \"%s\"", t, key);
        mark = path_push(ctx, key);
        error = parse_type(ctx, sub, ns, &n->items);
        path_pop(ctx, mark);
    } else {
        mark = path_push(ctx, "type");
        error = resolve_name(ctx, t, ns, &n);
        path_pop(ctx, mark);
    }
    if (error == 0)
        *out = n;
    return error;
}

/*
** Parse any schema value at the current path.  `ns` is the enclosing
** namespace ("" for none).  *out is borrowed from ctx->schema.
*/
static int parse_type(parse_ctx *ctx, const avro_json *j, const char *ns, avro_node **out)
{
    const avro_node *cur = ctx->cur;
    int error;

    ctx->src = j;
    if (++ctx->depth > CHAN_AVRO_MAX_DEPTH) {
        error = fail(ctx, "schema nested deeper than %d levels", CHAN_AVRO_MAX_DEPTH);
    } else if (avro_json_is(j, AVRO_JSON_STRING)) {
        if (jstr(j))
            error = resolve_name(ctx, jstr(j), ns, out);
        else
            error = fail(ctx, "a type name may not contain U+0000");
    } else if (avro_json_is(j, AVRO_JSON_ARRAY)) {
        error = parse_union(ctx, j, ns, out);
    } else if (avro_json_is(j, AVRO_JSON_OBJECT)) {
        error = parse_object(ctx, j, ns, out);
    } else {
        error = fail(ctx, "a schema must be a type name, an object or a union array, not %s",
                     avro_json_is(j, AVRO_JSON_NULL) ? "null"
                     : avro_json_is_boolean(j)       ? "a boolean"
                                                     : "a number");
    }
    ctx->depth--;
    ctx->cur = cur;
    return error;
}

/* ------------------------------------------------------------------ */
/* Parsing Canonical Form, fingerprint                                 */
/* ------------------------------------------------------------------ */

static void pcf_write(chan_buf *b, const avro_node *n, bool *seen)
{
    size_t i;

    if (n->fullname && seen[n->named_id]) {
        chan_buf_printf(b, "\"%s\"", n->fullname);
        return;
    }
    if (n->fullname)
        seen[n->named_id] = true;
    switch (n->kind) {
    case AVRO_RECORD:
        chan_buf_printf(b, "{\"name\":\"%s\",\"type\":\"record\",\"fields\":[", n->fullname);
        for (i = 0; i < n->n_fields; i++) {
            chan_buf_printf(b, "%s{\"name\":\"%s\",\"type\":", i ? "," : "", n->fields[i].name);
            pcf_write(b, n->fields[i].type, seen);
            chan_buf_putc(b, '}');
        }
        chan_buf_puts(b, "]}");
        break;
    case AVRO_ENUM:
        chan_buf_printf(b, "{\"name\":\"%s\",\"type\":\"enum\",\"symbols\":[", n->fullname);
        for (i = 0; i < n->n_symbols; i++)
            chan_buf_printf(b, "%s\"%s\"", i ? "," : "", n->symbols[i]);
        chan_buf_puts(b, "]}");
        break;
    case AVRO_FIXED:
        chan_buf_printf(b, "{\"name\":\"%s\",\"type\":\"fixed\",\"size\":%lld}", n->fullname,
                        (long long)n->size);
        break;
    case AVRO_ARRAY:
    case AVRO_MAP:
        chan_buf_printf(b, "{\"type\":\"%s\",\"%s\":", kind_names[n->kind],
                        n->kind == AVRO_ARRAY ? "items" : "values");
        pcf_write(b, n->items, seen);
        chan_buf_putc(b, '}');
        break;
    case AVRO_UNION:
        chan_buf_putc(b, '[');
        for (i = 0; i < n->n_branches; i++) {
            if (i)
                chan_buf_putc(b, ',');
            pcf_write(b, n->branches[i], seen);
        }
        chan_buf_putc(b, ']');
        break;
    default:
        chan_buf_printf(b, "\"%s\"", kind_names[n->kind]);
        break;
    }
}

/*
** CRC-64-AVRO (the Rabin fingerprint of the specification), a byte at a time
** with the specification's table (fp_table[i]: i shifted through the
** polynomial 0xc15d213aa4d7a795 eight times), written out so that there is
** nothing to initialise or race on.
*/
static const uint64_t crc64_table[256] = {
    UINT64_C(0x0000000000000000), UINT64_C(0x2cf1cba6b75351fa), UINT64_C(0x59e3974d6ea6a3f4),
    UINT64_C(0x75125cebd9f5f20e), UINT64_C(0xb3c72e9add4d47e8), UINT64_C(0x9f36e53c6a1e1612),
    UINT64_C(0xea24b9d7b3ebe41c), UINT64_C(0xc6d5727104b8b5e6), UINT64_C(0xe5341f40f335c0fb),
    UINT64_C(0xc9c5d4e644669101), UINT64_C(0xbcd7880d9d93630f), UINT64_C(0x902643ab2ac032f5),
    UINT64_C(0x56f331da2e788713), UINT64_C(0x7a02fa7c992bd6e9), UINT64_C(0x0f10a69740de24e7),
    UINT64_C(0x23e16d31f78d751d), UINT64_C(0x48d27cf4afc4cedd), UINT64_C(0x6423b75218979f27),
    UINT64_C(0x1131ebb9c1626d29), UINT64_C(0x3dc0201f76313cd3), UINT64_C(0xfb15526e72898935),
    UINT64_C(0xd7e499c8c5dad8cf), UINT64_C(0xa2f6c5231c2f2ac1), UINT64_C(0x8e070e85ab7c7b3b),
    UINT64_C(0xade663b45cf10e26), UINT64_C(0x8117a812eba25fdc), UINT64_C(0xf405f4f93257add2),
    UINT64_C(0xd8f43f5f8504fc28), UINT64_C(0x1e214d2e81bc49ce), UINT64_C(0x32d0868836ef1834),
    UINT64_C(0x47c2da63ef1aea3a), UINT64_C(0x6b3311c55849bbc0), UINT64_C(0x91a4f9e95f899dba),
    UINT64_C(0xbd55324fe8dacc40), UINT64_C(0xc8476ea4312f3e4e), UINT64_C(0xe4b6a502867c6fb4),
    UINT64_C(0x2263d77382c4da52), UINT64_C(0x0e921cd535978ba8), UINT64_C(0x7b80403eec6279a6),
    UINT64_C(0x57718b985b31285c), UINT64_C(0x7490e6a9acbc5d41), UINT64_C(0x58612d0f1bef0cbb),
    UINT64_C(0x2d7371e4c21afeb5), UINT64_C(0x0182ba427549af4f), UINT64_C(0xc757c83371f11aa9),
    UINT64_C(0xeba60395c6a24b53), UINT64_C(0x9eb45f7e1f57b95d), UINT64_C(0xb24594d8a804e8a7),
    UINT64_C(0xd976851df04d5367), UINT64_C(0xf5874ebb471e029d), UINT64_C(0x809512509eebf093),
    UINT64_C(0xac64d9f629b8a169), UINT64_C(0x6ab1ab872d00148f), UINT64_C(0x464060219a534575),
    UINT64_C(0x33523cca43a6b77b), UINT64_C(0x1fa3f76cf4f5e681), UINT64_C(0x3c429a5d0378939c),
    UINT64_C(0x10b351fbb42bc266), UINT64_C(0x65a10d106dde3068), UINT64_C(0x4950c6b6da8d6192),
    UINT64_C(0x8f85b4c7de35d474), UINT64_C(0xa3747f616966858e), UINT64_C(0xd666238ab0937780),
    UINT64_C(0xfa97e82c07c0267a), UINT64_C(0xa1f3b1a7f6bc745f), UINT64_C(0x8d027a0141ef25a5),
    UINT64_C(0xf81026ea981ad7ab), UINT64_C(0xd4e1ed4c2f498651), UINT64_C(0x12349f3d2bf133b7),
    UINT64_C(0x3ec5549b9ca2624d), UINT64_C(0x4bd7087045579043), UINT64_C(0x6726c3d6f204c1b9),
    UINT64_C(0x44c7aee70589b4a4), UINT64_C(0x68366541b2dae55e), UINT64_C(0x1d2439aa6b2f1750),
    UINT64_C(0x31d5f20cdc7c46aa), UINT64_C(0xf700807dd8c4f34c), UINT64_C(0xdbf14bdb6f97a2b6),
    UINT64_C(0xaee31730b66250b8), UINT64_C(0x8212dc9601310142), UINT64_C(0xe921cd535978ba82),
    UINT64_C(0xc5d006f5ee2beb78), UINT64_C(0xb0c25a1e37de1976), UINT64_C(0x9c3391b8808d488c),
    UINT64_C(0x5ae6e3c98435fd6a), UINT64_C(0x7617286f3366ac90), UINT64_C(0x03057484ea935e9e),
    UINT64_C(0x2ff4bf225dc00f64), UINT64_C(0x0c15d213aa4d7a79), UINT64_C(0x20e419b51d1e2b83),
    UINT64_C(0x55f6455ec4ebd98d), UINT64_C(0x79078ef873b88877), UINT64_C(0xbfd2fc8977003d91),
    UINT64_C(0x9323372fc0536c6b), UINT64_C(0xe6316bc419a69e65), UINT64_C(0xcac0a062aef5cf9f),
    UINT64_C(0x3057484ea935e9e5), UINT64_C(0x1ca683e81e66b81f), UINT64_C(0x69b4df03c7934a11),
    UINT64_C(0x454514a570c01beb), UINT64_C(0x839066d47478ae0d), UINT64_C(0xaf61ad72c32bfff7),
    UINT64_C(0xda73f1991ade0df9), UINT64_C(0xf6823a3fad8d5c03), UINT64_C(0xd563570e5a00291e),
    UINT64_C(0xf9929ca8ed5378e4), UINT64_C(0x8c80c04334a68aea), UINT64_C(0xa0710be583f5db10),
    UINT64_C(0x66a47994874d6ef6), UINT64_C(0x4a55b232301e3f0c), UINT64_C(0x3f47eed9e9ebcd02),
    UINT64_C(0x13b6257f5eb89cf8), UINT64_C(0x788534ba06f12738), UINT64_C(0x5474ff1cb1a276c2),
    UINT64_C(0x2166a3f7685784cc), UINT64_C(0x0d976851df04d536), UINT64_C(0xcb421a20dbbc60d0),
    UINT64_C(0xe7b3d1866cef312a), UINT64_C(0x92a18d6db51ac324), UINT64_C(0xbe5046cb024992de),
    UINT64_C(0x9db12bfaf5c4e7c3), UINT64_C(0xb140e05c4297b639), UINT64_C(0xc452bcb79b624437),
    UINT64_C(0xe8a377112c3115cd), UINT64_C(0x2e7605602889a02b), UINT64_C(0x0287cec69fdaf1d1),
    UINT64_C(0x7795922d462f03df), UINT64_C(0x5b64598bf17c5225), UINT64_C(0xc15d213aa4d7a795),
    UINT64_C(0xedacea9c1384f66f), UINT64_C(0x98beb677ca710461), UINT64_C(0xb44f7dd17d22559b),
    UINT64_C(0x729a0fa0799ae07d), UINT64_C(0x5e6bc406cec9b187), UINT64_C(0x2b7998ed173c4389),
    UINT64_C(0x0788534ba06f1273), UINT64_C(0x24693e7a57e2676e), UINT64_C(0x0898f5dce0b13694),
    UINT64_C(0x7d8aa9373944c49a), UINT64_C(0x517b62918e179560), UINT64_C(0x97ae10e08aaf2086),
    UINT64_C(0xbb5fdb463dfc717c), UINT64_C(0xce4d87ade4098372), UINT64_C(0xe2bc4c0b535ad288),
    UINT64_C(0x898f5dce0b136948), UINT64_C(0xa57e9668bc4038b2), UINT64_C(0xd06cca8365b5cabc),
    UINT64_C(0xfc9d0125d2e69b46), UINT64_C(0x3a487354d65e2ea0), UINT64_C(0x16b9b8f2610d7f5a),
    UINT64_C(0x63abe419b8f88d54), UINT64_C(0x4f5a2fbf0fabdcae), UINT64_C(0x6cbb428ef826a9b3),
    UINT64_C(0x404a89284f75f849), UINT64_C(0x3558d5c396800a47), UINT64_C(0x19a91e6521d35bbd),
    UINT64_C(0xdf7c6c14256bee5b), UINT64_C(0xf38da7b29238bfa1), UINT64_C(0x869ffb594bcd4daf),
    UINT64_C(0xaa6e30fffc9e1c55), UINT64_C(0x50f9d8d3fb5e3a2f), UINT64_C(0x7c0813754c0d6bd5),
    UINT64_C(0x091a4f9e95f899db), UINT64_C(0x25eb843822abc821), UINT64_C(0xe33ef64926137dc7),
    UINT64_C(0xcfcf3def91402c3d), UINT64_C(0xbadd610448b5de33), UINT64_C(0x962caaa2ffe68fc9),
    UINT64_C(0xb5cdc793086bfad4), UINT64_C(0x993c0c35bf38ab2e), UINT64_C(0xec2e50de66cd5920),
    UINT64_C(0xc0df9b78d19e08da), UINT64_C(0x060ae909d526bd3c), UINT64_C(0x2afb22af6275ecc6),
    UINT64_C(0x5fe97e44bb801ec8), UINT64_C(0x7318b5e20cd34f32), UINT64_C(0x182ba427549af4f2),
    UINT64_C(0x34da6f81e3c9a508), UINT64_C(0x41c8336a3a3c5706), UINT64_C(0x6d39f8cc8d6f06fc),
    UINT64_C(0xabec8abd89d7b31a), UINT64_C(0x871d411b3e84e2e0), UINT64_C(0xf20f1df0e77110ee),
    UINT64_C(0xdefed65650224114), UINT64_C(0xfd1fbb67a7af3409), UINT64_C(0xd1ee70c110fc65f3),
    UINT64_C(0xa4fc2c2ac90997fd), UINT64_C(0x880de78c7e5ac607), UINT64_C(0x4ed895fd7ae273e1),
    UINT64_C(0x62295e5bcdb1221b), UINT64_C(0x173b02b01444d015), UINT64_C(0x3bcac916a31781ef),
    UINT64_C(0x60ae909d526bd3ca), UINT64_C(0x4c5f5b3be5388230), UINT64_C(0x394d07d03ccd703e),
    UINT64_C(0x15bccc768b9e21c4), UINT64_C(0xd369be078f269422), UINT64_C(0xff9875a13875c5d8),
    UINT64_C(0x8a8a294ae18037d6), UINT64_C(0xa67be2ec56d3662c), UINT64_C(0x859a8fdda15e1331),
    UINT64_C(0xa96b447b160d42cb), UINT64_C(0xdc791890cff8b0c5), UINT64_C(0xf088d33678abe13f),
    UINT64_C(0x365da1477c1354d9), UINT64_C(0x1aac6ae1cb400523), UINT64_C(0x6fbe360a12b5f72d),
    UINT64_C(0x434ffdaca5e6a6d7), UINT64_C(0x287cec69fdaf1d17), UINT64_C(0x048d27cf4afc4ced),
    UINT64_C(0x719f7b249309bee3), UINT64_C(0x5d6eb082245aef19), UINT64_C(0x9bbbc2f320e25aff),
    UINT64_C(0xb74a095597b10b05), UINT64_C(0xc25855be4e44f90b), UINT64_C(0xeea99e18f917a8f1),
    UINT64_C(0xcd48f3290e9addec), UINT64_C(0xe1b9388fb9c98c16), UINT64_C(0x94ab6464603c7e18),
    UINT64_C(0xb85aafc2d76f2fe2), UINT64_C(0x7e8fddb3d3d79a04), UINT64_C(0x527e16156484cbfe),
    UINT64_C(0x276c4afebd7139f0), UINT64_C(0x0b9d81580a22680a), UINT64_C(0xf10a69740de24e70),
    UINT64_C(0xddfba2d2bab11f8a), UINT64_C(0xa8e9fe396344ed84), UINT64_C(0x8418359fd417bc7e),
    UINT64_C(0x42cd47eed0af0998), UINT64_C(0x6e3c8c4867fc5862), UINT64_C(0x1b2ed0a3be09aa6c),
    UINT64_C(0x37df1b05095afb96), UINT64_C(0x143e7634fed78e8b), UINT64_C(0x38cfbd924984df71),
    UINT64_C(0x4ddde17990712d7f), UINT64_C(0x612c2adf27227c85), UINT64_C(0xa7f958ae239ac963),
    UINT64_C(0x8b08930894c99899), UINT64_C(0xfe1acfe34d3c6a97), UINT64_C(0xd2eb0445fa6f3b6d),
    UINT64_C(0xb9d81580a22680ad), UINT64_C(0x9529de261575d157), UINT64_C(0xe03b82cdcc802359),
    UINT64_C(0xccca496b7bd372a3), UINT64_C(0x0a1f3b1a7f6bc745), UINT64_C(0x26eef0bcc83896bf),
    UINT64_C(0x53fcac5711cd64b1), UINT64_C(0x7f0d67f1a69e354b), UINT64_C(0x5cec0ac051134056),
    UINT64_C(0x701dc166e64011ac), UINT64_C(0x050f9d8d3fb5e3a2), UINT64_C(0x29fe562b88e6b258),
    UINT64_C(0xef2b245a8c5e07be), UINT64_C(0xc3daeffc3b0d5644), UINT64_C(0xb6c8b317e2f8a44a),
    UINT64_C(0x9a3978b155abf5b0),
};

static uint64_t crc64_avro(const char *data, size_t len)
{
    uint64_t fp = UINT64_C(0xc15d213aa4d7a795);
    size_t i;

    for (i = 0; i < len; i++)
        fp = (fp >> 8) ^ crc64_table[(fp ^ (unsigned char)data[i]) & 0xff];
    return fp;
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */
/* ------------------------------------------------------------------ */

/*
** A copy of v in arena a for the Avro C gate: U+0000 in strings becomes
** U+0001 (same length; Avro C's JSON loader refuses U+0000, which the
** specification allows in bytes and fixed defaults, and nothing else may
** contain once our parser accepted the text), and when fill_unions, every
** empty union of a type position gets the branch "null" (Avro C refuses
** unions without branches, which the specification allows; the rest of the
** schema still goes through its gate).
*/
static avro_json *gate_copy(avro_arena *a, const avro_json *v, bool type_pos, bool fill_unions)
{
    avro_json *c = chan_avro__arena_alloc(a, sizeof(*c));
    const char *type = NULL;
    size_t i;

    *c = *v;
    switch (v->type) {
    case AVRO_JSON_STRING:
        if (strlen(v->u.s) != v->len) {
            char *s = chan_avro__arena_strndup(a, v->u.s, v->len);

            for (i = 0; i < v->len; i++)
                if (s[i] == '\0')
                    s[i] = '\1';
            c->u.s = s;
        }
        break;
    case AVRO_JSON_ARRAY:
        if (type_pos && fill_unions && v->len == 0) {
            avro_json *null = chan_avro__arena_alloc(a, sizeof(*null));

            null->type = AVRO_JSON_STRING;
            null->len = 4;
            null->u.s = "null";
            c->len = 1;
            c->u.items = null;
            break;
        }
        c->u.items = chan_avro__arena_alloc(a, v->len * sizeof(*c->u.items));
        for (i = 0; i < v->len; i++)
            c->u.items[i] = *gate_copy(a, &v->u.items[i], type_pos, fill_unions);
        break;
    case AVRO_JSON_OBJECT:
        if (type_pos)
            type = avro_json_string(chan_avro__json_get(v, "type"));
        c->u.members = chan_avro__arena_alloc(a, v->len * sizeof(*c->u.members));
        for (i = 0; i < v->len; i++) {
            const avro_json_member *m = &v->u.members[i];
            bool sub = false;

            /* the members that hold types: those of a field and of a type object */
            if (type_pos && type == NULL)
                sub = strcmp(m->key, "type") == 0;
            else if (type && (strcmp(type, "record") == 0 || strcmp(type, "error") == 0))
                sub = strcmp(m->key, "fields") == 0;
            else if (type && strcmp(type, "array") == 0)
                sub = strcmp(m->key, "items") == 0;
            else if (type && strcmp(type, "map") == 0)
                sub = strcmp(m->key, "values") == 0;
            c->u.members[i] = *m;
            if (sub && strcmp(m->key, "fields") == 0 && m->value.type == AVRO_JSON_ARRAY) {
                /* each field: its "type" is a type position */
                avro_json *fields = &c->u.members[i].value;
                size_t k;

                fields->u.items =
                    chan_avro__arena_alloc(a, m->value.len * sizeof(*fields->u.items));
                for (k = 0; k < m->value.len; k++) {
                    const avro_json *f = &m->value.u.items[k];

                    fields->u.items[k] = *gate_copy(a, f, false, fill_unions);
                    if (f->type == AVRO_JSON_OBJECT) {
                        size_t x;

                        for (x = 0; x < f->len; x++)
                            if (strcmp(f->u.members[x].key, "type") == 0)
                                fields->u.items[k].u.members[x].value =
                                    *gate_copy(a, &f->u.members[x].value, true, fill_unions);
                    }
                }
            } else {
                c->u.members[i].value = *gate_copy(a, &m->value, sub, fill_unions);
            }
        }
        break;
    default:
        break;
    }
    return c;
}

/* True when the text contains the escape \u0000 (possibly a false positive). */
static bool has_escaped_nul(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i + 6 <= len; i++)
        if (s[i] == '\\' && memcmp(s + i + 1, "u0000", 5) == 0)
            return true;
    return false;
}

/*
** Second gate: Avro C must accept what we accept.  Called only on schemas
** our parser accepted, so nesting is already bounded.
*/
static int avro_c_gate(parse_ctx *ctx, const char *json, size_t len)
{
    char msg[256];
    avro_arena scratch = {0};
    chan_buf text = CHAN_BUF_INIT;
    int error = 0;

    if (has_escaped_nul(json, len) || ctx->empty_union) {
        chan_avro__json_write(&text, gate_copy(&scratch, ctx->schema->root, true, ctx->empty_union),
                              false);
        json = chan_buf_cstr(&text);
        len = text.len;
    }
    if (chan_avro__cgate(json, len, msg, sizeof(msg)) != 0)
        error = fail(ctx, "rejected by Avro C: %s", msg);
    chan_buf_dispose(&text);
    chan_avro__arena_dispose(&scratch);
    return error;
}

/*
** Parse one referenced text into the schema's names (before the schema
** itself): its top-level named type is marked external, so the schema's
** text names it instead of repeating it.
*/
static int parse_reference_text(parse_ctx *ctx, size_t i, const char *text)
{
    chan_avro_schema *s = ctx->schema;
    avro_json *root;
    avro_node *top = NULL;
    int error;

    if ((error = chan_avro__json_read(&root, &s->arena, text, strlen(text), ctx->err)) < 0) {
        chan_error_prefix(ctx->err, "reference %zu", i + 1);
        return error;
    }
    s->ref_texts[s->n_ref_texts++] = chan_xstrdup(text);
    ctx->path.n = 0;
    if ((error = parse_type(ctx, root, "", &top)) < 0) {
        chan_error_prefix(ctx->err, "reference %zu", i + 1);
        return error;
    }
    if (top->fullname)
        top->external = true;
    return 0;
}

int chan_avro_schema_parse_opts(chan_avro_schema **out, const char *json, size_t len,
                                const chan_avro_parse_refs *refs, unsigned flags, chan_error *err)
{
    parse_ctx ctx = {0};
    chan_avro_schema *s = chan_xcalloc(1, sizeof(*s));
    size_t i;
    int error = 0;

    *out = NULL;
    ctx.schema = s;
    ctx.err = err;
    if (refs != NULL && refs->n_refs > 0) {
        s->refs = chan_xcalloc(refs->n_refs, sizeof(*s->refs));
        for (i = 0; i < refs->n_refs; i++) {
            assert(refs->refs[i].name != NULL && refs->refs[i].subject != NULL);
            s->refs[i].name = chan_xstrdup(refs->refs[i].name);
            s->refs[i].subject = chan_xstrdup(refs->refs[i].subject);
            s->refs[i].version = refs->refs[i].version;
            s->n_refs++;
        }
    }
    if (refs != NULL && refs->n_texts > 0) {
        s->ref_texts = chan_xcalloc(refs->n_texts, sizeof(*s->ref_texts));
        for (i = 0; i < refs->n_texts; i++)
            if ((error = parse_reference_text(&ctx, i, refs->texts[i])) < 0)
                goto cleanup;
        ctx.path.n = 0;
    }
    if ((error = chan_avro__json_read(&s->root, &s->arena, json, len, err)) < 0)
        goto cleanup;
    if ((error = parse_type(&ctx, s->root, "", &s->top)) < 0)
        goto cleanup;
    if ((error = check_pending_defaults(&ctx)) < 0)
        goto cleanup;
    /* Avro C's constructors judge the parsed tree (once per new text); the
     * text itself only where the tree cannot tell (cgate_tree.h). */
    if (!(flags & CHAN_AVRO_PARSE_STORED)) {
        char msg[256];
        int verdict = chan_avro__cgate_tree(s, msg, sizeof(msg));

        if (verdict == CHAN_AVRO_CGATE_UNDECIDED) /* texts without references only */
            error = avro_c_gate(&ctx, json, len);
        else if (verdict < 0)
            error = fail(&ctx, "rejected by Avro C: %s", msg);
        if (error < 0)
            goto cleanup;
    }

    /* The canonical form, fingerprint and texts are made on first use. */
    *out = s;
    s = NULL;
cleanup:
    for (i = 0; i < ctx.n_pending; i++)
        free(ctx.pending[i].path);
    free(ctx.pending);
    free(ctx.path.segs);
    chan_avro_schema_free(s);
    return error;
}

int chan_avro_schema_parse_refs(chan_avro_schema **out, const char *json, size_t len,
                                const chan_avro_parse_refs *refs, chan_error *err)
{
    return chan_avro_schema_parse_opts(out, json, len, refs, 0, err);
}

int chan_avro_schema_parse(chan_avro_schema **out, const char *json, size_t len, chan_error *err)
{
    return chan_avro_schema_parse_refs(out, json, len, NULL, err);
}

static int cmp_ref(const void *a, const void *b)
{
    const chan_avro_reference *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    if (c == 0)
        c = strcmp(x->subject, y->subject);
    if (c == 0)
        c = (x->version > y->version) - (x->version < y->version);
    return c;
}

int chan_avro_schema_normalize(chan_avro_schema **out, const chan_avro_schema *schema,
                               chan_error *err)
{
    chan_avro_reference *refs = NULL;
    chan_avro_parse_refs pr;
    char *text;
    size_t n = 0, i;
    int error;

    assert(out != NULL && schema != NULL);
    text = chan_avro__write(schema, CHAN_AVRO_W_NORMALIZE);
    if (schema->n_refs > 0) { /* sorted, each once */
        refs = chan_xcalloc(schema->n_refs, sizeof(*refs));
        memcpy(refs, schema->refs, schema->n_refs * sizeof(*refs));
        qsort(refs, schema->n_refs, sizeof(*refs), cmp_ref);
        for (i = 0; i < schema->n_refs; i++)
            if (n == 0 || cmp_ref(&refs[n - 1], &refs[i]) != 0)
                refs[n++] = refs[i];
    }
    pr.refs = refs;
    pr.n_refs = n;
    pr.texts = (const char *const *)schema->ref_texts;
    pr.n_texts = schema->n_ref_texts;
    /* a rewrite of a schema that passed the Avro C gate: no second gate */
    error = chan_avro_schema_parse_opts(out, text, strlen(text), &pr, CHAN_AVRO_PARSE_STORED, err);
    free(refs);
    free(text);
    return error;
}

const chan_avro_reference *chan_avro_schema_references(const chan_avro_schema *schema,
                                                       size_t *out_n)
{
    *out_n = schema->n_refs;
    return schema->refs;
}

static size_t index_memory(const avro_index *ix)
{
    return ix->cap * sizeof(*ix->slots);
}

static size_t text_memory(char *const *slot)
{
    const char *text = __atomic_load_n((char **)slot, __ATOMIC_ACQUIRE);

    return text ? strlen(text) + 1 : 0;
}

size_t chan_avro_schema_memory(const chan_avro_schema *schema)
{
    size_t bytes, i;

    assert(schema != NULL);
    bytes = sizeof(*schema) + schema->arena.bytes + schema->cap_nodes * sizeof(*schema->nodes) +
            schema->cap_named * sizeof(*schema->named) + index_memory(&schema->name_ix) +
            index_memory(&schema->alias_ix);
    for (i = 0; i < schema->n_nodes; i++) {
        const avro_node *n = schema->nodes[i];

        if (n->kind == AVRO_RECORD)
            bytes += index_memory(&n->field_ix) + index_memory(&n->field_alias_ix);
        else if (n->kind == AVRO_ENUM)
            bytes += index_memory(&n->symbol_ix);
        else if (n->kind == AVRO_UNION)
            bytes += index_memory(&n->branch_name_ix) + index_memory(&n->branch_alias_ix);
    }
    for (i = 0; i < schema->n_ref_texts; i++)
        bytes += strlen(schema->ref_texts[i]) + 1;
    return bytes + text_memory(&schema->canonical) + text_memory(&schema->normalized) +
           text_memory(&schema->identity);
}

void chan_avro_schema_free(chan_avro_schema *schema)
{
    size_t i;

    if (!schema)
        return;
    for (i = 0; i < schema->n_nodes; i++)
        node_free(schema->nodes[i]);
    free(schema->nodes);
    free(schema->named);
    chan_avro__index_dispose(&schema->name_ix);
    chan_avro__index_dispose(&schema->alias_ix);
    free(schema->canonical);
    free(schema->normalized);
    free(schema->identity);
    for (i = 0; i < schema->n_refs; i++) {
        free((char *)schema->refs[i].name);
        free((char *)schema->refs[i].subject);
    }
    free(schema->refs);
    for (i = 0; i < schema->n_ref_texts; i++)
        free(schema->ref_texts[i]);
    free(schema->ref_texts);
    chan_avro__arena_dispose(&schema->arena);
    free(schema);
}

/*
** The texts derived from a parsed schema are made on first use, since most
** parses need none of them or one (a compatibility check needs none).  The
** schema stays immutable to its users and safe to share between threads:
** a text is published with a compare-and-swap, and a thread that loses the
** race frees its own copy of the same text.
*/
static const char *derived_text(const chan_avro_schema *schema, char *const *slot,
                                char *(*make)(const chan_avro_schema *))
{
    char **p = (char **)slot; /* the schema itself is not const (malloc'd) */
    char *text = __atomic_load_n(p, __ATOMIC_ACQUIRE), *expected = NULL;

    if (text)
        return text;
    text = make(schema);
    if (__atomic_compare_exchange_n(p, &expected, text, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return text;
    free(text);
    return expected;
}

static char *make_canonical(const chan_avro_schema *schema)
{
    chan_buf b = CHAN_BUF_INIT;
    bool *seen = chan_xcalloc(schema->n_named + 1, sizeof(*seen));

    pcf_write(&b, schema->top, seen);
    free(seen);
    return chan_buf_take(&b);
}

static char *make_normalized(const chan_avro_schema *schema)
{
    return chan_avro__write(schema, 0);
}

const char *chan_avro_schema_canonical(const chan_avro_schema *schema)
{
    return derived_text(schema, &schema->canonical, make_canonical);
}

uint64_t chan_avro_schema_fingerprint(const chan_avro_schema *schema)
{
    chan_avro_schema *s = (chan_avro_schema *)schema;
    const char *pcf;
    uint64_t fp;

    if (__atomic_load_n(&s->have_fingerprint, __ATOMIC_ACQUIRE))
        return __atomic_load_n(&s->fingerprint, __ATOMIC_RELAXED);
    pcf = chan_avro_schema_canonical(schema);
    fp = crc64_avro(pcf, strlen(pcf));
    /* racing threads store the same value */
    __atomic_store_n(&s->fingerprint, fp, __ATOMIC_RELAXED);
    __atomic_store_n(&s->have_fingerprint, true, __ATOMIC_RELEASE);
    return fp;
}

const char *chan_avro_schema_normalized(const chan_avro_schema *schema)
{
    return derived_text(schema, &schema->normalized, make_normalized);
}

const char *chan_avro_schema_identity(const chan_avro_schema *schema)
{
    return derived_text(schema, &schema->identity, chan_avro__identity);
}

const char *chan_avro_schema_name(const chan_avro_schema *schema)
{
    const avro_node *n = schema->top;

    return n->fullname ? n->fullname : kind_names[n->kind];
}
