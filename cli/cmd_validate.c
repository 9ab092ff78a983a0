/*
 * cmd_validate.c - `chanctl validate`: check contract files offline.
 *
 * Loads every contract given (files, or directories searched recursively for
 * *.yaml / *.yml; default `contracts/`), resolves and checks their Avro
 * schemas, runs the cross-file checks, and prints every diagnostic in one of
 * five formats: text (file:line:col, the source line with a caret, hints),
 * json, junit (one testcase per contract file), github (workflow
 * annotations) or gitlab (a GitLab Code Quality report).  The report is the command's result, so it
 * goes to stdout in every format; usage errors go to stderr.
 *
 * With --registry URL, each valid contract's schema versions that the registry
 * does not hold yet are also checked with the registry's compatibility
 * endpoint, under the registry's own view of the subject.
 *
 * The policy floor (--min-compatibility, default BACKWARD): a contract whose
 * compatibility does not satisfy it is invalid, unless it carries a waiver
 * (schema.waiver.reason), which is a warning: an admin must approve it.
 *
 * Exit status: 0 valid, 1 invalid (or warnings with --strict), 2 usage error,
 * 3 registry unreachable.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "chan/authz.h"
#include "chan/common.h"
#include "chan/contract.h"
#include "cli.h"
#include "contract_files.h"
#include "options.h"
#include "registry_client.h"
#include "cmds.h"

#define CMD_NAME "validate"

typedef struct validate_opts {
    cli_format format;
    bool strict;
    bool quiet;
    const char *schema_root;
    const char *min_compatibility;
} validate_opts;

static const cli_opt_spec opt_specs[] = {
    {"strict", 0, NULL, "fail on warnings too (e.g. passed deprecation)",
     offsetof(validate_opts, strict)},
    {"schemas", 0, "DIR", "schema root holding <subject>/v<N>.avsc (default: nearest schemas/)",
     offsetof(validate_opts, schema_root)},
    {"quiet", 'q', NULL, "text format: no source excerpts, no summary when valid",
     offsetof(validate_opts, quiet)},
    {"min-compatibility", 0, "LEVEL",
     "policy floor: a contract below LEVEL needs schema.waiver.reason (default: BACKWARD)",
     offsetof(validate_opts, min_compatibility)},
};

static const cli_cmd_spec spec = {
    .name = CMD_NAME,
    .usage = "[OPTION]... [PATH]...",
    .description =
        "Check channel contracts: fields, values, schema files, the compatibility of\n"
        "their version chain, and clashes between contracts.  PATH is a contract file or\n"
        "a directory searched recursively for *.yaml and *.yml (default: " CLI_DEFAULT_CONTRACT_DIR
        ").",
    CLI_CMD_OPTS(opt_specs),
    .formats = CLI_FORMATS_TEXT_JSON | (1u << CLI_FORMAT_JUNIT) | (1u << CLI_FORMAT_GITHUB) |
               (1u << CLI_FORMAT_GITLAB),
    .registry = "also check the versions not yet registered against this registry",
    .exit_status = "0 valid, 1 invalid, 2 usage error, 3 registry unreachable.",
};

/* ------------------------------------------------------------------ */
/* Output formats                                                      */
/* ------------------------------------------------------------------ */

typedef struct file_result {
    size_t errors;
    size_t warnings;
} file_result;

static size_t file_index(const cli_path_list *files, const char *file)
{
    size_t i;

    for (i = 0; file && i < files->count; i++)
        if (strcmp(files->items[i], file) == 0)
            return i;
    return files->count;
}

static bool diag_fails(const chan_diag *d, bool strict)
{
    return d->severity == CHAN_DIAG_ERROR || (strict && d->severity == CHAN_DIAG_WARNING);
}

static void print_text(const chan_diag_list *diags, const cli_path_list *files, size_t n_invalid,
                       const validate_opts *o)
{
    size_t n = chan_diag_list_count(diags);
    size_t errors = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR);
    size_t warnings = chan_diag_list_count_severity(diags, CHAN_DIAG_WARNING);

    cli_print_diags(stdout, diags, !o->quiet);
    if (o->quiet && n_invalid == 0 && warnings == 0)
        return;
    if (n > 0)
        putchar('\n');
    printf("%zu contract%s checked: %zu valid, %zu invalid; %zu error%s, %zu warning%s\n",
           files->count, files->count == 1 ? "" : "s", files->count - n_invalid, n_invalid, errors,
           errors == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s");
}

static json_t *diag_json(const chan_diag *d)
{
    json_t *o = json_object();

    json_object_set_new(o, "file", d->file ? json_string(d->file) : json_null());
    json_object_set_new(o, "line", json_integer(d->line));
    json_object_set_new(o, "column", json_integer(d->column));
    json_object_set_new(o, "severity", json_string(chan_diag_severity_name(d->severity)));
    json_object_set_new(o, "rule", d->rule ? json_string(d->rule) : json_null());
    json_object_set_new(o, "path", d->path ? json_string(d->path) : json_null());
    json_object_set_new(o, "message", json_string(d->message));
    json_object_set_new(o, "hint", d->hint ? json_string(d->hint) : json_null());
    return o;
}

static void print_json(const chan_diag_list *diags, const cli_path_list *files,
                       const file_result *results, size_t n_invalid)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    json_t *contracts = json_array();
    size_t i;
    char *text;

    for (i = 0; i < files->count; i++) {
        json_t *c = json_object();

        json_object_set_new(c, "file", json_string(files->items[i]));
        json_object_set_new(c, "valid", json_boolean(results[i].errors == 0));
        json_object_set_new(c, "errors", json_integer((json_int_t)results[i].errors));
        json_object_set_new(c, "warnings", json_integer((json_int_t)results[i].warnings));
        json_array_append_new(contracts, c);
    }
    for (i = 0; i < chan_diag_list_count(diags); i++)
        json_array_append_new(arr, diag_json(chan_diag_list_get(diags, i)));
    json_object_set_new(root, "valid", json_boolean(n_invalid == 0));
    json_object_set_new(root, "contracts", contracts);
    json_object_set_new(
        root, "errors",
        json_integer((json_int_t)chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR)));
    json_object_set_new(
        root, "warnings",
        json_integer((json_int_t)chan_diag_list_count_severity(diags, CHAN_DIAG_WARNING)));
    json_object_set_new(root, "diagnostics", arr);
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        puts(text);
    free(text);
    json_decref(root);
}

static void print_junit(const chan_diag_list *diags, const cli_path_list *files,
                        const file_result *results, const validate_opts *o)
{
    size_t i, k, failures = 0;

    for (i = 0; i < files->count; i++)
        failures += results[i].errors > 0 || (o->strict && results[i].warnings > 0);
    printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    printf("<testsuites name=\"chanctl validate\" tests=\"%zu\" failures=\"%zu\">\n", files->count,
           failures);
    printf("  <testsuite name=\"contracts\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n",
           files->count, failures);
    for (i = 0; i < files->count; i++) {
        bool failed = results[i].errors > 0 || (o->strict && results[i].warnings > 0);
        bool has_out = false;

        printf("    <testcase classname=\"chanctl.validate\" name=\"");
        cli_xml_puts(files->items[i]);
        printf("\">\n");
        if (failed) {
            printf("      <failure type=\"invalid-contract\" message=\"%zu error%s, %zu "
                   "warning%s\">",
                   results[i].errors, results[i].errors == 1 ? "" : "s", results[i].warnings,
                   results[i].warnings == 1 ? "" : "s");
        }
        for (k = 0; k < chan_diag_list_count(diags); k++) {
            const chan_diag *d = chan_diag_list_get(diags, k);
            char *line;

            if (file_index(files, d->file) != i)
                continue;
            if (!failed && !has_out) {
                printf("      <system-out>");
                has_out = true;
            }
            line = chan_xasprintf("%s:%d:%d: %s: %s [%s]%s%s\n", d->file, d->line, d->column,
                                  chan_diag_severity_name(d->severity), d->message,
                                  d->rule ? d->rule : "", d->hint ? "\nhint: " : "",
                                  d->hint ? d->hint : "");
            cli_xml_puts(line);
            free(line);
        }
        if (failed)
            printf("</failure>\n");
        else if (has_out)
            printf("</system-out>\n");
        printf("    </testcase>\n");
    }
    printf("  </testsuite>\n</testsuites>\n");
}

/* GitHub workflow command escaping: data, and property values (more strict). */
static void gh_puts(const char *s, bool property)
{
    for (; *s; s++) {
        if (*s == '%')
            fputs("%25", stdout);
        else if (*s == '\r')
            fputs("%0D", stdout);
        else if (*s == '\n')
            fputs("%0A", stdout);
        else if (property && *s == ':')
            fputs("%3A", stdout);
        else if (property && *s == ',')
            fputs("%2C", stdout);
        else
            putchar(*s);
    }
}

static void print_github(const chan_diag_list *diags, const cli_path_list *files, size_t n_invalid)
{
    size_t i;

    for (i = 0; i < chan_diag_list_count(diags); i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);

        printf("::%s ", d->severity == CHAN_DIAG_ERROR     ? "error"
                        : d->severity == CHAN_DIAG_WARNING ? "warning"
                                                           : "notice");
        printf("file=");
        gh_puts(d->file ? d->file : "", true);
        if (d->line > 0)
            printf(",line=%d,col=%d", d->line, d->column);
        if (d->rule) {
            printf(",title=");
            gh_puts(d->rule, true);
        }
        printf("::");
        gh_puts(d->message, false);
        if (d->hint) {
            gh_puts("\nhint: ", false);
            gh_puts(d->hint, false);
        }
        putchar('\n');
    }
    printf("%zu contract%s checked: %zu valid, %zu invalid\n", files->count,
           files->count == 1 ? "" : "s", files->count - n_invalid, n_invalid);
}

/*
 * GitLab Code Quality report: a JSON array of issues with description,
 * check_name, fingerprint, severity and location (path, begin line and
 * column).  The fingerprint identifies an issue across pipelines, so it
 * hashes what stays when lines move: the path, the rule, the message and
 * the issue's rank among identical ones in that file.
 */
static const char *gitlab_severity(chan_diag_severity severity)
{
    switch (severity) {
    case CHAN_DIAG_ERROR:
        return "critical";
    case CHAN_DIAG_WARNING:
        return "minor";
    default:
        return "info";
    }
}

static void print_gitlab(const chan_diag_list *diags)
{
    json_t *root = json_array();
    size_t i, k, n = chan_diag_list_count(diags);
    char *text;

    for (i = 0; i < n; i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);
        const char *file = d->file ? d->file : "";
        const char *rule = d->rule ? d->rule : "chanctl-validate";
        char fingerprint[2 * CHAN_TOKEN_DIGEST_LEN + 1];
        size_t rank = 0;
        json_t *issue, *location, *begin;
        char *key, *description;

        for (k = 0; k < i; k++) {
            const chan_diag *e = chan_diag_list_get(diags, k);

            rank += strcmp(e->file ? e->file : "", file) == 0 &&
                    strcmp(e->rule ? e->rule : "chanctl-validate", rule) == 0 &&
                    strcmp(e->message, d->message) == 0;
        }
        /* \x1f (unit separator) cannot occur in a path, rule or message. */
        key = chan_xasprintf("%s\x1f%s\x1f%s\x1f%zu", file, rule, d->message, rank);
        chan_token_digest_hex(fingerprint, key, strlen(key));
        free(key);
        description = d->hint ? chan_xasprintf("%s (hint: %s)", d->message, d->hint)
                              : chan_xstrdup(d->message);
        begin = json_object();
        json_object_set_new(begin, "line", json_integer(d->line > 0 ? d->line : 1));
        json_object_set_new(begin, "column", json_integer(d->column > 0 ? d->column : 1));
        location = json_object();
        json_object_set_new(location, "path", json_string(file));
        json_object_set_new(location, "positions", json_pack("{s:o}", "begin", begin));
        issue = json_object();
        json_object_set_new(issue, "type", json_string("issue"));
        json_object_set_new(issue, "description", json_string(description));
        json_object_set_new(issue, "check_name", json_string(rule));
        json_object_set_new(issue, "categories", json_pack("[s]", "Bug Risk"));
        json_object_set_new(issue, "fingerprint", json_string(fingerprint));
        json_object_set_new(issue, "severity", json_string(gitlab_severity(d->severity)));
        json_object_set_new(issue, "location", location);
        json_array_append_new(root, issue);
        free(description);
    }
    text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text)
        puts(text);
    free(text);
    json_decref(root);
}

/* ------------------------------------------------------------------ */
/* Command                                                             */
/* ------------------------------------------------------------------ */

int cmd_validate(int argc, char **argv)
{
    validate_opts o = {CLI_FORMAT_TEXT, false, false, NULL, "BACKWARD"};
    cli_args args;
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *reg = NULL;
    chan_contract_load_options lopts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    cli_path_list files = CLI_PATH_LIST_INIT;
    chan_contract_set *set = NULL;
    chan_diag_list *diags = NULL;
    file_result *results = NULL;
    chan_compat_mode floor;
    size_t i, n_invalid = 0, n_failing = 0;
    int rc;

    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    o.format = args.format;
    if (chan_compat_mode_parse(&floor, o.min_compatibility) != 0)
        return cli_usage_error(CMD_NAME,
                               "--min-compatibility: unknown level \"%s\" (BACKWARD, "
                               "BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, "
                               "FULL_TRANSITIVE or NONE)",
                               o.min_compatibility);
    if (o.schema_root) {
        struct stat st;

        if (stat(o.schema_root, &st) != 0 || !S_ISDIR(st.st_mode))
            return cli_usage_error(CMD_NAME, "--schemas: %s is not a directory", o.schema_root);
    }
    if (cli_args_has_conn(&args) && (rc = cli_args_open_registry(&reg, &args)) != CLI_EXIT_OK)
        goto cleanup;
    if ((rc = cli_args_contract_files(&files, &args, false)) != CLI_EXIT_OK)
        goto cleanup;

    lopts.schema_root = o.schema_root;
    set = chan_contract_set_new();
    diags = chan_diag_list_new();
    for (i = 0; i < files.count; i++)
        (void)chan_contract_set_add_file(set, files.items[i], &lopts, diags, NULL);
    (void)chan_contract_set_check(set, diags);
    for (i = 0; i < chan_contract_set_count(set); i++)
        (void)chan_contract_check_floor(chan_contract_set_get(set, i), floor, diags);
    /* Against the registry: only contracts that are valid offline. */
    for (i = 0; reg != NULL && i < chan_contract_set_count(set); i++) {
        int error =
            cli_registry_check_contract(NULL, reg, chan_contract_set_get(set, i), diags, &err);

        if (error < 0) {
            cli_error_print(&err);
            rc = cli_registry_exit_code(error);
            goto cleanup;
        }
    }
    chan_diag_list_sort(diags);

    results = chan_xcalloc(files.count + 1, sizeof(*results));
    for (i = 0; i < chan_diag_list_count(diags); i++) {
        const chan_diag *d = chan_diag_list_get(diags, i);
        size_t k = file_index(&files, d->file);

        if (d->severity == CHAN_DIAG_ERROR)
            results[k].errors++;
        else if (d->severity == CHAN_DIAG_WARNING)
            results[k].warnings++;
        if (diag_fails(d, o.strict))
            n_failing++;
    }
    for (i = 0; i < files.count; i++)
        n_invalid += results[i].errors > 0;

    switch (o.format) {
    case CLI_FORMAT_JSON:
        print_json(diags, &files, results, n_invalid);
        break;
    case CLI_FORMAT_JUNIT:
        print_junit(diags, &files, results, &o);
        break;
    case CLI_FORMAT_GITHUB:
        print_github(diags, &files, n_invalid);
        break;
    case CLI_FORMAT_GITLAB:
        print_gitlab(diags);
        break;
    default:
        print_text(diags, &files, n_invalid, &o);
        break;
    }
    rc = n_failing > 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;

cleanup:
    cli_registry_free(reg);
    free(results);
    chan_diag_list_free(diags);
    chan_contract_set_free(set);
    cli_path_list_dispose(&files);
    return rc;
}
