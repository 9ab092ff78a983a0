/*
 * test_leader.c - leader election among daemons sharing a store
 * (chan/leader.h).
 *
 * Without arguments: the flock election on a temporary SQLite path (two
 * elections in one process compete like two daemons, because flock locks
 * belong to open files), in-memory stores, bad input and the key.  With
 * "@FILE" (a file holding a PostgreSQL URL) or a URL: the advisory lock
 * election on that database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "chan/common.h"
#include "chan/leader.h"

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
