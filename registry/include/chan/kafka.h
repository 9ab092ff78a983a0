/*
 * kafka.h - the registry's Kafka admin client: read, create and delete ACL
 * bindings on a cluster and apply a chan_acl_plan, through librdkafka's
 * Admin API.  This is the only module that includes rdkafka.h.
 *
 * It also holds the producer check (see docs/producer-check.md): a pure
 * classifier of messages against a channel's contract (the
 * x-channel-contract-version header and the Confluent wire-format schema
 * id) and a sampling consumer that applies it to the managed topics; and
 * the reading and checking of librdkafka properties files.  Both clients
 * are configured the same way (the caller's properties applied last) and
 * send librdkafka's log lines to chan_log.
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
#include <stdint.h>

#include "chan/acl.h"
#include "chan/error.h"
#include "chan/policy.h"

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

/** One topic of the cluster, as chan_kafka_list_topics reads it. */
typedef struct chan_kafka_topic {
    char *name;
    int32_t partitions;
    bool internal; /**< the name starts with "__", as Kafka's internal topics do */
} chan_kafka_topic;

/**
 * Read every topic of the cluster (a Metadata request for all topics).
 * The read is all-or-nothing: when the broker reports an error for any
 * topic (an authorization failure, a topic being created), *out is NULL and
 * the caller must treat the topic list as unknown.
 *
 * @param[out] out the topics sorted by name (free with chan_kafka_topic_list_free)
 * @param[out] out_n their number
 * @return 0, CHAN_EUNAVAILABLE (nothing answered in time), CHAN_EDENIED
 *         (the cluster refused the client or a topic), CHAN_EINTERNAL
 */
int chan_kafka_list_topics(chan_kafka_topic **out, size_t *out_n, chan_kafka *k, chan_error *err);

/** Free n topics of chan_kafka_list_topics and the array.  NULL-safe. */
void chan_kafka_topic_list_free(chan_kafka_topic *topics, size_t n);

/**
 * Read the configs of topics (one DescribeConfigs request).  All-or-nothing:
 * when the request or any topic fails, *out is NULL and the caller must not
 * act (no plan, no alter).
 *
 * @param[out] out one entry per topic, in the order given (free with
 *                 chan_topic_config_list_free)
 * @return 0, CHAN_EUNAVAILABLE, CHAN_EDENIED, CHAN_ENOTFOUND (a topic does
 *         not exist), CHAN_EINTERNAL
 */
int chan_kafka_describe_topic_configs(chan_topic_config **out, chan_kafka *k,
                                      const char *const *topics, size_t n, chan_error *err);

/**
 * Set the dynamic configs of one topic to exactly the given set (one
 * AlterConfigs request).  Kafka replaces every dynamic config of the topic:
 * a config left out is reset to its default, so send the full set
 * (chan_topic_alter.pairs).
 *
 * @param pairs n_pairs key/value pairs
 * @return 0, CHAN_EUNAVAILABLE (no answer: the topic's state is unknown),
 *         CHAN_EDENIED, CHAN_EINVALID (the broker refused a config),
 *         CHAN_ENOTFOUND, CHAN_EINTERNAL
 */
int chan_kafka_alter_topic_configs(chan_kafka *k, const char *topic, const char *const *pairs,
                                   size_t n_pairs, chan_error *err);

/**
 * Create one topic (one CreateTopics request) with the given partitions,
 * replication factor and configs (n_pairs key/value pairs).
 * @return 0, CHAN_EEXISTS (the topic exists), CHAN_EUNAVAILABLE (no answer:
 *         whether it was created is unknown), CHAN_EDENIED, CHAN_EINVALID
 *         (partitions, replication factor or a config refused), CHAN_EINTERNAL
 */
int chan_kafka_create_topic(chan_kafka *k, const char *topic, int32_t partitions,
                            int16_t replication_factor, const char *const *pairs, size_t n_pairs,
                            chan_error *err);

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
/* Properties files                                                    */
/* ------------------------------------------------------------------ */

/** librdkafka properties read from a file, for the `config` pairs of the options. */
typedef struct chan_kafka_properties {
    char **pairs; /**< n key/value pairs: pairs[2*i] = key, pairs[2*i+1] = value */
    int *lines;   /**< line of pair i in the file */
    size_t n;
    char *path; /**< the file read, NULL when empty */
} chan_kafka_properties;

#define CHAN_KAFKA_PROPERTIES_INIT                                                                 \
    {                                                                                              \
        NULL, NULL, 0, NULL                                                                        \
    }

/**
 * Read a properties file: "key=value" lines, blanks around key and value
 * ignored, blank lines and lines starting with '#' or '!' skipped.
 * "bootstrap.servers" (and its alias "metadata.broker.list") is refused: the
 * bootstrap servers are an option of their own.  Values are not checked
 * (see chan_kafka_properties_check).
 *
 * @param[out] out the pairs (release with chan_kafka_properties_dispose);
 *                 left empty on failure
 * @return 0, CHAN_EINVALID ("FILE:LINE: ..." for a bad line),
 *         CHAN_ENOTFOUND / CHAN_EIO / CHAN_ETOOBIG (cannot read, 1 MiB at most)
 */
int chan_kafka_properties_load(chan_kafka_properties *out, const char *path, chan_error *err);

/**
 * Check every property name and value as librdkafka does when a client is
 * configured, without creating a client or connecting anywhere.
 *
 * @return 0 or CHAN_EINVALID ("FILE:LINE: kafka: property KEY: ..." for the
 *         first property librdkafka refuses)
 */
int chan_kafka_properties_check(const chan_kafka_properties *props, chan_error *err);

/** Free the pairs.  NULL-safe; leaves p empty. */
void chan_kafka_properties_dispose(chan_kafka_properties *p);

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

/* ------------------------------------------------------------------ */
/* Producer check: classify sampled messages against the contract      */
/* ------------------------------------------------------------------ */

/** The header in which producers name the contract's schema version they produce with. */
#define CHAN_KAFKA_VERSION_HEADER "x-channel-contract-version"

/** Magic byte and length of the Confluent wire format prefix (0, then a big-endian id). */
#define CHAN_KAFKA_WIRE_MAGIC      0
#define CHAN_KAFKA_WIRE_PREFIX_LEN 5

/**
 * What chan_kafka_classify_message found.  A message gets one verdict: the
 * first check that fails, in the order of this enum.
 */
typedef enum chan_kafka_verdict {
    CHAN_KAFKA_VERDICT_OK = 0,              /**< version and schema id agree with the contract */
    CHAN_KAFKA_VERDICT_TOMBSTONE,           /**< NULL value: not checked, not a mismatch */
    CHAN_KAFKA_VERDICT_MISSING_HEADER,      /**< no x-channel-contract-version header */
    CHAN_KAFKA_VERDICT_BAD_HEADER,          /**< neither a schema nor a contract version */
    CHAN_KAFKA_VERDICT_UNKNOWN_VERSION,     /**< a version the contract does not accept */
    CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT,     /**< shorter than 5 bytes or no magic byte 0 */
    CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID,   /**< the id is none of the contract's versions' ids */
    CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH, /**< the id is another version's */
} chan_kafka_verdict;

/** Number of verdicts (for per-verdict counters). */
#define CHAN_KAFKA_VERDICT_COUNT ((int)CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH + 1)

/** One version of a channel's contract and its registered schema id. */
typedef struct chan_kafka_contract_version {
    int version;       /**< the subject's version number, >= 1 */
    int64_t schema_id; /**< the global schema id registered for it */
} chan_kafka_contract_version;

/** What producers of one channel may send.  All pointers are borrowed. */
typedef struct chan_kafka_contract {
    const char *channel; /**< the topic */
    const chan_kafka_contract_version *versions;
    size_t n_versions;
    /** The contract's `version` field is set: headers "vMAJOR.MINOR.PATCH" may name it. */
    bool has_contract_version;
    chan_semver contract_version; /**< the contract's `version` */
} chan_kafka_contract;

/** The parts of one message the check reads.  All pointers are borrowed. */
typedef struct chan_kafka_message_view {
    bool has_version_header;    /**< the header is present (the last one counts) */
    const void *version_header; /**< its value; NULL for a header with a null value */
    size_t version_header_len;
    const void *value; /**< NULL: a tombstone */
    size_t value_len;
} chan_kafka_message_view;

/**
 * Check one message against a contract.  Pure: no I/O, no allocation, any
 * bytes are accepted.
 *
 * The header is read by chan_policy_version_header_parse; neither of its
 * two forms is BAD_HEADER.
 *
 *  - A schema version ("3", "03"; not "0", "-1", " 3", "3 ", "+3", "3.0")
 *    that is no version of the contract (however large) is
 *    UNKNOWN_VERSION.  The message is OK when the value's schema id is the
 *    one registered for that version; when the id belongs to another of the
 *    contract's versions it is VERSION_ID_MISMATCH, else UNKNOWN_SCHEMA_ID.
 *  - A contract version ("v3.2.1") that the contract does not accept
 *    (chan_policy_contract_version_accepts: another major version, newer
 *    than the contract, or a contract without a version) is
 *    UNKNOWN_VERSION.  An accepted contract version allows every schema
 *    version of the contract: the message is OK when its schema id is one
 *    of theirs, else UNKNOWN_SCHEMA_ID.
 *
 * In both cases the value must start with the magic byte 0 and a 4-byte
 * big-endian schema id (a 5-byte value is an empty Avro body and passes).
 *
 * @param[out] out_version   the header's schema version, or -1 when missing,
 *                           a contract version or invalid (saturated at
 *                           INT64_MAX); may be NULL
 * @param[out] out_schema_id the value's schema id, or -1 when it has none;
 *                           may be NULL
 * @return the verdict
 */
chan_kafka_verdict chan_kafka_classify_message(int64_t *out_version, int64_t *out_schema_id,
                                               const chan_kafka_contract *contract,
                                               const chan_kafka_message_view *msg);

/** "ok", "tombstone", "missing_header", "bad_header", ... (static string). */
const char *chan_kafka_verdict_name(chan_kafka_verdict verdict);

/** True for the verdicts that count as a contract mismatch (all but OK and TOMBSTONE). */
bool chan_kafka_verdict_is_mismatch(chan_kafka_verdict verdict);

struct rd_kafka_headers_s; /* rd_kafka_headers_t of rdkafka.h */

/**
 * For producers: set the x-channel-contract-version header of a message to
 * the contract version they were built against, "v" + MAJOR.MINOR.PATCH.
 * Every earlier header of that name is removed first, so the header is set
 * exactly once.  Use it on the headers of a message before producing it:
 *
 *     rd_kafka_headers_t *h = rd_kafka_headers_new(1);
 *     chan_kafka_stamp_contract_version(h, "3.2.1", &err);
 *     rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_HEADERS(h), ...);
 *
 * @param headers the message's headers (rd_kafka_headers_t *), borrowed
 * @param contract_version the contract's `version`, with or without a leading "v"
 * @return 0, or CHAN_EINVALID (not a contract version; the headers are unchanged)
 */
int chan_kafka_stamp_contract_version(struct rd_kafka_headers_s *headers,
                                      const char *contract_version, chan_error *err);

/* ------------------------------------------------------------------ */
/* Producer check: the sampler                                         */
/* ------------------------------------------------------------------ */

/**
 * A consumer that reads the managed topics from their end and checks a
 * sample of the messages.  It never joins a consumer group and never commits
 * an offset: partitions are assigned directly (assign, not subscribe) at
 * their current end offset, so real consumers are not disturbed and a
 * restart starts again at the end.
 *
 * One thread drives a sampler (set_contracts and poll are not thread-safe);
 * chan_kafka_sampler_stats may be read from any thread.
 */
typedef struct chan_kafka_sampler chan_kafka_sampler;

typedef struct chan_kafka_sampler_options {
    unsigned int version;          /**< CHAN_KAFKA_SAMPLER_OPTIONS_VERSION */
    const char *bootstrap_servers; /**< "host:port,..."; required */
    /** Extra librdkafka properties, as for chan_kafka_options. */
    const char *const *config;
    size_t n_config;
    const char *group_id;            /**< NULL: "chanreg-sampler" (never joined, never committed) */
    const char *client_id;           /**< NULL: "chanreg-sampler" */
    unsigned int sample_every;       /**< check 1 message of N; 0: 100; 1 checks every one */
    unsigned int max_messages_per_s; /**< messages read per second at most; 0: 1000 */
    int timeout_ms;                  /**< metadata and offset requests; 0: 10000 */
} chan_kafka_sampler_options;

#define CHAN_KAFKA_SAMPLER_OPTIONS_VERSION 1
#define CHAN_KAFKA_SAMPLER_OPTIONS_INIT                                                            \
    {                                                                                              \
        CHAN_KAFKA_SAMPLER_OPTIONS_VERSION, NULL, NULL, 0, NULL, NULL, 0, 0, 0                     \
    }

/** One checked message that is outside its channel's contract. */
typedef struct chan_kafka_mismatch {
    const char *channel; /**< the topic (borrowed for the callback's duration) */
    chan_kafka_verdict verdict;
    int32_t partition;
    int64_t offset;
    int64_t version;   /**< the header's version, -1 when none */
    int64_t schema_id; /**< the value's schema id, -1 when none */
} chan_kafka_mismatch;

/** Called by chan_kafka_sampler_poll once per mismatch, on the polling thread. */
typedef void (*chan_kafka_mismatch_fn)(void *ctx, const chan_kafka_mismatch *mismatch);

/** Counters since the sampler was opened. */
typedef struct chan_kafka_sampler_stats {
    uint64_t read;    /**< messages read from the managed topics */
    uint64_t checked; /**< messages sampled and classified (tombstones included) */
    uint64_t by_verdict[CHAN_KAFKA_VERDICT_COUNT]; /**< checked messages per verdict */
    size_t topics;                                 /**< managed topics currently assigned */
    size_t partitions;                             /**< partitions currently assigned */
} chan_kafka_sampler_stats;

/**
 * Create the sampler's consumer.  Nothing is assigned until
 * chan_kafka_sampler_set_contracts.
 *
 * @param[out] out the sampler (free with chan_kafka_sampler_free), NULL on failure
 * @return 0 or CHAN_EINVALID (missing bootstrap servers, bad option or
 *         librdkafka property: err names it)
 */
int chan_kafka_sampler_open(chan_kafka_sampler **out, const chan_kafka_sampler_options *opts,
                            chan_error *err);

/**
 * Close the consumer (no offsets are committed) and free the sampler.
 * Waits at most about the configured timeout.  NULL-safe.
 */
void chan_kafka_sampler_free(chan_kafka_sampler *sampler);

/**
 * Replace the contracts (copied) and bring the assignment up to date: the
 * partitions of topics that left are unassigned; partitions of new topics,
 * and new partitions of known topics, are assigned at their end offset, so
 * that every message produced after this call returns is read.  Topics that
 * do not exist on the cluster yet are skipped and looked for again on the
 * next call; call it periodically even when the contracts did not change.
 *
 * @return 0, or CHAN_EUNAVAILABLE when the cluster's metadata could not be
 *         read (the contracts are still replaced, the assignment is kept),
 *         CHAN_EINVALID for a contract without a channel name
 */
int chan_kafka_sampler_set_contracts(chan_kafka_sampler *sampler,
                                     const chan_kafka_contract *contracts, size_t n,
                                     chan_error *err);

/**
 * Read messages for timeout_ms (less when nothing more arrives), check 1 in
 * sample_every of the messages of managed topics, and call cb for each
 * mismatch.  At most max_messages_per_s messages are read per second: when
 * the current second's budget is spent the call waits for the next second,
 * or until timeout_ms is over, without reading.  Messages of topics without
 * a contract are dropped (they count against the budget).
 *
 * @param[out] out_read messages read during the call; may be NULL
 * @return 0 (errors of individual partitions are logged, not returned)
 */
int chan_kafka_sampler_poll(size_t *out_read, chan_kafka_sampler *sampler, int timeout_ms,
                            chan_kafka_mismatch_fn cb, void *ctx, chan_error *err);

/** Copy the counters into out (thread-safe). */
void chan_kafka_sampler_stats_get(chan_kafka_sampler_stats *out, chan_kafka_sampler *sampler);

#ifdef __cplusplus
}
#endif
#endif
