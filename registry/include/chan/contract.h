/*
 * contract.h - channel contracts: the model, parsing, loading and validation.
 *
 * A contract (format "chanreg/v1", see docs/contract-format.md) describes one
 * Kafka topic: its owner, load figures, lifecycle dates, the Avro schema
 * subject with its compatibility mode and versions, and the registered
 * consumers and producers.
 *
 * The work is split in three steps:
 *
 *  - chan_contract_parse: text (YAML or JSON) -> model + diagnostics.  Pure:
 *    no file system access, so the daemon can parse request bodies with it.
 *  - chan_contract_load: file -> parse, then resolve every schema version to
 *    its .avsc file, parse it and check the version chain (compatibility mode
 *    and the field-removal rule).
 *  - chan_contract_set: checks across the contracts of one run (duplicate
 *    channels).
 *
 * Every problem goes to a chan_diag_list as file:line:col (1-based) with a
 * stable rule id (CHAN_CONTRACT_RULE_*), so that callers can report all of
 * them at once.
 *
 * Ownership: chan_contract values are freed with chan_contract_free;
 * chan_contract_set values with chan_contract_set_free.  Every pointer
 * returned by a getter (strings, version/consumer/producer structs, schemas)
 * is borrowed and valid as long as the contract.  chan_contract_to_json,
 * chan_contract_render_json, chan_contract_to_record and
 * chan_contract_consumer_yaml return new values owned by the caller.
 */
#ifndef CHAN_CONTRACT_H
#define CHAN_CONTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chan/avro.h"
#include "chan/error.h"
#include "chan/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The value of the `apiVersion` key understood by this library. */
#define CHAN_CONTRACT_API_VERSION "chanreg/v1"

/** Default limits of the parser (see chan_contract_parse_options). */
#define CHAN_CONTRACT_MAX_SIZE    (1024 * 1024) /**< bytes of contract text */
#define CHAN_CONTRACT_MAX_DEPTH   64            /**< nesting of YAML collections */
#define CHAN_CONTRACT_MAX_ALIASES 64            /**< alias (*name) uses per document */
#define CHAN_CONTRACT_MAX_NODES   100000        /**< YAML nodes per document */
/** Default cap on the size of one .avsc file read by chan_contract_load. */
#define CHAN_CONTRACT_MAX_SCHEMA_SIZE (4 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Rule ids of the diagnostics (chan_diag.rule)                         */
/* ------------------------------------------------------------------ */

#define CHAN_CONTRACT_RULE_IO            "io-error"      /**< file cannot be read */
#define CHAN_CONTRACT_RULE_TOO_LARGE     "too-large"     /**< text exceeds max_size */
#define CHAN_CONTRACT_RULE_YAML_SYNTAX   "yaml-syntax"   /**< libyaml rejected the text */
#define CHAN_CONTRACT_RULE_TOO_DEEP      "too-deep"      /**< nesting exceeds max_depth */
#define CHAN_CONTRACT_RULE_TOO_COMPLEX   "too-complex"   /**< too many nodes */
#define CHAN_CONTRACT_RULE_ALIAS         "alias-limit"   /**< too many or unknown aliases */
#define CHAN_CONTRACT_RULE_DOCUMENT      "document"      /**< empty, not a mapping, several docs */
#define CHAN_CONTRACT_RULE_DUPLICATE_KEY "duplicate-key" /**< key repeated in a mapping */
#define CHAN_CONTRACT_RULE_UNKNOWN_FIELD "unknown-field" /**< key not in the format */
#define CHAN_CONTRACT_RULE_MISSING_FIELD "missing-field" /**< mandatory key absent */
#define CHAN_CONTRACT_RULE_WRONG_TYPE    "wrong-type"    /**< e.g. string where int expected */
#define CHAN_CONTRACT_RULE_API_VERSION   "api-version"   /**< unsupported apiVersion */
#define CHAN_CONTRACT_RULE_INVALID_NAME  "invalid-name"  /**< channel, subject, group, ... */
#define CHAN_CONTRACT_RULE_INVALID_VALUE "invalid-value" /**< out of range, empty, bad enum */
#define CHAN_CONTRACT_RULE_INVALID_DATE  "invalid-date"  /**< not a YYYY-MM-DD calendar date */
#define CHAN_CONTRACT_RULE_DATE_ORDER    "date-order"    /**< retirement before deprecation */
#define CHAN_CONTRACT_RULE_DEPRECATED    "deprecated"    /**< warning: deprecation date passed */
#define CHAN_CONTRACT_RULE_PRINCIPAL     "invalid-principal"  /**< not "User:<name>" */
#define CHAN_CONTRACT_RULE_DUP_CONSUMER  "duplicate-consumer" /**< consumer name or group reused */
#define CHAN_CONTRACT_RULE_DUP_PRODUCER  "duplicate-producer" /**< producer principal repeated */
#define CHAN_CONTRACT_RULE_VERSION_ORDER "version-sequence"   /**< not newest-first consecutive */
#define CHAN_CONTRACT_RULE_SCHEMA_FILE   "schema-file"   /**< schema file missing or unreadable */
#define CHAN_CONTRACT_RULE_AVRO          "avro-invalid"  /**< schema file is not valid Avro */
#define CHAN_CONTRACT_RULE_INCOMPATIBLE  "incompatible"  /**< breaks the compatibility mode */
#define CHAN_CONTRACT_RULE_FIELD_REMOVED "field-removed" /**< removal without deprecation */
#define CHAN_CONTRACT_RULE_DUP_CHANNEL   "duplicate-channel" /**< same channel in two contracts */
#define CHAN_CONTRACT_RULE_CAPACITY      "capacity" /**< warning: consumer slower than peak */
#define CHAN_CONTRACT_RULE_COMPAT_FLOOR  "compatibility-floor" /**< below the policy floor */

/** Length bounds of schema.waiver.reason, in characters. */
#define CHAN_CONTRACT_WAIVER_REASON_MIN 20
#define CHAN_CONTRACT_WAIVER_REASON_MAX 1024

/* ------------------------------------------------------------------ */
/* Model                                                               */
/* ------------------------------------------------------------------ */

/** A parsed contract.  Immutable after parse/load; safe to share read-only. */
typedef struct chan_contract chan_contract;

/** How a consumer behaves when it cannot keep up or the channel is degraded. */
typedef enum chan_degradation {
    CHAN_DEGRADATION_DROP = 0, /**< may skip messages (e.g. resets to latest) */
    CHAN_DEGRADATION_LAG,      /**< falls behind and catches up later; no loss */
    CHAN_DEGRADATION_FALLBACK, /**< switches to a fallback source or default behaviour */
    CHAN_DEGRADATION_BLOCK,    /**< its business process stops until it catches up */
} chan_degradation;

/** Lower-case name of a degradation mode ("lag"). */
const char *chan_degradation_name(chan_degradation mode);

/** Parse "drop", "lag", "fallback" or "block" (exact).  @return 0 or CHAN_EINVALID */
int chan_degradation_parse(chan_degradation *out, const char *name);

/** One schema version.  Owned by its contract. */
typedef struct chan_contract_version {
    int64_t number;   /**< >= 1 */
    const char *file; /**< the explicit `file:` as written, or NULL for the default layout */
    int line;         /**< position of the version entry in the contract */
    int column;
    /** Resolved path of the .avsc file; NULL after parse, set by chan_contract_load. */
    const char *path;
    /** The parsed schema; NULL after parse, set by chan_contract_load when valid. */
    const chan_avro_schema *schema;
} chan_contract_version;

/** One registered consumer.  Every field is mandatory in the format. */
typedef struct chan_contract_consumer {
    const char *name;       /**< unique within the contract */
    const char *principal;  /**< "User:<name>" */
    const char *group;      /**< Kafka consumer group id, unique within the contract */
    const char *scenario;   /**< what the consumer does with the data */
    int64_t sla_p99_ms;     /**< end-to-end p99 latency it needs, > 0 */
    int64_t peak_rate_msgs; /**< messages/s it must sustain at peak, > 0 */
    chan_degradation degradation;
    int line; /**< position of the consumer entry */
    int column;
} chan_contract_consumer;

/** One registered producer. */
typedef struct chan_contract_producer {
    const char *principal; /**< "User:<name>" */
    int line;
    int column;
} chan_contract_producer;

/** Free a contract.  NULL-safe. */
void chan_contract_free(chan_contract *contract);

/** File name given to parse/load (used in diagnostics).  Never NULL. */
const char *chan_contract_file(const chan_contract *contract);
/** Channel (Kafka topic) name. */
const char *chan_contract_name(const chan_contract *contract);
/** Free-text description, or NULL. */
const char *chan_contract_description(const chan_contract *contract);
/** Owning team. */
const char *chan_contract_owner_team(const chan_contract *contract);
/** Maintainer's e-mail address. */
const char *chan_contract_maintainer(const chan_contract *contract);
/** Peak produce rate in messages per second, > 0. */
int64_t chan_contract_peak_qps(const chan_contract *contract);
/** Topic retention in hours, > 0. */
int64_t chan_contract_retention_hours(const chan_contract *contract);
/** "YYYY-MM-DD" from which the channel is deprecated, or NULL. */
const char *chan_contract_deprecation_date(const chan_contract *contract);
/** "YYYY-MM-DD" from which the channel may be deleted, or NULL. */
const char *chan_contract_retirement_date(const chan_contract *contract);
/** Schema Registry subject of the value schema. */
const char *chan_contract_subject(const chan_contract *contract);
/** Compatibility mode of the subject. */
chan_compat_mode chan_contract_compatibility(const chan_contract *contract);
/**
 * schema.waiver.reason: why the subject may stay below the policy floor of
 * compatibility (an admin still approves the waiver), or NULL.
 */
const char *chan_contract_waiver_reason(const chan_contract *contract);

/**
 * The contract format's name rule (consumer names): a lower-case slug of at
 * most 64 bytes, [a-z0-9][a-z0-9._-]*.  Every path that takes a consumer
 * name (contract files, the consumers API) checks it with this function.
 */
bool chan_contract_name_valid(const char *s);

/**
 * The contract format's principal rule: "User:<name>", no blanks or control
 * characters, at most 255 bytes.
 */
bool chan_contract_principal_valid(const char *s);

/* ------------------------------------------------------------------ */
/* Consumer fields (consumer.c)                                        */
/* ------------------------------------------------------------------ */

/** What a field of a consumer was given as, wherever it came from. */
typedef enum chan_field_kind {
    CHAN_FIELD_ABSENT = 0, /**< not given */
    CHAN_FIELD_STRING,     /**< a string: text, len */
    CHAN_FIELD_INTEGER,    /**< an integer: text holds its digits as written */
    CHAN_FIELD_OTHER,      /**< anything else (type_name says what) */
} chan_field_kind;

/** One field value as given, with where it was (file NULL: no position). */
typedef struct chan_field_value {
    chan_field_kind kind;
    const char *text;      /**< STRING, INTEGER: the value (borrowed); else NULL */
    size_t len;            /**< bytes of text (a NUL inside makes len != strlen(text)) */
    const char *type_name; /**< "string", "integer", "mapping", ... for messages */
    const char *file;      /**< for the diagnostic; NULL without a position */
    int line, column;
} chan_field_value;

/** The fields of one consumer as given. */
typedef struct chan_consumer_fields {
    chan_field_value name, principal, group, scenario, sla_p99_ms, peak_rate_msgs, degradation;
} chan_consumer_fields;

/**
 * The one validation of a consumer's fields: every path that takes a
 * consumer (contract files, PUT /v1/channels/{name}/consumers/{consumer} and
 * its dry run, which the web UI's portal calls) reports the same rule ids,
 * paths and messages through it.  Every field is mandatory: name (the
 * contract's name rule), principal ("User:<name>"), group (a Kafka group
 * id), scenario (1 to 4096 bytes), sla_p99_ms (1 to 86400000),
 * peak_rate_msgs (1 to 1000000000), degradation (drop, lag, fallback,
 * block).  The rules as data: chan_contract_consumer_rules_json.
 *
 * @param[out] out  filled with owning copies of the valid fields (dispose
 *                  with chan_contract_consumer_dispose); zeroed by the caller
 * @param in        the values as given (borrowed)
 * @param path      prefix of the diagnostics' paths ("consumers[2]"; "" or NULL: none)
 * @param diags     every problem is appended
 * @return 0, or CHAN_EINVALID when an error was added
 */
int chan_contract_consumer_check(chan_contract_consumer *out, const chan_consumer_fields *in,
                                 const char *path, chan_diag_list *diags);

/**
 * chan_contract_consumer_check on a JSON object (the consumers API's body:
 * principal, group, scenario, sla_p99_ms, peak_rate_msgs, degradation) and
 * the consumer's name from the path.  Other members are not looked at.
 * Diagnostics have no position and paths without prefix ("group").
 *
 * @param[out] out as for chan_contract_consumer_check
 * @return 0 or CHAN_EINVALID
 */
int chan_contract_consumer_check_json(chan_contract_consumer *out, const json_t *body,
                                      const char *name, chan_diag_list *diags);

/** Free the strings of a consumer filled by chan_contract_consumer_check.  NULL-safe. */
void chan_contract_consumer_dispose(chan_contract_consumer *c);

/**
 * The rules of chan_contract_consumer_check as data, for forms:
 * {"fields": [{"name", "type": "string"|"integer", "required", "max_length",
 * "pattern" (a regular expression), "min", "max", "enum", "hint"}]}.  The
 * messages stay the library's: a form asks the route's dry run for them.
 *
 * @return a new JSON object (caller decrefs)
 */
json_t *chan_contract_consumer_rules_json(void);

/**
 * The policy floor on the contract's own compatibility (chanctl validate):
 * nothing when it satisfies floor (chan_policy_compat_satisfies); else a
 * "compatibility-floor" diagnostic at schema.compatibility, an error without
 * a waiver reason, a warning (the waiver needs an admin's approval) with one.
 * @return 0, or CHAN_EINVALID when an error was added
 */
int chan_contract_check_floor(const chan_contract *contract, chan_compat_mode floor,
                              chan_diag_list *diags);

/** Number of schema versions (>= 1 for a valid contract). */
size_t chan_contract_version_count(const chan_contract *contract);
/** Version i, newest first (i == 0 is the current version); NULL when out of range. */
const chan_contract_version *chan_contract_version_at(const chan_contract *contract, size_t i);

size_t chan_contract_consumer_count(const chan_contract *contract);
/** Consumer i in file order; NULL when out of range. */
const chan_contract_consumer *chan_contract_consumer_at(const chan_contract *contract, size_t i);

size_t chan_contract_producer_count(const chan_contract *contract);
/** Producer i in file order; NULL when out of range. */
const chan_contract_producer *chan_contract_producer_at(const chan_contract *contract, size_t i);

/**
 * The contract as a JSON object in the contract format itself (apiVersion,
 * channel, owner, ..., with versions always in the mapping form).  Parsing
 * its text with chan_contract_parse gives an equal contract, and rendering
 * that again gives the same JSON.
 *
 * @return a new reference (caller json_decref()s it); never NULL
 */
json_t *chan_contract_to_json(const chan_contract *contract);

/**
 * chan_contract_to_json rendered as compact text with sorted keys.
 * @return a NUL-terminated string the caller free()s; never NULL
 */
char *chan_contract_render_json(const chan_contract *contract);

/**
 * The channel record of a contract (chan/model.h): name, owner, load
 * figures, dates, subject, compatibility mode name, waiver reason, the document
 * (chan_contract_render_json) and owning copies of every consumer and
 * producer, whose channel is the contract's name.  The store's fields
 * (revision and times) are 0.
 *
 * @return a new record the caller frees with chan_channel_record_free; never NULL
 */
chan_channel_record *chan_contract_to_record(const chan_contract *contract);

/**
 * One consumer as an entry of a contract's `consumers:` list, in YAML:
 *
 *     - name: fraud
 *       principal: User:fraud-svc
 *       ...
 *
 * with name, principal, group, scenario, sla_p99_ms, peak_rate_msgs and
 * degradation, in that order, one per line; the "- " starts at column
 * indent (0-based).  Strings are plain when that is unambiguous and
 * double-quoted with escapes otherwise, so that pasting the text under
 * `consumers:` and parsing it with chan_contract_parse gives the same values
 * (for valid UTF-8 strings).  A NULL string is written as "".  A whole
 * peak_rate_msgs is written as an integer.
 *
 * @param c      the consumer; its channel, times and governance fields are not written
 * @param indent spaces before "- " (negative counts as 0)
 * @return the text, ending with a newline; the caller free()s it; never NULL
 */
char *chan_contract_consumer_yaml(const chan_consumer_record *c, int indent);

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

/** Limits of the parser; zero fields mean the CHAN_CONTRACT_MAX_* defaults. */
typedef struct chan_contract_parse_options {
    unsigned version;   /**< CHAN_CONTRACT_PARSE_OPTIONS_VERSION */
    size_t max_size;    /**< bytes of text */
    size_t max_depth;   /**< nesting of mappings and sequences */
    size_t max_aliases; /**< alias uses per document */
    size_t max_nodes;   /**< nodes per document (after alias expansion) */
    /** Days since 1970-01-01 used as "today" for the deprecation warning; 0 = real date. */
    int64_t today;
} chan_contract_parse_options;

#define CHAN_CONTRACT_PARSE_OPTIONS_VERSION 1
#define CHAN_CONTRACT_PARSE_OPTIONS_INIT                                                           \
    {                                                                                              \
        CHAN_CONTRACT_PARSE_OPTIONS_VERSION, 0, 0, 0, 0, 0                                         \
    }

/**
 * Parse and validate a contract from text (YAML 1.1 or JSON).  Does not touch
 * the file system: schema versions are only checked for numbering.
 *
 * Every problem found (not only the first) is appended to diags, located at
 * `filename:line:col`.  Warnings (e.g. a passed deprecation date) do not make
 * the parse fail.
 *
 * @param[out] out   the contract (free with chan_contract_free); NULL unless 0 is returned
 * @param text       contract text, need not be NUL-terminated; may contain NUL bytes
 *                   (they are reported, never read past len)
 * @param len        length of text
 * @param filename   name used in diagnostics and kept in the model (e.g. the
 *                   path, or "<request>"); NULL means "<input>"
 * @param opts       limits, or NULL for the defaults
 * @param diags      receives every diagnostic (required)
 * @param err        set on failure with a summary (may be NULL)
 * @return 0 when no error diagnostic was added, CHAN_EINVALID when the
 *         contract has errors, CHAN_ETOOBIG when the text exceeds max_size
 */
int chan_contract_parse(chan_contract **out, const char *text, size_t len, const char *filename,
                        const chan_contract_parse_options *opts, chan_diag_list *diags,
                        chan_error *err);

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */

/** Options of chan_contract_load. */
typedef struct chan_contract_load_options {
    unsigned version; /**< CHAN_CONTRACT_LOAD_OPTIONS_VERSION */
    /**
     * Directory holding `<subject>/v<N>.avsc`.  NULL: the `schemas/`
     * directory of the nearest ancestor of the contract's directory (the
     * directory itself first) that has one.
     */
    const char *schema_root;
    size_t max_schema_size;            /**< cap per .avsc file; 0 = CHAN_CONTRACT_MAX_SCHEMA_SIZE */
    chan_contract_parse_options parse; /**< limits of the contract parser */
} chan_contract_load_options;

#define CHAN_CONTRACT_LOAD_OPTIONS_VERSION 1
#define CHAN_CONTRACT_LOAD_OPTIONS_INIT                                                            \
    {                                                                                              \
        CHAN_CONTRACT_LOAD_OPTIONS_VERSION, NULL, 0, CHAN_CONTRACT_PARSE_OPTIONS_INIT              \
    }

/**
 * Read a contract file, parse it, resolve and parse each version's Avro
 * schema, and check the version chain: each version against the earlier ones
 * under the declared compatibility mode, and the field-removal rule between
 * consecutive versions.
 *
 * Schema files are resolved as: an explicit `file:` relative to the
 * directory of the contract file; otherwise `<schema_root>/<subject>/v<N>.avsc`.
 *
 * @param[out] out  the contract with versions' path/schema set; NULL unless 0 is returned
 * @param path      contract file
 * @param opts      options, or NULL for the defaults
 * @param diags     receives every diagnostic, I/O problems included (required)
 * @param err       summary of the failure (may be NULL)
 * @return 0, CHAN_EINVALID (problems in diags), CHAN_ENOTFOUND / CHAN_EIO
 *         (contract file unreadable) or CHAN_ETOOBIG
 */
int chan_contract_load(chan_contract **out, const char *path,
                       const chan_contract_load_options *opts, chan_diag_list *diags,
                       chan_error *err);

/**
 * Check the version chain of a contract against schemas given in memory
 * (e.g. received over HTTP): the same compatibility-mode and field-removal
 * checks as chan_contract_load, without the file system.
 *
 * @param contract  a parsed contract
 * @param schemas   schemas[i] is the schema of chan_contract_version_at(contract, i),
 *                  newest first; borrowed
 * @param n_schemas must equal chan_contract_version_count(contract)
 * @param diags     receives the problems, located at the version entries
 * @return 0, or CHAN_EINVALID when an error diagnostic was added
 */
int chan_contract_check_schemas(const chan_contract *contract,
                                const chan_avro_schema *const *schemas, size_t n_schemas,
                                chan_diag_list *diags);

/* ------------------------------------------------------------------ */
/* Sets of contracts                                                    */
/* ------------------------------------------------------------------ */

/** The contracts of one run, for checks across files. */
typedef struct chan_contract_set chan_contract_set;

/** New empty set; free with chan_contract_set_free.  Never NULL. */
chan_contract_set *chan_contract_set_new(void);

/** Free the set and every contract it holds.  NULL-safe. */
void chan_contract_set_free(chan_contract_set *set);

/**
 * Load a contract file (as chan_contract_load) into the set.  Even when the
 * file has errors, whatever could be read of it (its channel name) still
 * takes part in the cross-file checks.
 *
 * @return as chan_contract_load; the diagnostics go to diags
 */
int chan_contract_set_add_file(chan_contract_set *set, const char *path,
                               const chan_contract_load_options *opts, chan_diag_list *diags,
                               chan_error *err);

/**
 * Run the checks across the set (duplicate channel names).
 * @return 0, or CHAN_EINVALID when an error diagnostic was added
 */
int chan_contract_set_check(chan_contract_set *set, chan_diag_list *diags);

/** Number of valid contracts in the set (those whose load returned 0). */
size_t chan_contract_set_count(const chan_contract_set *set);

/** Valid contract i, in the order added (borrowed); NULL when out of range. */
const chan_contract *chan_contract_set_get(const chan_contract_set *set, size_t i);

#ifdef __cplusplus
}
#endif
#endif
