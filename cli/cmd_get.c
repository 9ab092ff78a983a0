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
            "  %s get channel NAME [OPTION]...\n"
            "  %s get subject SUBJECT [--version V|latest] [OPTION]...\n"
            "  %s get schema ID [OPTION]...\n\n"
            "Show one channel, one version of a subject or one schema of a registry.\n\n"
            "Options:\n"
            "  -r, --registry URL     registry to ask (default: $%s)\n"
            "      --token TOKEN      bearer token (default: $%s)\n"
            "      --timeout SECONDS  give up after SECONDS (default: 30)\n"
            "      --cacert FILE      CA certificate(s) of an https:// registry\n"
            "                         (default: $" CLI_REGISTRY_CACERT_ENV ")\n"
            "      --version V        subject version number or \"latest\" (default: latest)\n"
            "  -f, --format FORMAT    text (default) or json (the server's JSON)\n"
            "  -h, --help             show this help and exit\n\n"
            "Exit status: 0 shown, 1 not found, 2 usage error, 3 registry unreachable or "
            "failed.\n",
            cli_progname, cli_progname, cli_progname, CLI_REGISTRY_URL_ENV, CLI_REGISTRY_TOKEN_ENV);
}

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
    enum { OPT_TOKEN = 256, OPT_TIMEOUT, OPT_CACERT, OPT_VERSION };
    static const struct option longopts[] = {
        {"registry", required_argument, NULL, 'r'},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"version", required_argument, NULL, OPT_VERSION},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *token = NULL, *timeout = NULL, *cacert = NULL, *version = NULL, *what,
               *arg;
    cli_format format = CLI_FORMAT_TEXT;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    int64_t number;
    int c, rc = CLI_EXIT_OK, error;

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
        case OPT_VERSION:
            version = optarg;
            break;
        case 'f':
            if (cli_format_parse(&format, "get", optarg,
                                 1u << CLI_FORMAT_TEXT | 1u << CLI_FORMAT_JSON) < 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return CLI_EXIT_OK;
        default:
            return cli_usage_error("get", "invalid option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("get", argc - optind < 2 ? "missing what to get and its name"
                                                        : "too many arguments");
    what = argv[optind];
    arg = argv[optind + 1];
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

    if ((error = cli_registry_open(&reg, url, token, timeout, cacert, &err)) < 0) {
        cli_error_print(&err);
        return error == CHAN_EINVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
    }
    if (strcmp(what, "channel") == 0)
        error = get_channel(reg, arg, format, &err);
    else if (strcmp(what, "subject") == 0)
        error = get_subject(reg, arg, version ? version : "latest", format, &err);
    else
        error = get_schema(reg, arg, format, &err);
    if (error < 0) {
        cli_error_print(&err);
        rc = cli_registry_exit_code(error);
    }
    cli_registry_free(reg);
    return rc;
}
