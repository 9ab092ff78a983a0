/*
 * test_sampler_mock.c - the producer check's sampler against librdkafka's
 * mock cluster (rd_kafka_mock_cluster_new): good and bad messages with
 * headers are produced to managed and unmanaged topics, and the mismatches
 * the sampler reports are counted per channel and reason.
 *
 * Usage:
 *   test_sampler_mock            the cmocka tests (ctest integration.sampler)
 *   test_sampler_mock serve T... a mock cluster with topics T (one partition
 *                                each) for the daemon test: prints
 *                                "bootstrap HOST:PORT,...", then reads
 *                                commands from standard input, one a line,
 *                                answering "ok N" or "error MSG":
 *                                  produce TOPIC HEADER VALUE
 *                                HEADER is the header's text, or "-" for no
 *                                header; VALUE is hex bytes, "wire:ID" (the
 *                                wire-format prefix of ID and a 2-byte body)
 *                                or "null" (a tombstone).  It exits when its
 *                                standard input closes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "chan/common.h"
#include "chan/kafka.h"

#define TOPIC_ORDERS    "orders.order-created"
#define TOPIC_STOCK     "inventory.stock-updated"
#define TOPIC_UNMANAGED "audit.unmanaged"

/* ------------------------------------------------------------------ */
/* Mock cluster and producer                                           */
/* ------------------------------------------------------------------ */

typedef struct mock {
    rd_kafka_t *owner; /* the handle the mock cluster is attached to */
    rd_kafka_mock_cluster_t *cluster;
    rd_kafka_t *producer;
    char bootstraps[256];
} mock;

static rd_kafka_t *new_producer(const char *bootstraps)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char errstr[256];
    rd_kafka_t *rk;

    if (bootstraps && rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr,
                                        sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "bootstrap.servers: %s\n", errstr);
        abort();
    }
    rd_kafka_conf_set(conf, "linger.ms", "0", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "producer: %s\n", errstr);
        abort();
    }
    return rk;
}

static void mock_start(mock *m, const char *const *topics, const int *partitions, size_t n)
{
    size_t i;

    memset(m, 0, sizeof(*m));
    m->owner = new_producer(NULL);
    m->cluster = rd_kafka_mock_cluster_new(m->owner, 1);
    if (m->cluster == NULL) {
        fprintf(stderr, "cannot create the mock cluster\n");
        abort();
    }
    snprintf(m->bootstraps, sizeof(m->bootstraps), "%s",
             rd_kafka_mock_cluster_bootstraps(m->cluster));
    for (i = 0; i < n; i++) {
        if (rd_kafka_mock_topic_create(m->cluster, topics[i], partitions[i], 1) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "cannot create topic %s\n", topics[i]);
            abort();
        }
    }
    m->producer = new_producer(m->bootstraps);
}

static void mock_stop(mock *m)
{
    if (m->producer) {
        rd_kafka_flush(m->producer, 5000);
        rd_kafka_destroy(m->producer);
    }
    if (m->cluster)
        rd_kafka_mock_cluster_destroy(m->cluster);
    if (m->owner)
        rd_kafka_destroy(m->owner);
    memset(m, 0, sizeof(*m));
}

/* Value kinds for produce(). */
#define VALUE_NULL ((const void *)1)

/*
** Produce one message to topic/partition (-1: any).  header NULL: no
** version header; HEADER_NULL: the header with a null value.  value
** VALUE_NULL: a tombstone.
*/
#define HEADER_NULL ((const char *)1)
static int produce(rd_kafka_t *rk, const char *topic, int32_t partition, const char *header,
                   const void *value, size_t len)
{
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
    void *vp = (void *)(uintptr_t)value;
    rd_kafka_resp_err_t code;

    rd_kafka_header_add(hdrs, "trace-id", -1, "abc", 3);
    if (header == HEADER_NULL)
        rd_kafka_header_add(hdrs, CHAN_KAFKA_VERSION_HEADER, -1, NULL, 0);
    else if (header)
        rd_kafka_header_add(hdrs, CHAN_KAFKA_VERSION_HEADER, -1, header, (ssize_t)strlen(header));
    if (value == VALUE_NULL) {
        vp = NULL;
        len = 0;
    }
    code = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(vp, len),
                             RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs);
        return -1;
    }
    return 0;
}

/* A wire-format value with id and a 2-byte body, in buf (at least 7 bytes). */
static size_t wire(unsigned char *buf, uint32_t id)
{
    buf[0] = 0;
    buf[1] = (unsigned char)(id >> 24);
    buf[2] = (unsigned char)(id >> 16);
    buf[3] = (unsigned char)(id >> 8);
    buf[4] = (unsigned char)id;
    buf[5] = 0x02;
    buf[6] = 0x41;
    return 7;
}

static void produce_wire(rd_kafka_t *rk, const char *topic, int32_t partition, const char *header,
                         uint32_t id)
{
    unsigned char buf[8];
    size_t n = wire(buf, id);

    assert_int_equal(produce(rk, topic, partition, header, buf, n), 0);
}

static void flush(rd_kafka_t *rk)
{
    assert_int_equal(rd_kafka_flush(rk, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
}

/* ------------------------------------------------------------------ */
/* Sampler fixture                                                     */
/* ------------------------------------------------------------------ */

/* Contracts: orders v1..v3 = ids 1, 2, 3; stock v1..v2 = ids 7, 8. */
static const chan_kafka_contract_version orders_versions[] = {{1, 1}, {2, 2}, {3, 3}};
static const chan_kafka_contract_version stock_versions[] = {{1, 7}, {2, 8}};

typedef struct counts {
    unsigned orders[CHAN_KAFKA_VERDICT_COUNT];
    unsigned stock[CHAN_KAFKA_VERDICT_COUNT];
    unsigned other;
    int64_t last_version, last_id;
} counts;

static void on_mismatch(void *ctx, const chan_kafka_mismatch *mm)
{
    counts *c = ctx;

    assert_true(chan_kafka_verdict_is_mismatch(mm->verdict));
    assert_true(mm->offset >= 0);
    if (strcmp(mm->channel, TOPIC_ORDERS) == 0)
        c->orders[mm->verdict]++;
    else if (strcmp(mm->channel, TOPIC_STOCK) == 0)
        c->stock[mm->verdict]++;
    else
        c->other++;
    c->last_version = mm->version;
    c->last_id = mm->schema_id;
}

typedef struct fixture {
    mock m;
    chan_kafka_sampler *sampler;
    counts counts;
} fixture;

static chan_kafka_sampler *open_sampler(const char *bootstraps, unsigned every, unsigned per_s)
{
    chan_kafka_sampler_options opts = CHAN_KAFKA_SAMPLER_OPTIONS_INIT;
    chan_kafka_sampler *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const char *config[] = {"fetch.wait.max.ms", "50"};

    opts.bootstrap_servers = bootstraps;
    opts.sample_every = every;
    opts.max_messages_per_s = per_s;
    opts.timeout_ms = 5000;
    opts.config = config;
    opts.n_config = 1;
    if (chan_kafka_sampler_open(&s, &opts, &err) < 0)
        fail_msg("sampler: %s", err.message);
    return s;
}

static void set_contracts(chan_kafka_sampler *s, bool with_stock)
{
    chan_kafka_contract contracts[2] = {
        {TOPIC_ORDERS, orders_versions, CHAN_ARRAY_SIZE(orders_versions), false, {0, 0, 0}},
        {TOPIC_STOCK, stock_versions, CHAN_ARRAY_SIZE(stock_versions), false, {0, 0, 0}}};
    chan_error err = CHAN_ERROR_INIT;

    if (chan_kafka_sampler_set_contracts(s, contracts, with_stock ? 2 : 1, &err) < 0)
        fail_msg("set_contracts: %s", err.message);
}

/* Poll until `read` messages of managed topics were read (or 30 s passed). */
static void poll_until_read(chan_kafka_sampler *s, uint64_t read, counts *c)
{
    chan_kafka_sampler_stats st;
    chan_error err = CHAN_ERROR_INIT;
    time_t deadline = time(NULL) + 30;

    for (;;) {
        assert_int_equal(chan_kafka_sampler_poll(NULL, s, 200, on_mismatch, c, &err), 0);
        chan_kafka_sampler_stats_get(&st, s);
        if (st.read >= read || time(NULL) > deadline)
            break;
    }
    assert_int_equal(st.read, read);
    /* Nothing more arrives. */
    assert_int_equal(chan_kafka_sampler_poll(NULL, s, 300, on_mismatch, c, &err), 0);
    chan_kafka_sampler_stats_get(&st, s);
    assert_int_equal(st.read, read);
}

static int setup(void **state)
{
    static const char *const topics[] = {TOPIC_ORDERS, TOPIC_STOCK, TOPIC_UNMANAGED};
    static const int partitions[] = {3, 1, 1};
    fixture *f = chan_xcalloc(1, sizeof(*f));

    mock_start(&f->m, topics, partitions, CHAN_ARRAY_SIZE(topics));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    chan_kafka_sampler_free(f->sampler);
    mock_stop(&f->m);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void test_counts_every_reason(void **state)
{
    fixture *f = *state;
    rd_kafka_t *p = f->m.producer;
    chan_kafka_sampler_stats st;
    unsigned char buf[16];
    int i;

    /* Written before the sampler starts: never read (it starts at the end). */
    for (i = 0; i < 4; i++)
        assert_int_equal(produce(p, TOPIC_ORDERS, i % 3, NULL, "old", 3), 0);
    flush(p);

    f->sampler = open_sampler(f->m.bootstraps, 1, 100000);
    set_contracts(f->sampler, true);
    chan_kafka_sampler_stats_get(&st, f->sampler);
    assert_int_equal(st.topics, 2);
    assert_int_equal(st.partitions, 4);

    /* orders: 6 good over every partition and version */
    for (i = 0; i < 6; i++)
        produce_wire(p, TOPIC_ORDERS, i % 3, i % 2 ? "2" : "3", i % 2 ? 2 : 3);
    /* orders: 2 missing header, 3 bad header, 1 null header value */
    produce_wire(p, TOPIC_ORDERS, 0, NULL, 2);
    produce_wire(p, TOPIC_ORDERS, 1, NULL, 2);
    produce_wire(p, TOPIC_ORDERS, 2, "0", 2);
    produce_wire(p, TOPIC_ORDERS, 0, " 2", 2);
    produce_wire(p, TOPIC_ORDERS, 1, "two", 2);
    assert_int_equal(produce(p, TOPIC_ORDERS, 2, HEADER_NULL, buf, wire(buf, 2)), 0);
    /* orders: 2 unknown versions */
    produce_wire(p, TOPIC_ORDERS, 0, "4", 2);
    produce_wire(p, TOPIC_ORDERS, 1, "99999999999999999999", 2);
    /* orders: 3 not wire format (4 bytes, JSON, wrong magic) */
    wire(buf, 2);
    assert_int_equal(produce(p, TOPIC_ORDERS, 2, "2", buf, 4), 0);
    assert_int_equal(produce(p, TOPIC_ORDERS, 0, "2", "{\"a\":1}", 7), 0);
    buf[0] = 1;
    assert_int_equal(produce(p, TOPIC_ORDERS, 1, "2", buf, 7), 0);
    /* orders: 1 unknown schema id (stock's id 7 is not orders'), 2 mismatches */
    produce_wire(p, TOPIC_ORDERS, 2, "1", 7);
    produce_wire(p, TOPIC_ORDERS, 0, "1", 3);
    produce_wire(p, TOPIC_ORDERS, 1, "3", 1);
    /* orders: 2 tombstones, even without headers */
    assert_int_equal(produce(p, TOPIC_ORDERS, 2, NULL, VALUE_NULL, 0), 0);
    assert_int_equal(produce(p, TOPIC_ORDERS, 0, "2", VALUE_NULL, 0), 0);
    /* stock: 2 good, 1 version/id mismatch, 1 unknown id */
    produce_wire(p, TOPIC_STOCK, 0, "1", 7);
    produce_wire(p, TOPIC_STOCK, 0, "2", 8);
    produce_wire(p, TOPIC_STOCK, 0, "2", 7);
    produce_wire(p, TOPIC_STOCK, 0, "2", 3);
    /* unmanaged: bad messages that nobody checks */
    for (i = 0; i < 5; i++)
        assert_int_equal(produce(p, TOPIC_UNMANAGED, 0, NULL, "x", 1), 0);
    flush(p);

    poll_until_read(f->sampler, 6 + 6 + 2 + 3 + 3 + 2 + 4, &f->counts);

    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_OK], 0);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_TOMBSTONE], 0);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_MISSING_HEADER], 2);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_BAD_HEADER], 4);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_UNKNOWN_VERSION], 2);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT], 3);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID], 1);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH], 2);
    assert_int_equal(f->counts.stock[CHAN_KAFKA_VERDICT_VERSION_ID_MISMATCH], 1);
    assert_int_equal(f->counts.stock[CHAN_KAFKA_VERDICT_UNKNOWN_SCHEMA_ID], 1);
    assert_int_equal(f->counts.stock[CHAN_KAFKA_VERDICT_MISSING_HEADER] +
                         f->counts.stock[CHAN_KAFKA_VERDICT_BAD_HEADER] +
                         f->counts.stock[CHAN_KAFKA_VERDICT_UNKNOWN_VERSION] +
                         f->counts.stock[CHAN_KAFKA_VERDICT_NOT_WIRE_FORMAT],
                     0);
    assert_int_equal(f->counts.other, 0);

    chan_kafka_sampler_stats_get(&st, f->sampler);
    assert_int_equal(st.checked, 26);
    assert_int_equal(st.by_verdict[CHAN_KAFKA_VERDICT_OK], 8);
    assert_int_equal(st.by_verdict[CHAN_KAFKA_VERDICT_TOMBSTONE], 2);
    assert_int_equal(st.by_verdict[CHAN_KAFKA_VERDICT_BAD_HEADER], 4);
}

static void test_sample_rate(void **state)
{
    fixture *f = *state;
    rd_kafka_t *p = f->m.producer;
    chan_kafka_sampler_stats st;
    int i;

    f->sampler = open_sampler(f->m.bootstraps, 10, 100000);
    set_contracts(f->sampler, false);
    /* 100 messages, all bad: 1 in 10 is checked, starting with the first. */
    for (i = 0; i < 100; i++)
        assert_int_equal(produce(p, TOPIC_ORDERS, i % 3, NULL, "x", 1), 0);
    flush(p);
    poll_until_read(f->sampler, 100, &f->counts);
    chan_kafka_sampler_stats_get(&st, f->sampler);
    assert_int_equal(st.checked, 10);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_MISSING_HEADER], 10);
}

static void test_budget(void **state)
{
    fixture *f = *state;
    rd_kafka_t *p = f->m.producer;
    chan_error err = CHAN_ERROR_INIT;
    size_t n = 0, total = 0;
    int i;

    f->sampler = open_sampler(f->m.bootstraps, 1, 40);
    set_contracts(f->sampler, false);
    for (i = 0; i < 200; i++)
        assert_int_equal(produce(p, TOPIC_ORDERS, 0, NULL, "x", 1), 0);
    flush(p);
    /* One call of one second touches at most two budget windows of 40. */
    assert_int_equal(chan_kafka_sampler_poll(&n, f->sampler, 1000, on_mismatch, &f->counts, &err),
                     0);
    assert_true(n <= 80);
    total = n;
    /* Given time, everything is read in the end. */
    for (i = 0; i < 30 && total < 200; i++) {
        assert_int_equal(
            chan_kafka_sampler_poll(&n, f->sampler, 500, on_mismatch, &f->counts, &err), 0);
        assert_true(n <= 80);
        total += n;
    }
    assert_int_equal(total, 200);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_MISSING_HEADER], 200);
}

static void test_topics_follow_the_contracts(void **state)
{
    fixture *f = *state;
    rd_kafka_t *p = f->m.producer;
    chan_kafka_sampler_stats st;
    chan_kafka_contract_version v[] = {{1, 5}};
    chan_kafka_contract one = {"late.topic", v, 1, false, {0, 0, 0}};
    chan_error err = CHAN_ERROR_INIT;

    f->sampler = open_sampler(f->m.bootstraps, 1, 100000);
    set_contracts(f->sampler, true);

    /* stock leaves: its messages are no longer read. */
    set_contracts(f->sampler, false);
    chan_kafka_sampler_stats_get(&st, f->sampler);
    assert_int_equal(st.topics, 1);
    assert_int_equal(st.partitions, 3);
    produce_wire(p, TOPIC_STOCK, 0, NULL, 7);
    produce_wire(p, TOPIC_ORDERS, 0, NULL, 1);
    flush(p);
    poll_until_read(f->sampler, 1, &f->counts);
    assert_int_equal(f->counts.orders[CHAN_KAFKA_VERDICT_MISSING_HEADER], 1);
    assert_int_equal(f->counts.stock[CHAN_KAFKA_VERDICT_MISSING_HEADER], 0);

    /* A channel whose topic does not exist yet: skipped, then picked up. */
    assert_int_equal(chan_kafka_sampler_set_contracts(f->sampler, &one, 1, &err), 0);
    chan_kafka_sampler_stats_get(&st, f->sampler);
    assert_int_equal(st.topics, 0);
    assert_int_equal(rd_kafka_mock_topic_create(f->m.cluster, "late.topic", 2, 1),
                     RD_KAFKA_RESP_ERR_NO_ERROR);
    assert_int_equal(chan_kafka_sampler_set_contracts(f->sampler, &one, 1, &err), 0);
    chan_kafka_sampler_stats_get(&st, f->sampler);
    assert_int_equal(st.topics, 1);
    assert_int_equal(st.partitions, 2);
    produce_wire(p, "late.topic", 1, "1", 6);
    flush(p);
    poll_until_read(f->sampler, 2, &f->counts);
    assert_int_equal(f->counts.other, 1);
    assert_int_equal(f->counts.last_id, 6);

    /* No contracts at all: nothing assigned. */
    assert_int_equal(chan_kafka_sampler_set_contracts(f->sampler, NULL, 0, &err), 0);
    chan_kafka_sampler_stats_get(&st, f->sampler);
    assert_int_equal(st.topics, 0);
    assert_int_equal(st.partitions, 0);
}

static void test_unreachable_cluster(void **state)
{
    chan_kafka_sampler_options opts = CHAN_KAFKA_SAMPLER_OPTIONS_INIT;
    chan_kafka_sampler *s = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_kafka_contract_version v[] = {{1, 5}};
    chan_kafka_contract one = {"t", v, 1, false, {0, 0, 0}};
    size_t n = 99;
    time_t start;

    opts.bootstrap_servers = "127.0.0.1:1";
    opts.timeout_ms = 1000;
    assert_int_equal(chan_kafka_sampler_open(&s, &opts, &err), 0);
    start = time(NULL);
    assert_int_equal(chan_kafka_sampler_set_contracts(s, &one, 1, &err), CHAN_EUNAVAILABLE);
    assert_non_null(strstr(err.message, "cannot read the cluster's topics"));
    chan_error_clear(&err);
    assert_int_equal(chan_kafka_sampler_poll(&n, s, 100, on_mismatch, NULL, &err), 0);
    assert_int_equal(n, 0);
    chan_kafka_sampler_free(s);
    /* Bounded by the timeouts, not by the cluster. */
    assert_true(time(NULL) - start < 10);
}

/* ------------------------------------------------------------------ */
/* serve: a mock cluster for the daemon test                           */
/* ------------------------------------------------------------------ */

static int hex_value(unsigned char **out, size_t *out_len, const char *s)
{
    size_t n = strlen(s), i;
    unsigned char *buf;

    if (n % 2)
        return -1;
    buf = chan_xmalloc(n / 2 + 1);
    for (i = 0; i < n / 2; i++) {
        unsigned int byte;

        if (sscanf(s + 2 * i, "%2x", &byte) != 1) {
            free(buf);
            return -1;
        }
        buf[i] = (unsigned char)byte;
    }
    *out = buf;
    *out_len = n / 2;
    return 0;
}

static int serve(int argc, char **argv)
{
    mock m;
    const char **topics = chan_xcalloc((size_t)argc, sizeof(*topics));
    int *partitions = chan_xcalloc((size_t)argc, sizeof(*partitions));
    char line[4096];
    int i, produced = 0;

    for (i = 0; i < argc; i++) {
        topics[i] = argv[i];
        partitions[i] = 1;
    }
    chan_log_set_level(CHAN_LOG_OFF);
    mock_start(&m, topics, partitions, (size_t)argc);
    printf("bootstrap %s\n", m.bootstraps);
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin)) {
        char topic[256], header[256], value[2048];
        unsigned char *bytes = NULL, wbuf[8];
        size_t len = 0;
        const void *v;
        int64_t id;
        int rc;

        if (sscanf(line, "produce %255s %255s %2047s", topic, header, value) != 3) {
            printf("error expected: produce TOPIC HEADER VALUE\n");
            fflush(stdout);
            continue;
        }
        if (strcmp(value, "null") == 0) {
            v = VALUE_NULL;
        } else if (strncmp(value, "wire:", 5) == 0 &&
                   chan_parse_int64(&id, value + 5, 0, UINT32_MAX) == 0) {
            len = wire(wbuf, (uint32_t)id);
            v = wbuf;
        } else if (hex_value(&bytes, &len, value) == 0) {
            v = bytes;
        } else {
            printf("error bad value\n");
            fflush(stdout);
            continue;
        }
        rc = produce(m.producer, topic, 0, strcmp(header, "-") == 0 ? NULL : header, v, len);
        free(bytes);
        if (rc == 0 && rd_kafka_flush(m.producer, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            printf("ok %d\n", ++produced);
        else
            printf("error produce failed\n");
        fflush(stdout);
    }
    mock_stop(&m);
    free(topics);
    free(partitions);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counts_every_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topics_follow_the_contracts, setup, teardown),
        cmocka_unit_test(test_unreachable_cluster),
    };

    if (argc >= 2 && strcmp(argv[1], "serve") == 0)
        return serve(argc - 2, argv + 2);
    chan_log_set_level(getenv("CHAN_TEST_LOG") ? CHAN_LOG_DEBUG : CHAN_LOG_OFF);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
