/*
 * test_avro_fixtures.c - data-driven compatibility cases: every directory
 * under the given root (tests/fixtures/compat) is one cmocka test.
 *
 * A case holds new.avsc, old.avsc and expect.  expect has one directive a
 * line ('#' starts a comment):
 *
 *   mode BACKWARD                       the mode to check new against old
 *   issue KIND LOCATION                 an expected compatibility issue, in order
 *   removal KIND LOCATION               an expected field-removal issue, in order
 *
 * LOCATION is the issue's JSON pointer, written "" for the whole schema.
 *
 * A case without issue or removal lines expects a compatible pair.  The
 * same cases drive the exit codes checked by test_cli_compat.sh.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan/avro.h"
#include "chan/common.h"

#define FIXTURE_MAX_SIZE (1u << 20)

static chan_avro_schema *load(const char *dir, const char *file)
{
    chan_error err = CHAN_ERROR_INIT;
    char *path = chan_xasprintf("%s/%s", dir, file), *text = NULL;
    chan_avro_schema *s = NULL;
    size_t len = 0;

    if (chan_file_read(&text, &len, path, FIXTURE_MAX_SIZE, &err) < 0 ||
        chan_avro_schema_parse(&s, text, len, &err) < 0)
        print_error("%s: %s\n", path, err.message);
    assert_non_null(s);
    free(text);
    free(path);
    return s;
}

/* "KIND LOCATION" lines of one report, each ending in '\n'. */
static void describe(chan_buf *out, const char *prefix, const chan_compat_report *rep)
{
    size_t i;

    for (i = 0; i < chan_compat_report_count(rep); i++) {
        const chan_compat_issue *is = chan_compat_report_get(rep, i);

        chan_buf_printf(out, "%s %s %s\n", prefix, is->kind,
                        is->location[0] ? is->location : "\"\"");
    }
}

static void run_case(void **state)
{
    const char *dir = *state;
    chan_error err = CHAN_ERROR_INIT;
    char *expect_path = chan_xasprintf("%s/expect", dir), *expect = NULL, *line, *save = NULL;
    chan_buf want = CHAN_BUF_INIT, got = CHAN_BUF_INIT;
    chan_compat_mode mode = CHAN_COMPAT_BACKWARD;
    chan_avro_schema *new_schema = load(dir, "new.avsc"), *old = load(dir, "old.avsc");
    const chan_avro_schema *prev[1] = {old};
    chan_compat_report *rep = chan_compat_report_new(), *rem = chan_compat_report_new();
    int rc;

    assert_int_equal(chan_file_read(&expect, NULL, expect_path, FIXTURE_MAX_SIZE, &err), 0);
    for (line = strtok_r(expect, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (strncmp(line, "mode ", 5) == 0)
            assert_int_equal(chan_compat_mode_parse(&mode, line + 5), 0);
        else if (strncmp(line, "issue ", 6) == 0 || strncmp(line, "removal ", 8) == 0)
            chan_buf_printf(&want, "%s\n", line);
        else
            fail_msg("%s: unknown directive \"%s\"", expect_path, line);
    }
    rc = chan_avro_check_mode(mode, new_schema, prev, 1, rep);
    chan_avro_check_removals(new_schema, old, rem);
    describe(&got, "issue", rep);
    describe(&got, "removal", rem);
    if (strcmp(chan_buf_cstr(&got), chan_buf_cstr(&want)) != 0)
        print_error("%s (%s):\n-- want\n%s-- got\n%s", dir, chan_compat_mode_name(mode),
                    chan_buf_cstr(&want), chan_buf_cstr(&got));
    assert_string_equal(chan_buf_cstr(&got), chan_buf_cstr(&want));
    assert_int_equal(rc, chan_compat_report_count(rep) ? CHAN_EINCOMPATIBLE : 0);

    chan_compat_report_free(rep);
    chan_compat_report_free(rem);
    chan_avro_schema_free(new_schema);
    chan_avro_schema_free(old);
    chan_buf_dispose(&want);
    chan_buf_dispose(&got);
    free(expect);
    free(expect_path);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct CMUnitTest *)a)->name, ((const struct CMUnitTest *)b)->name);
}

int main(int argc, char **argv)
{
    struct CMUnitTest *tests = NULL;
    size_t n = 0, i;
    struct dirent *de;
    DIR *d;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    if ((d = opendir(argv[1])) == NULL) {
        fprintf(stderr, "%s: cannot open %s\n", argv[0], argv[1]);
        return 2;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        tests = chan_xreallocarray(tests, n + 1, sizeof(*tests));
        memset(&tests[n], 0, sizeof(tests[n]));
        tests[n].name = chan_xstrdup(de->d_name);
        tests[n].test_func = run_case;
        tests[n].initial_state = chan_xasprintf("%s/%s", argv[1], de->d_name);
        n++;
    }
    closedir(d);
    if (n == 0) {
        fprintf(stderr, "%s: no cases under %s\n", argv[0], argv[1]);
        return 2;
    }
    qsort(tests, n, sizeof(*tests), by_name);
    rc = _cmocka_run_group_tests("compat_fixtures", tests, n, NULL, NULL);
    for (i = 0; i < n; i++) {
        free((char *)tests[i].name);
        free(tests[i].initial_state);
    }
    free(tests);
    return rc;
}
