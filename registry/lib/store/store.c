/*
 * store.c - the storage semantics shared by every backend.
 *
 * This file implements the public API of chan/store.h once: argument checks,
 * the connection pool, transactions, subject version numbering, the soft and
 * permanent delete rules, channel and consumer diffs, audit entries and the
 * record frees.  It talks to the database only through the backend vtable of
 * store_backend.h, with SQL that both SQLite and PostgreSQL accept; the few
 * statements that differ live in store_sqlite.c and store_pg.c.
 *
 * Locking: a write transaction first takes the backend lock of the object it
 * changes ("subject:<name>", "channel:<name>", ...), re-reads the state under
 * that lock, decides, writes and appends its audit entry, then commits.  With
 * PostgreSQL (READ COMMITTED) each statement after the lock sees every
 * transaction that held the lock before; with SQLite the write transaction
 * (BEGIN IMMEDIATE) excludes every other writer.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/store.h"
#include "store_backend.h"

/*
 * Schemas by id never change and ids are never reused, so the by-id lookup
 * (the hottest call: every consumer that meets a new id asks for it) keeps
 * what it read in a cache that needs no invalidation.  Open addressing on
 * the id (0 marks a free slot: ids start at 1); when either bound is
 * reached the cache starts over.
 */
#define ID_CACHE_SLOTS 16384 /* power of two; at most half are used */
#define ID_CACHE_BYTES (64 * 1024 * 1024)

typedef struct id_cache_entry {
    int64_t id;
    char *text;
    char *type;
} id_cache_entry;

typedef struct id_cache {
    pthread_rwlock_t lock;
    id_cache_entry *slots; /**< ID_CACHE_SLOTS of them */
    size_t n;
    size_t bytes;
} id_cache;

struct chan_store {
    const chan_store__backend *be;
    id_cache cache;
    void *state;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chan_store__conn **conns; /**< every connection, n_conns of them */
    unsigned int n_conns;
    chan_store__conn **idle; /**< stack of the connections not in use */
    unsigned int n_idle;
};

/* ------------------------------------------------------------------ */
/* Result rows                                                         */
/* ------------------------------------------------------------------ */

void chan_store__rows_dispose(chan_store__rows *rows)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < rows->cap; i++)
        free(rows->cells[i]);
    free(rows->cells);
    rows->cells = NULL;
    rows->cap = 0;
    rows->n_rows = 0;
    rows->n_cols = 0;
    rows->changes = 0;
}

const char *chan_store__cell(const chan_store__rows *rows, size_t row, size_t col)
{
    if (row >= rows->n_rows || col >= rows->n_cols)
        return NULL;
    return rows->cells[row * rows->n_cols + col];
}

int64_t chan_store__cell_int(const chan_store__rows *rows, size_t row, size_t col)
{
    const char *s = chan_store__cell(rows, row, col);
    if (s == NULL)
        return 0;
    return strtoll(s, NULL, 10);
}

double chan_store__cell_real(const chan_store__rows *rows, size_t row, size_t col)
{
    const char *s = chan_store__cell(rows, row, col);
    if (s == NULL)
        return 0.0;
    return strtod(s, NULL);
}

char *chan_store__cell_take(chan_store__rows *rows, size_t row, size_t col)
{
    char *s;

    if (row >= rows->n_rows || col >= rows->n_cols)
        return NULL;
    s = rows->cells[row * rows->n_cols + col];
    rows->cells[row * rows->n_cols + col] = NULL;
    return s;
}

void chan_store__rows_push(chan_store__rows *rows, size_t col, const char *text, size_t len)
{
    size_t idx = rows->n_rows * rows->n_cols + col;

    if (idx >= rows->cap) {
        size_t ncap = rows->cap < 16 ? 16 : rows->cap * 2;
        while (ncap <= idx)
            ncap *= 2;
        rows->cells = chan_xreallocarray(rows->cells, ncap, sizeof(char *));
        memset(rows->cells + rows->cap, 0, (ncap - rows->cap) * sizeof(char *));
        rows->cap = ncap;
    }
    free(rows->cells[idx]);
    rows->cells[idx] = text != NULL ? chan_xstrndup(text, len) : NULL;
}

uint64_t chan_store__fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* ------------------------------------------------------------------ */
/* Errors and argument checks                                          */
/* ------------------------------------------------------------------ */

int chan_store_error_reason(const chan_error *err)
{
    return err != NULL ? err->reason : 0;
}

/* Set an error with a chan_store_reason.  Returns code. */
static int set_reason(chan_error *err, int code, int reason, const char *fmt, ...)
    CHAN_PRINTF(4, 5);
static int set_reason(chan_error *err, int code, int reason, const char *fmt, ...)
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
static int check_text(const char *what, const char *s, size_t max, bool name, chan_error *err)
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

static int check_name(const char *what, const char *s, chan_error *err)
{
    return check_text(what, s, CHAN_STORE_NAME_MAX, true, err);
}

/* The actor recorded in audit entries; never empty. */
static int check_actor(const char **actor, chan_error *err)
{
    if (*actor == NULL || (*actor)[0] == '\0')
        *actor = "anonymous";
    return check_name("actor", *actor, err);
}

static bool streq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static const char *const compat_levels[] = {
    "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE",
    "FULL",     "FULL_TRANSITIVE",     "NONE",    NULL,
};
static const char *const modes[] = {"READWRITE", "READONLY", "IMPORT", NULL};
static const char *const schema_types[] = {"AVRO", "JSON", "PROTOBUF", NULL};

/* ------------------------------------------------------------------ */
/* Connection pool and transactions                                    */
/* ------------------------------------------------------------------ */

/* One operation: a pooled connection and maybe an open transaction. */
typedef struct op {
    chan_store *store;
    chan_store__conn *conn;
    bool in_txn;
    bool used; /**< a statement ran on conn */
} op;

#define OP_INIT                                                                                    \
    {                                                                                              \
        NULL, NULL, false, false                                                                   \
    }

/* Take a connection from the pool, waiting while every one is in use. */
static int op_acquire(op *o, chan_store *store, chan_error *err)
{
    int error;

    o->store = store;
    pthread_mutex_lock(&store->mu);
    while (store->n_idle == 0)
        pthread_cond_wait(&store->cv, &store->mu);
    o->conn = store->idle[--store->n_idle];
    o->used = false;
    pthread_mutex_unlock(&store->mu);
    if ((error = store->be->revive(o->conn, err)) < 0)
        return error; /* op_end puts the connection back */
    return 0;
}

/*
** After CHAN_EUNAVAILABLE on the first statement of an operation outside a
** transaction (or on its BEGIN): the pooled connection may have died while
** idle (server restart, idle timeout).  Returns true when the backend
** reconnected it, so that the statement can be sent once more; nothing was
** done on the old session, so the retry cannot apply anything twice.
*/
static bool may_retry(op *o, int error)
{
    chan_error ignored = CHAN_ERROR_INIT;

    if (error != CHAN_EUNAVAILABLE || o->in_txn || o->used)
        return false;
    return o->store->be->revive(o->conn, &ignored) == 1;
}

/* Roll back an open transaction and give the connection back.  NULL-safe. */
static void op_end(op *o)
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
static int op_begin(op *o, chan_store *store, bool write, chan_error *err)
{
    int error;

    if ((error = op_acquire(o, store, err)) < 0)
        return error;
    error = store->be->begin(o->conn, write, err);
    if (may_retry(o, error))
        error = store->be->begin(o->conn, write, err);
    o->used = true;
    if (error < 0)
        return error;
    o->in_txn = true;
    return 0;
}

static int op_commit(op *o, chan_error *err)
{
    int error = o->store->be->commit(o->conn, err);
    o->in_txn = false; /* a failed COMMIT ends the transaction too */
    if (error < 0)
        o->store->be->rollback(o->conn);
    return error;
}

static int op_lock(op *o, const char *kind, const char *name, chan_error *err)
{
    char *key = chan_xasprintf("%s:%s", kind, name);
    int error = o->store->be->lock(o->conn, key, err);
    free(key);
    return error;
}

/* Run one statement; rows may be NULL.  Disposes rows first. */
static int run(op *o, chan_store__rows *rows, const char *sql, const chan_store__value *params,
               size_t n, chan_error *err)
{
    int error;

    chan_store__rows_dispose(rows);
    error = o->store->be->query(o->conn, rows, sql, params, n, err);
    if (may_retry(o, error)) {
        chan_store__rows_dispose(rows);
        error = o->store->be->query(o->conn, rows, sql, params, n, err);
    }
    o->used = true;
    return error;
}

/* P(SV_TEXT(a), SV_INT(b)) expands to the `params, n` arguments of run(). */
#define P(...)                                                                                     \
    ((const chan_store__value[]){__VA_ARGS__}),                                                    \
        (sizeof((const chan_store__value[]){__VA_ARGS__}) / sizeof(chan_store__value))

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

/* Append an audit entry; takes ownership of detail (may be NULL). */
static int audit(op *o, const char *actor, const char *action, const char *object, json_t *detail,
                 int64_t now, chan_error *err)
{
    char *text = NULL;
    int error;

    if (detail != NULL)
        text = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(detail);
    error =
        run(o, NULL,
            "INSERT INTO audit_log (ts, actor, action, object, detail) "
            "VALUES ($1, $2, $3, $4, $5)",
            P(SV_INT(now), SV_TEXT(actor), SV_TEXT(action), SV_TEXT(object), SV_TEXT(text)), err);
    free(text);
    return error;
}

/* ------------------------------------------------------------------ */
/* Open and close                                                      */
/* ------------------------------------------------------------------ */

static void id_cache_init(id_cache *c)
{
    pthread_rwlock_init(&c->lock, NULL);
    c->slots = chan_xcalloc(ID_CACHE_SLOTS, sizeof(*c->slots));
}

/* Empty the cache; the caller holds the write lock (or is the only user). */
static void id_cache_clear(id_cache *c)
{
    for (size_t i = 0; i < ID_CACHE_SLOTS; i++) {
        free(c->slots[i].text);
        free(c->slots[i].type);
        c->slots[i].id = 0;
        c->slots[i].text = NULL;
        c->slots[i].type = NULL;
    }
    c->n = 0;
    c->bytes = 0;
}

static void id_cache_dispose(id_cache *c)
{
    if (c->slots == NULL)
        return;
    id_cache_clear(c);
    free(c->slots);
    pthread_rwlock_destroy(&c->lock);
}

static size_t id_slot(int64_t id)
{
    return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ULL) >> 50) & (ID_CACHE_SLOTS - 1);
}

/* Copy the cached schema of id into *text / *type.  Returns false on a miss. */
static bool id_cache_get(id_cache *c, int64_t id, char **text, char **type)
{
    bool hit = false;

    pthread_rwlock_rdlock(&c->lock);
    for (size_t i = id_slot(id); c->slots[i].id != 0; i = (i + 1) & (ID_CACHE_SLOTS - 1)) {
        if (c->slots[i].id == id) {
            *text = chan_xstrdup(c->slots[i].text);
            if (type != NULL)
                *type = chan_xstrdup(c->slots[i].type);
            hit = true;
            break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return hit;
}

static void id_cache_put(id_cache *c, int64_t id, const char *text, const char *type)
{
    size_t size = strlen(text) + strlen(type) + 2, i;

    if (id <= 0 || size > ID_CACHE_BYTES / 16)
        return;
    pthread_rwlock_wrlock(&c->lock);
    if (c->n >= ID_CACHE_SLOTS / 2 || c->bytes + size > ID_CACHE_BYTES)
        id_cache_clear(c);
    for (i = id_slot(id); c->slots[i].id != 0; i = (i + 1) & (ID_CACHE_SLOTS - 1))
        if (c->slots[i].id == id)
            goto done; /* another thread was first */
    c->slots[i].id = id;
    c->slots[i].text = chan_xstrdup(text);
    c->slots[i].type = chan_xstrdup(type);
    c->n++;
    c->bytes += size;
done:
    pthread_rwlock_unlock(&c->lock);
}

void chan_store_free(chan_store *store)
{
    if (store == NULL)
        return;
    id_cache_dispose(&store->cache);
    for (unsigned int i = 0; i < store->n_conns; i++)
        store->be->disconnect(store->conns[i]);
    store->be->dispose(store->state);
    pthread_mutex_destroy(&store->mu);
    pthread_cond_destroy(&store->cv);
    free(store->conns);
    free(store->idle);
    free(store);
}

int chan_store_open(chan_store **out, const char *url, const chan_store_options *opts,
                    chan_error *err)
{
    chan_store_options defaults = CHAN_STORE_OPTIONS_INIT;
    const chan_store__backend *be;
    const char *target;
    chan_store *store = NULL;
    unsigned int pool_size = 0;
    int error = 0;

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
    id_cache_init(&store->cache);
    pthread_mutex_init(&store->mu, NULL);
    pthread_cond_init(&store->cv, NULL);
    if ((error = be->init(&store->state, &pool_size, target, opts, err)) < 0)
        goto cleanup;
    if (pool_size == 0)
        pool_size = 1;
    store->conns = chan_xcalloc(pool_size, sizeof(*store->conns));
    store->idle = chan_xcalloc(pool_size, sizeof(*store->idle));

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

    *out = store;
    store = NULL;
cleanup:
    chan_store_free(store);
    return error;
}

const char *chan_store_backend_name(const chan_store *store)
{
    return store->be->name;
}

int chan_store_ping(chan_store *store, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    if ((error = op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows, "SELECT 1", NULL, 0, err)) < 0)
        goto cleanup;
    if (rows.n_rows != 1)
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "database did not answer the ping");
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    if (error < 0 && error != CHAN_EUNAVAILABLE)
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "store ping failed: %s",
                               err != NULL ? err->message : chan_strerror(error));
    return error;
}

int chan_store_migration_count(chan_store *store, int *out, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = 0;
    if ((error = op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows, "SELECT COUNT(*) FROM schema_migrations", NULL, 0, err)) < 0)
        goto cleanup;
    *out = (int)chan_store__cell_int(&rows, 0, 0);
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

/* ------------------------------------------------------------------ */
/* Schemas and subjects                                                */
/* ------------------------------------------------------------------ */

void chan_schema_version_free(chan_schema_version *v)
{
    if (v == NULL)
        return;
    free(v->subject);
    free(v->schema_type);
    free(v->schema);
    free(v);
}

void chan_schema_version_list_free(chan_schema_version **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        chan_schema_version_free(list[i]);
    free(list);
}

void chan_store_string_list_free(char **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* The columns read by version_from_row, in order. */
#define VERSION_COLS                                                                               \
    "SELECT sv.subject, sv.version, sv.schema_id, s.schema_type, s.schema_text, sv.deleted, "      \
    "sv.created_at FROM subject_versions sv JOIN schemas s ON s.id = sv.schema_id "

static chan_schema_version *version_from_row(chan_store__rows *rows, size_t r)
{
    chan_schema_version *v = chan_xcalloc(1, sizeof(*v));

    v->subject = chan_store__cell_take(rows, r, 0);
    v->version = (int)chan_store__cell_int(rows, r, 1);
    v->id = chan_store__cell_int(rows, r, 2);
    v->schema_type = chan_store__cell_take(rows, r, 3);
    v->schema = chan_store__cell_take(rows, r, 4);
    v->deleted = chan_store__cell_int(rows, r, 5) != 0;
    v->created_at = chan_store__cell_int(rows, r, 6);
    if (v->subject == NULL)
        v->subject = chan_xstrdup("");
    if (v->schema_type == NULL)
        v->schema_type = chan_xstrdup("AVRO");
    if (v->schema == NULL)
        v->schema = chan_xstrdup("");
    return v;
}

/* The store's own hash of a schema text, the key of the schemas index. */
static int64_t text_hash(const char *text)
{
    return (int64_t)chan_store__fnv1a64(text, strlen(text));
}

/*
** Tell apart "no such subject" and "no such version/schema" after a failed
** lookup: CHAN_ENOTFOUND with SUBJECT_NOT_FOUND when the subject has no
** (visible) version, else with `reason` and `msg`.
*/
static int not_found_in_subject(op *o, const char *subject, bool include_deleted, int reason,
                                const char *what, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    error = run(o, &rows,
                "SELECT 1 FROM subject_versions WHERE subject = $1 AND (deleted = 0 OR $2 = 1) "
                "LIMIT 1",
                P(SV_TEXT(subject), SV_INT(include_deleted)), err);
    if (error == 0) {
        if (rows.n_rows == 0)
            error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND,
                               "subject '%s' not found", subject);
        else
            error = set_reason(err, CHAN_ENOTFOUND, reason, "%s not found in subject '%s'", what,
                               subject);
    }
    chan_store__rows_dispose(&rows);
    return error;
}

/* Effective mode of subject (its own, else the global one, else READWRITE). */
static int effective_mode_is_readonly(op *o, bool *out, const char *subject, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = false;
    error = run(o, &rows,
                "SELECT mode FROM subject_config WHERE subject IN ($1, '') AND mode IS NOT NULL "
                "ORDER BY subject DESC LIMIT 1",
                P(SV_TEXT(subject)), err);
    if (error == 0 && rows.n_rows == 1)
        *out = streq(chan_store__cell(&rows, 0, 0), "READONLY");
    chan_store__rows_dispose(&rows);
    return error;
}

static int check_writable(op *o, const char *subject, chan_error *err)
{
    bool ro;
    int error;

    if ((error = effective_mode_is_readonly(o, &ro, subject, err)) < 0)
        return error;
    if (ro)
        return set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_READ_ONLY,
                          "subject '%s' is in READONLY mode", subject);
    return 0;
}

/* The live version of subject with exactly this text, if any (n_rows 0 or 1). */
static int find_live_same(op *o, chan_store__rows *rows, const char *subject, const char *type,
                          const char *schema, chan_error *err)
{
    return run(o, rows,
               VERSION_COLS "WHERE sv.subject = $1 AND sv.deleted = 0 AND s.fingerprint = $2 "
                            "AND s.schema_type = $3 AND s.schema_text = $4 "
                            "ORDER BY sv.version LIMIT 1",
               P(SV_TEXT(subject), SV_INT(text_hash(schema)), SV_TEXT(type), SV_TEXT(schema)), err);
}

int chan_store_schema_register(chan_store *store, chan_schema_version **out, bool *out_created,
                               const chan_schema_register_request *req, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_schema_version **existing = NULL;
    size_t n_existing = 0;
    const char *type, *actor;
    int64_t now = now_seconds(), id, version;
    bool new_id = false;
    char *object = NULL;
    int error = 0;

    *out = NULL;
    if (out_created != NULL)
        *out_created = false;
    if (req == NULL)
        return chan_error_set(err, CHAN_EINVALID, "no registration request");
    type = req->schema_type != NULL ? req->schema_type : "AVRO";
    actor = req->actor;
    if ((error = check_name("subject", req->subject, err)) < 0 ||
        (error = check_text("schema", req->schema, CHAN_STORE_SCHEMA_MAX, false, err)) < 0 ||
        (error = check_actor(&actor, err)) < 0)
        return error;
    if (req->schema[0] == '\0')
        return chan_error_set(err, CHAN_EINVALID, "schema is empty");
    if (!in_list(type, schema_types))
        return chan_error_set(err, CHAN_EINVALID, "unknown schema type '%.64s'", type);

    /* Fast path without the write lock: already registered. */
    if ((error = op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = find_live_same(&o, &rows, req->subject, type, req->schema, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 1) {
        *out = version_from_row(&rows, 0);
        goto cleanup;
    }
    op_end(&o);

    if ((error = op_begin(&o, store, true, err)) < 0 ||
        (error = op_lock(&o, "subject", req->subject, err)) < 0 ||
        (error = check_writable(&o, req->subject, err)) < 0)
        goto cleanup;
    /* Again under the lock: a concurrent writer may have just added it. */
    if ((error = find_live_same(&o, &rows, req->subject, type, req->schema, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 1) {
        *out = version_from_row(&rows, 0);
        goto cleanup;
    }

    if (req->check != NULL) {
        if ((error = run(&o, &rows,
                         VERSION_COLS "WHERE sv.subject = $1 AND sv.deleted = 0 "
                                      "ORDER BY sv.version",
                         P(SV_TEXT(req->subject)), err)) < 0)
            goto cleanup;
        n_existing = rows.n_rows;
        existing = chan_xcalloc(n_existing + 1, sizeof(*existing));
        for (size_t i = 0; i < n_existing; i++)
            existing[i] = version_from_row(&rows, i);
        error = req->check(req->check_ctx, (const chan_schema_version *const *)existing, n_existing,
                           err);
        if (error > 0)
            error = CHAN_EINTERNAL;
        if (error < 0) {
            if (err != NULL && err->code == 0)
                chan_error_set(err, error, "schema check failed");
            goto cleanup;
        }
    }

    /* The global id: one per distinct (type, text), whatever the subject. */
    {
        char key[32];
        snprintf(key, sizeof(key), "%016llx", (unsigned long long)text_hash(req->schema));
        if ((error = op_lock(&o, "schema", key, err)) < 0)
            goto cleanup;
    }
    if ((error = run(&o, &rows,
                     "SELECT id FROM schemas WHERE fingerprint = $1 AND schema_type = $2 "
                     "AND schema_text = $3 ORDER BY id LIMIT 1",
                     P(SV_INT(text_hash(req->schema)), SV_TEXT(type), SV_TEXT(req->schema)), err)) <
        0)
        goto cleanup;
    if (rows.n_rows == 1) {
        id = chan_store__cell_int(&rows, 0, 0);
    } else {
        if ((error = store->be->next_schema_id(o.conn, &id, err)) < 0)
            goto cleanup;
        if ((error = run(&o, NULL,
                         "INSERT INTO schemas (id, fingerprint, schema_type, schema_text, "
                         "created_at) VALUES ($1, $2, $3, $4, $5)",
                         P(SV_INT(id), SV_INT(text_hash(req->schema)), SV_TEXT(type),
                           SV_TEXT(req->schema), SV_INT(now)),
                         err)) < 0)
            goto cleanup;
        new_id = true;
    }

    if ((error = run(&o, &rows,
                     "SELECT COALESCE(MAX(version), 0) + 1 FROM subject_versions "
                     "WHERE subject = $1",
                     P(SV_TEXT(req->subject)), err)) < 0)
        goto cleanup;
    version = chan_store__cell_int(&rows, 0, 0);
    if (version > INT32_MAX) {
        error =
            chan_error_set(err, CHAN_ECONFLICT, "subject '%s' has too many versions", req->subject);
        goto cleanup;
    }
    if ((error = run(&o, NULL,
                     "INSERT INTO subject_versions (subject, version, schema_id, deleted, "
                     "created_at) VALUES ($1, $2, $3, 0, $4)",
                     P(SV_TEXT(req->subject), SV_INT(version), SV_INT(id), SV_INT(now)), err)) < 0)
        goto cleanup;

    object = chan_xasprintf("subject/%s/%d", req->subject, (int)version);
    if ((error = audit(&o, actor, "schema.register", object,
                       json_pack("{s:s, s:I, s:I, s:s, s:b}", "subject", req->subject, "version",
                                 (json_int_t)version, "id", (json_int_t)id, "schema_type", type,
                                 "new_id", new_id),
                       now, err)) < 0)
        goto cleanup;
    if ((error = op_commit(&o, err)) < 0)
        goto cleanup;

    *out = chan_xcalloc(1, sizeof(**out));
    (*out)->subject = chan_xstrdup(req->subject);
    (*out)->version = (int)version;
    (*out)->id = id;
    (*out)->schema_type = chan_xstrdup(type);
    (*out)->schema = chan_xstrdup(req->schema);
    (*out)->deleted = false;
    (*out)->created_at = now;
    if (out_created != NULL)
        *out_created = true;
cleanup:
    chan_schema_version_list_free(existing, n_existing);
    chan_store__rows_dispose(&rows);
    op_end(&o);
    free(object);
    return error;
}

int chan_store_schema_lookup(chan_store *store, chan_schema_version **out, const char *subject,
                             const char *schema, uint64_t fingerprint, bool include_deleted,
                             chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    (void)fingerprint; /* the store indexes its own hash of the text */
    *out = NULL;
    if ((error = check_name("subject", subject, err)) < 0 ||
        (error = check_text("schema", schema, CHAN_STORE_SCHEMA_MAX, false, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows,
                     VERSION_COLS "WHERE sv.subject = $1 AND s.fingerprint = $2 "
                                  "AND s.schema_text = $3 AND (sv.deleted = 0 OR $4 = 1) "
                                  "ORDER BY sv.deleted, sv.version DESC LIMIT 1",
                     P(SV_TEXT(subject), SV_INT(text_hash(schema)), SV_TEXT(schema),
                       SV_INT(include_deleted)),
                     err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = not_found_in_subject(&o, subject, include_deleted, CHAN_STORE_R_SCHEMA_NOT_FOUND,
                                     "schema", err);
        goto cleanup;
    }
    *out = version_from_row(&rows, 0);
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

int chan_store_schema_by_id(chan_store *store, char **out_schema, char **out_type, int64_t id,
                            chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out_schema = NULL;
    if (out_type != NULL)
        *out_type = NULL;
    if (id_cache_get(&store->cache, id, out_schema, out_type))
        return 0;
    if ((error = op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows, "SELECT schema_text, schema_type FROM schemas WHERE id = $1",
                     P(SV_INT(id)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SCHEMA_NOT_FOUND,
                           "schema id %lld not found", (long long)id);
        goto cleanup;
    }
    if (chan_store__cell(&rows, 0, 0) == NULL || chan_store__cell(&rows, 0, 1) == NULL) {
        error = chan_error_set(err, CHAN_EINTERNAL, "schema id %lld has no text", (long long)id);
        goto cleanup;
    }
    id_cache_put(&store->cache, id, chan_store__cell(&rows, 0, 0), chan_store__cell(&rows, 0, 1));
    *out_schema = chan_store__cell_take(&rows, 0, 0);
    if (out_type != NULL)
        *out_type = chan_store__cell_take(&rows, 0, 1);
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

int chan_store_schema_usages(chan_store *store, chan_schema_version ***out, size_t *out_n,
                             int64_t id, bool include_deleted, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = NULL;
    *out_n = 0;
    if ((error = op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows, "SELECT 1 FROM schemas WHERE id = $1", P(SV_INT(id)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SCHEMA_NOT_FOUND,
                           "schema id %lld not found", (long long)id);
        goto cleanup;
    }
    if ((error = run(&o, &rows,
                     "SELECT subject, version, schema_id FROM subject_versions "
                     "WHERE schema_id = $1 AND (deleted = 0 OR $2 = 1) ORDER BY subject, version",
                     P(SV_INT(id), SV_INT(include_deleted)), err)) < 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++) {
        chan_schema_version *v = chan_xcalloc(1, sizeof(*v));
        v->subject = chan_store__cell_take(&rows, i, 0);
        v->version = (int)chan_store__cell_int(&rows, i, 1);
        v->id = chan_store__cell_int(&rows, i, 2);
        (*out)[i] = v;
    }
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

int chan_store_subject_list(chan_store *store, char ***out, size_t *out_n, bool include_deleted,
                            chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = NULL;
    *out_n = 0;
    if ((error = op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows,
                     "SELECT DISTINCT subject FROM subject_versions "
                     "WHERE deleted = 0 OR $1 = 1 ORDER BY subject",
                     P(SV_INT(include_deleted)), err)) < 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++)
        (*out)[i] = chan_store__cell_take(&rows, i, 0);
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

int chan_store_subject_versions(chan_store *store, int **out, size_t *out_n, const char *subject,
                                bool include_deleted, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = NULL;
    *out_n = 0;
    if ((error = check_name("subject", subject, err)) < 0)
        return error;
    if ((error = op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows,
                     "SELECT version FROM subject_versions WHERE subject = $1 "
                     "AND (deleted = 0 OR $2 = 1) ORDER BY version",
                     P(SV_TEXT(subject), SV_INT(include_deleted)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND,
                           "subject '%s' not found", subject);
        goto cleanup;
    }
    *out = chan_xcalloc(rows.n_rows, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++)
        (*out)[i] = (int)chan_store__cell_int(&rows, i, 0);
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

static int check_version_arg(int version, chan_error *err)
{
    if (version == -1 || version >= 1)
        return 0;
    return set_reason(err, CHAN_EINVALID, CHAN_STORE_R_NONE,
                      "invalid version %d: expected a positive number or -1 (latest)", version);
}

/* Read one version (latest when version == -1) into rows (0 or 1 row). */
static int read_version(op *o, chan_store__rows *rows, const char *subject, int version,
                        bool include_deleted, chan_error *err)
{
    if (version == -1)
        return run(o, rows,
                   VERSION_COLS "WHERE sv.subject = $1 AND (sv.deleted = 0 OR $2 = 1) "
                                "ORDER BY sv.version DESC LIMIT 1",
                   P(SV_TEXT(subject), SV_INT(include_deleted)), err);
    return run(o, rows,
               VERSION_COLS "WHERE sv.subject = $1 AND sv.version = $2 "
                            "AND (sv.deleted = 0 OR $3 = 1)",
               P(SV_TEXT(subject), SV_INT(version), SV_INT(include_deleted)), err);
}

int chan_store_version_get(chan_store *store, chan_schema_version **out, const char *subject,
                           int version, bool include_deleted, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = NULL;
    if ((error = check_name("subject", subject, err)) < 0 ||
        (error = check_version_arg(version, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = read_version(&o, &rows, subject, version, include_deleted, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = not_found_in_subject(&o, subject, include_deleted, CHAN_STORE_R_VERSION_NOT_FOUND,
                                     "version", err);
        goto cleanup;
    }
    *out = version_from_row(&rows, 0);
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

int chan_store_version_delete(chan_store *store, int *out_version, const char *subject, int version,
                              bool permanent, const char *actor, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_schema_version *v = NULL;
    char *object = NULL;
    int64_t now = now_seconds();
    int error;

    if (out_version != NULL)
        *out_version = 0;
    if ((error = check_name("subject", subject, err)) < 0 ||
        (error = check_version_arg(version, err)) < 0 || (error = check_actor(&actor, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, true, err)) < 0 ||
        (error = op_lock(&o, "subject", subject, err)) < 0 ||
        (error = check_writable(&o, subject, err)) < 0)
        goto cleanup;
    /* "latest" is the latest live version for a soft delete, and the
     * latest one at all for a permanent delete (which needs it deleted). */
    if ((error = read_version(&o, &rows, subject, version, version != -1 || permanent, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error =
            not_found_in_subject(&o, subject, true, CHAN_STORE_R_VERSION_NOT_FOUND, "version", err);
        goto cleanup;
    }
    v = version_from_row(&rows, 0);
    if (!permanent && v->deleted) {
        error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_VERSION_SOFT_DELETED,
                           "version %d of subject '%s' was soft deleted", v->version, subject);
        goto cleanup;
    }
    if (permanent && !v->deleted) {
        error = set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_VERSION_NOT_SOFT_DELETED,
                           "version %d of subject '%s' must be soft deleted first", v->version,
                           subject);
        goto cleanup;
    }
    if (permanent)
        error = run(&o, NULL, "DELETE FROM subject_versions WHERE subject = $1 AND version = $2",
                    P(SV_TEXT(subject), SV_INT(v->version)), err);
    else
        error = run(&o, NULL,
                    "UPDATE subject_versions SET deleted = 1 WHERE subject = $1 AND version = $2",
                    P(SV_TEXT(subject), SV_INT(v->version)), err);
    if (error < 0)
        goto cleanup;
    object = chan_xasprintf("subject/%s/%d", subject, v->version);
    if ((error = audit(&o, actor, "schema.delete", object,
                       json_pack("{s:s, s:i, s:I, s:b}", "subject", subject, "version", v->version,
                                 "id", (json_int_t)v->id, "permanent", permanent),
                       now, err)) < 0 ||
        (error = op_commit(&o, err)) < 0)
        goto cleanup;
    if (out_version != NULL)
        *out_version = v->version;
cleanup:
    chan_schema_version_free(v);
    chan_store__rows_dispose(&rows);
    op_end(&o);
    free(object);
    return error;
}

int chan_store_subject_delete(chan_store *store, int **out, size_t *out_n, const char *subject,
                              bool permanent, const char *actor, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    json_t *versions = NULL;
    int *deleted = NULL;
    size_t n_deleted = 0, n_live = 0;
    char *object = NULL;
    int64_t now = now_seconds();
    int error;

    if (out != NULL)
        *out = NULL;
    if (out_n != NULL)
        *out_n = 0;
    if ((error = check_name("subject", subject, err)) < 0 || (error = check_actor(&actor, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, true, err)) < 0 ||
        (error = op_lock(&o, "subject", subject, err)) < 0 ||
        (error = check_writable(&o, subject, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows,
                     "SELECT version, deleted FROM subject_versions WHERE subject = $1 "
                     "ORDER BY version",
                     P(SV_TEXT(subject)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND,
                           "subject '%s' not found", subject);
        goto cleanup;
    }
    deleted = chan_xcalloc(rows.n_rows, sizeof(*deleted));
    versions = json_array();
    for (size_t i = 0; i < rows.n_rows; i++) {
        bool live = chan_store__cell_int(&rows, i, 1) == 0;
        n_live += live;
        if (permanent || live) {
            deleted[n_deleted++] = (int)chan_store__cell_int(&rows, i, 0);
            json_array_append_new(versions, json_integer(deleted[n_deleted - 1]));
        }
    }
    if (!permanent && n_live == 0) {
        error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_SOFT_DELETED,
                           "subject '%s' was soft deleted", subject);
        goto cleanup;
    }
    if (permanent && n_live > 0) {
        error = set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_SUBJECT_NOT_SOFT_DELETED,
                           "subject '%s' must be soft deleted first", subject);
        goto cleanup;
    }
    if (permanent) {
        if ((error = run(&o, NULL, "DELETE FROM subject_versions WHERE subject = $1",
                         P(SV_TEXT(subject)), err)) < 0 ||
            (error = run(&o, NULL, "DELETE FROM subject_config WHERE subject = $1",
                         P(SV_TEXT(subject)), err)) < 0)
            goto cleanup;
    } else if ((error = run(&o, NULL,
                            "UPDATE subject_versions SET deleted = 1 "
                            "WHERE subject = $1 AND deleted = 0",
                            P(SV_TEXT(subject)), err)) < 0) {
        goto cleanup;
    }
    object = chan_xasprintf("subject/%s", subject);
    error = audit(&o, actor, "subject.delete", object,
                  json_pack("{s:s, s:O, s:b}", "subject", subject, "versions", versions,
                            "permanent", permanent),
                  now, err);
    if (error < 0 || (error = op_commit(&o, err)) < 0)
        goto cleanup;
    if (out != NULL) {
        *out = deleted;
        deleted = NULL;
    }
    if (out_n != NULL)
        *out_n = n_deleted;
cleanup:
    json_decref(versions);
    free(deleted);
    free(object);
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

/* ------------------------------------------------------------------ */
/* Configuration and mode                                              */
/* ------------------------------------------------------------------ */

/* SQL per column: [0] compatibility, [1] mode. */
static const char *const cfg_get_sql[2] = {
    "SELECT compatibility FROM subject_config WHERE subject = $1",
    "SELECT mode FROM subject_config WHERE subject = $1",
};
static const char *const cfg_set_sql[2] = {
    "INSERT INTO subject_config (subject, compatibility, mode, updated_at) "
    "VALUES ($1, $2, NULL, $3) ON CONFLICT (subject) DO UPDATE "
    "SET compatibility = excluded.compatibility, updated_at = excluded.updated_at",
    "INSERT INTO subject_config (subject, compatibility, mode, updated_at) "
    "VALUES ($1, NULL, $2, $3) ON CONFLICT (subject) DO UPDATE "
    "SET mode = excluded.mode, updated_at = excluded.updated_at",
};

static int cfg_get(chan_store *store, int col, char **out, const char *subject, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = NULL;
    if (subject != NULL && (error = check_name("subject", subject, err)) < 0)
        return error;
    if ((error = op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error =
             run(&o, &rows, cfg_get_sql[col], P(SV_TEXT(subject != NULL ? subject : "")), err)) < 0)
        goto cleanup;
    if (chan_store__cell(&rows, 0, 0) == NULL) {
        int reason = col ? CHAN_STORE_R_MODE_NOT_FOUND : CHAN_STORE_R_CONFIG_NOT_FOUND;
        const char *what = col ? "mode" : "compatibility level";
        if (subject != NULL)
            error = set_reason(err, CHAN_ENOTFOUND, reason, "no %s set for subject '%s'", what,
                               subject);
        else
            error = set_reason(err, CHAN_ENOTFOUND, reason, "no global %s set", what);
        goto cleanup;
    }
    *out = chan_store__cell_take(&rows, 0, 0);
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

static int cfg_set(chan_store *store, int col, const char *subject, const char *value,
                   const char *actor, chan_error *err)
{
    static const char *const what[2] = {"compatibility level", "mode"};
    static const char *const kind[2] = {"config", "mode"};
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    const char *scope = subject != NULL ? subject : "";
    char *object = NULL, *action = NULL;
    int64_t now = now_seconds();
    int error;

    if (subject != NULL && (error = check_name("subject", subject, err)) < 0)
        return error;
    if ((error = check_actor(&actor, err)) < 0)
        return error;
    if (value != NULL && !in_list(value, col ? modes : compat_levels))
        return chan_error_set(err, CHAN_EINVALID, "unknown %s '%.64s'", what[col], value);

    if ((error = op_begin(&o, store, true, err)) < 0 ||
        (error = op_lock(&o, kind[col], scope, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows, cfg_get_sql[col], P(SV_TEXT(scope)), err)) < 0)
        goto cleanup;
    if (streq(chan_store__cell(&rows, 0, 0), value))
        goto cleanup; /* no change: nothing written, no audit entry */
    if ((error = run(&o, NULL, cfg_set_sql[col], P(SV_TEXT(scope), SV_TEXT(value), SV_INT(now)),
                     err)) < 0 ||
        (error = run(&o, NULL,
                     "DELETE FROM subject_config WHERE subject = $1 AND compatibility IS NULL "
                     "AND mode IS NULL",
                     P(SV_TEXT(scope)), err)) < 0)
        goto cleanup;
    object =
        subject != NULL ? chan_xasprintf("%s/%s", kind[col], subject) : chan_xstrdup(kind[col]);
    action = chan_xasprintf("%s.%s", kind[col], value != NULL ? "set" : "clear");
    if ((error = audit(&o, actor, action, object,
                       json_pack("{s:s?, s:s?, s:s?}", "subject", subject, "old",
                                 chan_store__cell(&rows, 0, 0), "new", value),
                       now, err)) < 0 ||
        (error = op_commit(&o, err)) < 0)
        goto cleanup;
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    free(object);
    free(action);
    return error;
}

int chan_store_config_get(chan_store *store, char **out, const char *subject, chan_error *err)
{
    return cfg_get(store, 0, out, subject, err);
}

int chan_store_config_set(chan_store *store, const char *subject, const char *level,
                          const char *actor, chan_error *err)
{
    return cfg_set(store, 0, subject, level, actor, err);
}

int chan_store_mode_get(chan_store *store, char **out, const char *subject, chan_error *err)
{
    return cfg_get(store, 1, out, subject, err);
}

int chan_store_mode_set(chan_store *store, const char *subject, const char *mode, const char *actor,
                        chan_error *err)
{
    return cfg_set(store, 1, subject, mode, actor, err);
}

/* ------------------------------------------------------------------ */
/* Channels and consumers                                              */
/* ------------------------------------------------------------------ */

void chan_audit_entry_list_free(chan_audit_entry **list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        if (list[i] == NULL)
            continue;
        free(list[i]->actor);
        free(list[i]->action);
        free(list[i]->object);
        free(list[i]->detail);
        free(list[i]);
    }
    free(list);
}

#define CHANNEL_COLS                                                                               \
    "SELECT name, owner_team, maintainer, peak_qps, retention_hours, deprecation_date, subject, "  \
    "compatibility, document, revision, created_at, updated_at FROM channels "
#define CONSUMER_COLS                                                                              \
    "SELECT channel, name, principal, group_id, scenario, sla_p99_ms, peak_rate_msgs, "            \
    "degradation, registered_at, renewed_at FROM consumers "

/* The retirement_date of a stored contract document (caller frees), or NULL. */
static char *document_retirement_date(const char *document)
{
    json_t *doc = document ? json_loads(document, 0, NULL) : NULL;
    const char *date = json_string_value(json_object_get(doc, "retirement_date"));
    char *out = date && chan_date_parse(date, NULL) ? chan_xstrdup(date) : NULL;

    json_decref(doc);
    return out;
}

static void channel_from_row(chan_channel_record *rec, chan_store__rows *rows, size_t r)
{
    rec->name = chan_store__cell_take(rows, r, 0);
    rec->owner_team = chan_store__cell_take(rows, r, 1);
    rec->maintainer = chan_store__cell_take(rows, r, 2);
    rec->peak_qps = chan_store__cell_int(rows, r, 3);
    rec->retention_hours = chan_store__cell_int(rows, r, 4);
    rec->deprecation_date = chan_store__cell_take(rows, r, 5);
    rec->subject = chan_store__cell_take(rows, r, 6);
    rec->compatibility = chan_store__cell_take(rows, r, 7);
    rec->document = chan_store__cell_take(rows, r, 8);
    rec->retirement_date = document_retirement_date(rec->document);
    rec->revision = chan_store__cell_int(rows, r, 9);
    rec->created_at = chan_store__cell_int(rows, r, 10);
    rec->updated_at = chan_store__cell_int(rows, r, 11);
}

static void consumer_from_row(chan_consumer_record *c, chan_store__rows *rows, size_t r)
{
    c->channel = chan_store__cell_take(rows, r, 0);
    c->name = chan_store__cell_take(rows, r, 1);
    c->principal = chan_store__cell_take(rows, r, 2);
    c->group = chan_store__cell_take(rows, r, 3);
    c->scenario = chan_store__cell_take(rows, r, 4);
    c->sla_p99_ms = chan_store__cell_int(rows, r, 5);
    c->peak_rate_msgs = chan_store__cell_real(rows, r, 6);
    c->degradation = chan_store__cell_take(rows, r, 7);
    c->registered_at = chan_store__cell_int(rows, r, 8);
    c->renewed_at = chan_store__cell_int(rows, r, 9);
}

/* Fill rec->consumers / producers from rows of several channels: rows
 * [*ci, ...) and [*pi, ...) that belong to rec->name, advancing the cursors.
 * Both row sets and the channels are ordered by name (byte order). */
static void attach_children(chan_channel_record *rec, chan_store__rows *cons, size_t *ci,
                            chan_store__rows *prods, size_t *pi)
{
    size_t start;

    while (*ci < cons->n_rows && strcmp(chan_store__cell(cons, *ci, 0), rec->name) < 0)
        (*ci)++;
    start = *ci;
    while (*ci < cons->n_rows && strcmp(chan_store__cell(cons, *ci, 0), rec->name) == 0)
        (*ci)++;
    rec->n_consumers = *ci - start;
    rec->consumers = chan_xcalloc(rec->n_consumers + 1, sizeof(*rec->consumers));
    for (size_t i = 0; i < rec->n_consumers; i++)
        consumer_from_row(&rec->consumers[i], cons, start + i);

    while (*pi < prods->n_rows && strcmp(chan_store__cell(prods, *pi, 0), rec->name) < 0)
        (*pi)++;
    start = *pi;
    while (*pi < prods->n_rows && strcmp(chan_store__cell(prods, *pi, 0), rec->name) == 0)
        (*pi)++;
    rec->n_producers = *pi - start;
    rec->producers = chan_xcalloc(rec->n_producers + 1, sizeof(*rec->producers));
    for (size_t i = 0; i < rec->n_producers; i++) {
        rec->producers[i].channel = chan_store__cell_take(prods, start + i, 0);
        rec->producers[i].principal = chan_store__cell_take(prods, start + i, 1);
    }
}

/* Load one channel with its consumers and producers; CHAN_ENOTFOUND if absent. */
static int load_channel(op *o, chan_channel_record **out, const char *name, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT, cons = CHAN_STORE__ROWS_INIT,
                     prods = CHAN_STORE__ROWS_INIT;
    chan_channel_record *rec = NULL;
    size_t ci = 0, pi = 0;
    int error;

    *out = NULL;
    if ((error = run(o, &rows, CHANNEL_COLS "WHERE name = $1", P(SV_TEXT(name)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND,
                           "channel '%s' not found", name);
        goto cleanup;
    }
    if ((error = run(o, &cons, CONSUMER_COLS "WHERE channel = $1 ORDER BY name", P(SV_TEXT(name)),
                     err)) < 0 ||
        (error = run(o, &prods,
                     "SELECT channel, principal FROM producers WHERE channel = $1 "
                     "ORDER BY principal",
                     P(SV_TEXT(name)), err)) < 0)
        goto cleanup;
    rec = chan_xcalloc(1, sizeof(*rec));
    channel_from_row(rec, &rows, 0);
    attach_children(rec, &cons, &ci, &prods, &pi);
    *out = rec;
cleanup:
    chan_store__rows_dispose(&rows);
    chan_store__rows_dispose(&cons);
    chan_store__rows_dispose(&prods);
    return error;
}

static int check_consumer(const chan_consumer_record *c, const char *channel, size_t i,
                          chan_error *err)
{
    int error;

    if ((error = check_name("consumer name", c->name, err)) < 0 ||
        (error = check_name("consumer principal", c->principal, err)) < 0 ||
        (error = check_name("consumer group", c->group, err)) < 0 ||
        (error = check_text("consumer scenario", c->scenario, CHAN_STORE_TEXT_MAX, true, err)) <
            0 ||
        (error = check_text("consumer degradation", c->degradation, CHAN_STORE_TEXT_MAX, true,
                            err)) < 0)
        goto fail;
    if (c->channel != NULL && channel != NULL && strcmp(c->channel, channel) != 0) {
        error = chan_error_set(err, CHAN_EINVALID, "consumer '%s' names channel '%s', not '%s'",
                               c->name, c->channel, channel);
        goto fail;
    }
    if (c->sla_p99_ms <= 0) {
        error = chan_error_set(err, CHAN_EINVALID, "consumer '%s': sla_p99_ms must be positive",
                               c->name);
        goto fail;
    }
    if (!isfinite(c->peak_rate_msgs) || c->peak_rate_msgs < 0) {
        error =
            chan_error_set(err, CHAN_EINVALID,
                           "consumer '%s': peak_rate_msgs must be a finite number >= 0", c->name);
        goto fail;
    }
    return 0;
fail:
    if (err != NULL && i != (size_t)-1)
        snprintf(err->path, sizeof(err->path), "consumers[%zu]", i);
    return error;
}

static int check_channel(const chan_channel_record *rec, chan_error *err)
{
    int error;

    if (rec == NULL)
        return chan_error_set(err, CHAN_EINVALID, "no channel record");
    if ((error = check_name("channel name", rec->name, err)) < 0 ||
        (error = check_name("owner_team", rec->owner_team, err)) < 0 ||
        (error = check_name("maintainer", rec->maintainer, err)) < 0 ||
        (error = check_text("document", rec->document, CHAN_STORE_DOCUMENT_MAX, true, err)) < 0)
        return error;
    if (rec->subject != NULL && (error = check_name("subject", rec->subject, err)) < 0)
        return error;
    if (rec->compatibility != NULL && !in_list(rec->compatibility, compat_levels))
        return chan_error_set(err, CHAN_EINVALID, "unknown compatibility level '%.64s'",
                              rec->compatibility);
    if (rec->peak_qps < 0 || rec->retention_hours < 0)
        return chan_error_set(err, CHAN_EINVALID,
                              "peak_qps and retention_hours must not be negative");
    if (rec->deprecation_date != NULL && !chan_date_parse(rec->deprecation_date, NULL))
        return chan_error_set(err, CHAN_EINVALID, "deprecation_date '%.32s' is not YYYY-MM-DD",
                              rec->deprecation_date);
    if (rec->n_consumers > 0 && rec->consumers == NULL)
        return chan_error_set(err, CHAN_EINVALID, "consumers missing");
    if (rec->n_producers > 0 && rec->producers == NULL)
        return chan_error_set(err, CHAN_EINVALID, "producers missing");
    for (size_t i = 0; i < rec->n_consumers; i++) {
        if ((error = check_consumer(&rec->consumers[i], rec->name, i, err)) < 0)
            return error;
        for (size_t j = 0; j < i; j++)
            if (strcmp(rec->consumers[j].name, rec->consumers[i].name) == 0)
                return chan_error_set(err, CHAN_EINVALID, "consumer '%s' is listed twice",
                                      rec->consumers[i].name);
    }
    for (size_t i = 0; i < rec->n_producers; i++) {
        if ((error = check_name("producer principal", rec->producers[i].principal, err)) < 0)
            return error;
        if (rec->producers[i].channel != NULL && strcmp(rec->producers[i].channel, rec->name) != 0)
            return chan_error_set(err, CHAN_EINVALID, "producer '%s' names channel '%s', not '%s'",
                                  rec->producers[i].principal, rec->producers[i].channel,
                                  rec->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(rec->producers[j].principal, rec->producers[i].principal) == 0)
                return chan_error_set(err, CHAN_EINVALID, "producer '%s' is listed twice",
                                      rec->producers[i].principal);
    }
    return 0;
}

/* True when the contract fields of two consumers are equal (times ignored). */
static bool consumer_same(const chan_consumer_record *a, const chan_consumer_record *b)
{
    return streq(a->name, b->name) && streq(a->principal, b->principal) &&
           streq(a->group, b->group) && streq(a->scenario, b->scenario) &&
           a->sla_p99_ms == b->sla_p99_ms && a->peak_rate_msgs == b->peak_rate_msgs &&
           streq(a->degradation, b->degradation);
}

static const chan_consumer_record *find_consumer(const chan_channel_record *rec, const char *name)
{
    for (size_t i = 0; i < rec->n_consumers; i++)
        if (strcmp(rec->consumers[i].name, name) == 0)
            return &rec->consumers[i];
    return NULL;
}

static bool has_producer(const chan_channel_record *rec, const char *principal)
{
    for (size_t i = 0; i < rec->n_producers; i++)
        if (strcmp(rec->producers[i].principal, principal) == 0)
            return true;
    return false;
}

/* Names of the channel fields that differ between old and new. */
static json_t *channel_field_diff(const chan_channel_record *a, const chan_channel_record *b)
{
    json_t *changed = json_array();

#define DIFF_STR(f)                                                                                \
    if (!streq(a->f, b->f))                                                                        \
    json_array_append_new(changed, json_string(#f))
#define DIFF_INT(f)                                                                                \
    if (a->f != b->f)                                                                              \
    json_array_append_new(changed, json_string(#f))
    DIFF_STR(owner_team);
    DIFF_STR(maintainer);
    DIFF_INT(peak_qps);
    DIFF_INT(retention_hours);
    DIFF_STR(deprecation_date);
    DIFF_STR(subject);
    DIFF_STR(compatibility);
    DIFF_STR(document);
#undef DIFF_STR
#undef DIFF_INT
    return changed;
}

static int insert_consumer(op *o, const char *channel, const chan_consumer_record *c,
                           int64_t registered_at, int64_t now, chan_error *err)
{
    return run(o, NULL,
               "INSERT INTO consumers (channel, name, principal, group_id, scenario, sla_p99_ms, "
               "peak_rate_msgs, degradation, registered_at, renewed_at) "
               "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
               P(SV_TEXT(channel), SV_TEXT(c->name), SV_TEXT(c->principal), SV_TEXT(c->group),
                 SV_TEXT(c->scenario), SV_INT(c->sla_p99_ms), SV_REAL(c->peak_rate_msgs),
                 SV_TEXT(c->degradation), SV_INT(registered_at), SV_INT(now)),
               err);
}

static int update_consumer(op *o, const char *channel, const chan_consumer_record *c, int64_t now,
                           chan_error *err)
{
    return run(o, NULL,
               "UPDATE consumers SET principal = $3, group_id = $4, scenario = $5, "
               "sla_p99_ms = $6, peak_rate_msgs = $7, degradation = $8, renewed_at = $9 "
               "WHERE channel = $1 AND name = $2",
               P(SV_TEXT(channel), SV_TEXT(c->name), SV_TEXT(c->principal), SV_TEXT(c->group),
                 SV_TEXT(c->scenario), SV_INT(c->sla_p99_ms), SV_REAL(c->peak_rate_msgs),
                 SV_TEXT(c->degradation), SV_INT(now)),
               err);
}

int chan_store_channel_put(chan_store *store, int64_t *out_revision, bool *out_changed,
                           const chan_channel_record *rec, int64_t expected_revision,
                           const char *actor, chan_error *err)
{
    op o = OP_INIT;
    chan_channel_record *old = NULL;
    json_t *changed = NULL, *c_added = NULL, *c_removed = NULL, *c_updated = NULL, *p_added = NULL,
           *p_removed = NULL;
    char *object = NULL;
    int64_t now = now_seconds(), revision, stored = 0;
    int error;

    if (out_revision != NULL)
        *out_revision = 0;
    if (out_changed != NULL)
        *out_changed = false;
    if ((error = check_channel(rec, err)) < 0 || (error = check_actor(&actor, err)) < 0)
        return error;
    if (expected_revision < -1)
        return chan_error_set(err, CHAN_EINVALID, "invalid expected revision %lld",
                              (long long)expected_revision);

    if ((error = op_begin(&o, store, true, err)) < 0 ||
        (error = op_lock(&o, "channel", rec->name, err)) < 0)
        goto cleanup;
    error = load_channel(&o, &old, rec->name, err);
    if (error == CHAN_ENOTFOUND)
        chan_error_clear(err);
    else if (error < 0)
        goto cleanup;
    error = 0;
    stored = old != NULL ? old->revision : 0;
    if (expected_revision >= 0 && expected_revision != stored) {
        error = set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_REVISION_MISMATCH,
                           "channel '%s' is at revision %lld, not %lld", rec->name,
                           (long long)stored, (long long)expected_revision);
        goto cleanup;
    }

    changed = old != NULL ? channel_field_diff(old, rec) : json_array();
    c_added = json_array();
    c_removed = json_array();
    c_updated = json_array();
    p_added = json_array();
    p_removed = json_array();
    for (size_t i = 0; i < rec->n_consumers; i++) {
        const chan_consumer_record *prev =
            old != NULL ? find_consumer(old, rec->consumers[i].name) : NULL;
        if (prev == NULL)
            json_array_append_new(c_added, json_string(rec->consumers[i].name));
        else if (!consumer_same(prev, &rec->consumers[i]))
            json_array_append_new(c_updated, json_string(rec->consumers[i].name));
    }
    for (size_t i = 0; old != NULL && i < old->n_consumers; i++)
        if (find_consumer(rec, old->consumers[i].name) == NULL)
            json_array_append_new(c_removed, json_string(old->consumers[i].name));
    for (size_t i = 0; i < rec->n_producers; i++)
        if (old == NULL || !has_producer(old, rec->producers[i].principal))
            json_array_append_new(p_added, json_string(rec->producers[i].principal));
    for (size_t i = 0; old != NULL && i < old->n_producers; i++)
        if (!has_producer(rec, old->producers[i].principal))
            json_array_append_new(p_removed, json_string(old->producers[i].principal));

    if (old != NULL && json_array_size(changed) == 0 && json_array_size(c_added) == 0 &&
        json_array_size(c_removed) == 0 && json_array_size(c_updated) == 0 &&
        json_array_size(p_added) == 0 && json_array_size(p_removed) == 0) {
        if (out_revision != NULL)
            *out_revision = stored; /* identical: nothing written */
        goto cleanup;
    }

    revision = stored + 1;
    if (old == NULL)
        error = run(&o, NULL,
                    "INSERT INTO channels (name, owner_team, maintainer, peak_qps, "
                    "retention_hours, deprecation_date, subject, compatibility, document, "
                    "revision, created_at, updated_at) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                    P(SV_TEXT(rec->name), SV_TEXT(rec->owner_team), SV_TEXT(rec->maintainer),
                      SV_INT(rec->peak_qps), SV_INT(rec->retention_hours),
                      SV_TEXT(rec->deprecation_date), SV_TEXT(rec->subject),
                      SV_TEXT(rec->compatibility), SV_TEXT(rec->document), SV_INT(revision),
                      SV_INT(now)),
                    err);
    else
        error = run(&o, NULL,
                    "UPDATE channels SET owner_team = $2, maintainer = $3, peak_qps = $4, "
                    "retention_hours = $5, deprecation_date = $6, subject = $7, "
                    "compatibility = $8, document = $9, revision = $10, updated_at = $11 "
                    "WHERE name = $1",
                    P(SV_TEXT(rec->name), SV_TEXT(rec->owner_team), SV_TEXT(rec->maintainer),
                      SV_INT(rec->peak_qps), SV_INT(rec->retention_hours),
                      SV_TEXT(rec->deprecation_date), SV_TEXT(rec->subject),
                      SV_TEXT(rec->compatibility), SV_TEXT(rec->document), SV_INT(revision),
                      SV_INT(now)),
                    err);
    if (error < 0)
        goto cleanup;

    for (size_t i = 0; i < rec->n_consumers; i++) {
        const chan_consumer_record *c = &rec->consumers[i];
        const chan_consumer_record *prev = old != NULL ? find_consumer(old, c->name) : NULL;
        if (prev == NULL)
            error = insert_consumer(&o, rec->name, c, now, now, err);
        else if (!consumer_same(prev, c))
            error = update_consumer(&o, rec->name, c, now, err);
        if (error < 0)
            goto cleanup;
    }
    for (size_t i = 0; i < json_array_size(c_removed); i++)
        if ((error = run(
                 &o, NULL, "DELETE FROM consumers WHERE channel = $1 AND name = $2",
                 P(SV_TEXT(rec->name), SV_TEXT(json_string_value(json_array_get(c_removed, i)))),
                 err)) < 0)
            goto cleanup;
    for (size_t i = 0; i < json_array_size(p_removed); i++)
        if ((error = run(
                 &o, NULL, "DELETE FROM producers WHERE channel = $1 AND principal = $2",
                 P(SV_TEXT(rec->name), SV_TEXT(json_string_value(json_array_get(p_removed, i)))),
                 err)) < 0)
            goto cleanup;
    for (size_t i = 0; i < json_array_size(p_added); i++)
        if ((error =
                 run(&o, NULL, "INSERT INTO producers (channel, principal) VALUES ($1, $2)",
                     P(SV_TEXT(rec->name), SV_TEXT(json_string_value(json_array_get(p_added, i)))),
                     err)) < 0)
            goto cleanup;

    object = chan_xasprintf("channel/%s", rec->name);
    if ((error = audit(&o, actor, old == NULL ? "channel.create" : "channel.update", object,
                       json_pack("{s:I, s:O, s:{s:O, s:O, s:O}, s:{s:O, s:O}}", "revision",
                                 (json_int_t)revision, "changed", changed, "consumers", "added",
                                 c_added, "removed", c_removed, "updated", c_updated, "producers",
                                 "added", p_added, "removed", p_removed),
                       now, err)) < 0 ||
        (error = op_commit(&o, err)) < 0)
        goto cleanup;
    if (out_revision != NULL)
        *out_revision = revision;
    if (out_changed != NULL)
        *out_changed = true;
cleanup:
    json_decref(changed);
    json_decref(c_added);
    json_decref(c_removed);
    json_decref(c_updated);
    json_decref(p_added);
    json_decref(p_removed);
    chan_channel_record_free(old);
    free(object);
    op_end(&o);
    return error;
}

int chan_store_channel_get(chan_store *store, chan_channel_record **out, const char *name,
                           chan_error *err)
{
    op o = OP_INIT;
    int error;

    *out = NULL;
    if ((error = check_name("channel name", name, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    error = load_channel(&o, out, name, err);
cleanup:
    op_end(&o);
    return error;
}

int chan_store_channel_by_subject(chan_store *store, chan_channel_record **out, const char *subject,
                                  chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    op o = OP_INIT;
    int error;

    *out = NULL;
    if ((error = check_name("subject", subject, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, false, err)) < 0 ||
        (error = run(&o, &rows, "SELECT name FROM channels WHERE subject = $1 ORDER BY name",
                     P(SV_TEXT(subject)), err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND,
                           "no channel is bound to subject '%s'", subject);
        goto cleanup;
    }
    error = load_channel(&o, out, chan_store__cell(&rows, 0, 0), err);
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

/* "YYYY-MM-DD" of today (UTC) into buf. */
static void today_iso(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d", &tm);
}

int chan_store_channel_list(chan_store *store, chan_channel_record ***out, size_t *out_n,
                            const chan_channel_filter *filter, chan_error *err)
{
    chan_channel_filter none = CHAN_CHANNEL_FILTER_INIT;
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT, cons = CHAN_STORE__ROWS_INIT,
                     prods = CHAN_STORE__ROWS_INIT;
    chan_channel_record **list = NULL;
    char today[16];
    const char *as_of;
    size_t ci = 0, pi = 0, n = 0;
    int error;

    *out = NULL;
    *out_n = 0;
    if (filter == NULL)
        filter = &none;
    if (filter->deprecated < -1 || filter->deprecated > 1)
        return chan_error_set(err, CHAN_EINVALID, "deprecated filter must be -1, 0 or 1");
    if (filter->as_of != NULL && !chan_date_parse(filter->as_of, NULL))
        return chan_error_set(err, CHAN_EINVALID, "as_of '%.32s' is not YYYY-MM-DD", filter->as_of);
    today_iso(today, sizeof(today));
    as_of = filter->as_of != NULL ? filter->as_of : today;

    if ((error = op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows,
                     CHANNEL_COLS "WHERE (CAST($1 AS TEXT) IS NULL OR owner_team = $1) "
                                  "AND (CAST($2 AS TEXT) IS NULL OR maintainer = $2) "
                                  "AND (CAST($3 AS INTEGER) < 0 "
                                  "OR (CAST($3 AS INTEGER) = 1 AND deprecation_date IS NOT NULL "
                                  "AND deprecation_date <= $4) "
                                  "OR (CAST($3 AS INTEGER) = 0 AND (deprecation_date IS NULL "
                                  "OR deprecation_date > $4))) ORDER BY name",
                     P(SV_TEXT(filter->owner_team), SV_TEXT(filter->maintainer),
                       SV_INT(filter->deprecated), SV_TEXT(as_of)),
                     err)) < 0)
        goto cleanup;
    if (rows.n_rows > 0 &&
        ((error = run(&o, &cons, CONSUMER_COLS "ORDER BY channel, name", NULL, 0, err)) < 0 ||
         (error = run(&o, &prods,
                      "SELECT channel, principal FROM producers ORDER BY channel, principal", NULL,
                      0, err)) < 0))
        goto cleanup;
    list = chan_xcalloc(rows.n_rows + 1, sizeof(*list));
    for (n = 0; n < rows.n_rows; n++) {
        list[n] = chan_xcalloc(1, sizeof(*list[n]));
        channel_from_row(list[n], &rows, n);
        attach_children(list[n], &cons, &ci, &prods, &pi);
    }
    *out = list;
    *out_n = n;
    list = NULL;
cleanup:
    chan_channel_record_list_free(list, n);
    chan_store__rows_dispose(&rows);
    chan_store__rows_dispose(&cons);
    chan_store__rows_dispose(&prods);
    op_end(&o);
    return error;
}

int chan_store_channel_delete(chan_store *store, const char *name, const char *actor,
                              chan_error *err)
{
    op o = OP_INIT;
    chan_channel_record *old = NULL;
    char *object = NULL;
    int64_t now = now_seconds();
    int error;

    if ((error = check_name("channel name", name, err)) < 0 ||
        (error = check_actor(&actor, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, true, err)) < 0 ||
        (error = op_lock(&o, "channel", name, err)) < 0 ||
        (error = load_channel(&o, &old, name, err)) < 0)
        goto cleanup;
    if ((error = run(&o, NULL, "DELETE FROM consumers WHERE channel = $1", P(SV_TEXT(name)), err)) <
            0 ||
        (error = run(&o, NULL, "DELETE FROM producers WHERE channel = $1", P(SV_TEXT(name)), err)) <
            0 ||
        (error = run(&o, NULL, "DELETE FROM channels WHERE name = $1", P(SV_TEXT(name)), err)) < 0)
        goto cleanup;
    object = chan_xasprintf("channel/%s", name);
    if ((error =
             audit(&o, actor, "channel.delete", object,
                   json_pack("{s:I, s:i, s:i}", "revision", (json_int_t)old->revision, "consumers",
                             (int)old->n_consumers, "producers", (int)old->n_producers),
                   now, err)) < 0 ||
        (error = op_commit(&o, err)) < 0)
        goto cleanup;
cleanup:
    chan_channel_record_free(old);
    free(object);
    op_end(&o);
    return error;
}

/* Lock a channel, check it exists and read one consumer (rows: 0 or 1 row). */
static int lock_consumer(op *o, chan_store__rows *rows, const char *channel, const char *name,
                         chan_error *err)
{
    int error;

    if ((error = op_lock(o, "channel", channel, err)) < 0 ||
        (error = run(o, rows, "SELECT revision FROM channels WHERE name = $1", P(SV_TEXT(channel)),
                     err)) < 0)
        return error;
    if (rows->n_rows == 0)
        return set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND,
                          "channel '%s' not found", channel);
    return run(o, rows, CONSUMER_COLS "WHERE channel = $1 AND name = $2",
               P(SV_TEXT(channel), SV_TEXT(name)), err);
}

static int bump_revision(op *o, const char *channel, int64_t now, chan_error *err)
{
    return run(o, NULL,
               "UPDATE channels SET revision = revision + 1, updated_at = $2 WHERE name = $1",
               P(SV_TEXT(channel), SV_INT(now)), err);
}

static json_t *consumer_json(const chan_consumer_record *c)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:f, s:s}", "name", c->name, "principal",
                     c->principal, "group", c->group, "scenario", c->scenario, "sla_p99_ms",
                     (json_int_t)c->sla_p99_ms, "peak_rate_msgs", c->peak_rate_msgs, "degradation",
                     c->degradation);
}

/*
** The rules of chan_consumer_put_options for rec, checked inside the open
** transaction o while the channel is locked.  is_new says whether rec's
** consumer does not exist yet.
*/
static int consumer_rules(op *o, const chan_consumer_record *rec, bool is_new,
                          const chan_consumer_put_options *opts, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    const char *date;
    int error = 0;

    if (opts == NULL)
        return 0;
    if (is_new && opts->refuse_new_from != NULL) {
        if ((error = run(o, &rows, "SELECT deprecation_date FROM channels WHERE name = $1",
                         P(SV_TEXT(rec->channel)), err)) < 0)
            goto cleanup;
        date = rows.n_rows > 0 ? chan_store__cell(&rows, 0, 0) : NULL;
        /* Both are YYYY-MM-DD: text order is date order. */
        if (date != NULL && strcmp(date, opts->refuse_new_from) <= 0) {
            error = set_reason(err, CHAN_ECONFLICT, CHAN_STORE_R_CHANNEL_DEPRECATED,
                               "channel '%s' is deprecated since %s", rec->channel, date);
            goto cleanup;
        }
    }
    if (opts->unique_group) {
        if ((error = run(o, &rows,
                         "SELECT name FROM consumers WHERE channel = $1 AND group_id = $2 "
                         "AND name <> $3",
                         P(SV_TEXT(rec->channel), SV_TEXT(rec->group), SV_TEXT(rec->name)), err)) <
            0)
            goto cleanup;
        if (rows.n_rows > 0)
            error = set_reason(err, CHAN_EEXISTS, CHAN_STORE_R_GROUP_IN_USE,
                               "group '%s' is already used by consumer '%s'", rec->group,
                               chan_store__cell(&rows, 0, 0));
    }

cleanup:
    chan_store__rows_dispose(&rows);
    return error;
}

int chan_store_consumer_put(chan_store *store, bool *out_created, const chan_consumer_record *rec,
                            const char *actor, chan_error *err)
{
    return chan_store_consumer_put_checked(store, out_created, rec, NULL, actor, err);
}

int chan_store_consumer_put_checked(chan_store *store, bool *out_created,
                                    const chan_consumer_record *rec,
                                    const chan_consumer_put_options *opts, const char *actor,
                                    chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_consumer_record prev = {0};
    char *object = NULL;
    const char *action;
    int64_t now = now_seconds();
    int error;

    if (out_created != NULL)
        *out_created = false;
    if (rec == NULL)
        return chan_error_set(err, CHAN_EINVALID, "no consumer record");
    if ((error = check_name("channel name", rec->channel, err)) < 0 ||
        (error = check_consumer(rec, NULL, (size_t)-1, err)) < 0 ||
        (error = check_actor(&actor, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, true, err)) < 0 ||
        (error = lock_consumer(&o, &rows, rec->channel, rec->name, err)) < 0 ||
        (error = consumer_rules(&o, rec, rows.n_rows == 0, opts, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        action = "consumer.register";
        if ((error = insert_consumer(&o, rec->channel, rec, now, now, err)) < 0 ||
            (error = bump_revision(&o, rec->channel, now, err)) < 0)
            goto cleanup;
    } else {
        consumer_from_row(&prev, &rows, 0);
        if (consumer_same(&prev, rec)) {
            action = "consumer.renew";
            error = run(&o, NULL,
                        "UPDATE consumers SET renewed_at = $3 WHERE channel = $1 AND name = $2",
                        P(SV_TEXT(rec->channel), SV_TEXT(rec->name), SV_INT(now)), err);
        } else {
            action = "consumer.update";
            if ((error = update_consumer(&o, rec->channel, rec, now, err)) == 0)
                error = bump_revision(&o, rec->channel, now, err);
        }
        if (error < 0)
            goto cleanup;
    }
    object = chan_xasprintf("channel/%s/consumer/%s", rec->channel, rec->name);
    if ((error = audit(&o, actor, action, object, consumer_json(rec), now, err)) < 0 ||
        (error = op_commit(&o, err)) < 0)
        goto cleanup;
    if (out_created != NULL)
        *out_created = rows.n_rows == 0;
cleanup:
    chan_consumer_record_dispose(&prev);
    chan_store__rows_dispose(&rows);
    free(object);
    op_end(&o);
    return error;
}

/* Renew (remove == false) or remove one consumer. */
static int consumer_touch(chan_store *store, const char *channel, const char *name, bool remove,
                          const char *actor, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    char *object = NULL;
    int64_t now = now_seconds();
    int error;

    if ((error = check_name("channel name", channel, err)) < 0 ||
        (error = check_name("consumer name", name, err)) < 0 ||
        (error = check_actor(&actor, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, true, err)) < 0 ||
        (error = lock_consumer(&o, &rows, channel, name, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 0) {
        error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CONSUMER_NOT_FOUND,
                           "consumer '%s' of channel '%s' not found", name, channel);
        goto cleanup;
    }
    if (remove)
        error = run(&o, NULL, "DELETE FROM consumers WHERE channel = $1 AND name = $2",
                    P(SV_TEXT(channel), SV_TEXT(name)), err);
    else
        error =
            run(&o, NULL, "UPDATE consumers SET renewed_at = $3 WHERE channel = $1 AND name = $2",
                P(SV_TEXT(channel), SV_TEXT(name), SV_INT(now)), err);
    if (error < 0 || (remove && (error = bump_revision(&o, channel, now, err)) < 0))
        goto cleanup;
    object = chan_xasprintf("channel/%s/consumer/%s", channel, name);
    if ((error = audit(&o, actor, remove ? "consumer.remove" : "consumer.renew", object, NULL, now,
                       err)) < 0 ||
        (error = op_commit(&o, err)) < 0)
        goto cleanup;
cleanup:
    chan_store__rows_dispose(&rows);
    free(object);
    op_end(&o);
    return error;
}

int chan_store_consumer_renew(chan_store *store, const char *channel, const char *name,
                              const char *actor, chan_error *err)
{
    return consumer_touch(store, channel, name, false, actor, err);
}

int chan_store_consumer_delete(chan_store *store, const char *channel, const char *name,
                               const char *actor, chan_error *err)
{
    return consumer_touch(store, channel, name, true, actor, err);
}

int chan_store_consumer_list(chan_store *store, chan_consumer_record ***out, size_t *out_n,
                             const char *channel, chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = NULL;
    *out_n = 0;
    if (channel != NULL && (error = check_name("channel name", channel, err)) < 0)
        return error;
    if ((error = op_begin(&o, store, false, err)) < 0)
        goto cleanup;
    if (channel != NULL) {
        if ((error = run(&o, &rows, "SELECT 1 FROM channels WHERE name = $1", P(SV_TEXT(channel)),
                         err)) < 0)
            goto cleanup;
        if (rows.n_rows == 0) {
            error = set_reason(err, CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND,
                               "channel '%s' not found", channel);
            goto cleanup;
        }
        error = run(&o, &rows, CONSUMER_COLS "WHERE channel = $1 ORDER BY name",
                    P(SV_TEXT(channel)), err);
    } else {
        error = run(&o, &rows, CONSUMER_COLS "ORDER BY channel, name", NULL, 0, err);
    }
    if (error < 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++) {
        (*out)[i] = chan_xcalloc(1, sizeof(chan_consumer_record));
        consumer_from_row((*out)[i], &rows, i);
    }
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}

/* ------------------------------------------------------------------ */
/* Audit log                                                           */
/* ------------------------------------------------------------------ */

int chan_store_audit_list(chan_store *store, chan_audit_entry ***out, size_t *out_n,
                          int64_t after_id, size_t limit, const char *object_prefix,
                          chan_error *err)
{
    op o = OP_INIT;
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = NULL;
    *out_n = 0;
    if (object_prefix != NULL &&
        (error = check_text("object prefix", object_prefix, CHAN_STORE_NAME_MAX, false, err)) < 0)
        return error;
    if (limit == 0 || limit > (size_t)INT64_MAX)
        limit = INT64_MAX;
    if ((error = op_acquire(&o, store, err)) < 0)
        goto cleanup;
    if ((error = run(&o, &rows,
                     "SELECT id, ts, actor, action, object, detail FROM audit_log "
                     "WHERE id > $1 AND (CAST($2 AS TEXT) IS NULL "
                     "OR substr(object, 1, length($2)) = $2) ORDER BY id LIMIT $3",
                     P(SV_INT(after_id), SV_TEXT(object_prefix), SV_INT((int64_t)limit)), err)) < 0)
        goto cleanup;
    *out = chan_xcalloc(rows.n_rows + 1, sizeof(**out));
    for (size_t i = 0; i < rows.n_rows; i++) {
        chan_audit_entry *e = chan_xcalloc(1, sizeof(*e));
        e->id = chan_store__cell_int(&rows, i, 0);
        e->ts = chan_store__cell_int(&rows, i, 1);
        e->actor = chan_store__cell_take(&rows, i, 2);
        e->action = chan_store__cell_take(&rows, i, 3);
        e->object = chan_store__cell_take(&rows, i, 4);
        e->detail = chan_store__cell_take(&rows, i, 5);
        (*out)[i] = e;
    }
    *out_n = rows.n_rows;
cleanup:
    chan_store__rows_dispose(&rows);
    op_end(&o);
    return error;
}
