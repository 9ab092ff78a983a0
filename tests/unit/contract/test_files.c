/*
 * test_files.c - unit tests of the rule for the files a contract makes
 * chanctl read (files.c): the default contracts root, confinement of schema
 * files to it (.., absolute paths, symbolic links to files and directories
 * outside), refusal of FIFOs and devices without blocking, the size bound,
 * and errors that never quote a file that is no schema.
 *
 * Every test builds its own tree in a temporary directory:
 *
 *   <tmp>/repo/.git/                      (a git work tree)
 *   <tmp>/repo/contracts/c.yaml           (written by the test)
 *   <tmp>/repo/schemas/fx.t-value/v1.avsc (a valid schema)
 *   <tmp>/outside/secret.avsc             (valid Avro with a secret doc)
 *   <tmp>/outside/passwd                  (a secret that is no JSON)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "chan/contract.h"

#define SCHEMA "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}"
#define SECRET_SCHEMA                                                                              \
    "{\"type\":\"record\",\"name\":\"T\",\"doc\":\"s3cr3t\",\"fields\":[{\"name\":\"a\","          \
    "\"type\":\"int\"}]}"

typedef struct tree {
    char tmp[64];
    char *repo;
    char *contract;
} tree;

static void put(const char *path, const char *text)
{
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_file_write_atomic(path, text, strlen(text), &err), 0);
}

static char *at(const tree *t, const char *rel)
{
    return chan_xasprintf("%s/%s", t->tmp, rel);
}

static int setup(void **state)
{
    tree *t = chan_xcalloc(1, sizeof(*t));
    const char *const dirs[] = {
        "repo",    "repo/.git",  "repo/contracts", "repo/schemas", "repo/schemas/fx.t-value",
        "outside", "outside/dir"};
    size_t i;
    char *p;

    snprintf(t->tmp, sizeof(t->tmp), "/tmp/chan-files-XXXXXX");
    assert_non_null(mkdtemp(t->tmp));
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        p = at(t, dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
        free(p);
    }
    t->repo = at(t, "repo");
    t->contract = at(t, "repo/contracts/c.yaml");
    p = at(t, "repo/schemas/fx.t-value/v1.avsc");
    put(p, SCHEMA);
    free(p);
    p = at(t, "outside/secret.avsc");
    put(p, SECRET_SCHEMA);
    free(p);
    p = at(t, "outside/dir/v1.avsc");
    put(p, SECRET_SCHEMA);
    free(p);
    p = at(t, "outside/passwd");
    put(p, "root:x:0:0:s3cr3t:/root:/bin/sh\n");
    free(p);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    tree *t = *state;
    char *cmd = chan_xasprintf("rm -rf '%s'", t->tmp);

    assert_int_equal(system(cmd), 0);
    free(cmd);
    free(t->repo);
    free(t->contract);
    free(t);
    return 0;
}

/* Write the contract with one version whose `file:` is file (NULL: default layout). */
static void write_contract(const tree *t, const char *file)
{
    char *text;

    if (file)
        text = chan_xasprintf("apiVersion: chanreg/v1\n"
                              "channel: fx.t\n"
                              "owner: {team: fx, maintainer: fx@example.com}\n"
                              "peak_qps: 1\n"
                              "retention_hours: 1\n"
                              "schema:\n"
                              "  subject: fx.t-value\n"
                              "  compatibility: BACKWARD\n"
                              "  versions:\n"
                              "    - version: 1\n"
                              "      file: %s\n"
                              "consumers: []\n"
                              "producers: [{principal: \"User:w\"}]\n",
                              file);
    else
        text = chan_xstrdup("apiVersion: chanreg/v1\n"
                            "channel: fx.t\n"
                            "owner: {team: fx, maintainer: fx@example.com}\n"
                            "peak_qps: 1\n"
                            "retention_hours: 1\n"
                            "schema:\n"
                            "  subject: fx.t-value\n"
                            "  compatibility: BACKWARD\n"
                            "  versions: [1]\n"
                            "consumers: []\n"
                            "producers: [{principal: \"User:w\"}]\n");
    put(t->contract, text);
    free(text);
}

/* Load the contract; expect exactly one error at the `file:` value (11:13), with rule. */
static const chan_diag *load_refused(const tree *t, chan_diag_list *diags, const char *rule)
{
    chan_contract *c = NULL;
    const chan_diag *d;
    size_t i;

    assert_int_equal(chan_contract_load(&c, t->contract, NULL, diags, NULL), CHAN_EINVALID);
    assert_null(c);
    for (i = 0; i < chan_diag_list_count(diags); i++) {
        d = chan_diag_list_get(diags, i);
        print_message("  %s:%d:%d [%s] %s\n", d->file, d->line, d->column, d->rule, d->message);
    }
    assert_int_equal(chan_diag_list_count(diags), 1);
    d = chan_diag_list_get(diags, 0);
    assert_string_equal(d->rule, rule);
    assert_string_equal(d->file, t->contract);
    for (i = 0; i < chan_diag_list_count(diags); i++) {
        const chan_diag *e = chan_diag_list_get(diags, i);

        assert_null(strstr(e->message, "s3cr3t"));
        assert_null(strstr(e->message, "root:x"));
        assert_true(e->hint == NULL || strstr(e->hint, "s3cr3t") == NULL);
    }
    return d;
}

static void assert_at_file_value(const chan_diag *d)
{
    assert_int_equal(d->line, 11);
    assert_int_equal(d->column, 13);
}

static void test_inside_is_read(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract *c = NULL;

    write_contract(t, "../schemas/fx.t-value/v1.avsc");
    assert_int_equal(chan_contract_load(&c, t->contract, NULL, diags, NULL), 0);
    assert_non_null(chan_contract_version_at(c, 0)->schema);
    assert_int_equal(chan_contract_version_at(c, 0)->file_line, 11);
    chan_contract_free(c);
    chan_diag_list_free(diags);

    /* The default layout too. */
    diags = chan_diag_list_new();
    write_contract(t, NULL);
    assert_int_equal(chan_contract_load(&c, t->contract, NULL, diags, NULL), 0);
    chan_contract_free(c);
    chan_diag_list_free(diags);
}

static void test_dotdot_refused(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    const chan_diag *d;

    write_contract(t, "../../outside/secret.avsc");
    d = load_refused(t, diags, CHAN_CONTRACT_RULE_SCHEMA_FILE);
    assert_at_file_value(d);
    assert_non_null(strstr(d->message, "outside the contracts root"));
    assert_string_equal(d->path, "schema.versions[0].file");
    chan_diag_list_free(diags);
}

static void test_absolute_refused(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    char *abs = at(t, "outside/secret.avsc");

    write_contract(t, abs);
    assert_at_file_value(load_refused(t, diags, CHAN_CONTRACT_RULE_SCHEMA_FILE));
    chan_diag_list_free(diags);
    diags = chan_diag_list_new();
    write_contract(t, "/etc/passwd");
    assert_at_file_value(load_refused(t, diags, CHAN_CONTRACT_RULE_SCHEMA_FILE));
    chan_diag_list_free(diags);
    free(abs);
}

static void test_symlink_out_refused(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    char *target = at(t, "outside/secret.avsc"), *link = at(t, "repo/schemas/fx.t-value/v1.avsc");

    /* A link in schemas/ used by the default layout. */
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink(target, link), 0);
    write_contract(t, NULL);
    (void)load_refused(t, diags, CHAN_CONTRACT_RULE_SCHEMA_FILE);
    chan_diag_list_free(diags);
    free(target);
    free(link);
}

static void test_symlinked_dir_refused(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    char *target = at(t, "outside/dir"), *link = at(t, "repo/schemas/linked");

    assert_int_equal(symlink(target, link), 0);
    write_contract(t, "../schemas/linked/v1.avsc");
    assert_at_file_value(load_refused(t, diags, CHAN_CONTRACT_RULE_SCHEMA_FILE));
    chan_diag_list_free(diags);
    free(target);
    free(link);
}

static void test_symlink_inside_allowed(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    char *link = at(t, "repo/contracts/v1.avsc");
    chan_contract *c = NULL;

    assert_int_equal(symlink("../schemas/fx.t-value/v1.avsc", link), 0);
    write_contract(t, "v1.avsc");
    assert_int_equal(chan_contract_load(&c, t->contract, NULL, diags, NULL), 0);
    chan_contract_free(c);
    chan_diag_list_free(diags);
    free(link);
}

static void test_fifo_refused_without_blocking(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    char *fifo = at(t, "repo/schemas/fifo.avsc");
    const chan_diag *d;

    /* No writer ever opens it: a blocking open or read would hang the test. */
    assert_int_equal(mkfifo(fifo, 0600), 0);
    write_contract(t, "../schemas/fifo.avsc");
    d = load_refused(t, diags, CHAN_CONTRACT_RULE_SCHEMA_FILE);
    assert_non_null(strstr(d->message, "a FIFO, not a regular file"));
    chan_diag_list_free(diags);
    free(fifo);
}

static void test_device_refused(void **state)
{
    tree *t = *state;
    chan_error err = CHAN_ERROR_INIT;
    char *text = NULL;
    char *link = at(t, "repo/schemas/zero.avsc");

    /* Without a root: refused after fstat, before reading. */
    assert_int_equal(chan_contract_file_read(&text, NULL, NULL, "/dev/zero", 1 << 20, &err),
                     CHAN_EINVALID);
    assert_non_null(strstr(err.message, "a device"));
    assert_null(text);
    /* A link to it inside the root leaves the root. */
    assert_int_equal(symlink("/dev/zero", link), 0);
    chan_error_clear(&err);
    assert_int_equal(chan_contract_file_read(&text, NULL, t->repo, link, 1 << 20, &err),
                     CHAN_EDENIED);
    /* A directory is no file either. */
    chan_error_clear(&err);
    assert_int_equal(chan_contract_file_read(&text, NULL, NULL, t->repo, 1 << 20, &err),
                     CHAN_EINVALID);
    free(link);
}

static void test_big_file_refused(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract_load_options opts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    chan_contract *c = NULL;
    const chan_diag *d;

    write_contract(t, NULL);
    opts.max_schema_size = 16;
    assert_int_equal(chan_contract_load(&c, t->contract, &opts, diags, NULL), CHAN_EINVALID);
    assert_int_equal(chan_diag_list_count(diags), 1);
    d = chan_diag_list_get(diags, 0);
    assert_non_null(strstr(d->message, "larger than the limit of 16 bytes"));
    chan_diag_list_free(diags);
}

static void test_non_avro_content_not_quoted(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    char *inside = at(t, "repo/schemas/fx.t-value/v1.avsc");
    const chan_diag *d;

    /* A secret that is no JSON, inside the root. */
    put(inside, "root:x:0:0:s3cr3t:/root:/bin/sh\n");
    write_contract(t, NULL);
    d = load_refused(t, diags, CHAN_CONTRACT_RULE_AVRO);
    assert_non_null(strstr(d->message, "not JSON (syntax error at line 1, column"));
    chan_diag_list_free(diags);

    /* JSON that is no schema. */
    diags = chan_diag_list_new();
    put(inside, "{\"password\": \"s3cr3t\"}");
    d = load_refused(t, diags, CHAN_CONTRACT_RULE_AVRO);
    assert_non_null(strstr(d->message, "JSON, but not an Avro schema"));
    chan_diag_list_free(diags);
    free(inside);
}

static void test_contract_file_confined(void **state)
{
    tree *t = *state;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract_load_options opts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    char *link = at(t, "repo/contracts/evil.yaml"), *outside = at(t, "outside/passwd");
    chan_contract *c = NULL;
    const chan_diag *d;

    /* A contract that is a link out of the repository: refused, never parsed. */
    assert_int_equal(symlink(outside, link), 0);
    assert_int_equal(chan_contract_load(&c, link, NULL, diags, NULL), CHAN_EDENIED);
    d = chan_diag_list_get(diags, 0);
    assert_string_equal(d->rule, CHAN_CONTRACT_RULE_IO);
    assert_null(strstr(d->message, "s3cr3t"));
    chan_diag_list_free(diags);

    /* An explicit root that does not hold the contract. */
    diags = chan_diag_list_new();
    write_contract(t, NULL);
    opts.root = outside;
    *strrchr(outside, '/') = '\0';
    assert_int_equal(chan_contract_load(&c, t->contract, &opts, diags, NULL), CHAN_EDENIED);
    chan_diag_list_free(diags);
    free(link);
    free(outside);
}

static void test_default_root(void **state)
{
    tree *t = *state;
    char *root = NULL, *p, *git = at(t, "repo/.git"), *sub = at(t, "repo/contracts/sub");
    char real[PATH_MAX];
    chan_error err = CHAN_ERROR_INIT;

    /* 1. The git work tree, from a nested directory. */
    assert_int_equal(mkdir(sub, 0755), 0);
    p = chan_xasprintf("%s/x.yaml", sub);
    assert_int_equal(chan_contract_root_default(&root, p, &err), 0);
    assert_non_null(realpath(t->repo, real));
    assert_string_equal(root, real);
    free(root);
    /* 2. Without .git: the directory holding schemas/. */
    assert_int_equal(rmdir(git), 0);
    assert_int_equal(chan_contract_root_default(&root, p, &err), 0);
    assert_string_equal(root, real);
    free(root);
    free(p);
    /* 3. Neither: the contract's own directory. */
    p = at(t, "outside/dir/x.yaml");
    assert_int_equal(chan_contract_root_default(&root, p, &err), 0);
    assert_true(chan_str_endswith(root, "/outside/dir"));
    free(root);
    free(p);
    free(git);
    free(sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_inside_is_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dotdot_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_out_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinked_dir_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_inside_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fifo_refused_without_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_non_avro_content_not_quoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contract_file_confined, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_root, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
