/*
 * store_backend.h - the interface between the store and a database backend.
 *
 * store.c and its topic files (see store_int.h) implement the registry
 * semantics once (argument checks, version numbering, delete rules, audit
 * entries, the connection pool) on top of the small, versioned vtable below,
 * in the spirit of libgit2's sys/refdb_backend.h.  A backend supplies
 * connections, transactions, transaction-scoped locks, parameterised queries
 * and the few statements whose SQL differs between databases (id
 * allocation, the migration lock).
 *
 * SQL given to `query` is written once for both databases: parameters are
 * `$1`, `$2`, ... (the SQLite backend rewrites them to `?1`, `?2`), and only
 * syntax both databases accept is used.  It must be a string literal with
 * static storage: backends cache the prepared statement keyed by its address.
 *
 * Internal to chan_store; nothing outside registry/lib/store includes it.
 */
#ifndef CHAN_STORE_BACKEND_H
#define CHAN_STORE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/error.h"
#include "chan/store.h"

#define CHAN_STORE__BACKEND_VERSION 1

/** Type of a query parameter. */
typedef enum chan_store__type {
    CHAN_STORE__NULL = 0,
    CHAN_STORE__TEXT,
    CHAN_STORE__INT,
    CHAN_STORE__REAL,
} chan_store__type;

/** One query parameter; `text` is borrowed for the duration of the call. */
typedef struct chan_store__value {
    chan_store__type type;
    const char *text;
    int64_t i;
    double d;
} chan_store__value;

#define SV_TEXT(s)                                                                                 \
    ((chan_store__value){(s) != NULL ? CHAN_STORE__TEXT : CHAN_STORE__NULL, (s), 0, 0.0})
#define SV_INT(v)  ((chan_store__value){CHAN_STORE__INT, NULL, (int64_t)(v), 0.0})
#define SV_REAL(v) ((chan_store__value){CHAN_STORE__REAL, NULL, 0, (double)(v)})

/**
 * The result of a query, copied out of the database: every cell as text
 * (NULL for SQL NULL), row-major.  Owns the cells; chan_store__rows_dispose.
 */
typedef struct chan_store__rows {
    size_t n_rows;
    size_t n_cols;
    char **cells;                  /**< n_rows * n_cols, each owned (or in slab) or NULL */
    size_t cap;                    /**< cells allocated (the unused ones are NULL) */
    int64_t changes;               /**< rows inserted, updated or deleted by the statement */
    struct chan_store__slab *slab; /**< short cells, freed together (store_rows.c) */
    size_t n_heap;                 /**< cells allocated on their own (not in slab) */
} chan_store__rows;

#define CHAN_STORE__ROWS_INIT                                                                      \
    {                                                                                              \
        0, 0, NULL, 0, 0, NULL, 0                                                                  \
    }

/** Free the cells and reset to empty.  NULL-safe. */
void chan_store__rows_dispose(chan_store__rows *rows);
/** Cell (row, col), borrowed; NULL for SQL NULL or out of range. */
const char *chan_store__cell(const chan_store__rows *rows, size_t row, size_t col);
/** Cell as an integer (0 for NULL or garbage). */
int64_t chan_store__cell_int(const chan_store__rows *rows, size_t row, size_t col);
/** Cell as a double (0 for NULL or garbage). */
double chan_store__cell_real(const chan_store__rows *rows, size_t row, size_t col);
/** Take ownership of a cell (the caller frees it); the cell becomes NULL. */
char *chan_store__cell_take(chan_store__rows *rows, size_t row, size_t col);

/**
 * Set cell `col` of the row being built (backends only): row n_rows, which
 * becomes part of the result when the backend increments n_rows.  `text`
 * (len bytes) is copied; NULL stores SQL NULL.  n_cols must be set first.
 */
void chan_store__rows_push(chan_store__rows *rows, size_t col, const char *text, size_t len);

/** chan_store__rows_push of the decimal text of v. */
void chan_store__rows_push_int(chan_store__rows *rows, size_t col, int64_t v);

/** A connection of a backend; opaque to store.c. */
typedef struct chan_store__conn chan_store__conn;

/**
 * A database backend.  Every function that takes a connection is called by
 * one thread at a time for that connection (the pool in store.c hands each
 * connection to one caller).  Fallible functions return 0 or a negative
 * CHAN_E* code with details in err; connection failures are
 * CHAN_EUNAVAILABLE, constraint violations CHAN_ECONFLICT, rejected values
 * CHAN_EINVALID.  Every wait is bounded by the deadlines of
 * chan_store_options; a call that hits one fails with CHAN_EUNAVAILABLE and
 * reason CHAN_STORE_R_TIMEOUT.
 */
typedef struct chan_store__backend {
    unsigned int version; /**< CHAN_STORE__BACKEND_VERSION */
    const char *name;     /**< "sqlite" or "postgres", also the migrations/ sub-directory */

    /**
     * Parse `target` (the URL without its scheme) and prepare the shared
     * state.  *out_pool_size is the number of connections to open.
     */
    int (*init)(void **out_state, unsigned int *out_pool_size, const char *target,
                const chan_store_options *opts, chan_error *err);
    /** Free the shared state after every connection was closed.  NULL-safe. */
    void (*dispose)(void *state);
    /**
     * Make every wait of the backend (for a lock, a reply, a connection)
     * end at once with CHAN_EUNAVAILABLE, now and later (chan_store_abort).
     * Called from any thread while connections are in use.
     */
    void (*abort)(void *state);

    /** Open one connection. */
    int (*connect)(chan_store__conn **out, void *state, chan_error *err);
    /** Close a connection.  NULL-safe. */
    void (*disconnect)(chan_store__conn *conn);
    /**
     * Make sure a connection handed out by the pool is usable, reconnecting
     * one that broke.  @return 0 (it was fine), 1 (it was reconnected) or
     * CHAN_EUNAVAILABLE
     */
    int (*revive)(chan_store__conn *conn, chan_error *err);

    /**
     * Start a transaction.  A `write` transaction of SQLite takes the
     * database write lock at once (BEGIN IMMEDIATE).
     */
    int (*begin)(chan_store__conn *conn, bool write, chan_error *err);
    int (*commit)(chan_store__conn *conn, chan_error *err);
    /** Roll back the open transaction, if any; never fails. */
    void (*rollback)(chan_store__conn *conn);
    /**
     * Take an exclusive lock on `key` until the transaction ends.  Only
     * transactions locking the same key wait for each other.  SQLite's
     * write transaction already excludes every other writer.
     */
    int (*lock)(chan_store__conn *conn, const char *key, chan_error *err);

    /**
     * Run one statement with parameters.  `rows` may be NULL to discard the
     * result; otherwise it is filled (the caller disposes it, also on error).
     */
    int (*query)(chan_store__conn *conn, chan_store__rows *rows, const char *sql,
                 const chan_store__value *params, size_t n_params, chan_error *err);
    /** Run a script of several statements without parameters (migrations). */
    int (*exec_script)(chan_store__conn *conn, const char *sql, chan_error *err);

    /** Allocate a new global schema id inside the current write transaction. */
    int (*next_schema_id)(chan_store__conn *conn, int64_t *out, chan_error *err);
    /**
     * An id was taken from outside (an import): make next_schema_id answer
     * above it.  NULL when next_schema_id already does (MAX(id) + 1).
     */
    int (*schema_id_used)(chan_store__conn *conn, int64_t id, chan_error *err);
    /**
     * Take (lock) or release (!lock) the session lock that keeps concurrent
     * processes from migrating the same database at once.
     */
    int (*migration_lock)(chan_store__conn *conn, bool lock, chan_error *err);
} chan_store__backend;

extern const chan_store__backend chan_store__sqlite_backend;
extern const chan_store__backend chan_store__pg_backend;

/** One embedded migration (see embed_migrations.cmake). */
typedef struct chan_store__migration {
    const char *backend; /**< "sqlite" or "postgres" */
    int version;         /**< NNNN of the file name */
    const char *name;    /**< name part of the file name */
    const char *sql;
    size_t len;
} chan_store__migration;

/** The migrations compiled into the library, NULL-terminated, by backend then version. */
extern const chan_store__migration chan_store__builtin_migrations[];
extern const size_t chan_store__builtin_migration_count;

/**
 * Apply the pending migrations of `backend` on conn (store_migrate.c).
 *
 * @param migrations_dir root with sqlite/ and postgres/, NULL for the
 *        built-in migrations
 * @param read_only      fail instead of applying pending migrations
 * @return 0, CHAN_EINTERNAL (a migration failed, or an applied migration
 *         changed: checksum mismatch), CHAN_EIO (cannot read migrations_dir),
 *         CHAN_ECONFLICT (read_only with pending migrations)
 */
int chan_store__migrate(const chan_store__backend *backend, chan_store__conn *conn,
                        const char *migrations_dir, bool read_only, chan_error *err);

/** FNV-1a 64 of data (lock keys, migration checksums). */
uint64_t chan_store__fnv1a64(const void *data, size_t len);

#endif
