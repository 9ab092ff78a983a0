/*
 * reconciler.h - chanregd's Kafka admission loop: turns the registered
 * consumers and producers of the stored contracts into Kafka ACLs.
 *
 * Each pass, on the reconciler's own thread:
 *   leader check (chan/leader.h: only one daemon per store reconciles)
 *   -> chan_store_channel_list + chan_store_tombstone_list -> chan_acl_desired
 *   -> chan_kafka_reconcile (describe, plan, apply; a dry run in plan mode)
 *   -> chan_store_acl_apply_record when an applied pass changed anything.
 * Passes repeat every --reconcile-interval seconds.  A failed pass (broker
 * unreachable or failing, store unavailable, leader election failing) is
 * retried after an exponential backoff with jitter, from
 * --reconcile-backoff-min-ms doubling up to --reconcile-backoff-max-ms,
 * reset by the next successful pass.  Passes are idempotent: a pass right
 * after a successful one sends no CreateAcls or DeleteAcls.  Deletes happen
 * only after a complete read of the broker's ACLs (see chan/kafka.h).
 *
 * The HTTP API (api_acl.c) reaches the same reconciler for a plan computed
 * on demand, a pass run on demand and the status of the last pass.
 *
 * Modes (--acl-mode): "off" runs no loop (plans can still be asked for),
 * "plan" runs the loop as dry runs (compute and expose, never change),
 * "apply" changes the broker's ACLs.
 *
 * Threads: every function may be called from any thread; passes (loop and
 * on demand) are serialized.  Shutdown: chand_reconciler_stop wakes the
 * loop, which ends after the step in progress (every broker call is bounded
 * by --kafka-timeout-ms).
 *
 * Ownership: chand_reconciler_new returns an object freed with
 * chand_reconciler_free; the store and the configuration are borrowed and
 * must outlive it.  json_t results through `out` belong to the caller.
 */
#ifndef CHANREGD_RECONCILER_H
#define CHANREGD_RECONCILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chan/error.h"
#include "chan/store.h"

#include "config.h"

typedef struct chand_reconciler chand_reconciler;

/** How chand_reconciler_topic_pass creates missing topics. */
typedef struct chand_topic_create {
    int32_t partitions;         /**< > 0 to create; 0: missing topics are only reported */
    int16_t replication_factor; /**< >= 1 */
} chand_topic_create;

/**
 * Create the reconciler of a configuration validated by chand_config_load
 * (its --acl-mode and librdkafka properties): the Kafka admin client (no
 * connection yet) and, unless the mode is off, the leader election.
 *
 * @param[out] out the reconciler; NULL without error when no
 *                 --kafka-bootstrap is configured (no Kafka work at all)
 * @return 0, CHAN_EINVALID (librdkafka refused the configuration: err says
 *         which FILE:LINE when it names a property), or the leader
 *         election's error
 */
int chand_reconciler_new(chand_reconciler **out, const chand_config *config, chan_store *store,
                         chan_error *err);

/**
 * Start the loop thread (does nothing in mode off).
 * @return 0 or CHAN_EINTERNAL (cannot create the thread)
 */
int chand_reconciler_start(chand_reconciler *r, chan_error *err);

/**
 * Ask the loop to end and wait at most timeout_ms for it.  NULL-safe.
 * @return true when the thread has ended (or never ran); false when it is
 *         still inside a step: the reconciler, and the store it uses, must
 *         then be left alone (not freed) until the process exits
 */
bool chand_reconciler_stop(chand_reconciler *r, int64_t timeout_ms);

/** Free a stopped reconciler (releases leadership).  NULL-safe. */
void chand_reconciler_free(chand_reconciler *r);

/** The configured mode. */
chand_acl_mode chand_reconciler_mode(const chand_reconciler *r);

/**
 * Compute the plan now against the broker, changing nothing (GET
 * /v1/acl/plan): the JSON of chan_acl_plan_render_json plus "actual_state"
 * ("known" or "unknown"), "error" (the broker's error when the read failed,
 * else null), "text" (chan_acl_plan_render_text), "mode" and "channels".
 *
 * @param[out] out the document (caller decrefs)
 * @return 0 (also when the broker read failed: see actual_state), or the
 *         error of the store or of chan_acl_desired (no plan)
 */
int chand_reconciler_plan(chand_reconciler *r, json_t **out, chan_error *err);

/**
 * Run one pass now (POST /v1/acl/apply), in apply mode and as the leader
 * only.  The pass counts as the last pass of the loop.  When it creates,
 * deletes or fails to change a binding, it is recorded under `actor` (the
 * requester; loop passes use "reconciler"): audit entry "acl.apply" and the
 * applied state of GET /v1/acl/applied (chan_store_acl_apply_record).  A
 * pass that changes nothing is not recorded.
 *
 * @param[out] out the per-binding report of chan_kafka_report_render_json
 *             with "ok", "actual_state", "error" and "pass" (see status)
 *             added; NULL when the pass did not run
 * @return 0 (the pass ran and succeeded), the broker's or store's error
 *         (the pass ran and failed: *out describes it), or CHAN_ECONFLICT
 *         (not run: mode is not apply, or this daemon is not the leader)
 */
int chand_reconciler_apply(chand_reconciler *r, const char *actor, json_t **out, chan_error *err);

/**
 * The status for GET /v1/acl/status: mode, leader, interval, backoff
 * state, totals, and "last_pass" (null before the first pass) with its
 * time, trigger, ok, error, actual_state and counts.
 * @return a new object (caller decrefs)
 */
json_t *chand_reconciler_status(chand_reconciler *r);

/**
 * Topic discovery for GET /v1/topics: the cluster's topics (read now when
 * refresh is true or no read was made yet, else the last read, which every
 * loop pass repeats) against the stored channels and the
 * --topic-include/--topic-exclude patterns: {"state": "known"|"unknown",
 * "error", "read_at", "include", "exclude", "topics" (in scope), "channels",
 * "managed", "unmanaged", "excluded"} (names sorted).  An unknown state has
 * empty lists: nothing is judged on a failed read.
 * @param[out] out the document (caller decrefs)
 * @return 0 (also when the broker read failed), or the store's error
 */
int chand_reconciler_topics(chand_reconciler *r, json_t **out, bool refresh, chan_error *err);

/**
 * Topic configs (GET /v1/topics/plan, POST /v1/topics/apply, and each loop
 * pass of the leader in --topic-mode plan/apply): read the channels, the
 * cluster's topics and the configs of the managed ones, compute the plan
 * (chan_topic_plan_compute) and, with apply, send each topic's full set of
 * dynamic configs (chan_kafka_alter_topic_configs), one AlterConfigs per
 * topic, each audited ("topic.config.apply", actor).  A dry run computes
 * the same plan and sends nothing ("would_apply").  A topic with a
 * sensitive dynamic config is "refused", never altered.  With create (its
 * partitions > 0), an apply also creates the missing topics of the plan
 * with the contract's retention.ms ("created", "would_create"), each
 * audited ("topic.create"); without it they are only reported.
 * @param[out] out {"plan", "apply", "dry_run", "applied", "failed",
 *             "refused", "results": [{"topic","configs","status","message"}]};
 *             NULL when no plan was made
 * @return 0; the read's error (no plan: nothing sent); or the first
 *         alter's error (*out says which)
 */
int chand_reconciler_topic_pass(chand_reconciler *r, bool apply, bool dry_run,
                                const chand_topic_create *create, const char *actor, json_t **out,
                                chan_error *err);

#endif
