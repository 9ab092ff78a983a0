/*
 * store_int.h - what the files of chan_store share among themselves.
 *
 * The store's semantics are split by topic: store.c (argument checks, the
 * connection pool and transactions, open and close), store_cache.c (the
 * schema-by-id cache), store_schema.c (schemas, subjects, their
 * configuration and mode), store_channel.c (channels and consumers) and
 * store_audit.c (the audit log).  They reach the database only through the
 * backend vtable of store_backend.h; store_rows.c holds the result rows that
 * the backends fill.
 *
 * Internal to chan_store; nothing outside registry/lib/store includes it.
 */
#ifndef CHAN_STORE_INT_H
#define CHAN_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/error.h"
#include "chan/store.h"
#include "store_backend.h"

/* ------------------------------------------------------------------ */
/* Schema-by-id cache (store_cache.c)                                  */
/* ------------------------------------------------------------------ */

/*
 * Schemas by id never change and ids are never reused (a permanent delete
 * removes subject versions, never a row of `schemas`), so the by-id lookup
 * (the hottest call: every consumer that meets a new id asks for it) keeps
 * what it read in a cache that needs no invalidation.  This is the only
 * schema-by-id cache of the registry.  Open addressing on the id (0 marks a
 * free slot: ids start at 1); at most half of the slots are used, and when
 * either the entry bound (chan_store_options.schema_cache_entries) or the
 * byte bound is reached the cache starts over.  Thread-safe (a rwlock).
 */
typedef struct chan_store__id_cache_entry {
    int64_t id;
    char *text;
    char *type;
} chan_store__id_cache_entry;

typedef struct chan_store__id_cache {
    pthread_rwlock_t lock;
    chan_store__id_cache_entry *slots; /**< n_slots of them, NULL when the cache is disabled */
    size_t n_slots;                    /**< a power of two, at least twice max_entries */
    unsigned int shift;                /**< 64 - log2(n_slots), for id_slot */
    size_t max_entries;
    size_t n;
    size_t bytes;
} chan_store__id_cache;

/** Set up a cache of at most max_entries schemas (clamped); 0 disables it. */
void chan_store__id_cache_init(chan_store__id_cache *c, size_t max_entries);
/** Free every entry and the table; the cache must not be in use. */
void chan_store__id_cache_dispose(chan_store__id_cache *c);
/**
 * Copy the cached schema of id into *text and, when type is not NULL,
 * *type (the caller frees both).  Returns false (outputs untouched) on a miss.
 */
bool chan_store__id_cache_get(chan_store__id_cache *c, int64_t id, char **text, char **type);
/** Remember the schema of id (copied); ignored when disabled or too large. */
void chan_store__id_cache_put(chan_store__id_cache *c, int64_t id, const char *text,
                              const char *type);

/* ------------------------------------------------------------------ */
/* The store, operations and statements (store.c)                      */
/* ------------------------------------------------------------------ */

/*
 * The read cache of PostgreSQL stores (store_readcache.c): the latest
 * version of subjects, compatibility levels and modes, emptied by every
 * write of any daemon on the database (NOTIFY chanreg_cache, LISTENed by a
 * thread of each store).  NULL for SQLite.  Reads: _begin (is it usable,
 * and the epoch to pass to _put), _get_*, else read the database and
 * _put_* with that epoch.
 */
typedef struct chan_store__read_cache chan_store__read_cache;

/** Start the listener on conninfo (a libpq URL or conninfo string). */
chan_store__read_cache *chan_store__read_cache_start(const char *conninfo);
/** Stop the listener and free.  NULL-safe. */
void chan_store__read_cache_stop(chan_store__read_cache *c);
/** True while the listener listens (the cache is in use). */
bool chan_store__read_cache_live(chan_store__read_cache *c);
/** Empty the cache (after a write of this store).  NULL-safe. */
void chan_store__read_cache_invalidate(chan_store__read_cache *c);
/** Whether the cache is usable now, and the epoch a read must start at to be kept. */
bool chan_store__read_cache_begin(chan_store__read_cache *c, uint64_t *out_epoch);
/** The cached latest live version of subject (a copy) into *out.  False on a miss. */
bool chan_store__read_cache_get_latest(chan_store__read_cache *c, const char *subject,
                                       chan_schema_version **out);
/** Keep v as the latest live version of its subject, read at epoch. */
void chan_store__read_cache_put_latest(chan_store__read_cache *c, uint64_t epoch,
                                       const chan_schema_version *v);
/**
 * The cached compatibility level (kind 'C') or mode ('M') of scope (""
 * global): *out_set false when none is set, else *out (caller frees).
 */
bool chan_store__read_cache_get_value(chan_store__read_cache *c, char kind, const char *scope,
                                      bool *out_set, char **out);
/** Keep the value (NULL: none set) of kind and scope, read at epoch. */
void chan_store__read_cache_put_value(chan_store__read_cache *c, uint64_t epoch, char kind,
                                      const char *scope, const char *value);

struct chan_store {
    const chan_store__backend *be;
    chan_store__id_cache cache;
    chan_store__read_cache *reads; /**< PostgreSQL only, else NULL */
    void *state;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chan_store__conn **conns; /**< every connection, n_conns of them */
    unsigned int n_conns;
    chan_store__conn **idle; /**< stack of the connections not in use */
    unsigned int n_idle;
    unsigned int acquire_timeout_ms; /**< longest wait for a free connection */
    bool aborted;                    /**< chan_store_abort was called (under mu) */
    /** Moved by every write transaction of this store (chan_store__op_commit). */
    atomic_uint_fast64_t writes;
    /* SQLite: the commits of other processes (chan_store_generation in store.c). */
    atomic_uint_fast64_t foreign;           /**< moved when a connection sees another's commit */
    atomic_int_fast64_t foreign_checked_ms; /**< CLOCK_MONOTONIC of the last check */
    atomic_bool foreign_ok;                 /**< the last check succeeded */
    pthread_mutex_t foreign_mu;             /**< one check at a time; guards data_versions */
    int64_t *data_versions;                 /**< the last PRAGMA data_version read on conns[i] */
};

/** SQLite: ask for other processes' commits at most this often (chan_store_generation). */
#define CHAN_STORE__FOREIGN_CHECK_MS 10

/* One operation: a pooled connection and maybe an open transaction. */
typedef struct chan_store__op {
    chan_store *store;
    chan_store__conn *conn;
    bool in_txn;
    bool used;  /**< a statement ran on conn */
    bool write; /**< the transaction is a write transaction */
} chan_store__op;

#define CHAN_STORE__OP_INIT                                                                        \
    {                                                                                              \
        NULL, NULL, false, false, false                                                            \
    }

/**
 * Take a connection from the pool for o, waiting while every one is in use.
 * Call chan_store__op_end afterwards, also on failure.
 */
int chan_store__op_acquire(chan_store__op *o, chan_store *store, chan_error *err);
/** Acquire a connection and start a (write or read) transaction. */
int chan_store__op_begin(chan_store__op *o, chan_store *store, bool write, chan_error *err);
/** Commit the open transaction; a failed COMMIT rolls back. */
int chan_store__op_commit(chan_store__op *o, chan_error *err);
/** Take the transaction-scoped lock "<kind>:<name>" (inside a transaction). */
int chan_store__op_lock(chan_store__op *o, const char *kind, const char *name, chan_error *err);
/** Roll back an open transaction and give the connection back.  Safe on OP_INIT. */
void chan_store__op_end(chan_store__op *o);
/**
 * Run one statement on o's connection; rows may be NULL.  Disposes rows
 * first.  The first statement outside a transaction is retried once on a
 * reconnected session (see store.c).
 */
int chan_store__run(chan_store__op *o, chan_store__rows *rows, const char *sql,
                    const chan_store__value *params, size_t n, chan_error *err);

/* P(SV_TEXT(a), SV_INT(b)) expands to the `params, n` arguments of chan_store__run(). */
#define P(...)                                                                                     \
    ((const chan_store__value[]){__VA_ARGS__}),                                                    \
        (sizeof((const chan_store__value[]){__VA_ARGS__}) / sizeof(chan_store__value))

/** The current time in seconds since the epoch (created_at, audit ts). */
int64_t chan_store__now(void);

/* ------------------------------------------------------------------ */
/* PostgreSQL waits with a deadline (store_pg.c)                       */
/* ------------------------------------------------------------------ */

/*
 * Every libpq call that waits for the server is made without blocking, and
 * its wait on the socket ends at a deadline or when the store is aborted:
 * a stopped server accepts connections and acknowledges packets but never
 * answers.  The store's connections (store_pg.c) and the leader election's
 * (store_leader.c) wait this way.  A deadline is a chan_store__pg_now_ms()
 * time, -1 for none; abort_fd (-1: none) becomes readable when the store is
 * aborted.  The functions return one of these, or CHAN_EUNAVAILABLE (err
 * set) when poll itself failed.
 */
struct pg_conn;   /* libpq's PGconn */
struct pg_result; /* libpq's PGresult */

enum {
    CHAN_STORE__PG_DONE = 0, /**< done: connected or failed (PQstatus), or the result is there */
    CHAN_STORE__PG_DEADLINE = 1, /**< the deadline passed first */
    CHAN_STORE__PG_ABORTED = 2,  /**< the store was aborted first */
    CHAN_STORE__PG_FAILED = 3,   /**< libpq failed or no result came: PQerrorMessage says why */
};

/** The monotonic clock of the deadlines, in milliseconds. */
int64_t chan_store__pg_now_ms(void);
/**
 * Drive a connection started with PQconnectStart* until libpq is done
 * (then PQstatus says whether it succeeded): _DONE, _DEADLINE or _ABORTED.
 */
int chan_store__pg_connect_wait(struct pg_conn *pg, int64_t deadline, int abort_fd,
                                chan_error *err);
/**
 * Wait for the reply to what was sent on pg (PQsend*, non-blocking mode):
 * _DONE with *out the first failed result, else the last one (the caller
 * clears it); _DEADLINE, _ABORTED, _FAILED leave *out NULL.  After
 * _DEADLINE or _ABORTED the connection is in the middle of a statement:
 * cancel it (chan_store__pg_cancel_async) and close it.
 */
int chan_store__pg_await(struct pg_conn *pg, struct pg_result **out, int64_t deadline, int abort_fd,
                         chan_error *err);
/**
 * Ask the server to cancel what pg runs, without waiting for its answer
 * (PQcancel on a detached thread of its own).  pg may be closed afterwards.
 */
void chan_store__pg_cancel_async(struct pg_conn *pg);
/** The connect and reply deadlines (ms) and the abort fd of a PostgreSQL store's state. */
void chan_store__pg_deadlines(const void *state, unsigned int *out_connect_ms,
                              unsigned int *out_reply_ms, int *out_abort_fd);

/* ------------------------------------------------------------------ */
/* Argument checks and errors (store.c)                                */
/* ------------------------------------------------------------------ */

/** Set an error with a chan_store_reason.  Returns code. */
int chan_store__set_reason(chan_error *err, int code, int reason, const char *fmt, ...)
    CHAN_PRINTF(4, 5);
/**
 * Check a text argument: present, at most max bytes, valid UTF-8; names
 * (`name` true) must also be non-empty and free of control characters.
 * Returns 0 or CHAN_EINVALID naming `what`.
 */
int chan_store__check_text(const char *what, const char *s, size_t max, bool name, chan_error *err);
/** chan_store__check_text of a name of at most CHAN_STORE_NAME_MAX bytes. */
int chan_store__check_name(const char *what, const char *s, chan_error *err);
/** The actor recorded in audit entries: "anonymous" when NULL or empty, then checked. */
int chan_store__check_actor(const char **actor, chan_error *err);
/** strcmp equality where two NULLs are equal and NULL differs from any string. */
bool chan_store__streq(const char *a, const char *b);
/** True when s is one of the NULL-terminated list. */
bool chan_store__in_list(const char *s, const char *const *list);

/** The compatibility levels, NULL-terminated. */
extern const char *const chan_store__compat_levels[];

/* ------------------------------------------------------------------ */
/* Audit log (store_audit.c)                                           */
/* ------------------------------------------------------------------ */

/**
 * Append an audit entry inside o's write transaction; takes ownership of
 * detail (may be NULL).
 */
int chan_store__audit(chan_store__op *o, const char *actor, const char *action, const char *object,
                      json_t *detail, int64_t now, chan_error *err);

/**
 * The audit entries of rows (columns id, ts, actor, action, object,
 * detail), whose cells are taken: *out gets a new list (free with
 * chan_audit_entry_list_free), *out_n its length.
 */
void chan_store__audit_entries(chan_audit_entry ***out, size_t *out_n, chan_store__rows *rows);

#endif
