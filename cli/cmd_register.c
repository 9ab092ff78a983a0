/*
 * cmd_register.c - `chanctl register`: push contracts and their schemas to a
 * registry.
 *
 * First every contract is loaded and validated offline, exactly as
 * `chanctl validate` does; if any has an error, the diagnostics are printed
 * and nothing is pushed.  Then, contract by contract:
 *
 *   1. each schema version, oldest first: looked up under the subject
 *      (POST /subjects/{s}); registered (POST /subjects/{s}/versions) only
 *      when missing.  The version number the registry gives must equal the
 *      contract's, otherwise the registry's numbering diverged and the
 *      contract is not pushed further;
 *   2. the subject's compatibility mode, set with PUT /config/{s} when it
 *      differs (before the new versions when the subject exists, so that the
 *      registry checks them under the contract's mode);
 *   3. the contract itself, PUT /v1/channels/{name}.
 *
 * Schemas and modes are written only when missing or different, and the
 * registry keeps the revision of a contract PUT again unchanged, so a second
 * run changes nothing and says "unchanged".
 *
 * The registry keeps consumers registered through its API that the contract
 * does not name: the reply to the PUT lists them as "drift", and each is
 * printed with the YAML to add to the contract to manage it there.
 *
 * --dry-run sends the same contract PUT with ?dry_run=true: the registry runs
 * the same checks and changes, replies as it would, and rolls back.  Schemas
 * and modes are not written: a version the real run would register is checked
 * with the registry's compatibility endpoint (when the subject's mode stays;
 * when it changes, the offline check of the contract's versions under the
 * contract's mode stands in for it) and named in &pending_versions= of the
 * PUT.  Each line of a dry run is built from the registry's reply exactly as
 * in the real run, so both print the same standard output for the same
 * starting state; "dry run: nothing was changed on URL" goes to stderr.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "cli.h"
#include "cmds.h"
#include "contract_files.h"
#include "options.h"
#include "registry_client.h"

typedef struct register_opts {
    bool dry_run;
    const char *schema_root;
} register_opts;

static const cli_opt_spec opt_specs[] = {
    {"dry-run", 'n', NULL, "let the registry check and report every change, then roll back",
     offsetof(register_opts, dry_run)},
    {"schema-root", 0, "DIR", "schema root holding <subject>/v<N>.avsc (default: nearest schemas/)",
     offsetof(register_opts, schema_root)},
};

static const cli_cmd_spec spec = {
    .name = "register",
    .usage = "[PATH]... --registry URL [OPTION]...",
    .description =
        "Validate contracts, then push their schema versions, compatibility modes and\n"
        "the contracts themselves to a registry.  PATH is a contract file or a\n"
        "directory searched for *.yaml and *.yml files (default: " CLI_DEFAULT_CONTRACT_DIR "/).\n"
        "Nothing is pushed when a contract is invalid.  Running it again changes\n"
        "nothing.",
    CLI_CMD_OPTS(opt_specs),
    .formats = CLI_FORMATS_TEXT_JSON,
    .registry = "registry to push to (default: $" CLI_REGISTRY_URL_ENV ")",
    .exit_status = "0 pushed or unchanged, 1 a contract is invalid, incompatible or\n"
                   "diverged from the registry, 2 usage error, 3 registry unreachable or failed.",
};

/* ------------------------------------------------------------------ */
/* Pushing one contract                                                 */
/* ------------------------------------------------------------------ */

typedef struct push_options {
    bool dry_run;
} push_options;

/*
 * Ask the registry why schema is refused and put the reasons, one per line,
 * into err's detail.  Returns false when the registry gave no reasons.
 */
static bool explain_incompatible(cli_registry *reg, const char *subject, const char *schema,
                                 chan_error *err)
{
    chan_error ignored = CHAN_ERROR_INIT;
    chan_buf text = CHAN_BUF_INIT;
    json_t *messages = NULL, *m;
    bool compatible, explained = false;
    size_t i;

    if (cli_registry_check_compatibility(&compatible, &messages, reg, subject, schema, &ignored) <
            0 ||
        json_array_size(messages) == 0)
        goto cleanup;
    json_array_foreach(messages, i, m)
    {
        char *line = cli_registry_compat_message(m);

        if (line)
            chan_buf_printf(&text, "%s%s", text.len ? "\n        " : "", line);
        free(line);
    }
    if (text.len == 0)
        goto cleanup;
    chan_error_detail(err, "%s", chan_buf_cstr(&text));
    explained = true;

cleanup:
    chan_buf_dispose(&text);
    json_decref(messages);
    return explained;
}

/* Make the subject's compatibility mode the contract's; records the change in result. */
static int ensure_compatibility(cli_registry *reg, const char *subject, const char *mode,
                                const push_options *opts, json_t *result, chan_error *err)
{
    char *current = NULL;
    int error;

    if ((error = cli_registry_get_compatibility(&current, reg, subject, err)) < 0)
        goto cleanup;
    if (current && strcasecmp(current, mode) == 0)
        goto cleanup;
    if (!opts->dry_run && (error = cli_registry_set_compatibility(reg, subject, mode, err)) < 0)
        goto cleanup;
    json_object_set_new(
        result, "compatibility",
        json_pack("{s:o,s:s}", "from", current ? json_string(current) : json_null(), "to", mode));

cleanup:
    free(current);
    return error;
}

/* Set err to "numbering diverged" for version `want` that the registry numbers `got`. */
static int diverged(chan_error *err, const char *subject, int want, int got, bool registered)
{
    int error;

    if (registered)
        error = chan_error_set(err, CHAN_ECONFLICT,
                               "the registry's numbering of subject %s diverged: the schema of "
                               "version %d is registered as version %d",
                               subject, want, got);
    else
        error = chan_error_set(err, CHAN_ECONFLICT,
                               "the registry's numbering of subject %s diverged: version %d is "
                               "not registered and would become version %d",
                               subject, want, got);
    chan_error_hint(err,
                    "compare with \"%s get subject %s --version %d\"; the contract's versions "
                    "must match the registry's",
                    cli_progname, subject, got);
    return error;
}

/*
 * PUT the contract (with ?dry_run=true in a dry run, naming the versions the
 * real run registers first) and record the registry's answer in result:
 * "revision", "contract_changed", "drift", "adopted" and "status" (created,
 * updated or unchanged, also counting the versions in `registered` and a
 * "compatibility" change).  The registry's "errors" of a refusal go to diags.
 */
static int put_contract(json_t *result, cli_registry *reg, const chan_contract *contract,
                        const json_t *registered, const push_options *opts, chan_diag_list *diags,
                        chan_error *err)
{
    cli_channel_put_options put_opts = CLI_CHANNEL_PUT_OPTIONS_INIT;
    json_t *doc = chan_contract_to_json(contract), *reply = NULL, *v;
    int *pending = chan_xcalloc(json_array_size(registered) + 1, sizeof(*pending));
    bool created = false, changed;
    size_t i, n_pending = 0;
    int error;

    if (opts->dry_run) {
        json_array_foreach(registered, i, v)
        {
            pending[n_pending++] = (int)json_integer_value(v);
        }
    }
    put_opts.dry_run = opts->dry_run;
    put_opts.pending_versions = pending;
    put_opts.n_pending_versions = n_pending;
    error = cli_registry_put_channel(&reply, &created, reg, chan_contract_name(contract), doc,
                                     &put_opts, err);
    if (error < 0) {
        cli_registry_last_error_diags(reg, diags, chan_contract_file(contract));
        goto cleanup;
    }
    changed = created || json_is_true(json_object_get(reply, "changed"));
    if (opts->dry_run && !json_is_true(json_object_get(reply, "dry_run"))) {
        /* A registry older than dry runs ignored the parameter: say what it did. */
        error = chan_error_set(err, CHAN_EUNAVAILABLE,
                               "the registry does not support dry runs: it ignored dry_run=true "
                               "and %s",
                               changed ? "stored the contract" : "kept the contract unchanged");
        chan_error_hint(err, "upgrade the registry before using --dry-run");
        json_object_set_new(result, "applied", json_boolean(changed));
        goto cleanup;
    }
    json_object_set(result, "revision", json_object_get(reply, "revision"));
    json_object_set_new(result, "contract_changed", json_boolean(changed));
    v = json_object_get(reply, "drift");
    json_object_set_new(result, "drift", json_is_array(v) ? json_incref(v) : json_array());
    v = json_object_get(reply, "adopted");
    json_object_set_new(result, "adopted", json_is_array(v) ? json_incref(v) : json_array());
    if (created)
        json_object_set_new(result, "status", json_string("created"));
    else if (changed || json_array_size(registered) > 0 || json_object_get(result, "compatibility"))
        json_object_set_new(result, "status", json_string("updated"));
    else
        json_object_set_new(result, "status", json_string("unchanged"));

cleanup:
    free(pending);
    json_decref(reply);
    json_decref(doc);
    return error;
}

/*
 * Push one valid contract.  Fills result ({"channel", "status", ...}).
 * Returns 0, a check failure (CHAN_ECONFLICT, CHAN_EINCOMPATIBLE,
 * CHAN_EINVALID: diagnostics in diags or err) or a runtime error code.
 */
static int push_contract(json_t *result, cli_registry *reg, const chan_contract *contract,
                         const push_options *opts, chan_diag_list *diags, chan_error *err)
{
    const char *subject = chan_contract_subject(contract);
    const char *name = chan_contract_name(contract);
    const char *mode = chan_compat_mode_name(chan_contract_compatibility(contract));
    size_t i, n = chan_contract_version_count(contract);
    json_t *registered = json_array();
    bool mode_done = false;
    int latest, error;

    json_object_set_new(result, "subject", json_string(subject));
    json_object_set(result, "registered", registered);
    if ((error = cli_registry_subject_versions(NULL, &latest, reg, subject, err)) < 0)
        goto cleanup;

    for (i = n; i-- > 0;) {
        const chan_contract_version *v = chan_contract_version_at(contract, i);
        const char *schema = v->schema ? chan_avro_schema_normalized(v->schema) : NULL;
        int want = (int)v->number;
        cli_schema_ref ref;

        if (schema == NULL) {
            error = chan_error_set(err, CHAN_EINTERNAL, "version %d of %s has no loaded schema",
                                   want, name);
            goto cleanup;
        }
        if (latest > 0) {
            error = cli_registry_lookup_schema(&ref, reg, subject, schema, err);
            if (error == 0) {
                if (ref.version != want) {
                    error = diverged(err, subject, want, ref.version, true);
                    goto cleanup;
                }
                continue;
            }
            if (error != CHAN_ENOTFOUND)
                goto cleanup;
            chan_error_clear(err);
        }
        if (want != latest + 1) {
            error = diverged(err, subject, want, latest + 1, false);
            goto cleanup;
        }
        /* Existing subject: the registry must check the new version under the contract's mode. */
        if (latest > 0 && !mode_done) {
            if ((error = ensure_compatibility(reg, subject, mode, opts, result, err)) < 0)
                goto cleanup;
            mode_done = true;
        }
        if (opts->dry_run) {
            json_t *messages = NULL;
            bool compatible = true;

            /*
             * The registry checks under the subject's current mode.  When the
             * real run would change it first, the offline check of the
             * contract's versions under the contract's mode is the verdict.
             */
            if (latest > 0 && json_object_get(result, "compatibility") == NULL &&
                (error = cli_registry_check_compatibility(&compatible, &messages, reg, subject,
                                                          schema, err)) < 0)
                goto cleanup;
            if (!compatible) {
                size_t j;
                json_t *m;

                json_array_foreach(messages, j, m)
                {
                    char *text = cli_registry_compat_message(m);

                    if (text)
                        chan_diag_add(diags, CHAN_DIAG_ERROR, chan_contract_file(contract), v->line,
                                      v->column, "registry-incompatible", NULL,
                                      "version %d of subject %s: %s", want, subject, text);
                    free(text);
                }
                json_decref(messages);
                error = chan_error_set(err, CHAN_EINCOMPATIBLE,
                                       "the registry refuses version %d of subject %s as "
                                       "incompatible (%s)",
                                       want, subject, mode);
                goto cleanup;
            }
            json_decref(messages);
            ref.version = want;
        } else {
            error = cli_registry_register_schema(&ref, reg, subject, schema, err);
            if (error == CHAN_EINCOMPATIBLE) {
                char server_message[CHAN_ERROR_MESSAGE_MAX];

                snprintf(server_message, sizeof(server_message), "%s", err->message);
                chan_error_set(err, CHAN_EINCOMPATIBLE,
                               "the registry refused version %d of subject %s as incompatible "
                               "(%s)",
                               want, subject, mode);
                if (!explain_incompatible(reg, subject, schema, err))
                    chan_error_detail(err, "%s", server_message);
                goto cleanup;
            }
            if (error < 0)
                goto cleanup;
            if (ref.version != want) {
                error = diverged(err, subject, want, ref.version, true);
                goto cleanup;
            }
        }
        json_array_append_new(registered, json_integer(want));
        latest = ref.version;
    }
    if (!mode_done && (error = ensure_compatibility(reg, subject, mode, opts, result, err)) < 0)
        goto cleanup;

    error = put_contract(result, reg, contract, registered, opts, diags, err);

cleanup:
    json_decref(registered);
    return error;
}

/*
 * The consumers of a result the contract in file does not manage: "adopted"
 * (API registrations the contract now names) and "drift" (API registrations
 * the registry kept), each drift entry followed by its YAML for the
 * contract's consumers: list.
 */
static void print_consumers(const json_t *result, const char *file)
{
    const json_t *adopted = json_object_get(result, "adopted");
    json_t *drift = json_object_get(result, "drift"), *wrap, *v;
    chan_error err = CHAN_ERROR_INIT;
    chan_channel_record *rec = NULL;
    size_t i;

    json_array_foreach(adopted, i, v)
    {
        char *name = cli_registry_value_text(v);

        printf("  adopted: consumer \"%s\" is now managed by %s\n", name, file);
        free(name);
    }
    if (json_array_size(drift) == 0)
        return;
    wrap = json_pack("{s:O,s:O}", "name", json_object_get(result, "channel"), "consumers", drift);
    if (wrap == NULL || chan_channel_record_from_json(&rec, wrap, &err) < 0) {
        cli_warning("cannot render the drift of %s as YAML: %s",
                    json_string_value(json_object_get(result, "channel")),
                    err.message[0] ? err.message : "unexpected reply");
        rec = NULL;
    }
    json_array_foreach(drift, i, v)
    {
        char *name = cli_registry_value_text(json_object_get(v, "name"));
        char *origin = cli_registry_value_text(json_object_get(v, "origin"));
        char *state = cli_registry_value_text(json_object_get(v, "state"));

        printf("  drift: consumer \"%s\" (%s, %s) is not in %s; add it to manage it there:\n", name,
               origin, state, file);
        if (rec != NULL && i < rec->n_consumers) {
            char *yaml = chan_contract_consumer_yaml(&rec->consumers[i], 2);

            fputs(yaml, stdout);
            free(yaml);
        }
        free(state);
        free(origin);
        free(name);
    }
    chan_channel_record_free(rec);
    json_decref(wrap);
}

/*
 * What a result changed, e.g. "registered S v1, v2; compatibility set to X;
 * contract revision 1", into what (empty when nothing changed).
 */
static void describe_changes(chan_buf *what, const json_t *result)
{
    const json_t *registered = json_object_get(result, "registered");
    const json_t *compat = json_object_get(result, "compatibility");
    const json_t *revision = json_object_get(result, "revision");
    const json_t *v;
    size_t i;

    if (json_array_size(registered) > 0) {
        char *subject = cli_registry_value_text(json_object_get(result, "subject"));

        chan_buf_printf(what, "registered %s", subject);
        json_array_foreach(registered, i, v)
        {
            chan_buf_printf(what, "%s v%" JSON_INTEGER_FORMAT, i ? "," : "", json_integer_value(v));
        }
        free(subject);
    }
    if (compat) {
        char *from = cli_registry_value_text(json_object_get(compat, "from"));
        char *to = cli_registry_value_text(json_object_get(compat, "to"));

        if (json_is_null(json_object_get(compat, "from")) || !json_object_get(compat, "from"))
            chan_buf_printf(what, "%scompatibility set to %s", what->len ? "; " : "", to);
        else
            chan_buf_printf(what, "%scompatibility %s -> %s", what->len ? "; " : "", from, to);
        free(from);
        free(to);
    }
    if (json_is_true(json_object_get(result, "contract_changed")) && json_is_integer(revision))
        chan_buf_printf(what, "%scontract revision %" JSON_INTEGER_FORMAT, what->len ? "; " : "",
                        json_integer_value(revision));
    else if (json_is_true(json_object_get(result, "contract_changed")))
        chan_buf_printf(what, "%scontract changed", what->len ? "; " : "");
}

/*
 * One result line: "name: created (registered S v1, v2; compatibility set to
 * X; contract revision 1)", then its adopted and drift consumers.  A failed
 * contract prints "name: failed" alone: how far a run got before failing
 * depends on which request was refused, and a dry run must print what the
 * real run prints.
 */
static void print_result(const json_t *result, const char *file)
{
    const char *status = json_string_value(json_object_get(result, "status"));
    char *name = cli_registry_value_text(json_object_get(result, "channel"));
    chan_buf what = CHAN_BUF_INIT;

    if (status == NULL || strcmp(status, "failed") == 0) {
        printf("%s: failed\n", name);
        free(name);
        return;
    }
    describe_changes(&what, result);
    if (what.len)
        printf("%s: %s (%s)\n", name, status, chan_buf_cstr(&what));
    else
        printf("%s: %s\n", name, status);
    print_consumers(result, file);
    chan_buf_dispose(&what);
    free(name);
}

int cmd_register(int argc, char **argv)
{
    chan_contract_load_options load_opts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    push_options opts = {false};
    chan_error err = CHAN_ERROR_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract_set *set = chan_contract_set_new();
    cli_path_list files = CLI_PATH_LIST_INIT;
    json_t *results = json_array();
    cli_registry *reg = NULL;
    register_opts ro = {false, NULL};
    cli_args args;
    bool applied = false;
    int rc = CLI_EXIT_OK, error;
    size_t i, n_errors;

    if (cli_args_parse(&args, &ro, &spec, argc, argv) == CLI_ARGS_EXIT) {
        rc = args.exit;
        goto cleanup;
    }
    opts.dry_run = ro.dry_run;
    load_opts.schema_root = ro.schema_root;
    if ((rc = cli_args_open_registry(&reg, &args)) != CLI_EXIT_OK)
        goto cleanup;
    if ((rc = cli_args_contract_files(&files, &args, true)) != CLI_EXIT_OK)
        goto cleanup;

    /* Validate everything before the first request. */
    for (i = 0; i < files.count; i++) {
        size_t before = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR);

        error = chan_contract_set_add_file(set, files.items[i], &load_opts, diags, &err);
        if (error < 0 && chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR) == before) {
            /* Make sure a failed file is reported even without a diagnostic of its own. */
            chan_diag_add(diags, CHAN_DIAG_ERROR, files.items[i], 0, 0, NULL, NULL, "%s",
                          err.message[0] ? err.message : chan_strerror(error));
        }
        chan_error_clear(&err);
    }
    chan_contract_set_check(set, diags);
    n_errors = chan_diag_list_count_severity(diags, CHAN_DIAG_ERROR);
    chan_diag_list_sort(diags);
    cli_print_diags(stderr, diags, true);
    if (n_errors > 0) {
        cli_error("%zu error%s in the contracts; nothing was pushed to %s", n_errors,
                  n_errors == 1 ? "" : "s", cli_registry_url(reg));
        rc = CLI_EXIT_FAILED;
        goto cleanup;
    }

    for (i = 0; i < chan_contract_set_count(set); i++) {
        const chan_contract *contract = chan_contract_set_get(set, i);
        chan_diag_list *push_diags = chan_diag_list_new();
        json_t *result = json_pack("{s:s}", "channel", chan_contract_name(contract));

        json_array_append_new(results, result);
        error = push_contract(result, reg, contract, &opts, push_diags, &err);
        cli_print_diags(stderr, push_diags, false);
        chan_diag_list_free(push_diags);
        if (error < 0) {
            json_object_set_new(result, "status", json_string("failed"));
            json_object_set_new(result, "error", json_string(err.message));
            if (err.detail[0])
                json_object_set_new(result, "detail", json_string(err.detail));
            cli_error("%s: %s", chan_contract_name(contract), err.message);
            if (err.detail[0])
                cli_detail("%s", err.detail);
            if (err.hint[0])
                cli_hint("%s", err.hint);
            if (!opts.dry_run || json_is_true(json_object_get(result, "applied"))) {
                chan_buf done = CHAN_BUF_INIT;

                describe_changes(&done, result);
                if (done.len)
                    cli_detail("done before the failure: %s", chan_buf_cstr(&done));
                chan_buf_dispose(&done);
            }
            if (json_is_true(json_object_get(result, "applied")))
                applied = true;
        }
        if (args.format == CLI_FORMAT_TEXT)
            print_result(result, chan_contract_file(contract));
        if (error < 0) {
            int code = cli_registry_exit_code(error);

            if (code == CLI_EXIT_RUNTIME) {
                rc = CLI_EXIT_RUNTIME;
                break; /* the registry is gone or broken: stop here */
            }
            rc = CLI_EXIT_FAILED;
        }
        chan_error_clear(&err);
    }
    if (args.format == CLI_FORMAT_JSON) {
        json_t *doc = json_pack("{s:b,s:s,s:O}", "dry_run", opts.dry_run, "registry",
                                cli_registry_url(reg), "channels", results);

        if (cli_registry_print_json(doc, &err) < 0 && rc == CLI_EXIT_OK)
            rc = CLI_EXIT_RUNTIME;
        json_decref(doc);
    }
    if (opts.dry_run && !applied)
        fprintf(stderr, "dry run: nothing was changed on %s\n", cli_registry_url(reg));

cleanup:
    json_decref(results);
    cli_path_list_dispose(&files);
    chan_contract_set_free(set);
    chan_diag_list_free(diags);
    cli_registry_free(reg);
    return rc;
}
