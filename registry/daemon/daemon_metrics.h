/*
 * daemon_metrics.h - the metrics of chanregd, served at GET /metrics.
 *
 * One process-wide chan_metrics registry (chan/metrics.h) owned by
 * daemon_metrics.c.  Other daemon code reports events through the functions
 * below, which are thread-safe and do nothing before
 * chand_metrics_init (so API modules also work without metrics, e.g.
 * in tests); chand_metrics_render recomputes the gauges that come from
 * the store and renders everything in the Prometheus text format.  The
 * metrics and their exact definitions are documented in docs/metrics.md.
 *
 * Ownership: the registry lives from chand_metrics_init to
 * chand_metrics_shutdown; strings passed in are copied.
 */
#ifndef CHANREGD_DAEMON_METRICS_H
#define CHANREGD_DAEMON_METRICS_H

#include <stdbool.h>

#include "chan/common.h"
#include "chan/error.h"
#include "chan/store.h"

typedef struct chand_config chand_config;

/**
 * Create the registry and define every metric family.  Call once at start-up
 * before the HTTP server starts.
 * @return 0 or CHAN_EINVALID (a bad metric definition: a programming error)
 */
int chand_metrics_init(chan_error *err);

/** Free the registry.  Call after the HTTP server has stopped. */
void chand_metrics_shutdown(void);

/**
 * The server's per-request observer (chand_request_observer of server.h):
 * counts chanreg_http_requests_total and observes
 * chanreg_http_request_duration_seconds.  ctx is unused.  The request is
 * kept in a batch of the calling thread and reaches the registry with the
 * batch or at the next chand_metrics_render, whichever comes first; route
 * is kept until then, so it must live as long as the process (a route
 * pattern of the static route tables, or a string literal).
 */
void chand_metrics_observe_request(void *ctx, const char *method, const char *route,
                                   unsigned int status, double duration_ms);

/**
 * One production registration on subject that reached the compatibility
 * check: the version was created (compatible) or refused as incompatible.
 * Counted in channel_schema_registrations_total; the registration also
 * drops the subject's cached figures.
 */
void chand_metrics_schema_outcome(const char *subject, bool compatible);

/**
 * One compatibility check asked through POST /compatibility/... (what CI
 * runs), with its answer: channel_schema_compatibility_checks_total.  It
 * changes nothing stored, so the compatibility rate does not move.
 */
void chand_metrics_schema_check(const char *subject, bool compatible);

/**
 * A version of subject was deleted or its compatibility level changed: forget
 * what is cached about it.  NULL: the global level changed, forget the cached
 * version-chain figures of every subject.
 */
void chand_metrics_subject_changed(const char *subject);

/** One pass of the Kafka reconciler ended; ok is false when it failed. */
void chand_metrics_reconcile_run(bool ok);

/** A webhook delivery attempt ended: "delivered", "retry" or "failed". */
void chand_metrics_webhook_delivery(const char *result);

/** Requests in flight as the server counts them, set by each scrape before rendering. */
void chand_metrics_requests_in_flight(unsigned int n);

/**
 * The reply cache's counters since start-up (totals, not increments) and
 * what it holds now, for the next scrape.
 */
void chand_metrics_reply_cache(uint64_t hits, uint64_t misses, size_t bytes, size_t entries);

/**
 * The last read of the cluster's topic list (topic discovery): known with
 * the names (copied), or unknown when the read failed (then the unmanaged
 * topics and the ACL coverage are not rendered: nothing is judged on a
 * failed read).
 */
void chand_metrics_topics(bool known, const char *const *topics, size_t n);

/**
 * The ACL coverage of the last reconciler pass (chan_acl_plan_coverage):
 * known only when the pass read the broker's ACLs completely.
 */
void chand_metrics_acl_coverage(bool known, size_t covered, size_t principals);

/** The producer sampler saw a message of channel outside its contract. */
void chand_metrics_producer_mismatch(const char *channel);

/**
 * Recompute the gauges that come from the store (channels, consumers,
 * registration ages, schema versions, compatibility rates) and append the
 * whole registry in Prometheus text format to out.  Reads one channel list
 * (with consumers and producers) and the subject list per call; per-subject
 * figures are cached (see daemon_metrics.c).
 *
 * @return 0, CHAN_EUNAVAILABLE (store) or CHAN_EINTERNAL (not initialised)
 */
int chand_metrics_render(chan_buf *out, chan_store *store, const chand_config *config,
                         chan_error *err);

#endif
