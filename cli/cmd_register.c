/*
 * cmd_register.c - `chanctl register`: push contracts and their schemas to a
 * registry.
 *
 * First every contract is loaded and validated offline, exactly as
 * `chanctl validate` does; if any has an error, the diagnostics are printed
 * and nothing is pushed.  Then, contract by contract:
 *
 *   1. the versions to register: each schema version, oldest first, is
 *      looked up under the subject (POST /subjects/{s}); the missing ones
 *      must be the next versions in the registry's numbering, otherwise it
 *      diverged and the contract is not pushed;
 *   2. the preflight: the contract PUT with ?dry_run=true, naming those
 *      versions in &pending_versions=.  When the registry refuses it (an
 *      invalid contract, a ci token of another team, the policy floor),
 *      nothing is written for the contract;
 *   3. the missing versions are registered (POST /subjects/{s}/versions),
 *      under the subject's current mode;
 *   4. the contract itself, PUT /v1/channels/{name}: the subject is now bound
 *      to it, and a waiver the contract carries is stored for an admin to
 *      approve;
 *   5. last, the subject's compatibility mode, set with PUT /config/{s} when
 *      it differs, under the policy floor of the stored contract.
 *
 * Schemas and modes are written only when missing or different, and the
 * registry keeps the revision of a contract PUT again unchanged, so a second
 * run changes nothing and says "unchanged".
 *
 * The registry keeps consumers registered through its API that the contract
 * does not name: the reply to the PUT lists them as "drift", and each is
 * printed with the YAML to add to the contract to manage it there.
 *
 * --dry-run stops after the preflight's contract PUT: the registry runs the
 * same checks and changes, replies as it would, and rolls back.  Schemas and
 * modes are not written: a version the real run would register is checked
 * with the registry's compatibility endpoint when the subject has versions
 * (for a new subject the offline check of the contract stands), and the mode
 * is sent with PUT /config?dry_run=true, unless the contract PUT's reply says
 * that the policy floor will refuse it once the contract is stored
 * ("compatibility_allowed": false), which fails as the real PUT /config does.
 * Each line of a dry run is built from the registry's replies exactly as in
 * the real run, so both print the same standard output for the same starting
 * state; "dry run: nothing was changed on URL" goes to stderr.
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
    const char *root;
} register_opts;

static const cli_opt_spec opt_specs[] = {
    {"dry-run", 'n', NULL, "let the registry check and report every change, then roll back",
     offsetof(register_opts, dry_run)},
    {"schema-root", 0, "DIR", "schema root holding <subject>/v<N>.avsc (default: nearest schemas/)",
     offsetof(register_opts, schema_root)},
    {"root", 0, "DIR", CLI_ROOT_OPTION_HELP, offsetof(register_opts, root)},
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
    bool preflight; /* a dry run the real run follows (push_contract) */
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
        char *line = cli_registry_compat_message(messages, i);

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

/*
 * Make the subject's compatibility mode the contract's, the last step of a
 * push; records the change in result.  A dry run asks the registry with
 * PUT /config?dry_run=true; allowed is the contract put's verdict on the
 * policy floor ("compatibility_allowed"), which a dry run cannot ask PUT
 * /config for while the channel is not stored: when it is false, the dry run
 * fails as the real PUT /config would, with 403 / 40302.
 */
static int ensure_compatibility(cli_registry *reg, const char *subject, const char *mode,
                                bool allowed, const push_options *opts, json_t *result,
                                chan_error *err)
{
    char *current = NULL;
    int error;

    if ((error = cli_registry_get_compatibility(&current, reg, subject, err)) < 0)
        goto cleanup;
    if (current && strcasecmp(current, mode) == 0)
        goto cleanup;
    if (opts->dry_run && !allowed) {
        error = chan_error_set(err, CHAN_EDENIED,
                               "the registry would refuse compatibility %s for subject %s: it is "
                               "below the registry's policy floor and the contract has no "
                               "approved waiver (403, error code 40302)",
                               mode, subject);
        chan_error_hint(err, "an admin approves the contract's waiver once it is stored");
        goto cleanup;
    }
    if ((error = cli_registry_set_compatibility(reg, subject, mode, opts->dry_run, err)) < 0)
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
 * real run registers first in `registered`) and record the registry's answer
 * in result: "revision", "contract_changed", "created",
 * "compatibility_allowed", "drift" and "adopted".  The registry's "errors" of
 * a refusal go to diags.
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
    if (opts->dry_run && !opts->preflight && !json_is_true(json_object_get(reply, "dry_run"))) {
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
    json_object_set_new(result, "created", json_boolean(created));
    v = json_object_get(reply, "compatibility_allowed");
    json_object_set_new(result, "compatibility_allowed", json_boolean(!json_is_false(v)));
    v = json_object_get(reply, "drift");
    json_object_set_new(result, "drift", json_is_array(v) ? json_incref(v) : json_array());
    v = json_object_get(reply, "adopted");
    json_object_set_new(result, "adopted", json_is_array(v) ? json_incref(v) : json_array());

cleanup:
    free(pending);
    json_decref(reply);
    json_decref(doc);
    return error;
}

/*
 * The versions of contract the registry does not hold yet, oldest first, into
 * plan; latest is the subject's latest version at the registry (0: none).
 * Only reads.  Returns 0 or CHAN_ECONFLICT when the registry's numbering
 * diverged from the contract's, or a runtime error code.
 */
static int plan_versions(json_t *plan, cli_registry *reg, const chan_contract *contract, int latest,
                         chan_error *err)
{
    const char *subject = chan_contract_subject(contract);
    size_t i, n = chan_contract_version_count(contract);
    int next = latest + 1, error = 0;

    for (i = n; i-- > 0;) {
        const chan_contract_version *v = chan_contract_version_at(contract, i);
        const char *schema = v->schema ? chan_avro_schema_normalized(v->schema) : NULL;
        int want = (int)v->number;
        cli_schema_ref ref;

        if (schema == NULL)
            return chan_error_set(err, CHAN_EINTERNAL, "version %d of %s has no loaded schema",
                                  want, chan_contract_name(contract));
        if (latest > 0) {
            error = cli_registry_lookup_schema(&ref, reg, subject, schema, err);
            if (error == 0) {
                if (ref.version != want)
                    return diverged(err, subject, want, ref.version, true);
                continue;
            }
            if (error != CHAN_ENOTFOUND)
                return error;
            chan_error_clear(err);
            error = 0;
        }
        if (want != next)
            return diverged(err, subject, want, next, false);
        json_array_append_new(plan, json_integer(want));
        next++;
    }
    return error;
}

/* The contract's version numbered number, or NULL. */
static const chan_contract_version *version_numbered(const chan_contract *contract,
                                                     json_int_t number)
{
    size_t i, n = chan_contract_version_count(contract);

    for (i = 0; i < n; i++)
        if ((json_int_t)chan_contract_version_at(contract, i)->number == number)
            return chan_contract_version_at(contract, i);
    return NULL;
}

/*
 * Register (or, in a dry run, check with the registry's compatibility
 * endpoint while the subject had versions before the push) each version of
 * plan, under the subject's current mode, appending each version that passes
 * to registered.  Returns 0, CHAN_EINCOMPATIBLE (the reasons in diags or
 * err's detail), CHAN_ECONFLICT or a runtime code.
 */
static int push_versions(json_t *registered, cli_registry *reg, const chan_contract *contract,
                         const json_t *plan, int latest, const push_options *opts,
                         chan_diag_list *diags, chan_error *err)
{
    const char *subject = chan_contract_subject(contract);
    const json_t *number;
    size_t i;
    int error = 0;

    json_array_foreach(plan, i, number)
    {
        const chan_contract_version *v = version_numbered(contract, json_integer_value(number));
        const char *schema = chan_avro_schema_normalized(v->schema);
        int want = (int)v->number;
        cli_schema_ref ref;

        if (opts->dry_run) {
            json_t *messages = NULL, *m;
            bool compatible = true;
            size_t j;

            /* A subject new to the registry: the offline check of the contract stands. */
            if (latest > 0 && (error = cli_registry_check_compatibility(&compatible, &messages, reg,
                                                                        subject, schema, err)) < 0)
                return error;
            if (compatible) {
                json_decref(messages);
                json_array_append_new(registered, json_integer(want));
                continue;
            }
            json_array_foreach(messages, j, m)
            {
                char *text = cli_registry_compat_message(messages, j);

                if (text)
                    chan_diag_add(diags, CHAN_DIAG_ERROR, chan_contract_file(contract), v->line,
                                  v->column, "registry-incompatible", NULL,
                                  "version %d of subject %s: %s", want, subject, text);
                free(text);
            }
            json_decref(messages);
            return chan_error_set(err, CHAN_EINCOMPATIBLE,
                                  "the registry refuses version %d of subject %s as incompatible",
                                  want, subject);
        }
        error = cli_registry_register_schema(&ref, reg, subject, schema, err);
        if (error == CHAN_EINCOMPATIBLE) {
            char server_message[CHAN_ERROR_MESSAGE_MAX];

            snprintf(server_message, sizeof(server_message), "%s", err->message);
            chan_error_set(err, CHAN_EINCOMPATIBLE,
                           "the registry refused version %d of subject %s as incompatible", want,
                           subject);
            if (!explain_incompatible(reg, subject, schema, err))
                chan_error_detail(err, "%s", server_message);
            return error;
        }
        if (error < 0)
            return error;
        if (ref.version != want)
            return diverged(err, subject, want, ref.version, true);
        json_array_append_new(registered, json_integer(want));
    }
    return 0;
}

/*
 * Push one valid contract.  Fills result ({"channel", "status", ...}).
 * Returns 0, a check failure (CHAN_ECONFLICT, CHAN_EINCOMPATIBLE,
 * CHAN_EINVALID: diagnostics in diags or err) or a runtime error code.
 *
 * The order keeps a refused push from writing anything: the versions to
 * register are found with reads only; the contract PUT with ?dry_run=true
 * (the preflight: the whole push of a dry run) must pass; then the versions
 * are registered, the contract is PUT (which binds the subject), and the
 * subject's mode is set last, under the policy floor of the stored contract.
 */
static int push_contract(json_t *result, cli_registry *reg, const chan_contract *contract,
                         const push_options *opts, chan_diag_list *diags, chan_error *err)
{
    const char *subject = chan_contract_subject(contract);
    const char *mode = chan_compat_mode_name(chan_contract_compatibility(contract));
    push_options preflight = {true, !opts->dry_run};
    json_t *plan = json_array(), *registered = json_array();
    /* A real run's preflight answers into a scratch result: it stored nothing. */
    json_t *checked = opts->dry_run ? json_incref(result) : json_object();
    int latest, error;

    json_object_set_new(result, "subject", json_string(subject));
    json_object_set(result, "registered", registered);
    if ((error = cli_registry_subject_versions(NULL, &latest, reg, subject, err)) < 0 ||
        (error = plan_versions(plan, reg, contract, latest, err)) < 0)
        goto cleanup;
    if ((error = put_contract(checked, reg, contract, plan, &preflight, diags, err)) < 0 ||
        (error = push_versions(registered, reg, contract, plan, latest, opts, diags, err)) < 0)
        goto cleanup;
    if (!opts->dry_run && (error = put_contract(result, reg, contract, plan, opts, diags, err)) < 0)
        goto cleanup;
    if ((error = ensure_compatibility(
             reg, subject, mode, json_is_true(json_object_get(result, "compatibility_allowed")),
             opts, result, err)) < 0)
        goto cleanup;
    if (json_is_true(json_object_get(result, "created")))
        json_object_set_new(result, "status", json_string("created"));
    else if (json_is_true(json_object_get(result, "contract_changed")) ||
             json_array_size(registered) > 0 || json_object_get(result, "compatibility"))
        json_object_set_new(result, "status", json_string("updated"));
    else
        json_object_set_new(result, "status", json_string("unchanged"));

cleanup:
    json_decref(checked);
    json_decref(registered);
    json_decref(plan);
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
    push_options opts = {false, false};
    chan_error err = CHAN_ERROR_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract_set *set = chan_contract_set_new();
    cli_path_list files = CLI_PATH_LIST_INIT;
    json_t *results = json_array();
    cli_registry *reg = NULL;
    register_opts ro = {false, NULL, NULL};
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
    load_opts.root = ro.root;
    if (!cli_root_option_ok("register", ro.root)) {
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
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
