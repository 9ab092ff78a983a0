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
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "chan/common.h"
#include "store_backend.h"
#include "store_int.h"

#define STMT_CACHE_SIZE 96
#define DEFAULT_POOL    8
/* Key of the session advisory lock held while migrating ("chanreg!"). */
#define MIGRATION_LOCK_KEY "7164934185968132897"
/* Cancel requests that may wait for a stopped server at once (threads). */
#define MAX_PENDING_CANCELS 16
/* TCP keepalive: first probe after idle seconds, then every interval, count probes. */
#define KEEPALIVES_IDLE     "30"
#define KEEPALIVES_INTERVAL "10"
#define KEEPALIVES_COUNT    "3"

typedef struct pg_state {
    char *conninfo;
    unsigned int connect_timeout_ms;
    unsigned int statement_timeout_ms;
    unsigned int reply_timeout_ms;
    int abort_pipe[2]; /* readable once chan_store_abort was called */
    atomic_bool aborted;
} pg_state;

typedef struct stmt_entry {
    const char *key;
    char name[16];
} stmt_entry;

struct chan_store__conn {
    pg_state *st;
    PGconn *pg;     /* NULL after a deadline closed it: revive reconnects */
    bool unbounded; /* migrating: no statement or reply deadline */
    stmt_entry cache[STMT_CACHE_SIZE];
    size_t n_cache;
    unsigned int next_stmt;
};

static atomic_int pending_cancels = 0;

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

int64_t chan_store__pg_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
    if (state != NULL && strcmp(state, "57014") == 0)
        code = CHAN_EUNAVAILABLE; /* query_canceled: statement_timeout or a cancel */
    chan_error_set(err, code, "postgres: %s: %s", what, line);
    if (err != NULL && state != NULL) {
        chan_error_detail(err, "SQLSTATE %s", state);
        if (strcmp(state, "57014") == 0)
            err->reason = CHAN_STORE_R_TIMEOUT;
    }
    return code;
}

/* CHAN_EUNAVAILABLE with reason CHAN_STORE_R_TIMEOUT.  Returns the code. */
static int timeout_error(chan_error *err, const char *fmt, ...) CHAN_PRINTF(2, 3);
static int timeout_error(chan_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return CHAN_EUNAVAILABLE;
    va_start(ap, fmt);
    chan_error_vset(err, CHAN_EUNAVAILABLE, fmt, ap);
    va_end(ap);
    err->reason = CHAN_STORE_R_TIMEOUT;
    return CHAN_EUNAVAILABLE;
}

/* ------------------------------------------------------------------ */
/* Deadlines                                                           */
/* ------------------------------------------------------------------ */

/*
** Wait until sock is ready for events (POLLIN and/or POLLOUT), the deadline
** (monotonic ms, -1: none) passes or abort_fd (-1: none) becomes readable.
** A stopped server keeps its sockets open and never answers: only this wait
** bounds it.  Returns CHAN_STORE__PG_DONE when ready, _DEADLINE, _ABORTED,
** or CHAN_EUNAVAILABLE on a poll error.
*/
static int wait_socket(int sock, short events, int64_t deadline, int abort_fd, chan_error *err)
{
    for (;;) {
        struct pollfd fds[2] = {{sock, events, 0}, {abort_fd, POLLIN, 0}};
        int timeout = -1, rc;

        if (deadline >= 0) {
            int64_t left = deadline - chan_store__pg_now_ms();
            if (left <= 0)
                return CHAN_STORE__PG_DEADLINE;
            timeout = left > 60000 ? 60000 : (int)left;
        }
        rc = poll(fds, 2, timeout);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return chan_error_set(err, CHAN_EUNAVAILABLE, "postgres: poll: %s", strerror(errno));
        if (fds[1].revents != 0)
            return CHAN_STORE__PG_ABORTED;
        if (fds[0].revents != 0)
            return CHAN_STORE__PG_DONE;
    }
}

/* Send PQcancel from a thread of its own: it waits for the server's answer. */
static void *cancel_thread(void *arg)
{
    PGcancel *cancel = arg;
    char buf[256];

    (void)PQcancel(cancel, buf, (int)sizeof(buf));
    PQfreeCancel(cancel);
    atomic_fetch_sub(&pending_cancels, 1);
    return NULL;
}

/*
** Ask the server to cancel what conn runs, without waiting: PQcancel blocks
** until the server answers, which a stopped server never does, so it runs on
** a detached thread (at most MAX_PENDING_CANCELS at once).
*/
void chan_store__pg_cancel_async(PGconn *pg)
{
    PGcancel *cancel = PQgetCancel(pg);
    pthread_attr_t attr;
    pthread_t tid;

    if (cancel == NULL)
        return;
    if (atomic_fetch_add(&pending_cancels, 1) >= MAX_PENDING_CANCELS) {
        atomic_fetch_sub(&pending_cancels, 1);
        PQfreeCancel(cancel);
        return;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&tid, &attr, cancel_thread, cancel) != 0) {
        atomic_fetch_sub(&pending_cancels, 1);
        PQfreeCancel(cancel);
    }
    pthread_attr_destroy(&attr);
}

/*
** A statement got no reply in time (why CHAN_STORE__PG_DEADLINE) or the store
** was aborted (CHAN_STORE__PG_ABORTED):
** cancel it, close the connection (the server rolls the transaction back;
** the next use reconnects) and fill err.  Returns CHAN_EUNAVAILABLE.
*/
static int give_up(chan_store__conn *conn, int why, const char *what, chan_error *err)
{
    if (conn->pg != NULL && PQtransactionStatus(conn->pg) == PQTRANS_ACTIVE)
        chan_store__pg_cancel_async(conn->pg);
    PQfinish(conn->pg);
    conn->pg = NULL;
    conn->n_cache = 0;
    if (why == CHAN_STORE__PG_ABORTED)
        return timeout_error(err, "postgres: %s abandoned: the store is shutting down", what);
    return timeout_error(err,
                         "postgres: no reply to %s within %u ms; the statement was "
                         "cancelled and the connection closed",
                         what, conn->st->reply_timeout_ms);
}

/* The deadline of the next reply on conn (-1: none). */
static int64_t reply_deadline(const chan_store__conn *conn)
{
    return conn->unbounded ? -1 : chan_store__pg_now_ms() + conn->st->reply_timeout_ms;
}

/*
** Wait for the reply to what was sent on pg (PQsend*, non-blocking mode)
** until the deadline (-1: none) or abort_fd: flush, then read until the
** last result.  On CHAN_STORE__PG_DONE *out is the first failed result,
** else the last one (the caller clears it); every other outcome leaves *out
** NULL: _DEADLINE, _ABORTED, _FAILED (libpq failed, or no result came:
** PQerrorMessage says why) or CHAN_EUNAVAILABLE (poll failed, err set).
*/
int chan_store__pg_await(PGconn *pg, PGresult **out, int64_t deadline, int abort_fd,
                         chan_error *err)
{
    PGresult *keep = NULL;
    int rc;

    *out = NULL;
    while ((rc = PQflush(pg)) == 1) {
        if ((rc = wait_socket(PQsocket(pg), POLLOUT | POLLIN, deadline, abort_fd, err)) != 0)
            return rc;
        if (!PQconsumeInput(pg))
            return CHAN_STORE__PG_FAILED;
    }
    if (rc < 0)
        return CHAN_STORE__PG_FAILED;
    for (;;) {
        PGresult *res;

        if (PQisBusy(pg)) {
            rc = wait_socket(PQsocket(pg), POLLIN, deadline, abort_fd, err);
            if (rc == 0 && !PQconsumeInput(pg))
                rc = CHAN_STORE__PG_FAILED;
            if (rc != 0) {
                PQclear(keep);
                return rc;
            }
            continue;
        }
        res = PQgetResult(pg);
        if (res == NULL)
            break;
        if (keep == NULL) {
            keep = res;
        } else if (PQresultStatus(res) == PGRES_FATAL_ERROR &&
                   PQresultStatus(keep) != PGRES_FATAL_ERROR) {
            PQclear(keep);
            keep = res;
        } else {
            PQclear(res);
        }
    }
    if (keep == NULL)
        return CHAN_STORE__PG_FAILED;
    *out = keep;
    return CHAN_STORE__PG_DONE;
}

/*
** Wait for the reply to what was sent on conn (PQsend*) with the reply
** deadline (chan_store__pg_await); at the deadline or on abort give up on
** the connection.  *out is the result to clear.
*/
static int await_reply(chan_store__conn *conn, PGresult **out, const char *what, chan_error *err)
{
    int rc =
        chan_store__pg_await(conn->pg, out, reply_deadline(conn), conn->st->abort_pipe[0], err);

    if (rc < 0)
        return rc;
    if (rc == CHAN_STORE__PG_DEADLINE || rc == CHAN_STORE__PG_ABORTED)
        return give_up(conn, rc, what, err);
    if (rc == CHAN_STORE__PG_FAILED)
        return pg_error(conn, NULL, what, err);
    return 0;
}

/*
** Drive a connection started with PQconnectStart* until libpq is done
** (PQstatus then says whether it succeeded), the deadline (-1: none) passes
** or abort_fd becomes readable.  Returns CHAN_STORE__PG_DONE, _DEADLINE,
** _ABORTED, or CHAN_EUNAVAILABLE when poll failed.
*/
int chan_store__pg_connect_wait(PGconn *pg, int64_t deadline, int abort_fd, chan_error *err)
{
    PostgresPollingStatusType poll_status = PGRES_POLLING_WRITING;

    while (PQstatus(pg) != CONNECTION_BAD && poll_status != PGRES_POLLING_OK &&
           poll_status != PGRES_POLLING_FAILED) {
        short events = poll_status == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        int rc = wait_socket(PQsocket(pg), events, deadline, abort_fd, err);

        if (rc != 0)
            return rc;
        poll_status = PQconnectPoll(pg);
    }
    return CHAN_STORE__PG_DONE;
}

/* Run sql (no parameters, several statements allowed) with the reply deadline. */
static int exec_simple(chan_store__conn *conn, PGresult **out, const char *sql, const char *what,
                       chan_error *err)
{
    *out = NULL;
    if (conn->pg == NULL)
        return chan_error_set(err, CHAN_EUNAVAILABLE, "postgres: the connection was closed");
    if (!PQsendQuery(conn->pg, sql))
        return pg_error(conn, NULL, what, err);
    return await_reply(conn, out, what, err);
}

/* Run a statement without parameters or result (SET, BEGIN, ...). */
static int exec_command(chan_store__conn *conn, const char *sql, chan_error *err)
{
    PGresult *res = NULL;
    int error = exec_simple(conn, &res, sql, sql, err);

    if (error == 0 && PQresultStatus(res) != PGRES_COMMAND_OK &&
        PQresultStatus(res) != PGRES_TUPLES_OK)
        error = pg_error(conn, res, sql, err);
    PQclear(res);
    return error;
}

/* Set the session's statement_timeout (0 = none) on the server. */
static int set_statement_timeout(chan_store__conn *conn, unsigned int ms, chan_error *err)
{
    char sql[64];

    snprintf(sql, sizeof(sql), "SET statement_timeout = %u", ms);
    return exec_command(conn, sql, err);
}

/* ------------------------------------------------------------------ */
/* Connections                                                         */
/* ------------------------------------------------------------------ */

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
    if (pipe(st->abort_pipe) < 0) {
        free(st);
        return chan_error_set(err, CHAN_EINTERNAL, "pipe: %s", strerror(errno));
    }
    for (int i = 0; i < 2; i++) {
        (void)fcntl(st->abort_pipe[i], F_SETFD, FD_CLOEXEC);
        (void)fcntl(st->abort_pipe[i], F_SETFL, O_NONBLOCK);
    }
    st->conninfo = chan_xstrdup(target);
    st->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms
                                                          : CHAN_STORE_CONNECT_TIMEOUT_DEFAULT_MS;
    st->statement_timeout_ms = opts->statement_timeout_ms > 0
                                   ? opts->statement_timeout_ms
                                   : CHAN_STORE_STATEMENT_TIMEOUT_DEFAULT_MS;
    st->reply_timeout_ms =
        opts->reply_timeout_ms > 0 ? opts->reply_timeout_ms : CHAN_STORE_REPLY_TIMEOUT_DEFAULT_MS;
    atomic_init(&st->aborted, false);
    *out_pool_size = opts->pool_size > 0 ? opts->pool_size : DEFAULT_POOL;
    *out_state = st;
    return 0;
}

static void pg_dispose(void *state)
{
    pg_state *st = state;

    if (st == NULL)
        return;
    close(st->abort_pipe[0]);
    close(st->abort_pipe[1]);
    free(st->conninfo);
    free(st);
}

static void pg_abort(void *state)
{
    pg_state *st = state;
    const char byte = 1;

    if (atomic_exchange(&st->aborted, true))
        return;
    /* Wakes every wait_socket: the byte is never read. */
    while (write(st->abort_pipe[1], &byte, 1) < 0 && errno == EINTR)
        ;
}

void chan_store__pg_deadlines(const void *state, unsigned int *out_connect_ms,
                              unsigned int *out_reply_ms, int *out_abort_fd)
{
    const pg_state *st = state;

    *out_connect_ms = st->connect_timeout_ms;
    *out_reply_ms = st->reply_timeout_ms;
    *out_abort_fd = st->abort_pipe[0];
}

static void pg_disconnect(chan_store__conn *conn)
{
    if (conn == NULL)
        return;
    PQfinish(conn->pg);
    free(conn);
}

/*
** Open conn->pg without blocking past the connect deadline: PQconnectStartParams
** and PQconnectPoll, waiting on the socket in between.  libpq's own defaults
** come first so that the URL overrides them: connect_timeout, TCP keepalives
** and tcp_user_timeout; the client encoding comes last because the store
** speaks only UTF-8.  Then the session's statement_timeout is set.
*/
static int open_session(chan_store__conn *conn, chan_error *err)
{
    static const char *const keys[] = {"connect_timeout",     "fallback_application_name",
                                       "keepalives",          "keepalives_idle",
                                       "keepalives_interval", "keepalives_count",
                                       "tcp_user_timeout",    "dbname",
                                       "client_encoding",     NULL};
    pg_state *st = conn->st;
    char connect_s[16], user_timeout[16];
    const char *values[CHAN_ARRAY_SIZE(keys)];
    int64_t deadline = chan_store__pg_now_ms() + st->connect_timeout_ms;
    char line[CHAN_ERROR_MESSAGE_MAX];
    int error = 0;

    snprintf(connect_s, sizeof(connect_s), "%u", (st->connect_timeout_ms + 999) / 1000);
    snprintf(user_timeout, sizeof(user_timeout), "%u", st->reply_timeout_ms);
    values[0] = connect_s;
    values[1] = "chanregd";
    values[2] = "1";
    values[3] = KEEPALIVES_IDLE;
    values[4] = KEEPALIVES_INTERVAL;
    values[5] = KEEPALIVES_COUNT;
    values[6] = user_timeout;
    values[7] = st->conninfo;
    values[8] = "UTF8";
    values[9] = NULL;
    conn->n_cache = 0;
    conn->pg = PQconnectStartParams(keys, values, 1);
    if (conn->pg == NULL)
        return chan_error_set(err, CHAN_EUNAVAILABLE, "postgres: out of memory");
    if ((error = chan_store__pg_connect_wait(conn->pg, deadline, st->abort_pipe[0], err)) < 0)
        goto cleanup;
    if (error > 0) {
        error = timeout_error(err,
                              error == CHAN_STORE__PG_ABORTED
                                  ? "postgres: cannot connect: the store is shutting down"
                                  : "postgres: cannot connect: no answer within %u ms",
                              st->connect_timeout_ms);
        goto cleanup;
    }
    if (PQstatus(conn->pg) != CONNECTION_OK) {
        first_line(line, sizeof(line), PQerrorMessage(conn->pg));
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "postgres: cannot connect: %s", line);
        goto cleanup;
    }
    PQsetNoticeProcessor(conn->pg, notice_processor, NULL);
    if (PQsetnonblocking(conn->pg, 1) != 0) {
        error = pg_error(conn, NULL, "set non-blocking", err);
        goto cleanup;
    }
    error = set_statement_timeout(conn, conn->unbounded ? 0 : st->statement_timeout_ms, err);
cleanup:
    if (error < 0 && conn->pg != NULL) {
        PQfinish(conn->pg);
        conn->pg = NULL;
    }
    return error;
}

static int pg_connect(chan_store__conn **out, void *state, chan_error *err)
{
    chan_store__conn *conn = chan_xcalloc(1, sizeof(*conn));
    int error;

    *out = NULL;
    conn->st = state;
    if ((error = open_session(conn, err)) < 0) {
        pg_disconnect(conn);
        return error;
    }
    *out = conn;
    return 0;
}

static int pg_revive(chan_store__conn *conn, chan_error *err)
{
    int error;

    if (conn->pg != NULL && PQstatus(conn->pg) == CONNECTION_OK)
        return 0;
    PQfinish(conn->pg);
    conn->pg = NULL;
    if ((error = open_session(conn, err)) < 0) {
        chan_error_prefix(err, "cannot reconnect");
        return error;
    }
    chan_log(CHAN_LOG_INFO, "store", "postgres connection re-established");
    return 1;
}

/* The name of the prepared statement for sql, preparing it when new. */
static int prepare(chan_store__conn *conn, const char **out, const char *sql, size_t n_params,
                   chan_error *err)
{
    PGresult *res = NULL;
    stmt_entry *e;
    int error = 0;

    *out = NULL;
    for (size_t i = 0; i < conn->n_cache; i++)
        if (conn->cache[i].key == sql) {
            *out = conn->cache[i].name;
            return 0;
        }
    if (conn->n_cache == STMT_CACHE_SIZE)
        return 0; /* cache full: run unnamed with PQsendQueryParams */
    e = &conn->cache[conn->n_cache];
    snprintf(e->name, sizeof(e->name), "chan_%u", conn->next_stmt++);
    if (!PQsendPrepare(conn->pg, e->name, sql, (int)n_params, NULL))
        return pg_error(conn, NULL, "prepare", err);
    if ((error = await_reply(conn, &res, "prepare", err)) < 0)
        return error;
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
    int error, sent;

    if (n_params > CHAN_ARRAY_SIZE(values))
        return chan_error_set(err, CHAN_EINTERNAL, "too many query parameters");
    if (conn->pg == NULL)
        return chan_error_set(err, CHAN_EUNAVAILABLE, "postgres: the connection was closed");
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
        sent = PQsendQueryPrepared(conn->pg, name, (int)n_params, values, NULL, NULL, 0);
    else
        sent = PQsendQueryParams(conn->pg, sql, (int)n_params, NULL, values, NULL, NULL, 0);
    if (!sent)
        return pg_error(conn, NULL, "query", err);
    if ((error = await_reply(conn, &res, "a query", err)) < 0)
        return error;
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
    PGTransactionStatusType ts;

    if (conn->pg == NULL)
        return;
    ts = PQtransactionStatus(conn->pg);
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
    PGresult *res = NULL;
    ExecStatusType status;
    int error;

    if ((error = exec_simple(conn, &res, sql, "script", err)) < 0)
        return error;
    status = PQresultStatus(res);
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

/*
** Migrating has no deadline: the lock waits for another process's
** migrations and a migration may take long.  It can still be aborted.
*/
static int pg_migration_lock(chan_store__conn *conn, bool lock, chan_error *err)
{
    int error;

    if (lock) {
        conn->unbounded = true;
        if ((error = set_statement_timeout(conn, 0, err)) < 0 ||
            (error = run_simple(conn, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", err)) <
                0) {
            conn->unbounded = false;
            if (conn->pg != NULL)
                (void)set_statement_timeout(conn, conn->st->statement_timeout_ms, NULL);
        }
        return error;
    }
    error = run_simple(conn, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", err);
    conn->unbounded = false;
    if (error == 0)
        error = set_statement_timeout(conn, conn->st->statement_timeout_ms, err);
    return error;
}

const chan_store__backend chan_store__pg_backend = {
    .version = CHAN_STORE__BACKEND_VERSION,
    .name = "postgres",
    .init = pg_init,
    .dispose = pg_dispose,
    .abort = pg_abort,
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
