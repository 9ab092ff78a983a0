/*
 * test_properties.c - librdkafka properties files: what chan_kafka_properties_load
 * accepts (comments, blanks, trimming) and refuses (with FILE:LINE), and
 * chan_kafka_properties_check naming the line of a property librdkafka
 * refuses.  No cluster is needed.
 */
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
#include "chan/kafka.h"

static char dir[] = "/tmp/chan-kafka-test-XXXXXX";

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return rmdir(dir);
}

/* Write len bytes of text to a new file of the test directory; caller frees the path. */
static char *write_file(const char *text, size_t len)
{
    chan_error err = CHAN_ERROR_INIT;
    char *path = chan_xasprintf("%s/kafka.properties", dir);

    assert_int_equal(chan_file_write_atomic(path, text, len, &err), 0);
    return path;
}

/* Load text as a properties file; returns the code, err gets the message. */
static int load_text(chan_kafka_properties *out, const char *text, chan_error *err)
{
    char *path = write_file(text, strlen(text));
    int rc = chan_kafka_properties_load(out, path, err);

    unlink(path);
    free(path);
    return rc;
}

static void test_load_pairs_and_lines(void **state)
{
    chan_kafka_properties p = CHAN_KAFKA_PROPERTIES_INIT;
    chan_error err = CHAN_ERROR_INIT;

    (void)state;
    assert_int_equal(load_text(&p,
                               "# comment\n"
                               "\n"
                               "  security.protocol = SASL_SSL  \r\n"
                               "! other comment\n"
                               "sasl.mechanism=PLAIN\n"
                               "client.rack=a=b",
                               &err),
                     0);
    assert_int_equal(p.n, 3);
    assert_string_equal(p.pairs[0], "security.protocol");
    assert_string_equal(p.pairs[1], "SASL_SSL");
    assert_int_equal(p.lines[0], 3);
    assert_string_equal(p.pairs[2], "sasl.mechanism");
    assert_string_equal(p.pairs[3], "PLAIN");
    assert_int_equal(p.lines[1], 5);
    /* Only the first '=' separates: the value keeps the others. */
    assert_string_equal(p.pairs[4], "client.rack");
    assert_string_equal(p.pairs[5], "a=b");
    assert_int_equal(p.lines[2], 6);
    assert_non_null(strstr(p.path, "kafka.properties"));
    assert_int_equal(chan_kafka_properties_check(&p, &err), 0);
    chan_kafka_properties_dispose(&p);
    assert_int_equal(p.n, 0);
    assert_null(p.pairs);
    assert_null(p.path);
    chan_kafka_properties_dispose(&p); /* again: harmless */
    chan_kafka_properties_dispose(NULL);
}

static void test_load_refuses_bad_lines(void **state)
{
    static const struct {
        const char *text;
        const char *message; /* after "FILE:" */
    } cases[] = {
        {"acks=all\nno separator\n", "2: expected KEY=VALUE"},
        {" = value\n", "1: empty property name"},
        {"client.id=a\tb\n", "1: control character in the line"},
        {"bootstrap.servers=localhost:9092\n",
         "1: bootstrap.servers is not allowed here; use --kafka-bootstrap"},
        {"\nmetadata.broker.list=localhost:9092\n",
         "2: metadata.broker.list is not allowed here; use --kafka-bootstrap"},
        {"acks=all\n#\nacks=1\n", "3: property acks already set on line 1"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < CHAN_ARRAY_SIZE(cases); i++) {
        chan_kafka_properties p = CHAN_KAFKA_PROPERTIES_INIT;
        chan_error err = CHAN_ERROR_INIT;
        const char *colon;

        assert_int_equal(load_text(&p, cases[i].text, &err), CHAN_EINVALID);
        assert_int_equal(p.n, 0);
        assert_null(p.pairs);
        colon = strstr(err.message, "kafka.properties:");
        assert_non_null(colon);
        assert_string_equal(colon + strlen("kafka.properties:"), cases[i].message);
    }
}

static void test_load_refuses_nul_and_missing_files(void **state)
{
    chan_kafka_properties p = CHAN_KAFKA_PROPERTIES_INIT;
    chan_error err = CHAN_ERROR_INIT;
    char *path = write_file("acks=all\n\0x=y\n", 14);

    (void)state;
    assert_int_equal(chan_kafka_properties_load(&p, path, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "the file contains a NUL byte"));
    unlink(path);
    assert_int_equal(chan_kafka_properties_load(&p, path, &err), CHAN_ENOTFOUND);
    assert_non_null(strstr(err.message, path));
    assert_int_equal(p.n, 0);
    free(path);
}

static void test_check_names_the_refused_line(void **state)
{
    chan_kafka_properties p = CHAN_KAFKA_PROPERTIES_INIT;
    chan_error err = CHAN_ERROR_INIT;
    char *expected;

    (void)state;
    assert_int_equal(load_text(&p, "acks=all\n\nsasl.mechanismz=PLAIN\n", &err), 0);
    assert_int_equal(chan_kafka_properties_check(&p, &err), CHAN_EINVALID);
    expected = chan_xasprintf("%s:3: kafka: property sasl.mechanismz: ", p.path);
    assert_int_equal(strncmp(err.message, expected, strlen(expected)), 0);
    free(expected);
    chan_kafka_properties_dispose(&p);

    /* A known property with a value librdkafka refuses. */
    assert_int_equal(load_text(&p, "socket.timeout.ms=lots\n", &err), 0);
    assert_int_equal(chan_kafka_properties_check(&p, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, ":1: kafka: property socket.timeout.ms: "));
    chan_kafka_properties_dispose(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_pairs_and_lines),
        cmocka_unit_test(test_load_refuses_bad_lines),
        cmocka_unit_test(test_load_refuses_nul_and_missing_files),
        cmocka_unit_test(test_check_names_the_refused_line),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
