/*
 * cgate_tree.c - the Avro C gate on a parsed schema: the Avro C schema is
 * built from our tree with Avro C's constructors (cgate_build.c), the calls
 * avro_schema_from_json makes after reading the text with jansson, so that
 * a new schema is not read a second time.
 *
 * What Avro C 1.11 refuses when it reads a schema, and where this gate
 * stands on each (our parser: schema.c):
 *
 *  - JSON that jansson cannot load: our parser loads the same text with the
 *    same jansson, only stricter (duplicate keys).  U+0000, which Avro C's
 *    loader refuses and the specification allows in defaults, is written
 *    U+0001 by the text gate: our parser refuses it everywhere Avro C
 *    looks (names, symbols, type names: jstr).
 *  - "type" not a string, unknown type names, named types used before
 *    their definition, a record without a "name" string or a "fields"
 *    array, a field that is not an object or lacks "name" or "type", an
 *    enum without symbols or with a symbol that is not a string, an array
 *    without "items", a map without "values", a fixed without an integer
 *    "size" or a "name": all refused by our parser (parse_object,
 *    resolve_name, parse_named, parse_record, parse_field, parse_enum,
 *    parse_fixed), which also checks more (namespaces, duplicate fields,
 *    symbols and union branches, "error" types).
 *  - A union without branches: refused by Avro C, accepted by our parser
 *    (the specification allows it); the text gate gives such unions the
 *    branch "null", and so does this one.
 *  - Names that are not Avro identifiers (record, enum and fixed names,
 *    field names) and links to named types: the constructors check them
 *    here as they do when reading the text.
 *  - A named type defined twice: our parser refuses it; Avro C keys types
 *    by the same full names ("namespace": null is no namespace given, to
 *    both).
 *  - A use written "record", "enum", "array", "map" or "fixed": Avro C reads
 *    the keyword, not the named type, and fails on the missing attributes.
 *  - Logical types, defaults, aliases, orders and docs: not read by Avro C
 *    1.11.
 *
 * The tree does not keep how names were written, so two cases of a text
 * without references are left to the text gate (cgate_tree.h).  With
 * references, the text gate reads chan_avro__write's inline text, which is
 * made from the tree: every case is decided here.  One verdict differs on
 * purpose: an inline text can nest deeper than jansson's 2,048 levels when
 * no text of the schema does (referenced types written in place inside each
 * other); the text gate refuses it, this one judges the schema.
 *
 * chan_avro__cgate_names makes the same walk without Avro C: of the
 * constructors' checks, only is_avro_id can fail on a schema our parser
 * accepted (links always name a named type, a field never has its own
 * record as its type object), and it is made here as Avro C makes it.
 */
#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "avro_int.h"
#include "cgate_build.h"
#include "cgate_tree.h"

typedef struct walk {
    chan_avro__cb *b; /* NULL: check the names only (chan_avro__cgate_names) */
    int *defined;     /* handle of each named type's definition, by named_id; -1 before */
    bool inline_text; /* the text gate reads chan_avro__write's inline text */
    char *msg;
    size_t msg_size;
} walk;

/* Length of the namespace part of a full name (0 for none). */
static size_t ns_len(const char *fullname)
{
    const char *dot = strrchr(fullname, '.');

    return dot ? (size_t)(dot - fullname) : 0;
}

/* Avro C's keywords that a type name written as a plain string turns into. */
static const char *keyword_message(const char *name)
{
    if (strcmp(name, "record") == 0)
        return "Record type must have a \"name\"";
    if (strcmp(name, "enum") == 0)
        return "Enum type must have a \"name\"";
    if (strcmp(name, "array") == 0)
        return "Array type must have \"items\"";
    if (strcmp(name, "map") == 0)
        return "Map type must have \"values\"";
    if (strcmp(name, "fixed") == 0)
        return "Fixed type must have a \"size\"";
    return NULL;
}

static int refuse(walk *w, const char *why)
{
    snprintf(w->msg, w->msg_size, "%s", why);
    return -1;
}

static int refuse_avro(walk *w)
{
    return refuse(w, chan_avro__cb_error());
}

/* Avro C's is_avro_id (schema.c), the check its constructors make on names. */
static bool avro_id(const char *name)
{
    size_t i;

    if (name[0] == '\0')
        return false;
    for (i = 0; name[i]; i++)
        if (!(isalpha((unsigned char)name[i]) || name[i] == '_' ||
              (i && isdigit((unsigned char)name[i]))))
            return false;
    return true;
}

static int build(walk *w, const avro_node *n, const char *ns, size_t nsl, int *out);

/* A use of a named type defined earlier, within namespace ns (nsl bytes). */
static int build_link(walk *w, const avro_node *n, const char *ns, size_t nsl, int *out)
{
    const char *kw = keyword_message(n->name);
    size_t nl = ns_len(n->fullname);

    if (kw) {
        /* In no namespace the use is written as the simple name (the only
         * way our parser resolves it); the inline text writes the full name. */
        if (nl == 0)
            return refuse(w, kw);
        if (!w->inline_text && nl == nsl && strncmp(n->fullname, ns, nl) == 0)
            return CHAN_AVRO_CGATE_UNDECIDED;
    }
    if (!w->b) {
        *out = 0;
        return 0;
    }
    if ((*out = chan_avro__cb_link(w->b, w->defined[n->named_id])) < 0)
        return refuse_avro(w);
    return 0;
}

/* The definition of a named type, met within namespace nsl bytes long. */
static int build_named(walk *w, const avro_node *n, size_t nsl, int *out)
{
    size_t nl = ns_len(n->fullname), i;
    char *space = w->b && nl ? chan_xstrndup(n->fullname, nl) : NULL;
    int h, t, error = 0;

    /* "namespace": "" (none, as here): left to Avro C's reading of the text */
    if (!w->inline_text && nl == 0 && nsl > 0) {
        error = CHAN_AVRO_CGATE_UNDECIDED;
        goto cleanup;
    }
    if (!w->b) {
        h = avro_id(n->name) ? 0 : refuse(w, "Invalid Avro identifier");
    } else if (n->kind == AVRO_RECORD) {
        h = chan_avro__cb_record(w->b, n->name, space);
    } else if (n->kind == AVRO_ENUM) {
        h = chan_avro__cb_enum(w->b, n->name, space);
    } else {
        assert(n->kind == AVRO_FIXED);
        h = chan_avro__cb_fixed(w->b, n->name, space, n->size);
    }
    if (h < 0) {
        error = w->b ? refuse_avro(w) : -1;
        goto cleanup;
    }
    w->defined[n->named_id] = h; /* before the fields: they may use it */
    for (i = 0; n->kind == AVRO_RECORD && i < n->n_fields && error == 0; i++) {
        if ((error = build(w, n->fields[i].type, n->fullname, nl, &t)) != 0)
            break;
        if (!w->b ? !avro_id(n->fields[i].name)
                  : chan_avro__cb_field(w->b, h, n->fields[i].name, t) < 0)
            error = w->b ? refuse_avro(w) : refuse(w, "Invalid Avro identifier");
    }
    for (i = 0; w->b && n->kind == AVRO_ENUM && i < n->n_symbols && error == 0; i++)
        if (chan_avro__cb_symbol(w->b, h, n->symbols[i]) < 0)
            error = refuse_avro(w);
    *out = h;
cleanup:
    free(space);
    return error;
}

/*
** Build n, met within the namespace made of the first nsl bytes of ns (the
** full name of the enclosing record), into *out.  Returns 0, -1 (refused,
** message in w->msg) or CHAN_AVRO_CGATE_UNDECIDED.
*/
static int build(walk *w, const avro_node *n, const char *ns, size_t nsl, int *out)
{
    size_t i;
    int h, t, error = 0;

    if (n->fullname)
        return w->defined[n->named_id] >= 0 ? build_link(w, n, ns, nsl, out)
                                            : build_named(w, n, nsl, out);
    if (!w->b) {
        for (i = 0; n->kind == AVRO_UNION && i < n->n_branches; i++)
            if ((error = build(w, n->branches[i], ns, nsl, &t)) != 0)
                return error;
        if (n->kind == AVRO_ARRAY || n->kind == AVRO_MAP)
            error = build(w, n->items, ns, nsl, &t);
        *out = 0;
        return error;
    }
    switch (n->kind) {
    case AVRO_ARRAY:
    case AVRO_MAP:
        if ((error = build(w, n->items, ns, nsl, &t)) != 0)
            return error;
        h = n->kind == AVRO_ARRAY ? chan_avro__cb_array(w->b, t) : chan_avro__cb_map(w->b, t);
        break;
    case AVRO_UNION:
        if ((h = chan_avro__cb_union(w->b)) < 0)
            return refuse_avro(w);
        if (n->n_branches == 0) { /* the text gate's "null" branch */
            if ((t = chan_avro__cb_primitive(w->b, CHAN_AVRO_CB_NULL)) < 0 ||
                chan_avro__cb_branch(w->b, h, t) < 0)
                return refuse_avro(w);
        }
        for (i = 0; i < n->n_branches; i++) {
            if ((error = build(w, n->branches[i], ns, nsl, &t)) != 0)
                return error;
            if (chan_avro__cb_branch(w->b, h, t) < 0)
                return refuse_avro(w);
        }
        break;
    default:
        assert(n->kind <= AVRO_STRING);
        h = chan_avro__cb_primitive(w->b, (int)n->kind);
        break;
    }
    if (h < 0)
        return refuse_avro(w);
    *out = h;
    return 0;
}

static int gate(const chan_avro_schema *schema, bool with_avro_c, char *msg, size_t msg_size)
{
    walk w;
    size_t i;
    int top, error;

    assert(schema != NULL && schema->top != NULL && msg != NULL && msg_size > 0);
    w.b = with_avro_c ? chan_avro__cb_new() : NULL;
    w.defined = chan_xcalloc(schema->n_named + 1, sizeof(*w.defined));
    for (i = 0; i < schema->n_named; i++)
        w.defined[i] = -1;
    w.inline_text = schema->n_ref_texts > 0;
    w.msg = msg;
    w.msg_size = msg_size;
    msg[0] = '\0';
    error = build(&w, schema->top, "", 0, &top);
    free(w.defined);
    chan_avro__cb_free(w.b);
    return error;
}

int chan_avro__cgate_tree(const chan_avro_schema *schema, char *msg, size_t msg_size)
{
    return gate(schema, true, msg, msg_size);
}

int chan_avro__cgate_names(const chan_avro_schema *schema, char *msg, size_t msg_size)
{
    return gate(schema, false, msg, msg_size);
}
