/*
 * avro.h - Avro schema parsing and the schema compatibility engine.
 *
 * Implements the schema-resolution rules of the Avro 1.11 specification
 * ("can a reader with schema R read data written with schema W?") and the
 * Confluent compatibility modes on top of them.  Pure: no I/O.
 *
 * Ownership: chan_avro_schema values come from chan_avro_schema_parse and are
 * freed with chan_avro_schema_free; reports from chan_compat_report_new are
 * freed with chan_compat_report_free.  Everything else is borrowed.
 */
#ifndef CHAN_AVRO_H
#define CHAN_AVRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A parsed, validated Avro schema.  Immutable; safe to share between threads. */
typedef struct chan_avro_schema chan_avro_schema;

/**
 * Parse and validate an Avro schema from JSON text.
 *
 * Rejects: bad JSON, unknown types, duplicate field names or enum symbols,
 * invalid names or namespaces, redefined named types, defaults that do not
 * match their type, fixed without a valid size, unions with duplicate
 * branches or directly nested unions, ...
 *
 * @param[out] out the schema (free with chan_avro_schema_free), NULL on failure
 * @param json     schema text (need not be NUL-terminated)
 * @param len      length of json
 * @return 0 or CHAN_EINVALID; err->message names the JSON pointer of the
 *         problem, e.g. "/fields/2/type: unknown type \"strng\""
 */
int chan_avro_schema_parse(chan_avro_schema **out, const char *json, size_t len, chan_error *err);

/**
 * A schema reference (Confluent): the schema uses the named type `name`,
 * defined by version `version` of subject `subject`.  Strings are borrowed.
 */
typedef struct chan_avro_reference {
    const char *name;
    const char *subject;
    int version;
} chan_avro_reference;

/** What a schema with references is parsed with. */
typedef struct chan_avro_parse_refs {
    /** The schema's own references, in the order given (part of its identity). */
    const chan_avro_reference *refs;
    size_t n_refs;
    /**
     * Texts of every schema the references reach, directly or through the
     * referenced schemas' own references, each after the ones it depends on.
     * The named types they define may be used by name in the schema.
     */
    const char *const *texts;
    size_t n_texts;
} chan_avro_parse_refs;

/**
 * chan_avro_schema_parse for a schema with references: the named types of
 * refs->texts are defined first (each text parsed as a schema of its own, in
 * order, sharing one set of names), then json, which may use them.  The
 * schema's text (chan_avro_schema_normalized) names the referenced types
 * instead of repeating them, and its identity includes refs->refs.
 * refs may be NULL (no references).
 *
 * @return 0 or CHAN_EINVALID (a referenced text that does not parse is
 *         reported as "reference N: ...")
 */
int chan_avro_schema_parse_refs(chan_avro_schema **out, const char *json, size_t len,
                                const chan_avro_parse_refs *refs, chan_error *err);

/** Options of chan_avro_schema_parse_opts. */
enum {
    /**
     * The text was accepted before by this parser (a schema the registry
     * stored): it is parsed and validated as any other, but the second gate
     * that a new text passes - Avro C must accept it too - is not run again.
     */
    CHAN_AVRO_PARSE_STORED = 1u << 0,
};

/**
 * chan_avro_schema_parse_refs with options (CHAN_AVRO_PARSE_* flags; 0 is
 * chan_avro_schema_parse_refs itself).
 *
 * @return 0 or CHAN_EINVALID
 */
int chan_avro_schema_parse_opts(chan_avro_schema **out, const char *json, size_t len,
                                const chan_avro_parse_refs *refs, unsigned flags, chan_error *err);

/** Free a schema.  NULL-safe. */
void chan_avro_schema_free(chan_avro_schema *schema);

/**
 * Bytes of memory schema takes (its tree, names, indexes and the texts
 * derived so far), for caches that bound what they hold.
 */
size_t chan_avro_schema_memory(const chan_avro_schema *schema);

/**
 * The schema's Parsing Canonical Form (Avro specification).  Borrowed,
 * valid as long as the schema.
 */
const char *chan_avro_schema_canonical(const chan_avro_schema *schema);

/** CRC-64-AVRO (Rabin) fingerprint of the Parsing Canonical Form. */
uint64_t chan_avro_schema_fingerprint(const chan_avro_schema *schema);

/**
 * The schema's text as the Confluent Schema Registry keeps it (its
 * canonicalString: the JSON that Avro's Java Schema.toString() writes):
 * compact, attributes in a fixed order ("type", "name", "namespace" only
 * when it differs from the enclosing one, "doc", "fields" / "symbols" /
 * "size" / "items" / "values", "default", "order" unless ascending,
 * custom attributes in the order given, "aliases"), {"type":"string"}
 * written as "string", referenced types by name.  Doc, defaults, aliases
 * and custom attributes are all kept.  Parsing it again gives the same
 * text.  Borrowed, valid as long as the schema.
 */
const char *chan_avro_schema_normalized(const chan_avro_schema *schema);

/**
 * The identity of a schema: two schemas are the same schema (same id, no
 * new version, found by lookup) exactly when their identities are equal.
 * It is the text of chan_avro_schema_normalized with custom attributes,
 * aliases and the members of JSON objects in default and attribute values
 * sorted (Confluent compares those as sets), followed by the references
 * (name, subject, version) in their order.  So key order, whitespace,
 * {"type":"string"} vs "string", a namespace spelled in the name or apart,
 * and attributes that restate the default ("order":"ascending", an empty
 * "aliases", a namespace equal to the enclosing one) do not change it; doc,
 * defaults, aliases and custom attributes do.  Borrowed, valid as long as
 * the schema.
 */
const char *chan_avro_schema_identity(const chan_avro_schema *schema);

/**
 * Are a and b the same schema once references are resolved, that is with
 * every type that a reference defines written in place (compared as
 * chan_avro_schema_identity compares)?  Confluent's lookup finds a version
 * that has references with the schema sent fully resolved and without
 * references; this is that comparison.
 */
bool chan_avro_schema_same_resolved(const chan_avro_schema *a, const chan_avro_schema *b);

/**
 * Confluent's normalize (`normalize=true`): the schema rewritten with its
 * custom attributes, aliases and JSON object members sorted, an empty "doc"
 * of a named type dropped, logical-type attributes first and a zero decimal
 * scale dropped, and its references sorted (name, subject, version); then
 * parsed again with the same references.
 *
 * @param[out] out the normalized schema (free with chan_avro_schema_free)
 * @return 0 or CHAN_EINVALID
 */
int chan_avro_schema_normalize(chan_avro_schema **out, const chan_avro_schema *schema,
                               chan_error *err);

/** The references the schema was parsed with (borrowed), and their number in *out_n. */
const chan_avro_reference *chan_avro_schema_references(const chan_avro_schema *schema,
                                                       size_t *out_n);

/** Full name of the top-level type ("com.acme.Order") or its type name ("string"). */
const char *chan_avro_schema_name(const chan_avro_schema *schema);

/* ------------------------------------------------------------------ */
/* Compatibility                                                        */
/* ------------------------------------------------------------------ */

/** Confluent Schema Registry compatibility modes. */
typedef enum chan_compat_mode {
    CHAN_COMPAT_NONE = 0,
    CHAN_COMPAT_BACKWARD,
    CHAN_COMPAT_BACKWARD_TRANSITIVE,
    CHAN_COMPAT_FORWARD,
    CHAN_COMPAT_FORWARD_TRANSITIVE,
    CHAN_COMPAT_FULL,
    CHAN_COMPAT_FULL_TRANSITIVE,
} chan_compat_mode;

/** Parse "BACKWARD", "full_transitive", ... (case-insensitive).  @return 0 or CHAN_EINVALID */
int chan_compat_mode_parse(chan_compat_mode *out, const char *name);

/** Upper-case name of a mode, e.g. "BACKWARD_TRANSITIVE". */
const char *chan_compat_mode_name(chan_compat_mode mode);

/**
 * One reason why a reader cannot read a writer.  Kinds (stable ids, the
 * Confluent names where one exists; see docs/compatibility.md):
 *
 * - READER_FIELD_MISSING_DEFAULT_VALUE: a reader field the writer lacks has no default
 * - TYPE_MISMATCH: the types differ and no promotion applies
 * - NAME_MISMATCH: named types with different names and no matching reader alias
 * - FIXED_SIZE_MISMATCH: fixed types of different sizes
 * - MISSING_ENUM_SYMBOLS: writer symbols unknown to a reader enum without default
 * - MISSING_UNION_BRANCH: no reader union branch for a writer type or union branch
 * - DECIMAL_MISMATCH: decimals whose precision or scale differ
 * - AMBIGUOUS_FIELD_ALIAS: a reader field matches two writer fields by name or alias
 * - NESTING_TOO_DEEP: the check would descend more than 1,000 levels (chains of
 *   named-type references); refused rather than exhausting the stack
 * - FIELD_REMOVED_NOT_DEPRECATED, FIELD_REMOVED_WITHOUT_DEFAULT: chan_avro_check_removals
 *
 * Strings are owned by the report.
 */
typedef struct chan_compat_issue {
    const char *kind;     /**< stable id, e.g. "READER_FIELD_MISSING_DEFAULT_VALUE" */
    const char *location; /**< JSON pointer in the reader schema, e.g. "/fields/3" */
    const char *message;  /**< "/fields/3 (amount): reader field has no default and ..." */
    int version_index;  /**< index into `previous` of chan_avro_check_mode, -1 for a plain check */
    bool reader_is_new; /**< true when the new schema was the reader of the failed check */
} chan_compat_issue;

typedef struct chan_compat_report chan_compat_report;

/** New empty report; free with chan_compat_report_free. */
chan_compat_report *chan_compat_report_new(void);
void chan_compat_report_free(chan_compat_report *report);
size_t chan_compat_report_count(const chan_compat_report *report);
/** Issue i (borrowed) or NULL. */
const chan_compat_issue *chan_compat_report_get(const chan_compat_report *report, size_t i);

/**
 * Can data written with `writer` be read with `reader`?  Appends every
 * reason it cannot (not only the first) to report (may be NULL).
 *
 * @return true when compatible
 */
bool chan_avro_can_read(const chan_avro_schema *reader, const chan_avro_schema *writer,
                        chan_compat_report *report);

/**
 * Check a new schema against earlier versions under a Confluent mode.
 * previous[0] is the most recent earlier version.  Non-transitive modes use
 * previous[0] only; transitive ones all, newest first.  BACKWARD: new reads
 * old; FORWARD: old reads new; FULL: both.
 *
 * @return 0 when compatible, CHAN_EINCOMPATIBLE otherwise (issues in report)
 */
int chan_avro_check_mode(chan_compat_mode mode, const chan_avro_schema *new_schema,
                         const chan_avro_schema *const *previous, size_t n_previous,
                         chan_compat_report *report);

/**
 * Governance rule on top of Avro compatibility: a record field that exists in
 * `old_schema` but not in `new_schema` (matched by record full name and field
 * name or alias) may only be removed when `old_schema` marked it deprecated
 * (field attribute "deprecated": true) and gave it a default.  Appends one
 * issue per violation (kind "FIELD_REMOVED_NOT_DEPRECATED" or
 * "FIELD_REMOVED_WITHOUT_DEFAULT").  A record without a namesake or alias in
 * `new_schema` is matched by its unqualified name when exactly one record of
 * `new_schema` has it (a record moved to another namespace).
 *
 * @return true when no field was removed against the rule
 */
bool chan_avro_check_removals(const chan_avro_schema *new_schema,
                              const chan_avro_schema *old_schema, chan_compat_report *report);

/* ------------------------------------------------------------------ */
/* Field-level difference (diff.c)                                      */
/* ------------------------------------------------------------------ */

/* Kinds of chan_avro_change (stable ids; see docs/ui.md). */
#define CHAN_AVRO_TYPE_ADDED            "type-added"               /**< a named type appears */
#define CHAN_AVRO_TYPE_REMOVED          "type-removed"             /**< a named type disappears */
#define CHAN_AVRO_TYPE_CHANGED          "type-changed"             /**< top-level type or kind */
#define CHAN_AVRO_FIELD_ADDED           "field-added"              /**< new: the field's type */
#define CHAN_AVRO_FIELD_REMOVED         "field-removed"            /**< old: the field's type */
#define CHAN_AVRO_FIELD_TYPE_CHANGED    "field-type-changed"       /**< old and new types */
#define CHAN_AVRO_FIELD_DEFAULT_CHANGED "field-default-changed"    /**< JSON, NULL: none */
#define CHAN_AVRO_FIELD_DEPRECATED      "field-deprecated-changed" /**< "true" / "false" */
#define CHAN_AVRO_SYMBOL_ADDED          "symbol-added"             /**< new: the enum symbol */
#define CHAN_AVRO_SYMBOL_REMOVED        "symbol-removed"           /**< old: the enum symbol */
#define CHAN_AVRO_ENUM_DEFAULT_CHANGED  "enum-default-changed"     /**< old and new enum defaults */
#define CHAN_AVRO_FIXED_SIZE_CHANGED    "fixed-size-changed"       /**< old and new sizes */

/** One change between two schemas.  Strings are owned by the diff. */
typedef struct chan_avro_change {
    const char *kind;      /**< one of the CHAN_AVRO_* kinds above (static string) */
    const char *path;      /**< "com.acme.Order.amount", a type's full name, "" for the top */
    const char *old_value; /**< the old type, default, symbol, ...; NULL when there is none */
    const char *new_value; /**< the new one; NULL when there is none */
} chan_avro_change;

/** The changes from one schema to another, in a stable order. */
typedef struct chan_avro_diff chan_avro_diff;

/**
 * The field-level difference from old_schema to new_schema: named types
 * added, removed or of another kind (matched by full name), record fields
 * added, removed or changed (type in a short notation such as
 * "union[null, string]", default as JSON, deprecation), enum symbols and
 * fixed sizes.  Describes what changed, not whether it is compatible (see
 * chan_avro_check_mode).  Changes come in the order of old_schema's named
 * types, then the types only new_schema has.
 *
 * @return the diff (never NULL; free with chan_avro_diff_free)
 */
chan_avro_diff *chan_avro_diff_compute(const chan_avro_schema *old_schema,
                                       const chan_avro_schema *new_schema);

/** Number of changes; 0 for equal schemas. */
size_t chan_avro_diff_count(const chan_avro_diff *diff);

/** Change i (borrowed) or NULL. */
const chan_avro_change *chan_avro_diff_get(const chan_avro_diff *diff, size_t i);

/** Free a diff.  NULL-safe. */
void chan_avro_diff_free(chan_avro_diff *diff);

#ifdef __cplusplus
}
#endif
#endif
