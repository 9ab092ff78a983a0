/*
 * store_rows.c - query results copied out of the database, and the hash the
 * store uses for lock keys and migration checksums.
 *
 * The backends fill chan_store__rows (chan_store__rows_push); the rest of the
 * store reads them.  This file depends on nothing else of the store, so that
 * store_migrate.c and the backends do not depend on store.c.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "store_backend.h"

void chan_store__rows_dispose(chan_store__rows *rows)
{
    if (rows == NULL)
        return;
    for (size_t i = 0; i < rows->cap; i++)
        free(rows->cells[i]);
    free(rows->cells);
    rows->cells = NULL;
    rows->cap = 0;
    rows->n_rows = 0;
    rows->n_cols = 0;
    rows->changes = 0;
}

const char *chan_store__cell(const chan_store__rows *rows, size_t row, size_t col)
{
    assert(rows != NULL);
    if (row >= rows->n_rows || col >= rows->n_cols)
        return NULL;
    return rows->cells[row * rows->n_cols + col];
}

int64_t chan_store__cell_int(const chan_store__rows *rows, size_t row, size_t col)
{
    const char *s = chan_store__cell(rows, row, col);
    if (s == NULL)
        return 0;
    return strtoll(s, NULL, 10);
}

double chan_store__cell_real(const chan_store__rows *rows, size_t row, size_t col)
{
    const char *s = chan_store__cell(rows, row, col);
    if (s == NULL)
        return 0.0;
    return strtod(s, NULL);
}

char *chan_store__cell_take(chan_store__rows *rows, size_t row, size_t col)
{
    char *s;

    assert(rows != NULL);
    if (row >= rows->n_rows || col >= rows->n_cols)
        return NULL;
    s = rows->cells[row * rows->n_cols + col];
    rows->cells[row * rows->n_cols + col] = NULL;
    return s;
}

void chan_store__rows_push(chan_store__rows *rows, size_t col, const char *text, size_t len)
{
    size_t idx;

    assert(rows->n_cols > 0 && col < rows->n_cols); /* n_cols is set first */
    idx = rows->n_rows * rows->n_cols + col;
    if (idx >= rows->cap) {
        size_t ncap = rows->cap < 16 ? 16 : rows->cap * 2;
        while (ncap <= idx)
            ncap *= 2;
        rows->cells = chan_xreallocarray(rows->cells, ncap, sizeof(char *));
        memset(rows->cells + rows->cap, 0, (ncap - rows->cap) * sizeof(char *));
        rows->cap = ncap;
    }
    free(rows->cells[idx]);
    rows->cells[idx] = text != NULL ? chan_xstrndup(text, len) : NULL;
}

uint64_t chan_store__fnv1a64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
