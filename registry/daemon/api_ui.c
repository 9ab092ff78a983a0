/*
 * api_ui.c - the web UI of chanregd and the two read routes made for it:
 *
 *   GET /ui, GET /ui/{file}                     the UI's files (compiled in, ui_assets.h)
 *   GET /v1/channels/{name}/schema-diff?from=&to=  field-level diff of two schema
 *                                               versions of the channel's subject,
 *                                               with the compatibility verdict
 *   GET /v1/consumer-rules                      the consumer fields' rules as data
 *
 * The UI's files are public (the page must load before the user signs in);
 * everything it shows comes from the API with the user's token, and every
 * write goes through the same routes as chanctl.  Every UI reply carries a
 * strict Content-Security-Policy (only the daemon's own scripts, styles and
 * images; no inline script; no framing), X-Content-Type-Options: nosniff,
 * a strong ETag and Cache-Control: no-cache, so that a browser revalidates
 * and gets 304 Not Modified while the binary is the same.
 *
 * The diff and the verdict are the library's (chan_avro_diff_compute,
 * chan_avro_check_mode, chan_avro_check_removals): the UI only shows them.
 *
 * API error codes of this module:
 *   40400 no such UI file           40410 the channel does not exist
 *   40401, 40402 subject or version not found (as the Schema Registry API)
 *   42202 from or to is not a version number
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "chan/contract.h"
#include "chan/error.h"
#include "chan/model.h"
#include "chan/store.h"

#include "api.h"
#include "ui_assets.h"

#define E_UI_NOT_FOUND      40400
#define E_SUBJECT_NOT_FOUND 40401
#define E_VERSION_NOT_FOUND 40402
#define E_CHANNEL_NOT_FOUND 40410
#define E_BAD_QUERY         42202

/* The policy of every UI reply: the daemon's own files only, no inline code, no framing. */
#define UI_CSP                                                                                     \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "                 \
    "frame-ancestors 'none'"

/* ------------------------------------------------------------------ */
/* The UI's files                                                      */
/* ------------------------------------------------------------------ */

/* The asset called name, or NULL. */
static const chand_ui_asset *find_asset(const char *name)
{
    size_t i;

    for (i = 0; i < chand_ui_asset_count; i++)
        if (strcmp(chand_ui_assets[i].name, name) == 0)
            return &chand_ui_assets[i];
    return NULL;
}

/* Does the If-None-Match header list etag (or "*")? */
static bool etag_matches(const char *header, const char *etag)
{
    size_t n = strlen(etag);
    const char *p;

    if (header == NULL)
        return false;
    if (strcmp(header, "*") == 0)
        return true;
    for (p = strstr(header, etag); p != NULL; p = strstr(p + 1, etag)) {
        bool starts = p == header || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/';
        bool ends = p[n] == '\0' || p[n] == ',' || p[n] == ' ';

        if (starts && ends)
            return true;
    }
    return false;
}

/* Reply with asset a, or 304 when the client has it. */
static int serve_asset(chand_request *req, const chand_ui_asset *a)
{
    chand_reply_header(req, "Content-Security-Policy", UI_CSP);
    chand_reply_header(req, "X-Content-Type-Options", "nosniff");
    chand_reply_header(req, "X-Frame-Options", "DENY");
    chand_reply_header(req, "Referrer-Policy", "no-referrer");
    chand_reply_header(req, "Cache-Control", "no-cache");
    chand_reply_header(req, "ETag", a->etag);
    if (etag_matches(chand_request_header(req, "If-None-Match"), a->etag))
        return chand_reply_raw(req, 304, a->content_type, "", 0);
    return chand_reply_raw(req, 200, a->content_type, (const char *)a->data, a->len);
}

/* GET /ui (and /ui/): the single page. */
static int ui_index(chand_request *req, chan_error *err)
{
    const chand_ui_asset *a = find_asset("index.html");

    if (a == NULL)
        return chand_reply_error(req, E_UI_NOT_FOUND, "The UI is not built into this chanregd.");
    return serve_asset(req, a);
}

/* GET /ui/{file} */
static int ui_file(chand_request *req, chan_error *err)
{
    const chand_ui_asset *a = find_asset(chand_request_param(req, "file"));

    if (a == NULL) {
        chand_reply_header(req, "X-Content-Type-Options", "nosniff");
        return chand_reply_error(req, E_UI_NOT_FOUND, "No such UI file.");
    }
    return serve_asset(req, a);
}

/* ------------------------------------------------------------------ */
/* Schema diff                                                         */
/* ------------------------------------------------------------------ */

/* ?name=N as a version number >= 1; *out left alone when absent. */
static int query_version(int *out, const chand_request *req, const char *name, chan_error *err)
{
    const char *s = chand_request_query(req, name);
    int64_t n;

    if (s == NULL)
        return 0;
    if (chan_parse_int64(&n, s, 1, INT32_MAX) < 0)
        return chand_http_error(err, CHAN_EINVALID, E_BAD_QUERY,
                                "Query parameter '%s' must be a version number (1 or more).", name);
    *out = (int)n;
    return 0;
}

/* Version `version` of subject, parsed; 404 40401/40402 when absent. */
static int load_version(chan_schema_version **out_v, chan_avro_schema **out_s, chan_store *store,
                        const char *subject, int version, chan_error *err)
{
    chan_error perr = CHAN_ERROR_INIT;
    int error;

    error = chan_store_version_get(store, out_v, subject, version, false, err);
    if (error == CHAN_ENOTFOUND) {
        bool no_subject = chan_store_error_reason(err) == CHAN_STORE_R_SUBJECT_NOT_FOUND;

        chan_error_clear(err);
        if (no_subject)
            return chand_http_error(err, CHAN_ENOTFOUND, E_SUBJECT_NOT_FOUND,
                                    "Subject '%s' not found.", subject);
        return chand_http_error(err, CHAN_ENOTFOUND, E_VERSION_NOT_FOUND,
                                "Version %d of subject '%s' not found.", version, subject);
    }
    if (error < 0)
        return error;
    if (chan_avro_schema_parse(out_s, (*out_v)->schema, strlen((*out_v)->schema), &perr) < 0)
        return chan_error_set(err, CHAN_EINTERNAL,
                              "stored schema of %s version %d does not parse: %s", subject, version,
                              perr.message);
    return 0;
}

/* The non-transitive mode of a level: a pair of versions is checked as one step. */
static chan_compat_mode pairwise(chan_compat_mode mode)
{
    switch (mode) {
    case CHAN_COMPAT_BACKWARD_TRANSITIVE:
        return CHAN_COMPAT_BACKWARD;
    case CHAN_COMPAT_FORWARD_TRANSITIVE:
        return CHAN_COMPAT_FORWARD;
    case CHAN_COMPAT_FULL_TRANSITIVE:
        return CHAN_COMPAT_FULL;
    default:
        return mode;
    }
}

static json_t *version_json(const chan_schema_version *v)
{
    return json_pack("{s:i,s:I}", "version", v->version, "id", (json_int_t)v->id);
}

/*
** GET /v1/channels/{name}/schema-diff?from=F&to=T: what changed from version F
** to version T of the channel's subject (default: T the latest version, F the
** live version before it, or T itself), and whether T may follow F under the
** subject's effective compatibility level taken as one step.
*/
static int schema_diff(chand_request *req, chan_error *err)
{
    const char *name = chand_request_param(req, "name");
    chan_store *store = chand_request_store(req);
    chan_channel_record *ch = NULL;
    chan_schema_version *vf = NULL, *vt = NULL;
    chan_avro_schema *sf = NULL, *st = NULL;
    chan_compat_report *report = chan_compat_report_new();
    chan_avro_diff *diff = NULL;
    chan_compat_mode level, step;
    json_t *changes = NULL, *issues = NULL;
    int *versions = NULL, from = 0, to = 0;
    size_t n_versions = 0, i;
    bool compatible = true;
    int error;

    if ((error = query_version(&from, req, "from", err)) < 0 ||
        (error = query_version(&to, req, "to", err)) < 0)
        goto cleanup;
    error = chan_store_channel_get(store, &ch, name, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        error = chand_http_error(err, CHAN_ENOTFOUND, E_CHANNEL_NOT_FOUND,
                                 "Channel '%s' not found.", name);
    }
    if (error < 0)
        goto cleanup;
    if (to == 0 || from == 0) {
        error = chan_store_subject_versions(store, &versions, &n_versions, ch->subject, false, err);
        if (error == CHAN_ENOTFOUND) {
            chan_error_clear(err);
            error = chand_http_error(err, CHAN_ENOTFOUND, E_SUBJECT_NOT_FOUND,
                                     "Subject '%s' not found.", ch->subject);
        }
        if (error < 0)
            goto cleanup;
        if (to == 0)
            to = versions[n_versions - 1];
        for (i = 0; from == 0 && i < n_versions; i++)
            if (versions[n_versions - 1 - i] < to)
                from = versions[n_versions - 1 - i];
        if (from == 0)
            from = to;
    }
    if ((error = load_version(&vf, &sf, store, ch->subject, from, err)) < 0 ||
        (error = load_version(&vt, &st, store, ch->subject, to, err)) < 0 ||
        (error = chand_effective_level(&level, req, ch->subject, err)) < 0)
        goto cleanup;

    diff = chan_avro_diff_compute(sf, st);
    changes = json_array();
    for (i = 0; i < chan_avro_diff_count(diff); i++) {
        const chan_avro_change *c = chan_avro_diff_get(diff, i);

        json_array_append_new(changes,
                              json_pack("{s:s,s:s,s:s?,s:s?}", "kind", c->kind, "path", c->path,
                                        "old", c->old_value, "new", c->new_value));
    }
    step = pairwise(level);
    if (from != to) {
        const chan_avro_schema *prev[1] = {sf};

        if (step != CHAN_COMPAT_NONE && chan_avro_check_mode(step, st, prev, 1, report) != 0)
            compatible = false;
        if (!chan_avro_check_removals(st, sf, report))
            compatible = false;
    }
    issues = json_array();
    for (i = 0; i < chan_compat_report_count(report); i++) {
        const chan_compat_issue *is = chan_compat_report_get(report, i);

        json_array_append_new(issues,
                              json_pack("{s:s,s:s,s:s}", "kind", is->kind, "location",
                                        is->location ? is->location : "", "message", is->message));
    }
    error = chand_reply_json(
        req, 200,
        json_pack("{s:s,s:s,s:o,s:o,s:s,s:s,s:b,s:o,s:o}", "channel", ch->name, "subject",
                  ch->subject, "from", version_json(vf), "to", version_json(vt), "compatibility",
                  chan_compat_mode_name(level), "checked_as", chan_compat_mode_name(step),
                  "compatible", compatible, "issues", issues, "changes", changes));
    issues = changes = NULL;

cleanup:
    json_decref(issues);
    json_decref(changes);
    chan_avro_diff_free(diff);
    chan_compat_report_free(report);
    chan_avro_schema_free(sf);
    chan_avro_schema_free(st);
    chan_schema_version_free(vf);
    chan_schema_version_free(vt);
    free(versions);
    chan_channel_record_free(ch);
    return error;
}

/* GET /v1/consumer-rules: the rules of a consumer's fields, as data for forms. */
static int consumer_rules(chand_request *req, chan_error *err)
{
    return chand_reply_json(req, 200, chan_contract_consumer_rules_json());
}

const chand_route chand_api_ui_routes[] = {
    {"GET", "/ui", ui_index, CHAN_AUTHZ_PUBLIC, NULL, CHAND_CACHE_NONE},
    {"GET", "/ui/{file}", ui_file, CHAN_AUTHZ_PUBLIC, NULL, CHAND_CACHE_NONE},
    {"GET", "/v1/channels/{name}/schema-diff", schema_diff, CHAN_AUTHZ_READ, NULL,
     CHAND_CACHE_NONE},
    {"GET", "/v1/consumer-rules", consumer_rules, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
};

const size_t chand_api_ui_routes_count = CHAN_ARRAY_SIZE(chand_api_ui_routes);
