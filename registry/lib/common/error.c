/*
 * error.c - chan_error and chan_diag_list.
 *
 * chan_error is a fixed-size value so that it can live on the stack of any
 * thread; chan_diag_list owns copies of every string given to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "chan/error.h"

const char *chan_strerror(int code)
{
    switch (code) {
    case CHAN_OK:
        return "ok";
    case CHAN_ENOTFOUND:
        return "not found";
    case CHAN_EEXISTS:
        return "already exists";
    case CHAN_EINVALID:
        return "invalid";
    case CHAN_EINCOMPATIBLE:
        return "incompatible";
    case CHAN_ECONFLICT:
        return "conflict";
    case CHAN_EUNAVAILABLE:
        return "unavailable";
    case CHAN_EIO:
        return "i/o error";
    case CHAN_EINTERNAL:
        return "internal error";
    case CHAN_EDENIED:
        return "permission denied";
    case CHAN_ETOOBIG:
        return "too big";
    default:
        return "unknown error";
    }
}

void chan_error_clear(chan_error *err)
{
    if (err == NULL)
        return;
    memset(err, 0, sizeof(*err));
}

int chan_error_vset(chan_error *err, int code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    chan_error_clear(err);
    err->code = code;
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    return code;
}

int chan_error_set(chan_error *err, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    chan_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void chan_error_detail(chan_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
}

void chan_error_hint(chan_error *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
    va_end(ap);
}

void chan_error_locate(chan_error *err, const char *file, int line, int column)
{
    if (err == NULL)
        return;
    snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
    err->line = line;
    err->column = column;
}

/* Copy src into a fixed buffer of size cap, truncating when needed. */
static void copy_truncated(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);

    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void chan_error_prefix(chan_error *err, const char *fmt, ...)
{
    chan_buf buf = CHAN_BUF_INIT;
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    chan_buf_vprintf(&buf, fmt, ap);
    va_end(ap);
    chan_buf_printf(&buf, ": %s", err->message);
    copy_truncated(err->message, sizeof(err->message), chan_buf_cstr(&buf));
    chan_buf_dispose(&buf);
}

/* ------------------------------------------------------------------ */

struct chan_diag_list {
    chan_diag *items;
    size_t count;
    size_t cap;
};

chan_diag_list *chan_diag_list_new(void)
{
    return chan_xcalloc(1, sizeof(chan_diag_list));
}

static void diag_dispose(chan_diag *d)
{
    free(d->file);
    free(d->rule);
    free(d->path);
    free(d->message);
    free(d->hint);
}

void chan_diag_list_free(chan_diag_list *list)
{
    size_t i;

    if (list == NULL)
        return;
    for (i = 0; i < list->count; i++)
        diag_dispose(&list->items[i]);
    free(list->items);
    free(list);
}

chan_diag *chan_diag_add(chan_diag_list *list, chan_diag_severity severity, const char *file,
                         int line, int column, const char *rule, const char *path, const char *fmt,
                         ...)
{
    chan_diag *d;
    va_list ap;

    if (list->count == list->cap) {
        list->cap = list->cap ? list->cap * 2 : 8;
        list->items = chan_xreallocarray(list->items, list->cap, sizeof(chan_diag));
    }
    d = &list->items[list->count++];
    memset(d, 0, sizeof(*d));
    d->severity = severity;
    d->file = chan_xstrdup(file);
    d->line = line;
    d->column = column;
    d->rule = chan_xstrdup(rule);
    d->path = chan_xstrdup(path);
    va_start(ap, fmt);
    d->message = chan_xvasprintf(fmt, ap);
    va_end(ap);
    return d;
}

void chan_diag_set_hint(chan_diag *d, const char *fmt, ...)
{
    va_list ap;

    free(d->hint);
    va_start(ap, fmt);
    d->hint = chan_xvasprintf(fmt, ap);
    va_end(ap);
}

void chan_diag_list_splice(chan_diag_list *dst, chan_diag_list *src)
{
    size_t i;

    for (i = 0; i < src->count; i++) {
        if (dst->count == dst->cap) {
            dst->cap = dst->cap ? dst->cap * 2 : 8;
            dst->items = chan_xreallocarray(dst->items, dst->cap, sizeof(chan_diag));
        }
        dst->items[dst->count++] = src->items[i];
    }
    src->count = 0;
}

size_t chan_diag_list_count(const chan_diag_list *list)
{
    return list ? list->count : 0;
}

size_t chan_diag_list_count_severity(const chan_diag_list *list, chan_diag_severity severity)
{
    size_t i, n = 0;

    if (list == NULL)
        return 0;
    for (i = 0; i < list->count; i++)
        if (list->items[i].severity == severity)
            n++;
    return n;
}

const chan_diag *chan_diag_list_get(const chan_diag_list *list, size_t i)
{
    if (list == NULL || i >= list->count)
        return NULL;
    return &list->items[i];
}

static int diag_cmp(const chan_diag *a, const chan_diag *b)
{
    int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");

    if (c != 0)
        return c;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->column != b->column)
        return a->column < b->column ? -1 : 1;
    return 0;
}

typedef struct diag_sort_item {
    chan_diag diag;
    size_t index;
} diag_sort_item;

static int diag_sort_cmp(const void *pa, const void *pb)
{
    const diag_sort_item *a = pa, *b = pb;
    int c = diag_cmp(&a->diag, &b->diag);

    if (c != 0)
        return c;
    return a->index < b->index ? -1 : (a->index > b->index);
}

void chan_diag_list_sort(chan_diag_list *list)
{
    diag_sort_item *tmp;
    size_t i;

    if (list->count < 2)
        return;
    /* qsort is not stable: the original index breaks ties. */
    tmp = chan_xreallocarray(NULL, list->count, sizeof(*tmp));
    for (i = 0; i < list->count; i++) {
        tmp[i].diag = list->items[i];
        tmp[i].index = i;
    }
    qsort(tmp, list->count, sizeof(*tmp), diag_sort_cmp);
    for (i = 0; i < list->count; i++)
        list->items[i] = tmp[i].diag;
    free(tmp);
}

const char *chan_diag_severity_name(chan_diag_severity severity)
{
    switch (severity) {
    case CHAN_DIAG_ERROR:
        return "error";
    case CHAN_DIAG_WARNING:
        return "warning";
    default:
        return "note";
    }
}
