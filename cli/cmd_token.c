/*
 * cmd_token.c - `chanctl token`: API tokens of a registry, and token file
 * lines.
 *
 *   chanctl token create --identity NAME --role ROLE... [--expires-in-days N]
 *                        [--description TEXT]   a new token, printed alone
 *   chanctl token list                          every token (never a secret)
 *   chanctl token revoke ID                     a token stops working
 *   chanctl token hash --identity NAME --role ROLE... [--expires DATE] [--stdin]
 *
 * create, list and revoke ask the registry (POST/GET /v1/tokens, DELETE
 * /v1/tokens/{id}) and need an admin token.  The registry keeps only the
 * SHA-256 of a token: the token printed by create cannot be shown again.
 *
 * hash works offline, for the daemon's --token-file (or the Kubernetes
 * Secret holding it): it makes a new token, or reads one from stdin with
 * --stdin, and prints the v2 token file line `NAME sha256=... roles=...
 * [expires=DATE]` (chan_token_file_line), which holds its digest only.
 *
 * Exit status: 0 done, 1 the registry refused (invalid request, unknown or
 * already revoked token), 2 usage error, 3 registry unreachable or denied.
 */
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chan/authz.h"
#include "chan/common.h"
#include "cli.h"
#include "cmds.h"
#include "options.h"
#include "registry_client.h"

#define CMD_NAME "token"

/* Most roles on one command line, and the longest token read by --stdin. */
#define MAX_ROLES     64
#define MAX_STDIN_LEN 4096

typedef struct token_opts {
    const char *identity, *description, *expires, *expires_in_days;
    cli_opt_list role; /* every --role, each maybe comma-separated */
    bool from_stdin;
    cli_format format;      /* from cli_args */
    char *roles[MAX_ROLES]; /* owned: the roles of every --role, split */
    size_t n_roles;
} token_opts;

static const cli_opt_spec opt_specs[] = {
    {"identity", 0, "NAME", "create, hash: identity the token authenticates",
     offsetof(token_opts, identity)},
    {"role", 0, "ROLE...",
     "create, hash: admin, reader, owner:TEAM, ci:TEAM (repeatable, or comma-separated)",
     offsetof(token_opts, role)},
    {"expires-in-days", 0, "N", "create: 0 (never) to 3650 days (default: 90)",
     offsetof(token_opts, expires_in_days)},
    {"description", 0, "TEXT", "create: what the token is for", offsetof(token_opts, description)},
    {"expires", 0, "DATE", "hash: refuse the token from DATE (YYYY-MM-DD) on",
     offsetof(token_opts, expires)},
    {"stdin", 0, NULL, "hash: read the token from stdin instead of making one",
     offsetof(token_opts, from_stdin)},
};

static const cli_cmd_spec spec = {
    .name = CMD_NAME,
    .usage = "create --identity NAME --role ROLE... [--expires-in-days N]\n"
             "       [--description TEXT] [OPTION]...\n"
             "list [OPTION]...\n"
             "revoke ID [OPTION]...\n"
             "hash --identity NAME --role ROLE... [--expires DATE] [--stdin]",
    .description = "API tokens of a registry (admin): create prints the new token alone on\n"
                   "stdout, once (the registry keeps only its SHA-256); list shows every token\n"
                   "without secrets; revoke stops one.  hash works offline: it makes a token\n"
                   "(or reads one with --stdin) and prints the line of the daemon's token file\n"
                   "(--token-file), which holds the token's SHA-256 only; without --stdin the\n"
                   "token comes first, on its own line.",
    CLI_CMD_OPTS(opt_specs),
    .formats = CLI_FORMATS_TEXT_JSON,
    .registry = "registry to ask (default: $" CLI_REGISTRY_URL_ENV "); create, list and revoke "
                "need an admin token",
    .exit_status = "0 done, 1 refused by the registry (invalid request, unknown or\n"
                   "revoked token), 2 usage error, 3 registry unreachable or access denied.",
};

static void opts_dispose(token_opts *o)
{
    size_t i;

    for (i = 0; i < o->n_roles; i++)
        free(o->roles[i]);
    o->n_roles = 0;
}

/* Add the comma-separated roles of one --role.  Returns 0 or a usage error. */
static int add_roles(token_opts *o, const char *value)
{
    const char *p = value;

    do {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);

        if (n == 0)
            return cli_usage_error(CMD_NAME, "--role \"%s\": empty role", value);
        if (o->n_roles == MAX_ROLES)
            return cli_usage_error(CMD_NAME, "more than %d roles", MAX_ROLES);
        o->roles[o->n_roles++] = chan_xstrndup(p, n);
        p = comma ? comma + 1 : NULL;
    } while (p != NULL);
    return 0;
}

/* The roles as one comma-separated string (caller frees). */
static char *roles_csv(const token_opts *o)
{
    chan_buf b = CHAN_BUF_INIT;
    size_t i;

    for (i = 0; i < o->n_roles; i++)
        chan_buf_printf(&b, "%s%s", i ? "," : "", o->roles[i]);
    return chan_buf_take(&b);
}

/* Split every --role into o->roles.  Returns 0 or a usage error. */
static int split_roles(token_opts *o)
{
    size_t i;
    int rc;

    for (i = 0; i < o->role.n; i++)
        if ((rc = add_roles(o, o->role.values[i])) != 0)
            return rc;
    return 0;
}

/*
** Check --identity and --role offline, as the registry and the token file
** would.  Returns 0 or a usage error.
*/
static int check_identity(const token_opts *o)
{
    chan_identity who;
    chan_error err = CHAN_ERROR_INIT;
    char *csv;
    int rc = 0;

    if (o->identity == NULL)
        return cli_usage_error(CMD_NAME, "missing --identity NAME");
    if (o->n_roles == 0)
        return cli_usage_error(CMD_NAME, "missing --role (admin, reader, owner:TEAM or ci:TEAM)");
    csv = roles_csv(o);
    if (chan_identity_init(&who, o->identity, csv, &err) < 0)
        rc = cli_usage_error(CMD_NAME, "%s", err.message);
    chan_identity_dispose(&who);
    free(csv);
    return rc;
}

/* Print the "errors" of the registry's last error reply as detail lines. */
static void print_registry_errors(const cli_registry *reg)
{
    const json_t *errors = json_object_get(cli_registry_last_error(reg), "errors"), *e;
    size_t i;

    json_array_foreach(errors, i, e)
    {
        char *path = cli_registry_value_text(json_object_get(e, "path"));
        char *message = cli_registry_value_text(json_object_get(e, "message"));

        cli_detail("%s: %s", path, message);
        free(path);
        free(message);
    }
}

/* "2027-03-04" of an RFC 3339 time (control characters replaced); "never" for null. */
static char *day_text(const json_t *t)
{
    char *s;

    if (!json_is_string(t))
        return chan_xstrdup("never");
    s = cli_registry_value_text(t);
    if (strlen(s) > 10)
        s[10] = '\0';
    return s;
}

/* ------------------------------------------------------------------ */
/* create, list, revoke                                                 */
/* ------------------------------------------------------------------ */

static int token_create(cli_registry *reg, const token_opts *o)
{
    chan_error err = CHAN_ERROR_INIT;
    json_t *reply = NULL;
    int64_t days = -1;
    int error, rc = CLI_EXIT_RUNTIME;

    if (o->expires_in_days != NULL && chan_parse_int64(&days, o->expires_in_days, 0, 3650) < 0)
        return cli_usage_error(CMD_NAME,
                               "--expires-in-days: expected 0 (never) to 3650, got \"%s\"",
                               o->expires_in_days);
    error = cli_registry_token_create(&reply, reg, o->identity, (const char *const *)o->roles,
                                      o->n_roles, (long)days, o->description, &err);
    if (error < 0) {
        cli_error_print(&err);
        print_registry_errors(reg);
        return cli_registry_exit_code(error);
    }
    if (o->format == CLI_FORMAT_JSON) {
        if (cli_registry_print_json(reply, &err) < 0) {
            cli_error_print(&err);
            goto cleanup;
        }
    } else {
        char *id = cli_registry_value_text(json_object_get(reply, "id"));
        char *roles = roles_csv(o);
        char *expires = day_text(json_object_get(reply, "expires_at"));

        printf("%s\n", json_string_value(json_object_get(reply, "token")));
        fprintf(stderr, "%s: created token %s for %s, roles %s, expires %s; it is shown only now\n",
                cli_progname, id, o->identity, roles, expires);
        free(id);
        free(roles);
        free(expires);
    }
    rc = CLI_EXIT_OK;
cleanup:
    json_decref(reply);
    return rc;
}

static int token_list(cli_registry *reg, const token_opts *o)
{
    static const char *const cols[] = {"ID",    "IDENTITY", "ROLES",
                                       "STATE", "EXPIRES",  "DESCRIPTION"};
    chan_error err = CHAN_ERROR_INIT;
    const json_t *tokens, *t;
    json_t *reply = NULL;
    size_t i;
    int error;

    if ((error = cli_registry_token_list(&reply, reg, &err)) < 0) {
        cli_error_print(&err);
        return cli_registry_exit_code(error);
    }
    if (o->format == CLI_FORMAT_JSON) {
        error = cli_registry_print_json(reply, &err);
        json_decref(reply);
        if (error < 0) {
            cli_error_print(&err);
            return CLI_EXIT_RUNTIME;
        }
        return CLI_EXIT_OK;
    }
    tokens = json_object_get(reply, "tokens");
    printf("%-12s  %-20s  %-24s  %-7s  %-10s  %s\n", cols[0], cols[1], cols[2], cols[3], cols[4],
           cols[5]);
    json_array_foreach(tokens, i, t)
    {
        const json_t *roles = json_object_get(t, "roles"), *r;
        chan_buf rb = CHAN_BUF_INIT;
        char *id = cli_registry_value_text(json_object_get(t, "id"));
        char *identity = cli_registry_value_text(json_object_get(t, "identity"));
        char *state = cli_registry_value_text(json_object_get(t, "state"));
        char *expires = day_text(json_object_get(t, "expires_at"));
        char *description = cli_registry_value_text(json_object_get(t, "description"));
        char *roles_text;
        size_t j;

        json_array_foreach(roles, j, r)
        {
            char *one = cli_registry_value_text(r);

            chan_buf_printf(&rb, "%s%s", j ? "," : "", one);
            free(one);
        }
        roles_text = chan_buf_take(&rb);
        printf("%-12s  %-20s  %-24s  %-7s  %-10s  %s\n", id, identity, roles_text, state, expires,
               description);
        free(id);
        free(identity);
        free(state);
        free(expires);
        free(description);
        free(roles_text);
    }
    json_decref(reply);
    return CLI_EXIT_OK;
}

static int token_revoke(cli_registry *reg, const char *id, const token_opts *o)
{
    chan_error err = CHAN_ERROR_INIT;
    int error;

    if ((error = cli_registry_token_revoke(reg, id, &err)) < 0) {
        cli_error_print(&err);
        return cli_registry_exit_code(error);
    }
    if (o->format == CLI_FORMAT_JSON) {
        json_t *doc = json_pack("{s:s, s:b}", "id", id, "revoked", 1);

        error = cli_registry_print_json(doc, &err);
        json_decref(doc);
        if (error < 0) {
            cli_error_print(&err);
            return CLI_EXIT_RUNTIME;
        }
    } else {
        printf("revoked token %s\n", id);
    }
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* hash                                                                 */
/* ------------------------------------------------------------------ */

/*
** Read one token from stdin: the first line, without its line end.  Returns
** the token (caller frees) or NULL after printing an error.
*/
static char *read_stdin_token(void)
{
    char buf[MAX_STDIN_LEN + 2];
    size_t len, i;

    if (fgets(buf, sizeof(buf), stdin) == NULL) {
        cli_error("no token on stdin");
        return NULL;
    }
    len = strlen(buf);
    if (len > MAX_STDIN_LEN) {
        cli_error("the token on stdin is longer than %d bytes", MAX_STDIN_LEN);
        return NULL;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    if (len == 0) {
        cli_error("the token on stdin is empty");
        return NULL;
    }
    for (i = 0; i < len; i++)
        if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f) {
            cli_error("the token on stdin contains a blank or a control character");
            return NULL;
        }
    return chan_xstrdup(buf);
}

static int token_hash(const token_opts *o)
{
    chan_error err = CHAN_ERROR_INIT;
    char id[CHAN_TOKEN_ID_LEN + 1];
    char *token = NULL, *csv = NULL, *line = NULL;
    int rc = CLI_EXIT_RUNTIME;

    if (o->expires != NULL && !chan_date_parse(o->expires, NULL))
        return cli_usage_error(CMD_NAME, "--expires: expected a date YYYY-MM-DD, got \"%s\"",
                               o->expires);
    if (o->from_stdin) {
        if ((token = read_stdin_token()) == NULL)
            return CLI_EXIT_USAGE;
    } else if (chan_token_new(&token, id, &err) < 0) {
        cli_error_print(&err);
        return CLI_EXIT_RUNTIME;
    }
    csv = roles_csv(o);
    line = chan_token_file_line(o->identity, csv, token, o->expires);
    if (line == NULL) {
        cli_error("cannot make a token file line for \"%s\"", o->identity);
        goto cleanup;
    }
    if (!o->from_stdin)
        printf("%s\n", token);
    fputs(line, stdout);
    if (!o->from_stdin)
        fprintf(stderr,
                "%s: the first line is the token (give it to %s), the second the line of the "
                "token file\n",
                cli_progname, o->identity);
    rc = CLI_EXIT_OK;
cleanup:
    chan_token_free(token);
    free(csv);
    free(line);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                          */
/* ------------------------------------------------------------------ */

int cmd_token(int argc, char **argv)
{
    token_opts o;
    cli_args args;
    cli_registry *reg = NULL;
    const char *what;
    int nargs, rc;

    memset(&o, 0, sizeof(o));
    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    o.format = args.format;
    if ((rc = split_roles(&o)) != 0)
        goto done;
    if (cli_args_count(&args) == 0) {
        rc = cli_usage_error(CMD_NAME, "missing what to do (create, list, revoke or hash)");
        goto done;
    }
    what = cli_args_operand(&args, 0);
    nargs = cli_args_count(&args) - 1;
    if (strcmp(what, "create") == 0 || strcmp(what, "hash") == 0) {
        bool create = what[0] == 'c';

        if (nargs != 0) {
            rc = cli_usage_error(CMD_NAME, "too many arguments");
            goto done;
        }
        if ((rc = check_identity(&o)) != 0)
            goto done;
        if (create && (o.expires != NULL || o.from_stdin)) {
            rc = cli_usage_error(CMD_NAME, "--expires and --stdin apply to \"token hash\"; "
                                           "create takes --expires-in-days");
            goto done;
        }
        if (!create && (o.expires_in_days != NULL || o.description != NULL)) {
            rc = cli_usage_error(CMD_NAME, "--expires-in-days and --description apply to "
                                           "\"token create\"; hash takes --expires");
            goto done;
        }
        if (!create) {
            if (o.format != CLI_FORMAT_TEXT) {
                rc = cli_usage_error(CMD_NAME, "\"token hash\" prints text only");
                goto done;
            }
            rc = token_hash(&o);
            goto done;
        }
    } else if (strcmp(what, "list") == 0 || strcmp(what, "revoke") == 0) {
        int want = what[0] == 'r' ? 1 : 0;

        if (nargs != want) {
            rc =
                cli_usage_error(CMD_NAME, nargs < want ? "missing the token id (see \"token list\")"
                                                       : "too many arguments");
            goto done;
        }
        if (o.identity || o.n_roles || o.expires_in_days || o.description || o.expires ||
            o.from_stdin) {
            rc = cli_usage_error(CMD_NAME, "\"token %s\" takes no token options", what);
            goto done;
        }
    } else {
        rc = cli_usage_error(CMD_NAME,
                             "unknown action \"%s\" (expected create, list, revoke or hash)", what);
        goto done;
    }

    if ((rc = cli_args_open_registry(&reg, &args)) != CLI_EXIT_OK)
        goto done;
    if (strcmp(what, "create") == 0)
        rc = token_create(reg, &o);
    else if (strcmp(what, "list") == 0)
        rc = token_list(reg, &o);
    else
        rc = token_revoke(reg, cli_args_operand(&args, 1), &o);
    cli_registry_free(reg);
done:
    opts_dispose(&o);
    return rc;
}
