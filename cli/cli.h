/*
 * cli.h - what every chanctl command shares: exit codes, error printing in
 * the error/detail/hint style, output formats and the command table.
 *
 * Stdout carries results only; every message for people goes to stderr.
 */
#ifndef CHANCTL_CLI_H
#define CHANCTL_CLI_H

#include <stdio.h>

#include "chan/error.h"

/** Exit codes of chanctl, the same for every command. */
typedef enum cli_exit {
    CLI_EXIT_OK = 0,      /**< success, the check passed */
    CLI_EXIT_FAILED = 1,  /**< the check ran and failed (invalid, incompatible, changes) */
    CLI_EXIT_USAGE = 2,   /**< bad command line or unusable input */
    CLI_EXIT_RUNTIME = 3, /**< could not run: I/O, server unreachable, server error */
} cli_exit;

/** Output formats; each command accepts a subset. */
typedef enum cli_format {
    CLI_FORMAT_TEXT = 0,
    CLI_FORMAT_JSON,
    CLI_FORMAT_JUNIT,
    CLI_FORMAT_GITHUB,
    CLI_FORMAT_TABLE,
    CLI_FORMAT_GITLAB,
} cli_format;

/** One chanctl subcommand. */
typedef struct cli_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /**< argv[0] is the command name; returns a cli_exit */
} cli_cmd;

extern const cli_cmd cli_cmds[];
extern const size_t cli_cmds_count;

/** Program name for messages ("chanctl"). */
extern const char *cli_progname;

/** "chanctl: error: <message>" on stderr. */
void cli_error(const char *fmt, ...) CHAN_PRINTF(1, 2);
/** "chanctl: warning: <message>" on stderr. */
void cli_warning(const char *fmt, ...) CHAN_PRINTF(1, 2);
/** "detail: <message>" on stderr, after cli_error. */
void cli_detail(const char *fmt, ...) CHAN_PRINTF(1, 2);
/** "hint: <message>" on stderr, after cli_error. */
void cli_hint(const char *fmt, ...) CHAN_PRINTF(1, 2);
/** Print a chan_error: message, then its detail and hint lines when set. */
void cli_error_print(const chan_error *err);
/** Usage error: message plus `Try "chanctl CMD --help"`; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) CHAN_PRINTF(2, 3);

/**
 * Write s to stdout escaped for XML text and attribute values (JUnit
 * reports); control characters other than TAB and LF are dropped.
 */
void cli_xml_puts(const char *s);

/** Flush stdout and report write errors (EPIPE, ENOSPC).  @return 0 or CLI_EXIT_RUNTIME */
int cli_finish_stdout(void);

#endif
