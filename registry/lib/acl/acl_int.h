/*
 * acl_int.h - declarations shared between the files of the acl module:
 * the layout of sets and scopes and the input checks used by both the
 * planner and the exports.
 */
#ifndef CHAN_ACL_INT_H
#define CHAN_ACL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "chan/acl.h"
#include "chan/common.h"

struct chan_acl_set {
    chan_acl_binding *items; /**< sorted, unique; strings owned */
    size_t n;
    size_t cap;
};

/** A sorted array of unique owned strings. */
typedef struct chan_acl__strset {
    char **items;
    size_t n;
    size_t cap;
} chan_acl__strset;

struct chan_acl_scope {
    chan_acl__strset topics;
    chan_acl__strset groups;
};

/** Insert a copy of s if absent. */
void chan_acl__strset_add(chan_acl__strset *set, const char *s);
/** True when s is in the set. */
bool chan_acl__strset_has(const chan_acl__strset *set, const char *s);
/** True when some string of the set starts with prefix. */
bool chan_acl__strset_has_prefix(const chan_acl__strset *set, const char *prefix);
/** Free the strings and the array.  NULL-safe. */
void chan_acl__strset_dispose(chan_acl__strset *set);

/** True when s is a legal Kafka topic name (1..249 of [A-Za-z0-9._-], not "." or ".."). */
bool chan_acl__topic_name_ok(const char *s);
/** True when s is "Type:name" with both parts non-empty and no control characters. */
bool chan_acl__principal_ok(const char *s);
/** True when s is non-empty and has no control characters. */
bool chan_acl__text_ok(const char *s);

/**
 * A binding as the JSON object of chan_acl_plan_render_json (keys in a fixed
 * order).  @return a new reference
 */
json_t *chan_acl__binding_json(const chan_acl_binding *b);

/**
 * Append the state line that ends a shell export, CHAN_ACL_EXPORT_STATE_PREFIX
 * then {"bindings":[...],"quota_users":[...]} and a newline (state.c).
 */
void chan_acl__state_render(chan_buf *buf, const chan_acl_set *bindings,
                            const chan_acl__strset *quota_users);

/**
 * Parse an "as of" date (NULL: today).
 * @return 0 or CHAN_EINVALID
 */
int chan_acl__as_of(int64_t *out, const char *as_of, chan_error *err);

#endif
