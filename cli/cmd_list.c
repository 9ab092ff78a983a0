/*
 * cmd_list.c - `chanctl list`: list the channels, the consumers of one
 * channel, or the subjects of a registry.
 *
 *   chanctl list channels [--owner-team T] [--maintainer M] [--deprecated|--active]
 *   chanctl list consumers CHANNEL
 *   chanctl list subjects
 *
 * The default output is a table with aligned columns; --format json prints
 * the server's JSON unchanged (indented).
 */
#include <getopt.h>
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
            "  %s list channels [--owner-team TEAM] [--maintainer EMAIL] "
            "[--deprecated|--active] [OPTION]...\n"
            "  %s list consumers CHANNEL [OPTION]...\n"
            "  %s list subjects [OPTION]...\n\n"
            "List the channels, the consumers of one channel, or the schema subjects of a\n"
            "registry.\n\n"
            "Options:\n"
            "  -r, --registry URL      registry to ask (default: $%s)\n"
            "      --token TOKEN       bearer token (default: $%s)\n"
            "      --timeout SECONDS   give up after SECONDS (default: 30)\n"
            "      --cacert FILE       CA certificate(s) of an https:// registry\n"
            "                          (default: $" CLI_REGISTRY_CACERT_ENV ")\n"
            "      --owner-team TEAM   channels owned by TEAM only\n"
            "      --maintainer EMAIL  channels maintained by EMAIL only\n"
            "      --deprecated        channels past their deprecation date only\n"
            "      --active            channels not deprecated only\n"
            "  -f, --format FORMAT     table (default) or json (the server's JSON)\n"
            "  -h, --help              show this help and exit\n\n"
            "Exit status: 0 listed, 1 channel not found, 2 usage error, 3 registry unreachable "
            "or failed.\n",
            cli_progname, cli_progname, cli_progname, CLI_REGISTRY_URL_ENV, CLI_REGISTRY_TOKEN_ENV);
}

/* ------------------------------------------------------------------ */
/* Aligned tables                                                       */
/* ------------------------------------------------------------------ */

/* A table of text cells; every row has n_cols cells, all owned by the table. */
typedef struct table {
    size_t n_cols;
    size_t n_rows;
    char **cells; /* n_rows * n_cols, row-major; row 0 is the header */
} table;

static void table_init(table *t, const char *const *header, size_t n_cols)
{
    size_t i;

    t->n_cols = n_cols;
    t->n_rows = 1;
    t->cells = chan_xcalloc(n_cols, sizeof(char *));
    for (i = 0; i < n_cols; i++)
        t->cells[i] = chan_xstrdup(header[i]);
}

static void table_dispose(table *t)
{
    size_t i;

    for (i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->n_rows = 0;
}

/* Append a row whose cells are members keys[] of obj; a NULL key gives "-". */
static void table_add_object(table *t, const json_t *obj, const char *const *keys)
{
    size_t i, base = t->n_rows * t->n_cols;

    t->cells = chan_xreallocarray(t->cells, (t->n_rows + 1) * t->n_cols, sizeof(char *));
    for (i = 0; i < t->n_cols; i++)
        t->cells[base + i] =
            cli_registry_value_text(keys[i] ? json_object_get(obj, keys[i]) : NULL);
    t->n_rows++;
}

static void table_add_value(table *t, const json_t *value)
{
    size_t base = t->n_rows * t->n_cols, i;

    t->cells = chan_xreallocarray(t->cells, (t->n_rows + 1) * t->n_cols, sizeof(char *));
    t->cells[base] = cli_registry_value_text(value);
    for (i = 1; i < t->n_cols; i++)
        t->cells[base + i] = chan_xstrdup("-");
    t->n_rows++;
}

/* Print with each column as wide as its widest cell, two spaces apart, no trailing blanks. */
static void table_print(const table *t)
{
    size_t *width = chan_xcalloc(t->n_cols, sizeof(size_t));
    size_t r, c;

    for (r = 0; r < t->n_rows; r++) {
        for (c = 0; c < t->n_cols; c++) {
            size_t len = strlen(t->cells[r * t->n_cols + c]);

            if (len > width[c])
                width[c] = len;
        }
    }
    for (r = 0; r < t->n_rows; r++) {
        for (c = 0; c < t->n_cols; c++) {
            const char *cell = t->cells[r * t->n_cols + c];

            if (c + 1 == t->n_cols)
                printf("%s\n", cell);
            else
                printf("%-*s  ", (int)width[c], cell);
        }
    }
    free(width);
}

/* ------------------------------------------------------------------ */
/* Listings                                                             */
/* ------------------------------------------------------------------ */

/* Append "&key=value" (or "?key=value" first) with the value escaped. */
static void add_query(chan_buf *path, bool *first, const char *key, const char *value)
{
    char *esc = cli_registry_escape(value);

    chan_buf_printf(path, "%c%s=%s", *first ? '?' : '&', key, esc);
    *first = false;
    free(esc);
}

/* GET path and check that member `key` of the reply is an array (key NULL: the reply itself). */
static int fetch_array(json_t **out, const json_t **out_array, cli_registry *reg, const char *path,
                       const char *key, chan_error *err)
{
    json_t *doc = NULL;
    const json_t *array;
    int error;

    *out = NULL;
    *out_array = NULL;
    if ((error = cli_registry_request(&doc, NULL, reg, "GET", path, NULL, err)) < 0)
        return error;
    array = key ? json_object_get(doc, key) : doc;
    if (!json_is_array(array)) {
        json_decref(doc);
        return chan_error_set(err, CHAN_EINTERNAL, "registry reply to GET %s has no %s%s%s array",
                              path, key ? "\"" : "", key ? key : "top-level", key ? "\"" : "");
    }
    *out = doc;
    *out_array = array;
    return 0;
}

static int list_channels(cli_registry *reg, const char *owner_team, const char *maintainer,
                         int deprecated, cli_format format, chan_error *err)
{
    static const char *const header[] = {"NAME",      "OWNER_TEAM",  "MAINTAINER",
                                         "SUBJECT",   "COMPAT",      "PEAK_QPS",
                                         "CONSUMERS", "DEPRECATION", "REVISION"};
    static const char *const keys[] = {"name",    "owner_team",       "maintainer",
                                       "subject", "compatibility",    "peak_qps",
                                       NULL,      "deprecation_date", "revision"};
    chan_buf path = CHAN_BUF_INIT;
    table t = {0, 0, NULL};
    json_t *doc = NULL;
    const json_t *channels, *ch;
    bool first = true;
    size_t i;
    int error;

    chan_buf_puts(&path, "/v1/channels");
    if (owner_team)
        add_query(&path, &first, "owner_team", owner_team);
    if (maintainer)
        add_query(&path, &first, "maintainer", maintainer);
    if (deprecated >= 0)
        add_query(&path, &first, "deprecated", deprecated ? "true" : "false");
    if ((error = fetch_array(&doc, &channels, reg, chan_buf_cstr(&path), "channels", err)) < 0)
        goto cleanup;
    if (format == CLI_FORMAT_JSON) {
        error = cli_registry_print_json(doc, err);
        goto cleanup;
    }
    table_init(&t, header, CHAN_ARRAY_SIZE(header));
    json_array_foreach(channels, i, ch)
    {
        size_t consumers_cell = t.n_rows * t.n_cols + 6;

        table_add_object(&t, ch, keys);
        free(t.cells[consumers_cell]);
        t.cells[consumers_cell] =
            chan_xasprintf("%zu", json_array_size(json_object_get(ch, "consumers")));
    }
    table_print(&t);

cleanup:
    table_dispose(&t);
    json_decref(doc);
    chan_buf_dispose(&path);
    return error;
}

static int list_consumers(cli_registry *reg, const char *channel, cli_format format,
                          chan_error *err)
{
    static const char *const header[] = {"NAME",       "PRINCIPAL",   "GROUP",    "SLA_P99_MS",
                                         "PEAK_RATE",  "DEGRADATION", "AGE_DAYS", "STALE",
                                         "RENEWED_AT", "SCENARIO"};
    static const char *const keys[] = {"name",           "principal",   "group",    "sla_p99_ms",
                                       "peak_rate_msgs", "degradation", "age_days", "stale",
                                       "renewed_at",     "scenario"};
    char *esc = cli_registry_escape(channel);
    char *path = chan_xasprintf("/v1/channels/%s/consumers", esc);
    table t = {0, 0, NULL};
    json_t *doc = NULL;
    const json_t *consumers, *c;
    size_t i;
    int error;

    if ((error = fetch_array(&doc, &consumers, reg, path, "consumers", err)) < 0)
        goto cleanup;
    if (format == CLI_FORMAT_JSON) {
        error = cli_registry_print_json(doc, err);
        goto cleanup;
    }
    table_init(&t, header, CHAN_ARRAY_SIZE(header));
    json_array_foreach(consumers, i, c)
    {
        table_add_object(&t, c, keys);
    }
    table_print(&t);

cleanup:
    table_dispose(&t);
    json_decref(doc);
    free(path);
    free(esc);
    return error;
}

static int list_subjects(cli_registry *reg, cli_format format, chan_error *err)
{
    static const char *const header[] = {"SUBJECT"};
    table t = {0, 0, NULL};
    json_t *doc = NULL;
    const json_t *subjects, *s;
    size_t i;
    int error;

    if ((error = fetch_array(&doc, &subjects, reg, "/subjects", NULL, err)) < 0)
        goto cleanup;
    if (format == CLI_FORMAT_JSON) {
        error = cli_registry_print_json(doc, err);
        goto cleanup;
    }
    table_init(&t, header, CHAN_ARRAY_SIZE(header));
    json_array_foreach(subjects, i, s)
    {
        table_add_value(&t, s);
    }
    table_print(&t);

cleanup:
    table_dispose(&t);
    json_decref(doc);
    return error;
}

int cmd_list(int argc, char **argv)
{
    enum {
        OPT_TOKEN = 256,
        OPT_TIMEOUT,
        OPT_CACERT,
        OPT_OWNER_TEAM,
        OPT_MAINTAINER,
        OPT_DEPRECATED,
        OPT_ACTIVE
    };
    static const struct option longopts[] = {
        {"registry", required_argument, NULL, 'r'},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"owner-team", required_argument, NULL, OPT_OWNER_TEAM},
        {"maintainer", required_argument, NULL, OPT_MAINTAINER},
        {"deprecated", no_argument, NULL, OPT_DEPRECATED},
        {"active", no_argument, NULL, OPT_ACTIVE},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *token = NULL, *timeout = NULL, *cacert = NULL, *owner_team = NULL,
               *maintainer = NULL, *what;
    cli_format format = CLI_FORMAT_TABLE;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    int deprecated = -1, c, rc = CLI_EXIT_OK, error;
    bool filters = false;

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
        case OPT_OWNER_TEAM:
            owner_team = optarg;
            filters = true;
            break;
        case OPT_MAINTAINER:
            maintainer = optarg;
            filters = true;
            break;
        case OPT_DEPRECATED:
        case OPT_ACTIVE:
            if (deprecated >= 0 && deprecated != (c == OPT_DEPRECATED))
                return cli_usage_error("list", "--deprecated and --active exclude each other");
            deprecated = c == OPT_DEPRECATED;
            filters = true;
            break;
        case 'f':
            if (cli_format_parse(&format, "list", optarg,
                                 1u << CLI_FORMAT_TABLE | 1u << CLI_FORMAT_JSON) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("list", "invalid option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("list", "missing what to list (channels, consumers or subjects)");
    what = argv[optind];
    if (strcmp(what, "channels") == 0 || strcmp(what, "subjects") == 0) {
        if (argc - optind != 1)
            return cli_usage_error("list", "too many arguments");
    } else if (strcmp(what, "consumers") == 0) {
        if (argc - optind != 2)
            return cli_usage_error("list", argc - optind < 2 ? "missing the channel name"
                                                             : "too many arguments");
        if (argv[optind + 1][0] == '\0')
            return cli_usage_error("list", "empty channel name");
    } else {
        return cli_usage_error(
            "list", "unknown list \"%s\" (expected channels, consumers or subjects)", what);
    }
    if (filters && strcmp(what, "channels") != 0)
        return cli_usage_error("list", "--owner-team, --maintainer, --deprecated and --active "
                                       "apply to \"list channels\" only");

    if ((error = cli_registry_open(&reg, url, token, timeout, cacert, &err)) < 0) {
        cli_error_print(&err);
        return error == CHAN_EINVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
    }
    if (strcmp(what, "channels") == 0)
        error = list_channels(reg, owner_team, maintainer, deprecated, format, &err);
    else if (strcmp(what, "consumers") == 0)
        error = list_consumers(reg, argv[optind + 1], format, &err);
    else
        error = list_subjects(reg, format, &err);
    if (error < 0) {
        cli_error_print(&err);
        rc = cli_registry_exit_code(error);
    }
    cli_registry_free(reg);
    return rc;
}
