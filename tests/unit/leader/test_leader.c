/*
 * test_leader.c - leader election among daemons sharing a store
 * (chan/leader.h).
 *
 * Without arguments: the flock election on a temporary SQLite path (two
 * elections in one process compete like two daemons, because flock locks
 * belong to open files), in-memory stores, bad input and the key.  With
 * "@FILE" (a file holding a PostgreSQL URL) or a URL: the advisory lock
 * election on that database, also with a hung server (the lock's backend or
 * the postmaster SIGSTOPped; the server must run on this host, as the test
 * server of tests/support/pg_test_server.sh does).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "chan/common.h"
#include "chan/leader.h"
#include "chan/store.h"

static char pg_url[1024];
static char tmp_dir[256];

static char *db_url(void)
{
    return chan_xasprintf("sqlite:%s/registry.db", tmp_dir);
}

static bool check(chan_leader *l)
{
    chan_error err = CHAN_ERROR_INIT;
    bool leader = true;

    assert_int_equal(chan_leader_check(l, &leader, &err), 0);
    assert_int_equal(leader, chan_leader_is_leader(l));
    return leader;
}

static void test_key_is_stable_and_per_name(void **state)
{
    (void)state;
    assert_true(chan_leader_key("acl-reconciler") == chan_leader_key("acl-reconciler"));
    assert_true(chan_leader_key("acl-reconciler") != chan_leader_key("acl-reconciler2"));
    assert_true(chan_leader_key("a") != chan_leader_key("b"));
}

static void test_bad_input(void **state)
{
    static const char *const bad_urls[] = {"", "mysql://x/y", "postgres:host=x port", "sqlite:"};
    chan_error err = CHAN_ERROR_INIT;
    chan_leader *l = (chan_leader *)1;
    char long_name[200];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        assert_int_equal(chan_leader_new(&l, bad_urls[i], "x", &err), CHAN_EINVALID);
        assert_null(l);
    }
    assert_int_equal(chan_leader_new(&l, NULL, "x", &err), CHAN_EINVALID);
    assert_int_equal(chan_leader_new(&l, "sqlite::memory:", "", &err), CHAN_EINVALID);
    assert_int_equal(chan_leader_new(&l, "sqlite::memory:", "two words", &err), CHAN_EINVALID);
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_int_equal(chan_leader_new(&l, "sqlite::memory:", long_name, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "printable"));
    chan_leader_free(NULL);
    chan_leader_release(NULL);
}

static void test_memory_store_is_always_leader(void **state)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_leader *a = NULL, *b = NULL;

    (void)state;
    assert_int_equal(chan_leader_new(&a, "sqlite::memory:", "x", &err), 0);
    assert_int_equal(chan_leader_new(&b, ":memory:", "x", &err), 0);
    assert_int_equal(chan_leader_get_kind(a), CHAN_LEADER_MEMORY);
    assert_false(chan_leader_is_leader(a));
    assert_true(check(a));
    assert_true(check(b));
    chan_leader_free(a);
    chan_leader_free(b);
}

static void test_flock_one_holder_at_a_time(void **state)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_leader *a = NULL, *b = NULL, *other = NULL;
    char *url = db_url(), *path = chan_xasprintf("%s/registry.db.leader", tmp_dir), *text = NULL;
    char pid[32];

    (void)state;
    assert_int_equal(chan_leader_new(&a, url, "acl-reconciler", &err), 0);
    assert_int_equal(chan_leader_new(&b, url + 7, "acl-reconciler", &err), 0); /* plain path */
    assert_int_equal(chan_leader_new(&other, url, "something-else", &err), 0);
    assert_int_equal(chan_leader_get_kind(a), CHAN_LEADER_FLOCK);
    assert_string_equal(chan_leader_target(a), path);

    assert_true(check(a));
    assert_false(check(b));
    assert_true(check(a)); /* still held, idempotent */
    assert_false(check(b));
    /* The lock file holds the holder's pid. */
    assert_int_equal(chan_file_read(&text, NULL, path, 64, &err), 0);
    snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    assert_string_equal(text, pid);
    free(text);
    /* One lock file per store, whatever the name: the same file is contended. */
    assert_false(check(other));

    /* Giving up lets the other take over; the first then competes and loses. */
    chan_leader_release(a);
    assert_false(chan_leader_is_leader(a));
    assert_true(check(b));
    assert_false(check(a));

    /* A removed lock file is noticed: the holder locks a new one. */
    assert_int_equal(unlink(path), 0);
    assert_true(check(b));
    assert_int_equal(access(path, F_OK), 0);
    assert_false(check(a));

    /* Freeing releases. */
    chan_leader_free(b);
    assert_true(check(a));
    chan_leader_free(a);
    chan_leader_free(other);
    unlink(path);
    free(path);
    free(url);
}

static void test_flock_unopenable_path(void **state)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_leader *l = NULL;
    bool leader = true;
    char *url = chan_xasprintf("sqlite:%s/no/such/dir/x.db", tmp_dir);

    (void)state;
    assert_int_equal(chan_leader_new(&l, url, "x", &err), 0);
    assert_int_equal(chan_leader_check(l, &leader, &err), CHAN_EIO);
    assert_false(leader);
    assert_non_null(strstr(err.message, "cannot open"));
    chan_leader_free(l);
    free(url);
}

/* ------------------------------------------------------------------ */
/* PostgreSQL                                                           */
/* ------------------------------------------------------------------ */

static void test_pg_one_holder_at_a_time(void **state)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_leader *a = NULL, *b = NULL, *other = NULL;
    char *target;

    (void)state;
    assert_int_equal(chan_leader_new(&a, pg_url, "acl-reconciler", &err), 0);
    assert_int_equal(chan_leader_new(&b, pg_url, "acl-reconciler", &err), 0);
    assert_int_equal(chan_leader_new(&other, pg_url, "another-job", &err), 0);
    assert_int_equal(chan_leader_get_kind(a), CHAN_LEADER_POSTGRES);
    target = chan_xasprintf("advisory lock %lld", (long long)chan_leader_key("acl-reconciler"));
    assert_string_equal(chan_leader_target(a), target);
    free(target);

    assert_true(check(a));
    assert_false(check(b));
    assert_true(check(a));
    /* Another name is another lock. */
    assert_true(check(other));

    chan_leader_release(a);
    assert_true(check(b));
    assert_false(check(a));
    chan_leader_free(b); /* closing the session releases the lock... */
    /* ...once the server has ended that backend, which PQfinish does not wait for. */
    {
        int tries = 0;

        while (!check(a) && ++tries < 100)
            usleep(50 * 1000);
        assert_true(tries < 100);
    }
    chan_leader_free(a);
    chan_leader_free(other);
}

static void test_pg_unreachable(void **state)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_leader *l = NULL;
    bool leader = true;

    (void)state;
    /* Port 1 on loopback: refused at once. */
    assert_int_equal(chan_leader_new(&l, "postgresql://nobody@127.0.0.1:1/x", "x", &err), 0);
    assert_int_equal(chan_leader_check(l, &leader, &err), CHAN_EUNAVAILABLE);
    assert_false(leader);
    assert_non_null(strstr(err.message, "cannot connect"));
    chan_leader_free(l);
}

/* Processes of the server this test stopped (SIGSTOP), resumed by resume_all. */
static pid_t stopped[4];
static int n_stopped;

static void stop_process(pid_t pid)
{
    assert_true(n_stopped < (int)CHAN_ARRAY_SIZE(stopped));
    assert_int_equal(kill(pid, SIGSTOP), 0);
    stopped[n_stopped++] = pid;
}

/* SIGCONT what the test stopped; also the teardown of every hang test. */
static int resume_all(void **state)
{
    (void)state;
    while (n_stopped > 0)
        (void)kill(stopped[--n_stopped], SIGCONT);
    return 0;
}

/* A store on the test database whose deadlines are reply_ms (and connect_ms). */
static chan_store *open_store(unsigned int connect_ms, unsigned int reply_ms)
{
    chan_store_options opts = CHAN_STORE_OPTIONS_INIT;
    chan_error err = CHAN_ERROR_INIT;
    chan_store *store = NULL;

    opts.pool_size = 1;
    opts.no_read_cache = true;
    opts.connect_timeout_ms = connect_ms;
    opts.reply_timeout_ms = reply_ms;
    if (chan_store_open(&store, pg_url, &opts, &err) != 0)
        fail_msg("cannot open the store: %s", err.message);
    return store;
}

/* The pid of the backend holding the advisory lock of election `name`, 0 when none. */
static pid_t lock_holder(const char *name)
{
    int64_t key = chan_leader_key(name);
    uint64_t u = (uint64_t)key;
    char hi[16], lo[16];
    const char *params[2] = {hi, lo};
    PGconn *pg = PQconnectdb(pg_url);
    PGresult *res;
    pid_t pid = 0;

    assert_int_equal(PQstatus(pg), CONNECTION_OK);
    /* A bigint key is classid (high 32 bits) and objid (low 32 bits), objsubid 1. */
    snprintf(hi, sizeof(hi), "%u", (unsigned int)(u >> 32));
    snprintf(lo, sizeof(lo), "%u", (unsigned int)(u & 0xffffffffu));
    res = PQexecParams(pg,
                       "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                       "AND classid = $1::oid AND objid = $2::oid AND objsubid = 1",
                       2, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    if (PQntuples(res) == 1)
        pid = (pid_t)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    PQfinish(pg);
    return pid;
}

/* The parent of pid (a backend's parent is the postmaster), from /proc. */
static pid_t parent_of(pid_t pid)
{
    char path[64], buf[512];
    const char *after;
    FILE *f;
    size_t n;
    long ppid = 0;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* pid (comm) state ppid ...: comm may hold spaces. */
    after = strrchr(buf, ')');
    assert_non_null(after);
    assert_int_equal(sscanf(after + 1, " %*c %ld", &ppid), 1);
    return (pid_t)ppid;
}

/* Check l until it leads: at most 200 checks 50 ms apart; false when it never did. */
static bool check_until_leader(chan_leader *l)
{
    for (int tries = 0; tries < 200; tries++) {
        chan_error err = CHAN_ERROR_INIT;
        bool leader = false;

        if (chan_leader_check(l, &leader, &err) == 0 && leader)
            return true;
        usleep(50 * 1000);
    }
    return false;
}

/*
** The lock's backend stops answering (SIGSTOP): the check ends at the
** store's reply deadline with the store's timeout error and leadership is
** given up; a new session cannot take the lock while the old one lives,
** and once the server runs again the old session ends and the lock is
** acquired again.
*/
static void test_pg_hung_backend_deadline(void **state)
{
    chan_store *store = open_store(2000, 300);
    chan_error err = CHAN_ERROR_INIT;
    chan_leader *l = NULL;
    bool leader = true;
    pid_t holder;
    int rc;

    (void)state;
    assert_int_equal(chan_leader_new(&l, pg_url, "hung-backend", &err), 0);
    chan_leader_use_store(l, store);
    assert_true(check(l));
    holder = lock_holder("hung-backend");
    assert_true(holder > 0);

    stop_process(holder);
    rc = chan_leader_check(l, &leader, &err);
    assert_int_equal(rc, CHAN_EUNAVAILABLE);
    assert_int_equal(chan_store_error_reason(&err), CHAN_STORE_R_TIMEOUT);
    if (strstr(err.message, "no reply to SELECT 1 within 300 ms") == NULL)
        fail_msg("unexpected error: %s", err.message);
    assert_false(leader);
    assert_false(chan_leader_is_leader(l));
    /* A new session; the stopped one still holds the lock. */
    assert_false(check(l));

    resume_all(NULL);
    assert_true(check_until_leader(l));
    chan_leader_free(l);
    chan_store_free(store);
}

/* The postmaster stops: opening the lock's connection ends at the connect deadline. */
static void test_pg_hung_server_connect_deadline(void **state)
{
    chan_store *store = open_store(500, 300);
    chan_error err = CHAN_ERROR_INIT;
    chan_leader *l = NULL;
    bool leader = true;
    pid_t holder;
    int rc;

    (void)state;
    assert_int_equal(chan_leader_new(&l, pg_url, "hung-server", &err), 0);
    chan_leader_use_store(l, store);
    assert_true(check(l));
    holder = lock_holder("hung-server");
    assert_true(holder > 0);
    chan_leader_release(l);
    /* The postmaster: it accepts TCP connections (the kernel does) but answers nothing. */
    stop_process(parent_of(holder));
    rc = chan_leader_check(l, &leader, &err);
    assert_int_equal(rc, CHAN_EUNAVAILABLE);
    assert_int_equal(chan_store_error_reason(&err), CHAN_STORE_R_TIMEOUT);
    if (strstr(err.message, "cannot connect: no answer within 500 ms") == NULL)
        fail_msg("unexpected error: %s", err.message);
    assert_false(leader);

    resume_all(NULL);
    assert_true(check_until_leader(l));
    chan_leader_free(l);
    chan_store_free(store);
}

/*
** chan_store_abort ends the election's wait for a hung server at once (the
** store's deadlines are far away), and freeing the election then does not
** wait either: the lock goes with the closed session.
*/
static void test_pg_store_abort_ends_wait(void **state)
{
    chan_store *store = open_store(600000, 600000);
    chan_error err = CHAN_ERROR_INIT;
    chan_leader *l = NULL, *next = NULL;
    bool leader = true;
    pid_t holder;
    int rc;

    (void)state;
    assert_int_equal(chan_leader_new(&l, pg_url, "hung-abort", &err), 0);
    chan_leader_use_store(l, store);
    assert_true(check(l));
    holder = lock_holder("hung-abort");
    assert_true(holder > 0);

    stop_process(holder);
    chan_store_abort(store);
    rc = chan_leader_check(l, &leader, &err);
    assert_int_equal(rc, CHAN_EUNAVAILABLE);
    assert_int_equal(chan_store_error_reason(&err), CHAN_STORE_R_TIMEOUT);
    if (strstr(err.message, "shutting down") == NULL)
        fail_msg("unexpected error: %s", err.message);
    assert_false(leader);
    /* Aborted: no wait for a connection either. */
    rc = chan_leader_check(l, &leader, &err);
    assert_int_equal(rc, CHAN_EUNAVAILABLE);
    assert_int_equal(chan_store_error_reason(&err), CHAN_STORE_R_TIMEOUT);
    chan_leader_free(l);

    resume_all(NULL);
    assert_int_equal(chan_leader_new(&next, pg_url, "hung-abort", &err), 0);
    assert_true(check_until_leader(next));
    chan_leader_free(next);
    chan_store_free(store);
}

static int make_tmp(void **state)
{
    (void)state;
    snprintf(tmp_dir, sizeof(tmp_dir), "%s/chanreg-leader-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp(void **state)
{
    char *db = chan_xasprintf("%s/registry.db.leader", tmp_dir);

    (void)state;
    unlink(db);
    free(db);
    return rmdir(tmp_dir);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest local[] = {
        cmocka_unit_test(test_key_is_stable_and_per_name),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_memory_store_is_always_leader),
        cmocka_unit_test(test_flock_one_holder_at_a_time),
        cmocka_unit_test(test_flock_unopenable_path),
        cmocka_unit_test(test_pg_unreachable),
    };
    const struct CMUnitTest pg[] = {
        cmocka_unit_test(test_pg_one_holder_at_a_time),
        cmocka_unit_test_teardown(test_pg_hung_backend_deadline, resume_all),
        cmocka_unit_test_teardown(test_pg_hung_server_connect_deadline, resume_all),
        cmocka_unit_test_teardown(test_pg_store_abort_ends_wait, resume_all),
    };

    chan_log_set_level(CHAN_LOG_OFF);
    if (argc > 1) {
        if (argv[1][0] == '@') {
            char *text = NULL;
            chan_error err = CHAN_ERROR_INIT;

            if (chan_file_read(&text, NULL, argv[1] + 1, sizeof(pg_url) - 1, &err) < 0) {
                fprintf(stderr, "test_leader: %s\n", err.message);
                return 1;
            }
            text[strcspn(text, "\r\n")] = '\0';
            snprintf(pg_url, sizeof(pg_url), "%s", text);
            free(text);
        } else {
            snprintf(pg_url, sizeof(pg_url), "%s", argv[1]);
        }
        return cmocka_run_group_tests_name("leader.postgres", pg, NULL, NULL);
    }
    return cmocka_run_group_tests_name("leader", local, make_tmp, remove_tmp);
}
