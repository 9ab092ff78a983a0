/*
 * cgate_build.h - Avro C's schema constructors behind handles (cgate_build.c),
 * for the tree gate (cgate_tree.c), which builds the Avro C schema of a
 * parsed schema without a JSON text.  Kept apart from avro_int.h because
 * Avro C's avro.h defines AVRO_* names that clash with ours.  Not installed.
 *
 * A builder owns every Avro C schema made through it and releases them all
 * in chan_avro__cb_free.  Schemas are named by handles (>= 0).  Functions
 * that fail return -1 and leave Avro C's message in chan_avro__cb_error().
 */
#ifndef CHAN_AVRO_CGATE_BUILD_H
#define CHAN_AVRO_CGATE_BUILD_H

#include <stdint.h>

typedef struct chan_avro__cb chan_avro__cb;

/** Primitive types, in the order of avro_int.h's avro_kind (AVRO_NULL..AVRO_STRING). */
enum {
    CHAN_AVRO_CB_NULL = 0,
    CHAN_AVRO_CB_BOOLEAN,
    CHAN_AVRO_CB_INT,
    CHAN_AVRO_CB_LONG,
    CHAN_AVRO_CB_FLOAT,
    CHAN_AVRO_CB_DOUBLE,
    CHAN_AVRO_CB_BYTES,
    CHAN_AVRO_CB_STRING,
};

/** A new, empty builder; free with chan_avro__cb_free.  The thread holds
 *  the lock of Avro C (cgate_alloc.h) until then: one builder at a time. */
chan_avro__cb *chan_avro__cb_new(void);

/** Release every schema made through b, then b itself.  NULL is allowed. */
void chan_avro__cb_free(chan_avro__cb *b);

/** Avro C's message for the last failure (while a builder is open). */
const char *chan_avro__cb_error(void);

/** A primitive (CHAN_AVRO_CB_*): handle, or -1. */
int chan_avro__cb_primitive(chan_avro__cb *b, int which);

/**
 * A record, enum or fixed named `name` in namespace `space` (NULL: none), as
 * avro_schema_record / avro_schema_enum_ns / avro_schema_fixed_ns make it
 * (they refuse a name that is not an Avro identifier).
 * @return handle, or -1
 */
int chan_avro__cb_record(chan_avro__cb *b, const char *name, const char *space);
int chan_avro__cb_enum(chan_avro__cb *b, const char *name, const char *space);
int chan_avro__cb_fixed(chan_avro__cb *b, const char *name, const char *space, int64_t size);

/** avro_schema_record_field_append: 0, or -1 (invalid field name, circular schema). */
int chan_avro__cb_field(chan_avro__cb *b, int record, const char *name, int type);

/** avro_schema_enum_symbol_append: 0, or -1. */
int chan_avro__cb_symbol(chan_avro__cb *b, int enm, const char *symbol);

/** An array of items / a map of values: handle, or -1. */
int chan_avro__cb_array(chan_avro__cb *b, int items);
int chan_avro__cb_map(chan_avro__cb *b, int values);

/** An empty union: handle, or -1; avro_schema_union_append adds a branch (0, or -1). */
int chan_avro__cb_union(chan_avro__cb *b);
int chan_avro__cb_branch(chan_avro__cb *b, int un, int branch);

/** avro_schema_link: a use of the named type `target` defined earlier; handle, or -1. */
int chan_avro__cb_link(chan_avro__cb *b, int target);

#endif
