/*
 * api_channels.c - the channels API of chanregd: contracts, consumers and the
 * audit log under /v1 (see docs/api.md, "Channels API").
 *
 * A channel is stored from its contract: PUT /v1/channels/{name} takes the
 * contract in its JSON form, validates it with the contract module (the same
 * rules as `chanctl validate`, with line and column inside the request body),
 * checks that every declared schema version is registered in the subject,
 * and stores the canonical JSON rendering together with the consumers and
 * producers in one transaction.  Consumers can also be registered, renewed
 * and removed one by one, under the same rules as in the contract format,
 * plus the lifecycle rules: a deprecated channel takes no new consumers, a
 * registration in the --deprecation-warning-days before that date carries a
 * warning, and a consumer not renewed for --registration-max-age-days is
 * shown as stale.
 *
 * Consumers have an origin and a state (chan/model.h).  A contract put
 * manages only the contract's consumers: consumers registered over the API
 * survive it and are reported as drift, or adopted when the contract lists
 * them; the rules of chan/policy.h (lifecycle, one group per consumer) run
 * on the result under the channel's lock, also with ?dry_run=true, which
 * runs the same path and rolls back.  A registration by another team than
 * the channel's owner is pending (202) until the owner approves or rejects
 * it; only approved consumers get access.
 *
 * A contract put also holds the policy floor (--min-compatibility): it is
 * refused with 403 / 40302, before anything is written, when the subject it
 * binds is at an effective level below the floor that neither an admin nor
 * the channel's approved waiver at that level allows (chand_floor_check).
 * Its reply says in "compatibility_allowed" whether the caller may then set
 * the subject to the contract's compatibility, which a dry run cannot try.
 *
 * Handlers follow the contract of server.h.  API error codes of this module:
 *   40410 channel not found            40411 consumer not found
 *   40910 revision conflict            40912 channel deprecated (no new consumers)
 *   40913 consumer managed by the contract (change the contract file)
 *   40914 consumer not pending (approve, reject) or not approved (renew)
 *   42202 bad query parameter          42210 invalid contract or consumer (errors[])
 *   42211 schema versions not registered
 *   42213 a rejection without a reason (1 to 1024 characters)
 * Times are RFC 3339 strings in UTC.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "authz_targets.h"
#include "paging.h"
#include "config.h"
#include "chan/common.h"
#include "chan/contract.h"
#include "chan/error.h"
#include "chan/model.h"
#include "chan/policy.h"
#include "chan/store.h"

#define MODULE "api"

/* API error codes (see the file comment). */
#define E_BAD_PARAM          42202
#define E_CHANNEL_NOT_FOUND  40410
#define E_CONSUMER_NOT_FOUND 40411
#define E_REVISION_CONFLICT  40910
#define E_DEPRECATED         40912
#define E_CONTRACT_MANAGED   40913
#define E_DECISION_STATE     40914
#define E_INVALID            42210
#define E_SCHEMA_MISSING     42211
#define E_NO_REASON          42213

/* The consumer fields' limits are chan_contract_consumer_check's. */
#define AUDIT_LIMIT     100
#define AUDIT_LIMIT_MAX 1000
#define MAX_REASON      1024

#define SECONDS_PER_DAY 86400

/* ------------------------------------------------------------------ */
/* Rendering                                                           */
/* ------------------------------------------------------------------ */

/* The --registration-max-age-days of the request's daemon, in seconds. */
static int64_t max_age_seconds(const chand_request *req)
{
    return chand_request_config(req)->registration_max_age_days * SECONDS_PER_DAY;
}

/* Options of the model's JSON rendering for a reply at now. */
static chan_record_json_options json_options(const chand_request *req, bool with_document,
                                             int64_t now)
{
    chan_record_json_options opts = CHAN_RECORD_JSON_OPTIONS_INIT;

    opts.with_document = with_document;
    opts.now = now;
    opts.max_age = max_age_seconds(req);
    return opts;
}

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
** Turn a store error into the API's: "not found" becomes 40410 / 40411 with
** a message that names the object; a rejected input (a name that is not
** UTF-8, too long, ...) keeps its code with the message made a sentence.
** Other errors are returned unchanged.  consumer may be NULL for
** channel-level operations, channel too for operations on no channel.
*/
static int api_error(int error, const char *channel, const char *consumer, chan_error *err)
{
    int reason = chan_store_error_reason(err);
    size_t len;

    if (error == CHAN_ECONFLICT && reason == CHAN_STORE_R_CONTRACT_MANAGED)
        return chand_http_error(err, CHAN_ECONFLICT, E_CONTRACT_MANAGED,
                                "Consumer '%s' of channel '%s' is managed by the contract; change "
                                "the contract file.",
                                consumer, channel);
    if (error == CHAN_ECONFLICT && reason == CHAN_STORE_R_CHANNEL_DEPRECATED)
        return chand_http_error(err, CHAN_ECONFLICT, E_DEPRECATED,
                                "Channel '%s' is deprecated; it accepts no new consumers.",
                                channel);
    if (error == CHAN_ECONFLICT &&
        (reason == CHAN_STORE_R_NOT_PENDING || reason == CHAN_STORE_R_NOT_APPROVED)) {
        char detail[CHAN_ERROR_MESSAGE_MAX];

        snprintf(detail, sizeof(detail), "%s", err->message);
        detail[0] = (char)toupper((unsigned char)detail[0]);
        return chand_http_error(err, CHAN_ECONFLICT, E_DECISION_STATE, "%s.", detail);
    }

    if (error == CHAN_ENOTFOUND && channel != NULL) {
        if (consumer != NULL && chan_store_error_reason(err) == CHAN_STORE_R_CONSUMER_NOT_FOUND)
            return chand_http_error(err, CHAN_ENOTFOUND, E_CONSUMER_NOT_FOUND,
                                    "Consumer '%s' of channel '%s' not found.", consumer, channel);
        return chand_http_error(err, CHAN_ENOTFOUND, E_CHANNEL_NOT_FOUND, "Channel '%s' not found.",
                                channel);
    }
    if (error == CHAN_EINVALID && err != NULL && err->reason == 0 && err->message[0] != '\0') {
        err->message[0] = (char)toupper((unsigned char)err->message[0]);
        len = strlen(err->message);
        if (err->message[len - 1] != '.' && len + 1 < sizeof(err->message)) {
            err->message[len] = '.';
            err->message[len + 1] = '\0';
        }
    }
    return error;
}

/*
** A non-negative integer query parameter in [min, max], or def when absent.
** Returns 0 or CHAN_EINVALID with API code 42202.
*/
static int query_int(int64_t *out, const chand_request *req, const char *name, int64_t def,
                     int64_t min, int64_t max, chan_error *err)
{
    const char *v = chand_request_query(req, name);
    char shown[68];

    *out = def;
    if (v == NULL)
        return 0;
    if (chan_parse_int64(out, v, min, max) < 0)
        return chand_http_error(err, CHAN_EINVALID, E_BAD_PARAM,
                                "Query parameter '%s' must be an integer between %" PRId64
                                " and %" PRId64 ", got '%s'.",
                                name, min, max, chan_str_clip(shown, sizeof(shown), v));
    return 0;
}

/* ------------------------------------------------------------------ */
/* Channels                                                            */
/* ------------------------------------------------------------------ */

/* Most versions a dry run may assume registered. */
#define MAX_PENDING_VERSIONS 64

/*
** The versions a dry run of `chanctl register` assumes registered: those the
** real run registers before it puts the contract (?pending_versions=4,5).
*/
typedef struct pending_versions {
    int64_t v[MAX_PENDING_VERSIONS];
    size_t n;
} pending_versions;

static bool pending_has(const pending_versions *p, int64_t number)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->v[i] == number)
            return true;
    return false;
}

/*
** Parse ?pending_versions=N[,N...] (only with dry_run=true).  The numbers
** must be exactly the ones the subject's next registrations get: latest + 1,
** latest + 2, ... (latest counts soft-deleted versions too, as numbering
** does).  Returns 0 or CHAN_EINVALID (API code 42202), or a store error.
*/
static int parse_pending(pending_versions *out, const chand_request *req, bool dry_run,
                         const char *subject, chan_error *err)
{
    const char *q = chand_request_query(req, "pending_versions");
    int *versions = NULL;
    size_t n_versions = 0;
    int64_t next;
    char *copy, *tok, *save = NULL;
    int error = 0;

    out->n = 0;
    if (q == NULL)
        return 0;
    if (!dry_run)
        return chand_http_error(err, CHAN_EINVALID, E_BAD_PARAM,
                                "Query parameter 'pending_versions' needs dry_run=true.");
    copy = chan_xstrdup(q);
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (out->n == MAX_PENDING_VERSIONS ||
            chan_parse_int64(&out->v[out->n], tok, 1, INT32_MAX) < 0) {
            error = chand_http_error(err, CHAN_EINVALID, E_BAD_PARAM,
                                     "Query parameter 'pending_versions' must list at most %d "
                                     "version numbers separated by commas.",
                                     MAX_PENDING_VERSIONS);
            goto cleanup;
        }
        out->n++;
    }
    error = chan_store_subject_versions(chand_request_store(req), &versions, &n_versions, subject,
                                        true, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        error = 0;
    }
    if (error < 0)
        goto cleanup;
    next = n_versions ? (int64_t)versions[n_versions - 1] + 1 : 1;
    for (size_t i = 0; i < out->n; i++) {
        if (!pending_has(out, next + (int64_t)i)) {
            error = chand_http_error(err, CHAN_EINVALID, E_BAD_PARAM,
                                     "Query parameter 'pending_versions' must be the next "
                                     "versions of subject '%s', from %" PRId64 " on.",
                                     subject, next);
            goto cleanup;
        }
    }
cleanup:
    free(versions);
    free(copy);
    return error;
}

/*
** Check that every schema version the contract declares is registered (and
** not soft-deleted) in its subject, or among the pending versions of a dry
** run.  The missing ones are appended to diags
** (located at their entry in the body) and listed in missing ("1, 3").
** Returns 0 (even with versions missing) or a store error.
*/
static int check_versions(chan_store *store, const chan_contract *contract,
                          const pending_versions *pending, chan_diag_list *diags, chan_buf *missing,
                          chan_error *err)
{
    const char *subject = chan_contract_subject(contract);
    size_t i, n = chan_contract_version_count(contract);

    for (i = 0; i < n; i++) {
        const chan_contract_version *v = chan_contract_version_at(contract, i);
        chan_schema_version *found = NULL;
        char path[64];
        int error;

        if (pending_has(pending, v->number))
            continue;
        if (v->number > INT32_MAX) {
            error = CHAN_ENOTFOUND;
        } else {
            error = chan_store_version_get(store, &found, subject, (int)v->number, false, err);
            chan_schema_version_free(found);
        }
        if (error == 0)
            continue;
        if (error != CHAN_ENOTFOUND)
            return error;
        chan_error_clear(err);
        snprintf(path, sizeof(path), "schema.versions[%zu]", i);
        chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, chan_contract_file(contract),
                                         v->line, v->column, "schema-not-registered", path,
                                         "version %" PRId64 " of subject \"%s\" is not registered",
                                         v->number, subject),
                           "register it first: POST /subjects/%s/versions", subject);
        chan_buf_printf(missing, "%s%" PRId64, missing->len ? ", " : "", v->number);
    }
    return 0;
}

/* Value of the four hex digits at s, or -1. */
static long hex4(const char *s)
{
    long v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        int c = (unsigned char)s[i];

        if (!isxdigit(c))
            return -1;
        v = v * 16 + (isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
    }
    return v;
}

/*
** Copy a JSON text for the contract parser, which reads it as YAML.  YAML has
** no UTF-16 surrogate pairs: each JSON escape pair "\uD83D\uDE00" becomes
** the YAML escape "\U0001F600".  Everything else is copied verbatim, so line
** numbers stay exact (a column after a pair on the same line moves by two).
** Backslashes only occur inside JSON strings, so no string tracking is needed.
*/
static char *json_for_yaml(const char *s, size_t len, size_t *out_len)
{
    chan_buf out = CHAN_BUF_INIT;
    size_t i = 0;

    chan_buf_grow(&out, len + 1);
    while (i < len) {
        long hi, lo;

        if (s[i] != '\\' || i + 1 >= len) {
            chan_buf_putc(&out, s[i++]);
            continue;
        }
        if (s[i + 1] == 'u' && i + 12 <= len && (hi = hex4(s + i + 2)) >= 0xD800 && hi <= 0xDBFF &&
            s[i + 6] == '\\' && s[i + 7] == 'u' && (lo = hex4(s + i + 8)) >= 0xDC00 &&
            lo <= 0xDFFF) {
            chan_buf_printf(&out, "\\U%08lX", 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
            i += 12;
            continue;
        }
        chan_buf_put(&out, s + i, 2); /* any other escape, "\\\\" included */
        i += 2;
    }
    *out_len = out.len;
    return chan_buf_take(&out);
}

/* What the store's check of a contract put needs, and the diagnostics it leaves. */
typedef struct put_check {
    chan_policy_options opts;
    chan_diag_list *diags;
    chand_request *req;
    chan_compat_mode level; /* the subject's effective level, read before the put */
    bool floor_refused;     /* the floor refused the put: err is the 403 / 40302 */
    bool level_allowed;     /* may the caller then set the subject to the contract's level? */
} put_check;

/* Text equality with NULL equal to NULL. */
static bool same_text(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
** The floor part of a put's check: next binds its subject, which is at
** pc->level.  The channel as it is once stored (its waiver approval is kept
** when old's approval covers the same reason at the same level, as the store
** does) must allow that level (chand_floor_check), or the stored channel old
** must already allow it on the same subject (a contract leaving an approved
** waiver: the level is set after the put).  Also fills pc->level_allowed.
** Returns 0 or CHAN_EDENIED (403 / 40302 in err, pc->floor_refused set).
*/
static int check_put_floor(put_check *pc, const chan_channel_record *old,
                           const chan_channel_record *next, chan_error *err)
{
    bool admin = chan_identity_has(chand_request_identity(pc->req), CHAN_ROLE_ADMIN, NULL);
    chan_channel_record bound = *next;
    chan_compat_mode own;
    int error;

    if (chan_policy_waiver_carries_over(old, next))
        bound.waiver_approved_by = old->waiver_approved_by;
    pc->level_allowed = chan_compat_mode_parse(&own, next->compatibility) != 0 ||
                        chan_policy_level_allowed(own, &bound, pc->opts.floor, admin);
    if (old != NULL && same_text(old->subject, next->subject) &&
        chan_policy_level_allowed(pc->level, old, pc->opts.floor, false))
        return 0;
    error = chand_floor_check(pc->req, next->subject, pc->level, &bound, CHAND_FLOOR_BIND, err);
    pc->floor_refused = error < 0;
    return error;
}

/*
** The store's check of a contract put (chan_store_channel_check_fn), under
** the channel's lock: the rules of chan_policy_check_channel over old ->
** next (next includes the API consumers that stay), then the policy floor
** on the subject next binds (check_put_floor).  Returns 0, or the policy's
** CHAN_ECONFLICT (only "deprecated" errors) / CHAN_EINVALID with the
** diagnostics in ctx->diags, or the floor's CHAN_EDENIED.
*/
static int check_put(void *ctx, const chan_channel_record *old, const chan_channel_record *next,
                     chan_error *err)
{
    put_check *pc = ctx;
    int error = chan_policy_check_channel(old, next, &pc->opts, pc->diags);

    if (error < 0)
        return chan_error_set(err, error, "the contract breaks a rule of the registry's policy");
    return check_put_floor(pc, old, next, err);
}

/* The reply members of a put's drift: the API consumers kept, as the consumers API shows them. */
static json_t *drift_json(const chand_request *req, const chan_channel_put_result *res)
{
    chan_record_json_options opts = json_options(req, false, now_seconds());
    json_t *drift = json_array();
    size_t i;

    for (i = 0; i < res->n_drift; i++)
        json_array_append_new(drift, chan_consumer_record_to_json(&res->drift[i], &opts));
    return drift;
}

/* PUT /v1/channels/{name}?dry_run=true: create or replace a channel from its contract. */
static int put_channel(chand_request *req, chan_error *err)
{
    chan_contract_parse_options opts = CHAN_CONTRACT_PARSE_OPTIONS_INIT;
    const char *name = chand_request_param(req, "name");
    chan_store *store = chand_request_store(req);
    chan_channel_put_options put_opts = CHAN_CHANNEL_PUT_OPTIONS_INIT;
    chan_channel_put_result res = {0};
    put_check pc = {CHAN_POLICY_OPTIONS_INIT, NULL, NULL, CHAN_COMPAT_BACKWARD, false, false};
    chan_channel_record *rec = NULL;
    chan_contract *contract = NULL;
    chan_diag_list *diags = chan_diag_list_new();
    chan_buf missing = CHAN_BUF_INIT;
    json_error_t jerr;
    json_t *doc = NULL, *reply, *adopted;
    char *text = NULL;
    char shown[260];
    const char *body;
    size_t len, text_len, n_errors, i;
    int64_t expected = -1;
    pending_versions pending = {{0}, 0};
    bool dry_run = false;
    int error;

    if ((error = query_int(&expected, req, "expected_revision", -1, 0, INT64_MAX, err)) < 0 ||
        (error = chand_request_query_bool(&dry_run, req, "dry_run", false, err)) < 0)
        goto cleanup;

    /* The body must be JSON; the contract parser then reads it as YAML. */
    body = chand_request_body(req, &len);
    if (len == 0) {
        error = chand_http_error(err, CHAN_EINVALID, 40001,
                                 "Request body is empty; expected the contract as JSON.");
        goto cleanup;
    }
    doc = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (doc == NULL) {
        error = chand_http_error(err, CHAN_EINVALID, 40001,
                                 "Invalid JSON in request body: %s at line %d column %d.",
                                 jerr.text, jerr.line, jerr.column);
        goto cleanup;
    }
    if (!json_is_object(doc)) {
        error = chand_http_error(err, CHAN_EINVALID, 42200,
                                 "Request body must be a JSON object (the contract).");
        goto cleanup;
    }

    text = json_for_yaml(body, len, &text_len);
    error = chan_contract_parse(&contract, text, text_len, "<request>", &opts, diags, err);
    if (error == CHAN_ETOOBIG) {
        error = chand_http_error(err, CHAN_ETOOBIG, 41300,
                                 "Contract is larger than the limit of %d bytes.",
                                 CHAN_CONTRACT_MAX_SIZE);
        goto cleanup;
    }
    n_errors = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR);
    if (error < 0 || contract == NULL || n_errors > 0) {
        char *msg =
            chan_xasprintf("Contract is invalid: %zu error%s.", n_errors, n_errors == 1 ? "" : "s");

        chan_diag_list_sort(diags);
        error = chand_reply_diags(req, E_INVALID, msg, diags);
        free(msg);
        goto cleanup;
    }
    if (strcmp(chan_contract_name(contract), name) != 0) {
        chan_diag_list_free(diags);
        diags = chan_diag_list_new();
        chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, "<request>", 0, 0,
                                         CHAN_CONTRACT_RULE_INVALID_NAME, "channel",
                                         "the contract is for channel \"%s\", not \"%s\"",
                                         chan_contract_name(contract),
                                         chan_str_clip(shown, sizeof(shown), name)),
                           "PUT the contract to /v1/channels/%s", chan_contract_name(contract));
        error = chand_reply_diags(
            req, E_INVALID, "Contract is invalid: its channel does not match the URL.", diags);
        goto cleanup;
    }

    chan_diag_list_free(diags);
    diags = chan_diag_list_new();
    if ((error = parse_pending(&pending, req, dry_run, chan_contract_subject(contract), err)) < 0 ||
        (error = check_versions(store, contract, &pending, diags, &missing, err)) < 0)
        goto cleanup;
    if (missing.len > 0) {
        bool several = strchr(chan_buf_cstr(&missing), ',') != NULL;
        char *msg = chan_xasprintf(
            "Schema version%s %s of subject '%s' %s not registered; register %s first.",
            several ? "s" : "", chan_buf_cstr(&missing), chan_contract_subject(contract),
            several ? "are" : "is", several ? "them" : "it");

        error = chand_reply_diags(req, E_SCHEMA_MISSING, msg, diags);
        free(msg);
        goto cleanup;
    }

    rec = chan_contract_to_record(contract);
    pc.opts.floor = chand_request_config(req)->min_compatibility;
    pc.diags = diags;
    pc.req = req;
    if ((error = chand_effective_level(&pc.level, req, rec->subject, err)) < 0)
        goto cleanup;
    put_opts.expected_revision = expected;
    put_opts.dry_run = dry_run;
    put_opts.check = check_put;
    put_opts.check_ctx = &pc;
    error = chan_store_channel_put_ex(store, &res, rec, &put_opts, chand_request_actor(req), err);
    if (error < 0 && chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR) > 0) {
        bool deprecated = error == CHAN_ECONFLICT;
        char *msg;

        n_errors = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR);
        msg = deprecated ? chan_xasprintf("Channel '%s' accepts no new consumers: %zu error%s.",
                                          name, n_errors, n_errors == 1 ? "" : "s")
                         : chan_xasprintf("Contract is invalid: %zu error%s.", n_errors,
                                          n_errors == 1 ? "" : "s");
        chan_error_clear(err);
        error = chand_reply_diags(req, deprecated ? E_DEPRECATED : E_INVALID, msg, diags);
        free(msg);
        goto cleanup;
    }
    if (error < 0 && pc.floor_refused)
        goto cleanup; /* err is the floor's 403 / 40302 */
    if (error == CHAN_ECONFLICT && chan_store_error_reason(err) == CHAN_STORE_R_REVISION_MISMATCH) {
        char detail[CHAN_ERROR_MESSAGE_MAX];

        snprintf(detail, sizeof(detail), "%s", err->message);
        error = chand_http_error(err, CHAN_ECONFLICT, E_REVISION_CONFLICT,
                                 "Revision conflict: %s (expected_revision=%" PRId64 ").", detail,
                                 expected);
        goto cleanup;
    }
    if (error < 0) {
        error = api_error(error, NULL, NULL, err);
        goto cleanup;
    }

    adopted = json_array();
    for (i = 0; i < res.n_adopted; i++)
        json_array_append_new(adopted, json_string(res.adopted[i]));
    reply = json_pack("{s:s, s:I, s:b, s:o, s:o, s:b, s:b}", "name", name, "revision",
                      (json_int_t)res.revision, "changed", res.changed, "drift",
                      drift_json(req, &res), "adopted", adopted, "dry_run", dry_run,
                      "compatibility_allowed", pc.level_allowed);
    /* The dry run answers what the real run would: 201 when it would create the channel. */
    error = chand_reply_json(req, res.created && res.changed ? 201 : 200, reply);

cleanup:
    chan_channel_put_result_dispose(&res);
    chan_channel_record_free(rec);
    free(text);
    chan_contract_free(contract);
    chan_diag_list_free(diags);
    chan_buf_dispose(&missing);
    json_decref(doc);
    return error;
}

/* GET /v1/channels/{name} */
static int get_channel(chand_request *req, chan_error *err)
{
    const char *name = chand_request_param(req, "name");
    chan_channel_record *rec = NULL;
    chan_record_json_options opts;
    int error;

    error = chan_store_channel_get(chand_request_store(req), &rec, name, err);
    if (error < 0) {
        error = api_error(error, name, NULL, err);
        goto cleanup;
    }
    opts = json_options(req, true, now_seconds());
    error = chand_reply_json(req, 200, chan_channel_record_to_json(rec, &opts));
cleanup:
    chan_channel_record_free(rec);
    return error;
}

/* Query parameters of GET /v1/channels that the next page repeats. */
static const char *const channel_list_keys[] = {"owner_team", "maintainer", "deprecated",
                                                "q",          "stale",      NULL};

/*
** GET /v1/channels?owner_team=T&maintainer=M&deprecated=true|false&q=TEXT
** &stale=true&limit=N&cursor=C: one page of channels in name order, each
** with consumer_count, stale_consumer_count and latest_version, built as
** text (no JSON tree).
*/
static int list_channels(chand_request *req, chan_error *err)
{
    chan_channel_filter filter = CHAN_CHANNEL_FILTER_INIT;
    chan_channel_page list = CHAN_CHANNEL_PAGE_INIT;
    int64_t now = now_seconds();
    chan_record_json_options opts = json_options(req, false, now);
    chand_page page = {0, NULL};
    chan_buf body = CHAN_BUF_INIT;
    char extra[160];
    bool deprecated = false, stale = false;
    size_t i, k;
    int error;

    filter.owner_team = chand_request_query(req, "owner_team");
    filter.maintainer = chand_request_query(req, "maintainer");
    filter.q = chand_request_query(req, "q");
    if (chand_request_query(req, "deprecated") != NULL) {
        if ((error = chand_request_query_bool(&deprecated, req, "deprecated", false, err)) < 0)
            goto cleanup;
        filter.deprecated = deprecated ? 1 : 0;
    }
    if ((error = chand_request_query_bool(&stale, req, "stale", false, err)) < 0 ||
        (error = chand_page_parse(&page, req, err)) < 0)
        goto cleanup;
    filter.stale_only = stale;
    filter.stale_cutoff = chan_consumer_stale_cutoff(now, opts.max_age);
    if ((error = chan_store_channel_page(chand_request_store(req), &list, &filter, page.after,
                                         page.limit, err)) < 0) {
        error = api_error(error, NULL, NULL, err);
        goto cleanup;
    }
    {
        size_t guess = 1024 * (list.n + 1); /* one allocation for the whole reply */

        for (i = 0; i < list.n; i++)
            guess += 640 * list.items[i]->n_consumers;
        chan_buf_grow(&body, guess);
    }
    chan_buf_puts(&body, "{\"channels\":[");
    for (i = 0; i < list.n; i++) {
        const chan_channel_record *ch = list.items[i];
        size_t n_stale = 0;

        for (k = 0; k < ch->n_consumers; k++)
            n_stale += chan_consumer_stale(&ch->consumers[k], now, opts.max_age);
        if (list.latest_versions[i] > 0)
            snprintf(extra, sizeof(extra),
                     "\"consumer_count\":%zu,\"stale_consumer_count\":%zu,\"latest_version\":%d",
                     ch->n_consumers, n_stale, list.latest_versions[i]);
        else
            snprintf(extra, sizeof(extra),
                     "\"consumer_count\":%zu,\"stale_consumer_count\":%zu,"
                     "\"latest_version\":null",
                     ch->n_consumers, n_stale);
        if (i > 0)
            chan_buf_putc(&body, ',');
        chan_channel_record_write_json(&body, ch, &opts, extra);
    }
    chan_buf_putc(&body, ']');
    chand_page_finish(req, &body, &page,
                      list.more && list.n > 0 ? list.items[list.n - 1]->name : NULL, list.total,
                      channel_list_keys);
    {
        size_t len = body.len;

        error = chand_reply_json_text(req, 200, chan_buf_take(&body), len);
    }
cleanup:
    chan_buf_dispose(&body);
    chand_page_dispose(&page);
    chan_channel_page_dispose(&list);
    return error;
}

/* DELETE /v1/channels/{name} */
static int delete_channel(chand_request *req, chan_error *err)
{
    const char *name = chand_request_param(req, "name");
    int error;

    error =
        chan_store_channel_delete(chand_request_store(req), name, chand_request_actor(req), err);
    if (error < 0)
        return api_error(error, name, NULL, err);
    return chand_reply_json(req, 200, json_pack("{s:s, s:b}", "name", name, "deleted", 1));
}

/* ------------------------------------------------------------------ */
/* Consumers                                                           */
/* ------------------------------------------------------------------ */

/*
** Validate the body of PUT .../consumers/{consumer} as the contract format
** validates a consumer entry, and fill rec (owning copies; the caller
** disposes of it).  Every problem is added to diags.
*/
static void parse_consumer_body(chan_consumer_record *rec, const json_t *body, const char *channel,
                                const char *consumer, chan_diag_list *diags)
{
    /* "team": the team registering, when the identity acts for several (read
       by the authorization's target, chand_target_consumer). */
    static const char *const keys[] = {"principal",      "group",       "scenario", "sla_p99_ms",
                                       "peak_rate_msgs", "degradation", "team",     NULL};
    chan_contract_consumer checked;
    chan_degradation mode;
    const char *key;
    char shown[68];
    json_t *value;
    size_t i;

    memset(&checked, 0, sizeof(checked));
    chan_consumer_record_init(rec);
    rec->channel = chan_xstrdup(channel);
    rec->name = chan_xstrdup(consumer);
    json_object_foreach((json_t *)body, key, value)
    {
        for (i = 0; keys[i] != NULL && strcmp(keys[i], key) != 0; i++)
            ;
        if (keys[i] == NULL)
            chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0,
                                             CHAN_CONTRACT_RULE_UNKNOWN_FIELD, key,
                                             "unknown field \"%s\"",
                                             chan_str_clip(shown, sizeof(shown), key)),
                               "the fields are principal, group, scenario, sla_p99_ms, "
                               "peak_rate_msgs, degradation and the optional team");
    }
    value = json_object_get(body, "team");
    if (value != NULL && !json_is_string(value))
        chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_CONTRACT_RULE_INVALID_VALUE, "team",
                      "team must be a string, not %s", chan_json_type_name(value));
    /* The fields themselves: the one rule of every path that takes a consumer. */
    chan_contract_consumer_check_json(&checked, body, consumer, diags);
    rec->principal = checked.principal ? chan_xstrdup(checked.principal) : NULL;
    rec->group = checked.group ? chan_xstrdup(checked.group) : NULL;
    rec->scenario = checked.scenario ? chan_xstrdup(checked.scenario) : NULL;
    rec->sla_p99_ms = checked.sla_p99_ms;
    rec->peak_rate_msgs = (double)checked.peak_rate_msgs;
    value = json_object_get(body, "degradation");
    if (json_is_string(value) && chan_degradation_parse(&mode, json_string_value(value)) == 0)
        rec->degradation = chan_xstrdup(chan_degradation_name(mode));
    chan_contract_consumer_dispose(&checked);
}

/* The consumer called name in rec, or NULL. */
static const chan_consumer_record *find_consumer(const chan_channel_record *rec, const char *name)
{
    size_t i;

    for (i = 0; i < rec->n_consumers; i++)
        if (strcmp(rec->consumers[i].name, name) == 0)
            return &rec->consumers[i];
    return NULL;
}

/*
** Reply with the stored state of one consumer, read back after a write.  The
** write has committed, so when the read fails (the consumer was removed in
** between) the reply is built from fallback with the times of the write.
** A warning (may be NULL) goes into "warnings" and a Warning header.
*/
static int reply_consumer(chand_request *req, unsigned int status, const char *channel,
                          const char *name, const chan_consumer_record *fallback,
                          const char *warning)
{
    chan_error rerr = CHAN_ERROR_INIT;
    chan_channel_record *rec = NULL;
    const chan_consumer_record *c = NULL;
    chan_consumer_record tmp;
    int64_t now = now_seconds();
    int rc;

    if (chan_store_channel_get(chand_request_store(req), &rec, channel, &rerr) == 0)
        c = find_consumer(rec, name);
    if (c == NULL && fallback != NULL) {
        tmp = *fallback;
        tmp.registered_at = tmp.registered_at ? tmp.registered_at : now;
        tmp.renewed_at = now;
        c = &tmp;
    }
    if (c == NULL)
        rc = chand_reply_error(req, E_CONSUMER_NOT_FOUND,
                               "Consumer '%s' of channel '%s' not found.", name, channel);
    else {
        chan_record_json_options opts = json_options(req, false, now);
        json_t *o = chan_consumer_record_to_json(c, &opts);

        if (warning != NULL) {
            char *header = chan_xasprintf("299 - \"%s\"", warning);

            json_object_set_new(o, "warnings", json_pack("[s]", warning));
            chand_reply_header(req, "Warning", header);
            free(header);
        }
        rc = chand_reply_json(req, status, o);
    }
    chan_channel_record_free(rec);
    return rc;
}

/*
** The warning for a consumer registration on rec when its deprecation date is
** 1 to window days ahead (caller frees), or NULL.
*/
static char *deprecation_warning(const chan_channel_record *rec, int64_t window)
{
    int64_t left;

    if (chan_policy_lifecycle_stage(rec, chan_date_today(), window, &left) !=
        CHAN_LIFECYCLE_DEPRECATING)
        return NULL;
    return chan_xasprintf("Channel '%s' is deprecated from %s (in %" PRId64 " day%s); from then "
                          "on it accepts no new consumers.",
                          rec->name, rec->deprecation_date, left, left == 1 ? "" : "s");
}

/* GET /v1/channels/{name}/consumers?limit=N&cursor=C: in name order. */
static int list_consumers(chand_request *req, chan_error *err)
{
    const char *name = chand_request_param(req, "name");
    chan_consumer_record **list = NULL;
    chan_record_json_options opts = json_options(req, false, now_seconds());
    chand_page page = {0, NULL};
    const char **keys = NULL;
    const char *next = NULL;
    json_t *consumers = NULL, *reply;
    size_t i, n = 0, start = 0, end = 0;
    int error;

    if ((error = chand_page_parse(&page, req, err)) < 0)
        goto cleanup;
    error = chan_store_consumer_list(chand_request_store(req), &list, &n, name, err);
    if (error < 0) {
        error = api_error(error, name, NULL, err);
        goto cleanup;
    }
    keys = chan_xcalloc(n + 1, sizeof(*keys));
    for (i = 0; i < n; i++)
        keys[i] = list[i]->name;
    chand_page_slice(&start, &end, &next, &page, keys, n);
    consumers = json_array();
    for (i = start; i < end; i++)
        json_array_append_new(consumers, chan_consumer_record_to_json(list[i], &opts));
    reply = json_pack("{s:o}", "consumers", consumers);
    consumers = NULL;
    chand_page_finish_json(req, reply, &page, next, n, NULL);
    error = chand_reply_json(req, 200, reply);
cleanup:
    json_decref(consumers);
    free(keys);
    chand_page_dispose(&page);
    chan_consumer_record_list_free(list, n);
    return error;
}

/*
** 0 when channel ch still accepts new consumers today, else the 409 40912
** reply (CHAN_ECONFLICT).  The caller asks only for a change that
** chan_policy_grants_new_access.
*/
static int refuse_if_deprecated(const chan_channel_record *ch, chan_error *err)
{
    if (chan_policy_accepts_new_consumers(ch->deprecation_date, ch->retirement_date,
                                          chan_date_today()))
        return 0;
    return chand_http_error(err, CHAN_ECONFLICT, E_DEPRECATED,
                            "Channel '%s' is deprecated since %s; it accepts no new consumers.",
                            ch->name,
                            ch->deprecation_date ? ch->deprecation_date : ch->retirement_date);
}

/*
** The reply of a dry run of PUT .../consumers/{consumer} that passed every
** check: the status and consumer object the real request would give (state,
** times as of now), with "dry_run": true.  Nothing is stored or audited.
*/
static int reply_dry_run(chand_request *req, chan_consumer_record *rec,
                         const chan_consumer_record *existing, const char *warning)
{
    int64_t now = now_seconds();
    chan_record_json_options opts = json_options(req, false, now);
    unsigned int status = rec->state == CHAN_CONSUMER_PENDING ? 202 : existing ? 200 : 201;
    json_t *o;

    rec->registered_at = existing ? existing->registered_at : now;
    rec->renewed_at = now;
    o = chan_consumer_record_to_json(rec, &opts);
    json_object_set_new(o, "dry_run", json_true());
    if (warning != NULL) {
        char *header = chan_xasprintf("299 - \"%s\"", warning);

        json_object_set_new(o, "warnings", json_pack("[s]", warning));
        chand_reply_header(req, "Warning", header);
        free(header);
    }
    return chand_reply_json(req, status, o);
}

/* PUT /v1/channels/{name}/consumers/{consumer}: register or update one consumer. */
static int put_consumer(chand_request *req, chan_error *err)
{
    const char *channel = chand_request_param(req, "name");
    const char *name = chand_request_param(req, "consumer");
    chan_store *store = chand_request_store(req);
    const chan_authz_decision *decision = chand_request_decision(req);
    chan_diag_list *diags = chan_diag_list_new();
    chan_channel_record *current = NULL;
    const chan_consumer_record *existing;
    chan_consumer_record rec;
    json_t *body = NULL;
    char *warning = NULL;
    int64_t today_days;
    chan_consumer_put_options put_opts = CHAN_CONSUMER_PUT_OPTIONS_INIT;
    char today[16];
    bool created = false, dry_run = false;
    unsigned int status;
    size_t i, n_errors;
    int error;

    chan_consumer_record_init(&rec);
    if ((error = chand_request_query_bool(&dry_run, req, "dry_run", false, err)) < 0 ||
        (error = chand_request_json(&body, req, err)) < 0)
        goto cleanup;
    parse_consumer_body(&rec, body, channel, name, diags);
    /* Registered over the API, for the team the identity acts for (authz decided it). */
    rec.origin = CHAN_CONSUMER_ORIGIN_API;
    rec.requester_team = decision->team ? chan_xstrdup(decision->team) : NULL;
    rec.requested_by = chan_xstrdup(chand_request_actor(req));

    error = chan_store_channel_get(store, &current, channel, err);
    if (error < 0) {
        error = api_error(error, channel, NULL, err);
        goto cleanup;
    }
    existing = find_consumer(current, name);
    if (existing != NULL && existing->origin == CHAN_CONSUMER_ORIGIN_CONTRACT) {
        error = chand_http_error(err, CHAN_ECONFLICT, E_CONTRACT_MANAGED,
                                 "Consumer '%s' of channel '%s' is managed by the contract; change "
                                 "the contract file.",
                                 name, channel);
        goto cleanup;
    }
    /* Two consumers in one group would split the partitions between them (rejected ones hold
     * no group). */
    for (i = 0; rec.group != NULL && i < current->n_consumers; i++) {
        const chan_consumer_record *o = &current->consumers[i];

        if (strcmp(o->name, name) != 0 && o->state != CHAN_CONSUMER_REJECTED &&
            strcmp(o->group, rec.group) == 0)
            chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0,
                                             CHAN_CONTRACT_RULE_DUP_CONSUMER, "group",
                                             "group \"%s\" is already used by consumer \"%s\"",
                                             rec.group, o->name),
                               "give each consumer its own group");
    }
    n_errors = chan_diag_list_count(diags);
    if (n_errors > 0) {
        char *msg =
            chan_xasprintf("Consumer is invalid: %zu error%s.", n_errors, n_errors == 1 ? "" : "s");

        error = chand_reply_diags(req, E_INVALID, msg, diags);
        free(msg);
        goto cleanup;
    }
    rec.state = chan_policy_registration_state(decision->as_owner, existing, &rec);
    /* A new consumer, a new principal or a new approval gives someone read access. */
    if (chan_policy_grants_new_access(existing, &rec) &&
        (error = refuse_if_deprecated(current, err)) < 0)
        goto cleanup;

    warning = deprecation_warning(current, chand_request_config(req)->deprecation_warning_days);
    if (dry_run) {
        error = reply_dry_run(req, &rec, existing, warning);
        goto cleanup;
    }

    /* The checks above give precise replies; the store repeats them under its lock. */
    today_days = chan_date_today();
    put_opts.unique_group = true;
    put_opts.refuse_new_from = chan_date_format(today, sizeof(today), today_days);
    error = chan_store_consumer_put_checked(store, &created, &rec, &put_opts,
                                            chand_request_actor(req), err);
    if (error < 0 && chan_store_error_reason(err) == CHAN_STORE_R_CHANNEL_DEPRECATED) {
        error =
            chand_http_error(err, CHAN_ECONFLICT, E_DEPRECATED,
                             "Channel '%s' is deprecated; it accepts no new consumers.", channel);
        goto cleanup;
    }
    if (error < 0 && chan_store_error_reason(err) == CHAN_STORE_R_GROUP_IN_USE) {
        chan_diag_set_hint(chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0,
                                         CHAN_CONTRACT_RULE_DUP_CONSUMER, "group", "%s",
                                         err->message),
                           "give each consumer its own group");
        chan_error_clear(err);
        error = chand_reply_diags(req, E_INVALID, "Consumer is invalid: 1 error.", diags);
        goto cleanup;
    }
    if (error < 0) {
        error = api_error(error, channel, name, err);
        goto cleanup;
    }
    if (existing != NULL)
        rec.registered_at = existing->registered_at;
    /* 202: accepted, but no access until the channel's owner approves it. */
    status = rec.state == CHAN_CONSUMER_PENDING ? 202 : created ? 201 : 200;
    error = reply_consumer(req, status, channel, name, &rec, warning);

cleanup:
    chan_consumer_record_dispose(&rec);
    free(warning);
    chan_channel_record_free(current);
    chan_diag_list_free(diags);
    json_decref(body);
    return error;
}

/* POST /v1/channels/{name}/consumers/{consumer}/renew */
static int renew_consumer(chand_request *req, chan_error *err)
{
    const char *channel = chand_request_param(req, "name");
    const char *name = chand_request_param(req, "consumer");
    int error;

    error = chan_store_consumer_renew(chand_request_store(req), channel, name,
                                      chand_request_actor(req), err);
    if (error < 0)
        return api_error(error, channel, name, err);
    return reply_consumer(req, 200, channel, name, NULL, NULL);
}

/* DELETE /v1/channels/{name}/consumers/{consumer} */
static int delete_consumer(chand_request *req, chan_error *err)
{
    const char *channel = chand_request_param(req, "name");
    const char *name = chand_request_param(req, "consumer");
    int error;

    error = chan_store_consumer_delete(chand_request_store(req), channel, name,
                                       chand_request_actor(req), err);
    if (error < 0)
        return api_error(error, channel, name, err);
    return chand_reply_json(
        req, 200, json_pack("{s:s, s:s, s:b}", "channel", channel, "consumer", name, "deleted", 1));
}

/*
** POST .../consumers/{consumer}/approve and .../reject: the channel owner's
** decision on a pending registration.  A rejection needs {"reason"} of 1 to
** MAX_REASON characters; an approval may give one.
*/
static int decide_consumer(chand_request *req, chan_consumer_state decision, chan_error *err)
{
    const char *channel = chand_request_param(req, "name");
    const char *name = chand_request_param(req, "consumer");
    const json_t *v = NULL;
    const char *reason = NULL;
    chan_channel_record *current = NULL;
    const chan_consumer_record *existing;
    chan_consumer_put_options decide_opts = CHAN_CONSUMER_PUT_OPTIONS_INIT;
    char today[16];
    json_t *body = NULL;
    size_t len;
    int error;

    if (chand_request_body(req, &len) != NULL && len > 0) {
        if ((error = chand_request_json(&body, req, err)) < 0)
            goto cleanup;
        v = json_object_get(body, "reason");
    }
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) != strlen(json_string_value(v)) ||
            json_string_length(v) == 0 || chan_utf8_chars(json_string_value(v)) > MAX_REASON) {
            error =
                chand_http_error(err, CHAN_EINVALID, E_NO_REASON,
                                 "The reason must be a string of 1 to %d characters.", MAX_REASON);
            goto cleanup;
        }
        reason = json_string_value(v);
    }
    if (decision == CHAN_CONSUMER_REJECTED && reason == NULL) {
        error = chand_http_error(err, CHAN_EINVALID, E_NO_REASON,
                                 "A rejection needs a reason: send {\"reason\": \"...\"} (1 to %d "
                                 "characters).",
                                 MAX_REASON);
        goto cleanup;
    }
    /* Approving one that was not approved gives its principal read access: not on a channel
     * that takes no new consumers.  (Any other state is the store's 40914.) */
    if (decision == CHAN_CONSUMER_APPROVED) {
        error = chan_store_channel_get(chand_request_store(req), &current, channel, err);
        if (error < 0) {
            error = api_error(error, channel, NULL, err);
            goto cleanup;
        }
        existing = find_consumer(current, name);
        if (existing != NULL && existing->state == CHAN_CONSUMER_PENDING) {
            chan_consumer_record next = *existing; /* shallow: current owns the strings */

            next.state = CHAN_CONSUMER_APPROVED;
            if (chan_policy_grants_new_access(existing, &next) &&
                (error = refuse_if_deprecated(current, err)) < 0)
                goto cleanup;
        }
    }
    /* The store repeats the check under the channel's lock. */
    decide_opts.refuse_new_from = chan_date_format(today, sizeof(today), chan_date_today());
    error = chan_store_consumer_decide_checked(chand_request_store(req), channel, name, decision,
                                               reason, &decide_opts, chand_request_actor(req), err);
    if (error < 0) {
        error = api_error(error, channel, name, err);
        goto cleanup;
    }
    error = reply_consumer(req, 200, channel, name, NULL, NULL);
cleanup:
    chan_channel_record_free(current);
    json_decref(body);
    return error;
}

/* POST /v1/channels/{name}/consumers/{consumer}/approve */
static int approve_consumer(chand_request *req, chan_error *err)
{
    return decide_consumer(req, CHAN_CONSUMER_APPROVED, err);
}

/* POST /v1/channels/{name}/consumers/{consumer}/reject {"reason": "..."} */
static int reject_consumer(chand_request *req, chan_error *err)
{
    return decide_consumer(req, CHAN_CONSUMER_REJECTED, err);
}

/* One consumer of GET /v1/consumers with its channel and sort key. */
typedef struct consumer_item {
    const chan_channel_record *channel;
    const chan_consumer_record *consumer;
    char *key; /* channel \x01 name: byte order is (channel, name) order */
} consumer_item;

static int consumer_item_cmp(const void *a, const void *b)
{
    return strcmp(((const consumer_item *)a)->key, ((const consumer_item *)b)->key);
}

/* Query parameters of GET /v1/consumers that the next page repeats. */
static const char *const consumer_list_keys[] = {"state", "team", NULL};

/*
** GET /v1/consumers?state=pending&team=T&limit=N&cursor=C: consumers of
** every channel, each with its "channel", in (channel, name) order; team
** matches the channel's owner team or the team a registration was made for.
*/
static int list_all_consumers(chand_request *req, chan_error *err)
{
    const char *state_name = chand_request_query(req, "state");
    const char *team = chand_request_query(req, "team");
    chan_record_json_options opts = json_options(req, false, now_seconds());
    chan_consumer_state state = CHAN_CONSUMER_APPROVED;
    chan_channel_record **list = NULL;
    chand_page page = {0, NULL};
    consumer_item *items = NULL;
    const char **keys = NULL;
    const char *next = NULL;
    json_t *consumers = NULL, *reply;
    char shown[68];
    size_t i, k, n = 0, n_items = 0, start = 0, end = 0;
    int error;

    if (state_name != NULL && chan_consumer_state_parse(&state, state_name) < 0) {
        error = chand_http_error(err, CHAN_EINVALID, E_BAD_PARAM,
                                 "Query parameter 'state' must be approved, pending or rejected, "
                                 "got '%s'.",
                                 chan_str_clip(shown, sizeof(shown), state_name));
        goto cleanup;
    }
    if ((error = chand_page_parse(&page, req, err)) < 0)
        goto cleanup;
    if (team != NULL && team[0] == '\0')
        team = NULL;
    if ((error = chan_store_channel_list(chand_request_store(req), &list, &n, NULL, err)) < 0) {
        error = api_error(error, NULL, NULL, err);
        goto cleanup;
    }
    for (i = 0; i < n; i++)
        n_items += list[i]->n_consumers;
    items = chan_xcalloc(n_items + 1, sizeof(*items));
    n_items = 0;
    for (i = 0; i < n; i++)
        for (k = 0; k < list[i]->n_consumers; k++) {
            const chan_consumer_record *c = &list[i]->consumers[k];

            if (state_name != NULL && c->state != state)
                continue;
            if (team != NULL && strcmp(list[i]->owner_team, team) != 0 &&
                (c->requester_team == NULL || strcmp(c->requester_team, team) != 0))
                continue;
            items[n_items].channel = list[i];
            items[n_items].consumer = c;
            items[n_items].key = chan_xasprintf("%s\x01%s", list[i]->name, c->name);
            n_items++;
        }
    qsort(items, n_items, sizeof(*items), consumer_item_cmp);
    keys = chan_xcalloc(n_items + 1, sizeof(*keys));
    for (i = 0; i < n_items; i++)
        keys[i] = items[i].key;
    chand_page_slice(&start, &end, &next, &page, keys, n_items);
    consumers = json_array();
    for (i = start; i < end; i++) {
        json_t *o = chan_consumer_record_to_json(items[i].consumer, &opts);

        json_object_set_new(o, "channel", chan_json_str_or_null(items[i].channel->name));
        json_array_append_new(consumers, o);
    }
    reply = json_pack("{s:o}", "consumers", consumers);
    consumers = NULL;
    chand_page_finish_json(req, reply, &page, next, n_items, consumer_list_keys);
    error = chand_reply_json(req, 200, reply);
cleanup:
    json_decref(consumers);
    for (i = 0; items != NULL && i < n_items; i++)
        free(items[i].key);
    free(items);
    free(keys);
    chand_page_dispose(&page);
    chan_channel_record_list_free(list, n);
    return error;
}

/* ------------------------------------------------------------------ */
/* Audit log                                                           */
/* ------------------------------------------------------------------ */

/* Query parameters of GET /v1/audit that the next page repeats. */
static const char *const audit_list_keys[] = {"after", "object", NULL};

/*
** GET /v1/audit?after=ID&limit=N&object=PREFIX&cursor=C: entries oldest
** first.  "next" is the highest id returned (to follow the log with
** after=); next_cursor and total follow the paging convention, total
** counting the entries after `after`.
*/
static int list_audit(chand_request *req, chan_error *err)
{
    const char *object = chand_request_query(req, "object");
    chan_audit_entry **list = NULL;
    chand_page page = {0, NULL};
    json_t *entries = NULL, *reply;
    int64_t after, start, next;
    size_t i, n = 0, total = 0, shown;
    char key[32];
    int error;

    if ((error = query_int(&after, req, "after", 0, 0, INT64_MAX, err)) < 0 ||
        (error = chand_page_parse(&page, req, err)) < 0)
        goto cleanup;
    start = after;
    if (page.after != NULL && (chan_parse_int64(&start, page.after, 0, INT64_MAX) < 0)) {
        error = chand_http_error(err, CHAN_EINVALID, E_BAD_PARAM,
                                 "Query parameter 'cursor' is not a cursor of this list: pass the "
                                 "next_cursor of the previous page unchanged.");
        goto cleanup;
    }
    if (start < after)
        start = after;
    if (object != NULL && object[0] == '\0')
        object = NULL;
    /* One more than the page tells whether another page follows. */
    if ((error = chan_store_audit_list(chand_request_store(req), &list, &n, start, page.limit + 1,
                                       object, err)) < 0 ||
        (error = chan_store_audit_count(chand_request_store(req), &total, after, object, err)) <
            0) {
        error = api_error(error, NULL, NULL, err);
        goto cleanup;
    }
    shown = n > page.limit ? page.limit : n;
    entries = json_array();
    next = start;
    for (i = 0; i < shown; i++) {
        const chan_audit_entry *e = list[i];
        json_t *o = json_object();
        json_t *detail = e->detail ? json_loads(e->detail, JSON_DECODE_ANY, NULL) : NULL;

        json_object_set_new(o, "id", json_integer(e->id));
        json_object_set_new(o, "ts", chan_json_time(e->ts));
        json_object_set_new(o, "actor", chan_json_str_or_null(e->actor));
        json_object_set_new(o, "action", chan_json_str_or_null(e->action));
        json_object_set_new(o, "object", chan_json_str_or_null(e->object));
        json_object_set_new(o, "detail", detail ? detail : chan_json_str_or_null(e->detail));
        json_array_append_new(entries, o);
        if (e->id > next)
            next = e->id;
    }
    reply = json_pack("{s:o, s:I}", "entries", entries, "next", (json_int_t)next);
    entries = NULL;
    snprintf(key, sizeof(key), "%" PRId64, next);
    chand_page_finish_json(req, reply, &page, n > page.limit ? key : NULL, total, audit_list_keys);
    error = chand_reply_json(req, 200, reply);
cleanup:
    json_decref(entries);
    chand_page_dispose(&page);
    chan_audit_entry_list_free(list, n);
    return error;
}

/* ------------------------------------------------------------------ */
/* Route table                                                         */
/* ------------------------------------------------------------------ */

const chand_route chand_api_channels_routes[] = {
    {"GET", "/v1/channels", list_channels, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_SECOND},
    {"GET", "/v1/channels/{name}", get_channel, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_SECOND},
    {"PUT", "/v1/channels/{name}", put_channel, CHAN_AUTHZ_CHANNEL_PUT, chand_target_channel_put,
     CHAND_CACHE_NONE},
    {"DELETE", "/v1/channels/{name}", delete_channel, CHAN_AUTHZ_CHANNEL_DELETE,
     chand_target_channel, CHAND_CACHE_NONE},
    {"GET", "/v1/channels/{name}/consumers", list_consumers, CHAN_AUTHZ_READ, NULL,
     CHAND_CACHE_SECOND},
    {"PUT", "/v1/channels/{name}/consumers/{consumer}", put_consumer, CHAN_AUTHZ_CONSUMER_REGISTER,
     chand_target_consumer, CHAND_CACHE_NONE},
    {"DELETE", "/v1/channels/{name}/consumers/{consumer}", delete_consumer,
     CHAN_AUTHZ_CONSUMER_CHANGE, chand_target_consumer, CHAND_CACHE_NONE},
    {"POST", "/v1/channels/{name}/consumers/{consumer}/renew", renew_consumer,
     CHAN_AUTHZ_CONSUMER_CHANGE, chand_target_consumer, CHAND_CACHE_NONE},
    {"POST", "/v1/channels/{name}/consumers/{consumer}/approve", approve_consumer,
     CHAN_AUTHZ_CONSUMER_DECIDE, chand_target_consumer, CHAND_CACHE_NONE},
    {"POST", "/v1/channels/{name}/consumers/{consumer}/reject", reject_consumer,
     CHAN_AUTHZ_CONSUMER_DECIDE, chand_target_consumer, CHAND_CACHE_NONE},
    {"GET", "/v1/consumers", list_all_consumers, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_SECOND},
    {"GET", "/v1/audit", list_audit, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
};

const size_t chand_api_channels_routes_count = CHAN_ARRAY_SIZE(chand_api_channels_routes);
