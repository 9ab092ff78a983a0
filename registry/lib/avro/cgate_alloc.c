/*
 * cgate_alloc.c - Avro C's process-wide state: its allocator and a lock.
 *
 * The tree gate (cgate_tree.c) builds a whole Avro C schema to learn
 * whether Avro C accepts it, then drops it.  Avro C allocates each record,
 * field, name and hash entry on its own (avro/allocation.h): for a record of
 * 1,000 fields that is thousands of mallocs and as many frees, more than
 * our whole parse.  Avro C lets its user choose the allocator: while a
 * builder is open on a thread (begin .. end), that thread's Avro C
 * allocations come from one arena (json.c's, with its per-thread chunk
 * cache), frees are no-ops, and end releases the arena.  Every other
 * allocation, on any thread, is Avro C's default: realloc, or free when the
 * new size is 0.
 *
 * Avro C 1.11 (as Debian builds it) writes the message of a failed call to
 * one static buffer that avro_strerror returns: the gates hold one lock
 * while they use Avro C, so that a refusal quotes its own message.
 */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <avro/allocation.h>

#include "avro_int.h"
#include "cgate_alloc.h"

typedef struct gate_heap {
    bool open;
    avro_arena arena;
} gate_heap;

static __thread gate_heap heap;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t avro_c_lock = PTHREAD_MUTEX_INITIALIZER;

static void *gate_allocator(void *user_data, void *ptr, size_t osize, size_t nsize)
{
    void *p;

    (void)user_data;
    if (!heap.open || (ptr != NULL && !chan_avro__arena_owns(&heap.arena, ptr))) {
        if (nsize == 0) { /* Avro C's default allocator */
            free(ptr);
            return NULL;
        }
        return realloc(ptr, nsize);
    }
    if (nsize == 0) /* released with the arena */
        return NULL;
    p = chan_avro__arena_alloc(&heap.arena, nsize);
    if (ptr != NULL)
        memcpy(p, ptr, osize < nsize ? osize : nsize);
    return p;
}

static void install(void)
{
    avro_set_allocator(gate_allocator, NULL);
}

void chan_avro__cgate_lock(void)
{
    if (pthread_once(&install_once, install) != 0 || pthread_mutex_lock(&avro_c_lock) != 0)
        abort();
}

void chan_avro__cgate_unlock(void)
{
    if (pthread_mutex_unlock(&avro_c_lock) != 0)
        abort();
}

void chan_avro__cgate_alloc_begin(void)
{
    assert(!heap.open);
    heap.open = true;
}

void chan_avro__cgate_alloc_end(void)
{
    assert(heap.open);
    heap.open = false;
    chan_avro__arena_dispose(&heap.arena);
}
