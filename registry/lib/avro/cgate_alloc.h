/*
 * cgate_alloc.h - Avro C's process-wide state, as the gates use it
 * (cgate_alloc.c): where Avro C allocates while the tree gate builds a
 * schema, and the lock every use of Avro C holds.  Kept apart from
 * avro_int.h and from Avro C's avro.h, whose AVRO_* names clash.  Not
 * installed.
 */
#ifndef CHAN_AVRO_CGATE_ALLOC_H
#define CHAN_AVRO_CGATE_ALLOC_H

/**
 * Take the lock that every use of Avro C by the module holds (Avro C 1.11
 * keeps its last error message in one static buffer: two threads whose
 * calls fail at once would mix their messages), installing the module's
 * allocator in Avro C first (avro_set_allocator, once per process).
 */
void chan_avro__cgate_lock(void);
void chan_avro__cgate_unlock(void);

/**
 * Send this thread's Avro C allocations to an arena until
 * chan_avro__cgate_alloc_end.  Outside a begin/end pair the allocator does
 * what Avro C's default allocator does.
 * Precondition: chan_avro__cgate_lock held, no begin pending on this thread.
 */
void chan_avro__cgate_alloc_begin(void);

/**
 * Release everything Avro C allocated on this thread since begin, at once.
 * Precondition: a begin is pending on this thread, and nothing allocated
 * since is used again.
 */
void chan_avro__cgate_alloc_end(void);

#endif
