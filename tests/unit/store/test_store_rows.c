/*
 * test_store_rows.c - the rows a backend fills (store_rows.c): short cells
 * in the slab, long ones on their own, integers written and read back
 * without going through text conversions of the database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store_backend.h"

static void test_integers_round_trip(void **state)
{
    static const int64_t values[] = {0,
                                     1,
                                     -1,
                                     42,
                                     999999999999999999,  /* 18 digits: the fast path */
                                     -999999999999999999, /* and negative */
                                     1000000000000000000, /* 19 digits: strtoll */
                                     INT64_MAX,
                                     INT64_MIN};
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    size_t i, n = sizeof(values) / sizeof(values[0]);
    char text[32];

    (void)state;
    rows.n_cols = 2;
    for (i = 0; i < n; i++) {
        chan_store__rows_push_int(&rows, 0, values[i]);
        snprintf(text, sizeof(text), "%lld", (long long)values[i]);
        chan_store__rows_push(&rows, 1, text, strlen(text));
        rows.n_rows++;
    }
    for (i = 0; i < n; i++) {
        assert_int_equal(chan_store__cell_int(&rows, i, 0), values[i]);
        assert_int_equal(chan_store__cell_int(&rows, i, 1), values[i]);
        snprintf(text, sizeof(text), "%lld", (long long)values[i]);
        assert_string_equal(chan_store__cell(&rows, i, 0), text);
    }
    assert_int_equal(rows.n_heap, 0);
    chan_store__rows_dispose(&rows);
}

static void test_odd_integer_texts_read_as_strtoll_does(void **state)
{
    static const char *const texts[] = {"12a", "", "-", "+7", " 5", "007", "99999999999999999999"};
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    size_t i, n = sizeof(texts) / sizeof(texts[0]);

    (void)state;
    rows.n_cols = 1;
    for (i = 0; i < n; i++) {
        chan_store__rows_push(&rows, 0, texts[i], strlen(texts[i]));
        rows.n_rows++;
    }
    for (i = 0; i < n; i++)
        assert_int_equal(chan_store__cell_int(&rows, i, 0), strtoll(texts[i], NULL, 10));
    chan_store__rows_dispose(&rows);
}

static void test_long_cells_and_taking_them(void **state)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    char big[100], *a, *b;

    (void)state;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rows.n_cols = 3;
    chan_store__rows_push(&rows, 0, "short", 5);
    chan_store__rows_push(&rows, 1, big, strlen(big)); /* its own allocation */
    chan_store__rows_push(&rows, 2, "a\0b", 3);        /* a NUL inside: its own too */
    rows.n_rows = 1;
    assert_int_equal(rows.n_heap, 2);
    a = chan_store__cell_take(&rows, 0, 0);
    b = chan_store__cell_take(&rows, 0, 1);
    assert_string_equal(a, "short");
    assert_string_equal(b, big);
    assert_null(chan_store__cell(&rows, 0, 1));
    assert_int_equal(rows.n_heap, 1); /* b is the caller's */
    free(a);
    free(b);
    chan_store__rows_dispose(&rows); /* frees the third; ASan checks for leaks */
    assert_int_equal(rows.n_heap, 0);
    assert_null(rows.cells);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers_round_trip),
        cmocka_unit_test(test_odd_integer_texts_read_as_strtoll_does),
        cmocka_unit_test(test_long_cells_and_taking_them),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
