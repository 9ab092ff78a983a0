/*
 * registry_client.h - chanctl's HTTP client for chanregd.
 *
 * chanctl reaches a registry over HTTP only.  This client wraps libcurl and
 * jansson: it holds the base URL, the bearer token and the timeouts, sends
 * JSON bodies, parses JSON replies and turns every failure into a chan_error:
 *
 *   - the registry cannot be reached (refused, unresolvable, timed out):
 *     CHAN_EUNAVAILABLE, "cannot reach registry at URL", with a hint;
 *   - an https:// registry whose certificate does not verify against the CA
 *     file (--cacert) or the system's CAs: CHAN_EUNAVAILABLE, "cannot verify
 *     the registry's certificate", with a hint to pass --cacert;
 *   - the registry answered with an error status: the code follows the HTTP
 *     status (404 CHAN_ENOTFOUND, 401/403 CHAN_EDENIED, 409 CHAN_EINCOMPATIBLE
 *     or CHAN_ECONFLICT, 422 CHAN_EINVALID, 5xx CHAN_EUNAVAILABLE or
 *     CHAN_EINTERNAL), err->message is the server's "message", err->reason
 *     its "error_code" and err->detail names the request and the status;
 *   - a reply that is not the JSON expected: CHAN_EINTERNAL.
 *
 * On top of the generic request sit the calls chanctl needs: the Confluent
 * Schema Registry API (subjects, versions, ids, config, compatibility) and the
 * channels API (/v1/channels).
 *
 * Ownership: a cli_registry comes from cli_registry_new and is freed with
 * cli_registry_free.  json_t results passed through `out` belong to the
 * caller (json_decref); strings through `out` are freed with free().
 * cli_registry_last_error returns a borrowed document.  A cli_registry is not
 * thread-safe, and cli_registry_new / cli_registry_free initialise and release
 * libcurl globally: create and free clients from one thread.
 */
#ifndef CHANCTL_REGISTRY_CLIENT_H
#define CHANCTL_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "chan/contract.h"
#include "chan/error.h"

/** Environment variable with the registry URL when --registry is not given. */
#define CLI_REGISTRY_URL_ENV "CHANREG_URL"
/** Environment variable with the bearer token when --token is not given. */
#define CLI_REGISTRY_TOKEN_ENV "CHANREG_TOKEN"
/** Environment variable with the CA certificate file when --cacert is not given. */
#define CLI_REGISTRY_CACERT_ENV "CHANREG_CACERT"

/** Largest reply body the client accepts (bytes). */
#define CLI_REGISTRY_MAX_REPLY (64u * 1024u * 1024u)

/** Connection settings.  Strings are copied by cli_registry_new. */
typedef struct cli_registry_options {
    const char *url;         /**< base URL, e.g. "http://127.0.0.1:8081"; required */
    const char *token;       /**< bearer token, NULL or "" for none */
    long connect_timeout_ms; /**< TCP/TLS connect timeout; 0 = 5 s */
    long timeout_ms;         /**< whole request timeout; 0 = 30 s */
    const char *cacert;      /**< PEM file of the CAs that may sign an https:// registry's
                                  certificate; NULL: the system's CA store */
} cli_registry_options;

#define CLI_REGISTRY_OPTIONS_INIT                                                                  \
    {                                                                                              \
        NULL, NULL, 0, 0, NULL                                                                     \
    }

typedef struct cli_registry cli_registry;

/**
 * Create a client.  Does not connect: the first request does.
 *
 * @param[out] out the client (free with cli_registry_free), NULL on failure
 * @param opts     settings; opts->url must be an http:// or https:// URL
 * @return 0 or CHAN_EINVALID (bad URL, token with control characters,
 *         unreadable CA file)
 */
int cli_registry_new(cli_registry **out, const cli_registry_options *opts, chan_error *err);

/** Free a client.  NULL-safe. */
void cli_registry_free(cli_registry *reg);

/** The base URL without trailing slashes.  Borrowed. */
const char *cli_registry_url(const cli_registry *reg);

/**
 * Fill opts from the command line values, falling back to the environment
 * (CHANREG_URL, CHANREG_TOKEN).  Strings stay borrowed from the arguments or
 * the environment.
 *
 * @return 0, or CHAN_EINVALID when no URL is given anywhere
 */
int cli_registry_options_resolve(cli_registry_options *opts, const char *url_arg,
                                 const char *token_arg, chan_error *err);

/**
 * Create a client from command-line values: --registry (else CHANREG_URL),
 * --token (else CHANREG_TOKEN), --timeout in seconds (NULL for the
 * default) and --cacert (else CHANREG_CACERT).
 *
 * @param[out] out the client (free with cli_registry_free), NULL on failure
 * @return 0 or CHAN_EINVALID (no URL, bad URL, bad timeout, unreadable CA file)
 */
int cli_registry_open(cli_registry **out, const char *url_arg, const char *token_arg,
                      const char *timeout_arg, const char *cacert_arg, chan_error *err);

/**
 * The chanctl exit code for a failed registry call: CLI_EXIT_FAILED for
 * answers about the data (not found, invalid, incompatible, conflict),
 * CLI_EXIT_RUNTIME for everything that kept the request from running
 * (unreachable, denied, I/O, server errors).
 */
int cli_registry_exit_code(int code);

/**
 * Send one request and parse the JSON reply.
 *
 * @param[out] out        the reply document of a 2xx answer (caller decrefs);
 *                        NULL when the body was empty or on failure; may be
 *                        NULL when the caller does not want it
 * @param[out] out_status HTTP status, 0 when no answer arrived; may be NULL
 * @param reg             the client
 * @param method          "GET", "POST", "PUT" or "DELETE"
 * @param path            path and query below the base URL, starting with '/';
 *                        segments must already be escaped (cli_registry_escape)
 * @param body            request document or NULL (not consumed)
 * @return 0 for a 2xx reply, otherwise a negative CHAN_E* code (see the file
 *         comment); the error document of the reply stays available through
 *         cli_registry_last_error until the next request
 */
int cli_registry_request(json_t **out, long *out_status, cli_registry *reg, const char *method,
                         const char *path, const json_t *body, chan_error *err);

/**
 * GET a paged /v1 list completely: path (with its query, if any), then the
 * same with `cursor` set to each reply's next_cursor until it is null.  The
 * arrays under `key` are concatenated into the first reply, whose
 * next_cursor and total are removed, so *out looks like an unpaged reply.
 *
 * @param page_size the `limit` of each request, 0 for the registry's default
 * @return as cli_registry_request, or CHAN_EINTERNAL when a reply has no
 *         `key` array or a cursor does not advance
 */
int cli_registry_list_all(json_t **out, cli_registry *reg, const char *path, const char *key,
                          unsigned int page_size, chan_error *err);

/**
 * The JSON error document of the last failed request ({"error_code",
 * "message", "errors": [...]}), or NULL.  Borrowed: valid until the next
 * request or cli_registry_free.
 */
const json_t *cli_registry_last_error(const cli_registry *reg);

/**
 * Append the "errors" array of the last error document to diags, one
 * CHAN_DIAG_ERROR each with its rule, path, line, column and message.
 *
 * @param file source file to attach to each diagnostic (may be NULL)
 * @return number of diagnostics appended
 */
size_t cli_registry_last_error_diags(const cli_registry *reg, chan_diag_list *diags,
                                     const char *file);

/**
 * Percent-encode one path segment (RFC 3986 unreserved characters are kept).
 * @return the encoded segment; caller frees
 */
char *cli_registry_escape(const char *segment);

/**
 * A JSON value of a registry reply as text for tables and key/value views:
 * strings as they are, numbers and booleans in JSON form, null or a missing
 * value as "-", arrays and objects as compact JSON.  Control characters are
 * replaced with '?' so that a reply cannot drive the terminal.
 *
 * @return the text; caller frees
 */
char *cli_registry_value_text(const json_t *value);

/**
 * Print a JSON document on stdout, indented, followed by a newline.
 * @return 0 or CHAN_EIO
 */
int cli_registry_print_json(const json_t *doc, chan_error *err);

/* ------------------------------------------------------------------ */
/* Confluent Schema Registry API                                        */
/* ------------------------------------------------------------------ */

/** A registered schema version, as the registry reports it. */
typedef struct cli_schema_ref {
    int id;      /**< global schema id */
    int version; /**< version number within the subject */
} cli_schema_ref;

/**
 * The registered versions of subject, GET /subjects/{subject}/versions.
 *
 * @param[out] out        the array of version numbers (caller decrefs), an
 *                        empty array for an unknown subject; may be NULL
 * @param[out] out_latest the highest version, 0 for an unknown subject; may be NULL
 * @return 0 or CHAN_E* (CHAN_EINTERNAL for a reply that is not an array of versions)
 */
int cli_registry_subject_versions(json_t **out, int *out_latest, cli_registry *reg,
                                  const char *subject, chan_error *err);

/**
 * Is this schema already registered under subject?  POST /subjects/{subject}.
 *
 * @param[out] out id and version of the registered schema
 * @return 0 when found, CHAN_ENOTFOUND when the subject or the schema is
 *         unknown (err says which), another CHAN_E* code on failure
 */
int cli_registry_lookup_schema(cli_schema_ref *out, cli_registry *reg, const char *subject,
                               const char *schema, chan_error *err);

/**
 * Register a schema under subject (POST /subjects/{subject}/versions) and
 * report the id and version it received.  Registering a schema that is
 * already there returns its existing id and version.
 *
 * @return 0, CHAN_EINCOMPATIBLE (the registry refused the change: the
 *         reasons are in err->detail), CHAN_EINVALID, or another code
 */
int cli_registry_register_schema(cli_schema_ref *out, cli_registry *reg, const char *subject,
                                 const char *schema, chan_error *err);

/**
 * The subject-level compatibility mode, GET /config/{subject}.
 *
 * @param[out] out the mode, e.g. "BACKWARD" (caller frees); NULL when the
 *                 subject has no mode of its own
 * @return 0 (also when the subject has no mode of its own) or CHAN_E*
 */
int cli_registry_get_compatibility(char **out, cli_registry *reg, const char *subject,
                                   chan_error *err);

/**
 * Set the subject-level compatibility mode, PUT /config/{subject}.  With
 * dry_run (?dry_run=true) the registry runs the checks of the real call and
 * answers as it would, without setting anything.
 *
 * @return 0 or CHAN_E*
 */
int cli_registry_set_compatibility(cli_registry *reg, const char *subject, const char *mode,
                                   bool dry_run, chan_error *err);

/**
 * Can schema be registered under subject as the next version?
 * POST /compatibility/subjects/{subject}/versions?verbose=true: the registry
 * checks it against the versions the subject's mode concerns (the latest for
 * BACKWARD, FORWARD and FULL; every version for the transitive modes).
 *
 * @param[out] out_compatible true when the registry accepts the schema; also
 *                            true when the subject does not exist yet
 * @param[out] out_messages   the registry's reasons (caller decrefs; an empty
 *                            array when compatible); may be NULL
 * @return 0 when the check ran (whatever its verdict) or CHAN_E*
 */
int cli_registry_check_compatibility(bool *out_compatible, json_t **out_messages, cli_registry *reg,
                                     const char *subject, const char *schema, chan_error *err);

/**
 * Message index of a compatibility verdict's messages as a readable line.
 * Confluent's "{errorType:'T', description:'D', ...}" becomes "T: D (against
 * version N)", N from the "{oldSchemaVersion: N}" message that follows the
 * issue's group (or inline, as older registries put it); other strings are
 * kept; "{oldSchemaVersion: N}", "{oldSchema: '...'}", "{validateFields: ...,
 * compatibility: ...}" and "{compatibility: ...}" give NULL (reported
 * elsewhere).  Control characters are replaced with '?'.
 *
 * @return the line (caller frees) or NULL to leave the message out
 */
char *cli_registry_compat_message(const json_t *messages, size_t index);

/** One schema version a contract declares, for cli_registry_check_versions. */
typedef struct cli_schema_version {
    int version;        /**< the contract's version number */
    const char *schema; /**< schema text */
    const char *file;   /**< file the version came from, for diagnostics (may be NULL) */
    int line;           /**< location in file, 0 if unknown */
    int column;
} cli_schema_version;

/**
 * Check the declared versions of one subject against a registry, as
 * `chanctl validate --registry URL` does.  Versions are given oldest first.
 * Each version already registered must carry the same version number in the
 * registry, and each version not yet registered must be the next number
 * (diagnostic "registry-version-mismatch" otherwise); each of those is checked with
 * cli_registry_check_compatibility against what the registry holds (the
 * latest version, or all of them under a transitive mode).  (Later new versions are checked against
 * the registered latest, not against the earlier new ones; the offline check covers the versions of
 * the contract among themselves.)
 *
 * Appends one CHAN_DIAG_ERROR per problem to diags: rule "registry-incompatible"
 * with each message of the registry, or "registry-version-mismatch".
 *
 * @param[out] out_new number of versions not yet registered, may be NULL
 * @return 0 when the checks ran (look at diags for the verdict) or CHAN_E*
 *         when the registry could not be asked
 */
int cli_registry_check_versions(size_t *out_new, cli_registry *reg, const char *subject,
                                const cli_schema_version *versions, size_t n_versions,
                                chan_diag_list *diags, chan_error *err);

/**
 * cli_registry_check_versions for every schema version of a loaded contract
 * (chan_contract_load, so that each version has its schema): what
 * `chanctl validate --registry URL` runs for each valid contract.  Schemas are
 * sent in their normalized form (chan_avro_schema_normalized), as
 * `chanctl register` sends them.  Diagnostics point at the contract file and
 * the line of each version.
 *
 * @param[out] out_new number of versions not yet registered, may be NULL
 * @return 0 when the checks ran (diags holds the verdict), CHAN_EINVALID when
 *         a version has no parsed schema, or the CHAN_E* code of a failed request
 */
int cli_registry_check_contract(size_t *out_new, cli_registry *reg, const chan_contract *contract,
                                chan_diag_list *diags, chan_error *err);

/* ------------------------------------------------------------------ */
/* Channels API                                                         */
/* ------------------------------------------------------------------ */

/** How cli_registry_put_channel sends the contract. */
typedef struct cli_channel_put_options {
    long expected_revision; /**< optimistic lock, or -1 for none (0 = must not exist) */
    /**
     * ?dry_run=true: the registry runs the same checks and changes as for a
     * real PUT, replies the same way, then rolls back.  A registry older than
     * dry runs ignores the parameter and applies the contract: its reply has
     * no "dry_run" member (see cli_registry_put_channel).
     */
    bool dry_run;
    /**
     * Dry run only: versions of the contract's subject that the real run
     * would register before this PUT (&pending_versions=4,5), so that the
     * registry does not refuse them as not registered.  May be NULL.
     */
    const int *pending_versions;
    size_t n_pending_versions;
} cli_channel_put_options;

#define CLI_CHANNEL_PUT_OPTIONS_INIT                                                               \
    {                                                                                              \
        -1, false, NULL, 0                                                                         \
    }

/**
 * Create or update a channel: PUT /v1/channels/{name}.
 *
 * @param[out] out       the reply (caller decrefs): {"name", "revision",
 *                       "changed"} and, from registries that track the origin
 *                       of consumers, "drift" (API-registered consumers that
 *                       the contract does not name, kept), "adopted" (names of
 *                       API consumers the contract now manages) and "dry_run";
 *                       older registries leave those out
 * @param[out] out_created true when the channel did not exist before (201)
 * @param contract       the contract document (not consumed)
 * @param opts           NULL for CLI_CHANNEL_PUT_OPTIONS_INIT
 * @return 0, CHAN_EINVALID (validation failed: see cli_registry_last_error_diags),
 *         CHAN_ECONFLICT, CHAN_EINCOMPATIBLE (409 with the registry's
 *         "errors", e.g. a new consumer on a deprecated channel), or another
 *         CHAN_E* code
 */
int cli_registry_put_channel(json_t **out, bool *out_created, cli_registry *reg, const char *name,
                             const json_t *contract, const cli_channel_put_options *opts,
                             chan_error *err);

/**
 * GET /v1/channels/{name}.
 * @param[out] out the channel (caller decrefs)
 * @return 0, CHAN_ENOTFOUND or another CHAN_E* code
 */
int cli_registry_get_channel(json_t **out, cli_registry *reg, const char *name, chan_error *err);

/* ------------------------------------------------------------------ */
/* API tokens (admin)                                                   */
/* ------------------------------------------------------------------ */

/**
 * Create an API token of the store: POST /v1/tokens.
 *
 * @param[out] out        the reply {"id", "identity", "roles", "expires_at",
 *                        "token", ...} (caller decrefs); the token appears
 *                        in it only, never again
 * @param identity        identity name the token authenticates
 * @param roles           n_roles roles, e.g. "ci:orders"
 * @param expires_in_days 0 never, -1 the registry's default (90)
 * @param description     free text or NULL
 * @return 0, CHAN_EINVALID (the registry refused the request: its reasons
 *         are in cli_registry_last_error), CHAN_EDENIED, or another code
 */
int cli_registry_token_create(json_t **out, cli_registry *reg, const char *identity,
                              const char *const *roles, size_t n_roles, long expires_in_days,
                              const char *description, chan_error *err);

/**
 * The API tokens of the store: GET /v1/tokens.
 * @param[out] out the reply {"tokens": [...]} (caller decrefs)
 */
int cli_registry_token_list(json_t **out, cli_registry *reg, chan_error *err);

/**
 * Revoke an API token: DELETE /v1/tokens/{id}.
 * @return 0, CHAN_ENOTFOUND (unknown id), CHAN_ECONFLICT (revoked before) or
 *         another code
 */
int cli_registry_token_revoke(cli_registry *reg, const char *id, chan_error *err);

/* ------------------------------------------------------------------ */
/* Consumers                                                            */
/* ------------------------------------------------------------------ */

/**
 * Register or update one consumer: PUT /v1/channels/{channel}/consumers/{name}.
 *
 * @param[out] out        the consumer as stored (caller decrefs)
 * @param[out] out_status 201 (registered), 200 (updated) or 202 (pending the
 *                        approval of the channel's owner); may be NULL
 * @param body            {principal, group, scenario, sla_p99_ms,
 *                        peak_rate_msgs, degradation[, team]} (not consumed)
 * @return 0, CHAN_EINVALID (the registry's reasons are in the "errors" of
 *         cli_registry_last_error), CHAN_ENOTFOUND, CHAN_ECONFLICT (deprecated
 *         channel, consumer of the contract: err->reason says which),
 *         CHAN_EDENIED or another code
 */
int cli_registry_consumer_put(json_t **out, long *out_status, cli_registry *reg,
                              const char *channel, const char *name, const json_t *body,
                              chan_error *err);

/**
 * One action on a consumer: POST /v1/channels/{channel}/consumers/{name}/{action}
 * with action "renew", "approve" or "reject".
 *
 * @param[out] out the consumer after the action (caller decrefs)
 * @param body     request document or NULL (not consumed), e.g. {"reason": ...}
 * @return 0, CHAN_ENOTFOUND, CHAN_ECONFLICT (not pending, not approved),
 *         CHAN_EINVALID (no reason), CHAN_EDENIED or another code
 */
int cli_registry_consumer_post(json_t **out, cli_registry *reg, const char *channel,
                               const char *name, const char *action, const json_t *body,
                               chan_error *err);

/**
 * Remove one consumer: DELETE /v1/channels/{channel}/consumers/{name}.
 *
 * @param[out] out the reply document, NULL for an empty reply (204) (caller decrefs)
 * @return 0, CHAN_ENOTFOUND, CHAN_ECONFLICT (consumer of the contract) or another code
 */
int cli_registry_consumer_remove(json_t **out, cli_registry *reg, const char *channel,
                                 const char *name, chan_error *err);

/**
 * Consumers of one channel (GET /v1/channels/{channel}/consumers, channel not
 * NULL) or of every channel (GET /v1/consumers?state=S&team=T, channel NULL;
 * state and team may be NULL, each consumer then has its "channel").
 *
 * @param[out] out the reply {"consumers": [...]} (caller decrefs)
 * @return 0, CHAN_ENOTFOUND (unknown channel), CHAN_EINVALID (bad state) or
 *         another code
 */
int cli_registry_consumer_list(json_t **out, cli_registry *reg, const char *channel,
                               const char *state, const char *team, chan_error *err);

#endif
