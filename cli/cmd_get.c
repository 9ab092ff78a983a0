/*
 * cmd_get.c - `chanctl get`: show one channel, one subject version or one
 * schema of a registry.
 *
 *   chanctl get channel NAME
 *   chanctl get subject SUBJECT [--version V|latest]
 *   chanctl get schema ID
 *
 * Text output is a key/value view meant for people; --format json prints the
 * server's JSON unchanged (indented) for scripts.
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

typedef struct get_opts {
    const char *version;
} get_opts;

static const cli_opt_spec opt_specs[] = {
    {"version", 0, "V", "get subject: version number or \"latest\" (default: latest)",
     offsetof(get_opts, version)},
};

static const cli_cmd_spec spec = {
    .name = "get",
    .usage = "channel NAME [OPTION]...\n"
             "subject SUBJECT [--version V|latest] [OPTION]...\n"
             "schema ID [OPTION]...",
    .description = "Show one channel, one version of a subject or one schema of a registry.\n"
                   "--format json prints the server's JSON.",
    CLI_CMD_OPTS(opt_specs),
    .formats = CLI_FORMATS_TEXT_JSON,
    .registry = "registry to ask (default: $" CLI_REGISTRY_URL_ENV ")",
    .exit_status = "0 shown, 1 not found, 2 usage error, 3 registry unreachable or failed.",
};

/* Width of the key column of the key/value view, indentation included. */
#define KEY_WIDTH 20

/* One "key: value" line with the value of member `key` of obj. */
static void kv(const char *indent, const char *label, const json_t *obj, const char *key)
{
    char *text = cli_registry_value_text(json_object_get(obj, key));

    printf("%s%-*s %s\n", indent, KEY_WIDTH - (int)strlen(indent), label, text);
    free(text);
}

/* Print a schema string indented, re-formatting it when it is JSON. */
static void print_schema(const char *schema)
{
    json_t *doc = schema ? json_loads(schema, JSON_DECODE_ANY, NULL) : NULL;
    char *pretty = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_ENCODE_ANY) : NULL;
    const char *text = pretty ? pretty : (schema ? schema : "-");
    const char *p;

    fputs("schema:\n  ", stdout);
    for (p = text; *p; p++) {
        if (*p == '\n')
            fputs("\n  ", stdout);
        else if ((unsigned char)*p < 0x20 || *p == 0x7f)
            putchar('?');
        else
            putchar(*p);
    }
    putchar('\n');
    free(pretty);
    json_decref(doc);
}

static void print_channel(const json_t *ch)
{
    const json_t *consumers = json_object_get(ch, "consumers");
    const json_t *producers = json_object_get(ch, "producers");
    const json_t *contract = json_object_get(ch, "contract");
    const json_t *c;
    size_t i;

    kv("", "name:", ch, "name");
    if (json_is_string(json_object_get(contract, "description")))
        kv("", "description:", contract, "description");
    kv("", "revision:", ch, "revision");
    kv("", "owner_team:", ch, "owner_team");
    kv("", "maintainer:", ch, "maintainer");
    kv("", "peak_qps:", ch, "peak_qps");
    kv("", "retention_hours:", ch, "retention_hours");
    kv("", "deprecation_date:", ch, "deprecation_date");
    if (json_is_string(json_object_get(contract, "retirement_date")))
        kv("", "retirement_date:", contract, "retirement_date");
    kv("", "subject:", ch, "subject");
    kv("", "compatibility:", ch, "compatibility");
    kv("", "created_at:", ch, "created_at");
    kv("", "updated_at:", ch, "updated_at");
    printf("%-*s", KEY_WIDTH, "producers:");
    if (json_array_size(producers) == 0)
        fputs(" -", stdout);
    json_array_foreach(producers, i, c)
    {
        char *p = cli_registry_value_text(json_object_get(c, "principal"));

        printf("%s %s", i ? "," : "", p);
        free(p);
    }
    putchar('\n');
    printf("%-*s %zu\n", KEY_WIDTH, "consumers:", json_array_size(consumers));
    json_array_foreach(consumers, i, c)
    {
        char *n = cli_registry_value_text(json_object_get(c, "name"));

        printf("  - %s\n", n);
        free(n);
        kv("    ", "principal:", c, "principal");
        kv("    ", "group:", c, "group");
        kv("    ", "scenario:", c, "scenario");
        kv("    ", "sla_p99_ms:", c, "sla_p99_ms");
        kv("    ", "peak_rate_msgs:", c, "peak_rate_msgs");
        kv("    ", "degradation:", c, "degradation");
        kv("    ", "registered_at:", c, "registered_at");
        kv("    ", "renewed_at:", c, "renewed_at");
        kv("    ", "age_days:", c, "age_days");
    }
}

/* GET the document at path (already escaped) into *out. */
static int fetch(json_t **out, cli_registry *reg, const char *path, chan_error *err)
{
    int error = cli_registry_request(out, NULL, reg, "GET", path, NULL, err);

    if (error == 0 && *out == NULL)
        error = chan_error_set(err, CHAN_EINTERNAL, "registry sent an empty reply to GET %s", path);
    return error;
}

static int get_channel(cli_registry *reg, const char *name, cli_format format, chan_error *err)
{
    json_t *ch = NULL;
    int error;

    if ((error = cli_registry_get_channel(&ch, reg, name, err)) < 0)
        goto cleanup;
    if (format == CLI_FORMAT_JSON)
        error = cli_registry_print_json(ch, err);
    else
        print_channel(ch);

cleanup:
    json_decref(ch);
    return error;
}

static int get_subject(cli_registry *reg, const char *subject, const char *version,
                       cli_format format, chan_error *err)
{
    char *esc = cli_registry_escape(subject);
    char *path = chan_xasprintf("/subjects/%s/versions/%s", esc, version);
    char *versions_path = chan_xasprintf("/subjects/%s/versions", esc);
    char *mode = NULL;
    json_t *doc = NULL, *versions = NULL, *v;
    size_t i;
    int error;

    if ((error = fetch(&doc, reg, path, err)) < 0)
        goto cleanup;
    if (format == CLI_FORMAT_JSON) {
        error = cli_registry_print_json(doc, err);
        goto cleanup;
    }
    if ((error = fetch(&versions, reg, versions_path, err)) < 0)
        goto cleanup;
    if ((error = cli_registry_get_compatibility(&mode, reg, subject, err)) < 0)
        goto cleanup;
    kv("", "subject:", doc, "subject");
    kv("", "version:", doc, "version");
    kv("", "id:", doc, "id");
    printf("%-*s %s\n", KEY_WIDTH, "schema_type:",
           json_is_string(json_object_get(doc, "schemaType"))
               ? json_string_value(json_object_get(doc, "schemaType"))
               : "AVRO");
    printf("%-*s %s\n", KEY_WIDTH, "compatibility:", mode ? mode : "- (registry default)");
    printf("%-*s", KEY_WIDTH, "versions:");
    json_array_foreach(versions, i, v)
    {
        char *text = cli_registry_value_text(v);

        printf("%s %s", i ? "," : "", text);
        free(text);
    }
    putchar('\n');
    print_schema(json_string_value(json_object_get(doc, "schema")));

cleanup:
    json_decref(versions);
    json_decref(doc);
    free(mode);
    free(versions_path);
    free(path);
    free(esc);
    return error;
}

static int get_schema(cli_registry *reg, const char *id, cli_format format, chan_error *err)
{
    char *path = chan_xasprintf("/schemas/ids/%s", id);
    char *used_path = chan_xasprintf("/schemas/ids/%s/versions", id);
    json_t *doc = NULL, *used = NULL, *u;
    size_t i;
    int error;

    if ((error = fetch(&doc, reg, path, err)) < 0)
        goto cleanup;
    if (format == CLI_FORMAT_JSON) {
        error = cli_registry_print_json(doc, err);
        goto cleanup;
    }
    /* Where the schema is registered; a registry without this endpoint just shows less. */
    error = cli_registry_request(&used, NULL, reg, "GET", used_path, NULL, err);
    if (error == CHAN_ENOTFOUND) {
        chan_error_clear(err);
        error = 0;
    } else if (error < 0) {
        goto cleanup;
    }
    printf("%-*s %s\n", KEY_WIDTH, "id:", id);
    printf("%-*s %s\n", KEY_WIDTH, "schema_type:",
           json_is_string(json_object_get(doc, "schemaType"))
               ? json_string_value(json_object_get(doc, "schemaType"))
               : "AVRO");
    if (json_is_array(used)) {
        printf("%-*s", KEY_WIDTH, "registered_as:");
        if (json_array_size(used) == 0)
            fputs(" -", stdout);
        json_array_foreach(used, i, u)
        {
            char *subject = cli_registry_value_text(json_object_get(u, "subject"));
            char *version = cli_registry_value_text(json_object_get(u, "version"));

            printf("%s %s v%s", i ? "," : "", subject, version);
            free(subject);
            free(version);
        }
        putchar('\n');
    }
    print_schema(json_string_value(json_object_get(doc, "schema")));

cleanup:
    json_decref(used);
    json_decref(doc);
    free(used_path);
    free(path);
    return error;
}

int cmd_get(int argc, char **argv)
{
    get_opts o = {NULL};
    const char *version, *what, *arg;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    cli_args args;
    int64_t number;
    int rc = CLI_EXIT_OK, error;

    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    version = o.version;
    if (cli_args_count(&args) != 2)
        return cli_usage_error("get", cli_args_count(&args) < 2 ? "missing what to get and its name"
                                                                : "too many arguments");
    what = cli_args_operand(&args, 0);
    arg = cli_args_operand(&args, 1);
    if (arg[0] == '\0')
        return cli_usage_error("get", "empty name");
    if (strcmp(what, "channel") != 0 && strcmp(what, "subject") != 0 && strcmp(what, "schema") != 0)
        return cli_usage_error("get", "unknown object \"%s\" (expected channel, subject or schema)",
                               what);
    if (version && strcmp(what, "subject") != 0)
        return cli_usage_error("get", "--version applies to \"get subject\" only");
    if (version && strcmp(version, "latest") != 0 &&
        chan_parse_int64(&number, version, 1, 0x7fffffff) < 0)
        return cli_usage_error("get", "invalid --version \"%s\" (expected a number or latest)",
                               version);
    if (strcmp(what, "schema") == 0 && chan_parse_int64(&number, arg, 0, 0x7fffffff) < 0)
        return cli_usage_error("get", "invalid schema id \"%s\" (expected a number)", arg);

    if ((rc = cli_args_open_registry(&reg, &args)) != CLI_EXIT_OK)
        return rc;
    if (strcmp(what, "channel") == 0)
        error = get_channel(reg, arg, args.format, &err);
    else if (strcmp(what, "subject") == 0)
        error = get_subject(reg, arg, version ? version : "latest", args.format, &err);
    else
        error = get_schema(reg, arg, args.format, &err);
    if (error < 0) {
        cli_error_print(&err);
        rc = cli_registry_exit_code(error);
    }
    cli_registry_free(reg);
    return rc;
}
