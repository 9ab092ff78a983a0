/*
 * common.h - memory, growable buffers, file reading and logging shared by
 * every module of libchan, the daemon and the CLI.
 *
 * Allocation failure is not an error the program can recover from: the
 * chan_x* allocators abort with a message instead of returning NULL (as in
 * h2o), so callers never check their results.
 */
#ifndef CHAN_COMMON_H
#define CHAN_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CHAN_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** malloc that aborts on failure.  Never returns NULL (size 0 gives a unique pointer). */
void *chan_xmalloc(size_t size);
/** calloc that aborts on failure and on nmemb * size overflow. */
void *chan_xcalloc(size_t nmemb, size_t size);
/** realloc that aborts on failure. */
void *chan_xrealloc(void *ptr, size_t size);
/** reallocarray that aborts on failure and overflow. */
void *chan_xreallocarray(void *ptr, size_t nmemb, size_t size);
/** strdup that aborts on failure; NULL gives NULL. */
char *chan_xstrdup(const char *s);
/** strndup that aborts on failure. */
char *chan_xstrndup(const char *s, size_t n);
/** asprintf that aborts on failure.  Caller frees. */
char *chan_xasprintf(const char *fmt, ...) CHAN_PRINTF(1, 2);
char *chan_xvasprintf(const char *fmt, va_list ap) CHAN_PRINTF(1, 0);

/* ------------------------------------------------------------------ */
/* Growable byte buffer                                                */
/* ------------------------------------------------------------------ */

/**
 * A growable, always NUL-terminated byte buffer.  Embed it by value,
 * chan_buf_init / chan_buf_dispose it; chan_buf_take hands the memory over.
 */
typedef struct chan_buf {
    char *ptr;  /**< NUL-terminated contents, or NULL before the first write */
    size_t len; /**< bytes used, not counting the NUL */
    size_t cap; /**< bytes allocated */
} chan_buf;

#define CHAN_BUF_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void chan_buf_init(chan_buf *buf);
/** Free the contents and reset to empty.  NULL-safe. */
void chan_buf_dispose(chan_buf *buf);
/** Forget the contents but keep the allocation. */
void chan_buf_clear(chan_buf *buf);
void chan_buf_grow(chan_buf *buf, size_t extra);
void chan_buf_put(chan_buf *buf, const void *data, size_t len);
void chan_buf_puts(chan_buf *buf, const char *s);
void chan_buf_putc(chan_buf *buf, char c);
void chan_buf_printf(chan_buf *buf, const char *fmt, ...) CHAN_PRINTF(2, 3);
void chan_buf_vprintf(chan_buf *buf, const char *fmt, va_list ap) CHAN_PRINTF(2, 0);
/** Contents as a C string; "" for an empty buffer.  Borrowed. */
const char *chan_buf_cstr(const chan_buf *buf);
/**
 * Hand the contents over to the caller (free() it) and reset buf to empty.
 * Never returns NULL: an empty buffer gives an allocated "".
 */
char *chan_buf_take(chan_buf *buf);

/**
 * Append s as a JSON string, escaped as jansson writes it (", \\ and control
 * characters escaped, other characters as UTF-8), or `null` when s is NULL
 * or not valid UTF-8.
 */
void chan_buf_put_json_string(chan_buf *buf, const char *s);

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/**
 * Read an open file descriptor to its end into a NUL-terminated heap buffer,
 * refusing more than max_size bytes.  The descriptor stays open (the caller
 * closes it); it is read from its current offset, and EINTR is retried.
 *
 * @param[out] out     the contents (caller frees), NULL on failure
 * @param[out] out_len the length without the NUL, may be NULL
 * @param fd           an open, readable descriptor (borrowed)
 * @param max_size     refuse more than this many bytes (CHAN_ETOOBIG)
 * @param name         what the descriptor is, for error messages (a path)
 * @param err          details on failure, may be NULL
 * @return 0, CHAN_EIO ("cannot read NAME: ...") or CHAN_ETOOBIG
 *         ("NAME is larger than the limit of MAX_SIZE bytes")
 */
int chan_fd_read_all(char **out, size_t *out_len, int fd, size_t max_size, const char *name,
                     chan_error *err);

/**
 * Read a whole file into a NUL-terminated heap buffer.
 *
 * @param[out] out     the contents (caller frees), NULL on failure
 * @param[out] out_len the length without the NUL, may be NULL
 * @param path         file to read
 * @param max_size     refuse files larger than this (CHAN_ETOOBIG)
 * @return 0, CHAN_ENOTFOUND, CHAN_EIO or CHAN_ETOOBIG
 */
int chan_file_read(char **out, size_t *out_len, const char *path, size_t max_size, chan_error *err);

/**
 * Write a file atomically and durably: write a temporary file beside it,
 * fsync, rename over path, fsync the directory.
 * @return 0 or CHAN_EIO
 */
int chan_file_write_atomic(const char *path, const void *data, size_t len, chan_error *err);

/* ------------------------------------------------------------------ */
/* Strings                                                             */
/* ------------------------------------------------------------------ */

/** True when s ends with suffix. */
bool chan_str_endswith(const char *s, const char *suffix);

/**
 * s as quoted in a message, into buf (size >= 4): printable ASCII kept,
 * every other byte as '?', clipped with "..." to fit, so that a message
 * quoting client input is one line of valid UTF-8.
 * @return buf
 */
const char *chan_str_clip(char *buf, size_t size, const char *s);

/** True when the NUL-terminated s is valid UTF-8 (no overlong forms, no surrogates). */
bool chan_utf8_valid(const char *s);

/** Number of characters (code points) of s, valid UTF-8. */
size_t chan_utf8_chars(const char *s);

/**
 * Parse a whole decimal integer in [min, max].
 * @return 0 or CHAN_EINVALID (empty, trailing garbage, out of range)
 */
int chan_parse_int64(int64_t *out, const char *s, int64_t min, int64_t max);

/**
 * Check an ISO-8601 calendar date "YYYY-MM-DD" (real day of month, leap years).
 * @param[out] out_days days since 1970-01-01, may be NULL
 * @return true when valid
 */
bool chan_date_parse(const char *s, int64_t *out_days);

/**
 * Write the date `days` after 1970-01-01 as "YYYY-MM-DD" into buf (at least
 * 11 bytes for years 0..9999).  @return buf
 */
const char *chan_date_format(char *buf, size_t size, int64_t days);

/** Days since 1970-01-01 of the current UTC date. */
int64_t chan_date_today(void);

/* ------------------------------------------------------------------ */
/* Logging                                                             */
/* ------------------------------------------------------------------ */

typedef enum chan_log_level {
    CHAN_LOG_DEBUG = 0,
    CHAN_LOG_INFO = 1,
    CHAN_LOG_WARN = 2,
    CHAN_LOG_ERROR = 3,
    CHAN_LOG_OFF = 4,
} chan_log_level;

/** Set the lowest level that is written (default CHAN_LOG_INFO).  Thread-safe. */
void chan_log_set_level(chan_log_level level);
chan_log_level chan_log_get_level(void);
/** Parse "debug", "info", "warn", "error" or "off".  @return 0 or CHAN_EINVALID */
int chan_log_level_parse(chan_log_level *out, const char *name);

/**
 * Write one line to stderr: `ts level module msg`, where msg usually ends in
 * k=v pairs.  The level is checked before formatting.  Thread-safe: one
 * write(2) per line.
 */
void chan_log(chan_log_level level, const char *module, const char *fmt, ...) CHAN_PRINTF(3, 4);

/**
 * chan_log of a message the caller has written: the same line as
 * chan_log(level, module, "%.*s", (int)len, msg), without formatting (for
 * lines written per request, such as the access log).
 */
void chan_log_text(chan_log_level level, const char *module, const char *msg, size_t len);

#define chan_log_debug(module, ...)                                                                \
    do {                                                                                           \
        if (chan_log_get_level() <= CHAN_LOG_DEBUG)                                                \
            chan_log(CHAN_LOG_DEBUG, module, __VA_ARGS__);                                         \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif
