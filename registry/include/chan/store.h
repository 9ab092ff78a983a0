/*
 * store.h - the registry's persistent storage.
 *
 * One interface, two backends: embedded SQLite (the default) and PostgreSQL
 * through libpq.  chan_store_open picks the backend from the URL and applies
 * the ordered SQL migrations of migrations/<backend>/ that are not yet
 * recorded in the schema_migrations table.
 *
 * Semantics every backend guarantees (checked by the conformance suite in
 * tests/unit/store/):
 *  - a function that returns 0 after a write has committed it durably;
 *  - every write runs in one transaction: all of it happens or none;
 *  - schema ids are global, immutable and stable: the same schema text gets
 *    the same id in every subject, and an id is never reused;
 *  - versions of a subject are 1, 2, 3, ... without duplicates even under
 *    concurrent writers (several threads or several daemons);
 *  - every change of channels, consumers, schemas and configuration appends
 *    an audit entry in the same transaction; a write that changes nothing
 *    (idempotent re-registration) appends nothing.
 *
 * How the backends keep these promises:
 *  - SQLite runs in WAL mode with synchronous=FULL and a busy timeout;
 *    write transactions start with BEGIN IMMEDIATE.  SQLite has a single
 *    writer, so there every writer waits for the one before it (readers
 *    never wait).
 *  - PostgreSQL commits with the server's synchronous_commit (default on).
 *    Writers take transaction-scoped advisory locks on the subject or
 *    channel they change, so only writers of the same object wait for each
 *    other; schema ids come from a sequence; (subject, version) is unique.
 *
 * Bad arguments (empty or over-long names, invalid UTF-8, control
 * characters in names, texts over the CHAN_STORE_*_MAX limits, unknown
 * levels or modes) are CHAN_EINVALID before anything is written.
 *
 * A chan_store may be used from several threads at once: it holds a pool of
 * connections (chan_store_options.pool_size; a caller waits while all are in
 * use).  A PostgreSQL connection that broke (server restart, idle timeout) is
 * re-established on its next use; an operation that hits a dead connection
 * on its first statement is retried once on the new one, others fail with
 * CHAN_EUNAVAILABLE.
 *
 * Ownership: records returned through `out` parameters belong to the caller
 * and are freed with the matching _free function; arrays of records with
 * chan_store_*_list_free.  Records passed in are borrowed.
 */
#ifndef CHAN_STORE_H
#define CHAN_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/error.h"
#include "chan/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chan_store chan_store;

/** Longest name (subject, channel, consumer, team, principal, actor) in bytes. */
#define CHAN_STORE_NAME_MAX 1024
/** Longest free text of a consumer (scenario, degradation) in bytes. */
#define CHAN_STORE_TEXT_MAX 65536
/** Longest schema text in bytes. */
#define CHAN_STORE_SCHEMA_MAX (1024 * 1024)
/** Longest channel document (the contract as JSON) in bytes. */
#define CHAN_STORE_DOCUMENT_MAX (4 * 1024 * 1024)

/**
 * Refinements of CHAN_ENOTFOUND / CHAN_ECONFLICT / CHAN_EINVALID, stored in
 * chan_error.reason so that the HTTP layer can map them to Confluent error
 * codes (40401 subject not found, 40402 version not found, ...).
 */
typedef enum chan_store_reason {
    CHAN_STORE_R_NONE = 0,
    CHAN_STORE_R_SUBJECT_NOT_FOUND,        /**< 40401 */
    CHAN_STORE_R_VERSION_NOT_FOUND,        /**< 40402 */
    CHAN_STORE_R_SCHEMA_NOT_FOUND,         /**< 40403 */
    CHAN_STORE_R_SUBJECT_SOFT_DELETED,     /**< 40404 */
    CHAN_STORE_R_SUBJECT_NOT_SOFT_DELETED, /**< 40405 */
    CHAN_STORE_R_VERSION_SOFT_DELETED,     /**< 40406 */
    CHAN_STORE_R_VERSION_NOT_SOFT_DELETED, /**< 40407 */
    CHAN_STORE_R_CHANNEL_NOT_FOUND,
    CHAN_STORE_R_CONSUMER_NOT_FOUND,
    CHAN_STORE_R_REVISION_MISMATCH,  /**< optimistic concurrency check failed */
    CHAN_STORE_R_READ_ONLY,          /**< subject or registry mode forbids writes (42205) */
    CHAN_STORE_R_CONFIG_NOT_FOUND,   /**< no compatibility level at that scope (40408) */
    CHAN_STORE_R_MODE_NOT_FOUND,     /**< no mode at that scope (40409) */
    CHAN_STORE_R_CHANNEL_DEPRECATED, /**< a new consumer on a deprecated channel */
    CHAN_STORE_R_GROUP_IN_USE,       /**< another consumer of the channel has the group */
    CHAN_STORE_R_TOKEN_NOT_FOUND,    /**< no API token with that id */
    CHAN_STORE_R_TOKEN_REVOKED,      /**< the API token was revoked before */
    CHAN_STORE_R_NO_WAIVER,          /**< the channel's contract carries no waiver */
    CHAN_STORE_R_CONTRACT_MANAGED,   /**< the consumer is in the contract: change the contract */
    CHAN_STORE_R_NOT_PENDING,        /**< the consumer awaits no decision */
    CHAN_STORE_R_NOT_APPROVED,       /**< the consumer is pending or rejected */
    CHAN_STORE_R_REFERENCE_EXISTS,   /**< another schema references the version (42206) */
    CHAN_STORE_R_TIMEOUT,            /**< the database did not answer in time (50002) */
    CHAN_STORE_R_NOT_IMPORT_MODE,    /**< a given id outside IMPORT mode (42205) */
    CHAN_STORE_R_NOT_READWRITE_MODE, /**< a registration without id in IMPORT mode (42205) */
    CHAN_STORE_R_IMPORT_NOT_EMPTY,   /**< IMPORT mode asked of a scope with versions (42205) */
    CHAN_STORE_R_ID_IN_USE,          /**< the given id holds another schema (42205) */
    CHAN_STORE_R_VERSION_EXISTS,     /**< the given version holds another schema (42205) */
    CHAN_STORE_R_VERSION_NOT_NEXT,   /**< a given version that is not the next one (42201) */
} chan_store_reason;

/** The reason of the last store error in err (0 when none or err is NULL). */
int chan_store_error_reason(const chan_error *err);

typedef struct chan_store_options {
    unsigned int version;       /**< CHAN_STORE_OPTIONS_VERSION */
    const char *migrations_dir; /**< root holding sqlite/ and postgres/; NULL: built-in default */
    unsigned int pool_size;     /**< connections; 0: default (8); sqlite::memory: always 1 */
    bool read_only;             /**< open without applying migrations (fails if any is pending) */
    /**
     * Schemas kept in memory for chan_store_schema_by_id, at most
     * CHAN_STORE_SCHEMA_CACHE_MAX and 64 MiB of text; 0 disables the cache.
     */
    size_t schema_cache_entries;
    /*
     * Deadlines (0: the default of each).  Every call of the store ends
     * within them, also when the database accepts connections but never
     * answers (a stopped server): it then fails with CHAN_EUNAVAILABLE and
     * reason CHAN_STORE_R_TIMEOUT.
     */
    unsigned int connect_timeout_ms;   /**< PostgreSQL: open a connection (default 5000) */
    unsigned int statement_timeout_ms; /**< PostgreSQL: server statement_timeout (default 10000) */
    unsigned int reply_timeout_ms;     /**< PostgreSQL: wait for a reply (default 12000) */
    unsigned int acquire_timeout_ms;   /**< wait for a free pooled connection (default 5000) */
    unsigned int busy_timeout_ms;      /**< SQLite: wait for the write lock (default 5000) */
    /**
     * PostgreSQL: do not cache the latest versions of subjects, the
     * compatibility levels and the modes.  By default they are cached and
     * every write of any process on the database empties the caches of all
     * (NOTIFY chanreg_cache, LISTENed by a thread of each store); a store
     * whose listener is not connected reads the database.
     */
    bool no_read_cache;
} chan_store_options;

#define CHAN_STORE_SCHEMA_CACHE_DEFAULT 8192
#define CHAN_STORE_SCHEMA_CACHE_MAX     ((size_t)1 << 20)

#define CHAN_STORE_OPTIONS_VERSION 1
#define CHAN_STORE_OPTIONS_INIT                                                                    \
    {                                                                                              \
        CHAN_STORE_OPTIONS_VERSION, NULL, 0, false, CHAN_STORE_SCHEMA_CACHE_DEFAULT, 0, 0, 0, 0,   \
            0, false                                                                               \
    }

#define CHAN_STORE_CONNECT_TIMEOUT_DEFAULT_MS   5000
#define CHAN_STORE_STATEMENT_TIMEOUT_DEFAULT_MS 10000
#define CHAN_STORE_REPLY_TIMEOUT_DEFAULT_MS     12000
#define CHAN_STORE_ACQUIRE_TIMEOUT_DEFAULT_MS   5000
#define CHAN_STORE_BUSY_TIMEOUT_DEFAULT_MS      5000

/**
 * Open a store and bring its schema up to date.
 *
 * @param[out] out the store (free with chan_store_free), NULL on failure
 * @param url      "postgres://..." / "postgresql://..." (libpq URI or
 *                 "postgres:" followed by a key=value conninfo), or
 *                 "sqlite:PATH" / a plain file path for SQLite,
 *                 "sqlite::memory:" for a private in-memory database
 * @param opts     options, may be NULL for defaults
 *
 * Each pending migration runs in its own transaction together with its row
 * in schema_migrations (version, name, applied_at, checksum).  An applied
 * migration whose file changed since (checksum mismatch), or that this
 * build does not know, is refused.  Processes opening the same database at
 * once apply each migration exactly once (PostgreSQL: a session advisory
 * lock; SQLite: the write lock).  The migrations are compiled into the
 * library; opts->migrations_dir reads them from disk instead.
 *
 * @return 0, CHAN_EINVALID (bad URL or migration file name),
 *         CHAN_EUNAVAILABLE (cannot connect), CHAN_EIO (cannot open the
 *         SQLite file or read migrations_dir), CHAN_ECONFLICT (read_only
 *         with pending migrations), CHAN_EINTERNAL (a migration failed or
 *         does not match the database)
 */
int chan_store_open(chan_store **out, const char *url, const chan_store_options *opts,
                    chan_error *err);

/** Close every connection and free the store.  NULL-safe. */
void chan_store_free(chan_store *store);

/** "sqlite" or "postgres". */
const char *chan_store_backend_name(const chan_store *store);

/** Cheap liveness probe (a trivial query).  @return 0 or CHAN_EUNAVAILABLE */
int chan_store_ping(chan_store *store, chan_error *err);

/**
 * The store's generation: a number that moves (grows) whenever data of the
 * store may have changed, so that a reply computed from the store while the
 * generation was G is still right as long as the generation is G.  It moves
 * at once on every committed (or possibly committed) write transaction of
 * this store; on SQLite also on the commits of other processes on the same
 * file, within 10 ms (PRAGMA data_version, asked at most that often); on
 * PostgreSQL on every NOTIFY chanreg_cache, that is on the writes of every
 * other daemon on the database, as soon as the notification arrives.
 * Thread-safe; cheap (no round trip).
 *
 * Read it BEFORE reading the data whose validity it is to tag: a write that
 * commits while the data is read then makes the tag old.
 *
 * @param[out] out the generation (untouched when false is returned)
 * @return true, or false when the store cannot tell: a PostgreSQL store
 *         without its read cache or whose LISTEN connection is not
 *         listening (notifications of other daemons may be lost), or a
 *         SQLite store that could not be asked.  Cache nothing then.
 */
bool chan_store_generation(chan_store *store, uint64_t *out);

/**
 * Give up on the database (shutdown deadline): every call waiting for a
 * pooled connection, for the SQLite write lock or for a PostgreSQL reply
 * returns CHAN_EUNAVAILABLE at once; a PostgreSQL statement in flight is
 * cancelled (PQcancel, best effort, on a thread of its own) and its
 * connection closed, so that its transaction rolls back; later calls fail
 * the same way.  Nothing committed is affected.  Thread-safe, idempotent;
 * chan_store_free must still be called once no thread uses the store.
 */
void chan_store_abort(chan_store *store);

/** Number of migrations recorded as applied. */
int chan_store_migration_count(chan_store *store, int *out, chan_error *err);

/* ------------------------------------------------------------------ */
/* Schemas and subjects (Confluent Schema Registry semantics)           */
/* ------------------------------------------------------------------ */

/**
 * A schema reference (Confluent): the named type `name` is defined by
 * version `version` of subject `subject`.
 */
typedef struct chan_schema_reference {
    char *name;
    char *subject;
    int version;
} chan_schema_reference;

/** Free an array of n references and their strings.  NULL-safe. */
void chan_schema_reference_list_free(chan_schema_reference *list, size_t n);

/** One version of a subject. */
typedef struct chan_schema_version {
    char *subject;
    int version;        /**< 1, 2, 3, ... */
    int64_t id;         /**< global schema id */
    char *schema_type;  /**< "AVRO" */
    char *schema;       /**< the schema text as registered (normalized JSON) */
    bool deleted;       /**< soft-deleted */
    int64_t created_at; /**< unix seconds */
    /** The references of its schema id, in their order (register, version get, lookup). */
    chan_schema_reference *references;
    size_t n_references;
} chan_schema_version;

void chan_schema_version_free(chan_schema_version *v);
void chan_schema_version_list_free(chan_schema_version **list, size_t n);

/**
 * Called by chan_store_schema_register while the subject is locked, with
 * every live (not soft-deleted) version of the subject, oldest first, so that
 * the compatibility check and the insert are atomic.
 *
 * It runs inside the store's write transaction on one of its pooled
 * connections, so it must not call chan_store functions itself (read what
 * it needs, such as the compatibility level, before registering).
 *
 * @return 0 to go on and insert, or an error (usually CHAN_EINCOMPATIBLE
 *         with the reasons in err) to abort without writing
 */
typedef int (*chan_store_check_fn)(void *ctx, const chan_schema_version *const *existing,
                                   size_t n_existing, chan_error *err);

typedef struct chan_schema_register_request {
    const char *subject;
    const char *schema_type; /**< "AVRO"; NULL means "AVRO" */
    const char *schema;      /**< the schema text to keep */
    /**
     * What makes two schemas the same schema (chan_avro_schema_identity,
     * which covers the references); NULL: the text itself.
     */
    const char *identity;
    /** References stored with a new schema id, in their order (versions resolved, > 0). */
    const chan_schema_reference *references;
    size_t n_references;
    const char *actor;         /**< who asks, for the audit log */
    chan_store_check_fn check; /**< may be NULL: no check */
    void *check_ctx;
    int64_t id;  /**< > 0: register under this id (IMPORT mode only); 0: assign one */
    int version; /**< > 0: this version (IMPORT mode: any; else only the next); 0: the next */
    /**
     * Give `check` only the latest live version (0 or 1 of them), for
     * checks that judge against no other (the non-transitive modes): the
     * earlier versions are then not read at all.
     */
    bool check_latest_only;
    /**
     * May be NULL.  When set, the versions given to `check` come with
     * their subject, number and schema id only (the list is read from the
     * subject's versions alone: schema_type NULL, created_at 0) and without
     * their text (schema NULL), except those this asks for.  It is called
     * once before `check`, with the versions `check` will get in the same
     * order (oldest first), and sets want[i] (all false on entry) for each
     * versions[i] whose text it needs: those are read in one more query.
     * For checks that keep parsed schemas by id: the earlier texts are
     * then read only when missing.
     */
    void (*check_wants_texts)(void *check_ctx, const chan_schema_version *const *versions, size_t n,
                              bool *want);
} chan_schema_register_request;

/**
 * Register a schema under a subject.  If the subject already has a live
 * version with exactly this schema text, that version is returned and
 * *out_created is false (no write, no audit entry, `check` not called).
 * Otherwise `check` is called, the schema gets its global id (the id of the
 * same type and text registered anywhere else, or a new one) and the next
 * version is appended: one more than the highest version of the subject,
 * soft-deleted ones included.  So registering a schema again after its
 * version was soft-deleted creates a new version with the same id, as the
 * Confluent registry does.  Audit action "schema.register", object
 * "subject/<subject>/<version>".
 *
 * Schema identity is the (type, identity) pair: the store indexes its own
 * hash of the identity.  A new id keeps the text and references of the
 * registration that created it.
 *
 * Modes (the subject's, else the global one): READONLY refuses (READ_ONLY);
 * IMPORT accepts only registrations that give an id (else
 * NOT_READWRITE_MODE), and those are refused in every other mode
 * (NOT_IMPORT_MODE).  An import (req->id > 0) skips `check`, keeps the id
 * (ID_IN_USE when it holds another type or text) and the version (any
 * number; VERSION_EXISTS when it holds another id or text; the next one when
 * 0); registering what is already there identically, soft-deleted or not,
 * writes nothing (*out_created false).  New ids are always above every id
 * in the store.  Audit action "schema.import" for imports.  Outside IMPORT
 * mode a given version must be the next one (VERSION_NOT_NEXT).
 *
 * @param[out] out         the (new or existing) version; caller frees
 * @param[out] out_created true when a new version was written; may be NULL
 * @return 0, the error of `check`, CHAN_ECONFLICT with reason READ_ONLY
 *         (the subject's mode, else the global mode, is READONLY) or one of
 *         the reasons above, CHAN_EINVALID, CHAN_EUNAVAILABLE
 */
int chan_store_schema_register(chan_store *store, chan_schema_version **out, bool *out_created,
                               const chan_schema_register_request *req, chan_error *err);

/**
 * Call req->check with the live versions of req->subject exactly as
 * chan_store_schema_register would before registering (only the latest with
 * req->check_latest_only; texts as req->check_wants_texts asks), in one read
 * transaction, and register nothing: a schema tested against a subject
 * gets the verdict its registration would.  Only subject, check, check_ctx,
 * check_latest_only and check_wants_texts of req are used; `check` is
 * called also when the subject has no live version (with none).
 *
 * @return 0 (the check passed), the check's error (usually
 *         CHAN_EINCOMPATIBLE), CHAN_EINVALID or CHAN_EUNAVAILABLE
 */
int chan_store_schema_check(chan_store *store, const chan_schema_register_request *req,
                            chan_error *err);

/**
 * Find the version of subject whose schema has this identity (the
 * chan_schema_register_request.identity it was registered with)
 * (POST /subjects/{subject}).
 * @return 0, CHAN_ENOTFOUND (reason SUBJECT_NOT_FOUND or SCHEMA_NOT_FOUND)
 */
int chan_store_schema_lookup(chan_store *store, chan_schema_version **out, const char *subject,
                             const char *identity, bool include_deleted, chan_error *err);

/**
 * The references of schema id, in their order (none: *out NULL, *out_n 0).
 * @param[out] out free with chan_schema_reference_list_free
 * @return 0 or CHAN_ENOTFOUND (SCHEMA_NOT_FOUND)
 */
int chan_store_schema_references(chan_store *store, chan_schema_reference **out, size_t *out_n,
                                 int64_t id, chan_error *err);

/**
 * Ids of the schemas that reference version `version` (-1: the latest live
 * one) of subject, ascending; with !include_deleted only ids that a live
 * version uses (GET /subjects/{s}/versions/{v}/referencedby).
 * @param[out] out caller frees
 * @return 0 or CHAN_ENOTFOUND (SUBJECT_NOT_FOUND, VERSION_NOT_FOUND)
 */
int chan_store_referenced_by(chan_store *store, int64_t **out, size_t *out_n, const char *subject,
                             int version, bool include_deleted, chan_error *err);

/**
 * Version numbers (ascending) of subject whose schema has references; none
 * is not an error (*out NULL, *out_n 0).
 * @param[out] out caller frees
 */
int chan_store_subject_versions_with_references(chan_store *store, int **out, size_t *out_n,
                                                const char *subject, bool include_deleted,
                                                chan_error *err);

/**
 * Computes the identity of a stored schema for chan_store_schema_fill_identity.
 * @param[out] out the identity (heap string the store frees); on failure the
 *             store keeps the text itself as identity
 */
typedef int (*chan_store_identity_fn)(void *ctx, char **out, const char *schema_type,
                                      const char *schema, chan_error *err);

/**
 * Give every schema stored without an identity (rows written before
 * migration 0007) the identity that `fn` computes from its type and text,
 * in batches of one transaction each.  Texts are never changed.
 *
 * @param[out] out_n how many rows were filled; may be NULL
 * @return 0 or a store error
 */
int chan_store_schema_fill_identity(chan_store *store, size_t *out_n, chan_store_identity_fn fn,
                                    void *ctx, chan_error *err);

/**
 * Schema text and type by global id: served from the store's bounded
 * in-memory cache (chan_store_options.schema_cache_entries), else one
 * indexed query on a prepared statement, no transaction.  An id stays valid
 * after every version using it was deleted (ids are never reused, so they
 * are never removed either).
 *
 * @param[out] out_schema the text; caller frees
 * @param[out] out_type   the type, e.g. "AVRO"; caller frees; may be NULL
 * @return 0 or CHAN_ENOTFOUND (SCHEMA_NOT_FOUND)
 */
int chan_store_schema_by_id(chan_store *store, char **out_schema, char **out_type, int64_t id,
                            chan_error *err);

/**
 * chan_store_schema_by_id with the references of the id (in their order;
 * none: *out_refs NULL, *out_n_refs 0), from the same cache.
 * @param[out] out_refs free with chan_schema_reference_list_free; may be NULL
 */
int chan_store_schema_by_id_refs(chan_store *store, char **out_schema, char **out_type,
                                 chan_schema_reference **out_refs, size_t *out_n_refs, int64_t id,
                                 chan_error *err);

/**
 * Every (subject, version) that uses schema id, ordered by subject then
 * version (only subject, version and id are filled).
 * @return 0 or CHAN_ENOTFOUND (SCHEMA_NOT_FOUND)
 */
int chan_store_schema_usages(chan_store *store, chan_schema_version ***out, size_t *out_n,
                             int64_t id, bool include_deleted, chan_error *err);

/** Subject names in lexical order; soft-deleted subjects only with include_deleted. */
int chan_store_subject_list(chan_store *store, char ***out, size_t *out_n, bool include_deleted,
                            chan_error *err);
void chan_store_string_list_free(char **list, size_t n);

/**
 * Version numbers of a subject in ascending order.
 * @return 0 or CHAN_ENOTFOUND (SUBJECT_NOT_FOUND: no version at all, or only
 *         soft-deleted ones and !include_deleted)
 */
int chan_store_subject_versions(chan_store *store, int **out, size_t *out_n, const char *subject,
                                bool include_deleted, chan_error *err);

/**
 * One version; version -1 means the latest live one.
 * @return 0 or CHAN_ENOTFOUND (SUBJECT_NOT_FOUND or VERSION_NOT_FOUND)
 */
int chan_store_version_get(chan_store *store, chan_schema_version **out, const char *subject,
                           int version, bool include_deleted, chan_error *err);

/**
 * Delete one version.  A version that another schema references is not
 * deleted (CHAN_ECONFLICT with REFERENCE_EXISTS): a soft delete counts the
 * schemas a live version uses, a permanent one every version.
 * Soft delete marks it deleted (CHAN_ENOTFOUND with
 * VERSION_SOFT_DELETED when it already is).  Permanent delete removes a
 * version that was soft-deleted before (CHAN_ECONFLICT with
 * VERSION_NOT_SOFT_DELETED otherwise).  version -1 means the latest: the
 * latest live version for a soft delete, the latest at all for a permanent
 * one.  A READONLY mode refuses deletes too (CHAN_ECONFLICT, READ_ONLY).
 * Audit action "schema.delete", object "subject/<subject>/<version>".
 *
 * @param[out] out_version the deleted version number; may be NULL
 * @return 0, CHAN_ENOTFOUND (SUBJECT_NOT_FOUND, VERSION_NOT_FOUND,
 *         VERSION_SOFT_DELETED), CHAN_ECONFLICT (VERSION_NOT_SOFT_DELETED,
 *         READ_ONLY), CHAN_EINVALID
 */
int chan_store_version_delete(chan_store *store, int *out_version, const char *subject, int version,
                              bool permanent, const char *actor, chan_error *err);

/**
 * Delete a whole subject, soft or permanent, with the same preconditions
 * as chan_store_version_delete (SUBJECT_SOFT_DELETED, SUBJECT_NOT_SOFT_DELETED,
 * REFERENCE_EXISTS for references from other subjects).
 * A soft delete returns the versions it marked (the live ones); a permanent
 * delete needs every version soft-deleted, removes them all together with
 * the subject's compatibility level and mode, and returns them all.  After a
 * permanent delete the subject starts again at version 1.  Audit action
 * "subject.delete", object "subject/<subject>".
 *
 * @param[out] out   the deleted version numbers, ascending; caller frees;
 *                   may be NULL
 * @param[out] out_n their number; may be NULL
 */
int chan_store_subject_delete(chan_store *store, int **out, size_t *out_n, const char *subject,
                              bool permanent, const char *actor, chan_error *err);

/**
 * Compatibility level of a subject, or the global one for subject == NULL.
 * No fallback: a subject without its own level is CHAN_ENOTFOUND.
 * @param[out] out the level name, e.g. "BACKWARD"; caller frees
 * @return 0 or CHAN_ENOTFOUND (CONFIG_NOT_FOUND) when no level is set at
 *         that scope
 */
int chan_store_config_get(chan_store *store, char **out, const char *subject, chan_error *err);
/**
 * Set (level != NULL) or clear (level == NULL) a compatibility level:
 * BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL,
 * FULL_TRANSITIVE or NONE (else CHAN_EINVALID).  Refused (CHAN_ECONFLICT,
 * READ_ONLY) while the scope's mode (a subject's own, else the global one)
 * is READONLY, as Confluent does.  Setting the current value writes nothing.  Audit actions
 * "config.set" / "config.clear", object "config/<subject>" or "config" for the global level.
 */
int chan_store_config_set(chan_store *store, const char *subject, const char *level,
                          const char *actor, chan_error *err);

/**
 * Mode ("READWRITE", "READONLY", "IMPORT") with the same scoping as config
 * (reason MODE_NOT_FOUND; audit "mode.set" / "mode.clear", object
 * "mode/<subject>" or "mode").  Writes to a subject obey its own mode, else
 * the global one; READONLY refuses registrations and deletes.
 */
int chan_store_mode_get(chan_store *store, char **out, const char *subject, chan_error *err);

/**
 * Confluent's `normalize` setting of a subject, or the global one for
 * subject == NULL, with the same scoping as config (no fallback;
 * CHAN_ENOTFOUND with CONFIG_NOT_FOUND when not set at that scope).
 */
int chan_store_normalize_get(chan_store *store, bool *out, const char *subject, chan_error *err);
/**
 * Set (value 0 or 1) or clear (value -1) the normalize setting.  Setting
 * the current value writes nothing.  Audit "config.set" / "config.clear"
 * with "normalize" in the detail, object "config/<subject>" or "config".
 */
int chan_store_normalize_set(chan_store *store, const char *subject, int value, const char *actor,
                             chan_error *err);
int chan_store_mode_set(chan_store *store, const char *subject, const char *mode, const char *actor,
                        chan_error *err);

/**
 * chan_store_mode_set with Confluent's rule for entering IMPORT: unless
 * force, or the scope is already in IMPORT mode, the scope (the subject, or
 * the whole registry when subject is NULL) must hold no version, live or
 * soft-deleted (CHAN_ECONFLICT, IMPORT_NOT_EMPTY).
 */
int chan_store_mode_set_checked(chan_store *store, const char *subject, const char *mode,
                                bool force, const char *actor, chan_error *err);

/* ------------------------------------------------------------------ */
/* Channels (contracts), consumers, producers                          */
/* ------------------------------------------------------------------ */

/* The records (chan_channel_record, chan_consumer_record, chan_producer_record)
 * and their _free functions are in chan/model.h. */

/**
 * Called by chan_store_channel_put_ex while the channel is locked, inside
 * the write transaction, with the stored channel (old, NULL when it does not
 * exist yet) and the channel as it will be (next: the contract's consumers,
 * then the API consumers that are kept).  Like chan_store_check_fn it must
 * not call chan_store functions.
 *
 * @return 0 to go on, or an error (err set) to abort without writing
 */
typedef int (*chan_store_channel_check_fn)(void *ctx, const chan_channel_record *old,
                                           const chan_channel_record *next, chan_error *err);

/** Options of chan_store_channel_put_ex. */
typedef struct chan_channel_put_options {
    unsigned int version;              /**< CHAN_CHANNEL_PUT_OPTIONS_VERSION */
    int64_t expected_revision;         /**< -1 any; else must equal the stored one (0: new) */
    bool dry_run;                      /**< do everything, then roll back; nothing audited */
    chan_store_channel_check_fn check; /**< may be NULL */
    void *check_ctx;
} chan_channel_put_options;

#define CHAN_CHANNEL_PUT_OPTIONS_VERSION 1
#define CHAN_CHANNEL_PUT_OPTIONS_INIT                                                              \
    {                                                                                              \
        CHAN_CHANNEL_PUT_OPTIONS_VERSION, -1, false, NULL, NULL                                    \
    }

/** What chan_store_channel_put_ex did (or, with dry_run, would do). */
typedef struct chan_channel_put_result {
    int64_t revision; /**< the revision after the call */
    bool created;     /**< the channel did not exist */
    bool changed;     /**< something was (would be) written */
    /** API-origin consumers kept that the contract does not list, ordered by name. */
    chan_consumer_record *drift;
    size_t n_drift;
    /** Names of API-origin consumers the contract lists: now contract consumers. */
    char **adopted;
    size_t n_adopted;
} chan_channel_put_result;

/** Free what a result owns and zero it.  NULL-safe. */
void chan_channel_put_result_dispose(chan_channel_put_result *r);

/**
 * Create or replace a channel from its contract, with its consumers and
 * producers, in one transaction.
 *
 * The consumers of rec are the contract's: they are stored with origin
 * contract and state approved, whatever rec says.  Only contract-origin
 * consumers are managed: a stored contract consumer missing from rec is
 * removed; an API-origin consumer that rec lists is adopted (it becomes a
 * contract consumer, approved); the other API-origin consumers are kept and
 * returned as drift.  Consumers keep their registered_at when they already
 * existed (a changed one gets renewed_at = now).  An approved waiver
 * (chan_store_channel_waiver_approve) stays approved only while the
 * compatibility and the document's schema.waiver.reason stay the same.  When
 * nothing differs from the stored channel (times and revision are not compared), nothing is
 * written and out->changed is false.  Otherwise the revision goes up by one.
 * The `channel` fields of rec's consumers and producers may be NULL (or must
 * equal rec->name).  Audit action "channel.create" / "channel.update",
 * object "channel/<name>", with the changed fields, the added, removed and
 * updated consumers and producers, and the adopted consumers in the detail.
 *
 * opts->check runs under the channel's lock before anything is written.
 * With opts->dry_run the whole transaction runs and is rolled back: out is
 * what the real call would report, nothing is written or audited.
 *
 * @param[out] out  the result (chan_channel_put_result_dispose); required
 * @param opts      NULL for CHAN_CHANNEL_PUT_OPTIONS_INIT
 * @return 0, CHAN_ECONFLICT (REVISION_MISMATCH), CHAN_EINVALID, or the
 *         error of opts->check
 */
int chan_store_channel_put_ex(chan_store *store, chan_channel_put_result *out,
                              const chan_channel_record *rec, const chan_channel_put_options *opts,
                              const char *actor, chan_error *err);

/**
 * chan_store_channel_put_ex without check or dry run.
 *
 * @param expected_revision -1 for any; otherwise the write fails with
 *        CHAN_ECONFLICT (REVISION_MISMATCH) unless the stored revision equals
 *        it (0 = must not exist yet)
 * @param[out] out_revision the revision after the call; may be NULL
 * @param[out] out_changed  may be NULL
 * @return 0, CHAN_ECONFLICT (REVISION_MISMATCH), CHAN_EINVALID
 */
int chan_store_channel_put(chan_store *store, int64_t *out_revision, bool *out_changed,
                           const chan_channel_record *rec, int64_t expected_revision,
                           const char *actor, chan_error *err);

/** Channel with consumers and producers.  @return 0 or CHAN_ENOTFOUND (CHANNEL_NOT_FOUND) */
int chan_store_channel_get(chan_store *store, chan_channel_record **out, const char *name,
                           chan_error *err);

/**
 * The channel whose contract subject is `subject` (the lowest name when
 * several are), with consumers and producers.
 * @return 0 or CHAN_ENOTFOUND (CHANNEL_NOT_FOUND: the subject is not bound)
 */
int chan_store_channel_by_subject(chan_store *store, chan_channel_record **out, const char *subject,
                                  chan_error *err);

/**
 * Approve the waiver of channel `name` (its contract's schema.waiver.reason):
 * set waiver_approved_by = actor and waiver_approved_at = now, raise the
 * revision.  Audit action "channel.waiver.approve", object "channel/<name>",
 * detail {revision, compatibility, reason}.  An approved waiver is left
 * alone (nothing written).  chan_store_channel_put clears the approval when
 * the channel's compatibility or waiver reason changes.
 * @return 0, CHAN_ENOTFOUND (CHANNEL_NOT_FOUND) or CHAN_ECONFLICT (NO_WAIVER)
 */
int chan_store_channel_waiver_approve(chan_store *store, const char *name, const char *actor,
                                      chan_error *err);

/** Filters of chan_store_channel_list; NULL / -1 / false fields do not filter. */
typedef struct chan_channel_filter {
    const char *owner_team;
    const char *maintainer;
    int deprecated;    /**< -1 any, 1 only with a deprecation date <= as_of, 0 only others */
    const char *as_of; /**< "YYYY-MM-DD" for `deprecated`; NULL: today (UTC) */
    /**
     * Only channels whose name, owner team, maintainer or subject contains
     * q, ignoring the case of ASCII letters; NULL or "": no filter.  At most
     * CHAN_STORE_NAME_MAX bytes.
     */
    const char *q;
    /**
     * Only channels with a consumer whose registration was made or renewed
     * before stale_cutoff (chan_consumer_stale_cutoff of chan/model.h): the
     * channels with a stale consumer.
     */
    bool stale_only;
    int64_t stale_cutoff;
} chan_channel_filter;

#define CHAN_CHANNEL_FILTER_INIT                                                                   \
    {                                                                                              \
        NULL, NULL, -1, NULL, NULL, false, 0                                                       \
    }

/** Channels (with consumers and producers) ordered by name. */
int chan_store_channel_list(chan_store *store, chan_channel_record ***out, size_t *out_n,
                            const chan_channel_filter *filter, chan_error *err);

/** One page of chan_store_channel_page.  Owns everything; chan_channel_page_dispose. */
typedef struct chan_channel_page {
    chan_channel_record **items; /**< with consumers and producers, ordered by name */
    size_t n;
    int *latest_versions; /**< per item: the latest live version of its subject, 0 for none */
    size_t total;         /**< channels that match the filter, on every page */
    bool more;            /**< channels that match follow the last item */
} chan_channel_page;

#define CHAN_CHANNEL_PAGE_INIT                                                                     \
    {                                                                                              \
        NULL, 0, NULL, 0, false                                                                    \
    }

/**
 * One page of the channels that match filter: the first `limit` (1 or
 * more) in name order whose name sorts after `after` (NULL: from the
 * first), with their number on all pages.  Reads only columns (the items'
 * document is NULL: the stored contract is neither read nor parsed) and the
 * consumers and producers of the page's channels, in one read transaction.
 *
 * @param[out] out the page (chan_channel_page_dispose, also on failure)
 * @return 0, CHAN_EINVALID (bad filter), CHAN_EUNAVAILABLE
 */
int chan_store_channel_page(chan_store *store, chan_channel_page *out,
                            const chan_channel_filter *filter, const char *after, size_t limit,
                            chan_error *err);

/** Free what a page owns and leave it empty.  NULL-safe. */
void chan_channel_page_dispose(chan_channel_page *page);

/**
 * Delete a channel with its consumers and producers.  Audit action
 * "channel.delete" (detail "tombstone": true).  In the same transaction a
 * tombstone of the channel (chan_store_tombstone_list) records its topic
 * and its consumers' groups, replacing an older tombstone of that name;
 * chan_store_channel_put of a channel with that name removes it again.
 * @return 0 or CHAN_ENOTFOUND (CHANNEL_NOT_FOUND)
 */
int chan_store_channel_delete(chan_store *store, const char *name, const char *actor,
                              chan_error *err);

/**
 * Add or update one consumer of an existing channel (registered_at is kept
 * for an existing consumer, renewed_at set to now).  rec's origin, state,
 * requester_team and requested_by are stored with it; a consumer that
 * becomes pending loses an earlier decision.  Nothing is written when the
 * consumer is identical, except that renewed_at is refreshed.  Adding or
 * changing a consumer raises the channel's revision; a refresh does not.
 * Audit actions "consumer.request" (a registration left pending),
 * "consumer.register", "consumer.update", "consumer.renew", object
 * "channel/<channel>/consumer/<name>".
 * @param[out] out_created true when the consumer is new; may be NULL
 * @return 0, CHAN_ENOTFOUND (CHANNEL_NOT_FOUND), CHAN_EINVALID,
 *         CHAN_ECONFLICT (CONTRACT_MANAGED: an API-origin rec over a
 *         contract consumer; nothing is written)
 */
int chan_store_consumer_put(chan_store *store, bool *out_created, const chan_consumer_record *rec,
                            const char *actor, chan_error *err);

/** Rules chan_store_consumer_put_checked enforces inside its transaction. */
typedef struct chan_consumer_put_options {
    unsigned int version; /**< CHAN_CONSUMER_PUT_OPTIONS_VERSION */
    /**
     * "YYYY-MM-DD" or NULL: a put that grants new access
     * (chan_policy_grants_new_access: a consumer that does not exist yet, a
     * new principal, an approval of one that was not approved) is refused
     * (CHAN_ECONFLICT, reason CHANNEL_DEPRECATED) when the channel's
     * deprecation_date is on or before this day.
     */
    const char *refuse_new_from;
    /** Refuse (CHAN_EEXISTS, reason GROUP_IN_USE) when another consumer of the channel has the
     * group. */
    bool unique_group;
} chan_consumer_put_options;

#define CHAN_CONSUMER_PUT_OPTIONS_VERSION 1
#define CHAN_CONSUMER_PUT_OPTIONS_INIT                                                             \
    {                                                                                              \
        CHAN_CONSUMER_PUT_OPTIONS_VERSION, NULL, false                                             \
    }

/**
 * chan_store_consumer_put with rules checked under the channel's lock, so
 * that concurrent writers cannot slip past them.  opts may be NULL (no rule).
 * @return as chan_store_consumer_put, plus CHAN_ECONFLICT (CHANNEL_DEPRECATED)
 *         and CHAN_EEXISTS (GROUP_IN_USE)
 */
int chan_store_consumer_put_checked(chan_store *store, bool *out_created,
                                    const chan_consumer_record *rec,
                                    const chan_consumer_put_options *opts, const char *actor,
                                    chan_error *err);

/**
 * Set renewed_at of an approved consumer to now (audit "consumer.renew").
 * @return 0, CHAN_ENOTFOUND (CHANNEL_ or CONSUMER_NOT_FOUND), CHAN_ECONFLICT
 *         (NOT_APPROVED: pending or rejected)
 */
int chan_store_consumer_renew(chan_store *store, const char *channel, const char *name,
                              const char *actor, chan_error *err);

/**
 * Remove an API-origin consumer; raises the channel's revision (audit
 * "consumer.remove").  Contract consumers go with their contract.
 * @return 0, CHAN_ENOTFOUND (CHANNEL_ or CONSUMER_NOT_FOUND), CHAN_ECONFLICT
 *         (CONTRACT_MANAGED)
 */
int chan_store_consumer_delete(chan_store *store, const char *channel, const char *name,
                               const char *actor, chan_error *err);

/** Longest reason of a consumer decision in bytes (1024 characters of UTF-8). */
#define CHAN_STORE_REASON_MAX 4096

/**
 * The owner's decision on a pending consumer: decision is
 * CHAN_CONSUMER_APPROVED or CHAN_CONSUMER_REJECTED.  Records decided_by
 * (the actor), decided_at (now) and decision_reason, raises the channel's
 * revision.  Audit action "consumer.approve" / "consumer.reject" (the reason
 * in the detail), object "channel/<channel>/consumer/<name>".
 *
 * @param reason required (1..CHAN_STORE_REASON_MAX bytes) to reject; may be
 *               NULL to approve
 * @return 0, CHAN_ENOTFOUND (CHANNEL_ or CONSUMER_NOT_FOUND), CHAN_ECONFLICT
 *         (NOT_PENDING), CHAN_EINVALID (no reason to reject, another decision)
 */
int chan_store_consumer_decide(chan_store *store, const char *channel, const char *name,
                               chan_consumer_state decision, const char *reason, const char *actor,
                               chan_error *err);

/**
 * chan_store_consumer_decide with the rules of opts checked, for an
 * approval, under the channel's lock: an approval grants new access
 * (chan_policy_grants_new_access), so opts->refuse_new_from refuses it on a
 * deprecated channel.  opts may be NULL (no rule).
 * @return as chan_store_consumer_decide, plus CHAN_ECONFLICT
 *         (CHANNEL_DEPRECATED) and CHAN_EEXISTS (GROUP_IN_USE)
 */
int chan_store_consumer_decide_checked(chan_store *store, const char *channel, const char *name,
                                       chan_consumer_state decision, const char *reason,
                                       const chan_consumer_put_options *opts, const char *actor,
                                       chan_error *err);

/**
 * Consumers of one channel (channel != NULL) or of all, ordered by channel,
 * name.  @return 0 or CHAN_ENOTFOUND (CHANNEL_NOT_FOUND) for an unknown channel
 */
int chan_store_consumer_list(chan_store *store, chan_consumer_record ***out, size_t *out_n,
                             const char *channel, chan_error *err);

/**
 * Tombstones of the deleted channels (not created again since), ordered by
 * name.  They are kept, not expired: the ACL plan keeps their topics and
 * groups in its scope (chan_acl_desired_options.tombstones).
 * @param[out] out the tombstones; free with chan_channel_tombstone_list_free
 */
int chan_store_tombstone_list(chan_store *store, chan_channel_tombstone ***out, size_t *out_n,
                              chan_error *err);

/* ------------------------------------------------------------------ */
/* Audit log                                                           */
/* ------------------------------------------------------------------ */

typedef struct chan_audit_entry {
    int64_t id;   /**< increasing */
    int64_t ts;   /**< unix seconds */
    char *actor;  /**< who */
    char *action; /**< e.g. "channel.create", "consumer.remove", "schema.register" */
    char *object; /**< e.g. "channel/orders.created", "subject/orders.created-value/3" */
    char *detail; /**< JSON text with the change, may be NULL */
} chan_audit_entry;

void chan_audit_entry_list_free(chan_audit_entry **list, size_t n);

/**
 * Audit entries with id > after_id, oldest first, at most limit of them
 * (0: no limit).  object_prefix (may be NULL) keeps only entries whose
 * object starts with it (compared literally, no wildcards).
 *
 * Ids grow in the order entries are written.  With PostgreSQL, concurrent
 * transactions may commit in another order than they took their ids, so a
 * reader that follows the log with after_id should re-read a short window
 * behind the last id it saw.
 */
int chan_store_audit_list(chan_store *store, chan_audit_entry ***out, size_t *out_n,
                          int64_t after_id, size_t limit, const char *object_prefix,
                          chan_error *err);

/**
 * The number of audit entries chan_store_audit_list would return without a
 * limit (id > after_id, object starting with object_prefix).
 */
int chan_store_audit_count(chan_store *store, size_t *out, int64_t after_id,
                           const char *object_prefix, chan_error *err);

/**
 * Record an ACL apply, in one transaction: the audit entry "acl.apply"
 * (object "acl") with detail_json, and the applied state (bindings_json,
 * the JSON array of the bindings in place after the apply, time now) that
 * replaces the previous one.
 * @param detail_json   a JSON object, e.g. {"trigger","created","deleted","failed"}
 * @param bindings_json a JSON array
 * @return 0, CHAN_EINVALID (texts that are not such JSON), CHAN_EUNAVAILABLE
 */
int chan_store_acl_apply_record(chan_store *store, const char *actor, const char *detail_json,
                                const char *bindings_json, chan_error *err);

/**
 * Record a change sent to a topic of the cluster (successful or refused by
 * the broker): the audit entry `action` ("topic.config.apply" for an
 * AlterConfigs, "topic.create" for a CreateTopics) with object
 * "topic/<topic>" and detail_json, e.g. {"configs": {...}, "ok": true}.
 * @return 0, CHAN_EINVALID (detail not a JSON object, no topic or action),
 *         CHAN_EUNAVAILABLE
 */
int chan_store_topic_apply_record(chan_store *store, const char *actor, const char *action,
                                  const char *topic, const char *detail_json, chan_error *err);

/**
 * The applied state of the last recorded ACL apply.
 * @param[out] out            the bindings as a JSON array text; caller frees
 * @param[out] out_applied_at unix seconds; may be NULL
 * @return 0 or CHAN_ENOTFOUND (no apply recorded yet)
 */
int chan_store_acl_applied_get(chan_store *store, char **out, int64_t *out_applied_at,
                               chan_error *err);
/* ------------------------------------------------------------------ */
/* Webhook deliveries and lifecycle events (store_webhook.c)           */
/* ------------------------------------------------------------------ */

/*
 * The audit log is the outbox of notifications.  The events are the audit
 * entries whose object starts with "channel/" and the "schema.register"
 * entries.  A target (a webhook, named by a digest of its URL) gets each
 * event above its floor once: it is pending until chan_store_webhook_done
 * records it as delivered or failed.
 */

/**
 * Register a target, or find it: a new target's floor is the newest audit
 * id, so it is sent what happens from now on.
 * @param target    1 to CHAN_STORE_NAME_MAX bytes (e.g. a hex digest)
 * @param[out] out_floor the target's floor
 * @return 0, CHAN_EINVALID, CHAN_EUNAVAILABLE
 */
int chan_store_webhook_target(chan_store *store, const char *target, int64_t *out_floor,
                              chan_error *err);

/**
 * The events above floor not yet done for target, oldest first, at most
 * limit (1 to 1000; 0 means 1000).  Includes an event whose transaction
 * committed after a later id was done.
 * @param[out] out the entries; free with chan_audit_entry_list_free
 */
int chan_store_webhook_pending(chan_store *store, const char *target, int64_t floor, size_t limit,
                               chan_audit_entry ***out, size_t *out_n, chan_error *err);

/**
 * Record that event audit_id is done for target: delivered, or failed (given
 * up after attempts; last_error may be NULL).
 * @return 0, CHAN_ECONFLICT (already done), CHAN_EINVALID, CHAN_EUNAVAILABLE
 */
int chan_store_webhook_done(chan_store *store, const char *target, int64_t audit_id, bool delivered,
                            int64_t attempts, const char *last_error, chan_error *err);

/**
 * Raise target's floor over the entries written before settled_before (unix
 * seconds) that are all done (or are no events), and forget their delivery
 * rows.
 * @param[out] out_floor the floor after the call
 * @return 0, CHAN_ENOTFOUND (target not registered), CHAN_EUNAVAILABLE
 */
int chan_store_webhook_advance(chan_store *store, const char *target, int64_t settled_before,
                               int64_t *out_floor, chan_error *err);

/** Number of events above target's floor that were given up (state failed). */
int chan_store_webhook_failed_count(chan_store *store, const char *target, int64_t *out,
                                    chan_error *err);

/**
 * Write the audit entry of a lifecycle event (actor "chanregd") unless an
 * event with key was already written: with several daemons on one store,
 * each key is written once.
 * @param key         e.g. "consumer.stale/orders.order-created/billing/1764806400"
 * @param detail_json a JSON object text, or NULL
 * @param[out] out_created true when this call wrote it
 * @return 0, CHAN_EINVALID, CHAN_EUNAVAILABLE
 */
int chan_store_lifecycle_event(chan_store *store, const char *key, const char *action,
                               const char *object, const char *detail_json, bool *out_created,
                               chan_error *err);

/* ------------------------------------------------------------------ */
/* API tokens (store_token.c)                                          */
/* ------------------------------------------------------------------ */

/**
 * An API token as stored: never the token itself, only the hex SHA-256 of
 * the whole token (chan_token_digest_hex of chan/authz.h) and its id (the
 * 12 hex characters after "chr_").  Every string is owned by the record.
 */
typedef struct chan_token_record {
    char *id;           /**< 12 lower-case hex characters */
    char *identity;     /**< identity name the token authenticates */
    char *roles;        /**< sorted comma-separated roles, e.g. "ci:billing,ci:orders" */
    char *hash_hex;     /**< 64 lower-case hex characters: SHA-256 of the token */
    char *description;  /**< free text, may be NULL */
    char *created_by;   /**< actor of the insert */
    char *revoked_by;   /**< actor of the revocation, NULL while not revoked */
    int64_t created_at; /**< unix seconds */
    int64_t expires_at; /**< unix seconds from which it is refused; 0 never */
    int64_t revoked_at; /**< unix seconds; 0 not revoked */
} chan_token_record;

/** Free a record and its strings.  NULL-safe. */
void chan_token_record_free(chan_token_record *r);
/** Free n records and the array.  NULL-safe. */
void chan_token_record_list_free(chan_token_record **list, size_t n);

/** Longest token description in bytes. */
#define CHAN_STORE_TOKEN_DESCRIPTION_MAX 1024

/**
 * Store a new token.  Of rec, id, identity, roles, hash_hex, description and
 * expires_at are used; created_at is now, created_by the actor, and the
 * token is not revoked.  Audit action "token.create", object
 * "token/<id>", detail {id, identity, roles, expires_at} (never the hash).
 *
 * @return 0, CHAN_EEXISTS (a token with that id exists), CHAN_EINVALID (id
 *         not 12 lower-case hex characters, hash_hex not 64, bad identity,
 *         empty roles, description over CHAN_STORE_TOKEN_DESCRIPTION_MAX,
 *         negative expires_at), CHAN_EUNAVAILABLE
 */
int chan_store_token_insert(chan_store *store, const chan_token_record *rec, const char *actor,
                            chan_error *err);

/**
 * One token by id, revoked and expired ones included.
 * @param[out] out the record (chan_token_record_free); NULL on failure
 * @return 0, CHAN_ENOTFOUND (TOKEN_NOT_FOUND), CHAN_EINVALID, CHAN_EUNAVAILABLE
 */
int chan_store_token_get(chan_store *store, chan_token_record **out, const char *id,
                         chan_error *err);

/**
 * Every token, revoked and expired ones included, ordered by identity,
 * creation time and id.
 * @param[out] out   the records (chan_token_record_list_free)
 * @param[out] out_n their number
 */
int chan_store_token_list(chan_store *store, chan_token_record ***out, size_t *out_n,
                          chan_error *err);

/**
 * Revoke a token: it stays listed with revoked_at and revoked_by, and
 * authenticates nobody any more.  Audit action "token.revoke", object
 * "token/<id>", detail {id, identity, roles}.
 * @return 0, CHAN_ENOTFOUND (TOKEN_NOT_FOUND), CHAN_ECONFLICT (TOKEN_REVOKED:
 *         revoked before; nothing is written), CHAN_EINVALID, CHAN_EUNAVAILABLE
 */
int chan_store_token_revoke(chan_store *store, const char *id, const char *actor, chan_error *err);

#ifdef __cplusplus
}
#endif
#endif
