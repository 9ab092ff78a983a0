/*
 * test_metrics.c - the metrics registry and its Prometheus text output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan/metrics.h"

static chan_metric_family *family(chan_metrics *m, const char *name, chan_metric_type type,
                                  const char *const *labels, size_t n)
{
    static const double buckets[] = {0.01, 0.1, 1};
    chan_metric_family *f = NULL;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_metrics_family(&f, m, name, "help text", type, labels, n,
                                         type == CHAN_METRIC_HISTOGRAM ? buckets : NULL,
                                         type == CHAN_METRIC_HISTOGRAM ? 3 : 0, &err),
                     0);
    assert_non_null(f);
    return f;
}

static char *render(chan_metrics *m)
{
    chan_buf buf = CHAN_BUF_INIT;

    chan_metrics_render(m, &buf);
    return chan_buf_take(&buf);
}

static void test_counter_and_gauge_render(void **state)
{
    static const char *const labels[] = {"channel"};
    static const char *const a[] = {"orders"}, *const b[] = {"billing"};
    chan_metrics *m = chan_metrics_new();
    chan_metric_family *c = family(m, "chanreg_requests_total", CHAN_METRIC_COUNTER, labels, 1);
    chan_metric_family *g =
        family(m, "channel_schema_compatibility_rate", CHAN_METRIC_GAUGE, labels, 1);
    double v = 0;
    char *text;

    chan_metric_add(c, a, 1);
    chan_metric_add(c, a, 2);
    chan_metric_add(c, a, -5); /* ignored: counters never go down */
    chan_metric_set(g, b, 0.5);
    chan_metric_set(g, a, 1);
    assert_int_equal(chan_metric_value(&v, c, a), 0);
    assert_true(v == 3.0);
    assert_int_equal(chan_metric_value(&v, c, b), CHAN_ENOTFOUND);
    text = render(m);
    assert_string_equal(text, "# HELP chanreg_requests_total help text\n"
                              "# TYPE chanreg_requests_total counter\n"
                              "chanreg_requests_total{channel=\"orders\"} 3\n"
                              "# HELP channel_schema_compatibility_rate help text\n"
                              "# TYPE channel_schema_compatibility_rate gauge\n"
                              "channel_schema_compatibility_rate{channel=\"billing\"} 0.5\n"
                              "channel_schema_compatibility_rate{channel=\"orders\"} 1\n");
    free(text);
    chan_metric_family_reset(g);
    text = render(m);
    assert_null(strstr(text, "billing"));
    free(text);
    chan_metrics_free(m);
}

static void test_label_values_are_escaped(void **state)
{
    static const char *const labels[] = {"a", "b"};
    static const char *const v[] = {"x\"y", "back\\slash\nnl"};
    chan_metrics *m = chan_metrics_new();
    chan_metric_family *g = family(m, "g", CHAN_METRIC_GAUGE, labels, 2);
    char *text;

    chan_metric_set(g, v, 2.25);
    text = render(m);
    assert_non_null(strstr(text, "g{a=\"x\\\"y\",b=\"back\\\\slash\\nnl\"} 2.25\n"));
    free(text);
    chan_metrics_free(m);
}

static void test_histogram_buckets_are_cumulative(void **state)
{
    static const char *const labels[] = {"route"};
    static const char *const r[] = {"/x"};
    chan_metrics *m = chan_metrics_new();
    chan_metric_family *h = family(m, "lat_seconds", CHAN_METRIC_HISTOGRAM, labels, 1);
    char *text;

    chan_metric_observe(h, r, 0.005);
    chan_metric_observe(h, r, 0.05);
    chan_metric_observe(h, r, 5);
    text = render(m);
    assert_non_null(strstr(text, "lat_seconds_bucket{route=\"/x\",le=\"0.01\"} 1\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{route=\"/x\",le=\"0.1\"} 2\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{route=\"/x\",le=\"1\"} 2\n"));
    assert_non_null(strstr(text, "lat_seconds_bucket{route=\"/x\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(text, "lat_seconds_count{route=\"/x\"} 3\n"));
    assert_non_null(strstr(text, "lat_seconds_sum{route=\"/x\"} 5.055\n"));
    free(text);
    chan_metrics_free(m);
}

static void test_invalid_definitions_are_refused(void **state)
{
    static const char *const bad_label[] = {"1abc"};
    static const char *const le[] = {"le"};
    static const char *const ok[] = {"x"};
    static const double unsorted[] = {1, 0.5};
    chan_metrics *m = chan_metrics_new();
    chan_metric_family *f = NULL;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(
        chan_metrics_family(&f, m, "bad-name", "", CHAN_METRIC_GAUGE, NULL, 0, NULL, 0, &err),
        CHAN_EINVALID);
    assert_non_null(strstr(err.message, "bad-name"));
    assert_int_equal(
        chan_metrics_family(&f, m, "g", "", CHAN_METRIC_GAUGE, bad_label, 1, NULL, 0, &err),
        CHAN_EINVALID);
    assert_int_equal(
        chan_metrics_family(&f, m, "h", "", CHAN_METRIC_HISTOGRAM, le, 1, unsorted, 2, &err),
        CHAN_EINVALID);
    assert_int_equal(
        chan_metrics_family(&f, m, "h", "", CHAN_METRIC_HISTOGRAM, ok, 1, unsorted, 2, &err),
        CHAN_EINVALID);
    assert_int_equal(chan_metrics_family(&f, m, "g", "", CHAN_METRIC_GAUGE, ok, 1, NULL, 0, &err),
                     0);
    /* Same name with the same shape returns the same family; another shape fails. */
    {
        chan_metric_family *again = NULL;

        assert_int_equal(
            chan_metrics_family(&again, m, "g", "", CHAN_METRIC_GAUGE, ok, 1, NULL, 0, &err), 0);
        assert_ptr_equal(again, f);
        assert_int_equal(
            chan_metrics_family(&again, m, "g", "", CHAN_METRIC_COUNTER, ok, 1, NULL, 0, &err),
            CHAN_EINVALID);
    }
    chan_metrics_free(m);
}

typedef struct worker_arg {
    chan_metric_family *family;
    int n;
} worker_arg;

static void *worker(void *p)
{
    static const char *const v[] = {"same"};
    worker_arg *arg = p;
    int i;

    for (i = 0; i < arg->n; i++)
        chan_metric_add(arg->family, v, 1);
    return NULL;
}

static void test_concurrent_updates_are_not_lost(void **state)
{
    static const char *const labels[] = {"k"};
    static const char *const v[] = {"same"};
    chan_metrics *m = chan_metrics_new();
    worker_arg arg = {family(m, "c_total", CHAN_METRIC_COUNTER, labels, 1), 20000};
    pthread_t t[4];
    double total = 0;
    int i;

    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, &arg), 0);
    for (i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(chan_metric_value(&total, arg.family, v), 0);
    assert_true(total == 80000.0);
    chan_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_gauge_render),
        cmocka_unit_test(test_label_values_are_escaped),
        cmocka_unit_test(test_histogram_buckets_are_cumulative),
        cmocka_unit_test(test_invalid_definitions_are_refused),
        cmocka_unit_test(test_concurrent_updates_are_not_lost),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
