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
#include "cgate_build.h"

struct chan_avro__cb {
    avro_schema_t *s; /* one reference held on each */
    size_t n, cap;
};

chan_avro__cb *chan_avro__cb_new(void)
{
    return chan_xcalloc(1, sizeof(chan_avro__cb));
}

void chan_avro__cb_free(chan_avro__cb *b)
{
    size_t i;

    if (!b)
        return;
    /* links hold no reference on their target: any order is safe */
    for (i = b->n; i > 0; i--)
        avro_schema_decref(b->s[i - 1]);
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

int chan_avro__cb_primitive(chan_avro__cb *b, int which)
{
    switch (which) {
    case CHAN_AVRO_CB_NULL:
        return keep(b, avro_schema_null());
    case CHAN_AVRO_CB_BOOLEAN:
        return keep(b, avro_schema_boolean());
    case CHAN_AVRO_CB_INT:
        return keep(b, avro_schema_int());
    case CHAN_AVRO_CB_LONG:
        return keep(b, avro_schema_long());
    case CHAN_AVRO_CB_FLOAT:
        return keep(b, avro_schema_float());
    case CHAN_AVRO_CB_DOUBLE:
        return keep(b, avro_schema_double());
    case CHAN_AVRO_CB_BYTES:
        return keep(b, avro_schema_bytes());
    case CHAN_AVRO_CB_STRING:
        return keep(b, avro_schema_string());
    default:
        assert(!"not a primitive");
        return -1;
    }
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
    return avro_schema_record_field_append(get(b, record), name, get(b, type)) == 0 ? 0 : -1;
}

int chan_avro__cb_symbol(chan_avro__cb *b, int enm, const char *symbol)
{
    return avro_schema_enum_symbol_append(get(b, enm), symbol) == 0 ? 0 : -1;
}

int chan_avro__cb_array(chan_avro__cb *b, int items)
{
    return keep(b, avro_schema_array(get(b, items)));
}

int chan_avro__cb_map(chan_avro__cb *b, int values)
{
    return keep(b, avro_schema_map(get(b, values)));
}

int chan_avro__cb_union(chan_avro__cb *b)
{
    return keep(b, avro_schema_union());
}

int chan_avro__cb_branch(chan_avro__cb *b, int un, int branch)
{
    return avro_schema_union_append(get(b, un), get(b, branch)) == 0 ? 0 : -1;
}

int chan_avro__cb_link(chan_avro__cb *b, int target)
{
    return keep(b, avro_schema_link(get(b, target)));
}
