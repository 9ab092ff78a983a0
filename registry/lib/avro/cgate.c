/*
 * cgate.c - Avro C as a second gate behind our own parser: a schema that
 * Avro C refuses is refused too.  The only file of the module that includes
 * Avro C's avro.h, whose AVRO_* enumerators would clash with ours.
 */
#include <stdio.h>

#include <avro.h>

#include "cgate.h"
#include "cgate_alloc.h"

int chan_avro__cgate(const char *json, size_t len, char *msg, size_t msg_size)
{
    avro_schema_t s = NULL;
    int rc = 0;

    chan_avro__cgate_lock();
    if (avro_schema_from_json_length(json, len, &s) != 0) {
        snprintf(msg, msg_size, "%s", avro_strerror());
        rc = -1;
    } else {
        avro_schema_decref(s);
    }
    chan_avro__cgate_unlock();
    return rc;
}
