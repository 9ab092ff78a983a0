/*
 * kafka.h - the registry's Kafka admin client: read, create and delete ACL
 * bindings on a cluster and apply a chan_acl_plan, through librdkafka's
 * Admin API.  This is the only module that includes rdkafka.h.
 *
 * Every request waits at most the configured timeout (a describe of many
 * resources runs up to 32 requests at once).  Errors are mapped to:
 *  - CHAN_EUNAVAILABLE: no broker reachable, the controller unknown, a
 *    request timed out (the broker's state is then unknown);
 *  - CHAN_EDENIED: the cluster refused the client (authentication or
 *    authorization failure);
 *  - CHAN_EINVALID: bad configuration, or a request the broker called invalid;
 *  - CHAN_EINTERNAL: any other broker error, with the broker's message.
 *
 * A chan_kafka may be used from several threads at once: every call has its
 * own result queue.
 *
 * Ownership: objects returned through `out` belong to the caller and are
 * freed with the matching _free function; getters return borrowed pointers
 * valid until the owning object is freed.  Inputs are borrowed.
 */
#ifndef CHAN_KAFKA_H
#define CHAN_KAFKA_H

#include <stdbool.h>
#include <stddef.h>

#include "chan/acl.h"
#include "chan/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chan_kafka chan_kafka;

/** How chan_kafka_describe_acls asks for a scope's bindings. */
typedef enum chan_kafka_describe_mode {
    /** One filter per managed resource up to 64 resources, one broad filter beyond. */
    CHAN_KAFKA_DESCRIBE_AUTO = 0,
    /** One DescribeAcls per managed topic and group (MATCH: literal, "*", prefixes). */
    CHAN_KAFKA_DESCRIBE_PER_RESOURCE,
    /** One DescribeAcls matching every binding of the cluster. */
    CHAN_KAFKA_DESCRIBE_BROAD,
} chan_kafka_describe_mode;

typedef struct chan_kafka_options {
    unsigned int version;          /**< CHAN_KAFKA_OPTIONS_VERSION */
    const char *bootstrap_servers; /**< "host:port,..."; required */
    /**
     * Extra librdkafka properties as n_config key/value pairs
     * (config[2*i] = key, config[2*i+1] = value), e.g. "security.protocol",
     * "sasl.mechanism", "sasl.username", "ssl.ca.location".
     */
    const char *const *config;
    size_t n_config;
    int timeout_ms;        /**< per call; 0: 10000 */
    const char *client_id; /**< NULL: "chanreg" */
    chan_kafka_describe_mode describe_mode;
} chan_kafka_options;

#define CHAN_KAFKA_OPTIONS_VERSION 1
#define CHAN_KAFKA_OPTIONS_INIT                                                                    \
    {                                                                                              \
        CHAN_KAFKA_OPTIONS_VERSION, NULL, NULL, 0, 0, NULL, CHAN_KAFKA_DESCRIBE_AUTO               \
    }

/**
 * Create an admin client.  No connection is made yet (librdkafka connects
 * in the background); use chan_kafka_ping to check reachability.
 *
 * @param[out] out the client (free with chan_kafka_free), NULL on failure
 * @return 0 or CHAN_EINVALID (missing bootstrap servers, an unknown or
 *         invalid librdkafka property: err names it)
 */
int chan_kafka_open(chan_kafka **out, const chan_kafka_options *opts, chan_error *err);

/** Close the client; requests still in flight are abandoned.  NULL-safe. */
void chan_kafka_free(chan_kafka *k);

/**
 * Ask the cluster for its brokers and controller.
 * @return 0 or CHAN_EUNAVAILABLE (nothing answered in time), CHAN_EDENIED
 */
int chan_kafka_ping(chan_kafka *k, chan_error *err);

/**
 * Read the cluster's ACL bindings.
 *
 * With a scope, every binding that applies to its topics and groups is
 * returned: LITERAL ones on the name, the LITERAL "*" and PREFIXED ones that
 * cover it (the describe mode decides how it is asked; in broad mode all
 * other bindings come too).  The planner acts only on the scope's LITERAL
 * ALLOW bindings and reports the others that grant access as bypasses.
 * Without a scope (NULL), every binding of the cluster.  Bindings of resource types
 * this librdkafka cannot represent are left out.
 *
 * The result is all-or-nothing: if any request fails, *out is NULL and the
 * caller must treat the actual state as unknown (CHAN_ACL_ACTUAL_UNKNOWN).
 *
 * @param[out] out the bindings (caller frees with chan_acl_set_free)
 * @return 0, CHAN_EUNAVAILABLE, CHAN_EDENIED or CHAN_EINTERNAL
 */
int chan_kafka_describe_acls(chan_acl_set **out, chan_kafka *k, const chan_acl_scope *scope,
                             chan_error *err);

/* ------------------------------------------------------------------ */
/* Changes and their reports                                           */
/* ------------------------------------------------------------------ */

typedef enum chan_kafka_action {
    CHAN_KAFKA_ACTION_CREATE = 0,
    CHAN_KAFKA_ACTION_DELETE = 1,
} chan_kafka_action;

/** The outcome of one binding of a create or delete. */
typedef struct chan_kafka_result {
    chan_kafka_action action;
    chan_acl_binding binding; /**< strings owned by the report */
    int status;               /**< 0 or a CHAN_E* code */
    const char *message;      /**< the broker's or client's message, NULL on success */
    bool skipped;             /**< not attempted (status is then CHAN_ECONFLICT) */
    size_t deleted;           /**< deletes: bindings the broker removed (0: already gone) */
} chan_kafka_result;

/** Per-binding results of chan_kafka_create_acls / _delete_acls / _apply / _reconcile. */
typedef struct chan_kafka_report chan_kafka_report;

void chan_kafka_report_free(chan_kafka_report *report);
size_t chan_kafka_report_count(const chan_kafka_report *report);
/** Result i in execution order (creates first), or NULL when out of range. */
const chan_kafka_result *chan_kafka_report_get(const chan_kafka_report *report, size_t i);
/** Successful creates, successful deletes that removed a binding, failures, skips. */
size_t chan_kafka_report_created(const chan_kafka_report *report);
size_t chan_kafka_report_deleted(const chan_kafka_report *report);
size_t chan_kafka_report_failed(const chan_kafka_report *report);
size_t chan_kafka_report_skipped(const chan_kafka_report *report);
/** The plan that chan_kafka_reconcile executed (borrowed), NULL for other reports. */
const chan_acl_plan *chan_kafka_report_plan(const chan_kafka_report *report);
/**
 * Render as JSON: {"created":N,"deleted":N,"failed":N,"skipped":N,
 * "results":[{"action":"create","binding":{...},"status":"ok"|code name,
 * "message":...,"deleted":N}...]} (plus "plan" for reconcile reports).
 * @param[out] out the JSON text, caller frees
 */
void chan_kafka_report_render_json(char **out, const chan_kafka_report *report);

/**
 * Create bindings (CreateAcls, one request).  Creating a binding that exists
 * succeeds without change.
 *
 * @param[out] out per-binding results (caller frees); set whenever the call
 *             got as far as sending, NULL only for CHAN_EINVALID input
 * @return 0 when every binding was created, else the code of the first
 *         failure (CHAN_EUNAVAILABLE when the request itself failed)
 */
int chan_kafka_create_acls(chan_kafka_report **out, chan_kafka *k, const chan_acl_set *acls,
                           chan_error *err);

/**
 * Delete bindings (DeleteAcls with one exact-match filter per binding: the
 * same resource type, name, pattern type, principal, host, operation and
 * permission, so nothing else can match).
 *
 * @param[out] out per-binding results, as for chan_kafka_create_acls
 * @return as for chan_kafka_create_acls
 */
int chan_kafka_delete_acls(chan_kafka_report **out, chan_kafka *k, const chan_acl_set *acls,
                           chan_error *err);

/**
 * Execute a plan: creates first, then deletes.  Deletes are not attempted
 * (reported as skipped) when the plan refused them or when any create
 * failed, so that a consumer is never left without access because its new
 * binding could not be written.  An empty plan sends nothing.
 *
 * @param[out] out per-binding results (caller frees)
 * @return 0 when everything attempted succeeded, else the first failure's code
 */
int chan_kafka_apply(chan_kafka_report **out, chan_kafka *k, const chan_acl_plan *plan,
                     chan_error *err);

/**
 * One reconciliation pass: describe the scope, plan against desired
 * (CHAN_ACL_ACTUAL_UNKNOWN when the describe failed, so nothing is deleted),
 * and apply unless dry_run.  Running it again right after a successful run
 * sends no create or delete request.
 *
 * @param[out] out the report with the plan (chan_kafka_report_plan); set
 *             whenever a plan was made
 * @return 0, the describe error when the read failed (the creates of the
 *         plan are still attempted unless dry_run), or the apply error
 */
int chan_kafka_reconcile(chan_kafka_report **out, chan_kafka *k, const chan_acl_set *desired,
                         const chan_acl_scope *scope, bool dry_run, chan_error *err);

#ifdef __cplusplus
}
#endif
#endif
