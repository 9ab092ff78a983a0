/*
 * avro_int.h - the in-memory model of a parsed Avro schema, shared by the
 * parser (schema.c) and the compatibility engine (compat.c).  Not installed.
 *
 * A chan_avro_schema owns every node in `nodes`; nodes point at each other
 * freely (named-type references, recursion), so a node is never freed on its
 * own: chan_avro_schema_free frees the whole array.
 */
#ifndef CHAN_AVRO_INT_H
#define CHAN_AVRO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "chan/avro.h"
#include "chan/common.h"

/** Maximum nesting of schema definitions; deeper input is rejected. */
#define CHAN_AVRO_MAX_DEPTH 256

typedef enum avro_kind {
    AVRO_NULL = 0,
    AVRO_BOOLEAN,
    AVRO_INT,
    AVRO_LONG,
    AVRO_FLOAT,
    AVRO_DOUBLE,
    AVRO_BYTES,
    AVRO_STRING,
    AVRO_RECORD,
    AVRO_ENUM,
    AVRO_ARRAY,
    AVRO_MAP,
    AVRO_UNION,
    AVRO_FIXED,
} avro_kind;

/** Valid logical types (an invalid annotation is dropped at parse time). */
typedef enum avro_logical {
    AVRO_LT_NONE = 0,
    AVRO_LT_DECIMAL,
    AVRO_LT_UUID,
    AVRO_LT_DATE,
    AVRO_LT_TIME_MILLIS,
    AVRO_LT_TIME_MICROS,
    AVRO_LT_TIMESTAMP_MILLIS,
    AVRO_LT_TIMESTAMP_MICROS,
    AVRO_LT_LOCAL_TIMESTAMP_MILLIS,
    AVRO_LT_LOCAL_TIMESTAMP_MICROS,
    AVRO_LT_DURATION,
} avro_logical;

typedef struct avro_node avro_node;

/*
 * AddressSanitizer builds poison the arena's memory that is not handed out:
 * the unused tail of a chunk, a chunk kept in the per-thread cache once its
 * schema is freed, and the kind part that a primitive node does not have
 * (node_new), so that a read of any of them is reported where it happens.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CHAN_AVRO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CHAN_AVRO_ASAN 1
#endif
#endif
#ifdef CHAN_AVRO_ASAN
#include <sanitizer/asan_interface.h>
#define chan_avro__poison(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define chan_avro__unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define chan_avro__poison(p, n)   ((void)(p), (void)(n))
#define chan_avro__unpoison(p, n) ((void)(p), (void)(n))
#endif

/** Bump allocator of one schema (json.c): freed as a whole. */
typedef struct avro_arena {
    struct arena_chunk *head;
    size_t next_size; /**< size of the next chunk */
    size_t bytes;     /**< bytes allocated */
} avro_arena;

void *chan_avro__arena_alloc(avro_arena *a, size_t size);
char *chan_avro__arena_strdup(avro_arena *a, const char *s);
char *chan_avro__arena_strndup(avro_arena *a, const char *s, size_t len);
/** Make the first chunk at least size bytes (before the first allocation). */
void chan_avro__arena_reserve(avro_arena *a, size_t size);
/** Whether p points into memory that a has handed out. */
bool chan_avro__arena_owns(const avro_arena *a, const void *p);
void chan_avro__arena_dispose(avro_arena *a);

typedef enum avro_json_type {
    AVRO_JSON_NULL = 0,
    AVRO_JSON_TRUE,
    AVRO_JSON_FALSE,
    AVRO_JSON_INTEGER,
    AVRO_JSON_REAL,
    AVRO_JSON_STRING,
    AVRO_JSON_ARRAY,
    AVRO_JSON_OBJECT,
} avro_json_type;

typedef struct avro_json_member avro_json_member;

/** A JSON value read by chan_avro__json_read; lives in the schema's arena. */
typedef struct avro_json {
    uint8_t type; /**< avro_json_type */
    uint32_t len; /**< bytes of a string, items of an array, members of an object */
    union {
        int64_t i;
        double d;
        const char *s; /**< NUL-terminated; may contain U+0000 (len counts all) */
        struct avro_json *items;
        avro_json_member *members; /**< in document order */
    } u;
} avro_json;

struct avro_json_member {
    const char *key; /**< NUL-terminated, no U+0000 */
    avro_json value;
};

/**
 * Read JSON text (any value at the top; duplicate keys, invalid UTF-8 and
 * integers beyond 64 bits refused) into arena.  Errors read "invalid JSON at
 * line L, column C: ..." and locate err.
 */
int chan_avro__json_read(avro_json **out, avro_arena *arena, const char *text, size_t len,
                         chan_error *err);

/** Member key of an object; NULL when obj is not an object or lacks it. */
const avro_json *chan_avro__json_get(const avro_json *obj, const char *key);

/** Write v as compact JSON (object members sorted by key when sort). */
void chan_avro__json_write(chan_buf *b, const avro_json *v, bool sort);

static inline bool avro_json_is(const avro_json *v, avro_json_type t)
{
    return v != NULL && v->type == t;
}

static inline bool avro_json_is_boolean(const avro_json *v)
{
    return v != NULL && (v->type == AVRO_JSON_TRUE || v->type == AVRO_JSON_FALSE);
}

static inline bool avro_json_is_number(const avro_json *v)
{
    return v != NULL && (v->type == AVRO_JSON_INTEGER || v->type == AVRO_JSON_REAL);
}

/** The text of a string value, NULL for anything else. */
static inline const char *avro_json_string(const avro_json *v)
{
    return v != NULL && v->type == AVRO_JSON_STRING ? v->u.s : NULL;
}

/** One slot of an avro_index; key is borrowed, NULL for an empty slot. */
typedef struct avro_slot {
    const char *key;
    uint32_t hash; /**< chan_avro__hash(key) */
    uint32_t val;
} avro_slot;

/** String-keyed hash index (index.c).  Zero-initialised is empty. */
typedef struct avro_index {
    avro_slot *slots;
    size_t cap; /**< 0 or a power of two */
    size_t n;
} avro_index;

/** One record field.  Strings are owned by the schema. */
typedef struct avro_field {
    char *name;
    avro_node *type;
    const avro_json *default_value; /**< in the schema's arena, NULL when absent */
    char **aliases;
    size_t n_aliases;
    bool deprecated;       /**< "deprecated": true */
    const avro_json *json; /**< the field's JSON object (in the schema's arena) */
    size_t index;          /**< position in the record */
} avro_field;

/**
 * What a check of a field against a field of another record reads first
 * (compat.c: check_record), in one small array per record (avro_node.keys)
 * so that a check against many earlier schemas reads a few cache lines of
 * each instead of every field's name and type node.
 */
typedef struct avro_field_key {
    uint32_t hash; /**< chan_avro__hash(name) */
    uint8_t len;   /**< length of the name when it is in `name`, else 0 */
    /** The type as a set of primitive kinds, bit k for kind k: a union's
     *  avro_node.simple, one bit for a primitive other than a decimal,
     *  0 for any other type. */
    uint8_t kinds;
    char name[26]; /**< the name, NUL-padded, when shorter than 26 bytes */
} avro_field_key;

struct avro_node {
    uint8_t kind;    /**< avro_kind */
    uint8_t logical; /**< avro_logical */
    bool external;   /**< the top-level type of a referenced schema */
    /** A union whose branches are all primitives other than decimals: bit k
     *  set for each branch of kind k (what a check of it needs, compat.c);
     *  0 for any other union and any other node. */
    uint8_t simple;
    int32_t precision, scale; /**< decimal only */
    uint32_t named_id;        /**< position in chan_avro_schema.named (named types only) */
    /* JSON pointer of the definition ("" for the root): chan_avro__pointer,
     * made on first use (error messages only) from the pointer of ptr_base
     * (the node whose definition encloses this one; NULL: the root) and the
     * path from its JSON to this node's, so that a parse does not copy a
     * path per node. */
    const avro_node *ptr_base;
    char *pointer;
    /** The JSON value that defines the node (an object, a union's array) or
     *  names it (a string), in the schema's arena. */
    const avro_json *json;

    /* named types: record, enum, fixed */
    char *fullname;
    const char *name; /**< unqualified part of fullname */
    char **aliases;   /**< full names */
    size_t n_aliases;

    /* What a kind adds: only the part of its kind is there (node_new in
     * schema.c allocates a primitive node up to here). */
    union {
        struct { /* record */
            avro_field *fields;
            size_t n_fields;
            avro_field_key *keys; /**< one per field (arena) */
            /** chan_avro__bloom_bits of each field name's hash: a name
             *  with either bit clear is not a field */
            uint64_t field_bloom;
            avro_index field_ix;       /**< field name -> position */
            avro_index field_alias_ix; /**< field alias -> position */
        };
        struct { /* enum */
            char **symbols;
            size_t n_symbols;
            const char *enum_default; /**< one of symbols, or NULL */
            avro_index symbol_ix;     /**< symbol -> position */
        };
        int64_t size;     /**< fixed */
        avro_node *items; /**< array items, map values */
        struct {          /* union */
            avro_node **branches;
            size_t n_branches;
            avro_index branch_name_ix;  /**< unqualified name of a named branch -> position */
            avro_index branch_alias_ix; /**< alias of a named branch -> position */
            uint32_t kind_first[AVRO_FIXED + 1]; /**< position + 1 of the first branch of a
                                                    kind, 0 = none */
        };
    };
};

struct chan_avro_schema {
    avro_arena arena; /**< the JSON of the text and its references, names, paths */
    avro_json *root;  /**< the parsed JSON (arena) */
    avro_node *top;
    avro_node **nodes; /**< every node, owned */
    size_t n_nodes, cap_nodes;
    avro_node **named; /**< named types in definition order (borrowed from nodes) */
    size_t n_named, cap_named;
    avro_index name_ix;  /**< full name -> position in named */
    avro_index alias_ix; /**< alias (full name) of a named type -> position in named */
    char **ref_texts;    /**< copies of the referenced texts */
    size_t n_ref_texts;
    chan_avro_reference *refs; /**< the schema's references; strings owned */
    size_t n_refs;
    /* Made on first use, published atomically (schema.c: derived_text). */
    char *canonical;
    char *normalized; /**< Confluent's text (text.c) */
    char *identity;   /**< chan_avro_schema_identity (text.c) */
    uint64_t fingerprint;
    bool have_fingerprint;
};

/** How chan_avro__write renders a schema. */
enum {
    CHAN_AVRO_W_SORT = 1,      /**< sort custom attributes, aliases, JSON object members */
    CHAN_AVRO_W_NORMALIZE = 2, /**< Confluent's normalize (implies SORT) */
    CHAN_AVRO_W_INLINE = 4,    /**< define referenced types in place (for Avro C) */
};

/** Render schema as JSON text (text.c); caller frees. */
char *chan_avro__write(const chan_avro_schema *schema, unsigned flags);

/** The identity text of schema (text.c); caller frees. */
char *chan_avro__identity(const chan_avro_schema *schema);

/** FNV-1a hash of a string. */
uint32_t chan_avro__hash(const char *s);

/** The two bits of avro_node.field_bloom that a name of hash h sets (from
 *  the high bits of the hash, which depend on every byte of the name). */
static inline uint64_t chan_avro__bloom_bits(uint32_t h)
{
    return (1ull << (h >> 26)) | (1ull << ((h >> 20) & 63));
}

/** Add key -> val (key borrowed; duplicate keys allowed). */
void chan_avro__index_put(avro_index *ix, const char *key, uint32_t val);

/**
 * Add key -> val unless key is there already (key borrowed), for an index
 * whose keys are all added this way (unique: chan_avro__index_find reads it).
 * @return -1 when added, else the value stored under key
 */
long chan_avro__index_add(avro_index *ix, const char *key, uint32_t val);

/** chan_avro__index_add with hash = chan_avro__hash(key) known. */
long chan_avro__index_add_hashed(avro_index *ix, const char *key, uint32_t hash, uint32_t val);

/** Make room for n more keys (when their number is known in advance). */
void chan_avro__index_reserve(avro_index *ix, size_t n);

/** Next slot with `key` after prev (NULL: the first), or NULL. */
const avro_slot *chan_avro__index_next(const avro_index *ix, const char *key,
                                       const avro_slot *prev);

/** The value stored under key in an index of unique keys (filled with
 *  chan_avro__index_add), or -1: the first match ends the search. */
long chan_avro__index_find(const avro_index *ix, const char *key);

/** chan_avro__index_find with hash = chan_avro__hash(key) known. */
long chan_avro__index_find_hashed(const avro_index *ix, const char *key, uint32_t hash);

/** Smallest value stored under key, or -1. */
long chan_avro__index_get(const avro_index *ix, const char *key);

/** Free the slots; ix is empty afterwards. */
void chan_avro__index_dispose(avro_index *ix);

/** Find a record field by name; NULL when absent.  O(1) on average. */
const avro_field *chan_avro__field_find(const avro_node *record, const char *name);

/** The field of record named like field `at` of reader (another record),
 *  trying position `at` first, where records that share their order keep
 *  the field; NULL when absent.  Reads the avro_field_key of both records
 *  rather than names where it can. */
const avro_field *chan_avro__field_find_at(const avro_node *record, const avro_node *reader,
                                           size_t at);

/** Named type of a schema by full name; NULL when absent. */
const avro_node *chan_avro__named_find(const chan_avro_schema *schema, const char *fullname);

/** JSON pointer of a node's definition ("" for the root); valid as long as the schema. */
const char *chan_avro__pointer(const avro_node *n);

/** Name of a kind as written in schemas: "record", "int", ... */
const char *chan_avro__kind_name(avro_kind kind);

/** Name of a logical type as written in schemas, NULL for none. */
const char *chan_avro__logical_name(avro_logical lt);

#endif
