/*
 * json.c - the JSON reader of the Avro module: a schema text becomes a tree
 * of avro_json values in the schema's arena (avro_int.h), in one pass and
 * without an allocation per value.
 *
 * It accepts exactly what the module asked of jansson before (RFC 8259 JSON,
 * any value at the top, U+0000 allowed in strings, duplicate object keys
 * refused, integers that do not fit 64 bits refused) and keeps the order of
 * object members.  The arena is freed as a whole with the schema.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "avro_int.h"

/* jansson's limit on nesting, kept so that the same texts are accepted */
#define JSON_MAX_DEPTH 2048

/* ------------------------------------------------------------------ */
/* Arena                                                               */
/* ------------------------------------------------------------------ */

typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    max_align_t data[];
} arena_chunk;

/*
** Freed chunks are kept per thread (at most CACHE_BYTES) and reused by the
** next parse: memory that malloc would hand back to the system and fault in
** again costs more than the parse itself for large schemas.
*/
#define CACHE_BYTES ((size_t)1 << 20)

typedef struct chunk_cache {
    arena_chunk *head;
    size_t bytes;
} chunk_cache;

static __thread chunk_cache *thread_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p)
{
    chunk_cache *c = p;
    arena_chunk *k, *next;

    for (k = c->head; k; k = next) {
        next = k->next;
        free(k);
    }
    free(c);
    thread_cache = NULL;
}

static void cache_key_make(void)
{
    if (pthread_key_create(&cache_key, cache_free) != 0)
        abort();
}

static chunk_cache *cache_get(void)
{
    if (thread_cache == NULL) {
        pthread_once(&cache_once, cache_key_make);
        thread_cache = chan_xcalloc(1, sizeof(*thread_cache));
        (void)pthread_setspecific(cache_key, thread_cache);
    }
    return thread_cache;
}

/* A cached chunk of at least need bytes, or a new one. */
static arena_chunk *chunk_new(size_t need)
{
    chunk_cache *c = cache_get();
    arena_chunk **pp, *k;

    for (pp = &c->head; (k = *pp) != NULL; pp = &k->next)
        if (k->size >= need && k->size <= 4 * need) {
            *pp = k->next;
            c->bytes -= k->size;
            return k;
        }
    k = chan_xmalloc(sizeof(*k) + need);
    k->size = need;
    chan_avro__poison(k->data, k->size); /* handed out by chan_avro__arena_alloc */
    return k;
}

static void chunk_release(arena_chunk *k)
{
    chunk_cache *c = cache_get();

    chan_avro__poison(k->data, k->size); /* the schema that used it is gone */
    if (k->size > CACHE_BYTES) {
        free(k);
        return;
    }
    while (c->head && c->bytes + k->size > CACHE_BYTES) { /* drop the oldest */
        arena_chunk **pp = &c->head;

        while ((*pp)->next)
            pp = &(*pp)->next;
        c->bytes -= (*pp)->size;
        free(*pp);
        *pp = NULL;
    }
    k->next = c->head;
    c->head = k;
    c->bytes += k->size;
}

void *chan_avro__arena_alloc(avro_arena *a, size_t size)
{
    arena_chunk *c = a->head;
    size_t align = sizeof(void *) > 8 ? sizeof(void *) : 8, need;
    void *p;

    size = (size + align - 1) & ~(align - 1);
    if (c == NULL || c->size - c->used < size) {
        need = a->next_size > size ? a->next_size : size;
        if (need < 1024)
            need = 1024;
        c = chunk_new(need);
        c->used = 0;
        c->next = a->head;
        a->head = c;
        a->bytes += sizeof(*c) + c->size;
        /* doubling up to 16 KB: a large schema wastes at most one chunk's tail */
        a->next_size = need < 8192 ? need * 2 : 16384;
    }
    p = (char *)c->data + c->used;
    c->used += size;
    chan_avro__unpoison(p, size);
    return p;
}

char *chan_avro__arena_strndup(avro_arena *a, const char *s, size_t len)
{
    char *p = chan_avro__arena_alloc(a, len + 1);

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *chan_avro__arena_strdup(avro_arena *a, const char *s)
{
    return chan_avro__arena_strndup(a, s, strlen(s));
}

void chan_avro__arena_reserve(avro_arena *a, size_t size)
{
    if (a->head == NULL && a->next_size < size)
        a->next_size = size;
}

bool chan_avro__arena_owns(const avro_arena *a, const void *p)
{
    const arena_chunk *c;

    for (c = a->head; c; c = c->next)
        if ((const char *)p >= (const char *)c->data &&
            (const char *)p < (const char *)c->data + c->used)
            return true;
    return false;
}

void chan_avro__arena_dispose(avro_arena *a)
{
    arena_chunk *c = a->head, *next;

    for (; c; c = next) {
        next = c->next;
        chunk_release(c);
    }
    a->head = NULL;
    a->bytes = 0;
    a->next_size = 0;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */
/* ------------------------------------------------------------------ */

typedef struct reader {
    const char *text, *p, *end;
    avro_arena *arena;
    /* values and members of the arrays and objects being read; a finished
     * container moves its own to the arena in one piece */
    avro_json *vals;
    size_t n_vals, cap_vals;
    avro_json_member *mems;
    size_t n_mems, cap_mems;
    uint32_t *slots; /* key hash table of a large object (dup_check) */
    size_t cap_slots, slots_base, slots_n;
    int depth;
    chan_error *err;
} reader;

/* Fail at position at with "line L, column C: message". */
static int fail_at(reader *r, const char *at, const char *fmt, ...) CHAN_PRINTF(3, 4);
static int fail_at(reader *r, const char *at, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    int line = 1, column = 1;
    const char *q;

    if (at > r->end)
        at = r->end;
    for (q = r->text; q < at; q++) {
        if (*q == '\n') {
            line++;
            column = 1;
        } else if (((unsigned char)*q & 0xC0) != 0x80) {
            column++;
        }
    }
    va_start(ap, fmt);
    msg = chan_xvasprintf(fmt, ap);
    va_end(ap);
    chan_error_set(r->err, CHAN_EINVALID, "invalid JSON at line %d, column %d: %s", line, column,
                   msg);
    chan_error_locate(r->err, NULL, line, column);
    free(msg);
    return CHAN_EINVALID;
}

static void skip_ws(reader *r)
{
    const char *p = r->p;

    while (p < r->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    r->p = p;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence at p (before end), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], cp;
    size_t n, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF)
        return 0;
    return n;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/*
** Strings that every schema repeats (member names, primitive type names) are
** not copied: the reader points at these.  Listed by length, since every
** string of the text is looked up.
*/
static const char *const common_3[] = {"int", "map", "doc", NULL};
static const char *const common_4[] = {"name", "type", "null", "long", "enum", "size", NULL};
static const char *const common_5[] = {"items", "float", "bytes", "array",
                                       "fixed", "order", "scale", NULL};
static const char *const common_6[] = {"fields", "values", "double", "string", "record", NULL};
static const char *const common_7[] = {"default", "symbols", "aliases", "boolean", NULL};
static const char *const common_9[] = {"namespace", "precision", NULL};
static const char *const common_10[] = {"deprecated", NULL};
static const char *const common_11[] = {"logicalType", NULL};

static const char *common_string(const char *s, size_t len)
{
    static const char *const *const by_len[12] = {
        NULL,     NULL,     NULL, common_3, common_4,  common_5,
        common_6, common_7, NULL, common_9, common_10, common_11,
    };
    const char *const *c;

    if (len >= sizeof(by_len) / sizeof(by_len[0]) || (c = by_len[len]) == NULL)
        return NULL;
    for (; *c; c++)
        if ((*c)[0] == s[0] && memcmp(*c, s, len) == 0)
            return *c;
    return NULL;
}

/*
** Read a string (r->p after its opening quote) into the arena: *out and
** *out_len receive its NUL-terminated, unescaped UTF-8 text.
*/
static int read_string(reader *r, const char **out, uint32_t *out_len)
{
    const char *p = r->p, *start = p, *end = r->end;
    char *buf, *o;
    bool escaped = false;

    /* first pass: find the end, check the bytes */
    for (;;) {
        unsigned char c;

        if (p >= end)
            return fail_at(r, p, "premature end of input in a string");
        c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c == '\\') {
            escaped = true;
            p += 2;
            continue;
        }
        if (c < 0x20)
            return fail_at(r, p, "control character 0x%x in a string", c);
        if (c < 0x80) {
            p++;
            /* the common case: a run of plain ASCII */
            while (p < end && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80 && *p != '"' &&
                   *p != '\\')
                p++;
        } else {
            size_t n = utf8_len((const unsigned char *)p, (const unsigned char *)end);

            if (n == 0)
                return fail_at(r, p, "invalid UTF-8 byte 0x%02x", c);
            p += n;
        }
    }
    if ((size_t)(p - start) > UINT32_MAX)
        return fail_at(r, start, "string too long");
    if (!escaped && (*out = common_string(start, (size_t)(p - start))) != NULL) {
        *out_len = (uint32_t)(p - start);
        r->p = p + 1;
        return 0;
    }
    buf = chan_avro__arena_alloc(r->arena, (size_t)(p - start) + 1);
    if (!escaped) {
        memcpy(buf, start, (size_t)(p - start));
        o = buf + (p - start);
    } else {
        const char *q;

        for (q = start, o = buf; q < p;) {
            unsigned cp, lo;

            if (*q != '\\') {
                *o++ = *q++;
                continue;
            }
            q++;
            switch (*q) {
            case '"':
            case '\\':
            case '/':
                *o++ = *q++;
                continue;
            case 'b':
                *o++ = '\b';
                q++;
                continue;
            case 'f':
                *o++ = '\f';
                q++;
                continue;
            case 'n':
                *o++ = '\n';
                q++;
                continue;
            case 'r':
                *o++ = '\r';
                q++;
                continue;
            case 't':
                *o++ = '\t';
                q++;
                continue;
            case 'u':
                break;
            default:
                return fail_at(r, q - 1, "invalid escape in a string");
            }
            if (p - q < 5 || hex4(q + 1, &cp) != 0)
                return fail_at(r, q - 1, "invalid \\u escape in a string");
            q += 5;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (p - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, &lo) != 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return fail_at(r, q - 6, "invalid Unicode '\\u%04X'", cp);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                q += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail_at(r, q - 6, "invalid Unicode '\\u%04X'", cp);
            }
            o = put_utf8(o, cp);
        }
    }
    *o = '\0';
    *out = buf;
    *out_len = (uint32_t)(o - buf);
    r->p = p + 1;
    return 0;
}

static int read_number(reader *r, avro_json *v)
{
    const char *p = r->p, *start = p, *end = r->end;
    bool real = false;

    if (p < end && *p == '-')
        p++;
    if (p >= end || !(*p >= '0' && *p <= '9'))
        return fail_at(r, start, "invalid number");
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            return fail_at(r, start, "invalid number (leading zero)");
    } else {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && *p == '.') {
        real = true;
        p++;
        if (p >= end || !(*p >= '0' && *p <= '9'))
            return fail_at(r, start, "invalid number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || !(*p >= '0' && *p <= '9'))
            return fail_at(r, start, "invalid number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (!real) {
        const char *q = start;
        bool neg = *q == '-';
        uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

        if (neg)
            q++;
        for (; q < p; q++) {
            unsigned d = (unsigned)(*q - '0');

            if (acc > (limit - d) / 10)
                return fail_at(r, start, neg ? "too big negative integer" : "too big integer");
            acc = acc * 10 + d;
        }
        v->type = AVRO_JSON_INTEGER;
        v->u.i = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc) : (int64_t)acc;
    } else {
        char small[64], *copy = small;
        size_t n = (size_t)(p - start);
        double d;

        if (n >= sizeof(small))
            copy = chan_xmalloc(n + 1);
        memcpy(copy, start, n);
        copy[n] = '\0';
        errno = 0;
        d = strtod(copy, NULL);
        if (copy != small)
            free(copy);
        if (errno == ERANGE && isinf(d))
            return fail_at(r, start, "real number overflow");
        v->type = AVRO_JSON_REAL;
        v->u.d = d;
    }
    r->p = p;
    return 0;
}

static void *grow(void *ptr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return ptr;
    while (*cap < need)
        *cap = *cap ? *cap * 2 : 64;
    return chan_xreallocarray(ptr, *cap, size);
}

static uint32_t key_hash(const char *s, uint32_t len)
{
    uint32_t h = 2166136261u, i;

    for (i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static bool same_key(const avro_json_member *a, const char *key, uint32_t len)
{
    return strncmp(a->key, key, len) == 0 && a->key[len] == '\0';
}

/*
** Is the last member (its key key_len bytes long) of the object whose members
** start at base a duplicate?
** Small objects are searched; from 17 members on, a hash table of the
** object's keys is used (rebuilt when it belongs to another object, which
** a nested value may have used meanwhile, or when it fills up).
*/
static bool dup_check(reader *r, size_t base, uint32_t key_len)
{
    size_t n = r->n_mems - base, i, mask;
    const avro_json_member *m = &r->mems[r->n_mems - 1];
    uint32_t h;

    if (n <= 16) {
        for (i = base; i + 1 < r->n_mems; i++)
            if (same_key(&r->mems[i], m->key, key_len))
                return true;
        return false;
    }
    if (r->slots_base != base || r->slots_n != n - 1 || r->cap_slots < 2 * n) {
        size_t cap = 64;

        while (cap < 4 * n)
            cap *= 2;
        if (cap > r->cap_slots) {
            free(r->slots);
            r->slots = chan_xcalloc(cap, sizeof(*r->slots));
            r->cap_slots = cap;
        } else {
            memset(r->slots, 0, r->cap_slots * sizeof(*r->slots));
        }
        mask = r->cap_slots - 1;
        for (i = 0; i + 1 < n; i++) { /* slots hold 1 + position relative to base */
            const avro_json_member *e = &r->mems[base + i];

            h = key_hash(e->key, (uint32_t)strlen(e->key)) & (uint32_t)mask;
            while (r->slots[h])
                h = (h + 1) & (uint32_t)mask;
            r->slots[h] = (uint32_t)i + 1;
        }
        r->slots_base = base;
    }
    mask = r->cap_slots - 1;
    h = key_hash(m->key, key_len) & (uint32_t)mask;
    while (r->slots[h]) {
        if (same_key(&r->mems[base + r->slots[h] - 1], m->key, key_len))
            return true;
        h = (h + 1) & (uint32_t)mask;
    }
    r->slots[h] = (uint32_t)n;
    r->slots_n = n;
    return false;
}

static int read_value(reader *r, avro_json *v);

static int read_array(reader *r, avro_json *v)
{
    size_t base = r->n_vals, n;
    int error;

    r->p++; /* [ */
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        v->type = AVRO_JSON_ARRAY;
        v->len = 0;
        v->u.items = NULL;
        return 0;
    }
    for (;;) {
        avro_json item;

        if ((error = read_value(r, &item)) < 0)
            return error;
        r->vals = grow(r->vals, &r->cap_vals, r->n_vals + 1, sizeof(*r->vals));
        r->vals[r->n_vals++] = item;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            break;
        }
        return fail_at(r, r->p, r->p < r->end ? "',' or ']' expected" : "premature end of input");
    }
    n = r->n_vals - base;
    if (n > UINT32_MAX)
        return fail_at(r, r->p, "array too long");
    v->type = AVRO_JSON_ARRAY;
    v->len = (uint32_t)n;
    v->u.items = chan_avro__arena_alloc(r->arena, n * sizeof(*v->u.items));
    memcpy(v->u.items, &r->vals[base], n * sizeof(*v->u.items));
    r->n_vals = base;
    return 0;
}

static int read_object(reader *r, avro_json *v)
{
    size_t base = r->n_mems, n;
    int error;

    r->p++; /* { */
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        v->type = AVRO_JSON_OBJECT;
        v->len = 0;
        v->u.members = NULL;
        return 0;
    }
    for (;;) {
        avro_json_member m;
        const char *key_at;
        uint32_t key_len;

        skip_ws(r);
        if (r->p >= r->end || *r->p != '"')
            return fail_at(r, r->p,
                           r->p < r->end ? "string or '}' expected" : "premature end of input");
        key_at = r->p;
        r->p++;
        if ((error = read_string(r, &m.key, &key_len)) < 0)
            return error;
        if (memchr(m.key, '\0', key_len) != NULL)
            return fail_at(r, key_at, "NUL byte in object key not supported");
        skip_ws(r);
        if (r->p >= r->end || *r->p != ':')
            return fail_at(r, r->p, "':' expected");
        r->p++;
        if ((error = read_value(r, &m.value)) < 0)
            return error;
        r->mems = grow(r->mems, &r->cap_mems, r->n_mems + 1, sizeof(*r->mems));
        r->mems[r->n_mems++] = m;
        if (dup_check(r, base, key_len))
            return fail_at(r, key_at, "duplicate object key \"%s\"", m.key);
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            break;
        }
        return fail_at(r, r->p, r->p < r->end ? "',' or '}' expected" : "premature end of input");
    }
    n = r->n_mems - base;
    if (n > UINT32_MAX)
        return fail_at(r, r->p, "object too long");
    v->type = AVRO_JSON_OBJECT;
    v->len = (uint32_t)n;
    v->u.members = chan_avro__arena_alloc(r->arena, n * sizeof(*v->u.members));
    memcpy(v->u.members, &r->mems[base], n * sizeof(*v->u.members));
    r->n_mems = base;
    return 0;
}

static bool literal(reader *r, const char *word, size_t len)
{
    if ((size_t)(r->end - r->p) < len || memcmp(r->p, word, len) != 0)
        return false;
    r->p += len;
    return true;
}

static int read_value(reader *r, avro_json *v)
{
    int error;

    skip_ws(r);
    if (r->p >= r->end)
        return fail_at(r, r->p, "premature end of input");
    memset(v, 0, sizeof(*v));
    switch (*r->p) {
    case '{':
    case '[':
        if (++r->depth > JSON_MAX_DEPTH)
            return fail_at(r, r->p, "maximum parsing depth reached");
        error = *r->p == '{' ? read_object(r, v) : read_array(r, v);
        r->depth--;
        return error;
    case '"':
        r->p++;
        v->type = AVRO_JSON_STRING;
        return read_string(r, &v->u.s, &v->len);
    case 't':
        if (literal(r, "true", 4)) {
            v->type = AVRO_JSON_TRUE;
            return 0;
        }
        break;
    case 'f':
        if (literal(r, "false", 5)) {
            v->type = AVRO_JSON_FALSE;
            return 0;
        }
        break;
    case 'n':
        if (literal(r, "null", 4)) {
            v->type = AVRO_JSON_NULL;
            return 0;
        }
        break;
    default:
        if (*r->p == '-' || (*r->p >= '0' && *r->p <= '9'))
            return read_number(r, v);
        break;
    }
    return fail_at(r, r->p, "invalid token");
}

int chan_avro__json_read(avro_json **out, avro_arena *arena, const char *text, size_t len,
                         chan_error *err)
{
    reader r = {0};
    avro_json v;
    int error;

    assert(out != NULL && arena != NULL && (text != NULL || len == 0));
    *out = NULL;
    r.text = r.p = text;
    r.end = text + len;
    r.arena = arena;
    r.err = err;
    /* values take about as many bytes as their text: one chunk on the whole */
    chan_avro__arena_reserve(arena, len + len / 2 + 256);
    if ((error = read_value(&r, &v)) < 0)
        goto cleanup;
    skip_ws(&r);
    if (r.p < r.end) {
        error = fail_at(&r, r.p, "end of file expected");
        goto cleanup;
    }
    *out = chan_avro__arena_alloc(arena, sizeof(**out));
    **out = v;
cleanup:
    free(r.vals);
    free(r.mems);
    free(r.slots);
    return error;
}

const avro_json *chan_avro__json_get(const avro_json *obj, const char *key)
{
    size_t i;

    if (obj == NULL || obj->type != AVRO_JSON_OBJECT)
        return NULL;
    for (i = 0; i < obj->len; i++) {
        const avro_json_member *m = &obj->u.members[i];

        if (m->key[0] == key[0] && strcmp(m->key, key) == 0)
            return &m->value;
    }
    return NULL;
}
