/*
 * test_common.c - chan_error, chan_diag_list, chan_buf, parsers, files and descriptors.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chan/common.h"

static void test_error_set_and_prefix(void **state)
{
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_error_set(&err, CHAN_EINVALID, "bad %s", "thing"), CHAN_EINVALID);
    assert_int_equal(err.code, CHAN_EINVALID);
    assert_string_equal(err.message, "bad thing");
    chan_error_prefix(&err, "file %d", 3);
    assert_string_equal(err.message, "file 3: bad thing");
    chan_error_hint(&err, "try %s", "harder");
    assert_string_equal(err.hint, "try harder");
    chan_error_locate(&err, "a.yaml", 4, 7);
    assert_string_equal(err.file, "a.yaml");
    assert_int_equal(err.line, 4);
    assert_int_equal(err.column, 7);
    /* NULL err only returns the code. */
    assert_int_equal(chan_error_set(NULL, CHAN_EIO, "x"), CHAN_EIO);
    assert_string_equal(chan_strerror(CHAN_ENOTFOUND), "not found");
    assert_string_equal(chan_strerror(12345), "unknown error");
}

static void test_error_truncates_long_messages(void **state)
{
    chan_error err = CHAN_ERROR_INIT;
    char big[4096];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    chan_error_set(&err, CHAN_EINVALID, "%s", big);
    assert_int_equal(strlen(err.message), CHAN_ERROR_MESSAGE_MAX - 1);
}

static void test_diag_list_sort_is_stable(void **state)
{
    chan_diag_list *list = chan_diag_list_new();
    const chan_diag *d;

    chan_diag_add(list, CHAN_DIAG_ERROR, "b.yaml", 1, 1, "r", NULL, "b1");
    chan_diag_add(list, CHAN_DIAG_WARNING, "a.yaml", 9, 2, "r", "x.y", "a9");
    chan_diag_add(list, CHAN_DIAG_ERROR, "a.yaml", 2, 5, NULL, NULL, "a2-first");
    chan_diag_add(list, CHAN_DIAG_ERROR, "a.yaml", 2, 5, NULL, NULL, "a2-second");
    chan_diag_set_hint(chan_diag_add(list, CHAN_DIAG_ERROR, NULL, 0, 0, NULL, NULL, "nofile"),
                       "hint %d", 1);
    chan_diag_list_sort(list);
    assert_int_equal(chan_diag_list_count(list), 5);
    assert_int_equal(chan_diag_list_count_severity(list, CHAN_DIAG_ERROR), 4);
    assert_string_equal(chan_diag_list_get(list, 0)->message, "nofile");
    assert_string_equal(chan_diag_list_get(list, 0)->hint, "hint 1");
    assert_string_equal(chan_diag_list_get(list, 1)->message, "a2-first");
    assert_string_equal(chan_diag_list_get(list, 2)->message, "a2-second");
    d = chan_diag_list_get(list, 3);
    assert_string_equal(d->message, "a9");
    assert_string_equal(d->path, "x.y");
    assert_string_equal(chan_diag_list_get(list, 4)->message, "b1");
    assert_null(chan_diag_list_get(list, 5));
    chan_diag_list_free(list);
}

static void test_diag_list_splice(void **state)
{
    chan_diag_list *a = chan_diag_list_new(), *b = chan_diag_list_new();
    int i;

    for (i = 0; i < 20; i++)
        chan_diag_add(b, CHAN_DIAG_ERROR, "f", i + 1, 1, NULL, NULL, "m%d", i);
    chan_diag_add(a, CHAN_DIAG_NOTE, NULL, 0, 0, NULL, NULL, "first");
    chan_diag_list_splice(a, b);
    assert_int_equal(chan_diag_list_count(a), 21);
    assert_int_equal(chan_diag_list_count(b), 0);
    assert_string_equal(chan_diag_list_get(a, 20)->message, "m19");
    chan_diag_list_free(a);
    chan_diag_list_free(b);
}

static void test_buf_grows_and_takes(void **state)
{
    chan_buf buf = CHAN_BUF_INIT;
    char *s;
    int i;

    assert_string_equal(chan_buf_cstr(&buf), "");
    for (i = 0; i < 1000; i++)
        chan_buf_printf(&buf, "%d,", i);
    assert_true(buf.len > 3000);
    assert_int_equal(strncmp(buf.ptr, "0,1,2,", 6), 0);
    assert_int_equal(buf.ptr[buf.len], '\0');
    s = chan_buf_take(&buf);
    assert_null(buf.ptr);
    assert_int_equal(buf.len, 0);
    assert_true(chan_str_endswith(s, "999,"));
    free(s);
    s = chan_buf_take(&buf);
    assert_string_equal(s, "");
    free(s);
}

static void test_parse_int64(void **state)
{
    int64_t v = 0;

    assert_int_equal(chan_parse_int64(&v, "42", 0, 100), 0);
    assert_int_equal(v, 42);
    assert_int_equal(chan_parse_int64(&v, "-1", 0, 100), CHAN_EINVALID);
    assert_int_equal(chan_parse_int64(&v, "101", 0, 100), CHAN_EINVALID);
    assert_int_equal(chan_parse_int64(&v, "4x", 0, 100), CHAN_EINVALID);
    assert_int_equal(chan_parse_int64(&v, "", 0, 100), CHAN_EINVALID);
    assert_int_equal(chan_parse_int64(&v, "99999999999999999999", INT64_MIN, INT64_MAX),
                     CHAN_EINVALID);
}

static void test_date_parse(void **state)
{
    int64_t days = -1;

    assert_true(chan_date_parse("1970-01-01", &days));
    assert_int_equal(days, 0);
    assert_true(chan_date_parse("2024-02-29", &days));
    assert_int_equal(days, 19782);
    assert_false(chan_date_parse("2023-02-29", NULL));
    assert_false(chan_date_parse("1900-02-29", NULL));
    assert_true(chan_date_parse("2000-02-29", NULL));
    assert_false(chan_date_parse("2024-13-01", NULL));
    assert_false(chan_date_parse("2024-04-31", NULL));
    assert_false(chan_date_parse("2024-4-01", NULL));
    assert_false(chan_date_parse("2024-04-01T00:00", NULL));
    assert_false(chan_date_parse("abcd-ef-gh", NULL));
    assert_true(chan_date_today() > 19782);
    {
        static const char *const dates[] = {"1970-01-01", "2000-02-29", "2024-02-29",
                                            "2024-03-01", "1969-12-31", "2099-12-31"};
        char buf[16];
        size_t i;

        for (i = 0; i < CHAN_ARRAY_SIZE(dates); i++) {
            assert_true(chan_date_parse(dates[i], &days));
            assert_string_equal(chan_date_format(buf, sizeof(buf), days), dates[i]);
        }
    }
}

static void test_file_roundtrip_and_limits(void **state)
{
    char dir[] = "/tmp/chan-test-XXXXXX";
    chan_error err = CHAN_ERROR_INIT;
    char *path, *data = NULL;
    size_t len = 0;

    assert_non_null(mkdtemp(dir));
    path = chan_xasprintf("%s/f.txt", dir);
    assert_int_equal(chan_file_write_atomic(path, "hello\n", 6, &err), 0);
    assert_int_equal(chan_file_read(&data, &len, path, 100, &err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "hello\n");
    free(data);
    assert_int_equal(chan_file_read(&data, &len, path, 3, &err), CHAN_ETOOBIG);
    assert_null(data);
    unlink(path);
    assert_int_equal(chan_file_read(&data, &len, path, 100, &err), CHAN_ENOTFOUND);
    assert_non_null(strstr(err.message, "f.txt"));
    rmdir(dir);
    free(path);
}

/* Write text into a pipe, close its writing end and return the reading end. */
static int pipe_with(const char *text)
{
    int fds[2];
    size_t len = strlen(text);

    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], text, len), (ssize_t)len);
    close(fds[1]);
    return fds[0];
}

static void test_fd_read_all_limits(void **state)
{
    chan_error err = CHAN_ERROR_INIT;
    char *data = NULL;
    size_t len = 99;
    char c;
    int fd;

    /* Exactly max_size bytes are accepted, the descriptor stays open. */
    fd = pipe_with("abcdef");
    assert_int_equal(chan_fd_read_all(&data, &len, fd, 6, "pipe", &err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "abcdef");
    assert_int_equal(read(fd, &c, 1), 0);
    close(fd);
    free(data);

    /* Empty input: an empty string, not NULL. */
    fd = pipe_with("");
    assert_int_equal(chan_fd_read_all(&data, NULL, fd, 6, "pipe", &err), 0);
    assert_string_equal(data, "");
    close(fd);
    free(data);

    /* One byte more is refused, with the name in the message. */
    fd = pipe_with("abcdefg");
    assert_int_equal(chan_fd_read_all(&data, &len, fd, 6, "in.avsc", &err), CHAN_ETOOBIG);
    assert_null(data);
    assert_int_equal(len, 0);
    assert_string_equal(err.message, "in.avsc is larger than the limit of 6 bytes");
    close(fd);

    /* A descriptor not open for reading. */
    fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(chan_fd_read_all(&data, &len, fd, 6, "null", &err), CHAN_EIO);
    assert_null(data);
    assert_non_null(strstr(err.message, "cannot read null: "));
    close(fd);
}

static void test_log_level_parse(void **state)
{
    chan_log_level level = CHAN_LOG_INFO;

    assert_int_equal(chan_log_level_parse(&level, "debug"), 0);
    assert_int_equal(level, CHAN_LOG_DEBUG);
    assert_int_equal(chan_log_level_parse(&level, "verbose"), CHAN_EINVALID);
    assert_int_equal(level, CHAN_LOG_DEBUG);
}

/* Read what was written to fd (a pipe) so far: at most size - 1 bytes. */
static void read_pipe(int fd, char *buf, size_t size)
{
    ssize_t n = read(fd, buf, size - 1);

    assert_true(n > 0);
    buf[n] = '\0';
}

/*
** chan_log_text writes the line chan_log writes for the same message: the
** prefix (UTC time with milliseconds, level, module), the text, a newline,
** and the same cut of a message longer than a line.
*/
static void test_log_text_as_log(void **state)
{
    char a[8192], b[8192], *big = malloc(5000);
    int fds[2], saved = dup(STDERR_FILENO);

    (void)state;
    assert_non_null(big);
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
    chan_log_set_level(CHAN_LOG_INFO);
    chan_log(CHAN_LOG_WARN, "mod", "%s", "request x=1 y=\"two\"");
    read_pipe(fds[0], a, sizeof(a));
    chan_log_text(CHAN_LOG_WARN, "mod", "request x=1 y=\"two\"", 19);
    read_pipe(fds[0], b, sizeof(b));
    /* "YYYY-MM-DDTHH:MM:SS.mmmZ " is 25 bytes; the rest is equal. */
    assert_true(strlen(a) > 25 && a[19] == '.' && a[23] == 'Z' && a[24] == ' ');
    assert_true(strlen(b) > 25 && b[19] == '.' && b[23] == 'Z' && b[24] == ' ');
    assert_string_equal(a + 25, "warn mod request x=1 y=\"two\"\n");
    assert_string_equal(b + 25, a + 25);
    /* Below the level: nothing written (the next read sees the next line). */
    chan_log_text(CHAN_LOG_DEBUG, "mod", "hidden", 6);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    chan_log(CHAN_LOG_INFO, "mod", "%s", big);
    read_pipe(fds[0], a, sizeof(a));
    chan_log_text(CHAN_LOG_INFO, "mod", big, 4999);
    read_pipe(fds[0], b, sizeof(b));
    assert_int_equal(strlen(a), 4095);
    assert_string_equal(b + 25, a + 25);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(fds[0]);
    close(fds[1]);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_set_and_prefix),
        cmocka_unit_test(test_error_truncates_long_messages),
        cmocka_unit_test(test_diag_list_sort_is_stable),
        cmocka_unit_test(test_diag_list_splice),
        cmocka_unit_test(test_buf_grows_and_takes),
        cmocka_unit_test(test_parse_int64),
        cmocka_unit_test(test_date_parse),
        cmocka_unit_test(test_file_roundtrip_and_limits),
        cmocka_unit_test(test_fd_read_all_limits),
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_log_text_as_log),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
