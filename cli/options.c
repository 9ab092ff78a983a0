/*
 * options.c - command-line parsing and --help of every chanctl command,
 * driven by the command's cli_cmd_spec (see options.h).
 */
#include <assert.h>
#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "chan/common.h"
#include "options.h"

/*
 * getopt values: a short name stands for itself, the command's long-only
 * options get OPT_LONG + their index in the table, the shared long-only
 * options the values below.
 */
enum {
    OPT_LONG = 256,
    OPT_TOKEN = 0x10000,
    OPT_TIMEOUT,
    OPT_CACERT,
};

static const char *const format_names[] = {"text", "json", "junit", "github", "table", "gitlab"};

static const cli_opt_spec help_opt = {"help", 'h', NULL, "show this help and exit", 0};

/* The connection block; --registry's help comes from the command's spec. */
static const cli_opt_spec conn_opts[] = {
    {"registry", 'r', "URL", NULL, 0},
    {"token", 0, "TOKEN", "bearer token (default: $" CLI_REGISTRY_TOKEN_ENV ")", 0},
    {"timeout", 0, "SECONDS", "give up on a request after SECONDS (default: 30)", 0},
    {"cacert", 0, "FILE",
     "CA certificate(s) that signed an https:// registry (default: $" CLI_REGISTRY_CACERT_ENV
     ", else the system's CAs)",
     0},
};
static const int conn_vals[] = {'r', OPT_TOKEN, OPT_TIMEOUT, OPT_CACERT};

/* "-x, --name=ARG" or "    --name=ARG" into buf. */
static void opt_left(char *buf, size_t size, const cli_opt_spec *o)
{
    snprintf(buf, size, "%c%c%c --%s%s%s", o->short_name ? '-' : ' ',
             o->short_name ? o->short_name : ' ', o->short_name ? ',' : ' ', o->name,
             o->arg_name ? "=" : "", o->arg_name ? o->arg_name : "");
}

/* Help text wider than this is wrapped at spaces, unless that leaves too little room. */
#define HELP_COLUMNS   79
#define HELP_MIN_WIDTH 30
/* Widest left column of a command's help; a longer option gets a line of its own. */
#define HELP_MAX_LEFT 24

void cli_opts_print(FILE *out, const cli_opt_spec *specs, size_t n, int width)
{
    int room = HELP_COLUMNS - (width + 3);
    size_t i;

    if (room < HELP_MIN_WIDTH)
        room = HELP_MIN_WIDTH;
    for (i = 0; i < n; i++) {
        const char *help = specs[i].help;
        char left[64];

        opt_left(left, sizeof(left), &specs[i]);
        if ((int)strlen(left) > width) /* too wide: the help starts on the next line */
            fprintf(out, "  %s\n  %-*s ", left, width, "");
        else
            fprintf(out, "  %-*s ", width, left);
        /* Continuation lines start in the help column. */
        for (;;) {
            int len = (int)strcspn(help, "\n"), cut = len;

            if (len > room) {
                for (cut = room; cut > 0 && help[cut] != ' '; cut--)
                    ;
                if (cut == 0)
                    cut = len;
            }
            fprintf(out, "%.*s\n", cut, help);
            help += cut;
            if (*help == '\0')
                break;
            help++; /* the space or newline at the cut */
            fprintf(out, "  %-*s ", width, "");
        }
    }
}

/* "output format: text (default), json" for the formats of spec, into buf. */
static void format_help(char *buf, size_t size, const cli_cmd_spec *spec)
{
    size_t i, len;

    assert(spec->formats & (1u << spec->format_default));
    len = (size_t)snprintf(buf, size, "output format: %s (default)",
                           format_names[spec->format_default]);
    for (i = 0; i < CHAN_ARRAY_SIZE(format_names) && len < size; i++)
        if ((spec->formats & (1u << i)) && (cli_format)i != spec->format_default)
            len += (size_t)snprintf(buf + len, size - len, ", %s", format_names[i]);
}

void cli_cmd_help(FILE *out, const cli_cmd_spec *spec)
{
    cli_opt_spec own[CLI_OPTS_MAX], conn[CHAN_ARRAY_SIZE(conn_opts)];
    char fmt_help[128], left[64];
    const char *line = spec->usage, *nl;
    size_t i, n = 0;
    int width = 20; /* the left column: the widest option up to HELP_MAX_LEFT */

    for (i = 0; i < spec->n_opts; i++)
        own[n++] = spec->opts[i];
    if (spec->formats) {
        format_help(fmt_help, sizeof(fmt_help), spec);
        own[n++] = (cli_opt_spec){"format", 'f', "FORMAT", fmt_help, 0};
    }
    own[n++] = help_opt;
    memcpy(conn, conn_opts, sizeof(conn));
    conn[0].help = spec->registry;
    for (i = 0; i < n + (spec->registry ? CHAN_ARRAY_SIZE(conn) : 0); i++) {
        opt_left(left, sizeof(left), i < n ? &own[i] : &conn[i - n]);
        if ((int)strlen(left) + 1 > width && (int)strlen(left) + 1 <= HELP_MAX_LEFT)
            width = (int)strlen(left) + 1;
    }

    for (i = 0; line != NULL; i++, line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        fprintf(out, "%s %s %s %.*s\n", i == 0 ? "Usage:" : "      ", cli_progname, spec->name,
                nl ? (int)(nl - line) : (int)strlen(line), line);
    }
    fprintf(out, "\n%s\n\nOptions:\n", spec->description);
    cli_opts_print(out, own, n, width);
    if (spec->registry) {
        fprintf(out, "\nRegistry connection:\n");
        cli_opts_print(out, conn, CHAN_ARRAY_SIZE(conn), width);
    }
    if (spec->notes)
        fprintf(out, "\n%s\n", spec->notes);
    fprintf(out, "\nExit status: %s\n", spec->exit_status);
}

/* getopt_long's tables for spec.  longopts has CLI_OPTS_MAX + 1 entries. */
static void build_getopt(struct option *longopts, char *shortopts, const cli_cmd_spec *spec)
{
    size_t i, n = 0, s = 0;

    assert(spec->n_opts + 1 + (spec->formats != 0) +
               (spec->registry ? CHAN_ARRAY_SIZE(conn_opts) : 0) <=
           CLI_OPTS_MAX);
    /* A leading ':' makes getopt_long return ':' for a missing value. */
    shortopts[s++] = ':';
    for (i = 0; i < spec->n_opts; i++) {
        const cli_opt_spec *o = &spec->opts[i];

        assert(o->short_name != 'h' && o->short_name != 'f' && o->short_name != 'r');
        longopts[n++] = (struct option){o->name, o->arg_name ? required_argument : no_argument,
                                        NULL, o->short_name ? o->short_name : OPT_LONG + (int)i};
        if (o->short_name) {
            shortopts[s++] = o->short_name;
            if (o->arg_name)
                shortopts[s++] = ':';
        }
    }
    if (spec->formats) {
        longopts[n++] = (struct option){"format", required_argument, NULL, 'f'};
        shortopts[s++] = 'f';
        shortopts[s++] = ':';
    }
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    shortopts[s++] = 'h';
    for (i = 0; spec->registry && i < CHAN_ARRAY_SIZE(conn_opts); i++)
        longopts[n++] = (struct option){conn_opts[i].name, required_argument, NULL, conn_vals[i]};
    if (spec->registry) {
        shortopts[s++] = 'r';
        shortopts[s++] = ':';
    }
    memset(&longopts[n], 0, sizeof(longopts[n]));
    shortopts[s] = '\0';
}

/* Store the value of the command's own option with getopt value c into opts. */
/* Does the option take a value that may be given several times ("ROLE...")? */
static bool opt_repeats(const cli_opt_spec *o)
{
    size_t n = o->arg_name ? strlen(o->arg_name) : 0;

    return n > 3 && strcmp(o->arg_name + n - 3, "...") == 0;
}

/*
 * Store the value of the command's own option c into opts.  Returns 0, or
 * CLI_ARGS_EXIT after a usage error (a repeatable option given too often).
 */
static int store(cli_args *a, void *opts, const cli_cmd_spec *spec, int c, const char *arg)
{
    const cli_opt_spec *o = NULL;
    size_t i;

    for (i = 0; o == NULL && i < spec->n_opts; i++)
        if (c == (spec->opts[i].short_name ? spec->opts[i].short_name : OPT_LONG + (int)i))
            o = &spec->opts[i];
    assert(o != NULL && opts != NULL);
    if (opt_repeats(o)) {
        cli_opt_list *list = (cli_opt_list *)(void *)((char *)opts + o->offset);

        if (list->n == CLI_OPT_LIST_MAX) {
            a->exit = cli_usage_error(spec->name, "--%s given more than %d times", o->name,
                                      CLI_OPT_LIST_MAX);
            return CLI_ARGS_EXIT;
        }
        list->values[list->n++] = arg;
    } else if (o->arg_name) {
        memcpy((char *)opts + o->offset, &arg, sizeof(arg));
    } else {
        bool on = true;

        memcpy((char *)opts + o->offset, &on, sizeof(on));
    }
    return 0;
}

/*
 * The one message for getopt_long's '?' (bad option) or ':' (missing value),
 * naming the option as it was written.  getopt_long sets optopt to 0 for an
 * unknown long option, and to the option's value for an unknown short option
 * and for a value given to a long flag (--dry-run=1).  Returns CLI_ARGS_EXIT.
 */
static int bad_option(cli_args *a, const struct option *longopts, int c)
{
    const char *elem = optind > 0 && optind <= a->argc ? a->argv[optind - 1] : "";
    const char *eq = strchr(elem, '=');
    const char *cmd = a->spec->name;
    int len = eq ? (int)(eq - elem) : (int)strlen(elem);
    bool flag_value = false;
    size_t i;

    for (i = 0; optopt != 0 && eq != NULL && longopts[i].name; i++)
        flag_value = flag_value || (longopts[i].val == optopt && strncmp(elem, "--", 2) == 0 &&
                                    strncmp(longopts[i].name, elem + 2, (size_t)len - 2) == 0);
    if (c == ':')
        a->exit = cli_usage_error(cmd, "option %s needs a value", elem);
    else if (flag_value)
        a->exit = cli_usage_error(cmd, "option %.*s takes no value", len, elem);
    else if (optopt != 0)
        a->exit = cli_usage_error(cmd, "unknown option -%c", optopt);
    else
        a->exit = cli_usage_error(cmd, "unknown option %.*s", len, elem);
    return CLI_ARGS_EXIT;
}

/* The index of format value among the accepted formats, -1 if none. */
static int format_parse(const cli_cmd_spec *spec, const char *value)
{
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(format_names); i++)
        if ((spec->formats & (1u << i)) && strcmp(value, format_names[i]) == 0)
            return (int)i;
    return -1;
}

int cli_args_parse(cli_args *a, void *opts, const cli_cmd_spec *spec, int argc, char **argv)
{
    struct option longopts[CLI_OPTS_MAX + 1];
    char shortopts[2 * CLI_OPTS_MAX + 2];
    int c, f;

    memset(a, 0, sizeof(*a));
    a->spec = spec;
    a->argc = argc;
    a->argv = argv;
    a->format = spec->format_default;
    build_getopt(longopts, shortopts, spec);
    optind = 1;
    opterr = 0; /* one message, ours */
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            cli_cmd_help(stdout, spec);
            a->exit = CLI_EXIT_OK;
            return CLI_ARGS_EXIT;
        case 'f':
            if ((f = format_parse(spec, optarg)) < 0) {
                a->exit = cli_usage_error(spec->name, "unknown format \"%s\"", optarg);
                return CLI_ARGS_EXIT;
            }
            a->format = (cli_format)f;
            break;
        case 'r':
            a->conn.registry = optarg;
            break;
        case OPT_TOKEN:
            a->conn.token = optarg;
            break;
        case OPT_TIMEOUT:
            a->conn.timeout = optarg;
            break;
        case OPT_CACERT:
            a->conn.cacert = optarg;
            break;
        case ':':
        case '?':
            return bad_option(a, longopts, c);
        default:
            if (store(a, opts, spec, c, optarg) == CLI_ARGS_EXIT)
                return CLI_ARGS_EXIT;
            break;
        }
    }
    a->first = optind;
    return 0;
}

int cli_args_count(const cli_args *a)
{
    assert(a->first > 0 && a->first <= a->argc);
    return a->argc - a->first;
}

const char *cli_args_operand(const cli_args *a, int i)
{
    assert(i >= 0 && i < cli_args_count(a));
    return a->argv[a->first + i];
}

bool cli_args_has_conn(const cli_args *a)
{
    return a->conn.registry || a->conn.token || a->conn.timeout || a->conn.cacert;
}

int cli_args_open_registry(cli_registry **out, const cli_args *a)
{
    chan_error err = CHAN_ERROR_INIT;
    int error;

    assert(a->spec->registry != NULL);
    error = cli_registry_open(out, a->conn.registry, a->conn.token, a->conn.timeout, a->conn.cacert,
                              &err);
    if (error < 0) {
        cli_error_print(&err);
        return error == CHAN_EINVALID ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME;
    }
    return CLI_EXIT_OK;
}

int cli_args_contract_files(cli_path_list *out, const cli_args *a, bool need_one)
{
    chan_error err = CHAN_ERROR_INIT;

    if (cli_collect_contract_files(out, a->argv + a->first, cli_args_count(a), &err) < 0) {
        cli_error_print(&err);
        return CLI_EXIT_USAGE;
    }
    if (out->count == 0 && need_one) {
        cli_error("no contract files (*.yaml, *.yml) found");
        return CLI_EXIT_USAGE;
    }
    if (out->count == 0)
        cli_warning("no contract files (*.yaml, *.yml) found");
    return CLI_EXIT_OK;
}
