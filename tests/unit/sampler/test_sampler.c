/*
 * test_sampler.c - the producer check's classifier: every verdict, the order
 * in which the checks apply, and boundary cases of the header (spaces, signs,
 * zero, leading zeros, numbers beyond any version, null and binary values)
 * and of the Confluent wire format (4 and 5 bytes, magic byte, ids with the
 * high bit set).  Garbage input must be classified, never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <librdkafka/rdkafka.h>

#include "chan/common.h"
#include "chan/kafka.h"

/* The contract of the tests: versions 1, 2, 3 with ids 10, 11, 12 and
 * version 4 registered again with the id of version 2 (after a soft delete). */
static const chan_kafka_contract_version versions[] = {
    {1, 10}, {2, 11}, {3, 12}, {4, 11}, {5, 0xFFFFFFF0LL}};
static const chan_kafka_contract contract = {
    "orders.order-created", versions, CHAN_ARRAY_SIZE(versions), true, {3, 2, 1}};

/* A wire-format value with the given id and a body of n_body bytes. */
static size_t wire(unsigned char *buf, uint32_t id, size_t n_body)
{
    size_t i;

    buf[0] = 0;
    buf[1] = (unsigned char)(id >> 24);
    buf[2] = (unsigned char)(id >> 16);
    buf[3] = (unsigned char)(id >> 8);
    buf[4] = (unsigned char)id;
    for (i = 0; i < n_body; i++)
        buf[5 + i] = (unsigned char)(0x02 + i);
    return 5 + n_body;
}

/* Classify a message with a string header (NULL: no header) and a value. */
static chan_kafka_verdict classify(const char *header, const void *value, size_t len,
                                   int64_t *out_version, int64_t *out_id)
{
    chan_kafka_message_view msg;

    memset(&msg, 0, sizeof(msg));
    msg.has_version_header = header != NULL;
    msg.version_header = header;
    msg.version_header_len = header ? strlen(header) : 0;
    msg.value = value;
    msg.value_len = len;
    return chan_kafka_classify_message(out_version, out_id, &contract, &msg);
}

/* Classify with header "version" and a wire value of id. */
static chan_kafka_verdict classify_wire(const char *header, uint32_t id)
{
    unsigned char buf[32];
    size_t n = wire(buf, id, 6);

    return classify(header, buf, n, NULL, NULL);
}

static void test_ok(void **state)
{
    unsigned char buf[32];
    size_t n = wire(buf, 11, 6);
    int64_t version = 0, id = 0;

    assert_int_equal(classify("2", buf, n, &version, &id), CHAN_KAFKA_VERDICT_OK);
    assert_int_equal(version, 2);
    assert_int_equal(id, 11);
    assert_int_equal(classify_wire("1", 10), CHAN_KAFKA_VERDICT_OK);
    assert_int_equal(classify_wire("3", 12), CHAN_KAFKA_VERDICT_OK);
    /* Two versions with one id: each header is right. */
    assert_int_equal(classify_wire("4", 11), CHAN_KAFKA_VERDICT_OK);
    /* Ids are read as unsigned big-endian 32-bit numbers. */
    assert_int_equal(classify_wire("5", 0xFFFFFFF0u), CHAN_KAFKA_VERDICT_OK);
    assert_false(chan_kafka_verdict_is_mismatch(CHAN_KAFKA_VERDICT_OK));
}

static void test_tombstone_is_skipped(void **state)
{
    int64_t version = 0, id = 0;

    /* Whatever the headers say, a NULL value is not checked. */
    assert_int_equal(classify("2", NULL, 0, &version, &id), CHAN_KAFKA_VERDICT_TOMBSTONE);
    assert_int_equal(version, 2);
    assert_int_equal(id, -1);
    assert_int_equal(classify(NULL, NULL, 0, NULL, NULL), CHAN_KAFKA_VERDICT_TOMBSTONE);
    assert_int_equal(classify("garbage", NULL, 0, NULL, NULL), CHAN_KAFKA_VERDICT_TOMBSTONE);
    assert_false(chan_kafka_verdict_is_mismatch(CHAN_KAFKA_VERDICT_TOMBSTONE));
}

static void test_missing_header(void **state)
{
    unsigned char buf[32];
    size_t n = wire(buf, 11, 3);
    int64_t version = 0, id = 0;

    assert_int_equal(classify(NULL, buf, n, &version, &id), CHAN_KAFKA_VERDICT_MISSING_HEADER);
    assert_int_equal(version, -1);
    assert_int_equal(id, 11);
    /* An empty value (not NULL) is a message, not a tombstone. */
    assert_int_equal(classify(NULL, "", 0, NULL, NULL), CHAN_KAFKA_VERDICT_MISSING_HEADER);
    assert_true(chan_kafka_verdict_is_mismatch(CHAN_KAFKA_VERDICT_MISSING_HEADER));
}

/* Contract version headers against a contract at version 3.2.1. */
static void test_contract_version_header(void **state)
{
    static const char *const accepted[] = {"v3.2.1", "v3.2.0", "v3.1.9", "v3.0.0"};
    static const char *const unknown[] = {"v3.2.2", "v3.3.0", "v4.0.0",
                                          "v2.9.9", "v0.0.0", "v999999999.0.0"};
    static const char *const bad[] = {"V3.2.1", "v3.2",    "v03.2.1",        "v3.2.1 ", "3.2.1",
                                      "v",      "v3..1",   "v3.2.1.0",       "v-3.2.1", " v3.2.1",
                                      "v3.2.x", "v3.2.01", "v1234567890.0.0"};
    unsigned char buf[32];
    int64_t version = 0, id = 0;
    size_t i, n;

    (void)state;
    for (i = 0; i < CHAN_ARRAY_SIZE(accepted); i++) {
        /* Any of the contract's schema versions, whichever the id names. */
        if (classify_wire(accepted[i], 10) != CHAN_KAFKA_VERDICT_OK ||
            classify_wire(accepted[i], 12) != CHAN_KAFKA_VERDICT_OK ||
            classify_wire(accepted[i], 0xFFFFFFF0u) != CHAN_KAFKA_VERDICT_OK)
            fail_msg("header \"%s\" is not OK", accepted[i]);
        if (classify_wire(accepted[i], 99) != CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID)
            fail_msg("header \"%s\" with an unknown id is not UNKNOWN_SCHEMA_ID", accepted[i]);
    }
    for (i = 0; i < CHAN_ARRAY_SIZE(unknown); i++) {
        if (classify_wire(unknown[i], 11) != CHAN_KAFKA_VERDICT_UNKNOWN_VERSION)
            fail_msg("header \"%s\" is not UNKNOWN_VERSION", unknown[i]);
    }
    for (i = 0; i < CHAN_ARRAY_SIZE(bad); i++) {
        if (classify_wire(bad[i], 11) != CHAN_KAFKA_VERDICT_BAD_HEADER)
            fail_msg("header \"%s\" is not BAD_HEADER", bad[i]);
    }
    /* Not wire format, with the version reported as "none". */
    assert_int_equal(classify("v3.2.1", "abc", 3, &version, &id),
                     CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT);
    assert_int_equal(version, -1);
    assert_int_equal(id, -1);
    /* The schema-version form still works next to it. */
    n = wire(buf, 11, 2);
    assert_int_equal(classify("2", buf, n, &version, &id), CHAN_KAFKA_VERDICT_OK);
    assert_int_equal(version, 2);
}

/* A contract without a version accepts no contract-version header. */
static void test_contract_version_header_unversioned(void **state)
{
    chan_kafka_contract plain = {
        "orders.order-created", versions, CHAN_ARRAY_SIZE(versions), false, {3, 2, 1}};
    chan_kafka_message_view msg;
    unsigned char buf[32];

    (void)state;
    memset(&msg, 0, sizeof(msg));
    msg.has_version_header = true;
    msg.version_header = "v3.2.1";
    msg.version_header_len = 6;
    msg.value = buf;
    msg.value_len = wire(buf, 11, 2);
    assert_int_equal(chan_kafka_classify_message(NULL, NULL, &plain, &msg),
                     CHAN_KAFKA_VERDICT_UNKNOWN_VERSION);
    msg.version_header = "2";
    msg.version_header_len = 1;
    assert_int_equal(chan_kafka_classify_message(NULL, NULL, &plain, &msg), CHAN_KAFKA_VERDICT_OK);
}

/* The producers' helper sets the header once, in the form the check accepts. */
static void test_stamp_contract_version(void **state)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(2);
    chan_error err = CHAN_ERROR_INIT;
    const void *value = NULL;
    size_t len = 0, n;
    unsigned char buf[32];
    chan_kafka_message_view msg;

    (void)state;
    rd_kafka_header_add(h, CHAN_KAFKA_VERSION_HEADER, -1, "1", 1);
    rd_kafka_header_add(h, CHAN_KAFKA_VERSION_HEADER, -1, "2", 1);
    assert_int_equal(chan_kafka_stamp_contract_version(h, "3.1.0", &err), 0);
    assert_int_equal(rd_kafka_header_cnt(h), 1);
    assert_int_equal(rd_kafka_header_get_last(h, CHAN_KAFKA_VERSION_HEADER, &value, &len),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(len, 6);
    assert_memory_equal(value, "v3.1.0", 6);
    assert_int_equal(chan_kafka_stamp_contract_version(h, "v3.2.1", &err), 0);
    assert_int_equal(rd_kafka_header_get_last(h, CHAN_KAFKA_VERSION_HEADER, &value, &len),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(len, 6);
    assert_memory_equal(value, "v3.2.1", 6);

    n = wire(buf, 12, 1);
    memset(&msg, 0, sizeof(msg));
    msg.has_version_header = true;
    msg.version_header = value;
    msg.version_header_len = len;
    msg.value = buf;
    msg.value_len = n;
    assert_int_equal(chan_kafka_classify_message(NULL, NULL, &contract, &msg),
                     CHAN_KAFKA_VERDICT_OK);

    /* Refused values leave the headers alone. */
    assert_int_equal(chan_kafka_stamp_contract_version(h, "3.2", &err), CHAN_EINVALID);
    assert_int_equal(chan_kafka_stamp_contract_version(h, "vv3.2.1", &err), CHAN_EINVALID);
    assert_int_equal(chan_kafka_stamp_contract_version(h, NULL, &err), CHAN_EINVALID);
    assert_int_equal(rd_kafka_header_cnt(h), 1);
    chan_error_clear(&err);
    rd_kafka_headers_destroy(h);
}

static void test_bad_header(void **state)
{
    static const char *const bad[] = {"",   "0",   "00",  "-1",           "+2",   " 2",     "2 ",
                                      " ",  "2.0", "1e3", "0x2",          "two",  "2\n",    "\t2",
                                      "v2", "2,3", "-0",  "\xef\xbc\x92", "\xff", "99999a9"};
    int64_t version = 0;
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(bad); i++) {
        unsigned char buf[32];
        size_t n = wire(buf, 11, 2);

        version = 0;
        if (classify(bad[i], buf, n, &version, NULL) != CHAN_KAFKA_VERDICT_BAD_HEADER)
            fail_msg("header \"%s\" is not BAD_HEADER", bad[i]);
        assert_int_equal(version, -1);
    }
}

static void test_bad_header_binary_and_null(void **state)
{
    unsigned char buf[32];
    size_t n = wire(buf, 11, 2);
    chan_kafka_message_view msg;

    /* A header with a null value (Kafka allows it). */
    memset(&msg, 0, sizeof(msg));
    msg.has_version_header = true;
    msg.version_header = NULL;
    msg.version_header_len = 0;
    msg.value = buf;
    msg.value_len = n;
    assert_int_equal(chan_kafka_classify_message(NULL, NULL, &contract, &msg),
                     CHAN_KAFKA_VERDICT_BAD_HEADER);
    /* A NUL byte inside: the length counts, not a C string. */
    msg.version_header = "2\0";
    msg.version_header_len = 2;
    assert_int_equal(chan_kafka_classify_message(NULL, NULL, &contract, &msg),
                     CHAN_KAFKA_VERDICT_BAD_HEADER);
    /* Not NUL-terminated: only len bytes are read. */
    msg.version_header = "23";
    msg.version_header_len = 1;
    assert_int_equal(chan_kafka_classify_message(NULL, NULL, &contract, &msg),
                     CHAN_KAFKA_VERDICT_OK);
}

static void test_leading_zeros_are_the_number(void **state)
{
    assert_int_equal(classify_wire("02", 11), CHAN_KAFKA_VERDICT_OK);
    assert_int_equal(classify_wire("0000000003", 12), CHAN_KAFKA_VERDICT_OK);
}

static void test_unknown_version(void **state)
{
    unsigned char buf[32];
    size_t n = wire(buf, 11, 2);
    int64_t version = 0;

    assert_int_equal(classify("6", buf, n, &version, NULL), CHAN_KAFKA_VERDICT_UNKNOWN_VERSION);
    assert_int_equal(version, 6);
    /* Beyond int: still a positive integer, no such version, no overflow. */
    assert_int_equal(classify("4294967298", buf, n, &version, NULL),
                     CHAN_KAFKA_VERDICT_UNKNOWN_VERSION);
    assert_int_equal(version, 4294967298LL);
    assert_int_equal(classify("9223372036854775807", buf, n, &version, NULL),
                     CHAN_KAFKA_VERDICT_UNKNOWN_VERSION);
    assert_int_equal(version, INT64_MAX);
    assert_int_equal(classify("99999999999999999999999999999999999999", buf, n, &version, NULL),
                     CHAN_KAFKA_VERDICT_UNKNOWN_VERSION);
    assert_int_equal(version, INT64_MAX);
    /* Saturation must not hide a later non-digit. */
    assert_int_equal(classify("99999999999999999999999x", buf, n, &version, NULL),
                     CHAN_KAFKA_VERDICT_BAD_HEADER);
    /* An unknown version wins over a value that is not wire format. */
    assert_int_equal(classify("7", "abc", 3, NULL, NULL), CHAN_KAFKA_VERDICT_UNKNOWN_VERSION);
}

static void test_unknown_version_empty_contract(void **state)
{
    chan_kafka_contract empty = {"orders.order-created", NULL, 0, false, {0, 0, 0}};
    chan_kafka_message_view msg;
    unsigned char buf[32];

    memset(&msg, 0, sizeof(msg));
    msg.has_version_header = true;
    msg.version_header = "1";
    msg.version_header_len = 1;
    msg.value = buf;
    msg.value_len = wire(buf, 10, 1);
    assert_int_equal(chan_kafka_classify_message(NULL, NULL, &empty, &msg),
                     CHAN_KAFKA_VERDICT_UNKNOWN_VERSION);
    assert_int_equal(chan_kafka_classify_message(NULL, NULL, NULL, &msg),
                     CHAN_KAFKA_VERDICT_UNKNOWN_VERSION);
}

static void test_not_wire_format(void **state)
{
    unsigned char buf[32];
    int64_t id = 0;
    size_t n;

    /* Four bytes: magic byte and three bytes of an id. */
    wire(buf, 11, 0);
    assert_int_equal(classify("2", buf, 4, NULL, &id), CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT);
    assert_int_equal(id, -1);
    assert_int_equal(classify("2", buf, 1, NULL, NULL), CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT);
    assert_int_equal(classify("2", "", 0, NULL, NULL), CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT);
    /* Five bytes: an empty Avro body, which is valid wire format. */
    assert_int_equal(classify("2", buf, 5, NULL, &id), CHAN_KAFKA_VERDICT_OK);
    assert_int_equal(id, 11);
    /* Wrong magic byte. */
    n = wire(buf, 11, 4);
    buf[0] = 1;
    assert_int_equal(classify("2", buf, n, NULL, &id), CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT);
    assert_int_equal(id, -1);
    /* Plain JSON and plain Avro. */
    assert_int_equal(classify("2", "{\"id\": 1}", 9, NULL, NULL),
                     CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT);
    buf[0] = 0x02;
    assert_int_equal(classify("2", buf, n, NULL, NULL), CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT);
}

static void test_unknown_schema_id(void **state)
{
    int64_t id = 0;
    unsigned char buf[32];
    size_t n = wire(buf, 99, 2);

    assert_int_equal(classify("2", buf, n, NULL, &id), CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID);
    assert_int_equal(id, 99);
    assert_int_equal(classify_wire("1", 0), CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID);
    assert_int_equal(classify_wire("1", 0xFFFFFFFFu), CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID);
    /* 0x0000000a with the high bytes set differently is another id. */
    assert_int_equal(classify_wire("1", 0x0100000Au), CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID);
}

static void test_version_id_mismatch(void **state)
{
    int64_t version = 0, id = 0;
    unsigned char buf[32];
    size_t n = wire(buf, 10, 2);

    /* Header says 3, the value was written with version 1's schema. */
    assert_int_equal(classify("3", buf, n, &version, &id), CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH);
    assert_int_equal(version, 3);
    assert_int_equal(id, 10);
    /* Id 11 belongs to versions 2 and 4, not 1. */
    assert_int_equal(classify_wire("1", 11), CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH);
    assert_int_equal(classify_wire("4", 12), CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH);
}

static void test_order_of_checks(void **state)
{
    /* Each message breaks several rules; the first in the enum's order wins. */
    assert_int_equal(classify(NULL, "x", 1, NULL, NULL), CHAN_KAFKA_VERDICT_MISSING_HEADER);
    assert_int_equal(classify("x", "x", 1, NULL, NULL), CHAN_KAFKA_VERDICT_BAD_HEADER);
    assert_int_equal(classify("8", "x", 1, NULL, NULL), CHAN_KAFKA_VERDICT_UNKNOWN_VERSION);
    assert_int_equal(classify("1", "x", 1, NULL, NULL), CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT);
    assert_int_equal(classify_wire("x", 99), CHAN_KAFKA_VERDICT_BAD_HEADER);
}

static void test_garbage_never_crashes(void **state)
{
    unsigned char value[64], header[24];
    uint32_t seed = 12345;
    size_t i, k;

    for (i = 0; i < 20000; i++) {
        chan_kafka_message_view msg;
        chan_kafka_verdict v;
        size_t vlen, hlen;

        for (k = 0; k < sizeof(value); k++) {
            seed = seed * 1103515245u + 12345u;
            value[k] = (unsigned char)(seed >> 16);
        }
        for (k = 0; k < sizeof(header); k++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly digits, so that parsing goes deep */
            header[k] = (seed >> 20) % 4 ? (unsigned char)('0' + (seed >> 16) % 10)
                                         : (unsigned char)(seed >> 8);
        }
        vlen = (seed >> 3) % (sizeof(value) + 1);
        hlen = (seed >> 9) % (sizeof(header) + 1);
        value[0] = (seed & 1) ? 0 : value[0];
        memset(&msg, 0, sizeof(msg));
        msg.has_version_header = (seed & 2) != 0;
        msg.version_header = header;
        msg.version_header_len = hlen;
        msg.value = (seed & 0x400) ? value : NULL;
        msg.value_len = vlen;
        v = chan_kafka_classify_message(NULL, NULL, &contract, &msg);
        assert_true(v >= CHAN_KAFKA_VERDICT_OK && v < CHAN_KAFKA_VERDICT_COUNT);
    }
}

static void test_verdict_names(void **state)
{
    static const char *const names[] = {"ok",
                                        "tombstone",
                                        "missing_header",
                                        "bad_header",
                                        "unknown_version",
                                        "not_wire_format",
                                        "unknown_schema_id",
                                        "version_id_mismatch"};
    int v;

    assert_int_equal(CHAN_ARRAY_SIZE(names), CHAN_KAFKA_VERDICT_COUNT);
    for (v = 0; v < CHAN_KAFKA_VERDICT_COUNT; v++)
        assert_string_equal(chan_kafka_verdict_name((chan_kafka_verdict)v), names[v]);
    assert_string_equal(chan_kafka_verdict_name((chan_kafka_verdict)99), "unknown");
    assert_false(chan_kafka_verdict_is_mismatch((chan_kafka_verdict)99));
}

static void test_sampler_open_rejects_bad_options(void **state)
{
    chan_kafka_sampler_options opts = CHAN_KAFKA_SAMPLER_OPTIONS_INIT;
    chan_kafka_sampler *s = (chan_kafka_sampler *)&opts;
    chan_error err = CHAN_ERROR_INIT;
    const char *bad_config[] = {"no.such.property", "1"};

    assert_int_equal(chan_kafka_sampler_open(&s, &opts, &err), CHAN_EINVALID);
    assert_null(s);
    assert_non_null(strstr(err.message, "bootstrap"));
    chan_error_clear(&err);

    opts.bootstrap_servers = "127.0.0.1:1";
    opts.config = bad_config;
    opts.n_config = 1;
    assert_int_equal(chan_kafka_sampler_open(&s, &opts, &err), CHAN_EINVALID);
    assert_null(s);
    assert_non_null(strstr(err.message, "no.such.property"));
    chan_error_clear(&err);

    opts.version = 99;
    assert_int_equal(chan_kafka_sampler_open(&s, &opts, &err), CHAN_EINVALID);
    chan_error_clear(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_tombstone_is_skipped),
        cmocka_unit_test(test_missing_header),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_bad_header_binary_and_null),
        cmocka_unit_test(test_leading_zeros_are_the_number),
        cmocka_unit_test(test_unknown_version),
        cmocka_unit_test(test_unknown_version_empty_contract),
        cmocka_unit_test(test_not_wire_format),
        cmocka_unit_test(test_unknown_schema_id),
        cmocka_unit_test(test_version_id_mismatch),
        cmocka_unit_test(test_order_of_checks),
        cmocka_unit_test(test_garbage_never_crashes),
        cmocka_unit_test(test_verdict_names),
        cmocka_unit_test(test_contract_version_header),
        cmocka_unit_test(test_stamp_contract_version),
        cmocka_unit_test(test_contract_version_header_unversioned),
        cmocka_unit_test(test_sampler_open_rejects_bad_options),
    };

    chan_log_set_level(CHAN_LOG_OFF);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
