/*
 * api_tokens.c - API tokens of the store under /v1/tokens (see docs/api.md,
 * "API tokens"): an admin creates a token for an identity with its roles,
 * lists the tokens and revokes them.
 *
 *   POST   /v1/tokens       {"identity", "roles": [...], "expires_in_days", "description"}
 *                           -> 201 {"id", "identity", "roles", "expires_at", "token", ...}
 *   GET    /v1/tokens       -> {"tokens": [...]}, never a token nor its hash
 *   DELETE /v1/tokens/{id}  -> {"id", "revoked": true}
 *   GET    /v1/whoami       -> {"identity", "roles": [...], "source" ("file", "flag",
 *                           "store", "open", or "none" when auth is on and no token
 *                           was sent), "expires_at" (Unix seconds or null), "auth"}
 *                           for the identity authenticated for this request
 *
 * The token is made here (chan_token_new), shown once in the reply to POST
 * (with Cache-Control: no-store) and forgotten: the store keeps its SHA-256
 * digest only, audit entries and logs name its id.  Requests with a token
 * from the store are authenticated by tokens.c.
 *
 * Every route needs the authorization action CHAN_AUTHZ_REGISTRY_ADMIN
 * (admin only); until the server's authorization point checks actions they
 * are write routes (a configured token is required).
 *
 * API error codes of this module:
 *   40416 token not found    40916 token already revoked
 *   42216 invalid token request (errors[] names each problem)
 * Times are RFC 3339 strings in UTC, null for "never".
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "paging.h"
#include "chan/authz.h"
#include "chan/common.h"
#include "chan/contract.h"
#include "chan/error.h"
#include "chan/store.h"

/* API error codes (see the file comment). */
#define E_TOKEN_NOT_FOUND 40416
#define E_TOKEN_REVOKED   40916
#define E_INVALID         42216

/* expires_in_days: default, largest (ten years). */
#define EXPIRES_DEFAULT_DAYS 90
#define EXPIRES_MAX_DAYS     3650
#define SECONDS_PER_DAY      86400
/* Attempts at a fresh id when a random one is taken (2^48 ids: never in practice). */
#define NEW_ID_ATTEMPTS 3

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A store message as an API sentence: capitalised, with a final period. */
static void make_sentence(chan_error *err)
{
    size_t len = strlen(err->message);

    if (len == 0)
        return;
    if (err->message[0] >= 'a' && err->message[0] <= 'z')
        err->message[0] = (char)(err->message[0] - 'a' + 'A');
    if (err->message[len - 1] != '.' && len + 1 < sizeof(err->message)) {
        err->message[len] = '.';
        err->message[len + 1] = '\0';
    }
}

/* "ci:billing,ci:orders" as ["ci:billing", "ci:orders"]. */
static json_t *json_roles(const char *csv)
{
    json_t *a = json_array();
    const char *p = csv;

    while (p != NULL && *p != '\0') {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);

        if (n > 0)
            json_array_append_new(a, json_stringn(p, n));
        p = comma ? comma + 1 : NULL;
    }
    return a;
}

/* "active", "expired" or "revoked" at now. */
static const char *token_state(const chan_token_record *t, int64_t now)
{
    if (t->revoked_at != 0)
        return "revoked";
    if (t->expires_at != 0 && now >= t->expires_at)
        return "expired";
    return "active";
}

/* The public view of a stored token: everything but the hash. */
static json_t *token_json(const chan_token_record *t, int64_t now)
{
    return json_pack(
        "{s:s, s:s, s:o, s:s?, s:o, s:s, s:o, s:o, s:s?, s:s, s:s}", "id", t->id, "identity",
        t->identity, "roles", json_roles(t->roles), "description", t->description, "created_at",
        chan_json_time_or_null(t->created_at), "created_by", t->created_by, "expires_at",
        chan_json_time_or_null(t->expires_at), "revoked_at", chan_json_time_or_null(t->revoked_at),
        "revoked_by", t->revoked_by, "state", token_state(t, now), "source", "store");
}

/* ------------------------------------------------------------------ */
/* POST /v1/tokens                                                     */
/* ------------------------------------------------------------------ */

/* What a valid POST body asks for; strings borrowed from the body, roles owned. */
typedef struct token_request {
    const char *identity;
    char *roles; /* sorted, deduplicated csv */
    const char *description;
    int64_t expires_in_days;
} token_request;

/* "ci:orders" -> true; adds a diagnostic for a role chan_identity_init refuses. */
static bool check_role(const char *role, size_t i, chan_diag_list *diags)
{
    chan_identity tmp = {0};
    chan_error err = CHAN_ERROR_INIT;
    chan_diag *d;
    char path[32];

    snprintf(path, sizeof(path), "roles[%zu]", i);
    if (strchr(role, ',') == NULL && chan_identity_init(&tmp, "check", role, &err) == 0 &&
        tmp.n_roles == 1) {
        chan_identity_dispose(&tmp);
        return true;
    }
    chan_identity_dispose(&tmp);
    if (err.message[0] != '\0')
        d = chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_INVALID_VALUE,
                          path, "%s", err.message);
    else
        d = chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_INVALID_VALUE,
                          path, "\"%.64s\" is not one role", role);
    chan_diag_set_hint(d, "roles are admin, reader, owner:<team> and ci:<team>");
    return false;
}

/* The roles array as sorted csv (caller frees), or NULL after adding diagnostics. */
static char *parse_roles(const json_t *body, chan_diag_list *diags)
{
    const json_t *roles = json_object_get(body, "roles"), *r;
    chan_buf csv = CHAN_BUF_INIT;
    chan_identity who;
    chan_error err = CHAN_ERROR_INIT;
    bool ok = true;
    size_t i;
    char *text = NULL;

    if (roles == NULL || json_is_null(roles) ||
        (json_is_array(roles) && json_array_size(roles) == 0)) {
        chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0,
                                         CHAN_CONTRACT_RULE_MISSING_FIELD, "roles",
                                         "roles is missing or empty"),
                           "give at least one of admin, reader, owner:<team>, ci:<team>");
        return NULL;
    }
    if (!json_is_array(roles)) {
        chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_WRONG_TYPE, "roles",
                      "roles must be an array of strings, got %s", chan_json_type_name(roles));
        return NULL;
    }
    json_array_foreach(roles, i, r)
    {
        char path[32];

        if (!json_is_string(r)) {
            snprintf(path, sizeof(path), "roles[%zu]", i);
            chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_WRONG_TYPE, path,
                          "a role must be a string, got %s", chan_json_type_name(r));
            ok = false;
        } else if (!check_role(json_string_value(r), i, diags)) {
            ok = false;
        } else {
            chan_buf_printf(&csv, "%s%s", i ? "," : "", json_string_value(r));
        }
    }
    if (ok && chan_identity_init(&who, "check", chan_buf_cstr(&csv), &err) == 0) {
        text = chan_identity_roles_text(&who);
        chan_identity_dispose(&who);
    }
    chan_buf_dispose(&csv);
    return text;
}

/*
** Validate the body of POST /v1/tokens into out (out->roles owned by the
** caller, NULL when invalid).  Every problem is added to diags.
*/
static void parse_token_request(token_request *out, const json_t *body, chan_diag_list *diags)
{
    static const char *const keys[] = {"identity", "roles", "expires_in_days", "description", NULL};
    const json_t *v;
    const char *key;
    json_t *value;
    size_t i;

    memset(out, 0, sizeof(*out));
    out->expires_in_days = EXPIRES_DEFAULT_DAYS;
    json_object_foreach((json_t *)body, key, value)
    {
        for (i = 0; keys[i] != NULL && strcmp(keys[i], key) != 0; i++)
            ;
        if (keys[i] == NULL)
            chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0,
                                             CHAN_CONTRACT_RULE_UNKNOWN_FIELD, NULL,
                                             "unknown field \"%.64s\"", key),
                               "the fields are identity, roles, expires_in_days and description");
    }

    v = json_object_get(body, "identity");
    if (v == NULL || json_is_null(v))
        chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_MISSING_FIELD,
                      "identity", "identity is missing");
    else if (!json_is_string(v))
        chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_WRONG_TYPE, "identity",
                      "identity must be a string, got %s", chan_json_type_name(v));
    else if (!chan_identity_name_valid(json_string_value(v)))
        chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0,
                                         CHAN_CONTRACT_RULE_INVALID_NAME, "identity",
                                         "invalid identity name"),
                           "1 to %d printable ASCII characters without blanks, ':' or ','",
                           CHAN_IDENTITY_NAME_MAX);
    else
        out->identity = json_string_value(v);

    out->roles = parse_roles(body, diags);

    v = json_object_get(body, "expires_in_days");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_integer(v))
            chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_WRONG_TYPE,
                          "expires_in_days", "expires_in_days must be an integer, got %s",
                          chan_json_type_name(v));
        else if (json_integer_value(v) < 0 || json_integer_value(v) > EXPIRES_MAX_DAYS)
            chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0,
                                             CHAN_CONTRACT_RULE_INVALID_VALUE, "expires_in_days",
                                             "expires_in_days must be between 0 and %d, got "
                                             "%" JSON_INTEGER_FORMAT,
                                             EXPIRES_MAX_DAYS, json_integer_value(v)),
                               "0 means the token never expires; the default is %d",
                               EXPIRES_DEFAULT_DAYS);
        else
            out->expires_in_days = (int64_t)json_integer_value(v);
    }

    v = json_object_get(body, "description");
    if (v != NULL && !json_is_null(v)) {
        const char *s = json_string_value(v);
        bool control = false;

        for (i = 0; s != NULL && s[i] != '\0'; i++)
            control = control || (unsigned char)s[i] < 0x20 || s[i] == 0x7f;
        if (!json_is_string(v))
            chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_WRONG_TYPE,
                          "description", "description must be a string, got %s",
                          chan_json_type_name(v));
        else if (json_string_length(v) > CHAN_STORE_TOKEN_DESCRIPTION_MAX)
            chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_INVALID_VALUE,
                          "description", "description is longer than %d bytes",
                          CHAN_STORE_TOKEN_DESCRIPTION_MAX);
        else if (control || strlen(s) != json_string_length(v))
            chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_INVALID_VALUE,
                          "description", "description contains a control character");
        else if (s[0] != '\0')
            out->description = s;
    }
}

/* POST /v1/tokens */
static int create_token(chand_request *req, chan_error *err)
{
    chan_diag_list *diags = chan_diag_list_new();
    chan_token_record rec;
    token_request treq = {0};
    char id[CHAN_TOKEN_ID_LEN + 1], hash[2 * CHAN_TOKEN_DIGEST_LEN + 1];
    char *token = NULL;
    json_t *body = NULL, *reply;
    int64_t now = (int64_t)time(NULL);
    size_t n_errors;
    int error, attempt;

    if ((error = chand_request_json(&body, req, err)) < 0)
        goto cleanup;
    parse_token_request(&treq, body, diags);
    n_errors = chan_diag_list_count(diags);
    if (n_errors > 0) {
        char *msg = chan_xasprintf("Token request is invalid: %zu error%s.", n_errors,
                                   n_errors == 1 ? "" : "s");

        error = chand_reply_diags(req, E_INVALID, msg, diags);
        free(msg);
        goto cleanup;
    }

    memset(&rec, 0, sizeof(rec));
    rec.id = id;
    rec.identity = (char *)treq.identity;
    rec.roles = treq.roles;
    rec.hash_hex = hash;
    rec.description = (char *)treq.description;
    rec.expires_at = treq.expires_in_days > 0 ? now + treq.expires_in_days * SECONDS_PER_DAY : 0;
    for (attempt = 0; attempt < NEW_ID_ATTEMPTS; attempt++) {
        chan_token_free(token);
        token = NULL;
        if ((error = chan_token_new(&token, id, err)) < 0)
            goto cleanup;
        chan_token_digest_hex(hash, token, strlen(token));
        error =
            chan_store_token_insert(chand_request_store(req), &rec, chand_request_actor(req), err);
        if (error != CHAN_EEXISTS)
            break;
    }
    if (error < 0)
        goto cleanup;

    reply = json_pack("{s:s, s:s, s:o, s:s?, s:o, s:o, s:s}", "id", id, "identity", treq.identity,
                      "roles", json_roles(treq.roles), "description", treq.description,
                      "created_at", chan_json_time_or_null(now), "expires_at",
                      chan_json_time_or_null(rec.expires_at), "token", token);
    chand_reply_header(req, "Cache-Control", "no-store");
    error = chand_reply_json(req, 201, reply);

cleanup:
    chan_token_free(token);
    free(treq.roles);
    chan_diag_list_free(diags);
    json_decref(body);
    return error;
}

/* ------------------------------------------------------------------ */
/* GET /v1/tokens, DELETE /v1/tokens/{id}                              */
/* ------------------------------------------------------------------ */

/* GET /v1/tokens */
/* A token of GET /v1/tokens with its sort key (identity, creation time, id). */
typedef struct token_item {
    const chan_token_record *rec;
    char *key;
} token_item;

static int token_item_cmp(const void *a, const void *b)
{
    return strcmp(((const token_item *)a)->key, ((const token_item *)b)->key);
}

static int list_tokens(chand_request *req, chan_error *err)
{
    chan_token_record **list = NULL;
    int64_t now = (int64_t)time(NULL);
    chand_page page = {0, NULL};
    token_item *items = NULL;
    const char **keys = NULL;
    const char *next = NULL;
    json_t *tokens, *reply;
    size_t n = 0, i, start = 0, end = 0;
    int error;

    if ((error = chand_page_parse(&page, req, err)) < 0 ||
        (error = chan_store_token_list(chand_request_store(req), &list, &n, err)) < 0)
        goto cleanup;
    items = chan_xcalloc(n + 1, sizeof(*items));
    keys = chan_xcalloc(n + 1, sizeof(*keys));
    for (i = 0; i < n; i++) {
        items[i].rec = list[i];
        /* \x01 sorts before every character of a name: (identity, time, id) order. */
        items[i].key = chan_xasprintf("%s\x01%020" PRId64 "\x01%s", list[i]->identity,
                                      list[i]->created_at, list[i]->id);
    }
    qsort(items, n, sizeof(*items), token_item_cmp);
    for (i = 0; i < n; i++)
        keys[i] = items[i].key;
    chand_page_slice(&start, &end, &next, &page, keys, n);
    tokens = json_array();
    for (i = start; i < end; i++)
        json_array_append_new(tokens, token_json(items[i].rec, now));
    reply = json_pack("{s:o}", "tokens", tokens);
    chand_page_finish_json(req, reply, &page, next, n, NULL);
    error = chand_reply_json(req, 200, reply);
cleanup:
    for (i = 0; items != NULL && i < n; i++)
        free(items[i].key);
    free(items);
    free(keys);
    chand_page_dispose(&page);
    chan_token_record_list_free(list, n);
    return error;
}

/* True when s looks like a token id (12 lower-case hex characters). */
static bool valid_id(const char *s)
{
    size_t i;

    for (i = 0; i < CHAN_TOKEN_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[i] == '\0';
}

/* DELETE /v1/tokens/{id} */
static int revoke_token(chand_request *req, chan_error *err)
{
    const char *id = chand_request_param(req, "id");
    int error;

    if (!valid_id(id))
        return chand_http_error(err, CHAN_ENOTFOUND, E_TOKEN_NOT_FOUND,
                                "Token '%.64s' not found: a token id is 12 hex characters.", id);
    error = chan_store_token_revoke(chand_request_store(req), id, chand_request_actor(req), err);
    if (error < 0 && chan_store_error_reason(err) == CHAN_STORE_R_TOKEN_NOT_FOUND)
        return chand_http_error(err, CHAN_ENOTFOUND, E_TOKEN_NOT_FOUND, "Token '%s' not found.",
                                id);
    if (error < 0 && chan_store_error_reason(err) == CHAN_STORE_R_TOKEN_REVOKED) {
        make_sentence(err);
        err->reason = E_TOKEN_REVOKED;
        return error;
    }
    if (error < 0)
        return error;
    return chand_reply_json(req, 200, json_pack("{s:s, s:b}", "id", id, "revoked", 1));
}

/* GET /v1/whoami */
static int whoami(chand_request *req, chan_error *err)
{
    const chan_identity *who = chand_request_identity(req);
    char *text = chan_identity_roles_text(who);
    json_t *roles = json_array();
    char *p, *next;

    for (p = text; *p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        else
            next = p + strlen(p);
        json_array_append_new(roles, json_string(p));
    }
    free(text);
    return chand_reply_json(
        req, 200,
        json_pack("{s:s, s:o, s:s, s:o, s:b}", "identity", who->name, "roles", roles, "source",
                  who->source ? who->source : "none", "expires_at",
                  who->expires_at > 0 ? json_integer(who->expires_at) : json_null(), "auth",
                  chand_request_auth_on(req)));
}

const chand_route chand_api_tokens_routes[] = {
    {"POST", "/v1/tokens", create_token, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
    {"GET", "/v1/tokens", list_tokens, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
    {"DELETE", "/v1/tokens/{id}", revoke_token, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
    {"GET", "/v1/whoami", whoami, CHAN_AUTHZ_SELF, NULL, CHAND_CACHE_NONE},
};

const size_t chand_api_tokens_routes_count = CHAN_ARRAY_SIZE(chand_api_tokens_routes);
