/*
 * webhook.h - chanregd's notifications (--webhook): events of the registry
 * POSTed to HTTP receivers as CloudEvents or Slack-compatible JSON.
 *
 * The events are audit entries (chan_store_webhook_pending): contract
 * created / changed / deleted, schema registered, consumer pending /
 * registered / approved / rejected / removed / renewed, and the lifecycle
 * events this module writes itself every --lifecycle-scan-interval: a
 * registration going stale, a deprecation date within
 * --deprecation-warning-days, a retirement (chan_store_lifecycle_event,
 * once per key).  Since each change wrote its entry in its own transaction,
 * no event is lost across a restart or while a receiver is down.
 *
 * Delivery: each webhook gets every event in order, one at a time; a failed
 * delivery (no 2xx within --webhook-timeout-ms) is tried again after
 * --webhook-retry-min-ms, doubled per failure up to --webhook-retry-max-ms,
 * and given up (recorded as failed) once the event is older than
 * --webhook-give-up-hours.  A delivery is recorded in the store after the
 * receiver's 2xx: an event is delivered again only if the daemon stopped
 * between the two, with the same id (receivers deduplicate on it).  With
 * several daemons on one store, one of them (leader election "webhooks")
 * delivers and scans.  See docs/notifications.md.
 *
 * Threads: new/start/stop/free are called by main only.
 *
 * Ownership: chand_webhooks_new returns an object freed with
 * chand_webhooks_free; the store and the configuration are borrowed and must
 * outlive it.
 */
#ifndef CHANREGD_WEBHOOK_H
#define CHANREGD_WEBHOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "chan/error.h"
#include "chan/store.h"

typedef struct chand_config chand_config;
typedef struct chand_webhooks chand_webhooks;

/**
 * Set up the notifications of a configuration validated by
 * chand_config_load.
 * @param[out] out the notifier; NULL without error when no --webhook is set
 * @return 0, CHAN_EINVALID (bad store URL for the leader election),
 *         CHAN_EINTERNAL (HTTP client set-up)
 */
int chand_webhooks_new(chand_webhooks **out, const chand_config *config, chan_store *store,
                       chan_error *err);

/** Start the thread.  NULL-safe.  @return 0 or CHAN_EINTERNAL */
int chand_webhooks_start(chand_webhooks *w, chan_error *err);

/**
 * Ask the thread to end (a delivery in progress is aborted) and wait at most
 * timeout_ms for it.  NULL-safe.
 * @return true when the thread has ended (or never ran); false when it is
 *         still inside a store call: the notifier and the store must then be
 *         left alone until the process exits
 */
bool chand_webhooks_stop(chand_webhooks *w, int64_t timeout_ms);

/** Free a stopped notifier.  NULL-safe. */
void chand_webhooks_free(chand_webhooks *w);

#endif
