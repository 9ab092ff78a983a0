/*
 * readiness.h - the store's readiness, probed in the background for /readyz.
 *
 * A thread pings the store (chan_store_ping) every CHAND_READINESS_INTERVAL_MS
 * and keeps the outcome, so that /readyz answers from memory at once and
 * never waits for a database: the store is not ready when the last ping
 * failed or when the ping under way has not answered for
 * CHAND_READINESS_LIMIT_MS (a hung server, or a pool taken by requests that
 * wait for it).  Every ping ends within the store's deadlines, or at once
 * after chan_store_abort.
 *
 * Ownership: chand_readiness_start's result is freed with
 * chand_readiness_stop; the store is borrowed and must outlive it.
 */
#ifndef CHANREGD_READINESS_H
#define CHANREGD_READINESS_H

#include <stdbool.h>
#include <stddef.h>

#include "chan/error.h"
#include "chan/store.h"

/** Time between two pings. */
#define CHAND_READINESS_INTERVAL_MS 500
/** A ping unanswered for longer makes the store not ready. */
#define CHAND_READINESS_LIMIT_MS 1000

typedef struct chand_readiness chand_readiness;

/**
 * Start the probe thread.  The store counts as ready until the first ping
 * says otherwise (it was just opened).
 *
 * @param[out] out the prober (stop with chand_readiness_stop)
 * @return 0 or CHAN_EINTERNAL (no thread)
 */
int chand_readiness_start(chand_readiness **out, chan_store *store, chan_error *err);

/**
 * Stop the thread (waits for the ping under way, which the store's
 * deadlines bound) and free the prober.  NULL-safe.
 */
void chand_readiness_stop(chand_readiness *r);

/**
 * Is the store ready?  Never touches the store.  When not, *reason is a
 * short phrase ("store unreachable", "store not answering") and detail (size
 * bytes) says why.  A NULL r is always ready.
 */
bool chand_readiness_get(chand_readiness *r, const char **reason, char *detail, size_t size);

#endif
