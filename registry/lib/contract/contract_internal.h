/*
 * contract_internal.h - what the files of the contract module share: the
 * located YAML node tree built by yaml_tree.c and the model structure.
 *
 * Not installed; nothing outside registry/lib/contract includes it.
 */
#ifndef CHAN_CONTRACT_INTERNAL_H
#define CHAN_CONTRACT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/contract.h"

typedef enum chan_ynode_kind {
    CHAN_YNODE_SCALAR = 0,
    CHAN_YNODE_MAP,
    CHAN_YNODE_SEQ,
} chan_ynode_kind;

typedef struct chan_ynode chan_ynode;

/** One key/value pair of a mapping.  Both nodes are owned by the pair. */
typedef struct chan_ypair {
    chan_ynode *key;
    chan_ynode *value;
} chan_ypair;

/**
 * A YAML node with its 1-based position.  A tree: aliases are expanded into
 * copies (bounded by the node cap), so every node has exactly one owner.
 */
struct chan_ynode {
    chan_ynode_kind kind;
    int line;
    int column;
    char *tag;          /**< explicit tag, or NULL */
    char *value;        /**< scalar text (NUL-terminated), NULL for collections */
    size_t len;         /**< scalar length (the text may contain NUL bytes) */
    bool plain;         /**< scalar written without quotes (may be int/bool/null) */
    chan_ynode **items; /**< sequence items */
    chan_ypair *pairs;  /**< mapping pairs in document order */
    size_t count;       /**< items or pairs */
    size_t cap;
};

/** Limits of chan_contract__yaml_load (all > 0). */
typedef struct chan_yaml_limits {
    size_t max_depth;
    size_t max_aliases;
    size_t max_nodes;
} chan_yaml_limits;

/**
 * Parse text into a node tree.  Syntax errors, limits, several documents and
 * duplicate keys are reported to diags under file.
 *
 * @param[out] out the root (free with chan_contract__ynode_free); NULL when the
 *                 text is empty, or unusable (an error diagnostic was added)
 * @return 0, or CHAN_EINVALID when an error diagnostic was added
 */
int chan_contract__yaml_load(chan_ynode **out, const char *text, size_t len, const char *file,
                             const chan_yaml_limits *limits, chan_diag_list *diags);

/** Free a node tree.  NULL-safe. */
void chan_contract__ynode_free(chan_ynode *node);

/** The model.  Every string is owned by the contract. */
struct chan_contract {
    char *file;
    char *api_version;
    char *name;
    char *description;
    char *team;
    char *maintainer;
    int64_t peak_qps;
    int64_t retention_hours;
    char *version;             /**< "MAJOR.MINOR.PATCH", or NULL */
    int64_t avg_message_bytes; /**< declared average message size, 0 when not declared */
    char *cleanup_policy;      /**< "delete", "compact" or "compact,delete", or NULL */
    char *deprecation_date;
    char *retirement_date;
    char *subject;
    chan_compat_mode compatibility;
    char *waiver_reason; /**< schema.waiver.reason, or NULL */
    int compat_line;     /**< position of schema.compatibility's value, for the floor */
    int compat_column;
    chan_contract_version *versions;
    size_t n_versions;
    chan_contract_consumer *consumers;
    size_t n_consumers;
    chan_contract_producer *producers;
    size_t n_producers;
    int name_line; /**< position of the channel name, for cross-file checks */
    int name_column;
};

/**
 * Parse like chan_contract_parse, but also hand back the partial model when
 * the contract has errors (whatever could be read), for cross-file checks.
 *
 * @param[out] out the model, or NULL when the text is unusable
 * @param[out] out_ok true when no error diagnostic was added
 */
int chan_contract__parse_partial(chan_contract **out, bool *out_ok, const char *text, size_t len,
                                 const char *filename, const chan_contract_parse_options *opts,
                                 chan_diag_list *diags);

#endif
