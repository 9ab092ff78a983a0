/*
 * ui_assets.h - the files of the web UI, compiled into chanregd.
 *
 * The table is generated at build time by embed_ui.cmake from the files
 * under registry/daemon/ui/ and served by api_ui.c under /ui/.  Read-only,
 * lives for the whole process.
 */
#ifndef CHANREGD_UI_ASSETS_H
#define CHANREGD_UI_ASSETS_H

#include <stddef.h>

/** One file of the UI. */
typedef struct chand_ui_asset {
    const char *name;          /**< file name, e.g. "app.js" (served as /ui/app.js) */
    const char *content_type;  /**< e.g. "text/javascript; charset=utf-8" */
    const char *etag;          /**< strong ETag with its quotes, from the file's SHA-256 */
    const unsigned char *data; /**< the bytes (NUL-terminated, not counted in len) */
    size_t len;
} chand_ui_asset;

/** Every file, in name order, then an all-NULL entry. */
extern const chand_ui_asset chand_ui_assets[];
/** Number of files in chand_ui_assets. */
extern const size_t chand_ui_asset_count;

#endif
