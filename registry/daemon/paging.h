/*
 * paging.h - the one paging convention of chanregd's /v1 list routes.
 *
 * A list route takes `limit` (1..CHAND_PAGE_LIMIT_MAX, default
 * CHAND_PAGE_LIMIT_DEFAULT) and an opaque `cursor` (the next_cursor of the
 * previous page), and its reply object gains "next_cursor" (a string, or
 * null on the last page) and "total" (the items that match the route's
 * filters, on every page), plus a `Link: <...>; rel="next"` header while a
 * next page exists.  A cursor names the sort key of the last item of the
 * previous page, so items added or removed meanwhile neither repeat nor
 * shift the next page.  See docs/api.md, "Paging".
 */
#ifndef CHANREGD_PAGING_H
#define CHANREGD_PAGING_H

#include <stdbool.h>
#include <stddef.h>

#include "chan/common.h"
#include "chan/error.h"
#include "server.h"

#define CHAND_PAGE_LIMIT_DEFAULT 100
#define CHAND_PAGE_LIMIT_MAX     1000

/** The paging parameters of one request. */
typedef struct chand_page {
    size_t limit; /**< items on the page */
    char *after;  /**< the decoded cursor (sort key to start after), NULL: the first page */
} chand_page;

/**
 * Read `limit` and `cursor` of req into out (chand_page_dispose it, also on
 * failure).
 * @return 0, or CHAN_EINVALID with API code 42202 (limit out of range,
 *         cursor that no page of this daemon gave)
 */
int chand_page_parse(chand_page *out, const chand_request *req, chan_error *err);

/** Free what a page owns.  NULL-safe. */
void chand_page_dispose(chand_page *page);

/** The opaque cursor of sort key `key` (caller frees). */
char *chand_page_cursor(const char *key);

/**
 * Finish a paged reply: append ,"next_cursor":...,"total":N to body, an
 * open JSON object, and close it; with a next_key, add the Link header to
 * the same route with the query parameters query_keys (NULL-terminated, as
 * the request gave them), `limit`, and the cursor of next_key.
 *
 * @param next_key the sort key of the page's last item when more follow, else NULL
 */
void chand_page_finish(chand_request *req, chan_buf *body, const chand_page *page,
                       const char *next_key, size_t total, const char *const *query_keys);

/**
 * chand_page_finish for a reply built as a jansson object: sets
 * "next_cursor" and "total" in obj and the Link header.
 */
void chand_page_finish_json(chand_request *req, json_t *obj, const chand_page *page,
                            const char *next_key, size_t total, const char *const *query_keys);

/**
 * Page an in-memory list sorted by key: keys[i] is the sort key of item i
 * (ascending in byte order).  *out_start and *out_end delimit the page's
 * items; *out_next is the key to continue after (borrowed from keys) or
 * NULL on the last page.
 */
void chand_page_slice(size_t *out_start, size_t *out_end, const char **out_next,
                      const chand_page *page, const char *const *keys, size_t n);

#endif
