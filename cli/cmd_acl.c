/*
 * cmd_acl.c - `chanctl acl`: Kafka admission through a registry.
 *
 *   chanctl acl plan               the ACL changes the registry would make now
 *   chanctl acl apply              make them now (daemon in --acl-mode apply, leader)
 *   chanctl acl status             the reconciler's last pass
 *   chanctl acl check PRINCIPAL    which channels a principal may read and write, and why
 *
 * Everything is computed by the daemon (GET /v1/acl/plan, POST
 * /v1/acl/apply, GET /v1/acl/status, GET /v1/admission/{principal}); this
 * command prints the answers as text, or the server's JSON with
 * --format json.
 *
 * Exit status of plan: 0 no changes, 1 changes, 3 registry or broker
 * unreachable (a plan made without reading the broker is incomplete).
 * apply: 0 applied, 1 refused (not in apply mode, not the leader), 3 failed.
 * check: 0 the principal has some access, 1 none.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "cli.h"
#include "cmds.h"
#include "registry_client.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  %s acl plan [OPTION]...\n"
            "  %s acl apply [OPTION]...\n"
            "  %s acl status [OPTION]...\n"
            "  %s acl check PRINCIPAL [--as-of DATE] [OPTION]...\n\n"
            "Kafka admission through a registry: the ACL plan the registry computes from\n"
            "the registered consumers and producers against the broker's ACLs, applying\n"
            "it now, the reconciler's status, and what one principal may read and write.\n\n"
            "Options:\n"
            "  -r, --registry URL      registry to ask (default: $%s)\n"
            "      --token TOKEN       bearer token (default: $%s)\n"
            "      --timeout SECONDS   give up after SECONDS (default: 30)\n"
            "      --cacert FILE       CA certificate(s) of an https:// registry\n"
            "                          (default: $" CLI_REGISTRY_CACERT_ENV ")\n"
            "      --as-of DATE        check: judge retirement on DATE (YYYY-MM-DD)\n"
            "  -f, --format FORMAT     text (default) or json (the server's JSON)\n"
            "  -h, --help              show this help and exit\n\n"
            "Exit status: plan: 0 no changes, 1 changes, 3 registry or broker unreachable;\n"
            "apply: 0 applied, 1 refused, 3 failed; check: 0 some access, 1 none;\n"
            "2 usage error.\n",
            cli_progname, cli_progname, cli_progname, cli_progname, CLI_REGISTRY_URL_ENV,
            CLI_REGISTRY_TOKEN_ENV);
}

/* A string member for text output, control characters replaced ("-" when missing). */
static char *member_text(const json_t *obj, const char *key)
{
    return cli_registry_value_text(json_object_get(obj, key));
}

static size_t member_size(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_integer(v) && json_integer_value(v) > 0 ? (size_t)json_integer_value(v) : 0;
}

/* "ALLOW User:billing READ TOPIC orders.created" (+ pattern/host when not LITERAL / "*"). */
static char *binding_text(const json_t *b)
{
    static const char *const keys[] = {"permission", "principal", "operation", "resource_type",
                                       "resource_name"};
    chan_buf buf = CHAN_BUF_INIT;
    const char *pattern = json_string_value(json_object_get(b, "pattern_type"));
    const char *host = json_string_value(json_object_get(b, "host"));
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(keys); i++) {
        char *t = member_text(b, keys[i]);

        chan_buf_printf(&buf, "%s%s", i ? " " : "", t);
        free(t);
    }
    if (pattern && strcmp(pattern, "LITERAL") != 0) {
        char *t = member_text(b, "pattern_type");

        chan_buf_printf(&buf, " pattern=%s", t);
        free(t);
    }
    if (host && strcmp(host, "*") != 0) {
        char *t = member_text(b, "host");

        chan_buf_printf(&buf, " host=%s", t);
        free(t);
    }
    return chan_buf_take(&buf);
}

/* ------------------------------------------------------------------ */
/* plan                                                                 */
/* ------------------------------------------------------------------ */

static int acl_plan(cli_registry *reg, cli_format format)
{
    chan_error err = CHAN_ERROR_INIT;
    json_t *doc = NULL;
    const char *state, *text;
    bool known, changes;
    int error, rc;

    if ((error = cli_registry_request(&doc, NULL, reg, "GET", "/v1/acl/plan", NULL, &err)) < 0) {
        cli_error_print(&err);
        return CLI_EXIT_RUNTIME;
    }
    state = json_string_value(json_object_get(doc, "actual_state"));
    if (!json_is_object(doc) || state == NULL || !json_is_object(json_object_get(doc, "summary"))) {
        cli_error("the registry's reply to GET /v1/acl/plan is not a plan");
        json_decref(doc);
        return CLI_EXIT_RUNTIME;
    }
    known = strcmp(state, "known") == 0;
    changes = member_size(json_object_get(doc, "summary"), "create") > 0 ||
              member_size(json_object_get(doc, "summary"), "delete") > 0;
    if (format == CLI_FORMAT_JSON) {
        if (cli_registry_print_json(doc, &err) < 0) {
            cli_error_print(&err);
            json_decref(doc);
            return CLI_EXIT_RUNTIME;
        }
    } else {
        text = json_string_value(json_object_get(doc, "text"));
        fputs(text ? text : "", stdout);
    }
    if (!known) {
        char *why = member_text(doc, "error");

        cli_error("cannot read the broker's ACLs: the plan is incomplete (deletes unknown)");
        cli_detail("%s", why);
        free(why);
        rc = CLI_EXIT_RUNTIME;
    } else {
        rc = changes ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    }
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------------ */
/* apply                                                                */
/* ------------------------------------------------------------------ */

static void print_report(const json_t *doc)
{
    const json_t *results = json_object_get(doc, "results"), *res;
    size_t i;

    json_array_foreach(results, i, res)
    {
        char *action = member_text(res, "action");
        char *status = member_text(res, "status");
        char *binding = binding_text(json_object_get(res, "binding"));
        const json_t *message = json_object_get(res, "message");

        printf("%-6s %-9s %s", action, status, binding);
        if (json_is_string(message)) {
            char *m = cli_registry_value_text(message);

            printf(" (%s)", m);
            free(m);
        }
        putchar('\n');
        free(action);
        free(status);
        free(binding);
    }
    printf("apply: %zu created, %zu deleted, %zu failed, %zu skipped\n",
           member_size(doc, "created"), member_size(doc, "deleted"), member_size(doc, "failed"),
           member_size(doc, "skipped"));
}

static int acl_apply(cli_registry *reg, cli_format format)
{
    chan_error err = CHAN_ERROR_INIT;
    const json_t *failed_doc;
    json_t *doc = NULL;
    int error;

    error = cli_registry_request(&doc, NULL, reg, "POST", "/v1/acl/apply", NULL, &err);
    if (error < 0) {
        failed_doc = cli_registry_last_error(reg);
        /* A pass that ran and failed still has its report. */
        if (json_is_array(json_object_get(failed_doc, "results"))) {
            if (format == CLI_FORMAT_JSON)
                (void)cli_registry_print_json(failed_doc, NULL);
            else
                print_report(failed_doc);
        }
        cli_error_print(&err);
        return error == CHAN_ECONFLICT ? CLI_EXIT_FAILED : CLI_EXIT_RUNTIME;
    }
    if (format == CLI_FORMAT_JSON)
        error = cli_registry_print_json(doc, &err);
    else
        print_report(doc);
    json_decref(doc);
    if (error < 0) {
        cli_error_print(&err);
        return CLI_EXIT_RUNTIME;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* status                                                               */
/* ------------------------------------------------------------------ */

static int acl_status(cli_registry *reg, cli_format format)
{
    static const char *const keys[] = {"kafka_configured", "mode",       "running",
                                       "leader",           "interval_s", "consecutive_failures",
                                       "backoff_ms",       "passes",     "failures"};
    static const char *const pass_keys[] = {
        "started_at", "trigger", "ok",      "error",   "actual_state", "channels", "desired",
        "create",     "delete",  "created", "deleted", "failed",       "skipped"};
    chan_error err = CHAN_ERROR_INIT;
    json_t *doc = NULL;
    const json_t *last;
    size_t i;
    int error;

    if ((error = cli_registry_request(&doc, NULL, reg, "GET", "/v1/acl/status", NULL, &err)) < 0) {
        cli_error_print(&err);
        return CLI_EXIT_RUNTIME;
    }
    if (format == CLI_FORMAT_JSON) {
        error = cli_registry_print_json(doc, &err);
    } else {
        for (i = 0; i < CHAN_ARRAY_SIZE(keys); i++) {
            char *t = member_text(doc, keys[i]);

            printf("%-22s %s\n", keys[i], t);
            free(t);
        }
        last = json_object_get(doc, "last_pass");
        for (i = 0; json_is_object(last) && i < CHAN_ARRAY_SIZE(pass_keys); i++) {
            char *t = member_text(last, pass_keys[i]);

            printf("last_pass.%-12s %s\n", pass_keys[i], t);
            free(t);
        }
    }
    json_decref(doc);
    if (error < 0) {
        cli_error_print(&err);
        return CLI_EXIT_RUNTIME;
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* check                                                                */
/* ------------------------------------------------------------------ */

static void print_entries(const json_t *doc, const char *key)
{
    const json_t *list = json_object_get(doc, key), *e;
    size_t i;

    json_array_foreach(list, i, e)
    {
        char *channel = member_text(e, "channel");
        char *reason = member_text(e, "reason");

        printf("%-6s %s: %s\n", key, channel, reason);
        free(channel);
        free(reason);
    }
}

static int acl_check(cli_registry *reg, const char *principal, const char *as_of, cli_format format)
{
    chan_error err = CHAN_ERROR_INIT;
    char *esc = cli_registry_escape(principal), *path, *date = NULL;
    json_t *doc = NULL;
    int error, rc = CLI_EXIT_RUNTIME;

    if (as_of) {
        date = cli_registry_escape(as_of);
        path = chan_xasprintf("/v1/admission/%s?as_of=%s", esc, date);
    } else {
        path = chan_xasprintf("/v1/admission/%s", esc);
    }
    if ((error = cli_registry_request(&doc, NULL, reg, "GET", path, NULL, &err)) < 0) {
        cli_error_print(&err);
        rc = error == CHAN_EINVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
        goto cleanup;
    }
    if (!json_is_array(json_object_get(doc, "read")) ||
        !json_is_array(json_object_get(doc, "write"))) {
        cli_error("the registry's reply to GET %s is not an admission answer", path);
        goto cleanup;
    }
    if (format == CLI_FORMAT_JSON) {
        if (cli_registry_print_json(doc, &err) < 0) {
            cli_error_print(&err);
            goto cleanup;
        }
    } else {
        char *message = member_text(doc, "message");

        print_entries(doc, "read");
        print_entries(doc, "write");
        print_entries(doc, "denied");
        printf("%s\n", message);
        free(message);
    }
    rc = json_array_size(json_object_get(doc, "read")) +
                     json_array_size(json_object_get(doc, "write")) >
                 0
             ? CLI_EXIT_OK
             : CLI_EXIT_FAILED;

cleanup:
    json_decref(doc);
    free(path);
    free(date);
    free(esc);
    return rc;
}

int cmd_acl(int argc, char **argv)
{
    enum { OPT_TOKEN = 256, OPT_TIMEOUT, OPT_CACERT, OPT_AS_OF };
    static const struct option longopts[] = {
        {"registry", required_argument, NULL, 'r'},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"as-of", required_argument, NULL, OPT_AS_OF},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *token = NULL, *timeout = NULL, *cacert = NULL, *as_of = NULL, *what;
    cli_format format = CLI_FORMAT_TEXT;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    int c, rc, nargs;

    optind = 1;
    while ((c = getopt_long(argc, argv, "r:f:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            url = optarg;
            break;
        case OPT_TOKEN:
            token = optarg;
            break;
        case OPT_TIMEOUT:
            timeout = optarg;
            break;
        case OPT_CACERT:
            cacert = optarg;
            break;
        case OPT_AS_OF:
            as_of = optarg;
            break;
        case 'f':
            if (cli_format_parse(&format, "acl", optarg,
                                 1u << CLI_FORMAT_TEXT | 1u << CLI_FORMAT_JSON) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("acl", "invalid option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("acl", "missing what to do (plan, apply, status or check)");
    what = argv[optind];
    nargs = argc - optind - 1;
    if (strcmp(what, "check") == 0) {
        if (nargs != 1)
            return cli_usage_error("acl", nargs < 1 ? "missing the principal (e.g. User:billing)"
                                                    : "too many arguments");
        if (argv[optind + 1][0] == '\0' || strchr(argv[optind + 1], ':') == NULL)
            return cli_usage_error("acl",
                                   "\"%s\" is not a principal: expected Type:name, e.g. "
                                   "User:billing",
                                   argv[optind + 1]);
    } else if (strcmp(what, "plan") == 0 || strcmp(what, "apply") == 0 ||
               strcmp(what, "status") == 0) {
        if (nargs != 0)
            return cli_usage_error("acl", "too many arguments");
        if (as_of)
            return cli_usage_error("acl", "--as-of applies to \"acl check\" only");
    } else {
        return cli_usage_error(
            "acl", "unknown action \"%s\" (expected plan, apply, status or check)", what);
    }

    if (cli_registry_open(&reg, url, token, timeout, cacert, &err) < 0) {
        cli_error_print(&err);
        return err.code == CHAN_EINVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
    }
    if (strcmp(what, "plan") == 0)
        rc = acl_plan(reg, format);
    else if (strcmp(what, "apply") == 0)
        rc = acl_apply(reg, format);
    else if (strcmp(what, "status") == 0)
        rc = acl_status(reg, format);
    else
        rc = acl_check(reg, argv[optind + 1], as_of, format);
    cli_registry_free(reg);
    return rc;
}
