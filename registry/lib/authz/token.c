/*
 * token.c - API tokens: generation, SHA-256 digests, constant-time
 * comparison and the token file.
 *
 * The only code of chanreg that includes GnuTLS for tokens.  A token is
 * never stored: the store and the token file hold the hex SHA-256 of the
 * whole token, and the daemon compares digests with chan_ct_memeq.
 */
#include <assert.h>
#include <stdarg.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "chan/authz.h"
#include "chan/common.h"

/* Random bytes behind the id (12 hex characters) and the secret (43 base64url). */
#define ID_BYTES     (CHAN_TOKEN_ID_LEN / 2)
#define SECRET_BYTES 32

static const char hex_digits[] = "0123456789abcdef";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void hex_encode(char *out, const uint8_t *in, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hex_digits[in[i] >> 4];
        out[2 * i + 1] = hex_digits[in[i] & 0xf];
    }
    out[2 * n] = '\0';
}

/* base64url without padding of n bytes; out has room for 4 * ceil(n / 3) + 1. */
static size_t b64url_encode(char *out, const uint8_t *in, size_t n)
{
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;

        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

void chan_token_free(char *token)
{
    if (token == NULL)
        return;
    explicit_bzero(token, strlen(token));
    free(token);
}

int chan_token_new(char **out, char out_id[CHAN_TOKEN_ID_LEN + 1], chan_error *err)
{
    uint8_t rnd[ID_BYTES + SECRET_BYTES];
    char secret[4 * ((SECRET_BYTES + 2) / 3) + 1];
    int rc;

    assert(out != NULL && out_id != NULL);
    *out = NULL;
    out_id[0] = '\0';
    if ((rc = gnutls_rnd(GNUTLS_RND_KEY, rnd, sizeof(rnd))) < 0)
        return chan_error_set(err, CHAN_EINTERNAL, "cannot get random bytes for a token: %s",
                              gnutls_strerror(rc));
    hex_encode(out_id, rnd, ID_BYTES);
    b64url_encode(secret, rnd + ID_BYTES, SECRET_BYTES);
    *out = chan_xasprintf(CHAN_TOKEN_PREFIX "%s_%s", out_id, secret);
    gnutls_memset(rnd, 0, sizeof(rnd));
    gnutls_memset(secret, 0, sizeof(secret));
    assert(strlen(*out) == CHAN_TOKEN_LEN);
    return 0;
}

void chan_token_digest(uint8_t out[CHAN_TOKEN_DIGEST_LEN], const char *token, size_t len)
{
    assert(out != NULL && (token != NULL || len == 0));
    /* SHA-256 cannot fail short of a broken library (or FIPS mode refusing it). */
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token ? token : "", len, out) < 0)
        abort();
}

void chan_token_digest_hex(char out[2 * CHAN_TOKEN_DIGEST_LEN + 1], const char *token, size_t len)
{
    uint8_t digest[CHAN_TOKEN_DIGEST_LEN];

    chan_token_digest(digest, token, len);
    hex_encode(out, digest, sizeof(digest));
}

void chan_hmac_sha256_hex(char out[2 * CHAN_TOKEN_DIGEST_LEN + 1], const void *key, size_t key_len,
                          const void *data, size_t len)
{
    uint8_t mac[CHAN_TOKEN_DIGEST_LEN];

    if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, key_len, data, len, mac) != 0)
        abort();
    hex_encode(out, mac, sizeof(mac));
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int chan_token_digest_parse(uint8_t out[CHAN_TOKEN_DIGEST_LEN], const char *hex)
{
    size_t i;

    assert(out != NULL);
    if (hex == NULL || strlen(hex) != 2 * CHAN_TOKEN_DIGEST_LEN)
        return CHAN_EINVALID;
    for (i = 0; i < CHAN_TOKEN_DIGEST_LEN; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return CHAN_EINVALID;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

bool chan_token_id(char out[CHAN_TOKEN_ID_LEN + 1], const char *token, size_t len)
{
    const size_t plen = strlen(CHAN_TOKEN_PREFIX);
    size_t i;

    assert(out != NULL);
    out[0] = '\0';
    if (token == NULL || len != CHAN_TOKEN_LEN || memcmp(token, CHAN_TOKEN_PREFIX, plen) != 0 ||
        token[plen + CHAN_TOKEN_ID_LEN] != '_')
        return false;
    for (i = plen; i < plen + CHAN_TOKEN_ID_LEN; i++)
        if (!(isdigit((unsigned char)token[i]) || (token[i] >= 'a' && token[i] <= 'f')))
            return false;
    for (i = plen + CHAN_TOKEN_ID_LEN + 1; i < len; i++)
        if (!(isalnum((unsigned char)token[i]) || token[i] == '-' || token[i] == '_'))
            return false;
    memcpy(out, token + plen, CHAN_TOKEN_ID_LEN);
    out[CHAN_TOKEN_ID_LEN] = '\0';
    return true;
}

bool chan_ct_memeq(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *pa = a, *pb = b;
    unsigned char diff = 0;
    size_t i;

    assert((a != NULL && b != NULL) || n == 0);
    for (i = 0; i < n; i++)
        diff |= (unsigned char)(pa[i] ^ pb[i]);
    return diff == 0;
}

/* ------------------------------------------------------------------ */
/* Token file                                                          */
/* ------------------------------------------------------------------ */

/* Parser state: the entries so far and every problem found. */
typedef struct file_ctx {
    const char *path;
    chan_token_entry *entries;
    size_t n;
    chan_buf problems; /* "path:line: message\n" per problem */
    char first[CHAN_ERROR_MESSAGE_MAX];
    size_t n_problems;
} file_ctx;

static void problem(file_ctx *ctx, int line, const char *fmt, ...) CHAN_PRINTF(3, 4);

/* Record one problem of line `line`. */
static void problem(file_ctx *ctx, int line, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = chan_xvasprintf(fmt, ap);
    va_end(ap);
    if (ctx->n_problems == 0)
        snprintf(ctx->first, sizeof(ctx->first), "%s:%d: %s", ctx->path, line, msg);
    chan_buf_printf(&ctx->problems, "%s:%d: %s\n", ctx->path, line, msg);
    ctx->n_problems++;
    free(msg);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A new entry at the end of ctx->entries, zeroed, for line `line`. */
static chan_token_entry *add_entry(file_ctx *ctx, int line)
{
    chan_token_entry *e;

    ctx->entries = chan_xreallocarray(ctx->entries, ctx->n + 1, sizeof(*ctx->entries));
    e = &ctx->entries[ctx->n++];
    memset(e, 0, sizeof(*e));
    e->line = line;
    return e;
}

/* Drop the last entry (its line had a problem). */
static void drop_entry(file_ctx *ctx)
{
    assert(ctx->n > 0);
    chan_identity_dispose(&ctx->entries[--ctx->n].identity);
}

/* Legacy "NAME:TOKEN" (colon points at the first ':'): role admin, token hashed. */
static void parse_legacy(file_ctx *ctx, int lineno, char *line, char *colon)
{
    chan_token_entry *e;
    chan_error err = CHAN_ERROR_INIT;

    if (colon == line || colon[1] == '\0') {
        problem(ctx, lineno, "expected NAME:TOKEN");
        return;
    }
    /* "a:b sha256=... roles=..." is a mistyped v2 line, not an admin token. */
    if (strpbrk(colon, " \t") && (strstr(colon, "sha256=") || strstr(colon, "roles="))) {
        problem(ctx, lineno, "an identity name cannot contain ':'");
        return;
    }
    *colon = '\0';
    e = add_entry(ctx, lineno);
    if (chan_identity_init(&e->identity, line, "admin", &err) < 0) {
        problem(ctx, lineno, "%s", err.message);
        drop_entry(ctx);
        return;
    }
    e->identity.source = "file";
    e->legacy = true;
    chan_token_digest(e->digest, colon + 1, strlen(colon + 1));
}

/* The value of "key=value" in field when it has that key, else NULL. */
static const char *field_value(const char *field, const char *key)
{
    size_t n = strlen(key);

    if (strncmp(field, key, n) == 0 && field[n] == '=')
        return field + n + 1;
    return NULL;
}

/* v2 "NAME sha256=HEX roles=R1,R2 [expires=YYYY-MM-DD]" split into blank-separated fields. */
static void parse_v2(file_ctx *ctx, int lineno, char *line)
{
    const char *name = NULL, *sha = NULL, *roles = NULL, *expires = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_token_entry *e;
    size_t before = ctx->n_problems;
    char *field = line;
    int64_t days = 0;

    while (*field) {
        char *end = field;
        const char *v;

        while (*end && !is_blank(*end))
            end++;
        if (*end)
            *end++ = '\0';
        while (is_blank(*end))
            end++;
        if (name == NULL) {
            name = field;
        } else if ((v = field_value(field, "sha256")) || (v = field_value(field, "roles")) ||
                   (v = field_value(field, "expires"))) {
            const char **slot = field[0] == 's' ? &sha : field[0] == 'r' ? &roles : &expires;

            if (*slot)
                problem(ctx, lineno, "field \"%.*s\" given twice", (int)(v - field - 1), field);
            *slot = v;
        } else {
            problem(ctx, lineno,
                    "unknown field \"%s\": expected sha256=, roles= or expires=", field);
        }
        field = end;
    }
    assert(name != NULL);
    e = add_entry(ctx, lineno);
    if (chan_identity_init(&e->identity, name, roles ? roles : "", &err) < 0)
        problem(ctx, lineno, "%s", err.message);
    if (sha == NULL)
        problem(ctx, lineno, "missing sha256=<64 hex digits> (chanctl token hash makes the line)");
    else if (chan_token_digest_parse(e->digest, sha) < 0)
        problem(ctx, lineno, "sha256 must be 64 hex digits");
    if (roles == NULL || *roles == '\0')
        problem(ctx, lineno, "missing roles= (admin, reader, owner:<team>, ci:<team>)");
    if (expires && !chan_date_parse(expires, &days))
        problem(ctx, lineno, "expires must be a date YYYY-MM-DD, not \"%s\"", expires);
    if (ctx->n_problems > before) {
        drop_entry(ctx);
        return;
    }
    e->identity.source = "file";
    e->identity.expires_at = expires ? days * 86400 : 0;
}

/* Refuse two entries with one digest: a token must name one identity. */
static void check_duplicates(file_ctx *ctx)
{
    size_t i, j;

    for (i = 1; i < ctx->n; i++)
        for (j = 0; j < i; j++)
            if (memcmp(ctx->entries[i].digest, ctx->entries[j].digest, CHAN_TOKEN_DIGEST_LEN) ==
                0) {
                problem(ctx, ctx->entries[i].line, "same token as line %d", ctx->entries[j].line);
                break;
            }
}

int chan_token_file_parse(chan_token_entry **out, size_t *out_n, const char *text, const char *path,
                          chan_error *err)
{
    file_ctx ctx = {0};
    char *copy = NULL, *line, *next;
    int error = 0, lineno = 0;

    assert(out != NULL && out_n != NULL && text != NULL);
    *out = NULL;
    *out_n = 0;
    ctx.path = path ? path : "token file";
    chan_buf_init(&ctx.problems);
    copy = chan_xstrdup(text);
    for (line = copy; line && *line; line = next) {
        char *colon, *blank;
        size_t len;

        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        len = strlen(line);
        while (len > 0 && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        while (isspace((unsigned char)*line))
            line++;
        if (*line == '\0' || *line == '#')
            continue;
        colon = strchr(line, ':');
        blank = strpbrk(line, " \t");
        if (colon && (blank == NULL || colon < blank))
            parse_legacy(&ctx, lineno, line, colon);
        else
            parse_v2(&ctx, lineno, line);
    }
    check_duplicates(&ctx);
    if (ctx.n_problems > 0) {
        if (ctx.n_problems == 1)
            error = chan_error_set(err, CHAN_EINVALID, "%s", ctx.first);
        else
            error = chan_error_set(err, CHAN_EINVALID, "%s (and %zu more problems)", ctx.first,
                                   ctx.n_problems - 1);
        chan_error_detail(err, "%s", chan_buf_cstr(&ctx.problems));
        chan_error_hint(err, "lines are NAME sha256=<hex> roles=R1,R2 [expires=YYYY-MM-DD]; "
                             "chanctl token hash prints one");
        chan_token_entries_free(ctx.entries, ctx.n);
        goto cleanup;
    }
    *out = ctx.entries;
    *out_n = ctx.n;

cleanup:
    if (copy)
        gnutls_memset(copy, 0, strlen(text));
    free(copy);
    chan_buf_dispose(&ctx.problems);
    return error;
}

void chan_token_entries_free(chan_token_entry *entries, size_t n)
{
    size_t i;

    if (entries == NULL)
        return;
    for (i = 0; i < n; i++)
        chan_identity_dispose(&entries[i].identity);
    free(entries);
}

char *chan_token_file_line(const char *identity, const char *roles_csv, const char *token,
                           const char *expires)
{
    chan_identity id;
    char hex[2 * CHAN_TOKEN_DIGEST_LEN + 1];
    char *roles = NULL, *line = NULL;

    assert(token != NULL);
    if (chan_identity_init(&id, identity, roles_csv, NULL) < 0)
        return NULL;
    if (id.n_roles == 0 || (expires && !chan_date_parse(expires, NULL)))
        goto cleanup;
    roles = chan_identity_roles_text(&id);
    chan_token_digest_hex(hex, token, strlen(token));
    line = chan_xasprintf("%s sha256=%s roles=%s%s%s\n", id.name, hex, roles,
                          expires ? " expires=" : "", expires ? expires : "");

cleanup:
    free(roles);
    chan_identity_dispose(&id);
    return line;
}
