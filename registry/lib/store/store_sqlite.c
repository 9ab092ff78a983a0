/*
 * store_sqlite.c - the embedded SQLite backend of chan_store.
 *
 * The only file besides store_pg.c that talks to a database library.  A
 * store opens a small pool of connections to one database file, each in
 * WAL mode with synchronous=FULL (a committed write survives power loss)
 * and a busy timeout, so readers never block and writers queue on the
 * database lock.  Write transactions start with BEGIN IMMEDIATE: SQLite has
 * a single writer, so every writer waits for the one before it, whatever
 * object it changes.  The writers of one process queue in-process, first
 * come first served, before they ask SQLite for the lock: SQLite's busy
 * handler would have them poll with growing sleeps, which under many
 * concurrent writers gives a long tail of waits.  The busy timeout bounds
 * the whole wait for the lock, in the queue and then on SQLite's lock
 * (other processes on the same file); a writer that gives up leaves the
 * queue.  "sqlite::memory:" gives a private in-memory database served by a
 * single connection.
 *
 * Statements are prepared once per connection and cached by the address of
 * their SQL text; `$N` parameters are rewritten to SQLite's `?N`.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "chan/common.h"
#include "store_backend.h"

#define STMT_CACHE_SIZE 96
#define DEFAULT_POOL    8

/* A writer waiting in the in-process queue (on its own stack). */
typedef struct write_waiter {
    struct write_waiter *next;
    pthread_cond_t cv; /* signalled when granted, or on abort */
    bool granted;      /* the turn was handed to this waiter */
} write_waiter;

typedef struct sqlite_state {
    char *path;
    bool memory;
    unsigned int busy_timeout_ms; /* longest wait for the database lock */
    atomic_bool aborted;          /* chan_store_abort: stop waiting */
    /*
     * The in-process queue of writers (under write_mutex): write_held while
     * a connection holds the turn; the waiters in arrival order.  The turn
     * passes directly from its holder to the first waiter.
     */
    pthread_mutex_t write_mutex;
    pthread_condattr_t write_cattr; /* CLOCK_MONOTONIC, for the waiters' deadlines */
    bool write_held;
    write_waiter *write_head, *write_tail;
} sqlite_state;

typedef struct stmt_entry {
    const char *key;
    sqlite3_stmt *stmt;
} stmt_entry;

struct chan_store__conn {
    sqlite_state *st;
    int64_t busy_since_ms; /* when the current wait for the lock began */
    int64_t lock_wait_ms;  /* when BEGIN IMMEDIATE's wait (queue included) began, else 0 */
    sqlite3 *db;
    sqlite_state *state;
    bool writer; /* holds the in-process write turn */
    stmt_entry cache[STMT_CACHE_SIZE];
    size_t n_cache;
};

/* Map a SQLite result code to a CHAN_E* code and fill err. */
static int db_error(sqlite3 *db, int rc, const char *what, chan_error *err)
{
    int code;

    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = CHAN_EUNAVAILABLE;
        break;
    case SQLITE_CONSTRAINT:
        code = CHAN_ECONFLICT;
        break;
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        code = CHAN_EINVALID;
        break;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
        code = CHAN_EIO;
        break;
    default:
        code = CHAN_EINTERNAL;
        break;
    }
    chan_error_set(err, code, "sqlite: %s: %s", what,
                   db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    if (err != NULL && ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED))
        err->reason = CHAN_STORE_R_TIMEOUT; /* the busy timeout passed */
    return code;
}

static int sqlite_init(void **out_state, unsigned int *out_pool_size, const char *target,
                       const chan_store_options *opts, chan_error *err)
{
    sqlite_state *st;

    *out_state = NULL;
    if (target[0] == '\0')
        return chan_error_set(err, CHAN_EINVALID, "sqlite store URL has no path");
    st = chan_xcalloc(1, sizeof(*st));
    st->memory = strcmp(target, ":memory:") == 0;
    st->path = chan_xstrdup(target);
    st->busy_timeout_ms =
        opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : CHAN_STORE_BUSY_TIMEOUT_DEFAULT_MS;
    atomic_init(&st->aborted, false);
    pthread_mutex_init(&st->write_mutex, NULL);
    pthread_condattr_init(&st->write_cattr);
    pthread_condattr_setclock(&st->write_cattr, CLOCK_MONOTONIC);
    /* An in-memory database exists only inside its one connection. */
    *out_pool_size = st->memory ? 1 : (opts->pool_size > 0 ? opts->pool_size : DEFAULT_POOL);
    *out_state = st;
    return 0;
}

static void sqlite_dispose(void *state)
{
    sqlite_state *st = state;

    if (st == NULL)
        return;
    assert(st->write_head == NULL && !st->write_held);
    pthread_condattr_destroy(&st->write_cattr);
    pthread_mutex_destroy(&st->write_mutex);
    free(st->path);
    free(st);
}

static void sqlite_abort(void *state)
{
    sqlite_state *st = state;

    atomic_store(&st->aborted, true);
    /* Under the mutex: a waiter checks `aborted` under it before it waits. */
    pthread_mutex_lock(&st->write_mutex);
    for (write_waiter *w = st->write_head; w != NULL; w = w->next)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&st->write_mutex);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
** SQLite's busy handler: called while another connection holds the lock;
** returns 1 to try again after a short sleep, 0 to give up (SQLITE_BUSY)
** once busy_timeout_ms passed since the first call of this wait or the
** store was aborted.
*/
static int busy_handler(void *arg, int count)
{
    chan_store__conn *conn = arg;
    int64_t now = now_ms();

    /* The wait of BEGIN IMMEDIATE began in the in-process queue. */
    if (count == 0)
        conn->busy_since_ms = conn->lock_wait_ms != 0 ? conn->lock_wait_ms : now;
    if (atomic_load(&conn->st->aborted) ||
        now - conn->busy_since_ms >= (int64_t)conn->st->busy_timeout_ms)
        return 0;
    sqlite3_sleep(count < 4 ? 1 << count : 10);
    return 1;
}

/* Remove w from the queue of writers (under write_mutex). */
static void write_queue_unlink(sqlite_state *st, write_waiter *w)
{
    write_waiter *prev = NULL;

    for (write_waiter *p = st->write_head; p != NULL; prev = p, p = p->next) {
        if (p != w)
            continue;
        if (prev == NULL)
            st->write_head = w->next;
        else
            prev->next = w->next;
        if (st->write_tail == w)
            st->write_tail = prev;
        return;
    }
    assert(!"waiter not in the queue");
}

/*
** Wait for this process's turn to write (first come, first served) until
** since_ms + busy_timeout_ms (CLOCK_MONOTONIC), then hold it.  Returns 0,
** or CHAN_EUNAVAILABLE with reason CHAN_STORE_R_TIMEOUT when the deadline
** passed or the store was aborted before the turn came; the waiter then
** leaves the queue, and the writers behind it keep their order.
*/
static int write_turn_take(chan_store__conn *conn, int64_t since_ms, chan_error *err)
{
    sqlite_state *st = conn->state;
    int64_t end_ms = since_ms + (int64_t)st->busy_timeout_ms;
    struct timespec deadline = {(time_t)(end_ms / 1000), (long)(end_ms % 1000) * 1000000L};
    write_waiter w = {.next = NULL, .granted = false};
    int rc = 0;

    if (conn->writer)
        return 0;
    pthread_mutex_lock(&st->write_mutex);
    if (!st->write_held && st->write_head == NULL) {
        st->write_held = true;
        pthread_mutex_unlock(&st->write_mutex);
        conn->writer = true;
        return 0;
    }
    pthread_cond_init(&w.cv, &st->write_cattr);
    if (st->write_tail != NULL)
        st->write_tail->next = &w;
    else
        st->write_head = &w;
    st->write_tail = &w;
    while (!w.granted && !atomic_load(&st->aborted) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w.cv, &st->write_mutex, &deadline);
    /* Granted at the deadline: the turn is this writer's (nobody else's). */
    if (!w.granted)
        write_queue_unlink(st, &w);
    pthread_mutex_unlock(&st->write_mutex);
    pthread_cond_destroy(&w.cv);
    if (w.granted) {
        conn->writer = true;
        return 0;
    }
    if (atomic_load(&st->aborted))
        chan_error_set(err, CHAN_EUNAVAILABLE, "the store is shutting down");
    else
        chan_error_set(err, CHAN_EUNAVAILABLE,
                       "sqlite: the database write lock did not become free within %u ms (another "
                       "write of this process holds it)",
                       st->busy_timeout_ms);
    if (err != NULL)
        err->reason = CHAN_STORE_R_TIMEOUT;
    return CHAN_EUNAVAILABLE;
}

/* Give the turn to the next writer in the queue.  Safe when not holding it. */
static void write_turn_give(chan_store__conn *conn)
{
    sqlite_state *st = conn->state;
    write_waiter *next;

    if (!conn->writer)
        return;
    pthread_mutex_lock(&st->write_mutex);
    next = st->write_head;
    if (next != NULL) {
        write_queue_unlink(st, next);
        next->granted = true; /* write_held stays true: the turn passes on */
        pthread_cond_signal(&next->cv);
    } else {
        st->write_held = false;
    }
    pthread_mutex_unlock(&st->write_mutex);
    conn->writer = false;
}

static void sqlite_disconnect(chan_store__conn *conn)
{
    if (conn == NULL)
        return;
    if (conn->state != NULL)
        write_turn_give(conn);
    for (size_t i = 0; i < conn->n_cache; i++)
        sqlite3_finalize(conn->cache[i].stmt);
    sqlite3_close_v2(conn->db);
    free(conn);
}

/*
** Switch the database to WAL.  The switch needs an exclusive lock, and
** SQLite reports SQLITE_BUSY for it without calling the busy handler, so
** several processes opening a new database at once retry here for up to
** timeout_ms.  Returns 0, or CHAN_EIO when WAL is not possible.
*/
static int enable_wal(sqlite3 *db, unsigned int timeout_ms, chan_error *err)
{
    long waited_ms = 0, step_ms = 1;

    for (;;) {
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
        bool wal = false;

        if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            const unsigned char *mode = sqlite3_column_text(stmt, 0);
            wal = mode != NULL && strcmp((const char *)mode, "wal") == 0;
            rc = SQLITE_OK;
        }
        sqlite3_finalize(stmt);
        if (rc == SQLITE_OK) {
            if (!wal)
                return chan_error_set(err, CHAN_EIO,
                                      "sqlite: the database cannot use write-ahead logging");
            return 0;
        }
        if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
            return db_error(db, rc, "cannot enable WAL", err);
        if (waited_ms >= (long)timeout_ms)
            return db_error(db, rc, "cannot enable WAL", err);
        sqlite3_sleep((int)step_ms);
        waited_ms += step_ms;
        if (step_ms < 64)
            step_ms *= 2;
    }
}

static int sqlite_connect(chan_store__conn **out, void *state, chan_error *err)
{
    static const char *const pragmas[] = {
        "PRAGMA foreign_keys = ON",
        "PRAGMA synchronous = FULL",
    };
    sqlite_state *st = state;
    chan_store__conn *conn = chan_xcalloc(1, sizeof(*conn));
    char *msg = NULL;
    int rc, error = 0;

    *out = NULL;
    conn->state = st;
    rc = sqlite3_open_v2(st->path, &conn->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        error = db_error(conn->db, rc, "cannot open database", err);
        if (err != NULL)
            chan_error_detail(err, "path: %s", st->path);
        goto cleanup;
    }
    sqlite3_extended_result_codes(conn->db, 1);
    conn->st = st;
    sqlite3_busy_handler(conn->db, busy_handler, conn);
    if (!st->memory && (error = enable_wal(conn->db, st->busy_timeout_ms, err)) < 0)
        goto cleanup;
    for (size_t i = 0; i < CHAN_ARRAY_SIZE(pragmas); i++) {
        rc = sqlite3_exec(conn->db, pragmas[i], NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            error = db_error(conn->db, rc, pragmas[i], err);
            goto cleanup;
        }
    }
    *out = conn;
    conn = NULL;
cleanup:
    sqlite3_free(msg);
    sqlite_disconnect(conn);
    return error;
}

static int sqlite_revive(chan_store__conn *conn, chan_error *err)
{
    (void)conn;
    (void)err;
    return 0;
}

/* "$1" -> "?1": SQLite's numbered parameters.  Caller frees. */
static char *rewrite_params(const char *sql)
{
    char *s = chan_xstrdup(sql);

    for (char *p = s; *p != '\0'; p++)
        if (p[0] == '$' && p[1] >= '0' && p[1] <= '9')
            p[0] = '?';
    return s;
}

/* The prepared statement for sql, from the cache or new.  *out_cached says
 * whether the cache owns it (else the caller finalizes it). */
static int prepare(chan_store__conn *conn, sqlite3_stmt **out, bool *out_cached, const char *sql,
                   chan_error *err)
{
    char *text;
    int rc;

    for (size_t i = 0; i < conn->n_cache; i++)
        if (conn->cache[i].key == sql) {
            *out = conn->cache[i].stmt;
            *out_cached = true;
            return 0;
        }
    text = rewrite_params(sql);
    rc = sqlite3_prepare_v3(conn->db, text, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    free(text);
    if (rc != SQLITE_OK)
        return db_error(conn->db, rc, "prepare", err);
    *out_cached = conn->n_cache < STMT_CACHE_SIZE;
    if (*out_cached) {
        conn->cache[conn->n_cache].key = sql;
        conn->cache[conn->n_cache].stmt = *out;
        conn->n_cache++;
    }
    return 0;
}

static int sqlite_query(chan_store__conn *conn, chan_store__rows *rows, const char *sql,
                        const chan_store__value *params, size_t n_params, chan_error *err)
{
    sqlite3_stmt *stmt = NULL;
    bool cached = false;
    int rc, error = 0;

    if ((error = prepare(conn, &stmt, &cached, sql, err)) < 0)
        return error;
    for (size_t i = 0; i < n_params; i++) {
        int idx = (int)i + 1;
        switch (params[i].type) {
        case CHAN_STORE__NULL:
            rc = sqlite3_bind_null(stmt, idx);
            break;
        case CHAN_STORE__TEXT:
            rc = sqlite3_bind_text(stmt, idx, params[i].text, -1, SQLITE_STATIC);
            break;
        case CHAN_STORE__INT:
            rc = sqlite3_bind_int64(stmt, idx, params[i].i);
            break;
        default:
            rc = sqlite3_bind_double(stmt, idx, params[i].d);
            break;
        }
        if (rc != SQLITE_OK) {
            error = db_error(conn->db, rc, "bind", err);
            goto cleanup;
        }
    }
    if (rows != NULL)
        rows->n_cols = (size_t)sqlite3_column_count(stmt);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (rows == NULL)
            continue;
        for (size_t c = 0; c < rows->n_cols; c++) {
            int col = (int)c;
            char num[32];
            switch (sqlite3_column_type(stmt, col)) {
            case SQLITE_NULL:
                chan_store__rows_push(rows, c, NULL, 0);
                break;
            case SQLITE_INTEGER:
                /* written here: asking SQLite for the text converts the value
                 * in place, which costs more than the rest of the row */
                chan_store__rows_push_int(rows, c, sqlite3_column_int64(stmt, col));
                break;
            case SQLITE_FLOAT:
                /* SQLite's own text form keeps only 15 digits. */
                snprintf(num, sizeof(num), "%.17g", sqlite3_column_double(stmt, col));
                chan_store__rows_push(rows, c, num, strlen(num));
                break;
            default: {
                const unsigned char *t = sqlite3_column_text(stmt, col);
                chan_store__rows_push(rows, c, t != NULL ? (const char *)t : "",
                                      (size_t)sqlite3_column_bytes(stmt, col));
                break;
            }
            }
        }
        rows->n_rows++;
    }
    if (rc != SQLITE_DONE) {
        error = db_error(conn->db, rc, "query", err);
        goto cleanup;
    }
    if (rows != NULL)
        rows->changes = sqlite3_changes64(conn->db);
cleanup:
    if (cached) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
    } else {
        sqlite3_finalize(stmt);
    }
    return error;
}

static int run_simple(chan_store__conn *conn, const char *sql, chan_error *err)
{
    return sqlite_query(conn, NULL, sql, NULL, 0, err);
}

static int sqlite_begin(chan_store__conn *conn, bool write, chan_error *err)
{
    int error;

    if (!write)
        return run_simple(conn, "BEGIN", err);
    /* One deadline for the whole wait: the queue, then SQLite's lock. */
    conn->lock_wait_ms = now_ms();
    if ((error = write_turn_take(conn, conn->lock_wait_ms, err)) == 0 &&
        (error = run_simple(conn, "BEGIN IMMEDIATE", err)) < 0)
        write_turn_give(conn);
    conn->lock_wait_ms = 0;
    return error;
}

static int sqlite_commit(chan_store__conn *conn, chan_error *err)
{
    int error = run_simple(conn, "COMMIT", err);

    /* A failed COMMIT is rolled back by the caller, which gives the turn. */
    if (error == 0)
        write_turn_give(conn);
    return error;
}

static void sqlite_rollback(chan_store__conn *conn)
{
    if (!sqlite3_get_autocommit(conn->db))
        (void)run_simple(conn, "ROLLBACK", NULL);
    write_turn_give(conn);
}

static int sqlite_lock(chan_store__conn *conn, const char *key, chan_error *err)
{
    /* BEGIN IMMEDIATE already holds the database's single write lock. */
    (void)conn;
    (void)key;
    (void)err;
    return 0;
}

static int sqlite_exec_script(chan_store__conn *conn, const char *sql, chan_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(conn->db, sql, NULL, NULL, &msg);
    int error = 0;

    if (rc != SQLITE_OK)
        error = db_error(conn->db, rc, "script", err);
    sqlite3_free(msg);
    return error;
}

static int sqlite_next_schema_id(chan_store__conn *conn, int64_t *out, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    /* Schema rows are never deleted, so MAX + 1 never reuses an id; the
     * write transaction excludes concurrent allocators. */
    *out = 0;
    error = sqlite_query(conn, &rows, "SELECT COALESCE(MAX(id), 0) + 1 FROM schemas", NULL, 0, err);
    if (error == 0)
        *out = chan_store__cell_int(&rows, 0, 0);
    chan_store__rows_dispose(&rows);
    return error;
}

static int sqlite_migration_lock(chan_store__conn *conn, bool lock, chan_error *err)
{
    /* Each migration runs in BEGIN IMMEDIATE and re-checks schema_migrations. */
    (void)conn;
    (void)lock;
    (void)err;
    return 0;
}

const chan_store__backend chan_store__sqlite_backend = {
    .version = CHAN_STORE__BACKEND_VERSION,
    .name = "sqlite",
    .init = sqlite_init,
    .dispose = sqlite_dispose,
    .abort = sqlite_abort,
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .revive = sqlite_revive,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .lock = sqlite_lock,
    .query = sqlite_query,
    .exec_script = sqlite_exec_script,
    .next_schema_id = sqlite_next_schema_id,
    .migration_lock = sqlite_migration_lock,
};
