/*
 * index.c - a small string-keyed hash index (open addressing, linear
 * probing) used to make every name lookup of the parser and of the
 * compatibility engine O(1): record fields and field aliases, enum symbols,
 * union branches, named types and their aliases.  Keys are borrowed from the
 * schema that owns the index.
 */
#include <assert.h>
#include <string.h>

#include "chan/common.h"
#include "avro_int.h"

uint32_t chan_avro__hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* First slot of hash h: the high bits of a multiplicative mix, which spread
 * keys that differ in their last characters only (field_0001, field_0002). */
static size_t home(uint32_t h, size_t mask)
{
    return (size_t)((h * 0x9E3779B1u) >> 7) & mask;
}

static void insert(avro_slot *slots, size_t cap, const char *key, uint32_t hash, uint32_t val)
{
    size_t mask = cap - 1, i;

    for (i = home(hash, mask); slots[i].key; i = (i + 1) & mask)
        ;
    slots[i].key = key;
    slots[i].hash = hash;
    slots[i].val = val;
}

/* Room for n keys (load at most 1/2), rehashing what is there. */
static void grow_to(avro_index *ix, size_t n)
{
    size_t cap = ix->cap ? ix->cap : 8, i;
    avro_slot *slots;

    while (2 * n > cap)
        cap *= 2;
    if (cap == ix->cap)
        return;
    slots = chan_xcalloc(cap, sizeof(*slots));
    for (i = 0; i < ix->cap; i++)
        if (ix->slots[i].key)
            insert(slots, cap, ix->slots[i].key, ix->slots[i].hash, ix->slots[i].val);
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
}

void chan_avro__index_reserve(avro_index *ix, size_t n)
{
    grow_to(ix, ix->n + n);
}

void chan_avro__index_put(avro_index *ix, const char *key, uint32_t val)
{
    grow_to(ix, ix->n + 1);
    insert(ix->slots, ix->cap, key, chan_avro__hash(key), val);
    ix->n++;
}

long chan_avro__index_add(avro_index *ix, const char *key, uint32_t val)
{
    return chan_avro__index_add_hashed(ix, key, chan_avro__hash(key), val);
}

long chan_avro__index_add_hashed(avro_index *ix, const char *key, uint32_t hash, uint32_t val)
{
    size_t mask, i;

    assert(hash == chan_avro__hash(key));
    grow_to(ix, ix->n + 1);
    mask = ix->cap - 1;
    for (i = home(hash, mask); ix->slots[i].key; i = (i + 1) & mask)
        if (ix->slots[i].hash == hash && strcmp(ix->slots[i].key, key) == 0)
            return (long)ix->slots[i].val; /* its keys are unique: the one match */
    ix->slots[i].key = key;                /* the empty slot that ended the probe */
    ix->slots[i].hash = hash;
    ix->slots[i].val = val;
    ix->n++;
    return -1;
}

/* The next slot of key after slot i (included), or NULL. */
static const avro_slot *probe(const avro_index *ix, const char *key, uint32_t hash, size_t i)
{
    size_t mask = ix->cap - 1;

    for (; ix->slots[i].key; i = (i + 1) & mask)
        if (ix->slots[i].hash == hash && strcmp(ix->slots[i].key, key) == 0)
            return &ix->slots[i];
    return NULL;
}

const avro_slot *chan_avro__index_next(const avro_index *ix, const char *key, const avro_slot *prev)
{
    size_t mask = ix->cap - 1;
    uint32_t hash;

    if (!ix->cap)
        return NULL;
    hash = prev ? prev->hash : chan_avro__hash(key);
    return probe(ix, key, hash, prev ? (size_t)(prev - ix->slots + 1) & mask : home(hash, mask));
}

long chan_avro__index_find(const avro_index *ix, const char *key)
{
    return chan_avro__index_find_hashed(ix, key, chan_avro__hash(key));
}

long chan_avro__index_find_hashed(const avro_index *ix, const char *key, uint32_t hash)
{
    const avro_slot *s;

    assert(hash == chan_avro__hash(key));
    if (!ix->cap)
        return -1;
    s = probe(ix, key, hash, home(hash, ix->cap - 1));
    return s ? (long)s->val : -1;
}

long chan_avro__index_get(const avro_index *ix, const char *key)
{
    const avro_slot *s = chan_avro__index_next(ix, key, NULL);
    const avro_slot *first = s;

    /* With duplicate keys, the smallest value wins (the earliest entry). */
    while (s) {
        if (s->val < first->val)
            first = s;
        s = chan_avro__index_next(ix, key, s);
    }
    return first ? (long)first->val : -1;
}

void chan_avro__index_dispose(avro_index *ix)
{
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = ix->n = 0;
}
