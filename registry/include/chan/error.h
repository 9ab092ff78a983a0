/*
 * error.h - error codes, the explicit error struct and diagnostic lists.
 *
 * Every fallible function of libchan returns an int: 0 on success or one of
 * the negative CHAN_E* codes below.  Details go into a caller-provided
 * chan_error (last parameter, may be NULL).  chan_error is a plain value with
 * fixed buffers: it owns no heap memory and needs no dispose.
 *
 * Validators that must report every problem at once append to a
 * chan_diag_list instead of stopping at the first error.
 */
#ifndef CHAN_ERROR_H
#define CHAN_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CHAN_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#define CHAN_WARN_UNUSED               __attribute__((warn_unused_result))
#else
#define CHAN_PRINTF(fmt_idx, args_idx)
#define CHAN_WARN_UNUSED
#endif

/** Result codes.  0 is success; every error is negative. */
typedef enum chan_code {
    CHAN_OK = 0,
    CHAN_ENOTFOUND = -1,     /**< the object does not exist */
    CHAN_EEXISTS = -2,       /**< the object already exists */
    CHAN_EINVALID = -3,      /**< bad input: syntax, type, range */
    CHAN_EINCOMPATIBLE = -4, /**< a schema change breaks the compatibility mode */
    CHAN_ECONFLICT = -5,     /**< concurrent modification or state conflict */
    CHAN_EUNAVAILABLE = -6,  /**< a backend (database, broker, server) is unreachable */
    CHAN_EIO = -7,           /**< file or network I/O failed */
    CHAN_EINTERNAL = -8,     /**< a bug or an unexpected backend reply */
    CHAN_EDENIED = -9,       /**< authentication or authorisation refused */
    CHAN_ETOOBIG = -10,      /**< input exceeds a configured size limit */
} chan_code;

#define CHAN_ERROR_MESSAGE_MAX 512
#define CHAN_ERROR_DETAIL_MAX  1024
#define CHAN_ERROR_HINT_MAX    256
#define CHAN_ERROR_FILE_MAX    256
#define CHAN_ERROR_PATH_MAX    256

/** Details of the last error of an operation.  A value type: no dispose. */
typedef struct chan_error {
    int code;                             /**< one of chan_code */
    char message[CHAN_ERROR_MESSAGE_MAX]; /**< one line, lower-case, no final period */
    char detail[CHAN_ERROR_DETAIL_MAX];   /**< optional longer explanation */
    char hint[CHAN_ERROR_HINT_MAX];       /**< optional suggestion for the user */
    char file[CHAN_ERROR_FILE_MAX];       /**< optional source file of the problem */
    int line;                             /**< 1-based line in file, 0 if unknown */
    int column;                           /**< 1-based column in file, 0 if unknown */
    char path[CHAN_ERROR_PATH_MAX];       /**< optional logical path, e.g. consumers[2].group */
    int reason;                           /**< optional module-specific refinement of code */
} chan_error;

#define CHAN_ERROR_INIT                                                                            \
    {                                                                                              \
        0                                                                                          \
    }

/** Name of a code, e.g. "not found".  Never NULL. */
const char *chan_strerror(int code);

/**
 * Reset err to "no error".  NULL-safe.
 */
void chan_error_clear(chan_error *err);

/**
 * Set code and message (printf-style) and clear the other fields.
 * NULL-safe: with err == NULL only the code is returned.
 *
 * @return code, so that callers can write `return chan_error_set(err, ...)`.
 */
int chan_error_set(chan_error *err, int code, const char *fmt, ...) CHAN_PRINTF(3, 4);
int chan_error_vset(chan_error *err, int code, const char *fmt, va_list ap) CHAN_PRINTF(3, 0);

/** Set the detail line of an already set error.  NULL-safe. */
void chan_error_detail(chan_error *err, const char *fmt, ...) CHAN_PRINTF(2, 3);

/** Set the hint line of an already set error.  NULL-safe. */
void chan_error_hint(chan_error *err, const char *fmt, ...) CHAN_PRINTF(2, 3);

/** Set the source location of an already set error.  NULL-safe; file may be NULL. */
void chan_error_locate(chan_error *err, const char *file, int line, int column);

/** Prefix the message with "prefix: ".  NULL-safe. */
void chan_error_prefix(chan_error *err, const char *fmt, ...) CHAN_PRINTF(2, 3);

/* ------------------------------------------------------------------ */
/* Diagnostic lists                                                    */
/* ------------------------------------------------------------------ */

typedef enum chan_diag_severity {
    CHAN_DIAG_ERROR = 0,
    CHAN_DIAG_WARNING = 1,
    CHAN_DIAG_NOTE = 2,
} chan_diag_severity;

/** One diagnostic.  All strings are owned by the list; rule/path/hint may be NULL. */
typedef struct chan_diag {
    chan_diag_severity severity;
    char *file;    /**< source file, may be NULL */
    int line;      /**< 1-based, 0 if unknown */
    int column;    /**< 1-based, 0 if unknown */
    char *rule;    /**< stable machine-readable id, e.g. "missing-field" */
    char *path;    /**< logical path, e.g. "consumers[1].group" */
    char *message; /**< one line */
    char *hint;    /**< optional suggestion */
} chan_diag;

typedef struct chan_diag_list chan_diag_list;

/** New empty list.  Never NULL (aborts on OOM).  Free with chan_diag_list_free. */
chan_diag_list *chan_diag_list_new(void);

/** Free the list and every diagnostic in it.  NULL-safe. */
void chan_diag_list_free(chan_diag_list *list);

/**
 * Append a diagnostic.  file, rule and path are copied and may be NULL.
 * @return the added diagnostic (borrowed, valid until the list is changed),
 *         so a caller can attach a hint with chan_diag_set_hint.
 */
chan_diag *chan_diag_add(chan_diag_list *list, chan_diag_severity severity, const char *file,
                         int line, int column, const char *rule, const char *path, const char *fmt,
                         ...) CHAN_PRINTF(8, 9);

/** Replace the hint of d (printf-style). */
void chan_diag_set_hint(chan_diag *d, const char *fmt, ...) CHAN_PRINTF(2, 3);

/** Move every diagnostic of src to the end of dst; src is left empty. */
void chan_diag_list_splice(chan_diag_list *dst, chan_diag_list *src);

/** Number of diagnostics in the list. */
size_t chan_diag_list_count(const chan_diag_list *list);

/** Number of diagnostics with the given severity. */
size_t chan_diag_list_count_severity(const chan_diag_list *list, chan_diag_severity severity);

/** Diagnostic i (borrowed), or NULL when out of range. */
const chan_diag *chan_diag_list_get(const chan_diag_list *list, size_t i);

/** Stable sort by file, line, column. */
void chan_diag_list_sort(chan_diag_list *list);

/** "error", "warning" or "note". */
const char *chan_diag_severity_name(chan_diag_severity severity);

#ifdef __cplusplus
}
#endif
#endif
