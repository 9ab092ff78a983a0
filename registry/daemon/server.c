/*
 * server.c - the HTTP server of chanregd on libmicrohttpd (see server.h).
 *
 * One MHD daemon with a pool of worker threads, each running its own poll()
 * loop over a shared listening socket that this file binds itself (so that
 * port 0 and bind errors are reported precisely).  poll() has no
 * FD_SETSIZE limit, and it is chosen over epoll for two faults of
 * libmicrohttpd's epoll loop (0.9.75, and still in the 1.0 sources): MHD_quiesce_daemon
 * races with the workers removing the listening socket from their epoll
 * sets and aborts the process ("Failed to remove listen FD from epoll
 * set"); and a worker that gets exactly 128 (MAX_EVENTS) ready events, or a
 * multiple, calls epoll_wait again with the full idle timeout before it
 * handles them: with edge-triggered connections nothing wakes it, so a
 * worker whose share of the connection limit is 256 and whose clients all
 * wait for replies freezes at 0 % CPU until the connection timeout (the
 * default limit of 1,024 over 4 threads).
 *
 * Hostile clients: a connection is tracked from MHD's "started" to its
 * "closed" notification (conn_track), and a reaper thread shuts down those
 * past the deadline of their phase (reap_pass): the request head, the
 * body, the keep-alive wait; near the connection limit every deadline
 * shrinks to --overload-timeout.  The listening socket uses
 * TCP_DEFER_ACCEPT, so that a new connection is accepted with its first
 * bytes, and refuse_garbage answers 400 to bytes that cannot start a
 * request.  --health-listen runs a second small MHD daemon that serves
 * only /healthz and /readyz.  A request goes through
 * access_handler several times: once after the headers (route lookup, auth,
 * Content-Length check), once per body chunk (appended to a capped buffer),
 * and once at the end, when the target is resolved, chan_authz_check
 * decides and the handler runs.  request_completed writes the access log
 * line and frees the request.
 *
 * MHD is told not to percent-decode anything (unescape_none): path segments
 * and query parameters are decoded here, one by one, so that "%2F" inside a
 * subject name does not become a path separator.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "config.h"
#include "reply_cache.h"
#include "server.h"
#include "tokens.h"

/* Where a connection is in its request cycle (conn_track.phase). */
typedef enum conn_phase {
    PHASE_HEAD, /* opened, or request line read: the head is due */
    PHASE_BODY, /* head read: the body is due */
    PHASE_BUSY, /* request complete: the handler and the reply, no deadline of ours */
    PHASE_IDLE, /* keep-alive between two requests */
} conn_phase;

/*
** One open connection, for the deadlines (see reap_pass).  Linked into
** chand_server.conns under conns_lock from MHD's "started" notification
** to its "closed" one, which MHD sends before it closes the socket: a
** shutdown() under conns_lock never hits a reused descriptor.  phase and
** since are written by the connection's worker thread (since first) and
** read by the reaper (phase first), so the reaper never sees a phase with
** an older start than its own.
*/
typedef struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    bool probe;  /* accepted by the --health-listen daemon */
    bool reaped; /* shut down by the reaper (under conns_lock) */
    atomic_int phase;
    atomic_llong since_ms; /* start of the phase, CLOCK_MONOTONIC milliseconds */
} conn_track;

/* Connections of the --health-listen daemon: probes are few and short. */
#define HEALTH_CONNECTION_LIMIT 32u

/* Descriptors kept free for the store, logs, pipes and the HTTP threads. */
#define FD_RESERVE 64u

/* The most segments of a route pattern (a longer path matches none). */
#define ROUTE_MAX_SEGMENTS 16

/* A route with its pattern split into segments. */
typedef struct compiled_route {
    const chand_route *route;
    const char *content_type;
    char **segments; /* literal, or "{name}" */
    char **names;    /* per segment: the parameter's name, or NULL for a literal */
    size_t *lens;    /* per segment: strlen of segments[i] */
    size_t n_segments;
} compiled_route;

/* One segment of a request path: not NUL-terminated, not decoded. */
typedef struct path_seg {
    const char *p;
    size_t len;
} path_seg;

struct chand_server {
    struct MHD_Daemon *mhd;
    const chand_config *config;
    chan_store *store;
    chand_request_observer observer;
    void *observer_ctx;
    compiled_route *routes;
    size_t n_routes;
    chan_identity anonymous;    /* auth on, no token sent: no roles */
    chan_identity open;         /* open mode: every request, role admin */
    chand_reply_cache *replies; /* --reply-cache-mb, NULL when 0 */
    int listen_fd;              /* ours before MHD starts and after chand_server_quiesce */
    unsigned int port;
    struct MHD_Daemon *health_mhd; /* --health-listen: /healthz and /readyz only, or NULL */
    int health_fd;                 /* ours until health_mhd starts */
    unsigned int health_port;
    unsigned int connection_limit; /* --connection-limit fitted to RLIMIT_NOFILE */
    pthread_mutex_t conns_lock;    /* conns, n_conns, reaper_stop */
    pthread_cond_t reaper_wake;
    conn_track *conns;
    unsigned int n_conns; /* of the main daemon (the probe daemon's are not counted) */
    bool reaper_started;
    bool reaper_stop;
    pthread_t reaper;
    atomic_bool shutting_down;
    atomic_uint active;
    atomic_ulong next_id;
    unsigned long id_prefix;
};

typedef struct kv {
    char *key;
    char *value;
} kv;

/* A path parameter: its name belongs to the compiled route. */
typedef struct path_param {
    const char *key;
    char *value;
} path_param;

struct chand_request {
    chand_server *server;
    struct MHD_Connection *conn;
    char *method;
    char *path;
    char request_id[72];
    const chan_identity *identity; /* never NULL; the server's, the config's or own */
    chan_identity own_identity;    /* a store token's identity (identity points here) */
    chan_authz_target target;      /* strings borrowed from kept */
    chan_authz_decision decision;
    char **kept; /* chand_request_keep */
    size_t n_kept;
    const compiled_route *route;
    conn_track *track;        /* the connection's, or NULL */
    bool probe_only;          /* came in on the --health-listen daemon */
    const char *content_type; /* default of the matched table */
    const char *reply_type;   /* Confluent routes: the type Accept chose (negotiate) */
    char allow[64];           /* methods of the path, for a 405 reply */
    path_param params[CHAND_ROUTE_MAX_PARAMS];
    size_t n_params;
    kv *query; /* decoded, filled by admit */
    size_t n_query;
    chan_buf body;
    bool too_big;
    bool replied;
    bool unqueued;     /* a reply was made but libmicrohttpd did not take it (connection gone) */
    kv *extra_headers; /* added by chand_reply_header, sent with the reply */
    size_t n_extra_headers;
    unsigned int status;
    struct timespec start;
    bool capture;      /* a cacheable route on a miss: keep a copy of a 200 reply */
    chan_buf captured; /* the body of that reply */
    char *cap_type;    /* its content type, NULL: none */
};

#define MODULE "http"

/* ------------------------------------------------------------------ */
/* Error codes                                                         */
/* ------------------------------------------------------------------ */

unsigned int chand_http_status_of(int api_code)
{
    if (api_code >= 10000 && api_code < 60000)
        return (unsigned int)(api_code / 100);
    if (api_code >= 100 && api_code < 600)
        return (unsigned int)api_code;
    return 500;
}

int chand_http_error_code(const chan_error *err)
{
    if (err == NULL)
        return 50000;
    if (err->reason >= 100)
        return err->reason;
    switch (err->reason) {
    case CHAN_STORE_R_SUBJECT_NOT_FOUND:
        return 40401;
    case CHAN_STORE_R_VERSION_NOT_FOUND:
        return 40402;
    case CHAN_STORE_R_SCHEMA_NOT_FOUND:
        return 40403;
    case CHAN_STORE_R_SUBJECT_SOFT_DELETED:
        return 40404;
    case CHAN_STORE_R_SUBJECT_NOT_SOFT_DELETED:
        return 40405;
    case CHAN_STORE_R_VERSION_SOFT_DELETED:
        return 40406;
    case CHAN_STORE_R_VERSION_NOT_SOFT_DELETED:
        return 40407;
    case CHAN_STORE_R_CHANNEL_NOT_FOUND:
        return 40410;
    case CHAN_STORE_R_CONSUMER_NOT_FOUND:
        return 40411;
    case CHAN_STORE_R_REVISION_MISMATCH:
        return 40910;
    case CHAN_STORE_R_READ_ONLY:
    case CHAN_STORE_R_NOT_IMPORT_MODE:
    case CHAN_STORE_R_NOT_READWRITE_MODE:
    case CHAN_STORE_R_IMPORT_NOT_EMPTY:
    case CHAN_STORE_R_ID_IN_USE:
    case CHAN_STORE_R_VERSION_EXISTS:
        return 42205;
    case CHAN_STORE_R_REFERENCE_EXISTS:
        return 42206;
    case CHAN_STORE_R_TIMEOUT:
        return 50002; /* Confluent's "operation timed out" */
    case CHAN_STORE_R_VERSION_NOT_NEXT:
        return 42201;
    default:
        break;
    }
    switch (err->code) {
    case CHAN_ENOTFOUND:
        return 40400;
    case CHAN_EEXISTS:
        return 40900;
    case CHAN_EINVALID:
        return 42200;
    case CHAN_EINCOMPATIBLE:
        return 409;
    case CHAN_ECONFLICT:
        return 40900;
    case CHAN_EDENIED:
        return 40300;
    case CHAN_ETOOBIG:
        return 41300;
    case CHAN_EUNAVAILABLE:
        return 50001;
    default:
        return 50000;
    }
}

int chand_http_error(chan_error *err, int code, int api_code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    chan_error_vset(err, code, fmt, ap);
    va_end(ap);
    if (err)
        err->reason = api_code;
    return code;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
** Percent-decode s[0..len) into a new string (caller frees); '+' becomes a
** space when plus_is_space.  Returns NULL when the result would contain NUL.
** A '%' not followed by two hex digits is kept as is.
*/
static char *percent_decode(const char *s, size_t len, bool plus_is_space)
{
    char *out = chan_xmalloc(len + 1);
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        int hi, lo;

        if (s[i] == '%' && i + 2 < len && (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            out[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus_is_space && s[i] == '+') {
            out[n++] = ' ';
        } else {
            out[n++] = s[i];
        }
        if (n > 0 && out[n - 1] == '\0') {
            free(out);
            return NULL;
        }
    }
    out[n] = '\0';
    return out;
}

static double elapsed_ms(const struct timespec *start, const struct timespec *now)
{
    return (double)(now->tv_sec - start->tv_sec) * 1e3 +
           (double)(now->tv_nsec - start->tv_nsec) / 1e6;
}

/* CLOCK_MONOTONIC milliseconds of ts. */
static long long ts_ms(const struct timespec *ts)
{
    return (long long)ts->tv_sec * 1000 + ts->tv_nsec / 1000000;
}

/* The longest path a log line shows, in bytes of the request. */
#define LOG_PATH_MAX 512

/*
** Copy s for a log line into out (at least 3 * LOG_PATH_MAX + 4 bytes): at
** most LOG_PATH_MAX bytes, non-printable bytes as %XX, "..." when cut.
*/
static void log_escape(char *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, n = 0;

    for (i = 0; i < LOG_PATH_MAX && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c <= 0x20 || c >= 0x7f || c == '"') {
            out[n++] = '%';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
        }
    }
    if (s[i]) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */
/* ------------------------------------------------------------------ */

/* Free the segments of one compiled route. */
static void free_route_segments(compiled_route *r)
{
    size_t k;

    for (k = 0; k < r->n_segments; k++) {
        free(r->segments[k]);
        free(r->names[k]);
    }
    free(r->segments);
    free(r->names);
    free(r->lens);
}

static void free_routes(compiled_route *routes, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free_route_segments(&routes[i]);
    free(routes);
}

/*
** Does the route name a usable action?  In range; PUBLIC (the zero value,
** what a forgotten action gives) only for GET; an action on a subject,
** channel or consumer needs a target resolver, the others have none.  (A
** table entry that leaves out action and target does not even compile:
** -Wmissing-field-initializers with -Werror.)
*/
static bool action_fits(const chand_route *route)
{
    switch (route->action) {
    case CHAN_AUTHZ_PUBLIC:
        return strcmp(route->method, "GET") == 0 && route->target == NULL;
    case CHAN_AUTHZ_READ:
    case CHAN_AUTHZ_SELF:
    case CHAN_AUTHZ_REGISTRY_ADMIN:
        return route->target == NULL;
    case CHAN_AUTHZ_SUBJECT_WRITE:
    case CHAN_AUTHZ_SUBJECT_CONFIG:
    case CHAN_AUTHZ_CHANNEL_PUT:
    case CHAN_AUTHZ_CHANNEL_DELETE:
    case CHAN_AUTHZ_CONSUMER_REGISTER:
    case CHAN_AUTHZ_CONSUMER_CHANGE:
    case CHAN_AUTHZ_CONSUMER_DECIDE:
        return route->target != NULL;
    }
    return false;
}

/* Split a pattern into segments; check that it starts with '/' and its params are well-formed. */
static int compile_route(compiled_route *out, const chand_route *route, const char *content_type,
                         chan_error *err)
{
    const char *p = route->pattern, *end;
    size_t n_params = 0;

    memset(out, 0, sizeof(*out));
    out->route = route;
    out->content_type = content_type;
    if (route->method == NULL || p == NULL || route->handler == NULL || p[0] != '/')
        return chan_error_set(err, CHAN_EINVALID, "route %s: incomplete or not absolute",
                              p ? p : "(null)");
    if (!action_fits(route))
        return chan_error_set(
            err, CHAN_EINVALID, "route %s %s: no valid action (action %d, %s target resolver)",
            route->method, p, (int)route->action, route->target ? "with a" : "without");
    p++;
    while (*p) {
        size_t len;

        end = strchr(p, '/');
        len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            return chan_error_set(err, CHAN_EINVALID, "route %s: empty segment", route->pattern);
        if (p[0] == '{' && (p[len - 1] != '}' || len < 3))
            return chan_error_set(err, CHAN_EINVALID, "route %s: bad parameter", route->pattern);
        if (p[0] == '{' && ++n_params > CHAND_ROUTE_MAX_PARAMS)
            return chan_error_set(err, CHAN_EINVALID, "route %s: too many parameters",
                                  route->pattern);
        if (out->n_segments == ROUTE_MAX_SEGMENTS)
            return chan_error_set(err, CHAN_EINVALID, "route %s: more than %d segments",
                                  route->pattern, ROUTE_MAX_SEGMENTS);
        out->segments =
            chan_xreallocarray(out->segments, out->n_segments + 1, sizeof(*out->segments));
        out->names = chan_xreallocarray(out->names, out->n_segments + 1, sizeof(*out->names));
        out->lens = chan_xreallocarray(out->lens, out->n_segments + 1, sizeof(*out->lens));
        out->segments[out->n_segments] = chan_xstrndup(p, len);
        out->names[out->n_segments] = p[0] == '{' ? chan_xstrndup(p + 1, len - 2) : NULL;
        out->lens[out->n_segments] = len;
        out->n_segments++;
        p += len;
        if (*p == '/')
            p++;
    }
    return 0;
}

static void clear_params(chand_request *req)
{
    size_t i;

    for (i = 0; i < req->n_params; i++)
        free(req->params[i].value);
    req->n_params = 0;
}

/*
** Does the raw path (split into segs) match r?  On a match, fills
** req->params with the decoded parameters.  Returns 1 on a match, 0 when not,
** -1 when a parameter does not decode (contains NUL).
*/
static int match_route(chand_request *req, const compiled_route *r, const path_seg *segs,
                       size_t n_segs)
{
    size_t i;

    if (r->n_segments != n_segs)
        return 0;
    for (i = 0; i < n_segs; i++) {
        if (r->names[i] == NULL &&
            (r->lens[i] != segs[i].len || memcmp(r->segments[i], segs[i].p, segs[i].len) != 0))
            return 0;
    }
    clear_params(req);
    for (i = 0; i < n_segs; i++) {
        char *value;

        if (r->names[i] == NULL)
            continue;
        value = percent_decode(segs[i].p, segs[i].len, false);
        if (value == NULL) {
            clear_params(req);
            return -1;
        }
        req->params[req->n_params].key = r->names[i];
        req->params[req->n_params].value = value;
        req->n_params++;
    }
    return 1;
}

/*
** Find the route for req.  Returns 0 with req->route set, or the status to
** reply with: 404 (no pattern matches), 405 (wrong method), 400 (bad path).
*/
static unsigned int find_route(chand_request *req)
{
    chand_server *server = req->server;
    const char *path = req->path, *p, *end;
    const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
    path_seg segs[ROUTE_MAX_SEGMENTS];
    size_t n_segs = 0, i, len;
    unsigned int status = 404;

    len = strlen(path);
    if (len > 1 && path[len - 1] == '/')
        len--;
    if (path[0] != '/')
        goto cleanup;
    end = path + len;
    for (p = path + 1; p < end;) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);

        if (n == 0 || n_segs == ROUTE_MAX_SEGMENTS)
            goto cleanup; /* an empty segment, or longer than every route */
        segs[n_segs].p = p;
        segs[n_segs].len = n;
        n_segs++;
        if (slash == NULL)
            break;
        p = slash + 1;
        if (p == end)
            goto cleanup; /* "a//" */
    }
    for (i = 0; i < server->n_routes; i++) {
        const compiled_route *r = &server->routes[i];
        int m;

        if (req->probe_only && strcmp(r->route->pattern, "/healthz") != 0 &&
            strcmp(r->route->pattern, "/readyz") != 0)
            continue; /* the --health-listen daemon serves the probes only */
        m = match_route(req, r, segs, n_segs);

        if (m < 0) {
            status = 400;
            goto cleanup;
        }
        if (m == 0)
            continue;
        if (strcmp(r->route->method, method) == 0) {
            req->route = r;
            req->content_type = r->content_type;
            status = 0;
            goto cleanup;
        }
        status = 405;
        len = strlen(req->allow);
        snprintf(req->allow + len, sizeof(req->allow) - len, "%s%s", len ? ", " : "",
                 r->route->method);
    }

cleanup:
    if (status)
        clear_params(req);
    return status;
}

/* ------------------------------------------------------------------ */
/* Request accessors                                                   */
/* ------------------------------------------------------------------ */

const char *chand_request_method(const chand_request *req)
{
    return req->method;
}

const char *chand_request_path(const chand_request *req)
{
    return req->path;
}

const char *chand_request_id(const chand_request *req)
{
    return req->request_id;
}

const char *chand_request_param(const chand_request *req, const char *name)
{
    size_t i;

    for (i = 0; i < req->n_params; i++) {
        if (strcmp(req->params[i].key, name) == 0)
            return req->params[i].value;
    }
    return NULL;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    chand_request *req = cls;
    char *k = percent_decode(key, strlen(key), true);
    char *v = value ? percent_decode(value, strlen(value), true) : chan_xstrdup("");

    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return MHD_YES; /* a parameter with NUL cannot be asked for: skip it */
    }
    req->query = chan_xreallocarray(req->query, req->n_query + 1, sizeof(*req->query));
    req->query[req->n_query].key = k;
    req->query[req->n_query].value = v;
    req->n_query++;
    return MHD_YES;
}

const char *chand_request_query(const chand_request *req, const char *name)
{
    size_t i;

    for (i = 0; i < req->n_query; i++) {
        if (strcmp(req->query[i].key, name) == 0)
            return req->query[i].value;
    }
    return NULL;
}

int chand_request_query_bool(bool *out, const chand_request *req, const char *name, bool def,
                             chan_error *err)
{
    const char *v = chand_request_query(req, name);

    if (v == NULL) {
        *out = def;
        return 0;
    }
    if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || *v == '\0') {
        *out = true;
        return 0;
    }
    if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return 0;
    }
    return chand_http_error(err, CHAN_EINVALID, 40002,
                            "Query parameter '%s' must be true or false, got '%s'.", name, v);
}

const char *chand_request_header(const chand_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *chand_request_body(const chand_request *req, size_t *out_len)
{
    if (out_len)
        *out_len = req->body.len;
    return chan_buf_cstr(&req->body);
}

int chand_request_json(json_t **out, const chand_request *req, chan_error *err)
{
    json_error_t jerr;
    json_t *doc;

    *out = NULL;
    if (req->body.len == 0)
        return chand_http_error(err, CHAN_EINVALID, 40001, "Request body is empty; expected JSON.");
    doc = json_loadb(req->body.ptr, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL)
        return chand_http_error(err, CHAN_EINVALID, 40001,
                                "Invalid JSON in request body: %s at line %d column %d.", jerr.text,
                                jerr.line, jerr.column);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return chand_http_error(err, CHAN_EINVALID, 42200, "Request body must be a JSON object.");
    }
    *out = doc;
    return 0;
}

const char *chand_request_actor(const chand_request *req)
{
    return req->identity->name;
}

const chan_identity *chand_request_identity(const chand_request *req)
{
    return req->identity;
}

const chan_authz_decision *chand_request_decision(const chand_request *req)
{
    return &req->decision;
}

bool chand_request_auth_on(const chand_request *req)
{
    return req->server->config->n_tokens > 0;
}

const char *chand_request_keep(chand_request *req, const char *s)
{
    if (s == NULL)
        return NULL;
    req->kept = chan_xreallocarray(req->kept, req->n_kept + 1, sizeof(*req->kept));
    req->kept[req->n_kept] = chan_xstrdup(s);
    return req->kept[req->n_kept++];
}

struct chand_reply_cache *chand_request_reply_cache(const chand_request *req)
{
    return req->server->replies;
}

chan_store *chand_request_store(const chand_request *req)
{
    return req->server->store;
}

const chand_config *chand_request_config(const chand_request *req)
{
    return req->server->config;
}

bool chand_request_shutting_down(const chand_request *req)
{
    return atomic_load(&req->server->shutting_down);
}

unsigned int chand_request_in_flight(const chand_request *req)
{
    return chand_server_active_requests(req->server);
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

/*
** The media types of the Confluent-compatible routes, as Confluent's
** resources declare them (@Produces with Jersey's quality of source qs,
** @Consumes).
*/
static const struct {
    const char *type;
    double qs;
} sr_produces[] = {
    {CHAND_CONTENT_TYPE_SR, 1.0},
    {"application/vnd.schemaregistry+json", 0.9},
    {CHAND_CONTENT_TYPE_JSON, 0.5},
};

static const char *const sr_consumes[] = {
    CHAND_CONTENT_TYPE_SR,
    "application/vnd.schemaregistry+json",
    CHAND_CONTENT_TYPE_JSON,
    "application/octet-stream",
};

/* Does the media type at s (up to ';', ',' or the end, spaces trimmed) equal want? */
static bool media_is(const char *s, size_t len, const char *want)
{
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return len == strlen(want) && strncasecmp(s, want, len) == 0;
}

/* Is the request's Content-Type one Confluent consumes?  No Content-Type is. */
static bool consumes_ok(const char *content_type)
{
    size_t i, len;

    if (content_type == NULL)
        return true;
    len = strcspn(content_type, ";");
    for (i = 0; i < CHAN_ARRAY_SIZE(sr_consumes); i++)
        if (media_is(content_type, len, sr_consumes[i]))
            return true;
    return false;
}

/*
** The q parameter of the media range [s, s + len): 1 when absent, 0 on a
** malformed value.
*/
static double range_quality(const char *s, size_t len)
{
    const char *p = s, *end = s + len;

    while ((p = memchr(p, ';', (size_t)(end - p))) != NULL) {
        p++;
        while (p < end && *p == ' ')
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            char num[16];
            size_t n = strcspn(p + 2, ";,");
            char *stop = NULL;
            double q;

            if (n == 0 || n >= sizeof(num))
                return 0;
            memcpy(num, p + 2, n);
            num[n] = '\0';
            q = strtod(num, &stop);
            return (stop && (*stop == '\0' || *stop == ' ') && q >= 0 && q <= 1) ? q : 0;
        }
    }
    return 1;
}

/* Does the media range [s, s + len) (parameters included) cover type? */
static bool range_covers(const char *s, size_t len, const char *type)
{
    size_t tlen = strcspn(s, ";");
    const char *slash;

    if (tlen > len)
        tlen = len;
    if (media_is(s, tlen, "*/*") || media_is(s, tlen, "*"))
        return true;
    slash = strchr(type, '/');
    while (tlen > 0 && (*s == ' ' || *s == '\t'))
        s++, tlen--;
    while (tlen > 0 && (s[tlen - 1] == ' ' || s[tlen - 1] == '\t'))
        tlen--;
    if (tlen == (size_t)(slash - type) + 2 && strncasecmp(s, type, tlen - 1) == 0 &&
        s[tlen - 1] == '*')
        return true; /* a subtype wildcard: "application/" then a star */
    return media_is(s, tlen, type);
}

/*
** Content negotiation of a Confluent route, as Jersey does it: the produced
** type with the highest q (of the best Accept range covering it) times its
** qs.  NULL when Accept names only types Confluent does not produce (406).
*/
static const char *negotiate(const char *accept, const char *fallback)
{
    const char *best = NULL;
    double best_score = 0;
    size_t i;

    if (accept == NULL || accept[strspn(accept, " \t")] == '\0')
        return fallback;
    for (i = 0; i < CHAN_ARRAY_SIZE(sr_produces); i++) {
        const char *p = accept;
        double q = 0;

        while (*p) {
            size_t len = strcspn(p, ",");

            if (range_covers(p, len, sr_produces[i].type)) {
                double rq = range_quality(p, len);

                if (rq > q)
                    q = rq;
            }
            p += len;
            if (*p == ',')
                p++;
        }
        if (q > 0 && q * sr_produces[i].qs > best_score) {
            best_score = q * sr_produces[i].qs;
            best = sr_produces[i].type;
        }
    }
    return best;
}

/* The content type of a JSON reply, from Accept and the route's default. */
static const char *json_content_type(const chand_request *req)
{
    const char *accept = chand_request_header(req, MHD_HTTP_HEADER_ACCEPT);

    if (req->reply_type)
        return req->reply_type;
    if (accept && strstr(accept, "application/vnd.schemaregistry"))
        return CHAND_CONTENT_TYPE_SR;
    if (accept && strstr(accept, "application/json"))
        return CHAND_CONTENT_TYPE_JSON;
    return req->content_type ? req->content_type : CHAND_CONTENT_TYPE_JSON;
}

/* Queue resp (consumed) with the common headers. */
static int queue(chand_request *req, unsigned int status, struct MHD_Response *resp,
                 const char *content_type)
{
    enum MHD_Result ok;
    size_t i;

    if (resp == NULL)
        return CHAN_EINTERNAL;
    if (req->replied) {
        MHD_destroy_response(resp);
        chan_log(CHAN_LOG_ERROR, MODULE, "second reply to one request dropped request_id=%s",
                 req->request_id);
        return CHAN_EINTERNAL;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "X-Request-Id", req->request_id);
    for (i = 0; i < req->n_extra_headers; i++)
        MHD_add_response_header(resp, req->extra_headers[i].key, req->extra_headers[i].value);
    if (status == 405 && req->allow[0])
        MHD_add_response_header(resp, "Allow", req->allow);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"chanreg\", Basic realm=\"chanreg\"");
    if (atomic_load(&req->server->shutting_down))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    ok = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    if (ok != MHD_YES) {
        req->unqueued = true;
        return CHAN_EINTERNAL;
    }
    req->replied = true;
    req->status = status;
    return 0;
}

void chand_reply_header(chand_request *req, const char *name, const char *value)
{
    req->extra_headers = chan_xreallocarray(req->extra_headers, req->n_extra_headers + 1,
                                            sizeof(*req->extra_headers));
    req->extra_headers[req->n_extra_headers].key = chan_xstrdup(name);
    req->extra_headers[req->n_extra_headers].value = chan_xstrdup(value);
    req->n_extra_headers++;
}

/* Keep a copy of a 200 reply of a cacheable route (see handle). */
static void capture(chand_request *req, unsigned int status, const char *content_type,
                    const char *body, size_t len)
{
    if (!req->capture || status != 200 || req->replied)
        return;
    chan_buf_clear(&req->captured);
    chan_buf_put(&req->captured, body, len);
    free(req->cap_type);
    req->cap_type = chan_xstrdup(content_type);
}

int chand_reply_raw(chand_request *req, unsigned int status, const char *content_type,
                    const char *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);

    capture(req, status, content_type, body, len);
    return queue(req, status, resp, content_type);
}

int chand_reply_json(chand_request *req, unsigned int status, json_t *body)
{
    struct MHD_Response *resp;
    char *text;

    text = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : chan_xstrdup("null");
    json_decref(body);
    if (text == NULL)
        return CHAN_EINTERNAL;
    capture(req, status, json_content_type(req), text, strlen(text));
    resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL)
        free(text);
    return queue(req, status, resp, json_content_type(req));
}

int chand_reply_json_text(chand_request *req, unsigned int status, char *text, size_t len)
{
    struct MHD_Response *resp;

    capture(req, status, json_content_type(req), text, len);
    resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);

    if (resp == NULL)
        free(text);
    return queue(req, status, resp, json_content_type(req));
}

static int reply_error_doc(chand_request *req, int code, const char *message, json_t *errors)
{
    json_t *doc = json_object();

    json_object_set_new(doc, "error_code", json_integer(code));
    json_object_set_new(doc, "message", json_string(message));
    if (errors)
        json_object_set_new(doc, "errors", errors);
    if (!json_is_string(json_object_get(doc, "message"))) /* message was not UTF-8 */
        json_object_set_new(doc, "message", json_string("(message not valid UTF-8)"));
    return chand_reply_json(req, chand_http_status_of(code), doc);
}

int chand_reply_error(chand_request *req, int code, const char *fmt, ...)
{
    va_list ap;
    char *msg;
    int rc;

    va_start(ap, fmt);
    msg = chan_xvasprintf(fmt, ap);
    va_end(ap);
    rc = reply_error_doc(req, code, msg, NULL);
    free(msg);
    return rc;
}

int chand_reply_diags(chand_request *req, int code, const char *message,
                      const chan_diag_list *diags)
{
    json_t *errors = json_array();
    size_t i, n = diags ? chan_diag_list_count(diags) : 0;

    for (i = 0; i < n; i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);
        json_t *e = json_object();

        if (d->rule)
            json_object_set_new(e, "rule", json_string(d->rule));
        if (d->path)
            json_object_set_new(e, "path", json_string(d->path));
        if (d->file)
            json_object_set_new(e, "file", json_string(d->file));
        if (d->line > 0)
            json_object_set_new(e, "line", json_integer(d->line));
        if (d->column > 0)
            json_object_set_new(e, "column", json_integer(d->column));
        json_object_set_new(e, "severity", json_string(chan_diag_severity_name(d->severity)));
        json_object_set_new(e, "message", json_string(d->message ? d->message : ""));
        if (d->hint)
            json_object_set_new(e, "hint", json_string(d->hint));
        json_array_append_new(errors, e);
    }
    return reply_error_doc(req, code, message, errors);
}

int chand_reply_error_from(chand_request *req, const chan_error *err)
{
    int code = chand_http_error_code(err);
    const char *msg = err && err->message[0] ? err->message : chan_strerror(err ? err->code : 0);

    if (err && err->detail[0])
        return chand_reply_error(req, code, "%s; %s", msg, err->detail);
    return chand_reply_error(req, code, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Authentication                                                      */
/* ------------------------------------------------------------------ */

/* Decode standard base64 (with or without padding).  NULL on bad input. */
static char *base64_decode(const char *s, size_t *out_len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(s), i, n = 0;
    char *out = chan_xmalloc(len / 4 * 3 + 4);
    unsigned int acc = 0;
    int bits = 0;

    for (i = 0; i < len && s[i] != '='; i++) {
        const char *p = s[i] ? strchr(alphabet, s[i]) : NULL;

        if (p == NULL) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned int)(p - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}

/*
** The token of the Authorization header ("Bearer T", or "Basic
** base64(user:T)") as a NUL-terminated string the caller frees, or NULL
** when the header is missing or malformed.
*/
static char *presented_token(const chand_request *req)
{
    const char *h = chand_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    char *token = NULL;

    if (h == NULL)
        return NULL;
    if (strncasecmp(h, "Bearer ", 7) == 0) {
        h += 7;
        while (*h == ' ')
            h++;
        return chan_xstrdup(h);
    }
    if (strncasecmp(h, "Basic ", 6) == 0) {
        size_t len = 0;
        char *decoded, *colon;

        h += 6;
        while (*h == ' ')
            h++;
        decoded = base64_decode(h, &len);
        if (decoded == NULL)
            return NULL;
        colon = memchr(decoded, ':', len);
        if (colon && memchr(colon + 1, '\0', len - (size_t)(colon + 1 - decoded)) == NULL)
            token = chan_xstrndup(colon + 1, len - (size_t)(colon + 1 - decoded));
        explicit_bzero(decoded, len);
        free(decoded);
    }
    return token;
}

/*
** Find token (presented_token's, freed here): first among the API tokens of the store
** (chand_token_authenticate; the identity is then req->own_identity), then
** among the configured ones (file and --token).  Returns 0 with
** *out set (NULL: no token or an unknown one), or the error of the store
** token: CHAN_EDENIED (revoked or expired) or CHAN_EUNAVAILABLE (the store
** could not be read: never guess who the caller is).
*/
static int authenticate(chand_request *req, char *token, const chan_identity **out, chan_error *err)
{
    const chand_config *config = req->server->config;
    const chan_token_entry *entry;
    int error = 0;

    *out = NULL;
    if (strncmp(token, CHAN_TOKEN_PREFIX, strlen(CHAN_TOKEN_PREFIX)) == 0) {
        error = chand_token_authenticate(req->server->store, token, &req->own_identity, err);
        if (error == 0) {
            *out = &req->own_identity;
            goto cleanup;
        }
        if (error != CHAN_ENOTFOUND)
            goto cleanup;
        error = 0;
        chan_error_clear(err);
    }
    entry = chand_config_token_find(config, token, strlen(token));
    if (entry)
        *out = &entry->identity;
cleanup:
    chan_token_free(token);
    return error;
}

/*
** Set req->identity from the Authorization header, or queue a 401.  Auth
** off: the open identity.  A missing, unknown or expired token is refused
** unless the route is PUBLIC, or READ or SELF without --auth-reads; the
** request then goes on as "anonymous" without roles.  Returns false after a 401.
*/
static bool admit_identity(chand_request *req)
{
    chand_server *server = req->server;
    chan_authz_action action = req->route->route->action;
    const chan_identity *found = NULL;
    bool may_be_anonymous;
    char *token;

    if (server->config->n_tokens == 0) {
        req->identity = &server->open;
        return true;
    }
    req->identity = &server->anonymous;
    may_be_anonymous =
        action == CHAN_AUTHZ_PUBLIC ||
        ((action == CHAN_AUTHZ_READ || action == CHAN_AUTHZ_SELF) && !server->config->auth_reads);
    if (action == CHAN_AUTHZ_PUBLIC)
        return true;
    if ((token = presented_token(req)) != NULL) { /* err only then: it is large to clear */
        chan_error err = CHAN_ERROR_INIT;

        switch (authenticate(req, token, &found, &err)) {
        case 0:
            break;
        case CHAN_EDENIED: /* a store token, revoked or expired */
            if (may_be_anonymous)
                return true;
            chand_reply_error(req, 401, "Unauthorized: %s.", err.message);
            return false;
        default: /* the store could not be read */
            chan_log(CHAN_LOG_WARN, MODULE, "cannot check a store token: %s", err.message);
            chand_reply_error(req, 503, "Service unavailable: cannot check the token: %s",
                              err.message);
            return false;
        }
    }
    if (found && found->expires_at > 0 && (int64_t)time(NULL) >= found->expires_at) {
        char date[16];
        time_t at = (time_t)found->expires_at;
        struct tm tm;

        gmtime_r(&at, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
        if (may_be_anonymous)
            return true;
        chand_reply_error(req, 401, "Unauthorized: the token of identity '%s' expired on %s.",
                          found->name, date);
        return false;
    }
    if (found) {
        req->identity = found;
        return true;
    }
    if (may_be_anonymous)
        return true;
    if (chand_request_header(req, MHD_HTTP_HEADER_AUTHORIZATION))
        chand_reply_error(req, 401, "Unauthorized: the token is not valid.");
    else
        chand_reply_error(req, 401,
                          "Unauthorized: this request needs a token "
                          "(Authorization: Bearer TOKEN).");
    return false;
}

/* ------------------------------------------------------------------ */
/* Authorization                                                       */
/* ------------------------------------------------------------------ */

/* Is the matched route one of the Confluent-compatible API's? */
static bool is_confluent_route(const chand_request *req)
{
    return req->content_type && strcmp(req->content_type, CHAND_CONTENT_TYPE_SR) == 0;
}

/*
** Reply 403 with the refusal: on the Confluent-compatible routes the body
** Confluent clients know, {"error_code": 40301, "message": "User is denied
** operation Write on Subject: S. ..."}; elsewhere the message of
** chan_authz_check with "identity" and "missing_roles".
*/
static int reply_denied(chand_request *req, const chan_error *err)
{
    const chan_identity *who = req->identity;
    const char *missing = req->decision.missing;
    json_t *doc = json_object();

    json_object_set_new(doc, "error_code", json_integer(40301));
    if (is_confluent_route(req)) {
        const char *subject = req->target.subject;
        const char *op = strcmp(req->method, "DELETE") == 0 ? "Delete" : "Write";
        char *roles = chan_identity_roles_text(who);
        chan_buf msg = CHAN_BUF_INIT;
        const char *comma = strrchr(missing, ',');

        if (subject)
            chan_buf_printf(&msg, "User is denied operation %s on Subject: %s. ", op, subject);
        else
            chan_buf_printf(&msg, "User is denied operation %s on Cluster: schema-registry. ", op);
        /* "admin, ci:x, owner:x" -> "admin, ci:x or owner:x" */
        if (comma)
            chan_buf_printf(&msg, "Needs role %.*s or%s", (int)(comma - missing), missing,
                            comma + 1);
        else
            chan_buf_printf(&msg, "Needs role %s", missing);
        chan_buf_printf(&msg, " (identity %s has %s).", who->name, *roles ? roles : "no roles");
        json_object_set_new(doc, "message", json_string(chan_buf_cstr(&msg)));
        free(roles);
        chan_buf_dispose(&msg);
    } else {
        json_t *list = json_array();
        const char *p = missing;

        while (*p) {
            const char *end = strstr(p, ", ");
            size_t len = end ? (size_t)(end - p) : strlen(p);

            json_array_append_new(list, json_stringn(p, len));
            p += len;
            if (end)
                p += 2;
        }
        json_object_set_new(doc, "message", json_string(err->message));
        json_object_set_new(doc, "identity", json_string(who->name));
        json_object_set_new(doc, "missing_roles", list);
    }
    if (!json_is_string(json_object_get(doc, "message"))) /* a name was not UTF-8 */
        json_object_set_new(doc, "message", json_string("(message not valid UTF-8)"));
    return chand_reply_json(req, 403, doc);
}

/*
** Resolve the route's target and ask chan_authz_check.  Returns 0 when the
** handler may run; otherwise the refusal (403, 42215) or the resolver's
** error has been replied and a negative value is returned.
*/
static int authorize(chand_request *req)
{
    const chand_route *route = req->route->route;
    chan_error err = CHAN_ERROR_INIT;
    int error;

    memset(&req->target, 0, sizeof(req->target));
    if (route->target && (error = route->target(&req->target, req, &err)) < 0) {
        if (chand_http_status_of(chand_http_error_code(&err)) < 500) {
            (void)chand_reply_error_from(req, &err);
            return error;
        }
        chan_log(CHAN_LOG_ERROR, MODULE,
                 "cannot resolve the request's target request_id=%s code=%s error=\"%s\"",
                 req->request_id, chan_strerror(err.code), err.message);
        if (is_confluent_route(req) && err.reason == CHAN_STORE_R_TIMEOUT)
            (void)chand_reply_error(req, 50002, "Operation timed out: %s", err.message);
        else if (is_confluent_route(req)) /* as the Confluent handlers render store errors */
            (void)chand_reply_error(req, 50001, "Error in the backend datastore: %s", err.message);
        else
            (void)chand_reply_error_from(req, &err);
        return error;
    }
    error = chan_authz_check(&req->decision, req->identity, route->action, &req->target, &err);
    if (error == CHAN_EDENIED) {
        (void)reply_denied(req, &err);
    } else if (error == CHAN_EINVALID && err.reason == CHAN_AUTHZ_R_TEAM_AMBIGUOUS) {
        (void)chand_reply_error(req, 42215, "%s", err.message);
    } else if (error < 0) {
        (void)chand_reply_error_from(req, &err);
    }
    return error;
}

/* ------------------------------------------------------------------ */
/* MHD callbacks                                                       */
/* ------------------------------------------------------------------ */

static size_t unescape_none(void *cls, struct MHD_Connection *conn, char *s)
{
    return strlen(s);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts_ms(&ts);
}

/* Enter phase at since (CLOCK_MONOTONIC milliseconds). */
static void track_phase_at(conn_track *track, conn_phase phase, long long since)
{
    if (track == NULL)
        return;
    atomic_store(&track->since_ms, since);
    atomic_store(&track->phase, (int)phase);
}

static void track_phase(conn_track *track, conn_phase phase)
{
    if (track != NULL)
        track_phase_at(track, phase, now_ms());
}

static conn_track *track_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return info ? info->socket_context : NULL;
}

/*
** Could p[0..n) be the start of an HTTP/1 request: optional empty lines,
** then a method token (letters, digits, '-' and '_') ended by a space?  A
** prefix of one passes: the rest has not arrived yet.
*/
static bool looks_like_http(const unsigned char *p, size_t n)
{
    size_t i = 0, start;

    while (i < n && (p[i] == '\r' || p[i] == '\n'))
        i++;
    for (start = i; i < n; i++) {
        unsigned char c = p[i];

        if (c == ' ')
            return i > start;
        if (i - start >= 24 || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                 (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/*
** A new plain-HTTP connection whose first bytes (already there thanks to
** TCP_DEFER_ACCEPT) cannot start a request: answer 400 and close it here,
** before MHD reads anything (MHD would wait for a line end that binary
** never sends, or close without a word).  Returns true when refused.
*/
static bool refuse_garbage(int fd)
{
    static const char body[] = "{\"error_code\":40000,\"message\":\"The request line is not "
                               "HTTP.\"}";
    unsigned char head[64];
    char reply[256];
    ssize_t n = recv(fd, head, sizeof(head), MSG_PEEK | MSG_DONTWAIT);
    int len, i;

    if (n <= 0 || looks_like_http(head, (size_t)n))
        return false;
    for (i = 0; i < 64 && recv(fd, reply, sizeof(reply), MSG_DONTWAIT) > 0; i++)
        ; /* drop what was sent, so that the close is a FIN and not a reset */
    len = snprintf(reply, sizeof(reply),
                   "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
                   "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                   sizeof(body) - 1, body);
    (void)send(fd, reply, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)shutdown(fd, SHUT_RDWR); /* MHD sees the end and closes the socket */
    return true;
}

static void notify_connection(chand_server *server, struct MHD_Connection *conn,
                              void **socket_context, enum MHD_ConnectionNotificationCode code,
                              bool probe)
{
    conn_track *track = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

        if (info == NULL)
            return;
        track = chan_xcalloc(1, sizeof(*track));
        track->fd = info->connect_fd;
        track->probe = probe;
        atomic_init(&track->phase, PHASE_HEAD);
        atomic_init(&track->since_ms, now_ms());
        pthread_mutex_lock(&server->conns_lock);
        track->next = server->conns;
        if (server->conns)
            server->conns->prev = track;
        server->conns = track;
        if (!probe)
            server->n_conns++;
        pthread_mutex_unlock(&server->conns_lock);
        *socket_context = track;
        if (server->config->tls_cert_pem == NULL && refuse_garbage(track->fd)) {
            chan_log(CHAN_LOG_INFO, MODULE, "refused a request that is not HTTP status=400");
            track_phase(track, PHASE_BUSY);
        }
        return;
    }
    if (track == NULL)
        return;
    pthread_mutex_lock(&server->conns_lock);
    if (track->prev)
        track->prev->next = track->next;
    else
        server->conns = track->next;
    if (track->next)
        track->next->prev = track->prev;
    if (!probe)
        server->n_conns--;
    pthread_mutex_unlock(&server->conns_lock);
    free(track);
    *socket_context = NULL;
}

static void notify_main(void *cls, struct MHD_Connection *conn, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    notify_connection(cls, conn, socket_context, code, false);
}

static void notify_probe(void *cls, struct MHD_Connection *conn, void **socket_context,
                         enum MHD_ConnectionNotificationCode code)
{
    notify_connection(cls, conn, socket_context, code, true);
}

/* The request line is in: a keep-alive connection starts its next request. */
static void *request_line_read(void *cls, const char *uri, struct MHD_Connection *conn)
{
    conn_track *track = track_of(conn);

    if (track && atomic_load(&track->phase) == PHASE_IDLE)
        track_phase(track, PHASE_HEAD);
    return NULL;
}

static void CHAN_PRINTF(2, 0) mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    size_t n;

    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    chan_log(CHAN_LOG_WARN, "mhd", "%s", line);
}

static void set_request_id(chand_request *req)
{
    const char *h = chand_request_header(req, "X-Request-Id");
    size_t i, n = h ? strlen(h) : 0;
    bool ok = n > 0 && n < 64;

    for (i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)h[i];

        ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             c == '-' || c == '_' || c == '.';
    }
    if (ok) {
        memcpy(req->request_id, h, n + 1);
    } else {
        static const char hex[] = "0123456789abcdef";
        uint64_t v = ((uint64_t)(req->server->id_prefix & 0xfffffffful) << 32) |
                     (atomic_fetch_add(&req->server->next_id, 1) & 0xfffffffful);

        for (i = 16; i-- > 0; v >>= 4) /* "%08lx%08lx" of the two halves */
            req->request_id[i] = hex[v & 15];
        req->request_id[16] = '\0';
    }
}

static chand_request *request_new(chand_server *server, struct MHD_Connection *conn,
                                  const char *url, const char *method, bool probe_only)
{
    chand_request *req = chan_xcalloc(1, sizeof(*req));

    req->probe_only = probe_only;
    req->track = track_of(conn);
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    track_phase_at(req->track, PHASE_BODY, ts_ms(&req->start));
    req->server = server;
    req->conn = conn;
    req->method = chan_xstrdup(method);
    req->path = chan_xstrdup(url);
    req->identity = &server->anonymous;
    chan_buf_init(&req->body);
    set_request_id(req);
    atomic_fetch_add(&server->active, 1);
    return req;
}

static void request_free(chand_request *req)
{
    size_t i;

    if (req == NULL)
        return;
    clear_params(req);
    for (i = 0; i < req->n_query; i++) {
        free(req->query[i].key);
        free(req->query[i].value);
    }
    free(req->query);
    for (i = 0; i < req->n_extra_headers; i++) {
        free(req->extra_headers[i].key);
        free(req->extra_headers[i].value);
    }
    free(req->extra_headers);
    for (i = 0; i < req->n_kept; i++)
        free(req->kept[i]);
    free(req->kept);
    chan_buf_dispose(&req->body);
    chan_buf_dispose(&req->captured);
    free(req->cap_type);
    chan_identity_dispose(&req->own_identity);
    free(req->method);
    free(req->path);
    free(req);
}

/*
** Checks made once the headers are in: route, authentication, declared
** body size.  When one fails, the error reply is queued here (MHD then
** skips the body and closes the connection) and req->replied is set.
*/
static void admit(chand_request *req)
{
    chand_server *server = req->server;
    const char *cl = chand_request_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned int status = find_route(req);
    int64_t len;

    if (status == 404) {
        chand_reply_error(req, 404, "HTTP 404 Not Found");
        return;
    }
    if (status == 405) {
        chand_reply_error(req, 405, "HTTP 405 Method Not Allowed");
        return;
    }
    if (status == 400) {
        chand_reply_error(req, 40000, "Invalid percent-encoding in the request path.");
        return;
    }
    MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_query, req);

    if (!admit_identity(req))
        return;
    if (is_confluent_route(req)) { /* Confluent's @Consumes and @Produces */
        const char *te = chand_request_header(req, MHD_HTTP_HEADER_TRANSFER_ENCODING);
        bool has_body = (cl && strcmp(cl, "0") != 0) || te != NULL;

        if (has_body && !consumes_ok(chand_request_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
            chand_reply_error(req, 415, "HTTP 415 Unsupported Media Type");
            return;
        }
        req->reply_type =
            negotiate(chand_request_header(req, MHD_HTTP_HEADER_ACCEPT), CHAND_CONTENT_TYPE_SR);
        if (req->reply_type == NULL) {
            req->reply_type = CHAND_CONTENT_TYPE_SR;
            chand_reply_error(req, 406, "HTTP 406 Not Acceptable");
            return;
        }
    }
    if (cl && (chan_parse_int64(&len, cl, 0, INT64_MAX) != 0 || len > server->config->max_body))
        chand_reply_error(req, 41300, "Request body is larger than the limit of %lld bytes.",
                          (long long)server->config->max_body);
}

/* Run the handler; the reply is queued (also on failure) unless false is returned. */
static bool run_handler(chand_request *req)
{
    chan_error err = CHAN_ERROR_INIT;
    int rc = req->route->route->handler(req, &err);

    if (rc < 0 && !req->replied) {
        if (chand_http_status_of(chand_http_error_code(&err)) >= 500)
            chan_log(CHAN_LOG_ERROR, MODULE, "request failed request_id=%s code=%s error=\"%s\"",
                     req->request_id, chan_strerror(err.code), err.message);
        (void)chand_reply_error_from(req, &err);
    }
    if (!req->replied && req->unqueued) {
        /* the client went away before the reply: nothing more to send */
        chan_log(CHAN_LOG_INFO, MODULE, "reply not queued, connection closed request_id=%s",
                 req->request_id);
    } else if (!req->replied) {
        chan_log(CHAN_LOG_ERROR, MODULE, "handler returned without a reply request_id=%s",
                 req->request_id);
        (void)chand_reply_error(req, 50000, "Internal error: no reply.");
    }
    return req->replied;
}

static void release_cached(void *cls)
{
    chand_reply_cached_release(cls);
}

/* Send a cached reply (the reference to hit is handed to the response). */
static bool reply_cached(chand_request *req, chand_reply_cached *hit)
{
    struct MHD_Response *resp;
    const char *body;
    unsigned int status;
    const char *type;
    size_t len, i;
    bool ok;

    body = chand_reply_cached_body(hit, &len);
    for (i = 0; i < chand_reply_cached_n_headers(hit); i++) {
        const char *name, *value;

        chand_reply_cached_header(hit, i, &name, &value);
        chand_reply_header(req, name, value);
    }
    status = chand_reply_cached_status(hit);
    type = chand_reply_cached_content_type(hit);
    resp = MHD_create_response_from_buffer_with_free_callback_cls(len, (void *)body, release_cached,
                                                                  hit);
    if (resp == NULL) {
        chand_reply_cached_release(hit);
        type = CHAND_CONTENT_TYPE_JSON; /* not sent: queue fails without a response */
    }
    /* queue copies type into the response before it drops resp, whose
       reference keeps hit (and type) alive until then. */
    ok = queue(req, status, resp, type) == 0;
    return ok;
}

/*
** A route marked cacheable (chand_route.cache), after authorization: serve
** the cached reply when it was made at the store's current generation (and
** second, for routes that use the clock), else run the handler and keep its
** 200 reply, tagged with the generation read BEFORE the handler ran, so that
** a write committed meanwhile makes it a miss.  A store that cannot tell its
** generation caches nothing.
*/
static enum MHD_Result handle_cacheable(chand_request *req)
{
    chand_server *server = req->server;
    chand_cache_kind kind = req->route->route->cache;
    const char *query_small[8][2];
    const char *(*query)[2] = query_small;
    chan_buf key = CHAN_BUF_INIT;
    chand_reply_cached *hit;
    uint64_t generation;
    int64_t second = 0;
    bool ok;

    if (!chan_store_generation(server->store, &generation))
        return run_handler(req) ? MHD_YES : MHD_NO;
    if (kind == CHAND_CACHE_SECOND)
        second = (int64_t)time(NULL);
    if (req->n_query > CHAN_ARRAY_SIZE(query_small))
        query = chan_xcalloc(req->n_query, sizeof(*query));
    for (size_t i = 0; i < req->n_query; i++) {
        query[i][0] = req->query[i].key;
        query[i][1] = req->query[i].value;
    }
    chand_reply_cache_key(&key, req->method, req->path, (const char *const(*)[2])query,
                          req->n_query, json_content_type(req), req->body.ptr, req->body.len);
    if (query != query_small)
        free(query);
    hit = chand_reply_cache_get(server->replies, key.ptr, key.len, generation, second);
    if (hit != NULL) {
        ok = reply_cached(req, hit);
        goto cleanup;
    }
    req->capture = true;
    ok = run_handler(req);
    if (ok && req->status == 200 && req->cap_type != NULL &&
        (kind != CHAND_CACHE_SECOND || (int64_t)time(NULL) == second)) {
        const char *(*headers)[2] = chan_xcalloc(req->n_extra_headers + 1, sizeof(*headers));

        for (size_t i = 0; i < req->n_extra_headers; i++) {
            headers[i][0] = req->extra_headers[i].key;
            headers[i][1] = req->extra_headers[i].value;
        }
        chand_reply_cache_put(server->replies, key.ptr, key.len, generation, second, 200,
                              req->cap_type, (const char *const(*)[2])headers, req->n_extra_headers,
                              req->captured.ptr, req->captured.len);
        free(headers);
    }
cleanup:
    chan_buf_dispose(&key);
    return ok ? MHD_YES : MHD_NO;
}

static enum MHD_Result handle(chand_server *server, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *upload_data, size_t *upload_data_size,
                              void **con_cls, bool probe_only)
{
    chand_request *req = *con_cls;
    int rc;

    if (req == NULL) {
        req = request_new(server, conn, url, method, probe_only);
        *con_cls = req;
        admit(req);
        return MHD_YES;
    }
    if (req->replied) {
        *upload_data_size = 0; /* refused early: drop whatever still arrives */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!req->too_big && req->body.len + *upload_data_size > (size_t)server->config->max_body) {
            req->too_big = true;
            chan_buf_dispose(&req->body);
        }
        if (!req->too_big)
            chan_buf_put(&req->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* No deadline while busy: the reaper skips the phase without reading since_ms. */
    if (req->track != NULL)
        atomic_store(&req->track->phase, (int)PHASE_BUSY);
    if (req->too_big) {
        rc = chand_reply_error(req, 41300, "Request body is larger than the limit of %lld bytes.",
                               (long long)server->config->max_body);
        return rc == 0 ? MHD_YES : MHD_NO;
    }

    if (authorize(req) < 0)
        return req->replied ? MHD_YES : MHD_NO;
    if (req->route->route->cache != CHAND_CACHE_NONE && server->replies != NULL)
        return handle_cacheable(req);
    return run_handler(req) ? MHD_YES : MHD_NO;
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    return handle(cls, conn, url, method, upload_data, upload_data_size, con_cls, false);
}

static enum MHD_Result probe_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls)
{
    return handle(cls, conn, url, method, upload_data, upload_data_size, con_cls, true);
}

/* v in decimal, written at the end of buf[size]: returns where it starts. */
static const char *fmt_ull(char *buf, size_t size, unsigned long long v)
{
    char *p = buf + size;

    *--p = '\0';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return p;
}

/* Append s to the string line[0..*n), cut to fit size. */
static void line_puts(char *line, size_t size, size_t *n, const char *s)
{
    while (*s != '\0' && *n < size - 1)
        line[(*n)++] = *s++;
    line[*n] = '\0';
}

/*
** The access log line of req, as chan_log would write "request method=%s
** path=%s status=%u duration_ms=%.3f request_id=%s actor=%s%s" (with
** " aborted=true" last when aborted), made without printf: one a request.
*/
static void access_log(const chand_request *req, double ms, bool aborted)
{
    char line[4096], path[3 * LOG_PATH_MAX + 4], num[32];
    size_t n = 0;

    log_escape(path, req->path);
    line_puts(line, sizeof(line), &n, "request method=");
    line_puts(line, sizeof(line), &n, req->method);
    line_puts(line, sizeof(line), &n, " path=");
    line_puts(line, sizeof(line), &n, path);
    line_puts(line, sizeof(line), &n, " status=");
    line_puts(line, sizeof(line), &n, fmt_ull(num, sizeof(num), req->replied ? req->status : 0));
    line_puts(line, sizeof(line), &n, " duration_ms=");
    if (ms >= 0 && ms < 1e12) { /* "%.3f" */
        unsigned long long us = (unsigned long long)(ms * 1000.0 + 0.5);

        line_puts(line, sizeof(line), &n, fmt_ull(num, sizeof(num), us / 1000));
        num[0] = '.';
        num[1] = (char)('0' + us / 100 % 10);
        num[2] = (char)('0' + us / 10 % 10);
        num[3] = (char)('0' + us % 10);
        num[4] = '\0';
    } else {
        snprintf(num, sizeof(num), "%.3f", ms);
    }
    line_puts(line, sizeof(line), &n, num);
    line_puts(line, sizeof(line), &n, " request_id=");
    line_puts(line, sizeof(line), &n, req->request_id);
    line_puts(line, sizeof(line), &n, " actor=");
    line_puts(line, sizeof(line), &n, req->identity->name ? req->identity->name : "(null)");
    if (aborted)
        line_puts(line, sizeof(line), &n, " aborted=true");
    chan_log_text(CHAN_LOG_INFO, MODULE, line, n);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
    chand_server *server = cls;
    chand_request *req = *con_cls;
    struct timespec now;
    double ms;

    if (req == NULL) {
        track_phase(track_of(conn), PHASE_IDLE);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    track_phase_at(req->track, PHASE_IDLE, ts_ms(&now));
    ms = elapsed_ms(&req->start, &now);
    if (server->observer)
        server->observer(server->observer_ctx, req->method,
                         req->route ? req->route->route->pattern : "(unmatched)",
                         req->replied ? req->status : 0, ms);
    if (server->config->access_log && chan_log_get_level() <= CHAN_LOG_INFO)
        access_log(req, ms, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
    atomic_fetch_sub(&server->active, 1);
    request_free(req);
    *con_cls = NULL;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                          */
/* ------------------------------------------------------------------ */

/* How many connections the reaper closed, by phase, since it last logged. */
typedef struct reap_counts {
    unsigned long head, body, idle;
    unsigned int conns; /* main daemon connections at the last pass */
} reap_counts;

/*
** One pass of the reaper: shut down every connection past the deadline of
** its phase (--request-head-timeout, --request-body-timeout, and
** --connection-timeout counted from the end of the previous request, which
** a client sending a byte now and then cannot stretch).  With 3/4 of the
** connection limit in use, every deadline of the main daemon becomes
** --overload-timeout, so that slow clients give their slots to requests
** that arrive whole.  MHD notices the shut-down socket at once and closes
** it.  Returns true when overloaded.
*/
static bool reap_pass(chand_server *server, reap_counts *counts)
{
    const chand_config *config = server->config;
    long long now = now_ms(), limit_ms[4];
    long long overload_ms = config->overload_timeout * 1000;
    conn_track *t;
    bool overload;

    limit_ms[PHASE_HEAD] = config->request_head_timeout * 1000;
    limit_ms[PHASE_BODY] = config->request_body_timeout * 1000;
    limit_ms[PHASE_BUSY] = 0;
    limit_ms[PHASE_IDLE] = config->connection_timeout * 1000;
    pthread_mutex_lock(&server->conns_lock);
    counts->conns = server->n_conns;
    overload = server->n_conns >= server->connection_limit - server->connection_limit / 4;
    for (t = server->conns; t; t = t->next) {
        int phase = atomic_load(&t->phase);
        long long since = atomic_load(&t->since_ms), allowed = limit_ms[phase];

        if (t->reaped || phase == PHASE_BUSY)
            continue;
        if (overload && !t->probe && overload_ms < allowed)
            allowed = overload_ms;
        if (now - since < allowed)
            continue;
        (void)shutdown(t->fd, SHUT_RDWR);
        t->reaped = true;
        if (phase == PHASE_HEAD)
            counts->head++;
        else if (phase == PHASE_BODY)
            counts->body++;
        else
            counts->idle++;
    }
    pthread_mutex_unlock(&server->conns_lock);
    return overload;
}

static void *reaper_main(void *arg)
{
    chand_server *server = arg;
    reap_counts counts = {0, 0, 0, 0};
    long long last_log = now_ms();
    bool overload = false;

    for (;;) {
        struct timespec until;
        long wait_ms = overload ? 100 : 250;

        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += wait_ms * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&server->conns_lock);
        while (!server->reaper_stop &&
               pthread_cond_timedwait(&server->reaper_wake, &server->conns_lock, &until) == 0)
            ;
        if (server->reaper_stop) {
            pthread_mutex_unlock(&server->conns_lock);
            break;
        }
        pthread_mutex_unlock(&server->conns_lock);
        overload = reap_pass(server, &counts);
        if (counts.head + counts.body + counts.idle > 0 && now_ms() - last_log >= 5000) {
            chan_log(CHAN_LOG_WARN, MODULE,
                     "closed slow connections head=%lu body=%lu idle=%lu overload=%s "
                     "connections=%u limit=%u",
                     counts.head, counts.body, counts.idle, overload ? "true" : "false",
                     counts.conns, server->connection_limit);
            counts = (reap_counts){0, 0, 0, 0};
            last_log = now_ms();
        }
    }
    return NULL;
}

/*
** Raise the soft RLIMIT_NOFILE to the hard limit and fit the connection
** limit into it, with FD_RESERVE descriptors left for everything else.
*/
static unsigned int fit_connection_limit(const chand_config *config)
{
    struct rlimit rl;
    unsigned long long wanted = (unsigned long long)config->connection_limit;
    unsigned long long reserve = FD_RESERVE + (unsigned long long)config->db_pool_size +
                                 2ull * (unsigned long long)config->threads +
                                 (config->health_listen ? HEALTH_CONNECTION_LIMIT : 0);
    unsigned long long fitted = wanted;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return (unsigned int)wanted;
    if (rl.rlim_cur != rl.rlim_max) {
        struct rlimit raised = {rl.rlim_max, rl.rlim_max};

        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    if (rl.rlim_cur != RLIM_INFINITY && wanted + reserve > (unsigned long long)rl.rlim_cur) {
        fitted = (unsigned long long)rl.rlim_cur > reserve + 16
                     ? (unsigned long long)rl.rlim_cur - reserve
                     : 16;
        chan_log(CHAN_LOG_WARN, MODULE,
                 "connection limit lowered to fit the open files limit connection_limit=%llu "
                 "requested=%llu nofile=%llu reserved=%llu (raise LimitNOFILE / ulimit -Hn)",
                 fitted, wanted, (unsigned long long)rl.rlim_cur, reserve);
    } else {
        chan_log(CHAN_LOG_INFO, MODULE, "open files limit nofile=%llu connection_limit=%llu",
                 rl.rlim_cur == RLIM_INFINITY ? 0ull : (unsigned long long)rl.rlim_cur, fitted);
    }
    return (unsigned int)fitted;
}

/* Bind and listen on host:port.  Returns the socket or -1 with err set. */
static int bind_listener(unsigned int *out_port, const char *host, unsigned int port, int defer_s,
                         chan_error *err)
{
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char service[16];
    int fd = -1, one = 1, rc, saved = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%u", port);
    rc = getaddrinfo(host[0] ? host : NULL, service, &hints, &res);
    if (rc != 0) {
        chan_error_set(err, CHAN_EINVALID, "cannot resolve listen address %s: %s", host,
                       gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        chan_error_set(err, CHAN_EIO, "cannot listen on %s:%u: %s", host, port, strerror(saved));
        return -1;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    /* Accept a connection only once its first bytes are in (or defer_s has
     * passed): silent clients wait in the kernel, not in a slot, and
     * refuse_garbage sees the request line. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof(defer_s));
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
        *out_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

int chand_server_start(chand_server **out, const chand_server_options *opts, chan_error *err)
{
    chand_server *server = chan_xcalloc(1, sizeof(*server));
    const chand_config *config = opts->config;
    unsigned int tls_flag = 0;
    struct MHD_OptionItem tls_options[4] = {{MHD_OPTION_END, 0, NULL},
                                            {MHD_OPTION_END, 0, NULL},
                                            {MHD_OPTION_END, 0, NULL},
                                            {MHD_OPTION_END, 0, NULL}};
    pthread_condattr_t cattr;
    struct timespec now;
    size_t t, i, n = 0;
    int error = 0;

    *out = NULL;
    server->config = config;
    server->store = opts->store;
    server->replies = chand_reply_cache_new((size_t)config->reply_cache_mb * 1024 * 1024);
    server->observer = opts->observer;
    server->observer_ctx = opts->observer_ctx;
    server->listen_fd = -1;
    server->health_fd = -1;
    pthread_mutex_init(&server->conns_lock, NULL);
    /* reaper_main waits for CLOCK_MONOTONIC deadlines: with the default clock
       (CLOCK_REALTIME) every wait would time out at once and the reaper spin. */
    pthread_condattr_init(&cattr);
    pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&server->reaper_wake, &cattr);
    pthread_condattr_destroy(&cattr);
    atomic_init(&server->shutting_down, false);
    atomic_init(&server->active, 0);
    atomic_init(&server->next_id, 1);
    clock_gettime(CLOCK_REALTIME, &now);
    server->id_prefix = (unsigned long)now.tv_sec ^ ((unsigned long)now.tv_nsec << 7) ^
                        ((unsigned long)getpid() << 16);

    if (chan_identity_init(&server->anonymous, "anonymous", NULL, NULL) < 0 ||
        chan_identity_init(&server->open, "anonymous", "admin", NULL) < 0)
        abort(); /* constant, valid input */
    server->open.source = "open";
    server->anonymous.source = "none";
    for (t = 0; t < opts->n_tables; t++)
        n += opts->tables[t].n_routes;
    server->routes = chan_xcalloc(n, sizeof(*server->routes));
    for (t = 0; t < opts->n_tables; t++) {
        for (i = 0; i < opts->tables[t].n_routes; i++) {
            error = compile_route(&server->routes[server->n_routes], &opts->tables[t].routes[i],
                                  opts->tables[t].content_type, err);
            server->n_routes++;
            if (error < 0)
                goto cleanup;
        }
    }

    server->listen_fd = bind_listener(&server->port, config->listen_host, config->listen_port,
                                      (int)config->request_head_timeout, err);
    if (server->listen_fd < 0) {
        error = err ? err->code : CHAN_EIO;
        goto cleanup;
    }
    if (config->health_listen) {
        server->health_fd =
            bind_listener(&server->health_port, config->health_listen_host,
                          config->health_listen_port, (int)config->request_head_timeout, err);
        if (server->health_fd < 0) {
            chan_error_prefix(err, "--health-listen");
            error = err ? err->code : CHAN_EIO;
            goto cleanup;
        }
    }
    server->connection_limit = fit_connection_limit(config);
    if (pthread_create(&server->reaper, NULL, reaper_main, server) != 0) {
        error = chan_error_set(err, CHAN_EIO, "cannot start the connection reaper thread");
        goto cleanup;
    }
    server->reaper_started = true;
    /* HTTPS: the PEM texts belong to the config, which outlives the MHD daemon. */
    if (config->tls_cert_pem) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            error = chan_error_set(err, CHAN_EINVALID,
                                   "--tls-cert: this libmicrohttpd was built without TLS support");
            goto cleanup;
        }
        tls_flag = MHD_USE_TLS;
        tls_options[0] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, config->tls_cert_pem};
        tls_options[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, config->tls_key_pem};
        tls_options[2] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, config->tls_priorities};
    }
    server->mhd = MHD_start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | tls_flag, 0, NULL, NULL,
        access_handler, server, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET,
        server->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)config->threads,
        MHD_OPTION_CONNECTION_LIMIT, server->connection_limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)config->per_ip_connection_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)config->connection_timeout, MHD_OPTION_NOTIFY_COMPLETED, request_completed,
        server, MHD_OPTION_NOTIFY_CONNECTION, notify_main, server, MHD_OPTION_URI_LOG_CALLBACK,
        request_line_read, server, MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
    if (server->mhd == NULL) {
        if (config->tls_cert_pem)
            error = chan_error_set(err, CHAN_EIO,
                                   "cannot start HTTPS on %s: check that --tls-key (%s) is the "
                                   "key of --tls-cert (%s) and that --tls-priorities is valid",
                                   config->listen, config->tls_key, config->tls_cert);
        else
            error =
                chan_error_set(err, CHAN_EIO, "cannot start the HTTP server on %s", config->listen);
        goto cleanup;
    }
    server->listen_fd = -1; /* MHD owns it now; chand_server_quiesce takes it back */
    if (server->health_fd >= 0) {
        /* One thread, poll(), a small limit: the probes' own capacity. */
        server->health_mhd = MHD_start_daemon(
            MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | tls_flag, 0, NULL,
            NULL, probe_handler, server, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
            MHD_OPTION_LISTEN_SOCKET, server->health_fd, MHD_OPTION_CONNECTION_LIMIT,
            HEALTH_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned int)config->connection_timeout, MHD_OPTION_NOTIFY_COMPLETED,
            request_completed, server, MHD_OPTION_NOTIFY_CONNECTION, notify_probe, server,
            MHD_OPTION_URI_LOG_CALLBACK, request_line_read, server, MHD_OPTION_UNESCAPE_CALLBACK,
            unescape_none, NULL, MHD_OPTION_ARRAY, tls_options, MHD_OPTION_END);
        if (server->health_mhd == NULL) {
            error = chan_error_set(err, CHAN_EIO, "cannot start the health listener on %s",
                                   config->health_listen);
            goto cleanup;
        }
        server->health_fd = -1;
        chan_log(CHAN_LOG_INFO, MODULE, "health listener host=%s port=%u (/healthz, /readyz)",
                 config->health_listen_host, server->health_port);
    }
    *out = server;
    server = NULL;

cleanup:
    chand_server_free(server);
    return error;
}

unsigned int chand_server_port(const chand_server *server)
{
    return server->port;
}

unsigned int chand_server_health_port(const chand_server *server)
{
    return server->health_mhd ? server->health_port : 0;
}

unsigned int chand_server_connection_limit(const chand_server *server)
{
    return server->connection_limit;
}

void chand_server_quiesce(chand_server *server)
{
    MHD_socket fd;

    if (atomic_exchange(&server->shutting_down, true))
        return;
    fd = MHD_quiesce_daemon(server->mhd);
    if (fd == MHD_INVALID_SOCKET)
        return;
    /* Handed back by MHD, but its worker threads may still be taking it out of
     * their poll sets: refuse new connections now, close it after MHD stops. */
    (void)shutdown(fd, SHUT_RDWR);
    server->listen_fd = fd;
}

bool chand_server_shutting_down(const chand_server *server)
{
    return atomic_load(&((chand_server *)server)->shutting_down);
}

unsigned int chand_server_active_requests(const chand_server *server)
{
    return atomic_load(&((chand_server *)server)->active);
}

void chand_server_free(chand_server *server)
{
    if (server == NULL)
        return;
    if (server->health_mhd)
        MHD_stop_daemon(server->health_mhd);
    if (server->mhd)
        MHD_stop_daemon(server->mhd);
    if (server->reaper_started) {
        pthread_mutex_lock(&server->conns_lock);
        server->reaper_stop = true;
        pthread_cond_signal(&server->reaper_wake);
        pthread_mutex_unlock(&server->conns_lock);
        pthread_join(server->reaper, NULL);
    }
    pthread_cond_destroy(&server->reaper_wake);
    pthread_mutex_destroy(&server->conns_lock);
    if (server->listen_fd >= 0)
        close(server->listen_fd);
    if (server->health_fd >= 0)
        close(server->health_fd);
    free_routes(server->routes, server->n_routes);
    chand_reply_cache_free(server->replies);
    chan_identity_dispose(&server->anonymous);
    chan_identity_dispose(&server->open);
    free(server);
}

int chand_server_check_routes(const chand_route_table *tables, size_t n_tables, chan_error *err)
{
    compiled_route r;
    size_t t, i;
    int error;

    for (t = 0; t < n_tables; t++) {
        for (i = 0; i < tables[t].n_routes; i++) {
            error = compile_route(&r, &tables[t].routes[i], tables[t].content_type, err);
            free_route_segments(&r);
            if (error < 0)
                return error;
        }
    }
    return 0;
}

void chand_server_print_routes(FILE *out, const chand_route_table *tables, size_t n_tables)
{
    size_t t, i;

    for (t = 0; t < n_tables; t++) {
        for (i = 0; i < tables[t].n_routes; i++) {
            const chand_route *r = &tables[t].routes[i];

            fprintf(out, "%s %s %s\n", r->method, r->pattern, chan_authz_action_name(r->action));
        }
    }
}
