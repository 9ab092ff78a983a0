/*
 * cgate.h - the Avro C gate (cgate.c), kept apart from avro_int.h because
 * Avro C's own avro.h defines AVRO_* names that clash with ours.  Not
 * installed.
 */
#ifndef CHAN_AVRO_CGATE_H
#define CHAN_AVRO_CGATE_H

#include <stddef.h>

/**
 * Parse json with Avro C.
 * @param msg      receives Avro C's message on failure
 * @return 0 when Avro C accepts the schema, -1 otherwise
 */
int chan_avro__cgate(const char *json, size_t len, char *msg, size_t msg_size);

#endif
