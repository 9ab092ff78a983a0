/*
 * common.c - aborting allocators, chan_buf, file helpers, small parsers and
 * the line logger shared by every part of chanreg.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chan/common.h"

static void oom(size_t size)
{
    fprintf(stderr, "chanreg: out of memory allocating %zu bytes\n", size);
    abort();
}

void *chan_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (p == NULL)
        oom(size);
    return p;
}

void *chan_xcalloc(size_t nmemb, size_t size)
{
    void *p;

    if (nmemb == 0 || size == 0)
        nmemb = size = 1;
    p = calloc(nmemb, size);
    if (p == NULL)
        oom(nmemb * size);
    return p;
}

void *chan_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (p == NULL)
        oom(size);
    return p;
}

void *chan_xreallocarray(void *ptr, size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / size)
        oom(SIZE_MAX);
    return chan_xrealloc(ptr, nmemb * size);
}

char *chan_xstrdup(const char *s)
{
    char *p;

    if (s == NULL)
        return NULL;
    p = strdup(s);
    if (p == NULL)
        oom(strlen(s) + 1);
    return p;
}

char *chan_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);

    if (p == NULL)
        oom(n + 1);
    return p;
}

char *chan_xvasprintf(const char *fmt, va_list ap)
{
    chan_buf buf = CHAN_BUF_INIT;

    chan_buf_vprintf(&buf, fmt, ap);
    return chan_buf_take(&buf);
}

char *chan_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = chan_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

/* ------------------------------------------------------------------ */

void chan_buf_init(chan_buf *buf)
{
    buf->ptr = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void chan_buf_dispose(chan_buf *buf)
{
    if (buf == NULL)
        return;
    free(buf->ptr);
    chan_buf_init(buf);
}

void chan_buf_clear(chan_buf *buf)
{
    buf->len = 0;
    if (buf->ptr)
        buf->ptr[0] = '\0';
}

void chan_buf_grow(chan_buf *buf, size_t extra)
{
    size_t need;

    if (extra > SIZE_MAX - buf->len - 1)
        oom(SIZE_MAX);
    need = buf->len + extra + 1;
    if (need <= buf->cap)
        return;
    if (buf->cap < 64)
        buf->cap = 64;
    while (buf->cap < need)
        buf->cap = buf->cap > SIZE_MAX / 2 ? need : buf->cap * 2;
    buf->ptr = chan_xrealloc(buf->ptr, buf->cap);
}

void chan_buf_put(chan_buf *buf, const void *data, size_t len)
{
    chan_buf_grow(buf, len);
    if (len)
        memcpy(buf->ptr + buf->len, data, len);
    buf->len += len;
    buf->ptr[buf->len] = '\0';
}

void chan_buf_puts(chan_buf *buf, const char *s)
{
    chan_buf_put(buf, s, strlen(s));
}

void chan_buf_putc(chan_buf *buf, char c)
{
    chan_buf_put(buf, &c, 1);
}

void chan_buf_vprintf(chan_buf *buf, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    chan_buf_grow(buf, 64);
    va_copy(ap2, ap);
    n = vsnprintf(buf->ptr + buf->len, buf->cap - buf->len, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        buf->ptr[buf->len] = '\0';
        return;
    }
    if ((size_t)n >= buf->cap - buf->len) {
        chan_buf_grow(buf, (size_t)n);
        vsnprintf(buf->ptr + buf->len, buf->cap - buf->len, fmt, ap);
    }
    buf->len += (size_t)n;
}

void chan_buf_printf(chan_buf *buf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    chan_buf_vprintf(buf, fmt, ap);
    va_end(ap);
}

const char *chan_buf_cstr(const chan_buf *buf)
{
    return buf->ptr ? buf->ptr : "";
}

void chan_buf_put_json_string(chan_buf *buf, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run;

    if (s == NULL || !chan_utf8_valid(s)) {
        chan_buf_put(buf, "null", 4);
        return;
    }
    chan_buf_putc(buf, '"');
    for (run = s; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[6] = {'\\', 'u', '0', '0', 0, 0};
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        chan_buf_put(buf, run, (size_t)(s - run));
        run = s + 1;
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            n = 6;
        }
        chan_buf_put(buf, esc, n);
    }
    chan_buf_put(buf, run, (size_t)(s - run));
    chan_buf_putc(buf, '"');
}

char *chan_buf_take(chan_buf *buf)
{
    char *p = buf->ptr;

    if (p == NULL)
        p = chan_xstrdup("");
    chan_buf_init(buf);
    return p;
}

/* ------------------------------------------------------------------ */

int chan_fd_read_all(char **out, size_t *out_len, int fd, size_t max_size, const char *name,
                     chan_error *err)
{
    chan_buf buf = CHAN_BUF_INIT;
    char chunk[65536];
    int error = 0;

    assert(out != NULL && fd >= 0 && name != NULL);
    *out = NULL;
    if (out_len)
        *out_len = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error = chan_error_set(err, CHAN_EIO, "cannot read %s: %s", name, strerror(errno));
            goto cleanup;
        }
        if (n == 0)
            break;
        if (buf.len + (size_t)n > max_size) {
            error = chan_error_set(err, CHAN_ETOOBIG, "%s is larger than the limit of %zu bytes",
                                   name, max_size);
            goto cleanup;
        }
        chan_buf_put(&buf, chunk, (size_t)n);
    }
    if (out_len)
        *out_len = buf.len;
    *out = chan_buf_take(&buf);

cleanup:
    chan_buf_dispose(&buf);
    return error;
}

int chan_file_read(char **out, size_t *out_len, const char *path, size_t max_size, chan_error *err)
{
    int fd = -1, error = 0;

    *out = NULL;
    if (out_len)
        *out_len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = chan_error_set(err, errno == ENOENT ? CHAN_ENOTFOUND : CHAN_EIO,
                               "cannot open %s: %s", path, strerror(errno));
        goto cleanup;
    }
    error = chan_fd_read_all(out, out_len, fd, max_size, path, err);

cleanup:
    if (fd >= 0)
        close(fd);
    return error;
}

int chan_file_write_atomic(const char *path, const void *data, size_t len, chan_error *err)
{
    char *tmp = chan_xasprintf("%s.tmp.%ld", path, (long)getpid());
    char *dir = chan_xstrdup(path);
    char *slash;
    const char *p = data;
    int fd = -1, dfd = -1, error = 0;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        error = chan_error_set(err, CHAN_EIO, "cannot create %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error = chan_error_set(err, CHAN_EIO, "cannot write %s: %s", tmp, strerror(errno));
            goto cleanup;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        error = chan_error_set(err, CHAN_EIO, "cannot sync %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        error = chan_error_set(err, CHAN_EIO, "cannot rename %s: %s", tmp, strerror(errno));
        goto cleanup;
    }
    slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        (void)fsync(dfd);

cleanup:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (error)
        (void)unlink(tmp);
    free(tmp);
    free(dir);
    return error;
}

/* ------------------------------------------------------------------ */

const char *chan_str_clip(char *buf, size_t size, const char *s)
{
    size_t i, n = 0;

    assert(buf != NULL && size >= 4 && s != NULL);
    for (i = 0; s[i] != '\0' && n + 4 < size; i++) {
        unsigned char c = (unsigned char)s[i];

        buf[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (s[i] != '\0') {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n] = '\0';
    return buf;
}

bool chan_str_endswith(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

bool chan_utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p != 0) {
        unsigned int c = *p, min;
        size_t n, i;

        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            c &= 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            c &= 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            c &= 0x07;
            min = 0x10000;
        } else {
            return false;
        }
        for (i = 1; i <= n; i++) {
            if ((p[i] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        p += n + 1;
    }
    return true;
}

size_t chan_utf8_chars(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

int chan_parse_int64(int64_t *out, const char *s, int64_t min, int64_t max)
{
    char *end = NULL;
    long long v;

    if (s == NULL || *s == '\0' || *s == ' ' || *s == '+')
        return CHAN_EINVALID;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return CHAN_EINVALID;
    *out = (int64_t)v;
    return 0;
}

/* Days from civil, after Howard Hinnant's algorithm. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

bool chan_date_parse(const char *s, int64_t *out_days)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y = 0, m, d, dim;
    int i;

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    y = (unsigned)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0'));
    m = (unsigned)((s[5] - '0') * 10 + (s[6] - '0'));
    d = (unsigned)((s[8] - '0') * 10 + (s[9] - '0'));
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    dim = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        dim = 29;
    if (d > dim)
        return false;
    if (out_days)
        *out_days = days_from_civil((int64_t)y, m, d);
    return true;
}

/* Civil from days, after Howard Hinnant's algorithm. */
const char *chan_date_format(char *buf, size_t size, int64_t days)
{
    int64_t z = days + 719468, era, y;
    unsigned doe, yoe, doy, mp, d, m;

    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
    return buf;
}

int64_t chan_date_today(void)
{
    time_t now = time(NULL);

    return (int64_t)(now / 86400);
}

/* ------------------------------------------------------------------ */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int log_level = CHAN_LOG_INFO;

void chan_log_set_level(chan_log_level level)
{
    pthread_mutex_lock(&log_lock);
    log_level = (int)level;
    pthread_mutex_unlock(&log_lock);
}

chan_log_level chan_log_get_level(void)
{
    return (chan_log_level)log_level;
}

int chan_log_level_parse(chan_log_level *out, const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (chan_log_level)i;
            return 0;
        }
    }
    return CHAN_EINVALID;
}

static const char *const log_names[] = {"debug", "info", "warn", "error"};

/*
** Write the prefix of a log line, "YYYY-MM-DDTHH:MM:SS.mmmZ level module ",
** into line (at least 64 + strlen(module) bytes); returns its length.  The
** date of the current second is kept per thread: gmtime_r takes a lock of
** the C library that every thread shares.
*/
static size_t log_prefix(char *line, size_t size, chan_log_level level, const char *module)
{
    static _Thread_local time_t stamp_sec = (time_t)-1;
    static _Thread_local char stamp[24]; /* "YYYY-MM-DDTHH:MM:SS" */
    static _Thread_local size_t stamp_len;
    struct timespec ts;
    size_t n, k;
    long ms;
    int w;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != stamp_sec) {
        struct tm tm;

        gmtime_r(&ts.tv_sec, &tm);
        w = snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        stamp_len = w < 0 ? 0 : (size_t)w < sizeof(stamp) ? (size_t)w : sizeof(stamp) - 1;
        stamp_sec = ts.tv_sec;
    }
    ms = ts.tv_nsec / 1000000;
    n = stamp_len;
    memcpy(line, stamp, n);
    line[n++] = '.';
    line[n++] = (char)('0' + ms / 100);
    line[n++] = (char)('0' + ms / 10 % 10);
    line[n++] = (char)('0' + ms % 10);
    line[n++] = 'Z';
    line[n++] = ' ';
    k = strlen(log_names[level]);
    memcpy(line + n, log_names[level], k);
    n += k;
    line[n++] = ' ';
    k = strlen(module);
    if (k > size - n - 1)
        k = size - n - 1;
    memcpy(line + n, module, k);
    n += k;
    if (n < size)
        line[n++] = ' ';
    return n;
}

void chan_log(chan_log_level level, const char *module, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    size_t n;
    int k;

    if ((int)level < log_level || level >= CHAN_LOG_OFF)
        return;
    n = log_prefix(line, sizeof(line), level, module);
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        n += k < 0 ? 0 : (size_t)k;
    }
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}

void chan_log_text(chan_log_level level, const char *module, const char *msg, size_t len)
{
    char line[4096];
    size_t n;

    if ((int)level < log_level || level >= CHAN_LOG_OFF)
        return;
    n = log_prefix(line, sizeof(line), level, module);
    if (n < sizeof(line) - 2) {
        if (len > sizeof(line) - 2 - n)
            len = sizeof(line) - 2 - n;
        memcpy(line + n, msg, len);
        n += len;
    }
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, n);
}
