/*
 * store_leader.c - leader election among daemons sharing one store (see
 * chan/leader.h): a session-level advisory lock on a dedicated PostgreSQL
 * connection, or an exclusive flock() next to a SQLite database file.
 *
 * It lives in the store module because it is the other code that needs
 * libpq and knows the store's URL forms; it opens no chan_store and touches
 * none of the store's connections.  Its PostgreSQL connection waits like
 * the store's (store_int.h): without blocking, with the connect and reply
 * deadlines of the store it is bound to (chan_leader_use_store), and a
 * statement that gets no reply in time is cancelled and its connection
 * closed, which gives leadership up.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "chan/common.h"
#include "chan/leader.h"
#include "store_int.h"

#define MODULE       "leader"
#define NAME_MAX_LEN 128

struct chan_leader {
    chan_leader_kind kind;
    char *name;
    char *target;   /* lock file path, or "advisory lock KEY" */
    char *conninfo; /* PostgreSQL: libpq URI or key=value string */
    int64_t key;    /* PostgreSQL: advisory lock key */
    PGconn *pg;     /* PostgreSQL: the lock's connection, NULL when closed */
    int fd;         /* flock: the lock file, -1 when closed */
    bool held;
    /* PostgreSQL deadlines (chan_leader_use_store, else the store's defaults). */
    unsigned int connect_timeout_ms; /* open the connection */
    unsigned int reply_timeout_ms;   /* the reply to one statement */
    int abort_fd;                    /* readable once the store is aborted, -1: none */
};

int64_t chan_leader_key(const char *name)
{
    static const char prefix[] = "chanreg.leader:";
    uint64_t h = UINT64_C(14695981039346656037);
    const unsigned char *p;

    for (p = (const unsigned char *)prefix; *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    for (p = (const unsigned char *)(name ? name : ""); *p; p++)
        h = (h ^ *p) * UINT64_C(1099511628211);
    /* Reinterpret as a signed bigint without implementation-defined conversion. */
    if (h <= (uint64_t)INT64_MAX)
        return (int64_t)h;
    return -(int64_t)(UINT64_MAX - h) - 1;
}

const char *chan_leader_kind_name(chan_leader_kind kind)
{
    switch (kind) {
    case CHAN_LEADER_MEMORY:
        return "memory";
    case CHAN_LEADER_FLOCK:
        return "flock";
    case CHAN_LEADER_POSTGRES:
        return "postgres";
    }
    return "unknown";
}

/* Copy the first line of a libpq message into buf (messages end with '\n'). */
static const char *first_line(char *buf, size_t size, const char *msg)
{
    size_t n = 0;

    if (msg == NULL)
        msg = "unknown error";
    while (msg[n] != '\0' && msg[n] != '\n' && n + 1 < size) {
        buf[n] = msg[n];
        n++;
    }
    buf[n] = '\0';
    return buf;
}

static bool name_ok(const char *name)
{
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (i = 0; i < n; i++)
        if (name[i] < 0x21 || name[i] > 0x7e)
            return false;
    return true;
}

int chan_leader_new(chan_leader **out, const char *store_url, const char *name, chan_error *err)
{
    chan_leader *l = NULL;
    const char *target = NULL;
    int error = 0;

    assert(out != NULL);
    *out = NULL;
    if (!name_ok(name))
        return chan_error_set(err, CHAN_EINVALID,
                              "leader election name must be 1 to %d printable characters",
                              NAME_MAX_LEN);
    if (store_url == NULL || store_url[0] == '\0')
        return chan_error_set(err, CHAN_EINVALID, "empty store URL");

    l = chan_xcalloc(1, sizeof(*l));
    l->fd = -1;
    l->connect_timeout_ms = CHAN_STORE_CONNECT_TIMEOUT_DEFAULT_MS;
    l->reply_timeout_ms = CHAN_STORE_REPLY_TIMEOUT_DEFAULT_MS;
    l->abort_fd = -1;
    l->name = chan_xstrdup(name);
    if (strncmp(store_url, "postgres://", 11) == 0 ||
        strncmp(store_url, "postgresql://", 13) == 0 || strncmp(store_url, "postgres:", 9) == 0) {
        PQconninfoOption *parsed;
        char *errmsg = NULL;

        target = strncmp(store_url, "postgres:", 9) == 0 && store_url[9] != '/' ? store_url + 9
                                                                                : store_url;
        parsed = PQconninfoParse(target, &errmsg);
        if (parsed == NULL) {
            char line[256];

            first_line(line, sizeof(line), errmsg ? errmsg : "out of memory");
            PQfreemem(errmsg);
            error =
                chan_error_set(err, CHAN_EINVALID, "bad PostgreSQL connection string: %s", line);
            goto cleanup;
        }
        PQconninfoFree(parsed);
        l->kind = CHAN_LEADER_POSTGRES;
        l->conninfo = chan_xstrdup(target);
        l->key = chan_leader_key(name);
        l->target = chan_xasprintf("advisory lock %" PRId64, l->key);
    } else {
        target = strncmp(store_url, "sqlite:", 7) == 0 ? store_url + 7 : store_url;
        if (strstr(store_url, "://") != NULL) {
            error = chan_error_set(err, CHAN_EINVALID, "unsupported store URL scheme in '%.64s'",
                                   store_url);
            goto cleanup;
        }
        if (strcmp(target, ":memory:") == 0) {
            l->kind = CHAN_LEADER_MEMORY;
            l->target = chan_xstrdup("in-memory store");
        } else if (target[0] == '\0') {
            error = chan_error_set(err, CHAN_EINVALID, "empty SQLite path in store URL");
            goto cleanup;
        } else {
            l->kind = CHAN_LEADER_FLOCK;
            l->target = chan_xasprintf("%s.leader", target);
        }
    }
    *out = l;
    l = NULL;

cleanup:
    chan_leader_free(l);
    return error;
}

static int pg_run(chan_leader *l, const char *sql, const char *what, PGresult **out,
                  chan_error *err);

/* True once the store the election is bound to was aborted (chan_store_abort). */
static bool store_aborted(const chan_leader *l)
{
    struct pollfd p = {l->abort_fd, POLLIN, 0};

    return l->abort_fd >= 0 && poll(&p, 1, 0) > 0;
}

void chan_leader_use_store(chan_leader *l, chan_store *store)
{
    assert(l != NULL && store != NULL);
    if (store->be == &chan_store__pg_backend)
        chan_store__pg_deadlines(store->state, &l->connect_timeout_ms, &l->reply_timeout_ms,
                                 &l->abort_fd);
}

void chan_leader_release(chan_leader *l)
{
    if (l == NULL)
        return;
    if (l->pg != NULL) {
        bool held = l->held;

        /*
         * Unlock explicitly so that another daemon can take over at once:
         * closing the session also releases the lock, but only once the
         * server has ended the backend, which PQfinish does not wait for.
         * After chan_store_abort nothing waits for the server: the session
         * is just closed, and so is it when the unlock fails (pg_run).
         */
        l->held = false; /* released either way: no "lost" from pg_run */
        if (held && PQstatus(l->pg) == CONNECTION_OK && !store_aborted(l)) {
            PGresult *res = NULL;

            if (pg_run(l, "SELECT pg_advisory_unlock($1::bigint)", "pg_advisory_unlock", &res,
                       NULL) == 0)
                PQclear(res);
        }
        l->held = held;
        PQfinish(l->pg);
        l->pg = NULL;
    }
    if (l->fd >= 0) {
        (void)flock(l->fd, LOCK_UN);
        close(l->fd);
        l->fd = -1;
    }
    if (l->held)
        chan_log(CHAN_LOG_INFO, MODULE, "leadership released name=%s kind=%s", l->name,
                 chan_leader_kind_name(l->kind));
    l->held = false;
}

void chan_leader_free(chan_leader *l)
{
    if (l == NULL)
        return;
    chan_leader_release(l);
    free(l->name);
    free(l->target);
    free(l->conninfo);
    free(l);
}

bool chan_leader_is_leader(const chan_leader *l)
{
    return l != NULL && l->held;
}

chan_leader_kind chan_leader_get_kind(const chan_leader *l)
{
    return l->kind;
}

const char *chan_leader_target(const chan_leader *l)
{
    return l->target;
}

/* ------------------------------------------------------------------ */
/* PostgreSQL                                                           */
/* ------------------------------------------------------------------ */

/* Drop the lock's connection after a failure: the server drops the lock with it. */
static void pg_lost(chan_leader *l, const char *why)
{
    if (l->held)
        chan_log(CHAN_LOG_WARN, MODULE, "leadership lost name=%s kind=postgres reason=\"%s\"",
                 l->name, why);
    l->held = false;
    PQfinish(l->pg);
    l->pg = NULL;
}

/*
** Open the lock's connection without blocking past the connect deadline
** (or the store's abort).  The URL (expanded from dbname) overrides the
** defaults before it: TCP keepalives, and a TCP user timeout of the reply
** deadline for a network that drops packets.
*/
static int pg_connect(chan_leader *l, chan_error *err)
{
    static const char *const keys[] = {"connect_timeout",
                                       "fallback_application_name",
                                       "keepalives",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "tcp_user_timeout",
                                       "dbname",
                                       NULL};
    char connect_s[16], user_timeout[16];
    const char *values[] = {connect_s, "chanregd-leader", "1",         "10", "5",
                            "2",       user_timeout,      l->conninfo, NULL};
    char line[CHAN_ERROR_MESSAGE_MAX - 64];
    int64_t deadline = chan_store__pg_now_ms() + l->connect_timeout_ms;
    int rc, error = 0;

    snprintf(connect_s, sizeof(connect_s), "%u", (l->connect_timeout_ms + 999) / 1000);
    snprintf(user_timeout, sizeof(user_timeout), "%u", l->reply_timeout_ms);
    l->pg = PQconnectStartParams(keys, values, 1);
    if (l->pg == NULL)
        return chan_error_set(err, CHAN_EUNAVAILABLE, "postgres: out of memory");
    if ((rc = chan_store__pg_connect_wait(l->pg, deadline, l->abort_fd, err)) < 0) {
        error = rc;
        goto cleanup;
    }
    if (rc == CHAN_STORE__PG_ABORTED) {
        error = chan_store__set_reason(err, CHAN_EUNAVAILABLE, CHAN_STORE_R_TIMEOUT,
                                       "leader election: cannot connect: the store is "
                                       "shutting down");
        goto cleanup;
    }
    if (rc == CHAN_STORE__PG_DEADLINE) {
        error = chan_store__set_reason(err, CHAN_EUNAVAILABLE, CHAN_STORE_R_TIMEOUT,
                                       "leader election: cannot connect: no answer within %u ms",
                                       l->connect_timeout_ms);
        goto cleanup;
    }
    if (PQstatus(l->pg) != CONNECTION_OK || PQsetnonblocking(l->pg, 1) != 0) {
        first_line(line, sizeof(line), PQerrorMessage(l->pg));
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "leader election: cannot connect: %s", line);
        goto cleanup;
    }
cleanup:
    if (error < 0) {
        PQfinish(l->pg);
        l->pg = NULL;
    }
    return error;
}

/*
** Run sql (a SELECT; "$1" is the election's key) on the lock's connection
** and wait for its rows with the reply deadline.  *out gets the result (the
** caller clears it).  On any failure the connection is closed, and
** leadership with it (pg_lost); a statement without a reply in time (or
** abandoned because the store was aborted) is cancelled first and fails
** with CHAN_EUNAVAILABLE and reason CHAN_STORE_R_TIMEOUT.
*/
static int pg_run(chan_leader *l, const char *sql, const char *what, PGresult **out,
                  chan_error *err)
{
    char keytext[32], line[CHAN_ERROR_MESSAGE_MAX - 64];
    const char *params[1] = {keytext};
    int n_params = strstr(sql, "$1") != NULL ? 1 : 0;
    PGresult *res = NULL;
    int rc, error;

    assert(l->pg != NULL);
    *out = NULL;
    snprintf(keytext, sizeof(keytext), "%" PRId64, l->key);
    if (!PQsendQueryParams(l->pg, sql, n_params, NULL, n_params > 0 ? params : NULL, NULL, NULL,
                           0)) {
        first_line(line, sizeof(line), PQerrorMessage(l->pg));
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "leader election: %s: %s", what, line);
        pg_lost(l, line);
        return error;
    }
    rc = chan_store__pg_await(l->pg, &res, chan_store__pg_now_ms() + l->reply_timeout_ms,
                              l->abort_fd, err);
    if (rc < 0) {
        pg_lost(l, "poll failed");
        return rc;
    }
    if (rc == CHAN_STORE__PG_DEADLINE || rc == CHAN_STORE__PG_ABORTED) {
        if (PQtransactionStatus(l->pg) == PQTRANS_ACTIVE)
            chan_store__pg_cancel_async(l->pg);
        if (rc == CHAN_STORE__PG_ABORTED) {
            error = chan_store__set_reason(err, CHAN_EUNAVAILABLE, CHAN_STORE_R_TIMEOUT,
                                           "leader election: %s abandoned: the store is "
                                           "shutting down",
                                           what);
            pg_lost(l, "the store is shutting down");
        } else {
            error = chan_store__set_reason(err, CHAN_EUNAVAILABLE, CHAN_STORE_R_TIMEOUT,
                                           "leader election: no reply to %s within %u ms; the "
                                           "statement was cancelled and the connection closed",
                                           what, l->reply_timeout_ms);
            pg_lost(l, "no reply in time");
        }
        return error;
    }
    if (rc == CHAN_STORE__PG_FAILED || PQresultStatus(res) != PGRES_TUPLES_OK ||
        PQntuples(res) != 1) {
        first_line(line, sizeof(line),
                   rc == CHAN_STORE__PG_FAILED || PQresultErrorMessage(res)[0] == '\0'
                       ? PQerrorMessage(l->pg)
                       : PQresultErrorMessage(res));
        PQclear(res);
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "leader election: %s: %s", what, line);
        pg_lost(l, line);
        return error;
    }
    *out = res;
    return 0;
}

static int pg_check(chan_leader *l, chan_error *err)
{
    chan_error check = CHAN_ERROR_INIT;
    PGresult *res = NULL;
    int error = 0;

    if (l->pg != NULL && l->held) {
        if ((error = pg_run(l, "SELECT 1", "SELECT 1", &res, &check)) == 0) {
            PQclear(res);
            return 0;
        }
        /* The server does not answer: a new connection would wait as long. */
        if (chan_store_error_reason(&check) == CHAN_STORE_R_TIMEOUT) {
            if (err != NULL)
                *err = check;
            return error;
        }
        /* The session is gone (pg_run closed it): compete again on a new one. */
    }
    if (l->pg != NULL && PQstatus(l->pg) != CONNECTION_OK)
        pg_lost(l, "connection broken");
    if (l->pg == NULL && (error = pg_connect(l, err)) < 0)
        return error;
    if ((error = pg_run(l, "SELECT pg_try_advisory_lock($1::bigint)", "pg_try_advisory_lock", &res,
                        err)) < 0)
        return error;
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        l->held = true;
        chan_log(CHAN_LOG_INFO, MODULE, "leadership acquired name=%s kind=postgres key=%" PRId64,
                 l->name, l->key);
    }
    PQclear(res);
    return 0;
}

/* ------------------------------------------------------------------ */
/* flock                                                                */
/* ------------------------------------------------------------------ */

/* True when the lock file at the path is still the file fd has open. */
static bool lock_file_current(const chan_leader *l)
{
    struct stat a, b;

    return fstat(l->fd, &a) == 0 && stat(l->target, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

static int flock_check(chan_leader *l, chan_error *err)
{
    char pid[32];
    int n;

    if (l->held) {
        if (lock_file_current(l))
            return 0;
        chan_log(CHAN_LOG_WARN, MODULE,
                 "leadership lost name=%s kind=flock reason=\"lock file %s removed or replaced\"",
                 l->name, l->target);
        chan_leader_release(l);
    }
    if (l->fd < 0) {
        l->fd = open(l->target, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (l->fd < 0)
            return chan_error_set(err, CHAN_EIO, "leader election: cannot open %s: %s", l->target,
                                  strerror(errno));
    }
    if (flock(l->fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;

        if (e == EWOULDBLOCK || e == EINTR)
            return 0;
        close(l->fd);
        l->fd = -1;
        return chan_error_set(err, CHAN_EIO, "leader election: cannot lock %s: %s", l->target,
                              strerror(e));
    }
    if (!lock_file_current(l)) {
        /* Removed between open and flock: try again on the next check. */
        (void)flock(l->fd, LOCK_UN);
        close(l->fd);
        l->fd = -1;
        return 0;
    }
    l->held = true;
    n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(l->fd, 0) < 0 || pwrite(l->fd, pid, (size_t)n, 0) != n)
        chan_log(CHAN_LOG_DEBUG, MODULE, "cannot write the pid to %s: %s", l->target,
                 strerror(errno));
    chan_log(CHAN_LOG_INFO, MODULE, "leadership acquired name=%s kind=flock file=%s", l->name,
             l->target);
    return 0;
}

int chan_leader_check(chan_leader *l, bool *out_leader, chan_error *err)
{
    int error = 0;

    assert(l != NULL && out_leader != NULL);
    *out_leader = false;
    switch (l->kind) {
    case CHAN_LEADER_MEMORY:
        l->held = true;
        break;
    case CHAN_LEADER_FLOCK:
        error = flock_check(l, err);
        break;
    case CHAN_LEADER_POSTGRES:
        error = pg_check(l, err);
        break;
    }
    if (error < 0)
        l->held = false;
    *out_leader = l->held;
    return error;
}
