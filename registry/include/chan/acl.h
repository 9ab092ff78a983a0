/*
 * acl.h - Kafka admission: the ACL bindings that registered consumers and
 * producers need, the plan that turns the broker's ACLs into them, and
 * exports of the same state for Strimzi and the Kafka command-line tools.
 *
 * The module is pure: it reads channel records (chan/model.h) and ACL sets
 * and writes plans and text; it never talks to a broker (chan/kafka.h does).
 *
 * The rule it implements is "only registered consumers get in":
 *  - each approved consumer of a live channel (chan_policy_consumer_grants,
 *    chan/policy.h) gets READ and DESCRIBE on the channel's topic and READ on
 *    its consumer group; pending and rejected consumers get nothing;
 *  - each registered producer of a live channel gets WRITE and DESCRIBE on
 *    the topic;
 *  - a channel retired on the "as of" date (chan_policy_channel_retired: its
 *    retirement date, else its deprecation date) has no desired bindings,
 *    so the plan removes them;
 *  - every binding is an ALLOW, LITERAL, host "*" binding.
 *
 * The plan touches only the managed scope: LITERAL ALLOW bindings on the
 * topics of the given channels (retired ones included) and on the consumer
 * groups of their consumers.  Everything else (other topics, PREFIXED or
 * wildcard patterns, DENY bindings, CLUSTER and TRANSACTIONAL_ID resources)
 * is left alone.
 *
 * Ownership: objects returned through `out` belong to the caller, who frees
 * them with the matching _free function; strings returned through `out`
 * are freed with free().  Pointers returned by getters are borrowed and valid
 * until the owning object is changed or freed.  Inputs are borrowed.
 */
#ifndef CHAN_ACL_H
#define CHAN_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chan/error.h"
#include "chan/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Resource types (the subset of Kafka's that the registry meets). */
typedef enum chan_acl_resource_type {
    CHAN_ACL_RESOURCE_UNKNOWN = 0,
    CHAN_ACL_RESOURCE_TOPIC,
    CHAN_ACL_RESOURCE_GROUP,
    CHAN_ACL_RESOURCE_CLUSTER,
    CHAN_ACL_RESOURCE_TRANSACTIONAL_ID,
    CHAN_ACL_RESOURCE_DELEGATION_TOKEN,
} chan_acl_resource_type;

/** Resource pattern types.  The registry writes LITERAL only. */
typedef enum chan_acl_pattern_type {
    CHAN_ACL_PATTERN_UNKNOWN = 0,
    CHAN_ACL_PATTERN_LITERAL,
    CHAN_ACL_PATTERN_PREFIXED,
} chan_acl_pattern_type;

/** Operations, in Kafka's order. */
typedef enum chan_acl_operation {
    CHAN_ACL_OP_UNKNOWN = 0,
    CHAN_ACL_OP_ALL,
    CHAN_ACL_OP_READ,
    CHAN_ACL_OP_WRITE,
    CHAN_ACL_OP_CREATE,
    CHAN_ACL_OP_DELETE,
    CHAN_ACL_OP_ALTER,
    CHAN_ACL_OP_DESCRIBE,
    CHAN_ACL_OP_CLUSTER_ACTION,
    CHAN_ACL_OP_DESCRIBE_CONFIGS,
    CHAN_ACL_OP_ALTER_CONFIGS,
    CHAN_ACL_OP_IDEMPOTENT_WRITE,
} chan_acl_operation;

/** Permission types.  The registry writes ALLOW only. */
typedef enum chan_acl_permission {
    CHAN_ACL_PERMISSION_UNKNOWN = 0,
    CHAN_ACL_PERMISSION_ALLOW,
    CHAN_ACL_PERMISSION_DENY,
} chan_acl_permission;

/**
 * One ACL binding.  As an element of a chan_acl_set the strings are owned
 * by the set; a binding filled by a caller for chan_acl_set_add is borrowed
 * and copied.
 */
typedef struct chan_acl_binding {
    chan_acl_resource_type resource_type;
    const char *resource_name;
    chan_acl_pattern_type pattern_type;
    const char *principal; /**< "User:billing" */
    const char *host;      /**< "*" for any host */
    chan_acl_operation operation;
    chan_acl_permission permission;
} chan_acl_binding;

/** Upper-case Kafka names: "TOPIC", "LITERAL", "READ", "ALLOW"; "UNKNOWN" when out of range. */
const char *chan_acl_resource_type_name(chan_acl_resource_type t);
const char *chan_acl_pattern_type_name(chan_acl_pattern_type t);
const char *chan_acl_operation_name(chan_acl_operation op);
const char *chan_acl_permission_name(chan_acl_permission p);

/**
 * Total order of bindings: resource type, resource name, principal,
 * operation, pattern type, host, permission (strings compared bytewise).
 * @return <0, 0 or >0 like strcmp
 */
int chan_acl_binding_compare(const chan_acl_binding *a, const chan_acl_binding *b);

/**
 * Check that a binding is complete and specific: known resource, pattern,
 * operation other than UNKNOWN, permission other than UNKNOWN, non-empty
 * name, host and a principal of the form "Type:name".
 * @return 0 or CHAN_EINVALID naming the bad field
 */
int chan_acl_binding_validate(const chan_acl_binding *b, chan_error *err);

/* ------------------------------------------------------------------ */
/* Sets                                                                */
/* ------------------------------------------------------------------ */

/** A set of bindings, kept sorted by chan_acl_binding_compare without duplicates. */
typedef struct chan_acl_set chan_acl_set;

/** New empty set.  Never NULL.  Free with chan_acl_set_free. */
chan_acl_set *chan_acl_set_new(void);
/** Free the set and its strings.  NULL-safe. */
void chan_acl_set_free(chan_acl_set *set);

/**
 * Add a copy of b (validated with chan_acl_binding_validate).  Adding a
 * binding that is already present changes nothing.
 * @param[out] out_added true when the binding was new; may be NULL
 * @return 0 or CHAN_EINVALID (the set is unchanged)
 */
int chan_acl_set_add(chan_acl_set *set, bool *out_added, const chan_acl_binding *b,
                     chan_error *err);

/** Number of bindings. */
size_t chan_acl_set_count(const chan_acl_set *set);
/** Binding i in sort order (borrowed), or NULL when out of range. */
const chan_acl_binding *chan_acl_set_get(const chan_acl_set *set, size_t i);
/** True when the set holds a binding equal to b. */
bool chan_acl_set_contains(const chan_acl_set *set, const chan_acl_binding *b);

/* ------------------------------------------------------------------ */
/* Desired state and scope                                             */
/* ------------------------------------------------------------------ */

/** The resources the registry manages; see chan_acl_desired. */
typedef struct chan_acl_scope chan_acl_scope;

/** Free a scope.  NULL-safe. */
void chan_acl_scope_free(chan_acl_scope *scope);
/** Managed topics (sorted, borrowed strings). */
size_t chan_acl_scope_topic_count(const chan_acl_scope *scope);
const char *chan_acl_scope_topic(const chan_acl_scope *scope, size_t i);
/** Managed consumer groups (sorted, borrowed strings). */
size_t chan_acl_scope_group_count(const chan_acl_scope *scope);
const char *chan_acl_scope_group(const chan_acl_scope *scope, size_t i);
/**
 * True when b is a binding the plan may create or delete: an ALLOW binding
 * with a LITERAL pattern on a managed topic or managed group.
 */
bool chan_acl_scope_covers(const chan_acl_scope *scope, const chan_acl_binding *b);

typedef struct chan_acl_desired_options {
    unsigned int version; /**< CHAN_ACL_DESIRED_OPTIONS_VERSION */
    const char *as_of;    /**< "YYYY-MM-DD" for retirement; NULL: today (UTC) */
    /**
     * Deleted channels (version 2): each tombstone's topic and groups join
     * the scope without any desired binding, so the plan deletes what was
     * granted for the channel.  Borrowed; may be NULL when n_tombstones is 0.
     */
    const chan_channel_tombstone *const *tombstones;
    size_t n_tombstones;
} chan_acl_desired_options;

#define CHAN_ACL_DESIRED_OPTIONS_VERSION 2
#define CHAN_ACL_DESIRED_OPTIONS_INIT                                                              \
    {                                                                                              \
        CHAN_ACL_DESIRED_OPTIONS_VERSION, NULL, NULL, 0                                            \
    }

/**
 * Compute the bindings the registered consumers and producers need, and the
 * scope the registry manages.
 *
 * Every channel is checked before anything is produced: a channel name that
 * is not a legal Kafka topic name, a principal not of the form "Type:name",
 * an empty consumer group, a bad deprecation date or the same topic twice
 * fail the whole call.
 *
 * A retired channel (chan_policy_channel_retired) contributes no bindings,
 * nor does a consumer that is not approved, but the channel's topic and the
 * groups of all its consumers stay in the scope so that the plan revokes
 * what was granted for them.
 * So do the topic and groups of each tombstone of opts (a deleted channel).
 * A tombstone with a bad topic or group fails the call like a bad channel
 * (path "tombstones[i]").
 *
 * @param[out] out       the desired set (caller frees with chan_acl_set_free)
 * @param[out] out_scope the managed scope (caller frees with
 *                       chan_acl_scope_free); may be NULL when not wanted
 * @param channels       channel records with consumers and producers, as
 *                       returned by chan_store_channel_list (borrowed)
 * @param n              number of channels
 * @param opts           options; NULL for defaults
 * @return 0 or CHAN_EINVALID with err->path set to e.g.
 *         "channels[2].consumers[0].principal"; *out is NULL on failure
 */
int chan_acl_desired(chan_acl_set **out, chan_acl_scope **out_scope,
                     const chan_channel_record *const *channels, size_t n,
                     const chan_acl_desired_options *opts, chan_error *err);

/**
 * Render a set as a JSON array of binding objects, in set order, each as
 * in chan_acl_plan_render_json.
 * @param[out] out the JSON text, caller frees
 */
void chan_acl_set_render_json(char **out, const chan_acl_set *set);

/* ------------------------------------------------------------------ */
/* Plans                                                               */
/* ------------------------------------------------------------------ */

/** What is known of the broker's ACLs when a plan is made. */
typedef enum chan_acl_actual_state {
    /** The read succeeded: `actual` is complete for the scope. */
    CHAN_ACL_ACTUAL_KNOWN = 0,
    /**
     * The read failed or was not done: `actual` may be NULL or partial.
     * The plan then never deletes; it creates whatever is desired and not
     * seen in `actual` (creating an existing binding is a no-op in Kafka).
     */
    CHAN_ACL_ACTUAL_UNKNOWN = 1,
} chan_acl_actual_state;

/** The changes that bring the broker's ACLs to the desired set. */
typedef struct chan_acl_plan chan_acl_plan;

/**
 * Diff desired against actual within scope.
 *
 *  - to_create: desired bindings missing from actual;
 *  - to_delete: bindings of actual that the scope covers and that are not
 *    desired (unregistered principals, operations or hosts not desired,
 *    retired channels); always empty when state is CHAN_ACL_ACTUAL_UNKNOWN;
 *  - unchanged: desired bindings present in actual.
 * Bindings of actual outside the scope are never in the plan.  Every list is
 * sorted by chan_acl_binding_compare, so equal inputs give equal plans.
 *
 * @param[out] out the plan (caller frees with chan_acl_plan_free)
 * @param desired  from chan_acl_desired
 * @param actual   the broker's bindings; may be NULL only with
 *                 CHAN_ACL_ACTUAL_UNKNOWN
 * @param scope    from chan_acl_desired
 * @param state    whether actual is known to be complete
 * @return 0 or CHAN_EINVALID (NULL actual with a known state, a desired
 *         binding outside the scope)
 */
int chan_acl_plan_compute(chan_acl_plan **out, const chan_acl_set *desired,
                          const chan_acl_set *actual, const chan_acl_scope *scope,
                          chan_acl_actual_state state, chan_error *err);

/** Free a plan.  NULL-safe. */
void chan_acl_plan_free(chan_acl_plan *plan);

/** Bindings to create, to delete and already in place (borrowed). */
const chan_acl_set *chan_acl_plan_to_create(const chan_acl_plan *plan);
const chan_acl_set *chan_acl_plan_to_delete(const chan_acl_plan *plan);
const chan_acl_set *chan_acl_plan_unchanged(const chan_acl_plan *plan);

/**
 * Bindings of actual that the plan leaves alone although they let principals
 * onto managed resources: ALLOW bindings on topics or groups with a PREFIXED
 * pattern that covers a managed name, or the LITERAL wildcard name "*".
 * They bypass the registry and deserve an operator's review (borrowed).
 */
const chan_acl_set *chan_acl_plan_bypasses(const chan_acl_plan *plan);

/** True when deletes were withheld because the actual state was unknown. */
bool chan_acl_plan_deletes_refused(const chan_acl_plan *plan);

/** True when the plan changes nothing. */
bool chan_acl_plan_is_empty(const chan_acl_plan *plan);

/**
 * ACL coverage of a plan: the principals with desired bindings (to create
 * or unchanged) and those of them none of whose desired bindings is still
 * to be created.  Meaningful only when the plan was made against a known
 * actual state (not chan_acl_plan_deletes_refused).
 *
 * @param[out] out_covered    principals fully in place
 * @param[out] out_principals principals with desired bindings
 */
void chan_acl_plan_coverage(size_t *out_covered, size_t *out_principals, const chan_acl_plan *plan);

/** Flags of chan_acl_plan_render_text. */
enum {
    CHAN_ACL_RENDER_UNCHANGED = 1 << 0, /**< also list unchanged bindings ("  " prefix) */
};

/**
 * Render one binding as "ALLOW User:billing READ TOPIC orders.created",
 * followed by " pattern=PREFIXED" / " host=H" when they differ from
 * LITERAL / "*".
 * @param[out] out the text, caller frees
 */
void chan_acl_binding_render(char **out, const chan_acl_binding *b);

/**
 * Render a plan as text: one line per change, "+ " for creates then "- "
 * for deletes, "! " for bypasses (chan_acl_plan_bypasses), then a summary
 * line "plan: N to create, N to delete, N unchanged" (followed by
 * ", N bypassing the registry" and ", deletes refused: actual state unknown"
 * when so).
 * @param[out] out the text, caller frees
 */
void chan_acl_plan_render_text(char **out, const chan_acl_plan *plan, unsigned int flags);

/**
 * Render a plan as a JSON object:
 * {"create":[binding...],"delete":[...],"unchanged":[...],"bypasses":[...],
 *  "deletes_refused":bool,"summary":{"create":N,"delete":N,"unchanged":N}}
 * where a binding is {"resource_type":"TOPIC","resource_name":...,
 * "pattern_type":"LITERAL","principal":...,"host":"*","operation":"READ",
 * "permission":"ALLOW"}.  Keys are in a fixed order.
 * @param[out] out the JSON text, caller frees
 */
void chan_acl_plan_render_json(char **out, const chan_acl_plan *plan);

/* ------------------------------------------------------------------ */
/* Exports                                                             */
/* ------------------------------------------------------------------ */

/**
 * Options of the exports.  Version 1 callers stop at quota_headroom; the
 * fields after it (version 2) then take their defaults.
 */
typedef struct chan_acl_export_options {
    unsigned int version;          /**< CHAN_ACL_EXPORT_OPTIONS_VERSION */
    const char *as_of;             /**< as for chan_acl_desired */
    const char *cluster;           /**< Strimzi: value of the strimzi.io/cluster label */
    const char *namespace_;        /**< Strimzi: metadata.namespace; NULL: omitted */
    const char *bootstrap_servers; /**< shell: --bootstrap-server value */
    const char *command_config;    /**< shell: --command-config file; NULL: omitted */
    double avg_message_bytes;      /**< average message size for quotas; > 0 */
    double quota_headroom;         /**< multiplier >= 1 on the quota; 0 means 1 */
    /** Strimzi: "v1" (Strimzi 0.49 and later) or "v1beta2" (older operators); NULL: "v1" */
    const char *strimzi_api;
    /** Strimzi: value of the chanreg.io/instance label; NULL: the cluster name */
    const char *instance;
    /**
     * Shell: the bindings of a previous export or of the last apply
     * (chan_acl_export_state_parse); those no longer desired get a
     * `kafka-acls.sh --remove` command.  NULL: no removal section.
     */
    const chan_acl_set *previous;
    /**
     * Shell: the users (names without "User:") that had a quota in the
     * previous state; those without one now get a `kafka-configs.sh
     * --delete-config consumer_byte_rate,producer_byte_rate`.  Used only
     * with previous.
     */
    const char *const *previous_quota_users;
    size_t n_previous_quota_users;
} chan_acl_export_options;

#define CHAN_ACL_EXPORT_OPTIONS_VERSION 2
#define CHAN_ACL_EXPORT_OPTIONS_INIT                                                               \
    {                                                                                              \
        CHAN_ACL_EXPORT_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, 0.0, 0.0, NULL, NULL, NULL, \
            NULL, 0                                                                                \
    }

/** The prefix of the state line that ends a shell export (chan_acl_export_shell). */
#define CHAN_ACL_EXPORT_STATE_PREFIX "# chanreg-state v1 "

/** Average message size of the quotas when neither the contract nor the caller gives one. */
#define CHAN_ACL_DEFAULT_AVG_MESSAGE_BYTES 1024

/** The client quotas of one principal (chan_acl_quota). */
typedef struct chan_acl_quota_rates {
    int64_t consumer_byte_rate; /**< bytes/s; 0: it consumes nothing, no quota */
    int64_t producer_byte_rate; /**< bytes/s; 0: it produces nothing, no quota */
    double consumer_msgs;       /**< the sum of its peak_rate_msgs behind the consumer rate */
    double producer_msgs;       /**< the sum of peak_qps behind the producer rate */
} chan_acl_quota_rates;

/**
 * The quotas of one principal, the one rule that the exports (Strimzi
 * consumerByteRate / producerByteRate, kafka-configs.sh consumer_byte_rate /
 * producer_byte_rate) and the admission check (GET /v1/admission/{p}) use.
 * Over the channels that are not retired (as of opts->as_of):
 *
 *   consumer_byte_rate = ceil(sum(peak_rate_msgs x size) x headroom), over
 *                        its registrations that grant access (approved);
 *   producer_byte_rate = ceil(sum(peak_qps x size) x headroom), over the
 *                        channels listing it as a producer;
 *
 * where size is the channel's avg_message_bytes when its contract declares
 * one, else opts->avg_message_bytes.
 *
 * @param[out] out the rates; zeroed on failure
 * @return 0 or CHAN_EINVALID (bad options, incomplete records, negative or
 *         non-finite rates, a result above 2147483647, the largest quota
 *         Strimzi accepts)
 */
int chan_acl_quota(chan_acl_quota_rates *out, const chan_channel_record *const *channels, size_t n,
                   const char *principal, const chan_acl_export_options *opts, chan_error *err);

/**
 * Consumer byte rate of one principal (chan_acl_quota's consumer_byte_rate):
 * ceil(sum of peak_rate_msgs x message size of its approved registrations
 *      on live channels x headroom).
 * @param[out] out the rate in bytes per second; 0 when the principal consumes
 *             nothing (no quota is then exported)
 * @return 0 or CHAN_EINVALID (bad options, negative or non-finite rate,
 *         a result above 2147483647, the largest quota Strimzi accepts)
 */
int chan_acl_consumer_byte_rate(int64_t *out, const chan_channel_record *const *channels, size_t n,
                                const char *principal, const chan_acl_export_options *opts,
                                chan_error *err);

/**
 * Render one Strimzi KafkaUser (apiVersion kafka.strimzi.io/<strimzi_api>,
 * SCRAM-SHA-512, simple authorization with an `operations` list per
 * resource) per principal that has desired bindings, ordered by name, as a
 * multi-document YAML string ("---" before each document).  Principals must
 * be "User:name" with name a valid Kubernetes object name.
 *
 * Every KafkaUser has the labels strimzi.io/cluster: <cluster>,
 * app.kubernetes.io/managed-by: chanreg and chanreg.io/instance: <instance>.
 * A comment before the first document shows the command that applies the
 * file and deletes the KafkaUsers of this instance that are not in it:
 *   kubectl apply --prune -l app.kubernetes.io/managed-by=chanreg,
 *   chanreg.io/instance=<instance> --prune-allowlist=kafka.strimzi.io/<api>/KafkaUser
 *   -f users.yaml
 *
 * @param[out] out the YAML text, caller frees; NULL on failure
 * @return 0 or CHAN_EINVALID (bad input as in chan_acl_desired, missing
 *         cluster or avg_message_bytes, a cluster or instance that is not a
 *         label value, an unknown strimzi_api, a principal Strimzi cannot name)
 */
int chan_acl_export_strimzi(char **out, const chan_channel_record *const *channels, size_t n,
                            const chan_acl_export_options *opts, chan_error *err);

/**
 * Render the desired state as shell commands for the Kafka distribution's
 * tools: one `kafka-acls.sh --add` per principal and resource, and one
 * `kafka-configs.sh --alter --add-config 'consumer_byte_rate=N'` per
 * consuming principal.  Every argument taken from the input is single-quoted.
 *
 * With opts->previous, a removal section follows, by principal: one
 * `kafka-acls.sh --remove --force` per principal and resource for the
 * bindings of previous that are not desired, and one `kafka-configs.sh
 * --alter --delete-config consumer_byte_rate` per previous quota user that
 * has no quota now.
 *
 * The last line is the state the script grants, for the next export's
 * previous (chan_acl_export_state_parse):
 *   # chanreg-state v1 {"bindings":[binding...],"quota_users":["name"...]}
 * with bindings as in chan_acl_plan_render_json and the users given a
 * consumer_byte_rate, both sorted.
 *
 * @param[out] out the script text, caller frees; NULL on failure
 * @return 0 or CHAN_EINVALID (as above, or a missing bootstrap_servers)
 */
int chan_acl_export_shell(char **out, const chan_channel_record *const *channels, size_t n,
                          const chan_acl_export_options *opts, chan_error *err);

/**
 * Read the state a previous export or apply left, for opts->previous:
 *  - a shell export (chan_acl_export_shell): its last line starting with
 *    CHAN_ACL_EXPORT_STATE_PREFIX;
 *  - the document of GET /v1/acl/applied, {"applied_at":...,"bindings":[...]}
 *    (text starting with "{").  It records no quotas: the quota users are
 *    then the "User:" principals that hold READ on a group, the consumers a
 *    shell export gives a consumer_byte_rate.
 * Only TOPIC and GROUP bindings are accepted (the only ones exports write).
 *
 * @param[out] out             the bindings (chan_acl_set_free), NULL on failure
 * @param[out] out_quota_users the quota users, sorted and unique (free with
 *                             chan_acl_export_state_users_free), NULL when none
 * @param[out] out_n           number of quota users
 * @param text                 the file or document, NUL-terminated
 * @return 0 or CHAN_EINVALID (no state line, another state version,
 *         malformed JSON, an invalid binding)
 */
int chan_acl_export_state_parse(chan_acl_set **out, char ***out_quota_users, size_t *out_n,
                                const char *text, chan_error *err);

/** Free the quota users of chan_acl_export_state_parse.  NULL-safe. */
void chan_acl_export_state_users_free(char **users, size_t n);

/**
 * Render a plan as shell commands for kafka-acls.sh, for applying it by
 * hand or reviewing it: one `--add` per binding to create, then one
 * `--remove --force` per binding to delete (in that order, as
 * chan_kafka_apply does), and the bypasses as comments.  Uses
 * opts->bootstrap_servers and opts->command_config only.
 *
 * @param[out] out the script text, caller frees; NULL on failure
 * @return 0 or CHAN_EINVALID (missing bootstrap servers)
 */
int chan_acl_plan_render_shell(char **out, const chan_acl_plan *plan,
                               const chan_acl_export_options *opts, chan_error *err);

/* ------------------------------------------------------------------ */
/* Topic configuration: the contract's settings against the cluster    */
/* ------------------------------------------------------------------ */

/** One config of a topic as DescribeConfigs reports it.  Strings owned by the list. */
typedef struct chan_topic_config_entry {
    char *name;
    char *value;    /**< NULL when the broker does not say (sensitive) */
    bool dynamic;   /**< a dynamic topic config (set on the topic), not a default */
    bool read_only; /**< cannot be altered */
    bool sensitive; /**< the value is hidden */
} chan_topic_config_entry;

/** The configs of one topic. */
typedef struct chan_topic_config {
    char *topic;
    chan_topic_config_entry *entries;
    size_t n;
} chan_topic_config;

/** Free n topic configs and the array.  NULL-safe. */
void chan_topic_config_list_free(chan_topic_config *list, size_t n);

/** The topic configs a contract sets: retention_hours and cleanup_policy. */
#define CHAN_TOPIC_RETENTION_KEY "retention.ms"
#define CHAN_TOPIC_CLEANUP_KEY   "cleanup.policy"

/**
 * The retention.ms a channel's contract asks for: retention_hours x 3600000.
 * The one rule of the topic plan, the exports and the UI.
 */
int64_t chan_acl_topic_retention_ms(const chan_channel_record *ch);

/** A config of a managed topic that differs from its contract. */
typedef struct chan_topic_change {
    char *topic;
    char *key;
    char *actual;  /**< the effective value on the cluster, NULL when it has none */
    char *desired; /**< the contract's value */
    bool dynamic;  /**< actual is a dynamic topic config (else the broker's default) */
} chan_topic_change;

/**
 * What an apply sends for one topic.  Kafka's AlterConfigs (the only one
 * librdkafka 2.0 has) replaces every dynamic config of the topic, so the
 * request carries the full set: every dynamic config read from the topic,
 * with the contract's values replacing or adding theirs.
 */
typedef struct chan_topic_alter {
    char *topic;
    char **pairs; /**< n_pairs key/value pairs: pairs[2*i] = key, pairs[2*i+1] = value */
    size_t n_pairs;
    /**
     * Why the topic is not altered, or NULL: a dynamic config that is
     * sensitive or has no value cannot be sent back, and leaving it out
     * would reset it.
     */
    char *refused;
} chan_topic_alter;

/** The topic plan: drift, the alters that fix it, topics that do not exist. */
typedef struct chan_topic_plan {
    chan_topic_change *changes;
    size_t n_changes;
    chan_topic_alter *alters; /**< one per topic with changes, sorted by topic */
    size_t n_alters;
    char **missing; /**< channels (live) whose topic does not exist on the cluster, sorted */
    size_t n_missing;
    size_t checked; /**< managed topics compared */
} chan_topic_plan;

/**
 * Compare the live channels (not retired as of as_of, NULL: today) with the
 * cluster: a channel whose topic is not in topics is missing; for one whose
 * topic is, every config its contract sets (retention.ms, and cleanup.policy
 * when the contract declares cleanup_policy) is compared with
 * the effective value in actual (the topic's DescribeConfigs).  Pure.
 *
 * The caller computes a plan only from a complete read of the topics and
 * their configs (chan_kafka_list_topics, chan_kafka_describe_topic_configs):
 * never on a failed read.
 *
 * @param[out] out the plan (free with chan_topic_plan_free)
 * @return 0 or CHAN_EINVALID (an existing managed topic without configs in
 *         actual, a bad as_of)
 */
int chan_topic_plan_compute(chan_topic_plan **out, const chan_channel_record *const *channels,
                            size_t n, const char *const *topics, size_t n_topics,
                            const chan_topic_config *actual, size_t n_actual, const char *as_of,
                            chan_error *err);

/** Free a plan.  NULL-safe. */
void chan_topic_plan_free(chan_topic_plan *plan);

/**
 * The plan as JSON: {"checked": N, "changes": [{"topic","key","actual",
 * "desired","dynamic"}], "alters": [{"topic","configs": {key: value},
 * "refused"}], "missing": [topic]}.
 * @return a new reference
 */
json_t *chan_topic_plan_to_json(const chan_topic_plan *plan);

#ifdef __cplusplus
}
#endif
#endif
