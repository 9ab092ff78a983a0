/*
 * cgate_tree.h - the Avro C gate run on a parsed schema (cgate_tree.c):
 * Avro C's constructors build the schema from our tree, without a JSON
 * text.  Not installed.
 */
#ifndef CHAN_AVRO_CGATE_TREE_H
#define CHAN_AVRO_CGATE_TREE_H

#include <stddef.h>

#include "chan/avro.h"

/** chan_avro__cgate_tree: the tree cannot tell; run the text gate (chan_avro__cgate). */
#define CHAN_AVRO_CGATE_UNDECIDED 1

/**
 * Would Avro C accept the text of schema (as schema.c's text gate hands it
 * over: the schema's own text, or with references the text that
 * chan_avro__write(CHAN_AVRO_W_INLINE) makes, U+0000 written U+0001, every
 * empty union given the branch "null")?  For schemas our parser accepted.
 *
 * Two cases depend on how the text was written, which the tree does not
 * keep; for them (texts without references only) the answer is
 * CHAN_AVRO_CGATE_UNDECIDED:
 *  - a named type in no namespace defined inside a namespace (written with
 *    "namespace": "", which the text gate hands to Avro C as written);
 *  - a use, within its own namespace, of a named type whose simple name is
 *    "record", "enum", "array", "map" or "fixed" (written as the simple name,
 *    which Avro C reads as that keyword, or as the full name).
 *
 * @param msg      receives Avro C's message on refusal
 * @return 0 when Avro C accepts, -1 when it refuses, CHAN_AVRO_CGATE_UNDECIDED
 */
int chan_avro__cgate_tree(const chan_avro_schema *schema, char *msg, size_t msg_size);

/**
 * chan_avro__cgate_tree without Avro C: the same walk and verdict, with the
 * one check of Avro C's constructors that can fail on a schema our parser
 * accepted (is_avro_id on type and field names) made here, as Avro C's
 * schema.c writes it.  Same parameters and results.
 */
int chan_avro__cgate_names(const chan_avro_schema *schema, char *msg, size_t msg_size);

#endif
