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
 *   ACL coverage               principals with desired Kafka ACLs (the
 *                              daemon's GET /v1/acl/plan) none of which is
 *                              still to be created, with the actual state
 *                              known / all those principals.  "Not measured"
 *                              when the registry has no Kafka (404 or 503).
 *
 * Without a registry (no --registry, no CHANREG_URL) the check runs offline
 * on the contracts alone: a channel counts when its version chain loads and
 * validates, a consumer when its mandatory fields are valid, and ACL coverage
 * is not measured.
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
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "cli.h"
#include "cmds.h"
#include "contract_files.h"
#include "registry_client.h"

#define CMD_NAME "check"

enum {
    OPT_FORMAT = 'f',
    OPT_HELP = 'h',
    OPT_REGISTRY = 'r',
    OPT_TOKEN = 256,
    OPT_TIMEOUT,
    OPT_CACERT,
    OPT_SCHEMAS,
    OPT_MIN_SCHEMA,
    OPT_MIN_CONSUMER,
    OPT_MIN_ACL,
    OPT_REQUIRE_ACL,
};

static const cli_opt_spec opt_specs[] = {
    {"registry", required_argument, OPT_REGISTRY, "URL",
     "registry to check against (default: $" CLI_REGISTRY_URL_ENV "; none: offline)"},
    {"token", required_argument, OPT_TOKEN, "TOKEN",
     "bearer token (default: $" CLI_REGISTRY_TOKEN_ENV ")"},
    {"timeout", required_argument, OPT_TIMEOUT, "SECONDS",
     "give up on a registry request after SECONDS (default: 30)"},
    {"cacert", required_argument, OPT_CACERT, "FILE",
     "CA certificate(s) of an https:// registry (default: $" CLI_REGISTRY_CACERT_ENV ")"},
    {"schemas", required_argument, OPT_SCHEMAS, "DIR",
     "schema root holding <subject>/v<N>.avsc (default: nearest schemas/)"},
    {"min-schema-rate", required_argument, OPT_MIN_SCHEMA, "RATE",
     "lowest schema registration rate, 0..1 (default: 1.0)"},
    {"min-consumer-completeness", required_argument, OPT_MIN_CONSUMER, "RATE",
     "lowest consumer registration completeness, 0..1 (default: 1.0)"},
    {"min-acl-coverage", required_argument, OPT_MIN_ACL, "RATE",
     "lowest ACL coverage, 0..1 (default: 0.95)"},
    {"require-acl-coverage", no_argument, OPT_REQUIRE_ACL, NULL,
     "fail when ACL coverage cannot be measured"},
    {"format", required_argument, OPT_FORMAT, "FORMAT",
     "output format: text (default), json, junit"},
    {"help", no_argument, OPT_HELP, NULL, "show this help and exit"},
};

typedef struct check_opts {
    cli_format format;
    const char *registry;
    const char *token;
    const char *timeout;
    const char *cacert;
    const char *schema_root;
    double min_schema;
    double min_consumer;
    double min_acl;
    bool require_acl;
} check_opts;

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

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: %s " CMD_NAME " [OPTION]... [PATH]...\n\n"
            "Measure the health of the contracts against a registry: the share of channels\n"
            "whose schema versions are registered, of declared consumers registered with\n"
            "the same fields, and of principals whose Kafka ACLs are in place.  Without a\n"
            "registry, measure what the contracts alone tell (offline).  PATH is a\n"
            "contract file or a directory searched for *.yaml and *.yml (default:\n"
            "%s).\n\n"
            "Options:\n",
            cli_progname, CLI_DEFAULT_CONTRACT_DIR);
    cli_opt_usage(out, opt_specs, CHAN_ARRAY_SIZE(opt_specs), 34);
    fprintf(out, "\nExit status: 0 every rate reaches its threshold, 1 a rate is below its\n"
                 "threshold, 2 usage error, 3 registry unreachable.\n");
}

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
    if (chan_file_read(&text, &len, path, CHAN_CONTRACT_MAX_SIZE, NULL) < 0)
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

/* The registered consumer called name in a GET /v1/channels/{name} reply, or NULL. */
static const json_t *find_registered(const json_t *channel, const char *name)
{
    const json_t *c;
    size_t i;

    json_array_foreach(json_object_get(channel, "consumers"), i, c)
    {
        if (json_is_string(json_object_get(c, "name")) &&
            strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
            return c;
    }
    return NULL;
}

static bool same_string(const json_t *o, const char *key, const char *want)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s != NULL && strcmp(s, want) == 0;
}

static bool same_number(const json_t *o, const char *key, int64_t want)
{
    const json_t *v = json_object_get(o, key);

    return json_is_number(v) && json_number_value(v) == (double)want;
}

/* The mandatory fields of a declared consumer that differ from the registered one. */
static void consumer_diff(chan_buf *out, const chan_contract_consumer *k, const json_t *c)
{
    if (!same_string(c, "principal", k->principal))
        chan_buf_printf(out, "%sprincipal", out->len ? ", " : "");
    if (!same_string(c, "group", k->group))
        chan_buf_printf(out, "%sgroup", out->len ? ", " : "");
    if (!same_string(c, "scenario", k->scenario))
        chan_buf_printf(out, "%sscenario", out->len ? ", " : "");
    if (!same_number(c, "sla_p99_ms", k->sla_p99_ms))
        chan_buf_printf(out, "%ssla_p99_ms", out->len ? ", " : "");
    if (!same_number(c, "peak_rate_msgs", k->peak_rate_msgs))
        chan_buf_printf(out, "%speak_rate_msgs", out->len ? ", " : "");
    if (!same_string(c, "degradation", chan_degradation_name(k->degradation)))
        chan_buf_printf(out, "%sdegradation", out->len ? ", " : "");
}

/* Count the declared consumers of contract in m.  Returns 0 or a request error. */
static int check_consumers(metric *m, cli_registry *reg, const chan_contract *contract,
                           chan_error *err)
{
    const char *name = chan_contract_name(contract);
    size_t i, n = chan_contract_consumer_count(contract);
    json_t *channel = NULL;
    int error;

    if (n == 0)
        return 0;
    error = cli_registry_get_channel(&channel, reg, name, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        error = 0;
    } else if (error < 0) {
        return error;
    }
    for (i = 0; i < n; i++) {
        const chan_contract_consumer *k = chan_contract_consumer_at(contract, i);
        const json_t *c = channel ? find_registered(channel, k->name) : NULL;
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
    json_decref(channel);
    return 0;
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
    return check_acls(acl, reg, err);
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

/* A rate flag: a number from 0 to 1.  Returns 0 or prints a usage error. */
static int parse_rate(double *out, const char *flag, const char *value)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(value, &end);
    if (errno != 0 || end == value || *end != '\0' || !(v >= 0.0 && v <= 1.0))
        return cli_usage_error(CMD_NAME, "--%s: expected a number from 0 to 1, got \"%s\"", flag,
                               value);
    *out = v;
    return 0;
}

static int parse_args(check_opts *o, int *out_first, int argc, char **argv)
{
    struct option longopts[CHAN_ARRAY_SIZE(opt_specs) + 1];
    char shortopts[2 * CHAN_ARRAY_SIZE(opt_specs) + 2];
    int c;

    cli_opt_build(longopts, shortopts, opt_specs, CHAN_ARRAY_SIZE(opt_specs));

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        switch (c) {
        case OPT_FORMAT:
            if (cli_format_parse(&o->format, CMD_NAME, optarg,
                                 (1u << CLI_FORMAT_TEXT) | (1u << CLI_FORMAT_JSON) |
                                     (1u << CLI_FORMAT_JUNIT)) < 0)
                return CLI_EXIT_USAGE;
            break;
        case OPT_REGISTRY:
            o->registry = optarg;
            break;
        case OPT_TOKEN:
            o->token = optarg;
            break;
        case OPT_TIMEOUT:
            o->timeout = optarg;
            break;
        case OPT_CACERT:
            o->cacert = optarg;
            break;
        case OPT_SCHEMAS:
            o->schema_root = optarg;
            break;
        case OPT_MIN_SCHEMA:
            if (parse_rate(&o->min_schema, "min-schema-rate", optarg) != 0)
                return CLI_EXIT_USAGE;
            break;
        case OPT_MIN_CONSUMER:
            if (parse_rate(&o->min_consumer, "min-consumer-completeness", optarg) != 0)
                return CLI_EXIT_USAGE;
            break;
        case OPT_MIN_ACL:
            if (parse_rate(&o->min_acl, "min-acl-coverage", optarg) != 0)
                return CLI_EXIT_USAGE;
            break;
        case OPT_REQUIRE_ACL:
            o->require_acl = true;
            break;
        case OPT_HELP:
            usage(stdout);
            return -1;
        case ':':
            return cli_usage_error(CMD_NAME, "option %s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error(CMD_NAME, "unknown option %s", argv[optind - 1]);
        }
    }
    *out_first = optind;
    return 0;
}

int cmd_check(int argc, char **argv)
{
    check_opts o = {CLI_FORMAT_TEXT, NULL, NULL, NULL, NULL, NULL, 1.0, 1.0, 0.95, false};
    metric schema = {
        .id = "schema_registration_rate", .title = "schema registration rate", .unit = "channels"};
    metric consumers = {.id = "consumer_registration_completeness",
                        .title = "consumer registration completeness",
                        .unit = "consumers"};
    metric acl = {.id = "acl_coverage", .title = "ACL coverage", .unit = "principals"};
    metric *const metrics[] = {&schema, &consumers, &acl};
    chan_contract_load_options lopts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    cli_path_list files = CLI_PATH_LIST_INIT;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    loaded *contracts = NULL;
    const char *env_url = getenv(CLI_REGISTRY_URL_ENV);
    bool online;
    size_t i;
    int first = 0, rc, error;

    schema.failing = json_array();
    consumers.failing = json_array();
    acl.failing = json_array();
    rc = parse_args(&o, &first, argc, argv);
    if (rc < 0) {
        rc = CLI_EXIT_OK; /* --help */
        goto cleanup;
    }
    if (rc != 0)
        goto cleanup;
    schema.threshold = o.min_schema;
    consumers.threshold = o.min_consumer;
    acl.threshold = o.min_acl;
    acl.required = o.require_acl;
    if (o.schema_root) {
        struct stat st;

        if (stat(o.schema_root, &st) != 0 || !S_ISDIR(st.st_mode)) {
            rc = cli_usage_error(CMD_NAME, "--schemas: %s is not a directory", o.schema_root);
            goto cleanup;
        }
    }
    online = (o.registry && *o.registry) || (env_url && *env_url);
    if (online && cli_registry_open(&reg, o.registry, o.token, o.timeout, o.cacert, &err) < 0) {
        cli_error_print(&err);
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    if (cli_collect_contract_files(&files, argv + first, argc - first, &err) < 0) {
        cli_error_print(&err);
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    if (files.count == 0) {
        cli_error("no contract files (*.yaml, *.yml) found");
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }

    lopts.schema_root = o.schema_root;
    contracts = chan_xcalloc(files.count, sizeof(*contracts));
    for (i = 0; i < files.count; i++)
        load_file(&contracts[i], files.items[i], &lopts);

    schema.measured = consumers.measured = true;
    if (online) {
        error = check_online(&schema, &consumers, &acl, reg, contracts, files.count, &err);
        if (error < 0) {
            cli_error_print(&err);
            rc = CLI_EXIT_RUNTIME;
            goto cleanup;
        }
    } else {
        check_offline(&schema, &consumers, contracts, files.count);
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
    cli_path_list_dispose(&files);
    cli_registry_free(reg);
    return rc;
}
