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
 * run changes nothing and says "unchanged".  --dry-run only reads: new
 * versions are checked with the registry's compatibility endpoint instead of
 * being registered, and the contract is compared with the stored one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "cli.h"
#include "cmds.h"
#include "contract_files.h"
#include "registry_client.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage:\n"
            "  %s register [PATH]... --registry URL [OPTION]...\n\n"
            "Validate contracts, then push their schema versions, compatibility modes and\n"
            "the contracts themselves to a registry.  PATH is a contract file or a\n"
            "directory searched for *.yaml and *.yml files (default: %s/).\n"
            "Nothing is pushed when a contract is invalid.  Running it again changes\n"
            "nothing.\n\n"
            "Options:\n"
            "  -r, --registry URL      registry to push to (default: $%s)\n"
            "      --token TOKEN       bearer token (default: $%s)\n"
            "      --timeout SECONDS   give up on a request after SECONDS (default: 30)\n"
            "      --cacert FILE       CA certificate(s) of an https:// registry\n"
            "                          (default: $" CLI_REGISTRY_CACERT_ENV ")\n"
            "  -n, --dry-run           show what would change, change nothing\n"
            "      --schema-root DIR   directory of <subject>/v<N>.avsc files (default: the\n"
            "                          nearest schemas/ directory above each contract)\n"
            "  -f, --format FORMAT     text (default) or json\n"
            "  -h, --help              show this help and exit\n\n"
            "Exit status: 0 pushed or unchanged, 1 a contract is invalid, incompatible or\n"
            "diverged from the registry, 2 usage error, 3 registry unreachable or failed.\n",
            cli_progname, CLI_DEFAULT_CONTRACT_DIR, CLI_REGISTRY_URL_ENV, CLI_REGISTRY_TOKEN_ENV);
}

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
    json_t *registered = json_array(), *doc = NULL, *reply = NULL;
    bool mode_done = false, created = false, changed = false;
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

            if (latest > 0 && (error = cli_registry_check_compatibility(&compatible, &messages, reg,
                                                                        subject, schema, err)) < 0)
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
                                       "the registry would refuse version %d of subject %s as "
                                       "incompatible",
                                       want, subject);
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

    doc = chan_contract_to_json(contract);
    if (opts->dry_run) {
        error = cli_registry_get_channel(&reply, reg, name, err);
        if (error == CHAN_ENOTFOUND) {
            chan_error_clear(err);
            created = changed = true;
            error = 0;
        } else if (error < 0) {
            goto cleanup;
        } else {
            changed = !json_equal(json_object_get(reply, "contract"), doc);
            json_object_set(result, "revision", json_object_get(reply, "revision"));
        }
    } else {
        error = cli_registry_put_channel(&reply, &created, reg, name, doc, -1, err);
        if (error == CHAN_EINVALID &&
            cli_registry_last_error_diags(reg, diags, chan_contract_file(contract)) > 0)
            goto cleanup;
        if (error < 0)
            goto cleanup;
        changed = created || json_is_true(json_object_get(reply, "changed"));
        json_object_set(result, "revision", json_object_get(reply, "revision"));
    }
    json_object_set_new(result, "contract_changed", json_boolean(changed));
    if (created)
        json_object_set_new(result, "status", json_string("created"));
    else if (changed || json_array_size(registered) > 0 || json_object_get(result, "compatibility"))
        json_object_set_new(result, "status", json_string("updated"));
    else
        json_object_set_new(result, "status", json_string("unchanged"));

cleanup:
    json_decref(reply);
    json_decref(doc);
    json_decref(registered);
    return error;
}

/* One result line: "name: created (registered S v1, v2; compatibility set to X; revision 1)". */
static void print_result(const json_t *result, bool dry_run)
{
    const char *status = json_string_value(json_object_get(result, "status"));
    const json_t *registered = json_object_get(result, "registered");
    const json_t *compat = json_object_get(result, "compatibility");
    const json_t *revision = json_object_get(result, "revision");
    char *name = cli_registry_value_text(json_object_get(result, "channel"));
    chan_buf what = CHAN_BUF_INIT;
    const json_t *v;
    size_t i;

    if (json_array_size(registered) > 0) {
        char *subject = cli_registry_value_text(json_object_get(result, "subject"));

        chan_buf_printf(&what, "%sregistered %s", dry_run ? "would have " : "", subject);
        json_array_foreach(registered, i, v)
        {
            chan_buf_printf(&what, "%s v%" JSON_INTEGER_FORMAT, i ? "," : "",
                            json_integer_value(v));
        }
        free(subject);
    }
    if (compat) {
        char *from = cli_registry_value_text(json_object_get(compat, "from"));
        char *to = cli_registry_value_text(json_object_get(compat, "to"));

        if (json_is_null(json_object_get(compat, "from")) || !json_object_get(compat, "from"))
            chan_buf_printf(&what, "%scompatibility set to %s", what.len ? "; " : "", to);
        else
            chan_buf_printf(&what, "%scompatibility %s -> %s", what.len ? "; " : "", from, to);
        free(from);
        free(to);
    }
    if (json_is_true(json_object_get(result, "contract_changed")) && json_is_integer(revision))
        chan_buf_printf(&what, "%scontract revision %" JSON_INTEGER_FORMAT, what.len ? "; " : "",
                        json_integer_value(revision));
    else if (json_is_true(json_object_get(result, "contract_changed")))
        chan_buf_printf(&what, "%scontract changed", what.len ? "; " : "");

    if (status == NULL)
        status = "failed";
    if (dry_run && strcmp(status, "created") == 0)
        status = "would be created";
    else if (dry_run && strcmp(status, "updated") == 0)
        status = "would be updated";
    if (what.len)
        printf("%s: %s (%s)\n", name, status, chan_buf_cstr(&what));
    else
        printf("%s: %s\n", name, status);
    chan_buf_dispose(&what);
    free(name);
}

int cmd_register(int argc, char **argv)
{
    enum { OPT_TOKEN = 256, OPT_TIMEOUT, OPT_CACERT, OPT_SCHEMA_ROOT };
    static const struct option longopts[] = {
        {"registry", required_argument, NULL, 'r'},
        {"token", required_argument, NULL, OPT_TOKEN},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"cacert", required_argument, NULL, OPT_CACERT},
        {"dry-run", no_argument, NULL, 'n'},
        {"schema-root", required_argument, NULL, OPT_SCHEMA_ROOT},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *token = NULL, *timeout = NULL, *cacert = NULL;
    chan_contract_load_options load_opts = CHAN_CONTRACT_LOAD_OPTIONS_INIT;
    push_options opts = {false};
    cli_format format = CLI_FORMAT_TEXT;
    chan_error err = CHAN_ERROR_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    chan_contract_set *set = chan_contract_set_new();
    cli_path_list files = CLI_PATH_LIST_INIT;
    json_t *results = json_array();
    cli_registry *reg = NULL;
    int c, rc = CLI_EXIT_OK, error;
    size_t i, n_errors;

    while ((c = getopt_long(argc, argv, "r:nf:h", longopts, NULL)) != -1) {
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
        case 'n':
            opts.dry_run = true;
            break;
        case OPT_SCHEMA_ROOT:
            load_opts.schema_root = optarg;
            break;
        case 'f':
            if (cli_format_parse(&format, "register", optarg,
                                 1u << CLI_FORMAT_TEXT | 1u << CLI_FORMAT_JSON) < 0) {
                rc = CLI_EXIT_USAGE;
                goto cleanup;
            }
            break;
        case 'h':
            usage(stdout);
            goto cleanup;
        default:
            rc = cli_usage_error("register", "invalid option");
            goto cleanup;
        }
    }
    if ((error = cli_registry_open(&reg, url, token, timeout, cacert, &err)) < 0) {
        cli_error_print(&err);
        rc = error == CHAN_EINVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
        goto cleanup;
    }
    if ((error = cli_collect_contract_files(&files, argv + optind, argc - optind, &err)) < 0) {
        cli_error_print(&err);
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    if (files.count == 0) {
        cli_error("no contract files (*.yaml, *.yml) found");
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }

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
        }
        if (format == CLI_FORMAT_TEXT)
            print_result(result, opts.dry_run);
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
    if (format == CLI_FORMAT_JSON) {
        json_t *doc = json_pack("{s:b,s:s,s:O}", "dry_run", opts.dry_run, "registry",
                                cli_registry_url(reg), "channels", results);

        if (cli_registry_print_json(doc, &err) < 0 && rc == CLI_EXIT_OK)
            rc = CLI_EXIT_RUNTIME;
        json_decref(doc);
    }

cleanup:
    json_decref(results);
    cli_path_list_dispose(&files);
    chan_contract_set_free(set);
    chan_diag_list_free(diags);
    cli_registry_free(reg);
    return rc;
}
