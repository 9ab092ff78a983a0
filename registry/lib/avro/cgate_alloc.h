/*
 * cgate_alloc.h - where Avro C allocates while the tree gate builds a
 * schema (cgate_alloc.c).  Kept apart from avro_int.h and from Avro C's
 * avro.h, whose AVRO_* names clash.  Not installed.
 */
#ifndef CHAN_AVRO_CGATE_ALLOC_H
#define CHAN_AVRO_CGATE_ALLOC_H

/**
 * Install the module's allocator in Avro C (avro_set_allocator), once per
 * process; called before any use of Avro C by the module.
 */
void chan_avro__cgate_alloc_install(void);

/**
 * Send this thread's Avro C allocations to an arena until
 * chan_avro__cgate_alloc_end (installing the allocator first).  Outside a
 * begin/end pair the allocator does what Avro C's default allocator does.
 * Precondition: no begin pending on this thread.
 */
void chan_avro__cgate_alloc_begin(void);

/**
 * Release everything Avro C allocated on this thread since begin, at once.
 * Precondition: a begin is pending on this thread, and nothing allocated
 * since is used again.
 */
void chan_avro__cgate_alloc_end(void);

#endif
