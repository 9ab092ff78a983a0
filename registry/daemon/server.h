/*
 * server.h - chanregd's HTTP server: routing, authentication, request bodies
 * and JSON replies on top of libmicrohttpd.
 *
 * An API module is a table of routes {method, pattern, handler, action,
 * target}.  A
 * pattern is a path whose segments are either literal ("subjects") or a
 * named parameter ("{subject}") that matches exactly one non-empty segment;
 * the handler reads it back, percent-decoded, with chand_request_param.  The
 * route tables of every module are listed in api.h and handed to the server
 * by main.c, so adding a module means adding a table, not editing the server.
 *
 * Before a handler runs, the server has
 *  - authenticated the request (401 for a missing, unknown or expired token
 *    when auth is on, except on PUBLIC routes and, without --auth-reads, on
 *    READ routes) and set its identity: the token's, "anonymous" without
 *    roles when auth is on and no token was sent, or "anonymous" with role
 *    admin in open mode (no --token, no --token-file);
 *  - read the whole body, refusing more than --max-body bytes with 413;
 *  - resolved the route's target (the owning team of the subject, channel
 *    or consumer) and asked chan_authz_check whether the identity may
 *    perform the route's action on it, refusing with 403 (error code 40301)
 *    when not.  Handlers never decide who may act; they read the decision
 *    (chand_request_decision) when it matters, e.g. as which team;
 *  - assigned a request id (the client's X-Request-Id or a generated one).
 *
 * A handler (chand_route_fn) does one of two things:
 *  - it replies with exactly one chand_reply_* call and returns 0 (or the
 *    value returned by that call);
 *  - it returns a negative CHAN_E* code with err set and does not reply; the
 *    server then answers with chand_reply_error_from, which maps the error to
 *    an HTTP status and a JSON body {"error_code": N, "message": "..."}.
 *
 * Error codes follow the Confluent Schema Registry convention: the HTTP
 * status is error_code / 100 for five-digit codes (40401 -> 404) and the
 * error_code itself for three-digit ones (409).  A handler picks a precise
 * code by setting it with chand_http_error (it goes into err->reason), or by
 * replying directly with chand_reply_error / chand_reply_diags.
 *
 * Threads: handlers run on the server's worker threads, several at once; the
 * store and the configuration they reach are thread-safe or read-only.
 *
 * Ownership: a chand_request and everything it returns (parameters, body,
 * actor, ...) are borrowed and valid until the handler returns.  json_t
 * bodies passed to chand_reply_json are stolen (the server decrefs them).
 */
#ifndef CHANREGD_SERVER_H
#define CHANREGD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "chan/authz.h"
#include "chan/common.h"
#include "chan/error.h"
#include "chan/store.h"

typedef struct chand_config chand_config;
typedef struct chand_server chand_server;
typedef struct chand_request chand_request;

/**
 * A route handler; see the file comment for the reply contract.
 *
 * @param req the request (borrowed)
 * @param err where to describe a failure that the server should render
 * @return 0 once replied, or a negative CHAN_E* code (without a reply)
 */
typedef int (*chand_route_fn)(chand_request *req, chan_error *err);

/**
 * Resolve what a request acts on, for chan_authz_check: the owning team of
 * the route's subject, channel or consumer (authz_targets.h).  Runs after
 * the body is read, before the handler.  Strings put into out must live as
 * long as the request: copy them with chand_request_keep.
 *
 * @param[out] out zeroed by the caller
 * @return 0, or a negative CHAN_E* code (the server replies with err)
 */
typedef int (*chand_route_target_fn)(chan_authz_target *out, chand_request *req, chan_error *err);

/**
 * Whether the server may keep a route's 200 replies in its reply cache
 * (reply_cache.h) and serve them again, after authentication and
 * authorization, without running the handler.  Only for routes whose
 * handler writes nothing and whose reply depends on nothing but the request
 * (method, path and query, negotiated content type, body), the store and,
 * with CHAND_CACHE_SECOND, the current second; never on who asks.
 */
typedef enum chand_cache_kind {
    CHAND_CACHE_NONE = 0, /**< not cached (the default of a table entry) */
    CHAND_CACHE_STORE,    /**< valid while the store's generation is unchanged */
    CHAND_CACHE_SECOND,   /**< also uses time(NULL): valid within the same second too */
} chand_cache_kind;

/**
 * One entry of a route table.  Every route names its action; the server
 * refuses to start when one is out of range, when a PUBLIC route is not a
 * GET, or when an action that acts on a subject, channel or consumer has no
 * target resolver.
 */
typedef struct chand_route {
    const char *method;           /**< "GET", "POST", "PUT", "DELETE" */
    const char *pattern;          /**< e.g. "/subjects/{subject}/versions/{version}" */
    chand_route_fn handler;       /**< called for a matching request */
    chan_authz_action action;     /**< what the route does, for chan_authz_check */
    chand_route_target_fn target; /**< NULL: the action has no target */
    chand_cache_kind cache;       /**< may replies be cached (left out: no) */
} chand_route;

/** A route table of one API module. */
typedef struct chand_route_table {
    const chand_route *routes;
    size_t n_routes;
    /** Content type of JSON replies when the client's Accept does not choose */
    const char *content_type;
} chand_route_table;

/** Most path parameters a pattern may have. */
#define CHAND_ROUTE_MAX_PARAMS 8

/** Content type of every JSON reply of the Confluent-compatible API. */
#define CHAND_CONTENT_TYPE_SR "application/vnd.schemaregistry.v1+json"
/** Content type of the JSON replies of the other endpoints. */
#define CHAND_CONTENT_TYPE_JSON "application/json"

/* ------------------------------------------------------------------ */
/* Server life cycle (main.c)                                          */
/* ------------------------------------------------------------------ */

/**
 * Called once per finished request, on a worker thread (so it must be
 * thread-safe), e.g. to count requests in metrics.
 *
 * @param route  the matched pattern, e.g. "/subjects/{subject}/versions",
 *               or "(unmatched)" for 404/405 replies
 * @param status the HTTP status sent, 0 when the client went away first
 */
typedef void (*chand_request_observer)(void *ctx, const char *method, const char *route,
                                       unsigned int status, double duration_ms);

/** What the server serves.  Everything is borrowed and must outlive the server. */
typedef struct chand_server_options {
    const chand_config *config;      /**< listen address, limits, tokens */
    chan_store *store;               /**< the registry's storage */
    const chand_route_table *tables; /**< route tables, searched in order */
    size_t n_tables;
    chand_request_observer observer; /**< may be NULL */
    void *observer_ctx;
} chand_server_options;

/**
 * Validate the route tables, bind the listening socket and start serving.
 *
 * @param[out] out the running server (stop and free with chand_server_free)
 * @param opts     what to serve (borrowed)
 * @return 0, CHAN_EINVALID (a bad route pattern or listen address) or
 *         CHAN_EIO (cannot bind)
 */
int chand_server_start(chand_server **out, const chand_server_options *opts, chan_error *err);

/**
 * Check route tables as chand_server_start does (patterns and actions).
 * @return 0 or CHAN_EINVALID naming the first bad route
 */
int chand_server_check_routes(const chand_route_table *tables, size_t n_tables, chan_error *err);

/** Print "METHOD PATTERN ACTION" for every route of the tables, in order. */
void chand_server_print_routes(FILE *out, const chand_route_table *tables, size_t n_tables);

/** The TCP port the server listens on (useful with port 0). */
unsigned int chand_server_port(const chand_server *server);

/** The port of the --health-listen daemon, 0 without one. */
unsigned int chand_server_health_port(const chand_server *server);

/** --connection-limit as fitted to RLIMIT_NOFILE at the start. */
unsigned int chand_server_connection_limit(const chand_server *server);

/**
 * Stop accepting connections and mark the server as shutting down (readyz
 * then fails, replies carry "Connection: close").  Requests in flight go on.
 */
void chand_server_quiesce(chand_server *server);

/** True once chand_server_quiesce has been called. */
bool chand_server_shutting_down(const chand_server *server);

/** Number of requests being processed right now. */
unsigned int chand_server_active_requests(const chand_server *server);

/** Stop the server (closing every connection) and free it.  NULL-safe. */
void chand_server_free(chand_server *server);

/* ------------------------------------------------------------------ */
/* Requests (handlers)                                                  */
/* ------------------------------------------------------------------ */

/** The request method, e.g. "GET". */
const char *chand_request_method(const chand_request *req);

/** The request path without the query string, as sent (not decoded). */
const char *chand_request_path(const chand_request *req);

/** The request id (also sent back in X-Request-Id). */
const char *chand_request_id(const chand_request *req);

/**
 * A path parameter of the matched pattern, percent-decoded.
 * @return the value (borrowed), or NULL when the pattern has no such name
 */
const char *chand_request_param(const chand_request *req, const char *name);

/**
 * A query parameter, percent-decoded ('+' is a space).
 * @return the first value (borrowed); "" for "?flag"; NULL when absent
 */
const char *chand_request_query(const chand_request *req, const char *name);

/**
 * A boolean query parameter: "true"/"1" are true, "false"/"0" false (case
 * insensitive); absent gives def.
 * @return 0, or CHAN_EINVALID (with err set, error code 40002) for another value
 */
int chand_request_query_bool(bool *out, const chand_request *req, const char *name, bool def,
                             chan_error *err);

/** A request header (case-insensitive name), or NULL.  Borrowed. */
const char *chand_request_header(const chand_request *req, const char *name);

/**
 * The request body (at most --max-body bytes), NUL-terminated.
 * @param[out] out_len its length, may be NULL
 * @return the body (borrowed); "" when there is none
 */
const char *chand_request_body(const chand_request *req, size_t *out_len);

/**
 * Parse the body as a JSON object.
 *
 * @param[out] out the object; caller json_decref's it; NULL on failure
 * @return 0 or CHAN_EINVALID with error code 40001 ("invalid JSON ... at
 *         line L column C") or 42200 when the JSON is not an object
 */
int chand_request_json(json_t **out, const chand_request *req, chan_error *err);

/** Who sends the request (the audit actor): the identity's name.  Borrowed. */
const char *chand_request_actor(const chand_request *req);

/**
 * The authenticated identity: a token's, or "anonymous" (no roles when auth
 * is on, role admin in open mode; source "open").  Never NULL.  Borrowed.
 */
const chan_identity *chand_request_identity(const chand_request *req);

/**
 * The authorization decision for this request (as_owner, the team the
 * identity acts for).  Its team points into the identity or the target:
 * valid until the handler returns.  Borrowed.
 */
const chan_authz_decision *chand_request_decision(const chand_request *req);

/** True when auth is on (--token or --token-file). */
bool chand_request_auth_on(const chand_request *req);

/**
 * Copy s into memory owned by the request (freed with it), for target
 * resolvers.  @return the copy, or NULL when s is NULL
 */
const char *chand_request_keep(chand_request *req, const char *s);

/** The store.  Borrowed. */
chan_store *chand_request_store(const chand_request *req);

/** The server's reply cache (for its metrics), NULL when disabled.  Borrowed. */
struct chand_reply_cache *chand_request_reply_cache(const chand_request *req);
/** The daemon's configuration (read-only).  Borrowed. */
const chand_config *chand_request_config(const chand_request *req);

/** True once the daemon is shutting down (readiness probes fail). */
bool chand_request_shutting_down(const chand_request *req);

/** Requests the server is processing right now, this one included. */
unsigned int chand_request_in_flight(const chand_request *req);

/* ------------------------------------------------------------------ */
/* Replies (handlers)                                                   */
/* ------------------------------------------------------------------ */

/**
 * Reply with a JSON document.  The content type follows the client's Accept
 * header (application/vnd.schemaregistry.v1+json or application/json), or
 * the default of the route's table when Accept names neither.
 *
 * @param status HTTP status, e.g. 200
 * @param body   the document; stolen (decref'd by the server), NULL gives "null"
 * @return 0, or CHAN_EINTERNAL when the reply could not be queued
 */
int chand_reply_json(chand_request *req, unsigned int status, json_t *body);

/**
 * Add a header (name and value copied) to the reply the handler sends next,
 * e.g. "Warning".  Values must not contain CR or LF.
 */
void chand_reply_header(chand_request *req, const char *name, const char *value);

/**
 * Reply with a JSON document already rendered as text, with the content
 * type of chand_reply_json.  Takes text (len bytes, from malloc) over: the
 * server frees it, also on failure.
 */
int chand_reply_json_text(chand_request *req, unsigned int status, char *text, size_t len);

/**
 * Reply with bytes already rendered (copied).
 * @param content_type e.g. CHAND_CONTENT_TYPE_JSON or "text/plain; charset=utf-8"
 */
int chand_reply_raw(chand_request *req, unsigned int status, const char *content_type,
                    const char *body, size_t len);

/**
 * Reply with a JSON error {"error_code": code, "message": "..."}; the HTTP
 * status is derived from code (see the file comment).
 */
int chand_reply_error(chand_request *req, int code, const char *fmt, ...) CHAN_PRINTF(3, 4);

/**
 * Reply with a validation error: {"error_code": code, "message": message,
 * "errors": [{"rule", "path", "line", "column", "message", "severity", "hint"}]}
 * with one entry per diagnostic (fields that are unknown are left out).
 */
int chand_reply_diags(chand_request *req, int code, const char *message,
                      const chan_diag_list *diags);

/**
 * Reply with the JSON rendering of err: chand_http_error_code gives the
 * error code, err->message the message (and err->detail, when set, is
 * appended after "; ").
 */
int chand_reply_error_from(chand_request *req, const chan_error *err);

/**
 * Set err (code and printf-style message) and the API error code to reply
 * with (stored in err->reason).  Store reasons (small numbers) and API error
 * codes (>= 400) never overlap.
 *
 * @return code, so that handlers can `return chand_http_error(err, ...)`
 */
int chand_http_error(chan_error *err, int code, int api_code, const char *fmt, ...)
    CHAN_PRINTF(4, 5);

/**
 * The API error code for err: err->reason when it is an API code, the
 * Confluent code of a store reason (SUBJECT_NOT_FOUND -> 40401, ...), or a
 * default per CHAN_E* code (ENOTFOUND 40400, EINVALID 42200, EINCOMPATIBLE
 * 409, ECONFLICT 40900, EDENIED 40300, ETOOBIG 41300, EUNAVAILABLE 50001,
 * EIO/EINTERNAL 50000).
 */
int chand_http_error_code(const chan_error *err);

/** The HTTP status of an API error code (40401 -> 404, 409 -> 409). */
unsigned int chand_http_status_of(int api_code);

#endif
