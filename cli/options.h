/*
 * options.h - the one option path of chanctl.
 *
 * Every command describes its command line in a cli_cmd_spec: usage lines,
 * description, its own option table, the --format values it accepts and
 * whether it reaches a registry.  cli_args_parse parses argv with getopt_long
 * from that description and handles what all commands share:
 *
 *   - -h, --help: the help is generated from the spec and printed on stdout;
 *   - -f, --format: parsed against the formats the command accepts;
 *   - the registry connection block, -r/--registry URL, --token TOKEN,
 *     --timeout SECONDS and --cacert FILE, with the environment fallbacks
 *     CHANREG_URL, CHANREG_TOKEN and CHANREG_CACERT applied by
 *     cli_args_open_registry (the command line wins);
 *   - a bad option or a missing value: one "chanctl: error:" line and a
 *     `Try "chanctl CMD --help"` hint on stderr, exit status 2.
 *
 * The command's own options are stored where its table says, in the
 * command's option struct (offsetof, as nginx's directive tables do): true
 * in a bool for a flag, the argument in a const char * for an option with a
 * value, and every argument of a repeatable option (its arg_name ends in
 * "...", e.g. "ROLE...") in a cli_opt_list.  What is left to the command is checking those values:
 *
 *     typedef struct register_opts { bool dry_run; const char *schema_root; } register_opts;
 *
 *     static const cli_opt_spec opt_specs[] = {
 *         {"dry-run", 'n', NULL, "show what would change", offsetof(register_opts, dry_run)},
 *         {"schema-root", 0, "DIR", "schema root", offsetof(register_opts, schema_root)},
 *     };
 *
 *     register_opts o = {false, NULL};   (the defaults)
 *
 *     if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
 *         return args.exit;
 *     ... operands are args.argv[args.first .. args.argc - 1] ...
 *
 * A cli_args borrows the spec and argv; it owns nothing and needs no cleanup.
 */
#ifndef CHANCTL_OPTIONS_H
#define CHANCTL_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "chan/common.h"
#include "cli.h"
#include "contract_files.h"
#include "registry_client.h"

/** Most options one command may have, the shared ones (help, format, connection) included. */
#define CLI_OPTS_MAX 24

/**
 * One option of a command: the table drives getopt_long, --help and where
 * the value goes.  The commands must not use the short names 'h', 'f' and
 * 'r', nor the names of the shared options: cli_args adds those.
 */
typedef struct cli_opt_spec {
    const char *name;     /**< long name, without "--" */
    char short_name;      /**< also -<short_name>; 0 for none */
    const char *arg_name; /**< e.g. "URL" for an option with a value; NULL for a flag;
                               ending in "..." (e.g. "ROLE...") for a repeatable option */
    const char *help;     /**< help text, wrapped to the help column (also at '\n') */
    size_t offset;        /**< offsetof the field in the command's option struct: a bool for
                               a flag, a const char * (borrowed from argv) for a value, a
                               cli_opt_list for a repeatable option */
} cli_opt_spec;

/** Most values of one repeatable option. */
#define CLI_OPT_LIST_MAX 16

/** The values of a repeatable option, in command-line order (borrowed from argv). */
typedef struct cli_opt_list {
    const char *values[CLI_OPT_LIST_MAX];
    size_t n;
} cli_opt_list;

/** How the command line of one command looks; static data of the command's file. */
typedef struct cli_cmd_spec {
    const char *name;         /**< command name, e.g. "get" */
    const char *usage;        /**< what follows "chanctl NAME " on the usage lines, one per line */
    const char *description;  /**< what the command does (paragraphs, wrapped at 80 columns) */
    const cli_opt_spec *opts; /**< the command's own options (may be NULL) */
    size_t n_opts;
    unsigned formats;          /**< accepted --format values (1u << cli_format); 0: no --format */
    cli_format format_default; /**< the format without --format (0: text) */
    const char *registry;      /**< help of --registry; NULL: no connection options */
    const char *notes;         /**< paragraph printed after the options, or NULL */
    const char *exit_status;   /**< the meaning of the exit codes, after "Exit status: " */
} cli_cmd_spec;

/** The --format values text and json, the set most commands accept. */
#define CLI_FORMATS_TEXT_JSON ((1u << CLI_FORMAT_TEXT) | (1u << CLI_FORMAT_JSON))

/** Designated initializers of a cli_cmd_spec's option table (a static array). */
#define CLI_CMD_OPTS(table) .opts = (table), .n_opts = CHAN_ARRAY_SIZE(table)

/** The registry connection options as given on the command line; NULL when not given. */
typedef struct cli_conn_args {
    const char *registry; /**< --registry URL */
    const char *token;    /**< --token TOKEN */
    const char *timeout;  /**< --timeout SECONDS, checked when the registry is opened */
    const char *cacert;   /**< --cacert FILE, CAs that verify an https:// registry */
} cli_conn_args;

/** Returned by cli_args_parse when the command must end now with a.exit. */
#define CLI_ARGS_EXIT (-1)

/** A parsed command line.  The members are read after cli_args_parse. */
typedef struct cli_args {
    const cli_cmd_spec *spec;
    int argc;
    char **argv;
    cli_format format;  /**< --format, or spec->format_default */
    cli_conn_args conn; /**< the connection options given */
    int first;          /**< index of the first operand */
    int exit;           /**< exit status after CLI_ARGS_EXIT */
} cli_args;

/**
 * Parse argv (argv[0] is the command name) with spec: the command's own
 * options are stored into opts at the offsets of its table, the shared
 * ones into a.  Options and operands may be mixed; "--" ends the options.
 *
 * @param[out] a  the parsed command line
 * @param opts    the command's option struct (fields not given are left
 *                alone, so set the defaults first); may be NULL when the
 *                spec has no options of its own
 * @return 0, or CLI_ARGS_EXIT when the command must end with a->exit:
 *         CLI_EXIT_OK after printing --help, CLI_EXIT_USAGE after printing
 *         one error line and a hint (unknown option, missing value, value
 *         given to a flag, unknown format)
 */
int cli_args_parse(cli_args *a, void *opts, const cli_cmd_spec *spec, int argc, char **argv);

/** Number of operands. */
int cli_args_count(const cli_args *a);

/** Operand i (0-based), i < cli_args_count(a). */
const char *cli_args_operand(const cli_args *a, int i);

/** True when any connection option was given on the command line. */
bool cli_args_has_conn(const cli_args *a);

/**
 * Open the registry from the connection options: --registry else
 * $CHANREG_URL, --token else $CHANREG_TOKEN, --timeout, --cacert else
 * $CHANREG_CACERT.  Prints the error.
 *
 * @param[out] out the client (cli_registry_free), NULL on failure
 * @return CLI_EXIT_OK, CLI_EXIT_USAGE (no URL, bad URL, bad --timeout) or
 *         CLI_EXIT_RUNTIME
 */
int cli_args_open_registry(cli_registry **out, const cli_args *a);

/**
 * The contract files the operands name (files, or directories searched for
 * *.yaml and *.yml; no operand: CLI_DEFAULT_CONTRACT_DIR).  Prints the
 * error, or a warning when there is no file and `need_one` is false.
 *
 * @param[out] out the paths (cli_path_list_dispose), also on failure
 * @return CLI_EXIT_OK, or CLI_EXIT_USAGE for a path that cannot be read or,
 *         with need_one, no contract file at all
 */
int cli_args_contract_files(cli_path_list *out, const cli_args *a, bool need_one);

/** Print the help of spec, generated from its tables. */
void cli_cmd_help(FILE *out, const cli_cmd_spec *spec);

/**
 * Print options as aligned "  -x, --name=ARG  help" lines, left column
 * `width` wide (a wider option gets a line of its own); help texts are
 * wrapped to 79 columns.
 */
void cli_opts_print(FILE *out, const cli_opt_spec *specs, size_t n, int width);

#endif
