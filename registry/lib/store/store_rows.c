/*
 * store_rows.c - query results copied out of the database, and the hash the
 * store uses for lock keys and migration checksums.
 *
 * The backends fill chan_store__rows (chan_store__rows_push); the rest of the
 * store reads them.  This file depends on nothing else of the store, so that
 * store_migrate.c and the backends do not depend on store.c.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "store_backend.h"

/*
** Short cells (ids, numbers, flags, names) are copied into chunks of a slab
** that the rows free as a whole: a list of a thousand versions is two
** thousand such cells, whose mallocs and frees cost as much as reading them.
*/
#define SLAB_CELL_MAX 32

typedef struct chan_store__slab {
    struct chan_store__slab *next;
    size_t used, size;
    char data[];
} chan_store__slab;

static bool in_slab(const chan_store__rows *rows, const char *p)
{
    const chan_store__slab *k;

    for (k = rows->slab; k != NULL; k = k->next)
        if (p >= k->data && p < k->data + k->used)
            return true;
    return false;
}

static void cell_free(chan_store__rows *rows, char *p)
{
    if (p != NULL && !in_slab(rows, p)) {
        free(p);
        rows->n_heap--;
    }
}

static char *slab_copy(chan_store__rows *rows, const char *text, size_t len)
{
    chan_store__slab *k = rows->slab;
    char *p;

    assert(len < SLAB_CELL_MAX);
    if (k == NULL || k->size - k->used < len + 1) {
        size_t size = k == NULL ? 1024 : (k->size < 65536 ? 2 * k->size : k->size);

        k = chan_xmalloc(sizeof(*k) + size);
        k->used = 0;
        k->size = size;
        k->next = rows->slab;
        rows->slab = k;
    }
    p = k->data + k->used;
    memcpy(p, text, len);
    p[len] = '\0';
    k->used += len + 1;
    return p;
}

void chan_store__rows_dispose(chan_store__rows *rows)
{
    chan_store__slab *k, *next;

    if (rows == NULL)
        return;
    for (size_t i = 0; i < rows->cap && rows->n_heap > 0; i++)
        cell_free(rows, rows->cells[i]);
    for (k = rows->slab; k != NULL; k = next) {
        next = k->next;
        free(k);
    }
    rows->slab = NULL;
    free(rows->cells);
    rows->cells = NULL;
    rows->cap = 0;
    rows->n_heap = 0;
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
    const char *s = chan_store__cell(rows, row, col), *p;
    bool neg;
    int64_t v = 0;
    int digits = 0;

    if (s == NULL)
        return 0;
    /* the common case, up to 18 digits (no overflow), without strtoll's generality */
    neg = *s == '-';
    for (p = s + neg; *p >= '0' && *p <= '9' && digits < 18; p++, digits++)
        v = 10 * v + (*p - '0');
    if (*p == '\0' && digits > 0)
        return neg ? -v : v;
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
    if (s == NULL)
        return NULL;
    if (in_slab(rows, s))
        return chan_xstrdup(s);
    rows->n_heap--; /* the caller's now */
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
    cell_free(rows, rows->cells[idx]);
    if (text == NULL) {
        rows->cells[idx] = NULL;
    } else if (len < SLAB_CELL_MAX && memchr(text, '\0', len) == NULL) {
        rows->cells[idx] = slab_copy(rows, text, len);
    } else {
        rows->cells[idx] = chan_xstrndup(text, len);
        rows->n_heap++;
    }
}

void chan_store__rows_push_int(chan_store__rows *rows, size_t col, int64_t v)
{
    char buf[24], *p = buf + sizeof(buf);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    chan_store__rows_push(rows, col, p, (size_t)(buf + sizeof(buf) - p));
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
