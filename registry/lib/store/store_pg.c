/*
 * store_pg.c - the PostgreSQL backend of chan_store, on libpq.
 *
 * The only file besides store_sqlite.c that talks to a database library.
 * A store keeps a pool of connections (chan_store_options.pool_size,
 * default 8).  Transactions run at READ COMMITTED, the server default, with
 * synchronous_commit left at its default so that COMMIT returns only once
 * the change is durable.  Writers serialise on transaction-scoped advisory
 * locks keyed by a hash of the object they change, so that only writers of
 * the same subject or channel wait for each other; schema ids come from the
 * sequence schema_ids.  Read transactions are REPEATABLE READ READ ONLY so
 * that a listing is one consistent snapshot.
 *
 * Every statement is prepared once per connection (PQprepare, cached by the
 * address of its SQL text) and run with PQexecPrepared: values only ever
 * travel as parameters.  A connection that broke is reset (PQreset) before
 * it is handed out again; connection failures are CHAN_EUNAVAILABLE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "chan/common.h"
#include "store_backend.h"

#define STMT_CACHE_SIZE 96
#define DEFAULT_POOL    8
/* Key of the session advisory lock held while migrating ("chanreg!"). */
#define MIGRATION_LOCK_KEY "7164934185968132897"

typedef struct pg_state {
    char *conninfo;
} pg_state;

typedef struct stmt_entry {
    const char *key;
    char name[16];
} stmt_entry;

struct chan_store__conn {
    PGconn *pg;
    stmt_entry cache[STMT_CACHE_SIZE];
    size_t n_cache;
    unsigned int next_stmt;
};

/* Drop libpq notices ("relation already exists, skipping") into the debug log. */
static void notice_processor(void *arg, const char *message)
{
    size_t len = strlen(message);

    (void)arg;
    while (len > 0 && message[len - 1] == '\n')
        len--;
    chan_log_debug("store", "postgres notice: %.*s", (int)len, message);
}

/* The first line of libpq's error message of conn. */
static void first_line(char *buf, size_t size, const char *msg)
{
    size_t len = strcspn(msg, "\n");

    if (len >= size)
        len = size - 1;
    memcpy(buf, msg, len);
    buf[len] = '\0';
}

/* Map a failed result (res may be NULL) to a CHAN_E* code and fill err. */
static int pg_error(chan_store__conn *conn, const PGresult *res, const char *what, chan_error *err)
{
    const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res != NULL ? PQresultErrorMessage(res) : "";
    char line[CHAN_ERROR_MESSAGE_MAX];
    int code = CHAN_EINTERNAL;

    if (msg == NULL || msg[0] == '\0')
        msg = PQerrorMessage(conn->pg);
    first_line(line, sizeof(line), msg);
    if (PQstatus(conn->pg) == CONNECTION_BAD)
        code = CHAN_EUNAVAILABLE;
    else if (state != NULL) {
        if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
            strncmp(state, "53", 2) == 0)
            code = CHAN_EUNAVAILABLE; /* connection, shutdown, resources */
        else if (strncmp(state, "23", 2) == 0 || strcmp(state, "40001") == 0 ||
                 strcmp(state, "40P01") == 0)
            code = CHAN_ECONFLICT; /* constraint, serialization, deadlock */
        else if (strncmp(state, "22", 2) == 0 || strcmp(state, "54000") == 0)
            code = CHAN_EINVALID; /* data exception, too long */
    }
    chan_error_set(err, code, "postgres: %s: %s", what, line);
    if (err != NULL && state != NULL)
        chan_error_detail(err, "SQLSTATE %s", state);
    return code;
}

static int pg_init(void **out_state, unsigned int *out_pool_size, const char *target,
                   const chan_store_options *opts, chan_error *err)
{
    pg_state *st;
    char *errmsg = NULL;
    PQconninfoOption *parsed;

    *out_state = NULL;
    /* Check the syntax now: a bad URL is CHAN_EINVALID, not "unavailable". */
    parsed = PQconninfoParse(target, &errmsg);
    if (parsed == NULL) {
        char line[256];
        first_line(line, sizeof(line), errmsg != NULL ? errmsg : "out of memory");
        PQfreemem(errmsg);
        return chan_error_set(err, CHAN_EINVALID, "bad PostgreSQL connection string: %s", line);
    }
    PQconninfoFree(parsed);
    st = chan_xcalloc(1, sizeof(*st));
    st->conninfo = chan_xstrdup(target);
    *out_pool_size = opts->pool_size > 0 ? opts->pool_size : DEFAULT_POOL;
    *out_state = st;
    return 0;
}

static void pg_dispose(void *state)
{
    pg_state *st = state;

    if (st == NULL)
        return;
    free(st->conninfo);
    free(st);
}

static void pg_disconnect(chan_store__conn *conn)
{
    if (conn == NULL)
        return;
    PQfinish(conn->pg);
    free(conn);
}

static int pg_connect(chan_store__conn **out, void *state, chan_error *err)
{
    /* Defaults first: the URL (expanded from dbname) overrides them; the
     * client encoding comes last because the store speaks only UTF-8. */
    static const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                                       "client_encoding", NULL};
    pg_state *st = state;
    const char *values[] = {"10", "chanregd", st->conninfo, "UTF8", NULL};
    chan_store__conn *conn = chan_xcalloc(1, sizeof(*conn));
    int error = 0;

    *out = NULL;
    conn->pg = PQconnectdbParams(keys, values, 1);
    if (conn->pg == NULL) {
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "postgres: out of memory");
        goto cleanup;
    }
    if (PQstatus(conn->pg) != CONNECTION_OK) {
        char line[CHAN_ERROR_MESSAGE_MAX];
        first_line(line, sizeof(line), PQerrorMessage(conn->pg));
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "postgres: cannot connect: %s", line);
        goto cleanup;
    }
    PQsetNoticeProcessor(conn->pg, notice_processor, NULL);
    *out = conn;
    conn = NULL;
cleanup:
    pg_disconnect(conn);
    return error;
}

static int pg_revive(chan_store__conn *conn, chan_error *err)
{
    if (PQstatus(conn->pg) == CONNECTION_OK)
        return 0;
    PQreset(conn->pg);
    conn->n_cache = 0; /* prepared statements died with the session */
    if (PQstatus(conn->pg) != CONNECTION_OK) {
        char line[CHAN_ERROR_MESSAGE_MAX];
        first_line(line, sizeof(line), PQerrorMessage(conn->pg));
        return chan_error_set(err, CHAN_EUNAVAILABLE, "postgres: cannot reconnect: %s", line);
    }
    PQsetNoticeProcessor(conn->pg, notice_processor, NULL);
    chan_log(CHAN_LOG_INFO, "store", "postgres connection re-established");
    return 1;
}

/* The name of the prepared statement for sql, preparing it when new. */
static int prepare(chan_store__conn *conn, const char **out, const char *sql, size_t n_params,
                   chan_error *err)
{
    PGresult *res;
    stmt_entry *e;
    int error = 0;

    *out = NULL;
    for (size_t i = 0; i < conn->n_cache; i++)
        if (conn->cache[i].key == sql) {
            *out = conn->cache[i].name;
            return 0;
        }
    if (conn->n_cache == STMT_CACHE_SIZE)
        return 0; /* cache full: run unnamed with PQexecParams */
    e = &conn->cache[conn->n_cache];
    snprintf(e->name, sizeof(e->name), "chan_%u", conn->next_stmt++);
    res = PQprepare(conn->pg, e->name, sql, (int)n_params, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        error = pg_error(conn, res, "prepare", err);
    PQclear(res);
    if (error < 0)
        return error;
    e->key = sql;
    conn->n_cache++;
    *out = e->name;
    return 0;
}

static int pg_query(chan_store__conn *conn, chan_store__rows *rows, const char *sql,
                    const chan_store__value *params, size_t n_params, chan_error *err)
{
    const char *values[32];
    char nums[32][32];
    const char *name;
    PGresult *res = NULL;
    ExecStatusType status;
    int error;

    if (n_params > CHAN_ARRAY_SIZE(values))
        return chan_error_set(err, CHAN_EINTERNAL, "too many query parameters");
    for (size_t i = 0; i < n_params; i++) {
        switch (params[i].type) {
        case CHAN_STORE__NULL:
            values[i] = NULL;
            break;
        case CHAN_STORE__TEXT:
            values[i] = params[i].text;
            break;
        case CHAN_STORE__INT:
            snprintf(nums[i], sizeof(nums[i]), "%lld", (long long)params[i].i);
            values[i] = nums[i];
            break;
        default:
            snprintf(nums[i], sizeof(nums[i]), "%.17g", params[i].d);
            values[i] = nums[i];
            break;
        }
    }
    if ((error = prepare(conn, &name, sql, n_params, err)) < 0)
        return error;
    if (name != NULL)
        res = PQexecPrepared(conn->pg, name, (int)n_params, values, NULL, NULL, 0);
    else
        res = PQexecParams(conn->pg, sql, (int)n_params, NULL, values, NULL, NULL, 0);
    status = PQresultStatus(res);
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        error = pg_error(conn, res, "query", err);
        goto cleanup;
    }
    if (rows != NULL) {
        int nr = PQntuples(res), nc = PQnfields(res);
        const char *tuples = PQcmdTuples(res);
        rows->n_cols = (size_t)nc;
        for (int r = 0; r < nr; r++) {
            for (int c = 0; c < nc; c++) {
                if (PQgetisnull(res, r, c))
                    chan_store__rows_push(rows, (size_t)c, NULL, 0);
                else
                    chan_store__rows_push(rows, (size_t)c, PQgetvalue(res, r, c),
                                          (size_t)PQgetlength(res, r, c));
            }
            rows->n_rows++;
        }
        rows->changes = tuples != NULL && tuples[0] != '\0' ? strtoll(tuples, NULL, 10) : 0;
    }
cleanup:
    PQclear(res);
    return error;
}

/* Run a statement without parameters or result. */
static int run_simple(chan_store__conn *conn, const char *sql, chan_error *err)
{
    return pg_query(conn, NULL, sql, NULL, 0, err);
}

static int pg_begin(chan_store__conn *conn, bool write, chan_error *err)
{
    return run_simple(conn, write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                      err);
}

static int pg_commit(chan_store__conn *conn, chan_error *err)
{
    return run_simple(conn, "COMMIT", err);
}

static void pg_rollback(chan_store__conn *conn)
{
    PGTransactionStatusType ts = PQtransactionStatus(conn->pg);

    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        (void)run_simple(conn, "ROLLBACK", NULL);
}

static int pg_lock(chan_store__conn *conn, const char *key, chan_error *err)
{
    /* A 64-bit key: two objects sharing a lock by accident (and so maybe
     * deadlocking, which PostgreSQL would detect) is practically excluded. */
    uint64_t h = chan_store__fnv1a64(key, strlen(key));

    return pg_query(conn, NULL, "SELECT pg_advisory_xact_lock($1)",
                    (const chan_store__value[]){SV_INT((int64_t)h)}, 1, err);
}

static int pg_exec_script(chan_store__conn *conn, const char *sql, chan_error *err)
{
    PGresult *res = PQexec(conn->pg, sql);
    ExecStatusType status = PQresultStatus(res);
    int error = 0;

    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        error = pg_error(conn, res, "script", err);
    PQclear(res);
    return error;
}

static int pg_next_schema_id(chan_store__conn *conn, int64_t *out, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    int error;

    *out = 0;
    error = pg_query(conn, &rows, "SELECT nextval('schema_ids')", NULL, 0, err);
    if (error == 0)
        *out = chan_store__cell_int(&rows, 0, 0);
    chan_store__rows_dispose(&rows);
    return error;
}

static int pg_schema_id_used(chan_store__conn *conn, int64_t id, chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    const chan_store__value params[1] = {SV_INT(id)};
    int error;

    /* Never moves the sequence back: concurrent allocations stay unique. */
    error = pg_query(conn, &rows,
                     "SELECT setval('schema_ids', GREATEST($1::bigint, "
                     "(SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM schema_ids)))",
                     params, 1, err);
    chan_store__rows_dispose(&rows);
    return error;
}

static int pg_migration_lock(chan_store__conn *conn, bool lock, chan_error *err)
{
    return run_simple(conn,
                      lock ? "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")"
                           : "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")",
                      err);
}

const chan_store__backend chan_store__pg_backend = {
    .version = CHAN_STORE__BACKEND_VERSION,
    .name = "postgres",
    .init = pg_init,
    .dispose = pg_dispose,
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .revive = pg_revive,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .lock = pg_lock,
    .query = pg_query,
    .exec_script = pg_exec_script,
    .next_schema_id = pg_next_schema_id,
    .schema_id_used = pg_schema_id_used,
    .migration_lock = pg_migration_lock,
};
