/*
 * cmd_list.c - `chanctl list`: list the channels, the consumers of one
 * channel, or the subjects of a registry.
 *
 *   chanctl list channels [--owner-team T] [--maintainer M] [--deprecated|--active] [--limit N]
 *   chanctl list consumers CHANNEL
 *   chanctl list subjects
 *
 * The default output is a table with aligned columns; --format json prints
 * the server's JSON (indented).  Channels and consumers are listed
 * completely: chanctl follows the registry's pages (next_cursor), --limit
 * items per request, and prints them as one list.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "cli.h"
#include "cmds.h"
#include "options.h"
#include "registry_client.h"

typedef struct list_opts {
    const char *owner_team;
    const char *maintainer;
    bool deprecated;
    bool active;
    const char *limit;
} list_opts;

static const cli_opt_spec opt_specs[] = {
    {"owner-team", 0, "TEAM", "channels owned by TEAM only", offsetof(list_opts, owner_team)},
    {"maintainer", 0, "EMAIL", "channels maintained by EMAIL only",
     offsetof(list_opts, maintainer)},
    {"deprecated", 0, NULL, "channels past their deprecation date only",
     offsetof(list_opts, deprecated)},
    {"active", 0, NULL, "channels not deprecated only", offsetof(list_opts, active)},
    {"limit", 0, "N", "items per request while following the registry's pages (1..1000)",
     offsetof(list_opts, limit)},
};

static const cli_cmd_spec spec = {
    .name = "list",
    .usage = "channels [--owner-team TEAM] [--maintainer EMAIL] [--deprecated|--active] "
             "[OPTION]...\n"
             "consumers CHANNEL [OPTION]...\n"
             "subjects [OPTION]...",
    .description = "List the channels, the consumers of one channel, or the schema subjects of a\n"
                   "registry.  --format json prints the server's JSON.",
    CLI_CMD_OPTS(opt_specs),
    .formats = (1u << CLI_FORMAT_TABLE) | (1u << CLI_FORMAT_JSON),
    .format_default = CLI_FORMAT_TABLE,
    .registry = "registry to ask (default: $" CLI_REGISTRY_URL_ENV ")",
    .exit_status = "0 listed, 1 channel not found, 2 usage error, 3 registry unreachable\n"
                   "or failed.",
};

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

/*
** GET path and check that member `key` of the reply is an array (key NULL:
** the reply itself).  A /v1 list (key not NULL) is followed page by page,
** page_size items at a time (0: the registry's default).
*/
static int fetch_array(json_t **out, const json_t **out_array, cli_registry *reg, const char *path,
                       const char *key, unsigned int page_size, chan_error *err)
{
    json_t *doc = NULL;
    const json_t *array;
    int error;

    *out = NULL;
    *out_array = NULL;
    if (key != NULL)
        error = cli_registry_list_all(&doc, reg, path, key, page_size, err);
    else
        error = cli_registry_request(&doc, NULL, reg, "GET", path, NULL, err);
    if (error < 0)
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
                         int deprecated, unsigned int page_size, cli_format format, chan_error *err)
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
    if ((error = fetch_array(&doc, &channels, reg, chan_buf_cstr(&path), "channels", page_size,
                             err)) < 0)
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

static int list_consumers(cli_registry *reg, const char *channel, unsigned int page_size,
                          cli_format format, chan_error *err)
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

    if ((error = fetch_array(&doc, &consumers, reg, path, "consumers", page_size, err)) < 0)
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

    if ((error = fetch_array(&doc, &subjects, reg, "/subjects", NULL, 0, err)) < 0)
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
    list_opts o = {NULL, NULL, false, false, NULL};
    int64_t page_size = 0;
    const char *what;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    cli_args args;
    int deprecated, n, rc = CLI_EXIT_OK, error;
    bool filters;

    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    if (o.deprecated && o.active)
        return cli_usage_error("list", "--deprecated and --active exclude each other");
    if (o.limit != NULL && chan_parse_int64(&page_size, o.limit, 1, 1000) < 0)
        return cli_usage_error("list", "--limit must be an integer from 1 to 1000");
    deprecated = o.deprecated ? 1 : o.active ? 0 : -1;
    filters = o.owner_team || o.maintainer || deprecated >= 0;
    n = cli_args_count(&args);
    if (n == 0)
        return cli_usage_error("list", "missing what to list (channels, consumers or subjects)");
    what = cli_args_operand(&args, 0);
    if (strcmp(what, "channels") == 0 || strcmp(what, "subjects") == 0) {
        if (n != 1)
            return cli_usage_error("list", "too many arguments");
    } else if (strcmp(what, "consumers") == 0) {
        if (n != 2)
            return cli_usage_error("list",
                                   n < 2 ? "missing the channel name" : "too many arguments");
        if (cli_args_operand(&args, 1)[0] == '\0')
            return cli_usage_error("list", "empty channel name");
    } else {
        return cli_usage_error(
            "list", "unknown list \"%s\" (expected channels, consumers or subjects)", what);
    }
    if (filters && strcmp(what, "channels") != 0)
        return cli_usage_error("list", "--owner-team, --maintainer, --deprecated and --active "
                                       "apply to \"list channels\" only");

    if ((rc = cli_args_open_registry(&reg, &args)) != CLI_EXIT_OK)
        return rc;
    if (strcmp(what, "channels") == 0)
        error = list_channels(reg, o.owner_team, o.maintainer, deprecated, (unsigned int)page_size,
                              args.format, &err);
    else if (strcmp(what, "consumers") == 0)
        error = list_consumers(reg, cli_args_operand(&args, 1), (unsigned int)page_size,
                               args.format, &err);
    else
        error = list_subjects(reg, args.format, &err);
    if (error < 0) {
        cli_error_print(&err);
        rc = cli_registry_exit_code(error);
    }
    cli_registry_free(reg);
    return rc;
}
