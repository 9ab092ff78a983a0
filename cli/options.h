/*
 * options.h - the one option path of chanctl.
 *
 * Every command describes its command line in a cli_cmd_spec: usage lines,
 * description, its own option table, the --format values it accepts and
 * whether it reaches a registry.  cli_args parses argv with getopt_long from
 * that description and handles what all commands share:
 *
 *   - -h, --help: the help is generated from the spec and printed on stdout;
 *   - -f, --format: parsed against the formats the command accepts;
 *   - the registry connection block, -r/--registry URL, --token TOKEN and
 *     --timeout SECONDS, with the environment fallbacks CHANREG_URL and
 *     CHANREG_TOKEN applied by cli_args_open_registry (the command line wins);
 *   - a bad option or a missing value: one "chanctl: error:" line and a
 *     `Try "chanctl CMD --help"` hint on stderr, exit status 2.
 *
 * A command's loop only sees its own options:
 *
 *     cli_args a;
 *     int c;
 *
 *     cli_args_init(&a, &spec, argc, argv);
 *     while ((c = cli_args_next(&a)) > 0) {
 *         switch (c) {
 *         case OPT_DRY_RUN: dry_run = true; break;
 *         }
 *     }
 *     if (c == CLI_ARGS_EXIT)
 *         return a.exit;
 *     ... operands are a.argv[a.first .. a.argc - 1] ...
 *
 * A cli_args borrows the spec and argv; it owns nothing and needs no cleanup.
 */
#ifndef CHANCTL_OPTIONS_H
#define CHANCTL_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "cli.h"
#include "registry_client.h"

/** Most options one command may have, the shared ones (help, format, connection) included. */
#define CLI_OPTS_MAX 24

/**
 * First getopt value for a command's long-only options; a value below 256
 * is a character and also gives the short option -<val>.
 */
#define CLI_OPT_LONG 256

/**
 * One option of a command: the table drives getopt_long and --help.
 * The commands must not use 'h', 'f' or 'r': help, format and registry are
 * added by cli_args.
 */
typedef struct cli_opt_spec {
    const char *name;     /**< long name, without "--" */
    int has_arg;          /**< no_argument or required_argument */
    int val;              /**< what cli_args_next returns; < 256 also gives -<val> */
    const char *arg_name; /**< e.g. "URL", NULL without argument */
    const char *help;     /**< help text, wrapped to the help column (also at '\n') */
} cli_opt_spec;

/** How the command line of one command looks; static data of the command's file. */
typedef struct cli_cmd_spec {
    const char *name;         /**< command name, e.g. "get" */
    const char *usage;        /**< what follows "chanctl NAME " on the usage lines, one per line */
    const char *description;  /**< what the command does (paragraphs, wrapped at 80 columns) */
    const cli_opt_spec *opts; /**< the command's own options (may be NULL) */
    size_t n_opts;
    unsigned formats;          /**< accepted --format values (1u << cli_format); 0: no --format */
    cli_format format_default; /**< the format without --format */
    const char *registry;      /**< help of --registry; NULL: no connection options */
    const char *notes;         /**< paragraph printed after the options, or NULL */
    const char *exit_status;   /**< the meaning of the exit codes, after "Exit status: " */
} cli_cmd_spec;

/** The registry connection options as given on the command line; NULL when not given. */
typedef struct cli_conn_args {
    const char *registry; /**< --registry URL */
    const char *token;    /**< --token TOKEN */
    const char *timeout;  /**< --timeout SECONDS, checked when the registry is opened */
} cli_conn_args;

/** Returned by cli_args_next when the command must end now with a.exit. */
#define CLI_ARGS_EXIT (-1)

/** Parser state of one command line.  Read the public members after cli_args_next. */
typedef struct cli_args {
    const cli_cmd_spec *spec;
    int argc;
    char **argv;
    const char *arg;    /**< value of the option cli_args_next returned, NULL without */
    cli_format format;  /**< --format, or spec->format_default */
    cli_conn_args conn; /**< the connection options given */
    int first;          /**< index of the first operand, once cli_args_next returned 0 */
    int exit;           /**< exit status once cli_args_next returned CLI_ARGS_EXIT */
    /* getopt_long's tables, generated from the spec. */
    cli_opt_spec all[CLI_OPTS_MAX];
    size_t n_all;
    struct option longopts[CLI_OPTS_MAX + 1];
    char shortopts[2 * CLI_OPTS_MAX + 2];
} cli_args;

/**
 * Prepare to parse argv (argv[0] is the command name) for spec.
 * The spec must fit in CLI_OPTS_MAX options with the shared ones (asserted).
 */
void cli_args_init(cli_args *a, const cli_cmd_spec *spec, int argc, char **argv);

/**
 * The next option of the command's own table.
 *
 * @return its val (> 0) with a->arg set; 0 when the options are done
 *         (operands start at a->first); CLI_ARGS_EXIT when the command must
 *         end with a->exit: CLI_EXIT_OK after --help, CLI_EXIT_USAGE after a
 *         bad option, a missing value or a bad --format (message printed)
 */
int cli_args_next(cli_args *a);

/** Number of operands, once cli_args_next returned 0. */
int cli_args_count(const cli_args *a);

/** Operand i (0-based), once cli_args_next returned 0. */
const char *cli_args_operand(const cli_args *a, int i);

/** True when any connection option was given on the command line. */
bool cli_args_has_conn(const cli_args *a);

/**
 * Open the registry from the connection options: --registry else
 * $CHANREG_URL, --token else $CHANREG_TOKEN, --timeout.  Prints the error.
 *
 * @param[out] out the client (cli_registry_free), NULL on failure
 * @return CLI_EXIT_OK, CLI_EXIT_USAGE (no URL, bad URL, bad --timeout) or
 *         CLI_EXIT_RUNTIME
 */
int cli_args_open_registry(cli_registry **out, const cli_args *a);

/** Print the help of spec, generated from its tables. */
void cli_cmd_help(FILE *out, const cli_cmd_spec *spec);

/**
 * Print options as aligned "  -x, --name=ARG  help" lines, left column
 * `width` wide (a wider option gets a line of its own); help texts are
 * wrapped to 79 columns.
 */
void cli_opts_print(FILE *out, const cli_opt_spec *specs, size_t n, int width);

#endif
