/*
 * cmd_check.c - `chanctl check`: the contract health gate for CI.
 *
 * Loads the contracts (files, or directories searched for *.yaml / *.yml;
 * default contracts/) and measures three rates against a registry:
 *
 *   schema registration rate   channels whose every declared schema version
 *                              is registered in the subject with the same
 *                              normalized schema and number / all channels;
 *   consumer completeness      declared consumers registered on the channel
 *                              with every mandatory field equal / all
 *                              declared consumers;
 *   (with a registry that reaches Kafka, every unmanaged topic of the
 *   cluster, GET /v1/topics, is a failing channel of the schema registration
 *   rate and an uncovered entry of the ACL coverage)
 *   ACL coverage               principals with desired Kafka ACLs (the
 *                              daemon's GET /v1/acl/plan) none of which is
 *                              still to be created, with the actual state
 *                              known / all those principals.  "Not measured"
 *                              when the registry has no Kafka (404 or 503);
 *   policy floor               subjects of the contracts whose effective level
 *                              (the subject's, else the global one) satisfies
 *                              the floor, or whose channel's approved waiver
 *                              covers that level / all subjects.  Any subject
 *                              below the floor fails the check.  The floor is
 *                              --min-compatibility, else the registry's
 *                              (GET /v1/policy), else BACKWARD.
 *
 * Without a registry (no --registry, no CHANREG_URL) the check runs offline
 * on the contracts alone: a channel counts when its version chain loads and
 * validates, a consumer when its mandatory fields are valid, a subject when
 * the contract's compatibility satisfies the floor or carries a waiver (whose
 * approval only the registry knows), and ACL coverage is not measured.
 *
 * A contract that does not load counts as one failing channel named after
 * its file.  When it parses without its schemas (only the version chain is
 * broken), its consumers are checked as usual; when it does not even parse,
 * only the consumers a diagnostic names (consumers[i]) are counted, as
 * failing, since the others cannot be read.
 *
 * Exit status: 0 every rate reaches its threshold, 1 one does not, 2 usage
 * error, 3 registry unreachable or failing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "chan/model.h"
#include "chan/policy.h"
#include "cli.h"
#include "cmds.h"
#include "contract_files.h"
#include "options.h"
#include "registry_client.h"

#define CMD_NAME "check"

typedef struct check_opts {
    cli_format format;
    const char *schema_root;
    const char *min_schema;
    const char *min_consumer;
    const char *min_acl;
    bool require_acl;
    const char *min_compatibility;
    const char *root;
} check_opts;

static const cli_opt_spec opt_specs[] = {
    {"schemas", 0, "DIR", "schema root holding <subject>/v<N>.avsc (default: nearest schemas/)",
     offsetof(check_opts, schema_root)},
    {"min-schema-rate", 0, "RATE", "lowest schema registration rate, 0..1 (default: 1.0)",
     offsetof(check_opts, min_schema)},
    {"min-consumer-completeness", 0, "RATE",
     "lowest consumer registration completeness, 0..1 (default: 1.0)",
     offsetof(check_opts, min_consumer)},
    {"min-acl-coverage", 0, "RATE", "lowest ACL coverage, 0..1 (default: 0.95)",
     offsetof(check_opts, min_acl)},
    {"require-acl-coverage", 0, NULL, "fail when ACL coverage cannot be measured",
     offsetof(check_opts, require_acl)},
    {"min-compatibility", 0, "LEVEL",
     "policy floor of the subjects (default: the registry's GET /v1/policy, else BACKWARD)",
     offsetof(check_opts, min_compatibility)},
    {"root", 0, "DIR", CLI_ROOT_OPTION_HELP, offsetof(check_opts, root)},
};

static const cli_cmd_spec spec = {
    .name = CMD_NAME,
    .usage = "[OPTION]... [PATH]...",
    .description = "Measure the health of the contracts against a registry: the share of channels\n"
                   "whose schema versions are registered, of declared consumers registered with\n"
                   "the same fields, and of principals whose Kafka ACLs are in place, and list\n"
                   "the subjects left below the policy floor of compatibility.  Without a\n"
                   "registry, measure what the contracts alone tell (offline).  PATH is a\n"
                   "contract file or a directory searched for *.yaml and *.yml\n"
                   "(default: " CLI_DEFAULT_CONTRACT_DIR ").",
    CLI_CMD_OPTS(opt_specs),
    .formats = CLI_FORMATS_TEXT_JSON | (1u << CLI_FORMAT_JUNIT),
    .registry = "registry to check against (default: $" CLI_REGISTRY_URL_ENV "; none: offline)",
    .exit_status = "0 every rate reaches its threshold, 1 a rate is below its\n"
                   "threshold, 2 usage error, 3 registry unreachable.",
};

/* One measured rate. */
typedef struct metric {
    const char *id;    /* JSON / junit name */
    const char *title; /* for people */
    const char *unit;  /* what is counted */
    bool measured;
    size_t good;
    size_t total;
    double threshold;
    bool required;   /* fails when not measured */
    json_t *failing; /* strings: the failing channels, consumers or principals */
    char note[256];  /* why it is not measured, or how it was measured */
} metric;

/* ------------------------------------------------------------------ */
/* Metrics                                                             */
/* ------------------------------------------------------------------ */

static double metric_value(const metric *m)
{
    return m->total ? (double)m->good / (double)m->total : 1.0;
}

/* Rates are compared with a little slack, so that 19/20 reaches 0.95. */
static bool metric_passed(const metric *m)
{
    if (!m->measured)
        return !m->required;
    return metric_value(m) + 1e-9 >= m->threshold;
}

static void metric_fail(metric *m, const char *fmt, ...) CHAN_PRINTF(2, 3);

static void metric_fail(metric *m, const char *fmt, ...)
{
    chan_buf text = CHAN_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    chan_buf_vprintf(&text, fmt, ap);
    va_end(ap);
    json_array_append_new(m->failing, json_string(chan_buf_cstr(&text)));
    chan_buf_dispose(&text);
}

/* ------------------------------------------------------------------ */
/* Contracts                                                           */
/* ------------------------------------------------------------------ */

/*
** One contract file: the contract when it loads; else its diagnostics, and
** the contract without its schemas when only the version chain is broken.
*/
typedef struct loaded {
    const char *file;
    chan_contract *contract; /* loaded with its schemas, or NULL */
    chan_contract *parsed;   /* when contract is NULL: parsed without schemas, or NULL */
    chan_diag_list *diags;
} loaded;

/* Load one file into l. */
static void load_file(loaded *l, const char *path, const chan_contract_load_options *lopts)
{
    chan_diag_list *ignored = NULL;
    char *text = NULL;
    size_t len = 0;

    l->file = path;
    l->diags = chan_diag_list_new();
    if (chan_contract_load(&l->contract, path, lopts, l->diags, NULL) == 0)
        return;
    if (cli_read_contract_file(&text, &len, lopts->root, path, NULL) < 0)
        return;
    ignored = chan_diag_list_new();
    (void)chan_contract_parse(&l->parsed, text, len, path, &lopts->parse, ignored, NULL);
    chan_diag_list_free(ignored);
    free(text);
}

/* Rules after which nothing of a contract could be read. */
static bool fatal_rule(const char *rule)
{
    static const char *const rules[] = {
        CHAN_CONTRACT_RULE_IO,       CHAN_CONTRACT_RULE_TOO_LARGE,   CHAN_CONTRACT_RULE_YAML_SYNTAX,
        CHAN_CONTRACT_RULE_TOO_DEEP, CHAN_CONTRACT_RULE_TOO_COMPLEX, CHAN_CONTRACT_RULE_ALIAS,
        CHAN_CONTRACT_RULE_DOCUMENT,
    };
    size_t i;

    for (i = 0; rule && i < CHAN_ARRAY_SIZE(rules); i++)
        if (strcmp(rule, rules[i]) == 0)
            return true;
    return false;
}

/* Does the diagnostic concern the schema section or the version chain? */
static bool schema_diag(const chan_diag *d)
{
    static const char *const rules[] = {
        CHAN_CONTRACT_RULE_SCHEMA_FILE,   CHAN_CONTRACT_RULE_AVRO,
        CHAN_CONTRACT_RULE_INCOMPATIBLE,  CHAN_CONTRACT_RULE_FIELD_REMOVED,
        CHAN_CONTRACT_RULE_VERSION_ORDER,
    };
    size_t i;

    if (fatal_rule(d->rule) || (d->path && strncmp(d->path, "schema", 6) == 0))
        return true;
    for (i = 0; d->rule && i < CHAN_ARRAY_SIZE(rules); i++)
        if (strcmp(d->rule, rules[i]) == 0)
            return true;
    return false;
}

/* The first error diagnostic of a contract that failed to load, as text. */
static const char *first_error(const chan_diag_list *diags, bool (*pred)(const chan_diag *))
{
    size_t i;

    for (i = 0; i < chan_diag_list_count(diags); i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);

        if (d->severity == CHAN_DIAG_ERROR && (pred == NULL || pred(d)))
            return d->message;
    }
    return NULL;
}

/*
** The consumers of a contract that does not even parse: each index that an
** error diagnostic names ("consumers[3].group") counts once, as failing.
*/
static void count_broken_consumers(metric *m, const loaded *l)
{
    size_t i, n = chan_diag_list_count(l->diags);
    unsigned char *seen = NULL;
    size_t n_seen = 0;

    for (i = 0; i < n; i++) {
        const chan_diag *d = chan_diag_list_get(l->diags, i);
        char *end;
        unsigned long idx;

        if (d->severity != CHAN_DIAG_ERROR || d->path == NULL ||
            strncmp(d->path, "consumers[", 10) != 0)
            continue;
        errno = 0;
        idx = strtoul(d->path + 10, &end, 10);
        if (errno != 0 || *end != ']' || idx > 100000)
            continue;
        if (idx >= n_seen) {
            seen = chan_xrealloc(seen, idx + 1);
            memset(seen + n_seen, 0, idx + 1 - n_seen);
            n_seen = idx + 1;
        }
        if (seen[idx])
            continue;
        seen[idx] = 1;
        m->total++;
        metric_fail(m, "%s: consumers[%lu]: %s", l->file, idx, d->message);
    }
    free(seen);
}

/* ------------------------------------------------------------------ */
/* Offline                                                             */
/* ------------------------------------------------------------------ */

static void check_offline(metric *schema, metric *consumers, const loaded *files, size_t n_files)
{
    size_t i;

    for (i = 0; i < n_files; i++) {
        const loaded *l = &files[i];
        const char *why;

        schema->total++;
        if (l->contract) {
            schema->good++;
            consumers->total += chan_contract_consumer_count(l->contract);
            consumers->good += chan_contract_consumer_count(l->contract);
            continue;
        }
        why = first_error(l->diags, schema_diag);
        if (why)
            metric_fail(schema, "%s: %s", l->file, why);
        else
            schema->good++;
        if (l->parsed) {
            consumers->total += chan_contract_consumer_count(l->parsed);
            consumers->good += chan_contract_consumer_count(l->parsed);
        } else {
            count_broken_consumers(consumers, l);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Against a registry                                                  */
/* ------------------------------------------------------------------ */

/*
** Is every declared version of contract registered with the same schema and
** number?  Counts the channel in m.  Returns 0 or the error of a request
** that could not be answered.
*/
static int check_schemas(metric *m, cli_registry *reg, const chan_contract *contract,
                         chan_error *err)
{
    const char *subject = chan_contract_subject(contract);
    size_t i, n = chan_contract_version_count(contract);
    chan_buf problems = CHAN_BUF_INIT;
    int error = 0;

    m->total++;
    for (i = n; i-- > 0;) {
        const chan_contract_version *v = chan_contract_version_at(contract, i);
        cli_schema_ref ref;

        if (v->schema == NULL) {
            chan_buf_printf(&problems, "%sv%lld has no schema", problems.len ? ", " : "",
                            (long long)v->number);
            continue;
        }
        error = cli_registry_lookup_schema(&ref, reg, subject,
                                           chan_avro_schema_normalized(v->schema), err);
        if (error == CHAN_ENOTFOUND) {
            chan_error_clear(err);
            error = 0;
            chan_buf_printf(&problems, "%sv%lld not registered", problems.len ? ", " : "",
                            (long long)v->number);
            continue;
        }
        if (error < 0)
            goto cleanup;
        if (ref.version != v->number)
            chan_buf_printf(&problems, "%sv%lld registered as version %d", problems.len ? ", " : "",
                            (long long)v->number, ref.version);
    }
    if (problems.len)
        metric_fail(m, "%s (%s): %s", chan_contract_name(contract), subject,
                    chan_buf_cstr(&problems));
    else
        m->good++;

cleanup:
    chan_buf_dispose(&problems);
    return error;
}

/* The registered consumer called name of channel, or NULL. */
static const chan_consumer_record *find_registered(const chan_channel_record *channel,
                                                   const char *name)
{
    size_t i;

    for (i = 0; i < channel->n_consumers; i++)
        if (channel->consumers[i].name != NULL && strcmp(channel->consumers[i].name, name) == 0)
            return &channel->consumers[i];
    return NULL;
}

static bool same_string(const char *s, const char *want)
{
    return s != NULL && strcmp(s, want) == 0;
}

/* The mandatory fields of a declared consumer that differ from the registered one. */
static void consumer_diff(chan_buf *out, const chan_contract_consumer *k,
                          const chan_consumer_record *c)
{
    if (!same_string(c->principal, k->principal))
        chan_buf_printf(out, "%sprincipal", out->len ? ", " : "");
    if (!same_string(c->group, k->group))
        chan_buf_printf(out, "%sgroup", out->len ? ", " : "");
    if (!same_string(c->scenario, k->scenario))
        chan_buf_printf(out, "%sscenario", out->len ? ", " : "");
    if (c->sla_p99_ms != k->sla_p99_ms)
        chan_buf_printf(out, "%ssla_p99_ms", out->len ? ", " : "");
    if (c->peak_rate_msgs != (double)k->peak_rate_msgs)
        chan_buf_printf(out, "%speak_rate_msgs", out->len ? ", " : "");
    if (!same_string(c->degradation, chan_degradation_name(k->degradation)))
        chan_buf_printf(out, "%sdegradation", out->len ? ", " : "");
}

/* Count the declared consumers of contract in m.  Returns 0 or a request error. */
static int check_consumers(metric *m, cli_registry *reg, const chan_contract *contract,
                           chan_error *err)
{
    const char *name = chan_contract_name(contract);
    size_t i, n = chan_contract_consumer_count(contract);
    chan_channel_record *channel = NULL;
    json_t *doc = NULL;
    int error;

    if (n == 0)
        return 0;
    error = cli_registry_get_channel(&doc, reg, name, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        error = 0;
    } else if (error < 0) {
        return error;
    } else if ((error = chan_channel_record_from_json(&channel, doc, err)) < 0) {
        chan_error_prefix(err, "the registry's reply to GET /v1/channels/%s is malformed", name);
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        const chan_contract_consumer *k = chan_contract_consumer_at(contract, i);
        const chan_consumer_record *c = channel ? find_registered(channel, k->name) : NULL;
        chan_buf diff = CHAN_BUF_INIT;

        m->total++;
        if (channel == NULL) {
            metric_fail(m, "%s/%s: channel not registered", name, k->name);
            continue;
        }
        if (c == NULL) {
            metric_fail(m, "%s/%s: not registered", name, k->name);
            continue;
        }
        consumer_diff(&diff, k, c);
        if (diff.len)
            metric_fail(m, "%s/%s: differs in %s", name, k->name, chan_buf_cstr(&diff));
        else
            m->good++;
        chan_buf_dispose(&diff);
    }

cleanup:
    chan_channel_record_free(channel);
    json_decref(doc);
    return error;
}

/* Add the principals of the bindings in arr to the object principals (name -> covered). */
static void collect_principals(json_t *principals, const json_t *arr, bool covered)
{
    const json_t *b;
    size_t i;

    json_array_foreach(arr, i, b)
    {
        const char *p = json_string_value(json_object_get(b, "principal"));
        json_t *known;

        if (p == NULL)
            continue;
        known = json_object_get(principals, p);
        if (known == NULL || (json_is_true(known) && !covered))
            json_object_set_new(principals, p, json_boolean(covered));
    }
}

/* ACL coverage from GET /v1/acl/plan.  Returns 0 or a request error. */
static int check_acls(metric *m, cli_registry *reg, chan_error *err)
{
    json_t *plan = NULL, *principals = json_object(), *v;
    const char *state, *p;
    long status = 0;
    bool known;
    int error;

    error = cli_registry_request(&plan, &status, reg, "GET", "/v1/acl/plan", NULL, err);
    if (error < 0 && (status == 404 || status == 503)) {
        const json_t *msg = json_object_get(cli_registry_last_error(reg), "message");
        char *text = json_is_string(msg) ? cli_registry_value_text(msg) : NULL;

        chan_error_clear(err);
        if (status == 404 || text == NULL)
            snprintf(m->note, sizeof(m->note),
                     "not measured: the registry has no Kafka cluster configured (HTTP %ld)",
                     status);
        else
            snprintf(m->note, sizeof(m->note), "not measured: %s (HTTP %ld)", text, status);
        free(text);
        error = 0;
        goto cleanup;
    }
    if (error < 0)
        goto cleanup;
    if (!json_is_object(plan)) {
        error = chan_error_set(err, CHAN_EINTERNAL, "GET /v1/acl/plan: the reply is not a plan");
        goto cleanup;
    }
    state = json_string_value(json_object_get(plan, "actual_state"));
    known = state != NULL && strcmp(state, "known") == 0;
    m->measured = true;
    if (!known)
        snprintf(m->note, sizeof(m->note), "the registry does not know the ACLs in Kafka");
    collect_principals(principals, json_object_get(plan, "unchanged"), true);
    collect_principals(principals, json_object_get(plan, "create"), false);
    json_object_foreach(principals, p, v)
    {
        m->total++;
        if (json_is_true(v) && known)
            m->good++;
        else if (!known)
            metric_fail(m, "%s: ACLs in Kafka unknown", p);
        else
            metric_fail(m, "%s: ACLs missing", p);
    }

cleanup:
    json_decref(principals);
    json_decref(plan);
    return error;
}

/*
** Topic discovery (GET /v1/topics?refresh=true): every unmanaged topic of
** the cluster counts as a failing channel of the schema registration rate
** and, when ACL coverage is measured, as an uncovered entry of it.  A
** registry without Kafka (404, 503) or a topic list it could not read
** counts nothing and says so in the notes.
*/
static int check_topics(metric *schema, metric *acl, cli_registry *reg, chan_error *err)
{
    json_t *doc = NULL, *name;
    const char *state;
    long status = 0;
    size_t i;
    int error;

    error = cli_registry_request(&doc, &status, reg, "GET", "/v1/topics?refresh=true", NULL, err);
    if (error < 0 && (status == 404 || status == 503)) {
        chan_error_clear(err);
        snprintf(schema->note, sizeof(schema->note),
                 "the cluster's topics are not discovered: the registry has no Kafka cluster "
                 "configured (HTTP %ld)",
                 status);
        error = 0;
        goto cleanup;
    }
    if (error < 0)
        goto cleanup;
    state = json_string_value(json_object_get(doc, "state"));
    if (state == NULL || strcmp(state, "known") != 0) {
        const char *why = json_string_value(json_object_get(doc, "error"));
        char *text = why ? cli_registry_value_text(json_object_get(doc, "error")) : NULL;

        snprintf(schema->note, sizeof(schema->note),
                 "the cluster's topics could not be read, unmanaged topics not counted: %s",
                 text ? text : "unknown error");
        free(text);
        goto cleanup;
    }
    json_array_foreach(json_object_get(doc, "unmanaged"), i, name)
    {
        char *text = cli_registry_value_text(name);

        schema->total++;
        metric_fail(schema, "topic %s: no channel contract (unmanaged)", text ? text : "?");
        if (acl->measured) {
            acl->total++;
            metric_fail(acl, "topic %s: unmanaged, its ACLs are nobody's", text ? text : "?");
        }
        free(text);
    }
    snprintf(schema->note, sizeof(schema->note),
             "%zu unmanaged topic(s) of the cluster counted as failing",
             json_array_size(json_object_get(doc, "unmanaged")));

cleanup:
    json_decref(doc);
    return error;
}

static int check_online(metric *schema, metric *consumers, metric *acl, cli_registry *reg,
                        const loaded *files, size_t n_files, chan_error *err)
{
    size_t i;
    int error;

    for (i = 0; i < n_files; i++) {
        const loaded *l = &files[i];

        if (l->contract == NULL) {
            const char *why = first_error(l->diags, NULL);

            schema->total++;
            metric_fail(schema, "%s: the contract does not load: %s", l->file,
                        why ? why : "invalid");
            if (l->parsed == NULL)
                count_broken_consumers(consumers, l);
            else if ((error = check_consumers(consumers, reg, l->parsed, err)) < 0)
                return error;
            continue;
        }
        if ((error = check_schemas(schema, reg, l->contract, err)) < 0)
            return error;
        if ((error = check_consumers(consumers, reg, l->contract, err)) < 0)
            return error;
    }
    if ((error = check_acls(acl, reg, err)) < 0)
        return error;
    return check_topics(schema, acl, reg, err);
}

/* ------------------------------------------------------------------ */
/* Policy floor                                                        */
/* ------------------------------------------------------------------ */

/* The contract of a loaded file: with its schemas, else parsed only, else NULL. */
static const chan_contract *contract_of(const loaded *l)
{
    return l->contract ? l->contract : l->parsed;
}

/*
** Offline: each contract's own compatibility against floor.  One below it
** with a waiver counts, since only the registry knows whether the waiver is
** approved; one without a waiver fails.
*/
static void floor_offline(metric *m, chan_compat_mode floor, const char *source,
                          const loaded *files, size_t n_files)
{
    size_t i, waived = 0;

    for (i = 0; i < n_files; i++) {
        const chan_contract *c = contract_of(&files[i]);
        chan_compat_mode level;

        if (c == NULL || chan_contract_subject(c) == NULL)
            continue;
        level = chan_contract_compatibility(c);
        m->total++;
        if (chan_policy_compat_satisfies(level, floor)) {
            m->good++;
        } else if (chan_contract_waiver_reason(c) != NULL) {
            m->good++;
            waived++;
        } else {
            metric_fail(m,
                        "%s (%s): compatibility %s is below the floor %s and the contract "
                        "has no schema.waiver.reason",
                        chan_contract_name(c), chan_contract_subject(c),
                        chan_compat_mode_name(level), chan_compat_mode_name(floor));
        }
    }
    if (waived > 0)
        snprintf(m->note, sizeof(m->note),
                 "floor %s, %s; %zu below it under a waiver (its approval is not checked "
                 "offline)",
                 chan_compat_mode_name(floor), source, waived);
    else
        snprintf(m->note, sizeof(m->note), "floor %s, %s", chan_compat_mode_name(floor), source);
}

/*
** The effective level of subject in the registry: GET /config/{subject}
** ?defaultToGlobal=true (the subject's, else the global one, else the
** registry's default).  Returns 0 or the request's error.
*/
static int effective_level(chan_compat_mode *out, cli_registry *reg, const char *subject,
                           chan_error *err)
{
    char *esc = cli_registry_escape(subject);
    char *path = chan_xasprintf("/config/%s?defaultToGlobal=true", esc);
    json_t *reply = NULL;
    const char *name;
    int error;

    if ((error = cli_registry_request(&reply, NULL, reg, "GET", path, NULL, err)) < 0)
        goto cleanup;
    name = json_string_value(json_object_get(reply, "compatibilityLevel"));
    if (name == NULL || chan_compat_mode_parse(out, name) != 0)
        error =
            chan_error_set(err, CHAN_EINTERNAL,
                           "registry reply to GET %s has no known \"compatibilityLevel\"", path);

cleanup:
    json_decref(reply);
    free(path);
    free(esc);
    return error;
}

/*
** Online: each contract's subject at its effective level in the registry.
** A level below floor counts only when the channel's waiver is approved and
** the level is the channel's own compatibility (chan_policy_level_allowed).
** Returns 0 or a request error.
*/
static int floor_online(metric *m, chan_compat_mode floor, cli_registry *reg, const loaded *files,
                        size_t n_files, chan_error *err)
{
    size_t i;
    int error = 0;

    for (i = 0; i < n_files; i++) {
        const chan_contract *c = contract_of(&files[i]);
        chan_channel_record *channel = NULL;
        json_t *doc = NULL;
        chan_compat_mode level;
        const char *why;

        if (c == NULL || chan_contract_subject(c) == NULL)
            continue;
        error = effective_level(&level, reg, chan_contract_subject(c), err);
        if (error == CHAN_ENOTFOUND) {
            /* Not a Schema Registry API (a real one answers with the default level). */
            chan_error_clear(err);
            m->measured = false;
            m->good = m->total = 0;
            json_array_clear(m->failing);
            snprintf(m->note, sizeof(m->note),
                     "not measured: the registry does not answer GET /config/{subject}");
            return 0;
        }
        if (error < 0)
            return error;
        m->total++;
        if (chan_policy_compat_satisfies(level, floor)) {
            m->good++;
            continue;
        }
        error = cli_registry_get_channel(&doc, reg, chan_contract_name(c), err);
        if (error == CHAN_ENOTFOUND) {
            chan_error_clear(err);
            error = 0;
        } else if (error == 0 && (error = chan_channel_record_from_json(&channel, doc, err)) < 0) {
            chan_error_prefix(err, "the registry's reply to GET /v1/channels/%s is malformed",
                              chan_contract_name(c));
        }
        json_decref(doc);
        if (error < 0)
            return error;
        if (channel != NULL && chan_policy_level_allowed(level, channel, floor, false)) {
            m->good++;
        } else {
            if (channel == NULL)
                why = "the channel is not registered";
            else if (channel->waiver_reason == NULL)
                why = "the contract has no waiver";
            else if (channel->waiver_approved_by == NULL)
                why = "its waiver is not approved";
            else
                why = "its approved waiver covers the contract's own compatibility only";
            metric_fail(m, "%s (%s): compatibility %s is below the floor %s; %s",
                        chan_contract_name(c), chan_contract_subject(c),
                        chan_compat_mode_name(level), chan_compat_mode_name(floor), why);
        }
        chan_channel_record_free(channel);
    }
    return 0;
}

/*
** The floor: --min-compatibility (given), else the registry's GET /v1/policy
** (reg not NULL; a registry without that route, 404, means BACKWARD), else
** BACKWARD.  *source says where it came from.  Returns 0, CLI_EXIT_USAGE
** printed, or a request error (negative).
*/
static int resolve_floor(chan_compat_mode *out, const char **source, const char *given,
                         cli_registry *reg, chan_error *err)
{
    json_t *reply = NULL;
    const char *name;
    long status = 0;
    int error;

    *out = CHAN_COMPAT_BACKWARD;
    *source = "the default";
    if (given != NULL) {
        *source = "from --min-compatibility";
        if (chan_compat_mode_parse(out, given) != 0)
            return cli_usage_error(CMD_NAME,
                                   "--min-compatibility: unknown level \"%s\" (BACKWARD, "
                                   "BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, "
                                   "FULL_TRANSITIVE or NONE)",
                                   given);
        return 0;
    }
    if (reg == NULL)
        return 0;
    error = cli_registry_request(&reply, &status, reg, "GET", "/v1/policy", NULL, err);
    if (error < 0 && status == 404) {
        chan_error_clear(err);
        return 0;
    }
    if (error < 0)
        return error;
    name = json_string_value(json_object_get(reply, "min_compatibility"));
    if (name == NULL || chan_compat_mode_parse(out, name) != 0)
        error = chan_error_set(err, CHAN_EINTERNAL,
                               "registry reply to GET /v1/policy has no known "
                               "\"min_compatibility\"");
    else
        *source = "from the registry";
    json_decref(reply);
    return error;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void percent(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%.1f%%", v * 100.0);
}

static void print_text(metric *const *metrics, size_t n, const char *registry, size_t n_files)
{
    size_t i, k;

    if (registry)
        printf("Contract health of %zu contract%s against %s\n\n", n_files, n_files == 1 ? "" : "s",
               registry);
    else
        printf("Contract health of %zu contract%s, OFFLINE (no registry: contracts only)\n\n",
               n_files, n_files == 1 ? "" : "s");
    printf("%-36s %-14s %-10s %s\n", "metric", "value", "threshold", "result");
    for (i = 0; i < n; i++) {
        const metric *m = metrics[i];
        char value[64], threshold[32];
        const json_t *f;

        if (m->measured)
            percent(value, sizeof(value), metric_value(m));
        else
            snprintf(value, sizeof(value), "not measured");
        percent(threshold, sizeof(threshold), m->threshold);
        printf("%-36s %-14s %-10s %s", m->title, value, threshold,
               metric_passed(m) ? "pass" : "FAIL");
        if (m->measured)
            printf(" (%zu/%zu %s)", m->good, m->total, m->unit);
        putchar('\n');
        if (m->note[0])
            printf("    %s\n", m->note);
        json_array_foreach(m->failing, k, f)
        {
            char *text = cli_registry_value_text(f);

            printf("    - %s\n", text);
            free(text);
        }
    }
}

static json_t *metric_json(const metric *m)
{
    json_t *o = json_object();

    json_object_set_new(o, "name", json_string(m->id));
    json_object_set_new(o, "measured", json_boolean(m->measured));
    json_object_set_new(o, "value", m->measured ? json_real(metric_value(m)) : json_null());
    json_object_set_new(o, "good", json_integer((json_int_t)m->good));
    json_object_set_new(o, "total", json_integer((json_int_t)m->total));
    json_object_set_new(o, "threshold", json_real(m->threshold));
    json_object_set_new(o, "passed", json_boolean(metric_passed(m)));
    json_object_set(o, "failing", m->failing);
    json_object_set_new(o, "note", m->note[0] ? json_string(m->note) : json_null());
    return o;
}

static void print_junit(metric *const *metrics, size_t n, const char *registry)
{
    size_t i, k, failures = 0, skipped = 0;

    for (i = 0; i < n; i++) {
        failures += !metric_passed(metrics[i]);
        skipped += !metrics[i]->measured && metric_passed(metrics[i]);
    }
    printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    printf("<testsuites name=\"chanctl check\" tests=\"%zu\" failures=\"%zu\">\n", n, failures);
    printf("  <testsuite name=\"");
    cli_xml_puts(registry ? registry : "offline");
    printf("\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\">\n", n, failures,
           skipped);
    for (i = 0; i < n; i++) {
        const metric *m = metrics[i];
        char value[64], threshold[32], *msg;
        const json_t *f;

        if (m->measured)
            percent(value, sizeof(value), metric_value(m));
        else
            snprintf(value, sizeof(value), "not measured");
        percent(threshold, sizeof(threshold), m->threshold);
        printf("    <testcase classname=\"chanctl.check\" name=\"%s\">\n", m->id);
        msg = chan_xasprintf("%s %s, threshold %s%s%s", m->title, value, threshold,
                             m->note[0] ? "; " : "", m->note);
        if (!metric_passed(m)) {
            printf("      <failure type=\"below-threshold\" message=\"");
            cli_xml_puts(msg);
            printf("\">");
            json_array_foreach(m->failing, k, f)
            {
                cli_xml_puts(json_string_value(f));
                putchar('\n');
            }
            printf("</failure>\n");
        } else if (!m->measured) {
            printf("      <skipped message=\"");
            cli_xml_puts(msg);
            printf("\"/>\n");
        } else {
            printf("      <system-out>");
            cli_xml_puts(msg);
            printf("</system-out>\n");
        }
        free(msg);
        printf("    </testcase>\n");
    }
    printf("  </testsuite>\n</testsuites>\n");
}

/* ------------------------------------------------------------------ */
/* Command                                                             */
/* ------------------------------------------------------------------ */

/*
 * A rate option: a number from 0 to 1; NULL (not given) leaves *out alone.
 * Returns 0 or prints a usage error.
 */
static int parse_rate(double *out, const char *flag, const char *value)
{
    char *end;
    double v;

    if (value == NULL)
        return 0;
    errno = 0;
    v = strtod(value, &end);
    if (errno != 0 || end == value || *end != '\0' || !(v >= 0.0 && v <= 1.0))
        return cli_usage_error(CMD_NAME, "--%s: expected a number from 0 to 1, got \"%s\"", flag,
                               value);
    *out = v;
    return 0;
}

int cmd_check(int argc, char **argv)
{
    check_opts o = {CLI_FORMAT_TEXT, NULL, NULL, NULL, NULL, false, NULL, NULL};
    metric schema = {
        .id = "schema_registration_rate", .title = "schema registration rate", .unit = "channels"};
    metric consumers = {.id = "consumer_registration_completeness",
                        .title = "consumer registration completeness",
                        .unit = "consumers"};
    metric acl = {.id = "acl_coverage", .title = "ACL coverage", .unit = "principals"};
    metric floor_m = {.id = "policy_floor", .title = "policy floor", .unit = "subjects"};
    metric *const metrics[] = {&schema, &consumers, &acl, &floor_m};
    chan_compat_mode floor = CHAN_COMPAT_BACKWARD;
    const char *floor_source = "the default";
    chan_contract_load_options lopts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    cli_path_list files = CLI_PATH_LIST_INIT;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    loaded *contracts = NULL;
    cli_args args;
    const char *env_url = getenv(CLI_REGISTRY_URL_ENV);
    bool online;
    size_t i;
    int rc, error;

    schema.failing = json_array();
    consumers.failing = json_array();
    acl.failing = json_array();
    floor_m.failing = json_array();
    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT) {
        rc = args.exit;
        goto cleanup;
    }
    o.format = args.format;
    schema.threshold = 1.0;
    consumers.threshold = 1.0;
    acl.threshold = 0.95;
    floor_m.threshold = 1.0;
    if (parse_rate(&schema.threshold, "min-schema-rate", o.min_schema) != 0 ||
        parse_rate(&consumers.threshold, "min-consumer-completeness", o.min_consumer) != 0 ||
        parse_rate(&acl.threshold, "min-acl-coverage", o.min_acl) != 0) {
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    acl.required = o.require_acl;
    if (o.schema_root) {
        struct stat st;

        if (stat(o.schema_root, &st) != 0 || !S_ISDIR(st.st_mode)) {
            rc = cli_usage_error(CMD_NAME, "--schemas: %s is not a directory", o.schema_root);
            goto cleanup;
        }
    }
    if (!cli_root_option_ok(CMD_NAME, o.root)) {
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    online = (args.conn.registry && *args.conn.registry) || (env_url && *env_url);
    if (o.min_compatibility != NULL &&
        (rc = resolve_floor(&floor, &floor_source, o.min_compatibility, NULL, &err)) != 0)
        goto cleanup;
    if (online && (rc = cli_args_open_registry(&reg, &args)) != CLI_EXIT_OK)
        goto cleanup;
    if ((rc = cli_args_contract_files(&files, &args, true)) != CLI_EXIT_OK)
        goto cleanup;

    lopts.schema_root = o.schema_root;
    lopts.root = o.root;
    contracts = chan_xcalloc(files.count, sizeof(*contracts));
    for (i = 0; i < files.count; i++)
        load_file(&contracts[i], files.items[i], &lopts);

    schema.measured = consumers.measured = floor_m.measured = true;
    if (online) {
        error = check_online(&schema, &consumers, &acl, reg, contracts, files.count, &err);
        if (error == 0 && o.min_compatibility == NULL)
            error = resolve_floor(&floor, &floor_source, NULL, reg, &err);
        snprintf(floor_m.note, sizeof(floor_m.note), "floor %s, %s", chan_compat_mode_name(floor),
                 floor_source);
        if (error == 0)
            error = floor_online(&floor_m, floor, reg, contracts, files.count, &err);
        if (error < 0) {
            cli_error_print(&err);
            rc = CLI_EXIT_RUNTIME;
            goto cleanup;
        }
    } else {
        check_offline(&schema, &consumers, contracts, files.count);
        floor_offline(&floor_m, floor, floor_source, contracts, files.count);
        snprintf(acl.note, sizeof(acl.note), "not measured: offline (no registry)");
    }

    switch (o.format) {
    case CLI_FORMAT_JSON: {
        json_t *doc = json_object(), *arr = json_array();
        bool passed = true;

        for (i = 0; i < CHAN_ARRAY_SIZE(metrics); i++) {
            json_array_append_new(arr, metric_json(metrics[i]));
            passed = passed && metric_passed(metrics[i]);
        }
        json_object_set_new(doc, "mode", json_string(online ? "online" : "offline"));
        json_object_set_new(doc, "registry",
                            online ? json_string(cli_registry_url(reg)) : json_null());
        json_object_set_new(doc, "contracts", json_integer((json_int_t)files.count));
        json_object_set_new(doc, "passed", json_boolean(passed));
        json_object_set_new(doc, "metrics", arr);
        if (cli_registry_print_json(doc, &err) < 0)
            cli_error_print(&err);
        json_decref(doc);
        break;
    }
    case CLI_FORMAT_JUNIT:
        print_junit(metrics, CHAN_ARRAY_SIZE(metrics), online ? cli_registry_url(reg) : NULL);
        break;
    default:
        print_text(metrics, CHAN_ARRAY_SIZE(metrics), online ? cli_registry_url(reg) : NULL,
                   files.count);
        break;
    }
    rc = CLI_EXIT_OK;
    for (i = 0; i < CHAN_ARRAY_SIZE(metrics); i++)
        if (!metric_passed(metrics[i]))
            rc = CLI_EXIT_FAILED;

cleanup:
    for (i = 0; contracts && i < files.count; i++) {
        chan_contract_free(contracts[i].contract);
        chan_contract_free(contracts[i].parsed);
        chan_diag_list_free(contracts[i].diags);
    }
    free(contracts);
    json_decref(schema.failing);
    json_decref(consumers.failing);
    json_decref(acl.failing);
    json_decref(floor_m.failing);
    cli_path_list_dispose(&files);
    cli_registry_free(reg);
    return rc;
}
