/*
 * api_schema.c - the Confluent Schema Registry-compatible API of chanregd:
 * subjects, versions, schemas by id, compatibility checks, configuration and
 * modes, with Confluent's error codes and messages, so that existing
 * serializers and tools work unchanged (see docs/api.md).
 *
 * Registration parses the schema with the Avro engine, stores its normalized
 * text, and lets the store call check_compatible while the subject is locked:
 * the new schema must satisfy the effective compatibility level (subject
 * level, else global level, else --default-compatibility) against the earlier
 * live versions, and, where chan_policy_removal_rule_applies says so (a
 * subject a contract binds, or every subject with
 * --require-deprecation-all-subjects; never under NONE), the governance rule
 * of chan_avro_check_removals against the latest one.  Only AVRO schemas are
 * supported.  Schema references are resolved against the store
 * (recursively, each name once, cycles refused) before parsing; a
 * registration is the same schema as an earlier one when their
 * chan_avro_schema_identity is equal, and ?normalize=true (or the subject's
 * normalize setting) applies chan_avro_schema_normalize first.  Stored
 * schemas and request texts without references are parsed once per process
 * (schema_cache.h); a transitive check reads only the ids of the earlier
 * versions, and texts only for schemas the cache lacks.  POST
 * /compatibility/subjects/{subject}/versions runs the same check with the
 * same reads (check_request, chan_store_schema_check).
 * Compatibility verdicts (registrations that reached the check, and
 * compatibility checks) are reported to daemon_metrics.h.
 *
 * The policy floor (--min-compatibility) applies to subjects a channel's
 * contract binds: PUT and DELETE /config/{subject} refuse with 403 / 40302 to
 * leave such a subject at a level that does not satisfy the floor, unless the
 * caller is an admin or the channel's waiver is approved and the level is the
 * contract's own (chan_policy_level_allowed).  Unbound subjects keep
 * Confluent's semantics.  PUT /config?dry_run=true runs the same checks and
 * replies as the real call would, without writing.  A channel put refuses to
 * bind a subject whose level is below the floor (api_channels.c), with the
 * same chand_floor_check.
 */
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chan/avro.h"
#include "chan/policy.h"
#include "chan/store.h"

#include "api.h"
#include "authz_targets.h"
#include "config.h"
#include "daemon_metrics.h"
#include "schema_cache.h"

#define MODULE "schema"

/* Confluent error codes that are not store reasons. */
enum {
    SR_SUBJECT_LEVEL_CONFIG_NOT_FOUND = 40408,
    SR_SUBJECT_LEVEL_MODE_NOT_FOUND = 40409,
    SR_BELOW_FLOOR = 40302, /* not Confluent's: the policy floor of a bound subject */
    SR_INVALID_SCHEMA = 42201,
    SR_INVALID_VERSION = 42202,
    SR_INVALID_COMPATIBILITY = 42203,
    SR_INVALID_MODE = 42204,
    SR_OPERATION_NOT_PERMITTED = 42205,
    SR_INVALID_SUBJECT = 42208,
    SR_INCOMPATIBLE = 40901,
    SR_STORE_ERROR = 50001,
    SR_TIMEOUT = 50002,
};

#define MAX_SUBJECT_LEN 1024

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* True when s is valid UTF-8 without control characters. */
static bool valid_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    while (*p) {
        unsigned int c = *p, n, k, cp;

        if (c < 0x20 || c == 0x7f)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            n = 1, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
            n = 2, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
            n = 3, cp = c & 0x07;
        else
            return false;
        for (k = 1; k <= n; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

/* The {subject} parameter, checked.  Returns it, or NULL with err set. */
static const char *get_subject(const chand_request *req, chan_error *err)
{
    const char *s = chand_request_param(req, "subject");

    if (s == NULL || *s == '\0' || strlen(s) > MAX_SUBJECT_LEN || !valid_text(s)) {
        chand_http_error(err, CHAN_EINVALID, SR_INVALID_SUBJECT,
                         "The specified subject is not a valid subject (non-empty UTF-8 text "
                         "without control characters, at most %d bytes).",
                         MAX_SUBJECT_LEN);
        return NULL;
    }
    return s;
}

/*
** The {version} parameter as Confluent's VersionId reads it: spaces around
** it ignored, 1..2^31-1, "latest" in any case, or -1 (latest).
*/
static int get_version(int *out, const chand_request *req, chan_error *err)
{
    const char *s = chand_request_param(req, "version");
    char buf[32];
    size_t len;
    int64_t v;

    *out = 0;
    if (s) {
        while (*s == ' ' || *s == '\t')
            s++;
        len = strlen(s);
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            len--;
        if (len < sizeof(buf)) {
            memcpy(buf, s, len);
            buf[len] = '\0';
            if (strcasecmp(buf, "latest") == 0) {
                *out = -1;
                return 0;
            }
            if (chan_parse_int64(&v, buf, -1, INT_MAX) == 0 && v != 0) {
                *out = (int)v;
                return 0;
            }
        }
        s = chand_request_param(req, "version");
    }
    return chand_http_error(err, CHAN_EINVALID, SR_INVALID_VERSION,
                            "The specified version '%s' is not a valid version id. Allowed values "
                            "are between [1, 2^31-1] and the string \"latest\"",
                            s ? s : "");
}

/* The {id} parameter.  A malformed id is reported as an unknown schema, like Confluent. */
static int get_id(int64_t *out, const chand_request *req, chan_error *err)
{
    const char *s = chand_request_param(req, "id");

    if (s && chan_parse_int64(out, s, 1, INT64_MAX) == 0)
        return 0;
    return chand_http_error(err, CHAN_ENOTFOUND, 40403, "Schema %s not found", s ? s : "");
}

/*
** Rewrite a store error into Confluent's code and message for the objects of
** the request.  Returns err->code.
*/
static int sr_error(chan_error *err, const char *subject, int version, int64_t id)
{
    int code = chand_http_error_code(err);
    char ver[32];

    if (version > 0)
        snprintf(ver, sizeof(ver), "%d", version);
    else
        snprintf(ver, sizeof(ver), "latest");
    switch (code) {
    case 40401:
        return chand_http_error(err, err->code, code, "Subject '%s' not found.",
                                subject ? subject : "");
    case 40402:
        return chand_http_error(err, err->code, code, "Version %s not found.", ver);
    case 40403:
        if (id > 0)
            return chand_http_error(err, err->code, code, "Schema %lld not found", (long long)id);
        return chand_http_error(err, err->code, code, "Schema not found");
    case 40404:
        return chand_http_error(err, err->code, code,
                                "Subject '%s' was soft deleted.Set permanent=true to delete "
                                "permanently",
                                subject ? subject : "");
    case 40405:
        return chand_http_error(err, err->code, code,
                                "Subject '%s' was not deleted first before being permanently "
                                "deleted",
                                subject ? subject : "");
    case 40406:
        return chand_http_error(err, err->code, code,
                                "Subject '%s' Version %s was soft deleted.Set permanent=true to "
                                "delete permanently",
                                subject ? subject : "", ver);
    case 40407:
        return chand_http_error(err, err->code, code,
                                "Subject '%s' Version %s was not deleted first before being "
                                "permanently deleted",
                                subject ? subject : "", ver);
    case 42205:
        switch (err->reason) {
        case CHAN_STORE_R_NOT_IMPORT_MODE:
            return chand_http_error(err, err->code, code,
                                    "Subject %s in context . is not in import mode",
                                    subject ? subject : "");
        case CHAN_STORE_R_NOT_READWRITE_MODE:
            return chand_http_error(err, err->code, code,
                                    "Subject %s in context . is not in read-write mode",
                                    subject ? subject : "");
        case CHAN_STORE_R_ID_IN_USE:
            return chand_http_error(err, err->code, code,
                                    "Overwrite new schema with id %lld in context . is not "
                                    "permitted.",
                                    (long long)id);
        case CHAN_STORE_R_IMPORT_NOT_EMPTY:
        case CHAN_STORE_R_VERSION_EXISTS:
            return err->code; /* the store's message says what is there */
        default:
            if (subject == NULL)
                return chand_http_error(err, err->code, code, "The registry is in read-only mode");
            return chand_http_error(err, err->code, code, "Subject %s is in read-only mode",
                                    subject);
        }
    default:
        break;
    }
    if (chand_http_status_of(code) >= 500) {
        char msg[CHAN_ERROR_MESSAGE_MAX];

        snprintf(msg, sizeof(msg), "%s", err->message); /* err is overwritten below */
        chan_log(CHAN_LOG_ERROR, MODULE, "store error code=%s error=\"%s\"",
                 chan_strerror(err->code), msg);
        if (code == SR_TIMEOUT)
            return chand_http_error(err, err->code, SR_TIMEOUT, "Operation timed out: %s", msg);
        return chand_http_error(err, err->code, SR_STORE_ERROR,
                                "Error in the backend datastore: %s", msg);
    }
    return err->code;
}

static json_t *references_json(const chan_schema_reference *refs, size_t n);

/* One subject version as Confluent renders it. */
static json_t *version_json(const chan_schema_version *v)
{
    json_t *doc = json_pack("{s:s,s:i,s:I,s:s}", "subject", v->subject, "version", v->version, "id",
                            (json_int_t)v->id, "schema", v->schema);

    if (doc && v->schema_type && strcmp(v->schema_type, "AVRO") != 0)
        json_object_set_new(doc, "schemaType", json_string(v->schema_type));
    if (doc && v->n_references > 0)
        json_object_set_new(doc, "references", references_json(v->references, v->n_references));
    return doc;
}

/* ------------------------------------------------------------------ */
/* Schemas in requests: references, normalize                          */
/* ------------------------------------------------------------------ */

/* Deepest chain of references followed (a referenced schema's own references, ...). */
#define MAX_REFERENCE_DEPTH 32

/*
** The references of a schema resolved against the store: `direct` are the
** schema's own (versions resolved, "latest" to its number), `texts` the
** schemas they reach, each after those it depends on, one per reference
** name (as Confluent resolves them).
*/
typedef struct resolved_refs {
    chan_schema_reference *direct;
    size_t n_direct;
    char **texts;
    char **names;
    size_t n_texts;
    /* (subject, version) pairs being resolved, to refuse cycles */
    char **stack_subjects;
    int *stack_versions;
    size_t n_stack;
} resolved_refs;

static void resolved_refs_dispose(resolved_refs *r)
{
    size_t i;

    chan_schema_reference_list_free(r->direct, r->n_direct);
    for (i = 0; i < r->n_texts; i++) {
        free(r->texts[i]);
        free(r->names[i]);
    }
    free(r->texts);
    free(r->names);
    free(r->stack_subjects);
    free(r->stack_versions);
    memset(r, 0, sizeof(*r));
}

/*
** Resolve reference (name, subject, version): first what the referenced
** version itself references, then its text.  *out_version receives the
** version number found.  Returns 0 or an error with err set (42201 for a
** reference that names nothing, a cycle or a chain too deep).
*/
static int resolve_one(chand_request *req, resolved_refs *r, const char *name, const char *subject,
                       int version, int *out_version, chan_error *err)
{
    chan_schema_version *v = NULL;
    size_t i;
    int error = 0, ignored;

    *out_version = version;
    if (r->n_stack >= MAX_REFERENCE_DEPTH)
        return chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA,
                                "Invalid schema: references nested deeper than %d levels",
                                MAX_REFERENCE_DEPTH);
    error =
        chan_store_version_get(chand_request_store(req), &v, subject, version, version != -1, err);
    if (error == CHAN_ENOTFOUND)
        return chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA,
                                "Invalid schema: no schema reference found for subject \"%s\" "
                                "and version %d",
                                subject, version);
    if (error < 0)
        return sr_error(err, subject, version, 0);
    *out_version = v->version;
    for (i = 0; i < r->n_stack; i++)
        if (strcmp(r->stack_subjects[i], subject) == 0 && r->stack_versions[i] == v->version) {
            error = chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA,
                                     "Invalid schema: circular reference to subject \"%s\" "
                                     "version %d",
                                     subject, v->version);
            goto cleanup;
        }
    for (i = 0; i < r->n_texts; i++)
        if (strcmp(r->names[i], name) == 0)
            goto cleanup; /* defined already (Confluent resolves each name once) */
    r->stack_subjects = chan_xreallocarray(r->stack_subjects, r->n_stack + 1, sizeof(char *));
    r->stack_versions = chan_xreallocarray(r->stack_versions, r->n_stack + 1, sizeof(int));
    r->stack_subjects[r->n_stack] = v->subject;
    r->stack_versions[r->n_stack] = v->version;
    r->n_stack++;
    for (i = 0; i < v->n_references && error == 0; i++)
        error = resolve_one(req, r, v->references[i].name, v->references[i].subject,
                            v->references[i].version, &ignored, err);
    r->n_stack--;
    if (error < 0)
        goto cleanup;
    for (i = 0; i < r->n_texts; i++)
        if (strcmp(r->names[i], name) == 0)
            goto cleanup;
    r->texts = chan_xreallocarray(r->texts, r->n_texts + 1, sizeof(char *));
    r->names = chan_xreallocarray(r->names, r->n_texts + 1, sizeof(char *));
    r->texts[r->n_texts] = chan_xstrdup(v->schema);
    r->names[r->n_texts] = chan_xstrdup(name);
    r->n_texts++;
cleanup:
    chan_schema_version_free(v);
    return error;
}

/* Resolve the "references" array of a request body (NULL or [] for none). */
static int resolve_body_refs(chand_request *req, const json_t *refs, resolved_refs *r,
                             chan_error *err)
{
    size_t i;
    int error = 0;

    if (refs == NULL || json_is_null(refs))
        return 0;
    if (!json_is_array(refs))
        return chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA,
                                "Invalid schema: \"references\" must be an array");
    r->direct = chan_xcalloc(json_array_size(refs) + 1, sizeof(*r->direct));
    for (i = 0; i < json_array_size(refs); i++) {
        const json_t *ref = json_array_get(refs, i), *jv = json_object_get(ref, "version");
        const char *name = json_string_value(json_object_get(ref, "name"));
        const char *subject = json_string_value(json_object_get(ref, "subject"));
        json_int_t version = json_is_integer(jv) ? json_integer_value(jv) : 0;

        if (name == NULL || *name == '\0' || subject == NULL || *subject == '\0' ||
            strlen(subject) > MAX_SUBJECT_LEN || !valid_text(subject) ||
            !(version == -1 || (version >= 1 && version <= INT_MAX)))
            return chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA,
                                    "Invalid schema: reference #%zu needs a non-empty \"name\" "
                                    "and \"subject\" and a \"version\" (a positive number or -1 "
                                    "for the latest)",
                                    i + 1);
        r->direct[i].name = chan_xstrdup(name);
        r->direct[i].subject = chan_xstrdup(subject);
        r->n_direct = i + 1;
        if ((error = resolve_one(req, r, name, subject, (int)version, &r->direct[i].version, err)) <
            0)
            return error;
    }
    return 0;
}

/* Parse text with resolved references r.  42201 when it is not a valid schema. */
static int parse_with_refs(chan_avro_schema **out, const char *text, size_t len,
                           const resolved_refs *r, chan_error *err)
{
    chan_avro_reference *refs = chan_xcalloc(r->n_direct + 1, sizeof(*refs));
    chan_error perr = CHAN_ERROR_INIT;
    chan_avro_parse_refs pr;
    size_t i;
    int error;

    for (i = 0; i < r->n_direct; i++) {
        refs[i].name = r->direct[i].name;
        refs[i].subject = r->direct[i].subject;
        refs[i].version = r->direct[i].version;
    }
    pr.refs = refs;
    pr.n_refs = r->n_direct;
    pr.texts = (const char *const *)r->texts;
    pr.n_texts = r->n_texts;
    error = chan_avro_schema_parse_refs(out, text, len, &pr, &perr);
    free(refs);
    if (error < 0)
        return chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA, "Invalid schema: %s",
                                perr.message);
    return 0;
}

/*
** Whether schemas of subject are normalized: ?normalize=true, else the
** subject's normalize setting, else the global one (Confluent's rule).
*/
static int effective_normalize(bool *out, chand_request *req, const char *subject, chan_error *err)
{
    chan_store *store = chand_request_store(req);
    int error;

    if ((error = chand_request_query_bool(out, req, "normalize", false, err)) < 0 || *out)
        return error;
    error = chan_store_normalize_get(store, out, subject, err);
    if (error == CHAN_ENOTFOUND)
        error = chan_store_normalize_get(store, out, NULL, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        *out = false;
        return 0;
    }
    return error < 0 ? sr_error(err, subject, 0, 0) : 0;
}

/*
** The parsed schema of a request: `schema`, either borrowed from the
** parsed-schema cache (`handle`) or owned (`owned`: parsed with references,
** or normalized).
*/
typedef struct parsed_body {
    const chan_avro_schema *schema;
    chand_schema *handle;
    chan_avro_schema *owned;
} parsed_body;

static void parsed_body_dispose(parsed_body *b)
{
    chand_schema_release(b->handle);
    chan_avro_schema_free(b->owned);
    memset(b, 0, sizeof(*b));
}

/*
** The schema of a request body ("schema", "schemaType", "references"),
** parsed with its references resolved and normalized when the request or
** the subject's configuration asks for it (subject NULL: no configuration).
** A text without references comes from the parsed-schema cache (it is
** parsed, and passes the Avro C gate, only when new to the process); one
** with references is parsed each time (what they resolve to may change).
** *out_refs receives the resolved references (dispose them).
*/
static int parse_schema_body(parsed_body *out, resolved_refs *out_refs, chand_request *req,
                             const char *subject, chan_error *err)
{
    json_t *body = NULL, *schema, *type;
    chan_avro_schema *parsed = NULL;
    const chan_avro_schema *view;
    bool normalize = false;
    int error = 0;

    memset(out, 0, sizeof(*out));
    memset(out_refs, 0, sizeof(*out_refs));
    if ((error = chand_request_json(&body, req, err)) < 0)
        goto cleanup;
    type = json_object_get(body, "schemaType");
    if (type && !json_is_null(type) &&
        (!json_is_string(type) || strcmp(json_string_value(type), "AVRO") != 0)) {
        error = chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA,
                                 "Invalid schema: schemaType %s is not supported; this registry "
                                 "supports AVRO only",
                                 json_is_string(type) ? json_string_value(type) : "(not a string)");
        goto cleanup;
    }
    schema = json_object_get(body, "schema");
    if (!json_is_string(schema) || json_string_length(schema) == 0) {
        error = chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA,
                                 "Empty schema: the body needs a non-empty string \"schema\"");
        goto cleanup;
    }
    if ((error = resolve_body_refs(req, json_object_get(body, "references"), out_refs, err)) < 0)
        goto cleanup;
    if (out_refs->n_direct == 0) { /* the text alone: parsed once per process */
        chan_error perr = CHAN_ERROR_INIT;

        if (chand_schema_parse_text(&out->handle, json_string_value(schema),
                                    json_string_length(schema), &perr) < 0) {
            error = chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA, "Invalid schema: %s",
                                     perr.message);
            goto cleanup;
        }
        view = chand_schema_get(out->handle);
    } else {
        if ((error = parse_with_refs(&parsed, json_string_value(schema), json_string_length(schema),
                                     out_refs, err)) < 0)
            goto cleanup;
        view = parsed;
    }
    if (subject != NULL && (error = effective_normalize(&normalize, req, subject, err)) < 0)
        goto cleanup;
    if (normalize) {
        chan_error perr = CHAN_ERROR_INIT;

        if (chan_avro_schema_normalize(&out->owned, view, &perr) < 0) {
            error = chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA, "Invalid schema: %s",
                                     perr.message);
            goto cleanup;
        }
        out->schema = out->owned;
    } else if (parsed != NULL) {
        out->schema = out->owned = parsed;
        parsed = NULL;
    } else
        out->schema = view;
    if (normalize) { /* the normalized schema's references are sorted: keep them in step */
        const chan_avro_reference *refs;
        size_t n, i;

        refs = chan_avro_schema_references(out->schema, &n);
        chan_schema_reference_list_free(out_refs->direct, out_refs->n_direct);
        out_refs->direct = chan_xcalloc(n + 1, sizeof(*out_refs->direct));
        for (i = 0; i < n; i++) {
            out_refs->direct[i].name = chan_xstrdup(refs[i].name);
            out_refs->direct[i].subject = chan_xstrdup(refs[i].subject);
            out_refs->direct[i].version = refs[i].version;
        }
        out_refs->n_direct = n;
    }

cleanup:
    if (error < 0) {
        parsed_body_dispose(out);
        resolved_refs_dispose(out_refs);
    }
    chan_avro_schema_free(parsed);
    json_decref(body);
    return error;
}

/* References as Confluent renders them: [{"name", "subject", "version"}]. */
static json_t *references_json(const chan_schema_reference *refs, size_t n)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i}", "name", refs[i].name, "subject",
                                             refs[i].subject, "version", refs[i].version));
    return arr;
}

/*
** Parse a stored version's schema with its references (resolved from the
** store).  For the compatibility check, outside the store's transaction.
*/
static int parse_stored(chan_avro_schema **out, chand_request *req, const chan_schema_version *v,
                        chan_error *err)
{
    resolved_refs r;
    size_t i;
    int error = 0, ignored;

    memset(&r, 0, sizeof(r));
    r.direct = chan_xcalloc(v->n_references + 1, sizeof(*r.direct));
    for (i = 0; i < v->n_references && error == 0; i++) {
        r.direct[i].name = chan_xstrdup(v->references[i].name);
        r.direct[i].subject = chan_xstrdup(v->references[i].subject);
        r.direct[i].version = v->references[i].version;
        r.n_direct = i + 1;
        error = resolve_one(req, &r, v->references[i].name, v->references[i].subject,
                            v->references[i].version, &ignored, err);
    }
    if (error == 0)
        error = parse_with_refs(out, v->schema, strlen(v->schema), &r, err);
    if (error < 0) {
        char msg[CHAN_ERROR_MESSAGE_MAX];

        snprintf(msg, sizeof(msg), "%s", err ? err->message : "");
        chan_error_set(err, CHAN_EINTERNAL, "stored schema of %s version %d does not parse: %s",
                       v->subject, v->version, msg);
    }
    resolved_refs_dispose(&r);
    return error < 0 ? CHAN_EINTERNAL : 0;
}

/* chan_store_identity_fn: the identity of a stored AVRO schema (other types: none). */
static int stored_identity(void *cls, char **out, const char *schema_type, const char *schema,
                           chan_error *err)
{
    chan_avro_schema *parsed = NULL;
    int error;

    (void)cls;
    *out = NULL;
    if (strcmp(schema_type, "AVRO") != 0)
        return 0;
    if ((error = chan_avro_schema_parse(&parsed, schema, strlen(schema), err)) < 0)
        return error;
    *out = chan_xstrdup(chan_avro_schema_identity(parsed));
    chan_avro_schema_free(parsed);
    return 0;
}

int chand_schema_fill_identity(chan_store *store, chan_error *err)
{
    size_t n = 0;
    int error;

    if ((error = chan_store_schema_fill_identity(store, &n, stored_identity, NULL, err)) < 0)
        return error;
    if (n > 0)
        chan_log(CHAN_LOG_INFO, MODULE, "schema identities filled schemas=%zu", n);
    return 0;
}

int chand_effective_level(chan_compat_mode *out, chand_request *req, const char *subject,
                          chan_error *err)
{
    chan_store *store = chand_request_store(req);
    char *level = NULL;
    int error = 0;

    if (subject)
        error = chan_store_config_get(store, &level, subject, err);
    if (subject == NULL || error == CHAN_ENOTFOUND)
        error = chan_store_config_get(store, &level, NULL, err);
    if (error == CHAN_ENOTFOUND) {
        error = 0;
        level = chan_xstrdup(chand_request_config(req)->default_compatibility);
    }
    if (error < 0)
        return sr_error(err, subject, 0, 0);
    if (chan_compat_mode_parse(out, level) != 0)
        error = chan_error_set(err, CHAN_EINTERNAL, "stored compatibility level '%s' is unknown",
                               level);
    free(level);
    return error;
}

/*
** Does the field-removal rule apply to subject under mode?  Asks the store
** whether a channel binds the subject and chan_policy_removal_rule_applies.
** Returns 0 or an error rendered by sr_error.
*/
static int removal_rule_for(bool *out, chand_request *req, const char *subject,
                            chan_compat_mode mode, chan_error *err)
{
    bool all = chand_request_config(req)->require_deprecation_all_subjects;
    chan_channel_record *bound = NULL;
    chan_removal_scope scope;
    int error;

    *out = false;
    if (!chan_policy_removal_rule_applies(CHAN_REMOVAL_BOUND, mode, all))
        return 0; /* not even a bound subject would have it: no lookup */
    error = chan_store_channel_by_subject(chand_request_store(req), &bound, subject, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        error = 0;
    }
    if (error < 0)
        return sr_error(err, subject, 0, 0);
    scope = bound ? CHAN_REMOVAL_BOUND : CHAN_REMOVAL_UNBOUND;
    *out = chan_policy_removal_rule_applies(scope, mode, all);
    chan_channel_record_free(bound);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Compatibility                                                       */
/* ------------------------------------------------------------------ */

/* True for the modes that judge against every earlier version. */
static bool mode_transitive(chan_compat_mode mode)
{
    return mode == CHAN_COMPAT_BACKWARD_TRANSITIVE || mode == CHAN_COMPAT_FORWARD_TRANSITIVE ||
           mode == CHAN_COMPAT_FULL_TRANSITIVE;
}

typedef struct check_ctx {
    chan_compat_mode mode;
    bool removal_rule; /* chan_policy_removal_rule_applies for the subject */
    bool want_report;  /* the issues are wanted (else yes or no is enough) */
    const chan_avro_schema *schema;
    chan_compat_report *report;
    int *versions;    /* version number per `previous` index, for messages */
    int64_t *ids;     /* schema id per `previous` index, for messages */
    size_t n_checked; /* of versions and ids */
    int latest_version;
    /* the live versions with references (read once: ctx_ref_versions) */
    int *ref_versions;
    size_t n_ref_versions;
    bool ref_versions_read;
    /* earlier versions with references, parsed before the store's transaction */
    int64_t *ref_ids;
    chan_avro_schema **ref_parsed;
    size_t n_ref_parsed;
    /* the parsed schemas of the versions the store lists (check_wants_texts),
     * by position there: held[i] that of schema id held_ids[i], NULL when
     * its text is read; held_handles[i] its cache handle (or NULL) */
    const chan_avro_schema **held;
    int64_t *held_ids;
    chand_schema **held_handles;
    size_t n_held;
} check_ctx;

/* Give back what check_wants_texts holds. */
static void check_ctx_drop_held(check_ctx *ctx)
{
    if (ctx->n_held > 0)
        chand_schema_release_all(ctx->held_handles, ctx->n_held);
    free(ctx->held_handles);
    free(ctx->held_ids);
    free(ctx->held);
    ctx->held_handles = NULL;
    ctx->held_ids = NULL;
    ctx->held = NULL;
    ctx->n_held = 0;
}

static void check_ctx_dispose(check_ctx *ctx)
{
    size_t i;

    for (i = 0; i < ctx->n_ref_parsed; i++)
        chan_avro_schema_free(ctx->ref_parsed[i]);
    free(ctx->ref_parsed);
    free(ctx->ref_ids);
    free(ctx->ref_versions);
    check_ctx_drop_held(ctx);
    free(ctx->versions);
    free(ctx->ids);
    chan_compat_report_free(ctx->report);
    memset(ctx, 0, sizeof(*ctx));
}

/* Keep v parsed with its references in ctx when it has any. */
static int check_ctx_add(check_ctx *ctx, chand_request *req, const chan_schema_version *v,
                         chan_error *err)
{
    chan_avro_schema *parsed = NULL;
    int error;

    if (v->n_references == 0)
        return 0;
    if ((error = parse_stored(&parsed, req, v, err)) < 0)
        return error;
    ctx->ref_ids = chan_xreallocarray(ctx->ref_ids, ctx->n_ref_parsed + 1, sizeof(int64_t));
    ctx->ref_parsed =
        chan_xreallocarray(ctx->ref_parsed, ctx->n_ref_parsed + 1, sizeof(chan_avro_schema *));
    ctx->ref_ids[ctx->n_ref_parsed] = v->id;
    ctx->ref_parsed[ctx->n_ref_parsed++] = parsed;
    return 0;
}

/*
** The numbers of subject's live versions whose schemas have references
** into ctx->ref_versions, read from the store on the first call only (the
** lookup of a registration and its check both need them).
*/
static int ctx_ref_versions(check_ctx *ctx, chand_request *req, const char *subject,
                            chan_error *err)
{
    int error;

    if (ctx->ref_versions_read)
        return 0;
    error = chan_store_subject_versions_with_references(
        chand_request_store(req), &ctx->ref_versions, &ctx->n_ref_versions, subject, false, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        error = 0;
    }
    ctx->ref_versions_read = error == 0;
    return error;
}

/*
** Before registering: parse the subject's earlier versions that the check
** will use and that have references (the check runs inside the store's
** transaction, where the referenced schemas cannot be read).  The others
** come from the parsed-schema cache inside the transaction.
*/
static int check_ctx_prepare(check_ctx *ctx, chand_request *req, const char *subject,
                             chan_error *err)
{
    chan_store *store = chand_request_store(req);
    chan_schema_version *v = NULL;
    size_t i;
    int error = 0;

    if (!mode_transitive(ctx->mode)) {
        error = chan_store_version_get(store, &v, subject, -1, false, err);
        if (error == CHAN_ENOTFOUND) {
            chan_error_clear(err);
            return 0;
        }
        if (error == 0)
            error = check_ctx_add(ctx, req, v, err);
        chan_schema_version_free(v);
        return error;
    }
    if ((error = ctx_ref_versions(ctx, req, subject, err)) < 0)
        return error;
    for (i = 0; i < ctx->n_ref_versions && error == 0; i++) {
        if ((error =
                 chan_store_version_get(store, &v, subject, ctx->ref_versions[i], false, err)) == 0)
            error = check_ctx_add(ctx, req, v, err);
        chan_schema_version_free(v);
        v = NULL;
        if (error == CHAN_ENOTFOUND) { /* deleted meanwhile */
            chan_error_clear(err);
            error = 0;
        }
    }
    return error;
}

static const chan_avro_schema *check_ctx_find(const check_ctx *ctx, int64_t id)
{
    size_t i;

    for (i = 0; i < ctx->n_ref_parsed; i++)
        if (ctx->ref_ids[i] == id)
            return ctx->ref_parsed[i];
    return NULL;
}

/*
** chan_schema_register_request.check_wants_texts: the text of versions[i]
** is needed unless it was parsed before the transaction (references) or
** the parsed-schema cache has it (then held until the check is done).
** Called again when the store retries its transaction: what an earlier
** call held is given back first.
*/
static void check_wants_texts(void *cls, const chan_schema_version *const *versions, size_t n,
                              bool *want)
{
    check_ctx *ctx = cls;
    int64_t *peek = chan_xcalloc(n + 1, sizeof(*peek)); /* 0: not looked up */
    size_t i;

    check_ctx_drop_held(ctx);
    ctx->held = chan_xcalloc(n + 1, sizeof(*ctx->held));
    ctx->held_ids = chan_xcalloc(n + 1, sizeof(*ctx->held_ids));
    ctx->held_handles = chan_xcalloc(n + 1, sizeof(*ctx->held_handles));
    ctx->n_held = n;
    for (i = 0; i < n; i++) {
        ctx->held_ids[i] = versions[i]->id;
        if ((ctx->held[i] = check_ctx_find(ctx, versions[i]->id)) == NULL)
            peek[i] = versions[i]->id;
    }
    chand_schema_peek_ids(peek, n, ctx->held_handles);
    for (i = 0; i < n; i++) {
        if (ctx->held_handles[i] != NULL)
            ctx->held[i] = chand_schema_get(ctx->held_handles[i]);
        else if (ctx->held[i] == NULL)
            want[i] = true;
    }
    free(peek);
}

/* The parsed schema ctx holds for existing[at], the version v, or NULL. */
static const chan_avro_schema *check_ctx_held(const check_ctx *ctx, const chan_schema_version *v,
                                              size_t at)
{
    if (at < ctx->n_held && ctx->held_ids[at] == v->id && ctx->held[at] != NULL)
        return ctx->held[at];
    return check_ctx_find(ctx, v->id);
}

/*
** Which of the n versions `order` lists (indexes into existing) repeat the
** schema id of one listed before them: those are checked once.  None when
** the ids fall strictly along the list (new versions mostly get new,
** larger ids); else one pass with a set of the ids seen (open addressing,
** at most half full).
*/
static bool *repeated_ids(const chan_schema_version *const *existing, const size_t *order, size_t n)
{
    bool *repeat = chan_xcalloc(n + 1, sizeof(*repeat));
    size_t cap = 16, mask, i;
    int64_t *seen; /* ids; 0 marks an empty slot, id 0 itself is zero_seen */
    bool zero_seen = false;

    for (i = 1; i < n && existing[order[i]]->id < existing[order[i - 1]]->id; i++)
        ;
    if (i >= n)
        return repeat; /* ids fall strictly with the order: none repeats */
    while (cap < 2 * n)
        cap *= 2;
    mask = cap - 1;
    seen = chan_xcalloc(cap, sizeof(*seen));
    for (i = 0; i < n; i++) {
        int64_t id = existing[order[i]]->id;
        size_t h = (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15u) >> 32) & mask;

        if (id == 0) {
            repeat[i] = zero_seen;
            zero_seen = true;
            continue;
        }
        while (seen[h] != 0 && seen[h] != id)
            h = (h + 1) & mask;
        if (seen[h] == id)
            repeat[i] = true;
        seen[h] = id;
    }
    free(seen);
    return repeat;
}

/*
** The parsed schema of v, existing[at] of the check: parsed before the
** transaction (references), held by ctx (check_wants_texts), else from the
** cache or parsed from v's text (*handle then receives the cache handle to
** release).
*/
static const chan_avro_schema *version_schema(check_ctx *ctx, const chan_schema_version *v,
                                              size_t at, chand_schema **handle, chan_error *err)
{
    const chan_avro_schema *use;
    chan_error perr = CHAN_ERROR_INIT;

    *handle = NULL;
    if ((use = check_ctx_held(ctx, v, at)) != NULL)
        return use;
    if (v->schema == NULL) {
        chan_error_set(err, CHAN_EINTERNAL, "the text of %s version %d was not read", v->subject,
                       v->version);
        return NULL;
    }
    if (chand_schema_parse_id(handle, v->id, v->schema, &perr) < 0) {
        chan_error_set(err, CHAN_EINTERNAL, "stored schema of %s version %d does not parse: %s",
                       v->subject, v->version, perr.message);
        return NULL;
    }
    return chand_schema_get(*handle);
}

/*
** The mode's check of ctx->schema against the n versions that order lists
** (indexes into existing, newest first), those not repeat[i] whose parsed
** schemas ctx holds, in one call: given the whole list, the library reads
** the memory of the next schemas while it checks one (chan_avro_check_mode),
** which one call per version cannot.  Sets done[i] for those versions when
** all pass; when one fails, sets none, and check_compatible finds which one
** by one.
*/
static void check_held(check_ctx *ctx, const chan_schema_version *const *existing,
                       const size_t *order, const bool *repeat, size_t n, bool *done)
{
    const chan_avro_schema **held;
    size_t *at, n_held = 0, i;

    if (ctx->mode == CHAN_COMPAT_NONE || !mode_transitive(ctx->mode) || n < 2)
        return;
    held = chan_xcalloc(n, sizeof(*held));
    at = chan_xcalloc(n, sizeof(*at));
    for (i = 0; i < n; i++) {
        const chan_avro_schema *use;

        if (repeat[i] || (use = check_ctx_held(ctx, existing[order[i]], order[i])) == NULL)
            continue;
        held[n_held] = use;
        at[n_held++] = i;
    }
    if (n_held > 1 && chan_avro_check_mode(ctx->mode, ctx->schema, held, n_held, NULL) == 0)
        for (i = 0; i < n_held; i++)
            done[at[i]] = true;
    free(at);
    free(held);
}

/*
** Check ctx->schema against existing (oldest first), as the store asks under
** the subject lock: the compatibility mode against the versions it concerns
** (newest first) and the removal rule against the newest.
**
** Each schema id once: first those whose parsed schemas ctx holds, in one
** call (check_held); then the others one version at a time, holding only
** the schema of the version being checked (the cache keeps what fits in
** its bounds).  A version without its text (check_wants_texts) is one whose
** parsed schema ctx holds.  Without ctx->want_report it stops at the first
** incompatibility; with it, the versions found incompatible are checked
** again collecting their issues in ctx->report (Confluent's messages name
** only those), ctx->versions and ctx->ids listing them.
*/
static int check_compatible(void *cls, const chan_schema_version *const *existing,
                            size_t n_existing, chan_error *err)
{
    check_ctx *ctx = cls;
    const chan_avro_schema *use, **failed_use = NULL;
    chand_schema *handle = NULL, **failed_handles = NULL;
    size_t *order = NULL, *failed = NULL;
    bool *repeat = NULL, *done = NULL; /* done: passed in check_held */
    size_t n_failed = 0, i, want;
    int error = 0;

    if (n_existing == 0)
        return 0;
    want = mode_transitive(ctx->mode) ? n_existing : 1;
    order = chan_xcalloc(want, sizeof(*order));
    failed = chan_xcalloc(want, sizeof(*failed));
    for (i = 0; i < want; i++)
        order[i] = n_existing - 1 - i;
    repeat = repeated_ids(existing, order, want);
    done = chan_xcalloc(want, sizeof(*done));
    check_held(ctx, existing, order, repeat, want, done);
    ctx->latest_version = existing[n_existing - 1]->version;
    for (i = 0; i < want; i++) {
        const chan_schema_version *v = existing[order[i]];
        bool ok = true;

        if (repeat[i] || (done[i] && (i > 0 || !ctx->removal_rule)))
            continue;
        if ((use = version_schema(ctx, v, order[i], &handle, err)) == NULL) {
            error = CHAN_EINTERNAL;
            goto cleanup;
        }
        if (ctx->mode != CHAN_COMPAT_NONE && !done[i] &&
            chan_avro_check_mode(ctx->mode, ctx->schema, &use, 1, NULL) != 0)
            ok = false;
        if (ok && i == 0 && ctx->removal_rule && !chan_avro_check_removals(ctx->schema, use, NULL))
            ok = false;
        chand_schema_release(handle);
        handle = NULL;
        if (ok)
            continue;
        failed[n_failed++] = i;
        if (!ctx->want_report)
            break;
    }
    if (n_failed == 0)
        goto cleanup;
    error = CHAN_EINCOMPATIBLE;
    chan_error_set(err, CHAN_EINCOMPATIBLE, "schema is incompatible with version %d",
                   ctx->latest_version);
    if (!ctx->want_report)
        goto cleanup;
    /* The issues, as one check of the mode against the versions that failed
     * (the newest first, so the removal rule's issues are the latest's). */
    free(ctx->versions);
    free(ctx->ids);
    ctx->versions = chan_xcalloc(n_failed, sizeof(*ctx->versions));
    ctx->ids = chan_xcalloc(n_failed, sizeof(*ctx->ids));
    ctx->n_checked = 0;
    failed_use = chan_xcalloc(n_failed, sizeof(*failed_use));
    failed_handles = chan_xcalloc(n_failed, sizeof(*failed_handles));
    for (i = 0; i < n_failed; i++) {
        const chan_schema_version *v = existing[order[failed[i]]];
        chan_error perr = CHAN_ERROR_INIT;

        if ((failed_use[i] = version_schema(ctx, v, order[failed[i]], &failed_handles[i], &perr)) ==
            NULL) {
            error = chan_error_set(err, CHAN_EINTERNAL, "%s", perr.message);
            goto cleanup;
        }
        ctx->versions[i] = v->version;
        ctx->ids[i] = v->id;
        ctx->n_checked = i + 1;
    }
    if (ctx->mode != CHAN_COMPAT_NONE)
        (void)chan_avro_check_mode(ctx->mode, ctx->schema, failed_use, n_failed, ctx->report);
    if (ctx->removal_rule && failed[0] == 0)
        (void)chan_avro_check_removals(ctx->schema, failed_use[0], ctx->report);

cleanup:
    for (i = 0; failed_handles != NULL && i < n_failed; i++)
        chand_schema_release(failed_handles[i]);
    free(failed_handles);
    free(failed_use);
    free(failed);
    free(done);
    free(repeat);
    free(order);
    return error;
}

/*
** The check of a schema against subject's earlier versions, in rr: the one
** that registering runs (chan_store_schema_register) and that testing
** compatibility runs (chan_store_schema_check), so that both give the same
** verdict and issues.  The non-transitive modes judge against the latest
** version only (no other is read); earlier texts are read only for schemas
** the parsed-schema cache lacks.  ctx is prepared (check_ctx_prepare).
*/
static void check_request(chan_schema_register_request *rr, check_ctx *ctx, const char *subject)
{
    rr->subject = subject;
    rr->check = check_compatible;
    rr->check_ctx = ctx;
    rr->check_latest_only = !mode_transitive(ctx->mode);
    rr->check_wants_texts = check_wants_texts;
}

/* Largest old schema text quoted whole in a message (Confluent's MAX_SCHEMA_SIZE_FOR_LOGGING). */
#define OLD_SCHEMA_MAX (10 * 1024)

/* One issue as Confluent's Difference.error() renders it. */
static void append_issue(json_t *msgs, const chan_compat_issue *issue)
{
    char *s = chan_xasprintf("{errorType:'%s', description:'%s', additionalInfo:'%s'}", issue->kind,
                             issue->message, issue->location ? issue->location : "");

    json_array_append_new(msgs, json_string(s));
    free(s);
}

/*
** The issues of a report as Confluent 8's verbose messages: per earlier
** version checked, the issues where the old schema reads the new one, then
** those where the new one reads the old one (the removal rule's with the
** latest version), then "{oldSchemaVersion: N}" and "{oldSchema: '...'}"
** (the text read by id: only those of the versions with issues are read);
** last "{validateFields: 'false', compatibility: 'LEVEL'}".
*/
static json_t *report_messages(const check_ctx *ctx, chand_request *req)
{
    json_t *msgs = json_array();
    size_t i, k, n = chan_compat_report_count(ctx->report);
    char *s, *text, *type;
    int pass;

    for (k = 0; k < ctx->n_checked; k++) {
        chan_error rerr = CHAN_ERROR_INIT;
        bool any = false;

        for (pass = 0; pass < 2; pass++) {
            for (i = 0; i < n; i++) {
                const chan_compat_issue *issue = chan_compat_report_get(ctx->report, i);
                size_t at = issue->version_index >= 0 ? (size_t)issue->version_index : 0;
                bool new_reads = issue->version_index < 0 || issue->reader_is_new;

                if (at != k || new_reads != (pass == 1))
                    continue;
                append_issue(msgs, issue);
                any = true;
            }
        }
        if (!any)
            continue;
        s = chan_xasprintf("{oldSchemaVersion: %d}", ctx->versions[k]);
        json_array_append_new(msgs, json_string(s));
        free(s);
        text = type = NULL;
        if (chan_store_schema_by_id(chand_request_store(req), &text, &type, ctx->ids[k], &rerr) < 0)
            text = chan_xstrdup(""); /* deleted for good meanwhile */
        if (strlen(text) <= OLD_SCHEMA_MAX)
            s = chan_xasprintf("{oldSchema: '%s'}", text);
        else
            s = chan_xasprintf("{oldSchema: <truncated> '%.*s...'}", OLD_SCHEMA_MAX, text);
        json_array_append_new(msgs, json_string(s));
        free(s);
        free(text);
        free(type);
    }
    s = chan_xasprintf("{validateFields: 'false', compatibility: '%s'}",
                       chan_compat_mode_name(ctx->mode));
    json_array_append_new(msgs, json_string(s));
    free(s);
    return msgs;
}

/* ------------------------------------------------------------------ */
/* Subjects and versions                                               */
/* ------------------------------------------------------------------ */

/*
** An integer query parameter of the Confluent API in [min, max], def when
** absent; 400 / 40002 otherwise (as a bad boolean).
*/
static int sr_query_int(int64_t *out, const chand_request *req, const char *name, int64_t def,
                        int64_t min, int64_t max, chan_error *err)
{
    const char *v = chand_request_query(req, name);

    *out = def;
    if (v == NULL)
        return 0;
    if (chan_parse_int64(out, v, min, max) < 0)
        return chand_http_error(err, CHAN_EINVALID, 40002,
                                "Query parameter '%s' must be an integer between %" PRId64
                                " and %" PRId64 ".",
                                name, min, max);
    return 0;
}

/*
** GET /subjects?subjectPrefix=P&deleted=true&offset=N&limit=M: Confluent's
** plain array of names in byte order; offset skips the first N matches,
** limit (default -1: all) keeps at most M.  Rendered as text.
*/
static int list_subjects(chand_request *req, chan_error *err)
{
    const char *prefix = chand_request_query(req, "subjectPrefix");
    char **subjects = NULL;
    size_t n = 0, i, prefix_len = prefix ? strlen(prefix) : 0, len;
    int64_t offset, limit, seen = 0, shown = 0;
    chan_buf body = CHAN_BUF_INIT;
    bool deleted;
    int error;

    if ((error = chand_request_query_bool(&deleted, req, "deleted", false, err)) < 0 ||
        (error = sr_query_int(&offset, req, "offset", 0, 0, INT32_MAX, err)) < 0 ||
        (error = sr_query_int(&limit, req, "limit", -1, -1, INT32_MAX, err)) < 0)
        return error;
    if ((error = chan_store_subject_list(chand_request_store(req), &subjects, &n, deleted, err)) <
        0)
        return sr_error(err, NULL, 0, 0);
    chan_buf_putc(&body, '[');
    for (i = 0; i < n && (limit <= 0 || shown < limit); i++) {
        if (prefix != NULL && strncmp(subjects[i], prefix, prefix_len) != 0)
            continue;
        if (seen++ < offset)
            continue;
        if (shown++ > 0)
            chan_buf_putc(&body, ',');
        chan_buf_put_json_string(&body, subjects[i]);
    }
    chan_buf_putc(&body, ']');
    chan_store_string_list_free(subjects, n);
    len = body.len;
    return chand_reply_json_text(req, 200, chan_buf_take(&body), len);
}

static int list_versions(chand_request *req, chan_error *err)
{
    const char *subject = get_subject(req, err);
    int *versions = NULL;
    size_t n = 0, i;
    bool deleted;
    json_t *arr;
    int error;

    if (subject == NULL)
        return err->code;
    if ((error = chand_request_query_bool(&deleted, req, "deleted", false, err)) < 0)
        return error;
    if ((error = chan_store_subject_versions(chand_request_store(req), &versions, &n, subject,
                                             deleted, err)) < 0)
        return sr_error(err, subject, 0, 0);
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_integer(versions[i]));
    free(versions);
    return chand_reply_json(req, 200, arr);
}

/* Fetch the version named by the request.  Returns 0 or an error (rendered by sr_error). */
static int fetch_version(chan_schema_version **out, chand_request *req, const char **out_subject,
                         chan_error *err)
{
    const char *subject = get_subject(req, err);
    bool deleted;
    int version, error;

    *out = NULL;
    if (subject == NULL)
        return err->code;
    *out_subject = subject;
    if ((error = get_version(&version, req, err)) < 0)
        return error;
    if ((error = chand_request_query_bool(&deleted, req, "deleted", false, err)) < 0)
        return error;
    if ((error = chan_store_version_get(chand_request_store(req), out, subject, version, deleted,
                                        err)) < 0)
        return sr_error(err, subject, version, 0);
    return 0;
}

static int get_version_handler(chand_request *req, chan_error *err)
{
    chan_schema_version *v = NULL;
    const char *subject = NULL;
    int error;

    if ((error = fetch_version(&v, req, &subject, err)) < 0)
        return error;
    error = chand_reply_json(req, 200, version_json(v));
    chan_schema_version_free(v);
    return error;
}

static int get_version_schema(chand_request *req, chan_error *err)
{
    chan_schema_version *v = NULL;
    const char *subject = NULL;
    int error;

    if ((error = fetch_version(&v, req, &subject, err)) < 0)
        return error;
    error = chand_reply_raw(req, 200, CHAND_CONTENT_TYPE_SR, v->schema, strlen(v->schema));
    chan_schema_version_free(v);
    return error;
}

/* GET /subjects/{subject}/versions/{version}/referencedby: ids of the schemas that reference it. */
static int get_version_referencedby(chand_request *req, chan_error *err)
{
    const char *subject = get_subject(req, err);
    int64_t *ids = NULL;
    size_t n = 0, i;
    bool deleted;
    int version, error;
    json_t *arr;

    if (subject == NULL)
        return err->code;
    if ((error = get_version(&version, req, err)) < 0 ||
        (error = chand_request_query_bool(&deleted, req, "deleted", false, err)) < 0)
        return error;
    if ((error = chan_store_referenced_by(chand_request_store(req), &ids, &n, subject, version,
                                          deleted, err)) < 0)
        return sr_error(err, subject, version, 0);
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_integer((json_int_t)ids[i]));
    free(ids);
    return chand_reply_json(req, 200, arr);
}

/*
** The lookup of a schema sent without references that a version with
** references matches once they are resolved (Confluent's lookup does this
** for clients that send the fully resolved schema): the latest such version
** of subject into *out, or NULL.  The live versions with references come
** from ctx when given (a registration: its check needs them too).
*/
static int lookup_resolved(chan_schema_version **out, chand_request *req, const char *subject,
                           const chan_avro_schema *schema, bool deleted, check_ctx *ctx,
                           chan_error *err)
{
    chan_store *store = chand_request_store(req);
    chan_schema_version *v = NULL;
    chan_avro_schema *stored = NULL;
    const int *numbers = NULL;
    int *own = NULL;
    size_t n = 0, i;
    int error;

    assert(ctx == NULL || !deleted);
    *out = NULL;
    if (ctx != NULL) {
        if ((error = ctx_ref_versions(ctx, req, subject, err)) < 0)
            return error;
        numbers = ctx->ref_versions;
        n = ctx->n_ref_versions;
    } else if ((error = chan_store_subject_versions_with_references(store, &own, &n, subject,
                                                                    deleted, err)) < 0)
        return error;
    else
        numbers = own;
    for (i = n; i-- > 0 && *out == NULL;) {
        if ((error = chan_store_version_get(store, &v, subject, numbers[i], deleted, err)) < 0)
            break;
        if ((error = parse_stored(&stored, req, v, err)) < 0)
            break;
        if (chan_avro_schema_same_resolved(schema, stored)) {
            *out = v;
            v = NULL;
        }
        chan_avro_schema_free(stored);
        stored = NULL;
        chan_schema_version_free(v);
        v = NULL;
    }
    chan_schema_version_free(v);
    free(own);
    return error;
}

/*
** The "id" and "version" of a registration body (IMPORT mode): 0 when absent,
** null or negative, as Confluent reads them.
*/
static int parse_import_fields(int64_t *out_id, int *out_version, const chand_request *req,
                               chan_error *err)
{
    json_t *body = NULL, *id, *version;
    int error;

    *out_id = 0;
    *out_version = 0;
    if ((error = chand_request_json(&body, req, err)) < 0)
        return error;
    id = json_object_get(body, "id");
    version = json_object_get(body, "version");
    if ((id && !json_is_null(id) && !json_is_integer(id)) ||
        (version && !json_is_null(version) && !json_is_integer(version)) ||
        json_integer_value(id) > INT_MAX || json_integer_value(version) > INT_MAX)
        error = chand_http_error(err, CHAN_EINVALID, SR_INVALID_SCHEMA,
                                 "Invalid schema: \"id\" and \"version\" must be integers "
                                 "below 2^31");
    else {
        *out_id = json_integer_value(id) > 0 ? json_integer_value(id) : 0;
        *out_version = json_integer_value(version) > 0 ? (int)json_integer_value(version) : 0;
    }
    json_decref(body);
    return error;
}

static int register_schema(chand_request *req, chan_error *err)
{
    const char *subject = get_subject(req, err);
    chan_schema_register_request rr;
    chan_schema_version *v = NULL;
    parsed_body body;
    resolved_refs refs;
    check_ctx ctx;
    bool created = false;
    int64_t import_id = 0;
    int import_version = 0;
    int error = 0;

    memset(&ctx, 0, sizeof(ctx));
    memset(&refs, 0, sizeof(refs));
    memset(&body, 0, sizeof(body));
    if (subject == NULL)
        return err->code;
    if ((error = parse_schema_body(&body, &refs, req, subject, err)) < 0 ||
        (error = parse_import_fields(&import_id, &import_version, req, err)) < 0)
        goto cleanup;
    if ((error = chand_effective_level(&ctx.mode, req, subject, err)) < 0 ||
        (error = removal_rule_for(&ctx.removal_rule, req, subject, ctx.mode, err)) < 0)
        goto cleanup;
    ctx.schema = body.schema;
    ctx.report = chan_compat_report_new();
    ctx.want_report = true; /* a refusal quotes the issues */
    if (refs.n_direct == 0) {
        /* Sent without references: a version with references may be this
         * schema with them resolved (Confluent answers with that version). */
        error = chan_store_schema_lookup(chand_request_store(req), &v, subject,
                                         chan_avro_schema_identity(body.schema), false, err);
        if (error == CHAN_ENOTFOUND)
            error = lookup_resolved(&v, req, subject, body.schema, false, &ctx, err);
        if (error == CHAN_ENOTFOUND)
            error = 0; /* a new subject */
        if (error < 0) {
            error = sr_error(err, subject, 0, 0);
            goto cleanup;
        }
        chan_error_clear(err);
        if (v != NULL && v->n_references > 0) {
            error = chand_reply_json(req, 200, json_pack("{s:I}", "id", (json_int_t)v->id));
            goto cleanup;
        }
        chan_schema_version_free(v);
        v = NULL;
    }
    if ((error = check_ctx_prepare(&ctx, req, subject, err)) < 0)
        goto cleanup;

    memset(&rr, 0, sizeof(rr));
    check_request(&rr, &ctx, subject);
    rr.schema_type = "AVRO";
    rr.schema = chan_avro_schema_normalized(body.schema);
    rr.identity = chan_avro_schema_identity(body.schema);
    rr.references = refs.direct;
    rr.n_references = refs.n_direct;
    rr.actor = chand_request_actor(req);
    rr.id = import_id;
    rr.version = import_version;
    error = chan_store_schema_register(chand_request_store(req), &v, &created, &rr, err);
    if (error == CHAN_EINCOMPATIBLE) {
        json_t *msgs = report_messages(&ctx, req);

        chand_metrics_schema_outcome(subject, false);
        char *details = json_dumps(msgs, JSON_COMPACT);

        chan_log(CHAN_LOG_INFO, MODULE,
                 "schema rejected subject=%s mode=%s issues=%zu actor=%s request_id=%s", subject,
                 chan_compat_mode_name(ctx.mode), chan_compat_report_count(ctx.report),
                 chand_request_actor(req), chand_request_id(req));
        error = chand_reply_error(req, SR_INCOMPATIBLE,
                                  "Schema being registered is incompatible with an earlier schema "
                                  "for subject \"%s\", details: %s",
                                  subject, details ? details : "[]");
        free(details);
        json_decref(msgs);
        goto cleanup;
    }
    if (error < 0) {
        error = sr_error(err, subject, import_version, import_id);
        goto cleanup;
    }
    if (created && import_id > 0)
        chan_log(CHAN_LOG_INFO, MODULE,
                 "schema imported subject=%s version=%d id=%lld actor=%s request_id=%s", subject,
                 v->version, (long long)v->id, chand_request_actor(req), chand_request_id(req));
    else if (created) /* the compatibility check ran and passed */
        chand_metrics_schema_outcome(subject, true);
    if (created)
        chan_log(CHAN_LOG_INFO, MODULE,
                 "schema registered subject=%s version=%d id=%lld actor=%s request_id=%s", subject,
                 v->version, (long long)v->id, chand_request_actor(req), chand_request_id(req));
    /* stored as this schema's Confluent text: the same tree */
    if (body.handle != NULL && body.schema == chand_schema_get(body.handle) && v->schema != NULL &&
        strcmp(v->schema, chan_avro_schema_normalized(body.schema)) == 0)
        chand_schema_adopt_id(body.handle, v->id);
    error = chand_reply_json(req, 200, json_pack("{s:I}", "id", (json_int_t)v->id));

cleanup:
    chan_schema_version_free(v);
    parsed_body_dispose(&body);
    resolved_refs_dispose(&refs);
    check_ctx_dispose(&ctx);
    return error;
}

static int lookup_schema(chand_request *req, chan_error *err)
{
    const char *subject = get_subject(req, err);
    chan_schema_version *v = NULL;
    parsed_body body;
    resolved_refs refs;
    bool deleted;
    int error = 0;

    memset(&refs, 0, sizeof(refs));
    memset(&body, 0, sizeof(body));
    if (subject == NULL)
        return err->code;
    if ((error = chand_request_query_bool(&deleted, req, "deleted", false, err)) < 0)
        goto cleanup;
    if ((error = parse_schema_body(&body, &refs, req, subject, err)) < 0)
        goto cleanup;
    error = chan_store_schema_lookup(chand_request_store(req), &v, subject,
                                     chan_avro_schema_identity(body.schema), deleted, err);
    if (error == CHAN_ENOTFOUND && refs.n_direct == 0 &&
        chan_store_error_reason(err) == CHAN_STORE_R_SCHEMA_NOT_FOUND) {
        chan_error saved = *err;

        if ((error = lookup_resolved(&v, req, subject, body.schema, deleted, NULL, err)) == 0 &&
            v == NULL) {
            *err = saved; /* not there either: the first answer stands */
            error = CHAN_ENOTFOUND;
        }
    }
    if (error < 0) {
        error = sr_error(err, subject, 0, 0);
        goto cleanup;
    }
    error = chand_reply_json(req, 200, version_json(v));

cleanup:
    chan_schema_version_free(v);
    parsed_body_dispose(&body);
    resolved_refs_dispose(&refs);
    return error;
}

static int delete_subject(chand_request *req, chan_error *err)
{
    const char *subject = get_subject(req, err);
    int *versions = NULL;
    size_t n = 0, i;
    bool permanent;
    json_t *arr;
    int error;

    if (subject == NULL)
        return err->code;
    if ((error = chand_request_query_bool(&permanent, req, "permanent", false, err)) < 0)
        return error;
    if ((error = chan_store_subject_delete(chand_request_store(req), &versions, &n, subject,
                                           permanent, chand_request_actor(req), err)) < 0)
        return sr_error(err, subject, 0, 0);
    chand_metrics_subject_changed(subject);
    chan_log(CHAN_LOG_INFO, MODULE, "subject deleted subject=%s permanent=%s versions=%zu actor=%s",
             subject, permanent ? "true" : "false", n, chand_request_actor(req));
    arr = json_array();
    for (i = 0; i < n; i++)
        json_array_append_new(arr, json_integer(versions[i]));
    free(versions);
    return chand_reply_json(req, 200, arr);
}

static int delete_version(chand_request *req, chan_error *err)
{
    const char *subject = get_subject(req, err);
    int version, deleted = 0, error;
    bool permanent;

    if (subject == NULL)
        return err->code;
    if ((error = get_version(&version, req, err)) < 0)
        return error;
    if ((error = chand_request_query_bool(&permanent, req, "permanent", false, err)) < 0)
        return error;
    if ((error = chan_store_version_delete(chand_request_store(req), &deleted, subject, version,
                                           permanent, chand_request_actor(req), err)) < 0)
        return sr_error(err, subject, version, 0);
    chand_metrics_subject_changed(subject);
    chan_log(CHAN_LOG_INFO, MODULE, "version deleted subject=%s version=%d permanent=%s actor=%s",
             subject, deleted, permanent ? "true" : "false", chand_request_actor(req));
    return chand_reply_json(req, 200, json_integer(deleted));
}

/* ------------------------------------------------------------------ */
/* Schemas by id                                                       */
/* ------------------------------------------------------------------ */

/* Schema text and type of {id}; the store keeps them in its id cache. */
static int fetch_by_id(char **out_schema, char **out_type, int64_t *out_id, chand_request *req,
                       chan_error *err)
{
    int error;

    if ((error = get_id(out_id, req, err)) < 0)
        return error;
    if ((error = chan_store_schema_by_id(chand_request_store(req), out_schema, out_type, *out_id,
                                         err)) < 0)
        return sr_error(err, NULL, 0, *out_id);
    return 0;
}

static int get_schema_by_id(chand_request *req, chan_error *err)
{
    char *schema = NULL, *type = NULL;
    int64_t id = 0;
    json_t *doc;
    int error;

    chan_schema_reference *refs = NULL;
    size_t n_refs = 0;

    if ((error = get_id(&id, req, err)) < 0)
        return error;
    if ((error = chan_store_schema_by_id_refs(chand_request_store(req), &schema, &type, &refs,
                                              &n_refs, id, err)) < 0)
        return sr_error(err, NULL, 0, id);
    doc = json_pack("{s:s}", "schema", schema);
    if (doc && type && strcmp(type, "AVRO") != 0)
        json_object_set_new(doc, "schemaType", json_string(type));
    if (doc && n_refs > 0)
        json_object_set_new(doc, "references", references_json(refs, n_refs));
    chan_schema_reference_list_free(refs, n_refs);
    free(schema);
    free(type);
    return chand_reply_json(req, 200, doc);
}

static int get_schema_by_id_raw(chand_request *req, chan_error *err)
{
    char *schema = NULL, *type = NULL;
    int64_t id = 0;
    int error;

    if ((error = fetch_by_id(&schema, &type, &id, req, err)) < 0)
        return error;
    error = chand_reply_raw(req, 200, CHAND_CONTENT_TYPE_SR, schema, strlen(schema));
    free(schema);
    free(type);
    return error;
}

/* The (subject, version) pairs that use {id}; subjects_only lists distinct subjects. */
static int schema_usages(chand_request *req, chan_error *err, bool subjects_only)
{
    chan_schema_version **list = NULL;
    size_t n = 0, i;
    int64_t id = 0;
    bool deleted;
    json_t *arr;
    int error;

    if ((error = get_id(&id, req, err)) < 0)
        return error;
    if ((error = chand_request_query_bool(&deleted, req, "deleted", false, err)) < 0)
        return error;
    if ((error = chan_store_schema_usages(chand_request_store(req), &list, &n, id, deleted, err)) <
        0)
        return sr_error(err, NULL, 0, id);
    arr = json_array();
    for (i = 0; i < n; i++) {
        if (!subjects_only)
            json_array_append_new(arr, json_pack("{s:s,s:i}", "subject", list[i]->subject,
                                                 "version", list[i]->version));
        else if (i == 0 || strcmp(list[i - 1]->subject, list[i]->subject) != 0)
            json_array_append_new(arr, json_string(list[i]->subject));
    }
    chan_schema_version_list_free(list, n);
    return chand_reply_json(req, 200, arr);
}

static int get_schema_versions(chand_request *req, chan_error *err)
{
    return schema_usages(req, err, false);
}

static int get_schema_subjects(chand_request *req, chan_error *err)
{
    return schema_usages(req, err, true);
}

/* A non-negative integer query parameter (def when absent); 42200 otherwise. */
static int query_count(int64_t *out, const chand_request *req, const char *name, int64_t def,
                       chan_error *err)
{
    const char *s = chand_request_query(req, name);

    *out = def;
    if (s == NULL)
        return 0;
    if (chan_parse_int64(out, s, INT_MIN, INT_MAX) == 0)
        return 0;
    return chand_http_error(err, CHAN_EINVALID, 42200, "Query parameter %s must be an integer",
                            name);
}

/* Confluent's schema.search.default.limit and schema.search.max.limit. */
#define SCHEMAS_LIMIT 1000

/*
** GET /schemas: every version of the subjects starting with subjectPrefix,
** ordered by subject then version (soft-deleted ones with deleted=true; the
** latest of each subject only with latestOnly=true), then offset and limit
** (at most, and by default, 1000) as Confluent applies them.
*/
static int list_schemas(chand_request *req, chan_error *err)
{
    chan_store *store = chand_request_store(req);
    const char *prefix = chand_request_query(req, "subjectPrefix");
    char **subjects = NULL;
    int *versions = NULL;
    size_t n_subjects = 0, n_versions = 0, i, k;
    int64_t offset, limit, seen = 0;
    bool deleted, latest_only;
    json_t *arr = json_array();
    int error;

    if ((error = chand_request_query_bool(&deleted, req, "deleted", false, err)) < 0 ||
        (error = chand_request_query_bool(&latest_only, req, "latestOnly", false, err)) < 0 ||
        (error = query_count(&offset, req, "offset", 0, err)) < 0 ||
        (error = query_count(&limit, req, "limit", -1, err)) < 0)
        goto cleanup;
    if (offset < 0)
        offset = 0;
    if (limit <= 0 || limit > SCHEMAS_LIMIT)
        limit = SCHEMAS_LIMIT;
    if ((error = chan_store_subject_list(store, &subjects, &n_subjects, deleted, err)) < 0) {
        error = sr_error(err, NULL, 0, 0);
        goto cleanup;
    }
    for (i = 0; i < n_subjects && (int64_t)json_array_size(arr) < limit; i++) {
        if (prefix && strncmp(subjects[i], prefix, strlen(prefix)) != 0)
            continue;
        error =
            chan_store_subject_versions(store, &versions, &n_versions, subjects[i], deleted, err);
        if (error == CHAN_ENOTFOUND) { /* deleted since it was listed */
            chan_error_clear(err);
            error = 0;
            continue;
        }
        if (error < 0) {
            error = sr_error(err, subjects[i], 0, 0);
            goto cleanup;
        }
        for (k = latest_only && n_versions ? n_versions - 1 : 0;
             k < n_versions && (int64_t)json_array_size(arr) < limit; k++) {
            chan_schema_version *v = NULL;

            if (seen++ < offset)
                continue;
            error = chan_store_version_get(store, &v, subjects[i], versions[k], deleted, err);
            if (error == CHAN_ENOTFOUND) {
                chan_error_clear(err);
                error = 0;
                continue;
            }
            if (error < 0) {
                error = sr_error(err, subjects[i], versions[k], 0);
                goto cleanup;
            }
            json_array_append_new(arr, version_json(v));
            chan_schema_version_free(v);
        }
        free(versions);
        versions = NULL;
    }
    error = chand_reply_json(req, 200, arr);
    arr = NULL;

cleanup:
    free(versions);
    chan_store_string_list_free(subjects, n_subjects);
    json_decref(arr);
    return error;
}

static int get_schema_types(chand_request *req, chan_error *err)
{
    return chand_reply_json(req, 200, json_pack("[s]", "AVRO"));
}

/* ------------------------------------------------------------------ */
/* Compatibility checks                                                */
/* ------------------------------------------------------------------ */

/* POST /compatibility/subjects/{subject}/versions[/{version}]. */
static int test_compatibility(chand_request *req, chan_error *err)
{
    const char *subject = get_subject(req, err);
    chan_schema_version *one = NULL;
    parsed_body body;
    resolved_refs refs;
    bool verbose, against_one = chand_request_param(req, "version") != NULL;
    int version = -1, error = 0;
    check_ctx ctx;
    json_t *doc;

    memset(&ctx, 0, sizeof(ctx));
    memset(&refs, 0, sizeof(refs));
    memset(&body, 0, sizeof(body));
    if (subject == NULL)
        return err->code;
    if (against_one && (error = get_version(&version, req, err)) < 0)
        goto cleanup;
    if ((error = chand_request_query_bool(&verbose, req, "verbose", false, err)) < 0)
        goto cleanup;
    if ((error = parse_schema_body(&body, &refs, req, subject, err)) < 0)
        goto cleanup;
    if ((error = chand_effective_level(&ctx.mode, req, subject, err)) < 0 ||
        (error = removal_rule_for(&ctx.removal_rule, req, subject, ctx.mode, err)) < 0)
        goto cleanup;
    ctx.schema = body.schema;
    ctx.report = chan_compat_report_new();
    ctx.want_report = verbose;

    if (against_one) {
        error =
            chan_store_version_get(chand_request_store(req), &one, subject, version, false, err);
        if (error == CHAN_ENOTFOUND && version == -1) {
            /* Confluent: nothing to be incompatible with */
            chan_error_clear(err);
            error = 0;
        } else if (error == CHAN_ENOTFOUND) {
            /* Confluent's compatibility resource: 40402 whether or not the subject exists */
            error = chand_http_error(err, CHAN_ENOTFOUND, 40402, "Version %d not found.", version);
            goto cleanup;
        } else if (error < 0) {
            error = sr_error(err, subject, version, 0);
            goto cleanup;
        }
        if (one != NULL && (error = check_ctx_add(&ctx, req, one, err)) < 0)
            goto cleanup;
        /* Checked as if it were the only earlier version. */
        if (one != NULL)
            error = check_compatible(&ctx, (const chan_schema_version *const *)&one, 1, err);
    } else {
        /* Against the subject's live versions as registering would judge it. */
        chan_schema_register_request rr;

        if ((error = check_ctx_prepare(&ctx, req, subject, err)) < 0)
            goto cleanup;
        memset(&rr, 0, sizeof(rr));
        check_request(&rr, &ctx, subject);
        error = chan_store_schema_check(chand_request_store(req), &rr, err);
        if (error < 0 && error != CHAN_EINCOMPATIBLE) {
            error = sr_error(err, subject, 0, 0);
            goto cleanup;
        }
    }
    if (error < 0 && error != CHAN_EINCOMPATIBLE)
        goto cleanup;
    if (ctx.latest_version > 0) /* a subject without versions has nothing to judge */
        chand_metrics_schema_check(subject, error == 0);
    doc = json_pack("{s:b}", "is_compatible", error == 0);
    if (verbose)
        json_object_set_new(doc, "messages",
                            error == 0 ? json_array() : report_messages(&ctx, req));
    error = chand_reply_json(req, 200, doc);

cleanup:
    chan_schema_version_free(one);
    parsed_body_dispose(&body);
    resolved_refs_dispose(&refs);
    check_ctx_dispose(&ctx);
    return error;
}

/* ------------------------------------------------------------------ */
/* Configuration and modes                                              */
/* ------------------------------------------------------------------ */

/* The {subject} of /config/{subject} and /mode/{subject}, or NULL for the global routes. */
static int scope_subject(const char **out, const chand_request *req, chan_error *err)
{
    *out = NULL;
    if (chand_request_param(req, "subject") == NULL)
        return 0;
    *out = get_subject(req, err);
    return *out ? 0 : err->code;
}

static int get_config(chand_request *req, chan_error *err)
{
    const char *subject;
    char *level = NULL;
    bool fallback, normalize = false;
    json_t *doc;
    int error;

    if ((error = scope_subject(&subject, req, err)) < 0)
        return error;
    if ((error = chand_request_query_bool(&fallback, req, "defaultToGlobal", false, err)) < 0)
        return error;
    error = chan_store_config_get(chand_request_store(req), &level, subject, err);
    if (error == CHAN_ENOTFOUND && subject && !fallback) {
        /* a subject whose configuration is only Confluent's normalize setting */
        if (chan_store_normalize_get(chand_request_store(req), &normalize, subject, NULL) == 0)
            return chand_reply_json(req, 200, json_pack("{s:b}", "normalize", normalize));
        return chand_http_error(err, CHAN_ENOTFOUND, SR_SUBJECT_LEVEL_CONFIG_NOT_FOUND,
                                "Subject '%s' does not have subject-level compatibility "
                                "configured",
                                subject);
    }
    if (error == CHAN_ENOTFOUND && subject)
        error = chan_store_config_get(chand_request_store(req), &level, NULL, err);
    if (error == CHAN_ENOTFOUND) {
        error = 0;
        level = chan_xstrdup(chand_request_config(req)->default_compatibility);
    }
    if (error < 0)
        return sr_error(err, subject, 0, 0);
    doc = json_pack("{s:s}", "compatibilityLevel", level);
    free(level);
    /* Confluent's normalize setting, where one is set (the subject's, else with
     * defaultToGlobal the global one) */
    error = chan_store_normalize_get(chand_request_store(req), &normalize, subject, err);
    if (error == CHAN_ENOTFOUND && subject && fallback)
        error = chan_store_normalize_get(chand_request_store(req), &normalize, NULL, err);
    if (error == 0)
        json_object_set_new(doc, "normalize", json_boolean(normalize));
    else if (error != CHAN_ENOTFOUND) {
        json_decref(doc);
        return sr_error(err, subject, 0, 0);
    }
    chan_error_clear(err);
    return chand_reply_json(req, 200, doc);
}

int chand_floor_check(chand_request *req, const char *subject, chan_compat_mode level,
                      const chan_channel_record *bound, chand_floor_change change, chan_error *err)
{
    chan_compat_mode floor = chand_request_config(req)->min_compatibility;
    bool admin = chan_identity_has(chand_request_identity(req), CHAN_ROLE_ADMIN, NULL);
    const char *how;

    assert(subject != NULL);
    if (chan_policy_level_allowed(level, bound, floor, admin)) {
        if (admin && bound != NULL && !chan_policy_compat_satisfies(level, floor))
            chan_log(CHAN_LOG_WARN, MODULE,
                     "policy floor overridden by admin subject=%s channel=%s level=%s floor=%s "
                     "actor=%s",
                     subject, bound->name, chan_compat_mode_name(level),
                     chan_compat_mode_name(floor), chand_request_actor(req));
        return 0;
    }
    if (change == CHAND_FLOOR_BIND)
        return chand_http_error(err, CHAN_EDENIED, SR_BELOW_FLOOR,
                                "subject %s is at compatibility %s, below the registry's floor %s, "
                                "and channel %s has no approved waiver at that level; only an "
                                "admin may bind it: set the subject to the contract's level first",
                                subject, chan_compat_mode_name(level), chan_compat_mode_name(floor),
                                bound->name);
    if (bound->waiver_reason == NULL)
        how = "or add schema.waiver.reason to the contract and have an admin approve it";
    else if (bound->waiver_approved_by == NULL)
        how = "or approve the contract's waiver";
    else
        how = "the contract's approved waiver covers its own compatibility only";
    return chand_http_error(err, CHAN_EDENIED, SR_BELOW_FLOOR,
                            "compatibility %s is below the registry's floor %s for subject %s "
                            "bound to channel %s; only an admin may set it, %s",
                            chan_compat_mode_name(level), chan_compat_mode_name(floor), subject,
                            bound->name, how);
}

/*
** The policy floor on a subject-level change: may subject be left at level
** (the level it is set to, or the one it falls back to)?  0 when it may (an
** unbound subject, or chand_floor_check against the bound channel), else
** 40302 with err set.  The store audits the change itself.
*/
static int check_floor(chand_request *req, const char *subject, chan_compat_mode level,
                       chan_error *err)
{
    chan_compat_mode floor = chand_request_config(req)->min_compatibility;
    chan_channel_record *bound = NULL;
    int error;

    if (subject == NULL || chan_policy_compat_satisfies(level, floor))
        return 0;
    error = chan_store_channel_by_subject(chand_request_store(req), &bound, subject, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        return 0;
    }
    if (error < 0)
        return sr_error(err, subject, 0, 0);
    error = chand_floor_check(req, subject, level, bound, CHAND_FLOOR_SET_LEVEL, err);
    chan_channel_record_free(bound);
    return error;
}

/* PUT /config and /config/{subject}; ?dry_run=true runs every check and writes nothing. */
static int put_config(chand_request *req, chan_error *err)
{
    const char *subject;
    json_t *body = NULL, *value, *jnorm, *reply = NULL;
    chan_compat_mode mode = CHAN_COMPAT_NONE;
    const char *name;
    int normalize;
    bool dry_run;
    int error;

    if ((error = scope_subject(&subject, req, err)) < 0 ||
        (error = chand_request_query_bool(&dry_run, req, "dry_run", false, err)) < 0)
        return error;
    if ((error = chand_request_json(&body, req, err)) < 0)
        return error;
    value = json_object_get(body, "compatibility");
    if (value == NULL)
        value = json_object_get(body, "compatibilityLevel");
    jnorm = json_object_get(body, "normalize"); /* Confluent's normalize setting */
    if ((value == NULL && jnorm == NULL) ||
        (value != NULL && !json_is_null(value) &&
         (!json_is_string(value) ||
          chan_compat_mode_parse(&mode, json_string_value(value)) != 0)) ||
        (jnorm != NULL && !json_is_boolean(jnorm) && !json_is_null(jnorm))) {
        json_decref(body);
        return chand_http_error(err, CHAN_EINVALID, SR_INVALID_COMPATIBILITY,
                                "Invalid compatibility level. Valid values are none, backward, "
                                "forward, full, backward_transitive, forward_transitive, and "
                                "full_transitive (and \"normalize\" is true or false)");
    }
    if (value != NULL && json_is_null(value))
        value = NULL;
    normalize = jnorm == NULL || json_is_null(jnorm) ? -1 : json_is_true(jnorm);
    json_decref(body);
    name = value != NULL ? chan_compat_mode_name(mode) : NULL;
    reply = json_object();
    if (name != NULL)
        json_object_set_new(reply, "compatibility", json_string(name));
    if (normalize >= 0)
        json_object_set_new(reply, "normalize", json_boolean(normalize));
    if (name != NULL && (error = check_floor(req, subject, mode, err)) < 0)
        goto cleanup;
    if (dry_run) /* checked and authorized: reply as the real call would, write nothing */
        goto reply;
    if (name != NULL && (error = chan_store_config_set(chand_request_store(req), subject, name,
                                                       chand_request_actor(req), err)) < 0) {
        error = sr_error(err, subject, 0, 0);
        goto cleanup;
    }
    if (normalize >= 0 &&
        (error = chan_store_normalize_set(chand_request_store(req), subject, normalize,
                                          chand_request_actor(req), err)) < 0) {
        error = sr_error(err, subject, 0, 0);
        goto cleanup;
    }
    chand_metrics_subject_changed(subject);
    chan_log(CHAN_LOG_INFO, MODULE, "compatibility set scope=%s level=%s normalize=%d actor=%s",
             subject ? subject : "(global)", name ? name : "(unchanged)", normalize,
             chand_request_actor(req));
reply:
    error = chand_reply_json(req, 200, reply);
    reply = NULL;
cleanup:
    json_decref(reply);
    return error;
}

static int delete_config(chand_request *req, chan_error *err)
{
    const char *subject;
    char *level = NULL;
    bool normalize = false;
    int error;

    if ((error = scope_subject(&subject, req, err)) < 0)
        return error;
    error = chan_store_config_get(chand_request_store(req), &level, subject, err);
    if (error == CHAN_ENOTFOUND && subject &&
        chan_store_normalize_get(chand_request_store(req), &normalize, subject, NULL) == 0) {
        /* only Confluent's normalize setting is configured: clear it */
        if ((error = chan_store_normalize_set(chand_request_store(req), subject, -1,
                                              chand_request_actor(req), err)) < 0)
            return sr_error(err, subject, 0, 0);
        return chand_reply_json(req, 200, json_pack("{s:b}", "normalize", normalize));
    }
    if (error == CHAN_ENOTFOUND && subject)
        return chand_http_error(err, CHAN_ENOTFOUND, SR_SUBJECT_LEVEL_CONFIG_NOT_FOUND,
                                "Subject '%s' does not have subject-level compatibility "
                                "configured",
                                subject);
    if (error == CHAN_ENOTFOUND) {
        error = 0;
        level = chan_xstrdup(chand_request_config(req)->default_compatibility);
    }
    if (error < 0)
        return sr_error(err, subject, 0, 0);
    if (subject != NULL) {
        chan_compat_mode fallback;

        /* The subject falls back to the global level, else the default. */
        if ((error = chand_effective_level(&fallback, req, NULL, err)) < 0 ||
            (error = check_floor(req, subject, fallback, err)) < 0) {
            free(level);
            return error;
        }
    }
    if ((error = chan_store_config_set(chand_request_store(req), subject, NULL,
                                       chand_request_actor(req), err)) < 0 ||
        (error = chan_store_normalize_set(chand_request_store(req), subject, -1,
                                          chand_request_actor(req), err)) < 0) {
        free(level);
        return sr_error(err, subject, 0, 0);
    }
    chand_metrics_subject_changed(subject);
    chan_log(CHAN_LOG_INFO, MODULE, "compatibility cleared scope=%s actor=%s",
             subject ? subject : "(global)", chand_request_actor(req));
    error = chand_reply_json(req, 200, json_pack("{s:s}", "compatibilityLevel", level));
    free(level);
    return error;
}

static int get_mode(chand_request *req, chan_error *err)
{
    const char *subject;
    char *mode = NULL;
    bool fallback;
    int error;

    if ((error = scope_subject(&subject, req, err)) < 0)
        return error;
    if ((error = chand_request_query_bool(&fallback, req, "defaultToGlobal", false, err)) < 0)
        return error;
    error = chan_store_mode_get(chand_request_store(req), &mode, subject, err);
    if (error == CHAN_ENOTFOUND && subject && !fallback)
        return chand_http_error(err, CHAN_ENOTFOUND, SR_SUBJECT_LEVEL_MODE_NOT_FOUND,
                                "Subject '%s' does not have subject-level mode configured",
                                subject);
    if (error == CHAN_ENOTFOUND && subject)
        error = chan_store_mode_get(chand_request_store(req), &mode, NULL, err);
    if (error == CHAN_ENOTFOUND) {
        error = 0;
        mode = chan_xstrdup("READWRITE");
    }
    if (error < 0)
        return sr_error(err, subject, 0, 0);
    error = chand_reply_json(req, 200, json_pack("{s:s}", "mode", mode));
    free(mode);
    return error;
}

/*
** PUT /mode and /mode/{subject}: READWRITE, READONLY or IMPORT (any case).
** Entering IMPORT needs the scope to hold no version unless ?force=true
** (chan_store_mode_set_checked).
*/
static int put_mode(chand_request *req, chan_error *err)
{
    static const char *const valid[] = {"READWRITE", "READONLY", "IMPORT"};
    const char *subject, *given, *mode = NULL;
    json_t *body = NULL;
    bool force;
    size_t i;
    int error;

    if ((error = scope_subject(&subject, req, err)) < 0 ||
        (error = chand_request_query_bool(&force, req, "force", false, err)) < 0)
        return error;
    if ((error = chand_request_json(&body, req, err)) < 0)
        return error;
    given = json_string_value(json_object_get(body, "mode"));
    for (i = 0; given && i < CHAN_ARRAY_SIZE(valid); i++)
        if (strcasecmp(given, valid[i]) == 0)
            mode = valid[i];
    if (mode == NULL) {
        error = chand_http_error(err, CHAN_EINVALID, SR_INVALID_MODE,
                                 "Invalid mode. Valid values are READWRITE, READONLY and "
                                 "IMPORT");
        json_decref(body);
        return error;
    }
    if ((error = chan_store_mode_set_checked(chand_request_store(req), subject, mode, force,
                                             chand_request_actor(req), err)) < 0) {
        json_decref(body);
        return sr_error(err, subject, 0, 0);
    }
    chan_log(CHAN_LOG_INFO, MODULE, "mode set scope=%s mode=%s actor=%s",
             subject ? subject : "(global)", mode, chand_request_actor(req));
    error = chand_reply_json(req, 200, json_pack("{s:s}", "mode", mode));
    json_decref(body);
    return error;
}

static int delete_mode(chand_request *req, chan_error *err)
{
    const char *subject;
    char *mode = NULL;
    int error;

    if ((error = scope_subject(&subject, req, err)) < 0)
        return error;
    error = chan_store_mode_get(chand_request_store(req), &mode, subject, err);
    if (error == CHAN_ENOTFOUND)
        return chand_http_error(err, CHAN_ENOTFOUND, SR_SUBJECT_LEVEL_MODE_NOT_FOUND,
                                "Subject '%s' does not have subject-level mode configured",
                                subject ? subject : "");
    if (error < 0)
        return sr_error(err, subject, 0, 0);
    if ((error = chan_store_mode_set(chand_request_store(req), subject, NULL,
                                     chand_request_actor(req), err)) < 0) {
        free(mode);
        return sr_error(err, subject, 0, 0);
    }
    error = chand_reply_json(req, 200, json_pack("{s:s}", "mode", mode));
    free(mode);
    return error;
}

/* ------------------------------------------------------------------ */

const chand_route chand_api_schema_routes[] = {
    {"GET", "/subjects", list_subjects, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_STORE},
    {"GET", "/subjects/{subject}/versions", list_versions, CHAN_AUTHZ_READ, NULL,
     CHAND_CACHE_STORE},
    {"POST", "/subjects/{subject}/versions", register_schema, CHAN_AUTHZ_SUBJECT_WRITE,
     chand_target_subject, CHAND_CACHE_NONE},
    {"GET", "/subjects/{subject}/versions/{version}", get_version_handler, CHAN_AUTHZ_READ, NULL,
     CHAND_CACHE_STORE},
    {"DELETE", "/subjects/{subject}/versions/{version}", delete_version, CHAN_AUTHZ_SUBJECT_WRITE,
     chand_target_subject, CHAND_CACHE_NONE},
    {"GET", "/subjects/{subject}/versions/{version}/schema", get_version_schema, CHAN_AUTHZ_READ,
     NULL, CHAND_CACHE_STORE},
    {"GET", "/subjects/{subject}/versions/{version}/referencedby", get_version_referencedby,
     CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"POST", "/subjects/{subject}", lookup_schema, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_STORE},
    {"DELETE", "/subjects/{subject}", delete_subject, CHAN_AUTHZ_SUBJECT_WRITE,
     chand_target_subject, CHAND_CACHE_NONE},
    {"GET", "/schemas", list_schemas, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"GET", "/schemas/types", get_schema_types, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"GET", "/schemas/ids/{id}", get_schema_by_id, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_STORE},
    {"GET", "/schemas/ids/{id}/schema", get_schema_by_id_raw, CHAN_AUTHZ_READ, NULL,
     CHAND_CACHE_STORE},
    {"GET", "/schemas/ids/{id}/versions", get_schema_versions, CHAN_AUTHZ_READ, NULL,
     CHAND_CACHE_STORE},
    {"GET", "/schemas/ids/{id}/subjects", get_schema_subjects, CHAN_AUTHZ_READ, NULL,
     CHAND_CACHE_STORE},
    {"POST", "/compatibility/subjects/{subject}/versions", test_compatibility, CHAN_AUTHZ_READ,
     NULL, CHAND_CACHE_NONE},
    {"POST", "/compatibility/subjects/{subject}/versions/{version}", test_compatibility,
     CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"GET", "/config", get_config, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_STORE},
    {"PUT", "/config", put_config, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
    {"DELETE", "/config", delete_config, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
    {"GET", "/config/{subject}", get_config, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_STORE},
    {"PUT", "/config/{subject}", put_config, CHAN_AUTHZ_SUBJECT_CONFIG, chand_target_subject,
     CHAND_CACHE_NONE},
    {"DELETE", "/config/{subject}", delete_config, CHAN_AUTHZ_SUBJECT_CONFIG, chand_target_subject,
     CHAND_CACHE_NONE},
    {"GET", "/mode", get_mode, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_STORE},
    {"PUT", "/mode", put_mode, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
    {"GET", "/mode/{subject}", get_mode, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_STORE},
    {"PUT", "/mode/{subject}", put_mode, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
    {"DELETE", "/mode/{subject}", delete_mode, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, CHAND_CACHE_NONE},
};

const size_t chand_api_schema_routes_count = CHAN_ARRAY_SIZE(chand_api_schema_routes);
