/*
 * render_yaml.c - contract YAML written by the library: one consumer as an
 * entry of a contract's `consumers:` list (chan_contract_consumer_yaml).
 *
 * The text must read back as the same values through chan_contract_parse.
 * A string is written as a plain scalar only when it is unmistakably a
 * string: it starts with a letter, holds printable ASCII only, has no
 * leading or trailing space, no ": " and no " #", does not end with ':' and
 * is not a word YAML 1.1 reads as a boolean or null.  Every other string is
 * double-quoted with escapes (\\, \", \n, \t, \xNN for the other control
 * characters, \uNNNN for non-printable code points), so that quotes,
 * comments, colons, newlines and leading spaces survive.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "chan/model.h"

/* Words that YAML 1.1 or the core schema read as a boolean or null when plain. */
static const char *const special_words[] = {"null", "true", "false", "yes", "no",
                                            "on",   "off",  "y",     "n",   NULL};

/*
** Can s be written as a plain scalar and read back as this string?
** Conservative: false for anything that needs a second look.  s is not NULL.
*/
static bool plain_safe(const char *s)
{
    size_t i, len = strlen(s);

    assert(s != NULL);
    if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch < 0x20 || ch > 0x7e)
            return false;
        if (ch == ':' && (i + 1 == len || s[i + 1] == ' '))
            return false;
        if (ch == '#' && s[i - 1] == ' ')
            return false;
    }
    if (s[len - 1] == ' ')
        return false;
    for (i = 0; special_words[i]; i++)
        if (strcasecmp(s, special_words[i]) == 0)
            return false;
    return true;
}

/*
** Decode one UTF-8 sequence at s (at most n bytes).  Returns its length and
** sets *cp, or returns 0 for a byte that does not start a valid sequence.
*/
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    size_t len, i;
    uint32_t v;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        v = s[0] & 0x1fu;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        v = s[0] & 0x0fu;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        v = s[0] & 0x07u;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if ((len == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) || (len == 4 && v < 0x10000) ||
        v > 0x10ffff)
        return 0;
    *cp = v;
    return len;
}

/* May a YAML double-quoted scalar hold code point cp as it is (YAML 1.1 "printable")? */
static bool yaml_printable(uint32_t cp)
{
    return (cp >= 0x20 && cp <= 0x7e) || cp == 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/* Append s as a double-quoted YAML scalar.  Bytes that are not UTF-8 become \xNN. */
static void put_quoted(chan_buf *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);

    chan_buf_putc(out, '"');
    while (n > 0) {
        uint32_t cp = 0;
        size_t len = utf8_decode(p, n, &cp);

        if (len == 0) {
            chan_buf_printf(out, "\\x%02x", p[0]);
            len = 1;
        } else if (cp == '"' || cp == '\\') {
            chan_buf_putc(out, '\\');
            chan_buf_putc(out, (char)cp);
        } else if (cp == '\n') {
            chan_buf_puts(out, "\\n");
        } else if (cp == '\t') {
            chan_buf_puts(out, "\\t");
        } else if (cp == '\r') {
            chan_buf_puts(out, "\\r");
        } else if (yaml_printable(cp) && cp != 0x85 && cp != 0x2028 && cp != 0x2029) {
            /* (the line breaks NEL, LS and PS would be folded: escaped below) */
            chan_buf_put(out, p, len);
        } else if (cp < 0x100) {
            chan_buf_printf(out, "\\x%02" PRIx32, cp);
        } else {
            chan_buf_printf(out, "\\u%04" PRIx32, cp);
        }
        p += len;
        n -= len;
    }
    chan_buf_putc(out, '"');
}

/* Append "KEY: VALUE\n" for a string value (NULL is written as ""). */
static void put_string(chan_buf *out, const char *key, const char *value)
{
    chan_buf_printf(out, "%s: ", key);
    if (value && plain_safe(value))
        chan_buf_puts(out, value);
    else
        put_quoted(out, value ? value : "");
    chan_buf_putc(out, '\n');
}

char *chan_contract_consumer_yaml(const chan_consumer_record *c, int indent)
{
    chan_buf out = CHAN_BUF_INIT;
    int pad = indent > 0 ? indent : 0;
    double rate;

    assert(c != NULL);
    chan_buf_printf(&out, "%*s- ", pad, "");
    put_string(&out, "name", c->name);
    chan_buf_printf(&out, "%*s", pad + 2, "");
    put_string(&out, "principal", c->principal);
    chan_buf_printf(&out, "%*s", pad + 2, "");
    put_string(&out, "group", c->group);
    chan_buf_printf(&out, "%*s", pad + 2, "");
    put_string(&out, "scenario", c->scenario);
    chan_buf_printf(&out, "%*ssla_p99_ms: %" PRId64 "\n", pad + 2, "", c->sla_p99_ms);
    rate = c->peak_rate_msgs;
    if (rate > -9.0e15 && rate < 9.0e15 && (double)(int64_t)rate == rate)
        chan_buf_printf(&out, "%*speak_rate_msgs: %" PRId64 "\n", pad + 2, "", (int64_t)rate);
    else
        chan_buf_printf(&out, "%*speak_rate_msgs: %.17g\n", pad + 2, "", rate);
    chan_buf_printf(&out, "%*s", pad + 2, "");
    put_string(&out, "degradation", c->degradation);
    return chan_buf_take(&out);
}
