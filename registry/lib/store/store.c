/*
 * store.c - the storage semantics shared by every backend: entry points.
 *
 * The public API of chan/store.h is implemented once, on top of the backend
 * vtable of store_backend.h, with SQL that both SQLite and PostgreSQL
 * accept; the few statements that differ live in store_sqlite.c and
 * store_pg.c.  This file holds what every topic uses: argument checks, the
 * connection pool and transactions, and opening and closing a store.  The
 * topics themselves are store_schema.c (schemas, subjects, configuration and
 * mode), store_channel.c (channels and consumers) and store_audit.c (the
 * audit log); store_int.h declares what they share.
 *
 * Locking: a write transaction first takes the backend lock of the object it
 * changes ("subject:<name>", "channel:<name>", ...), re-reads the state under
 * that lock, decides, writes and appends its audit entry, then commits.  With
 * PostgreSQL (READ COMMITTED) each statement after the lock sees every
 * transaction that held the lock before; with SQLite the write transaction
 * (BEGIN IMMEDIATE) excludes every other writer.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan/common.h"
#include "chan/store.h"
#include "store_int.h"

/* ------------------------------------------------------------------ */
/* Errors and argument checks                                         */
/* ------------------------------------------------------------------ */

int chan_store_error_reason(const chan_error *err)
{
    return err != NULL ? err->reason : 0;
}

/* Set an error with a chan_store_reason.  Returns code. */
int chan_store__set_reason(chan_error *err, int code, int reason, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return code;
    va_start(ap, fmt);
    chan_error_vset(err, code, fmt, ap);
    va_end(ap);
    err->reason = reason;
    return code;
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not valid. */
static size_t utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xe0 && s[0] <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (s[0] == 0xe0 && s[1] < 0xa0)
            return 0; /* overlong */
        if (s[0] == 0xed && s[1] > 0x9f)
            return 0; /* surrogate */
        return 3;
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
            return 0;
        if (s[0] == 0xf0 && s[1] < 0x90)
            return 0;
        if (s[0] == 0xf4 && s[1] > 0x8f)
            return 0;
        return 4;
    }
    return 0;
}

/*
** Check a text argument: present, at most max bytes, valid UTF-8; names
** (`name` true) must also be non-empty and free of control characters.
** Returns 0 or CHAN_EINVALID naming `what`.
*/
int chan_store__check_text(const char *what, const char *s, size_t max, bool name, chan_error *err)
{
    size_t len;

    if (s == NULL || (name && s[0] == '\0'))
        return chan_error_set(err, CHAN_EINVALID, "%s is empty", what);
    len = strnlen(s, max + 1);
    if (len > max)
        return chan_error_set(err, CHAN_EINVALID, "%s is longer than %zu bytes", what, max);
    for (size_t i = 0; i < len;) {
        const unsigned char *p = (const unsigned char *)s + i;
        size_t n = utf8_seq(p);
        if (n == 0)
            return chan_error_set(err, CHAN_EINVALID, "%s is not valid UTF-8 (byte %zu)", what, i);
        if (name && (p[0] < 0x20 || p[0] == 0x7f))
            return chan_error_set(err, CHAN_EINVALID, "%s contains a control character", what);
        i += n;
    }
    return 0;
}

int chan_store__check_name(const char *what, const char *s, chan_error *err)
{
    return chan_store__check_text(what, s, CHAN_STORE_NAME_MAX, true, err);
}

/* The actor recorded in audit entries; never empty. */
int chan_store__check_actor(const char **actor, chan_error *err)
{
    if (*actor == NULL || (*actor)[0] == '\0')
        *actor = "anonymous";
    return chan_store__check_name("actor", *actor, err);
}

bool chan_store__streq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

bool chan_store__in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

const char *const chan_store__compat_levels[] = {
    "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
    "FULL",     "FULL_TRANSITIVE",     "NONE",    NULL,
};

/* ------------------------------------------------------------------ */
/* Connection pool and transactions                                   */
/* ------------------------------------------------------------------ */

/* Take a connection from the pool, waiting while every one is in use. */
int chan_store__op_acquire(chan_store__op *o, chan_store *store, chan_error *err)
{
    struct timespec deadline;
    int error, timedout = 0;

    assert(o != NULL && store != NULL);
    assert(o->conn == NULL); /* one connection per operation at a time */
    o->store = store;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += store->acquire_timeout_ms / 1000;
    deadline.tv_nsec += (long)(store->acquire_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&store->mu);
    while (store->n_idle == 0 && !store->aborted && timedout != ETIMEDOUT)
        timedout = pthread_cond_timedwait(&store->cv, &store->mu, &deadline);
    if (store->aborted || store->n_idle == 0) {
        bool aborted = store->aborted;

        pthread_mutex_unlock(&store->mu);
        if (aborted)
            return chan_store__set_reason(err, CHAN_EUNAVAILABLE, CHAN_STORE_R_TIMEOUT,
                                          "the store is shutting down");
        return chan_store__set_reason(err, CHAN_EUNAVAILABLE, CHAN_STORE_R_TIMEOUT,
                                      "no database connection became free within %u ms (all "
                                      "%u are busy)",
                                      store->acquire_timeout_ms, store->n_conns);
    }
    o->conn = store->idle[--store->n_idle];
    o->used = false;
    pthread_mutex_unlock(&store->mu);
    if ((error = store->be->revive(o->conn, err)) < 0)
        return error; /* chan_store__op_end puts the connection back */
    return 0;
}

/*
** After CHAN_EUNAVAILABLE on the first statement of an operation outside a
** transaction (or on its BEGIN): the pooled connection may have died while
** idle (server restart, idle timeout).  Returns true when the backend
** reconnected it, so that the statement can be sent once more; nothing was
** done on the old session, so the retry cannot apply anything twice.
*/
static bool may_retry(chan_store__op *o, int error, const chan_error *err)
{
    chan_error ignored = CHAN_ERROR_INIT;

    assert(o->conn != NULL);
    /* A deadline passed: the server is sick, not a stale session. */
    if (error != CHAN_EUNAVAILABLE || o->in_txn || o->used ||
        chan_store_error_reason(err) == CHAN_STORE_R_TIMEOUT)
        return false;
    return o->store->be->revive(o->conn, &ignored) == 1;
}

/* Roll back an open transaction and give the connection back.  NULL-safe. */
void chan_store__op_end(chan_store__op *o)
{
    chan_store *store = o->store;

    if (o->conn == NULL)
        return;
    if (o->in_txn)
        store->be->rollback(o->conn);
    o->in_txn = false;
    pthread_mutex_lock(&store->mu);
    store->idle[store->n_idle++] = o->conn;
    pthread_cond_signal(&store->cv);
    pthread_mutex_unlock(&store->mu);
    o->conn = NULL;
}

/* Acquire a connection and start a transaction. */
int chan_store__op_begin(chan_store__op *o, chan_store *store, bool write, chan_error *err)
{
    int error;

    if ((error = chan_store__op_acquire(o, store, err)) < 0)
        return error;
    error = store->be->begin(o->conn, write, err);
    if (may_retry(o, error, err))
        error = store->be->begin(o->conn, write, err);
    o->used = true;
    if (error < 0)
        return error;
    o->in_txn = true;
    o->write = write;
    return 0;
}

int chan_store__op_commit(chan_store__op *o, chan_error *err)
{
    int error;

    assert(o->conn != NULL && o->in_txn);
    /* Every daemon on the database empties its read cache when this commits. */
    if (o->write && o->store->reads != NULL &&
        (error = chan_store__run(o, NULL, "SELECT pg_notify('chanreg_cache', '')", NULL, 0, err)) <
            0) {
        o->store->be->rollback(o->conn);
        o->in_txn = false;
        return error;
    }
    error = o->store->be->commit(o->conn, err);
    o->in_txn = false; /* a failed COMMIT ends the transaction too */
    if (error < 0)
        o->store->be->rollback(o->conn);
    /* Also after a failed COMMIT: whether it took effect is not known. */
    if (o->write) {
        atomic_fetch_add(&o->store->writes, 1);
        chan_store__read_cache_invalidate(o->store->reads);
    }
    return error;
}

int chan_store__op_lock(chan_store__op *o, const char *kind, const char *name, chan_error *err)
{
    char *key;
    int error;

    assert(o->conn != NULL && o->in_txn);
    key = chan_xasprintf("%s:%s", kind, name);
    error = o->store->be->lock(o->conn, key, err);
    free(key);
    return error;
}

/* Run one statement; rows may be NULL.  Disposes rows first. */
int chan_store__run(chan_store__op *o, chan_store__rows *rows, const char *sql,
                    const chan_store__value *params, size_t n, chan_error *err)
{
    int error;

    assert(o->conn != NULL && sql != NULL);
    chan_store__rows_dispose(rows);
    error = o->store->be->query(o->conn, rows, sql, params, n, err);
    if (may_retry(o, error, err)) {
        chan_store__rows_dispose(rows);
        error = o->store->be->query(o->conn, rows, sql, params, n, err);
    }
    o->used = true;
    return error;
}

int64_t chan_store__now(void)
{
    return (int64_t)time(NULL);
}

/* ------------------------------------------------------------------ */
/* Open and close                                                     */
/* ------------------------------------------------------------------ */

void chan_store_free(chan_store *store)
{
    if (store == NULL)
        return;
    chan_store__read_cache_stop(store->reads);
    chan_store__id_cache_dispose(&store->cache);
    for (unsigned int i = 0; i < store->n_conns; i++)
        store->be->disconnect(store->conns[i]);
    store->be->dispose(store->state);
    pthread_mutex_destroy(&store->mu);
    pthread_mutex_destroy(&store->foreign_mu);
    pthread_cond_destroy(&store->cv);
    free(store->conns);
    free(store->idle);
    free(store->data_versions);
    free(store);
}

int chan_store_open(chan_store **out, const char *url, const chan_store_options *opts,
                    chan_error *err)
{
    chan_store_options defaults = CHAN_STORE_OPTIONS_INIT;
    pthread_condattr_t cattr;
    const chan_store__backend *be;
    const char *target;
    chan_store *store = NULL;
    unsigned int pool_size = 0;
    int error = 0;

    assert(out != NULL);
    *out = NULL;
    if (opts == NULL)
        opts = &defaults;
    if (opts->version != CHAN_STORE_OPTIONS_VERSION)
        return chan_error_set(err, CHAN_EINVALID, "unsupported store options version %u",
                              opts->version);
    if (url == NULL || url[0] == '\0')
        return chan_error_set(err, CHAN_EINVALID, "empty store URL");

    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
        be = &chan_store__pg_backend;
        target = url;
    } else if (strncmp(url, "postgres:", 9) == 0) {
        be = &chan_store__pg_backend;
        target = url + 9;
    } else if (strncmp(url, "sqlite:", 7) == 0) {
        be = &chan_store__sqlite_backend;
        target = url + 7;
    } else if (strstr(url, "://") != NULL) {
        return chan_error_set(err, CHAN_EINVALID, "unsupported store URL scheme in '%.64s'", url);
    } else {
        be = &chan_store__sqlite_backend;
        target = url;
    }

    store = chan_xcalloc(1, sizeof(*store));
    store->be = be;
    store->acquire_timeout_ms = opts->acquire_timeout_ms > 0
                                    ? opts->acquire_timeout_ms
                                    : CHAN_STORE_ACQUIRE_TIMEOUT_DEFAULT_MS;
    chan_store__id_cache_init(&store->cache, opts->schema_cache_entries);
    pthread_mutex_init(&store->mu, NULL);
    pthread_mutex_init(&store->foreign_mu, NULL);
    atomic_init(&store->foreign_checked_ms, INT64_MIN / 2);
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&store->cv, &cattr);
    pthread_condattr_destroy(&cattr);
    if ((error = be->init(&store->state, &pool_size, target, opts, err)) < 0)
        goto cleanup;
    if (pool_size == 0)
        pool_size = 1;
    store->conns = chan_xcalloc(pool_size, sizeof(*store->conns));
    store->idle = chan_xcalloc(pool_size, sizeof(*store->idle));
    store->data_versions = chan_xcalloc(pool_size, sizeof(*store->data_versions));

    /* The first connection migrates before the others open. */
    for (unsigned int i = 0; i < pool_size; i++) {
        if ((error = be->connect(&store->conns[i], store->state, err)) < 0)
            goto cleanup;
        store->n_conns++;
        if (i == 0 && (error = chan_store__migrate(be, store->conns[0], opts->migrations_dir,
                                                   opts->read_only, err)) < 0)
            goto cleanup;
        store->idle[store->n_idle++] = store->conns[i];
    }
    /* PostgreSQL reads are round trips: cache some, kept right by LISTEN/NOTIFY. */
    if (be == &chan_store__pg_backend && !opts->no_read_cache)
        store->reads = chan_store__read_cache_start(target);

    *out = store;
    store = NULL;
cleanup:
    chan_store_free(store);
    return error;
}

void chan_store_abort(chan_store *store)
{
    assert(store != NULL);
    pthread_mutex_lock(&store->mu);
    store->aborted = true;
    pthread_cond_broadcast(&store->cv);
    pthread_mutex_unlock(&store->mu);
    if (store->state != NULL)
        store->be->abort(store->state);
}

const char *chan_store_backend_name(const chan_store *store)
{
    return store->be->name;
}

int chan_store_ping(chan_store *store, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL);
    if ((error = chan_store__op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows, "SELECT 1", NULL, 0, err)) < 0)
        goto cleanup;
    if (rows.n_rows != 1)
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "database did not answer the ping");
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    if (error < 0 && error != CHAN_EUNAVAILABLE)
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "store ping failed: %s",
                               err != NULL ? err->message : chan_strerror(error));
    return error;
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
** SQLite: the commits of other processes on the same file.  PRAGMA
** data_version on a pooled connection changes when another connection (of
** this process or another) committed since that connection last asked; the
** first connection that sees a change moves store->foreign.  Asking takes
** SQLite's shared-memory read lock, which costs as much as a cached read,
** so it is asked at most every CHAN_STORE__FOREIGN_CHECK_MS, by one caller
** at a time (the others go on with the last value): another process's
** commit moves the generation within that time.  The store's own writes
** move store->writes at once.  False when the check fails.
*/
static bool sqlite_foreign(chan_store *store, uint64_t *out)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_error err = CHAN_ERROR_INIT;
    int64_t now = monotonic_ms();
    bool ok = false;

    if (now - atomic_load(&store->foreign_checked_ms) < CHAN_STORE__FOREIGN_CHECK_MS ||
        pthread_mutex_trylock(&store->foreign_mu) != 0) {
        *out = atomic_load(&store->foreign);
        return atomic_load(&store->foreign_ok);
    }
    if (chan_store__op_acquire(&o, store, &err) < 0 ||
        chan_store__run(&o, &rows, "PRAGMA data_version", NULL, 0, &err) < 0 || rows.n_rows != 1)
        goto cleanup;
    {
        int64_t v = chan_store__cell_int(&rows, 0, 0);
        unsigned int i;

        for (i = 0; i < store->n_conns && store->conns[i] != o.conn; i++)
            ;
        if (i < store->n_conns && store->data_versions[i] != v) {
            store->data_versions[i] = v;
            atomic_fetch_add(&store->foreign, 1);
        }
        ok = true;
    }
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    atomic_store(&store->foreign_ok, ok);
    if (ok) /* after a failure, the next caller asks again */
        atomic_store(&store->foreign_checked_ms, monotonic_ms());
    pthread_mutex_unlock(&store->foreign_mu);
    *out = atomic_load(&store->foreign);
    return ok;
}

bool chan_store_generation(chan_store *store, uint64_t *out)
{
    uint64_t writes, other = 0;

    assert(store != NULL && out != NULL);
    /* Read before the other source: a write that commits meanwhile moves the sum later. */
    writes = atomic_load(&store->writes);
    if (store->be == &chan_store__pg_backend) {
        /* The epoch moves on every NOTIFY, and when the listener (re)connects. */
        if (!chan_store__read_cache_begin(store->reads, &other))
            return false;
    } else if (!sqlite_foreign(store, &other)) {
        return false;
    }
    *out = writes + other;
    return true;
}

int chan_store_migration_count(chan_store *store, int *out, chan_error *err)
{
    chan_store__op o = CHAN_STORE__OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    assert(store != NULL && out != NULL);
    *out = 0;
    if ((error = chan_store__op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = chan_store__run(&o, &rows, "SELECT COUNT(*) FROM schema_migrations", NULL, 0,
                                 err)) < 0)
        goto cleanup;
    *out = (int)chan_store__cell_int(&rows, 0, 0);
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__op_end(&o);
    return error;
}
