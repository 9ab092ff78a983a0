/*
 * test_store.c - the conformance suite of chan_store.
 *
 * One program, run against every backend: the first argument is the URL of
 * the store under test, the next two the URLs of two empty scratch
 * databases for the migration tests.  An argument may be
 *   - a URL ("sqlite:...", "postgresql://..."),
 *   - "@FILE" to read the URL from FILE (written by
 *     tests/support/pg_test_server.sh), or
 *   - "temp-sqlite" for a new SQLite file in a temporary directory that the
 *     program removes at exit.
 * Every test uses names made unique by a per-run prefix, so tests never see
 * each other's subjects or channels even on a shared database.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "chan/authz.h"
#include "chan/common.h"
#include "chan/store.h"

static char *g_url;        /* store under test */
static char *g_scratch[2]; /* empty databases for the migration tests */
static char *g_tmpdir;     /* for "temp-sqlite", removed at exit */
static chan_store *g_store;
static char g_run[32]; /* unique prefix of this run's names */
static int g_seq;

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A name unique to this run and call: "<run>-<n>-<what>".  Static buffer ring. */
static const char *uniq(const char *what)
{
    static char bufs[16][256];
    static int next;
    char *b = bufs[next++ % 16];

    snprintf(b, sizeof(bufs[0]), "%s-%d-%s", g_run, ++g_seq, what);
    return b;
}

static bool is_memory(const char *url)
{
    return strcmp(url, "sqlite::memory:") == 0;
}

/* Number of audit entries whose object starts with prefix. */
static size_t audit_count(const char *prefix)
{
    chan_audit_entry **list = NULL;
    size_t n = 0;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_store_audit_list(g_store, &list, &n, 0, 0, prefix, &err), 0);
    chan_audit_entry_list_free(list, n);
    return n;
}

/* The last audit entry with that prefix (caller frees with list_free(…, 1)). */
static chan_audit_entry **audit_last(const char *prefix)
{
    chan_audit_entry **list = NULL, **last;
    size_t n = 0;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_store_audit_list(g_store, &list, &n, 0, 0, prefix, &err), 0);
    assert_true(n > 0);
    last = chan_xcalloc(1, sizeof(*last));
    last[0] = list[n - 1];
    list[n - 1] = NULL;
    chan_audit_entry_list_free(list, n);
    return last;
}

static int64_t max_audit_id(void)
{
    chan_audit_entry **list = NULL;
    size_t n = 0;
    int64_t id = 0;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_store_audit_list(g_store, &list, &n, 0, 0, NULL, &err), 0);
    for (size_t i = 0; i < n; i++)
        if (list[i]->id > id)
            id = list[i]->id;
    chan_audit_entry_list_free(list, n);
    return id;
}

static char *schema_text(const char *name, int variant)
{
    return chan_xasprintf("{\"type\":\"record\",\"name\":\"%s\",\"fields\":[{\"name\":\"f%d\","
                          "\"type\":\"long\"}]}",
                          name, variant);
}

/* Register text in subject; asserts success; returns the version. */
static chan_schema_version *reg(const char *subject, const char *text, bool *created)
{
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;
    chan_error err = CHAN_ERROR_INIT;

    req.subject = subject;
    req.schema = text;
    req.actor = "tester";
    if (chan_store_schema_register(g_store, &v, created, &req, &err) != 0)
        fail_msg("register %s: %s", subject, err.message);
    assert_non_null(v);
    return v;
}

static int reg_err(const char *subject, const char *text, chan_error *err)
{
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;
    int rc;

    req.subject = subject;
    req.schema = text;
    req.actor = "tester";
    rc = chan_store_schema_register(g_store, &v, NULL, &req, err);
    if (rc < 0)
        assert_null(v);
    chan_schema_version_free(v);
    return rc;
}

/* Versions of subject as "1,2,3" (include_deleted as given); "" when none. */
static char *versions_str(const char *subject, bool include_deleted)
{
    int *vs = NULL;
    size_t n = 0;
    chan_buf b = CHAN_BUF_INIT;
    chan_error err = CHAN_ERROR_INIT;

    if (chan_store_subject_versions(g_store, &vs, &n, subject, include_deleted, &err) == 0)
        for (size_t i = 0; i < n; i++)
            chan_buf_printf(&b, "%s%d", i ? "," : "", vs[i]);
    free(vs);
    return chan_buf_take(&b);
}

static void expect_reason(int rc, int code, int reason, const chan_error *err)
{
    if (rc != code || chan_store_error_reason(err) != reason)
        fail_msg("expected %d/%d, got %d/%d (%s)", code, reason, rc, chan_store_error_reason(err),
                 err->message);
}

/* A new temporary directory under $TMPDIR (default /tmp); caller frees. */
static char *make_tmpdir(const char *what)
{
    const char *base = getenv("TMPDIR");
    char *dir =
        chan_xasprintf("%s/%s.XXXXXX", base != NULL && base[0] != '\0' ? base : "/tmp", what);

    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    return dir;
}

static void rm_rf(const char *path)
{
    char *cmd = chan_xasprintf("rm -rf '%s'", path);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", path);
    free(cmd);
}

/* Number of migration files of the backend in the source tree. */
static int source_migration_count(const char *backend)
{
    char *cmd = chan_xasprintf("ls '%s/%s' | grep -c '^[0-9][0-9][0-9][0-9]_.*\\.sql$'",
                               CHAN_TEST_MIGRATIONS_DIR, backend);
    FILE *p = popen(cmd, "r");
    int n = -1;

    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    free(cmd);
    return n;
}

/* ------------------------------------------------------------------ */
/* Opening, migrations                                                 */
/* ------------------------------------------------------------------ */

static void test_open_rejects_bad_urls(void **state)
{
    chan_store *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_store_options bad_version = CHAN_STORE_OPTIONS_INIT;
    char *path;

    assert_int_equal(chan_store_open(&s, "", NULL, &err), CHAN_EINVALID);
    assert_null(s);
    assert_int_equal(chan_store_open(&s, NULL, NULL, &err), CHAN_EINVALID);
    assert_int_equal(chan_store_open(&s, "mysql://localhost/x", NULL, &err), CHAN_EINVALID);
    assert_int_equal(chan_store_open(&s, "sqlite:", NULL, &err), CHAN_EINVALID);
    assert_int_equal(chan_store_open(&s, "postgres:host='unterminated", NULL, &err), CHAN_EINVALID);
    assert_null(s);
    bad_version.version = 99;
    assert_int_equal(chan_store_open(&s, "sqlite::memory:", &bad_version, &err), CHAN_EINVALID);
    path =
        chan_xasprintf("sqlite:%s/no/such/dir/x.db", g_tmpdir != NULL ? g_tmpdir : "/nonexistent");
    assert_int_equal(chan_store_open(&s, path, NULL, &err), CHAN_EIO);
    assert_null(s);
    free(path);
    /* Nothing listens on port 1 of the loopback interface. */
    assert_int_equal(
        chan_store_open(&s, "postgresql://nobody@127.0.0.1:1/x?connect_timeout=2", NULL, &err),
        CHAN_EUNAVAILABLE);
    assert_null(s);
}

static void test_open_plain_path_is_sqlite(void **state)
{
    chan_store *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *path;
    int n = 0;

    if (g_tmpdir == NULL)
        skip();
    path = chan_xasprintf("%s/plain.db", g_tmpdir);
    assert_int_equal(chan_store_open(&s, path, NULL, &err), 0);
    assert_string_equal(chan_store_backend_name(s), "sqlite");
    assert_int_equal(chan_store_migration_count(s, &n, &err), 0);
    assert_int_equal(n, source_migration_count("sqlite"));
    chan_store_free(s);
    assert_int_equal(access(path, F_OK), 0);
    free(path);
}

static void test_open_memory_store(void **state)
{
    chan_store *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;
    char *text = NULL;

    assert_int_equal(chan_store_open(&s, "sqlite::memory:", NULL, &err), 0);
    assert_string_equal(chan_store_backend_name(s), "sqlite");
    req.subject = "mem";
    req.schema = "\"string\"";
    assert_int_equal(chan_store_schema_register(s, &v, NULL, &req, &err), 0);
    assert_int_equal(v->version, 1);
    assert_int_equal(chan_store_schema_by_id(s, &text, NULL, v->id, &err), 0);
    assert_string_equal(text, "\"string\"");
    free(text);
    chan_schema_version_free(v);
    chan_store_free(s);
}

/* The id cache keeps its entry bound (it starts over when full) and can be
 * disabled: lookups by id give the registered text either way. */
static void test_schema_by_id_cache_bounds(void **state)
{
    static const size_t sizes[] = {0, 1, 3};
    chan_error err = CHAN_ERROR_INIT;

    for (size_t k = 0; k < CHAN_ARRAY_SIZE(sizes); k++) {
        chan_store_options opts = CHAN_STORE_OPTIONS_INIT;
        chan_store *s = NULL;
        int64_t ids[8];
        char *texts[8];

        opts.schema_cache_entries = sizes[k];
        assert_int_equal(chan_store_open(&s, "sqlite::memory:", &opts, &err), 0);
        for (size_t i = 0; i < CHAN_ARRAY_SIZE(ids); i++) {
            chan_schema_register_request req = {0};
            chan_schema_version *v = NULL;

            texts[i] = schema_text("Bound", (int)i);
            req.subject = "bound";
            req.schema = texts[i];
            assert_int_equal(chan_store_schema_register(s, &v, NULL, &req, &err), 0);
            ids[i] = v->id;
            chan_schema_version_free(v);
        }
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < CHAN_ARRAY_SIZE(ids); i++) {
                char *text = NULL, *type = NULL;
                assert_int_equal(chan_store_schema_by_id(s, &text, &type, ids[i], &err), 0);
                assert_string_equal(text, texts[i]);
                assert_string_equal(type, "AVRO");
                free(text);
                free(type);
            }
        for (size_t i = 0; i < CHAN_ARRAY_SIZE(ids); i++)
            free(texts[i]);
        chan_store_free(s);
    }
}

static void test_migrations_recorded_and_reopen_is_noop(void **state)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_store *again = NULL;
    int count = 0, count2 = 0;
    int64_t audit_before;

    assert_int_equal(chan_store_ping(g_store, &err), 0);
    assert_int_equal(chan_store_migration_count(g_store, &count, &err), 0);
    assert_int_equal(count, source_migration_count(chan_store_backend_name(g_store)));
    assert_true(count >= 1);
    if (is_memory(g_url))
        skip();
    audit_before = max_audit_id();
    assert_int_equal(chan_store_open(&again, g_url, NULL, &err), 0);
    assert_int_equal(chan_store_migration_count(again, &count2, &err), 0);
    assert_int_equal(count2, count);
    chan_store_free(again);
    assert_int_equal(max_audit_id(), audit_before);

    /* read_only open of an up-to-date database works. */
    {
        chan_store_options ro = CHAN_STORE_OPTIONS_INIT;
        ro.read_only = true;
        assert_int_equal(chan_store_open(&again, g_url, &ro, &err), 0);
        chan_store_free(again);
    }
}

/*
 * PostgreSQL: kill every other session of the database (as a server restart
 * would) and check that the pool reconnects without the callers noticing.
 */
static void test_reconnects_after_connection_loss(void **state)
{
    const char *subject = uniq("reconnect-value");
    chan_schema_version *v;
    chan_error err = CHAN_ERROR_INIT;
    char *cmd, *text = NULL;

    if (strcmp(chan_store_backend_name(g_store), "postgres") != 0 ||
        system("command -v psql >/dev/null 2>&1") != 0)
        skip();
    v = reg(subject, "\"bytes\"", NULL);
    /* Use every pooled connection so that each one is connected. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(chan_store_ping(g_store, &err), 0);
    cmd = chan_xasprintf("psql -q -X -d '%s' -c \"SELECT pg_terminate_backend(pid) FROM "
                         "pg_stat_activity WHERE datname = current_database() AND "
                         "pid <> pg_backend_pid()\" >/dev/null",
                         g_url);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    /* Reads outside a transaction and inside one, then a write. */
    for (int i = 0; i < 20; i++) {
        chan_schema_version *got = NULL;
        int *vs = NULL;
        size_t n = 0;
        if (chan_store_subject_versions(g_store, &vs, &n, subject, false, &err) != 0)
            fail_msg("versions %d after connection loss: %s", i, err.message);
        assert_int_equal(n, 1);
        free(vs);
        if (chan_store_version_get(g_store, &got, subject, 1, false, &err) != 0)
            fail_msg("version %d after connection loss: %s", i, err.message);
        assert_string_equal(got->schema, "\"bytes\"");
        chan_schema_version_free(got);
    }
    assert_int_equal(chan_store_schema_by_id(g_store, &text, NULL, v->id, &err), 0);
    assert_string_equal(text, "\"bytes\"");
    free(text);
    for (int i = 0; i < 10; i++)
        assert_int_equal(chan_store_ping(g_store, &err), 0);
    chan_schema_version_free(v);
    v = reg(subject, "\"string\"", NULL);
    assert_int_equal(v->version, 2);
    chan_schema_version_free(v);
}

/* Copy the source migrations of backend into dir/<backend>/ (created). */
static void copy_migrations(const char *dir, const char *backend)
{
    char *cmd = chan_xasprintf("mkdir -p '%s/%s' && cp '%s/%s'/*.sql '%s/%s/'", dir, backend,
                               CHAN_TEST_MIGRATIONS_DIR, backend, dir, backend);
    assert_int_equal(system(cmd), 0);
    free(cmd);
}

static void write_file(const char *path, const char *text, bool append)
{
    FILE *f = fopen(path, append ? "a" : "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_migrations_dir_checksum_and_pending(void **state)
{
    const char *backend = chan_store_backend_name(g_store);
    chan_store_options opts = CHAN_STORE_OPTIONS_INIT;
    chan_error err = CHAN_ERROR_INIT;
    chan_store *s = NULL;
    char *dir = make_tmpdir("chan-migr");
    char *file = NULL, *first = NULL;
    int n = 0, base = source_migration_count(backend);

    copy_migrations(dir, backend);
    opts.migrations_dir = dir;

    /* read_only on an empty database: pending migrations are an error. */
    opts.read_only = true;
    assert_int_not_equal(chan_store_open(&s, g_scratch[0], &opts, &err), 0);
    assert_null(s);
    opts.read_only = false;

    /* From disk: same files, same checksums as the built-in ones. */
    assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), 0);
    assert_int_equal(chan_store_migration_count(s, &n, &err), 0);
    assert_int_equal(n, base);
    chan_store_free(s);
    assert_int_equal(chan_store_open(&s, g_scratch[0], NULL, &err), 0);
    chan_store_free(s);

    /* A new migration on disk is applied once, in order. */
    file = chan_xasprintf("%s/%s/9000_probe.sql", dir, backend);
    write_file(file, "CREATE TABLE probe (a INTEGER);\nINSERT INTO probe (a) VALUES (7);\n", false);
    opts.read_only = true;
    assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), CHAN_ECONFLICT);
    opts.read_only = false;
    assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), 0);
    assert_int_equal(chan_store_migration_count(s, &n, &err), 0);
    assert_int_equal(n, base + 1);
    chan_store_free(s);
    assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), 0);
    assert_int_equal(chan_store_migration_count(s, &n, &err), 0);
    assert_int_equal(n, base + 1);
    chan_store_free(s);

    /* The built-in set does not know 9000: refuse rather than guess. */
    assert_int_equal(chan_store_open(&s, g_scratch[0], NULL, &err), CHAN_EINTERNAL);
    assert_null(s);

    /* Editing an applied migration is detected by its checksum. */
    first = chan_xasprintf("%s/%s/0001_initial.sql", dir, backend);
    write_file(first, "-- edited\n", true);
    assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), CHAN_EINTERNAL);
    assert_non_null(strstr(err.message, "0001_initial"));
    assert_null(s);

    /* A failing migration leaves nothing behind: not recorded, retried. */
    write_file(file, "", false);
    {
        char *bad = chan_xasprintf("%s/%s/9001_broken.sql", dir, backend);
        char *good = chan_xasprintf("%s/%s", dir, backend);
        char *cmd = chan_xasprintf("cp '%s/%s/0001_initial.sql' '%s/'", CHAN_TEST_MIGRATIONS_DIR,
                                   backend, good);
        assert_int_equal(system(cmd), 0);
        write_file(file, "CREATE TABLE probe (a INTEGER);\nINSERT INTO probe (a) VALUES (7);\n",
                   false);
        write_file(bad, "CREATE TABLE half (a INTEGER);\nTHIS IS NOT SQL;\n", false);
        assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), CHAN_EINTERNAL);
        assert_non_null(strstr(err.message, "9001_broken"));
        write_file(bad, "CREATE TABLE half (a INTEGER);\n", false);
        /* "half" was rolled back, so creating it again works. */
        assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), 0);
        assert_int_equal(chan_store_migration_count(s, &n, &err), 0);
        assert_int_equal(n, base + 2);
        chan_store_free(s);
        free(cmd);
        free(good);
        free(bad);
    }

    /* Two files with one number, a badly named file, a missing directory. */
    {
        char *twin = chan_xasprintf("%s/%s/0001_twin.sql", dir, backend);
        char *odd = chan_xasprintf("%s/%s/1_x.sql", dir, backend);
        char *missing = chan_xasprintf("%s/none", dir);
        write_file(twin, "SELECT 1;", false);
        assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), CHAN_EINVALID);
        assert_int_equal(unlink(twin), 0);
        write_file(odd, "SELECT 1;", false);
        assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), CHAN_EINVALID);
        opts.migrations_dir = missing;
        assert_int_equal(chan_store_open(&s, g_scratch[0], &opts, &err), CHAN_EIO);
        assert_null(s);
        free(twin);
        free(odd);
        free(missing);
    }
    free(file);
    free(first);
    rm_rf(dir);
    free(dir);
}

typedef struct open_job {
    const char *url;
    int rc;
    int count;
    chan_error err;
} open_job;

static void *open_thread(void *arg)
{
    open_job *job = arg;
    chan_store *s = NULL;

    job->rc = chan_store_open(&s, job->url, NULL, &job->err);
    if (job->rc == 0)
        job->rc = chan_store_migration_count(s, &job->count, &job->err);
    chan_store_free(s);
    return NULL;
}

static void test_concurrent_open_migrates_once(void **state)
{
    enum { N = 4 };
    pthread_t th[N];
    open_job jobs[N];
    int expected = source_migration_count(chan_store_backend_name(g_store));

    for (int i = 0; i < N; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].url = g_scratch[1];
        assert_int_equal(pthread_create(&th[i], NULL, open_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        if (jobs[i].rc != 0)
            fail_msg("open %d: %s", i, jobs[i].err.message);
        assert_int_equal(jobs[i].count, expected);
    }
}

/* ------------------------------------------------------------------ */
/* Schemas and subjects                                                */
/* ------------------------------------------------------------------ */

static void test_register_numbers_versions(void **state)
{
    const char *subject = uniq("orders-value");
    char *a = schema_text("A", 1), *b = schema_text("A", 2), *c = schema_text("A", 3);
    chan_schema_version *v1, *v2, *v3, *again;
    bool created = false;
    char *vs;

    v1 = reg(subject, a, &created);
    assert_true(created);
    v2 = reg(subject, b, &created);
    assert_true(created);
    v3 = reg(subject, c, &created);
    assert_true(created);
    assert_int_equal(v1->version, 1);
    assert_int_equal(v2->version, 2);
    assert_int_equal(v3->version, 3);
    assert_true(v1->id != v2->id && v2->id != v3->id && v1->id != v3->id);
    assert_string_equal(v2->subject, subject);
    assert_string_equal(v2->schema, b);
    assert_string_equal(v2->schema_type, "AVRO");
    assert_false(v2->deleted);
    assert_true(v2->created_at > 1700000000);

    /* Re-registering an existing text returns that version. */
    again = reg(subject, a, &created);
    assert_false(created);
    assert_int_equal(again->version, 1);
    assert_int_equal(again->id, v1->id);

    vs = versions_str(subject, false);
    assert_string_equal(vs, "1,2,3");
    free(vs);
    chan_schema_version_free(v1);
    chan_schema_version_free(v2);
    chan_schema_version_free(v3);
    chan_schema_version_free(again);
    free(a);
    free(b);
    free(c);
}

static void test_ids_global_and_stable(void **state)
{
    const char *s1 = uniq("x-value"), *s2 = uniq("y-value");
    char *text = schema_text(uniq("Shared"), 1), *other = schema_text(uniq("Other"), 1);
    chan_schema_version *a, *b, *c, **uses = NULL;
    size_t n = 0;
    char *got = NULL, *type = NULL;
    chan_error err = CHAN_ERROR_INIT;

    a = reg(s1, other, NULL);
    b = reg(s1, text, NULL);
    c = reg(s2, text, NULL); /* version 1 of s2, same id as version 2 of s1 */
    assert_int_equal(b->version, 2);
    assert_int_equal(c->version, 1);
    assert_int_equal(b->id, c->id);
    assert_true(a->id != b->id);

    assert_int_equal(chan_store_schema_by_id(g_store, &got, &type, b->id, &err), 0);
    assert_string_equal(got, text);
    assert_string_equal(type, "AVRO");
    free(got);
    free(type);
    got = NULL;
    expect_reason(chan_store_schema_by_id(g_store, &got, NULL, INT64_MAX - 5, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_SCHEMA_NOT_FOUND, &err);
    assert_null(got);

    assert_int_equal(chan_store_schema_usages(g_store, &uses, &n, b->id, false, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(uses[0]->subject, strcmp(s1, s2) < 0 ? s1 : s2);
    assert_int_equal(uses[0]->id, b->id);
    assert_int_equal(uses[strcmp(s1, s2) < 0 ? 0 : 1]->version, 2);
    chan_schema_version_list_free(uses, n);
    expect_reason(chan_store_schema_usages(g_store, &uses, &n, INT64_MAX - 5, false, &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_SCHEMA_NOT_FOUND, &err);

    /* The same text with another type is another schema. */
    {
        chan_schema_register_request req = {0};
        chan_schema_version *j = NULL;
        req.subject = uniq("json-value");
        req.schema_type = "JSON";
        req.schema = text;
        assert_int_equal(chan_store_schema_register(g_store, &j, NULL, &req, &err), 0);
        assert_true(j->id != b->id);
        assert_string_equal(j->schema_type, "JSON");
        chan_schema_version_free(j);
    }
    chan_schema_version_free(a);
    chan_schema_version_free(b);
    chan_schema_version_free(c);
    free(text);
    free(other);
}

static void test_unicode_names_round_trip(void **state)
{
    /* Two-, three- and four-byte UTF-8 sequences. */
    char *subject = chan_xasprintf("%s-za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87-\xe2\x82\xac-"
                                   "\xf0\x9f\x98\x80-value",
                                   g_run);
    char *text = schema_text("Unicode", 1);
    chan_schema_version *v = reg(subject, text, NULL), *got = NULL;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_store_version_get(g_store, &got, subject, 1, false, &err), 0);
    assert_string_equal(got->subject, subject);
    assert_int_equal(got->id, v->id);
    chan_schema_version_free(got);
    chan_schema_version_free(v);
    free(subject);
    free(text);
}

typedef struct read_job {
    const int64_t *ids;
    char **texts;
    size_t n;
    int mismatches;
} read_job;

static void *by_id_thread(void *arg)
{
    read_job *job = arg;
    chan_error err = CHAN_ERROR_INIT;

    for (int pass = 0; pass < 5; pass++)
        for (size_t i = 0; i < job->n; i++) {
            char *text = NULL, *type = NULL;
            if (chan_store_schema_by_id(g_store, &text, &type, job->ids[i], &err) != 0 ||
                strcmp(text, job->texts[i]) != 0 || strcmp(type, "AVRO") != 0)
                job->mismatches++;
            free(text);
            free(type);
        }
    return NULL;
}

/* Lookups by id, repeated (served from the cache after the first) and
 * concurrent, always give the registered text. */
static void test_schema_by_id_repeated_and_concurrent(void **state)
{
    enum { N = 40, READERS = 4 };
    int64_t ids[N];
    char *texts[N];
    const char *subject = uniq("byid-value");
    pthread_t th[READERS];
    read_job jobs[READERS];

    for (size_t i = 0; i < N; i++) {
        chan_schema_version *v;
        texts[i] = schema_text(g_run, (int)i);
        v = reg(subject, texts[i], NULL);
        ids[i] = v->id;
        chan_schema_version_free(v);
    }
    for (int t = 0; t < READERS; t++) {
        jobs[t] = (read_job){ids, texts, N, 0};
        assert_int_equal(pthread_create(&th[t], NULL, by_id_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < READERS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(jobs[t].mismatches, 0);
    }
    for (size_t i = 0; i < N; i++)
        free(texts[i]);
}

static void test_idempotent_register_writes_nothing(void **state)
{
    const char *subject = uniq("idem-value");
    char *text = schema_text("Idem", 1), *prefix = chan_xasprintf("subject/%s/", subject);
    chan_schema_version *v;
    bool created = true;
    size_t before;

    v = reg(subject, text, &created);
    chan_schema_version_free(v);
    before = audit_count(prefix);
    assert_int_equal(before, 1);
    for (int i = 0; i < 3; i++) {
        v = reg(subject, text, &created);
        assert_false(created);
        assert_int_equal(v->version, 1);
        chan_schema_version_free(v);
    }
    assert_int_equal(audit_count(prefix), before);
    free(prefix);
    free(text);
}

typedef struct check_ctx {
    int calls;
    size_t seen;
    int first_version;
    int last_version;
    int verdict;
} check_ctx;

static int check_cb(void *ctx, const chan_schema_version *const *existing, size_t n,
                    chan_error *err)
{
    check_ctx *c = ctx;

    c->calls++;
    c->seen = n;
    c->first_version = n > 0 ? existing[0]->version : 0;
    c->last_version = n > 0 ? existing[n - 1]->version : 0;
    for (size_t i = 0; i < n; i++)
        if (existing[i]->deleted || existing[i]->schema == NULL)
            return chan_error_set(err, CHAN_EINTERNAL, "bad existing version");
    if (c->verdict < 0)
        return chan_error_set(err, c->verdict, "incompatible: field f removed");
    return 0;
}

static void test_check_latest_only(void **state)
{
    const char *subject = uniq("latest-only-value");
    check_ctx ctx = {0};
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *t;

    req.subject = subject;
    req.actor = "ci";
    req.check = check_cb;
    req.check_ctx = &ctx;
    for (int i = 1; i <= 4; i++) {
        t = schema_text("L", i);
        req.schema = t;
        req.check_latest_only = i == 4;
        assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), 0);
        chan_schema_version_free(v);
        free(t);
    }
    /* The fourth registration saw version 3 alone; the third saw 1 and 2. */
    assert_int_equal(ctx.seen, 1);
    assert_int_equal(ctx.first_version, 3);
    /* The latest live one: a soft-deleted latest is skipped. */
    assert_int_equal(chan_store_version_delete(g_store, NULL, subject, 4, false, "ci", &err), 0);
    t = schema_text("L", 5);
    req.schema = t;
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), 0);
    assert_int_equal(ctx.seen, 1);
    assert_int_equal(ctx.first_version, 3);
    assert_int_equal(v->version, 5);
    chan_schema_version_free(v);
    free(t);
}

static void test_check_callback_runs_and_aborts(void **state)
{
    const char *subject = uniq("checked-value");
    char *t1 = schema_text("C", 1), *t2 = schema_text("C", 2), *t3 = schema_text("C", 3);
    char *prefix = chan_xasprintf("subject/%s", subject);
    check_ctx ctx = {0};
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;
    chan_error err = CHAN_ERROR_INIT;
    bool created = true;
    char *vs;
    size_t audits;

    req.subject = subject;
    req.actor = "ci";
    req.check = check_cb;
    req.check_ctx = &ctx;

    req.schema = t1;
    assert_int_equal(chan_store_schema_register(g_store, &v, &created, &req, &err), 0);
    assert_int_equal(ctx.calls, 1);
    assert_int_equal(ctx.seen, 0);
    chan_schema_version_free(v);
    req.schema = t2;
    assert_int_equal(chan_store_schema_register(g_store, &v, &created, &req, &err), 0);
    assert_int_equal(ctx.seen, 1);
    chan_schema_version_free(v);
    /* Soft-deleted versions are not shown to the check. */
    assert_int_equal(chan_store_version_delete(g_store, NULL, subject, 1, false, "ci", &err), 0);

    audits = audit_count(prefix);
    ctx.verdict = CHAN_EINCOMPATIBLE;
    req.schema = t3;
    v = NULL;
    assert_int_equal(chan_store_schema_register(g_store, &v, &created, &req, &err),
                     CHAN_EINCOMPATIBLE);
    assert_null(v);
    assert_false(created);
    assert_string_equal(err.message, "incompatible: field f removed");
    assert_int_equal(ctx.seen, 1);
    assert_int_equal(ctx.first_version, 2);
    assert_int_equal(ctx.last_version, 2);
    /* Nothing written: no version, no audit entry, and the text is unknown. */
    vs = versions_str(subject, true);
    assert_string_equal(vs, "1,2");
    free(vs);
    assert_int_equal(audit_count(prefix), audits);
    expect_reason(chan_store_schema_lookup(g_store, &v, subject, t3, true, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_SCHEMA_NOT_FOUND, &err);

    /* An idempotent re-registration does not run the check. */
    ctx.calls = 0;
    req.schema = t2;
    assert_int_equal(chan_store_schema_register(g_store, &v, &created, &req, &err), 0);
    assert_int_equal(ctx.calls, 0);
    assert_false(created);
    chan_schema_version_free(v);
    free(t1);
    free(t2);
    free(t3);
    free(prefix);
}

/* chan_store_check_fn that records what it was given (texts may be absent). */
typedef struct alone_ctx {
    int calls;
    size_t seen;
    int versions[8];
    bool has_text[8];
    int64_t want_id; /* the text wanted by wants_texts_cb */
    int verdict;
} alone_ctx;

static int alone_cb(void *ctx, const chan_schema_version *const *existing, size_t n,
                    chan_error *err)
{
    alone_ctx *c = ctx;

    c->calls++;
    c->seen = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        c->versions[i] = existing[i]->version;
        c->has_text[i] = existing[i]->schema != NULL;
        if (existing[i]->deleted || strcmp(existing[i]->subject, "") == 0)
            return chan_error_set(err, CHAN_EINTERNAL, "bad existing version");
    }
    if (c->verdict < 0)
        return chan_error_set(err, c->verdict, "incompatible with version %d",
                              n > 0 ? existing[n - 1]->version : 0);
    return 0;
}

static void wants_texts_cb(void *ctx, const chan_schema_version *const *versions, size_t n,
                           bool *want)
{
    for (size_t i = 0; i < n; i++) {
        assert_false(want[i]);
        want[i] = ((alone_ctx *)ctx)->want_id == versions[i]->id;
    }
}

static void test_schema_check_alone(void **state)
{
    const char *subject = uniq("check-alone-value");
    char *prefix = chan_xasprintf("subject/%s", subject);
    chan_schema_register_request req = {0};
    chan_schema_version *v3;
    chan_error err = CHAN_ERROR_INIT;
    alone_ctx ctx = {0};
    size_t audits;
    char *t, *vs;

    (void)state;
    for (int i = 1; i <= 3; i++) {
        t = schema_text("A", i);
        chan_schema_version_free(reg(subject, t, NULL));
        free(t);
    }
    assert_int_equal(chan_store_version_delete(g_store, NULL, subject, 1, false, "ci", &err), 0);
    assert_int_equal(chan_store_version_get(g_store, &v3, subject, 3, false, &err), 0);
    audits = audit_count(prefix);

    /* The live versions, oldest first, with their texts. */
    req.subject = subject;
    req.check = alone_cb;
    req.check_ctx = &ctx;
    assert_int_equal(chan_store_schema_check(g_store, &req, &err), 0);
    assert_int_equal(ctx.calls, 1);
    assert_int_equal(ctx.seen, 2);
    assert_int_equal(ctx.versions[0], 2);
    assert_int_equal(ctx.versions[1], 3);
    assert_true(ctx.has_text[0] && ctx.has_text[1]);
    /* Only the texts wanted. */
    ctx.want_id = v3->id;
    req.check_wants_texts = wants_texts_cb;
    assert_int_equal(chan_store_schema_check(g_store, &req, &err), 0);
    assert_int_equal(ctx.seen, 2);
    assert_false(ctx.has_text[0]);
    assert_true(ctx.has_text[1]);
    /* The latest alone. */
    req.check_latest_only = true;
    assert_int_equal(chan_store_schema_check(g_store, &req, &err), 0);
    assert_int_equal(ctx.seen, 1);
    assert_int_equal(ctx.versions[0], 3);
    /* The check's refusal comes back as it is; nothing is written. */
    ctx.verdict = CHAN_EINCOMPATIBLE;
    assert_int_equal(chan_store_schema_check(g_store, &req, &err), CHAN_EINCOMPATIBLE);
    assert_string_equal(err.message, "incompatible with version 3");
    vs = versions_str(subject, true);
    assert_string_equal(vs, "1,2,3");
    free(vs);
    assert_int_equal(audit_count(prefix), audits);
    /* A subject without versions: the check sees none. */
    ctx.verdict = 0;
    req.subject = uniq("check-alone-none-value");
    assert_int_equal(chan_store_schema_check(g_store, &req, &err), 0);
    assert_int_equal(ctx.seen, 0);
    assert_int_equal(ctx.calls, 5);
    chan_schema_version_free(v3);
    free(prefix);
}

static void test_lookup_and_version_get(void **state)
{
    const char *subject = uniq("look-value");
    char *t1 = schema_text("L", 1), *t2 = schema_text("L", 2), *t9 = schema_text("L", 9);
    chan_schema_version *a, *b, *v = NULL;
    chan_error err = CHAN_ERROR_INIT;

    a = reg(subject, t1, NULL);
    b = reg(subject, t2, NULL);
    assert_int_equal(chan_store_schema_lookup(g_store, &v, subject, t1, false, &err), 0);
    assert_int_equal(v->version, 1);
    assert_int_equal(v->id, a->id);
    assert_string_equal(v->schema, t1);
    chan_schema_version_free(v);
    expect_reason(chan_store_schema_lookup(g_store, &v, subject, t9, false, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_SCHEMA_NOT_FOUND, &err);
    expect_reason(chan_store_schema_lookup(g_store, &v, uniq("nope"), t1, false, &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND, &err);
    assert_null(v);

    assert_int_equal(chan_store_version_get(g_store, &v, subject, -1, false, &err), 0);
    assert_int_equal(v->version, 2);
    assert_int_equal(v->id, b->id);
    assert_string_equal(v->schema, t2);
    chan_schema_version_free(v);
    assert_int_equal(chan_store_version_get(g_store, &v, subject, 1, false, &err), 0);
    assert_int_equal(v->id, a->id);
    chan_schema_version_free(v);
    v = NULL;
    expect_reason(chan_store_version_get(g_store, &v, subject, 3, false, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_VERSION_NOT_FOUND, &err);
    expect_reason(chan_store_version_get(g_store, &v, uniq("nope"), 1, false, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_SUBJECT_NOT_FOUND, &err);
    assert_int_equal(chan_store_version_get(g_store, &v, subject, 0, false, &err), CHAN_EINVALID);
    assert_int_equal(chan_store_version_get(g_store, &v, subject, -2, false, &err), CHAN_EINVALID);
    assert_null(v);
    chan_schema_version_free(a);
    chan_schema_version_free(b);
    free(t1);
    free(t2);
    free(t9);
}

static void test_version_soft_then_hard_delete(void **state)
{
    const char *subject = uniq("del-value");
    char *t1 = schema_text("D", 1), *t2 = schema_text("D", 2);
    char *obj = chan_xasprintf("subject/%s/1", subject);
    chan_schema_version *a, *b, *v = NULL, **uses = NULL;
    chan_error err = CHAN_ERROR_INIT;
    int deleted = 0;
    size_t n = 0;
    char *vs;

    a = reg(subject, t1, NULL);
    b = reg(subject, t2, NULL);
    /* Permanent delete needs a soft delete first. */
    expect_reason(chan_store_version_delete(g_store, &deleted, subject, 1, true, "ops", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_VERSION_NOT_SOFT_DELETED, &err);
    assert_int_equal(audit_count(obj), 1);

    assert_int_equal(chan_store_version_delete(g_store, &deleted, subject, 1, false, "ops", &err),
                     0);
    assert_int_equal(deleted, 1);
    assert_int_equal(audit_count(obj), 2);
    vs = versions_str(subject, false);
    assert_string_equal(vs, "2");
    free(vs);
    vs = versions_str(subject, true);
    assert_string_equal(vs, "1,2");
    free(vs);
    expect_reason(chan_store_version_get(g_store, &v, subject, 1, false, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_VERSION_NOT_FOUND, &err);
    assert_int_equal(chan_store_version_get(g_store, &v, subject, 1, true, &err), 0);
    assert_true(v->deleted);
    chan_schema_version_free(v);
    v = NULL;
    /* Usages hide the deleted version unless asked. */
    assert_int_equal(chan_store_schema_usages(g_store, &uses, &n, a->id, false, &err), 0);
    assert_int_equal(n, 0);
    chan_schema_version_list_free(uses, n);
    assert_int_equal(chan_store_schema_usages(g_store, &uses, &n, a->id, true, &err), 0);
    assert_int_equal(n, 1);
    chan_schema_version_list_free(uses, n);
    /* Lookup by text sees it only with include_deleted. */
    expect_reason(chan_store_schema_lookup(g_store, &v, subject, t1, false, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_SCHEMA_NOT_FOUND, &err);
    assert_int_equal(chan_store_schema_lookup(g_store, &v, subject, t1, true, &err), 0);
    assert_true(v->deleted);
    chan_schema_version_free(v);
    v = NULL;

    expect_reason(chan_store_version_delete(g_store, &deleted, subject, 1, false, "ops", &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_VERSION_SOFT_DELETED, &err);
    assert_int_equal(chan_store_version_delete(g_store, &deleted, subject, 1, true, "ops", &err),
                     0);
    assert_int_equal(audit_count(obj), 3);
    vs = versions_str(subject, true);
    assert_string_equal(vs, "2");
    free(vs);
    expect_reason(chan_store_version_get(g_store, &v, subject, 1, true, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_VERSION_NOT_FOUND, &err);
    expect_reason(chan_store_version_delete(g_store, &deleted, subject, 7, false, "ops", &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_VERSION_NOT_FOUND, &err);
    expect_reason(chan_store_version_delete(g_store, &deleted, uniq("none"), 1, false, "ops", &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND, &err);
    /* The schema id stays valid after its last use is gone. */
    {
        char *text = NULL;
        assert_int_equal(chan_store_schema_by_id(g_store, &text, NULL, a->id, &err), 0);
        assert_string_equal(text, t1);
        free(text);
    }

    /* "latest" (-1): soft deletes the latest live version. */
    assert_int_equal(chan_store_version_delete(g_store, &deleted, subject, -1, false, "ops", &err),
                     0);
    assert_int_equal(deleted, 2);
    assert_int_equal(chan_store_version_delete(g_store, &deleted, subject, -1, true, "ops", &err),
                     0);
    assert_int_equal(deleted, 2);
    vs = versions_str(subject, true);
    assert_string_equal(vs, "");
    free(vs);
    chan_schema_version_free(a);
    chan_schema_version_free(b);
    free(t1);
    free(t2);
    free(obj);
}

static void test_subject_delete_rules(void **state)
{
    const char *subject = uniq("subj-value");
    char *t1 = schema_text("S", 1), *t2 = schema_text("S", 2), *t3 = schema_text("S", 3);
    chan_schema_version *v;
    chan_error err = CHAN_ERROR_INIT;
    int *vs = NULL;
    size_t n = 0;
    char **subjects = NULL;
    size_t ns = 0;
    bool found;

    chan_schema_version_free(reg(subject, t1, NULL));
    chan_schema_version_free(reg(subject, t2, NULL));
    chan_schema_version_free(reg(subject, t3, NULL));
    assert_int_equal(chan_store_version_delete(g_store, NULL, subject, 2, false, "ops", &err), 0);

    expect_reason(chan_store_subject_delete(g_store, &vs, &n, subject, true, "ops", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_SUBJECT_NOT_SOFT_DELETED, &err);
    assert_int_equal(chan_store_subject_delete(g_store, &vs, &n, subject, false, "ops", &err), 0);
    assert_int_equal(n, 2); /* the live ones */
    assert_int_equal(vs[0], 1);
    assert_int_equal(vs[1], 3);
    free(vs);
    vs = NULL;

    expect_reason(chan_store_subject_versions(g_store, &vs, &n, subject, false, &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND, &err);
    expect_reason(chan_store_subject_delete(g_store, &vs, &n, subject, false, "ops", &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_SOFT_DELETED, &err);
    assert_int_equal(chan_store_subject_list(g_store, &subjects, &ns, false, &err), 0);
    found = false;
    for (size_t i = 0; i < ns; i++)
        found |= strcmp(subjects[i], subject) == 0;
    assert_false(found);
    chan_store_string_list_free(subjects, ns);
    assert_int_equal(chan_store_subject_list(g_store, &subjects, &ns, true, &err), 0);
    found = false;
    for (size_t i = 0; i < ns; i++)
        found |= strcmp(subjects[i], subject) == 0;
    assert_true(found);
    chan_store_string_list_free(subjects, ns);

    /* Registering the same schema again after a soft delete: new version. */
    v = reg(subject, t1, NULL);
    assert_int_equal(v->version, 4);
    chan_schema_version_free(v);
    assert_int_equal(chan_store_subject_delete(g_store, &vs, &n, subject, false, "ops", &err), 0);
    assert_int_equal(n, 1);
    free(vs);

    assert_int_equal(chan_store_subject_delete(g_store, &vs, &n, subject, true, "ops", &err), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vs[i], (int)i + 1);
    free(vs);
    vs = NULL;
    assert_int_equal(chan_store_subject_list(g_store, &subjects, &ns, true, &err), 0);
    for (size_t i = 0; i < ns; i++)
        assert_string_not_equal(subjects[i], subject);
    chan_store_string_list_free(subjects, ns);
    expect_reason(chan_store_subject_delete(g_store, &vs, &n, subject, true, "ops", &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_SUBJECT_NOT_FOUND, &err);
    /* After a permanent delete the subject starts again at version 1. */
    v = reg(subject, t2, NULL);
    assert_int_equal(v->version, 1);
    chan_schema_version_free(v);
    free(t1);
    free(t2);
    free(t3);
}

static void test_reregister_after_soft_delete_keeps_id(void **state)
{
    const char *subject = uniq("again-value");
    char *t = schema_text("Again", 1);
    chan_schema_version *v1, *v2;
    chan_error err = CHAN_ERROR_INIT;
    bool created = false;

    v1 = reg(subject, t, NULL);
    assert_int_equal(chan_store_version_delete(g_store, NULL, subject, 1, false, "ops", &err), 0);
    v2 = reg(subject, t, &created);
    assert_true(created);
    assert_int_equal(v2->version, 2);
    assert_int_equal(v2->id, v1->id);
    chan_schema_version_free(v1);
    chan_schema_version_free(v2);
    free(t);
}

static void test_subject_list_is_sorted(void **state)
{
    const char *names[] = {"b", "a", "B", "a.b", "a-b", "z"};
    char *full[6];
    char **subjects = NULL;
    size_t n = 0, seen = 0;
    chan_error err = CHAN_ERROR_INIT;
    char prefix[64];
    const char *last = NULL;

    snprintf(prefix, sizeof(prefix), "%s-sorted-", g_run);
    for (size_t i = 0; i < 6; i++) {
        full[i] = chan_xasprintf("%s%s", prefix, names[i]);
        chan_schema_version_free(reg(full[i], "\"int\"", NULL));
    }
    assert_int_equal(chan_store_subject_list(g_store, &subjects, &n, false, &err), 0);
    for (size_t i = 0; i < n; i++) {
        if (strncmp(subjects[i], prefix, strlen(prefix)) != 0)
            continue;
        if (last != NULL)
            assert_true(strcmp(last, subjects[i]) < 0);
        last = subjects[i];
        seen++;
    }
    assert_int_equal(seen, 6);
    chan_store_string_list_free(subjects, n);
    for (size_t i = 0; i < 6; i++)
        free(full[i]);
}

/* Register text in subject as id/version (an import); the error code. */
static int reg_import(chan_schema_version **out, bool *created, const char *subject,
                      const char *text, int64_t id, int version, chan_error *err)
{
    chan_schema_register_request req = {0};

    req.subject = subject;
    req.schema = text;
    req.actor = "tester";
    req.id = id;
    req.version = version;
    return chan_store_schema_register(g_store, out, created, &req, err);
}

/* IMPORT mode: given ids and versions, conflicts, ids after the import. */
static void test_import_mode(void **state)
{
    const char *subject = uniq("imp-value"), *busy = uniq("imp-busy-value");
    char *t1 = schema_text("Imp", 1), *t2 = schema_text("Imp", 2), *t3 = schema_text("Imp", 3);
    chan_schema_version *v = NULL;
    chan_error err = CHAN_ERROR_INIT;
    bool created = false;
    int64_t big = 0;
    char *vs;

    /* Outside IMPORT mode an id is refused, and a version must be the next. */
    expect_reason(reg_import(&v, NULL, subject, t1, 1000, 1, &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_NOT_IMPORT_MODE, &err);
    chan_schema_version_free(reg(busy, t1, NULL));
    expect_reason(reg_import(&v, NULL, busy, t2, 0, 5, &err), CHAN_EINVALID,
                  CHAN_STORE_R_VERSION_NOT_NEXT, &err);
    assert_null(v);
    /* Entering IMPORT needs an empty scope, unless forced. */
    expect_reason(chan_store_mode_set_checked(g_store, busy, "IMPORT", false, "admin", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_IMPORT_NOT_EMPTY, &err);
    assert_int_equal(chan_store_mode_set_checked(g_store, busy, "IMPORT", true, "admin", &err), 0);
    assert_int_equal(chan_store_mode_set_checked(g_store, subject, "IMPORT", false, "admin", &err),
                     0);
    expect_reason(reg_err(subject, t1, &err), CHAN_ECONFLICT, CHAN_STORE_R_NOT_READWRITE_MODE,
                  &err);

    /* An id far above the others, a gap in the versions. */
    {
        chan_schema_version *probe = reg(uniq("imp-probe-value"), t3, NULL);

        big = probe->id + 1000;
        chan_schema_version_free(probe);
    }
    assert_int_equal(reg_import(&v, &created, subject, t1, big, 4, &err), 0);
    assert_true(created);
    assert_int_equal(v->id, big);
    assert_int_equal(v->version, 4);
    chan_schema_version_free(v);
    v = NULL;
    /* Identical again: nothing written. */
    assert_int_equal(reg_import(&v, &created, subject, t1, big, 4, &err), 0);
    assert_false(created);
    assert_int_equal(v->version, 4);
    chan_schema_version_free(v);
    v = NULL;
    /* Soft-deleted, and imported again identically: still nothing written. */
    assert_int_equal(chan_store_version_delete(g_store, NULL, subject, 4, false, "ops", &err), 0);
    assert_int_equal(reg_import(&v, &created, subject, t1, big, 4, &err), 0);
    assert_false(created);
    assert_true(v->deleted);
    chan_schema_version_free(v);
    v = NULL;
    /* Conflicts: the id holds another schema; the version holds another id. */
    expect_reason(reg_import(&v, NULL, subject, t2, big, 5, &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_ID_IN_USE, &err);
    expect_reason(reg_import(&v, NULL, subject, t2, big + 1, 4, &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_VERSION_EXISTS, &err);
    /* No version given: the next one. */
    assert_int_equal(reg_import(&v, &created, subject, t2, big + 2, 0, &err), 0);
    assert_int_equal(v->version, 5);
    chan_schema_version_free(v);
    v = NULL;
    vs = versions_str(subject, true);
    assert_string_equal(vs, "4,5");
    free(vs);

    /* Back to READWRITE: new ids go past the imported ones. */
    assert_int_equal(chan_store_mode_set(g_store, subject, NULL, "admin", &err), 0);
    assert_int_equal(chan_store_mode_set(g_store, busy, NULL, "admin", &err), 0);
    free(t3);
    t3 = schema_text("After", 9);
    v = reg(uniq("imp-after-value"), t3, NULL);
    assert_true(v->id > big + 2);
    chan_schema_version_free(v);
    free(t1);
    free(t2);
    free(t3);
}

/* Confluent refuses compatibility changes in READONLY mode. */
static void test_config_refused_read_only(void **state)
{
    const char *subject = uniq("cfgro-value");
    chan_error err = CHAN_ERROR_INIT;
    char *level = NULL;

    assert_int_equal(chan_store_config_set(g_store, subject, "FULL", "admin", &err), 0);
    assert_int_equal(chan_store_mode_set(g_store, subject, "READONLY", "admin", &err), 0);
    expect_reason(chan_store_config_set(g_store, subject, "NONE", "admin", &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_READ_ONLY, &err);
    expect_reason(chan_store_config_set(g_store, subject, NULL, "admin", &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_READ_ONLY, &err);
    assert_int_equal(chan_store_config_get(g_store, &level, subject, &err), 0);
    assert_string_equal(level, "FULL");
    free(level);
    assert_int_equal(chan_store_mode_set(g_store, subject, NULL, "admin", &err), 0);
    assert_int_equal(chan_store_config_set(g_store, subject, NULL, "admin", &err), 0);
}

static void test_config_and_mode(void **state)
{
    const char *subject = uniq("cfg-value"), *other = uniq("cfg2-value");
    char *level = NULL, *t = schema_text("Cfg", 1);
    chan_error err = CHAN_ERROR_INIT;
    chan_audit_entry **last;
    size_t audits;

    expect_reason(chan_store_config_get(g_store, &level, subject, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CONFIG_NOT_FOUND, &err);
    assert_null(level);
    expect_reason(chan_store_config_get(g_store, &level, NULL, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CONFIG_NOT_FOUND, &err);
    expect_reason(chan_store_mode_get(g_store, &level, subject, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_MODE_NOT_FOUND, &err);

    audits = audit_count("config");
    assert_int_equal(chan_store_config_set(g_store, NULL, "FULL", "admin", &err), 0);
    assert_int_equal(chan_store_config_get(g_store, &level, NULL, &err), 0);
    assert_string_equal(level, "FULL");
    free(level);
    assert_int_equal(chan_store_config_set(g_store, subject, "BACKWARD_TRANSITIVE", "admin", &err),
                     0);
    assert_int_equal(chan_store_config_get(g_store, &level, subject, &err), 0);
    assert_string_equal(level, "BACKWARD_TRANSITIVE");
    free(level);
    assert_int_equal(audit_count("config"), audits + 2);
    last = audit_last("config/");
    assert_string_equal(last[0]->action, "config.set");
    assert_string_equal(last[0]->actor, "admin");
    assert_non_null(strstr(last[0]->detail, "BACKWARD_TRANSITIVE"));
    chan_audit_entry_list_free(last, 1);
    /* Setting the same level again writes nothing. */
    assert_int_equal(chan_store_config_set(g_store, subject, "BACKWARD_TRANSITIVE", "admin", &err),
                     0);
    assert_int_equal(audit_count("config"), audits + 2);
    assert_int_equal(chan_store_config_set(g_store, subject, "SIDEWAYS", "admin", &err),
                     CHAN_EINVALID);
    assert_int_equal(chan_store_config_set(g_store, "", "FULL", "admin", &err), CHAN_EINVALID);
    /* Clearing. */
    assert_int_equal(chan_store_config_set(g_store, subject, NULL, "admin", &err), 0);
    assert_int_equal(chan_store_config_get(g_store, &level, subject, &err), CHAN_ENOTFOUND);
    assert_int_equal(chan_store_config_set(g_store, NULL, NULL, "admin", &err), 0);
    assert_int_equal(chan_store_config_get(g_store, &level, NULL, &err), CHAN_ENOTFOUND);
    assert_int_equal(audit_count("config"), audits + 4);

    /* Modes: a READONLY subject refuses writes, others are unaffected. */
    chan_schema_version_free(reg(subject, t, NULL));
    assert_int_equal(chan_store_mode_set(g_store, subject, "READONLY", "admin", &err), 0);
    assert_int_equal(chan_store_mode_get(g_store, &level, subject, &err), 0);
    assert_string_equal(level, "READONLY");
    free(level);
    {
        char *t2 = schema_text("Cfg", 2);
        expect_reason(reg_err(subject, t2, &err), CHAN_ECONFLICT, CHAN_STORE_R_READ_ONLY, &err);
        expect_reason(chan_store_version_delete(g_store, NULL, subject, 1, false, "ops", &err),
                      CHAN_ECONFLICT, CHAN_STORE_R_READ_ONLY, &err);
        chan_schema_version_free(reg(other, t2, NULL));
        /* Global READONLY, subject READWRITE: the subject's own mode wins. */
        assert_int_equal(chan_store_mode_set(g_store, NULL, "READONLY", "admin", &err), 0);
        assert_int_equal(chan_store_mode_set(g_store, subject, "READWRITE", "admin", &err), 0);
        expect_reason(reg_err(other, t, &err), CHAN_ECONFLICT, CHAN_STORE_R_READ_ONLY, &err);
        chan_schema_version_free(reg(subject, t2, NULL));
        assert_int_equal(chan_store_mode_set(g_store, NULL, NULL, "admin", &err), 0);
        chan_schema_version_free(reg(other, t, NULL));
        free(t2);
    }
    assert_int_equal(chan_store_mode_set(g_store, subject, "WRITEONLY", "admin", &err),
                     CHAN_EINVALID);
    assert_int_equal(chan_store_mode_get(g_store, &level, NULL, &err), CHAN_ENOTFOUND);
    free(t);
}

/* ------------------------------------------------------------------ */
/* Channels and consumers                                              */
/* ------------------------------------------------------------------ */

static void fill_consumer(chan_consumer_record *c, const char *name, const char *group, int64_t sla)
{
    memset(c, 0, sizeof(*c));
    c->name = (char *)name;
    c->principal = "User:svc";
    c->group = (char *)group;
    c->scenario = "billing";
    c->sla_p99_ms = sla;
    c->peak_rate_msgs = 1234.5;
    c->degradation = "skip-and-alert";
}

static void fill_channel(chan_channel_record *rec, const char *name, const char *team,
                         chan_consumer_record *cons, size_t nc, chan_producer_record *prods,
                         size_t np)
{
    memset(rec, 0, sizeof(*rec));
    rec->name = (char *)name;
    rec->owner_team = (char *)team;
    rec->maintainer = "alice@example.com";
    rec->peak_qps = 500;
    rec->retention_hours = 168;
    rec->subject = "orders.created-value";
    rec->compatibility = "BACKWARD";
    rec->document = "{\"name\":\"orders\"}";
    rec->consumers = cons;
    rec->n_consumers = nc;
    rec->producers = prods;
    rec->n_producers = np;
}

static void test_channel_put_get_and_replace(void **state)
{
    const char *name = uniq("orders.created"), *team = uniq("team");
    chan_consumer_record cons[3];
    chan_producer_record prods[2] = {{NULL, "User:orders-api"}, {NULL, "User:backfill"}};
    chan_channel_record rec, *got = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *obj = chan_xasprintf("channel/%s", name);
    int64_t rev = 0, reg_a, reg_b;
    bool changed = false;

    fill_consumer(&cons[0], "billing", "billing-g", 200);
    fill_consumer(&cons[1], "analytics", "analytics-g", 5000);
    cons[1].peak_rate_msgs = 1.0 / 3.0;
    fill_channel(&rec, name, team, cons, 2, prods, 1);

    assert_int_equal(chan_store_channel_put(g_store, &rev, &changed, &rec, 0, "ci", &err), 0);
    assert_int_equal(rev, 1);
    assert_true(changed);
    assert_int_equal(audit_count(obj), 1);

    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_string_equal(got->name, name);
    assert_string_equal(got->owner_team, team);
    assert_string_equal(got->maintainer, "alice@example.com");
    assert_int_equal(got->peak_qps, 500);
    assert_int_equal(got->retention_hours, 168);
    assert_null(got->deprecation_date);
    assert_string_equal(got->subject, "orders.created-value");
    assert_string_equal(got->compatibility, "BACKWARD");
    assert_string_equal(got->document, "{\"name\":\"orders\"}");
    assert_int_equal(got->revision, 1);
    assert_true(got->created_at > 1700000000);
    assert_int_equal(got->n_consumers, 2);
    assert_string_equal(got->consumers[0].name, "analytics"); /* ordered by name */
    assert_string_equal(got->consumers[0].channel, name);
    assert_true(got->consumers[0].peak_rate_msgs == 1.0 / 3.0); /* exact round trip */
    assert_string_equal(got->consumers[1].group, "billing-g");
    assert_int_equal(got->consumers[1].sla_p99_ms, 200);
    assert_string_equal(got->consumers[1].degradation, "skip-and-alert");
    assert_true(got->consumers[1].registered_at > 0);
    assert_int_equal(got->n_producers, 1);
    assert_string_equal(got->producers[0].principal, "User:orders-api");
    reg_a = got->consumers[0].registered_at;
    reg_b = got->consumers[1].registered_at;
    chan_channel_record_free(got);

    /* Identical: nothing written. */
    assert_int_equal(chan_store_channel_put(g_store, &rev, &changed, &rec, -1, "ci", &err), 0);
    assert_false(changed);
    assert_int_equal(rev, 1);
    assert_int_equal(audit_count(obj), 1);

    /* Wrong expected revision. */
    expect_reason(chan_store_channel_put(g_store, &rev, &changed, &rec, 0, "ci", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_REVISION_MISMATCH, &err);
    expect_reason(chan_store_channel_put(g_store, &rev, &changed, &rec, 5, "ci", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_REVISION_MISMATCH, &err);

    /* Replace: billing changes, analytics goes, fraud comes, a producer added.
     * Times are stored to the second: wait (bounded) until the clock is past
     * reg_b so that a re-created registered_at would differ. */
    for (int tries = 0; (int64_t)time(NULL) <= reg_b; tries++) {
        struct timespec pause = {0, 20 * 1000 * 1000};

        assert_true(tries < 250);
        nanosleep(&pause, NULL);
    }
    cons[0].sla_p99_ms = 150;
    fill_consumer(&cons[1], "fraud", "fraud-g", 100);
    rec.n_producers = 2;
    rec.deprecation_date = "2031-01-31";
    assert_int_equal(chan_store_channel_put(g_store, &rev, &changed, &rec, 1, "ci", &err), 0);
    assert_true(changed);
    assert_int_equal(rev, 2);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_int_equal(got->revision, 2);
    assert_string_equal(got->deprecation_date, "2031-01-31");
    assert_int_equal(got->n_consumers, 2);
    assert_string_equal(got->consumers[0].name, "billing");
    assert_int_equal(got->consumers[0].sla_p99_ms, 150);
    assert_int_equal(got->consumers[0].registered_at, reg_b); /* kept */
    assert_true(got->consumers[0].renewed_at > reg_b);
    assert_string_equal(got->consumers[1].name, "fraud");
    assert_true(got->consumers[1].registered_at > reg_a);
    assert_int_equal(got->n_producers, 2);
    assert_string_equal(got->producers[0].principal, "User:backfill");
    chan_channel_record_free(got);
    {
        chan_audit_entry **last = audit_last(obj);
        json_error_t jerr;
        json_t *detail = json_loads(last[0]->detail, 0, &jerr);
        assert_non_null(detail);
        assert_string_equal(last[0]->action, "channel.update");
        assert_string_equal(last[0]->actor, "ci");
        assert_int_equal(json_integer_value(json_object_get(detail, "revision")), 2);
        assert_string_equal(
            json_string_value(json_array_get(
                json_object_get(json_object_get(detail, "consumers"), "removed"), 0)),
            "analytics");
        assert_string_equal(json_string_value(json_array_get(
                                json_object_get(json_object_get(detail, "consumers"), "added"), 0)),
                            "fraud");
        assert_string_equal(
            json_string_value(json_array_get(
                json_object_get(json_object_get(detail, "consumers"), "updated"), 0)),
            "billing");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(detail, "changed"), 0)),
            "deprecation_date");
        json_decref(detail);
        chan_audit_entry_list_free(last, 1);
    }
    assert_int_equal(audit_count(obj), 2);
    free(obj);
}

static void test_channel_list_filters(void **state)
{
    const char *team = uniq("team"), *other_team = uniq("team");
    chan_channel_record rec;
    chan_channel_record **list = NULL;
    chan_channel_filter f = CHAN_CHANNEL_FILTER_INIT;
    chan_consumer_record cons[1];
    chan_error err = CHAN_ERROR_INIT;
    const char *names[4];
    size_t n = 0;

    fill_consumer(&cons[0], "c1", "g1", 100);
    names[0] = uniq("ch-old");
    names[1] = uniq("ch-future");
    names[2] = uniq("ch-live");
    names[3] = uniq("ch-other");
    for (int i = 0; i < 4; i++) {
        fill_channel(&rec, names[i], i == 3 ? other_team : team, cons, i == 2 ? 1 : 0, NULL, 0);
        rec.deprecation_date = i == 0 ? "2020-01-01" : i == 1 ? "2999-12-31" : NULL;
        if (i == 2)
            rec.maintainer = "bob@example.com";
        assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    }

    f.owner_team = team;
    assert_int_equal(chan_store_channel_list(g_store, &list, &n, &f, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0]->name, names[0]); /* ordered by name: the uniq counter */
    assert_string_equal(list[2]->name, names[2]);
    assert_int_equal(list[2]->n_consumers, 1);
    assert_string_equal(list[2]->consumers[0].name, "c1");
    assert_int_equal(list[0]->n_consumers, 0);
    chan_channel_record_list_free(list, n);

    f.maintainer = "bob@example.com";
    assert_int_equal(chan_store_channel_list(g_store, &list, &n, &f, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->name, names[2]);
    chan_channel_record_list_free(list, n);
    f.maintainer = NULL;

    f.deprecated = 1; /* as of today */
    assert_int_equal(chan_store_channel_list(g_store, &list, &n, &f, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->name, names[0]);
    chan_channel_record_list_free(list, n);
    f.as_of = "2999-12-31"; /* the day itself counts */
    assert_int_equal(chan_store_channel_list(g_store, &list, &n, &f, &err), 0);
    assert_int_equal(n, 2);
    chan_channel_record_list_free(list, n);
    f.deprecated = 0;
    assert_int_equal(chan_store_channel_list(g_store, &list, &n, &f, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0]->name, names[2]);
    chan_channel_record_list_free(list, n);
    f.as_of = "2019-12-31";
    assert_int_equal(chan_store_channel_list(g_store, &list, &n, &f, &err), 0);
    assert_int_equal(n, 3);
    chan_channel_record_list_free(list, n);

    f.as_of = "2019-13-01";
    assert_int_equal(chan_store_channel_list(g_store, &list, &n, &f, &err), CHAN_EINVALID);
    f.as_of = NULL;
    f.deprecated = 7;
    assert_int_equal(chan_store_channel_list(g_store, &list, &n, &f, &err), CHAN_EINVALID);

    /* No filter: every channel, in byte order. */
    assert_int_equal(chan_store_channel_list(g_store, &list, &n, NULL, &err), 0);
    assert_true(n >= 4);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(list[i - 1]->name, list[i]->name) < 0);
    chan_channel_record_list_free(list, n);
}

static void test_channel_page(void **state)
{
    const char *team = uniq("Team"), *subject = uniq("paged-value");
    chan_channel_record rec;
    chan_channel_filter f = CHAN_CHANNEL_FILTER_INIT;
    chan_channel_page page = CHAN_CHANNEL_PAGE_INIT;
    chan_consumer_record cons[1];
    chan_error err = CHAN_ERROR_INIT;
    char *names[5], *after = NULL, *text;
    int64_t now = (int64_t)time(NULL);

    fill_consumer(&cons[0], "c1", "g1", 100);
    for (int i = 0; i < 5; i++) {
        names[i] = chan_xstrdup(uniq("paged"));
        fill_channel(&rec, names[i], team, cons, i == 3 ? 1 : 0, NULL, 0);
        rec.subject = i == 1 ? (char *)subject : NULL;
        rec.maintainer = i == 4 ? "Zed.Maintainer@example.com" : "alice@example.com";
        rec.document = i == 2 ? "{\"retirement_date\":\"2999-01-02\",\"schema\":{\"waiver\":"
                                "{\"reason\":\"legacy\"}}}"
                              : "{}";
        assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    }
    for (int v = 1; v <= 2; v++) {
        text = schema_text("Paged", v);
        chan_schema_version_free(reg(subject, text, NULL));
        free(text);
    }

    /* Pages of 2 in name order, the same total on each, until no more. */
    f.owner_team = team;
    for (int p = 0; p < 3; p++) {
        assert_int_equal(chan_store_channel_page(g_store, &page, &f, after, 2, &err), 0);
        assert_int_equal(page.total, 5);
        assert_int_equal(page.n, p < 2 ? 2 : 1);
        assert_int_equal(page.more, p < 2);
        for (size_t i = 0; i < page.n; i++)
            assert_string_equal(page.items[i]->name, names[2 * p + (int)i]);
        free(after);
        after = chan_xstrdup(page.items[page.n - 1]->name);
        if (p == 0) {
            assert_int_equal(page.latest_versions[0], 0);
            assert_int_equal(page.latest_versions[1], 2); /* names[1] binds subject */
        }
        if (p == 1) {
            /* Columns written with the document; consumers attached. */
            assert_string_equal(page.items[0]->retirement_date, "2999-01-02");
            assert_string_equal(page.items[0]->waiver_reason, "legacy");
            assert_null(page.items[1]->retirement_date);
            assert_int_equal(page.items[1]->n_consumers, 1);
            assert_int_equal(page.items[0]->n_consumers, 0);
        }
        chan_channel_page_dispose(&page);
    }
    free(after);

    /* q: a case-insensitive substring of the maintainer (or name, team, subject). */
    f.q = "zed.MAINTAINER";
    assert_int_equal(chan_store_channel_page(g_store, &page, &f, NULL, 10, &err), 0);
    assert_int_equal(page.total, 1);
    assert_string_equal(page.items[0]->name, names[4]);
    chan_channel_page_dispose(&page);
    f.q = "%"; /* a LIKE wildcard is a literal character */
    assert_int_equal(chan_store_channel_page(g_store, &page, &f, NULL, 10, &err), 0);
    assert_int_equal(page.total, 0);
    chan_channel_page_dispose(&page);
    f.q = team; /* mixed case: "Team" */
    assert_int_equal(chan_store_channel_page(g_store, &page, &f, NULL, 10, &err), 0);
    assert_int_equal(page.total, 5);
    chan_channel_page_dispose(&page);
    f.q = NULL;

    /* stale: only channels with a consumer registered before the cutoff. */
    f.stale_only = true;
    f.stale_cutoff = chan_consumer_stale_cutoff(now, 3600);
    assert_int_equal(chan_store_channel_page(g_store, &page, &f, NULL, 10, &err), 0);
    assert_int_equal(page.total, 0);
    chan_channel_page_dispose(&page);
    f.stale_cutoff = chan_consumer_stale_cutoff(now + 7200, 3600);
    assert_int_equal(chan_store_channel_page(g_store, &page, &f, NULL, 10, &err), 0);
    assert_int_equal(page.total, 1);
    assert_string_equal(page.items[0]->name, names[3]);
    chan_channel_page_dispose(&page);

    for (int i = 0; i < 5; i++)
        free(names[i]);
}

static void test_channel_delete(void **state)
{
    const char *name = uniq("gone");
    chan_consumer_record cons[1];
    chan_producer_record prods[1] = {{NULL, "User:p"}};
    chan_channel_record rec, *got = NULL;
    chan_consumer_record **cl = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *obj = chan_xasprintf("channel/%s", name);
    size_t n = 0;

    fill_consumer(&cons[0], "c", "g", 10);
    fill_channel(&rec, name, "t", cons, 1, prods, 1);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_channel_delete(g_store, name, "ci", &err), 0);
    expect_reason(chan_store_channel_get(g_store, &got, name, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CHANNEL_NOT_FOUND, &err);
    assert_null(got);
    expect_reason(chan_store_consumer_list(g_store, &cl, &n, name, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CHANNEL_NOT_FOUND, &err);
    expect_reason(chan_store_channel_delete(g_store, name, "ci", &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CHANNEL_NOT_FOUND, &err);
    assert_int_equal(audit_count(obj), 2);
    /* Re-creating starts again at revision 1 with fresh children. */
    rec.n_consumers = 0;
    {
        int64_t rev = 0;
        assert_int_equal(chan_store_channel_put(g_store, &rev, NULL, &rec, 0, "ci", &err), 0);
        assert_int_equal(rev, 1);
    }
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_int_equal(got->n_consumers, 0);
    assert_int_equal(got->n_producers, 1);
    chan_channel_record_free(got);
    free(obj);
}

static void test_channel_by_subject(void **state)
{
    const char *a = uniq("bysub-b"), *b = uniq("bysub-a"), *subject = uniq("bysub-value");
    chan_channel_record rec, *got = NULL;
    chan_error err = CHAN_ERROR_INIT;

    expect_reason(chan_store_channel_by_subject(g_store, &got, subject, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CHANNEL_NOT_FOUND, &err);
    assert_null(got);
    fill_channel(&rec, a, "team-a", NULL, 0, NULL, 0);
    rec.subject = (char *)subject;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_channel_by_subject(g_store, &got, subject, &err), 0);
    assert_string_equal(got->name, a);
    assert_string_equal(got->owner_team, "team-a");
    chan_channel_record_free(got);
    /* Two channels on one subject: the lowest name. */
    fill_channel(&rec, b, "team-b", NULL, 0, NULL, 0);
    rec.subject = (char *)subject;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_channel_by_subject(g_store, &got, subject, &err), 0);
    assert_string_equal(got->name, strcmp(a, b) < 0 ? a : b);
    chan_channel_record_free(got);
    assert_int_equal(chan_store_channel_by_subject(g_store, &got, "", &err), CHAN_EINVALID);
}

/*
** A waiver is approved once (audited, revision up), read back with the
** reason from the document, refused without a reason, and cleared when the
** compatibility or the reason changes.
*/
static void test_waiver_approval_cleared(void **state)
{
    const char *name = uniq("waiver"), *plain = uniq("waiver-none");
    const char *doc_a = "{\"schema\":{\"waiver\":{\"reason\":\"reason A of twenty chars\"}}}";
    const char *doc_b = "{\"schema\":{\"waiver\":{\"reason\":\"reason B of twenty chars\"}}}";
    chan_channel_record rec, *got = NULL;
    chan_error err = CHAN_ERROR_INIT;
    int64_t revision = 0;

    (void)state;
    fill_channel(&rec, plain, "team-w", NULL, 0, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    expect_reason(chan_store_channel_waiver_approve(g_store, plain, "root", &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_NO_WAIVER, &err);
    expect_reason(chan_store_channel_waiver_approve(g_store, uniq("absent"), "root", &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND, &err);

    fill_channel(&rec, name, "team-w", NULL, 0, NULL, 0);
    rec.compatibility = "NONE";
    rec.document = (char *)doc_a;
    assert_int_equal(chan_store_channel_put(g_store, &revision, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_string_equal(got->waiver_reason, "reason A of twenty chars");
    assert_null(got->waiver_approved_by);
    chan_channel_record_free(got);

    assert_int_equal(chan_store_channel_waiver_approve(g_store, name, "root", &err), 0);
    assert_int_equal(chan_store_channel_waiver_approve(g_store, name, "other", &err), 0);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_string_equal(got->waiver_approved_by, "root"); /* the second call wrote nothing */
    assert_true(got->waiver_approved_at > 0);
    assert_int_equal(got->revision, revision + 1);
    chan_channel_record_free(got);

    /* Same compatibility and reason, another field: the approval stays. */
    rec.peak_qps = 501;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_string_equal(got->waiver_approved_by, "root");
    chan_channel_record_free(got);
    /* Another reason: cleared. */
    rec.document = (char *)doc_b;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_string_equal(got->waiver_reason, "reason B of twenty chars");
    assert_null(got->waiver_approved_by);
    assert_int_equal(got->waiver_approved_at, 0);
    chan_channel_record_free(got);
    /* Approved again, then another compatibility: cleared. */
    assert_int_equal(chan_store_channel_waiver_approve(g_store, name, "root", &err), 0);
    rec.compatibility = "FORWARD";
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_null(got->waiver_approved_by);
    chan_channel_record_free(got);
}

/* The tombstone of name among the listed ones (NULL when absent). */
static const chan_channel_tombstone *find_tombstone(chan_channel_tombstone **list, size_t n,
                                                    const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->name, name) == 0)
            return list[i];
    return NULL;
}

static void test_tombstone_on_delete_and_cleared_on_recreate(void **state)
{
    const char *name = uniq("tomb");
    chan_consumer_record cons[3];
    chan_channel_record rec;
    chan_channel_tombstone **list = NULL;
    const chan_channel_tombstone *t;
    chan_audit_entry **last;
    chan_error err = CHAN_ERROR_INIT;
    char *obj = chan_xasprintf("channel/%s", name);
    size_t n = 0;

    (void)state;
    fill_consumer(&cons[0], "a", "g2", 10);
    fill_consumer(&cons[1], "b", "g1", 10);
    fill_consumer(&cons[2], "c", "g2", 10);
    fill_channel(&rec, name, "t", cons, 3, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_tombstone_list(g_store, &list, &n, &err), 0);
    assert_null(find_tombstone(list, n, name));
    chan_channel_tombstone_list_free(list, n);

    /* Delete: topic and the distinct groups, sorted, in the same transaction. */
    assert_int_equal(chan_store_channel_delete(g_store, name, "ops", &err), 0);
    assert_int_equal(chan_store_tombstone_list(g_store, &list, &n, &err), 0);
    assert_non_null(t = find_tombstone(list, n, name));
    assert_string_equal(t->owner_team, "t");
    assert_string_equal(t->topic, name);
    assert_int_equal(t->n_groups, 2);
    assert_string_equal(t->groups[0], "g1");
    assert_string_equal(t->groups[1], "g2");
    assert_string_equal(t->deleted_by, "ops");
    assert_true(t->deleted_at > 0);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(list[i - 1]->name, list[i]->name) < 0);
    chan_channel_tombstone_list_free(list, n);
    last = audit_last(obj);
    assert_string_equal(last[0]->action, "channel.delete");
    assert_non_null(strstr(last[0]->detail, "\"tombstone\":true"));
    chan_audit_entry_list_free(last, 1);

    /* Created again: the tombstone goes.  Deleted again: a new one, without groups. */
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_tombstone_list(g_store, &list, &n, &err), 0);
    assert_null(find_tombstone(list, n, name));
    chan_channel_tombstone_list_free(list, n);
    rec.n_consumers = 0;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    assert_int_equal(chan_store_channel_delete(g_store, name, "ci", &err), 0);
    assert_int_equal(chan_store_tombstone_list(g_store, &list, &n, &err), 0);
    assert_non_null(t = find_tombstone(list, n, name));
    assert_int_equal(t->n_groups, 0);
    assert_string_equal(t->deleted_by, "ci");
    chan_channel_tombstone_list_free(list, n);
    free(obj);
}

static void test_acl_apply_record_is_one_transaction(void **state)
{
    chan_store *fresh = NULL;
    chan_audit_entry **last;
    chan_error err = CHAN_ERROR_INIT;
    const char *detail = "{\"trigger\":\"api\",\"created\":[{\"resource_name\":\"t\"}],"
                         "\"deleted\":[],\"failed\":[]}";
    const char *bindings = "[{\"resource_name\":\"t\"}]";
    char *got = NULL;
    int64_t at = 0;
    size_t before;

    (void)state;
    /* Never applied. */
    assert_int_equal(chan_store_open(&fresh, "sqlite::memory:", NULL, &err), 0);
    assert_int_equal(chan_store_acl_applied_get(fresh, &got, &at, &err), CHAN_ENOTFOUND);
    assert_null(got);
    chan_store_free(fresh);

    before = audit_count("acl");
    assert_int_equal(chan_store_acl_apply_record(g_store, "ops", detail, bindings, &err), 0);
    assert_int_equal(audit_count("acl"), before + 1);
    last = audit_last("acl");
    assert_string_equal(last[0]->action, "acl.apply");
    assert_string_equal(last[0]->object, "acl");
    assert_string_equal(last[0]->actor, "ops");
    assert_non_null(strstr(last[0]->detail, "\"trigger\":\"api\""));
    chan_audit_entry_list_free(last, 1);
    assert_int_equal(chan_store_acl_applied_get(g_store, &got, &at, &err), 0);
    assert_string_equal(got, bindings);
    assert_true(at > 0);
    free(got);

    /* Refused input writes neither the entry nor the state. */
    assert_int_equal(chan_store_acl_apply_record(g_store, "ops", "[]", "[]", &err), CHAN_EINVALID);
    assert_int_equal(chan_store_acl_apply_record(g_store, "ops", detail, "{}", &err),
                     CHAN_EINVALID);
    assert_int_equal(audit_count("acl"), before + 1);
    assert_int_equal(chan_store_acl_applied_get(g_store, &got, NULL, &err), 0);
    assert_string_equal(got, bindings);
    free(got);

    /* The next record replaces the state. */
    assert_int_equal(chan_store_acl_apply_record(g_store, NULL, detail, "[]", &err), 0);
    assert_int_equal(chan_store_acl_applied_get(g_store, &got, NULL, &err), 0);
    assert_string_equal(got, "[]");
    free(got);
    last = audit_last("acl");
    assert_string_equal(last[0]->actor, "anonymous");
    chan_audit_entry_list_free(last, 1);
}

static void test_consumer_put_checked_rules(void **state)
{
    const char *name = uniq("checked");
    chan_consumer_put_options opts = CHAN_CONSUMER_PUT_OPTIONS_INIT;
    chan_channel_record rec, *got = NULL;
    chan_consumer_record c;
    chan_error err = CHAN_ERROR_INIT;
    char *obj = chan_xasprintf("channel/%s/consumer/", name);
    bool created = false;
    size_t audits;

    fill_channel(&rec, name, "t", NULL, 0, NULL, 0);
    rec.deprecation_date = "2026-06-30";
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);

    /* Before the deprecation date a new consumer is accepted. */
    opts.refuse_new_from = "2026-06-29";
    opts.unique_group = true;
    fill_consumer(&c, "billing", "billing-g", 300);
    c.channel = (char *)name;
    assert_int_equal(chan_store_consumer_put_checked(g_store, &created, &c, &opts, "svc", &err), 0);
    assert_true(created);

    /* Another consumer with the same group is refused, nothing written. */
    audits = audit_count(obj);
    fill_consumer(&c, "fraud", "billing-g", 300);
    c.channel = (char *)name;
    expect_reason(chan_store_consumer_put_checked(g_store, &created, &c, &opts, "svc", &err),
                  CHAN_EEXISTS, CHAN_STORE_R_GROUP_IN_USE, &err);
    assert_non_null(strstr(err.message, "billing"));

    /* From the deprecation date on: no new consumer, but updates go on. */
    opts.refuse_new_from = "2026-06-30";
    c.group = "fraud-g";
    expect_reason(chan_store_consumer_put_checked(g_store, &created, &c, &opts, "svc", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_CHANNEL_DEPRECATED, &err);
    assert_int_equal(audit_count(obj), audits);
    fill_consumer(&c, "billing", "billing-g", 999);
    c.channel = (char *)name;
    assert_int_equal(chan_store_consumer_put_checked(g_store, &created, &c, &opts, "svc", &err), 0);
    assert_false(created);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_int_equal(got->n_consumers, 1);
    assert_int_equal(got->consumers[0].sla_p99_ms, 999);
    chan_channel_record_free(got);

    /* A new principal is new access: refused like a new consumer. */
    audits = audit_count(obj);
    c.principal = "User:someone-else";
    expect_reason(chan_store_consumer_put_checked(g_store, &created, &c, &opts, "svc", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_CHANNEL_DEPRECATED, &err);
    /* So is approving one that was not approved; keeping it pending is not. */
    c.principal = "User:svc";
    c.state = CHAN_CONSUMER_PENDING;
    assert_int_equal(chan_store_consumer_put_checked(g_store, &created, &c, &opts, "svc", &err), 0);
    c.state = CHAN_CONSUMER_APPROVED;
    expect_reason(chan_store_consumer_put_checked(g_store, &created, &c, &opts, "svc", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_CHANNEL_DEPRECATED, &err);
    assert_int_equal(audit_count(obj), audits + 1);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_string_equal(got->consumers[0].principal, "User:svc");
    assert_int_equal(got->consumers[0].state, CHAN_CONSUMER_PENDING);
    chan_channel_record_free(got);
    free(obj);
}

static void test_consumer_put_renew_delete_list(void **state)
{
    const char *name = uniq("cons"), *name2 = uniq("cons");
    chan_channel_record rec, *got = NULL;
    chan_consumer_record c, **list = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *obj = chan_xasprintf("channel/%s/consumer/", name);
    bool created = false;
    size_t n = 0;

    fill_channel(&rec, name, "t", NULL, 0, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    fill_channel(&rec, name2, "t", NULL, 0, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);

    fill_consumer(&c, "z-last", "g", 300);
    c.channel = (char *)name;
    c.origin = CHAN_CONSUMER_ORIGIN_API; /* registered over REST: removable one by one */
    assert_int_equal(chan_store_consumer_put(g_store, &created, &c, "svc", &err), 0);
    assert_true(created);
    fill_consumer(&c, "a-first", "g", 300);
    c.channel = (char *)name;
    c.origin = CHAN_CONSUMER_ORIGIN_API;
    assert_int_equal(chan_store_consumer_put(g_store, &created, &c, "svc", &err), 0);
    assert_true(created);
    c.channel = (char *)name2;
    assert_int_equal(chan_store_consumer_put(g_store, &created, &c, "svc", &err), 0);
    c.channel = (char *)name;
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_int_equal(got->revision, 3); /* each new consumer changes the channel */
    assert_int_equal(got->n_consumers, 2);
    chan_channel_record_free(got);

    /* Identical: only renewed, the channel does not change. */
    assert_int_equal(chan_store_consumer_put(g_store, &created, &c, "svc", &err), 0);
    assert_false(created);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_int_equal(got->revision, 3);
    chan_channel_record_free(got);
    {
        chan_audit_entry **last = audit_last(obj);
        assert_string_equal(last[0]->action, "consumer.renew");
        chan_audit_entry_list_free(last, 1);
    }
    /* Changed: updated in place. */
    c.degradation = "pause";
    assert_int_equal(chan_store_consumer_put(g_store, &created, &c, "svc", &err), 0);
    assert_false(created);
    assert_int_equal(chan_store_consumer_list(g_store, &list, &n, name, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0]->name, "a-first");
    assert_string_equal(list[0]->degradation, "pause");
    assert_string_equal(list[1]->name, "z-last");
    chan_consumer_record_list_free(list, n);

    assert_int_equal(chan_store_consumer_renew(g_store, name, "z-last", "svc", &err), 0);
    expect_reason(chan_store_consumer_renew(g_store, name, "nobody", "svc", &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CONSUMER_NOT_FOUND, &err);
    expect_reason(chan_store_consumer_renew(g_store, uniq("nochan"), "z-last", "svc", &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND, &err);

    assert_int_equal(chan_store_consumer_delete(g_store, name, "z-last", "svc", &err), 0);
    expect_reason(chan_store_consumer_delete(g_store, name, "z-last", "svc", &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CONSUMER_NOT_FOUND, &err);
    expect_reason(chan_store_consumer_delete(g_store, uniq("nochan"), "z-last", "svc", &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_CHANNEL_NOT_FOUND, &err);
    c.channel = (char *)uniq("nochan");
    expect_reason(chan_store_consumer_put(g_store, &created, &c, "svc", &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CHANNEL_NOT_FOUND, &err);

    /* All channels: ordered by channel then name. */
    assert_int_equal(chan_store_consumer_list(g_store, &list, &n, NULL, &err), 0);
    {
        int mine = 0;
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                int cmp = strcmp(list[i - 1]->channel, list[i]->channel);
                assert_true(cmp < 0 || (cmp == 0 && strcmp(list[i - 1]->name, list[i]->name) < 0));
            }
            if (strcmp(list[i]->channel, name) == 0 || strcmp(list[i]->channel, name2) == 0)
                mine++;
        }
        assert_int_equal(mine, 2);
    }
    chan_consumer_record_list_free(list, n);
    /* register, register, renew, update, renew, remove */
    assert_int_equal(audit_count(obj), 6);
    free(obj);
}

/* ------------------------------------------------------------------ */
/* Consumer governance: origin, state, drift, decisions                */
/* ------------------------------------------------------------------ */

/* An API registration of consumer name (group "<name>-g") on channel, in state. */
static void put_api_consumer(const char *channel, const char *name, chan_consumer_state state)
{
    chan_consumer_record c;
    chan_error err = CHAN_ERROR_INIT;
    char group[64];

    snprintf(group, sizeof(group), "%s-g", name);
    fill_consumer(&c, name, group, 300);
    c.channel = (char *)channel;
    c.origin = CHAN_CONSUMER_ORIGIN_API;
    c.state = state;
    c.requester_team = "billing";
    c.requested_by = "billing-team";
    if (chan_store_consumer_put(g_store, NULL, &c, "billing-team", &err) != 0)
        fail_msg("consumer put %s: %s", name, err.message);
}

/* The stored consumer name of channel (caller frees), or NULL. */
static chan_consumer_record *stored_consumer(const char *channel, const char *name)
{
    chan_channel_record *got = NULL;
    chan_consumer_record *out = NULL;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_store_channel_get(g_store, &got, channel, &err), 0);
    for (size_t i = 0; i < got->n_consumers; i++)
        if (strcmp(got->consumers[i].name, name) == 0) {
            out = chan_xcalloc(1, sizeof(*out));
            *out = got->consumers[i];
            memset(&got->consumers[i], 0, sizeof(got->consumers[i]));
        }
    chan_channel_record_free(got);
    return out;
}

static void test_api_consumer_survives_channel_put(void **state)
{
    const char *name = uniq("gov.survive");
    chan_consumer_record cons[2], *c;
    chan_channel_record rec;
    chan_channel_put_result res;
    chan_error err = CHAN_ERROR_INIT;

    fill_consumer(&cons[0], "billing", "billing-g", 200);
    fill_consumer(&cons[1], "analytics", "analytics-g", 200);
    fill_channel(&rec, name, "orders", cons, 2, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    put_api_consumer(name, "fraud", CHAN_CONSUMER_APPROVED);

    /* The contract drops analytics: it goes, fraud (API) stays. */
    rec.n_consumers = 1;
    assert_int_equal(chan_store_channel_put_ex(g_store, &res, &rec, NULL, "ci", &err), 0);
    assert_true(res.changed);
    assert_false(res.created);
    assert_int_equal(res.n_drift, 1);
    assert_string_equal(res.drift[0].name, "fraud");
    assert_int_equal(res.drift[0].origin, CHAN_CONSUMER_ORIGIN_API);
    assert_int_equal(res.n_adopted, 0);
    chan_channel_put_result_dispose(&res);
    assert_null(stored_consumer(name, "analytics"));
    c = stored_consumer(name, "fraud");
    assert_non_null(c);
    assert_int_equal(c->origin, CHAN_CONSUMER_ORIGIN_API);
    assert_string_equal(c->requester_team, "billing");
    assert_string_equal(c->requested_by, "billing-team");
    chan_consumer_record_free(c);
    c = stored_consumer(name, "billing");
    assert_int_equal(c->origin, CHAN_CONSUMER_ORIGIN_CONTRACT);
    assert_int_equal(c->state, CHAN_CONSUMER_APPROVED);
    chan_consumer_record_free(c);
}

static void test_drift_reported(void **state)
{
    const char *name = uniq("gov.drift");
    chan_consumer_record cons[1];
    chan_channel_record rec;
    chan_channel_put_result res;
    chan_error err = CHAN_ERROR_INIT;
    char *obj = chan_xasprintf("channel/%s", name);
    size_t audits;

    fill_consumer(&cons[0], "billing", "billing-g", 200);
    fill_channel(&rec, name, "orders", cons, 1, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    put_api_consumer(name, "zeta", CHAN_CONSUMER_PENDING);
    put_api_consumer(name, "alpha", CHAN_CONSUMER_APPROVED);
    audits = audit_count(obj);

    /* The same contract again: nothing written, the API consumers reported by name. */
    assert_int_equal(chan_store_channel_put_ex(g_store, &res, &rec, NULL, "ci", &err), 0);
    assert_false(res.changed);
    assert_int_equal(res.revision, 3);
    assert_int_equal(res.n_drift, 2);
    assert_string_equal(res.drift[0].name, "alpha");
    assert_string_equal(res.drift[1].name, "zeta");
    assert_int_equal(res.drift[1].state, CHAN_CONSUMER_PENDING);
    assert_string_equal(res.drift[1].channel, name);
    chan_channel_put_result_dispose(&res);
    assert_int_equal(audit_count(obj), audits);
    free(obj);
}

static void test_adopt_api_consumer(void **state)
{
    const char *name = uniq("gov.adopt");
    chan_consumer_record cons[2], *c;
    chan_channel_record rec;
    chan_channel_put_result res;
    chan_error err = CHAN_ERROR_INIT;
    char *obj = chan_xasprintf("channel/%s", name);

    fill_consumer(&cons[0], "billing", "billing-g", 200);
    fill_channel(&rec, name, "orders", cons, 1, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    put_api_consumer(name, "fraud", CHAN_CONSUMER_PENDING);

    /* The contract now lists fraud (same fields): adopted, approved. */
    fill_consumer(&cons[1], "fraud", "fraud-g", 300);
    rec.n_consumers = 2;
    assert_int_equal(chan_store_channel_put_ex(g_store, &res, &rec, NULL, "ci", &err), 0);
    assert_true(res.changed);
    assert_int_equal(res.n_adopted, 1);
    assert_string_equal(res.adopted[0], "fraud");
    assert_int_equal(res.n_drift, 0);
    chan_channel_put_result_dispose(&res);
    c = stored_consumer(name, "fraud");
    assert_int_equal(c->origin, CHAN_CONSUMER_ORIGIN_CONTRACT);
    assert_int_equal(c->state, CHAN_CONSUMER_APPROVED);
    assert_string_equal(c->decided_by, "ci");
    assert_true(c->decided_at > 0);
    chan_consumer_record_free(c);
    {
        chan_audit_entry **last = audit_last(obj);
        json_t *detail = json_loads(last[0]->detail, 0, NULL);

        assert_string_equal(last[0]->action, "channel.update");
        assert_string_equal(
            json_string_value(json_array_get(json_object_get(detail, "adopted"), 0)), "fraud");
        json_decref(detail);
        chan_audit_entry_list_free(last, 1);
    }
    /* Adopted: a contract consumer now, so a later contract without it removes it. */
    rec.n_consumers = 1;
    assert_int_equal(chan_store_channel_put_ex(g_store, &res, &rec, NULL, "ci", &err), 0);
    assert_int_equal(res.n_drift, 0);
    chan_channel_put_result_dispose(&res);
    assert_null(stored_consumer(name, "fraud"));
    free(obj);
}

/* The audit detail of entry e, member key, as a string (asserted present). */
static void expect_detail(const chan_audit_entry *e, const char *key, const char *value)
{
    json_t *detail = json_loads(e->detail, 0, NULL);

    assert_non_null(detail);
    assert_string_equal(json_string_value(json_object_get(detail, key)), value);
    json_decref(detail);
}

/* Adopting a pending or rejected API consumer is an approval: audited, not in a dry run. */
static void test_adopt_audits_approval(void **state)
{
    const char *name = uniq("gov.adopt-audit");
    chan_channel_put_options opts = CHAN_CHANNEL_PUT_OPTIONS_INIT;
    chan_consumer_record cons[4], *c;
    chan_channel_record rec;
    chan_channel_put_result res;
    chan_error err = CHAN_ERROR_INIT;
    char *prefix = chan_xasprintf("channel/%s/consumer/", name);
    char *obj;
    size_t before;

    fill_consumer(&cons[0], "billing", "billing-g", 200);
    fill_channel(&rec, name, "orders", cons, 1, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    put_api_consumer(name, "fraud", CHAN_CONSUMER_PENDING);
    put_api_consumer(name, "spam", CHAN_CONSUMER_REJECTED);
    put_api_consumer(name, "keep", CHAN_CONSUMER_APPROVED);
    fill_consumer(&cons[1], "fraud", "fraud-g", 300);
    fill_consumer(&cons[2], "spam", "spam-g", 300);
    fill_consumer(&cons[3], "keep", "keep-g", 300);
    rec.n_consumers = 4;
    before = audit_count(prefix);

    /* A dry run audits nothing. */
    opts.dry_run = true;
    assert_int_equal(chan_store_channel_put_ex(g_store, &res, &rec, &opts, "ci", &err), 0);
    assert_int_equal(res.n_adopted, 3);
    chan_channel_put_result_dispose(&res);
    assert_int_equal(audit_count(prefix), before);

    opts.dry_run = false;
    assert_int_equal(chan_store_channel_put_ex(g_store, &res, &rec, &opts, "ci", &err), 0);
    assert_int_equal(res.n_adopted, 3);
    chan_channel_put_result_dispose(&res);
    /* One consumer.approve each for fraud and spam; keep was approved already. */
    assert_int_equal(audit_count(prefix), before + 2);
    for (int i = 0; i < 2; i++) {
        const char *who = i == 0 ? "fraud" : "spam";
        chan_audit_entry **last;

        obj = chan_xasprintf("channel/%s/consumer/%s", name, who);
        last = audit_last(obj);
        assert_string_equal(last[0]->action, "consumer.approve");
        assert_string_equal(last[0]->object, obj);
        assert_string_equal(last[0]->actor, "ci");
        expect_detail(last[0], "via", "contract");
        expect_detail(last[0], "previous_state", i == 0 ? "pending" : "rejected");
        expect_detail(last[0], "requested_by", "billing-team");
        chan_audit_entry_list_free(last, 1);
        c = stored_consumer(name, who);
        assert_int_equal(c->state, CHAN_CONSUMER_APPROVED);
        assert_string_equal(c->decided_by, "ci");
        assert_true(c->decided_at > 0);
        chan_consumer_record_free(c);
        free(obj);
    }
    obj = chan_xasprintf("channel/%s/consumer/keep", name);
    {
        chan_audit_entry **last = audit_last(obj);

        assert_string_not_equal(last[0]->action, "consumer.approve");
        chan_audit_entry_list_free(last, 1);
    }
    free(obj);

    /* The same contract again changes and audits nothing. */
    assert_int_equal(chan_store_channel_put_ex(g_store, &res, &rec, &opts, "ci", &err), 0);
    assert_false(res.changed);
    chan_channel_put_result_dispose(&res);
    assert_int_equal(audit_count(prefix), before + 2);
    free(prefix);
}

/* A put result as text, to compare a dry run with the real run. */
static char *result_text(const chan_channel_put_result *r)
{
    chan_buf b = CHAN_BUF_INIT;

    chan_buf_printf(&b, "rev=%lld created=%d changed=%d drift=", (long long)r->revision,
                    (int)r->created, (int)r->changed);
    for (size_t i = 0; i < r->n_drift; i++)
        chan_buf_printf(&b, "%s/%s/%s,", r->drift[i].name,
                        chan_consumer_state_name(r->drift[i].state),
                        chan_consumer_origin_name(r->drift[i].origin));
    chan_buf_puts(&b, " adopted=");
    for (size_t i = 0; i < r->n_adopted; i++)
        chan_buf_printf(&b, "%s,", r->adopted[i]);
    return chan_buf_take(&b);
}

static void test_channel_put_dry_run_writes_nothing(void **state)
{
    const char *name = uniq("gov.dry"), *fresh = uniq("gov.dry-new");
    chan_channel_put_options opts = CHAN_CHANNEL_PUT_OPTIONS_INIT;
    chan_consumer_record cons[3];
    chan_channel_record rec, *before = NULL, *after = NULL;
    chan_channel_put_result dry, real;
    chan_error err = CHAN_ERROR_INIT;
    char *dry_text, *real_text;
    int64_t audit_before;

    fill_consumer(&cons[0], "billing", "billing-g", 200);
    fill_consumer(&cons[1], "analytics", "analytics-g", 200);
    fill_channel(&rec, name, "orders", cons, 2, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    put_api_consumer(name, "fraud", CHAN_CONSUMER_PENDING);
    put_api_consumer(name, "audit", CHAN_CONSUMER_APPROVED);

    /* analytics goes, fraud is adopted, audit stays as drift, billing changes. */
    cons[0].sla_p99_ms = 100;
    fill_consumer(&cons[1], "fraud", "fraud-g", 300);
    assert_int_equal(chan_store_channel_get(g_store, &before, name, &err), 0);
    audit_before = max_audit_id();
    opts.dry_run = true;
    assert_int_equal(chan_store_channel_put_ex(g_store, &dry, &rec, &opts, "ci", &err), 0);
    assert_int_equal(max_audit_id(), audit_before);
    assert_int_equal(chan_store_channel_get(g_store, &after, name, &err), 0);
    assert_int_equal(after->revision, before->revision);
    assert_int_equal(after->n_consumers, before->n_consumers);
    for (size_t i = 0; i < after->n_consumers; i++) {
        assert_string_equal(after->consumers[i].name, before->consumers[i].name);
        assert_int_equal(after->consumers[i].sla_p99_ms, before->consumers[i].sla_p99_ms);
        assert_int_equal(after->consumers[i].origin, before->consumers[i].origin);
        assert_int_equal(after->consumers[i].state, before->consumers[i].state);
    }
    chan_channel_record_free(after);

    /* The real run reports what the dry run said. */
    opts.dry_run = false;
    assert_int_equal(chan_store_channel_put_ex(g_store, &real, &rec, &opts, "ci", &err), 0);
    dry_text = result_text(&dry);
    real_text = result_text(&real);
    assert_string_equal(dry_text, real_text);
    assert_string_equal(real_text, "rev=4 created=0 changed=1 drift=audit/approved/api, "
                                   "adopted=fraud,");
    assert_true(max_audit_id() > audit_before);
    free(dry_text);
    free(real_text);
    chan_channel_put_result_dispose(&dry);
    chan_channel_put_result_dispose(&real);

    /* A new channel: the dry run creates nothing. */
    fill_channel(&rec, fresh, "orders", cons, 1, NULL, 0);
    opts.dry_run = true;
    assert_int_equal(chan_store_channel_put_ex(g_store, &dry, &rec, &opts, "ci", &err), 0);
    assert_true(dry.created && dry.changed);
    assert_int_equal(dry.revision, 1);
    chan_channel_put_result_dispose(&dry);
    expect_reason(chan_store_channel_get(g_store, &after, fresh, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CHANNEL_NOT_FOUND, &err);
    chan_channel_record_free(before);
}

typedef struct check_seen {
    int calls;
    bool had_old;
    size_t next_consumers;
    char last_name[64];
} check_seen;

static int refuse_check(void *ctx, const chan_channel_record *old, const chan_channel_record *next,
                        chan_error *err)
{
    check_seen *seen = ctx;

    seen->calls++;
    seen->had_old = old != NULL;
    seen->next_consumers = next->n_consumers;
    snprintf(seen->last_name, sizeof(seen->last_name), "%s",
             next->consumers[next->n_consumers - 1].name);
    return chan_error_set(err, CHAN_ECONFLICT, "refused by the check");
}

static void test_check_callback_refuses(void **state)
{
    const char *name = uniq("gov.check");
    chan_channel_put_options opts = CHAN_CHANNEL_PUT_OPTIONS_INIT;
    chan_consumer_record cons[2];
    chan_channel_record rec, *got = NULL;
    chan_channel_put_result res;
    chan_error err = CHAN_ERROR_INIT;
    check_seen seen = {0};
    int64_t audit_before;

    fill_consumer(&cons[0], "billing", "billing-g", 200);
    fill_channel(&rec, name, "orders", cons, 1, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    put_api_consumer(name, "zz-api", CHAN_CONSUMER_APPROVED);

    fill_consumer(&cons[1], "new-one", "new-g", 200);
    rec.n_consumers = 2;
    opts.check = refuse_check;
    opts.check_ctx = &seen;
    audit_before = max_audit_id();
    assert_int_equal(chan_store_channel_put_ex(g_store, &res, &rec, &opts, "ci", &err),
                     CHAN_ECONFLICT);
    assert_string_equal(err.message, "refused by the check");
    assert_int_equal(res.n_drift, 0);
    assert_int_equal(seen.calls, 1);
    assert_true(seen.had_old);
    /* next: the contract's two consumers, then the kept API consumer */
    assert_int_equal(seen.next_consumers, 3);
    assert_string_equal(seen.last_name, "zz-api");
    assert_int_equal(max_audit_id(), audit_before);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_int_equal(got->revision, 2);
    assert_int_equal(got->n_consumers, 2);
    chan_channel_record_free(got);
}

static void test_consumer_put_contract_managed(void **state)
{
    const char *name = uniq("gov.managed");
    chan_consumer_record cons[1], c;
    chan_channel_record rec;
    chan_error err = CHAN_ERROR_INIT;

    fill_consumer(&cons[0], "billing", "billing-g", 200);
    fill_channel(&rec, name, "orders", cons, 1, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    fill_consumer(&c, "billing", "billing-g", 999);
    c.channel = (char *)name;
    c.origin = CHAN_CONSUMER_ORIGIN_API;
    expect_reason(chan_store_consumer_put(g_store, NULL, &c, "svc", &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_CONTRACT_MANAGED, &err);
    assert_non_null(strstr(err.message, "managed by the contract"));
}

/* An approval grants new access: refused on a deprecated channel, under the lock. */
static void test_decide_checked_deprecated(void **state)
{
    const char *name = uniq("gov.decide-dep");
    chan_consumer_put_options opts = CHAN_CONSUMER_PUT_OPTIONS_INIT;
    chan_channel_record rec;
    chan_consumer_record *c;
    chan_error err = CHAN_ERROR_INIT;
    char *obj;
    size_t audits;

    (void)state;
    fill_channel(&rec, name, "orders", NULL, 0, NULL, 0);
    rec.deprecation_date = "2026-06-30";
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err), 0);
    put_api_consumer(name, "fraud", CHAN_CONSUMER_PENDING);
    put_api_consumer(name, "spam", CHAN_CONSUMER_PENDING);
    obj = chan_xasprintf("channel/%s/consumer/", name);
    audits = audit_count(obj);

    opts.refuse_new_from = "2026-06-30";
    expect_reason(chan_store_consumer_decide_checked(g_store, name, "fraud", CHAN_CONSUMER_APPROVED,
                                                     NULL, &opts, "orders-team", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_CHANNEL_DEPRECATED, &err);
    assert_int_equal(audit_count(obj), audits);
    c = stored_consumer(name, "fraud");
    assert_int_equal(c->state, CHAN_CONSUMER_PENDING);
    chan_consumer_record_free(c);
    /* A rejection gives no access: allowed. */
    assert_int_equal(chan_store_consumer_decide_checked(g_store, name, "spam",
                                                        CHAN_CONSUMER_REJECTED, "late", &opts,
                                                        "orders-team", &err),
                     0);
    /* Before the deprecation date the approval goes through. */
    opts.refuse_new_from = "2026-06-29";
    assert_int_equal(chan_store_consumer_decide_checked(g_store, name, "fraud",
                                                        CHAN_CONSUMER_APPROVED, NULL, &opts,
                                                        "orders-team", &err),
                     0);
    assert_int_equal(audit_count(obj), audits + 2);
    free(obj);
}

static void test_decide_pending_only(void **state)
{
    const char *name = uniq("gov.decide");
    chan_channel_record rec, *got = NULL;
    chan_consumer_record *c;
    chan_error err = CHAN_ERROR_INIT;
    char *obj;
    int64_t rev;

    fill_channel(&rec, name, "orders", NULL, 0, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    put_api_consumer(name, "fraud", CHAN_CONSUMER_PENDING);
    put_api_consumer(name, "spam", CHAN_CONSUMER_PENDING);
    put_api_consumer(name, "owned", CHAN_CONSUMER_APPROVED);

    /* Only pending registrations are decided. */
    expect_reason(chan_store_consumer_decide(g_store, name, "owned", CHAN_CONSUMER_APPROVED, NULL,
                                             "orders-team", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_NOT_PENDING, &err);
    expect_reason(chan_store_consumer_decide(g_store, name, "nobody", CHAN_CONSUMER_APPROVED, NULL,
                                             "orders-team", &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_CONSUMER_NOT_FOUND, &err);
    /* A rejection needs a reason; PENDING is no decision. */
    assert_int_equal(chan_store_consumer_decide(g_store, name, "spam", CHAN_CONSUMER_REJECTED, NULL,
                                                "orders-team", &err),
                     CHAN_EINVALID);
    assert_int_equal(chan_store_consumer_decide(g_store, name, "spam", CHAN_CONSUMER_REJECTED, "",
                                                "orders-team", &err),
                     CHAN_EINVALID);
    assert_int_equal(chan_store_consumer_decide(g_store, name, "spam", CHAN_CONSUMER_PENDING, NULL,
                                                "orders-team", &err),
                     CHAN_EINVALID);

    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    rev = got->revision;
    chan_channel_record_free(got);
    assert_int_equal(chan_store_consumer_decide(g_store, name, "fraud", CHAN_CONSUMER_APPROVED,
                                                NULL, "orders-team", &err),
                     0);
    c = stored_consumer(name, "fraud");
    assert_int_equal(c->state, CHAN_CONSUMER_APPROVED);
    assert_string_equal(c->decided_by, "orders-team");
    assert_true(c->decided_at > 0);
    assert_null(c->decision_reason);
    chan_consumer_record_free(c);
    expect_reason(chan_store_consumer_decide(g_store, name, "fraud", CHAN_CONSUMER_REJECTED,
                                             "too late", "orders-team", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_NOT_PENDING, &err);

    assert_int_equal(chan_store_consumer_decide(g_store, name, "spam", CHAN_CONSUMER_REJECTED,
                                                "no business reading orders", "orders-team", &err),
                     0);
    c = stored_consumer(name, "spam");
    assert_int_equal(c->state, CHAN_CONSUMER_REJECTED);
    assert_string_equal(c->decision_reason, "no business reading orders");
    chan_consumer_record_free(c);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_int_equal(got->revision, rev + 2);
    chan_channel_record_free(got);

    obj = chan_xasprintf("channel/%s/consumer/spam", name);
    {
        chan_audit_entry **last = audit_last(obj);
        json_t *detail = json_loads(last[0]->detail, 0, NULL);

        assert_string_equal(last[0]->action, "consumer.reject");
        assert_string_equal(last[0]->actor, "orders-team");
        assert_string_equal(json_string_value(json_object_get(detail, "reason")),
                            "no business reading orders");
        json_decref(detail);
        chan_audit_entry_list_free(last, 1);
    }
    free(obj);
    obj = chan_xasprintf("channel/%s/consumer/fraud", name);
    {
        chan_audit_entry **list = NULL;
        size_t n = 0;

        assert_int_equal(chan_store_audit_list(g_store, &list, &n, 0, 0, obj, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(list[0]->action, "consumer.request");
        assert_string_equal(list[1]->action, "consumer.approve");
        chan_audit_entry_list_free(list, n);
    }
    free(obj);
}

static void test_renew_refuses_pending(void **state)
{
    const char *name = uniq("gov.renew");
    chan_channel_record rec;
    chan_error err = CHAN_ERROR_INIT;

    fill_channel(&rec, name, "orders", NULL, 0, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    put_api_consumer(name, "fraud", CHAN_CONSUMER_PENDING);
    expect_reason(chan_store_consumer_renew(g_store, name, "fraud", "svc", &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_NOT_APPROVED, &err);
    assert_int_equal(chan_store_consumer_decide(g_store, name, "fraud", CHAN_CONSUMER_REJECTED,
                                                "not needed", "orders-team", &err),
                     0);
    expect_reason(chan_store_consumer_renew(g_store, name, "fraud", "svc", &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_NOT_APPROVED, &err);
    put_api_consumer(name, "ok", CHAN_CONSUMER_APPROVED);
    assert_int_equal(chan_store_consumer_renew(g_store, name, "ok", "svc", &err), 0);
}

static void test_delete_refuses_contract_consumer(void **state)
{
    const char *name = uniq("gov.delete");
    chan_consumer_record cons[1];
    chan_channel_record rec, *got = NULL;
    chan_error err = CHAN_ERROR_INIT;

    fill_consumer(&cons[0], "billing", "billing-g", 200);
    fill_channel(&rec, name, "orders", cons, 1, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, 0, "ci", &err), 0);
    put_api_consumer(name, "fraud", CHAN_CONSUMER_PENDING);
    expect_reason(chan_store_consumer_delete(g_store, name, "billing", "svc", &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_CONTRACT_MANAGED, &err);
    assert_int_equal(chan_store_consumer_delete(g_store, name, "fraud", "svc", &err), 0);
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_int_equal(got->n_consumers, 1);
    assert_string_equal(got->consumers[0].name, "billing");
    chan_channel_record_free(got);
}

/* Run sql on the database of url with the backend's shell (sqlite3 or psql); 0 on success. */
static int run_sql(const char *url, const char *sql)
{
    char *cmd;
    FILE *p;
    int rc;

    if (strncmp(url, "sqlite:", 7) == 0)
        cmd = chan_xstrdup("sqlite3 -bail \"$CHAN_SQL_DB\" >/dev/null");
    else
        cmd = chan_xstrdup("psql -q -X -v ON_ERROR_STOP=1 -d \"$CHAN_SQL_DB\" >/dev/null");
    setenv("CHAN_SQL_DB", strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url, 1);
    p = popen(cmd, "w");
    assert_non_null(p);
    fputs(sql, p);
    rc = pclose(p);
    free(cmd);
    return rc;
}

/*
 * A new empty database next to g_url's (caller frees), or NULL when none
 * can be made here (PostgreSQL without psql).
 */
static char *fresh_database(const char *what)
{
    char *name = chan_xasprintf("%s_%s", g_run, what), *url, *slash, *sql;

    if (strcmp(chan_store_backend_name(g_store), "sqlite") == 0) {
        if (g_tmpdir == NULL)
            g_tmpdir = make_tmpdir("chan-store-test");
        url = chan_xasprintf("sqlite:%s/%s.db", g_tmpdir, name);
        free(name);
        return url;
    }
    if (system("command -v psql >/dev/null 2>&1") != 0) {
        free(name);
        return NULL;
    }
    sql = chan_xasprintf("CREATE DATABASE %s;\n", name);
    if (run_sql(g_url, sql) != 0) {
        free(sql);
        free(name);
        return NULL;
    }
    free(sql);
    url = chan_xstrdup(g_url);
    slash = strrchr(url, '/');
    assert_non_null(slash);
    *slash = '\0';
    sql = chan_xasprintf("%s/%s", url, name);
    free(url);
    free(name);
    return sql;
}

/* Register text with identity (and references) in subject; asserts success. */
static chan_schema_version *reg_identity(const char *subject, const char *text,
                                         const char *identity, const chan_schema_reference *refs,
                                         size_t n_refs, bool *created)
{
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;
    chan_error err = CHAN_ERROR_INIT;

    req.subject = subject;
    req.schema = text;
    req.identity = identity;
    req.references = refs;
    req.n_references = n_refs;
    req.actor = "tester";
    if (chan_store_schema_register(g_store, &v, created, &req, &err) != 0)
        fail_msg("register %s: %s", subject, err.message);
    assert_non_null(v);
    return v;
}

static void test_schema_identity(void **state)
{
    char *s1 = chan_xasprintf("%s", uniq("ident")), *s2 = chan_xasprintf("%s", uniq("ident2"));
    char *ident = chan_xasprintf("identity-of-%s", s1);
    chan_schema_version *a, *b, *c, *found = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *text = NULL;
    bool created = false;

    (void)state;
    a = reg_identity(s1, "{\"text\":1}", ident, NULL, 0, &created);
    assert_true(created);
    /* another text with the same identity: the same version, nothing written */
    b = reg_identity(s1, "{\"text\":2}", ident, NULL, 0, &created);
    assert_false(created);
    assert_int_equal(b->version, a->version);
    assert_int_equal(b->id, a->id);
    assert_string_equal(b->schema, "{\"text\":1}");
    /* another subject: the same id, and the id keeps its first text */
    c = reg_identity(s2, "{\"text\":3}", ident, NULL, 0, &created);
    assert_true(created);
    assert_int_equal(c->id, a->id);
    assert_string_equal(c->schema, "{\"text\":1}");
    assert_int_equal(chan_store_schema_by_id(g_store, &text, NULL, a->id, &err), 0);
    assert_string_equal(text, "{\"text\":1}");
    /* lookup is by identity */
    assert_int_equal(chan_store_schema_lookup(g_store, &found, s1, ident, false, &err), 0);
    assert_int_equal(found->version, a->version);
    chan_schema_version_free(found);
    expect_reason(chan_store_schema_lookup(g_store, &found, s1, "{\"text\":1}", false, &err),
                  CHAN_ENOTFOUND, CHAN_STORE_R_SCHEMA_NOT_FOUND, &err);
    free(text);
    chan_schema_version_free(found);
    chan_schema_version_free(a);
    chan_schema_version_free(b);
    chan_schema_version_free(c);
    free(ident);
    free(s1);
    free(s2);
}

static void test_schema_references(void **state)
{
    char *sa = chan_xasprintf("%s", uniq("ref-a")), *sb = chan_xasprintf("%s", uniq("ref-b"));
    char *ta = chan_xasprintf("{\"a\":\"%s\"}", sa), *tb = chan_xasprintf("{\"b\":\"%s\"}", sb);
    chan_schema_reference ref = {"com.acme.A", sa, 1};
    chan_schema_version *a, *b, *got = NULL;
    chan_schema_reference *refs = NULL;
    chan_error err = CHAN_ERROR_INIT;
    int64_t *ids = NULL;
    size_t n = 0;
    int deleted = 0;

    (void)state;
    a = reg_identity(sa, ta, NULL, NULL, 0, NULL);
    b = reg_identity(sb, tb, NULL, &ref, 1, NULL);
    assert_int_equal(b->n_references, 1);
    assert_string_equal(b->references[0].subject, sa);
    assert_int_equal(chan_store_version_get(g_store, &got, sb, -1, false, &err), 0);
    assert_int_equal(got->n_references, 1);
    assert_string_equal(got->references[0].name, "com.acme.A");
    assert_int_equal(got->references[0].version, 1);
    assert_int_equal(chan_store_schema_references(g_store, &refs, &n, b->id, &err), 0);
    assert_int_equal(n, 1);
    chan_schema_reference_list_free(refs, n);
    for (int round = 0; round < 2; round++) { /* from the cache or the database, then cached */
        char *text = NULL, *type = NULL;

        assert_int_equal(
            chan_store_schema_by_id_refs(g_store, &text, &type, &refs, &n, b->id, &err), 0);
        assert_string_equal(text, tb);
        assert_string_equal(type, "AVRO");
        assert_int_equal(n, 1);
        assert_string_equal(refs[0].name, "com.acme.A");
        assert_string_equal(refs[0].subject, sa);
        assert_int_equal(refs[0].version, 1);
        chan_schema_reference_list_free(refs, n);
        free(text);
        free(type);
    }
    assert_int_equal(chan_store_schema_references(g_store, &refs, &n, a->id, &err), 0);
    assert_int_equal(n, 0);
    assert_null(refs);
    expect_reason(chan_store_schema_references(g_store, &refs, &n, INT64_MAX, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_SCHEMA_NOT_FOUND, &err);

    assert_int_equal(chan_store_referenced_by(g_store, &ids, &n, sa, 1, false, &err), 0);
    assert_int_equal(n, 1);
    assert_true(ids[0] == b->id);
    free(ids);
    {
        int *vs = NULL;

        assert_int_equal(
            chan_store_subject_versions_with_references(g_store, &vs, &n, sb, false, &err), 0);
        assert_int_equal(n, 1);
        assert_int_equal(vs[0], 1);
        free(vs);
        assert_int_equal(
            chan_store_subject_versions_with_references(g_store, &vs, &n, sa, true, &err), 0);
        assert_int_equal(n, 0);
        assert_null(vs);
    }
    expect_reason(chan_store_referenced_by(g_store, &ids, &n, sa, 9, false, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_VERSION_NOT_FOUND, &err);

    /* the referenced version stays while a referrer is live */
    expect_reason(chan_store_version_delete(g_store, &deleted, sa, 1, false, "t", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_REFERENCE_EXISTS, &err);
    assert_non_null(strstr(err.message, sa));
    expect_reason(chan_store_subject_delete(g_store, NULL, NULL, sa, false, "t", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_REFERENCE_EXISTS, &err);
    /* the referrer soft-deleted: a soft delete goes, a permanent one does not */
    assert_int_equal(chan_store_version_delete(g_store, &deleted, sb, 1, false, "t", &err), 0);
    assert_int_equal(chan_store_referenced_by(g_store, &ids, &n, sa, 1, false, &err), 0);
    assert_int_equal(n, 0);
    free(ids);
    assert_int_equal(chan_store_referenced_by(g_store, &ids, &n, sa, 1, true, &err), 0);
    assert_int_equal(n, 1);
    free(ids);
    assert_int_equal(chan_store_version_delete(g_store, &deleted, sa, 1, false, "t", &err), 0);
    expect_reason(chan_store_version_delete(g_store, &deleted, sa, 1, true, "t", &err),
                  CHAN_ECONFLICT, CHAN_STORE_R_REFERENCE_EXISTS, &err);
    assert_int_equal(chan_store_version_delete(g_store, &deleted, sb, 1, true, "t", &err), 0);
    assert_int_equal(chan_store_version_delete(g_store, &deleted, sa, 1, true, "t", &err), 0);

    /* bad references are refused before anything is written */
    ref.version = 0;
    {
        chan_schema_register_request req = {0};
        chan_schema_version *v = NULL;

        req.subject = sb;
        req.schema = "{\"other\":1}";
        req.references = &ref;
        req.n_references = 1;
        req.actor = "t";
        assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
        assert_null(v);
    }
    chan_schema_version_free(got);
    chan_schema_version_free(a);
    chan_schema_version_free(b);
    free(ta);
    free(tb);
    free(sa);
    free(sb);
}

/* chan_store_identity_fn of the test: "filled:" and the text. */
static int fill_fn(void *ctx, char **out, const char *type, const char *schema, chan_error *err)
{
    (*(int *)ctx)++;
    assert_string_equal(type, "AVRO");
    *out = chan_xasprintf("filled:%s", schema);
    return 0;
}

static void test_schema_fill_identity(void **state)
{
    char *s, *text, *sql, *ident;
    chan_schema_version *v, *found = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t n = 0;
    int calls = 0;

    (void)state;
    if (is_memory(g_url) || (strncmp(g_url, "sqlite:", 7) != 0 && strstr(g_url, "://") == NULL))
        skip(); /* no SQL from outside into :memory: or a plain path: the other runs cover it */
    s = chan_xasprintf("%s", uniq("fill"));
    text = chan_xasprintf("{\"fill\":\"%s\"}", s);
    ident = chan_xasprintf("filled:%s", text);
    v = reg(s, text, NULL);
    /* as a row written before migration 0007 */
    sql = chan_xasprintf(
        "UPDATE schemas SET identity = NULL, identity_hash = NULL WHERE id = %lld;\n",
        (long long)v->id);
    assert_int_equal(run_sql(g_url, sql), 0);
    free(sql);
    assert_int_equal(chan_store_schema_fill_identity(g_store, &n, fill_fn, &calls, &err), 0);
    assert_true(n >= 1);
    assert_int_equal((int)n, calls);
    assert_int_equal(chan_store_schema_lookup(g_store, &found, s, ident, false, &err), 0);
    assert_int_equal(found->id, v->id);
    /* nothing left to fill */
    assert_int_equal(chan_store_schema_fill_identity(g_store, &n, fill_fn, &calls, &err), 0);
    assert_int_equal(n, 0);
    chan_schema_version_free(found);
    chan_schema_version_free(v);
    free(ident);
    free(text);
    free(s);
}

static void test_normalize_setting(void **state)
{
    char *s = chan_xasprintf("%s", uniq("norm")), *level = NULL;
    chan_error err = CHAN_ERROR_INIT;
    bool on = true;

    (void)state;
    expect_reason(chan_store_normalize_get(g_store, &on, s, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CONFIG_NOT_FOUND, &err);
    assert_false(on);
    assert_int_equal(chan_store_normalize_set(g_store, s, 1, "t", &err), 0);
    assert_int_equal(chan_store_normalize_get(g_store, &on, s, &err), 0);
    assert_true(on);
    assert_int_equal(chan_store_config_set(g_store, s, "FULL", "t", &err), 0);
    assert_int_equal(chan_store_normalize_set(g_store, s, 0, "t", &err), 0);
    assert_int_equal(chan_store_normalize_get(g_store, &on, s, &err), 0);
    assert_false(on);
    /* clearing one setting keeps the other */
    assert_int_equal(chan_store_normalize_set(g_store, s, -1, "t", &err), 0);
    expect_reason(chan_store_normalize_get(g_store, &on, s, &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_CONFIG_NOT_FOUND, &err);
    assert_int_equal(chan_store_config_get(g_store, &level, s, &err), 0);
    assert_string_equal(level, "FULL");
    free(level);
    assert_int_equal(chan_store_normalize_set(g_store, s, 1, "t", &err), 0);
    assert_int_equal(chan_store_config_set(g_store, s, NULL, "t", &err), 0);
    assert_int_equal(chan_store_normalize_get(g_store, &on, s, &err), 0);
    assert_true(on);
    assert_int_equal(chan_store_normalize_set(g_store, s, 2, "t", &err), CHAN_EINVALID);
    free(s);
}

static void test_migration_0004_marks_api_origin(void **state)
{
    const char *backend = chan_store_backend_name(g_store);
    chan_store_options opts = CHAN_STORE_OPTIONS_INIT;
    chan_store *s = NULL;
    chan_channel_record *got = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *dir, *cmd, *url;
    int n = 0;

    if (strncmp(g_url, "sqlite:", 7) != 0 && strstr(g_url, "://") == NULL)
        skip(); /* a plain path or :memory:: the sqlite runs cover it */
    url = fresh_database("m0004");
    if (url == NULL)
        skip();
    /* Migrations 0001..0003 only, as a database of the previous release has them. */
    dir = make_tmpdir("chan-migr0004");
    copy_migrations(dir, backend);
    cmd = chan_xasprintf("find '%s/%s' -name '*.sql' ! -name '000[1-3]_*' -delete", dir, backend);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    opts.migrations_dir = dir;
    assert_int_equal(chan_store_open(&s, url, &opts, &err), 0);
    assert_int_equal(chan_store_migration_count(s, &n, &err), 0);
    assert_int_equal(n, 3);
    chan_store_free(s);

    /* billing is in the stored contract, fraud was registered over REST. */
    assert_int_equal(
        run_sql(url,
                "INSERT INTO channels (name, owner_team, maintainer, peak_qps, "
                "retention_hours, subject, compatibility, document, revision, created_at, "
                "updated_at) VALUES ('orders', 'orders', 'a@example.com', 1, 1, 'orders-value', "
                "'BACKWARD', '{\"channel\":\"orders\",\"consumers\":[{\"name\":\"billing\"}]}', "
                "2, 1, 1);\n"
                "INSERT INTO channels (name, owner_team, maintainer, peak_qps, "
                "retention_hours, document, revision, created_at, updated_at) VALUES "
                "('bare', 'orders', 'a@example.com', 1, 1, '{\"channel\":\"bare\"}', 2, 1, 1);\n"
                "INSERT INTO consumers (channel, name, principal, group_id, scenario, "
                "sla_p99_ms, peak_rate_msgs, degradation, registered_at, renewed_at) VALUES "
                "('orders', 'billing', 'User:billing', 'billing-g', 's', 1, 1, 'lag', 1, 1), "
                "('orders', 'fraud', 'User:fraud', 'fraud-g', 's', 1, 1, 'lag', 1, 1), "
                "('bare', 'extra', 'User:extra', 'extra-g', 's', 1, 1, 'lag', 1, 1);\n"),
        0);

    /* The built-in set applies 0004 (and whatever follows it). */
    assert_int_equal(chan_store_open(&s, url, NULL, &err), 0);
    assert_int_equal(chan_store_channel_get(s, &got, "orders", &err), 0);
    assert_int_equal(got->n_consumers, 2);
    assert_string_equal(got->consumers[0].name, "billing");
    assert_int_equal(got->consumers[0].origin, CHAN_CONSUMER_ORIGIN_CONTRACT);
    assert_int_equal(got->consumers[0].state, CHAN_CONSUMER_APPROVED);
    assert_string_equal(got->consumers[1].name, "fraud");
    assert_int_equal(got->consumers[1].origin, CHAN_CONSUMER_ORIGIN_API);
    assert_int_equal(got->consumers[1].state, CHAN_CONSUMER_APPROVED);
    chan_channel_record_free(got);
    assert_int_equal(chan_store_channel_get(s, &got, "bare", &err), 0);
    assert_int_equal(got->consumers[0].origin, CHAN_CONSUMER_ORIGIN_API);
    chan_channel_record_free(got);
    chan_store_free(s);
    rm_rf(dir);
    free(dir);
    free(url);
}

static void test_migration_0008_fills_list_columns(void **state)
{
    const char *backend = chan_store_backend_name(g_store);
    chan_store_options opts = CHAN_STORE_OPTIONS_INIT;
    chan_store *s = NULL;
    chan_channel_record *got = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *dir, *cmd, *url;

    if (strncmp(g_url, "sqlite:", 7) != 0 && strstr(g_url, "://") == NULL)
        skip(); /* a plain path or :memory:: the sqlite runs cover it */
    url = fresh_database("m0008");
    if (url == NULL)
        skip();
    /* The migrations before 0008 only. */
    dir = make_tmpdir("chan-migr0008");
    copy_migrations(dir, backend);
    cmd = chan_xasprintf("find '%s/%s' -name '*.sql' ! -name '000[1-7]_*' -delete", dir, backend);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    opts.migrations_dir = dir;
    assert_int_equal(chan_store_open(&s, url, &opts, &err), 0);
    chan_store_free(s);

    assert_int_equal(
        run_sql(url, "INSERT INTO channels (name, owner_team, maintainer, peak_qps, "
                     "retention_hours, document, revision, created_at, updated_at) VALUES "
                     "('old', 't', 'a@example.com', 1, 1, '{\"retirement_date\":\"2031-02-03\","
                     "\"schema\":{\"waiver\":{\"reason\":\"why\"}}}', 1, 1, 1), "
                     "('plain', 't', 'a@example.com', 1, 1, '{\"retirement_date\":7}', 1, 1, 1), "
                     "('broken', 't', 'a@example.com', 1, 1, 'not json', 1, 1, 1);\n"),
        0);

    assert_int_equal(chan_store_open(&s, url, NULL, &err), 0);
    assert_int_equal(chan_store_channel_get(s, &got, "old", &err), 0);
    assert_string_equal(got->retirement_date, "2031-02-03");
    assert_string_equal(got->waiver_reason, "why");
    chan_channel_record_free(got);
    assert_int_equal(chan_store_channel_get(s, &got, "plain", &err), 0);
    assert_null(got->retirement_date);
    assert_null(got->waiver_reason);
    chan_channel_record_free(got);
    assert_int_equal(chan_store_channel_get(s, &got, "broken", &err), 0);
    assert_null(got->retirement_date);
    assert_string_equal(got->document, "not json");
    chan_channel_record_free(got);
    chan_store_free(s);
    rm_rf(dir);
    free(dir);
    free(url);
}

/* ------------------------------------------------------------------ */
/* Audit log                                                           */
/* ------------------------------------------------------------------ */

static void test_audit_list_paging(void **state)
{
    const char *subject = uniq("audit-value");
    char *prefix = chan_xasprintf("subject/%s/", subject);
    chan_audit_entry **list = NULL, **page = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t n = 0, np = 0;
    int64_t start = max_audit_id();

    for (int i = 1; i <= 5; i++) {
        char *t = schema_text("Aud", i);
        chan_schema_version_free(reg(subject, t, NULL));
        free(t);
    }
    assert_int_equal(chan_store_audit_list(g_store, &list, &n, start, 0, prefix, &err), 0);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        char obj[300];
        json_error_t jerr;
        json_t *d = json_loads(list[i]->detail, 0, &jerr);
        snprintf(obj, sizeof(obj), "subject/%s/%zu", subject, i + 1);
        assert_string_equal(list[i]->object, obj);
        assert_string_equal(list[i]->action, "schema.register");
        assert_string_equal(list[i]->actor, "tester");
        assert_true(list[i]->ts > 1700000000);
        assert_true(list[i]->id > start);
        if (i > 0)
            assert_true(list[i]->id > list[i - 1]->id);
        assert_non_null(d);
        assert_int_equal(json_integer_value(json_object_get(d, "version")), (json_int_t)i + 1);
        json_decref(d);
    }
    /* Pages of two. */
    assert_int_equal(chan_store_audit_list(g_store, &page, &np, start, 2, prefix, &err), 0);
    assert_int_equal(np, 2);
    assert_int_equal(page[0]->id, list[0]->id);
    chan_audit_entry_list_free(page, np);
    assert_int_equal(chan_store_audit_list(g_store, &page, &np, list[1]->id, 2, prefix, &err), 0);
    assert_int_equal(np, 2);
    assert_int_equal(page[0]->id, list[2]->id);
    assert_int_equal(page[1]->id, list[3]->id);
    chan_audit_entry_list_free(page, np);
    assert_int_equal(chan_store_audit_list(g_store, &page, &np, list[4]->id, 2, prefix, &err), 0);
    assert_int_equal(np, 0);
    chan_audit_entry_list_free(page, np);
    /* A prefix with LIKE wildcards matches literally. */
    assert_int_equal(chan_store_audit_list(g_store, &page, &np, 0, 0, "subject/%", &err), 0);
    assert_int_equal(np, 0);
    chan_audit_entry_list_free(page, np);
    chan_audit_entry_list_free(list, n);
    free(prefix);
}

/* ------------------------------------------------------------------ */
/* API tokens                                                          */
/* ------------------------------------------------------------------ */

/* True when the file at path holds needle anywhere (false when it cannot be read). */
static bool file_contains(const char *path, const char *needle)
{
    char *text = NULL;
    size_t len = 0, n = strlen(needle);
    bool found = false;
    chan_error err = CHAN_ERROR_INIT;

    if (chan_file_read(&text, &len, path, 256u * 1024u * 1024u, &err) != 0)
        return false;
    for (size_t i = 0; !found && i + n <= len; i++)
        found = memcmp(text + i, needle, n) == 0;
    free(text);
    return found;
}

/* A record for a new random token (the token itself in *token, caller frees). */
static void fill_token(chan_token_record *rec, char **token, char id[CHAN_TOKEN_ID_LEN + 1],
                       char hash[2 * CHAN_TOKEN_DIGEST_LEN + 1], const char *identity)
{
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_token_new(token, id, &err), 0);
    chan_token_digest_hex(hash, *token, strlen(*token));
    memset(rec, 0, sizeof(*rec));
    rec->id = id;
    rec->identity = (char *)identity;
    rec->roles = "ci:billing,ci:orders";
    rec->hash_hex = hash;
}

static void test_token_crud(void **state)
{
    const char *identity = uniq("ci-orders");
    char id[CHAN_TOKEN_ID_LEN + 1], id2[CHAN_TOKEN_ID_LEN + 1];
    char hash[2 * CHAN_TOKEN_DIGEST_LEN + 1], hash2[2 * CHAN_TOKEN_DIGEST_LEN + 1];
    char *token = NULL, *token2 = NULL, *object;
    chan_token_record rec, rec2, *got = NULL, **list = NULL;
    chan_audit_entry **last;
    chan_error err = CHAN_ERROR_INIT;
    int64_t before = (int64_t)time(NULL);
    size_t n = 0, mine = 0;

    fill_token(&rec, &token, id, hash, identity);
    rec.description = "deploys orders";
    rec.expires_at = before + 90 * 86400;
    assert_int_equal(chan_store_token_insert(g_store, &rec, "root", &err), 0);
    fill_token(&rec2, &token2, id2, hash2, identity);
    rec2.roles = "reader";
    assert_int_equal(chan_store_token_insert(g_store, &rec2, NULL, &err), 0);

    /* The same id again is refused; nothing changes. */
    rec.hash_hex = hash2;
    expect_reason(chan_store_token_insert(g_store, &rec, "root", &err), CHAN_EEXISTS, 0, &err);
    rec.hash_hex = hash;

    assert_int_equal(chan_store_token_get(g_store, &got, id, &err), 0);
    assert_string_equal(got->id, id);
    assert_string_equal(got->identity, identity);
    assert_string_equal(got->roles, "ci:billing,ci:orders");
    assert_string_equal(got->hash_hex, hash);
    assert_string_equal(got->description, "deploys orders");
    assert_string_equal(got->created_by, "root");
    assert_true(got->created_at >= before && got->created_at <= (int64_t)time(NULL));
    assert_int_equal(got->expires_at, rec.expires_at);
    assert_int_equal(got->revoked_at, 0);
    assert_null(got->revoked_by);
    chan_token_record_free(got);
    got = NULL;
    assert_int_equal(chan_store_token_get(g_store, &got, id2, &err), 0);
    assert_null(got->description);
    assert_int_equal(got->expires_at, 0);
    assert_string_equal(got->created_by, "anonymous");
    chan_token_record_free(got);
    got = NULL;

    expect_reason(chan_store_token_get(g_store, &got, "0123456789ab", &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_TOKEN_NOT_FOUND, &err);
    assert_null(got);

    assert_int_equal(chan_store_token_list(g_store, &list, &n, &err), 0);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i]->identity, identity) != 0)
            continue;
        mine++;
        assert_true(strcmp(list[i]->id, id) == 0 || strcmp(list[i]->id, id2) == 0);
        assert_string_equal(list[i]->hash_hex, strcmp(list[i]->id, id) == 0 ? hash : hash2);
    }
    assert_int_equal(mine, 2);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(list[i - 1]->identity, list[i]->identity) <= 0);
    chan_token_record_list_free(list, n);

    /* Audited without the hash (nor, of course, the token). */
    object = chan_xasprintf("token/%s", id);
    assert_int_equal(audit_count(object), 1);
    last = audit_last(object);
    assert_string_equal(last[0]->action, "token.create");
    assert_string_equal(last[0]->actor, "root");
    assert_non_null(strstr(last[0]->detail, identity));
    assert_non_null(strstr(last[0]->detail, "ci:billing,ci:orders"));
    assert_null(strstr(last[0]->detail, hash));
    assert_null(strstr(last[0]->detail, token));
    chan_audit_entry_list_free(last, 1);

    /* The hash is stored, never the token: look at the database file itself. */
    if (strncmp(g_url, "sqlite:", 7) == 0 && !is_memory(g_url)) {
        char *wal = chan_xasprintf("%s-wal", g_url + 7);
        assert_false(file_contains(g_url + 7, token));
        assert_false(file_contains(wal, token));
        assert_false(file_contains(g_url + 7, token2));
        assert_false(file_contains(wal, token2));
        assert_true(file_contains(g_url + 7, hash) || file_contains(wal, hash));
        free(wal);
    }
    free(object);
    free(token);
    free(token2);
}

static void test_token_revoke_twice(void **state)
{
    const char *identity = uniq("ci-billing");
    char id[CHAN_TOKEN_ID_LEN + 1], hash[2 * CHAN_TOKEN_DIGEST_LEN + 1];
    char *token = NULL, *object;
    chan_token_record rec, *got = NULL;
    chan_audit_entry **last;
    chan_error err = CHAN_ERROR_INIT;
    int64_t before = (int64_t)time(NULL);

    fill_token(&rec, &token, id, hash, identity);
    assert_int_equal(chan_store_token_insert(g_store, &rec, "root", &err), 0);
    assert_int_equal(chan_store_token_revoke(g_store, id, "security", &err), 0);
    assert_int_equal(chan_store_token_get(g_store, &got, id, &err), 0);
    assert_true(got->revoked_at >= before && got->revoked_at <= (int64_t)time(NULL));
    assert_string_equal(got->revoked_by, "security");
    assert_string_equal(got->hash_hex, hash);
    chan_token_record_free(got);

    object = chan_xasprintf("token/%s", id);
    last = audit_last(object);
    assert_string_equal(last[0]->action, "token.revoke");
    assert_string_equal(last[0]->actor, "security");
    assert_null(strstr(last[0]->detail, hash));
    chan_audit_entry_list_free(last, 1);
    assert_int_equal(audit_count(object), 2);

    /* Twice: a conflict that names the first revocation, and nothing written. */
    expect_reason(chan_store_token_revoke(g_store, id, "root", &err), CHAN_ECONFLICT,
                  CHAN_STORE_R_TOKEN_REVOKED, &err);
    assert_non_null(strstr(err.message, "already revoked"));
    assert_non_null(strstr(err.message, "security"));
    assert_int_equal(audit_count(object), 2);
    got = NULL;
    assert_int_equal(chan_store_token_get(g_store, &got, id, &err), 0);
    assert_string_equal(got->revoked_by, "security");
    chan_token_record_free(got);

    expect_reason(chan_store_token_revoke(g_store, "fedcba987654", "root", &err), CHAN_ENOTFOUND,
                  CHAN_STORE_R_TOKEN_NOT_FOUND, &err);
    free(object);
    free(token);
}

static void test_token_bad_input(void **state)
{
    char id[CHAN_TOKEN_ID_LEN + 1], hash[2 * CHAN_TOKEN_DIGEST_LEN + 1];
    char *token = NULL, *long_text = chan_xcalloc(CHAN_STORE_TOKEN_DESCRIPTION_MAX + 2, 1);
    chan_token_record rec, **list = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t n_before = 0, n_after = 0;

    assert_int_equal(chan_store_token_list(g_store, &list, &n_before, &err), 0);
    chan_token_record_list_free(list, n_before);

    fill_token(&rec, &token, id, hash, uniq("bad"));
    rec.id = "ABCDEF012345"; /* upper case */
    assert_int_equal(chan_store_token_insert(g_store, &rec, "root", &err), CHAN_EINVALID);
    rec.id = "0123";
    assert_int_equal(chan_store_token_insert(g_store, &rec, "root", &err), CHAN_EINVALID);
    rec.id = id;
    rec.hash_hex = token; /* the token instead of its hash */
    assert_int_equal(chan_store_token_insert(g_store, &rec, "root", &err), CHAN_EINVALID);
    rec.hash_hex = hash;
    rec.roles = "";
    assert_int_equal(chan_store_token_insert(g_store, &rec, "root", &err), CHAN_EINVALID);
    rec.roles = "admin";
    rec.identity = "";
    assert_int_equal(chan_store_token_insert(g_store, &rec, "root", &err), CHAN_EINVALID);
    rec.identity = "x";
    memset(long_text, 'd', CHAN_STORE_TOKEN_DESCRIPTION_MAX + 1);
    rec.description = long_text;
    assert_int_equal(chan_store_token_insert(g_store, &rec, "root", &err), CHAN_EINVALID);
    rec.description = NULL;
    rec.expires_at = -1;
    assert_int_equal(chan_store_token_insert(g_store, &rec, "root", &err), CHAN_EINVALID);
    assert_int_equal(chan_store_token_insert(g_store, NULL, "root", &err), CHAN_EINVALID);
    assert_int_equal(chan_store_token_revoke(g_store, "", "root", &err), CHAN_EINVALID);

    assert_int_equal(chan_store_token_list(g_store, &list, &n_after, &err), 0);
    chan_token_record_list_free(list, n_after);
    assert_int_equal(n_after, n_before);
    free(long_text);
    free(token);
}

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */

static void test_bad_input_is_rejected(void **state)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;
    chan_channel_record rec;
    chan_consumer_record cons[2];
    char *huge = chan_xmalloc(CHAN_STORE_SCHEMA_MAX + 2);
    char longname[CHAN_STORE_NAME_MAX + 2];
    int64_t audit_before = max_audit_id();
    char **subjects = NULL;
    size_t n = 0;
    int *vs = NULL;

    memset(huge, 'x', CHAN_STORE_SCHEMA_MAX + 1);
    huge[CHAN_STORE_SCHEMA_MAX + 1] = '\0';
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';

    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, NULL, &err), CHAN_EINVALID);
    req.subject = "";
    req.schema = "\"int\"";
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.subject = NULL;
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.subject = longname;
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.subject = "bad\xff-utf8";
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.subject = "tab\there";
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.subject = "overlong-\xe0\x80\xaf";
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.subject = "surrogate-\xed\xa0\x80";
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.subject = "beyond-\xf4\x90\x80\x80";
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.subject = "cut-\xf0\x9f\x98";
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.subject = uniq("ok");
    req.schema = huge;
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "schema"));
    req.schema = "";
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.schema = NULL;
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    req.schema = "\"int\"";
    req.schema_type = "XML";
    assert_int_equal(chan_store_schema_register(g_store, &v, NULL, &req, &err), CHAN_EINVALID);
    assert_null(v);
    assert_int_equal(chan_store_schema_lookup(g_store, &v, "", "\"int\"", false, &err),
                     CHAN_EINVALID);
    assert_int_equal(chan_store_schema_lookup(g_store, &v, "s", huge, false, &err), CHAN_EINVALID);
    assert_int_equal(chan_store_subject_versions(g_store, &vs, &n, "", false, &err), CHAN_EINVALID);
    assert_int_equal(chan_store_subject_delete(g_store, &vs, &n, "", false, "x", &err),
                     CHAN_EINVALID);
    assert_int_equal(chan_store_version_delete(g_store, NULL, "s", 0, false, "x", &err),
                     CHAN_EINVALID);

    fill_consumer(&cons[0], "dup", "g", 10);
    fill_consumer(&cons[1], "dup", "g", 10);
    fill_channel(&rec, uniq("bad"), "t", cons, 2, NULL, 0);
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                     CHAN_EINVALID);
    rec.n_consumers = 1;
    cons[0].sla_p99_ms = 0;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                     CHAN_EINVALID);
    assert_string_equal(err.path, "consumers[0]");
    cons[0].sla_p99_ms = 10;
    cons[0].peak_rate_msgs = NAN;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                     CHAN_EINVALID);
    cons[0].peak_rate_msgs = 1;
    cons[0].group = "";
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                     CHAN_EINVALID);
    cons[0].group = "g";
    rec.owner_team = NULL;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                     CHAN_EINVALID);
    rec.owner_team = "t";
    rec.peak_qps = -1;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                     CHAN_EINVALID);
    rec.peak_qps = 1;
    rec.deprecation_date = "2024-02-30";
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                     CHAN_EINVALID);
    rec.deprecation_date = NULL;
    rec.compatibility = "MOSTLY";
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                     CHAN_EINVALID);
    rec.compatibility = NULL;
    rec.document = NULL;
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                     CHAN_EINVALID);
    rec.document = "{}";
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -2, "ci", &err),
                     CHAN_EINVALID);
    {
        chan_producer_record prods[2] = {{NULL, "User:a"}, {NULL, "User:a"}};
        rec.producers = prods;
        rec.n_producers = 2; /* listed twice */
        assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                         CHAN_EINVALID);
        rec.n_producers = 1;
        prods[0].channel = "another-topic";
        assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                         CHAN_EINVALID);
        prods[0].principal = "";
        prods[0].channel = NULL;
        assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, &rec, -1, "ci", &err),
                         CHAN_EINVALID);
        rec.producers = NULL;
        rec.n_producers = 0;
    }
    assert_int_equal(chan_store_channel_put(g_store, NULL, NULL, NULL, -1, "ci", &err),
                     CHAN_EINVALID);
    assert_int_equal(chan_store_consumer_put(g_store, NULL, NULL, "ci", &err), CHAN_EINVALID);
    cons[0].channel = NULL;
    assert_int_equal(chan_store_consumer_put(g_store, NULL, &cons[0], "ci", &err), CHAN_EINVALID);
    {
        chan_channel_record *got = NULL;
        chan_audit_entry **entries = NULL;
        size_t ne = 0;
        assert_int_equal(chan_store_channel_get(g_store, &got, "", &err), CHAN_EINVALID);
        assert_null(got);
        assert_int_equal(chan_store_audit_list(g_store, &entries, &ne, 0, 0, "bad\xc3", &err),
                         CHAN_EINVALID);
        assert_null(entries);
    }

    /* None of it was written. */
    assert_int_equal(max_audit_id(), audit_before);
    assert_int_equal(chan_store_subject_list(g_store, &subjects, &n, true, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_null(strstr(subjects[i], "-ok"));
    chan_store_string_list_free(subjects, n);
    free(huge);
}

/* ------------------------------------------------------------------ */
/* Concurrency                                                         */
/* ------------------------------------------------------------------ */

/* More threads than the default pool has connections: callers queue. */
enum { THREADS = 10, PER_THREAD = 8 };

typedef struct reg_job {
    chan_store *store;
    int thread;
    const char *subject; /* NULL: own subject per thread */
    char own[128];
    int failures;
    chan_error err;
    int64_t shared_id;
} reg_job;

static const char *g_conc_shared_text;
static const char *g_conc_name;

static void *reg_thread(void *arg)
{
    reg_job *job = arg;
    const char *subject = job->subject != NULL ? job->subject : job->own;

    for (int i = 0; i < PER_THREAD; i++) {
        chan_schema_register_request req = {0};
        chan_schema_version *v = NULL;
        /* Texts overlap between threads: thread t registers (t + i) % ... */
        char *text = schema_text(g_conc_name, (job->thread + i) % (THREADS + PER_THREAD));
        req.subject = subject;
        req.schema = i == PER_THREAD / 2 ? g_conc_shared_text : text;
        req.actor = "load";
        if (chan_store_schema_register(job->store, &v, NULL, &req, &job->err) != 0)
            job->failures++;
        else if (req.schema == g_conc_shared_text)
            job->shared_id = v->id;
        chan_schema_version_free(v);
        free(text);
    }
    return NULL;
}

/* Versions of subject are exactly 1..n; returns n. */
static size_t assert_contiguous(const char *subject)
{
    int *vs = NULL;
    size_t n = 0;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_store_subject_versions(g_store, &vs, &n, subject, true, &err), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(vs[i], (int)i + 1);
    free(vs);
    return n;
}

static void test_concurrent_register_same_subject(void **state)
{
    const char *subject = uniq("hot-value");
    pthread_t th[THREADS];
    reg_job jobs[THREADS];
    char *shared = schema_text(uniq("SharedHot"), 0);
    chan_store *second = NULL;
    chan_error open_err = CHAN_ERROR_INIT;
    size_t n;

    /* Odd threads write through a second store on the same database, as a
     * second daemon would. */
    if (!is_memory(g_url))
        assert_int_equal(chan_store_open(&second, g_url, NULL, &open_err), 0);
    g_conc_shared_text = shared;
    g_conc_name = uniq("Hot");
    for (int t = 0; t < THREADS; t++) {
        memset(&jobs[t], 0, sizeof(jobs[t]));
        jobs[t].store = t % 2 == 1 && second != NULL ? second : g_store;
        jobs[t].thread = t;
        jobs[t].subject = subject;
        assert_int_equal(pthread_create(&th[t], NULL, reg_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    chan_store_free(second);
    for (int t = 0; t < THREADS; t++) {
        if (jobs[t].failures != 0)
            fail_msg("thread %d: %d failures, last: %s", t, jobs[t].failures, jobs[t].err.message);
        assert_int_equal(jobs[t].shared_id, jobs[0].shared_id);
    }
    n = assert_contiguous(subject);
    /* One version per distinct text: the shared one plus every variant. */
    {
        bool seen[THREADS + PER_THREAD] = {false};
        size_t distinct = 1;
        for (int t = 0; t < THREADS; t++)
            for (int i = 0; i < PER_THREAD; i++)
                if (i != PER_THREAD / 2 && !seen[(t + i) % (THREADS + PER_THREAD)]) {
                    seen[(t + i) % (THREADS + PER_THREAD)] = true;
                    distinct++;
                }
        assert_int_equal(n, distinct);
    }
    /* Ids are distinct per version, and the same text has one id. */
    {
        int64_t ids[THREADS + PER_THREAD + 1];
        chan_error err = CHAN_ERROR_INIT;
        for (size_t i = 0; i < n; i++) {
            chan_schema_version *v = NULL;
            assert_int_equal(chan_store_version_get(g_store, &v, subject, (int)i + 1, false, &err),
                             0);
            ids[i] = v->id;
            for (size_t j = 0; j < i; j++)
                assert_true(ids[j] != ids[i]);
            chan_schema_version_free(v);
        }
    }
    free(shared);
}

static void test_concurrent_register_many_subjects(void **state)
{
    pthread_t th[THREADS];
    reg_job jobs[THREADS];
    char *shared = schema_text(uniq("SharedWide"), 0);
    const char *base = uniq("wide");
    chan_schema_version **uses = NULL;
    chan_error err = CHAN_ERROR_INIT;
    size_t n = 0;

    g_conc_shared_text = shared;
    g_conc_name = uniq("Wide");
    for (int t = 0; t < THREADS; t++) {
        memset(&jobs[t], 0, sizeof(jobs[t]));
        jobs[t].store = g_store;
        jobs[t].thread = t;
        snprintf(jobs[t].own, sizeof(jobs[t].own), "%s-%d-value", base, t);
        assert_int_equal(pthread_create(&th[t], NULL, reg_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++) {
        if (jobs[t].failures != 0)
            fail_msg("thread %d: %d failures, last: %s", t, jobs[t].failures, jobs[t].err.message);
        /* The same text got the same id in every subject. */
        assert_int_equal(jobs[t].shared_id, jobs[0].shared_id);
        assert_int_equal(assert_contiguous(jobs[t].own), PER_THREAD);
    }
    assert_int_equal(chan_store_schema_usages(g_store, &uses, &n, jobs[0].shared_id, false, &err),
                     0);
    assert_int_equal(n, THREADS);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(uses[i]->version, PER_THREAD / 2 + 1);
    chan_schema_version_list_free(uses, n);
    /* Texts registered by several subjects share ids: thread 0's version 2
     * is text 1, which is thread 1's version 1. */
    {
        chan_schema_version *a = NULL, *b = NULL;
        assert_int_equal(chan_store_version_get(g_store, &a, jobs[0].own, 2, false, &err), 0);
        assert_int_equal(chan_store_version_get(g_store, &b, jobs[1].own, 1, false, &err), 0);
        assert_string_equal(a->schema, b->schema);
        assert_int_equal(a->id, b->id);
        chan_schema_version_free(a);
        chan_schema_version_free(b);
    }
    free(shared);
}

enum { WRITERS = 64, WRITES = 3 };

typedef struct writer_job {
    char subject[128];
    const char *name;
    int failures;
    chan_error err;
} writer_job;

static void *writer_thread(void *arg)
{
    writer_job *job = arg;

    for (int i = 1; i <= WRITES; i++) {
        chan_schema_register_request req = {0};
        chan_schema_version *v = NULL;
        char *text = schema_text(job->name, i);

        req.subject = job->subject;
        req.schema = text;
        req.actor = "load";
        if (chan_store_schema_register(g_store, &v, NULL, &req, &job->err) != 0)
            job->failures++;
        chan_schema_version_free(v);
        free(text);
    }
    return NULL;
}

/* 64 writers on one store (8 connections): all get through, none times out. */
static void test_many_concurrent_writers(void **state)
{
    pthread_t th[WRITERS];
    writer_job *jobs = chan_xcalloc(WRITERS, sizeof(*jobs));
    const char *base = uniq("writers");
    const char *name = uniq("Writer");

    for (int t = 0; t < WRITERS; t++) {
        snprintf(jobs[t].subject, sizeof(jobs[t].subject), "%s-%d-value", base, t);
        jobs[t].name = name;
        assert_int_equal(pthread_create(&th[t], NULL, writer_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < WRITERS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < WRITERS; t++) {
        if (jobs[t].failures != 0)
            fail_msg("writer %d: %d failures, last: %s", t, jobs[t].failures, jobs[t].err.message);
        assert_int_equal(assert_contiguous(jobs[t].subject), WRITES);
    }
    free(jobs);
}

typedef struct put_job {
    const char *channel;
    int thread;
    int failures;
    int conflicts;
    chan_error err;
} put_job;

enum { PUTS = 6 };

/* Optimistic writers: read the revision, write with it, retry on conflict. */
static void *put_thread(void *arg)
{
    put_job *job = arg;

    for (int i = 0; i < PUTS; i++) {
        for (;;) {
            chan_channel_record *cur = NULL, rec;
            chan_consumer_record cons[1];
            char doc[64], cname[32];
            int64_t expected = 0;
            int rc;

            rc = chan_store_channel_get(g_store, &cur, job->channel, &job->err);
            if (rc == 0)
                expected = cur->revision;
            else if (rc != CHAN_ENOTFOUND) {
                job->failures++;
                break;
            }
            chan_channel_record_free(cur);
            snprintf(doc, sizeof(doc), "{\"t\":%d,\"i\":%d}", job->thread, i);
            snprintf(cname, sizeof(cname), "c-%d", job->thread);
            fill_consumer(&cons[0], cname, "g", 10 + i);
            fill_channel(&rec, job->channel, "conc", cons, 1, NULL, 0);
            rec.document = doc;
            rc = chan_store_channel_put(g_store, NULL, NULL, &rec, expected, "load", &job->err);
            if (rc == 0)
                break;
            if (rc == CHAN_ECONFLICT &&
                chan_store_error_reason(&job->err) == CHAN_STORE_R_REVISION_MISMATCH) {
                job->conflicts++;
                continue;
            }
            job->failures++;
            break;
        }
    }
    return NULL;
}

static void test_concurrent_channel_puts(void **state)
{
    pthread_t th[THREADS];
    put_job jobs[THREADS];
    const char *name = uniq("contended");
    chan_channel_record *got = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *obj = chan_xasprintf("channel/%s", name);

    for (int t = 0; t < THREADS; t++) {
        memset(&jobs[t], 0, sizeof(jobs[t]));
        jobs[t].channel = name;
        jobs[t].thread = t;
        assert_int_equal(pthread_create(&th[t], NULL, put_thread, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++)
        if (jobs[t].failures != 0)
            fail_msg("thread %d: %d failures: %s", t, jobs[t].failures, jobs[t].err.message);
    /* Every successful put changed the document: one revision each. */
    assert_int_equal(chan_store_channel_get(g_store, &got, name, &err), 0);
    assert_int_equal(got->revision, THREADS * PUTS);
    assert_int_equal(got->n_consumers, 1);
    chan_channel_record_free(got);
    assert_int_equal(audit_count(obj), THREADS * PUTS);
    free(obj);
}

/* A registration whose check blocks until released, to hold a subject lock. */
typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered;
    bool released;
} gate;

static gate g_gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};

static int gate_check(void *ctx, const chan_schema_version *const *existing, size_t n,
                      chan_error *err)
{
    gate *g = ctx;

    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->released)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

typedef struct bg_reg {
    const char *subject;
    const char *text;
    bool gated;
    int rc;
    int version;
    bool done;
    chan_error err;
} bg_reg;

static void *bg_reg_thread(void *arg)
{
    bg_reg *job = arg;
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;

    req.subject = job->subject;
    req.schema = job->text;
    req.actor = "bg";
    if (job->gated) {
        req.check = gate_check;
        req.check_ctx = &g_gate;
    }
    job->rc = chan_store_schema_register(g_store, &v, NULL, &req, &job->err);
    job->version = v != NULL ? v->version : 0;
    chan_schema_version_free(v);
    pthread_mutex_lock(&g_gate.mu);
    job->done = true;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
    return NULL;
}

/* Wait up to ms for *flag under the gate's mutex; returns its value. */
static bool wait_flag(bool *flag, int ms)
{
    struct timespec until;
    bool value;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g_gate.mu);
    while (!*flag && pthread_cond_timedwait(&g_gate.cv, &g_gate.mu, &until) == 0)
        ;
    value = *flag;
    pthread_mutex_unlock(&g_gate.mu);
    return value;
}

/*
 * PostgreSQL: while a registration holds subject X (its check is running),
 * a registration into Y completes and a second one into X waits.  SQLite
 * has a single writer, so there every writer waits: skipped.
 */
/* A gated registration on a store of its own (test_deadlines). */
typedef struct own_reg {
    chan_store *store;
    const char *subject;
    int rc;
} own_reg;

static void *own_reg_thread(void *arg)
{
    own_reg *job = arg;
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;

    req.subject = job->subject;
    req.schema = "\"string\"";
    req.actor = "bg";
    req.check = gate_check;
    req.check_ctx = &g_gate;
    job->rc = chan_store_schema_register(job->store, &v, NULL, &req, NULL);
    chan_schema_version_free(v);
    return NULL;
}

/* Register text under subject on store; the result code, reason in *reason. */
static int try_register(chan_store *store, const char *subject, const char *text, int *reason)
{
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;
    chan_error err = CHAN_ERROR_INIT;
    int rc;

    req.subject = subject;
    req.schema = text;
    req.actor = "deadlines";
    rc = chan_store_schema_register(store, &v, NULL, &req, &err);
    chan_schema_version_free(v);
    *reason = chan_store_error_reason(&err);
    return rc;
}

/*
** Every wait has a deadline: a pool whose one connection is taken, the
** database lock another store holds (SQLite busy timeout, PostgreSQL
** statement_timeout on the advisory lock), and chan_store_abort ends every
** wait at once.  A timed-out write leaves nothing behind.
*/
static void test_deadlines(void **state)
{
    chan_store_options opts = CHAN_STORE_OPTIONS_INIT;
    chan_store *s = NULL, *s2 = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const char *subject = uniq("deadline");
    own_reg job = {0};
    pthread_t t;
    int reason = 0, *versions = NULL;
    size_t n = 0;

    opts.pool_size = 1;
    opts.acquire_timeout_ms = 200;
    opts.busy_timeout_ms = 200;
    opts.statement_timeout_ms = 300;
    opts.reply_timeout_ms = 5000;
    assert_int_equal(chan_store_open(&s, g_url, &opts, &err), 0);
    if (!is_memory(g_url))
        assert_int_equal(chan_store_open(&s2, g_url, &opts, &err), 0);
    pthread_mutex_lock(&g_gate.mu);
    g_gate.entered = false;
    g_gate.released = false;
    pthread_mutex_unlock(&g_gate.mu);
    job.store = s;
    job.subject = subject;
    assert_int_equal(pthread_create(&t, NULL, own_reg_thread, &job), 0);
    assert_true(wait_flag(&g_gate.entered, 10000));

    /* The one connection is in the gated write transaction. */
    assert_int_equal(chan_store_ping(s, &err), CHAN_EUNAVAILABLE);
    assert_non_null(strstr(err.message, "became free within 200 ms"));
    assert_int_equal(try_register(s, uniq("other"), "\"int\"", &reason), CHAN_EUNAVAILABLE);
    assert_int_equal(reason, CHAN_STORE_R_TIMEOUT);
    /* Another store waits for the same lock (SQLite: the database's; PostgreSQL:
     * the subject's advisory lock) no longer than its deadline. */
    if (s2 != NULL) {
        assert_int_equal(try_register(s2, subject, "\"bytes\"", &reason), CHAN_EUNAVAILABLE);
        assert_int_equal(reason, CHAN_STORE_R_TIMEOUT);
    }

    pthread_mutex_lock(&g_gate.mu);
    g_gate.released = true;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(job.rc, 0);
    if (s2 != NULL) {
        /* The timed-out write left nothing: the next one is version 2. */
        assert_int_equal(try_register(s2, subject, "\"bytes\"", &reason), 0);
        assert_int_equal(chan_store_subject_versions(s2, &versions, &n, subject, false, &err), 0);
        assert_int_equal(n, 2);
        assert_int_equal(versions[0], 1);
        assert_int_equal(versions[1], 2);
        free(versions);
    }

    /* After chan_store_abort nothing waits: every call fails at once. */
    assert_int_equal(chan_store_ping(s, &err), 0);
    chan_store_abort(s);
    chan_store_abort(s); /* idempotent */
    assert_int_equal(chan_store_ping(s, &err), CHAN_EUNAVAILABLE);
    assert_int_equal(try_register(s, uniq("late"), "\"int\"", &reason), CHAN_EUNAVAILABLE);
    assert_int_equal(reason, CHAN_STORE_R_TIMEOUT);
    chan_store_free(s);
    chan_store_free(s2);
}

/* One ungated registration on a store of its own (test_write_queue_deadline). */
typedef struct queued_reg {
    chan_store *store;
    const char *subject;
    int rc;
    chan_error err;
} queued_reg;

static void *queued_reg_thread(void *arg)
{
    queued_reg *job = arg;
    chan_schema_register_request req = {0};
    chan_schema_version *v = NULL;

    req.subject = job->subject;
    req.schema = "\"string\"";
    req.actor = "queued";
    job->rc = chan_store_schema_register(job->store, &v, NULL, &req, &job->err);
    chan_schema_version_free(v);
    return NULL;
}

/*
** SQLite: the writers of one store queue in-process for the write lock,
** and that wait has the busy timeout as its deadline.  While a write holds
** the lock, the writers behind it (several at once) give up with the
** store's timeout error; they leave the queue, so that after the holder is
** done every later writer gets its turn.
*/
static void test_write_queue_deadline(void **state)
{
    enum { N_WAITERS = 3, N_AFTER = 4 };
    chan_store_options opts = CHAN_STORE_OPTIONS_INIT;
    chan_store *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    own_reg holder = {0};
    queued_reg waiters[N_WAITERS], after[N_AFTER];
    pthread_t th, tw[N_WAITERS], ta[N_AFTER];
    int *versions = NULL;
    size_t n = 0;

    if (strcmp(chan_store_backend_name(g_store), "sqlite") != 0 || is_memory(g_url))
        skip(); /* the queue is SQLite's; sqlite::memory: has one connection */
    opts.pool_size = N_WAITERS + N_AFTER + 1;
    opts.acquire_timeout_ms = 30000; /* connections are not what is waited for */
    opts.busy_timeout_ms = 100;
    assert_int_equal(chan_store_open(&s, g_url, &opts, &err), 0);
    pthread_mutex_lock(&g_gate.mu);
    g_gate.entered = false;
    g_gate.released = false;
    pthread_mutex_unlock(&g_gate.mu);
    holder.store = s;
    holder.subject = uniq("queue-holder");
    assert_int_equal(pthread_create(&th, NULL, own_reg_thread, &holder), 0);
    assert_true(wait_flag(&g_gate.entered, 10000));

    /* The holder's write transaction runs its check: every other writer waits. */
    memset(waiters, 0, sizeof(waiters));
    for (int i = 0; i < N_WAITERS; i++) {
        waiters[i].store = s;
        waiters[i].subject = uniq("queue-waiter");
        assert_int_equal(pthread_create(&tw[i], NULL, queued_reg_thread, &waiters[i]), 0);
    }
    for (int i = 0; i < N_WAITERS; i++) {
        assert_int_equal(pthread_join(tw[i], NULL), 0);
        expect_reason(waiters[i].rc, CHAN_EUNAVAILABLE, CHAN_STORE_R_TIMEOUT, &waiters[i].err);
        if (strstr(waiters[i].err.message, "write lock did not become free within 100 ms") == NULL)
            fail_msg("waiter %d: %s", i, waiters[i].err.message);
    }

    pthread_mutex_lock(&g_gate.mu);
    g_gate.released = true;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(holder.rc, 0);

    /* The writers that gave up left the queue: later ones all get the lock. */
    memset(after, 0, sizeof(after));
    for (int i = 0; i < N_AFTER; i++) {
        after[i].store = s;
        after[i].subject = uniq("queue-after");
        assert_int_equal(pthread_create(&ta[i], NULL, queued_reg_thread, &after[i]), 0);
    }
    for (int i = 0; i < N_AFTER; i++) {
        assert_int_equal(pthread_join(ta[i], NULL), 0);
        if (after[i].rc != 0)
            fail_msg("writer %d after the timeouts: %s", i, after[i].err.message);
    }
    /* The timed-out writes left nothing. */
    for (int i = 0; i < N_WAITERS; i++) {
        assert_int_equal(
            chan_store_subject_versions(s, &versions, &n, waiters[i].subject, false, &err),
            CHAN_ENOTFOUND);
        free(versions);
        versions = NULL;
    }
    chan_store_free(s);
}

static void test_only_same_subject_writers_wait(void **state)
{
    const char *x = uniq("lock-x"), *y = uniq("lock-y");
    bg_reg a = {0}, b = {0}, c = {0};
    pthread_t ta, tb, tc;

    if (strcmp(chan_store_backend_name(g_store), "postgres") != 0)
        skip();
    a.subject = x;
    a.text = "\"long\"";
    a.gated = true;
    b.subject = y;
    b.text = "\"long\"";
    c.subject = x;
    c.text = "\"double\"";
    assert_int_equal(pthread_create(&ta, NULL, bg_reg_thread, &a), 0);
    assert_true(wait_flag(&g_gate.entered, 10000));
    assert_int_equal(pthread_create(&tb, NULL, bg_reg_thread, &b), 0);
    assert_int_equal(pthread_create(&tc, NULL, bg_reg_thread, &c), 0);
    /* Another subject: not blocked by X's lock. */
    assert_true(wait_flag(&b.done, 10000));
    assert_int_equal(b.rc, 0);
    assert_int_equal(b.version, 1);
    /* The same subject: still waiting for X's lock. */
    assert_false(wait_flag(&c.done, 300));
    assert_false(wait_flag(&a.done, 0));
    pthread_mutex_lock(&g_gate.mu);
    g_gate.released = true;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.mu);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_join(tc, NULL);
    assert_int_equal(a.rc, 0);
    assert_int_equal(c.rc, 0);
    assert_int_equal(a.version, 1);
    assert_int_equal(c.version, 2);
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static char *resolve_url(const char *arg)
{
    if (arg[0] == '@') {
        char *text = NULL;
        size_t len = 0;
        chan_error err = CHAN_ERROR_INIT;
        if (chan_file_read(&text, &len, arg + 1, 4096, &err) != 0) {
            fprintf(stderr, "test_store: %s\n", err.message);
            exit(1);
        }
        while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
            text[--len] = '\0';
        return text;
    }
    if (strcmp(arg, "temp-sqlite") == 0) {
        static int n;
        if (g_tmpdir == NULL)
            g_tmpdir = make_tmpdir("chan-store-test");
        return chan_xasprintf("sqlite:%s/store-%d.db", g_tmpdir, n++);
    }
    return chan_xstrdup(arg);
}

static int group_setup(void **state)
{
    chan_error err = CHAN_ERROR_INIT;

    if (chan_store_open(&g_store, g_url, NULL, &err) != 0) {
        fprintf(stderr, "test_store: cannot open %s: %s\n", g_url, err.message);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    chan_store_free(g_store);
    g_store = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_rejects_bad_urls),
        cmocka_unit_test(test_open_plain_path_is_sqlite),
        cmocka_unit_test(test_open_memory_store),
        cmocka_unit_test(test_schema_by_id_cache_bounds),
        cmocka_unit_test(test_reconnects_after_connection_loss),
        cmocka_unit_test(test_migrations_recorded_and_reopen_is_noop),
        cmocka_unit_test(test_migrations_dir_checksum_and_pending),
        cmocka_unit_test(test_concurrent_open_migrates_once),
        cmocka_unit_test(test_register_numbers_versions),
        cmocka_unit_test(test_ids_global_and_stable),
        cmocka_unit_test(test_unicode_names_round_trip),
        cmocka_unit_test(test_schema_by_id_repeated_and_concurrent),
        cmocka_unit_test(test_idempotent_register_writes_nothing),
        cmocka_unit_test(test_check_callback_runs_and_aborts),
        cmocka_unit_test(test_check_latest_only),
        cmocka_unit_test(test_schema_check_alone),
        cmocka_unit_test(test_lookup_and_version_get),
        cmocka_unit_test(test_version_soft_then_hard_delete),
        cmocka_unit_test(test_subject_delete_rules),
        cmocka_unit_test(test_reregister_after_soft_delete_keeps_id),
        cmocka_unit_test(test_subject_list_is_sorted),
        cmocka_unit_test(test_config_and_mode),
        cmocka_unit_test(test_import_mode),
        cmocka_unit_test(test_config_refused_read_only),
        cmocka_unit_test(test_channel_put_get_and_replace),
        cmocka_unit_test(test_channel_list_filters),
        cmocka_unit_test(test_channel_page),
        cmocka_unit_test(test_channel_delete),
        cmocka_unit_test(test_channel_by_subject),
        cmocka_unit_test(test_waiver_approval_cleared),
        cmocka_unit_test(test_tombstone_on_delete_and_cleared_on_recreate),
        cmocka_unit_test(test_acl_apply_record_is_one_transaction),
        cmocka_unit_test(test_consumer_put_renew_delete_list),
        cmocka_unit_test(test_consumer_put_checked_rules),
        cmocka_unit_test(test_api_consumer_survives_channel_put),
        cmocka_unit_test(test_drift_reported),
        cmocka_unit_test(test_adopt_api_consumer),
        cmocka_unit_test(test_adopt_audits_approval),
        cmocka_unit_test(test_channel_put_dry_run_writes_nothing),
        cmocka_unit_test(test_check_callback_refuses),
        cmocka_unit_test(test_consumer_put_contract_managed),
        cmocka_unit_test(test_decide_pending_only),
        cmocka_unit_test(test_decide_checked_deprecated),
        cmocka_unit_test(test_renew_refuses_pending),
        cmocka_unit_test(test_delete_refuses_contract_consumer),
        cmocka_unit_test(test_migration_0004_marks_api_origin),
        cmocka_unit_test(test_migration_0008_fills_list_columns),
        cmocka_unit_test(test_schema_identity),
        cmocka_unit_test(test_schema_references),
        cmocka_unit_test(test_schema_fill_identity),
        cmocka_unit_test(test_normalize_setting),
        cmocka_unit_test(test_audit_list_paging),
        cmocka_unit_test(test_token_crud),
        cmocka_unit_test(test_token_revoke_twice),
        cmocka_unit_test(test_token_bad_input),
        cmocka_unit_test(test_bad_input_is_rejected),
        cmocka_unit_test(test_concurrent_register_same_subject),
        cmocka_unit_test(test_concurrent_register_many_subjects),
        cmocka_unit_test(test_many_concurrent_writers),
        cmocka_unit_test(test_concurrent_channel_puts),
        cmocka_unit_test(test_only_same_subject_writers_wait),
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_write_queue_deadline),
    };
    int rc;

    if (argc != 4) {
        fprintf(stderr,
                "usage: %s STORE_URL SCRATCH_URL_1 SCRATCH_URL_2\n"
                "  each may be a URL, @FILE (URL in FILE) or temp-sqlite\n",
                argv[0]);
        return 2;
    }
    g_url = resolve_url(argv[1]);
    g_scratch[0] = resolve_url(argv[2]);
    g_scratch[1] = resolve_url(argv[3]);
    snprintf(g_run, sizeof(g_run), "t%lx%x", (unsigned long)time(NULL), (unsigned)getpid());
    rc = cmocka_run_group_tests_name("store", tests, group_setup, group_teardown);
    if (g_tmpdir != NULL)
        rm_rf(g_tmpdir);
    free(g_tmpdir);
    free(g_url);
    free(g_scratch[0]);
    free(g_scratch[1]);
    return rc;
}
