/*
 * cgate_build.c - Avro C's schema constructors behind handles, for the tree
 * gate (cgate_tree.c).  With cgate.c, the only files of the module that
 * include Avro C's avro.h.
 *
 * These are the calls avro_schema_from_json (Avro C 1.11, schema.c) makes
 * once jansson has read the text; the tree gate makes them from our parsed
 * schema instead, so that the checks done by the constructors (identifiers,
 * links to named types only, circular fields) run on the same names.
 */
#include <assert.h>
#include <stdlib.h>

#include <avro.h>

#include "chan/common.h"
#include "cgate_alloc.h"
#include "cgate_build.h"

/*
 * Avro C allocates on this thread from an arena while a builder is open
 * (cgate_alloc.c): the schemas are dropped with the arena, not taken apart
 * by avro_schema_decref.  The one thing the arena does not undo is the
 * references taken on Avro C's primitive schemas, which are process-wide
 * singletons: a constructor that keeps a type (a field, items, values, a
 * branch) takes one, as avro_schema_int() and the like do.  The builder
 * counts them and gives them back in chan_avro__cb_free.
 */
#define N_PRIMITIVES (AVRO_NULL + 1) /* avro_type_t: AVRO_STRING .. AVRO_NULL */

struct chan_avro__cb {
    avro_schema_t *s; /* every schema made, by handle */
    size_t n, cap;
    int prim[N_PRIMITIVES];                  /* handle of each primitive, by CHAN_AVRO_CB_*; -1 */
    avro_schema_t prim_schema[N_PRIMITIVES]; /* by avro_type_t */
    size_t prim_refs[N_PRIMITIVES];          /* references taken on it, by avro_type_t */
};

chan_avro__cb *chan_avro__cb_new(void)
{
    chan_avro__cb *b = chan_xcalloc(1, sizeof(chan_avro__cb));
    size_t i;

    for (i = 0; i < N_PRIMITIVES; i++)
        b->prim[i] = -1;
    chan_avro__cgate_lock();
    chan_avro__cgate_alloc_begin();
    return b;
}

void chan_avro__cb_free(chan_avro__cb *b)
{
    size_t i, k;

    if (!b)
        return;
    for (i = 0; i < N_PRIMITIVES; i++)
        for (k = 0; k < b->prim_refs[i]; k++)
            avro_schema_decref(b->prim_schema[i]);
    chan_avro__cgate_alloc_end();
    chan_avro__cgate_unlock();
    free(b->s);
    free(b);
}

const char *chan_avro__cb_error(void)
{
    return avro_strerror();
}

/* Keep s (NULL: the constructor failed and set Avro C's message). */
static int keep(chan_avro__cb *b, avro_schema_t s)
{
    if (!s)
        return -1;
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 32;
        b->s = chan_xreallocarray(b->s, b->cap, sizeof(*b->s));
    }
    b->s[b->n] = s;
    return (int)b->n++;
}

static avro_schema_t get(const chan_avro__cb *b, int h)
{
    assert(h >= 0 && (size_t)h < b->n);
    return b->s[h];
}

/* A constructor took a reference on s (0 returned) or failed. */
static int took(chan_avro__cb *b, avro_schema_t s, int result)
{
    if (result == 0 && is_avro_primitive(s)) {
        assert((size_t)avro_typeof(s) < N_PRIMITIVES);
        b->prim_schema[avro_typeof(s)] = s;
        b->prim_refs[avro_typeof(s)]++;
    }
    return result;
}

/* The primitive of kind `which`, made once per builder. */
static avro_schema_t primitive(int which)
{
    switch (which) {
    case CHAN_AVRO_CB_NULL:
        return avro_schema_null();
    case CHAN_AVRO_CB_BOOLEAN:
        return avro_schema_boolean();
    case CHAN_AVRO_CB_INT:
        return avro_schema_int();
    case CHAN_AVRO_CB_LONG:
        return avro_schema_long();
    case CHAN_AVRO_CB_FLOAT:
        return avro_schema_float();
    case CHAN_AVRO_CB_DOUBLE:
        return avro_schema_double();
    case CHAN_AVRO_CB_BYTES:
        return avro_schema_bytes();
    case CHAN_AVRO_CB_STRING:
        return avro_schema_string();
    default:
        assert(!"not a primitive");
        return NULL;
    }
}

int chan_avro__cb_primitive(chan_avro__cb *b, int which)
{
    avro_schema_t s;

    assert(which >= 0 && which < N_PRIMITIVES);
    if (b->prim[which] < 0) {
        if ((s = primitive(which)) == NULL)
            return -1;
        (void)took(b, s, 0); /* the reference avro_schema_<type>() returns */
        b->prim[which] = keep(b, s);
    }
    return b->prim[which];
}

int chan_avro__cb_record(chan_avro__cb *b, const char *name, const char *space)
{
    return keep(b, avro_schema_record(name, space));
}

int chan_avro__cb_enum(chan_avro__cb *b, const char *name, const char *space)
{
    return keep(b, avro_schema_enum_ns(name, space));
}

int chan_avro__cb_fixed(chan_avro__cb *b, const char *name, const char *space, int64_t size)
{
    return keep(b, avro_schema_fixed_ns(name, space, size));
}

int chan_avro__cb_field(chan_avro__cb *b, int record, const char *name, int type)
{
    avro_schema_t t = get(b, type);

    return took(b, t, avro_schema_record_field_append(get(b, record), name, t) == 0 ? 0 : -1);
}

int chan_avro__cb_symbol(chan_avro__cb *b, int enm, const char *symbol)
{
    return avro_schema_enum_symbol_append(get(b, enm), symbol) == 0 ? 0 : -1;
}

int chan_avro__cb_array(chan_avro__cb *b, int items)
{
    int h = keep(b, avro_schema_array(get(b, items)));

    return h < 0 ? -1 : (took(b, get(b, items), 0), h);
}

int chan_avro__cb_map(chan_avro__cb *b, int values)
{
    int h = keep(b, avro_schema_map(get(b, values)));

    return h < 0 ? -1 : (took(b, get(b, values), 0), h);
}

int chan_avro__cb_union(chan_avro__cb *b)
{
    return keep(b, avro_schema_union());
}

int chan_avro__cb_branch(chan_avro__cb *b, int un, int branch)
{
    avro_schema_t t = get(b, branch);

    return took(b, t, avro_schema_union_append(get(b, un), t) == 0 ? 0 : -1);
}

int chan_avro__cb_link(chan_avro__cb *b, int target)
{
    return keep(b, avro_schema_link(get(b, target)));
}
