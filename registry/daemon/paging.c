/*
 * paging.c - limit, cursor, next_cursor, total and the Link header of the
 * /v1 list routes (see paging.h).  A cursor is "p1." followed by the
 * unpadded base64url of the sort key; keys are names (UTF-8 without
 * control characters) or several of them joined by \x01.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "paging.h"

#define E_BAD_PARAM 42202
/* Longest cursor accepted: a few names' worth. */
#define CURSOR_MAX 8192

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *chand_page_cursor(const char *key)
{
    const unsigned char *p = (const unsigned char *)key;
    size_t n = strlen(key), i;
    chan_buf b = CHAN_BUF_INIT;

    chan_buf_puts(&b, "p1.");
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

        chan_buf_putc(&b, b64url[v >> 18]);
        chan_buf_putc(&b, b64url[(v >> 12) & 63]);
        chan_buf_putc(&b, b64url[(v >> 6) & 63]);
        chan_buf_putc(&b, b64url[v & 63]);
    }
    if (n - i == 1) {
        chan_buf_putc(&b, b64url[p[i] >> 2]);
        chan_buf_putc(&b, b64url[(p[i] & 3) << 4]);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];

        chan_buf_putc(&b, b64url[v >> 10]);
        chan_buf_putc(&b, b64url[(v >> 4) & 63]);
        chan_buf_putc(&b, b64url[(v & 15) << 2]);
    }
    return chan_buf_take(&b);
}

static int b64_value(char c)
{
    const char *p = c != '\0' ? strchr(b64url, c) : NULL;

    return p ? (int)(p - b64url) : -1;
}

/* Decode a cursor into its key (caller frees), or NULL when it is none of ours. */
static char *cursor_key(const char *cursor)
{
    chan_buf b = CHAN_BUF_INIT;
    uint32_t acc = 0;
    int bits = 0;
    char *key;

    if (strncmp(cursor, "p1.", 3) != 0 || strlen(cursor) > CURSOR_MAX)
        return NULL;
    for (const char *c = cursor + 3; *c != '\0'; c++) {
        int v = b64_value(*c);

        if (v < 0) {
            chan_buf_dispose(&b);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            chan_buf_putc(&b, (char)((acc >> bits) & 0xFF));
        }
    }
    key = chan_buf_take(&b);
    /* A key has no NUL inside and is UTF-8; leftover bits must be zero padding. */
    if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0 || key[0] == '\0' ||
        strlen(key) != (size_t)(strlen(cursor + 3) * 6 / 8) || !chan_utf8_valid(key)) {
        free(key);
        return NULL;
    }
    return key;
}

int chand_page_parse(chand_page *out, const chand_request *req, chan_error *err)
{
    const char *limit = chand_request_query(req, "limit");
    const char *cursor = chand_request_query(req, "cursor");
    int64_t v = CHAND_PAGE_LIMIT_DEFAULT;

    assert(out != NULL);
    out->limit = CHAND_PAGE_LIMIT_DEFAULT;
    out->after = NULL;
    if (limit != NULL && chan_parse_int64(&v, limit, 1, CHAND_PAGE_LIMIT_MAX) < 0)
        return chand_http_error(err, CHAN_EINVALID, E_BAD_PARAM,
                                "Query parameter 'limit' must be an integer between 1 and %d.",
                                CHAND_PAGE_LIMIT_MAX);
    out->limit = (size_t)v;
    if (cursor != NULL && cursor[0] != '\0') {
        out->after = cursor_key(cursor);
        if (out->after == NULL)
            return chand_http_error(err, CHAN_EINVALID, E_BAD_PARAM,
                                    "Query parameter 'cursor' is not a cursor of this list: pass "
                                    "the next_cursor of the previous page unchanged.");
    }
    return 0;
}

void chand_page_dispose(chand_page *page)
{
    if (page == NULL)
        return;
    free(page->after);
    page->after = NULL;
}

/* Append s percent-encoded as a query value (unreserved characters kept). */
static void put_query_value(chan_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("-._~", c) != NULL) {
            chan_buf_putc(b, (char)c);
        } else {
            chan_buf_putc(b, '%');
            chan_buf_putc(b, hex[c >> 4]);
            chan_buf_putc(b, hex[c & 15]);
        }
    }
}

/* Append the request path with every byte outside [A-Za-z0-9/._~-] percent-encoded. */
static void put_path(chan_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            strchr("/-._~", c) != NULL) {
            chan_buf_putc(b, (char)c);
        } else {
            chan_buf_putc(b, '%');
            chan_buf_putc(b, hex[c >> 4]);
            chan_buf_putc(b, hex[c & 15]);
        }
    }
}

/* The Link header of the next page. */
static void link_next(chand_request *req, const chand_page *page, const char *cursor,
                      const char *const *query_keys)
{
    chan_buf b = CHAN_BUF_INIT;

    chan_buf_putc(&b, '<');
    put_path(&b, chand_request_path(req));
    chan_buf_printf(&b, "?limit=%zu", page->limit);
    for (size_t i = 0; query_keys != NULL && query_keys[i] != NULL; i++) {
        const char *v = chand_request_query(req, query_keys[i]);

        if (v == NULL)
            continue;
        chan_buf_printf(&b, "&%s=", query_keys[i]);
        put_query_value(&b, v);
    }
    chan_buf_puts(&b, "&cursor=");
    put_query_value(&b, cursor);
    chan_buf_puts(&b, ">; rel=\"next\"");
    chand_reply_header(req, "Link", chan_buf_cstr(&b));
    chan_buf_dispose(&b);
}

void chand_page_finish(chand_request *req, chan_buf *body, const chand_page *page,
                       const char *next_key, size_t total, const char *const *query_keys)
{
    char *cursor = next_key ? chand_page_cursor(next_key) : NULL;

    chan_buf_puts(body, ",\"next_cursor\":");
    chan_buf_put_json_string(body, cursor);
    chan_buf_printf(body, ",\"total\":%zu}", total);
    if (cursor != NULL)
        link_next(req, page, cursor, query_keys);
    free(cursor);
}

void chand_page_finish_json(chand_request *req, json_t *obj, const chand_page *page,
                            const char *next_key, size_t total, const char *const *query_keys)
{
    char *cursor = next_key ? chand_page_cursor(next_key) : NULL;

    json_object_set_new(obj, "next_cursor", cursor ? json_string(cursor) : json_null());
    json_object_set_new(obj, "total", json_integer((json_int_t)total));
    if (cursor != NULL)
        link_next(req, page, cursor, query_keys);
    free(cursor);
}

void chand_page_slice(size_t *out_start, size_t *out_end, const char **out_next,
                      const chand_page *page, const char *const *keys, size_t n)
{
    size_t lo = 0, hi = n;

    /* The first item whose key sorts after the cursor's. */
    if (page->after != NULL) {
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;

            if (strcmp(keys[mid], page->after) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    *out_start = lo;
    *out_end = n - lo > page->limit ? lo + page->limit : n;
    *out_next = *out_end<n && * out_end> lo ? keys[*out_end - 1] : NULL;
}
