/*
 * cmd_compat.c - `chanctl compat`: check an Avro schema against earlier
 * versions under a Confluent compatibility mode, offline, with Avro/Confluent
 * semantics (NONE checks nothing).  --require-deprecation adds the project's
 * field-removal rule against the previous version when
 * chan_policy_removal_rule_applies says so (never under NONE).
 *
 *   chanctl compat [--require-deprecation] --mode MODE NEW.avsc OLD.avsc [OLDER.avsc ...]
 *
 * Exit status: 0 compatible, 1 incompatible, 2 invalid schema or usage.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "chan/contract.h"
#include "chan/policy.h"
#include "cli.h"
#include "cmds.h"
#include "options.h"

/** Largest schema file accepted. */
#define COMPAT_MAX_SCHEMA_SIZE (16u * 1024u * 1024u)

typedef struct compat_opts {
    const char *mode;
    bool require_deprecation;
    bool no_removal_rule;
} compat_opts;

static const cli_opt_spec opt_specs[] = {
    {"mode", 'm', "MODE",
     "BACKWARD (default), BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, "
     "FULL_TRANSITIVE or NONE",
     offsetof(compat_opts, mode)},
    {"require-deprecation", 0, NULL,
     "also require removed fields to have been deprecated with a default in OLD.avsc "
     "(the contract rule; never under NONE)",
     offsetof(compat_opts, require_deprecation)},
    {"no-removal-rule", 0, NULL, "do not apply the removal rule (the default)",
     offsetof(compat_opts, no_removal_rule)},
};

static const cli_cmd_spec spec = {
    .name = "compat",
    .usage = "[OPTION]... NEW.avsc OLD.avsc [OLDER.avsc]...",
    .description = "Check that a new Avro schema may replace the earlier versions under a\n"
                   "compatibility mode.  Earlier versions are given most recent first;\n"
                   "non-transitive modes use OLD.avsc only.",
    CLI_CMD_OPTS(opt_specs),
    .formats = CLI_FORMATS_TEXT_JSON,
    .exit_status = "0 compatible, 1 incompatible, 2 invalid schema or usage error.",
};

/* One issue with the file it was found against and the rule that found it. */
typedef struct found {
    const chan_compat_issue *issue;
    const char *against; /* file of the earlier version */
    const char *rule;    /* "compatibility" or "removal" */
} found;

static void print_text(const char *new_file, chan_compat_mode mode, const found *issues, size_t n,
                       size_t n_checked)
{
    size_t i;

    if (n == 0) {
        printf("compatible: %s under %s (%zu earlier version%s checked)\n", new_file,
               chan_compat_mode_name(mode), n_checked, n_checked == 1 ? "" : "s");
        return;
    }
    printf("incompatible: %s under %s: %zu issue%s\n", new_file, chan_compat_mode_name(mode), n,
           n == 1 ? "" : "s");
    for (i = 0; i < n; i++) {
        const chan_compat_issue *is = issues[i].issue;

        if (strcmp(issues[i].rule, "removal") == 0)
            printf("  %s, removal rule: %s: %s\n", issues[i].against, is->kind, is->message);
        else
            printf("  %s, %s reads %s: %s: %s\n", issues[i].against,
                   is->reader_is_new ? "new" : "old", is->reader_is_new ? "old" : "new", is->kind,
                   is->message);
    }
}

static int print_json(const char *new_file, chan_compat_mode mode, const found *issues, size_t n,
                      char **files, size_t n_checked)
{
    json_t *root = json_object(), *arr = json_array(), *checked = json_array();
    size_t i;
    int rc;

    for (i = 0; i < n_checked; i++)
        json_array_append_new(checked, json_string(files[i]));
    for (i = 0; i < n; i++) {
        const chan_compat_issue *is = issues[i].issue;
        bool removal = strcmp(issues[i].rule, "removal") == 0;

        json_array_append_new(arr,
                              json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", is->kind, "rule",
                                        issues[i].rule, "against", issues[i].against, "reader",
                                        removal ? "old" : (is->reader_is_new ? "new" : "old"),
                                        "location", is->location, "message", is->message));
    }
    json_object_set_new(root, "compatible", json_boolean(n == 0));
    json_object_set_new(root, "mode", json_string(chan_compat_mode_name(mode)));
    json_object_set_new(root, "schema", json_string(new_file));
    json_object_set_new(root, "checked", checked);
    json_object_set_new(root, "issues", arr);
    rc = json_dumpf(root, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(root);
    return rc;
}

/* Read and parse one file; prints "file: message" on failure. */
static int load(chan_avro_schema **out, const char *file)
{
    chan_error err = CHAN_ERROR_INIT;
    char *text = NULL;
    size_t len = 0;
    int error;

    *out = NULL;
    /* Named on the command line: anywhere, but a regular file, and never quoted. */
    if ((error = chan_contract_file_read(&text, &len, NULL, file, COMPAT_MAX_SCHEMA_SIZE, &err)) <
        0) {
        cli_error("%s", err.message);
        goto cleanup;
    }
    if ((error = chan_contract_schema_parse(out, text, len, &err)) < 0) {
        cli_error("%s: %s", file, err.message);
        if (err.hint[0])
            cli_hint("%s", err.hint);
    }
cleanup:
    free(text);
    return error;
}

int cmd_compat(int argc, char **argv)
{
    chan_compat_mode mode = CHAN_COMPAT_BACKWARD;
    bool removal_rule = false;
    chan_avro_schema **schemas = NULL;
    chan_compat_report *report = NULL, *removals = NULL;
    found *issues = NULL;
    size_t n_files = 0, n_issues = 0, n_checked, i;
    bool invalid = false;
    compat_opts o = {NULL, false, false};
    cli_args args;
    int rc = CLI_EXIT_OK, first;

    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    if (o.mode && chan_compat_mode_parse(&mode, o.mode) < 0)
        return cli_usage_error("compat", "unknown compatibility mode \"%s\"", o.mode);
    if (o.require_deprecation && o.no_removal_rule)
        return cli_usage_error("compat",
                               "--require-deprecation and --no-removal-rule contradict each other");
    removal_rule =
        chan_policy_removal_rule_applies(CHAN_REMOVAL_UNBOUND, mode, o.require_deprecation);
    first = args.first;
    n_files = (size_t)cli_args_count(&args);
    if (n_files < 2)
        return cli_usage_error("compat", "need the new schema and at least one earlier version");

    schemas = chan_xcalloc(n_files, sizeof(*schemas));
    for (i = 0; i < n_files; i++)
        if (load(&schemas[i], argv[first + (int)i]) < 0)
            invalid = true;
    if (invalid) {
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }

    report = chan_compat_report_new();
    removals = chan_compat_report_new();
    chan_avro_check_mode(mode, schemas[0], (const chan_avro_schema *const *)schemas + 1,
                         n_files - 1, report);
    if (removal_rule)
        chan_avro_check_removals(schemas[0], schemas[1], removals);

    issues = chan_xcalloc(chan_compat_report_count(report) + chan_compat_report_count(removals) + 1,
                          sizeof(*issues));
    for (i = 0; i < chan_compat_report_count(report); i++) {
        const chan_compat_issue *is = chan_compat_report_get(report, i);

        issues[n_issues].issue = is;
        issues[n_issues].against = argv[first + 1 + is->version_index];
        issues[n_issues++].rule = "compatibility";
    }
    for (i = 0; i < chan_compat_report_count(removals); i++) {
        issues[n_issues].issue = chan_compat_report_get(removals, i);
        issues[n_issues].against = argv[first + 1];
        issues[n_issues++].rule = "removal";
    }

    n_checked = mode == CHAN_COMPAT_NONE ? 0
                : (mode == CHAN_COMPAT_BACKWARD_TRANSITIVE ||
                   mode == CHAN_COMPAT_FORWARD_TRANSITIVE || mode == CHAN_COMPAT_FULL_TRANSITIVE)
                    ? n_files - 1
                    : 1;
    if (args.format == CLI_FORMAT_JSON) {
        if (print_json(argv[first], mode, issues, n_issues, argv + first + 1, n_checked) < 0) {
            rc = CLI_EXIT_RUNTIME;
            goto cleanup;
        }
    } else {
        print_text(argv[first], mode, issues, n_issues, n_checked);
    }
    rc = n_issues ? CLI_EXIT_FAILED : CLI_EXIT_OK;

cleanup:
    free(issues);
    chan_compat_report_free(report);
    chan_compat_report_free(removals);
    for (i = 0; schemas && i < n_files; i++)
        chan_avro_schema_free(schemas[i]);
    free(schemas);
    return rc;
}
