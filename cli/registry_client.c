/*
 * registry_client.c - libcurl + jansson client of the chanregd HTTP API.
 *
 * One easy handle per client, reset before each request so that options never
 * leak from one request into the next while the connection is kept alive.
 * Reply bodies are collected into a chan_buf capped at CLI_REGISTRY_MAX_REPLY;
 * every failure becomes a chan_error as described in registry_client.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "chan/version.h"
#include "cli.h"
#include "registry_client.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 5000L
#define DEFAULT_TIMEOUT_MS         30000L
/* How much of a non-JSON reply is quoted in an error detail. */
#define REPLY_SNIPPET_MAX 160

struct cli_registry {
    char *url;         /* base URL without trailing '/' */
    char *auth_header; /* "Authorization: Bearer ..." or NULL */
    char *cacert;      /* CA file for CURLOPT_CAINFO, or NULL */
    long connect_timeout_ms;
    long timeout_ms;
    CURL *curl;
    json_t *last_error; /* error document of the last failed request */
    char errbuf[CURL_ERROR_SIZE];
};

/* Reply collector handed to the curl write callback. */
typedef struct reply_sink {
    chan_buf body;
    bool too_big;
} reply_sink;

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    reply_sink *sink = userdata;
    size_t n = size * nmemb;

    if (sink->body.len + n > CLI_REGISTRY_MAX_REPLY) {
        sink->too_big = true;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    chan_buf_put(&sink->body, data, n);
    return n;
}

/* True when s holds a byte that must not appear in an HTTP header value. */
static bool has_control_chars(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

int cli_registry_new(cli_registry **out, const cli_registry_options *opts, chan_error *err)
{
    cli_registry *reg = NULL;
    size_t len;
    int error = 0;

    *out = NULL;
    if (opts->url == NULL || opts->url[0] == '\0')
        return chan_error_set(err, CHAN_EINVALID, "no registry URL given");
    if (strncmp(opts->url, "http://", 7) != 0 && strncmp(opts->url, "https://", 8) != 0) {
        error = chan_error_set(err, CHAN_EINVALID, "invalid registry URL \"%s\"", opts->url);
        chan_error_hint(err, "use an http:// or https:// URL, e.g. http://localhost:8081");
        return error;
    }
    if (has_control_chars(opts->url) || strchr(opts->url, ' ') != NULL)
        return chan_error_set(err, CHAN_EINVALID,
                              "invalid registry URL: it contains spaces or "
                              "control characters");
    if (opts->token && has_control_chars(opts->token))
        return chan_error_set(err, CHAN_EINVALID, "invalid token: it contains control characters");
    if (opts->cacert && access(opts->cacert, R_OK) != 0)
        return chan_error_set(err, CHAN_EINVALID, "cannot read the CA file %s (--cacert): %s",
                              opts->cacert, strerror(errno));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return chan_error_set(err, CHAN_EINTERNAL, "cannot initialise libcurl");

    reg = chan_xcalloc(1, sizeof(*reg));
    reg->url = chan_xstrdup(opts->url);
    len = strlen(reg->url);
    while (len > 0 && reg->url[len - 1] == '/')
        reg->url[--len] = '\0';
    if (opts->token && opts->token[0] != '\0')
        reg->auth_header = chan_xasprintf("Authorization: Bearer %s", opts->token);
    if (opts->cacert)
        reg->cacert = chan_xstrdup(opts->cacert);
    reg->connect_timeout_ms =
        opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    reg->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
    reg->curl = curl_easy_init();
    if (reg->curl == NULL) {
        error = chan_error_set(err, CHAN_EINTERNAL, "cannot create a libcurl handle");
        goto cleanup;
    }
    *out = reg;
    reg = NULL;

cleanup:
    cli_registry_free(reg);
    return error;
}

void cli_registry_free(cli_registry *reg)
{
    if (reg == NULL)
        return;
    if (reg->curl)
        curl_easy_cleanup(reg->curl);
    json_decref(reg->last_error);
    free(reg->auth_header);
    free(reg->url);
    free(reg->cacert);
    free(reg);
    curl_global_cleanup();
}

const char *cli_registry_url(const cli_registry *reg)
{
    return reg->url;
}

int cli_registry_options_resolve(cli_registry_options *opts, const char *url_arg,
                                 const char *token_arg, chan_error *err)
{
    const char *url = url_arg ? url_arg : getenv(CLI_REGISTRY_URL_ENV);
    const char *token = token_arg ? token_arg : getenv(CLI_REGISTRY_TOKEN_ENV);

    if (url == NULL || url[0] == '\0') {
        int error = chan_error_set(err, CHAN_EINVALID, "no registry given");

        chan_error_hint(err, "pass --registry URL or set %s", CLI_REGISTRY_URL_ENV);
        return error;
    }
    opts->url = url;
    opts->token = (token && token[0]) ? token : NULL;
    return 0;
}

int cli_registry_open(cli_registry **out, const char *url_arg, const char *token_arg,
                      const char *timeout_arg, const char *cacert_arg, chan_error *err)
{
    cli_registry_options opts = CLI_REGISTRY_OPTIONS_INIT;
    const char *cacert = cacert_arg ? cacert_arg : getenv(CLI_REGISTRY_CACERT_ENV);
    int64_t seconds;
    int error;

    *out = NULL;
    if ((error = cli_registry_options_resolve(&opts, url_arg, token_arg, err)) < 0)
        return error;
    opts.cacert = (cacert && cacert[0]) ? cacert : NULL;
    if (timeout_arg) {
        if (chan_parse_int64(&seconds, timeout_arg, 1, 3600) < 0)
            return chan_error_set(err, CHAN_EINVALID,
                                  "invalid --timeout \"%s\": expected whole seconds in 1..3600",
                                  timeout_arg);
        opts.timeout_ms = (long)seconds * 1000L;
    }
    return cli_registry_new(out, &opts, err);
}

int cli_registry_exit_code(int code)
{
    switch (code) {
    case CHAN_ENOTFOUND:
    case CHAN_EEXISTS:
    case CHAN_EINVALID:
    case CHAN_EINCOMPATIBLE:
    case CHAN_ECONFLICT:
        return CLI_EXIT_FAILED;
    default:
        return CLI_EXIT_RUNTIME;
    }
}

char *cli_registry_escape(const char *segment)
{
    static const char hex[] = "0123456789ABCDEF";
    chan_buf buf = CHAN_BUF_INIT;
    const unsigned char *p;

    for (p = (const unsigned char *)segment; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            chan_buf_putc(&buf, (char)*p);
        } else {
            chan_buf_putc(&buf, '%');
            chan_buf_putc(&buf, hex[*p >> 4]);
            chan_buf_putc(&buf, hex[*p & 0x0f]);
        }
    }
    return chan_buf_take(&buf);
}

/* curl_slist_append that aborts on OOM, like the chan_x* allocators. */
static struct curl_slist *add_header(struct curl_slist *list, const char *header)
{
    struct curl_slist *grown = curl_slist_append(list, header);

    if (grown == NULL) {
        fputs("chanctl: out of memory building request headers\n", stderr);
        abort();
    }
    return grown;
}

/* Quote the start of a reply for an error detail, control characters dropped. */
static void snippet(char *out, size_t size, const chan_buf *body)
{
    size_t i, n = 0;
    const char *s = chan_buf_cstr(body);

    for (i = 0; s[i] && n + 4 < size && i < REPLY_SNIPPET_MAX; i++)
        out[n++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    if (s[i] && n + 4 < size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* Replace control characters in text from the server, so it cannot drive the terminal. */
static void scrub(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    }
}

/* The chan_code of an HTTP error status (and the Confluent error_code). */
static int status_to_code(long status, long error_code)
{
    switch (status) {
    case 401:
    case 403:
        return CHAN_EDENIED;
    case 404:
        return CHAN_ENOTFOUND;
    case 409:
        return (error_code == 409 || error_code == 40901) ? CHAN_EINCOMPATIBLE : CHAN_ECONFLICT;
    case 413:
        return CHAN_ETOOBIG;
    case 400:
    case 422:
        return CHAN_EINVALID;
    case 502:
    case 503:
    case 504:
        return CHAN_EUNAVAILABLE;
    default:
        return CHAN_EINTERNAL;
    }
}

/*
 * Turn an error reply into err and keep its document as reg->last_error.
 * Returns the chan_code.
 */
static int decode_error_reply(cli_registry *reg, const char *method, const char *path, long status,
                              const chan_buf *body, chan_error *err)
{
    json_t *doc = json_loadb(chan_buf_cstr(body), body->len, 0, NULL);
    long error_code = 0;
    const char *message = NULL;
    int code;

    if (json_is_object(doc)) {
        json_t *ec = json_object_get(doc, "error_code");

        if (json_is_integer(ec))
            error_code = (long)json_integer_value(ec);
        message = json_string_value(json_object_get(doc, "message"));
    } else {
        json_decref(doc);
        doc = NULL;
    }
    code = status_to_code(status, error_code);
    if (message && message[0])
        chan_error_set(err, code, "%s", message);
    else
        chan_error_set(err, code, "registry answered HTTP %ld to %s %s", status, method, path);
    if (err)
        err->reason = (int)error_code;
    if (doc == NULL && body->len > 0) {
        char quote[REPLY_SNIPPET_MAX + 8];

        snippet(quote, sizeof(quote), body);
        chan_error_detail(err, "%s %s: HTTP %ld, reply: %s", method, path, status, quote);
    } else if (error_code != 0) {
        chan_error_detail(err, "%s %s: HTTP %ld, error_code %ld", method, path, status, error_code);
    } else {
        chan_error_detail(err, "%s %s: HTTP %ld", method, path, status);
    }
    if (err) {
        scrub(err->message);
        scrub(err->detail);
    }
    if (status == 401)
        chan_error_hint(err, "pass the registry's token with --token or %s",
                        CLI_REGISTRY_TOKEN_ENV);
    else if (status == 403)
        chan_error_hint(err, "the token is valid but lacks the permission for this request");

    if (doc == NULL) {
        doc = json_pack("{s:I,s:s}", "error_code", (json_int_t)status, "message",
                        err ? err->message : "");
    }
    json_decref(reg->last_error);
    reg->last_error = doc;
    return code;
}

/* Turn a transport failure into err. */
static int decode_curl_failure(cli_registry *reg, CURLcode rc, const reply_sink *sink,
                               chan_error *err)
{
    const char *why = reg->errbuf[0] ? reg->errbuf : curl_easy_strerror(rc);
    int error;

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "cannot reach registry at %s", reg->url);
        chan_error_detail(err, "%s", why);
        chan_error_hint(err,
                        "check that chanregd is running and that --registry (or %s) "
                        "points at it",
                        CLI_REGISTRY_URL_ENV);
        return error;
    case CURLE_PEER_FAILED_VERIFICATION: /* also CURLE_SSL_CACERT since curl 7.62 */
        error = chan_error_set(err, CHAN_EUNAVAILABLE,
                               "cannot verify the registry's certificate at %s", reg->url);
        chan_error_detail(err, "%s", why);
        chan_error_hint(err, "pass the CA that signed it with --cacert FILE (or %s)%s",
                        CLI_REGISTRY_CACERT_ENV,
                        reg->cacert ? "; the current CA file did not verify it" : "");
        return error;
    case CURLE_SSL_CONNECT_ERROR:
        error = chan_error_set(err, CHAN_EUNAVAILABLE, "TLS handshake with registry at %s failed",
                               reg->url);
        chan_error_detail(err, "%s", why);
        chan_error_hint(err, "check the scheme of --registry: https:// only when chanregd runs "
                             "with --tls-cert");
        return error;
    case CURLE_OPERATION_TIMEDOUT:
        error =
            chan_error_set(err, CHAN_EUNAVAILABLE, "registry at %s did not answer within %ld ms",
                           reg->url, reg->timeout_ms);
        chan_error_detail(err, "%s", why);
        chan_error_hint(err, "raise the limit with --timeout SECONDS");
        return error;
    case CURLE_WRITE_ERROR:
        if (sink->too_big) {
            return chan_error_set(err, CHAN_ETOOBIG,
                                  "registry at %s sent a reply larger than %u bytes", reg->url,
                                  CLI_REGISTRY_MAX_REPLY);
        }
        break;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        error = chan_error_set(err, CHAN_EUNAVAILABLE,
                               "connection to registry at %s failed mid-request", reg->url);
        chan_error_detail(err, "%s", why);
        if (rc == CURLE_GOT_NOTHING && strncmp(reg->url, "http://", 7) == 0)
            chan_error_hint(err, "if chanregd runs with --tls-cert, use an https:// URL");
        return error;
    default:
        break;
    }
    error = chan_error_set(err, CHAN_EIO, "request to registry at %s failed", reg->url);
    chan_error_detail(err, "%s", why);
    return error;
}

int cli_registry_request(json_t **out, long *out_status, cli_registry *reg, const char *method,
                         const char *path, const json_t *body, chan_error *err)
{
    reply_sink sink = {CHAN_BUF_INIT, false};
    struct curl_slist *headers = NULL;
    char *url = NULL, *payload = NULL;
    json_t *doc = NULL;
    long status = 0;
    CURLcode rc;
    int error = 0;

    if (out)
        *out = NULL;
    if (out_status)
        *out_status = 0;
    json_decref(reg->last_error);
    reg->last_error = NULL;
    reg->errbuf[0] = '\0';

    url = chan_xasprintf("%s%s", reg->url, path);
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        if (payload == NULL) {
            error = chan_error_set(err, CHAN_EINVALID, "cannot encode the request body as JSON");
            goto cleanup;
        }
    }

    curl_easy_reset(reg->curl);
    headers = add_header(headers, "Accept: application/vnd.schemaregistry.v1+json, "
                                  "application/json");
    if (payload)
        headers = add_header(headers, "Content-Type: application/json");
    headers = add_header(headers, "Expect:");
    if (reg->auth_header)
        headers = add_header(headers, reg->auth_header);

    curl_easy_setopt(reg->curl, CURLOPT_URL, url);
    curl_easy_setopt(reg->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(reg->curl, CURLOPT_ERRORBUFFER, reg->errbuf);
    curl_easy_setopt(reg->curl, CURLOPT_CONNECTTIMEOUT_MS, reg->connect_timeout_ms);
    curl_easy_setopt(reg->curl, CURLOPT_TIMEOUT_MS, reg->timeout_ms);
    curl_easy_setopt(reg->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(reg->curl, CURLOPT_USERAGENT, "chanctl/" CHAN_VERSION_STRING);
    curl_easy_setopt(reg->curl, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(reg->curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(reg->curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(reg->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (reg->cacert)
        curl_easy_setopt(reg->curl, CURLOPT_CAINFO, reg->cacert);
    if (payload) {
        curl_easy_setopt(reg->curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(reg->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
    }
    if (strcmp(method, "GET") != 0 && !(strcmp(method, "POST") == 0 && payload))
        curl_easy_setopt(reg->curl, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "POST") == 0 && payload == NULL) {
        curl_easy_setopt(reg->curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(reg->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }

    rc = curl_easy_perform(reg->curl);
    if (rc != CURLE_OK) {
        error = decode_curl_failure(reg, rc, &sink, err);
        goto cleanup;
    }
    curl_easy_getinfo(reg->curl, CURLINFO_RESPONSE_CODE, &status);
    if (out_status)
        *out_status = status;
    if (status < 200 || status > 299) {
        error = decode_error_reply(reg, method, path, status, &sink.body, err);
        goto cleanup;
    }
    if (sink.body.len > 0) {
        json_error_t jerr;

        doc = json_loadb(chan_buf_cstr(&sink.body), sink.body.len, JSON_DECODE_ANY, &jerr);
        if (doc == NULL) {
            char quote[REPLY_SNIPPET_MAX + 8];

            snippet(quote, sizeof(quote), &sink.body);
            error = chan_error_set(err, CHAN_EINTERNAL,
                                   "registry at %s sent a reply that is not JSON", reg->url);
            chan_error_detail(err, "%s %s: %s at byte %d; reply: %s", method, path, jerr.text,
                              jerr.position, quote);
            goto cleanup;
        }
    }
    if (out) {
        *out = doc;
        doc = NULL;
    }

cleanup:
    json_decref(doc);
    curl_slist_free_all(headers);
    chan_buf_dispose(&sink.body);
    free(payload);
    free(url);
    return error;
}

const json_t *cli_registry_last_error(const cli_registry *reg)
{
    return reg->last_error;
}

size_t cli_registry_last_error_diags(const cli_registry *reg, chan_diag_list *diags,
                                     const char *file)
{
    json_t *errors = json_object_get(reg->last_error, "errors");
    size_t i, added = 0;
    json_t *e;

    if (!json_is_array(errors))
        return 0;
    json_array_foreach(errors, i, e)
    {
        const char *message = json_string_value(json_object_get(e, "message"));
        json_t *line = json_object_get(e, "line");
        json_t *column = json_object_get(e, "column");

        if (!json_is_object(e))
            continue;
        chan_diag_add(diags, CHAN_DIAG_ERROR, file,
                      json_is_integer(line) ? (int)json_integer_value(line) : 0,
                      json_is_integer(column) ? (int)json_integer_value(column) : 0,
                      json_string_value(json_object_get(e, "rule")),
                      json_string_value(json_object_get(e, "path")), "%s",
                      message ? message : "rejected by the registry");
        added++;
    }
    return added;
}

char *cli_registry_value_text(const json_t *value)
{
    char *text;

    if (value == NULL || json_is_null(value))
        return chan_xstrdup("-");
    if (json_is_string(value))
        text = chan_xstrdup(json_string_value(value));
    else if (json_is_integer(value))
        text = chan_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(value));
    else if ((text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
        text = chan_xstrdup("?");
    scrub(text);
    return text;
}

int cli_registry_print_json(const json_t *doc, chan_error *err)
{
    if (json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY) != 0 ||
        fputc('\n', stdout) == EOF)
        return chan_error_set(err, CHAN_EIO, "cannot write to standard output");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Confluent Schema Registry API                                        */
/* ------------------------------------------------------------------ */

/* Read an integer member that must be present. */
static int get_int_member(int *out, const json_t *doc, const char *key, const char *what,
                          chan_error *err)
{
    json_t *v = json_object_get(doc, key);

    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 0x7fffffff)
        return chan_error_set(err, CHAN_EINTERNAL, "registry reply to %s has no valid \"%s\"", what,
                              key);
    *out = (int)json_integer_value(v);
    return 0;
}

int cli_registry_subject_versions(json_t **out, int *out_latest, cli_registry *reg,
                                  const char *subject, chan_error *err)
{
    char *esc = cli_registry_escape(subject);
    char *path = chan_xasprintf("/subjects/%s/versions", esc);
    json_t *reply = NULL, *v;
    size_t i;
    int error, latest = 0;

    if (out)
        *out = NULL;
    if (out_latest)
        *out_latest = 0;
    error = cli_registry_request(&reply, NULL, reg, "GET", path, NULL, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        reply = json_array();
        error = 0;
    }
    if (error < 0)
        goto cleanup;
    if (!json_is_array(reply)) {
        error = chan_error_set(err, CHAN_EINTERNAL,
                               "registry reply to GET %s is not an array of versions", path);
        goto cleanup;
    }
    json_array_foreach(reply, i, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > 0x7fffffff) {
            error = chan_error_set(err, CHAN_EINTERNAL,
                                   "registry reply to GET %s holds an invalid version", path);
            goto cleanup;
        }
        if (json_integer_value(v) > latest)
            latest = (int)json_integer_value(v);
    }
    if (out_latest)
        *out_latest = latest;
    if (out) {
        *out = reply;
        reply = NULL;
    }

cleanup:
    json_decref(reply);
    free(path);
    free(esc);
    return error;
}

/*
** POST {"schema": schema} to /subjects/<subject><suffix> and return the
** reply (caller decrefs).  The one request behind lookup and registration.
*/
static int post_schema(json_t **out, cli_registry *reg, const char *subject, const char *suffix,
                       const char *schema, chan_error *err)
{
    char *esc = cli_registry_escape(subject);
    char *path = chan_xasprintf("/subjects/%s%s", esc, suffix);
    json_t *body = json_pack("{s:s}", "schema", schema);
    int error;

    *out = NULL;
    if (body == NULL)
        error = chan_error_set(err, CHAN_EINVALID, "schema text is not valid UTF-8");
    else
        error = cli_registry_request(out, NULL, reg, "POST", path, body, err);
    json_decref(body);
    free(path);
    free(esc);
    return error;
}

int cli_registry_lookup_schema(cli_schema_ref *out, cli_registry *reg, const char *subject,
                               const char *schema, chan_error *err)
{
    json_t *reply = NULL;
    int error;

    out->id = out->version = 0;
    if ((error = post_schema(&reply, reg, subject, "", schema, err)) < 0)
        goto cleanup;
    if ((error = get_int_member(&out->id, reply, "id", "a schema lookup", err)) < 0 ||
        (error = get_int_member(&out->version, reply, "version", "a schema lookup", err)) < 0)
        goto cleanup;

cleanup:
    json_decref(reply);
    return error;
}

int cli_registry_register_schema(cli_schema_ref *out, cli_registry *reg, const char *subject,
                                 const char *schema, chan_error *err)
{
    json_t *reply = NULL;
    int error;

    out->id = out->version = 0;
    if ((error = post_schema(&reply, reg, subject, "/versions", schema, err)) < 0)
        goto cleanup;
    if ((error = get_int_member(&out->id, reply, "id", "a schema registration", err)) < 0)
        goto cleanup;
    if (json_is_integer(json_object_get(reply, "version"))) {
        error = get_int_member(&out->version, reply, "version", "a schema registration", err);
    } else {
        /* Confluent replies {"id": N} only: ask which version the schema got. */
        cli_schema_ref ref;

        if ((error = cli_registry_lookup_schema(&ref, reg, subject, schema, err)) < 0)
            goto cleanup;
        out->version = ref.version;
    }

cleanup:
    json_decref(reply);
    return error;
}

int cli_registry_get_compatibility(char **out, cli_registry *reg, const char *subject,
                                   chan_error *err)
{
    char *esc = cli_registry_escape(subject);
    char *path = chan_xasprintf("/config/%s", esc);
    json_t *reply = NULL;
    const char *mode;
    int error;

    *out = NULL;
    error = cli_registry_request(&reply, NULL, reg, "GET", path, NULL, err);
    if (error == CHAN_ENOTFOUND) {
        /* No subject-level mode (Confluent 40408) or no subject at all (40401). */
        chan_error_clear(err);
        error = 0;
        goto cleanup;
    }
    if (error < 0)
        goto cleanup;
    mode = json_string_value(json_object_get(reply, "compatibilityLevel"));
    if (mode == NULL)
        mode = json_string_value(json_object_get(reply, "compatibility"));
    if (mode == NULL) {
        error = chan_error_set(err, CHAN_EINTERNAL,
                               "registry reply to GET %s has no \"compatibilityLevel\"", path);
        goto cleanup;
    }
    *out = chan_xstrdup(mode);

cleanup:
    json_decref(reply);
    free(path);
    free(esc);
    return error;
}

int cli_registry_set_compatibility(cli_registry *reg, const char *subject, const char *mode,
                                   bool dry_run, chan_error *err)
{
    char *esc = cli_registry_escape(subject);
    char *path = chan_xasprintf("/config/%s%s", esc, dry_run ? "?dry_run=true" : "");
    json_t *body = json_pack("{s:s}", "compatibility", mode);
    int error;

    if (body == NULL) {
        error = chan_error_set(err, CHAN_EINVALID, "invalid compatibility mode");
        goto cleanup;
    }
    error = cli_registry_request(NULL, NULL, reg, "PUT", path, body, err);

cleanup:
    json_decref(body);
    free(path);
    free(esc);
    return error;
}

int cli_registry_check_compatibility(bool *out_compatible, json_t **out_messages, cli_registry *reg,
                                     const char *subject, const char *schema, chan_error *err)
{
    char *esc = cli_registry_escape(subject);
    char *path = chan_xasprintf("/compatibility/subjects/%s/versions?verbose=true", esc);
    json_t *body = json_pack("{s:s}", "schema", schema);
    json_t *reply = NULL, *verdict, *messages;
    int error;

    *out_compatible = false;
    if (out_messages)
        *out_messages = NULL;
    if (body == NULL) {
        error = chan_error_set(err, CHAN_EINVALID, "schema text is not valid UTF-8");
        goto cleanup;
    }
    error = cli_registry_request(&reply, NULL, reg, "POST", path, body, err);
    if (error == CHAN_ENOTFOUND) {
        /* Nothing registered under the subject yet: any schema can be the first. */
        chan_error_clear(err);
        *out_compatible = true;
        if (out_messages)
            *out_messages = json_array();
        error = 0;
        goto cleanup;
    }
    if (error < 0)
        goto cleanup;
    verdict = json_object_get(reply, "is_compatible");
    if (!json_is_boolean(verdict)) {
        error = chan_error_set(err, CHAN_EINTERNAL,
                               "registry reply to a compatibility check has no \"is_compatible\"");
        goto cleanup;
    }
    *out_compatible = json_is_true(verdict);
    if (out_messages) {
        messages = json_object_get(reply, "messages");
        *out_messages = json_is_array(messages) ? json_incref(messages) : json_array();
    }

cleanup:
    json_decref(reply);
    json_decref(body);
    free(path);
    free(esc);
    return error;
}

/* The value of `key:'...'` in a Confluent message, up to the quote that ends it. */
static char *message_field(const char *text, const char *key)
{
    static const char *const ends[] = {"', ", "'}"};
    const char *start = strstr(text, key), *end = NULL;
    size_t i;

    if (start == NULL)
        return NULL;
    start += strlen(key);
    for (i = 0; i < CHAN_ARRAY_SIZE(ends); i++) {
        const char *e = strstr(start, ends[i]);

        if (e && (end == NULL || e < end))
            end = e;
    }
    return end ? chan_xstrndup(start, (size_t)(end - start)) : NULL;
}

/* Does the Confluent message text start with key (e.g. "{oldSchema:")? */
static bool message_is(const char *text, const char *key)
{
    return strncmp(text, key, strlen(key)) == 0;
}

char *cli_registry_compat_message(const json_t *messages, size_t index)
{
    const json_t *message = json_array_get(messages, index);
    const char *text = json_string_value(message), *version = NULL;
    char *type = NULL, *description = NULL, *line;
    size_t k;

    if (text == NULL)
        return message ? cli_registry_value_text(message) : NULL;
    if (message_is(text, "{compatibility:") || message_is(text, "{validateFields:") ||
        message_is(text, "{oldSchemaVersion:") || message_is(text, "{oldSchema:"))
        return NULL;
    type = message_field(text, "errorType:'");
    description = message_field(text, "description:'");
    /* The version: inline (older registries) or the "{oldSchemaVersion: N}" after the group. */
    version = strstr(text, "oldSchemaVersion:");
    for (k = index + 1; version == NULL && k < json_array_size(messages); k++) {
        const char *next = json_string_value(json_array_get(messages, k));

        if (next && message_is(next, "{oldSchemaVersion:"))
            version = next + 1; /* past the brace */
    }
    if (type && description) {
        int64_t n = 0;
        char digits[16] = "";
        size_t i = 0;

        if (version) {
            version += strlen("oldSchemaVersion:");
            while (*version == ' ')
                version++;
            while (i + 1 < sizeof(digits) && version[i] >= '0' && version[i] <= '9') {
                digits[i] = version[i];
                i++;
            }
            digits[i] = '\0';
        }
        if (digits[0] && chan_parse_int64(&n, digits, 1, 0x7fffffff) == 0)
            line = chan_xasprintf("%s: %s (against version %lld)", type, description, (long long)n);
        else
            line = chan_xasprintf("%s: %s", type, description);
    } else {
        line = chan_xstrdup(text);
    }
    scrub(line);
    free(type);
    free(description);
    return line;
}

int cli_registry_check_versions(size_t *out_new, cli_registry *reg, const char *subject,
                                const cli_schema_version *versions, size_t n_versions,
                                chan_diag_list *diags, chan_error *err)
{
    json_t *messages = NULL;
    size_t i, j, n_new = 0;
    int error, latest;

    if (out_new)
        *out_new = 0;
    if ((error = cli_registry_subject_versions(NULL, &latest, reg, subject, err)) < 0)
        return error;
    for (i = 0; i < n_versions; i++) {
        const cli_schema_version *v = &versions[i];
        cli_schema_ref ref;
        bool compatible;
        json_t *m;

        error = cli_registry_lookup_schema(&ref, reg, subject, v->schema, err);
        if (error == 0) {
            if (ref.version != v->version) {
                chan_diag *d = chan_diag_add(
                    diags, CHAN_DIAG_ERROR, v->file, v->line, v->column,
                    "registry-version-mismatch", NULL,
                    "version %d of subject \"%s\" is registered as version %d in the registry",
                    v->version, subject, ref.version);

                chan_diag_set_hint(d, "the registry's numbering diverged from the contract; "
                                      "renumber the contract's versions to match the registry");
            }
            continue;
        }
        if (error != CHAN_ENOTFOUND)
            goto cleanup;
        chan_error_clear(err);
        n_new++;
        if (v->version != latest + 1) {
            chan_diag *d = chan_diag_add(
                diags, CHAN_DIAG_ERROR, v->file, v->line, v->column, "registry-version-mismatch",
                NULL,
                "version %d of subject \"%s\" is not registered and would become version %d in "
                "the registry",
                v->version, subject, latest + 1);

            chan_diag_set_hint(d, "the registry's numbering diverged from the contract; "
                                  "renumber the contract's versions to match the registry");
        }
        latest = v->version > latest ? v->version : latest + 1;
        json_decref(messages);
        messages = NULL;
        error =
            cli_registry_check_compatibility(&compatible, &messages, reg, subject, v->schema, err);
        if (error < 0)
            goto cleanup;
        if (compatible)
            continue;
        bool explained = false;

        for (j = 0; j < json_array_size(messages) && !explained; j++) {
            char *text = cli_registry_compat_message(messages, j);

            explained = text != NULL;
            free(text);
        }
        if (!explained) { /* none, or only the mode */
            chan_diag_add(diags, CHAN_DIAG_ERROR, v->file, v->line, v->column,
                          "registry-incompatible", NULL,
                          "version %d of subject \"%s\" is incompatible with the registered "
                          "versions",
                          v->version, subject);
        }
        json_array_foreach(messages, j, m)
        {
            char *text = cli_registry_compat_message(messages, j);

            if (text)
                chan_diag_add(diags, CHAN_DIAG_ERROR, v->file, v->line, v->column,
                              "registry-incompatible", NULL,
                              "version %d of subject \"%s\" is incompatible with the registry: %s",
                              v->version, subject, text);
            free(text);
        }
    }
    if (out_new)
        *out_new = n_new;

cleanup:
    json_decref(messages);
    return error;
}

int cli_registry_check_contract(size_t *out_new, cli_registry *reg, const chan_contract *contract,
                                chan_diag_list *diags, chan_error *err)
{
    size_t i, n = chan_contract_version_count(contract);
    cli_schema_version *versions = chan_xcalloc(n ? n : 1, sizeof(*versions));
    int error = 0;

    if (out_new)
        *out_new = 0;
    /* The contract lists versions newest first; the registry wants them oldest first. */
    for (i = 0; i < n; i++) {
        const chan_contract_version *v = chan_contract_version_at(contract, n - 1 - i);

        if (v->schema == NULL) {
            error = chan_error_set(err, CHAN_EINVALID, "version %lld of channel %s has no schema",
                                   (long long)v->number, chan_contract_name(contract));
            chan_error_hint(err, "load the contract with chan_contract_load first");
            goto cleanup;
        }
        versions[i].version = (int)v->number;
        versions[i].schema = chan_avro_schema_normalized(v->schema);
        versions[i].file = chan_contract_file(contract);
        versions[i].line = v->line;
        versions[i].column = v->column;
    }
    error = cli_registry_check_versions(out_new, reg, chan_contract_subject(contract), versions, n,
                                        diags, err);

cleanup:
    free(versions);
    return error;
}

/* ------------------------------------------------------------------ */
/* Channels API                                                         */
/* ------------------------------------------------------------------ */

int cli_registry_put_channel(json_t **out, bool *out_created, cli_registry *reg, const char *name,
                             const json_t *contract, const cli_channel_put_options *opts,
                             chan_error *err)
{
    static const cli_channel_put_options defaults = CLI_CHANNEL_PUT_OPTIONS_INIT;
    char *esc = cli_registry_escape(name);
    chan_buf query = CHAN_BUF_INIT;
    json_t *reply = NULL;
    long status = 0;
    char *path;
    size_t i;
    int error;

    if (opts == NULL)
        opts = &defaults;
    if (opts->expected_revision >= 0)
        chan_buf_printf(&query, "&expected_revision=%ld", opts->expected_revision);
    if (opts->dry_run) {
        chan_buf_puts(&query, "&dry_run=true");
        for (i = 0; i < opts->n_pending_versions; i++)
            chan_buf_printf(&query, "%s%d",
                            i ? "," : "&pending_versions=", opts->pending_versions[i]);
    }
    path = chan_xasprintf("/v1/channels/%s%s%s", esc, query.len ? "?" : "",
                          query.len ? chan_buf_cstr(&query) + 1 : "");
    *out = NULL;
    *out_created = false;
    if ((error = cli_registry_request(&reply, &status, reg, "PUT", path, contract, err)) < 0)
        goto cleanup;
    if (!json_is_object(reply)) {
        error = chan_error_set(err, CHAN_EINTERNAL, "registry reply to PUT %s is not a JSON object",
                               path);
        goto cleanup;
    }
    *out_created = status == 201;
    *out = reply;
    reply = NULL;

cleanup:
    json_decref(reply);
    chan_buf_dispose(&query);
    free(path);
    free(esc);
    return error;
}

int cli_registry_get_channel(json_t **out, cli_registry *reg, const char *name, chan_error *err)
{
    char *esc = cli_registry_escape(name);
    char *path = chan_xasprintf("/v1/channels/%s", esc);
    json_t *reply = NULL;
    int error;

    *out = NULL;
    if ((error = cli_registry_request(&reply, NULL, reg, "GET", path, NULL, err)) < 0)
        goto cleanup;
    if (!json_is_object(reply)) {
        error = chan_error_set(err, CHAN_EINTERNAL, "registry reply to GET %s is not a JSON object",
                               path);
        goto cleanup;
    }
    *out = reply;
    reply = NULL;

cleanup:
    json_decref(reply);
    free(path);
    free(esc);
    return error;
}

/* ------------------------------------------------------------------ */
/* API tokens (admin)                                                   */
/* ------------------------------------------------------------------ */

int cli_registry_token_create(json_t **out, cli_registry *reg, const char *identity,
                              const char *const *roles, size_t n_roles, long expires_in_days,
                              const char *description, chan_error *err)
{
    json_t *body = json_pack("{s:s, s:[]}", "identity", identity, "roles"), *reply = NULL;
    json_t *list = json_object_get(body, "roles");
    size_t i;
    int error;

    *out = NULL;
    for (i = 0; i < n_roles; i++)
        json_array_append_new(list, json_string(roles[i]));
    if (expires_in_days >= 0)
        json_object_set_new(body, "expires_in_days", json_integer(expires_in_days));
    if (description != NULL)
        json_object_set_new(body, "description", json_string(description));
    if ((error = cli_registry_request(&reply, NULL, reg, "POST", "/v1/tokens", body, err)) < 0)
        goto cleanup;
    if (!json_is_string(json_object_get(reply, "token")) ||
        !json_is_string(json_object_get(reply, "id"))) {
        error = chan_error_set(err, CHAN_EINTERNAL,
                               "registry reply to POST /v1/tokens has no token and id");
        goto cleanup;
    }
    *out = reply;
    reply = NULL;

cleanup:
    json_decref(reply);
    json_decref(body);
    return error;
}

int cli_registry_token_list(json_t **out, cli_registry *reg, chan_error *err)
{
    json_t *reply = NULL;
    int error;

    *out = NULL;
    if ((error = cli_registry_list_all(&reply, reg, "/v1/tokens", "tokens", 0, err)) < 0)
        return error;
    *out = reply;
    return 0;
}

int cli_registry_token_revoke(cli_registry *reg, const char *id, chan_error *err)
{
    char *esc = cli_registry_escape(id);
    char *path = chan_xasprintf("/v1/tokens/%s", esc);
    int error;

    error = cli_registry_request(NULL, NULL, reg, "DELETE", path, NULL, err);
    free(path);
    free(esc);
    return error;
}

/* ------------------------------------------------------------------ */
/* Consumers                                                            */
/* ------------------------------------------------------------------ */

/* "/v1/channels/{channel}/consumers/{name}" followed by suffix (caller frees). */
static char *consumer_path(const char *channel, const char *name, const char *suffix)
{
    char *ch = cli_registry_escape(channel);
    char *nm = cli_registry_escape(name);
    char *path = chan_xasprintf("/v1/channels/%s/consumers/%s%s", ch, nm, suffix);

    free(ch);
    free(nm);
    return path;
}

/* Hand a reply that must be a JSON object to *out; CHAN_EINTERNAL otherwise. */
static int take_object(json_t **out, json_t *reply, const char *method, const char *path,
                       chan_error *err)
{
    if (!json_is_object(reply)) {
        json_decref(reply);
        return chan_error_set(err, CHAN_EINTERNAL, "registry reply to %s %s is not a JSON object",
                              method, path);
    }
    *out = reply;
    return 0;
}

int cli_registry_consumer_put(json_t **out, long *out_status, cli_registry *reg,
                              const char *channel, const char *name, const json_t *body,
                              chan_error *err)
{
    char *path = consumer_path(channel, name, "");
    json_t *reply = NULL;
    int error;

    *out = NULL;
    if ((error = cli_registry_request(&reply, out_status, reg, "PUT", path, body, err)) == 0)
        error = take_object(out, reply, "PUT", path, err);
    free(path);
    return error;
}

int cli_registry_consumer_post(json_t **out, cli_registry *reg, const char *channel,
                               const char *name, const char *action, const json_t *body,
                               chan_error *err)
{
    char *suffix = chan_xasprintf("/%s", action);
    char *path = consumer_path(channel, name, suffix);
    json_t *reply = NULL;
    int error;

    *out = NULL;
    if ((error = cli_registry_request(&reply, NULL, reg, "POST", path, body, err)) == 0)
        error = take_object(out, reply, "POST", path, err);
    free(path);
    free(suffix);
    return error;
}

int cli_registry_consumer_remove(json_t **out, cli_registry *reg, const char *channel,
                                 const char *name, chan_error *err)
{
    char *path = consumer_path(channel, name, "");
    int error;

    *out = NULL;
    error = cli_registry_request(out, NULL, reg, "DELETE", path, NULL, err);
    free(path);
    return error;
}

int cli_registry_list_all(json_t **out, cli_registry *reg, const char *path, const char *key,
                          unsigned int page_size, chan_error *err)
{
    const char sep = strchr(path, '?') != NULL ? '&' : '?';
    chan_buf next = CHAN_BUF_INIT;
    json_t *all = NULL, *page = NULL;
    char *cursor = NULL;
    int error = 0;

    *out = NULL;
    for (;;) {
        const json_t *c;
        json_t *items;

        chan_buf_clear(&next);
        chan_buf_puts(&next, path);
        if (page_size > 0)
            chan_buf_printf(&next, "%climit=%u", sep, page_size);
        if (cursor != NULL) {
            char *esc = cli_registry_escape(cursor);

            chan_buf_printf(&next, "%ccursor=%s", page_size > 0 ? '&' : sep, esc);
            free(esc);
        }
        if ((error = cli_registry_request(&page, NULL, reg, "GET", chan_buf_cstr(&next), NULL,
                                          err)) < 0)
            goto cleanup;
        items = json_object_get(page, key);
        if (!json_is_array(items)) {
            error = chan_error_set(err, CHAN_EINTERNAL,
                                   "registry reply to GET %s has no \"%s\" array", path, key);
            goto cleanup;
        }
        if (all == NULL)
            all = json_incref(page);
        else
            json_array_extend(json_object_get(all, key), items);
        c = json_object_get(page, "next_cursor");
        if (!json_is_string(c))
            break;
        if (json_array_size(items) == 0 ||
            (cursor != NULL && strcmp(cursor, json_string_value(c)) == 0)) {
            error = chan_error_set(err, CHAN_EINTERNAL, "registry's pages of GET %s do not advance",
                                   path);
            goto cleanup;
        }
        free(cursor);
        cursor = chan_xstrdup(json_string_value(c));
        json_decref(page);
        page = NULL;
    }
    json_object_del(all, "next_cursor");
    json_object_del(all, "total");
    *out = all;
    all = NULL;
cleanup:
    json_decref(all);
    json_decref(page);
    free(cursor);
    chan_buf_dispose(&next);
    return error;
}

int cli_registry_consumer_list(json_t **out, cli_registry *reg, const char *channel,
                               const char *state, const char *team, chan_error *err)
{
    chan_buf path = CHAN_BUF_INIT;
    json_t *reply = NULL;
    int error;

    *out = NULL;
    if (channel != NULL) {
        char *esc = cli_registry_escape(channel);

        chan_buf_printf(&path, "/v1/channels/%s/consumers", esc);
        free(esc);
    } else {
        const char *const keys[] = {"state", "team"};
        const char *const values[] = {state, team};
        const char *sep = "?";
        size_t i;

        chan_buf_printf(&path, "/v1/consumers");
        for (i = 0; i < CHAN_ARRAY_SIZE(keys); i++) {
            char *esc;

            if (values[i] == NULL)
                continue;
            esc = cli_registry_escape(values[i]);
            chan_buf_printf(&path, "%s%s=%s", sep, keys[i], esc);
            free(esc);
            sep = "&";
        }
    }
    error = cli_registry_list_all(&reply, reg, chan_buf_cstr(&path), "consumers", 0, err);
    *out = reply;
    chan_buf_dispose(&path);
    return error;
}
