/*
 * producer_check.h - chanregd's producer check (--producer-check): on its own
 * thread, a sampling consumer (chan_kafka_sampler of chan/kafka.h) reads the
 * topics of the stored channels from their end and checks 1 message in
 * --producer-check-sample against the channel's contract: the
 * x-channel-contract-version header must name one of the contract's schema
 * versions and the Confluent wire-format schema id must be the one
 * registered for that version.  Every mismatch increments
 * producer_schema_version_mismatch_count{channel} (daemon_metrics.h) and is
 * logged, at most one line per reason per minute.  See
 * docs/producer-check.md.
 *
 * The channel -> (version, schema id) map is read from the store every
 * --producer-check-interval seconds (chan_store_channel_list, then
 * chan_store_version_get for each version the contract lists), and the
 * consumer's topics follow it.
 *
 * Threads: new/start/stop/free are called by main only.  Shutdown:
 * chand_producer_check_stop asks the thread to end; it ends after the step in
 * progress (every Kafka call is bounded by --kafka-timeout-ms) and closes the
 * consumer without committing anything.
 *
 * Ownership: chand_producer_check_new returns an object freed with
 * chand_producer_check_free; the store and the configuration are borrowed and
 * must outlive it.
 */
#ifndef CHANREGD_PRODUCER_CHECK_H
#define CHANREGD_PRODUCER_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "chan/error.h"
#include "chan/store.h"

typedef struct chand_config chand_config;
typedef struct chand_producer_check chand_producer_check;

/**
 * Create the producer check of a configuration validated by
 * chand_config_load (its librdkafka properties are used as they are): the
 * sampler's consumer, with no connection yet.
 *
 * @param[out] out the check; NULL without error when --producer-check is off
 * @return 0 or CHAN_EINVALID (no --kafka-bootstrap, librdkafka refused the
 *         configuration)
 */
int chand_producer_check_new(chand_producer_check **out, const chand_config *config,
                             chan_store *store, chan_error *err);

/**
 * Start the thread.  NULL-safe (does nothing).
 * @return 0 or CHAN_EINTERNAL (cannot create the thread)
 */
int chand_producer_check_start(chand_producer_check *pc, chan_error *err);

/**
 * Ask the thread to end and wait at most timeout_ms for it.  NULL-safe.
 * @return true when the thread has ended (or never ran); false when it is
 *         still inside a step: the check, and the store it uses, must then
 *         be left alone (not freed) until the process exits
 */
bool chand_producer_check_stop(chand_producer_check *pc, int64_t timeout_ms);

/** Free a stopped check.  NULL-safe. */
void chand_producer_check_free(chand_producer_check *pc);

#endif
